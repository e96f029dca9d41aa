/* The HTTP API's JSON builders: /api/prices spells prices, quotes and
 * window stats exactly, /api/alerts lists the recent alerts newest first,
 * and metrics.listen addresses are split or refused. */
#include "cryptosup/engine.h"
#include "cryptosup/jsonw.h"
#include "cryptosup/timeutil.h"
#include "scratch.h"
#include "testlib.h"

#define MIN_NS (60LL * CS_NS_PER_S)

static struct cs_engine *start(const char *dir)
{
    struct cs_config *cfg = NULL;
    struct cs_ruleset *rs = NULL;
    struct cs_engine_options opt;
    char text[1024], rules[600];
    char *errors = NULL;

    scratch_write(dir, "r/move.lua",
                  "return { name = 'move_1h', window = '1h', "
                  "threshold_pct = 2, rearm_pct = 1, notify_resolved = true }\n");
    snprintf(rules, sizeof rules, "%s/r", dir);
    snprintf(text, sizeof text,
             "return { rules = '%s', windows = { '1h' },\n"
             "  exchanges = { binance = { symbols = { 'BTC/USDT', "
             "'ETH/USDT' } } } }\n", rules);
    if (cs_config_load(scratch_write(dir, "c.lua", text), &cfg,
                       &errors) != CS_OK ||
        cs_ruleset_load(cfg, &rs, &errors) != CS_OK) {
        cs_test_fail(__FILE__, __LINE__, "load: %s", errors ? errors : "?");
        free(errors);
        cs_config_free(cfg);
        return NULL;
    }
    memset(&opt, 0, sizeof opt);
    return cs_engine_new(cfg, rs, &opt);
}

static void tick(struct cs_engine *e, const char *raw, enum cs_tick_kind kind,
                 int64_t ts_ns, const char *price, const char *bid,
                 const char *ask)
{
    struct cs_tick t;

    memset(&t, 0, sizeof t);
    t.exchange = "binance";
    t.raw_symbol.ptr = raw;
    t.raw_symbol.len = strlen(raw);
    t.kind = kind;
    t.ts_ns = ts_ns;
    if (price) {
        t.has_price = cs_decimal_parse(price, strlen(price), &t.price);
        t.price_text.ptr = price;
        t.price_text.len = strlen(price);
    }
    if (bid) {
        t.has_bid = cs_decimal_parse(bid, strlen(bid), &t.bid);
    }
    if (ask) {
        t.has_ask = cs_decimal_parse(ask, strlen(ask), &t.ask);
    }
    cs_engine_tick(e, &t);
}

static const char *render(struct cs_jsonw *w, struct cs_engine *e,
                          bool prices)
{
    cs_jsonw_reset(w);
    if (prices) {
        cs_engine_prices_json(e, w);
    } else {
        cs_engine_alerts_json(e, w);
    }
    cs_jsonw_raw(w, "", 1);   /* NUL for the string checks */
    return w->buf;
}

static void test_prices_and_alerts(const char *dir)
{
    struct cs_engine *e = start(dir);
    struct cs_jsonw w;
    const char *out;
    int64_t t0 = 1700000000LL * CS_NS_PER_S;

    if (e == NULL) {
        return;
    }
    cs_jsonw_init(&w);
    CHECK_STR(render(&w, e, true), "[]");
    CHECK_STR(render(&w, e, false), "[]");

    tick(e, "BTCUSDT", CS_TICK_TRADE, t0, "100.00", NULL, NULL);
    tick(e, "BTCUSDT", CS_TICK_QUOTE, t0 + MIN_NS, NULL, "99.5", "100.5");
    tick(e, "DOGEUSDT", CS_TICK_TRADE, t0, "0.1", NULL, NULL);   /* unwatched */
    out = render(&w, e, true);
    CHECK_STR(out,
        "[{\"exchange\":\"binance\",\"symbol\":\"BTC/USDT\","
        "\"raw_symbol\":\"BTCUSDT\",\"price\":\"100.00\",\"bid\":\"99.5\","
        "\"ask\":\"100.5\",\"ts\":1700000000000,\"windows\":{\"1h\":"
        "{\"change\":null,\"reference\":null,\"high\":\"100\","
        "\"low\":\"100\",\"complete\":false,\"gapped\":false}}}]");

    /* +2 % over the hour fires; a fall back resolves. */
    tick(e, "BTCUSDT", CS_TICK_TRADE, t0 + 61 * MIN_NS, "102.00", NULL, NULL);
    out = render(&w, e, true);
    CHECK(strstr(out, "\"price\":\"102.00\",\"bid\":\"99.5\"") != NULL);
    /* Window prices are the window's own (trailing zeros trimmed). */
    CHECK(strstr(out, "\"1h\":{\"change\":0.02,\"reference\":\"100\","
                 "\"high\":\"102\",\"low\":\"100\",\"complete\":true,"
                 "\"gapped\":false}") != NULL);
    out = render(&w, e, false);
    CHECK(strncmp(out, "[{\"id\":1,\"state\":\"firing\",\"rule\":\"move_1h\"",
                  40) == 0);
    CHECK(strstr(out, "\"change\":0.02,\"price\":\"102.00\","
                 "\"reference\":\"100.00\",\"message\":null}]") != NULL);

    tick(e, "BTCUSDT", CS_TICK_TRADE, t0 + 62 * MIN_NS, "100.10", NULL, NULL);
    out = render(&w, e, false);
    CHECK(strncmp(out, "[{\"id\":2,\"state\":\"resolved\"", 27) == 0);
    CHECK(strstr(out, "},{\"id\":1,\"state\":\"firing\"") != NULL);
    CHECK(cs_engine_recent_alert(e, 0) != NULL &&
          cs_engine_recent_alert(e, 0)->id == 2);
    CHECK(cs_engine_recent_alert(e, 2) == NULL);

    cs_jsonw_cleanup(&w);
    cs_engine_free(e);
}

static void test_parse_listen(void)
{
    char host[64];
    int port = -1;

    CHECK(cs_config_parse_listen(":8000", host, sizeof host, &port));
    CHECK_STR(host, "");
    CHECK_INT(port, 8000);
    CHECK(cs_config_parse_listen("127.0.0.1:0", host, sizeof host, &port));
    CHECK_STR(host, "127.0.0.1");
    CHECK_INT(port, 0);
    CHECK(cs_config_parse_listen("[::1]:9100", host, sizeof host, &port));
    CHECK_STR(host, "::1");
    CHECK_INT(port, 9100);
    CHECK(!cs_config_parse_listen("8000", host, sizeof host, &port));
    CHECK(!cs_config_parse_listen("127.0.0.1:", host, sizeof host, &port));
    CHECK(!cs_config_parse_listen("127.0.0.1:65536", host, sizeof host,
                                  &port));
    CHECK(!cs_config_parse_listen("127.0.0.1:-1", host, sizeof host, &port));
    CHECK(!cs_config_parse_listen("::1:80", host, sizeof host, &port));
    CHECK(!cs_config_parse_listen("a b:80", host, sizeof host, &port));
    CHECK(!cs_config_parse_listen("host:8x", host, sizeof host, &port));
}

int main(void)
{
    test_prices_and_alerts(scratch_dir());
    test_parse_listen();
    return cs_test_finish("test_engine_json");
}
