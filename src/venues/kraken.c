/* Kraken Spot WebSocket v2 frames to normalised ticks, the split of
 * "BTC/USD" symbols, and the v2 subscribe and ping messages and limits. */
#include "cryptosup/venue.h"

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

static const struct cs_venue_layout ticker_layout = CS_VENUE_LAYOUT(
    "ticker", CS_TICK_TICKER, "symbol", "last", "", false, "bid", "ask",
    "timestamp", false, CS_VENUE_TIME_ISO, "", CS_VENUE_SEQ_NUMBER,
    CS_SEQ_NONE);
static const struct cs_venue_layout trade_layout = CS_VENUE_LAYOUT(
    "trade", CS_TICK_TRADE, "symbol", "price", "qty", true, "", "",
    "timestamp", true, CS_VENUE_TIME_ISO, "trade_id", CS_VENUE_SEQ_NUMBER,
    CS_SEQ_INCREASING);

static const char *const control_channels[] = { "heartbeat", "status" };
static const char *const ignored_channels[] = {
    "book", "ohlc", "instrument", "level3", "executions", "balances",
};

static struct cs_venue_result handle_channel(const struct cs_venue_ctx *c,
                                             const struct cs_json *js,
                                             int channel)
{
    const struct cs_venue_layout *l;
    const char *name;

    if (cs_json_str_eq(js, channel, "ticker")) {
        l = &ticker_layout;
    } else if (cs_json_str_eq(js, channel, "trade")) {
        l = &trade_layout;
    } else if ((name = cs_venue_match(js, channel, control_channels, 2,
                                      false)) != NULL) {
        return cs_venue_result(CS_FRAME_CONTROL, name);
    } else if ((name = cs_venue_match(js, channel, ignored_channels,
                                      sizeof ignored_channels
                                          / sizeof ignored_channels[0],
                                      false)) != NULL) {
        return cs_venue_result(CS_FRAME_IGNORED, name);
    } else {
        return cs_venue_result(CS_FRAME_UNKNOWN, "unknown channel");
    }
    return cs_venue_emit_array(c, EXCHANGE, js, cs_json_get(js, 0, "data"),
                               l, l == &ticker_layout ? "ticker: bad data"
                                                      : "trade: bad data");
}

/* Replies to requests: {"method":"subscribe","success":true,...}. */
static struct cs_venue_result handle_method(const struct cs_json *js,
                                            int method)
{
    static const char *const methods[] = { "subscribe", "unsubscribe",
                                           "pong" };
    int success = cs_json_get(js, 0, "success");
    const char *name = cs_venue_match(js, method, methods, 3, false);

    if (success >= 0 && js->toks[success].type == CS_JSON_FALSE) {
        return cs_venue_result(CS_FRAME_CONTROL, "request error");
    }
    return name != NULL ? cs_venue_result(CS_FRAME_CONTROL, name)
                        : cs_venue_result(CS_FRAME_UNKNOWN, "unknown method");
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
        return handle_channel(c, js, key);
    }
    if ((key = cs_json_get(js, 0, "method")) >= 0) {
        if (js->toks[key].type != CS_JSON_STRING) {
            return cs_venue_result(CS_FRAME_MALFORMED, "bad method");
        }
        return handle_method(js, key);
    }
    if (cs_json_get(js, 0, "error") >= 0) {
        return cs_venue_result(CS_FRAME_CONTROL, "request error");
    }
    return cs_venue_result(CS_FRAME_UNKNOWN,
                           "object without channel or method");
}

static void kraken_parse(struct cs_venue_scratch *scratch, const char *frame,
                         size_t len, int64_t recv_ns, struct cs_parse_out *out)
{
    cs_venue_run(scratch, frame, len, recv_ns, out, handle_root);
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
static void write_request(struct cs_jsonw *w, const struct cs_venue_batch *b,
                          uint64_t *req_id)
{
    cs_jsonw_begin_object(w);
    cs_jsonw_key(w, "method");
    cs_jsonw_cstring(w, b->unsubscribe ? "unsubscribe" : "subscribe");
    cs_jsonw_key(w, "params");
    cs_jsonw_begin_object(w);
    cs_jsonw_key(w, "channel");
    cs_jsonw_cstring(w, b->channels[0]);
    cs_jsonw_key(w, "symbol");
    cs_venue_msg_array_begin(w);
    for (size_t i = 0; i < b->nsymbols; i++) {
        cs_jsonw_cstring(w, b->symbols[i]);
    }
    cs_venue_msg_array_end(w);
    cs_jsonw_end_object(w);
    cs_jsonw_key(w, "req_id");
    cs_jsonw_int(w, (int64_t)++*req_id);
    cs_jsonw_end_object(w);
}

static void kraken_subscription(const char *const *raw_symbols, size_t n,
                                const char *const *channels, size_t nchannels,
                                bool unsubscribe, uint64_t *req_id,
                                cs_venue_send_fn send, void *ctx)
{
    cs_venue_subscribe(raw_symbols, n, channels, nchannels, unsubscribe,
                       req_id, CS_VENUE_BATCH_CHANNEL,
                       kraken_wire.max_symbols_per_msg, write_request, send,
                       ctx);
}

/* {"method":"ping","req_id":7} -> {"method":"pong","req_id":7,...}. */
static size_t kraken_ping(uint64_t *req_id, char *buf, size_t size)
{
    return cs_venue_ping_msg(req_id, buf, size, "{\"method\":\"ping\","
                             "\"req_id\":", "}");
}

/* v2 spells pairs "BTC/USD" (v1's XBT is BTC here): split at the '/'. */
const struct cs_venue_ops cs_venue_kraken = {
    .name = EXCHANGE,
    .wire = &kraken_wire,
    .build_subscription = kraken_subscription,
    .build_ping = kraken_ping,
    .compose_symbol = cs_venue_compose_slash,
    .parse = kraken_parse,
    .split_symbol = cs_venue_split_slash,
};
