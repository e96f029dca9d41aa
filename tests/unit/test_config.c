/* config.lua loading: defaults, every key, symbol forms, and errors that
 * name file, line and key. */
#include "cryptosup/config.h"
#include "scratch.h"
#include "testlib.h"

static struct cs_config *load_ok(const char *path)
{
    struct cs_config *cfg = NULL;
    char *errors = NULL;
    enum cs_err err = cs_config_load(path, &cfg, &errors);
    CHECK_INT(err, CS_OK);
    if (errors) {
        fprintf(stderr, "unexpected errors:\n%s", errors);
        free(errors);
    }
    return cfg;
}

/* Load a config expected to fail and return its error text. */
static char *load_bad(const char *path)
{
    struct cs_config *cfg = NULL;
    char *errors = NULL;
    CHECK_INT(cs_config_load(path, &cfg, &errors), CS_ERR_INVAL);
    CHECK(cfg == NULL);
    CHECK(errors != NULL);
    return errors ? errors : strdup("");
}

static void expect_error(const char *dir, const char *text,
                         const char *expected)
{
    const char *path = scratch_write(dir, "bad.lua", text);
    char *errors = load_bad(path);
    if (strstr(errors, expected) == NULL) {
        cs_test_fail(__FILE__, __LINE__, "expected \"%s\" in:\n%s", expected,
                     errors);
    } else {
        cs_test_passed++;
    }
    free(errors);
}

static void test_defaults(void)
{
    struct cs_config *cfg = load_ok(NULL);
    if (cfg == NULL) {
        return;
    }
    CHECK(cfg->all_symbols);
    CHECK(cfg->nrule_files >= 1);
    CHECK(cfg->lua_dir != NULL);
    CHECK_INT(cfg->rule_failures_to_park, 1);
    cs_config_free(cfg);
}

static void test_full(const char *dir)
{
    char rules_dir[600];
    const char *path;
    struct cs_config *cfg;

    snprintf(rules_dir, sizeof rules_dir, "%s/rules", dir);
    scratch_write(dir, "rules/b.lua", "return { name='b', window='1h', "
                  "threshold_pct=1 }\n");
    scratch_write(dir, "rules/a.lua", "return { name='a', window='1h', "
                  "threshold_pct=1 }\n");
    scratch_write(dir, "rules/notes.txt", "not a rule\n");
    path = scratch_write(dir, "full.lua",
        "-- a full config\n"
        "return {\n"
        "  log_level = 'warn',\n"
        "  rules = 'rules',\n"
        "  lua_path = 'lua',\n"
        "  windows = { '24h', '5m', 3600 and '1h' },\n"
        "  exchanges = {\n"
        "    binance = { symbols = { 'btc/usdt', 'SXPBTC', 'ethusdt' } },\n"
        "    coinbase = { symbols = 'BTC-USD' },\n"
        "  },\n"
        "  limits = { lua_memory_mb = 16, lua_instructions = 5000,\n"
        "             rule_failures_before_park = 3, max_instruments = 10 },\n"
        "}\n");
    cfg = load_ok(path);
    if (cfg == NULL) {
        return;
    }
    CHECK_INT(cfg->log_level, CS_LOG_WARN);
    CHECK(!cfg->all_symbols);
    CHECK_INT(cfg->nrule_files, 2);
    CHECK(strstr(cfg->rule_files[0], "/rules/a.lua") != NULL);
    CHECK(strstr(cfg->rule_files[1], "/rules/b.lua") != NULL);
    CHECK_INT(cfg->nwindows, 3);
    CHECK_INT(cfg->windows_s[0], 300);
    CHECK_INT(cfg->windows_s[1], 3600);
    CHECK_INT(cfg->windows_s[2], 86400);
    CHECK_INT(cfg->lua_memory_bytes, 16 << 20);
    CHECK_INT(cfg->lua_instructions, 5000);
    CHECK_INT(cfg->rule_failures_to_park, 3);
    CHECK_INT(cfg->max_instruments, 10);
    CHECK_INT(cfg->nexchanges, 2);
    for (size_t i = 0; i < cfg->nexchanges; i++) {
        struct cs_config_exchange *x = &cfg->exchanges[i];
        if (strcmp(x->name, "binance") == 0) {
            CHECK_INT(x->nsymbols, 3);
            CHECK_STR(x->symbols[0].symbol, "BTC/USDT");
            CHECK_STR(x->symbols[0].raw, "BTCUSDT");
            CHECK_STR(x->symbols[1].symbol, "SXP/BTC");
            CHECK_STR(x->symbols[1].raw, "SXPBTC");
            CHECK_STR(x->symbols[2].symbol, "ETH/USDT");
        } else {
            CHECK_STR(x->name, "coinbase");
            CHECK_INT(x->nsymbols, 1);
            CHECK_STR(x->symbols[0].symbol, "BTC/USD");
            CHECK_STR(x->symbols[0].raw, "BTC-USD");
        }
    }
    cs_config_free(cfg);
}

static void test_errors(const char *dir)
{
    expect_error(dir, "return {\n  log_level = 'info',\n  colour = 'red',\n}\n",
                 "bad.lua:3: colour: unknown key");
    expect_error(dir, "return {\n  limits = {\n    lua_memory_mb = 'lots',\n"
                 "  },\n}\n", "bad.lua:3: limits.lua_memory_mb: expected a "
                 "number, got string");
    expect_error(dir, "return {\n  limits = { lua_memroy_mb = 1 },\n}\n",
                 "bad.lua:2: limits.lua_memroy_mb: unknown key");
    expect_error(dir, "return {\n exchanges = {\n  kraken2 = {},\n },\n}\n",
                 "bad.lua:3: exchanges.kraken2: unknown exchange");
    expect_error(dir, "return {\n exchanges = { binance = { symbols = "
                 "{ 'FOO' } } },\n}\n", "cannot tell base from quote in "
                 "\"FOO\"");
    expect_error(dir, "return {\n  windows = { '1x' },\n}\n",
                 "bad.lua:2: windows: bad duration \"1x\"");
    expect_error(dir, "return {\n  log_level = 'loud',\n}\n",
                 "bad.lua:2: log_level: expected \"debug\"");
    expect_error(dir, "return 42\n", "config.lua must return a table");
    expect_error(dir, "return {\n  x = = 1\n}\n", "bad.lua:2:");
    expect_error(dir, "error('boom')\n", "bad.lua:1: boom");
    expect_error(dir, "while true do end\n", "instruction");
    expect_error(dir, "return { rules = 'no/such/dir' }\n",
                 "rules: cannot read \"no/such/dir\"");
}

/* A returned table with trapping metamethods is read raw: no trap runs. */
static void test_hostile_table(const char *dir)
{
    const char *path = scratch_write(dir, "trap.lua",
        "return setmetatable({ log_level = 'error' }, {\n"
        "  __index = function() error('trap') end,\n"
        "  __pairs = function() error('trap') end,\n"
        "  __len = function() error('trap') end })\n");
    struct cs_config *cfg = load_ok(path);
    if (cfg) {
        CHECK_INT(cfg->log_level, CS_LOG_ERROR);
        cs_config_free(cfg);
    }
}

int main(void)
{
    const char *dir = scratch_dir();
    char keep[256];
    snprintf(keep, sizeof keep, "%s", dir);
    setenv("CRYPTOSUP_DATA_DIR", getenv("CS_SOURCE_DIR") ?
           getenv("CS_SOURCE_DIR") : ".", 1);
    test_defaults();
    test_full(keep);
    test_errors(keep);
    test_hostile_table(keep);
    return cs_test_finish("test_config");
}
