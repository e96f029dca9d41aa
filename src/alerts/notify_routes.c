/* The set of routes built from a config, and its swap on reload. The
 * loop thread only ever publishes a config pointer (an atomic exchange);
 * building, draining and freeing routes happen on the notifier thread. */
#include "cryptosup/notify_routes.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/log.h"
#include "cryptosup/metrics.h"
#include "cryptosup/notify_alertmanager.h"
#include "cryptosup/notify_smtp.h"
#include "cryptosup/notify_webhook.h"
#include "cryptosup/timeutil.h"

#define LOG_ROUTES "alerts.routes"
#define ROUTE_SLOTS 64   /* distinct route names with counters */

enum route_kind { ROUTE_EMAIL, ROUTE_WEBHOOK, ROUTE_ALERTMANAGER };

/* Per-route delivery counts for metrics. A slot is claimed once per
 * route name and never released, so counters stay monotonic across
 * reloads and the metrics reader never sees a slot go away. */
struct route_counters {
    char name[64];
    _Atomic uint64_t sent;
    _Atomic uint64_t failed;
};

struct route {
    enum route_kind kind;
    char *name;
    void *impl;                 /* cs_notify_smtp, _webhook or _am */
    struct cs_notifier n;
    struct route_counters *counters;   /* NULL when the slots ran out */
};

struct cs_notify_routes {
    struct cs_config *cfg;      /* the config the routes point into */
    struct route *routes;
    size_t count;
    _Atomic(struct cs_config *) pending;
    struct route_counters slots[ROUTE_SLOTS];
    _Atomic size_t nslots;      /* published after the slot's name */
    /* Outcomes of routes drained by a reload applied in deliver, which
     * has no counters to report them to: reported at the next flush. */
    uint64_t carry_sent, carry_failed;
};

static void route_free(struct route *rt)
{
    switch (rt->kind) {
    case ROUTE_EMAIL:
        cs_notify_smtp_free(rt->impl);
        break;
    case ROUTE_WEBHOOK:
        cs_notify_webhook_free(rt->impl);
        break;
    case ROUTE_ALERTMANAGER:
        cs_notify_am_free(rt->impl);
        break;
    }
    free(rt->name);
}

static struct route *find(struct route *list, size_t n, enum route_kind kind,
                          const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i].kind == kind && list[i].name &&
            strcmp(list[i].name, name) == 0) {
            return &list[i];
        }
    }
    return NULL;
}

static struct route_counters *counters_for(struct cs_notify_routes *r,
                                           const char *name)
{
    size_t n = atomic_load_explicit(&r->nslots, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r->slots[i].name, name) == 0) {
            return &r->slots[i];
        }
    }
    if (n == ROUTE_SLOTS) {
        cs_log_warn(LOG_ROUTES, "%s: more than %d route names seen; its "
                    "deliveries count only in the totals", name, ROUTE_SLOTS);
        return NULL;
    }
    snprintf(r->slots[n].name, sizeof r->slots[n].name, "%s", name);
    atomic_store_explicit(&r->nslots, n + 1, memory_order_release);
    return &r->slots[n];
}

/* Build the route list for cfg, reusing (and taking out of `old`) the
 * routes whose kind and name match. */
static struct route *build(struct cs_notify_routes *r,
                           const struct cs_config_alerts *a, struct route *old,
                           size_t nold, size_t *count)
{
    size_t cap = a->nemails + a->nwebhooks + 1, n = 0;
    struct route *list = cs_xcalloc(cap, sizeof *list);

    for (size_t i = 0; i < a->nemails; i++) {
        const struct cs_config_email *e = &a->emails[i];
        struct route *prev = find(old, nold, ROUTE_EMAIL, e->name);
        struct route *rt = &list[n++];
        if (prev) {
            *rt = *prev;
            prev->name = NULL;
            cs_notify_smtp_reconfigure(rt->impl, e);
        } else {
            rt->kind = ROUTE_EMAIL;
            rt->name = cs_xstrdup(e->name);
            rt->impl = cs_notify_smtp_new(e);
            cs_log_info(LOG_ROUTES, "%s: email to %zu recipient(s) via %s",
                        e->name, e->nto, e->url);
        }
        rt->n = cs_notify_smtp_notifier(rt->impl);
    }
    for (size_t i = 0; i < a->nwebhooks; i++) {
        const struct cs_config_webhook *w = &a->webhooks[i];
        struct route *prev = find(old, nold, ROUTE_WEBHOOK, w->name);
        struct route *rt = &list[n++];
        if (prev) {
            *rt = *prev;
            prev->name = NULL;
            cs_notify_webhook_reconfigure(rt->impl, w);
        } else {
            rt->kind = ROUTE_WEBHOOK;
            rt->name = cs_xstrdup(w->name);
            rt->impl = cs_notify_webhook_new(w);
            cs_log_info(LOG_ROUTES, "%s: %s webhook", w->name,
                        cs_config_webhook_format_name(w->format));
        }
        rt->n = cs_notify_webhook_notifier(rt->impl);
    }
    if (a->alertmanager.enabled) {
        struct route *prev = find(old, nold, ROUTE_ALERTMANAGER,
                                  "alertmanager");
        struct route *rt = &list[n++];
        if (prev) {
            *rt = *prev;
            prev->name = NULL;
            cs_notify_am_reconfigure(rt->impl, &a->alertmanager);
        } else {
            rt->kind = ROUTE_ALERTMANAGER;
            rt->name = cs_xstrdup("alertmanager");
            rt->impl = cs_notify_am_new(&a->alertmanager);
            cs_log_info(LOG_ROUTES, "alertmanager: %zu instance(s), refresh "
                        "every %llds", a->alertmanager.nurls,
                        (long long)a->alertmanager.refresh_s);
        }
        rt->n = cs_notify_am_notifier(rt->impl);
    }
    for (size_t i = 0; i < n; i++) {
        if (list[i].counters == NULL) {
            list[i].counters = counters_for(r, list[i].name);
        }
    }
    *count = n;
    return list;
}

struct cs_notify_routes *cs_notify_routes_new(const struct cs_config *cfg)
{
    struct cs_notify_routes *r = cs_xcalloc(1, sizeof *r);
    /* Before the notifier thread starts: curl's global state is set up
     * here, on the main thread, once. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    r->cfg = cs_config_ref(cfg);
    atomic_init(&r->pending, NULL);
    atomic_init(&r->nslots, 0);
    r->routes = build(r, &cfg->alerts, NULL, 0, &r->count);
    return r;
}

void cs_notify_routes_free(struct cs_notify_routes *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->count; i++) {
        route_free(&r->routes[i]);
    }
    free(r->routes);
    cs_config_free(atomic_exchange(&r->pending, NULL));
    cs_config_free(r->cfg);
    free(r);
    curl_global_cleanup();
}

size_t cs_notify_routes_count(const struct cs_notify_routes *r)
{
    return r->count;
}

void cs_notify_routes_each(const struct cs_notify_routes *r,
                           void (*fn)(void *ctx, const char *route,
                                      uint64_t sent, uint64_t failed),
                           void *ctx)
{
    struct cs_notify_routes *mr = (struct cs_notify_routes *)r;
    size_t n = atomic_load_explicit(&mr->nslots, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        fn(ctx, r->slots[i].name, atomic_load(&mr->slots[i].sent),
           atomic_load(&mr->slots[i].failed));
    }
}

void cs_notify_routes_reconfigure(struct cs_notify_routes *r,
                                  const struct cs_config *cfg)
{
    cs_config_free(atomic_exchange(&r->pending, cs_config_ref(cfg)));
}

/* Flush one route, counting its outcomes for it and in the totals. */
static void flush_route(struct route *rt, int64_t now_mono_ns, bool final,
                        uint64_t *sent, uint64_t *failed)
{
    uint64_t s = 0, f = 0;
    if (rt->n.flush == NULL) {
        return;
    }
    rt->n.flush(rt->n.ctx, now_mono_ns, final, &s, &f);
    if (rt->counters) {
        atomic_fetch_add(&rt->counters->sent, s);
        atomic_fetch_add(&rt->counters->failed, f);
    }
    *sent += s;
    *failed += f;
}

/* On the notifier thread: adopt the pending config, if any. */
static void apply_pending(struct cs_notify_routes *r, int64_t now_mono_ns,
                          uint64_t *sent, uint64_t *failed)
{
    struct cs_config *next = atomic_exchange(&r->pending, NULL);
    struct route *list;
    size_t n;

    if (next == NULL) {
        return;
    }
    list = build(r, &next->alerts, r->routes, r->count, &n);
    /* What was not carried over is drained with its old settings, which
     * stay valid until the old config is released below. */
    for (size_t i = 0; i < r->count; i++) {
        struct route *old = &r->routes[i];
        if (old->name == NULL) {
            continue;
        }
        cs_log_info(LOG_ROUTES, "%s: removed by the reload; sending what "
                    "it still holds", old->name);
        flush_route(old, now_mono_ns, true, sent, failed);
        route_free(old);
    }
    free(r->routes);
    r->routes = list;
    r->count = n;
    cs_config_free(r->cfg);
    r->cfg = next;
    cs_log_info(LOG_ROUTES, "reload: %zu alert route(s) active", n);
}

static enum cs_err routes_deliver(void *ctx, const struct cs_alert *a)
{
    struct cs_notify_routes *r = ctx;
    enum cs_err result = CS_OK;

    /* An alert queued after a reload must meet the new routes, not the
     * old ones until the next flush. */
    apply_pending(r, cs_time_mono_ns(), &r->carry_sent, &r->carry_failed);
    for (size_t i = 0; i < r->count; i++) {
        const struct cs_notifier *n = &r->routes[i].n;
        if (n->deliver(n->ctx, a) != CS_OK) {
            result = CS_ERR_IO;
        }
    }
    return result;
}

static void routes_flush(void *ctx, int64_t now_mono_ns, bool final,
                         uint64_t *sent, uint64_t *failed)
{
    struct cs_notify_routes *r = ctx;
    apply_pending(r, now_mono_ns, sent, failed);
    *sent += r->carry_sent;
    *failed += r->carry_failed;
    r->carry_sent = r->carry_failed = 0;
    for (size_t i = 0; i < r->count; i++) {
        flush_route(&r->routes[i], now_mono_ns, final, sent, failed);
    }
}

static void routes_collect(void *ctx, struct cs_metrics_writer *w)
{
    struct cs_notify_routes *r = ctx;
    size_t n = atomic_load_explicit(&r->nslots, memory_order_acquire);
    static const char *const sent = "cryptosup_route_alerts_sent_total";
    static const char *const failed = "cryptosup_route_alerts_failed_total";

    if (n == 0) {
        return;
    }
    cs_metrics_family(w, sent, CS_METRIC_COUNTER,
                      "Alerts delivered, per delivery route");
    for (size_t i = 0; i < n; i++) {
        const char *labels[] = { "route", r->slots[i].name, NULL };
        cs_metrics_sample(w, sent, labels,
                          (double)atomic_load(&r->slots[i].sent));
    }
    cs_metrics_family(w, failed, CS_METRIC_COUNTER,
                      "Alerts given up on, per delivery route");
    for (size_t i = 0; i < n; i++) {
        const char *labels[] = { "route", r->slots[i].name, NULL };
        cs_metrics_sample(w, failed, labels,
                          (double)atomic_load(&r->slots[i].failed));
    }
}

struct cs_notifier cs_notify_routes_notifier(struct cs_notify_routes *r)
{
    struct cs_notifier n;
    memset(&n, 0, sizeof n);
    n.name = "routes";
    n.deliver = routes_deliver;
    n.ctx = r;
    n.flush = routes_flush;
    n.deferred = true;
    n.collect = routes_collect;
    return n;
}
