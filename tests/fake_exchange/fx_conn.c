/* WebSocket side of the fake exchange: connection lifecycle on lws, the
 * bounded outgoing queue, fixture replay pacing, server keepalives, and
 * fault injection (applied now, later, or to the next connections). */
#include "fx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

const char *const fx_venue_names[FX_VENUE_COUNT] = {
    "binance", "coinbase", "coinbase-exchange", "kraken", "okx",
    "bybit-spot", "bybit-linear",
};

static const char *const fault_names[FX_F_KIND_COUNT] = {
    [FX_F_NONE] = "none",
    [FX_F_CLOSE_ABRUPT] = "close_abrupt",
    [FX_F_CLOSE_CODE] = "close_code",
    [FX_F_STALL] = "stall",
    [FX_F_RESUME] = "resume",
    [FX_F_GARBAGE] = "garbage",
    [FX_F_TRUNCATED] = "truncated",
    [FX_F_OVERSIZE] = "oversize",
    [FX_F_BINARY] = "binary",
    [FX_F_PING] = "ping",
    [FX_F_SERVER_SHUTDOWN] = "server_shutdown",
    [FX_F_NOTICE] = "notice",
    [FX_F_SEQ_GAP] = "seq_gap",
    [FX_F_DROP_FRAMES] = "drop_frames",
    [FX_F_MUTE_PONGS] = "mute_pongs",
    [FX_F_ROTATE] = "rotate",
    [FX_F_REJECT] = "reject",
    [FX_F_HTTP_STATUS] = "http_status",
    [FX_F_SLOW] = "slow",
    [FX_F_REST_GARBAGE] = "rest_garbage",
};

const char *fx_fault_name(enum fx_fault_kind k)
{
    return k < FX_F_KIND_COUNT && fault_names[k] ? fault_names[k] : "?";
}

int fx_venue_from_name(const char *name, bool *bybit_any)
{
    *bybit_any = false;
    if (!name || !*name || !strcmp(name, "*") || !strcmp(name, "all")) {
        return -1;
    }
    if (!strcmp(name, "bybit")) {
        *bybit_any = true;
        return FX_BYBIT_SPOT;
    }
    for (int v = 0; v < FX_VENUE_COUNT; v++) {
        if (!strcmp(name, fx_venue_names[v])) {
            return v;
        }
    }
    return -2;
}

static bool venue_matches(const struct fx_fault *f, enum fx_venue_id v)
{
    if (f->venue < 0) {
        return true;
    }
    if (f->bybit_any) {
        return v == FX_BYBIT_SPOT || v == FX_BYBIT_LINEAR;
    }
    return f->venue == (int)v;
}

static struct fx_server *srv_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* ---- outgoing queue ---- */

static void out_free_all(struct fx_conn *c)
{
    while (c->q_head) {
        struct fx_out *o = c->q_head;
        c->q_head = o->next;
        free(o);
    }
    c->q_tail = NULL;
    c->q_bytes = c->q_len = 0;
}

static struct fx_out *out_new(enum fx_out_kind kind, const char *p,
                              size_t len, bool data)
{
    struct fx_out *o = fx_xmalloc(sizeof *o + LWS_PRE + len + 1);

    o->next = NULL;
    o->kind = kind;
    o->data = data;
    o->code = 0;
    o->len = len;
    if (len) {
        memcpy(o->buf + LWS_PRE, p, len);
    }
    o->buf[LWS_PRE + len] = '\0';
    return o;
}

static void out_push(struct fx_conn *c, struct fx_out *o, bool front)
{
    if (front) {
        o->next = c->q_head;
        c->q_head = o;
        if (!c->q_tail) {
            c->q_tail = o;
        }
    } else {
        if (c->q_tail) {
            c->q_tail->next = o;
        } else {
            c->q_head = o;
        }
        c->q_tail = o;
    }
    c->q_bytes += o->len;
    c->q_len++;
    if (c->wsi) {
        lws_callback_on_writable(c->wsi);
    }
}

static bool send_kind(struct fx_conn *c, enum fx_out_kind kind,
                      const char *text, size_t len, bool data)
{
    size_t cap = (size_t)c->srv->opt.max_queue_bytes;

    if (!c->open || !c->wsi || c->closing) {
        return false;
    }
    if (data && c->drop_pending > 0) {
        c->drop_pending--;
        c->frames_dropped_fault++;
        return false;
    }
    if (data && c->truncate_next) {
        c->truncate_next = false;
        len = len / 2 ? len / 2 : 1;
    }
    if ((data && c->q_bytes + len > cap) || c->q_bytes + len > 4 * cap) {
        c->frames_dropped_full++;
        return false;
    }
    out_push(c, out_new(kind, text, len, data), false);
    c->last_sent_us = fx_now_us();
    return true;
}

bool fx_send(struct fx_conn *c, const char *text, size_t len, bool data)
{
    return send_kind(c, FX_OUT_TEXT, text, len, data);
}

void fx_reply(struct fx_conn *c, const char *text, size_t len)
{
    if (c->stalled) {
        c->replies_suppressed++;
        return;
    }
    fx_send(c, text, len, false);
}

void fx_reply_str(struct fx_conn *c, struct fx_str *s)
{
    if (s->len) {
        fx_reply(c, s->p, s->len);
    }
}

/* ---- closing ---- */

bool fx_conn_close(struct fx_conn *c, int code, const char *reason,
                   const char *by)
{
    size_t rlen = reason ? strlen(reason) : 0;
    struct fx_out *o;

    if (!c->open || !c->wsi || c->closing) {
        return false;
    }
    if (rlen > 123) {
        rlen = 123;
    }
    out_free_all(c);
    o = out_new(FX_OUT_CLOSE, reason, rlen, false);
    o->code = code;
    out_push(c, o, true);
    c->closing = true;
    c->close_code = code;
    snprintf(c->closed_by, sizeof c->closed_by, "%s", by);
    /* a client that stopped reading never makes us writeable */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 5);
    fx_log(FX_INFO, "fake.ws", "conn %u (%s): closing with %d (%s)", c->id,
           fx_venue_names[c->venue], code, by);
    return true;
}

void fx_conn_abort(struct fx_conn *c, bool rst, const char *by)
{
    int fd;

    if (!c->open || !c->wsi) {
        return;
    }
    fd = (int)lws_get_socket_fd(c->wsi);
    if (fd >= 0) {
        if (rst) {
            struct linger lg = { .l_onoff = 1, .l_linger = 0 };
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            shutdown(fd, SHUT_RD);
        } else {
            shutdown(fd, SHUT_RDWR);
        }
    }
    out_free_all(c);
    c->closing = true;
    c->close_code = -1;
    snprintf(c->closed_by, sizeof c->closed_by, "%s", by);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    fx_log(FX_INFO, "fake.ws", "conn %u (%s): aborted (%s, %s)", c->id,
           fx_venue_names[c->venue], rst ? "rst" : "fin", by);
}

/* ---- subscriptions ---- */

bool fx_conn_has_sub(const struct fx_conn *c, const char *channel,
                     const char *symbol)
{
    for (size_t i = 0; i < c->nsubs; i++) {
        if (!strcmp(c->subs[i].channel, channel)
            && !strcmp(c->subs[i].symbol, symbol)) {
            return true;
        }
    }
    return false;
}

struct fx_sub *fx_conn_add_sub(struct fx_conn *c, const char *channel,
                               const char *symbol, const char *raw)
{
    struct fx_server *s = c->srv;
    struct fx_sub *sub;

    if (strlen(channel) >= FX_CHAN_LEN || strlen(symbol) >= FX_SYM_LEN) {
        return NULL;
    }
    for (size_t i = 0; i < c->nsubs; i++) {
        if (!strcmp(c->subs[i].channel, channel)
            && !strcmp(c->subs[i].symbol, symbol)) {
            return &c->subs[i];
        }
    }
    if (c->nsubs >= FX_MAX_SUBS) {
        return NULL;
    }
    if (c->nsubs == c->cap_subs) {
        c->cap_subs = c->cap_subs ? c->cap_subs * 2 : 16;
        c->subs = fx_xrealloc(c->subs, c->cap_subs * sizeof *c->subs);
    }
    sub = &c->subs[c->nsubs++];
    memset(sub, 0, sizeof *sub);
    snprintf(sub->channel, sizeof sub->channel, "%s", channel);
    snprintf(sub->symbol, sizeof sub->symbol, "%s", symbol);
    snprintf(sub->raw, sizeof sub->raw, "%s", raw ? raw : symbol);
    sub->last_seq = sub->last_trade_id = -1;
    switch (s->opt.symbols) {
    case FX_SYMBOLS_REWRITE:
        sub->fsym = *symbol ? fx_symmap_assign(s, c->venue, symbol) : -1;
        break;
    case FX_SYMBOLS_EXACT:
        sub->fsym = fx_feed_symbol(&s->feeds[c->venue], symbol);
        break;
    case FX_SYMBOLS_ASIS:
        sub->fsym = -1;
        break;
    }
    return sub;
}

bool fx_conn_del_sub(struct fx_conn *c, const char *channel,
                     const char *symbol)
{
    for (size_t i = 0; i < c->nsubs; i++) {
        if (!strcmp(c->subs[i].channel, channel)
            && !strcmp(c->subs[i].symbol, symbol)) {
            memmove(&c->subs[i], &c->subs[i + 1],
                    (c->nsubs - i - 1) * sizeof *c->subs);
            c->nsubs--;
            return true;
        }
    }
    return false;
}

void fx_conn_start_replay(struct fx_conn *c)
{
    const struct fx_feed *f = &c->srv->feeds[c->venue];

    if (c->replaying) {
        return;
    }
    c->replaying = true;
    c->pos = 0;
    c->loops = 0;
    c->base_us = fx_now_us();
    c->retime_offset_s = (int64_t)floor((double)fx_wall_ms() / 1000.0
                                        - f->t_first_s);
}

void fx_conn_subscribed(struct fx_conn *c)
{
    int64_t now = fx_now_us();

    if (!c->subscribed) {
        c->subscribed = true;
        for (int i = 0; i < FX_MAX_ACTIONS; i++) {
            if (c->actions[i].used && c->actions[i].due_us == 0) {
                c->actions[i].due_us = now + c->actions[i].f.delay_ms * 1000;
            }
        }
    }
    fx_conn_start_replay(c);
}

/* ---- keepalive ---- */

void fx_conn_send_ping(struct fx_conn *c, int64_t timeout_ms,
                       bool close_on_timeout)
{
    int64_t now = fx_now_us();
    int64_t deadline = timeout_ms > 0 ? now + timeout_ms * 1000 : 0;
    struct fx_out *o;
    int n;

    if (!c->open || !c->wsi || c->closing) {
        return;
    }
    if (c->awaiting_pong) {
        /* the previous ping stays unanswered; its deadline still holds */
        c->pings_unanswered++;
        if (c->pong_deadline_us && (!deadline || c->pong_deadline_us < deadline)) {
            deadline = c->pong_deadline_us;
        }
        close_on_timeout = close_on_timeout || c->pong_close;
    }
    if (c->venue == FX_BINANCE) {
        n = snprintf(c->ping_payload, sizeof c->ping_payload, "%lld",
                     (long long)fx_wall_ms());
    } else {
        n = snprintf(c->ping_payload, sizeof c->ping_payload, "fx-ping-%u",
                     ++c->ping_seq);
    }
    o = out_new(FX_OUT_PING, c->ping_payload, (size_t)n, false);
    out_push(c, o, false);
    c->awaiting_pong = true;
    c->ping_sent_us = now;
    c->pong_deadline_us = deadline;
    c->pong_close = close_on_timeout;
    c->pings_sent++;
}

static void on_pong(struct fx_conn *c, const char *payload, size_t len)
{
    c->pongs_received++;
    if (c->awaiting_pong && len == strlen(c->ping_payload)
        && memcmp(payload, c->ping_payload, len) == 0) {
        c->awaiting_pong = false;
        c->pongs_matched++;
        c->last_pong_us = fx_now_us();
    }
}

/* ---- faults ---- */

static void note_fault(struct fx_conn *c, enum fx_fault_kind k)
{
    size_t used = strlen(c->faults_seen);
    const char *name = fx_fault_name(k);

    if (used + strlen(name) + 2 < sizeof c->faults_seen) {
        snprintf(c->faults_seen + used, sizeof c->faults_seen - used, "%s%s",
                 used ? "," : "", name);
    }
}

static bool add_action(struct fx_conn *c, const struct fx_fault *f,
                       int64_t due_us)
{
    for (int i = 0; i < FX_MAX_ACTIONS; i++) {
        if (!c->actions[i].used) {
            c->actions[i].used = true;
            c->actions[i].f = *f;
            c->actions[i].f.delay_ms = 0;
            if (due_us == 0) {
                c->actions[i].f.delay_ms = f->delay_ms;
            }
            c->actions[i].due_us = due_us;
            return true;
        }
    }
    return false;
}

static void resume(struct fx_conn *c)
{
    int64_t now = fx_now_us(), paused;

    if (!c->stalled) {
        return;
    }
    paused = now - c->stall_start_us;
    c->stalled = false;
    c->stall_until_us = 0;
    c->base_us += paused;
    if (c->awaiting_pong) {
        c->ping_sent_us += paused;
        if (c->pong_deadline_us) {
            c->pong_deadline_us += paused;
        }
    }
    c->next_ping_us += paused;
    c->next_hb_us = now;
    c->next_synth_us = now;
    if (c->wsi && c->q_head) {
        lws_callback_on_writable(c->wsi);
    }
}

/* A frame of this venue to cut short: the first replayable one, or the
 * Kraken template. */
static const struct fx_frame *sample_frame(const struct fx_conn *c)
{
    const struct fx_feed *f = &c->srv->feeds[c->venue];

    for (size_t i = 0; i < f->n; i++) {
        if (f->frames[i].channel >= 0) {
            return &f->frames[i];
        }
    }
    f = &c->srv->templates[FX_TPL_KRAKEN_WS];
    return f->n ? &f->frames[0] : NULL;
}

bool fx_fault_apply(struct fx_conn *c, const struct fx_fault *f,
                    const char **err)
{
    const struct fx_venue_ops *ops = fx_venues[c->venue];

    if (!c->open || c->closing) {
        *err = "connection is closing";
        return false;
    }
    switch (f->kind) {
    case FX_F_CLOSE_ABRUPT:
        fx_conn_abort(c, f->rst, "fault");
        break;
    case FX_F_CLOSE_CODE:
        fx_conn_close(c, f->code ? f->code : 1001,
                      f->reason[0] ? f->reason : "fault", "fault");
        break;
    case FX_F_STALL:
        if (!c->stalled) {
            c->stalled = true;
            c->stall_start_us = fx_now_us();
        }
        c->stall_until_us = f->duration_ms > 0
            ? fx_now_us() + f->duration_ms * 1000 : 0;
        break;
    case FX_F_RESUME:
        resume(c);
        c->mute_pongs = false;
        break;
    case FX_F_GARBAGE: {
        const char *t = f->reason[0] ? f->reason : "this is not JSON {{";
        fx_send(c, t, strlen(t), false);
        break;
    }
    case FX_F_TRUNCATED: {
        const struct fx_frame *fr = sample_frame(c);
        if (!fr) {
            *err = "no frame to truncate";
            return false;
        }
        fx_send(c, fr->text, fr->len / 2 ? fr->len / 2 : 1, false);
        break;
    }
    case FX_F_OVERSIZE: {
        size_t n = f->bytes ? f->bytes : 2u * 1024 * 1024;
        char *big;
        if (n < 16) {
            n = 16;
        }
        big = fx_xmalloc(n);
        memset(big, 'x', n);
        memcpy(big, "{\"pad\":\"", 8);
        memcpy(big + n - 2, "\"}", 2);
        bool queued = fx_send(c, big, n, false);
        free(big);
        if (!queued) {
            *err = "send queue full";
            return false;
        }
        break;
    }
    case FX_F_BINARY: {
        static const char bin[] = { 0x00, 0x01, 0x02, (char)0xff, '{', '}' };
        send_kind(c, FX_OUT_BINARY, bin, sizeof bin, false);
        break;
    }
    case FX_F_PING:
        fx_conn_send_ping(c, f->duration_ms > 0 ? f->duration_ms : 5000,
                          f->code != 0);
        break;
    case FX_F_SERVER_SHUTDOWN:
    case FX_F_NOTICE:
        if (!ops->fault || !ops->fault(c, f)) {
            *err = "fault not supported by this venue";
            return false;
        }
        if (f->close_after_ms >= 0) {
            struct fx_fault cl = *f;
            cl.kind = FX_F_CLOSE_CODE;
            cl.code = 1001;
            snprintf(cl.reason, sizeof cl.reason, "%s", "service restart");
            add_action(c, &cl, fx_now_us() + f->close_after_ms * 1000);
        }
        break;
    case FX_F_SEQ_GAP:
        if (c->venue == FX_COINBASE) {
            c->seq_skip += f->n ? f->n : 5;
        } else {
            c->drop_pending += f->n ? f->n : 5;
        }
        break;
    case FX_F_DROP_FRAMES:
        c->drop_pending += f->n ? f->n : 10;
        break;
    case FX_F_MUTE_PONGS:
        c->mute_pongs = true;
        break;
    case FX_F_ROTATE:
        if (fx_now_us() - c->opened_us >= f->age_s * 1000000) {
            fx_conn_close(c, f->code ? f->code : 1001,
                          "connection lifetime exceeded", "rotate");
        }
        break;
    default:
        *err = "not a WebSocket fault";
        return false;
    }
    note_fault(c, f->kind);
    fx_log(FX_INFO, "fake.fault", "conn %u (%s): %s", c->id,
           fx_venue_names[c->venue], fx_fault_name(f->kind));
    return true;
}

static bool is_rest_kind(enum fx_fault_kind k)
{
    return k == FX_F_HTTP_STATUS || k == FX_F_SLOW || k == FX_F_REST_GARBAGE;
}

static bool arm(struct fx_server *s, const struct fx_fault *f)
{
    for (int i = 0; i < FX_MAX_ARMED; i++) {
        if (!s->armed[i].used) {
            s->armed[i].used = true;
            s->armed[i].f = *f;
            s->armed[i].remaining = f->count;
            return true;
        }
    }
    return false;
}

bool fx_armed_take(struct fx_server *s, int v, enum fx_fault_kind kind,
                   struct fx_fault *out)
{
    for (int i = 0; i < FX_MAX_ARMED; i++) {
        struct fx_armed *a = &s->armed[i];
        if (!a->used || !venue_matches(&a->f, (enum fx_venue_id)v)) {
            continue;
        }
        if (kind == FX_F_NONE ? !is_rest_kind(a->f.kind) : a->f.kind != kind) {
            continue;
        }
        *out = a->f;
        if (a->remaining > 0 && --a->remaining == 0) {
            a->used = false;
        }
        return true;
    }
    return false;
}

bool fx_fault_dispatch(struct fx_server *s, const struct fx_fault *f,
                       struct fx_str *out, const char **err)
{
    unsigned applied = 0;
    bool armed = false;

    if (is_rest_kind(f->kind) || f->kind == FX_F_REJECT) {
        if (!arm(s, f)) {
            *err = "too many armed faults";
            return false;
        }
        fx_str_addf(out, "\"applied\":[],\"armed\":true");
        return true;
    }
    fx_str_adds(out, "\"applied\":[");
    if (f->current) {
        int64_t now = fx_now_us();
        for (struct fx_conn *c = s->conns; c; c = c->next) {
            const char *e = NULL;
            if (!venue_matches(f, c->venue) || (f->conn_id && f->conn_id != c->id)
                || c->closing) {
                continue;
            }
            bool ok = f->delay_ms > 0 ? add_action(c, f, now + f->delay_ms * 1000)
                                      : fx_fault_apply(c, f, &e);
            if (!ok) {
                if (e && f->conn_id) {
                    *err = e;
                    return false;
                }
                continue;
            }
            fx_str_addf(out, "%s%u", applied++ ? "," : "", c->id);
        }
    }
    fx_str_adds(out, "]");
    if (f->next) {
        if (!arm(s, f)) {
            *err = "too many armed faults";
            return false;
        }
        armed = true;
    }
    fx_str_addf(out, ",\"armed\":%s", armed ? "true" : "false");
    return true;
}

void fx_faults_clear(struct fx_server *s)
{
    memset(s->armed, 0, sizeof s->armed);
    for (struct fx_conn *c = s->conns; c; c = c->next) {
        resume(c);
        c->mute_pongs = false;
        c->drop_pending = 0;
        c->seq_skip = 0;
        c->truncate_next = false;
        memset(c->actions, 0, sizeof c->actions);
    }
}

/* ---- lws callbacks ---- */

static void uri_with_args(struct lws *wsi, char *buf, size_t size)
{
    char frag[8192];
    size_t used;
    int n;

    buf[0] = '\0';
    if (lws_hdr_copy(wsi, buf, (int)size, WSI_TOKEN_GET_URI) < 0) {
        buf[0] = '\0';
        return;
    }
    for (int i = 0; ; i++) {
        n = lws_hdr_copy_fragment(wsi, frag, sizeof frag,
                                  WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0) {
            break;
        }
        used = strlen(buf);
        if (used + 1 + strlen(frag) < size) {    /* whole arguments only */
            buf[used] = i ? '&' : '?';
            memcpy(buf + used + 1, frag, strlen(frag) + 1);
        }
    }
}

static int ws_filter(struct fx_server *s, struct lws *wsi)
{
    char path[8192];
    struct fx_fault f;
    int v;

    uri_with_args(wsi, path, sizeof path);
    v = fx_venue_for_path(path);
    if (v < 0) {
        fx_log(FX_WARN, "fake.ws", "refused WebSocket on unknown path %s",
               path);
        lws_return_http_status(wsi, 404, NULL);
        return 1;
    }
    if (s->nconns >= FX_MAX_CONNS) {
        fx_log(FX_WARN, "fake.ws", "refused: %d connections open",
               FX_MAX_CONNS);
        lws_return_http_status(wsi, 503, NULL);
        return 1;
    }
    if (fx_armed_take(s, v, FX_F_REJECT, &f)) {
        s->rejected_total[v]++;
        fx_log(FX_INFO, "fake.fault", "%s: rejected a handshake (fault, %d)",
               fx_venue_names[v], f.code ? f.code : 503);
        lws_return_http_status(wsi, f.code ? (unsigned)f.code : 503, NULL);
        return 1;
    }
    return 0;
}

static uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static int ws_established(struct fx_server *s, struct lws *wsi,
                          struct fx_pss *pss)
{
    struct fx_conn *c = fx_xcalloc(1, sizeof *c);
    int64_t now = fx_now_us();
    uint32_t h;

    c->srv = s;
    c->wsi = wsi;
    c->id = ++s->next_conn_id;
    uri_with_args(wsi, c->path, sizeof c->path);
    c->venue = (enum fx_venue_id)fx_venue_for_path(c->path);
    if ((int)c->venue < 0) {
        free(c);
        return -1;
    }
    c->tls = lws_is_ssl(wsi) != 0;
    c->open = true;
    c->opened_us = now;
    c->opened_ms = fx_wall_ms();
    h = mix32(c->id * 2654435761U ^ (uint32_t)s->started_us);
    if (c->venue == FX_OKX) {
        snprintf(c->conn_id, sizeof c->conn_id, "%08x", h);
    } else {
        static const char al[] = "0123456789abcdefghijklmnopqrstuv";
        uint32_t x = h;
        for (int i = 0; i < 26; i++) {
            if (i == 20) {
                c->conn_id[i] = '-';
                continue;
            }
            x = mix32(x + (uint32_t)i);
            c->conn_id[i] = al[x & 31];
        }
        c->conn_id[26] = '\0';
    }
    c->kraken_conn_id = 0x8000000000000000ULL | ((uint64_t)h << 20) | c->id;
    for (int i = 0; i < FX_FEED_SYMBOLS; i++) {
        c->last_trade_frame[i] = c->last_book_frame[i] = -1;
    }
    c->next_ping_us = now + s->opt.ping_interval_ms * 1000;
    c->next_hb_us = now + s->opt.heartbeat_ms * 1000;
    c->next_synth_us = now;
    c->rate_window_us = now;

    /* faults armed for the next connections of this venue */
    for (int i = 0; i < FX_MAX_ARMED; i++) {
        struct fx_armed *a = &s->armed[i];
        if (!a->used || !a->f.next || a->f.kind == FX_F_REJECT
            || is_rest_kind(a->f.kind) || !venue_matches(&a->f, c->venue)) {
            continue;
        }
        add_action(c, &a->f, 0);
        if (a->remaining > 0 && --a->remaining == 0) {
            a->used = false;
        }
    }

    c->next = s->conns;
    s->conns = c;
    s->nconns++;
    s->conns_total[c->venue]++;
    pss->conn = c;
    fx_log(FX_INFO, "fake.ws", "conn %u (%s): open %s%s", c->id,
           fx_venue_names[c->venue], c->path, c->tls ? " (tls)" : "");
    if (fx_venues[c->venue]->opened) {
        fx_venues[c->venue]->opened(c);
    }
    return 0;
}

static void record_msg(struct fx_conn *c, const char *text, size_t len,
                       bool binary)
{
    struct fx_msg *m = &c->msgs[c->msgs_total % FX_MSG_RING];
    size_t keep = len < FX_MSG_KEEP_BYTES ? len : FX_MSG_KEEP_BYTES;

    free(m->text);
    m->t_ms = fx_wall_ms();
    m->len = len;
    if (binary) {
        char tmp[64];
        int n = snprintf(tmp, sizeof tmp, "<binary %zu bytes>", len);
        m->text = fx_xstrndup(tmp, (size_t)n);
    } else {
        m->text = fx_xstrndup(text, keep);
    }
    c->msgs_total++;
}

/* Count one client message against the per-second rate; true when the
 * connection must be closed for exceeding Binance's limit. */
static bool count_rate(struct fx_conn *c)
{
    int64_t now = fx_now_us();

    if (now - c->rate_window_us >= 1000000) {
        c->rate_window_us = now;
        c->rate_count = 0;
    }
    c->rate_count++;
    if (c->rate_count > c->max_rate) {
        c->max_rate = c->rate_count;
    }
    return c->srv->opt.enforce_rate_limit && c->venue == FX_BINANCE
           && c->rate_count > 5;
}

static int ws_receive(struct fx_conn *c, struct lws *wsi, const char *in,
                      size_t len)
{
    bool binary = lws_frame_is_binary(wsi) != 0;

    if (!c) {
        return 0;
    }
    if (lws_is_first_fragment(wsi)) {
        c->rx_len = 0;
        c->rx_overflow = false;
    }
    if (!c->rx) {
        c->rx = fx_xmalloc(FX_RX_MAX + 1);
    }
    if (c->rx_len + len > FX_RX_MAX) {
        c->rx_overflow = true;
    } else {
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
    }
    if (!lws_is_final_fragment(wsi)) {
        return 0;
    }
    c->rx[c->rx_len] = '\0';
    record_msg(c, c->rx, c->rx_len, binary);
    if (c->rx_overflow) {
        c->oversize_client_msgs++;
        fx_conn_close(c, 1009, "message too big", "server");
        return 0;
    }
    if (count_rate(c)) {
        fx_conn_close(c, 1008, "Too many requests", "rate-limit");
        return 0;
    }
    if (c->closing) {
        return 0;
    }
    if (binary) {
        return 0;
    }
    fx_venues[c->venue]->message(c, c->rx, c->rx_len);
    return 0;
}

static int ws_writeable(struct fx_conn *c, struct lws *wsi)
{
    struct fx_out *o;
    int n;

    if (!c || !c->q_head) {
        return 0;
    }
    if (c->stalled && c->q_head->kind != FX_OUT_CLOSE) {
        return 0;
    }
    o = c->q_head;
    c->q_head = o->next;
    if (!c->q_head) {
        c->q_tail = NULL;
    }
    c->q_bytes -= o->len;
    c->q_len--;
    if (o->kind == FX_OUT_CLOSE) {
        lws_close_reason(wsi, (enum lws_close_status)o->code,
                         o->buf + LWS_PRE, o->len);
        free(o);
        return -1;
    }
    n = lws_write(wsi, o->buf + LWS_PRE, o->len,
                  o->kind == FX_OUT_TEXT ? LWS_WRITE_TEXT
                  : o->kind == FX_OUT_BINARY ? LWS_WRITE_BINARY
                  : LWS_WRITE_PING);
    if (n < (int)o->len) {
        fx_log(FX_WARN, "fake.ws", "conn %u: write failed", c->id);
        free(o);
        return -1;
    }
    if (o->kind != FX_OUT_PING) {
        c->frames_sent++;
        c->bytes_sent += o->len;
        if (o->data) {
            c->data_frames_sent++;
        }
    }
    free(o);
    if (c->q_head) {
        lws_callback_on_writable(wsi);
    }
    return 0;
}

static void conn_free(struct fx_conn *c)
{
    if (!c) {
        return;
    }
    out_free_all(c);
    for (int i = 0; i < FX_MSG_RING; i++) {
        free(c->msgs[i].text);
    }
    free(c->subs);
    free(c->rx);
    free(c);
}

static void ws_closed(struct fx_server *s, struct fx_conn *c)
{
    struct fx_conn **pp;

    if (!c) {
        return;
    }
    for (pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            s->nconns--;
            break;
        }
    }
    c->open = false;
    c->wsi = NULL;
    c->closed_us = fx_now_us();
    if (!c->closed_by[0]) {
        snprintf(c->closed_by, sizeof c->closed_by, "%s",
                 c->close_code > 0 ? "client" : "client-abrupt");
        if (c->close_code == 0) {
            c->close_code = -1;
        }
    }
    out_free_all(c);
    free(c->rx);
    c->rx = NULL;
    fx_log(FX_INFO, "fake.ws", "conn %u (%s): closed by %s, code %d, "
           "%llu frames sent", c->id, fx_venue_names[c->venue], c->closed_by,
           c->close_code, (unsigned long long)c->frames_sent);
    c->next = s->history;
    s->history = c;
    if (++s->nhistory > FX_MAX_HISTORY) {
        struct fx_conn *h = s->history;
        while (h->next && h->next->next) {
            h = h->next;
        }
        conn_free(h->next);
        h->next = NULL;
        s->nhistory--;
    }
}

int fx_main_callback(struct lws *wsi, enum lws_callback_reasons reason,
                     void *user, void *in, size_t len)
{
    struct fx_pss *pss = user;
    struct fx_server *s = srv_of(wsi);

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return ws_filter(s, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        return ws_established(s, wsi, pss);
    case LWS_CALLBACK_RECEIVE:
        return ws_receive(pss->conn, wsi, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        if (pss->conn) {
            on_pong(pss->conn, in, len);
            if (count_rate(pss->conn)) {
                fx_conn_close(pss->conn, 1008, "Too many requests",
                              "rate-limit");
            }
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(pss->conn, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (pss->conn && !pss->conn->closed_by[0]) {
            const unsigned char *p = in;
            pss->conn->close_code = len >= 2 ? (p[0] << 8 | p[1]) : 1005;
            snprintf(pss->conn->closed_by, sizeof pss->conn->closed_by,
                     "client");
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        ws_closed(s, pss->conn);
        pss->conn = NULL;
        return 0;
    default:
        return fx_rest_callback(wsi, reason, user, in, len);
    }
}

/* ---- periodic work ---- */

static void replay_step(struct fx_conn *c, int64_t now)
{
    const struct fx_server *s = c->srv;
    const struct fx_feed *f = &s->feeds[c->venue];

    if (!c->replaying || f->n == 0) {
        return;
    }
    for (int budget = 512; budget > 0 && !c->closing; budget--) {
        const struct fx_frame *fr = &f->frames[c->pos];
        double rel = fr->t_s - f->t_first_s + c->loops * f->period_s;
        int64_t due = c->base_us + (int64_t)(rel / s->opt.speed * 1e6);
        if (due > now) {
            break;
        }
        fx_venues[c->venue]->frame(c, fr);
        if (++c->pos >= f->n) {
            c->pos = 0;
            c->loops++;
            c->retime_offset_s += (int64_t)f->period_s;
            if (!s->opt.loop) {
                c->replaying = false;
                break;
            }
        }
    }
}

static int64_t subscribe_timeout_ms(const struct fx_conn *c)
{
    if (c->srv->opt.subscribe_timeout_ms >= 0) {
        return c->srv->opt.subscribe_timeout_ms;
    }
    return fx_venues[c->venue]->subscribe_timeout_ms;
}

static void conn_tick(struct fx_conn *c, int64_t now)
{
    const struct fx_options *o = &c->srv->opt;
    const struct fx_venue_ops *ops = fx_venues[c->venue];
    int64_t synth_us = (int64_t)(1e6 / o->speed);
    const char *err = NULL;

    for (int i = 0; i < FX_MAX_ACTIONS && !c->closing; i++) {
        struct fx_action *a = &c->actions[i];
        if (a->used && a->due_us && a->due_us <= now) {
            struct fx_fault f = a->f;
            a->used = false;
            fx_fault_apply(c, &f, &err);
        }
    }
    if (c->closing) {
        return;
    }
    if (c->stalled && c->stall_until_us && now >= c->stall_until_us) {
        resume(c);
    }
    if (c->stalled) {
        return;
    }
    if (o->max_conn_age_s > 0 && now - c->opened_us >= o->max_conn_age_s * 1000000) {
        fx_conn_close(c, 1001, "connection lifetime exceeded", "max-conn-age");
        return;
    }
    if (!c->subscribed && subscribe_timeout_ms(c) > 0
        && now - c->opened_us >= subscribe_timeout_ms(c) * 1000) {
        fx_conn_close(c, 1008, "no subscription", "subscribe-timeout");
        return;
    }
    if (c->awaiting_pong && c->pong_deadline_us && now >= c->pong_deadline_us) {
        c->awaiting_pong = false;
        c->pings_unanswered++;
        if (c->pong_close) {
            fx_conn_close(c, 1008, "pong timeout", "pong-timeout");
            return;
        }
    }
    if (c->venue == FX_BINANCE && o->ping_interval_ms > 0
        && now >= c->next_ping_us) {
        fx_conn_send_ping(c, o->pong_timeout_ms, o->pong_timeout_ms > 0);
        c->next_ping_us += o->ping_interval_ms * 1000;
        if (c->next_ping_us < now) {
            c->next_ping_us = now + o->ping_interval_ms * 1000;
        }
    }
    if (o->heartbeat_ms > 0 && now >= c->next_hb_us) {
        if (ops->heartbeat) {
            ops->heartbeat(c);
        }
        c->next_hb_us += o->heartbeat_ms * 1000;
        if (c->next_hb_us < now) {
            c->next_hb_us = now + o->heartbeat_ms * 1000;
        }
    }
    if (now >= c->next_synth_us) {
        if (ops->synth && c->subscribed) {
            ops->synth(c);
        }
        c->next_synth_us = now + synth_us;
    }
    replay_step(c, now);
}

void fx_tick(struct fx_server *s, int64_t now_us)
{
    for (struct fx_conn *c = s->conns; c; c = c->next) {
        if (c->open) {
            conn_tick(c, now_us);
        }
    }
    fx_http_tick(s, now_us);
}

void fx_history_clear(struct fx_server *s)
{
    while (s->history) {
        struct fx_conn *c = s->history;
        s->history = c->next;
        conn_free(c);
    }
    s->nhistory = 0;
    for (struct fx_conn *c = s->conns; c; c = c->next) {
        for (int i = 0; i < FX_MSG_RING; i++) {
            free(c->msgs[i].text);
            c->msgs[i].text = NULL;
        }
        c->msgs_total = 0;
    }
}

void fx_conns_free(struct fx_server *s)
{
    while (s->conns) {
        struct fx_conn *c = s->conns;
        s->conns = c->next;
        conn_free(c);
    }
    while (s->history) {
        struct fx_conn *c = s->history;
        s->history = c->next;
        conn_free(c);
    }
    s->nconns = s->nhistory = 0;
}
