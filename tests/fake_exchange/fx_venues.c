/* Venue protocols of the fake exchange: subscribe validation and the real
 * acknowledgement shapes, application-level ping/pong, heartbeats, and how
 * recorded frames reach each subscription (Binance raw/combined, derived
 * trade and synthesized ticker streams, Coinbase AT sequence numbers,
 * Kraken's synthesized ticker). Shapes: shared/PROTOCOLS.md + fixtures. */
#include "fx.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* ---- shared helpers ---- */

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++) {
        if (streq(s, *list)) {
            return true;
        }
    }
    return false;
}

/* Uppercase letters and digits, 2..40 bytes, with `sep` allowed between
 * parts (0: no separator). */
static bool valid_symbol(const char *s, char sep, bool need_sep)
{
    size_t n = strlen(s);
    bool seen_sep = false;

    if (n < 2 || n >= FX_SYM_LEN - 8) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (sep && ch == (unsigned char)sep && i > 0 && i + 1 < n
            && s[i - 1] != sep) {
            seen_sep = true;
            continue;
        }
        if (!isupper(ch) && !isdigit(ch)) {
            return false;
        }
    }
    return seen_sep || !need_sep;
}

static void emit(struct fx_conn *c, const char *text, size_t len)
{
    const struct fx_venue_ops *ops = fx_venues[c->venue];

    if (ops->emit) {
        ops->emit(c, text, len);
    } else {
        fx_send(c, text, len, true);
    }
}

static const char *target_of(const struct fx_conn *c, const struct fx_sub *s)
{
    return c->srv->opt.symbols == FX_SYMBOLS_REWRITE ? s->symbol : NULL;
}

static bool sub_wants(const struct fx_conn *c, const struct fx_sub *s,
                      const struct fx_frame *fr)
{
    return c->srv->opt.symbols == FX_SYMBOLS_ASIS || s->fsym == fr->symbol;
}

void fx_deliver(struct fx_conn *c, const struct fx_frame *fr,
                const char *text, size_t len)
{
    const struct fx_feed *f = &c->srv->feeds[c->venue];
    struct fx_str out = { 0 };

    if (fr->channel < 0 || (f->snapshot_first && fr->snapshot)) {
        return;
    }
    for (size_t i = 0; i < c->nsubs; i++) {
        const struct fx_sub *s = &c->subs[i];
        if (strcmp(s->channel, f->channels[fr->channel]) != 0
            || !sub_wants(c, s, fr)) {
            continue;
        }
        fx_frame_render(c, fr, text, len, target_of(c, s), &out);
        emit(c, out.p, out.len);
        if (c->srv->opt.symbols == FX_SYMBOLS_ASIS) {
            break;      /* once per frame, unchanged */
        }
    }
    fx_str_free(&out);
}

static void generic_frame(struct fx_conn *c, const struct fx_frame *fr)
{
    fx_deliver(c, fr, fr->text, fr->len);
}

/* The recorded snapshot(s) a new subscription starts with. */
static void send_snapshot(struct fx_conn *c, const struct fx_sub *s)
{
    const struct fx_feed *f = &c->srv->feeds[c->venue];
    int ch = fx_feed_channel(f, s->channel);
    bool asis = c->srv->opt.symbols == FX_SYMBOLS_ASIS;
    bool done[FX_FEED_SYMBOLS] = { false };
    struct fx_str out = { 0 };

    if (ch < 0) {
        return;
    }
    for (size_t i = 0; i < f->n; i++) {
        const struct fx_frame *fr = &f->frames[i];
        if (fr->channel != ch || !fr->snapshot || fr->symbol < 0
            || done[fr->symbol] || (!asis && fr->symbol != s->fsym)) {
            continue;
        }
        done[fr->symbol] = true;
        fx_frame_render(c, fr, fr->text, fr->len, target_of(c, s), &out);
        emit(c, out.p, out.len);
        if (!asis) {
            break;
        }
    }
    fx_str_free(&out);
}

static void iso_now(char *buf, size_t size, int digits)
{
    fx_wall_iso(buf, size, digits);
}

/* ---- Binance ---- */

static const char *const binance_types[] = {
    "aggTrade", "trade", "bookTicker", "ticker", "miniTicker", "avgPrice",
    "depth", "depth@100ms", "depth5", "depth10", "depth20", "depth5@100ms",
    "depth10@100ms", "depth20@100ms", "ticker_1h", "ticker_4h", "ticker_1d",
    NULL,
};

static const char *const binance_intervals[] = {
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h",
    "12h", "1d", "3d", "1w", "1M", NULL,
};

static const char *const binance_all_streams[] = {
    "!miniTicker@arr", "!ticker_1h@arr", "!ticker_4h@arr", "!ticker_1d@arr",
    NULL,
};

/* Split a stream name into symbol and type; false when Binance would
 * refuse it (names are lower case, except the type's own spelling). */
static bool binance_stream(const char *name, char *sym, char *chan)
{
    const char *at = strchr(name, '@');
    size_t n;

    if (in_list(name, binance_all_streams)) {
        sym[0] = '\0';
        snprintf(chan, FX_CHAN_LEN, "%s", name);
        return true;
    }
    if (!at || (n = (size_t)(at - name)) < 2 || n >= FX_SYM_LEN) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i])) {
            return false;
        }
    }
    if (strlen(at + 1) >= FX_CHAN_LEN) {
        return false;
    }
    if (!in_list(at + 1, binance_types)
        && !(strncmp(at + 1, "kline_", 6) == 0
             && in_list(at + 7, binance_intervals))) {
        return false;
    }
    memcpy(sym, name, n);
    sym[n] = '\0';
    snprintf(chan, FX_CHAN_LEN, "%s", at + 1);
    return true;
}

static bool binance_add(struct fx_conn *c, const char *name)
{
    char sym[FX_SYM_LEN], chan[FX_CHAN_LEN];

    return binance_stream(name, sym, chan)
           && fx_conn_add_sub(c, chan, sym, name) != NULL;
}

/* Streams named in the URL: /binance/ws/<s>[/<s>..] or
 * /binance/stream?streams=<s>/<s>. */
static void binance_opened(struct fx_conn *c)
{
    char list[sizeof c->path] = "";
    const char *q = strchr(c->path, '?');
    size_t plen = q ? (size_t)(q - c->path) : strlen(c->path);
    bool any = false;

    if (plen >= 15 && strncmp(c->path, "/binance/stream", 15) == 0) {
        c->combined = true;
        const char *st = q ? strstr(q, "streams=") : NULL;
        if (st) {
            snprintf(list, sizeof list, "%.*s", (int)strcspn(st + 8, "&"),
                     st + 8);
        }
    } else if (plen > 12 && strncmp(c->path, "/binance/ws/", 12) == 0) {
        snprintf(list, sizeof list, "%.*s", (int)(plen - 12), c->path + 12);
    }
    for (char *save = NULL, *tok = strtok_r(list, "/", &save); tok;
         tok = strtok_r(NULL, "/", &save)) {
        if (binance_add(c, tok)) {
            any = true;
        } else {
            fx_log(FX_WARN, "fake.binance", "conn %u: bad stream %s in URL",
                   c->id, tok);
        }
    }
    if (any) {
        fx_conn_subscribed(c);
    }
}

static void binance_error(struct fx_conn *c, int code, const char *msg,
                          const char *id)
{
    struct fx_str s = { 0 };

    fx_str_addf(&s, "{\"error\":{\"code\":%d,\"msg\":", code);
    fx_str_add_json(&s, msg);
    fx_str_addf(&s, "},\"id\":%s}", id);
    fx_reply_str(c, &s);
    fx_str_free(&s);
}

/* The id as JSON text into buf; false when Binance would refuse it. */
static bool binance_id(const cJSON *id, char *buf, size_t size)
{
    if (!id || cJSON_IsNull(id)) {
        snprintf(buf, size, "null");
        return true;
    }
    if (cJSON_IsNumber(id)) {
        double d = id->valuedouble;
        if (d < 0 || d != (double)(long long)d) {
            return false;
        }
        snprintf(buf, size, "%lld", (long long)d);
        return true;
    }
    if (cJSON_IsString(id)) {
        size_t n = strlen(id->valuestring);
        if (n > 36) {
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            if (!isalnum((unsigned char)id->valuestring[i])) {
                return false;
            }
        }
        snprintf(buf, size, "\"%s\"", id->valuestring);
        return true;
    }
    return false;
}

static void binance_message(struct fx_conn *c, const char *text, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *params, *it;
    const char *method;
    char id[64];
    struct fx_str s = { 0 };

    if (!j || !cJSON_IsObject(j)) {
        binance_error(c, 3, "Invalid JSON: expected value at line 1 column 1",
                      "null");
        goto out;
    }
    method = jstr(j, "method");
    params = cJSON_GetObjectItemCaseSensitive(j, "params");
    if (!binance_id(cJSON_GetObjectItemCaseSensitive(j, "id"), id, sizeof id)) {
        binance_error(c, 2, "Invalid request: request ID must be an unsigned "
                      "integer or an alphanumeric string of up to 36 "
                      "characters", "null");
        goto out;
    }
    if (streq(method, "SUBSCRIBE") || streq(method, "UNSUBSCRIBE")) {
        bool sub = streq(method, "SUBSCRIBE");
        if (!cJSON_IsArray(params) || cJSON_GetArraySize(params) == 0) {
            binance_error(c, 2, "Invalid request: missing field `params`", id);
            goto out;
        }
        cJSON_ArrayForEach(it, params) {
            char sym[FX_SYM_LEN], chan[FX_CHAN_LEN];
            if (!cJSON_IsString(it) || !binance_stream(it->valuestring, sym, chan)) {
                binance_error(c, 2, "Invalid request: invalid stream", id);
                goto out;
            }
        }
        if (sub && c->nsubs + (size_t)cJSON_GetArraySize(params) > FX_MAX_SUBS) {
            binance_error(c, 2, "Invalid request: too many streams", id);
            goto out;
        }
        cJSON_ArrayForEach(it, params) {
            char sym[FX_SYM_LEN], chan[FX_CHAN_LEN];
            binance_stream(it->valuestring, sym, chan);
            if (sub) {
                fx_conn_add_sub(c, chan, sym, it->valuestring);
            } else {
                fx_conn_del_sub(c, chan, sym);
            }
        }
        if (sub) {
            fx_conn_subscribed(c);
        }
        fx_str_addf(&s, "{\"result\":null,\"id\":%s}", id);
    } else if (streq(method, "LIST_SUBSCRIPTIONS")) {
        fx_str_adds(&s, "{\"result\":[");
        for (size_t i = 0; i < c->nsubs; i++) {
            if (i) {
                fx_str_adds(&s, ",");
            }
            fx_str_add_json(&s, c->subs[i].raw);
        }
        fx_str_addf(&s, "],\"id\":%s}", id);
    } else if (streq(method, "SET_PROPERTY") || streq(method, "GET_PROPERTY")) {
        const cJSON *name = cJSON_GetArrayItem(params, 0);
        const cJSON *val = cJSON_GetArrayItem(params, 1);
        if (!cJSON_IsString(name) || !streq(name->valuestring, "combined")) {
            binance_error(c, 2, "Invalid request: unknown property", id);
            goto out;
        }
        if (streq(method, "GET_PROPERTY")) {
            fx_str_addf(&s, "{\"result\":%s,\"id\":%s}",
                        c->combined ? "true" : "false", id);
        } else if (!cJSON_IsBool(val)) {
            binance_error(c, 1, "Invalid value type: expected Boolean", id);
            goto out;
        } else {
            c->combined = cJSON_IsTrue(val);
            fx_str_addf(&s, "{\"result\":null,\"id\":%s}", id);
        }
    } else {
        binance_error(c, 2, "Invalid request: unknown method", id);
        goto out;
    }
    fx_reply_str(c, &s);
out:
    fx_str_free(&s);
    cJSON_Delete(j);
}

/* A @trade payload made from a recorded @aggTrade payload. */
static bool binance_trade_from_agg(const char *data, size_t len,
                                   struct fx_str *out)
{
    cJSON *d = cJSON_ParseWithLength(data, len);
    const cJSON *E, *T, *a, *m;
    const char *s, *p, *q;
    bool ok = false;

    out->len = 0;
    if (!d) {
        return false;
    }
    E = cJSON_GetObjectItemCaseSensitive(d, "E");
    T = cJSON_GetObjectItemCaseSensitive(d, "T");
    a = cJSON_GetObjectItemCaseSensitive(d, "a");
    m = cJSON_GetObjectItemCaseSensitive(d, "m");
    s = jstr(d, "s");
    p = jstr(d, "p");
    q = jstr(d, "q");
    if (cJSON_IsNumber(E) && cJSON_IsNumber(T) && cJSON_IsNumber(a) && s && p
        && q) {
        fx_str_addf(out, "{\"e\":\"trade\",\"E\":%lld,\"s\":\"%s\",\"t\":%lld,"
                    "\"p\":\"%s\",\"q\":\"%s\",\"T\":%lld,\"m\":%s,\"M\":true}",
                    (long long)E->valuedouble, s, (long long)a->valuedouble,
                    p, q, (long long)T->valuedouble,
                    cJSON_IsTrue(m) ? "true" : "false");
        ok = true;
    }
    cJSON_Delete(d);
    return ok;
}

static void binance_wrap(struct fx_str *out, const char *stream,
                         const char *payload, size_t len)
{
    fx_str_adds(out, "{\"stream\":");
    fx_str_add_json(out, stream);
    fx_str_adds(out, ",\"data\":");
    fx_str_add(out, payload, len);
    fx_str_adds(out, "}");
}

static void binance_frame(struct fx_conn *c, const struct fx_frame *fr)
{
    const struct fx_feed *f = &c->srv->feeds[c->venue];
    const char *chan;
    bool asis = c->srv->opt.symbols == FX_SYMBOLS_ASIS;
    bool sent_direct = false, sent_trade = false;
    struct fx_str out = { 0 }, tmp = { 0 }, wrapped = { 0 };

    if (fr->channel < 0) {
        return;
    }
    chan = f->channels[fr->channel];
    if (streq(chan, "aggTrade")) {
        c->last_trade_frame[fr->symbol] = (int)(fr - f->frames);
    } else if (streq(chan, "bookTicker")) {
        c->last_book_frame[fr->symbol] = (int)(fr - f->frames);
    }
    for (size_t i = 0; i < c->nsubs; i++) {
        const struct fx_sub *s = &c->subs[i];
        bool direct = streq(s->channel, chan);
        bool trade = streq(s->channel, "trade") && streq(chan, "aggTrade");
        const char *p;
        size_t n;

        if ((!direct && !trade) || !sub_wants(c, s, fr)
            || (asis && direct && sent_direct) || (asis && trade && sent_trade)) {
            continue;
        }
        if (direct) {
            sent_direct = true;
            p = c->combined ? fr->text : fr->text + fr->data_off;
            n = c->combined ? fr->len : fr->data_len;
        } else {
            sent_trade = true;
            if (!binance_trade_from_agg(fr->text + fr->data_off, fr->data_len,
                                        &tmp)) {
                continue;
            }
            if (c->combined) {
                char stream[FX_SYM_LEN + 8];
                snprintf(stream, sizeof stream, "%s@trade",
                         f->symbols[fr->symbol]);
                wrapped.len = 0;
                binance_wrap(&wrapped, stream, tmp.p, tmp.len);
                p = wrapped.p;
                n = wrapped.len;
            } else {
                p = tmp.p;
                n = tmp.len;
            }
        }
        fx_frame_render(c, fr, p, n, target_of(c, s), &out);
        fx_send(c, out.p, out.len, true);
    }
    fx_str_free(&out);
    fx_str_free(&tmp);
    fx_str_free(&wrapped);
}

static char *frame_field(const struct fx_frame *fr, const char *key)
{
    cJSON *d = cJSON_ParseWithLength(fr->text + fr->data_off, fr->data_len);
    const char *v = jstr(d, key);
    char *r = v ? fx_xstrndup(v, strlen(v)) : NULL;

    cJSON_Delete(d);
    return r;
}

/* 24hrTicker / 24hrMiniTicker / 1h..1dTicker payloads, once a second of
 * replay time, from the doc templates with the last recorded price. */
static void binance_synth(struct fx_conn *c)
{
    struct fx_server *srv = c->srv;
    const struct fx_feed *f = &srv->feeds[FX_BINANCE];
    const struct fx_feed *tpl = &srv->templates[FX_TPL_BINANCE_DOC];
    struct fx_str out = { 0 }, wrapped = { 0 };

    if (f->n == 0 || tpl->n < 6) {
        return;
    }
    for (size_t i = 0; i < c->nsubs; i++) {
        const struct fx_sub *s = &c->subs[i];
        int line;
        const char *ev = NULL;
        if (streq(s->channel, "ticker")) {
            line = 4;
        } else if (streq(s->channel, "miniTicker")) {
            line = 3;
        } else if (strncmp(s->channel, "ticker_", 7) == 0) {
            static const char *const events[] = { "1hTicker", "4hTicker", "1dTicker" };
            const char *w = s->channel + 7;
            line = 5;
            ev = events[streq(w, "1h") ? 0 : streq(w, "4h") ? 1 : 2];
        } else {
            continue;
        }
        int fsym = s->fsym >= 0 ? s->fsym : f->rank[0];
        int tf = c->last_trade_frame[fsym], bf = c->last_book_frame[fsym];
        char *price = NULL, *bid = NULL, *ask = NULL;
        if (tf >= 0) {
            price = frame_field(&f->frames[tf], "p");
        }
        if (bf >= 0) {
            bid = frame_field(&f->frames[bf], "b");
            ask = frame_field(&f->frames[bf], "a");
        }
        if (!price && bid) {
            price = fx_xstrndup(bid, strlen(bid));
        }
        if (!price) {
            free(bid);
            free(ask);
            continue;
        }
        cJSON *j = cJSON_ParseWithLength(tpl->frames[line].text,
                                         tpl->frames[line].len);
        double t_s = f->frames[c->pos].t_s
                     + (srv->opt.retime ? 0 : c->loops * f->period_s);
        char upper[FX_SYM_LEN], stream[FX_SYM_LEN + FX_CHAN_LEN];
        size_t k;
        for (k = 0; f->symbols[fsym][k] && k + 1 < sizeof upper; k++) {
            upper[k] = (char)toupper((unsigned char)f->symbols[fsym][k]);
        }
        upper[k] = '\0';
        if (j) {
            static const char *const px[] = { "c", "o", "h", "l", "w", "x", NULL };
            cJSON_ReplaceItemInObjectCaseSensitive(
                j, "E", cJSON_CreateNumber((double)(int64_t)(t_s * 1000)));
            cJSON_ReplaceItemInObjectCaseSensitive(j, "s", cJSON_CreateString(upper));
            if (ev) {
                cJSON_ReplaceItemInObjectCaseSensitive(j, "e", cJSON_CreateString(ev));
            }
            for (const char *const *key = px; *key; key++) {
                if (cJSON_GetObjectItemCaseSensitive(j, *key)) {
                    cJSON_ReplaceItemInObjectCaseSensitive(
                        j, *key, cJSON_CreateString(price));
                }
            }
            if (cJSON_GetObjectItemCaseSensitive(j, "p")) {
                cJSON_ReplaceItemInObjectCaseSensitive(j, "p",
                                                       cJSON_CreateString("0.00000000"));
                cJSON_ReplaceItemInObjectCaseSensitive(j, "P",
                                                       cJSON_CreateString("0.000"));
            }
            if (cJSON_GetObjectItemCaseSensitive(j, "b")) {
                cJSON_ReplaceItemInObjectCaseSensitive(
                    j, "b", cJSON_CreateString(bid ? bid : price));
                cJSON_ReplaceItemInObjectCaseSensitive(
                    j, "a", cJSON_CreateString(ask ? ask : price));
            }
            char *payload = cJSON_PrintUnformatted(j);
            /* channel -1: synthesized, its F/L ids are the template's */
            struct fx_frame fake = { .symbol = fsym, .channel = -1 };
            const char *p = payload;
            size_t n = strlen(payload);
            if (c->combined) {
                snprintf(stream, sizeof stream, "%s@%s", f->symbols[fsym],
                         s->channel);
                wrapped.len = 0;
                binance_wrap(&wrapped, stream, payload, n);
                p = wrapped.p;
                n = wrapped.len;
            }
            fx_frame_render(c, &fake, p, n, target_of(c, s), &out);
            fx_send(c, out.p, out.len, true);
            free(payload);
            cJSON_Delete(j);
        }
        free(price);
        free(bid);
        free(ask);
    }
    fx_str_free(&out);
    fx_str_free(&wrapped);
}

static bool binance_fault(struct fx_conn *c, const struct fx_fault *f)
{
    char buf[160];
    int n;

    if (f->kind != FX_F_SERVER_SHUTDOWN) {
        return false;
    }
    if (c->combined) {
        n = snprintf(buf, sizeof buf, "{\"stream\":\"!serverShutdown\",\"data\":"
                     "{\"e\":\"serverShutdown\",\"E\":%lld}}",
                     (long long)fx_wall_ms());
    } else {
        n = snprintf(buf, sizeof buf, "{\"e\":\"serverShutdown\",\"E\":%lld}",
                     (long long)fx_wall_ms());
    }
    fx_send(c, buf, (size_t)n, false);
    return true;
}

static const struct fx_venue_ops binance_ops = {
    .name = "binance",
    .opened = binance_opened,
    .message = binance_message,
    .frame = binance_frame,
    .synth = binance_synth,
    .fault = binance_fault,
};

/* ---- Coinbase Advanced Trade ---- */

static const char *const at_channels[] = {
    "heartbeats", "candles", "status", "ticker", "ticker_batch", "level2",
    "market_trades", "user", "futures_balance_summary", NULL,
};

static void at_out(struct fx_conn *c, const char *text, size_t len, bool data)
{
    struct fx_str s = { 0 };
    uint64_t seq;

    if (!data && c->stalled) {
        c->replies_suppressed++;
        return;
    }
    seq = c->seq_num + c->seq_skip;
    c->seq_skip = 0;
    c->seq_num = seq + 1;
    fx_replace_int(text, len, "sequence_num", seq, &s);
    fx_send(c, s.p, s.len, data);
    fx_str_free(&s);
}

static void at_emit(struct fx_conn *c, const char *text, size_t len)
{
    at_out(c, text, len, true);
}

static void at_iso_now(char *buf, size_t size)
{
    size_t n;

    iso_now(buf, size, 9);
    /* trailing zeros trimmed, as recorded */
    n = strlen(buf);
    while (n > 2 && buf[n - 2] == '0') {
        buf[n - 2] = 'Z';
        buf[--n] = '\0';
    }
    if (n > 2 && buf[n - 2] == '.') {
        buf[n - 2] = 'Z';
        buf[n - 1] = '\0';
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void at_subscriptions(struct fx_conn *c)
{
    const char *chans[FX_MAX_SUBS];
    size_t nch = 0;
    char ts[48];
    struct fx_str s = { 0 };

    for (size_t i = 0; i < c->nsubs; i++) {
        bool seen = false;
        for (size_t k = 0; k < nch && !seen; k++) {
            seen = streq(chans[k], c->subs[i].channel);
        }
        if (!seen) {
            chans[nch++] = c->subs[i].channel;
        }
    }
    qsort(chans, nch, sizeof chans[0], cmp_str);
    at_iso_now(ts, sizeof ts);
    fx_str_addf(&s, "{\"channel\":\"subscriptions\",\"timestamp\":\"%s\","
                "\"sequence_num\":0,\"events\":[{\"subscriptions\":{", ts);
    for (size_t k = 0; k < nch; k++) {
        bool first = true;
        fx_str_addf(&s, "%s", k ? "," : "");
        fx_str_add_json(&s, chans[k]);
        fx_str_adds(&s, ":[");
        for (size_t i = 0; i < c->nsubs; i++) {
            if (streq(c->subs[i].channel, chans[k])) {
                fx_str_adds(&s, first ? "" : ",");
                fx_str_add_json(&s, c->subs[i].symbol);
                first = false;
            }
        }
        fx_str_adds(&s, "]");
    }
    fx_str_adds(&s, "}}]}");
    at_out(c, s.p, s.len, false);
    fx_str_free(&s);
}

static void at_error(struct fx_conn *c, const char *msg)
{
    struct fx_str s = { 0 };

    fx_str_adds(&s, "{\"type\":\"error\",\"message\":");
    fx_str_add_json(&s, msg);
    fx_str_adds(&s, "}");
    fx_reply_str(c, &s);
    fx_str_free(&s);
}

static void at_message(struct fx_conn *c, const char *text, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(text, len);
    const char *type, *chan;
    const cJSON *ids, *it;
    bool sub, product_channel;
    size_t first_new = c->nsubs;    /* new subscriptions are appended */

    if (!j || !cJSON_IsObject(j)) {
        at_error(c, "failure to parse request");
        goto out;
    }
    type = jstr(j, "type");
    chan = jstr(j, "channel");
    ids = cJSON_GetObjectItemCaseSensitive(j, "product_ids");
    if (!streq(type, "subscribe") && !streq(type, "unsubscribe")) {
        at_error(c, "unknown message type");
        goto out;
    }
    sub = streq(type, "subscribe");
    if (!chan || !in_list(chan, at_channels)) {
        at_error(c, "Failed to subscribe: unknown channel");
        goto out;
    }
    if ((streq(chan, "user") || streq(chan, "futures_balance_summary"))
        && !jstr(j, "jwt")) {
        at_error(c, "authentication failure");
        goto out;
    }
    product_channel = !streq(chan, "heartbeats") && !streq(chan, "status");
    if (product_channel && (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) == 0)) {
        at_error(c, "Failed to subscribe: product_ids required");
        goto out;
    }
    cJSON_ArrayForEach(it, ids) {
        if (!cJSON_IsString(it) || !valid_symbol(it->valuestring, '-', true)) {
            at_error(c, "Failed to subscribe: invalid product_id");
            goto out;
        }
    }
    if (!product_channel) {
        if (sub) {
            fx_conn_add_sub(c, chan, chan, chan);
        } else {
            fx_conn_del_sub(c, chan, chan);
        }
    }
    const cJSON *list = product_channel ? ids : NULL;
    cJSON_ArrayForEach(it, list) {
        if (!sub) {
            fx_conn_del_sub(c, chan, it->valuestring);
            continue;
        }
        fx_conn_add_sub(c, chan, it->valuestring, NULL);
    }
    if (sub) {
        fx_conn_subscribed(c);
        for (size_t i = first_new; i < c->nsubs; i++) {
            send_snapshot(c, &c->subs[i]);
        }
    }
    at_subscriptions(c);
out:
    cJSON_Delete(j);
}

static void at_heartbeat(struct fx_conn *c)
{
    char ts[48], now_iso[48], cur[96];
    double up = (double)(fx_now_us() - c->srv->started_us) / 1e6;
    struct fx_str s = { 0 };

    if (!fx_conn_has_sub(c, "heartbeats", "heartbeats")) {
        return;
    }
    if (c->hb_counter == 0) {
        c->hb_counter = (uint64_t)up;
    }
    c->hb_counter++;
    at_iso_now(ts, sizeof ts);
    iso_now(now_iso, sizeof now_iso, 9);
    /* Go's time.String(): "2026-08-09 21:05:48.854840045 +0000 UTC m=+41691.26" */
    snprintf(cur, sizeof cur, "%.10s %.18s +0000 UTC m=+%.9f", now_iso,
             now_iso + 11, up);
    fx_str_addf(&s, "{\"channel\":\"heartbeats\",\"timestamp\":\"%s\","
                "\"sequence_num\":0,\"events\":[{\"current_time\":\"%s\","
                "\"heartbeat_counter\":%llu}]}", ts, cur,
                (unsigned long long)c->hb_counter);
    at_out(c, s.p, s.len, false);
    fx_str_free(&s);
}

static const struct fx_venue_ops coinbase_ops = {
    .name = "coinbase",
    .subscribe_timeout_ms = 5000,
    .message = at_message,
    .frame = generic_frame,
    .heartbeat = at_heartbeat,
    .emit = at_emit,
};

/* ---- Coinbase Exchange ws-feed ---- */

static const char *const cbx_channels[] = {
    "heartbeat", "status", "ticker", "ticker_batch", "level2_batch",
    "matches", "auctionfeed", "rfq_matches", NULL,
};

static const char *const cbx_auth_channels[] = {
    "level2", "level3", "full", "user", "balance", NULL,
};

static void cbx_error(struct fx_conn *c, const char *reason)
{
    struct fx_str s = { 0 };

    fx_str_adds(&s, "{\"type\":\"error\",\"message\":\"Failed to subscribe\","
                "\"reason\":");
    fx_str_add_json(&s, reason);
    fx_str_adds(&s, "}");
    fx_reply_str(c, &s);
    fx_str_free(&s);
}

static void cbx_subscriptions(struct fx_conn *c)
{
    const char *chans[FX_MAX_SUBS];
    size_t nch = 0;
    struct fx_str s = { 0 };

    for (size_t i = 0; i < c->nsubs; i++) {
        bool seen = false;
        for (size_t k = 0; k < nch && !seen; k++) {
            seen = streq(chans[k], c->subs[i].channel);
        }
        if (!seen) {
            chans[nch++] = c->subs[i].channel;
        }
    }
    fx_str_adds(&s, "{\"type\":\"subscriptions\",\"channels\":[");
    for (size_t k = 0; k < nch; k++) {
        bool first = true;
        fx_str_addf(&s, "%s{\"name\":", k ? "," : "");
        fx_str_add_json(&s, chans[k]);
        fx_str_adds(&s, ",\"product_ids\":[");
        for (size_t i = 0; i < c->nsubs; i++) {
            if (streq(c->subs[i].channel, chans[k])) {
                fx_str_adds(&s, first ? "" : ",");
                fx_str_add_json(&s, c->subs[i].symbol);
                first = false;
            }
        }
        fx_str_adds(&s, "]}");
    }
    fx_str_adds(&s, "]}");
    fx_reply_str(c, &s);
    fx_str_free(&s);
}

static void cbx_message(struct fx_conn *c, const char *text, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *top_ids, *chans, *ch, *it;
    const char *type;
    bool sub;
    size_t first_new = c->nsubs;    /* new subscriptions are appended */

    if (!j || !cJSON_IsObject(j)) {
        cbx_error(c, "malformed JSON");
        goto out;
    }
    type = jstr(j, "type");
    top_ids = cJSON_GetObjectItemCaseSensitive(j, "product_ids");
    chans = cJSON_GetObjectItemCaseSensitive(j, "channels");
    if (!streq(type, "subscribe") && !streq(type, "unsubscribe")) {
        cbx_error(c, "type must be subscribe or unsubscribe");
        goto out;
    }
    sub = streq(type, "subscribe");
    if (!cJSON_IsArray(chans) || cJSON_GetArraySize(chans) == 0) {
        cbx_error(c, "No channels provided");
        goto out;
    }
    /* validate everything before changing anything */
    for (int pass = 0; pass < 2; pass++) {
        cJSON_ArrayForEach(ch, chans) {
            const char *name = cJSON_IsString(ch) ? ch->valuestring : jstr(ch, "name");
            const cJSON *ids = cJSON_IsObject(ch)
                ? cJSON_GetObjectItemCaseSensitive(ch, "product_ids") : NULL;
            if (!ids) {
                ids = top_ids;
            }
            if (pass == 0) {
                if (name && in_list(name, cbx_auth_channels)) {
                    char r[96];
                    snprintf(r, sizeof r, "%s channel requires authentication",
                             name);
                    cbx_error(c, r);
                    goto out;
                }
                if (!name || !in_list(name, cbx_channels)) {
                    cbx_error(c, "Invalid channel");
                    goto out;
                }
                if (!streq(name, "status")
                    && (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) == 0)) {
                    cbx_error(c, "No product ids provided");
                    goto out;
                }
                cJSON_ArrayForEach(it, ids) {
                    if (!cJSON_IsString(it)
                        || !valid_symbol(it->valuestring, '-', true)) {
                        cbx_error(c, "Invalid product ID provided");
                        goto out;
                    }
                }
                continue;
            }
            if (streq(name, "status")) {
                if (sub) {
                    fx_conn_add_sub(c, name, "", name);
                } else {
                    fx_conn_del_sub(c, name, "");
                }
                continue;
            }
            cJSON_ArrayForEach(it, ids) {
                if (!sub) {
                    fx_conn_del_sub(c, name, it->valuestring);
                    continue;
                }
                fx_conn_add_sub(c, name, it->valuestring, NULL);
            }
        }
    }
    cbx_subscriptions(c);
    if (sub) {
        fx_conn_subscribed(c);
        for (size_t i = first_new; i < c->nsubs; i++) {
            send_snapshot(c, &c->subs[i]);
        }
    }
out:
    cJSON_Delete(j);
}

static void cbx_frame(struct fx_conn *c, const struct fx_frame *fr)
{
    fx_deliver(c, fr, fr->text, fr->len);
    if (fr->symbol < 0) {
        return;
    }
    for (size_t i = 0; i < c->nsubs; i++) {
        struct fx_sub *s = &c->subs[i];
        if (s->fsym == fr->symbol || (c->srv->opt.symbols == FX_SYMBOLS_ASIS
                                      && fx_ieq(s->symbol,
                                                c->srv->feeds[c->venue]
                                                    .symbols[fr->symbol]))) {
            /* as sent: with this loop's shift (fx_frame_render) */
            int64_t seq = fr->seq < 0 ? -1 : fr->seq
                + fx_id_shift(c, FX_IDS_CBX_SEQUENCE, fr->symbol);
            int64_t tid = fr->trade_id < 0 ? -1 : fr->trade_id
                + fx_id_shift(c, FX_IDS_CBX_TRADE_ID, fr->symbol);
            if (seq > s->last_seq) {
                s->last_seq = seq;
            }
            if (tid > s->last_trade_id) {
                s->last_trade_id = tid;
            }
        }
    }
}

static void cbx_heartbeat(struct fx_conn *c)
{
    char ts[48];
    struct fx_str s = { 0 };

    iso_now(ts, sizeof ts, 6);
    for (size_t i = 0; i < c->nsubs; i++) {
        const struct fx_sub *sub = &c->subs[i];
        if (!streq(sub->channel, "heartbeat")) {
            continue;
        }
        s.len = 0;
        fx_str_addf(&s, "{\"type\":\"heartbeat\",\"last_trade_id\":%lld,"
                    "\"product_id\":", (long long)(sub->last_trade_id > 0
                                                   ? sub->last_trade_id : 0));
        fx_str_add_json(&s, sub->symbol);
        fx_str_addf(&s, ",\"sequence\":%lld,\"time\":\"%s\"}",
                    (long long)(sub->last_seq > 0 ? sub->last_seq : 0), ts);
        fx_send(c, s.p, s.len, false);
    }
    fx_str_free(&s);
}

static const struct fx_venue_ops coinbase_ex_ops = {
    .name = "coinbase-exchange",
    .subscribe_timeout_ms = 5000,
    .message = cbx_message,
    .frame = cbx_frame,
    .heartbeat = cbx_heartbeat,
};

/* ---- Kraken v2 ---- */

static const char *const kraken_channels[] = {
    "ticker", "trade", "book", "ohlc", "instrument", "status", "heartbeat",
    NULL,
};

static void kraken_times(struct fx_str *s, const char *time_in)
{
    char out[48];

    iso_now(out, sizeof out, 6);
    fx_str_addf(s, "\"time_in\":\"%s\",\"time_out\":\"%s\"", time_in, out);
}

static void kraken_opened(struct fx_conn *c)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "{\"channel\":\"status\",\"type\":\"update\","
                     "\"data\":[{\"api_version\":\"v2\",\"connection_id\":%llu,"
                     "\"system\":\"online\",\"version\":\"2.0.10\"}]}",
                     (unsigned long long)c->kraken_conn_id);
    fx_send(c, buf, (size_t)n, false);
}

/* The ticker template (doc-derived line 1) for `symbol`, as snapshot or
 * update, with prices from step k of a fixed zigzag. */
static void kraken_ticker(struct fx_conn *c, const char *symbol, bool snapshot,
                          unsigned k)
{
    const struct fx_feed *tpl = &c->srv->templates[FX_TPL_KRAKEN_WS];
    char ts[48];
    struct fx_str s = { 0 };
    long long phase = (long long)(k % 40), zig = phase < 20 ? phase : 40 - phase;
    long long bid = 10594420 + zig * 50 - 500;    /* cents */

    iso_now(ts, sizeof ts, 6);
    if (snapshot && tpl->n > 0) {
        struct fx_str tmp = { 0 };
        char *at;
        fx_subst_symbol(tpl->frames[0].text, tpl->frames[0].len, "BTC/USD",
                        symbol, &tmp);
        /* the documented example's time becomes now (same length) */
        at = strstr(tmp.p, "\"timestamp\":\"");
        if (at && strlen(at + 13) >= strlen(ts) + 1) {
            memcpy(at + 13, ts, strlen(ts));
        }
        fx_send(c, tmp.p, tmp.len, true);
        fx_str_free(&tmp);
        return;
    }
    fx_str_adds(&s, "{\"channel\":\"ticker\",\"type\":\"update\",\"data\":"
                "[{\"symbol\":");
    fx_str_add_json(&s, symbol);
    fx_str_addf(&s, ",\"bid\":%lld.%02lld,\"bid_qty\":2.5,\"ask\":%lld.%02lld,"
                "\"ask_qty\":3.2,\"last\":%lld.%02lld,\"volume\":163.28908096,"
                "\"vwap\":105904.39279,\"low\":104711.00,\"high\":106613.10,"
                "\"change\":250.00,\"change_pct\":0.24,\"timestamp\":\"%s\"}]}",
                bid / 100, bid % 100, (bid + 10) / 100, (bid + 10) % 100,
                (bid + 5) / 100, (bid + 5) % 100, ts);
    fx_send(c, s.p, s.len, true);
    fx_str_free(&s);
}

static void kraken_message(struct fx_conn *c, const char *text, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *params, *req, *syms, *it, *snap;
    const char *method, *chan;
    char time_in[48], reqtxt[32] = "";
    struct fx_str s = { 0 };

    iso_now(time_in, sizeof time_in, 6);
    if (!j || !cJSON_IsObject(j)) {
        fx_str_adds(&s, "{\"error\":\"Malformed request\",\"success\":false,");
        kraken_times(&s, time_in);
        fx_str_adds(&s, "}");
        fx_reply_str(c, &s);
        goto out;
    }
    method = jstr(j, "method");
    params = cJSON_GetObjectItemCaseSensitive(j, "params");
    req = cJSON_GetObjectItemCaseSensitive(j, "req_id");
    if (cJSON_IsNumber(req)) {
        snprintf(reqtxt, sizeof reqtxt, ",\"req_id\":%lld",
                 (long long)req->valuedouble);
    }
    if (streq(method, "ping")) {
        c->app_pings++;
        if (c->mute_pongs) {
            goto out;
        }
        fx_str_addf(&s, "{\"method\":\"pong\"%s,", reqtxt);
        kraken_times(&s, time_in);
        fx_str_adds(&s, "}");
        fx_reply_str(c, &s);
        c->app_pongs++;
        goto out;
    }
    if (!streq(method, "subscribe") && !streq(method, "unsubscribe")) {
        fx_str_adds(&s, "{\"error\":\"Method not supported\",\"method\":");
        fx_str_add_json(&s, method ? method : "");
        fx_str_addf(&s, "%s,\"success\":false,", reqtxt);
        kraken_times(&s, time_in);
        fx_str_adds(&s, "}");
        fx_reply_str(c, &s);
        goto out;
    }
    chan = jstr(params, "channel");
    syms = cJSON_GetObjectItemCaseSensitive(params, "symbol");
    snap = cJSON_GetObjectItemCaseSensitive(params, "snapshot");
    if (!chan || !in_list(chan, kraken_channels)) {
        fx_str_addf(&s, "{\"error\":\"Channel not supported\",\"method\":\"%s\"%s,"
                    "\"success\":false,", method, reqtxt);
        kraken_times(&s, time_in);
        fx_str_adds(&s, "}");
        fx_reply_str(c, &s);
        goto out;
    }
    if (!cJSON_IsArray(syms) || cJSON_GetArraySize(syms) == 0) {
        /* symbol-less channels: one ack */
        if (streq(method, "subscribe")) {
            fx_conn_add_sub(c, chan, "", chan);
            fx_conn_subscribed(c);
        } else {
            fx_conn_del_sub(c, chan, "");
        }
        fx_str_addf(&s, "{\"method\":\"%s\",\"result\":{\"channel\":\"%s\"},"
                    "\"success\":true,", method, chan);
        kraken_times(&s, time_in);
        fx_str_addf(&s, "%s}", reqtxt);
        fx_reply_str(c, &s);
        goto out;
    }
    cJSON_ArrayForEach(it, syms) {
        const char *sym = cJSON_IsString(it) ? it->valuestring : "";
        s.len = 0;
        if (!valid_symbol(sym, '/', true)) {
            fx_str_addf(&s, "{\"error\":\"Currency pair not supported %s\","
                        "\"method\":\"%s\",\"success\":false,\"symbol\":",
                        sym, method);
            fx_str_add_json(&s, sym);
            fx_str_adds(&s, ",");
            kraken_times(&s, time_in);
            fx_str_addf(&s, "%s}", reqtxt);
            fx_reply_str(c, &s);
            continue;
        }
        bool want_snap = !cJSON_IsFalse(snap);
        if (streq(method, "subscribe")) {
            fx_conn_add_sub(c, chan, sym, NULL);
            fx_conn_subscribed(c);
        } else {
            fx_conn_del_sub(c, chan, sym);
        }
        fx_str_addf(&s, "{\"method\":\"%s\",\"result\":{\"channel\":\"%s\","
                    "\"symbol\":", method, chan);
        fx_str_add_json(&s, sym);
        if (streq(method, "subscribe")) {
            fx_str_addf(&s, ",\"snapshot\":%s", want_snap ? "true" : "false");
        }
        fx_str_adds(&s, "},\"success\":true,");
        kraken_times(&s, time_in);
        fx_str_addf(&s, "%s}", reqtxt);
        fx_reply_str(c, &s);
        if (streq(method, "subscribe") && streq(chan, "ticker") && want_snap
            && !c->stalled) {
            kraken_ticker(c, sym, true, 0);
        }
    }
out:
    fx_str_free(&s);
    cJSON_Delete(j);
}

static void kraken_synth(struct fx_conn *c)
{
    c->synth_step++;
    for (size_t i = 0; i < c->nsubs; i++) {
        if (streq(c->subs[i].channel, "ticker")) {
            kraken_ticker(c, c->subs[i].symbol, false, c->synth_step);
        }
    }
}

static void kraken_heartbeat(struct fx_conn *c)
{
    static const char hb[] = "{\"channel\":\"heartbeat\"}";

    if (c->subscribed) {
        fx_send(c, hb, sizeof hb - 1, false);
    }
}

static void no_frames(struct fx_conn *c, const struct fx_frame *fr)
{
    (void)c;
    (void)fr;
}

static const struct fx_venue_ops kraken_ops = {
    .name = "kraken",
    .opened = kraken_opened,
    .message = kraken_message,
    .frame = no_frames,
    .heartbeat = kraken_heartbeat,
    .synth = kraken_synth,
};

/* ---- OKX v5 ---- */

static const char *const okx_inst_channels[] = {
    "tickers", "trades", "trades-all", "books", "books5", "bbo-tbt",
    "books-l2-tbt", "books50-l2-tbt", "mark-price", "index-tickers",
    "funding-rate", "open-interest", "price-limit", NULL,
};

static void okx_error(struct fx_conn *c, const char *code, const char *msg)
{
    struct fx_str s = { 0 };

    fx_str_addf(&s, "{\"event\":\"error\",\"code\":\"%s\",\"msg\":", code);
    fx_str_add_json(&s, msg);
    fx_str_addf(&s, ",\"connId\":\"%s\"}", c->conn_id);
    fx_reply_str(c, &s);
    fx_str_free(&s);
}

static void okx_message(struct fx_conn *c, const char *text, size_t len)
{
    cJSON *j;
    const cJSON *args, *arg;
    const char *op;
    struct fx_str s = { 0 };

    if (len == 4 && memcmp(text, "ping", 4) == 0) {
        c->app_pings++;
        if (!c->mute_pongs) {
            fx_reply(c, "pong", 4);
            c->app_pongs++;
        }
        return;
    }
    j = cJSON_ParseWithLength(text, len);
    op = jstr(j, "op");
    args = cJSON_GetObjectItemCaseSensitive(j, "args");
    if (!j || (!streq(op, "subscribe") && !streq(op, "unsubscribe"))
        || !cJSON_IsArray(args) || cJSON_GetArraySize(args) == 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "Invalid request: %.*s",
                 (int)(len < 150 ? len : 150), text);
        okx_error(c, "60012", msg);
        goto out;
    }
    cJSON_ArrayForEach(arg, args) {
        const char *ch = jstr(arg, "channel"), *inst = jstr(arg, "instId");
        if (!ch || (in_list(ch, okx_inst_channels)
                    && (!inst || !valid_symbol(inst, '-', true)))) {
            char msg[200];
            snprintf(msg, sizeof msg, "Wrong URL or channel:%s,instId:%s doesn't "
                     "exist. Please use the correct URL, channel and parameters "
                     "referring to API document.", ch ? ch : "",
                     inst ? inst : "");
            okx_error(c, "60018", msg);
            goto out;
        }
    }
    cJSON_ArrayForEach(arg, args) {
        const char *ch = jstr(arg, "channel"), *inst = jstr(arg, "instId");
        char *argtxt = cJSON_PrintUnformatted(arg);
        if (streq(op, "subscribe")) {
            fx_conn_add_sub(c, ch, inst ? inst : "", NULL);
        } else {
            fx_conn_del_sub(c, ch, inst ? inst : "");
        }
        s.len = 0;
        fx_str_addf(&s, "{\"event\":\"%s\",\"arg\":%s,\"connId\":\"%s\"}", op,
                    argtxt, c->conn_id);
        fx_reply_str(c, &s);
        free(argtxt);
    }
    if (streq(op, "subscribe")) {
        fx_conn_subscribed(c);
    }
out:
    fx_str_free(&s);
    cJSON_Delete(j);
}

static bool okx_fault(struct fx_conn *c, const struct fx_fault *f)
{
    char buf[256];
    int n;

    if (f->kind != FX_F_NOTICE) {
        return false;
    }
    n = snprintf(buf, sizeof buf, "{\"event\":\"notice\",\"code\":\"64008\","
                 "\"msg\":\"The connection will soon be closed for a service "
                 "upgrade. Please reconnect.\",\"connId\":\"%s\"}", c->conn_id);
    fx_send(c, buf, (size_t)n, false);
    return true;
}

static const struct fx_venue_ops okx_ops = {
    .name = "okx",
    .subscribe_timeout_ms = 30000,
    .message = okx_message,
    .frame = generic_frame,
    .fault = okx_fault,
};

/* ---- Bybit v5 ---- */

static bool bybit_topic(const char *topic, char *chan, char *sym)
{
    const char *dot = strrchr(topic, '.');
    size_t n;

    if (!dot || (n = (size_t)(dot - topic)) == 0 || n >= FX_CHAN_LEN
        || !valid_symbol(dot + 1, 0, false)) {
        return false;
    }
    memcpy(chan, topic, n);
    chan[n] = '\0';
    snprintf(sym, FX_SYM_LEN, "%s", dot + 1);
    if (streq(chan, "tickers") || streq(chan, "publicTrade")
        || streq(chan, "liquidation") || streq(chan, "allLiquidation")
        || streq(chan, "orderbook.1") || streq(chan, "orderbook.50")
        || streq(chan, "orderbook.200") || streq(chan, "orderbook.500")
        || streq(chan, "orderbook.1000")) {
        return true;
    }
    return strncmp(chan, "kline.", 6) == 0 && chan[6] != '\0';
}

/* {"success":..,"ret_msg":..,"conn_id":..,["req_id":..,]"op":..}: linear
 * always carries req_id, spot only when the client sent one. */
static void bybit_reply(struct fx_conn *c, bool ok, const char *ret_msg,
                        const char *req_id, const char *op)
{
    struct fx_str s = { 0 };

    fx_str_addf(&s, "{\"success\":%s,\"ret_msg\":", ok ? "true" : "false");
    fx_str_add_json(&s, ret_msg);
    fx_str_addf(&s, ",\"conn_id\":\"%s\"", c->conn_id);
    if (c->venue == FX_BYBIT_LINEAR || req_id) {
        fx_str_adds(&s, ",\"req_id\":");
        fx_str_add_json(&s, req_id ? req_id : "");
    }
    fx_str_addf(&s, ",\"op\":\"%s\"}", op);
    fx_reply_str(c, &s);
    fx_str_free(&s);
}

static void bybit_message(struct fx_conn *c, const char *text, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *args, *it, *rid;
    const char *op, *req_id = NULL;
    char ridbuf[64];
    bool spot = c->venue == FX_BYBIT_SPOT;
    size_t first_new = c->nsubs;    /* new subscriptions are appended */

    if (!j || !cJSON_IsObject(j)) {
        bybit_reply(c, false, "error:request not json", NULL, "");
        goto out;
    }
    op = jstr(j, "op");
    args = cJSON_GetObjectItemCaseSensitive(j, "args");
    rid = cJSON_GetObjectItemCaseSensitive(j, "req_id");
    if (cJSON_IsString(rid)) {
        req_id = rid->valuestring;
    } else if (cJSON_IsNumber(rid)) {
        snprintf(ridbuf, sizeof ridbuf, "%lld", (long long)rid->valuedouble);
        req_id = ridbuf;
    }
    if (streq(op, "ping")) {
        c->app_pings++;
        if (!c->mute_pongs) {
            if (spot) {
                bybit_reply(c, true, "pong", NULL, "ping");
            } else {
                bybit_reply(c, true, "pong", req_id, "ping");
            }
            c->app_pongs++;
        }
        goto out;
    }
    if (!streq(op, "subscribe") && !streq(op, "unsubscribe")) {
        bybit_reply(c, false, "error:handler not found", req_id, op ? op : "");
        goto out;
    }
    if (!cJSON_IsArray(args) || cJSON_GetArraySize(args) == 0) {
        bybit_reply(c, false, "error:args is empty", req_id, op);
        goto out;
    }
    if (spot && cJSON_GetArraySize(args) > 10) {
        bybit_reply(c, false, "args size >10", req_id, op);
        goto out;
    }
    cJSON_ArrayForEach(it, args) {
        char chan[FX_CHAN_LEN], sym[FX_SYM_LEN], msg[160];
        if (!cJSON_IsString(it) || !bybit_topic(it->valuestring, chan, sym)) {
            snprintf(msg, sizeof msg, "error:handler not found,topic:%s",
                     cJSON_IsString(it) ? it->valuestring : "");
            bybit_reply(c, false, msg, req_id, op);
            goto out;
        }
        if (streq(op, "subscribe") && fx_conn_has_sub(c, chan, sym)) {
            snprintf(msg, sizeof msg, "error:already subscribed,topic:%s",
                     it->valuestring);
            bybit_reply(c, false, msg, req_id, op);
            goto out;
        }
    }
    cJSON_ArrayForEach(it, args) {
        char chan[FX_CHAN_LEN], sym[FX_SYM_LEN];
        bybit_topic(it->valuestring, chan, sym);
        if (streq(op, "subscribe")) {
            fx_conn_add_sub(c, chan, sym, it->valuestring);
        } else {
            fx_conn_del_sub(c, chan, sym);
        }
    }
    bybit_reply(c, true, spot && streq(op, "subscribe") ? "subscribe" : "",
                req_id, op);
    if (streq(op, "subscribe")) {
        fx_conn_subscribed(c);
        for (size_t i = first_new; i < c->nsubs; i++) {
            send_snapshot(c, &c->subs[i]);
        }
    }
out:
    cJSON_Delete(j);
}

static const struct fx_venue_ops bybit_spot_ops = {
    .name = "bybit-spot",
    .message = bybit_message,
    .frame = generic_frame,
};

static const struct fx_venue_ops bybit_linear_ops = {
    .name = "bybit-linear",
    .message = bybit_message,
    .frame = generic_frame,
};

const struct fx_venue_ops *const fx_venues[FX_VENUE_COUNT] = {
    [FX_BINANCE] = &binance_ops,
    [FX_COINBASE] = &coinbase_ops,
    [FX_COINBASE_EX] = &coinbase_ex_ops,
    [FX_KRAKEN] = &kraken_ops,
    [FX_OKX] = &okx_ops,
    [FX_BYBIT_SPOT] = &bybit_spot_ops,
    [FX_BYBIT_LINEAR] = &bybit_linear_ops,
};

int fx_venue_for_path(const char *path)
{
    static const struct {
        const char *path;
        bool prefix;
        enum fx_venue_id v;
    } routes[] = {
        { "/binance/ws", false, FX_BINANCE },
        { "/binance/ws/", true, FX_BINANCE },
        { "/binance/stream", false, FX_BINANCE },
        { "/coinbase", false, FX_COINBASE },
        { "/coinbase/ws", false, FX_COINBASE },
        { "/coinbase-exchange", false, FX_COINBASE_EX },
        { "/coinbase-exchange/ws", false, FX_COINBASE_EX },
        { "/kraken/v2", false, FX_KRAKEN },
        { "/okx/ws/v5/public", false, FX_OKX },
        { "/bybit/v5/public/spot", false, FX_BYBIT_SPOT },
        { "/bybit/v5/public/linear", false, FX_BYBIT_LINEAR },
    };
    size_t n = strcspn(path, "?");

    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        size_t rl = strlen(routes[i].path);
        if (routes[i].prefix ? (n > rl && strncmp(path, routes[i].path, rl) == 0)
                             : (n == rl && strncmp(path, routes[i].path, rl) == 0)) {
            return (int)routes[i].v;
        }
    }
    return -1;
}
