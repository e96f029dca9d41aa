/* Webhooks: payload shapes per format and the HTTP transport under a
 * route. Chat formats get plain text (no markup, mentions disabled), so a
 * rule's message or an exchange's symbol cannot ping a channel or format
 * a link. */
#include "cryptosup/notify_webhook.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/route.h"
#include "cryptosup/alert_render.h"
#include "cryptosup/engine.h"
#include "cryptosup/http_post.h"
#include "cryptosup/jsonw.h"
#include "cryptosup/log.h"
#include "cryptosup/sbuf.h"
#include "cryptosup/timeutil.h"

#define LOG_WEBHOOK "alerts.webhook"
#define SLACK_TEXT_MAX 39000      /* Slack truncates past 40,000 */
#define DISCORD_TEXT_MAX 2000     /* Discord rejects longer content */
#define TELEGRAM_TEXT_MAX 4096    /* Telegram rejects longer text */

/* ---- payloads ---- */

/* The same alert object as `--emit alerts` and /api/alerts. */
static void json_alert(struct cs_jsonw *w, const struct cs_alert *a)
{
    cs_jsonw_begin_object(w);
    cs_jsonw_key(w, "id");
    cs_jsonw_int(w, (int64_t)a->id);
    cs_alert_json_fields(w, a);
    cs_jsonw_end_object(w);
}

static void json_document(struct cs_jsonw *w,
                          const struct cs_config_webhook *cfg, bool digest,
                          const struct cs_alert *a, size_t n, size_t total,
                          const char *id)
{
    size_t firing = 0;
    for (size_t i = 0; i < n; i++) {
        firing += a[i].status == CS_ALERT_FIRING;
    }
    cs_jsonw_begin_object(w);
    cs_jsonw_key(w, "version");
    cs_jsonw_cstring(w, "1");
    cs_jsonw_key(w, "source");
    cs_jsonw_cstring(w, "cryptosup");
    cs_jsonw_key(w, "route");
    cs_jsonw_cstring(w, cfg->name);
    cs_jsonw_key(w, "id");
    cs_jsonw_cstring(w, id);
    cs_jsonw_key(w, "kind");
    cs_jsonw_cstring(w, digest ? "digest" : "alerts");
    cs_jsonw_key(w, "status");
    cs_jsonw_cstring(w, firing > 0 ? "firing" : "resolved");
    cs_jsonw_key(w, "count");
    cs_jsonw_int(w, (int64_t)total);
    cs_jsonw_key(w, "truncated");
    cs_jsonw_bool(w, n < total);
    cs_jsonw_key(w, "alerts");
    cs_jsonw_begin_array(w);
    for (size_t i = 0; i < n; i++) {
        json_alert(w, &a[i]);
    }
    cs_jsonw_end_array(w);
    cs_jsonw_end_object(w);
}

/* Slack reads &, < and > as markup (links, mentions): escape them. */
static void slack_escape(struct cs_sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '&') {
            cs_sbuf_str(b, "&amp;");
        } else if (*s == '<') {
            cs_sbuf_str(b, "&lt;");
        } else if (*s == '>') {
            cs_sbuf_str(b, "&gt;");
        } else {
            cs_sbuf_put(b, s, 1);
        }
    }
}

/* Keep at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) {
        max--;
    }
    return max;
}

/* Title line, then one line per alert, cut to `max` bytes with a count of
 * what did not fit. Line breaks inside fields become spaces so every
 * alert stays one line. */
static char *chat_text(const struct cs_config_webhook *cfg, bool digest,
                       const struct cs_alert *a, size_t n, size_t total,
                       size_t max)
{
    struct cs_sbuf b = { 0 };
    char *v;
    size_t shown = 0;

    if (digest) {
        cs_sbuf_printf(&b, "cryptosup digest: %zu alert(s) held past "
                       "max_per_hour (%lld)", total,
                       (long long)cfg->route.max_per_hour);
    } else {
        v = cs_alert_render(cfg->title, &a[0], total);
        cs_sbuf_str(&b, v);
        free(v);
    }
    for (size_t i = 0; i < n; i++) {
        struct cs_sbuf line = { 0 };
        char tail[64];
        v = cs_alert_render(cfg->text, &a[i], total);
        for (char *p = v; *p; p++) {
            if ((unsigned char)*p < 0x20) {
                *p = ' ';
            }
        }
        cs_sbuf_str(&line, "\n");
        if (cfg->format == CS_WEBHOOK_SLACK) {
            slack_escape(&line, v);
        } else {
            cs_sbuf_str(&line, v);
        }
        free(v);
        snprintf(tail, sizeof tail, "\n... and %zu more", total - i);
        if (b.len + line.len + strlen(tail) > max) {
            cs_sbuf_free(&line);
            break;
        }
        cs_sbuf_put(&b, line.p, line.len);
        cs_sbuf_free(&line);
        shown++;
    }
    if (shown < total) {
        char tail[64];
        int k = snprintf(tail, sizeof tail, "\n... and %zu more",
                         total - shown);
        cs_sbuf_put(&b, tail, (size_t)k);
    }
    if (b.len > max) {   /* a title longer than the limit */
        b.len = utf8_cut(b.p, b.len, max);
        b.p[b.len] = '\0';
    }
    return cs_sbuf_take(&b);
}

char *cs_webhook_payload(const struct cs_config_webhook *cfg, bool digest,
                         const struct cs_alert *a, size_t n, size_t total,
                         const char *id, size_t *len)
{
    struct cs_jsonw w;
    char *text = NULL, *out;

    cs_jsonw_init(&w);
    switch (cfg->format) {
    case CS_WEBHOOK_JSON:
        json_document(&w, cfg, digest, a, n, total, id);
        break;
    case CS_WEBHOOK_SLACK:
        text = chat_text(cfg, digest, a, n, total, SLACK_TEXT_MAX);
        cs_jsonw_begin_object(&w);
        cs_jsonw_key(&w, "text");
        cs_jsonw_cstring(&w, text);
        cs_jsonw_end_object(&w);
        break;
    case CS_WEBHOOK_DISCORD:
        text = chat_text(cfg, digest, a, n, total, DISCORD_TEXT_MAX);
        cs_jsonw_begin_object(&w);
        cs_jsonw_key(&w, "content");
        cs_jsonw_cstring(&w, text);
        /* No @everyone, role or user pings from alert text. */
        cs_jsonw_key(&w, "allowed_mentions");
        cs_jsonw_begin_object(&w);
        cs_jsonw_key(&w, "parse");
        cs_jsonw_begin_array(&w);
        cs_jsonw_end_array(&w);
        cs_jsonw_end_object(&w);
        cs_jsonw_end_object(&w);
        break;
    case CS_WEBHOOK_TELEGRAM:
        text = chat_text(cfg, digest, a, n, total, TELEGRAM_TEXT_MAX);
        cs_jsonw_begin_object(&w);
        cs_jsonw_key(&w, "chat_id");
        cs_jsonw_cstring(&w, cfg->chat_id);
        cs_jsonw_key(&w, "text");
        cs_jsonw_cstring(&w, text);
        cs_jsonw_key(&w, "disable_web_page_preview");
        cs_jsonw_bool(&w, true);
        cs_jsonw_end_object(&w);
        break;
    }
    free(text);
    out = cs_xmalloc(w.len + 1);
    memcpy(out, w.buf, w.len);
    out[w.len] = '\0';
    *len = w.len;
    cs_jsonw_cleanup(&w);
    return out;
}

void cs_webhook_signature(const char *secret, int64_t unix_s,
                          const char *body, size_t len, char out[80])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    char prefix[32];
    int plen = snprintf(prefix, sizeof prefix, "%lld.", (long long)unix_s);
    /* The timestamp is signed with the body so a captured post cannot be
     * replayed later with a fresh timestamp. */
    unsigned char *msg = cs_xmalloc((size_t)plen + len + 1);

    memcpy(msg, prefix, (size_t)plen);
    memcpy(msg + plen, body, len);
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), msg,
             (size_t)plen + len, mac, &maclen) == NULL) {
        maclen = 0;
    }
    free(msg);
    strcpy(out, "sha256=");
    for (unsigned i = 0; i < maclen && i < 32; i++) {
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
    }
}

/* ---- the transport ---- */

struct cs_notify_webhook {
    const struct cs_config_webhook *cfg;
    struct cs_route *route;
};

static char *webhook_render(void *ctx, enum cs_route_kind kind,
                            const struct cs_alert *a, size_t n, size_t total,
                            const char *id, size_t *len)
{
    struct cs_notify_webhook *w = ctx;
    return cs_webhook_payload(w->cfg, kind == CS_ROUTE_DIGEST, a, n, total,
                              id, len);
}

/* The URL to post to; secrets come from the environment at send time. */
static bool post_url(const struct cs_config_webhook *c, struct cs_sbuf *url)
{
    if (c->format == CS_WEBHOOK_TELEGRAM) {
        const char *token = getenv(c->bot_token_env);
        if (token == NULL || token[0] == '\0') {
            cs_log_error(LOG_WEBHOOK, "%s: environment variable %s (the bot "
                         "token) is not set", c->name, c->bot_token_env);
            return false;
        }
        cs_sbuf_printf(url, "%s/bot%s/sendMessage", c->api_url, token);
        return true;
    }
    if (c->url_env) {
        const char *v = getenv(c->url_env);
        if (v == NULL || v[0] == '\0') {
            cs_log_error(LOG_WEBHOOK, "%s: environment variable %s (the "
                         "webhook URL) is not set", c->name, c->url_env);
            return false;
        }
        cs_sbuf_str(url, v);
        return true;
    }
    cs_sbuf_str(url, c->url);
    return true;
}

static enum cs_route_send webhook_send(void *ctx, const char *body,
                                       size_t len, const char *id,
                                       int64_t timeout_ms,
                                       int64_t *retry_after_ms)
{
    struct cs_notify_webhook *w = ctx;
    const struct cs_config_webhook *c = w->cfg;
    struct cs_sbuf url = { 0 };
    char **headers = cs_xcalloc(c->nheaders + 4, sizeof *headers);
    size_t nh = 0;
    struct cs_http_post req;
    struct cs_http_post_result res;
    enum cs_post_outcome out = CS_POST_PERMANENT;
    char host[128];
    bool ok = post_url(c, &url);

    for (size_t i = 0; ok && i < c->nheaders; i++) {
        const char *v = c->headers[i].value;
        if (v == NULL) {
            v = getenv(c->headers[i].value_env);
            if (v == NULL || strpbrk(v, "\r\n")) {
                cs_log_error(LOG_WEBHOOK, "%s: environment variable %s "
                             "(header %s) is not set or not one line",
                             c->name, c->headers[i].value_env,
                             c->headers[i].name);
                ok = false;
                break;
            }
        }
        headers[nh] = cs_xmalloc(strlen(c->headers[i].name) + strlen(v) + 3);
        sprintf(headers[nh++], "%s: %s", c->headers[i].name, v);
    }
    if (ok && c->hmac_secret_env) {
        const char *secret = getenv(c->hmac_secret_env);
        int64_t now_s = cs_time_now_ns() / CS_NS_PER_S;
        char sig[80];
        if (secret == NULL || secret[0] == '\0') {
            cs_log_error(LOG_WEBHOOK, "%s: environment variable %s (the "
                         "signing secret) is not set", c->name,
                         c->hmac_secret_env);
            ok = false;
        } else {
            cs_webhook_signature(secret, now_s, body, len, sig);
            headers[nh] = cs_xmalloc(64);
            snprintf(headers[nh++], 64, "X-Cryptosup-Timestamp: %lld",
                     (long long)now_s);
            headers[nh] = cs_xmalloc(120);
            snprintf(headers[nh++], 120, "X-Cryptosup-Signature: %s", sig);
        }
    }
    if (ok) {
        headers[nh] = cs_xmalloc(96);
        snprintf(headers[nh++], 96, "X-Cryptosup-Message-Id: %s", id);
        memset(&req, 0, sizeof req);
        req.url = url.p;
        req.ca_file = c->ca_file;
        req.timeout_ms = timeout_ms;
        req.headers = (const char *const *)headers;
        req.body = body;
        req.len = len;
        out = cs_http_post(&req, &res);
        if (out != CS_POST_OK) {
            cs_http_post_log_host(url.p, host, sizeof host);
            cs_log_warn(LOG_WEBHOOK, "%s: message %s to %s: %s%s%s", c->name,
                        id, host, res.error, res.snippet[0] ? ": " : "",
                        res.snippet);
            *retry_after_ms = res.retry_after_ms;
        }
    }
    for (size_t i = 0; i < nh; i++) {
        free(headers[i]);
    }
    free(headers);
    /* The URL can hold a token: wipe it before freeing. */
    if (url.p) {
        memset(url.p, 0, url.len);
    }
    cs_sbuf_free(&url);
    if (!ok) {
        return CS_ROUTE_RETRY;   /* the environment may be fixed */
    }
    return out == CS_POST_OK      ? CS_ROUTE_SENT
           : out == CS_POST_RETRY ? CS_ROUTE_RETRY
                                  : CS_ROUTE_GIVE_UP;
}

static const struct cs_route_ops webhook_ops = { webhook_render,
                                                 webhook_send };

struct cs_notify_webhook *cs_notify_webhook_new(
    const struct cs_config_webhook *cfg)
{
    struct cs_notify_webhook *w = cs_xcalloc(1, sizeof *w);
    w->cfg = cfg;
    w->route = cs_route_new(cfg->name, LOG_WEBHOOK, &webhook_ops, w,
                            &cfg->route);
    return w;
}

void cs_notify_webhook_reconfigure(struct cs_notify_webhook *w,
                                   const struct cs_config_webhook *cfg)
{
    w->cfg = cfg;
    cs_route_reconfigure(w->route, &cfg->route);
}

void cs_notify_webhook_free(struct cs_notify_webhook *w)
{
    if (w == NULL) {
        return;
    }
    cs_route_free(w->route);
    free(w);
}

static enum cs_err webhook_deliver(void *ctx, const struct cs_alert *a)
{
    struct cs_notify_webhook *w = ctx;
    cs_route_accept(w->route, a);
    return CS_OK;
}

static void webhook_flush(void *ctx, int64_t now_mono_ns, bool final,
                          uint64_t *sent, uint64_t *failed)
{
    struct cs_notify_webhook *w = ctx;
    cs_route_flush(w->route, now_mono_ns, final, sent, failed);
}

struct cs_notifier cs_notify_webhook_notifier(struct cs_notify_webhook *w)
{
    struct cs_notifier n;
    memset(&n, 0, sizeof n);
    n.name = w->cfg->name;
    n.deliver = webhook_deliver;
    n.ctx = w;
    n.flush = webhook_flush;
    n.deferred = true;
    return n;
}
