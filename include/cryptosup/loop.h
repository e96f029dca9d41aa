/* The engine's event loop: libuv, with libwebsockets attached as a foreign
 * loop, plus timers for connectors. Loop thread only; nothing here blocks.
 * libuv and lws types stay inside src/connectors/. */
#ifndef CRYPTOSUP_LOOP_H
#define CRYPTOSUP_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct cs_loop_options {
    const char *ca_file;   /* CA bundle for wss/https; NULL: system default */
};

struct cs_loop;

/* NULL on failure (logged to conn.loop). */
struct cs_loop *cs_loop_new(const struct cs_loop_options *opt);
/* Tear down lws and every handle, running the loop until all are closed.
 * NULL is fine. */
void cs_loop_free(struct cs_loop *loop);
/* Run until cs_loop_stop (or until nothing is left to run). */
void cs_loop_run(struct cs_loop *loop);
void cs_loop_stop(struct cs_loop *loop);

struct cs_timer;
typedef void (*cs_timer_fn)(void *ctx);

struct cs_timer *cs_timer_new(struct cs_loop *loop, cs_timer_fn fn,
                              void *ctx);
/* (Re)arm: first run after delay_ms, then every repeat_ms (0: once). */
void cs_timer_start(struct cs_timer *t, int64_t delay_ms, int64_t repeat_ms);
void cs_timer_stop(struct cs_timer *t);
/* Stop and release; the memory goes when the loop has closed the handle,
 * and `fn` is never called again. NULL is fine. */
void cs_timer_free(struct cs_timer *t);

#endif
