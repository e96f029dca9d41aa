/* The "bybit-linear" venue: the shared Bybit parser against the 2026
 * linear recording with every tick named "bybit-linear" and the deltas
 * merged into each symbol's snapshot (checked against a merge done here,
 * frame by frame, from the recorded text); hostile input and a mutation
 * loop; the linear endpoint and the subscribe requests as recorded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/venue.h"
#include "testlib.h"
#include "venue_testlib.h"

#define MS (1000000LL)

static const struct cs_venue_ops *bl = &cs_venue_bybit_linear;

static const char *const linear =
    "exchanges/bybit/ws_v5_linear_tickers_2026-08-09_BTC_ETH.jsonl";
static const char *const linear_sent =
    "exchanges/bybit/ws_v5_linear_tickers_2026-08-09_BTC_ETH.client_sent.jsonl";

/* ---- the recording ---- */

static bool recorded_tick_ok(const struct cs_tick *t, const char *line)
{
    bool delta = strstr(line, "\"type\":\"delta\"") != NULL;

    return t->exchange == bl->name && t->has_price && t->has_bid
           && t->has_ask && cs_decimal_cmp(t->bid, t->ask) < 0 && t->has_seq
           && t->seq_kind == (delta ? CS_SEQ_INCREASING : CS_SEQ_NONE)
           && t->ts_ns > 1786310800000LL * MS
           && t->ts_ns < 1786310900000LL * MS;
}

static void test_recording(void)
{
    struct vt_tally ty;

    vt_tally_file(linear, &ty, recorded_tick_ok);
    CHECK_INT(ty.lines, 418);
    CHECK_INT(ty.cls[CS_FRAME_DATA], 401);
    CHECK_INT(ty.cls[CS_FRAME_CONTROL], 17);
    CHECK_INT(ty.cls[CS_FRAME_IGNORED], 0);
    CHECK_INT(ty.cls[CS_FRAME_UNKNOWN], 0);
    CHECK_INT(ty.cls[CS_FRAME_MALFORMED], 0);
    CHECK_INT(vt_what(&ty, "tickers snapshot"), 2);
    CHECK_INT(vt_what(&ty, "tickers delta"), 399);
    CHECK_INT(vt_what(&ty, "subscribe"), 17);
    CHECK_INT(ty.kinds[CS_TICK_TICKER], 401);
    CHECK_INT(ty.seq_kinds[CS_SEQ_INCREASING], 399);
    CHECK_INT(ty.gaps, 0);
    CHECK_INT(ty.insane, 0);          /* includes: exchange is our name */
    CHECK_INT(ty.bad_tick, 0);
}

/* ---- the merge, checked against one done here ---- */

/* The text of "key":"value" in data of a recorded line, or NULL. */
static const char *field(const char *line, const char *key, size_t *len)
{
    char pat[32];
    const char *p, *end;

    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    if ((p = strstr(line, pat)) == NULL) {
        return NULL;
    }
    p += strlen(pat);
    end = strchr(p, '"');
    *len = (size_t)(end - p);
    return p;
}

struct mine {
    char symbol[16], last[32], bid[32], ask[32];
};

static void keep(char *dst, size_t size, const char *line, const char *key)
{
    size_t len;
    const char *v = field(line, key, &len);

    if (v != NULL && len < size) {
        memcpy(dst, v, len);
        dst[len] = '\0';
    }
}

static void test_merge_matches(void)
{
    struct mine m[2];
    struct vt_lines l;
    size_t nm = 0;
    unsigned wrong = 0, deltas = 0, partial = 0;
    char line[4096];

    memset(m, 0, sizeof m);
    vt_new_scratch();
    vt_lines_load(&l, linear);
    for (size_t i = 0; i < l.n; i++) {
        const struct cs_tick *t = &vt.out.ticks[0];
        struct mine *s = NULL;
        char sym[16] = "";
        bool delta;

        vt_parse_n(l.line[i], l.len[i]);
        if (vt.out.n != 1 || l.len[i] >= sizeof line) {
            continue;
        }
        memcpy(line, l.line[i], l.len[i]);
        line[l.len[i]] = '\0';
        keep(sym, sizeof sym, line, "symbol");
        for (size_t k = 0; k < nm; k++) {
            if (strcmp(m[k].symbol, sym) == 0) {
                s = &m[k];
            }
        }
        if (s == NULL && nm < 2) {
            s = &m[nm++];
            memcpy(s->symbol, sym, sizeof sym);
        }
        if (s == NULL) {
            wrong++;
            continue;
        }
        delta = strstr(line, "\"type\":\"delta\"") != NULL;
        deltas += delta;
        partial += delta && (field(line, "lastPrice", &(size_t){ 0 }) == NULL
                             || field(line, "bid1Price", &(size_t){ 0 })
                                    == NULL
                             || field(line, "ask1Price", &(size_t){ 0 })
                                    == NULL);
        keep(s->last, sizeof s->last, line, "lastPrice");
        keep(s->bid, sizeof s->bid, line, "bid1Price");
        keep(s->ask, sizeof s->ask, line, "ask1Price");
        wrong += strcmp(t->exchange, "bybit-linear") != 0
                 || !vt_text_is(t->raw_symbol, s->symbol)
                 || !vt_text_is(t->price_text, s->last)
                 || !vt_text_is(t->bid_text, s->bid)
                 || !vt_text_is(t->ask_text, s->ask);
    }
    vt_lines_free(&l);
    CHECK_INT(nm, 2);
    CHECK_INT(deltas, 399);
    CHECK(partial > 300);             /* most deltas leave fields out */
    CHECK_INT(wrong, 0);
}

static void test_frames(void)
{
    const struct cs_tick *t = &vt.out.ticks[0];

    vt_new_scratch();
    EXPECT("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{"
           "\"symbol\":\"BTCUSDT\",\"bid1Price\":\"1\"},\"cs\":2,\"ts\":"
           "1786310817883}", CS_FRAME_MALFORMED,
           "tickers: delta before snapshot");
    vt_parse("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"snapshot\",\"data\":{"
             "\"symbol\":\"BTCUSDT\",\"lastPrice\":\"65114.30\",\"bid1Price\":"
             "\"65114.20\",\"ask1Price\":\"65114.30\"},\"cs\":753843900397,"
             "\"ts\":1786310817583}");
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    CHECK_STR(t->exchange, "bybit-linear");
    CHECK(cs_venue_find(t->exchange) == bl);
    vt_parse("{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{"
             "\"symbol\":\"BTCUSDT\",\"bid1Price\":\"65114.10\"},\"cs\":"
             "753843907770,\"ts\":1786310817883}");
    CHECK_STR(vt.out.what, "tickers delta");
    CHECK_STR(t->exchange, "bybit-linear");
    CHECK(vt_text_is(t->price_text, "65114.30"));
    CHECK(vt_text_is(t->bid_text, "65114.10"));
    CHECK(vt_text_is(t->ask_text, "65114.30"));
    CHECK_INT(t->seq_kind, CS_SEQ_INCREASING);
    CHECK_INT(t->recv_ns, 333);
    /* The linear replies: subscribe ack and pong carry req_id. */
    EXPECT("{\"success\":true,\"ret_msg\":\"\",\"conn_id\":\"x\",\"req_id\":"
           "\"1\",\"op\":\"subscribe\"}", CS_FRAME_CONTROL, "subscribe");
    EXPECT("{\"success\":true,\"ret_msg\":\"pong\",\"conn_id\":\"x\","
           "\"req_id\":\"2\",\"op\":\"ping\"}", CS_FRAME_CONTROL, "ping");
}

static void test_hostile_and_mutations(void)
{
    static const char *const files[] = { linear };

    vt_check_hostile("{\"topic\":\"tickers.BTCUSDT\",\"ts\":1786310819126,"
                     "\"type\":\"snapshot\",\"cs\":112488546160,\"data\":{"
                     "\"symbol\":\"BTCUSDT\",\"lastPrice\":\"65140.5\"}}");
    vt_new_scratch();
    vt_check_mutations(files, 1, 0x9b05688c2b3e6c1fULL, 6000);
}

/* ---- symbols and wire ---- */

static void test_symbols(void)
{
    char b[16], q[16];

    SYMBOL("BTC", "USDT", "BTCUSDT");
    SYMBOL("ETH", "USDC", "ETHUSDC");
    SYMBOL("1000PEPE", "USDT", "1000PEPEUSDT");
    CHECK(!bl->split_symbol("BTC-26DEC25", 11, b, sizeof b, q, sizeof q));
    CHECK_STR(bl->name, "bybit-linear");
    CHECK(cs_venue_find("bybit-linear") == bl);
}

static void test_wire(void)
{
    static const char *const recorded[] = { "BTCUSDT", "DOGEUSDT", "ETHUSDT",
                                            "SOLUSDT" };
    static const char *const tickers[] = { "tickers" };
    const struct cs_venue_wire *w = bl->wire;
    const char *many[25];
    char names[25][16], ping[64];
    uint64_t id = 0;
    struct vt_lines l;
    const char *rest;

    vt_check_wire();
    CHECK_STR(w->ws_url, "wss://stream.bybit.com/v5/public/linear");
    CHECK_INT(w->max_symbols_per_msg, 10);
    CHECK_INT(w->max_symbols_per_conn, 200);
    CHECK_INT(w->ping_interval_ms, 20000);
    CHECK_INT(w->idle_timeout_ms, 60000);
    CHECK_STR(w->default_channels[0], "tickers");
    CHECK(w->default_channels[1] == NULL);
    /* Spot is unchanged. */
    CHECK_STR(cs_venue_bybit.wire->ws_url,
              "wss://stream.bybit.com/v5/public/spot");

    /* The recorded request, with our req_id in front. */
    CHECK_INT(vt_build(recorded, 4, tickers, 1, false, &id), 1);
    CHECK_STR(vt_sent.text[0], "{\"req_id\":\"1\",\"op\":\"subscribe\","
              "\"args\":[\"tickers.BTCUSDT\",\"tickers.DOGEUSDT\","
              "\"tickers.ETHUSDT\",\"tickers.SOLUSDT\"]}");
    vt_lines_load(&l, linear_sent);
    rest = vt_sent.text[0] + strlen("{\"req_id\":\"1\",");
    CHECK(l.n == 17 && l.len[0] == strlen(rest) + 1
          && memcmp(l.line[0] + 1, rest, strlen(rest)) == 0);
    vt_lines_free(&l);

    /* 25 symbols: 10 + 10 + 5 args. */
    for (size_t i = 0; i < 25; i++) {
        snprintf(names[i], sizeof names[i], "S%zuUSDT", i);
        many[i] = names[i];
    }
    CHECK_INT(vt_build(many, 25, tickers, 1, false, &id), 3);
    CHECK(strstr(vt_sent.text[0], "\"tickers.S9USDT\"]}") != NULL);
    CHECK_STR(vt_sent.text[2], "{\"req_id\":\"4\",\"op\":\"subscribe\","
              "\"args\":[\"tickers.S20USDT\",\"tickers.S21USDT\","
              "\"tickers.S22USDT\",\"tickers.S23USDT\",\"tickers.S24USDT\"]}");
    CHECK_INT(id, 4);

    CHECK_INT(bl->build_ping(&id, ping, sizeof ping), 26);
    CHECK_STR(ping, "{\"req_id\":\"5\",\"op\":\"ping\"}");
}

int main(void)
{
    vt_setup(bl, 333, true);
    test_recording();
    test_merge_matches();
    test_frames();
    test_hostile_and_mutations();
    test_symbols();
    test_wire();
    return vt_finish("test_venue_bybit_linear");
}
