/* Alert templates shared by every delivery route. */
#ifndef CRYPTOSUP_ALERT_RENDER_H
#define CRYPTOSUP_ALERT_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "cryptosup/alert.h"

/* Expand {rule} {exchange} {symbol} {window} {change_pct} {price}
 * {reference} {time} {severity} {message} {count} {status}; other text,
 * unknown placeholders included, is kept. Caller frees. */
char *cs_alert_render(const char *tmpl, const struct cs_alert *a,
                      size_t count);

/* "1h", "5m", "90s", or "n/a" for 0. */
void cs_alert_format_window(int64_t seconds, char *buf, size_t size);

#endif
