/* Per-exchange connection metrics, read from the connectors' counters at
 * scrape time: frames, connections, reconnects, failures, stale streams,
 * gaps, rotations, capture drops and write errors, and the time of the
 * newest frame. */
#include "cryptosup/connector.h"

#include "cryptosup/metrics.h"

struct per_exchange {
    const char *name;
    const char *help;
    enum cs_metric_type type;
    size_t offset;        /* of a uint64_t in struct cs_exchange_stats */
};

#define FIELD(f) offsetof(struct cs_exchange_stats, f)

static const struct per_exchange families[] = {
    { "cryptosup_ws_frames_total", "WebSocket frames received",
      CS_METRIC_COUNTER, FIELD(frames) },
    { "cryptosup_connects_total", "Connections opened",
      CS_METRIC_COUNTER, FIELD(connects) },
    { "cryptosup_reconnects_total", "Connections lost and retried",
      CS_METRIC_COUNTER, FIELD(reconnects) },
    { "cryptosup_connect_failures_total", "Connection attempts that failed",
      CS_METRIC_COUNTER, FIELD(connect_failures) },
    { "cryptosup_stale_streams_total",
      "Streams declared stale after the venue's idle bound",
      CS_METRIC_COUNTER, FIELD(stale) },
    { "cryptosup_gaps_total", "Gaps: reconnects and lost messages",
      CS_METRIC_COUNTER, FIELD(gaps) },
    { "cryptosup_rotations_total", "Make-before-break connection rotations",
      CS_METRIC_COUNTER, FIELD(rotations) },
    { "cryptosup_oversize_frames_total", "Frames dropped for their size",
      CS_METRIC_COUNTER, FIELD(oversize_frames) },
    { "cryptosup_record_dropped_frames_total",
      "Frames and events left out of the --record capture (writer behind); "
      "each run of them is marked by a record_gap line",
      CS_METRIC_COUNTER, FIELD(record_dropped_frames) },
    { "cryptosup_record_write_errors_total",
      "Failed writes to the --record capture",
      CS_METRIC_COUNTER, FIELD(record_write_errors) },
};

static void collect(void *ctx, struct cs_metrics_writer *w)
{
    struct cs_connectors *c = ctx;
    size_t n = cs_connectors_count(c);

    cs_connectors_refresh_stats(c);
    for (size_t f = 0; f < sizeof families / sizeof *families; f++) {
        cs_metrics_family(w, families[f].name, families[f].type,
                          families[f].help);
        for (size_t i = 0; i < n; i++) {
            const struct cs_exchange_stats *s = cs_connectors_stats(c, i);
            const char *labels[] = { "exchange", s->exchange, NULL };
            uint64_t v = *(const uint64_t *)((const char *)s +
                                             families[f].offset);
            cs_metrics_sample(w, families[f].name, labels, (double)v);
        }
    }
    cs_metrics_family(w, "cryptosup_open_connections", CS_METRIC_GAUGE,
                      "WebSocket connections open now");
    for (size_t i = 0; i < n; i++) {
        const struct cs_exchange_stats *s = cs_connectors_stats(c, i);
        const char *labels[] = { "exchange", s->exchange, NULL };
        cs_metrics_sample(w, "cryptosup_open_connections", labels,
                          s->open_connections);
    }
    /* The original collector's name, with the exchange label added. */
    cs_metrics_family(w, "last_update_timestamp", CS_METRIC_GAUGE,
                      "Unix time of the newest frame from each exchange");
    for (size_t i = 0; i < n; i++) {
        const struct cs_exchange_stats *s = cs_connectors_stats(c, i);
        const char *labels[] = { "exchange", s->exchange, NULL };
        if (s->last_frame_ns > 0) {
            cs_metrics_sample(w, "last_update_timestamp", labels,
                              (double)s->last_frame_ns / 1e9);
        }
    }
}

void cs_connectors_register_metrics(struct cs_connectors *c,
                                    struct cs_metrics *m)
{
    cs_metrics_register(m, collect, c);
}
