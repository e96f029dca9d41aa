/* Alertmanager delivery (API v2, POST /api/v2/alerts) on the notifier
 * thread. Alertmanager does its own grouping, routing and silencing, so
 * this notifier keeps the set of firing alerts and re-posts it every
 * refresh_s with endsAt = now + 4 * refresh_s (so alerts expire on their
 * own if cryptosup dies), and posts a resolved alert once with
 * endsAt = its resolve time. */
#ifndef CRYPTOSUP_NOTIFY_ALERTMANAGER_H
#define CRYPTOSUP_NOTIFY_ALERTMANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "cryptosup/alert.h"
#include "cryptosup/config.h"

struct cs_notify_am;

/* cfg is borrowed: it must stay valid until the next reconfigure or free
 * (the notifier thread holds a reference on the config it came from). */
struct cs_notify_am *cs_notify_am_new(const struct cs_config_alertmanager *cfg);
/* A reload: new settings, the firing set is kept. Notifier thread only. */
void cs_notify_am_reconfigure(struct cs_notify_am *am,
                              const struct cs_config_alertmanager *cfg);
void cs_notify_am_free(struct cs_notify_am *am);   /* NULL is fine */
/* The notifier (deferred, with flush) for the notifier thread. */
struct cs_notifier cs_notify_am_notifier(struct cs_notify_am *am);

/* Pure helpers, exposed for tests. */

/* The JSON array posted for `n` alerts. ends_at_ns[i] is alert i's endsAt
 * (unix ns), starts_at_ns[i] its startsAt. Caller frees. */
char *cs_am_payload(const struct cs_config_alertmanager *cfg,
                    const struct cs_alert *alerts,
                    const int64_t *starts_at_ns, const int64_t *ends_at_ns,
                    size_t n);

#endif
