/* Time parsing and formatting. Core code takes time as a parameter; only
 * callers at the edges read the clock. */
#ifndef CRYPTOSUP_TIMEUTIL_H
#define CRYPTOSUP_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CS_NS_PER_S 1000000000LL
#define CS_NS_PER_MS 1000000LL

/* ISO-8601 / RFC 3339 UTC: "2021-04-17T16:43:30.244075Z", 0 to 9 fraction
 * digits, 'T' or ' ' separator, 'Z' or "+00:00"/"+0000" style offsets
 * (applied). False on anything else. */
bool cs_time_parse_iso8601(const char *text, size_t len, int64_t *ns_out);

/* Wall clock and monotonic clock in ns. */
int64_t cs_time_now_ns(void);
int64_t cs_time_mono_ns(void);
/* Sleep ns (<= 0: not at all), resuming after signal interruptions. */
void cs_time_sleep_ns(int64_t ns);

/* "2025-03-14 09:26:53" (UTC) into buf (>= 20 bytes). */
void cs_time_format_utc(int64_t ns, char *buf, size_t size);

/* Durations: "30s", "5m", "1h", "24h", "7d", "90" (seconds). Whole seconds,
 * > 0 and at most INT64_MAX / CS_NS_PER_S (so converting to ns never
 * overflows). No sign, spaces or other units. False on anything else. */
bool cs_duration_parse(const char *text, int64_t *seconds_out);
/* Shortest spelling of a duration: 3600 -> "1h", 90 -> "90s". */
void cs_duration_format(int64_t seconds, char *buf, size_t size);

#endif
