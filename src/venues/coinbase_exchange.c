/* The Coinbase Exchange ws-feed as its own venue, "coinbase-exchange":
 * frames go through the Coinbase parser (coinbase.c, which reads both
 * Coinbase protocols) with the ticks named "coinbase-exchange"; here are
 * the ws-feed's subscribe messages and limits, and the Exchange REST
 * ticker and candles. */
#include "cryptosup/venue.h"

#include <string.h>

#include "cryptosup/json.h"
#include "cryptosup/jsonw.h"
#include "cryptosup/timeutil.h"

#define EXCHANGE "coinbase-exchange"

/* Frames, as the Coinbase parser reads them (its comment has the
 * details): ticker -> a ticker tick (seq `sequence`, per product and
 * shared with the other channels, so it skips); match and last_match ->
 * trades (seq trade_id, +1 per trade and product); subscriptions,
 * heartbeat and error -> CONTROL; level2/full-channel messages ->
 * IGNORED. */
static void exchange_parse(struct cs_venue_scratch *scratch,
                           const char *frame, size_t len, int64_t recv_ns,
                           struct cs_parse_out *out)
{
    cs_venue_coinbase_parse(EXCHANGE, scratch, frame, len, recv_ns, out);
}

static const char *const exchange_default_channels[] = {
    "ticker", "heartbeat", NULL,
};
static const char *const exchange_all_channels[] = {
    "ticker", "matches", "heartbeat", NULL,
};

/* Exchange ws-feed (PROTOCOLS.md 3a; CBX overview, channels and rate
 * limits, https://docs.cdp.coinbase.com/exchange/websocket-feed/):
 * - subscribe within 5 s of connecting or be disconnected: the connector
 *   subscribes as soon as the socket opens;
 * - 8 requests a second per IP (burst 20): 4 leaves room for a second
 *   connection;
 * - no client ping exists; the `heartbeat` channel sends one frame a
 *   second per product, so 30 s of silence is stale;
 * - the docs set no count of products per connection or message (only
 *   10 subscriptions per product per channel): 100 per connection and
 *   per message is our choice, so subscribing one connection takes one
 *   message per channel, and its heartbeats stay at 100 frames a
 *   second. */
static const struct cs_venue_wire exchange_wire = {
    .ws_url = "wss://ws-feed.exchange.coinbase.com",
    .max_symbols_per_conn = 100,
    .max_symbols_per_msg = 100,
    .max_client_msgs_per_s = 4,
    .idle_timeout_ms = 30 * 1000,
    .ping_interval_ms = 0,
    .max_lifetime_ms = 0,
    .default_channels = exchange_default_channels,
    .all_channels = exchange_all_channels,
    /* REST: public endpoints allow 10 requests a second per IP, 15 in
     * bursts (https://docs.cdp.coinbase.com/exchange/rest-api/rate-limits);
     * we send at most 5. Candles: at most 300 per request, and a range
     * holding more is rejected (Exchange "Get product candles"). */
    .rest_url = "https://api.exchange.coinbase.com",
    .rest_weight_per_s = 5,
    .rest_weight_burst = 5,
    .rest_ticker_weight = 1,
    .rest_candles_weight = 1,
    .rest_candles_per_page = 300,
    .rest_candles_max_minutes = 0,
};

/* {"type":"subscribe","product_ids":["BTC-USD"],"channels":["ticker"]}:
 * one channel per message, as the 2021 recording's client sent them
 * (exchange_ws_feed_2021-04-17_A.client_sent.jsonl); no request id. */
static void write_request(struct cs_jsonw *w, const struct cs_venue_batch *b,
                          uint64_t *req_id)
{
    (void)req_id;
    cs_venue_write_product_request(w, b, true);
}

/* The `heartbeat` channel always goes with the others, on subscribe and
 * on unsubscribe: it is per product (unlike Advanced Trade's
 * connection-wide `heartbeats`), keeps a quiet product's connection
 * from looking stale, and is not wanted for a product no longer
 * watched. */
static void exchange_subscription(const char *const *raw_symbols, size_t n,
                                  const char *const *channels,
                                  size_t nchannels, bool unsubscribe,
                                  uint64_t *req_id, cs_venue_send_fn send,
                                  void *ctx)
{
    const char *chans[CS_VENUE_BATCH_MAX + 1];
    size_t nchans = 0;
    bool heartbeat = false;

    for (size_t c = 0; c < nchannels && nchans < CS_VENUE_BATCH_MAX; c++) {
        chans[nchans++] = channels[c];
        heartbeat = heartbeat
                    || (channels[c] != NULL
                        && strcmp(channels[c], "heartbeat") == 0);
    }
    if (!heartbeat) {
        chans[nchans++] = "heartbeat";
    }
    cs_venue_subscribe(raw_symbols, n, chans, nchans, unsubscribe, req_id,
                       CS_VENUE_BATCH_CHANNEL,
                       exchange_wire.max_symbols_per_msg, write_request, send,
                       ctx);
}

/* ---- REST: Exchange public market data (PROTOCOLS.md 3a; Exchange REST
 * "Get product ticker" and "Get product candles",
 * https://docs.cdp.coinbase.com/api-reference/exchange-api/rest-api/
 * products/get-product-ticker and .../get-product-candles; errors,
 * https://docs.cdp.coinbase.com/exchange/rest-api/requests) ----
 * - GET /products/{id}/ticker -> {"trade_id":<int>,"price","size","bid",
 *   "ask","volume","time":<ISO>}: price, bid and ask strings; the body
 *   names no product.
 * - GET /products/{id}/candles?granularity=60&start=&end= ->
 *   [[time, low, high, open, close, volume], ...], newest first, time in
 *   seconds (the bucket's start), prices JSON numbers; at most 300, and
 *   a range of more is rejected. start and end are ISO 8601 (what the
 *   docs' older "Pro" edition named; the current page says only
 *   "timestamp"); end is the last second of the range.
 * - Errors are {"message":"..."} ("error reply"), with HTTP 4xx/5xx. */

static size_t exchange_ticker_url(const char *base, const char *raw,
                                  char *buf, size_t size)
{
    char id[3 * CS_VENUE_NAME_MAX + 1];

    if (!cs_venue_url_symbol(raw, id, sizeof id)) {
        return 0;
    }
    return cs_venue_url(buf, size, "%s/products/%s/ticker", base, id);
}

/* An object with "message" and no "price" is the venue's error reply. */
static bool error_reply(const struct cs_json *js)
{
    return js->toks[0].type == CS_JSON_OBJECT
           && cs_json_get(js, 0, "message") >= 0
           && cs_json_get(js, 0, "price") < 0;
}

static const char *exchange_rest_ticker(struct cs_venue_scratch *s,
                                        const char *raw, const char *body,
                                        size_t len, int64_t recv_ns,
                                        struct cs_tick *tick)
{
    struct cs_json js;
    const char *err = cs_venue_rest_body(s, &js, body, len);
    struct cs_tick t;
    int time;

    if (err != NULL) {
        return err;
    }
    if (js.toks[0].type != CS_JSON_OBJECT) {
        return "ticker: not an object";
    }
    if (error_reply(&js)) {
        return "error reply";
    }
    err = cs_venue_rest_tick(&js, cs_json_get(&js, 0, "price"),
                             cs_json_get(&js, 0, "bid"),
                             cs_json_get(&js, 0, "ask"), EXCHANGE, raw,
                             recv_ns, &t);
    if (err != NULL) {
        return err;
    }
    time = cs_json_get(&js, 0, "time");
    if (time >= 0 && !cs_venue_iso_time(&js, time, &t.ts_ns)) {
        return "ticker: bad time";
    }
    *tick = t;
    return NULL;
}

/* "2023-11-14T22:14:00Z" for a time in ms (whole seconds); false when
 * it does not fit or is out of range. */
static bool iso_seconds(int64_t ms, char *buf, size_t size)
{
    char text[32];

    if (ms < 0 || ms > INT64_MAX / CS_NS_PER_MS || size < 21) {
        return false;
    }
    cs_time_format_utc(ms * CS_NS_PER_MS, text, sizeof text);
    if (strlen(text) != 19 || text[10] != ' ') {
        return false;
    }
    text[10] = 'T';
    memcpy(buf, text, 19);
    buf[19] = 'Z';
    buf[20] = '\0';
    return true;
}

static size_t exchange_candles_url(const char *base, const char *raw,
                                   int64_t start_ms, int64_t end_ms,
                                   char *buf, size_t size)
{
    char id[3 * CS_VENUE_NAME_MAX + 1], start[32], end[32];
    int64_t n = cs_venue_candle_count(start_ms, end_ms, 300);

    /* Whole minutes from start_ms: the last second of the n-th. */
    if (!cs_venue_url_symbol(raw, id, sizeof id)
        || start_ms > INT64_MAX - n * 60000
        || !iso_seconds(start_ms, start, sizeof start)
        || !iso_seconds(start_ms + n * 60000 - 1000, end, sizeof end)) {
        if (size > 0) {
            buf[0] = '\0';
        }
        return 0;
    }
    return cs_venue_url(buf, size, "%s/products/%s/candles?granularity=60"
                        "&start=%s&end=%s", base, id, start, end);
}

static const char *exchange_candle(const struct cs_json *js, int el,
                                   int64_t *open_ms, int *close_tok,
                                   bool *unfinished)
{
    int64_t time;

    if (js->toks[el].type != CS_JSON_ARRAY || js->toks[el].size < 5) {
        return "candles: bad row";
    }
    if (!cs_json_int64(js, cs_json_at(js, el, 0), &time) || time <= 0
        || time > INT64_MAX / 1000) {
        return "candles: bad time";
    }
    *open_ms = time * 1000;
    *close_tok = cs_json_at(js, el, 4);
    *unfinished = false;
    return NULL;
}

static const char *exchange_rest_candles(struct cs_venue_scratch *s,
                                         const char *raw, const char *body,
                                         size_t len, int64_t now_ns,
                                         cs_venue_tick_fn fn, void *ctx)
{
    struct cs_json js;
    const char *err = cs_venue_rest_body(s, &js, body, len);

    if (err != NULL) {
        return err;
    }
    if (error_reply(&js)) {
        return "error reply";
    }
    return cs_venue_emit_candles(s, &js, 0, exchange_candle,
                                 "candles: not a list", EXCHANGE, raw, now_ns,
                                 fn, ctx);
}

/* Product ids as on Advanced Trade: "BTC-USD". */
const struct cs_venue_ops cs_venue_coinbase_exchange = {
    .name = EXCHANGE,
    .wire = &exchange_wire,
    .build_subscription = exchange_subscription,
    .build_ping = cs_venue_no_ping,
    .compose_symbol = cs_venue_compose_dash,
    .parse = exchange_parse,
    .split_symbol = cs_venue_split_dash,
    .rest_ticker_url = exchange_ticker_url,
    .parse_rest_ticker = exchange_rest_ticker,
    .rest_candles_url = exchange_candles_url,
    .parse_rest_candles = exchange_rest_candles,
};
