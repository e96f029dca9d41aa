/* The engine: from a received frame to rule decisions. Owns the instrument
 * table (interned symbols, their windows and alert states), the running
 * config and rule set, and the alert output. Loop thread only; allocates
 * only when a new instrument appears or on reload. */
#ifndef CRYPTOSUP_ENGINE_H
#define CRYPTOSUP_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cryptosup/alert.h"
#include "cryptosup/config.h"
#include "cryptosup/rules.h"
#include "cryptosup/tick.h"
#include "cryptosup/venue.h"

struct cs_engine_options {
    FILE *emit;            /* JSON Lines output; NULL: none */
    bool emit_ticks;
    bool emit_alerts;
    struct cs_alert_queue *alerts;   /* hand-off to notifiers; may be NULL */
};

struct cs_engine_stats {
    uint64_t frames;
    uint64_t frames_data, frames_control, frames_ignored;
    uint64_t frames_unknown, frames_malformed;
    uint64_t ticks;               /* ticks from watched instruments */
    uint64_t ticks_unwatched;     /* filtered out by the symbol lists */
    uint64_t ticks_late;          /* older than the instrument's newest */
    uint64_t ticks_invalid;       /* no usable price */
    uint64_t ticks_quotes_only;   /* quotes of instruments that trade: they
                                     do not move the series */
    uint64_t ticks_dropped;       /* more ticks in one frame than we hold */
    uint64_t ticks_duplicate;     /* sequence already seen (overlapping
                                     connections, venue resends) */
    uint64_t sequence_gaps;       /* per-instrument sequence jumps */
    uint64_t gaps_marked;         /* instruments marked gapped, all kinds */
    uint64_t instruments;
    uint64_t instruments_refused; /* past max_instruments */
    uint64_t rule_evaluations;
    uint64_t alerts_fired, alerts_suppressed, alerts_resolved;
    uint64_t alerts_held_in_warmup;   /* transitions during warm-up, not
                                         notified */
    uint64_t alerts_queue_dropped;
    uint64_t reloads_ok, reloads_failed;
    bool last_reload_ok;              /* the newest load or reload worked */
    int64_t last_reload_success_ns;   /* wall time of the newest success */
    uint64_t ticks_by_venue[CS_VENUES_MAX];   /* index in cs_venue_all() */
    uint64_t emit_errors;
};

struct cs_engine;

/* Takes ownership of cfg and rs. */
struct cs_engine *cs_engine_new(struct cs_config *cfg, struct cs_ruleset *rs,
                                const struct cs_engine_options *opt);
void cs_engine_free(struct cs_engine *e);   /* NULL is fine */

/* Parse and process one frame received from `venue`. Bad frames are
 * counted and logged once per kind; nothing here fails. Returns the parse
 * result (valid until the next call) so a connector can act on what the
 * venue said (shutdown notices, connection-wide gaps). */
const struct cs_parse_out *cs_engine_frame(struct cs_engine *e, const struct cs_venue_ops *venue,
                     struct cs_venue_scratch *scratch, const char *frame,
                     size_t len, int64_t recv_ns);

/* Hand alerts to this queue from now on (the notifier thread drains it);
 * NULL stops the hand-off. The queue must outlive the engine's use. */
void cs_engine_set_alert_queue(struct cs_engine *e, struct cs_alert_queue *q);

/* Process one already-normalised tick (benchmarks, tests). */
void cs_engine_tick(struct cs_engine *e, const struct cs_tick *tick);

/* A historical tick from warm-up (candles fetched at start): it fills the
 * windows and moves alert state, but notifies nobody. A condition still
 * holding when live ticks arrive is notified then, once; one that held
 * only in history ends silently. */
void cs_engine_warm_tick(struct cs_engine *e, const struct cs_tick *tick);

/* A gap on every instrument of an exchange (raw_symbol NULL) or on one:
 * its windows are marked gapped at data time ts_ns and the on_gap handlers
 * of its rules run. `kind` is "reconnect" or "connection". */
void cs_engine_mark_gap(struct cs_engine *e, const char *exchange,
                        const char *raw_symbol, const char *kind,
                        int64_t ts_ns);

/* Swap in a new config and rule set atomically (takes ownership of both).
 * Alert state carries over for rules whose name is unchanged; windows of
 * unchanged widths keep their data. */
void cs_engine_swap(struct cs_engine *e, struct cs_config *cfg,
                    struct cs_ruleset *rs);

const struct cs_config *cs_engine_config(const struct cs_engine *e);
struct cs_ruleset *cs_engine_rules(struct cs_engine *e);
const struct cs_engine_stats *cs_engine_stats(const struct cs_engine *e);
int64_t cs_engine_now_ns(const struct cs_engine *e);   /* data time */
/* The widest window every instrument keeps (config and rules), seconds;
 * 0 when none. */
int64_t cs_engine_widest_window_s(const struct cs_engine *e);
/* Heap bytes held by all instruments' windows (benchmarks). */
size_t cs_engine_window_bytes(const struct cs_engine *e);

/* Housekeeping between frames, never per tick: gives back window memory
 * of up to `max_instruments` instruments (round robin). Returns bytes
 * freed. */
size_t cs_engine_maintain(struct cs_engine *e, size_t max_instruments);

/* Register the engine's metrics (frames, ticks, rules, alerts, reloads,
 * latest prices) with a registry; unregister before freeing the engine. */
struct cs_metrics;
void cs_engine_register_metrics(struct cs_engine *e, struct cs_metrics *m);

/* The engine keeps the last CS_ENGINE_RECENT_ALERTS alerts dispatched
 * (firing and resolved) for the HTTP API. */
#define CS_ENGINE_RECENT_ALERTS 256

/* Recent alert i, newest first (i = 0 is the newest); NULL past the end.
 * Borrowed until the next tick. */
const struct cs_alert *cs_engine_recent_alert(const struct cs_engine *e,
                                              size_t i);

/* JSON builders (engine_json.c). They append to `w` (borrowed), which the
 * caller resets and owns. Loop thread. */
struct cs_jsonw;
/* An array of every watched instrument with a price: exchange, symbol,
 * raw_symbol, price, bid, ask (decimal strings or null), ts (ms) and
 * windows {"1h": {change, reference, high, low, complete, gapped}}. */
void cs_engine_prices_json(struct cs_engine *e, struct cs_jsonw *w);
/* An array of the recent alerts, newest first, each as
 * {"id": N, <cs_alert_json_fields>}. */
void cs_engine_alerts_json(const struct cs_engine *e, struct cs_jsonw *w);
/* The fields of an alert (state, rule, severity, exchange, symbol,
 * raw_symbol, ts, window, change, price, reference, message), written
 * into an object the caller has begun. */
void cs_alert_json_fields(struct cs_jsonw *w, const struct cs_alert *a);

/* History storage (store.h): accepted ticks and alerts are handed to `s`
 * (borrowed; NULL: none) as the config's storage.mode says. The store
 * must outlive the engine's use of it: detach (NULL) before freeing it.
 * cs_engine_store_flush hands over what interval mode still holds (the
 * newest price of each instrument's current interval). Loop thread. */
struct cs_store;
void cs_engine_set_store(struct cs_engine *e, struct cs_store *s);
void cs_engine_store_flush(struct cs_engine *e);

/* Reload from config path (NULL: defaults): load, validate, swap. On
 * failure keeps the running set, logs every error, returns the error. */
enum cs_err cs_engine_reload(struct cs_engine *e, const char *config_path);

#endif
