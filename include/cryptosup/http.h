/* Asynchronous HTTP GET on the engine loop: libcurl's multi_socket API
 * driven by libuv (one poll handle per socket curl opens, one timer), so a
 * request never blocks the loop, DNS included. TLS peers are always
 * verified; only http:// and https:// are spoken, redirects never change
 * the scheme; bodies are capped; the number of requests in flight is
 * bounded. Loop thread only. curl types stay inside src/connectors/. */
#ifndef CRYPTOSUP_HTTP_H
#define CRYPTOSUP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/err.h"
#include "cryptosup/loop.h"

#define CS_HTTP_DEFAULT_MAX_BODY (8u << 20)
#define CS_HTTP_DEFAULT_IN_FLIGHT 16

struct cs_http_options {
    const char *ca_file;          /* CA bundle; NULL: the system's (copied) */
    int64_t connect_timeout_ms;   /* TCP + TLS handshake; 0: 10 s */
    int64_t timeout_ms;           /* whole request; 0: 30 s */
    size_t max_body_bytes;        /* larger bodies fail; 0: 8 MiB */
    unsigned max_in_flight;       /* cs_http_get refuses beyond; 0: 16 */
};

/* Why a request produced no usable response. */
enum cs_http_fail {
    CS_HTTP_OK,            /* a response arrived (any status) */
    CS_HTTP_TIMEOUT,       /* connect or total timeout */
    CS_HTTP_CONNECT,       /* DNS, refused, reset, proxy */
    CS_HTTP_TLS,           /* handshake or certificate */
    CS_HTTP_TOO_LARGE,     /* body over max_body_bytes */
    CS_HTTP_OTHER          /* anything else curl reports */
};

/* The outcome of one request; valid during the `done` call only. */
struct cs_http_result {
    enum cs_http_fail fail;
    long status;              /* HTTP status; 0 when no response */
    const char *body;         /* NUL-terminated (never NULL; "" if none) */
    size_t body_len;
    int64_t retry_after_s;    /* Retry-After (seconds or HTTP date, as
                                 seconds from now); 0 when absent */
    int64_t total_ns;         /* request latency, queueing excluded */
    const char *error;        /* curl's text when fail != CS_HTTP_OK, else
                                 NULL; never contains the URL's query */
};

struct cs_http;
struct cs_http_req;

/* Called once per request that was not cancelled, on the loop. It may
 * start new requests and cancel others, but must not free the cs_http. */
typedef void (*cs_http_done_fn)(void *ctx, const struct cs_http_result *r);

/* A client on `loop`. NULL (logged) when curl cannot be initialised.
 * Registers with the loop so that cs_loop_free ends any transfer still
 * running first; cs_http_free may come before or after cs_loop_free. */
struct cs_http *cs_http_new(struct cs_loop *loop,
                            const struct cs_http_options *opt);
/* Cancel every request (no `done` calls) and release curl. NULL is fine. */
void cs_http_free(struct cs_http *h);

/* Start GET `url` (copied). Returns a handle for cs_http_cancel, valid
 * until `done` has been called; NULL (with *err CS_ERR_LIMIT when
 * max_in_flight requests are running, CS_ERR_INVAL for a URL that is not
 * http:// or https://) when nothing was started: `done` is then never
 * called. `err` may be NULL. */
struct cs_http_req *cs_http_get(struct cs_http *h, const char *url,
                                cs_http_done_fn done, void *ctx,
                                enum cs_err *err);
/* Abort a request; its `done` is never called. */
void cs_http_cancel(struct cs_http_req *req);

size_t cs_http_in_flight(const struct cs_http *h);
unsigned cs_http_max_in_flight(const struct cs_http *h);

/* Short static name of a failure kind ("timeout", "connect", ...). */
const char *cs_http_fail_name(enum cs_http_fail fail);

#endif
