/* The store: loop-thread producer, one writer thread (owns the cs_pg).
 * Rows go to a preallocated SPSC ring; when it is full, to an SPSC list of
 * overflow chunks (allocated only then) up to buffer_rows; beyond that they
 * are dropped and counted. The writer formats COPY text, writes batches,
 * and while the database is away spills the backlog to a file in spill_dir
 * that it replays once connected again. Rows the server refuses (bad
 * data) are isolated by bisecting the batch, logged and counted; the rest
 * is written. Shared state is atomics and one semaphore (the wake-up). */
#include "cryptosup/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cryptosup/log.h"
#include "cryptosup/metrics.h"
#include "cryptosup/timeutil.h"
#include "store/pg.h"

#define LOG_STORE "store"
#define CHUNK_ROWS 1024
#define ALERT_RING 1024
#define CONNECT_TIMEOUT_S 3
#define BACKLOG_BATCHES 10      /* a COPY under backlog: up to this many
                                   batch_rows */
#define WARM_RING 4096          /* restored rows in flight to the loop */
#define WARM_FETCH 2000         /* rows per cursor FETCH */
#define IDLE_WAIT_MS 1000       /* connected, nothing queued: the longest
                                   sleep without a post */
#define LINGER_MS 20            /* rows queued, fewer than batch_rows: wait
                                   this long for more before a COPY */
#define OFFLINE_WAIT_MS 20      /* no connection: reconnect and spill checks */
#define STOP_WAIT_MS 5
#define REJECT_LOG_MAX 100      /* rejected rows logged one by one, per
                                   minute; past that only counted */

enum { WARM_NONE, WARM_REQUESTED, WARM_DONE };

static const char SQL_COPY_PRICES[] =
    "COPY prices (exchange, symbol, price, ts, recv_ts) FROM STDIN";
static const char SQL_COPY_ALERTS[] =
    "COPY alerts (ts, rule, exchange, symbol, window_s, change, price, "
    "reference, state, severity, message) FROM STDIN";
static const char *const COLUMNS_PRICES[] = { "exchange", "symbol", "price",
                                              "ts", "recv_ts", NULL };
static const char *const COLUMNS_ALERTS[] = { "ts", "rule", "exchange",
                                              "symbol", "window_s", "change",
                                              "price", "reference", "state",
                                              "severity", "message", NULL };

/* Reconnect delays; each gets +-25 % jitter, the last repeats. */
static const int64_t BACKOFF_MS[] = { 100, 250, 500, 1000, 2000, 5000 };

static const double LATENCY_BOUNDS[] = { 0.001, 0.005, 0.01, 0.05, 0.1,
                                         0.5, 1, 5 };
#define NBOUNDS (sizeof LATENCY_BOUNDS / sizeof *LATENCY_BOUNDS)

struct chunk {
    _Atomic(struct chunk *) next;
    _Atomic size_t filled;                 /* written by the producer */
    struct cs_store_row rows[CHUNK_ROWS];
};

/* One spill file of COPY lines; writer thread only. */
struct spill {
    const char *name;
    const char *table;
    const char *const *columns;   /* in COPY order, NULL-terminated */
    const char *detail;           /* the column logged besides exchange,
                                     symbol and ts of a rejected row */
    const char *copy_sql;
    char *path;
    int fd;               /* -1: unusable */
    off_t size;           /* bytes in the file */
    off_t done;           /* bytes already replayed into the database */
};

struct cs_store {
    struct cs_config_storage cfg;      /* strings owned */
    char *dsn;
    char where[256];
    /* The ring: producer writes tail, consumer head. */
    struct cs_store_row *ring;
    size_t capacity;
    _Atomic size_t head, tail;
    /* Overflow: producer owns ov_tail, consumer ov_head/ov_read. */
    struct chunk *ov_tail, *ov_head;
    size_t ov_read;
    _Atomic size_t ov_rows;
    struct cs_alert_queue *alerts;
    /* Wake-up: the producer adds every queued row to `pending` (one RMW,
     * no lock) and posts `wake` only when it was 0 (the writer may sleep)
     * or reaches wake_rows (a batch is ready); the writer subtracts what it
     * popped and sleeps only after seeing 0, so no post is missed. Alerts,
     * stop and warm start post too. */
    sem_t wake;
    bool wake_ok;                      /* sem_init succeeded */
    _Atomic size_t pending;
    size_t wake_rows;                  /* min(batch_rows, queue_rows) */
    /* Writer thread. */
    pthread_t thread;
    bool started;
    atomic_bool stop;
    _Atomic int64_t deadline_ns;       /* monotonic; set with stop */
    struct spill spill_prices, spill_alerts;
    uint64_t spill_max;
    char *text;                        /* batch buffer */
    size_t text_len, text_cap;
    /* Counters (any thread reads). */
    _Atomic uint64_t rows_queued, rows_written, alerts_written, batches;
    _Atomic uint64_t dropped, spilled_rows, replayed_rows, reconnects;
    _Atomic uint64_t write_errors, spill_bytes, rows_rejected;
    int64_t reject_window_ns;          /* writer: start of this minute */
    uint64_t reject_logged, reject_quiet;  /* writer: in this minute */
    atomic_bool connected;
    _Atomic int64_t last_write_ns;
    _Atomic uint64_t latency_buckets[NBOUNDS + 1];
    _Atomic uint64_t latency_count, latency_sum_us;
    /* Warm start: keys set by the loop before warm_state turns
     * REQUESTED; the ring is SPSC from the writer to the loop. */
    char **warm_exchange, **warm_symbol;
    size_t nwarm;
    int64_t warm_lookback_ns, warm_deadline_ns, warm_started_ns;
    atomic_int warm_state;
    atomic_bool warm_cancel;              /* loop gave up */
    bool warm_over;                       /* loop side */
    struct cs_store_warm_row *warm_ring;
    _Atomic size_t warm_head, warm_tail;
    _Atomic uint64_t warm_rows;
};

/* ---- formatting (COPY text format) ---- */

static size_t put_text(char *buf, size_t size, size_t n, const char *s)
{
    for (; *s && n + 2 < size; s++) {
        char c = *s;
        const char *esc = c == '\\' ? "\\\\" : c == '\t' ? "\\t"
                        : c == '\n' ? "\\n" : c == '\r' ? "\\r" : NULL;
        if (esc) {
            buf[n++] = esc[0];
            buf[n++] = esc[1];
        } else {
            buf[n++] = c;
        }
    }
    return n;
}

static size_t put_raw(char *buf, size_t size, size_t n, const char *s)
{
    size_t len = strlen(s);
    if (n + len + 1 < size) {
        memcpy(buf + n, s, len);
        n += len;
    }
    return n;
}

static size_t put_null_or_text(char *buf, size_t size, size_t n,
                               const char *s)
{
    return s[0] ? put_text(buf, size, n, s) : put_raw(buf, size, n, "\\N");
}

static void format_ts(int64_t ns, char *buf, size_t size)
{
    time_t sec = (time_t)(ns / CS_NS_PER_S);
    long us = (long)((ns % CS_NS_PER_S) / 1000);
    struct tm tm;
    if (us < 0) {
        us += 1000000;
        sec--;
    }
    gmtime_r(&sec, &tm);
    snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, us);
}

size_t cs_store_format_row(const struct cs_store_row *r, char *buf,
                           size_t size)
{
    char ts[48];
    size_t n = 0;

    n = put_text(buf, size, n, r->exchange);
    n = put_raw(buf, size, n, "\t");
    n = put_text(buf, size, n, r->symbol);
    n = put_raw(buf, size, n, "\t");
    n = put_null_or_text(buf, size, n, r->price);
    n = put_raw(buf, size, n, "\t");
    format_ts(r->ts_ns, ts, sizeof ts);
    n = put_raw(buf, size, n, ts);
    n = put_raw(buf, size, n, "\t");
    if (r->recv_ns) {
        format_ts(r->recv_ns, ts, sizeof ts);
        n = put_raw(buf, size, n, ts);
    } else {
        n = put_raw(buf, size, n, "\\N");
    }
    n = put_raw(buf, size, n, "\n");
    buf[n] = '\0';
    return n;
}

size_t cs_store_format_alert(const struct cs_alert *a, char *buf,
                             size_t size)
{
    char tmp[64];
    size_t n = 0;

    format_ts(a->ts_ns, tmp, sizeof tmp);
    n = put_raw(buf, size, n, tmp);
    n = put_raw(buf, size, n, "\t");
    n = put_text(buf, size, n, a->rule);
    n = put_raw(buf, size, n, "\t");
    n = put_null_or_text(buf, size, n, a->exchange);
    n = put_raw(buf, size, n, "\t");
    n = put_null_or_text(buf, size, n, a->symbol);
    n = put_raw(buf, size, n, "\t");
    snprintf(tmp, sizeof tmp, "%lld", (long long)a->window_s);
    n = put_raw(buf, size, n, a->window_s ? tmp : "\\N");
    n = put_raw(buf, size, n, "\t");
    snprintf(tmp, sizeof tmp, "%.17g", a->change);
    n = put_raw(buf, size, n, a->has_change ? tmp : "\\N");
    n = put_raw(buf, size, n, "\t");
    n = put_null_or_text(buf, size, n, a->price);
    n = put_raw(buf, size, n, "\t");
    n = put_null_or_text(buf, size, n, a->reference);
    n = put_raw(buf, size, n, "\t");
    n = put_raw(buf, size, n, a->status == CS_ALERT_FIRING ? "firing"
                                                           : "resolved");
    n = put_raw(buf, size, n, "\t");
    n = put_null_or_text(buf, size, n, a->severity);
    n = put_raw(buf, size, n, "\t");
    n = put_null_or_text(buf, size, n, a->message);
    n = put_raw(buf, size, n, "\n");
    buf[n] = '\0';
    return n;
}

/* ---- producer (loop thread) ---- */

static void wake_writer(struct cs_store *s)
{
    if (s->wake_ok) {
        sem_post(&s->wake);       /* lock-free; a syscall only if asleep */
    }
}

/* A row was queued: count it (the one RMW of the enqueue; rows_queued is
 * producer-only and needs none) and wake the writer when it may sleep or a
 * batch is ready. */
static void queued(struct cs_store *s)
{
    size_t before = atomic_fetch_add(&s->pending, 1);
    atomic_store_explicit(&s->rows_queued,
                          atomic_load_explicit(&s->rows_queued,
                                               memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (before == 0 || before + 1 == s->wake_rows) {
        wake_writer(s);
    }
}

bool cs_store_enqueue(struct cs_store *s, const struct cs_store_row *row)
{
    size_t tail = atomic_load_explicit(&s->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&s->head, memory_order_acquire);
    struct chunk *c;
    size_t n;

    /* While the overflow holds rows, new ones follow them there. */
    if (atomic_load(&s->ov_rows) == 0 && tail - head < s->capacity) {
        s->ring[tail % s->capacity] = *row;
        atomic_store_explicit(&s->tail, tail + 1, memory_order_release);
        queued(s);
        return true;
    }
    if (atomic_load(&s->ov_rows) >= s->cfg.buffer_rows) {
        atomic_fetch_add(&s->dropped, 1);
        cs_log_limited(CS_LOG_WARN, LOG_STORE, "full", "store queue and "
                       "buffer full: rows dropped");
        return false;
    }
    c = s->ov_tail;
    n = atomic_load_explicit(&c->filled, memory_order_relaxed);
    if (n == CHUNK_ROWS) {
        struct chunk *nc = cs_xcalloc(1, sizeof *nc);
        atomic_store_explicit(&c->next, nc, memory_order_release);
        s->ov_tail = c = nc;
        n = 0;
    }
    c->rows[n] = *row;
    atomic_store_explicit(&c->filled, n + 1, memory_order_release);
    atomic_fetch_add(&s->ov_rows, 1);
    queued(s);
    return true;
}

bool cs_store_enqueue_alert(struct cs_store *s, const struct cs_alert *a)
{
    if (!cs_alert_queue_push(s->alerts, a)) {
        atomic_fetch_add(&s->dropped, 1);
        return false;
    }
    wake_writer(s);               /* rare: no need to be clever */
    return true;
}

/* ---- consumer (writer thread) ---- */

static bool pop_row(struct cs_store *s, struct cs_store_row *out)
{
    size_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&s->tail, memory_order_acquire);

    if (head != tail) {
        *out = s->ring[head % s->capacity];
        atomic_store_explicit(&s->head, head + 1, memory_order_release);
        return true;
    }
    for (;;) {
        struct chunk *c = s->ov_head;
        size_t filled = atomic_load_explicit(&c->filled,
                                             memory_order_acquire);
        struct chunk *next;
        if (s->ov_read < filled) {
            *out = c->rows[s->ov_read++];
            atomic_fetch_sub(&s->ov_rows, 1);
            return true;
        }
        next = atomic_load_explicit(&c->next, memory_order_acquire);
        if (s->ov_read < CHUNK_ROWS || next == NULL) {
            return false;
        }
        s->ov_head = next;
        s->ov_read = 0;
        free(c);
    }
}

static size_t depth(const struct cs_store *s)
{
    struct cs_store *m = (struct cs_store *)s;
    return atomic_load(&m->tail) - atomic_load(&m->head) +
           atomic_load(&m->ov_rows);
}

static void text_append(struct cs_store *s, const char *line, size_t len)
{
    if (s->text_len + len > s->text_cap) {
        size_t cap = s->text_cap ? s->text_cap * 2 : 65536;
        while (cap < s->text_len + len) {
            cap *= 2;
        }
        char *p = cs_xmalloc(cap);
        if (s->text_len) {
            memcpy(p, s->text, s->text_len);
        }
        free(s->text);
        s->text = p;
        s->text_cap = cap;
    }
    memcpy(s->text + s->text_len, line, len);
    s->text_len += len;
}

static size_t count_lines(const char *p, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        n += p[i] == '\n';
    }
    return n;
}

/* ---- spill files ---- */

static void spill_open(struct cs_store *s, struct spill *sp,
                       const char *table, bool dir_ok)
{
    struct stat st;
    bool prices = strcmp(table, "prices") == 0;
    const char *name = prices ? "prices.copy" : "alerts.copy";
    size_t len = strlen(s->cfg.spill_dir) + strlen(name) + 2;

    sp->name = name;
    sp->table = table;
    sp->columns = prices ? COLUMNS_PRICES : COLUMNS_ALERTS;
    sp->detail = prices ? "price" : "rule";
    sp->copy_sql = prices ? SQL_COPY_PRICES : SQL_COPY_ALERTS;
    sp->path = cs_xmalloc(len);
    snprintf(sp->path, len, "%s/%s", s->cfg.spill_dir, name);
    if (!dir_ok) {
        return;                   /* logged; rows that would spill drop */
    }
    sp->fd = open(sp->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (sp->fd < 0) {
        cs_log_warn_errno(LOG_STORE, "spill file %s unusable (rows that "
                          "would spill are dropped)", sp->path);
        return;
    }
    if (fstat(sp->fd, &st) == 0) {
        sp->size = st.st_size;
    }
    if (sp->size > 0) {
        cs_log_info(LOG_STORE, "%s: %lld bytes from an earlier run to "
                    "replay", sp->path, (long long)sp->size);
    }
}

/* mkdir -p: every missing level of `path` with mode 0700. False (logged
 * once, naming the level that failed) when it cannot be created or is not
 * a directory. */
static bool make_dirs(const char *path)
{
    char *p = cs_xstrdup(path);
    char why[128];
    const char *failed = NULL;
    struct stat st;
    int e = 0;

    if (p[0] == '\0') {
        cs_log_error(LOG_STORE, "spill_dir is empty");
        free(p);
        return false;
    }
    /* Each prefix ending before a '/', then the whole path. */
    for (char *c = p + 1; failed == NULL; c++) {
        char saved = *c;
        if (saved != '/' && saved != '\0') {
            continue;
        }
        *c = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            e = errno;
            failed = p;
        } else if (stat(p, &st) != 0) {
            e = errno;
            failed = p;
        } else if (!S_ISDIR(st.st_mode)) {
            e = ENOTDIR;
            failed = p;
        }
        if (failed == NULL) {
            *c = saved;
        }
        if (saved == '\0') {
            break;
        }
    }
    if (failed) {
        if (strerror_r(e, why, sizeof why) != 0) {
            snprintf(why, sizeof why, "error %d", e);
        }
        cs_log_error(LOG_STORE, "cannot create spill_dir %s: %s: %s (rows "
                     "that would spill are dropped)", path, failed, why);
    }
    free(p);
    return failed == NULL;
}

static void spill_close(struct spill *sp)
{
    if (sp->fd >= 0) {
        close(sp->fd);
    }
    free(sp->path);
}

static uint64_t spill_total(const struct cs_store *s)
{
    return (uint64_t)(s->spill_prices.size - s->spill_prices.done) +
           (uint64_t)(s->spill_alerts.size - s->spill_alerts.done);
}

static void update_spill_gauge(struct cs_store *s)
{
    atomic_store(&s->spill_bytes, spill_total(s));
}

/* Append whole COPY lines; when the spill is unusable or full, the rows
 * are dropped and counted. */
static void spill_write(struct cs_store *s, struct spill *sp,
                        const char *data, size_t len)
{
    size_t rows = count_lines(data, len);
    size_t off = 0;

    if (len == 0) {
        return;
    }
    if (sp->fd < 0 || spill_total(s) + len > s->spill_max) {
        atomic_fetch_add(&s->dropped, rows);
        cs_log_limited(CS_LOG_WARN, LOG_STORE, "spill-full", "spill %s: "
                       "%s; %zu rows dropped", sp->name, sp->fd < 0 ?
                       "unusable" : "spill_max_mb reached", rows);
        return;
    }
    while (off < len) {
        ssize_t n = write(sp->fd, data + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            cs_log_warn_errno(LOG_STORE, "writing %s", sp->path);
            /* Cut back to the last whole line written. */
            if (ftruncate(sp->fd, sp->size) != 0) {
                cs_log_warn_errno(LOG_STORE, "truncating %s", sp->path);
            }
            atomic_fetch_add(&s->dropped, rows);
            return;
        }
        off += (size_t)n;
    }
    sp->size += (off_t)len;
    atomic_fetch_add(&s->spilled_rows, rows);
    update_spill_gauge(s);
}

static void record_write(struct cs_store *s, int64_t started_ns,
                         size_t rows, bool alerts)
{
    int64_t dt = cs_time_mono_ns() - started_ns;
    double sec = (double)dt / 1e9;
    size_t b = 0;
    while (b < NBOUNDS && sec > LATENCY_BOUNDS[b]) {
        b++;
    }
    atomic_fetch_add(&s->latency_buckets[b], 1);
    atomic_fetch_add(&s->latency_count, 1);
    atomic_fetch_add(&s->latency_sum_us, (uint64_t)(dt / 1000));
    atomic_fetch_add(alerts ? &s->alerts_written : &s->rows_written, rows);
    atomic_fetch_add(&s->batches, 1);
    atomic_store(&s->last_write_ns, cs_time_now_ns());
}

/* ---- COPY with poison-row isolation (writer thread) ---- */

/* Field `col` of one COPY line (as escaped in the line), or "?". */
static void line_field(const struct spill *sp, const char *line, size_t len,
                       const char *col, char *out, size_t size)
{
    size_t idx = 0, start = 0, field = 0;

    while (sp->columns[idx] && strcmp(sp->columns[idx], col) != 0) {
        idx++;
    }
    snprintf(out, size, "?");
    if (sp->columns[idx] == NULL) {
        return;
    }
    for (size_t i = 0; i <= len; i++) {
        if (i == len || line[i] == '\t' || line[i] == '\n') {
            if (field == idx) {
                size_t n = i - start < size - 1 ? i - start : size - 1;
                memcpy(out, line + start, n);
                out[n] = '\0';
                return;
            }
            if (i == len || line[i] == '\n') {
                return;
            }
            field++;
            start = i + 1;
        }
    }
}

/* One row refused by the server: count it; log it (one line naming the
 * table, SQLSTATE, server message and the row) while this minute's budget
 * lasts, then only a summary. */
static void reject_row(struct cs_store *s, const struct spill *sp,
                       const char *line, size_t len,
                       const struct cs_pg_reject *why)
{
    char ex[32], sym[CS_STORE_TEXT_MAX + 16], ts[48], detail[96];
    int64_t now = cs_time_mono_ns();

    atomic_fetch_add(&s->rows_rejected, 1);
    if (s->reject_window_ns == 0 || now - s->reject_window_ns >=
        60 * CS_NS_PER_S) {
        if (s->reject_quiet > 0) {
            cs_log_warn(LOG_STORE, "%llu more rejected rows were not logged "
                        "one by one", (unsigned long long)s->reject_quiet);
        }
        s->reject_window_ns = now;
        s->reject_logged = s->reject_quiet = 0;
    }
    if (s->reject_logged >= REJECT_LOG_MAX) {
        s->reject_quiet++;
        return;
    }
    s->reject_logged++;
    line_field(sp, line, len, "exchange", ex, sizeof ex);
    line_field(sp, line, len, "symbol", sym, sizeof sym);
    line_field(sp, line, len, "ts", ts, sizeof ts);
    line_field(sp, line, len, sp->detail, detail, sizeof detail);
    cs_log_warn(LOG_STORE, "%s row rejected by the server, not stored "
                "(SQLSTATE %s: %s): exchange=%s symbol=%s ts=%s %s=%s%s",
                sp->table, why->sqlstate, why->message, ex, sym, ts,
                sp->detail, detail, s->reject_logged == REJECT_LOG_MAX ?
                " (further rejected rows this minute only counted)" : "");
}

struct copy_job {
    struct cs_store *s;
    struct cs_pg *pg;
    const struct spill *sp;
    size_t done;                  /* bytes settled (written or rejected):
                                     always a prefix of whole lines */
    size_t written;               /* rows committed */
};

/* Bytes of the first `rows` lines of p. */
static size_t lines_prefix(const char *p, size_t len, size_t rows)
{
    size_t i = 0;
    while (rows > 0 && i < len) {
        const char *nl = memchr(p + i, '\n', len - i);
        i = nl ? (size_t)(nl - p) + 1 : len;
        rows--;
    }
    return i;
}

/* COPY `rows` whole lines. When the server refuses the data (the COPY is
 * rolled back whole), split it in halves, first half first, down to single
 * rows, which are rejected; so a bad row costs about 2 log2(rows) COPYs and
 * every good row is written once. CS_ERR_IO: the connection failed; the
 * bytes past j->done are not settled. */
static enum cs_err copy_part(struct copy_job *j, const char *p, size_t len,
                             size_t rows)
{
    struct cs_pg_reject why;
    int64_t t0 = cs_time_mono_ns();
    enum cs_err err = cs_pg_copy(j->pg, j->sp->copy_sql, p, len, &why);
    size_t half, cut;

    if (err == CS_OK) {
        record_write(j->s, t0, rows, j->sp == &j->s->spill_alerts);
        j->written += rows;
        j->done += len;
        return CS_OK;
    }
    if (err != CS_ERR_PROTO) {
        return err;
    }
    if (rows <= 1) {
        reject_row(j->s, j->sp, p, len, &why);
        j->done += len;
        return CS_OK;
    }
    half = rows / 2;
    cut = lines_prefix(p, len, half);
    err = copy_part(j, p, cut, half);
    if (err == CS_OK) {
        err = copy_part(j, p + cut, len - cut, rows - half);
    }
    return err;
}

static enum cs_err copy_rows(struct copy_job *j, const char *data,
                             size_t len)
{
    return copy_part(j, data, len, count_lines(data, len));
}

/* Replay one spill file into the database, in pieces of whole lines.
 * False when the connection failed. */
static bool spill_replay(struct cs_store *s, struct cs_pg *pg,
                         struct spill *sp)
{
    enum { PIECE = 1 << 20 };
    struct copy_job job = { s, pg, sp, 0, 0 };
    char *buf;
    bool ok = true;

    if (sp->fd < 0 || sp->done >= sp->size) {
        return true;
    }
    buf = cs_xmalloc(PIECE);
    while (sp->done < sp->size && ok) {
        size_t want = (size_t)(sp->size - sp->done);
        ssize_t n;
        size_t len;
        enum cs_err err;
        if (want > PIECE) {
            want = PIECE;
        }
        n = pread(sp->fd, buf, want, sp->done);
        if (n <= 0) {
            cs_log_warn_errno(LOG_STORE, "reading %s", sp->path);
            sp->done = sp->size;   /* give up on the rest */
            break;
        }
        len = (size_t)n;
        while (len > 0 && buf[len - 1] != '\n') {
            len--;
        }
        if (len == 0) {
            /* A line longer than a piece or a torn tail: skip it. */
            sp->done = sp->size;
            break;
        }
        job.done = job.written = 0;
        err = copy_rows(&job, buf, len);
        atomic_fetch_add(&s->replayed_rows, job.written);
        sp->done += (off_t)job.done;
        if (err != CS_OK) {
            atomic_fetch_add(&s->write_errors, 1);
            ok = false;
            break;
        }
    }
    free(buf);
    if (sp->done >= sp->size && sp->size > 0) {
        if (ftruncate(sp->fd, 0) != 0) {
            cs_log_warn_errno(LOG_STORE, "truncating %s", sp->path);
        }
        cs_log_info(LOG_STORE, "spill %s replayed", sp->name);
        sp->size = 0;
        sp->done = 0;
    }
    update_spill_gauge(s);
    return ok;
}

/* ---- warm start, writer side ---- */

struct warm_ctx {
    struct cs_store *s;
    uint32_t key;
    uint64_t rows;
};

static bool warm_push(void *arg, const char *price, int64_t ts_us)
{
    struct warm_ctx *c = arg;
    struct cs_store *s = c->s;
    size_t tail = atomic_load_explicit(&s->warm_tail, memory_order_relaxed);
    struct cs_store_warm_row *r;
    struct timespec pause = { 0, 1000000L };

    while (tail - atomic_load_explicit(&s->warm_head, memory_order_acquire)
           >= WARM_RING) {
        if (atomic_load(&s->warm_cancel) || atomic_load(&s->stop) ||
            cs_time_mono_ns() >= s->warm_deadline_ns) {
            return false;
        }
        nanosleep(&pause, NULL);
    }
    r = &s->warm_ring[tail % WARM_RING];
    r->key = c->key;
    snprintf(r->price, sizeof r->price, "%s", price);
    r->ts_ns = ts_us * 1000;
    atomic_store_explicit(&s->warm_tail, tail + 1, memory_order_release);
    c->rows++;
    return true;
}

/* Read every key's recent rows into the ring. False: the connection
 * failed (the restore ends; what was read stays). */
static bool warm_run(struct cs_store *s, struct cs_pg *pg)
{
    struct warm_ctx c = { s, 0, 0 };
    bool ok = true;

    for (size_t i = 0; i < s->nwarm; i++) {
        int64_t left_ms = (s->warm_deadline_ns - cs_time_mono_ns()) /
                          CS_NS_PER_MS;
        enum cs_err err;
        if (left_ms <= 0 || atomic_load(&s->warm_cancel) ||
            atomic_load(&s->stop)) {
            cs_log_warn(LOG_STORE, "warm start: deadline reached after %zu "
                        "of %zu instruments", i, s->nwarm);
            break;
        }
        c.key = (uint32_t)i;
        err = cs_pg_recent_prices(pg, s->warm_exchange[i], s->warm_symbol[i],
                                  s->warm_lookback_ns / 1000, WARM_FETCH,
                                  left_ms, warm_push, &c);
        if (err == CS_ERR_IO) {
            cs_log_warn(LOG_STORE, "warm start: lost %s while reading %s %s",
                        s->where, s->warm_exchange[i], s->warm_symbol[i]);
            ok = false;
            break;
        }
    }
    cs_log_info(LOG_STORE, "warm start: %llu rows read from %s in %.0f ms",
                (unsigned long long)c.rows, s->where,
                (double)(cs_time_mono_ns() - s->warm_started_ns) / 1e6);
    atomic_store(&s->warm_state, WARM_DONE);
    return ok;
}

/* ---- the writer thread ---- */

static int64_t backoff_ns(unsigned attempt, unsigned *seed)
{
    size_t n = sizeof BACKOFF_MS / sizeof *BACKOFF_MS;
    int64_t ms = BACKOFF_MS[attempt < n ? attempt : n - 1];
    int64_t jitter = ms / 4;
    ms += (int64_t)(rand_r(seed) % (unsigned)(2 * jitter + 1)) - jitter;
    return ms * CS_NS_PER_MS;
}

/* Sleep until a post or timeout_ms. sem_timedwait takes CLOCK_REALTIME:
 * a clock step can only stretch a wait that no post ends (nothing queued,
 * or offline), never delay a queued batch past the next post. */
static void wait_wake(struct cs_store *s, int64_t timeout_ms)
{
    struct timespec ts;

    if (!s->wake_ok) {
        struct timespec d = { (time_t)(timeout_ms / 1000),
                              (long)(timeout_ms % 1000) * 1000000L };
        nanosleep(&d, NULL);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (sem_timedwait(&s->wake, &ts) != 0 && errno == EINTR) {
    }
}

/* Forget posts already acted upon (the caller re-checks the queue after). */
static void drain_wake(struct cs_store *s)
{
    while (s->wake_ok && sem_trywait(&s->wake) == 0) {
    }
}

static bool has_work(struct cs_store *s)
{
    return atomic_load(&s->pending) > 0 ||
           cs_alert_queue_depth(s->alerts) > 0 ||
           atomic_load(&s->warm_state) == WARM_REQUESTED;
}

/* Less than a batch was waiting. Connected: sleep until a producer posts,
 * then give the rows up to LINGER_MS to fill a batch (a post at batch_rows
 * ends that early). Offline or stopping: short naps, as the reconnect
 * backoff and the spill threshold are checked by time. */
static void writer_idle(struct cs_store *s, bool connected, bool stopping)
{
    size_t n;

    if (stopping || !connected) {
        wait_wake(s, stopping ? STOP_WAIT_MS : OFFLINE_WAIT_MS);
        return;
    }
    drain_wake(s);
    if (!has_work(s) && !atomic_load(&s->stop)) {
        wait_wake(s, IDLE_WAIT_MS);
        drain_wake(s);
    }
    n = atomic_load(&s->pending);
    if (n > 0 && n < s->wake_rows && cs_alert_queue_depth(s->alerts) == 0 &&
        !atomic_load(&s->stop)) {
        wait_wake(s, LINGER_MS);
    }
}

/* Fill the batch buffer with up to batch_rows price rows. */
static size_t take_rows(struct cs_store *s, size_t max)
{
    struct cs_store_row row;
    char line[CS_STORE_LINE_MAX];
    size_t n = 0;

    s->text_len = 0;
    while (n < max && pop_row(s, &row)) {
        text_append(s, line, cs_store_format_row(&row, line, sizeof line));
        n++;
    }
    if (n > 0) {
        atomic_fetch_sub(&s->pending, n);
    }
    return n;
}

static size_t take_alerts(struct cs_store *s, size_t max)
{
    struct cs_alert a;
    char line[CS_STORE_LINE_MAX];
    size_t n = 0;

    s->text_len = 0;
    while (n < max && cs_alert_queue_depth(s->alerts) > 0 &&
           cs_alert_queue_pop(s->alerts, &a, 0)) {
        text_append(s, line, cs_store_format_alert(&a, line, sizeof line));
        n++;
    }
    return n;
}

/* Write the batch buffer (rows the server refuses are isolated and
 * rejected), or spill what is not written when there is no connection or
 * it fails (a failed COPY is rolled back whole). */
static void write_or_spill(struct cs_store *s, struct cs_pg **pg,
                           struct spill *sp, size_t rows)
{
    struct copy_job job = { s, *pg, sp, 0, 0 };

    if (rows == 0) {
        return;
    }
    if (*pg && copy_rows(&job, s->text, s->text_len) == CS_OK) {
        return;
    }
    if (*pg) {
        atomic_fetch_add(&s->write_errors, 1);
        cs_pg_close(*pg);
        *pg = NULL;
        atomic_store(&s->connected, false);
        cs_log_warn(LOG_STORE, "lost %s; spilling and reconnecting",
                    s->where);
    }
    spill_write(s, sp, s->text + job.done, s->text_len - job.done);
}

static void *writer_main(void *arg)
{
    struct cs_store *s = arg;
    struct cs_pg *pg = NULL;
    unsigned attempt = 0;
    unsigned seed = (unsigned)cs_time_now_ns();
    int64_t next_connect = 0;
    bool ever = false;

    for (;;) {
        bool stopping = atomic_load(&s->stop);
        int64_t now = cs_time_mono_ns();
        bool late = stopping && now >= atomic_load(&s->deadline_ns);
        size_t rows, alerts;

        if (pg == NULL && !late && now >= next_connect) {
            pg = cs_pg_open(s->dsn, CONNECT_TIMEOUT_S);
            if (pg) {
                attempt = 0;
                atomic_store(&s->connected, true);
                if (ever) {
                    atomic_fetch_add(&s->reconnects, 1);
                }
                ever = true;
            } else {
                next_connect = cs_time_mono_ns() + backoff_ns(attempt, &seed);
                attempt++;
            }
        }
        if (atomic_load(&s->warm_state) == WARM_REQUESTED &&
            (stopping || atomic_load(&s->warm_cancel) ||
             cs_time_mono_ns() >= s->warm_deadline_ns)) {
            cs_log_warn(LOG_STORE, "warm start abandoned: %s", pg == NULL ?
                        "no connection to the database before the deadline"
                        : "stopping");
            atomic_store(&s->warm_state, WARM_DONE);
        }
        if (pg && !late && atomic_load(&s->warm_state) == WARM_REQUESTED) {
            if (!warm_run(s, pg)) {
                cs_pg_close(pg);
                pg = NULL;
                atomic_store(&s->connected, false);
                continue;
            }
        }
        if (pg && !late) {
            if (!spill_replay(s, pg, &s->spill_prices) ||
                !spill_replay(s, pg, &s->spill_alerts)) {
                cs_pg_close(pg);
                pg = NULL;
                atomic_store(&s->connected, false);
                continue;
            }
        }
        /* Without a connection, the backlog stays in memory until it is
         * half the queue; then (and when stopping past the deadline) it
         * goes to disk. */
        if (pg || late || depth(s) >= s->capacity / 2) {
            /* Behind (a burst, a replay): bigger COPYs, fewer commits. */
            size_t want = s->cfg.batch_rows, backlog = depth(s);
            if (backlog >= 2 * want) {
                want = backlog < BACKLOG_BATCHES * want ? backlog
                                                        : BACKLOG_BATCHES * want;
            }
            rows = take_rows(s, want);
            write_or_spill(s, &pg, &s->spill_prices, rows);
            alerts = take_alerts(s, s->cfg.batch_rows);
            write_or_spill(s, &pg, &s->spill_alerts, alerts);
        } else {
            rows = alerts = 0;
        }
        if (stopping && depth(s) == 0 &&
            cs_alert_queue_depth(s->alerts) == 0 &&
            (late || (pg && spill_total(s) == 0))) {
            break;
        }
        if (rows < s->cfg.batch_rows && alerts == 0) {
            writer_idle(s, pg != NULL, stopping);
        }
    }
    if (s->reject_quiet > 0) {
        cs_log_warn(LOG_STORE, "%llu more rejected rows were not logged one "
                    "by one", (unsigned long long)s->reject_quiet);
    }
    if (spill_total(s) > 0) {
        cs_log_warn(LOG_STORE, "%llu bytes left in the spill files in %s, "
                    "replayed at the next start",
                    (unsigned long long)spill_total(s), s->cfg.spill_dir);
    }
    cs_pg_close(pg);
    atomic_store(&s->connected, false);
    return NULL;
}

/* ---- lifecycle ---- */

static char *dup_or_null(const char *p)
{
    return p ? cs_xstrdup(p) : NULL;
}

struct cs_store *cs_store_new(const struct cs_config_storage *cfg)
{
    struct cs_store *s;
    const char *dsn = cfg->postgres;
    bool dir_ok;

    if (!cfg->enabled) {
        return NULL;
    }
    if (cfg->postgres_env) {
        dsn = getenv(cfg->postgres_env);
        if (dsn == NULL || dsn[0] == '\0') {
            cs_log_error(LOG_STORE, "storage.postgres_env: %s is not set",
                         cfg->postgres_env);
            return NULL;
        }
    }
    s = cs_xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    s->cfg.postgres = NULL;
    s->cfg.postgres_env = dup_or_null(cfg->postgres_env);
    s->cfg.spill_dir = cs_xstrdup(cfg->spill_dir);
    s->dsn = cs_xstrdup(dsn);
    cs_pg_describe(s->dsn, s->where, sizeof s->where);
    s->capacity = cfg->queue_rows;
    s->ring = cs_xcalloc(s->capacity, sizeof *s->ring);
    s->ov_head = s->ov_tail = cs_xcalloc(1, sizeof *s->ov_head);
    s->alerts = cs_alert_queue_new(ALERT_RING);
    s->warm_ring = cs_xcalloc(WARM_RING, sizeof *s->warm_ring);
    s->spill_max = (uint64_t)cfg->spill_max_mb << 20;
    s->spill_prices.fd = s->spill_alerts.fd = -1;
    s->wake_rows = cfg->batch_rows < s->capacity ? cfg->batch_rows
                                                 : s->capacity;
    s->wake_ok = sem_init(&s->wake, 0, 0) == 0;
    if (!s->wake_ok) {
        cs_log_warn_errno(LOG_STORE, "sem_init (the writer polls instead)");
    }
    dir_ok = make_dirs(s->cfg.spill_dir);
    spill_open(s, &s->spill_prices, "prices", dir_ok);
    spill_open(s, &s->spill_alerts, "alerts", dir_ok);
    update_spill_gauge(s);
    if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
        cs_log_error(LOG_STORE, "cannot start the writer thread");
        cs_store_free(s);
        return NULL;
    }
    s->started = true;
    cs_log_info(LOG_STORE, "storing %s to PostgreSQL at %s",
                cfg->mode == CS_STORE_INTERVAL ? "prices per interval"
                                               : "every tick", s->where);
    return s;
}

void cs_store_stop(struct cs_store *s, int64_t timeout_ms)
{
    if (s == NULL || !s->started) {
        return;
    }
    atomic_store(&s->deadline_ns, cs_time_mono_ns() +
                 timeout_ms * CS_NS_PER_MS);
    atomic_store(&s->stop, true);
    wake_writer(s);
    pthread_join(s->thread, NULL);
    s->started = false;
    cs_log_info(LOG_STORE, "stopped: %llu rows written, %llu alerts, %llu "
                "dropped, %llu spilled",
                (unsigned long long)atomic_load(&s->rows_written),
                (unsigned long long)atomic_load(&s->alerts_written),
                (unsigned long long)atomic_load(&s->dropped),
                (unsigned long long)atomic_load(&s->spilled_rows));
}

void cs_store_free(struct cs_store *s)
{
    struct chunk *c;

    if (s == NULL) {
        return;
    }
    cs_store_stop(s, 0);
    for (c = s->ov_head; c;) {
        struct chunk *next = atomic_load(&c->next);
        free(c);
        c = next;
    }
    spill_close(&s->spill_prices);
    spill_close(&s->spill_alerts);
    cs_alert_queue_free(s->alerts);
    if (s->wake_ok) {
        sem_destroy(&s->wake);
    }
    free(s->ring);
    free(s->warm_ring);
    for (size_t i = 0; i < s->nwarm; i++) {
        free(s->warm_exchange[i]);
        free(s->warm_symbol[i]);
    }
    free(s->warm_exchange);
    free(s->warm_symbol);
    free(s->text);
    free(s->dsn);
    free(s->cfg.postgres_env);
    free(s->cfg.spill_dir);
    free(s);
}

void cs_store_get_stats(const struct cs_store *s, struct cs_store_stats *o)
{
    struct cs_store *m = (struct cs_store *)s;
    memset(o, 0, sizeof *o);
    o->rows_queued = atomic_load(&m->rows_queued);
    o->rows_written = atomic_load(&m->rows_written);
    o->alerts_written = atomic_load(&m->alerts_written);
    o->batches = atomic_load(&m->batches);
    o->dropped = atomic_load(&m->dropped);
    o->spilled_rows = atomic_load(&m->spilled_rows);
    o->replayed_rows = atomic_load(&m->replayed_rows);
    o->reconnects = atomic_load(&m->reconnects);
    o->write_errors = atomic_load(&m->write_errors);
    o->rows_rejected = atomic_load(&m->rows_rejected);
    o->spill_bytes = atomic_load(&m->spill_bytes);
    o->queue_depth = depth(s);
    o->connected = atomic_load(&m->connected);
    o->last_write_ns = atomic_load(&m->last_write_ns);
    o->warm_rows = atomic_load(&m->warm_rows);
}

/* ---- warm start, loop side ---- */

void cs_store_warm_begin(struct cs_store *s,
                         const struct cs_store_warm_key *keys, size_t n,
                         int64_t lookback_ns, int64_t deadline_ms)
{
    if (atomic_load(&s->warm_state) != WARM_NONE) {
        return;
    }
    s->warm_exchange = cs_xcalloc(n ? n : 1, sizeof *s->warm_exchange);
    s->warm_symbol = cs_xcalloc(n ? n : 1, sizeof *s->warm_symbol);
    for (size_t i = 0; i < n; i++) {
        s->warm_exchange[i] = cs_xstrdup(keys[i].exchange);
        s->warm_symbol[i] = cs_xstrdup(keys[i].symbol);
    }
    s->nwarm = n;
    s->warm_lookback_ns = lookback_ns;
    s->warm_started_ns = cs_time_mono_ns();
    s->warm_deadline_ns = s->warm_started_ns + deadline_ms * CS_NS_PER_MS;
    atomic_store(&s->warm_state, n ? WARM_REQUESTED : WARM_DONE);
    wake_writer(s);
}

size_t cs_store_warm_take(struct cs_store *s, struct cs_store_warm_row *out,
                          size_t max, bool *done)
{
    size_t n = 0;
    size_t head = atomic_load_explicit(&s->warm_head, memory_order_relaxed);
    /* The state first: DONE is stored after the writer's last row. */
    int state = atomic_load(&s->warm_state);
    size_t tail = atomic_load_explicit(&s->warm_tail, memory_order_acquire);

    *done = s->warm_over;
    if (s->warm_over) {
        return 0;
    }
    while (n < max && head != tail) {
        out[n++] = s->warm_ring[head % WARM_RING];
        head++;
    }
    atomic_store_explicit(&s->warm_head, head, memory_order_release);
    atomic_fetch_add(&s->warm_rows, n);
    if (state == WARM_DONE && head == tail) {
        s->warm_over = true;
    } else if (state != WARM_DONE &&
               cs_time_mono_ns() >= s->warm_deadline_ns) {
        atomic_store(&s->warm_cancel, true);
        s->warm_over = true;
        cs_log_warn(LOG_STORE, "warm start: gave up after %lld ms (%s not "
                    "answering); starting with %llu restored rows",
                    (long long)((cs_time_mono_ns() - s->warm_started_ns) /
                                CS_NS_PER_MS), s->where,
                    (unsigned long long)atomic_load(&s->warm_rows));
    }
    *done = s->warm_over;
    return n;
}

/* ---- metrics ---- */

static void one(struct cs_metrics_writer *w, const char *name,
                enum cs_metric_type type, const char *help, double v)
{
    cs_metrics_family(w, name, type, help);
    cs_metrics_sample(w, name, NULL, v);
}

static void collect(void *ctx, struct cs_metrics_writer *w)
{
    struct cs_store *s = ctx;
    struct cs_store_stats st;
    uint64_t buckets[NBOUNDS + 1];
    const char *name = "cryptosup_store_write_seconds";

    cs_store_get_stats(s, &st);
    one(w, "cryptosup_store_queue_depth", CS_METRIC_GAUGE,
        "Rows waiting for the writer (ring and overflow)",
        (double)st.queue_depth);
    one(w, "cryptosup_store_rows_queued_total", CS_METRIC_COUNTER,
        "Price rows handed to the writer (stored, spilled, rejected or "
        "dropped later)", (double)st.rows_queued);
    one(w, "cryptosup_store_rows_written_total", CS_METRIC_COUNTER,
        "Price rows written to PostgreSQL", (double)st.rows_written);
    one(w, "cryptosup_store_alerts_written_total", CS_METRIC_COUNTER,
        "Alert rows written to PostgreSQL", (double)st.alerts_written);
    one(w, "cryptosup_store_batches_total", CS_METRIC_COUNTER,
        "COPY batches written", (double)st.batches);
    one(w, "cryptosup_store_dropped_total", CS_METRIC_COUNTER,
        "Rows lost: queue, buffer and spill all full", (double)st.dropped);
    one(w, "cryptosup_store_spilled_rows_total", CS_METRIC_COUNTER,
        "Rows written to the spill file", (double)st.spilled_rows);
    one(w, "cryptosup_store_spill_bytes", CS_METRIC_GAUGE,
        "Bytes in the spill files not yet replayed", (double)st.spill_bytes);
    one(w, "cryptosup_store_reconnects_total", CS_METRIC_COUNTER,
        "Reconnections to PostgreSQL", (double)st.reconnects);
    one(w, "cryptosup_store_write_errors_total", CS_METRIC_COUNTER,
        "Failed COPY batches (spilled, retried)", (double)st.write_errors);
    one(w, "cryptosup_store_rows_rejected_total", CS_METRIC_COUNTER,
        "Rows (prices and alerts) the server refused as bad data "
        "(SQLSTATE class 22/23): logged, not stored, not retried",
        (double)st.rows_rejected);
    one(w, "cryptosup_store_warmup_rows_total", CS_METRIC_COUNTER,
        "Price rows restored from PostgreSQL into the windows at start",
        (double)st.warm_rows);
    one(w, "cryptosup_store_connected", CS_METRIC_GAUGE,
        "1 while connected to PostgreSQL", st.connected ? 1 : 0);
    one(w, "cryptosup_store_last_write_timestamp_seconds", CS_METRIC_GAUGE,
        "Wall time of the last successful write",
        (double)st.last_write_ns / 1e9);
    for (size_t i = 0; i <= NBOUNDS; i++) {
        buckets[i] = atomic_load(&s->latency_buckets[i]);
    }
    cs_metrics_family(w, name, CS_METRIC_HISTOGRAM,
                      "Time to write one COPY batch");
    cs_metrics_histogram(w, name, NULL, LATENCY_BOUNDS, buckets, NBOUNDS,
                         (double)atomic_load(&s->latency_sum_us) / 1e6,
                         atomic_load(&s->latency_count));
}

void cs_store_register_metrics(struct cs_store *s, struct cs_metrics *m)
{
    cs_metrics_register(m, collect, s);
}
