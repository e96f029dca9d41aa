/* config.lua: run it in the sandbox, copy what it returns into a plain C
 * struct cs_config, validate every key (file:line: key: message), keep no
 * Lua state. */
#include "cryptosup/config.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cryptosup/timeutil.h"
#include "lua/config_alerts.h"
#include "lua/luaread.h"
#include "lua/sandbox.h"
#include "util/fileutil.h"

#define LOG_CONFIG "config.load"
#define CONFIG_MAX_BYTES (4u << 20)

const char *cs_config_data_dir(void)
{
    const char *dir = getenv("CRYPTOSUP_DATA_DIR");
    return dir && dir[0] ? dir : CS_DATA_DIR;
}

void cs_config_compose_raw(const struct cs_venue_ops *venue, const char *base,
                           const char *quote, char *buf, size_t size)
{
    if (venue->compose_symbol) {
        venue->compose_symbol(base, quote, buf, size);
        return;
    }
    /* Coinbase spells BASE-QUOTE; Binance concatenates. */
    if (strcmp(venue->name, "coinbase") == 0) {
        snprintf(buf, size, "%s-%s", base, quote);
    } else {
        snprintf(buf, size, "%s%s", base, quote);
    }
}

const char *cs_config_rest_url(const struct cs_config_exchange *x)
{
    if (x->rest_url) {
        return x->rest_url;
    }
    if (x->url || x->venue->wire == NULL) {
        return NULL;
    }
    return x->venue->wire->rest_url;
}

struct cs_config *cs_config_ref(const struct cs_config *cfg)
{
    struct cs_config *shared = (struct cs_config *)cfg;
    atomic_fetch_add_explicit(&shared->refs, 1, memory_order_relaxed);
    return shared;
}

void cs_config_free(struct cs_config *cfg)
{
    if (cfg == NULL ||
        atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel) > 1) {
        return;
    }
    for (size_t i = 0; i < cfg->nexchanges; i++) {
        struct cs_config_exchange *x = &cfg->exchanges[i];
        for (size_t s = 0; s < x->nsymbols; s++) {
            free(x->symbols[s].symbol);
            free(x->symbols[s].raw);
        }
        free(x->symbols);
        free(x->name);
        free(x->url);
        free(x->rest_url);
        cs_luaread_free_strings(x->channels, x->nchannels);
    }
    free(cfg->connect.ca_file);
    free(cfg->metrics.listen);
    free(cfg->storage.postgres);
    free(cfg->storage.postgres_env);
    free(cfg->storage.spill_dir);
    cs_config_alerts_release(&cfg->alerts);
    free(cfg->exchanges);
    cs_luaread_free_strings(cfg->rule_files, cfg->nrule_files);
    free(cfg->windows_s);
    free(cfg->rules_dir);
    free(cfg->lua_dir);
    free(cfg->path);
    free(cfg);
}

static struct cs_config *config_defaults(void)
{
    struct cs_config *cfg = cs_xcalloc(1, sizeof *cfg);
    struct cs_vm_limits limits;
    atomic_init(&cfg->refs, 1);
    cs_vm_limits_default(&limits);
    cfg->all_symbols = true;
    cfg->log_level = CS_LOG_INFO;
    cfg->lua_memory_bytes = limits.memory_bytes;
    cfg->lua_instructions = limits.instructions;
    cfg->lua_print_lines = limits.print_lines;
    cfg->rule_failures_to_park = 1;
    cfg->max_instruments = 100000;
    cfg->alert_queue_size = 4096;
    cfg->connect.backoff_initial_ms = 500;
    cfg->connect.backoff_max_ms = 30000;
    cfg->connect.healthy_after_ms = 30000;
    cfg->connect.connect_timeout_ms = 15000;
    cfg->connect.max_frame_bytes = 16u << 20;
    cfg->metrics.listen = cs_xstrdup(CS_CONFIG_METRICS_LISTEN);
    cfg->storage.mode = CS_STORE_EVERY_TICK;
    cfg->storage.interval_ms = 1000;
    cfg->storage.queue_rows = 100000;
    cfg->storage.buffer_rows = 1000000;
    cfg->storage.spill_dir = cs_xstrdup("/var/lib/cryptosup/spill");
    cfg->storage.spill_max_mb = 1024;
    cfg->storage.batch_rows = 5000;
    return cfg;
}

/* The state of one extraction, passed to the protected C function. */
struct extract {
    struct cs_luaread rd;
    struct cs_config *cfg;
    const char *base_dir;          /* config file's directory */
    char **rule_paths;             /* as written, before expansion */
    size_t nrule_paths;
    char *script_error;            /* the script failed (already logged) */
};

static void parse_symbol(struct extract *x, struct cs_config_exchange *xc,
                         const char *path, const char *text)
{
    char base[64], quote[64], raw[128], sym[160];
    const char *slash = strchr(text, '/');
    struct cs_config_symbol *s;
    size_t n = strlen(text);

    if (n == 0 || n >= 48) {
        cs_luaread_error(&x->rd, path, "symbol \"%s\" must be 1 to 47 "
                         "characters", text);
        return;
    }
    if (slash) {
        size_t blen = (size_t)(slash - text);
        if (blen == 0 || blen >= sizeof base || strlen(slash + 1) == 0 ||
            strlen(slash + 1) >= sizeof quote || strchr(slash + 1, '/')) {
            cs_luaread_error(&x->rd, path, "bad symbol \"%s\" (expected "
                             "BASE/QUOTE)", text);
            return;
        }
        for (size_t i = 0; i < blen; i++) {
            base[i] = (char)toupper((unsigned char)text[i]);
        }
        base[blen] = '\0';
        snprintf(quote, sizeof quote, "%s", slash + 1);
        for (char *p = quote; *p; p++) {
            *p = (char)toupper((unsigned char)*p);
        }
        cs_config_compose_raw(xc->venue, base, quote, raw, sizeof raw);
    } else {
        snprintf(raw, sizeof raw, "%s", text);
        for (char *p = raw; *p; p++) {
            *p = (char)toupper((unsigned char)*p);
        }
        if (!xc->venue->split_symbol ||
            !xc->venue->split_symbol(text, n, base, sizeof base, quote,
                                     sizeof quote)) {
            /* Futures and swaps (BTC-USD-SWAP) have no BASE/QUOTE: they are
             * watched under their own name. A bare name that does not
             * split (FOO) is much more likely a typo. */
            if (strpbrk(raw, "-_/:") == NULL) {
                cs_luaread_error(&x->rd, path, "cannot tell base from quote "
                                 "in \"%s\"; write it as BASE/QUOTE", text);
                return;
            }
            snprintf(sym, sizeof sym, "%s", raw);
            goto add;
        }
    }
    snprintf(sym, sizeof sym, "%s/%s", base, quote);
add:
    xc->symbols = cs_xrealloc(xc->symbols,
                              (xc->nsymbols + 1) * sizeof *xc->symbols);
    s = &xc->symbols[xc->nsymbols++];
    s->symbol = cs_xstrdup(sym);
    s->raw = cs_xstrdup(raw);
}

/* Channels must be ones the venue has. */
static void read_channels(struct extract *x, lua_State *L,
                          struct cs_config_exchange *xc, const char *path)
{
    char cpath[160];
    const char *const *known = xc->venue->wire ? xc->venue->wire->all_channels
                                               : NULL;
    if (!cs_luaread_strings(&x->rd, L, -1, path, "channels", &xc->channels,
                            &xc->nchannels)) {
        return;
    }
    snprintf(cpath, sizeof cpath, "%s.channels", path);
    for (size_t i = 0; i < xc->nchannels; i++) {
        bool ok = false;
        for (size_t k = 0; known && known[k]; k++) {
            ok = ok || strcmp(known[k], xc->channels[i]) == 0;
        }
        if (!ok) {
            cs_luaread_error(&x->rd, cpath, "%s has no channel \"%s\"",
                             xc->name, xc->channels[i]);
        }
    }
}

static void read_exchange_wire(struct extract *x, lua_State *L,
                               struct cs_config_exchange *xc,
                               const char *path)
{
    int64_t v;
    cs_luaread_string(&x->rd, L, -1, path, "url", &xc->url);
    if (xc->url && strncmp(xc->url, "ws://", 5) != 0 &&
        strncmp(xc->url, "wss://", 6) != 0) {
        char upath[160];
        snprintf(upath, sizeof upath, "%s.url", path);
        cs_luaread_error(&x->rd, upath, "expected a ws:// or wss:// URL");
    }
    read_channels(x, L, xc, path);
    cs_luaread_integer(&x->rd, L, -1, path, "idle_timeout_ms", 100,
                       3600000, &xc->idle_timeout_ms);
    cs_luaread_integer(&x->rd, L, -1, path, "ping_interval_ms", 100,
                       3600000, &xc->ping_interval_ms);
    cs_luaread_integer(&x->rd, L, -1, path, "max_lifetime_ms", 1000,
                       7 * 86400000LL, &xc->max_lifetime_ms);
    v = 0;
    if (cs_luaread_integer(&x->rd, L, -1, path, "max_symbols_per_conn", 1,
                           1024, &v) && v > 0) {
        xc->max_symbols_per_conn = (unsigned)v;
    }
}

/* REST keys: rest_url, transport, poll_interval_ms, warmup,
 * warmup_minutes. Polling without `transport` means "both"; "rest" and
 * "both" poll every second unless told otherwise. */
static void read_exchange_rest(struct extract *x, lua_State *L,
                               struct cs_config_exchange *xc,
                               const char *path)
{
    char key[160];
    char *transport = NULL;
    size_t n;

    xc->warmup = true;
    xc->warmup_minutes = 1500;
    cs_luaread_string(&x->rd, L, -1, path, "rest_url", &xc->rest_url);
    if (xc->rest_url) {
        if (strncmp(xc->rest_url, "http://", 7) != 0 &&
            strncmp(xc->rest_url, "https://", 8) != 0) {
            snprintf(key, sizeof key, "%s.rest_url", path);
            cs_luaread_error(&x->rd, key, "expected an http:// or https:// "
                             "URL");
        }
        n = strlen(xc->rest_url);
        while (n > 0 && xc->rest_url[n - 1] == '/') {
            xc->rest_url[--n] = '\0';
        }
    }
    cs_luaread_integer(&x->rd, L, -1, path, "poll_interval_ms", 100,
                       3600000, &xc->poll_interval_ms);
    cs_luaread_boolean(&x->rd, L, -1, path, "warmup", &xc->warmup);
    cs_luaread_integer(&x->rd, L, -1, path, "warmup_minutes", 1,
                       7 * 1440, &xc->warmup_minutes);
    xc->transport = xc->poll_interval_ms > 0 ? CS_TRANSPORT_BOTH
                                             : CS_TRANSPORT_WS;
    if (cs_luaread_string(&x->rd, L, -1, path, "transport", &transport) &&
        transport) {
        snprintf(key, sizeof key, "%s.transport", path);
        if (strcmp(transport, "ws") == 0) {
            xc->transport = CS_TRANSPORT_WS;
            if (xc->poll_interval_ms > 0) {
                cs_luaread_error(&x->rd, key, "\"ws\" does not poll; use "
                                 "\"both\" or drop poll_interval_ms");
            }
        } else if (strcmp(transport, "rest") == 0) {
            xc->transport = CS_TRANSPORT_REST;
        } else if (strcmp(transport, "both") == 0) {
            xc->transport = CS_TRANSPORT_BOTH;
        } else {
            cs_luaread_error(&x->rd, key, "expected \"ws\", \"rest\" or "
                             "\"both\", got \"%s\"", transport);
        }
    }
    free(transport);
    if (xc->transport != CS_TRANSPORT_WS && xc->poll_interval_ms == 0) {
        xc->poll_interval_ms = 1000;
    }
    if (xc->transport != CS_TRANSPORT_WS && xc->url && !xc->rest_url) {
        snprintf(key, sizeof key, "%s.rest_url", path);
        cs_luaread_error(&x->rd, key, "needed to poll when url is set (the "
                         "venue's public REST would not match that stream)");
    }
}

static void read_exchange(struct extract *x, lua_State *L, const char *name)
{
    static const char *const keys[] = {
        "symbols", "url", "channels", "idle_timeout_ms", "ping_interval_ms",
        "max_lifetime_ms", "max_symbols_per_conn", "rest_url",
        "poll_interval_ms", "transport", "warmup", "warmup_minutes", NULL
    };
    struct cs_config *cfg = x->cfg;
    const struct cs_venue_ops *venue = cs_venue_find(name);
    struct cs_config_exchange *xc;
    char path[128];
    char **symbols = NULL;
    size_t nsymbols = 0;

    snprintf(path, sizeof path, "exchanges.%s", name);
    if (venue == NULL) {
        char known[128] = "";
        const struct cs_venue_ops *const *all = cs_venue_all();
        for (size_t i = 0; all[i]; i++) {
            size_t n = strlen(known);
            snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "",
                     all[i]->name);
        }
        cs_luaread_error(&x->rd, path, "unknown exchange (known: %s)", known);
        return;
    }
    if (lua_type(L, -1) != LUA_TTABLE) {
        cs_luaread_error(&x->rd, path, "expected a table, got %s",
                         luaL_typename(L, -1));
        return;
    }
    cs_luaread_check_keys(&x->rd, L, -1, path, keys);
    cfg->exchanges = cs_xrealloc(cfg->exchanges, (cfg->nexchanges + 1) *
                                 sizeof *cfg->exchanges);
    xc = &cfg->exchanges[cfg->nexchanges++];
    memset(xc, 0, sizeof *xc);
    xc->name = cs_xstrdup(name);
    xc->venue = venue;
    read_exchange_wire(x, L, xc, path);
    read_exchange_rest(x, L, xc, path);
    if (cs_luaread_strings(&x->rd, L, -1, path, "symbols", &symbols,
                           &nsymbols)) {
        char spath[160];
        snprintf(spath, sizeof spath, "%s.symbols", path);
        for (size_t i = 0; i < nsymbols; i++) {
            parse_symbol(x, xc, spath, symbols[i]);
        }
    }
    cs_luaread_free_strings(symbols, nsymbols);
}

static void read_connect(struct extract *x, lua_State *L, int idx)
{
    static const char *const keys[] = {
        "ca_file", "backoff_initial_ms", "backoff_max_ms", "healthy_after_ms",
        "connect_timeout_ms", "max_frame_kb", NULL
    };
    struct cs_config_connect *c = &x->cfg->connect;
    char *ca = NULL;
    int64_t kb = (int64_t)(c->max_frame_bytes >> 10);

    if (cs_lua_get_table_field(L, idx, "connect") != CS_FIELD_OK) {
        if (cs_luaread_field(L, idx, "connect") != LUA_TNIL) {
            cs_luaread_error(&x->rd, "connect", "expected a table");
        }
        lua_pop(L, 1);
        return;
    }
    cs_luaread_check_keys(&x->rd, L, -1, "connect", keys);
    if (cs_luaread_string(&x->rd, L, -1, "connect", "ca_file", &ca) && ca) {
        free(c->ca_file);
        c->ca_file = cs_path_join(x->base_dir, ca);
    }
    free(ca);
    cs_luaread_integer(&x->rd, L, -1, "connect", "backoff_initial_ms", 10,
                       600000, &c->backoff_initial_ms);
    cs_luaread_integer(&x->rd, L, -1, "connect", "backoff_max_ms", 10,
                       3600000, &c->backoff_max_ms);
    cs_luaread_integer(&x->rd, L, -1, "connect", "healthy_after_ms", 0,
                       3600000, &c->healthy_after_ms);
    cs_luaread_integer(&x->rd, L, -1, "connect", "connect_timeout_ms", 100,
                       600000, &c->connect_timeout_ms);
    if (cs_luaread_integer(&x->rd, L, -1, "connect", "max_frame_kb", 1,
                           1 << 20, &kb)) {
        c->max_frame_bytes = (size_t)kb << 10;
    }
    if (c->backoff_max_ms < c->backoff_initial_ms) {
        cs_luaread_error(&x->rd, "connect.backoff_max_ms", "must not be "
                         "below backoff_initial_ms");
    }
    lua_pop(L, 1);
}

static void read_storage(struct extract *x, lua_State *L, int idx)
{
    static const char *const keys[] = {
        "postgres", "postgres_env", "mode", "interval_ms", "queue_rows",
        "buffer_rows", "spill_dir", "spill_max_mb", "batch_rows", NULL
    };
    struct cs_config_storage *c = &x->cfg->storage;
    char *mode = NULL, *dir = NULL;
    int64_t queue = (int64_t)c->queue_rows, buffer = (int64_t)c->buffer_rows;
    int64_t batch = (int64_t)c->batch_rows;

    if (cs_lua_get_table_field(L, idx, "storage") != CS_FIELD_OK) {
        if (cs_luaread_field(L, idx, "storage") != LUA_TNIL) {
            cs_luaread_error(&x->rd, "storage", "expected a table");
        }
        lua_pop(L, 1);
        return;
    }
    cs_luaread_check_keys(&x->rd, L, -1, "storage", keys);
    cs_luaread_string(&x->rd, L, -1, "storage", "postgres", &c->postgres);
    cs_luaread_string(&x->rd, L, -1, "storage", "postgres_env",
                      &c->postgres_env);
    if (c->postgres && c->postgres_env) {
        cs_luaread_error(&x->rd, "storage.postgres_env", "set postgres or "
                         "postgres_env, not both");
    }
    if ((c->postgres && c->postgres[0] == '\0') ||
        (c->postgres_env && c->postgres_env[0] == '\0')) {
        cs_luaread_error(&x->rd, c->postgres ? "storage.postgres"
                         : "storage.postgres_env", "must not be empty");
    }
    c->enabled = c->postgres != NULL || c->postgres_env != NULL;
    if (cs_luaread_string(&x->rd, L, -1, "storage", "mode", &mode) && mode) {
        if (strcmp(mode, "every_tick") == 0) {
            c->mode = CS_STORE_EVERY_TICK;
        } else if (strcmp(mode, "interval") == 0) {
            c->mode = CS_STORE_INTERVAL;
        } else {
            cs_luaread_error(&x->rd, "storage.mode", "expected "
                             "\"every_tick\" or \"interval\", got \"%s\"",
                             mode);
        }
    }
    free(mode);
    cs_luaread_integer(&x->rd, L, -1, "storage", "interval_ms", 10,
                       86400000, &c->interval_ms);
    if (cs_luaread_integer(&x->rd, L, -1, "storage", "queue_rows", 16,
                           10000000, &queue)) {
        c->queue_rows = (size_t)queue;
    }
    if (cs_luaread_integer(&x->rd, L, -1, "storage", "buffer_rows", 0,
                           100000000, &buffer)) {
        c->buffer_rows = (size_t)buffer;
    }
    if (cs_luaread_integer(&x->rd, L, -1, "storage", "batch_rows", 1,
                           1000000, &batch)) {
        c->batch_rows = (size_t)batch;
    }
    cs_luaread_integer(&x->rd, L, -1, "storage", "spill_max_mb", 0,
                       1048576, &c->spill_max_mb);
    if (cs_luaread_string(&x->rd, L, -1, "storage", "spill_dir", &dir) &&
        dir) {
        if (dir[0] == '\0') {
            cs_luaread_error(&x->rd, "storage.spill_dir", "must not be "
                             "empty");
        } else {
            free(c->spill_dir);
            c->spill_dir = cs_path_join(x->base_dir, dir);
        }
    }
    free(dir);
    lua_pop(L, 1);
}

bool cs_config_parse_listen(const char *text, char *host, size_t host_size,
                            int *port)
{
    const char *colon = strrchr(text, ':');
    const char *h = text;
    size_t hlen;
    char *end;
    long p;

    if (colon == NULL || colon[1] == '\0') {
        return false;
    }
    hlen = (size_t)(colon - text);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    } else if (memchr(h, ':', hlen) != NULL) {
        return false;   /* an IPv6 address needs brackets */
    }
    for (const char *c = colon + 1; *c; c++) {
        if (!isdigit((unsigned char)*c)) {
            return false;
        }
    }
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535 || hlen >= host_size) {
        return false;
    }
    for (size_t i = 0; i < hlen; i++) {
        if (isspace((unsigned char)h[i]) || h[i] == '/') {
            return false;
        }
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return true;
}

static void read_metrics(struct extract *x, lua_State *L, int idx)
{
    static const char *const keys[] = { "listen", NULL };
    char *listen = NULL;
    char host[256];
    int port;

    if (cs_lua_get_table_field(L, idx, "metrics") != CS_FIELD_OK) {
        if (cs_luaread_field(L, idx, "metrics") != LUA_TNIL) {
            cs_luaread_error(&x->rd, "metrics", "expected a table");
        }
        lua_pop(L, 1);
        return;
    }
    cs_luaread_check_keys(&x->rd, L, -1, "metrics", keys);
    if (cs_luaread_string(&x->rd, L, -1, "metrics", "listen", &listen) &&
        listen) {
        if (!cs_config_parse_listen(listen, host, sizeof host, &port)) {
            cs_luaread_error(&x->rd, "metrics.listen", "expected \"host:port"
                             "\" or \":port\" (port 0-65535), got \"%s\"",
                             listen);
        } else {
            free(x->cfg->metrics.listen);
            x->cfg->metrics.listen = listen;
            listen = NULL;
        }
    }
    free(listen);
    lua_pop(L, 1);
}

static void read_exchanges(struct extract *x, lua_State *L, int idx)
{
    int type = cs_luaread_field(L, idx, "exchanges");
    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (type != LUA_TTABLE) {
        cs_luaread_error(&x->rd, "exchanges", "expected a table keyed by "
                         "exchange name, got %s", lua_typename(L, type));
        lua_pop(L, 1);
        return;
    }
    x->cfg->all_symbols = false;
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            cs_luaread_error(&x->rd, "exchanges", "keys must be exchange "
                             "names");
        } else {
            read_exchange(x, L, lua_tostring(L, -2));
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void read_windows(struct extract *x, lua_State *L, int idx)
{
    char **list = NULL;
    size_t n = 0;
    struct cs_config *cfg = x->cfg;

    if (!cs_luaread_strings(&x->rd, L, idx, "", "windows", &list, &n)) {
        return;
    }
    cfg->windows_s = cs_xcalloc(n ? n : 1, sizeof *cfg->windows_s);
    for (size_t i = 0; i < n; i++) {
        int64_t secs;
        if (!cs_duration_parse(list[i], &secs) || secs > 366LL * 86400) {
            cs_luaread_error(&x->rd, "windows", "bad duration \"%s\"",
                             list[i]);
            continue;
        }
        cfg->windows_s[cfg->nwindows++] = secs;
    }
    cs_luaread_free_strings(list, n);
}

static void read_limits(struct extract *x, lua_State *L, int idx)
{
    static const char *const keys[] = {
        "lua_memory_mb", "lua_instructions", "lua_print_lines",
        "rule_failures_before_park", "max_instruments", "alert_queue_size",
        NULL
    };
    struct cs_config *cfg = x->cfg;
    int64_t v;
    int type = cs_luaread_field(L, idx, "limits");

    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (type != LUA_TTABLE) {
        cs_luaread_error(&x->rd, "limits", "expected a table, got %s",
                         lua_typename(L, type));
        lua_pop(L, 1);
        return;
    }
    cs_luaread_check_keys(&x->rd, L, -1, "limits", keys);
    v = (int64_t)(cfg->lua_memory_bytes >> 20);
    if (cs_luaread_integer(&x->rd, L, -1, "limits", "lua_memory_mb", 1, 4096,
                           &v)) {
        cfg->lua_memory_bytes = (size_t)v << 20;
    }
    v = (int64_t)cfg->lua_instructions;
    if (cs_luaread_integer(&x->rd, L, -1, "limits", "lua_instructions", 1000,
                           1000000000, &v)) {
        cfg->lua_instructions = (uint64_t)v;
    }
    v = cfg->lua_print_lines;
    if (cs_luaread_integer(&x->rd, L, -1, "limits", "lua_print_lines", 0,
                           10000, &v)) {
        cfg->lua_print_lines = (unsigned)v;
    }
    v = cfg->rule_failures_to_park;
    if (cs_luaread_integer(&x->rd, L, -1, "limits",
                           "rule_failures_before_park", 1, 1000000, &v)) {
        cfg->rule_failures_to_park = (unsigned)v;
    }
    v = (int64_t)cfg->max_instruments;
    if (cs_luaread_integer(&x->rd, L, -1, "limits", "max_instruments", 1,
                           10000000, &v)) {
        cfg->max_instruments = (size_t)v;
    }
    v = (int64_t)cfg->alert_queue_size;
    if (cs_luaread_integer(&x->rd, L, -1, "limits", "alert_queue_size", 1,
                           1000000, &v)) {
        cfg->alert_queue_size = (size_t)v;
    }
    lua_pop(L, 1);
}

/* Everything config.lua may say; the table on top of the stack. */
static int extract_config(lua_State *L)
{
    static const char *const keys[] = {
        "log_level", "rules", "lua_path", "windows", "exchanges", "limits",
        "connect", "metrics", "storage", "alerts", NULL
    };
    struct extract *x = lua_touserdata(L, 1);
    char *level = NULL, *lua_path = NULL;

    if (lua_type(L, 2) != LUA_TTABLE) {
        cs_luaread_error(&x->rd, "config", "config.lua must return a table, "
                         "got %s", luaL_typename(L, 2));
        return 0;
    }
    cs_luaread_check_keys(&x->rd, L, 2, "", keys);
    if (cs_luaread_string(&x->rd, L, 2, "", "log_level", &level) && level &&
        !cs_log_parse_level(level, &x->cfg->log_level)) {
        cs_luaread_error(&x->rd, "log_level", "expected \"debug\", \"info\","
                         " \"warn\" or \"error\", got \"%s\"", level);
    }
    free(level);
    if (cs_luaread_string(&x->rd, L, 2, "", "lua_path", &lua_path) &&
        lua_path) {
        free(x->cfg->lua_dir);
        x->cfg->lua_dir = cs_path_join(x->base_dir, lua_path);
    }
    free(lua_path);
    cs_luaread_strings(&x->rd, L, 2, "", "rules", &x->rule_paths,
                       &x->nrule_paths);
    read_windows(x, L, 2);
    read_exchanges(x, L, 2);
    read_limits(x, L, 2);
    read_connect(x, L, 2);
    read_metrics(x, L, 2);
    read_storage(x, L, 2);
    cs_config_alerts_read(&x->rd, L, 2, x->base_dir, &x->cfg->alerts);
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Expand rule paths (files or directories of *.lua) into sorted files. */
static void expand_rules(struct extract *x, struct cs_config *cfg,
                         char **paths, size_t npaths)
{
    for (size_t i = 0; i < npaths; i++) {
        char *full = cs_path_join(x->base_dir, paths[i]);
        char **files = NULL;
        size_t nfiles = 0;
        if (cs_list_lua_files(full, &files, &nfiles) != CS_OK) {
            cs_luaread_error(&x->rd, "rules", "cannot read \"%s\"", paths[i]);
            free(full);
            continue;
        }
        cfg->rule_files = cs_xrealloc(cfg->rule_files,
                                      (cfg->nrule_files + nfiles + 1) *
                                      sizeof *cfg->rule_files);
        for (size_t f = 0; f < nfiles; f++) {
            cfg->rule_files[cfg->nrule_files++] = files[f];
        }
        free(files);
        if (i == 0) {
            free(cfg->rules_dir);
            cfg->rules_dir = full;
        } else {
            free(full);
        }
    }
    if (cfg->nrule_files > 1) {
        qsort(cfg->rule_files, cfg->nrule_files, sizeof *cfg->rule_files,
              compare_strings);
    }
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void finish_defaults(struct extract *x, struct cs_config *cfg)
{
    const char *data = cs_config_data_dir();
    if (x->nrule_paths == 0) {
        char *dir = cs_path_join(data, "rules");
        char *list[1] = { dir };
        struct extract plain = *x;
        plain.base_dir = "";
        expand_rules(&plain, cfg, list, 1);
        x->rd = plain.rd;
        free(dir);
    } else {
        expand_rules(x, cfg, x->rule_paths, x->nrule_paths);
    }
    if (cfg->lua_dir == NULL) {
        cfg->lua_dir = cs_path_join(data, "lua");
    }
    if (cfg->nwindows > 1) {
        qsort(cfg->windows_s, cfg->nwindows, sizeof *cfg->windows_s,
              compare_i64);
    }
}

static enum cs_err run_config_script(struct extract *x, const char *path)
{
    struct cs_vm_limits limits;
    struct cs_vm *vm = NULL;
    char *src = NULL;
    size_t len = 0;
    char errbuf[512];
    char chunk[PATH_MAX + 2];
    enum cs_err err;
    lua_State *L;

    err = cs_read_file(path, CONFIG_MAX_BYTES, &src, &len);
    if (err != CS_OK) {
        cs_luaread_error(&x->rd, "config", "cannot read the file (%s)",
                         cs_strerror(err));
        return err;
    }
    x->rd.src = src;
    x->rd.src_len = len;
    cs_vm_limits_default(&limits);
    vm = cs_vm_new(&limits, NULL);
    if (vm == NULL) {
        free(src);
        x->rd.src = NULL;
        return CS_ERR_NOMEM;
    }
    L = cs_vm_lua(vm);
    snprintf(chunk, sizeof chunk, "@%s", path);
    err = cs_vm_run_script(vm, chunk, src, len, "config", errbuf,
                           sizeof errbuf);
    if (err != CS_OK) {
        /* Already logged by the sandbox, with file:line. */
        x->script_error = cs_xstrdup(errbuf);
        x->rd.nerrors++;
    } else {
        /* Stack: result, env. Extract under protection so a Lua memory
         * error while reading cannot escape. */
        lua_pop(L, 1);
        lua_pushcfunction(L, extract_config);
        lua_insert(L, -2);
        lua_pushlightuserdata(L, x);
        lua_insert(L, -2);
        err = cs_lua_call(vm, "config", 2, 0, NULL);
    }
    cs_vm_free(vm);
    free(src);
    x->rd.src = NULL;
    return err;
}

enum cs_err cs_config_load(const char *path, struct cs_config **out,
                           char **errors)
{
    struct extract x;
    struct cs_config *cfg = config_defaults();
    char *dir = NULL;
    char *errtext;

    memset(&x, 0, sizeof x);
    cs_luaread_init(&x.rd, path ? path : "(defaults)", NULL, 0);
    x.cfg = cfg;
    if (path) {
        cfg->path = cs_xstrdup(path);
        dir = cs_path_dirname(path);
        x.base_dir = dir;
        run_config_script(&x, path);
    } else {
        x.base_dir = "";
    }
    if (x.rd.nerrors == 0) {
        finish_defaults(&x, cfg);
    }
    if (x.rd.nerrors == 0 && cfg->nrule_files == 0) {
        cs_log_warn(LOG_CONFIG, "%s: no rule files found; no alerts will "
                    "fire", path ? path : "defaults");
    }
    cs_luaread_free_strings(x.rule_paths, x.nrule_paths);
    free(dir);
    errtext = cs_luaread_take_errors(&x.rd, LOG_CONFIG);
    if (x.script_error) {
        size_t n = strlen(x.script_error), have = errtext ? strlen(errtext) : 0;
        errtext = cs_xrealloc(errtext, have + n + 2);
        memcpy(errtext + have, x.script_error, n);
        errtext[have + n] = '\n';
        errtext[have + n + 1] = '\0';
        free(x.script_error);
    }
    if (errtext) {
        if (errors) {
            *errors = errtext;
        } else {
            free(errtext);
        }
        cs_config_free(cfg);
        return CS_ERR_INVAL;
    }
    *out = cfg;
    return CS_OK;
}
