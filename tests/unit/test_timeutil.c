/* ISO-8601 parsing, clock reads, log stamps and config durations. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/timeutil.h"
#include "testlib.h"

static bool parse(const char *s, int64_t *ns)
{
    return cs_time_parse_iso8601(s, strlen(s), ns);
}

static void check_parse(const char *s, int64_t want)
{
    int64_t got = -12345;
    bool ok = parse(s, &got);
    if (!ok) {
        cs_test_fail(__FILE__, __LINE__, "parse(\"%s\") failed", s);
        return;
    }
    CHECK_INT(got, want);
}

static void check_reject(const char *s)
{
    int64_t got = 0;
    if (parse(s, &got)) {
        cs_test_fail(__FILE__, __LINE__, "parse(\"%s\") accepted", s);
    } else {
        cs_test_passed++;
    }
}

static void test_iso_valid(void)
{
    check_parse("2021-04-17T16:43:30.244075Z",
                1618677810000000000LL + 244075000LL);
    /* Coinbase Advanced Trade: 5-digit trade time, 9-digit envelope. */
    check_parse("2026-08-09T21:05:38.50436Z",
                1786309538000000000LL + 504360000LL);
    check_parse("2026-08-09T21:05:48.229198328Z",
                1786309548000000000LL + 229198328LL);
    check_parse("2026-08-09T21:05:48.2292Z",
                1786309548000000000LL + 229200000LL);
    check_parse("2026-08-09T21:05:48Z", 1786309548000000000LL);
    check_parse("2026-08-09T21:05:48.5z", 1786309548500000000LL);
    check_parse("2026-08-09 21:05:48.000000001Z", 1786309548000000001LL);
    check_parse("1970-01-01T00:00:00Z", 0);
    check_parse("1969-12-31T23:59:59Z", -1000000000LL);
    check_parse("1969-12-31T23:59:59.5Z", -500000000LL);
    check_parse("1900-01-01T00:00:00Z", -2208988800000000000LL);
    check_parse("2020-02-29T23:59:59Z", 1583020799000000000LL);
    check_parse("2000-02-29T00:00:00Z", 951868800000000000LL - 86400LL
                                        * 1000000000LL);
    check_parse("2024-12-31T23:59:59Z", 1735689599000000000LL);
    /* Offsets are applied: these are all the same instant. */
    check_parse("2021-04-17T16:43:30+00:00", 1618677810000000000LL);
    check_parse("2021-04-17T16:43:30+0000", 1618677810000000000LL);
    check_parse("2021-04-17T18:43:30+02:00", 1618677810000000000LL);
    check_parse("2021-04-17T22:13:30+0530", 1618677810000000000LL);
    check_parse("2021-04-17T08:43:30-08:00", 1618677810000000000LL);
    check_parse("2021-04-17T00:00:00-23:59",
                1618617600000000000LL + (23 * 3600 + 59 * 60) * 1000000000LL);
    /* The ends of the int64 nanosecond range. */
    check_parse("2262-04-11T23:47:15Z", 9223372035000000000LL);
    check_parse("1677-09-21T00:12:45Z", -9223372035000000000LL);
}

static void test_iso_invalid(void)
{
    static const char *const bad[] = {
        "", "2021", "2021-04-17", "2021-04-17T", "2021-04-17T16:43",
        "2021-04-17T16:43:30", "2021-04-17T16:43:30.", "2021-04-17T16:43:30.Z",
        "2021-04-17T16:43:30.1234567890Z", "2021-04-17T16:43:30ZZ",
        "2021-04-17T16:43:30Z ", " 2021-04-17T16:43:30Z",
        "2021-04-17X16:43:30Z", "2021-4-17T16:43:30Z", "2021-04-17T6:43:30Z",
        "2021-13-01T00:00:00Z", "2021-00-01T00:00:00Z",
        "2021-04-00T00:00:00Z", "2021-04-31T00:00:00Z",
        "2021-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
        "2021-04-17T24:00:00Z", "2021-04-17T23:60:00Z",
        "2021-04-17T23:59:60Z", "2021-04-17T16:43:30+24:00",
        "2021-04-17T16:43:30+01:60", "2021-04-17T16:43:30+1",
        "2021-04-17T16:43:30+01:0", "2021-04-17T16:43:30+01:000",
        "2021-04-17T16:43:30 UTC", "2021-04-17T16:43:30.1e3Z",
        "+021-04-17T16:43:30Z", "2021-04-17T16:43:30.-1Z",
        "2262-04-12T00:00:00Z", "1677-09-21T00:00:00Z",
        "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z",
        "2021-04-17T16:43:30.244075\xffZ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_reject(bad[i]);
    }
}

/* The input is not NUL-terminated: only `len` bytes may be read. Every
 * proper prefix of a valid stamp is invalid; the copy on the heap lets
 * ASan catch any read past the end. */
static void test_iso_prefixes(void)
{
    const char *full = "2026-08-09T21:05:48.229198328+01:30";
    size_t n = strlen(full);
    int64_t ns;

    for (size_t len = 0; len < n; len++) {
        char *copy = malloc(len + 1);
        memcpy(copy, full, len);
        CHECK(!cs_time_parse_iso8601(copy, len, &ns));
        free(copy);
    }
    CHECK(cs_time_parse_iso8601(full, n, &ns));
    CHECK_INT(ns, 1786309548229198328LL - 5400LL * 1000000000LL);
    CHECK(!cs_time_parse_iso8601(NULL, 0, &ns));
}

static void test_clocks(void)
{
    int64_t now = cs_time_now_ns();
    int64_t m1 = cs_time_mono_ns(), m2 = cs_time_mono_ns();

    CHECK(now > 1600000000LL * CS_NS_PER_S);
    CHECK(m1 > 0);
    CHECK(m2 >= m1);
}

static void test_format_utc(void)
{
    char buf[32];
    char small[8];

    cs_time_format_utc(0, buf, sizeof buf);
    CHECK_STR(buf, "1970-01-01 00:00:00");
    cs_time_format_utc(1618677810244075000LL, buf, sizeof buf);
    CHECK_STR(buf, "2021-04-17 16:43:30");
    cs_time_format_utc(-1, buf, sizeof buf);
    CHECK_STR(buf, "1969-12-31 23:59:59");
    cs_time_format_utc(1583020799999999999LL, buf, sizeof buf);
    CHECK_STR(buf, "2020-02-29 23:59:59");
    cs_time_format_utc(0, small, sizeof small);
    CHECK_STR(small, "1970-01");
    cs_time_format_utc(0, buf, 0);     /* must not write */
}

static void check_duration(const char *s, int64_t want)
{
    int64_t got = -1;
    if (!cs_duration_parse(s, &got)) {
        cs_test_fail(__FILE__, __LINE__, "duration \"%s\" rejected", s);
        return;
    }
    CHECK_INT(got, want);
}

static void test_duration_parse(void)
{
    static const char *const bad[] = {
        "", "0", "0s", "00m", "-5m", "+5m", "5x", "5ms", "5 m", " 5m", "5m ",
        "m", "1.5h", "1e3", "5M", "9223372037s", "106752d", "99999999999999999999",
        "153722867280912930m", "1h30m",
    };
    int64_t got;

    check_duration("30s", 30);
    check_duration("5m", 300);
    check_duration("1h", 3600);
    check_duration("24h", 86400);
    check_duration("7d", 604800);
    check_duration("90", 90);
    check_duration("007", 7);
    check_duration("9223372036", 9223372036LL);
    check_duration("106751d", 106751LL * 86400);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cs_duration_parse(bad[i], &got)) {
            cs_test_fail(__FILE__, __LINE__, "duration \"%s\" accepted",
                         bad[i]);
        } else {
            cs_test_passed++;
        }
    }
    CHECK(!cs_duration_parse(NULL, &got));
}

static void test_duration_format(void)
{
    static const struct { int64_t secs; const char *text; } cases[] = {
        { 30, "30s" }, { 300, "5m" }, { 3600, "1h" }, { 86400, "24h" }, { 172800, "2d" },
        { 604800, "7d" }, { 90, "90s" }, { 5400, "90m" }, { 1, "1s" },
        { 7200, "2h" }, { 90000, "25h" },
    };
    char buf[32];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t back = 0;
        cs_duration_format(cases[i].secs, buf, sizeof buf);
        CHECK_STR(buf, cases[i].text);
        CHECK(cs_duration_parse(buf, &back));
        CHECK_INT(back, cases[i].secs);
    }
}

int main(void)
{
    test_iso_valid();
    test_iso_invalid();
    test_iso_prefixes();
    test_clocks();
    test_format_utc();
    test_duration_parse();
    test_duration_format();
    return cs_test_finish("test_timeutil");
}
