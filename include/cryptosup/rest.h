/* REST connectors on the engine loop: window warm-up from each venue's
 * 1-minute candles at start (and for symbols a reload adds), and ticker
 * polling for exchanges configured with poll_interval_ms. Requests go
 * through cs_http (never blocking), within each venue's request-weight
 * budget; HTTP 429/418 pause the whole exchange for Retry-After, other
 * failures back a symbol off with jitter. Loop thread only. */
#ifndef CRYPTOSUP_REST_H
#define CRYPTOSUP_REST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/config.h"
#include "cryptosup/engine.h"
#include "cryptosup/http.h"
#include "cryptosup/loop.h"

/* Latency histogram: counts of requests at or under 50, 100, 250, 500,
 * 1000, 2500 and 5000 ms, and over 5000 ms (cs_rest_latency_bound_ms). */
#define CS_REST_LATENCY_BUCKETS 8

/* Per exchange, for logs, tests and metrics. */
struct cs_rest_stats {
    const char *exchange;
    uint64_t requests;           /* sent */
    uint64_t ok;                 /* 2xx with a usable body */
    uint64_t rate_limited;       /* HTTP 429 and 418 */
    uint64_t http_errors;        /* other statuses outside 2xx */
    uint64_t transport_errors;   /* no response: connect, TLS, timeout,
                                    body over the cap */
    uint64_t parse_errors;       /* 2xx bodies we could not use */
    uint64_t polled_ticks;       /* ticker ticks fed to the engine */
    uint64_t warmup_candles;     /* candle ticks fed to the engine */
    uint64_t warmup_done;        /* symbols warmed up */
    uint64_t warmup_failed;      /* symbols given up (errors, time out) */
    uint64_t pauses;             /* exchange-wide pauses after 429/418 */
    uint64_t latency_count;      /* responses timed */
    int64_t latency_sum_ns, latency_max_ns;
    uint64_t latency_buckets[CS_REST_LATENCY_BUCKETS];
};

/* Upper bound (ms) of latency bucket i; INT64_MAX for the last. */
int64_t cs_rest_latency_bound_ms(size_t i);

struct cs_rest;

/* Called on the loop, never from inside cs_rest_new or cs_rest_apply,
 * once the warm-up they started has finished or timed out: the moment to
 * start (or update) the WebSocket connectors, whose live ticks would
 * otherwise make older candles late. */
typedef void (*cs_rest_ready_fn)(void *ctx);

/* Start warm-up and polling for the exchanges of `cfg` that use REST
 * (cs_config_rest_url() not NULL, symbols listed, warmup or polling on).
 * `http` and `engine` must outlive the cs_rest; cfg is copied. Warm-up
 * that has not finished after warmup_wait_ms is abandoned; `ready` then
 * runs either way. */
struct cs_rest *cs_rest_new(struct cs_loop *loop, struct cs_http *http,
                            struct cs_engine *engine,
                            const struct cs_config *cfg,
                            int64_t warmup_wait_ms, cs_rest_ready_fn ready,
                            void *ctx);

/* After a reload (the engine already holds the new config): warm up the
 * symbols that are new, stop polling removed ones, take new intervals,
 * URLs and budgets. `ready` runs again when that warm-up is over. Stats of
 * removed exchanges go with them. */
void cs_rest_apply(struct cs_rest *r, const struct cs_config *cfg);

/* True while a warm-up is running (before `ready`). */
bool cs_rest_warming(const struct cs_rest *r);

/* `cfg` without the exchanges whose transport is "rest", for the
 * WebSocket connectors: a shallow view owned by `r`, valid until the next
 * call, cs_rest_free, or the end of `cfg`. */
const struct cs_config *cs_rest_ws_config(struct cs_rest *r,
                                          const struct cs_config *cfg);

/* No new requests; those in flight finish. The loop must keep running
 * until cs_rest_idle() (or a deadline of the caller's), then free. */
void cs_rest_stop(struct cs_rest *r);
bool cs_rest_idle(const struct cs_rest *r);
/* Cancels what is still in flight. NULL is fine. */
void cs_rest_free(struct cs_rest *r);

/* Stats of exchange i (i < count), or NULL; valid until the next apply. */
size_t cs_rest_count(const struct cs_rest *r);
const struct cs_rest_stats *cs_rest_stats(const struct cs_rest *r, size_t i);

/* Register REST metrics (api_latency_seconds, collector_errors_total,
 * requests by result) with a registry; unregister before freeing. */
struct cs_metrics;
void cs_rest_register_metrics(struct cs_rest *r, struct cs_metrics *m);

#endif
