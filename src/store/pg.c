/* libpq: connect, migrate, COPY. The only file including libpq-fe.h.
 * Writer thread only. */
#include "store/pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/log.h"

#define LOG_PG "store.pg"

struct cs_pg {
    PGconn *conn;
};

/* Compatible with the original prices(id, symbol, price NUMERIC, ts) and
 * its ts index: missing columns are added, an existing index on ts is
 * kept. */
static const char SQL_SCHEMA[] =
    "SET client_min_messages = warning;"
    "CREATE TABLE IF NOT EXISTS prices ("
    " id BIGSERIAL PRIMARY KEY, symbol TEXT NOT NULL,"
    " price NUMERIC NOT NULL, ts TIMESTAMPTZ NOT NULL,"
    " exchange TEXT, recv_ts TIMESTAMPTZ);"
    "ALTER TABLE prices ADD COLUMN IF NOT EXISTS exchange TEXT;"
    "ALTER TABLE prices ADD COLUMN IF NOT EXISTS recv_ts TIMESTAMPTZ;"
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a"
    " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
    " WHERE i.indrelid = 'prices'::regclass AND a.attname = 'ts') THEN"
    " CREATE INDEX prices_ts_idx ON prices (ts); END IF; END $$;"
    "CREATE TABLE IF NOT EXISTS alerts ("
    " id BIGSERIAL PRIMARY KEY, ts TIMESTAMPTZ NOT NULL, rule TEXT NOT NULL,"
    " exchange TEXT, symbol TEXT, window_s BIGINT,"
    " change DOUBLE PRECISION, price NUMERIC, reference NUMERIC,"
    " state TEXT NOT NULL, severity TEXT, message TEXT);"
    "CREATE INDEX IF NOT EXISTS alerts_ts_idx ON alerts (ts);";

static const char *opt_value(PQconninfoOption *opts, const char *key)
{
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (strcmp(o->keyword, key) == 0) {
            return o->val && o->val[0] ? o->val : NULL;
        }
    }
    return NULL;
}

void cs_pg_describe(const char *dsn, char *buf, size_t size)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &errmsg);
    const char *host, *port, *db;

    if (opts == NULL) {
        snprintf(buf, size, "(unparseable conninfo)");
        PQfreemem(errmsg);
        return;
    }
    host = opt_value(opts, "host");
    if (host == NULL) {
        host = opt_value(opts, "hostaddr");
    }
    port = opt_value(opts, "port");
    db = opt_value(opts, "dbname");
    snprintf(buf, size, "host=%s port=%s dbname=%s", host ? host : "default",
             port ? port : "default", db ? db : "default");
    PQconninfoFree(opts);
}

/* libpq messages name host and port, never the password; keep one line. */
static const char *conn_error(PGconn *conn, char *buf, size_t size)
{
    const char *msg = conn ? PQerrorMessage(conn) : "out of memory";
    size_t n;
    snprintf(buf, size, "%s", msg);
    for (n = 0; buf[n]; n++) {
        if (buf[n] == '\n' || buf[n] == '\r') {
            buf[n] = buf[n + 1] ? ' ' : '\0';
        }
    }
    return buf;
}

struct cs_pg *cs_pg_open(const char *dsn, int connect_timeout_s)
{
    const char *keys[] = { "dbname", "connect_timeout",
                           "application_name", NULL };
    char timeout[16];
    const char *vals[4];
    char where[256], err[512];
    struct cs_pg *pg = NULL;
    PGconn *conn;
    PGresult *res = NULL;

    snprintf(timeout, sizeof timeout, "%d", connect_timeout_s);
    vals[0] = dsn;   /* expanded: a conninfo string or URL */
    vals[1] = timeout;
    vals[2] = "cryptosup";
    vals[3] = NULL;
    cs_pg_describe(dsn, where, sizeof where);
    conn = PQconnectdbParams(keys, vals, 1);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        cs_log_limited(CS_LOG_WARN, LOG_PG, "connect",
                       "cannot connect to %s: %s", where,
                       conn_error(conn, err, sizeof err));
        PQfinish(conn);
        return NULL;
    }
    res = PQexec(conn, SQL_SCHEMA);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        cs_log_error(LOG_PG, "schema on %s: %s", where,
                     conn_error(conn, err, sizeof err));
        PQclear(res);
        PQfinish(conn);
        return NULL;
    }
    PQclear(res);
    cs_log_info(LOG_PG, "connected to %s; schema ready", where);
    pg = cs_xcalloc(1, sizeof *pg);
    pg->conn = conn;
    return pg;
}

void cs_pg_close(struct cs_pg *pg)
{
    if (pg == NULL) {
        return;
    }
    PQfinish(pg->conn);
    free(pg);
}

enum cs_err cs_pg_copy(struct cs_pg *pg, const char *copy_sql,
                       const char *data, size_t len)
{
    enum cs_err err = CS_OK;
    PGresult *res = NULL;
    char msg[512];

    res = PQexec(pg->conn, copy_sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        cs_log_limited(CS_LOG_WARN, LOG_PG, "copy-start", "COPY: %s",
                       conn_error(pg->conn, msg, sizeof msg));
        err = CS_ERR_IO;
        goto out;
    }
    PQclear(res);
    res = NULL;
    while (len > 0) {
        size_t n = len > (1u << 20) ? (1u << 20) : len;
        if (PQputCopyData(pg->conn, data, (int)n) != 1) {
            err = CS_ERR_IO;
            break;
        }
        data += n;
        len -= n;
    }
    if (PQputCopyEnd(pg->conn, err == CS_OK ? NULL : "aborted") != 1) {
        err = CS_ERR_IO;
    }
    while ((res = PQgetResult(pg->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            err = CS_ERR_IO;
        }
        PQclear(res);
    }
    if (err != CS_OK) {
        cs_log_limited(CS_LOG_WARN, LOG_PG, "copy", "COPY failed: %s",
                       conn_error(pg->conn, msg, sizeof msg));
    }
out:
    PQclear(res);
    return err;
}
