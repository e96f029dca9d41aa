/* OKX v5 public frames (tickers and trades pushes, event replies, the text
 * "pong") to normalised ticks, the split of "BTC-USDT" instrument ids, and
 * the v5 subscribe and ping messages and limits. */
#include "cryptosup/venue.h"

#include <string.h>

#include "cryptosup/json.h"
#include "cryptosup/jsonw.h"

#define EXCHANGE "okx"

/* What the parser decides, for readers of its output (OKD tickers and
 * trades channels; PROTOCOLS.md section 5):
 * - Pushes are {"arg":{"channel":..,"instId":..},"data":[...]}, one tick
 *   per data[] element, instId from the element. Every value is a
 *   string, `ts` too (epoch ms); a number is accepted as well.
 * - tickers: price `last` (required), bid `bidPx`, ask `askPx` ("" or 0
 *   is an empty side), qty `lastSz`, time `ts` (required). No seq.
 * - trades (and trades-all): price `px`, qty `sz`, time `ts` (all
 *   required), seq `tradeId` as CS_SEQ_INCREASING: ids are per
 *   instrument, but nothing documents +1 steps.
 * - {"event":...} replies are CONTROL named by the event; "notice" with
 *   code 64008 (service upgrade in about 30 s) also sets
 *   out->server_shutdown. The text frame "pong" is CONTROL.
 * - Instrument ids of futures and swaps ("BTC-USD-220527",
 *   "UNI-USD-SWAP") are parsed like any other, but have no BASE/QUOTE
 *   split: as with Coinbase futures, giving them the spot pair's name
 *   would merge distinct instruments under one symbol.
 * - One malformed element rejects the frame. */

struct layout {
    const char *name;
    enum cs_tick_kind kind;
    const char *price, *qty;
    bool qty_required, sides, has_seq;
    const char *missing_inst, *bad_inst, *missing_price, *bad_price,
               *missing_qty, *bad_qty, *bad_bid, *bad_ask, *missing_ts,
               *bad_ts, *bad_seq, *not_object, *bad_data;
};

#define LAYOUT(nm, kind, price, qty, qty_req, sides, seq) { \
    nm, kind, price, qty, qty_req, sides, seq, \
    nm ": missing instId", nm ": bad instId", nm ": missing " price, \
    nm ": bad " price, nm ": missing " qty, nm ": bad " qty, \
    nm ": bad bidPx", nm ": bad askPx", nm ": missing ts", nm ": bad ts", \
    nm ": bad tradeId", nm ": not an object", nm ": bad data" }

static const struct layout tickers_layout =
    LAYOUT("tickers", CS_TICK_TICKER, "last", "lastSz", false, true, false);
static const struct layout trades_layout =
    LAYOUT("trades", CS_TICK_TRADE, "px", "sz", true, false, true);

/* Public channels we do not use, by name prefix ("candle1m",
 * "books5", "books-l2-tbt", ...). */
static const char *const ignored_prefixes[] = {
    "books", "bbo-tbt", "candle", "mark-price", "index-", "funding-rate",
    "open-interest", "price-limit", "opt-summary", "estimated-price",
    "liquidation-orders", "instruments", "status",
};

static const char *const control_events[] = {
    "subscribe", "unsubscribe", "error", "notice", "login",
    "channel-conn-count", "channel-conn-count-error",
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
    int tok = cs_json_get(js, obj, "ts");
    int64_t ms;

    if (tok < 0) {
        return l->missing_ts;
    }
    if (!cs_json_int64(js, tok, &ms) || !cs_venue_epoch_to_ns(ms, &t->ts_ns)) {
        return l->bad_ts;
    }
    if (!l->has_seq || (tok = cs_json_get(js, obj, "tradeId")) < 0) {
        return NULL;
    }
    if (!cs_json_uint64(js, tok, &t->seq)) {
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

    switch (cs_venue_symbol(js, cs_json_get(js, obj, "instId"),
                            &t->raw_symbol)) {
    case CS_VENUE_FIELD_OK: break;
    case CS_VENUE_FIELD_ABSENT: return l->missing_inst;
    case CS_VENUE_FIELD_BAD: return l->bad_inst;
    }
    err = cs_venue_take_decimal(js, cs_json_get(js, obj, l->price), true,
                                CS_VENUE_NUM_PRICE, &t->price, &t->price_text,
                                &t->has_price, l->missing_price, l->bad_price);
    if (err == NULL) {
        err = cs_venue_take_decimal(js, cs_json_get(js, obj, l->qty),
                                    l->qty_required, CS_VENUE_NUM_QTY,
                                    &t->qty, &t->qty_text, &t->has_qty,
                                    l->missing_qty, l->bad_qty);
    }
    if (err == NULL && l->sides) {
        err = cs_venue_take_decimal(js, cs_json_get(js, obj, "bidPx"), false,
                                    CS_VENUE_NUM_SIDE, &t->bid, &t->bid_text,
                                    &t->has_bid, NULL, l->bad_bid);
    }
    if (err == NULL && l->sides) {
        err = cs_venue_take_decimal(js, cs_json_get(js, obj, "askPx"), false,
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

static bool has_prefix(const struct cs_json *js, int tok, const char *prefix)
{
    struct cs_text text = cs_json_text(js, tok);
    size_t n = strlen(prefix);

    return !js->toks[tok].escaped && text.len >= n
           && memcmp(text.ptr, prefix, n) == 0;
}

/* {"arg":{"channel":"tickers",...},"data":[...]} */
static struct result handle_push(struct ctx *c, const struct cs_json *js,
                                 int arg, int data)
{
    int channel = js->toks[arg].type == CS_JSON_OBJECT
                  ? cs_json_get(js, arg, "channel") : -1;
    const char *err;

    if (channel < 0 || js->toks[channel].type != CS_JSON_STRING) {
        return make(CS_FRAME_MALFORMED, "push: bad arg");
    }
    if (cs_json_str_eq(js, channel, "tickers")) {
        c->l = &tickers_layout;
    } else if (cs_json_str_eq(js, channel, "trades")
               || cs_json_str_eq(js, channel, "trades-all")) {
        c->l = &trades_layout;
    } else {
        for (size_t i = 0;
             i < sizeof ignored_prefixes / sizeof ignored_prefixes[0]; i++) {
            if (has_prefix(js, channel, ignored_prefixes[i])) {
                return make(CS_FRAME_IGNORED, ignored_prefixes[i]);
            }
        }
        return make(CS_FRAME_UNKNOWN, "unknown channel");
    }
    err = cs_venue_each_element(c->scratch, js, data, c->l->bad_data, emit,
                                c);
    if (err != NULL) {
        return make(CS_FRAME_MALFORMED, err);
    }
    return make(CS_FRAME_DATA, c->l->name);
}

/* {"event":"subscribe"|"error"|"notice",...} */
static struct result handle_event(const struct ctx *c,
                                  const struct cs_json *js, int event)
{
    int code;
    int64_t v;

    if (js->toks[event].type != CS_JSON_STRING) {
        return make(CS_FRAME_MALFORMED, "bad event");
    }
    for (size_t i = 0;
         i < sizeof control_events / sizeof control_events[0]; i++) {
        if (!cs_json_str_eq(js, event, control_events[i])) {
            continue;
        }
        code = cs_json_get(js, 0, "code");
        if (strcmp(control_events[i], "notice") == 0 && code >= 0
            && cs_json_int64(js, code, &v) && v == 64008) {
            c->out->server_shutdown = true;
        }
        return make(CS_FRAME_CONTROL, control_events[i]);
    }
    return make(CS_FRAME_UNKNOWN, "unknown event");
}

static struct result handle_root(struct ctx *c, const struct cs_json *js)
{
    int key, data;

    if (js->toks[0].type != CS_JSON_OBJECT) {
        return make(CS_FRAME_UNKNOWN, "unexpected JSON value");
    }
    if ((key = cs_json_get(js, 0, "event")) >= 0) {
        return handle_event(c, js, key);
    }
    key = cs_json_get(js, 0, "arg");
    data = cs_json_get(js, 0, "data");
    if (key >= 0 && data >= 0) {
        return handle_push(c, js, key, data);
    }
    if (key >= 0) {
        return make(CS_FRAME_MALFORMED, "push: missing data");
    }
    return make(CS_FRAME_UNKNOWN, "object without event or arg");
}

static void okx_parse(struct cs_venue_scratch *scratch, const char *frame,
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

/* Spot "BTC-USDT" -> BTC / USDT; see above for futures and swaps. */
static bool okx_split(const char *raw, size_t len, char *base,
                      size_t base_size, char *quote, size_t quote_size)
{
    return cs_venue_split_at(raw, len, '-', base, base_size, quote,
                             quote_size);
}

static void okx_compose(const char *base, const char *quote, char *buf,
                        size_t size)
{
    cs_venue_compose(base, quote, "-", buf, size);
}

static const char *const okx_default_channels[] = { "tickers", NULL };
static const char *const okx_all_channels[] = { "tickers", "trades", NULL };

/* OKD overview (PROTOCOLS.md section 5): a connection with no data for
 * 30 s is dropped, so the client sends the text "ping" after 20 s
 * (within the 30 s) and treats 30 s of silence as stale. 480 subscribe
 * requests per hour per connection: one (re)subscription of 200 symbols
 * in messages of 50 takes 4, far below it. The docs cited give no count
 * of instruments per connection or per message, nor a message rate:
 * 200, 50 and 4 a second are our choice. */
static const struct cs_venue_wire okx_wire = {
    .ws_url = "wss://ws.okx.com:8443/ws/v5/public",
    .max_symbols_per_conn = 200,
    .max_symbols_per_msg = 50,
    .max_client_msgs_per_s = 4,
    .idle_timeout_ms = 30 * 1000,
    .ping_interval_ms = 20 * 1000,
    .max_lifetime_ms = 0,
    .default_channels = okx_default_channels,
    .all_channels = okx_all_channels,
};

/* {"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},...]}
 * with every instrument of a chunk per channel, channel by channel (the
 * order of the recorded client frames); no request id. */
static void okx_subscription(const char *const *raw_symbols, size_t n,
                             const char *const *channels, size_t nchannels,
                             bool unsubscribe, uint64_t *req_id,
                             cs_venue_send_fn send, void *ctx)
{
    const char *chunk[CS_VENUE_CHUNK_MAX], *chans[CS_VENUE_CHUNK_MAX];
    size_t pos = 0, nchans, nchunk;
    struct cs_jsonw w;

    (void)req_id;
    nchans = cs_venue_next_chunk(channels, nchannels, &pos,
                                 CS_VENUE_CHUNK_MAX, chans);
    pos = 0;
    cs_jsonw_init(&w);
    while (nchans > 0
           && (nchunk = cs_venue_next_chunk(raw_symbols, n, &pos,
                                            okx_wire.max_symbols_per_msg,
                                            chunk)) > 0) {
        cs_jsonw_begin_object(&w);
        cs_jsonw_key(&w, "op");
        cs_jsonw_cstring(&w, unsubscribe ? "unsubscribe" : "subscribe");
        cs_jsonw_key(&w, "args");
        cs_venue_msg_array_begin(&w);
        for (size_t c = 0; c < nchans; c++) {
            for (size_t i = 0; i < nchunk; i++) {
                cs_jsonw_begin_object(&w);
                cs_jsonw_key(&w, "channel");
                cs_jsonw_cstring(&w, chans[c]);
                cs_jsonw_key(&w, "instId");
                cs_jsonw_cstring(&w, chunk[i]);
                cs_jsonw_end_object(&w);
            }
        }
        cs_venue_msg_array_end(&w);
        cs_jsonw_end_object(&w);
        cs_venue_msg_send(&w, send, ctx);
    }
    cs_jsonw_cleanup(&w);
}

/* The text frame "ping"; the reply is the text "pong". */
static size_t okx_ping(uint64_t *req_id, char *buf, size_t size)
{
    (void)req_id;
    return cs_venue_ping_msg(NULL, buf, size, "ping", "");
}

const struct cs_venue_ops cs_venue_okx = {
    .name = EXCHANGE,
    .wire = &okx_wire,
    .build_subscription = okx_subscription,
    .build_ping = okx_ping,
    .compose_symbol = okx_compose,
    .parse = okx_parse,
    .split_symbol = okx_split,
};
