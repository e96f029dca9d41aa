/* What the connector modules share about the loop: the libuv loop and the
 * lws context. Only src/connectors/ includes this. */
#ifndef CS_CONNECTORS_LOOP_INTERNAL_H
#define CS_CONNECTORS_LOOP_INTERNAL_H

#include <libwebsockets.h>
#include <uv.h>

#include "cryptosup/loop.h"

struct cs_loop {
    uv_loop_t uv;
    struct lws_context *lws;
    bool stopping;
};

/* The client protocol list lws runs our connections with (ws.c). */
extern const struct lws_protocols cs_ws_protocols[];

#endif
