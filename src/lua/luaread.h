/* Reading untrusted Lua values back into C for the config and rule
 * loaders: raw access only (no metamethod ever runs), every problem
 * reported as "file:line: key: message" into an error list. Call these only
 * inside a protected call (cs_lua_call of a C function). */
#ifndef CS_LUA_LUAREAD_H
#define CS_LUA_LUAREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

/* Collected validation errors plus what is needed to point at a line. */
struct cs_luaread {
    const char *file;      /* as shown to users: config/config.lua */
    const char *src;       /* the script text, to find a key's line */
    size_t src_len;
    char *errors;          /* malloc'd, one error per line */
    size_t errors_len;
    unsigned nerrors;
};

void cs_luaread_init(struct cs_luaread *r, const char *file, const char *src,
                     size_t len);
void cs_luaread_cleanup(struct cs_luaread *r);
/* Hand the error text to the caller (NULL when none) and log each line to
 * `logger` at ERROR. */
char *cs_luaread_take_errors(struct cs_luaread *r, const char *logger);

/* Record "file:line: path: message"; the line is where `key` (the last
 * component of `path`) is first written as `key =` in the source, or 1. */
void cs_luaread_error(struct cs_luaread *r, const char *path, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

/* Line of the first `key =` (or ["key"] =) at or after byte `from`; 0 when
 * absent. */
int cs_luaread_key_line(const struct cs_luaread *r, const char *key,
                        size_t from);

/* Check that every key of the table at `idx` is a string in `allowed`
 * (NULL-terminated); report the others as unknown keys under `path`. */
void cs_luaread_check_keys(struct cs_luaread *r, lua_State *L, int idx,
                           const char *path, const char *const *allowed);

/* Push t[key] raw. Returns the Lua type. */
int cs_luaread_field(lua_State *L, int idx, const char *key);

/* Typed field readers. Absent (nil) fields leave *out alone and return
 * true; a field of the wrong type is reported and returns false. */
bool cs_luaread_string(struct cs_luaread *r, lua_State *L, int idx,
                       const char *path, const char *key, char **out);
bool cs_luaread_number(struct cs_luaread *r, lua_State *L, int idx,
                       const char *path, const char *key, double *out);
bool cs_luaread_integer(struct cs_luaread *r, lua_State *L, int idx,
                        const char *path, const char *key, int64_t min,
                        int64_t max, int64_t *out);
bool cs_luaread_boolean(struct cs_luaread *r, lua_State *L, int idx,
                        const char *path, const char *key, bool *out);
/* A duration: "5m", "1h", "24h" or a number of seconds (> 0). */
bool cs_luaread_duration(struct cs_luaread *r, lua_State *L, int idx,
                         const char *path, const char *key, bool allow_zero,
                         int64_t *out);
/* A string or a list of strings, copied into a NULL-terminated array
 * (absent: *out untouched). */
bool cs_luaread_strings(struct cs_luaread *r, lua_State *L, int idx,
                        const char *path, const char *key, char ***out,
                        size_t *n);

void cs_luaread_free_strings(char **list, size_t n);

#endif
