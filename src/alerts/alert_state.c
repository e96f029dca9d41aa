/* The alert state machine for one (rule, instrument) pair: pending with
 * `for`, firing, resolved, cooldown and every-time mode. Hysteresis is the
 * condition evaluator's business (it sees whether the pair is firing). */
#include "cryptosup/alert.h"

static bool cooldown_allows(const struct cs_alert_state *st,
                            const struct cs_alert_params *p, int64_t now_ns)
{
    return !st->ever_notified || p->cooldown_ns <= 0 ||
           now_ns - st->last_notified_ns >= p->cooldown_ns;
}

/* Enter or stay in FIRING and decide whether this is a notification. */
static enum cs_alert_action fire(struct cs_alert_state *st,
                                 const struct cs_alert_params *p,
                                 int64_t now_ns)
{
    st->phase = CS_PHASE_FIRING;
    if (!cooldown_allows(st, p, now_ns)) {
        return CS_ACTION_SUPPRESS;
    }
    st->notified = true;
    st->ever_notified = true;
    st->last_notified_ns = now_ns;
    return CS_ACTION_FIRE;
}

enum cs_alert_action cs_alert_step(struct cs_alert_state *st,
                                   const struct cs_alert_params *params,
                                   enum cs_cond cond, int64_t now_ns)
{
    if (cond == CS_COND_UNKNOWN) {
        return CS_ACTION_NONE;
    }
    switch ((enum cs_alert_phase)st->phase) {
    case CS_PHASE_IDLE:
        if (cond != CS_COND_TRUE) {
            return CS_ACTION_NONE;
        }
        st->notified = false;
        if (params->for_ns > 0) {
            st->phase = CS_PHASE_PENDING;
            st->pending_since_ns = now_ns;
            return CS_ACTION_NONE;
        }
        return fire(st, params, now_ns);
    case CS_PHASE_PENDING:
        if (cond != CS_COND_TRUE) {
            st->phase = CS_PHASE_IDLE;
            return CS_ACTION_NONE;
        }
        if (now_ns - st->pending_since_ns >= params->for_ns) {
            return fire(st, params, now_ns);
        }
        return CS_ACTION_NONE;
    case CS_PHASE_FIRING:
        if (cond == CS_COND_TRUE) {
            if (params->mode == CS_ALERT_EVERY) {
                return fire(st, params, now_ns);
            }
            /* An episode suppressed by the cooldown is notified once the
             * cooldown ends, if the condition still holds. */
            if (!st->notified && cooldown_allows(st, params, now_ns)) {
                return fire(st, params, now_ns);
            }
            return CS_ACTION_NONE;
        }
        st->phase = CS_PHASE_IDLE;
        if (st->notified) {
            st->notified = false;
            return CS_ACTION_RESOLVE;
        }
        return CS_ACTION_NONE;
    }
    return CS_ACTION_NONE;
}
