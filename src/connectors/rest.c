/* REST connectors: per exchange, warm-up from 1-minute candles before live
 * data and ticker polling, within a weight budget, paused by 429/418 and
 * backed off per symbol; the `ready` signal for the WebSocket connectors. */
#include "cryptosup/rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/log.h"
#include "cryptosup/rules.h"
#include "cryptosup/timeutil.h"

#define TICK_MS 50                 /* scheduler period */
#define MAX_IN_FLIGHT_PER_X 8      /* requests per exchange at once */
#define WARMUP_MARGIN_MIN 5        /* candles beyond the widest window */
#define WARMUP_ATTEMPTS 3          /* per page */
#define URL_MAX 2048
#define RETRY_AFTER_MAX_S (3 * 86400)   /* Binance bans last up to 3 days */

/* Backoff after a failed request of one symbol: the n-th consecutive
 * failure waits the n-th entry (the last repeats), drawn from its upper
 * half so symbols do not retry in step. */
static const int64_t backoff_ms[] = { 500, 1000, 2000, 5000, 10000, 30000,
                                      60000 };
/* A 429 without Retry-After pauses the exchange this long (doubling per
 * consecutive one, at most 5 min); a 418 (an IP ban) at least 2 min. */
#define PAUSE_429_MS 5000
#define PAUSE_429_MAX_MS 300000
#define PAUSE_418_MS 120000

static const int64_t latency_bounds_ms[CS_REST_LATENCY_BUCKETS - 1] = {
    50, 100, 250, 500, 1000, 2500, 5000
};

enum warm_state { WARM_NONE, WARM_PENDING, WARM_DONE, WARM_FAILED };
enum job { JOB_TICKER, JOB_CANDLES };

struct rx;

/* One symbol of one exchange. */
struct sym {
    struct rx *x;
    char *raw;
    bool listed;                  /* in the latest config */
    struct cs_http_req *req;      /* in flight, or NULL */
    enum job req_job;
    unsigned fails;               /* consecutive failures */
    int64_t retry_mono_ns;        /* no request before this */
    int64_t next_poll_mono_ns;
    enum warm_state warm;
    int64_t page_ms, end_ms;      /* next page start; warm-up end */
    unsigned page_attempts;
    int64_t fed_ns;               /* newest candle fed */
    uint64_t candles;             /* fed by this warm-up */
};

/* One exchange using REST. */
struct rx {
    struct cs_rest *owner;
    const struct cs_venue_ops *venue;
    char name[32];
    char logger[40];
    char *base;                   /* REST base URL */
    bool listed;
    int64_t poll_ms;              /* 0: no polling */
    bool warmup;
    int64_t warmup_minutes;
    struct sym **syms;
    size_t nsyms;
    size_t rr;                    /* round-robin start */
    double tokens;                /* request weight we may spend now */
    int64_t refill_mono_ns;
    int64_t paused_mono_ns;       /* 429/418: nothing before this */
    unsigned pauses_in_row;
    size_t in_flight;
    struct cs_venue_scratch *scratch;
    struct cs_rest_stats stats;
};

/* Everything here is loop thread only. */
struct cs_rest {
    struct cs_loop *loop;
    struct cs_http *http;
    struct cs_engine *engine;
    struct rx **xs;
    size_t nxs;
    struct cs_timer *timer;       /* the scheduler */
    int64_t warmup_wait_ms;
    cs_rest_ready_fn ready;
    void *ready_ctx;
    bool ready_pending;
    int64_t ready_deadline_mono_ns;
    int64_t warm_started_mono_ns;
    bool stopping;
    uint64_t rng;
    struct cs_config view;        /* cs_rest_ws_config */
    struct cs_config_exchange *view_xs;
};

static void on_done(void *ctx, const struct cs_http_result *res);

int64_t cs_rest_latency_bound_ms(size_t i)
{
    return i < CS_REST_LATENCY_BUCKETS - 1 ? latency_bounds_ms[i] : INT64_MAX;
}

static int64_t mono_ns(void)
{
    return cs_time_mono_ns();
}

static int64_t jitter_ms(struct cs_rest *r, int64_t d)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return d / 2 + (int64_t)(r->rng % (uint64_t)(d / 2 + 1));
}

/* ---- symbols ---- */

static void sym_cancel(struct sym *s)
{
    if (s->req) {
        cs_http_cancel(s->req);
        s->req = NULL;
        s->x->in_flight--;
    }
}

static void sym_free(struct sym *s)
{
    sym_cancel(s);
    free(s->raw);
    free(s);
}

static struct sym *sym_find(const struct rx *x, const char *raw)
{
    for (size_t i = 0; i < x->nsyms; i++) {
        if (strcmp(x->syms[i]->raw, raw) == 0) {
            return x->syms[i];
        }
    }
    return NULL;
}

/* The widest window the engine keeps, in seconds. */
static int64_t widest_window_s(const struct cs_rest *r)
{
    const struct cs_config *cfg = cs_engine_config(r->engine);
    size_t n = 0;
    const int64_t *w = cs_ruleset_windows(cs_engine_rules(r->engine), &n);
    int64_t widest = 0;

    for (size_t i = 0; i < n; i++) {
        widest = w[i] > widest ? w[i] : widest;
    }
    for (size_t i = 0; i < cfg->nwindows; i++) {
        widest = cfg->windows_s[i] > widest ? cfg->windows_s[i] : widest;
    }
    return widest;
}

/* Plan a symbol's warm-up: the candles of the last minutes that cover the
 * widest window plus a margin, within warmup_minutes and what the venue
 * serves, ending at the current (unfinished) minute. */
static void warm_plan(struct sym *s)
{
    struct rx *x = s->x;
    int64_t widest = widest_window_s(x->owner);
    int64_t minutes = (widest + 59) / 60 + WARMUP_MARGIN_MIN;
    unsigned venue_max = x->venue->wire->rest_candles_max_minutes;
    int64_t now_min = cs_time_now_ns() / CS_NS_PER_MS / 60000 * 60000;

    if (minutes > x->warmup_minutes) {
        minutes = x->warmup_minutes;
    }
    if (venue_max > 0 && minutes > (int64_t)venue_max) {
        minutes = venue_max;
    }
    if (!x->warmup || widest == 0) {
        s->warm = WARM_NONE;
        return;
    }
    s->warm = WARM_PENDING;
    s->end_ms = now_min;
    s->page_ms = now_min - minutes * 60000;
    s->page_attempts = 0;
    s->fed_ns = 0;
    s->candles = 0;
}

static void warm_finish(struct sym *s, bool ok)
{
    struct rx *x = s->x;

    s->warm = ok ? WARM_DONE : WARM_FAILED;
    if (ok) {
        x->stats.warmup_done++;
        cs_log_debug(x->logger, "%s: warmed up with %llu candles", s->raw,
                     (unsigned long long)s->candles);
    } else {
        x->stats.warmup_failed++;
    }
}

/* ---- exchanges ---- */

static struct rx *rx_find(const struct cs_rest *r, const char *name)
{
    for (size_t i = 0; i < r->nxs; i++) {
        if (strcmp(r->xs[i]->name, name) == 0) {
            return r->xs[i];
        }
    }
    return NULL;
}

static void rx_free(struct rx *x)
{
    for (size_t i = 0; i < x->nsyms; i++) {
        sym_free(x->syms[i]);
    }
    free(x->syms);
    free(x->base);
    cs_venue_scratch_free(x->scratch);
    free(x);
}

/* Does this exchange use REST at all, and where? */
static const char *rest_base(const struct cs_config_exchange *cx)
{
    const struct cs_venue_ops *v = cx->venue;

    if (cx->nsymbols == 0 || v->wire == NULL || v->rest_ticker_url == NULL
        || (!cx->warmup && cx->poll_interval_ms == 0)) {
        return NULL;
    }
    return cs_config_rest_url(cx);
}

static void rx_settings(struct rx *x, const struct cs_config_exchange *cx,
                        const char *base)
{
    const struct cs_venue_wire *w = x->venue->wire;
    double n;

    if (x->base == NULL || strcmp(x->base, base) != 0) {
        if (x->base) {
            cs_log_info(x->logger, "REST endpoint changed to %s", base);
            for (size_t i = 0; i < x->nsyms; i++) {
                sym_cancel(x->syms[i]);
            }
        }
        free(x->base);
        x->base = cs_xstrdup(base);
    }
    x->poll_ms = cx->poll_interval_ms;
    x->warmup = cx->warmup;
    x->warmup_minutes = cx->warmup_minutes;
    if (x->poll_ms > 0) {
        n = (double)cx->nsymbols * w->rest_ticker_weight * 1000.0
            / (double)x->poll_ms;
        if (n > w->rest_weight_per_s) {
            cs_log_warn(x->logger, "polling %zu symbols every %lld ms needs "
                        "%.1f request weight a second, over the budget of "
                        "%u: polls will come less often", cx->nsymbols,
                        (long long)x->poll_ms, n, w->rest_weight_per_s);
        }
    }
}

/* Bring an exchange to what the config lists; new symbols get a warm-up
 * plan. Returns how many start warming up. */
static size_t rx_sync(struct rx *x, const struct cs_config_exchange *cx)
{
    size_t warming = 0, kept = 0;

    for (size_t i = 0; i < x->nsyms; i++) {
        x->syms[i]->listed = false;
    }
    for (size_t i = 0; i < cx->nsymbols; i++) {
        struct sym *s = sym_find(x, cx->symbols[i].raw);
        if (s == NULL) {
            s = cs_xcalloc(1, sizeof *s);
            s->x = x;
            s->raw = cs_xstrdup(cx->symbols[i].raw);
            warm_plan(s);
            warming += s->warm == WARM_PENDING;
            x->syms = cs_xrealloc(x->syms, (x->nsyms + 1) * sizeof *x->syms);
            x->syms[x->nsyms++] = s;
        }
        s->listed = true;
    }
    for (size_t i = 0; i < x->nsyms; i++) {
        if (x->syms[i]->listed) {
            x->syms[kept++] = x->syms[i];
        } else {
            sym_free(x->syms[i]);
        }
    }
    x->nsyms = kept;
    if (x->rr >= x->nsyms) {
        x->rr = 0;
    }
    return warming;
}

static struct rx *rx_new(struct cs_rest *r,
                         const struct cs_config_exchange *cx)
{
    struct rx *x = cs_xcalloc(1, sizeof *x);

    x->owner = r;
    x->venue = cx->venue;
    snprintf(x->name, sizeof x->name, "%s", cx->name);
    snprintf(x->logger, sizeof x->logger, "rest.%s", cx->name);
    x->stats.exchange = x->name;
    x->scratch = cs_venue_scratch_new();
    x->tokens = x->venue->wire->rest_weight_burst;
    x->refill_mono_ns = mono_ns();
    return x;
}

/* ---- requests ---- */

static void refill(struct rx *x, int64_t now)
{
    const struct cs_venue_wire *w = x->venue->wire;

    x->tokens += (double)(now - x->refill_mono_ns) / 1e9
                 * w->rest_weight_per_s;
    if (x->tokens > w->rest_weight_burst) {
        x->tokens = w->rest_weight_burst;
    }
    x->refill_mono_ns = now;
}

static bool send_request(struct rx *x, struct sym *s, enum job job,
                         int64_t now)
{
    const struct cs_venue_wire *w = x->venue->wire;
    unsigned weight = job == JOB_TICKER ? w->rest_ticker_weight
                                        : w->rest_candles_weight;
    char url[URL_MAX];
    size_t n;
    enum cs_err err;

    if (x->tokens < weight) {
        return false;
    }
    if (job == JOB_TICKER) {
        n = x->venue->rest_ticker_url(x->base, s->raw, url, sizeof url);
    } else {
        int64_t end = s->page_ms + (int64_t)w->rest_candles_per_page * 60000;
        n = x->venue->rest_candles_url(x->base, s->raw, s->page_ms,
                                       end < s->end_ms ? end : s->end_ms, url,
                                       sizeof url);
    }
    if (n == 0) {
        cs_log_limited(CS_LOG_WARN, x->logger, "url",
                       "%s: no REST URL fits (symbol or base URL too long); "
                       "not polling it", s->raw);
        s->retry_mono_ns = INT64_MAX;
        if (job == JOB_CANDLES) {
            warm_finish(s, false);
        }
        return true;
    }
    s->req = cs_http_get(x->owner->http, url, on_done, s, &err);
    if (s->req == NULL) {
        if (err != CS_ERR_LIMIT) {
            cs_log_limited(CS_LOG_WARN, x->logger, "request",
                           "%s: cannot start a request (%s)", s->raw,
                           cs_strerror(err));
            s->retry_mono_ns = now + 5 * CS_NS_PER_S;
        }
        return false;
    }
    x->tokens -= weight;
    x->in_flight++;
    x->stats.requests++;
    s->req_job = job;
    if (job == JOB_TICKER) {
        s->next_poll_mono_ns = now + x->poll_ms * CS_NS_PER_MS;
    }
    return true;
}

/* What symbol s wants now, if anything. */
static bool wants(const struct rx *x, const struct sym *s, int64_t now,
                  bool warm_pass, enum job *job)
{
    if (s->req || now < s->retry_mono_ns) {
        return false;
    }
    if (warm_pass) {
        *job = JOB_CANDLES;
        return s->warm == WARM_PENDING;
    }
    /* Polling waits for the symbol's warm-up: a polled tick would make
     * every older candle late. */
    *job = JOB_TICKER;
    return x->poll_ms > 0 && s->warm != WARM_PENDING
           && now >= s->next_poll_mono_ns;
}

/* Send what is due within the budget: warm-up pages first, then polls,
 * round robin over the symbols. */
static void rx_dispatch(struct rx *x, int64_t now)
{
    struct cs_http *http = x->owner->http;

    refill(x, now);
    if (now < x->paused_mono_ns || x->nsyms == 0) {
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        size_t start = x->rr;
        for (size_t k = 0; k < x->nsyms; k++) {
            size_t i = (start + k) % x->nsyms;
            struct sym *s = x->syms[i];
            enum job job;

            if (x->in_flight >= MAX_IN_FLIGHT_PER_X
                || cs_http_in_flight(http) >= cs_http_max_in_flight(http)) {
                return;
            }
            if (!wants(x, s, now, pass == 0, &job)) {
                continue;
            }
            if (!send_request(x, s, job, now)) {
                return;   /* out of budget (or of client slots) */
            }
            x->rr = (i + 1) % x->nsyms;
        }
    }
}

/* A failed request of symbol s (not a rate limit): back off. */
static void sym_failed(struct sym *s, int64_t now)
{
    struct rx *x = s->x;
    size_t k = s->fails < sizeof backoff_ms / sizeof backoff_ms[0]
               ? s->fails : sizeof backoff_ms / sizeof backoff_ms[0] - 1;
    int64_t wait = jitter_ms(x->owner, backoff_ms[k]);

    s->fails++;
    s->retry_mono_ns = now + wait * CS_NS_PER_MS;
    if (s->req_job == JOB_CANDLES) {
        if (++s->page_attempts >= WARMUP_ATTEMPTS) {
            cs_log_warn(x->logger, "%s: warm-up given up after %u failed "
                        "attempts at one page", s->raw, s->page_attempts);
            warm_finish(s, false);
        }
    }
}

static void rate_limited(struct sym *s, const struct cs_http_result *res,
                         int64_t now)
{
    struct rx *x = s->x;
    int64_t wait_ms;

    x->stats.rate_limited++;
    x->stats.pauses++;
    if (res->retry_after_s > 0) {
        wait_ms = (res->retry_after_s < RETRY_AFTER_MAX_S
                   ? res->retry_after_s : RETRY_AFTER_MAX_S) * 1000;
    } else if (res->status == 418) {
        wait_ms = PAUSE_418_MS;
    } else {
        wait_ms = PAUSE_429_MS;
        for (unsigned i = 0; i < x->pauses_in_row && wait_ms <
             PAUSE_429_MAX_MS; i++) {
            wait_ms *= 2;
        }
        wait_ms = wait_ms < PAUSE_429_MAX_MS ? wait_ms : PAUSE_429_MAX_MS;
    }
    x->pauses_in_row++;
    if (now + wait_ms * CS_NS_PER_MS > x->paused_mono_ns) {
        x->paused_mono_ns = now + wait_ms * CS_NS_PER_MS;
    }
    cs_log_warn(x->logger, "HTTP %ld (%s): pausing every request to %s for "
                "%.1fs%s", res->status, res->status == 418 ? "IP banned"
                : "rate limited", x->name, (double)wait_ms / 1000.0,
                res->retry_after_s > 0 ? " (Retry-After)" : "");
    if (s->req_job == JOB_TICKER) {
        s->next_poll_mono_ns = 0;   /* poll again once the pause is over */
    }
}

static void feed_candle(void *ctx, const struct cs_tick *tick)
{
    struct sym *s = ctx;
    struct rx *x = s->x;

    /* Pages may overlap (Kraken serves the latest candles whatever the
     * start): each minute is fed once, in time order. */
    if (tick->ts_ns <= s->fed_ns) {
        return;
    }
    cs_engine_warm_tick(x->owner->engine, tick);
    s->fed_ns = tick->ts_ns;
    s->candles++;
    x->stats.warmup_candles++;
}

/* A 2xx body: feed what it holds. False when it could not be used. */
static bool take_body(struct sym *s, const struct cs_http_result *res)
{
    struct rx *x = s->x;
    int64_t now_ns = cs_time_now_ns();
    const struct cs_venue_wire *w = x->venue->wire;
    const char *err;
    struct cs_tick tick;

    if (s->req_job == JOB_TICKER) {
        err = x->venue->parse_rest_ticker(x->scratch, s->raw, res->body,
                                          res->body_len, now_ns, &tick);
        if (err == NULL) {
            cs_engine_tick(x->owner->engine, &tick);
            x->stats.polled_ticks++;
        }
    } else {
        err = x->venue->parse_rest_candles(x->scratch, s->raw, res->body,
                                           res->body_len, now_ns, feed_candle,
                                           s);
        if (err == NULL) {
            s->page_ms += (int64_t)w->rest_candles_per_page * 60000;
            s->page_attempts = 0;
            if (s->page_ms >= s->end_ms) {
                warm_finish(s, true);
            }
        }
    }
    if (err != NULL) {
        x->stats.parse_errors++;
        cs_log_limited(CS_LOG_WARN, x->logger, err, "%s %s: unusable reply "
                       "(%s): %.100s", s->raw, s->req_job == JOB_TICKER
                       ? "ticker" : "candles", err, res->body);
    }
    return err == NULL;
}

static void count_latency(struct rx *x, int64_t ns)
{
    size_t b = 0;

    while (b < CS_REST_LATENCY_BUCKETS - 1
           && ns > latency_bounds_ms[b] * CS_NS_PER_MS) {
        b++;
    }
    x->stats.latency_buckets[b]++;
    x->stats.latency_count++;
    x->stats.latency_sum_ns += ns;
    if (ns > x->stats.latency_max_ns) {
        x->stats.latency_max_ns = ns;
    }
}

static void on_done(void *ctx, const struct cs_http_result *res)
{
    struct sym *s = ctx;
    struct rx *x = s->x;
    int64_t now = mono_ns();
    bool ok = false;

    s->req = NULL;
    x->in_flight--;
    if (res->fail != CS_HTTP_OK) {
        x->stats.transport_errors++;
        cs_log_limited(CS_LOG_WARN, x->logger, cs_http_fail_name(res->fail),
                       "%s: request failed (%s): %s", s->raw,
                       cs_http_fail_name(res->fail), res->error);
    } else {
        count_latency(x, res->total_ns);
        if (res->status == 429 || res->status == 418) {
            rate_limited(s, res, now);
            return;
        }
        x->pauses_in_row = 0;
        if (res->status < 200 || res->status > 299) {
            x->stats.http_errors++;
            cs_log_limited(CS_LOG_WARN, x->logger, "http-status",
                           "%s: HTTP %ld: %.100s", s->raw, res->status,
                           res->body);
        } else {
            ok = take_body(s, res);
        }
    }
    if (ok) {
        x->stats.ok++;
        s->fails = 0;
    } else {
        sym_failed(s, now);
    }
}

/* ---- the warm-up deadline and `ready` ---- */

static size_t warming_count(const struct cs_rest *r)
{
    size_t n = 0;

    for (size_t i = 0; i < r->nxs; i++) {
        for (size_t k = 0; k < r->xs[i]->nsyms; k++) {
            n += r->xs[i]->syms[k]->warm == WARM_PENDING;
        }
    }
    return n;
}

static void check_ready(struct cs_rest *r, int64_t now)
{
    size_t pending;
    uint64_t candles = 0, failed = 0;

    if (!r->ready_pending) {
        return;
    }
    pending = warming_count(r);
    if (pending > 0 && now < r->ready_deadline_mono_ns) {
        return;
    }
    for (size_t i = 0; i < r->nxs; i++) {
        struct rx *x = r->xs[i];
        for (size_t k = 0; k < x->nsyms; k++) {
            struct sym *s = x->syms[k];
            if (s->warm == WARM_PENDING) {
                if (s->req && s->req_job == JOB_CANDLES) {
                    sym_cancel(s);
                }
                warm_finish(s, false);
            }
        }
        candles += x->stats.warmup_candles;
        failed += x->stats.warmup_failed;
    }
    if (pending > 0) {
        cs_log_warn("rest", "warm-up unfinished after %.1fs for %zu symbols; "
                    "starting live data without it", (double)r->warmup_wait_ms
                    / 1000.0, pending);
    } else if (r->warm_started_mono_ns) {
        cs_log_info("rest", "warm-up done in %.1fs: %llu candles in all, %llu "
                    "symbols failed", (double)(now - r->warm_started_mono_ns)
                    / 1e9, (unsigned long long)candles,
                    (unsigned long long)failed);
    }
    r->ready_pending = false;
    r->warm_started_mono_ns = 0;
    if (r->ready) {
        r->ready(r->ready_ctx);
    }
}

static bool polling(const struct cs_rest *r)
{
    for (size_t i = 0; i < r->nxs; i++) {
        if (r->xs[i]->poll_ms > 0) {
            return true;
        }
    }
    return false;
}

static void tick(void *ctx)
{
    struct cs_rest *r = ctx;
    int64_t now = mono_ns();

    if (r->stopping) {
        return;
    }
    for (size_t i = 0; i < r->nxs; i++) {
        rx_dispatch(r->xs[i], now);
    }
    check_ready(r, now);
    if (!r->ready_pending && !polling(r)) {
        cs_timer_stop(r->timer);   /* nothing left to do until an apply */
    }
}

/* ---- public ---- */

void cs_rest_apply(struct cs_rest *r, const struct cs_config *cfg)
{
    size_t warming = 0, kept = 0;
    int64_t now = mono_ns();

    for (size_t i = 0; i < r->nxs; i++) {
        r->xs[i]->listed = false;
    }
    for (size_t k = 0; k < cfg->nexchanges; k++) {
        const struct cs_config_exchange *cx = &cfg->exchanges[k];
        const char *base = rest_base(cx);
        struct rx *x;

        if (base == NULL) {
            if (cx->nsymbols > 0 && cx->warmup && cx->url
                && cx->rest_url == NULL) {
                cs_log_info("rest", "%s: no warm-up: url is set without "
                            "rest_url", cx->name);
            }
            continue;
        }
        if ((x = rx_find(r, cx->name)) == NULL) {
            x = rx_new(r, cx);
            r->xs = cs_xrealloc(r->xs, (r->nxs + 1) * sizeof *r->xs);
            r->xs[r->nxs++] = x;
        }
        x->listed = true;
        rx_settings(x, cx, base);
        warming += rx_sync(x, cx);
    }
    for (size_t i = 0; i < r->nxs; i++) {
        if (r->xs[i]->listed) {
            r->xs[kept++] = r->xs[i];
        } else {
            cs_log_info(r->xs[i]->logger, "no longer uses REST");
            rx_free(r->xs[i]);
        }
    }
    r->nxs = kept;
    if (warming > 0) {
        cs_log_info("rest", "warming up %zu symbols from 1-minute candles "
                    "(live data waits up to %.1fs)", warming,
                    (double)r->warmup_wait_ms / 1000.0);
        if (!r->ready_pending || r->warm_started_mono_ns == 0) {
            r->warm_started_mono_ns = now;
        }
        if (!r->ready_pending || r->ready_deadline_mono_ns <
            now + r->warmup_wait_ms * CS_NS_PER_MS) {
            r->ready_deadline_mono_ns = now + r->warmup_wait_ms * CS_NS_PER_MS;
        }
    } else if (!r->ready_pending) {
        r->ready_deadline_mono_ns = now;
    }
    r->ready_pending = true;
    if (!r->stopping) {
        /* The first run comes at once (on the loop, not inside this call)
         * so `ready` follows promptly when there is nothing to wait for. */
        cs_timer_start(r->timer, 0, TICK_MS);
    }
}

struct cs_rest *cs_rest_new(struct cs_loop *loop, struct cs_http *http,
                            struct cs_engine *engine,
                            const struct cs_config *cfg,
                            int64_t warmup_wait_ms, cs_rest_ready_fn ready,
                            void *ctx)
{
    struct cs_rest *r = cs_xcalloc(1, sizeof *r);

    r->loop = loop;
    r->http = http;
    r->engine = engine;
    r->warmup_wait_ms = warmup_wait_ms > 0 ? warmup_wait_ms : 1;
    r->ready = ready;
    r->ready_ctx = ctx;
    r->rng = (uint64_t)cs_time_now_ns() | 1;
    r->timer = cs_timer_new(loop, tick, r);
    cs_rest_apply(r, cfg);
    return r;
}

bool cs_rest_warming(const struct cs_rest *r)
{
    return r->ready_pending;
}

const struct cs_config *cs_rest_ws_config(struct cs_rest *r,
                                          const struct cs_config *cfg)
{
    size_t n = 0;

    free(r->view_xs);
    r->view_xs = cs_xcalloc(cfg->nexchanges ? cfg->nexchanges : 1,
                            sizeof *r->view_xs);
    for (size_t i = 0; i < cfg->nexchanges; i++) {
        if (cfg->exchanges[i].transport != CS_TRANSPORT_REST) {
            r->view_xs[n++] = cfg->exchanges[i];
        }
    }
    r->view = *cfg;
    r->view.exchanges = r->view_xs;
    r->view.nexchanges = n;
    return &r->view;
}

void cs_rest_stop(struct cs_rest *r)
{
    r->stopping = true;
    cs_timer_stop(r->timer);
}

bool cs_rest_idle(const struct cs_rest *r)
{
    for (size_t i = 0; i < r->nxs; i++) {
        if (r->xs[i]->in_flight > 0) {
            return false;
        }
    }
    return true;
}

void cs_rest_free(struct cs_rest *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->nxs; i++) {
        rx_free(r->xs[i]);
    }
    free(r->xs);
    cs_timer_free(r->timer);
    free(r->view_xs);
    free(r);
}

size_t cs_rest_count(const struct cs_rest *r)
{
    return r->nxs;
}

const struct cs_rest_stats *cs_rest_stats(const struct cs_rest *r, size_t i)
{
    return i < r->nxs ? &r->xs[i]->stats : NULL;
}
