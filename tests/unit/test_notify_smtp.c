/* Email rendering: templates, header sanitising, RFC 2047, dates, CRLF,
 * and that nothing from an alert can add a header. */
#include <stdlib.h>
#include <string.h>

#include "cryptosup/alert_render.h"
#include "cryptosup/notify_smtp.h"
#include "cryptosup/timeutil.h"
#include "testlib.h"

static void sample(struct cs_alert *a)
{
    memset(a, 0, sizeof *a);
    a->status = CS_ALERT_FIRING;
    strcpy(a->rule, "move_1h_2pct");
    strcpy(a->severity, "warning");
    strcpy(a->exchange, "binance");
    strcpy(a->symbol, "BTC/USDT");
    a->ts_ns = 1678629600LL * 1000000000LL;   /* 2023-03-12 14:00:00 UTC */
    a->window_s = 3600;
    a->has_change = true;
    a->change = 0.0213;
    strcpy(a->price, "62033.71");
    strcpy(a->reference, "60740.00");
    strcpy(a->message, "hello");
}

static void test_render(void)
{
    struct cs_alert a;
    char *s;
    sample(&a);
    s = cs_alert_render("[cryptosup] {symbol} {change_pct} over {window}",
                       &a, 1);
    CHECK_STR(s, "[cryptosup] BTC/USDT +2.13% over 1h");
    free(s);
    s = cs_alert_render("{rule}|{exchange}|{severity}|{price}|{reference}|"
                       "{time}|{message}|{count}|{unknown}|{", &a, 7);
    CHECK_STR(s, "move_1h_2pct|binance|warning|62033.71|60740.00|"
                 "2023-03-12 14:00:00 UTC|hello|7|{unknown}|{");
    free(s);
    a.has_change = false;
    a.window_s = 300;
    a.reference[0] = '\0';
    s = cs_alert_render("{change_pct} {window} {reference}", &a, 1);
    CHECK_STR(s, "n/a 5m n/a");
    free(s);
    a.change = -0.05;
    a.has_change = true;
    a.window_s = 86400;
    s = cs_alert_render("{change_pct} {window}", &a, 1);
    CHECK_STR(s, "-5.00% 24h");
    free(s);
}

static void test_header_clean(void)
{
    char s[] = "BTC\r\nBcc: evil@x\ta\x01\x7f";
    cs_smtp_header_clean(s);
    CHECK_STR(s, "BTC  Bcc: evil@x a  ");
    CHECK(strchr(s, '\r') == NULL && strchr(s, '\n') == NULL);
}

static void test_rfc2047(void)
{
    char *s = cs_smtp_encode_header("plain subject");
    CHECK_STR(s, "plain subject");
    free(s);
    /* "Größe" */
    s = cs_smtp_encode_header("Gr\xc3\xb6\xc3\x9f" "e");
    CHECK_STR(s, "=?UTF-8?B?R3LDtsOfZQ==?=");
    free(s);
    /* CR/LF removed before encoding. */
    s = cs_smtp_encode_header("\xc3\xa9\r\nBcc: x");
    CHECK_STR(s, "=?UTF-8?B?w6kgIEJjYzogeA==?=");
    free(s);
    /* Long: folded into several words, no character split. */
    {
        char in[200] = "";
        for (int i = 0; i < 40; i++) {
            strcat(in, "\xe2\x82\xac");   /* euro sign, 3 bytes */
        }
        s = cs_smtp_encode_header(in);
        CHECK(strstr(s, "?=\r\n =?UTF-8?B?") != NULL);
        for (char *w = s; (w = strstr(w, "=?UTF-8?B?")) != NULL; w++) {
            char *end = strstr(w, "?=");
            /* Fits a 76-character line even after "Subject: ". */
            CHECK(end != NULL && end - w + 2 + 9 <= 76);
        }
        free(s);
    }
    /* A literal encoded-word in the text is encoded too. */
    s = cs_smtp_encode_header("=?x?=");
    CHECK(strncmp(s, "=?UTF-8?B?", 10) == 0);
    free(s);
}

static void test_body_and_date(void)
{
    char buf[64];
    char *s = cs_smtp_body_crlf("a\nb\r\nc\rd\n.dot");
    CHECK_STR(s, "a\r\nb\r\nc\r\nd\r\n.dot");
    free(s);
    cs_smtp_format_date(1678629600LL * 1000000000LL, buf, sizeof buf);
    CHECK_STR(buf, "Sun, 12 Mar 2023 14:00:00 +0000");
}

static void test_message(void)
{
    struct cs_config_email c;
    char *to[] = { "a@example.com", "b@example.com", NULL };
    char *m, *hdr_end;
    memset(&c, 0, sizeof c);
    c.from = "cryptosup <alerts@example.com>";
    c.to = to;
    c.nto = 2;
    m = cs_smtp_build_message(&c, "x\r\nBcc: evil@x", "line\n.dot\n",
                              1678629600LL * 1000000000LL,
                              "<1.2@host>\r\nX-Evil: 1");
    hdr_end = strstr(m, "\r\n\r\n");
    CHECK(hdr_end != NULL);
    if (hdr_end) {
        *hdr_end = '\0';
        CHECK(strstr(m, "\r\nBcc:") == NULL);
        CHECK(strstr(m, "\r\nX-Evil:") == NULL);
        CHECK(strstr(m, "Subject: x  Bcc: evil@x\r\n") != NULL);
        CHECK(strstr(m, "From: cryptosup <alerts@example.com>\r\n") == m);
        CHECK(strstr(m, "To: a@example.com,\r\n b@example.com\r\n") != NULL);
        CHECK(strstr(m, "Date: Sun, 12 Mar 2023 14:00:00 +0000\r\n") != NULL);
        CHECK(strstr(m, "MIME-Version: 1.0\r\n") != NULL);
        CHECK(strstr(m, "Content-Type: text/plain; charset=UTF-8\r\n") !=
              NULL);
        CHECK_STR(hdr_end + 4, "line\r\n.dot\r\n");
    }
    free(m);
}

/* The hourly cap and the digest, against a closed port (every attempt
 * fails at once): each accepted alert is counted failed exactly once. */
static void test_cap_and_digest(void)
{
    struct cs_config_email c;
    char *to[] = { "a@example.com", NULL };
    struct cs_notify_smtp *s;
    struct cs_notifier n;
    struct cs_alert a;
    uint64_t sent = 0, failed = 0;
    int64_t now;

    memset(&c, 0, sizeof c);
    c.name = "email";
    c.url = "smtp://127.0.0.1:1";
    c.from = "alerts@example.com";
    c.from_addr = "alerts@example.com";
    c.to = to;
    c.nto = 1;
    c.subject = "{symbol}";
    c.body = "{rule}";
    c.route.group_window_s = 0;
    c.route.max_per_hour = 1;
    c.route.retry_initial_ms = 10;
    c.route.retry_max_ms = 10;
    c.route.retry_attempts = 1;
    c.route.timeout_ms = 2000;
    s = cs_notify_smtp_new(&c);
    n = cs_notify_smtp_notifier(s);
    CHECK(n.deferred && n.flush != NULL);
    sample(&a);
    for (int i = 0; i < 3; i++) {
        CHECK(n.deliver(n.ctx, &a) == CS_OK);
    }
    a.status = CS_ALERT_RESOLVED;     /* send_resolved is off: ignored */
    CHECK(n.deliver(n.ctx, &a) == CS_OK);
    now = cs_time_mono_ns();
    n.flush(n.ctx, now, false, &sent, &failed);
    CHECK_INT(sent, 0);
    CHECK_INT(failed, 1);             /* the one message under the cap */
    n.flush(n.ctx, now + 3601LL * 1000000000LL, false, &sent, &failed);
    CHECK_INT(failed, 3);             /* the digest carried the 2 held */
    n.flush(n.ctx, now + 3602LL * 1000000000LL, true, &sent, &failed);
    CHECK_INT(failed, 3);
    CHECK_INT(sent, 0);
    cs_notify_smtp_free(s);
}

int main(void)
{
    test_render();
    test_header_clean();
    test_rfc2047();
    test_body_and_date();
    test_message();
    test_cap_and_digest();
    return cs_test_finish("test_notify_smtp");
}
