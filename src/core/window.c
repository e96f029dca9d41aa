/* Window engine: one instrument's recent price path on data time, answering
 * change against the reference bucket, high and low, in a few bytes per
 * bucket. Loop thread only. */
#include "cryptosup/window.h"

#include <stdlib.h>
#include <string.h>

#include "cryptosup/err.h"
#include "cryptosup/timeutil.h"

/*
 * Design.
 *
 * Buckets: bucket k holds ticks with k*R <= ts < (k+1)*R (so ts == k*R is in
 * bucket k). At data time t, n = bucket(t) is the live bucket and
 * m = bucket(t - W) the oldest bucket of the window; m <= n - 1 since R <= W,
 * and R need not divide W (then m is n - ceil(W/R) or one more).
 *
 * Prices are exact integers in one unit 10^exp per window: the finest
 * exponent seen after stripping trailing zeros, so "65083.67000000" costs the
 * same as "65083.67". A finer price rescales what the window holds, once
 * (O(held data), rare); a price that cannot share an 18-digit unit with the
 * window's high as it stands before the push (the push has not moved time
 * yet: refused ticks change nothing) is refused as CS_WINDOW_INVALID. Views
 * give decimals in one canonical form: no zeros after the point, integers
 * below 10^18 with exponent 0 ("100", not 1e2).
 *
 * Closes. The reference is close(m), the last price before (m+1)*R, and the
 * window's open is close(m-1). m only moves forward, so the closes are a
 * FIFO: close(ref_seq) in full, then one record per later bucket up to n-1
 * holding the change from the previous close as a zigzag LEB128 varint
 * (1 byte for |d| < 64, 2 below 8192, 3 below 2^20). A run of unchanged
 * buckets is one record (0, run-1), so a silence costs O(1) to write and to
 * expire, and one longer than the window collapses everything to the last
 * price in O(1). Compared with int16 deltas plus escapes this grows smoothly
 * (3 bytes, not 10, for a jump of 40000 units) and quiet instruments pay per
 * change, not per bucket.
 *
 * High and low: monotonic deques of (bucket, price, ts), the low one keyed
 * on -price, with at most one entry per bucket (a lower tick in the same
 * bucket expires together with the higher one, so it can never be the max).
 * Entries are two unsigned varints against the previous entry: the time step
 * in s, ms, us or ns (whichever is exact; the bucket follows from the time)
 * and the price step minus one (keys strictly decrease): 3-5 bytes instead
 * of 24. LEB128 decodes backwards as well (only a varint's last byte has the
 * top bit clear), so both ends can pop; the front and back entries are kept
 * decoded.
 *
 * High and low cover the window's open (close(m-1), the price entering the
 * window, reported at time m*R) and every tick in buckets m..n, including
 * ticks that an equal-ts tick later replaced as the price; ties go to the
 * latest tick. Hence low <= reference, price <= high, and both stay
 * defined after a silence longer than the window.
 *
 * Memory: the byte rings start at about one byte per bucket and grow by
 * 1/4 when full, only on the push path and only to a new high-water mark,
 * so a steady state allocates nothing and growth is amortised O(1).
 * Shrinking (under a quarter used) happens only in cs_window_compact, which
 * the engine runs for a few instruments at a time off the tick path. Whatever the tick rate or
 * silence: closes <= 9 bytes per bucket, deques <= 18 bytes per bucket,
 * typically 1-3 bytes per bucket for the closes and a few hundred bytes for
 * the deques.
 *
 * Limits: |ts_ns| <= 2^62 (years 1824..2116) or the push is INVALID (advance
 * ignores it, a gap mark is clamped); W <= 2^60 ns (36 years) or
 * cs_window_new gives NULL. "Late" means older than the data time, which
 * cs_window_advance moves too.
 */

#define TS_LIMIT (INT64_C(1) << 62)          /* |ts_ns| accepted */
#define WIDTH_LIMIT_NS (INT64_C(1) << 60)    /* widest window, ns */
#define SCALED_LIMIT INT64_C(1000000000000000000)  /* scaled prices < 10^18 */
#define VARINT_MAX 10                        /* bytes in a 64-bit LEB128 */
#define CLOSES_INIT_MAX 65536                /* first closes ring cap, bytes */
#define DEQUE_INIT 64                        /* initial deque ring cap, bytes */

static const int64_t pow10_tab[19] = {
    INT64_C(1), INT64_C(10), INT64_C(100), INT64_C(1000), INT64_C(10000),
    INT64_C(100000), INT64_C(1000000), INT64_C(10000000),
    INT64_C(100000000), INT64_C(1000000000), INT64_C(10000000000),
    INT64_C(100000000000), INT64_C(1000000000000),
    INT64_C(10000000000000), INT64_C(100000000000000),
    INT64_C(1000000000000000), INT64_C(10000000000000000),
    INT64_C(100000000000000000), INT64_C(1000000000000000000)
};

/* time step codes: the low 2 bits pick the unit */
static const int64_t ts_unit_ns[4] = { CS_NS_PER_S, CS_NS_PER_MS, 1000, 1 };

/* Byte FIFO of LEB128 varints that can also be popped from the back. */
struct vring {
    uint8_t *buf;       /* cap bytes, wrapping */
    size_t cap;         /* bytes allocated */
    size_t head;        /* index of the oldest byte */
    size_t len;         /* bytes in use */
    size_t min_cap;     /* creation size: never shrink below it, bytes */
};

/* Monotonic deque of per-bucket extremes; keys strictly decrease and times
 * strictly increase from front to back. Record per entry: time step from the
 * previous entry (dt code) and key step minus one, both unsigned; the front
 * record's steps are stale and never read. */
struct extq {
    struct vring rec;   /* entry records, oldest first */
    size_t count;       /* entries */
    int64_t front_seq;  /* oldest entry: bucket (from front_ts) */
    int64_t front_key;  /* scaled price, negated for the low deque */
    int64_t front_ts;   /* tick time, ns */
    int64_t back_seq;   /* newest entry: bucket (from back_ts) */
    int64_t back_key;   /* scaled price, negated for the low deque */
    int64_t back_ts;    /* tick time, ns */
};

/* Loop thread only. Scaled prices are value / 10^exp. */
struct cs_window {
    int64_t width_s;        /* W, s */
    int64_t res_s;          /* R, s */
    int64_t width_ns;       /* W, ns */
    int64_t res_ns;         /* R, ns */
    int64_t t_ns;           /* data time: newest push or advance, ns */
    int64_t first_ns;       /* ts of the first accepted tick, ns */
    int64_t gap_ns;         /* newest gap mark, ns */
    int64_t cur_seq;        /* bucket n containing t_ns */
    int64_t win_seq;        /* bucket m containing t_ns - W */
    int64_t last;           /* latest price, scaled */
    int32_t exp;            /* unit of every scaled price: 10^exp */
    bool has_time;          /* t_ns set by a push or advance */
    bool has_price;         /* a tick was accepted */
    bool has_gap;           /* gap_ns set */
    bool ring_started;      /* the first tick's bucket has closed */
    bool open_valid;        /* open_close is close(m - 1); then ref_seq == m */
    struct vring closes;    /* closes after ref_seq, as deltas and runs */
    int64_t ref_seq;        /* oldest bucket held: max(m, first bucket) */
    int64_t ref_close;      /* close(ref_seq), scaled */
    int64_t open_close;     /* close(ref_seq - 1), scaled */
    int64_t back_close;     /* close(n - 1), scaled */
    int64_t head_run;       /* unchanged buckets taken off the ring, unpassed */
    int64_t tail_run;       /* unchanged buckets at the back, not yet written */
    struct extq hi;         /* high: key = price */
    struct extq lo;         /* low: key = -price */
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if (a % b < 0) {
        q--;
    }
    return q;
}

static uint64_t zigzag(int64_t d)
{
    return d < 0 ? ((uint64_t)(-(d + 1)) << 1) | 1u : (uint64_t)d << 1;
}

static int64_t unzigzag(uint64_t v)
{
    return (v & 1u) ? -(int64_t)(v >> 1) - 1 : (int64_t)(v >> 1);
}

/* ---- vring ---- */

static void vr_init(struct vring *r, size_t cap)
{
    r->buf = cs_xmalloc(cap);
    r->cap = cap;
    r->head = 0;
    r->len = 0;
    r->min_cap = cap;
}

static void vr_cleanup(struct vring *r)
{
    free(r->buf);
    r->buf = NULL;
}

static size_t vr_idx(const struct vring *r, size_t off)
{
    size_t i = r->head + off;

    return i >= r->cap ? i - r->cap : i;
}

static void vr_resize(struct vring *r, size_t cap)
{
    uint8_t *nb = cs_xmalloc(cap);
    size_t first = r->cap - r->head;

    cs_require(cap >= r->len);
    if (first > r->len) {
        first = r->len;
    }
    memcpy(nb, r->buf + r->head, first);
    memcpy(nb + first, r->buf, r->len - first);
    free(r->buf);
    r->buf = nb;
    r->cap = cap;
    r->head = 0;
}

/* Off the tick path (cs_window_compact): give back memory once less than
 * a quarter is used. The new size leaves 1/2 headroom, so a window that
 * only breathes does not oscillate between sizes. Returns bytes freed. */
static size_t vr_maybe_shrink(struct vring *r)
{
    if (r->cap > r->min_cap && r->len < r->cap / 4) {
        size_t before = r->cap;
        size_t cap = r->len + r->len / 2 + 2 * VARINT_MAX;

        vr_resize(r, cap > r->min_cap ? cap : r->min_cap);
        return before - r->cap;
    }
    return 0;
}

static void vr_clear(struct vring *r)
{
    r->head = 0;
    r->len = 0;
}

static void vr_put(struct vring *r, uint64_t v)
{
    size_t i;

    /* Growth only ever happens here, to a new high-water mark; shrinking
     * is left to cs_window_compact so a steady state never reallocates. */
    if (r->cap - r->len < VARINT_MAX) {
        vr_resize(r, r->cap + r->cap / 4 + 2 * VARINT_MAX);
    }
    i = vr_idx(r, r->len);
    do {
        uint8_t b = (uint8_t)(v & 0x7fu);

        v >>= 7;
        r->buf[i] = v ? (uint8_t)(b | 0x80u) : b;
        if (++i == r->cap) {
            i = 0;
        }
        r->len++;
    } while (v);
}

/* Decode the varint starting `*off` bytes after the head; advance *off. */
static uint64_t vr_peek(const struct vring *r, size_t *off)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;

    do {
        cs_require(*off < r->len && shift < 64);
        b = r->buf[vr_idx(r, *off)];
        (*off)++;
        v |= (uint64_t)(b & 0x7fu) << shift;
        shift += 7;
    } while (b & 0x80u);
    return v;
}

static uint64_t vr_get(struct vring *r)
{
    size_t off = 0;
    uint64_t v = vr_peek(r, &off);

    r->head = vr_idx(r, off);
    r->len -= off;
    return v;
}

/* Offset of the first byte of the last varint. */
static size_t vr_back_start(const struct vring *r)
{
    size_t start;

    cs_require(r->len > 0);
    start = r->len - 1;
    while (start > 0 && (r->buf[vr_idx(r, start - 1)] & 0x80u)) {
        start--;
    }
    return start;
}

static uint64_t vr_unput(struct vring *r)
{
    size_t start = vr_back_start(r);
    size_t off = start;
    uint64_t v = vr_peek(r, &off);

    r->len = start;
    return v;
}

/* ---- extreme deques ---- */

/* A positive time step in the coarsest of s, ms, us, ns that holds it
 * exactly, unit in the low 2 bits: exchange times are mostly whole ms. */
static uint64_t dt_encode(int64_t dt_ns)
{
    unsigned code;

    for (code = 0; code < 3; code++) {
        if (dt_ns % ts_unit_ns[code] == 0) {
            break;
        }
    }
    return ((uint64_t)(dt_ns / ts_unit_ns[code]) << 2) | code;
}

static int64_t dt_decode(uint64_t code)
{
    return (int64_t)(code >> 2) * ts_unit_ns[code & 3u];
}

static void extq_clear(struct extq *q)
{
    q->count = 0;
    vr_clear(&q->rec);
}

static void extq_pop_back(struct extq *q, int64_t res_ns)
{
    int64_t gap = (int64_t)vr_unput(&q->rec);
    int64_t dt = dt_decode(vr_unput(&q->rec));

    if (--q->count == 0) {
        return;
    }
    q->back_key += gap + 1;
    q->back_ts -= dt;
    q->back_seq = floor_div(q->back_ts, res_ns);
}

static void extq_pop_front(struct extq *q, int64_t res_ns)
{
    size_t off = 0;
    int64_t dt, gap;

    (void)vr_get(&q->rec);
    (void)vr_get(&q->rec);
    if (--q->count == 0) {
        return;
    }
    dt = dt_decode(vr_peek(&q->rec, &off));
    gap = (int64_t)vr_peek(&q->rec, &off);
    q->front_ts += dt;
    q->front_key -= gap + 1;
    q->front_seq = floor_div(q->front_ts, res_ns);
}

static void extq_push(struct extq *q, int64_t seq, int64_t key, int64_t ts_ns,
                      int64_t res_ns)
{
    /* Ties pop too, so the latest tick at the extreme is the one kept. */
    while (q->count > 0 && q->back_key <= key) {
        extq_pop_back(q, res_ns);
    }
    if (q->count > 0 && q->back_seq == seq) {
        return;     /* dominated by a higher tick that expires with it */
    }
    if (q->count == 0) {
        vr_put(&q->rec, 0);
        vr_put(&q->rec, 0);
        q->front_seq = seq;
        q->front_key = key;
        q->front_ts = ts_ns;
    } else {
        /* Later bucket, so dt > 0; keys strictly decrease, so gap >= 0. */
        vr_put(&q->rec, dt_encode(ts_ns - q->back_ts));
        vr_put(&q->rec, (uint64_t)(q->back_key - key - 1));
    }
    q->back_seq = seq;
    q->back_key = key;
    q->back_ts = ts_ns;
    q->count++;
}

static void extq_expire(struct extq *q, int64_t win_seq, int64_t res_ns)
{
    while (q->count > 0 && q->front_seq < win_seq) {
        extq_pop_front(q, res_ns);
    }
}

/* Multiply every key by p (the caller has checked that they fit). */
static void extq_rescale(struct extq *q, int64_t p)
{
    struct vring nr;
    size_t i;

    vr_init(&nr, q->rec.min_cap);
    for (i = 0; i < q->count; i++) {
        uint64_t dt = vr_get(&q->rec);
        int64_t gap = (int64_t)vr_get(&q->rec);

        if (i == 0) {
            vr_put(&nr, 0);     /* the front's stale step could overflow */
            vr_put(&nr, 0);
        } else {
            vr_put(&nr, dt);
            vr_put(&nr, (uint64_t)((gap + 1) * p - 1));
        }
    }
    vr_cleanup(&q->rec);
    q->rec = nr;
    q->front_key *= p;
    q->back_key *= p;
}

/* ---- closes ---- */

static void closes_flush_run(struct cs_window *w)
{
    if (w->tail_run > 0) {
        vr_put(&w->closes, 0);
        vr_put(&w->closes, (uint64_t)(w->tail_run - 1));
        w->tail_run = 0;
    }
}

static void closes_append(struct cs_window *w, int64_t delta)
{
    if (delta == 0) {
        w->tail_run++;
    } else {
        closes_flush_run(w);
        vr_put(&w->closes, zigzag(delta));
    }
}

/* Drop closes until ref_seq == target (<= n - 1); each record once. */
static void closes_advance(struct cs_window *w, int64_t target)
{
    while (w->ref_seq < target) {
        int64_t k = target - w->ref_seq;

        if (w->head_run == 0 && w->closes.len > 0) {
            uint64_t v = vr_get(&w->closes);

            if (v == 0) {
                w->head_run = (int64_t)vr_get(&w->closes) + 1;
            } else {
                w->open_close = w->ref_close;
                w->ref_close += unzigzag(v);
                w->ref_seq++;
                w->open_valid = true;
            }
            continue;
        }
        if (w->head_run > 0) {
            if (k > w->head_run) {
                k = w->head_run;
            }
            w->head_run -= k;
        } else {
            /* only the unwritten run at the back is left */
            cs_require(w->tail_run >= k);
            w->tail_run -= k;
        }
        w->open_close = w->ref_close;
        w->ref_seq += k;
        w->open_valid = true;
    }
}

/* Bucket cur_seq (and any empty ones after it) closed at the last price;
 * the new live bucket is n with window start m. */
static void close_buckets(struct cs_window *w, int64_t n, int64_t m)
{
    int64_t old = w->cur_seq;

    if (m - 1 >= old) {
        /* Everything from bucket m - 1 on closed at the last price: the
         * window holds one flat run, whatever the length of the silence. */
        vr_clear(&w->closes);
        w->head_run = 0;
        w->tail_run = n - 1 - m;
        w->ref_seq = m;
        w->ref_close = w->last;
        w->open_close = w->last;
        w->back_close = w->last;
        w->open_valid = true;
        w->ring_started = true;
        extq_clear(&w->hi);
        extq_clear(&w->lo);
        return;
    }
    if (!w->ring_started) {
        w->ref_seq = old;
        w->ref_close = w->last;
        w->ring_started = true;
    } else {
        closes_append(w, w->last - w->back_close);
    }
    w->back_close = w->last;
    w->tail_run += n - 1 - old;
}

static void move_time(struct cs_window *w, int64_t t_ns)
{
    int64_t n = floor_div(t_ns, w->res_ns);
    int64_t m = floor_div(t_ns - w->width_ns, w->res_ns);

    w->t_ns = t_ns;
    w->has_time = true;
    if (w->has_price && n > w->cur_seq) {
        close_buckets(w, n, m);
    }
    w->cur_seq = n;
    w->win_seq = m;
    if (!w->has_price) {
        return;
    }
    if (w->ring_started && w->ref_seq < m) {
        closes_advance(w, m);
    }
    extq_expire(&w->hi, m, w->res_ns);
    extq_expire(&w->lo, m, w->res_ns);
}

/* ---- prices ---- */

/* Strip trailing zeros; false unless 0 < value and the mantissa has at most
 * 18 digits. */
static bool normalize(struct cs_decimal p, int64_t *mant, int64_t *exp)
{
    int64_t m = p.mant;
    int64_t e = p.exp;

    if (m <= 0) {
        return false;
    }
    while (m % 10 == 0) {
        m /= 10;
        e++;
    }
    if (m >= SCALED_LIMIT || e > INT32_MAX) {
        return false;
    }
    *mant = m;
    *exp = e;
    return true;
}

/* Canonical output: no trailing zeros after the point, and integers below
 * 10^18 with exponent 0 ("100", not 1e2); larger values fully normalised. */
static struct cs_decimal to_decimal(int64_t scaled, int32_t exp)
{
    struct cs_decimal d = { scaled, exp };

    while (d.exp < 0 && d.mant % 10 == 0) {
        d.mant /= 10;
        d.exp++;
    }
    if (d.exp > 0 && d.exp < 18
        && d.mant <= (SCALED_LIMIT - 1) / pow10_tab[d.exp]) {
        d.mant *= pow10_tab[d.exp];
        d.exp = 0;
    }
    while (d.exp > 0 && d.mant % 10 == 0) {
        d.mant /= 10;
        d.exp++;
    }
    return d;
}

/* The largest scaled price held: the window's high (every close held lies
 * between low and high). */
static int64_t max_held(const struct cs_window *w)
{
    int64_t hi = w->last;

    if (w->hi.count > 0 && w->hi.front_key > hi) {
        hi = w->hi.front_key;
    }
    if (w->open_valid && w->open_close > hi) {
        hi = w->open_close;
    }
    return hi;
}

/* Move every held price to the finer unit 10^(exp - k); false (nothing
 * changed) when they would not fit in 18 digits. */
static bool rescale(struct cs_window *w, int64_t k)
{
    int64_t p;
    struct vring nr;

    if (k >= 18) {
        return false;
    }
    p = pow10_tab[k];
    if (max_held(w) > (SCALED_LIMIT - 1) / p) {
        return false;
    }
    vr_init(&nr, w->closes.min_cap);
    while (w->closes.len > 0) {
        uint64_t v = vr_get(&w->closes);

        if (v == 0) {
            vr_put(&nr, 0);
            vr_put(&nr, vr_get(&w->closes));
        } else {
            vr_put(&nr, zigzag(unzigzag(v) * p));
        }
    }
    vr_cleanup(&w->closes);
    w->closes = nr;
    w->last *= p;
    w->ref_close *= p;
    w->open_close *= p;
    w->back_close *= p;
    extq_rescale(&w->hi, p);
    extq_rescale(&w->lo, p);
    w->exp = (int32_t)(w->exp - k);
    return true;
}

/* ---- public ---- */

int64_t cs_window_default_resolution(int64_t width_s)
{
    int64_t r = width_s / 3600;

    if (r < 1) {
        return 1;
    }
    while (width_s % r != 0) {
        r--;
    }
    return r;
}

struct cs_window *cs_window_new(int64_t width_s, int64_t res_s)
{
    struct cs_window *w;
    int64_t buckets;

    if (width_s <= 0 || width_s > WIDTH_LIMIT_NS / CS_NS_PER_S
        || res_s < 0 || res_s > width_s) {
        return NULL;
    }
    if (res_s == 0) {
        res_s = cs_window_default_resolution(width_s);
    }
    w = cs_xcalloc(1, sizeof *w);
    w->width_s = width_s;
    w->res_s = res_s;
    w->width_ns = width_s * CS_NS_PER_S;
    w->res_ns = res_s * CS_NS_PER_S;
    w->exp = 0;
    /* About a byte per bucket to start; busy instruments grow to 2-3. */
    buckets = (width_s + res_s - 1) / res_s;
    if (buckets > CLOSES_INIT_MAX) {
        buckets = CLOSES_INIT_MAX;
    }
    vr_init(&w->closes, (size_t)buckets + 2 * VARINT_MAX);
    vr_init(&w->hi.rec, DEQUE_INIT);
    vr_init(&w->lo.rec, DEQUE_INIT);
    return w;
}

void cs_window_free(struct cs_window *w)
{
    if (w == NULL) {
        return;
    }
    vr_cleanup(&w->closes);
    vr_cleanup(&w->hi.rec);
    vr_cleanup(&w->lo.rec);
    free(w);
}

int64_t cs_window_width_s(const struct cs_window *w)
{
    return w->width_s;
}

int64_t cs_window_resolution_s(const struct cs_window *w)
{
    return w->res_s;
}

enum cs_window_push_result cs_window_push(struct cs_window *w, int64_t ts_ns,
                                          struct cs_decimal price)
{
    int64_t mant, exp, v;

    if (ts_ns < -TS_LIMIT || ts_ns > TS_LIMIT
        || !normalize(price, &mant, &exp)) {
        return CS_WINDOW_INVALID;
    }
    if (w->has_time && ts_ns < w->t_ns) {
        return CS_WINDOW_LATE;
    }
    if (!w->has_price) {
        w->exp = (int32_t)exp;
        v = mant;
    } else if (exp < w->exp) {
        if (!rescale(w, w->exp - exp)) {
            return CS_WINDOW_INVALID;
        }
        v = mant;
    } else {
        int64_t k = exp - w->exp;

        if (k >= 18 || mant > (SCALED_LIMIT - 1) / pow10_tab[k]) {
            return CS_WINDOW_INVALID;
        }
        v = mant * pow10_tab[k];
    }
    move_time(w, ts_ns);
    if (!w->has_price) {
        w->has_price = true;
        w->first_ns = ts_ns;
    }
    w->last = v;
    extq_push(&w->hi, w->cur_seq, v, ts_ns, w->res_ns);
    extq_push(&w->lo, w->cur_seq, -v, ts_ns, w->res_ns);
    return CS_WINDOW_ACCEPTED;
}

void cs_window_advance(struct cs_window *w, int64_t ts_ns)
{
    if (ts_ns < -TS_LIMIT || ts_ns > TS_LIMIT
        || (w->has_time && ts_ns <= w->t_ns)) {
        return;
    }
    move_time(w, ts_ns);
}

void cs_window_mark_gap(struct cs_window *w, int64_t ts_ns)
{
    if (ts_ns < -TS_LIMIT) {
        ts_ns = -TS_LIMIT;
    } else if (ts_ns > TS_LIMIT) {
        ts_ns = TS_LIMIT;
    }
    if (!w->has_gap || ts_ns > w->gap_ns) {
        w->gap_ns = ts_ns;
        w->has_gap = true;
    }
}

void cs_window_view(const struct cs_window *w, struct cs_window_view *out)
{
    int64_t hi = 0, lo = 0, hi_ts = 0, lo_ts = 0;
    bool have = false;

    memset(out, 0, sizeof *out);
    out->t_ns = w->has_time ? w->t_ns : 0;
    out->gapped = w->has_gap
                  && (!w->has_time || w->gap_ns > w->t_ns - w->width_ns);
    if (!w->has_price) {
        return;
    }
    out->has_price = true;
    out->price = to_decimal(w->last, w->exp);
    out->complete = w->first_ns <= w->t_ns - w->width_ns;
    if (out->complete) {
        cs_require(w->ring_started && w->ref_seq == w->win_seq);
        out->reference = to_decimal(w->ref_close, w->exp);
        out->change = (double)(w->last - w->ref_close) / (double)w->ref_close;
    }
    if (w->hi.count > 0) {
        hi = w->hi.front_key;
        hi_ts = w->hi.front_ts;
        lo = -w->lo.front_key;
        lo_ts = w->lo.front_ts;
        have = true;
    }
    if (w->open_valid) {
        int64_t open_ts = w->win_seq * w->res_ns;

        cs_require(w->ref_seq == w->win_seq);
        if (!have || w->open_close > hi) {
            hi = w->open_close;
            hi_ts = open_ts;
        }
        if (!have || w->open_close < lo) {
            lo = w->open_close;
            lo_ts = open_ts;
        }
        have = true;
    }
    cs_require(have);
    out->high = to_decimal(hi, w->exp);
    out->low = to_decimal(lo, w->exp);
    out->high_ts_ns = hi_ts;
    out->low_ts_ns = lo_ts;
}

size_t cs_window_compact(struct cs_window *w)
{
    return vr_maybe_shrink(&w->closes) + vr_maybe_shrink(&w->hi.rec) +
           vr_maybe_shrink(&w->lo.rec);
}

size_t cs_window_bytes(const struct cs_window *w)
{
    return sizeof *w + w->closes.cap + w->hi.rec.cap + w->lo.rec.cap;
}
