/* Live connectors: for every configured exchange, WebSocket connections
 * that subscribe on connect, keep the stream alive the venue's way,
 * notice silence, reconnect with backoff and jitter forever, rotate
 * make-before-break before forced disconnects, and feed every frame to the
 * engine (and to a capture, written by its own thread). Loop thread
 * only. */
#ifndef CRYPTOSUP_CONNECTOR_H
#define CRYPTOSUP_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/config.h"
#include "cryptosup/engine.h"
#include "cryptosup/loop.h"

/* Per exchange, for logs, tests and metrics. */
struct cs_exchange_stats {
    const char *exchange;
    uint64_t frames;
    uint64_t connects;           /* connections opened */
    uint64_t reconnects;         /* connections lost and retried */
    uint64_t connect_failures;   /* attempts that never opened */
    uint64_t stale;              /* connections declared silent */
    uint64_t gaps;               /* connection-wide gaps and reconnects */
    uint64_t rotations;          /* make-before-break replacements */
    uint64_t oversize_frames;
    uint64_t subscribe_messages;
    uint64_t record_dropped_frames;   /* frames and events the capture
                                         writer had no room for */
    uint64_t record_write_errors;     /* failed capture writes; as of the
                                         last cs_connectors_refresh_stats */
    int64_t last_frame_ns;       /* wall time of the newest frame; 0 none */
    unsigned open_connections;
};

struct cs_connectors;

/* Start connecting every exchange of `cfg` (those with symbols). A capture
 * directory (may be NULL) gets <dir>/<exchange>/live.jsonl and
 * live.recv_ts.txt, which `cryptosup replay` reads; a writer thread does
 * that I/O behind a bounded buffer (cryptosup/recorder.h), and
 * cs_connectors_free writes everything queued before closing the files. */
struct cs_connectors *cs_connectors_new(struct cs_loop *loop,
                                        struct cs_engine *engine,
                                        const struct cs_config *cfg,
                                        const char *record_dir);

/* After a reload: subscribe new symbols and unsubscribe removed ones on
 * the open connections (other streams keep flowing); exchanges whose URL
 * or channels changed are reconnected; new exchanges start, removed ones
 * stop. `cfg` must outlive the connectors or the next apply. */
void cs_connectors_apply(struct cs_connectors *c, const struct cs_config *cfg);

/* Close every connection (normal closure); the loop must keep running
 * until cs_connectors_idle() is true, then free. */
void cs_connectors_stop(struct cs_connectors *c);
bool cs_connectors_idle(const struct cs_connectors *c);
void cs_connectors_free(struct cs_connectors *c);   /* NULL is fine */

/* Stats of exchange i (i < count), or NULL. */
size_t cs_connectors_count(const struct cs_connectors *c);
const struct cs_exchange_stats *cs_connectors_stats(
    const struct cs_connectors *c, size_t i);
/* Copy the counters other threads keep (the capture writer's) into the
 * stats. */
void cs_connectors_refresh_stats(struct cs_connectors *c);

/* Register per-exchange connection metrics with a registry; unregister
 * before freeing the connectors. */
struct cs_metrics;
void cs_connectors_register_metrics(struct cs_connectors *c,
                                    struct cs_metrics *m);

#endif
