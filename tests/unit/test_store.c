/* The store without a database: COPY text formatting, the ring and its
 * overflow, drops past buffer_rows, the spill on a bounded stop, and
 * spill_dir creation (every missing level; a clear error otherwise). The
 * DSN points at a closed local port, so every connection attempt fails. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cryptosup/log.h"
#include "cryptosup/store.h"
#include "testlib.h"

static void test_format(void)
{
    struct cs_store_row r;
    struct cs_alert a;
    char buf[CS_STORE_LINE_MAX];

    memset(&r, 0, sizeof r);
    strcpy(r.exchange, "binance");
    strcpy(r.symbol, "BTC/US\tDT");
    strcpy(r.price, "20445.110");
    r.ts_ns = 1678579259999000000LL;
    cs_store_format_row(&r, buf, sizeof buf);
    CHECK_STR(buf, "binance\tBTC/US\\tDT\t20445.110\t"
                   "2023-03-12 00:00:59.999000+00\t\\N\n");
    memset(&a, 0, sizeof a);
    strcpy(a.rule, "pump");
    strcpy(a.exchange, "binance");
    strcpy(a.symbol, "BTC/USDT");
    strcpy(a.price, "1.5");
    strcpy(a.severity, "warning");
    strcpy(a.message, "a\\b");
    a.window_s = 3600;
    a.has_change = true;
    a.change = 0.5;
    a.ts_ns = 0;
    cs_store_format_alert(&a, buf, sizeof buf);
    CHECK_STR(buf, "1970-01-01 00:00:00.000000+00\tpump\tbinance\tBTC/USDT"
                   "\t3600\t0.5\t1.5\t\\N\tfiring\twarning\ta\\\\b\n");
}

static void test_queue_spill_drop(void)
{
    char dir[] = "/tmp/cs-store-XXXXXX";
    char path[256];
    struct cs_config_storage c;
    struct cs_store *s;
    struct cs_store_stats st;
    struct cs_store_row r;
    size_t ok = 0, lines = 0;
    FILE *f;
    int ch;

    CHECK(mkdtemp(dir) != NULL);
    memset(&c, 0, sizeof c);
    c.enabled = true;
    c.postgres = "host=127.0.0.1 port=1 dbname=x password=hunter2";
    c.queue_rows = 64;
    c.buffer_rows = 3000;     /* several overflow chunks */
    c.batch_rows = 100;
    c.spill_dir = dir;
    c.spill_max_mb = 16;
    s = cs_store_new(&c);
    CHECK(s != NULL);
    memset(&r, 0, sizeof r);
    strcpy(r.exchange, "binance");
    strcpy(r.symbol, "BTC/USDT");
    strcpy(r.price, "1.00");
    /* Faster than any writer: the ring fills, then the overflow, then
     * rows are dropped and counted. */
    for (int i = 0; i < 10000; i++) {
        r.ts_ns = (int64_t)i * 1000000000LL;
        ok += cs_store_enqueue(s, &r);
    }
    cs_store_stop(s, 200);
    cs_store_get_stats(s, &st);
    CHECK(ok >= 64 + 3000);
    CHECK_INT(st.dropped, 10000 - ok);
    CHECK_INT(st.spilled_rows, ok);
    CHECK_INT(st.rows_written, 0);
    CHECK_INT(st.queue_depth, 0);
    snprintf(path, sizeof path, "%s/prices.copy", dir);
    f = fopen(path, "r");
    CHECK(f != NULL);
    while (f && (ch = fgetc(f)) != EOF) {
        lines += ch == '\n';
    }
    if (f) {
        fclose(f);
    }
    CHECK_INT(lines, ok);
    cs_store_free(s);
    unlink(path);
    snprintf(path, sizeof path, "%s/alerts.copy", dir);
    unlink(path);
    rmdir(dir);
}

static void store_config(struct cs_config_storage *c, char *spill_dir)
{
    memset(c, 0, sizeof *c);
    c->enabled = true;
    c->postgres = "host=127.0.0.1 port=1 dbname=x";
    c->queue_rows = 64;
    c->buffer_rows = 64;
    c->batch_rows = 10;
    c->spill_dir = spill_dir;
    c->spill_max_mb = 1;
}

static bool is_dir_0700(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
           (st.st_mode & 07777) == 0700;
}

/* spill_dir three levels deep, none existing: all created, 0700, and the
 * spill works; under a regular file: one error naming both paths, the
 * store runs and rows that would spill are dropped and counted. */
static void test_spill_dir(void)
{
    char dir[] = "/tmp/cs-store-XXXXXX";
    char deep[256], path[1024], file[256], bad[300], log[256];
    struct cs_config_storage c;
    struct cs_store_stats st;
    struct cs_store_row r;
    struct cs_store *s;
    char *text;
    int fd;

    CHECK(mkdtemp(dir) != NULL);
    memset(&r, 0, sizeof r);
    strcpy(r.exchange, "binance");
    strcpy(r.symbol, "BTC/USDT");
    strcpy(r.price, "1.00");

    snprintf(deep, sizeof deep, "%s/a/b/c/", dir);   /* trailing slash */
    store_config(&c, deep);
    s = cs_store_new(&c);
    CHECK(s != NULL);
    snprintf(path, sizeof path, "%s/a", dir);
    CHECK(is_dir_0700(path));
    snprintf(path, sizeof path, "%s/a/b", dir);
    CHECK(is_dir_0700(path));
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    CHECK(is_dir_0700(path));
    CHECK(cs_store_enqueue(s, &r));
    cs_store_stop(s, 0);
    cs_store_get_stats(s, &st);
    CHECK_INT(st.spilled_rows, 1);
    CHECK_INT(st.dropped, 0);
    cs_store_free(s);
    snprintf(path, sizeof path, "%s/a/b/c/prices.copy", dir);
    CHECK(access(path, F_OK) == 0);

    /* A regular file in the way. */
    snprintf(file, sizeof file, "%s/file", dir);
    fd = open(file, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0);
    if (fd >= 0) {
        close(fd);
    }
    snprintf(bad, sizeof bad, "%s/x/y", file);
    snprintf(log, sizeof log, "%s/log", dir);
    fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    cs_log_set_fd(fd);
    store_config(&c, bad);
    s = cs_store_new(&c);
    CHECK(s != NULL);
    CHECK(cs_store_enqueue(s, &r));
    cs_store_stop(s, 0);
    cs_store_get_stats(s, &st);
    CHECK_INT(st.spilled_rows, 0);
    CHECK_INT(st.dropped, 1);
    cs_store_free(s);
    cs_log_set_fd(2);
    if (fd >= 0) {
        close(fd);
    }
    text = cs_test_read_file(log, NULL);
    snprintf(path, sizeof path, "[ERROR] store: cannot create spill_dir %s: "
             "%s: Not a directory", bad, file);
    CHECK(strstr(text, path) != NULL);
    if (strstr(text, path) == NULL) {
        fprintf(stderr, "log was:\n%s", text);
    }
    {
        const char *hit = strstr(text, "cannot create spill_dir");
        CHECK(hit != NULL &&
              strstr(hit + 1, "cannot create spill_dir") == NULL);   /* once */
    }
    free(text);

    snprintf(path, sizeof path, "%s/a/b/c/prices.copy", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/a/b/c/alerts.copy", dir);
    unlink(path);
    for (const char *sub = "/a/b/c"; ; ) {
        snprintf(path, sizeof path, "%s%s", dir, sub);
        rmdir(path);
        if (strcmp(sub, "/a") == 0) {
            break;
        }
        sub = strcmp(sub, "/a/b/c") == 0 ? "/a/b" : "/a";
    }
    unlink(file);
    unlink(log);
    rmdir(dir);
}

int main(void)
{
    test_format();
    test_queue_spill_drop();
    test_spill_dir();
    return cs_test_finish("test_store");
}
