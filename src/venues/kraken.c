/* Kraken Spot WebSocket v2 frames to normalised ticks, the split of
 * "BTC/USD" symbols, and the v2 subscribe and ping messages and limits. */
#include "cryptosup/venue.h"

#include <string.h>

#include "cryptosup/json.h"
#include "cryptosup/jsonw.h"

#define EXCHANGE "kraken"

/* What the parser decides, for readers of its output (KRD ticker, trade,
 * heartbeat, status, ping pages; PROTOCOLS.md section 4):
 * - Prices and quantities are JSON numbers; the tick keeps the literal
 *   text ("105944.20"), so trailing zeros survive.
 * - ticker (snapshot and update alike): one ticker tick per data[]
 *   element: price `last` (required), bid `bid`, ask `ask` (0 is an empty
 *   side), time `timestamp` when present (newer docs), else 0. No seq.
 * - trade: one trade tick per data[] element: price, qty, timestamp (all
 *   required), seq trade_id when present as CS_SEQ_INCREASING: the ids
 *   are per pair, but the docs promise no +1 steps (and say "no sequence
 *   numbers"), so a skip is not reported as a loss.
 * - heartbeat and status channels, and method replies (subscribe,
 *   unsubscribe, pong) are CONTROL; a reply with "success":false is
 *   CONTROL "request error". book/ohlc/instrument/level3 are IGNORED.
 * - One malformed element rejects the frame. */

struct layout {
    const char *name;
    enum cs_tick_kind kind;
    const char *price, *qty;   /* qty "" when the channel has none */
    bool sides;                /* bid / ask */
    bool time_required;
    const char *missing_symbol, *bad_symbol, *missing_price, *bad_price,
               *missing_qty, *bad_qty, *bad_bid, *bad_ask, *missing_time,
               *bad_time, *bad_seq, *not_object, *bad_data;
};

#define LAYOUT(nm, kind, price, qty, sides, time_req) { \
    nm, kind, price, qty, sides, time_req, \
    nm ": missing symbol", nm ": bad symbol", nm ": missing " price, \
    nm ": bad " price, nm ": missing " qty, nm ": bad " qty, \
    nm ": bad bid", nm ": bad ask", nm ": missing timestamp", \
    nm ": bad timestamp", nm ": bad trade_id", nm ": not an object", \
    nm ": bad data" }

static const struct layout ticker_layout =
    LAYOUT("ticker", CS_TICK_TICKER, "last", "", true, false);
static const struct layout trade_layout =
    LAYOUT("trade", CS_TICK_TRADE, "price", "qty", false, true);

static const char *const ignored_channels[] = {
    "book", "ohlc", "instrument", "level3", "executions", "balances",
};

struct result {
    enum cs_frame_class cls;
    const char *what;
};

struct ctx {
    struct cs_venue_scratch *scratch;
    struct cs_parse_out *out;
    int64_t recv_ns;
    const struct layout *l;
};

static struct result make(enum cs_frame_class cls, const char *what)
{
    struct result r = { cls, what };
    return r;
}

static const char *take_time_seq(const struct cs_json *js, int obj,
                                 const struct layout *l, struct cs_tick *t)
{
    int tok = cs_json_get(js, obj, "timestamp");

    if (tok < 0) {
        if (l->time_required) {
            return l->missing_time;
        }
    } else if (!cs_venue_iso_time(js, tok, &t->ts_ns)) {
        return l->bad_time;
    }
    if (l->kind != CS_TICK_TRADE
        || (tok = cs_json_get(js, obj, "trade_id")) < 0) {
        return NULL;
    }
    if (js->toks[tok].type != CS_JSON_NUMBER
        || !cs_json_uint64(js, tok, &t->seq)) {
        return l->bad_seq;
    }
    t->has_seq = true;
    t->seq_kind = CS_SEQ_INCREASING;
    return NULL;
}

/* Every field checked before anything is written to `out`. */
static const char *fill_tick(const struct cs_json *js, int obj,
                             const struct layout *l, struct cs_tick *t)
{
    const char *err;

    switch (cs_venue_symbol(js, cs_json_get(js, obj, "symbol"),
                            &t->raw_symbol)) {
    case CS_VENUE_FIELD_OK: break;
    case CS_VENUE_FIELD_ABSENT: return l->missing_symbol;
    case CS_VENUE_FIELD_BAD: return l->bad_symbol;
    }
    err = cs_venue_take_decimal(js, cs_json_get(js, obj, l->price), true,
                                CS_VENUE_NUM_PRICE, &t->price, &t->price_text,
                                &t->has_price, l->missing_price, l->bad_price);
    if (err == NULL && l->qty[0] != '\0') {
        err = cs_venue_take_decimal(js, cs_json_get(js, obj, l->qty), true,
                                    CS_VENUE_NUM_QTY, &t->qty, &t->qty_text,
                                    &t->has_qty, l->missing_qty, l->bad_qty);
    }
    if (err == NULL && l->sides) {
        err = cs_venue_take_decimal(js, cs_json_get(js, obj, "bid"), false,
                                    CS_VENUE_NUM_SIDE, &t->bid, &t->bid_text,
                                    &t->has_bid, NULL, l->bad_bid);
    }
    if (err == NULL && l->sides) {
        err = cs_venue_take_decimal(js, cs_json_get(js, obj, "ask"), false,
                                    CS_VENUE_NUM_SIDE, &t->ask, &t->ask_text,
                                    &t->has_ask, NULL, l->bad_ask);
    }
    if (err == NULL) {
        err = take_time_seq(js, obj, l, t);
    }
    return err;
}

/* One data[] element (cs_venue_element_fn). */
static const char *emit(void *arg, const struct cs_json *js, int obj)
{
    const struct ctx *c = arg;
    struct cs_tick tick;
    const char *err;

    if (js->toks[obj].type != CS_JSON_OBJECT) {
        return c->l->not_object;
    }
    cs_venue_tick_init(&tick, EXCHANGE, c->recv_ns);
    tick.kind = c->l->kind;
    err = fill_tick(js, obj, c->l, &tick);
    if (err == NULL) {
        cs_venue_out_push(c->out, &tick);
    }
    return err;
}

static struct result handle_channel(struct ctx *c, const struct cs_json *js,
                                    int channel)
{
    const char *err;

    if (cs_json_str_eq(js, channel, "ticker")) {
        c->l = &ticker_layout;
    } else if (cs_json_str_eq(js, channel, "trade")) {
        c->l = &trade_layout;
    } else if (cs_json_str_eq(js, channel, "heartbeat")) {
        return make(CS_FRAME_CONTROL, "heartbeat");
    } else if (cs_json_str_eq(js, channel, "status")) {
        return make(CS_FRAME_CONTROL, "status");
    } else {
        for (size_t i = 0;
             i < sizeof ignored_channels / sizeof ignored_channels[0]; i++) {
            if (cs_json_str_eq(js, channel, ignored_channels[i])) {
                return make(CS_FRAME_IGNORED, ignored_channels[i]);
            }
        }
        return make(CS_FRAME_UNKNOWN, "unknown channel");
    }
    err = cs_venue_each_element(c->scratch, js, cs_json_get(js, 0, "data"),
                                c->l->bad_data, emit, c);
    if (err != NULL) {
        return make(CS_FRAME_MALFORMED, err);
    }
    return make(CS_FRAME_DATA, c->l->name);
}

/* Replies to requests: {"method":"subscribe","success":true,...}. */
static struct result handle_method(const struct cs_json *js, int method)
{
    static const char *const methods[] = { "subscribe", "unsubscribe",
                                           "pong" };
    int success = cs_json_get(js, 0, "success");

    if (success >= 0 && js->toks[success].type == CS_JSON_FALSE) {
        return make(CS_FRAME_CONTROL, "request error");
    }
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (cs_json_str_eq(js, method, methods[i])) {
            return make(CS_FRAME_CONTROL, methods[i]);
        }
    }
    return make(CS_FRAME_UNKNOWN, "unknown method");
}

static struct result handle_root(struct ctx *c, const struct cs_json *js)
{
    int key;

    if (js->toks[0].type != CS_JSON_OBJECT) {
        return make(CS_FRAME_UNKNOWN, "unexpected JSON value");
    }
    if ((key = cs_json_get(js, 0, "channel")) >= 0) {
        if (js->toks[key].type != CS_JSON_STRING) {
            return make(CS_FRAME_MALFORMED, "bad channel");
        }
        return handle_channel(c, js, key);
    }
    if ((key = cs_json_get(js, 0, "method")) >= 0) {
        if (js->toks[key].type != CS_JSON_STRING) {
            return make(CS_FRAME_MALFORMED, "bad method");
        }
        return handle_method(js, key);
    }
    if (cs_json_get(js, 0, "error") >= 0) {
        return make(CS_FRAME_CONTROL, "request error");
    }
    return make(CS_FRAME_UNKNOWN, "object without channel or method");
}

static void kraken_parse(struct cs_venue_scratch *scratch, const char *frame,
                         size_t len, int64_t recv_ns, struct cs_parse_out *out)
{
    struct ctx c = { scratch, out, recv_ns, NULL };
    struct cs_json js;
    struct result r;

    cs_venue_out_reset(out);
    if (cs_venue_parse_frame(scratch, &js, frame, len, out)) {
        r = handle_root(&c, &js);
        cs_venue_out_set(out, r.cls, r.what);
    }
}

/* v2 spells pairs "BTC/USD" (v1's XBT is BTC here). */
static bool kraken_split(const char *raw, size_t len, char *base,
                         size_t base_size, char *quote, size_t quote_size)
{
    return cs_venue_split_at(raw, len, '/', base, base_size, quote,
                             quote_size);
}

static void kraken_compose(const char *base, const char *quote, char *buf,
                           size_t size)
{
    cs_venue_compose(base, quote, "/", buf, size);
}

static const char *const kraken_default_channels[] = { "ticker", NULL };
static const char *const kraken_all_channels[] = { "ticker", "trade", NULL };

/* KRD: the server sends {"channel":"heartbeat"} about once a second when
 * nothing else flows, so 15 s of silence is stale and no client ping is
 * needed (build_ping still gives the optional {"method":"ping"} for a
 * configured ping_interval_ms). Kraken's pages cited in PROTOCOLS.md give
 * no symbol or message-rate limits: 200 symbols per connection, 50 per
 * message and 4 messages a second are our choice. */
static const struct cs_venue_wire kraken_wire = {
    .ws_url = "wss://ws.kraken.com/v2",
    .max_symbols_per_conn = 200,
    .max_symbols_per_msg = 50,
    .max_client_msgs_per_s = 4,
    .idle_timeout_ms = 15 * 1000,
    .ping_interval_ms = 0,
    .max_lifetime_ms = 0,
    .default_channels = kraken_default_channels,
    .all_channels = kraken_all_channels,
};

/* {"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD"]},
 * "req_id":1}: one channel per request (KRD subscribe). */
static void kraken_subscription(const char *const *raw_symbols, size_t n,
                                const char *const *channels, size_t nchannels,
                                bool unsubscribe, uint64_t *req_id,
                                cs_venue_send_fn send, void *ctx)
{
    const char *chunk[CS_VENUE_CHUNK_MAX], *chans[CS_VENUE_CHUNK_MAX];
    size_t pos = 0, nchans, nchunk;
    struct cs_jsonw w;

    nchans = cs_venue_next_chunk(channels, nchannels, &pos,
                                 CS_VENUE_CHUNK_MAX, chans);
    pos = 0;
    cs_jsonw_init(&w);
    while ((nchunk = cs_venue_next_chunk(raw_symbols, n, &pos,
                                         kraken_wire.max_symbols_per_msg,
                                         chunk)) > 0) {
        for (size_t c = 0; c < nchans; c++) {
            cs_jsonw_begin_object(&w);
            cs_jsonw_key(&w, "method");
            cs_jsonw_cstring(&w, unsubscribe ? "unsubscribe" : "subscribe");
            cs_jsonw_key(&w, "params");
            cs_jsonw_begin_object(&w);
            cs_jsonw_key(&w, "channel");
            cs_jsonw_cstring(&w, chans[c]);
            cs_jsonw_key(&w, "symbol");
            cs_venue_msg_array_begin(&w);
            for (size_t i = 0; i < nchunk; i++) {
                cs_jsonw_cstring(&w, chunk[i]);
            }
            cs_venue_msg_array_end(&w);
            cs_jsonw_end_object(&w);
            cs_jsonw_key(&w, "req_id");
            cs_jsonw_int(&w, (int64_t)++*req_id);
            cs_jsonw_end_object(&w);
            cs_venue_msg_send(&w, send, ctx);
        }
    }
    cs_jsonw_cleanup(&w);
}

/* {"method":"ping","req_id":7} -> {"method":"pong","req_id":7,...}. */
static size_t kraken_ping(uint64_t *req_id, char *buf, size_t size)
{
    return cs_venue_ping_msg(req_id, buf, size, "{\"method\":\"ping\","
                             "\"req_id\":", "}");
}

const struct cs_venue_ops cs_venue_kraken = {
    .name = EXCHANGE,
    .wire = &kraken_wire,
    .build_subscription = kraken_subscription,
    .build_ping = kraken_ping,
    .compose_symbol = kraken_compose,
    .parse = kraken_parse,
    .split_symbol = kraken_split,
};
