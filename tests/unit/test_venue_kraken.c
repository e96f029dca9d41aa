/* The Kraken WebSocket v2 venue parser against the documentation-derived
 * fixture and frames written from the documented shapes, hostile input
 * and a mutation loop; "BTC/USD" splitting and the wire layer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/venue.h"
#include "testlib.h"
#include "venue_testlib.h"

#define US (1000LL)

static const struct cs_venue_ops *kr = &cs_venue_kraken;

static const char *const fixture = "exchanges/kraken/ws_v2_doc_derived.jsonl";

/* ---- fixture ---- */

static void test_fixture(void)
{
    struct vt_tally ty;

    vt_tally_file(fixture, &ty, NULL);
    CHECK_INT(ty.lines, 4);
    CHECK_INT(ty.cls[CS_FRAME_DATA], 1);
    CHECK_INT(ty.cls[CS_FRAME_CONTROL], 3);
    CHECK_INT(ty.cls[CS_FRAME_IGNORED], 0);
    CHECK_INT(ty.cls[CS_FRAME_UNKNOWN], 0);
    CHECK_INT(ty.cls[CS_FRAME_MALFORMED], 0);
    CHECK_INT(vt_what(&ty, "ticker"), 1);
    CHECK_INT(vt_what(&ty, "subscribe"), 1);
    CHECK_INT(vt_what(&ty, "pong"), 1);
    CHECK_INT(vt_what(&ty, "heartbeat"), 1);
    CHECK_INT(ty.kinds[CS_TICK_TICKER], 1);
    CHECK_INT(ty.kinds[CS_TICK_TRADE], 0);
    CHECK_INT(ty.seq_kinds[CS_SEQ_NONE], 1);
    CHECK_INT(ty.gaps, 0);
    CHECK_INT(ty.insane, 0);
}

/* ---- frames, field by field ---- */

static void test_ticker(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];
    struct vt_lines l;

    vt_lines_load(&l, fixture);
    vt_parse_n(l.line[0], l.len[0]);
    vt_lines_free(&l);
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_STR(vt.out.what, "ticker");
    CHECK_INT(vt.out.n, 1);
    CHECK_STR(t->exchange, "kraken");
    CHECK_INT(t->kind, CS_TICK_TICKER);
    CHECK(vt_text_is(t->raw_symbol, "BTC/USD"));
    /* JSON numbers keep their literal text, trailing zeros included. */
    CHECK(vt_text_is(t->price_text, "105899.40"));
    CHECK_INT(t->price.mant, 10589940);
    CHECK_INT(t->price.exp, -2);
    CHECK(vt_text_is(t->bid_text, "105944.20"));
    CHECK_INT(t->bid.mant, 10594420);
    CHECK(vt_text_is(t->ask_text, "105944.30"));
    CHECK_INT(t->ask.exp, -2);
    CHECK(t->has_price && t->has_bid && t->has_ask);
    CHECK(!t->has_qty && !t->has_seq);
    CHECK_INT(t->seq_kind, CS_SEQ_NONE);
    CHECK_INT(t->ts_ns, 1671960659123456LL * US);   /* 2022-12-25T09:30:59 */
    CHECK_INT(t->recv_ns, 333);

    /* Older frames have no timestamp: time 0. An update is the same. */
    vt_parse("{\"channel\":\"ticker\",\"type\":\"update\",\"data\":[{\"symbol\":"
             "\"ETH/USD\",\"bid\":2500.1,\"bid_qty\":1,\"ask\":2500.2,"
             "\"ask_qty\":2,\"last\":2500.15,\"volume\":10,\"vwap\":2490,"
             "\"low\":2400,\"high\":2600,\"change\":5,\"change_pct\":0.2}]}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_INT(t->ts_ns, 0);
    CHECK(vt_text_is(t->price_text, "2500.15"));
    CHECK(vt_text_is(t->raw_symbol, "ETH/USD"));

    /* Exponents are exact too; a zero bid is an empty side. */
    vt_parse("{\"channel\":\"ticker\",\"type\":\"update\",\"data\":[{\"symbol\":"
             "\"SHIB/USD\",\"bid\":0,\"ask\":1.3E-5,\"last\":1.25e-5}]}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK(vt_text_is(t->price_text, "1.25e-5"));
    CHECK_INT(t->price.mant, 125);
    CHECK_INT(t->price.exp, -7);
    CHECK(!t->has_bid && t->bid_text.len == 0);
    CHECK(vt_text_is(t->ask_text, "1.3E-5"));

    /* A snapshot of several pairs: one tick each, in order. */
    vt_parse("{\"channel\":\"ticker\",\"type\":\"snapshot\",\"data\":["
             "{\"symbol\":\"BTC/USD\",\"last\":1.5},{\"symbol\":\"ETH/USD\","
             "\"last\":2.5},{\"symbol\":\"SOL/USD\",\"last\":3.5}]}");
    CHECK_INT(vt.out.n, 3);
    CHECK(vt_text_is(vt.out.ticks[2].raw_symbol, "SOL/USD"));
    CHECK(vt_text_is(vt.out.ticks[1].price_text, "2.5"));
    EXPECT("{\"channel\":\"ticker\",\"type\":\"update\",\"data\":[]}",
           CS_FRAME_DATA, "ticker");
    CHECK_INT(vt.out.n, 0);
}

static void test_trade(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];

    vt_parse("{\"channel\":\"trade\",\"type\":\"update\",\"data\":[{\"symbol\":"
             "\"MATIC/USD\",\"side\":\"sell\",\"price\":0.5117,\"qty\":40.0,"
             "\"ord_type\":\"market\",\"trade_id\":4665906,\"timestamp\":"
             "\"2023-09-25T07:49:37.708706Z\"},{\"symbol\":\"MATIC/USD\","
             "\"side\":\"buy\",\"price\":0.5118,\"qty\":0.00001000,"
             "\"ord_type\":\"limit\",\"trade_id\":4665907,\"timestamp\":"
             "\"2023-09-25T07:49:37.708707Z\"}]}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_STR(vt.out.what, "trade");
    CHECK_INT(vt.out.n, 2);
    CHECK_INT(t->kind, CS_TICK_TRADE);
    CHECK(vt_text_is(t->raw_symbol, "MATIC/USD"));
    CHECK(vt_text_is(t->price_text, "0.5117"));
    CHECK_INT(t->price.mant, 5117);
    CHECK_INT(t->price.exp, -4);
    CHECK(vt_text_is(t->qty_text, "40.0"));
    CHECK_INT(t->qty.mant, 400);
    CHECK(t->has_seq);
    CHECK_INT(t->seq, 4665906);
    CHECK_INT(t->seq_kind, CS_SEQ_INCREASING);
    CHECK_INT(t->ts_ns, 1695628177708706LL * US);
    CHECK(!t->has_bid && !t->has_ask);
    CHECK(vt_text_is(vt.out.ticks[1].qty_text, "0.00001000"));
    CHECK_INT(vt.out.ticks[1].seq, 4665907);

    /* Without trade_id: no seq, no promise. */
    vt_parse("{\"channel\":\"trade\",\"type\":\"snapshot\",\"data\":[{\"symbol\":"
             "\"BTC/USD\",\"price\":1,\"qty\":0,\"timestamp\":"
             "\"2023-09-25T07:49:37Z\"}]}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK(!t->has_seq);
    CHECK_INT(t->seq_kind, CS_SEQ_NONE);
    CHECK(t->has_qty && t->qty.mant == 0);
}

static void test_control_and_ignored(void)
{
    EXPECT("{\"channel\":\"status\",\"type\":\"update\",\"data\":[{"
           "\"api_version\":\"v2\",\"connection_id\":12393906104898154338,"
           "\"system\":\"online\",\"version\":\"2.0.0\"}]}", CS_FRAME_CONTROL,
           "status");
    EXPECT("{\"channel\":\"heartbeat\"}", CS_FRAME_CONTROL, "heartbeat");
    EXPECT("{\"method\":\"unsubscribe\",\"result\":{\"channel\":\"ticker\","
           "\"symbol\":\"BTC/USD\"},\"success\":true,\"req_id\":2}",
           CS_FRAME_CONTROL, "unsubscribe");
    EXPECT("{\"method\":\"subscribe\",\"error\":\"Currency pair not supported "
           "XYZ/USD\",\"success\":false,\"req_id\":3}", CS_FRAME_CONTROL,
           "request error");
    EXPECT("{\"error\":\"Malformed request\",\"success\":false}",
           CS_FRAME_CONTROL, "request error");
    EXPECT("{\"method\":\"frobnicate\",\"success\":true}", CS_FRAME_UNKNOWN,
           "unknown method");
    EXPECT("{\"channel\":\"book\",\"type\":\"snapshot\",\"data\":[{\"symbol\":"
           "\"BTC/USD\",\"bids\":[{\"price\":1,\"qty\":2}],\"asks\":[],"
           "\"checksum\":123}]}", CS_FRAME_IGNORED, "book");
    EXPECT("{\"channel\":\"ohlc\",\"data\":[]}", CS_FRAME_IGNORED, "ohlc");
    EXPECT("{\"channel\":\"instrument\",\"data\":{}}", CS_FRAME_IGNORED,
           "instrument");
    EXPECT("{\"channel\":\"newthing\"}", CS_FRAME_UNKNOWN, "unknown channel");
    EXPECT("{\"foo\":1}", CS_FRAME_UNKNOWN,
           "object without channel or method");
    EXPECT("[{\"channel\":\"ticker\"}]", CS_FRAME_UNKNOWN,
           "unexpected JSON value");
    EXPECT("pong", CS_FRAME_CONTROL, "text ping/pong");
}

/* A snapshot too big for the frame's token area is walked element by
 * element; one too big even for that is refused. */
static void test_huge_frames(void)
{
    size_t cap = 4u << 20, pos;
    char *buf = malloc(cap);

    for (int round = 0; round < 2; round++) {
        int n = round == 0 ? 2000 : 20000;

        pos = (size_t)snprintf(buf, cap, "{\"channel\":\"ticker\",\"type\":"
                               "\"snapshot\",\"data\":[");
        for (int i = 0; i < n; i++) {
            pos += (size_t)snprintf(buf + pos, cap - pos,
                                    "%s{\"symbol\":\"S%d/USD\",\"bid\":1.1,"
                                    "\"ask\":1.3,\"last\":%d.5,\"volume\":9,"
                                    "\"vwap\":1.2}", i ? "," : "", i, i + 1);
        }
        pos += (size_t)snprintf(buf + pos, cap - pos, "]}");
        vt_parse_n(buf, pos);
        if (round == 0) {
            CHECK_INT(vt.out.cls, CS_FRAME_DATA);
            CHECK_INT(vt.out.n, CS_VENUE_MAX_TICKS);
            CHECK_INT(vt.out.dropped, 2000 - CS_VENUE_MAX_TICKS);
            CHECK(vt_text_is(vt.out.ticks[255].raw_symbol, "S255/USD"));
            CHECK(vt_text_is(vt.out.ticks[255].price_text, "256.5"));
        } else {
            CHECK_INT(vt.out.cls, CS_FRAME_MALFORMED);
            CHECK_STR(vt.out.what, "too many JSON tokens");
        }
    }
    free(buf);
}

static void test_malformed_fields(void)
{
    static const struct vt_case cases[] = {
        { "{\"channel\":\"ticker\",\"data\":[{\"symbol\":\"BTC/USD\",\"bid\":1}]}",
          "ticker: missing last" },
        { "{\"channel\":\"ticker\",\"data\":[{\"symbol\":\"BTC/USD\","
          "\"last\":0}]}", "ticker: bad last" },
        { "{\"channel\":\"ticker\",\"data\":[{\"symbol\":\"BTC/USD\","
          "\"last\":-1.5}]}", "ticker: bad last" },
        { "{\"channel\":\"ticker\",\"data\":[{\"symbol\":\"BTC/USD\","
          "\"last\":\"abc\"}]}", "ticker: bad last" },
        { "{\"channel\":\"ticker\",\"data\":[{\"symbol\":\"BTC/USD\","
          "\"last\":1e400}]}", "ticker: bad last" },
        { "{\"channel\":\"ticker\",\"data\":[{\"symbol\":\"BTC/USD\","
          "\"last\":true}]}", "ticker: bad last" },
        { "{\"channel\":\"ticker\",\"data\":[{\"symbol\":\"BTC/USD\","
          "\"last\":1,\"bid\":-1}]}", "ticker: bad bid" },
        { "{\"channel\":\"ticker\",\"data\":[{\"symbol\":\"BTC/USD\","
          "\"last\":1,\"ask\":[]}]}", "ticker: bad ask" },
        { "{\"channel\":\"ticker\",\"data\":[{\"symbol\":\"BTC/USD\","
          "\"last\":1,\"timestamp\":\"soon\"}]}", "ticker: bad timestamp" },
        { "{\"channel\":\"ticker\",\"data\":[{\"symbol\":\"BTC/USD\","
          "\"last\":1,\"timestamp\":1671960659}]}", "ticker: bad timestamp" },
        { "{\"channel\":\"ticker\",\"data\":[{\"last\":1}]}",
          "ticker: missing symbol" },
        { "{\"channel\":\"ticker\",\"data\":[{\"symbol\":\"BTC USD\","
          "\"last\":1}]}", "ticker: bad symbol" },
        { "{\"channel\":\"ticker\",\"data\":[{\"symbol\":7,\"last\":1}]}",
          "ticker: bad symbol" },
        { "{\"channel\":\"ticker\",\"data\":[7]}", "ticker: not an object" },
        { "{\"channel\":\"ticker\",\"data\":{}}", "ticker: bad data" },
        { "{\"channel\":\"ticker\"}", "ticker: bad data" },
        { "{\"channel\":\"trade\",\"data\":[{\"symbol\":\"BTC/USD\",\"price\":1,"
          "\"timestamp\":\"2023-09-25T07:49:37Z\"}]}", "trade: missing qty" },
        { "{\"channel\":\"trade\",\"data\":[{\"symbol\":\"BTC/USD\",\"price\":1,"
          "\"qty\":-2,\"timestamp\":\"2023-09-25T07:49:37Z\"}]}",
          "trade: bad qty" },
        { "{\"channel\":\"trade\",\"data\":[{\"symbol\":\"BTC/USD\",\"qty\":1,"
          "\"timestamp\":\"2023-09-25T07:49:37Z\"}]}", "trade: missing price" },
        { "{\"channel\":\"trade\",\"data\":[{\"symbol\":\"BTC/USD\",\"price\":1,"
          "\"qty\":1}]}", "trade: missing timestamp" },
        { "{\"channel\":\"trade\",\"data\":[{\"symbol\":\"BTC/USD\",\"price\":1,"
          "\"qty\":1,\"trade_id\":-3,\"timestamp\":\"2023-09-25T07:49:37Z\"}]}",
          "trade: bad trade_id" },
        { "{\"channel\":\"trade\",\"data\":[{\"symbol\":\"BTC/USD\",\"price\":1,"
          "\"qty\":1,\"trade_id\":\"7\",\"timestamp\":\"2023-09-25T07:49:37Z\"}]}",
          "trade: bad trade_id" },
        { "{\"channel\":\"trade\",\"data\":[{\"symbol\":\"BTC/USD\",\"price\":1,"
          "\"qty\":1,\"trade_id\":1.5,\"timestamp\":\"2023-09-25T07:49:37Z\"}]}",
          "trade: bad trade_id" },
        /* One bad element rejects the frame. */
        { "{\"channel\":\"trade\",\"data\":[{\"symbol\":\"BTC/USD\",\"price\":1,"
          "\"qty\":1,\"timestamp\":\"2023-09-25T07:49:37Z\"},{\"symbol\":"
          "\"BTC/USD\",\"price\":0,\"qty\":1,\"timestamp\":"
          "\"2023-09-25T07:49:37Z\"}]}", "trade: bad price" },
        { "{\"channel\":5}", "bad channel" },
        { "{\"method\":null}", "bad method" },
    };

    vt_expect_malformed(cases, sizeof cases / sizeof cases[0], __LINE__);
}

static void test_hostile_and_mutations(void)
{
    static const char *const files[] = { fixture };

    vt_check_hostile("{\"channel\":\"ticker\",\"type\":\"snapshot\",\"data\":"
                     "[{\"symbol\":\"BTC/USD\",\"bid\":105944.20,\"ask\":"
                     "105944.30,\"last\":105899.40,\"timestamp\":"
                     "\"2022-12-25T09:30:59.123456Z\"}]}");
    vt_check_mutations(files, 1, 0x3c6ef372fe94f82bULL, 6000);
}

/* ---- symbols and wire ---- */

static void test_symbols(void)
{
    char b[16], q[16];

    SYMBOL("BTC", "USD", "BTC/USD");
    SYMBOL("ETH", "EUR", "ETH/EUR");
    CHECK(kr->split_symbol("xbt/usd", 7, b, sizeof b, q, sizeof q));
    CHECK_STR(b, "XBT");
    CHECK_STR(q, "USD");
    CHECK(!kr->split_symbol("BTCUSD", 6, b, sizeof b, q, sizeof q));
    CHECK(!kr->split_symbol("BTC-USD", 7, b, sizeof b, q, sizeof q));
    CHECK(!kr->split_symbol("A/B/C", 5, b, sizeof b, q, sizeof q));
    CHECK(!kr->split_symbol("/USD", 4, b, sizeof b, q, sizeof q));
    CHECK(!kr->split_symbol("BTC/", 4, b, sizeof b, q, sizeof q));
    CHECK(!kr->split_symbol(NULL, 0, b, sizeof b, q, sizeof q));
    CHECK(kr->split_symbol("BTC/USD/X", 7, b, sizeof b, q, sizeof q));
}

static void test_wire(void)
{
    static const char *const pairs[] = { "BTC/USD", "ETH/USD" };
    static const char *const both[] = { "ticker", "trade" };
    const struct cs_venue_wire *w = kr->wire;
    uint64_t id = 0;
    char ping[64];

    vt_check_wire();
    CHECK_STR(w->ws_url, "wss://ws.kraken.com/v2");
    CHECK_INT(w->idle_timeout_ms, 15000);
    CHECK_INT(w->ping_interval_ms, 0);
    CHECK_STR(w->default_channels[0], "ticker");
    CHECK(vt_in_list(w->all_channels, "trade"));

    CHECK_INT(vt_build(pairs, 1, both, 1, false, &id), 1);
    CHECK_STR(vt_sent.text[0], "{\"method\":\"subscribe\",\"params\":{"
              "\"channel\":\"ticker\",\"symbol\":[\"BTC/USD\"]},\"req_id\":1}");
    CHECK_INT(vt_build(pairs, 2, both, 2, true, &id), 2);
    CHECK_STR(vt_sent.text[1], "{\"method\":\"unsubscribe\",\"params\":{"
              "\"channel\":\"trade\",\"symbol\":[\"BTC/USD\",\"ETH/USD\"]},"
              "\"req_id\":3}");
    CHECK_INT(id, 3);

    /* The fixture's pong answers req_id 42. */
    id = 41;
    CHECK_INT(kr->build_ping(&id, ping, sizeof ping), 29);
    CHECK_STR(ping, "{\"method\":\"ping\",\"req_id\":42}");
    CHECK_INT(id, 42);
    CHECK_INT(kr->build_ping(&id, ping, 29), 0);
    CHECK_INT(id, 42);
}

int main(void)
{
    vt_setup(kr, 333, false);
    test_fixture();
    test_ticker();
    test_trade();
    test_control_and_ignored();
    test_huge_frames();
    test_malformed_fields();
    test_hostile_and_mutations();
    test_symbols();
    test_wire();
    return vt_finish("test_venue_kraken");
}
