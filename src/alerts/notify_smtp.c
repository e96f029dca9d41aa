/* Email notifier: grouping, hourly cap with digest, retries, on the
 * notifier thread. The SMTP exchange is one blocking curl_easy call per
 * attempt (never on the loop thread). */
#include "cryptosup/notify_smtp.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cryptosup/log.h"
#include "cryptosup/timeutil.h"

#define LOG_SMTP "alerts.smtp"
#define GROUP_MAX 1000          /* a group this large is sent at once */
#define HELD_TEXT_MAX 65536     /* digest lines kept (the count is exact) */

/* A growable string. */
struct sbuf {
    char *p;
    size_t len, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap) {
            cap *= 2;
        }
        b->p = cs_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) {
        sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    }
}

static char *sb_take(struct sbuf *b)
{
    if (b->p == NULL) {
        return cs_xstrdup("");
    }
    return b->p;
}

/* ---- pure helpers ---- */

static void format_window(int64_t s, char *buf, size_t size)
{
    if (s <= 0) {
        snprintf(buf, size, "n/a");
    } else if (s % 3600 == 0) {
        snprintf(buf, size, "%lldh", (long long)(s / 3600));
    } else if (s % 60 == 0) {
        snprintf(buf, size, "%lldm", (long long)(s / 60));
    } else {
        snprintf(buf, size, "%llds", (long long)s);
    }
}

char *cs_smtp_render(const char *tmpl, const struct cs_alert *a,
                     size_t count)
{
    struct sbuf b = { 0 };
    char tmp[64];

    for (const char *p = tmpl; *p;) {
        const char *close;
        size_t n;
        const char *val = NULL;
        if (*p != '{' || (close = strchr(p, '}')) == NULL) {
            sb_put(&b, p, 1);
            p++;
            continue;
        }
        n = (size_t)(close - p - 1);
#define KEY(k) (n == sizeof(k) - 1 && memcmp(p + 1, k, n) == 0)
        if (KEY("rule")) {
            val = a->rule;
        } else if (KEY("exchange")) {
            val = a->exchange;
        } else if (KEY("symbol")) {
            val = a->symbol;
        } else if (KEY("severity")) {
            val = a->severity;
        } else if (KEY("message")) {
            val = a->message;
        } else if (KEY("price")) {
            val = a->price[0] ? a->price : "n/a";
        } else if (KEY("reference")) {
            val = a->reference[0] ? a->reference : "n/a";
        } else if (KEY("window")) {
            format_window(a->window_s, tmp, sizeof tmp);
            val = tmp;
        } else if (KEY("change_pct")) {
            if (a->has_change) {
                snprintf(tmp, sizeof tmp, "%+.2f%%", a->change * 100.0);
            } else {
                snprintf(tmp, sizeof tmp, "n/a");
            }
            val = tmp;
        } else if (KEY("time")) {
            cs_time_format_utc(a->ts_ns, tmp, sizeof tmp - 4);
            strcat(tmp, " UTC");
            val = tmp;
        } else if (KEY("count")) {
            snprintf(tmp, sizeof tmp, "%zu", count);
            val = tmp;
        } else if (KEY("status")) {
            val = a->status == CS_ALERT_RESOLVED ? "resolved" : "firing";
        }
#undef KEY
        if (val == NULL) {     /* not a placeholder: keep the text */
            sb_put(&b, p, 1);
            p++;
            continue;
        }
        sb_str(&b, val);
        p = close + 1;
    }
    return sb_take(&b);
}

void cs_smtp_header_clean(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *p = ' ';
        }
    }
}

static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_put(struct sbuf *b, const unsigned char *in, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        char out[4];
        if (i + 1 < n) {
            v |= (unsigned)in[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= in[i + 2];
        }
        out[0] = B64[(v >> 18) & 63];
        out[1] = B64[(v >> 12) & 63];
        out[2] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        out[3] = i + 2 < n ? B64[v & 63] : '=';
        sb_put(b, out, 4);
    }
}

char *cs_smtp_encode_header(const char *text)
{
    char *clean = cs_xstrdup(text);
    bool plain = strstr(clean, "=?") == NULL;
    struct sbuf b = { 0 };
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
    /* Encoded words of at most 45 bytes (60 base64 characters, 72 with
     * the wrapper), never splitting a UTF-8 sequence, folded. */
    len = strlen(clean);
    while (i < len) {
        size_t n = len - i < 45 ? len - i : 45;
        while (n > 0 && i + n < len &&
               ((unsigned char)clean[i + n] & 0xC0) == 0x80) {
            n--;
        }
        if (n == 0) {
            n = len - i < 45 ? len - i : 45;
        }
        if (i > 0) {
            sb_str(&b, "\r\n ");
        }
        sb_str(&b, "=?UTF-8?B?");
        b64_put(&b, (const unsigned char *)clean + i, n);
        sb_str(&b, "?=");
        i += n;
    }
    free(clean);
    return sb_take(&b);
}

char *cs_smtp_body_crlf(const char *text)
{
    struct sbuf b = { 0 };
    for (const char *p = text; *p; p++) {
        if (*p == '\r') {
            sb_str(&b, "\r\n");
            if (p[1] == '\n') {
                p++;
            }
        } else if (*p == '\n') {
            sb_str(&b, "\r\n");
        } else {
            sb_put(&b, p, 1);
        }
    }
    return sb_take(&b);
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
    struct sbuf b = { 0 };
    char date[64];
    char *v, *crlf;

    v = cs_smtp_encode_header(cfg->from);
    sb_printf(&b, "From: %s\r\n", v);
    free(v);
    sb_str(&b, "To: ");
    for (size_t i = 0; i < cfg->nto; i++) {
        v = cs_xstrdup(cfg->to[i]);
        cs_smtp_header_clean(v);
        if (i > 0) {
            sb_str(&b, ",\r\n ");
        }
        sb_str(&b, v);
        free(v);
    }
    sb_str(&b, "\r\n");
    v = cs_smtp_encode_header(subject);
    sb_str(&b, "Subject: ");
    sb_str(&b, v);
    sb_str(&b, "\r\n");
    free(v);
    cs_smtp_format_date(unix_ns, date, sizeof date);
    sb_printf(&b, "Date: %s\r\n", date);
    v = cs_xstrdup(message_id);
    cs_smtp_header_clean(v);
    sb_printf(&b, "Message-ID: %s\r\n", v);
    free(v);
    sb_str(&b, "MIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=UTF-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n"
               "Auto-Submitted: auto-generated\r\n"
               "\r\n");
    crlf = cs_smtp_body_crlf(body);
    sb_str(&b, crlf);
    if (b.len < 2 || memcmp(b.p + b.len - 2, "\r\n", 2) != 0) {
        sb_str(&b, "\r\n");
    }
    free(crlf);
    return sb_take(&b);
}

/* ---- the notifier ---- */

struct outgoing {
    struct outgoing *next;
    char *id;                 /* Message-ID */
    char *data;
    size_t len;
    size_t nalerts;           /* alerts it carries (counted on outcome) */
    int attempts;
    int64_t next_ns;          /* monotonic: next attempt */
};

struct cs_notify_smtp {
    struct cs_config_email cfg;
    char host[128];
    uint64_t seq;
    /* The open group. */
    struct cs_alert *group;
    size_t ngroup;
    int64_t group_start_ns;
    /* The hourly cap. */
    int64_t hour_start_ns;
    int64_t sent_this_hour;
    size_t held;              /* alerts past the cap this hour */
    struct sbuf held_text;
    /* Messages waiting to be sent. */
    struct outgoing *out_head, *out_tail;
    int64_t now_ns;           /* last tick */
};

static int64_t mono_now(void)
{
    return cs_time_mono_ns();
}

struct cs_notify_smtp *cs_notify_smtp_new(const struct cs_config_email *cfg)
{
    struct cs_notify_smtp *s = cs_xcalloc(1, sizeof *s);
    size_t j = 0;
    char raw[128];

    cs_config_email_copy(&s->cfg, cfg);
    s->group = cs_xcalloc(GROUP_MAX, sizeof *s->group);
    s->hour_start_ns = mono_now();
    s->now_ns = s->hour_start_ns;
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
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return s;
}

static void free_outgoing(struct outgoing *o)
{
    free(o->id);
    free(o->data);
    free(o);
}

void cs_notify_smtp_free(struct cs_notify_smtp *s)
{
    if (s == NULL) {
        return;
    }
    while (s->out_head) {
        struct outgoing *o = s->out_head;
        s->out_head = o->next;
        free_outgoing(o);
    }
    free(s->held_text.p);
    free(s->group);
    cs_config_email_release(&s->cfg);
    free(s);
    curl_global_cleanup();
}

static bool in_list(char *const *list, size_t n, const char *v)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], v) == 0) {
            return true;
        }
    }
    return false;
}

static void enqueue(struct cs_notify_smtp *s, const char *subject,
                    const char *body, size_t nalerts)
{
    struct outgoing *o = cs_xcalloc(1, sizeof *o);
    char id[256];
    int64_t unix_ns = cs_time_now_ns();

    snprintf(id, sizeof id, "<%lld.%ld.%llu.cryptosup@%s>",
             (long long)(unix_ns / 1000), (long)getpid(),
             (unsigned long long)++s->seq, s->host);
    o->id = cs_xstrdup(id);
    o->data = cs_smtp_build_message(&s->cfg, subject, body, unix_ns, id);
    o->len = strlen(o->data);
    o->nalerts = nalerts;
    o->next_ns = s->now_ns;
    if (s->out_tail) {
        s->out_tail->next = o;
    } else {
        s->out_head = o;
    }
    s->out_tail = o;
    s->sent_this_hour++;
}

static void hold_alert(struct cs_notify_smtp *s, const struct cs_alert *a)
{
    s->held++;
    if (s->held_text.len < HELD_TEXT_MAX) {
        char *line = cs_smtp_render("{time}  {severity}  {rule}  {exchange} "
                                    "{symbol}  {change_pct} over {window}  "
                                    "{price}", a, 1);
        sb_str(&s->held_text, a->status == CS_ALERT_RESOLVED ?
               "resolved: " : "");
        sb_str(&s->held_text, line);
        sb_str(&s->held_text, "\n");
        free(line);
    }
}

/* Turn the open group into a message (or hold it past the cap). */
static void close_group(struct cs_notify_smtp *s)
{
    struct sbuf subject = { 0 }, body = { 0 };
    char *v;

    if (s->ngroup == 0) {
        return;
    }
    if (s->sent_this_hour >= s->cfg.max_per_hour) {
        for (size_t i = 0; i < s->ngroup; i++) {
            hold_alert(s, &s->group[i]);
        }
        cs_log_warn(LOG_SMTP, "max_per_hour (%lld) reached: %zu alert(s) "
                    "held for the hourly digest",
                    (long long)s->cfg.max_per_hour, s->ngroup);
        s->ngroup = 0;
        return;
    }
    if (s->group[0].status == CS_ALERT_RESOLVED) {
        sb_str(&subject, "RESOLVED: ");
    }
    v = cs_smtp_render(s->cfg.subject, &s->group[0], s->ngroup);
    sb_str(&subject, v);
    free(v);
    if (s->ngroup > 1 && strstr(s->cfg.subject, "{count}") == NULL) {
        sb_printf(&subject, " (+%zu more)", s->ngroup - 1);
    }
    if (s->ngroup > 1) {
        sb_printf(&body, "%zu alerts:\n\n", s->ngroup);
    }
    for (size_t i = 0; i < s->ngroup; i++) {
        if (i > 0) {
            sb_str(&body, "\n");
        }
        if (s->group[i].status == CS_ALERT_RESOLVED) {
            sb_str(&body, "RESOLVED\n");
        }
        v = cs_smtp_render(s->cfg.body, &s->group[i], s->ngroup);
        sb_str(&body, v);
        free(v);
    }
    enqueue(s, subject.p, body.p ? body.p : "", s->ngroup);
    free(subject.p);
    free(body.p);
    s->ngroup = 0;
}

static void roll_hour(struct cs_notify_smtp *s)
{
    struct sbuf body = { 0 };
    char subject[160];
    size_t held = s->held;

    if (s->now_ns - s->hour_start_ns < 3600 * CS_NS_PER_S) {
        return;
    }
    s->hour_start_ns = s->now_ns;
    s->sent_this_hour = 0;
    if (held == 0) {
        return;
    }
    snprintf(subject, sizeof subject, "[cryptosup] digest: %zu alert(s) "
             "held past max_per_hour", held);
    sb_printf(&body, "%zu alert(s) were not sent individually during the "
              "last hour because max_per_hour (%lld) was reached:\n\n",
              held, (long long)s->cfg.max_per_hour);
    sb_str(&body, s->held_text.p ? s->held_text.p : "");
    if (s->held_text.len >= HELD_TEXT_MAX) {
        sb_str(&body, "(list truncated)\n");
    }
    enqueue(s, subject, body.p, held);
    free(body.p);
    free(s->held_text.p);
    memset(&s->held_text, 0, sizeof s->held_text);
    s->held = 0;
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

/* One blocking attempt. */
static bool send_once(struct cs_notify_smtp *s, const struct outgoing *o)
{
    const struct cs_config_email *c = &s->cfg;
    struct curl_slist *rcpt = NULL;
    struct upload u = { o->data, o->len, 0 };
    char errbuf[CURL_ERROR_SIZE];
    char from[512];
    CURLcode rc;
    CURL *h;

    if (c->username) {
        const char *pw = getenv(c->password_env);
        if (pw == NULL) {
            cs_log_error(LOG_SMTP, "environment variable %s (the SMTP "
                         "password) is not set", c->password_env);
            return false;
        }
    }
    h = curl_easy_init();
    if (h == NULL) {
        return false;
    }
    errbuf[0] = '\0';
    snprintf(from, sizeof from, "<%s>", c->from_addr);
    for (size_t i = 0; i < c->nto; i++) {
        char to[512];
        snprintf(to, sizeof to, "<%s>", c->to[i]);
        rcpt = curl_slist_append(rcpt, to);
    }
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &u);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)o->len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(c->timeout_ms < 10000 ? c->timeout_ms : 10000));
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     (long)(c->starttls || strncmp(c->url, "smtps:", 6) == 0
                            ? CURLUSESSL_ALL : CURLUSESSL_NONE));
    if (c->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    }
    if (c->username) {
        curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, getenv(c->password_env));
    }
    rc = curl_easy_perform(h);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        cs_log_warn(LOG_SMTP, "message %s: %s: %s", o->id,
                    curl_easy_strerror(rc), errbuf[0] ? errbuf : "-");
        return false;
    }
    return true;
}

static int64_t backoff_ms(const struct cs_config_email *c, int attempts)
{
    int64_t ms = c->retry_initial_ms;
    for (int i = 1; i < attempts && ms < c->retry_max_ms; i++) {
        ms *= 2;
    }
    return ms < c->retry_max_ms ? ms : c->retry_max_ms;
}

/* Attempt every due message. */
static void send_due(struct cs_notify_smtp *s, uint64_t *sent,
                     uint64_t *failed)
{
    struct outgoing **pp = &s->out_head, *prev = NULL;

    while (*pp) {
        struct outgoing *o = *pp;
        bool done = false;
        if (o->next_ns <= s->now_ns) {
            o->attempts++;
            if (send_once(s, o)) {
                cs_log_info(LOG_SMTP, "sent message %s (%zu alert(s), "
                            "attempt %d)", o->id, o->nalerts, o->attempts);
                *sent += o->nalerts;
                done = true;
            } else if (o->attempts >= s->cfg.retry_attempts) {
                cs_log_error(LOG_SMTP, "giving up on message %s (%zu "
                             "alert(s)) after %d attempts", o->id,
                             o->nalerts, o->attempts);
                *failed += o->nalerts;
                done = true;
            } else {
                int64_t ms = backoff_ms(&s->cfg, o->attempts);
                cs_log_warn(LOG_SMTP, "message %s: attempt %d failed, "
                            "retrying in %lld ms", o->id, o->attempts,
                            (long long)ms);
                s->now_ns = mono_now();
                o->next_ns = s->now_ns + ms * CS_NS_PER_MS;
            }
        }
        if (done) {
            *pp = o->next;
            if (s->out_tail == o) {
                s->out_tail = prev;
            }
            free_outgoing(o);
        } else {
            prev = o;
            pp = &o->next;
        }
    }
}

static enum cs_err smtp_deliver(void *ctx, const struct cs_alert *a)
{
    struct cs_notify_smtp *s = ctx;
    const struct cs_config_email *c = &s->cfg;

    if (a->status == CS_ALERT_RESOLVED && !c->send_resolved) {
        return CS_OK;
    }
    if (c->rules && !in_list(c->rules, c->nrules, a->rule)) {
        return CS_OK;
    }
    if (c->severities && !in_list(c->severities, c->nseverities,
                                  a->severity)) {
        return CS_OK;
    }
    s->now_ns = mono_now();
    roll_hour(s);
    if (s->ngroup == 0) {
        s->group_start_ns = s->now_ns;
    }
    s->group[s->ngroup++] = *a;
    if (s->ngroup >= GROUP_MAX || c->group_window_s == 0) {
        close_group(s);
    }
    return CS_OK;
}

static void smtp_flush(void *ctx, int64_t now_mono_ns, bool final,
                       uint64_t *sent, uint64_t *failed)
{
    struct cs_notify_smtp *s = ctx;
    int64_t deadline;

    s->now_ns = now_mono_ns;
    roll_hour(s);
    if (s->ngroup > 0 &&
        (final || s->now_ns - s->group_start_ns >=
                      s->cfg.group_window_s * CS_NS_PER_S)) {
        close_group(s);
    }
    send_due(s, sent, failed);
    if (!final) {
        return;
    }
    /* Shutdown: keep retrying (bounded by drain_timeout_ms). */
    deadline = mono_now() + s->cfg.drain_timeout_ms * CS_NS_PER_MS;
    while (s->out_head) {
        int64_t next = INT64_MAX, now = mono_now();
        for (struct outgoing *o = s->out_head; o; o = o->next) {
            if (o->next_ns < next) {
                next = o->next_ns;
            }
        }
        if (next > deadline || now >= deadline) {
            break;
        }
        if (next > now) {
            struct timespec ts;
            ts.tv_sec = (time_t)((next - now) / CS_NS_PER_S);
            ts.tv_nsec = (long)((next - now) % CS_NS_PER_S);
            nanosleep(&ts, NULL);
        }
        s->now_ns = mono_now();
        send_due(s, sent, failed);
    }
    for (struct outgoing *o = s->out_head; o; o = o->next) {
        cs_log_error(LOG_SMTP, "shutdown: message %s (%zu alert(s)) not "
                     "sent", o->id, o->nalerts);
        *failed += o->nalerts;
    }
    while (s->out_head) {
        struct outgoing *o = s->out_head;
        s->out_head = o->next;
        free_outgoing(o);
    }
    s->out_tail = NULL;
    if (s->held > 0) {
        cs_log_error(LOG_SMTP, "shutdown: %zu alert(s) held past "
                     "max_per_hour not sent", s->held);
        *failed += s->held;
        s->held = 0;
    }
}

struct cs_notifier cs_notify_smtp_notifier(struct cs_notify_smtp *s)
{
    struct cs_notifier n;
    memset(&n, 0, sizeof n);
    n.name = "email";
    n.deliver = smtp_deliver;
    n.ctx = s;
    n.flush = smtp_flush;
    n.deferred = true;
    return n;
}
