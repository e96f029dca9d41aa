/* JSON writer behind jsonw.h: escaping, number spelling and comma state. */
#include "cryptosup/jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/err.h"

void cs_jsonw_init(struct cs_jsonw *w)
{
    w->cap = 512;
    w->buf = cs_xmalloc(w->cap);
    w->len = 0;
    w->need_comma = false;
}

void cs_jsonw_cleanup(struct cs_jsonw *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

void cs_jsonw_reset(struct cs_jsonw *w)
{
    w->len = 0;
    w->need_comma = false;
}

static void reserve(struct cs_jsonw *w, size_t more)
{
    if (w->len + more <= w->cap) {
        return;
    }
    while (w->len + more > w->cap) {
        w->cap *= 2;
    }
    w->buf = cs_xrealloc(w->buf, w->cap);
}

void cs_jsonw_raw(struct cs_jsonw *w, const char *s, size_t len)
{
    reserve(w, len);
    memcpy(w->buf + w->len, s, len);
    w->len += len;
}

static void put(struct cs_jsonw *w, char c)
{
    reserve(w, 1);
    w->buf[w->len++] = c;
}

static void value_prefix(struct cs_jsonw *w)
{
    if (w->need_comma) {
        put(w, ',');
    }
    w->need_comma = true;
}

void cs_jsonw_begin_object(struct cs_jsonw *w)
{
    value_prefix(w);
    put(w, '{');
    w->need_comma = false;
}

void cs_jsonw_end_object(struct cs_jsonw *w)
{
    put(w, '}');
    w->need_comma = true;
}

void cs_jsonw_begin_array(struct cs_jsonw *w)
{
    value_prefix(w);
    put(w, '[');
    w->need_comma = false;
}

void cs_jsonw_end_array(struct cs_jsonw *w)
{
    put(w, ']');
    w->need_comma = true;
}

void cs_jsonw_key(struct cs_jsonw *w, const char *key)
{
    cs_jsonw_cstring(w, key);
    put(w, ':');
    w->need_comma = false;
}

/* Length of a valid UTF-8 sequence starting at s (at most n bytes), or 0. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
    size_t need;
    unsigned cp;
    if (s[0] < 0x80) return 1;
    if ((s[0] & 0xE0) == 0xC0) { need = 2; cp = s[0] & 0x1Fu; }
    else if ((s[0] & 0xF0) == 0xE0) { need = 3; cp = s[0] & 0x0Fu; }
    else if ((s[0] & 0xF8) == 0xF0) { need = 4; cp = s[0] & 0x07u; }
    else return 0;
    if (need > n) return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) ||
        (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return need;
}

void cs_jsonw_string(struct cs_jsonw *w, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    value_prefix(w);
    put(w, '"');
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            put(w, '\\');
            put(w, (char)c);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            cs_jsonw_raw(w, esc, 6);
            i++;
        } else {
            size_t n = utf8_valid_len(p + i, len - i);
            if (n == 0) {
                cs_jsonw_raw(w, "\\ufffd", 6);
                i++;
            } else {
                cs_jsonw_raw(w, (const char *)p + i, n);
                i += n;
            }
        }
    }
    put(w, '"');
}

void cs_jsonw_cstring(struct cs_jsonw *w, const char *s)
{
    cs_jsonw_string(w, s, strlen(s));
}

void cs_jsonw_int(struct cs_jsonw *w, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)v);
    value_prefix(w);
    cs_jsonw_raw(w, num, (size_t)n);
}

void cs_jsonw_number_text(struct cs_jsonw *w, const char *num, size_t len)
{
    value_prefix(w);
    cs_jsonw_raw(w, num, len);
}

void cs_jsonw_bool(struct cs_jsonw *w, bool v)
{
    value_prefix(w);
    cs_jsonw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void cs_jsonw_null(struct cs_jsonw *w)
{
    value_prefix(w);
    cs_jsonw_raw(w, "null", 4);
}
