/* The venue registry, the per-connection scratch (token areas, plus what a
 * venue remembers between frames), and what the venue files share:
 * filling cs_parse_out, reading fields, symbols, client messages, REST
 * URLs and candles. */
#include "cryptosup/venue.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/err.h"
#include "cryptosup/jsonw.h"
#include "cryptosup/timeutil.h"

/* A 24hrTicker is ~50 tokens, so the frame area holds arrays of ~300;
 * bigger frames are re-parsed with depth skipping and walked element by
 * element through the second area. 16384 tokens are 320 KiB. */
#define FRAME_TOKENS 16384u
#define ELEMENT_TOKENS 16384u

/* Merged tickers are found through an open-addressing table with twice
 * as many slots as symbols, so probes stay short. */
#define MERGED_SLOTS (2u * CS_VENUE_MAX_MERGED)

struct cs_venue_scratch {
    struct cs_json_tok *frame_toks;     /* FRAME_TOKENS */
    struct cs_json_tok *element_toks;   /* ELEMENT_TOKENS */
    bool have_conn_seq;                 /* conn_seq holds a value */
    uint64_t conn_seq;                  /* last connection-wide sequence */
    struct cs_venue_merged *merged;     /* grows by doubling */
    size_t nmerged, merged_cap;
    uint16_t *merged_slots;             /* MERGED_SLOTS; index + 1, 0 free */
};

static const struct cs_venue_ops *const all_venues[] = {
    &cs_venue_binance,
    &cs_venue_coinbase,
    &cs_venue_kraken,
    &cs_venue_okx,
    &cs_venue_bybit,
    &cs_venue_coinbase_exchange,
    &cs_venue_bybit_linear,
    NULL,
};
_Static_assert(sizeof all_venues / sizeof *all_venues <= CS_VENUES_MAX + 1,
               "raise CS_VENUES_MAX");

const struct cs_venue_ops *cs_venue_find(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    /* Ticks carry the venue's own name pointer: the engine looks a venue
     * up on every tick, so try identity before comparing text. */
    for (size_t i = 0; all_venues[i] != NULL; i++) {
        if (all_venues[i]->name == name) {
            return all_venues[i];
        }
    }
    for (size_t i = 0; all_venues[i] != NULL; i++) {
        if (strcmp(all_venues[i]->name, name) == 0) {
            return all_venues[i];
        }
    }
    return NULL;
}

const struct cs_venue_ops *const *cs_venue_all(void)
{
    return all_venues;
}

struct cs_venue_scratch *cs_venue_scratch_new(void)
{
    struct cs_venue_scratch *s = cs_xcalloc(1, sizeof *s);

    s->frame_toks = cs_xmalloc(FRAME_TOKENS * sizeof *s->frame_toks);
    s->element_toks = cs_xmalloc(ELEMENT_TOKENS * sizeof *s->element_toks);
    return s;
}

void cs_venue_scratch_free(struct cs_venue_scratch *s)
{
    if (s == NULL) {
        return;
    }
    free(s->frame_toks);
    free(s->element_toks);
    free(s->merged);
    free(s->merged_slots);
    free(s);
}

enum cs_json_status cs_venue_scratch_parse(struct cs_venue_scratch *s,
                                           enum cs_venue_area area,
                                           struct cs_json *js,
                                           const char *src, size_t len,
                                           unsigned max_depth)
{
    if (area == CS_VENUE_AREA_ELEMENT) {
        return cs_json_parse(js, src, len, s->element_toks, ELEMENT_TOKENS,
                             max_depth);
    }
    return cs_json_parse(js, src, len, s->frame_toks, FRAME_TOKENS,
                         max_depth);
}

bool cs_venue_parse_frame(struct cs_venue_scratch *s, struct cs_json *js,
                          const char *frame, size_t len,
                          struct cs_parse_out *out)
{
    static const unsigned depths[] = { 0, 2, 1 };
    enum cs_json_status st = CS_JSON_ETOOMANY;

    for (size_t i = 0; i < 3 && st == CS_JSON_ETOOMANY; i++) {
        st = cs_venue_scratch_parse(s, CS_VENUE_AREA_FRAME, js, frame, len,
                                    depths[i]);
    }
    switch (st) {
    case CS_JSON_OK:
        return true;
    case CS_JSON_ETRUNC:
        cs_venue_out_set(out, CS_FRAME_MALFORMED, "truncated JSON");
        break;
    case CS_JSON_ETOOMANY:
        cs_venue_out_set(out, CS_FRAME_MALFORMED, "too many JSON tokens");
        break;
    case CS_JSON_EDEPTH:
        cs_venue_out_set(out, CS_FRAME_MALFORMED, "JSON nested too deeply");
        break;
    case CS_JSON_ESYNTAX:
        /* OKX-style keepalive text; harmless wherever it shows up. */
        if (len == 4 && (memcmp(frame, "pong", 4) == 0
                         || memcmp(frame, "ping", 4) == 0)) {
            cs_venue_out_set(out, CS_FRAME_CONTROL, "text ping/pong");
        } else {
            cs_venue_out_set(out, CS_FRAME_MALFORMED, "not JSON");
        }
        break;
    }
    return false;
}

struct cs_venue_result cs_venue_result(enum cs_frame_class cls,
                                       const char *what)
{
    struct cs_venue_result r = { cls, what };
    return r;
}

void cs_venue_run(const char *exchange, struct cs_venue_scratch *s,
                  const char *frame, size_t len, int64_t recv_ns,
                  struct cs_parse_out *out, cs_venue_root_fn root)
{
    struct cs_venue_ctx c = { s, out, recv_ns, exchange };
    struct cs_json js;
    struct cs_venue_result r;

    cs_venue_out_reset(out);
    if (cs_venue_parse_frame(s, &js, frame, len, out)) {
        r = root(&c, &js);
        cs_venue_out_set(out, r.cls, r.what);
    }
}

const char *cs_venue_match(const struct cs_json *js, int tok,
                           const char *const *names, size_t n, bool prefix)
{
    struct cs_text text;

    if (tok < 0 || js->toks[tok].type != CS_JSON_STRING
        || js->toks[tok].escaped) {
        return NULL;
    }
    text = cs_json_text(js, tok);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if ((prefix ? text.len >= len : text.len == len)
            && memcmp(text.ptr, names[i], len) == 0) {
            return names[i];
        }
    }
    return NULL;
}

void cs_venue_out_reset(struct cs_parse_out *out)
{
    out->n = 0;
    out->dropped = 0;
    out->cls = CS_FRAME_MALFORMED;
    out->what = "empty frame";
    out->server_shutdown = false;
    out->connection_gap = false;
    out->gap_expected = 0;
    out->gap_got = 0;
}

void cs_venue_out_set(struct cs_parse_out *out, enum cs_frame_class cls,
                      const char *what)
{
    out->cls = cls;
    out->what = what;
    if (cls != CS_FRAME_DATA) {
        out->n = 0;
        out->dropped = 0;
    }
}

void cs_venue_tick_init(struct cs_tick *t, const char *exchange,
                        int64_t recv_ns)
{
    static const struct cs_text empty = { "", 0 };

    memset(t, 0, sizeof *t);
    t->exchange = exchange;
    t->recv_ns = recv_ns;
    t->raw_symbol = t->price_text = t->bid_text = empty;
    t->ask_text = t->qty_text = empty;
}

void cs_venue_out_push(struct cs_parse_out *out, const struct cs_tick *t)
{
    if (out->n >= CS_VENUE_MAX_TICKS) {
        out->dropped++;
        return;
    }
    out->ticks[out->n++] = *t;
}

enum cs_venue_field cs_venue_decimal(const struct cs_json *js, int tok,
                                     bool positive, struct cs_decimal *val,
                                     struct cs_text *text)
{
    struct cs_decimal d;
    uint8_t type;

    if (tok < 0 || (uint32_t)tok >= js->count) {
        return CS_VENUE_FIELD_ABSENT;
    }
    type = js->toks[tok].type;
    if (type == CS_JSON_NULL || (type == CS_JSON_STRING
                                 && js->toks[tok].end == js->toks[tok].start)) {
        return CS_VENUE_FIELD_ABSENT;
    }
    if (!cs_json_decimal(js, tok, &d) || d.mant < 0
        || (positive && d.mant == 0)) {
        return CS_VENUE_FIELD_BAD;
    }
    *val = d;
    *text = cs_json_text(js, tok);
    return CS_VENUE_FIELD_OK;
}

enum cs_venue_field cs_venue_symbol(const struct cs_json *js, int tok,
                                    struct cs_text *out)
{
    struct cs_text text;

    if (tok < 0 || (uint32_t)tok >= js->count) {
        return CS_VENUE_FIELD_ABSENT;
    }
    if (js->toks[tok].type != CS_JSON_STRING || js->toks[tok].escaped) {
        return CS_VENUE_FIELD_BAD;
    }
    text = cs_json_text(js, tok);
    if (text.len == 0 || text.len > 64) {
        return CS_VENUE_FIELD_BAD;
    }
    for (size_t i = 0; i < text.len; i++) {
        unsigned char c = (unsigned char)text.ptr[i];
        if (c <= 0x20 || c >= 0x7f) {
            return CS_VENUE_FIELD_BAD;
        }
    }
    *out = text;
    return CS_VENUE_FIELD_OK;
}

const char *cs_venue_take_decimal(const struct cs_json *js, int tok,
                                  bool required, enum cs_venue_num rule,
                                  struct cs_decimal *val,
                                  struct cs_text *text, bool *has,
                                  const char *missing, const char *bad)
{
    switch (cs_venue_decimal(js, tok, rule == CS_VENUE_NUM_PRICE, val,
                             text)) {
    case CS_VENUE_FIELD_OK:
        *has = rule != CS_VENUE_NUM_SIDE || !cs_decimal_is_zero(*val);
        if (!*has) {
            text->ptr = "";
            text->len = 0;
        }
        return NULL;
    case CS_VENUE_FIELD_ABSENT:
        *has = false;
        return required ? missing : NULL;
    case CS_VENUE_FIELD_BAD:
        break;
    }
    return bad;
}

bool cs_venue_epoch_to_ns(int64_t v, int64_t *ns)
{
    if (v <= 0) {
        return false;
    }
    if (v >= 100000000000000LL) {
        if (v > INT64_MAX / 1000) {
            return false;
        }
        *ns = v * 1000;
        return true;
    }
    if (v > INT64_MAX / CS_NS_PER_MS) {
        return false;
    }
    *ns = v * CS_NS_PER_MS;
    return true;
}

bool cs_venue_unskip(struct cs_venue_scratch *s, const struct cs_json *js,
                     int tok, struct cs_json *sub, const struct cs_json **ejs,
                     int *etok)
{
    struct cs_text bytes;

    if (!js->toks[tok].skipped) {
        *ejs = js;
        *etok = tok;
        return true;
    }
    if (s == NULL) {
        return false;
    }
    bytes = cs_json_text(js, tok);
    if (cs_venue_scratch_parse(s, CS_VENUE_AREA_ELEMENT, sub, bytes.ptr,
                               bytes.len, 0) != CS_JSON_OK) {
        return false;
    }
    *ejs = sub;
    *etok = 0;
    return true;
}

bool cs_venue_iso_time(const struct cs_json *js, int tok, int64_t *ns)
{
    struct cs_text text;

    if (tok < 0 || js->toks[tok].type != CS_JSON_STRING
        || js->toks[tok].escaped) {
        return false;
    }
    text = cs_json_text(js, tok);
    return cs_time_parse_iso8601(text.ptr, text.len, ns);
}

const char *cs_venue_each_element(struct cs_venue_scratch *s,
                                  const struct cs_json *js, int arr,
                                  const char *not_array,
                                  cs_venue_element_fn fn, void *ctx)
{
    struct cs_json sub;
    const struct cs_json *ajs;
    int atok;
    uint32_t child;

    if (arr < 0 || js->toks[arr].type != CS_JSON_ARRAY) {
        return not_array;
    }
    if (!cs_venue_unskip(s, js, arr, &sub, &ajs, &atok)) {
        return "too many JSON tokens";
    }
    child = (uint32_t)atok + 1;
    for (uint32_t i = 0; i < ajs->toks[atok].size; i++) {
        struct cs_json esub;
        const struct cs_json *ejs;
        int etok;
        const char *err;

        /* Elements of a re-parsed array are never skipped, so the element
         * area is only re-used when the array itself was not. */
        if (!cs_venue_unskip(s, ajs, (int)child, &esub, &ejs, &etok)) {
            return "too many JSON tokens";
        }
        if ((err = fn(ctx, ejs, etok)) != NULL) {
            return err;
        }
        child = ajs->toks[child].next;
    }
    return NULL;
}

/* A key of a layout, or -1 when the layout has none. */
static int layout_get(const struct cs_json *js, int obj, const char *key)
{
    return key[0] != '\0' ? cs_json_get(js, obj, key) : -1;
}

static const char *fill_time_seq(const struct cs_venue_layout *l,
                                 const struct cs_json *js, int obj,
                                 struct cs_tick *t)
{
    int tok = layout_get(js, obj, l->time);
    int64_t v;
    bool ok;

    if (tok < 0) {
        if (l->time_required && l->time[0] != '\0') {
            return l->missing_time;
        }
    } else {
        ok = l->time_format == CS_VENUE_TIME_ISO
             ? cs_venue_iso_time(js, tok, &t->ts_ns)
             : cs_json_int64(js, tok, &v) && cs_venue_epoch_to_ns(v, &t->ts_ns);
        if (!ok) {
            return l->bad_time;
        }
    }
    if ((tok = layout_get(js, obj, l->seq)) < 0) {
        return NULL;
    }
    t->has_seq = (l->seq_rule != CS_VENUE_SEQ_NUMBER
                  || js->toks[tok].type == CS_JSON_NUMBER)
                 && cs_json_uint64(js, tok, &t->seq);
    if (!t->has_seq) {
        return l->seq_rule == CS_VENUE_SEQ_LENIENT ? NULL : l->bad_seq;
    }
    t->seq_kind = (uint8_t)l->seq_kind;
    return NULL;
}

const char *cs_venue_fill(const void *layout, const struct cs_json *js,
                          int obj, struct cs_tick *t)
{
    const struct cs_venue_layout *l = layout;
    const char *err = NULL;

    switch (cs_venue_symbol(js, layout_get(js, obj, l->symbol),
                            &t->raw_symbol)) {
    case CS_VENUE_FIELD_OK: break;
    case CS_VENUE_FIELD_ABSENT: return l->missing_symbol;
    case CS_VENUE_FIELD_BAD: return l->bad_symbol;
    }
    err = cs_venue_take_decimal(js, layout_get(js, obj, l->price), true,
                                CS_VENUE_NUM_PRICE, &t->price, &t->price_text,
                                &t->has_price, l->missing_price, l->bad_price);
    if (err == NULL) {
        err = cs_venue_take_decimal(js, layout_get(js, obj, l->qty),
                                    l->qty_required, CS_VENUE_NUM_QTY, &t->qty,
                                    &t->qty_text, &t->has_qty, l->missing_qty,
                                    l->bad_qty);
    }
    if (err == NULL) {
        err = cs_venue_take_decimal(js, layout_get(js, obj, l->bid), false,
                                    CS_VENUE_NUM_SIDE, &t->bid, &t->bid_text,
                                    &t->has_bid, NULL, l->bad_bid);
    }
    if (err == NULL) {
        err = cs_venue_take_decimal(js, layout_get(js, obj, l->ask), false,
                                    CS_VENUE_NUM_SIDE, &t->ask, &t->ask_text,
                                    &t->has_ask, NULL, l->bad_ask);
    }
    return err != NULL ? err : fill_time_seq(l, js, obj, t);
}

const char *cs_venue_emit(void *emitter, const struct cs_json *js, int obj)
{
    const struct cs_venue_emitter *em = emitter;
    struct cs_tick tick;
    const char *err;

    if (js->toks[obj].type != CS_JSON_OBJECT) {
        return em->not_object;
    }
    cs_venue_tick_init(&tick, em->exchange, em->recv_ns);
    tick.kind = em->kind;
    err = em->fill(em->how, js, obj, &tick);
    if (err == NULL) {
        cs_venue_out_push(em->out, &tick);
    }
    return err;
}

struct cs_venue_result cs_venue_emit_array(const struct cs_venue_ctx *c,
                                           const char *exchange,
                                           const struct cs_json *js, int arr,
                                           const struct cs_venue_layout *l,
                                           const char *bad_list)
{
    struct cs_venue_emitter em = { c->out, exchange, c->recv_ns, l->kind,
                                   cs_venue_fill, l, l->not_object };
    const char *err = cs_venue_each_element(c->scratch, js, arr, bad_list,
                                            cs_venue_emit, &em);

    return err != NULL ? cs_venue_result(CS_FRAME_MALFORMED, err)
                       : cs_venue_result(CS_FRAME_DATA, l->name);
}

void cs_venue_conn_seq(struct cs_venue_scratch *s, uint64_t seq,
                       struct cs_parse_out *out)
{
    if (s->have_conn_seq && seq != s->conn_seq + 1) {
        out->connection_gap = true;
        out->gap_expected = s->conn_seq + 1;
        out->gap_got = seq;
    }
    s->have_conn_seq = true;
    s->conn_seq = seq;
}

/* FNV-1a: symbols are short and few; any even spread will do. */
static size_t merged_slot(const char *symbol, size_t len)
{
    uint64_t h = 14695981039346656037ULL;

    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)symbol[i]) * 1099511628211ULL;
    }
    return (size_t)(h & (MERGED_SLOTS - 1));
}

struct cs_venue_merged *cs_venue_merged_get(struct cs_venue_scratch *s,
                                            const char *symbol, size_t len,
                                            bool create)
{
    struct cs_venue_merged *m;
    size_t slot;

    if (len == 0 || len >= CS_VENUE_MERGED_TEXT
        || (s->merged_slots == NULL && !create)) {
        return NULL;
    }
    if (s->merged_slots == NULL) {
        s->merged_slots = cs_xcalloc(MERGED_SLOTS, sizeof *s->merged_slots);
    }
    /* Never full: at most half the slots are used. */
    for (slot = merged_slot(symbol, len); s->merged_slots[slot] != 0;
         slot = (slot + 1) & (MERGED_SLOTS - 1)) {
        m = &s->merged[s->merged_slots[slot] - 1];
        if (strncmp(m->symbol, symbol, len) == 0 && m->symbol[len] == '\0') {
            return m;
        }
    }
    if (!create || s->nmerged == CS_VENUE_MAX_MERGED) {
        return NULL;
    }
    if (s->nmerged == s->merged_cap) {
        s->merged_cap = s->merged_cap ? 2 * s->merged_cap : 16;
        s->merged = cs_xrealloc(s->merged,
                                s->merged_cap * sizeof *s->merged);
    }
    m = &s->merged[s->nmerged++];
    memset(m, 0, sizeof *m);
    memcpy(m->symbol, symbol, len);
    s->merged_slots[slot] = (uint16_t)s->nmerged;
    return m;
}

bool cs_venue_copy_upper(const char *src, size_t n, char *dst, size_t size)
{
    if (n == 0 || n + 1 > size) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = src[i];
        if (ch >= 'a' && ch <= 'z') {
            ch = (char)(ch - 'a' + 'A');
        }
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) {
            return false;
        }
        dst[i] = ch;
    }
    dst[n] = '\0';
    return true;
}

bool cs_venue_split_suffix(const char *raw, size_t len,
                           const char *const *quotes, char *base,
                           size_t base_size, char *quote, size_t quote_size)
{
    char upper[64];
    size_t best = 0;

    if (raw == NULL || len >= sizeof upper
        || !cs_venue_copy_upper(raw, len, upper, sizeof upper)) {
        return false;
    }
    for (size_t i = 0; quotes[i] != NULL; i++) {
        size_t q = strlen(quotes[i]);
        if (q > best && len >= q + 2
            && memcmp(upper + len - q, quotes[i], q) == 0) {
            best = q;
        }
    }
    return best > 0
           && cs_venue_copy_upper(upper, len - best, base, base_size)
           && cs_venue_copy_upper(upper + len - best, best, quote,
                                  quote_size);
}

bool cs_venue_split_at(const char *raw, size_t len, char sep, char *base,
                       size_t base_size, char *quote, size_t quote_size)
{
    const char *at;
    size_t blen;

    if (raw == NULL || len == 0 || (at = memchr(raw, sep, len)) == NULL) {
        return false;
    }
    blen = (size_t)(at - raw);
    if (memchr(at + 1, sep, len - blen - 1) != NULL) {
        return false;
    }
    return cs_venue_copy_upper(raw, blen, base, base_size)
           && cs_venue_copy_upper(at + 1, len - blen - 1, quote, quote_size);
}

bool cs_venue_split_dash(const char *raw, size_t len, char *base,
                         size_t base_size, char *quote, size_t quote_size)
{
    return cs_venue_split_at(raw, len, '-', base, base_size, quote,
                             quote_size);
}

bool cs_venue_split_slash(const char *raw, size_t len, char *base,
                          size_t base_size, char *quote, size_t quote_size)
{
    return cs_venue_split_at(raw, len, '/', base, base_size, quote,
                             quote_size);
}

static void compose(const char *base, const char *quote, const char *sep,
                    char *buf, size_t size)
{
    const char *parts[3] = { base, sep, quote };
    size_t pos = 0;

    if (size == 0) {
        return;
    }
    for (size_t p = 0; p < 3; p++) {
        for (const char *c = parts[p]; *c != '\0' && pos + 1 < size; c++) {
            buf[pos++] = *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A')
                                                : *c;
        }
    }
    buf[pos] = '\0';
}

void cs_venue_compose_concat(const char *base, const char *quote, char *buf,
                             size_t size)
{
    compose(base, quote, "", buf, size);
}

void cs_venue_compose_dash(const char *base, const char *quote, char *buf,
                           size_t size)
{
    compose(base, quote, "-", buf, size);
}

void cs_venue_compose_slash(const char *base, const char *quote, char *buf,
                            size_t size)
{
    compose(base, quote, "/", buf, size);
}

void cs_venue_write_product_request(struct cs_jsonw *w,
                                    const struct cs_venue_batch *b,
                                    bool channel_list)
{
    cs_jsonw_begin_object(w);
    cs_jsonw_key(w, "type");
    cs_jsonw_cstring(w, b->unsubscribe ? "unsubscribe" : "subscribe");
    cs_jsonw_key(w, "product_ids");
    cs_jsonw_begin_array(w);
    for (size_t i = 0; i < b->nsymbols; i++) {
        cs_jsonw_cstring(w, b->symbols[i]);
    }
    cs_jsonw_end_array(w);
    if (channel_list) {
        cs_jsonw_key(w, "channels");
        cs_jsonw_begin_array(w);
        cs_jsonw_cstring(w, b->channels[0]);
        cs_jsonw_end_array(w);
    } else {
        cs_jsonw_key(w, "channel");
        cs_jsonw_cstring(w, b->channels[0]);
    }
    cs_jsonw_end_object(w);
}

bool cs_venue_name_ok(const char *name)
{
    size_t n = name != NULL ? strnlen(name, CS_VENUE_NAME_MAX + 1) : 0;

    return n > 0 && n <= CS_VENUE_NAME_MAX;
}

/* Up to `max` names of names[*pos..n) that may be sent, into `out`. */
static size_t take_names(const char *const *names, size_t n, size_t *pos,
                         size_t max, const char **out)
{
    size_t k = 0;

    for (; *pos < n && k < max; (*pos)++) {
        if (cs_venue_name_ok(names[*pos])) {
            out[k++] = names[*pos];
        }
    }
    return k;
}

static void send_message(struct cs_jsonw *w, const struct cs_venue_batch *b,
                         uint64_t *req_id, cs_venue_write_fn write,
                         cs_venue_send_fn send, void *ctx)
{
    cs_jsonw_reset(w);
    write(w, b, req_id);
    send(ctx, w->buf, w->len);
}

void cs_venue_subscribe(const char *const *raw_symbols, size_t n,
                        const char *const *channels, size_t nchannels,
                        bool unsubscribe, uint64_t *req_id,
                        enum cs_venue_batching batching, size_t per_msg,
                        cs_venue_write_fn write, cs_venue_send_fn send,
                        void *ctx)
{
    const char *syms[CS_VENUE_BATCH_MAX], *chans[CS_VENUE_BATCH_MAX];
    struct cs_venue_batch b = { syms, 0, chans, 0, unsubscribe };
    size_t pos = 0, nchans;
    struct cs_jsonw w;

    nchans = take_names(channels, nchannels, &pos, CS_VENUE_BATCH_MAX, chans);
    if (batching == CS_VENUE_BATCH_PAIRS && nchans > 0) {
        per_msg /= nchans;
    }
    per_msg = per_msg < 1 ? 1
              : per_msg > CS_VENUE_BATCH_MAX ? CS_VENUE_BATCH_MAX : per_msg;
    if (nchans == 0) {
        return;
    }
    pos = 0;
    cs_jsonw_init(&w);
    while ((b.nsymbols = take_names(raw_symbols, n, &pos, per_msg, syms))
           > 0) {
        if (batching != CS_VENUE_BATCH_CHANNEL) {
            b.channels = chans;
            b.nchannels = nchans;
            send_message(&w, &b, req_id, write, send, ctx);
            continue;
        }
        for (size_t c = 0; c < nchans; c++) {
            b.channels = &chans[c];
            b.nchannels = 1;
            send_message(&w, &b, req_id, write, send, ctx);
        }
    }
    cs_jsonw_cleanup(&w);
}

size_t cs_venue_no_ping(uint64_t *req_id, char *buf, size_t size)
{
    (void)req_id;
    if (size > 0) {
        buf[0] = '\0';
    }
    return 0;
}

size_t cs_venue_ping_msg(uint64_t *req_id, char *buf, size_t size,
                         const char *before, const char *after)
{
    int n;

    if (req_id != NULL) {
        n = snprintf(buf, size, "%s%llu%s", before,
                     (unsigned long long)(*req_id + 1), after);
    } else {
        n = snprintf(buf, size, "%s%s", before, after);
    }
    if (n < 0 || (size_t)n >= size) {
        if (size > 0) {
            buf[0] = '\0';
        }
        return 0;
    }
    if (req_id != NULL) {
        ++*req_id;
    }
    return (size_t)n;
}

/* ---- REST ---- */

size_t cs_venue_url(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size) {
        if (size > 0) {
            buf[0] = '\0';
        }
        return 0;
    }
    return (size_t)n;
}

bool cs_venue_url_symbol(const char *raw, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t pos = 0;

    if (!cs_venue_name_ok(raw)) {
        return false;
    }
    for (const char *c = raw; *c != '\0'; c++) {
        unsigned char ch = (unsigned char)*c;
        bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
                     || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'
                     || ch == '_' || ch == '~';
        if (pos + (plain ? 1 : 3) >= size) {
            return false;
        }
        if (plain) {
            out[pos++] = (char)ch;
        } else {
            out[pos++] = '%';
            out[pos++] = hex[ch >> 4];
            out[pos++] = hex[ch & 15];
        }
    }
    out[pos] = '\0';
    return true;
}

int64_t cs_venue_candle_count(int64_t start_ms, int64_t end_ms, int64_t cap)
{
    int64_t n = (end_ms - start_ms + 59999) / 60000;

    return n < 1 ? 1 : n > cap ? cap : n;
}

/* One element of a candles array, re-parsed alone when the body parse
 * skipped it, read by the venue; the tick goes to fn unless the candle
 * is still open at now_ns. */
static const char *emit_candle(struct cs_venue_scratch *s,
                               const struct cs_json *js, int el,
                               cs_venue_candle_fn read, const char *exchange,
                               const char *raw_symbol, int64_t now_ns,
                               cs_venue_tick_fn fn, void *ctx)
{
    struct cs_json sub;
    const struct cs_json *ejs;
    int etok, close_tok = -1;
    int64_t open_ms = 0;
    bool unfinished = false;
    struct cs_tick t;
    const char *err;

    if (!cs_venue_unskip(s, js, el, &sub, &ejs, &etok)) {
        return "too many JSON tokens";
    }
    if ((err = read(ejs, etok, &open_ms, &close_tok, &unfinished)) != NULL) {
        return err;
    }
    if (open_ms <= 0 || open_ms > INT64_MAX / CS_NS_PER_MS - 60000) {
        return "candle: bad open time";
    }
    cs_venue_tick_init(&t, exchange, now_ns);
    t.kind = CS_TICK_TRADE;
    t.raw_symbol.ptr = raw_symbol;
    t.raw_symbol.len = strlen(raw_symbol);
    t.ts_ns = (open_ms + 59999) * CS_NS_PER_MS;
    if (cs_venue_decimal(ejs, close_tok, true, &t.price, &t.price_text)
        != CS_VENUE_FIELD_OK) {
        return "candle: bad close";
    }
    t.has_price = true;
    if (!unfinished && t.ts_ns <= now_ns) {
        fn(ctx, &t);
    }
    return NULL;
}

/* Open time of element `el` (for the order check), or 0. */
static int64_t candle_open(struct cs_venue_scratch *s,
                           const struct cs_json *js, int el,
                           cs_venue_candle_fn read)
{
    struct cs_json sub;
    const struct cs_json *ejs;
    int etok, close_tok;
    int64_t open_ms = 0;
    bool unfinished;

    if (!cs_venue_unskip(s, js, el, &sub, &ejs, &etok)
        || read(ejs, etok, &open_ms, &close_tok, &unfinished) != NULL) {
        return 0;
    }
    return open_ms;
}

const char *cs_venue_emit_candles(struct cs_venue_scratch *s,
                                  const struct cs_json *js, int arr,
                                  cs_venue_candle_fn read,
                                  const char *bad_list, const char *exchange,
                                  const char *raw_symbol, int64_t now_ns,
                                  cs_venue_tick_fn fn, void *ctx)
{
    int els[CS_VENUE_MAX_CANDLES];
    struct cs_json sub;
    const struct cs_json *ajs;
    int atok;
    uint32_t n, child;
    bool newest_first;

    if (arr < 0 || js->toks[arr].type != CS_JSON_ARRAY) {
        return bad_list;
    }
    /* The whole array in one area, so its elements stay addressable. */
    if (!cs_venue_unskip(s, js, arr, &sub, &ajs, &atok)) {
        return "too many JSON tokens";
    }
    n = ajs->toks[atok].size;
    if (n > CS_VENUE_MAX_CANDLES) {
        return "too many candles";
    }
    child = (uint32_t)atok + 1;
    for (uint32_t i = 0; i < n; i++) {
        els[i] = (int)child;
        child = ajs->toks[child].next;
    }
    /* Venues list newest first or oldest first; the ticks go out oldest
     * first either way. An element re-parsed alone uses the element area,
     * which only a skipped array already occupies: then none is skipped. */
    newest_first = n > 1 && candle_open(s, ajs, els[0], read)
                            > candle_open(s, ajs, els[n - 1], read);
    for (uint32_t i = 0; i < n; i++) {
        int el = els[newest_first ? n - 1 - i : i];
        const char *err = emit_candle(s, ajs, el, read, exchange, raw_symbol,
                                      now_ns, fn, ctx);
        if (err != NULL) {
            return err;
        }
    }
    return NULL;
}

const char *cs_venue_rest_tick(const struct cs_json *js, int price, int bid,
                               int ask, const char *exchange,
                               const char *raw_symbol, int64_t recv_ns,
                               struct cs_tick *t)
{
    struct cs_tick tick;
    const char *err;

    cs_venue_tick_init(&tick, exchange, recv_ns);
    tick.kind = CS_TICK_TICKER;
    tick.raw_symbol.ptr = raw_symbol;
    tick.raw_symbol.len = strlen(raw_symbol);
    err = cs_venue_take_decimal(js, price, true, CS_VENUE_NUM_PRICE,
                                &tick.price, &tick.price_text,
                                &tick.has_price, "ticker: missing price",
                                "ticker: bad price");
    if (err == NULL) {
        err = cs_venue_take_decimal(js, bid, false, CS_VENUE_NUM_SIDE,
                                    &tick.bid, &tick.bid_text, &tick.has_bid,
                                    NULL, "ticker: bad bid");
    }
    if (err == NULL) {
        err = cs_venue_take_decimal(js, ask, false, CS_VENUE_NUM_SIDE,
                                    &tick.ask, &tick.ask_text, &tick.has_ask,
                                    NULL, "ticker: bad ask");
    }
    if (err == NULL) {
        *t = tick;
    }
    return err;
}

bool cs_venue_rest_symbol_ok(const struct cs_json *js, int tok,
                             const char *raw_symbol)
{
    return tok < 0 || cs_json_str_eq(js, tok, raw_symbol);
}

const char *cs_venue_rest_body(struct cs_venue_scratch *s, struct cs_json *js,
                               const char *body, size_t len)
{
    static const unsigned depths[] = { 0, 2, 1 };
    enum cs_json_status st = CS_JSON_ETOOMANY;

    for (size_t i = 0; i < 3 && st == CS_JSON_ETOOMANY; i++) {
        st = cs_venue_scratch_parse(s, CS_VENUE_AREA_FRAME, js, body, len,
                                    depths[i]);
    }
    switch (st) {
    case CS_JSON_OK: return NULL;
    case CS_JSON_ETRUNC: return "truncated JSON";
    case CS_JSON_ETOOMANY: return "too many JSON tokens";
    case CS_JSON_EDEPTH: return "JSON nested too deeply";
    case CS_JSON_ESYNTAX: break;
    }
    return "not JSON";
}
