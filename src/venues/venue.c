/* The venue registry, the per-stream scratch (token arrays allocated once),
 * and the small helpers every venue parser shares for filling cs_parse_out
 * and reading price fields. */
#include "cryptosup/venue.h"

#include <stdlib.h>
#include <string.h>

#include "cryptosup/err.h"

/* A 24hrTicker is ~50 tokens, so the frame area holds arrays of ~300;
 * bigger frames are re-parsed with depth skipping and walked element by
 * element through the second area. 16384 tokens are 320 KiB. */
#define FRAME_TOKENS 16384u
#define ELEMENT_TOKENS 16384u

struct cs_venue_scratch {
    struct cs_json_tok *frame_toks;     /* FRAME_TOKENS */
    struct cs_json_tok *element_toks;   /* ELEMENT_TOKENS */
};

static const struct cs_venue_ops *const all_venues[] = {
    &cs_venue_binance,
    &cs_venue_coinbase,
    NULL,
};

const struct cs_venue_ops *cs_venue_find(const char *name)
{
    if (name == NULL) {
        return NULL;
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

void cs_venue_out_reset(struct cs_parse_out *out)
{
    out->n = 0;
    out->dropped = 0;
    out->cls = CS_FRAME_MALFORMED;
    out->what = "empty frame";
    out->server_shutdown = false;
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
