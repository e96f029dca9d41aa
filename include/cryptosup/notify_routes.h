/* Every delivery route the config asks for (email routes, webhooks,
 * Alertmanager) behind one notifier for the notifier thread. A reload
 * hands over the new config: a route whose name is unchanged keeps its
 * state (open group, hourly count, queued retries, Alertmanager's firing
 * set) under the new settings; new routes start; removed routes are
 * drained (bounded by their drain_timeout_ms) and freed. */
#ifndef CRYPTOSUP_NOTIFY_ROUTES_H
#define CRYPTOSUP_NOTIFY_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include "cryptosup/alert.h"
#include "cryptosup/config.h"

struct cs_notify_routes;

/* Takes a reference on cfg for as long as the routes use it. */
struct cs_notify_routes *cs_notify_routes_new(const struct cs_config *cfg);
/* After the notifier thread has stopped. NULL is fine. */
void cs_notify_routes_free(struct cs_notify_routes *r);
struct cs_notifier cs_notify_routes_notifier(struct cs_notify_routes *r);
/* Any thread, never blocks: the next config (a reference is taken). The
 * notifier thread applies it at its next flush, within about a second. */
void cs_notify_routes_reconfigure(struct cs_notify_routes *r,
                                  const struct cs_config *cfg);
/* Routes running now (notifier thread, or when it is stopped). */
size_t cs_notify_routes_count(const struct cs_notify_routes *r);
/* Every route name seen so far with what it delivered and gave up on
 * (any thread: the counters are atomics). */
void cs_notify_routes_each(const struct cs_notify_routes *r,
                           void (*fn)(void *ctx, const char *route,
                                      uint64_t sent, uint64_t failed),
                           void *ctx);

#endif
