/* What the connector modules share about the loop: the libuv loop and the
 * lws context. Only src/connectors/ includes this. */
#ifndef CS_CONNECTORS_LOOP_INTERNAL_H
#define CS_CONNECTORS_LOOP_INTERNAL_H

#include <libwebsockets.h>
#include <uv.h>

#include "cryptosup/loop.h"

/* Run at the start of cs_loop_free (see cs_loop_on_teardown). */
typedef void (*cs_loop_teardown_fn)(void *ctx);
#define CS_LOOP_MAX_TEARDOWN 8

struct cs_loop {
    uv_loop_t uv;
    struct lws_context *lws;
    bool stopping;
    struct {
        cs_loop_teardown_fn fn;
        void *ctx;
    } teardown[CS_LOOP_MAX_TEARDOWN];   /* registered, oldest first */
    size_t nteardown;
};

/* Modules that keep third-party state with handles on this loop (curl's
 * multi handle and its sockets) register here: cs_loop_free calls fn(ctx),
 * newest first, before it closes lws and any handle left, so they can end
 * their transfers and close their handles in order. At most
 * CS_LOOP_MAX_TEARDOWN registrations (aborts beyond). Loop thread only. */
void cs_loop_on_teardown(struct cs_loop *loop, cs_loop_teardown_fn fn,
                         void *ctx);
/* Forget a registration (its owner went away first). Unknown ones are
 * ignored. */
void cs_loop_off_teardown(struct cs_loop *loop, cs_loop_teardown_fn fn,
                          void *ctx);

/* The client protocol list lws runs our connections with (ws.c). */
extern const struct lws_protocols cs_ws_protocols[];

#endif
