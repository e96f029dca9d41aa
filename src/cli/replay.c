/* cryptosup replay: feed recorded frames through the engine (and its
 * alert routes and storage) as if they were arriving live. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/alert.h"
#include "cryptosup/config.h"
#include "cryptosup/engine.h"
#include "cryptosup/log.h"
#include "cryptosup/metrics.h"
#include "cryptosup/notify_routes.h"
#include "cryptosup/replay.h"
#include "cryptosup/store.h"
#include "cryptosup/venue.h"

int cmd_replay(const struct options *o, int nfiles, char **files)
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
    /* A usage error, before anything (a database) is started. */
    if (o->exchange && cs_venue_find(o->exchange) == NULL) {
        cs_log_error(LOG_MAIN, "unknown exchange %s", o->exchange);
        return 2;
    }
    e = cli_start_engine(o);
    if (e == NULL) {
        return 1;
    }
    if (!cli_start_store(e, &store)) {
        cs_engine_free(e);
        return 1;
    }
    memset(&ro, 0, sizeof ro);
    memset(&rstats, 0, sizeof rstats);
    ro.exchange = o->exchange;
    ro.speed = o->speed;
    ro.config_path = o->config;
    ro.stop = &cli_stop_requested;
    ro.reload = &cli_reload_requested;
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
    for (int i = 0; i < nfiles && !cli_stop_requested; i++) {
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
    cli_log_summary(e);
    cli_stop_store(e, store);
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
        if (!cli_write_metrics(o->metrics_out, m)) {
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
