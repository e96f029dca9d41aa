/* Coinbase frames to normalised ticks: one venue for both the Exchange
 * ws-feed (top-level "type") and Advanced Trade (top-level "channel" with
 * an events[] envelope), and the split of "BTC-USD" product ids. */
#include "cryptosup/venue.h"

#include <string.h>

#include "cryptosup/json.h"
#include "cryptosup/timeutil.h"

#define EXCHANGE "coinbase"

/* What the parser decides, for readers of its output:
 * - ws-feed ticker: price, best_bid/best_ask, qty last_size, time, seq
 *   sequence. match/last_match: trades with size, time, seq sequence.
 *   `time` is required; a missing `sequence` only clears has_seq.
 * - Advanced Trade ticker/ticker_batch: every tickers[] element is a
 *   ticker with the envelope's timestamp and sequence_num. market_trades:
 *   each trades[] element is a trade with its own time and seq = trade_id
 *   (see at_trade below); trades go out oldest first.
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
    bool seq_optional;         /* a non-numeric id is simply not a seq */
    const char *missing_product, *bad_product, *missing_price, *bad_price,
               *missing_qty, *bad_qty, *bad_bid, *bad_ask, *missing_time,
               *bad_time, *bad_seq, *not_object;
};

#define LAYOUT(nm, kind, qty, qty_req, sides, time, seq, seq_opt) { \
    nm, kind, qty, qty_req, sides, time, seq, seq_opt, \
    nm ": missing product_id", nm ": bad product_id", \
    nm ": missing price", nm ": bad price", nm ": missing " qty, \
    nm ": bad " qty, nm ": bad best_bid", nm ": bad best_ask", \
    nm ": missing time", nm ": bad time", nm ": bad sequence", \
    nm ": not an object" }

/* Exchange ws-feed: the ticker and the match of one trade share
 * `sequence` (per product). */
static const struct layout ex_ticker = LAYOUT("ticker", CS_TICK_TICKER,
    "last_size", false, true, "time", "sequence", false);
static const struct layout ex_match = LAYOUT("match", CS_TICK_TRADE,
    "size", true, false, "time", "sequence", false);
static const struct layout ex_last_match = LAYOUT("last_match",
    CS_TICK_TRADE, "size", true, false, "time", "sequence", false);

/* Advanced Trade: tickers take the envelope's timestamp and sequence_num.
 * Trades use their own `time` and `trade_id` as seq: sequence_num is shared
 * by every trade of a frame and counts all channels of the connection,
 * while trade_id is per product, so it identifies a trade (snapshot
 * trades repeat after a reconnect) and shows gaps per instrument. */
static const struct layout at_ticker = LAYOUT("ticker event",
    CS_TICK_TICKER, "", false, true, "", "", false);
static const struct layout at_trade = LAYOUT("market_trades",
    CS_TICK_TRADE, "size", true, false, "time", "trade_id", true);

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

static bool iso_time(const struct cs_json *js, int tok, int64_t *ns)
{
    struct cs_text text;

    if (js->toks[tok].type != CS_JSON_STRING || js->toks[tok].escaped) {
        return false;
    }
    text = cs_json_text(js, tok);
    return cs_time_parse_iso8601(text.ptr, text.len, ns);
}

enum num_rule {
    NUM_PRICE,   /* must be > 0 */
    NUM_QTY,     /* >= 0 */
    NUM_SIDE     /* >= 0; zero is an empty book side, reported as absent */
};

/* A decimal field into (val, text, has); NULL or the static failure. */
static const char *take_decimal(const struct cs_json *js, int obj,
                                const char *key, bool required,
                                enum num_rule rule, struct cs_decimal *val,
                                struct cs_text *text, bool *has,
                                const char *missing, const char *bad)
{
    switch (cs_venue_decimal(js, cs_json_get(js, obj, key), rule == NUM_PRICE,
                             val, text)) {
    case CS_VENUE_FIELD_OK:
        *has = rule != NUM_SIDE || !cs_decimal_is_zero(*val);
        if (!*has) {
            text->ptr = "";
            text->len = 0;
        }
        return NULL;
    case CS_VENUE_FIELD_ABSENT:
        *has = false;
        return required ? missing : NULL;
    case CS_VENUE_FIELD_BAD:
        break;
    }
    return bad;
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
    } else if (!iso_time(js, tok, &t->ts_ns)) {
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
    err = take_decimal(js, obj, "price", true, NUM_PRICE, &t->price,
                       &t->price_text, &t->has_price, l->missing_price,
                       l->bad_price);
    if (err == NULL && l->qty[0] != '\0') {
        err = take_decimal(js, obj, l->qty, l->qty_required, NUM_QTY, &t->qty,
                           &t->qty_text, &t->has_qty, l->missing_qty,
                           l->bad_qty);
    }
    if (err == NULL && l->sides) {
        err = take_decimal(js, obj, "best_bid", false, NUM_SIDE, &t->bid,
                           &t->bid_text, &t->has_bid, NULL, l->bad_bid);
    }
    if (err == NULL && l->sides) {
        err = take_decimal(js, obj, "best_ask", false, NUM_SIDE, &t->ask,
                           &t->ask_text, &t->has_ask, NULL, l->bad_ask);
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
    struct cs_text bytes;

    if (js->toks[tok].type != CS_JSON_OBJECT) {
        return make(CS_FRAME_MALFORMED, "event not an object");
    }
    if (!js->toks[tok].skipped) {
        return handle_event(c, js, tok, l, env);
    }
    bytes = cs_json_text(js, tok);
    if (cs_venue_scratch_parse(c->scratch, CS_VENUE_AREA_ELEMENT, &sub,
                               bytes.ptr, bytes.len, 0) != CS_JSON_OK) {
        return make(CS_FRAME_MALFORMED, "too many JSON tokens");
    }
    return handle_event(c, &sub, 0, l, env);
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
    if (!iso_time(js, ts, &env->ts_ns)) {
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
    int events;
    uint32_t child;

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

static bool copy_upper(const char *src, size_t n, char *dst, size_t size)
{
    if (n == 0 || n + 1 > size) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = src[i];
        if (ch >= 'a' && ch <= 'z') {
            ch = (char)(ch - 'a' + 'A');
        }
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) {
            return false;
        }
        dst[i] = ch;
    }
    dst[n] = '\0';
    return true;
}

/* "BTC-USD" -> BTC / USD. Ids with more than one dash (futures such as
 * "BIT-31JAN25-CDE") have no base/quote split. */
static bool coinbase_split(const char *raw, size_t len, char *base,
                           size_t base_size, char *quote, size_t quote_size)
{
    const char *dash;

    if (raw == NULL || len == 0) {
        return false;
    }
    dash = memchr(raw, '-', len);
    if (dash == NULL || memchr(dash + 1, '-', len - (size_t)(dash - raw) - 1)) {
        return false;
    }
    return copy_upper(raw, (size_t)(dash - raw), base, base_size)
           && copy_upper(dash + 1, len - (size_t)(dash - raw) - 1, quote,
                         quote_size);
}

const struct cs_venue_ops cs_venue_coinbase = {
    .name = EXCHANGE,
    .parse = coinbase_parse,
    .split_symbol = coinbase_split,
};
