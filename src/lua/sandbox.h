/* The Lua sandbox: one VM with a counting allocator (memory cap), a count
 * hook installed once (instruction budget per call, which pcall and
 * coroutines cannot escape), an allow-listed standard library, per-script
 * environments, and the one protected-call path. Only src/lua/ includes
 * this header (and lua.h). Loop thread only. */
#ifndef CS_LUA_SANDBOX_H
#define CS_LUA_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

#include "cryptosup/err.h"

#if LUA_VERSION_NUM != 504
#error "cryptosup needs Lua 5.4"
#endif

struct cs_vm_limits {
    size_t memory_bytes;      /* whole VM; growth past it is refused */
    uint64_t instructions;    /* per cs_lua_call (and per script load) */
    unsigned print_lines;     /* print() lines per call before suppression */
};

/* Defaults: 64 MiB, 1,000,000 instructions, 20 lines. */
void cs_vm_limits_default(struct cs_vm_limits *limits);

enum cs_lua_failure {
    CS_LUA_FAIL_NONE,
    CS_LUA_FAIL_RUNTIME,       /* error() or a runtime error */
    CS_LUA_FAIL_MEMORY,        /* the allocator refused growth */
    CS_LUA_FAIL_INSTRUCTIONS,  /* the instruction budget ran out */
    CS_LUA_FAIL_SYNTAX         /* load: the text does not compile */
};

struct cs_vm_counters {
    uint64_t calls;
    uint64_t runtime_errors;
    uint64_t memory_limit_hits;
    uint64_t instruction_limit_hits;
    uint64_t print_suppressed;
};

struct cs_vm;

/* Build a VM inside a protected call. `lua_dir` is where require() reads
 * text modules from (NULL: require always fails). On failure logs to
 * lua.sandbox and returns NULL. */
struct cs_vm *cs_vm_new(const struct cs_vm_limits *limits,
                        const char *lua_dir);
void cs_vm_free(struct cs_vm *vm);   /* NULL is fine */

lua_State *cs_vm_lua(struct cs_vm *vm);
/* The VM owning a state (kept in lua_getextraspace). */
struct cs_vm *cs_vm_from(lua_State *L);

/* Data time returned by cs.now() in seconds (float), set by the engine
 * before it calls in. */
void cs_vm_set_now(struct cs_vm *vm, int64_t now_ns);

const struct cs_vm_counters *cs_vm_counters(const struct cs_vm *vm);
size_t cs_vm_memory_used(const struct cs_vm *vm);

/* Load `src` as a text chunk named `chunkname` (e.g. "@rules/btc.lua", so
 * errors read "rules/btc.lua:18: ...") into a fresh environment whose
 * print() logs to `logger` (e.g. "rules.btc_spike"), and run it under the
 * limits with no arguments. On CS_OK pushes the chunk's first result (nil
 * if none) and then the environment table (2 values). On error logs
 * "<chunkname-without-@>:<line>: message" once to `logger`, pushes nothing,
 * and returns CS_ERR_LUA (syntax/runtime) or CS_ERR_LIMIT; when `errbuf`
 * is not NULL the message is copied there too (for `cryptosup check`). */
enum cs_err cs_vm_run_script(struct cs_vm *vm, const char *chunkname,
                             const char *src, size_t len, const char *logger,
                             char *errbuf, size_t errsize);

/* Call the function below `nargs` arguments on the stack under a fresh
 * instruction budget, with a traceback handler (traceback logged at
 * DEBUG). On success leaves `nres` results. On failure the stack is as it
 * was minus function and arguments, the cause is logged once per
 * (who, kind) at ERROR to logger `who` with file:line, counted, and
 * CS_ERR_LUA (runtime) or CS_ERR_LIMIT (memory, instructions) returned;
 * *failure (if not NULL) says which. Limit flags stick for the whole call:
 * a pcall inside the script cannot swallow them. */
enum cs_err cs_lua_call(struct cs_vm *vm, const char *who, int nargs,
                        int nres, enum cs_lua_failure *failure);

/* As cs_lua_call, with the location to name when an error carries none
 * (a memory limit has no line) given by the caller, e.g. the rule's file:
 * this skips looking it up, which matters for calls made on every tick.
 * `where` must stay valid for the call. */
enum cs_err cs_lua_call_at(struct cs_vm *vm, const char *who,
                           const char *where, int nargs, int nres,
                           enum cs_lua_failure *failure);

/* Run a full GC cycle (outside any script call). */
void cs_vm_collect(struct cs_vm *vm);

/* ---- Additions for bindings and loaders --------------------------------
 *
 * What scripts get: base (assert error getmetatable ipairs next pairs
 * pcall rawequal rawget rawlen rawset select setmetatable tonumber
 * tostring type xpcall _VERSION), string (no dump), table, math, utf8,
 * coroutine, and our print, require and cs.now. Not load/loadfile/dofile,
 * collectgarbage, warn, io, os, package or debug. setmetatable refuses a
 * metatable with __gc (finalizers run outside any budget);
 * math.randomseed needs an argument (the generator starts from a fixed
 * seed, for replays); table.sort refuses tables with __len.
 *
 * Environments: every cs_vm_run_script gets a fresh table holding its own
 * copies of the allowed globals and of the library tables (string, table,
 * math, utf8, coroutine, cs, and any added below), so a script that
 * replaces string.upper or rawsets _G only changes itself. Method calls
 * on strings ("x"):upper() go through a private copy of the string library
 * that no script can reach or change (so string.trim = f does not make
 * ("x"):trim() work), and getmetatable("") is false. require(name) loads
 * <lua_dir>/<a/b>.lua for names matching
 * ^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$, text only, at most
 * CS_LUA_MODULE_MAX_BYTES, into its own fresh environment; results are
 * cached per script environment (a module's table is never shared between
 * two scripts), and a module that failed keeps failing in that script.
 *
 * Limits: a refused allocation counts as a memory hit once Lua's emergency
 * collection could not make room (garbage alone never fails a script).
 * After any hit, pcall, xpcall, coroutine.resume and coroutine.close raise
 * instead of catching, and an xpcall handler is no longer run. Work the
 * count hook cannot see is charged to the instruction budget: one
 * instruction per 64 bytes allocated (string building, table growth) or
 * scanned by a C function, one per element a C function moves, sorts or
 * returns, and one hook interval per coroutine created. Lua patterns whose
 * worst-case backtracking on the subject exceeds CS_LUA_PATTERN_COST_MAX
 * steps fail with "pattern too complex for subject length"; others cost
 * one instruction per 128 steps of that (pessimistic) estimate. A call
 * still running past a wall-clock backstop (default 1 s + 1 us per
 * budgeted instruction; comparing two long strings is one instruction)
 * fails as an instruction-limit hit too. */
#define CS_LUA_MODULE_MAX_BYTES (1024 * 1024)
#define CS_LUA_PATTERN_COST_MAX 1e8

/* Add C functions to what every later environment copies: into the table
 * `ns` (created if missing; e.g. "cs", "market") or, when `ns` is NULL, as
 * globals. `funcs` is a luaL_Reg array ending in {NULL, NULL}; the strings
 * are copied. Not for "string" (methods use the private copy made at
 * creation). Runs protected; on error logs to lua.sandbox and returns
 * CS_ERR_LUA or CS_ERR_LIMIT. Call before running the scripts that need
 * them. */
enum cs_err cs_vm_add_functions(struct cs_vm *vm, const char *ns,
                                const luaL_Reg *funcs);

/* Wall-clock backstop per call in ms (0: none). Replays stay
 * deterministic unless a call runs this long; keep it far above normal
 * call times. */
void cs_vm_set_time_limit(struct cs_vm *vm, uint32_t ms);

/* An opaque pointer for bindings (e.g. the engine's registries), read back
 * inside Lua-callable C functions with cs_vm_user(L). Not owned. */
void cs_vm_set_user(struct cs_vm *vm, void *user);
void *cs_vm_user(lua_State *L);

/* For bindings: charge `units` instructions of C work to the current
 * call's budget; raises "instruction limit exceeded" when it is spent (or
 * when a limit was already hit in this call). No-op outside a call.
 *                                                        [-0, +0, v] */
void cs_lua_charge(lua_State *L, uint64_t units);

/* For bindings: the expected-failure return, pushes nil and the formatted
 * message (lua_pushfstring formats) and returns 2.      [-0, +2, m] */
int cs_lua_fail(lua_State *L, const char *fmt, ...);

/* ---- Reading values back from untrusted scripts -----------------------
 *
 * A script's results may be tables with hostile metatables (__index,
 * __len, __eq, __tostring, __call, __close that throw or loop). These
 * helpers use only lua_rawget/lua_rawgeti/lua_rawlen and type checks, so
 * they never run Lua code and never raise on hostile values; use them (or
 * lua_next) instead of lua_getfield/lua_gettable/luaL_len/luaL_tolstring
 * when reading results in C. `idx` may be relative. Each needs two free
 * stack slots and may allocate the key string (outside a call the memory
 * cap is not enforced, so that cannot fail on the limit). Nothing is left
 * on the stack except where "pushes" is said. */
enum cs_lua_field {
    CS_FIELD_OK,         /* present with the wanted type; *out set */
    CS_FIELD_MISSING,    /* absent or nil; *out untouched */
    CS_FIELD_TYPE,       /* present with another type (or, for integers,
                          * a number without an exact integer value) */
    CS_FIELD_NOT_TABLE   /* the value at idx is not a table */
};

/* t[key] must be a string (numbers are not converted). `*out` is borrowed:
 * valid while the table stays reachable and the field unchanged; copy it
 * before running Lua code. `len` may be NULL. */
enum cs_lua_field cs_lua_get_string_field(lua_State *L, int idx,
                                          const char *key, const char **out,
                                          size_t *len);
enum cs_lua_field cs_lua_get_number_field(lua_State *L, int idx,
                                          const char *key, double *out);
/* Integers, or floats with an exact integer value (3.0). */
enum cs_lua_field cs_lua_get_integer_field(lua_State *L, int idx,
                                           const char *key, int64_t *out);
enum cs_lua_field cs_lua_get_boolean_field(lua_State *L, int idx,
                                           const char *key, bool *out);
/* On CS_FIELD_OK pushes the table / function (caller pops). */
enum cs_lua_field cs_lua_get_table_field(lua_State *L, int idx,
                                         const char *key);
enum cs_lua_field cs_lua_get_function_field(lua_State *L, int idx,
                                            const char *key);
/* Raw type name of t[key] ("nil" when absent, "no table" when the value at
 * idx is not a table), for messages such as "field 'x' must be a string,
 * got boolean". Static string. */
const char *cs_lua_field_typename(lua_State *L, int idx, const char *key);

/* Arrays: the raw length (lua_rawlen; 0 for non-tables) and t[i]. */
size_t cs_lua_array_len(lua_State *L, int idx);
enum cs_lua_field cs_lua_get_string_index(lua_State *L, int idx,
                                          int64_t i, const char **out,
                                          size_t *len);
enum cs_lua_field cs_lua_get_number_index(lua_State *L, int idx,
                                          int64_t i, double *out);
enum cs_lua_field cs_lua_get_integer_index(lua_State *L, int idx,
                                           int64_t i, int64_t *out);
/* On CS_FIELD_OK pushes the table (caller pops). */
enum cs_lua_field cs_lua_get_table_index(lua_State *L, int idx, int64_t i);

#endif
