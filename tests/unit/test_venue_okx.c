/* The OKX v5 venue parser against the 2022 recording (tickers, trades,
 * subscribe acks), event replies including the 64008 shutdown notice,
 * hostile input and a mutation loop; instrument-id splitting and the wire
 * layer (subscribe frames as recorded, text ping). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/venue.h"
#include "testlib.h"
#include "venue_testlib.h"

#define MS (1000000LL)

static const struct cs_venue_ops *ok = &cs_venue_okx;

static const char *const recording =
    "exchanges/okx/ws_v5_public_2022-05-13.jsonl";

/* ---- recording ---- */

/* The tick's instId is the push's arg.instId; times are from May 2022;
 * trades carry tradeId. */
static bool recorded_tick_ok(const struct cs_tick *t, const char *line)
{
    const char *key = "\"instId\":\"";
    const char *at = strstr(line, key);
    size_t k = strlen(key);

    return at != NULL && strncmp(at + k, t->raw_symbol.ptr,
                                 t->raw_symbol.len) == 0
           && at[k + t->raw_symbol.len] == '"'
           && t->ts_ns > 1652400000000LL * MS
           && t->ts_ns < 1652500000000LL * MS
           && (t->kind == CS_TICK_TRADE
               ? t->has_seq && t->seq_kind == CS_SEQ_INCREASING
               : !t->has_seq && t->has_bid && t->has_ask && t->has_qty);
}

static void test_recording(void)
{
    struct vt_tally ty;

    vt_tally_file(recording, &ty, recorded_tick_ok);
    CHECK_INT(ty.lines, 117);
    CHECK_INT(ty.cls[CS_FRAME_DATA], 102);
    CHECK_INT(ty.cls[CS_FRAME_CONTROL], 15);
    CHECK_INT(ty.cls[CS_FRAME_IGNORED], 0);
    CHECK_INT(ty.cls[CS_FRAME_UNKNOWN], 0);
    CHECK_INT(ty.cls[CS_FRAME_MALFORMED], 0);
    CHECK_INT(vt_what(&ty, "tickers"), 28);
    CHECK_INT(vt_what(&ty, "trades"), 74);
    CHECK_INT(vt_what(&ty, "subscribe"), 15);
    CHECK_INT(ty.kinds[CS_TICK_TICKER], 28);
    CHECK_INT(ty.kinds[CS_TICK_TRADE], 74);
    CHECK_INT(ty.kinds[CS_TICK_QUOTE], 0);
    CHECK_INT(ty.seq_kinds[CS_SEQ_NONE], 28);
    CHECK_INT(ty.seq_kinds[CS_SEQ_INCREASING], 74);
    CHECK_INT(ty.dropped, 0);
    CHECK_INT(ty.gaps, 0);
    CHECK_INT(ty.shutdowns, 0);
    CHECK_INT(ty.insane, 0);
    CHECK_INT(ty.bad_tick, 0);
}

/* ---- frames, field by field ---- */

static void test_recorded_frames(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];

    vt_parse("{\"arg\":{\"channel\":\"tickers\",\"instId\":\"BTC-USD-220527\"},"
             "\"data\":[{\"instType\":\"FUTURES\",\"instId\":\"BTC-USD-220527\","
             "\"last\":\"30218.8\",\"lastSz\":\"1\",\"askPx\":\"30220.1\","
             "\"askSz\":\"3\",\"bidPx\":\"30210.4\",\"bidSz\":\"4\",\"open24h\":"
             "\"29571.4\",\"high24h\":\"31003.3\",\"low24h\":\"27930.8\","
             "\"sodUtc0\":\"28935.3\",\"sodUtc8\":\"30320.5\",\"volCcy24h\":"
             "\"2620.289\",\"vol24h\":\"779573\",\"ts\":\"1652459223003\"}]}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_STR(vt.out.what, "tickers");
    CHECK_INT(vt.out.n, 1);
    CHECK_STR(t->exchange, "okx");
    CHECK_INT(t->kind, CS_TICK_TICKER);
    CHECK(vt_text_is(t->raw_symbol, "BTC-USD-220527"));
    CHECK(vt_text_is(t->price_text, "30218.8"));
    CHECK_INT(t->price.mant, 302188);
    CHECK_INT(t->price.exp, -1);
    CHECK(vt_text_is(t->bid_text, "30210.4"));
    CHECK(vt_text_is(t->ask_text, "30220.1"));
    CHECK(vt_text_is(t->qty_text, "1"));
    CHECK_INT(t->ts_ns, 1652459223003LL * MS);
    CHECK(!t->has_seq);
    CHECK_INT(t->seq_kind, CS_SEQ_NONE);
    CHECK_INT(t->recv_ns, 444);

    vt_parse("{\"arg\":{\"channel\":\"trades\",\"instId\":\"BTC-USDT\"},\"data\":"
             "[{\"instId\":\"BTC-USDT\",\"tradeId\":\"338476307\",\"px\":\"30236\","
             "\"sz\":\"0.0002\",\"side\":\"buy\",\"ts\":\"1652459224818\"}]}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_STR(vt.out.what, "trades");
    CHECK_INT(t->kind, CS_TICK_TRADE);
    CHECK(vt_text_is(t->raw_symbol, "BTC-USDT"));
    CHECK(vt_text_is(t->price_text, "30236"));
    CHECK_INT(t->price.mant, 30236);
    CHECK_INT(t->price.exp, 0);
    CHECK(vt_text_is(t->qty_text, "0.0002"));
    CHECK_INT(t->qty.mant, 2);
    CHECK_INT(t->qty.exp, -4);
    CHECK(t->has_seq);
    CHECK_INT(t->seq, 338476307);
    CHECK_INT(t->seq_kind, CS_SEQ_INCREASING);
    CHECK_INT(t->ts_ns, 1652459224818LL * MS);
    CHECK(!t->has_bid && !t->has_ask);

    /* Several trades per push; trades-all has the same shape; numbers
     * where strings are usual are accepted. */
    vt_parse("{\"arg\":{\"channel\":\"trades-all\",\"instId\":\"ETH-USDT\"},"
             "\"data\":[{\"instId\":\"ETH-USDT\",\"tradeId\":\"5\",\"px\":\"1\","
             "\"sz\":\"2\",\"ts\":\"1652459224818\"},{\"instId\":\"ETH-USDT\","
             "\"tradeId\":6,\"px\":1.5,\"sz\":\"3\",\"ts\":1652459224819}]}");
    CHECK_INT(vt.out.n, 2);
    CHECK_INT(vt.out.ticks[1].seq, 6);
    CHECK(vt_text_is(vt.out.ticks[1].price_text, "1.5"));
    CHECK_INT(vt.out.ticks[1].ts_ns, 1652459224819LL * MS);

    /* Empty book sides are absent; a ticker without lastSz has no qty. */
    vt_parse("{\"arg\":{\"channel\":\"tickers\",\"instId\":\"X-USDT\"},\"data\":"
             "[{\"instId\":\"X-USDT\",\"last\":\"0.000012\",\"askPx\":\"\","
             "\"bidPx\":\"0\",\"ts\":\"1652459224818\"}]}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK(!t->has_bid && !t->has_ask && !t->has_qty);
    CHECK_INT(t->price.mant, 12);
    CHECK_INT(t->price.exp, -6);
}

static void test_events(void)
{
    EXPECT("{\"event\":\"subscribe\",\"arg\":{\"channel\":\"tickers\",\"instId\":"
           "\"BTC-USDT\"},\"connId\":\"a4d3ae55\"}", CS_FRAME_CONTROL,
           "subscribe");
    EXPECT("{\"event\":\"unsubscribe\",\"arg\":{\"channel\":\"tickers\","
           "\"instId\":\"BTC-USDT\"}}", CS_FRAME_CONTROL, "unsubscribe");
    EXPECT("{\"event\":\"error\",\"code\":\"60018\",\"msg\":\"Wrong URL or "
           "channel:tickers,instId:XYZ-USDT doesn't exist\"}", CS_FRAME_CONTROL,
           "error");
    CHECK(!vt.out.server_shutdown);
    EXPECT("{\"event\":\"notice\",\"code\":\"64008\",\"msg\":\"The connection "
           "will soon be closed for a service upgrade.\",\"connId\":\"a4d\"}",
           CS_FRAME_CONTROL, "notice");
    CHECK(vt.out.server_shutdown);
    EXPECT("{\"event\":\"notice\",\"code\":64008}", CS_FRAME_CONTROL, "notice");
    CHECK(vt.out.server_shutdown);
    EXPECT("{\"event\":\"notice\",\"code\":\"64009\"}", CS_FRAME_CONTROL,
           "notice");
    CHECK(!vt.out.server_shutdown);
    EXPECT("{\"event\":\"error\",\"code\":\"64008\"}", CS_FRAME_CONTROL,
           "error");
    CHECK(!vt.out.server_shutdown);
    EXPECT("{\"event\":\"channel-conn-count\",\"channel\":\"tickers\","
           "\"connCount\":\"2\",\"connId\":\"abc\"}", CS_FRAME_CONTROL,
           "channel-conn-count");
    EXPECT("{\"event\":\"login\",\"code\":\"0\"}", CS_FRAME_CONTROL, "login");
    EXPECT("{\"event\":\"surprise\"}", CS_FRAME_UNKNOWN, "unknown event");
    EXPECT("pong", CS_FRAME_CONTROL, "text ping/pong");
    CHECK(!vt.out.server_shutdown);
    EXPECT("{\"arg\":{\"channel\":\"books\",\"instId\":\"BTC-USDT\"},\"action\":"
           "\"snapshot\",\"data\":[{\"asks\":[[\"1\",\"2\",\"0\",\"1\"]],"
           "\"bids\":[],\"ts\":\"1\"}]}", CS_FRAME_IGNORED, "books");
    EXPECT("{\"arg\":{\"channel\":\"books-l2-tbt\",\"instId\":\"BTC-USDT\"},"
           "\"data\":[]}", CS_FRAME_IGNORED, "books");
    EXPECT("{\"arg\":{\"channel\":\"candle1m\",\"instId\":\"BTC-USDT\"},"
           "\"data\":[[\"1\",\"2\"]]}", CS_FRAME_IGNORED, "candle");
    EXPECT("{\"arg\":{\"channel\":\"mystery\"},\"data\":[]}", CS_FRAME_UNKNOWN,
           "unknown channel");
    EXPECT("{\"arg\":{\"channel\":\"tickers\",\"instId\":\"BTC-USDT\"},"
           "\"data\":[]}", CS_FRAME_DATA, "tickers");
    CHECK_INT(vt.out.n, 0);
    EXPECT("{\"id\":\"1\"}", CS_FRAME_UNKNOWN, "object without event or arg");
    EXPECT("[]", CS_FRAME_UNKNOWN, "unexpected JSON value");
}

static void test_malformed_fields(void)
{
    static const struct vt_case cases[] = {
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":[{\"instId\":\"A-B\","
          "\"ts\":\"1652459224818\"}]}", "tickers: missing last" },
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":[{\"instId\":\"A-B\","
          "\"last\":\"\",\"ts\":\"1652459224818\"}]}", "tickers: missing last" },
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":[{\"instId\":\"A-B\","
          "\"last\":\"0\",\"ts\":\"1652459224818\"}]}", "tickers: bad last" },
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":[{\"instId\":\"A-B\","
          "\"last\":\"1\",\"bidPx\":\"x\",\"ts\":\"1652459224818\"}]}",
          "tickers: bad bidPx" },
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":[{\"instId\":\"A-B\","
          "\"last\":\"1\",\"askPx\":\"-1\",\"ts\":\"1652459224818\"}]}",
          "tickers: bad askPx" },
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":[{\"instId\":\"A-B\","
          "\"last\":\"1\",\"lastSz\":\"-1\",\"ts\":\"1652459224818\"}]}",
          "tickers: bad lastSz" },
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":[{\"instId\":\"A-B\","
          "\"last\":\"1\"}]}", "tickers: missing ts" },
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":[{\"instId\":\"A-B\","
          "\"last\":\"1\",\"ts\":\"soon\"}]}", "tickers: bad ts" },
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":[{\"instId\":\"A-B\","
          "\"last\":\"1\",\"ts\":\"0\"}]}", "tickers: bad ts" },
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":[{\"last\":\"1\","
          "\"ts\":\"1\"}]}", "tickers: missing instId" },
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":[{\"instId\":\"\","
          "\"last\":\"1\",\"ts\":\"1\"}]}", "tickers: bad instId" },
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":[\"x\"]}",
          "tickers: not an object" },
        { "{\"arg\":{\"channel\":\"tickers\"},\"data\":{}}", "tickers: bad data" },
        { "{\"arg\":{\"channel\":\"trades\"},\"data\":[{\"instId\":\"A-B\","
          "\"px\":\"1\",\"ts\":\"1652459224818\"}]}", "trades: missing sz" },
        { "{\"arg\":{\"channel\":\"trades\"},\"data\":[{\"instId\":\"A-B\","
          "\"sz\":\"1\",\"ts\":\"1652459224818\"}]}", "trades: missing px" },
        { "{\"arg\":{\"channel\":\"trades\"},\"data\":[{\"instId\":\"A-B\","
          "\"px\":\"1\",\"sz\":\"1\",\"tradeId\":\"x7\",\"ts\":"
          "\"1652459224818\"}]}", "trades: bad tradeId" },
        { "{\"arg\":{\"channel\":\"trades\"},\"data\":[{\"instId\":\"A-B\","
          "\"px\":\"1\",\"sz\":\"1\",\"tradeId\":\"-7\",\"ts\":"
          "\"1652459224818\"}]}", "trades: bad tradeId" },
        { "{\"arg\":{\"channel\":\"trades\"},\"data\":[{\"instId\":\"A-B\","
          "\"px\":\"1\",\"sz\":\"1\",\"ts\":\"1652459224818\"},{\"instId\":"
          "\"A-B\",\"px\":\"1\",\"sz\":\"1\"}]}", "trades: missing ts" },
        { "{\"arg\":{\"channel\":\"tickers\"}}", "push: missing data" },
        { "{\"arg\":\"tickers\",\"data\":[]}", "push: bad arg" },
        { "{\"arg\":{\"channel\":5},\"data\":[]}", "push: bad arg" },
        { "{\"event\":7}", "bad event" },
    };

    vt_expect_malformed(cases, sizeof cases / sizeof cases[0], __LINE__);
}

static void test_hostile_and_mutations(void)
{
    static const char *const files[] = { recording };

    vt_check_hostile("{\"arg\":{\"channel\":\"trades\",\"instId\":\"BTC-USDT\"},"
                     "\"data\":[{\"instId\":\"BTC-USDT\",\"tradeId\":"
                     "\"338476307\",\"px\":\"30236\",\"sz\":\"0.0002\",\"side\":"
                     "\"buy\",\"ts\":\"1652459224818\"}]}");
    vt_check_mutations(files, 1, 0xa54ff53a5f1d36f1ULL, 6000);
}

/* ---- symbols and wire ---- */

static void test_symbols(void)
{
    char b[16], q[16];

    SYMBOL("BTC", "USDT", "BTC-USDT");
    SYMBOL("ETH", "USDC", "ETH-USDC");
    /* Futures and swaps have no BASE/QUOTE of their own. */
    CHECK(!ok->split_symbol("BTC-USD-220527", 14, b, sizeof b, q, sizeof q));
    CHECK(!ok->split_symbol("UNI-USD-SWAP", 12, b, sizeof b, q, sizeof q));
    CHECK(!ok->split_symbol("BTCUSDT", 7, b, sizeof b, q, sizeof q));
    CHECK(ok->split_symbol("btc-usdt", 8, b, sizeof b, q, sizeof q));
    CHECK_STR(b, "BTC");
    CHECK_STR(q, "USDT");
}

static void test_wire(void)
{
    static const char *const recorded_ids[] = { "BTC-USD-220527",
                                                "UNI-USD-SWAP", "BTC-USDT" };
    static const char *const channels[] = { "tickers", "trades", "books" };
    const struct cs_venue_wire *w = ok->wire;
    uint64_t id = 0;
    char ping[64];

    vt_check_wire();
    CHECK_STR(w->ws_url, "wss://ws.okx.com:8443/ws/v5/public");
    CHECK_INT(w->ping_interval_ms, 20000);
    CHECK_INT(w->idle_timeout_ms, 30000);
    CHECK_STR(w->default_channels[0], "tickers");
    CHECK(vt_in_list(w->all_channels, "trades"));

    /* The recorded connection's three subscribe frames, byte for byte. */
    for (size_t k = 0; k < 3; k++) {
        CHECK_INT(vt_build(recorded_ids, 3, channels, k + 1, false, &id), 1);
        vt_check_sent_file("exchanges/okx/ws_v5_public_2022-05-13."
                           "client_sent.jsonl", k, 1, __LINE__);
    }
    CHECK_INT(id, 0);
    CHECK_INT(vt_build(recorded_ids + 2, 1, channels, 1, true, &id), 1);
    CHECK_STR(vt_sent.text[0], "{\"op\":\"unsubscribe\",\"args\":[{\"channel\":"
              "\"tickers\",\"instId\":\"BTC-USDT\"}]}");

    CHECK_INT(ok->build_ping(&id, ping, sizeof ping), 4);
    CHECK_STR(ping, "ping");
    CHECK_INT(ok->build_ping(&id, ping, 4), 0);
}

int main(void)
{
    vt_setup(ok, 444, false);
    test_recording();
    test_recorded_frames();
    test_events();
    test_malformed_fields();
    test_hostile_and_mutations();
    test_symbols();
    test_wire();
    return vt_finish("test_venue_okx");
}
