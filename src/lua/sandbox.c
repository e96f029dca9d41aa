/* The Lua sandbox: one VM with a counting allocator, a count hook set once,
 * allow-listed and guarded libraries, per-script environments, the one
 * protected-call path, and raw accessors for reading untrusted results. */
#include "lua/sandbox.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lualib.h>

#include "cryptosup/err.h"
#include "cryptosup/log.h"
#include "cryptosup/timeutil.h"

#define LOG_SANDBOX "lua.sandbox"

#define HOOK_STEP_MAX 100          /* instructions between count hooks */
#define CHARGE_BYTES 64            /* bytes of C work per instruction */
#define PRINT_LINE_MAX 1024        /* bytes of one print() line */
#define MESSAGE_MAX 512            /* bytes of a logged error message */
#define MODULE_NAME_MAX 128
#define MODULE_PATH_MAX 4096
#define COPY_DEPTH_MAX 4           /* nesting of library tables copied */
#define WHERE_LEVELS_MAX 12        /* frames searched for a line number */
#define MATH_SEED 20250314         /* fixed, so replays are deterministic */
#define TIME_LIMIT_BASE_MS 1000    /* backstop: this plus 1 us/instruction */

/* Registry keys (addresses only). */
static const char pristine_key = 'p';     /* what environments copy */
static const char loading_key = 'l';      /* require(): module in progress */

/* Loop thread only; nothing here is shared with other threads. The limit
 * flags and budget describe the outermost call in progress (depth 1). */
struct cs_vm {
    lua_State *L;
    struct cs_vm_limits limits;
    char *lua_dir;                  /* require() root; NULL: no modules */
    void *user;                     /* for bindings; not owned */
    int64_t now_ns;                 /* data time returned by cs.now() */
    struct cs_vm_counters counters;
    size_t mem_used;                /* bytes currently allocated */
    unsigned depth;                 /* protected calls in progress */
    int hook_step;                  /* instructions per count hook */
    uint64_t instr_used;            /* budget spent in this call */
    int64_t time_limit_ns;          /* wall-clock backstop; 0: none */
    int64_t deadline_ns;            /* monotonic, for this call */
    bool hit_time;                  /* the backstop, not the count */
    bool hit_instr;                 /* sticky until the call ends */
    bool hit_mem;                   /* sticky until the call ends */
    bool mem_pending;               /* one refusal, Lua may retry it */
    const void *pend_ptr;           /* the refused request, to spot */
    size_t pend_osize, pend_nsize;  /*   Lua's retry after its GC */
    enum cs_lua_failure first_limit;
    bool syntax_error;              /* the failure came from the parser */
    unsigned print_lines;           /* print() lines logged this call */
    uint64_t print_dropped;         /* print() lines dropped this call */
    const char *cur_who;            /* logger of the call in progress */
    char limit_where[128];          /* "src:line" of the budget overrun */
    char err_where[128];            /* "src:line" of the last error */
    char print_logger[128];         /* logger whose prints were dropped */
};

/* How one protected call reports its failure. */
struct call_ctx {
    const char *who;        /* logger */
    const char *loc;        /* location when the message has none */
    bool limited_log;       /* once per (who, kind), or every time */
    char *errbuf;           /* optional copy of the message */
    size_t errsize;
    bool internal;          /* host setup: not a script call, not counted */
};

/* ---- Allocator ------------------------------------------------------ */

static void note_limit(struct cs_vm *vm, enum cs_lua_failure kind)
{
    if (vm->first_limit == CS_LUA_FAIL_NONE) {
        vm->first_limit = kind;
    }
}

static void mark_mem_hit(struct cs_vm *vm)
{
    vm->hit_mem = true;
    vm->mem_pending = false;
    note_limit(vm, CS_LUA_FAIL_MEMORY);
}

/* A refused request is only a hit once Lua has given up on it: Lua runs an
 * emergency full GC and repeats the identical request, and garbage alone
 * must not fail a script. Any other growth request while one is pending
 * means Lua raised instead of retrying. */
static bool growth_allowed(struct cs_vm *vm, const void *ptr, size_t osize,
                           size_t nsize, size_t old)
{
    bool retry = vm->mem_pending && ptr == vm->pend_ptr &&
                 osize == vm->pend_osize && nsize == vm->pend_nsize;
    size_t limit = vm->limits.memory_bytes;

    if (vm->hit_mem) {
        return false;
    }
    if (vm->mem_pending && !retry) {
        mark_mem_hit(vm);
        return false;
    }
    if (vm->mem_used > limit || nsize - old > limit - vm->mem_used) {
        if (retry) {
            mark_mem_hit(vm);
        } else {
            vm->mem_pending = true;
            vm->pend_ptr = ptr;
            vm->pend_osize = osize;
            vm->pend_nsize = nsize;
        }
        return false;
    }
    vm->mem_pending = false;
    return true;
}

/* The cap is enforced only inside protected calls: outside them a refusal
 * would be an unprotected error (a panic), and what callers push there is
 * small. Shrinking and freeing always succeed. */
static void *vm_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct cs_vm *vm = ud;
    size_t old = ptr != NULL ? osize : 0;   /* else osize is a type tag */
    void *block;

    if (nsize == 0) {
        free(ptr);
        vm->mem_used -= old;
        return NULL;
    }
    if (nsize > old && vm->depth > 0 &&
        !growth_allowed(vm, ptr, osize, nsize, old)) {
        return NULL;
    }
    block = realloc(ptr, nsize);
    if (block == NULL) {
        if (nsize <= old) {
            /* Lua assumes shrinking cannot fail: keep the bigger block. */
            vm->mem_used -= old - nsize;
            return ptr;
        }
        return NULL;
    }
    vm->mem_used = vm->mem_used - old + nsize;
    if (nsize > old && vm->depth > 0) {
        /* Copying and collecting cost time the count hook cannot see
         * (s = s .. x in a loop); the hook raises once this overdraws. */
        vm->instr_used += (nsize - old) / CHARGE_BYTES;
    }
    return block;
}

/* ---- Budget --------------------------------------------------------- */

struct cs_vm *cs_vm_from(lua_State *L)
{
    struct cs_vm *vm;
    memcpy(&vm, lua_getextraspace(L), sizeof vm);
    return vm;
}

static bool mem_limited(struct cs_vm *vm)
{
    if (vm->mem_pending) {
        mark_mem_hit(vm);   /* Lua raised rather than retried */
    }
    return vm->hit_mem;
}

/* "src:line" of the first frame at or above `level` that has a line. */
static void record_where(lua_State *L, int level, char *buf, size_t size)
{
    lua_Debug ar;

    buf[0] = '\0';
    for (int i = level; i < level + WHERE_LEVELS_MAX; i++) {
        if (!lua_getstack(L, i, &ar)) {
            break;
        }
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            snprintf(buf, size, "%s:%d", ar.short_src, ar.currentline);
            break;
        }
    }
}

/* Raise the error for a limit already hit in this call. `level` is the
 * frame to name (0 in the hook, 1 in a C function).     [-0, +1, v] */
static int raise_limit(lua_State *L, struct cs_vm *vm, int level)
{
    char where[128];

    if (vm->hit_instr && vm->first_limit != CS_LUA_FAIL_MEMORY) {
        if (vm->limit_where[0] == '\0') {
            record_where(L, level, vm->limit_where, sizeof vm->limit_where);
        }
        record_where(L, level, where, sizeof where);
        lua_pushfstring(L, "%s%sinstruction limit exceeded", where,
                        where[0] != '\0' ? ": " : "");
    } else {
        lua_pushliteral(L, "memory limit exceeded");
    }
    return lua_error(L);
}

/* Raise if a limit was hit in this call: the entry check of every function
 * that can catch errors (pcall, xpcall, coroutine.resume/close), so a
 * script cannot keep catching the hook's error forever. */
static void check_sticky(lua_State *L, struct cs_vm *vm)
{
    if (vm->depth > 0 && (vm->hit_instr || mem_limited(vm))) {
        raise_limit(L, vm, 1);
    }
}

/* Add C work to the call's budget; raises once it is spent (including by
 * the allocator's charges) or a limit was already hit.  [-0, +0, v] */
static void charge(lua_State *L, struct cs_vm *vm, uint64_t units)
{
    uint64_t limit = vm->limits.instructions;

    if (vm->depth == 0) {
        return;
    }
    check_sticky(L, vm);
    if (units > limit || vm->instr_used > limit - units) {
        vm->instr_used = limit + 1;
        vm->hit_instr = true;
        note_limit(vm, CS_LUA_FAIL_INSTRUCTIONS);
        raise_limit(L, vm, 1);
    }
    vm->instr_used += units;
}

void cs_lua_charge(lua_State *L, uint64_t units)
{
    charge(L, cs_vm_from(L), units);
}

/* Installed once at creation; coroutines inherit it from lua_newthread.
 * Once the budget is spent it raises every time it runs until the call
 * ends, wherever the script tries to continue. It also enforces the
 * wall-clock backstop: a single instruction can compare or copy strings
 * of up to the memory limit, which no instruction count prices. */
static void count_hook(lua_State *L, lua_Debug *ar)
{
    struct cs_vm *vm = cs_vm_from(L);

    if (ar->event != LUA_HOOKCOUNT || vm->depth == 0) {
        return;
    }
    vm->instr_used += (uint64_t)vm->hook_step;
    /* Most rule calls end before the first hook; only longer ones pay for
     * reading the clock. The deadline counts from the first hook, which
     * is at most hook_step instructions into the call. */
    if (vm->time_limit_ns > 0 && vm->deadline_ns == 0) {
        vm->deadline_ns = cs_time_mono_ns() + vm->time_limit_ns;
    } else if (!vm->hit_instr && vm->time_limit_ns > 0 &&
               cs_time_mono_ns() > vm->deadline_ns) {
        vm->hit_time = true;
        vm->instr_used = vm->limits.instructions + 1;
    }
    if (vm->instr_used > vm->limits.instructions && !vm->hit_instr) {
        vm->hit_instr = true;
        note_limit(vm, CS_LUA_FAIL_INSTRUCTIONS);
    }
    if (vm->hit_instr || mem_limited(vm)) {
        raise_limit(L, vm, 0);
    }
}

/* ---- Guarded library functions --------------------------------------
 *
 * Each wrapper is a C closure whose upvalue 1 is the original library
 * function. The originals used here have no upvalues of their own, so a
 * wrapper may call them directly on its own frame (which also keeps
 * pcall's continuation, so it still yields inside coroutines). */

static int call_original(lua_State *L)
{
    lua_CFunction f = lua_tocfunction(L, lua_upvalueindex(1));
    return f(L);
}

/* Charge one unit per result on top (their bytes were charged by the
 * allocator when they were made). */
static void charge_results(lua_State *L, int n)
{
    charge(L, cs_vm_from(L), (uint64_t)n);
}

/* Library function whose cost is what it produces.     [-?, +?, v] */
static int w_results(lua_State *L)
{
    int n;

    charge(L, cs_vm_from(L), 0);
    n = call_original(L);
    charge_results(L, n);
    return n;
}

/* Library function that scans its first argument.      [-?, +?, v] */
static int w_scan(lua_State *L)
{
    uint64_t units = 0;
    int n;

    if (lua_type(L, 1) == LUA_TSTRING) {
        units = lua_rawlen(L, 1) / CHARGE_BYTES;
    }
    charge(L, cs_vm_from(L), units);
    n = call_original(L);
    charge_results(L, n);
    return n;
}

/* pcall, coroutine.resume, coroutine.close: refuse to catch once a limit
 * is hit.                                               [-?, +?, v] */
static int w_guarded(lua_State *L)
{
    check_sticky(L, cs_vm_from(L));
    return call_original(L);
}

/* The script's xpcall handler, behind a guard (upvalue 1). An error raised
 * from the count hook reaches the handler with hooks still disabled, so a
 * looping handler would never be stopped: once a limit is hit the error
 * passes through unhandled instead.                     [-1, +1, e] */
static int guarded_handler(lua_State *L)
{
    struct cs_vm *vm = cs_vm_from(L);

    if (vm->hit_instr || mem_limited(vm)) {
        lua_settop(L, 1);
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* xpcall(f, handler, ...): guarded like pcall, with the handler wrapped.
 *                                                       [-?, +?, v] */
static int w_xpcall(lua_State *L)
{
    check_sticky(L, cs_vm_from(L));
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guarded_handler, 1);
    lua_replace(L, 2);
    return call_original(L);
}

/* coroutine.create/wrap: a new coroutine starts with a full hook interval
 * of its own, so creating one costs that interval.      [-1, +1, v] */
static int w_cocreate(lua_State *L)
{
    struct cs_vm *vm = cs_vm_from(L);

    charge(L, vm, (uint64_t)vm->hook_step);
    return call_original(L);
}

/* setmetatable(t, mt): finalizers would run outside any budget, so a
 * metatable with a __gc field is refused.               [-2, +1, e] */
static int w_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL) {
            return luaL_error(L, "__gc metamethods are not allowed");
        }
        lua_pop(L, 1);
    }
    return call_original(L);
}

/* math.randomseed(x [, y]): the argument-less form seeds from the clock,
 * which would break replays.                            [-?, +?, e] */
static int w_randomseed(lua_State *L)
{
    int n = lua_gettop(L);

    if (n == 0) {
        return luaL_error(L, "math.randomseed needs an explicit seed "
                             "(replays must be deterministic)");
    }
    /* The original keeps its generator in an upvalue: call it properly. */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

/* string.rep(s, n [, sep]): an empty result takes no memory, so the
 * original would loop n times unseen by the budget.     [-3, +1, v] */
static int w_rep(lua_State *L)
{
    size_t len, seplen;
    lua_Integer count;
    int n;

    luaL_checklstring(L, 1, &len);
    count = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &seplen);
    charge(L, cs_vm_from(L), 0);
    if (count <= 0 || (len == 0 && seplen == 0)) {
        lua_pushliteral(L, "");
        return 1;
    }
    n = call_original(L);
    charge_results(L, n);
    return n;
}

/* table.concat(t [, sep [, i [, j]]]): j is computed once (a __len may lie
 * differently on a second call) and the element count charged first, since
 * elements can come from C __index functions returning "". [-4, +1, v] */
static int w_concat(lua_State *L)
{
    lua_Integer i, j;
    int n;

    if (lua_type(L, 1) != LUA_TTABLE) {
        return call_original(L);   /* raises the usual argument error */
    }
    i = luaL_optinteger(L, 3, 1);
    j = lua_isnoneornil(L, 4) ? luaL_len(L, 1) : luaL_checkinteger(L, 4);
    lua_settop(L, 4);
    lua_pushinteger(L, i);
    lua_replace(L, 3);
    lua_pushinteger(L, j);
    lua_replace(L, 4);
    if (i <= j) {
        charge(L, cs_vm_from(L),
               (uint64_t)((lua_Unsigned)j - (lua_Unsigned)i) + 1);
    }
    n = call_original(L);
    charge_results(L, n);
    return n;
}

/* table.move(a1, f, e, t [, a2]): charged per element before moving.
 *                                                       [-5, +1, v] */
static int w_move(lua_State *L)
{
    int okf, oke;
    lua_Integer f = lua_tointegerx(L, 2, &okf);
    lua_Integer e = lua_tointegerx(L, 3, &oke);

    if (okf && oke && e >= f) {
        charge(L, cs_vm_from(L),
               (uint64_t)((lua_Unsigned)e - (lua_Unsigned)f) + 1);
    }
    return call_original(L);
}

/* table.sort(t [, comp]): charged n*log2(n) first. A __len would be asked
 * again by the original and could answer differently, so it is refused.
 *                                                       [-2, +0, v] */
static int w_sort(lua_State *L)
{
    uint64_t n, units;
    int bits = 1;

    if (lua_type(L, 1) != LUA_TTABLE) {
        return call_original(L);
    }
    if (luaL_getmetafield(L, 1, "__len") != LUA_TNIL) {
        return luaL_error(L, "table.sort: tables with __len are not "
                             "supported");
    }
    n = (uint64_t)lua_rawlen(L, 1);
    while (bits < 63 && (UINT64_C(1) << bits) < n) {
        bits++;
    }
    units = n > UINT64_MAX / (uint64_t)bits ? UINT64_MAX : n * (uint64_t)bits;
    charge(L, cs_vm_from(L), units);
    return call_original(L);
}

/* table.insert(t, [pos,] v), our own: the shift is charged before it runs,
 * using the one length we asked for.                    [-3, +0, v] */
static int l_table_insert(lua_State *L)
{
    lua_Integer e, pos;

    luaL_checktype(L, 1, LUA_TTABLE);
    e = (lua_Integer)((lua_Unsigned)luaL_len(L, 1) + 1u);  /* first free */
    switch (lua_gettop(L)) {
    case 2:
        pos = e;
        break;
    case 3:
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2,
                      "position out of bounds");
        if (e > pos) {
            charge(L, cs_vm_from(L), (uint64_t)(e - pos));
        }
        for (lua_Integer i = e; i > pos; i--) {
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
        }
        break;
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

/* table.remove(t [, pos]), our own for the same reason. [-2, +1, v] */
static int l_table_remove(lua_State *L)
{
    lua_Integer size, pos;

    luaL_checktype(L, 1, LUA_TTABLE);
    size = luaL_len(L, 1);
    pos = luaL_optinteger(L, 2, size);
    if (pos != size) {
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2,
                      "position out of bounds");
    }
    if (size > pos) {
        charge(L, cs_vm_from(L), (uint64_t)(size - pos));
    }
    lua_geti(L, 1, pos);
    for (; pos < size; pos++) {
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

/* ---- Pattern cost ---------------------------------------------------
 *
 * Lua's matcher backtracks inside C where the hook cannot fire. An upper
 * bound of its work: every start position (one if anchored) times every
 * path through the quantifiers (a quantified class can stop at most
 * longest-run-of-that-class + 1 ways; '?' two ways) times the work along a
 * path (one step per item, plus the subject length for each %b or back
 * reference). A first cheap bound uses the subject length as the run of
 * every class; only when that is too big are the real runs measured. */

#define PATTERN_STEPS_PER_CHARGE 128   /* estimated steps per instruction */
#define PAT_QUANT_MAX 32   /* quantified classes measured; more: worst */
#define PAT_SCAN_MAX 8     /* distinct classes whose runs are measured */

struct pat_class {
    unsigned char set[32];   /* bit per byte value */
};

static bool set_has(const struct pat_class *c, unsigned char b)
{
    return (c->set[b >> 3] >> (b & 7)) & 1;
}

static bool class_matches(int c, int cl)
{
    bool res;

    switch (tolower(cl)) {
    case 'a': res = isalpha(c); break;
    case 'c': res = iscntrl(c); break;
    case 'd': res = isdigit(c); break;
    case 'g': res = isgraph(c); break;
    case 'l': res = islower(c); break;
    case 'p': res = ispunct(c); break;
    case 's': res = isspace(c); break;
    case 'u': res = isupper(c); break;
    case 'w': res = isalnum(c); break;
    case 'x': res = isxdigit(c); break;
    case 'z': res = c == 0; break;   /* deprecated, still in 5.4 */
    default: return cl == c;
    }
    if (isupper(cl)) {
        res = !res;
    }
    return res;
}

/* Does byte c match the class [p, ep)? Mirrors Lua's single-char match. */
static bool item_matches(int c, const unsigned char *p,
                         const unsigned char *ep)
{
    bool in = true;

    if (*p == '.') {
        return true;
    }
    if (*p == '%') {
        return class_matches(c, p[1]);
    }
    if (*p != '[') {
        return *p == c;
    }
    ep--;   /* the closing ']' */
    p++;
    if (*p == '^') {
        in = false;
        p++;
    }
    for (; p < ep; p++) {
        if (*p == '%' && p + 1 < ep) {
            p++;
            if (class_matches(c, *p)) {
                return in;
            }
        } else if (p + 2 < ep && p[1] == '-') {
            if (p[0] <= c && c <= p[2]) {
                return in;
            }
            p += 2;
        } else if (*p == c) {
            return in;
        }
    }
    return !in;
}

/* End of the single-char class at p, or NULL if malformed (Lua will then
 * raise its own error). */
static const unsigned char *class_end(const unsigned char *p,
                                      const unsigned char *end)
{
    unsigned char c = *p++;

    if (c == '%') {
        return p < end ? p + 1 : NULL;
    }
    if (c != '[') {
        return p;
    }
    if (p < end && *p == '^') {
        p++;
    }
    do {   /* the first ']' after '[' or '[^' is literal */
        if (p >= end) {
            return NULL;
        }
        if (*p++ == '%' && p < end) {
            p++;
        }
    } while (p >= end || *p != ']');
    return p + 1;
}

static size_t longest_run(const struct pat_class *c, const unsigned char *s,
                          size_t len)
{
    size_t best = 0, cur = 0;

    for (size_t i = 0; i < len; i++) {
        if (set_has(c, s[i])) {
            if (++cur > best) {
                best = cur;
            }
        } else {
            cur = 0;
        }
    }
    return best;
}

#define PAT_TAIL_MAX 16    /* fixed items after the last quantifier */

struct pat_shape {
    double items;                 /* steps along one path */
    double linear;                /* %b and back references */
    unsigned optional;            /* '?' items */
    unsigned nquant;              /* '*', '+', '-' items */
    struct pat_class quant[PAT_QUANT_MAX];
    bool last_lazy;               /* the last quantifier is '-' */
    bool tail_fixed;              /* only plain classes follow it */
    unsigned ntail;
    const unsigned char *tail[PAT_TAIL_MAX][2];   /* [start, end) */
};

static void class_set(struct pat_class *c, const unsigned char *p,
                      const unsigned char *ep)
{
    memset(c, 0, sizeof *c);
    for (int b = 0; b < 256; b++) {
        if (item_matches(b, p, ep)) {
            c->set[b >> 3] |= (unsigned char)(1u << (b & 7));
        }
    }
}

/* Count the items of a pattern, keep the classes of its quantifiers, and
 * note whether only plain single-char classes follow the last one. A
 * malformed pattern stops the scan (Lua raises its own error). */
static void parse_pattern(const unsigned char *p, const unsigned char *end,
                          struct pat_shape *sh)
{
    while (p < end) {
        const unsigned char *ep;

        if (*p == '(' || *p == ')') {
            p++;
            continue;
        }
        if (*p == '$' && p + 1 == end) {
            sh->tail_fixed = false;   /* the tail matches only at the end */
            p++;
            continue;
        }
        if (*p == '%' && p + 1 < end) {
            if (p[1] == 'b' || (p[1] >= '0' && p[1] <= '9')) {
                sh->linear++;
                sh->items++;
                sh->tail_fixed = false;
                p = p[1] != 'b' ? p + 2 : end - p > 4 ? p + 4 : end;
                continue;
            }
            if (p[1] == 'f') {
                p += 2;
                if (p >= end || *p != '[' || (ep = class_end(p, end)) == NULL) {
                    return;
                }
                sh->items++;
                sh->tail_fixed = false;
                p = ep;
                continue;
            }
        }
        ep = class_end(p, end);
        if (ep == NULL) {
            return;
        }
        sh->items++;
        if (ep < end && (*ep == '*' || *ep == '+' || *ep == '-')) {
            if (sh->nquant < PAT_QUANT_MAX) {
                class_set(&sh->quant[sh->nquant], p, ep);
            }
            sh->nquant++;
            sh->last_lazy = *ep == '-';
            sh->tail_fixed = true;
            sh->ntail = 0;
            ep++;
        } else if (ep < end && *ep == '?') {
            sh->optional++;
            sh->tail_fixed = false;
            ep++;
        } else if (sh->ntail < PAT_TAIL_MAX) {
            sh->tail[sh->ntail][0] = p;
            sh->tail[sh->ntail++][1] = ep;
        } else {
            sh->tail_fixed = false;
        }
        p = ep;
    }
}

/* A lazy quantifier followed only by plain classes (".-\n") stops at the
 * first place where that tail matches, so from entry point p it tries at
 * most min(run of its class from p, distance to the next tail match) + 1
 * times. The largest such count over all p, by one backward pass. */
static double lazy_tail_factor(const struct pat_shape *sh,
                               const struct pat_class *c,
                               const unsigned char *s, size_t len)
{
    struct pat_class tail[PAT_TAIL_MAX];
    size_t run = 0, dist = SIZE_MAX, best = 0;

    for (unsigned k = 0; k < sh->ntail; k++) {
        class_set(&tail[k], sh->tail[k][0], sh->tail[k][1]);
    }
    for (size_t i = len + 1; i-- > 0;) {
        bool tail_here = i + sh->ntail <= len;
        for (unsigned k = 0; tail_here && k < sh->ntail; k++) {
            tail_here = set_has(&tail[k], s[i + k]);
        }
        run = i < len && set_has(c, s[i]) ? run + 1 : 0;
        dist = tail_here ? 0 : dist == SIZE_MAX ? SIZE_MAX : dist + 1;
        size_t tries = run < dist ? run : dist;
        if (tries > best) {
            best = tries;
        }
    }
    return (double)best + 1;
}

/* Worst-case steps of matching `pat` against `s` (capped just above the
 * maximum; the caller only compares). */
static double pattern_cost(const char *s, size_t ls, const char *pat,
                           size_t lp, bool plain, bool anchor_ok)
{
    const unsigned char *p = (const unsigned char *)pat;
    const unsigned char *end = p + lp;
    const double cap = CS_LUA_PATTERN_COST_MAX * 2;
    double n = (double)ls, starts = n + 1, cost;
    struct pat_shape sh;
    struct pat_class scanned[PAT_SCAN_MAX];
    size_t runs[PAT_SCAN_MAX];
    unsigned nscanned = 0;

    if (plain) {
        return starts * ((double)lp + 1);
    }
    if (anchor_ok && p < end && *p == '^') {
        starts = 1;
        p++;
    }
    memset(&sh, 0, sizeof sh);
    parse_pattern(p, end, &sh);
    cost = starts * (sh.items + 1 + sh.linear * n);
    for (unsigned i = 0; i < sh.optional && cost <= cap; i++) {
        cost *= 2;
    }
    /* Cheap bound: every quantifier may stop at any of n + 1 places. */
    double quick = cost;
    for (unsigned i = 0; i < sh.nquant && quick <= cap; i++) {
        quick *= n + 1;
    }
    if (quick <= CS_LUA_PATTERN_COST_MAX) {
        return quick;
    }
    for (unsigned i = 0; i < sh.nquant && cost <= cap; i++) {
        double run = n;
        if (i + 1 == sh.nquant && i < PAT_QUANT_MAX && sh.last_lazy &&
            sh.tail_fixed) {
            cost *= lazy_tail_factor(&sh, &sh.quant[i],
                                     (const unsigned char *)s, ls);
            continue;
        }
        if (i < PAT_QUANT_MAX) {
            unsigned k;
            for (k = 0; k < nscanned; k++) {
                if (memcmp(&scanned[k], &sh.quant[i], sizeof scanned[k]) == 0) {
                    break;
                }
            }
            if (k == nscanned && nscanned < PAT_SCAN_MAX) {
                scanned[k] = sh.quant[i];
                runs[k] = longest_run(&sh.quant[i], (const unsigned char *)s,
                                      ls);
                nscanned++;
            }
            if (k < nscanned) {
                run = (double)runs[k];
            }
        }
        cost *= run + 1;
    }
    return cost;
}

enum pat_op { PAT_FIND, PAT_MATCH, PAT_GMATCH, PAT_GSUB };

/* The common guard of find/match/gmatch/gsub.           [-?, +?, v] */
static int pattern_call(lua_State *L, enum pat_op op)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *pat = luaL_checklstring(L, 2, &lp);
    bool plain = op == PAT_FIND && lua_toboolean(L, 4);
    double cost;
    int n;

    /* Pays for the analysis below. */
    charge(L, cs_vm_from(L), (ls + lp) / CHARGE_BYTES);
    cost = pattern_cost(s, ls, pat, lp, plain, op != PAT_GMATCH);
    if (cost > CS_LUA_PATTERN_COST_MAX) {
        return luaL_error(L, "pattern too complex for subject length "
                             "(%I bytes)", (lua_Integer)ls);
    }
    /* The bound is pessimistic, so only a fraction of it is charged; this
     * still keeps a loop of costly matches within the budget. */
    charge(L, cs_vm_from(L), (uint64_t)(cost / PATTERN_STEPS_PER_CHARGE));
    n = call_original(L);
    charge_results(L, n);
    return n;
}

static int w_find(lua_State *L) { return pattern_call(L, PAT_FIND); }
static int w_match(lua_State *L) { return pattern_call(L, PAT_MATCH); }
static int w_gmatch(lua_State *L) { return pattern_call(L, PAT_GMATCH); }
static int w_gsub(lua_State *L) { return pattern_call(L, PAT_GSUB); }

/* ---- Our own globals ------------------------------------------------ */

static size_t append_text(char *line, size_t pos, const char *s, size_t len)
{
    size_t room = PRINT_LINE_MAX - 4 - pos;   /* keep space for "..." */

    if (pos >= PRINT_LINE_MAX - 4) {
        return pos;
    }
    if (len > room) {
        memcpy(line + pos, s, room);
        memcpy(line + pos + room, "...", 4);
        return PRINT_LINE_MAX - 1;
    }
    memcpy(line + pos, s, len);
    line[pos + len] = '\0';
    return pos + len;
}

/* print(...): one INFO line with the tostring'd arguments joined by tabs,
 * to the script's logger (upvalue 1). Past limits.print_lines lines in a
 * call, lines are dropped unconverted and counted.      [-n, +0, e] */
static int l_print(lua_State *L)
{
    struct cs_vm *vm = cs_vm_from(L);
    const char *logger = lua_tostring(L, lua_upvalueindex(1));
    char line[PRINT_LINE_MAX];
    size_t pos = 0;
    int n = lua_gettop(L);

    charge(L, vm, 0);
    if (vm->print_lines >= vm->limits.print_lines) {
        if (vm->print_dropped++ == 0) {
            snprintf(vm->print_logger, sizeof vm->print_logger, "%s", logger);
        }
        vm->counters.print_suppressed++;
        return 0;
    }
    vm->print_lines++;
    line[0] = '\0';
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);   /* under the budget */
        if (i > 1) {
            pos = append_text(line, pos, "\t", 1);
        }
        pos = append_text(line, pos, s, len);
        lua_pop(L, 1);
    }
    cs_log_info(logger, "%s", line);
    return 0;
}

/* cs.now() -> data time in seconds (float).             [-0, +1, -] */
static int l_now(lua_State *L)
{
    struct cs_vm *vm = cs_vm_from(L);

    lua_pushnumber(L, (lua_Number)(vm->now_ns / 1000000000) +
                      (lua_Number)(vm->now_ns % 1000000000) / 1e9);
    return 1;
}

/* ^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$ */
static bool module_name_ok(const char *name, size_t len)
{
    bool seg_start = true;

    if (len == 0 || len > MODULE_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '.') {
            if (seg_start) {
                return false;
            }
            seg_start = true;
            continue;
        }
        if (c >= '0' && c <= '9') {
            if (seg_start) {
                return false;
            }
        } else if (!((c >= 'a' && c <= 'z') || c == '_')) {
            return false;
        }
        seg_start = false;
    }
    return !seg_start;
}

/* Read up to `cap` bytes of a regular file. No Lua calls between open and
 * close, so an error cannot leak the descriptor. Returns -1 on failure. */
static ssize_t read_module(const char *path, char *buf, size_t cap)
{
    struct stat st;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            close(fd);
            return -1;
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    return (ssize_t)got;
}

static void push_env(lua_State *L, int logger_idx, int loaded_idx);

/* require(name): a text module from lua_dir, run once per script
 * environment in a fresh environment of its own. Upvalues: 1 the logger,
 * 2 the per-script cache.                               [-1, +1, e] */
static int l_require(lua_State *L)
{
    struct cs_vm *vm = cs_vm_from(L);
    char path[MODULE_PATH_MAX];
    struct stat st;
    size_t len, cap;
    ssize_t got;
    char *buf;
    int plen;
    const char *name = luaL_checklstring(L, 1, &len);

    lua_settop(L, 1);
    if (!module_name_ok(name, len)) {
        lua_pushlstring(L, name, len > 64 ? 64 : len);
        return luaL_error(L, "require: invalid module name '%s' (expected "
                             "names like 'lib.stats')", lua_tostring(L, -1));
    }
    lua_pushvalue(L, 1);
    if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) {
        if (lua_touserdata(L, -1) == &loading_key) {
            return luaL_error(L, "require: module '%s' is being loaded or "
                                 "failed to load", name);
        }
        return 1;
    }
    lua_pop(L, 1);
    if (vm->lua_dir == NULL) {
        return luaL_error(L, "require: no module directory configured");
    }
    plen = snprintf(path, sizeof path, "%s/%s.lua", vm->lua_dir, name);
    if (plen < 0 || (size_t)plen >= sizeof path) {
        return luaL_error(L, "require: module path too long");
    }
    for (char *c = path + strlen(vm->lua_dir) + 1; *c != '\0'; c++) {
        if (*c == '.' && strcmp(c, ".lua") != 0) {
            *c = '/';
        }
    }
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        return luaL_error(L, "require: module '%s' not found", name);
    }
    if (st.st_size > CS_LUA_MODULE_MAX_BYTES) {
        return luaL_error(L, "require: module '%s' is larger than %d bytes",
                          name, CS_LUA_MODULE_MAX_BYTES);
    }
    /* Scratch memory from Lua, taken before the file is opened. */
    cap = (size_t)st.st_size + 1;
    buf = lua_newuserdatauv(L, cap, 0);
    got = read_module(path, buf, cap);
    if (got < 0) {
        return luaL_error(L, "require: cannot read module '%s'", name);
    }
    if ((size_t)got == cap) {
        return luaL_error(L, "require: module '%s' changed while read", name);
    }
    lua_pushfstring(L, "@%s", path);
    if (luaL_loadbufferx(L, buf, (size_t)got, lua_tostring(L, -1), "t") !=
        LUA_OK) {
        return lua_error(L);
    }
    push_env(L, lua_upvalueindex(1), lua_upvalueindex(2));
    if (lua_setupvalue(L, -2, 1) == NULL) {
        lua_pop(L, 1);
    }
    lua_pushvalue(L, 1);
    lua_pushlightuserdata(L, (void *)&loading_key);
    lua_rawset(L, lua_upvalueindex(2));
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, 1);
    lua_pushvalue(L, -2);
    lua_rawset(L, lua_upvalueindex(2));
    return 1;
}

/* ---- Environments --------------------------------------------------- */

/* Copy src's fields into dst with raw access; nested tables (library
 * namespaces) are copied too, so no table is shared between scripts.
 *                                                       [-0, +0, m] */
static void copy_table(lua_State *L, int src, int dst, int depth)
{
    src = lua_absindex(L, src);
    dst = lua_absindex(L, dst);
    lua_pushnil(L);
    while (lua_next(L, src) != 0) {
        if (lua_type(L, -1) == LUA_TTABLE && depth < COPY_DEPTH_MAX) {
            lua_newtable(L);
            copy_table(L, -2, -1, depth + 1);
            lua_replace(L, -2);
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, dst);
    }
}

/* Push a fresh environment: copies of the pristine globals, _G, and print
 * and require bound to the logger and module cache at the given indices
 * (upvalue pseudo-indices are fine).                    [-0, +1, m] */
static void push_env(lua_State *L, int logger_idx, int loaded_idx)
{
    logger_idx = lua_absindex(L, logger_idx);
    loaded_idx = lua_absindex(L, loaded_idx);
    lua_createtable(L, 0, 32);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &pristine_key);
    copy_table(L, -1, -2, 0);
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");
    lua_pushvalue(L, logger_idx);
    lua_pushcclosure(L, l_print, 1);
    lua_setfield(L, -2, "print");
    lua_pushvalue(L, logger_idx);
    lua_pushvalue(L, loaded_idx);
    lua_pushcclosure(L, l_require, 2);
    lua_setfield(L, -2, "require");
}

/* ---- Building a VM -------------------------------------------------- */

struct lib_fn {
    const char *name;
    lua_CFunction wrap;   /* NULL: copied as it is */
};

static const struct lib_fn base_fns[] = {
    { "assert", NULL }, { "error", NULL }, { "getmetatable", NULL },
    { "ipairs", NULL }, { "next", NULL }, { "pairs", NULL },
    { "pcall", w_guarded }, { "rawequal", NULL }, { "rawget", NULL },
    { "rawlen", NULL }, { "rawset", NULL }, { "select", NULL },
    { "setmetatable", w_setmetatable }, { "tonumber", w_scan },
    { "tostring", w_results }, { "type", NULL }, { "xpcall", w_xpcall },
    { "_VERSION", NULL }, { NULL, NULL }
};

static const struct lib_fn string_fns[] = {
    { "byte", w_results }, { "char", w_results }, { "find", w_find },
    { "format", w_results }, { "gmatch", w_gmatch }, { "gsub", w_gsub },
    { "len", NULL }, { "lower", w_results }, { "match", w_match },
    { "pack", w_results }, { "packsize", NULL }, { "rep", w_rep },
    { "reverse", w_results }, { "sub", w_results },
    { "unpack", w_results }, { "upper", w_results }, { NULL, NULL }
};

static const struct lib_fn table_fns[] = {
    { "concat", w_concat }, { "insert", l_table_insert },
    { "move", w_move }, { "pack", NULL }, { "remove", l_table_remove },
    { "sort", w_sort }, { "unpack", w_results }, { NULL, NULL }
};

static const struct lib_fn math_fns[] = {
    { "abs", NULL }, { "ceil", NULL }, { "cos", NULL }, { "deg", NULL },
    { "exp", NULL }, { "floor", NULL }, { "fmod", NULL }, { "huge", NULL },
    { "log", NULL }, { "max", NULL }, { "maxinteger", NULL },
    { "min", NULL }, { "mininteger", NULL }, { "modf", NULL },
    { "pi", NULL }, { "rad", NULL }, { "random", NULL },
    { "randomseed", w_randomseed }, { "sin", NULL }, { "sqrt", NULL },
    { "tan", NULL }, { "tointeger", NULL }, { "type", NULL },
    { "ult", NULL }, { "acos", NULL }, { "asin", NULL }, { "atan", NULL },
    { NULL, NULL }
};

static const struct lib_fn utf8_fns[] = {
    { "char", w_results }, { "charpattern", NULL }, { "codes", NULL },
    { "codepoint", w_results }, { "len", w_scan }, { "offset", w_scan },
    { NULL, NULL }
};

static const struct lib_fn coroutine_fns[] = {
    { "close", w_guarded }, { "create", w_cocreate },
    { "isyieldable", NULL }, { "resume", w_guarded }, { "running", NULL },
    { "status", NULL }, { "wrap", w_cocreate }, { "yield", NULL },
    { NULL, NULL }
};

/* Copy the allow-listed fields of the library table on top into the table
 * at `dst`, wrapping where asked; pops the library.      [-1, +0, m] */
static void copy_allowed(lua_State *L, int dst, const struct lib_fn *fns)
{
    dst = lua_absindex(L, dst);
    for (const struct lib_fn *f = fns; f->name != NULL; f++) {
        if (lua_getfield(L, -1, f->name) == LUA_TNIL) {
            lua_pop(L, 1);   /* not in this Lua build */
            continue;
        }
        if (f->wrap != NULL) {
            cs_require(lua_tocfunction(L, -1) != NULL);
            lua_pushcclosure(L, f->wrap, 1);
        }
        lua_setfield(L, dst, f->name);
    }
    lua_pop(L, 1);
}

/* Open one library and store its trimmed copy as pristine[name].
 *                                                       [-0, +0, e] */
static void open_lib(lua_State *L, int pristine, const char *name,
                     lua_CFunction open, const struct lib_fn *fns)
{
    pristine = lua_absindex(L, pristine);
    luaL_requiref(L, name, open, 0);
    lua_newtable(L);
    lua_insert(L, -2);
    copy_allowed(L, -2, fns);
    lua_setfield(L, pristine, name);
}

/* The whole VM setup, run as a protected C function.    [-0, +0, e] */
static int setup_vm(lua_State *L)
{
    int pristine;

    lua_newtable(L);
    pristine = lua_gettop(L);

    luaL_requiref(L, "_G", luaopen_base, 0);
    copy_allowed(L, pristine, base_fns);
    open_lib(L, pristine, LUA_STRLIBNAME, luaopen_string, string_fns);
    open_lib(L, pristine, LUA_TABLIBNAME, luaopen_table, table_fns);
    open_lib(L, pristine, LUA_UTF8LIBNAME, luaopen_utf8, utf8_fns);
    open_lib(L, pristine, LUA_COLIBNAME, luaopen_coroutine, coroutine_fns);

    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0);
    lua_getfield(L, -1, "randomseed");
    lua_pushinteger(L, MATH_SEED);
    lua_call(L, 1, 0);
    lua_newtable(L);
    lua_insert(L, -2);
    copy_allowed(L, -2, math_fns);
    lua_setfield(L, pristine, LUA_MATHLIBNAME);

    lua_newtable(L);
    lua_pushcfunction(L, l_now);
    lua_setfield(L, -2, "now");
    lua_setfield(L, pristine, "cs");

    /* The string metatable: methods come from a private copy that no
     * script can reach, and getmetatable("") returns false. */
    lua_pushliteral(L, "");
    cs_require(lua_getmetatable(L, -1));
    lua_newtable(L);
    lua_getfield(L, pristine, LUA_STRLIBNAME);
    copy_table(L, -1, -2, 0);
    lua_pop(L, 1);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    lua_pushvalue(L, pristine);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &pristine_key);

    /* Nothing should run against the real globals, and the full libraries
     * (load, dofile, string.dump...) should not stay reachable from the
     * registry: empty both. */
    lua_newtable(L);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    return 0;
}

static int on_panic(lua_State *L)
{
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                     : "(not a string)";
    cs_log_error(LOG_SANDBOX, "unprotected Lua error, aborting: %s", msg);
    return 0;   /* Lua aborts */
}

/* ---- The protected-call path ---------------------------------------- */

/* Message handler: turns any error object into a string without running
 * its metamethods, records where it was raised, and logs a traceback at
 * DEBUG.                                                 [-1, +1, m] */
static int msgh(lua_State *L)
{
    struct cs_vm *vm = cs_vm_from(L);
    int t = lua_type(L, 1);

    if (t == LUA_TNUMBER) {
        lua_tostring(L, 1);   /* converted in place, no metamethods */
    } else if (t != LUA_TSTRING) {
        lua_pushfstring(L, "(error object is a %s value)", lua_typename(L, t));
        lua_replace(L, 1);
    }
    lua_settop(L, 1);
    record_where(L, 1, vm->err_where, sizeof vm->err_where);
    if (cs_log_get_level() <= CS_LOG_DEBUG) {
        luaL_traceback(L, L, lua_tostring(L, 1), 1);
        cs_log_debug(vm->cur_who != NULL ? vm->cur_who : LOG_SANDBOX, "%s",
                     lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return 1;
}

/* Does a message start with a position, "<source>:<line>:"? */
static bool has_position(const char *msg)
{
    const char *colon = strchr(msg, ':');
    const char *nl = strchr(msg, '\n');
    const char *p;

    if (colon == NULL || (nl != NULL && nl < colon)) {
        return false;
    }
    for (p = colon + 1; *p >= '0' && *p <= '9'; p++) {
    }
    return p > colon + 1 && *p == ':';
}

static const char *const failure_keys[] = {
    [CS_LUA_FAIL_NONE] = "none",
    [CS_LUA_FAIL_RUNTIME] = "runtime",
    [CS_LUA_FAIL_MEMORY] = "memory",
    [CS_LUA_FAIL_INSTRUCTIONS] = "instructions",
    [CS_LUA_FAIL_SYNTAX] = "syntax",
};

/* "where: text", or "text" when where is NULL. A long text keeps its head
 * and its tail, where nested errors (coroutine.wrap, require) put the
 * cause. */
static void format_message(char *msg, size_t size, const char *where,
                           const char *text)
{
    size_t len = strlen(text);
    size_t keep = size / 2 - 48;

    if (len < size - 64) {
        snprintf(msg, size, "%s%s%s", where != NULL ? where : "",
                 where != NULL ? ": " : "", text);
        return;
    }
    snprintf(msg, size, "%s%s%.*s ... %s", where != NULL ? where : "",
             where != NULL ? ": " : "", (int)keep, text, text + len - keep);
}

/* Log and count one failed call; the error object (if any) is on top. */
static void report_failure(struct cs_vm *vm, const struct call_ctx *ctx,
                           enum cs_lua_failure failure, bool have_obj)
{
    lua_State *L = vm->L;
    char msg[MESSAGE_MAX];
    const char *where;

    switch (failure) {
    case CS_LUA_FAIL_INSTRUCTIONS:
        where = vm->limit_where[0] != '\0' ? vm->limit_where : ctx->loc;
        if (vm->hit_time) {
            snprintf(msg, sizeof msg, "%s: instruction limit exceeded (ran "
                     "longer than %lld ms)", where,
                     (long long)(vm->time_limit_ns / CS_NS_PER_MS));
        } else {
            snprintf(msg, sizeof msg, "%s: instruction limit exceeded (%llu "
                     "per call)", where,
                     (unsigned long long)vm->limits.instructions);
        }
        break;
    case CS_LUA_FAIL_MEMORY:
        where = vm->err_where[0] != '\0' ? vm->err_where : ctx->loc;
        snprintf(msg, sizeof msg, "%s: memory limit exceeded (%zu bytes)",
                 where, vm->limits.memory_bytes);
        break;
    default: {
        const char *text = "(no error object)";
        if (have_obj && lua_type(L, -1) == LUA_TSTRING) {
            text = lua_tostring(L, -1);
        } else if (have_obj) {
            text = "(error object is not a string)";
        }
        if (has_position(text)) {
            where = NULL;
        } else {
            where = vm->err_where[0] != '\0' ? vm->err_where : ctx->loc;
        }
        format_message(msg, sizeof msg, where, text);
        break;
    }
    }
    if (!ctx->internal) {
        if (failure == CS_LUA_FAIL_INSTRUCTIONS) {
            vm->counters.instruction_limit_hits++;
        } else if (failure == CS_LUA_FAIL_MEMORY) {
            vm->counters.memory_limit_hits++;
        } else {
            vm->counters.runtime_errors++;
        }
    }
    if (ctx->errbuf != NULL && ctx->errsize > 0) {
        snprintf(ctx->errbuf, ctx->errsize, "%s", msg);
    }
    if (!ctx->limited_log) {
        cs_log_error(ctx->who, "%s", msg);
        return;
    }
    cs_log_limited(CS_LOG_ERROR, ctx->who, failure_keys[failure], "%s", msg);
}

static void reset_call_state(struct cs_vm *vm)
{
    vm->instr_used = 0;
    vm->deadline_ns = 0;   /* armed by the first count hook of the call */
    vm->hit_time = false;
    vm->hit_instr = false;
    vm->hit_mem = false;
    vm->mem_pending = false;
    vm->first_limit = CS_LUA_FAIL_NONE;
    vm->syntax_error = false;
    vm->print_lines = 0;
    vm->print_dropped = 0;
    vm->limit_where[0] = '\0';
    vm->err_where[0] = '\0';
}

/* Everything that runs Lua goes through here: the function and `nargs`
 * arguments are on top. See cs_lua_call for the contract. */
static enum cs_err protected_call(struct cs_vm *vm, int nargs, int nres,
                                  const struct call_ctx *ctx,
                                  enum cs_lua_failure *failure_out)
{
    lua_State *L = vm->L;
    int base = lua_gettop(L) - nargs;   /* the function, then the handler */
    bool outer = vm->depth == 0;
    const char *saved_who = vm->cur_who;
    enum cs_lua_failure failure = CS_LUA_FAIL_NONE;
    int status;

    cs_require(nargs >= 0 && base >= 1);
    if (outer) {
        reset_call_state(vm);
    }
    if (!ctx->internal) {
        vm->counters.calls++;
    }
    if (!lua_checkstack(L, LUA_MINSTACK)) {
        /* Unlimited here (depth 0 or already inside a call's stack). */
        lua_settop(L, base - 1);
        note_limit(vm, CS_LUA_FAIL_MEMORY);
        vm->hit_mem = true;
        report_failure(vm, ctx, CS_LUA_FAIL_MEMORY, false);
        if (failure_out != NULL) {
            *failure_out = CS_LUA_FAIL_MEMORY;
        }
        return CS_ERR_LIMIT;
    }
    lua_pushcfunction(L, msgh);
    lua_insert(L, base);
    vm->depth++;
    vm->cur_who = ctx->who;
    status = lua_pcall(L, nargs, nres, base);
    vm->cur_who = saved_who;

    /* Still at depth > 0: a pending refusal becomes a hit here. */
    if (vm->hit_instr || mem_limited(vm)) {
        failure = vm->first_limit;
    } else if (status != LUA_OK) {
        failure = vm->syntax_error ? CS_LUA_FAIL_SYNTAX : CS_LUA_FAIL_RUNTIME;
    }
    vm->depth--;

    if (failure == CS_LUA_FAIL_NONE) {
        lua_remove(L, base);
    } else {
        report_failure(vm, ctx, failure, status != LUA_OK);
        lua_settop(L, base - 1);
    }
    if (outer) {
        if (vm->print_dropped > 0) {
            cs_log_limited(CS_LOG_WARN, vm->print_logger,
                           "print_suppressed", "print: %llu lines suppressed "
                           "(at most %u per call)",
                           (unsigned long long)vm->print_dropped,
                           vm->limits.print_lines);
        }
        if (failure == CS_LUA_FAIL_MEMORY ||
            failure == CS_LUA_FAIL_INSTRUCTIONS) {
            lua_gc(L, LUA_GCCOLLECT);   /* reclaim what the script left */
        }
    }
    if (failure_out != NULL) {
        *failure_out = failure;
    }
    switch (failure) {
    case CS_LUA_FAIL_NONE:
        return CS_OK;
    case CS_LUA_FAIL_MEMORY:
    case CS_LUA_FAIL_INSTRUCTIONS:
        return CS_ERR_LIMIT;
    default:
        return CS_ERR_LUA;
    }
}

/* ---- Public API ----------------------------------------------------- */

void cs_vm_limits_default(struct cs_vm_limits *limits)
{
    limits->memory_bytes = (size_t)64 * 1024 * 1024;
    limits->instructions = 1000000;
    limits->print_lines = 20;
}

struct cs_vm *cs_vm_new(const struct cs_vm_limits *limits,
                        const char *lua_dir)
{
    struct call_ctx ctx = {
        .who = LOG_SANDBOX, .loc = "sandbox setup", .internal = true,
    };
    struct cs_vm *vm;
    lua_State *L;
    uint64_t step;

    if (limits->memory_bytes == 0 || limits->instructions == 0) {
        cs_log_error(LOG_SANDBOX, "memory and instruction limits must be > 0");
        return NULL;
    }
    vm = cs_xcalloc(1, sizeof *vm);
    vm->limits = *limits;
    vm->lua_dir = lua_dir != NULL ? cs_xstrdup(lua_dir) : NULL;
    /* Fine enough that a spent budget stops the script soon after, coarse
     * enough that the hook costs little. */
    step = limits->instructions / 1000;
    vm->hook_step = step < 1 ? 1 : step > HOOK_STEP_MAX ? HOOK_STEP_MAX
                                                        : (int)step;
    cs_vm_set_time_limit(vm, (uint32_t)(TIME_LIMIT_BASE_MS +
                                        limits->instructions / 1000));
    L = lua_newstate(vm_alloc, vm);
    if (L == NULL) {
        cs_log_error(LOG_SANDBOX, "cannot create a Lua state");
        cs_vm_free(vm);
        return NULL;
    }
    vm->L = L;
    memcpy(lua_getextraspace(L), &vm, sizeof vm);
    lua_atpanic(L, on_panic);
    lua_sethook(L, count_hook, LUA_MASKCOUNT, vm->hook_step);
    lua_pushcfunction(L, setup_vm);
    if (protected_call(vm, 0, 0, &ctx, NULL) != CS_OK) {
        cs_vm_free(vm);
        return NULL;
    }
    lua_gc(L, LUA_GCCOLLECT);   /* drop the unused library parts */
    return vm;
}

void cs_vm_free(struct cs_vm *vm)
{
    if (vm == NULL) {
        return;
    }
    if (vm->L != NULL) {
        lua_close(vm->L);
    }
    free(vm->lua_dir);
    free(vm);
}

lua_State *cs_vm_lua(struct cs_vm *vm)
{
    return vm->L;
}

void cs_vm_set_now(struct cs_vm *vm, int64_t now_ns)
{
    vm->now_ns = now_ns;
}

const struct cs_vm_counters *cs_vm_counters(const struct cs_vm *vm)
{
    return &vm->counters;
}

size_t cs_vm_memory_used(const struct cs_vm *vm)
{
    return vm->mem_used;
}

void cs_vm_collect(struct cs_vm *vm)
{
    lua_gc(vm->L, LUA_GCCOLLECT);
}

void cs_vm_set_time_limit(struct cs_vm *vm, uint32_t ms)
{
    vm->time_limit_ns = (int64_t)ms * CS_NS_PER_MS;
}

void cs_vm_set_user(struct cs_vm *vm, void *user)
{
    vm->user = user;
}

void *cs_vm_user(lua_State *L)
{
    return cs_vm_from(L)->user;
}

int cs_lua_fail(lua_State *L, const char *fmt, ...)
{
    va_list ap;

    lua_pushnil(L);
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    return 2;
}

struct script_job {
    const char *chunkname;
    const char *src;
    size_t len;
    const char *logger;
};

/* Load and run one script in a fresh environment.       [-1, +2, e] */
static int run_script_body(lua_State *L)
{
    const struct script_job *job = lua_touserdata(L, 1);
    int status;

    lua_settop(L, 0);
    status = luaL_loadbufferx(L, job->src, job->len, job->chunkname, "t");
    if (status != LUA_OK) {
        if (status == LUA_ERRSYNTAX) {
            cs_vm_from(L)->syntax_error = true;
        }
        return lua_error(L);
    }
    lua_pushstring(L, job->logger);   /* 2 */
    lua_newtable(L);                  /* 3: this script's module cache */
    push_env(L, 2, 3);                /* 4 */
    lua_pushvalue(L, 4);
    if (lua_setupvalue(L, 1, 1) == NULL) {
        lua_pop(L, 1);
    }
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);                /* 5 */
    lua_pushvalue(L, 4);
    return 2;
}

static const char *strip_chunkname(const char *chunkname)
{
    return (*chunkname == '@' || *chunkname == '=') ? chunkname + 1
                                                     : chunkname;
}

enum cs_err cs_vm_run_script(struct cs_vm *vm, const char *chunkname,
                             const char *src, size_t len, const char *logger,
                             char *errbuf, size_t errsize)
{
    struct script_job job = { chunkname, src, len, logger };
    struct call_ctx ctx = {
        .who = logger, .loc = strip_chunkname(chunkname),
        .limited_log = false,   /* loads are rare; show every problem */
        .errbuf = errbuf, .errsize = errsize,
    };

    cs_require(chunkname != NULL && src != NULL && logger != NULL);
    if (errbuf != NULL && errsize > 0) {
        errbuf[0] = '\0';
    }
    if (!lua_checkstack(vm->L, 2)) {
        cs_log_error(logger, "%s: no Lua stack space", ctx.loc);
        return CS_ERR_LIMIT;
    }
    lua_pushcfunction(vm->L, run_script_body);
    lua_pushlightuserdata(vm->L, &job);
    return protected_call(vm, 1, 2, &ctx, NULL);
}

enum cs_err cs_lua_call_at(struct cs_vm *vm, const char *who,
                           const char *where, int nargs, int nres,
                           enum cs_lua_failure *failure)
{
    struct call_ctx ctx = { .who = who, .loc = where, .limited_log = true };

    cs_require(who != NULL && where != NULL);
    return protected_call(vm, nargs, nres, &ctx, failure);
}

enum cs_err cs_lua_call(struct cs_vm *vm, const char *who, int nargs,
                        int nres, enum cs_lua_failure *failure)
{
    lua_State *L = vm->L;
    int fn = lua_gettop(L) - nargs;
    struct call_ctx ctx = { .who = who, .loc = who, .limited_log = true };
    lua_Debug ar;

    cs_require(who != NULL);
    /* `ar` lives until we return, so the location is borrowed, not
     * formatted: this runs once per rule call and is needed only when
     * the call fails. */
    if (fn >= 1 && lua_type(L, fn) == LUA_TFUNCTION && lua_checkstack(L, 1)) {
        lua_pushvalue(L, fn);
        if (lua_getinfo(L, ">S", &ar) && ar.what[0] != 'C') {
            ctx.loc = ar.short_src;
        }
    }
    return protected_call(vm, nargs, nres, &ctx, failure);
}

struct add_job {
    const char *ns;
    const luaL_Reg *funcs;
};

/* [-1, +0, e] */
static int add_functions_body(lua_State *L)
{
    const struct add_job *job = lua_touserdata(L, 1);

    lua_settop(L, 0);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &pristine_key);
    if (job->ns != NULL) {
        if (lua_getfield(L, 1, job->ns) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_setfield(L, 1, job->ns);
        }
    }
    for (const luaL_Reg *r = job->funcs; r->name != NULL; r++) {
        if (r->func != NULL) {
            lua_pushcfunction(L, r->func);
        } else {
            lua_pushboolean(L, 0);   /* placeholder, as luaL_setfuncs */
        }
        lua_setfield(L, -2, r->name);
    }
    return 0;
}

enum cs_err cs_vm_add_functions(struct cs_vm *vm, const char *ns,
                                const luaL_Reg *funcs)
{
    struct add_job job = { ns, funcs };
    struct call_ctx ctx = {
        .who = LOG_SANDBOX, .loc = "adding functions", .internal = true,
    };

    if (ns != NULL && strcmp(ns, LUA_STRLIBNAME) == 0) {
        cs_log_error(LOG_SANDBOX, "cannot add functions to 'string'");
        return CS_ERR_INVAL;
    }
    lua_pushcfunction(vm->L, add_functions_body);
    lua_pushlightuserdata(vm->L, &job);
    return protected_call(vm, 1, 0, &ctx, NULL);
}

/* ---- Raw accessors -------------------------------------------------- */

/* Push t[key] (or t[i] when key is NULL) raw, checking its type. On
 * CS_FIELD_OK the value is left on top; otherwise nothing is. */
static enum cs_lua_field push_raw(lua_State *L, int idx, const char *key,
                                  lua_Integer i, int want)
{
    int t;

    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE) {
        return CS_FIELD_NOT_TABLE;
    }
    if (key != NULL) {
        lua_pushstring(L, key);
        t = lua_rawget(L, idx);
    } else {
        t = lua_rawgeti(L, idx, i);
    }
    if (t == want) {
        return CS_FIELD_OK;
    }
    lua_pop(L, 1);
    return t == LUA_TNIL ? CS_FIELD_MISSING : CS_FIELD_TYPE;
}

static enum cs_lua_field get_string(lua_State *L, int idx, const char *key,
                                    lua_Integer i, const char **out,
                                    size_t *len)
{
    enum cs_lua_field r = push_raw(L, idx, key, i, LUA_TSTRING);
    size_t n;

    if (r == CS_FIELD_OK) {
        *out = lua_tolstring(L, -1, &n);   /* a string: no conversion */
        if (len != NULL) {
            *len = n;
        }
        lua_pop(L, 1);
    }
    return r;
}

static enum cs_lua_field get_number(lua_State *L, int idx, const char *key,
                                    lua_Integer i, double *out)
{
    enum cs_lua_field r = push_raw(L, idx, key, i, LUA_TNUMBER);

    if (r == CS_FIELD_OK) {
        *out = (double)lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    return r;
}

static enum cs_lua_field get_integer(lua_State *L, int idx, const char *key,
                                     lua_Integer i, int64_t *out)
{
    enum cs_lua_field r = push_raw(L, idx, key, i, LUA_TNUMBER);
    int exact;
    lua_Integer v;

    if (r == CS_FIELD_OK) {
        v = lua_tointegerx(L, -1, &exact);
        lua_pop(L, 1);
        if (!exact) {
            return CS_FIELD_TYPE;
        }
        *out = (int64_t)v;
    }
    return r;
}

enum cs_lua_field cs_lua_get_string_field(lua_State *L, int idx,
                                          const char *key, const char **out,
                                          size_t *len)
{
    return get_string(L, idx, key, 0, out, len);
}

enum cs_lua_field cs_lua_get_number_field(lua_State *L, int idx,
                                          const char *key, double *out)
{
    return get_number(L, idx, key, 0, out);
}

enum cs_lua_field cs_lua_get_integer_field(lua_State *L, int idx,
                                           const char *key, int64_t *out)
{
    return get_integer(L, idx, key, 0, out);
}

enum cs_lua_field cs_lua_get_boolean_field(lua_State *L, int idx,
                                           const char *key, bool *out)
{
    enum cs_lua_field r = push_raw(L, idx, key, 0, LUA_TBOOLEAN);

    if (r == CS_FIELD_OK) {
        *out = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    return r;
}

enum cs_lua_field cs_lua_get_table_field(lua_State *L, int idx,
                                         const char *key)
{
    return push_raw(L, idx, key, 0, LUA_TTABLE);
}

enum cs_lua_field cs_lua_get_function_field(lua_State *L, int idx,
                                            const char *key)
{
    return push_raw(L, idx, key, 0, LUA_TFUNCTION);
}

const char *cs_lua_field_typename(lua_State *L, int idx, const char *key)
{
    const char *name;

    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE) {
        return "no table";
    }
    lua_pushstring(L, key);
    name = lua_typename(L, lua_rawget(L, idx));
    lua_pop(L, 1);
    return name;
}

size_t cs_lua_array_len(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TTABLE ? (size_t)lua_rawlen(L, idx) : 0;
}

enum cs_lua_field cs_lua_get_string_index(lua_State *L, int idx, int64_t i,
                                          const char **out, size_t *len)
{
    return get_string(L, idx, NULL, (lua_Integer)i, out, len);
}

enum cs_lua_field cs_lua_get_number_index(lua_State *L, int idx, int64_t i,
                                          double *out)
{
    return get_number(L, idx, NULL, (lua_Integer)i, out);
}

enum cs_lua_field cs_lua_get_integer_index(lua_State *L, int idx, int64_t i,
                                           int64_t *out)
{
    return get_integer(L, idx, NULL, (lua_Integer)i, out);
}

enum cs_lua_field cs_lua_get_table_index(lua_State *L, int idx, int64_t i)
{
    return push_raw(L, idx, NULL, (lua_Integer)i, LUA_TTABLE);
}
