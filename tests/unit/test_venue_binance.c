/* The Binance venue parser against recorded frames, the documentation
 * examples, hostile input and a mutation loop; symbol splitting, the
 * venue registry, and the wire layer (limits, SUBSCRIBE messages). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/venue.h"
#include "testlib.h"
#include "venue_testlib.h"

#define MS (1000000LL)

static const struct cs_venue_ops *bn = &cs_venue_binance;

/* ---- recorded fixtures ---- */

/* The raw symbol must be the upper-cased stream prefix ("veteth@..."). */
static bool symbol_matches_stream(const char *line, const struct cs_tick *t)
{
    const char *key = "{\"stream\":\"";
    size_t k = strlen(key);

    if (strncmp(line, key, k) != 0 || t->raw_symbol.len == 0) {
        return false;
    }
    for (size_t i = 0; i < t->raw_symbol.len; i++) {
        char c = line[k + i];
        if (c >= 'a' && c <= 'z') {
            c = (char)(c - 'a' + 'A');
        }
        if (c != t->raw_symbol.ptr[i]) {
            return false;
        }
    }
    return line[k + t->raw_symbol.len] == '@';
}

/* Recorded ticks: symbol from the stream name, a seq with the promise of
 * its stream, times in the recording's years. */
static bool recorded_tick_ok(const struct cs_tick *t, const char *line)
{
    if (!symbol_matches_stream(line, t) || !t->has_seq) {
        return false;
    }
    if (t->kind == CS_TICK_QUOTE) {
        return t->ts_ns == 0 && t->has_bid && t->has_ask && !t->has_price
               && cs_decimal_cmp(t->bid, t->ask) < 0
               && t->seq_kind == CS_SEQ_INCREASING;
    }
    return t->ts_ns > 1600000000000LL * MS && t->has_price && t->has_qty
           && t->seq_kind == CS_SEQ_CONTIGUOUS;
}

static void test_recording_2021_04_17(void)
{
    struct vt_tally ty;

    vt_tally_file("exchanges/binance/ws_spot_combined_2021-04-17.jsonl", &ty,
                  recorded_tick_ok);
    CHECK_INT(ty.lines, 1228);
    CHECK_INT(ty.cls[CS_FRAME_DATA], 594);
    CHECK_INT(ty.cls[CS_FRAME_IGNORED], 634);
    CHECK_INT(ty.cls[CS_FRAME_CONTROL], 0);
    CHECK_INT(ty.cls[CS_FRAME_UNKNOWN], 0);
    CHECK_INT(ty.cls[CS_FRAME_MALFORMED], 0);
    CHECK_INT(vt_what(&ty, "depthUpdate"), 614);
    CHECK_INT(vt_what(&ty, "kline"), 20);
    CHECK_INT(vt_what(&ty, "bookTicker"), 570);
    CHECK_INT(vt_what(&ty, "aggTrade"), 24);
    CHECK_INT(ty.kinds[CS_TICK_QUOTE], 570);
    CHECK_INT(ty.kinds[CS_TICK_TRADE], 24);
    CHECK_INT(ty.kinds[CS_TICK_TICKER], 0);
    CHECK_INT(ty.seq_kinds[CS_SEQ_INCREASING], 570);
    CHECK_INT(ty.seq_kinds[CS_SEQ_CONTIGUOUS], 24);
    CHECK_INT(ty.dropped, 0);
    CHECK_INT(ty.gaps, 0);
    CHECK_INT(ty.insane, 0);
    CHECK_INT(ty.bad_tick, 0);
}

static void test_recording_2021_10_12(void)
{
    struct vt_tally ty;

    vt_tally_file("exchanges/binance/ws_spot_combined_2021-10-12.jsonl", &ty,
                  recorded_tick_ok);
    CHECK_INT(ty.lines, 265);
    CHECK_INT(ty.cls[CS_FRAME_DATA], 86);
    CHECK_INT(ty.cls[CS_FRAME_IGNORED], 179);
    CHECK_INT(ty.cls[CS_FRAME_CONTROL], 0);
    CHECK_INT(ty.cls[CS_FRAME_UNKNOWN], 0);
    CHECK_INT(ty.cls[CS_FRAME_MALFORMED], 0);
    CHECK_INT(vt_what(&ty, "depthUpdate"), 177);
    CHECK_INT(vt_what(&ty, "kline"), 2);
    CHECK_INT(ty.kinds[CS_TICK_QUOTE], 84);
    CHECK_INT(ty.kinds[CS_TICK_TRADE], 2);
    CHECK_INT(ty.kinds[CS_TICK_TICKER], 0);
    CHECK_INT(ty.insane, 0);
    CHECK_INT(ty.bad_tick, 0);
}

static void test_doc_examples_file(void)
{
    struct vt_tally ty;

    vt_tally_file("exchanges/binance/ws_doc_examples.jsonl", &ty, NULL);
    CHECK_INT(ty.lines, 10);
    CHECK_INT(ty.cls[CS_FRAME_DATA], 6);
    CHECK_INT(ty.cls[CS_FRAME_CONTROL], 3);
    CHECK_INT(ty.cls[CS_FRAME_IGNORED], 1);
    CHECK_INT(vt_what(&ty, "kline"), 1);
    CHECK_INT(vt_what(&ty, "request reply"), 3);
    CHECK_INT(ty.kinds[CS_TICK_TRADE], 2);
    CHECK_INT(ty.kinds[CS_TICK_TICKER], 3);
    CHECK_INT(ty.kinds[CS_TICK_QUOTE], 1);
    CHECK_INT(ty.seq_kinds[CS_SEQ_CONTIGUOUS], 2);
    CHECK_INT(ty.seq_kinds[CS_SEQ_INCREASING], 1);
    CHECK_INT(ty.insane, 0);
}

/* ---- specific frames, field by field ---- */

static void test_recorded_ticks(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];

    vt_parse("{\"stream\":\"swrvbusd@bookTicker\",\"data\":{\"u\":64830107,\"s\":"
          "\"SWRVBUSD\",\"b\":\"2.27200000\",\"B\":\"218.40800000\",\"a\":"
          "\"2.27700000\",\"A\":\"1.19200000\"}}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_STR(vt.out.what, "bookTicker");
    CHECK_INT(vt.out.n, 1);
    CHECK_STR(t->exchange, "binance");
    CHECK_INT(t->kind, CS_TICK_QUOTE);
    CHECK(vt_text_is(t->raw_symbol, "SWRVBUSD"));
    CHECK(!t->has_price && !t->has_qty);
    CHECK(t->has_bid && t->has_ask && t->has_seq);
    CHECK(vt_text_is(t->bid_text, "2.27200000"));
    CHECK(vt_text_is(t->ask_text, "2.27700000"));
    CHECK_INT(t->bid.mant, 227200000);
    CHECK_INT(t->bid.exp, -8);
    CHECK_INT(t->ask.mant, 227700000);
    CHECK_INT(t->seq, 64830107);
    CHECK_INT(t->seq_kind, CS_SEQ_INCREASING);
    CHECK_INT(t->ts_ns, 0);
    CHECK_INT(t->recv_ns, 777);
    CHECK_INT(t->price_text.len, 0);

    vt_parse("{\"stream\":\"veteth@bookTicker\",\"data\":{\"u\":327912856,\"s\":"
          "\"VETETH\",\"b\":\"0.00009381\",\"B\":\"95017.00000000\",\"a\":"
          "\"0.00009401\",\"A\":\"88406.00000000\"}}");
    CHECK(vt_text_is(t->bid_text, "0.00009381"));
    CHECK_INT(t->bid.mant, 9381);
    CHECK_INT(t->bid.exp, -8);
    CHECK_INT(t->seq, 327912856);

    vt_parse("{\"stream\":\"swrvbusd@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":"
          "1618677373913,\"s\":\"SWRVBUSD\",\"a\":749094,\"p\":\"2.27600000\","
          "\"q\":\"21.96300000\",\"f\":1135632,\"l\":1135632,\"T\":"
          "1618677373912,\"m\":false,\"M\":true}}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_STR(vt.out.what, "aggTrade");
    CHECK_INT(vt.out.n, 1);
    CHECK_INT(t->kind, CS_TICK_TRADE);
    CHECK(vt_text_is(t->raw_symbol, "SWRVBUSD"));
    CHECK(vt_text_is(t->price_text, "2.27600000"));
    CHECK_INT(t->price.mant, 227600000);
    CHECK_INT(t->price.exp, -8);
    CHECK(vt_text_is(t->qty_text, "21.96300000"));
    CHECK_INT(t->qty.mant, 2196300000LL);
    CHECK_INT(t->ts_ns, 1618677373912LL * MS);     /* T, not E */
    CHECK_INT(t->seq, 749094);
    CHECK_INT(t->seq_kind, CS_SEQ_CONTIGUOUS);
    CHECK(t->has_price && t->has_qty && t->has_seq);
    CHECK(!t->has_bid && !t->has_ask);
}

/* Each doc payload, raw and wrapped as a combined stream. */
static void parse_both(const char *payload, bool combined)
{
    static char buf[2048];

    if (!combined) {
        vt_parse(payload);
        return;
    }
    snprintf(buf, sizeof buf, "{\"stream\":\"bnbbtc@x\",\"data\":%s}",
             payload);
    vt_parse(buf);
}

static void test_doc_examples(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];

    for (int combined = 0; combined < 2; combined++) {
        parse_both("{\"e\":\"aggTrade\",\"E\":1672515782136,\"s\":\"BNBBTC\","
                   "\"a\":12345,\"p\":\"0.001\",\"q\":\"100\",\"f\":100,\"l\":"
                   "105,\"T\":1672515782136,\"m\":true,\"M\":true}", combined);
        CHECK_INT(vt.out.cls, CS_FRAME_DATA);
        CHECK_INT(vt.out.n, 1);
        CHECK_INT(t->kind, CS_TICK_TRADE);
        CHECK(vt_text_is(t->raw_symbol, "BNBBTC"));
        CHECK(vt_text_is(t->price_text, "0.001"));
        CHECK(vt_text_is(t->qty_text, "100"));
        CHECK_INT(t->seq, 12345);
        CHECK_INT(t->ts_ns, 1672515782136LL * MS);

        parse_both("{\"e\":\"trade\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"t\":"
                   "12345,\"p\":\"0.001\",\"q\":\"100\",\"T\":1672515782136,"
                   "\"m\":true,\"M\":true}", combined);
        CHECK_STR(vt.out.what, "trade");
        CHECK_INT(t->kind, CS_TICK_TRADE);
        CHECK_INT(t->seq, 12345);
        CHECK_INT(t->price.mant, 1);
        CHECK_INT(t->price.exp, -3);

        parse_both("{\"e\":\"kline\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"k\":"
                   "{\"t\":1672515780000,\"T\":1672515839999,\"s\":\"BNBBTC\","
                   "\"i\":\"1m\",\"o\":\"0.0010\",\"c\":\"0.0020\",\"x\":false}}",
                   combined);
        CHECK_INT(vt.out.cls, CS_FRAME_IGNORED);
        CHECK_STR(vt.out.what, "kline");
        CHECK_INT(vt.out.n, 0);

        parse_both("{\"e\":\"24hrMiniTicker\",\"E\":1672515782136,\"s\":"
                   "\"BNBBTC\",\"c\":\"0.0025\",\"o\":\"0.0010\",\"h\":\"0.0025\","
                   "\"l\":\"0.0010\",\"v\":\"10000\",\"q\":\"18\"}", combined);
        CHECK_STR(vt.out.what, "24hrMiniTicker");
        CHECK_INT(vt.out.n, 1);
        CHECK_INT(t->kind, CS_TICK_TICKER);
        CHECK(vt_text_is(t->price_text, "0.0025"));
        CHECK(!t->has_bid && !t->has_ask && !t->has_seq && !t->has_qty);
        CHECK_INT(t->ts_ns, 1672515782136LL * MS);

        parse_both("{\"e\":\"24hrTicker\",\"E\":1672515782136,\"s\":\"BNBBTC\","
                   "\"p\":\"0.0015\",\"P\":\"250.00\",\"w\":\"0.0018\",\"x\":"
                   "\"0.0009\",\"c\":\"0.0025\",\"Q\":\"10\",\"b\":\"0.0024\","
                   "\"B\":\"10\",\"a\":\"0.0026\",\"A\":\"100\",\"o\":\"0.0010\","
                   "\"h\":\"0.0025\",\"l\":\"0.0010\",\"v\":\"10000\",\"q\":\"18\","
                   "\"O\":0,\"C\":86400000,\"F\":0,\"L\":18150,\"n\":18151}",
                   combined);
        CHECK_STR(vt.out.what, "24hrTicker");
        CHECK_INT(t->kind, CS_TICK_TICKER);
        CHECK(vt_text_is(t->price_text, "0.0025"));
        CHECK(vt_text_is(t->bid_text, "0.0024"));
        CHECK(vt_text_is(t->ask_text, "0.0026"));
        CHECK(vt_text_is(t->qty_text, "10"));
        CHECK(t->has_bid && t->has_ask && t->has_qty && !t->has_seq);

        parse_both("{\"e\":\"1hTicker\",\"E\":1672515782136,\"s\":\"BNBBTC\","
                   "\"p\":\"0.0015\",\"P\":\"250.00\",\"o\":\"0.0010\",\"h\":"
                   "\"0.0025\",\"l\":\"0.0010\",\"c\":\"0.0025\",\"w\":\"0.0018\","
                   "\"v\":\"10000\",\"q\":\"18\",\"O\":0,\"C\":1675216573749,"
                   "\"F\":0,\"L\":18150,\"n\":18151}", combined);
        CHECK_STR(vt.out.what, "1hTicker");
        CHECK_INT(t->kind, CS_TICK_TICKER);
        CHECK(vt_text_is(t->price_text, "0.0025"));
        CHECK(!t->has_bid && !t->has_ask);

        parse_both("{\"u\":400900217,\"s\":\"BNBUSDT\",\"b\":\"25.35190000\","
                   "\"B\":\"31.21000000\",\"a\":\"25.36520000\",\"A\":"
                   "\"40.66000000\"}", combined);
        CHECK_STR(vt.out.what, "bookTicker");
        CHECK_INT(t->kind, CS_TICK_QUOTE);
        CHECK(vt_text_is(t->raw_symbol, "BNBUSDT"));
        CHECK(vt_text_is(t->bid_text, "25.35190000"));
        CHECK(vt_text_is(t->ask_text, "25.36520000"));
        CHECK_INT(t->seq, 400900217);
        CHECK_INT(t->ts_ns, 0);
    }
    EXPECT("{\"result\":null,\"id\":1}", CS_FRAME_CONTROL, "request reply");
    EXPECT("{\"result\":null,\"id\":312}", CS_FRAME_CONTROL, "request reply");
    EXPECT("{\"result\":[\"btcusdt@aggTrade\"],\"id\":3}", CS_FRAME_CONTROL,
           "request reply");
    EXPECT("{\"result\":true,\"id\":\"abc\"}", CS_FRAME_CONTROL,
           "request reply");
}

static void test_other_events(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];

    /* 4h / 1d rolling tickers behave like 1h. */
    vt_parse("{\"e\":\"4hTicker\",\"E\":1672515782136,\"s\":\"ETHBTC\",\"c\":"
          "\"0.0711\"}");
    CHECK_STR(vt.out.what, "4hTicker");
    CHECK_INT(vt.out.n, 1);
    vt_parse("{\"e\":\"1dTicker\",\"E\":1672515782136,\"s\":\"ETHBTC\",\"c\":"
          "\"0.0711\"}");
    CHECK_STR(vt.out.what, "1dTicker");
    CHECK_INT(vt.out.n, 1);
    /* Futures-style bookTicker with e/E carries a time. */
    vt_parse("{\"e\":\"bookTicker\",\"u\":400900217,\"E\":1568014460893,\"T\":"
          "1568014460891,\"s\":\"BNBUSDT\",\"b\":\"25.35190000\",\"B\":"
          "\"31.21000000\",\"a\":\"25.36520000\",\"A\":\"40.66000000\"}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_INT(t->kind, CS_TICK_QUOTE);
    CHECK_INT(t->ts_ns, 1568014460893LL * MS);
    /* timeUnit=MICROSECOND connections send µs. */
    vt_parse("{\"e\":\"trade\",\"E\":1672515782136123,\"s\":\"BNBBTC\",\"t\":"
          "12345,\"p\":\"0.001\",\"q\":\"100\",\"T\":1672515782136123}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_INT(t->ts_ns, 1672515782136123000LL);
    /* A JSON number where a string is usual is still exact. */
    vt_parse("{\"e\":\"trade\",\"E\":1,\"s\":\"BNBBTC\",\"t\":1,\"p\":0.00100,"
          "\"q\":\"1\",\"T\":1672515782136}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK(vt_text_is(t->price_text, "0.00100"));
    /* An empty book side is reported as absent, not as a zero price. */
    vt_parse("{\"u\":1,\"s\":\"BNBUSDT\",\"b\":\"0.00000000\",\"B\":\"0\",\"a\":"
          "\"25.36520000\",\"A\":\"40.66000000\"}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK(!t->has_bid && t->has_ask);
    CHECK_INT(t->bid_text.len, 0);

    EXPECT("{\"e\":\"serverShutdown\",\"E\":1746435600000}", CS_FRAME_CONTROL,
           "serverShutdown");
    CHECK(vt.out.server_shutdown);
    EXPECT("{\"stream\":\"!serverShutdown\",\"data\":{\"e\":\"serverShutdown\","
           "\"E\":1746435600000}}", CS_FRAME_CONTROL, "serverShutdown");
    CHECK(vt.out.server_shutdown);
    EXPECT("{\"result\":null,\"id\":1}", CS_FRAME_CONTROL, "request reply");
    CHECK(!vt.out.server_shutdown);
    EXPECT("{\"error\":{\"code\":2,\"msg\":\"Invalid request: invalid stream\"},"
           "\"id\":2}", CS_FRAME_CONTROL, "error");
    EXPECT("{\"code\":3,\"msg\":\"Invalid JSON\"}", CS_FRAME_CONTROL, "error");
    EXPECT("{\"lastUpdateId\":160,\"bids\":[[\"0.0024\",\"10\"]],\"asks\":"
           "[[\"0.0026\",\"100\"]]}", CS_FRAME_IGNORED, "depth snapshot");
    EXPECT("{\"stream\":\"bnbbtc@depth\",\"data\":{\"e\":\"depthUpdate\",\"E\":"
           "1,\"s\":\"BNBBTC\",\"U\":157,\"u\":160,\"b\":[[\"0.0024\",\"10\"]],"
           "\"a\":[]}}", CS_FRAME_IGNORED, "depthUpdate");
    EXPECT("{\"e\":\"avgPrice\",\"E\":1,\"s\":\"BNBBTC\",\"i\":\"5m\",\"w\":"
           "\"9.1\"}", CS_FRAME_IGNORED, "avgPrice");
    EXPECT("{\"e\":\"somethingNew\",\"E\":1}", CS_FRAME_UNKNOWN,
           "unknown event type");
    EXPECT("{}", CS_FRAME_UNKNOWN, "object without event type");
    EXPECT("{\"stream\":\"x\",\"data\":\"str\"}", CS_FRAME_UNKNOWN,
           "unexpected JSON value");
    EXPECT("{\"stream\":\"x\",\"data\":null}", CS_FRAME_UNKNOWN,
           "unexpected JSON value");
    EXPECT("123", CS_FRAME_UNKNOWN, "unexpected JSON value");
    EXPECT("\"pong\"", CS_FRAME_UNKNOWN, "unexpected JSON value");
    EXPECT("null", CS_FRAME_UNKNOWN, "unexpected JSON value");
    EXPECT("[1,2]", CS_FRAME_UNKNOWN, "unexpected JSON value");
    EXPECT("pong", CS_FRAME_CONTROL, "text ping/pong");
}

/* ---- arrays ---- */

static size_t mini_ticker(char *buf, size_t size, int i)
{
    return (size_t)snprintf(buf, size,
        "{\"e\":\"24hrMiniTicker\",\"E\":1672515782%03d,\"s\":\"SYM%dUSDT\","
        "\"c\":\"%d.25\",\"o\":\"0.0010\",\"h\":\"0.0025\",\"l\":\"0.0010\","
        "\"v\":\"10000\",\"q\":\"18\"}", i % 1000, i, i + 1);
}

/* `[e0,e1,...]`, optionally wrapped as a combined stream. */
static char *build_array(int n, bool combined, size_t *len)
{
    size_t cap = (size_t)n * 200 + 100, pos = 0;
    char *buf = malloc(cap);

    if (combined) {
        pos += (size_t)snprintf(buf, cap,
                                "{\"stream\":\"!miniTicker@arr\",\"data\":");
    }
    buf[pos++] = '[';
    for (int i = 0; i < n; i++) {
        if (i > 0) {
            buf[pos++] = ',';
        }
        pos += mini_ticker(buf + pos, cap - pos, i);
    }
    buf[pos++] = ']';
    if (combined) {
        buf[pos++] = '}';
    }
    *len = pos;
    return buf;
}

static void test_arrays(void)
{
    static const int sizes[] = { 0, 1, 2, 255, 256, 257, 1000, 3000 };

    for (int combined = 0; combined < 2; combined++) {
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            int n = sizes[k];
            size_t len, want = n < CS_VENUE_MAX_TICKS ? (size_t)n
                                                     : CS_VENUE_MAX_TICKS;
            char *frame = build_array(n, combined, &len);

            vt_parse_n(frame, len);
            CHECK_INT(vt.out.cls, CS_FRAME_DATA);
            CHECK_INT(vt.out.n, want);
            CHECK_INT(vt.out.dropped, (size_t)n - want);
            if (n > 0) {
                CHECK(vt_text_is(vt.out.ticks[0].raw_symbol, "SYM0USDT"));
                CHECK(vt_text_is(vt.out.ticks[0].price_text, "1.25"));
                char last[16];
                snprintf(last, sizeof last, "%zu.25", want);
                CHECK(vt_text_is(vt.out.ticks[vt.out.n - 1].price_text, last));
            }
            free(frame);
        }
    }
    EXPECT("[]", CS_FRAME_DATA, "empty array");
    EXPECT("[{\"e\":\"1hTicker\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"c\":"
           "\"0.0025\"},{\"e\":\"1hTicker\",\"E\":1672515782136,\"s\":"
           "\"ETHBTC\",\"c\":\"0.07\"}]", CS_FRAME_DATA, "1hTicker");
    CHECK_INT(vt.out.n, 2);
    CHECK(vt_text_is(vt.out.ticks[1].raw_symbol, "ETHBTC"));
    /* One bad element rejects the whole frame. */
    EXPECT("[{\"e\":\"1hTicker\",\"E\":1,\"s\":\"A1\",\"c\":\"1\"},"
           "{\"e\":\"1hTicker\",\"E\":1,\"s\":\"A2\",\"c\":\"x\"}]",
           CS_FRAME_MALFORMED, "1hTicker: bad c");
}

/* Depth updates with thousands of levels overflow the token area; the
 * frame is re-parsed with the levels skipped and still classified. More
 * array elements than the token area holds at all cannot be walked. */
static void test_huge_frames(void)
{
    size_t cap = 4u << 20, pos;
    char *buf = malloc(cap);

    for (int combined = 0; combined < 2; combined++) {
        pos = (size_t)snprintf(buf, cap, "%s{\"e\":\"depthUpdate\",\"E\":1,"
                               "\"s\":\"BNBBTC\",\"U\":1,\"u\":2,\"b\":[",
                               combined ? "{\"stream\":\"bnbbtc@depth\","
                                          "\"data\":" : "");
        for (int i = 0; i < 30000; i++) {
            pos += (size_t)snprintf(buf + pos, cap - pos,
                                    "%s[\"%d.01\",\"1.5\"]", i ? "," : "",
                                    i + 1);
        }
        pos += (size_t)snprintf(buf + pos, cap - pos, "],\"a\":[]}%s",
                                combined ? "}" : "");
        vt_parse_n(buf, pos);
        CHECK_INT(vt.out.cls, CS_FRAME_IGNORED);
        CHECK_STR(vt.out.what, "depthUpdate");
        vt_parse_n(buf, pos - 2);
        CHECK_INT(vt.out.cls, CS_FRAME_MALFORMED);
        CHECK_STR(vt.out.what, "truncated JSON");
    }
    pos = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < 20000; i++) {
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s{\"e\":\"1hTicker\","
                                "\"E\":1,\"s\":\"AB\",\"c\":\"1\"}",
                                i ? "," : "");
    }
    buf[pos++] = ']';
    vt_parse_n(buf, pos);
    CHECK_INT(vt.out.cls, CS_FRAME_MALFORMED);
    CHECK_STR(vt.out.what, "too many JSON tokens");
    free(buf);
}

/* ---- hostile and malformed input ---- */

static void test_malformed_fields(void)
{
    static const struct vt_case cases[] = {
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"abc\",\"q\":\"1\","
          "\"T\":1}", "aggTrade: bad p" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"0\",\"q\":\"1\","
          "\"T\":1}", "aggTrade: bad p" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"-1.5\",\"q\":"
          "\"1\",\"T\":1}", "aggTrade: bad p" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"1e400\",\"q\":"
          "\"1\",\"T\":1}", "aggTrade: bad p" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":"
          "\"1234567890.123456789\",\"q\":\"1\",\"T\":1}", "aggTrade: bad p" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":true,\"q\":\"1\","
          "\"T\":1}", "aggTrade: bad p" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"1\\u0030\",\"q\":"
          "\"1\",\"T\":1}", "aggTrade: bad p" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"q\":\"1\",\"T\":1}",
          "aggTrade: missing p" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"\",\"q\":\"1\","
          "\"T\":1}", "aggTrade: missing p" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"1\",\"T\":1}",
          "aggTrade: missing q" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"1\",\"q\":\"-1\","
          "\"T\":1}", "aggTrade: bad q" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"1\",\"q\":\"1\"}",
          "aggTrade: missing T" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"1\",\"q\":\"1\","
          "\"T\":\"1618677373912\"}", "aggTrade: bad T" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"1\",\"q\":\"1\","
          "\"T\":0}", "aggTrade: bad T" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"1\",\"q\":\"1\","
          "\"T\":-5}", "aggTrade: bad T" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"1\",\"q\":\"1\","
          "\"T\":99999999999999999999}", "aggTrade: bad T" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"1\",\"q\":\"1\","
          "\"T\":1.5}", "aggTrade: bad T" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":1,\"p\":\"1\",\"q\":\"1\","
          "\"T\":9300000000000000}", "aggTrade: bad T" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"p\":\"1\",\"q\":\"1\",\"T\":1}",
          "aggTrade: missing a" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":-1,\"p\":\"1\",\"q\":\"1\","
          "\"T\":1}", "aggTrade: bad a" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNBBTC\",\"a\":\"7\",\"p\":\"1\",\"q\":"
          "\"1\",\"T\":1}", "aggTrade: bad a" },
        { "{\"e\":\"aggTrade\",\"a\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1}",
          "aggTrade: missing s" },
        { "{\"e\":\"aggTrade\",\"s\":5,\"a\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1}",
          "aggTrade: bad s" },
        { "{\"e\":\"aggTrade\",\"s\":\"\",\"a\":1,\"p\":\"1\",\"q\":\"1\","
          "\"T\":1}", "aggTrade: bad s" },
        { "{\"e\":\"aggTrade\",\"s\":\"BNB BTC\",\"a\":1,\"p\":\"1\",\"q\":\"1\","
          "\"T\":1}", "aggTrade: bad s" },
        { "{\"e\":\"trade\",\"s\":\"BNBBTC\",\"p\":\"1\",\"q\":\"1\",\"T\":1}",
          "trade: missing t" },
        { "{\"e\":5,\"s\":\"BNBBTC\"}", "bad e" },
        { "{\"u\":1,\"s\":\"BNBUSDT\",\"b\":\"x\",\"a\":\"1\"}",
          "bookTicker: bad b" },
        { "{\"u\":1,\"s\":\"BNBUSDT\",\"b\":\"1\"}", "bookTicker: missing a" },
        { "{\"u\":-1,\"s\":\"BNBUSDT\",\"b\":\"1\",\"a\":\"2\"}",
          "bookTicker: bad u" },
        { "{\"e\":\"24hrTicker\",\"E\":1,\"s\":\"BNBBTC\",\"c\":\"1\",\"b\":"
          "\"abc\"}", "24hrTicker: bad b" },
        { "{\"e\":\"24hrTicker\",\"E\":1,\"s\":\"BNBBTC\",\"c\":\"1\",\"a\":"
          "\"-2\"}", "24hrTicker: bad a" },
        { "{\"e\":\"24hrTicker\",\"E\":1,\"s\":\"BNBBTC\"}",
          "24hrTicker: missing c" },
        { "{\"e\":\"24hrMiniTicker\",\"s\":\"BNBBTC\",\"c\":\"1\"}",
          "24hrMiniTicker: missing E" },
        { "{\"stream\":\"bnbbtc@trade\"}", "combined: missing data" },
        { "{\"stream\":\"x\",\"data\":[{\"e\":\"trade\"}]}", "trade: missing s" },
    };

    vt_expect_malformed(cases, sizeof cases / sizeof cases[0], __LINE__);
}

static void test_hostile_bytes(void)
{
    vt_check_hostile("{\"stream\":\"swrvbusd@aggTrade\",\"data\":{\"e\":"
                     "\"aggTrade\",\"E\":1618677373913,\"s\":\"SWRVBUSD\","
                     "\"a\":749094,\"p\":\"2.27600000\",\"q\":"
                     "\"21.96300000\",\"f\":1135632,\"l\":1135632,\"T\":"
                     "1618677373912,\"m\":false,\"M\":true}}");
}

static void test_mutations(void)
{
    static const char *const files[] = {
        "exchanges/binance/ws_spot_combined_2021-04-17.jsonl",
        "exchanges/binance/ws_spot_combined_2021-10-12.jsonl",
        "exchanges/binance/ws_doc_examples.jsonl",
    };

    vt_check_mutations(files, 3, 0x6a09e667f3bcc908ULL, 6000);
}

/* ---- symbols and registry ---- */

static void check_split(const char *raw, const char *base, const char *quote,
                        int line)
{
    char b[16], q[16];
    if (!bn->split_symbol(raw, strlen(raw), b, sizeof b, q, sizeof q)) {
        cs_test_fail(__FILE__, line, "split(%s) failed", raw);
    } else if (strcmp(b, base) != 0 || strcmp(q, quote) != 0) {
        cs_test_fail(__FILE__, line, "split(%s) = %s/%s, want %s/%s", raw, b,
                     q, base, quote);
    } else {
        cs_test_passed++;
    }
}
#define SPLIT(raw, b, q) check_split(raw, b, q, __LINE__)

static void test_split(void)
{
    char b[16], q[16];

    SPLIT("SXPBTC", "SXP", "BTC");
    SPLIT("FTMUSDT", "FTM", "USDT");
    SPLIT("AAVEUPUSDT", "AAVEUP", "USDT");
    SPLIT("BUSDTRY", "BUSD", "TRY");
    SPLIT("ADARUB", "ADA", "RUB");
    SPLIT("STEEMETH", "STEEM", "ETH");
    SPLIT("VETETH", "VET", "ETH");
    SPLIT("GTOBTC", "GTO", "BTC");
    SPLIT("PERLBNB", "PERL", "BNB");
    SPLIT("SWRVBUSD", "SWRV", "BUSD");
    SPLIT("RUNEEUR", "RUNE", "EUR");
    SPLIT("NKNUSDT", "NKN", "USDT");
    SPLIT("LRCBTC", "LRC", "BTC");
    SPLIT("BLZETH", "BLZ", "ETH");
    SPLIT("ONTTRY", "ONT", "TRY");
    SPLIT("QSPBTC", "QSP", "BTC");
    SPLIT("aaveupusdt", "AAVEUP", "USDT");
    SPLIT("swrvbusd", "SWRV", "BUSD");
    SPLIT("BTCFDUSD", "BTC", "FDUSD");
    SPLIT("ETHTUSD", "ETH", "TUSD");
    SPLIT("BTCUSDC", "BTC", "USDC");
    SPLIT("USDTTRY", "USDT", "TRY");
    SPLIT("USDCUSDT", "USDC", "USDT");
    SPLIT("BTCUSD", "BTC", "USD");
    SPLIT("ETHBTC", "ETH", "BTC");
    SPLIT("WBTCBTC", "WBTC", "BTC");
    SPLIT("BTCIDRT", "BTC", "IDRT");
    SPLIT("BNBUSDT", "BNB", "USDT");
    SPLIT("SHIBDOGE", "SHIB", "DOGE");
    SPLIT("1INCHUSDT", "1INCH", "USDT");
    SPLIT("OPUSDT", "OP", "USDT");

    CHECK(!bn->split_symbol("BTC", 3, b, sizeof b, q, sizeof q));
    CHECK(!bn->split_symbol("XUSDT", 5, b, sizeof b, q, sizeof q));
    CHECK(!bn->split_symbol("", 0, b, sizeof b, q, sizeof q));
    CHECK(!bn->split_symbol("ABCXYZ", 6, b, sizeof b, q, sizeof q));
    CHECK(!bn->split_symbol("BTC-USDT", 8, b, sizeof b, q, sizeof q));
    CHECK(!bn->split_symbol("BTC/USDT", 8, b, sizeof b, q, sizeof q));
    CHECK(!bn->split_symbol("BTCUSDT", 7, b, 3, q, sizeof q));
    CHECK(!bn->split_symbol("BTCUSDT", 7, b, sizeof b, q, 4));
    CHECK(bn->split_symbol("BTCUSDT", 7, b, 4, q, 5));
    CHECK(!bn->split_symbol(NULL, 0, b, sizeof b, q, sizeof q));
    /* Only `len` bytes are read. */
    CHECK(bn->split_symbol("ETHBTCXX", 6, b, sizeof b, q, sizeof q));
    CHECK_STR(q, "BTC");
}

static void test_registry(void)
{
    static const char *const names[] = { "binance", "coinbase", "kraken",
                                         "okx", "bybit", "coinbase-exchange",
                                         "bybit-linear" };
    const struct cs_venue_ops *const *all = cs_venue_all();
    size_t n = 0;

    CHECK(cs_venue_find("binance") == &cs_venue_binance);
    CHECK(cs_venue_find("coinbase") == &cs_venue_coinbase);
    CHECK(cs_venue_find("kraken") == &cs_venue_kraken);
    CHECK(cs_venue_find("okx") == &cs_venue_okx);
    CHECK(cs_venue_find("bybit") == &cs_venue_bybit);
    CHECK(cs_venue_find("coinbase-exchange") == &cs_venue_coinbase_exchange);
    CHECK(cs_venue_find("bybit-linear") == &cs_venue_bybit_linear);
    CHECK(cs_venue_find("coinbase-") == NULL);
    CHECK(cs_venue_find("bybit-spot") == NULL);
    CHECK(cs_venue_find("Binance") == NULL);
    CHECK(cs_venue_find("") == NULL);
    CHECK(cs_venue_find(NULL) == NULL);
    while (all[n] != NULL) {
        CHECK(all[n]->parse != NULL && all[n]->split_symbol != NULL
              && all[n]->wire != NULL && all[n]->build_subscription != NULL
              && all[n]->build_ping != NULL
              && all[n]->compose_symbol != NULL);
        CHECK(n < 7 && strcmp(all[n]->name, names[n]) == 0);
        n++;
    }
    CHECK_INT(n, 7);
    cs_venue_scratch_free(NULL);
}

/* ---- wire ---- */

static void test_wire(void)
{
    static const char *const one[] = { "BTCUSDT" };
    static const char *const agg_depth[] = { "aggTrade", "depth" };
    static const char *const depth[] = { "depth" };
    static const char *const quoted[] = { "BTC\"X", "ETHBTC" };
    const struct cs_venue_wire *w = bn->wire;
    const char *many[120];
    char names[120][16];
    uint64_t id = 0;
    char ping[64];

    vt_check_wire();
    CHECK_STR(w->ws_url, "wss://stream.binance.com:9443/ws");
    CHECK_INT(w->max_symbols_per_conn, 200);
    CHECK_INT(w->max_symbols_per_msg, 50);
    CHECK_INT(w->max_client_msgs_per_s, 4);
    CHECK_INT(w->idle_timeout_ms, 60000);
    CHECK_INT(w->ping_interval_ms, 0);
    CHECK_INT(w->max_lifetime_ms, 85800000);
    CHECK_STR(w->default_channels[0], "aggTrade");
    CHECK(vt_in_list(w->all_channels, "bookTicker")
          && vt_in_list(w->all_channels, "miniTicker")
          && vt_in_list(w->all_channels, "ticker")
          && vt_in_list(w->all_channels, "trade"));
    CHECK_INT(bn->build_ping(&id, ping, sizeof ping), 0);
    CHECK_INT(id, 0);

    /* The documentation's requests, byte for byte. */
    CHECK_INT(vt_build(one, 1, agg_depth, 2, false, &id), 1);
    CHECK_INT(id, 1);
    vt_check_sent_file("exchanges/binance/ws_doc_examples.client_sent.jsonl",
                       0, 1, __LINE__);
    id = 311;
    CHECK_INT(vt_build(one, 1, depth, 1, true, &id), 1);
    vt_check_sent_file("exchanges/binance/ws_doc_examples.client_sent.jsonl",
                       1, 1, __LINE__);

    /* Stream names are lower case; a quote is escaped, not trusted. */
    id = 0;
    CHECK_INT(vt_build(quoted, 2, agg_depth, 1, false, &id), 1);
    CHECK_STR(vt_sent.text[0], "{\"method\":\"SUBSCRIBE\",\"params\":"
              "[\"btc\\\"x@aggTrade\",\"ethbtc@aggTrade\"],\"id\":1}");

    /* 120 symbols on two channels: 50 + 50 + 20 symbols. */
    for (size_t i = 0; i < 120; i++) {
        snprintf(names[i], sizeof names[i], "SYM%zuUSDT", i);
        many[i] = names[i];
    }
    CHECK_INT(vt_build(many, 120, agg_depth, 2, false, &id), 3);
    CHECK_INT(id, 4);
    CHECK(strstr(vt_sent.text[0], "\"sym49usdt@depth\"],\"id\":2}") != NULL);
    CHECK(strstr(vt_sent.text[2], "[\"sym100usdt@aggTrade\",") != NULL);
    CHECK(strstr(vt_sent.text[2], "\"sym119usdt@depth\"],\"id\":4}") != NULL);

    SYMBOL("BTC", "USDT", "BTCUSDT");
    SYMBOL("AAVEUP", "USDT", "AAVEUPUSDT");
    SYMBOL("ETH", "BTC", "ETHBTC");
}

int main(void)
{
    vt_setup(bn, 777, false);
    test_recording_2021_04_17();
    test_recording_2021_10_12();
    test_doc_examples_file();
    test_recorded_ticks();
    test_doc_examples();
    test_other_events();
    test_arrays();
    test_huge_frames();
    test_malformed_fields();
    test_hostile_bytes();
    test_mutations();
    test_split();
    test_registry();
    test_wire();
    return vt_finish("test_venue_binance");
}
