/* Windowed price change over one instrument's price series, on data time.
 *
 * Window W with resolution R (default max(1 s, W/3600) in whole seconds):
 * the reference price at tick time t is the price of the last tick with
 * ts < (floor((t - W) / R) + 1) * R, i.e. the closing price of the R-bucket
 * containing t - W; change = price / reference - 1. The window is complete
 * once the first tick pushed has ts <= t - W; before that there is no
 * change. High and low (and their times) cover the same buckets: from the
 * bucket containing t - W to now. Loop thread only. */
#ifndef CRYPTOSUP_WINDOW_H
#define CRYPTOSUP_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/decimal.h"

struct cs_window;

/* Default resolution for a width: max(1, width_s / 3600), lowered until it
 * divides width_s. */
int64_t cs_window_default_resolution(int64_t width_s);

/* New empty window. `res_s` 0 means the default. Sizes everything it will
 * ever need up front except rare growth (see cs_window_bytes). NULL when
 * width_s <= 0, res_s < 0 or res_s > width_s. */
struct cs_window *cs_window_new(int64_t width_s, int64_t res_s);
void cs_window_free(struct cs_window *w);   /* NULL is fine */

int64_t cs_window_width_s(const struct cs_window *w);
int64_t cs_window_resolution_s(const struct cs_window *w);

enum cs_window_push_result {
    CS_WINDOW_ACCEPTED,
    CS_WINDOW_LATE,      /* ts older than the newest tick: ignored, count it */
    CS_WINDOW_INVALID    /* price <= 0 or not representable: ignored */
};

/* Add a price at data time ts_ns. Ticks with equal ts are accepted (the
 * later one wins). Amortised O(1); no allocation in steady state. */
enum cs_window_push_result cs_window_push(struct cs_window *w, int64_t ts_ns,
                                          struct cs_decimal price);

/* Move data time forward without a price (the last price carries over).
 * Earlier times are ignored. */
void cs_window_advance(struct cs_window *w, int64_t ts_ns);

/* Mark a gap (reconnect, sequence gap) at ts_ns: the window reports gapped
 * until the gap leaves it, i.e. while ts_gap > t - W. */
void cs_window_mark_gap(struct cs_window *w, int64_t ts_ns);

struct cs_window_view {
    bool has_price;            /* at least one tick pushed */
    bool complete;             /* first tick ts <= t - W */
    bool gapped;
    int64_t t_ns;              /* data time of the view (newest tick/advance) */
    struct cs_decimal price;   /* latest price */
    struct cs_decimal reference;   /* valid when complete */
    double change;             /* price / reference - 1; valid when complete */
    struct cs_decimal high, low;   /* over the window's buckets */
    int64_t high_ts_ns, low_ts_ns;
};

/* The window at its current data time. O(1). */
void cs_window_view(const struct cs_window *w, struct cs_window_view *out);

/* Give back memory a window no longer needs (after a burst or a quiet
 * spell). Never called per tick: pushes only grow, so a steady state does
 * not reallocate. Returns the bytes freed. */
size_t cs_window_compact(struct cs_window *w);

/* Heap bytes this window holds now (for the memory benchmark). */
size_t cs_window_bytes(const struct cs_window *w);

#endif
