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

/* Run a full GC cycle (outside any script call). */
void cs_vm_collect(struct cs_vm *vm);

#endif
