/* The route under a scripted transport: grouping, the hourly cap and its
 * digest, retries with backoff and Retry-After, giving up, the final
 * drain, filters and a reconfigure that keeps state. The transport is a
 * recorder because the route's decisions are what is tested here; the
 * real transports are tested against real servers (test_email,
 * test_webhooks, test_alertmanager). */
#include <stdlib.h>
#include <string.h>

#include "alerts/route.h"
#include "cryptosup/timeutil.h"
#include "testlib.h"

#define S CS_NS_PER_S

struct recorder {
    int renders, digests, sends;
    size_t last_n, last_total;
    size_t alerts_rendered;
    enum cs_route_send script[16];   /* result of send i (default SENT) */
    int64_t retry_after_ms;
    int64_t last_timeout_ms;
};

static char *rec_render(void *ctx, enum cs_route_kind kind,
                        const struct cs_alert *a, size_t n, size_t total,
                        const char *id, size_t *len)
{
    struct recorder *r = ctx;
    char *out = malloc(64);
    (void)a;
    r->renders++;
    r->digests += kind == CS_ROUTE_DIGEST;
    r->last_n = n;
    r->last_total = total;
    r->alerts_rendered += total;
    CHECK(id != NULL && id[0] != '\0');
    *len = (size_t)snprintf(out, 64, "%zu", n);
    return out;
}

static enum cs_route_send rec_send(void *ctx, const char *payload,
                                   size_t len, const char *id,
                                   int64_t timeout_ms,
                                   int64_t *retry_after_ms)
{
    struct recorder *r = ctx;
    enum cs_route_send res = r->sends < 16 ? r->script[r->sends]
                                           : CS_ROUTE_SENT;
    (void)payload;
    (void)len;
    (void)id;
    CHECK(timeout_ms >= 100 && timeout_ms <= 1000);
    r->last_timeout_ms = timeout_ms;
    r->sends++;
    if (res == CS_ROUTE_RETRY) {
        *retry_after_ms = r->retry_after_ms;
    }
    return res;
}

static const struct cs_route_ops rec_ops = { rec_render, rec_send };

static void policy_init(struct cs_config_route *p)
{
    memset(p, 0, sizeof *p);
    p->group_window_s = 10;
    p->max_per_hour = 5;
    p->retry_initial_ms = 100;
    p->retry_max_ms = 400;
    p->retry_attempts = 4;
    p->timeout_ms = 1000;
    p->drain_timeout_ms = 0;
}

static void alert(struct cs_alert *a, const char *rule, const char *sev,
                  enum cs_alert_status st)
{
    memset(a, 0, sizeof *a);
    strcpy(a->rule, rule);
    strcpy(a->severity, sev);
    strcpy(a->exchange, "binance");
    strcpy(a->symbol, "BTC/USDT");
    a->status = st;
}

/* A burst of 1,000 alerts: grouped into one message, nothing dropped. */
static void test_burst_grouped(void)
{
    struct cs_config_route p;
    struct recorder rec = { 0 };
    struct cs_route *r;
    struct cs_alert a;
    uint64_t sent = 0, failed = 0;
    int64_t t0;

    policy_init(&p);
    r = cs_route_new("test", "test.route", &rec_ops, &rec, &p);
    alert(&a, "move", "warning", CS_ALERT_FIRING);
    for (int i = 0; i < 1000; i++) {
        cs_route_accept(r, &a);
    }
    /* A full group (1,000) goes at once, without waiting the window. */
    t0 = cs_time_mono_ns();
    cs_route_flush(r, t0, false, &sent, &failed);
    CHECK_INT(rec.renders, 1);
    CHECK_INT(rec.last_n, 1000);
    CHECK_INT(sent, 1000);
    /* Then 999 more in small pieces within one window: one message. */
    for (int i = 0; i < 999; i++) {
        cs_route_accept(r, &a);
        if (i % 100 == 0) {
            cs_route_flush(r, t0 + 1 * S, false, &sent, &failed);
        }
    }
    CHECK_INT(rec.renders, 1);
    cs_route_flush(r, cs_time_mono_ns() + 11 * S, false, &sent, &failed);
    CHECK_INT(rec.renders, 2);
    CHECK_INT(rec.last_n, 999);
    CHECK_INT(sent, 1999);
    CHECK_INT(failed, 0);
    cs_route_free(r);
}

/* Past max_per_hour alerts are held; the digest carries them all. */
static void test_cap_digest(void)
{
    struct cs_config_route p;
    struct recorder rec = { 0 };
    struct cs_route *r;
    struct cs_alert a;
    uint64_t sent = 0, failed = 0;
    int64_t t0;

    policy_init(&p);
    p.group_window_s = 0;    /* one message per alert */
    p.max_per_hour = 3;
    r = cs_route_new("test", "test.route", &rec_ops, &rec, &p);
    alert(&a, "move", "warning", CS_ALERT_FIRING);
    for (int i = 0; i < 1000; i++) {
        cs_route_accept(r, &a);
    }
    t0 = cs_time_mono_ns();
    cs_route_flush(r, t0, false, &sent, &failed);
    CHECK_INT(rec.renders, 3);
    CHECK_INT(sent, 3);
    /* The hour rolls over: one digest for the 997 held (500 listed). */
    cs_route_flush(r, t0 + 3601 * S, false, &sent, &failed);
    CHECK_INT(rec.renders, 4);
    CHECK_INT(rec.digests, 1);
    CHECK_INT(rec.last_total, 997);
    CHECK_INT(rec.last_n, 500);
    CHECK_INT(sent, 1000);
    /* The digest does not count against the new hour. */
    cs_route_accept(r, &a);
    cs_route_flush(r, t0 + 3602 * S, false, &sent, &failed);
    CHECK_INT(rec.renders, 5);
    CHECK_INT(rec.digests, 1);
    CHECK_INT(sent, 1001);
    cs_route_free(r);
}

/* Held alerts at shutdown go out as a last digest. */
static void test_final_digest(void)
{
    struct cs_config_route p;
    struct recorder rec = { 0 };
    struct cs_route *r;
    struct cs_alert a;
    uint64_t sent = 0, failed = 0;

    policy_init(&p);
    p.group_window_s = 0;
    p.max_per_hour = 1;
    p.drain_timeout_ms = 300;   /* below timeout_ms (1000) */
    r = cs_route_new("test", "test.route", &rec_ops, &rec, &p);
    alert(&a, "move", "warning", CS_ALERT_FIRING);
    cs_route_accept(r, &a);
    cs_route_accept(r, &a);
    cs_route_accept(r, &a);
    cs_route_flush(r, cs_time_mono_ns(), true, &sent, &failed);
    CHECK_INT(rec.renders, 2);
    CHECK_INT(rec.digests, 1);
    CHECK_INT(sent, 3);
    CHECK_INT(failed, 0);
    /* Attempts while draining are cut to the drain time. */
    CHECK(rec.last_timeout_ms <= 300);
    cs_route_free(r);
}

/* Retries back off (doubling, capped), honour Retry-After, give up after
 * retry_attempts; GIVE_UP stops at once. */
static void test_retries(void)
{
    struct cs_config_route p;
    struct recorder rec = { 0 };
    struct cs_route *r;
    struct cs_alert a;
    uint64_t sent = 0, failed = 0;
    int64_t t;

    policy_init(&p);
    p.group_window_s = 0;
    r = cs_route_new("test", "test.route", &rec_ops, &rec, &p);
    for (int i = 0; i < 4; i++) {
        rec.script[i] = CS_ROUTE_RETRY;
    }
    alert(&a, "move", "warning", CS_ALERT_FIRING);
    cs_route_accept(r, &a);
    t = cs_time_mono_ns();
    cs_route_flush(r, t, false, &sent, &failed);
    CHECK_INT(rec.sends, 1);
    /* Not due before the backoff (100 ms). */
    cs_route_flush(r, cs_time_mono_ns() + 50 * CS_NS_PER_MS, false, &sent,
                   &failed);
    CHECK_INT(rec.sends, 1);
    cs_route_flush(r, cs_time_mono_ns() + 150 * CS_NS_PER_MS, false, &sent,
                   &failed);
    CHECK_INT(rec.sends, 2);
    /* The server asks for 10 s: honoured over the 200 ms backoff. */
    rec.retry_after_ms = 10000;
    cs_route_flush(r, cs_time_mono_ns() + 300 * CS_NS_PER_MS, false, &sent,
                   &failed);
    CHECK_INT(rec.sends, 3);
    cs_route_flush(r, cs_time_mono_ns() + 5 * S, false, &sent, &failed);
    CHECK_INT(rec.sends, 3);
    cs_route_flush(r, cs_time_mono_ns() + 11 * S, false, &sent, &failed);
    CHECK_INT(rec.sends, 4);   /* the 4th attempt fails: given up */
    CHECK_INT(failed, 1);
    CHECK_INT(sent, 0);
    CHECK_INT(cs_route_pending(r), 0);
    /* A permanent error is not retried. */
    rec.script[4] = CS_ROUTE_GIVE_UP;
    cs_route_accept(r, &a);
    cs_route_flush(r, cs_time_mono_ns(), false, &sent, &failed);
    CHECK_INT(rec.sends, 5);
    CHECK_INT(failed, 2);
    CHECK_INT(cs_route_pending(r), 0);
    cs_route_free(r);
}

/* Filters, and a reconfigure that keeps the open group. */
static void test_filters_reconfigure(void)
{
    struct cs_config_route p, q;
    struct recorder rec = { 0 };
    struct cs_route *r;
    struct cs_alert a;
    char *rules[] = { "wanted", NULL };
    char *sev[] = { "critical", NULL };
    uint64_t sent = 0, failed = 0;

    policy_init(&p);
    p.rules = rules;
    p.nrules = 1;
    p.severities = sev;
    p.nseverities = 1;
    r = cs_route_new("test", "test.route", &rec_ops, &rec, &p);
    alert(&a, "other", "critical", CS_ALERT_FIRING);
    CHECK(!cs_route_wants(&p, &a));
    cs_route_accept(r, &a);
    alert(&a, "wanted", "warning", CS_ALERT_FIRING);
    CHECK(!cs_route_wants(&p, &a));
    alert(&a, "wanted", "critical", CS_ALERT_RESOLVED);
    CHECK(!cs_route_wants(&p, &a));          /* send_resolved is off */
    p.send_resolved = true;
    CHECK(cs_route_wants(&p, &a));
    alert(&a, "wanted", "critical", CS_ALERT_FIRING);
    cs_route_accept(r, &a);
    /* New settings: no filter, no grouping window; the open group is
     * kept and goes out with the next alert. */
    policy_init(&q);
    q.group_window_s = 0;
    cs_route_reconfigure(r, &q);
    alert(&a, "other", "info", CS_ALERT_FIRING);
    cs_route_accept(r, &a);
    CHECK_INT(rec.renders, 1);
    CHECK_INT(rec.last_n, 2);
    cs_route_flush(r, cs_time_mono_ns(), true, &sent, &failed);
    CHECK_INT(sent, 2);
    cs_route_free(r);
}

int main(void)
{
    test_burst_grouped();
    test_cap_digest();
    test_final_digest();
    test_retries();
    test_filters_reconfigure();
    return cs_test_finish("test_route");
}
