/* The event loop: a libuv loop owned here, libwebsockets joined to it as a
 * foreign loop (so lws, timers and later curl share one thread), and
 * timers built on uv handles. */
#include "connectors/loop_internal.h"

#include <stdlib.h>
#include <string.h>

#include "cryptosup/err.h"
#include "cryptosup/log.h"

#define LOG_LOOP "conn.loop"

/* lws logs through us, one line each, never at a level above WARN. */
static void lws_log_line(int level, const char *line)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        n--;
    }
    /* HTTP clients can cause this one at will (oversized request
     * headers): at most one line a minute. */
    if (strstr(line, "header data space") != NULL) {
        cs_log_limited(CS_LOG_WARN, "conn.lws", "header-space", "%.*s "
                       "(request headers over the limit; connection closed)",
                       (int)n, line);
        return;
    }
    cs_log(level == LLL_ERR ? CS_LOG_WARN : CS_LOG_DEBUG, "conn.lws", "%.*s",
           (int)n, line);
}

struct cs_loop *cs_loop_new(const struct cs_loop_options *opt)
{
    struct cs_loop *loop = cs_xcalloc(1, sizeof *loop);
    struct lws_context_creation_info info;
    void *foreign[1];

    if (uv_loop_init(&loop->uv) != 0) {
        cs_log_error(LOG_LOOP, "cannot create the event loop");
        free(loop);
        return NULL;
    }
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
    memset(&info, 0, sizeof info);
    foreign[0] = &loop->uv;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = cs_ws_protocols;
    info.options = LWS_SERVER_OPTION_LIBUV |
                   LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign;
    info.client_ssl_ca_filepath = opt && opt->ca_file ? opt->ca_file : NULL;
    info.pcontext = &loop->lws;   /* lws clears it once fully destroyed */
    loop->lws = lws_create_context(&info);
    if (loop->lws == NULL) {
        cs_log_error(LOG_LOOP, "cannot start libwebsockets (with the libuv "
                     "event library)%s%s", info.client_ssl_ca_filepath ?
                     "; CA file " : "", info.client_ssl_ca_filepath ?
                     info.client_ssl_ca_filepath : "");
        uv_loop_close(&loop->uv);
        free(loop);
        return NULL;
    }
    return loop;
}

static void close_walk(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (!uv_is_closing(handle)) {
        /* Our own handles are all closed by their owners first; anything
         * left belongs to nobody any more. */
        uv_close(handle, NULL);
    }
}

void cs_loop_on_teardown(struct cs_loop *loop, cs_loop_teardown_fn fn,
                         void *ctx)
{
    cs_require(loop->nteardown < CS_LOOP_MAX_TEARDOWN);
    loop->teardown[loop->nteardown].fn = fn;
    loop->teardown[loop->nteardown].ctx = ctx;
    loop->nteardown++;
}

void cs_loop_off_teardown(struct cs_loop *loop, cs_loop_teardown_fn fn,
                          void *ctx)
{
    for (size_t i = 0; i < loop->nteardown; i++) {
        if (loop->teardown[i].fn == fn && loop->teardown[i].ctx == ctx) {
            memmove(&loop->teardown[i], &loop->teardown[i + 1],
                    (loop->nteardown - i - 1) * sizeof loop->teardown[0]);
            loop->nteardown--;
            return;
        }
    }
}

void cs_loop_free(struct cs_loop *loop)
{
    if (loop == NULL) {
        return;
    }
    /* Modules with handles of their own close them first (newest first),
     * while lws and the loop are still whole. */
    while (loop->nteardown > 0) {
        size_t last = --loop->nteardown;
        loop->teardown[last].fn(loop->teardown[last].ctx);
    }
    /* With a foreign loop, lws 4.1 destroys its context in stages: the
     * first call closes its handles, which needs the loop to run; a later
     * call finishes (and clears loop->lws through pcontext). */
    for (int stage = 0; loop->lws && stage < 4; stage++) {
        lws_context_destroy(loop->lws);
        uv_run(&loop->uv, UV_RUN_DEFAULT);
    }
    if (loop->lws) {
        cs_log_warn(LOG_LOOP, "libwebsockets did not finish shutting down");
    }
    uv_walk(&loop->uv, close_walk, NULL);
    uv_run(&loop->uv, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop->uv) != 0) {
        cs_log_warn(LOG_LOOP, "event loop closed with handles still open");
    }
    free(loop);
}

void cs_loop_run(struct cs_loop *loop)
{
    loop->stopping = false;
    uv_run(&loop->uv, UV_RUN_DEFAULT);
}

void cs_loop_stop(struct cs_loop *loop)
{
    loop->stopping = true;
    uv_stop(&loop->uv);
}

struct cs_timer {
    uv_timer_t handle;
    cs_timer_fn fn;
    void *ctx;
    bool freed;
};

static void timer_fired(uv_timer_t *handle)
{
    struct cs_timer *t = handle->data;
    if (!t->freed) {
        t->fn(t->ctx);
    }
}

struct cs_timer *cs_timer_new(struct cs_loop *loop, cs_timer_fn fn,
                              void *ctx)
{
    struct cs_timer *t = cs_xcalloc(1, sizeof *t);
    cs_require(uv_timer_init(&loop->uv, &t->handle) == 0);
    t->handle.data = t;
    t->fn = fn;
    t->ctx = ctx;
    return t;
}

void cs_timer_start(struct cs_timer *t, int64_t delay_ms, int64_t repeat_ms)
{
    uv_timer_start(&t->handle, timer_fired,
                   (uint64_t)(delay_ms > 0 ? delay_ms : 0),
                   (uint64_t)(repeat_ms > 0 ? repeat_ms : 0));
}

void cs_timer_stop(struct cs_timer *t)
{
    uv_timer_stop(&t->handle);
}

static void timer_closed(uv_handle_t *handle)
{
    free(handle->data);
}

void cs_timer_free(struct cs_timer *t)
{
    if (t == NULL) {
        return;
    }
    t->freed = true;
    uv_timer_stop(&t->handle);
    uv_close((uv_handle_t *)&t->handle, timer_closed);
}
