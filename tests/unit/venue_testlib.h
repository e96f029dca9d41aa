/* Shared by the venue tests (tests/unit/test_venue_*.c). Each of those
 * programs tests one venue through the state `vt`: frames are parsed from
 * exact-length heap copies (so ASan sees any read past a frame), fixture
 * files are tallied, every parse is held to the rules all venues keep
 * (vt_out_is_sane), a mutation loop feeds damaged recorded frames, and the
 * wire layer (limits, subscribe and ping messages, symbol spelling) is
 * checked against the same rules for every venue. */
#ifndef CS_VENUE_TESTLIB_H
#define CS_VENUE_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/json.h"
#include "cryptosup/venue.h"
#include "testlib.h"

#define VT_MAX_WHATS 48
#define VT_MAX_SENT 64
#define VT_SENT_BYTES 16384

struct vt_state {
    const struct cs_venue_ops *ops;
    struct cs_venue_scratch *scratch;
    struct cs_parse_out out;
    int64_t recv_ns;
    char *copy;              /* heap copy of the last parsed frame */
    size_t copy_len;         /* its length (no NUL) */
    bool text_in_scratch;    /* ticks may point into the scratch (Bybit) */
};

/* One venue per test program. */
static struct vt_state vt;

static inline void vt_setup(const struct cs_venue_ops *ops, int64_t recv_ns,
                            bool text_in_scratch)
{
    vt.ops = ops;
    vt.recv_ns = recv_ns;
    vt.text_in_scratch = text_in_scratch;
    vt.scratch = cs_venue_scratch_new();
}

/* A fresh scratch, as a new connection gets. */
static inline void vt_new_scratch(void)
{
    cs_venue_scratch_free(vt.scratch);
    vt.scratch = cs_venue_scratch_new();
}

static inline int vt_finish(const char *name)
{
    cs_venue_scratch_free(vt.scratch);
    free(vt.copy);
    vt.copy = NULL;
    return cs_test_finish(name);
}

/* Parses a heap copy of exactly `len` bytes; the copy stays alive (ticks
 * borrow from it) until the next parse. Returns the copy. */
static inline const char *vt_parse_n(const char *frame, size_t len)
{
    free(vt.copy);
    vt.copy = malloc(len ? len : 1);
    if (vt.copy == NULL) {
        abort();
    }
    memcpy(vt.copy, frame, len);
    vt.copy_len = len;
    vt.ops->parse(vt.scratch, vt.copy, len, vt.recv_ns, &vt.out);
    return vt.copy;
}

static inline const char *vt_parse(const char *frame)
{
    return vt_parse_n(frame, strlen(frame));
}

static inline bool vt_text_is(struct cs_text t, const char *s)
{
    return t.len == strlen(s) && memcmp(t.ptr, s, t.len) == 0;
}

static inline void vt_expect(const char *frame, enum cs_frame_class cls,
                             const char *what, int line)
{
    vt_parse(frame);
    if (vt.out.cls != cls || strcmp(vt.out.what, what) != 0) {
        cs_test_fail(__FILE__, line, "%.70s: class %d \"%s\", want %d \"%s\"",
                     frame, vt.out.cls, vt.out.what, cls, what);
    } else if (cls != CS_FRAME_DATA && vt.out.n != 0) {
        cs_test_fail(__FILE__, line, "%.60s: ticks on a non-data frame",
                     frame);
    } else {
        cs_test_passed++;
    }
}
#define EXPECT(f, cls, what) vt_expect(f, cls, what, __LINE__)

/* Each case must be MALFORMED with exactly its `what`. */
struct vt_case {
    const char *frame, *what;
};

static inline void vt_expect_malformed(const struct vt_case *cases, size_t n,
                                       int line)
{
    for (size_t i = 0; i < n; i++) {
        vt_expect(cases[i].frame, CS_FRAME_MALFORMED, cases[i].what, line);
    }
}

/* ---- fixture lines ---- */

struct vt_lines {
    char *buf;
    const char **line;
    size_t *len;
    size_t n;
};

static inline void vt_lines_load(struct vt_lines *l, const char *rel)
{
    size_t size, cap = 64;
    char *p, *end;

    l->buf = cs_test_read_file(cs_test_fixture(rel), &size);
    l->line = malloc(cap * sizeof *l->line);
    l->len = malloc(cap * sizeof *l->len);
    l->n = 0;
    for (p = l->buf, end = l->buf + size; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l->n == cap) {
            cap *= 2;
            l->line = realloc(l->line, cap * sizeof *l->line);
            l->len = realloc(l->len, cap * sizeof *l->len);
        }
        if (l->line == NULL || l->len == NULL) {
            abort();
        }
        l->line[l->n] = p;
        l->len[l->n++] = n;
        p += n + 1;
    }
}

static inline void vt_lines_free(struct vt_lines *l)
{
    free(l->buf);
    free(l->line);
    free(l->len);
    memset(l, 0, sizeof *l);
}

/* ---- what every parse must keep ---- */

/* Text is never NULL (absent values are ""); what is present lies inside
 * the frame, or for venues that merge, anywhere readable (reading every
 * byte lets ASan judge). */
static inline bool vt_text_ok(struct cs_text t, const char *frame,
                              size_t len)
{
    unsigned sum = 0;

    if (t.ptr == NULL) {
        return false;
    }
    if (t.len == 0 || (t.ptr >= frame && t.ptr + t.len <= frame + len)) {
        return true;
    }
    for (size_t i = 0; i < t.len; i++) {
        sum += (unsigned char)t.ptr[i];
    }
    return vt.text_in_scratch && sum > 0;
}

/* A decimal field: present exactly when its text is non-empty, the text
 * spelling the same value, positive (or >= 0 for `may_be_zero`). */
static inline bool vt_decimal_ok(bool has, struct cs_decimal d,
                                 struct cs_text t, bool may_be_zero)
{
    struct cs_decimal again;

    if (!has) {
        return t.len == 0;
    }
    return t.len > 0 && cs_decimal_parse(t.ptr, t.len, &again)
           && again.mant == d.mant && again.exp == d.exp
           && (may_be_zero ? d.mant >= 0 : d.mant > 0);
}

static inline bool vt_tick_is_sane(const struct cs_tick *t, const char *frame,
                                   size_t len)
{
    return t->exchange != NULL && strcmp(t->exchange, vt.ops->name) == 0
           && t->recv_ns == vt.recv_ns && t->kind <= CS_TICK_QUOTE
           && t->raw_symbol.len > 0
           && vt_text_ok(t->raw_symbol, frame, len)
           && vt_text_ok(t->price_text, frame, len)
           && vt_text_ok(t->bid_text, frame, len)
           && vt_text_ok(t->ask_text, frame, len)
           && vt_text_ok(t->qty_text, frame, len)
           && vt_decimal_ok(t->has_price, t->price, t->price_text, false)
           && vt_decimal_ok(t->has_bid, t->bid, t->bid_text, false)
           && vt_decimal_ok(t->has_ask, t->ask, t->ask_text, false)
           && vt_decimal_ok(t->has_qty, t->qty, t->qty_text, true)
           && (t->kind == CS_TICK_QUOTE || t->has_price)
           && (t->kind != CS_TICK_TRADE || t->has_qty)
           && t->seq_kind <= CS_SEQ_INCREASING
           && (t->seq_kind == CS_SEQ_NONE || t->has_seq)
           && t->ts_ns >= 0;
}

/* Whatever the bytes: a valid class, a non-NULL `what`, no ticks outside
 * DATA, and sane ticks. */
static inline bool vt_out_is_sane(const char *frame, size_t len)
{
    const struct cs_parse_out *o = &vt.out;

    if (o->cls > CS_FRAME_MALFORMED || o->what == NULL
        || o->n > CS_VENUE_MAX_TICKS || (o->cls != CS_FRAME_DATA && o->n != 0)
        || (!o->connection_gap && (o->gap_expected || o->gap_got))) {
        return false;
    }
    for (size_t i = 0; i < o->n; i++) {
        if (!vt_tick_is_sane(&o->ticks[i], frame, len)) {
            return false;
        }
    }
    return true;
}

/* ---- tallies of recorded files ---- */

/* Checks one tick of a fixture line (`line` is a NUL-terminated copy). */
typedef bool (*vt_tick_check_fn)(const struct cs_tick *t, const char *line);

struct vt_tally {
    unsigned lines, cls[5], kinds[3], seq_kinds[3], dropped;
    unsigned gaps, shutdowns, insane, bad_tick;
    const char *whats[VT_MAX_WHATS];
    unsigned what_count[VT_MAX_WHATS];
    size_t nwhats;
};

/* Parses every line of a fixture on a fresh scratch (a new connection),
 * counting classes, `what`s, tick kinds and seq kinds, connection gaps,
 * insane output and ticks that `check` (may be NULL) refuses. */
static inline void vt_tally_file(const char *rel, struct vt_tally *ty,
                                 vt_tick_check_fn check)
{
    struct vt_lines l;

    memset(ty, 0, sizeof *ty);
    vt_new_scratch();
    vt_lines_load(&l, rel);
    for (size_t i = 0; i < l.n; i++) {
        const char *copy = vt_parse_n(l.line[i], l.len[i]);
        char *line = malloc(l.len[i] + 1);
        size_t w = 0;

        if (line == NULL) {
            abort();
        }
        memcpy(line, l.line[i], l.len[i]);
        line[l.len[i]] = '\0';
        ty->lines++;
        ty->cls[vt.out.cls]++;
        ty->dropped += (unsigned)vt.out.dropped;
        ty->gaps += vt.out.connection_gap;
        ty->shutdowns += vt.out.server_shutdown;
        ty->insane += !vt_out_is_sane(copy, l.len[i]);
        while (w < ty->nwhats && strcmp(ty->whats[w], vt.out.what) != 0) {
            w++;
        }
        if (w == ty->nwhats && w < VT_MAX_WHATS) {
            ty->whats[ty->nwhats++] = vt.out.what;
        }
        if (w < VT_MAX_WHATS) {
            ty->what_count[w]++;
        }
        for (size_t k = 0; k < vt.out.n; k++) {
            const struct cs_tick *t = &vt.out.ticks[k];
            ty->kinds[t->kind]++;
            ty->seq_kinds[t->seq_kind]++;
            ty->bad_tick += check != NULL && !check(t, line);
        }
        free(line);
    }
    vt_lines_free(&l);
}

/* How many frames of the tally had `what`. */
static inline unsigned vt_what(const struct vt_tally *ty, const char *what)
{
    for (size_t i = 0; i < ty->nwhats; i++) {
        if (strcmp(ty->whats[i], what) == 0) {
            return ty->what_count[i];
        }
    }
    return 0;
}

/* ---- hostile input ---- */

/* Every proper prefix of a valid frame is truncated JSON; the frame
 * itself is DATA. Then bytes that are no JSON, and nesting past the
 * parser's limit. */
static inline void vt_check_hostile(const char *real)
{
    size_t n = strlen(real);
    unsigned wrong = 0;
    char garbage[512], deep[400];

    for (size_t len = 0; len < n; len++) {
        vt_parse_n(real, len);
        if (vt.out.cls != CS_FRAME_MALFORMED || vt.out.n != 0
            || strcmp(vt.out.what, "truncated JSON") != 0) {
            wrong++;
        }
    }
    CHECK_INT(wrong, 0);
    vt_parse_n(real, n);
    CHECK_INT(vt.out.cls, CS_FRAME_DATA);
    EXPECT("", CS_FRAME_MALFORMED, "truncated JSON");
    EXPECT("hello", CS_FRAME_MALFORMED, "not JSON");
    EXPECT("PONG", CS_FRAME_MALFORMED, "not JSON");
    EXPECT("ping ", CS_FRAME_MALFORMED, "not JSON");
    EXPECT("{\"a\":1,}", CS_FRAME_MALFORMED, "not JSON");
    EXPECT("{\"a\":1}}", CS_FRAME_MALFORMED, "not JSON");
    EXPECT("pong", CS_FRAME_CONTROL, "text ping/pong");
    for (size_t i = 0; i < sizeof garbage; i++) {
        garbage[i] = (char)(i * 131 + 7);
    }
    vt_parse_n(garbage, sizeof garbage);
    CHECK_INT(vt.out.cls, CS_FRAME_MALFORMED);
    memset(deep, '[', sizeof deep);
    vt_parse_n(deep, 40);
    CHECK_STR(vt.out.what, "truncated JSON");
    for (size_t i = 0; i < 200; i++) {
        deep[399 - i] = ']';
    }
    vt_parse_n(deep, sizeof deep);
    CHECK_INT(vt.out.cls, CS_FRAME_MALFORMED);
    CHECK_STR(vt.out.what, "JSON nested too deeply");
    for (size_t i = 0; i < 30; i++) {
        deep[i] = '[';
        deep[59 - i] = ']';
    }
    vt_parse_n(deep, 60);
    CHECK_INT(vt.out.cls, CS_FRAME_UNKNOWN);
}

/* ---- mutation loop ---- */

static inline uint64_t vt_rng(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Damages random lines of the fixture files (bit flips, cuts, JSON
 * punctuation, inserted bytes) `rounds` times; every parse must stay
 * sane. Both the good and the bad paths must be exercised. */
static inline void vt_check_mutations(const char *const *files, size_t nfiles,
                                      uint64_t seed, int rounds)
{
    static char frame[32768];
    struct vt_lines l[8];
    const char *pick[4096];
    size_t plen[4096], npick = 0;
    unsigned bad = 0, classes[5] = { 0 };

    for (size_t f = 0; f < nfiles && f < 8; f++) {
        vt_lines_load(&l[f], files[f]);
        for (size_t i = 0; i < l[f].n && npick < 4096; i++) {
            if (l[f].len[i] < sizeof frame - 16) {
                pick[npick] = l[f].line[i];
                plen[npick++] = l[f].len[i];
            }
        }
    }
    for (int i = 0; i < rounds && npick > 0; i++) {
        size_t k = (size_t)(vt_rng(&seed) % npick), len = plen[k];
        const char *copy;

        memcpy(frame, pick[k], len);
        for (int m = (int)(vt_rng(&seed) % 3); m >= 0 && len > 0; m--) {
            size_t at = (size_t)(vt_rng(&seed) % len);
            switch (vt_rng(&seed) % 4) {
            case 0: frame[at] ^= (char)(1u << (vt_rng(&seed) % 8)); break;
            case 1: len = at; break;
            case 2: frame[at] = "\"{}[],:0-e.\\Z"[vt_rng(&seed) % 13]; break;
            default:
                memmove(frame + at + 1, frame + at, len - at);
                frame[at] = (char)vt_rng(&seed);
                len++;
            }
        }
        copy = vt_parse_n(frame, len);
        classes[vt.out.cls <= CS_FRAME_MALFORMED ? vt.out.cls : 0]++;
        bad += !vt_out_is_sane(copy, len);
    }
    CHECK_INT(bad, 0);
    CHECK(classes[CS_FRAME_DATA] > (unsigned)rounds / 60);
    CHECK(classes[CS_FRAME_MALFORMED] > (unsigned)rounds / 60);
    for (size_t f = 0; f < nfiles && f < 8; f++) {
        vt_lines_free(&l[f]);
    }
}

/* ---- the wire layer ---- */

struct vt_sent {
    char text[VT_MAX_SENT][VT_SENT_BYTES];
    size_t len[VT_MAX_SENT];
    size_t n;
    unsigned overflow;
};

static struct vt_sent vt_sent;

/* cs_venue_send_fn collecting into vt_sent (NUL-terminated copies). */
static inline void vt_send(void *ctx, const char *text, size_t len)
{
    struct vt_sent *s = ctx;

    if (s->n == VT_MAX_SENT || len >= VT_SENT_BYTES) {
        s->overflow++;
        return;
    }
    memcpy(s->text[s->n], text, len);
    s->text[s->n][len] = '\0';
    s->len[s->n++] = len;
}

/* build_subscription into vt_sent (emptied first); returns the count. */
static inline size_t vt_build(const char *const *symbols, size_t n,
                              const char *const *channels, size_t nchannels,
                              bool unsubscribe, uint64_t *req_id)
{
    memset(&vt_sent, 0, sizeof vt_sent);
    vt.ops->build_subscription(symbols, n, channels, nchannels, unsubscribe,
                               req_id, vt_send, &vt_sent);
    return vt_sent.n;
}

/* The messages built equal the lines of a recorded *.client_sent.jsonl
 * from `first` on, `count` of them. */
static inline void vt_check_sent_file(const char *rel, size_t first,
                                      size_t count, int line)
{
    struct vt_lines l;
    size_t same = 0;

    vt_lines_load(&l, rel);
    for (size_t i = 0; i < count && i < vt_sent.n && first + i < l.n; i++) {
        if (vt_sent.len[i] == l.len[first + i]
            && memcmp(vt_sent.text[i], l.line[first + i], vt_sent.len[i])
               == 0) {
            same++;
        } else {
            cs_test_fail(__FILE__, line, "sent %zu: %s\n  recorded: %.*s", i,
                         vt_sent.text[i], (int)l.len[first + i],
                         l.line[first + i]);
        }
    }
    if (same == count && vt_sent.n == count) {
        cs_test_passed++;
    } else {
        cs_test_fail(__FILE__, line, "%zu of %zu messages as recorded (%zu "
                     "sent)", same, count, vt_sent.n);
    }
    vt_lines_free(&l);
}

/* Valid JSON, and no raw control bytes. */
static inline bool vt_json_ok(const char *text, size_t len)
{
    static struct cs_json_tok toks[8192];
    struct cs_json js;

    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)text[i] < 0x20) {
            return false;
        }
    }
    return cs_json_parse(&js, text, len, toks, 8192, 0) == CS_JSON_OK
           && js.toks[0].type == CS_JSON_OBJECT;
}

static inline bool vt_in_list(const char *const *list, const char *name)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        if (strcmp(list[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* What every venue's wire layer promises: sane limits, default channels
 * it knows, messages that are valid JSON whatever the symbols hold,
 * within the per-message limit, and pings that fit. */
static inline void vt_check_wire(void)
{
    const struct cs_venue_wire *w = vt.ops->wire;
    const char *chans[16];
    size_t nchans = 0;
    char long_sym[CS_VENUE_NAME_MAX + 2], ping[64];
    const char *hostile[] = { "BTC\"USD", "A\\B", "X\ny\x01", "", long_sym,
                              "ETH/USD", "ok" };
    const char *many[450];
    char names[450][12];
    uint64_t id = 0, before;
    size_t n, len;
    bool valid = true;

    CHECK(w != NULL && vt.ops->build_subscription != NULL
          && vt.ops->build_ping != NULL && vt.ops->compose_symbol != NULL
          && vt.ops->split_symbol != NULL && vt.ops->parse != NULL);
    CHECK(strncmp(w->ws_url, "wss://", 6) == 0);
    CHECK(w->max_symbols_per_msg > 0
          && w->max_symbols_per_msg <= w->max_symbols_per_conn
          && w->max_symbols_per_msg <= CS_VENUE_BATCH_MAX);
    CHECK(w->max_client_msgs_per_s > 0 && w->idle_timeout_ms > 0);
    CHECK(w->ping_interval_ms >= 0 && w->ping_interval_ms < w->idle_timeout_ms);
    CHECK(w->max_lifetime_ms >= 0);
    CHECK(w->default_channels != NULL && w->default_channels[0] != NULL);
    for (size_t i = 0; w->default_channels[i] != NULL; i++) {
        CHECK(vt_in_list(w->all_channels, w->default_channels[i]));
    }
    for (size_t i = 0; w->all_channels[i] != NULL && nchans < 16; i++) {
        chans[nchans++] = w->all_channels[i];
    }

    memset(long_sym, 'A', sizeof long_sym - 1);
    long_sym[sizeof long_sym - 1] = '\0';
    for (int unsub = 0; unsub < 2; unsub++) {
        n = vt_build(hostile, sizeof hostile / sizeof hostile[0], chans,
                     nchans, unsub, &id);
        CHECK(n > 0 && vt_sent.overflow == 0);
        for (size_t i = 0; i < n; i++) {
            valid = valid && vt_json_ok(vt_sent.text[i], vt_sent.len[i])
                    && strstr(vt_sent.text[i], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                                                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                                                "AAAAA") == NULL;
        }
    }
    CHECK(valid);

    /* Many symbols: no message carries more than the limit. */
    for (size_t i = 0; i < 450; i++) {
        snprintf(names[i], sizeof names[i], "Q%zuZ", i);
        many[i] = names[i];
    }
    n = vt_build(many, 450, chans, 1, false, &id);
    CHECK(n >= (450 + w->max_symbols_per_msg - 1) / w->max_symbols_per_msg);
    for (size_t i = 0; i < n; i++) {
        size_t count = 0;
        for (const char *p = vt_sent.text[i]; p[0] != '\0'; p++) {
            count += (p[0] == 'Q' || p[0] == 'q') && p[1] >= '0'
                     && p[1] <= '9';
        }
        CHECK(count > 0 && count <= w->max_symbols_per_msg);
        CHECK(vt_json_ok(vt_sent.text[i], vt_sent.len[i]));
    }
    CHECK_INT(vt_build(many, 0, chans, 1, false, &id), 0);

    len = vt.ops->build_ping(&id, ping, sizeof ping);
    CHECK(len < sizeof ping && strlen(ping) == len);
    CHECK(len > 0 || w->ping_interval_ms == 0);
    before = id;
    CHECK_INT(vt.ops->build_ping(&id, ping, 2), 0);
    CHECK_INT(id, before);                  /* nothing sent, no id used */
}

/* compose(base, quote) spells `raw`, and splitting `raw` gives them back. */
static inline void vt_check_symbol(const char *base, const char *quote,
                                   const char *raw, int line)
{
    char buf[64], b[32], q[32];

    vt.ops->compose_symbol(base, quote, buf, sizeof buf);
    if (strcmp(buf, raw) != 0) {
        cs_test_fail(__FILE__, line, "compose(%s, %s) = %s, want %s", base,
                     quote, buf, raw);
    } else if (!vt.ops->split_symbol(raw, strlen(raw), b, sizeof b, q,
                                     sizeof q)) {
        cs_test_fail(__FILE__, line, "split(%s) failed", raw);
    } else if (strcmp(b, base) != 0 || strcmp(q, quote) != 0) {
        cs_test_fail(__FILE__, line, "split(%s) = %s/%s", raw, b, q);
    } else {
        cs_test_passed++;
    }
}
#define SYMBOL(b, q, raw) vt_check_symbol(b, q, raw, __LINE__)

#endif
