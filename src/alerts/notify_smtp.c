/* Email notifier: grouping, hourly cap with digest, retries, on the
 * notifier thread. The SMTP exchange is one blocking curl_easy call per
 * attempt (never on the loop thread). */
#include "cryptosup/notify_smtp.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts/route.h"
#include "cryptosup/alert_render.h"
#include "cryptosup/log.h"
#include "cryptosup/sbuf.h"
#include "cryptosup/timeutil.h"

#define LOG_SMTP "alerts.smtp"

/* ---- pure helpers ---- */

void cs_smtp_header_clean(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *p = ' ';
        }
    }
}

/* Base64 by libcrypto (already linked for webhook signatures); encoded
 * words hold at most 39 bytes, so 52 characters and the NUL fit. */
static void b64_put(struct cs_sbuf *b, const unsigned char *in, size_t n)
{
    unsigned char out[64];
    int len = EVP_EncodeBlock(out, in, (int)n);
    cs_sbuf_put(b, (const char *)out, len > 0 ? (size_t)len : 0);
}

char *cs_smtp_encode_header(const char *text)
{
    char *clean = cs_xstrdup(text);
    bool plain = strstr(clean, "=?") == NULL;
    struct cs_sbuf b = { 0 };
    size_t len, i = 0;

    cs_smtp_header_clean(clean);
    for (const unsigned char *p = (const unsigned char *)clean; *p; p++) {
        if (*p >= 0x80) {
            plain = false;
        }
    }
    if (plain) {
        return clean;
    }
    /* Encoded words of at most 39 bytes (52 base64 characters, 64 with
     * the wrapper, so even the first line, after "Subject: ", stays within
     * RFC 2047's 76), never splitting a UTF-8 sequence, folded. */
    len = strlen(clean);
    while (i < len) {
        size_t n = len - i < 39 ? len - i : 39;
        while (n > 0 && i + n < len &&
               ((unsigned char)clean[i + n] & 0xC0) == 0x80) {
            n--;
        }
        if (n == 0) {
            n = len - i < 39 ? len - i : 39;
        }
        if (i > 0) {
            cs_sbuf_str(&b, "\r\n ");
        }
        cs_sbuf_str(&b, "=?UTF-8?B?");
        b64_put(&b, (const unsigned char *)clean + i, n);
        cs_sbuf_str(&b, "?=");
        i += n;
    }
    free(clean);
    return cs_sbuf_take(&b);
}

char *cs_smtp_body_crlf(const char *text)
{
    struct cs_sbuf b = { 0 };
    for (const char *p = text; *p; p++) {
        if (*p == '\r') {
            cs_sbuf_str(&b, "\r\n");
            if (p[1] == '\n') {
                p++;
            }
        } else if (*p == '\n') {
            cs_sbuf_str(&b, "\r\n");
        } else {
            cs_sbuf_put(&b, p, 1);
        }
    }
    return cs_sbuf_take(&b);
}

void cs_smtp_format_date(int64_t unix_ns, char *buf, size_t size)
{
    static const char *const days[] = {
        "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
    };
    static const char *const months[] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
        "Oct", "Nov", "Dec"
    };
    time_t t = (time_t)(unix_ns / CS_NS_PER_S);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, size, "Thu, 01 Jan 1970 00:00:00 +0000");
        return;
    }
    snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000",
             days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *cs_smtp_build_message(const struct cs_config_email *cfg,
                            const char *subject, const char *body,
                            int64_t unix_ns, const char *message_id)
{
    struct cs_sbuf b = { 0 };
    char date[64];
    char *v, *crlf;

    v = cs_smtp_encode_header(cfg->from);
    cs_sbuf_printf(&b, "From: %s\r\n", v);
    free(v);
    cs_sbuf_str(&b, "To: ");
    for (size_t i = 0; i < cfg->nto; i++) {
        v = cs_xstrdup(cfg->to[i]);
        cs_smtp_header_clean(v);
        if (i > 0) {
            cs_sbuf_str(&b, ",\r\n ");
        }
        cs_sbuf_str(&b, v);
        free(v);
    }
    cs_sbuf_str(&b, "\r\n");
    v = cs_smtp_encode_header(subject);
    cs_sbuf_str(&b, "Subject: ");
    cs_sbuf_str(&b, v);
    cs_sbuf_str(&b, "\r\n");
    free(v);
    cs_smtp_format_date(unix_ns, date, sizeof date);
    cs_sbuf_printf(&b, "Date: %s\r\n", date);
    v = cs_xstrdup(message_id);
    cs_smtp_header_clean(v);
    cs_sbuf_printf(&b, "Message-ID: %s\r\n", v);
    free(v);
    cs_sbuf_str(&b, "MIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=UTF-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n"
               "Auto-Submitted: auto-generated\r\n"
               "\r\n");
    crlf = cs_smtp_body_crlf(body);
    cs_sbuf_str(&b, crlf);
    if (b.len < 2 || memcmp(b.p + b.len - 2, "\r\n", 2) != 0) {
        cs_sbuf_str(&b, "\r\n");
    }
    free(crlf);
    return cs_sbuf_take(&b);
}

/* ---- the notifier: an email transport under a route ---- */

struct cs_notify_smtp {
    const struct cs_config_email *cfg;
    char host[128];           /* Message-ID domain */
    struct cs_route *route;
};

static void render_group_text(const struct cs_config_email *c,
                              const struct cs_alert *a, size_t n,
                              struct cs_sbuf *subject, struct cs_sbuf *body)
{
    char *v;
    size_t lead = n;

    /* A group that mixes both is about what fires: the subject names the
     * first firing alert, and says RESOLVED only when nothing fires. */
    for (size_t i = 0; i < n && lead == n; i++) {
        if (a[i].status == CS_ALERT_FIRING) {
            lead = i;
        }
    }
    if (lead == n) {
        cs_sbuf_str(subject, "RESOLVED: ");
        lead = 0;
    }
    v = cs_alert_render(c->subject, &a[lead], n);
    cs_sbuf_str(subject, v);
    free(v);
    if (n > 1 && strstr(c->subject, "{count}") == NULL) {
        cs_sbuf_printf(subject, " (+%zu more)", n - 1);
    }
    if (n > 1) {
        cs_sbuf_printf(body, "%zu alerts:\n\n", n);
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            cs_sbuf_str(body, "\n");
        }
        if (a[i].status == CS_ALERT_RESOLVED) {
            cs_sbuf_str(body, "RESOLVED\n");
        }
        v = cs_alert_render(c->body, &a[i], n);
        cs_sbuf_str(body, v);
        free(v);
    }
}

static void render_digest_text(const struct cs_config_email *c,
                               const struct cs_alert *a, size_t n,
                               size_t total, struct cs_sbuf *subject,
                               struct cs_sbuf *body)
{
    cs_sbuf_printf(subject, "[cryptosup] digest: %zu alert(s) held past "
                   "max_per_hour", total);
    cs_sbuf_printf(body, "%zu alert(s) were not sent individually because "
                   "max_per_hour (%lld) was reached:\n\n", total,
                   (long long)c->route.max_per_hour);
    for (size_t i = 0; i < n; i++) {
        char *line = cs_alert_render("{time}  {severity}  {rule}  "
                                     "{exchange} {symbol}  {change_pct} "
                                     "over {window}  {price}", &a[i], 1);
        if (a[i].status == CS_ALERT_RESOLVED) {
            cs_sbuf_str(body, "resolved: ");
        }
        cs_sbuf_str(body, line);
        cs_sbuf_str(body, "\n");
        free(line);
    }
    if (n < total) {
        cs_sbuf_printf(body, "(and %zu more, not listed)\n", total - n);
    }
}

static char *smtp_render(void *ctx, enum cs_route_kind kind,
                         const struct cs_alert *a, size_t n, size_t total,
                         const char *id, size_t *len)
{
    struct cs_notify_smtp *s = ctx;
    struct cs_sbuf subject = { 0 }, body = { 0 }, out = { 0 };
    char msgid[256];
    char *msg;

    if (kind == CS_ROUTE_DIGEST) {
        render_digest_text(s->cfg, a, n, total, &subject, &body);
    } else {
        render_group_text(s->cfg, a, n, &subject, &body);
    }
    snprintf(msgid, sizeof msgid, "<%s.cryptosup@%s>", id, s->host);
    msg = cs_smtp_build_message(s->cfg, subject.p ? subject.p : "",
                                body.p ? body.p : "", cs_time_now_ns(),
                                msgid);
    cs_sbuf_free(&subject);
    cs_sbuf_free(&body);
    /* The envelope travels with the message: a retry after a reload that
     * changed recipients still goes where its To: header says. Addresses
     * are validated plain (no line breaks), so "\n" separates them. */
    cs_sbuf_printf(&out, "%s\n", s->cfg->from_addr);
    for (size_t i = 0; i < s->cfg->nto; i++) {
        cs_sbuf_printf(&out, "%s\n", s->cfg->to[i]);
    }
    cs_sbuf_str(&out, "\n");
    cs_sbuf_str(&out, msg);
    free(msg);
    *len = out.len;
    return cs_sbuf_take(&out);
}

struct upload {
    const char *data;
    size_t len, pos;
};

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
    struct upload *u = arg;
    size_t room = size * nmemb, n = u->len - u->pos;
    if (n > room) {
        n = room;
    }
    memcpy(buf, u->data + u->pos, n);
    u->pos += n;
    return n;
}

/* One blocking SMTP exchange. */
static enum cs_route_send smtp_send(void *ctx, const char *data, size_t len,
                                    const char *id, int64_t timeout_ms,
                                    int64_t *retry_after_ms)
{
    struct cs_notify_smtp *s = ctx;
    const struct cs_config_email *c = s->cfg;
    struct curl_slist *rcpt = NULL;
    const char *p = data, *end = data + len, *msg;
    struct upload u;
    char errbuf[CURL_ERROR_SIZE];
    char from[512];
    const char *pw = NULL;
    CURLcode rc;
    CURL *h;

    (void)retry_after_ms;
    /* The envelope (see smtp_render): from, recipients, an empty line. */
    msg = memchr(p, '\n', (size_t)(end - p));
    if (msg == NULL) {
        return CS_ROUTE_GIVE_UP;
    }
    snprintf(from, sizeof from, "<%.*s>", (int)(msg - p), p);
    for (p = msg + 1; p < end && *p != '\n';) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        char to[512];
        if (nl == NULL) {
            curl_slist_free_all(rcpt);
            return CS_ROUTE_GIVE_UP;
        }
        snprintf(to, sizeof to, "<%.*s>", (int)(nl - p), p);
        rcpt = curl_slist_append(rcpt, to);
        p = nl + 1;
    }
    msg = p < end ? p + 1 : end;
    u.data = msg;
    u.len = (size_t)(end - msg);
    u.pos = 0;
    if (c->username) {
        pw = getenv(c->password_env);
        if (pw == NULL) {
            cs_log_error(LOG_SMTP, "%s: environment variable %s (the SMTP "
                         "password) is not set", c->name, c->password_env);
            curl_slist_free_all(rcpt);
            return CS_ROUTE_RETRY;
        }
    }
    h = curl_easy_init();
    if (h == NULL) {
        curl_slist_free_all(rcpt);
        return CS_ROUTE_RETRY;
    }
    errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u.len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(timeout_ms < 10000 ? timeout_ms : 10000));
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     (long)(c->starttls || strncmp(c->url, "smtps:", 6) == 0
                            ? CURLUSESSL_ALL : CURLUSESSL_NONE));
    if (c->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    }
    if (c->username) {
        curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, pw);
    }
    rc = curl_easy_perform(h);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        cs_log_warn(LOG_SMTP, "%s: message %s: %s: %s", c->name, id,
                    curl_easy_strerror(rc), errbuf[0] ? errbuf : "-");
        return CS_ROUTE_RETRY;
    }
    return CS_ROUTE_SENT;
}

static const struct cs_route_ops smtp_ops = { smtp_render, smtp_send };

struct cs_notify_smtp *cs_notify_smtp_new(const struct cs_config_email *cfg)
{
    struct cs_notify_smtp *s = cs_xcalloc(1, sizeof *s);
    size_t j = 0;
    char raw[128];

    s->cfg = cfg;
    if (gethostname(raw, sizeof raw) != 0) {
        raw[0] = '\0';
    }
    raw[sizeof raw - 1] = '\0';
    for (const char *p = raw; *p && j + 1 < sizeof s->host; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || *p == '.' || *p == '-') {
            s->host[j++] = *p;
        }
    }
    s->host[j] = '\0';
    if (j == 0) {
        snprintf(s->host, sizeof s->host, "cryptosup.localhost");
    }
    s->route = cs_route_new(cfg->name, LOG_SMTP, &smtp_ops, s, &cfg->route);
    return s;
}

void cs_notify_smtp_reconfigure(struct cs_notify_smtp *s,
                                const struct cs_config_email *cfg)
{
    s->cfg = cfg;
    cs_route_reconfigure(s->route, &cfg->route);
}

void cs_notify_smtp_free(struct cs_notify_smtp *s)
{
    if (s == NULL) {
        return;
    }
    cs_route_free(s->route);
    free(s);
}

static enum cs_err smtp_deliver(void *ctx, const struct cs_alert *a)
{
    struct cs_notify_smtp *s = ctx;
    cs_route_accept(s->route, a);
    return CS_OK;
}

static void smtp_flush(void *ctx, int64_t now_mono_ns, bool final,
                       uint64_t *sent, uint64_t *failed)
{
    struct cs_notify_smtp *s = ctx;
    cs_route_flush(s->route, now_mono_ns, final, sent, failed);
}

struct cs_notifier cs_notify_smtp_notifier(struct cs_notify_smtp *s)
{
    struct cs_notifier n;
    memset(&n, 0, sizeof n);
    n.name = s->cfg->name;
    n.deliver = smtp_deliver;
    n.ctx = s;
    n.flush = smtp_flush;
    n.deferred = true;
    return n;
}
