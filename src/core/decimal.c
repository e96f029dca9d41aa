/* Exact decimal arithmetic for prices: parsing the venues' decimal text,
 * exact comparison and midpoints, and plain-text formatting. Only
 * cs_decimal_to_double() touches floating point. */
#include "cryptosup/decimal.h"

#include <math.h>
#include <stdint.h>

#define MAX_SIG_DIGITS 18

/* 10^0 .. 10^19; 10^19 still fits a uint64_t. */
static const uint64_t pow10_u64[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
    10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
    100000000000ULL, 1000000000000ULL, 10000000000000ULL,
    100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL, 1000000000000000000ULL,
    10000000000000000000ULL,
};

/* Powers of ten that a double holds exactly (5^22 < 2^53). */
static const double pow10_exact[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits of the significand, integer part then fraction, accumulated as
 * an integer. Digits past MAX_SIG_DIGITS must be zeros; they are dropped
 * and counted so the exponent can absorb them. */
struct digit_acc {
    int64_t mant;
    int sig;          /* significant digits held in mant */
    int64_t dropped;  /* trailing zeros not held */
    int64_t frac;     /* digits seen after the point */
    int64_t total;    /* digits seen in all */
};

static bool acc_digit(struct digit_acc *acc, char c, bool in_fraction)
{
    int64_t d = c - '0';

    acc->total++;
    if (in_fraction) {
        acc->frac++;
    }
    if (acc->mant == 0 && d == 0) {
        return true;                    /* leading zero: not significant */
    }
    if (acc->sig >= MAX_SIG_DIGITS || acc->dropped > 0) {
        if (d != 0) {
            return false;               /* would need > 18 digits */
        }
        acc->dropped++;
        return true;
    }
    acc->mant = acc->mant * 10 + d;
    acc->sig++;
    return true;
}

/* "e-05", "E+3": the exponent, bounded well past any useful value. */
static bool parse_exponent(const char *p, const char *end, int64_t *out)
{
    int64_t value = 0;
    bool neg = false;

    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    if (p == end) {
        return false;
    }
    for (; p < end; p++) {
        if (!is_digit(*p)) {
            return false;
        }
        value = value * 10 + (*p - '0');
        if (value > 100000) {
            return false;
        }
    }
    *out = neg ? -value : value;
    return true;
}

bool cs_decimal_parse(const char *text, size_t len, struct cs_decimal *out)
{
    struct digit_acc acc = { 0, 0, 0, 0, 0 };
    const char *p = text, *end = text + len;
    bool neg = false, in_fraction = false;
    int64_t exp10 = 0;

    if (text == NULL || len == 0) {
        return false;
    }
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    for (; p < end && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.' && !in_fraction) {
            in_fraction = true;
        } else if (!is_digit(*p) || !acc_digit(&acc, *p, in_fraction)) {
            return false;
        }
    }
    if (acc.total == 0) {
        return false;                   /* "", "-", ".", "e5" */
    }
    if (p < end && !parse_exponent(p + 1, end, &exp10)) {
        return false;
    }
    /* Long digit runs can only be zeros, so frac and dropped stay below
     * the input length and this sum cannot overflow. */
    exp10 += acc.dropped - acc.frac;
    if (exp10 < CS_DECIMAL_EXP_MIN || exp10 > CS_DECIMAL_EXP_MAX) {
        return false;
    }
    out->mant = neg ? -acc.mant : acc.mant;
    out->exp = (int32_t)exp10;
    return true;
}

double cs_decimal_to_double(struct cs_decimal d)
{
    /* One rounding for |mant| < 2^53 and |exp| <= 22: an exactly held
     * mantissa times or divided by an exactly held power of ten. */
    double value = (double)d.mant;
    int64_t e = d.exp;

    /* |mant| < 10^19, so past these exponents the result is certain;
     * stopping here also bounds the loops below for any exponent. */
    if (d.mant == 0 || e < -350) {
        return d.mant < 0 ? -0.0 : 0.0;
    }
    if (e > 330) {
        return d.mant < 0 ? -HUGE_VAL : HUGE_VAL;
    }
    while (e > 22) {
        value *= 1e22;
        e -= 22;
    }
    while (e < -22) {
        value /= 1e22;
        e += 22;
    }
    if (e >= 0) {
        return value * pow10_exact[e];
    }
    return value / pow10_exact[-e];
}

static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

static int count_digits(uint64_t v)
{
    int n = 1;
    while (n < 20 && v >= pow10_u64[n]) {
        n++;
    }
    return n;
}

/* Compare |a| and |b|, both non-zero. */
static int cmp_magnitude(uint64_t ma, int32_t ea, uint64_t mb, int32_t eb)
{
    int da = count_digits(ma), db = count_digits(mb);
    /* Position of the leading digit decides unless it is the same. */
    int64_t lead_a = (int64_t)da + ea, lead_b = (int64_t)db + eb;

    if (lead_a != lead_b) {
        return lead_a < lead_b ? -1 : 1;
    }
    /* Same leading position: pad the shorter mantissa to the longer one's
     * digit count. An int64 magnitude has at most 19 digits, so the padded
     * value stays below 10^19 and fits. */
    if (da < db) {
        ma *= pow10_u64[db - da];
    } else if (db < da) {
        mb *= pow10_u64[da - db];
    }
    return ma < mb ? -1 : (ma > mb ? 1 : 0);
}

int cs_decimal_cmp(struct cs_decimal a, struct cs_decimal b)
{
    int sign_a = a.mant < 0 ? -1 : (a.mant > 0 ? 1 : 0);
    int sign_b = b.mant < 0 ? -1 : (b.mant > 0 ? 1 : 0);
    int mag;

    if (sign_a != sign_b) {
        return sign_a < sign_b ? -1 : 1;
    }
    if (sign_a == 0) {
        return 0;
    }
    mag = cmp_magnitude(magnitude(a.mant), a.exp, magnitude(b.mant), b.exp);
    return sign_a > 0 ? mag : -mag;
}

bool cs_decimal_is_zero(struct cs_decimal d)
{
    return d.mant == 0;
}

/* v * 10^n, false on int64 overflow. */
static bool mul_pow10(int64_t v, int64_t n, int64_t *out)
{
    if (v == 0) {
        *out = 0;
        return true;
    }
    if (n < 0 || n > 18) {
        return false;
    }
    int64_t scale = (int64_t)pow10_u64[n];
    if (v > INT64_MAX / scale || v < INT64_MIN / scale) {
        return false;
    }
    *out = v * scale;
    return true;
}

bool cs_decimal_rescale(struct cs_decimal d, int32_t exp, int64_t *mant_out)
{
    if (exp > d.exp) {
        return false;
    }
    return mul_pow10(d.mant, (int64_t)d.exp - exp, mant_out);
}

static bool add_checked(int64_t a, int64_t b, int64_t *out)
{
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) {
        return false;
    }
    *out = a + b;
    return true;
}

bool cs_decimal_mid(struct cs_decimal a, struct cs_decimal b,
                    struct cs_decimal *out)
{
    int32_t exp = a.exp < b.exp ? a.exp : b.exp;
    int64_t ma, mb, half, rem, result;

    if (!cs_decimal_rescale(a, exp, &ma) || !cs_decimal_rescale(b, exp, &mb)) {
        return false;
    }
    /* Halve each before adding so ma + mb itself can never overflow;
     * rem (-2..2) is what the truncating halves left over. */
    half = ma / 2 + mb / 2;
    rem = ma % 2 + mb % 2;
    if (rem % 2 == 0) {
        if (!add_checked(half, rem / 2, &result)) {
            return false;
        }
        out->mant = result;
        out->exp = exp;
        return true;
    }
    /* Odd sum: (2 * half + rem) / 2 = (10 * half + 5 * rem) / 10. */
    if (exp == INT32_MIN || !mul_pow10(half, 1, &result)
        || !add_checked(result, 5 * rem, &result)) {
        return false;
    }
    out->mant = result;
    out->exp = exp - 1;
    return true;
}

/* Bounded writer with snprintf semantics: counts what it would need. */
struct emitter {
    char *buf;
    size_t size, len;
};

static void emit_char(struct emitter *em, char c)
{
    if (em->len + 1 < em->size) {
        em->buf[em->len] = c;
    }
    em->len++;
}

static void emit_zeros(struct emitter *em, uint64_t n)
{
    while (n > 0 && em->len + 1 < em->size) {
        em->buf[em->len++] = '0';
        n--;
    }
    em->len += (size_t)n;
}

size_t cs_decimal_format(struct cs_decimal d, bool trim, char *buf,
                         size_t size)
{
    struct emitter em = { buf, size, 0 };
    char digits[20];
    int ndigits = 0;
    uint64_t mag = magnitude(d.mant);
    int64_t exp = d.exp;

    if (mag == 0 && exp > 0) {
        exp = 0;                        /* zero has no integer zeros */
    }
    if (trim) {
        while (exp < 0 && mag % 10 == 0) {
            if (mag == 0) {
                exp = 0;
                break;
            }
            mag /= 10;
            exp++;
        }
    }
    do {
        digits[ndigits++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag > 0);

    if (d.mant < 0) {
        emit_char(&em, '-');
    }
    if (exp >= 0) {
        for (int i = ndigits - 1; i >= 0; i--) {
            emit_char(&em, digits[i]);
        }
        emit_zeros(&em, (uint64_t)exp);
    } else {
        uint64_t frac = (uint64_t)(-exp);
        int int_digits = (uint64_t)ndigits > frac ? ndigits - (int)frac : 0;

        for (int i = ndigits - 1; i >= ndigits - int_digits; i--) {
            emit_char(&em, digits[i]);
        }
        if (int_digits == 0) {
            emit_char(&em, '0');
        }
        emit_char(&em, '.');
        emit_zeros(&em, frac - (uint64_t)(ndigits - int_digits));
        for (int i = ndigits - int_digits - 1; i >= 0; i--) {
            emit_char(&em, digits[i]);
        }
    }
    if (size > 0) {
        buf[em.len < size ? em.len : size - 1] = '\0';
    }
    return em.len;
}
