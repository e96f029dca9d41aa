/* Rules: what they watch and how they decide, as plain C, plus the rule set
 * that owns the Lua VM holding the Lua conditions. Declarative threshold
 * rules are decided in C with no Lua call per tick. Loop thread only. */
#ifndef CRYPTOSUP_RULES_H
#define CRYPTOSUP_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/alert.h"
#include "cryptosup/config.h"
#include "cryptosup/err.h"
#include "cryptosup/tick.h"
#include "cryptosup/window.h"

enum cs_rule_kind {
    CS_RULE_THRESHOLD,   /* |change| (or signed) over a window vs a level */
    CS_RULE_LUA          /* a Lua function of the tick and its windows */
};

enum cs_rule_direction { CS_DIR_BOTH, CS_DIR_UP, CS_DIR_DOWN };

struct cs_rule {
    char *name;               /* unique; alert state is keyed by it */
    char *file;               /* rules/foo.lua */
    int line;                 /* where the rule table starts */
    enum cs_rule_kind kind;
    char **exchanges;         /* NULL: every exchange */
    size_t nexchanges;
    char **symbols;           /* NULL: every symbol; BASE/QUOTE or raw */
    size_t nsymbols;
    int64_t window_s;         /* the window alerts report; 0: none */
    int64_t *windows_s;       /* every window the rule reads (incl. above) */
    size_t nwindows;
    double threshold;         /* fraction, threshold rules */
    double rearm;             /* hysteresis level (fraction); < 0: none */
    double prefilter;         /* Lua rules: call the condition only when
                                 |change| over `window` reaches this
                                 (fraction); < 0: always call */
    enum cs_rule_direction direction;
    bool ignore_gapped;       /* gapped window: condition unknown */
    bool notify_resolved;     /* resolved events go to the log and stdout */
    struct cs_alert_params alert;
    char *severity;
    int lua_ref;              /* condition function in the VM registry */
    int gap_ref;              /* on_gap handler in the registry */
    bool has_on_gap;
    /* Runtime, reset by reload. */
    uint64_t evaluations;
    uint64_t failures;
    unsigned consecutive_failures;
    bool parked;              /* failed or hit a limit: off until reload */
};

struct cs_ruleset;

/* Load every rule file the config names into a new VM. All problems are
 * logged ("file:line: message") and appended to *errors (caller frees)
 * when not NULL. On any error nothing is returned: the caller keeps the
 * running set. */
enum cs_err cs_ruleset_load(const struct cs_config *cfg,
                            struct cs_ruleset **out, char **errors);
void cs_ruleset_free(struct cs_ruleset *rs);   /* NULL is fine */

size_t cs_ruleset_count(const struct cs_ruleset *rs);
struct cs_rule *cs_ruleset_rule(struct cs_ruleset *rs, size_t i);
/* Index of the rule called `name`, or -1. */
long cs_ruleset_find(const struct cs_ruleset *rs, const char *name);

/* Every window width any rule reads (sorted, unique). Borrowed. */
const int64_t *cs_ruleset_windows(const struct cs_ruleset *rs, size_t *n);

/* True when the rule applies to this exchange and symbol. */
bool cs_rule_matches(const struct cs_rule *rule, const char *exchange,
                     const char *symbol, const char *raw_symbol);

/* What a rule sees for one tick: the tick, its instrument's names, and the
 * views of the instrument's windows (parallel arrays, sorted by width). */
struct cs_rule_input {
    const struct cs_tick *tick;
    const char *symbol;          /* BASE/QUOTE */
    const char *raw_symbol;      /* NUL-terminated copy */
    int64_t ts_ns;               /* effective data time of the tick */
    struct cs_decimal price;     /* series price (mid for quotes) */
    const int64_t *windows_s;
    const struct cs_window_view *views;
    size_t nwindows;
};

/* Evaluate a Lua rule's condition. `firing` tells the rule whether its
 * alert for this pair is active. Sets *message (borrowed until the next
 * call) when the rule returned one. A failure is logged and counted by the
 * sandbox; the rule is parked here once it reaches the configured number
 * of consecutive failures (or at once on a limit hit). */
enum cs_cond cs_ruleset_eval_lua(struct cs_ruleset *rs, struct cs_rule *rule,
                                 const struct cs_rule_input *in,
                                 bool firing, const char **message);

/* A gap in what an instrument's rules saw: messages lost (sequence jump)
 * or a connection lost and reconnected. */
struct cs_gap_event {
    const char *exchange;
    const char *symbol;
    const char *raw_symbol;
    const char *kind;         /* "sequence", "reconnect", "connection" */
    int64_t ts_ns;            /* data time of the gap */
    bool has_seq;
    uint64_t expected, got;   /* sequence gaps */
};

/* Call a rule's on_gap handler (the rule must have one). True when the
 * handler returned true, i.e. asks for an alert; *message as for
 * conditions. Failures are logged, counted and park the rule as for
 * conditions. */
bool cs_ruleset_on_gap(struct cs_ruleset *rs, struct cs_rule *rule,
                       const struct cs_gap_event *ev, const char **message);

/* Lua VM counters for metrics and tests. */
struct cs_ruleset_stats {
    uint64_t lua_calls;
    uint64_t runtime_errors;
    uint64_t memory_limit_hits;
    uint64_t instruction_limit_hits;
    size_t lua_memory_bytes;
};
void cs_ruleset_stats(const struct cs_ruleset *rs,
                      struct cs_ruleset_stats *out);

/* "Lua 5.4.x", the interpreter rules run on. */
const char *cs_rules_lua_release(void);

#endif
