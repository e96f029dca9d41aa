/* WebSocket client connections on the engine loop (libwebsockets). A
 * connection delivers whole text frames (fragments reassembled, size
 * capped), sends queued text messages, and reports its end exactly once.
 * Server pings are answered by lws. Loop thread only. */
#ifndef CRYPTOSUP_WS_H
#define CRYPTOSUP_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/loop.h"

struct cs_ws;

struct cs_ws_events {
    /* The handshake completed. */
    void (*opened)(void *ctx);
    /* One complete frame. `text` is valid during the call only. */
    void (*frame)(void *ctx, const char *text, size_t len, int64_t recv_ns);
    /* A frame larger than the cap was dropped (the connection goes on). */
    void (*oversize)(void *ctx, size_t bytes);
    /* The connection failed or ended; `code` is the peer's close code, 0
     * for none (abrupt), -1 when it never opened. After this call the
     * cs_ws is gone. */
    void (*closed)(void *ctx, int code, const char *why);
};

/* Start connecting to ws:// or wss:// `url`. NULL (logged) for a URL that
 * cannot be parsed or when lws refuses at once; otherwise exactly one
 * `closed` event will follow, eventually. */
struct cs_ws *cs_ws_connect(struct cs_loop *loop, const char *url,
                            size_t max_frame_bytes,
                            const struct cs_ws_events *ev, void *ctx);

/* Queue a text message (copied). False when the queue is full or the
 * connection is closing. */
bool cs_ws_send(struct cs_ws *ws, const char *text, size_t len);

/* Close (normal closure). `closed` follows; until then frames may still
 * arrive but are not delivered. */
void cs_ws_close(struct cs_ws *ws);

/* Close and forget: no event is delivered any more (not even `closed`);
 * the connection frees itself when lws is done with it. For owners that
 * are going away. */
void cs_ws_abandon(struct cs_ws *ws);

#endif
