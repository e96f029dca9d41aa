/* The HTTP endpoint on the engine's loop: /metrics (Prometheus text),
 * /healthz, /api/prices and /api/alerts, served by a libwebsockets vhost
 * that listens on the loop's lws context. Plain HTTP, GET only; responses
 * are built in memory and written in chunks as the socket takes them.
 * Loop thread only; nothing here blocks. */
#ifndef CRYPTOSUP_HTTP_SERVER_H
#define CRYPTOSUP_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "cryptosup/engine.h"
#include "cryptosup/loop.h"
#include "cryptosup/metrics.h"

/* Whether the daemon is healthy; when not, a one-line reason goes into
 * `reason` (NUL-terminated, at most `size` bytes). */
typedef bool (*cs_http_health_fn)(void *ctx, char *reason, size_t size);

struct cs_http_server_options {
    const char *listen;          /* "host:port" or ":port"; port 0: any */
    struct cs_metrics *metrics;  /* rendered for /metrics */
    struct cs_engine *engine;    /* /api/prices, /api/alerts */
    cs_http_health_fn health;    /* /healthz; NULL: always healthy */
    void *health_ctx;
    unsigned max_clients;        /* simultaneous connections; 0: 64 */
};

struct cs_http_server;

/* Listen on opt->listen and log the address ("listening on
 * http://HOST:PORT"). The registry, engine and health context are borrowed
 * and must outlive the server. NULL when the address cannot be used
 * (logged to metrics.http). */
struct cs_http_server *cs_http_server_new(struct cs_loop *loop,
                                          const struct cs_http_server_options *opt);

/* The port listened on (the chosen one when the config said 0). */
int cs_http_server_port(const struct cs_http_server *s);
/* The listen address as configured. Borrowed until free. */
const char *cs_http_server_listen(const struct cs_http_server *s);

/* Stop listening and drop open connections (they close as the loop runs,
 * e.g. in cs_loop_free). Call before freeing what the server reads.
 * NULL is fine. */
void cs_http_server_free(struct cs_http_server *s);

#endif
