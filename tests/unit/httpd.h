/* A tiny HTTP/1.1 server on the engine's own libuv loop, for the HTTP and
 * REST unit tests: 127.0.0.1 on a port the kernel picks, one request per
 * connection, answers decided by a handler (status, extra headers, body,
 * or no answer at all to test timeouts). Never reaches beyond loopback. */
#ifndef CS_TEST_HTTPD_H
#define CS_TEST_HTTPD_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "connectors/loop_internal.h"

struct th_reply {
    int status;
    char headers[256];   /* extra header lines, each ending in \r\n */
    char *body;          /* malloc'd (freed by the server) or NULL */
    size_t body_len;
    bool hang;           /* never answer (the client times out) */
};

/* Decide the reply to GET `target` (path and query). */
typedef void (*th_handler)(void *ctx, const char *target,
                           struct th_reply *reply);

struct th_client;

struct th_server {
    uv_tcp_t listener;
    int port;
    th_handler handler;
    void *ctx;
    unsigned requests;
    struct th_client *clients;
};

struct th_client {
    uv_tcp_t tcp;
    struct th_server *srv;
    char in[8192];
    size_t len;
    bool answered, closing;
    uv_write_t wr;
    char *out;
    struct th_client *prev, *next;
};

static inline void th_client_closed(uv_handle_t *h)
{
    struct th_client *c = h->data;
    struct th_server *s = c->srv;

    if (c->prev) {
        c->prev->next = c->next;
    } else {
        s->clients = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    free(c->out);
    free(c);
}

static inline void th_client_close(struct th_client *c)
{
    if (!c->closing) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, th_client_closed);
    }
}

static inline void th_written(uv_write_t *wr, int status)
{
    (void)status;
    th_client_close(wr->data);
}

static inline void th_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct th_client *c = h->data;

    (void)hint;
    buf->base = c->in + c->len;
    buf->len = sizeof c->in - 1 - c->len;
}

static inline void th_answer(struct th_client *c)
{
    struct th_reply r;
    char target[1024] = "";
    size_t head;
    uv_buf_t buf;

    memset(&r, 0, sizeof r);
    r.status = 200;
    sscanf(c->in, "GET %1023s HTTP/1.1", target);
    c->srv->requests++;
    c->srv->handler(c->srv->ctx, target, &r);
    c->answered = true;
    if (r.hang) {
        free(r.body);
        return;
    }
    c->out = malloc(512 + r.body_len);
    if (c->out == NULL) {
        abort();
    }
    head = (size_t)snprintf(c->out, 512, "HTTP/1.1 %d Test\r\nContent-Length: "
                            "%zu\r\nConnection: close\r\n%s\r\n", r.status,
                            r.body_len, r.headers);
    if (r.body_len) {
        memcpy(c->out + head, r.body, r.body_len);
    }
    free(r.body);
    buf = uv_buf_init(c->out, (unsigned)(head + r.body_len));
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &buf, 1, th_written) != 0) {
        th_client_close(c);
    }
}

static inline void th_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct th_client *c = st->data;

    (void)buf;
    if (n < 0) {
        th_client_close(c);
        return;
    }
    c->len += (size_t)n;
    c->in[c->len] = '\0';
    if (!c->answered && strstr(c->in, "\r\n\r\n")) {
        th_answer(c);
    } else if (c->len + 1 >= sizeof c->in) {
        th_client_close(c);
    }
}

static inline void th_accept(uv_stream_t *listener, int status)
{
    struct th_server *s = listener->data;
    struct th_client *c;

    if (status < 0) {
        return;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        abort();
    }
    c->srv = s;
    uv_tcp_init(listener->loop, &c->tcp);
    c->tcp.data = c;
    c->next = s->clients;
    if (s->clients) {
        s->clients->prev = c;
    }
    s->clients = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0
        || uv_read_start((uv_stream_t *)&c->tcp, th_alloc, th_read) != 0) {
        th_client_close(c);
    }
}

/* Listen on 127.0.0.1:<any>; false when that fails. */
static inline bool th_start(struct th_server *s, struct cs_loop *loop,
                            th_handler handler, void *ctx)
{
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof got;

    memset(s, 0, sizeof *s);
    s->handler = handler;
    s->ctx = ctx;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_init(&loop->uv, &s->listener);
    s->listener.data = s;
    if (uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0) != 0
        || uv_listen((uv_stream_t *)&s->listener, 64, th_accept) != 0
        || uv_tcp_getsockname(&s->listener, (struct sockaddr *)&got, &len)
           != 0) {
        return false;
    }
    s->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    return true;
}

/* Close the listener and every connection (the loop finishes the close). */
static inline void th_stop(struct th_server *s)
{
    struct th_client *c = s->clients;

    while (c) {
        struct th_client *next = c->next;
        th_client_close(c);
        c = next;
    }
    uv_close((uv_handle_t *)&s->listener, NULL);
}

/* A malloc'd copy of `text` as a reply body. */
static inline void th_body(struct th_reply *r, const char *text)
{
    r->body_len = strlen(text);
    r->body = malloc(r->body_len + 1);
    if (r->body == NULL) {
        abort();
    }
    memcpy(r->body, text, r->body_len + 1);
}

#endif
