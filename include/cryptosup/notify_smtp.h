/* Email delivery of alerts over SMTP (libcurl, blocking, on the notifier
 * thread only). Groups alerts arriving within group_window_s into one
 * message, caps messages per hour (past the cap: one digest when the hour
 * rolls over), retries with exponential backoff. Everything that can reach
 * a header is stripped of CR, LF and other controls; a non-ASCII Subject is
 * RFC 2047 encoded. */
#ifndef CRYPTOSUP_NOTIFY_SMTP_H
#define CRYPTOSUP_NOTIFY_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "cryptosup/alert.h"
#include "cryptosup/config.h"

struct cs_notify_smtp;

/* cfg is borrowed: it must stay valid until the next reconfigure or free
 * (the notifier thread holds a reference on the config it came from). */
struct cs_notify_smtp *cs_notify_smtp_new(const struct cs_config_email *cfg);
/* A reload: new settings; grouping, cap and queued messages are kept. */
void cs_notify_smtp_reconfigure(struct cs_notify_smtp *s,
                                const struct cs_config_email *cfg);
void cs_notify_smtp_free(struct cs_notify_smtp *s);   /* NULL is fine */
/* The notifier to hand to cs_notify_thread_start (deferred, with flush). */
struct cs_notifier cs_notify_smtp_notifier(struct cs_notify_smtp *s);

/* Pure helpers (exposed for tests). All results are malloc'd. */

/* In place: CR, LF, TAB and every other control byte become a space. */
void cs_smtp_header_clean(char *s);
/* A header value: cleaned, then RFC 2047 (=?UTF-8?B?...?=, folded) when it
 * holds non-ASCII bytes or "=?". */
char *cs_smtp_encode_header(const char *text);
/* Line ends normalised to CRLF; NUL-free by construction. */
char *cs_smtp_body_crlf(const char *text);
/* RFC 5322 date of unix_ns in UTC: "Sun, 12 Mar 2023 14:05:00 +0000". */
void cs_smtp_format_date(int64_t unix_ns, char *buf, size_t size);
/* The whole message (headers and body, CRLF). */
char *cs_smtp_build_message(const struct cs_config_email *cfg,
                            const char *subject, const char *body,
                            int64_t unix_ns, const char *message_id);

#endif
