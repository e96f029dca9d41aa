/* The Coinbase venue parser (Exchange ws-feed and Advanced Trade) against
 * recorded frames, hostile input, huge level2 frames and a mutation loop;
 * plus product-id splitting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/err.h"
#include "cryptosup/timeutil.h"
#include "cryptosup/venue.h"
#include "testlib.h"

#define SEC (1000000000LL)

static struct cs_venue_scratch *scratch;
static struct cs_parse_out out;
static const struct cs_venue_ops *cb = &cs_venue_coinbase;

/* Parses a heap copy of exactly `len` bytes so ASan catches any read past
 * the frame; the copy lives (ticks borrow from it) until the next call. */
static const char *parse_n(const char *frame, size_t len)
{
    static char *copy;

    free(copy);
    copy = malloc(len ? len : 1);
    memcpy(copy, frame, len);
    cb->parse(scratch, copy, len, 555, &out);
    return copy;
}

static void parse(const char *frame)
{
    parse_n(frame, strlen(frame));
}

static bool text_is(struct cs_text t, const char *s)
{
    return t.len == strlen(s) && memcmp(t.ptr, s, t.len) == 0;
}

static int64_t iso(const char *s)
{
    int64_t ns = 0;
    cs_require(cs_time_parse_iso8601(s, strlen(s), &ns));
    return ns;
}

static void expect_class(const char *frame, enum cs_frame_class cls,
                         const char *what, int line)
{
    parse(frame);
    if (out.cls != cls || strcmp(out.what, what) != 0) {
        cs_test_fail(__FILE__, line, "%.70s: class %d \"%s\", want %d \"%s\"",
                     frame, out.cls, out.what, cls, what);
    } else if (cls != CS_FRAME_DATA && out.n != 0) {
        cs_test_fail(__FILE__, line, "%.60s: ticks on a non-data frame",
                     frame);
    } else {
        cs_test_passed++;
    }
}
#define EXPECT(f, cls, what) expect_class(f, cls, what, __LINE__)

/* ---- recorded fixtures ---- */

struct tally {
    unsigned lines, cls[5], kinds[3], dropped, bad_tick, backwards;
    unsigned heartbeats, subscriptions, candles;
};

static bool tick_is_sound(const struct cs_tick *t)
{
    char base[16], quote[16];

    return strcmp(t->exchange, "coinbase") == 0 && t->recv_ns == 555
           && t->ts_ns > iso("2021-01-01T00:00:00Z") && t->has_price
           && t->price.mant > 0 && t->has_seq
           && cb->split_symbol(t->raw_symbol.ptr, t->raw_symbol.len, base,
                               sizeof base, quote, sizeof quote)
           && (t->kind == CS_TICK_TRADE ? t->has_qty && !t->has_bid
                                        : t->has_bid && t->has_ask);
}

static void tally_file(const char *rel, struct tally *ty)
{
    size_t size;
    char *buf = cs_test_read_file(cs_test_fixture(rel), &size);
    char *p = buf, *end = buf + size;

    memset(ty, 0, sizeof *ty);
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

        cb->parse(scratch, p, n, 555, &out);
        ty->lines++;
        ty->cls[out.cls]++;
        ty->dropped += (unsigned)out.dropped;
        ty->heartbeats += strcmp(out.what, "heartbeats") == 0;
        ty->subscriptions += strcmp(out.what, "subscriptions") == 0;
        ty->candles += strcmp(out.what, "candles") == 0;
        for (size_t i = 0; i < out.n; i++) {
            ty->kinds[out.ticks[i].kind]++;
            ty->bad_tick += !tick_is_sound(&out.ticks[i]);
            ty->backwards += i > 0
                             && out.ticks[i].ts_ns < out.ticks[i - 1].ts_ns;
        }
        p += n + 1;
    }
    free(buf);
}

static void test_advanced_trade_recording(void)
{
    struct tally ty;

    tally_file("exchanges/coinbase/advanced_trade_ws_2026-08-09_part1.jsonl",
               &ty);
    CHECK_INT(ty.lines, 152);
    CHECK_INT(ty.cls[CS_FRAME_DATA], 131);      /* 90 ticker + 41 trades */
    CHECK_INT(ty.cls[CS_FRAME_CONTROL], 17);
    CHECK_INT(ty.cls[CS_FRAME_IGNORED], 4);
    CHECK_INT(ty.cls[CS_FRAME_UNKNOWN], 0);
    CHECK_INT(ty.cls[CS_FRAME_MALFORMED], 0);
    CHECK_INT(ty.heartbeats, 12);
    CHECK_INT(ty.subscriptions, 5);
    CHECK_INT(ty.candles, 4);
    CHECK_INT(ty.kinds[CS_TICK_TICKER], 90);
    CHECK_INT(ty.kinds[CS_TICK_TRADE], 256);    /* 2 x 100 snapshot + 56 */
    CHECK_INT(ty.kinds[CS_TICK_QUOTE], 0);
    CHECK_INT(ty.dropped, 0);
    CHECK_INT(ty.bad_tick, 0);
    CHECK_INT(ty.backwards, 0);
}

static void test_exchange_feed_recording(void)
{
    struct tally ty;

    tally_file("exchanges/coinbase/exchange_ws_feed_2021-04-17_A.jsonl", &ty);
    CHECK_INT(ty.lines, 157);
    CHECK_INT(ty.cls[CS_FRAME_DATA], 154);      /* 77 ticker, 77 matches */
    CHECK_INT(ty.cls[CS_FRAME_CONTROL], 3);
    CHECK_INT(ty.subscriptions, 3);
    CHECK_INT(ty.cls[CS_FRAME_IGNORED], 0);
    CHECK_INT(ty.cls[CS_FRAME_UNKNOWN], 0);
    CHECK_INT(ty.cls[CS_FRAME_MALFORMED], 0);
    CHECK_INT(ty.kinds[CS_TICK_TICKER], 77);
    CHECK_INT(ty.kinds[CS_TICK_TRADE], 77);     /* 72 match + 5 last_match */
    CHECK_INT(ty.bad_tick, 0);
}

/* ---- specific frames, field by field ---- */

static void test_exchange_frames(void)
{
    const struct cs_tick *t = &out.ticks[0];

    parse("{\"type\":\"ticker\",\"sequence\":333938798,\"product_id\":"
          "\"BAND-GBP\",\"price\":\"14.7775\",\"open_24h\":\"14.6647\","
          "\"volume_24h\":\"94381.28000000\",\"low_24h\":\"14.3691\","
          "\"high_24h\":\"16.55\",\"volume_30d\":\"2295579.57000000\","
          "\"best_bid\":\"14.7550\",\"best_ask\":\"14.8060\",\"side\":\"buy\","
          "\"time\":\"2021-04-17T16:43:30.244075Z\",\"trade_id\":881613,"
          "\"last_size\":\"0.04\"}");
    CHECK_INT(out.cls, CS_FRAME_DATA);
    CHECK_STR(out.what, "ticker");
    CHECK_INT(out.n, 1);
    CHECK_STR(t->exchange, "coinbase");
    CHECK_INT(t->kind, CS_TICK_TICKER);
    CHECK(text_is(t->raw_symbol, "BAND-GBP"));
    CHECK(text_is(t->price_text, "14.7775"));
    CHECK_INT(t->price.mant, 147775);
    CHECK_INT(t->price.exp, -4);
    CHECK(text_is(t->bid_text, "14.7550"));
    CHECK(text_is(t->ask_text, "14.8060"));
    CHECK_INT(t->ask.mant, 148060);
    CHECK(text_is(t->qty_text, "0.04"));
    CHECK_INT(t->ts_ns, 1618677810244075000LL);
    CHECK(t->has_seq);
    CHECK_INT(t->seq, 333938798);
    CHECK_INT(t->recv_ns, 555);

    parse("{\"type\":\"last_match\",\"trade_id\":881613,\"maker_order_id\":"
          "\"27fff20b-af29-4f45-8744-56dd1ef57dc0\",\"taker_order_id\":"
          "\"1da6ce16-c8da-4732-9f71-6049f4c6aaf8\",\"side\":\"sell\",\"size\":"
          "\"0.04\",\"price\":\"14.7775\",\"product_id\":\"BAND-GBP\","
          "\"sequence\":333938798,\"time\":\"2021-04-17T16:43:30.244075Z\"}");
    CHECK_STR(out.what, "last_match");
    CHECK_INT(t->kind, CS_TICK_TRADE);
    CHECK(text_is(t->price_text, "14.7775"));
    CHECK(text_is(t->qty_text, "0.04"));
    CHECK_INT(t->seq, 333938798);
    CHECK_INT(t->ts_ns, 1618677810244075000LL);
    CHECK(!t->has_bid && !t->has_ask);

    parse("{\"type\":\"match\",\"trade_id\":10,\"sequence\":50,\"size\":"
          "\"5.23512\",\"price\":\"400.23\",\"product_id\":\"BTC-USD\","
          "\"side\":\"sell\",\"time\":\"2014-11-07T08:19:27.028459Z\"}");
    CHECK_STR(out.what, "match");
    CHECK_INT(t->seq, 50);
    CHECK_INT(t->ts_ns, 1415348367028459000LL);

    /* A ticker without sequence is still a tick, just without seq. */
    parse("{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"1\","
          "\"time\":\"2021-04-17T16:43:30Z\"}");
    CHECK_INT(out.cls, CS_FRAME_DATA);
    CHECK(!t->has_seq && !t->has_bid && !t->has_qty);
}

static void test_advanced_frames(void)
{
    const struct cs_tick *t = &out.ticks[0];

    parse("{\"channel\":\"ticker\",\"timestamp\":"
          "\"2026-08-09T21:05:48.229198328Z\",\"sequence_num\":6,\"events\":"
          "[{\"type\":\"snapshot\",\"tickers\":[{\"type\":\"ticker\","
          "\"product_id\":\"BTC-USD\",\"price\":\"65086.18\",\"volume_24_h\":"
          "\"2867.54532609\",\"low_24_h\":\"64675.22\",\"high_24_h\":"
          "\"65252.99\",\"low_52_w\":\"57717.55\",\"high_52_w\":\"126296\","
          "\"price_percent_chg_24_h\":\"0.09601107287722\",\"best_bid\":"
          "\"65083.66\",\"best_ask\":\"65083.67\",\"best_bid_quantity\":"
          "\"0.20371215\",\"best_ask_quantity\":\"0.24290402\"}]}]}");
    CHECK_INT(out.cls, CS_FRAME_DATA);
    CHECK_STR(out.what, "ticker");
    CHECK_INT(out.n, 1);
    CHECK_INT(t->kind, CS_TICK_TICKER);
    CHECK(text_is(t->raw_symbol, "BTC-USD"));
    CHECK(text_is(t->price_text, "65086.18"));
    CHECK_INT(t->price.mant, 6508618);
    CHECK_INT(t->price.exp, -2);
    CHECK(text_is(t->bid_text, "65083.66"));
    CHECK(text_is(t->ask_text, "65083.67"));
    CHECK(!t->has_qty);
    CHECK_INT(t->ts_ns, 1786309548229198328LL);
    CHECK(t->has_seq);
    CHECK_INT(t->seq, 6);

    parse("{\"channel\":\"market_trades\",\"timestamp\":"
          "\"2026-08-09T21:05:48.251397169Z\",\"sequence_num\":9,\"events\":"
          "[{\"type\":\"update\",\"trades\":[{\"product_id\":\"BTC-USD\","
          "\"trade_id\":\"1068572091\",\"price\":\"65083.67\",\"size\":"
          "\"0.01034361\",\"time\":\"2026-08-09T21:05:48.167634Z\",\"side\":"
          "\"SELL\"}]}]}");
    CHECK_STR(out.what, "market_trades");
    CHECK_INT(out.n, 1);
    CHECK_INT(t->kind, CS_TICK_TRADE);
    CHECK(text_is(t->price_text, "65083.67"));
    CHECK(text_is(t->qty_text, "0.01034361"));
    CHECK_INT(t->qty.mant, 1034361);
    CHECK_INT(t->qty.exp, -8);
    CHECK_INT(t->ts_ns, 1786309548167634000LL);
    CHECK_INT(t->seq, 1068572091);

    /* Two trades newest first, with 5- and 4-digit fractions: emitted
     * oldest first. A trade_id that is not a number is just not a seq. */
    parse("{\"channel\":\"market_trades\",\"timestamp\":"
          "\"2026-08-09T21:05:48.2Z\",\"sequence_num\":1,\"events\":[{\"type\":"
          "\"snapshot\",\"trades\":[{\"product_id\":\"BTC-USD\",\"trade_id\":"
          "\"abc-1\",\"price\":\"65083.66\",\"size\":\"0.00007299\",\"time\":"
          "\"2026-08-09T21:05:38.50436Z\",\"side\":\"BUY\"},{\"product_id\":"
          "\"BTC-USD\",\"trade_id\":\"1068572080\",\"price\":\"65083.66\","
          "\"size\":\"0.1\",\"time\":\"2026-08-09T21:05:33.2248Z\",\"side\":"
          "\"BUY\"}]}]}");
    CHECK_INT(out.n, 2);
    CHECK_INT(out.ticks[0].ts_ns, 1786309533224800000LL);
    CHECK_INT(out.ticks[0].seq, 1068572080);
    CHECK_INT(out.ticks[1].ts_ns, 1786309538504360000LL);
    CHECK(!out.ticks[1].has_seq);

    /* Several events and tickers in one frame share the envelope. */
    parse("{\"channel\":\"ticker_batch\",\"timestamp\":\"2026-08-09T21:05:48Z\","
          "\"sequence_num\":77,\"events\":[{\"type\":\"update\",\"tickers\":["
          "{\"product_id\":\"BTC-USD\",\"price\":\"1\"},{\"product_id\":"
          "\"ETH-USD\",\"price\":\"2\",\"best_bid\":\"\",\"best_ask\":\"0\"}]},"
          "{\"type\":\"update\",\"tickers\":[{\"product_id\":\"SOL-USD\","
          "\"price\":\"3\"}]}]}");
    CHECK_INT(out.cls, CS_FRAME_DATA);
    CHECK_INT(out.n, 3);
    CHECK(text_is(out.ticks[2].raw_symbol, "SOL-USD"));
    CHECK_INT(out.ticks[2].seq, 77);
    CHECK_INT(out.ticks[2].ts_ns, 1786309548LL * SEC);
    CHECK(!out.ticks[1].has_bid && !out.ticks[1].has_ask);

    EXPECT("{\"channel\":\"ticker\",\"timestamp\":\"2026-08-09T21:05:48Z\","
           "\"sequence_num\":1,\"events\":[]}", CS_FRAME_DATA, "ticker");
    CHECK_INT(out.n, 0);
}

static void test_control_and_ignored(void)
{
    EXPECT("{\"type\":\"subscriptions\",\"channels\":[{\"name\":\"ticker\","
           "\"product_ids\":[\"ETH-USD\"]}]}", CS_FRAME_CONTROL,
           "subscriptions");
    EXPECT("{\"type\":\"heartbeat\",\"sequence\":90,\"last_trade_id\":20,"
           "\"product_id\":\"BTC-USD\",\"time\":\"2014-11-07T08:19:28.464459Z\"}",
           CS_FRAME_CONTROL, "heartbeat");
    EXPECT("{\"type\":\"error\",\"message\":\"Failed to subscribe\",\"reason\":"
           "\"level2 requires authentication\"}", CS_FRAME_CONTROL, "error");
    EXPECT("{\"message\":\"authentication failure\",\"type\":\"error\"}",
           CS_FRAME_CONTROL, "error");
    EXPECT("{\"type\":\"l2update\",\"product_id\":\"BTC-USD\",\"changes\":"
           "[[\"buy\",\"1\",\"2\"]],\"time\":\"2021-04-17T16:43:30Z\"}",
           CS_FRAME_IGNORED, "l2update");
    EXPECT("{\"type\":\"snapshot\",\"product_id\":\"BTC-USD\",\"bids\":[[\"1\","
           "\"2\"]],\"asks\":[]}", CS_FRAME_IGNORED, "snapshot");
    EXPECT("{\"type\":\"status\",\"products\":[],\"currencies\":[]}",
           CS_FRAME_IGNORED, "status");
    EXPECT("{\"channel\":\"heartbeats\",\"client_id\":\"\",\"timestamp\":"
           "\"2026-08-09T21:05:48.855Z\",\"sequence_num\":12,\"events\":[{"
           "\"current_time\":\"2026-08-09 21:05:48.854840045 +0000 UTC "
           "m=+41691.26\",\"heartbeat_counter\":41691}]}", CS_FRAME_CONTROL,
           "heartbeats");
    EXPECT("{\"channel\":\"subscriptions\",\"events\":[{\"subscriptions\":{}}]}",
           CS_FRAME_CONTROL, "subscriptions");
    EXPECT("{\"channel\":\"l2_data\",\"timestamp\":\"2026-08-09T21:05:48Z\","
           "\"sequence_num\":5,\"events\":[{\"type\":\"snapshot\",\"product_id\":"
           "\"BTC-USD\",\"updates\":[{\"side\":\"bid\",\"event_time\":"
           "\"2026-08-09T21:05:48Z\",\"price_level\":\"1\",\"new_quantity\":"
           "\"2\"}]}]}", CS_FRAME_IGNORED, "l2_data");
    EXPECT("{\"channel\":\"candles\",\"events\":[]}", CS_FRAME_IGNORED,
           "candles");
    EXPECT("{\"channel\":\"status\",\"events\":[]}", CS_FRAME_IGNORED,
           "status");
    EXPECT("{\"channel\":\"newthing\",\"events\":[]}", CS_FRAME_UNKNOWN,
           "unknown channel");
    EXPECT("{\"type\":\"newthing\"}", CS_FRAME_UNKNOWN, "unknown type");
    EXPECT("{\"foo\":1}", CS_FRAME_UNKNOWN, "object without type or channel");
    EXPECT("[1]", CS_FRAME_UNKNOWN, "unexpected JSON value");
    EXPECT("\"x\"", CS_FRAME_UNKNOWN, "unexpected JSON value");
    EXPECT("pong", CS_FRAME_CONTROL, "text ping/pong");
}

/* A multi-megabyte level2 snapshot is classified, not rejected for its
 * token count. */
static void test_huge_frames(void)
{
    size_t cap = 8u << 20, pos = 0;
    char *buf = malloc(cap);
    int levels = 60000;

    pos += (size_t)snprintf(buf, cap, "{\"channel\":\"l2_data\",\"timestamp\":"
                            "\"2026-08-09T21:05:48Z\",\"sequence_num\":5,"
                            "\"events\":[{\"type\":\"snapshot\",\"product_id\":"
                            "\"BTC-USD\",\"updates\":[");
    for (int i = 0; i < levels; i++) {
        pos += (size_t)snprintf(buf + pos, cap - pos,
                                "%s{\"side\":\"bid\",\"event_time\":"
                                "\"2026-08-09T21:05:48.2Z\",\"price_level\":"
                                "\"%d.01\",\"new_quantity\":\"0.5\"}",
                                i ? "," : "", i + 1);
    }
    pos += (size_t)snprintf(buf + pos, cap - pos, "]}]}");
    CHECK(pos > (4u << 20));
    parse_n(buf, pos);
    CHECK_INT(out.cls, CS_FRAME_IGNORED);
    CHECK_STR(out.what, "l2_data");
    parse_n(buf, pos - 1);
    CHECK_INT(out.cls, CS_FRAME_MALFORMED);
    CHECK_STR(out.what, "truncated JSON");

    pos = (size_t)snprintf(buf, cap, "{\"type\":\"snapshot\",\"product_id\":"
                           "\"BTC-USD\",\"bids\":[");
    for (int i = 0; i < levels; i++) {
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s[\"%d.01\",\"0.5\"]",
                                i ? "," : "", i + 1);
    }
    pos += (size_t)snprintf(buf + pos, cap - pos, "],\"asks\":[]}");
    parse_n(buf, pos);
    CHECK_INT(out.cls, CS_FRAME_IGNORED);
    CHECK_STR(out.what, "snapshot");

    /* 300 trades: the first 256 (oldest first) are kept, 44 dropped. */
    pos = (size_t)snprintf(buf, cap, "{\"channel\":\"market_trades\","
                           "\"timestamp\":\"2026-08-09T21:05:48Z\","
                           "\"sequence_num\":1,\"events\":[{\"type\":"
                           "\"snapshot\",\"trades\":[");
    for (int i = 0; i < 300; i++) {
        pos += (size_t)snprintf(buf + pos, cap - pos,
                                "%s{\"product_id\":\"BTC-USD\",\"trade_id\":"
                                "\"%d\",\"price\":\"%d.5\",\"size\":\"1\","
                                "\"time\":\"2026-08-09T21:%02d:%02dZ\"}",
                                i ? "," : "", 1000 - i, 1000 - i,
                                (299 - i) / 60, (299 - i) % 60);
    }
    pos += (size_t)snprintf(buf + pos, cap - pos, "]}]}");
    parse_n(buf, pos);
    CHECK_INT(out.cls, CS_FRAME_DATA);
    CHECK_INT(out.n, CS_VENUE_MAX_TICKS);
    CHECK_INT(out.dropped, 44);
    CHECK_INT(out.ticks[0].seq, 745);
    CHECK_INT(out.ticks[255].seq, 1000);

    /* Enough trades to overflow the token area: events are re-parsed one
     * by one, so the frame still yields ticks. */
    pos = (size_t)snprintf(buf, cap, "{\"channel\":\"market_trades\","
                           "\"events\":[");
    for (int e = 0; e < 40; e++) {
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s{\"type\":\"update\","
                                "\"trades\":[", e ? "," : "");
        for (int i = 0; i < 40; i++) {
            pos += (size_t)snprintf(buf + pos, cap - pos,
                                    "%s{\"product_id\":\"BTC-USD\","
                                    "\"trade_id\":\"%d\",\"price\":\"1.5\","
                                    "\"size\":\"1\",\"time\":"
                                    "\"2026-08-09T21:05:48Z\",\"side\":"
                                    "\"BUY\",\"x\":[1,2,3]}",
                                    i ? "," : "", e * 40 + i);
        }
        pos += (size_t)snprintf(buf + pos, cap - pos, "]}");
    }
    pos += (size_t)snprintf(buf + pos, cap - pos, "]}");
    parse_n(buf, pos);
    CHECK_INT(out.cls, CS_FRAME_DATA);
    CHECK_INT(out.n, CS_VENUE_MAX_TICKS);
    CHECK_INT(out.dropped, 1600 - CS_VENUE_MAX_TICKS);
    free(buf);
}

/* ---- hostile and malformed input ---- */

static void test_malformed_fields(void)
{
    static const struct { const char *frame, *what; } cases[] = {
        { "{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"abc\","
          "\"time\":\"2021-04-17T16:43:30Z\"}", "ticker: bad price" },
        { "{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"0\","
          "\"time\":\"2021-04-17T16:43:30Z\"}", "ticker: bad price" },
        { "{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"-3\","
          "\"time\":\"2021-04-17T16:43:30Z\"}", "ticker: bad price" },
        { "{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"time\":"
          "\"2021-04-17T16:43:30Z\"}", "ticker: missing price" },
        { "{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"1\"}",
          "ticker: missing time" },
        { "{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"1\","
          "\"time\":\"yesterday\"}", "ticker: bad time" },
        { "{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"1\","
          "\"time\":1618677810}", "ticker: bad time" },
        { "{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"1\","
          "\"time\":\"2021-04-17T16:43:30Z\",\"sequence\":\"x\"}",
          "ticker: bad sequence" },
        { "{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"1\","
          "\"time\":\"2021-04-17T16:43:30Z\",\"sequence\":-4}",
          "ticker: bad sequence" },
        { "{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"1\","
          "\"time\":\"2021-04-17T16:43:30Z\",\"best_bid\":\"x\"}",
          "ticker: bad best_bid" },
        { "{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"1\","
          "\"time\":\"2021-04-17T16:43:30Z\",\"best_ask\":[]}",
          "ticker: bad best_ask" },
        { "{\"type\":\"ticker\",\"price\":\"1\",\"time\":"
          "\"2021-04-17T16:43:30Z\"}", "ticker: missing product_id" },
        { "{\"type\":\"ticker\",\"product_id\":null,\"price\":\"1\",\"time\":"
          "\"2021-04-17T16:43:30Z\"}", "ticker: bad product_id" },
        { "{\"type\":\"match\",\"product_id\":\"BTC-USD\",\"price\":\"1\","
          "\"time\":\"2021-04-17T16:43:30Z\"}", "match: missing size" },
        { "{\"type\":\"match\",\"product_id\":\"BTC-USD\",\"price\":\"1\","
          "\"size\":\"-1\",\"time\":\"2021-04-17T16:43:30Z\"}",
          "match: bad size" },
        { "{\"type\":\"last_match\",\"product_id\":\"BTC-USD\",\"price\":"
          "\"1e999\",\"size\":\"1\",\"time\":\"2021-04-17T16:43:30Z\"}",
          "last_match: bad price" },
        { "{\"channel\":\"ticker\",\"sequence_num\":1,\"events\":[]}",
          "ticker: missing timestamp" },
        { "{\"channel\":\"ticker\",\"timestamp\":\"now\",\"events\":[]}",
          "ticker: bad timestamp" },
        { "{\"channel\":\"ticker\",\"timestamp\":\"2026-08-09T21:05:48Z\","
          "\"sequence_num\":\"6\",\"events\":[]}", "ticker: bad sequence_num" },
        { "{\"channel\":\"ticker\",\"timestamp\":\"2026-08-09T21:05:48Z\"}",
          "ticker: bad events" },
        { "{\"channel\":\"ticker\",\"timestamp\":\"2026-08-09T21:05:48Z\","
          "\"events\":{}}", "ticker: bad events" },
        { "{\"channel\":\"ticker\",\"timestamp\":\"2026-08-09T21:05:48Z\","
          "\"events\":[{\"type\":\"update\"}]}", "ticker: bad tickers" },
        { "{\"channel\":\"ticker\",\"timestamp\":\"2026-08-09T21:05:48Z\","
          "\"events\":[7]}", "event not an object" },
        { "{\"channel\":\"ticker\",\"timestamp\":\"2026-08-09T21:05:48Z\","
          "\"events\":[{\"tickers\":[5]}]}", "ticker event: not an object" },
        { "{\"channel\":\"ticker\",\"timestamp\":\"2026-08-09T21:05:48Z\","
          "\"events\":[{\"tickers\":[{\"product_id\":\"BTC-USD\"}]}]}",
          "ticker event: missing price" },
        { "{\"channel\":\"market_trades\",\"events\":[{\"trades\":[{"
          "\"product_id\":\"BTC-USD\",\"price\":\"x\",\"size\":\"1\","
          "\"time\":\"2026-08-09T21:05:48Z\"}]}]}", "market_trades: bad price" },
        { "{\"channel\":\"market_trades\",\"events\":[{\"trades\":[{"
          "\"product_id\":\"BTC-USD\",\"price\":\"1\",\"size\":\"1\"}]}]}",
          "market_trades: missing time" },
        { "{\"channel\":\"market_trades\",\"events\":[{\"tickers\":[]}]}",
          "market_trades: bad trades" },
        { "{\"channel\":\"market_trades\",\"events\":null}",
          "market_trades: bad events" },
        { "{\"channel\":5}", "bad channel" },
        { "{\"type\":[]}", "bad type" },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_class(cases[i].frame, CS_FRAME_MALFORMED, cases[i].what,
                     __LINE__);
    }
}

static void test_hostile_bytes(void)
{
    const char *real = "{\"channel\":\"ticker\",\"timestamp\":"
                       "\"2026-08-09T21:05:48.229198328Z\",\"sequence_num\":6,"
                       "\"events\":[{\"type\":\"snapshot\",\"tickers\":[{"
                       "\"type\":\"ticker\",\"product_id\":\"BTC-USD\","
                       "\"price\":\"65086.18\",\"best_bid\":\"65083.66\","
                       "\"best_ask\":\"65083.67\"}]}]}";
    size_t n = strlen(real);
    unsigned wrong = 0;
    char garbage[300], deep[200];

    for (size_t len = 0; len < n; len++) {
        parse_n(real, len);
        if (out.cls != CS_FRAME_MALFORMED || out.n != 0
            || strcmp(out.what, "truncated JSON") != 0) {
            wrong++;
        }
    }
    CHECK_INT(wrong, 0);
    EXPECT("", CS_FRAME_MALFORMED, "truncated JSON");
    EXPECT("PONG", CS_FRAME_MALFORMED, "not JSON");
    EXPECT("{\"type\":\"ticker\"", CS_FRAME_MALFORMED, "truncated JSON");
    EXPECT("{\"type\":\"ticker\"}x", CS_FRAME_MALFORMED, "not JSON");
    for (size_t i = 0; i < sizeof garbage; i++) {
        garbage[i] = (char)(i * 37 + 11);
    }
    parse_n(garbage, sizeof garbage);
    CHECK_INT(out.cls, CS_FRAME_MALFORMED);
    for (size_t i = 0; i < 100; i++) {
        deep[i] = '[';
        deep[199 - i] = ']';
    }
    parse_n(deep, sizeof deep);
    CHECK_INT(out.cls, CS_FRAME_MALFORMED);
    CHECK_STR(out.what, "JSON nested too deeply");
}

/* ---- mutation loop ---- */

static uint64_t rng_state = 0xbb67ae8584caa73bULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Text is never NULL (absent values are ""), and what is present lies
 * inside the frame. */
static bool in_frame(struct cs_text t, const char *frame, size_t len)
{
    return t.ptr != NULL
           && (t.len == 0 || (t.ptr >= frame && t.ptr + t.len <= frame + len));
}

static bool out_is_sane(const char *frame, size_t len)
{
    if (out.cls > CS_FRAME_MALFORMED || out.what == NULL
        || out.n > CS_VENUE_MAX_TICKS
        || (out.cls != CS_FRAME_DATA && out.n != 0)) {
        return false;
    }
    for (size_t i = 0; i < out.n; i++) {
        const struct cs_tick *t = &out.ticks[i];
        if (!in_frame(t->raw_symbol, frame, len) || t->raw_symbol.len == 0
            || !in_frame(t->price_text, frame, len)
            || !in_frame(t->bid_text, frame, len)
            || !in_frame(t->ask_text, frame, len)
            || !in_frame(t->qty_text, frame, len)
            || !t->has_price || t->price.mant <= 0
            || (t->has_bid && t->bid.mant <= 0)) {
            return false;
        }
    }
    return true;
}

static void test_mutations(void)
{
    static const char *const files[] = {
        "exchanges/coinbase/advanced_trade_ws_2026-08-09_part1.jsonl",
        "exchanges/coinbase/exchange_ws_feed_2021-04-17_A.jsonl",
    };
    static const char *lines[400];
    static size_t lens[400];
    char *bufs[2];
    size_t nlines = 0;
    unsigned bad = 0, classes[5] = { 0 };
    static char frame[32768];

    for (size_t f = 0; f < 2; f++) {
        size_t size;
        char *p = bufs[f] = cs_test_read_file(cs_test_fixture(files[f]), &size);
        char *end = p + size;
        while (p < end && nlines < 400) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (n < sizeof frame - 16) {
                lines[nlines] = p;
                lens[nlines++] = n;
            }
            p += n + 1;
        }
    }
    for (int i = 0; i < 6000; i++) {
        size_t k = (size_t)(rng() % nlines), len = lens[k];
        const char *copy;

        memcpy(frame, lines[k], len);
        for (int m = (int)(rng() % 3); m >= 0 && len > 0; m--) {
            size_t at = (size_t)(rng() % len);
            switch (rng() % 4) {
            case 0: frame[at] ^= (char)(1u << (rng() % 8)); break;
            case 1: len = at; break;
            case 2: frame[at] = "\"{}[],:0-e.\\Z"[rng() % 13]; break;
            default:
                memmove(frame + at + 1, frame + at, len - at);
                frame[at] = (char)rng();
                len++;
            }
        }
        copy = parse_n(frame, len);
        classes[out.cls <= CS_FRAME_MALFORMED ? out.cls : 0]++;
        if (!out_is_sane(copy, len)) {
            bad++;
        }
    }
    CHECK_INT(bad, 0);
    CHECK(classes[CS_FRAME_DATA] > 100);
    CHECK(classes[CS_FRAME_MALFORMED] > 100);
    for (size_t f = 0; f < 2; f++) {
        free(bufs[f]);
    }
}

/* ---- symbols ---- */

static void test_split(void)
{
    char b[16], q[16];

    CHECK(cb->split_symbol("BTC-USD", 7, b, sizeof b, q, sizeof q));
    CHECK_STR(b, "BTC");
    CHECK_STR(q, "USD");
    CHECK(cb->split_symbol("eth-usdc", 8, b, sizeof b, q, sizeof q));
    CHECK_STR(b, "ETH");
    CHECK_STR(q, "USDC");
    CHECK(cb->split_symbol("BAND-GBP", 8, b, sizeof b, q, sizeof q));
    CHECK_STR(b, "BAND");
    CHECK_STR(q, "GBP");
    CHECK(cb->split_symbol("SKL-BTC", 7, b, sizeof b, q, sizeof q));
    CHECK_STR(b, "SKL");
    CHECK(!cb->split_symbol("BIT-31JAN25-CDE", 15, b, sizeof b, q, sizeof q));
    CHECK(!cb->split_symbol("BTCUSD", 6, b, sizeof b, q, sizeof q));
    CHECK(!cb->split_symbol("-USD", 4, b, sizeof b, q, sizeof q));
    CHECK(!cb->split_symbol("BTC-", 4, b, sizeof b, q, sizeof q));
    CHECK(!cb->split_symbol("BTC-U D", 7, b, sizeof b, q, sizeof q));
    CHECK(!cb->split_symbol("BTC-USD", 7, b, 3, q, sizeof q));
    CHECK(!cb->split_symbol("", 0, b, sizeof b, q, sizeof q));
    CHECK(!cb->split_symbol(NULL, 0, b, sizeof b, q, sizeof q));
    /* Only `len` bytes are read. */
    CHECK(cb->split_symbol("BTC-USD-XX", 7, b, sizeof b, q, sizeof q));
    CHECK_STR(q, "USD");
    CHECK_STR(cs_venue_coinbase.name, "coinbase");
}

int main(void)
{
    scratch = cs_venue_scratch_new();
    test_advanced_trade_recording();
    test_exchange_feed_recording();
    test_exchange_frames();
    test_advanced_frames();
    test_control_and_ignored();
    test_huge_frames();
    test_malformed_fields();
    test_hostile_bytes();
    test_mutations();
    test_split();
    cs_venue_scratch_free(scratch);
    return cs_test_finish("test_venue_coinbase");
}
