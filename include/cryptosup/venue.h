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
 * replay file so parsing allocates nothing per frame. Single-threaded. */
struct cs_venue_scratch;
struct cs_venue_scratch *cs_venue_scratch_new(void);
void cs_venue_scratch_free(struct cs_venue_scratch *s);

/* How a connector talks to a venue: endpoint, limits, keepalive. Every
 * number is from the venue's documentation (see PROTOCOLS.md); config may
 * override the URL. */
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
};

/* Receives one client->server text message built by a venue. */
typedef void (*cs_venue_send_fn)(void *ctx, const char *text, size_t len);

struct cs_venue_ops {
    const char *name;   /* "binance", "coinbase" */
    const struct cs_venue_wire *wire;
    /* Subscribe (or unsubscribe) raw symbols on channels (both arrays of
     * NUL-terminated strings), in as many messages as the venue's limits
     * need, each handed to send(). *req_id is the connection's request
     * counter (incremented per message that carries an id). */
    void (*build_subscription)(const char *const *raw_symbols, size_t n,
                               const char *const *channels, size_t nchannels,
                               bool unsubscribe, uint64_t *req_id,
                               cs_venue_send_fn send, void *ctx);
    /* The client keepalive message into buf; 0 when the venue needs none
     * (server pings are answered by the WebSocket layer). */
    size_t (*build_ping)(uint64_t *req_id, char *buf, size_t size);
    /* The venue's spelling of BASE/QUOTE ("BTCUSDT", "BTC-USD", "BTC/USD"). */
    void (*compose_symbol)(const char *base, const char *quote, char *buf,
                           size_t size);
    /* Parse one frame. Ticks borrow text from `frame`, which must outlive
     * them. Never fails hard: bad input becomes CS_FRAME_MALFORMED. */
    void (*parse)(struct cs_venue_scratch *scratch, const char *frame,
                  size_t len, int64_t recv_ns, struct cs_parse_out *out);
    /* Split a raw symbol into base and quote (upper case, NUL-terminated).
     * False when no sound split exists. */
    bool (*split_symbol)(const char *raw, size_t len, char *base,
                         size_t base_size, char *quote, size_t quote_size);
};

/* The venue called `name`, or NULL. */
const struct cs_venue_ops *cs_venue_find(const char *name);
/* NULL-terminated list of every venue. */
const struct cs_venue_ops *const *cs_venue_all(void);

extern const struct cs_venue_ops cs_venue_binance;
extern const struct cs_venue_ops cs_venue_coinbase;

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

#endif
