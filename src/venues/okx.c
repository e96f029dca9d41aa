/* OKX v5 public frames (tickers and trades pushes, event replies, the text
 * "pong") to normalised ticks, the split of "BTC-USDT" instrument ids, the
 * v5 subscribe and ping messages and limits, and the REST ticker and
 * candles. */
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

static const struct cs_venue_layout tickers_layout = CS_VENUE_LAYOUT(
    "tickers", CS_TICK_TICKER, "instId", "last", "lastSz", false, "bidPx",
    "askPx", "ts", true, CS_VENUE_TIME_EPOCH, "", CS_VENUE_SEQ_DIGITS,
    CS_SEQ_NONE);
static const struct cs_venue_layout trades_layout = CS_VENUE_LAYOUT(
    "trades", CS_TICK_TRADE, "instId", "px", "sz", true, "", "", "ts", true,
    CS_VENUE_TIME_EPOCH, "tradeId", CS_VENUE_SEQ_DIGITS, CS_SEQ_INCREASING);

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

/* {"arg":{"channel":"tickers",...},"data":[...]} */
static struct cs_venue_result handle_push(const struct cs_venue_ctx *c,
                                          const struct cs_json *js, int arg,
                                          int data)
{
    int channel = js->toks[arg].type == CS_JSON_OBJECT
                  ? cs_json_get(js, arg, "channel") : -1;
    const struct cs_venue_layout *l;
    const char *name;

    if (channel < 0 || js->toks[channel].type != CS_JSON_STRING) {
        return cs_venue_result(CS_FRAME_MALFORMED, "push: bad arg");
    }
    if (cs_json_str_eq(js, channel, "tickers")) {
        l = &tickers_layout;
    } else if (cs_json_str_eq(js, channel, "trades")
               || cs_json_str_eq(js, channel, "trades-all")) {
        l = &trades_layout;
    } else if ((name = cs_venue_match(js, channel, ignored_prefixes,
                                      sizeof ignored_prefixes
                                          / sizeof ignored_prefixes[0],
                                      true)) != NULL) {
        return cs_venue_result(CS_FRAME_IGNORED, name);
    } else {
        return cs_venue_result(CS_FRAME_UNKNOWN, "unknown channel");
    }
    return cs_venue_emit_array(c, EXCHANGE, js, data, l,
                               l == &tickers_layout ? "tickers: bad data"
                                                    : "trades: bad data");
}

/* {"event":"subscribe"|"error"|"notice",...} */
static struct cs_venue_result handle_event(const struct cs_venue_ctx *c,
                                           const struct cs_json *js, int event)
{
    int code = cs_json_get(js, 0, "code");
    const char *name;
    int64_t v;

    if (js->toks[event].type != CS_JSON_STRING) {
        return cs_venue_result(CS_FRAME_MALFORMED, "bad event");
    }
    name = cs_venue_match(js, event, control_events,
                          sizeof control_events / sizeof control_events[0],
                          false);
    if (name == NULL) {
        return cs_venue_result(CS_FRAME_UNKNOWN, "unknown event");
    }
    if (strcmp(name, "notice") == 0 && code >= 0
        && cs_json_int64(js, code, &v) && v == 64008) {
        c->out->server_shutdown = true;
    }
    return cs_venue_result(CS_FRAME_CONTROL, name);
}

static struct cs_venue_result handle_root(const struct cs_venue_ctx *c,
                                          const struct cs_json *js)
{
    int key, data;

    if (js->toks[0].type != CS_JSON_OBJECT) {
        return cs_venue_result(CS_FRAME_UNKNOWN, "unexpected JSON value");
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
        return cs_venue_result(CS_FRAME_MALFORMED, "push: missing data");
    }
    return cs_venue_result(CS_FRAME_UNKNOWN, "object without event or arg");
}

static void okx_parse(struct cs_venue_scratch *scratch, const char *frame,
                      size_t len, int64_t recv_ns, struct cs_parse_out *out)
{
    cs_venue_run(EXCHANGE, scratch, frame, len, recv_ns, out, handle_root);
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
    /* REST (OKD "Get ticker", "Get candlesticks history"): 20 requests per
     * 2 s per IP for each; we send at most 5 a second in all. */
    .rest_url = "https://www.okx.com",
    .rest_weight_per_s = 5,
    .rest_weight_burst = 5,
    .rest_ticker_weight = 1,
    .rest_candles_weight = 1,
    .rest_candles_per_page = 100,
    .rest_candles_max_minutes = 0,
};

/* {"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},...]}
 * with every instrument of a batch per channel, channel by channel (the
 * order of the recorded client frames); no request id. */
static void write_request(struct cs_jsonw *w, const struct cs_venue_batch *b,
                          uint64_t *req_id)
{
    (void)req_id;
    cs_jsonw_begin_object(w);
    cs_jsonw_key(w, "op");
    cs_jsonw_cstring(w, b->unsubscribe ? "unsubscribe" : "subscribe");
    cs_jsonw_key(w, "args");
    cs_jsonw_begin_array(w);
    for (size_t c = 0; c < b->nchannels; c++) {
        for (size_t i = 0; i < b->nsymbols; i++) {
            cs_jsonw_begin_object(w);
            cs_jsonw_key(w, "channel");
            cs_jsonw_cstring(w, b->channels[c]);
            cs_jsonw_key(w, "instId");
            cs_jsonw_cstring(w, b->symbols[i]);
            cs_jsonw_end_object(w);
        }
    }
    cs_jsonw_end_array(w);
    cs_jsonw_end_object(w);
}

static void okx_subscription(const char *const *raw_symbols, size_t n,
                             const char *const *channels, size_t nchannels,
                             bool unsubscribe, uint64_t *req_id,
                             cs_venue_send_fn send, void *ctx)
{
    cs_venue_subscribe(raw_symbols, n, channels, nchannels, unsubscribe,
                       req_id, CS_VENUE_BATCH_SYMBOLS,
                       okx_wire.max_symbols_per_msg, write_request, send, ctx);
}

/* The text frame "ping"; the reply is the text "pong". */
static size_t okx_ping(uint64_t *req_id, char *buf, size_t size)
{
    (void)req_id;
    return cs_venue_ping_msg(NULL, buf, size, "ping", "");
}

/* ---- REST (OKD "Get ticker" and "Get candlesticks history",
 * https://www.okx.com/docs-v5/en/#order-book-trading-market-data) ----
 * - GET /api/v5/market/ticker?instId=I -> {"code":"0","msg":"",
 *   "data":[{...the tickers channel's fields...}]}: read like a tickers
 *   push (price last, bid bidPx, ask askPx, time ts).
 * - GET /api/v5/market/history-candles?instId=I&bar=1m&after=&before=
 *   &limit= -> data [[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]],
 *   newest first, all strings; `after` and `before` are exclusive bounds
 *   in ms; confirm "0" marks the candle still open. history-candles (not
 *   candles, which keeps only the latest 1440) so a 24 h window can be
 *   filled with margin; at most 100 per request.
 * - A code other than "0" is an error ("error reply"). */

static bool okx_ok(const struct cs_json *js)
{
    int64_t code;

    return js->toks[0].type == CS_JSON_OBJECT
           && cs_json_int64(js, cs_json_get(js, 0, "code"), &code)
           && code == 0;
}

static size_t okx_ticker_url(const char *base, const char *raw, char *buf,
                             size_t size)
{
    char id[3 * CS_VENUE_NAME_MAX + 1];

    if (!cs_venue_url_symbol(raw, id, sizeof id)) {
        return 0;
    }
    return cs_venue_url(buf, size, "%s/api/v5/market/ticker?instId=%s", base,
                        id);
}

static const char *okx_rest_ticker(struct cs_venue_scratch *s,
                                   const char *raw, const char *body,
                                   size_t len, int64_t recv_ns,
                                   struct cs_tick *tick)
{
    struct cs_json js;
    const char *err = cs_venue_rest_body(s, &js, body, len);
    struct cs_tick t;
    int el;

    if (err != NULL) {
        return err;
    }
    if (!okx_ok(&js)) {
        return js.toks[0].type == CS_JSON_OBJECT ? "error reply"
                                                 : "ticker: not an object";
    }
    el = cs_json_at(&js, cs_json_get(&js, 0, "data"), 0);
    if (el < 0 || js.toks[el].type != CS_JSON_OBJECT) {
        return "ticker: bad data";
    }
    if (!cs_json_str_eq(&js, cs_json_get(&js, el, "instId"), raw)) {
        return "ticker: wrong symbol";
    }
    cs_venue_tick_init(&t, EXCHANGE, recv_ns);
    t.kind = CS_TICK_TICKER;
    if ((err = cs_venue_fill(&tickers_layout, &js, el, &t)) != NULL) {
        return err;
    }
    t.raw_symbol.ptr = raw;
    t.raw_symbol.len = strlen(raw);
    *tick = t;
    return NULL;
}

static size_t okx_candles_url(const char *base, const char *raw,
                              int64_t start_ms, int64_t end_ms, char *buf,
                              size_t size)
{
    char id[3 * CS_VENUE_NAME_MAX + 1];

    if (!cs_venue_url_symbol(raw, id, sizeof id)) {
        return 0;
    }
    return cs_venue_url(buf, size, "%s/api/v5/market/history-candles?"
                        "instId=%s&bar=1m&after=%lld&before=%lld&limit=%lld",
                        base, id, (long long)end_ms, (long long)(start_ms - 1),
                        (long long)cs_venue_candle_count(start_ms, end_ms,
                                                         100));
}

static const char *okx_candle(const struct cs_json *js, int el,
                              int64_t *open_ms, int *close_tok,
                              bool *unfinished)
{
    int confirm;

    if (js->toks[el].type != CS_JSON_ARRAY || js->toks[el].size < 5) {
        return "candles: bad row";
    }
    if (!cs_json_int64(js, cs_json_at(js, el, 0), open_ms)) {
        return "candles: bad ts";
    }
    *close_tok = cs_json_at(js, el, 4);
    confirm = cs_json_at(js, el, 8);
    *unfinished = confirm >= 0 && cs_json_str_eq(js, confirm, "0");
    return NULL;
}

static const char *okx_rest_candles(struct cs_venue_scratch *s,
                                    const char *raw, const char *body,
                                    size_t len, int64_t now_ns,
                                    cs_venue_tick_fn fn, void *ctx)
{
    struct cs_json js;
    const char *err = cs_venue_rest_body(s, &js, body, len);

    if (err != NULL) {
        return err;
    }
    if (!okx_ok(&js)) {
        return js.toks[0].type == CS_JSON_OBJECT ? "error reply"
                                                 : "candles: not an object";
    }
    return cs_venue_emit_candles(s, &js, cs_json_get(&js, 0, "data"),
                                 okx_candle, "candles: bad data", EXCHANGE,
                                 raw, now_ns, fn, ctx);
}

/* Spot "BTC-USDT" splits at its one '-'; see above for futures/swaps. */
const struct cs_venue_ops cs_venue_okx = {
    .name = EXCHANGE,
    .wire = &okx_wire,
    .build_subscription = okx_subscription,
    .build_ping = okx_ping,
    .compose_symbol = cs_venue_compose_dash,
    .parse = okx_parse,
    .split_symbol = cs_venue_split_dash,
    .rest_ticker_url = okx_ticker_url,
    .parse_rest_ticker = okx_rest_ticker,
    .rest_candles_url = okx_candles_url,
    .parse_rest_candles = okx_rest_candles,
};
