/* Webhook delivery of alerts: cryptosup's own JSON document, or the
 * message shapes of Slack and Discord incoming webhooks and Telegram's Bot
 * API. Each webhook is a route (grouping, hourly cap with digest, retries
 * with backoff and Retry-After); posts are blocking libcurl calls on the
 * notifier thread. URLs and tokens are never logged: logs name the route
 * and the host. */
#ifndef CRYPTOSUP_NOTIFY_WEBHOOK_H
#define CRYPTOSUP_NOTIFY_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/alert.h"
#include "cryptosup/config.h"

struct cs_notify_webhook;

/* cfg is borrowed until the next reconfigure or free. */
struct cs_notify_webhook *cs_notify_webhook_new(
    const struct cs_config_webhook *cfg);
void cs_notify_webhook_reconfigure(struct cs_notify_webhook *w,
                                   const struct cs_config_webhook *cfg);
void cs_notify_webhook_free(struct cs_notify_webhook *w);   /* NULL ok */
struct cs_notifier cs_notify_webhook_notifier(struct cs_notify_webhook *w);

/* Pure helpers, exposed for tests. */

/* The body posted for alerts[0..n) standing for `total` alerts; digest
 * marks the hourly digest. Caller frees. */
char *cs_webhook_payload(const struct cs_config_webhook *cfg, bool digest,
                         const struct cs_alert *alerts, size_t n,
                         size_t total, const char *id, size_t *len);
/* "sha256=<hex>" of HMAC-SHA256(secret, "<unix_s>.<body>"). */
void cs_webhook_signature(const char *secret, int64_t unix_s,
                          const char *body, size_t len, char out[80]);

#endif
