/* Warm start on the loop thread: asks the store's writer for the recent
 * rows of every configured symbol and feeds what arrives to the engine as
 * warm ticks (windows and alert state move, nobody is notified), a bounded
 * slice per timer run so the loop stays responsive. */
#include <stdlib.h>
#include <string.h>

#include "cryptosup/engine.h"
#include "cryptosup/log.h"
#include "cryptosup/loop.h"
#include "cryptosup/store.h"
#include "cryptosup/timeutil.h"

#define LOG_RESTORE "store"
#define SLICE_ROWS 4096
#define PERIOD_MS 5
#define MARGIN_S 300

struct key {
    const char *venue;   /* static venue name */
    char *raw;           /* venue spelling, owned */
};

struct cs_store_restore {
    struct cs_store *store;
    struct cs_engine *engine;
    struct cs_timer *timer;
    struct key *keys;
    size_t nkeys;
    struct cs_store_warm_row *rows;
    uint64_t fed, refused;
    cs_store_restore_fn done;
    void *ctx;
    bool finished;
};

static void feed(struct cs_store_restore *r, const struct cs_store_warm_row *w)
{
    struct cs_tick t;
    const struct key *k;

    if (w->key >= r->nkeys) {
        return;
    }
    k = &r->keys[w->key];
    memset(&t, 0, sizeof t);
    t.exchange = k->venue;
    t.raw_symbol.ptr = k->raw;
    t.raw_symbol.len = strlen(k->raw);
    t.kind = CS_TICK_TRADE;
    t.price_text.ptr = w->price;
    t.price_text.len = strlen(w->price);
    if (!cs_decimal_parse(w->price, t.price_text.len, &t.price)) {
        r->refused++;
        return;
    }
    t.has_price = true;
    t.ts_ns = w->ts_ns;
    cs_engine_warm_tick(r->engine, &t);
    r->fed++;
}

static void on_timer(void *arg)
{
    struct cs_store_restore *r = arg;
    bool over = false;
    size_t n;

    if (r->finished) {
        return;
    }
    n = cs_store_warm_take(r->store, r->rows, SLICE_ROWS, &over);
    for (size_t i = 0; i < n; i++) {
        feed(r, &r->rows[i]);
    }
    if (over) {
        r->finished = true;
        cs_timer_stop(r->timer);
        cs_log_info(LOG_RESTORE, "warm start: %llu rows restored into the "
                    "windows of %zu instruments%s",
                    (unsigned long long)r->fed, r->nkeys,
                    r->refused ? " (some unparseable prices skipped)" : "");
        if (r->done) {
            r->done(r->ctx, r->fed);
        }
    }
}

struct cs_store_restore *cs_store_restore_start(struct cs_loop *loop,
                                                struct cs_store *s,
                                                struct cs_engine *e,
                                                int64_t deadline_ms,
                                                cs_store_restore_fn done,
                                                void *ctx)
{
    const struct cs_config *cfg = cs_engine_config(e);
    struct cs_store_restore *r = cs_xcalloc(1, sizeof *r);
    struct cs_store_warm_key *wk;
    size_t n = 0;
    int64_t widest;

    for (size_t i = 0; i < cfg->nexchanges; i++) {
        n += cfg->exchanges[i].nsymbols;
    }
    widest = cs_engine_widest_window_s(e);
    r->store = s;
    r->engine = e;
    r->done = done;
    r->ctx = ctx;
    r->keys = cs_xcalloc(n ? n : 1, sizeof *r->keys);
    r->rows = cs_xcalloc(SLICE_ROWS, sizeof *r->rows);
    wk = cs_xcalloc(n ? n : 1, sizeof *wk);
    for (size_t i = 0; i < cfg->nexchanges; i++) {
        const struct cs_config_exchange *x = &cfg->exchanges[i];
        for (size_t k = 0; k < x->nsymbols; k++) {
            r->keys[r->nkeys].venue = x->venue->name;
            r->keys[r->nkeys].raw = cs_xstrdup(x->symbols[k].raw);
            wk[r->nkeys].exchange = x->venue->name;
            wk[r->nkeys].symbol = x->symbols[k].symbol;
            r->nkeys++;
        }
    }
    cs_store_warm_begin(s, wk, r->nkeys,
                        (widest + MARGIN_S) * CS_NS_PER_S, deadline_ms);
    free(wk);
    r->timer = cs_timer_new(loop, on_timer, r);
    cs_timer_start(r->timer, 0, PERIOD_MS);
    return r;
}

void cs_store_restore_free(struct cs_store_restore *r)
{
    if (r == NULL) {
        return;
    }
    cs_timer_free(r->timer);
    for (size_t i = 0; i < r->nkeys; i++) {
        free(r->keys[i].raw);
    }
    free(r->keys);
    free(r->rows);
    free(r);
}
