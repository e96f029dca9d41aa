/* The zero-allocation JSON scanner: a valid/invalid corpus, escapes, depth
 * skipping, accessors, every prefix of real frames, every fixture line, a
 * mutation loop, and a timing line for the hot path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cryptosup/json.h"
#include "testlib.h"

#define CAP 4096

static struct cs_json_tok toks[CAP];

/* Parses a heap copy of exactly `len` bytes so ASan flags any read past
 * the end (the scanner must never rely on a terminating NUL). */
static enum cs_json_status parse_n(struct cs_json *js, const char *s,
                                   size_t len, uint32_t cap, unsigned depth)
{
    static char *copy;
    enum cs_json_status st;

    free(copy);
    copy = malloc(len ? len : 1);
    memcpy(copy, s, len);
    st = cs_json_parse(js, copy, len, toks, cap, depth);
    return st;
}

static enum cs_json_status parse(struct cs_json *js, const char *s)
{
    return parse_n(js, s, strlen(s), CAP, 0);
}

static void expect(const char *s, enum cs_json_status want, int line)
{
    struct cs_json js;
    enum cs_json_status got = parse(&js, s);
    if (got != want) {
        cs_test_fail(__FILE__, line, "'%s': %s, want %s", s,
                     cs_json_strerror(got), cs_json_strerror(want));
    } else {
        cs_test_passed++;
    }
}
#define EXPECT(s, st) expect(s, st, __LINE__)

static void test_valid(void)
{
    static const char *const ok[] = {
        "{}", "[]", "0", "-0", "1", "-1.5e+10", "1E-2", "0.25", "12e5",
        "\"\"", "\"x\"", "true", "false", "null", " \t\r\n{ } \n",
        "[1,2,3]", "[[],[[]],{}]", "{\"a\":{\"b\":{\"c\":[null]}}}",
        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"",
        "\"caf\xc3\xa9\"", "{\"\":\"\"}", "[-0.0e-0]",
        "{\"a\" : 1 , \"b\" :[ true ,false, null ] }",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        EXPECT(ok[i], CS_JSON_OK);
    }
}

static void test_invalid(void)
{
    static const char *const syntax[] = {
        "{\"a\":1,}", "[1,]", "[01]", "{\"a\" 1}", "{a:1}", "'x'", "[1 2]",
        "\"\\x\"", "\"\\u12G4\"", "\"a\tb\"", "\"a\nb\"", "truE", "nul ",
        "[1]x", "{}{}", "--1", "[1.]", ".5", "+1", "NaN", "Infinity",
        "[-]", "{\"a\":1 \"b\":2}", "[,1]", "]", "}", "\"\\u00\"", "[1e]",
        "{\"a\":}", "{,}", "[1,,2]", "{\"a\":1]", "[1}", "\x01", "1 2",
        "[\"a\" \"b\"]", "{\"a\"::1}", "{1:2}", "[.1]", "[1.e5]", "[0x1]",
        "[+1]", "[- 1]", "\"\\U0041\"", "[tRue]", "\xef\xbb\xbf{}",
    };
    static const char *const trunc[] = {
        "", "   ", "{", "[", "[1,", "{\"a\"", "{\"a\":", "{\"a\":1",
        "\"abc", "\"ab\\", "\"ab\\u00", "tr", "fals", "nu", "-", "1.",
        "1e", "1e+", "[1", "{\"a\":[1,{\"b\":", "[\"x\",",
    };

    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++) {
        EXPECT(syntax[i], CS_JSON_ESYNTAX);
    }
    for (size_t i = 0; i < sizeof trunc / sizeof trunc[0]; i++) {
        EXPECT(trunc[i], CS_JSON_ETRUNC);
    }
    /* NUL bytes are not whitespace. */
    {
        struct cs_json js;
        CHECK_INT(parse_n(&js, "{}\0", 3, CAP, 0), CS_JSON_ESYNTAX);
        CHECK_INT(parse_n(&js, "\"a\0b\"", 5, CAP, 0), CS_JSON_ESYNTAX);
        CHECK_INT(js.count, 0);
        CHECK_INT(js.error_offset, 2);
    }
}

static void test_nesting_and_limits(void)
{
    char deep[300];
    struct cs_json js;
    size_t n = 0;

    for (int i = 0; i < CS_JSON_MAX_NEST; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < CS_JSON_MAX_NEST; i++) {
        deep[n++] = ']';
    }
    CHECK_INT(parse_n(&js, deep, n, CAP, 0), CS_JSON_OK);
    CHECK_INT(js.count, CS_JSON_MAX_NEST);

    n = 0;
    for (int i = 0; i < CS_JSON_MAX_NEST + 1; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < CS_JSON_MAX_NEST + 1; i++) {
        deep[n++] = ']';
    }
    CHECK_INT(parse_n(&js, deep, n, CAP, 0), CS_JSON_EDEPTH);
    /* Skipping does not lift the nesting limit. */
    CHECK_INT(parse_n(&js, deep, n, CAP, 1), CS_JSON_EDEPTH);
    memset(deep, '[', sizeof deep);
    CHECK_INT(parse_n(&js, deep, sizeof deep, CAP, 0), CS_JSON_EDEPTH);

    CHECK_INT(parse_n(&js, "[1,2,3]", 7, 3, 0), CS_JSON_ETOOMANY);
    CHECK_INT(js.count, 0);
    CHECK_INT(parse_n(&js, "[1,2,3]", 7, 4, 0), CS_JSON_OK);
    CHECK_INT(parse_n(&js, "{\"a\":1}", 7, 2, 0), CS_JSON_ETOOMANY);
    CHECK_INT(parse_n(&js, "1", 1, 0, 0), CS_JSON_ETOOMANY);
    /* A skipped subtree costs one token. */
    CHECK_INT(parse_n(&js, "[[1,2,3,4,5,6]]", 15, 2, 1), CS_JSON_OK);
    CHECK_INT(js.count, 2);
}

static void test_structure(void)
{
    const char *s = "{\"a\":1,\"b\":[true,false,null,\"x\"],\"c\":{\"d\":\"e\"},"
                    "\"n\":-12.5e1}";
    struct cs_json js;
    int a, b, c, d, n;
    struct cs_text t;

    CHECK_INT(cs_json_parse(&js, s, strlen(s), toks, CAP, 0), CS_JSON_OK);
    CHECK_INT(js.count, 15);
    CHECK_INT(toks[0].type, CS_JSON_OBJECT);
    CHECK_INT(toks[0].size, 4);
    CHECK_INT(toks[0].next, 15);
    CHECK_INT(toks[0].start, 0);
    CHECK_INT(toks[0].end, strlen(s));

    a = cs_json_get(&js, 0, "a");
    b = cs_json_get(&js, 0, "b");
    c = cs_json_get(&js, 0, "c");
    n = cs_json_get(&js, 0, "n");
    CHECK_INT(a, 2);
    CHECK_INT(toks[a].type, CS_JSON_NUMBER);
    CHECK_INT(b, 4);
    CHECK_INT(toks[b].type, CS_JSON_ARRAY);
    CHECK_INT(toks[b].size, 4);
    CHECK_INT(toks[b].next, 9);
    CHECK_INT(toks[cs_json_at(&js, b, 0)].type, CS_JSON_TRUE);
    CHECK_INT(toks[cs_json_at(&js, b, 1)].type, CS_JSON_FALSE);
    CHECK_INT(toks[cs_json_at(&js, b, 2)].type, CS_JSON_NULL);
    CHECK(cs_json_str_eq(&js, cs_json_at(&js, b, 3), "x"));
    CHECK_INT(cs_json_at(&js, b, 4), -1);
    CHECK_INT(toks[c].type, CS_JSON_OBJECT);
    d = cs_json_get(&js, c, "d");
    CHECK(cs_json_str_eq(&js, d, "e"));
    CHECK(!cs_json_str_eq(&js, d, "ee"));
    CHECK(!cs_json_str_eq(&js, d, ""));
    CHECK_INT(cs_json_get(&js, c, "a"), -1);
    CHECK_INT(cs_json_get(&js, 0, "z"), -1);
    CHECK_INT(cs_json_get(&js, 0, ""), -1);
    CHECK_INT(cs_json_get(&js, b, "a"), -1);     /* not an object */
    CHECK_INT(cs_json_at(&js, 0, 0), -1);        /* not an array */
    t = cs_json_text(&js, n);
    CHECK_INT(t.len, 7);
    CHECK(memcmp(t.ptr, "-12.5e1", 7) == 0);
    t = cs_json_text(&js, c);
    CHECK_INT(t.len, 9);
    CHECK(memcmp(t.ptr, "{\"d\":\"e\"}", 9) == 0);

    /* Bad indexes are safe. */
    CHECK_INT(cs_json_get(&js, -1, "a"), -1);
    CHECK_INT(cs_json_get(&js, 999, "a"), -1);
    CHECK_INT(cs_json_at(&js, 999, 0), -1);
    CHECK_INT(cs_json_text(&js, -5).len, 0);
    CHECK(!cs_json_str_eq(&js, 999, "x"));
}

static void test_escapes(void)
{
    const char *s = "{\"k\\\"ey\":\"v\\u00e9\\n\",\"plain\":\"a/b\","
                    "\"p\":\"1\\u0032\"}";
    struct cs_json js;
    int v;
    struct cs_decimal d;

    CHECK_INT(parse(&js, s), CS_JSON_OK);
    CHECK(toks[1].escaped);
    CHECK_INT(toks[1].end - toks[1].start, 5);   /* k\"ey, raw bytes */
    CHECK_INT(cs_json_get(&js, 0, "k\\\"ey"), -1);
    CHECK_INT(cs_json_get(&js, 0, "k\"ey"), -1);
    v = cs_json_get(&js, 0, "plain");
    CHECK(v > 0 && !toks[v].escaped);
    CHECK(cs_json_str_eq(&js, v, "a/b"));
    v = cs_json_get(&js, 0, "p");
    CHECK(toks[v].escaped);
    CHECK(!cs_json_decimal(&js, v, &d));     /* escaped text is not used */
    CHECK(!cs_json_str_eq(&js, 2, "v\\u00e9\\n"));
}

static void test_numbers_and_ints(void)
{
    const char *s = "[1618677373913,\"1068572090\",-5,\"-5\","
                    "18446744073709551615,18446744073709551616,"
                    "9223372036854775807,9223372036854775808,"
                    "-9223372036854775808,-9223372036854775809,1.5,1e3,\"\","
                    "true,\"12a\",105944.20,\"65083.67\",\"abc\",\" 1\"]";
    struct cs_json js;
    int64_t i64;
    uint64_t u64;
    struct cs_decimal d;

    CHECK_INT(parse(&js, s), CS_JSON_OK);
#define AT(i) cs_json_at(&js, 0, i)
    CHECK(cs_json_int64(&js, AT(0), &i64) && i64 == 1618677373913LL);
    CHECK(cs_json_uint64(&js, AT(1), &u64) && u64 == 1068572090ULL);
    CHECK(cs_json_int64(&js, AT(2), &i64) && i64 == -5);
    CHECK(!cs_json_uint64(&js, AT(2), &u64));
    CHECK(cs_json_int64(&js, AT(3), &i64) && i64 == -5);
    CHECK(cs_json_uint64(&js, AT(4), &u64) && u64 == UINT64_MAX);
    CHECK(!cs_json_uint64(&js, AT(5), &u64));
    CHECK(cs_json_int64(&js, AT(6), &i64) && i64 == INT64_MAX);
    CHECK(!cs_json_int64(&js, AT(7), &i64));
    CHECK(cs_json_int64(&js, AT(8), &i64) && i64 == INT64_MIN);
    CHECK(!cs_json_int64(&js, AT(9), &i64));
    CHECK(!cs_json_int64(&js, AT(10), &i64));
    CHECK(!cs_json_int64(&js, AT(11), &i64));
    CHECK(!cs_json_int64(&js, AT(12), &i64));
    CHECK(!cs_json_uint64(&js, AT(12), &u64));
    CHECK(!cs_json_int64(&js, AT(13), &i64));
    CHECK(!cs_json_uint64(&js, AT(14), &u64));
    CHECK(cs_json_decimal(&js, AT(15), &d) && d.mant == 10594420
          && d.exp == -2);
    CHECK(cs_json_decimal(&js, AT(16), &d) && d.mant == 6508367
          && d.exp == -2);
    CHECK(!cs_json_decimal(&js, AT(17), &d));
    CHECK(!cs_json_decimal(&js, AT(18), &d));
    CHECK(!cs_json_decimal(&js, AT(13), &d));
    CHECK(!cs_json_decimal(&js, 0, &d));
    CHECK(!cs_json_int64(&js, -1, &i64));
#undef AT
}

static void test_skipping(void)
{
    const char *s = "{\"a\":[1,2,{\"x\":1}],\"b\":{\"c\":[1]},\"d\":5,"
                    "\"e\":[]}";
    struct cs_json js;
    int a, b, d, e;
    struct cs_text t;

    CHECK_INT(parse_n(&js, s, strlen(s), CAP, 1), CS_JSON_OK);
    CHECK_INT(js.count, 9);
    a = cs_json_get(&js, 0, "a");
    b = cs_json_get(&js, 0, "b");
    d = cs_json_get(&js, 0, "d");
    e = cs_json_get(&js, 0, "e");
    CHECK_INT(a, 2);
    CHECK(toks[a].skipped);
    CHECK_INT(toks[a].size, 0);
    CHECK_INT(toks[a].next, 3);
    CHECK_INT(toks[a].type, CS_JSON_ARRAY);
    t = cs_json_text(&js, a);
    CHECK_INT(t.len, 13);
    CHECK(memcmp(t.ptr, "[1,2,{\"x\":1}]", 13) == 0);
    CHECK(toks[b].skipped);
    CHECK_INT(toks[b].type, CS_JSON_OBJECT);
    CHECK_INT(cs_json_get(&js, b, "c"), -1);     /* skipped: not walkable */
    CHECK_INT(cs_json_at(&js, a, 0), -1);
    CHECK_INT(d, 6);
    CHECK(toks[e].skipped);

    /* Depth 2 keeps a's elements but skips the object inside it. */
    CHECK_INT(parse_n(&js, s, strlen(s), CAP, 2), CS_JSON_OK);
    a = cs_json_get(&js, 0, "a");
    CHECK(!toks[a].skipped);
    CHECK_INT(toks[a].size, 3);
    CHECK(toks[cs_json_at(&js, a, 2)].skipped);
    CHECK(cs_json_get(&js, 0, "d") > 0);

    /* Skipped content is still validated. */
    CHECK_INT(parse_n(&js, "{\"a\":[1,}", 9, CAP, 1), CS_JSON_ESYNTAX);
    CHECK_INT(parse_n(&js, "{\"a\":[\"\\q\"]}", 12, CAP, 1),
              CS_JSON_ESYNTAX);
    CHECK_INT(parse_n(&js, "{\"a\":[1,2", 9, CAP, 1), CS_JSON_ETRUNC);
}

/* Every proper prefix of a frame whose root is a container is truncated,
 * never a syntax error and never an out-of-bounds read. */
static void check_prefixes(const char *frame, size_t len)
{
    struct cs_json js;
    unsigned wrong = 0;

    for (size_t n = 0; n < len; n++) {
        enum cs_json_status st = parse_n(&js, frame, n, CAP, 0);
        if (st != CS_JSON_ETRUNC && wrong++ < 3) {
            cs_test_fail(__FILE__, __LINE__, "prefix %zu/%zu: %s", n, len,
                         cs_json_strerror(st));
        }
        st = parse_n(&js, frame, n, CAP, 2);
        if (st != CS_JSON_ETRUNC && wrong++ < 3) {
            cs_test_fail(__FILE__, __LINE__, "skip prefix %zu/%zu: %s", n,
                         len, cs_json_strerror(st));
        }
    }
    CHECK_INT(wrong, 0);
    CHECK_INT(parse_n(&js, frame, len, CAP, 0), CS_JSON_OK);
}

/* Calls fn(line, len) for each line of a fixture file. */
static size_t for_each_line(const char *rel, void (*fn)(const char *, size_t))
{
    size_t size, count = 0;
    char *buf = cs_test_read_file(cs_test_fixture(rel), &size);
    char *p = buf, *end = buf + size;

    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n > 0) {
            fn(p, n);
            count++;
        }
        p += n + 1;
    }
    free(buf);
    return count;
}

static unsigned prefix_frames;

static void prefix_some(const char *line, size_t len)
{
    /* Every 40th frame keeps the run short; all kinds still show up. */
    if (prefix_frames++ % 40 == 0) {
        check_prefixes(line, len);
    }
}

static unsigned fixture_bad;

static void parse_ok(const char *line, size_t len)
{
    struct cs_json js;
    enum cs_json_status st = parse_n(&js, line, len, CAP, 0);
    if (st != CS_JSON_OK && fixture_bad++ < 3) {
        cs_test_fail(__FILE__, __LINE__, "fixture line: %s at %zu",
                     cs_json_strerror(st), js.error_offset);
    }
    /* And with skipping, the root's direct members are always reachable. */
    if (parse_n(&js, line, len, CAP, 1) != CS_JSON_OK && fixture_bad++ < 3) {
        cs_test_fail(__FILE__, __LINE__, "fixture line with depth 1");
    }
}

static void test_fixtures(void)
{
    static const char *const files[] = {
        "exchanges/binance/ws_spot_combined_2021-04-17.jsonl",
        "exchanges/binance/ws_spot_combined_2021-10-12.jsonl",
        "exchanges/binance/ws_doc_examples.jsonl",
        "exchanges/binance/rest_ticker_24hr.jsonl",
        "exchanges/binance/rest_ticker_price.jsonl",
        "exchanges/coinbase/advanced_trade_ws_2026-08-09_part1.jsonl",
        "exchanges/coinbase/exchange_ws_feed_2021-04-17_A.jsonl",
        "exchanges/coinbase/rest_advanced_trade_market_ticker.jsonl",
        "exchanges/bybit/ws_v5_linear_tickers_2026-08-09_BTC_ETH.jsonl",
        "exchanges/okx/ws_v5_public_2022-05-13.jsonl",
        "exchanges/kraken/ws_v2_doc_derived.jsonl",
    };
    size_t lines = 0;

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        lines += for_each_line(files[i], parse_ok);
    }
    CHECK_INT(fixture_bad, 0);
    CHECK_INT(lines, 1228 + 265 + 10 + 4 + 3 + 152 + 157 + 1 + 418 + 117 + 4);
    for_each_line("exchanges/binance/ws_spot_combined_2021-04-17.jsonl",
                  prefix_some);
    for_each_line("exchanges/coinbase/advanced_trade_ws_2026-08-09_part1.jsonl",
                  prefix_some);
    CHECK(prefix_frames > 30);
}

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Mutated frames: whatever the bytes, a status from the enum and, on OK,
 * a token tree whose `next` links stay inside the array. */
static void test_mutations(void)
{
    const char *seed = "{\"stream\":\"veteth@aggTrade\",\"data\":{\"e\":"
                       "\"aggTrade\",\"E\":1618677380040,\"s\":\"VETETH\","
                       "\"a\":4357795,\"p\":\"0.00009390\",\"q\":[1,{\"x\":"
                       "\"\\u0041\"}],\"m\":true,\"M\":null}}";
    size_t n = strlen(seed);
    char buf[512];
    unsigned bad = 0, ok = 0;

    for (int i = 0; i < 20000; i++) {
        struct cs_json js;
        size_t len = n;
        enum cs_json_status st;

        memcpy(buf, seed, n);
        for (int k = (int)(rng() % 4); k >= 0 && len > 0; k--) {
            size_t at = (size_t)(rng() % len);
            switch (rng() % 4) {
            case 0: buf[at] ^= (char)(1u << (rng() % 8)); break;
            case 1: buf[at] = "{}[]\",:\\0e-.tfn \x80"[rng() % 17]; break;
            case 2: len = at; break;
            default:
                if (len < sizeof buf) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = (char)rng();
                    len++;
                }
            }
        }
        st = parse_n(&js, buf, len, 64, (unsigned)(rng() % 4));
        if (st > CS_JSON_EDEPTH) {
            bad++;
        }
        if (st == CS_JSON_OK) {
            ok++;
            for (uint32_t t = 0; t < js.count; t++) {
                if (toks[t].next <= t || toks[t].next > js.count
                    || toks[t].end > len || toks[t].start > toks[t].end) {
                    bad++;
                }
            }
        }
    }
    CHECK_INT(bad, 0);
    CHECK(ok > 0);
}

/* Not a pass/fail check (sanitizer builds are slow): prints the cost of a
 * typical 150-byte frame for the record. */
static void report_speed(void)
{
    const char *frame = "{\"stream\":\"veteth@bookTicker\",\"data\":{\"u\":"
                        "327912856,\"s\":\"VETETH\",\"b\":\"0.00009381\",\"B\":"
                        "\"95017.00000000\",\"a\":\"0.00009401\",\"A\":"
                        "\"88406.00000000\"}}";
    size_t len = strlen(frame);
    struct cs_json js;
    struct timespec t0, t1;
    const int rounds = 200000;
    unsigned sum = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < rounds; i++) {
        sum += cs_json_parse(&js, frame, len, toks, CAP, 0) == CS_JSON_OK;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_INT(sum, rounds);
    printf("json: %zu-byte frame: %.0f ns/parse\n", len,
           ((double)(t1.tv_sec - t0.tv_sec) * 1e9
            + (double)(t1.tv_nsec - t0.tv_nsec)) / rounds);
}

int main(void)
{
    test_valid();
    test_invalid();
    test_nesting_and_limits();
    test_structure();
    test_escapes();
    test_numbers_and_ints();
    test_skipping();
    test_fixtures();
    test_mutations();
    report_speed();
    return cs_test_finish("test_json");
}
