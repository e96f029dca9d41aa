/* The metrics registry: subsystems register collectors that write their
 * current values when the registry is rendered in the Prometheus text
 * exposition format (0.0.4). The values stay in each subsystem's own
 * counters, so the tick path does no extra bookkeeping; rendering runs on
 * the loop thread, which owns those counters. */
#ifndef CRYPTOSUP_METRICS_H
#define CRYPTOSUP_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum cs_metric_type { CS_METRIC_COUNTER, CS_METRIC_GAUGE, CS_METRIC_HISTOGRAM };

/* Where a collector writes. Families must be written whole: the family
 * line, then all of its samples. */
struct cs_metrics_writer;

/* Start a family: "# HELP name help" and "# TYPE name type". */
void cs_metrics_family(struct cs_metrics_writer *w, const char *name,
                       enum cs_metric_type type, const char *help);

/* One sample of the current family. `labels` alternate name and value and
 * end with NULL (values are escaped here); NULL for none. */
void cs_metrics_sample(struct cs_metrics_writer *w, const char *name,
                       const char *const *labels, double value);

/* As cs_metrics_sample, with the value already spelled (e.g. an exact
 * decimal price: "65083.67" rather than 65083.669999999998). */
void cs_metrics_sample_text(struct cs_metrics_writer *w, const char *name,
                            const char *const *labels, const char *value);

/* A whole histogram series: cumulative counts for each upper bound in
 * `bounds` (ascending, +Inf implied), plus sum and count. */
void cs_metrics_histogram(struct cs_metrics_writer *w, const char *name,
                          const char *const *labels, const double *bounds,
                          const uint64_t *bucket_counts, size_t nbounds,
                          double sum, uint64_t count);

typedef void (*cs_metrics_collect_fn)(void *ctx, struct cs_metrics_writer *w);

struct cs_metrics;

struct cs_metrics *cs_metrics_new(void);
void cs_metrics_free(struct cs_metrics *m);   /* NULL is fine */

/* Collectors run in registration order. `ctx` identifies the collector
 * for unregistering. */
void cs_metrics_register(struct cs_metrics *m, cs_metrics_collect_fn fn,
                         void *ctx);
void cs_metrics_unregister(struct cs_metrics *m, void *ctx);

/* The whole exposition, malloc'd and NUL-terminated; *len set when not
 * NULL. Loop thread. */
char *cs_metrics_render(struct cs_metrics *m, size_t *len);

/* Label values from the outside world (symbols, exchange names) are
 * escaped for the text format: backslash, double quote and newline. */

#endif
