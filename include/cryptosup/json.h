/* Zero-allocation JSON scanner for the hot path: validates a frame and
 * records tokens (offsets into the caller's buffer) in a caller-owned
 * array. cJSON is used elsewhere; here a tree per frame would allocate on
 * every tick. */
#ifndef CRYPTOSUP_JSON_H
#define CRYPTOSUP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/decimal.h"
#include "cryptosup/tick.h"

enum cs_json_type {
    CS_JSON_OBJECT, CS_JSON_ARRAY, CS_JSON_STRING, CS_JSON_NUMBER,
    CS_JSON_TRUE, CS_JSON_FALSE, CS_JSON_NULL
};

struct cs_json_tok {
    uint8_t type;          /* enum cs_json_type */
    bool escaped;          /* string contains backslash escapes */
    bool skipped;          /* container deeper than max_depth: not tokenised */
    uint32_t start, end;   /* byte range; strings exclude the quotes */
    uint32_t size;         /* members (object: key/value pairs) or elements */
    uint32_t next;         /* index of the token after this value's subtree */
};

enum cs_json_status {
    CS_JSON_OK = 0,
    CS_JSON_ESYNTAX,       /* not valid JSON (incl. trailing garbage) */
    CS_JSON_ETRUNC,        /* input ended inside a value */
    CS_JSON_ETOOMANY,      /* more tokens than the array holds */
    CS_JSON_EDEPTH         /* nesting deeper than CS_JSON_MAX_NEST */
};

#define CS_JSON_MAX_NEST 64

struct cs_json {
    const char *src;
    size_t len;
    struct cs_json_tok *toks;   /* caller-owned */
    uint32_t cap, count;
    enum cs_json_status status;
    size_t error_offset;
};

/* Scan `src[0..len)` (need not be NUL-terminated; never read past len).
 * Containers nested deeper than `max_depth` (root = 1; 0 = no limit) are
 * validated but stored as one token with `skipped` set and size 0, so huge
 * frames can be classified without holding every token. Keys are tokens
 * too: an object's children alternate key, value. Bytes >= 0x80 inside
 * strings are not checked for UTF-8 validity. On any error js->count is 0,
 * so the accessors below find nothing. */
enum cs_json_status cs_json_parse(struct cs_json *js, const char *src,
                                  size_t len, struct cs_json_tok *toks,
                                  uint32_t cap, unsigned max_depth);

const char *cs_json_strerror(enum cs_json_status st);

/* Index of the value for `key` in object token `obj`, or -1. Keys are
 * compared on their raw bytes (escaped keys never match). */
int cs_json_get(const struct cs_json *js, int obj, const char *key);

/* Child `i` of array `arr`, or -1. Linear in i. */
int cs_json_at(const struct cs_json *js, int arr, uint32_t i);

/* Raw bytes of a string (without quotes) or a number/literal. */
struct cs_text cs_json_text(const struct cs_json *js, int tok);

/* True when token `tok` is a string equal to `s` (raw bytes). */
bool cs_json_str_eq(const struct cs_json *js, int tok, const char *s);

/* Integer from a number token or a string holding digits. */
bool cs_json_int64(const struct cs_json *js, int tok, int64_t *out);
bool cs_json_uint64(const struct cs_json *js, int tok, uint64_t *out);
/* Decimal from a string ("65083.67") or a number literal (105944.20). */
bool cs_json_decimal(const struct cs_json *js, int tok,
                     struct cs_decimal *out);

#endif
