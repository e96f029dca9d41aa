/* Exact decimal numbers for prices: value = mant * 10^exp. Prices stay exact
 * from the wire to storage; doubles are only for ratios. */
#ifndef CRYPTOSUP_DECIMAL_H
#define CRYPTOSUP_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cs_decimal {
    int64_t mant;   /* at most 18 significant digits */
    int32_t exp;    /* power of ten */
};

/* Parsed exponents are limited to this range (prices never come close);
 * it keeps formatted text short. Arithmetic accepts any exponent. */
#define CS_DECIMAL_EXP_MIN (-64)
#define CS_DECIMAL_EXP_MAX 64

/* Parse "123.4500", "-0.0000012", "9e-05", "1E+3". Leading '+' allowed,
 * no surrounding space. ".5" and "5." are accepted (at least one digit is
 * required). Trailing zeros are kept in the mantissa (the text "1.50" gives
 * mant 150, exp -2), except that zeros beyond 18 significant digits are
 * folded into the exponent ("1234567890123456789000" is fine). More than 18
 * significant digits otherwise, an empty string, "NaN", "inf", a second
 * point, an exponent outside the limits above or any other character:
 * returns false and leaves *out alone. */
bool cs_decimal_parse(const char *text, size_t len, struct cs_decimal *out);

/* Nearest double; for ratios only. */
double cs_decimal_to_double(struct cs_decimal d);

/* Compare exactly; -1, 0, 1. */
int cs_decimal_cmp(struct cs_decimal a, struct cs_decimal b);

bool cs_decimal_is_zero(struct cs_decimal d);

/* Rescale to `exp` (<= d.exp) exactly. False when the mantissa would not
 * fit an int64. */
bool cs_decimal_rescale(struct cs_decimal d, int32_t exp, int64_t *mant_out);

/* (a + b) / 2, exact (one more decimal place when needed). False only when
 * the result does not fit. */
bool cs_decimal_mid(struct cs_decimal a, struct cs_decimal b,
                    struct cs_decimal *out);

/* Plain decimal text without exponent ("0.0000012", "65083.67",
 * "-12"); trailing zeros beyond exp trimmed only when `trim` is true.
 * Writes at most `size` bytes including the NUL; returns the length it
 * needed (like snprintf). */
size_t cs_decimal_format(struct cs_decimal d, bool trim, char *buf,
                         size_t size);

#endif
