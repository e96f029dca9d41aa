/* The libpq wrapper: the only place that knows libpq (pg.c). Writer
 * thread only; every call may block. */
#ifndef CS_STORE_PG_H
#define CS_STORE_PG_H

#include <stddef.h>

#include "cryptosup/err.h"

struct cs_pg;

/* Connect (connect_timeout_s bounds it) and create or migrate the schema.
 * NULL on failure (logged without the DSN). */
struct cs_pg *cs_pg_open(const char *dsn, int connect_timeout_s);
void cs_pg_close(struct cs_pg *pg);   /* NULL is fine */

/* COPY `len` bytes of text-format lines with `copy_sql`, in one
 * transaction. CS_ERR_IO: the connection is unusable (caller closes). */
enum cs_err cs_pg_copy(struct cs_pg *pg, const char *copy_sql,
                       const char *data, size_t len);

/* "host=H port=P dbname=D" for logs: never the password or the raw DSN. */
void cs_pg_describe(const char *dsn, char *buf, size_t size);

#endif
