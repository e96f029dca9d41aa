/* Exact decimals: parsing venue text, comparison, rescale, midpoints and
 * plain-text formatting, plus a format/parse round trip. */
#include <stdint.h>
#include <string.h>

#include "cryptosup/decimal.h"
#include "testlib.h"

static struct cs_decimal dec(int64_t mant, int32_t exp)
{
    struct cs_decimal d = { mant, exp };
    return d;
}

static void check_parse(const char *s, int64_t mant, int32_t exp, int line)
{
    struct cs_decimal d = { -1, -1 };
    if (!cs_decimal_parse(s, strlen(s), &d)) {
        cs_test_fail(__FILE__, line, "parse(\"%s\") rejected", s);
    } else if (d.mant != mant || d.exp != exp) {
        cs_test_fail(__FILE__, line, "parse(\"%s\") = %lld e%d, want %lld e%d",
                     s, (long long)d.mant, d.exp, (long long)mant, exp);
    } else {
        cs_test_passed++;
    }
}
#define PARSES(s, m, e) check_parse(s, m, e, __LINE__)

static void test_parse_valid(void)
{
    PARSES("123.4500", 1234500, -4);
    PARSES("-0.0000012", -12, -7);
    PARSES("0.00009381", 9381, -8);
    PARSES("9e-05", 9, -5);
    PARSES("9E-05", 9, -5);
    PARSES("1E+3", 1, 3);
    PARSES("1e3", 1, 3);
    PARSES("1.5e-3", 15, -4);
    PARSES("+5", 5, 0);
    PARSES("-5", -5, 0);
    PARSES("00012.30", 1230, -2);
    PARSES(".5", 5, -1);
    PARSES("5.", 5, 0);
    PARSES("0", 0, 0);
    PARSES("-0", 0, 0);
    PARSES("0.000", 0, -3);
    PARSES("65083.67", 6508367, -2);
    PARSES("25.35190000", 2535190000LL, -8);
    PARSES("107821.20000000", 10782120000000LL, -8);
    PARSES("123456789012345678", 123456789012345678LL, 0);
    PARSES("-999999999999999999", -999999999999999999LL, 0);
    PARSES("0.000000000000000000000000001", 1, -27);
    /* Zeros past 18 significant digits fold into the exponent. */
    PARSES("123456789012345678000", 123456789012345678LL, 3);
    PARSES("1.23456789012345678000", 123456789012345678LL, -17);
    PARSES("1e64", 1, 64);
    PARSES("1e-64", 1, -64);
}

static void test_parse_invalid(void)
{
    static const char *const bad[] = {
        "", "-", "+", ".", "-.", "1.2.3", "NaN", "nan", "inf", "-inf",
        "Infinity", "1e", "1e+", "1e-", "e5", ".e5", " 1", "1 ", "1,5",
        "0x10", "--1", "+-1", "1e65", "1e-65", "1e99999999999", "1e5.5",
        "1234567890123456789", "0.1234567890123456789", "12345678901234567891",
        "1..2", "1e5e5", "10e-65", "\xd9\xa1",
    };
    struct cs_decimal d = { 42, 7 };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cs_decimal_parse(bad[i], strlen(bad[i]), &d)) {
            cs_test_fail(__FILE__, __LINE__, "parse(\"%s\") accepted", bad[i]);
        } else {
            cs_test_passed++;
        }
    }
    /* Failure leaves *out alone. */
    CHECK_INT(d.mant, 42);
    CHECK_INT(d.exp, 7);
    CHECK(!cs_decimal_parse(NULL, 0, &d));
    /* Only `len` bytes count: the text need not be NUL-terminated. */
    CHECK(cs_decimal_parse("12345", 3, &d));
    CHECK_INT(d.mant, 123);
    CHECK(!cs_decimal_parse("1\0002", 3, &d));
}

static void test_to_double(void)
{
    CHECK(cs_decimal_to_double(dec(6508367, -2)) == 65083.67);
    CHECK(cs_decimal_to_double(dec(12, -7)) == 1.2e-6);
    CHECK(cs_decimal_to_double(dec(9, -5)) == 9e-05);
    CHECK(cs_decimal_to_double(dec(-9381, -8)) == -0.00009381);
    CHECK(cs_decimal_to_double(dec(1, 3)) == 1000.0);
    CHECK(cs_decimal_to_double(dec(0, -3)) == 0.0);
    CHECK(cs_decimal_to_double(dec(2535190000LL, -8)) == 25.3519);
    CHECK_NEAR(cs_decimal_to_double(dec(1, 30)) / 1e30, 1.0, 1e-15);
    CHECK_NEAR(cs_decimal_to_double(dec(1, -60)) / 1e-60, 1.0, 1e-15);
    CHECK_NEAR(cs_decimal_to_double(dec(-123, 300)) / -1.23e302, 1.0, 1e-14);
    /* Extreme exponents saturate quickly instead of looping. */
    CHECK(cs_decimal_to_double(dec(1, INT32_MIN)) == 0.0);
    CHECK(cs_decimal_to_double(dec(1, INT32_MAX)) > 1e308);
    CHECK(cs_decimal_to_double(dec(-1, INT32_MAX)) < -1e308);
}

static void test_cmp(void)
{
    CHECK_INT(cs_decimal_cmp(dec(150, -2), dec(15, -1)), 0);
    CHECK_INT(cs_decimal_cmp(dec(-1, 0), dec(1, 0)), -1);
    CHECK_INT(cs_decimal_cmp(dec(1, 0), dec(-1, 0)), 1);
    CHECK_INT(cs_decimal_cmp(dec(0, 0), dec(0, -5)), 0);
    CHECK_INT(cs_decimal_cmp(dec(0, 0), dec(1, -60)), -1);
    CHECK_INT(cs_decimal_cmp(dec(0, 0), dec(-1, 60)), 1);
    CHECK_INT(cs_decimal_cmp(dec(12, -7), dec(1, -6)), 1);
    CHECK_INT(cs_decimal_cmp(dec(-12, -7), dec(-1, -6)), -1);
    CHECK_INT(cs_decimal_cmp(dec(6508367, -2), dec(6508366, -2)), 1);
    CHECK_INT(cs_decimal_cmp(dec(1, 60), dec(999999999999999999LL, 0)), 1);
    CHECK_INT(cs_decimal_cmp(dec(1, -60), dec(1, -59)), -1);
    CHECK_INT(cs_decimal_cmp(dec(INT64_MIN, 0), dec(INT64_MAX, 0)), -1);
    CHECK_INT(cs_decimal_cmp(dec(INT64_MIN, 0), dec(INT64_MIN, 0)), 0);
    CHECK_INT(cs_decimal_cmp(dec(-922337203685477580LL, 1), dec(INT64_MIN, 0)),
              1);
    CHECK_INT(cs_decimal_cmp(dec(INT64_MAX, -18), dec(9, 0)), 1);
    CHECK_INT(cs_decimal_cmp(dec(INT64_MAX, 0), dec(922337203685477580LL, 1)),
              1);
    CHECK_INT(cs_decimal_cmp(dec(1, INT32_MAX), dec(1, INT32_MIN)), 1);
    CHECK(cs_decimal_is_zero(dec(0, 7)));
    CHECK(!cs_decimal_is_zero(dec(1, -7)));
}

static void test_rescale(void)
{
    int64_t m = 0;

    CHECK(cs_decimal_rescale(dec(15, -1), -3, &m));
    CHECK_INT(m, 1500);
    CHECK(cs_decimal_rescale(dec(15, -1), -1, &m));
    CHECK_INT(m, 15);
    CHECK(!cs_decimal_rescale(dec(15, -1), 0, &m));
    CHECK(cs_decimal_rescale(dec(1, 0), -18, &m));
    CHECK_INT(m, 1000000000000000000LL);
    CHECK(!cs_decimal_rescale(dec(1, 0), -19, &m));
    CHECK(!cs_decimal_rescale(dec(10, 0), -18, &m));
    CHECK(cs_decimal_rescale(dec(-9, 0), -18, &m));
    CHECK_INT(m, -9000000000000000000LL);
    CHECK(cs_decimal_rescale(dec(0, 5), -100, &m));
    CHECK_INT(m, 0);
}

static void check_mid(struct cs_decimal a, struct cs_decimal b, int64_t mant,
                      int32_t exp, int line)
{
    struct cs_decimal r = { 0, 0 };
    if (!cs_decimal_mid(a, b, &r)) {
        cs_test_fail(__FILE__, line, "mid failed");
    } else if (r.mant != mant || r.exp != exp) {
        cs_test_fail(__FILE__, line, "mid = %lld e%d, want %lld e%d",
                     (long long)r.mant, r.exp, (long long)mant, exp);
    } else {
        cs_test_passed++;
    }
}
#define MID(a, b, m, e) check_mid(a, b, m, e, __LINE__)

static void test_mid(void)
{
    struct cs_decimal r;

    MID(dec(10000, -2), dec(10001, -2), 100005, -3);   /* 100.005 */
    MID(dec(1, 0), dec(3, 0), 2, 0);
    MID(dec(15, -1), dec(2, 0), 175, -2);
    MID(dec(-3, 0), dec(4, 0), 5, -1);
    MID(dec(-3, 0), dec(-5, 0), -4, 0);
    MID(dec(-3, 0), dec(-4, 0), -35, -1);
    MID(dec(0, 0), dec(0, -2), 0, -2);
    MID(dec(2535190000LL, -8), dec(2536520000LL, -8), 2535855000LL, -8);
    MID(dec(9381, -8), dec(9401, -8), 9391, -8);
    MID(dec(9381, -8), dec(9400, -8), 93905, -9);
    MID(dec(INT64_MAX, 0), dec(INT64_MAX, 0), INT64_MAX, 0);
    MID(dec(INT64_MIN, 0), dec(INT64_MIN, 0), INT64_MIN, 0);
    MID(dec(INT64_MIN, 0), dec(INT64_MAX, 0), -5, -1);
    CHECK(!cs_decimal_mid(dec(INT64_MAX, 0), dec(INT64_MAX - 1, 0), &r));
    CHECK(!cs_decimal_mid(dec(1, 20), dec(1, -20), &r));
    CHECK(!cs_decimal_mid(dec(1, 0), dec(2, INT32_MIN), &r));
}

static void check_format(struct cs_decimal d, bool trim, const char *want,
                         int line)
{
    char buf[128];
    size_t n = cs_decimal_format(d, trim, buf, sizeof buf);
    if (strcmp(buf, want) != 0 || n != strlen(want)) {
        cs_test_fail(__FILE__, line, "format = \"%s\" (%zu), want \"%s\"",
                     buf, n, want);
    } else {
        cs_test_passed++;
    }
}
#define FORMATS(d, t, s) check_format(d, t, s, __LINE__)

static void test_format(void)
{
    char small[4];
    size_t n;

    FORMATS(dec(1234500, -4), false, "123.4500");
    FORMATS(dec(1234500, -4), true, "123.45");
    FORMATS(dec(-12, -7), false, "-0.0000012");
    FORMATS(dec(9, -5), false, "0.00009");
    FORMATS(dec(1, 3), false, "1000");
    FORMATS(dec(1, 3), true, "1000");
    FORMATS(dec(0, -3), false, "0.000");
    FORMATS(dec(0, -3), true, "0");
    FORMATS(dec(0, 0), false, "0");
    FORMATS(dec(0, 2), false, "0");
    FORMATS(dec(6508367, -2), false, "65083.67");
    FORMATS(dec(100, -2), true, "1");
    FORMATS(dec(100, -2), false, "1.00");
    FORMATS(dec(120, -3), true, "0.12");
    FORMATS(dec(-5, 0), true, "-5");
    FORMATS(dec(-5, -1), true, "-0.5");
    FORMATS(dec(1000, 0), true, "1000");
    FORMATS(dec(INT64_MIN, 0), false, "-9223372036854775808");
    FORMATS(dec(INT64_MIN, -19), false, "-0.9223372036854775808");
    FORMATS(dec(INT64_MAX, -5), false, "92233720368547.75807");

    n = cs_decimal_format(dec(6508367, -2), false, small, sizeof small);
    CHECK_INT(n, 8);
    CHECK_STR(small, "650");
    n = cs_decimal_format(dec(-12, -7), false, small, sizeof small);
    CHECK_INT(n, 10);
    CHECK_STR(small, "-0.");
    n = cs_decimal_format(dec(1, 40), false, small, sizeof small);
    CHECK_INT(n, 41);
    CHECK_STR(small, "100");
    CHECK_INT(cs_decimal_format(dec(5, 0), false, NULL, 0), 1);
}

/* Fixed-seed xorshift so the run is the same every time. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_round_trip(void)
{
    unsigned bad = 0;

    for (int i = 0; i < 20000; i++) {
        int64_t mant = (int64_t)(rng() % 1000000000000000000ULL);
        int32_t exp = (int32_t)(rng() % 61) - 30;
        struct cs_decimal d, back = { 0, 0 };
        char buf[128];
        size_t n;

        mant >>= rng() % 60;
        if (rng() & 1) {
            mant = -mant;
        }
        d = dec(mant, exp);
        n = cs_decimal_format(d, false, buf, sizeof buf);
        if (!cs_decimal_parse(buf, n, &back) || cs_decimal_cmp(d, back) != 0
            || (exp < 0 && (back.mant != d.mant || back.exp != exp))) {
            if (bad++ < 5) {
                cs_test_fail(__FILE__, __LINE__, "round trip %lld e%d -> %s",
                             (long long)mant, exp, buf);
            }
        }
        n = cs_decimal_format(d, true, buf, sizeof buf);
        if (!cs_decimal_parse(buf, n, &back) || cs_decimal_cmp(d, back) != 0) {
            if (bad++ < 5) {
                cs_test_fail(__FILE__, __LINE__, "trimmed %lld e%d -> %s",
                             (long long)mant, exp, buf);
            }
        }
    }
    CHECK_INT(bad, 0);
}

int main(void)
{
    test_parse_valid();
    test_parse_invalid();
    test_to_double();
    test_cmp();
    test_rescale();
    test_mid();
    test_format();
    test_round_trip();
    return cs_test_finish("test_decimal");
}
