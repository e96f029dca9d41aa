/* The hand-off from the loop thread to the notifier thread: a bounded
 * single-producer single-consumer ring. The producer never locks or waits;
 * a POSIX semaphore (sem_post takes no lock) wakes the consumer. */
#include "cryptosup/alert.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "cryptosup/log.h"

struct cs_alert_queue {
    struct cs_alert *slots;
    size_t capacity;
    _Atomic size_t head;        /* next slot to pop (consumer) */
    _Atomic size_t tail;        /* next slot to push (producer) */
    _Atomic uint64_t dropped;
    atomic_bool closed;
    sem_t ready;                /* one post per pushed alert, plus close */
};

struct cs_alert_queue *cs_alert_queue_new(size_t capacity)
{
    struct cs_alert_queue *q = cs_xcalloc(1, sizeof *q);
    cs_require(capacity > 0);
    q->slots = cs_xcalloc(capacity, sizeof *q->slots);
    q->capacity = capacity;
    cs_require(sem_init(&q->ready, 0, 0) == 0);
    return q;
}

void cs_alert_queue_free(struct cs_alert_queue *q)
{
    if (q == NULL) {
        return;
    }
    sem_destroy(&q->ready);
    free(q->slots);
    free(q);
}

bool cs_alert_queue_push(struct cs_alert_queue *q, const struct cs_alert *a)
{
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&q->head, memory_order_acquire);

    if (tail - head >= q->capacity) {
        atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
        return false;
    }
    q->slots[tail % q->capacity] = *a;
    atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
    sem_post(&q->ready);
    return true;
}

static bool wait_ready(struct cs_alert_queue *q, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (sem_timedwait(&q->ready, &deadline) != 0) {
        if (errno != EINTR) {
            return false;
        }
    }
    return true;
}

bool cs_alert_queue_pop(struct cs_alert_queue *q, struct cs_alert *out,
                        int timeout_ms)
{
    for (;;) {
        size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
        size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (head != tail) {
            *out = q->slots[head % q->capacity];
            atomic_store_explicit(&q->head, head + 1, memory_order_release);
            return true;
        }
        if (atomic_load(&q->closed)) {
            return false;
        }
        if (!wait_ready(q, timeout_ms)) {
            return false;
        }
    }
}

void cs_alert_queue_close(struct cs_alert_queue *q)
{
    atomic_store(&q->closed, true);
    sem_post(&q->ready);
}

size_t cs_alert_queue_depth(const struct cs_alert_queue *q)
{
    struct cs_alert_queue *mq = (struct cs_alert_queue *)q;
    return atomic_load(&mq->tail) - atomic_load(&mq->head);
}

uint64_t cs_alert_queue_dropped(const struct cs_alert_queue *q)
{
    struct cs_alert_queue *mq = (struct cs_alert_queue *)q;
    return atomic_load(&mq->dropped);
}

struct cs_notify_thread {
    pthread_t thread;
    struct cs_alert_queue *queue;
    struct cs_notifier *notifiers;
    size_t count;
    _Atomic uint64_t delivered;
    _Atomic uint64_t failed;
    bool joined;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Give buffering notifiers their tick (at most every ~second). */
static void flush_all(struct cs_notify_thread *t, bool final)
{
    for (size_t i = 0; i < t->count; i++) {
        const struct cs_notifier *n = &t->notifiers[i];
        uint64_t sent = 0, failed = 0;
        if (n->flush == NULL) {
            continue;
        }
        n->flush(n->ctx, mono_ns(), final, &sent, &failed);
        atomic_fetch_add(&t->delivered, sent);
        atomic_fetch_add(&t->failed, failed);
    }
}

static void *notify_main(void *arg)
{
    struct cs_notify_thread *t = arg;
    struct cs_alert alert;
    int64_t last_flush = mono_ns();

    for (;;) {
        if (mono_ns() - last_flush >= 1000000000) {
            flush_all(t, false);
            last_flush = mono_ns();
        }
        if (!cs_alert_queue_pop(t->queue, &alert, 1000)) {
            if (atomic_load(&t->queue->closed) &&
                cs_alert_queue_depth(t->queue) == 0) {
                break;
            }
            flush_all(t, false);
            last_flush = mono_ns();
            continue;
        }
        for (size_t i = 0; i < t->count; i++) {
            const struct cs_notifier *n = &t->notifiers[i];
            enum cs_err err = n->deliver(n->ctx, &alert);
            if (err == CS_OK) {
                if (!n->deferred) {
                    atomic_fetch_add(&t->delivered, 1);
                }
            } else {
                atomic_fetch_add(&t->failed, 1);
                cs_log_warn("alerts.notify", "%s: delivery of alert %llu "
                            "(%s) failed", n->name,
                            (unsigned long long)alert.id, alert.rule);
            }
        }
    }
    flush_all(t, true);
    return NULL;
}

struct cs_notify_thread *cs_notify_thread_start(struct cs_alert_queue *q,
                                                const struct cs_notifier *n,
                                                size_t count)
{
    struct cs_notify_thread *t = cs_xcalloc(1, sizeof *t);
    t->queue = q;
    t->count = count;
    t->notifiers = cs_xcalloc(count ? count : 1, sizeof *t->notifiers);
    for (size_t i = 0; i < count; i++) {
        t->notifiers[i] = n[i];
    }
    if (pthread_create(&t->thread, NULL, notify_main, t) != 0) {
        cs_log_error("alerts.notify", "cannot start the notifier thread");
        free(t->notifiers);
        free(t);
        return NULL;
    }
    return t;
}

void cs_notify_thread_stop(struct cs_notify_thread *t)
{
    if (t == NULL || t->joined) {
        return;
    }
    cs_alert_queue_close(t->queue);
    pthread_join(t->thread, NULL);
    t->joined = true;
}

void cs_notify_thread_free(struct cs_notify_thread *t)
{
    if (t == NULL) {
        return;
    }
    cs_notify_thread_stop(t);
    free(t->notifiers);
    free(t);
}

void cs_notify_thread_collect(const struct cs_notify_thread *t,
                              struct cs_metrics_writer *w)
{
    for (size_t i = 0; i < t->count; i++) {
        if (t->notifiers[i].collect) {
            t->notifiers[i].collect(t->notifiers[i].ctx, w);
        }
    }
}

uint64_t cs_notify_thread_delivered(const struct cs_notify_thread *t)
{
    return atomic_load(&((struct cs_notify_thread *)t)->delivered);
}

uint64_t cs_notify_thread_failed(const struct cs_notify_thread *t)
{
    return atomic_load(&((struct cs_notify_thread *)t)->failed);
}
