/* Fixture feeds: loads the recorded JSONL frames (and their receive times)
 * of each venue, classifies every frame by channel and symbol, and maps
 * the symbols clients subscribe to onto recorded ones. */
#include "fx.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define FX_MAX_FILE_BYTES (64u * 1024 * 1024)

static const char *const default_files[FX_VENUE_COUNT] = {
    [FX_BINANCE] = "binance/ws_spot_combined_2021-04-17.jsonl",
    [FX_COINBASE] = "coinbase/advanced_trade_ws_2026-08-09_part1.jsonl",
    [FX_COINBASE_EX] = "coinbase/exchange_ws_feed_2021-04-17_A.jsonl",
    [FX_KRAKEN] = NULL,     /* synthesized from the doc-derived template */
    [FX_OKX] = "okx/ws_v5_public_2022-05-13.jsonl",
    [FX_BYBIT_SPOT] = "bybit/ws_v5_spot_tickers_2026-08-09_BTC.jsonl",
    [FX_BYBIT_LINEAR] = "bybit/ws_v5_linear_tickers_2026-08-09_BTC_ETH.jsonl",
};

static const char *const template_files[FX_TPL_COUNT] = {
    [FX_TPL_BINANCE_PRICE] = "binance/rest_ticker_price.jsonl",
    [FX_TPL_BINANCE_24HR] = "binance/rest_ticker_24hr.jsonl",
    [FX_TPL_BINANCE_DOC] = "binance/ws_doc_examples.jsonl",
    [FX_TPL_COINBASE_TICKER] = "coinbase/rest_advanced_trade_market_ticker.jsonl",
    [FX_TPL_KRAKEN_WS] = "kraken/ws_v2_doc_derived.jsonl",
};

static const char *const keys_binance[] = { "E", "T", NULL };
static const char *const keys_coinbase[] = { "timestamp", "time", NULL };
static const char *const keys_coinbase_ex[] = { "time", NULL };
static const char *const keys_ts[] = { "ts", NULL };

/* Sequence-like fields: on which channel which JSON keys hold ids of which
 * number series (per venue and fixture symbol; fields of one series share
 * one shift, so their relations hold: aggTrade f/l and a, depth U/u and
 * bookTicker u, a Coinbase ticker and its match). Keys count at any depth
 * (kline k.f/k.L); values must be non-negative integers or digit strings.
 * Rules for channels the recordings lack are there for --fixture files. */
struct id_rule {
    enum fx_venue_id venue;
    const char *channel;
    bool prefix;                /* channel starts with it */
    int series;
    const char *keys[4];        /* NULL-ended */
};

static const struct id_rule id_rules[] = {
    /* trade ids, aggregate ids (and @trade's t, made from a) */
    { FX_BINANCE, "aggTrade", false, 0, { "a", "f", "l", "t" } },
    { FX_BINANCE, "trade", false, 0, { "t", NULL } },
    { FX_BINANCE, "kline_", true, 0, { "f", "L", NULL } },
    /* order book update ids */
    { FX_BINANCE, "bookTicker", false, 1, { "u", NULL } },
    { FX_BINANCE, "depth", true, 1, { "U", "u", "lastUpdateId", NULL } },
    { FX_COINBASE, "market_trades", false, 0, { "trade_id", NULL } },
    { FX_COINBASE_EX, "ticker", false, FX_IDS_CBX_SEQUENCE, { "sequence", NULL } },
    { FX_COINBASE_EX, "ticker", false, FX_IDS_CBX_TRADE_ID, { "trade_id", NULL } },
    { FX_COINBASE_EX, "matches", false, FX_IDS_CBX_SEQUENCE, { "sequence", NULL } },
    { FX_COINBASE_EX, "matches", false, FX_IDS_CBX_TRADE_ID, { "trade_id", NULL } },
    { FX_OKX, "trades", true, 0, { "tradeId", NULL } },         /* trades-all too */
    { FX_OKX, "books", true, 1, { "seqId", "prevSeqId", NULL } },
    /* cross sequence, shared by tickers, orderbook and trades */
    { FX_BYBIT_SPOT, "tickers", false, 0, { "cs", NULL } },
    { FX_BYBIT_SPOT, "orderbook.", true, 0, { "seq", NULL } },
    { FX_BYBIT_SPOT, "orderbook.", true, 1, { "u", NULL } },
    { FX_BYBIT_LINEAR, "tickers", false, 0, { "cs", NULL } },
    { FX_BYBIT_LINEAR, "orderbook.", true, 0, { "seq", NULL } },
    { FX_BYBIT_LINEAR, "orderbook.", true, 1, { "u", NULL } },
};
#define N_ID_RULES (sizeof id_rules / sizeof id_rules[0])
_Static_assert(N_ID_RULES <= 32, "fx_feed.chan_ids is a 32-bit mask");

/* Whole file into a NUL-terminated buffer; NULL (logged) on failure. */
static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (!fp) {
        fx_log(FX_ERROR, "fake.feed", "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0
        || (unsigned long)size > FX_MAX_FILE_BYTES
        || fseek(fp, 0, SEEK_SET) != 0) {
        fx_log(FX_ERROR, "fake.feed", "%s: unreadable or too large", path);
        fclose(fp);
        return NULL;
    }
    buf = fx_xmalloc((size_t)size + 1);
    if (fread(buf, 1, (size_t)size, fp) != (size_t)size) {
        fx_log(FX_ERROR, "fake.feed", "%s: short read", path);
        free(buf);
        buf = NULL;
    } else {
        buf[size] = '\0';
        *len = (size_t)size;
    }
    fclose(fp);
    return buf;
}

static int add_name(char names[][FX_SYM_LEN], int *n, int max,
                    const char *name)
{
    for (int i = 0; i < *n; i++) {
        if (strcmp(names[i], name) == 0) {
            return i;
        }
    }
    if (*n >= max || strlen(name) >= FX_SYM_LEN) {
        return -1;
    }
    memcpy(names[*n], name, strlen(name) + 1);     /* length checked above */
    return (*n)++;
}

static int add_channel(struct fx_feed *f, const char *name)
{
    for (int i = 0; i < f->nchannels; i++) {
        if (strcmp(f->channels[i], name) == 0) {
            return i;
        }
    }
    if (f->nchannels >= FX_FEED_CHANNELS || strlen(name) >= FX_CHAN_LEN) {
        return -1;
    }
    memcpy(f->channels[f->nchannels], name, strlen(name) + 1);
    return f->nchannels++;
}

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static int64_t jint(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(it) ? (int64_t)it->valuedouble : -1;
}

/* Channel, symbol and snapshot flag of one frame, per venue. */
static void classify(enum fx_venue_id v, struct fx_feed *f,
                     struct fx_frame *fr, const cJSON *j)
{
    const char *chan = NULL, *sym = NULL;
    char buf[128];

    fr->channel = fr->symbol = -1;
    fr->seq = fr->trade_id = -1;
    switch (v) {
    case FX_BINANCE: {
        const char *stream = jstr(j, "stream");
        const char *at = stream ? strchr(stream, '@') : NULL;
        const char *d = strstr(fr->text, ",\"data\":");
        if (!at || !d || (size_t)(at - stream) >= sizeof buf) {
            return;
        }
        memcpy(buf, stream, (size_t)(at - stream));
        buf[at - stream] = '\0';
        sym = buf;
        chan = at + 1;
        fr->data_off = (size_t)(d - fr->text) + 8;
        fr->data_len = fr->len - fr->data_off - 1;  /* drop the final } */
        break;
    }
    case FX_COINBASE: {
        const cJSON *ev = cJSON_GetArrayItem(
            cJSON_GetObjectItemCaseSensitive(j, "events"), 0);
        chan = jstr(j, "channel");
        if (!chan || !strcmp(chan, "subscriptions")
            || !strcmp(chan, "heartbeats")) {
            return;
        }
        const char *t = jstr(ev, "type");
        fr->snapshot = t && !strcmp(t, "snapshot");
        static const char *const lists[] = { "tickers", "trades", "candles" };
        for (size_t i = 0; i < 3 && !sym; i++) {
            const cJSON *el = cJSON_GetArrayItem(
                cJSON_GetObjectItemCaseSensitive(ev, lists[i]), 0);
            sym = jstr(el, "product_id");
        }
        break;
    }
    case FX_COINBASE_EX: {
        const char *t = jstr(j, "type");
        if (!t) {
            return;
        }
        if (!strcmp(t, "ticker")) {
            chan = "ticker";
        } else if (!strcmp(t, "match") || !strcmp(t, "last_match")) {
            chan = "matches";
            fr->snapshot = !strcmp(t, "last_match");
        } else {
            return;
        }
        sym = jstr(j, "product_id");
        fr->seq = jint(j, "sequence");
        fr->trade_id = jint(j, "trade_id");
        break;
    }
    case FX_OKX: {
        const cJSON *arg = cJSON_GetObjectItemCaseSensitive(j, "arg");
        if (cJSON_GetObjectItemCaseSensitive(j, "event")
            || !cJSON_GetObjectItemCaseSensitive(j, "data")) {
            return;
        }
        chan = jstr(arg, "channel");
        sym = jstr(arg, "instId");
        break;
    }
    case FX_BYBIT_SPOT:
    case FX_BYBIT_LINEAR: {
        const char *topic = jstr(j, "topic");
        const char *dot = topic ? strrchr(topic, '.') : NULL;
        const char *t = jstr(j, "type");
        if (!dot || (size_t)(dot - topic) >= sizeof buf) {
            return;
        }
        memcpy(buf, topic, (size_t)(dot - topic));
        buf[dot - topic] = '\0';
        chan = buf;
        sym = dot + 1;
        fr->snapshot = t && !strcmp(t, "snapshot");
        break;
    }
    case FX_KRAKEN:
    case FX_VENUE_COUNT:
        return;
    }
    if (!chan || !sym) {
        return;
    }
    fr->channel = add_channel(f, chan);
    fr->symbol = add_name(f->symbols, &f->nsymbols, FX_FEED_SYMBOLS, sym);
    if (fr->channel < 0 || fr->symbol < 0) {
        fr->channel = fr->symbol = -1;
        return;
    }
    f->symbol_frames[fr->symbol]++;
}

/* Split `buf` into frames (taking ownership of each line's bytes). */
static int split_lines(struct fx_feed *f, const char *buf, size_t len)
{
    size_t cap = 0;

    for (size_t i = 0; i < len;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t n = end - i;
        if (n > 0 && buf[i + n - 1] == '\r') {
            n--;
        }
        if (n > 0) {
            if (f->n == cap) {
                cap = cap ? cap * 2 : 256;
                f->frames = fx_xrealloc(f->frames, cap * sizeof *f->frames);
            }
            struct fx_frame *fr = &f->frames[f->n++];
            memset(fr, 0, sizeof *fr);
            fr->text = fx_xstrndup(buf + i, n);
            fr->len = n;
            fr->channel = fr->symbol = -1;
        }
        i = end + 1;
    }
    return 0;
}

static int load_times(struct fx_feed *f, const char *path)
{
    char tpath[600];
    size_t len = 0;
    char *buf;
    size_t line = 0;

    snprintf(tpath, sizeof tpath, "%.*s.recv_ts.txt",
             (int)(strlen(path) - strlen(".jsonl")), path);
    buf = read_file(tpath, &len);
    if (!buf) {
        for (size_t i = 0; i < f->n; i++) {
            f->frames[i].t_s = (double)i;   /* one frame a second */
        }
        return 0;
    }
    for (char *p = buf, *nl; *p && line < f->n; p = nl + 1) {
        f->frames[line++].t_s = strtod(p, NULL);
        nl = strchr(p, '\n');
        if (!nl) {
            break;
        }
    }
    free(buf);
    if (line != f->n) {
        fx_log(FX_ERROR, "fake.feed", "%s: %zu times for %zu frames", tpath,
               line, f->n);
        return -1;
    }
    return 0;
}

static void rank_symbols(struct fx_feed *f)
{
    for (int i = 0; i < f->nsymbols; i++) {
        f->rank[i] = i;
    }
    /* insertion sort: busiest first, ties in order of appearance */
    for (int i = 1; i < f->nsymbols; i++) {
        int v = f->rank[i], j = i - 1;
        while (j >= 0 && f->symbol_frames[f->rank[j]] < f->symbol_frames[v]) {
            f->rank[j + 1] = f->rank[j];
            j--;
        }
        f->rank[j + 1] = v;
    }
}

/* Which id rules apply to each channel, and each (series, symbol)'s range
 * of ids in the recording. */
static void id_ranges(enum fx_venue_id v, struct fx_feed *f)
{
    for (int ch = 0; ch < f->nchannels; ch++) {
        f->chan_ids[ch] = 0;
        for (size_t r = 0; r < N_ID_RULES; r++) {
            const struct id_rule *ru = &id_rules[r];
            size_t n = strlen(ru->channel);
            if (ru->venue == v
                && (ru->prefix ? strncmp(f->channels[ch], ru->channel, n) == 0
                               : strcmp(f->channels[ch], ru->channel) == 0)) {
                f->chan_ids[ch] |= 1u << r;
            }
        }
    }
    for (size_t i = 0; i < f->n; i++) {
        const struct fx_frame *fr = &f->frames[i];
        if (fr->channel < 0 || fr->symbol < 0) {
            continue;
        }
        for (size_t r = 0; r < N_ID_RULES; r++) {
            if (!(f->chan_ids[fr->channel] & (1u << r))) {
                continue;
            }
            struct fx_id_range *g = &f->ids[id_rules[r].series][fr->symbol];
            int64_t lo = INT64_MAX, hi = -1;
            if (fx_scan_ids(fr->text, fr->len, id_rules[r].keys, &lo, &hi)) {
                g->min = g->any && g->min < lo ? g->min : lo;
                g->max = g->any && g->max > hi ? g->max : hi;
                g->any = true;
            }
        }
    }
    for (int k = 0; k < FX_ID_SERIES; k++) {
        for (int sym = 0; sym < f->nsymbols; sym++) {
            f->ids[k][sym].next = f->ids[k][sym].min;  /* first block: as recorded */
        }
    }
}

static void resolve(const struct fx_server *s, const char *file, char *out,
                    size_t size)
{
    if (file[0] == '/') {
        snprintf(out, size, "%s", file);
    } else {
        snprintf(out, size, "%s/%s", s->opt.fixtures, file);
    }
}

static int load_feed(struct fx_server *s, enum fx_venue_id v)
{
    struct fx_feed *f = &s->feeds[v];
    const char *file = s->opt.fixture_file[v] ? s->opt.fixture_file[v]
                                              : default_files[v];
    size_t len = 0;
    char *buf;

    switch (v) {
    case FX_BINANCE:
        f->time_keys = keys_binance;
        break;
    case FX_COINBASE:
        f->time_keys = keys_coinbase;
        f->snapshot_first = true;
        break;
    case FX_COINBASE_EX:
        f->time_keys = keys_coinbase_ex;
        f->snapshot_first = true;
        break;
    case FX_BYBIT_LINEAR:
        f->time_keys = keys_ts;
        f->snapshot_first = true;
        break;
    default:
        f->time_keys = keys_ts;
        break;
    }
    if (!file) {
        return 0;
    }
    resolve(s, file, f->file, sizeof f->file);
    buf = read_file(f->file, &len);
    if (!buf) {
        return -1;
    }
    split_lines(f, buf, len);
    free(buf);
    if (load_times(f, f->file) != 0) {
        return -1;
    }
    for (size_t i = 0; i < f->n; i++) {
        struct fx_frame *fr = &f->frames[i];
        cJSON *j = cJSON_ParseWithLength(fr->text, fr->len);
        if (!j) {
            fx_log(FX_WARN, "fake.feed", "%s:%zu: not JSON, not replayed",
                   f->file, i + 1);
            continue;
        }
        classify(v, f, fr, j);
        cJSON_Delete(j);
    }
    rank_symbols(f);
    id_ranges(v, f);
    if (f->n > 0) {
        double span = f->frames[f->n - 1].t_s - f->frames[0].t_s;
        f->t_first_s = f->frames[0].t_s;
        f->period_s = ceil(span + 1.0);     /* whole seconds: see --retime */
    }
    fx_log(FX_INFO, "fake.feed", "%s: %zu frames, %d channels, %d symbols",
           f->file, f->n, f->nchannels, f->nsymbols);
    return 0;
}

int fx_feeds_load(struct fx_server *s)
{
    for (int v = 0; v < FX_VENUE_COUNT; v++) {
        if (load_feed(s, (enum fx_venue_id)v) != 0) {
            return -1;
        }
    }
    for (int t = 0; t < FX_TPL_COUNT; t++) {
        struct fx_feed *f = &s->templates[t];
        size_t len = 0;
        char *buf;
        resolve(s, template_files[t], f->file, sizeof f->file);
        buf = read_file(f->file, &len);
        if (!buf) {
            return -1;
        }
        split_lines(f, buf, len);
        free(buf);
    }
    return 0;
}

static void feed_free(struct fx_feed *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->frames[i].text);
    }
    free(f->frames);
    f->frames = NULL;
    f->n = 0;
}

void fx_feeds_free(struct fx_server *s)
{
    for (int v = 0; v < FX_VENUE_COUNT; v++) {
        feed_free(&s->feeds[v]);
    }
    for (int t = 0; t < FX_TPL_COUNT; t++) {
        feed_free(&s->templates[t]);
    }
}

int fx_feed_channel(const struct fx_feed *f, const char *channel)
{
    for (int i = 0; i < f->nchannels; i++) {
        if (strcmp(f->channels[i], channel) == 0) {
            return i;
        }
    }
    return -1;
}

int fx_feed_symbol(const struct fx_feed *f, const char *symbol)
{
    for (int i = 0; i < f->nsymbols; i++) {
        if (fx_ieq(f->symbols[i], symbol)) {
            return i;
        }
    }
    return -1;
}

int fx_symmap_assign(struct fx_server *s, enum fx_venue_id v,
                     const char *target)
{
    const struct fx_feed *f = &s->feeds[v];
    struct fx_symmap *map = s->symmap[v];
    int fsym;

    if (f->nsymbols == 0) {
        return -1;
    }
    if ((fsym = fx_feed_symbol(f, target)) >= 0) {
        return fsym;
    }
    for (size_t i = 0; i < s->nsymmap[v]; i++) {
        if (fx_ieq(map[i].target, target)) {
            return map[i].fsym;
        }
    }
    fsym = f->rank[s->symmap_next[v]++ % (unsigned)f->nsymbols];
    if (s->nsymmap[v] < FX_SYMMAP_MAX && strlen(target) < FX_SYM_LEN) {
        snprintf(map[s->nsymmap[v]].target, FX_SYM_LEN, "%s", target);
        map[s->nsymmap[v]++].fsym = fsym;
    }
    return fsym;
}

int64_t fx_id_shift(struct fx_conn *c, int series, int fsym)
{
    struct fx_feed *f = &c->srv->feeds[c->venue];
    struct fx_id_range *g;

    if (c->srv->opt.restart_sequences || series < 0 || series >= FX_ID_SERIES
        || fsym < 0 || fsym >= f->nsymbols || !f->ids[series][fsym].any) {
        return 0;
    }
    g = &f->ids[series][fsym];
    if (c->id_epoch[series][fsym] != c->loops + 1) {
        /* this loop's block: above every id any replay has sent */
        c->id_shift[series][fsym] = g->next - g->min;
        c->id_epoch[series][fsym] = c->loops + 1;
        g->next += g->max - g->min + 1;
    }
    return c->id_shift[series][fsym];
}

void fx_frame_render(struct fx_conn *c, const struct fx_frame *fr,
                     const char *text, size_t len, const char *target,
                     struct fx_str *out)
{
    const struct fx_feed *f = &c->srv->feeds[c->venue];
    struct fx_str tmp = { 0 }, tmp2 = { 0 };
    const char *p = text;
    size_t n = len;

    if (target && fr && fr->symbol >= 0
        && !fx_ieq(target, f->symbols[fr->symbol])) {
        fx_subst_symbol(p, n, f->symbols[fr->symbol], target, &tmp);
        p = tmp.p;
        n = tmp.len;
    }
    if (fr && fr->channel >= 0 && fr->symbol >= 0) {
        uint32_t rules = f->chan_ids[fr->channel];
        for (size_t r = 0; r < N_ID_RULES; r++) {
            int64_t d;
            if (!(rules & (1u << r))
                || (d = fx_id_shift(c, id_rules[r].series, fr->symbol)) == 0) {
                continue;
            }
            struct fx_str *dst = p == tmp.p ? &tmp2 : &tmp;
            fx_shift_ids(p, n, id_rules[r].keys, d, dst);
            p = dst->p;
            n = dst->len;
        }
    }
    if (c->srv->opt.retime && f->time_keys) {
        fx_retime(p, n, f->time_keys, c->retime_offset_s, out);
    } else {
        out->len = 0;
        fx_str_add(out, p, n);
    }
    fx_str_free(&tmp);
    fx_str_free(&tmp2);
}
