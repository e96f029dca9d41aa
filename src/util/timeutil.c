/* Time parsing and formatting: ISO-8601 timestamps from venues, the wall and
 * monotonic clocks, log stamps, and config durations. Calendar arithmetic is
 * done by hand so results never depend on TZ, locale or timegm(). */
#include "cryptosup/timeutil.h"

#include <stdio.h>
#include <errno.h>
#include <time.h>

#define SECS_PER_DAY 86400LL

/* Days since 1970-01-01 of a proleptic Gregorian date. Counting years from
 * March puts the leap day last, so each 400-year era has a fixed shape. */
static int64_t days_from_civil(int64_t year, int month, int day)
{
    int64_t y = month <= 2 ? year - 1 : year;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t year_of_era = y - era * 400;                      /* 0..399 */
    int64_t shifted_month = month > 2 ? month - 3 : month + 9; /* Mar = 0 */
    int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4
                         - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static bool is_leap_year(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int64_t year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31 };
    if (month == 2 && is_leap_year(year)) {
        return 29;
    }
    return days[month - 1];
}

/* Reads exactly `n` digits at *pos; advances *pos on success. */
static bool read_digits(const char *text, size_t len, size_t *pos, int n,
                        int *out)
{
    int value = 0;
    if (len - *pos < (size_t)n) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        char c = text[*pos + (size_t)i];
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + (c - '0');
    }
    *pos += (size_t)n;
    *out = value;
    return true;
}

static bool expect_char(const char *text, size_t len, size_t *pos, char c)
{
    if (*pos >= len || text[*pos] != c) {
        return false;
    }
    (*pos)++;
    return true;
}

/* Optional ".fraction" of 1 to 9 digits, scaled to nanoseconds. */
static bool read_fraction(const char *text, size_t len, size_t *pos,
                          int64_t *ns_out)
{
    int64_t ns = 0;
    int digits = 0;

    *ns_out = 0;
    if (*pos >= len || text[*pos] != '.') {
        return true;
    }
    (*pos)++;
    while (*pos < len && text[*pos] >= '0' && text[*pos] <= '9') {
        if (++digits > 9) {
            return false;
        }
        ns = ns * 10 + (text[*pos] - '0');
        (*pos)++;
    }
    if (digits == 0) {
        return false;
    }
    for (int i = digits; i < 9; i++) {
        ns *= 10;
    }
    *ns_out = ns;
    return true;
}

/* 'Z', or +HH:MM / +HHMM / -HH:MM / -HHMM; the offset in seconds east of
 * UTC, which is subtracted to get UTC. Must consume the rest of the text. */
static bool read_zone(const char *text, size_t len, size_t *pos,
                      int64_t *offset_s)
{
    int hours, minutes, sign;

    if (*pos >= len) {
        return false;
    }
    if (text[*pos] == 'Z' || text[*pos] == 'z') {
        (*pos)++;
        *offset_s = 0;
        return *pos == len;
    }
    if (text[*pos] != '+' && text[*pos] != '-') {
        return false;
    }
    sign = text[*pos] == '-' ? -1 : 1;
    (*pos)++;
    if (!read_digits(text, len, pos, 2, &hours)) {
        return false;
    }
    if (*pos < len && text[*pos] == ':') {
        (*pos)++;
    }
    if (!read_digits(text, len, pos, 2, &minutes)) {
        return false;
    }
    if (hours > 23 || minutes > 59 || *pos != len) {
        return false;
    }
    *offset_s = sign * (int64_t)(hours * 3600 + minutes * 60);
    return true;
}

bool cs_time_parse_iso8601(const char *text, size_t len, int64_t *ns_out)
{
    size_t pos = 0;
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    int64_t frac_ns = 0, offset_s = 0, secs;

    if (text == NULL) {
        return false;
    }
    if (!read_digits(text, len, &pos, 4, &year)
        || !expect_char(text, len, &pos, '-')
        || !read_digits(text, len, &pos, 2, &month)
        || !expect_char(text, len, &pos, '-')
        || !read_digits(text, len, &pos, 2, &day)) {
        return false;
    }
    if (pos >= len || (text[pos] != 'T' && text[pos] != 't'
                       && text[pos] != ' ')) {
        return false;
    }
    pos++;
    if (!read_digits(text, len, &pos, 2, &hour)
        || !expect_char(text, len, &pos, ':')
        || !read_digits(text, len, &pos, 2, &minute)
        || !expect_char(text, len, &pos, ':')
        || !read_digits(text, len, &pos, 2, &second)
        || !read_fraction(text, len, &pos, &frac_ns)
        || !read_zone(text, len, &pos, &offset_s)) {
        return false;
    }
    /* Leap seconds (:60) are rejected: venues do not send them. */
    if (month < 1 || month > 12 || day < 1
        || day > days_in_month(year, month) || hour > 23 || minute > 59
        || second > 59) {
        return false;
    }
    secs = days_from_civil(year, month, day) * SECS_PER_DAY
           + hour * 3600LL + minute * 60LL + second - offset_s;
    /* int64 nanoseconds cover 1677..2262; outside that the text is valid
     * but unrepresentable. */
    if (secs >= INT64_MAX / CS_NS_PER_S || secs <= INT64_MIN / CS_NS_PER_S) {
        return false;
    }
    *ns_out = secs * CS_NS_PER_S + frac_ns;
    return true;
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * CS_NS_PER_S + ts.tv_nsec;
}

int64_t cs_time_now_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

int64_t cs_time_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

void cs_time_format_utc(int64_t ns, char *buf, size_t size)
{
    struct tm tm;
    /* Floor division so times before 1970 land in the right second. */
    int64_t secs = ns / CS_NS_PER_S - (ns % CS_NS_PER_S < 0 ? 1 : 0);
    time_t t = (time_t)secs;

    if (buf == NULL || size == 0) {
        return;
    }
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, size, "0000-00-00 00:00:00");
        return;
    }
    snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Seconds per unit letter; 0 for an unknown letter. */
static int64_t unit_seconds(char unit)
{
    switch (unit) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    default: return 0;
    }
}

bool cs_duration_parse(const char *text, int64_t *seconds_out)
{
    /* Capped so callers can always convert to nanoseconds. */
    const int64_t max_s = INT64_MAX / CS_NS_PER_S;
    int64_t value = 0, unit = 1;
    size_t i = 0;

    if (text == NULL) {
        return false;
    }
    for (; text[i] >= '0' && text[i] <= '9'; i++) {
        if (value > (max_s - (text[i] - '0')) / 10) {
            return false;
        }
        value = value * 10 + (text[i] - '0');
    }
    if (i == 0) {
        return false;
    }
    if (text[i] != '\0') {
        unit = unit_seconds(text[i]);
        if (unit == 0 || text[i + 1] != '\0') {
            return false;
        }
    }
    if (value == 0 || value > max_s / unit) {
        return false;
    }
    *seconds_out = value * unit;
    return true;
}

void cs_duration_format(int64_t seconds, char *buf, size_t size)
{
    static const struct { int64_t secs; char unit; } units[] = {
        { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' },
    };

    if (buf == NULL || size == 0) {
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        /* Traders say "24h", not "1d": days only from two days on. */
        if (units[i].unit == 'd' && seconds < 2 * 86400) {
            continue;
        }
        if (seconds != 0 && seconds % units[i].secs == 0) {
            snprintf(buf, size, "%lld%c", (long long)(seconds / units[i].secs),
                     units[i].unit);
            return;
        }
    }
    snprintf(buf, size, "%llds", (long long)seconds);
}

void cs_time_sleep_ns(int64_t ns)
{
    struct timespec ts;
    if (ns <= 0) {
        return;
    }
    ts.tv_sec = (time_t)(ns / CS_NS_PER_S);
    ts.tv_nsec = (long)(ns % CS_NS_PER_S);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
