/* The Coinbase venue parser (Exchange ws-feed and Advanced Trade) against
 * recorded frames, hostile input, huge level2 frames and a mutation loop;
 * Advanced Trade's connection-wide gap detection; product-id splitting and
 * the wire layer (subscribe messages as recorded). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/err.h"
#include "cryptosup/timeutil.h"
#include "cryptosup/venue.h"
#include "testlib.h"
#include "venue_testlib.h"

#define SEC (1000000000LL)

static const struct cs_venue_ops *cb = &cs_venue_coinbase;

static int64_t iso(const char *s)
{
    int64_t ns = 0;
    cs_require(cs_time_parse_iso8601(s, strlen(s), &ns));
    return ns;
}

/* ---- recorded fixtures ---- */

/* Recorded ticks: a product id that splits, a seq, both sides on
 * tickers, and trades of one frame oldest first. */
static bool recorded_tick_ok(const struct cs_tick *t, const char *line)
{
    char base[16], quote[16];

    (void)line;
    return t->ts_ns > iso("2021-01-01T00:00:00Z") && t->has_seq
           && cb->split_symbol(t->raw_symbol.ptr, t->raw_symbol.len, base,
                               sizeof base, quote, sizeof quote)
           && (t->kind == CS_TICK_TRADE ? !t->has_bid
                                        : t->has_bid && t->has_ask)
           && (t == &vt.out.ticks[0] || t[-1].ts_ns <= t->ts_ns);
}

static void test_advanced_trade_recording(void)
{
    struct vt_tally ty;

    vt_tally_file("exchanges/coinbase/advanced_trade_ws_2026-08-09_part1.jsonl",
                  &ty, recorded_tick_ok);
    CHECK_INT(ty.lines, 152);
    CHECK_INT(ty.cls[CS_FRAME_DATA], 131);      /* 90 ticker + 41 trades */
    CHECK_INT(ty.cls[CS_FRAME_CONTROL], 17);
    CHECK_INT(ty.cls[CS_FRAME_IGNORED], 4);
    CHECK_INT(ty.cls[CS_FRAME_UNKNOWN], 0);
    CHECK_INT(ty.cls[CS_FRAME_MALFORMED], 0);
    CHECK_INT(vt_what(&ty, "ticker"), 90);
    CHECK_INT(vt_what(&ty, "market_trades"), 41);
    CHECK_INT(vt_what(&ty, "heartbeats"), 12);
    CHECK_INT(vt_what(&ty, "subscriptions"), 5);
    CHECK_INT(vt_what(&ty, "candles"), 4);
    CHECK_INT(ty.kinds[CS_TICK_TICKER], 90);
    CHECK_INT(ty.kinds[CS_TICK_TRADE], 256);    /* 2 x 100 snapshot + 56 */
    CHECK_INT(ty.kinds[CS_TICK_QUOTE], 0);
    CHECK_INT(ty.seq_kinds[CS_SEQ_NONE], 90);
    CHECK_INT(ty.seq_kinds[CS_SEQ_INCREASING], 256);
    CHECK_INT(ty.dropped, 0);
    /* The removed level2 frames left 112 holes in sequence_num
     * (PROVENANCE.md): each is one connection gap. */
    CHECK_INT(ty.gaps, 112);
    CHECK_INT(ty.insane, 0);
    CHECK_INT(ty.bad_tick, 0);
}

static void test_exchange_feed_recording(void)
{
    struct vt_tally ty;

    vt_tally_file("exchanges/coinbase/exchange_ws_feed_2021-04-17_A.jsonl",
                  &ty, recorded_tick_ok);
    CHECK_INT(ty.lines, 157);
    CHECK_INT(ty.cls[CS_FRAME_DATA], 154);
    CHECK_INT(vt_what(&ty, "ticker"), 77);
    CHECK_INT(vt_what(&ty, "match"), 72);
    CHECK_INT(vt_what(&ty, "last_match"), 5);
    CHECK_INT(ty.cls[CS_FRAME_CONTROL], 3);
    CHECK_INT(vt_what(&ty, "subscriptions"), 3);
    CHECK_INT(ty.cls[CS_FRAME_IGNORED], 0);
    CHECK_INT(ty.cls[CS_FRAME_UNKNOWN], 0);
    CHECK_INT(ty.cls[CS_FRAME_MALFORMED], 0);
    CHECK_INT(ty.kinds[CS_TICK_TICKER], 77);
    CHECK_INT(ty.kinds[CS_TICK_TRADE], 77);     /* 72 match + 5 last_match */
    CHECK_INT(ty.seq_kinds[CS_SEQ_INCREASING], 77);
    CHECK_INT(ty.seq_kinds[CS_SEQ_CONTIGUOUS], 77);
    CHECK_INT(ty.gaps, 0);
    CHECK_INT(ty.insane, 0);
    CHECK_INT(ty.bad_tick, 0);
}

/* Trade ids of the ws-feed recording run +1 per product (the premise of
 * CS_SEQ_CONTIGUOUS), across last_match and the matches after it. */
static void test_exchange_trade_ids(void)
{
    struct vt_lines l;
    char products[8][16];
    uint64_t last[8];
    size_t nproducts = 0;
    unsigned steps = 0, jumps = 0;

    vt_new_scratch();
    vt_lines_load(&l, "exchanges/coinbase/exchange_ws_feed_2021-04-17_A.jsonl");
    for (size_t i = 0; i < l.n; i++) {
        const struct cs_tick *t = &vt.out.ticks[0];
        size_t p = 0;

        vt_parse_n(l.line[i], l.len[i]);
        if (vt.out.n != 1 || t->kind != CS_TICK_TRADE) {
            continue;
        }
        while (p < nproducts && !vt_text_is(t->raw_symbol, products[p])) {
            p++;
        }
        if (p == nproducts && p < 8) {
            snprintf(products[p], sizeof products[p], "%.*s",
                     (int)t->raw_symbol.len, t->raw_symbol.ptr);
            last[nproducts++] = t->seq;
            continue;
        }
        steps += p < 8 && t->seq == last[p] + 1;
        jumps += p < 8 && t->seq != last[p] + 1;
        last[p] = t->seq;
    }
    vt_lines_free(&l);
    CHECK_INT(nproducts, 5);
    CHECK_INT(steps, 72);
    CHECK_INT(jumps, 0);
}

/* ---- specific frames, field by field ---- */

static void test_exchange_frames(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];

    vt_parse("{\"type\":\"ticker\",\"sequence\":333938798,\"product_id\":"
          "\"BAND-GBP\",\"price\":\"14.7775\",\"open_24h\":\"14.6647\","
          "\"volume_24h\":\"94381.28000000\",\"low_24h\":\"14.3691\","
          "\"high_24h\":\"16.55\",\"volume_30d\":\"2295579.57000000\","
          "\"best_bid\":\"14.7550\",\"best_ask\":\"14.8060\",\"side\":\"buy\","
          "\"time\":\"2021-04-17T16:43:30.244075Z\",\"trade_id\":881613,"
          "\"last_size\":\"0.04\"}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_STR(vt.out.what, "ticker");
    CHECK_INT(vt.out.n, 1);
    CHECK_STR(t->exchange, "coinbase");
    CHECK_INT(t->kind, CS_TICK_TICKER);
    CHECK(vt_text_is(t->raw_symbol, "BAND-GBP"));
    CHECK(vt_text_is(t->price_text, "14.7775"));
    CHECK_INT(t->price.mant, 147775);
    CHECK_INT(t->price.exp, -4);
    CHECK(vt_text_is(t->bid_text, "14.7550"));
    CHECK(vt_text_is(t->ask_text, "14.8060"));
    CHECK_INT(t->ask.mant, 148060);
    CHECK(vt_text_is(t->qty_text, "0.04"));
    CHECK_INT(t->ts_ns, 1618677810244075000LL);
    CHECK(t->has_seq);
    CHECK_INT(t->seq, 333938798);
    CHECK_INT(t->seq_kind, CS_SEQ_INCREASING);
    CHECK_INT(t->recv_ns, 555);

    vt_parse("{\"type\":\"last_match\",\"trade_id\":881613,\"maker_order_id\":"
          "\"27fff20b-af29-4f45-8744-56dd1ef57dc0\",\"taker_order_id\":"
          "\"1da6ce16-c8da-4732-9f71-6049f4c6aaf8\",\"side\":\"sell\",\"size\":"
          "\"0.04\",\"price\":\"14.7775\",\"product_id\":\"BAND-GBP\","
          "\"sequence\":333938798,\"time\":\"2021-04-17T16:43:30.244075Z\"}");
    CHECK_STR(vt.out.what, "last_match");
    CHECK_INT(t->kind, CS_TICK_TRADE);
    CHECK(vt_text_is(t->price_text, "14.7775"));
    CHECK(vt_text_is(t->qty_text, "0.04"));
    CHECK_INT(t->seq, 881613);                  /* trade_id */
    CHECK_INT(t->seq_kind, CS_SEQ_CONTIGUOUS);
    CHECK_INT(t->ts_ns, 1618677810244075000LL);
    CHECK(!t->has_bid && !t->has_ask);

    vt_parse("{\"type\":\"match\",\"trade_id\":10,\"sequence\":50,\"size\":"
          "\"5.23512\",\"price\":\"400.23\",\"product_id\":\"BTC-USD\","
          "\"side\":\"sell\",\"time\":\"2014-11-07T08:19:27.028459Z\"}");
    CHECK_STR(vt.out.what, "match");
    CHECK_INT(t->seq, 10);
    CHECK_INT(t->seq_kind, CS_SEQ_CONTIGUOUS);
    CHECK_INT(t->ts_ns, 1415348367028459000LL);

    /* A ticker without sequence is still a tick, just without seq. */
    vt_parse("{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"1\","
          "\"time\":\"2021-04-17T16:43:30Z\"}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK(!t->has_seq && !t->has_bid && !t->has_qty);
    CHECK_INT(t->seq_kind, CS_SEQ_NONE);
    /* A match without trade_id likewise; a bad one is refused. */
    vt_parse("{\"type\":\"match\",\"sequence\":50,\"size\":\"1\",\"price\":"
          "\"2\",\"product_id\":\"BTC-USD\",\"time\":\"2014-11-07T08:19:27Z\"}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK(!t->has_seq);
    CHECK_INT(t->seq_kind, CS_SEQ_NONE);
    EXPECT("{\"type\":\"match\",\"trade_id\":\"x\",\"size\":\"1\",\"price\":"
           "\"2\",\"product_id\":\"BTC-USD\",\"time\":\"2014-11-07T08:19:27Z\"}",
           CS_FRAME_MALFORMED, "match: bad trade_id");
}

static void test_advanced_frames(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];

    vt_parse("{\"channel\":\"ticker\",\"timestamp\":"
          "\"2026-08-09T21:05:48.229198328Z\",\"sequence_num\":6,\"events\":"
          "[{\"type\":\"snapshot\",\"tickers\":[{\"type\":\"ticker\","
          "\"product_id\":\"BTC-USD\",\"price\":\"65086.18\",\"volume_24_h\":"
          "\"2867.54532609\",\"low_24_h\":\"64675.22\",\"high_24_h\":"
          "\"65252.99\",\"low_52_w\":\"57717.55\",\"high_52_w\":\"126296\","
          "\"price_percent_chg_24_h\":\"0.09601107287722\",\"best_bid\":"
          "\"65083.66\",\"best_ask\":\"65083.67\",\"best_bid_quantity\":"
          "\"0.20371215\",\"best_ask_quantity\":\"0.24290402\"}]}]}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_STR(vt.out.what, "ticker");
    CHECK_INT(vt.out.n, 1);
    CHECK_INT(t->kind, CS_TICK_TICKER);
    CHECK(vt_text_is(t->raw_symbol, "BTC-USD"));
    CHECK(vt_text_is(t->price_text, "65086.18"));
    CHECK_INT(t->price.mant, 6508618);
    CHECK_INT(t->price.exp, -2);
    CHECK(vt_text_is(t->bid_text, "65083.66"));
    CHECK(vt_text_is(t->ask_text, "65083.67"));
    CHECK(!t->has_qty);
    CHECK_INT(t->ts_ns, 1786309548229198328LL);
    CHECK(t->has_seq);
    CHECK_INT(t->seq, 6);
    CHECK_INT(t->seq_kind, CS_SEQ_NONE);

    vt_parse("{\"channel\":\"market_trades\",\"timestamp\":"
          "\"2026-08-09T21:05:48.251397169Z\",\"sequence_num\":9,\"events\":"
          "[{\"type\":\"update\",\"trades\":[{\"product_id\":\"BTC-USD\","
          "\"trade_id\":\"1068572091\",\"price\":\"65083.67\",\"size\":"
          "\"0.01034361\",\"time\":\"2026-08-09T21:05:48.167634Z\",\"side\":"
          "\"SELL\"}]}]}");
    CHECK_STR(vt.out.what, "market_trades");
    CHECK_INT(vt.out.n, 1);
    CHECK_INT(t->kind, CS_TICK_TRADE);
    CHECK(vt_text_is(t->price_text, "65083.67"));
    CHECK(vt_text_is(t->qty_text, "0.01034361"));
    CHECK_INT(t->qty.mant, 1034361);
    CHECK_INT(t->qty.exp, -8);
    CHECK_INT(t->ts_ns, 1786309548167634000LL);
    CHECK_INT(t->seq, 1068572091);
    CHECK_INT(t->seq_kind, CS_SEQ_INCREASING);

    /* Two trades newest first, with 5- and 4-digit fractions: emitted
     * oldest first. A trade_id that is not a number is just not a seq. */
    vt_parse("{\"channel\":\"market_trades\",\"timestamp\":"
          "\"2026-08-09T21:05:48.2Z\",\"sequence_num\":1,\"events\":[{\"type\":"
          "\"snapshot\",\"trades\":[{\"product_id\":\"BTC-USD\",\"trade_id\":"
          "\"abc-1\",\"price\":\"65083.66\",\"size\":\"0.00007299\",\"time\":"
          "\"2026-08-09T21:05:38.50436Z\",\"side\":\"BUY\"},{\"product_id\":"
          "\"BTC-USD\",\"trade_id\":\"1068572080\",\"price\":\"65083.66\","
          "\"size\":\"0.1\",\"time\":\"2026-08-09T21:05:33.2248Z\",\"side\":"
          "\"BUY\"}]}]}");
    CHECK_INT(vt.out.n, 2);
    CHECK_INT(vt.out.ticks[0].ts_ns, 1786309533224800000LL);
    CHECK_INT(vt.out.ticks[0].seq, 1068572080);
    CHECK_INT(vt.out.ticks[1].ts_ns, 1786309538504360000LL);
    CHECK(!vt.out.ticks[1].has_seq);
    CHECK_INT(vt.out.ticks[1].seq_kind, CS_SEQ_NONE);

    /* Several events and tickers in one frame share the envelope. */
    vt_parse("{\"channel\":\"ticker_batch\",\"timestamp\":\"2026-08-09T21:05:48Z\","
          "\"sequence_num\":77,\"events\":[{\"type\":\"update\",\"tickers\":["
          "{\"product_id\":\"BTC-USD\",\"price\":\"1\"},{\"product_id\":"
          "\"ETH-USD\",\"price\":\"2\",\"best_bid\":\"\",\"best_ask\":\"0\"}]},"
          "{\"type\":\"update\",\"tickers\":[{\"product_id\":\"SOL-USD\","
          "\"price\":\"3\"}]}]}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_INT(vt.out.n, 3);
    CHECK(vt_text_is(vt.out.ticks[2].raw_symbol, "SOL-USD"));
    CHECK_INT(vt.out.ticks[2].seq, 77);
    CHECK_INT(vt.out.ticks[2].ts_ns, 1786309548LL * SEC);
    CHECK(!vt.out.ticks[1].has_bid && !vt.out.ticks[1].has_ask);

    EXPECT("{\"channel\":\"ticker\",\"timestamp\":\"2026-08-09T21:05:48Z\","
           "\"sequence_num\":1,\"events\":[]}", CS_FRAME_DATA, "ticker");
    CHECK_INT(vt.out.n, 0);
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
    vt_parse_n(buf, pos);
    CHECK_INT(vt.out.cls, CS_FRAME_IGNORED);
    CHECK_STR(vt.out.what, "l2_data");
    vt_parse_n(buf, pos - 1);
    CHECK_INT(vt.out.cls, CS_FRAME_MALFORMED);
    CHECK_STR(vt.out.what, "truncated JSON");

    pos = (size_t)snprintf(buf, cap, "{\"type\":\"snapshot\",\"product_id\":"
                           "\"BTC-USD\",\"bids\":[");
    for (int i = 0; i < levels; i++) {
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s[\"%d.01\",\"0.5\"]",
                                i ? "," : "", i + 1);
    }
    pos += (size_t)snprintf(buf + pos, cap - pos, "],\"asks\":[]}");
    vt_parse_n(buf, pos);
    CHECK_INT(vt.out.cls, CS_FRAME_IGNORED);
    CHECK_STR(vt.out.what, "snapshot");

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
    vt_parse_n(buf, pos);
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_INT(vt.out.n, CS_VENUE_MAX_TICKS);
    CHECK_INT(vt.out.dropped, 44);
    CHECK_INT(vt.out.ticks[0].seq, 745);
    CHECK_INT(vt.out.ticks[255].seq, 1000);

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
    vt_parse_n(buf, pos);
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_INT(vt.out.n, CS_VENUE_MAX_TICKS);
    CHECK_INT(vt.out.dropped, 1600 - CS_VENUE_MAX_TICKS);
    free(buf);
}

/* ---- hostile and malformed input ---- */

static void test_malformed_fields(void)
{
    static const struct vt_case cases[] = {
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

    vt_expect_malformed(cases, sizeof cases / sizeof cases[0], __LINE__);
}

static void test_hostile_bytes(void)
{
    vt_check_hostile("{\"channel\":\"ticker\",\"timestamp\":"
                     "\"2026-08-09T21:05:48.229198328Z\",\"sequence_num\":6,"
                     "\"events\":[{\"type\":\"snapshot\",\"tickers\":[{"
                     "\"type\":\"ticker\",\"product_id\":\"BTC-USD\","
                     "\"price\":\"65086.18\",\"best_bid\":\"65083.66\","
                     "\"best_ask\":\"65083.67\"}]}]}");
    EXPECT("{\"type\":\"ticker\"", CS_FRAME_MALFORMED, "truncated JSON");
    EXPECT("{\"type\":\"ticker\"}x", CS_FRAME_MALFORMED, "not JSON");
}

static void test_mutations(void)
{
    static const char *const files[] = {
        "exchanges/coinbase/advanced_trade_ws_2026-08-09_part1.jsonl",
        "exchanges/coinbase/exchange_ws_feed_2021-04-17_A.jsonl",
    };

    vt_check_mutations(files, 2, 0xbb67ae8584caa73bULL, 6000);
}

/* ---- connection gaps (Advanced Trade sequence_num) ---- */

static void at_frame(const char *channel, long long seq)
{
    char frame[256];

    snprintf(frame, sizeof frame, "{\"channel\":\"%s\",\"timestamp\":"
             "\"2026-08-09T21:05:48Z\",\"sequence_num\":%lld,\"events\":[]}",
             channel, seq);
    vt_parse(frame);
}

static void test_connection_gaps(void)
{
    vt_new_scratch();
    at_frame("ticker", 5);                  /* first: just recorded */
    CHECK(!vt.out.connection_gap);
    at_frame("heartbeats", 6);
    CHECK(!vt.out.connection_gap);
    CHECK_INT(vt.out.cls, CS_FRAME_CONTROL);
    at_frame("l2_data", 9);                 /* 7 and 8 lost */
    CHECK(vt.out.connection_gap);
    CHECK_INT(vt.out.gap_expected, 7);
    CHECK_INT(vt.out.gap_got, 9);
    CHECK_INT(vt.out.cls, CS_FRAME_IGNORED);
    at_frame("market_trades", 10);          /* the flag is per frame */
    CHECK(!vt.out.connection_gap);
    CHECK_INT(vt.out.gap_expected, 0);
    at_frame("ticker", 10);                 /* a repeat is a gap too */
    CHECK(vt.out.connection_gap);
    CHECK_INT(vt.out.gap_expected, 11);
    CHECK_INT(vt.out.gap_got, 10);
    at_frame("newthing", 11);               /* unknown channels count */
    CHECK(!vt.out.connection_gap);
    CHECK_INT(vt.out.cls, CS_FRAME_UNKNOWN);
    /* A malformed ticker still took its number. */
    vt_parse("{\"channel\":\"ticker\",\"sequence_num\":12,\"events\":[]}");
    CHECK_INT(vt.out.cls, CS_FRAME_MALFORMED);
    CHECK(!vt.out.connection_gap);
    at_frame("ticker", 13);
    CHECK(!vt.out.connection_gap);
    /* No number, or not a number: nothing to check or record. */
    vt_parse("{\"channel\":\"subscriptions\",\"events\":[]}");
    CHECK(!vt.out.connection_gap);
    vt_parse("{\"channel\":\"heartbeats\",\"sequence_num\":\"20\","
             "\"events\":[]}");
    CHECK(!vt.out.connection_gap);
    at_frame("ticker", 14);
    CHECK(!vt.out.connection_gap);
    /* Exchange ws-feed frames have no connection sequence. */
    EXPECT("{\"type\":\"heartbeat\",\"sequence\":90,\"last_trade_id\":20,"
           "\"product_id\":\"BTC-USD\",\"time\":\"2014-11-07T08:19:28Z\"}",
           CS_FRAME_CONTROL, "heartbeat");
    CHECK(!vt.out.connection_gap);
    at_frame("ticker", 15);
    CHECK(!vt.out.connection_gap);
    /* A new connection (scratch) starts again at 0 without a gap. */
    vt_new_scratch();
    at_frame("subscriptions", 0);
    CHECK(!vt.out.connection_gap);
    at_frame("ticker", 1);
    CHECK(!vt.out.connection_gap);
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

/* ---- wire ---- */

static void test_wire(void)
{
    static const char *const products[] = { "BTC-USD", "ETH-USD" };
    static const char *const recorded[] = { "market_trades", "candles",
                                            "ticker", "level2", "heartbeats" };
    static const char *const ticker[] = { "ticker" };
    const struct cs_venue_wire *w = cb->wire;
    uint64_t id = 0;

    vt_check_wire();
    CHECK_STR(w->ws_url, "wss://advanced-trade-ws.coinbase.com");
    CHECK_INT(w->idle_timeout_ms, 30000);
    CHECK_INT(w->ping_interval_ms, 0);
    CHECK_INT(w->max_client_msgs_per_s, 4);
    CHECK_INT(w->max_lifetime_ms, 0);
    CHECK(vt_in_list(w->default_channels, "ticker")
          && vt_in_list(w->default_channels, "heartbeats"));
    CHECK(vt_in_list(w->all_channels, "market_trades"));

    /* The recorded connection's five subscribe frames, byte for byte. */
    CHECK_INT(vt_build(products, 2, recorded, 5, false, &id), 5);
    vt_check_sent_file("exchanges/coinbase/"
                       "advanced_trade_ws_2026-08-09_part1.client_sent.jsonl",
                       0, 5, __LINE__);
    CHECK_INT(id, 0);                       /* no request ids */

    /* heartbeats is always subscribed; unsubscribing leaves it alone. */
    CHECK_INT(vt_build(products, 1, ticker, 1, false, &id), 2);
    CHECK_STR(vt_sent.text[0], "{\"type\":\"subscribe\",\"product_ids\":"
              "[\"BTC-USD\"],\"channel\":\"ticker\"}");
    CHECK_STR(vt_sent.text[1], "{\"type\":\"subscribe\",\"product_ids\":"
              "[\"BTC-USD\"],\"channel\":\"heartbeats\"}");
    CHECK_INT(vt_build(products, 2, ticker, 1, true, &id), 1);
    CHECK_STR(vt_sent.text[0], "{\"type\":\"unsubscribe\",\"product_ids\":"
              "[\"BTC-USD\",\"ETH-USD\"],\"channel\":\"ticker\"}");

    SYMBOL("BTC", "USD", "BTC-USD");
    SYMBOL("ETH", "USDC", "ETH-USDC");
}

int main(void)
{
    vt_setup(cb, 555, false);
    test_advanced_trade_recording();
    test_exchange_feed_recording();
    test_exchange_trade_ids();
    test_exchange_frames();
    test_advanced_frames();
    test_control_and_ignored();
    test_huge_frames();
    test_malformed_fields();
    test_hostile_bytes();
    test_mutations();
    test_connection_gaps();
    test_split();
    test_wire();
    return vt_finish("test_venue_coinbase");
}
