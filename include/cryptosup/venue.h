/* Venue parsers: pure translations from one received frame to zero or more
 * normalised ticks. A venue never touches sockets, storage or Lua. */
#ifndef CRYPTOSUP_VENUE_H
#define CRYPTOSUP_VENUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/json.h"
#include "cryptosup/tick.h"

enum cs_frame_class {
    CS_FRAME_DATA,       /* market data; ticks in out->ticks (maybe none) */
    CS_FRAME_CONTROL,    /* subscription reply, heartbeat, pong, status */
    CS_FRAME_IGNORED,    /* recognised data we do not use: depth, klines */
    CS_FRAME_UNKNOWN,    /* valid JSON (or text) of a type we do not know */
    CS_FRAME_MALFORMED   /* not JSON, truncated, or a known type missing or
                            mangling a required field */
};

#define CS_VENUE_MAX_TICKS 256   /* per frame; more are counted in dropped */

struct cs_parse_out {
    struct cs_tick ticks[CS_VENUE_MAX_TICKS];
    size_t n;                /* ticks written */
    size_t dropped;          /* ticks beyond the array */
    enum cs_frame_class cls;
    /* Static text saying what the frame was (for IGNORED/CONTROL/UNKNOWN,
     * e.g. "depthUpdate", "subscriptions") or why it is malformed (e.g.
     * "aggTrade: missing p"). Never NULL after parse; never contains frame
     * bytes, so it is safe to use as a log rate-limit key. */
    const char *what;
    bool server_shutdown;    /* the venue announced it will disconnect
                                (Binance serverShutdown, OKX 64008) */
    /* Messages were lost on this connection (a connection-wide sequence,
     * like Coinbase Advanced Trade's sequence_num, jumped). Per-instrument
     * gaps come from each tick's seq and seq_kind, checked by the engine. */
    bool connection_gap;
    uint64_t gap_expected, gap_got;   /* when connection_gap is set */
};

/* Per-stream scratch space (JSON tokens), allocated once per connection or
 * replay file so parsing allocates nothing per frame. Single-threaded.
 * It also holds what a venue must remember between frames of one
 * connection: Coinbase Advanced Trade's last sequence_num, Bybit's merged
 * tickers (grown on a symbol's first snapshot, at most
 * CS_VENUE_MAX_MERGED symbols). Give every connection (and every replay
 * file) its own scratch: a new connection starts those afresh. */
struct cs_venue_scratch;
struct cs_venue_scratch *cs_venue_scratch_new(void);
void cs_venue_scratch_free(struct cs_venue_scratch *s);

/* How a connector talks to a venue: endpoint, limits, keepalive. The
 * numbers follow the venue's documentation (see PROTOCOLS.md) where it
 * gives one; the comment at each venue's table cites it and says which
 * are our own margin. Config may override the URL. */
struct cs_venue_wire {
    const char *ws_url;             /* default WebSocket endpoint */
    unsigned max_symbols_per_conn;  /* split larger lists over connections */
    unsigned max_symbols_per_msg;   /* per subscribe request */
    unsigned max_client_msgs_per_s; /* pace control messages below this */
    int64_t idle_timeout_ms;        /* no frame for this long: stale */
    int64_t ping_interval_ms;       /* client keepalive period; 0: none */
    int64_t max_lifetime_ms;        /* rotate (make-before-break) before the
                                       venue cuts the connection; 0: none */
    const char *const *default_channels;   /* NULL-terminated */
    const char *const *all_channels;       /* NULL-terminated */
    /* REST (ticker polling, window warm-up from 1-minute candles). Weights
     * follow the venue's documented request weights; where it documents
     * only a request rate every request weighs 1. The budget is our own
     * margin below the venue's limit (see each venue's comment). */
    const char *rest_url;             /* default REST base URL */
    unsigned rest_weight_per_s;       /* weight we spend per second */
    unsigned rest_weight_burst;       /* weight that may go at once */
    unsigned rest_ticker_weight;      /* one ticker request */
    unsigned rest_candles_weight;     /* one page of candles */
    unsigned rest_candles_per_page;   /* 1-minute candles per request */
    unsigned rest_candles_max_minutes;   /* how far back the venue serves
                                            1-minute candles; 0: no limit */
};

/* Receives one client->server text message built by a venue. */
typedef void (*cs_venue_send_fn)(void *ctx, const char *text, size_t len);

/* Receives one tick (REST candles), valid during the call only. */
typedef void (*cs_venue_tick_fn)(void *ctx, const struct cs_tick *tick);

struct cs_venue_ops {
    /* "binance", "coinbase" (Advanced Trade), "coinbase-exchange" (the
     * Exchange ws-feed), "kraken", "okx", "bybit" (spot), "bybit-linear".
     * Ticks carry it as their `exchange`. */
    const char *name;
    const struct cs_venue_wire *wire;
    /* Subscribe (or unsubscribe) raw symbols on channels (both arrays of
     * NUL-terminated strings), in as many messages as the venue's limits
     * need, each handed to send(). *req_id is the connection's request
     * counter (incremented per message that carries an id). Every string
     * is JSON-escaped, so any bytes give valid JSON; empty symbols or
     * channels and ones over CS_VENUE_NAME_MAX bytes are left out. The
     * text passed to send() is valid only during that call. */
    void (*build_subscription)(const char *const *raw_symbols, size_t n,
                               const char *const *channels, size_t nchannels,
                               bool unsubscribe, uint64_t *req_id,
                               cs_venue_send_fn send, void *ctx);
    /* The client keepalive message into buf (NUL-terminated; returns its
     * length); 0 when the venue needs none (server pings are answered by
     * the WebSocket layer) or when `size` is too small (64 always
     * suffices). */
    size_t (*build_ping)(uint64_t *req_id, char *buf, size_t size);
    /* The venue's spelling of BASE/QUOTE ("BTCUSDT", "BTC-USD", "BTC/USD"),
     * upper case, truncated to `size` like snprintf. */
    void (*compose_symbol)(const char *base, const char *quote, char *buf,
                           size_t size);
    /* Parse one frame. Ticks borrow text from `frame`, which must outlive
     * them; Bybit ticks (merged from deltas) borrow from `scratch` instead,
     * valid until the next parse on that scratch. Either way, handle the
     * ticks before parsing the next frame. Never fails hard: bad input
     * becomes CS_FRAME_MALFORMED. */
    void (*parse)(struct cs_venue_scratch *scratch, const char *frame,
                  size_t len, int64_t recv_ns, struct cs_parse_out *out);
    /* Split a raw symbol into base and quote (upper case, NUL-terminated).
     * False when no sound split exists. */
    bool (*split_symbol)(const char *raw, size_t len, char *base,
                         size_t base_size, char *quote, size_t quote_size);

    /* ---- REST; all four NULL when the venue has none. URL builders
     * write `base` (no trailing '/') + path + query into buf and return
     * its length; 0 when it does not fit or the symbol cannot be sent
     * (empty, over CS_VENUE_NAME_MAX bytes). Parsers never fail hard:
     * they return NULL on success, else a static text for logs and
     * counters ("error reply" when the venue answered with its error
     * object). Ticks borrow text from `body` and `raw_symbol`. ---- */
    /* The venue's current ticker of one raw symbol. */
    size_t (*rest_ticker_url)(const char *base, const char *raw_symbol,
                              char *buf, size_t size);
    /* One ticker tick for raw_symbol (which it carries, whatever spelling
     * the body uses): price, bid and ask when present, the venue's time
     * when the body has one, else ts_ns 0 (the engine then uses recv_ns).
     * A body about another symbol is an error. */
    const char *(*parse_rest_ticker)(struct cs_venue_scratch *s,
                                     const char *raw_symbol,
                                     const char *body, size_t len,
                                     int64_t recv_ns, struct cs_tick *tick);
    /* 1-minute candles opening in [start_ms, end_ms), a span of at most
     * wire->rest_candles_per_page minutes. */
    size_t (*rest_candles_url)(const char *base, const char *raw_symbol,
                               int64_t start_ms, int64_t end_ms, char *buf,
                               size_t size);
    /* One trade tick per closed candle, oldest first, handed to fn:
     * price = the close exactly as sent, ts = open time + 59.999 s (the
     * candle's last millisecond), recv_ns = now_ns, no qty or seq.
     * Candles still open at now_ns (or marked unfinished) are left out.
     * On a bad candle the ones before it have been handed over. */
    const char *(*parse_rest_candles)(struct cs_venue_scratch *s,
                                      const char *raw_symbol,
                                      const char *body, size_t len,
                                      int64_t now_ns, cs_venue_tick_fn fn,
                                      void *ctx);
};

/* The venue called `name`, or NULL. */
const struct cs_venue_ops *cs_venue_find(const char *name);
/* At most this many venues exist (counters per venue are sized by it). */
#define CS_VENUES_MAX 16

/* NULL-terminated list of every venue. */
const struct cs_venue_ops *const *cs_venue_all(void);

extern const struct cs_venue_ops cs_venue_binance;
extern const struct cs_venue_ops cs_venue_coinbase;
extern const struct cs_venue_ops cs_venue_kraken;
extern const struct cs_venue_ops cs_venue_okx;
extern const struct cs_venue_ops cs_venue_bybit;
extern const struct cs_venue_ops cs_venue_coinbase_exchange;
extern const struct cs_venue_ops cs_venue_bybit_linear;

/* Longest symbol or channel name build_subscription() sends. */
#define CS_VENUE_NAME_MAX 64

/* ---- Shared by the venue parsers in src/venues/; nothing else calls
 * these. The scratch has two token areas: the frame's, and a second one
 * for re-parsing one element whose subtree was skipped. ---- */
enum cs_venue_area { CS_VENUE_AREA_FRAME, CS_VENUE_AREA_ELEMENT };

/* cs_json_parse() into one of the scratch's token areas. The tokens stay
 * valid until that area is parsed into again. */
enum cs_json_status cs_venue_scratch_parse(struct cs_venue_scratch *s,
                                           enum cs_venue_area area,
                                           struct cs_json *js,
                                           const char *src, size_t len,
                                           unsigned max_depth);

/* Tokenise a whole frame into the frame area: full depth first (one pass
 * in the common case); a frame with too many tokens is re-parsed with
 * containers deeper than 2, then deeper than 1, skipped, so huge order
 * books are still classified and huge arrays can be walked element by
 * element (cs_venue_scratch_parse() into the element area). On failure
 * sets out's class to CONTROL for a bare "ping"/"pong" text frame and
 * MALFORMED otherwise, and returns false. */
bool cs_venue_parse_frame(struct cs_venue_scratch *s, struct cs_json *js,
                          const char *frame, size_t len,
                          struct cs_parse_out *out);

/* What a venue decided about a frame: its class and static `what`. */
struct cs_venue_result {
    enum cs_frame_class cls;
    const char *what;
};
struct cs_venue_result cs_venue_result(enum cs_frame_class cls,
                                       const char *what);

/* The arguments of one parse() call. */
struct cs_venue_ctx {
    struct cs_venue_scratch *scratch;
    struct cs_parse_out *out;
    int64_t recv_ns;
    const char *exchange;   /* static venue name the ticks carry */
};
/* Classifies a tokenised frame (root token 0), pushing ticks as it goes. */
typedef struct cs_venue_result (*cs_venue_root_fn)(
    const struct cs_venue_ctx *c, const struct cs_json *js);
/* The frame of every parse(): resets `out`, tokenises the frame
 * (cs_venue_parse_frame) and, when that works, sets out's class from
 * root(). `exchange` (the calling venue's name, static) goes to root()
 * in the context, for the ticks: venues that share a parser (Coinbase
 * Advanced Trade and Exchange, Bybit spot and linear) differ only in it. */
void cs_venue_run(const char *exchange, struct cs_venue_scratch *s,
                  const char *frame, size_t len,
                  int64_t recv_ns, struct cs_parse_out *out,
                  cs_venue_root_fn root);

/* The Coinbase parser (coinbase.c), for Advanced Trade and Exchange
 * ws-feed frames alike, its ticks named `exchange`: parse() of both
 * "coinbase" and "coinbase-exchange" (coinbase_exchange.c). */
void cs_venue_coinbase_parse(const char *exchange,
                             struct cs_venue_scratch *scratch,
                             const char *frame, size_t len, int64_t recv_ns,
                             struct cs_parse_out *out);

/* The first of names[0..n) that string token `tok` equals (or, with
 * `prefix`, starts with), or NULL. Escaped strings never match. */
const char *cs_venue_match(const struct cs_json *js, int tok,
                           const char *const *names, size_t n, bool prefix);

/* Empty `out`: no ticks, class MALFORMED "empty frame" until decided. */
void cs_venue_out_reset(struct cs_parse_out *out);
/* Sets class and `what` (static). Any class but DATA discards ticks. */
void cs_venue_out_set(struct cs_parse_out *out, enum cs_frame_class cls,
                      const char *what);
/* An empty tick: all flags and numbers zero, every text "" (never NULL). */
void cs_venue_tick_init(struct cs_tick *t, const char *exchange,
                        int64_t recv_ns);
/* Append a copy of `t`, or count it in out->dropped when the array is
 * full. */
void cs_venue_out_push(struct cs_parse_out *out, const struct cs_tick *t);

enum cs_venue_field {
    CS_VENUE_FIELD_OK,
    CS_VENUE_FIELD_ABSENT,
    CS_VENUE_FIELD_BAD
};

/* Token `tok` (a value found with cs_json_get(); -1 when the key is
 * missing) as an exact decimal from a string or number. ABSENT when tok is
 * -1, null or "" (venues send "" for an empty side); BAD when it is another
 * type, not a decimal, negative, or zero while `positive` is set. On OK
 * fills *val and *text (borrowed from the frame). */
enum cs_venue_field cs_venue_decimal(const struct cs_json *js, int tok,
                                     bool positive, struct cs_decimal *val,
                                     struct cs_text *text);
/* Token `tok` (-1 when missing) as a symbol: a non-empty string of at most
 * 64 printable ASCII bytes without spaces. */
enum cs_venue_field cs_venue_symbol(const struct cs_json *js, int tok,
                                    struct cs_text *out);

enum cs_venue_num {
    CS_VENUE_NUM_PRICE,   /* must be > 0 */
    CS_VENUE_NUM_QTY,     /* >= 0 */
    CS_VENUE_NUM_SIDE     /* >= 0; zero is an empty book side: absent */
};

/* Token `tok` (-1 when missing) as one decimal field of a tick: fills
 * *val, *text (borrowed from the frame) and *has. Absent (see
 * cs_venue_decimal) clears *has and is an error only when `required`.
 * Returns NULL, `missing` or `bad` (static texts for out->what). */
const char *cs_venue_take_decimal(const struct cs_json *js, int tok,
                                  bool required, enum cs_venue_num rule,
                                  struct cs_decimal *val,
                                  struct cs_text *text, bool *has,
                                  const char *missing, const char *bad);

/* Epoch time in ms, or in µs when above 10^14 (ms values stay below
 * that until the year 5138), to ns. False when <= 0 or overflowing. */
bool cs_venue_epoch_to_ns(int64_t v, int64_t *ns);

/* Token `tok` as an ISO-8601 / RFC 3339 UTC time (an unescaped string)
 * in ns since the epoch. */
bool cs_venue_iso_time(const struct cs_json *js, int tok, int64_t *ns);

/* Called for each element of an array; returns NULL to go on, or a static
 * text for out->what that stops the walk. */
typedef const char *(*cs_venue_element_fn)(void *ctx,
                                           const struct cs_json *js,
                                           int tok);
/* Walks array `arr` of `js`, re-parsing a skipped array or skipped
 * elements alone in the element area (so `fn` must not use that area),
 * and returns what `fn` returned first, "too many JSON tokens" when a
 * skipped part does not fit (or `s` is NULL), or `not_array` when `arr` is
 * -1 or not an array. */
const char *cs_venue_each_element(struct cs_venue_scratch *s,
                                  const struct cs_json *js, int arr,
                                  const char *not_array,
                                  cs_venue_element_fn fn, void *ctx);

/* Where one JSON object that is one tick keeps its values (Coinbase,
 * Kraken, OKX): keys, "" for a value the message lacks, and the static
 * `what` texts, built by CS_VENUE_LAYOUT. */
enum cs_venue_time {
    CS_VENUE_TIME_ISO,      /* ISO-8601 string (cs_venue_iso_time) */
    CS_VENUE_TIME_EPOCH     /* ms (or µs) number or digit string */
};
enum cs_venue_seq_rule {
    CS_VENUE_SEQ_NUMBER,    /* a JSON integer */
    CS_VENUE_SEQ_DIGITS,    /* an integer or a string of digits */
    CS_VENUE_SEQ_LENIENT    /* as DIGITS; anything else is just no seq */
};
struct cs_venue_layout {
    const char *name;       /* out->what of DATA frames */
    enum cs_tick_kind kind;
    const char *symbol, *price, *qty, *bid, *ask, *time, *seq;
    bool qty_required, time_required;
    enum cs_venue_time time_format;
    enum cs_venue_seq_rule seq_rule;
    enum cs_seq_kind seq_kind;
    const char *missing_symbol, *bad_symbol, *missing_price, *bad_price,
               *missing_qty, *bad_qty, *bad_bid, *bad_ask, *missing_time,
               *bad_time, *bad_seq, *not_object;
};
/* nm: the layout's name; the keys as string literals (so the error texts
 * are static: "trade: missing qty"). */
#define CS_VENUE_LAYOUT(nm, kind, symbol, price, qty, qty_required, bid, \
                        ask, time, time_required, time_format, seq, \
                        seq_rule, seq_kind) { \
    nm, kind, symbol, price, qty, bid, ask, time, seq, qty_required, \
    time_required, time_format, seq_rule, seq_kind, \
    nm ": missing " symbol, nm ": bad " symbol, nm ": missing " price, \
    nm ": bad " price, nm ": missing " qty, nm ": bad " qty, \
    nm ": bad " bid, nm ": bad " ask, nm ": missing " time, \
    nm ": bad " time, nm ": bad " seq, nm ": not an object" }

/* cs_venue_fill_fn for a struct cs_venue_layout: symbol and price
 * required; qty and time as the layout says (a "" key is never required);
 * bid and ask optional (0 is an empty side); a missing seq is no seq. */
const char *cs_venue_fill(const void *layout, const struct cs_json *js,
                          int obj, struct cs_tick *t);

/* Fills tick `t` (already initialised, kind set) from object `obj`, every
 * field checked before any is written; returns NULL or a static error. */
typedef const char *(*cs_venue_fill_fn)(const void *how,
                                        const struct cs_json *js, int obj,
                                        struct cs_tick *t);
/* Turns JSON objects into ticks on `out`: see cs_venue_emit(). */
struct cs_venue_emitter {
    struct cs_parse_out *out;
    const char *exchange;       /* static venue name */
    int64_t recv_ns;
    enum cs_tick_kind kind;
    cs_venue_fill_fn fill;
    const void *how;            /* the venue's layout, passed to fill */
    const char *not_object;     /* the error when a value is no object */
};
/* cs_venue_element_fn for a struct cs_venue_emitter: one tick from
 * object `obj`, pushed when fill() accepts it. */
const char *cs_venue_emit(void *emitter, const struct cs_json *js, int obj);

/* One tick per object of array `arr`, each read with cs_venue_fill() and
 * layout `l`: DATA named l->name, or MALFORMED with the first error
 * (`bad_list` when `arr` is no array). */
struct cs_venue_result cs_venue_emit_array(const struct cs_venue_ctx *c,
                                           const char *exchange,
                                           const struct cs_json *js, int arr,
                                           const struct cs_venue_layout *l,
                                           const char *bad_list);

/* Value `tok` of `js`, or, when the frame parse skipped its subtree, the
 * same bytes parsed alone into the scratch's element area (*sub). On true
 * *ejs and *etok name the value to read; false when it does not fit, or
 * when `s` is NULL (for callers whose element area is in use). */
bool cs_venue_unskip(struct cs_venue_scratch *s, const struct cs_json *js,
                     int tok, struct cs_json *sub, const struct cs_json **ejs,
                     int *etok);

/* Connection-wide sequence numbers (Coinbase Advanced Trade sequence_num):
 * records `seq` as the scratch's latest; when a previous one exists and
 * `seq` is not previous + 1, sets out->connection_gap, gap_expected and
 * gap_got. The first number on a scratch only records. */
void cs_venue_conn_seq(struct cs_venue_scratch *s, uint64_t seq,
                       struct cs_parse_out *out);

/* The latest ticker of one symbol, merged from a snapshot and the deltas
 * after it (Bybit linear). Text buffers are NUL-terminated; tick text may
 * point into them until the next parse on the scratch. */
#define CS_VENUE_MAX_MERGED 4096
#define CS_VENUE_MERGED_TEXT 32    /* longest text + 1 */
struct cs_venue_merged {
    char symbol[CS_VENUE_MERGED_TEXT];
    char price[CS_VENUE_MERGED_TEXT];   /* "" when absent */
    char bid[CS_VENUE_MERGED_TEXT];
    char ask[CS_VENUE_MERGED_TEXT];
};

/* The merged ticker of `symbol` (len bytes), or NULL when it has none.
 * With `create`, a missing one is added (all text "") unless the symbol
 * is longer than CS_VENUE_MERGED_TEXT - 1 or CS_VENUE_MAX_MERGED symbols
 * are held; the pointer is valid until the next create. */
struct cs_venue_merged *cs_venue_merged_get(struct cs_venue_scratch *s,
                                            const char *symbol, size_t len,
                                            bool create);

/* ---- Symbol helpers for split_symbol and compose_symbol. ---- */

/* Upper-cased copy of n bytes into dst (NUL-terminated). False when n is
 * 0, does not fit `size`, or a byte is not an ASCII letter or digit. */
bool cs_venue_copy_upper(const char *src, size_t n, char *dst, size_t size);
/* Concatenated symbols ("AAVEUPUSDT"): the longest of `quotes` (upper
 * case, NULL-terminated list) that ends `raw` and leaves a base of at
 * least 2 characters. Letters and digits only, any case. */
bool cs_venue_split_suffix(const char *raw, size_t len,
                           const char *const *quotes, char *base,
                           size_t base_size, char *quote, size_t quote_size);
/* Symbols with exactly one separator ("BTC-USD", "BTC/USD"). */
bool cs_venue_split_at(const char *raw, size_t len, char sep, char *base,
                       size_t base_size, char *quote, size_t quote_size);
/* split_symbol for "BTC-USD" and for "BTC/USD" (cs_venue_split_at). */
bool cs_venue_split_dash(const char *raw, size_t len, char *base,
                         size_t base_size, char *quote, size_t quote_size);
bool cs_venue_split_slash(const char *raw, size_t len, char *base,
                          size_t base_size, char *quote, size_t quote_size);
/* compose_symbol for "BTCUSDT", "BTC-USD" and "BTC/USD": BASE, the
 * separator, QUOTE, upper-cased, truncated like snprintf. */
void cs_venue_compose_concat(const char *base, const char *quote, char *buf,
                             size_t size);
void cs_venue_compose_dash(const char *base, const char *quote, char *buf,
                           size_t size);
void cs_venue_compose_slash(const char *base, const char *quote, char *buf,
                            size_t size);

/* ---- REST helpers for the venue files. ---- */

/* Tokenise a REST body into the frame area, with the depth fallback of
 * cs_venue_parse_frame. NULL, or "not JSON", "truncated JSON", "too many
 * JSON tokens", "JSON nested too deeply". */
const char *cs_venue_rest_body(struct cs_venue_scratch *s, struct cs_json *js,
                               const char *body, size_t len);

/* printf into buf; the length, or 0 (buf "") when it does not fit. */
size_t cs_venue_url(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A raw symbol for a URL path or query: bytes other than letters, digits
 * and "-._~" percent-encoded. False when empty, over CS_VENUE_NAME_MAX
 * bytes or when the result does not fit. */
bool cs_venue_url_symbol(const char *raw, char *out, size_t size);

/* Minutes (at least 1) in [start_ms, end_ms), capped at `cap`. */
int64_t cs_venue_candle_count(int64_t start_ms, int64_t end_ms, int64_t cap);

/* A venue's way of reading one candle element: open time in ms, the
 * token of its close price, and whether the venue marks it unfinished.
 * Returns NULL or a static error. */
typedef const char *(*cs_venue_candle_fn)(const struct cs_json *js, int el,
                                          int64_t *open_ms, int *close_tok,
                                          bool *unfinished);
/* Most candles one body may hold. */
#define CS_VENUE_MAX_CANDLES 1024
/* The candles of array `arr` (either order; walked oldest first) as trade
 * ticks to fn, as parse_rest_candles describes. Returns NULL, `bad_list`
 * when arr is no array, or the first error. */
const char *cs_venue_emit_candles(struct cs_venue_scratch *s,
                                  const struct cs_json *js, int arr,
                                  cs_venue_candle_fn read,
                                  const char *bad_list, const char *exchange,
                                  const char *raw_symbol, int64_t now_ns,
                                  cs_venue_tick_fn fn, void *ctx);

/* A ticker tick for raw_symbol from its price, bid and ask tokens (-1:
 * absent; only the price is required); errors are "ticker: missing
 * price", "ticker: bad price", "ticker: bad bid", "ticker: bad ask". */
const char *cs_venue_rest_tick(const struct cs_json *js, int price, int bid,
                               int ask, const char *exchange,
                               const char *raw_symbol, int64_t recv_ns,
                               struct cs_tick *t);
/* True when token `tok` is -1 (no symbol in the body) or a string equal
 * to raw_symbol. */
bool cs_venue_rest_symbol_ok(const struct cs_json *js, int tok,
                             const char *raw_symbol);

/* ---- Client messages. build_subscription() of every venue runs
 * cs_venue_subscribe(), which batches, and writes each message with the
 * venue's cs_venue_write_fn into a cs_jsonw (arrays through the two calls
 * below, as cs_jsonw has none). ---- */
struct cs_jsonw;
void cs_venue_msg_array_begin(struct cs_jsonw *w);
void cs_venue_msg_array_end(struct cs_jsonw *w);
/* True when a symbol or channel may go into a message: 1 to
 * CS_VENUE_NAME_MAX bytes. */
bool cs_venue_name_ok(const char *name);

/* The symbols and channels of one message (only names cs_venue_name_ok()
 * accepts). */
struct cs_venue_batch {
    const char *const *symbols;
    size_t nsymbols;
    const char *const *channels;
    size_t nchannels;
    bool unsubscribe;
};
/* Writes one message for `b` into the empty `w`, taking a request id from
 * *req_id if the venue's messages carry one. */
typedef void (*cs_venue_write_fn)(struct cs_jsonw *w,
                                  const struct cs_venue_batch *b,
                                  uint64_t *req_id);
/* Both Coinbase feeds: {"type":"subscribe"|"unsubscribe","product_ids":
 * [...], then "channel":"<c>" (Advanced Trade) or "channels":["<c>"]
 * (Exchange) for the batch's one channel. */
void cs_venue_write_product_request(struct cs_jsonw *w,
                                    const struct cs_venue_batch *b,
                                    bool channel_list);

enum cs_venue_batching {
    CS_VENUE_BATCH_SYMBOLS,   /* all channels per message, per_msg symbols */
    CS_VENUE_BATCH_PAIRS,     /* all channels per message, per_msg symbols
                                 times channels (Bybit "args") */
    CS_VENUE_BATCH_CHANNEL    /* one channel per message, per_msg symbols */
};

/* The most symbols per message, and channels per call (more channels are
 * left out). */
#define CS_VENUE_BATCH_MAX 256
/* build_subscription() for a venue: batches the symbols as `batching`
 * says (per_msg capped at CS_VENUE_BATCH_MAX) and hands each message
 * write() made to send(). */
void cs_venue_subscribe(const char *const *raw_symbols, size_t n,
                        const char *const *channels, size_t nchannels,
                        bool unsubscribe, uint64_t *req_id,
                        enum cs_venue_batching batching, size_t per_msg,
                        cs_venue_write_fn write, cs_venue_send_fn send,
                        void *ctx);
/* build_ping for venues that need no client keepalive: returns 0. */
size_t cs_venue_no_ping(uint64_t *req_id, char *buf, size_t size);
/* A keepalive message `before` + next request id + `after` into buf (no id
 * when req_id is NULL); increments *req_id. Returns the length, or 0 with
 * *req_id unchanged when it does not fit. */
size_t cs_venue_ping_msg(uint64_t *req_id, char *buf, size_t size,
                         const char *before, const char *after);

#endif
