/* Benchmark: recorded Binance and Coinbase frames from memory through
 * parse -> normalise -> windows (1h, 24h) -> the shipped rules plus 10 Lua
 * rules, on one core. Prints frames/s, ns per frame, per-frame latency
 * percentiles, and bytes per instrument at 10,000 instruments with full
 * 1h and 24h windows. A program that prints figures, not a test.
 *
 * The recordings cover under a minute, so each pass over them shifts every
 * tick's time (and sequence number) by a fixed span: data time keeps moving
 * forward, as it does live, instead of every later pass being dropped as
 * late or duplicate. Each scenario prints the Lua calls it made, so a
 * figure that skipped work shows. */
#define _XOPEN_SOURCE 700   /* realpath */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cryptosup/engine.h"
#include "cryptosup/log.h"
#include "cryptosup/timeutil.h"

struct frame {
    const struct cs_venue_ops *venue;
    char *text;
    size_t len;
};

static struct frame *frames;
static size_t nframes, frames_cap;

static void load_frames(const char *path, const struct cs_venue_ops *venue)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n') {
            len--;
        }
        if (nframes == frames_cap) {
            frames_cap = frames_cap ? frames_cap * 2 : 1024;
            frames = realloc(frames, frames_cap * sizeof *frames);
        }
        frames[nframes].venue = venue;
        frames[nframes].text = strndup(line, (size_t)len);
        frames[nframes].len = (size_t)len;
        nframes++;
    }
    free(line);
    fclose(f);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

enum lua_mode { LUA_NONE, LUA_EVERY_TICK, LUA_PREFILTERED };

/* The shipped classic rules plus, unless LUA_NONE, ten Lua rules: five
 * scoped to symbol groups, five watching every symbol. LUA_PREFILTERED
 * gives each a C prefilter (prefilter_pct) so Lua runs only on ticks
 * where the window moved enough; LUA_EVERY_TICK calls every rule on every
 * tick it watches. */
static const char *make_config(const char *source_dir, const char *dir,
                               enum lua_mode mode)
{
    static char config[1100];
    char path[1400], rules_dir[1100], text[8192], prefilter[64] = "";
    static const char *const scopes[5] = {
        "BTC/*", "ETH/*", "*/BTC", "SKL/*", "BAND/*"
    };
    static const char *const names[] = { "none", "every", "prefiltered" };

    snprintf(rules_dir, sizeof rules_dir, "%s/rules_%s", dir, names[mode]);
    mkdir(rules_dir, 0700);
    if (mode == LUA_PREFILTERED) {
        snprintf(prefilter, sizeof prefilter, "prefilter_pct = 1.5, ");
    }
    for (int i = 0; mode != LUA_NONE && i < 10; i++) {
        if (i < 5) {
            snprintf(text, sizeof text,
                "local rulekit = require 'rulekit'\n"
                "return { name = 'scoped_%d', symbols = { '%s' },\n"
                "  window = '1h', windows = { '1h', '24h' }, %s\n"
                "  condition = function(tick, w)\n"
                "    return rulekit.any(rulekit.moved(w['1h'], %d),\n"
                "                       rulekit.moved(w['24h'], %d))\n"
                "  end }\n", i, scopes[i], prefilter, 3 + i, 8 + i);
        } else {
            snprintf(text, sizeof text,
                "return { name = 'every_tick_%d', window = '1h', %s\n"
                "  condition = function(tick, w)\n"
                "    local c = w['1h'].change\n"
                "    if c == nil then return nil end\n"
                "    return c > %d / 100 or c < -%d / 100\n"
                "  end }\n", i, prefilter, 4 + i, 4 + i);
        }
        snprintf(path, sizeof path, "%s/lua_%d.lua", rules_dir, i);
        write_file(path, text);
    }
    snprintf(text, sizeof text,
             "return { rules = { '%s/rules', '%s' }, lua_path = '%s/lua',\n"
             "  windows = { '1h', '24h' }, log_level = 'error',\n"
             "  limits = { max_instruments = 200000 } }\n",
             source_dir, rules_dir, source_dir);
    snprintf(config, sizeof config, "%s/config_%s.lua", dir, names[mode]);
    write_file(config, text);
    return config;
}

static struct cs_engine *new_engine(const char *config)
{
    struct cs_config *cfg = NULL;
    struct cs_ruleset *rs = NULL;
    char *errors = NULL;
    if (cs_config_load(config, &cfg, &errors) != CS_OK ||
        cs_ruleset_load(cfg, &rs, &errors) != CS_OK) {
        fprintf(stderr, "config: %s\n", errors ? errors : "?");
        exit(1);
    }
    return cs_engine_new(cfg, rs, NULL);
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One pass: every frame parsed, its ticks shifted by `shift_ns` and run
 * through the engine. When `lat` is given, each frame's time goes there. */
static size_t run_pass(struct cs_engine *e, struct cs_venue_scratch *scratch,
                       struct cs_parse_out *out, int64_t shift_ns,
                       int64_t *lat)
{
    size_t ticks = 0;
    for (size_t i = 0; i < nframes; i++) {
        int64_t t0 = lat ? cs_time_mono_ns() : 0;
        frames[i].venue->parse(scratch, frames[i].text, frames[i].len, 0,
                               out);
        for (size_t k = 0; k < out->n; k++) {
            if (out->ticks[k].ts_ns) {
                out->ticks[k].ts_ns += shift_ns;
            } else {
                out->ticks[k].recv_ns = cs_engine_now_ns(e) + 1;
            }
            /* Sequence numbers move on with time, as a live stream's do;
             * otherwise every later pass would be dropped as duplicates. */
            out->ticks[k].seq += (uint64_t)(shift_ns / CS_NS_PER_S) << 20;
            cs_engine_tick(e, &out->ticks[k]);
        }
        ticks += out->n;
        if (lat) {
            lat[i] = cs_time_mono_ns() - t0;
        }
    }
    return ticks;
}

static void bench_throughput(const char *label, const char *config)
{
    struct cs_engine *e = new_engine(config);
    struct cs_venue_scratch *scratch = cs_venue_scratch_new();
    struct cs_parse_out *out = malloc(sizeof *out);
    int64_t *lat = malloc(nframes * sizeof *lat);
    int64_t *all_lat;
    size_t passes = 2000000 / nframes + 1, ticks = 0, nlat = 0;
    int64_t span = 120 * CS_NS_PER_S, t0, elapsed;
    struct cs_ruleset_stats rstats;
    const size_t lat_passes = 200;

    /* warm up: instruments interned, windows allocated */
    run_pass(e, scratch, out, 0, NULL);
    t0 = cs_time_mono_ns();
    for (size_t p = 1; p <= passes; p++) {
        ticks += run_pass(e, scratch, out, (int64_t)p * span, NULL);
    }
    elapsed = cs_time_mono_ns() - t0;
    printf("\n== %s\n", label);
    printf("frames: %zu recorded (Binance + Coinbase), %zu passes, %zu "
           "frames, %zu ticks\n", nframes, passes, passes * nframes, ticks);
    printf("throughput: %.0f frames/s on one core, %.0f ns per frame, "
           "%.0f ns per tick\n",
           (double)(passes * nframes) / ((double)elapsed / 1e9),
           (double)elapsed / (double)(passes * nframes),
           (double)elapsed / (double)ticks);

    all_lat = malloc(lat_passes * nframes * sizeof *all_lat);
    for (size_t p = 0; p < lat_passes; p++) {
        run_pass(e, scratch, out, (int64_t)(passes + 1 + p) * span, lat);
        memcpy(all_lat + nlat, lat, nframes * sizeof *lat);
        nlat += nframes;
    }
    qsort(all_lat, nlat, sizeof *all_lat, compare_i64);
    printf("latency per frame: p50 %lld ns, p99 %lld ns, p99.9 %lld ns, "
           "max %lld ns (%zu frames timed)\n",
           (long long)all_lat[nlat / 2], (long long)all_lat[nlat * 99 / 100],
           (long long)all_lat[nlat * 999 / 1000],
           (long long)all_lat[nlat - 1], nlat);
    cs_ruleset_stats(cs_engine_rules(e), &rstats);
    printf("rules: %zu, %llu Lua calls, %llu alerts, %llu instruments\n",
           cs_ruleset_count(cs_engine_rules(e)),
           (unsigned long long)rstats.lua_calls,
           (unsigned long long)cs_engine_stats(e)->alerts_fired,
           (unsigned long long)cs_engine_stats(e)->instruments);
    free(all_lat);
    free(lat);
    free(out);
    cs_venue_scratch_free(scratch);
    cs_engine_free(e);
}

/* Parsing alone: the floor under every other figure. */
static void bench_parse_only(void)
{
    struct cs_venue_scratch *scratch = cs_venue_scratch_new();
    struct cs_parse_out *out = malloc(sizeof *out);
    size_t passes = 2000000 / nframes + 1, ticks = 0;
    int64_t t0 = cs_time_mono_ns(), elapsed;

    for (size_t p = 0; p < passes; p++) {
        for (size_t i = 0; i < nframes; i++) {
            frames[i].venue->parse(scratch, frames[i].text, frames[i].len, 0,
                                   out);
            ticks += out->n;
        }
    }
    elapsed = cs_time_mono_ns() - t0;
    printf("== parse only\n");
    printf("throughput: %.0f frames/s on one core, %.0f ns per frame "
           "(%zu ticks)\n", (double)(passes * nframes) / ((double)elapsed / 1e9),
           (double)elapsed / (double)(passes * nframes), ticks);
    free(out);
    cs_venue_scratch_free(scratch);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
            resident = 0;
        }
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* 10,000 instruments, each ticking every 24 s for 23 hours and every
 * second for the last hour: every bucket of both windows holds data, the
 * steady worst case. Prices random-walk. */
static void bench_memory(const char *dir)
{
    char config[1200], empty[1100], text[2400];
    struct cs_engine *e;
    enum { N = 10000 };
    static char names[N][16], prices[N][24];
    struct cs_tick tick;
    long rss_before = rss_kb();
    int64_t t0 = 1700000000LL * CS_NS_PER_S;
    uint64_t rng = 88172645463325252ULL;
    double *px = malloc(N * sizeof *px);
    size_t bytes;

    /* Windows only: this measures what instruments hold, not rule cost. */
    snprintf(empty, sizeof empty, "%s/no_rules", dir);
    mkdir(empty, 0700);
    snprintf(text, sizeof text, "return { rules = '%s', windows = { '1h', "
             "'24h' }, log_level = 'error' }\n", empty);
    snprintf(config, sizeof config, "%s/memory.lua", dir);
    write_file(config, text);
    e = new_engine(config);
    memset(&tick, 0, sizeof tick);
    tick.exchange = "binance";
    tick.kind = CS_TICK_TRADE;
    tick.has_price = true;
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "S%05dUSDT", i);
        px[i] = 100.0;
    }
    for (int64_t s = 0; s < 24 * 3600; s++) {
        if (s < 23 * 3600 && s % 24 != 0) {
            continue;
        }
        for (int i = 0; i < N; i++) {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
            px[i] *= 1.0 + ((double)(rng % 2001) - 1000.0) / 1e6;
            snprintf(prices[i], sizeof prices[i], "%.4f", px[i]);
            tick.raw_symbol.ptr = names[i];
            tick.raw_symbol.len = strlen(names[i]);
            tick.price_text.ptr = prices[i];
            tick.price_text.len = strlen(prices[i]);
            cs_decimal_parse(prices[i], strlen(prices[i]), &tick.price);
            tick.ts_ns = t0 + s * CS_NS_PER_S;
            cs_engine_tick(e, &tick);
        }
    }
    bytes = cs_engine_window_bytes(e);
    printf("memory: %d instruments with full 1h and 24h windows: %.1f KB "
           "of window data per instrument; process RSS grew %.1f KB per "
           "instrument (all engine state)\n", N,
           (double)bytes / N / 1024.0,
           (double)(rss_kb() - rss_before) / N);
    free(px);
    cs_engine_free(e);
}

int main(int argc, char **argv)
{
    const char *source = argc > 1 ? argv[1] : getenv("CS_SOURCE_DIR");
    char path[2048], dir[] = "/tmp/cs-bench-XXXXXX";
    static const char *const files[][2] = {
        { "binance", "binance/ws_spot_combined_2021-04-17.jsonl" },
        { "binance", "binance/ws_spot_combined_2021-10-12.jsonl" },
        { "coinbase", "coinbase/advanced_trade_ws_2026-08-09_part1.jsonl" },
        { "coinbase", "coinbase/exchange_ws_feed_2021-04-17_A.jsonl" },
    };
    const char *config;

    static char source_abs[1024];
    if (realpath(source ? source : ".", source_abs) == NULL) {
        fprintf(stderr, "cannot resolve %s\n", source ? source : ".");
        return 1;
    }
    source = source_abs;
    cs_log_set_level(CS_LOG_ERROR);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/tests/fixtures/exchanges/%s", source,
                 files[i][1]);
        load_frames(path, cs_venue_find(files[i][0]));
    }
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    bench_parse_only();
    config = make_config(source, dir, LUA_NONE);
    bench_throughput("parse + windows (1h, 24h) + shipped rules", config);
    config = make_config(source, dir, LUA_PREFILTERED);
    bench_throughput("... + 10 Lua rules behind a C prefilter (prefilter_pct "
                     "= 1.5)", config);
    config = make_config(source, dir, LUA_EVERY_TICK);
    bench_throughput("... + 10 Lua rules, each called on every tick it "
                     "watches", config);
    if (argc < 3 || strcmp(argv[2], "--no-memory") != 0) {
        bench_memory(dir);
    }
    return 0;
}
