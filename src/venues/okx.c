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
    cs_venue_run(scratch, frame, len, recv_ns, out, handle_root);
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
    cs_venue_msg_array_begin(w);
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
    cs_venue_msg_array_end(w);
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

/* Spot "BTC-USDT" splits at its one '-'; see above for futures/swaps. */
const struct cs_venue_ops cs_venue_okx = {
    .name = EXCHANGE,
    .wire = &okx_wire,
    .build_subscription = okx_subscription,
    .build_ping = okx_ping,
    .compose_symbol = cs_venue_compose_dash,
    .parse = okx_parse,
    .split_symbol = cs_venue_split_dash,
};
