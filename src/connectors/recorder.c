/* The capture writer: a single-producer, single-consumer byte ring of
 * variable-length records (loop thread in, writer thread out, C11 atomics
 * only) and the writer thread, which owns the capture FILEs. */
#include "cryptosup/recorder.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cryptosup/log.h"
#include "cryptosup/timeutil.h"

#define LOG_RECORD "record"
#define FLUSH_EVERY_NS CS_NS_PER_S
#define IDLE_WAIT_MS 250        /* writer's sleep when idle: flush cadence */
#define FREE_WAIT_NS (5 * CS_NS_PER_S)   /* for the last gap lines */
#define NAME_MAX_BYTES 64
#define GAP_JSON_MAX 160

enum rec_kind { REC_FRAME = 1, REC_EVENT };

/* In the ring before each payload; copied in and out (it may wrap). */
struct rec_hdr {
    uint32_t len;         /* payload bytes */
    uint16_t file;
    uint8_t kind;         /* enum rec_kind */
    uint8_t pad;
    int64_t recv_ns;      /* wall clock */
};

_Static_assert(sizeof(struct rec_hdr) == CS_RECORD_HEADER_BYTES,
               "record header size");

/* Drops not yet marked in the capture. Loop thread only. */
struct pending_gap {
    uint64_t frames, events, bytes;
    int64_t first_ns;     /* receive time of the first dropped record */
    uint64_t dropped;     /* all records dropped, for the stats */
};

/* One capture's files. Writer thread only. */
struct capture {
    char name[NAME_MAX_BYTES];
    FILE *frames, *times;
    bool failed;          /* open or write failed: logged once */
};

struct cs_recorder {
    char *dir;                            /* read-only after new */
    unsigned char *ring;
    size_t capacity;                      /* bytes */
    /* Positions only grow; used = head - tail. */
    _Atomic uint64_t head;                /* written by the loop thread */
    _Atomic uint64_t tail;                /* written by the writer thread */
    atomic_bool stop;
    sem_t wake;                           /* posted when the ring was empty */
    pthread_t thread;
    /* Written by the loop thread before it publishes `published`, then
     * read-only. */
    char names[CS_RECORD_MAX_FILES][NAME_MAX_BYTES];
    atomic_int published;                 /* captures registered */
    /* Loop thread only. */
    int nfiles;
    struct pending_gap gaps[CS_RECORD_MAX_FILES];
    /* Writer thread only. */
    struct capture files[CS_RECORD_MAX_FILES];
    int opened;                           /* captures opened (or failed) */
    int64_t last_flush_mono_ns;
    bool dirty;                           /* written since the last flush */
    /* Written by the writer, read anywhere. */
    _Atomic uint64_t write_errors[CS_RECORD_MAX_FILES];
};

/* ---- the ring ---- */

static void ring_put(struct cs_recorder *r, uint64_t pos, const void *src,
                     size_t n)
{
    size_t at = (size_t)(pos % r->capacity);
    size_t first = r->capacity - at < n ? r->capacity - at : n;
    memcpy(r->ring + at, src, first);
    memcpy(r->ring, (const unsigned char *)src + first, n - first);
}

static void ring_get(const struct cs_recorder *r, uint64_t pos, void *dst,
                     size_t n)
{
    size_t at = (size_t)(pos % r->capacity);
    size_t first = r->capacity - at < n ? r->capacity - at : n;
    memcpy(dst, r->ring + at, first);
    memcpy((unsigned char *)dst + first, r->ring, n - first);
}

/* The payload's bytes in place, as one or two contiguous pieces. */
static void ring_span(const struct cs_recorder *r, uint64_t pos, size_t n,
                      const unsigned char *piece[2], size_t piece_len[2])
{
    size_t at = (size_t)(pos % r->capacity);
    size_t first = r->capacity - at < n ? r->capacity - at : n;
    piece[0] = r->ring + at;
    piece_len[0] = first;
    piece[1] = r->ring;
    piece_len[1] = n - first;
}

/* Producer: bytes the ring can take now. */
static size_t ring_room(struct cs_recorder *r)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    return r->capacity - (size_t)(head - tail);
}

/* Producer: one record at `pos` (the caller checked the room); returns
 * the position after it. Invisible to the writer until published. */
static uint64_t ring_write(struct cs_recorder *r, uint64_t pos,
                          enum rec_kind kind, int file, int64_t recv_ns,
                          const void *data, size_t len)
{
    struct rec_hdr h;

    memset(&h, 0, sizeof h);
    h.len = (uint32_t)len;
    h.file = (uint16_t)file;
    h.kind = (uint8_t)kind;
    h.recv_ns = recv_ns;
    ring_put(r, pos, &h, sizeof h);
    ring_put(r, pos + sizeof h, data, len);
    return pos + sizeof h + len;
}

/* Producer: hand the records up to `head` to the writer. */
static void ring_publish(struct cs_recorder *r, uint64_t old_head,
                         uint64_t head)
{
    /* Sequentially consistent store then load, mirrored by the writer
     * (store tail, load head): at least one side sees the other, so the
     * writer never sleeps on a record nobody woke it for. */
    atomic_store(&r->head, head);
    if (atomic_load(&r->tail) == old_head) {
        sem_post(&r->wake);   /* lock-free; the writer may be asleep */
    }
}

/* ---- the writer thread ---- */

static void capture_failed(struct cs_recorder *r, int file, const char *what)
{
    struct capture *c = &r->files[file];
    char logger[NAME_MAX_BYTES + 8];

    atomic_fetch_add(&r->write_errors[file], 1);
    if (!c->failed) {
        c->failed = true;
        snprintf(logger, sizeof logger, "conn.%s", c->name);
        cs_log_warn_errno(logger, "capture %s in %s/%s failed; further "
                          "errors on it are counted, not logged", what,
                          r->dir, c->name);
    }
}

static void capture_open(struct cs_recorder *r, int file)
{
    struct capture *c = &r->files[file];
    char path[4096];
    char logger[NAME_MAX_BYTES + 8];

    memcpy(c->name, r->names[file], sizeof c->name);
    snprintf(logger, sizeof logger, "conn.%s", c->name);
    snprintf(path, sizeof path, "%s/%s", r->dir, c->name);
    if (mkdir(r->dir, 0755) != 0 && errno != EEXIST) {
        cs_log_warn_errno(logger, "cannot create %s", r->dir);
        c->failed = true;
        return;
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        cs_log_warn_errno(logger, "cannot create %s", path);
        c->failed = true;
        return;
    }
    snprintf(path, sizeof path, "%s/%s/live.jsonl", r->dir, c->name);
    c->frames = fopen(path, "w");
    snprintf(path, sizeof path, "%s/%s/live.recv_ts.txt", r->dir, c->name);
    c->times = fopen(path, "w");
    if (c->frames == NULL || c->times == NULL) {
        cs_log_warn_errno(logger, "cannot write the capture in %s", r->dir);
        c->failed = true;
    } else {
        cs_log_info(logger, "recording frames to %s/%s/live.jsonl", r->dir,
                    c->name);
    }
}

/* Open the captures registered since the last look. A record of a
 * capture is queued after its registration is published, so once the
 * writer holds the record it sees the name. */
static void open_new_captures(struct cs_recorder *r)
{
    int n = atomic_load(&r->published);
    while (r->opened < n) {
        capture_open(r, r->opened++);
    }
}

/* One line as received; a raw CR or LF (never valid inside a JSON string)
 * becomes a space so the line format holds. */
static int write_frame_text(FILE *f, const unsigned char *p, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n' || p[i] == '\r') {
            if (fwrite(p + start, 1, i - start, f) != i - start ||
                putc(' ', f) == EOF) {
                return -1;
            }
            start = i + 1;
        }
    }
    return fwrite(p + start, 1, n - start, f) == n - start ? 0 : -1;
}

static void write_record(struct cs_recorder *r, const struct rec_hdr *h,
                         uint64_t payload_pos)
{
    const unsigned char *piece[2];
    size_t piece_len[2];
    struct capture *c;
    int rc = 0;

    ring_span(r, payload_pos, h->len, piece, piece_len);
    if (h->file >= r->opened) {
        open_new_captures(r);
    }
    c = &r->files[h->file];
    if (c->frames == NULL || c->times == NULL) {
        return;   /* the open failed, already logged */
    }
    if (h->kind == REC_EVENT && fputs("#cs-event ", c->frames) == EOF) {
        rc = -1;
    }
    for (int k = 0; k < 2 && rc == 0; k++) {
        if (h->kind == REC_FRAME) {
            rc = write_frame_text(c->frames, piece[k], piece_len[k]);
        } else if (fwrite(piece[k], 1, piece_len[k], c->frames) !=
                   piece_len[k]) {
            rc = -1;
        }
    }
    if (rc == 0 && putc('\n', c->frames) == EOF) {
        rc = -1;
    }
    if (rc == 0 && fprintf(c->times, "%lld.%06lld\n",
                           (long long)(h->recv_ns / CS_NS_PER_S),
                           (long long)(h->recv_ns % CS_NS_PER_S / 1000)) < 0) {
        rc = -1;
    }
    if (rc != 0) {
        capture_failed(r, h->file, "write");
    }
    r->dirty = true;
}

/* Write the records queued when called (one snapshot, so that a steady
 * stream still lets the caller flush); true if there were any. */
static bool drain(struct cs_recorder *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    /* Pairs with the producer's store-then-load (see ring_publish). */
    uint64_t head = atomic_load(&r->head);
    struct rec_hdr h;

    if (head == tail) {
        return false;
    }
    while (tail != head) {
        ring_get(r, tail, &h, sizeof h);
        write_record(r, &h, tail + sizeof h);
        tail += sizeof h + h.len;
        /* The bytes are in stdio's buffer now: free them for the producer
         * at once. */
        atomic_store(&r->tail, tail);
    }
    return true;
}

static void flush_all(struct cs_recorder *r)
{
    for (int i = 0; i < CS_RECORD_MAX_FILES; i++) {
        struct capture *c = &r->files[i];
        if (c->frames && c->times &&
            (fflush(c->frames) != 0 || fflush(c->times) != 0)) {
            capture_failed(r, i, "flush");
        }
    }
    r->dirty = false;
    r->last_flush_mono_ns = cs_time_mono_ns();
}

static void wait_for_work(struct cs_recorder *r)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += IDLE_WAIT_MS * CS_NS_PER_MS;
    if (until.tv_nsec >= CS_NS_PER_S) {
        until.tv_sec++;
        until.tv_nsec -= CS_NS_PER_S;
    }
    while (sem_timedwait(&r->wake, &until) != 0 && errno == EINTR) {
    }
}

static void *writer_main(void *arg)
{
    struct cs_recorder *r = arg;

    r->last_flush_mono_ns = cs_time_mono_ns();
    for (;;) {
        /* Stop is set after the producer's last record, so a drain that
         * follows seeing it writes everything. */
        bool stopping = atomic_load(&r->stop);
        bool wrote;
        open_new_captures(r);
        wrote = drain(r);
        if (stopping) {
            break;
        }
        if (r->dirty &&
            cs_time_mono_ns() - r->last_flush_mono_ns >= FLUSH_EVERY_NS) {
            flush_all(r);
        }
        if (!wrote) {
            wait_for_work(r);
        }
    }
    for (int i = 0; i < CS_RECORD_MAX_FILES; i++) {
        struct capture *c = &r->files[i];
        if (c->frames && fclose(c->frames) != 0) {
            capture_failed(r, i, "close");
        }
        if (c->times && fclose(c->times) != 0) {
            capture_failed(r, i, "close");
        }
        c->frames = c->times = NULL;
    }
    return NULL;
}

/* ---- the loop thread's side ---- */

static bool valid_file(const struct cs_recorder *r, int file)
{
    return r && file >= 0 && file < r->nfiles;
}

/* The capture's drops not yet marked, as event JSON in `json`; 0 if
 * none. */
static size_t gap_json(const struct pending_gap *g, char *json, size_t size)
{
    int n;

    if (g->frames == 0 && g->events == 0) {
        return 0;
    }
    n = snprintf(json, size,
                 "{\"kind\":\"record_gap\",\"frames\":%llu,\"events\":%llu,"
                 "\"bytes\":%llu}",
                 (unsigned long long)g->frames,
                 (unsigned long long)g->events,
                 (unsigned long long)g->bytes);
    cs_require(n > 0 && (size_t)n < size);
    return (size_t)n;
}

/* Queue the capture's pending gap line and then the record (data NULL:
 * none), both or neither, so a gap line is always followed by a record or
 * the end of the capture. False: no room. */
static bool push_with_gap(struct cs_recorder *r, enum rec_kind kind,
                          int file, const char *data, size_t len,
                          int64_t recv_ns)
{
    struct pending_gap *g = &r->gaps[file];
    char json[GAP_JSON_MAX];
    size_t gap_len = gap_json(g, json, sizeof json);
    size_t need = 0;
    uint64_t head0, head;

    if (len > UINT32_MAX - CS_RECORD_HEADER_BYTES) {
        return false;
    }
    if (gap_len > 0) {
        need += CS_RECORD_HEADER_BYTES + gap_len;
    }
    if (data != NULL) {
        need += CS_RECORD_HEADER_BYTES + len;
    }
    if (need == 0) {
        return true;
    }
    if (need > ring_room(r)) {
        return false;
    }
    head0 = head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (gap_len > 0) {
        head = ring_write(r, head, REC_EVENT, file, g->first_ns, json,
                          gap_len);
        g->frames = g->events = g->bytes = 0;
    }
    if (data != NULL) {
        head = ring_write(r, head, kind, file, recv_ns, data, len);
    }
    ring_publish(r, head0, head);
    return true;
}

static enum cs_err push(struct cs_recorder *r, enum rec_kind kind, int file,
                        const char *data, size_t len, int64_t recv_ns)
{
    struct pending_gap *g;

    if (!valid_file(r, file) || (data == NULL && len > 0)) {
        return CS_ERR_INVAL;
    }
    if (push_with_gap(r, kind, file, data ? data : "", len, recv_ns)) {
        return CS_OK;
    }
    g = &r->gaps[file];
    if (g->frames == 0 && g->events == 0) {
        g->first_ns = recv_ns;
    }
    if (kind == REC_FRAME) {
        g->frames++;
    } else {
        g->events++;
    }
    g->bytes += len;
    g->dropped++;
    return CS_ERR_LIMIT;
}

struct cs_recorder *cs_recorder_new(const char *dir, size_t ring_bytes)
{
    struct cs_recorder *r = cs_xcalloc(1, sizeof *r);

    r->dir = cs_xstrdup(dir);
    r->capacity = ring_bytes < 1024 ? 1024 : ring_bytes;
    r->ring = cs_xmalloc(r->capacity);
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->stop, false);
    atomic_init(&r->published, 0);
    for (int i = 0; i < CS_RECORD_MAX_FILES; i++) {
        atomic_init(&r->write_errors[i], 0);
    }
    if (sem_init(&r->wake, 0, 0) != 0) {
        cs_log_warn_errno(LOG_RECORD, "cannot start the capture writer");
        goto fail;
    }
    if (pthread_create(&r->thread, NULL, writer_main, r) != 0) {
        cs_log_warn(LOG_RECORD, "cannot start the capture writer thread");
        sem_destroy(&r->wake);
        goto fail;
    }
    return r;
fail:
    free(r->ring);
    free(r->dir);
    free(r);
    return NULL;
}

int cs_recorder_open(struct cs_recorder *r, const char *name)
{
    size_t len = strlen(name);
    int file;

    if (r->nfiles == CS_RECORD_MAX_FILES || len == 0 ||
        len >= NAME_MAX_BYTES || strchr(name, '/') != NULL) {
        return -1;
    }
    file = r->nfiles++;
    memcpy(r->names[file], name, len + 1);
    atomic_store(&r->published, r->nfiles);
    sem_post(&r->wake);   /* open the files now, not at the first frame */
    return file;
}

enum cs_err cs_recorder_frame(struct cs_recorder *r, int file,
                              const char *text, size_t len, int64_t recv_ns)
{
    return push(r, REC_FRAME, file, text, len, recv_ns);
}

enum cs_err cs_recorder_event(struct cs_recorder *r, int file,
                              const char *json, size_t len, int64_t recv_ns)
{
    return push(r, REC_EVENT, file, json, len, recv_ns);
}

uint64_t cs_recorder_dropped(const struct cs_recorder *r, int file)
{
    return valid_file(r, file) ? r->gaps[file].dropped : 0;
}

uint64_t cs_recorder_write_errors(const struct cs_recorder *r, int file)
{
    if (r == NULL || file < 0 || file >= CS_RECORD_MAX_FILES) {
        return 0;
    }
    return atomic_load(&((struct cs_recorder *)r)->write_errors[file]);
}

size_t cs_recorder_queued_bytes(const struct cs_recorder *r)
{
    uint64_t tail = atomic_load(&((struct cs_recorder *)r)->tail);
    uint64_t head = atomic_load(&((struct cs_recorder *)r)->head);
    return (size_t)(head - tail);
}

size_t cs_recorder_capacity(const struct cs_recorder *r)
{
    return r->capacity;
}

void cs_recorder_free(struct cs_recorder *r)
{
    int64_t deadline;

    if (r == NULL) {
        return;
    }
    /* Drops after the last record still get their gap line. */
    deadline = cs_time_mono_ns() + FREE_WAIT_NS;
    for (int i = 0; i < r->nfiles; i++) {
        while (!push_with_gap(r, REC_EVENT, i, NULL, 0, 0)) {
            struct timespec pause = { 0, CS_NS_PER_MS };
            if (cs_time_mono_ns() > deadline) {
                cs_log_error(LOG_RECORD, "capture writer stuck: the "
                             "record_gap line of capture %d is lost", i);
                break;
            }
            sem_post(&r->wake);
            nanosleep(&pause, NULL);
        }
    }
    atomic_store(&r->stop, true);
    sem_post(&r->wake);
    pthread_join(r->thread, NULL);
    sem_destroy(&r->wake);
    free(r->ring);
    free(r->dir);
    free(r);
}
