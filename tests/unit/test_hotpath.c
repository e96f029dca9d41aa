/* The hot path allocates nothing per tick: after a warm-up that fills the
 * windows, an hour of ticks through windows, threshold rules and a Lua rule
 * must not call malloc, calloc or realloc even once. The test binary
 * interposes the allocator (glibc's __libc_* entry points do the work);
 * under AddressSanitizer, which owns the allocator, it only reports a skip. */
#include <stddef.h>

#include "cryptosup/engine.h"
#include "scratch.h"
#include "testlib.h"

#if defined(__SANITIZE_ADDRESS__)
#define CS_CAN_INTERPOSE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CS_CAN_INTERPOSE 0
#endif
#endif
#ifndef CS_CAN_INTERPOSE
#define CS_CAN_INTERPOSE 1
#endif

#if CS_CAN_INTERPOSE
static int counting;
static unsigned long allocations;

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void __libc_free(void *ptr);

void *malloc(size_t size);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);

void *malloc(size_t size)
{
    allocations += counting;
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
    allocations += counting;
    return __libc_calloc(count, size);
}

void *realloc(void *ptr, size_t size)
{
    allocations += counting;
    return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
    __libc_free(ptr);
}

static struct cs_engine *start(const char *dir)
{
    struct cs_config *cfg = NULL;
    struct cs_ruleset *rs = NULL;
    char *errors = NULL;
    char text[1024];
    const char *path;

    scratch_write(dir, "rules/classic.lua",
                  "return {\n"
                  "  { name = 'd', window = '24h', threshold_pct = 5, rearm_pct = 4 },\n"
                  "  { name = 'h', window = '1h', threshold_pct = 2, rearm_pct = 1.5 },\n"
                  "}\n");
    scratch_write(dir, "rules/lua.lua",
                  "return { name = 'l', window = '1h',\n"
                  "  condition = function(tick, w, firing)\n"
                  "    local c = w['1h'].change\n"
                  "    if c == nil then return nil end\n"
                  "    return c > 0.03 or c < -0.03, tick.symbol\n"
                  "  end }\n");
    snprintf(text, sizeof text, "return { rules = '%s/rules', "
             "windows = { '1h', '24h' } }\n", dir);
    path = scratch_write(dir, "config.lua", text);
    if (cs_config_load(path, &cfg, &errors) != CS_OK ||
        cs_ruleset_load(cfg, &rs, &errors) != CS_OK) {
        cs_test_fail(__FILE__, __LINE__, "load: %s", errors ? errors : "?");
        return NULL;
    }
    return cs_engine_new(cfg, rs, NULL);
}

/* One trade per second per symbol; prices random-walk around 100. */
static void feed(struct cs_engine *e, int64_t from_s, int64_t to_s,
                 uint64_t *rng)
{
    static const char *const symbols[] = { "BTCUSDT", "ETHUSDT", "SOLUSDT" };
    static double px[3] = { 100, 100, 100 };
    char text[32];
    struct cs_tick t;

    memset(&t, 0, sizeof t);
    t.exchange = "binance";
    t.kind = CS_TICK_TRADE;
    t.has_price = true;
    for (int64_t s = from_s; s < to_s; s++) {
        for (int i = 0; i < 3; i++) {
            *rng ^= *rng << 13; *rng ^= *rng >> 7; *rng ^= *rng << 17;
            px[i] *= 1.0 + ((double)(*rng % 2001) - 1000.0) / 2e5;
            snprintf(text, sizeof text, "%.2f", px[i]);
            cs_decimal_parse(text, strlen(text), &t.price);
            t.raw_symbol.ptr = symbols[i];
            t.raw_symbol.len = strlen(symbols[i]);
            t.ts_ns = (1700000000LL + s) * 1000000000LL;
            cs_engine_tick(e, &t);
        }
    }
}

int main(void)
{
    char dir[256];
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    struct cs_engine *e;

    snprintf(dir, sizeof dir, "%s", scratch_dir());
    cs_log_set_level(CS_LOG_ERROR);
    e = start(dir);
    if (e == NULL) {
        return cs_test_finish("test_hotpath");
    }
    feed(e, 0, 26 * 3600, &rng);          /* fill both windows */
    counting = 1;
    feed(e, 26 * 3600, 27 * 3600, &rng);  /* one more hour, 10,800 ticks */
    counting = 0;
    printf("allocations during 10,800 ticks: %lu\n", allocations);
    CHECK_INT(allocations, 0);
    CHECK(cs_engine_stats(e)->rule_evaluations > 3 * 27 * 3600);
    cs_engine_free(e);
    return cs_test_finish("test_hotpath");
}
#else
int main(void)
{
    printf("test_hotpath: allocation counting needs the plain allocator; "
           "skipped under AddressSanitizer\n");
    return cs_test_finish("test_hotpath");
}
#endif
