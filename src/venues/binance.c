/* Binance Spot market-data frames (raw and combined streams, single events
 * and `!..@arr` arrays) to normalised ticks, and the split of concatenated
 * symbols such as "AAVEUPUSDT" into base and quote. */
#include "cryptosup/venue.h"

#include <string.h>

#include "cryptosup/json.h"
#include "cryptosup/timeutil.h"

#define EXCHANGE "binance"

/* What the parser decides, for readers of its output:
 * - trade/aggTrade: price p, qty q, time T (trade time), seq t / a.
 *   Tickers: price c, time E, no seq; 24hrTicker adds bid b, ask a and
 *   qty Q (last trade qty). bookTicker: quote, seq u, ts_ns 0 (the spot
 *   stream has no time; the futures form's E is used when present).
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
    bool sides;                /* reads bid `b` and ask `a` */
    bool sides_required;       /* bookTicker: a quote is nothing else */
    const char *missing_s, *bad_s, *missing_price, *bad_price, *missing_qty,
               *bad_qty, *missing_b, *bad_b, *missing_a, *bad_a,
               *missing_time, *bad_time, *missing_seq, *bad_seq;
};

#define LAYOUT(ev, kind, px, qty, time, seq, sides, sides_req) { \
    ev, kind, px, qty, time, seq, sides, sides_req, \
    ev ": missing s", ev ": bad s", ev ": missing " px, ev ": bad " px, \
    ev ": missing " qty, ev ": bad " qty, ev ": missing b", ev ": bad b", \
    ev ": missing a", ev ": bad a", ev ": missing " time, \
    ev ": bad " time, ev ": missing " seq, ev ": bad " seq }

/* Trades carry their own trade time `T`; tickers only the event time `E`.
 * Spot bookTicker has no time at all; the futures form has `e` and `E`. */
static const struct layout layouts[] = {
    LAYOUT("trade", CS_TICK_TRADE, "p", "q", "T", "t", false, false),
    LAYOUT("aggTrade", CS_TICK_TRADE, "p", "q", "T", "a", false, false),
    LAYOUT("24hrTicker", CS_TICK_TICKER, "c", "Q", "E", "", true, false),
    LAYOUT("24hrMiniTicker", CS_TICK_TICKER, "c", "", "E", "", false, false),
    LAYOUT("1hTicker", CS_TICK_TICKER, "c", "", "E", "", false, false),
    LAYOUT("4hTicker", CS_TICK_TICKER, "c", "", "E", "", false, false),
    LAYOUT("1dTicker", CS_TICK_TICKER, "c", "", "E", "", false, false),
    LAYOUT("bookTicker", CS_TICK_QUOTE, "", "", "E", "u", true, true),
};

/* Spot @bookTicker payloads have no `e`. */
static const struct layout book_ticker =
    LAYOUT("bookTicker", CS_TICK_QUOTE, "", "", "", "u", true, true);

/* Known events that carry nothing a ticker monitor uses. */
static const char *const ignored_events[] = {
    "depthUpdate", "kline", "avgPrice", "markPriceUpdate", "forceOrder",
    "continuous_kline", "outboundAccountPosition", "balanceUpdate",
    "executionReport", "listStatus",
};

struct result {
    enum cs_frame_class cls;
    const char *what;
};

struct ctx {
    struct cs_venue_scratch *scratch;
    struct cs_parse_out *out;
    int64_t recv_ns;
    bool element_area_busy;   /* the element area holds live tokens */
};

static struct result make(enum cs_frame_class cls, const char *what)
{
    struct result r = { cls, what };
    return r;
}

/* Event times are epoch ms, or µs on `timeUnit=MICROSECOND` connections:
 * ms values stay below 10^14 until the year 5138, µs values are above. */
static bool epoch_to_ns(int64_t v, int64_t *ns)
{
    if (v <= 0) {
        return false;
    }
    if (v >= 100000000000000LL) {
        if (v > INT64_MAX / 1000) {
            return false;
        }
        *ns = v * 1000;
        return true;
    }
    if (v > INT64_MAX / CS_NS_PER_MS) {
        return false;
    }
    *ns = v * CS_NS_PER_MS;
    return true;
}

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

enum num_rule {
    NUM_PRICE,   /* must be > 0 */
    NUM_QTY,     /* >= 0 */
    NUM_SIDE     /* >= 0; zero is an empty book side, reported as absent */
};

/* A decimal field into (val, text, has); NULL or the static failure. */
static const char *take_decimal(const struct event *ev, const char *key,
                                bool required, enum num_rule rule,
                                struct cs_decimal *val, struct cs_text *text,
                                bool *has, const char *missing,
                                const char *bad)
{
    switch (cs_venue_decimal(ev->js, field(ev, key), rule == NUM_PRICE, val,
                             text)) {
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
        || !cs_json_int64(ev->js, tok, &v) || !epoch_to_ns(v, &t->ts_ns)) {
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
        err = take_decimal(ev, l->price, true, NUM_PRICE, &t->price,
                           &t->price_text, &t->has_price, l->missing_price,
                           l->bad_price);
    }
    if (err == NULL && l->qty[0] != '\0') {
        err = take_decimal(ev, l->qty, is_trade, NUM_QTY, &t->qty,
                           &t->qty_text, &t->has_qty, l->missing_qty,
                           l->bad_qty);
    }
    if (err == NULL && l->sides) {
        err = take_decimal(ev, "b", l->sides_required, NUM_SIDE, &t->bid,
                           &t->bid_text, &t->has_bid, l->missing_b, l->bad_b);
    }
    if (err == NULL && l->sides) {
        err = take_decimal(ev, "a", l->sides_required, NUM_SIDE, &t->ask,
                           &t->ask_text, &t->has_ask, l->missing_a, l->bad_a);
    }
    if (err == NULL) {
        err = take_time(ev, l, t);
    }
    if (err == NULL) {
        err = take_seq(ev, l, t);
    }
    return err;
}

static struct result emit(const struct ctx *c, const struct event *ev,
                          const struct layout *l)
{
    struct cs_tick tick;
    const char *err;

    cs_venue_tick_init(&tick, EXCHANGE, c->recv_ns);
    tick.kind = l->kind;
    err = fill_tick(ev, l, &tick);
    if (err != NULL) {
        return make(CS_FRAME_MALFORMED, err);
    }
    cs_venue_out_push(c->out, &tick);
    return make(CS_FRAME_DATA, l->event);
}

/* Objects without `e`: spot bookTicker (by far the most frequent, so
 * first), replies to requests, errors and partial-depth snapshots. */
static struct result classify_untyped(const struct ctx *c,
                                      const struct event *ev)
{
    if (field(ev, "u") >= 0 && field(ev, "s") >= 0) {
        return emit(c, ev, &book_ticker);
    }
    if (field(ev, "result") >= 0) {
        return make(CS_FRAME_CONTROL, "request reply");
    }
    if (field(ev, "error") >= 0
        || (field(ev, "code") >= 0 && field(ev, "msg") >= 0)) {
        return make(CS_FRAME_CONTROL, "error");
    }
    if (field(ev, "lastUpdateId") >= 0) {
        return make(CS_FRAME_IGNORED, "depth snapshot");
    }
    return make(CS_FRAME_UNKNOWN, "object without event type");
}

/* One event object. */
static struct result handle_event(struct ctx *c, const struct cs_json *js,
                                  int obj)
{
    struct event ev;
    int e;

    if (js->toks[obj].type != CS_JSON_OBJECT) {
        return make(CS_FRAME_UNKNOWN, "unexpected JSON value");
    }
    index_event(&ev, js, obj);
    e = field(&ev, "e");
    if (e < 0) {
        return classify_untyped(c, &ev);
    }
    if (js->toks[e].type != CS_JSON_STRING) {
        return make(CS_FRAME_MALFORMED, "bad e");
    }
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        if (cs_json_str_eq(js, e, layouts[i].event)) {
            return emit(c, &ev, &layouts[i]);
        }
    }
    if (cs_json_str_eq(js, e, "serverShutdown")) {
        c->out->server_shutdown = true;
        return make(CS_FRAME_CONTROL, "serverShutdown");
    }
    for (size_t i = 0; i < sizeof ignored_events / sizeof ignored_events[0];
         i++) {
        if (cs_json_str_eq(js, e, ignored_events[i])) {
            return make(CS_FRAME_IGNORED, ignored_events[i]);
        }
    }
    return make(CS_FRAME_UNKNOWN, "unknown event type");
}

static struct result handle_value(struct ctx *c, const struct cs_json *js,
                                  int tok);

/* A value whose subtree the frame parse skipped: re-parse its bytes in the
 * element area. Only one level of this is possible at a time. */
static struct result handle_skipped(struct ctx *c, const struct cs_json *js,
                                    int tok)
{
    struct cs_json sub;
    struct cs_text bytes;
    struct result r;

    if (c->element_area_busy) {
        return make(CS_FRAME_MALFORMED, "too many JSON tokens");
    }
    bytes = cs_json_text(js, tok);
    if (cs_venue_scratch_parse(c->scratch, CS_VENUE_AREA_ELEMENT, &sub,
                               bytes.ptr, bytes.len, 0) != CS_JSON_OK) {
        return make(CS_FRAME_MALFORMED, "too many JSON tokens");
    }
    c->element_area_busy = true;
    r = handle_value(c, &sub, 0);
    c->element_area_busy = false;
    return r;
}

/* `!..@arr` payloads: one event per element. A malformed element rejects
 * the frame; otherwise the first element decides the class. */
static struct result handle_array(struct ctx *c, const struct cs_json *js,
                                  int arr)
{
    struct result first = make(CS_FRAME_DATA, "empty array");
    uint32_t n = js->toks[arr].size;
    uint32_t child = (uint32_t)arr + 1;

    for (uint32_t i = 0; i < n; i++) {
        struct result r;

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

static struct result handle_value(struct ctx *c, const struct cs_json *js,
                                  int tok)
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
static struct result handle_root(struct ctx *c, const struct cs_json *js)
{
    int stream, data;

    if (js->toks[0].type == CS_JSON_OBJECT) {
        stream = cs_json_get(js, 0, "stream");
        data = cs_json_get(js, 0, "data");
        if (stream >= 0 && data >= 0) {
            return handle_value(c, js, data);
        }
        if (stream >= 0) {
            return make(CS_FRAME_MALFORMED, "combined: missing data");
        }
    }
    return handle_value(c, js, 0);
}

static void binance_parse(struct cs_venue_scratch *scratch, const char *frame,
                          size_t len, int64_t recv_ns, struct cs_parse_out *out)
{
    struct ctx c = { scratch, out, recv_ns, false };
    struct cs_json js;
    struct result r;

    cs_venue_out_reset(out);
    if (cs_venue_parse_frame(scratch, &js, frame, len, out)) {
        r = handle_root(&c, &js);
        cs_venue_out_set(out, r.cls, r.what);
    }
}

/* Quote assets Binance lists or has listed, fiat and stablecoins
 * included. The longest matching suffix wins (BUSD over USD, FDUSD over
 * USD, USDT over nothing shorter that matches). */
static const char *const quote_assets[] = {
    "FDUSD", "USDT", "BUSD", "USDC", "TUSD", "USDP", "USDS", "USD1", "AEUR",
    "EURI", "IDRT", "BIDR", "BKRW", "BVND", "DOGE", "BTC", "ETH", "BNB",
    "XRP", "TRX", "DOT", "DAI", "PAX", "UST", "VAI", "USD", "EUR", "GBP",
    "TRY", "RUB", "BRL", "AUD", "UAH", "NGN", "ZAR", "JPY", "PLN", "RON",
    "ARS", "MXN", "COP", "CZK",
};

static bool copy_upper(const char *src, size_t n, char *dst, size_t size)
{
    if (n + 1 > size) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = src[i];
        dst[i] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
    }
    dst[n] = '\0';
    return true;
}

static bool binance_split(const char *raw, size_t len, char *base,
                          size_t base_size, char *quote, size_t quote_size)
{
    char upper[64];
    size_t best = 0;

    if (raw == NULL || len == 0 || len >= sizeof upper
        || !copy_upper(raw, len, upper, sizeof upper)) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = upper[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) {
            return false;
        }
    }
    for (size_t i = 0; i < sizeof quote_assets / sizeof quote_assets[0];
         i++) {
        size_t q = strlen(quote_assets[i]);
        if (q > best && len >= q + 2
            && memcmp(upper + len - q, quote_assets[i], q) == 0) {
            best = q;
        }
    }
    if (best == 0) {
        return false;
    }
    return copy_upper(upper, len - best, base, base_size)
           && copy_upper(upper + len - best, best, quote, quote_size);
}

const struct cs_venue_ops cs_venue_binance = {
    .name = EXCHANGE,
    .parse = binance_parse,
    .split_symbol = binance_split,
};
