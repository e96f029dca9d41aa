/* Grouping, the hourly cap with its digest, and retries for one route.
 * Times are monotonic; the transport's send blocks (notifier thread). */
#include "alerts/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptosup/log.h"
#include "cryptosup/timeutil.h"

#define GROUP_MAX 1000      /* a group this large is sent at once */
#define HELD_KEEP 500       /* held alerts listed in a digest (the count
                               stays exact) */

struct outgoing {
    struct outgoing *next;
    char id[64];
    char *data;
    size_t len;
    size_t nalerts;         /* alerts it carries (counted on outcome) */
    int attempts;
    int64_t next_ns;        /* monotonic: next attempt */
};

struct cs_route {
    char *name;
    const char *logger;
    const struct cs_route_ops *ops;
    void *ctx;
    const struct cs_config_route *policy;
    uint64_t seq;
    /* The open group. */
    struct cs_alert *group;
    size_t ngroup;
    int64_t group_start_ns;
    /* The hourly cap. */
    int64_t hour_start_ns;
    int64_t sent_this_hour;
    struct cs_alert *held;  /* the first HELD_KEEP held alerts */
    size_t nheld_kept;
    size_t nheld;           /* all held this hour */
    /* Messages waiting to be sent, oldest first. */
    struct outgoing *out_head, *out_tail;
    size_t nout;
    int64_t now_ns;
    int64_t drain_deadline_ns;   /* shutdown: attempts end by then; 0: none */
};

static bool in_list(char *const *list, size_t n, const char *v)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], v) == 0) {
            return true;
        }
    }
    return false;
}

bool cs_alert_selected(char *const *rules, size_t nrules,
                       char *const *severities, size_t nseverities,
                       const struct cs_alert *a)
{
    if (a->test) {
        return true;
    }
    return (rules == NULL || in_list(rules, nrules, a->rule)) &&
           (severities == NULL || in_list(severities, nseverities,
                                          a->severity));
}

bool cs_route_wants(const struct cs_config_route *p, const struct cs_alert *a)
{
    if (a->status == CS_ALERT_RESOLVED && !p->send_resolved && !a->test) {
        return false;
    }
    return cs_alert_selected(p->rules, p->nrules, p->severities,
                             p->nseverities, a);
}

struct cs_route *cs_route_new(const char *name, const char *logger,
                              const struct cs_route_ops *ops, void *ctx,
                              const struct cs_config_route *policy)
{
    struct cs_route *r = cs_xcalloc(1, sizeof *r);
    r->name = cs_xstrdup(name);
    r->logger = logger;
    r->ops = ops;
    r->ctx = ctx;
    r->policy = policy;
    r->group = cs_xcalloc(GROUP_MAX, sizeof *r->group);
    r->held = cs_xcalloc(HELD_KEEP, sizeof *r->held);
    r->hour_start_ns = cs_time_mono_ns();
    r->now_ns = r->hour_start_ns;
    return r;
}

void cs_route_reconfigure(struct cs_route *r,
                          const struct cs_config_route *policy)
{
    r->policy = policy;
}

const char *cs_route_name(const struct cs_route *r)
{
    return r->name;
}

size_t cs_route_pending(const struct cs_route *r)
{
    return r->nout;
}

static void drop_outgoing(struct cs_route *r)
{
    while (r->out_head) {
        struct outgoing *o = r->out_head;
        r->out_head = o->next;
        free(o->data);
        free(o);
    }
    r->out_tail = NULL;
    r->nout = 0;
}

void cs_route_free(struct cs_route *r)
{
    if (r == NULL) {
        return;
    }
    drop_outgoing(r);
    free(r->held);
    free(r->group);
    free(r->name);
    free(r);
}

static void enqueue(struct cs_route *r, enum cs_route_kind kind,
                    const struct cs_alert *alerts, size_t n, size_t total)
{
    struct outgoing *o = cs_xcalloc(1, sizeof *o);

    snprintf(o->id, sizeof o->id, "%lld.%ld.%llu",
             (long long)(cs_time_now_ns() / 1000), (long)getpid(),
             (unsigned long long)++r->seq);
    o->data = r->ops->render(r->ctx, kind, alerts, n, total, o->id, &o->len);
    o->nalerts = total;
    o->next_ns = r->now_ns;
    if (r->out_tail) {
        r->out_tail->next = o;
    } else {
        r->out_head = o;
    }
    r->out_tail = o;
    r->nout++;
    r->sent_this_hour++;
}

/* Turn the open group into a message, or hold it past the cap. */
static void close_group(struct cs_route *r)
{
    if (r->ngroup == 0) {
        return;
    }
    if (r->sent_this_hour >= r->policy->max_per_hour) {
        for (size_t i = 0; i < r->ngroup; i++) {
            if (r->nheld_kept < HELD_KEEP) {
                r->held[r->nheld_kept++] = r->group[i];
            }
            r->nheld++;
        }
        cs_log_warn(r->logger, "%s: max_per_hour (%lld) reached: %zu "
                    "alert(s) held for the hourly digest", r->name,
                    (long long)r->policy->max_per_hour, r->ngroup);
        r->ngroup = 0;
        return;
    }
    enqueue(r, CS_ROUTE_GROUP, r->group, r->ngroup, r->ngroup);
    r->ngroup = 0;
}

/* A new hour: the count restarts and the held alerts go out as one
 * digest (which does not count against the new hour's cap). */
static void roll_hour(struct cs_route *r, bool force)
{
    if (!force && r->now_ns - r->hour_start_ns < 3600 * CS_NS_PER_S) {
        return;
    }
    r->hour_start_ns = r->now_ns;
    r->sent_this_hour = 0;
    if (r->nheld == 0) {
        return;
    }
    enqueue(r, CS_ROUTE_DIGEST, r->held, r->nheld_kept, r->nheld);
    r->sent_this_hour = 0;
    r->nheld = r->nheld_kept = 0;
}

void cs_route_accept(struct cs_route *r, const struct cs_alert *a)
{
    if (!cs_route_wants(r->policy, a)) {
        return;
    }
    r->now_ns = cs_time_mono_ns();
    roll_hour(r, false);
    if (r->ngroup == 0) {
        r->group_start_ns = r->now_ns;
    }
    r->group[r->ngroup++] = *a;
    if (r->ngroup >= GROUP_MAX || r->policy->group_window_s == 0) {
        close_group(r);
    }
}

static int64_t backoff_ms(const struct cs_config_route *p, int attempts)
{
    int64_t ms = p->retry_initial_ms;
    for (int i = 1; i < attempts && ms < p->retry_max_ms; i++) {
        ms *= 2;
    }
    return ms < p->retry_max_ms ? ms : p->retry_max_ms;
}

/* Attempt every due message, oldest first. */
static void send_due(struct cs_route *r, uint64_t *sent, uint64_t *failed)
{
    struct outgoing **pp = &r->out_head, *prev = NULL;

    while (*pp) {
        struct outgoing *o = *pp;
        bool done = false;
        int64_t timeout_ms = r->policy->timeout_ms;
        if (r->drain_deadline_ns) {
            /* Draining: what is left of the drain time, but every message
             * gets one short try even when none is left. */
            int64_t left = (r->drain_deadline_ns - r->now_ns) / CS_NS_PER_MS;
            left = left > 100 ? left : 100;
            timeout_ms = left < timeout_ms ? left : timeout_ms;
        }
        if (o->next_ns <= r->now_ns) {
            int64_t retry_after = 0;
            enum cs_route_send res;
            o->attempts++;
            res = r->ops->send(r->ctx, o->data, o->len, o->id, timeout_ms,
                               &retry_after);
            r->now_ns = cs_time_mono_ns();
            if (res == CS_ROUTE_SENT) {
                cs_log_info(r->logger, "%s: sent message %s (%zu alert(s), "
                            "attempt %d)", r->name, o->id, o->nalerts,
                            o->attempts);
                *sent += o->nalerts;
                done = true;
            } else if (res == CS_ROUTE_GIVE_UP ||
                       o->attempts >= r->policy->retry_attempts) {
                cs_log_error(r->logger, "%s: giving up on message %s (%zu "
                             "alert(s)) after %d attempt(s)", r->name, o->id,
                             o->nalerts, o->attempts);
                *failed += o->nalerts;
                done = true;
            } else {
                int64_t ms = backoff_ms(r->policy, o->attempts);
                if (retry_after > ms) {
                    ms = retry_after < 3600000 ? retry_after : 3600000;
                }
                cs_log_warn(r->logger, "%s: message %s: attempt %d failed, "
                            "retrying in %lld ms", r->name, o->id,
                            o->attempts, (long long)ms);
                o->next_ns = r->now_ns + ms * CS_NS_PER_MS;
            }
        }
        if (done) {
            *pp = o->next;
            if (r->out_tail == o) {
                r->out_tail = prev;
            }
            free(o->data);
            free(o);
            r->nout--;
        } else {
            prev = o;
            pp = &o->next;
        }
    }
}

void cs_route_flush(struct cs_route *r, int64_t now_mono_ns, bool final,
                    uint64_t *sent, uint64_t *failed)
{
    int64_t deadline;

    r->now_ns = now_mono_ns;
    roll_hour(r, false);
    if (r->ngroup > 0 &&
        (final || r->now_ns - r->group_start_ns >=
                      r->policy->group_window_s * CS_NS_PER_S)) {
        close_group(r);
    }
    if (final && r->nheld > 0) {
        /* Held alerts would otherwise be lost: one last digest. */
        roll_hour(r, true);
    }
    if (!final) {
        send_due(r, sent, failed);
        return;
    }
    /* Shutdown: keep retrying, bounded by drain_timeout_ms, each attempt
     * cut to what is left of it, so a dead server cannot hold the exit. */
    deadline = cs_time_mono_ns() + r->policy->drain_timeout_ms * CS_NS_PER_MS;
    r->drain_deadline_ns = deadline;
    send_due(r, sent, failed);
    while (r->out_head) {
        int64_t next = INT64_MAX, now = cs_time_mono_ns();
        for (struct outgoing *o = r->out_head; o; o = o->next) {
            if (o->next_ns < next) {
                next = o->next_ns;
            }
        }
        if (next > deadline || now >= deadline) {
            break;
        }
        if (next > now) {
            cs_time_sleep_ns(next - now);
        }
        r->now_ns = cs_time_mono_ns();
        send_due(r, sent, failed);
    }
    for (struct outgoing *o = r->out_head; o; o = o->next) {
        cs_log_error(r->logger, "%s: shutdown: message %s (%zu alert(s)) "
                     "not sent", r->name, o->id, o->nalerts);
        *failed += o->nalerts;
    }
    drop_outgoing(r);
}
