/* Alert templates: {placeholders} over an alert's fields, shared by email,
 * webhooks and Alertmanager annotations. */
#include "cryptosup/alert_render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/log.h"
#include "cryptosup/sbuf.h"
#include "cryptosup/timeutil.h"

void cs_alert_format_window(int64_t s, char *buf, size_t size)
{
    if (s <= 0) {
        snprintf(buf, size, "n/a");
    } else if (s % 3600 == 0) {
        snprintf(buf, size, "%lldh", (long long)(s / 3600));
    } else if (s % 60 == 0) {
        snprintf(buf, size, "%lldm", (long long)(s / 60));
    } else {
        snprintf(buf, size, "%llds", (long long)s);
    }
}

char *cs_alert_render(const char *tmpl, const struct cs_alert *a,
                     size_t count)
{
    struct cs_sbuf b = { 0 };
    char tmp[64];

    for (const char *p = tmpl; *p;) {
        const char *close;
        size_t n;
        const char *val = NULL;
        if (*p != '{' || (close = strchr(p, '}')) == NULL) {
            cs_sbuf_put(&b, p, 1);
            p++;
            continue;
        }
        n = (size_t)(close - p - 1);
#define KEY(k) (n == sizeof(k) - 1 && memcmp(p + 1, k, n) == 0)
        if (KEY("rule")) {
            val = a->rule;
        } else if (KEY("exchange")) {
            val = a->exchange;
        } else if (KEY("symbol")) {
            val = a->symbol;
        } else if (KEY("severity")) {
            val = a->severity;
        } else if (KEY("message")) {
            val = a->message;
        } else if (KEY("price")) {
            val = a->price[0] ? a->price : "n/a";
        } else if (KEY("reference")) {
            val = a->reference[0] ? a->reference : "n/a";
        } else if (KEY("window")) {
            cs_alert_format_window(a->window_s, tmp, sizeof tmp);
            val = tmp;
        } else if (KEY("change_pct")) {
            if (a->has_change) {
                snprintf(tmp, sizeof tmp, "%+.2f%%", a->change * 100.0);
            } else {
                snprintf(tmp, sizeof tmp, "n/a");
            }
            val = tmp;
        } else if (KEY("time")) {
            cs_time_format_utc(a->ts_ns, tmp, sizeof tmp - 4);
            strcat(tmp, " UTC");
            val = tmp;
        } else if (KEY("count")) {
            snprintf(tmp, sizeof tmp, "%zu", count);
            val = tmp;
        } else if (KEY("status")) {
            val = a->status == CS_ALERT_RESOLVED ? "resolved" : "firing";
        }
#undef KEY
        if (val == NULL) {     /* not a placeholder: keep the text */
            cs_sbuf_put(&b, p, 1);
            p++;
            continue;
        }
        cs_sbuf_str(&b, val);
        p = close + 1;
    }
    return cs_sbuf_take(&b);
}

