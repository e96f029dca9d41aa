/* cryptosup test-alert: send one synthetic alert through every route the
 * config sets up (email, webhooks, Alertmanager), on this thread, and say
 * which routes delivered it. The answer to "did my SMTP password and
 * Slack URL work?" before a real market move asks the question. */
#include "cli/cli.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cryptosup/alert.h"
#include "cryptosup/config.h"
#include "cryptosup/notify_routes.h"
#include "cryptosup/rules.h"
#include "cryptosup/timeutil.h"

struct tally {
    unsigned ok, failed;
};

static void report(void *ctx, const char *route, uint64_t sent,
                   uint64_t failed)
{
    struct tally *t = ctx;
    if (sent > 0 && failed == 0) {
        printf("%s: sent\n", route);
        t->ok++;
    } else {
        printf("%s: FAILED (the log says why)\n", route);
        t->failed++;
    }
}

static void test_alert(struct cs_alert *a)
{
    memset(a, 0, sizeof *a);
    a->id = 1;
    a->test = true;
    a->status = CS_ALERT_FIRING;
    snprintf(a->rule, sizeof a->rule, "cryptosup_test");
    snprintf(a->severity, sizeof a->severity, "info");
    snprintf(a->exchange, sizeof a->exchange, "test");
    snprintf(a->symbol, sizeof a->symbol, "TEST/USD");
    snprintf(a->raw_symbol, sizeof a->raw_symbol, "TEST-USD");
    a->ts_ns = cs_time_now_ns();
    a->window_s = 3600;
    a->has_change = true;
    a->change = 0.02;
    snprintf(a->price, sizeof a->price, "102.00");
    snprintf(a->reference, sizeof a->reference, "100.00");
    snprintf(a->message, sizeof a->message, "This is a test alert from "
             "cryptosup test-alert; no market moved.");
}

int cmd_test_alert(const struct options *o)
{
    struct cs_config *cfg = NULL;
    struct cs_ruleset *rs = NULL;
    struct cs_notify_routes *routes;
    struct cs_notifier n;
    struct cs_alert a;
    struct tally t = { 0, 0 };
    uint64_t sent = 0, failed = 0;

    if (cli_load_all(o->config, &cfg, &rs, stdout) != CS_OK) {
        printf("%s: invalid\n", o->config ? o->config : "(defaults)");
        return 1;
    }
    cs_ruleset_free(rs);
    if (!cs_config_alerts_any(&cfg->alerts)) {
        printf("%s: no alert routes configured (alerts.email, "
               "alerts.webhooks, alerts.alertmanager)\n",
               o->config ? o->config : "(defaults)");
        cs_config_free(cfg);
        return 1;
    }
    /* Deliver and drain right here: each route tries (and retries within
     * its drain_timeout_ms) before the answer is printed. */
    routes = cs_notify_routes_new(cfg);
    n = cs_notify_routes_notifier(routes);
    test_alert(&a);
    n.deliver(n.ctx, &a);
    n.flush(n.ctx, cs_time_mono_ns(), true, &sent, &failed);
    cs_notify_routes_each(routes, report, &t);
    cs_notify_routes_free(routes);
    cs_config_free(cfg);
    return t.failed > 0 ? 1 : 0;
}
