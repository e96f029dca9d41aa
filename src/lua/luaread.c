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

bool cs_luaread_string(struct cs_luaread *r, lua_State *L, int idx,
                       const char *path, const char *key, char **out)
{
    char kp[256];
    int type = cs_luaread_field(L, idx, key);
    bool ok = true;
    if (type == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (strlen(s) != len) {
            key_path(kp, sizeof kp, path, key);
            cs_luaread_error(r, kp, "string contains a NUL byte");
            ok = false;
        } else {
            free(*out);
            *out = cs_xstrndup(s, len);
        }
    } else if (type != LUA_TNIL) {
        key_path(kp, sizeof kp, path, key);
        cs_luaread_error(r, kp, "expected a string, got %s",
                         lua_typename(L, type));
        ok = false;
    }
    lua_pop(L, 1);
    return ok;
}

bool cs_luaread_number(struct cs_luaread *r, lua_State *L, int idx,
                       const char *path, const char *key, double *out)
{
    char kp[256];
    int type = cs_luaread_field(L, idx, key);
    bool ok = true;
    if (type == LUA_TNUMBER && isfinite(lua_tonumber(L, -1))) {
        *out = lua_tonumber(L, -1);
    } else if (type != LUA_TNIL) {
        key_path(kp, sizeof kp, path, key);
        cs_luaread_error(r, kp, "expected a finite number, got %s",
                         lua_typename(L, type));
        ok = false;
    }
    lua_pop(L, 1);
    return ok;
}

bool cs_luaread_integer(struct cs_luaread *r, lua_State *L, int idx,
                        const char *path, const char *key, int64_t min,
                        int64_t max, int64_t *out)
{
    char kp[256];
    int type = cs_luaread_field(L, idx, key);
    bool ok = true;
    key_path(kp, sizeof kp, path, key);
    if (type == LUA_TNUMBER) {
        lua_Integer v;
        int isint = 0;
        v = lua_tointegerx(L, -1, &isint);
        if (!isint) {
            cs_luaread_error(r, kp, "expected a whole number");
            ok = false;
        } else if (v < min || v > max) {
            cs_luaread_error(r, kp, "must be between %lld and %lld",
                             (long long)min, (long long)max);
            ok = false;
        } else {
            *out = v;
        }
    } else if (type != LUA_TNIL) {
        cs_luaread_error(r, kp, "expected a number, got %s",
                         lua_typename(L, type));
        ok = false;
    }
    lua_pop(L, 1);
    return ok;
}

bool cs_luaread_boolean(struct cs_luaread *r, lua_State *L, int idx,
                        const char *path, const char *key, bool *out)
{
    char kp[256];
    int type = cs_luaread_field(L, idx, key);
    bool ok = true;
    if (type == LUA_TBOOLEAN) {
        *out = lua_toboolean(L, -1);
    } else if (type != LUA_TNIL) {
        key_path(kp, sizeof kp, path, key);
        cs_luaread_error(r, kp, "expected true or false, got %s",
                         lua_typename(L, type));
        ok = false;
    }
    lua_pop(L, 1);
    return ok;
}

bool cs_luaread_duration(struct cs_luaread *r, lua_State *L, int idx,
                         const char *path, const char *key, bool allow_zero,
                         int64_t *out)
{
    char kp[256];
    int type = cs_luaread_field(L, idx, key);
    bool ok = true;
    key_path(kp, sizeof kp, path, key);
    if (type == LUA_TNUMBER) {
        int isint = 0;
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        if (!isint || v < (allow_zero ? 0 : 1) || v > 366LL * 86400) {
            cs_luaread_error(r, kp, "expected whole seconds (%s to 366 days)"
                             " or a duration like \"5m\", \"1h\", \"24h\"",
                             allow_zero ? "0" : "1");
            ok = false;
        } else {
            *out = v;
        }
    } else if (type == LUA_TSTRING) {
        int64_t secs;
        if (!cs_duration_parse(lua_tostring(L, -1), &secs) ||
            secs > 366LL * 86400) {
            cs_luaread_error(r, kp, "bad duration \"%s\" (use \"30s\", "
                             "\"5m\", \"1h\", \"24h\", \"7d\")",
                             lua_tostring(L, -1));
            ok = false;
        } else {
            *out = secs;
        }
    } else if (type != LUA_TNIL) {
        cs_luaread_error(r, kp, "expected a duration, got %s",
                         lua_typename(L, type));
        ok = false;
    }
    lua_pop(L, 1);
    return ok;
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
    int type = cs_luaread_field(L, idx, key);
    char **list = NULL;
    size_t count = 0;
    bool ok = true;

    key_path(kp, sizeof kp, path, key);
    if (type == LUA_TSTRING) {
        list = cs_xcalloc(2, sizeof *list);
        list[count++] = cs_xstrdup(lua_tostring(L, -1));
    } else if (type == LUA_TTABLE) {
        size_t len = lua_rawlen(L, -1);
        if (len > 100000) {
            cs_luaread_error(r, kp, "too many entries (%zu)", len);
            lua_pop(L, 1);
            return false;
        }
        list = cs_xcalloc(len + 1, sizeof *list);
        for (size_t i = 1; i <= len; i++) {
            if (lua_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING) {
                cs_luaread_error(r, kp, "entry %zu: expected a string, got "
                                 "%s", i, luaL_typename(L, -1));
                ok = false;
            } else {
                list[count++] = cs_xstrdup(lua_tostring(L, -1));
            }
            lua_pop(L, 1);
        }
    } else if (type != LUA_TNIL) {
        cs_luaread_error(r, kp, "expected a string or a list of strings, "
                         "got %s", lua_typename(L, type));
        ok = false;
    }
    lua_pop(L, 1);
    if (type == LUA_TNIL) {
        return true;
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
