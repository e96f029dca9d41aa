/* PostgreSQL history: the loop thread hands fixed-size rows to a bounded
 * queue (a preallocated SPSC ring, then an in-memory overflow of chunks up
 * to buffer_rows); one writer thread owns the connection, writes COPY
 * batches, reconnects with backoff and jitter, spills to disk while the
 * database is away and replays the spill when it is back. Beyond the
 * limits rows are dropped and counted, never waited for. */
#ifndef CRYPTOSUP_STORE_H
#define CRYPTOSUP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/alert.h"
#include "cryptosup/config.h"

#define CS_STORE_TEXT_MAX 48

/* One price row; strings NUL-terminated (truncated to fit). */
struct cs_store_row {
    char exchange[16];
    char symbol[CS_STORE_TEXT_MAX];
    char price[CS_STORE_TEXT_MAX];   /* exact decimal text */
    int64_t ts_ns;                   /* data time */
    int64_t recv_ns;                 /* 0: unknown (NULL) */
};

struct cs_store_stats {
    uint64_t rows_queued, rows_written, alerts_written, batches;
    uint64_t dropped;                /* rows and alerts lost, all reasons */
    uint64_t spilled_rows, replayed_rows, reconnects, write_errors;
    uint64_t rows_rejected;          /* refused by the server (bad data:
                                        SQLSTATE class 22/23), prices and
                                        alerts; logged, not retried */
    uint64_t spill_bytes;            /* on disk now */
    uint64_t queue_depth;            /* ring + overflow */
    bool connected;
    int64_t last_write_ns;           /* wall time; 0: never */
    uint64_t warm_rows;              /* rows restored at start (taken) */
};

struct cs_store;

/* Start the writer thread for `cfg` (copied; borrowed only during the
 * call). Creates every missing level of spill_dir (mode 0700); when that
 * fails it is logged and rows that would spill are dropped and counted.
 * NULL when storage is not configured or the DSN is missing (logged). */
struct cs_store *cs_store_new(const struct cs_config_storage *cfg);

/* Hand a row to the writer thread (copied). Never blocks, takes no lock
 * and allocates only for a new overflow chunk; wakes the writer (sem_post)
 * only when the queue turns non-empty or reaches batch_rows. False (and
 * counted) when dropped. Loop thread only (single producer). */
bool cs_store_enqueue(struct cs_store *s, const struct cs_store_row *row);
/* The same for an alert (its own small ring). Loop thread only. */
bool cs_store_enqueue_alert(struct cs_store *s, const struct cs_alert *a);

/* Write out everything queued, waiting at most timeout_ms for the
 * database; what cannot be written goes to the spill file. Joins the
 * writer. Call once, after the last enqueue. */
void cs_store_stop(struct cs_store *s, int64_t timeout_ms);
void cs_store_free(struct cs_store *s);   /* stops if needed; NULL is fine */

/* Any thread. */
void cs_store_get_stats(const struct cs_store *s, struct cs_store_stats *out);

/* ---- warm start: windows restored from `prices` ----
 * The writer thread reads, per instrument, the rows within lookback of
 * that instrument's newest stored row, oldest first, through a cursor,
 * and hands them to the loop thread through a bounded ring (it waits when
 * the ring is full, the loop never waits). */
struct cs_store_warm_key {
    const char *exchange;            /* as stored: venue name */
    const char *symbol;              /* as stored: BASE/QUOTE */
};

struct cs_store_warm_row {
    uint32_t key;                    /* index into the keys given */
    char price[CS_STORE_TEXT_MAX];   /* exact text as stored */
    int64_t ts_ns;
};

/* Start the restore of `keys` (copied). It is abandoned (logged) once
 * deadline_ms have passed. Loop thread; at most once per store. */
void cs_store_warm_begin(struct cs_store *s,
                         const struct cs_store_warm_key *keys, size_t n,
                         int64_t lookback_ns, int64_t deadline_ms);
/* Move up to `max` restored rows to `out`; *done becomes true when the
 * restore is over (everything read, failed, or past its deadline) and no
 * further row will come. Loop thread; never blocks. */
size_t cs_store_warm_take(struct cs_store *s, struct cs_store_warm_row *out,
                          size_t max, bool *done);

/* The loop-side driver: restore the windows of every symbol the engine's
 * config lists (exchanges with symbols), lookback = the widest window plus
 * five minutes, feeding rows with cs_engine_warm_tick from a 5 ms timer
 * (at most 4,096 rows a slice). `done` runs once, on the loop, when the
 * restore is over (at the latest deadline_ms after the start), with the
 * number of rows fed. */
struct cs_engine;
struct cs_loop;
struct cs_store_restore;
typedef void (*cs_store_restore_fn)(void *ctx, uint64_t rows);
struct cs_store_restore *cs_store_restore_start(struct cs_loop *loop,
                                                struct cs_store *s,
                                                struct cs_engine *e,
                                                int64_t deadline_ms,
                                                cs_store_restore_fn done,
                                                void *ctx);
void cs_store_restore_free(struct cs_store_restore *r);   /* NULL is fine */

struct cs_metrics;
void cs_store_register_metrics(struct cs_store *s, struct cs_metrics *m);

/* Format a row (or alert) as one line of COPY text format into buf;
 * returns the length (needs at most CS_STORE_LINE_MAX). Exposed for
 * tests. */
#define CS_STORE_LINE_MAX 1024
size_t cs_store_format_row(const struct cs_store_row *r, char *buf,
                           size_t size);
size_t cs_store_format_alert(const struct cs_alert *a, char *buf,
                             size_t size);

#endif
