/* cryptosup run: the live runtime. Startup order, the housekeeping timer
 * (signals, reloads, the bounded shutdown), /healthz and teardown order. */
#include "cli/cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/alert.h"
#include "cryptosup/config.h"
#include "cryptosup/connector.h"
#include "cryptosup/engine.h"
#include "cryptosup/http.h"
#include "cryptosup/http_server.h"
#include "cryptosup/log.h"
#include "cryptosup/loop.h"
#include "cryptosup/metrics.h"
#include "cryptosup/notify_routes.h"
#include "cryptosup/rest.h"
#include "cryptosup/rules.h"
#include "cryptosup/store.h"
#include "cryptosup/timeutil.h"

/* Live WebSocket data waits this long at most for the REST warm-up. */
#define WARMUP_WAIT_MS 20000
/* Of which the warm start from PostgreSQL may take this long at most. */
#define RESTORE_WAIT_MS 10000

/* Everything `run` owns, reachable from the loop's timer. */
struct runtime {
    const struct options *opt;
    struct cs_engine *engine;
    struct cs_loop *loop;
    struct cs_connectors *connectors;   /* NULL until warm-up is over */
    struct cs_http *http;
    struct cs_rest *rest;
    struct cs_timer *housekeeping;
    struct cs_metrics *metrics;   /* every subsystem's collector */
    struct cs_store *store;       /* history; NULL when not configured */
    struct cs_store_restore *restore;   /* warm start from the store */
    struct cs_alert_queue *alerts;      /* engine -> notifier thread */
    struct cs_notify_routes *routes;    /* what the notifier thread runs */
    struct cs_notify_thread *notifier;  /* delivers to every route */
    void *alert_metrics;
    int64_t started_mono_ns;
    struct cs_http_server *httpd; /* /metrics, /healthz, /api/...; NULL
                                     when the address was unusable */
    int64_t stop_deadline_ns;     /* 0 until stopping */
};

/* /healthz: running (not stopping), warm-up over, and at least one open
 * connection for every exchange that streams over WebSocket. */
static bool runtime_healthy(void *arg, char *reason, size_t size)
{
    struct runtime *rt = arg;
    const struct cs_config *cfg = cs_engine_config(rt->engine);

    if (rt->stop_deadline_ns || cli_stop_requested) {
        snprintf(reason, size, "stopping");
        return false;
    }
    /* Not cs_rest_ws_config: the connectors hold the view it replaces. */
    for (size_t i = 0; i < cfg->nexchanges; i++) {
        const struct cs_config_exchange *x = &cfg->exchanges[i];
        const struct cs_exchange_stats *st = NULL;
        if (x->transport == CS_TRANSPORT_REST || x->venue->wire == NULL ||
            x->nsymbols == 0) {
            continue;   /* no WebSocket for this one */
        }
        if (rt->connectors == NULL) {
            snprintf(reason, size, "warming up: WebSocket connections not "
                     "started yet");
            return false;
        }
        for (size_t k = 0; k < cs_connectors_count(rt->connectors); k++) {
            const struct cs_exchange_stats *c =
                cs_connectors_stats(rt->connectors, k);
            if (c && strcmp(c->exchange, x->name) == 0) {
                st = c;
            }
        }
        if (st == NULL || st->open_connections == 0) {
            snprintf(reason, size, "%s: no open WebSocket connection",
                     x->name);
            return false;
        }
    }
    return true;
}

static void log_exchange_stats(const struct cs_connectors *c)
{
    for (size_t i = 0; c && i < cs_connectors_count(c); i++) {
        const struct cs_exchange_stats *s = cs_connectors_stats(c, i);
        cs_log_info(LOG_MAIN, "%s: %llu frames, %llu connects, %llu "
                    "reconnects, %llu failed attempts, %llu stale, %llu gaps, "
                    "%llu rotations", s->exchange,
                    (unsigned long long)s->frames,
                    (unsigned long long)s->connects,
                    (unsigned long long)s->reconnects,
                    (unsigned long long)s->connect_failures,
                    (unsigned long long)s->stale, (unsigned long long)s->gaps,
                    (unsigned long long)s->rotations);
    }
}

static void log_rest_stats(const struct cs_rest *r)
{
    for (size_t i = 0; i < cs_rest_count(r); i++) {
        const struct cs_rest_stats *s = cs_rest_stats(r, i);
        cs_log_info(LOG_MAIN, "%s REST: %llu requests (%llu ok, %llu rate "
                    "limited, %llu HTTP errors, %llu failed, %llu unusable), "
                    "%llu polled ticks, %llu warm-up candles, latency avg "
                    "%.0f ms max %.0f ms", s->exchange,
                    (unsigned long long)s->requests,
                    (unsigned long long)s->ok,
                    (unsigned long long)s->rate_limited,
                    (unsigned long long)s->http_errors,
                    (unsigned long long)s->transport_errors,
                    (unsigned long long)s->parse_errors,
                    (unsigned long long)s->polled_ticks,
                    (unsigned long long)s->warmup_candles,
                    s->latency_count ? (double)s->latency_sum_ns / 1e6
                                       / (double)s->latency_count : 0.0,
                    (double)s->latency_max_ns / 1e6);
    }
}

/* Warm-up is over (or timed out): start the WebSocket connectors, or
 * bring them to the config after a reload. */
static void on_rest_ready(void *arg)
{
    struct runtime *rt = arg;
    const struct cs_config *ws;

    if (rt->stop_deadline_ns) {
        return;
    }
    ws = cs_rest_ws_config(rt->rest, cs_engine_config(rt->engine));
    if (rt->connectors == NULL) {
        rt->connectors = cs_connectors_new(rt->loop, rt->engine, ws,
                                           rt->opt->record);
        cs_connectors_register_metrics(rt->connectors, rt->metrics);
    } else {
        cs_connectors_apply(rt->connectors, ws);
    }
}

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The store's connection, queues and spill are set up once; mode and
 * interval follow a reload (the engine reads them per tick). Say which
 * changes wait for a restart instead of ignoring them silently. */
static void warn_storage_restart(const struct cs_config_storage *was,
                                 const struct cs_config_storage *now)
{
    const char *what = NULL;

    if (was->enabled != now->enabled) {
        what = now->enabled ? "storage was added" : "storage was removed";
    } else if (!now->enabled) {
        return;
    } else if (!same_text(was->postgres, now->postgres) ||
               !same_text(was->postgres_env, now->postgres_env)) {
        what = "storage.postgres changed";
    } else if (was->queue_rows != now->queue_rows ||
               was->buffer_rows != now->buffer_rows ||
               was->batch_rows != now->batch_rows) {
        what = "storage queue sizes changed";
    } else if (!same_text(was->spill_dir, now->spill_dir) ||
               was->spill_max_mb != now->spill_max_mb) {
        what = "storage spill settings changed";
    }
    if (what) {
        cs_log_warn("lua.reload", "%s: applies after a restart; the "
                    "running store keeps its settings", what);
    }
}

/* Every 100 ms on the loop: signals (set by the handlers) become actions
 * here, where it is safe; memory housekeeping; the bounded shutdown. */
static void run_housekeeping(void *arg)
{
    struct runtime *rt = arg;

    if (rt->stop_deadline_ns) {
        if (((rt->connectors == NULL || cs_connectors_idle(rt->connectors)) &&
             (rt->rest == NULL || cs_rest_idle(rt->rest))) ||
            cs_time_mono_ns() > rt->stop_deadline_ns) {
            cs_loop_stop(rt->loop);
        }
        return;
    }
    if (cli_stop_requested) {
        cs_log_info(LOG_MAIN, "stopping: closing connections");
        if (rt->connectors) {
            cs_connectors_stop(rt->connectors);
        }
        if (rt->rest) {
            cs_rest_stop(rt->rest);
        }
        rt->stop_deadline_ns = cs_time_mono_ns() + 3 * CS_NS_PER_S;
        return;
    }
    if (cli_reload_requested) {
        cli_reload_requested = 0;
        cs_log_info("lua.reload", "SIGHUP: reloading %s", rt->opt->config);
        /* The running config stays alive (a reference) to compare. */
        struct cs_config *old = cs_config_ref(cs_engine_config(rt->engine));
        if (cs_engine_reload(rt->engine, rt->opt->config) == CS_OK) {
            const struct cs_config *cfg = cs_engine_config(rt->engine);
            warn_storage_restart(&old->storage, &cfg->storage);
            /* The connectors follow once new symbols are warmed up. */
            if (rt->rest) {
                cs_rest_apply(rt->rest, cfg);
            }
            if (rt->httpd &&
                strcmp(cs_http_server_listen(rt->httpd),
                       cfg->metrics.listen) != 0) {
                cs_log_warn("lua.reload", "metrics.listen changed to \"%s\": "
                            "needs a restart; still serving on \"%s\"",
                            cfg->metrics.listen,
                            cs_http_server_listen(rt->httpd));
            }
            /* Delivery routes follow on the notifier thread. */
            cs_notify_routes_reconfigure(rt->routes, cfg);
        }
        cs_config_free(old);
    }
    cs_engine_maintain(rt->engine, 1000);
}

/* REST warm-up, then (on_rest_ready) the WebSocket connectors, within
 * what is left of WARMUP_WAIT_MS. */
static void start_rest(struct runtime *rt)
{
    int64_t spent = (cs_time_mono_ns() - rt->started_mono_ns) / CS_NS_PER_MS;
    int64_t wait = WARMUP_WAIT_MS - spent;

    rt->rest = cs_rest_new(rt->loop, rt->http, rt->engine,
                           cs_engine_config(rt->engine), wait > 0 ? wait : 0,
                           on_rest_ready, rt);
    cs_rest_register_metrics(rt->rest, rt->metrics);
}

/* The warm start from PostgreSQL is over: REST warm-up fills what is newer
 * than the restored rows (older candles are late and ignored). */
static void on_restored(void *arg, uint64_t rows)
{
    struct runtime *rt = arg;
    (void)rows;
    if (rt->rest == NULL && !rt->stop_deadline_ns) {
        start_rest(rt);
    }
}

int cmd_run(const struct options *o)
{
    struct runtime rt;
    struct cs_loop_options lo;
    struct cs_http_options ho;
    struct cs_http_server_options so;
    const struct cs_config *cfg;
    int status = 0;

    memset(&rt, 0, sizeof rt);
    rt.opt = o;
    rt.engine = cli_start_engine(o);
    if (rt.engine == NULL) {
        return 1;
    }
    if (!cli_start_store(rt.engine, &rt.store)) {
        cs_engine_free(rt.engine);
        return 1;
    }
    if (o->emit_ticks || o->emit_alerts) {
        setvbuf(stdout, NULL, _IOLBF, 0);
    }
    cfg = cs_engine_config(rt.engine);
    memset(&lo, 0, sizeof lo);
    lo.ca_file = cfg->connect.ca_file;
    rt.loop = cs_loop_new(&lo);
    if (rt.loop == NULL) {
        cli_stop_store(rt.engine, rt.store);
        cs_store_free(rt.store);
        cs_engine_free(rt.engine);
        return 1;
    }
    cs_log_info(LOG_MAIN, "cryptosup %s running with %s: %zu rules, %zu "
                "exchanges", CS_VERSION, o->config,
                cs_ruleset_count(cs_engine_rules(rt.engine)),
                cfg->nexchanges);
    memset(&ho, 0, sizeof ho);
    ho.ca_file = cfg->connect.ca_file;
    ho.connect_timeout_ms = cfg->connect.connect_timeout_ms;
    rt.http = cs_http_new(rt.loop, &ho);
    if (rt.http == NULL) {
        cs_loop_free(rt.loop);
        cli_stop_store(rt.engine, rt.store);
        cs_store_free(rt.store);
        cs_engine_free(rt.engine);
        return 1;
    }
    /* REST warm-up first; the WebSocket connectors start when it is over
     * (on_rest_ready), so older candles are not made late by live ticks. */
    rt.metrics = cs_metrics_new();
    cs_engine_register_metrics(rt.engine, rt.metrics);
    /* Alerts leave the loop through a bounded queue to the notifier
     * thread, so delivery can never delay ticks. */
    rt.alerts = cs_alert_queue_new(cfg->alert_queue_size);
    rt.routes = cs_notify_routes_new(cfg);
    {
        struct cs_notifier n = cs_notify_routes_notifier(rt.routes);
        rt.notifier = cs_notify_thread_start(rt.alerts, &n, 1);
    }
    if (rt.notifier) {
        cs_engine_set_alert_queue(rt.engine, rt.alerts);
        rt.alert_metrics = cs_alerts_register_metrics(rt.alerts, rt.notifier,
                                                      rt.metrics);
    }
    if (rt.store) {
        cs_store_register_metrics(rt.store, rt.metrics);
    }
    /* With storage, windows are restored from it first (the store's
     * writer reads, a loop timer feeds), then REST warm-up runs. */
    rt.started_mono_ns = cs_time_mono_ns();
    if (rt.store) {
        rt.restore = cs_store_restore_start(rt.loop, rt.store, rt.engine,
                                            RESTORE_WAIT_MS, on_restored,
                                            &rt);
    } else {
        start_rest(&rt);
    }
    /* The endpoint reads the registry, the engine and (for /healthz) the
     * runtime. An unusable address is logged and the engine runs on:
     * monitoring matters more than its scrape endpoint. */
    memset(&so, 0, sizeof so);
    so.listen = cfg->metrics.listen;
    so.metrics = rt.metrics;
    so.engine = rt.engine;
    so.health = runtime_healthy;
    so.health_ctx = &rt;
    rt.httpd = cs_http_server_new(rt.loop, &so);
    rt.housekeeping = cs_timer_new(rt.loop, run_housekeeping, &rt);
    cs_timer_start(rt.housekeeping, 100, 100);
    cs_loop_run(rt.loop);

    log_exchange_stats(rt.connectors);
    if (rt.rest) {
        log_rest_stats(rt.rest);
    }
    cli_log_summary(rt.engine);
    cli_stop_store(rt.engine, rt.store);   /* flush before the final metrics */
    /* Deliver what is queued (bounded by each route's drain timeout)
     * before the final metrics, so they count it. */
    cs_engine_set_alert_queue(rt.engine, NULL);
    cs_notify_thread_stop(rt.notifier);
    /* As in replay: a final metrics file that could not be written makes
     * the exit status 1 (what was asked for did not happen). */
    if (o->metrics_out && !cli_write_metrics(o->metrics_out, rt.metrics)) {
        status = 1;
    }
    cs_http_server_free(rt.httpd);   /* before what it reads */
    cs_metrics_free(rt.metrics);   /* before the subsystems it reads */
    free(rt.alert_metrics);
    cs_notify_thread_free(rt.notifier);
    cs_notify_routes_free(rt.routes);
    cs_alert_queue_free(rt.alerts);
    cs_timer_free(rt.housekeeping);
    cs_store_restore_free(rt.restore);
    cs_rest_free(rt.rest);
    cs_http_free(rt.http);
    cs_connectors_free(rt.connectors);
    cs_loop_free(rt.loop);
    cs_store_free(rt.store);
    cs_engine_free(rt.engine);
    if (fflush(stdout) != 0) {
        return 1;
    }
    return status;
}
