/* REST metrics, read from the REST module's counters at scrape time: the
 * original collector's api_latency_seconds histogram and
 * collector_errors_total (with an exchange label added), requests by
 * result, and warm-up and polling volumes. */
#include "cryptosup/rest.h"

#include <stdint.h>

#include "cryptosup/metrics.h"

static void latency(struct cs_metrics_writer *w, const struct cs_rest *r)
{
    double bounds[CS_REST_LATENCY_BUCKETS];
    size_t nbounds = 0;

    /* The last bucket is unbounded: the histogram's +Inf. */
    for (size_t i = 0; i < CS_REST_LATENCY_BUCKETS; i++) {
        int64_t ms = cs_rest_latency_bound_ms(i);
        if (ms != INT64_MAX) {
            bounds[nbounds++] = (double)ms / 1000.0;
        }
    }
    cs_metrics_family(w, "api_latency_seconds", CS_METRIC_HISTOGRAM,
                      "Latency of REST requests to each exchange");
    for (size_t i = 0; i < cs_rest_count(r); i++) {
        const struct cs_rest_stats *s = cs_rest_stats(r, i);
        const char *labels[] = { "exchange", s->exchange, NULL };
        cs_metrics_histogram(w, "api_latency_seconds", labels, bounds,
                             s->latency_buckets, nbounds,
                             (double)s->latency_sum_ns / 1e9,
                             s->latency_count);
    }
}

static void collect(void *ctx, struct cs_metrics_writer *w)
{
    const struct cs_rest *r = ctx;
    const char *name = "cryptosup_rest_requests_total";

    latency(w, r);
    cs_metrics_family(w, "collector_errors_total", CS_METRIC_COUNTER,
                      "Failed REST requests (HTTP errors, rate limits, "
                      "transport errors, unusable bodies)");
    for (size_t i = 0; i < cs_rest_count(r); i++) {
        const struct cs_rest_stats *s = cs_rest_stats(r, i);
        const char *labels[] = { "exchange", s->exchange, NULL };
        cs_metrics_sample(w, "collector_errors_total", labels,
                          (double)(s->http_errors + s->rate_limited +
                                   s->transport_errors + s->parse_errors));
    }
    cs_metrics_family(w, name, CS_METRIC_COUNTER,
                      "REST requests by result");
    for (size_t i = 0; i < cs_rest_count(r); i++) {
        const struct cs_rest_stats *s = cs_rest_stats(r, i);
        const struct { const char *result; uint64_t n; } by[] = {
            { "ok", s->ok }, { "rate_limited", s->rate_limited },
            { "http_error", s->http_errors },
            { "transport_error", s->transport_errors },
            { "unusable_body", s->parse_errors },
        };
        for (size_t k = 0; k < sizeof by / sizeof *by; k++) {
            const char *labels[] = { "exchange", s->exchange, "result",
                                     by[k].result, NULL };
            cs_metrics_sample(w, name, labels, (double)by[k].n);
        }
    }
    cs_metrics_family(w, "cryptosup_warmup_candles_total", CS_METRIC_COUNTER,
                      "Historical candles fed to the windows at start");
    for (size_t i = 0; i < cs_rest_count(r); i++) {
        const struct cs_rest_stats *s = cs_rest_stats(r, i);
        const char *labels[] = { "exchange", s->exchange, NULL };
        cs_metrics_sample(w, "cryptosup_warmup_candles_total", labels,
                          (double)s->warmup_candles);
    }
    cs_metrics_family(w, "cryptosup_polled_ticks_total", CS_METRIC_COUNTER,
                      "Ticker ticks from REST polling");
    for (size_t i = 0; i < cs_rest_count(r); i++) {
        const struct cs_rest_stats *s = cs_rest_stats(r, i);
        const char *labels[] = { "exchange", s->exchange, NULL };
        cs_metrics_sample(w, "cryptosup_polled_ticks_total", labels,
                          (double)s->polled_ticks);
    }
}

void cs_rest_register_metrics(struct cs_rest *r, struct cs_metrics *m)
{
    cs_metrics_register(m, collect, r);
}
