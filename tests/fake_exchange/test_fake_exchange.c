/* Self-test of the fake exchange: starts a ws:// and a wss:// instance,
 * talks to every venue path with a plain libwebsockets client (subscribe,
 * acks, data, keepalives), injects faults through the control port and
 * checks what the client saw and what the fake recorded. Bounded in time:
 * a watchdog kills everything after TEST_DEADLINE_S seconds. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#define TEST_DEADLINE_S 160
#define MAX_FRAMES      4096            /* kept per connection */
#define RX_CAP          (4u << 20)      /* client reassembly cap */

struct env {
    const char *name;       /* "ws" / "wss" */
    bool tls;
    int port, control_port;
    pid_t pid;
    char ready[512], log[512];
};

/* One client connection (WebSocket or HTTP GET), owned by the test. */
struct tconn {
    struct lws *wsi;
    const char *label;
    bool connected, closed, conn_error, peer_close;
    int peer_close_code;
    char err[256];
    char **frames;
    size_t nframes, total, nbinary, max_len;
    char *rx;
    size_t rx_len;
    bool rx_overflow;
    char *out[32];
    size_t nout;
    /* HTTP */
    int http_status;
    char *body;
    size_t body_len;
    bool http_done;
};

static struct lws_context *ctx;
static lws_sorted_usec_list_t pump_sul;
static const char *cafile;
static int failures, checks;
static bool verbose, keep;
/* ws, wss, then two plain instances at --speed 40 for the id checks, the
 * second with --restart-sequences */
#define N_ENVS 4
static struct env envs[N_ENVS];
static struct tconn *all_conns[128];
static size_t nall;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void check(bool ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
    va_list ap;

    checks++;
    if (!ok) {
        failures++;
    }
    if (!ok || verbose) {
        printf("%s: ", ok ? "ok" : "FAIL");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
    }
}

static void kill_children(void)
{
    for (int i = 0; i < N_ENVS; i++) {
        if (envs[i].pid > 0) {
            kill(envs[i].pid, SIGKILL);
        }
    }
}

static void on_alarm(int sig)
{
    static const char msg[] = "FAIL: test deadline reached, killing the fakes\n";

    (void)sig;
    kill_children();
    if (write(STDOUT_FILENO, msg, sizeof msg - 1) < 0) {
        _exit(1);
    }
    _exit(1);
}

/* ---- lws client ---- */

static void store_frame(struct tconn *t, const char *p, size_t n)
{
    t->total++;
    if (n > t->max_len) {
        t->max_len = n;
    }
    if (t->nframes < MAX_FRAMES) {
        char *f = malloc(n + 1);
        if (!f) {
            abort();
        }
        memcpy(f, p, n);
        f[n] = '\0';
        t->frames[t->nframes++] = f;
    }
}

static int client_cb(struct lws *wsi, enum lws_callback_reasons reason,
                     void *user, void *in, size_t len)
{
    struct tconn *t = user;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (t) {
            t->conn_error = t->closed = true;
            t->wsi = NULL;
            snprintf(t->err, sizeof t->err, "%s", in ? (const char *)in : "?");
        }
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        t->connected = true;
        if (t->nout) {
            lws_callback_on_writable(wsi);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (lws_is_first_fragment(wsi)) {
            t->rx_len = 0;
            t->rx_overflow = false;
        }
        if (t->rx_len + len > RX_CAP) {
            t->rx_overflow = true;
        } else {
            if (!t->rx) {
                t->rx = malloc(RX_CAP + 1);
                if (!t->rx) {
                    abort();
                }
            }
            memcpy(t->rx + t->rx_len, in, len);
            t->rx_len += len;
        }
        if (lws_is_final_fragment(wsi)) {
            if (lws_frame_is_binary(wsi)) {
                t->nbinary++;
            } else if (!t->rx_overflow) {
                store_frame(t, t->rx, t->rx_len);
            }
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (t->nout) {
            char *m = t->out[0];
            size_t n = strlen(m);
            unsigned char *buf = malloc(LWS_PRE + n);
            if (!buf) {
                abort();
            }
            memcpy(buf + LWS_PRE, m, n);
            int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
            free(buf);
            free(m);
            memmove(t->out, t->out + 1, (t->nout - 1) * sizeof t->out[0]);
            t->nout--;
            if (w < (int)n) {
                return -1;
            }
            if (t->nout) {
                lws_callback_on_writable(wsi);
            }
        }
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        t->peer_close = true;
        t->peer_close_code = len >= 2 ? (((const unsigned char *)in)[0] << 8
                                         | ((const unsigned char *)in)[1]) : 1005;
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        t->closed = true;
        t->wsi = NULL;
        return 0;
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        t->connected = true;
        t->http_status = (int)lws_http_client_http_response(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ: {
        char *b = realloc(t->body, t->body_len + len + 1);
        if (!b) {
            abort();
        }
        t->body = b;
        memcpy(t->body + t->body_len, in, len);
        t->body_len += len;
        t->body[t->body_len] = '\0';
        return 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buf[LWS_PRE + 4096];
        char *p = buf + LWS_PRE;
        int n = (int)sizeof buf - LWS_PRE;
        return lws_http_client_read(wsi, &p, &n) < 0 ? -1 : 0;
    }
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        t->http_done = true;
        return 0;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        if (t) {
            t->closed = true;
            t->wsi = NULL;
        }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols client_protocols[] = {
    { "fx-test-client", client_cb, 0, 65536, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void pump_cb(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(ctx, 0, sul, pump_cb, 20 * LWS_US_PER_MS);
}

static void pump(void)
{
    lws_service(ctx, 0);
}

/* Service the loop until `cond` holds or `ms` pass; evaluates to cond. */
#define WAIT_UNTIL(cond, ms) \
    do { \
        int64_t dl_ = now_ms() + (ms); \
        while (!(cond) && now_ms() < dl_) { \
            pump(); \
        } \
    } while (0)

static void settle(int ms)
{
    int64_t dl = now_ms() + ms;

    while (now_ms() < dl) {
        pump();
    }
}

static struct tconn *tconn_new(const char *label)
{
    struct tconn *t = calloc(1, sizeof *t);

    if (!t || nall >= sizeof all_conns / sizeof all_conns[0]) {
        abort();
    }
    t->frames = calloc(MAX_FRAMES, sizeof *t->frames);
    if (!t->frames) {
        abort();
    }
    t->label = label;
    all_conns[nall++] = t;
    return t;
}

static struct tconn *ws_connect(const struct env *e, const char *path,
                                const char *label)
{
    struct lws_client_connect_info ci;
    struct tconn *t = tconn_new(label);

    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.address = "127.0.0.1";
    ci.port = e->port;
    ci.path = path;
    ci.host = "localhost";
    ci.origin = "localhost";
    ci.ssl_connection = e->tls ? LCCSCF_USE_SSL : 0;
    ci.protocol = NULL;
    ci.local_protocol_name = "fx-test-client";
    ci.userdata = t;
    ci.pwsi = &t->wsi;
    if (!lws_client_connect_via_info(&ci)) {
        t->conn_error = t->closed = true;
    }
    WAIT_UNTIL(t->connected || t->closed, 5000);
    return t;
}

static void ws_send(struct tconn *t, const char *text)
{
    if (t->nout < sizeof t->out / sizeof t->out[0]) {
        t->out[t->nout++] = strdup(text);
    }
    if (t->wsi && t->connected) {
        lws_callback_on_writable(t->wsi);
    }
}

static struct tconn *https_get(const struct env *e, const char *path)
{
    struct lws_client_connect_info ci;
    struct tconn *t = tconn_new("https");

    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.address = "127.0.0.1";
    ci.port = e->port;
    ci.path = path;
    ci.host = "localhost";
    ci.origin = "localhost";
    ci.method = "GET";
    ci.ssl_connection = e->tls ? LCCSCF_USE_SSL : 0;
    ci.alpn = "http/1.1";
    ci.local_protocol_name = "fx-test-client";
    ci.userdata = t;
    ci.pwsi = &t->wsi;
    if (!lws_client_connect_via_info(&ci)) {
        t->conn_error = t->closed = true;
    }
    WAIT_UNTIL(t->http_done || t->closed, 5000);
    return t;
}

static int find_frame(const struct tconn *t, const char *needle, size_t from)
{
    for (size_t i = from; i < t->nframes; i++) {
        if (strstr(t->frames[i], needle)) {
            return (int)i;
        }
    }
    return -1;
}

static size_t count_frames(const struct tconn *t, const char *needle)
{
    size_t n = 0;

    for (size_t i = 0; i < t->nframes; i++) {
        n += strstr(t->frames[i], needle) != NULL;
    }
    return n;
}

/* ---- plain HTTP to the control port (and REST on ws instances) ---- */

struct http_resp {
    int status;
    char retry_after[32];
    char *body;
};

static int http_req(int port, const char *method, const char *path,
                    const char *body, struct http_resp *r)
{
    struct sockaddr_in sa;
    struct timeval tv = { .tv_sec = 10 };
    char req[2048], *buf = NULL;
    size_t len = 0, cap = 0;
    int fd, n;

    memset(r, 0, sizeof *r);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "Connection: close\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s", method, path,
                 body ? strlen(body) : 0, body ? body : "");
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            if (!buf) {
                abort();
            }
        }
        ssize_t got = read(fd, buf + len, cap - len - 1);
        if (got <= 0) {
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    if (!buf) {
        return -1;
    }
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        free(buf);
        return -1;
    }
    for (char *p = buf; *p && strncmp(p, "\r\n\r\n", 4) != 0; p++) {
        if (strncasecmp(p, "\r\nretry-after:", 14) == 0) {
            sscanf(p + 14, " %31[0-9]", r->retry_after);
            break;
        }
    }
    char *b = strstr(buf, "\r\n\r\n");
    r->body = strdup(b ? b + 4 : "");
    free(buf);
    return 0;
}

static cJSON *control_json(const struct env *e, const char *method,
                           const char *path, const char *body, int *status)
{
    struct http_resp r;
    cJSON *j = NULL;

    if (http_req(e->control_port, method, path, body, &r) == 0) {
        j = cJSON_Parse(r.body);
        if (status) {
            *status = r.status;
        }
    } else if (status) {
        *status = -1;
    }
    free(r.body);
    return j;
}

static bool fault_quiet(const struct env *e, const char *json, bool quiet)
{
    int st = 0;
    cJSON *j = control_json(e, "POST", "/fault", json, &st);
    bool ok = st == 200 && cJSON_IsTrue(cJSON_GetObjectItem(j, "ok"));

    if (!ok && !quiet) {
        char *t = j ? cJSON_PrintUnformatted(j) : NULL;
        printf("  fault %s -> %d %s\n", json, st, t ? t : "(no body)");
        free(t);
    }
    cJSON_Delete(j);
    return ok;
}

static bool fault(const struct env *e, const char *json)
{
    return fault_quiet(e, json, false);
}

/* The open connection of `venue` whose path is `path`, as a detached cJSON
 * object from /state, or NULL. */
static cJSON *state_conn(const struct env *e, const char *venue,
                         const char *path, bool open_only)
{
    char q[128];
    cJSON *st, *it, *found = NULL;

    snprintf(q, sizeof q, "/state?venue=%s", venue);
    st = control_json(e, "GET", q, NULL, NULL);
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(st, "connections")) {
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(it, "path"));
        if (p && !strcmp(p, path)
            && (!open_only || cJSON_IsTrue(cJSON_GetObjectItem(it, "open")))) {
            found = cJSON_Duplicate(it, true);
            break;
        }
    }
    cJSON_Delete(st);
    return found;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *n = cJSON_GetObjectItem(o, key);

    return cJSON_IsNumber(n) ? n->valuedouble : -1;
}

static int conn_id(const struct env *e, const char *venue, const char *path)
{
    cJSON *c = state_conn(e, venue, path, true);
    int id = c ? (int)num(c, "id") : -1;

    cJSON_Delete(c);
    return id;
}

/* ---- scenarios ---- */

static void test_binance(const struct env *e)
{
    const char *cpath = "/binance/stream?streams=btcusdt@aggTrade/btcusdt@bookTicker/"
                        "btcusdt@ticker/btcusdt@trade";
    struct tconn *comb = ws_connect(e, cpath, "binance-combined");
    struct tconn *raw;
    char body[256];
    cJSON *c;
    int id;

    check(comb->connected, "[%s] binance combined connects (%s)", e->name, comb->err);
    WAIT_UNTIL(count_frames(comb, "\"stream\":\"btcusdt@bookTicker\"") >= 5
               && find_frame(comb, "\"stream\":\"btcusdt@ticker\"", 0) >= 0
               && find_frame(comb, "\"stream\":\"btcusdt@aggTrade\"", 0) >= 0
               && find_frame(comb, "\"stream\":\"btcusdt@trade\"", 0) >= 0, 15000);
    check(count_frames(comb, "\"stream\":\"btcusdt@bookTicker\"") >= 5,
          "[%s] binance bookTicker frames rewritten to btcusdt (%zu frames)", e->name,
          comb->nframes);
    check(find_frame(comb, "\"s\":\"BTCUSDT\"", 0) >= 0 && find_frame(comb, "VETETH", 0) < 0,
          "[%s] binance data symbol substituted", e->name);
    check(find_frame(comb, "\"stream\":\"btcusdt@ticker\",\"data\":{\"e\":\"24hrTicker\"", 0) >= 0,
          "[%s] binance synthesized @ticker", e->name);
    check(find_frame(comb, "\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\"", 0) >= 0,
          "[%s] binance @trade derived from aggTrade", e->name);
    for (size_t i = 0; i < comb->nframes; i++) {
        cJSON *j = cJSON_Parse(comb->frames[i]);
        bool ok = j && cJSON_GetObjectItem(j, "stream") && cJSON_GetObjectItem(j, "data");
        cJSON_Delete(j);
        if (!ok) {
            check(false, "[%s] binance combined frame %zu is an envelope: %.80s",
                  e->name, i, comb->frames[i]);
            break;
        }
    }

    /* server pings every 300 ms; lws answers; the fake tracks the pongs */
    int64_t dl = now_ms() + 5000;
    double matched = 0;
    while (now_ms() < dl && matched < 2) {
        settle(200);
        c = state_conn(e, "binance", cpath, true);
        matched = num(c, "pongs_matched");
        cJSON_Delete(c);
    }
    check(matched >= 2, "[%s] binance pings answered by the client (pongs_matched=%g)",
          e->name, matched);

    /* serverShutdown event */
    id = conn_id(e, "binance", cpath);
    snprintf(body, sizeof body, "{\"venue\":\"binance\",\"kind\":\"server_shutdown\","
             "\"conn\":%d}", id);
    check(fault(e, body), "[%s] fault server_shutdown accepted", e->name);
    WAIT_UNTIL(find_frame(comb, "\"stream\":\"!serverShutdown\"", 0) >= 0, 3000);
    check(find_frame(comb, "{\"stream\":\"!serverShutdown\",\"data\":"
                     "{\"e\":\"serverShutdown\",\"E\":", 0) >= 0,
          "[%s] binance serverShutdown received", e->name);

    /* raw endpoint with SUBSCRIBE / LIST_SUBSCRIPTIONS / a refused stream */
    raw = ws_connect(e, "/binance/ws", "binance-raw");
    check(raw->connected, "[%s] binance raw connects", e->name);
    ws_send(raw, "{\"method\":\"SUBSCRIBE\",\"params\":[\"ethusdt@aggTrade\","
            "\"ethusdt@bookTicker\"],\"id\":1}");
    WAIT_UNTIL(find_frame(raw, "{\"result\":null,\"id\":1}", 0) >= 0
               && find_frame(raw, "\"s\":\"ETHUSDT\"", 0) >= 0, 8000);
    check(find_frame(raw, "{\"result\":null,\"id\":1}", 0) == 0,
          "[%s] binance SUBSCRIBE ack is the first frame", e->name);
    int d = find_frame(raw, "\"s\":\"ETHUSDT\"", 0);
    check(d > 0 && raw->frames[d][0] == '{' && !strstr(raw->frames[d], "\"stream\""),
          "[%s] binance raw payload without envelope", e->name);
    ws_send(raw, "{\"method\":\"LIST_SUBSCRIPTIONS\",\"id\":2}");
    ws_send(raw, "{\"method\":\"SUBSCRIBE\",\"params\":[\"BTCUSDT@aggTrade\"],\"id\":3}");
    WAIT_UNTIL(find_frame(raw, "\"id\":3}", 0) >= 0, 3000);
    check(find_frame(raw, "{\"result\":[\"ethusdt@aggTrade\",\"ethusdt@bookTicker\"],"
                     "\"id\":2}", 0) >= 0,
          "[%s] binance LIST_SUBSCRIPTIONS", e->name);
    check(find_frame(raw, "{\"error\":{\"code\":2,\"msg\":\"Invalid request: invalid "
                     "stream\"},\"id\":3}", 0) >= 0,
          "[%s] binance upper-case stream refused", e->name);

    /* the fake recorded the client's messages */
    c = state_conn(e, "binance", "/binance/ws", true);
    const cJSON *msgs = cJSON_GetObjectItem(c, "client_msgs");
    const char *first = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "text"));
    check(cJSON_GetArraySize(msgs) == 3 && first
          && !strcmp(first, "{\"method\":\"SUBSCRIBE\",\"params\":[\"ethusdt@aggTrade\","
                     "\"ethusdt@bookTicker\"],\"id\":1}"),
          "[%s] /state records the client messages", e->name);
    id = c ? (int)num(c, "id") : -1;
    cJSON_Delete(c);

    /* abrupt close: no close frame */
    snprintf(body, sizeof body, "{\"venue\":\"binance\",\"kind\":\"close_abrupt\","
             "\"conn\":%d}", id);
    check(fault(e, body), "[%s] fault close_abrupt accepted", e->name);
    WAIT_UNTIL(raw->closed, 3000);
    check(raw->closed && !raw->peer_close,
          "[%s] close_abrupt: closed without a close frame", e->name);
    c = state_conn(e, "binance", "/binance/ws", false);
    check(c && !cJSON_IsTrue(cJSON_GetObjectItem(c, "open"))
          && num(c, "close_code") == -1, "[%s] /state shows the abrupt close", e->name);
    cJSON_Delete(c);

    /* the next connection is refused once, then accepted */
    check(fault(e, "{\"venue\":\"binance\",\"kind\":\"reject\",\"count\":1}"),
          "[%s] fault reject armed", e->name);
    struct tconn *rej = ws_connect(e, "/binance/ws/btcusdt@aggTrade", "binance-rejected");
    WAIT_UNTIL(rej->closed, 3000);
    check(rej->conn_error && rej->http_status == 503,
          "[%s] reject: handshake refused with HTTP 503 (%d, %s)", e->name,
          rej->http_status, rej->err);
    struct tconn *again = ws_connect(e, "/binance/ws/btcusdt@bookTicker", "binance-again");
    check(again->connected, "[%s] reject: following connection accepted", e->name);
    WAIT_UNTIL(find_frame(again, "\"s\":\"BTCUSDT\"", 0) >= 0, 5000);
    check(find_frame(again, "\"s\":\"BTCUSDT\"", 0) >= 0, "[%s] binance /ws/<stream> streams",
          e->name);

    /* a stall stops data and pings, resume brings them back */
    id = conn_id(e, "binance", "/binance/ws/btcusdt@bookTicker");
    snprintf(body, sizeof body, "{\"venue\":\"binance\",\"kind\":\"stall\",\"conn\":%d}", id);
    check(fault(e, body), "[%s] fault stall accepted", e->name);
    settle(300);
    size_t before = again->total;
    c = state_conn(e, "binance", "/binance/ws/btcusdt@bookTicker", true);
    double pings_before = num(c, "pings_sent");
    cJSON_Delete(c);
    settle(1200);
    c = state_conn(e, "binance", "/binance/ws/btcusdt@bookTicker", true);
    check(again->total == before && num(c, "pings_sent") == pings_before
          && cJSON_IsTrue(cJSON_GetObjectItem(c, "stalled")) && !again->closed,
          "[%s] stall: silent but open (%zu -> %zu frames)", e->name, before, again->total);
    cJSON_Delete(c);
    snprintf(body, sizeof body, "{\"venue\":\"binance\",\"kind\":\"resume\",\"conn\":%d}", id);
    check(fault(e, body), "[%s] fault resume accepted", e->name);
    WAIT_UNTIL(again->total > before, 5000);
    check(again->total > before, "[%s] resume: frames flow again", e->name);
}

static void test_okx(const struct env *e)
{
    struct tconn *t = ws_connect(e, "/okx/ws/v5/public", "okx");
    char body[256];
    int id;

    check(t->connected, "[%s] okx connects", e->name);
    ws_send(t, "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"tickers\",\"instId\":"
            "\"BTC-USDT\"},{\"channel\":\"tickers\",\"instId\":\"ETH-USDT\"}]}");
    WAIT_UNTIL(find_frame(t, "{\"arg\":{\"channel\":\"tickers\",\"instId\":\"ETH-USDT\"},"
                          "\"data\"", 0) >= 0
               && find_frame(t, "{\"arg\":{\"channel\":\"tickers\",\"instId\":\"BTC-USDT\"},"
                             "\"data\"", 0) >= 0,
               10000);
    check(find_frame(t, "{\"event\":\"subscribe\",\"arg\":{\"channel\":\"tickers\","
                     "\"instId\":\"BTC-USDT\"},\"connId\":\"", 0) == 0
          && find_frame(t, "{\"event\":\"subscribe\",\"arg\":{\"channel\":\"tickers\","
                        "\"instId\":\"ETH-USDT\"},\"connId\":\"", 0) == 1,
          "[%s] okx one ack per arg", e->name);
    check(find_frame(t, "\"instId\":\"ETH-USDT\"},\"data\":[{\"instType\"", 0) > 1,
          "[%s] okx ETH-USDT tickers (rewritten)", e->name);
    size_t pongs = count_frames(t, "pong");
    ws_send(t, "ping");
    WAIT_UNTIL(count_frames(t, "pong") > pongs, 3000);
    int p = find_frame(t, "pong", 0);
    check(p >= 0 && !strcmp(t->frames[p], "pong"), "[%s] okx text ping -> pong", e->name);
    ws_send(t, "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"tickers\",\"instId\":\"bad\"}]}");
    WAIT_UNTIL(find_frame(t, "\"code\":\"60018\"", 0) >= 0, 3000);
    check(find_frame(t, "{\"event\":\"error\",\"code\":\"60018\"", 0) >= 0,
          "[%s] okx bad instId -> 60018", e->name);

    id = conn_id(e, "okx", "/okx/ws/v5/public");
    /* mute pongs: the ping goes unanswered */
    snprintf(body, sizeof body, "{\"venue\":\"okx\",\"kind\":\"mute_pongs\",\"conn\":%d}", id);
    check(fault(e, body), "[%s] fault mute_pongs accepted", e->name);
    pongs = count_frames(t, "pong");
    ws_send(t, "ping");
    settle(600);
    check(count_frames(t, "pong") == pongs, "[%s] mute_pongs: no pong", e->name);

    /* a WebSocket ping that expects a pong (lws answers it) */
    snprintf(body, sizeof body, "{\"venue\":\"okx\",\"kind\":\"ping\",\"conn\":%d}", id);
    check(fault(e, body), "[%s] fault ping accepted", e->name);
    cJSON *c = NULL;
    for (int64_t dl = now_ms() + 4000; now_ms() < dl;) {
        settle(100);
        cJSON_Delete(c);
        c = state_conn(e, "okx", "/okx/ws/v5/public", true);
        if (num(c, "pongs_matched") >= 1) {
            break;
        }
    }
    check(num(c, "pongs_matched") == 1 && num(c, "app_pings") == 2 && num(c, "app_pongs") == 1,
          "[%s] okx: ws ping answered, app pings counted", e->name);
    cJSON_Delete(c);

    /* garbage, truncated and oversize frames */
    snprintf(body, sizeof body, "{\"venue\":\"okx\",\"kind\":\"garbage\",\"conn\":%d}", id);
    check(fault(e, body), "[%s] fault garbage accepted", e->name);
    snprintf(body, sizeof body, "{\"venue\":\"okx\",\"kind\":\"truncated\",\"conn\":%d}", id);
    check(fault(e, body), "[%s] fault truncated accepted", e->name);
    snprintf(body, sizeof body, "{\"venue\":\"okx\",\"kind\":\"oversize\",\"conn\":%d}", id);
    check(fault(e, body), "[%s] fault oversize accepted", e->name);
    snprintf(body, sizeof body, "{\"venue\":\"okx\",\"kind\":\"notice\",\"conn\":%d}", id);
    check(fault(e, body), "[%s] fault notice accepted", e->name);
    WAIT_UNTIL(t->max_len >= 2u * 1024 * 1024 && find_frame(t, "64008", 0) >= 0, 5000);
    check(find_frame(t, "this is not JSON {{", 0) >= 0, "[%s] garbage frame received", e->name);
    bool truncated = false;
    for (size_t i = 0; i < t->nframes; i++) {
        if (t->frames[i][0] == '{' && strlen(t->frames[i]) < 4096) {
            cJSON *j = cJSON_Parse(t->frames[i]);
            truncated |= j == NULL;
            cJSON_Delete(j);
        }
    }
    check(truncated, "[%s] truncated JSON frame received", e->name);
    check(t->max_len == 2u * 1024 * 1024, "[%s] 2 MiB frame received (%zu)", e->name, t->max_len);
    check(find_frame(t, "{\"event\":\"notice\",\"code\":\"64008\",", 0) >= 0,
          "[%s] okx notice 64008", e->name);

    /* close with a code */
    snprintf(body, sizeof body, "{\"venue\":\"okx\",\"kind\":\"close_code\",\"code\":4000,"
             "\"reason\":\"bye\",\"conn\":%d}", id);
    check(fault(e, body), "[%s] fault close_code accepted", e->name);
    WAIT_UNTIL(t->closed, 3000);
    check(t->closed && t->peer_close && t->peer_close_code == 4000,
          "[%s] close_code: client saw close 4000 (%d)", e->name, t->peer_close_code);
}

static void test_bybit(const struct env *e)
{
    struct tconn *s = ws_connect(e, "/bybit/v5/public/spot", "bybit-spot");
    struct tconn *l = ws_connect(e, "/bybit/v5/public/linear", "bybit-linear");

    check(s->connected && l->connected, "[%s] bybit connects", e->name);
    ws_send(s, "{\"req_id\":\"s1\",\"op\":\"subscribe\",\"args\":[\"tickers.BTCUSDT\"]}");
    ws_send(s, "{\"req_id\":\"p1\",\"op\":\"ping\"}");
    ws_send(l, "{\"op\":\"subscribe\",\"args\":[\"tickers.ETHUSDT\",\"tickers.SOLUSDT\"]}");
    ws_send(l, "{\"req_id\":\"p2\",\"op\":\"ping\"}");
    WAIT_UNTIL(find_frame(s, "\"topic\":\"tickers.BTCUSDT\"", 0) >= 0
               && find_frame(s, "\"ret_msg\":\"pong\"", 0) >= 0
               && find_frame(l, "\"ret_msg\":\"pong\"", 0) >= 0
               && count_frames(l, "\"topic\":\"tickers.SOLUSDT\"") >= 3, 10000);
    int ack = find_frame(s, "{\"success\":true,\"ret_msg\":\"subscribe\",\"conn_id\":\"", 0);
    check(ack == 0 && strstr(s->frames[0], "\"req_id\":\"s1\",\"op\":\"subscribe\"}"),
          "[%s] bybit spot ack", e->name);
    check(find_frame(s, "\"ret_msg\":\"pong\"", 0) >= 0
          && strstr(s->frames[find_frame(s, "\"ret_msg\":\"pong\"", 0)], "\"op\":\"ping\"}"),
          "[%s] bybit spot pong", e->name);
    check(find_frame(l, "{\"success\":true,\"ret_msg\":\"\",\"conn_id\":\"", 0) == 0
          && strstr(l->frames[0], "\"req_id\":\"\",\"op\":\"subscribe\"}"),
          "[%s] bybit linear ack", e->name);
    check(find_frame(l, "\"req_id\":\"p2\",\"op\":\"ping\"}", 0) >= 0,
          "[%s] bybit linear pong carries req_id", e->name);
    int first = find_frame(l, "\"topic\":\"tickers.SOLUSDT\"", 0);
    check(first >= 0 && strstr(l->frames[first], "\"type\":\"snapshot\"")
          && find_frame(l, "\"topic\":\"tickers.SOLUSDT\",\"type\":\"delta\"",
                        (size_t)first) > first,
          "[%s] bybit linear snapshot first, then deltas", e->name);
    ws_send(l, "{\"op\":\"subscribe\",\"args\":[\"tickers.ETHUSDT\"]}");
    WAIT_UNTIL(find_frame(l, "already subscribed", 0) >= 0, 3000);
    check(find_frame(l, "{\"success\":false,\"ret_msg\":\"error:already subscribed,"
                     "topic:tickers.ETHUSDT\"", 0) >= 0,
          "[%s] bybit duplicate subscription refused", e->name);

    /* rotation: every bybit connection older than 0 s is closed (1001) */
    check(fault(e, "{\"venue\":\"bybit\",\"kind\":\"rotate\",\"age_s\":0}"),
          "[%s] fault rotate accepted", e->name);
    WAIT_UNTIL(s->closed && l->closed, 3000);
    check(s->closed && l->closed && s->peer_close_code == 1001 && l->peer_close_code == 1001,
          "[%s] rotate closed both bybit connections with 1001", e->name);
}

static long long json_int_after(const char *frame, const char *key)
{
    const char *p = strstr(frame, key);

    return p ? atoll(p + strlen(key)) : -1;
}

static void test_coinbase(const struct env *e)
{
    struct tconn *t = ws_connect(e, "/coinbase", "coinbase-at");
    struct tconn *x;
    char body[256];

    check(t->connected, "[%s] coinbase AT connects", e->name);
    ws_send(t, "{\"type\":\"subscribe\",\"product_ids\":[\"BTC-USD\",\"SOL-USD\"],"
            "\"channel\":\"ticker\"}");
    ws_send(t, "{\"type\":\"subscribe\",\"channel\":\"heartbeats\"}");
    WAIT_UNTIL(count_frames(t, "\"channel\":\"heartbeats\"") >= 3
               && find_frame(t, "\"type\":\"update\"", 0) >= 0
               && find_frame(t, "\"product_id\":\"SOL-USD\"", 0) >= 0, 10000);
    check(find_frame(t, "{\"channel\":\"ticker\"", 0) == 0
          && strstr(t->frames[0], "\"type\":\"snapshot\""),
          "[%s] coinbase ticker snapshot first", e->name);
    check(find_frame(t, "\"events\":[{\"subscriptions\":{\"heartbeats\":[\"heartbeats\"],"
                     "\"ticker\":[\"BTC-USD\",\"SOL-USD\"]}}]", 0) >= 0,
          "[%s] coinbase subscriptions frame lists all", e->name);
    long long seq = -1, hb = -1;
    bool seq_ok = true, hb_ok = true;
    for (size_t i = 0; i < t->nframes; i++) {
        long long s = json_int_after(t->frames[i], "\"sequence_num\":");
        seq_ok &= s == seq + 1;
        seq = s;
        if (strstr(t->frames[i], "\"channel\":\"heartbeats\"")) {
            long long h = json_int_after(t->frames[i], "\"heartbeat_counter\":");
            hb_ok &= hb < 0 || h == hb + 1;
            hb = h;
        }
    }
    check(seq_ok && seq > 3, "[%s] coinbase sequence_num contiguous from 0 (last %lld)",
          e->name, seq);
    check(hb_ok && hb > 0, "[%s] coinbase heartbeat_counter +1 per heartbeat", e->name);

    /* a sequence gap of 3 */
    snprintf(body, sizeof body, "{\"venue\":\"coinbase\",\"kind\":\"seq_gap\",\"n\":3}");
    check(fault(e, body), "[%s] fault seq_gap accepted", e->name);
    size_t from = t->nframes;
    WAIT_UNTIL(t->nframes > from + 3, 3000);
    /* frames already queued when the fault landed keep their numbers, so
     * look for exactly one jump of 4 among the frames that followed */
    int jumps = 0, other = 0;
    for (size_t i = from ? from : 1; i < t->nframes; i++) {
        long long d = json_int_after(t->frames[i], "\"sequence_num\":")
                      - json_int_after(t->frames[i - 1], "\"sequence_num\":");
        jumps += d == 4;
        other += d != 1 && d != 4;
    }
    check(jumps == 1 && other == 0, "[%s] seq_gap skipped 3 numbers once", e->name);

    x = ws_connect(e, "/coinbase-exchange", "coinbase-exchange");
    check(x->connected, "[%s] coinbase exchange connects", e->name);
    ws_send(x, "{\"type\":\"subscribe\",\"product_ids\":[\"BTC-USD\"],\"channels\":"
            "[\"ticker\",\"matches\",\"heartbeat\"]}");
    ws_send(x, "{\"type\":\"subscribe\",\"product_ids\":[\"BTC-USD\"],\"channels\":[\"level2\"]}");
    WAIT_UNTIL(find_frame(x, "{\"type\":\"ticker\"", 0) >= 0
               && find_frame(x, "{\"type\":\"heartbeat\"", 0) >= 0
               && find_frame(x, "requires authentication", 0) >= 0, 10000);
    check(find_frame(x, "{\"type\":\"subscriptions\",\"channels\":[{\"name\":\"ticker\","
                     "\"product_ids\":[\"BTC-USD\"]},{\"name\":\"matches\",\"product_ids\":"
                     "[\"BTC-USD\"]},{\"name\":\"heartbeat\",\"product_ids\":"
                     "[\"BTC-USD\"]}]}", 0) == 0,
          "[%s] coinbase exchange subscriptions reply", e->name);
    check(find_frame(x, "{\"type\":\"last_match\"", 0) == 1,
          "[%s] coinbase exchange last_match after subscribing", e->name);
    int tk = find_frame(x, "{\"type\":\"ticker\"", 0);
    check(tk >= 0 && strstr(x->frames[tk], "\"product_id\":\"BTC-USD\""),
          "[%s] coinbase exchange ticker for BTC-USD", e->name);
    check(find_frame(x, "{\"type\":\"error\",\"message\":\"Failed to subscribe\","
                     "\"reason\":\"level2", 0) >= 0,
          "[%s] coinbase exchange level2 needs auth", e->name);
}

static void test_kraken(const struct env *e)
{
    struct tconn *t = ws_connect(e, "/kraken/v2", "kraken");

    check(t->connected, "[%s] kraken connects", e->name);
    WAIT_UNTIL(t->nframes >= 1, 3000);
    check(t->nframes >= 1 && strstr(t->frames[0], "{\"channel\":\"status\",\"type\":\"update\","
                                    "\"data\":[{\"api_version\":\"v2\",\"connection_id\":"),
          "[%s] kraken status frame on connect", e->name);
    if (t->nframes >= 1) {
        cJSON *j = cJSON_Parse(t->frames[0]);
        cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0);
        double id = num(d, "connection_id");
        check(id > 9.2e18, "[%s] kraken connection_id above 2^63", e->name);
        cJSON_Delete(j);
    }
    ws_send(t, "{\"method\":\"subscribe\",\"params\":{\"channel\":\"ticker\",\"symbol\":"
            "[\"ETH/USD\"]},\"req_id\":7}");
    ws_send(t, "{\"method\":\"ping\",\"req_id\":9}");
    WAIT_UNTIL(count_frames(t, "\"type\":\"update\"") >= 2
               && find_frame(t, "{\"method\":\"pong\"", 0) >= 0
               && find_frame(t, "{\"channel\":\"heartbeat\"}", 0) >= 0, 10000);
    check(find_frame(t, "{\"method\":\"subscribe\",\"result\":{\"channel\":\"ticker\",\"symbol\":"
                     "\"ETH/USD\",\"snapshot\":true},\"success\":true,\"time_in\":", 0) == 1
          && strstr(t->frames[1], "\"req_id\":7}"), "[%s] kraken subscribe ack", e->name);
    check(find_frame(t, "{\"channel\":\"ticker\",\"type\":\"snapshot\",\"data\":"
                     "[{\"symbol\":\"ETH/USD\"", 0) == 2,
          "[%s] kraken snapshot after the ack", e->name);
    check(find_frame(t, "{\"method\":\"pong\",\"req_id\":9,\"time_in\":", 0) >= 0,
          "[%s] kraken ping -> pong", e->name);
    check(find_frame(t, "{\"channel\":\"heartbeat\"}", 0) >= 0, "[%s] kraken heartbeat", e->name);

    /* abrupt close with a TCP reset, applied to the next kraken connection
     * 300 ms after its first subscription */
    check(fault(e, "{\"venue\":\"kraken\",\"kind\":\"close_abrupt\",\"rst\":true,"
                "\"scope\":\"next\",\"delay_ms\":300}"), "[%s] fault armed for next", e->name);
    struct tconn *n = ws_connect(e, "/kraken/v2", "kraken-next");
    ws_send(n, "{\"method\":\"subscribe\",\"params\":{\"channel\":\"ticker\",\"symbol\":"
            "[\"BTC/USD\"]}}");
    int64_t t0 = now_ms();
    WAIT_UNTIL(n->closed, 3000);
    check(n->connected && n->closed && !n->peer_close && now_ms() - t0 >= 250
          && find_frame(n, "\"success\":true", 0) >= 0,
          "[%s] next-connection fault: reset after subscribing (%lld ms)", e->name,
          (long long)(now_ms() - t0));
    check(!t->closed, "[%s] the older kraken connection is untouched", e->name);
}

static void test_rest(const struct env *e)
{
    char body[256];

    if (e->tls) {
        struct tconn *h = https_get(e, "/binance/api/v3/ticker/price?symbol=BTCUSDT");
        check(h->http_done && h->http_status == 200 && h->body
              && !strcmp(h->body, "{\"symbol\":\"BTCUSDT\",\"price\":\"60740.00000000\"}"),
              "[%s] https REST ticker price (%d %s)", e->name, h->http_status,
              h->body ? h->body : "");
        struct tconn *k = https_get(e, "/bybit/v5/market/tickers?category=spot&symbol=BTCUSDT");
        check(k->http_done && k->http_status == 200 && k->body
              && strstr(k->body, "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":"
                        "{\"category\":\"spot\""),
              "[%s] https REST bybit tickers", e->name);
        return;
    }
    struct http_resp r;
    int64_t t0;

    http_req(e->port, "GET", "/binance/api/v3/ticker/price?symbol=BTCUSDT", NULL, &r);
    check(r.status == 200 && r.body && !strcmp(r.body,
          "{\"symbol\":\"BTCUSDT\",\"price\":\"60740.00000000\"}"),
          "[%s] REST ticker price", e->name);
    free(r.body);
    http_req(e->port, "GET", "/binance/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=5", NULL, &r);
    cJSON *k = cJSON_Parse(r.body ? r.body : "");
    check(r.status == 200 && cJSON_GetArraySize(k) == 5
          && cJSON_GetArraySize(cJSON_GetArrayItem(k, 0)) == 12,
          "[%s] REST klines: 5 rows of 12", e->name);
    cJSON_Delete(k);
    free(r.body);
    snprintf(body, sizeof body, "{\"venue\":\"binance\",\"kind\":\"http_status\","
             "\"status\":429,\"retry_after_s\":3}");
    check(fault(e, body), "[%s] fault http_status armed", e->name);
    http_req(e->port, "GET", "/binance/api/v3/ticker/price?symbol=BTCUSDT", NULL, &r);
    check(r.status == 429 && !strcmp(r.retry_after, "3") && r.body
          && strstr(r.body, "\"code\":-1003"), "[%s] REST 429 with Retry-After: 3", e->name);
    free(r.body);
    check(fault(e, "{\"venue\":\"binance\",\"kind\":\"http_status\",\"status\":418}"),
          "[%s] fault 418 armed", e->name);
    http_req(e->port, "GET", "/binance/api/v3/ticker/price?symbol=BTCUSDT", NULL, &r);
    check(r.status == 418 && r.retry_after[0], "[%s] REST 418 with Retry-After", e->name);
    free(r.body);
    http_req(e->port, "GET", "/binance/api/v3/ticker/price?symbol=BTCUSDT", NULL, &r);
    check(r.status == 200, "[%s] REST back to 200 after the faults", e->name);
    free(r.body);
    check(fault(e, "{\"venue\":\"okx\",\"kind\":\"slow\",\"delay_ms\":700}"),
          "[%s] fault slow armed", e->name);
    t0 = now_ms();
    http_req(e->port, "GET", "/okx/api/v5/market/ticker?instId=BTC-USDT", NULL, &r);
    check(r.status == 200 && now_ms() - t0 >= 650 && r.body
          && strstr(r.body, "{\"code\":\"0\",\"msg\":\"\",\"data\":[{\"instType\":\"SPOT\""),
          "[%s] REST slow response (%lld ms)", e->name, (long long)(now_ms() - t0));
    free(r.body);
    http_req(e->port, "GET", "/coinbase/api/v3/brokerage/market/products/BTC-USD/ticker", NULL, &r);
    check(r.status == 200 && r.body && strstr(r.body, "\"best_ask\":\"68923.67\""),
          "[%s] REST coinbase ticker", e->name);
    free(r.body);
    check(!fault_quiet(e, "{\"venue\":\"nowhere\",\"kind\":\"stall\"}", true),
          "[%s] control refuses an unknown venue", e->name);
}

static void test_state(const struct env *e)
{
    cJSON *st = control_json(e, "GET", "/state?messages=0", NULL, NULL);
    const cJSON *v = cJSON_GetObjectItem(st, "venues");

    check(st && num(cJSON_GetObjectItem(v, "binance"), "connections_total") == 3
          && num(cJSON_GetObjectItem(v, "binance"), "rejected") == 1
          && num(cJSON_GetObjectItem(v, "okx"), "connections_total") == 1
          && cJSON_GetArraySize(cJSON_GetObjectItem(st, "connections")) >= 8,
          "[%s] /state venue counters", e->name);
    cJSON_Delete(st);
}

/* Connection lifetime limits, set at run time through /config (last: the
 * age limit closes every older connection too). */
static void test_lifetimes(const struct env *e)
{
    int st = 0;
    cJSON *j = control_json(e, "POST", "/config", "{\"subscribe_timeout_ms\":300}", &st);
    struct tconn *t;

    check(st == 200 && num(j, "subscribe_timeout_ms") == 300, "[%s] /config", e->name);
    cJSON_Delete(j);
    t = ws_connect(e, "/coinbase", "coinbase-idle");
    WAIT_UNTIL(t->closed, 3000);
    check(t->connected && t->closed && t->peer_close_code == 1008,
          "[%s] no subscription within the timeout: closed 1008 (%d)", e->name,
          t->peer_close_code);
    j = control_json(e, "POST", "/config", "{\"subscribe_timeout_ms\":-1,"
                     "\"max_conn_age_s\":1}", &st);
    cJSON_Delete(j);
    int64_t t0 = now_ms();
    t = ws_connect(e, "/kraken/v2", "kraken-aged");
    WAIT_UNTIL(t->closed, 4000);
    check(t->closed && t->peer_close_code == 1001 && now_ms() - t0 >= 900,
          "[%s] max_conn_age: closed 1001 after %lld ms", e->name,
          (long long)(now_ms() - t0));
    j = control_json(e, "POST", "/config", "{\"max_conn_age_s\":0}", &st);
    cJSON_Delete(j);
}

/* ---- sequence ids across loops and connections ---- */

#define MAX_IDS 16384

enum { ID_NUMBER = 1, ID_DIGITS = 2, ID_OTHER = 4 };

/* Appends the values of `key` (at any depth, in document order) to out;
 * *types collects the JSON types met. */
static void collect_ids(const cJSON *j, const char *key, long long *out,
                        size_t *n, int *types)
{
    for (const cJSON *it = j ? j->child : NULL; it; it = it->next) {
        if (it->string && !strcmp(it->string, key) && *n < MAX_IDS) {
            const char *sv = cJSON_GetStringValue(it);
            if (cJSON_IsNumber(it)) {
                *types |= ID_NUMBER;
                out[(*n)++] = (long long)it->valuedouble;
            } else if (sv && *sv && strspn(sv, "0123456789") == strlen(sv)) {
                *types |= ID_DIGITS;
                out[(*n)++] = atoll(sv);
            } else {
                *types |= ID_OTHER;
            }
        }
        collect_ids(it, key, out, n, types);
    }
}

/* The `key` ids of the frames containing `needle`, in order. */
static size_t frame_ids(const struct tconn *t, const char *needle,
                        const char *key, long long *out, int *types)
{
    size_t n = 0;

    *types = 0;
    for (size_t i = 0; i < t->nframes; i++) {
        if (strstr(t->frames[i], needle)) {
            cJSON *j = cJSON_Parse(t->frames[i]);
            collect_ids(j, key, out, &n, types);
            cJSON_Delete(j);
        }
    }
    return n;
}

static bool increasing(const long long *v, size_t n, bool strict)
{
    for (size_t i = 1; i < n; i++) {
        if (strict ? v[i] <= v[i - 1] : v[i] < v[i - 1]) {
            return false;
        }
    }
    return n > 0;
}

static void close_by_fault(const struct env *e, const char *venue,
                           const char *path, struct tconn *t)
{
    char body[256];

    snprintf(body, sizeof body, "{\"venue\":\"%s\",\"kind\":\"close_code\",\"code\":1000,"
             "\"conn\":%d}", venue, conn_id(e, venue, path));
    fault(e, body);
    WAIT_UNTIL(t->closed, 3000);
}

#define AGG "\"e\":\"aggTrade\""

/* e runs with continuing ids (the default), r with --restart-sequences;
 * both at --speed 40, so a recording loops in about a second. */
static void test_sequences(const struct env *e, const struct env *r)
{
    const char *bpath = "/binance/ws/btcusdt@aggTrade";
    long long *a = malloc(MAX_IDS * sizeof *a), *b = malloc(MAX_IDS * sizeof *b);
    size_t na, nb;
    int types;

    if (!a || !b) {
        abort();
    }
    /* several venues at once: each recording loops at least twice */
    struct tconn *bn = ws_connect(e, bpath, "seq-binance-1");
    struct tconn *cx = ws_connect(e, "/coinbase-exchange", "seq-cbx");
    struct tconn *at = ws_connect(e, "/coinbase", "seq-coinbase");
    struct tconn *ok = ws_connect(e, "/okx/ws/v5/public", "seq-okx");
    struct tconn *bl = ws_connect(e, "/bybit/v5/public/linear", "seq-bybit-linear");
    struct tconn *bs = ws_connect(e, "/bybit/v5/public/spot", "seq-bybit-spot");
    ws_send(cx, "{\"type\":\"subscribe\",\"product_ids\":[\"BTC-USD\"],\"channels\":"
            "[\"ticker\",\"matches\"]}");
    ws_send(at, "{\"type\":\"subscribe\",\"product_ids\":[\"BTC-USD\"],"
            "\"channel\":\"market_trades\"}");
    ws_send(ok, "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"trades\",\"instId\":"
            "\"BTC-USDT\"}]}");
    ws_send(bl, "{\"op\":\"subscribe\",\"args\":[\"tickers.BTCUSDT\"]}");
    ws_send(bs, "{\"op\":\"subscribe\",\"args\":[\"tickers.BTCUSDT\"]}");
    /* per loop: 5 aggTrades, ~53 tickers, ~27 trade frames, 69 trades,
     * 185 and 41 tickers */
    WAIT_UNTIL(count_frames(bn, AGG) >= 13
               && count_frames(cx, "{\"type\":\"ticker\"") >= 150
               && count_frames(at, "\"type\":\"update\"") >= 60
               && count_frames(ok, "\"channel\":\"trades\"") >= 150
               && count_frames(bl, "\"topic\"") >= 400
               && count_frames(bs, "\"topic\"") >= 90, 15000);

    /* Binance: one connection over three loops, then a new one */
    cJSON *c = state_conn(e, "binance", bpath, true);
    double loops = num(cJSON_GetObjectItem(c, "replay"), "loops");
    cJSON_Delete(c);
    close_by_fault(e, "binance", bpath, bn);
    na = frame_ids(bn, AGG, "a", a, &types);
    check(na >= 11 && loops >= 2 && increasing(a, na, true) && types == ID_NUMBER,
          "[%s] binance aggTrade a strictly increasing over %g loops (%zu ids, %lld..%lld)",
          e->name, loops, na, na ? a[0] : -1, na ? a[na - 1] : -1);
    check(na > 0 && a[0] == 5580637,
          "[%s] the process's first loop keeps the recorded ids (a=%lld)", e->name,
          na ? a[0] : -1);
    nb = frame_ids(bn, AGG, "f", b, &types);
    check(nb == na && increasing(b, nb, true), "[%s] binance aggTrade f increasing too",
          e->name);
    struct tconn *bn2 = ws_connect(e, bpath, "seq-binance-2");
    WAIT_UNTIL(count_frames(bn2, AGG) >= 1, 5000);
    nb = frame_ids(bn2, AGG, "a", b, &types);
    check(nb >= 1 && na >= 1 && b[0] > a[na - 1],
          "[%s] a new connection continues above the last one (%lld > %lld)", e->name,
          nb ? b[0] : -1, na ? a[na - 1] : -1);

    /* Coinbase Exchange: ticker and match of one trade share sequence */
    long long *tseq = malloc(MAX_IDS * sizeof *tseq), *ttid = malloc(MAX_IDS * sizeof *ttid);
    size_t nt = 0, nm = 0, pairs = 0, split = 0;
    long long last_mseq = -1;
    bool mseq_inc = true;
    if (!tseq || !ttid) {
        abort();
    }
    for (size_t i = 0; i < cx->nframes && nt < MAX_IDS; i++) {
        if (strncmp(cx->frames[i], "{\"type\":\"ticker\"", 16) == 0) {
            tseq[nt] = json_int_after(cx->frames[i], "\"sequence\":");
            ttid[nt++] = json_int_after(cx->frames[i], "\"trade_id\":");
        }
    }
    for (size_t i = 0; i < cx->nframes; i++) {
        const char *f = cx->frames[i];
        if (strncmp(f, "{\"type\":\"match\"", 15) != 0
            && strncmp(f, "{\"type\":\"last_match\"", 20) != 0) {
            continue;
        }
        long long s = json_int_after(f, "\"sequence\":"), id = json_int_after(f, "\"trade_id\":");
        mseq_inc &= s > last_mseq;
        last_mseq = s;
        nm++;
        for (size_t k = 0; k < nt; k++) {
            if (ttid[k] == id) {
                pairs += tseq[k] == s;
                split += tseq[k] != s;
                break;
            }
        }
    }
    check(nt >= 150 && increasing(tseq, nt, true) && increasing(ttid, nt, true),
          "[%s] coinbase exchange ticker sequence and trade_id strictly increasing "
          "(%zu tickers, sequence %lld..%lld)", e->name, nt, nt ? tseq[0] : -1,
          nt ? tseq[nt - 1] : -1);
    check(nm >= 140 && mseq_inc && pairs >= 140 && split == 0,
          "[%s] coinbase exchange ticker/match pairs share sequence over loops "
          "(%zu matches, %zu pairs, %zu split)", e->name, nm, pairs, split);
    free(tseq);
    free(ttid);

    /* Coinbase AT trade_id: digit strings, each frame's above the last */
    {
        long long prev = -1;
        size_t frames = 0;
        bool inc = true, strs = true;
        for (size_t i = 0; i < at->nframes; i++) {
            if (!strstr(at->frames[i], "\"channel\":\"market_trades\"")) {
                continue;
            }
            cJSON *j = cJSON_Parse(at->frames[i]);
            size_t n = 0;
            types = 0;
            collect_ids(j, "trade_id", a, &n, &types);
            cJSON_Delete(j);
            long long lo = n ? a[0] : -1, hi = lo;
            for (size_t k = 1; k < n; k++) {
                lo = a[k] < lo ? a[k] : lo;
                hi = a[k] > hi ? a[k] : hi;
            }
            strs &= types == ID_DIGITS;
            inc &= n > 0 && lo > prev;
            prev = hi;
            frames++;
        }
        check(frames >= 60 && inc && strs,
              "[%s] coinbase AT trade_id strings increasing over loops (%zu frames, last %lld)",
              e->name, frames, prev);
    }

    na = frame_ids(ok, "\"channel\":\"trades\"", "tradeId", a, &types);
    check(na >= 150 && increasing(a, na, true) && types == ID_DIGITS,
          "[%s] okx tradeId strings strictly increasing over loops (%zu)", e->name, na);
    na = frame_ids(bl, "\"topic\":\"tickers.BTCUSDT\"", "cs", a, &types);
    check(na >= 400 && increasing(a, na, true) && types == ID_NUMBER,
          "[%s] bybit linear cs strictly increasing over loops (%zu)", e->name, na);
    na = frame_ids(bs, "\"topic\":\"tickers.BTCUSDT\"", "cs", a, &types);
    size_t repeats = 0;
    for (size_t i = 1; i < na; i++) {
        repeats += a[i] == a[i - 1];
    }
    check(na >= 90 && increasing(a, na, false) && repeats > na / 2 && a[na - 1] > a[0]
          && types == ID_NUMBER,
          "[%s] bybit spot cs repeats as recorded, never goes back (%zu, %zu repeats)",
          e->name, na, repeats);

    /* --restart-sequences: every loop and connection resends the recording */
    struct tconn *rb = ws_connect(r, bpath, "restart-binance-1");
    WAIT_UNTIL(count_frames(rb, AGG) >= 7, 8000);
    close_by_fault(r, "binance", bpath, rb);
    na = frame_ids(rb, AGG, "a", a, &types);
    bool resent = false;
    for (size_t i = 1; i < na; i++) {
        resent |= a[i] == a[0] && a[i - 1] > a[i];
    }
    check(na >= 7 && resent, "[%s] --restart-sequences: the next loop starts again at a=%lld",
          r->name, na ? a[0] : -1);
    struct tconn *rb2 = ws_connect(r, bpath, "restart-binance-2");
    WAIT_UNTIL(count_frames(rb2, AGG) >= 1, 5000);
    nb = frame_ids(rb2, AGG, "a", b, &types);
    check(nb >= 1 && na >= 1 && b[0] == a[0],
          "[%s] --restart-sequences: a new connection starts at the recorded a (%lld)",
          r->name, nb ? b[0] : -1);
    free(a);
    free(b);
}

/* One subscribe message with 20 products: the subscription array grows
 * past its first 16 slots while the snapshots of the new ones go out. */
static void test_many_subs(const struct env *e)
{
    struct tconn *t = ws_connect(e, "/coinbase-exchange", "cbx-20");
    char msg[1024], needle[64];
    size_t n = 0, each = 0;

    n = (size_t)snprintf(msg, sizeof msg, "{\"type\":\"subscribe\",\"product_ids\":[");
    for (int i = 1; i <= 20; i++) {
        n += (size_t)snprintf(msg + n, sizeof msg - n, "%s\"P%02d-USD\"", i > 1 ? "," : "", i);
    }
    snprintf(msg + n, sizeof msg - n, "],\"channels\":[\"matches\"]}");
    ws_send(t, msg);
    WAIT_UNTIL(count_frames(t, "{\"type\":\"last_match\"") >= 20, 5000);
    for (int i = 1; i <= 20; i++) {
        snprintf(needle, sizeof needle, "\"product_id\":\"P%02d-USD\"", i);
        for (size_t k = 0; k < t->nframes; k++) {
            if (strncmp(t->frames[k], "{\"type\":\"last_match\"", 20) == 0
                && strstr(t->frames[k], needle)) {
                each++;
                break;
            }
        }
    }
    check(count_frames(t, "{\"type\":\"last_match\"") == 20 && each == 20 && !t->closed,
          "[%s] 20 subscriptions in one message: one last_match each (%zu)", e->name, each);
}

/* ---- process control ---- */

static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();

    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int run_wait(char *const argv[])
{
    int st;
    pid_t pid = spawn(argv, "/dev/null");

    if (pid < 0 || waitpid(pid, &st, 0) != pid) {
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool read_ready(struct env *e)
{
    int64_t dl = now_ms() + 10000;

    while (now_ms() < dl) {
        FILE *fp = fopen(e->ready, "r");
        if (fp) {
            char buf[256] = "";
            size_t n = fread(buf, 1, sizeof buf - 1, fp);
            fclose(fp);
            buf[n] = '\0';
            cJSON *j = cJSON_Parse(buf);
            e->port = (int)num(j, "port");
            e->control_port = (int)num(j, "control_port");
            cJSON_Delete(j);
            return e->port > 0 && e->control_port > 0;
        }
        if (waitpid(e->pid, NULL, WNOHANG) == e->pid) {
            e->pid = 0;
            return false;
        }
        usleep(20000);
    }
    return false;
}

static bool stop_fake(struct env *e)
{
    int st = -1;
    int64_t dl;
    bool clean = false;

    if (e->pid <= 0) {
        return false;
    }
    kill(e->pid, SIGTERM);
    dl = now_ms() + 5000;
    while (now_ms() < dl) {
        pid_t r = waitpid(e->pid, &st, WNOHANG);
        if (r == e->pid) {
            clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;
            e->pid = 0;
            return clean;
        }
        usleep(20000);
    }
    kill(e->pid, SIGKILL);
    waitpid(e->pid, NULL, 0);
    e->pid = 0;
    return false;
}

static void dump_log(const char *path)
{
    char line[1024];
    FILE *fp = fopen(path, "r");

    if (!fp) {
        return;
    }
    printf("---- %s ----\n", path);
    while (fgets(line, sizeof line, fp)) {
        fputs(line, stdout);
    }
    fclose(fp);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "fake", required_argument, NULL, 'f' },
        { "fixtures", required_argument, NULL, 'x' },
        { "cert-script", required_argument, NULL, 'c' },
        { "verbose", no_argument, NULL, 'v' },
        { "keep", no_argument, NULL, 'k' },
        { NULL, 0, NULL, 0 },
    };
    const char *fake = NULL, *fixtures = NULL, *cert_script = NULL;
    char dir[] = "/tmp/fake_exchange_test.XXXXXX", cert[600], key[600];
    struct lws_context_creation_info info;
    int o;

    while ((o = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
        switch (o) {
        case 'f': fake = optarg; break;
        case 'x': fixtures = optarg; break;
        case 'c': cert_script = optarg; break;
        case 'v': verbose = true; break;
        case 'k': keep = true; break;
        default: return 2;
        }
    }
    if (!fake || !fixtures || !cert_script) {
        fprintf(stderr, "usage: test_fake_exchange --fake BIN --fixtures DIR "
                "--cert-script SCRIPT [--verbose] [--keep]\n");
        return 2;
    }
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm(TEST_DEADLINE_S);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    {
        char *const args[] = { "/bin/bash", (char *)cert_script, dir, NULL };
        if (run_wait(args) != 0) {
            printf("FAIL: %s could not make a certificate (is openssl installed?)\n",
                   cert_script);
            return 1;
        }
    }
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    cafile = cert;

    for (int i = 0; i < N_ENVS; i++) {
        static const char *const names[N_ENVS] = { "ws", "wss", "seq", "seq-restart" };
        struct env *e = &envs[i];
        e->tls = i == 1;
        e->name = names[i];
        snprintf(e->ready, sizeof e->ready, "%s/%s.ready", dir, e->name);
        snprintf(e->log, sizeof e->log, "%s/%s.log", dir, e->name);
        char *args[32];
        int n = 0;
        args[n++] = (char *)fake;
        args[n++] = "--port";
        args[n++] = "0";
        args[n++] = "--control-port";
        args[n++] = "0";
        args[n++] = "--fixtures";
        args[n++] = (char *)fixtures;
        args[n++] = "--ready-file";
        args[n++] = e->ready;
        args[n++] = "--speed";
        args[n++] = i >= 2 ? "40" : "4";
        if (i == 3) {
            args[n++] = "--restart-sequences";
        }
        args[n++] = "--ping-interval-ms";
        args[n++] = "300";
        args[n++] = "--heartbeat-ms";
        args[n++] = "200";
        args[n++] = "--exit-after";
        args[n++] = "150";
        if (e->tls) {
            args[n++] = "--tls";
            args[n++] = "--cert";
            args[n++] = cert;
            args[n++] = "--key";
            args[n++] = key;
        }
        args[n] = NULL;
        e->pid = spawn(args, e->log);
        if (e->pid <= 0 || !read_ready(e)) {
            printf("FAIL: fake_exchange (%s) did not start\n", e->name);
            dump_log(e->log);
            kill_children();
            return 1;
        }
    }

    lws_set_log_level(LLL_ERR, NULL);
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.client_ssl_ca_filepath = cafile;
    info.fd_limit_per_thread = 256;
    ctx = lws_create_context(&info);
    if (!ctx) {
        printf("FAIL: lws client context\n");
        kill_children();
        return 1;
    }
    lws_sul_schedule(ctx, 0, &pump_sul, pump_cb, 20 * LWS_US_PER_MS);

    for (int i = 0; i < 2; i++) {
        const struct env *e = &envs[i];
        int64_t t0 = now_ms();
        printf("== %s: exchange port %d, control port %d\n", e->name, e->port,
               e->control_port);
        fflush(stdout);
        test_binance(e);
        test_okx(e);
        test_bybit(e);
        test_coinbase(e);
        test_kraken(e);
        test_rest(e);
        test_state(e);
        test_lifetimes(e);
        printf("== %s done in %lld ms\n", e->name, (long long)(now_ms() - t0));
    }
    {
        int64_t t0 = now_ms();
        printf("== %s/%s: sequence ids across loops and connections\n",
               envs[2].name, envs[3].name);
        fflush(stdout);
        test_sequences(&envs[2], &envs[3]);
        test_many_subs(&envs[2]);
        printf("== sequences done in %lld ms\n", (long long)(now_ms() - t0));
    }

    lws_sul_cancel(&pump_sul);
    lws_context_destroy(ctx);
    for (size_t i = 0; i < nall; i++) {
        struct tconn *t = all_conns[i];
        for (size_t k = 0; k < t->nframes; k++) {
            free(t->frames[k]);
        }
        for (size_t k = 0; k < t->nout; k++) {
            free(t->out[k]);
        }
        free(t->frames);
        free(t->rx);
        free(t->body);
        free(t);
    }
    for (int i = 0; i < N_ENVS; i++) {
        check(stop_fake(&envs[i]), "[%s] fake_exchange exits 0 on SIGTERM", envs[i].name);
    }
    if (failures) {
        for (int i = 0; i < N_ENVS; i++) {
            dump_log(envs[i].log);
        }
    } else if (keep) {
        printf("kept %s\n", dir);
    } else {
        char *const rm[] = { "/bin/rm", "-rf", dir, NULL };
        run_wait(rm);
    }
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
