/* The engine end to end on synthetic frames: threshold and Lua rules fire
 * with exact fields, a failing rule is parked while others go on, late
 * and unwatched ticks are counted, and a reload keeps alert state for
 * unchanged rule names. */
#include "cryptosup/engine.h"
#include "scratch.h"
#include "testlib.h"

#define MIN_MS 60000LL

static char rules_dir[512];

struct harness {
    struct cs_engine *engine;
    struct cs_venue_scratch *scratch;
    char *out;
    size_t out_len;
    FILE *emit;
};

static const char *write_config(const char *dir, const char *name,
                                const char *rules)
{
    char text[2048];
    snprintf(text, sizeof text,
             "return {\n"
             "  rules = '%s',\n"
             "  windows = { '1h' },\n"
             "  exchanges = { binance = { symbols = { 'BTC/USDT', "
             "'ETH/USDT' } } },\n"
             "  limits = { lua_instructions = 100000, lua_memory_mb = 16 },\n"
             "}\n", rules);
    return scratch_write(dir, name, text);
}

static bool start(struct harness *h, const char *config_path)
{
    struct cs_config *cfg = NULL;
    struct cs_ruleset *rs = NULL;
    struct cs_engine_options opt;
    char *errors = NULL;

    memset(h, 0, sizeof *h);
    if (cs_config_load(config_path, &cfg, &errors) != CS_OK ||
        cs_ruleset_load(cfg, &rs, &errors) != CS_OK) {
        cs_test_fail(__FILE__, __LINE__, "load failed: %s",
                     errors ? errors : "?");
        free(errors);
        cs_config_free(cfg);
        return false;
    }
    h->emit = open_memstream(&h->out, &h->out_len);
    memset(&opt, 0, sizeof opt);
    opt.emit = h->emit;
    opt.emit_alerts = true;
    opt.emit_ticks = true;
    h->engine = cs_engine_new(cfg, rs, &opt);
    h->scratch = cs_venue_scratch_new();
    return true;
}

static void stop(struct harness *h)
{
    cs_engine_free(h->engine);
    cs_venue_scratch_free(h->scratch);
    fclose(h->emit);
    free(h->out);
}

static void trade(struct harness *h, const char *symbol, int64_t ts_ms,
                  const char *price)
{
    static uint64_t id;
    char frame[512];
    int n = snprintf(frame, sizeof frame,
                     "{\"e\":\"trade\",\"E\":%lld,\"s\":\"%s\",\"t\":%llu,"
                     "\"p\":\"%s\",\"q\":\"0.5\",\"T\":%lld,\"m\":true,"
                     "\"M\":true}", (long long)ts_ms, symbol,
                     (unsigned long long)++id, price, (long long)ts_ms);
    cs_engine_frame(h->engine, &cs_venue_binance, h->scratch, frame,
                    (size_t)n, 0);
}

/* The output so far (open_memstream updates the buffer on flush). */
static const char *output(struct harness *h)
{
    fflush(h->emit);
    return h->out ? h->out : "";
}

static size_t count_lines(struct harness *h, const char *needle)
{
    size_t n = 0;
    fflush(h->emit);
    for (const char *p = h->out; p && (p = strstr(p, needle)); p++) {
        n++;
    }
    return n;
}

/* A 2 % rise over an hour fires move_1h exactly once, with exact fields. */
static void test_threshold_rule(const char *dir)
{
    struct harness h;
    const char *rule;
    const struct cs_engine_stats *st;
    int64_t t0 = 1700000000000LL;

    scratch_write(dir, "thr/move.lua",
                  "return { name = 'move_1h', window = '1h', "
                  "threshold_pct = 2, rearm_pct = 1 }\n");
    snprintf(rules_dir, sizeof rules_dir, "%s/thr", dir);
    if (!start(&h, write_config(dir, "thr.lua", rules_dir))) {
        return;
    }
    trade(&h, "BTCUSDT", t0, "100.00");
    trade(&h, "BTCUSDT", t0 + 30 * MIN_MS, "101.00");
    trade(&h, "BTCUSDT", t0 + 60 * MIN_MS, "101.50");   /* +1.5 % */
    CHECK_INT(count_lines(&h, "\"type\":\"alert\""), 0);
    trade(&h, "BTCUSDT", t0 + 61 * MIN_MS, "102.00");   /* ref 100: +2 % */
    CHECK_INT(count_lines(&h, "\"type\":\"alert\""), 1);
    rule = strstr(output(&h), "\"type\":\"alert\"");
    if (rule && !strstr(rule, "\"reference\":\"100.00\"")) {
        fprintf(stderr, "alert: %.400s\n", rule);
    }
    CHECK(rule && strstr(rule, "\"rule\":\"move_1h\""));
    CHECK(rule && strstr(rule, "\"symbol\":\"BTC/USDT\""));
    CHECK(rule && strstr(rule, "\"window\":\"1h\""));
    CHECK(rule && strstr(rule, "\"change\":0.02,"));
    CHECK(rule && strstr(rule, "\"price\":\"102.00\""));
    CHECK(rule && strstr(rule, "\"reference\":\"100.00\""));
    /* still above the re-arm level: no second alert */
    trade(&h, "BTCUSDT", t0 + 62 * MIN_MS, "102.50");
    trade(&h, "BTCUSDT", t0 + 63 * MIN_MS, "101.90");
    CHECK_INT(count_lines(&h, "\"type\":\"alert\""), 1);
    /* late tick: counted, no effect */
    trade(&h, "BTCUSDT", t0 + 10 * MIN_MS, "50.00");
    /* unwatched symbol */
    trade(&h, "DOGEUSDT", t0 + 63 * MIN_MS, "0.1");
    st = cs_engine_stats(h.engine);
    CHECK_INT(st->alerts_fired, 1);
    CHECK_INT(st->ticks_late, 1);
    CHECK_INT(st->ticks_unwatched, 1);
    CHECK_INT(st->ticks, 7);
    CHECK_INT(count_lines(&h, "\"type\":\"tick\""), 7);
    CHECK(strstr(output(&h), "\"price\":\"100.00\",\"bid\":null,\"ask\":null")
          != NULL);
    stop(&h);
}

/* Lua rules: one fires with a message; a hostile one is parked without
 * stopping the others. */
static void test_lua_rules(const char *dir)
{
    struct harness h;
    const struct cs_engine_stats *st;
    int64_t t0 = 1700000000000LL;
    struct cs_ruleset *rs;
    long loop_idx, err_idx;

    scratch_write(dir, "lua/above.lua",
                  "return { name = 'above', windows = { '1h' },\n"
                  "  condition = function(tick, w, firing)\n"
                  "    if tick.price > 105 then\n"
                  "      return true, tick.symbol .. ' at ' .. tick.price\n"
                  "    end\n"
                  "    return false\n"
                  "  end }\n");
    scratch_write(dir, "lua/loop.lua",
                  "return { name = 'loop',\n"
                  "  condition = function() while true do end end }\n");
    scratch_write(dir, "lua/throws.lua",
                  "return { name = 'throws',\n"
                  "  condition = function(tick) return tick.nope.x end }\n");
    scratch_write(dir, "lua/mutate.lua",
                  "return { name = 'mutate',\n"
                  "  condition = function(tick) tick.price = 0 end }\n");
    snprintf(rules_dir, sizeof rules_dir, "%s/lua", dir);
    if (!start(&h, write_config(dir, "lua.lua", rules_dir))) {
        return;
    }
    rs = cs_engine_rules(h.engine);
    CHECK_INT(cs_ruleset_count(rs), 4);
    trade(&h, "ETHUSDT", t0, "100");
    trade(&h, "ETHUSDT", t0 + 1000, "106.5");
    trade(&h, "ETHUSDT", t0 + 2000, "107");
    st = cs_engine_stats(h.engine);
    CHECK_INT(st->alerts_fired, 1);
    CHECK(strstr(output(&h), "\"message\":\"ETH/USDT at 106.5\"") != NULL);
    CHECK(strstr(output(&h), "\"window\":null") != NULL);
    loop_idx = cs_ruleset_find(rs, "loop");
    err_idx = cs_ruleset_find(rs, "throws");
    CHECK(loop_idx >= 0 && cs_ruleset_rule(rs, (size_t)loop_idx)->parked);
    CHECK(err_idx >= 0 && cs_ruleset_rule(rs, (size_t)err_idx)->parked);
    CHECK(cs_ruleset_rule(rs, (size_t)cs_ruleset_find(rs, "mutate"))->parked);
    CHECK_INT(cs_ruleset_rule(rs, (size_t)loop_idx)->evaluations, 1);
    CHECK_INT(cs_ruleset_rule(rs, (size_t)cs_ruleset_find(rs, "above"))
              ->evaluations, 3);
    stop(&h);
}

/* Reload: a firing rule with an unchanged name does not fire again; a
 * renamed rule starts fresh. A broken reload keeps the running set. */
static void test_reload(const char *dir)
{
    struct harness h;
    int64_t t0 = 1700000000000LL;
    char rules2[600];
    const char *cfg2;

    scratch_write(dir, "r1/move.lua",
                  "return { name = 'move_1h', window = '1h', "
                  "threshold_pct = 2 }\n");
    snprintf(rules_dir, sizeof rules_dir, "%s/r1", dir);
    if (!start(&h, write_config(dir, "r1.lua", rules_dir))) {
        return;
    }
    trade(&h, "BTCUSDT", t0, "100");
    trade(&h, "BTCUSDT", t0 + 60 * MIN_MS, "103");
    CHECK_INT(cs_engine_stats(h.engine)->alerts_fired, 1);

    /* same name, new threshold: state (firing) carries over */
    scratch_write(dir, "r2/move.lua",
                  "return { name = 'move_1h', window = '1h', "
                  "threshold_pct = 2.5 }\n");
    snprintf(rules2, sizeof rules2, "%s/r2", dir);
    cfg2 = write_config(dir, "r2.lua", rules2);
    CHECK_INT(cs_engine_reload(h.engine, cfg2), CS_OK);
    trade(&h, "BTCUSDT", t0 + 61 * MIN_MS, "103");
    CHECK_INT(cs_engine_stats(h.engine)->alerts_fired, 1);

    /* a broken rule file: reload refused, running set kept */
    scratch_write(dir, "r2/broken.lua", "return { name = 'x', window = }\n");
    CHECK(cs_engine_reload(h.engine, cfg2) != CS_OK);
    CHECK_INT(cs_engine_stats(h.engine)->reloads_failed, 1);
    CHECK_INT(cs_ruleset_count(cs_engine_rules(h.engine)), 1);
    remove(scratch_write(dir, "r2/broken.lua", ""));

    /* renamed: fresh state, fires on the next tick that holds */
    scratch_write(dir, "r2/move.lua",
                  "return { name = 'move_1h_v2', window = '1h', "
                  "threshold_pct = 2.5 }\n");
    CHECK_INT(cs_engine_reload(h.engine, cfg2), CS_OK);
    trade(&h, "BTCUSDT", t0 + 62 * MIN_MS, "103");
    CHECK_INT(cs_engine_stats(h.engine)->alerts_fired, 2);
    CHECK_INT(cs_engine_stats(h.engine)->reloads_ok, 2);
    stop(&h);
}

/* Malformed and unknown frames are counted, never fatal. */
static void test_bad_frames(const char *dir)
{
    struct harness h;
    static const char *const frames[] = {
        "", "{", "not json", "{\"e\":\"trade\",\"s\":\"BTCUSDT\"}",
        "{\"e\":\"trade\",\"s\":\"BTCUSDT\",\"p\":\"abc\",\"T\":1}",
        "{\"e\":\"mystery\"}", "[1,2,3]", "\xff\xfe\x00garbage",
    };
    scratch_write(dir, "bad/move.lua",
                  "return { name = 'm', window = '1h', threshold_pct = 2 }\n");
    snprintf(rules_dir, sizeof rules_dir, "%s/bad", dir);
    if (!start(&h, write_config(dir, "bad.lua", rules_dir))) {
        return;
    }
    for (size_t i = 0; i < sizeof frames / sizeof *frames; i++) {
        cs_engine_frame(h.engine, &cs_venue_binance, h.scratch, frames[i],
                        i == 7 ? 10 : strlen(frames[i]), 0);
    }
    CHECK_INT(cs_engine_stats(h.engine)->frames, 8);
    CHECK(cs_engine_stats(h.engine)->frames_malformed +
          cs_engine_stats(h.engine)->frames_unknown >= 7);
    CHECK_INT(cs_engine_stats(h.engine)->ticks, 0);
    stop(&h);
}

static void seq_trade(struct harness *h, const char *symbol, int64_t ts_ms,
                      const char *price, uint64_t seq)
{
    struct cs_tick t;
    memset(&t, 0, sizeof t);
    t.exchange = "binance";
    t.raw_symbol.ptr = symbol;
    t.raw_symbol.len = strlen(symbol);
    t.kind = CS_TICK_TRADE;
    t.has_price = true;
    cs_decimal_parse(price, strlen(price), &t.price);
    t.price_text.ptr = price;
    t.price_text.len = strlen(price);
    t.ts_ns = ts_ms * 1000000LL;
    t.has_seq = true;
    t.seq = seq;
    t.seq_kind = CS_SEQ_CONTIGUOUS;
    cs_engine_tick(h->engine, &t);
}

/* Gaps: a contiguous sequence that jumps marks the windows gapped and runs
 * on_gap; duplicates are dropped; a reconnect gap reaches on_gap too. */
static void test_gaps(const char *dir)
{
    struct harness h;
    const struct cs_engine_stats *st;
    int64_t t0 = 1700000000000LL;

    scratch_write(dir, "gap/watch.lua",
                  "local seen = 0\n"
                  "return { name = 'gap_watch', window = '1h',\n"
                  "  threshold_pct = 50,\n"
                  "  on_gap = function(ev)\n"
                  "    seen = seen + 1\n"
                  "    if ev.kind == 'sequence' then\n"
                  "      return true, ev.symbol .. ' lost ' ..\n"
                  "        (ev.got - ev.expected) .. ' trades'\n"
                  "    end\n"
                  "    return ev.kind == 'reconnect', ev.kind .. ' #' .. seen\n"
                  "  end }\n");
    snprintf(rules_dir, sizeof rules_dir, "%s/gap", dir);
    if (!start(&h, write_config(dir, "gap.lua", rules_dir))) {
        return;
    }
    seq_trade(&h, "BTCUSDT", t0, "100", 10);
    seq_trade(&h, "BTCUSDT", t0 + 1000, "101", 11);
    seq_trade(&h, "BTCUSDT", t0 + 2000, "101", 11);   /* duplicate */
    seq_trade(&h, "BTCUSDT", t0 + 3000, "102", 15);   /* 12..14 lost */
    st = cs_engine_stats(h.engine);
    CHECK_INT(st->ticks_duplicate, 1);
    CHECK_INT(st->sequence_gaps, 1);
    CHECK_INT(st->alerts_fired, 1);
    CHECK(strstr(output(&h), "\"message\":\"BTC/USDT lost 3 trades\"")
          != NULL);
    cs_engine_mark_gap(h.engine, "binance", "BTCUSDT", "reconnect",
                       (t0 + 4000) * 1000000LL);
    cs_engine_mark_gap(h.engine, "binance", NULL, "connection",
                       (t0 + 5000) * 1000000LL);
    cs_engine_mark_gap(h.engine, "binance", "NEVERSEEN", "reconnect", 0);
    CHECK_INT(st->alerts_fired, 2);
    CHECK(strstr(output(&h), "\"message\":\"reconnect #2\"") != NULL);
    CHECK_INT(st->gaps_marked, 3);
    stop(&h);
}

static void warm_trade(struct harness *h, int64_t ts_ms, const char *price)
{
    struct cs_tick t;
    memset(&t, 0, sizeof t);
    t.exchange = "binance";
    t.raw_symbol.ptr = "BTCUSDT";
    t.raw_symbol.len = 7;
    t.kind = CS_TICK_TRADE;
    t.has_price = true;
    cs_decimal_parse(price, strlen(price), &t.price);
    t.price_text.ptr = price;
    t.price_text.len = strlen(price);
    t.ts_ns = ts_ms * 1000000LL;
    cs_engine_warm_tick(h->engine, &t);
}

/* Warm-up history moves alert state silently; a condition still holding
 * at the first live tick is notified then, once; one that ended in
 * history never is. */
static void test_warmup_alerts(const char *dir)
{
    struct harness h;
    const struct cs_engine_stats *st;
    int64_t t0 = 1700000000000LL;

    scratch_write(dir, "warm/move.lua",
                  "return { name = 'move_1h', window = '1h', "
                  "threshold_pct = 2 }\n");
    snprintf(rules_dir, sizeof rules_dir, "%s/warm", dir);
    if (!start(&h, write_config(dir, "warm.lua", rules_dir))) {
        return;
    }
    st = cs_engine_stats(h.engine);
    warm_trade(&h, t0, "100");
    warm_trade(&h, t0 + 60 * MIN_MS, "103");      /* holds in history */
    CHECK_INT(st->alerts_fired, 0);
    CHECK_INT(st->alerts_held_in_warmup, 1);
    trade(&h, "BTCUSDT", t0 + 61 * MIN_MS, "103");   /* still holds: live */
    CHECK_INT(st->alerts_fired, 1);
    trade(&h, "BTCUSDT", t0 + 62 * MIN_MS, "103");
    CHECK_INT(st->alerts_fired, 1);                  /* once */
    /* The move happened and ended in history: nothing live. */
    stop(&h);
    if (!start(&h, write_config(dir, "warm.lua", rules_dir))) {
        return;
    }
    st = cs_engine_stats(h.engine);
    warm_trade(&h, t0, "100");
    warm_trade(&h, t0 + 60 * MIN_MS, "103");
    warm_trade(&h, t0 + 121 * MIN_MS, "103.5");    /* ref 103: +0.5 % */
    trade(&h, "BTCUSDT", t0 + 122 * MIN_MS, "103.4");
    CHECK_INT(st->alerts_fired, 0);
    CHECK_INT(st->alerts_resolved, 0);
    CHECK_INT(st->alerts_held_in_warmup, 1);   /* its end is silent */
    stop(&h);
}

int main(void)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s", scratch_dir());
    setenv("CRYPTOSUP_DATA_DIR", getenv("CS_SOURCE_DIR") ?
           getenv("CS_SOURCE_DIR") : ".", 1);
    cs_log_set_level(CS_LOG_WARN);
    test_threshold_rule(dir);
    test_lua_rules(dir);
    test_reload(dir);
    test_bad_frames(dir);
    test_gaps(dir);
    test_warmup_alerts(dir);
    return cs_test_finish("test_engine");
}
