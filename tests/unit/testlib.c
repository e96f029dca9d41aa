/* Counters and helpers behind testlib.h. */
#include "testlib.h"

#include <stdarg.h>
#include <stdlib.h>

unsigned cs_test_passed, cs_test_failed;

void cs_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    cs_test_failed++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

const char *cs_test_fixture(const char *relpath)
{
    static char path[4096];
    const char *root = getenv("CS_TEST_FIXTURES");
    if (root == NULL) {
        root = "tests/fixtures";
    }
    snprintf(path, sizeof path, "%s/%s", root, relpath);
    return path;
}

char *cs_test_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long size;
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        abort();
    }
    buf[size] = '\0';
    fclose(f);
    if (len_out) {
        *len_out = (size_t)size;
    }
    return buf;
}

int cs_test_finish(const char *name)
{
    printf("%s: %u passed, %u failed\n", name, cs_test_passed, cs_test_failed);
    return cs_test_failed == 0 ? 0 : 1;
}
