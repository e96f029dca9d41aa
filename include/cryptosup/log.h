/* Line logger: `YYYY-MM-DD HH:MM:SS [LEVEL] logger.name: message`, UTC, one
 * write() per line so threads never interleave, newlines escaped. Repeats of
 * one (logger, key) are folded into "suppressed N similar" once a minute.
 * Thread-safe. Secrets must never be passed in. */
#ifndef CRYPTOSUP_LOG_H
#define CRYPTOSUP_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum cs_log_level { CS_LOG_DEBUG, CS_LOG_INFO, CS_LOG_WARN, CS_LOG_ERROR };

/* Minimum level written; default INFO. Thread-safe. */
void cs_log_set_level(enum cs_log_level level);
enum cs_log_level cs_log_get_level(void);
/* Parse "debug", "info", "warn", "error". Returns false on anything else. */
bool cs_log_parse_level(const char *text, enum cs_log_level *out);
/* Log file descriptor (default 2). Tests point it at a pipe or file. */
void cs_log_set_fd(int fd);

void cs_log(enum cs_log_level level, const char *logger, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cs_logv(enum cs_log_level level, const char *logger, const char *fmt,
             va_list ap) __attribute__((format(printf, 3, 0)));

#define cs_log_debug(logger, ...) cs_log(CS_LOG_DEBUG, logger, __VA_ARGS__)
#define cs_log_info(logger, ...) cs_log(CS_LOG_INFO, logger, __VA_ARGS__)
#define cs_log_warn(logger, ...) cs_log(CS_LOG_WARN, logger, __VA_ARGS__)
#define cs_log_error(logger, ...) cs_log(CS_LOG_ERROR, logger, __VA_ARGS__)
/* As cs_log_warn, with ": strerror(errno)" appended. */
void cs_log_warn_errno(const char *logger, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Rate-limited: logs the first event for (logger, key), then at most one line
 * a minute per pair with "(suppressed N similar)". `key` names the kind of
 * event (e.g. "malformed"). Both names are copied (the first 63 and 47
 * bytes count), so they may be built on the stack. Any thread: each thread
 * has its own table (no lock). Returns true when a line was written. */
bool cs_log_limited(enum cs_log_level level, const char *logger,
                    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
