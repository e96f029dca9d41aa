/* The instrument table: (venue, raw symbol) interned to a record holding
 * the normalised symbol, the windows and the alert state of every rule
 * that watches it. Private to the engine. Loop thread only. */
#ifndef CS_ENGINE_INSTRUMENTS_H
#define CS_ENGINE_INSTRUMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/alert.h"
#include "cryptosup/config.h"
#include "cryptosup/engine.h"
#include "cryptosup/rules.h"
#include "cryptosup/tick.h"
#include "cryptosup/window.h"

#define CS_MAX_WINDOWS 32
#define CS_SYMBOL_MAX 48

struct cs_instrument {
    const struct cs_venue_ops *venue;
    unsigned venue_index;           /* in cs_venue_all(), for counters */
    char raw[CS_SYMBOL_MAX];        /* venue spelling, as received */
    char symbol[CS_SYMBOL_MAX];     /* BASE/QUOTE */
    bool watched;                   /* passes the config's symbol lists */
    struct cs_window **windows;     /* one per engine window; NULL if !watched */
    size_t nwindows;
    size_t *rules;                  /* indices of the rules that watch it */
    struct cs_alert_state *states;  /* parallel to rules */
    size_t nrules;
    bool has_last;
    int64_t last_ts_ns;             /* newest accepted tick */
    struct cs_decimal last_price;   /* newest series price */
    bool has_bid, has_ask;          /* from the newest tick with quotes */
    struct cs_decimal bid, ask;
    bool has_trades;                /* trades/tickers seen: quotes no longer
                                       feed the series */
    /* Storage in interval mode: the interval of the last row stored and
     * the newest price of the current interval, not yet stored. */
    int64_t store_bucket;
    bool store_pending;
    struct cs_decimal store_price;
    int64_t store_ts_ns, store_recv_ns;
    uint64_t last_seq[CS_SEQ_SERIES];   /* per sequence series */
    bool has_seq[CS_SEQ_SERIES];
};

struct cs_instruments;

struct cs_instruments *cs_instruments_new(const struct cs_config *cfg,
                                          struct cs_ruleset *rs,
                                          const int64_t *windows_s,
                                          size_t nwindows);
void cs_instruments_free(struct cs_instruments *t);

/* Find or create the tick's instrument. NULL when the table is full (counted
 * in stats->instruments_refused and logged once). */
struct cs_instrument *cs_instruments_intern(struct cs_instruments *t,
                                            const struct cs_tick *tick,
                                            struct cs_engine_stats *stats);

/* The window widths every watched instrument keeps, sorted. Borrowed. */
const int64_t *cs_instruments_windows(const struct cs_instruments *t,
                                      size_t *n);

/* After a reload: re-decide what is watched, keep windows whose width is
 * unchanged, create new ones, free dropped ones, and carry alert state
 * from old_rs to new_rs for rules whose name is unchanged. */
void cs_instruments_rebind(struct cs_instruments *t,
                           const struct cs_config *cfg,
                           struct cs_ruleset *old_rs,
                           struct cs_ruleset *new_rs,
                           const int64_t *windows_s, size_t nwindows);

/* The instrument of (exchange, raw symbol), or NULL when never seen. */
struct cs_instrument *cs_instruments_lookup(struct cs_instruments *t,
                                            const char *exchange,
                                            const char *raw);
/* Instruments by creation order, i < cs_instruments_count(). */
struct cs_instrument *cs_instruments_at(struct cs_instruments *t, size_t i);

/* Compact the windows of the next `max_items` instruments (round robin),
 * off the tick path. Returns bytes freed. */
size_t cs_instruments_compact(struct cs_instruments *t, size_t max_items);

/* The engine's table (engine.c), for its metrics collector. */
struct cs_instruments *cs_engine_instruments(struct cs_engine *e);

size_t cs_instruments_window_bytes(const struct cs_instruments *t);
size_t cs_instruments_count(const struct cs_instruments *t);

#endif
