/* The HTTP endpoint: a plain-HTTP lws vhost on the loop's context that
 * answers /metrics, /healthz, /api/prices and /api/alerts from memory,
 * bounded in clients, header size and time, so a slow or hostile client
 * costs a connection slot for a few seconds and nothing more. */
#include "cryptosup/http_server.h"

#include <stdlib.h>
#include <string.h>

#include "connectors/loop_internal.h"
#include "cryptosup/config.h"
#include "cryptosup/jsonw.h"
#include "cryptosup/log.h"

#define LOG_HTTPD "metrics.http"
#define DEFAULT_MAX_CLIENTS 64
#define CHUNK_BYTES 16384
#define HEADER_TIMEOUT_S 5     /* request headers must arrive within this */
#define RESPONSE_TIMEOUT_S 10  /* a response must be taken within this */
#define IDLE_TIMEOUT_S 5       /* keep-alive connection with no request */

struct session;

struct cs_http_server {
    struct cs_loop *loop;
    struct lws_vhost *vhost;
    struct cs_http_server_options opt;
    char listen[128];                  /* as configured */
    char host[64];                     /* "" : all interfaces */
    int port;                          /* bound port */
    unsigned nclients;
    struct session *sessions;          /* every open connection */
    unsigned char chunk[LWS_PRE + CHUNK_BYTES];   /* write staging */
};

/* One client connection; its response is built whole, then written in
 * chunks from HTTP_WRITEABLE. */
struct session {
    struct cs_http_server *srv;        /* NULL once the server is gone */
    struct lws *wsi;
    struct session *prev, *next;
    char *body;                        /* response body, malloc'd */
    size_t len, off;                   /* bytes in body, bytes written */
    bool close_after;                  /* close once the response is out */
};

static struct session *session_new(struct cs_http_server *srv,
                                   struct lws *wsi)
{
    struct session *s;
    char peer[64];

    if (srv->nclients >= srv->opt.max_clients) {
        lws_get_peer_simple(wsi, peer, sizeof peer);
        cs_log_limited(CS_LOG_WARN, LOG_HTTPD, "too-many-clients",
                       "%u clients already connected; refusing %s",
                       srv->nclients, peer);
        return NULL;
    }
    s = cs_xcalloc(1, sizeof *s);
    s->srv = srv;
    s->wsi = wsi;
    s->next = srv->sessions;
    if (srv->sessions) {
        srv->sessions->prev = s;
    }
    srv->sessions = s;
    srv->nclients++;
    lws_set_opaque_user_data(wsi, s);
    /* Until the request headers are in (lws clears it when they are). */
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE,
                    HEADER_TIMEOUT_S);
    return s;
}

static void session_unlink(struct session *s)
{
    struct cs_http_server *srv = s->srv;
    if (srv == NULL) {
        return;
    }
    if (s->prev) {
        s->prev->next = s->next;
    } else {
        srv->sessions = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    srv->nclients--;
    s->srv = NULL;
}

static void session_free(struct session *s)
{
    session_unlink(s);
    lws_set_opaque_user_data(s->wsi, NULL);
    free(s->body);
    free(s);
}

/* The response to a GET of `path`: status, content type, body (owned). */
struct response {
    unsigned status;
    const char *type;
    char *body;
    size_t len;
};

static void text_response(struct response *r, unsigned status,
                          const char *text)
{
    r->status = status;
    r->type = "text/plain; charset=utf-8";
    r->len = strlen(text);
    r->body = cs_xmalloc(r->len + 1);
    memcpy(r->body, text, r->len + 1);
}

static void json_response(struct response *r, struct cs_jsonw *w)
{
    r->status = 200;
    r->type = "application/json";
    r->body = w->buf;        /* taken over from the writer */
    r->len = w->len;
    w->buf = NULL;
    w->len = w->cap = 0;
}

static void route(struct cs_http_server *srv, const char *path,
                  struct response *r)
{
    struct cs_jsonw w;

    if (strcmp(path, "/metrics") == 0) {
        r->status = 200;
        r->type = "text/plain; version=0.0.4; charset=utf-8";
        r->body = cs_metrics_render(srv->opt.metrics, &r->len);
    } else if (strcmp(path, "/healthz") == 0) {
        char reason[256], line[272];
        reason[0] = '\0';
        if (srv->opt.health == NULL ||
            srv->opt.health(srv->opt.health_ctx, reason, sizeof reason)) {
            text_response(r, 200, "ok\n");
        } else {
            snprintf(line, sizeof line, "%s\n",
                     reason[0] ? reason : "unhealthy");
            text_response(r, 503, line);
        }
    } else if (strcmp(path, "/api/prices") == 0) {
        cs_jsonw_init(&w);
        cs_engine_prices_json(srv->opt.engine, &w);
        json_response(r, &w);
        cs_jsonw_cleanup(&w);
    } else if (strcmp(path, "/api/alerts") == 0) {
        cs_jsonw_init(&w);
        cs_engine_alerts_json(srv->opt.engine, &w);
        json_response(r, &w);
        cs_jsonw_cleanup(&w);
    } else {
        cs_log_limited(CS_LOG_INFO, LOG_HTTPD, "not-found",
                       "404 for %.100s", path);
        text_response(r, 404, "not found\n");
    }
}

/* Send the status line and headers now; the body follows from
 * HTTP_WRITEABLE. Nonzero: close the connection. */
static int start_response(struct session *s, struct lws *wsi,
                          struct response *r, bool allow_header)
{
    unsigned char *start = s->srv->chunk + LWS_PRE;
    unsigned char *p = start;
    unsigned char *end = s->srv->chunk + sizeof s->srv->chunk - 1;

    free(s->body);
    s->body = r->body;
    s->len = r->len;
    s->off = 0;
    r->body = NULL;
    if (lws_add_http_common_headers(wsi, r->status, r->type, s->len, &p,
                                    end) != 0 ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)
                                    "cache-control:",
                                    (const unsigned char *)"no-store", 8,
                                    &p, end) != 0 ||
        (allow_header &&
         lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
                                     (const unsigned char *)"GET", 3, &p,
                                     end) != 0) ||
        lws_finalize_write_http_header(wsi, start, &p, end) != 0) {
        return -1;
    }
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, RESPONSE_TIMEOUT_S);
    lws_callback_on_writable(wsi);
    return 0;
}

static int on_request(struct session *s, struct lws *wsi, const char *path)
{
    struct response r;
    bool is_get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;

    memset(&r, 0, sizeof r);
    if (!is_get) {
        cs_log_limited(CS_LOG_INFO, LOG_HTTPD, "method-not-allowed",
                       "405 for a request other than GET (%.100s)", path);
        text_response(&r, 405, "method not allowed\n");
        s->close_after = true;   /* a request body may follow; not read */
        return start_response(s, wsi, &r, true);
    }
    route(s->srv, path, &r);
    if (r.body == NULL) {
        text_response(&r, 500, "internal error\n");
    }
    return start_response(s, wsi, &r, false);
}

static int write_body(struct session *s, struct lws *wsi)
{
    struct cs_http_server *srv = s->srv;
    size_t n = s->len - s->off;
    bool final;

    if (n > CHUNK_BYTES) {
        n = CHUNK_BYTES;
    }
    final = s->off + n == s->len;
    memcpy(srv->chunk + LWS_PRE, s->body + s->off, n);
    if (lws_write(wsi, srv->chunk + LWS_PRE, n,
                  final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n) {
        return -1;
    }
    s->off += n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    free(s->body);
    s->body = NULL;
    s->len = s->off = 0;
    if (s->close_after || lws_http_transaction_completed(wsi)) {
        return -1;
    }
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE, IDLE_TIMEOUT_S);
    return 0;
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason,
                         void *user, void *in, size_t len)
{
    struct session *s = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    struct cs_http_server *srv = NULL;
    char path[256];

    (void)user;
    switch (reason) {
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        srv = lws_get_vhost_user(lws_get_vhost(wsi));
        if (s == NULL && srv && session_new(srv, wsi) == NULL) {
            return -1;
        }
        break;
    case LWS_CALLBACK_HTTP:
        if (s == NULL) {
            srv = lws_get_vhost_user(lws_get_vhost(wsi));
            if (srv == NULL || (s = session_new(srv, wsi)) == NULL) {
                return -1;
            }
        }
        if (s->srv == NULL) {
            return -1;   /* the server is shutting down */
        }
        snprintf(path, sizeof path, "%.*s", (int)(len < 255 ? len : 255),
                 in ? (const char *)in : "");
        return on_request(s, wsi, path);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (s == NULL || s->srv == NULL || s->body == NULL) {
            return s && s->srv ? 0 : -1;
        }
        return write_body(s, wsi);
    case LWS_CALLBACK_HTTP_BODY:
        return 0;   /* only GET is served; a body is ignored */
    case LWS_CALLBACK_WSI_DESTROY:
        if (s) {
            session_free(s);
        }
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols http_protocols[] = {
    { "cs-http", http_callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

struct cs_http_server *cs_http_server_new(struct cs_loop *loop,
                                          const struct cs_http_server_options *opt)
{
    struct cs_http_server *srv = cs_xcalloc(1, sizeof *srv);
    struct lws_context_creation_info info;
    int port = 0;

    srv->loop = loop;
    srv->opt = *opt;
    if (srv->opt.max_clients == 0) {
        srv->opt.max_clients = DEFAULT_MAX_CLIENTS;
    }
    snprintf(srv->listen, sizeof srv->listen, "%s", opt->listen);
    if (strlen(opt->listen) >= sizeof srv->listen ||
        !cs_config_parse_listen(opt->listen, srv->host, sizeof srv->host,
                                &port)) {
        cs_log_error(LOG_HTTPD, "cannot use listen address \"%s\"",
                     opt->listen);
        free(srv);
        return NULL;
    }
    memset(&info, 0, sizeof info);
    info.vhost_name = "cs-http";
    info.port = port;
    info.iface = srv->host[0] ? srv->host : NULL;
    info.protocols = http_protocols;
    info.user = srv;
    /* No LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT here: a vhost only does TLS
     * when its own options ask for it, and this one serves plain HTTP. */
    info.options = 0;
    info.keepalive_timeout = IDLE_TIMEOUT_S;
    info.timeout_secs = HEADER_TIMEOUT_S;
    info.timeout_secs_ah_idle = HEADER_TIMEOUT_S;   /* partial headers */
    srv->vhost = lws_create_vhost(loop->lws, &info);
    if (srv->vhost == NULL) {
        cs_log_error(LOG_HTTPD, "cannot listen on %s (address in use, or the "
                     "host is not a local IP address)", opt->listen);
        free(srv);
        return NULL;
    }
    srv->port = lws_get_vhost_listen_port(srv->vhost);
    cs_log_info(LOG_HTTPD, "listening on http://%s:%d (/metrics, /healthz, "
                "/api/prices, /api/alerts)",
                srv->host[0] ? srv->host : "0.0.0.0", srv->port);
    return srv;
}

int cs_http_server_port(const struct cs_http_server *s)
{
    return s->port;
}

const char *cs_http_server_listen(const struct cs_http_server *s)
{
    return s->listen;
}

void cs_http_server_free(struct cs_http_server *srv)
{
    if (srv == NULL) {
        return;
    }
    /* Open connections outlive us briefly: detach them and have lws close
     * them on its next pass; their sessions go at WSI_DESTROY. */
    while (srv->sessions) {
        struct session *s = srv->sessions;
        session_unlink(s);
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
    lws_vhost_destroy(srv->vhost);
    free(srv);
}
