/* A delivery route: what email and webhooks share. Alerts that pass the
 * route's filters are grouped for group_window_s into one message; past
 * max_per_hour messages, alerts are held and sent as one digest when the
 * hour rolls over; each message is retried with exponential backoff. The
 * transport (ops) renders and sends; the route decides what and when.
 * Notifier thread only. */
#ifndef CS_ALERTS_ROUTE_H
#define CS_ALERTS_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/alert.h"
#include "cryptosup/config.h"

enum cs_route_kind {
    CS_ROUTE_GROUP,     /* alerts grouped within the window */
    CS_ROUTE_DIGEST     /* alerts held past max_per_hour */
};

enum cs_route_send {
    CS_ROUTE_SENT,
    CS_ROUTE_RETRY,     /* try again after the backoff */
    CS_ROUTE_GIVE_UP    /* retrying cannot help (a 4xx, a bad config) */
};

struct cs_route_ops {
    /* One message for alerts[0..n) (n >= 1), which stand for `total`
     * alerts (total > n when a digest list was truncated). `id` is unique
     * per message. Returns a malloc'd payload and its length. */
    char *(*render)(void *ctx, enum cs_route_kind kind,
                    const struct cs_alert *alerts, size_t n, size_t total,
                    const char *id, size_t *len);
    /* One blocking attempt of at most timeout_ms (the route's timeout_ms,
     * or less while draining at shutdown). *retry_after_ms: a wait the
     * server asked for (left 0 otherwise). */
    enum cs_route_send (*send)(void *ctx, const char *payload, size_t len,
                               const char *id, int64_t timeout_ms,
                               int64_t *retry_after_ms);
};

struct cs_route;

/* name labels logs ("email", "webhook:ops"); policy is borrowed and must
 * stay valid until the next reconfigure or free. */
struct cs_route *cs_route_new(const char *name, const char *logger,
                              const struct cs_route_ops *ops, void *ctx,
                              const struct cs_config_route *policy);
/* New settings; the open group, the hour's count, held alerts and queued
 * messages are kept. */
void cs_route_reconfigure(struct cs_route *r,
                          const struct cs_config_route *policy);
/* Frees what is still queued without sending: flush(final) first. */
void cs_route_free(struct cs_route *r);
const char *cs_route_name(const struct cs_route *r);

/* Take an alert (filters applied). Never blocks. */
void cs_route_accept(struct cs_route *r, const struct cs_alert *a);
/* Close a due group, roll the hour, attempt due messages. With final set:
 * close everything and keep retrying for drain_timeout_ms, then count
 * what is left as failed. Adds delivered and given-up alerts to *sent and
 * *failed. */
void cs_route_flush(struct cs_route *r, int64_t now_mono_ns, bool final,
                    uint64_t *sent, uint64_t *failed);
/* Messages waiting to be sent (tests, shutdown logs). */
size_t cs_route_pending(const struct cs_route *r);

/* Whether `a` is one of `rules` and `severities` (NULL: any); a test
 * alert always is. Shared by every route kind, Alertmanager included. */
bool cs_alert_selected(char *const *rules, size_t nrules,
                       char *const *severities, size_t nseverities,
                       const struct cs_alert *a);
/* Whether `a` passes rules/severities/send_resolved of `policy`. */
bool cs_route_wants(const struct cs_config_route *policy,
                    const struct cs_alert *a);

#endif
