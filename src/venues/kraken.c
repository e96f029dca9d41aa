/* Kraken Spot WebSocket v2 frames to normalised ticks, the split of
 * "BTC/USD" symbols, the v2 subscribe and ping messages and limits, and
 * the REST ticker and OHLC candles. */
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
    cs_venue_run(EXCHANGE, scratch, frame, len, recv_ns, out, handle_root);
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
    /* REST (Kraken "Spot REST rate limits"): public calls about once a
     * second per IP stay within the limit, so 1 a second; OHLC serves the
     * latest 720 candles only, so warm-up covers at most 12 hours. */
    .rest_url = "https://api.kraken.com",
    .rest_weight_per_s = 1,
    .rest_weight_burst = 2,
    .rest_ticker_weight = 1,
    .rest_candles_weight = 1,
    .rest_candles_per_page = 720,
    .rest_candles_max_minutes = 720,
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
    cs_jsonw_begin_array(w);
    for (size_t i = 0; i < b->nsymbols; i++) {
        cs_jsonw_cstring(w, b->symbols[i]);
    }
    cs_jsonw_end_array(w);
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

/* ---- REST (https://docs.kraken.com/api/docs/rest-api/get-ticker-
 * information and .../get-ohlc-data; PROTOCOLS.md section 4) ----
 * - The REST API names pairs without the '/': "BTC/USD" is asked for as
 *   pair=BTCUSD, and the reply keys it by Kraken's own name ("XXBTZUSD"),
 *   so the one pair in `result` is taken, whatever its key.
 * - GET /0/public/Ticker?pair=P -> {"error":[],"result":{"<name>":{"a":
 *   [ask, ...],"b":[bid, ...],"c":[last, volume],...}}}: a ticker tick
 *   without a time (the engine uses the receive time).
 * - GET /0/public/OHLC?pair=P&interval=1&since=<unix s> -> result
 *   {"<name>":[[time, open, high, low, close, vwap, volume, count]],
 *   "last":<id>}, oldest first, prices as strings; only the latest 720
 *   candles are served, and the last one is still open.
 * - A non-empty "error" list is an error ("error reply"). Not checked
 *   against the live API: no recording exists. */

static bool kraken_rest_pair(const char *raw, char *out, size_t size)
{
    char joined[CS_VENUE_NAME_MAX + 1];
    size_t n = 0;

    if (!cs_venue_name_ok(raw)) {
        return false;
    }
    for (const char *c = raw; *c != '\0'; c++) {
        if (*c != '/') {
            joined[n++] = *c;
        }
    }
    joined[n] = '\0';
    return cs_venue_url_symbol(joined, out, size);
}

static size_t kraken_ticker_url(const char *base, const char *raw, char *buf,
                                size_t size)
{
    char pair[3 * CS_VENUE_NAME_MAX + 1];

    if (!kraken_rest_pair(raw, pair, sizeof pair)) {
        return 0;
    }
    return cs_venue_url(buf, size, "%s/0/public/Ticker?pair=%s", base, pair);
}

/* The value of the one pair in `result` (skipping "last"), or an error. */
static const char *kraken_result(const struct cs_json *js, int *value)
{
    int errors = cs_json_get(js, 0, "error");
    int result = cs_json_get(js, 0, "result");
    uint32_t key;

    if (js->toks[0].type != CS_JSON_OBJECT) {
        return "reply: not an object";
    }
    if (errors >= 0 && (js->toks[errors].type != CS_JSON_ARRAY
                        || js->toks[errors].size > 0)) {
        return "error reply";
    }
    if (result < 0 || js->toks[result].type != CS_JSON_OBJECT) {
        return "reply: bad result";
    }
    key = (uint32_t)result + 1;
    for (uint32_t i = 0; i < js->toks[result].size; i++) {
        if (!cs_json_str_eq(js, (int)key, "last")) {
            *value = (int)key + 1;
            return NULL;
        }
        key = js->toks[key + 1].next;
    }
    return "reply: no pair";
}

static const char *kraken_rest_ticker(struct cs_venue_scratch *s,
                                      const char *raw, const char *body,
                                      size_t len, int64_t recv_ns,
                                      struct cs_tick *tick)
{
    struct cs_json js;
    const char *err = cs_venue_rest_body(s, &js, body, len);
    int pair = -1, last, bid, ask;

    if (err != NULL || (err = kraken_result(&js, &pair)) != NULL) {
        return err;
    }
    if (js.toks[pair].type != CS_JSON_OBJECT) {
        return "ticker: not an object";
    }
    /* c = [last price, volume], b and a = [price, whole lot, lot]. */
    last = cs_json_at(&js, cs_json_get(&js, pair, "c"), 0);
    bid = cs_json_at(&js, cs_json_get(&js, pair, "b"), 0);
    ask = cs_json_at(&js, cs_json_get(&js, pair, "a"), 0);
    return cs_venue_rest_tick(&js, last, bid, ask, EXCHANGE, raw, recv_ns,
                              tick);
}

static size_t kraken_candles_url(const char *base, const char *raw,
                                 int64_t start_ms, int64_t end_ms, char *buf,
                                 size_t size)
{
    char pair[3 * CS_VENUE_NAME_MAX + 1];

    (void)end_ms;   /* Kraken serves the latest candles after `since` */
    if (!kraken_rest_pair(raw, pair, sizeof pair)) {
        return 0;
    }
    return cs_venue_url(buf, size, "%s/0/public/OHLC?pair=%s&interval=1"
                        "&since=%lld", base, pair,
                        (long long)(start_ms / 1000 - 1));
}

static const char *kraken_candle(const struct cs_json *js, int el,
                                 int64_t *open_ms, int *close_tok,
                                 bool *unfinished)
{
    int64_t secs;

    if (js->toks[el].type != CS_JSON_ARRAY || js->toks[el].size < 5) {
        return "OHLC: bad row";
    }
    if (!cs_json_int64(js, cs_json_at(js, el, 0), &secs) || secs <= 0
        || secs > INT64_MAX / 1000) {
        return "OHLC: bad time";
    }
    *open_ms = secs * 1000;
    *close_tok = cs_json_at(js, el, 4);
    *unfinished = false;
    return NULL;
}

static const char *kraken_rest_candles(struct cs_venue_scratch *s,
                                       const char *raw, const char *body,
                                       size_t len, int64_t now_ns,
                                       cs_venue_tick_fn fn, void *ctx)
{
    struct cs_json js;
    const char *err = cs_venue_rest_body(s, &js, body, len);
    int pair = -1;

    if (err != NULL || (err = kraken_result(&js, &pair)) != NULL) {
        return err;
    }
    return cs_venue_emit_candles(s, &js, pair, kraken_candle,
                                 "OHLC: not a list", EXCHANGE, raw, now_ns,
                                 fn, ctx);
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
    .rest_ticker_url = kraken_ticker_url,
    .parse_rest_ticker = kraken_rest_ticker,
    .rest_candles_url = kraken_candles_url,
    .parse_rest_candles = kraken_rest_candles,
};
