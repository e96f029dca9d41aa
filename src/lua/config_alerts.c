/* alerts = { email = ..., webhooks = { ... }, alertmanager = { ... } }:
 * every key validated with file:line, defaults applied, nothing trusted
 * that could reach a header or a URL. */
#include "lua/config_alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/log.h"
#include "lua/sandbox.h"
#include "util/fileutil.h"

#define EMAIL_SUBJECT_DEFAULT "[cryptosup] {symbol} {change_pct} over {window}"
#define EMAIL_BODY_DEFAULT \
    "{severity}: {rule} on {exchange} {symbol}\n" \
    "change {change_pct} over {window}\n" \
    "price {price} (reference {reference})\n" \
    "time {time}\n" \
    "{message}\n"
#define CHAT_TITLE_DEFAULT "cryptosup: {count} alert(s)"
#define CHAT_TEXT_DEFAULT \
    "{status} {severity} {rule}: {exchange} {symbol} {change_pct} over " \
    "{window}, price {price} {message}"
#define AM_SUMMARY_DEFAULT "{symbol} {change_pct} over {window} on {exchange}"
#define AM_DESCRIPTION_DEFAULT \
    "{rule}: {symbol} on {exchange} moved {change_pct} over {window}; " \
    "price {price}, reference {reference}. {message}"
#define TELEGRAM_API_DEFAULT "https://api.telegram.org"
#define ROUTES_MAX 32

/* ---- validation helpers ---- */

/* Printable ASCII without CR, LF or other controls (header-safe). */
static bool header_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f) {
            return false;
        }
    }
    return true;
}

/* UTF-8 text without control bytes (label values, chat ids). */
static bool text_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

/* An RFC 7230 token (header names). */
static bool http_token(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", *p)) {
            return false;
        }
    }
    return true;
}

/* A Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*, not reserved "__". */
static bool label_name(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          *s == '_') || strncmp(s, "__", 2) == 0) {
        return false;
    }
    for (const char *p = s + 1; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_')) {
            return false;
        }
    }
    return true;
}

/* A bare address: local@domain, no spaces, brackets or controls. */
static bool plain_address(const char *s)
{
    const char *at = strchr(s, '@');
    if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@')) {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr("<>,;\"()[]\\", *p)) {
            return false;
        }
    }
    return true;
}

/* "Name <addr>" or "addr": the address, or NULL when malformed. */
static char *from_address(const char *from)
{
    const char *lt = strrchr(from, '<');
    char *addr;
    if (lt == NULL) {
        return plain_address(from) ? cs_xstrdup(from) : NULL;
    }
    const char *gt = strchr(lt, '>');
    if (gt == NULL || gt[1] != '\0') {
        return NULL;
    }
    addr = cs_xstrndup(lt + 1, (size_t)(gt - lt - 1));
    if (!plain_address(addr)) {
        free(addr);
        return NULL;
    }
    return addr;
}

static bool local_host_url(const char *url)
{
    static const char *const ok[] = {
        "smtp://127.0.0.1", "smtp://localhost", "smtp://[::1]", NULL
    };
    for (size_t i = 0; ok[i]; i++) {
        size_t n = strlen(ok[i]);
        if (strncmp(url, ok[i], n) == 0 &&
            (url[n] == '\0' || url[n] == ':' || url[n] == '/')) {
            return true;
        }
    }
    return false;
}

/* http(s)://host..., printable ASCII, no spaces. */
static bool http_url(const char *url)
{
    size_t scheme = strncmp(url, "http://", 7) == 0    ? 7
                    : strncmp(url, "https://", 8) == 0 ? 8 : 0;
    return scheme > 0 && url[scheme] != '\0' && url[scheme] != '/' &&
           header_safe(url) && strchr(url, ' ') == NULL;
}

static void env_name_check(struct cs_luaread *rd, const char *path,
                           const char *v)
{
    if (v && (v[0] == '\0' || !http_token(v))) {
        cs_luaread_error(rd, path, "expected an environment variable name");
    }
}

/* The table at -1 is a list (t[1] is set)? */
static bool is_list(lua_State *L)
{
    return cs_lua_array_len(L, -1) > 0;
}

/* ---- shared pieces ---- */

static void route_defaults(struct cs_config_route *r, int64_t group_s,
                           int64_t per_hour, int64_t retry_initial_ms,
                           int64_t timeout_ms)
{
    memset(r, 0, sizeof *r);
    r->group_window_s = group_s;
    r->max_per_hour = per_hour;
    r->retry_initial_ms = retry_initial_ms;
    r->retry_max_ms = 300000;
    r->retry_attempts = 10;
    r->timeout_ms = timeout_ms;
    r->drain_timeout_ms = 10000;
}

static void read_retry(struct cs_luaread *rd, lua_State *L, const char *P,
                       int64_t *initial, int64_t *max, int64_t *attempts,
                       int64_t *timeout, int64_t *drain)
{
    char path[160];
    cs_luaread_integer(rd, L, -1, P, "retry_initial_ms", 10, 3600000,
                       initial);
    cs_luaread_integer(rd, L, -1, P, "retry_max_ms", 10, 3600000, max);
    cs_luaread_integer(rd, L, -1, P, "retry_attempts", 1, 100, attempts);
    cs_luaread_integer(rd, L, -1, P, "timeout_ms", 100, 600000, timeout);
    cs_luaread_integer(rd, L, -1, P, "drain_timeout_ms", 0, 600000, drain);
    if (*max < *initial) {
        snprintf(path, sizeof path, "%s.retry_max_ms", P);
        cs_luaread_error(rd, path, "must not be below retry_initial_ms");
    }
}

static void read_route(struct cs_luaread *rd, lua_State *L, const char *P,
                       struct cs_config_route *r)
{
    cs_luaread_integer(rd, L, -1, P, "group_window_s", 0, 86400,
                       &r->group_window_s);
    cs_luaread_integer(rd, L, -1, P, "max_per_hour", 1, 100000,
                       &r->max_per_hour);
    cs_luaread_boolean(rd, L, -1, P, "send_resolved", &r->send_resolved);
    cs_luaread_strings(rd, L, -1, P, "rules", &r->rules, &r->nrules);
    cs_luaread_strings(rd, L, -1, P, "severities", &r->severities,
                       &r->nseverities);
    read_retry(rd, L, P, &r->retry_initial_ms, &r->retry_max_ms,
               &r->retry_attempts, &r->timeout_ms, &r->drain_timeout_ms);
}

static void free_route(struct cs_config_route *r)
{
    cs_luaread_free_strings(r->rules, r->nrules);
    cs_luaread_free_strings(r->severities, r->nseverities);
}

static void read_file_name(struct cs_luaread *rd, lua_State *L,
                           const char *P, const char *key,
                           const char *base_dir, char **out)
{
    char *v = NULL;
    if (cs_luaread_string(rd, L, -1, P, key, &v) && v) {
        *out = cs_path_join(base_dir, v);
    }
    free(v);
}

/* headers = { Name = "value", Other = { env = "VAR" } } (or labels, with
 * label_names set: no env form, Prometheus label names). */
static void read_pairs(struct cs_luaread *rd, lua_State *L, const char *P,
                       const char *key, bool label_names,
                       struct cs_config_header **out, size_t *n)
{
    char path[160];
    int type = cs_luaread_field(L, -1, key);

    snprintf(path, sizeof path, "%s.%s", P, key);
    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (type != LUA_TTABLE) {
        cs_luaread_error(rd, path, "expected a table of name = value");
        lua_pop(L, 1);
        return;
    }
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        struct cs_config_header h = { 0 };
        const char *name = lua_type(L, -2) == LUA_TSTRING
                               ? lua_tostring(L, -2) : NULL;
        if (name == NULL || !(label_names ? label_name(name)
                                          : http_token(name))) {
            cs_luaread_error(rd, path, "\"%s\" is not a valid %s name",
                             name ? name : "?",
                             label_names ? "label" : "header");
            lua_pop(L, 1);
            continue;
        }
        if (lua_type(L, -1) == LUA_TSTRING) {
            h.value = cs_xstrdup(lua_tostring(L, -1));
            if (label_names ? !text_safe(h.value) : !header_safe(h.value)) {
                cs_luaread_error(rd, path, "%s: value has control or "
                                 "non-ASCII bytes", name);
            }
        } else if (!label_names && lua_type(L, -1) == LUA_TTABLE &&
                   cs_luaread_field(L, -1, "env") == LUA_TSTRING) {
            h.value_env = cs_xstrdup(lua_tostring(L, -1));
            lua_pop(L, 1);
            env_name_check(rd, path, h.value_env);
        } else {
            if (!label_names && lua_type(L, -1) == LUA_TTABLE) {
                lua_pop(L, 1);
            }
            cs_luaread_error(rd, path, "%s: expected a string%s", name,
                             label_names ? "" : " or { env = \"VAR\" }");
            lua_pop(L, 1);
            free(h.value);
            continue;
        }
        h.name = cs_xstrdup(name);
        *out = cs_xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = h;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void free_pairs(struct cs_config_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
        free(h[i].value_env);
    }
    free(h);
}

/* Each element of t[key] (a table, or a list of tables) in turn, on top of
 * the stack, with its path ("alerts.webhooks[2]"). */
typedef void (*read_one_fn)(struct cs_luaread *rd, lua_State *L,
                            const char *path, size_t index, size_t count,
                            const char *base_dir, void *out);

static void read_each(struct cs_luaread *rd, lua_State *L, const char *key,
                      bool list_only, read_one_fn fn, const char *base_dir,
                      void *out)
{
    char path[96];
    int type = cs_luaread_field(L, -1, key);
    size_t n;

    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    snprintf(path, sizeof path, "alerts.%s", key);
    if (type != LUA_TTABLE || (list_only && !is_list(L))) {
        cs_luaread_error(rd, path, list_only ? "expected a list of tables"
                                             : "expected a table or a list "
                                               "of tables");
        lua_pop(L, 1);
        return;
    }
    if (!is_list(L)) {
        fn(rd, L, path, 0, 1, base_dir, out);
        lua_pop(L, 1);
        return;
    }
    n = cs_lua_array_len(L, -1);
    if (n > ROUTES_MAX) {
        cs_luaread_error(rd, path, "at most %d entries", ROUTES_MAX);
        n = ROUTES_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        char item[160];
        snprintf(item, sizeof item, "%s[%zu]", path, i + 1);
        lua_rawgeti(L, -1, (lua_Integer)(i + 1));
        if (lua_type(L, -1) != LUA_TTABLE) {
            cs_luaread_error(rd, item, "expected a table");
        } else {
            fn(rd, L, item, i, n, base_dir, out);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* The route's name: "<kind>" alone, "<kind>:<name>" when named, or
 * "<kind>:<n>" in a list without names. */
static char *route_name(struct cs_luaread *rd, lua_State *L,
                        const char *path, const char *kind, size_t index,
                        size_t count)
{
    char *name = NULL, buf[128];
    cs_luaread_string(rd, L, -1, path, "name", &name);
    if (name && (name[0] == '\0' || strlen(name) > 48 || !http_token(name))) {
        char p[160];
        snprintf(p, sizeof p, "%s.name", path);
        cs_luaread_error(rd, p, "expected 1-48 characters without spaces "
                         "or separators");
    }
    if (name) {
        snprintf(buf, sizeof buf, "%s:%s", kind, name);
    } else if (count > 1) {
        snprintf(buf, sizeof buf, "%s:%zu", kind, index + 1);
    } else {
        snprintf(buf, sizeof buf, "%s", kind);
    }
    free(name);
    return cs_xstrdup(buf);
}

/* ---- email ---- */

static void read_email(struct cs_luaread *rd, lua_State *L, const char *P,
                       size_t index, size_t count, const char *base_dir,
                       void *out)
{
    static const char *const keys[] = {
        "name", "url", "starttls", "ca_file", "username", "password_env",
        "from", "to", "subject", "body", "group_window_s", "max_per_hour",
        "send_resolved", "rules", "severities", "retry_initial_ms",
        "retry_max_ms", "retry_attempts", "timeout_ms", "drain_timeout_ms",
        NULL
    };
    struct cs_config_alerts *a = out;
    struct cs_config_email *e;
    char *starttls = NULL;
    char path[160];

    a->emails = cs_xrealloc(a->emails, (a->nemails + 1) * sizeof *a->emails);
    e = &a->emails[a->nemails++];
    memset(e, 0, sizeof *e);
    e->starttls = true;
    route_defaults(&e->route, 30, 20, 15000, 30000);
    cs_luaread_check_keys(rd, L, -1, P, keys);
    e->name = route_name(rd, L, P, "email", index, count);
#define KEYPATH(k) (snprintf(path, sizeof path, "%s.%s", P, k), path)
    cs_luaread_string(rd, L, -1, P, "url", &e->url);
    if (e->url == NULL) {
        cs_luaread_error(rd, KEYPATH("url"), "required (smtp://host:port "
                         "or smtps://host:port)");
    } else if ((strncmp(e->url, "smtp://", 7) != 0 &&
                strncmp(e->url, "smtps://", 8) != 0) ||
               !header_safe(e->url) || strchr(e->url, '@') ||
               strchr(e->url, ' ')) {
        cs_luaread_error(rd, KEYPATH("url"), "expected smtp://host[:port] "
                         "or smtps://host[:port] (no credentials in the "
                         "URL)");
    }
    if (cs_luaread_string(rd, L, -1, P, "starttls", &starttls) && starttls) {
        if (strcmp(starttls, "required") == 0) {
            e->starttls = true;
        } else if (strcmp(starttls, "off") == 0) {
            e->starttls = false;
            if (e->url && !local_host_url(e->url)) {
                cs_luaread_error(rd, KEYPATH("starttls"), "\"off\" is only "
                                 "allowed for smtp://127.0.0.1 or "
                                 "smtp://localhost");
            }
        } else {
            cs_luaread_error(rd, KEYPATH("starttls"), "expected "
                             "\"required\" or \"off\", got \"%s\"", starttls);
        }
    }
    free(starttls);
    read_file_name(rd, L, P, "ca_file", base_dir, &e->ca_file);
    cs_luaread_string(rd, L, -1, P, "username", &e->username);
    cs_luaread_string(rd, L, -1, P, "password_env", &e->password_env);
    if (e->username && (e->username[0] == '\0' ||
                        !header_safe(e->username))) {
        cs_luaread_error(rd, KEYPATH("username"), "must be non-empty "
                         "printable ASCII");
    }
    if (e->username && e->password_env == NULL) {
        cs_luaread_error(rd, KEYPATH("password_env"), "required with "
                         "username (passwords come only from the "
                         "environment)");
    }
    env_name_check(rd, KEYPATH("password_env"), e->password_env);
    cs_luaread_string(rd, L, -1, P, "from", &e->from);
    if (e->from == NULL) {
        cs_luaread_error(rd, KEYPATH("from"), "required");
    } else if (!header_safe(e->from) ||
               (e->from_addr = from_address(e->from)) == NULL) {
        cs_luaread_error(rd, KEYPATH("from"), "expected \"Name "
                         "<addr@host>\" or \"addr@host\" in printable "
                         "ASCII");
    }
    cs_luaread_strings(rd, L, -1, P, "to", &e->to, &e->nto);
    if (e->nto == 0) {
        cs_luaread_error(rd, KEYPATH("to"), "at least one recipient is "
                         "required");
    }
    for (size_t i = 0; i < e->nto; i++) {
        if (!plain_address(e->to[i])) {
            cs_luaread_error(rd, KEYPATH("to"), "\"%s\" is not a plain "
                             "address (addr@host)", e->to[i]);
        }
    }
    cs_luaread_string(rd, L, -1, P, "subject", &e->subject);
    cs_luaread_string(rd, L, -1, P, "body", &e->body);
    if (e->subject == NULL) {
        e->subject = cs_xstrdup(EMAIL_SUBJECT_DEFAULT);
    }
    if (e->body == NULL) {
        e->body = cs_xstrdup(EMAIL_BODY_DEFAULT);
    }
    read_route(rd, L, P, &e->route);
}

static void free_email(struct cs_config_email *e)
{
    free(e->name);
    free(e->url);
    free(e->ca_file);
    free(e->username);
    free(e->password_env);
    free(e->from);
    free(e->from_addr);
    free(e->subject);
    free(e->body);
    cs_luaread_free_strings(e->to, e->nto);
    free_route(&e->route);
}

/* ---- webhooks ---- */

static void read_webhook(struct cs_luaread *rd, lua_State *L, const char *P,
                         size_t index, size_t count, const char *base_dir,
                         void *out)
{
    static const char *const keys[] = {
        "name", "format", "url", "url_env", "ca_file", "headers",
        "hmac_secret_env", "title", "text", "api_url", "bot_token_env",
        "chat_id", "group_window_s", "max_per_hour", "send_resolved",
        "rules", "severities", "retry_initial_ms", "retry_max_ms",
        "retry_attempts", "timeout_ms", "drain_timeout_ms", NULL
    };
    struct cs_config_alerts *a = out;
    struct cs_config_webhook *w;
    char *format = NULL;
    char path[160];

    a->webhooks = cs_xrealloc(a->webhooks,
                              (a->nwebhooks + 1) * sizeof *a->webhooks);
    w = &a->webhooks[a->nwebhooks++];
    memset(w, 0, sizeof *w);
    route_defaults(&w->route, 10, 60, 5000, 10000);
    cs_luaread_check_keys(rd, L, -1, P, keys);
    w->name = route_name(rd, L, P, "webhook", index, count);
    if (cs_luaread_string(rd, L, -1, P, "format", &format) && format) {
        enum cs_webhook_format f = CS_WEBHOOK_JSON;
        while (f <= CS_WEBHOOK_TELEGRAM &&
               strcmp(format, cs_config_webhook_format_name(f)) != 0) {
            f++;
        }
        if (f <= CS_WEBHOOK_TELEGRAM) {
            w->format = f;
        } else {
            cs_luaread_error(rd, KEYPATH("format"), "expected \"json\", "
                             "\"slack\", \"discord\" or \"telegram\", got "
                             "\"%s\"", format);
        }
    }
    free(format);
    cs_luaread_string(rd, L, -1, P, "url", &w->url);
    cs_luaread_string(rd, L, -1, P, "url_env", &w->url_env);
    env_name_check(rd, KEYPATH("url_env"), w->url_env);
    cs_luaread_string(rd, L, -1, P, "api_url", &w->api_url);
    cs_luaread_string(rd, L, -1, P, "bot_token_env", &w->bot_token_env);
    env_name_check(rd, KEYPATH("bot_token_env"), w->bot_token_env);
    cs_luaread_string(rd, L, -1, P, "chat_id", &w->chat_id);
    if (w->format == CS_WEBHOOK_TELEGRAM) {
        if (w->url || w->url_env) {
            cs_luaread_error(rd, KEYPATH("url"), "telegram posts to "
                             "api_url/bot<token>/sendMessage: set "
                             "bot_token_env and chat_id (and api_url for a "
                             "proxy), not url");
        }
        if (w->bot_token_env == NULL) {
            cs_luaread_error(rd, KEYPATH("bot_token_env"), "required for "
                             "telegram (the token comes only from the "
                             "environment)");
        }
        if (w->chat_id == NULL || w->chat_id[0] == '\0' ||
            !text_safe(w->chat_id)) {
            cs_luaread_error(rd, KEYPATH("chat_id"), "required for "
                             "telegram");
        }
        if (w->api_url == NULL) {
            w->api_url = cs_xstrdup(TELEGRAM_API_DEFAULT);
        } else if (!http_url(w->api_url)) {
            cs_luaread_error(rd, KEYPATH("api_url"), "expected an http:// "
                             "or https:// URL");
        }
    } else {
        if ((w->url == NULL) == (w->url_env == NULL)) {
            cs_luaread_error(rd, KEYPATH("url"), "set exactly one of url "
                             "and url_env");
        } else if (w->url && !http_url(w->url)) {
            cs_luaread_error(rd, KEYPATH("url"), "expected an http:// or "
                             "https:// URL");
        }
        if (w->api_url || w->bot_token_env || w->chat_id) {
            cs_luaread_error(rd, KEYPATH("chat_id"), "api_url, "
                             "bot_token_env and chat_id are for format = "
                             "\"telegram\"");
        }
    }
    read_file_name(rd, L, P, "ca_file", base_dir, &w->ca_file);
    read_pairs(rd, L, P, "headers", false, &w->headers, &w->nheaders);
    cs_luaread_string(rd, L, -1, P, "hmac_secret_env", &w->hmac_secret_env);
    env_name_check(rd, KEYPATH("hmac_secret_env"), w->hmac_secret_env);
    cs_luaread_string(rd, L, -1, P, "title", &w->title);
    cs_luaread_string(rd, L, -1, P, "text", &w->text);
    if (w->title == NULL) {
        w->title = cs_xstrdup(CHAT_TITLE_DEFAULT);
    }
    if (w->text == NULL) {
        w->text = cs_xstrdup(CHAT_TEXT_DEFAULT);
    }
    read_route(rd, L, P, &w->route);
}

static void free_webhook(struct cs_config_webhook *w)
{
    free(w->name);
    free(w->url);
    free(w->url_env);
    free(w->ca_file);
    free_pairs(w->headers, w->nheaders);
    free(w->hmac_secret_env);
    free(w->text);
    free(w->title);
    free(w->api_url);
    free(w->bot_token_env);
    free(w->chat_id);
    free_route(&w->route);
}

/* ---- Alertmanager ---- */

static void read_alertmanager(struct cs_luaread *rd, lua_State *L,
                              const char *base_dir,
                              struct cs_config_alertmanager *m)
{
    static const char *const keys[] = {
        "url", "urls", "ca_file", "username", "password_env",
        "bearer_token_env", "labels", "generator_url", "summary",
        "description", "rules", "severities", "refresh_s", "timeout_ms",
        "retry_initial_ms", "retry_max_ms", "retry_attempts",
        "drain_timeout_ms", NULL
    };
    static const char *const P = "alerts.alertmanager";
    char path[160];
    int type = cs_luaread_field(L, -1, "alertmanager");

    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (type != LUA_TTABLE) {
        cs_luaread_error(rd, P, "expected a table");
        lua_pop(L, 1);
        return;
    }
    m->enabled = true;
    m->refresh_s = 60;
    m->timeout_ms = 10000;
    m->retry_initial_ms = 1000;
    m->retry_max_ms = 60000;
    m->retry_attempts = 5;
    m->drain_timeout_ms = 5000;
    cs_luaread_check_keys(rd, L, -1, P, keys);
    cs_luaread_strings(rd, L, -1, P, "urls", &m->urls, &m->nurls);
    {
        char *one = NULL;
        if (cs_luaread_string(rd, L, -1, P, "url", &one) && one) {
            m->urls = cs_xrealloc(m->urls, (m->nurls + 2) * sizeof *m->urls);
            m->urls[m->nurls++] = one;
            m->urls[m->nurls] = NULL;
        }
    }
    if (m->nurls == 0) {
        cs_luaread_error(rd, KEYPATH("urls"), "at least one Alertmanager "
                         "URL (http://host:9093) is required");
    }
    for (size_t i = 0; i < m->nurls; i++) {
        if (!http_url(m->urls[i])) {
            cs_luaread_error(rd, KEYPATH("urls"), "\"%s\" is not an "
                             "http:// or https:// URL", m->urls[i]);
        }
    }
    read_file_name(rd, L, P, "ca_file", base_dir, &m->ca_file);
    cs_luaread_string(rd, L, -1, P, "username", &m->username);
    cs_luaread_string(rd, L, -1, P, "password_env", &m->password_env);
    cs_luaread_string(rd, L, -1, P, "bearer_token_env",
                      &m->bearer_token_env);
    if (m->username && (m->username[0] == '\0' ||
                        !header_safe(m->username))) {
        cs_luaread_error(rd, KEYPATH("username"), "must be non-empty "
                         "printable ASCII");
    }
    if ((m->username == NULL) != (m->password_env == NULL)) {
        cs_luaread_error(rd, KEYPATH("password_env"), "username and "
                         "password_env go together (the password comes "
                         "only from the environment)");
    }
    if (m->username && m->bearer_token_env) {
        cs_luaread_error(rd, KEYPATH("bearer_token_env"), "use either "
                         "basic auth or a bearer token");
    }
    env_name_check(rd, KEYPATH("password_env"), m->password_env);
    env_name_check(rd, KEYPATH("bearer_token_env"), m->bearer_token_env);
    read_pairs(rd, L, P, "labels", true, &m->labels, &m->nlabels);
    for (size_t i = 0; i < m->nlabels; i++) {
        static const char *const ours[] = {
            "alertname", "severity", "exchange", "symbol", "window",
            "source", NULL
        };
        for (size_t j = 0; ours[j]; j++) {
            if (strcmp(m->labels[i].name, ours[j]) == 0) {
                cs_luaread_error(rd, KEYPATH("labels"), "\"%s\" is set by "
                                 "cryptosup", ours[j]);
            }
        }
    }
    cs_luaread_string(rd, L, -1, P, "generator_url", &m->generator_url);
    if (m->generator_url && !http_url(m->generator_url)) {
        cs_luaread_error(rd, KEYPATH("generator_url"), "expected an "
                         "http:// or https:// URL");
    }
    cs_luaread_string(rd, L, -1, P, "summary", &m->summary);
    cs_luaread_string(rd, L, -1, P, "description", &m->description);
    if (m->summary == NULL) {
        m->summary = cs_xstrdup(AM_SUMMARY_DEFAULT);
    }
    if (m->description == NULL) {
        m->description = cs_xstrdup(AM_DESCRIPTION_DEFAULT);
    }
    cs_luaread_strings(rd, L, -1, P, "rules", &m->rules, &m->nrules);
    cs_luaread_strings(rd, L, -1, P, "severities", &m->severities,
                       &m->nseverities);
    cs_luaread_integer(rd, L, -1, P, "refresh_s", 1, 3600, &m->refresh_s);
    read_retry(rd, L, P, &m->retry_initial_ms, &m->retry_max_ms,
               &m->retry_attempts, &m->timeout_ms, &m->drain_timeout_ms);
    lua_pop(L, 1);
}
#undef KEYPATH

static void free_alertmanager(struct cs_config_alertmanager *m)
{
    cs_luaread_free_strings(m->urls, m->nurls);
    free(m->ca_file);
    free(m->username);
    free(m->password_env);
    free(m->bearer_token_env);
    free_pairs(m->labels, m->nlabels);
    free(m->generator_url);
    free(m->summary);
    free(m->description);
    cs_luaread_free_strings(m->rules, m->nrules);
    cs_luaread_free_strings(m->severities, m->nseverities);
}

/* ---- the section ---- */

static void check_unique_names(struct cs_luaread *rd,
                               const struct cs_config_alerts *a)
{
    for (size_t i = 0; i < a->nemails; i++) {
        for (size_t j = i + 1; j < a->nemails; j++) {
            if (strcmp(a->emails[i].name, a->emails[j].name) == 0) {
                cs_luaread_error(rd, "alerts.email", "two routes are named "
                                 "\"%s\"", a->emails[i].name);
            }
        }
    }
    for (size_t i = 0; i < a->nwebhooks; i++) {
        for (size_t j = i + 1; j < a->nwebhooks; j++) {
            if (strcmp(a->webhooks[i].name, a->webhooks[j].name) == 0) {
                cs_luaread_error(rd, "alerts.webhooks", "two routes are "
                                 "named \"%s\"", a->webhooks[i].name);
            }
        }
    }
}

void cs_config_alerts_read(struct cs_luaread *rd, lua_State *L, int idx,
                           const char *base_dir, struct cs_config_alerts *a)
{
    static const char *const keys[] = {
        "email", "webhooks", "alertmanager", NULL
    };
    int type = cs_luaread_field(L, idx, "alerts");

    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (type != LUA_TTABLE) {
        cs_luaread_error(rd, "alerts", "expected a table");
        lua_pop(L, 1);
        return;
    }
    cs_luaread_check_keys(rd, L, -1, "alerts", keys);
    read_each(rd, L, "email", false, read_email, base_dir, a);
    read_each(rd, L, "webhooks", true, read_webhook, base_dir, a);
    read_alertmanager(rd, L, base_dir, &a->alertmanager);
    check_unique_names(rd, a);
    lua_pop(L, 1);
}

void cs_config_alerts_release(struct cs_config_alerts *a)
{
    for (size_t i = 0; i < a->nemails; i++) {
        free_email(&a->emails[i]);
    }
    free(a->emails);
    for (size_t i = 0; i < a->nwebhooks; i++) {
        free_webhook(&a->webhooks[i]);
    }
    free(a->webhooks);
    free_alertmanager(&a->alertmanager);
    memset(a, 0, sizeof *a);
}

const char *cs_config_webhook_format_name(enum cs_webhook_format f)
{
    static const char *const names[] = {
        "json", "slack", "discord", "telegram"
    };
    return (size_t)f < sizeof names / sizeof names[0] ? names[f] : "?";
}

bool cs_config_alerts_any(const struct cs_config_alerts *a)
{
    return a->nemails > 0 || a->nwebhooks > 0 || a->alertmanager.enabled;
}
