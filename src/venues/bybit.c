/* Bybit v5 public `tickers.<symbol>` frames (spot snapshots; linear
 * snapshot + delta, merged per symbol in the scratch) to normalised ticks,
 * the split of "BTCUSDT", the v5 subscribe/ping messages and limits, and
 * the REST ticker and kline: two venues, "bybit" (spot) and
 * "bybit-linear" (USDT/USDC perpetuals and futures), which share all of
 * it but the endpoint, the REST category and the name their ticks
 * carry. Either parser reads both categories' frames. */
#include "cryptosup/venue.h"

#include <stdio.h>
#include <string.h>

#include "cryptosup/json.h"
#include "cryptosup/jsonw.h"

#define EXCHANGE_SPOT "bybit"
#define EXCHANGE_LINEAR "bybit-linear"

/* What the parser decides, for readers of its output (BYD ticker.mdx and
 * "Connect"; PROTOCOLS.md section 6):
 * - One ticker tick per tickers frame: price lastPrice, bid bid1Price,
 *   ask ask1Price ("" or 0 is an empty side), time `ts` (ms, required),
 *   seq `cs`. Spot sends no bid/ask in 2026 frames.
 * - A delta carries only the fields that changed: it is merged into the
 *   symbol's copy of the last snapshot, and the tick reports the merged
 *   values. A delta for a symbol without a snapshot on this scratch is
 *   MALFORMED "tickers: delta before snapshot" (the snapshot is sent
 *   first on every subscription, so this means lost frames). A field that
 *   is bad, or longer than CS_VENUE_MERGED_TEXT - 1, rejects the frame
 *   before anything is merged.
 * - Tick text points into the scratch's copy (valid until the next parse
 *   on that scratch); when CS_VENUE_MAX_MERGED symbols are held, a new
 *   symbol's snapshots are reported from the frame and its deltas are
 *   refused as above.
 * - seq_kind: delta frames CS_SEQ_INCREASING (`cs` rises on linear);
 *   snapshots CS_SEQ_NONE, since spot repeats `cs` while nothing changes
 *   and a snapshot does not say which category it is from.
 * - op replies (subscribe, ping/pong) are CONTROL, "op error" when
 *   success is false. Other topics (orderbook, publicTrade, kline, ...)
 *   are IGNORED. */

static const char *const tickers_topic[] = { "tickers." };
static const char *const ignored_topics[] = {
    "orderbook.", "publicTrade.", "kline.", "allLiquidation.",
    "liquidation.", "tickers_lt.", "kline_lt.", "lt.", "insurance.",
    "priceLimit.", "adlAlert.",
};

static const char *const ops[] = {
    "subscribe", "unsubscribe", "ping", "pong", "auth",
};

/* One price field of a frame, checked before anything is merged. */
struct field {
    const char *key;
    enum cs_venue_num rule;
    const char *missing, *bad;
    bool present;          /* the key is in the frame */
    struct cs_text text;   /* "" when absent or an empty side */
};

enum { F_LAST, F_BID, F_ASK, NFIELDS };

static const char *check_fields(const struct cs_json *js, int data,
                                bool snapshot, struct field *f)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        int tok = cs_json_get(js, data, f[i].key);
        struct cs_decimal val;
        bool has;
        const char *err;

        f[i].present = tok >= 0;
        f[i].text.ptr = "";
        f[i].text.len = 0;
        if (!f[i].present && !snapshot) {
            continue;
        }
        /* The last price is required where present at all: a delta may
         * leave it out, but not clear it. */
        err = cs_venue_take_decimal(js, tok, f[i].rule == CS_VENUE_NUM_PRICE,
                                    f[i].rule, &val, &f[i].text, &has,
                                    snapshot ? f[i].missing : f[i].bad,
                                    f[i].bad);
        if (err != NULL) {
            return err;
        }
        if (f[i].text.len >= CS_VENUE_MERGED_TEXT) {
            return f[i].bad;
        }
    }
    return NULL;
}

static void store(char *dst, struct cs_text text)
{
    memcpy(dst, text.ptr, text.len);
    dst[text.len] = '\0';
}

/* A decimal into the tick from checked text; false when it is "". */
static bool put(struct cs_text text, struct cs_decimal *val,
                struct cs_text *out)
{
    if (text.len == 0 || !cs_decimal_parse(text.ptr, text.len, val)) {
        return false;
    }
    *out = text;
    return true;
}

static struct cs_text text_of(const char *s)
{
    struct cs_text t = { s, strlen(s) };
    return t;
}

/* Fills the tick's prices from the merged copy, or from the frame when
 * there is none. */
static void fill_prices(struct cs_tick *t, const struct cs_venue_merged *m,
                        const struct field *f, struct cs_text symbol)
{
    struct cs_text last = f[F_LAST].text, bid = f[F_BID].text,
                   ask = f[F_ASK].text;

    t->raw_symbol = symbol;
    if (m != NULL) {
        t->raw_symbol = text_of(m->symbol);
        last = text_of(m->price);
        bid = text_of(m->bid);
        ask = text_of(m->ask);
    }
    t->has_price = put(last, &t->price, &t->price_text);
    t->has_bid = put(bid, &t->bid, &t->bid_text);
    t->has_ask = put(ask, &t->ask, &t->ask_text);
}

static const char *take_time_seq(const struct cs_json *js, bool delta,
                                 struct cs_tick *t)
{
    int tok = cs_json_get(js, 0, "ts");
    int64_t ms;

    if (tok < 0) {
        return "tickers: missing ts";
    }
    if (js->toks[tok].type != CS_JSON_NUMBER || !cs_json_int64(js, tok, &ms)
        || !cs_venue_epoch_to_ns(ms, &t->ts_ns)) {
        return "tickers: bad ts";
    }
    if ((tok = cs_json_get(js, 0, "cs")) < 0) {
        return NULL;
    }
    if (js->toks[tok].type != CS_JSON_NUMBER
        || !cs_json_uint64(js, tok, &t->seq)) {
        return "tickers: bad cs";
    }
    t->has_seq = true;
    t->seq_kind = delta ? CS_SEQ_INCREASING : CS_SEQ_NONE;
    return NULL;
}

/* {"topic":"tickers.BTCUSDT","type":"snapshot"|"delta","data":{...},
 * "cs":..,"ts":..} */
static struct cs_venue_result handle_tickers(const struct cs_venue_ctx *c,
                                             const struct cs_json *js)
{
    struct field f[NFIELDS] = {
        { "lastPrice", CS_VENUE_NUM_PRICE, "tickers: missing lastPrice",
          "tickers: bad lastPrice", false, { "", 0 } },
        { "bid1Price", CS_VENUE_NUM_SIDE, "", "tickers: bad bid1Price",
          false, { "", 0 } },
        { "ask1Price", CS_VENUE_NUM_SIDE, "", "tickers: bad ask1Price",
          false, { "", 0 } },
    };
    int type = cs_json_get(js, 0, "type"), data = cs_json_get(js, 0, "data");
    struct cs_venue_merged *m;
    struct cs_text symbol;
    struct cs_tick tick;
    const char *err;
    bool delta;

    if (type < 0 || !(cs_json_str_eq(js, type, "snapshot")
                      || cs_json_str_eq(js, type, "delta"))) {
        return cs_venue_result(CS_FRAME_MALFORMED, "tickers: bad type");
    }
    delta = cs_json_str_eq(js, type, "delta");
    if (data < 0 || js->toks[data].type != CS_JSON_OBJECT
        || js->toks[data].skipped) {
        return cs_venue_result(CS_FRAME_MALFORMED, "tickers: bad data");
    }
    switch (cs_venue_symbol(js, cs_json_get(js, data, "symbol"), &symbol)) {
    case CS_VENUE_FIELD_OK: break;
    case CS_VENUE_FIELD_ABSENT:
        return cs_venue_result(CS_FRAME_MALFORMED, "tickers: missing symbol");
    case CS_VENUE_FIELD_BAD:
        return cs_venue_result(CS_FRAME_MALFORMED, "tickers: bad symbol");
    }
    cs_venue_tick_init(&tick, c->exchange, c->recv_ns);
    tick.kind = CS_TICK_TICKER;
    err = check_fields(js, data, !delta, f);
    if (err == NULL) {
        err = take_time_seq(js, delta, &tick);
    }
    if (err != NULL) {
        return cs_venue_result(CS_FRAME_MALFORMED, err);
    }
    m = cs_venue_merged_get(c->scratch, symbol.ptr, symbol.len, !delta);
    if (m == NULL && delta) {
        return cs_venue_result(CS_FRAME_MALFORMED,
                               "tickers: delta before snapshot");
    }
    if (m != NULL) {
        char *dst[NFIELDS] = { m->price, m->bid, m->ask };
        for (size_t i = 0; i < NFIELDS; i++) {
            if (f[i].present || !delta) {
                store(dst[i], f[i].text);
            }
        }
    }
    fill_prices(&tick, m, f, symbol);
    cs_venue_out_push(c->out, &tick);
    return cs_venue_result(CS_FRAME_DATA,
                           delta ? "tickers delta" : "tickers snapshot");
}

/* {"success":true,"ret_msg":"subscribe","op":"subscribe",...} and
 * {"args":["<ms>"],"op":"pong"}. */
static struct cs_venue_result handle_op(const struct cs_json *js, int op)
{
    int success = cs_json_get(js, 0, "success");
    const char *name = cs_venue_match(js, op, ops, sizeof ops / sizeof ops[0],
                                      false);

    if (success >= 0 && js->toks[success].type == CS_JSON_FALSE) {
        return cs_venue_result(CS_FRAME_CONTROL, "op error");
    }
    return name != NULL ? cs_venue_result(CS_FRAME_CONTROL, name)
                        : cs_venue_result(CS_FRAME_UNKNOWN, "unknown op");
}

static struct cs_venue_result handle_root(const struct cs_venue_ctx *c,
                                          const struct cs_json *js)
{
    const char *name;
    int key;

    if (js->toks[0].type != CS_JSON_OBJECT) {
        return cs_venue_result(CS_FRAME_UNKNOWN, "unexpected JSON value");
    }
    if ((key = cs_json_get(js, 0, "topic")) >= 0) {
        if (js->toks[key].type != CS_JSON_STRING) {
            return cs_venue_result(CS_FRAME_MALFORMED, "bad topic");
        }
        if (cs_venue_match(js, key, tickers_topic, 1, true) != NULL) {
            return handle_tickers(c, js);
        }
        name = cs_venue_match(js, key, ignored_topics,
                              sizeof ignored_topics / sizeof ignored_topics[0],
                              true);
        return name != NULL ? cs_venue_result(CS_FRAME_IGNORED, name)
                            : cs_venue_result(CS_FRAME_UNKNOWN,
                                              "unknown topic");
    }
    if ((key = cs_json_get(js, 0, "op")) >= 0) {
        if (js->toks[key].type != CS_JSON_STRING) {
            return cs_venue_result(CS_FRAME_MALFORMED, "bad op");
        }
        return handle_op(js, key);
    }
    return cs_venue_result(CS_FRAME_UNKNOWN, "object without topic or op");
}

static void spot_parse(struct cs_venue_scratch *scratch, const char *frame,
                       size_t len, int64_t recv_ns, struct cs_parse_out *out)
{
    cs_venue_run(EXCHANGE_SPOT, scratch, frame, len, recv_ns, out,
                 handle_root);
}

static void linear_parse(struct cs_venue_scratch *scratch, const char *frame,
                         size_t len, int64_t recv_ns,
                         struct cs_parse_out *out)
{
    cs_venue_run(EXCHANGE_LINEAR, scratch, frame, len, recv_ns, out,
                 handle_root);
}

/* Quote coins of Bybit spot pairs and linear/inverse perpetuals
 * ("BTCUSDT", "BTCUSDC", "BTCUSD"); dated futures ("BTC-26DEC25") and
 * options have no split. */
static const char *const quote_assets[] = {
    "USDT", "USDC", "USDE", "USD", "EUR", "BRL", "TRY", "PLN", "BTC", "ETH",
    "DAI", "MNT", NULL,
};

static bool bybit_split(const char *raw, size_t len, char *base,
                        size_t base_size, char *quote, size_t quote_size)
{
    return cs_venue_split_suffix(raw, len, quote_assets, base, base_size,
                                 quote, quote_size);
}

static const char *const bybit_channels[] = { "tickers", NULL };

/* BYD "Connect" (PROTOCOLS.md section 6): spot takes at most 10 args per
 * subscribe request; the args of one connection may total 21 000
 * characters (about 900 "tickers.XXXUSDT" topics; 200 symbols is our
 * margin); without a ping the connection is cut, so {"op":"ping"} every
 * 20 s, and 60 s without a frame (three missed pongs) is stale. No
 * message rate is documented: 4 a second is our choice. */
static const struct cs_venue_wire spot_wire = {
    .ws_url = "wss://stream.bybit.com/v5/public/spot",
    .max_symbols_per_conn = 200,
    .max_symbols_per_msg = 10,
    .max_client_msgs_per_s = 4,
    .idle_timeout_ms = 60 * 1000,
    .ping_interval_ms = 20 * 1000,
    .max_lifetime_ms = 0,
    .default_channels = bybit_channels,
    .all_channels = bybit_channels,
    /* REST (BYD docs/v5/rate-limit.mdx): 600 requests per 5 s per IP on
     * the HTTP API; we send at most 5 a second. kline: up to 1000 per
     * request (BYD kline.mdx). */
    .rest_url = "https://api.bybit.com",
    .rest_weight_per_s = 5,
    .rest_weight_burst = 5,
    .rest_ticker_weight = 1,
    .rest_candles_weight = 1,
    .rest_candles_per_page = 1000,
    .rest_candles_max_minutes = 0,
};

/* Linear: wss://stream.bybit.com/v5/public/linear, the same messages and
 * keepalive (BYD "Connect"). The 10-args cap is documented for spot
 * only; we keep it here too, which costs nothing but a few more
 * requests. The same 21 000-character budget, the same 200 symbols.
 * REST as spot, with category=linear. */
static const struct cs_venue_wire linear_wire = {
    .ws_url = "wss://stream.bybit.com/v5/public/linear",
    .max_symbols_per_conn = 200,
    .max_symbols_per_msg = 10,
    .max_client_msgs_per_s = 4,
    .idle_timeout_ms = 60 * 1000,
    .ping_interval_ms = 20 * 1000,
    .max_lifetime_ms = 0,
    .default_channels = bybit_channels,
    .all_channels = bybit_channels,
    .rest_url = "https://api.bybit.com",
    .rest_weight_per_s = 5,
    .rest_weight_burst = 5,
    .rest_ticker_weight = 1,
    .rest_candles_weight = 1,
    .rest_candles_per_page = 1000,
    .rest_candles_max_minutes = 0,
};

/* {"req_id":"1","op":"subscribe","args":["tickers.BTCUSDT",...]}: each
 * arg is "<channel>.<symbol>". */
static void write_request(struct cs_jsonw *w, const struct cs_venue_batch *b,
                          uint64_t *req_id)
{
    char id[24], topic[2 * CS_VENUE_NAME_MAX + 2];

    snprintf(id, sizeof id, "%llu", (unsigned long long)++*req_id);
    cs_jsonw_begin_object(w);
    cs_jsonw_key(w, "req_id");
    cs_jsonw_cstring(w, id);
    cs_jsonw_key(w, "op");
    cs_jsonw_cstring(w, b->unsubscribe ? "unsubscribe" : "subscribe");
    cs_jsonw_key(w, "args");
    cs_jsonw_begin_array(w);
    for (size_t c = 0; c < b->nchannels; c++) {
        for (size_t i = 0; i < b->nsymbols; i++) {
            int len = snprintf(topic, sizeof topic, "%s.%s", b->channels[c],
                               b->symbols[i]);
            cs_jsonw_string(w, topic, (size_t)len);
        }
    }
    cs_jsonw_end_array(w);
    cs_jsonw_end_object(w);
}

/* At most max_symbols_per_msg args (symbols times channels) a request. */
static void spot_subscription(const char *const *raw_symbols, size_t n,
                              const char *const *channels, size_t nchannels,
                              bool unsubscribe, uint64_t *req_id,
                              cs_venue_send_fn send, void *ctx)
{
    cs_venue_subscribe(raw_symbols, n, channels, nchannels, unsubscribe,
                       req_id, CS_VENUE_BATCH_PAIRS,
                       spot_wire.max_symbols_per_msg, write_request, send,
                       ctx);
}

static void linear_subscription(const char *const *raw_symbols, size_t n,
                                const char *const *channels,
                                size_t nchannels, bool unsubscribe,
                                uint64_t *req_id, cs_venue_send_fn send,
                                void *ctx)
{
    cs_venue_subscribe(raw_symbols, n, channels, nchannels, unsubscribe,
                       req_id, CS_VENUE_BATCH_PAIRS,
                       linear_wire.max_symbols_per_msg, write_request, send,
                       ctx);
}

/* {"req_id":"7","op":"ping"}; the reply's shape varies by category. */
static size_t bybit_ping(uint64_t *req_id, char *buf, size_t size)
{
    return cs_venue_ping_msg(req_id, buf, size, "{\"req_id\":\"",
                             "\",\"op\":\"ping\"}");
}

/* ---- REST (BYD docs/v5/market/tickers.mdx and kline.mdx,
 * https://bybit-exchange.github.io/docs/v5/market/kline; category spot
 * for "bybit", linear for "bybit-linear": the WebSocket endpoint's) ----
 * - GET /v5/market/tickers?category=C&symbol=S -> {"retCode":0,
 *   "result":{"category":C,"list":[{"symbol","lastPrice","bid1Price",
 *   "ask1Price",...}]},"time":<ms>}: a ticker tick timed by `time`.
 * - GET /v5/market/kline?category=C&symbol=S&interval=1&start=&end=
 *   &limit= -> result.list [[startTime, open, high, low, close, volume,
 *   turnover]], newest first, all strings; start and end inclusive, ms.
 * - A retCode other than 0 is an error ("error reply"). */

static bool bybit_ok(const struct cs_json *js)
{
    int64_t code;

    return js->toks[0].type == CS_JSON_OBJECT
           && cs_json_int64(js, cs_json_get(js, 0, "retCode"), &code)
           && code == 0;
}

/* result.list, or -1. */
static int bybit_list(const struct cs_json *js)
{
    int result = cs_json_get(js, 0, "result");

    return result >= 0 && js->toks[result].type == CS_JSON_OBJECT
           ? cs_json_get(js, result, "list") : -1;
}

static size_t ticker_url(const char *category, const char *base,
                         const char *raw, char *buf, size_t size)
{
    char sym[3 * CS_VENUE_NAME_MAX + 1];

    if (!cs_venue_url_symbol(raw, sym, sizeof sym)) {
        return 0;
    }
    return cs_venue_url(buf, size, "%s/v5/market/tickers?category=%s"
                        "&symbol=%s", base, category, sym);
}

static size_t spot_ticker_url(const char *base, const char *raw, char *buf,
                              size_t size)
{
    return ticker_url("spot", base, raw, buf, size);
}

static size_t linear_ticker_url(const char *base, const char *raw,
                                char *buf, size_t size)
{
    return ticker_url("linear", base, raw, buf, size);
}

static const char *rest_ticker(const char *exchange,
                               struct cs_venue_scratch *s, const char *raw,
                               const char *body, size_t len, int64_t recv_ns,
                               struct cs_tick *tick)
{
    struct cs_json js;
    const char *err = cs_venue_rest_body(s, &js, body, len);
    struct cs_tick t;
    int el, time;
    int64_t ms;

    if (err != NULL) {
        return err;
    }
    if (!bybit_ok(&js)) {
        return js.toks[0].type == CS_JSON_OBJECT ? "error reply"
                                                 : "ticker: not an object";
    }
    el = cs_json_at(&js, bybit_list(&js), 0);
    if (el < 0 || js.toks[el].type != CS_JSON_OBJECT) {
        return "ticker: bad list";
    }
    if (!cs_venue_rest_symbol_ok(&js, cs_json_get(&js, el, "symbol"), raw)) {
        return "ticker: wrong symbol";
    }
    err = cs_venue_rest_tick(&js, cs_json_get(&js, el, "lastPrice"),
                             cs_json_get(&js, el, "bid1Price"),
                             cs_json_get(&js, el, "ask1Price"), exchange,
                             raw, recv_ns, &t);
    if (err != NULL) {
        return err;
    }
    if ((time = cs_json_get(&js, 0, "time")) >= 0
        && (!cs_json_int64(&js, time, &ms)
            || !cs_venue_epoch_to_ns(ms, &t.ts_ns))) {
        return "ticker: bad time";
    }
    *tick = t;
    return NULL;
}

static const char *spot_rest_ticker(struct cs_venue_scratch *s,
                                    const char *raw, const char *body,
                                    size_t len, int64_t recv_ns,
                                    struct cs_tick *tick)
{
    return rest_ticker(EXCHANGE_SPOT, s, raw, body, len, recv_ns, tick);
}

static const char *linear_rest_ticker(struct cs_venue_scratch *s,
                                      const char *raw, const char *body,
                                      size_t len, int64_t recv_ns,
                                      struct cs_tick *tick)
{
    return rest_ticker(EXCHANGE_LINEAR, s, raw, body, len, recv_ns, tick);
}

static size_t candles_url(const char *category, const char *base,
                          const char *raw, int64_t start_ms, int64_t end_ms,
                          char *buf, size_t size)
{
    char sym[3 * CS_VENUE_NAME_MAX + 1];

    if (!cs_venue_url_symbol(raw, sym, sizeof sym)) {
        return 0;
    }
    return cs_venue_url(buf, size, "%s/v5/market/kline?category=%s"
                        "&symbol=%s&interval=1&start=%lld&end=%lld"
                        "&limit=%lld", base, category, sym,
                        (long long)start_ms,
                        (long long)(end_ms - 1),
                        (long long)cs_venue_candle_count(start_ms, end_ms,
                                                         1000));
}

static const char *bybit_candle(const struct cs_json *js, int el,
                                int64_t *open_ms, int *close_tok,
                                bool *unfinished)
{
    if (js->toks[el].type != CS_JSON_ARRAY || js->toks[el].size < 5) {
        return "kline: bad row";
    }
    if (!cs_json_int64(js, cs_json_at(js, el, 0), open_ms)) {
        return "kline: bad startTime";
    }
    *close_tok = cs_json_at(js, el, 4);
    *unfinished = false;
    return NULL;
}

static size_t spot_candles_url(const char *base, const char *raw,
                               int64_t start_ms, int64_t end_ms, char *buf,
                               size_t size)
{
    return candles_url("spot", base, raw, start_ms, end_ms, buf, size);
}

static size_t linear_candles_url(const char *base, const char *raw,
                                 int64_t start_ms, int64_t end_ms, char *buf,
                                 size_t size)
{
    return candles_url("linear", base, raw, start_ms, end_ms, buf, size);
}

static const char *rest_candles(const char *exchange,
                                struct cs_venue_scratch *s, const char *raw,
                                const char *body, size_t len, int64_t now_ns,
                                cs_venue_tick_fn fn, void *ctx)
{
    struct cs_json js;
    const char *err = cs_venue_rest_body(s, &js, body, len);

    if (err != NULL) {
        return err;
    }
    if (!bybit_ok(&js)) {
        return js.toks[0].type == CS_JSON_OBJECT ? "error reply"
                                                 : "kline: not an object";
    }
    return cs_venue_emit_candles(s, &js, bybit_list(&js), bybit_candle,
                                 "kline: bad list", exchange, raw, now_ns,
                                 fn, ctx);
}

static const char *spot_rest_candles(struct cs_venue_scratch *s,
                                     const char *raw, const char *body,
                                     size_t len, int64_t now_ns,
                                     cs_venue_tick_fn fn, void *ctx)
{
    return rest_candles(EXCHANGE_SPOT, s, raw, body, len, now_ns, fn, ctx);
}

static const char *linear_rest_candles(struct cs_venue_scratch *s,
                                       const char *raw, const char *body,
                                       size_t len, int64_t now_ns,
                                       cs_venue_tick_fn fn, void *ctx)
{
    return rest_candles(EXCHANGE_LINEAR, s, raw, body, len, now_ns, fn, ctx);
}

const struct cs_venue_ops cs_venue_bybit = {
    .name = EXCHANGE_SPOT,
    .wire = &spot_wire,
    .build_subscription = spot_subscription,
    .build_ping = bybit_ping,
    .compose_symbol = cs_venue_compose_concat,
    .parse = spot_parse,
    .split_symbol = bybit_split,
    .rest_ticker_url = spot_ticker_url,
    .parse_rest_ticker = spot_rest_ticker,
    .rest_candles_url = spot_candles_url,
    .parse_rest_candles = spot_rest_candles,
};

/* The same symbols ("BTCUSDT"); dated futures ("BTC-26DEC25") have no
 * base/quote split. */
const struct cs_venue_ops cs_venue_bybit_linear = {
    .name = EXCHANGE_LINEAR,
    .wire = &linear_wire,
    .build_subscription = linear_subscription,
    .build_ping = bybit_ping,
    .compose_symbol = cs_venue_compose_concat,
    .parse = linear_parse,
    .split_symbol = bybit_split,
    .rest_ticker_url = linear_ticker_url,
    .parse_rest_ticker = linear_rest_ticker,
    .rest_candles_url = linear_candles_url,
    .parse_rest_candles = linear_rest_candles,
};
