/* The "coinbase-exchange" venue (the Coinbase Exchange ws-feed): the
 * shared Coinbase parser against the 2021 ws-feed recording with every
 * tick named "coinbase-exchange", the feed's control frames (heartbeat
 * included) classified CONTROL, hostile input and a mutation loop;
 * product-id spelling and the wire layer (subscribe messages as the
 * recording's client sent them, heartbeat always along). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/err.h"
#include "cryptosup/timeutil.h"
#include "cryptosup/venue.h"
#include "testlib.h"
#include "venue_testlib.h"

static const struct cs_venue_ops *cx = &cs_venue_coinbase_exchange;

static const char *const feed =
    "exchanges/coinbase/exchange_ws_feed_2021-04-17_A.jsonl";
static const char *const feed_sent =
    "exchanges/coinbase/exchange_ws_feed_2021-04-17_A.client_sent.jsonl";

/* ---- the recording ---- */

/* Recorded ticks: named by this venue (the very string of its ops), a
 * product id that splits, a seq, both sides on tickers. */
static bool recorded_tick_ok(const struct cs_tick *t, const char *line)
{
    char base[16], quote[16];

    (void)line;
    return t->exchange == cx->name && t->ts_ns > 1609459200LL * CS_NS_PER_S
           && t->has_seq
           && cx->split_symbol(t->raw_symbol.ptr, t->raw_symbol.len, base,
                               sizeof base, quote, sizeof quote)
           && (t->kind == CS_TICK_TRADE ? !t->has_bid && t->has_qty
                                        : t->has_bid && t->has_ask);
}

static void test_feed_recording(void)
{
    struct vt_tally ty;

    vt_tally_file(feed, &ty, recorded_tick_ok);
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
    CHECK_INT(ty.kinds[CS_TICK_TRADE], 77);
    CHECK_INT(ty.seq_kinds[CS_SEQ_INCREASING], 77);
    CHECK_INT(ty.seq_kinds[CS_SEQ_CONTIGUOUS], 77);
    CHECK_INT(ty.gaps, 0);
    CHECK_INT(ty.insane, 0);          /* includes: exchange is our name */
    CHECK_INT(ty.bad_tick, 0);
}

static bool text_same(struct cs_text a, struct cs_text b)
{
    return a.ptr == b.ptr && a.len == b.len;
}

static bool decimal_same(struct cs_decimal a, struct cs_decimal b)
{
    return a.mant == b.mant && a.exp == b.exp;
}

/* Everything but the exchange. */
static bool ticks_same(const struct cs_tick *a, const struct cs_tick *b)
{
    return text_same(a->raw_symbol, b->raw_symbol) && a->kind == b->kind
           && a->has_price == b->has_price && a->has_bid == b->has_bid
           && a->has_ask == b->has_ask && a->has_qty == b->has_qty
           && a->has_seq == b->has_seq && decimal_same(a->price, b->price)
           && decimal_same(a->bid, b->bid) && decimal_same(a->ask, b->ask)
           && decimal_same(a->qty, b->qty)
           && text_same(a->price_text, b->price_text)
           && text_same(a->bid_text, b->bid_text)
           && text_same(a->ask_text, b->ask_text)
           && text_same(a->qty_text, b->qty_text) && a->ts_ns == b->ts_ns
           && a->recv_ns == b->recv_ns && a->seq == b->seq
           && a->seq_kind == b->seq_kind && a->seq_series == b->seq_series;
}

/* The same bytes through the "coinbase" venue give the same ticks but
 * for the name: one parser, two venues. */
static void test_same_parser(void)
{
    struct cs_venue_scratch *other = cs_venue_scratch_new();
    struct cs_parse_out *theirs = malloc(sizeof *theirs);
    struct vt_lines l;
    unsigned differ = 0, ticks = 0;

    cs_require(theirs != NULL);
    vt_new_scratch();
    vt_lines_load(&l, feed);
    for (size_t i = 0; i < l.n; i++) {
        const char *copy = vt_parse_n(l.line[i], l.len[i]);
        cs_venue_coinbase.parse(other, copy, l.len[i], vt.recv_ns, theirs);
        differ += theirs->cls != vt.out.cls || theirs->n != vt.out.n
                  || strcmp(theirs->what, vt.out.what) != 0;
        for (size_t k = 0; k < vt.out.n && k < theirs->n; k++) {
            const struct cs_tick *a = &vt.out.ticks[k], *b = &theirs->ticks[k];
            differ += strcmp(a->exchange, "coinbase-exchange") != 0
                      || strcmp(b->exchange, "coinbase") != 0
                      || !ticks_same(a, b);
            ticks++;
        }
    }
    vt_lines_free(&l);
    CHECK_INT(differ, 0);
    CHECK_INT(ticks, 154);
    free(theirs);
    cs_venue_scratch_free(other);
}

/* ---- frames ---- */

static void test_frames(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];

    vt_parse("{\"type\":\"ticker\",\"sequence\":333938798,\"product_id\":"
             "\"BAND-GBP\",\"price\":\"14.7775\",\"open_24h\":\"14.6647\","
             "\"volume_24h\":\"94381.28000000\",\"low_24h\":\"14.3691\","
             "\"high_24h\":\"16.55\",\"volume_30d\":\"2295579.57000000\","
             "\"best_bid\":\"14.7550\",\"best_ask\":\"14.8060\",\"side\":"
             "\"buy\",\"time\":\"2021-04-17T16:43:30.244075Z\",\"trade_id\":"
             "881613,\"last_size\":\"0.04\"}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_STR(vt.out.what, "ticker");
    CHECK_INT(vt.out.n, 1);
    CHECK_STR(t->exchange, "coinbase-exchange");
    CHECK(cs_venue_find(t->exchange) == cx);
    CHECK_INT(t->kind, CS_TICK_TICKER);
    CHECK(vt_text_is(t->raw_symbol, "BAND-GBP"));
    CHECK(vt_text_is(t->price_text, "14.7775"));
    CHECK(vt_text_is(t->bid_text, "14.7550"));
    CHECK(vt_text_is(t->ask_text, "14.8060"));
    CHECK(vt_text_is(t->qty_text, "0.04"));
    CHECK_INT(t->ts_ns, 1618677810244075000LL);
    CHECK_INT(t->seq, 333938798);
    CHECK_INT(t->seq_kind, CS_SEQ_INCREASING);
    CHECK_INT(t->recv_ns, 444);

    vt_parse("{\"type\":\"match\",\"trade_id\":10,\"sequence\":50,"
             "\"maker_order_id\":\"ac928c66-ca53-498f-9c13-a110027a60e8\","
             "\"taker_order_id\":\"132fb6ae-456b-4654-b4e0-d681ac05cea1\","
             "\"time\":\"2014-11-07T08:19:27.028459Z\",\"product_id\":"
             "\"BTC-USD\",\"size\":\"5.23512\",\"price\":\"400.23\",\"side\":"
             "\"sell\"}");
    CHECK_STR(vt.out.what, "match");
    CHECK_STR(t->exchange, "coinbase-exchange");
    CHECK_INT(t->kind, CS_TICK_TRADE);
    CHECK(vt_text_is(t->qty_text, "5.23512"));
    CHECK_INT(t->seq, 10);
    CHECK_INT(t->seq_kind, CS_SEQ_CONTIGUOUS);

    /* Advanced Trade frames parse here too (one parser), named so. */
    vt_parse("{\"channel\":\"ticker\",\"timestamp\":\"2026-08-09T21:05:48Z\","
             "\"sequence_num\":6,\"events\":[{\"type\":\"update\",\"tickers\":"
             "[{\"product_id\":\"BTC-USD\",\"price\":\"65086.18\"}]}]}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_STR(t->exchange, "coinbase-exchange");
}

/* What the ws-feed sends besides data: heartbeats (the CBX docs' shape
 * and the fake exchange's key order), the subscriptions reply, errors. */
static void test_control(void)
{
    EXPECT("{\"type\":\"heartbeat\",\"sequence\":90,\"last_trade_id\":20,"
           "\"product_id\":\"BTC-USD\",\"time\":\"2014-11-07T08:19:28.464459Z\"}",
           CS_FRAME_CONTROL, "heartbeat");
    CHECK(!vt.out.connection_gap);
    EXPECT("{\"type\":\"heartbeat\",\"last_trade_id\":0,\"product_id\":"
           "\"BTC-USD\",\"sequence\":0,\"time\":\"2026-08-09T21:05:48.123456Z\"}",
           CS_FRAME_CONTROL, "heartbeat");
    EXPECT("{\"type\":\"heartbeat\"}", CS_FRAME_CONTROL, "heartbeat");
    EXPECT("{\"type\":\"subscriptions\",\"channels\":[{\"name\":\"ticker\","
           "\"product_ids\":[\"ETH-USD\"]},{\"name\":\"heartbeat\","
           "\"product_ids\":[\"ETH-USD\"]}]}", CS_FRAME_CONTROL,
           "subscriptions");
    EXPECT("{\"type\":\"error\",\"message\":\"Failed to subscribe\",\"reason\":"
           "\"level2 channel requires authentication\"}", CS_FRAME_CONTROL,
           "error");
    EXPECT("{\"type\":\"l2update\",\"product_id\":\"BTC-USD\",\"changes\":"
           "[[\"buy\",\"1\",\"2\"]],\"time\":\"2021-04-17T16:43:30Z\"}",
           CS_FRAME_IGNORED, "l2update");
    EXPECT("{\"type\":\"status\",\"products\":[],\"currencies\":[]}",
           CS_FRAME_IGNORED, "status");
    EXPECT("{\"type\":\"newthing\"}", CS_FRAME_UNKNOWN, "unknown type");
    EXPECT("{\"type\":\"ticker\",\"product_id\":\"BTC-USD\",\"price\":\"1\"}",
           CS_FRAME_MALFORMED, "ticker: missing time");
    EXPECT("{\"type\":\"match\",\"product_id\":\"BTC-USD\",\"price\":\"1\","
           "\"time\":\"2021-04-17T16:43:30Z\"}", CS_FRAME_MALFORMED,
           "match: missing size");
}

static void test_hostile_and_mutations(void)
{
    static const char *const files[] = { feed };

    vt_check_hostile("{\"type\":\"ticker\",\"sequence\":333938798,"
                     "\"product_id\":\"BAND-GBP\",\"price\":\"14.7775\","
                     "\"best_bid\":\"14.7550\",\"best_ask\":\"14.8060\","
                     "\"time\":\"2021-04-17T16:43:30.244075Z\",\"trade_id\":"
                     "881613,\"last_size\":\"0.04\"}");
    vt_check_mutations(files, 1, 0x3c6ef372fe94f82bULL, 6000);
}

/* ---- symbols and wire ---- */

static void test_symbols(void)
{
    char b[16], q[16];

    SYMBOL("BTC", "USD", "BTC-USD");
    SYMBOL("BAND", "GBP", "BAND-GBP");
    SYMBOL("ETH", "USDC", "ETH-USDC");
    CHECK(!cx->split_symbol("BTCUSD", 6, b, sizeof b, q, sizeof q));
    CHECK_STR(cx->name, "coinbase-exchange");
    CHECK(cs_venue_find("coinbase-exchange") == cx);
}

static void test_wire(void)
{
    static const char *const recorded[] = {
        "SKL-USD", "SKL-BTC", "BAND-GBP", "NMR-EUR", "BAND-BTC", "YFI-BTC",
        "DASH-BTC", "NU-GBP", "CRV-EUR", "SKL-GBP",
    };
    static const char *const recorded_channels[] = { "level2", "ticker",
                                                     "matches" };
    static const char *const two[] = { "BTC-USD", "ETH-USD" };
    static const char *const with_heartbeat[] = { "heartbeat", "matches" };
    const struct cs_venue_wire *w = cx->wire;
    const char *many[250];
    char names[250][16], ping[64];
    uint64_t id = 0;

    vt_check_wire();
    CHECK_STR(w->ws_url, "wss://ws-feed.exchange.coinbase.com");
    CHECK_INT(w->max_symbols_per_conn, 100);
    CHECK_INT(w->max_symbols_per_msg, 100);
    CHECK_INT(w->max_client_msgs_per_s, 4);
    CHECK_INT(w->idle_timeout_ms, 30000);
    CHECK_INT(w->ping_interval_ms, 0);
    CHECK_INT(w->max_lifetime_ms, 0);
    CHECK_STR(w->default_channels[0], "ticker");
    CHECK_STR(w->default_channels[1], "heartbeat");
    CHECK(w->default_channels[2] == NULL);
    CHECK(vt_in_list(w->all_channels, "matches"));
    CHECK(!vt_in_list(w->all_channels, "level2"));   /* needs auth now */
    CHECK(!vt_in_list(w->all_channels, "heartbeats"));

    /* The recorded connection's three subscribe frames, byte for byte,
     * then the heartbeat we always add. */
    CHECK_INT(vt_build(recorded, 10, recorded_channels, 3, false, &id), 4);
    CHECK_STR(vt_sent.text[3], "{\"type\":\"subscribe\",\"product_ids\":["
              "\"SKL-USD\",\"SKL-BTC\",\"BAND-GBP\",\"NMR-EUR\",\"BAND-BTC\","
              "\"YFI-BTC\",\"DASH-BTC\",\"NU-GBP\",\"CRV-EUR\",\"SKL-GBP\"],"
              "\"channels\":[\"heartbeat\"]}");
    vt_sent.n = 3;
    vt_check_sent_file(feed_sent, 0, 3, __LINE__);
    CHECK_INT(id, 0);                       /* no request ids */

    /* The default channels: ticker, then heartbeat. */
    CHECK_INT(vt_build(two, 2, w->default_channels, 2, false, &id), 2);
    CHECK_STR(vt_sent.text[0], "{\"type\":\"subscribe\",\"product_ids\":"
              "[\"BTC-USD\",\"ETH-USD\"],\"channels\":[\"ticker\"]}");
    CHECK_STR(vt_sent.text[1], "{\"type\":\"subscribe\",\"product_ids\":"
              "[\"BTC-USD\",\"ETH-USD\"],\"channels\":[\"heartbeat\"]}");
    /* Named heartbeat is not sent twice; unsubscribing takes it too (it
     * is per product). */
    CHECK_INT(vt_build(two, 1, with_heartbeat, 2, false, &id), 2);
    CHECK_STR(vt_sent.text[0], "{\"type\":\"subscribe\",\"product_ids\":"
              "[\"BTC-USD\"],\"channels\":[\"heartbeat\"]}");
    CHECK_STR(vt_sent.text[1], "{\"type\":\"subscribe\",\"product_ids\":"
              "[\"BTC-USD\"],\"channels\":[\"matches\"]}");
    CHECK_INT(vt_build(two + 1, 1, w->default_channels, 1, true, &id), 2);
    CHECK_STR(vt_sent.text[0], "{\"type\":\"unsubscribe\",\"product_ids\":"
              "[\"ETH-USD\"],\"channels\":[\"ticker\"]}");
    CHECK_STR(vt_sent.text[1], "{\"type\":\"unsubscribe\",\"product_ids\":"
              "[\"ETH-USD\"],\"channels\":[\"heartbeat\"]}");

    /* 250 products: 100 + 100 + 50 per channel. */
    for (size_t i = 0; i < 250; i++) {
        snprintf(names[i], sizeof names[i], "S%zu-USD", i);
        many[i] = names[i];
    }
    CHECK_INT(vt_build(many, 250, w->default_channels, 2, false, &id), 6);
    CHECK(strstr(vt_sent.text[0], "\"S99-USD\"],\"channels\":[\"ticker\"]}")
          != NULL);
    {
        const char *want = "{\"type\":\"subscribe\",\"product_ids\":"
                           "[\"S200-USD\",";
        CHECK(strncmp(vt_sent.text[5], want, strlen(want)) == 0);
    }
    CHECK(strstr(vt_sent.text[5], "\"S249-USD\"],\"channels\":"
                                  "[\"heartbeat\"]}") != NULL);
    CHECK_INT(id, 0);

    /* No client ping: the feed has none. */
    CHECK_INT(cx->build_ping(&id, ping, sizeof ping), 0);
    CHECK_INT(id, 0);
}

int main(void)
{
    vt_setup(cx, 444, false);
    test_feed_recording();
    test_same_parser();
    test_frames();
    test_control();
    test_hostile_and_mutations();
    test_symbols();
    test_wire();
    return vt_finish("test_venue_coinbase_exchange");
}
