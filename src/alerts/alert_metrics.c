/* Alert delivery metrics, read at scrape time from the hand-off queue and
 * the notifier thread (both use atomics, so reading from the loop is
 * safe): queue depth, alerts delivered, delivery failures. */
#include "cryptosup/alert.h"

#include <stdlib.h>

#include "cryptosup/err.h"
#include "cryptosup/metrics.h"

struct alert_metrics {
    const struct cs_alert_queue *queue;
    const struct cs_notify_thread *thread;
};

static void collect(void *ctx, struct cs_metrics_writer *w)
{
    const struct alert_metrics *am = ctx;

    cs_metrics_family(w, "cryptosup_alert_queue_depth", CS_METRIC_GAUGE,
                      "Alerts waiting for the notifier thread");
    cs_metrics_sample(w, "cryptosup_alert_queue_depth", NULL,
                      (double)cs_alert_queue_depth(am->queue));
    cs_metrics_family(w, "cryptosup_alerts_sent_total", CS_METRIC_COUNTER,
                      "Alert deliveries that succeeded (one per notifier)");
    cs_metrics_sample(w, "cryptosup_alerts_sent_total", NULL,
                      (double)cs_notify_thread_delivered(am->thread));
    cs_metrics_family(w, "cryptosup_alerts_failed_total", CS_METRIC_COUNTER,
                      "Alert deliveries that failed (one per notifier)");
    cs_metrics_sample(w, "cryptosup_alerts_failed_total", NULL,
                      (double)cs_notify_thread_failed(am->thread));
    cs_notify_thread_collect(am->thread, w);
}

void *cs_alerts_register_metrics(const struct cs_alert_queue *q,
                                 const struct cs_notify_thread *t,
                                 struct cs_metrics *m)
{
    struct alert_metrics *am = cs_xcalloc(1, sizeof *am);
    am->queue = q;
    am->thread = t;
    cs_metrics_register(m, collect, am);
    return am;
}
