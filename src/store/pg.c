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

/* SQLSTATE class 22 (data exception) or 23 (integrity constraint
 * violation): the rows are at fault, not the connection. */
static bool is_data_error(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state && (strncmp(state, "22", 2) == 0 ||
                     strncmp(state, "23", 2) == 0);
}

static void fill_reject(const PGresult *res, struct cs_pg_reject *why)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    size_t n;

    if (why == NULL) {
        return;
    }
    snprintf(why->sqlstate, sizeof why->sqlstate, "%s", state ? state : "");
    snprintf(why->message, sizeof why->message, "%s", msg ? msg : "");
    for (n = 0; why->message[n]; n++) {
        if (why->message[n] == '\n' || why->message[n] == '\r') {
            why->message[n] = ' ';
        }
    }
}

enum cs_err cs_pg_copy(struct cs_pg *pg, const char *copy_sql,
                       const char *data, size_t len,
                       struct cs_pg_reject *why)
{
    enum cs_err err = CS_OK;
    bool rejected = false;
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
        if (PQresultStatus(res) != PGRES_COMMAND_OK && err == CS_OK) {
            if (is_data_error(res)) {
                fill_reject(res, why);
                rejected = true;
            }
            err = CS_ERR_IO;
        }
        PQclear(res);
    }
    res = NULL;
    if (err != CS_OK && rejected && PQstatus(pg->conn) == CONNECTION_OK &&
        PQtransactionStatus(pg->conn) == PQTRANS_IDLE) {
        err = CS_ERR_PROTO;         /* rolled back; the caller bisects */
    } else if (err != CS_OK) {
        cs_log_limited(CS_LOG_WARN, LOG_PG, "copy", "COPY failed: %s",
                       conn_error(pg->conn, msg, sizeof msg));
    }
out:
    PQclear(res);
    return err;
}

/* One statement without results; false on failure (logged). */
static bool exec_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    char msg[512];
    if (!ok) {
        cs_log_limited(CS_LOG_WARN, LOG_PG, "warm-exec", "%s: %s", sql,
                       conn_error(conn, msg, sizeof msg));
    }
    PQclear(res);
    return ok;
}

enum cs_err cs_pg_recent_prices(struct cs_pg *pg, const char *exchange,
                                const char *symbol, int64_t lookback_us,
                                size_t fetch_rows, int64_t statement_timeout_ms,
                                cs_pg_row_fn fn, void *ctx)
{
    /* The newest row of the instrument anchors the range: windows are in
     * data time, and so is ts. price::text keeps the stored scale. */
    static const char SQL_DECLARE[] =
        "DECLARE cs_warm NO SCROLL CURSOR FOR"
        " SELECT price::text, (extract(epoch FROM ts) * 1000000)::int8"
        " FROM prices WHERE exchange = $1 AND symbol = $2 AND ts >="
        " (SELECT max(ts) FROM prices WHERE exchange = $1 AND symbol = $2)"
        "  - $3::int8 * interval '1 microsecond'"
        " ORDER BY ts";
    const char *params[3];
    char lookback[32], sql[96], msg[512];
    enum cs_err err = CS_OK;
    bool more = true;
    PGresult *res;

    if (PQstatus(pg->conn) != CONNECTION_OK) {
        return CS_ERR_IO;
    }
    if (!exec_ok(pg->conn, "BEGIN READ ONLY")) {
        return PQstatus(pg->conn) == CONNECTION_OK ? CS_ERR_PROTO : CS_ERR_IO;
    }
    snprintf(sql, sizeof sql, "SET LOCAL statement_timeout = %lld",
             (long long)(statement_timeout_ms > 0 ? statement_timeout_ms : 1));
    snprintf(lookback, sizeof lookback, "%lld", (long long)lookback_us);
    params[0] = exchange;
    params[1] = symbol;
    params[2] = lookback;
    if (!exec_ok(pg->conn, sql)) {
        err = CS_ERR_PROTO;
        goto out;
    }
    res = PQexecParams(pg->conn, SQL_DECLARE, 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        cs_log_limited(CS_LOG_WARN, LOG_PG, "warm-declare", "warm start "
                       "query: %s", conn_error(pg->conn, msg, sizeof msg));
        PQclear(res);
        err = CS_ERR_PROTO;
        goto out;
    }
    PQclear(res);
    snprintf(sql, sizeof sql, "FETCH %zu FROM cs_warm",
             fetch_rows ? fetch_rows : 1000);
    while (more) {
        int n;
        res = PQexec(pg->conn, sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            cs_log_limited(CS_LOG_WARN, LOG_PG, "warm-fetch", "warm start "
                           "fetch: %s", conn_error(pg->conn, msg, sizeof msg));
            PQclear(res);
            err = CS_ERR_PROTO;
            break;
        }
        n = PQntuples(res);
        for (int i = 0; i < n && more; i++) {
            if (PQgetisnull(res, i, 0) || PQgetisnull(res, i, 1)) {
                continue;
            }
            more = fn(ctx, PQgetvalue(res, i, 0),
                      strtoll(PQgetvalue(res, i, 1), NULL, 10));
        }
        PQclear(res);
        if ((size_t)n < (fetch_rows ? fetch_rows : 1000)) {
            break;
        }
    }
out:
    /* A read-only transaction: ROLLBACK ends it whatever happened. */
    if (!exec_ok(pg->conn, "ROLLBACK") || PQstatus(pg->conn) != CONNECTION_OK) {
        err = CS_ERR_IO;
    }
    return err;
}
