/* Zero-allocation JSON scanner: strict RFC 8259 validation in one pass,
 * recording tokens (byte offsets) into a caller-owned array, plus the small
 * accessors the venue parsers use to walk the result. */
#include "cryptosup/json.h"

#include <string.h>

struct scanner {
    const char *src;
    size_t len, pos;
    struct cs_json_tok *toks;
    uint32_t cap, count;
    unsigned max_depth;
    enum cs_json_status status;
    size_t error_offset;
};

/* Records the first error only; every caller unwinds on false. */
static bool fail(struct scanner *sc, enum cs_json_status st, size_t at)
{
    sc->status = st;
    sc->error_offset = at;
    return false;
}

/* Running out of input is truncation; anything else is a syntax error. */
static bool fail_here(struct scanner *sc)
{
    if (sc->pos >= sc->len) {
        return fail(sc, CS_JSON_ETRUNC, sc->len);
    }
    return fail(sc, CS_JSON_ESYNTAX, sc->pos);
}

static void skip_ws(struct scanner *sc)
{
    while (sc->pos < sc->len) {
        char c = sc->src[sc->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            return;
        }
        sc->pos++;
    }
}

/* A new token, or -1 (ETOOMANY recorded). */
static int64_t new_tok(struct scanner *sc, enum cs_json_type type,
                       size_t start)
{
    struct cs_json_tok *t;

    if (sc->count >= sc->cap) {
        fail(sc, CS_JSON_ETOOMANY, start);
        return -1;
    }
    t = &sc->toks[sc->count];
    t->type = (uint8_t)type;
    t->escaped = false;
    t->skipped = false;
    t->start = (uint32_t)start;
    t->end = (uint32_t)start;
    t->size = 0;
    t->next = ++sc->count;
    return (int64_t)sc->count - 1;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}

/* The escape after a backslash at sc->pos - 1. */
static bool scan_escape(struct scanner *sc)
{
    if (sc->pos >= sc->len) {
        return fail_here(sc);
    }
    switch (sc->src[sc->pos]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
    case 't':
        sc->pos++;
        return true;
    case 'u':
        sc->pos++;
        for (int i = 0; i < 4; i++, sc->pos++) {
            if (sc->pos >= sc->len || !is_hex(sc->src[sc->pos])) {
                return fail_here(sc);
            }
        }
        return true;
    default:
        return fail(sc, CS_JSON_ESYNTAX, sc->pos);
    }
}

/* String starting at the opening quote. Bytes >= 0x80 pass unchecked:
 * the venues only look at ASCII fields and copy the rest verbatim. */
static bool scan_string(struct scanner *sc, bool store)
{
    size_t open = sc->pos++;
    bool escaped = false;

    for (;;) {
        const char *p = sc->src + sc->pos, *end = sc->src + sc->len;
        unsigned char c = 0;

        /* Plain characters are the common case; move through them fast. */
        while (p < end && (c = (unsigned char)*p) != '"' && c != '\\'
               && c >= 0x20) {
            p++;
        }
        sc->pos = (size_t)(p - sc->src);
        if (p == end) {
            return fail(sc, CS_JSON_ETRUNC, sc->len);
        }
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return fail(sc, CS_JSON_ESYNTAX, sc->pos);
        }
        escaped = true;
        sc->pos++;
        if (!scan_escape(sc)) {
            return false;
        }
    }
    if (store) {
        int64_t t = new_tok(sc, CS_JSON_STRING, open + 1);
        if (t < 0) {
            return false;
        }
        sc->toks[t].end = (uint32_t)sc->pos;
        sc->toks[t].escaped = escaped;
    }
    sc->pos++;                          /* closing quote */
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* One or more digits; at the end of input the number is cut short. */
static bool scan_digits(struct scanner *sc)
{
    if (sc->pos >= sc->len || !is_digit(sc->src[sc->pos])) {
        return fail_here(sc);
    }
    while (sc->pos < sc->len && is_digit(sc->src[sc->pos])) {
        sc->pos++;
    }
    return true;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool scan_number(struct scanner *sc, bool store)
{
    size_t start = sc->pos;

    if (sc->src[sc->pos] == '-') {
        sc->pos++;
    }
    if (sc->pos < sc->len && sc->src[sc->pos] == '0') {
        sc->pos++;
    } else if (!scan_digits(sc)) {
        return false;
    }
    if (sc->pos < sc->len && sc->src[sc->pos] == '.') {
        sc->pos++;
        if (!scan_digits(sc)) {
            return false;
        }
    }
    if (sc->pos < sc->len
        && (sc->src[sc->pos] == 'e' || sc->src[sc->pos] == 'E')) {
        sc->pos++;
        if (sc->pos < sc->len
            && (sc->src[sc->pos] == '+' || sc->src[sc->pos] == '-')) {
            sc->pos++;
        }
        if (!scan_digits(sc)) {
            return false;
        }
    }
    if (store) {
        int64_t t = new_tok(sc, CS_JSON_NUMBER, start);
        if (t < 0) {
            return false;
        }
        sc->toks[t].end = (uint32_t)sc->pos;
    }
    return true;
}

static bool scan_literal(struct scanner *sc, const char *word,
                         enum cs_json_type type, bool store)
{
    size_t start = sc->pos, n = strlen(word);

    for (size_t i = 0; i < n; i++, sc->pos++) {
        if (sc->pos >= sc->len || sc->src[sc->pos] != word[i]) {
            return fail_here(sc);
        }
    }
    if (store) {
        int64_t t = new_tok(sc, type, start);
        if (t < 0) {
            return false;
        }
        sc->toks[t].end = (uint32_t)sc->pos;
    }
    return true;
}

static bool scan_value(struct scanner *sc, unsigned depth, bool store);

/* After a member or element: ',' to go on (true in *more) or `close`. */
static bool scan_separator(struct scanner *sc, char close, bool *more)
{
    skip_ws(sc);
    if (sc->pos < sc->len && sc->src[sc->pos] == ',') {
        sc->pos++;
        *more = true;
        return true;
    }
    if (sc->pos < sc->len && sc->src[sc->pos] == close) {
        sc->pos++;
        *more = false;
        return true;
    }
    return fail_here(sc);
}

static bool scan_member(struct scanner *sc, unsigned depth, bool store)
{
    skip_ws(sc);
    if (sc->pos >= sc->len || sc->src[sc->pos] != '"') {
        return fail_here(sc);
    }
    if (!scan_string(sc, store)) {
        return false;
    }
    skip_ws(sc);
    if (sc->pos >= sc->len || sc->src[sc->pos] != ':') {
        return fail_here(sc);
    }
    sc->pos++;
    return scan_value(sc, depth + 1, store);
}

/* Object or array at sc->pos; `depth` is its own depth (root = 1). A
 * container past max_depth becomes one skipped token and its contents
 * are validated without being stored. */
static bool scan_container(struct scanner *sc, unsigned depth, bool store)
{
    bool is_object = sc->src[sc->pos] == '{';
    char close = is_object ? '}' : ']';
    bool skip = store && sc->max_depth != 0 && depth > sc->max_depth;
    bool inner_store = store && !skip;
    int64_t t = -1;
    uint32_t size = 0;
    bool more = true;

    if (depth > CS_JSON_MAX_NEST) {
        return fail(sc, CS_JSON_EDEPTH, sc->pos);
    }
    if (store) {
        t = new_tok(sc, is_object ? CS_JSON_OBJECT : CS_JSON_ARRAY, sc->pos);
        if (t < 0) {
            return false;
        }
    }
    sc->pos++;
    skip_ws(sc);
    if (sc->pos < sc->len && sc->src[sc->pos] == close) {
        sc->pos++;
        more = false;
    }
    while (more) {
        bool ok = is_object ? scan_member(sc, depth, inner_store)
                            : scan_value(sc, depth + 1, inner_store);
        if (!ok || !scan_separator(sc, close, &more)) {
            return false;
        }
        size++;
    }
    if (t >= 0) {
        sc->toks[t].end = (uint32_t)sc->pos;
        sc->toks[t].skipped = skip;
        sc->toks[t].size = skip ? 0 : size;
        sc->toks[t].next = sc->count;
    }
    return true;
}

static bool scan_value(struct scanner *sc, unsigned depth, bool store)
{
    skip_ws(sc);
    if (sc->pos >= sc->len) {
        return fail(sc, CS_JSON_ETRUNC, sc->len);
    }
    switch (sc->src[sc->pos]) {
    case '{': case '[':
        return scan_container(sc, depth, store);
    case '"':
        return scan_string(sc, store);
    case 't':
        return scan_literal(sc, "true", CS_JSON_TRUE, store);
    case 'f':
        return scan_literal(sc, "false", CS_JSON_FALSE, store);
    case 'n':
        return scan_literal(sc, "null", CS_JSON_NULL, store);
    default:
        if (sc->src[sc->pos] == '-' || is_digit(sc->src[sc->pos])) {
            return scan_number(sc, store);
        }
        return fail(sc, CS_JSON_ESYNTAX, sc->pos);
    }
}

enum cs_json_status cs_json_parse(struct cs_json *js, const char *src,
                                  size_t len, struct cs_json_tok *toks,
                                  uint32_t cap, unsigned max_depth)
{
    struct scanner sc = {
        .src = src, .len = len, .pos = 0, .toks = toks, .cap = cap,
        .count = 0, .max_depth = max_depth, .status = CS_JSON_OK,
        .error_offset = 0,
    };

    if (src == NULL) {
        sc.len = 0;
        sc.src = "";
    }
    /* Token offsets are 32-bit; no frame comes close to 4 GiB. */
    if (len > UINT32_MAX - 1) {
        fail(&sc, CS_JSON_ESYNTAX, 0);
    } else if (scan_value(&sc, 1, true)) {
        skip_ws(&sc);
        if (sc.pos != sc.len) {
            fail(&sc, CS_JSON_ESYNTAX, sc.pos);
        }
    }
    js->src = sc.src;
    js->len = sc.len;
    js->toks = toks;
    js->cap = cap;
    js->count = sc.status == CS_JSON_OK ? sc.count : 0;
    js->status = sc.status;
    js->error_offset = sc.error_offset;
    return sc.status;
}

const char *cs_json_strerror(enum cs_json_status st)
{
    switch (st) {
    case CS_JSON_OK: return "ok";
    case CS_JSON_ESYNTAX: return "invalid JSON";
    case CS_JSON_ETRUNC: return "truncated JSON";
    case CS_JSON_ETOOMANY: return "too many JSON tokens";
    case CS_JSON_EDEPTH: return "JSON nested too deeply";
    }
    return "unknown JSON error";
}

static const struct cs_json_tok *tok_at(const struct cs_json *js, int tok)
{
    if (tok < 0 || (uint32_t)tok >= js->count) {
        return NULL;
    }
    return &js->toks[tok];
}

int cs_json_get(const struct cs_json *js, int obj, const char *key)
{
    const struct cs_json_tok *o = tok_at(js, obj);
    size_t key_len = strlen(key);
    uint32_t child;

    if (o == NULL || o->type != CS_JSON_OBJECT || o->skipped) {
        return -1;
    }
    child = (uint32_t)obj + 1;
    for (uint32_t i = 0; i < o->size; i++) {
        const struct cs_json_tok *k = &js->toks[child];
        if (!k->escaped && k->end - k->start == key_len
            && memcmp(js->src + k->start, key, key_len) == 0) {
            return (int)child + 1;
        }
        child = js->toks[child + 1].next;
    }
    return -1;
}

int cs_json_at(const struct cs_json *js, int arr, uint32_t i)
{
    const struct cs_json_tok *a = tok_at(js, arr);
    uint32_t child;

    if (a == NULL || a->type != CS_JSON_ARRAY || a->skipped || i >= a->size) {
        return -1;
    }
    child = (uint32_t)arr + 1;
    while (i-- > 0) {
        child = js->toks[child].next;
    }
    return (int)child;
}

struct cs_text cs_json_text(const struct cs_json *js, int tok)
{
    const struct cs_json_tok *t = tok_at(js, tok);
    struct cs_text text = { "", 0 };

    if (t != NULL) {
        text.ptr = js->src + t->start;
        text.len = t->end - t->start;
    }
    return text;
}

bool cs_json_str_eq(const struct cs_json *js, int tok, const char *s)
{
    const struct cs_json_tok *t = tok_at(js, tok);
    size_t n = strlen(s);

    return t != NULL && t->type == CS_JSON_STRING && !t->escaped
           && t->end - t->start == n && memcmp(js->src + t->start, s, n) == 0;
}

/* The digits of an integer-valued token: a number without fraction or
 * exponent, or an unescaped string holding one. */
static bool int_text(const struct cs_json *js, int tok, struct cs_text *out)
{
    const struct cs_json_tok *t = tok_at(js, tok);

    if (t == NULL || (t->type != CS_JSON_NUMBER && t->type != CS_JSON_STRING)
        || t->escaped) {
        return false;
    }
    *out = cs_json_text(js, tok);
    return out->len > 0;
}

/* Accumulates decimal digits; false on a non-digit, no digits or > max. */
static bool parse_u64(const char *p, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (d > 9 || v > (max - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool cs_json_uint64(const struct cs_json *js, int tok, uint64_t *out)
{
    struct cs_text text;

    return int_text(js, tok, &text)
           && parse_u64(text.ptr, text.len, UINT64_MAX, out);
}

bool cs_json_int64(const struct cs_json *js, int tok, int64_t *out)
{
    struct cs_text text;
    uint64_t mag;
    bool neg;

    if (!int_text(js, tok, &text)) {
        return false;
    }
    neg = text.ptr[0] == '-';
    if (neg) {
        if (!parse_u64(text.ptr + 1, text.len - 1,
                       (uint64_t)INT64_MAX + 1, &mag)) {
            return false;
        }
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
        return true;
    }
    if (!parse_u64(text.ptr, text.len, INT64_MAX, &mag)) {
        return false;
    }
    *out = (int64_t)mag;
    return true;
}

bool cs_json_decimal(const struct cs_json *js, int tok,
                     struct cs_decimal *out)
{
    const struct cs_json_tok *t = tok_at(js, tok);
    struct cs_text text;

    if (t == NULL || (t->type != CS_JSON_NUMBER && t->type != CS_JSON_STRING)
        || t->escaped) {
        return false;
    }
    text = cs_json_text(js, tok);
    return cs_decimal_parse(text.ptr, text.len, out);
}
