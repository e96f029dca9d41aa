/* The HTTP client against a local server on the same loop: status, body
 * and Retry-After reach the callback; bodies over the cap, timeouts,
 * refused connections and redirects to another scheme fail with their
 * kind; the in-flight bound holds; cancelled requests stay silent; and
 * freeing with requests running (before or after the loop) leaks nothing. */
#include "cryptosup/http.h"

#include <stdlib.h>
#include <string.h>

#include "cryptosup/log.h"
#include "httpd.h"
#include "testlib.h"

static void handler(void *ctx, const char *target, struct th_reply *r)
{
    (void)ctx;
    if (strcmp(target, "/ok?x=1") == 0) {
        th_body(r, "{\"price\":\"1.5\"}");
        snprintf(r->headers, sizeof r->headers, "Content-Type: "
                 "application/json\r\n");
    } else if (strcmp(target, "/limited") == 0) {
        r->status = 429;
        snprintf(r->headers, sizeof r->headers, "Retry-After: 7\r\n");
        th_body(r, "{\"code\":-1003}");
    } else if (strcmp(target, "/big") == 0) {
        r->body_len = 5000;
        r->body = malloc(r->body_len);
        memset(r->body, 'x', r->body_len);
    } else if (strcmp(target, "/slow") == 0) {
        r->hang = true;
    } else if (strcmp(target, "/to-ftp") == 0) {
        r->status = 302;
        snprintf(r->headers, sizeof r->headers, "Location: "
                 "ftp://127.0.0.1/x\r\n");
    } else if (strcmp(target, "/to-ok") == 0) {
        r->status = 301;
        snprintf(r->headers, sizeof r->headers, "Location: /ok?x=1\r\n");
    } else {
        r->status = 404;
        th_body(r, "nope");
    }
}

struct got {
    unsigned calls;
    enum cs_http_fail fail;
    long status;
    char body[64];
    size_t body_len;
    int64_t retry_after_s, total_ns;
    bool has_error;
};

static struct cs_loop *loop;
static unsigned pending;

static void done(void *ctx, const struct cs_http_result *r)
{
    struct got *g = ctx;

    g->calls++;
    g->fail = r->fail;
    g->status = r->status;
    snprintf(g->body, sizeof g->body, "%s", r->body);
    g->body_len = r->body_len;
    g->retry_after_s = r->retry_after_s;
    g->total_ns = r->total_ns;
    g->has_error = r->error != NULL;
    if (--pending == 0) {
        cs_loop_stop(loop);
    }
}

static void give_up(void *ctx)
{
    (void)ctx;
    cs_test_fail(__FILE__, __LINE__, "requests did not finish in time");
    cs_loop_stop(loop);
}

static void stop_loop(void *ctx)
{
    (void)ctx;
    cs_loop_stop(loop);
}

/* Run the loop until `pending` requests are done (at most 5 s). */
static void run(void)
{
    struct cs_timer *guard = cs_timer_new(loop, give_up, NULL);
    cs_timer_start(guard, 5000, 0);
    cs_loop_run(loop);
    cs_timer_free(guard);
}

static void url(char *buf, size_t size, int port, const char *path)
{
    snprintf(buf, size, "http://127.0.0.1:%d%s", port, path);
}

static void test_responses(struct th_server *srv, struct cs_http *h)
{
    struct got ok = { 0 }, lim = { 0 }, big = { 0 }, miss = { 0 };
    struct got ftp = { 0 }, redir = { 0 };
    char u[128];
    enum cs_err err;

    url(u, sizeof u, srv->port, "/ok?x=1");
    CHECK(cs_http_get(h, u, done, &ok, &err) != NULL);
    CHECK_INT(err, CS_OK);
    url(u, sizeof u, srv->port, "/limited");
    CHECK(cs_http_get(h, u, done, &lim, NULL) != NULL);
    url(u, sizeof u, srv->port, "/big");
    CHECK(cs_http_get(h, u, done, &big, NULL) != NULL);
    url(u, sizeof u, srv->port, "/missing");
    CHECK(cs_http_get(h, u, done, &miss, NULL) != NULL);
    url(u, sizeof u, srv->port, "/to-ftp");
    CHECK(cs_http_get(h, u, done, &ftp, NULL) != NULL);
    url(u, sizeof u, srv->port, "/to-ok");
    CHECK(cs_http_get(h, u, done, &redir, NULL) != NULL);
    CHECK_INT(cs_http_in_flight(h), 6);
    pending = 6;
    run();
    CHECK_INT(cs_http_in_flight(h), 0);

    CHECK_INT(ok.calls, 1);
    CHECK_INT(ok.fail, CS_HTTP_OK);
    CHECK_INT(ok.status, 200);
    CHECK_STR(ok.body, "{\"price\":\"1.5\"}");
    CHECK_INT(ok.body_len, 15);
    CHECK_INT(ok.retry_after_s, 0);
    CHECK(ok.total_ns > 0 && ok.total_ns < 5 * 1000000000LL);
    CHECK(!ok.has_error);

    CHECK_INT(lim.fail, CS_HTTP_OK);
    CHECK_INT(lim.status, 429);
    CHECK_INT(lim.retry_after_s, 7);
    CHECK_STR(lim.body, "{\"code\":-1003}");

    CHECK_INT(big.fail, CS_HTTP_TOO_LARGE);
    CHECK(big.has_error);
    CHECK_INT(miss.status, 404);
    CHECK_INT(miss.fail, CS_HTTP_OK);
    /* A redirect to another scheme is not followed. */
    CHECK(ftp.fail != CS_HTTP_OK);
    CHECK(ftp.has_error);
    /* One on the same scheme is. */
    CHECK_INT(redir.status, 200);
    CHECK_STR(redir.body, "{\"price\":\"1.5\"}");
}

static void test_failures(struct th_server *srv, struct cs_http *h)
{
    struct got slow = { 0 }, refused = { 0 }, silent = { 0 };
    struct cs_http_req *req;
    char u[128];
    enum cs_err err;
    uv_tcp_t probe;
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof got, closed_port;

    /* A port that was just free: nothing listens there. */
    uv_tcp_init(&loop->uv, &probe);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_bind(&probe, (const struct sockaddr *)&addr, 0);
    uv_tcp_getsockname(&probe, (struct sockaddr *)&got, &len);
    closed_port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    uv_close((uv_handle_t *)&probe, NULL);

    url(u, sizeof u, srv->port, "/slow");
    CHECK(cs_http_get(h, u, done, &slow, NULL) != NULL);
    url(u, sizeof u, closed_port, "/x");
    CHECK(cs_http_get(h, u, done, &refused, NULL) != NULL);
    url(u, sizeof u, srv->port, "/slow");
    req = cs_http_get(h, u, done, &silent, NULL);
    CHECK(req != NULL);
    /* The bound: 3 running, 3 allowed. */
    CHECK(cs_http_get(h, u, done, &silent, &err) == NULL);
    CHECK_INT(err, CS_ERR_LIMIT);
    cs_http_cancel(req);
    CHECK_INT(cs_http_in_flight(h), 2);
    CHECK(cs_http_get(h, "ftp://127.0.0.1/", done, &silent, &err) == NULL);
    CHECK_INT(err, CS_ERR_INVAL);
    pending = 2;
    run();
    CHECK_INT(slow.calls, 1);
    CHECK_INT(slow.fail, CS_HTTP_TIMEOUT);
    CHECK_INT(slow.status, 0);
    CHECK_INT(refused.calls, 1);
    CHECK_INT(refused.fail, CS_HTTP_CONNECT);
    CHECK(refused.has_error);
    CHECK_INT(silent.calls, 0);
    CHECK_STR(cs_http_fail_name(CS_HTTP_TIMEOUT), "timeout");
}

/* Requests still running when everything is freed: no callback, no leak,
 * whichever of the client and the loop goes first. */
static void test_teardown(bool loop_first)
{
    struct cs_http_options opt = { NULL, 1000, 2000, 0, 0 };
    struct th_server srv;
    struct cs_http *h;
    struct got g = { 0 };
    char u[128];

    loop = cs_loop_new(NULL);
    CHECK(th_start(&srv, loop, handler, NULL));
    h = cs_http_new(loop, &opt);
    url(u, sizeof u, srv.port, "/slow");
    CHECK(cs_http_get(h, u, done, &g, NULL) != NULL);
    CHECK(cs_http_get(h, u, done, &g, NULL) != NULL);
    /* Let the requests connect and wait. */
    {
        struct cs_timer *t = cs_timer_new(loop, stop_loop, NULL);
        cs_timer_start(t, 200, 0);
        cs_loop_run(loop);
        cs_timer_free(t);
    }
    CHECK_INT(cs_http_in_flight(h), 2);
    th_stop(&srv);
    if (loop_first) {
        cs_loop_free(loop);
        cs_http_free(h);
    } else {
        cs_http_free(h);
        cs_loop_free(loop);
    }
    CHECK_INT(g.calls, 0);
    loop = NULL;
}

int main(void)
{
    struct cs_http_options opt = { NULL, 1000, 600, 1024, 6 };
    struct th_server srv;
    struct cs_http *h;

    cs_log_set_level(CS_LOG_ERROR);
    loop = cs_loop_new(NULL);
    CHECK(loop != NULL);
    CHECK(th_start(&srv, loop, handler, NULL));
    h = cs_http_new(loop, &opt);
    CHECK(h != NULL);
    CHECK_INT(cs_http_max_in_flight(h), 6);
    test_responses(&srv, h);
    cs_http_free(h);
    opt.max_in_flight = 3;
    h = cs_http_new(loop, &opt);
    test_failures(&srv, h);
    cs_http_free(h);
    th_stop(&srv);
    cs_loop_free(loop);
    test_teardown(false);
    test_teardown(true);
    return cs_test_finish("test_http");
}
