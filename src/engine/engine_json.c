/* The engine's state as JSON for the HTTP API: the latest price, quotes
 * and window stats of every watched instrument, and the recent alerts.
 * Built into a caller's writer on the loop thread. */
#include "cryptosup/engine.h"

#include <stdio.h>
#include <string.h>

#include "cryptosup/jsonw.h"
#include "cryptosup/timeutil.h"
#include "engine/instruments.h"

static void decimal(struct cs_jsonw *w, bool has, struct cs_decimal d)
{
    char text[96];
    size_t n;

    if (!has) {
        cs_jsonw_null(w);
        return;
    }
    n = cs_decimal_format(d, false, text, sizeof text);
    if (n >= sizeof text) {
        cs_jsonw_null(w);   /* cannot happen within the exponent limits */
        return;
    }
    cs_jsonw_string(w, text, n);
}

/* A ratio with 12 significant digits, as the alert output spells it. */
static void ratio(struct cs_jsonw *w, double v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%.12g", v);
    if (n <= 0 || (size_t)n >= sizeof num || strchr(num, 'n') ||
        strchr(num, 'i')) {
        cs_jsonw_null(w);   /* nan, inf */
        return;
    }
    cs_jsonw_number_text(w, num, (size_t)n);
}

static void windows(struct cs_jsonw *w, const struct cs_instrument *inst,
                    const int64_t *widths, size_t nwidths)
{
    cs_jsonw_begin_object(w);
    for (size_t i = 0; i < inst->nwindows && i < nwidths; i++) {
        struct cs_window_view v;
        char name[16];

        cs_window_view(inst->windows[i], &v);
        cs_duration_format(widths[i], name, sizeof name);
        cs_jsonw_key(w, name);
        cs_jsonw_begin_object(w);
        cs_jsonw_key(w, "change");
        if (v.complete) {
            ratio(w, v.change);
        } else {
            cs_jsonw_null(w);
        }
        cs_jsonw_key(w, "reference");
        decimal(w, v.complete, v.reference);
        cs_jsonw_key(w, "high");
        decimal(w, v.has_price, v.high);
        cs_jsonw_key(w, "low");
        decimal(w, v.has_price, v.low);
        cs_jsonw_key(w, "complete");
        cs_jsonw_bool(w, v.complete);
        cs_jsonw_key(w, "gapped");
        cs_jsonw_bool(w, v.gapped);
        cs_jsonw_end_object(w);
    }
    cs_jsonw_end_object(w);
}

void cs_engine_prices_json(struct cs_engine *e, struct cs_jsonw *w)
{
    struct cs_instruments *t = cs_engine_instruments(e);
    const struct cs_instrument *inst;
    size_t nwidths = 0;
    const int64_t *widths = cs_instruments_windows(t, &nwidths);

    cs_jsonw_raw(w, "[", 1);
    w->need_comma = false;
    for (size_t i = 0; (inst = cs_instruments_at(t, i)); i++) {
        if (!inst->watched || !inst->has_last) {
            continue;
        }
        cs_jsonw_begin_object(w);
        cs_jsonw_key(w, "exchange");
        cs_jsonw_cstring(w, inst->venue->name);
        cs_jsonw_key(w, "symbol");
        cs_jsonw_cstring(w, inst->symbol);
        cs_jsonw_key(w, "raw_symbol");
        cs_jsonw_cstring(w, inst->raw);
        cs_jsonw_key(w, "price");
        decimal(w, true, inst->last_price);
        cs_jsonw_key(w, "bid");
        decimal(w, inst->has_bid, inst->bid);
        cs_jsonw_key(w, "ask");
        decimal(w, inst->has_ask, inst->ask);
        cs_jsonw_key(w, "ts");
        cs_jsonw_int(w, inst->last_ts_ns / CS_NS_PER_MS);
        cs_jsonw_key(w, "windows");
        windows(w, inst, widths, nwidths);
        cs_jsonw_end_object(w);
    }
    cs_jsonw_raw(w, "]", 1);
    w->need_comma = true;
}

void cs_alert_json_fields(struct cs_jsonw *w, const struct cs_alert *a)
{
    char window[16];

    cs_jsonw_key(w, "state");
    cs_jsonw_cstring(w, a->status == CS_ALERT_FIRING ? "firing" : "resolved");
    cs_jsonw_key(w, "rule");
    cs_jsonw_cstring(w, a->rule);
    cs_jsonw_key(w, "severity");
    cs_jsonw_cstring(w, a->severity);
    cs_jsonw_key(w, "exchange");
    cs_jsonw_cstring(w, a->exchange);
    cs_jsonw_key(w, "symbol");
    cs_jsonw_cstring(w, a->symbol);
    cs_jsonw_key(w, "raw_symbol");
    cs_jsonw_cstring(w, a->raw_symbol);
    cs_jsonw_key(w, "ts");
    cs_jsonw_int(w, a->ts_ns / CS_NS_PER_MS);
    cs_jsonw_key(w, "window");
    if (a->window_s > 0) {
        cs_duration_format(a->window_s, window, sizeof window);
        cs_jsonw_cstring(w, window);
    } else {
        cs_jsonw_null(w);
    }
    cs_jsonw_key(w, "change");
    if (a->has_change) {
        /* 12 significant digits: exact enough for any ratio of prices,
         * without binary noise such as 0.020000000000000018. */
        ratio(w, a->change);
    } else {
        cs_jsonw_null(w);
    }
    cs_jsonw_key(w, "price");
    cs_jsonw_cstring(w, a->price);
    cs_jsonw_key(w, "reference");
    if (a->reference[0]) {
        cs_jsonw_cstring(w, a->reference);
    } else {
        cs_jsonw_null(w);
    }
    cs_jsonw_key(w, "message");
    if (a->message[0]) {
        cs_jsonw_cstring(w, a->message);
    } else {
        cs_jsonw_null(w);
    }
}

void cs_engine_alerts_json(const struct cs_engine *e, struct cs_jsonw *w)
{
    const struct cs_alert *a;

    cs_jsonw_raw(w, "[", 1);
    w->need_comma = false;
    for (size_t i = 0; (a = cs_engine_recent_alert(e, i)); i++) {
        cs_jsonw_begin_object(w);
        cs_jsonw_key(w, "id");
        cs_jsonw_int(w, (int64_t)a->id);
        cs_alert_json_fields(w, a);
        cs_jsonw_end_object(w);
    }
    cs_jsonw_raw(w, "]", 1);
    w->need_comma = true;
}
