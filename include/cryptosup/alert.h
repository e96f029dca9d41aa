/* Alerts: the per (rule, exchange, symbol) state machine, the alert record
 * handed to notifiers, and the bounded hand-off queue to the notifier
 * thread. The state machine is pure: time and condition come in as
 * parameters, so tests and replays own the clock. */
#ifndef CRYPTOSUP_ALERT_H
#define CRYPTOSUP_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/err.h"

enum cs_cond {
    CS_COND_FALSE,     /* condition clear: re-arms */
    CS_COND_TRUE,      /* condition holds */
    CS_COND_UNKNOWN    /* cannot tell (window incomplete, gapped, nil): hold */
};

enum cs_alert_mode {
    CS_ALERT_EDGE,     /* fire when the condition becomes true */
    CS_ALERT_EVERY     /* fire on every evaluation where it holds */
};

struct cs_alert_params {
    enum cs_alert_mode mode;
    int64_t for_ns;        /* condition must hold this long before firing */
    int64_t cooldown_ns;   /* minimum time between two notifications */
};

enum cs_alert_phase { CS_PHASE_IDLE, CS_PHASE_PENDING, CS_PHASE_FIRING };

/* One (rule, instrument) pair. Zero-initialised is IDLE. Survives reloads
 * for rules whose name is unchanged. */
struct cs_alert_state {
    uint8_t phase;             /* enum cs_alert_phase */
    bool notified;             /* this firing episode was notified */
    bool ever_notified;        /* last_notified_ns is meaningful */
    int64_t pending_since_ns;
    int64_t last_notified_ns;
};

enum cs_alert_action {
    CS_ACTION_NONE,
    CS_ACTION_FIRE,        /* send a firing notification */
    CS_ACTION_SUPPRESS,    /* would fire, but inside the cooldown */
    CS_ACTION_RESOLVE      /* a notified episode ended */
};

/* Advance the state machine with the condition observed at now_ns. */
enum cs_alert_action cs_alert_step(struct cs_alert_state *st,
                                   const struct cs_alert_params *params,
                                   enum cs_cond cond, int64_t now_ns);

static inline bool cs_alert_is_firing(const struct cs_alert_state *st)
{
    return st->phase == CS_PHASE_FIRING;
}

enum cs_alert_status { CS_ALERT_FIRING, CS_ALERT_RESOLVED };

#define CS_ALERT_NAME_MAX 64
#define CS_ALERT_SYMBOL_MAX 48
#define CS_ALERT_DECIMAL_MAX 48
#define CS_ALERT_MESSAGE_MAX 256

/* A fixed-size record so the hand-off queue never allocates. Strings are
 * NUL-terminated and truncated to fit. */
struct cs_alert {
    uint64_t id;                        /* process-unique, increasing */
    enum cs_alert_status status;
    char rule[CS_ALERT_NAME_MAX];
    char severity[16];
    char exchange[16];
    char symbol[CS_ALERT_SYMBOL_MAX];      /* BASE/QUOTE */
    char raw_symbol[CS_ALERT_SYMBOL_MAX];
    int64_t ts_ns;                      /* data time of the deciding tick */
    int64_t window_s;                   /* 0 when the rule names none */
    bool has_change;
    double change;                      /* fraction: 0.021 = +2.1 % */
    char price[CS_ALERT_DECIMAL_MAX];      /* exact decimal text */
    char reference[CS_ALERT_DECIMAL_MAX];  /* empty when unknown */
    char message[CS_ALERT_MESSAGE_MAX];    /* from a Lua rule, may be empty */
    bool test;                  /* from `cryptosup test-alert`: every route
                                   takes it, whatever its filters */
};

/* Bounded single-producer (loop thread) single-consumer (notifier thread)
 * queue. Push never blocks: when full, the alert is dropped and counted. */
struct cs_alert_queue;

struct cs_alert_queue *cs_alert_queue_new(size_t capacity);
void cs_alert_queue_free(struct cs_alert_queue *q);   /* NULL is fine */
/* Loop thread. False (and counted) when full. */
bool cs_alert_queue_push(struct cs_alert_queue *q, const struct cs_alert *a);
/* Consumer thread. Waits up to timeout_ms for an alert; false on timeout
 * or once the queue is closed and drained. */
bool cs_alert_queue_pop(struct cs_alert_queue *q, struct cs_alert *out,
                        int timeout_ms);
/* Wake the consumer and make pop return false once drained. */
void cs_alert_queue_close(struct cs_alert_queue *q);
size_t cs_alert_queue_depth(const struct cs_alert_queue *q);
uint64_t cs_alert_queue_dropped(const struct cs_alert_queue *q);

struct cs_metrics_writer;

/* A notifier delivers alerts somewhere (email, webhook, Alertmanager). It
 * runs on the notifier thread only, so it may block; it must not touch
 * loop-thread state. */
struct cs_notifier {
    const char *name;
    enum cs_err (*deliver)(void *ctx, const struct cs_alert *alert);
    void *ctx;
    /* Optional. Called on the notifier thread about once a second (when
     * the queue is idle or after a delivery) and once more with final set
     * before the thread exits. A notifier that buffers (grouping, retries)
     * sends what is due here and adds to *sent and *failed how many of the
     * alerts it accepted were finally delivered or given up on. */
    void (*flush)(void *ctx, int64_t now_mono_ns, bool final,
                  uint64_t *sent, uint64_t *failed);
    /* When set, deliver returning CS_OK means "accepted": the alert is
     * counted once flush reports it sent or failed. */
    bool deferred;
    /* Optional: write the notifier's own metric families. Called from the
     * metrics reader's thread, so it may read only atomics or data that
     * never changes after start. */
    void (*collect)(void *ctx, struct cs_metrics_writer *w);
};

/* The notifier thread drains the queue into every registered notifier. */
struct cs_notify_thread;
struct cs_notify_thread *cs_notify_thread_start(struct cs_alert_queue *q,
                                                const struct cs_notifier *n,
                                                size_t count);
/* Close the queue, deliver what is queued, join; the counters stay
 * readable until cs_notify_thread_free. NULL is fine. */
void cs_notify_thread_stop(struct cs_notify_thread *t);
void cs_notify_thread_free(struct cs_notify_thread *t);   /* stops first */
uint64_t cs_notify_thread_delivered(const struct cs_notify_thread *t);
/* Each notifier's own metric families (its collect hook). */
void cs_notify_thread_collect(const struct cs_notify_thread *t,
                              struct cs_metrics_writer *w);
uint64_t cs_notify_thread_failed(const struct cs_notify_thread *t);

/* Register delivery metrics (queue depth, sent, failed) for a queue and
 * its notifier thread. Returns the collector's handle: unregister it with
 * cs_metrics_unregister(m, handle) and free() it. */
struct cs_metrics;
void *cs_alerts_register_metrics(const struct cs_alert_queue *q,
                                 const struct cs_notify_thread *t,
                                 struct cs_metrics *m);

#endif
