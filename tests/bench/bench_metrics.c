/* Benchmark: rendering the metrics exposition with 10,000 crypto_price
 * series (10,000 watched instruments) plus the engine's own families.
 * Prints the render time and the size of the text. A program that prints
 * figures, not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/engine.h"
#include "cryptosup/log.h"
#include "cryptosup/metrics.h"
#include "cryptosup/timeutil.h"

enum { INSTRUMENTS = 10000, RENDERS = 200 };

int main(void)
{
    struct cs_config *cfg = NULL;
    struct cs_ruleset *rs = NULL;
    struct cs_engine *e;
    struct cs_metrics *m = cs_metrics_new();
    struct cs_tick tick;
    static char names[INSTRUMENTS][16];
    char price[24];
    size_t len = 0;
    int64_t t0, best = INT64_MAX, total = 0;

    cs_log_set_level(CS_LOG_ERROR);
    if (cs_config_load(NULL, &cfg, NULL) != CS_OK ||
        cs_ruleset_load(cfg, &rs, NULL) != CS_OK) {
        fprintf(stderr, "cannot load the default config\n");
        return 1;
    }
    e = cs_engine_new(cfg, rs, NULL);
    cs_engine_register_metrics(e, m);
    memset(&tick, 0, sizeof tick);
    tick.exchange = "binance";
    tick.kind = CS_TICK_TRADE;
    tick.has_price = true;
    for (int i = 0; i < INSTRUMENTS; i++) {
        snprintf(names[i], sizeof names[i], "S%05dUSDT", i);
        snprintf(price, sizeof price, "%d.%04d", 100 + i % 900, i);
        cs_decimal_parse(price, strlen(price), &tick.price);
        tick.raw_symbol.ptr = names[i];
        tick.raw_symbol.len = strlen(names[i]);
        tick.ts_ns = 1700000000LL * CS_NS_PER_S + i;
        cs_engine_tick(e, &tick);
    }
    for (int r = 0; r < RENDERS; r++) {
        char *text;
        int64_t dt;
        t0 = cs_time_mono_ns();
        text = cs_metrics_render(m, &len);
        dt = cs_time_mono_ns() - t0;
        total += dt;
        if (dt < best) {
            best = dt;
        }
        free(text);
    }
    printf("metrics render: %d crypto_price series + engine families, "
           "%zu bytes; %.2f ms per render (best %.2f ms, %d renders)\n",
           INSTRUMENTS, len, (double)total / RENDERS / 1e6, (double)best / 1e6,
           RENDERS);
    cs_metrics_free(m);
    cs_engine_free(e);
    return 0;
}
