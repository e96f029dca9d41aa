/* Minimal unit-test harness: CHECK macros count passes and failures, and
 * cs_test_finish() prints "<name>: N passed, N failed" and gives the exit
 * code. Failures print file:line and keep going. */
#ifndef CS_TESTLIB_H
#define CS_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern unsigned cs_test_passed, cs_test_failed;

void cs_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond) \
    ((cond) ? (void)cs_test_passed++ \
            : cs_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond))

#define CHECK_INT(a, b) do { \
    long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ == b_) cs_test_passed++; \
    else cs_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", \
                      #a, #b, a_, b_); \
} while (0)

#define CHECK_STR(a, b) do { \
    const char *a_ = (a), *b_ = (b); \
    if (a_ && b_ && strcmp(a_, b_) == 0) cs_test_passed++; \
    else cs_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
                      #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
} while (0)

#define CHECK_NEAR(a, b, eps) do { \
    double a_ = (a), b_ = (b); \
    if (a_ - b_ <= (eps) && b_ - a_ <= (eps)) cs_test_passed++; \
    else cs_test_fail(__FILE__, __LINE__, "%s ~= %s: %.12g != %.12g", \
                      #a, #b, a_, b_); \
} while (0)

/* Path of a fixture under CS_TEST_FIXTURES (tests/fixtures). */
const char *cs_test_fixture(const char *relpath);
/* Read a whole file into a malloc'd NUL-terminated buffer; aborts on error. */
char *cs_test_read_file(const char *path, size_t *len_out);

int cs_test_finish(const char *name);

#endif
