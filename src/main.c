/* cryptosup: argv, bootstrap config, signals, the run/check/replay/version
 * commands and their exit codes (0 ok, 1 failure, 2 usage). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cryptosup/config.h"
#include "cryptosup/connector.h"
#include "cryptosup/engine.h"
#include "cryptosup/http.h"
#include "cryptosup/http_server.h"
#include "cryptosup/loop.h"
#include "cryptosup/metrics.h"
#include "cryptosup/notify_routes.h"
#include "cryptosup/log.h"
#include "cryptosup/replay.h"
#include "cryptosup/rest.h"
#include "cryptosup/rules.h"
#include "cryptosup/store.h"
#include "cryptosup/timeutil.h"

#define LOG_MAIN "main"
/* Live WebSocket data waits this long at most for the REST warm-up. */
#define WARMUP_WAIT_MS 20000
/* Of which the warm start from PostgreSQL may take this long at most. */
#define RESTORE_WAIT_MS 10000

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_stop_signal(int sig)
{
    static const char msg[] = "second signal: exiting now\n";
    (void)sig;
    if (stop_requested) {
        /* Only async-signal-safe calls here. */
        ssize_t n = write(2, msg, sizeof msg - 1);
        (void)n;
        _exit(1);
    }
    stop_requested = 1;
}

static void on_reload_signal(int sig)
{
    (void)sig;
    reload_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_reload_signal;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void usage(FILE *out)
{
    fputs("usage:\n"
          "  cryptosup run    [-c config.lua] [--emit ticks,alerts] "
          "[--record DIR]\n"
          "  cryptosup check  [-c config.lua]\n"
          "  cryptosup replay [-c config.lua] [--exchange NAME] "
          "[--emit ticks,alerts]\n"
          "                   [--speed X | --as-fast-as-possible] FILE...\n"
          "  cryptosup version\n"
          "\n"
          "Common options: --log-level debug|info|warn|error,\n"
          "  --metrics-out FILE (run, replay): final metrics, Prometheus text\n"
          "Without -c, run and check use the shipped config/config.lua;\n"
          "replay watches every instrument with the shipped rules.\n", out);
}

struct options {
    const char *config;
    bool config_given;
    bool emit_ticks, emit_alerts;
    const char *exchange;
    double speed;
    const char *record;           /* run: capture directory */
    const char *metrics_out;      /* write the final metrics here */
    bool log_level_given;
    enum cs_log_level log_level;
};

static bool parse_emit(const char *text, struct options *o)
{
    char buf[64];
    char *save = NULL;
    if (strlen(text) >= sizeof buf) {
        return false;
    }
    strcpy(buf, text);
    for (char *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "ticks") == 0) {
            o->emit_ticks = true;
        } else if (strcmp(tok, "alerts") == 0) {
            o->emit_alerts = true;
        } else {
            return false;
        }
    }
    return true;
}

/* Parse options after the command; returns the index of the first
 * operand, or -1 on a usage error (already reported). */
static int parse_options(int argc, char **argv, struct options *o,
                         bool replay)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "emit", required_argument, NULL, 'e' },
        { "exchange", required_argument, NULL, 'x' },
        { "speed", required_argument, NULL, 's' },
        { "as-fast-as-possible", no_argument, NULL, 'f' },
        { "log-level", required_argument, NULL, 'l' },
        { "record", required_argument, NULL, 'r' },
        { "metrics-out", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    char *end;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            o->config_given = true;
            break;
        case 'e':
            if (!parse_emit(optarg, o)) {
                fprintf(stderr, "cryptosup: --emit takes ticks, alerts or "
                        "ticks,alerts\n");
                return -1;
            }
            break;
        case 'x':
            o->exchange = optarg;
            break;
        case 's':
            errno = 0;
            o->speed = strtod(optarg, &end);
            if (errno || *end || !(o->speed > 0) || o->speed > 1e9) {
                fprintf(stderr, "cryptosup: --speed takes a positive "
                        "number\n");
                return -1;
            }
            break;
        case 'f':
            o->speed = 0;
            break;
        case 'l':
            if (!cs_log_parse_level(optarg, &o->log_level)) {
                fprintf(stderr, "cryptosup: bad --log-level %s\n", optarg);
                return -1;
            }
            o->log_level_given = true;
            break;
        case 'r':
            o->record = optarg;
            break;
        case 'm':
            o->metrics_out = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (!replay && (o->exchange || o->speed > 0)) {
        fprintf(stderr, "cryptosup: --exchange and --speed are for "
                "replay\n");
        return -1;
    }
    if (replay && o->record) {
        fprintf(stderr, "cryptosup: --record is for run\n");
        return -1;
    }
    return optind;
}

static const char *default_config(char *buf, size_t size)
{
    snprintf(buf, size, "%s/config/config.lua", cs_config_data_dir());
    return buf;
}

/* Load config and rules; every error goes to the log (and to `report`). */
static enum cs_err load_all(const char *path, struct cs_config **cfg,
                            struct cs_ruleset **rs, FILE *report)
{
    char *errors = NULL;
    enum cs_err err = cs_config_load(path, cfg, &errors);
    if (err == CS_OK) {
        err = cs_ruleset_load(*cfg, rs, &errors);
        if (err != CS_OK) {
            cs_config_free(*cfg);
            *cfg = NULL;
        }
    }
    if (err != CS_OK && report && errors) {
        fputs(errors, report);
    }
    free(errors);
    return err;
}

static void apply_log_level(const struct options *o,
                            const struct cs_config *cfg)
{
    cs_log_set_level(o->log_level_given ? o->log_level : cfg->log_level);
}

/* The final state of every counter, in the Prometheus text format: for
 * backtests and for looking at a run after the fact. */
static bool write_metrics(const char *path, struct cs_metrics *m)
{
    size_t len = 0;
    char *text = cs_metrics_render(m, &len);
    FILE *f = fopen(path, "w");
    bool ok = f && fwrite(text, 1, len, f) == len;
    if (f && fclose(f) != 0) {
        ok = false;
    }
    if (!ok) {
        cs_log_warn_errno(LOG_MAIN, "cannot write metrics to %s", path);
    }
    free(text);
    return ok;
}

static int cmd_check(const struct options *o)
{
    struct cs_config *cfg = NULL;
    struct cs_ruleset *rs = NULL;
    char windows[256] = "";
    size_t n, pos = 0;
    const int64_t *w;

    if (load_all(o->config, &cfg, &rs, stdout) != CS_OK) {
        printf("%s: invalid\n", o->config ? o->config : "(defaults)");
        return 1;
    }
    w = cs_ruleset_windows(rs, &n);
    for (size_t i = 0; i < n && pos < sizeof windows - 16; i++) {
        char d[16];
        cs_duration_format(w[i], d, sizeof d);
        pos += (size_t)snprintf(windows + pos, sizeof windows - pos, "%s%s",
                                i ? "," : "", d);
    }
    printf("%s: ok: %zu rules from %zu files, %zu exchanges, rule windows "
           "%s\n", o->config ? o->config : "(defaults)",
           cs_ruleset_count(rs), cfg->nrule_files, cfg->nexchanges,
           windows[0] ? windows : "none");
    cs_ruleset_free(rs);
    cs_config_free(cfg);
    return 0;
}

static struct cs_engine *start_engine(const struct options *o)
{
    struct cs_config *cfg = NULL;
    struct cs_ruleset *rs = NULL;
    struct cs_engine_options eo;

    if (load_all(o->config, &cfg, &rs, NULL) != CS_OK) {
        cs_log_error(LOG_MAIN, "cannot start: fix the errors above "
                     "(cryptosup check lists them all)");
        return NULL;
    }
    apply_log_level(o, cfg);
    memset(&eo, 0, sizeof eo);
    eo.emit = (o->emit_ticks || o->emit_alerts) ? stdout : NULL;
    eo.emit_ticks = o->emit_ticks;
    eo.emit_alerts = o->emit_alerts;
    return cs_engine_new(cfg, rs, &eo);
}

static void log_summary(const struct cs_engine *e)
{
    const struct cs_engine_stats *s = cs_engine_stats(e);
    cs_log_info(LOG_MAIN, "frames %llu (data %llu, control %llu, ignored "
                "%llu, unknown %llu, malformed %llu), ticks %llu (late %llu, "
                "unwatched %llu), instruments %llu, alerts %llu",
                (unsigned long long)s->frames,
                (unsigned long long)s->frames_data,
                (unsigned long long)s->frames_control,
                (unsigned long long)s->frames_ignored,
                (unsigned long long)s->frames_unknown,
                (unsigned long long)s->frames_malformed,
                (unsigned long long)s->ticks,
                (unsigned long long)s->ticks_late,
                (unsigned long long)s->ticks_unwatched,
                (unsigned long long)s->instruments,
                (unsigned long long)s->alerts_fired);
}

/* How long shutdown waits for the database before spilling the rest. */
#define STORE_FLUSH_TIMEOUT_MS 10000

/* Start history storage when the config asks for it. False: configured
 * but unusable (logged); *out NULL when not configured. */
static bool start_store(struct cs_engine *e, struct cs_store **out)
{
    const struct cs_config_storage *sc = &cs_engine_config(e)->storage;

    *out = NULL;
    if (!sc->enabled) {
        return true;
    }
    *out = cs_store_new(sc);
    if (*out == NULL) {
        return false;
    }
    cs_engine_set_store(e, *out);
    return true;
}

/* Hand over what the engine holds and write out the queue (bounded). */
static void stop_store(struct cs_engine *e, struct cs_store *s)
{
    if (s == NULL) {
        return;
    }
    cs_engine_store_flush(e);
    cs_engine_set_store(e, NULL);
    cs_store_stop(s, STORE_FLUSH_TIMEOUT_MS);
}

static int cmd_replay(const struct options *o, int nfiles, char **files)
{
    struct cs_store *store = NULL;
    struct cs_engine *e;
    struct cs_replay_options ro;
    struct cs_replay_stats rstats;
    struct cs_notify_routes *routes = NULL;
    struct cs_notifier routes_notifier;
    struct cs_alert_queue *alerts = NULL;
    struct cs_notify_thread *notifier = NULL;
    int status = 0;

    if (nfiles == 0) {
        fprintf(stderr, "cryptosup replay: no input files\n");
        return 2;
    }
    e = start_engine(o);
    if (e == NULL) {
        return 1;
    }
    if (!start_store(e, &store)) {
        cs_engine_free(e);
        return 1;
    }
    memset(&ro, 0, sizeof ro);
    memset(&rstats, 0, sizeof rstats);
    ro.exchange = o->exchange;
    ro.speed = o->speed;
    ro.config_path = o->config;
    ro.stop = &stop_requested;
    ro.reload = &reload_requested;
    if (o->exchange && cs_venue_find(o->exchange) == NULL) {
        cs_log_error(LOG_MAIN, "unknown exchange %s", o->exchange);
        stop_store(e, store);
        cs_store_free(store);
        cs_engine_free(e);
        return 2;
    }
    /* Alerts are delivered during replay too (email, webhooks,
     * Alertmanager); the notifier thread is drained (bounded by each
     * route's drain_timeout_ms) at the end. */
    if (cs_config_alerts_any(&cs_engine_config(e)->alerts)) {
        routes = cs_notify_routes_new(cs_engine_config(e));
        routes_notifier = cs_notify_routes_notifier(routes);
        alerts = cs_alert_queue_new(cs_engine_config(e)->alert_queue_size);
        notifier = cs_notify_thread_start(alerts, &routes_notifier, 1);
        if (notifier) {
            cs_engine_set_alert_queue(e, alerts);
        }
    }
    for (int i = 0; i < nfiles && !stop_requested; i++) {
        if (cs_replay_file(e, files[i], &ro, &rstats) != CS_OK) {
            status = 1;
        }
    }
    cs_engine_set_alert_queue(e, NULL);
    cs_notify_thread_stop(notifier);   /* drains; counters stay readable */
    if (fflush(stdout) != 0) {
        cs_log_warn_errno(LOG_MAIN, "writing output");
        status = 1;
    }
    log_summary(e);
    stop_store(e, store);
    if (o->metrics_out) {
        struct cs_metrics *m = cs_metrics_new();
        void *am = NULL;
        cs_engine_register_metrics(e, m);
        if (store) {
            cs_store_register_metrics(store, m);
        }
        if (notifier) {
            am = cs_alerts_register_metrics(alerts, notifier, m);
        }
        if (!write_metrics(o->metrics_out, m)) {
            status = 1;
        }
        cs_metrics_free(m);
        free(am);
    }
    cs_notify_thread_free(notifier);
    cs_alert_queue_free(alerts);
    cs_notify_routes_free(routes);
    cs_store_free(store);
    cs_engine_free(e);
    return status;
}

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

    if (rt->stop_deadline_ns || stop_requested) {
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
    if (stop_requested) {
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
    if (reload_requested) {
        reload_requested = 0;
        cs_log_info("lua.reload", "SIGHUP: reloading %s", rt->opt->config);
        if (cs_engine_reload(rt->engine, rt->opt->config) == CS_OK) {
            const struct cs_config *cfg = cs_engine_config(rt->engine);
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

static int cmd_run(const struct options *o)
{
    struct runtime rt;
    struct cs_loop_options lo;
    struct cs_http_options ho;
    struct cs_http_server_options so;
    const struct cs_config *cfg;

    memset(&rt, 0, sizeof rt);
    rt.opt = o;
    rt.engine = start_engine(o);
    if (rt.engine == NULL) {
        return 1;
    }
    if (!start_store(rt.engine, &rt.store)) {
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
        stop_store(rt.engine, rt.store);
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
        stop_store(rt.engine, rt.store);
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
    log_summary(rt.engine);
    stop_store(rt.engine, rt.store);   /* flush before the final metrics */
    /* Deliver what is queued (bounded by each route's drain timeout)
     * before the final metrics, so they count it. */
    cs_engine_set_alert_queue(rt.engine, NULL);
    cs_notify_thread_stop(rt.notifier);
    if (o->metrics_out) {
        write_metrics(o->metrics_out, rt.metrics);
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
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    char config_buf[4096];
    const char *cmd = "run";
    int first;

    memset(&o, 0, sizeof o);
    if (argc > 1 && argv[1][0] != '-') {
        cmd = argv[1];
        argv++;
        argc--;
    }
    if (strcmp(cmd, "version") == 0) {
        printf("cryptosup %s (%s)\n", CS_VERSION, cs_rules_lua_release());
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "run") != 0 && strcmp(cmd, "check") != 0 &&
        strcmp(cmd, "replay") != 0) {
        fprintf(stderr, "cryptosup: unknown command \"%s\"\n", cmd);
        usage(stderr);
        return 2;
    }
    first = parse_options(argc, argv, &o, strcmp(cmd, "replay") == 0);
    if (first < 0) {
        return 2;
    }
    if (o.log_level_given) {
        cs_log_set_level(o.log_level);
    }
    if (!o.config_given && strcmp(cmd, "replay") != 0) {
        o.config = default_config(config_buf, sizeof config_buf);
    }
    install_signals();
    if (strcmp(cmd, "check") == 0) {
        return cmd_check(&o);
    }
    if (strcmp(cmd, "replay") == 0) {
        return cmd_replay(&o, argc - first, argv + first);
    }
    if (first < argc) {
        fprintf(stderr, "cryptosup run: unexpected argument %s\n",
                argv[first]);
        return 2;
    }
    return cmd_run(&o);
}
