/* What the command files share: the parsed options, the flags the signal
 * handlers set, and the start/stop helpers every command uses. Only
 * src/main.c and src/cli/ include this; it is not part of cs_core. */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "cryptosup/err.h"
#include "cryptosup/log.h"

struct cs_config;
struct cs_engine;
struct cs_metrics;
struct cs_ruleset;
struct cs_store;

#define LOG_MAIN "main"

struct options {
    const char *config;
    bool config_given;
    bool emit_ticks, emit_alerts;
    const char *exchange;
    double speed;
    const char *record;           /* run: capture directory */
    const char *metrics_out;      /* write the final metrics here */
    bool log_level_given;
    enum cs_log_level log_level;
};

/* Set by the signal handlers in main.c (SIGINT/SIGTERM, SIGHUP), which do
 * nothing else. Commands poll them where acting is safe; run clears the
 * reload flag once it has acted on it. */
extern volatile sig_atomic_t cli_stop_requested;
extern volatile sig_atomic_t cli_reload_requested;

/* The commands. Each returns the process exit code: 0 ok, 1 failure,
 * 2 usage. `o` is borrowed for the call. */
int cmd_check(const struct options *o);
/* `files` (nfiles of them) are borrowed for the call. */
int cmd_replay(const struct options *o, int nfiles, char **files);
int cmd_run(const struct options *o);
/* One synthetic alert through every configured route; 1 if any failed. */
int cmd_test_alert(const struct options *o);

/* Load config and rules; every error goes to the log (and to `report`,
 * which may be NULL). On CS_OK the caller owns *cfg and *rs. */
enum cs_err cli_load_all(const char *path, struct cs_config **cfg,
                         struct cs_ruleset **rs, FILE *report);
/* Load config and rules, apply the log level and build the engine. NULL
 * on failure (logged); otherwise the caller owns it (cs_engine_free). */
struct cs_engine *cli_start_engine(const struct options *o);
/* Start history storage when the config asks for it. False: configured
 * but unusable (logged); *out NULL when not configured. On true the caller
 * owns *out (cli_stop_store, then cs_store_free). */
bool cli_start_store(struct cs_engine *e, struct cs_store **out);
/* Hand over what the engine holds and write out the queue (bounded).
 * `s` may be NULL; it is stopped, not freed. */
void cli_stop_store(struct cs_engine *e, struct cs_store *s);
/* The final state of every counter, in the Prometheus text format: for
 * backtests and for looking at a run after the fact. False: not written
 * (logged). */
bool cli_write_metrics(const char *path, struct cs_metrics *m);
/* One INFO line with the engine's frame, tick and alert counts. */
void cli_log_summary(const struct cs_engine *e);

#endif
