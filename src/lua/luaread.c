/* Raw, metamethod-free reading of config and rule tables, with errors that
 * name the file, the line and the key. */
#include "lua/luaread.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/err.h"
#include "cryptosup/log.h"
#include "cryptosup/timeutil.h"
#include "lua/sandbox.h"

void cs_luaread_init(struct cs_luaread *r, const char *file, const char *src,
                     size_t len)
{
    memset(r, 0, sizeof *r);
    r->file = file;
    r->src = src;
    r->src_len = len;
}

void cs_luaread_cleanup(struct cs_luaread *r)
{
    free(r->errors);
    r->errors = NULL;
    r->errors_len = 0;
}

char *cs_luaread_take_errors(struct cs_luaread *r, const char *logger)
{
    char *errors = r->errors;
    const char *line = errors;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        int n = end ? (int)(end - line) : (int)strlen(line);
        cs_log_error(logger, "%.*s", n, line);
        line = end ? end + 1 : line + n;
    }
    r->errors = NULL;
    r->errors_len = 0;
    return errors;
}

static bool is_ident(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static int line_at(const char *src, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos; i++) {
        line += src[i] == '\n';
    }
    return line;
}

int cs_luaread_key_line(const struct cs_luaread *r, const char *key,
                        size_t from)
{
    size_t klen = strlen(key);
    if (r->src == NULL || klen == 0) {
        return 0;
    }
    for (size_t i = from; i + klen <= r->src_len; i++) {
        size_t j = i + klen;
        if (memcmp(r->src + i, key, klen) != 0) {
            continue;
        }
        if (i > 0 && r->src[i - 1] == '"' && j < r->src_len &&
            r->src[j] == '"') {
            j++;   /* ["key"] = */
            if (j < r->src_len && r->src[j] == ']') {
                j++;
            }
        } else if ((i > 0 && is_ident(r->src[i - 1])) ||
                   (j < r->src_len && is_ident(r->src[j]))) {
            continue;
        }
        while (j < r->src_len && (r->src[j] == ' ' || r->src[j] == '\t')) {
            j++;
        }
        if (j < r->src_len && r->src[j] == '=' &&
            (j + 1 >= r->src_len || r->src[j + 1] != '=')) {
            return line_at(r->src, i);
        }
    }
    return 0;
}

void cs_luaread_error(struct cs_luaread *r, const char *path, const char *fmt,
                      ...)
{
    char msg[512];
    char line[1024];
    const char *key = strrchr(path, '.');
    int lineno;
    int n;
    va_list ap;

    key = key ? key + 1 : path;
    lineno = cs_luaread_key_line(r, key, 0);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    n = snprintf(line, sizeof line, "%s:%d: %s: %s\n", r->file,
                 lineno ? lineno : 1, path, msg);
    if (n < 0) {
        return;
    }
    if ((size_t)n >= sizeof line) {
        n = (int)sizeof line - 1;
    }
    r->errors = cs_xrealloc(r->errors, r->errors_len + (size_t)n + 1);
    memcpy(r->errors + r->errors_len, line, (size_t)n + 1);
    r->errors_len += (size_t)n;
    r->nerrors++;
}

void cs_luaread_check_keys(struct cs_luaread *r, lua_State *L, int idx,
                           const char *path, const char *const *allowed)
{
    char keypath[256];
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        bool known = false;
        if (lua_type(L, -2) != LUA_TSTRING) {
            cs_luaread_error(r, path, "keys must be names, found a %s key",
                             luaL_typename(L, -2));
            lua_pop(L, 1);
            continue;
        }
        const char *key = lua_tostring(L, -2);
        for (size_t i = 0; allowed[i]; i++) {
            if (strcmp(allowed[i], key) == 0) {
                known = true;
                break;
            }
        }
        if (!known) {
            snprintf(keypath, sizeof keypath, "%s%s%s", path,
                     path[0] ? "." : "", key);
            cs_luaread_error(r, keypath, "unknown key");
        }
        lua_pop(L, 1);
    }
}

int cs_luaread_field(lua_State *L, int idx, const char *key)
{
    idx = lua_absindex(L, idx);
    lua_pushstring(L, key);
    return lua_rawget(L, idx);
}

static void key_path(char *buf, size_t size, const char *path,
                     const char *key)
{
    snprintf(buf, size, "%s%s%s", path, path[0] ? "." : "", key);
}

/* Report a field of the wrong type; MISSING is fine, OK is fine. */
static bool field_ok(struct cs_luaread *r, lua_State *L, int idx,
                     const char *path, const char *key,
                     enum cs_lua_field got, const char *wanted)
{
    char kp[256];
    if (got == CS_FIELD_OK || got == CS_FIELD_MISSING) {
        return true;
    }
    key_path(kp, sizeof kp, path, key);
    cs_luaread_error(r, kp, "expected %s, got %s", wanted,
                     cs_lua_field_typename(L, idx, key));
    return false;
}

bool cs_luaread_string(struct cs_luaread *r, lua_State *L, int idx,
                       const char *path, const char *key, char **out)
{
    char kp[256];
    const char *s;
    size_t len;
    enum cs_lua_field got = cs_lua_get_string_field(L, idx, key, &s, &len);

    if (got != CS_FIELD_OK) {
        return field_ok(r, L, idx, path, key, got, "a string");
    }
    if (strlen(s) != len) {
        key_path(kp, sizeof kp, path, key);
        cs_luaread_error(r, kp, "string contains a NUL byte");
        return false;
    }
    free(*out);
    *out = cs_xstrndup(s, len);
    return true;
}

bool cs_luaread_number(struct cs_luaread *r, lua_State *L, int idx,
                       const char *path, const char *key, double *out)
{
    double v;
    enum cs_lua_field got = cs_lua_get_number_field(L, idx, key, &v);

    if (got == CS_FIELD_OK && !isfinite(v)) {
        got = CS_FIELD_TYPE;
    }
    if (got != CS_FIELD_OK) {
        return field_ok(r, L, idx, path, key, got, "a finite number");
    }
    *out = v;
    return true;
}

bool cs_luaread_integer(struct cs_luaread *r, lua_State *L, int idx,
                        const char *path, const char *key, int64_t min,
                        int64_t max, int64_t *out)
{
    char kp[256];
    int64_t v;
    enum cs_lua_field got = cs_lua_get_integer_field(L, idx, key, &v);

    if (got != CS_FIELD_OK) {
        const char *wanted = strcmp(cs_lua_field_typename(L, idx, key),
                                    "number") == 0 ? "a whole number"
                                                   : "a number";
        return field_ok(r, L, idx, path, key, got, wanted);
    }
    if (v < min || v > max) {
        key_path(kp, sizeof kp, path, key);
        cs_luaread_error(r, kp, "must be between %lld and %lld",
                         (long long)min, (long long)max);
        return false;
    }
    *out = v;
    return true;
}

bool cs_luaread_boolean(struct cs_luaread *r, lua_State *L, int idx,
                        const char *path, const char *key, bool *out)
{
    bool v;
    enum cs_lua_field got = cs_lua_get_boolean_field(L, idx, key, &v);

    if (got != CS_FIELD_OK) {
        return field_ok(r, L, idx, path, key, got, "true or false");
    }
    *out = v;
    return true;
}

#define MAX_DURATION_S (366LL * 86400)

bool cs_luaread_duration(struct cs_luaread *r, lua_State *L, int idx,
                         const char *path, const char *key, bool allow_zero,
                         int64_t *out)
{
    char kp[256];
    const char *text;
    int64_t secs;
    enum cs_lua_field got = cs_lua_get_integer_field(L, idx, key, &secs);

    key_path(kp, sizeof kp, path, key);
    if (got == CS_FIELD_OK) {
        if (secs < (allow_zero ? 0 : 1) || secs > MAX_DURATION_S) {
            cs_luaread_error(r, kp, "expected whole seconds (%s to 366 days)"
                             " or a duration like \"5m\", \"1h\", \"24h\"",
                             allow_zero ? "0" : "1");
            return false;
        }
        *out = secs;
        return true;
    }
    if (got == CS_FIELD_MISSING) {
        return true;
    }
    got = cs_lua_get_string_field(L, idx, key, &text, NULL);
    if (got != CS_FIELD_OK) {
        return field_ok(r, L, idx, path, key, CS_FIELD_TYPE, "a duration");
    }
    if (!cs_duration_parse(text, &secs) || secs > MAX_DURATION_S) {
        cs_luaread_error(r, kp, "bad duration \"%s\" (use \"30s\", \"5m\", "
                         "\"1h\", \"24h\", \"7d\")", text);
        return false;
    }
    *out = secs;
    return true;
}

void cs_luaread_free_strings(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) {
        free(list[i]);
    }
    free(list);
}

bool cs_luaread_strings(struct cs_luaread *r, lua_State *L, int idx,
                        const char *path, const char *key, char ***out,
                        size_t *n)
{
    char kp[256];
    char **list = NULL;
    size_t count = 0, len;
    const char *s;
    bool ok = true;
    enum cs_lua_field got = cs_lua_get_string_field(L, idx, key, &s, NULL);

    key_path(kp, sizeof kp, path, key);
    if (got == CS_FIELD_MISSING) {
        return true;
    }
    if (got == CS_FIELD_OK) {
        list = cs_xcalloc(2, sizeof *list);
        list[count++] = cs_xstrdup(s);
    } else if (cs_lua_get_table_field(L, idx, key) == CS_FIELD_OK) {
        len = cs_lua_array_len(L, -1);
        if (len > 100000) {
            cs_luaread_error(r, kp, "too many entries (%zu)", len);
            lua_pop(L, 1);
            return false;
        }
        list = cs_xcalloc(len + 1, sizeof *list);
        for (size_t i = 1; i <= len; i++) {
            if (cs_lua_get_string_index(L, -1, (int64_t)i, &s, NULL) !=
                CS_FIELD_OK) {
                cs_luaread_error(r, kp, "entry %zu: expected a string", i);
                ok = false;
            } else {
                list[count++] = cs_xstrdup(s);
            }
        }
        lua_pop(L, 1);
    } else {
        return field_ok(r, L, idx, path, key, CS_FIELD_TYPE,
                        "a string or a list of strings");
    }
    if (!ok) {
        cs_luaread_free_strings(list, count);
        return false;
    }
    cs_luaread_free_strings(*out, *n);
    *out = list;
    *n = count;
    return true;
}
