/* The metrics registry and the Prometheus text writer: collectors append
 * families to one buffer; values are spelled so Prometheus reads them back
 * exactly. */
#include "cryptosup/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/err.h"

struct cs_metrics_writer {
    char *buf;
    size_t len, cap;
};

struct collector {
    cs_metrics_collect_fn fn;
    void *ctx;
};

struct cs_metrics {
    struct collector *collectors;
    size_t count, cap;
};

static void put(struct cs_metrics_writer *w, const char *s, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        while (w->len + n + 1 > w->cap) {
            w->cap = w->cap ? w->cap * 2 : 4096;
        }
        w->buf = cs_xrealloc(w->buf, w->cap);
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void puts_(struct cs_metrics_writer *w, const char *s)
{
    put(w, s, strlen(s));
}

void cs_metrics_family(struct cs_metrics_writer *w, const char *name,
                       enum cs_metric_type type, const char *help)
{
    static const char *const types[] = { "counter", "gauge", "histogram" };
    puts_(w, "# HELP ");
    puts_(w, name);
    put(w, " ", 1);
    /* HELP text escapes backslash and newline. */
    for (const char *p = help; *p; p++) {
        if (*p == '\\') {
            put(w, "\\\\", 2);
        } else if (*p == '\n') {
            put(w, "\\n", 2);
        } else {
            put(w, p, 1);
        }
    }
    puts_(w, "\n# TYPE ");
    puts_(w, name);
    put(w, " ", 1);
    puts_(w, types[type]);
    put(w, "\n", 1);
}

static void put_label_value(struct cs_metrics_writer *w, const char *v)
{
    /* Copy runs that need no escape in one go: label values are mostly
     * plain symbols, and a scrape writes tens of thousands of them. */
    while (*v) {
        size_t run = strcspn(v, "\\\"\n");
        put(w, v, run);
        v += run;
        if (*v == '\\') {
            put(w, "\\\\", 2);
        } else if (*v == '"') {
            put(w, "\\\"", 2);
        } else if (*v == '\n') {
            put(w, "\\n", 2);
        } else {
            break;
        }
        v++;
    }
}

/* {a="1",b="2"} plus an optional extra pair (for histogram `le`). */
static void put_labels(struct cs_metrics_writer *w, const char *const *labels,
                       const char *extra_name, const char *extra_value)
{
    bool any = false;
    if ((labels == NULL || labels[0] == NULL) && extra_name == NULL) {
        return;
    }
    put(w, "{", 1);
    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
        if (any) {
            put(w, ",", 1);
        }
        puts_(w, labels[i]);
        put(w, "=\"", 2);
        put_label_value(w, labels[i + 1]);
        put(w, "\"", 1);
        any = true;
    }
    if (extra_name) {
        if (any) {
            put(w, ",", 1);
        }
        puts_(w, extra_name);
        put(w, "=\"", 2);
        puts_(w, extra_value);
        put(w, "\"", 1);
    }
    put(w, "}", 1);
}

static void put_value(struct cs_metrics_writer *w, double v)
{
    char num[40];
    if (isnan(v)) {
        puts_(w, "NaN");
    } else if (isinf(v)) {
        puts_(w, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(num, sizeof num, "%.0f", v);
        puts_(w, num);
    } else {
        snprintf(num, sizeof num, "%.17g", v);
        puts_(w, num);
    }
}

void cs_metrics_sample(struct cs_metrics_writer *w, const char *name,
                       const char *const *labels, double value)
{
    puts_(w, name);
    put_labels(w, labels, NULL, NULL);
    put(w, " ", 1);
    put_value(w, value);
    put(w, "\n", 1);
}

void cs_metrics_sample_text(struct cs_metrics_writer *w, const char *name,
                            const char *const *labels, const char *value)
{
    puts_(w, name);
    put_labels(w, labels, NULL, NULL);
    put(w, " ", 1);
    puts_(w, value);
    put(w, "\n", 1);
}

void cs_metrics_histogram(struct cs_metrics_writer *w, const char *name,
                          const char *const *labels, const double *bounds,
                          const uint64_t *bucket_counts, size_t nbounds,
                          double sum, uint64_t count)
{
    char series[256], le[40];
    uint64_t cumulative = 0;

    snprintf(series, sizeof series, "%s_bucket", name);
    for (size_t i = 0; i < nbounds; i++) {
        cumulative += bucket_counts[i];
        snprintf(le, sizeof le, "%g", bounds[i]);
        puts_(w, series);
        put_labels(w, labels, "le", le);
        put(w, " ", 1);
        put_value(w, (double)cumulative);
        put(w, "\n", 1);
    }
    puts_(w, series);
    put_labels(w, labels, "le", "+Inf");
    put(w, " ", 1);
    put_value(w, (double)count);
    put(w, "\n", 1);
    snprintf(series, sizeof series, "%s_sum", name);
    cs_metrics_sample(w, series, labels, sum);
    snprintf(series, sizeof series, "%s_count", name);
    cs_metrics_sample(w, series, labels, (double)count);
}

struct cs_metrics *cs_metrics_new(void)
{
    return cs_xcalloc(1, sizeof(struct cs_metrics));
}

void cs_metrics_free(struct cs_metrics *m)
{
    if (m == NULL) {
        return;
    }
    free(m->collectors);
    free(m);
}

void cs_metrics_register(struct cs_metrics *m, cs_metrics_collect_fn fn,
                         void *ctx)
{
    if (m->count == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->collectors = cs_xrealloc(m->collectors,
                                    m->cap * sizeof *m->collectors);
    }
    m->collectors[m->count].fn = fn;
    m->collectors[m->count].ctx = ctx;
    m->count++;
}

void cs_metrics_unregister(struct cs_metrics *m, void *ctx)
{
    for (size_t i = 0; i < m->count; i++) {
        if (m->collectors[i].ctx == ctx) {
            memmove(m->collectors + i, m->collectors + i + 1,
                    (m->count - i - 1) * sizeof *m->collectors);
            m->count--;
            return;
        }
    }
}

char *cs_metrics_render(struct cs_metrics *m, size_t *len)
{
    struct cs_metrics_writer w = { NULL, 0, 0 };
    put(&w, "", 0);
    for (size_t i = 0; i < m->count; i++) {
        m->collectors[i].fn(m->collectors[i].ctx, &w);
    }
    if (len) {
        *len = w.len;
    }
    return w.buf;
}
