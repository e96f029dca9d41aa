/* A growable NUL-terminated string for building messages off the hot path
 * (email, webhook and Alertmanager payloads). Zero-initialised is empty. */
#ifndef CRYPTOSUP_SBUF_H
#define CRYPTOSUP_SBUF_H

#include <stddef.h>

struct cs_sbuf {
    char *p;          /* NULL until something is written */
    size_t len, cap;
};

void cs_sbuf_put(struct cs_sbuf *b, const char *s, size_t n);
void cs_sbuf_str(struct cs_sbuf *b, const char *s);
void cs_sbuf_printf(struct cs_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The string, owned by the caller ("" when empty); b is left empty. */
char *cs_sbuf_take(struct cs_sbuf *b);
void cs_sbuf_free(struct cs_sbuf *b);

#endif
