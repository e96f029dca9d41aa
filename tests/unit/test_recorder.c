/* The capture recorder: its ring wraps, keeps order, drops (and counts)
 * what does not fit and marks each run of drops with a record_gap line,
 * takes frames up to its own size, and writes everything queued before
 * the files close. The writer is a real thread; one test stalls it on a
 * FIFO with no reader to fill the ring deterministically. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cryptosup/recorder.h"
#include "cryptosup/sbuf.h"
#include "scratch.h"
#include "testlib.h"

#define NS_PER_S 1000000000LL

/* The capture's expected text, built from what each push returned. */
struct expect {
    struct cs_sbuf frames, times;
    unsigned long long gap_frames, gap_events, gap_bytes;
    int64_t gap_ns;
    unsigned long long dropped;
};

static void expect_time(struct expect *e, int64_t ns)
{
    cs_sbuf_printf(&e->times, "%lld.%06lld\n", (long long)(ns / NS_PER_S),
                   (long long)(ns % NS_PER_S / 1000));
}

static void expect_gap_line(struct expect *e)
{
    if (e->gap_frames == 0 && e->gap_events == 0) {
        return;
    }
    cs_sbuf_printf(&e->frames, "#cs-event {\"kind\":\"record_gap\","
                   "\"frames\":%llu,\"events\":%llu,\"bytes\":%llu}\n",
                   e->gap_frames, e->gap_events, e->gap_bytes);
    expect_time(e, e->gap_ns);
    e->gap_frames = e->gap_events = e->gap_bytes = 0;
}

/* Push one record and update the expectation with the outcome. */
static enum cs_err push(struct cs_recorder *r, int file, struct expect *e,
                        bool event, const char *data, size_t len, int64_t ns)
{
    enum cs_err err = event ? cs_recorder_event(r, file, data, len, ns)
                            : cs_recorder_frame(r, file, data, len, ns);
    if (err == CS_OK) {
        expect_gap_line(e);
        if (event) {
            cs_sbuf_str(&e->frames, "#cs-event ");
            cs_sbuf_put(&e->frames, data, len);
        } else {
            for (size_t i = 0; i < len; i++) {
                char ch = data[i] == '\n' || data[i] == '\r' ? ' ' : data[i];
                cs_sbuf_put(&e->frames, &ch, 1);
            }
        }
        cs_sbuf_str(&e->frames, "\n");
        expect_time(e, ns);
    } else {
        if (e->gap_frames == 0 && e->gap_events == 0) {
            e->gap_ns = ns;
        }
        if (event) {
            e->gap_events++;
        } else {
            e->gap_frames++;
        }
        e->gap_bytes += len;
        e->dropped++;
    }
    return err;
}

static char *capture_path(const char *dir, const char *name, const char *file)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 512, "%s/%s/%s", dir, name, file);
    return p;
}

/* The files as written must equal the expectation, byte for byte. */
static void check_capture(const char *dir, const char *name, struct expect *e)
{
    char *frames, *times;
    size_t nf, nt;

    expect_gap_line(e);   /* drops at the end: written at free */
    frames = cs_test_read_file(capture_path(dir, name, "live.jsonl"), &nf);
    times = cs_test_read_file(capture_path(dir, name, "live.recv_ts.txt"),
                              &nt);
    CHECK_INT(nf, e->frames.len);
    CHECK(nf == e->frames.len && memcmp(frames, e->frames.p, nf) == 0);
    CHECK_INT(nt, e->times.len);
    CHECK(nt == e->times.len && memcmp(times, e->times.p, nt) == 0);
    free(frames);
    free(times);
    cs_sbuf_free(&e->frames);
    cs_sbuf_free(&e->times);
}

/* Remove a scratch directory and what the test put in it (two levels). */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char sub[1024];

    if (d == NULL) {
        unlink(path);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        remove_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Many records of random sizes through a small ring while the writer runs:
 * the ring wraps thousands of times, whatever the timing the capture holds
 * exactly the accepted records in order with a gap line for each run of
 * drops, and records larger than the ring are always dropped. */
static void test_order_and_wrap(void)
{
    const char *dir = scratch_dir();
    struct cs_recorder *r = cs_recorder_new(dir, 4096);
    struct expect e;
    char *data = malloc(8192);
    unsigned too_large = 0, accepted = 0;
    size_t cap;
    int file;

    memset(&e, 0, sizeof e);
    CHECK(r != NULL);
    cap = cs_recorder_capacity(r);
    CHECK_INT(cap, 4096);
    file = cs_recorder_open(r, "binance");
    CHECK_INT(file, 0);
    for (int i = 0; i < 40000; i++) {
        uint64_t x = next_rand();
        size_t len = (size_t)(x % 600);
        bool event = x % 97 == 0;
        int64_t ns = 1700000000LL * NS_PER_S + (int64_t)i * 1000;

        if (x % 1009 == 0) {
            len = cap - CS_RECORD_HEADER_BYTES + 1 + (size_t)(x % 3000);
            too_large++;
        } else if (x % 503 == 0) {
            len = cap - CS_RECORD_HEADER_BYTES - (size_t)(x % 2);
        }
        for (size_t k = 0; k < len; k++) {
            data[k] = (char)('a' + (k + (size_t)i) % 26);
        }
        if (len > 8) {
            snprintf(data, 8, "%07d", i % 10000000);
            data[7] = (x & 8) ? '\n' : ((x & 16) ? '\r' : ':');
        }
        if (push(r, file, &e, event, data, len, ns) == CS_OK) {
            accepted++;
            CHECK(len + CS_RECORD_HEADER_BYTES <= cap);
        }
    }
    CHECK(too_large > 0);
    CHECK(accepted > 1000);   /* bytes through the ring: far past its size */
    CHECK(e.dropped >= too_large);
    CHECK_INT(cs_recorder_dropped(r, file), e.dropped);
    cs_recorder_free(r);   /* drains what is still queued */
    check_capture(dir, "binance", &e);
    free(data);
    remove_tree(dir);
}

/* Two captures interleaved through one ring, freed at once after the last
 * push: every record reaches its own file. */
static void test_drain_at_free(void)
{
    const char *dir = scratch_dir();
    struct cs_recorder *r = cs_recorder_new(dir, 1u << 20);
    struct expect a, b;
    char line[64];
    int fa, fb;

    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    fa = cs_recorder_open(r, "okx");
    fb = cs_recorder_open(r, "kraken");
    CHECK_INT(fa, 0);
    CHECK_INT(fb, 1);
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(line, sizeof line, "{\"i\":%d}", i);
        int64_t ns = (int64_t)i * 1000 + 123000;
        push(r, i % 3 ? fa : fb, i % 3 ? &a : &b, false, line, (size_t)n, ns);
    }
    push(r, fb, &b, true, "{\"kind\":\"reconnect\",\"symbols\":[\"X\"]}", 37,
         5 * NS_PER_S);
    CHECK_INT(a.dropped + b.dropped, 0);
    cs_recorder_free(r);
    check_capture(dir, "okx", &a);
    check_capture(dir, "kraken", &b);
    remove_tree(dir);
}

struct reader {
    char path[600];
    struct cs_sbuf got;
};

static void *read_fifo(void *arg)
{
    struct reader *rd = arg;
    char buf[4096];
    ssize_t n;
    int fd = open(rd->path, O_RDONLY);

    if (fd < 0) {
        return NULL;
    }
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            break;
        }
        cs_sbuf_put(&rd->got, buf, (size_t)n);
    }
    close(fd);
    return NULL;
}

static bool wait_empty(const struct cs_recorder *r)
{
    struct timespec pause = { 0, 1000000 };
    for (int i = 0; i < 10000; i++) {
        if (cs_recorder_queued_bytes(r) == 0) {
            return true;
        }
        nanosleep(&pause, NULL);
    }
    return false;
}

/* The capture file is a FIFO nobody reads, so the writer blocks opening
 * it and the ring fills: exactly as many records as fit are taken, the
 * rest are dropped and counted; once the writer runs again, the next
 * record follows a gap line naming the drops. A frame of exactly the
 * ring's payload room fits an empty ring; one byte more never does. */
static void test_full_ring(void)
{
    const char *dir = scratch_dir();
    char sub[512];
    struct reader rd;
    pthread_t reader_thread;
    struct cs_recorder *r;
    struct expect e;
    char frame[100];
    char *big;
    size_t cap, fit;
    int file, taken = 0;

    memset(&e, 0, sizeof e);
    memset(&rd, 0, sizeof rd);
    snprintf(sub, sizeof sub, "%s/bybit", dir);
    CHECK(mkdir(sub, 0755) == 0);
    snprintf(rd.path, sizeof rd.path, "%s/live.jsonl", sub);
    CHECK(mkfifo(rd.path, 0644) == 0);

    r = cs_recorder_new(dir, 4096);
    cap = cs_recorder_capacity(r);
    file = cs_recorder_open(r, "bybit");
    memset(frame, 'x', sizeof frame);
    fit = cap / (CS_RECORD_HEADER_BYTES + sizeof frame);
    for (int i = 0; i < 45; i++) {
        frame[0] = (char)('A' + i % 26);
        if (push(r, file, &e, false, frame, sizeof frame,
                 (int64_t)(i + 1) * NS_PER_S) == CS_OK) {
            taken++;
        }
    }
    CHECK_INT(taken, fit);
    CHECK_INT(cs_recorder_dropped(r, file), 45 - fit);
    CHECK_INT(cs_recorder_queued_bytes(r),
              fit * (CS_RECORD_HEADER_BYTES + sizeof frame));

    /* Let the writer go. */
    CHECK(pthread_create(&reader_thread, NULL, read_fifo, &rd) == 0);
    CHECK(wait_empty(r));
    CHECK(push(r, file, &e, false, "after", 5, 100 * NS_PER_S) == CS_OK);
    CHECK_INT(cs_recorder_dropped(r, file), 45 - fit);

    /* The largest frame the ring takes, then one byte more. */
    big = malloc(cap);
    memset(big, 'b', cap);
    CHECK(wait_empty(r));
    CHECK(push(r, file, &e, false, big, cap - CS_RECORD_HEADER_BYTES,
               101 * NS_PER_S) == CS_OK);
    CHECK(wait_empty(r));
    CHECK(push(r, file, &e, false, big, cap - CS_RECORD_HEADER_BYTES + 1,
               102 * NS_PER_S) == CS_ERR_LIMIT);
    CHECK_INT(cs_recorder_dropped(r, file), 45 - fit + 1);
    cs_recorder_free(r);   /* writes the last gap line */
    pthread_join(reader_thread, NULL);

    expect_gap_line(&e);
    CHECK_INT(rd.got.len, e.frames.len);
    CHECK(rd.got.len == e.frames.len &&
          memcmp(rd.got.p, e.frames.p, e.frames.len) == 0);
    CHECK(rd.got.p && strstr(rd.got.p, "#cs-event {\"kind\":\"record_gap\","
                             "\"frames\":") != NULL);
    {
        char *times = cs_test_read_file(capture_path(dir, "bybit",
                                                     "live.recv_ts.txt"),
                                        NULL);
        CHECK_STR(times, e.times.p);
        free(times);
    }
    cs_sbuf_free(&rd.got);
    cs_sbuf_free(&e.frames);
    cs_sbuf_free(&e.times);
    free(big);
    remove_tree(dir);
}

/* Names that are not one path component are refused, as is a capture
 * past the table; a directory that cannot be created costs the capture,
 * never the process. */
static void test_names_and_failures(void)
{
    const char *dir = scratch_dir();
    char path[512], name[80];
    struct cs_recorder *r = cs_recorder_new(dir, 0);
    FILE *f;
    int file;

    CHECK_INT(cs_recorder_capacity(r), 1024);   /* the minimum */
    CHECK_INT(cs_recorder_open(r, ""), -1);
    CHECK_INT(cs_recorder_open(r, "a/b"), -1);
    memset(name, 'n', 64);
    name[64] = '\0';
    CHECK_INT(cs_recorder_open(r, name), -1);
    for (int i = 0; i < CS_RECORD_MAX_FILES; i++) {
        snprintf(name, sizeof name, "x%d", i);
        CHECK_INT(cs_recorder_open(r, name), i);
    }
    CHECK_INT(cs_recorder_open(r, "one-more"), -1);
    CHECK(cs_recorder_frame(r, CS_RECORD_MAX_FILES, "z", 1, 0) ==
          CS_ERR_INVAL);
    CHECK(cs_recorder_frame(r, -1, "z", 1, 0) == CS_ERR_INVAL);
    CHECK(cs_recorder_frame(r, 3, "{}", 2, NS_PER_S) == CS_OK);
    cs_recorder_free(r);
    cs_recorder_free(NULL);
    snprintf(path, sizeof path, "%s/x3/live.jsonl", dir);
    {
        char *text = cs_test_read_file(path, NULL);
        CHECK_STR(text, "{}\n");
        free(text);
    }

    /* The capture directory is a plain file: nothing can be created. */
    snprintf(path, sizeof path, "%s/blocked", dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fclose(f);
    }
    r = cs_recorder_new(path, 4096);
    file = cs_recorder_open(r, "coinbase");
    CHECK_INT(file, 0);
    for (int i = 0; i < 1000; i++) {
        CHECK(cs_recorder_frame(r, file, "{\"a\":1}", 7, NS_PER_S) == CS_OK ||
              cs_recorder_dropped(r, file) > 0);
    }
    cs_recorder_free(r);
    remove_tree(dir);
}

/* A running capture reaches the disk within about a second, not only at
 * free. */
static void test_periodic_flush(void)
{
    const char *dir = scratch_dir();
    struct cs_recorder *r = cs_recorder_new(dir, 4096);
    int file = cs_recorder_open(r, "okx");
    struct timespec pause = { 0, 10000000 };
    char path[512];
    struct stat st;
    bool flushed = false;

    snprintf(path, sizeof path, "%s/okx/live.jsonl", dir);
    CHECK(cs_recorder_frame(r, file, "{\"p\":1}", 7, NS_PER_S) == CS_OK);
    for (int i = 0; i < 300 && !flushed; i++) {   /* up to 3 s */
        flushed = stat(path, &st) == 0 && st.st_size == 8;
        nanosleep(&pause, NULL);
    }
    CHECK(flushed);
    cs_recorder_free(r);
    remove_tree(dir);
}

int main(void)
{
    test_order_and_wrap();
    test_drain_at_free();
    test_full_ring();
    test_names_and_failures();
    test_periodic_flush();
    return cs_test_finish("test_recorder");
}
