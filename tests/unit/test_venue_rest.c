/* The venues' REST side: ticker and candles URLs, ticker bodies (recorded
 * ones where they exist, tests/fixtures/synthetic/rest otherwise) and
 * candle bodies into ticks (closed candles only, oldest first, close text
 * exact, ts = open + 59.999 s), error replies, pages of 1000 candles, and
 * every truncation of every body without a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/timeutil.h"
#include "cryptosup/venue.h"
#include "testlib.h"

#define MS CS_NS_PER_MS
#define T0 1700000040000LL        /* a minute boundary, in ms */
#define BEFORE_THIRD_CLOSES ((T0 + 160000) * MS)   /* third candle open */
#define LATER ((T0 + 3600000) * MS)

static struct cs_venue_scratch *scratch;

/* Line `n` (from 1) of a fixture, malloc'd, exact length (no newline). */
static char *fixture_line(const char *rel, int n, size_t *len)
{
    size_t size;
    char *all = cs_test_read_file(cs_test_fixture(rel), &size);
    char *p = all, *line;

    for (int i = 1; i < n && p; i++) {
        p = memchr(p, '\n', size - (size_t)(p - all));
        p = p ? p + 1 : NULL;
    }
    if (p == NULL) {
        abort();
    }
    *len = strcspn(p, "\n");
    line = malloc(*len ? *len : 1);
    memcpy(line, p, *len);
    free(all);
    return line;
}

static bool text_is(struct cs_text t, const char *s)
{
    return t.len == strlen(s) && memcmp(t.ptr, s, t.len) == 0;
}

/* ---- candles collected from a parse ---- */

#define MAX_GOT 1100
struct got {
    size_t n;
    int64_t ts_ns[MAX_GOT];
    char price[MAX_GOT][24];
    bool sane;   /* kind, symbol, flags as promised */
};
static struct got got;
static const char *want_symbol;
static const char *last_exchange = "";   /* of the last candle tick */

static void collect(void *ctx, const struct cs_tick *t)
{
    (void)ctx;
    if (got.n < MAX_GOT) {
        got.ts_ns[got.n] = t->ts_ns;
        snprintf(got.price[got.n], sizeof got.price[0], "%.*s",
                 (int)t->price_text.len, t->price_text.ptr);
    }
    got.n++;
    last_exchange = t->exchange;
    got.sane = got.sane && t->kind == CS_TICK_TRADE && t->has_price
               && !t->has_qty && !t->has_seq && !t->has_bid && !t->has_ask
               && text_is(t->raw_symbol, want_symbol)
               && t->ts_ns % (60 * CS_NS_PER_S) == 59999 * MS;
}

static const char *candles(const struct cs_venue_ops *v, const char *raw,
                           const char *rel, int line, int64_t now_ns)
{
    size_t len;
    char *body = fixture_line(rel, line, &len);
    const char *err;

    memset(&got, 0, sizeof got);
    got.sane = true;
    want_symbol = raw;
    err = v->parse_rest_candles(scratch, raw, body, len, now_ns, collect,
                                NULL);
    free(body);
    return err;
}

/* The three synthetic candles (closes a, b, c): at a time when the third
 * is still open only the first two come out; an hour later all three. */
static void check_three(const struct cs_venue_ops *v, const char *raw,
                        const char *rel, const char *a, const char *b,
                        const char *c, bool third_unfinished)
{
    CHECK(candles(v, raw, rel, 1, BEFORE_THIRD_CLOSES) == NULL);
    CHECK_INT(got.n, 2);
    CHECK(got.sane);
    CHECK_INT(got.ts_ns[0], (T0 + 59999) * MS);
    CHECK_INT(got.ts_ns[1], (T0 + 60000 + 59999) * MS);
    CHECK_STR(got.price[0], a);
    CHECK_STR(got.price[1], b);
    CHECK(candles(v, raw, rel, 1, LATER) == NULL);
    CHECK_INT(got.n, third_unfinished ? 2 : 3);
    if (!third_unfinished) {
        CHECK_STR(got.price[2], c);
        CHECK_INT(got.ts_ns[2], (T0 + 120000 + 59999) * MS);
    }
    CHECK_STR(candles(v, raw, rel, 2, LATER), "error reply");
    CHECK_INT(got.n, 0);
}

/* ---- tickers ---- */

static struct cs_tick tick;
static char *tick_body;

static const char *ticker(const struct cs_venue_ops *v, const char *raw,
                          const char *rel, int line)
{
    size_t len;

    free(tick_body);
    tick_body = fixture_line(rel, line, &len);
    memset(&tick, 0, sizeof tick);
    return v->parse_rest_ticker(scratch, raw, tick_body, len, 77 * MS, &tick);
}

static void check_tick(const char *exchange, const char *raw,
                       const char *price, const char *bid, const char *ask,
                       int64_t ts_ns)
{
    CHECK_STR(tick.exchange, exchange);
    CHECK_INT(tick.kind, CS_TICK_TICKER);
    CHECK(text_is(tick.raw_symbol, raw));
    CHECK(tick.has_price && text_is(tick.price_text, price));
    CHECK(tick.has_bid == (bid != NULL));
    CHECK(tick.has_ask == (ask != NULL));
    CHECK(bid == NULL || text_is(tick.bid_text, bid));
    CHECK(ask == NULL || text_is(tick.ask_text, ask));
    CHECK_INT(tick.ts_ns, ts_ns);
    CHECK_INT(tick.recv_ns, 77 * MS);
    CHECK(!tick.has_seq);
}

/* ---- URLs ---- */

static void check_url(size_t (*fn)(const char *, const char *, char *,
                                   size_t),
                      const char *raw, const char *want)
{
    char buf[512];
    size_t n = fn("http://127.0.0.1:9/x", raw, buf, sizeof buf);

    CHECK_INT(n, strlen(want));
    CHECK_STR(buf, want);
    /* Too small a buffer, or an unusable symbol: 0. */
    CHECK_INT(fn("http://127.0.0.1:9/x", raw, buf, 20), 0);
    CHECK_INT(fn("http://127.0.0.1:9/x", "", buf, sizeof buf), 0);
}

static void check_candles_url(const struct cs_venue_ops *v, const char *raw,
                              int64_t minutes, const char *want)
{
    char buf[512];
    size_t n = v->rest_candles_url("http://127.0.0.1:9/x", raw, T0,
                                   T0 + minutes * 60000, buf, sizeof buf);

    CHECK_INT(n, strlen(want));
    CHECK_STR(buf, want);
}

static void test_urls(void)
{
    const char *base = "http://127.0.0.1:9/x";

    check_url(cs_venue_binance.rest_ticker_url, "BTCUSDT",
              "http://127.0.0.1:9/x/api/v3/ticker/price?symbol=BTCUSDT");
    check_url(cs_venue_coinbase.rest_ticker_url, "BTC-USD",
              "http://127.0.0.1:9/x/api/v3/brokerage/market/products/BTC-USD"
              "/ticker?limit=1");
    check_url(cs_venue_okx.rest_ticker_url, "BTC-USDT",
              "http://127.0.0.1:9/x/api/v5/market/ticker?instId=BTC-USDT");
    check_url(cs_venue_bybit.rest_ticker_url, "BTCUSDT",
              "http://127.0.0.1:9/x/v5/market/tickers?category=spot"
              "&symbol=BTCUSDT");
    check_url(cs_venue_kraken.rest_ticker_url, "BTC/USD",
              "http://127.0.0.1:9/x/0/public/Ticker?pair=BTCUSD");
    check_url(cs_venue_coinbase_exchange.rest_ticker_url, "BTC-USD",
              "http://127.0.0.1:9/x/products/BTC-USD/ticker");
    check_url(cs_venue_bybit_linear.rest_ticker_url, "BTCUSDT",
              "http://127.0.0.1:9/x/v5/market/tickers?category=linear"
              "&symbol=BTCUSDT");

    check_candles_url(&cs_venue_binance, "BTCUSDT", 1000,
                      "http://127.0.0.1:9/x/api/v3/klines?symbol=BTCUSDT"
                      "&interval=1m&startTime=1700000040000"
                      "&endTime=1700060039999&limit=1000");
    check_candles_url(&cs_venue_coinbase, "BTC-USD", 300,
                      "http://127.0.0.1:9/x/api/v3/brokerage/market/products/"
                      "BTC-USD/candles?start=1700000040&end=1700018039"
                      "&granularity=ONE_MINUTE&limit=300");
    check_candles_url(&cs_venue_okx, "BTC-USDT", 100,
                      "http://127.0.0.1:9/x/api/v5/market/history-candles?"
                      "instId=BTC-USDT&bar=1m&after=1700006040000"
                      "&before=1700000039999&limit=100");
    check_candles_url(&cs_venue_bybit, "BTCUSDT", 1000,
                      "http://127.0.0.1:9/x/v5/market/kline?category=spot"
                      "&symbol=BTCUSDT&interval=1&start=1700000040000"
                      "&end=1700060039999&limit=1000");
    check_candles_url(&cs_venue_kraken, "BTC/USD", 720,
                      "http://127.0.0.1:9/x/0/public/OHLC?pair=BTCUSD"
                      "&interval=1&since=1700000039");
    /* Coinbase Exchange: ISO 8601 seconds; end is the last second of the
     * 300th minute (1700000040 + 17999 s), so the range holds 300
     * buckets, the most one request may. */
    check_candles_url(&cs_venue_coinbase_exchange, "BTC-USD", 300,
                      "http://127.0.0.1:9/x/products/BTC-USD/candles?"
                      "granularity=60&start=2023-11-14T22:14:00Z"
                      "&end=2023-11-15T03:13:59Z");
    check_candles_url(&cs_venue_coinbase_exchange, "BTC-USD", 1000,
                      "http://127.0.0.1:9/x/products/BTC-USD/candles?"
                      "granularity=60&start=2023-11-14T22:14:00Z"
                      "&end=2023-11-15T03:13:59Z");
    check_candles_url(&cs_venue_coinbase_exchange, "BTC-USD", 2,
                      "http://127.0.0.1:9/x/products/BTC-USD/candles?"
                      "granularity=60&start=2023-11-14T22:14:00Z"
                      "&end=2023-11-14T22:15:59Z");
    check_candles_url(&cs_venue_bybit_linear, "BTCUSDT", 1000,
                      "http://127.0.0.1:9/x/v5/market/kline?category=linear"
                      "&symbol=BTCUSDT&interval=1&start=1700000040000"
                      "&end=1700060039999&limit=1000");
    {
        char buf[256];
        CHECK_INT(cs_venue_coinbase_exchange.rest_candles_url(
                      base, "", T0, T0 + 60000, buf, sizeof buf), 0);
        CHECK_INT(cs_venue_coinbase_exchange.rest_candles_url(
                      base, "BTC-USD", T0, T0 + 60000, buf, 40), 0);
        CHECK_INT(cs_venue_coinbase_exchange.rest_candles_url(
                      base, "BTC-USD", -60000, 0, buf, sizeof buf), 0);
        CHECK_INT(cs_venue_coinbase_exchange.rest_candles_url(
                      base, "BTC-USD", INT64_MAX - 1000, INT64_MAX, buf,
                      sizeof buf), 0);
        CHECK(cs_venue_coinbase_exchange.rest_ticker_url(base, "A/B C", buf,
                                                         sizeof buf) > 0);
        CHECK_STR(buf, "http://127.0.0.1:9/x/products/A%2FB%20C/ticker");
    }
    /* Symbols are escaped, not pasted. */
    {
        char buf[256];
        CHECK(cs_venue_binance.rest_ticker_url(base, "A&b=c d", buf,
                                               sizeof buf) > 0);
        CHECK_STR(buf, "http://127.0.0.1:9/x/api/v3/ticker/price?symbol="
                       "A%26b%3Dc%20d");
    }
    CHECK_INT(cs_venue_candle_count(T0, T0 + 90000, 1000), 2);
    CHECK_INT(cs_venue_candle_count(T0, T0, 1000), 1);
    CHECK_INT(cs_venue_candle_count(T0, T0 + 5000 * 60000LL, 1000), 1000);
}

/* Every venue states its REST endpoint and a budget that a page fits. */
static void test_wire(void)
{
    for (const struct cs_venue_ops *const *v = cs_venue_all(); *v; v++) {
        const struct cs_venue_wire *w = (*v)->wire;
        CHECK((*v)->rest_ticker_url && (*v)->parse_rest_ticker);
        CHECK((*v)->rest_candles_url && (*v)->parse_rest_candles);
        CHECK(w->rest_url && strncmp(w->rest_url, "https://", 8) == 0);
        CHECK(w->rest_weight_per_s > 0);
        CHECK(w->rest_weight_burst >= w->rest_ticker_weight);
        CHECK(w->rest_weight_burst >= w->rest_candles_weight);
        CHECK(w->rest_ticker_weight > 0 && w->rest_candles_weight > 0);
        CHECK(w->rest_candles_per_page > 0
              && w->rest_candles_per_page <= CS_VENUE_MAX_CANDLES);
    }
    /* Binance: half its 6000 weight a minute at most. */
    CHECK(cs_venue_binance.wire->rest_weight_per_s * 60 <= 3000);
    CHECK_INT(cs_venue_binance.wire->rest_ticker_weight, 2);
    CHECK_INT(cs_venue_binance.wire->rest_candles_weight, 2);
}

static void test_tickers(void)
{
    const char *bn = "exchanges/binance/rest_ticker_price.jsonl";

    CHECK(ticker(&cs_venue_binance, "LTCBTC", bn, 1) == NULL);
    check_tick("binance", "LTCBTC", "4.00000200", NULL, NULL, 0);
    CHECK(ticker(&cs_venue_binance, "ETHBTC", bn, 2) == NULL);
    check_tick("binance", "ETHBTC", "0.07946600", NULL, NULL, 0);
    CHECK(ticker(&cs_venue_binance, "BTCUSDT", bn, 3) == NULL);
    check_tick("binance", "BTCUSDT", "60740.00000000", NULL, NULL, 0);
    CHECK_STR(ticker(&cs_venue_binance, "BTCUSDT", bn, 1),
              "ticker: wrong symbol");
    CHECK_STR(ticker(&cs_venue_binance, "BTCUSDT", bn, 2),
              "ticker: symbol not in reply");
    CHECK_STR(ticker(&cs_venue_binance, "BTCUSDT",
                     "synthetic/rest/binance_klines.jsonl", 2),
              "error reply");

    CHECK(ticker(&cs_venue_coinbase, "BTC-USD",
                 "exchanges/coinbase/rest_advanced_trade_market_ticker.jsonl",
                 1) == NULL);
    {
        int64_t ts;
        const char *iso = "2026-04-07T00:28:58.544778Z";
        CHECK(cs_time_parse_iso8601(iso, strlen(iso), &ts));
        check_tick("coinbase", "BTC-USD", "68923.67", "68923.66", "68923.67",
                   ts);
    }
    CHECK_STR(ticker(&cs_venue_coinbase, "ETH-USD",
                     "exchanges/coinbase/rest_advanced_trade_market_ticker"
                     ".jsonl", 1), "ticker: wrong symbol");
    CHECK_STR(ticker(&cs_venue_coinbase, "BTC-USD",
                     "synthetic/rest/coinbase_candles.jsonl", 2),
              "error reply");

    CHECK(ticker(&cs_venue_okx, "BTC-USDT", "synthetic/rest/okx_ticker.jsonl",
                 1) == NULL);
    check_tick("okx", "BTC-USDT", "36520.1", "36520.1", "36520.2",
               1700000201234LL * MS);
    CHECK_STR(ticker(&cs_venue_okx, "ETH-USDT",
                     "synthetic/rest/okx_ticker.jsonl", 1),
              "ticker: wrong symbol");
    CHECK_STR(ticker(&cs_venue_okx, "BTC-USDT",
                     "synthetic/rest/okx_ticker.jsonl", 2), "error reply");

    CHECK(ticker(&cs_venue_bybit, "BTCUSDT",
                 "synthetic/rest/bybit_tickers.jsonl", 1) == NULL);
    check_tick("bybit", "BTCUSDT", "36520.00", "36519.99", "36520.00",
               1700000201234LL * MS);
    CHECK_STR(ticker(&cs_venue_bybit, "BTCUSDT",
                     "synthetic/rest/bybit_tickers.jsonl", 2), "error reply");

    CHECK(ticker(&cs_venue_kraken, "BTC/USD",
                 "synthetic/rest/kraken_ticker.jsonl", 1) == NULL);
    check_tick("kraken", "BTC/USD", "36520.10000", "36520.00000",
               "36520.10000", 0);
    CHECK_STR(ticker(&cs_venue_kraken, "BTC/USD",
                     "synthetic/rest/kraken_ticker.jsonl", 2), "error reply");

    /* Coinbase Exchange: the body names no product; ours is carried. */
    CHECK(ticker(&cs_venue_coinbase_exchange, "BTC-USD",
                 "synthetic/rest/coinbase_exchange_ticker.jsonl", 1) == NULL);
    check_tick("coinbase-exchange", "BTC-USD", "36520.01", "36520.00",
               "36520.01", 1700000201234567000LL);
    CHECK_STR(ticker(&cs_venue_coinbase_exchange, "BTC-USD",
                     "synthetic/rest/coinbase_exchange_ticker.jsonl", 2),
              "error reply");
    CHECK_STR(ticker(&cs_venue_coinbase_exchange, "BTC-USD",
                     "synthetic/rest/coinbase_exchange_candles.jsonl", 1),
              "ticker: not an object");
    /* An Advanced Trade body is no Exchange ticker. */
    CHECK_STR(ticker(&cs_venue_coinbase_exchange, "BTC-USD",
                     "exchanges/coinbase/rest_advanced_trade_market_ticker"
                     ".jsonl", 1), "ticker: missing price");

    CHECK(ticker(&cs_venue_bybit_linear, "BTCUSDT",
                 "synthetic/rest/bybit_linear_tickers.jsonl", 1) == NULL);
    check_tick("bybit-linear", "BTCUSDT", "36520.10", "36520.00", "36520.10",
               1700000201234LL * MS);
    CHECK_STR(ticker(&cs_venue_bybit_linear, "ETHUSDT",
                     "synthetic/rest/bybit_linear_tickers.jsonl", 1),
              "ticker: wrong symbol");
    CHECK_STR(ticker(&cs_venue_bybit_linear, "BTCUSDT",
                     "synthetic/rest/bybit_linear_tickers.jsonl", 2),
              "error reply");
    /* Spot still names its ticks "bybit", from the same body. */
    CHECK(ticker(&cs_venue_bybit, "BTCUSDT",
                 "synthetic/rest/bybit_linear_tickers.jsonl", 1) == NULL);
    CHECK_STR(tick.exchange, "bybit");
    free(tick_body);
    tick_body = NULL;
}

static void test_candles(void)
{
    check_three(&cs_venue_binance, "BTCUSDT",
                "synthetic/rest/binance_klines.jsonl", "36505.50", "36515.25",
                "36520.00", false);
    check_three(&cs_venue_coinbase, "BTC-USD",
                "synthetic/rest/coinbase_candles.jsonl", "36505.50",
                "36515.25", "36520.00", false);
    /* OKX marks the newest one unconfirmed: never emitted. */
    check_three(&cs_venue_okx, "BTC-USDT",
                "synthetic/rest/okx_history_candles.jsonl", "36505.5",
                "36515.3", "", true);
    check_three(&cs_venue_bybit, "BTCUSDT", "synthetic/rest/bybit_kline.jsonl",
                "36505.5", "36515.25", "36520", false);
    check_three(&cs_venue_kraken, "BTC/USD",
                "synthetic/rest/kraken_ohlc.jsonl", "36505.5", "36515.2",
                "36520.0", false);
    /* Coinbase Exchange candles hold JSON numbers: their literal text. */
    check_three(&cs_venue_coinbase_exchange, "BTC-USD",
                "synthetic/rest/coinbase_exchange_candles.jsonl", "36505.5",
                "36515.25", "36520", false);
    check_three(&cs_venue_bybit_linear, "BTCUSDT",
                "synthetic/rest/bybit_linear_kline.jsonl", "36505.50",
                "36515.3", "36520.0", false);
    /* Candles come out under the venue's name. */
    CHECK(candles(&cs_venue_coinbase_exchange, "BTC-USD",
                  "synthetic/rest/coinbase_exchange_candles.jsonl", 1, LATER)
          == NULL);
    CHECK_STR(last_exchange, "coinbase-exchange");
    CHECK(candles(&cs_venue_bybit_linear, "BTCUSDT",
                  "synthetic/rest/bybit_linear_kline.jsonl", 1, LATER)
          == NULL);
    CHECK_STR(last_exchange, "bybit-linear");
    /* A bad row stops the walk; an object is not a list. */
    CHECK_STR(candles(&cs_venue_coinbase_exchange, "BTC-USD",
                      "synthetic/rest/coinbase_exchange_ticker.jsonl", 1,
                      LATER), "candles: not a list");
    /* A ticker body is not candles. */
    CHECK(candles(&cs_venue_binance, "BTCUSDT",
                  "exchanges/binance/rest_ticker_price.jsonl", 3, LATER)
          != NULL);
    CHECK_INT(got.n, 0);
}

/* A full page: 1000 Binance rows (13 001 tokens), and the same newest
 * first in Bybit's form; one row more than a body may hold is refused. */
static char *rows(size_t n, bool bybit, bool newest_first)
{
    size_t cap = 128 + n * 140, pos = 0;
    char *b = malloc(cap);

    pos += (size_t)snprintf(b + pos, cap - pos, "%s", bybit
                            ? "{\"retCode\":0,\"result\":{\"list\":[" : "[");
    for (size_t i = 0; i < n; i++) {
        size_t k = newest_first ? n - 1 - i : i;
        long long open = T0 + (long long)k * 60000;
        if (bybit) {
            pos += (size_t)snprintf(b + pos, cap - pos, "%s[\"%lld\",\"1\","
                                    "\"2\",\"0.5\",\"%zu.%02zu\",\"1\",\"1\"]",
                                    i ? "," : "", open, 100 + k, k % 100);
        } else {
            pos += (size_t)snprintf(b + pos, cap - pos, "%s[%lld,\"1\",\"2\","
                                    "\"0.5\",\"%zu.%02zu\",\"1\",%lld,\"1\",1,"
                                    "\"1\",\"1\",\"0\"]", i ? "," : "", open,
                                    100 + k, k % 100, open + 59999);
        }
    }
    snprintf(b + pos, cap - pos, "%s", bybit ? "]}}" : "]");
    return b;
}

static void test_pages(void)
{
    struct {
        const struct cs_venue_ops *v;
        const char *raw;
        bool bybit, newest_first;
    } cases[] = {
        { &cs_venue_binance, "BTCUSDT", false, false },
        { &cs_venue_bybit, "BTCUSDT", true, true },
    };

    for (size_t c = 0; c < 2; c++) {
        char *body = rows(1000, cases[c].bybit, cases[c].newest_first);
        bool ordered = true;

        memset(&got, 0, sizeof got);
        got.sane = true;
        want_symbol = cases[c].raw;
        CHECK(cases[c].v->parse_rest_candles(scratch, cases[c].raw, body,
                                             strlen(body), LATER * 2,
                                             collect, NULL) == NULL);
        CHECK_INT(got.n, 1000);
        CHECK(got.sane);
        for (size_t i = 1; i < 1000 && i < got.n; i++) {
            ordered = ordered && got.ts_ns[i] == got.ts_ns[i - 1] + 60000 * MS;
        }
        CHECK(ordered);
        CHECK_STR(got.price[999], "1099.99");
        free(body);
        body = rows(CS_VENUE_MAX_CANDLES + 1, cases[c].bybit, false);
        CHECK_STR(cases[c].v->parse_rest_candles(scratch, cases[c].raw, body,
                                                 strlen(body), LATER, collect,
                                                 NULL), "too many candles");
        free(body);
    }
}

/* Every prefix of every body, and a few hostile ones: an error text or
 * success, never a crash or a read past the end (ASan). */
static void test_truncations(void)
{
    static const struct {
        const struct cs_venue_ops *v;
        const char *raw, *rel;
        bool candles;
    } files[] = {
        { &cs_venue_binance, "BTCUSDT", "synthetic/rest/binance_klines.jsonl",
          true },
        { &cs_venue_binance, "LTCBTC",
          "exchanges/binance/rest_ticker_price.jsonl", false },
        { &cs_venue_coinbase, "BTC-USD",
          "synthetic/rest/coinbase_candles.jsonl", true },
        { &cs_venue_coinbase, "BTC-USD",
          "exchanges/coinbase/rest_advanced_trade_market_ticker.jsonl",
          false },
        { &cs_venue_okx, "BTC-USDT", "synthetic/rest/okx_history_candles.jsonl",
          true },
        { &cs_venue_okx, "BTC-USDT", "synthetic/rest/okx_ticker.jsonl", false },
        { &cs_venue_bybit, "BTCUSDT", "synthetic/rest/bybit_kline.jsonl",
          true },
        { &cs_venue_bybit, "BTCUSDT", "synthetic/rest/bybit_tickers.jsonl",
          false },
        { &cs_venue_kraken, "BTC/USD", "synthetic/rest/kraken_ohlc.jsonl",
          true },
        { &cs_venue_kraken, "BTC/USD", "synthetic/rest/kraken_ticker.jsonl",
          false },
        { &cs_venue_coinbase_exchange, "BTC-USD",
          "synthetic/rest/coinbase_exchange_candles.jsonl", true },
        { &cs_venue_coinbase_exchange, "BTC-USD",
          "synthetic/rest/coinbase_exchange_ticker.jsonl", false },
        { &cs_venue_bybit_linear, "BTCUSDT",
          "synthetic/rest/bybit_linear_kline.jsonl", true },
        { &cs_venue_bybit_linear, "BTCUSDT",
          "synthetic/rest/bybit_linear_tickers.jsonl", false },
    };
    static const char *const hostile[] = {
        "", "null", "[]", "{}", "[[]]", "[{}]", "\"x\"", "{\"result\":[]}",
        "{\"data\":7,\"code\":\"0\"}", "{\"retCode\":0,\"result\":{\"list\":"
        "[[\"-5\",\"1\",\"1\",\"1\",\"1\"]]}}", "[[1700000040000,\"1\",\"1\","
        "\"1\",\"-1\"]]", "{\"error\":[],\"result\":{\"last\":1}}",
    };
    unsigned errors = 0, ok = 0;

    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len;
        char *line = fixture_line(files[f].rel, 1, &len);
        for (size_t n = 0; n <= len; n++) {
            char *copy = malloc(n ? n : 1);
            const char *err;
            memcpy(copy, line, n);
            if (files[f].candles) {
                memset(&got, 0, sizeof got);
                got.sane = true;
                want_symbol = files[f].raw;
                err = files[f].v->parse_rest_candles(scratch, files[f].raw,
                                                     copy, n, LATER, collect,
                                                     NULL);
            } else {
                err = files[f].v->parse_rest_ticker(scratch, files[f].raw,
                                                    copy, n, 1, &tick);
            }
            if (err && n == len) {
                cs_test_fail(__FILE__, __LINE__, "%s: %s", files[f].rel, err);
            }
            if (err) {
                errors++;
            } else {
                ok++;
            }
            free(copy);
        }
        free(line);
        for (size_t h = 0; h < sizeof hostile / sizeof hostile[0]; h++) {
            size_t hn = strlen(hostile[h]);
            char *copy = malloc(hn ? hn : 1);
            memcpy(copy, hostile[h], hn);
            if (files[f].candles) {
                files[f].v->parse_rest_candles(scratch, files[f].raw, copy,
                                               hn, LATER, collect, NULL);
            } else {
                files[f].v->parse_rest_ticker(scratch, files[f].raw, copy, hn,
                                              1, &tick);
            }
            free(copy);
        }
    }
    /* Only the whole body parses. */
    CHECK_INT(ok, sizeof files / sizeof files[0]);
    CHECK(errors > 1000);
}

int main(void)
{
    scratch = cs_venue_scratch_new();
    test_urls();
    test_wire();
    test_tickers();
    test_candles();
    test_pages();
    test_truncations();
    cs_venue_scratch_free(scratch);
    return cs_test_finish("test_venue_rest");
}
