/* The libpq wrapper: the only place that knows libpq (pg.c). Writer
 * thread only; every call may block. */
#ifndef CS_STORE_PG_H
#define CS_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/err.h"

struct cs_pg;

/* Connect (connect_timeout_s bounds it) and create or migrate the schema.
 * NULL on failure (logged without the DSN). */
struct cs_pg *cs_pg_open(const char *dsn, int connect_timeout_s);
void cs_pg_close(struct cs_pg *pg);   /* NULL is fine */

/* Why the server refused a COPY's data (see cs_pg_copy). */
struct cs_pg_reject {
    char sqlstate[6];                /* e.g. "23514"; NUL-terminated */
    char message[256];               /* the server's primary message */
};

/* COPY `len` bytes of text-format lines with `copy_sql`, in one
 * transaction (all or nothing). CS_ERR_PROTO: the server refused the data
 * (SQLSTATE class 22 data exception or 23 integrity violation; not logged,
 * `why` filled, the connection is still usable). CS_ERR_IO: anything else
 * (connection lost, server shutting down, ...; logged rate-limited; caller
 * closes). `why` may be NULL. */
enum cs_err cs_pg_copy(struct cs_pg *pg, const char *copy_sql,
                       const char *data, size_t len,
                       struct cs_pg_reject *why);

/* Warm start: stream the rows of `prices` for (exchange, symbol) whose ts
 * lies within lookback_us of that instrument's newest stored row, oldest
 * first, `fetch_rows` at a time through a cursor, calling fn(ctx, price
 * text, ts in microseconds since the epoch) for each; fn returns false to
 * stop early. The whole read is bounded by statement_timeout_ms on the
 * server. CS_ERR_IO: the connection is unusable (caller closes);
 * CS_ERR_PROTO: the query failed (timeout, ...; the connection is still
 * usable). */
typedef bool (*cs_pg_row_fn)(void *ctx, const char *price, int64_t ts_us);
enum cs_err cs_pg_recent_prices(struct cs_pg *pg, const char *exchange,
                                const char *symbol, int64_t lookback_us,
                                size_t fetch_rows, int64_t statement_timeout_ms,
                                cs_pg_row_fn fn, void *ctx);

/* "host=H port=P dbname=D" for logs: never the password or the raw DSN. */
void cs_pg_describe(const char *dsn, char *buf, size_t size);

#endif
