/* A small JSON writer into a reusable buffer: output lines are built here
 * and written with one call. The buffer grows rarely and is reused, so
 * steady-state output allocates nothing. */
#ifndef CRYPTOSUP_JSONW_H
#define CRYPTOSUP_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cs_jsonw {
    char *buf;
    size_t len, cap;
    bool need_comma;   /* a value was written at this level */
};

void cs_jsonw_init(struct cs_jsonw *w);
void cs_jsonw_cleanup(struct cs_jsonw *w);
void cs_jsonw_reset(struct cs_jsonw *w);

void cs_jsonw_begin_object(struct cs_jsonw *w);
void cs_jsonw_end_object(struct cs_jsonw *w);
void cs_jsonw_begin_array(struct cs_jsonw *w);
void cs_jsonw_end_array(struct cs_jsonw *w);
void cs_jsonw_key(struct cs_jsonw *w, const char *key);
/* String value from bytes (escaped per RFC 8259; invalid UTF-8 bytes are
 * replaced with U+FFFD so output is always valid JSON). */
void cs_jsonw_string(struct cs_jsonw *w, const char *s, size_t len);
void cs_jsonw_cstring(struct cs_jsonw *w, const char *s);
void cs_jsonw_int(struct cs_jsonw *w, int64_t v);
/* A number already spelled as JSON text (e.g. from snprintf). */
void cs_jsonw_number_text(struct cs_jsonw *w, const char *num, size_t len);
void cs_jsonw_bool(struct cs_jsonw *w, bool v);
void cs_jsonw_null(struct cs_jsonw *w);
void cs_jsonw_raw(struct cs_jsonw *w, const char *s, size_t len);

#endif
