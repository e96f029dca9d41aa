/* Coinbase frames to normalised ticks, for both the Exchange ws-feed
 * ("type") and Advanced Trade ("channel" + events[] envelope, with its
 * connection-wide gap check); Advanced Trade subscribe messages, limits,
 * and its public REST ticker and candles. The parser also serves the
 * "coinbase-exchange" venue (coinbase_exchange.c), whose ticks it names
 * so. */
#include "cryptosup/venue.h"

#include <string.h>

#include "cryptosup/json.h"
#include "cryptosup/jsonw.h"

#define EXCHANGE "coinbase"   /* Advanced Trade */

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

/* Where one message type keeps its values; an empty time or seq key
 * means the value comes from the Advanced Trade envelope. */
#define TICKER_LAYOUT(nm, qty, time, seq, seq_rule, seq_kind) \
    CS_VENUE_LAYOUT(nm, CS_TICK_TICKER, "product_id", "price", qty, false, \
                    "best_bid", "best_ask", time, true, CS_VENUE_TIME_ISO, \
                    seq, seq_rule, seq_kind)
#define TRADE_LAYOUT(nm, seq_rule, seq_kind) \
    CS_VENUE_LAYOUT(nm, CS_TICK_TRADE, "product_id", "price", "size", true, \
                    "", "", "time", true, CS_VENUE_TIME_ISO, "trade_id", \
                    seq_rule, seq_kind)

/* Exchange ws-feed: the ticker and the match of one trade share
 * `sequence` (per product); trades are numbered by trade_id. */
static const struct cs_venue_layout ex_ticker = TICKER_LAYOUT("ticker",
    "last_size", "time", "sequence", CS_VENUE_SEQ_DIGITS, CS_SEQ_INCREASING);
static const struct cs_venue_layout ex_match = TRADE_LAYOUT("match",
    CS_VENUE_SEQ_DIGITS, CS_SEQ_CONTIGUOUS);
static const struct cs_venue_layout ex_last_match = TRADE_LAYOUT(
    "last_match", CS_VENUE_SEQ_DIGITS, CS_SEQ_CONTIGUOUS);

/* Advanced Trade: tickers take the envelope's timestamp and sequence_num.
 * Trades use their own `time` and `trade_id` as seq: sequence_num is shared
 * by every trade of a frame and counts all channels of the connection,
 * while trade_id is per product, so it identifies a trade (snapshot
 * trades repeat after a reconnect) and shows gaps per instrument. A
 * trade_id that is no number is simply not a seq. */
static const struct cs_venue_layout at_ticker = TICKER_LAYOUT(
    "ticker event", "", "", "", CS_VENUE_SEQ_DIGITS, CS_SEQ_NONE);
static const struct cs_venue_layout at_trade = TRADE_LAYOUT(
    "market_trades", CS_VENUE_SEQ_LENIENT, CS_SEQ_INCREASING);

/* An Advanced Trade channel with ticks: events[] elements hold them in
 * the array `list`. */
struct at_channel {
    const struct cs_venue_layout *l;
    const char *name, *list, *bad_events, *bad_list;
};

static const struct at_channel at_tickers = {
    &at_ticker, "ticker", "tickers", "ticker: bad events",
    "ticker: bad tickers",
};
static const struct at_channel at_trades = {
    &at_trade, "market_trades", "trades", "market_trades: bad events",
    "market_trades: bad trades",
};

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

/* The Advanced Trade envelope values a ticker inherits. */
struct envelope {
    int64_t ts_ns;
    bool has_seq;
    uint64_t seq;
};

/* How to read one message: its layout, the envelope (Advanced Trade),
 * and for Advanced Trade its channel. */
struct how {
    const struct cs_venue_layout *l;
    const struct envelope *env;
    const struct at_channel *at;
};

/* cs_venue_fill_fn for a struct how: the layout's fields, and time and
 * seq from the envelope where the layout has none. */
static const char *fill_tick(const void *arg, const struct cs_json *js,
                             int obj, struct cs_tick *t)
{
    const struct how *h = arg;
    const char *err = cs_venue_fill(h->l, js, obj, t);

    if (err == NULL && h->l->time[0] == '\0') {
        t->ts_ns = h->env->ts_ns;
    }
    if (err == NULL && h->l->seq[0] == '\0') {
        t->has_seq = h->env->has_seq;
        t->seq = h->env->seq;
    }
    return err;
}

static struct cs_venue_emitter emitter(const struct cs_venue_ctx *c,
                                       const struct how *h)
{
    struct cs_venue_emitter em = {
        c->out, c->exchange, c->recv_ns, h->l->kind, fill_tick, h,
        h->l->not_object,
    };
    return em;
}

/* An Exchange ws-feed message: the root object is the tick. */
static struct cs_venue_result emit_root(const struct cs_venue_ctx *c,
                                        const struct cs_json *js,
                                        const struct cs_venue_layout *l)
{
    static const struct envelope none = { 0, false, 0 };
    struct how h = { l, &none, NULL };
    struct cs_venue_emitter em = emitter(c, &h);
    const char *err = cs_venue_emit(&em, js, 0);

    if (err != NULL) {
        return cs_venue_result(CS_FRAME_MALFORMED, err);
    }
    return cs_venue_result(CS_FRAME_DATA, l->name);
}

static struct cs_venue_result lookup_other(const struct cs_json *js, int tok,
                                           const struct named_class *table,
                                           size_t n, const char *unknown)
{
    for (size_t i = 0; i < n; i++) {
        if (cs_json_str_eq(js, tok, table[i].name)) {
            return cs_venue_result(table[i].cls, table[i].name);
        }
    }
    return cs_venue_result(CS_FRAME_UNKNOWN, unknown);
}

/* Exchange ws-feed: {"type":"ticker"|"match"|..., ...}. */
static struct cs_venue_result handle_exchange(const struct cs_venue_ctx *c,
                                              const struct cs_json *js,
                                              int type)
{
    if (cs_json_str_eq(js, type, "ticker")) {
        return emit_root(c, js, &ex_ticker);
    }
    if (cs_json_str_eq(js, type, "match")) {
        return emit_root(c, js, &ex_match);
    }
    if (cs_json_str_eq(js, type, "last_match")) {
        return emit_root(c, js, &ex_last_match);
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

/* One events[] element: {"type":..., "tickers"|"trades":[...]}
 * (cs_venue_element_fn over a cs_venue_emitter). */
static const char *handle_event(void *arg, const struct cs_json *js,
                                int event)
{
    struct cs_venue_emitter *em = arg;
    const struct at_channel *at = ((const struct how *)em->how)->at;
    size_t first_tick = em->out->n;
    const char *err;

    if (js->toks[event].type != CS_JSON_OBJECT) {
        return "event not an object";
    }
    err = cs_venue_each_element(NULL, js, cs_json_get(js, event, at->list),
                                at->bad_list, cs_venue_emit, em);
    if (err == NULL && at->l->kind == CS_TICK_TRADE) {
        order_oldest_first(em->out, first_tick);
    }
    return err;
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
static struct cs_venue_result handle_advanced(const struct cs_venue_ctx *c,
                                              const struct cs_json *js,
                                              int channel)
{
    struct envelope env = { 0, false, 0 };
    struct how h = { NULL, &env, NULL };
    struct cs_venue_emitter em;
    int seq = cs_json_get(js, 0, "sequence_num");
    uint64_t seq_num;
    const char *err;

    if (seq >= 0 && js->toks[seq].type == CS_JSON_NUMBER
        && cs_json_uint64(js, seq, &seq_num)) {
        cs_venue_conn_seq(c->scratch, seq_num, c->out);
    }
    if (cs_json_str_eq(js, channel, "ticker")
        || cs_json_str_eq(js, channel, "ticker_batch")) {
        err = read_envelope(js, &env);
        if (err != NULL) {
            return cs_venue_result(CS_FRAME_MALFORMED, err);
        }
        h.at = &at_tickers;
    } else if (cs_json_str_eq(js, channel, "market_trades")) {
        h.at = &at_trades;
    } else {
        return lookup_other(js, channel, at_other_channels,
                            sizeof at_other_channels
                                / sizeof at_other_channels[0],
                            "unknown channel");
    }
    h.l = h.at->l;
    em = emitter(c, &h);
    err = cs_venue_each_element(c->scratch, js, cs_json_get(js, 0, "events"),
                                h.at->bad_events, handle_event, &em);
    if (err != NULL) {
        return cs_venue_result(CS_FRAME_MALFORMED, err);
    }
    return cs_venue_result(CS_FRAME_DATA, h.at->name);
}

static struct cs_venue_result handle_root(const struct cs_venue_ctx *c,
                                          const struct cs_json *js)
{
    int key;

    if (js->toks[0].type != CS_JSON_OBJECT) {
        return cs_venue_result(CS_FRAME_UNKNOWN, "unexpected JSON value");
    }
    if ((key = cs_json_get(js, 0, "channel")) >= 0) {
        if (js->toks[key].type != CS_JSON_STRING) {
            return cs_venue_result(CS_FRAME_MALFORMED, "bad channel");
        }
        return handle_advanced(c, js, key);
    }
    if ((key = cs_json_get(js, 0, "type")) >= 0) {
        if (js->toks[key].type != CS_JSON_STRING) {
            return cs_venue_result(CS_FRAME_MALFORMED, "bad type");
        }
        return handle_exchange(c, js, key);
    }
    return cs_venue_result(CS_FRAME_UNKNOWN, "object without type or channel");
}

void cs_venue_coinbase_parse(const char *exchange,
                             struct cs_venue_scratch *scratch,
                             const char *frame, size_t len, int64_t recv_ns,
                             struct cs_parse_out *out)
{
    cs_venue_run(exchange, scratch, frame, len, recv_ns, out, handle_root);
}

static void coinbase_parse(struct cs_venue_scratch *scratch,
                           const char *frame, size_t len, int64_t recv_ns,
                           struct cs_parse_out *out)
{
    cs_venue_coinbase_parse(EXCHANGE, scratch, frame, len, recv_ns, out);
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
    /* REST: Advanced Trade's public endpoints allow 10 requests a second
     * per IP (CBA REST rate limits) and weigh nothing else; we send at
     * most 5. Candles: at most 350 per request (CBA "Get Public Product
     * Candles"); 300 is our margin. */
    .rest_url = "https://api.coinbase.com",
    .rest_weight_per_s = 5,
    .rest_weight_burst = 5,
    .rest_ticker_weight = 1,
    .rest_candles_weight = 1,
    .rest_candles_per_page = 300,
    .rest_candles_max_minutes = 0,
};

/* {"type":"subscribe","product_ids":["BTC-USD"],"channel":"ticker"}: one
 * channel per message, no request id. */
static void write_request(struct cs_jsonw *w, const struct cs_venue_batch *b,
                          uint64_t *req_id)
{
    (void)req_id;
    cs_venue_write_product_request(w, b, false);
}

/* Subscribing always includes "heartbeats": without it most channels
 * close after 60 to 90 s without updates (CBA channels), so a quiet
 * product would cost a reconnect. */
static void coinbase_subscription(const char *const *raw_symbols, size_t n,
                                  const char *const *channels,
                                  size_t nchannels, bool unsubscribe,
                                  uint64_t *req_id, cs_venue_send_fn send,
                                  void *ctx)
{
    const char *chans[CS_VENUE_BATCH_MAX + 1];
    size_t nchans = 0;
    bool heartbeats = unsubscribe;

    for (size_t c = 0; c < nchannels && nchans < CS_VENUE_BATCH_MAX; c++) {
        chans[nchans++] = channels[c];
        heartbeats = heartbeats
                     || (channels[c] != NULL
                         && strcmp(channels[c], "heartbeats") == 0);
    }
    if (!heartbeats) {
        chans[nchans++] = "heartbeats";
    }
    cs_venue_subscribe(raw_symbols, n, chans, nchans, unsubscribe, req_id,
                       CS_VENUE_BATCH_CHANNEL,
                       coinbase_wire.max_symbols_per_msg, write_request, send,
                       ctx);
}

/* ---- REST: Advanced Trade public market data (PROTOCOLS.md 3b; CBA
 * REST "Get Public Market Trades" and "Get Public Product Candles",
 * https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/
 * public/get-public-product-candles) ----
 * - GET /api/v3/brokerage/market/products/{id}/ticker?limit=1 ->
 *   {"trades":[{"product_id","price","time",...}],"best_bid","best_ask"}:
 *   a ticker tick with the newest trade's price and time and the best
 *   bid and ask ("" is an empty side).
 * - GET .../products/{id}/candles?start=&end=&granularity=ONE_MINUTE ->
 *   {"candles":[{"start":"<unix s>","low","high","open","close",
 *   "volume"}]}, newest first; start and end in seconds, both inclusive.
 * - Errors are {"error":"NOT_FOUND","message":...} ("error reply"). */

static size_t coinbase_ticker_url(const char *base, const char *raw,
                                  char *buf, size_t size)
{
    char id[3 * CS_VENUE_NAME_MAX + 1];

    if (!cs_venue_url_symbol(raw, id, sizeof id)) {
        return 0;
    }
    return cs_venue_url(buf, size, "%s/api/v3/brokerage/market/products/%s/"
                        "ticker?limit=1", base, id);
}

static const char *coinbase_rest_ticker(struct cs_venue_scratch *s,
                                        const char *raw, const char *body,
                                        size_t len, int64_t recv_ns,
                                        struct cs_tick *tick)
{
    struct cs_json js;
    const char *err = cs_venue_rest_body(s, &js, body, len);
    struct cs_tick t;
    int trades, trade, time;

    if (err != NULL) {
        return err;
    }
    if (js.toks[0].type != CS_JSON_OBJECT) {
        return "ticker: not an object";
    }
    if (cs_json_get(&js, 0, "error") >= 0) {
        return "error reply";
    }
    trades = cs_json_get(&js, 0, "trades");
    if (trades < 0 || js.toks[trades].type != CS_JSON_ARRAY) {
        return "ticker: bad trades";
    }
    if ((trade = cs_json_at(&js, trades, 0)) < 0) {
        return "ticker: no trades";
    }
    if (js.toks[trade].type != CS_JSON_OBJECT) {
        return "ticker: bad trades";
    }
    if (!cs_venue_rest_symbol_ok(&js, cs_json_get(&js, trade, "product_id"),
                                 raw)) {
        return "ticker: wrong symbol";
    }
    err = cs_venue_rest_tick(&js, cs_json_get(&js, trade, "price"),
                             cs_json_get(&js, 0, "best_bid"),
                             cs_json_get(&js, 0, "best_ask"), EXCHANGE, raw,
                             recv_ns, &t);
    if (err != NULL) {
        return err;
    }
    time = cs_json_get(&js, trade, "time");
    if (time >= 0 && !cs_venue_iso_time(&js, time, &t.ts_ns)) {
        return "ticker: bad time";
    }
    *tick = t;
    return NULL;
}

static size_t coinbase_candles_url(const char *base, const char *raw,
                                   int64_t start_ms, int64_t end_ms,
                                   char *buf, size_t size)
{
    char id[3 * CS_VENUE_NAME_MAX + 1];
    int64_t n = cs_venue_candle_count(start_ms, end_ms, 300);

    if (!cs_venue_url_symbol(raw, id, sizeof id)) {
        return 0;
    }
    /* `end` is inclusive: the last second before end_ms. */
    return cs_venue_url(buf, size, "%s/api/v3/brokerage/market/products/%s/"
                        "candles?start=%lld&end=%lld&granularity=ONE_MINUTE"
                        "&limit=%lld", base, id, (long long)(start_ms / 1000),
                        (long long)((end_ms - 1) / 1000), (long long)n);
}

static const char *coinbase_candle(const struct cs_json *js, int el,
                                   int64_t *open_ms, int *close_tok,
                                   bool *unfinished)
{
    int64_t start;

    if (js->toks[el].type != CS_JSON_OBJECT) {
        return "candles: not an object";
    }
    if (!cs_json_int64(js, cs_json_get(js, el, "start"), &start)
        || start <= 0 || start > INT64_MAX / 1000) {
        return "candles: bad start";
    }
    *open_ms = start * 1000;
    *close_tok = cs_json_get(js, el, "close");
    *unfinished = false;
    return NULL;
}

static const char *coinbase_rest_candles(struct cs_venue_scratch *s,
                                         const char *raw, const char *body,
                                         size_t len, int64_t now_ns,
                                         cs_venue_tick_fn fn, void *ctx)
{
    struct cs_json js;
    const char *err = cs_venue_rest_body(s, &js, body, len);

    if (err != NULL) {
        return err;
    }
    if (js.toks[0].type != CS_JSON_OBJECT) {
        return "candles: not an object";
    }
    if (cs_json_get(&js, 0, "error") >= 0) {
        return "error reply";
    }
    return cs_venue_emit_candles(s, &js, cs_json_get(&js, 0, "candles"),
                                 coinbase_candle, "candles: bad candles",
                                 EXCHANGE, raw, now_ns, fn, ctx);
}

/* "BTC-USD" splits at its one '-'; ids with more than one dash (futures
 * such as "BIT-31JAN25-CDE") have no base/quote split. */
const struct cs_venue_ops cs_venue_coinbase = {
    .name = EXCHANGE,
    .wire = &coinbase_wire,
    .build_subscription = coinbase_subscription,
    .build_ping = cs_venue_no_ping,
    .compose_symbol = cs_venue_compose_dash,
    .parse = coinbase_parse,
    .split_symbol = cs_venue_split_dash,
    .rest_ticker_url = coinbase_ticker_url,
    .parse_rest_ticker = coinbase_rest_ticker,
    .rest_candles_url = coinbase_candles_url,
    .parse_rest_candles = coinbase_rest_candles,
};
