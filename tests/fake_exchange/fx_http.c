/* HTTP side of the fake exchange: the venues' REST endpoints (fixture-shaped
 * bodies, deterministic klines/candles, injected 429/418/slow responses)
 * on the exchange port, and the JSON control API on the control port. */
#include "fx.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define FX_HTTP_BODY_MAX (64 * 1024)   /* control request bodies */
#define FX_HTTP_CHUNK    16384

static struct fx_server *srv_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

static void http_reset(struct fx_http *h)
{
    free(h->req_body);
    free(h->body);
    h->req_body = NULL;
    h->body = NULL;
    h->req_len = h->body_len = h->body_off = 0;
    h->req_overflow = h->headers_sent = h->ready = false;
    h->retry_after_s = -1;
    h->status = 0;
    h->xhdr_name[0] = h->xhdr_val[0] = '\0';
}

static void pending_remove(struct fx_server *s, struct fx_http *h)
{
    for (struct fx_http **pp = &s->pending_http; *pp; pp = &(*pp)->next_pending) {
        if (*pp == h) {
            *pp = h->next_pending;
            break;
        }
    }
    h->pending = false;
    h->next_pending = NULL;
}

/* Takes ownership of `body` (malloc'd, NUL-terminated). */
static void respond(struct fx_http *h, int status, const char *ctype,
                    char *body, int64_t delay_ms)
{
    free(h->body);
    h->status = status;
    h->ctype = ctype;
    h->body = body;
    h->body_len = strlen(body);
    h->body_off = 0;
    h->ready = true;
    if (delay_ms > 0) {
        h->due_us = fx_now_us() + delay_ms * 1000;
        h->pending = true;
        h->next_pending = h->srv->pending_http;
        h->srv->pending_http = h;
        /* keep lws from timing the connection out meanwhile */
        lws_set_timeout(h->wsi, PENDING_TIMEOUT_HTTP_CONTENT,
                        (int)(delay_ms / 1000) + 30);
    } else {
        lws_callback_on_writable(h->wsi);
    }
}

static void respond_json(struct fx_http *h, int status, struct fx_str *s,
                         int64_t delay_ms)
{
    char *body = s->p ? s->p : fx_xstrndup("{}", 2);

    s->p = NULL;
    s->len = s->cap = 0;
    respond(h, status, "application/json", body, delay_ms);
}

static void respond_text(struct fx_http *h, int status, const char *text)
{
    respond(h, status, "application/json", fx_xstrndup(text, strlen(text)), 0);
}

static int http_write(struct fx_http *h, struct lws *wsi)
{
    unsigned char buf[LWS_PRE + FX_HTTP_CHUNK];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    size_t n;
    bool last;

    if (!h->ready || h->pending) {
        return 0;
    }
    if (!h->headers_sent) {
        if (lws_add_http_common_headers(wsi, (unsigned)h->status, h->ctype,
                                        h->body_len, &p, end)) {
            return 1;
        }
        if (h->retry_after_s >= 0) {
            char v[24];
            int vl = snprintf(v, sizeof v, "%d", h->retry_after_s);
            if (lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                            (const unsigned char *)v, vl, &p, end)) {
                return 1;
            }
        }
        if (h->xhdr_name[0]) {
            if (lws_add_http_header_by_name(wsi, (const unsigned char *)h->xhdr_name,
                                            (const unsigned char *)h->xhdr_val,
                                            (int)strlen(h->xhdr_val), &p, end)) {
                return 1;
            }
        }
        if (lws_finalize_write_http_header(wsi, start, &p, end)) {
            return 1;
        }
        h->headers_sent = true;
        lws_callback_on_writable(wsi);
        return 0;
    }
    n = h->body_len - h->body_off;
    if (n > FX_HTTP_CHUNK) {
        n = FX_HTTP_CHUNK;
    }
    last = h->body_off + n >= h->body_len;
    memcpy(start, h->body + h->body_off, n);
    if (lws_write(wsi, start, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP)
        != (int)n) {
        return 1;
    }
    h->body_off += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    h->ready = false;
    if (lws_http_transaction_completed(wsi)) {
        return -1;
    }
    return 0;
}

void fx_http_tick(struct fx_server *s, int64_t now_us)
{
    struct fx_http **pp = &s->pending_http;

    while (*pp) {
        struct fx_http *h = *pp;
        if (h->due_us <= now_us) {
            *pp = h->next_pending;
            h->pending = false;
            h->next_pending = NULL;
            lws_callback_on_writable(h->wsi);
        } else {
            pp = &h->next_pending;
        }
    }
}

void fx_http_free_pending(struct fx_server *s)
{
    s->pending_http = NULL;
}

/* Query argument `name` into buf; false when absent. */
static bool arg(struct lws *wsi, const char *name, char *buf, size_t size)
{
    char tmp[1024], key[64];
    const char *v;

    snprintf(key, sizeof key, "%s=", name);
    v = lws_get_urlarg_by_name(wsi, key, tmp, (int)sizeof tmp);
    if (!v) {
        return false;
    }
    snprintf(buf, size, "%s", v);
    return true;
}

static void uri_of(struct lws *wsi, const struct fx_http *h, char *buf,
                   size_t size)
{
    char frag[512];
    size_t used;

    snprintf(buf, size, "%s", h->path);
    for (int i = 0; ; i++) {
        if (lws_hdr_copy_fragment(wsi, frag, sizeof frag,
                                  WSI_TOKEN_HTTP_URI_ARGS, i) <= 0) {
            break;
        }
        used = strlen(buf);
        if (used + 1 + strlen(frag) < size) {    /* whole arguments only */
            buf[used] = i ? '&' : '?';
            memcpy(buf + used + 1, frag, strlen(frag) + 1);
        }
    }
}

/* ---- prices ---- */

static const char *price_override(struct fx_server *s, int venue,
                                  const char *symbol)
{
    for (size_t i = 0; i < s->nprices; i++) {
        if (s->prices[i].venue == venue && fx_ieq(s->prices[i].symbol, symbol)) {
            return s->prices[i].price;
        }
    }
    return NULL;
}

static uint32_t hash_str(const char *p)
{
    uint32_t h = 2166136261U;

    for (; *p; p++) {
        h = (h ^ (uint32_t)toupper((unsigned char)*p)) * 16777619U;
    }
    return h;
}

static cJSON *recorded_element(struct fx_server *s, enum fx_venue_id v,
                               const char *chan, const char *symbol, bool exact);

/* The reference price of `symbol` as decimal text: the /price override,
 * else what the fixtures show for it, else a fixed value derived from the
 * name (100.00 .. 999.99). */
static void ref_price(struct fx_server *s, int venue, const char *symbol,
                      char *out, size_t size)
{
    const char *o = price_override(s, venue, symbol);
    const char *found = NULL;
    cJSON *j = NULL;

    if (o) {
        snprintf(out, size, "%s", o);
        return;
    }
    switch (venue) {
    case FX_BINANCE: {
        const struct fx_feed *t = &s->templates[FX_TPL_BINANCE_PRICE];
        for (size_t i = 0; i < t->n && !found; i++) {
            const char *sym;
            cJSON_Delete(j);
            j = cJSON_ParseWithLength(t->frames[i].text, t->frames[i].len);
            sym = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "symbol"));
            if (sym && fx_ieq(sym, symbol)) {
                found = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "price"));
            }
        }
        break;
    }
    case FX_COINBASE: {
        const struct fx_feed *t = &s->templates[FX_TPL_COINBASE_TICKER];
        if (t->n && fx_ieq(symbol, "BTC-USD")) {
            j = cJSON_ParseWithLength(t->frames[0].text, t->frames[0].len);
            found = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "best_ask"));
        }
        break;
    }
    case FX_OKX:
        j = recorded_element(s, FX_OKX, "tickers", symbol, true);
        found = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "last"));
        break;
    case FX_BYBIT_SPOT:
    case FX_BYBIT_LINEAR:
        j = recorded_element(s, (enum fx_venue_id)venue, "tickers", symbol, true);
        found = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "lastPrice"));
        break;
    case FX_KRAKEN:
        if (strstr(symbol, "XBT") || strstr(symbol, "BTC")) {
            found = "105899.40";
        }
        break;
    default:
        break;
    }
    if (found) {
        snprintf(out, size, "%s", found);
    } else {
        uint32_t h = 10000 + hash_str(symbol) % 90000;
        snprintf(out, size, "%u.%02u", h / 100, h % 100);
    }
    cJSON_Delete(j);
}

/* The reference price in units of 10^-scale. */
static int64_t base_units(struct fx_server *s, int venue, const char *symbol,
                          int scale)
{
    char px[64];
    int64_t units = 0;
    int frac = -1;

    ref_price(s, venue, symbol, px, sizeof px);
    for (const char *p = px; *p; p++) {
        if (*p == '.') {
            frac = 0;
        } else if (isdigit((unsigned char)*p) && frac < scale) {
            units = units * 10 + (*p - '0');
            if (frac >= 0) {
                frac++;
            }
        }
    }
    for (frac = frac < 0 ? 0 : frac; frac < scale; frac++) {
        units *= 10;
    }
    return units;
}

static void fmt_units(char *buf, size_t size, int64_t units, int scale)
{
    int64_t mul = 1;

    for (int i = 0; i < scale; i++) {
        mul *= 10;
    }
    if (units < 0) {
        units = 0;
    }
    if (scale == 0) {
        snprintf(buf, size, "%lld", (long long)units);
    } else {
        snprintf(buf, size, "%lld.%0*lld", (long long)(units / mul), scale,
                 (long long)(units % mul));
    }
}

/* One synthetic OHLC bar: deterministic in (symbol, bar index). */
static void bar(int64_t base, int64_t idx, int64_t *o, int64_t *h, int64_t *l,
                int64_t *c)
{
    int64_t a = ((idx * 7919) % 201 + 201) % 201 - 100;
    int64_t b = (((idx + 1) * 7919) % 201 + 201) % 201 - 100;

    *o = base + base * a / 10000;
    *c = base + base * b / 10000;
    *h = (*o > *c ? *o : *c) + base / 1000;
    *l = (*o < *c ? *o : *c) - base / 1000;
}

/* ---- REST: Binance ---- */

static bool binance_symbol_ok(const char *s)
{
    size_t n = strlen(s);

    if (n < 2 || n > 20) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

static void binance_price_obj(struct fx_server *s, struct fx_str *out,
                              const char *sym)
{
    char px[48];

    fmt_units(px, sizeof px, base_units(s, FX_BINANCE, sym, 8), 8);
    fx_str_adds(out, "{\"symbol\":");
    fx_str_add_json(out, sym);
    fx_str_addf(out, ",\"price\":\"%s\"}", px);
}

static const char *binance_err(int code)
{
    switch (code) {
    case -1121: return "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}";
    case -1120: return "{\"code\":-1120,\"msg\":\"Invalid interval.\"}";
    case -1102: return "{\"code\":-1102,\"msg\":\"Mandatory parameter 'symbol' was "
                       "not sent, was empty/null, or malformed.\"}";
    default: return "{\"code\":-1100,\"msg\":\"Illegal characters found in a "
                    "parameter.\"}";
    }
}

static int64_t interval_s(const char *iv)
{
    static const struct { const char *name; int64_t s; } tab[] = {
        { "1s", 1 }, { "1m", 60 }, { "3m", 180 }, { "5m", 300 },
        { "15m", 900 }, { "30m", 1800 }, { "1h", 3600 }, { "2h", 7200 },
        { "4h", 14400 }, { "6h", 21600 }, { "8h", 28800 }, { "12h", 43200 },
        { "1d", 86400 }, { "3d", 259200 }, { "1w", 604800 },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (!strcmp(iv, tab[i].name)) {
            return tab[i].s;
        }
    }
    return 0;
}

static void rest_binance(struct fx_http *h, struct lws *wsi, const char *sub,
                         int64_t delay_ms)
{
    struct fx_server *s = h->srv;
    struct fx_str out = { 0 };
    char sym[64] = "", syms[1024] = "";
    bool has_sym = arg(wsi, "symbol", sym, sizeof sym);

    if (!strcmp(sub, "/api/v3/ping")) {
        fx_str_adds(&out, "{}");
    } else if (!strcmp(sub, "/api/v3/time")) {
        fx_str_addf(&out, "{\"serverTime\":%lld}", (long long)fx_wall_ms());
    } else if (!strcmp(sub, "/api/v3/ticker/price")) {
        snprintf(h->xhdr_val, sizeof h->xhdr_val, "%d", has_sym ? 2 : 4);
        if (has_sym) {
            if (!binance_symbol_ok(sym)) {
                respond_text(h, 400, binance_err(-1121));
                return;
            }
            binance_price_obj(s, &out, sym);
        } else if (arg(wsi, "symbols", syms, sizeof syms)) {
            /* ["BTCUSDT","ETHUSDT"] */
            fx_str_adds(&out, "[");
            int n = 0;
            for (char *save = NULL, *tok = strtok_r(syms, "[]\",", &save); tok;
                 tok = strtok_r(NULL, "[]\",", &save)) {
                if (!binance_symbol_ok(tok)) {
                    respond_text(h, 400, binance_err(-1121));
                    fx_str_free(&out);
                    return;
                }
                fx_str_adds(&out, n++ ? "," : "");
                binance_price_obj(s, &out, tok);
            }
            fx_str_adds(&out, "]");
        } else {
            const struct fx_feed *t = &s->templates[FX_TPL_BINANCE_PRICE];
            fx_str_adds(&out, t->n > 1 ? t->frames[1].text : "[]");
        }
    } else if (!strcmp(sub, "/api/v3/ticker/24hr")) {
        const struct fx_feed *t = &s->templates[FX_TPL_BINANCE_24HR];
        if (!has_sym || t->n < 1) {
            fx_str_adds(&out, t->n > 1 ? t->frames[1].text : "[]");
        } else if (!binance_symbol_ok(sym)) {
            respond_text(h, 400, binance_err(-1121));
            return;
        } else {
            fx_subst_symbol(t->frames[0].text, t->frames[0].len, "BNBBTC", sym,
                            &out);
        }
    } else if (!strcmp(sub, "/api/v3/klines")) {
        char iv[16] = "", lim[16] = "", st[32] = "", en[32] = "";
        int64_t step, limit = 500, end_ms, first;
        if (!has_sym || !sym[0]) {
            respond_text(h, 400, binance_err(-1102));
            return;
        }
        if (!binance_symbol_ok(sym)) {
            respond_text(h, 400, binance_err(-1121));
            return;
        }
        arg(wsi, "interval", iv, sizeof iv);
        if ((step = interval_s(iv) * 1000) == 0) {
            respond_text(h, 400, binance_err(-1120));
            return;
        }
        if (arg(wsi, "limit", lim, sizeof lim)) {
            limit = atoll(lim);
            if (limit < 1 || limit > 1000) {
                respond_text(h, 400, "{\"code\":-1100,\"msg\":\"Illegal "
                             "characters found in parameter 'limit'; legal "
                             "range is '1..1000'.\"}");
                return;
            }
        }
        end_ms = arg(wsi, "endTime", en, sizeof en) ? atoll(en) : fx_wall_ms();
        first = end_ms / step - (limit - 1);
        if (arg(wsi, "startTime", st, sizeof st)) {
            first = (atoll(st) + step - 1) / step;
            if (first + limit - 1 > end_ms / step) {
                limit = end_ms / step - first + 1;
            }
        }
        int64_t base = base_units(s, FX_BINANCE, sym, 8);
        fx_str_adds(&out, "[");
        for (int64_t i = 0; i < limit; i++) {
            int64_t idx = first + i, o, hi, lo, c;
            char so[48], sh[48], sl[48], sc[48];
            bar(base, idx, &o, &hi, &lo, &c);
            fmt_units(so, sizeof so, o, 8);
            fmt_units(sh, sizeof sh, hi, 8);
            fmt_units(sl, sizeof sl, lo, 8);
            fmt_units(sc, sizeof sc, c, 8);
            fx_str_addf(&out, "%s[%lld,\"%s\",\"%s\",\"%s\",\"%s\",\"%lld.00000000\","
                        "%lld,\"%lld.00000000\",%lld,\"%lld.00000000\","
                        "\"%lld.00000000\",\"0\"]", i ? "," : "",
                        (long long)(idx * step), so, sh, sl, sc,
                        (long long)(10 + idx % 90), (long long)(idx * step + step - 1),
                        (long long)((10 + idx % 90) * (base / 100000000 + 1)),
                        (long long)(5 + idx % 50), (long long)(5 + idx % 45),
                        (long long)((5 + idx % 45) * (base / 100000000 + 1)));
        }
        fx_str_adds(&out, "]");
        snprintf(h->xhdr_val, sizeof h->xhdr_val, "%d", 2);
    } else {
        respond_text(h, 404, "{\"code\":-1000,\"msg\":\"Unknown endpoint.\"}");
        return;
    }
    snprintf(h->xhdr_name, sizeof h->xhdr_name, "x-mbx-used-weight-1m:");
    if (!h->xhdr_val[0]) {
        snprintf(h->xhdr_val, sizeof h->xhdr_val, "1");
    }
    respond_json(h, 200, &out, delay_ms);
}

/* ---- REST: Coinbase Advanced Trade ---- */

static int64_t granularity_s(const char *g)
{
    static const struct { const char *name; int64_t s; } tab[] = {
        { "ONE_MINUTE", 60 }, { "FIVE_MINUTE", 300 }, { "FIFTEEN_MINUTE", 900 },
        { "THIRTY_MINUTE", 1800 }, { "ONE_HOUR", 3600 }, { "TWO_HOUR", 7200 },
        { "SIX_HOUR", 21600 }, { "ONE_DAY", 86400 },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (!strcmp(g, tab[i].name)) {
            return tab[i].s;
        }
    }
    return 0;
}

static bool product_ok(const char *p)
{
    const char *dash = strchr(p, '-');
    size_t n = strlen(p);

    if (!dash || dash == p || n < 3 || n > 30 || !dash[1]) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isupper((unsigned char)p[i]) && !isdigit((unsigned char)p[i])
            && p[i] != '-') {
            return false;
        }
    }
    return true;
}

static void rest_coinbase(struct fx_http *h, struct lws *wsi, const char *sub,
                          int64_t delay_ms)
{
    struct fx_server *s = h->srv;
    static const char prefix[] = "/api/v3/brokerage/market/products/";
    char product[64], what[32];
    struct fx_str out = { 0 };
    const char *rest;
    size_t plen;

    if (strncmp(sub, prefix, sizeof prefix - 1) != 0) {
        respond_text(h, 404, "{\"error\":\"NOT_FOUND\",\"message\":\"not found\"}");
        return;
    }
    rest = sub + sizeof prefix - 1;
    plen = strcspn(rest, "/");
    if (plen == 0 || plen >= sizeof product || !rest[plen]) {
        respond_text(h, 404, "{\"error\":\"NOT_FOUND\",\"message\":\"not found\"}");
        return;
    }
    memcpy(product, rest, plen);
    product[plen] = '\0';
    snprintf(what, sizeof what, "%s", rest + plen + 1);
    if (!product_ok(product)) {
        respond_text(h, 404, "{\"error\":\"NOT_FOUND\",\"error_details\":"
                     "\"ProductID is invalid\",\"message\":\"ProductID is invalid\"}");
        return;
    }
    if (!strcmp(what, "ticker")) {
        const struct fx_feed *t = &s->templates[FX_TPL_COINBASE_TICKER];
        cJSON *j = t->n ? cJSON_ParseWithLength(t->frames[0].text, t->frames[0].len)
                        : NULL;
        const cJSON *tr;
        char px[48], bid[48], ask[48], lim[16];
        int64_t base = base_units(s, FX_COINBASE, product, 2);
        int limit = arg(wsi, "limit", lim, sizeof lim) ? atoi(lim) : 0;
        if (!j) {
            respond_text(h, 500, "{\"error\":\"INTERNAL\"}");
            return;
        }
        fmt_units(px, sizeof px, base, 2);
        fmt_units(bid, sizeof bid, base - 1, 2);
        fmt_units(ask, sizeof ask, base, 2);
        cJSON *trades = cJSON_GetObjectItemCaseSensitive(j, "trades");
        while (limit > 0 && cJSON_GetArraySize(trades) > limit) {
            cJSON_DeleteItemFromArray(trades, cJSON_GetArraySize(trades) - 1);
        }
        cJSON_ArrayForEach(tr, trades) {
            cJSON_ReplaceItemInObjectCaseSensitive((cJSON *)tr, "product_id",
                                                   cJSON_CreateString(product));
            cJSON_ReplaceItemInObjectCaseSensitive((cJSON *)tr, "price",
                                                   cJSON_CreateString(px));
        }
        cJSON_ReplaceItemInObjectCaseSensitive(j, "best_bid", cJSON_CreateString(bid));
        cJSON_ReplaceItemInObjectCaseSensitive(j, "best_ask", cJSON_CreateString(ask));
        char *txt = cJSON_PrintUnformatted(j);
        fx_str_adds(&out, txt);
        free(txt);
        cJSON_Delete(j);
    } else if (!strcmp(what, "candles")) {
        char g[32] = "", st[32] = "", en[32] = "";
        int64_t gs, start, end, n;
        arg(wsi, "granularity", g, sizeof g);
        if ((gs = granularity_s(g)) == 0) {
            respond_text(h, 400, "{\"error\":\"INVALID_ARGUMENT\",\"error_details\":"
                         "\"granularity is invalid\",\"message\":\"granularity is invalid\"}");
            return;
        }
        end = arg(wsi, "end", en, sizeof en) ? atoll(en) : fx_wall_ms() / 1000;
        start = arg(wsi, "start", st, sizeof st) ? atoll(st) : end - 300 * gs;
        n = end / gs - (start + gs - 1) / gs + 1;
        if (n > 350) {
            respond_text(h, 400, "{\"error\":\"INVALID_ARGUMENT\",\"error_details\":"
                         "\"number of candles requested should be less than 350 \","
                         "\"message\":\"number of candles requested should be less "
                         "than 350 \"}");
            return;
        }
        int64_t base = base_units(s, FX_COINBASE, product, 2);
        fx_str_adds(&out, "{\"candles\":[");
        for (int64_t i = 0, idx = end / gs; i < n; i++, idx--) {
            int64_t o, hi, lo, c;
            char so[48], sh[48], sl[48], sc[48];
            bar(base, idx, &o, &hi, &lo, &c);
            fmt_units(so, sizeof so, o, 2);
            fmt_units(sh, sizeof sh, hi, 2);
            fmt_units(sl, sizeof sl, lo, 2);
            fmt_units(sc, sizeof sc, c, 2);
            fx_str_addf(&out, "%s{\"start\":\"%lld\",\"low\":\"%s\",\"high\":\"%s\","
                        "\"open\":\"%s\",\"close\":\"%s\",\"volume\":\"%lld.5\"}",
                        i ? "," : "", (long long)(idx * gs), sl, sh, so, sc,
                        (long long)(1 + idx % 100));
        }
        fx_str_adds(&out, "]}");
    } else {
        respond_text(h, 404, "{\"error\":\"NOT_FOUND\",\"message\":\"not found\"}");
        return;
    }
    respond_json(h, 200, &out, delay_ms);
}

/* ---- REST: OKX, Bybit, Kraken ---- */

/* data[0] (OKX) or data (Bybit) of the first recorded frame of `chan`,
 * preferring `symbol`; a new cJSON the caller deletes, or NULL. */
static cJSON *recorded_element(struct fx_server *s, enum fx_venue_id v,
                               const char *chan, const char *symbol, bool exact)
{
    const struct fx_feed *f = &s->feeds[v];
    int ch = fx_feed_channel(f, chan), want = fx_feed_symbol(f, symbol);
    int fallback = fx_feed_symbol(f, v == FX_OKX ? "BTC-USDT" : "BTCUSDT");
    const struct fx_frame *pick = NULL;

    for (size_t i = 0; i < f->n && ch >= 0; i++) {
        const struct fx_frame *fr = &f->frames[i];
        if (fr->channel != ch || (v != FX_OKX && !fr->snapshot)) {
            continue;
        }
        if (!pick || (want >= 0 && fr->symbol == want && pick->symbol != want)
            || (want < 0 && pick->symbol != fallback && fr->symbol == fallback)) {
            pick = fr;
        }
    }
    if (!pick || (exact && pick->symbol != want)) {
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(pick->text, pick->len);
    cJSON *d = cJSON_DetachItemFromObjectCaseSensitive(j, "data");
    cJSON *el = cJSON_IsArray(d) ? cJSON_DetachItemFromArray(d, 0) : d;
    if (el != d) {
        cJSON_Delete(d);
    }
    cJSON_Delete(j);
    return el;
}

static void rest_okx(struct fx_http *h, struct lws *wsi, const char *sub,
                     int64_t delay_ms)
{
    struct fx_server *s = h->srv;
    char inst[64] = "", ts[32];
    struct fx_str out = { 0 };

    if (strcmp(sub, "/api/v5/market/ticker") != 0) {
        respond_text(h, 404, "{\"code\":\"404\",\"msg\":\"Not Found\",\"data\":[]}");
        return;
    }
    if (!arg(wsi, "instId", inst, sizeof inst) || !inst[0]) {
        respond_text(h, 400, "{\"code\":\"50014\",\"msg\":\"Parameter instId can "
                     "not be empty\",\"data\":[]}");
        return;
    }
    if (!product_ok(inst)) {
        respond_text(h, 200, "{\"code\":\"51001\",\"msg\":\"Instrument ID does "
                     "not exist\",\"data\":[]}");
        return;
    }
    cJSON *el = recorded_element(s, FX_OKX, "tickers", inst, false);
    char px[64];
    if (!el) {
        respond_text(h, 500, "{\"code\":\"50000\",\"msg\":\"no template\",\"data\":[]}");
        return;
    }
    snprintf(ts, sizeof ts, "%lld", (long long)fx_wall_ms());
    cJSON_ReplaceItemInObjectCaseSensitive(el, "instId", cJSON_CreateString(inst));
    cJSON_ReplaceItemInObjectCaseSensitive(el, "ts", cJSON_CreateString(ts));
    ref_price(s, FX_OKX, inst, px, sizeof px);
    cJSON_ReplaceItemInObjectCaseSensitive(el, "last", cJSON_CreateString(px));
    char *txt = cJSON_PrintUnformatted(el);
    fx_str_addf(&out, "{\"code\":\"0\",\"msg\":\"\",\"data\":[%s]}", txt);
    free(txt);
    cJSON_Delete(el);
    respond_json(h, 200, &out, delay_ms);
}

static void rest_bybit(struct fx_http *h, struct lws *wsi, const char *sub,
                       int64_t delay_ms)
{
    struct fx_server *s = h->srv;
    char cat[32] = "", sym[64] = "";
    struct fx_str out = { 0 };
    enum fx_venue_id v;

    if (strcmp(sub, "/v5/market/tickers") != 0) {
        respond_text(h, 404, "{\"retCode\":10001,\"retMsg\":\"not found\"}");
        return;
    }
    arg(wsi, "category", cat, sizeof cat);
    if (!strcmp(cat, "spot")) {
        v = FX_BYBIT_SPOT;
    } else if (!strcmp(cat, "linear")) {
        v = FX_BYBIT_LINEAR;
    } else {
        fx_str_addf(&out, "{\"retCode\":10001,\"retMsg\":\"Illegal category\","
                    "\"result\":{},\"retExtInfo\":{},\"time\":%lld}",
                    (long long)fx_wall_ms());
        respond_json(h, 200, &out, delay_ms);
        return;
    }
    if (!arg(wsi, "symbol", sym, sizeof sym)) {
        snprintf(sym, sizeof sym, "%s", s->feeds[v].nsymbols
                 ? s->feeds[v].symbols[0] : "BTCUSDT");
    }
    if (!binance_symbol_ok(sym)) {
        fx_str_addf(&out, "{\"retCode\":10001,\"retMsg\":\"Not supported symbols\","
                    "\"result\":{},\"retExtInfo\":{},\"time\":%lld}",
                    (long long)fx_wall_ms());
        respond_json(h, 200, &out, delay_ms);
        return;
    }
    cJSON *el = recorded_element(s, v, "tickers", sym, false);
    char px[64];
    if (!el) {
        respond_text(h, 500, "{\"retCode\":10016,\"retMsg\":\"no template\"}");
        return;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(el, "symbol", cJSON_CreateString(sym));
    ref_price(s, v, sym, px, sizeof px);
    cJSON_ReplaceItemInObjectCaseSensitive(el, "lastPrice", cJSON_CreateString(px));
    char *txt = cJSON_PrintUnformatted(el);
    fx_str_addf(&out, "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"category\":"
                "\"%s\",\"list\":[%s]},\"retExtInfo\":{},\"time\":%lld}", cat, txt,
                (long long)fx_wall_ms());
    free(txt);
    cJSON_Delete(el);
    respond_json(h, 200, &out, delay_ms);
}

static void rest_kraken(struct fx_http *h, struct lws *wsi, const char *sub,
                        int64_t delay_ms)
{
    struct fx_server *s = h->srv;
    char pair[64] = "", p[64];
    struct fx_str out = { 0 };

    if (strcmp(sub, "/0/public/Ticker") != 0) {
        respond_text(h, 404, "{\"error\":[\"EGeneral:Unknown method\"]}");
        return;
    }
    if (!arg(wsi, "pair", pair, sizeof pair) || !binance_symbol_ok(pair)) {
        respond_text(h, 200, "{\"error\":[\"EQuery:Unknown asset pair\"]}");
        return;
    }
    ref_price(s, FX_KRAKEN, pair, p, sizeof p);
    fx_str_adds(&out, "{\"error\":[],\"result\":{");
    fx_str_add_json(&out, pair);
    fx_str_addf(&out, ":{\"a\":[\"%s\",\"1\",\"1.000\"],\"b\":[\"%s\",\"2\",\"2.000\"],"
                "\"c\":[\"%s\",\"0.00100000\"],\"v\":[\"163.28908096\",\"1734.40224138\"],"
                "\"p\":[\"%s\",\"%s\"],\"t\":[1543,21874],\"l\":[\"104711.00000\","
                "\"104711.00000\"],\"h\":[\"106613.10000\",\"106613.10000\"],"
                "\"o\":\"105649.40000\"}}}", p, p, p, p, p);
    respond_json(h, 200, &out, delay_ms);
}

/* The body of an injected HTTP error, per venue. */
static char *fault_body(int venue, int status, const struct fx_fault *f)
{
    char buf[400];

    if (f->reason[0]) {
        return fx_xstrndup(f->reason, strlen(f->reason));
    }
    if (venue == FX_BINANCE && status == 429) {
        snprintf(buf, sizeof buf, "{\"code\":-1003,\"msg\":\"Too many requests; "
                 "current limit of IP(127.0.0.1) is 6000 requests per minute. "
                 "Please use the websocket for live updates to avoid polling "
                 "the API.\"}");
    } else if (venue == FX_BINANCE && status == 418) {
        snprintf(buf, sizeof buf, "{\"code\":-1003,\"msg\":\"Way too many requests; "
                 "IP(127.0.0.1) banned until %lld. Please use the websocket for "
                 "live updates to avoid bans.\"}",
                 (long long)fx_wall_ms() + (f->retry_after_s > 0 ? f->retry_after_s : 2) * 1000LL);
    } else if (venue == FX_OKX) {
        snprintf(buf, sizeof buf, "{\"code\":\"50011\",\"msg\":\"Too Many Requests\","
                 "\"data\":[]}");
    } else if (venue == FX_BYBIT_SPOT || venue == FX_BYBIT_LINEAR) {
        snprintf(buf, sizeof buf, "{\"retCode\":10006,\"retMsg\":\"Too many visits!\","
                 "\"result\":{},\"retExtInfo\":{},\"time\":%lld}",
                 (long long)fx_wall_ms());
    } else if (venue == FX_KRAKEN) {
        snprintf(buf, sizeof buf, "{\"error\":[\"EGeneral:Too many requests\"]}");
    } else {
        snprintf(buf, sizeof buf, "{\"errors\":[{\"id\":\"rate_limit_exceeded\","
                 "\"message\":\"Too many requests\"}],\"message\":\"Too many requests\"}");
    }
    return fx_xstrndup(buf, strlen(buf));
}

static void log_rest(struct fx_server *s, int venue, struct lws *wsi,
                     struct fx_http *h, const char *method)
{
    struct fx_rest_log *l = &s->rest_log[s->rest_log_head];

    s->rest_log_head = (s->rest_log_head + 1) % FX_MAX_REST_LOG;
    if (s->rest_log_n < FX_MAX_REST_LOG) {
        s->rest_log_n++;
    }
    l->t_ms = fx_wall_ms();
    l->venue = venue;
    snprintf(l->method, sizeof l->method, "%s", method);
    uri_of(wsi, h, l->uri, sizeof l->uri);
    l->status = h->status;
    if (venue >= 0) {
        s->rest_total[venue]++;
    }
}

static void rest_request(struct fx_http *h, struct lws *wsi)
{
    struct fx_server *s = h->srv;
    static const struct {
        const char *prefix;
        enum fx_venue_id v;
    } routes[] = {
        { "/binance", FX_BINANCE }, { "/coinbase", FX_COINBASE },
        { "/okx", FX_OKX }, { "/bybit", FX_BYBIT_SPOT }, { "/kraken", FX_KRAKEN },
    };
    int venue = -1;
    const char *sub = "";
    struct fx_fault f;
    int64_t delay_ms = 0;

    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        size_t n = strlen(routes[i].prefix);
        if (strncmp(h->path, routes[i].prefix, n) == 0 && h->path[n] == '/') {
            venue = (int)routes[i].v;
            sub = h->path + n;
            break;
        }
    }
    if (venue < 0) {
        respond_text(h, 404, "{\"error\":\"not found\"}");
    } else if (h->method != LWSHUMETH_GET) {
        respond_text(h, 405, "{\"error\":\"method not allowed\"}");
    } else if (fx_armed_take(s, venue, FX_F_NONE, &f)) {
        fx_log(FX_INFO, "fake.fault", "%s REST %s: %s", fx_venue_names[venue],
               h->path, fx_fault_name(f.kind));
        if (f.kind == FX_F_HTTP_STATUS) {
            int st = f.code ? f.code : 429;
            h->retry_after_s = f.retry_after_s >= 0 ? f.retry_after_s
                               : st == 429 ? 1 : st == 418 ? 2 : -1;
            respond(h, st, "application/json", fault_body(venue, st, &f), 0);
        } else if (f.kind == FX_F_REST_GARBAGE) {
            respond(h, 200, "application/json",
                    fx_xstrndup("{\"truncated\":[1,2,", 18), 0);
        } else {
            delay_ms = f.delay_ms > 0 ? f.delay_ms : 2000;
        }
    }
    if (!h->ready) {
        switch (venue) {
        case FX_BINANCE:
            rest_binance(h, wsi, sub, delay_ms);
            break;
        case FX_COINBASE:
            rest_coinbase(h, wsi, sub, delay_ms);
            break;
        case FX_OKX:
            rest_okx(h, wsi, sub, delay_ms);
            break;
        case FX_BYBIT_SPOT:
            rest_bybit(h, wsi, sub, delay_ms);
            break;
        case FX_KRAKEN:
            rest_kraken(h, wsi, sub, delay_ms);
            break;
        default:
            break;
        }
    }
    log_rest(s, venue, wsi, h, h->method == LWSHUMETH_GET ? "GET" : "OTHER");
}

/* ---- control API ---- */

static cJSON *conn_json(const struct fx_conn *c, bool messages, int64_t now)
{
    cJSON *o = cJSON_CreateObject(), *a;

    cJSON_AddNumberToObject(o, "id", c->id);
    cJSON_AddStringToObject(o, "venue", fx_venue_names[c->venue]);
    cJSON_AddStringToObject(o, "path", c->path);
    cJSON_AddBoolToObject(o, "tls", c->tls);
    cJSON_AddBoolToObject(o, "open", c->open);
    cJSON_AddNumberToObject(o, "opened_ms", (double)c->opened_ms);
    cJSON_AddNumberToObject(o, "age_ms", (double)((c->open ? now : c->closed_us)
                                                  - c->opened_us) / 1000);
    cJSON_AddStringToObject(o, "closed_by", c->closed_by);
    cJSON_AddNumberToObject(o, "close_code", c->close_code);
    cJSON_AddStringToObject(o, "conn_id", c->conn_id);
    cJSON_AddBoolToObject(o, "combined", c->combined);
    a = cJSON_AddArrayToObject(o, "subscriptions");
    for (size_t i = 0; i < c->nsubs; i++) {
        cJSON_AddItemToArray(a, cJSON_CreateString(
            c->subs[i].raw[0] ? c->subs[i].raw : c->subs[i].symbol));
    }
    a = cJSON_AddArrayToObject(o, "streaming");
    for (size_t i = 0; i < c->nsubs; i++) {
        const struct fx_sub *s = &c->subs[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "channel", s->channel);
        cJSON_AddStringToObject(e, "symbol", s->symbol);
        cJSON_AddStringToObject(e, "fixture_symbol", s->fsym >= 0
            ? c->srv->feeds[c->venue].symbols[s->fsym] : "");
        cJSON_AddItemToArray(a, e);
    }
    cJSON_AddNumberToObject(o, "client_msgs_total", (double)c->msgs_total);
    if (messages) {
        a = cJSON_AddArrayToObject(o, "client_msgs");
        uint64_t first = c->msgs_total > FX_MSG_RING ? c->msgs_total - FX_MSG_RING : 0;
        for (uint64_t i = first; i < c->msgs_total; i++) {
            const struct fx_msg *m = &c->msgs[i % FX_MSG_RING];
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "t_ms", (double)m->t_ms);
            cJSON_AddStringToObject(e, "text", m->text ? m->text : "");
            cJSON_AddNumberToObject(e, "len", (double)m->len);
            cJSON_AddItemToArray(a, e);
        }
    }
    cJSON_AddNumberToObject(o, "max_client_msgs_per_s", c->max_rate);
    cJSON_AddNumberToObject(o, "oversize_client_msgs", (double)c->oversize_client_msgs);
    cJSON_AddNumberToObject(o, "frames_sent", (double)c->frames_sent);
    cJSON_AddNumberToObject(o, "data_frames_sent", (double)c->data_frames_sent);
    cJSON_AddNumberToObject(o, "bytes_sent", (double)c->bytes_sent);
    cJSON_AddNumberToObject(o, "frames_dropped_full", (double)c->frames_dropped_full);
    cJSON_AddNumberToObject(o, "frames_dropped_fault", (double)c->frames_dropped_fault);
    cJSON_AddNumberToObject(o, "replies_suppressed", (double)c->replies_suppressed);
    cJSON_AddNumberToObject(o, "queue_frames", (double)c->q_len);
    cJSON_AddNumberToObject(o, "queue_bytes", (double)c->q_bytes);
    cJSON_AddNumberToObject(o, "pings_sent", (double)c->pings_sent);
    cJSON_AddNumberToObject(o, "pongs_received", (double)c->pongs_received);
    cJSON_AddNumberToObject(o, "pongs_matched", (double)c->pongs_matched);
    cJSON_AddNumberToObject(o, "pings_unanswered", (double)c->pings_unanswered);
    cJSON_AddBoolToObject(o, "awaiting_pong", c->awaiting_pong);
    cJSON_AddNumberToObject(o, "last_pong_ms_ago", c->last_pong_us
                            ? (double)(now - c->last_pong_us) / 1000 : -1);
    cJSON_AddNumberToObject(o, "app_pings", (double)c->app_pings);
    cJSON_AddNumberToObject(o, "app_pongs", (double)c->app_pongs);
    cJSON_AddNumberToObject(o, "heartbeat_counter", (double)c->hb_counter);
    cJSON_AddNumberToObject(o, "sequence_num", (double)c->seq_num);
    cJSON_AddBoolToObject(o, "stalled", c->stalled);
    cJSON_AddBoolToObject(o, "mute_pongs", c->mute_pongs);
    cJSON_AddStringToObject(o, "faults", c->faults_seen);
    cJSON *r = cJSON_AddObjectToObject(o, "replay");
    cJSON_AddBoolToObject(r, "active", c->replaying);
    cJSON_AddNumberToObject(r, "pos", (double)c->pos);
    cJSON_AddNumberToObject(r, "loops", c->loops);
    return o;
}

static void state_json(struct fx_server *s, struct lws *wsi, struct fx_http *h)
{
    char vbuf[32] = "", mbuf[8] = "";
    bool bybit_any = false, messages = true;
    int vf = arg(wsi, "venue", vbuf, sizeof vbuf)
             ? fx_venue_from_name(vbuf, &bybit_any) : -1;
    int64_t now = fx_now_us();
    cJSON *o = cJSON_CreateObject(), *a, *v;

    if (vf == -2) {
        respond_text(h, 400, "{\"ok\":false,\"error\":\"unknown venue\"}");
        cJSON_Delete(o);
        return;
    }
    if (arg(wsi, "messages", mbuf, sizeof mbuf) && mbuf[0] == '0') {
        messages = false;
    }
    cJSON_AddNumberToObject(o, "uptime_ms", (double)(now - s->started_us) / 1000);
    cJSON_AddNumberToObject(o, "port", s->port);
    cJSON_AddNumberToObject(o, "control_port", s->control_port);
    cJSON_AddBoolToObject(o, "tls", s->opt.tls);
    cJSON_AddNumberToObject(o, "speed", s->opt.speed);
    cJSON_AddStringToObject(o, "symbols", s->opt.symbols == FX_SYMBOLS_REWRITE
                            ? "rewrite" : s->opt.symbols == FX_SYMBOLS_EXACT
                            ? "exact" : "asis");
    cJSON_AddBoolToObject(o, "retime", s->opt.retime);
    cJSON_AddBoolToObject(o, "restart_sequences", s->opt.restart_sequences);
    cJSON_AddNumberToObject(o, "open_connections", (double)s->nconns);
    a = cJSON_AddArrayToObject(o, "connections");
    for (int pass = 0; pass < 2; pass++) {
        for (struct fx_conn *c = pass ? s->history : s->conns; c; c = c->next) {
            bool want = vf < 0 || (bybit_any ? (c->venue == FX_BYBIT_SPOT
                                                || c->venue == FX_BYBIT_LINEAR)
                                             : (int)c->venue == vf);
            if (want) {
                cJSON_AddItemToArray(a, conn_json(c, messages, now));
            }
        }
    }
    v = cJSON_AddObjectToObject(o, "venues");
    for (int i = 0; i < FX_VENUE_COUNT; i++) {
        cJSON *e = cJSON_AddObjectToObject(v, fx_venue_names[i]);
        unsigned open = 0;
        for (struct fx_conn *c = s->conns; c; c = c->next) {
            open += (int)c->venue == i;
        }
        cJSON_AddNumberToObject(e, "connections_total", (double)s->conns_total[i]);
        cJSON_AddNumberToObject(e, "open", open);
        cJSON_AddNumberToObject(e, "rejected", (double)s->rejected_total[i]);
        cJSON_AddNumberToObject(e, "rest_requests", (double)s->rest_total[i]);
        cJSON *m = cJSON_AddObjectToObject(e, "symbol_map");
        for (size_t k = 0; k < s->nsymmap[i]; k++) {
            cJSON_AddStringToObject(m, s->symmap[i][k].target,
                                    s->feeds[i].symbols[s->symmap[i][k].fsym]);
        }
    }
    a = cJSON_AddArrayToObject(o, "armed");
    for (int i = 0; i < FX_MAX_ARMED; i++) {
        const struct fx_armed *ar = &s->armed[i];
        if (!ar->used) {
            continue;
        }
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", fx_fault_name(ar->f.kind));
        cJSON_AddStringToObject(e, "venue", ar->f.venue < 0 ? "*"
                                : ar->f.bybit_any ? "bybit" : fx_venue_names[ar->f.venue]);
        cJSON_AddNumberToObject(e, "remaining", ar->remaining);
        cJSON_AddItemToArray(a, e);
    }
    a = cJSON_AddArrayToObject(o, "rest_requests");
    for (size_t i = 0; i < s->rest_log_n; i++) {
        size_t idx = (s->rest_log_head + FX_MAX_REST_LOG - s->rest_log_n + i)
                     % FX_MAX_REST_LOG;
        const struct fx_rest_log *l = &s->rest_log[idx];
        if (vf >= 0 && !(bybit_any ? l->venue == FX_BYBIT_SPOT : l->venue == vf)) {
            continue;
        }
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "t_ms", (double)l->t_ms);
        cJSON_AddStringToObject(e, "venue", l->venue >= 0
                                ? (l->venue == FX_BYBIT_SPOT ? "bybit"
                                   : fx_venue_names[l->venue]) : "");
        cJSON_AddStringToObject(e, "method", l->method);
        cJSON_AddStringToObject(e, "uri", l->uri);
        cJSON_AddNumberToObject(e, "status", l->status);
        cJSON_AddItemToArray(a, e);
    }
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    respond(h, 200, "application/json", txt, 0);
}

bool fx_fault_parse(const char *json, size_t len, struct fx_fault *f,
                    const char **err)
{
    cJSON *j = cJSON_ParseWithLength(json, len);
    const cJSON *it;
    const char *kind, *scope;
    bool ok = false;

    memset(f, 0, sizeof *f);
    f->venue = -1;
    f->close_after_ms = -1;
    f->retry_after_s = -1;
    f->count = 1;
    if (!j || !cJSON_IsObject(j)) {
        *err = "body is not a JSON object";
        goto out;
    }
    kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "kind"));
    for (int k = 1; kind && k < FX_F_KIND_COUNT; k++) {
        if (!strcmp(kind, fx_fault_name((enum fx_fault_kind)k))) {
            f->kind = (enum fx_fault_kind)k;
        }
    }
    if (f->kind == FX_F_NONE) {
        *err = "unknown or missing kind";
        goto out;
    }
    it = cJSON_GetObjectItemCaseSensitive(j, "venue");
    if (cJSON_IsString(it)) {
        f->venue = fx_venue_from_name(it->valuestring, &f->bybit_any);
        if (f->venue == -2) {
            *err = "unknown venue";
            goto out;
        }
    }
#define NUM(key, field, type) do { \
        const cJSON *n_ = cJSON_GetObjectItemCaseSensitive(j, key); \
        if (cJSON_IsNumber(n_)) { \
            if (n_->valuedouble < 0 && strcmp(key, "close_after_ms") != 0 \
                && strcmp(key, "retry_after_s") != 0) { \
                *err = key " must not be negative"; \
                goto out; \
            } \
            f->field = (type)n_->valuedouble; \
        } \
    } while (0)
    NUM("conn", conn_id, unsigned);
    NUM("code", code, int);
    NUM("status", code, int);
    NUM("delay_ms", delay_ms, int64_t);
    NUM("duration_ms", duration_ms, int64_t);
    NUM("close_after_ms", close_after_ms, int64_t);
    NUM("age_s", age_s, int64_t);
    NUM("n", n, unsigned);
    NUM("bytes", bytes, size_t);
    NUM("retry_after_s", retry_after_s, int);
    NUM("count", count, unsigned);
#undef NUM
    it = cJSON_GetObjectItemCaseSensitive(j, "reason");
    if (!cJSON_IsString(it)) {
        it = cJSON_GetObjectItemCaseSensitive(j, "text");
    }
    if (cJSON_IsString(it)) {
        snprintf(f->reason, sizeof f->reason, "%s", it->valuestring);
    }
    f->rst = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "rst"));
    if (f->bytes > 16u * 1024 * 1024) {
        *err = "bytes: at most 16 MiB";
        goto out;
    }
    if (f->kind == FX_F_CLOSE_CODE && f->code
        && (f->code < 1000 || f->code > 4999 || f->code == 1004
            || f->code == 1005 || f->code == 1006 || f->code == 1015)) {
        *err = "code: not a close code that can be sent";
        goto out;
    }
    if (f->kind == FX_F_HTTP_STATUS && f->code && (f->code < 100 || f->code > 599)) {
        *err = "status: not an HTTP status";
        goto out;
    }
    scope = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "scope"));
    if (!scope) {
        scope = f->kind == FX_F_REJECT ? "next" : "current";
    }
    if (!strcmp(scope, "current")) {
        f->current = true;
    } else if (!strcmp(scope, "next")) {
        f->next = true;
    } else if (!strcmp(scope, "both")) {
        f->current = f->next = true;
    } else {
        *err = "scope: current, next or both";
        goto out;
    }
    ok = true;
out:
    cJSON_Delete(j);
    return ok;
}

static bool decimal_ok(const char *p)
{
    bool dot = false, digit = false;

    for (; *p; p++) {
        if (*p == '.' && !dot) {
            dot = true;
        } else if (isdigit((unsigned char)*p)) {
            digit = true;
        } else {
            return false;
        }
    }
    return digit;
}

static void control_price(struct fx_server *s, struct fx_http *h)
{
    cJSON *j = cJSON_ParseWithLength(h->req_body ? h->req_body : "", h->req_len);
    const char *venue = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "venue"));
    const char *sym = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "symbol"));
    const cJSON *px = cJSON_GetObjectItemCaseSensitive(j, "price");
    bool any;
    int v = fx_venue_from_name(venue, &any);

    if (!venue || v < 0 || !sym || strlen(sym) >= FX_SYM_LEN
        || !(cJSON_IsNull(px) || (cJSON_IsString(px) && strlen(px->valuestring) < 40
                                  && decimal_ok(px->valuestring)))) {
        respond_text(h, 400, "{\"ok\":false,\"error\":\"want {\\\"venue\\\":..,"
                     "\\\"symbol\\\":..,\\\"price\\\":\\\"123.45\\\"|null}\"}");
        cJSON_Delete(j);
        return;
    }
    for (size_t i = 0; i < s->nprices; i++) {
        if (s->prices[i].venue == v && fx_ieq(s->prices[i].symbol, sym)) {
            s->prices[i] = s->prices[--s->nprices];
            break;
        }
    }
    if (cJSON_IsString(px)) {
        if (s->nprices >= FX_MAX_PRICES) {
            respond_text(h, 400, "{\"ok\":false,\"error\":\"too many prices\"}");
            cJSON_Delete(j);
            return;
        }
        struct fx_price *p = &s->prices[s->nprices++];
        p->venue = v;
        snprintf(p->symbol, sizeof p->symbol, "%s", sym);
        snprintf(p->price, sizeof p->price, "%s", px->valuestring);
    }
    respond_text(h, 200, "{\"ok\":true}");
    cJSON_Delete(j);
}

static void control_config(struct fx_server *s, struct fx_http *h)
{
    cJSON *j = cJSON_ParseWithLength(h->req_body ? h->req_body : "", h->req_len);
    struct fx_options *o = &s->opt;
    const cJSON *it;
    struct fx_str out = { 0 };

    if (j && !cJSON_IsObject(j)) {
        respond_text(h, 400, "{\"ok\":false,\"error\":\"want a JSON object\"}");
        cJSON_Delete(j);
        return;
    }
#define SETI(key, field) do { \
        it = cJSON_GetObjectItemCaseSensitive(j, key); \
        if (cJSON_IsNumber(it) && it->valuedouble >= -1) { \
            o->field = (int64_t)it->valuedouble; \
        } \
    } while (0)
    SETI("ping_interval_ms", ping_interval_ms);
    SETI("pong_timeout_ms", pong_timeout_ms);
    SETI("heartbeat_ms", heartbeat_ms);
    SETI("max_conn_age_s", max_conn_age_s);
    SETI("subscribe_timeout_ms", subscribe_timeout_ms);
#undef SETI
    it = cJSON_GetObjectItemCaseSensitive(j, "speed");
    if (cJSON_IsNumber(it) && it->valuedouble >= 0.01 && it->valuedouble <= 1000) {
        o->speed = it->valuedouble;
    }
    it = cJSON_GetObjectItemCaseSensitive(j, "enforce_rate_limit");
    if (cJSON_IsBool(it)) {
        o->enforce_rate_limit = cJSON_IsTrue(it);
    }
    fx_str_addf(&out, "{\"ok\":true,\"ping_interval_ms\":%lld,\"pong_timeout_ms\":%lld,"
                "\"heartbeat_ms\":%lld,\"max_conn_age_s\":%lld,"
                "\"subscribe_timeout_ms\":%lld,\"speed\":%g,\"enforce_rate_limit\":%s}",
                (long long)o->ping_interval_ms, (long long)o->pong_timeout_ms,
                (long long)o->heartbeat_ms, (long long)o->max_conn_age_s,
                (long long)o->subscribe_timeout_ms, o->speed,
                o->enforce_rate_limit ? "true" : "false");
    for (struct fx_conn *c = s->conns; c; c = c->next) {
        int64_t now = fx_now_us();
        c->next_ping_us = now + o->ping_interval_ms * 1000;
        c->next_hb_us = now + o->heartbeat_ms * 1000;
    }
    respond_json(h, 200, &out, 0);
    cJSON_Delete(j);
}

static void control_request(struct fx_http *h, struct lws *wsi)
{
    struct fx_server *s = h->srv;
    bool get = h->method == LWSHUMETH_GET, post = h->method == LWSHUMETH_POST;

    if (get && !strcmp(h->path, "/health")) {
        respond_text(h, 200, "{\"ok\":true}");
    } else if (get && (!strcmp(h->path, "/state") || !strcmp(h->path, "/"))) {
        state_json(s, wsi, h);
    } else if (post && h->req_overflow) {
        respond_text(h, 413, "{\"ok\":false,\"error\":\"body too large\"}");
    } else if (post && !strcmp(h->path, "/fault")) {
        struct fx_fault f;
        const char *err = NULL;
        struct fx_str out = { 0 };
        if (!fx_fault_parse(h->req_body ? h->req_body : "", h->req_len, &f, &err)) {
            fx_str_adds(&out, "{\"ok\":false,\"error\":");
            fx_str_add_json(&out, err);
            fx_str_adds(&out, "}");
            respond_json(h, 400, &out, 0);
            return;
        }
        fx_str_addf(&out, "{\"ok\":true,\"kind\":\"%s\",", fx_fault_name(f.kind));
        if (!fx_fault_dispatch(s, &f, &out, &err)) {
            out.len = 0;
            fx_str_adds(&out, "{\"ok\":false,\"error\":");
            fx_str_add_json(&out, err);
            fx_str_adds(&out, "}");
            respond_json(h, 400, &out, 0);
            return;
        }
        fx_str_adds(&out, "}");
        respond_json(h, 200, &out, 0);
    } else if (post && !strcmp(h->path, "/clear")) {
        fx_faults_clear(s);
        respond_text(h, 200, "{\"ok\":true}");
    } else if (post && !strcmp(h->path, "/reset")) {
        fx_faults_clear(s);
        fx_history_clear(s);
        s->rest_log_n = s->rest_log_head = 0;
        s->nprices = 0;
        respond_text(h, 200, "{\"ok\":true}");
    } else if (post && !strcmp(h->path, "/price")) {
        control_price(s, h);
    } else if (post && !strcmp(h->path, "/config")) {
        control_config(s, h);
    } else if (post && !strcmp(h->path, "/shutdown")) {
        s->stop = true;
        respond_text(h, 200, "{\"ok\":true}");
    } else {
        respond_text(h, 404, "{\"ok\":false,\"error\":\"unknown endpoint\"}");
    }
}

/* ---- lws glue ---- */

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason,
                         struct fx_http *h, void *in, size_t len, bool control)
{
    if (!h) {
        return lws_callback_http_dummy(wsi, reason, NULL, in, len);
    }
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        char *uri = NULL;
        int ulen = 0;
        http_reset(h);
        h->wsi = wsi;
        h->srv = srv_of(wsi);
        h->control = control;
        h->method = lws_http_get_uri_and_method(wsi, &uri, &ulen);
        snprintf(h->path, sizeof h->path, "%s", in ? (const char *)in : "/");
        if (h->method == LWSHUMETH_POST) {
            char cl[32] = "";
            if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0
                && atoll(cl) > 0) {
                return 0;   /* wait for the body */
            }
        }
        if (control) {
            control_request(h, wsi);
        } else {
            rest_request(h, wsi);
        }
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (h->req_len + len > FX_HTTP_BODY_MAX) {
            h->req_overflow = true;
            return 0;
        }
        h->req_body = fx_xrealloc(h->req_body, h->req_len + len + 1);
        memcpy(h->req_body + h->req_len, in, len);
        h->req_len += len;
        h->req_body[h->req_len] = '\0';
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (control) {
            control_request(h, wsi);
        } else {
            rest_request(h, wsi);
        }
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_write(h, wsi);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (h->srv && h->pending) {
            pending_remove(h->srv, h);
        }
        http_reset(h);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, h, in, len);
    }
}

int fx_rest_callback(struct lws *wsi, enum lws_callback_reasons reason,
                     void *user, void *in, size_t len)
{
    struct fx_pss *pss = user;

    return http_callback(wsi, reason, pss ? &pss->http : NULL, in, len, false);
}

int fx_control_callback(struct lws *wsi, enum lws_callback_reasons reason,
                        void *user, void *in, size_t len)
{
    return http_callback(wsi, reason, user, in, len, true);
}
