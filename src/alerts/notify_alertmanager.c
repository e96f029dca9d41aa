/* Alertmanager notifier (API v2) on the notifier thread.
 *
 * Alertmanager wants the state of the world, not a stream of events: the
 * set of alerts that are firing, re-posted often enough that none of them
 * expires, and an explicit endsAt when one resolves. So deliver() only
 * updates a table keyed by (rule, exchange, symbol), and flush() posts the
 * whole table to every configured URL when something changed or refresh_s
 * has passed. Each entry remembers which URLs hold its latest version (one
 * bit per URL), which decides when a resolved entry can be forgotten and
 * when an accepted event counts as sent. */
#include "cryptosup/notify_alertmanager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/route.h"
#include "cryptosup/alert_render.h"
#include "cryptosup/err.h"
#include "cryptosup/http_post.h"
#include "cryptosup/jsonw.h"
#include "cryptosup/log.h"
#include "cryptosup/timeutil.h"

#define LOG_AM "alerts.alertmanager"
#define SET_MAX 10000          /* distinct alerts tracked at once */
#define CHUNK_MAX 500          /* alerts per POST */
#define URLS_MAX 64            /* one bit each in entry->acked */
#define BUCKETS 4096           /* hash chains; a power of two */
#define RETRY_AFTER_MAX_MS 300000

#define DEFAULT_SUMMARY "{symbol} {change_pct} over {window} on {exchange}"
#define DEFAULT_DESCRIPTION "{rule}: {symbol} on {exchange} moved " \
    "{change_pct} over {window}; price {price}, reference {reference}. " \
    "{message}"

/* Labels the notifier sets itself; a configured label may not replace
 * them (Alertmanager would see a duplicate key and keep either). */
static const char *const BUILTIN_LABELS[] = {
    "alertname", "severity", "exchange", "symbol", "window", "source", NULL
};

/* ---- pure helpers ---- */

/* 2023-03-12T14:00:00.000Z */
static void format_rfc3339(int64_t ns, char *buf, size_t size)
{
    struct tm tm;
    int64_t secs, ms;
    time_t t;

    if (ns < 0) {
        ns = 0;
    }
    secs = ns / CS_NS_PER_S;
    ms = (ns % CS_NS_PER_S) / CS_NS_PER_MS;
    t = (time_t)secs;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, size, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)ms);
}

/* Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*, "__" prefix reserved. */
static bool label_name_ok(const char *s)
{
    if (s == NULL || s[0] == '\0' || (s[0] == '_' && s[1] == '_')) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     *p == '_';
        if (!alpha && (p == s || *p < '0' || *p > '9')) {
            return false;
        }
    }
    for (size_t i = 0; BUILTIN_LABELS[i]; i++) {
        if (strcmp(s, BUILTIN_LABELS[i]) == 0) {
            return false;
        }
    }
    return true;
}

/* A configured label's value, or NULL when it should be left out (bad
 * name, unset environment variable, empty value: Prometheus treats an
 * empty label as an absent one anyway). */
static const char *label_value(const struct cs_config_header *h)
{
    const char *v;

    if (!label_name_ok(h->name)) {
        return NULL;
    }
    v = h->value_env ? getenv(h->value_env) : h->value;
    return v && v[0] ? v : NULL;
}

static void put_kv(struct cs_jsonw *w, const char *key, const char *value)
{
    cs_jsonw_key(w, key);
    cs_jsonw_cstring(w, value);
}

static void put_rendered(struct cs_jsonw *w, const char *key,
                         const char *tmpl, const struct cs_alert *a)
{
    char *s = cs_alert_render(tmpl, a, 1);
    size_t n = strlen(s);

    /* The default description ends in "{message}", often empty. */
    while (n > 0 && s[n - 1] == ' ') {
        s[--n] = '\0';
    }
    put_kv(w, key, s);
    free(s);
}

char *cs_am_payload(const struct cs_config_alertmanager *cfg,
                    const struct cs_alert *alerts,
                    const int64_t *starts_at_ns, const int64_t *ends_at_ns,
                    size_t n)
{
    struct cs_jsonw w;
    char tmp[64];
    char *out;

    cs_jsonw_init(&w);
    cs_jsonw_raw(&w, "[", 1);
    for (size_t i = 0; i < n; i++) {
        const struct cs_alert *a = &alerts[i];
        cs_jsonw_begin_object(&w);
        cs_jsonw_key(&w, "labels");
        cs_jsonw_begin_object(&w);
        put_kv(&w, "alertname", a->rule);
        put_kv(&w, "severity", a->severity);
        put_kv(&w, "exchange", a->exchange);
        put_kv(&w, "symbol", a->symbol);
        if (a->window_s > 0) {
            cs_alert_format_window(a->window_s, tmp, sizeof tmp);
            put_kv(&w, "window", tmp);
        }
        put_kv(&w, "source", "cryptosup");
        for (size_t j = 0; j < cfg->nlabels; j++) {
            const char *v = label_value(&cfg->labels[j]);
            if (v) {
                put_kv(&w, cfg->labels[j].name, v);
            }
        }
        cs_jsonw_end_object(&w);
        cs_jsonw_key(&w, "annotations");
        cs_jsonw_begin_object(&w);
        put_rendered(&w, "summary", cfg->summary ? cfg->summary
                                                 : DEFAULT_SUMMARY, a);
        put_rendered(&w, "description", cfg->description ? cfg->description
                                                         : DEFAULT_DESCRIPTION,
                     a);
        if (a->price[0]) {
            put_kv(&w, "price", a->price);
        }
        if (a->reference[0]) {
            put_kv(&w, "reference", a->reference);
        }
        if (a->has_change) {
            snprintf(tmp, sizeof tmp, "%+.2f%%", a->change * 100.0);
            put_kv(&w, "change_pct", tmp);
        }
        if (a->message[0]) {
            put_kv(&w, "message", a->message);
        }
        cs_jsonw_end_object(&w);
        format_rfc3339(starts_at_ns[i], tmp, sizeof tmp);
        put_kv(&w, "startsAt", tmp);
        format_rfc3339(ends_at_ns[i], tmp, sizeof tmp);
        put_kv(&w, "endsAt", tmp);
        if (cfg->generator_url && cfg->generator_url[0]) {
            put_kv(&w, "generatorURL", cfg->generator_url);
        }
        cs_jsonw_end_object(&w);
    }
    cs_jsonw_raw(&w, "]", 2);      /* with the NUL */
    out = w.buf;                   /* the writer's buffer is ours now */
    return out;
}

/* ---- the notifier ---- */

struct entry {
    struct entry *next;        /* hash chain */
    size_t pos;                /* index in am->set */
    uint32_t hash;
    struct cs_alert a;         /* the latest event's fields */
    int64_t starts_ns;         /* wall: first firing of this episode */
    int64_t ends_ns;           /* wall: resolve time (resolved only) */
    bool resolved;
    uint64_t acked;            /* URLs holding the latest version */
    uint64_t uncounted;        /* accepted events not yet counted */
    int64_t failed_posts;      /* posts that should have carried the
                                  latest version and failed */
};

struct url_state {
    char *base;                /* as configured, to notice a change */
    char *endpoint;            /* <base>/api/v2/alerts */
    char host[128];            /* for logs: never the path or userinfo */
    int64_t fails;             /* consecutive failed posts */
    int64_t next_ns;           /* monotonic: no post before this */
    int64_t last_ok_ns;        /* monotonic: last complete post; 0 never */
};

struct cs_notify_am {
    const struct cs_config_alertmanager *cfg;
    struct url_state *urls;
    size_t nurls;
    struct entry *buckets[BUCKETS];
    struct entry **set;        /* dense, for posting in chunks */
    size_t count;
    uint64_t overflow;         /* failed: table full, not yet reported */
    bool overflow_logged;
    /* Scratch for one chunk. */
    struct cs_alert *chunk;
    int64_t *starts, *ends;
};

static int64_t cfg_refresh_ns(const struct cs_config_alertmanager *c)
{
    return (c->refresh_s > 0 ? c->refresh_s : 60) * CS_NS_PER_S;
}

static int64_t cfg_timeout_ms(const struct cs_config_alertmanager *c)
{
    return c->timeout_ms > 0 ? c->timeout_ms : 10000;
}

static int64_t cfg_attempts(const struct cs_config_alertmanager *c)
{
    return c->retry_attempts > 0 ? c->retry_attempts : 1;
}

static int64_t backoff_ms(const struct cs_config_alertmanager *c,
                          int64_t fails)
{
    int64_t ms = c->retry_initial_ms > 0 ? c->retry_initial_ms : 1000;
    int64_t max = c->retry_max_ms > ms ? c->retry_max_ms : ms;

    for (int64_t i = 1; i < fails && ms < max; i++) {
        ms *= 2;
    }
    return ms < max ? ms : max;
}

static uint64_t all_urls(const struct cs_notify_am *am)
{
    return am->nurls >= 64 ? UINT64_MAX : (UINT64_C(1) << am->nurls) - 1;
}

static void free_urls(struct cs_notify_am *am)
{
    for (size_t i = 0; i < am->nurls; i++) {
        free(am->urls[i].base);
        free(am->urls[i].endpoint);
    }
    free(am->urls);
    am->urls = NULL;
    am->nurls = 0;
}

static void build_urls(struct cs_notify_am *am)
{
    const struct cs_config_alertmanager *c = am->cfg;

    am->nurls = c->nurls < URLS_MAX ? c->nurls : URLS_MAX;
    if (c->nurls > URLS_MAX) {
        cs_log_error(LOG_AM, "%zu URLs configured: only the first %d are "
                     "used", c->nurls, URLS_MAX);
    }
    am->urls = cs_xcalloc(am->nurls ? am->nurls : 1, sizeof *am->urls);
    for (size_t i = 0; i < am->nurls; i++) {
        struct url_state *u = &am->urls[i];
        size_t len = strlen(c->urls[i]);
        while (len > 0 && c->urls[i][len - 1] == '/') {
            len--;
        }
        u->base = cs_xstrdup(c->urls[i]);
        u->endpoint = cs_xmalloc(len + sizeof "/api/v2/alerts");
        memcpy(u->endpoint, c->urls[i], len);
        memcpy(u->endpoint + len, "/api/v2/alerts", sizeof "/api/v2/alerts");
        cs_http_post_log_host(c->urls[i], u->host, sizeof u->host);
    }
}

/* Say once, when the settings arrive, what the payload will leave out. */
static void check_config(const struct cs_config_alertmanager *c)
{
    for (size_t i = 0; i < c->nlabels; i++) {
        const struct cs_config_header *h = &c->labels[i];
        if (!label_name_ok(h->name)) {
            cs_log_error(LOG_AM, "label \"%s\" is not a usable label name "
                         "(or is set by cryptosup): left out", h->name);
        } else if (h->value_env && getenv(h->value_env) == NULL) {
            cs_log_error(LOG_AM, "label %s: environment variable %s is not "
                         "set: left out", h->name, h->value_env);
        }
    }
    if (c->nurls == 0) {
        cs_log_error(LOG_AM, "no URL configured: alerts are counted failed");
    }
}

struct cs_notify_am *cs_notify_am_new(const struct cs_config_alertmanager *cfg)
{
    struct cs_notify_am *am = cs_xcalloc(1, sizeof *am);

    am->cfg = cfg;
    build_urls(am);
    check_config(cfg);
    am->set = cs_xcalloc(SET_MAX, sizeof *am->set);
    am->chunk = cs_xcalloc(CHUNK_MAX, sizeof *am->chunk);
    am->starts = cs_xcalloc(CHUNK_MAX, sizeof *am->starts);
    am->ends = cs_xcalloc(CHUNK_MAX, sizeof *am->ends);
    /* No curl_global_init here: a reload builds notifiers on the notifier
     * thread, and the routes (notify_routes.c) hold curl's global state
     * from the main thread. */
    return am;
}

void cs_notify_am_reconfigure(struct cs_notify_am *am,
                              const struct cs_config_alertmanager *cfg)
{
    /* Compared with our copies: the old config may be gone already. */
    bool same = am->nurls == (cfg->nurls < URLS_MAX ? cfg->nurls : URLS_MAX);

    for (size_t i = 0; same && i < am->nurls; i++) {
        same = strcmp(am->urls[i].base, cfg->urls[i]) == 0;
    }
    am->cfg = cfg;
    check_config(cfg);
    /* Labels or templates may have changed: post everything again on the
     * next flush rather than at the next refresh. What was counted stays
     * counted. */
    for (size_t i = 0; i < am->count; i++) {
        am->set[i]->acked = 0;
    }
    if (same) {
        return;
    }
    /* Other URLs: their state starts afresh. */
    free_urls(am);
    build_urls(am);
    for (size_t i = 0; i < am->count; i++) {
        am->set[i]->failed_posts = 0;
    }
    cs_log_info(LOG_AM, "URLs changed: %zu alert(s) will be posted to %zu "
                "URL(s)", am->count, am->nurls);
}

void cs_notify_am_free(struct cs_notify_am *am)
{
    if (am == NULL) {
        return;
    }
    for (size_t i = 0; i < am->count; i++) {
        free(am->set[i]);
    }
    free(am->set);
    free(am->chunk);
    free(am->starts);
    free(am->ends);
    free_urls(am);
    free(am);
}

static uint32_t identity_hash(const struct cs_alert *a)
{
    const char *parts[3] = { a->rule, a->exchange, a->symbol };
    uint32_t h = 2166136261u;   /* FNV-1a */

    for (int i = 0; i < 3; i++) {
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p;
             p++) {
            h = (h ^ *p) * 16777619u;
        }
        h = (h ^ 0xffu) * 16777619u;   /* separator no string contains */
    }
    return h;
}

static struct entry *find(struct cs_notify_am *am, const struct cs_alert *a,
                          uint32_t h)
{
    for (struct entry *e = am->buckets[h & (BUCKETS - 1)]; e; e = e->next) {
        if (e->hash == h && strcmp(e->a.rule, a->rule) == 0 &&
            strcmp(e->a.exchange, a->exchange) == 0 &&
            strcmp(e->a.symbol, a->symbol) == 0) {
            return e;
        }
    }
    return NULL;
}

static struct entry *insert(struct cs_notify_am *am, const struct cs_alert *a,
                            uint32_t h)
{
    struct entry *e;
    struct entry **b = &am->buckets[h & (BUCKETS - 1)];

    if (am->count >= SET_MAX) {
        if (!am->overflow_logged) {
            cs_log_error(LOG_AM, "%d alerts tracked: new alerts are counted "
                         "failed until some resolve", SET_MAX);
            am->overflow_logged = true;
        }
        am->overflow++;
        return NULL;
    }
    e = cs_xcalloc(1, sizeof *e);
    e->hash = h;
    e->a = *a;
    e->pos = am->count;
    e->next = *b;
    *b = e;
    am->set[am->count++] = e;
    return e;
}

static void remove_entry(struct cs_notify_am *am, struct entry *e)
{
    struct entry **pp = &am->buckets[e->hash & (BUCKETS - 1)];

    while (*pp != e) {
        pp = &(*pp)->next;
    }
    *pp = e->next;
    am->set[e->pos] = am->set[--am->count];
    am->set[e->pos]->pos = e->pos;
    free(e);
    if (am->count < SET_MAX) {
        am->overflow_logged = false;
    }
}

static bool passes(const struct cs_config_alertmanager *c,
                   const struct cs_alert *a)
{
    return cs_alert_selected(c->rules, c->nrules, c->severities,
                             c->nseverities, a);
}

/* The event time as a wall time Alertmanager can use: replays and
 * exchange clocks can give 0 or a time ahead of ours. */
static int64_t event_wall_ns(const struct cs_alert *a, int64_t now_ns)
{
    return a->ts_ns > 0 && a->ts_ns <= now_ns ? a->ts_ns : now_ns;
}

static enum cs_err am_deliver(void *ctx, const struct cs_alert *a)
{
    struct cs_notify_am *am = ctx;
    int64_t now = cs_time_now_ns();
    uint32_t h = identity_hash(a);
    struct entry *e = find(am, a, h);

    /* A resolution of an alert we posted always goes out, even when a
     * reload changed the filters since: otherwise it would stay firing
     * in Alertmanager (and in our table) for good. */
    if (!(e && a->status == CS_ALERT_RESOLVED) && !passes(am->cfg, a)) {
        return CS_OK;
    }
    if (e == NULL) {
        e = insert(am, a, h);
        if (e == NULL) {
            return CS_OK;    /* counted failed at the next flush */
        }
        e->starts_ns = event_wall_ns(a, now);
        e->resolved = true;  /* so a firing below starts an episode */
    }
    if (e->uncounted == 0) {
        e->failed_posts = 0;
    }
    if (a->status == CS_ALERT_FIRING) {
        /* A resolution no URL has seen yet is folded into the new firing:
         * for Alertmanager the episode never ended. */
        if (e->resolved && e->acked != 0) {
            e->starts_ns = event_wall_ns(a, now);
        }
        e->resolved = false;
        e->ends_ns = 0;
    } else {
        e->resolved = true;
        e->ends_ns = event_wall_ns(a, now);
        if (e->ends_ns < e->starts_ns) {
            e->ends_ns = e->starts_ns;
        }
    }
    e->a = *a;
    e->acked = 0;
    e->uncounted++;
    return CS_OK;
}

/* Auth for one request, into `hdr` (for the bearer header) and *password.
 * False, logged, when a secret's environment variable is missing. */
static bool auth(const struct cs_config_alertmanager *c, char *hdr,
                 size_t size, const char **password)
{
    *password = NULL;
    hdr[0] = '\0';
    if (c->username) {
        *password = c->password_env ? getenv(c->password_env) : "";
        if (*password == NULL) {
            cs_log_error(LOG_AM, "environment variable %s (the Alertmanager "
                         "password) is not set", c->password_env);
            return false;
        }
    }
    if (c->bearer_token_env) {
        const char *tok = getenv(c->bearer_token_env);
        int n;
        if (tok == NULL || tok[0] == '\0') {
            cs_log_error(LOG_AM, "environment variable %s (the Alertmanager "
                         "bearer token) is not set", c->bearer_token_env);
            return false;
        }
        for (const char *p = tok; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                cs_log_error(LOG_AM, "environment variable %s (the "
                             "Alertmanager bearer token) holds control "
                             "characters", c->bearer_token_env);
                return false;
            }
        }
        n = snprintf(hdr, size, "Authorization: Bearer %s", tok);
        if (n < 0 || (size_t)n >= size) {
            cs_log_error(LOG_AM, "environment variable %s (the Alertmanager "
                         "bearer token) is too long", c->bearer_token_env);
            hdr[0] = '\0';
            return false;
        }
    }
    return true;
}

/* The secret must not linger in freed stack memory. */
static void wipe(char *p, size_t n)
{
    volatile char *v = p;
    while (n--) {
        *v++ = 0;
    }
}

/* Build chunk `k` of the table into a payload. */
static char *chunk_payload(struct cs_notify_am *am, size_t k, int64_t wall_ns)
{
    size_t first = k * CHUNK_MAX;
    size_t n = am->count - first < CHUNK_MAX ? am->count - first : CHUNK_MAX;
    int64_t expires = wall_ns + 4 * cfg_refresh_ns(am->cfg);

    for (size_t i = 0; i < n; i++) {
        const struct entry *e = am->set[first + i];
        am->chunk[i] = e->a;
        am->starts[i] = e->starts_ns < wall_ns ? e->starts_ns : wall_ns;
        am->ends[i] = e->resolved ? e->ends_ns : expires;
        if (am->ends[i] < am->starts[i]) {
            am->ends[i] = am->starts[i];
        }
    }
    return cs_am_payload(am->cfg, am->chunk, am->starts, am->ends, n);
}

/* Post the whole table to URL `u`, chunk by chunk, stopping at the first
 * failure. Entries in chunks that went through are marked acked. */
static bool post_url(struct cs_notify_am *am, size_t u, char **bodies,
                     size_t nchunks, int64_t wall_ns, int64_t timeout_ms,
                     int64_t now_ns)
{
    const struct cs_config_alertmanager *c = am->cfg;
    struct url_state *us = &am->urls[u];
    struct cs_http_post req;
    struct cs_http_post_result res;
    enum cs_post_outcome outcome = CS_POST_RETRY;
    char authz[1024];
    const char *headers[2] = { NULL, NULL };
    const char *password = NULL;
    bool ok = auth(c, authz, sizeof authz, &password);

    memset(&res, 0, sizeof res);
    snprintf(res.error, sizeof res.error, "credentials missing");
    for (size_t k = 0; ok && k < nchunks; k++) {
        if (bodies[k] == NULL) {
            bodies[k] = chunk_payload(am, k, wall_ns);
        }
        memset(&req, 0, sizeof req);
        req.url = us->endpoint;
        req.ca_file = c->ca_file;
        req.timeout_ms = timeout_ms;
        headers[0] = authz[0] ? authz : NULL;
        req.headers = headers;
        req.username = c->username;
        req.password = password;
        req.body = bodies[k];
        req.len = strlen(bodies[k]);
        outcome = cs_http_post(&req, &res);
        if (outcome != CS_POST_OK) {
            ok = false;
            break;
        }
        for (size_t i = k * CHUNK_MAX; i < am->count &&
                                       i < (k + 1) * CHUNK_MAX; i++) {
            am->set[i]->acked |= UINT64_C(1) << u;
        }
    }
    wipe(authz, sizeof authz);
    if (ok) {
        if (us->fails > 0) {
            cs_log_info(LOG_AM, "%s: posting again after %lld failed "
                        "attempt(s)", us->host, (long long)us->fails);
        }
        us->fails = 0;
        us->next_ns = 0;
        us->last_ok_ns = now_ns;
        return true;
    }
    us->fails++;
    {
        int64_t ms = backoff_ms(c, us->fails);
        int64_t ra = res.retry_after_ms < RETRY_AFTER_MAX_MS
                         ? res.retry_after_ms : RETRY_AFTER_MAX_MS;
        if (ra > ms) {
            ms = ra;
        }
        us->next_ns = now_ns + ms * CS_NS_PER_MS;
        /* A 4xx will not go away by itself (auth, a bad path, an alert
         * Alertmanager refuses): an error, but retried, since a reload
         * on either side can fix it. */
        cs_log(outcome == CS_POST_PERMANENT ? CS_LOG_ERROR : CS_LOG_WARN,
               LOG_AM, "%s: post of %zu alert(s) failed (attempt %lld): "
               "%s%s%s; retrying in %lld ms", us->host, am->count,
               (long long)us->fails, res.error[0] ? res.error : "error",
               res.snippet[0] ? ": " : "", res.snippet, (long long)ms);
    }
    return false;
}

/* Does URL `u` need a post now? */
static bool url_due(const struct cs_notify_am *am, size_t u, int64_t now_ns,
                    bool ignore_backoff)
{
    const struct url_state *us = &am->urls[u];
    uint64_t bit = UINT64_C(1) << u;

    if (am->count == 0 || (!ignore_backoff && now_ns < us->next_ns)) {
        return false;
    }
    if (us->last_ok_ns == 0 ||
        now_ns - us->last_ok_ns >= cfg_refresh_ns(am->cfg)) {
        return true;
    }
    for (size_t i = 0; i < am->count; i++) {
        if ((am->set[i]->acked & bit) == 0) {
            return true;
        }
    }
    return false;
}

/* One round: post to every due URL, then count and prune. */
static void post_round(struct cs_notify_am *am, int64_t now_ns,
                       bool ignore_backoff, int64_t timeout_ms,
                       uint64_t *sent, uint64_t *failed)
{
    size_t nchunks = (am->count + CHUNK_MAX - 1) / CHUNK_MAX;
    char **bodies = NULL;
    uint64_t failed_mask = 0, gave_up = 0;
    int64_t wall_ns = cs_time_now_ns();
    int64_t attempts = cfg_attempts(am->cfg);

    if (am->overflow > 0) {
        *failed += am->overflow;
        am->overflow = 0;
    }
    if (am->nurls == 0) {
        for (size_t i = 0; i < am->count; i++) {
            *failed += am->set[i]->uncounted;
            am->set[i]->uncounted = 0;
        }
        while (am->count > 0) {
            remove_entry(am, am->set[am->count - 1]);
        }
        return;
    }
    for (size_t u = 0; u < am->nurls; u++) {
        if (!url_due(am, u, now_ns, ignore_backoff)) {
            continue;
        }
        if (bodies == NULL) {
            bodies = cs_xcalloc(nchunks, sizeof *bodies);
        }
        if (!post_url(am, u, bodies, nchunks, wall_ns, timeout_ms, now_ns)) {
            failed_mask |= UINT64_C(1) << u;
        }
    }
    for (size_t k = 0; bodies && k < nchunks; k++) {
        free(bodies[k]);
    }
    free(bodies);
    /* Backwards, so removing (swap with the last) skips nothing. */
    for (size_t i = am->count; i-- > 0;) {
        struct entry *e = am->set[i];
        if ((failed_mask & ~e->acked) != 0) {
            e->failed_posts++;
        }
        if (e->uncounted > 0 && e->acked != 0) {
            *sent += e->uncounted;
            e->uncounted = 0;
        } else if (e->uncounted > 0 && e->failed_posts >= attempts) {
            *failed += e->uncounted;
            gave_up += e->uncounted;
            e->uncounted = 0;
        }
        if (e->resolved && (e->acked == all_urls(am) ||
                            e->failed_posts >= attempts)) {
            if (e->acked != all_urls(am)) {
                cs_log_warn(LOG_AM, "resolution of %s %s %s not posted to "
                            "every URL after %lld attempts: dropped (it "
                            "expires there by its endsAt)", e->a.rule,
                            e->a.exchange, e->a.symbol,
                            (long long)e->failed_posts);
            }
            remove_entry(am, e);
        }
    }
    if (gave_up > 0) {
        cs_log_error(LOG_AM, "%llu alert event(s) counted failed after %lld "
                     "failed posts; firing alerts keep being re-posted",
                     (unsigned long long)gave_up, (long long)attempts);
    }
}

/* Anything accepted and not yet counted, or a resolution some URL lacks. */
static bool pending(const struct cs_notify_am *am)
{
    for (size_t i = 0; i < am->count; i++) {
        const struct entry *e = am->set[i];
        if (e->uncounted > 0 || e->resolved) {
            return true;
        }
    }
    return false;
}

static void am_flush(void *ctx, int64_t now_mono_ns, bool final,
                     uint64_t *sent, uint64_t *failed)
{
    struct cs_notify_am *am = ctx;
    int64_t deadline, timeout_ms = cfg_timeout_ms(am->cfg);

    if (!final) {
        post_round(am, now_mono_ns, false, timeout_ms, sent, failed);
        return;
    }
    /* Shutdown: post what is pending once more right away, then on the
     * backoff schedule until drain_timeout_ms. Alerts still firing are
     * not resolved: like Prometheus, we let them expire by their endsAt,
     * so a restart within 4 * refresh_s does not flap them. */
    deadline = cs_time_mono_ns() +
               (am->cfg->drain_timeout_ms > 0 ? am->cfg->drain_timeout_ms : 0)
               * CS_NS_PER_MS;
    for (bool first = true; pending(am) || am->overflow > 0; first = false) {
        int64_t now = cs_time_mono_ns(), next = INT64_MAX, left_ms;
        if (!first) {
            /* Only a URL that failed can change anything now: the others
             * took the last round. */
            for (size_t u = 0; u < am->nurls; u++) {
                if (am->urls[u].fails > 0 && am->urls[u].next_ns < next) {
                    next = am->urls[u].next_ns;
                }
            }
            if (next == INT64_MAX || now >= deadline || next >= deadline) {
                break;
            }
            if (next > now) {
                cs_time_sleep_ns(next - now);
            }
            now = cs_time_mono_ns();
        }
        left_ms = (deadline - now) / CS_NS_PER_MS;
        if (left_ms < 100) {
            left_ms = 100;
        }
        post_round(am, now, first, timeout_ms < left_ms ? timeout_ms
                                                          : left_ms,
                   sent, failed);
    }
    for (size_t i = 0; i < am->count; i++) {
        struct entry *e = am->set[i];
        if (e->uncounted > 0) {
            cs_log_error(LOG_AM, "shutdown: %s %s %s (%s) not posted",
                         e->a.rule, e->a.exchange, e->a.symbol,
                         e->resolved ? "resolved" : "firing");
            *failed += e->uncounted;
            e->uncounted = 0;
        }
    }
}

struct cs_notifier cs_notify_am_notifier(struct cs_notify_am *am)
{
    struct cs_notifier n;

    memset(&n, 0, sizeof n);
    n.name = "alertmanager";
    n.deliver = am_deliver;
    n.ctx = am;
    n.flush = am_flush;
    n.deferred = true;
    return n;
}
