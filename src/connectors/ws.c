/* WebSocket client glue for libwebsockets: connect from a URL, reassemble
 * fragmented frames up to a cap, queue outgoing text, and turn lws's many
 * ways of ending a connection into exactly one `closed` event. */
#include "cryptosup/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/loop_internal.h"
#include "cryptosup/err.h"
#include "cryptosup/log.h"
#include "cryptosup/timeutil.h"

#define LOG_WS "conn.ws"
#define SEND_QUEUE_MAX 64
#define URL_MAX 2048

struct outgoing {
    unsigned char *buf;   /* LWS_PRE bytes of headroom, then the text */
    size_t len;
};

struct cs_ws {
    struct lws *wsi;
    struct cs_ws_events ev;
    void *ctx;
    char *rx;                     /* frame being reassembled */
    size_t rx_len, rx_cap, rx_max;
    bool rx_dropping;             /* current frame exceeded the cap */
    size_t rx_dropped;            /* its size so far */
    struct outgoing queue[SEND_QUEUE_MAX];
    size_t q_head, q_len;
    bool closing;                 /* we asked to close */
    bool in_connect;              /* inside lws_client_connect_via_info */
    bool failed_in_connect;       /* it ended before we returned */
    bool opened;
    int peer_close_code;          /* from the peer's close frame, 0: none */
    char peer_close_reason[124];
    char host[256], path[URL_MAX];
};

static void free_queue(struct cs_ws *ws)
{
    while (ws->q_len > 0) {
        free(ws->queue[ws->q_head].buf);
        ws->q_head = (ws->q_head + 1) % SEND_QUEUE_MAX;
        ws->q_len--;
    }
}

/* The single end of a connection: report, detach from lws, free. */
static void finish(struct cs_ws *ws, int code, const char *why)
{
    if (ws->wsi) {
        lws_set_opaque_user_data(ws->wsi, NULL);
    }
    if (ws->in_connect) {
        /* The caller has no handle yet: cs_ws_connect reports it. */
        ws->failed_in_connect = true;
        cs_log_limited(CS_LOG_WARN, LOG_WS, "connect-failed", "%s: %s",
                       ws->host, why);
        return;
    }
    if (ws->ev.closed) {
        ws->ev.closed(ws->ctx, code, why);
    }
    free_queue(ws);
    free(ws->rx);
    free(ws);
}

static void rx_append(struct cs_ws *ws, const char *data, size_t len)
{
    if (ws->rx_dropping) {
        ws->rx_dropped += len;
        return;
    }
    if (ws->rx_len + len > ws->rx_max) {
        ws->rx_dropping = true;
        ws->rx_dropped = ws->rx_len + len;
        ws->rx_len = 0;
        return;
    }
    if (ws->rx_len + len > ws->rx_cap) {
        size_t cap = ws->rx_cap ? ws->rx_cap : 4096;
        while (cap < ws->rx_len + len) {
            cap *= 2;
        }
        if (cap > ws->rx_max) {
            cap = ws->rx_max;
        }
        ws->rx = cs_xrealloc(ws->rx, cap);
        ws->rx_cap = cap;
    }
    memcpy(ws->rx + ws->rx_len, data, len);
    ws->rx_len += len;
}

static void rx_deliver(struct cs_ws *ws, struct lws *wsi)
{
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi)) {
        return;
    }
    if (ws->rx_dropping) {
        if (ws->ev.oversize) {
            ws->ev.oversize(ws->ctx, ws->rx_dropped);
        }
        ws->rx_dropping = false;
        ws->rx_dropped = 0;
    } else if (!ws->closing && ws->ev.frame) {
        ws->ev.frame(ws->ctx, ws->rx ? ws->rx : "", ws->rx_len,
                     cs_time_now_ns());
    }
    ws->rx_len = 0;
}

static int write_next(struct cs_ws *ws, struct lws *wsi)
{
    struct outgoing *o;
    int n;

    if (ws->closing) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL,
                         (unsigned char *)"bye", 3);
        return -1;   /* lws sends the close frame and ends the connection */
    }
    if (ws->q_len == 0) {
        return 0;
    }
    o = &ws->queue[ws->q_head];
    n = lws_write(wsi, o->buf + LWS_PRE, o->len, LWS_WRITE_TEXT);
    free(o->buf);
    ws->q_head = (ws->q_head + 1) % SEND_QUEUE_MAX;
    ws->q_len--;
    if (n < (int)o->len) {
        cs_log_warn(LOG_WS, "%s: write failed; closing", ws->host);
        return -1;
    }
    if (ws->q_len > 0) {
        lws_callback_on_writable(wsi);
    }
    return 0;
}

static void note_peer_close(struct cs_ws *ws, const unsigned char *in,
                            size_t len)
{
    if (len >= 2) {
        ws->peer_close_code = (in[0] << 8) | in[1];
        snprintf(ws->peer_close_reason, sizeof ws->peer_close_reason, "%.*s",
                 (int)(len - 2 < 120 ? len - 2 : 120), (const char *)in + 2);
    } else {
        ws->peer_close_code = 1005;   /* close frame without a code */
    }
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
                       void *user, void *in, size_t len)
{
    struct cs_ws *ws = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    char why[160];

    (void)user;
    if (ws == NULL) {
        return 0;
    }
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        snprintf(why, sizeof why, "%s", in ? (const char *)in : "failed");
        finish(ws, -1, why);
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        ws->opened = true;
        if (ws->ev.opened) {
            ws->ev.opened(ws->ctx);
        }
        if (ws->q_len > 0 || ws->closing) {
            lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        rx_append(ws, in, len);
        rx_deliver(ws, wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return write_next(ws, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        note_peer_close(ws, in, len);
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (ws->peer_close_code) {
            snprintf(why, sizeof why, "closed by peer (%d%s%s)",
                     ws->peer_close_code, ws->peer_close_reason[0] ? ": " : "",
                     ws->peer_close_reason);
        } else {
            snprintf(why, sizeof why, "%s", ws->closing ? "closed"
                                                        : "connection lost");
        }
        finish(ws, ws->peer_close_code, why);
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        /* Ended without CLOSED (e.g. during the handshake). */
        finish(ws, ws->opened ? 0 : -1, "connection ended");
        break;
    default:
        break;
    }
    return 0;
}

const struct lws_protocols cs_ws_protocols[] = {
    { "cs-ws", ws_callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

struct cs_ws *cs_ws_connect(struct cs_loop *loop, const char *url,
                            size_t max_frame_bytes,
                            const struct cs_ws_events *ev, void *ctx)
{
    struct lws_client_connect_info ci;
    struct cs_ws *ws;
    char copy[URL_MAX];
    const char *scheme = NULL, *address = NULL, *path = NULL;
    int port = 0;

    if (strlen(url) >= sizeof copy) {
        cs_log_error(LOG_WS, "URL too long");
        return NULL;
    }
    strcpy(copy, url);
    if (lws_parse_uri(copy, &scheme, &address, &port, &path) != 0 ||
        (strcmp(scheme, "ws") != 0 && strcmp(scheme, "wss") != 0) ||
        address[0] == '\0') {
        cs_log_error(LOG_WS, "cannot use URL %s (expected ws:// or "
                     "wss://host[:port]/path)", url);
        return NULL;
    }
    ws = cs_xcalloc(1, sizeof *ws);
    ws->ev = *ev;
    ws->ctx = ctx;
    ws->rx_max = max_frame_bytes;
    snprintf(ws->host, sizeof ws->host, "%s", address);
    /* lws_parse_uri drops the path's leading slash. */
    snprintf(ws->path, sizeof ws->path, "/%s", path);
    memset(&ci, 0, sizeof ci);
    ci.context = loop->lws;
    ci.address = ws->host;
    ci.port = port;
    ci.path = ws->path;
    ci.host = ws->host;
    ci.origin = ws->host;
    ci.ssl_connection = strcmp(scheme, "wss") == 0 ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = cs_ws_protocols[0].name;
    ci.ietf_version_or_minus_one = -1;
    ci.opaque_user_data = ws;
    ci.pwsi = &ws->wsi;
    ws->in_connect = true;
    if (lws_client_connect_via_info(&ci) == NULL || ws->failed_in_connect) {
        if (ws->wsi) {
            lws_set_opaque_user_data(ws->wsi, NULL);
        }
        if (!ws->failed_in_connect) {
            /* Each attempt is logged by its connector; fold repeats. */
            cs_log_limited(CS_LOG_WARN, LOG_WS, "connect-start",
                           "cannot start a connection to %s", url);
        }
        free(ws);
        return NULL;
    }
    ws->in_connect = false;
    return ws;
}

bool cs_ws_send(struct cs_ws *ws, const char *text, size_t len)
{
    struct outgoing *o;

    if (ws->closing || ws->q_len == SEND_QUEUE_MAX) {
        return false;
    }
    o = &ws->queue[(ws->q_head + ws->q_len) % SEND_QUEUE_MAX];
    o->buf = cs_xmalloc(LWS_PRE + len);
    memcpy(o->buf + LWS_PRE, text, len);
    o->len = len;
    ws->q_len++;
    if (ws->opened && ws->wsi) {
        lws_callback_on_writable(ws->wsi);
    }
    return true;
}

void cs_ws_close(struct cs_ws *ws)
{
    if (ws->closing) {
        return;
    }
    ws->closing = true;
    if (ws->wsi) {
        lws_callback_on_writable(ws->wsi);
    }
}

void cs_ws_abandon(struct cs_ws *ws)
{
    memset(&ws->ev, 0, sizeof ws->ev);
    ws->ctx = NULL;
    cs_ws_close(ws);
}
