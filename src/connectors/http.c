/* HTTP GET on the loop: curl's multi_socket API, one uv_poll_t per socket
 * curl opens and one timer; every finished transfer is reported exactly
 * once, unless its owner cancelled it. */
#include "cryptosup/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "connectors/loop_internal.h"
#include "cryptosup/log.h"

#define LOG_HTTP "conn.http"
#define MAX_REDIRS 3

/* One socket curl asked us to watch. Freed when its handle has closed. */
struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct cs_http *h;
    struct sock *prev, *next;     /* h->socks */
};

struct cs_http_req {
    struct cs_http *h;
    CURL *easy;
    cs_http_done_fn done;
    void *ctx;
    char *body;                   /* cap + 1 bytes: room for the NUL */
    size_t len, cap;
    bool too_large;
    char errbuf[CURL_ERROR_SIZE];
    struct cs_http_req *prev, *next;   /* h->reqs */
};

/* Loop thread only. */
struct cs_http {
    struct cs_loop *loop;         /* NULL once torn down */
    CURLM *multi;
    struct cs_timer *timer;       /* curl's single timeout */
    struct sock *socks;
    struct cs_http_req *reqs;
    size_t in_flight;
    unsigned max_in_flight;
    size_t max_body;
    long connect_timeout_ms, timeout_ms;
    char *ca_file;
    bool dispatching;             /* inside a `done` call */
    char user_agent[48];
};

static void collect_done(struct cs_http *h);

const char *cs_http_fail_name(enum cs_http_fail fail)
{
    switch (fail) {
    case CS_HTTP_OK: return "ok";
    case CS_HTTP_TIMEOUT: return "timeout";
    case CS_HTTP_CONNECT: return "connect";
    case CS_HTTP_TLS: return "tls";
    case CS_HTTP_TOO_LARGE: return "too large";
    case CS_HTTP_OTHER: break;
    }
    return "other";
}

/* ---- sockets and the timer, as curl asks ---- */

static void sock_closed(uv_handle_t *handle)
{
    free(handle->data);
}

static void sock_close(struct sock *s)
{
    struct cs_http *h = s->h;

    if (s->prev) {
        s->prev->next = s->next;
    } else {
        h->socks = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static void socket_action(struct cs_http *h, curl_socket_t fd, int flags)
{
    int running = 0;
    CURLMcode rc = curl_multi_socket_action(h->multi, fd, flags, &running);

    if (rc != CURLM_OK) {
        cs_log_limited(CS_LOG_WARN, LOG_HTTP, "socket-action",
                       "curl_multi_socket_action: %s",
                       curl_multi_strerror(rc));
    }
    collect_done(h);
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
    struct sock *s = poll->data;
    int flags = 0;

    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        flags |= (events & UV_READABLE) ? CURL_CSELECT_IN : 0;
        flags |= (events & UV_WRITABLE) ? CURL_CSELECT_OUT : 0;
    }
    socket_action(s->h, s->fd, flags);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp)
{
    struct cs_http *h = userp;
    struct sock *s = socketp;
    int events = 0;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(h->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (s == NULL) {
        s = cs_xcalloc(1, sizeof *s);
        if (uv_poll_init_socket(&h->loop->uv, &s->poll, fd) != 0) {
            cs_log_warn(LOG_HTTP, "cannot watch socket %d", (int)fd);
            free(s);
            return -1;   /* curl fails the transfer */
        }
        s->poll.data = s;
        s->fd = fd;
        s->h = h;
        s->next = h->socks;
        if (h->socks) {
            h->socks->prev = s;
        }
        h->socks = s;
        curl_multi_assign(h->multi, fd, s);
    }
    events |= (what & CURL_POLL_IN) ? UV_READABLE : 0;
    events |= (what & CURL_POLL_OUT) ? UV_WRITABLE : 0;
    uv_poll_start(&s->poll, events, on_poll);
    return 0;
}

static void timer_fired(void *ctx)
{
    struct cs_http *h = ctx;
    socket_action(h, CURL_SOCKET_TIMEOUT, 0);
}

/* curl wants a wake-up after timeout_ms (0: as soon as possible, but not
 * from inside this call), or none (-1). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct cs_http *h = userp;

    (void)multi;
    if (timeout_ms < 0) {
        cs_timer_stop(h->timer);
    } else {
        cs_timer_start(h->timer, timeout_ms, 0);
    }
    return 0;
}

/* ---- requests ---- */

static void req_unlink(struct cs_http_req *r)
{
    struct cs_http *h = r->h;

    if (r->prev) {
        r->prev->next = r->next;
    } else {
        h->reqs = r->next;
    }
    if (r->next) {
        r->next->prev = r->prev;
    }
    h->in_flight--;
}

static void req_free(struct cs_http_req *r)
{
    curl_easy_cleanup(r->easy);
    free(r->body);
    free(r);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct cs_http_req *r = userp;
    size_t n = size * nmemb;

    if (n > r->h->max_body - r->len) {
        r->too_large = true;
        return 0;   /* curl ends the transfer with CURLE_WRITE_ERROR */
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 16384;
        while (cap < r->len + n) {
            cap *= 2;
        }
        if (cap > r->h->max_body) {
            cap = r->h->max_body;
        }
        r->body = cs_xrealloc(r->body, cap + 1);
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    return n;
}

static enum cs_http_fail classify(CURLcode code, bool too_large)
{
    switch (code) {
    case CURLE_OK:
        return CS_HTTP_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return CS_HTTP_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return CS_HTTP_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return CS_HTTP_TLS;
    case CURLE_FILESIZE_EXCEEDED:
        return CS_HTTP_TOO_LARGE;
    case CURLE_WRITE_ERROR:
        return too_large ? CS_HTTP_TOO_LARGE : CS_HTTP_OTHER;
    default:
        return CS_HTTP_OTHER;
    }
}

/* Report one finished transfer and release it. */
static void finish(struct cs_http *h, CURL *easy, CURLcode code)
{
    struct cs_http_req *r;
    struct cs_http_result res;
    curl_off_t total_us = 0, retry_after = 0;
    long status = 0;
    char *priv = NULL;

    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    r = (struct cs_http_req *)(void *)priv;
    if (r == NULL) {
        return;
    }
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after);
    curl_multi_remove_handle(h->multi, easy);
    req_unlink(r);

    memset(&res, 0, sizeof res);
    res.fail = classify(code, r->too_large);
    res.status = status;
    if (r->body) {
        r->body[r->len] = '\0';
    }
    res.body = r->body ? r->body : "";
    res.body_len = r->len;
    res.retry_after_s = retry_after > 0 ? (int64_t)retry_after : 0;
    res.total_ns = (int64_t)total_us * 1000;
    if (res.fail != CS_HTTP_OK) {
        res.error = r->too_large ? "response body over the size limit"
                    : r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
    }
    h->dispatching = true;
    r->done(r->ctx, &res);
    h->dispatching = false;
    req_free(r);
}

static void collect_done(struct cs_http *h)
{
    CURLMsg *msg;
    int left = 0;

    while (h->multi && (msg = curl_multi_info_read(h->multi, &left))) {
        if (msg->msg == CURLMSG_DONE) {
            /* Copy out first: removing the handle ends the message. */
            CURL *easy = msg->easy_handle;
            CURLcode code = msg->data.result;
            finish(h, easy, code);
        }
    }
}

static bool set_options(struct cs_http *h, struct cs_http_req *r,
                        const char *url, bool https)
{
    CURL *e = r->easy;
    bool ok = true;

    ok = ok && curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_PRIVATE, r) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body)
               == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_WRITEDATA, r) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf)
               == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    /* Endpoints come from the config alone: proxies from the environment
     * (http_proxy, ...) are ignored, so tests never leave the machine. */
    ok = ok && curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075700
    /* A request cancelled while its name is being resolved must not make
     * the loop wait for the resolver thread (it finishes on its own). */
    ok = ok && curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L) == CURLE_OK;
#endif
    /* Only http and https, and a redirect may not change the scheme (so
     * https never falls back to clear text). */
#if LIBCURL_VERSION_NUM >= 0x075500
    ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https")
               == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
                                https ? "https" : "http") == CURLE_OK;
#else
    ok = ok && curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                                (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS))
               == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS,
                                (long)(https ? CURLPROTO_HTTPS
                                             : CURLPROTO_HTTP)) == CURLE_OK;
#endif
    ok = ok && curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)MAX_REDIRS)
               == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                                h->connect_timeout_ms) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_ms)
               == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent)
               == CURLE_OK;
    /* Any encoding curl can decode; the size cap applies to the decoded
     * bytes, so a small compressed body cannot inflate past it. */
    ok = ok && curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                                (curl_off_t)h->max_body) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok = ok && curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    if (h->ca_file) {
        ok = ok && curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file)
                   == CURLE_OK;
    }
    return ok;
}

struct cs_http_req *cs_http_get(struct cs_http *h, const char *url,
                                cs_http_done_fn done, void *ctx,
                                enum cs_err *err)
{
    struct cs_http_req *r;
    bool https = strncmp(url, "https://", 8) == 0;
    enum cs_err dummy;

    if (err == NULL) {
        err = &dummy;
    }
    if (!https && strncmp(url, "http://", 7) != 0) {
        *err = CS_ERR_INVAL;
        return NULL;
    }
    if (h->multi == NULL || h->in_flight >= h->max_in_flight) {
        *err = CS_ERR_LIMIT;
        return NULL;
    }
    r = cs_xcalloc(1, sizeof *r);
    r->h = h;
    r->done = done;
    r->ctx = ctx;
    r->easy = curl_easy_init();
    cs_require(r->easy != NULL);   /* only fails without memory */
    if (!set_options(h, r, url, https)) {
        cs_log_warn(LOG_HTTP, "curl refused the request options");
        req_free(r);
        *err = CS_ERR_INVAL;
        return NULL;
    }
    r->next = h->reqs;
    if (h->reqs) {
        h->reqs->prev = r;
    }
    h->reqs = r;
    h->in_flight++;
    if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
        cs_log_warn(LOG_HTTP, "curl refused a request");
        req_unlink(r);
        req_free(r);
        *err = CS_ERR_IO;
        return NULL;
    }
    *err = CS_OK;
    return r;
}

void cs_http_cancel(struct cs_http_req *r)
{
    if (r == NULL) {
        return;
    }
    if (r->h->multi) {
        curl_multi_remove_handle(r->h->multi, r->easy);
    }
    req_unlink(r);
    req_free(r);
}

size_t cs_http_in_flight(const struct cs_http *h)
{
    return h->in_flight;
}

unsigned cs_http_max_in_flight(const struct cs_http *h)
{
    return h->max_in_flight;
}

/* ---- lifecycle ---- */

/* End every transfer, let curl close its connections (it reports each
 * socket's removal, closing our poll handles), and close what is left.
 * The loop must still exist; after this nothing refers to it. */
static void teardown(void *ctx)
{
    struct cs_http *h = ctx;

    while (h->reqs) {
        cs_http_cancel(h->reqs);
    }
    if (h->multi) {
        curl_multi_cleanup(h->multi);
        h->multi = NULL;
    }
    while (h->socks) {
        sock_close(h->socks);
    }
    cs_timer_free(h->timer);
    h->timer = NULL;
    h->loop = NULL;
}

struct cs_http *cs_http_new(struct cs_loop *loop,
                            const struct cs_http_options *opt)
{
    static bool curl_ready;
    struct cs_http *h;

    if (!curl_ready) {
        /* Once per process, on the loop thread; never cleaned up, since
         * lws shares the TLS library. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            cs_log_error(LOG_HTTP, "cannot initialise libcurl");
            return NULL;
        }
        curl_ready = true;
    }
    h = cs_xcalloc(1, sizeof *h);
    h->loop = loop;
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        cs_log_error(LOG_HTTP, "cannot create a curl multi handle");
        free(h);
        return NULL;
    }
    h->max_in_flight = opt && opt->max_in_flight ? opt->max_in_flight
                                                 : CS_HTTP_DEFAULT_IN_FLIGHT;
    h->max_body = opt && opt->max_body_bytes ? opt->max_body_bytes
                                             : CS_HTTP_DEFAULT_MAX_BODY;
    h->connect_timeout_ms = opt && opt->connect_timeout_ms > 0
                            ? (long)opt->connect_timeout_ms : 10000L;
    h->timeout_ms = opt && opt->timeout_ms > 0 ? (long)opt->timeout_ms
                                               : 30000L;
    h->ca_file = opt && opt->ca_file ? cs_xstrdup(opt->ca_file) : NULL;
    snprintf(h->user_agent, sizeof h->user_agent, "cryptosup/%s", CS_VERSION);
    h->timer = cs_timer_new(loop, timer_fired, h);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      (long)h->max_in_flight);
    cs_loop_on_teardown(loop, teardown, h);
    return h;
}

void cs_http_free(struct cs_http *h)
{
    if (h == NULL) {
        return;
    }
    cs_require(!h->dispatching);
    if (h->loop) {
        cs_loop_off_teardown(h->loop, teardown, h);
        teardown(h);
    }
    free(h->ca_file);
    free(h);
}
