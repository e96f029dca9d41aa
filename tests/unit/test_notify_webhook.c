/* Webhook payloads: the JSON document, Slack, Discord and Telegram shapes,
 * their size limits, escaping of hostile text, and the HMAC signature.
 * Payloads are parsed back with cJSON, so what is checked is what a
 * receiver sees. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cryptosup/notify_webhook.h"
#include "testlib.h"

static void sample(struct cs_alert *a)
{
    memset(a, 0, sizeof *a);
    a->id = 7;
    a->status = CS_ALERT_FIRING;
    strcpy(a->rule, "move_1h_2pct");
    strcpy(a->severity, "warning");
    strcpy(a->exchange, "binance");
    strcpy(a->symbol, "BTC/USDT");
    strcpy(a->raw_symbol, "BTCUSDT");
    a->ts_ns = 1678629600LL * 1000000000LL;   /* 2023-03-12 14:00:00 UTC */
    a->window_s = 3600;
    a->has_change = true;
    a->change = 0.0213;
    strcpy(a->price, "62033.71");
    strcpy(a->reference, "60740.00");
}

static void config(struct cs_config_webhook *c, enum cs_webhook_format f)
{
    memset(c, 0, sizeof *c);
    c->name = "webhook:ops";
    c->format = f;
    c->title = "cryptosup: {count} alert(s)";
    c->text = "{status} {severity} {rule}: {exchange} {symbol} {change_pct} "
              "over {window}, price {price} {message}";
    c->chat_id = "-100123";
    c->route.max_per_hour = 20;
}

static cJSON *parse(const char *s, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(s, len);
    CHECK(j != NULL);
    return j;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_json(void)
{
    struct cs_config_webhook c;
    struct cs_alert a[2];
    size_t len;
    char *p;
    cJSON *j, *list, *first;

    config(&c, CS_WEBHOOK_JSON);
    sample(&a[0]);
    sample(&a[1]);
    a[1].status = CS_ALERT_RESOLVED;
    a[1].has_change = false;
    a[1].reference[0] = '\0';
    strcpy(a[1].message, "quote \" backslash \\ nl \n nul-free \x01");
    p = cs_webhook_payload(&c, false, a, 2, 2, "123.4.5", &len);
    CHECK_INT(strlen(p), len);
    j = parse(p, len);
    CHECK_STR(str(j, "version"), "1");
    CHECK_STR(str(j, "source"), "cryptosup");
    CHECK_STR(str(j, "route"), "webhook:ops");
    CHECK_STR(str(j, "id"), "123.4.5");
    CHECK_STR(str(j, "kind"), "alerts");
    CHECK_STR(str(j, "status"), "firing");
    CHECK_INT(cJSON_GetObjectItem(j, "count")->valueint, 2);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "truncated")));
    list = cJSON_GetObjectItem(j, "alerts");
    CHECK_INT(cJSON_GetArraySize(list), 2);
    first = cJSON_GetArrayItem(list, 0);
    CHECK_INT(cJSON_GetObjectItem(first, "id")->valueint, 7);
    CHECK_STR(str(first, "state"), "firing");
    CHECK_STR(str(first, "rule"), "move_1h_2pct");
    CHECK_STR(str(first, "exchange"), "binance");
    CHECK_STR(str(first, "symbol"), "BTC/USDT");
    CHECK_STR(str(first, "raw_symbol"), "BTCUSDT");
    CHECK(cJSON_GetObjectItem(first, "ts")->valuedouble == 1678629600000.0);
    CHECK_STR(str(first, "window"), "1h");
    CHECK_NEAR(cJSON_GetObjectItem(first, "change")->valuedouble, 0.0213,
               1e-12);
    CHECK_STR(str(first, "price"), "62033.71");   /* exact, a string */
    CHECK_STR(str(first, "reference"), "60740.00");
    {
        cJSON *second = cJSON_GetArrayItem(list, 1);
        CHECK_STR(str(second, "state"), "resolved");
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(second, "change")));
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(second, "reference")));
        CHECK_STR(str(second, "message"),
                  "quote \" backslash \\ nl \n nul-free \x01");
    }
    cJSON_Delete(j);
    free(p);
    /* A digest that lists 1 of 40 held alerts says so. */
    p = cs_webhook_payload(&c, true, a, 1, 40, "9", &len);
    j = parse(p, len);
    CHECK_STR(str(j, "kind"), "digest");
    CHECK_INT(cJSON_GetObjectItem(j, "count")->valueint, 40);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "truncated")));
    cJSON_Delete(j);
    free(p);
}

static void test_slack(void)
{
    struct cs_config_webhook c;
    struct cs_alert a;
    size_t len;
    char *p;
    const char *text;
    cJSON *j;

    config(&c, CS_WEBHOOK_SLACK);
    sample(&a);
    strcpy(a.message, "<!channel> & <https://evil|click>\nsecond line");
    p = cs_webhook_payload(&c, false, &a, 1, 1, "1", &len);
    j = parse(p, len);
    text = str(j, "text");
    CHECK(text != NULL);
    if (text) {
        CHECK(strncmp(text, "cryptosup: 1 alert(s)\nfiring warning "
                      "move_1h_2pct: binance BTC/USDT +2.13% over 1h, "
                      "price 62033.71 ", 95) == 0);
        /* Markup is escaped: no channel ping, no link. */
        CHECK(strstr(text, "&lt;!channel&gt; &amp; &lt;https://evil|click"
                     "&gt; second line") != NULL);
        CHECK(strchr(text, '<') == NULL);
        /* One line per alert: the message's line break became a space. */
        CHECK(strchr(strchr(text, '\n') + 1, '\n') == NULL);
    }
    CHECK_INT(cJSON_GetArraySize(j), 1);
    cJSON_Delete(j);
    free(p);
}

static void test_discord_limit(void)
{
    struct cs_config_webhook c;
    struct cs_alert *a = calloc(200, sizeof *a);
    size_t len;
    char *p;
    const char *text;
    const cJSON *am;
    cJSON *j;

    config(&c, CS_WEBHOOK_DISCORD);
    for (int i = 0; i < 200; i++) {
        sample(&a[i]);
        strcpy(a[i].message, "@everyone €€€ 🚀");
    }
    p = cs_webhook_payload(&c, false, a, 200, 200, "1", &len);
    j = parse(p, len);
    text = str(j, "content");
    CHECK(text != NULL);
    if (text) {
        CHECK(strlen(text) <= 2000);
        CHECK(strstr(text, "more") != NULL);   /* "... and N more" */
        CHECK(strstr(text, "cryptosup: 200 alert(s)") == text);
    }
    /* Mentions are disabled whatever the text says. */
    am = cJSON_GetObjectItem(j, "allowed_mentions");
    CHECK(am != NULL && cJSON_IsArray(cJSON_GetObjectItem(am, "parse")) &&
          cJSON_GetArraySize(cJSON_GetObjectItem(am, "parse")) == 0);
    cJSON_Delete(j);
    free(p);
    free(a);
}

static void test_telegram(void)
{
    struct cs_config_webhook c;
    struct cs_alert *a = calloc(300, sizeof *a);
    size_t len;
    char *p;
    const char *text;
    cJSON *j;

    config(&c, CS_WEBHOOK_TELEGRAM);
    for (int i = 0; i < 300; i++) {
        sample(&a[i]);
    }
    p = cs_webhook_payload(&c, true, a, 300, 1000, "1", &len);
    j = parse(p, len);
    CHECK_STR(str(j, "chat_id"), "-100123");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "disable_web_page_preview")));
    CHECK(cJSON_GetObjectItem(j, "parse_mode") == NULL);   /* plain text */
    text = str(j, "text");
    CHECK(text != NULL);
    if (text) {
        CHECK(strlen(text) <= 4096);
        CHECK(strstr(text, "cryptosup digest: 1000 alert(s) held past "
                     "max_per_hour (20)") == text);
        CHECK(strstr(text, "more") != NULL);
    }
    cJSON_Delete(j);
    free(p);
    free(a);
}

static void test_signature(void)
{
    char sig[80];
    /* printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret */
    cs_webhook_signature("s3cret", 1700000000, "{\"a\":1}", 7, sig);
    CHECK_STR(sig, "sha256=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737"
                   "cdb789e4cc6e098940");
}

int main(void)
{
    test_json();
    test_slack();
    test_discord_limit();
    test_telegram();
    test_signature();
    return cs_test_finish("test_notify_webhook");
}
