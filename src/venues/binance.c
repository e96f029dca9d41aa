/* Binance Spot frames (raw and combined streams, events and `!..@arr`
 * arrays) to normalised ticks, the split of concatenated symbols such as
 * "AAVEUPUSDT", the SUBSCRIBE messages and limits of a connection, and
 * the REST ticker and klines. */
#include "cryptosup/venue.h"

#include <stdio.h>

#include "cryptosup/json.h"
#include "cryptosup/jsonw.h"

#define EXCHANGE "binance"

/* What the parser decides, for readers of its output:
 * - trade/aggTrade: price p, qty q, time T (trade time), seq t / a, both
 *   CS_SEQ_CONTIGUOUS (trade ids and aggregate ids count up by one per
 *   symbol, BSD "Trade Streams"). Tickers: price c, time E, no seq;
 *   24hrTicker adds bid b, ask a and qty Q (last trade qty). bookTicker:
 *   quote, seq u (CS_SEQ_INCREASING: the book update id skips), ts_ns 0
 *   (the spot stream has no time; the futures form's E is used when
 *   present).
 * - A bid or ask of 0 is an empty book side and reported as absent.
 * - Times above 10^14 are taken as µs (timeUnit=MICROSECOND), else ms.
 * - In `!..@arr` frames one malformed element rejects the frame; past
 *   CS_VENUE_MAX_TICKS ticks are counted in `dropped`. Arrays with more
 *   elements than the scratch has tokens (16384) are MALFORMED. */

/* Where one event type keeps its values. An empty key means the event has
 * no such field. The `what` strings are built at compile time so they
 * stay static (they key log rate limits). */
struct layout {
    const char *event;
    enum cs_tick_kind kind;
    const char *price, *qty, *time, *seq;
    enum cs_seq_kind seq_kind;
    uint8_t seq_series;        /* trade ids, aggregate ids and book update
                                  ids are separate number series */
    bool sides;                /* reads bid `b` and ask `a` */
    bool sides_required;       /* bookTicker: a quote is nothing else */
    const char *missing_s, *bad_s, *missing_price, *bad_price, *missing_qty,
               *bad_qty, *missing_b, *bad_b, *missing_a, *bad_a,
               *missing_time, *bad_time, *missing_seq, *bad_seq;
};

#define LAYOUT(ev, kind, px, qty, time, seq, seq_kind, series, sides, \
               sides_req) { \
    ev, kind, px, qty, time, seq, seq_kind, series, sides, sides_req, \
    ev ": missing s", ev ": bad s", ev ": missing " px, ev ": bad " px, \
    ev ": missing " qty, ev ": bad " qty, ev ": missing b", ev ": bad b", \
    ev ": missing a", ev ": bad a", ev ": missing " time, \
    ev ": bad " time, ev ": missing " seq, ev ": bad " seq }

/* Trades carry their own trade time `T`; tickers only the event time `E`.
 * Spot bookTicker has no time at all; the futures form has `e` and `E`. */
#define CONTIG CS_SEQ_CONTIGUOUS
#define INCR CS_SEQ_INCREASING
#define NOSEQ CS_SEQ_NONE
static const struct layout layouts[] = {
    LAYOUT("trade", CS_TICK_TRADE, "p", "q", "T", "t", CONTIG, 1, false,
           false),
    LAYOUT("aggTrade", CS_TICK_TRADE, "p", "q", "T", "a", CONTIG, 0, false,
           false),
    LAYOUT("24hrTicker", CS_TICK_TICKER, "c", "Q", "E", "", NOSEQ, 0, true,
           false),
    LAYOUT("24hrMiniTicker", CS_TICK_TICKER, "c", "", "E", "", NOSEQ, 0,
           false, false),
    LAYOUT("1hTicker", CS_TICK_TICKER, "c", "", "E", "", NOSEQ, 0, false,
           false),
    LAYOUT("4hTicker", CS_TICK_TICKER, "c", "", "E", "", NOSEQ, 0, false,
           false),
    LAYOUT("1dTicker", CS_TICK_TICKER, "c", "", "E", "", NOSEQ, 0, false,
           false),
    LAYOUT("bookTicker", CS_TICK_QUOTE, "", "", "E", "u", INCR, 2, true, true),
};

/* Spot @bookTicker payloads have no `e`. */
static const struct layout book_ticker =
    LAYOUT("bookTicker", CS_TICK_QUOTE, "", "", "", "u", INCR, 2, true, true);

/* Known events that carry nothing a ticker monitor uses. */
static const char *const ignored_events[] = {
    "depthUpdate", "kline", "avgPrice", "markPriceUpdate", "forceOrder",
    "continuous_kline", "outboundAccountPosition", "balanceUpdate",
    "executionReport", "listStatus",
};

struct ctx {
    struct cs_venue_scratch *scratch;
    struct cs_parse_out *out;
    int64_t recv_ns;
    bool element_area_busy;   /* the element area holds live tokens */
};

/* An event object with the value token of each one-letter key (every
 * Binance payload field is one letter), found in one pass over the
 * members so each field lookup is O(1). -1: absent. */
struct event {
    const struct cs_json *js;
    int obj;
    int letter[52];
};

static int letter_slot(char c)
{
    if (c >= 'a' && c <= 'z') {
        return c - 'a';
    }
    if (c >= 'A' && c <= 'Z') {
        return 26 + (c - 'A');
    }
    return -1;
}

static void index_event(struct event *ev, const struct cs_json *js, int obj)
{
    uint32_t key = (uint32_t)obj + 1;

    ev->js = js;
    ev->obj = obj;
    for (size_t i = 0; i < sizeof ev->letter / sizeof ev->letter[0]; i++) {
        ev->letter[i] = -1;
    }
    for (uint32_t i = 0; i < js->toks[obj].size; i++) {
        const struct cs_json_tok *k = &js->toks[key];
        if (k->end - k->start == 1 && !k->escaped) {
            int slot = letter_slot(js->src[k->start]);
            /* The first of duplicate keys wins, as in cs_json_get(). */
            if (slot >= 0 && ev->letter[slot] < 0) {
                ev->letter[slot] = (int)key + 1;
            }
        }
        key = js->toks[key + 1].next;
    }
}

/* Value token of `key` in the event, or -1. */
static int field(const struct event *ev, const char *key)
{
    int slot = key[0] != '\0' && key[1] == '\0' ? letter_slot(key[0]) : -1;

    return slot >= 0 ? ev->letter[slot] : cs_json_get(ev->js, ev->obj, key);
}

static const char *take_time(const struct event *ev, const struct layout *l,
                             struct cs_tick *t)
{
    int tok;
    int64_t v;

    if (l->time[0] == '\0') {
        return NULL;
    }
    tok = field(ev, l->time);
    if (tok < 0) {
        return l->missing_time;
    }
    if (ev->js->toks[tok].type != CS_JSON_NUMBER
        || !cs_json_int64(ev->js, tok, &v)
        || !cs_venue_epoch_to_ns(v, &t->ts_ns)) {
        return l->bad_time;
    }
    return NULL;
}

static const char *take_seq(const struct event *ev, const struct layout *l,
                            struct cs_tick *t)
{
    int tok;

    if (l->seq[0] == '\0') {
        return NULL;
    }
    tok = field(ev, l->seq);
    if (tok < 0) {
        return l->missing_seq;
    }
    if (ev->js->toks[tok].type != CS_JSON_NUMBER
        || !cs_json_uint64(ev->js, tok, &t->seq)) {
        return l->bad_seq;
    }
    t->has_seq = true;
    t->seq_kind = (uint8_t)l->seq_kind;
    t->seq_series = l->seq_series;
    return NULL;
}

/* Every field checked before anything is written to `out`, so a bad
 * field never leaves half a tick behind. */
static const char *fill_tick(const struct event *ev, const struct layout *l,
                             struct cs_tick *t)
{
    const char *err = NULL;
    bool is_trade = l->kind == CS_TICK_TRADE;

    switch (cs_venue_symbol(ev->js, field(ev, "s"), &t->raw_symbol)) {
    case CS_VENUE_FIELD_OK: break;
    case CS_VENUE_FIELD_ABSENT: return l->missing_s;
    case CS_VENUE_FIELD_BAD: return l->bad_s;
    }
    if (l->price[0] != '\0') {
        err = cs_venue_take_decimal(ev->js, field(ev, l->price), true,
                                    CS_VENUE_NUM_PRICE, &t->price,
                                    &t->price_text, &t->has_price,
                                    l->missing_price, l->bad_price);
    }
    if (err == NULL && l->qty[0] != '\0') {
        err = cs_venue_take_decimal(ev->js, field(ev, l->qty), is_trade,
                                    CS_VENUE_NUM_QTY, &t->qty, &t->qty_text,
                                    &t->has_qty, l->missing_qty, l->bad_qty);
    }
    if (err == NULL && l->sides) {
        err = cs_venue_take_decimal(ev->js, field(ev, "b"), l->sides_required,
                                    CS_VENUE_NUM_SIDE, &t->bid, &t->bid_text,
                                    &t->has_bid, l->missing_b, l->bad_b);
    }
    if (err == NULL && l->sides) {
        err = cs_venue_take_decimal(ev->js, field(ev, "a"), l->sides_required,
                                    CS_VENUE_NUM_SIDE, &t->ask, &t->ask_text,
                                    &t->has_ask, l->missing_a, l->bad_a);
    }
    if (err == NULL) {
        err = take_time(ev, l, t);
    }
    if (err == NULL) {
        err = take_seq(ev, l, t);
    }
    return err;
}

static struct cs_venue_result emit(const struct ctx *c, const struct event *ev,
                                   const struct layout *l)
{
    struct cs_tick tick;
    const char *err;

    cs_venue_tick_init(&tick, EXCHANGE, c->recv_ns);
    tick.kind = l->kind;
    err = fill_tick(ev, l, &tick);
    if (err != NULL) {
        return cs_venue_result(CS_FRAME_MALFORMED, err);
    }
    cs_venue_out_push(c->out, &tick);
    return cs_venue_result(CS_FRAME_DATA, l->event);
}

/* Objects without `e`: spot bookTicker (by far the most frequent, so
 * first), replies to requests, errors and partial-depth snapshots. */
static struct cs_venue_result classify_untyped(const struct ctx *c,
                                               const struct event *ev)
{
    if (field(ev, "u") >= 0 && field(ev, "s") >= 0) {
        return emit(c, ev, &book_ticker);
    }
    if (field(ev, "result") >= 0) {
        return cs_venue_result(CS_FRAME_CONTROL, "request reply");
    }
    if (field(ev, "error") >= 0
        || (field(ev, "code") >= 0 && field(ev, "msg") >= 0)) {
        return cs_venue_result(CS_FRAME_CONTROL, "error");
    }
    if (field(ev, "lastUpdateId") >= 0) {
        return cs_venue_result(CS_FRAME_IGNORED, "depth snapshot");
    }
    return cs_venue_result(CS_FRAME_UNKNOWN, "object without event type");
}

/* One event object. */
static struct cs_venue_result handle_event(struct ctx *c,
                                           const struct cs_json *js, int obj)
{
    const char *ignored;
    struct event ev;
    int e;

    if (js->toks[obj].type != CS_JSON_OBJECT) {
        return cs_venue_result(CS_FRAME_UNKNOWN, "unexpected JSON value");
    }
    index_event(&ev, js, obj);
    e = field(&ev, "e");
    if (e < 0) {
        return classify_untyped(c, &ev);
    }
    if (js->toks[e].type != CS_JSON_STRING) {
        return cs_venue_result(CS_FRAME_MALFORMED, "bad e");
    }
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        if (cs_json_str_eq(js, e, layouts[i].event)) {
            return emit(c, &ev, &layouts[i]);
        }
    }
    if (cs_json_str_eq(js, e, "serverShutdown")) {
        c->out->server_shutdown = true;
        return cs_venue_result(CS_FRAME_CONTROL, "serverShutdown");
    }
    ignored = cs_venue_match(js, e, ignored_events,
                             sizeof ignored_events / sizeof ignored_events[0],
                             false);
    if (ignored != NULL) {
        return cs_venue_result(CS_FRAME_IGNORED, ignored);
    }
    return cs_venue_result(CS_FRAME_UNKNOWN, "unknown event type");
}

static struct cs_venue_result handle_value(struct ctx *c,
                                           const struct cs_json *js, int tok);

/* A value whose subtree the frame parse skipped: re-parse its bytes in the
 * element area. Only one level of this is possible at a time. */
static struct cs_venue_result handle_skipped(struct ctx *c,
                                             const struct cs_json *js, int tok)
{
    struct cs_json sub;
    const struct cs_json *ejs;
    struct cs_venue_result r;
    int etok;

    if (c->element_area_busy
        || !cs_venue_unskip(c->scratch, js, tok, &sub, &ejs, &etok)) {
        return cs_venue_result(CS_FRAME_MALFORMED, "too many JSON tokens");
    }
    c->element_area_busy = true;
    r = handle_value(c, ejs, etok);
    c->element_area_busy = false;
    return r;
}

/* `!..@arr` payloads: one event per element. A malformed element rejects
 * the frame; otherwise the first element decides the class. */
static struct cs_venue_result handle_array(struct ctx *c,
                                           const struct cs_json *js, int arr)
{
    struct cs_venue_result first = cs_venue_result(CS_FRAME_DATA,
                                                   "empty array");
    uint32_t n = js->toks[arr].size;
    uint32_t child = (uint32_t)arr + 1;

    for (uint32_t i = 0; i < n; i++) {
        struct cs_venue_result r;

        r = js->toks[child].skipped ? handle_skipped(c, js, (int)child)
                                    : handle_event(c, js, (int)child);
        if (r.cls == CS_FRAME_MALFORMED) {
            return r;
        }
        if (i == 0) {
            first = r;
        }
        child = js->toks[child].next;
    }
    return first;
}

static struct cs_venue_result handle_value(struct ctx *c,
                                           const struct cs_json *js, int tok)
{
    if (js->toks[tok].skipped) {
        return handle_skipped(c, js, tok);
    }
    if (js->toks[tok].type == CS_JSON_ARRAY) {
        return handle_array(c, js, tok);
    }
    return handle_event(c, js, tok);
}

/* Combined streams wrap the payload: {"stream":"<name>","data":{...}}. */
static struct cs_venue_result handle_root(const struct cs_venue_ctx *vc,
                                          const struct cs_json *js)
{
    struct ctx ctx = { vc->scratch, vc->out, vc->recv_ns, false };
    struct ctx *c = &ctx;
    int stream, data;

    if (js->toks[0].type == CS_JSON_OBJECT) {
        stream = cs_json_get(js, 0, "stream");
        data = cs_json_get(js, 0, "data");
        if (stream >= 0 && data >= 0) {
            return handle_value(c, js, data);
        }
        if (stream >= 0) {
            return cs_venue_result(CS_FRAME_MALFORMED,
                                   "combined: missing data");
        }
    }
    return handle_value(c, js, 0);
}

static void binance_parse(struct cs_venue_scratch *scratch, const char *frame,
                          size_t len, int64_t recv_ns, struct cs_parse_out *out)
{
    cs_venue_run(EXCHANGE, scratch, frame, len, recv_ns, out, handle_root);
}

/* Quote assets Binance lists or has listed, fiat and stablecoins
 * included. The longest matching suffix wins (BUSD over USD, FDUSD over
 * USD, USDT over nothing shorter that matches). */
static const char *const quote_assets[] = {
    "FDUSD", "USDT", "BUSD", "USDC", "TUSD", "USDP", "USDS", "USD1", "AEUR",
    "EURI", "IDRT", "BIDR", "BKRW", "BVND", "DOGE", "BTC", "ETH", "BNB",
    "XRP", "TRX", "DOT", "DAI", "PAX", "UST", "VAI", "USD", "EUR", "GBP",
    "TRY", "RUB", "BRL", "AUD", "UAH", "NGN", "ZAR", "JPY", "PLN", "RON",
    "ARS", "MXN", "COP", "CZK", NULL,
};

static bool binance_split(const char *raw, size_t len, char *base,
                          size_t base_size, char *quote, size_t quote_size)
{
    return cs_venue_split_suffix(raw, len, quote_assets, base, base_size,
                                 quote, quote_size);
}

static const char *const binance_default_channels[] = { "aggTrade", NULL };
static const char *const binance_all_channels[] = {
    "aggTrade", "trade", "bookTicker", "ticker", "miniTicker", NULL,
};

/* BSD web-socket-streams.md, "General WSS information" and "WebSocket
 * Limits": 1024 streams per connection (200 symbols times the five
 * channels stay below it), 5 incoming messages per second with pings and
 * pongs counted (so 4), a ping frame from the server every 20 s answered
 * by the WebSocket layer (no client ping; 60 s without any frame is
 * three missed pings), and every connection closed at 24 h (rotated ten
 * minutes before). 50 symbols per SUBSCRIBE is our choice: the docs set
 * no per-message count, and 200 symbols then take one second. */
static const struct cs_venue_wire binance_wire = {
    .ws_url = "wss://stream.binance.com:9443/ws",
    .max_symbols_per_conn = 200,
    .max_symbols_per_msg = 50,
    .max_client_msgs_per_s = 4,
    .idle_timeout_ms = 60 * 1000,
    .ping_interval_ms = 0,
    .max_lifetime_ms = (23 * 60 + 50) * 60 * 1000LL,
    .default_channels = binance_default_channels,
    .all_channels = binance_all_channels,
    /* REST (BSD rest-api.md "LIMITS", "Symbol price ticker", "Kline/
     * Candlestick data"): 6000 request weight per minute per IP; one
     * ticker/price weighs 2, one klines page (up to 1000) weighs 2. We
     * spend at most half the limit (50 a second) so other clients on the
     * same address keep room. */
    .rest_url = "https://api.binance.com",
    .rest_weight_per_s = 50,
    .rest_weight_burst = 100,
    .rest_ticker_weight = 2,
    .rest_candles_weight = 2,
    .rest_candles_per_page = 1000,
    .rest_candles_max_minutes = 0,
};

/* Stream names are the lower-case symbol, '@' and the channel as the
 * docs spell it: "btcusdt@aggTrade" (BSD "General WSS information"). */
static void put_stream(struct cs_jsonw *w, const char *symbol,
                       const char *channel)
{
    char name[2 * CS_VENUE_NAME_MAX + 2];
    size_t n = 0;

    for (const char *c = symbol; *c != '\0'; c++) {
        name[n++] = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
    }
    name[n++] = '@';
    n += (size_t)snprintf(name + n, sizeof name - n, "%s", channel);
    cs_jsonw_string(w, name, n);
}

/* {"method":"SUBSCRIBE","params":["btcusdt@aggTrade",...],"id":1}, with
 * every channel of max_symbols_per_msg symbols. */
static void write_request(struct cs_jsonw *w, const struct cs_venue_batch *b,
                          uint64_t *req_id)
{
    cs_jsonw_begin_object(w);
    cs_jsonw_key(w, "method");
    cs_jsonw_cstring(w, b->unsubscribe ? "UNSUBSCRIBE" : "SUBSCRIBE");
    cs_jsonw_key(w, "params");
    cs_jsonw_begin_array(w);
    for (size_t i = 0; i < b->nsymbols; i++) {
        for (size_t c = 0; c < b->nchannels; c++) {
            put_stream(w, b->symbols[i], b->channels[c]);
        }
    }
    cs_jsonw_end_array(w);
    cs_jsonw_key(w, "id");
    cs_jsonw_int(w, (int64_t)++*req_id);
    cs_jsonw_end_object(w);
}

static void binance_subscription(const char *const *raw_symbols, size_t n,
                                 const char *const *channels,
                                 size_t nchannels, bool unsubscribe,
                                 uint64_t *req_id, cs_venue_send_fn send,
                                 void *ctx)
{
    cs_venue_subscribe(raw_symbols, n, channels, nchannels, unsubscribe,
                       req_id, CS_VENUE_BATCH_SYMBOLS,
                       binance_wire.max_symbols_per_msg, write_request, send,
                       ctx);
}

/* ---- REST (BSD rest-api.md "Symbol price ticker" and "Kline/Candlestick
 * data"; PROTOCOLS.md section 2) ----
 * - GET /api/v3/ticker/price?symbol=S -> {"symbol":S,"price":"..."}: a
 *   ticker tick without bid, ask or time (the engine uses the receive
 *   time). An array reply (several symbols) is searched for S.
 * - GET /api/v3/klines?symbol=S&interval=1m&startTime=&endTime=&limit= ->
 *   [[openTime, "open", "high", "low", "close", "volume", closeTime, ...]],
 *   oldest first, times in ms, startTime and endTime inclusive.
 * - Errors are {"code":-1121,"msg":"..."} ("error reply"). */

static size_t binance_ticker_url(const char *base, const char *raw,
                                 char *buf, size_t size)
{
    char sym[3 * CS_VENUE_NAME_MAX + 1];

    if (!cs_venue_url_symbol(raw, sym, sizeof sym)) {
        return 0;
    }
    return cs_venue_url(buf, size, "%s/api/v3/ticker/price?symbol=%s", base,
                        sym);
}

static bool is_error_reply(const struct cs_json *js, int obj)
{
    return js->toks[obj].type == CS_JSON_OBJECT
           && cs_json_get(js, obj, "code") >= 0
           && cs_json_get(js, obj, "msg") >= 0;
}

static const char *binance_rest_ticker(struct cs_venue_scratch *s,
                                       const char *raw, const char *body,
                                       size_t len, int64_t recv_ns,
                                       struct cs_tick *tick)
{
    struct cs_json js;
    const char *err = cs_venue_rest_body(s, &js, body, len);
    int obj = 0;

    if (err != NULL) {
        return err;
    }
    if (is_error_reply(&js, 0)) {
        return "error reply";
    }
    if (js.toks[0].type == CS_JSON_ARRAY) {
        obj = -1;
        for (uint32_t i = 0, el = 1; i < js.toks[0].size && obj < 0; i++) {
            if (js.toks[el].type == CS_JSON_OBJECT
                && cs_json_str_eq(&js, cs_json_get(&js, (int)el, "symbol"),
                                  raw)) {
                obj = (int)el;
            }
            el = js.toks[el].next;
        }
        if (obj < 0) {
            return "ticker: symbol not in reply";
        }
    }
    if (js.toks[obj].type != CS_JSON_OBJECT) {
        return "ticker: not an object";
    }
    if (!cs_venue_rest_symbol_ok(&js, cs_json_get(&js, obj, "symbol"), raw)) {
        return "ticker: wrong symbol";
    }
    return cs_venue_rest_tick(&js, cs_json_get(&js, obj, "price"), -1, -1,
                              EXCHANGE, raw, recv_ns, tick);
}

static size_t binance_candles_url(const char *base, const char *raw,
                                  int64_t start_ms, int64_t end_ms, char *buf,
                                  size_t size)
{
    char sym[3 * CS_VENUE_NAME_MAX + 1];

    if (!cs_venue_url_symbol(raw, sym, sizeof sym)) {
        return 0;
    }
    return cs_venue_url(buf, size, "%s/api/v3/klines?symbol=%s&interval=1m"
                        "&startTime=%lld&endTime=%lld&limit=%lld", base, sym,
                        (long long)start_ms, (long long)(end_ms - 1),
                        (long long)cs_venue_candle_count(start_ms, end_ms,
                                                         1000));
}

static const char *binance_candle(const struct cs_json *js, int el,
                                  int64_t *open_ms, int *close_tok,
                                  bool *unfinished)
{
    int open;

    if (js->toks[el].type != CS_JSON_ARRAY || js->toks[el].size < 5) {
        return "klines: bad row";
    }
    open = cs_json_at(js, el, 0);
    if (js->toks[open].type != CS_JSON_NUMBER
        || !cs_json_int64(js, open, open_ms)) {
        return "klines: bad open time";
    }
    *close_tok = cs_json_at(js, el, 4);
    *unfinished = false;
    return NULL;
}

static const char *binance_rest_candles(struct cs_venue_scratch *s,
                                        const char *raw, const char *body,
                                        size_t len, int64_t now_ns,
                                        cs_venue_tick_fn fn, void *ctx)
{
    struct cs_json js;
    const char *err = cs_venue_rest_body(s, &js, body, len);

    if (err != NULL) {
        return err;
    }
    if (is_error_reply(&js, 0)) {
        return "error reply";
    }
    return cs_venue_emit_candles(s, &js, 0, binance_candle,
                                 "klines: not a list", EXCHANGE, raw, now_ns,
                                 fn, ctx);
}

const struct cs_venue_ops cs_venue_binance = {
    .name = EXCHANGE,
    .wire = &binance_wire,
    .build_subscription = binance_subscription,
    .build_ping = cs_venue_no_ping,
    .compose_symbol = cs_venue_compose_concat,
    .parse = binance_parse,
    .split_symbol = binance_split,
    .rest_ticker_url = binance_ticker_url,
    .parse_rest_ticker = binance_rest_ticker,
    .rest_candles_url = binance_candles_url,
    .parse_rest_candles = binance_rest_candles,
};
