/* REST connectors against a local server on the engine loop: config keys
 * and their errors; warm-up pages fed oldest first so 1 h and 24 h windows
 * are complete at once (rules fire), before `ready`; polling every
 * interval; a 429 pauses the exchange for Retry-After; HTTP errors and
 * unusable bodies are counted and backed off; a hung warm-up is abandoned
 * at the deadline; a reload warms only new symbols; the WebSocket view
 * leaves out REST-only exchanges. */
#include "cryptosup/rest.h"

#include <stdlib.h>
#include <string.h>

#include "cryptosup/log.h"
#include "cryptosup/rules.h"
#include "cryptosup/timeutil.h"
#include "httpd.h"
#include "scratch.h"
#include "testlib.h"

#define MS CS_NS_PER_MS

/* ---- the server: Binance klines and ticker/price ---- */

#define MAX_SEEN 256
struct server_state {
    unsigned klines, tickers;
    bool hang_klines;
    int64_t ticker_ns[MAX_SEEN];     /* when each ticker request came */
    int ticker_status[MAX_SEEN];
    char last_klines_symbol[32];
};
static struct server_state st;

/* Value of `key` in the query of `target`, or -1 (numbers only). */
static long long arg_num(const char *target, const char *key)
{
    char pat[40];
    const char *p;

    snprintf(pat, sizeof pat, "%s=", key);
    for (p = strchr(target, '?'); p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, pat, strlen(pat)) == 0) {
            return atoll(p + 1 + strlen(pat));
        }
    }
    return -1;
}

/* Ticker request n (from 0): 2 -> 429 Retry-After 1, 5 -> 500,
 * 7 -> a truncated body; the rest answer. */
static void ticker_reply(unsigned n, struct th_reply *r)
{
    if (n == 2) {
        r->status = 429;
        snprintf(r->headers, sizeof r->headers, "Retry-After: 1\r\n");
        th_body(r, "{\"code\":-1003,\"msg\":\"Too many requests\"}");
    } else if (n == 5) {
        r->status = 500;
        th_body(r, "{\"code\":-1000,\"msg\":\"boom\"}");
    } else if (n == 7) {
        th_body(r, "{\"symbol\":\"BTCUSDT\",\"pri");
    } else {
        th_body(r, "{\"symbol\":\"BTCUSDT\",\"price\":\"100.50\"}");
    }
}

static void handler(void *ctx, const char *target, struct th_reply *r)
{
    (void)ctx;
    if (strncmp(target, "/binance/api/v3/klines?", 23) == 0) {
        long long start = arg_num(target, "startTime");
        long long end = arg_num(target, "endTime");
        const char *sym = strstr(target, "symbol=");
        size_t cap = 64 + 1000 * 80, pos = 0;
        int i = 0;

        st.klines++;
        if (sym) {
            snprintf(st.last_klines_symbol, sizeof st.last_klines_symbol,
                     "%.*s", (int)strcspn(sym + 7, "&"), sym + 7);
        }
        if (st.hang_klines) {
            r->hang = true;
            return;
        }
        r->body = malloc(cap);
        pos += (size_t)snprintf(r->body, cap, "[");
        /* Closes 100.00 to 106.00 with a 7-minute period: changes over 1 h
         * and 24 h are never all 0. */
        for (long long t = start; t <= end && i < 1000; t += 60000, i++) {
            pos += (size_t)snprintf(r->body + pos, cap - pos,
                                    "%s[%lld,\"1\",\"1\",\"1\",\"10%lld.00\","
                                    "\"1\",%lld]", i ? "," : "", t,
                                    (t / 60000) % 7, t + 59999);
        }
        pos += (size_t)snprintf(r->body + pos, cap - pos, "]");
        r->body_len = pos;
    } else if (strncmp(target, "/binance/api/v3/ticker/price?", 29) == 0) {
        unsigned n = st.tickers++;
        if (n < MAX_SEEN) {
            st.ticker_ns[n] = (int64_t)uv_hrtime();
        }
        ticker_reply(n, r);
        if (n < MAX_SEEN) {
            st.ticker_status[n] = r->status;
        }
    } else {
        r->status = 404;
        th_body(r, "{}");
    }
}

/* ---- harness ---- */

static struct cs_loop *loop;
static struct th_server srv;
static const char *dir;
static unsigned ready_calls;
static bool stop_on_ready;

static void on_ready(void *ctx)
{
    (void)ctx;
    ready_calls++;
    if (stop_on_ready) {
        cs_loop_stop(loop);
    }
}

static void stop_loop(void *ctx)
{
    (void)ctx;
    cs_loop_stop(loop);
}

/* Run the loop for `ms`, or until something stops it. */
static void run_for(int64_t ms)
{
    struct cs_timer *t = cs_timer_new(loop, stop_loop, NULL);
    cs_timer_start(t, ms, 0);
    cs_loop_run(loop);
    cs_timer_free(t);
}

static unsigned want_tickers;

static void check_tickers(void *ctx)
{
    (void)ctx;
    if (st.tickers >= want_tickers) {
        cs_loop_stop(loop);
    }
}

/* Run the loop until the server saw n ticker requests (at most 6 s). */
static void run_until_tickers(unsigned n)
{
    struct cs_timer *t = cs_timer_new(loop, check_tickers, NULL);
    want_tickers = n;
    cs_timer_start(t, 20, 20);
    run_for(6000);
    cs_timer_free(t);
}

/* A config with those exchanges; with a 24 h window the rules fire on
 * any change over 1 h and 24 h, else there is one 1 h rule. */
static const char *write_config(const char *name, const char *exchanges,
                                const char *windows)
{
    char text[2048];
    snprintf(text, sizeof text,
             "return {\n"
             "  rules = '%s',\n"
             "  windows = { %s },\n"
             "  exchanges = {\n%s\n  },\n"
             "}\n", strstr(windows, "24h") ? "rules" : "rules_1h", windows,
             exchanges);
    return scratch_write(dir, name, text);
}

static struct cs_config *load(const char *path)
{
    struct cs_config *cfg = NULL;
    char *errors = NULL;

    CHECK_INT(cs_config_load(path, &cfg, &errors), CS_OK);
    if (errors) {
        fprintf(stderr, "%s", errors);
        free(errors);
    }
    return cfg;
}

static struct cs_engine *engine_for(const char *path)
{
    struct cs_config *cfg = load(path);
    struct cs_ruleset *rs = NULL;

    if (cfg == NULL || cs_ruleset_load(cfg, &rs, NULL) != CS_OK) {
        abort();
    }
    return cs_engine_new(cfg, rs, NULL);
}

/* Binance on the local server with `symbols` and `extra` keys. */
static const char *binance(const char *symbols, const char *extra)
{
    static char text[512];
    snprintf(text, sizeof text,
             "    binance = { symbols = { %s },\n"
             "                rest_url = 'http://127.0.0.1:%d/binance/', "
             "%s },", symbols, srv.port, extra);
    return text;
}

/* ---- config keys ---- */

static void expect_error(const char *text, const char *expected)
{
    const char *path = scratch_write(dir, "bad.lua", text);
    struct cs_config *cfg = NULL;
    char *errors = NULL;

    CHECK_INT(cs_config_load(path, &cfg, &errors), CS_ERR_INVAL);
    if (errors == NULL || strstr(errors, expected) == NULL) {
        cs_test_fail(__FILE__, __LINE__, "expected \"%s\" in: %s", expected,
                     errors ? errors : "(none)");
    } else {
        cs_test_passed++;
    }
    free(errors);
}

static void test_config(void)
{
    struct cs_config *cfg;
    const struct cs_config_exchange *x;

    cfg = load(write_config("c1.lua",
        "binance = { symbols = { 'BTC/USDT' } },\n"
        "coinbase = { symbols = { 'BTC/USD' }, poll_interval_ms = 500,\n"
        "             warmup = false, rest_url = 'https://proxy.test/cb//' },\n"
        "okx = { symbols = { 'BTC/USDT' }, transport = 'rest',\n"
        "        warmup_minutes = 90 },\n"
        "bybit = { symbols = { 'BTC/USDT' }, url = 'ws://127.0.0.1:9/x' },\n",
        "'1h'"));
    if (cfg == NULL) {
        return;
    }
    for (size_t i = 0; i < cfg->nexchanges; i++) {
        x = &cfg->exchanges[i];
        if (strcmp(x->name, "binance") == 0) {
            CHECK_INT(x->transport, CS_TRANSPORT_WS);
            CHECK_INT(x->poll_interval_ms, 0);
            CHECK(x->warmup);
            CHECK_INT(x->warmup_minutes, 1500);
            CHECK_STR(cs_config_rest_url(x), "https://api.binance.com");
        } else if (strcmp(x->name, "coinbase") == 0) {
            CHECK_INT(x->transport, CS_TRANSPORT_BOTH);
            CHECK_INT(x->poll_interval_ms, 500);
            CHECK(!x->warmup);
            CHECK_STR(cs_config_rest_url(x), "https://proxy.test/cb");
        } else if (strcmp(x->name, "okx") == 0) {
            CHECK_INT(x->transport, CS_TRANSPORT_REST);
            CHECK_INT(x->poll_interval_ms, 1000);
            CHECK_INT(x->warmup_minutes, 90);
        } else {
            /* A test or testnet stream never meets the public history. */
            CHECK(cs_config_rest_url(x) == NULL);
        }
    }
    cs_config_free(cfg);

    expect_error("return { exchanges = { binance = {\n"
                 "  transport = 'udp' } } }\n",
                 "bad.lua:2: exchanges.binance.transport: expected \"ws\", "
                 "\"rest\" or \"both\", got \"udp\"");
    expect_error("return { exchanges = { binance = {\n poll_interval_ms = 200,"
                 "\n transport = 'ws' } } }\n",
                 "bad.lua:3: exchanges.binance.transport: \"ws\" does not "
                 "poll");
    expect_error("return { exchanges = { okx = {\n"
                 "  rest_url = 'ftp://x' } } }\n",
                 "bad.lua:2: exchanges.okx.rest_url: expected an http:// or "
                 "https:// URL");
    expect_error("return { exchanges = { okx = { url = 'ws://127.0.0.1:1',\n"
                 "  transport = 'rest' } } }\n",
                 "exchanges.okx.rest_url: needed to poll when url is set");
    expect_error("return { exchanges = { okx = {\n warmup = 'yes' } } }\n",
                 "bad.lua:2: exchanges.okx.warmup");
    expect_error("return { exchanges = { okx = {\n warmup_minutes = 0 } } }\n",
                 "bad.lua:2: exchanges.okx.warmup_minutes");
    expect_error("return { exchanges = { okx = {\n poll_interval = 5 } } }\n",
                 "bad.lua:2: exchanges.okx.poll_interval: unknown key");
}

/* ---- warm-up, polling, rate limits, errors ---- */

static void test_warmup_and_polling(void)
{
    struct cs_engine *e = engine_for(write_config("w.lua",
        binance("'BTC/USDT'", "transport = 'rest', poll_interval_ms = 100"),
        "'1h', '24h'"));
    struct cs_rest *r;
    struct cs_http *http = cs_http_new(loop, NULL);
    const struct cs_rest_stats *s;
    const struct cs_engine_stats *es = cs_engine_stats(e);
    unsigned polls_before, i429 = 0, next = 0;

    memset(&st, 0, sizeof st);
    ready_calls = 0;
    stop_on_ready = true;
    r = cs_rest_new(loop, http, e, cs_engine_config(e), 5000, on_ready, NULL);
    CHECK_INT(ready_calls, 0);            /* never from inside new */
    CHECK(cs_rest_warming(r));
    CHECK_INT(cs_rest_count(r), 1);
    run_for(5000);
    s = cs_rest_stats(r, 0);
    CHECK_INT(ready_calls, 1);
    CHECK(!cs_rest_warming(r));
    /* 24 h + 5 min of candles in two pages (1000 + 445), oldest first. */
    CHECK_INT(st.klines, 2);
    CHECK_STR(st.last_klines_symbol, "BTCUSDT");
    CHECK_INT(s->warmup_candles, 1445);
    CHECK_INT(s->warmup_done, 1);
    CHECK_INT(es->ticks, 1445);
    CHECK_INT(es->ticks_late, 0);
    /* Polling waits for the warm-up. */
    CHECK_INT(st.tickers, 0);
    /* Both windows were complete on the warm data: each rule's condition
     * held (the 1 h one from its 61st candle on, the 24 h one from the
     * 1441st), but history notifies nobody: the state is held until live
     * ticks show whether the condition still holds. */
    CHECK_INT(es->alerts_fired, 0);
    CHECK(es->alerts_held_in_warmup >= 2);

    /* Polling every 100 ms: the script answers, rate-limits (request 2),
     * fails (5) and garbles (7). */
    stop_on_ready = false;
    run_until_tickers(11);
    /* Stop: nothing new goes out; what is in flight finishes. */
    cs_rest_stop(r);
    polls_before = st.tickers;
    run_for(300);
    CHECK(cs_rest_idle(r));
    CHECK(st.tickers <= polls_before + 1);
    CHECK(st.tickers >= 11 && st.tickers <= 12);
    CHECK_INT(s->requests, 2 + st.tickers);
    CHECK_INT(s->rate_limited, 1);
    CHECK_INT(s->pauses, 1);
    CHECK_INT(s->http_errors, 1);
    CHECK_INT(s->parse_errors, 1);
    CHECK_INT(s->transport_errors, 0);
    CHECK_INT(s->polled_ticks, st.tickers - 3);
    CHECK_INT(s->ok, 2 + s->polled_ticks);
    CHECK_INT(s->latency_count, s->requests);
    CHECK(s->latency_max_ns > 0);
    CHECK_INT(es->ticks, 1445 + s->polled_ticks);
    for (unsigned i = 0; i < st.tickers && i < MAX_SEEN; i++) {
        if (st.ticker_status[i] == 429) {
            i429 = i;
        }
    }
    CHECK_INT(i429, 2);
    /* Nothing for the whole Retry-After second after the 429... */
    CHECK(st.ticker_ns[3] - st.ticker_ns[2] >= 1000 * MS);
    /* ...the interval between good polls... */
    CHECK(st.ticker_ns[4] - st.ticker_ns[3] >= 90 * MS);
    /* ...and backoff with jitter (250-500 ms) after the 500 and after the
     * garbled body. */
    CHECK(st.ticker_ns[6] - st.ticker_ns[5] >= 250 * MS);
    CHECK(st.ticker_ns[7] - st.ticker_ns[6] >= 90 * MS);
    CHECK(st.ticker_ns[8] - st.ticker_ns[7] >= 250 * MS);
    for (next = 9; next < st.tickers && next < MAX_SEEN; next++) {
        CHECK(st.ticker_ns[next] - st.ticker_ns[next - 1] >= 90 * MS);
    }
    cs_rest_free(r);
    cs_http_free(http);
    cs_engine_free(e);
}

/* A warm-up that never answers is abandoned at the deadline; `ready`
 * comes anyway and the request is cancelled. */
static void test_deadline(void)
{
    struct cs_engine *e = engine_for(write_config("d.lua",
                                                  binance("'BTC/USDT'", ""),
                                                  "'1h'"));
    struct cs_http *http = cs_http_new(loop, NULL);
    struct cs_rest *r;
    int64_t t0 = cs_time_mono_ns();

    memset(&st, 0, sizeof st);
    st.hang_klines = true;
    ready_calls = 0;
    stop_on_ready = true;
    r = cs_rest_new(loop, http, e, cs_engine_config(e), 300, on_ready, NULL);
    run_for(5000);
    CHECK_INT(ready_calls, 1);
    CHECK(cs_time_mono_ns() - t0 >= 300 * MS);
    CHECK(cs_time_mono_ns() - t0 < 3000 * MS);
    CHECK_INT(st.klines, 1);
    CHECK_INT(cs_rest_stats(r, 0)->warmup_failed, 1);
    CHECK_INT(cs_rest_stats(r, 0)->polled_ticks, 0);
    CHECK(cs_rest_idle(r));
    CHECK_INT(cs_http_in_flight(http), 0);
    cs_rest_free(r);
    cs_http_free(http);
    cs_engine_free(e);
}

/* A reload warms up only the symbol it adds, then signals again; the
 * WebSocket view drops REST-only exchanges. */
static void test_apply(void)
{
    const char *one = write_config("a1.lua", binance("'BTC/USDT'", ""),
                                   "'1h'");
    const char *two = write_config("a2.lua",
                                   binance("'BTC/USDT', 'ETH/USDT'", ""),
                                   "'1h'");
    struct cs_engine *e = engine_for(one);
    struct cs_http *http = cs_http_new(loop, NULL);
    struct cs_config *cfg2;
    struct cs_ruleset *rs2 = NULL;
    const struct cs_config *view;
    struct cs_rest *r;

    memset(&st, 0, sizeof st);
    ready_calls = 0;
    stop_on_ready = true;
    r = cs_rest_new(loop, http, e, cs_engine_config(e), 5000, on_ready, NULL);
    run_for(5000);
    CHECK_INT(ready_calls, 1);
    CHECK_INT(st.klines, 1);
    CHECK_INT(cs_rest_stats(r, 0)->warmup_candles, 65);   /* 1 h + 5 min */

    cfg2 = load(two);
    CHECK_INT(cs_ruleset_load(cfg2, &rs2, NULL), CS_OK);
    cs_engine_swap(e, cfg2, rs2);
    cs_rest_apply(r, cs_engine_config(e));
    CHECK(cs_rest_warming(r));
    run_for(5000);
    CHECK_INT(ready_calls, 2);
    CHECK_INT(st.klines, 2);
    CHECK_STR(st.last_klines_symbol, "ETHUSDT");
    CHECK_INT(cs_rest_stats(r, 0)->warmup_done, 2);

    /* Nothing new: `ready` still follows, promptly. */
    cs_rest_apply(r, cs_engine_config(e));
    run_for(2000);
    CHECK_INT(ready_calls, 3);
    CHECK_INT(st.klines, 2);

    cfg2 = load(write_config("v.lua",
        "binance = { symbols = { 'BTC/USDT' }, transport = 'rest' },\n"
        "coinbase = { symbols = { 'BTC/USD' } },\n", "'1h'"));
    view = cs_rest_ws_config(r, cfg2);
    CHECK_INT(view->nexchanges, 1);
    CHECK_STR(view->exchanges[0].name, "coinbase");
    CHECK_INT(cfg2->nexchanges, 2);
    cs_config_free(cfg2);
    cs_rest_free(r);
    cs_http_free(http);
    cs_engine_free(e);
}

int main(void)
{
    cs_log_set_level(CS_LOG_ERROR);
    dir = scratch_dir();
    scratch_write(dir, "rules_1h/zero.lua",
                  "return { name = 'any_1h', window = '1h', "
                  "threshold_pct = 0.5 }\n");
    scratch_write(dir, "rules/zero.lua",
                  "return {\n"
                  "  { name = 'any_1h', window = '1h', threshold_pct = 0.5 },\n"
                  "  { name = 'any_24h', window = '24h', "
                  "threshold_pct = 0.5 },\n"
                  "}\n");
    loop = cs_loop_new(NULL);
    CHECK(th_start(&srv, loop, handler, NULL));
    test_config();
    test_warmup_and_polling();
    test_deadline();
    test_apply();
    th_stop(&srv);
    cs_loop_free(loop);
    return cs_test_finish("test_rest_connector");
}
