/* The engine's metrics, read from its counters at scrape time: frames by
 * class, ticks per exchange and dropped ticks by reason, gaps, rule work
 * and failures, alerts, config reloads, and the latest price of every
 * watched instrument (crypto_price, as the original collector named it). */
#include "cryptosup/engine.h"

#include "cryptosup/metrics.h"
#include "cryptosup/timeutil.h"
#include "engine/instruments.h"

static void counter(struct cs_metrics_writer *w, const char *name,
                    const char *help, double value)
{
    cs_metrics_family(w, name, CS_METRIC_COUNTER, help);
    cs_metrics_sample(w, name, NULL, value);
}

static void gauge(struct cs_metrics_writer *w, const char *name,
                  const char *help, double value)
{
    cs_metrics_family(w, name, CS_METRIC_GAUGE, help);
    cs_metrics_sample(w, name, NULL, value);
}

static void frames(struct cs_metrics_writer *w, const struct cs_engine_stats *s)
{
    const char *name = "cryptosup_frames_total";
    const struct { const char *cls; uint64_t n; } by_class[] = {
        { "data", s->frames_data }, { "control", s->frames_control },
        { "ignored", s->frames_ignored }, { "unknown", s->frames_unknown },
        { "malformed", s->frames_malformed },
    };
    cs_metrics_family(w, name, CS_METRIC_COUNTER,
                      "Frames received, by what they were");
    for (size_t i = 0; i < sizeof by_class / sizeof *by_class; i++) {
        const char *labels[] = { "class", by_class[i].cls, NULL };
        cs_metrics_sample(w, name, labels, (double)by_class[i].n);
    }
}

static void ticks(struct cs_metrics_writer *w, const struct cs_engine_stats *s)
{
    const struct cs_venue_ops *const *venues = cs_venue_all();
    const char *name = "cryptosup_ticks_total";
    const struct { const char *reason; uint64_t n; } dropped[] = {
        { "late", s->ticks_late }, { "duplicate", s->ticks_duplicate },
        { "unwatched", s->ticks_unwatched }, { "invalid", s->ticks_invalid },
        { "frame_overflow", s->ticks_dropped },
        { "quote_of_traded_instrument", s->ticks_quotes_only },
    };
    cs_metrics_family(w, name, CS_METRIC_COUNTER,
                      "Ticks accepted from watched instruments");
    for (size_t i = 0; venues[i] && i < CS_VENUES_MAX; i++) {
        const char *labels[] = { "exchange", venues[i]->name, NULL };
        cs_metrics_sample(w, name, labels, (double)s->ticks_by_venue[i]);
    }
    name = "cryptosup_ticks_dropped_total";
    cs_metrics_family(w, name, CS_METRIC_COUNTER,
                      "Ticks not applied to windows, by reason");
    for (size_t i = 0; i < sizeof dropped / sizeof *dropped; i++) {
        const char *labels[] = { "reason", dropped[i].reason, NULL };
        cs_metrics_sample(w, name, labels, (double)dropped[i].n);
    }
}

static void rules(struct cs_metrics_writer *w, struct cs_engine *e)
{
    struct cs_ruleset *rs = cs_engine_rules(e);
    struct cs_ruleset_stats rstats;
    const char *name = "cryptosup_rule_errors_total";
    size_t parked = 0;

    cs_ruleset_stats(rs, &rstats);
    for (size_t i = 0; i < cs_ruleset_count(rs); i++) {
        parked += cs_ruleset_rule(rs, i)->parked;
    }
    counter(w, "cryptosup_rule_evaluations_total",
            "Rule evaluations (threshold rules in C and Lua rules)",
            (double)cs_engine_stats(e)->rule_evaluations);
    counter(w, "cryptosup_lua_calls_total", "Calls into the rule VM",
            (double)rstats.lua_calls);
    cs_metrics_family(w, name, CS_METRIC_COUNTER,
                      "Rule failures: runtime errors and sandbox limit hits");
    {
        const char *rt[] = { "kind", "runtime", NULL };
        const char *mem[] = { "kind", "memory_limit", NULL };
        const char *ins[] = { "kind", "instruction_limit", NULL };
        cs_metrics_sample(w, name, rt, (double)rstats.runtime_errors);
        cs_metrics_sample(w, name, mem, (double)rstats.memory_limit_hits);
        cs_metrics_sample(w, name, ins,
                          (double)rstats.instruction_limit_hits);
    }
    gauge(w, "cryptosup_rules", "Rules loaded",
          (double)cs_ruleset_count(rs));
    gauge(w, "cryptosup_rules_parked", "Rules parked until the next reload",
          (double)parked);
    gauge(w, "cryptosup_lua_memory_bytes", "Memory held by the rule VM",
          (double)rstats.lua_memory_bytes);
}

static void alerts(struct cs_metrics_writer *w, const struct cs_engine_stats *s)
{
    const char *name = "cryptosup_alerts_total";
    const char *fired[] = { "state", "fired", NULL };
    const char *supp[] = { "state", "suppressed", NULL };
    const char *res[] = { "state", "resolved", NULL };
    cs_metrics_family(w, name, CS_METRIC_COUNTER,
                      "Alert transitions: fired, suppressed by cooldown, "
                      "resolved");
    cs_metrics_sample(w, name, fired, (double)s->alerts_fired);
    cs_metrics_sample(w, name, supp, (double)s->alerts_suppressed);
    cs_metrics_sample(w, name, res, (double)s->alerts_resolved);
    counter(w, "cryptosup_alert_queue_dropped_total",
            "Alerts dropped because the notifier queue was full",
            (double)s->alerts_queue_dropped);
}

static void reloads(struct cs_metrics_writer *w, const struct cs_engine_stats *s)
{
    const char *name = "cryptosup_config_reloads_total";
    const char *ok[] = { "result", "success", NULL };
    const char *bad[] = { "result", "failure", NULL };
    gauge(w, "cryptosup_config_last_reload_successful",
          "Whether the last config reload worked (1) or not (0)",
          s->last_reload_ok ? 1 : 0);
    gauge(w, "cryptosup_config_last_reload_success_timestamp_seconds",
          "When the config was last loaded successfully",
          (double)s->last_reload_success_ns / 1e9);
    cs_metrics_family(w, name, CS_METRIC_COUNTER, "Config reloads");
    cs_metrics_sample(w, name, ok, (double)s->reloads_ok);
    cs_metrics_sample(w, name, bad, (double)s->reloads_failed);
}

/* crypto_price{exchange,symbol}: bounded by limits.max_instruments. */
static void prices(struct cs_metrics_writer *w, struct cs_engine *e)
{
    struct cs_instruments *t = cs_engine_instruments(e);
    struct cs_instrument *inst;
    const char *name = "crypto_price";

    cs_metrics_family(w, name, CS_METRIC_GAUGE,
                      "Latest price of each watched instrument");
    for (size_t i = 0; (inst = cs_instruments_at(t, i)); i++) {
        const char *labels[] = { "exchange", inst->venue->name, "symbol",
                                 inst->symbol, NULL };
        if (inst->watched && inst->has_last) {
            char price[48];
            cs_decimal_format(inst->last_price, false, price, sizeof price);
            cs_metrics_sample_text(w, name, labels, price);
        }
    }
    gauge(w, "cryptosup_instruments", "Instruments known",
          (double)cs_instruments_count(t));
}

static void collect(void *ctx, struct cs_metrics_writer *w)
{
    struct cs_engine *e = ctx;
    const struct cs_engine_stats *s = cs_engine_stats(e);

    frames(w, s);
    ticks(w, s);
    counter(w, "cryptosup_sequence_gaps_total",
            "Per-instrument sequence jumps (lost messages)",
            (double)s->sequence_gaps);
    counter(w, "cryptosup_gaps_marked_total",
            "Instruments whose windows were marked gapped",
            (double)s->gaps_marked);
    rules(w, e);
    alerts(w, s);
    reloads(w, s);
    prices(w, e);
}

void cs_engine_register_metrics(struct cs_engine *e, struct cs_metrics *m)
{
    cs_metrics_register(m, collect, e);
}
