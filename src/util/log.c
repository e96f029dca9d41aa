/* The line logger: one formatted, escaped line per event, written with a
 * single write() so lines from different threads never interleave. */
#include "cryptosup/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cryptosup/timeutil.h"

#define LOG_LINE_MAX 2048
#define LIMIT_SLOTS 256
#define LIMIT_INTERVAL_S 60

static atomic_int log_min_level = CS_LOG_INFO;
static atomic_int log_fd = 2;

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void cs_log_set_level(enum cs_log_level level) { atomic_store(&log_min_level, (int)level); }
enum cs_log_level cs_log_get_level(void) { return (enum cs_log_level)atomic_load(&log_min_level); }
void cs_log_set_fd(int fd) { atomic_store(&log_fd, fd); }

bool cs_log_parse_level(const char *text, enum cs_log_level *out)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (enum cs_log_level)i;
            return true;
        }
    }
    return false;
}

/* Append `src` to the line, escaping bytes that would break the one-line
 * format (newlines, other control bytes). */
static size_t append_escaped(char *line, size_t pos, size_t cap,
                             const char *src)
{
    for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
        char esc[5];
        const char *out = NULL;
        size_t n = 1;
        if (*p == '\n') {
            out = "\\n"; n = 2;
        } else if (*p == '\r') {
            out = "\\r"; n = 2;
        } else if (*p == '\t') {
            out = "\\t"; n = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", *p);
            out = esc; n = 4;
        }
        if (pos + n >= cap) {
            break;
        }
        if (out) {
            memcpy(line + pos, out, n);
        } else {
            line[pos] = (char)*p;
        }
        pos += n;
    }
    return pos;
}

void cs_logv(enum cs_log_level level, const char *logger, const char *fmt,
             va_list ap)
{
    char msg[LOG_LINE_MAX];
    char line[LOG_LINE_MAX + 128];
    char stamp[32];
    size_t pos;
    int saved_errno = errno;

    if ((int)level < atomic_load(&log_min_level)) {
        return;
    }
    vsnprintf(msg, sizeof msg, fmt, ap);
    cs_time_format_utc(cs_time_now_ns(), stamp, sizeof stamp);
    pos = (size_t)snprintf(line, sizeof line, "%s [%s] %s: ", stamp,
                           level_names[level], logger);
    if (pos >= sizeof line) {
        pos = sizeof line - 1;
    }
    pos = append_escaped(line, pos, sizeof line - 1, msg);
    line[pos++] = '\n';
    /* A failed or short log write has nowhere better to be reported. */
    ssize_t written = write(atomic_load(&log_fd), line, pos);
    (void)written;
    errno = saved_errno;
}

void cs_log(enum cs_log_level level, const char *logger, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cs_logv(level, logger, fmt, ap);
    va_end(ap);
}

void cs_log_warn_errno(const char *logger, const char *fmt, ...)
{
    char msg[LOG_LINE_MAX];
    const char *reason = strerror(errno);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cs_log(CS_LOG_WARN, logger, "%s: %s", msg, reason);
}

/* Open-addressed table of (logger, key) pairs. Names are copied (cut to
 * fit: two long names sharing a prefix share a limit), so callers may pass
 * names they build and free. When the table is full, events are logged
 * without limiting rather than lost. One table per thread: the loop and
 * the writer threads limit their own events without sharing a lock. */
struct limit_slot {
    char logger[64];
    char key[48];
    int64_t last_s;
    unsigned long suppressed;
};
static _Thread_local struct limit_slot limit_table[LIMIT_SLOTS];

static unsigned long hash_pair(const char *a, const char *b)
{
    unsigned long h = 5381;
    for (; *a; a++) h = h * 33 + (unsigned char)*a;
    h = h * 33 + '|';
    for (; *b; b++) h = h * 33 + (unsigned char)*b;
    return h;
}

bool cs_log_limited(enum cs_log_level level, const char *logger,
                    const char *key, const char *fmt, ...)
{
    char msg[LOG_LINE_MAX];
    struct limit_slot *slot = NULL;
    int64_t now_s = cs_time_mono_ns() / CS_NS_PER_S;
    char name[sizeof slot->logger], what[sizeof slot->key];
    unsigned long h;
    va_list ap;

    snprintf(name, sizeof name, "%s", logger);
    snprintf(what, sizeof what, "%s", key);
    h = hash_pair(name, what);
    for (unsigned i = 0; i < LIMIT_SLOTS; i++) {
        struct limit_slot *s = &limit_table[(h + i) % LIMIT_SLOTS];
        if (s->logger[0] == '\0') {
            memcpy(s->logger, name, sizeof name);
            memcpy(s->key, what, sizeof what);
            s->last_s = now_s - LIMIT_INTERVAL_S;
            slot = s;
            break;
        }
        if (strcmp(s->logger, name) == 0 && strcmp(s->key, what) == 0) {
            slot = s;
            break;
        }
    }
    if (slot && now_s - slot->last_s < LIMIT_INTERVAL_S) {
        slot->suppressed++;
        return false;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (slot && slot->suppressed > 0) {
        cs_log(level, logger, "%s (suppressed %lu similar)", msg,
               slot->suppressed);
    } else {
        cs_log(level, logger, "%s", msg);
    }
    if (slot) {
        slot->last_s = now_s;
        slot->suppressed = 0;
    }
    return true;
}
