/* Fake exchange shared types: server state, venues, fixture feeds, WebSocket
 * connections and faults. One process, one lws service thread; nothing here
 * is thread-safe and nothing needs to be. */
#ifndef FX_H
#define FX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#define FX_MAX_CONNS        256     /* open WebSocket connections */
#define FX_MAX_HISTORY      64      /* closed connections kept for /state */
#define FX_MAX_SUBS         1024    /* per connection (Binance's limit) */
#define FX_MSG_RING         64      /* client messages kept per connection */
#define FX_MSG_KEEP_BYTES   4096    /* each kept message is cut to this */
#define FX_RX_MAX           (64 * 1024)  /* largest client message accepted */
#define FX_MAX_ACTIONS      16      /* timed fault actions per connection */
#define FX_MAX_ARMED        32      /* faults waiting for next connections */
#define FX_MAX_REST_LOG     256     /* REST requests kept for /state */
#define FX_MAX_PRICES       64      /* REST price overrides */
#define FX_FEED_CHANNELS    16
#define FX_FEED_SYMBOLS     64
#define FX_SYMMAP_MAX       512     /* per venue: subscribed -> fixture symbol */
#define FX_SYM_LEN          48
#define FX_CHAN_LEN         40
#define FX_ID_SERIES        2       /* id number spaces per venue and symbol */

enum fx_venue_id {
    FX_BINANCE,
    FX_COINBASE,        /* Advanced Trade */
    FX_COINBASE_EX,     /* Exchange ws-feed */
    FX_KRAKEN,
    FX_OKX,
    FX_BYBIT_SPOT,
    FX_BYBIT_LINEAR,
    FX_VENUE_COUNT
};

enum fx_log_level { FX_DEBUG, FX_INFO, FX_WARN, FX_ERROR };

enum fx_symbols_mode {
    FX_SYMBOLS_REWRITE,  /* map each subscribed symbol onto a fixture one */
    FX_SYMBOLS_EXACT,    /* only frames whose symbol was subscribed */
    FX_SYMBOLS_ASIS      /* every frame of a subscribed channel, unchanged */
};

/* One recorded server->client frame. */
struct fx_frame {
    char *text;
    size_t len;
    size_t data_off, data_len;  /* Binance: the "data" payload in text */
    double t_s;                 /* recorder receive time, Unix seconds */
    int channel;                /* feed channel index; -1: not replayed */
    int symbol;                 /* feed symbol index; -1: none */
    bool snapshot;              /* a snapshot (sent once, on subscribe) */
    int64_t seq, trade_id;      /* Coinbase Exchange: sequence, trade_id */
};

/* One id number space (series) of one recorded symbol: the recording's
 * range, and process-wide the next id no replay has used yet. Every loop
 * of every replay takes a fresh block of (max - min + 1) ids from `next`
 * (fx_id_shift), so ids never repeat and never go backwards. */
struct fx_id_range {
    bool any;                   /* the recording has ids of this series */
    int64_t min, max;
    int64_t next;               /* first id of the next block */
};

/* One venue's replayable recording. */
struct fx_feed {
    char file[256];
    struct fx_frame *frames;
    size_t n;
    double t_first_s, period_s; /* first receive time; loop length */
    char channels[FX_FEED_CHANNELS][FX_CHAN_LEN];
    int nchannels;
    char symbols[FX_FEED_SYMBOLS][FX_SYM_LEN];
    unsigned symbol_frames[FX_FEED_SYMBOLS];
    int nsymbols;
    int rank[FX_FEED_SYMBOLS];  /* symbol indices, busiest first */
    bool snapshot_first;        /* snapshots go out on subscribe only */
    const char *const *time_keys;   /* fields --retime shifts; NULL-ended */
    uint32_t chan_ids[FX_FEED_CHANNELS];    /* id rules (fx_feed.c) per channel */
    struct fx_id_range ids[FX_ID_SERIES][FX_FEED_SYMBOLS];
};

enum fx_fault_kind {
    FX_F_NONE,
    FX_F_CLOSE_ABRUPT, FX_F_CLOSE_CODE, FX_F_STALL, FX_F_RESUME,
    FX_F_GARBAGE, FX_F_TRUNCATED, FX_F_OVERSIZE, FX_F_BINARY, FX_F_PING,
    FX_F_SERVER_SHUTDOWN, FX_F_NOTICE, FX_F_SEQ_GAP, FX_F_DROP_FRAMES,
    FX_F_MUTE_PONGS, FX_F_ROTATE, FX_F_REJECT,
    FX_F_HTTP_STATUS, FX_F_SLOW, FX_F_REST_GARBAGE,
    FX_F_KIND_COUNT
};

/* A fault as requested on the control channel, with every parameter. */
struct fx_fault {
    enum fx_fault_kind kind;
    int venue;                  /* fx_venue_id, or -1 for all venues */
    bool bybit_any;             /* "bybit": both bybit venues */
    unsigned conn_id;           /* 0: every matching connection */
    int code;                   /* close code / HTTP status */
    char reason[124];           /* close reason / custom text */
    int64_t delay_ms;           /* after applying (next: after subscribe) */
    int64_t duration_ms;        /* stall length; 0 = until resume */
    int64_t close_after_ms;     /* shutdown/notice: close later; -1 never */
    int64_t age_s;              /* rotate: close connections older */
    unsigned n;                 /* seq_gap / drop_frames count */
    size_t bytes;               /* oversize frame length */
    bool rst;                   /* close_abrupt: TCP RST instead of FIN */
    int retry_after_s;          /* HTTP Retry-After; <0 none */
    unsigned count;             /* next connections / REST requests; 0 = until cleared */
    bool next;                  /* scope: future connections */
    bool current;               /* scope: open connections */
};

struct fx_sub {
    char channel[FX_CHAN_LEN];  /* "aggTrade", "ticker", "tickers" */
    char symbol[FX_SYM_LEN];    /* as the client spelt it */
    char raw[FX_CHAN_LEN + FX_SYM_LEN + 8];  /* venue spelling, for lists */
    int fsym;                   /* fixture symbol streamed for it; -1 none */
    int64_t last_seq, last_trade_id;  /* Coinbase Exchange heartbeats */
};

struct fx_msg {
    int64_t t_ms;               /* Unix ms when received */
    char *text;                 /* cut to FX_MSG_KEEP_BYTES */
    size_t len;                 /* original length */
};

enum fx_out_kind { FX_OUT_TEXT, FX_OUT_BINARY, FX_OUT_PING, FX_OUT_CLOSE };

struct fx_out {
    struct fx_out *next;
    enum fx_out_kind kind;
    bool data;                  /* market data: may be dropped when full */
    int code;                   /* FX_OUT_CLOSE */
    size_t len;
    unsigned char buf[];        /* LWS_PRE + len (+1 NUL) */
};

struct fx_action {
    struct fx_fault f;
    int64_t due_us;             /* monotonic; 0 = waiting for subscribe */
    bool used;
};

/* One WebSocket connection, alive or (in the history) closed. */
struct fx_conn {
    struct fx_conn *next;
    struct fx_server *srv;
    struct lws *wsi;            /* NULL once closed */
    unsigned id;
    enum fx_venue_id venue;
    char path[8192];            /* URI with query (lws header limit) */
    bool tls, open;
    int64_t opened_us, closed_us;       /* monotonic */
    int64_t opened_ms;                  /* Unix ms */
    int close_code;             /* sent or received; 0 none, -1 abrupt */
    char closed_by[24];         /* "client", "server", "fault", ... */
    char conn_id[40];           /* OKX connId / Bybit conn_id */
    uint64_t kraken_conn_id;

    struct fx_sub *subs;
    size_t nsubs, cap_subs;
    bool subscribed;            /* ever had a subscription */
    bool combined;              /* Binance combined envelope */

    /* replay */
    bool replaying;
    size_t pos;
    unsigned loops;
    int64_t base_us;            /* monotonic time of fixture t_first */
    int64_t retime_offset_s;    /* added to recorded times (--retime) */
    int last_trade_frame[FX_FEED_SYMBOLS];  /* Binance synth tickers */
    int last_book_frame[FX_FEED_SYMBOLS];
    /* what this replay adds to recorded ids (fx_id_shift): per series and
     * fixture symbol, valid for loop id_epoch - 1 (0: none taken yet) */
    int64_t id_shift[FX_ID_SERIES][FX_FEED_SYMBOLS];
    unsigned id_epoch[FX_ID_SERIES][FX_FEED_SYMBOLS];

    /* outgoing */
    struct fx_out *q_head, *q_tail;
    size_t q_bytes, q_len;

    /* incoming */
    char *rx;
    size_t rx_len;
    bool rx_overflow;
    struct fx_msg msgs[FX_MSG_RING];
    uint64_t msgs_total;
    int64_t rate_window_us;
    unsigned rate_count, max_rate;      /* client messages per second */

    /* counters */
    uint64_t frames_sent, data_frames_sent, bytes_sent;
    uint64_t frames_dropped_full, frames_dropped_fault, replies_suppressed;
    uint64_t oversize_client_msgs;

    /* keepalive */
    int64_t next_ping_us, ping_sent_us, last_pong_us;
    int64_t pong_deadline_us;   /* 0: none */
    bool awaiting_pong, pong_close;     /* close when the deadline passes */
    char ping_payload[32];
    unsigned ping_seq;
    uint64_t pings_sent, pongs_received, pongs_matched, pings_unanswered;
    uint64_t app_pings, app_pongs;
    int64_t next_hb_us, next_synth_us, last_sent_us;
    uint64_t hb_counter;
    unsigned synth_step;

    /* Coinbase Advanced Trade */
    uint64_t seq_num;
    unsigned seq_skip;

    /* faults */
    bool stalled, closing;
    int64_t stall_start_us, stall_until_us;
    bool mute_pongs;
    unsigned drop_pending;
    bool truncate_next;
    struct fx_action actions[FX_MAX_ACTIONS];
    char faults_seen[256];      /* comma list of applied fault kinds */
};

struct fx_symmap {
    char target[FX_SYM_LEN];
    int fsym;
};

struct fx_rest_log {
    int64_t t_ms;
    int venue;
    char method[8];
    char uri[256];
    int status;
};

struct fx_price {
    int venue;
    char symbol[FX_SYM_LEN];
    char price[40];
};

struct fx_armed {
    struct fx_fault f;
    unsigned remaining;         /* 0 = until cleared */
    bool used;
};

enum fx_template {
    FX_TPL_BINANCE_PRICE,       /* REST /api/v3/ticker/price lines */
    FX_TPL_BINANCE_24HR,        /* REST /api/v3/ticker/24hr lines */
    FX_TPL_BINANCE_DOC,         /* WS doc examples (ticker payloads) */
    FX_TPL_COINBASE_TICKER,     /* REST market/products/{id}/ticker */
    FX_TPL_KRAKEN_WS,           /* WS v2 doc-derived frames */
    FX_TPL_COUNT
};

struct fx_options {
    int port, control_port;
    bool tls;
    const char *cert, *key;
    const char *fixtures;
    const char *fixture_file[FX_VENUE_COUNT];  /* --fixture VENUE=FILE */
    const char *ready_file;
    double speed;
    enum fx_symbols_mode symbols;
    bool retime;
    bool restart_sequences;     /* recorded ids as recorded on every loop */
    bool loop;
    int64_t ping_interval_ms;   /* Binance server pings */
    int64_t pong_timeout_ms;    /* close when a ping is not answered */
    int64_t heartbeat_ms;       /* Coinbase/Kraken heartbeats */
    int64_t max_conn_age_s;     /* close older connections; 0 off */
    int64_t subscribe_timeout_ms;   /* -1: per-venue default */
    int64_t exit_after_s;
    int64_t max_queue_bytes;
    bool enforce_rate_limit;
    enum fx_log_level log_level;
};

struct fx_server {
    struct fx_options opt;
    struct lws_context *ctx;
    struct lws_vhost *vh_main, *vh_ctl;
    int port, control_port;     /* bound ports */
    int64_t started_us;
    int64_t exit_at_us;
    bool stop;
    lws_sorted_usec_list_t tick;

    struct fx_feed feeds[FX_VENUE_COUNT];
    struct fx_feed templates[FX_TPL_COUNT];    /* lines, not replayed */
    struct fx_symmap symmap[FX_VENUE_COUNT][FX_SYMMAP_MAX];
    size_t nsymmap[FX_VENUE_COUNT];
    unsigned symmap_next[FX_VENUE_COUNT];

    struct fx_conn *conns;      /* open */
    size_t nconns;
    struct fx_conn *history;    /* closed, newest first */
    size_t nhistory;
    unsigned next_conn_id;
    uint64_t conns_total[FX_VENUE_COUNT];
    uint64_t rejected_total[FX_VENUE_COUNT];

    struct fx_armed armed[FX_MAX_ARMED];

    struct fx_rest_log rest_log[FX_MAX_REST_LOG];
    size_t rest_log_n, rest_log_head;
    uint64_t rest_total[FX_VENUE_COUNT];
    struct fx_price prices[FX_MAX_PRICES];
    size_t nprices;

    struct fx_http *pending_http;   /* delayed REST responses */
};

/* ---- fake_exchange.c ---- */
void fx_log(enum fx_log_level lvl, const char *logger, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
extern enum fx_log_level fx_log_threshold;
int64_t fx_now_us(void);        /* monotonic */
int64_t fx_wall_ms(void);
void fx_wall_iso(char *buf, size_t size, int digits);   /* ...T..Z */
void *fx_xmalloc(size_t n);
void *fx_xcalloc(size_t n, size_t size);
void *fx_xrealloc(void *p, size_t n);
char *fx_xstrndup(const char *s, size_t n);

/* ---- fx_text.c: growable strings and frame rewriting ---- */
struct fx_str {
    char *p;
    size_t len, cap;
};
void fx_str_add(struct fx_str *s, const char *p, size_t n);
void fx_str_adds(struct fx_str *s, const char *p);
void fx_str_addf(struct fx_str *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fx_str_add_json(struct fx_str *s, const char *p);  /* quoted, escaped */
void fx_str_free(struct fx_str *s);
/* Replace `from` (case-insensitively, as a whole token between quote, dot,
 * slash or @ delimiters) with `to`, keeping lower case where the frame used
 * it (Binance stream names). */
void fx_subst_symbol(const char *in, size_t len, const char *from,
                     const char *to, struct fx_str *out);
/* Shift the values of `keys` (int ms, "ms" strings or ISO-8601 strings) by
 * offset_s seconds. */
void fx_retime(const char *in, size_t len, const char *const *keys,
               int64_t offset_s, struct fx_str *out);
/* Add `delta` to the values of the JSON keys `keys` (NULL-ended), where
 * a value is a non-negative integer or a string of digits (it keeps its
 * type); anything else, and keys inside string values, stay as they are. */
void fx_shift_ids(const char *in, size_t len, const char *const *keys,
                  int64_t delta, struct fx_str *out);
/* Widen [*min, *max] by those values; false when there are none. */
bool fx_scan_ids(const char *in, size_t len, const char *const *keys,
                 int64_t *min, int64_t *max);
/* Replace the first "key":<int> value with `value`. */
void fx_replace_int(const char *in, size_t len, const char *key,
                    uint64_t value, struct fx_str *out);
bool fx_ieq(const char *a, const char *b);

/* ---- fx_feed.c ---- */
int fx_feeds_load(struct fx_server *s);     /* 0 or -1 (logged) */
void fx_feeds_free(struct fx_server *s);
int fx_feed_channel(const struct fx_feed *f, const char *channel);
int fx_feed_symbol(const struct fx_feed *f, const char *symbol);
/* The fixture symbol streamed for subscribed `target`, or -1. */
int fx_symmap_assign(struct fx_server *s, enum fx_venue_id v,
                     const char *target);
/* What connection c adds to the recorded ids of `series` of fixture
 * symbol fsym in its current replay loop (0 with --restart-sequences or
 * when the recording has none); takes a fresh block on first use in a
 * loop. */
int64_t fx_id_shift(struct fx_conn *c, int series, int fsym);
/* Frame text transformed for one subscription: symbol rewritten to
 * `target` (when not NULL), times shifted by the connection's offset,
 * sequence-like ids continued (fx_id_shift; frames with channel -1 are
 * synthesized and keep theirs). */
void fx_frame_render(struct fx_conn *c, const struct fx_frame *fr,
                     const char *text, size_t len, const char *target,
                     struct fx_str *out);
/* Series of Coinbase Exchange `sequence` and `trade_id` (heartbeats). */
#define FX_IDS_CBX_SEQUENCE 0
#define FX_IDS_CBX_TRADE_ID 1

/* ---- fx_conn.c ---- */
extern const char *const fx_venue_names[FX_VENUE_COUNT];
int fx_venue_from_name(const char *name, bool *bybit_any);
int fx_main_callback(struct lws *wsi, enum lws_callback_reasons reason,
                   void *user, void *in, size_t len);
void fx_tick(struct fx_server *s, int64_t now_us);
/* Queue a frame; data frames are dropped when the queue is full or a
 * drop fault is pending. False when not queued. */
bool fx_send(struct fx_conn *c, const char *text, size_t len, bool data);
/* A reply to a client message (suppressed while stalled). */
void fx_reply(struct fx_conn *c, const char *text, size_t len);
void fx_reply_str(struct fx_conn *c, struct fx_str *s);
bool fx_conn_close(struct fx_conn *c, int code, const char *reason,
                   const char *by);
void fx_conn_abort(struct fx_conn *c, bool rst, const char *by);
void fx_conn_start_replay(struct fx_conn *c);
bool fx_conn_has_sub(const struct fx_conn *c, const char *channel,
                     const char *symbol);
struct fx_sub *fx_conn_add_sub(struct fx_conn *c, const char *channel,
                               const char *symbol, const char *raw);
bool fx_conn_del_sub(struct fx_conn *c, const char *channel,
                     const char *symbol);
/* A WebSocket ping that expects its pong within timeout_ms (0: no
 * deadline); when it does not come the ping counts as unanswered and, with
 * close_on_timeout, the connection is closed (1008). */
void fx_conn_send_ping(struct fx_conn *c, int64_t timeout_ms,
                       bool close_on_timeout);
/* Apply a fault now; returns false with *err set when it does not fit. */
bool fx_fault_apply(struct fx_conn *c, const struct fx_fault *f,
                    const char **err);
void fx_conn_subscribed(struct fx_conn *c);
void fx_conns_free(struct fx_server *s);
/* Control-channel entry: apply `f` to open connections and/or arm it for
 * future connections / REST requests. Adds a summary to `out` (JSON
 * object body). False with *err on misuse. */
bool fx_fault_dispatch(struct fx_server *s, const struct fx_fault *f,
                       struct fx_str *out, const char **err);
void fx_faults_clear(struct fx_server *s);
/* Forget closed connections and the client messages of open ones. */
void fx_history_clear(struct fx_server *s);
/* Take one armed fault of `kind` (or any REST kind when kind is
 * FX_F_NONE) for venue v; false when none. */
bool fx_armed_take(struct fx_server *s, int v, enum fx_fault_kind kind,
                   struct fx_fault *out);
const char *fx_fault_name(enum fx_fault_kind k);

/* ---- fx_venues.c ---- */
struct fx_venue_ops {
    const char *name;
    int64_t subscribe_timeout_ms;   /* default; 0 none */
    void (*opened)(struct fx_conn *c);
    void (*message)(struct fx_conn *c, const char *text, size_t len);
    /* Replay reached frame `fr` (called for every frame, subscribed or
     * not, so venues can track state). */
    void (*frame)(struct fx_conn *c, const struct fx_frame *fr);
    void (*heartbeat)(struct fx_conn *c);   /* every --heartbeat-ms */
    void (*synth)(struct fx_conn *c);       /* every 1000/speed ms */
    /* Venue-specific fault (server_shutdown, notice); false if none. */
    bool (*fault)(struct fx_conn *c, const struct fx_fault *f);
    /* Send one rendered data frame (Coinbase AT numbers it); NULL: plain
     * fx_send(). */
    void (*emit)(struct fx_conn *c, const char *text, size_t len);
};
extern const struct fx_venue_ops *const fx_venues[FX_VENUE_COUNT];
/* Parse the request path; -1 when no venue serves it. */
int fx_venue_for_path(const char *path);
/* Deliver one replayed frame to the matching subscriptions. */
void fx_deliver(struct fx_conn *c, const struct fx_frame *fr,
                const char *text, size_t len);

/* ---- fx_http.c: REST responder and control API ---- */
/* Per HTTP transaction state (main vhost REST and control vhost). */
struct fx_http {
    struct fx_http *next_pending;
    struct lws *wsi;
    struct fx_server *srv;
    bool control;
    int method;                 /* LWSHUMETH_* */
    char path[256];
    char *req_body;
    size_t req_len;
    bool req_overflow;
    int status;
    const char *ctype;
    int retry_after_s;          /* <0: no header */
    char xhdr_name[40], xhdr_val[40];   /* one extra response header */
    char *body;
    size_t body_len, body_off;
    bool headers_sent, ready, pending;
    int64_t due_us;             /* slow responses: monotonic */
};

/* Per-session data of the main vhost's single protocol. */
struct fx_pss {
    struct fx_conn *conn;       /* WebSocket connections */
    struct fx_http http;        /* REST requests */
};

int fx_rest_callback(struct lws *wsi, enum lws_callback_reasons reason,
                     void *user, void *in, size_t len);
int fx_control_callback(struct lws *wsi, enum lws_callback_reasons reason,
                        void *user, void *in, size_t len);
void fx_http_tick(struct fx_server *s, int64_t now_us);
void fx_http_free_pending(struct fx_server *s);
bool fx_fault_parse(const char *json, size_t len, struct fx_fault *f,
                    const char **err);

#endif
