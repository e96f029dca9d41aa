/* The alert state machine: edge, for, cooldown, every-time, unknown, and
 * the hand-off queue between threads. */
#include <pthread.h>
#include <sched.h>

#include "cryptosup/alert.h"
#include "testlib.h"

#define S(x) ((int64_t)(x) * 1000000000LL)

static enum cs_alert_action step(struct cs_alert_state *st,
                                 const struct cs_alert_params *p,
                                 enum cs_cond c, int64_t t)
{
    return cs_alert_step(st, p, c, t);
}

static void test_edge(void)
{
    struct cs_alert_state st = { 0 };
    struct cs_alert_params p = { CS_ALERT_EDGE, 0, 0 };

    CHECK_INT(step(&st, &p, CS_COND_FALSE, S(1)), CS_ACTION_NONE);
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(2)), CS_ACTION_FIRE);
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(3)), CS_ACTION_NONE);
    CHECK_INT(step(&st, &p, CS_COND_UNKNOWN, S(4)), CS_ACTION_NONE);
    CHECK(cs_alert_is_firing(&st));
    CHECK_INT(step(&st, &p, CS_COND_FALSE, S(5)), CS_ACTION_RESOLVE);
    CHECK_INT(step(&st, &p, CS_COND_FALSE, S(6)), CS_ACTION_NONE);
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(7)), CS_ACTION_FIRE);
}

static void test_for_duration(void)
{
    struct cs_alert_state st = { 0 };
    struct cs_alert_params p = { CS_ALERT_EDGE, S(60), 0 };

    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(0)), CS_ACTION_NONE);
    CHECK_INT(st.phase, CS_PHASE_PENDING);
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(59)), CS_ACTION_NONE);
    /* unknown does not reset the pending clock */
    CHECK_INT(step(&st, &p, CS_COND_UNKNOWN, S(59)), CS_ACTION_NONE);
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(60)), CS_ACTION_FIRE);
    CHECK_INT(step(&st, &p, CS_COND_FALSE, S(61)), CS_ACTION_RESOLVE);
    /* a blip shorter than `for` never fires and resolves nothing */
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(100)), CS_ACTION_NONE);
    CHECK_INT(step(&st, &p, CS_COND_FALSE, S(130)), CS_ACTION_NONE);
    CHECK_INT(st.phase, CS_PHASE_IDLE);
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(140)), CS_ACTION_NONE);
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(199)), CS_ACTION_NONE);
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(200)), CS_ACTION_FIRE);
}

static void test_cooldown(void)
{
    struct cs_alert_state st = { 0 };
    struct cs_alert_params p = { CS_ALERT_EDGE, 0, S(600) };

    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(0)), CS_ACTION_FIRE);
    CHECK_INT(step(&st, &p, CS_COND_FALSE, S(10)), CS_ACTION_RESOLVE);
    /* re-fires inside the cooldown: suppressed, no resolve for it */
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(20)), CS_ACTION_SUPPRESS);
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(300)), CS_ACTION_NONE);
    /* still holding when the cooldown ends: notified then */
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(600)), CS_ACTION_FIRE);
    CHECK_INT(step(&st, &p, CS_COND_FALSE, S(700)), CS_ACTION_RESOLVE);
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(800)), CS_ACTION_SUPPRESS);
    CHECK_INT(step(&st, &p, CS_COND_FALSE, S(900)), CS_ACTION_NONE);
}

static void test_every(void)
{
    struct cs_alert_state st = { 0 };
    struct cs_alert_params p = { CS_ALERT_EVERY, 0, 0 };
    struct cs_alert_params pc = { CS_ALERT_EVERY, 0, S(10) };

    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(1)), CS_ACTION_FIRE);
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(1)), CS_ACTION_FIRE);
    CHECK_INT(step(&st, &p, CS_COND_TRUE, S(2)), CS_ACTION_FIRE);
    CHECK_INT(step(&st, &p, CS_COND_FALSE, S(3)), CS_ACTION_RESOLVE);
    memset(&st, 0, sizeof st);
    CHECK_INT(step(&st, &pc, CS_COND_TRUE, S(0)), CS_ACTION_FIRE);
    CHECK_INT(step(&st, &pc, CS_COND_TRUE, S(5)), CS_ACTION_SUPPRESS);
    CHECK_INT(step(&st, &pc, CS_COND_TRUE, S(10)), CS_ACTION_FIRE);
}

struct consumer {
    struct cs_alert_queue *q;
    uint64_t received;
    uint64_t last_id;
    bool in_order;
};

static void *consume(void *arg)
{
    struct consumer *c = arg;
    struct cs_alert a;
    c->in_order = true;
    while (cs_alert_queue_pop(c->q, &a, 1000)) {
        if (a.id != c->last_id + 1) {
            c->in_order = false;
        }
        c->last_id = a.id;
        c->received++;
    }
    return NULL;
}

static void test_queue(void)
{
    struct cs_alert_queue *q = cs_alert_queue_new(8);
    struct cs_alert a;
    struct consumer c = { q, 0, 0, false };
    pthread_t thread;
    uint64_t pushed = 0;

    memset(&a, 0, sizeof a);
    /* full queue drops and counts, never blocks */
    for (int i = 0; i < 10; i++) {
        a.id = (uint64_t)i + 1;
        cs_alert_queue_push(q, &a);
    }
    CHECK_INT(cs_alert_queue_depth(q), 8);
    CHECK_INT(cs_alert_queue_dropped(q), 2);
    while (cs_alert_queue_pop(q, &a, 0)) {
    }
    CHECK_INT(cs_alert_queue_depth(q), 0);

    pthread_create(&thread, NULL, consume, &c);
    for (uint64_t id = 1; id <= 20000; id++) {
        a.id = pushed + 1;
        if (cs_alert_queue_push(q, &a)) {
            pushed++;
        } else {
            sched_yield();
        }
    }
    cs_alert_queue_close(q);
    pthread_join(thread, NULL);
    CHECK_INT(c.received, pushed);
    CHECK(c.in_order);
    cs_alert_queue_free(q);
}

static int delivered_count;
static enum cs_err count_delivery(void *ctx, const struct cs_alert *a)
{
    (void)ctx;
    delivered_count++;
    return a->id % 2 ? CS_OK : CS_ERR_IO;
}

static void test_notify_thread(void)
{
    struct cs_alert_queue *q = cs_alert_queue_new(64);
    struct cs_notifier n = { "test", count_delivery, NULL, NULL, false, NULL };
    struct cs_notify_thread *t = cs_notify_thread_start(q, &n, 1);
    struct cs_alert a;
    memset(&a, 0, sizeof a);
    for (int i = 1; i <= 10; i++) {
        a.id = (uint64_t)i;
        CHECK(cs_alert_queue_push(q, &a));
    }
    cs_notify_thread_free(t);   /* delivers what is queued first */
    CHECK_INT(delivered_count, 10);
    cs_alert_queue_free(q);
}

int main(void)
{
    test_edge();
    test_for_duration();
    test_cooldown();
    test_every();
    test_queue();
    test_notify_thread();
    return cs_test_finish("test_alert_state");
}
