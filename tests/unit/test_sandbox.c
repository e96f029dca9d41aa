/* The Lua sandbox against hostile scripts: each row of the table must end
 * in its expected outcome and message, with the stack balanced, counters
 * moved, and the same VM still running a well-behaved script afterwards. */
#include "lua/sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "cryptosup/err.h"
#include "cryptosup/log.h"
#include "testlib.h"

#define TEST_MEMORY ((size_t)8 * 1024 * 1024)
#define TEST_INSTRUCTIONS 200000
#define TEST_PRINT_LINES 5

/* ---- Log capture ------------------------------------------------------ */

static int log_fd = -1;

static void log_capture_start(void)
{
    char path[] = "/tmp/test_sandbox_log_XXXXXX";

    log_fd = mkstemp(path);
    if (log_fd < 0) {
        perror("mkstemp");
        exit(1);
    }
    unlink(path);
    cs_log_set_fd(log_fd);
}

static off_t log_mark(void)
{
    return lseek(log_fd, 0, SEEK_END);
}

/* Everything logged since `mark`, malloc'd and NUL-terminated. */
static char *log_since(off_t mark)
{
    off_t end = lseek(log_fd, 0, SEEK_END);
    size_t len = (size_t)(end - mark);
    char *buf = malloc(len + 1);
    ssize_t got = pread(log_fd, buf, len, mark);

    buf[got > 0 ? (size_t)got : 0] = '\0';
    return buf;
}

static unsigned count_substr(const char *text, const char *needle)
{
    unsigned n = 0;

    for (const char *p = strstr(text, needle); p != NULL;
         p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* ---- Helpers ---------------------------------------------------------- */

static struct cs_vm *new_vm(uint64_t instructions)
{
    struct cs_vm_limits limits;

    cs_vm_limits_default(&limits);
    limits.memory_bytes = TEST_MEMORY;
    limits.instructions = instructions;
    limits.print_lines = TEST_PRINT_LINES;
    return cs_vm_new(&limits, cs_test_fixture("lua_modules"));
}

static char *well_behaved_src;
static size_t well_behaved_len;

/* The well-behaved script must still pass in this VM. */
static void check_vm_still_works(struct cs_vm *vm, const char *after)
{
    lua_State *L = cs_vm_lua(vm);
    int top = lua_gettop(L);
    char err[512];
    enum cs_err rc = cs_vm_run_script(vm, "@fixtures/well_behaved.lua",
                                      well_behaved_src, well_behaved_len,
                                      "rules.well_behaved", err, sizeof err);

    if (rc != CS_OK) {
        cs_test_fail(__FILE__, __LINE__, "after %s: well-behaved script "
                     "failed: %s", after, err);
        return;
    }
    CHECK_STR(lua_tostring(L, -2), "ok");
    lua_pop(L, 2);
    CHECK_INT(lua_gettop(L), top);
    /* Whatever the hostile script piled up was reclaimed. */
    cs_vm_collect(vm);
    if (cs_vm_memory_used(vm) > TEST_MEMORY / 4) {
        cs_test_fail(__FILE__, __LINE__, "after %s: %zu bytes still in use",
                     after, cs_vm_memory_used(vm));
    }
}

struct buf {
    char *data;
    size_t len;
};

static int dump_writer(lua_State *L, const void *p, size_t size, void *ud)
{
    struct buf *b = ud;

    (void)L;
    b->data = realloc(b->data, b->len + size);
    memcpy(b->data + b->len, p, size);
    b->len += size;
    return 0;
}

/* Precompiled bytecode from a separate, ordinary Lua state. */
static struct buf make_binary_chunk(void)
{
    struct buf b = { NULL, 0 };
    lua_State *L = luaL_newstate();

    if (luaL_loadstring(L, "return 'from bytecode'") != LUA_OK ||
        lua_dump(L, dump_writer, &b, 0) != 0) {
        fprintf(stderr, "cannot build a binary chunk\n");
        exit(1);
    }
    lua_close(L);
    return b;
}

/* ---- The hostile table ------------------------------------------------ */

enum outcome { OK, RUNTIME, MEMORY, INSTR, SYNTAX };

static const char *const outcome_names[] = {
    "ok", "runtime error", "memory limit", "instruction limit",
    "syntax error"
};

enum mode {
    RUN,    /* the chunk itself is hostile (cs_vm_run_script) */
    CALL    /* the chunk returns a function; cs_lua_call runs it */
};

struct hostile {
    const char *name;
    enum mode mode;
    const char *src;        /* NULL: the bytecode built in C */
    enum outcome want;
    const char *expect;     /* OK: the string result; else in the message */
    uint64_t instructions;  /* 0: TEST_INSTRUCTIONS */
};

#define LOOP_FOREVER "while true do end"

static const struct hostile hostile[] = {
    /* Unsafe libraries and loaders are simply absent. */
    { "io_open", RUN, "return io.open('/etc/passwd')", RUNTIME,
      "hostile/io_open.lua:1: attempt to index a nil value (global 'io')",
      0 },
    { "os_execute", RUN, "os.execute('touch /tmp/pwned')", RUNTIME,
      "global 'os'", 0 },
    { "os_exit", RUN, "os.exit(1)", RUNTIME, "global 'os'", 0 },
    { "os_time_absent", RUN, "return os.time()", RUNTIME, "global 'os'", 0 },
    { "package_loadlib", RUN,
      "return package.loadlib('libc.so.6', 'system')", RUNTIME,
      "global 'package'", 0 },
    { "debug_sethook", RUN, "debug.sethook()", RUNTIME, "global 'debug'", 0 },
    { "debug_getregistry", RUN, "return debug.getregistry()", RUNTIME,
      "global 'debug'", 0 },
    { "load_text", RUN, "return load('return 1')()", RUNTIME,
      "global 'load'", 0 },
    { "dofile", RUN, "dofile('/etc/passwd')", RUNTIME, "global 'dofile'",
      0 },
    { "collectgarbage_stop", RUN, "collectgarbage('stop')", RUNTIME,
      "global 'collectgarbage'", 0 },
    { "string_dump", RUN, "return string.dump(function() end)", RUNTIME,
      "field 'dump'", 0 },
    { "warn_on", RUN, "warn('@on')", RUNTIME, "global 'warn'", 0 },
    { "randomseed_clock", RUN, "math.randomseed()", RUNTIME,
      "explicit seed", 0 },
    /* Binary chunks are refused by the text-only loader. */
    { "binary_chunk", RUN, NULL, SYNTAX,
      "hostile/binary_chunk.lua: attempt to load a binary chunk", 0 },
    { "binary_prefix", RUN, "\x1bLua not really bytecode", SYNTAX,
      "attempt to load a binary chunk", 0 },
    { "syntax_error", RUN, "local x = = 1", SYNTAX,
      "hostile/syntax_error.lua:1: unexpected symbol", 0 },
    /* require only reads well-named text modules. */
    { "require_dotdot", RUN, "require '../x'", RUNTIME,
      "invalid module name '../x'", 0 },
    { "require_absolute", RUN, "require '/etc/passwd'", RUNTIME,
      "invalid module name", 0 },
    { "require_slash", RUN, "require 'util/mathx'", RUNTIME,
      "invalid module name", 0 },
    { "require_os", RUN, "return require 'os'", RUNTIME,
      "module 'os' not found", 0 },
    { "require_broken", RUN, "return require 'broken'", RUNTIME,
      "broken.lua:2:", 0 },
    { "require_fixture", RUN,
      "local m = require 'util.mathx'\n"
      "local q = require 'util.uses_mathx'\n"
      "assert(require 'util.mathx' == m and m.loads == 1)\n"
      "return tostring(m.double(21)) .. ',' .. q.quadruple(2)",
      OK, "42,8", 0 },
    { "require_sandboxed", RUN,
      "MODULE_LEAK = true\n"
      "local m = require 'sandboxed'\n"
      "assert(MODULE_GLOBAL == nil)\n"
      "return tostring(m.ok) .. ',' .. m.name",
      OK, "true,sandboxed", 0 },
    /* The instruction budget: pcall, coroutines and tail calls included. */
    { "infinite_while", RUN, LOOP_FOREVER, INSTR,
      "hostile/infinite_while.lua:1: instruction limit exceeded", 0 },
    { "goto_loop", RUN, "::top:: goto top", INSTR,
      "instruction limit exceeded", 0 },
    { "tail_call_loop", RUN, "local function f() return f() end\n"
      "return f()", INSTR, "instruction limit exceeded", 0 },
    { "loop_under_pcall", RUN,
      "while true do pcall(function() " LOOP_FOREVER " end) end", INSTR,
      "instruction limit exceeded", 0 },
    { "loop_in_coroutine", RUN,
      "coroutine.wrap(function() " LOOP_FOREVER " end)()", INSTR,
      "instruction limit exceeded", 0 },
    { "coroutine_under_pcall", RUN,
      "local co = coroutine.create(function() " LOOP_FOREVER " end)\n"
      "local ok, resumed, err = pcall(coroutine.resume, co)\n"
      "return 'survived'", INSTR, "instruction limit exceeded", 0 },
    { "coroutine_respawn", RUN,
      "while true do\n"
      "  coroutine.resume(coroutine.create(function() " LOOP_FOREVER
      " end))\n"
      "end", INSTR, "instruction limit exceeded", 0 },
    { "xpcall_handler_loop", RUN,
      "xpcall(function() error('x') end, function() " LOOP_FOREVER " end)\n"
      "return 'survived'", INSTR, "instruction limit exceeded", 0 },
    { "close_metamethod_loop", RUN,
      "do local x <close> = setmetatable({}, {__close = function() "
      LOOP_FOREVER " end}) end", INSTR, "instruction limit exceeded", 0 },
    { "env_index_loop", RUN,
      "setmetatable(_G, {__index = function() " LOOP_FOREVER " end})\n"
      "return undefined_global", INSTR, "instruction limit exceeded", 0 },
    { "swallow_instr_limit", CALL,
      "return function()\n"
      "  pcall(function() " LOOP_FOREVER " end)\n"
      "  return 'swallowed'\n"
      "end", INSTR, "instruction limit exceeded", 0 },
    /* C loops the hook cannot see are charged or refused. */
    { "rep_empty", RUN, "return tostring(#string.rep('', 1e15))", OK, "0", 0 },
    { "move_huge", RUN, "return table.move({}, 1, 1e12, 2)", INSTR,
      "instruction limit exceeded", 0 },
    { "insert_len_lies", RUN,
      "local t = setmetatable({}, {__len = function() return 1e12 end})\n"
      "table.insert(t, 1, 'x')", INSTR, "instruction limit exceeded", 0 },
    { "remove_len_lies", RUN,
      "local t = setmetatable({}, {__len = function() return 1e12 end})\n"
      "table.remove(t, 1)", INSTR, "instruction limit exceeded", 0 },
    { "sort_len_lies", RUN,
      "table.sort(setmetatable({}, {__len = function() return 2^40 end}))",
      RUNTIME, "tables with __len are not supported", 0 },
    { "concat_index_concat", RUN,
      "return table.concat(setmetatable({}, {__index = table.concat}), '',"
      " 1, 1e15)", INSTR, "instruction limit exceeded", 0 },
    { "concat_index_tostring", RUN,
      "return table.concat(setmetatable({}, {__index = tostring}), ',', 1,"
      " 1e7)", INSTR, "instruction limit exceeded", 0 },
    { "unpack_huge", RUN, "return select('#', table.unpack({}, 1, 1e8))",
      RUNTIME, "too many results to unpack", 0 },
    { "utf8_char_flood", RUN,
      "local cps = {}\n"
      "for i = 1, 1000 do cps[i] = 0x10FFFF end\n"
      "local s = ''\n"
      "while true do s = s .. utf8.char(table.unpack(cps)) end",
      INSTR, "instruction limit exceeded", 0 },
    { "coroutine_wrap_recursion", RUN,
      "local function f() return coroutine.wrap(f)() end\nreturn f()",
      RUNTIME, "C stack overflow", 0 },
    { "string_builder", RUN,
      "local s = ''\nfor i = 1, 1e9 do s = s .. 'xxxxxxxxxxxxxxxx' end",
      INSTR, "instruction limit exceeded (200000 per call)", 0 },
    { "deep_recursion", RUN,
      "local function f(n) return 1 + f(n + 1) end\nreturn f(1)", INSTR,
      "instruction limit exceeded", 0 },
    /* The memory cap, which pcall cannot swallow either. */
    { "rep_bomb", RUN, "return string.rep('x', 2^30)", MEMORY,
      "memory limit exceeded", 0 },
    { "concat_doubling", RUN, "local s = 'x'\nwhile true do s = s .. s end",
      MEMORY, "memory limit exceeded", 0 },
    { "table_growth", RUN, "local t = {}\nfor i = 1, 1e9 do t[i] = i end",
      MEMORY, "memory limit exceeded", 5000000 },
    { "table_concat_growth", RUN,
      "local t = {}\n"
      "for i = 1, 100 do t[i] = string.rep('x', 1000) end\n"
      "local s = table.concat(t)\n"
      "while true do s = table.concat({s, s}) end",
      MEMORY, "memory limit exceeded", 0 },
    { "gsub_growth", RUN,
      "return (string.rep('a', 100000)):gsub('a', string.rep('b', 10000))",
      MEMORY, "memory limit exceeded", 0 },
    { "mem_bomb_pcall_retry", RUN,
      "for i = 1, 100 do pcall(string.rep, 'x', 2^30) end\n"
      "return 'survived'", MEMORY, "memory limit exceeded", 0 },
    { "swallow_mem_limit", CALL,
      "return function()\n"
      "  local ok = pcall(string.rep, 'x', 2^30)\n"
      "  return 'swallowed'\n"
      "end", MEMORY, "memory limit exceeded", 0 },
    /* Pattern matching that would backtrack for ages inside C. */
    { "pattern_dot_minus", RUN,
      "return string.rep('a', 100000):find('.-.-.-.-.-.-b')", RUNTIME,
      "pattern too complex for subject length", 0 },
    { "pattern_library_route", RUN,
      "return string.find(string.rep('a', 100000), '.-.-.-b')", RUNTIME,
      "pattern too complex for subject length", 0 },
    { "pattern_stars", RUN,
      "return string.rep('a', 5000):match(string.rep('a*', 12) .. 'b')",
      RUNTIME, "pattern too complex", 0 },
    { "pattern_gsub_spaces", RUN,
      "return (string.rep(' ', 50000) .. 'x'):gsub('%s*%s*%s*$', '')",
      RUNTIME, "pattern too complex", 0 },
    { "pattern_balance", RUN, "return string.rep('(', 100000):find('%b()')",
      RUNTIME, "pattern too complex", 0 },
    { "pattern_gmatch", RUN,
      "for w in string.rep('a', 100000):gmatch('a-a-a-b') do end", RUNTIME,
      "pattern too complex", 0 },
    { "pattern_plain_long", RUN,
      "local s = string.rep('a', 1000000)\n"
      "return s:find(string.rep('a', 5000) .. 'b', 1, true)", RUNTIME,
      "pattern too complex", 0 },
    { "pattern_costly_loop", RUN,
      "local s = string.rep('a', 5000)\n"
      "while true do s:find('.-b') end", INSTR,
      "instruction limit exceeded", 0 },
    { "pattern_normal", RUN,
      "local s = string.rep('word ', 2000)\n"
      "local _, n = s:gsub('%w+', '%0')\n"
      "local k, v = ('key=value'):match('^(%w+)=(%w+)$')\n"
      "local words = 0\n"
      "for _ in ('a bb ccc'):gmatch('%a+') do words = words + 1 end\n"
      "local trimmed = ('  padded  '):match('^%s*(.-)%s*$')\n"
      "return n .. k .. v .. words .. trimmed .. s:find('word', 9000, true)",
      OK, "2000keyvalue3padded9001", 0 },
    { "pattern_lines_long", RUN,
      "local s = string.rep('abcdefghij\\n', 10000)\n"
      "local n = 0\n"
      "for line in s:gmatch('(.-)\\n') do n = n + 1 end\n"
      "return tostring(n)", OK, "10000", 0 },
    { "pattern_lazy_no_tail_match", RUN,
      "return string.rep('a', 100000):find('.-\\n')", RUNTIME,
      "pattern too complex", 0 },
    /* Shared state: the string metatable and the libraries. */
    { "string_mt_poison", RUN,
      "getmetatable('').__index = {upper = function() return 'pwned' end}",
      RUNTIME, "attempt to index a boolean value", 0 },
    { "string_mt_rawget", RUN, "return rawget(getmetatable(''), '__index')",
      RUNTIME, "table expected, got boolean", 0 },
    { "string_mt_set", RUN, "setmetatable('', {})", RUNTIME,
      "table expected, got string", 0 },
    { "string_private_copy", RUN, "return tostring(('').__index)", OK, "nil",
      0 },
    { "library_poison", RUN,
      "string.upper = function() return 'pwned' end\n"
      "table.insert = nil; math.floor = nil; POISON = true\n"
      "return ('x'):upper() .. string.upper('x')", OK, "Xpwned", 0 },
    { "rawset_shared", RUN,
      "rawset(_G, 'POISON', true); rawset(_G, 'pairs', nil)\n"
      "rawset(string, 'format', nil); rawset(cs, 'now', nil)\n"
      "rawset(coroutine, 'wrap', nil); _G.tostring = nil\n"
      "return 'done'", OK, "done", 0 },
    { "setmetatable_gc", RUN,
      "setmetatable({}, {__gc = function() " LOOP_FOREVER " end})", RUNTIME,
      "__gc metamethods are not allowed", 0 },
    /* Error objects and print() with hostile metamethods. */
    { "error_tostring_throws", RUN,
      "error(setmetatable({}, {__tostring = function() error('inner') end}))",
      RUNTIME, "hostile/error_tostring_throws.lua:1: (error object is a "
      "table value)", 0 },
    { "error_nil", RUN, "error(nil)", RUNTIME,
      "(error object is a nil value)", 0 },
    { "error_number", RUN, "error(42)", RUNTIME,
      "hostile/error_number.lua:1: 42", 0 },
    { "error_level0", RUN, "local x = 1\nerror('no position', 0)", RUNTIME,
      "hostile/error_level0.lua:2: no position", 0 },
    { "print_tostring_loop", RUN,
      "print(setmetatable({}, {__tostring = function() " LOOP_FOREVER
      " end}))", INSTR, "instruction limit exceeded", 0 },
    { "print_tostring_throws", RUN,
      "print(setmetatable({}, {__tostring = function() error('nope') end}))",
      RUNTIME, "nope", 0 },
    { "print_tostring_not_string", RUN,
      "print(setmetatable({}, {__tostring = function() return {} end}))",
      RUNTIME, "'__tostring' must return a string", 0 },
    { "print_flood", RUN,
      "for i = 1, 100000 do print('flood', i) end\nreturn 'done'", OK,
      "done", 2000000 },
    { "format_huge_width", RUN, "return string.format('%099999d', 1)",
      RUNTIME, "invalid conversion", 0 },
    { "string_arith", RUN, "return tostring('10' + 1)", OK, "11", 0 },
};

static struct buf binary_chunk;

static enum cs_err expected_rc(enum outcome o)
{
    switch (o) {
    case OK: return CS_OK;
    case MEMORY: case INSTR: return CS_ERR_LIMIT;
    default: return CS_ERR_LUA;
    }
}

static enum cs_lua_failure expected_failure(enum outcome o)
{
    switch (o) {
    case OK: return CS_LUA_FAIL_NONE;
    case RUNTIME: return CS_LUA_FAIL_RUNTIME;
    case MEMORY: return CS_LUA_FAIL_MEMORY;
    case INSTR: return CS_LUA_FAIL_INSTRUCTIONS;
    default: return CS_LUA_FAIL_SYNTAX;
    }
}

/* Which counter the outcome must move. */
static uint64_t outcome_counter(const struct cs_vm_counters *c,
                                enum outcome o)
{
    switch (o) {
    case MEMORY: return c->memory_limit_hits;
    case INSTR: return c->instruction_limit_hits;
    case OK: return 0;
    default: return c->runtime_errors;
    }
}

static void run_hostile(struct cs_vm *shared, const struct hostile *h,
                        unsigned row)
{
    struct cs_vm *own = NULL;
    struct cs_vm *vm = shared;
    lua_State *L;
    char chunk[128], logger[64], err[512];
    const char *src = h->src;
    size_t len;
    struct cs_vm_counters before;
    enum cs_lua_failure failure = CS_LUA_FAIL_NONE;
    enum cs_err rc;
    const char *result = NULL;
    off_t mark = log_mark();
    char *log;
    int top;

    if (h->instructions != 0) {
        vm = own = new_vm(h->instructions);
        cs_require(own != NULL);
    }
    L = cs_vm_lua(vm);
    top = lua_gettop(L);
    snprintf(chunk, sizeof chunk, "@hostile/%s.lua", h->name);
    snprintf(logger, sizeof logger, "rules.hostile%02u", row);
    if (src == NULL) {
        src = binary_chunk.data;
        len = binary_chunk.len;
    } else {
        len = strlen(src);
    }
    before = *cs_vm_counters(vm);
    err[0] = '\0';

    rc = cs_vm_run_script(vm, chunk, src, len, logger, err, sizeof err);
    if (h->mode == CALL) {
        if (rc != CS_OK || lua_type(L, -2) != LUA_TFUNCTION) {
            cs_test_fail(__FILE__, __LINE__, "%s: setup failed: %s", h->name,
                         err);
            goto out;
        }
        lua_pop(L, 1);   /* the environment; the function stays */
        rc = cs_lua_call(vm, logger, 0, 1, &failure);
        if (rc == CS_OK) {
            lua_pushnil(L);   /* same shape as a script: result, env */
        }
    } else if (rc != CS_OK) {
        /* Classify a script failure by the counter that moved. */
        const struct cs_vm_counters *c = cs_vm_counters(vm);
        failure = c->memory_limit_hits > before.memory_limit_hits
                      ? CS_LUA_FAIL_MEMORY
                  : c->instruction_limit_hits > before.instruction_limit_hits
                      ? CS_LUA_FAIL_INSTRUCTIONS
                      : CS_LUA_FAIL_RUNTIME;
        if (failure == CS_LUA_FAIL_RUNTIME && h->want == SYNTAX) {
            failure = CS_LUA_FAIL_SYNTAX;
        }
    }
    if (rc == CS_OK) {
        result = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    }

    if (rc != expected_rc(h->want) ||
        (rc != CS_OK && failure != expected_failure(h->want))) {
        cs_test_fail(__FILE__, __LINE__, "%s: wanted %s, got rc=%s "
                     "failure=%d: %s", h->name, outcome_names[h->want],
                     cs_strerror(rc), (int)failure, err);
    } else {
        cs_test_passed++;
    }
    log = log_since(mark);
    if (h->want == OK) {
        if (result == NULL || strcmp(result, h->expect) != 0) {
            cs_test_fail(__FILE__, __LINE__, "%s: result \"%s\", want \"%s\"",
                         h->name, result ? result : "(not a string)",
                         h->expect);
        }
        lua_pop(L, 2);
    } else {
        /* The message is logged at ERROR to the script's logger, and for
         * loads also copied to errbuf. */
        char needle[96];
        snprintf(needle, sizeof needle, "[ERROR] %s: ", logger);
        if (strstr(log, needle) == NULL || strstr(log, h->expect) == NULL) {
            cs_test_fail(__FILE__, __LINE__, "%s: log lacks \"%s\":\n%s",
                         h->name, h->expect, log);
        }
        if (h->mode == RUN && strstr(err, h->expect) == NULL) {
            cs_test_fail(__FILE__, __LINE__, "%s: message \"%s\" lacks \"%s\"",
                         h->name, err, h->expect);
        }
        if (outcome_counter(cs_vm_counters(vm), h->want) !=
            outcome_counter(&before, h->want) + 1) {
            cs_test_fail(__FILE__, __LINE__, "%s: counter did not move",
                         h->name);
        }
    }
    free(log);
    CHECK_INT(cs_vm_counters(vm)->calls, before.calls + (h->mode == CALL ? 2
                                                                       : 1));
    if (lua_gettop(L) != top) {
        cs_test_fail(__FILE__, __LINE__, "%s: stack %d, want %d", h->name,
                     lua_gettop(L), top);
        lua_settop(L, top);
    }
    check_vm_still_works(vm, h->name);
out:
    cs_vm_free(own);
}

static void test_hostile_table(void)
{
    struct cs_vm *vm = new_vm(TEST_INSTRUCTIONS);
    size_t n = sizeof hostile / sizeof hostile[0];

    CHECK(n >= 30);
    cs_require(vm != NULL);
    binary_chunk = make_binary_chunk();
    for (size_t i = 0; i < n; i++) {
        run_hostile(vm, &hostile[i], (unsigned)i);
    }
    free(binary_chunk.data);
    cs_vm_free(vm);
}

/* ---- Focused tests ---------------------------------------------------- */

/* Runs `src` in `vm`, expecting success; leaves result and env pushed. */
static bool run_ok(struct cs_vm *vm, const char *name, const char *src)
{
    char err[512];

    if (cs_vm_run_script(vm, name, src, strlen(src), "rules.test", err,
                         sizeof err) != CS_OK) {
        cs_test_fail(__FILE__, __LINE__, "%s failed: %s", name, err);
        return false;
    }
    return true;
}

static void test_print(void)
{
    struct cs_vm *vm = new_vm(TEST_INSTRUCTIONS * 20);
    lua_State *L = cs_vm_lua(vm);
    off_t mark = log_mark();
    char *log;

    if (run_ok(vm, "@print.lua", "print('a', 1, nil, true, 2.5)")) {
        lua_pop(L, 2);
    }
    log = log_since(mark);
    CHECK(strstr(log, "[INFO] rules.test: a\\t1\\tnil\\ttrue\\t2.5") != NULL);
    free(log);

    /* A flood: at most print_lines lines, the rest counted, one summary. */
    mark = log_mark();
    if (run_ok(vm, "@flood.lua",
               "for i = 1, 100000 do print('flood line', i) end")) {
        lua_pop(L, 2);
    }
    log = log_since(mark);
    CHECK_INT(count_substr(log, "flood line"), TEST_PRINT_LINES);
    CHECK_INT(cs_vm_counters(vm)->print_suppressed, 100000 - TEST_PRINT_LINES);
    CHECK(strstr(log, "99995 lines suppressed") != NULL);
    free(log);

    /* The limit is per call: the next call may print again. */
    mark = log_mark();
    if (run_ok(vm, "@again.lua", "print('again')")) {
        lua_pop(L, 2);
    }
    log = log_since(mark);
    CHECK_INT(count_substr(log, "again"), 1);
    free(log);

    /* Long lines are cut, not copied whole into the log. */
    mark = log_mark();
    if (run_ok(vm, "@long.lua", "print(string.rep('y', 100000))")) {
        lua_pop(L, 2);
    }
    log = log_since(mark);
    CHECK(strlen(log) < 2000);
    CHECK(strstr(log, "yyy...") != NULL);
    free(log);
    cs_vm_free(vm);
}

static void test_now(void)
{
    struct cs_vm *vm = new_vm(TEST_INSTRUCTIONS);
    lua_State *L = cs_vm_lua(vm);

    cs_vm_set_now(vm, INT64_C(1700000000250000000));
    if (run_ok(vm, "@now.lua", "return cs.now()")) {
        CHECK_NEAR(lua_tonumber(L, -2), 1700000000.25, 1e-6);
        lua_pop(L, 2);
    }
    cs_vm_free(vm);
}

static void test_deterministic_random(void)
{
    struct cs_vm *a = new_vm(TEST_INSTRUCTIONS);
    struct cs_vm *b = new_vm(TEST_INSTRUCTIONS);
    const char *src = "return math.random(1, 1000000) .. ',' .. math.random()";

    if (run_ok(a, "@r.lua", src) && run_ok(b, "@r.lua", src)) {
        CHECK_STR(lua_tostring(cs_vm_lua(a), -2),
                  lua_tostring(cs_vm_lua(b), -2));
    }
    cs_vm_free(a);
    cs_vm_free(b);
}

/* A swallowed limit still fails the call, and the next call has a fresh
 * budget and clean flags. */
static void test_limits_reset(void)
{
    struct cs_vm *vm = new_vm(TEST_INSTRUCTIONS);
    lua_State *L = cs_vm_lua(vm);
    enum cs_lua_failure failure;

    if (!run_ok(vm, "@reset.lua",
                "return function(spin)\n"
                "  if spin then pcall(function() while true do end end) end\n"
                "  local n = 0\n"
                "  for i = 1, 40000 do n = n + 1 end\n"
                "  return n\n"
                "end")) {
        return;
    }
    lua_pop(L, 1);
    for (int round = 0; round < 3; round++) {
        int top = lua_gettop(L);
        lua_pushvalue(L, -1);
        lua_pushboolean(L, 1);
        CHECK_INT(cs_lua_call(vm, "rules.reset", 1, 1, &failure),
                  CS_ERR_LIMIT);
        CHECK_INT(failure, CS_LUA_FAIL_INSTRUCTIONS);
        CHECK_INT(lua_gettop(L), top);
        lua_pushvalue(L, -1);
        lua_pushboolean(L, 0);
        CHECK_INT(cs_lua_call(vm, "rules.reset", 1, 1, &failure), CS_OK);
        CHECK_INT(failure, CS_LUA_FAIL_NONE);
        CHECK_INT(lua_tointeger(L, -1), 40000);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    cs_vm_free(vm);
}

/* Results, arguments, LUA_MULTRET and once-per-(who, kind) logging. */
static void test_call_path(void)
{
    struct cs_vm *vm = new_vm(TEST_INSTRUCTIONS);
    lua_State *L = cs_vm_lua(vm);
    enum cs_lua_failure failure;
    off_t mark;
    char *log;
    int top;

    if (!run_ok(vm, "@rules/calls.lua",
                "local M = {}\n"
                "function M.add(a, b) return a + b, 'sum' end\n"
                "function M.fail(x)\n"
                "  error('bad input ' .. tostring(x))\n"
                "end\n"
                "return M")) {
        return;
    }
    lua_pop(L, 1);
    top = lua_gettop(L);

    CHECK_INT(cs_lua_get_function_field(L, -1, "add"), CS_FIELD_OK);
    lua_pushinteger(L, 2);
    lua_pushinteger(L, 3);
    CHECK_INT(cs_lua_call(vm, "rules.calls", 2, 2, NULL), CS_OK);
    CHECK_INT(lua_tointeger(L, -2), 5);
    CHECK_STR(lua_tostring(L, -1), "sum");
    lua_pop(L, 2);

    CHECK_INT(cs_lua_get_function_field(L, -1, "add"), CS_FIELD_OK);
    lua_pushinteger(L, 1);
    lua_pushinteger(L, 1);
    CHECK_INT(cs_lua_call(vm, "rules.calls", 2, LUA_MULTRET, NULL), CS_OK);
    CHECK_INT(lua_gettop(L), top + 2);
    lua_settop(L, top);

    mark = log_mark();
    for (int i = 0; i < 3; i++) {
        CHECK_INT(cs_lua_get_function_field(L, -1, "fail"), CS_FIELD_OK);
        lua_pushinteger(L, i);
        CHECK_INT(cs_lua_call(vm, "rules.calls_fail", 1, 1, &failure),
                  CS_ERR_LUA);
        CHECK_INT(failure, CS_LUA_FAIL_RUNTIME);
        CHECK_INT(lua_gettop(L), top);
    }
    log = log_since(mark);
    CHECK_INT(count_substr(log, "[ERROR] rules.calls_fail: "
                                "rules/calls.lua:4: bad input 0"), 1);
    CHECK_INT(count_substr(log, "bad input"), 1);
    free(log);
    CHECK_INT(cs_vm_counters(vm)->runtime_errors, 3);

    /* Calling something that is not a function is an ordinary error. */
    lua_pushinteger(L, 7);
    CHECK_INT(cs_lua_call(vm, "rules.not_a_function", 0, 1, &failure),
              CS_ERR_LUA);
    CHECK_INT(lua_gettop(L), top);

    /* At DEBUG the traceback is logged too. */
    cs_log_set_level(CS_LOG_DEBUG);
    mark = log_mark();
    CHECK_INT(cs_lua_get_function_field(L, -1, "fail"), CS_FIELD_OK);
    CHECK_INT(cs_lua_call(vm, "rules.calls_debug", 0, 0, NULL), CS_ERR_LUA);
    log = log_since(mark);
    CHECK(strstr(log, "[DEBUG] rules.calls_debug: ") != NULL);
    CHECK(strstr(log, "stack traceback:") != NULL);
    free(log);
    cs_log_set_level(CS_LOG_INFO);

    lua_pop(L, 1);
    cs_vm_free(vm);
}

/* Comparing two long strings is one instruction; the wall-clock backstop
 * stops a loop of them. */
static void test_time_backstop(void)
{
    struct cs_vm *vm = new_vm(TEST_INSTRUCTIONS);
    lua_State *L = cs_vm_lua(vm);
    enum cs_lua_failure failure;
    off_t mark;
    char *log;

    cs_vm_set_time_limit(vm, 200);
    if (!run_ok(vm, "@rules/compare.lua",
                "return function()\n"
                "  local a = string.rep('x', 2000000)\n"
                "  local b = string.rep('x', 1999999) .. 'x'\n"
                "  local n = 0\n"
                "  while true do if a == b then n = n + 1 end end\n"
                "end")) {
        return;
    }
    lua_pop(L, 1);
    mark = log_mark();
    CHECK_INT(cs_lua_call(vm, "rules.compare", 0, 0, &failure),
              CS_ERR_LIMIT);
    CHECK_INT(failure, CS_LUA_FAIL_INSTRUCTIONS);
    log = log_since(mark);
    CHECK(strstr(log, "rules/compare.lua:5: instruction limit exceeded "
                      "(ran longer than 200 ms)") != NULL);
    free(log);
    CHECK_INT(lua_gettop(L), 0);
    check_vm_still_works(vm, "time backstop");
    cs_vm_free(vm);
}

/* Garbage alone must not trip the memory cap: the allocator lets Lua's
 * emergency collection retry before calling it a hit. */
static void test_garbage_churn(void)
{
    struct cs_vm *vm = new_vm(50000000);
    lua_State *L = cs_vm_lua(vm);

    if (run_ok(vm, "@churn.lua",
               "local keep = {}\n"
               "for i = 1, 400 do\n"
               "  local s = string.rep('x', 200000) .. i\n"
               "  keep[i % 4] = s\n"
               "end\n"
               "return #keep[1]")) {
        CHECK_INT(lua_tointeger(L, -2), 200003);
        lua_pop(L, 2);
    }
    CHECK_INT(cs_vm_counters(vm)->memory_limit_hits, 0);
    cs_vm_free(vm);
}

/* Modules are cached per script: a second script gets a fresh copy. */
static void test_require_isolation(void)
{
    struct cs_vm *vm = new_vm(TEST_INSTRUCTIONS);
    lua_State *L = cs_vm_lua(vm);

    if (run_ok(vm, "@a.lua",
               "local m = require 'util.mathx'\n"
               "m.double = function() return 'poisoned' end\n"
               "return m.double(1)")) {
        CHECK_STR(lua_tostring(L, -2), "poisoned");
        lua_pop(L, 2);
    }
    if (run_ok(vm, "@b.lua", "return require('util.mathx').double(4)")) {
        CHECK_INT(lua_tointeger(L, -2), 8);
        lua_pop(L, 2);
    }
    cs_vm_free(vm);
}

static void test_require_limits(void)
{
    char dir[] = "/tmp/test_sandbox_mods_XXXXXX";
    char path[256];
    struct cs_vm_limits limits;
    struct cs_vm *vm;
    char err[256];
    FILE *f;

    cs_require(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/big.lua", dir);
    f = fopen(path, "w");
    for (int i = 0; i < CS_LUA_MODULE_MAX_BYTES / 16 + 1; i++) {
        fputs("-- padding line\n", f);
    }
    fclose(f);

    cs_vm_limits_default(&limits);
    vm = cs_vm_new(&limits, dir);
    cs_require(vm != NULL);
    const char *src = "return require 'big'";
    CHECK_INT(cs_vm_run_script(vm, "@big.lua", src, strlen(src), "rules.big",
                               err, sizeof err), CS_ERR_LUA);
    CHECK(strstr(err, "is larger than") != NULL);
    cs_vm_free(vm);
    unlink(path);
    rmdir(dir);

    /* Without a module directory, require always fails. */
    vm = cs_vm_new(&limits, NULL);
    src = "return require 'util.mathx'";
    CHECK_INT(cs_vm_run_script(vm, "@nodir.lua", src, strlen(src),
                               "rules.nodir", err, sizeof err), CS_ERR_LUA);
    CHECK(strstr(err, "no module directory") != NULL);
    cs_vm_free(vm);
}

/* Bindings added after creation show up in every later environment, each
 * with its own copy of the namespace table. */
static int l_answer(lua_State *L)
{
    lua_pushinteger(L, 42 + (cs_vm_user(L) != NULL));
    return 1;
}

static void test_add_functions(void)
{
    static const luaL_Reg market[] = { { "answer", l_answer }, { NULL, NULL } };
    struct cs_vm *vm = new_vm(TEST_INSTRUCTIONS);
    lua_State *L = cs_vm_lua(vm);
    int token;

    CHECK_INT(cs_vm_add_functions(vm, "market", market), CS_OK);
    CHECK_INT(cs_vm_add_functions(vm, "cs", market), CS_OK);
    CHECK_INT(cs_vm_add_functions(vm, NULL, market), CS_OK);
    CHECK_INT(cs_vm_add_functions(vm, "string", market), CS_ERR_INVAL);
    cs_vm_set_user(vm, &token);
    if (run_ok(vm, "@m1.lua",
               "local r = market.answer() + cs.answer() + answer()\n"
               "market.answer = nil\n"
               "return r")) {
        CHECK_INT(lua_tointeger(L, -2), 129);
        lua_pop(L, 2);
    }
    if (run_ok(vm, "@m2.lua", "return market.answer()")) {
        CHECK_INT(lua_tointeger(L, -2), 43);
        lua_pop(L, 2);
    }
    CHECK_INT(cs_vm_counters(vm)->calls, 2);   /* setup is not counted */
    cs_vm_free(vm);
}

/* A script returns a table whose metamethods all throw; the raw accessors
 * read it without running any of them. */
static void test_raw_accessors(void)
{
    struct cs_vm *vm = new_vm(TEST_INSTRUCTIONS);
    lua_State *L = cs_vm_lua(vm);
    const char *s;
    size_t len;
    double d;
    int64_t i;
    bool b;
    int top;

    if (!run_ok(vm, "@hostile_return.lua",
                "local function boom() error('metamethod ran') end\n"
                "local mt = {__index = boom, __newindex = boom,\n"
                "  __tostring = boom, __eq = boom, __len = boom,\n"
                "  __call = boom, __close = boom, __lt = boom,\n"
                "  __concat = boom, __name = 'hostile'}\n"
                "local inner = setmetatable({ 'x', 'y', 3 }, mt)\n"
                "return setmetatable({ name = 'btc', threshold = 2.5,\n"
                "  count = 3, whole = 4.0, frac = 4.5, on = true,\n"
                "  nested = inner, fn = boom, [1] = 'first', [2] = 7 }, mt)")) {
        return;
    }
    lua_pop(L, 1);   /* the environment */
    top = lua_gettop(L);

    CHECK_INT(cs_lua_get_string_field(L, -1, "name", &s, &len), CS_FIELD_OK);
    CHECK_STR(s, "btc");
    CHECK_INT(len, 3);
    CHECK_INT(cs_lua_get_string_field(L, -1, "missing", &s, NULL),
              CS_FIELD_MISSING);
    CHECK_INT(cs_lua_get_string_field(L, -1, "count", &s, NULL),
              CS_FIELD_TYPE);
    CHECK_INT(cs_lua_get_number_field(L, -1, "threshold", &d), CS_FIELD_OK);
    CHECK_NEAR(d, 2.5, 1e-12);
    CHECK_INT(cs_lua_get_integer_field(L, -1, "count", &i), CS_FIELD_OK);
    CHECK_INT(i, 3);
    CHECK_INT(cs_lua_get_integer_field(L, -1, "whole", &i), CS_FIELD_OK);
    CHECK_INT(i, 4);
    CHECK_INT(cs_lua_get_integer_field(L, -1, "frac", &i), CS_FIELD_TYPE);
    CHECK_INT(cs_lua_get_boolean_field(L, -1, "on", &b), CS_FIELD_OK);
    CHECK(b);
    CHECK_INT(cs_lua_get_boolean_field(L, -1, "name", &b), CS_FIELD_TYPE);
    CHECK_STR(cs_lua_field_typename(L, -1, "on"), "boolean");
    CHECK_STR(cs_lua_field_typename(L, -1, "nope"), "nil");
    CHECK_INT(cs_lua_get_function_field(L, -1, "fn"), CS_FIELD_OK);
    lua_pop(L, 1);
    CHECK_INT(cs_lua_get_string_index(L, -1, 1, &s, NULL), CS_FIELD_OK);
    CHECK_STR(s, "first");
    CHECK_INT(cs_lua_get_number_index(L, -1, 2, &d), CS_FIELD_OK);
    CHECK_INT(cs_lua_get_integer_index(L, -1, 2, &i), CS_FIELD_OK);
    CHECK_INT(cs_lua_get_table_index(L, -1, 1), CS_FIELD_TYPE);

    CHECK_INT(cs_lua_get_table_field(L, -1, "nested"), CS_FIELD_OK);
    CHECK_INT(cs_lua_array_len(L, -1), 3);
    CHECK_INT(cs_lua_get_string_index(L, -1, 2, &s, NULL), CS_FIELD_OK);
    CHECK_STR(s, "y");
    CHECK_INT(cs_lua_get_string_index(L, -1, 9, &s, NULL), CS_FIELD_MISSING);
    lua_pop(L, 1);

    /* Not a table at all. */
    CHECK_INT(cs_lua_get_string_field(L, -1, "name", &s, NULL), CS_FIELD_OK);
    lua_pushinteger(L, 5);
    CHECK_INT(cs_lua_get_string_field(L, -1, "x", &s, NULL),
              CS_FIELD_NOT_TABLE);
    CHECK_STR(cs_lua_field_typename(L, -1, "x"), "no table");
    CHECK_INT(cs_lua_array_len(L, -1), 0);
    lua_pop(L, 1);

    CHECK_INT(lua_gettop(L), top);
    lua_pop(L, 1);
    /* No metamethod ever ran, so nothing failed or was logged. */
    CHECK_INT(cs_vm_counters(vm)->runtime_errors, 0);
    cs_vm_free(vm);
}

static void test_bad_limits(void)
{
    struct cs_vm_limits limits;
    off_t mark = log_mark();
    char *log;

    cs_vm_limits_default(&limits);
    CHECK_INT(limits.memory_bytes, 64 * 1024 * 1024);
    CHECK_INT(limits.instructions, 1000000);
    CHECK_INT(limits.print_lines, 20);
    limits.memory_bytes = 4096;   /* too small to even open the libraries */
    CHECK(cs_vm_new(&limits, NULL) == NULL);
    limits.memory_bytes = 0;
    CHECK(cs_vm_new(&limits, NULL) == NULL);
    log = log_since(mark);
    CHECK(strstr(log, "[ERROR] lua.sandbox: ") != NULL);
    CHECK(strstr(log, "memory limit exceeded") != NULL);
    free(log);
    cs_vm_free(NULL);
}

int main(void)
{
    char *path;

    log_capture_start();
    path = strdup(cs_test_fixture("sandbox/well_behaved.lua"));
    well_behaved_src = cs_test_read_file(path, &well_behaved_len);
    free(path);

    test_hostile_table();
    test_print();
    test_now();
    test_deterministic_random();
    test_limits_reset();
    test_call_path();
    test_time_backstop();
    test_garbage_churn();
    test_require_isolation();
    test_require_limits();
    test_add_functions();
    test_raw_accessors();
    test_bad_limits();

    free(well_behaved_src);
    cs_log_set_fd(2);
    close(log_fd);
    return cs_test_finish("test_sandbox");
}
