/* Zero-allocation JSON scanner: strict RFC 8259 validation in one pass,
 * recording tokens (byte offsets) into a caller-owned array, plus the small
 * accessors the venue parsers use to walk the result. */
#include "cryptosup/json.h"

#include <string.h>

struct scanner {
    const char *base, *end;
    struct cs_json_tok *toks;
    uint32_t cap, count;
    unsigned max_depth;
    enum cs_json_status status;
    size_t error_offset;
};

/* Byte classes, so the hot loops test one table entry per byte. */
enum { C_WS = 1, C_STOP = 2, C_DIGIT = 4, C_HEX = 8 };

static const uint8_t byte_class[256] = {
    [0x00] = C_STOP, [0x01] = C_STOP, [0x02] = C_STOP, [0x03] = C_STOP,
    [0x04] = C_STOP, [0x05] = C_STOP, [0x06] = C_STOP, [0x07] = C_STOP,
    [0x08] = C_STOP, [0x09] = C_STOP | C_WS, [0x0a] = C_STOP | C_WS,
    [0x0b] = C_STOP, [0x0c] = C_STOP, [0x0d] = C_STOP | C_WS,
    [0x0e] = C_STOP, [0x0f] = C_STOP, [0x10] = C_STOP, [0x11] = C_STOP,
    [0x12] = C_STOP, [0x13] = C_STOP, [0x14] = C_STOP, [0x15] = C_STOP,
    [0x16] = C_STOP, [0x17] = C_STOP, [0x18] = C_STOP, [0x19] = C_STOP,
    [0x1a] = C_STOP, [0x1b] = C_STOP, [0x1c] = C_STOP, [0x1d] = C_STOP,
    [0x1e] = C_STOP, [0x1f] = C_STOP, [' '] = C_WS, ['"'] = C_STOP,
    ['\\'] = C_STOP,
    ['0'] = C_DIGIT | C_HEX, ['1'] = C_DIGIT | C_HEX, ['2'] = C_DIGIT | C_HEX,
    ['3'] = C_DIGIT | C_HEX, ['4'] = C_DIGIT | C_HEX, ['5'] = C_DIGIT | C_HEX,
    ['6'] = C_DIGIT | C_HEX, ['7'] = C_DIGIT | C_HEX, ['8'] = C_DIGIT | C_HEX,
    ['9'] = C_DIGIT | C_HEX,
    ['a'] = C_HEX, ['b'] = C_HEX, ['c'] = C_HEX, ['d'] = C_HEX, ['e'] = C_HEX,
    ['f'] = C_HEX, ['A'] = C_HEX, ['B'] = C_HEX, ['C'] = C_HEX, ['D'] = C_HEX,
    ['E'] = C_HEX, ['F'] = C_HEX,
};

static inline bool is_class(const char *p, uint8_t cls)
{
    return (byte_class[(unsigned char)*p] & cls) != 0;
}

/* Every scan_* function takes the position of its value and returns the
 * position after it, or NULL once an error is recorded; keeping the
 * position in a register instead of the struct is most of the speed. */
static const char *fail_at(struct scanner *sc, enum cs_json_status st,
                           const char *at)
{
    sc->status = st;
    sc->error_offset = (size_t)(at - sc->base);
    return NULL;
}

/* Running out of input is truncation; anything else is a syntax error. */
static const char *fail_here(struct scanner *sc, const char *p)
{
    if (p >= sc->end) {
        return fail_at(sc, CS_JSON_ETRUNC, sc->end);
    }
    return fail_at(sc, CS_JSON_ESYNTAX, p);
}

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_class(p, C_WS)) {
        p++;
    }
    return p;
}

/* A new token, or NULL (ETOOMANY recorded). */
static inline struct cs_json_tok *new_tok(struct scanner *sc,
                                          enum cs_json_type type,
                                          const char *start)
{
    struct cs_json_tok *t;

    if (sc->count >= sc->cap) {
        fail_at(sc, CS_JSON_ETOOMANY, start);
        return NULL;
    }
    t = &sc->toks[sc->count++];
    t->type = (uint8_t)type;
    t->escaped = false;
    t->skipped = false;
    t->start = (uint32_t)(start - sc->base);
    t->size = 0;
    t->next = sc->count;
    return t;
}

/* A scalar token ending at `end`; false when the array is full. */
static inline bool store_scalar(struct scanner *sc, enum cs_json_type type,
                                const char *start, const char *end)
{
    struct cs_json_tok *t = new_tok(sc, type, start);

    if (t == NULL) {
        return false;
    }
    t->end = (uint32_t)(end - sc->base);
    return true;
}

/* The escape after a backslash; p is on the byte after the backslash. */
static const char *scan_escape(struct scanner *sc, const char *p)
{
    if (p >= sc->end) {
        return fail_here(sc, p);
    }
    switch (*p) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
    case 't':
        return p + 1;
    case 'u':
        p++;
        for (int i = 0; i < 4; i++, p++) {
            if (p >= sc->end || !is_class(p, C_HEX)) {
                return fail_here(sc, p);
            }
        }
        return p;
    default:
        return fail_at(sc, CS_JSON_ESYNTAX, p);
    }
}

/* String at its opening quote. Bytes >= 0x80 pass unchecked: the venues
 * only look at ASCII fields and copy the rest verbatim. */
static const char *scan_string(struct scanner *sc, const char *p, bool store)
{
    const char *open = p, *end = sc->end;
    bool escaped = false;

    p++;
    for (;;) {
        /* Plain characters are the common case; move through them fast. */
        while (p < end && !is_class(p, C_STOP)) {
            p++;
        }
        if (p >= end) {
            return fail_at(sc, CS_JSON_ETRUNC, end);
        }
        if (*p == '"') {
            break;
        }
        if (*p != '\\') {
            return fail_at(sc, CS_JSON_ESYNTAX, p);     /* control byte */
        }
        escaped = true;
        if ((p = scan_escape(sc, p + 1)) == NULL) {
            return NULL;
        }
    }
    if (store) {
        if (!store_scalar(sc, CS_JSON_STRING, open + 1, p)) {
            return NULL;
        }
        sc->toks[sc->count - 1].escaped = escaped;
    }
    return p + 1;                       /* past the closing quote */
}

/* One or more digits. */
static inline const char *scan_digits(struct scanner *sc, const char *p)
{
    if (p >= sc->end || !is_class(p, C_DIGIT)) {
        return fail_here(sc, p);
    }
    do {
        p++;
    } while (p < sc->end && is_class(p, C_DIGIT));
    return p;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static const char *scan_number(struct scanner *sc, const char *p, bool store)
{
    const char *start = p, *end = sc->end;

    if (*p == '-') {
        p++;
    }
    if (p < end && *p == '0') {
        p++;
    } else if ((p = scan_digits(sc, p)) == NULL) {
        return NULL;
    }
    if (p < end && *p == '.' && (p = scan_digits(sc, p + 1)) == NULL) {
        return NULL;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if ((p = scan_digits(sc, p)) == NULL) {
            return NULL;
        }
    }
    if (store && !store_scalar(sc, CS_JSON_NUMBER, start, p)) {
        return NULL;
    }
    return p;
}

static const char *scan_literal(struct scanner *sc, const char *p,
                                const char *word, size_t n,
                                enum cs_json_type type, bool store)
{
    const char *start = p;

    for (size_t i = 0; i < n; i++, p++) {
        if (p >= sc->end || *p != word[i]) {
            return fail_here(sc, p);
        }
    }
    if (store && !store_scalar(sc, type, start, p)) {
        return NULL;
    }
    return p;
}

static const char *scan_value(struct scanner *sc, const char *p,
                              unsigned depth, bool store);

/* One object member, `"key" : value`, from the key's opening quote. */
static const char *scan_member(struct scanner *sc, const char *p,
                               unsigned depth, bool store)
{
    if (p >= sc->end || *p != '"') {
        return fail_here(sc, p);
    }
    if ((p = scan_string(sc, p, store)) == NULL) {
        return NULL;
    }
    p = skip_ws(p, sc->end);
    if (p >= sc->end || *p != ':') {
        return fail_here(sc, p);
    }
    return scan_value(sc, p + 1, depth + 1, store);
}

/* Object or array at its opening bracket; `depth` is its own depth (root
 * = 1). A container past max_depth becomes one skipped token and its
 * contents are validated without being stored. */
static const char *scan_container(struct scanner *sc, const char *p,
                                  unsigned depth, bool store)
{
    const char *open = p, *end = sc->end;
    bool is_object = *p == '{';
    char close = is_object ? '}' : ']';
    bool skip = store && sc->max_depth != 0 && depth > sc->max_depth;
    bool inner = store && !skip;
    uint32_t index = sc->count, size = 0;

    if (depth > CS_JSON_MAX_NEST) {
        return fail_at(sc, CS_JSON_EDEPTH, open);
    }
    if (store && new_tok(sc, is_object ? CS_JSON_OBJECT : CS_JSON_ARRAY,
                         open) == NULL) {
        return NULL;
    }
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) {
        p++;
    } else {
        for (;;) {
            p = is_object ? scan_member(sc, p, depth, inner)
                          : scan_value(sc, p, depth + 1, inner);
            if (p == NULL) {
                return NULL;
            }
            size++;
            p = skip_ws(p, end);
            if (p < end && *p == ',') {
                p = skip_ws(p + 1, end);
            } else if (p < end && *p == close) {
                p++;
                break;
            } else {
                return fail_here(sc, p);
            }
        }
    }
    if (store) {
        struct cs_json_tok *t = &sc->toks[index];
        t->end = (uint32_t)(p - sc->base);
        t->skipped = skip;
        t->size = skip ? 0 : size;
        t->next = sc->count;
    }
    return p;
}

static const char *scan_value(struct scanner *sc, const char *p,
                              unsigned depth, bool store)
{
    p = skip_ws(p, sc->end);
    if (p >= sc->end) {
        return fail_at(sc, CS_JSON_ETRUNC, sc->end);
    }
    switch (*p) {
    case '"':
        return scan_string(sc, p, store);
    case '{': case '[':
        return scan_container(sc, p, depth, store);
    case 't':
        return scan_literal(sc, p, "true", 4, CS_JSON_TRUE, store);
    case 'f':
        return scan_literal(sc, p, "false", 5, CS_JSON_FALSE, store);
    case 'n':
        return scan_literal(sc, p, "null", 4, CS_JSON_NULL, store);
    default:
        if (*p == '-' || is_class(p, C_DIGIT)) {
            return scan_number(sc, p, store);
        }
        return fail_at(sc, CS_JSON_ESYNTAX, p);
    }
}

enum cs_json_status cs_json_parse(struct cs_json *js, const char *src,
                                  size_t len, struct cs_json_tok *toks,
                                  uint32_t cap, unsigned max_depth)
{
    struct scanner sc = {
        .base = src, .end = src + len, .toks = toks, .cap = cap,
        .count = 0, .max_depth = max_depth, .status = CS_JSON_OK,
        .error_offset = 0,
    };
    const char *p;

    if (src == NULL) {
        len = 0;
        sc.base = sc.end = "";
    }
    /* Token offsets are 32-bit; no frame comes close to 4 GiB. */
    if (len > UINT32_MAX - 1) {
        fail_at(&sc, CS_JSON_ESYNTAX, sc.base);
    } else if ((p = scan_value(&sc, sc.base, 1, true)) != NULL) {
        p = skip_ws(p, sc.end);
        if (p != sc.end) {
            fail_at(&sc, CS_JSON_ESYNTAX, p);
        }
    }
    js->src = sc.base;
    js->len = len;
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

/* Keys and the strings compared against are a few bytes long: a plain
 * loop beats a call to memcmp(). */
static inline bool bytes_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    return true;
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
        if (k->end - k->start == key_len && !k->escaped
            && bytes_eq(js->src + k->start, key, key_len)) {
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
           && t->end - t->start == n && bytes_eq(js->src + t->start, s, n);
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
