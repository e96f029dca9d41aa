/* Growable strings: doubling capacity, always NUL-terminated. */
#include "cryptosup/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/err.h"

void cs_sbuf_put(struct cs_sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap) {
            cap *= 2;
        }
        b->p = cs_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void cs_sbuf_str(struct cs_sbuf *b, const char *s)
{
    cs_sbuf_put(b, s, strlen(s));
}

void cs_sbuf_printf(struct cs_sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) {
        return;
    }
    cs_sbuf_put(b, "", 0);   /* ensure a buffer exists */
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap;
        while (b->len + (size_t)n + 1 > cap) {
            cap *= 2;
        }
        b->p = cs_xrealloc(b->p, cap);
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *cs_sbuf_take(struct cs_sbuf *b)
{
    char *p = b->p ? b->p : cs_xstrdup("");
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void cs_sbuf_free(struct cs_sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
