/* Start and stop steps every command shares: config and rules into an
 * engine, history storage, final metrics and the summary line. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/config.h"
#include "cryptosup/engine.h"
#include "cryptosup/log.h"
#include "cryptosup/metrics.h"
#include "cryptosup/rules.h"
#include "cryptosup/store.h"

enum cs_err cli_load_all(const char *path, struct cs_config **cfg,
                         struct cs_ruleset **rs, FILE *report)
{
    char *errors = NULL;
    enum cs_err err = cs_config_load(path, cfg, &errors);
    if (err == CS_OK) {
        err = cs_ruleset_load(*cfg, rs, &errors);
        if (err != CS_OK) {
            cs_config_free(*cfg);
            *cfg = NULL;
        }
    }
    if (err != CS_OK && report && errors) {
        fputs(errors, report);
    }
    free(errors);
    return err;
}

static void apply_log_level(const struct options *o,
                            const struct cs_config *cfg)
{
    cs_log_set_level(o->log_level_given ? o->log_level : cfg->log_level);
}

bool cli_write_metrics(const char *path, struct cs_metrics *m)
{
    size_t len = 0;
    char *text = cs_metrics_render(m, &len);
    FILE *f = fopen(path, "w");
    bool ok = f && fwrite(text, 1, len, f) == len;
    if (f && fclose(f) != 0) {
        ok = false;
    }
    if (!ok) {
        cs_log_warn_errno(LOG_MAIN, "cannot write metrics to %s", path);
    }
    free(text);
    return ok;
}

struct cs_engine *cli_start_engine(const struct options *o)
{
    struct cs_config *cfg = NULL;
    struct cs_ruleset *rs = NULL;
    struct cs_engine_options eo;

    if (cli_load_all(o->config, &cfg, &rs, NULL) != CS_OK) {
        cs_log_error(LOG_MAIN, "cannot start: fix the errors above "
                     "(cryptosup check lists them all)");
        return NULL;
    }
    apply_log_level(o, cfg);
    memset(&eo, 0, sizeof eo);
    eo.emit = (o->emit_ticks || o->emit_alerts) ? stdout : NULL;
    eo.emit_ticks = o->emit_ticks;
    eo.emit_alerts = o->emit_alerts;
    return cs_engine_new(cfg, rs, &eo);
}

void cli_log_summary(const struct cs_engine *e)
{
    const struct cs_engine_stats *s = cs_engine_stats(e);
    cs_log_info(LOG_MAIN, "frames %llu (data %llu, control %llu, ignored "
                "%llu, unknown %llu, malformed %llu), ticks %llu (late %llu, "
                "unwatched %llu), instruments %llu, alerts %llu",
                (unsigned long long)s->frames,
                (unsigned long long)s->frames_data,
                (unsigned long long)s->frames_control,
                (unsigned long long)s->frames_ignored,
                (unsigned long long)s->frames_unknown,
                (unsigned long long)s->frames_malformed,
                (unsigned long long)s->ticks,
                (unsigned long long)s->ticks_late,
                (unsigned long long)s->ticks_unwatched,
                (unsigned long long)s->instruments,
                (unsigned long long)s->alerts_fired);
}

/* How long shutdown waits for the database before spilling the rest. */
#define STORE_FLUSH_TIMEOUT_MS 10000

bool cli_start_store(struct cs_engine *e, struct cs_store **out)
{
    const struct cs_config_storage *sc = &cs_engine_config(e)->storage;

    *out = NULL;
    if (!sc->enabled) {
        return true;
    }
    *out = cs_store_new(sc);
    if (*out == NULL) {
        return false;
    }
    cs_engine_set_store(e, *out);
    return true;
}

void cli_stop_store(struct cs_engine *e, struct cs_store *s)
{
    if (s == NULL) {
        return;
    }
    cs_engine_store_flush(e);
    cs_engine_set_store(e, NULL);
    cs_store_stop(s, STORE_FLUSH_TIMEOUT_MS);
}
