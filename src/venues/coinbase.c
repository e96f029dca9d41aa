/* Coinbase frames to normalised ticks: one venue for both the Exchange
 * ws-feed (top-level "type") and Advanced Trade (top-level "channel" with
 * an events[] envelope), the split of "BTC-USD" product ids, and the
 * Advanced Trade subscribe messages and limits. */
#include "cryptosup/venue.h"

#include <string.h>

#include "cryptosup/json.h"
#include "cryptosup/jsonw.h"
#include "cryptosup/timeutil.h"

#define EXCHANGE "coinbase"

/* What the parser decides, for readers of its output:
 * - ws-feed ticker: price, best_bid/best_ask, qty last_size, time, seq
 *   sequence (CS_SEQ_INCREASING: per product, shared with the order book
 *   events, so it skips). match/last_match: trades with size, time, seq
 *   trade_id (CS_SEQ_CONTIGUOUS: per product, +1 per trade, and the
 *   last_match sent on subscribing is the trade before the first match;
 *   CBX channels, contiguous in the recordings). `time` is required; a
 *   missing `sequence`/`trade_id` only clears has_seq.
 * - Advanced Trade ticker/ticker_batch: every tickers[] element is a
 *   ticker with the envelope's timestamp and sequence_num as seq, without
 *   a promise (CS_SEQ_NONE): that number counts every frame of the
 *   connection and restarts at 0 on the next one; its gaps are reported
 *   per frame in out->connection_gap instead (CBA: +1 per frame across all
 *   channels; every frame with a numeric sequence_num is checked, so
 *   frames we ignore count too). market_trades: each trades[] element is
 *   a trade with its own time and seq = trade_id (CS_SEQ_INCREASING: per
 *   product; the docs promise no +1 steps), oldest first.
 * - A best_bid/best_ask of "" or 0 is reported as absent.
 * - level2/l2_data frames of any size are IGNORED: when they overflow the
 *   token area the frame is re-parsed with the book levels skipped. */

/* Where one message type keeps its values. Prices are always "price" and
 * the symbol "product_id"; an empty time or seq key means the value comes
 * from the Advanced Trade envelope. The `what` strings are built at compile
 * time so they stay static. */
struct layout {
    const char *name;
    enum cs_tick_kind kind;
    const char *qty;           /* "" when the message has none */
    bool qty_required;
    bool sides;                /* best_bid / best_ask */
    const char *time, *seq;
    enum cs_seq_kind seq_kind;
    bool seq_optional;         /* a non-numeric id is simply not a seq */
    const char *missing_product, *bad_product, *missing_price, *bad_price,
               *missing_qty, *bad_qty, *bad_bid, *bad_ask, *missing_time,
               *bad_time, *bad_seq, *not_object;
};

#define LAYOUT(nm, kind, qty, qty_req, sides, time, seq, seq_kind, \
               seq_opt) { \
    nm, kind, qty, qty_req, sides, time, seq, seq_kind, seq_opt, \
    nm ": missing product_id", nm ": bad product_id", \
    nm ": missing price", nm ": bad price", nm ": missing " qty, \
    nm ": bad " qty, nm ": bad best_bid", nm ": bad best_ask", \
    nm ": missing time", nm ": bad time", nm ": bad " seq, \
    nm ": not an object" }

/* Exchange ws-feed: the ticker and the match of one trade share
 * `sequence` (per product); trades are numbered by trade_id. */
static const struct layout ex_ticker = LAYOUT("ticker", CS_TICK_TICKER,
    "last_size", false, true, "time", "sequence", CS_SEQ_INCREASING, false);
static const struct layout ex_match = LAYOUT("match", CS_TICK_TRADE,
    "size", true, false, "time", "trade_id", CS_SEQ_CONTIGUOUS, false);
static const struct layout ex_last_match = LAYOUT("last_match",
    CS_TICK_TRADE, "size", true, false, "time", "trade_id",
    CS_SEQ_CONTIGUOUS, false);

/* Advanced Trade: tickers take the envelope's timestamp and sequence_num.
 * Trades use their own `time` and `trade_id` as seq: sequence_num is shared
 * by every trade of a frame and counts all channels of the connection,
 * while trade_id is per product, so it identifies a trade (snapshot
 * trades repeat after a reconnect) and shows gaps per instrument. */
static const struct layout at_ticker = LAYOUT("ticker event",
    CS_TICK_TICKER, "", false, true, "", "", CS_SEQ_NONE, false);
static const struct layout at_trade = LAYOUT("market_trades",
    CS_TICK_TRADE, "size", true, false, "time", "trade_id",
    CS_SEQ_INCREASING, true);

struct named_class {
    const char *name;
    enum cs_frame_class cls;
};

/* Exchange ws-feed types that carry no ticker data. */
static const struct named_class ex_other_types[] = {
    { "subscriptions", CS_FRAME_CONTROL }, { "heartbeat", CS_FRAME_CONTROL },
    { "error", CS_FRAME_CONTROL }, { "snapshot", CS_FRAME_IGNORED },
    { "l2update", CS_FRAME_IGNORED }, { "received", CS_FRAME_IGNORED },
    { "open", CS_FRAME_IGNORED }, { "done", CS_FRAME_IGNORED },
    { "change", CS_FRAME_IGNORED }, { "activate", CS_FRAME_IGNORED },
    { "status", CS_FRAME_IGNORED }, { "auction", CS_FRAME_IGNORED },
};

/* Advanced Trade channels that carry no ticker data. */
static const struct named_class at_other_channels[] = {
    { "subscriptions", CS_FRAME_CONTROL }, { "heartbeats", CS_FRAME_CONTROL },
    { "l2_data", CS_FRAME_IGNORED }, { "level2", CS_FRAME_IGNORED },
    { "candles", CS_FRAME_IGNORED }, { "status", CS_FRAME_IGNORED },
    { "user", CS_FRAME_IGNORED }, { "futures_balance_summary",
                                    CS_FRAME_IGNORED },
};

struct result {
    enum cs_frame_class cls;
    const char *what;
};

/* The Advanced Trade envelope values a ticker inherits. */
struct envelope {
    int64_t ts_ns;
    bool has_seq;
    uint64_t seq;
};

struct ctx {
    struct cs_venue_scratch *scratch;
    struct cs_parse_out *out;
    int64_t recv_ns;
};

static struct result make(enum cs_frame_class cls, const char *what)
{
    struct result r = { cls, what };
    return r;
}

/* Time and seq from the message itself, or from the envelope. */
static const char *take_time_seq(const struct cs_json *js, int obj,
                                 const struct layout *l,
                                 const struct envelope *env,
                                 struct cs_tick *t)
{
    int tok;

    if (l->time[0] == '\0') {
        t->ts_ns = env->ts_ns;
    } else if ((tok = cs_json_get(js, obj, l->time)) < 0) {
        return l->missing_time;
    } else if (!cs_venue_iso_time(js, tok, &t->ts_ns)) {
        return l->bad_time;
    }
    if (l->seq[0] == '\0') {
        t->has_seq = env->has_seq;
        t->seq = env->seq;
        return NULL;
    }
    tok = cs_json_get(js, obj, l->seq);
    if (tok >= 0) {
        t->has_seq = cs_json_uint64(js, tok, &t->seq);
        if (!t->has_seq && !l->seq_optional) {
            return l->bad_seq;
        }
        t->seq_kind = t->has_seq ? (uint8_t)l->seq_kind : CS_SEQ_NONE;
    }
    return NULL;
}

/* Every field checked before anything is written to `out`, so a bad
 * field never leaves half a tick behind. */
static const char *fill_tick(const struct cs_json *js, int obj,
                             const struct layout *l,
                             const struct envelope *env, struct cs_tick *t)
{
    const char *err;

    switch (cs_venue_symbol(js, cs_json_get(js, obj, "product_id"),
                            &t->raw_symbol)) {
    case CS_VENUE_FIELD_OK: break;
    case CS_VENUE_FIELD_ABSENT: return l->missing_product;
    case CS_VENUE_FIELD_BAD: return l->bad_product;
    }
    err = cs_venue_take_decimal(js, cs_json_get(js, obj, "price"), true,
                                CS_VENUE_NUM_PRICE, &t->price, &t->price_text,
                                &t->has_price, l->missing_price,
                                l->bad_price);
    if (err == NULL && l->qty[0] != '\0') {
        err = cs_venue_take_decimal(js, cs_json_get(js, obj, l->qty),
                                    l->qty_required, CS_VENUE_NUM_QTY,
                                    &t->qty, &t->qty_text, &t->has_qty,
                                    l->missing_qty, l->bad_qty);
    }
    if (err == NULL && l->sides) {
        err = cs_venue_take_decimal(js, cs_json_get(js, obj, "best_bid"),
                                    false, CS_VENUE_NUM_SIDE, &t->bid,
                                    &t->bid_text, &t->has_bid, NULL,
                                    l->bad_bid);
    }
    if (err == NULL && l->sides) {
        err = cs_venue_take_decimal(js, cs_json_get(js, obj, "best_ask"),
                                    false, CS_VENUE_NUM_SIDE, &t->ask,
                                    &t->ask_text, &t->has_ask, NULL,
                                    l->bad_ask);
    }
    if (err == NULL) {
        err = take_time_seq(js, obj, l, env, t);
    }
    return err;
}

static struct result emit(const struct ctx *c, const struct cs_json *js,
                          int obj, const struct layout *l,
                          const struct envelope *env)
{
    struct cs_tick tick;
    const char *err;

    if (js->toks[obj].type != CS_JSON_OBJECT) {
        return make(CS_FRAME_MALFORMED, l->not_object);
    }
    cs_venue_tick_init(&tick, EXCHANGE, c->recv_ns);
    tick.kind = l->kind;
    err = fill_tick(js, obj, l, env, &tick);
    if (err != NULL) {
        return make(CS_FRAME_MALFORMED, err);
    }
    cs_venue_out_push(c->out, &tick);
    return make(CS_FRAME_DATA, l->name);
}

static struct result lookup_other(const struct cs_json *js, int tok,
                                  const struct named_class *table, size_t n,
                                  const char *unknown)
{
    for (size_t i = 0; i < n; i++) {
        if (cs_json_str_eq(js, tok, table[i].name)) {
            return make(table[i].cls, table[i].name);
        }
    }
    return make(CS_FRAME_UNKNOWN, unknown);
}

/* Exchange ws-feed: {"type":"ticker"|"match"|..., ...}. */
static struct result handle_exchange(const struct ctx *c,
                                     const struct cs_json *js, int type)
{
    static const struct envelope none = { 0, false, 0 };

    if (cs_json_str_eq(js, type, "ticker")) {
        return emit(c, js, 0, &ex_ticker, &none);
    }
    if (cs_json_str_eq(js, type, "match")) {
        return emit(c, js, 0, &ex_match, &none);
    }
    if (cs_json_str_eq(js, type, "last_match")) {
        return emit(c, js, 0, &ex_last_match, &none);
    }
    return lookup_other(js, type, ex_other_types,
                        sizeof ex_other_types / sizeof ex_other_types[0],
                        "unknown type");
}

/* The venue lists trades newest first; ticks go out oldest first so the
 * price series only moves forward. */
static void order_oldest_first(struct cs_parse_out *out, size_t from)
{
    size_t lo = from, hi = out->n;

    if (hi - lo < 2 || out->ticks[lo].ts_ns <= out->ticks[hi - 1].ts_ns) {
        return;
    }
    for (hi--; lo < hi; lo++, hi--) {
        struct cs_tick tmp = out->ticks[lo];
        out->ticks[lo] = out->ticks[hi];
        out->ticks[hi] = tmp;
    }
}

/* One events[] element: {"type":..., "tickers"|"trades":[...]}. */
static struct result handle_event(const struct ctx *c,
                                  const struct cs_json *js, int event,
                                  const struct layout *l,
                                  const struct envelope *env)
{
    const char *list_key = l->kind == CS_TICK_TRADE ? "trades" : "tickers";
    int list = cs_json_get(js, event, list_key);
    size_t first_tick = c->out->n;
    uint32_t child;

    if (list < 0 || js->toks[list].type != CS_JSON_ARRAY) {
        return make(CS_FRAME_MALFORMED, l->kind == CS_TICK_TRADE
                    ? "market_trades: bad trades" : "ticker: bad tickers");
    }
    child = (uint32_t)list + 1;
    for (uint32_t i = 0; i < js->toks[list].size; i++) {
        struct result r = emit(c, js, (int)child, l, env);
        if (r.cls != CS_FRAME_DATA) {
            return r;
        }
        child = js->toks[child].next;
    }
    if (l->kind == CS_TICK_TRADE) {
        order_oldest_first(c->out, first_tick);
    }
    return make(CS_FRAME_DATA, l->name);
}

/* An event the frame parse skipped (huge frames only) is re-parsed on its
 * own in the element area. */
static struct result handle_event_value(const struct ctx *c,
                                        const struct cs_json *js, int tok,
                                        const struct layout *l,
                                        const struct envelope *env)
{
    struct cs_json sub;
    const struct cs_json *ejs;
    int etok;

    if (js->toks[tok].type != CS_JSON_OBJECT) {
        return make(CS_FRAME_MALFORMED, "event not an object");
    }
    if (!cs_venue_unskip(c->scratch, js, tok, &sub, &ejs, &etok)) {
        return make(CS_FRAME_MALFORMED, "too many JSON tokens");
    }
    return handle_event(c, ejs, etok, l, env);
}

/* Envelope for tickers: timestamp required, sequence_num if present. */
static const char *read_envelope(const struct cs_json *js,
                                 struct envelope *env)
{
    int ts = cs_json_get(js, 0, "timestamp");
    int seq = cs_json_get(js, 0, "sequence_num");

    if (ts < 0) {
        return "ticker: missing timestamp";
    }
    if (!cs_venue_iso_time(js, ts, &env->ts_ns)) {
        return "ticker: bad timestamp";
    }
    if (seq >= 0) {
        if (js->toks[seq].type != CS_JSON_NUMBER
            || !cs_json_uint64(js, seq, &env->seq)) {
            return "ticker: bad sequence_num";
        }
        env->has_seq = true;
    }
    return NULL;
}

/* Advanced Trade: {"channel":..., "timestamp":..., "sequence_num":...,
 * "events":[...]}. */
static struct result handle_advanced(const struct ctx *c,
                                     const struct cs_json *js, int channel)
{
    struct envelope env = { 0, false, 0 };
    const struct layout *l;
    int events, seq = cs_json_get(js, 0, "sequence_num");
    uint64_t seq_num;
    uint32_t child;

    if (seq >= 0 && js->toks[seq].type == CS_JSON_NUMBER
        && cs_json_uint64(js, seq, &seq_num)) {
        cs_venue_conn_seq(c->scratch, seq_num, c->out);
    }
    if (cs_json_str_eq(js, channel, "ticker")
        || cs_json_str_eq(js, channel, "ticker_batch")) {
        const char *err = read_envelope(js, &env);
        if (err != NULL) {
            return make(CS_FRAME_MALFORMED, err);
        }
        l = &at_ticker;
    } else if (cs_json_str_eq(js, channel, "market_trades")) {
        l = &at_trade;
    } else {
        return lookup_other(js, channel, at_other_channels,
                            sizeof at_other_channels
                                / sizeof at_other_channels[0],
                            "unknown channel");
    }
    events = cs_json_get(js, 0, "events");
    if (events < 0 || js->toks[events].type != CS_JSON_ARRAY
        || js->toks[events].skipped) {
        return make(CS_FRAME_MALFORMED, l == &at_trade
                    ? "market_trades: bad events" : "ticker: bad events");
    }
    child = (uint32_t)events + 1;
    for (uint32_t i = 0; i < js->toks[events].size; i++) {
        struct result r = handle_event_value(c, js, (int)child, l, &env);
        if (r.cls != CS_FRAME_DATA) {
            return r;
        }
        child = js->toks[child].next;
    }
    return make(CS_FRAME_DATA, l == &at_trade ? "market_trades" : "ticker");
}

static struct result handle_root(const struct ctx *c, const struct cs_json *js)
{
    int key;

    if (js->toks[0].type != CS_JSON_OBJECT) {
        return make(CS_FRAME_UNKNOWN, "unexpected JSON value");
    }
    if ((key = cs_json_get(js, 0, "channel")) >= 0) {
        if (js->toks[key].type != CS_JSON_STRING) {
            return make(CS_FRAME_MALFORMED, "bad channel");
        }
        return handle_advanced(c, js, key);
    }
    if ((key = cs_json_get(js, 0, "type")) >= 0) {
        if (js->toks[key].type != CS_JSON_STRING) {
            return make(CS_FRAME_MALFORMED, "bad type");
        }
        return handle_exchange(c, js, key);
    }
    return make(CS_FRAME_UNKNOWN, "object without type or channel");
}

static void coinbase_parse(struct cs_venue_scratch *scratch,
                           const char *frame, size_t len, int64_t recv_ns,
                           struct cs_parse_out *out)
{
    struct ctx c = { scratch, out, recv_ns };
    struct cs_json js;
    struct result r;

    cs_venue_out_reset(out);
    if (cs_venue_parse_frame(scratch, &js, frame, len, out)) {
        r = handle_root(&c, &js);
        cs_venue_out_set(out, r.cls, r.what);
    }
}

/* "BTC-USD" -> BTC / USD. Ids with more than one dash (futures such as
 * "BIT-31JAN25-CDE") have no base/quote split. */
static bool coinbase_split(const char *raw, size_t len, char *base,
                           size_t base_size, char *quote, size_t quote_size)
{
    return cs_venue_split_at(raw, len, '-', base, base_size, quote,
                             quote_size);
}

static void coinbase_compose(const char *base, const char *quote, char *buf,
                             size_t size)
{
    cs_venue_compose(base, quote, "-", buf, size);
}

static const char *const coinbase_default_channels[] = {
    "ticker", "heartbeats", NULL,
};
static const char *const coinbase_all_channels[] = {
    "ticker", "market_trades", "heartbeats", NULL,
};

/* Advanced Trade (CBA overview, channels, rate limits): subscribe within
 * 5 s, one channel per message; 8 unauthenticated messages per second per
 * IP (4 leaves room for a second connection); heartbeats every second, so
 * 30 s of silence is stale; no client ping exists. The docs set no count
 * of products per connection or message: 100 is our choice. */
static const struct cs_venue_wire coinbase_wire = {
    .ws_url = "wss://advanced-trade-ws.coinbase.com",
    .max_symbols_per_conn = 100,
    .max_symbols_per_msg = 100,
    .max_client_msgs_per_s = 4,
    .idle_timeout_ms = 30 * 1000,
    .ping_interval_ms = 0,
    .max_lifetime_ms = 0,
    .default_channels = coinbase_default_channels,
    .all_channels = coinbase_all_channels,
};

static void put_channel_message(struct cs_jsonw *w, const char *const *chunk,
                                size_t nchunk, const char *channel,
                                bool unsubscribe, cs_venue_send_fn send,
                                void *ctx)
{
    cs_jsonw_begin_object(w);
    cs_jsonw_key(w, "type");
    cs_jsonw_cstring(w, unsubscribe ? "unsubscribe" : "subscribe");
    cs_jsonw_key(w, "product_ids");
    cs_venue_msg_array_begin(w);
    for (size_t i = 0; i < nchunk; i++) {
        cs_jsonw_cstring(w, chunk[i]);
    }
    cs_venue_msg_array_end(w);
    cs_jsonw_key(w, "channel");
    cs_jsonw_cstring(w, channel);
    cs_jsonw_end_object(w);
    cs_venue_msg_send(w, send, ctx);
}

/* {"type":"subscribe","product_ids":["BTC-USD"],"channel":"ticker"}, one
 * message per channel and chunk of products; no request id. Subscribing
 * always includes "heartbeats": without it most channels close after 60 to
 * 90 s without updates (CBA channels), so a quiet product would cost a
 * reconnect. */
static void coinbase_subscription(const char *const *raw_symbols, size_t n,
                                  const char *const *channels,
                                  size_t nchannels, bool unsubscribe,
                                  uint64_t *req_id, cs_venue_send_fn send,
                                  void *ctx)
{
    const char *chunk[CS_VENUE_CHUNK_MAX], *chans[CS_VENUE_CHUNK_MAX + 1];
    size_t pos = 0, nchans, nchunk;
    bool heartbeats = unsubscribe;
    struct cs_jsonw w;

    (void)req_id;
    nchans = cs_venue_next_chunk(channels, nchannels, &pos,
                                 CS_VENUE_CHUNK_MAX, chans);
    for (size_t c = 0; c < nchans; c++) {
        heartbeats = heartbeats || strcmp(chans[c], "heartbeats") == 0;
    }
    if (!heartbeats) {
        chans[nchans++] = "heartbeats";
    }
    pos = 0;
    cs_jsonw_init(&w);
    while ((nchunk = cs_venue_next_chunk(raw_symbols, n, &pos,
                                         coinbase_wire.max_symbols_per_msg,
                                         chunk)) > 0) {
        for (size_t c = 0; c < nchans; c++) {
            put_channel_message(&w, chunk, nchunk, chans[c], unsubscribe,
                                send, ctx);
        }
    }
    cs_jsonw_cleanup(&w);
}

const struct cs_venue_ops cs_venue_coinbase = {
    .name = EXCHANGE,
    .wire = &coinbase_wire,
    .build_subscription = coinbase_subscription,
    .build_ping = cs_venue_no_ping,
    .compose_symbol = coinbase_compose,
    .parse = coinbase_parse,
    .split_symbol = coinbase_split,
};
