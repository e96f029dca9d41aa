/* Replays recorded frames: reads lines, pairs them with recorded receive
 * times, paces them when asked, and hands each to the engine. Checks the
 * stop and reload flags between frames. */
#include "cryptosup/replay.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cryptosup/log.h"
#include "cryptosup/timeutil.h"

#define LOG_REPLAY "replay"
#define REPLAY_LINE_MAX (64u << 20)   /* longer lines are skipped */

const struct cs_venue_ops *cs_replay_venue_for(const char *path,
                                               const char *exchange)
{
    char dir[256];
    const char *end, *start;
    size_t len;

    if (exchange) {
        return cs_venue_find(exchange);
    }
    end = strrchr(path, '/');
    if (end == NULL) {
        return NULL;
    }
    start = end;
    while (start > path && start[-1] != '/') {
        start--;
    }
    len = (size_t)(end - start);
    if (len == 0 || len >= sizeof dir) {
        return NULL;
    }
    memcpy(dir, start, len);
    dir[len] = '\0';
    return cs_venue_find(dir);
}

/* FILE.jsonl -> FILE.recv_ts.txt */
static FILE *open_recv_times(const char *path)
{
    char companion[4096];
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    size_t stem = (dot && (!slash || dot > slash)) ? (size_t)(dot - path)
                                                   : strlen(path);
    if (stem + 13 >= sizeof companion) {
        return NULL;
    }
    memcpy(companion, path, stem);
    strcpy(companion + stem, ".recv_ts.txt");
    return fopen(companion, "r");
}

static int64_t next_recv_ns(FILE *f, bool *ok)
{
    char buf[64];
    char *end;
    double secs;

    if (f == NULL || fgets(buf, sizeof buf, f) == NULL) {
        *ok = false;
        return 0;
    }
    errno = 0;
    secs = strtod(buf, &end);
    if (errno || end == buf || !isfinite(secs) || secs < 0 || secs > 1e11) {
        *ok = false;
        return 0;
    }
    *ok = true;
    /* Receive times are recorded with microsecond precision. */
    return (int64_t)llround(secs * 1e6) * 1000;
}

/* Pace: wait until `data_ns` (relative to the first frame) has passed at
 * `speed` on the monotonic clock, in slices so signals stay responsive. */
static void pace(const struct cs_replay_options *opt, int64_t first_data_ns,
                 int64_t data_ns, int64_t start_mono_ns)
{
    int64_t due = start_mono_ns +
                  (int64_t)((double)(data_ns - first_data_ns) / opt->speed);
    for (;;) {
        int64_t now = cs_time_mono_ns();
        if (now >= due || (opt->stop && *opt->stop) ||
            (opt->reload && *opt->reload)) {
            return;
        }
        cs_time_sleep_ns(due - now < 100 * CS_NS_PER_MS ? due - now
                                                 : 100 * CS_NS_PER_MS);
    }
}

/* A capture's event line (`#cs-event {...}`): a reconnect starts a new
 * connection (fresh parser state) and a gap on its symbols, as live. */
static void replay_event(struct cs_engine *e, const struct cs_venue_ops *venue,
                         struct cs_venue_scratch **scratch, const char *line,
                         const char *path, uint64_t lineno)
{
    static const char prefix[] = "#cs-event ";
    cJSON *ev, *kind, *symbols, *sym;

    if (strncmp(line, prefix, sizeof prefix - 1) != 0) {
        return;   /* any other '#' line is a comment */
    }
    ev = cJSON_Parse(line + sizeof prefix - 1);
    kind = cJSON_GetObjectItemCaseSensitive(ev, "kind");
    symbols = cJSON_GetObjectItemCaseSensitive(ev, "symbols");
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, "record_gap") == 0) {
        /* The recorder could not keep up and dropped frames live data
         * had: every instrument of the exchange is gapped here, and the
         * parser starts over so the missing sequence numbers are not
         * reported as a second, connection gap. */
        cs_venue_scratch_free(*scratch);
        *scratch = cs_venue_scratch_new();
        cs_engine_mark_gap(e, venue->name, NULL, "record",
                           cs_engine_now_ns(e));
        cJSON_Delete(ev);
        return;
    }
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "reconnect") != 0 ||
        !cJSON_IsArray(symbols)) {
        cs_log_limited(CS_LOG_WARN, LOG_REPLAY, "bad-event",
                       "%s:%llu: unknown capture event skipped", path,
                       (unsigned long long)lineno);
        cJSON_Delete(ev);
        return;
    }
    cs_venue_scratch_free(*scratch);
    *scratch = cs_venue_scratch_new();
    cJSON_ArrayForEach(sym, symbols) {
        if (cJSON_IsString(sym)) {
            cs_engine_mark_gap(e, venue->name, sym->valuestring, "reconnect",
                               cs_engine_now_ns(e));
        }
    }
    cJSON_Delete(ev);
}

static void handle_signals(struct cs_engine *e,
                           const struct cs_replay_options *opt)
{
    if (opt->reload && *opt->reload) {
        *opt->reload = 0;
        cs_log_info("lua.reload", "SIGHUP: reloading %s",
                    opt->config_path ? opt->config_path : "the defaults");
        cs_engine_reload(e, opt->config_path);
    }
}

enum cs_err cs_replay_file(struct cs_engine *e, const char *path,
                           const struct cs_replay_options *opt,
                           struct cs_replay_stats *stats)
{
    const struct cs_venue_ops *venue = cs_replay_venue_for(path,
                                                           opt->exchange);
    struct cs_venue_scratch *scratch = NULL;
    FILE *in = NULL, *times = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t first_data_ns = 0, start_mono_ns = 0;
    bool have_first = false, times_ok = true;
    const struct cs_parse_out *parsed;
    enum cs_err err = CS_OK;

    if (venue == NULL) {
        cs_log_error(LOG_REPLAY, "%s: unknown exchange%s%s; name it with "
                     "--exchange or keep the file in a directory named "
                     "after it", path, opt->exchange ? " " : "",
                     opt->exchange ? opt->exchange : "");
        return CS_ERR_INVAL;
    }
    in = fopen(path, "r");
    if (in == NULL) {
        cs_log_error(LOG_REPLAY, "%s: %s", path, strerror(errno));
        return CS_ERR_IO;
    }
    times = open_recv_times(path);
    scratch = cs_venue_scratch_new();
    stats->files++;
    cs_log_info(LOG_REPLAY, "%s: replaying as %s%s", path, venue->name,
                times ? " with recorded receive times" : "");
    while ((len = getline(&line, &cap, in)) >= 0) {
        int64_t recv_ns = 0;
        bool ok = false;

        if (opt->stop && *opt->stop) {
            break;
        }
        handle_signals(e, opt);
        if (times_ok) {
            recv_ns = next_recv_ns(times, &ok);
            if (times && !ok) {
                cs_log_warn(LOG_REPLAY, "%s: receive times end or are "
                            "unreadable at line %llu; continuing without",
                            path, (unsigned long long)stats->lines + 1);
                times_ok = false;
            }
        }
        stats->lines++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            len--;
        }
        if (len == 0) {
            stats->blank_lines++;
            continue;
        }
        if ((size_t)len > REPLAY_LINE_MAX) {
            stats->oversize_lines++;
            cs_log_limited(CS_LOG_WARN, LOG_REPLAY, "oversize",
                           "%s:%llu: frame of %zd bytes skipped", path,
                           (unsigned long long)stats->lines, len);
            continue;
        }
        line[len] = '\0';
        if (line[0] == '#') {
            replay_event(e, venue, &scratch, line, path, stats->lines);
            continue;
        }
        parsed = cs_engine_frame(e, venue, scratch, line, (size_t)len,
                                 recv_ns);
        if (parsed->connection_gap) {
            /* As live: messages lost on the connection. */
            cs_engine_mark_gap(e, venue->name, NULL, "connection",
                               cs_engine_now_ns(e));
        }
        if (stats->lines % 4096 == 0) {
            cs_engine_maintain(e, 64);
        }
        if (opt->speed > 0) {
            int64_t data_ns = recv_ns ? recv_ns : cs_engine_now_ns(e);
            if (!have_first && data_ns) {
                have_first = true;
                first_data_ns = data_ns;
                start_mono_ns = cs_time_mono_ns();
            } else if (have_first) {
                pace(opt, first_data_ns, data_ns, start_mono_ns);
            }
        }
    }
    if (ferror(in)) {
        cs_log_error(LOG_REPLAY, "%s: read error: %s", path, strerror(errno));
        err = CS_ERR_IO;
    }
    free(line);
    cs_venue_scratch_free(scratch);
    if (times) {
        fclose(times);
    }
    fclose(in);
    return err;
}
