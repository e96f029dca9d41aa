/* Error codes and the allocation helpers that abort instead of failing. */
#include "cryptosup/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cs_strerror(enum cs_err err)
{
    switch (err) {
    case CS_OK: return "ok";
    case CS_ERR_NOMEM: return "out of memory";
    case CS_ERR_INVAL: return "invalid argument";
    case CS_ERR_IO: return "i/o error";
    case CS_ERR_PROTO: return "protocol error";
    case CS_ERR_LUA: return "lua error";
    case CS_ERR_LIMIT: return "limit exceeded";
    }
    return "unknown error";
}

_Noreturn void cs_require_failed(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: requirement failed: %s\n", file, line, expr);
    abort();
}

static void *check_alloc(void *p, size_t size)
{
    if (p == NULL && size != 0) {
        fprintf(stderr, "out of memory allocating %zu bytes\n", size);
        abort();
    }
    return p;
}

void *cs_xmalloc(size_t size)
{
    return check_alloc(malloc(size ? size : 1), size);
}

void *cs_xcalloc(size_t count, size_t size)
{
    return check_alloc(calloc(count ? count : 1, size ? size : 1),
                       count * size);
}

void *cs_xrealloc(void *ptr, size_t size)
{
    return check_alloc(realloc(ptr, size ? size : 1), size);
}

char *cs_xstrdup(const char *s)
{
    return cs_xstrndup(s, strlen(s));
}

char *cs_xstrndup(const char *s, size_t len)
{
    char *copy = cs_xmalloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}
