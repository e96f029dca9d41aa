/* cryptosup check: load the config and every rule file, say whether they
 * are valid and what they watch; nothing is started. */
#include "cli/cli.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cryptosup/config.h"
#include "cryptosup/rules.h"
#include "cryptosup/timeutil.h"

/* Where alerts would go: a config that silently routes nowhere is the
 * first thing a user wants to catch before SIGHUP. */
static void print_routes(const struct cs_config_alerts *a)
{
    const char *sep = "";

    printf("alert routes: ");
    if (!cs_config_alerts_any(a)) {
        printf("none (alerts go to the log only)\n");
        return;
    }
    for (size_t i = 0; i < a->nemails; i++, sep = ", ") {
        printf("%s%s (%zu recipient(s))", sep, a->emails[i].name,
               a->emails[i].nto);
    }
    for (size_t i = 0; i < a->nwebhooks; i++, sep = ", ") {
        printf("%s%s (%s)", sep, a->webhooks[i].name,
               cs_config_webhook_format_name(a->webhooks[i].format));
    }
    if (a->alertmanager.enabled) {
        printf("%salertmanager (%zu instance(s))", sep,
               a->alertmanager.nurls);
    }
    printf("\n");
}

int cmd_check(const struct options *o)
{
    struct cs_config *cfg = NULL;
    struct cs_ruleset *rs = NULL;
    char windows[256] = "";
    size_t n, pos = 0;
    const int64_t *w;

    if (cli_load_all(o->config, &cfg, &rs, stdout) != CS_OK) {
        printf("%s: invalid\n", o->config ? o->config : "(defaults)");
        return 1;
    }
    w = cs_ruleset_windows(rs, &n);
    for (size_t i = 0; i < n && pos < sizeof windows - 16; i++) {
        char d[16];
        cs_duration_format(w[i], d, sizeof d);
        pos += (size_t)snprintf(windows + pos, sizeof windows - pos, "%s%s",
                                i ? "," : "", d);
    }
    printf("%s: ok: %zu rules from %zu files, %zu exchanges, rule windows "
           "%s\n", o->config ? o->config : "(defaults)",
           cs_ruleset_count(rs), cfg->nrule_files, cfg->nexchanges,
           windows[0] ? windows : "none");
    print_routes(&cfg->alerts);
    cs_ruleset_free(rs);
    cs_config_free(cfg);
    return 0;
}
