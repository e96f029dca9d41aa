/* The Bybit v5 venue parser against the 2026 spot and linear recordings,
 * the merging of linear deltas into per-symbol snapshots (and its bounds),
 * hostile input and a mutation loop; symbol splitting and the wire layer
 * (subscribe requests split at 10 args, ping). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/venue.h"
#include "testlib.h"
#include "venue_testlib.h"

#define MS (1000000LL)

static const struct cs_venue_ops *by = &cs_venue_bybit;

static const char *const linear =
    "exchanges/bybit/ws_v5_linear_tickers_2026-08-09_BTC_ETH.jsonl";
static const char *const spot =
    "exchanges/bybit/ws_v5_spot_tickers_2026-08-09_BTC.jsonl";

/* ---- recordings ---- */

/* The raw symbol is the topic's; times are from the recording's minute;
 * derivatives have both sides, bid below ask; deltas promise rising cs. */
static bool recorded_tick_ok(const struct cs_tick *t, const char *line)
{
    const char *key = "{\"topic\":\"tickers.";
    size_t k = strlen(key);
    bool delta = strstr(line, "\"type\":\"delta\"") != NULL;
    bool is_linear = strstr(line, "\"markPrice\"") != NULL || delta;

    return strncmp(line, key, k) == 0
           && strncmp(line + k, t->raw_symbol.ptr, t->raw_symbol.len) == 0
           && line[k + t->raw_symbol.len] == '"'
           && t->ts_ns > 1786310800000LL * MS
           && t->ts_ns < 1786310900000LL * MS && t->has_price && t->has_seq
           && t->seq_kind == (delta ? CS_SEQ_INCREASING : CS_SEQ_NONE)
           && (is_linear ? t->has_bid && t->has_ask
                               && cs_decimal_cmp(t->bid, t->ask) < 0
                         : !t->has_bid && !t->has_ask);
}

static void test_linear_recording(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];
    struct vt_tally ty;

    vt_tally_file(linear, &ty, recorded_tick_ok);
    CHECK_INT(ty.lines, 418);
    CHECK_INT(ty.cls[CS_FRAME_DATA], 401);
    CHECK_INT(ty.cls[CS_FRAME_CONTROL], 17);
    CHECK_INT(ty.cls[CS_FRAME_IGNORED], 0);
    CHECK_INT(ty.cls[CS_FRAME_UNKNOWN], 0);
    CHECK_INT(ty.cls[CS_FRAME_MALFORMED], 0);
    CHECK_INT(vt_what(&ty, "tickers snapshot"), 2);
    CHECK_INT(vt_what(&ty, "tickers delta"), 399);    /* 184 BTC + 215 ETH */
    CHECK_INT(vt_what(&ty, "subscribe"), 17);
    CHECK_INT(ty.kinds[CS_TICK_TICKER], 401);
    CHECK_INT(ty.seq_kinds[CS_SEQ_NONE], 2);
    CHECK_INT(ty.seq_kinds[CS_SEQ_INCREASING], 399);
    CHECK_INT(ty.gaps, 0);
    CHECK_INT(ty.insane, 0);
    CHECK_INT(ty.bad_tick, 0);

    /* The merged state at the end of the recording: a delta without
     * prices reports it unchanged. */
    vt_parse("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{"
             "\"symbol\":\"BTCUSDT\"},\"cs\":753843999999,\"ts\":1786310861584}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK(vt_text_is(t->price_text, "65114.30"));
    CHECK(vt_text_is(t->bid_text, "65114.20"));
    CHECK(vt_text_is(t->ask_text, "65114.30"));
    vt_parse("{\"topic\":\"tickers.ETHUSDT\",\"type\":\"delta\",\"data\":{"
             "\"symbol\":\"ETHUSDT\"},\"cs\":1,\"ts\":1786310861584}");
    CHECK(vt_text_is(t->price_text, "1922.54"));
    CHECK(vt_text_is(t->bid_text, "1922.54"));
    CHECK(vt_text_is(t->ask_text, "1922.55"));
    CHECK_INT(t->price.mant, 192254);
    CHECK_INT(t->price.exp, -2);
}

static void test_spot_recording(void)
{
    struct vt_tally ty;

    vt_tally_file(spot, &ty, recorded_tick_ok);
    CHECK_INT(ty.lines, 48);
    CHECK_INT(ty.cls[CS_FRAME_DATA], 41);
    CHECK_INT(ty.cls[CS_FRAME_CONTROL], 7);
    CHECK_INT(ty.cls[CS_FRAME_MALFORMED], 0);
    CHECK_INT(ty.cls[CS_FRAME_UNKNOWN], 0);
    CHECK_INT(vt_what(&ty, "tickers snapshot"), 41);
    CHECK_INT(vt_what(&ty, "subscribe"), 7);
    CHECK_INT(ty.kinds[CS_TICK_TICKER], 41);
    CHECK_INT(ty.seq_kinds[CS_SEQ_NONE], 41);
    CHECK_INT(ty.insane, 0);
    CHECK_INT(ty.bad_tick, 0);
}

/* ---- merging, field by field ---- */

/* The text lies in the frame last parsed. */
static bool in_copy(struct cs_text t)
{
    return t.ptr >= vt.copy && t.ptr < vt.copy + vt.copy_len;
}

static void test_merge(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];

    vt_new_scratch();
    EXPECT("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{"
           "\"symbol\":\"BTCUSDT\",\"bid1Price\":\"1\"},\"cs\":2,\"ts\":"
           "1786310817883}", CS_FRAME_MALFORMED,
           "tickers: delta before snapshot");

    vt_parse("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"snapshot\",\"data\":{"
             "\"symbol\":\"BTCUSDT\",\"lastPrice\":\"65114.30\",\"markPrice\":"
             "\"65117.44\",\"bid1Price\":\"65114.20\",\"bid1Size\":\"5.954\","
             "\"ask1Price\":\"65114.30\",\"ask1Size\":\"10.470\",\"preOpenPrice\":"
             "\"\"},\"cs\":753843900397,\"ts\":1786310817583}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_STR(vt.out.what, "tickers snapshot");
    CHECK_INT(vt.out.n, 1);
    CHECK_STR(t->exchange, "bybit");
    CHECK_INT(t->kind, CS_TICK_TICKER);
    CHECK(vt_text_is(t->raw_symbol, "BTCUSDT"));
    CHECK(vt_text_is(t->price_text, "65114.30"));
    CHECK_INT(t->price.mant, 6511430);
    CHECK_INT(t->price.exp, -2);
    CHECK(vt_text_is(t->bid_text, "65114.20"));
    CHECK(vt_text_is(t->ask_text, "65114.30"));
    CHECK(!t->has_qty);
    CHECK_INT(t->ts_ns, 1786310817583LL * MS);
    CHECK(t->has_seq);
    CHECK_INT(t->seq, 753843900397LL);
    CHECK_INT(t->seq_kind, CS_SEQ_NONE);
    CHECK_INT(t->recv_ns, 222);
    /* Text lives in the scratch's copy, not in the frame. */
    CHECK(!in_copy(t->price_text) && !in_copy(t->raw_symbol));

    /* Only bid1Price changes; the rest comes from the snapshot. */
    vt_parse("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{"
             "\"symbol\":\"BTCUSDT\",\"bid1Price\":\"65114.10\",\"bid1Size\":"
             "\"6.054\"},\"cs\":753843907770,\"ts\":1786310817883}");
    CHECK_STR(vt.out.what, "tickers delta");
    CHECK(vt_text_is(t->price_text, "65114.30"));
    CHECK(vt_text_is(t->bid_text, "65114.10"));
    CHECK(vt_text_is(t->ask_text, "65114.30"));
    CHECK_INT(t->bid.mant, 6511410);
    CHECK_INT(t->seq, 753843907770LL);
    CHECK_INT(t->seq_kind, CS_SEQ_INCREASING);
    CHECK_INT(t->ts_ns, 1786310817883LL * MS);

    /* A new last price; an emptied ask side. */
    vt_parse("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{"
             "\"symbol\":\"BTCUSDT\",\"lastPrice\":\"65114.20\",\"ask1Price\":"
             "\"\"},\"cs\":753843907771,\"ts\":1786310817983}");
    CHECK(vt_text_is(t->price_text, "65114.20"));
    CHECK(t->has_bid && !t->has_ask && t->ask_text.len == 0);

    /* A bad field rejects the frame and merges nothing. */
    EXPECT("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{"
           "\"symbol\":\"BTCUSDT\",\"lastPrice\":\"1\",\"bid1Price\":\"x\"},"
           "\"cs\":3,\"ts\":1786310818083}", CS_FRAME_MALFORMED,
           "tickers: bad bid1Price");
    EXPECT("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{"
           "\"symbol\":\"BTCUSDT\",\"lastPrice\":\"\"},\"cs\":3,\"ts\":"
           "1786310818083}", CS_FRAME_MALFORMED, "tickers: bad lastPrice");
    EXPECT("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{"
           "\"symbol\":\"BTCUSDT\",\"lastPrice\":\"2\",\"ask1Price\":"
           "\"0.0000000000000000000000000000001\"},\"cs\":3,\"ts\":"
           "1786310818083}", CS_FRAME_MALFORMED, "tickers: bad ask1Price");
    vt_parse("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{"
             "\"symbol\":\"BTCUSDT\",\"ask1Price\":\"65114.40\"},\"ts\":"
             "1786310818183}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK(vt_text_is(t->price_text, "65114.20"));
    CHECK(vt_text_is(t->bid_text, "65114.10"));
    CHECK(vt_text_is(t->ask_text, "65114.40"));
    CHECK(!t->has_seq);                     /* no cs in this frame */
    CHECK_INT(t->seq_kind, CS_SEQ_NONE);

    /* A new snapshot replaces everything, absent sides included. */
    vt_parse("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"snapshot\",\"data\":{"
             "\"symbol\":\"BTCUSDT\",\"lastPrice\":\"7\"},\"cs\":9,\"ts\":"
             "1786310818283}");
    CHECK(vt_text_is(t->price_text, "7"));
    CHECK(!t->has_bid && !t->has_ask);

    /* Symbols are kept apart; a new connection forgets them all. */
    vt_parse("{\"topic\":\"tickers.ETHUSDT\",\"type\":\"snapshot\",\"data\":{"
             "\"symbol\":\"ETHUSDT\",\"lastPrice\":\"1922.54\"},\"ts\":"
             "1786310818283}");
    vt_parse("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{"
             "\"symbol\":\"BTCUSDT\"},\"ts\":1786310818383}");
    CHECK(vt_text_is(t->price_text, "7"));
    vt_new_scratch();
    EXPECT("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{"
           "\"symbol\":\"BTCUSDT\"},\"ts\":1786310818383}", CS_FRAME_MALFORMED,
           "tickers: delta before snapshot");
}

/* At most CS_VENUE_MAX_MERGED symbols are merged; a symbol beyond that
 * (or one too long to copy) still gets its snapshots, from the frame. */
static void test_bounds(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];
    char frame[256];
    unsigned wrong = 0;

    vt_new_scratch();
    for (int i = 0; i <= CS_VENUE_MAX_MERGED; i++) {
        snprintf(frame, sizeof frame, "{\"topic\":\"tickers.S%dUSDT\","
                 "\"type\":\"snapshot\",\"data\":{\"symbol\":\"S%dUSDT\","
                 "\"lastPrice\":\"%d.5\"},\"cs\":1,\"ts\":1786310818283}", i, i,
                 i + 1);
        vt_parse(frame);
        wrong += vt.out.cls != CS_FRAME_DATA || vt.out.n != 1
                 || in_copy(t->price_text) != (i == CS_VENUE_MAX_MERGED);
    }
    CHECK_INT(wrong, 0);
    EXPECT("{\"topic\":\"tickers.S4096USDT\",\"type\":\"delta\",\"data\":{"
           "\"symbol\":\"S4096USDT\"},\"ts\":1786310818383}",
           CS_FRAME_MALFORMED, "tickers: delta before snapshot");
    for (int i = 0; i < CS_VENUE_MAX_MERGED; i += 97) {
        char want[16];
        snprintf(frame, sizeof frame, "{\"topic\":\"tickers.S%dUSDT\","
                 "\"type\":\"delta\",\"data\":{\"symbol\":\"S%dUSDT\"},"
                 "\"ts\":1786310818383}", i, i);
        snprintf(want, sizeof want, "%d.5", i + 1);
        vt_parse(frame);
        wrong += vt.out.cls != CS_FRAME_DATA || !vt_text_is(t->price_text,
                                                            want);
    }
    CHECK_INT(wrong, 0);

    vt_new_scratch();
    vt_parse("{\"topic\":\"tickers.ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\",\"type\":"
             "\"snapshot\",\"data\":{\"symbol\":"
             "\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\",\"lastPrice\":\"1\"},\"ts\":"
             "1786310818283}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK(in_copy(t->raw_symbol) && in_copy(t->price_text));
    EXPECT("{\"topic\":\"tickers.ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\",\"type\":"
           "\"delta\",\"data\":{\"symbol\":"
           "\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\"},\"ts\":1786310818283}",
           CS_FRAME_MALFORMED, "tickers: delta before snapshot");
}

static void test_control_and_ignored(void)
{
    EXPECT("{\"success\":true,\"ret_msg\":\"subscribe\",\"conn_id\":"
           "\"d9avt8shteepr00gfc1g-4zd1x\",\"op\":\"subscribe\"}",
           CS_FRAME_CONTROL, "subscribe");
    EXPECT("{\"success\":true,\"ret_msg\":\"\",\"conn_id\":\"x\",\"req_id\":"
           "\"\",\"op\":\"subscribe\"}", CS_FRAME_CONTROL, "subscribe");
    EXPECT("{\"success\":true,\"ret_msg\":\"pong\",\"conn_id\":\"x\",\"op\":"
           "\"ping\"}", CS_FRAME_CONTROL, "ping");
    EXPECT("{\"args\":[\"1672916271846\"],\"op\":\"pong\"}", CS_FRAME_CONTROL,
           "pong");
    EXPECT("{\"success\":false,\"ret_msg\":\"error:already subscribed,topic:"
           "tickers.BTCUSDT\",\"conn_id\":\"x\",\"op\":\"subscribe\"}",
           CS_FRAME_CONTROL, "op error");
    EXPECT("{\"op\":\"dance\"}", CS_FRAME_UNKNOWN, "unknown op");
    EXPECT("{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"snapshot\",\"data\":"
           "{\"s\":\"BTCUSDT\",\"b\":[[\"1\",\"2\"]],\"a\":[]}}",
           CS_FRAME_IGNORED, "orderbook.");
    EXPECT("{\"topic\":\"publicTrade.BTCUSDT\",\"data\":[]}", CS_FRAME_IGNORED,
           "publicTrade.");
    EXPECT("{\"topic\":\"kline.1.BTCUSDT\",\"data\":[]}", CS_FRAME_IGNORED,
           "kline.");
    EXPECT("{\"topic\":\"tickerz.BTCUSDT\",\"data\":{}}", CS_FRAME_UNKNOWN,
           "unknown topic");
    EXPECT("{\"retCode\":0}", CS_FRAME_UNKNOWN, "object without topic or op");
    EXPECT("[]", CS_FRAME_UNKNOWN, "unexpected JSON value");
}

static void test_malformed_fields(void)
{
    static const struct vt_case cases[] = {
        { "{\"topic\":\"tickers.A\",\"type\":\"snapshot\",\"data\":{\"symbol\":"
          "\"AUSDT\"},\"ts\":1786310818283}", "tickers: missing lastPrice" },
        { "{\"topic\":\"tickers.A\",\"type\":\"snapshot\",\"data\":{\"symbol\":"
          "\"AUSDT\",\"lastPrice\":\"0\"},\"ts\":1786310818283}",
          "tickers: bad lastPrice" },
        { "{\"topic\":\"tickers.A\",\"type\":\"snapshot\",\"data\":{\"symbol\":"
          "\"AUSDT\",\"lastPrice\":\"1\",\"bid1Price\":\"-1\"},\"ts\":"
          "1786310818283}", "tickers: bad bid1Price" },
        { "{\"topic\":\"tickers.A\",\"type\":\"snapshot\",\"data\":{\"symbol\":"
          "\"AUSDT\",\"lastPrice\":\"1\"}}", "tickers: missing ts" },
        { "{\"topic\":\"tickers.A\",\"type\":\"snapshot\",\"data\":{\"symbol\":"
          "\"AUSDT\",\"lastPrice\":\"1\"},\"ts\":\"1786310818283\"}",
          "tickers: bad ts" },
        { "{\"topic\":\"tickers.A\",\"type\":\"snapshot\",\"data\":{\"symbol\":"
          "\"AUSDT\",\"lastPrice\":\"1\"},\"ts\":-4}", "tickers: bad ts" },
        { "{\"topic\":\"tickers.A\",\"type\":\"snapshot\",\"data\":{\"symbol\":"
          "\"AUSDT\",\"lastPrice\":\"1\"},\"cs\":\"7\",\"ts\":1786310818283}",
          "tickers: bad cs" },
        { "{\"topic\":\"tickers.A\",\"type\":\"snapshot\",\"data\":{\"symbol\":"
          "\"AUSDT\",\"lastPrice\":\"1\"},\"cs\":-7,\"ts\":1786310818283}",
          "tickers: bad cs" },
        { "{\"topic\":\"tickers.A\",\"type\":\"snapshot\",\"data\":{"
          "\"lastPrice\":\"1\"},\"ts\":1786310818283}",
          "tickers: missing symbol" },
        { "{\"topic\":\"tickers.A\",\"type\":\"snapshot\",\"data\":{\"symbol\":"
          "\"\",\"lastPrice\":\"1\"},\"ts\":1786310818283}",
          "tickers: bad symbol" },
        { "{\"topic\":\"tickers.A\",\"type\":\"snapshot\",\"data\":[],\"ts\":"
          "1786310818283}", "tickers: bad data" },
        { "{\"topic\":\"tickers.A\",\"type\":\"snapshot\",\"ts\":1786310818283}",
          "tickers: bad data" },
        { "{\"topic\":\"tickers.A\",\"type\":\"full\",\"data\":{},\"ts\":1}",
          "tickers: bad type" },
        { "{\"topic\":\"tickers.A\",\"data\":{},\"ts\":1}",
          "tickers: bad type" },
        { "{\"topic\":7}", "bad topic" },
        { "{\"op\":[]}", "bad op" },
    };

    vt_expect_malformed(cases, sizeof cases / sizeof cases[0], __LINE__);
}

static void test_hostile_and_mutations(void)
{
    static const char *const files[] = { linear, spot };

    vt_check_hostile("{\"topic\":\"tickers.BTCUSDT\",\"ts\":1786310819126,"
                     "\"type\":\"snapshot\",\"cs\":112488546160,\"data\":{"
                     "\"symbol\":\"BTCUSDT\",\"lastPrice\":\"65140.5\","
                     "\"highPrice24h\":\"65305.6\"}}");
    vt_new_scratch();
    vt_check_mutations(files, 2, 0x510e527fade682d1ULL, 6000);
}

/* ---- symbols and wire ---- */

static void test_symbols(void)
{
    char b[16], q[16];

    SYMBOL("BTC", "USDT", "BTCUSDT");
    SYMBOL("ETH", "USDC", "ETHUSDC");
    SYMBOL("BTC", "USD", "BTCUSD");
    SYMBOL("SOL", "BTC", "SOLBTC");
    SYMBOL("1000PEPE", "USDT", "1000PEPEUSDT");
    CHECK(!by->split_symbol("BTCPERP", 7, b, sizeof b, q, sizeof q));
    CHECK(!by->split_symbol("BTC-26DEC25", 11, b, sizeof b, q, sizeof q));
    CHECK(!by->split_symbol("USDT", 4, b, sizeof b, q, sizeof q));
}

static void test_wire(void)
{
    static const char *const recorded[] = { "BTCUSDT", "DOGEUSDT", "ETHUSDT",
                                            "SOLUSDT" };
    static const char *const tickers[] = { "tickers" };
    const char *recorded_pair[2] = { "BTCUSDT", NULL };
    const struct cs_venue_wire *w = by->wire;
    const char *many[25];
    char names[25][16], ping[64];
    uint64_t id = 0;
    struct vt_lines l;
    const char *rest;

    vt_check_wire();
    CHECK_STR(w->ws_url, "wss://stream.bybit.com/v5/public/spot");
    CHECK_INT(w->max_symbols_per_msg, 10);
    CHECK_INT(w->ping_interval_ms, 20000);
    CHECK_STR(w->default_channels[0], "tickers");

    /* The recorded requests (linear: four symbols; spot: two), with our
     * req_id in front. */
    CHECK_INT(vt_build(recorded, 4, tickers, 1, false, &id), 1);
    CHECK_STR(vt_sent.text[0], "{\"req_id\":\"1\",\"op\":\"subscribe\","
              "\"args\":[\"tickers.BTCUSDT\",\"tickers.DOGEUSDT\","
              "\"tickers.ETHUSDT\",\"tickers.SOLUSDT\"]}");
    vt_lines_load(&l, "exchanges/bybit/"
                  "ws_v5_linear_tickers_2026-08-09_BTC_ETH.client_sent.jsonl");
    rest = vt_sent.text[0] + strlen("{\"req_id\":\"1\",");
    CHECK(l.n == 17 && l.len[0] == strlen(rest) + 1
          && memcmp(l.line[0] + 1, rest, strlen(rest)) == 0);
    vt_lines_free(&l);
    id = 0;
    recorded_pair[1] = recorded[2];
    CHECK_INT(vt_build(recorded_pair, 2, tickers, 1, false, &id), 1);
    vt_lines_load(&l, "exchanges/bybit/"
                  "ws_v5_spot_tickers_2026-08-09_BTC.client_sent.jsonl");
    rest = vt_sent.text[0] + strlen("{\"req_id\":\"1\",");
    CHECK(l.n == 7 && l.len[0] == strlen(rest) + 1
          && memcmp(l.line[0] + 1, rest, strlen(rest)) == 0);
    vt_lines_free(&l);

    /* 25 symbols: 10 + 10 + 5 args. */
    for (size_t i = 0; i < 25; i++) {
        snprintf(names[i], sizeof names[i], "S%zuUSDT", i);
        many[i] = names[i];
    }
    CHECK_INT(vt_build(many, 25, tickers, 1, true, &id), 3);
    CHECK(strncmp(vt_sent.text[0], "{\"req_id\":\"2\",\"op\":\"unsubscribe\","
                  "\"args\":[\"tickers.S0USDT\",", 56) == 0);
    CHECK(strstr(vt_sent.text[1], "\"tickers.S19USDT\"]}") != NULL);
    CHECK_STR(vt_sent.text[2], "{\"req_id\":\"4\",\"op\":\"unsubscribe\","
              "\"args\":[\"tickers.S20USDT\",\"tickers.S21USDT\","
              "\"tickers.S22USDT\",\"tickers.S23USDT\",\"tickers.S24USDT\"]}");
    CHECK_INT(id, 4);

    CHECK_INT(by->build_ping(&id, ping, sizeof ping), 26);
    CHECK_STR(ping, "{\"req_id\":\"5\",\"op\":\"ping\"}");
    CHECK_INT(id, 5);
}

int main(void)
{
    vt_setup(by, 222, true);
    test_linear_recording();
    test_spot_recording();
    test_merge();
    test_bounds();
    test_control_and_ignored();
    test_malformed_fields();
    test_hostile_and_mutations();
    test_symbols();
    test_wire();
    return vt_finish("test_venue_bybit");
}
