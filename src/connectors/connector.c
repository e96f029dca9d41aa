/* Exchange connectors: per exchange, the symbols spread over connections
 * within the venue's limits; per connection, the lifecycle (connect,
 * subscribe, keepalive, silence detection, backoff and retry without end,
 * make-before-break rotation) and the frame path into the engine and the
 * capture. */
#include "cryptosup/connector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/jsonw.h"
#include "cryptosup/log.h"
#include "cryptosup/recorder.h"
#include "cryptosup/timeutil.h"
#include "cryptosup/ws.h"

#define HOUSEKEEPING_MS 250
#define PENDING_MAX 256        /* control messages waiting for pacing */

struct exchange;

enum conn_state {
    CONN_WAITING,      /* backing off before the next attempt */
    CONN_CONNECTING,
    CONN_OPEN,
    CONN_CLOSING       /* we asked to close; `closed` will follow */
};

struct conn {
    struct exchange *x;
    char **symbols;               /* raw symbols this connection carries */
    size_t nsymbols, cap;
    struct cs_ws *ws;
    enum conn_state state;
    struct cs_timer *retry;       /* fires the next attempt */
    struct cs_timer *housekeeping;
    struct cs_venue_scratch *scratch;   /* per connection: sequences reset */
    int64_t opened_mono_ns, last_frame_mono_ns, last_ping_mono_ns;
    unsigned attempt;             /* backoff exponent; 0 once healthy */
    uint64_t req_id;
    bool ever_opened;
    bool retiring;                /* replaced: closes once the successor
                                     delivers, then is freed */
    bool dropped;                 /* removed by a reload: free on close */
    struct conn *predecessor;     /* the connection this one replaces */
    char *pending[PENDING_MAX];   /* control messages, paced */
    size_t pending_head, pending_len;
    double send_credit;           /* messages we may send now */
};

struct exchange {
    struct cs_connectors *owner;
    const struct cs_venue_ops *venue;
    char name[32];
    char logger[40];
    char *url;
    char **channels;
    size_t nchannels;
    int64_t idle_ms, ping_ms, lifetime_ms;
    unsigned per_conn;
    struct conn **conns;
    size_t nconns;
    struct cs_exchange_stats stats;
    int rec_file;                 /* capture id in the recorder; -1 none */
};

struct cs_connectors {
    struct cs_loop *loop;
    struct cs_engine *engine;
    struct cs_config_connect connect;
    struct cs_recorder *recorder; /* NULL: not recording */
    struct exchange **xs;
    size_t nxs;
    bool stopping;
    uint64_t rng;                 /* jitter */
};

static void conn_connect(struct conn *c);
static void conn_free(struct conn *c);

/* ---- small helpers ---- */

static char **copy_strings(char *const *src, size_t n)
{
    char **out = cs_xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        out[i] = cs_xstrdup(src[i]);
    }
    return out;
}

static void free_strings(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) {
        free(list[i]);
    }
    free(list);
}

static int64_t mono_ns(void)
{
    return cs_time_mono_ns();
}

/* Exponential backoff with jitter from a fixed schedule: the base doubles
 * per failed attempt up to the cap, and the wait is drawn from its upper
 * half so that many clients do not retry in step. */
static int64_t backoff_ms(struct cs_connectors *o, unsigned attempt)
{
    int64_t d = o->connect.backoff_initial_ms;
    for (unsigned i = 0; i < attempt && d < o->connect.backoff_max_ms; i++) {
        d *= 2;
    }
    if (d > o->connect.backoff_max_ms) {
        d = o->connect.backoff_max_ms;
    }
    o->rng ^= o->rng << 13;
    o->rng ^= o->rng >> 7;
    o->rng ^= o->rng << 17;
    return d / 2 + (int64_t)(o->rng % (uint64_t)(d / 2 + 1));
}

/* ---- capture ----
 * The recorder's writer thread does the file I/O; here the loop thread
 * only copies into its ring. A full ring drops the record (counted, logged
 * rate-limited, and marked in the capture by a record_gap event). */

/* The ring's room for one frame beyond the largest the connections take. */
#define RECORD_SLACK_BYTES (64u << 10)

static void record_open(struct exchange *x)
{
    struct cs_recorder *r = x->owner->recorder;

    x->rec_file = -1;
    if (r == NULL) {
        return;
    }
    x->rec_file = cs_recorder_open(r, x->name);
    if (x->rec_file < 0) {
        cs_log_warn(x->logger, "cannot record this exchange: too many "
                    "captures (at most %d)", CS_RECORD_MAX_FILES);
    }
}

static void record_dropped(struct exchange *x, const char *what, size_t len)
{
    size_t cap = cs_recorder_capacity(x->owner->recorder);

    x->stats.record_dropped_frames++;
    if (len + CS_RECORD_HEADER_BYTES > cap) {
        cs_log_limited(CS_LOG_WARN, x->logger, "record-too-large",
                       "%s of %zu bytes not recorded: larger than the "
                       "capture buffer (%zu bytes); the capture marks a "
                       "record_gap", what, len, cap);
    } else {
        cs_log_limited(CS_LOG_WARN, x->logger, "record-full",
                       "%s of %zu bytes not recorded: the capture writer is "
                       "behind (buffer of %zu bytes full); the capture "
                       "marks a record_gap", what, len, cap);
    }
}

/* One frame per line, exactly as received (the writer turns a raw CR or
 * LF into a space). */
static void record_frame(struct exchange *x, const char *text, size_t len,
                         int64_t recv_ns)
{
    if (x->rec_file < 0) {
        return;
    }
    if (cs_recorder_frame(x->owner->recorder, x->rec_file, text, len,
                          recv_ns) != CS_OK) {
        record_dropped(x, "frame", len);
    }
}

/* A connection event, so that a replay of the capture sees the same gaps:
 * `#cs-event {"kind":"reconnect","symbols":["BTCUSDT",...]}`. Replay
 * treats lines starting with '#' as events, never as frames. */
static void record_reconnect(struct exchange *x, const struct conn *c,
                             int64_t recv_ns)
{
    struct cs_jsonw w;
    if (x->rec_file < 0) {
        return;
    }
    cs_jsonw_init(&w);
    cs_jsonw_begin_object(&w);
    cs_jsonw_key(&w, "kind");
    cs_jsonw_cstring(&w, "reconnect");
    cs_jsonw_key(&w, "symbols");
    cs_jsonw_raw(&w, "[", 1);
    for (size_t i = 0; i < c->nsymbols; i++) {
        if (i > 0) {
            cs_jsonw_raw(&w, ",", 1);
        }
        w.need_comma = false;
        cs_jsonw_cstring(&w, c->symbols[i]);
    }
    cs_jsonw_raw(&w, "]", 1);
    cs_jsonw_end_object(&w);
    if (cs_recorder_event(x->owner->recorder, x->rec_file, w.buf, w.len,
                          recv_ns) != CS_OK) {
        record_dropped(x, "reconnect event", w.len);
    }
    cs_jsonw_cleanup(&w);
}

/* ---- outgoing control messages, paced below the venue's limit ---- */

static void queue_message(void *ctx, const char *text, size_t len)
{
    struct conn *c = ctx;
    if (c->pending_len == PENDING_MAX) {
        cs_log_warn(c->x->logger, "too many control messages queued; "
                    "dropping one (%zu bytes)", len);
        return;
    }
    c->pending[(c->pending_head + c->pending_len) % PENDING_MAX] =
        cs_xstrndup(text, len);
    c->pending_len++;
}

static void clear_pending(struct conn *c)
{
    while (c->pending_len > 0) {
        free(c->pending[c->pending_head]);
        c->pending_head = (c->pending_head + 1) % PENDING_MAX;
        c->pending_len--;
    }
}

static void flush_pending(struct conn *c)
{
    unsigned rate = c->x->venue->wire->max_client_msgs_per_s;
    double per_tick = rate ? (double)rate * HOUSEKEEPING_MS / 1000.0 : 1e9;

    c->send_credit += per_tick;
    if (c->send_credit > (rate ? (double)rate : 1e9)) {
        c->send_credit = rate ? (double)rate : 1e9;
    }
    while (c->pending_len > 0 && c->send_credit >= 1.0 && c->ws &&
           c->state == CONN_OPEN) {
        char *msg = c->pending[c->pending_head];
        if (!cs_ws_send(c->ws, msg, strlen(msg))) {
            break;   /* the socket's queue is full; try next tick */
        }
        free(msg);
        c->pending_head = (c->pending_head + 1) % PENDING_MAX;
        c->pending_len--;
        c->send_credit -= 1.0;
        c->x->stats.subscribe_messages++;
    }
}

static void subscribe(struct conn *c, char *const *symbols, size_t n,
                      bool unsubscribe)
{
    struct exchange *x = c->x;
    if (n == 0 || x->venue->build_subscription == NULL) {
        return;
    }
    x->venue->build_subscription((const char *const *)symbols, n,
                                 (const char *const *)x->channels,
                                 x->nchannels, unsubscribe, &c->req_id,
                                 queue_message, c);
    flush_pending(c);
}

/* ---- connection lifecycle ---- */

static void mark_gap(struct conn *c, const char *kind)
{
    struct cs_engine *e = c->x->owner->engine;
    int64_t now = cs_engine_now_ns(e);
    for (size_t i = 0; i < c->nsymbols; i++) {
        cs_engine_mark_gap(e, c->x->name, c->symbols[i], kind, now);
    }
    c->x->stats.gaps++;
}

static void schedule_retry(struct conn *c)
{
    int64_t delay = backoff_ms(c->x->owner, c->attempt);
    c->attempt++;
    c->state = CONN_WAITING;
    cs_timer_start(c->retry, delay, 0);
    cs_log_info(c->x->logger, "reconnecting in %.1fs (attempt %u)",
                (double)delay / 1000.0, c->attempt);
}

static void retire(struct conn *c)
{
    c->retiring = true;
    if (c->ws && c->state != CONN_CLOSING) {
        c->state = CONN_CLOSING;
        cs_ws_close(c->ws);
    } else if (c->ws == NULL) {
        conn_free(c);
    }
}

/* Make-before-break: a new connection for the same symbols; the old one
 * closes when the new one delivers data, so no trade is missed. */
static void rotate(struct conn *c, const char *why)
{
    struct exchange *x = c->x;
    struct conn *next;

    if (c->retiring || x->owner->stopping) {
        return;
    }
    for (size_t i = 0; i < x->nconns; i++) {
        if (x->conns[i]->predecessor == c) {
            return;   /* already being replaced */
        }
    }
    cs_log_info(x->logger, "%s: opening a replacement connection before "
                "closing this one", why);
    x->stats.rotations++;
    next = cs_xcalloc(1, sizeof *next);
    next->x = x;
    next->symbols = copy_strings(c->symbols, c->nsymbols);
    next->nsymbols = next->cap = c->nsymbols;
    next->predecessor = c;
    x->conns = cs_xrealloc(x->conns, (x->nconns + 1) * sizeof *x->conns);
    x->conns[x->nconns++] = next;
    conn_connect(next);
}

static void on_opened(void *ctx)
{
    struct conn *c = ctx;
    struct exchange *x = c->x;

    c->state = CONN_OPEN;
    c->opened_mono_ns = c->last_frame_mono_ns = c->last_ping_mono_ns =
        mono_ns();
    c->ever_opened = true;
    c->send_credit = 1.0;
    x->stats.connects++;
    x->stats.open_connections++;
    cs_log_info(x->logger, "connected to %s; subscribing %zu symbols", x->url,
                c->nsymbols);
    subscribe(c, c->symbols, c->nsymbols, false);
}

static void on_frame(void *ctx, const char *text, size_t len, int64_t recv_ns)
{
    struct conn *c = ctx;
    struct exchange *x = c->x;
    const struct cs_parse_out *p;

    c->last_frame_mono_ns = mono_ns();
    x->stats.frames++;
    x->stats.last_frame_ns = recv_ns;
    record_frame(x, text, len, recv_ns);
    p = cs_engine_frame(x->owner->engine, x->venue, c->scratch, text, len,
                        recv_ns);
    if (p->connection_gap) {
        cs_log_limited(CS_LOG_WARN, x->logger, "connection-gap",
                       "messages lost: sequence expected %llu, got %llu; "
                       "windows marked gapped",
                       (unsigned long long)p->gap_expected,
                       (unsigned long long)p->gap_got);
        mark_gap(c, "connection");
    }
    if (p->server_shutdown) {
        rotate(c, "the venue announced a disconnect");
    }
    if (c->predecessor && p->cls == CS_FRAME_DATA) {
        struct conn *old = c->predecessor;
        c->predecessor = NULL;
        cs_log_info(x->logger, "replacement connection is live; closing the "
                    "old one");
        retire(old);
    }
}

static void on_oversize(void *ctx, size_t bytes)
{
    struct conn *c = ctx;
    c->x->stats.oversize_frames++;
    cs_log_limited(CS_LOG_WARN, c->x->logger, "oversize",
                   "frame of %zu bytes dropped (limit %zu)", bytes,
                   c->x->owner->connect.max_frame_bytes);
}

static void detach_predecessor_links(struct conn *c)
{
    struct exchange *x = c->x;
    for (size_t i = 0; i < x->nconns; i++) {
        if (x->conns[i]->predecessor == c) {
            x->conns[i]->predecessor = NULL;
        }
    }
}

static void on_closed(void *ctx, int code, const char *why)
{
    struct conn *c = ctx;
    struct exchange *x = c->x;
    bool was_open = c->state == CONN_OPEN || c->state == CONN_CLOSING;

    (void)code;
    c->ws = NULL;
    if (was_open && c->ever_opened) {
        x->stats.open_connections--;
    }
    if (c->retiring || c->dropped || x->owner->stopping) {
        conn_free(c);
        return;
    }
    if (was_open) {
        x->stats.reconnects++;
        cs_log_warn(x->logger, "%s; windows marked gapped", why);
        record_reconnect(x, c, cs_time_now_ns());
        mark_gap(c, "reconnect");
    } else {
        x->stats.connect_failures++;
        cs_log_warn(x->logger, "cannot connect to %s: %s", x->url, why);
    }
    /* A new connection starts its sequences afresh. */
    cs_venue_scratch_free(c->scratch);
    c->scratch = cs_venue_scratch_new();
    clear_pending(c);
    schedule_retry(c);
}

static const struct cs_ws_events conn_events = {
    on_opened, on_frame, on_oversize, on_closed
};

static void conn_connect(struct conn *c)
{
    struct exchange *x = c->x;

    if (c->retry == NULL) {
        c->retry = cs_timer_new(x->owner->loop, (cs_timer_fn)conn_connect, c);
        c->scratch = cs_venue_scratch_new();
    }
    c->state = CONN_CONNECTING;
    c->ws = cs_ws_connect(x->owner->loop, x->url,
                          x->owner->connect.max_frame_bytes, &conn_events, c);
    if (c->ws == NULL) {
        x->stats.connect_failures++;
        schedule_retry(c);
    }
}

/* Every HOUSEKEEPING_MS per connection: pacing, keepalive, silence,
 * rotation before forced disconnects, backoff reset once healthy. */
static void conn_housekeeping(void *ctx)
{
    struct conn *c = ctx;
    struct exchange *x = c->x;
    const struct cs_config_connect *cc = &x->owner->connect;
    int64_t now = mono_ns();
    char ping[256];
    size_t n;

    if (c->state != CONN_OPEN) {
        return;
    }
    flush_pending(c);
    if (x->idle_ms > 0 && now - c->last_frame_mono_ns >
                              x->idle_ms * CS_NS_PER_MS) {
        x->stats.stale++;
        cs_log_warn(x->logger, "no frame for %.1fs: stream is stale; "
                    "reconnecting", (double)(now - c->last_frame_mono_ns) /
                    1e9);
        c->state = CONN_CLOSING;
        cs_ws_close(c->ws);
        return;
    }
    if (x->ping_ms > 0 && x->venue->build_ping &&
        now - c->last_ping_mono_ns >= x->ping_ms * CS_NS_PER_MS) {
        c->last_ping_mono_ns = now;
        n = x->venue->build_ping(&c->req_id, ping, sizeof ping);
        if (n > 0 && n < sizeof ping) {
            queue_message(c, ping, n);
            flush_pending(c);
        }
    }
    if (x->lifetime_ms > 0 && !c->retiring &&
        now - c->opened_mono_ns >= x->lifetime_ms * CS_NS_PER_MS) {
        rotate(c, "connection reached its maximum lifetime");
    }
    if (c->attempt > 0 &&
        now - c->opened_mono_ns >= cc->healthy_after_ms * CS_NS_PER_MS &&
        now - c->last_frame_mono_ns < 5 * CS_NS_PER_S) {
        c->attempt = 0;   /* healthy again: the next failure starts low */
    }
}

static struct conn *conn_new(struct exchange *x)
{
    struct conn *c = cs_xcalloc(1, sizeof *c);
    c->x = x;
    x->conns = cs_xrealloc(x->conns, (x->nconns + 1) * sizeof *x->conns);
    x->conns[x->nconns++] = c;
    return c;
}

static void conn_start(struct conn *c)
{
    c->housekeeping = cs_timer_new(c->x->owner->loop, conn_housekeeping, c);
    cs_timer_start(c->housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
    conn_connect(c);
}

static void conn_free(struct conn *c)
{
    struct exchange *x = c->x;

    detach_predecessor_links(c);
    for (size_t i = 0; i < x->nconns; i++) {
        if (x->conns[i] == c) {
            memmove(x->conns + i, x->conns + i + 1,
                    (x->nconns - i - 1) * sizeof *x->conns);
            x->nconns--;
            break;
        }
    }
    if (c->ws) {
        cs_ws_abandon(c->ws);   /* its events must not reach freed memory */
        c->ws = NULL;
    }
    cs_timer_free(c->retry);
    cs_timer_free(c->housekeeping);
    cs_venue_scratch_free(c->scratch);
    clear_pending(c);
    free_strings(c->symbols, c->nsymbols);
    free(c);
}

static void conn_add_symbol(struct conn *c, const char *raw)
{
    if (c->nsymbols == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->symbols = cs_xrealloc(c->symbols, (c->cap + 1) * sizeof *c->symbols);
    }
    c->symbols[c->nsymbols++] = cs_xstrdup(raw);
}

/* ---- exchanges ---- */

static void exchange_settings(struct exchange *x,
                              const struct cs_config_exchange *cx)
{
    const struct cs_venue_wire *w = x->venue->wire;
    free(x->url);
    free_strings(x->channels, x->nchannels);
    x->url = cs_xstrdup(cx->url ? cx->url : w->ws_url);
    if (cx->nchannels > 0) {
        x->channels = copy_strings(cx->channels, cx->nchannels);
        x->nchannels = cx->nchannels;
    } else {
        size_t n = 0;
        while (w->default_channels && w->default_channels[n]) {
            n++;
        }
        x->channels = copy_strings((char *const *)w->default_channels, n);
        x->nchannels = n;
    }
    x->idle_ms = cx->idle_timeout_ms ? cx->idle_timeout_ms : w->idle_timeout_ms;
    x->ping_ms = cx->ping_interval_ms ? cx->ping_interval_ms
                                      : w->ping_interval_ms;
    x->lifetime_ms = cx->max_lifetime_ms ? cx->max_lifetime_ms
                                         : w->max_lifetime_ms;
    x->per_conn = cx->max_symbols_per_conn ? cx->max_symbols_per_conn
                                           : w->max_symbols_per_conn;
    if (x->per_conn == 0) {
        x->per_conn = 100;
    }
}

static bool exchange_has(const struct exchange *x, const char *raw)
{
    for (size_t i = 0; i < x->nconns; i++) {
        const struct conn *c = x->conns[i];
        if (c->retiring || c->dropped) {
            continue;
        }
        for (size_t k = 0; k < c->nsymbols; k++) {
            if (strcmp(c->symbols[k], raw) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* Put a symbol on a connection with room (subscribing it there at once if
 * open), or on a new connection. */
static void exchange_add_symbol(struct exchange *x, const char *raw)
{
    struct conn *c = NULL;
    char *list[1];

    for (size_t i = 0; i < x->nconns && c == NULL; i++) {
        if (!x->conns[i]->retiring && !x->conns[i]->dropped &&
            x->conns[i]->nsymbols < x->per_conn) {
            c = x->conns[i];
        }
    }
    if (c == NULL) {
        c = conn_new(x);
        conn_add_symbol(c, raw);
        if (!x->owner->stopping) {
            conn_start(c);
        }
        return;
    }
    conn_add_symbol(c, raw);
    if (c->state == CONN_OPEN) {
        list[0] = c->symbols[c->nsymbols - 1];
        subscribe(c, list, 1, false);
    }
}

static void exchange_remove_symbol(struct exchange *x, const char *raw)
{
    for (size_t i = 0; i < x->nconns; i++) {
        struct conn *c = x->conns[i];
        for (size_t k = 0; k < c->nsymbols; k++) {
            char *list[1];
            if (strcmp(c->symbols[k], raw) != 0) {
                continue;
            }
            list[0] = c->symbols[k];
            if (c->state == CONN_OPEN) {
                subscribe(c, list, 1, true);
            }
            free(c->symbols[k]);
            memmove(c->symbols + k, c->symbols + k + 1,
                    (c->nsymbols - k - 1) * sizeof *c->symbols);
            c->nsymbols--;
            if (c->nsymbols == 0) {
                c->dropped = true;
                retire(c);
            }
            return;
        }
    }
}

static bool config_lists(const struct cs_config_exchange *cx, const char *raw)
{
    for (size_t i = 0; i < cx->nsymbols; i++) {
        if (strcmp(cx->symbols[i].raw, raw) == 0) {
            return true;
        }
    }
    return false;
}

/* Bring an exchange's subscriptions to what the config lists. */
static void exchange_sync(struct exchange *x,
                          const struct cs_config_exchange *cx)
{
    size_t added = 0, removed = 0;
    for (size_t i = 0; i < x->nconns; i++) {
        struct conn *c = x->conns[i];
        for (size_t k = 0; k < c->nsymbols && !c->retiring;) {
            if (!config_lists(cx, c->symbols[k])) {
                size_t before = c->nsymbols;
                exchange_remove_symbol(x, c->symbols[k]);
                removed++;
                if (c->nsymbols == before) {
                    k++;
                }
            } else {
                k++;
            }
        }
    }
    for (size_t i = 0; i < cx->nsymbols; i++) {
        if (!exchange_has(x, cx->symbols[i].raw)) {
            exchange_add_symbol(x, cx->symbols[i].raw);
            added++;
        }
    }
    if (added || removed) {
        cs_log_info(x->logger, "subscriptions: %zu added, %zu removed", added,
                    removed);
    }
}

static struct exchange *exchange_new(struct cs_connectors *o,
                                     const struct cs_config_exchange *cx)
{
    struct exchange *x = cs_xcalloc(1, sizeof *x);
    x->owner = o;
    x->venue = cx->venue;
    snprintf(x->name, sizeof x->name, "%s", cx->name);
    snprintf(x->logger, sizeof x->logger, "conn.%s", cx->name);
    x->stats.exchange = x->name;
    exchange_settings(x, cx);
    record_open(x);
    exchange_sync(x, cx);
    return x;
}

static void exchange_close_all(struct exchange *x)
{
    /* Iterate on a copy: closing may free connections. */
    size_t n = x->nconns;
    struct conn **all = cs_xcalloc(n ? n : 1, sizeof *all);
    memcpy(all, x->conns, n * sizeof *all);
    for (size_t i = 0; i < n; i++) {
        struct conn *c = all[i];
        c->dropped = true;
        if (c->retry) {
            cs_timer_stop(c->retry);
        }
        if (c->housekeeping) {
            cs_timer_stop(c->housekeeping);
        }
        if (c->ws) {
            if (c->state != CONN_CLOSING) {
                c->state = CONN_CLOSING;
                cs_ws_close(c->ws);
            }
        } else {
            conn_free(c);
        }
    }
    free(all);
}

static void exchange_free(struct exchange *x)
{
    while (x->nconns > 0) {
        conn_free(x->conns[0]);
    }
    free(x->conns);
    free(x->url);
    free_strings(x->channels, x->nchannels);
    free(x);
}

static bool usable(const struct cs_config_exchange *cx)
{
    return cx->venue->wire && cx->venue->build_subscription &&
           cx->nsymbols > 0;
}

struct cs_connectors *cs_connectors_new(struct cs_loop *loop,
                                        struct cs_engine *engine,
                                        const struct cs_config *cfg,
                                        const char *record_dir)
{
    struct cs_connectors *o = cs_xcalloc(1, sizeof *o);
    o->loop = loop;
    o->engine = engine;
    o->rng = (uint64_t)cs_time_now_ns() | 1;
    if (record_dir) {
        size_t ring = CS_RECORD_RING_BYTES;
        if (cfg->connect.max_frame_bytes + RECORD_SLACK_BYTES > ring) {
            ring = cfg->connect.max_frame_bytes + RECORD_SLACK_BYTES;
        }
        o->recorder = cs_recorder_new(record_dir, ring);
        if (o->recorder == NULL) {
            cs_log_error("conn", "not recording to %s", record_dir);
        }
    }
    cs_connectors_apply(o, cfg);
    return o;
}

void cs_connectors_apply(struct cs_connectors *o, const struct cs_config *cfg)
{
    o->connect = cfg->connect;
    o->connect.ca_file = NULL;   /* the loop holds the CA; not copied here */
    /* Stop exchanges the config no longer has (or can no longer use). */
    for (size_t i = 0; i < o->nxs;) {
        struct exchange *x = o->xs[i];
        const struct cs_config_exchange *cx = NULL;
        for (size_t k = 0; k < cfg->nexchanges; k++) {
            if (strcmp(cfg->exchanges[k].name, x->name) == 0 &&
                usable(&cfg->exchanges[k])) {
                cx = &cfg->exchanges[k];
            }
        }
        if (cx == NULL) {
            cs_log_info(x->logger, "no longer configured; disconnecting");
            exchange_close_all(x);
            /* Connections still closing keep `x` alive through conn->x;
             * it is freed with the connectors. */
            i++;
            continue;
        }
        if (strcmp(x->url, cx->url ? cx->url : cx->venue->wire->ws_url) != 0) {
            cs_log_info(x->logger, "endpoint changed; reconnecting");
            exchange_close_all(x);
        }
        exchange_settings(x, cx);
        exchange_sync(x, cx);
        i++;
    }
    for (size_t k = 0; k < cfg->nexchanges; k++) {
        const struct cs_config_exchange *cx = &cfg->exchanges[k];
        bool known = false;
        for (size_t i = 0; i < o->nxs; i++) {
            known = known || strcmp(o->xs[i]->name, cx->name) == 0;
        }
        if (known) {
            continue;
        }
        if (!usable(cx)) {
            cs_log_warn("conn", "%s: %s; not connecting", cx->name,
                        cx->nsymbols == 0 ? "no symbols configured"
                                          : "no live connector yet");
            continue;
        }
        o->xs = cs_xrealloc(o->xs, (o->nxs + 1) * sizeof *o->xs);
        o->xs[o->nxs++] = exchange_new(o, cx);
    }
}

void cs_connectors_stop(struct cs_connectors *o)
{
    o->stopping = true;
    for (size_t i = 0; i < o->nxs; i++) {
        exchange_close_all(o->xs[i]);
    }
}

bool cs_connectors_idle(const struct cs_connectors *o)
{
    for (size_t i = 0; i < o->nxs; i++) {
        if (o->xs[i]->nconns > 0) {
            return false;
        }
    }
    return true;
}

void cs_connectors_free(struct cs_connectors *o)
{
    if (o == NULL) {
        return;
    }
    for (size_t i = 0; i < o->nxs; i++) {
        exchange_free(o->xs[i]);
    }
    /* Writes everything queued, then closes the captures. */
    cs_recorder_free(o->recorder);
    free(o->xs);
    free(o);
}

size_t cs_connectors_count(const struct cs_connectors *o)
{
    return o->nxs;
}

const struct cs_exchange_stats *cs_connectors_stats(
    const struct cs_connectors *o, size_t i)
{
    return i < o->nxs ? &o->xs[i]->stats : NULL;
}

void cs_connectors_refresh_stats(struct cs_connectors *o)
{
    for (size_t i = 0; i < o->nxs; i++) {
        struct exchange *x = o->xs[i];
        if (x->rec_file >= 0) {
            x->stats.record_write_errors =
                cs_recorder_write_errors(o->recorder, x->rec_file);
        }
    }
}
