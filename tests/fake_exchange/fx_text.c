/* Text helpers for the fake exchange: growable strings, JSON escaping, and
 * the byte-level rewrites applied to recorded frames (symbol substitution,
 * time shifting, sequence numbers), which keep everything else exact. */
#include "fx.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void str_reserve(struct fx_str *s, size_t extra)
{
    size_t need = s->len + extra + 1;

    if (need <= s->cap) {
        return;
    }
    size_t cap = s->cap ? s->cap : 256;
    while (cap < need) {
        cap *= 2;
    }
    s->p = fx_xrealloc(s->p, cap);
    s->cap = cap;
}

void fx_str_add(struct fx_str *s, const char *p, size_t n)
{
    str_reserve(s, n);
    memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = '\0';
}

void fx_str_adds(struct fx_str *s, const char *p)
{
    fx_str_add(s, p, strlen(p));
}

void fx_str_addf(struct fx_str *s, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    str_reserve(s, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

void fx_str_add_json(struct fx_str *s, const char *p)
{
    fx_str_add(s, "\"", 1);
    for (; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            char esc[2] = { '\\', (char)ch };
            fx_str_add(s, esc, 2);
        } else if (ch < 0x20) {
            fx_str_addf(s, "\\u%04x", ch);
        } else {
            fx_str_add(s, (const char *)&ch, 1);
        }
    }
    fx_str_add(s, "\"", 1);
}

void fx_str_free(struct fx_str *s)
{
    free(s->p);
    s->p = NULL;
    s->len = s->cap = 0;
}

bool fx_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) {
            return false;
        }
    }
    return *a == *b;
}

static bool is_left_delim(char c)
{
    return c == '"' || c == '.' || c == '/';
}

static bool is_right_delim(char c)
{
    return c == '"' || c == '@';
}

void fx_subst_symbol(const char *in, size_t len, const char *from,
                     const char *to, struct fx_str *out)
{
    size_t flen = strlen(from), tlen = strlen(to);
    size_t i = 0, copied = 0;

    out->len = 0;
    str_reserve(out, len + 64);
    while (flen > 0 && i + flen < len) {
        if (is_left_delim(in[i])
            && strncasecmp(in + i + 1, from, flen) == 0
            && i + 1 + flen < len && is_right_delim(in[i + 1 + flen])) {
            bool lower = false, upper = false;
            for (size_t k = 0; k < flen; k++) {
                lower |= islower((unsigned char)in[i + 1 + k]) != 0;
                upper |= isupper((unsigned char)in[i + 1 + k]) != 0;
            }
            fx_str_add(out, in + copied, i + 1 - copied);
            for (size_t k = 0; k < tlen; k++) {
                char ch = to[k];
                if (lower && !upper) {
                    ch = (char)tolower((unsigned char)ch);
                } else if (upper && !lower) {
                    ch = (char)toupper((unsigned char)ch);
                }
                fx_str_add(out, &ch, 1);
            }
            i += 1 + flen;
            copied = i;
            continue;
        }
        i++;
    }
    fx_str_add(out, in + copied, len - copied);
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static bool all_digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i])) {
            return false;
        }
    }
    return n > 0;
}

/* "YYYY-MM-DDTHH:MM:SS" (or a space for T) at p shifted by offset_s;
 * false when p does not hold one. */
static bool shift_iso(const char *p, size_t avail, int64_t offset_s,
                      char out[64])
{
    if (avail < 19 || !all_digits(p, 4) || p[4] != '-' || !all_digits(p + 5, 2)
        || p[7] != '-' || !all_digits(p + 8, 2)
        || (p[10] != 'T' && p[10] != ' ') || !all_digits(p + 11, 2)
        || p[13] != ':' || !all_digits(p + 14, 2) || p[16] != ':'
        || !all_digits(p + 17, 2)) {
        return false;
    }
    int y = atoi(p);
    unsigned mo = (unsigned)atoi(p + 5), d = (unsigned)atoi(p + 8);
    int64_t secs = days_from_civil(y, mo, d) * 86400
                   + atoi(p + 11) * 3600 + atoi(p + 14) * 60 + atoi(p + 17)
                   + offset_s;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    unsigned m2, d2;
    int y2;
    civil_from_days(days, &y2, &m2, &d2);
    snprintf(out, 64, "%04d-%02u-%02u%c%02d:%02d:%02d", y2 % 10000, m2, d2,
             p[10], (int)(rem / 3600), (int)(rem % 3600 / 60),
             (int)(rem % 60));
    return true;
}

void fx_retime(const char *in, size_t len, const char *const *keys,
               int64_t offset_s, struct fx_str *out)
{
    size_t i = 0, copied = 0;

    out->len = 0;
    str_reserve(out, len + 64);
    while (i < len) {
        if (in[i] != '"') {
            i++;
            continue;
        }
        size_t klen = 0;
        const char *const *k;
        for (k = keys; *k; k++) {
            klen = strlen(*k);
            if (i + klen + 3 < len && memcmp(in + i + 1, *k, klen) == 0
                && in[i + 1 + klen] == '"' && in[i + 2 + klen] == ':') {
                break;
            }
        }
        if (!*k) {
            i++;
            continue;
        }
        size_t v = i + klen + 3;    /* first byte of the value */
        bool quoted = in[v] == '"';
        size_t s0 = quoted ? v + 1 : v, e = s0;
        while (e < len && isdigit((unsigned char)in[e])) {
            e++;
        }
        char buf[64];
        if (e - s0 >= 11 && e - s0 <= 18 && (!quoted || (e < len && in[e] == '"'))) {
            /* epoch ms (or µs beyond 10^14) as a number or a string */
            long long val = strtoll(in + s0, NULL, 10);
            long long unit = val > 100000000000000LL ? 1000000LL : 1000LL;
            snprintf(buf, sizeof buf, "%lld", val + (long long)offset_s * unit);
            fx_str_add(out, in + copied, s0 - copied);
            fx_str_adds(out, buf);
            copied = i = e;
            continue;
        }
        if (quoted && shift_iso(in + s0, len - s0, offset_s, buf)) {
            fx_str_add(out, in + copied, s0 - copied);
            fx_str_add(out, buf, 19);
            copied = i = s0 + 19;
            continue;
        }
        i = v;
    }
    fx_str_add(out, in + copied, len - copied);
}

void fx_replace_int(const char *in, size_t len, const char *key,
                    uint64_t value, struct fx_str *out)
{
    char pat[64];
    int plen = snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *hit = NULL;

    out->len = 0;
    for (size_t i = 0; plen > 0 && i + (size_t)plen < len; i++) {
        if (memcmp(in + i, pat, (size_t)plen) == 0) {
            hit = in + i + plen;
            break;
        }
    }
    if (!hit) {
        fx_str_add(out, in, len);
        return;
    }
    const char *e = hit;
    while (e < in + len && isdigit((unsigned char)*e)) {
        e++;
    }
    fx_str_add(out, in, (size_t)(hit - in));
    fx_str_addf(out, "%llu", (unsigned long long)value);
    fx_str_add(out, e, (size_t)(in + len - e));
}

/* Index just past the JSON string that starts with the quote at in[i]
 * (len when it does not end). */
static size_t string_end(const char *in, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (in[i] == '\\') {
            i++;
        } else if (in[i] == '"') {
            return i + 1;
        }
    }
    return len;
}

static bool key_listed(const char *k, size_t n, const char *const *keys)
{
    for (; *keys; keys++) {
        if (strlen(*keys) == n && memcmp(*keys, k, n) == 0) {
            return true;
        }
    }
    return false;
}

static size_t skip_ws(const char *in, size_t len, size_t i)
{
    while (i < len && (in[i] == ' ' || in[i] == '\t' || in[i] == '\n'
                       || in[i] == '\r')) {
        i++;
    }
    return i;
}

/* Every value of `keys` in `in` that is an id (an integer, or a string of
 * digits, of at most 18 digits): with `out`, the text is copied with
 * `delta` added to each; without, [*min, *max] is widened. String values
 * are skipped whole, so a key is only ever a key. Returns how many. */
static size_t ids_walk(const char *in, size_t len, const char *const *keys,
                       int64_t delta, struct fx_str *out, int64_t *min,
                       int64_t *max)
{
    size_t i = 0, copied = 0, found = 0;

    if (out) {
        out->len = 0;
        str_reserve(out, len + 64);
    }
    while (i < len) {
        if (in[i] != '"') {
            i++;
            continue;
        }
        size_t e = string_end(in, len, i), v;
        if (e >= len) {
            break;
        }
        v = skip_ws(in, len, e);
        if (v >= len || in[v] != ':' || !key_listed(in + i + 1, e - i - 2, keys)) {
            i = e;
            continue;
        }
        v = skip_ws(in, len, v + 1);
        bool quoted = v < len && in[v] == '"';
        size_t d0 = quoted ? v + 1 : v, d1 = d0;
        while (d1 < len && isdigit((unsigned char)in[d1])) {
            d1++;
        }
        bool ok = d1 > d0 && d1 - d0 <= 18;
        if (ok && quoted) {
            ok = d1 < len && in[d1] == '"';
        } else if (ok) {
            ok = d1 >= len || (in[d1] != '.' && in[d1] != 'e' && in[d1] != 'E');
        }
        if (!ok) {
            i = v;      /* not an id: scan on inside the value */
            continue;
        }
        int64_t val = (int64_t)strtoll(in + d0, NULL, 10);
        found++;
        if (out) {
            fx_str_add(out, in + copied, d0 - copied);
            fx_str_addf(out, "%lld", (long long)(val + delta));
            copied = d1;
        } else {
            if (val < *min) {
                *min = val;
            }
            if (val > *max) {
                *max = val;
            }
        }
        i = quoted ? d1 + 1 : d1;
    }
    if (out) {
        fx_str_add(out, in + copied, len - copied);
    }
    return found;
}

void fx_shift_ids(const char *in, size_t len, const char *const *keys,
                  int64_t delta, struct fx_str *out)
{
    ids_walk(in, len, keys, delta, out, NULL, NULL);
}

bool fx_scan_ids(const char *in, size_t len, const char *const *keys,
                 int64_t *min, int64_t *max)
{
    return ids_walk(in, len, keys, 0, NULL, min, max) > 0;
}
