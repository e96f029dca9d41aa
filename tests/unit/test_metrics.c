/* The metrics registry: text format, label escaping, histograms, and the
 * engine collector's families after real ticks and a reload. */
#include "cryptosup/engine.h"
#include "cryptosup/metrics.h"
#include "scratch.h"
#include "testlib.h"

static void collect_test(void *ctx, struct cs_metrics_writer *w)
{
    const char *labels[] = { "symbol", (const char *)ctx, NULL };
    static const double bounds[] = { 0.01, 0.1, 1 };
    static const uint64_t counts[] = { 2, 1, 0 };
    cs_metrics_family(w, "x_total", CS_METRIC_COUNTER, "A \\ help\nline");
    cs_metrics_sample(w, "x_total", labels, 3);
    cs_metrics_sample(w, "x_total", NULL, 0.25);
    cs_metrics_family(w, "lat_seconds", CS_METRIC_HISTOGRAM, "Latency");
    cs_metrics_histogram(w, "lat_seconds", NULL, bounds, counts, 3, 0.07, 4);
}

static void test_format(void)
{
    struct cs_metrics *m = cs_metrics_new();
    char *text;

    cs_metrics_register(m, collect_test, "A\"B\\C\nD");
    text = cs_metrics_render(m, NULL);
    CHECK(strstr(text, "# HELP x_total A \\\\ help\\nline\n") != NULL);
    CHECK(strstr(text, "# TYPE x_total counter\n") != NULL);
    CHECK(strstr(text, "x_total{symbol=\"A\\\"B\\\\C\\nD\"} 3\n") != NULL);
    CHECK(strstr(text, "x_total 0.25\n") != NULL);
    CHECK(strstr(text, "lat_seconds_bucket{le=\"0.01\"} 2\n") != NULL);
    CHECK(strstr(text, "lat_seconds_bucket{le=\"0.1\"} 3\n") != NULL);
    CHECK(strstr(text, "lat_seconds_bucket{le=\"1\"} 3\n") != NULL);
    CHECK(strstr(text, "lat_seconds_bucket{le=\"+Inf\"} 4\n") != NULL);
    CHECK(strstr(text, "lat_seconds_sum 0.070000000000000007\n") != NULL);
    CHECK(strstr(text, "lat_seconds_count 4\n") != NULL);
    free(text);
    cs_metrics_unregister(m, "nothing");
    cs_metrics_unregister(m, NULL);
    text = cs_metrics_render(m, NULL);
    CHECK(strstr(text, "x_total") != NULL);
    free(text);
    cs_metrics_free(m);
}

static void test_engine_collector(void)
{
    const char *dir = scratch_dir();
    char cfgtext[512], rules[300];
    struct cs_config *cfg = NULL;
    struct cs_ruleset *rs = NULL;
    struct cs_engine *e;
    struct cs_metrics *m = cs_metrics_new();
    struct cs_venue_scratch *scratch = cs_venue_scratch_new();
    const char *path;
    char *text;
    static const char frame[] =
        "{\"e\":\"trade\",\"E\":1700000000000,\"s\":\"BTCUSDT\",\"t\":1,"
        "\"p\":\"65083.67\",\"q\":\"1\",\"T\":1700000000000}";

    snprintf(rules, sizeof rules, "%s/rules", dir);
    scratch_write(dir, "rules/r.lua",
                  "return { name = 'r', window = '1h', threshold_pct = 2 }\n");
    snprintf(cfgtext, sizeof cfgtext, "return { rules = '%s' }\n", rules);
    path = scratch_write(dir, "c.lua", cfgtext);
    CHECK_INT(cs_config_load(path, &cfg, NULL), CS_OK);
    CHECK_INT(cs_ruleset_load(cfg, &rs, NULL), CS_OK);
    e = cs_engine_new(cfg, rs, NULL);
    cs_engine_register_metrics(e, m);
    cs_engine_frame(e, &cs_venue_binance, scratch, frame, strlen(frame), 0);
    cs_engine_frame(e, &cs_venue_binance, scratch, "junk", 4, 0);
    CHECK(cs_engine_reload(e, "/no/such/config.lua") != CS_OK);
    text = cs_metrics_render(m, NULL);
    CHECK(strstr(text, "crypto_price{exchange=\"binance\",symbol=\"BTC/USDT\"} "
                       "65083.67\n") != NULL);
    CHECK(strstr(text, "cryptosup_ticks_total{exchange=\"binance\"} 1\n")
          != NULL);
    CHECK(strstr(text, "cryptosup_frames_total{class=\"malformed\"} 1\n")
          != NULL);
    CHECK(strstr(text, "cryptosup_config_last_reload_successful 0\n") != NULL);
    CHECK(strstr(text, "cryptosup_config_reloads_total{result=\"failure\"} 1\n")
          != NULL);
    CHECK(strstr(text, "cryptosup_rules 1\n") != NULL);
    CHECK(strstr(text, "# TYPE cryptosup_alerts_total counter\n") != NULL);
    free(text);
    cs_metrics_unregister(m, e);
    cs_metrics_free(m);
    cs_venue_scratch_free(scratch);
    cs_engine_free(e);
}

int main(void)
{
    setenv("CRYPTOSUP_DATA_DIR", getenv("CS_SOURCE_DIR") ?
           getenv("CS_SOURCE_DIR") : ".", 1);
    cs_log_set_level(CS_LOG_ERROR);
    test_format();
    test_engine_collector();
    return cs_test_finish("test_metrics");
}
