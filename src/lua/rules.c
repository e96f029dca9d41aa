/* Rule files: load each into its own sandbox environment, validate the
 * rule tables they return into struct cs_rule, keep Lua conditions as
 * registry references, and call them with the read-only market views. */
#include "cryptosup/rules.h"

#include <ctype.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/log.h"
#include "cryptosup/timeutil.h"
#include "lua/bind_market.h"
#include "lua/luaread.h"
#include "lua/sandbox.h"
#include "util/fileutil.h"

#define LOG_RULES "lua.rules"
#define RULE_FILE_MAX_BYTES (1u << 20)
#define MAX_RULES 10000
#define MAX_RULE_WINDOWS 32

struct cs_ruleset {
    struct cs_vm *vm;
    struct cs_rule *rules;
    size_t count, cap;
    int64_t windows[MAX_RULE_WINDOWS];   /* sorted, unique */
    size_t nwindows;
    unsigned failures_to_park;
    struct cs_market_ctx market;
    char message[CS_ALERT_MESSAGE_MAX];  /* last message a rule returned */
    char **loggers;                      /* "rules.<name>", per rule */
};

size_t cs_ruleset_count(const struct cs_ruleset *rs)
{
    return rs ? rs->count : 0;
}

struct cs_rule *cs_ruleset_rule(struct cs_ruleset *rs, size_t i)
{
    return &rs->rules[i];
}

long cs_ruleset_find(const struct cs_ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->count; i++) {
        if (strcmp(rs->rules[i].name, name) == 0) {
            return (long)i;
        }
    }
    return -1;
}

const int64_t *cs_ruleset_windows(const struct cs_ruleset *rs, size_t *n)
{
    *n = rs->nwindows;
    return rs->windows;
}

static void free_rule(struct cs_rule *r)
{
    free(r->name);
    free(r->file);
    free(r->severity);
    free(r->windows_s);
    cs_luaread_free_strings(r->exchanges, r->nexchanges);
    cs_luaread_free_strings(r->symbols, r->nsymbols);
}

void cs_ruleset_free(struct cs_ruleset *rs)
{
    if (rs == NULL) {
        return;
    }
    for (size_t i = 0; i < rs->count; i++) {
        free_rule(&rs->rules[i]);
        free(rs->loggers[i]);
    }
    free(rs->loggers);
    free(rs->rules);
    cs_vm_free(rs->vm);
    free(rs);
}

static void add_window(struct cs_ruleset *rs, int64_t secs)
{
    size_t j = 0;
    while (j < rs->nwindows && rs->windows[j] < secs) {
        j++;
    }
    if ((j < rs->nwindows && rs->windows[j] == secs) ||
        rs->nwindows == MAX_RULE_WINDOWS) {
        return;
    }
    memmove(rs->windows + j + 1, rs->windows + j,
            (rs->nwindows - j) * sizeof *rs->windows);
    rs->windows[j] = secs;
    rs->nwindows++;
}

/* One file's extraction state, passed to the protected C function. */
struct extract {
    struct cs_luaread rd;
    struct cs_ruleset *rs;
    const char *file;
    const char *stem;
};

static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= CS_ALERT_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!isalnum((unsigned char)c) && c != '_' && c != '-' && c != '.' &&
            c != ':') {
            return false;
        }
    }
    return true;
}

static void upper_all(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (char *p = list[i]; *p; p++) {
            *p = (char)toupper((unsigned char)*p);
        }
    }
}

static bool read_direction(struct extract *x, lua_State *L, int idx,
                           const char *path, struct cs_rule *r)
{
    char *dir = NULL;
    bool ok = cs_luaread_string(&x->rd, L, idx, path, "direction", &dir);
    char kp[160];
    if (ok && dir) {
        if (strcmp(dir, "both") == 0) {
            r->direction = CS_DIR_BOTH;
        } else if (strcmp(dir, "up") == 0) {
            r->direction = CS_DIR_UP;
        } else if (strcmp(dir, "down") == 0) {
            r->direction = CS_DIR_DOWN;
        } else {
            snprintf(kp, sizeof kp, "%s.direction", path);
            cs_luaread_error(&x->rd, kp, "expected \"up\", \"down\" or "
                             "\"both\", got \"%s\"", dir);
            ok = false;
        }
    }
    free(dir);
    return ok;
}

static bool severity_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 15) {
        return false;
    }
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
              *s == '.')) {
            return false;
        }
    }
    return true;
}

static bool read_mode(struct extract *x, lua_State *L, int idx,
                      const char *path, struct cs_rule *r)
{
    char *mode = NULL;
    bool ok = cs_luaread_string(&x->rd, L, idx, path, "mode", &mode);
    char kp[160];
    if (ok && mode) {
        if (strcmp(mode, "edge") == 0) {
            r->alert.mode = CS_ALERT_EDGE;
        } else if (strcmp(mode, "every") == 0) {
            r->alert.mode = CS_ALERT_EVERY;
        } else {
            snprintf(kp, sizeof kp, "%s.mode", path);
            cs_luaread_error(&x->rd, kp, "expected \"edge\" or \"every\", "
                             "got \"%s\"", mode);
            ok = false;
        }
    }
    free(mode);
    return ok;
}

static void read_scope(struct extract *x, lua_State *L, int idx,
                       const char *path, struct cs_rule *r)
{
    char kp[160];
    if (cs_luaread_strings(&x->rd, L, idx, path, "exchanges", &r->exchanges,
                           &r->nexchanges)) {
        for (size_t i = 0; i < r->nexchanges; i++) {
            if (cs_venue_find(r->exchanges[i]) == NULL &&
                strcmp(r->exchanges[i], "*") != 0) {
                snprintf(kp, sizeof kp, "%s.exchanges", path);
                cs_luaread_error(&x->rd, kp, "unknown exchange \"%s\"",
                                 r->exchanges[i]);
            }
        }
    }
    if (cs_luaread_strings(&x->rd, L, idx, path, "symbols", &r->symbols,
                           &r->nsymbols)) {
        upper_all(r->symbols, r->nsymbols);
    }
}

/* Windows: `window` (the one alerts report) plus `windows` (more it reads). */
static void read_windows(struct extract *x, lua_State *L, int idx,
                         const char *path, struct cs_rule *r)
{
    char **list = NULL;
    size_t n = 0;
    char kp[160];

    cs_luaread_duration(&x->rd, L, idx, path, "window", false, &r->window_s);
    r->windows_s = cs_xcalloc(MAX_RULE_WINDOWS, sizeof *r->windows_s);
    if (r->window_s > 0) {
        r->windows_s[r->nwindows++] = r->window_s;
    }
    if (!cs_luaread_strings(&x->rd, L, idx, path, "windows", &list, &n)) {
        return;
    }
    snprintf(kp, sizeof kp, "%s.windows", path);
    for (size_t i = 0; i < n; i++) {
        int64_t secs;
        if (!cs_duration_parse(list[i], &secs) || secs > 366LL * 86400) {
            cs_luaread_error(&x->rd, kp, "bad duration \"%s\"", list[i]);
        } else if (r->nwindows < MAX_RULE_WINDOWS) {
            r->windows_s[r->nwindows++] = secs;
        }
    }
    cs_luaread_free_strings(list, n);
}

static void read_rule(struct extract *x, lua_State *L, int idx,
                      const char *default_name)
{
    static const char *const keys[] = {
        "name", "description", "exchanges", "symbols", "window", "windows",
        "threshold_pct", "direction", "rearm_pct", "condition", "for",
        "hold_for", "cooldown", "mode", "severity", "ignore_gapped",
        "notify_resolved", "prefilter_pct", "on_gap", NULL
    };
    struct cs_ruleset *rs = x->rs;
    struct cs_rule r;
    char path[CS_ALERT_NAME_MAX + 32];
    double threshold_pct = -1, rearm_pct = -1, prefilter_pct = -1;
    int64_t for_s = 0, cooldown_s = 0;
    int ctype;
    unsigned errors_before = x->rd.nerrors;
    char *desc = NULL;

    idx = lua_absindex(L, idx);
    memset(&r, 0, sizeof r);
    r.lua_ref = LUA_NOREF;
    r.gap_ref = LUA_NOREF;
    r.rearm = -1;
    r.ignore_gapped = true;
    r.file = cs_xstrdup(x->file);
    cs_luaread_string(&x->rd, L, idx, "rule", "name", &r.name);
    if (r.name == NULL && default_name) {
        r.name = cs_xstrdup(default_name);
    }
    if (r.name == NULL || !valid_name(r.name)) {
        cs_luaread_error(&x->rd, "name", "each rule needs a name of 1 to 63 "
                         "letters, digits, '_', '-', '.' or ':'");
        free_rule(&r);
        return;
    }
    snprintf(path, sizeof path, "%s", r.name);
    r.line = cs_luaread_key_line(&x->rd, "name", 0);
    cs_luaread_check_keys(&x->rd, L, idx, path, keys);
    cs_luaread_string(&x->rd, L, idx, path, "description", &desc);
    free(desc);
    read_scope(x, L, idx, path, &r);
    read_windows(x, L, idx, path, &r);
    cs_luaread_number(&x->rd, L, idx, path, "threshold_pct", &threshold_pct);
    cs_luaread_number(&x->rd, L, idx, path, "rearm_pct", &rearm_pct);
    cs_luaread_number(&x->rd, L, idx, path, "prefilter_pct", &prefilter_pct);
    read_direction(x, L, idx, path, &r);
    read_mode(x, L, idx, path, &r);
    cs_luaread_duration(&x->rd, L, idx, path, "for", true, &for_s);
    cs_luaread_duration(&x->rd, L, idx, path, "hold_for", true, &for_s);
    cs_luaread_duration(&x->rd, L, idx, path, "cooldown", true, &cooldown_s);
    cs_luaread_string(&x->rd, L, idx, path, "severity", &r.severity);
    cs_luaread_boolean(&x->rd, L, idx, path, "ignore_gapped",
                       &r.ignore_gapped);
    cs_luaread_boolean(&x->rd, L, idx, path, "notify_resolved",
                       &r.notify_resolved);
    if (r.severity == NULL) {
        r.severity = cs_xstrdup("warning");
    } else if (!severity_ok(r.severity)) {
        char key[160];
        snprintf(key, sizeof key, "%s.severity", path);
        /* It becomes an Alertmanager label, a header word and a filter
         * key: keep it a plain word that fits the alert record. */
        cs_luaread_error(&x->rd, key, "expected 1-15 letters, digits, "
                         "'_', '-' or '.'");
    }
    r.alert.for_ns = for_s * CS_NS_PER_S;
    r.alert.cooldown_ns = cooldown_s * CS_NS_PER_S;

    ctype = cs_luaread_field(L, idx, "condition");
    if (ctype == LUA_TFUNCTION) {
        if (threshold_pct >= 0) {
            cs_luaread_error(&x->rd, path, "give either threshold_pct or "
                             "condition, not both");
        }
        r.kind = CS_RULE_LUA;
        r.lua_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    } else {
        lua_pop(L, 1);
        if (ctype != LUA_TNIL) {
            char kp[160];
            snprintf(kp, sizeof kp, "%s.condition", path);
            cs_luaread_error(&x->rd, kp, "expected a function, got %s",
                             lua_typename(L, ctype));
        } else if (threshold_pct <= 0 || threshold_pct > 100000) {
            cs_luaread_error(&x->rd, path, "needs threshold_pct (a positive "
                             "percentage) or a condition function");
        } else if (r.window_s == 0) {
            cs_luaread_error(&x->rd, path, "a threshold rule needs a window");
        }
        r.kind = CS_RULE_THRESHOLD;
        r.threshold = threshold_pct / 100.0;
    }
    if (cs_lua_get_function_field(L, idx, "on_gap") == CS_FIELD_OK) {
        r.gap_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        r.has_on_gap = true;
    } else if (cs_luaread_field(L, idx, "on_gap") != LUA_TNIL) {
        char kp[160];
        lua_pop(L, 1);
        snprintf(kp, sizeof kp, "%s.on_gap", path);
        cs_luaread_error(&x->rd, kp, "expected a function");
    } else {
        lua_pop(L, 1);
    }
    r.prefilter = -1;
    if (prefilter_pct >= 0) {
        if (r.kind != CS_RULE_LUA || r.window_s == 0) {
            cs_luaread_error(&x->rd, path, "prefilter_pct needs a condition "
                             "function and a window");
        }
        r.prefilter = prefilter_pct / 100.0;
    }
    if (rearm_pct >= 0) {
        if (r.kind != CS_RULE_THRESHOLD || rearm_pct >= threshold_pct) {
            cs_luaread_error(&x->rd, path, "rearm_pct must be below "
                             "threshold_pct (threshold rules only)");
        }
        r.rearm = rearm_pct / 100.0;
    }
    if (cs_ruleset_find(rs, r.name) >= 0) {
        cs_luaread_error(&x->rd, path, "a rule with this name already "
                         "exists");
    }
    if (x->rd.nerrors != errors_before || rs->count >= MAX_RULES) {
        if (rs->count >= MAX_RULES) {
            cs_luaread_error(&x->rd, path, "more than %d rules", MAX_RULES);
        }
        free_rule(&r);
        return;
    }
    for (size_t i = 0; i < r.nwindows; i++) {
        add_window(rs, r.windows_s[i]);
    }
    if (rs->count == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 16;
        rs->rules = cs_xrealloc(rs->rules, rs->cap * sizeof *rs->rules);
        rs->loggers = cs_xrealloc(rs->loggers, rs->cap * sizeof *rs->loggers);
    }
    rs->loggers[rs->count] = cs_xmalloc(strlen(r.name) + 8);
    sprintf(rs->loggers[rs->count], "rules.%s", r.name);
    rs->rules[rs->count++] = r;
}

/* A rule file returns one rule table or a list of them.
 * Args: light userdata (struct extract *), the returned value. */
static int extract_rules(lua_State *L)
{
    struct extract *x = lua_touserdata(L, 1);
    int type = lua_type(L, 2);

    if (type != LUA_TTABLE) {
        cs_luaread_error(&x->rd, "rule", "a rule file must return a rule "
                         "table or a list of rule tables, got %s",
                         lua_typename(L, type));
        return 0;
    }
    if (lua_rawlen(L, 2) == 0) {
        read_rule(x, L, 2, x->stem);
        return 0;
    }
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, 2); i++) {
        if (lua_rawgeti(L, 2, i) != LUA_TTABLE) {
            cs_luaread_error(&x->rd, "rule", "entry %lld of the returned "
                             "list is not a table", (long long)i);
        } else {
            read_rule(x, L, -1, NULL);
        }
        lua_pop(L, 1);
    }
    return 0;
}

static void append_errors(char **all, size_t *len, const char *more)
{
    size_t n = strlen(more);
    *all = cs_xrealloc(*all, *len + n + 2);
    memcpy(*all + *len, more, n);
    *len += n;
    if (n == 0 || more[n - 1] != '\n') {
        (*all)[(*len)++] = '\n';
    }
    (*all)[*len] = '\0';
}

static unsigned load_file(struct cs_ruleset *rs, const char *file,
                          char **errors, size_t *errors_len)
{
    struct extract x;
    char *src = NULL, *stem = cs_path_stem(file), *text;
    size_t len = 0;
    char logger[CS_ALERT_NAME_MAX + 8];
    char chunk[PATH_MAX + 2];
    char errbuf[1024];
    enum cs_err err;
    lua_State *L = cs_vm_lua(rs->vm);
    unsigned nerrors;

    memset(&x, 0, sizeof x);
    x.rs = rs;
    x.file = file;
    x.stem = stem;
    err = cs_read_file(file, RULE_FILE_MAX_BYTES, &src, &len);
    cs_luaread_init(&x.rd, file, src, len);
    if (err != CS_OK) {
        cs_luaread_error(&x.rd, "rule", "cannot read the file (%s)",
                         cs_strerror(err));
    } else {
        snprintf(logger, sizeof logger, "rules.%.50s", stem);
        snprintf(chunk, sizeof chunk, "@%s", file);
        err = cs_vm_run_script(rs->vm, chunk, src, len, logger, errbuf,
                               sizeof errbuf);
        if (err != CS_OK) {
            append_errors(errors, errors_len, errbuf);
            x.rd.nerrors++;
        } else {
            lua_pop(L, 1);   /* the environment; functions keep it alive */
            lua_pushcfunction(L, extract_rules);
            lua_insert(L, -2);
            lua_pushlightuserdata(L, &x);
            lua_insert(L, -2);
            if (cs_lua_call(rs->vm, logger, 2, 0, NULL) != CS_OK) {
                cs_luaread_error(&x.rd, "rule", "could not read the rules "
                                 "(Lua limit hit)");
            }
        }
    }
    nerrors = x.rd.nerrors;
    text = cs_luaread_take_errors(&x.rd, LOG_RULES);
    if (text) {
        append_errors(errors, errors_len, text);
        free(text);
    }
    free(src);
    free(stem);
    return nerrors;
}

enum cs_err cs_ruleset_load(const struct cs_config *cfg,
                            struct cs_ruleset **out, char **errors)
{
    struct cs_ruleset *rs = cs_xcalloc(1, sizeof *rs);
    struct cs_vm_limits limits;
    char *all_errors = NULL;
    size_t errors_len = 0;
    unsigned nerrors = 0;

    limits.memory_bytes = cfg->lua_memory_bytes;
    limits.instructions = cfg->lua_instructions;
    limits.print_lines = cfg->lua_print_lines;
    rs->failures_to_park = cfg->rule_failures_to_park;
    rs->vm = cs_vm_new(&limits, cfg->lua_dir);
    if (rs->vm == NULL) {
        free(rs);
        return CS_ERR_NOMEM;
    }
    lua_pushcfunction(cs_vm_lua(rs->vm), cs_market_open);
    lua_pushlightuserdata(cs_vm_lua(rs->vm), &rs->market);
    if (cs_lua_call(rs->vm, LOG_RULES, 1, 0, NULL) != CS_OK) {
        cs_ruleset_free(rs);
        return CS_ERR_LUA;
    }
    for (size_t i = 0; i < cfg->nrule_files; i++) {
        nerrors += load_file(rs, cfg->rule_files[i], &all_errors,
                             &errors_len);
    }
    if (nerrors > 0) {
        if (errors) {
            *errors = all_errors;
        } else {
            free(all_errors);
        }
        cs_ruleset_free(rs);
        return CS_ERR_LUA;
    }
    free(all_errors);
    cs_vm_collect(rs->vm);
    *out = rs;
    return CS_OK;
}

static bool list_matches(char **patterns, size_t n, const char *a,
                         const char *b)
{
    char upper[CS_ALERT_SYMBOL_MAX];
    size_t i;
    if (patterns == NULL) {
        return true;
    }
    for (i = 0; b && b[i] && i < sizeof upper - 1; i++) {
        upper[i] = (char)toupper((unsigned char)b[i]);
    }
    upper[i] = '\0';
    for (i = 0; i < n; i++) {
        if (strcmp(patterns[i], "*") == 0 ||
            fnmatch(patterns[i], a, 0) == 0 ||
            (b && fnmatch(patterns[i], upper, 0) == 0)) {
            return true;
        }
    }
    return false;
}

bool cs_rule_matches(const struct cs_rule *rule, const char *exchange,
                     const char *symbol, const char *raw_symbol)
{
    bool exchange_ok = rule->exchanges == NULL;
    for (size_t i = 0; !exchange_ok && i < rule->nexchanges; i++) {
        exchange_ok = strcmp(rule->exchanges[i], exchange) == 0 ||
                      strcmp(rule->exchanges[i], "*") == 0;
    }
    return exchange_ok &&
           list_matches(rule->symbols, rule->nsymbols, symbol, raw_symbol);
}

static void rule_failed(struct cs_ruleset *rs, struct cs_rule *rule,
                        enum cs_lua_failure failure)
{
    bool limit = failure == CS_LUA_FAIL_MEMORY ||
                 failure == CS_LUA_FAIL_INSTRUCTIONS;
    rule->failures++;
    rule->consecutive_failures++;
    if (limit || rule->consecutive_failures >= rs->failures_to_park) {
        rule->parked = true;
        cs_log_error(LOG_RULES, "rule %s (%s) parked until the next reload "
                     "after %u consecutive failure%s%s", rule->name,
                     rule->file, rule->consecutive_failures,
                     rule->consecutive_failures == 1 ? "" : "s",
                     limit ? " (resource limit)" : "");
    }
}

enum cs_cond cs_ruleset_eval_lua(struct cs_ruleset *rs, struct cs_rule *rule,
                                 const struct cs_rule_input *in,
                                 bool firing, const char **message)
{
    lua_State *L = cs_vm_lua(rs->vm);
    enum cs_lua_failure failure = CS_LUA_FAIL_NONE;
    enum cs_cond cond;
    size_t index = (size_t)(rule - rs->rules);

    *message = NULL;
    rs->market.in = in;
    cs_vm_set_now(rs->vm, in->ts_ns);
    lua_rawgeti(L, LUA_REGISTRYINDEX, rule->lua_ref);
    cs_market_push(L, &rs->market);
    lua_pushboolean(L, firing);
    if (cs_lua_call_at(rs->vm, rs->loggers[index], rule->file, 3, 2,
                       &failure) != CS_OK) {
        rs->market.in = NULL;
        rule_failed(rs, rule, failure);
        return CS_COND_UNKNOWN;
    }
    rs->market.in = NULL;
    rule->consecutive_failures = 0;
    /* Only plain values are read back: nothing here can run a
     * metamethod of a hostile return value. */
    if (lua_type(L, -2) == LUA_TNIL) {
        cond = CS_COND_UNKNOWN;
    } else {
        cond = lua_toboolean(L, -2) ? CS_COND_TRUE : CS_COND_FALSE;
    }
    if (lua_type(L, -1) == LUA_TSTRING) {
        snprintf(rs->message, sizeof rs->message, "%s", lua_tostring(L, -1));
        *message = rs->message;
    }
    lua_pop(L, 2);
    return cond;
}

/* Fields of a gap event table.  [-0, +1, m] (run under cs_lua_call) */
static int push_gap_event(lua_State *L)
{
    const struct cs_gap_event *ev = lua_touserdata(L, 1);
    lua_createtable(L, 0, 8);
    lua_pushstring(L, ev->exchange);
    lua_setfield(L, -2, "exchange");
    lua_pushstring(L, ev->symbol);
    lua_setfield(L, -2, "symbol");
    lua_pushstring(L, ev->raw_symbol);
    lua_setfield(L, -2, "raw_symbol");
    lua_pushstring(L, ev->kind);
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, ev->ts_ns / CS_NS_PER_MS);
    lua_setfield(L, -2, "ts");
    if (ev->has_seq) {
        lua_pushinteger(L, (lua_Integer)ev->expected);
        lua_setfield(L, -2, "expected");
        lua_pushinteger(L, (lua_Integer)ev->got);
        lua_setfield(L, -2, "got");
    }
    return 1;
}

bool cs_ruleset_on_gap(struct cs_ruleset *rs, struct cs_rule *rule,
                       const struct cs_gap_event *ev, const char **message)
{
    lua_State *L = cs_vm_lua(rs->vm);
    enum cs_lua_failure failure = CS_LUA_FAIL_NONE;
    size_t index = (size_t)(rule - rs->rules);
    bool fire;

    *message = NULL;
    cs_vm_set_now(rs->vm, ev->ts_ns);
    /* The event table is built under protection: it allocates. */
    lua_rawgeti(L, LUA_REGISTRYINDEX, rule->gap_ref);
    lua_pushcfunction(L, push_gap_event);
    lua_pushlightuserdata(L, (void *)ev);
    if (cs_lua_call_at(rs->vm, rs->loggers[index], rule->file, 1, 1,
                       &failure) != CS_OK) {
        lua_pop(L, 1);
        rule_failed(rs, rule, failure);
        return false;
    }
    if (cs_lua_call_at(rs->vm, rs->loggers[index], rule->file, 1, 2,
                       &failure) != CS_OK) {
        rule_failed(rs, rule, failure);
        return false;
    }
    fire = lua_type(L, -2) == LUA_TBOOLEAN && lua_toboolean(L, -2);
    if (lua_type(L, -1) == LUA_TSTRING) {
        snprintf(rs->message, sizeof rs->message, "%s", lua_tostring(L, -1));
        *message = rs->message;
    }
    lua_pop(L, 2);
    return fire;
}

void cs_ruleset_stats(const struct cs_ruleset *rs,
                      struct cs_ruleset_stats *out)
{
    const struct cs_vm_counters *c = cs_vm_counters(rs->vm);
    out->lua_calls = c->calls;
    out->runtime_errors = c->runtime_errors;
    out->memory_limit_hits = c->memory_limit_hits;
    out->instruction_limit_hits = c->instruction_limit_hits;
    out->lua_memory_bytes = cs_vm_memory_used(rs->vm);
}

const char *cs_rules_lua_release(void)
{
    return LUA_RELEASE;
}
