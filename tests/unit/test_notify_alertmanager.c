/* Alertmanager notifier: the posted JSON, and the table, refresh, retry,
 * HA and counting logic against a tiny blocking HTTP listener on
 * 127.0.0.1 (a thread here; the Alertmanager itself is exercised by
 * tests/integration/test_alertmanager.sh). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "cryptosup/log.h"
#include "cryptosup/notify_alertmanager.h"
#include "cryptosup/timeutil.h"
#include "testlib.h"

#define NS CS_NS_PER_S
#define MS CS_NS_PER_MS

/* ---- a one-connection-at-a-time HTTP listener ---- */

#define SRV_KEEP 16

struct srv_req {
    char path[256];
    char auth[512];     /* the Authorization header, or "" */
    char *body;
};

struct srv {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    int status;                  /* what to answer */
    unsigned nreqs;              /* requests seen */
    struct srv_req reqs[SRV_KEEP];   /* the last SRV_KEEP */
};

static void srv_handle(struct srv *s, int c)
{
    char head[8192];
    size_t len = 0, want = 0, have;
    char *end = NULL, *p, *body;
    struct srv_req r;
    char reply[256];
    int status, n;

    memset(&r, 0, sizeof r);
    while (len + 1 < sizeof head) {
        ssize_t got = read(c, head + len, sizeof head - 1 - len);
        if (got <= 0) {
            return;
        }
        len += (size_t)got;
        head[len] = '\0';
        if ((end = strstr(head, "\r\n\r\n")) != NULL) {
            break;
        }
    }
    if (end == NULL) {
        return;
    }
    sscanf(head, "POST %255s", r.path);
    for (p = strstr(head, "\r\n"); p && p < end; p = strstr(p, "\r\n")) {
        p += 2;
        if (strncasecmp(p, "Content-Length:", 15) == 0) {
            want = strtoul(p + 15, NULL, 10);
        } else if (strncasecmp(p, "Authorization:", 14) == 0) {
            sscanf(p + 14, " %511[^\r]", r.auth);
        }
    }
    body = malloc(want + 1);
    have = len - (size_t)(end + 4 - head);
    memcpy(body, end + 4, have < want ? have : want);
    while (have < want) {
        ssize_t got = read(c, body + have, want - have);
        if (got <= 0) {
            break;
        }
        have += (size_t)got;
    }
    body[have < want ? have : want] = '\0';
    r.body = body;
    pthread_mutex_lock(&s->mu);
    status = s->status;
    free(s->reqs[s->nreqs % SRV_KEEP].body);
    s->reqs[s->nreqs % SRV_KEEP] = r;
    s->nreqs++;
    pthread_mutex_unlock(&s->mu);
    n = snprintf(reply, sizeof reply, "HTTP/1.1 %d X\r\nContent-Length: 11"
                 "\r\nConnection: close\r\n\r\nbad\nthings!", status);
    if (write(c, reply, (size_t)n) < 0) {
        return;
    }
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) {
            break;
        }
        srv_handle(s, c);
        close(c);
    }
    return NULL;
}

static void srv_start(struct srv *s)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;

    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->status = 200;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0) {
        abort();
    }
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, srv_main, s);
}

static void srv_stop(struct srv *s)
{
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->fd);
    for (int i = 0; i < SRV_KEEP; i++) {
        free(s->reqs[i].body);
    }
    pthread_mutex_destroy(&s->mu);
}

static unsigned srv_count(struct srv *s)
{
    unsigned n;
    pthread_mutex_lock(&s->mu);
    n = s->nreqs;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void srv_status(struct srv *s, int status)
{
    pthread_mutex_lock(&s->mu);
    s->status = status;
    pthread_mutex_unlock(&s->mu);
}

/* The last request (the listener thread is idle between posts, which
 * are blocking, so reading without the lock is fine afterwards). */
static struct srv_req *srv_last(struct srv *s)
{
    return s->nreqs ? &s->reqs[(s->nreqs - 1) % SRV_KEEP] : NULL;
}

/* A port nothing listens on (bound then closed). */
static int closed_port(void)
{
    struct srv s;
    int port;
    srv_start(&s);
    port = s.port;
    srv_stop(&s);
    return port;
}

/* ---- helpers ---- */

static void sample(struct cs_alert *a, const char *rule, const char *symbol)
{
    memset(a, 0, sizeof *a);
    a->status = CS_ALERT_FIRING;
    snprintf(a->rule, sizeof a->rule, "%s", rule);
    strcpy(a->severity, "warning");
    strcpy(a->exchange, "binance");
    snprintf(a->symbol, sizeof a->symbol, "%s", symbol);
    strcpy(a->raw_symbol, "BTCUSDT");
    a->ts_ns = 1678629600LL * NS;   /* 2023-03-12 14:00:00 UTC */
    a->window_s = 3600;
    a->has_change = true;
    a->change = 0.0213;
    strcpy(a->price, "62033.71");
    strcpy(a->reference, "60740.00");
}

static void base_cfg(struct cs_config_alertmanager *c, char **urls,
                     size_t nurls)
{
    memset(c, 0, sizeof *c);
    c->enabled = true;
    c->urls = urls;
    c->nurls = nurls;
    c->refresh_s = 60;
    c->timeout_ms = 2000;
    c->retry_initial_ms = 1000;
    c->retry_max_ms = 4000;
    c->retry_attempts = 3;
    c->drain_timeout_ms = 300;
}

static const char *label(const cJSON *alert, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(alert, "labels"), name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *annotation(const cJSON *alert, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(alert, "annotations"), name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *field(const cJSON *alert, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(alert, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Alerts in a posted body (-1 when it is not a JSON array). */
static int body_alerts(const char *body)
{
    cJSON *j = cJSON_Parse(body);
    int n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : -1;
    cJSON_Delete(j);
    return n;
}

/* ---- pure payload ---- */

static void test_payload(void)
{
    struct cs_config_alertmanager c;
    struct cs_config_header labels[5] = {
        { "team", "trading", NULL },
        { "env", NULL, "CS_AM_TEST_ENV" },
        { "missing", NULL, "CS_AM_TEST_UNSET" },
        { "alertname", "override", NULL },   /* ours: left out */
        { "bad-name", "x", NULL },
    };
    struct cs_alert a[2];
    int64_t starts[2], ends[2];
    cJSON *j, *x;
    char *s;

    memset(&c, 0, sizeof c);
    c.labels = labels;
    c.nlabels = 5;
    c.generator_url = "http://cryptosup.example/";
    setenv("CS_AM_TEST_ENV", "prod", 1);
    unsetenv("CS_AM_TEST_UNSET");
    sample(&a[0], "move_1h_2pct", "BTC/USDT");
    strcpy(a[0].message, "say \"hi\"\n\xff");
    sample(&a[1], "evil", "ETH/USDT");
    a[1].window_s = 0;
    a[1].has_change = false;
    a[1].reference[0] = '\0';
    a[1].status = CS_ALERT_RESOLVED;
    starts[0] = 1678629600LL * NS + 123456789;
    ends[0] = 1678629840LL * NS;
    starts[1] = 1678629600LL * NS;
    ends[1] = 1678633200LL * NS + 999999999;
    s = cs_am_payload(&c, a, starts, ends, 2);
    j = cJSON_Parse(s);
    CHECK(cJSON_IsArray(j));
    CHECK_INT(cJSON_GetArraySize(j), 2);
    x = cJSON_GetArrayItem(j, 0);
    CHECK_STR(label(x, "alertname"), "move_1h_2pct");
    CHECK_STR(label(x, "severity"), "warning");
    CHECK_STR(label(x, "exchange"), "binance");
    CHECK_STR(label(x, "symbol"), "BTC/USDT");
    CHECK_STR(label(x, "window"), "1h");
    CHECK_STR(label(x, "source"), "cryptosup");
    CHECK_STR(label(x, "team"), "trading");
    CHECK_STR(label(x, "env"), "prod");
    CHECK(label(x, "missing") == NULL);
    CHECK(label(x, "bad-name") == NULL);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(x, "labels")), 8);
    CHECK_STR(annotation(x, "summary"), "BTC/USDT +2.13% over 1h on binance");
    CHECK_STR(annotation(x, "description"),
              "move_1h_2pct: BTC/USDT on binance moved +2.13% over 1h; "
              "price 62033.71, reference 60740.00. say \"hi\"\n\xef\xbf\xbd");
    CHECK_STR(annotation(x, "price"), "62033.71");
    CHECK_STR(annotation(x, "reference"), "60740.00");
    CHECK_STR(annotation(x, "change_pct"), "+2.13%");
    CHECK_STR(annotation(x, "message"), "say \"hi\"\n\xef\xbf\xbd");
    CHECK_STR(field(x, "startsAt"), "2023-03-12T14:00:00.123Z");
    CHECK_STR(field(x, "endsAt"), "2023-03-12T14:04:00.000Z");
    CHECK_STR(field(x, "generatorURL"), "http://cryptosup.example/");
    x = cJSON_GetArrayItem(j, 1);
    CHECK_STR(label(x, "alertname"), "evil");
    CHECK(label(x, "window") == NULL);
    CHECK(annotation(x, "reference") == NULL);
    CHECK(annotation(x, "change_pct") == NULL);
    CHECK(annotation(x, "message") == NULL);
    CHECK_STR(annotation(x, "summary"), "ETH/USDT n/a over n/a on binance");
    CHECK_STR(annotation(x, "description"), "evil: ETH/USDT on binance moved "
              "n/a over n/a; price 62033.71, reference n/a.");
    CHECK_STR(field(x, "endsAt"), "2023-03-12T15:00:00.999Z");
    cJSON_Delete(j);
    free(s);

    /* Templates from the config, no generatorURL, an empty batch. */
    c.summary = "{rule} {status}";
    c.description = "{symbol}";
    c.generator_url = NULL;
    c.nlabels = 0;
    s = cs_am_payload(&c, a, starts, ends, 1);
    j = cJSON_Parse(s);
    x = cJSON_GetArrayItem(j, 0);
    CHECK_STR(annotation(x, "summary"), "move_1h_2pct firing");
    CHECK_STR(annotation(x, "description"), "BTC/USDT");
    CHECK(field(x, "generatorURL") == NULL);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(x, "labels")), 6);
    cJSON_Delete(j);
    free(s);
    s = cs_am_payload(&c, a, starts, ends, 0);
    CHECK_STR(s, "[]");
    free(s);
}

/* ---- the notifier against the listener ---- */

/* Batching, refresh, resolution, collapsing, filters. */
static void test_post_refresh_resolve(void)
{
    struct srv s;
    char url[64];
    char *urls[1] = { url };
    char *rules[] = { "move_1h_2pct", "evil" };
    struct cs_config_alertmanager c;
    struct cs_notify_am *am;
    struct cs_notifier n;
    struct cs_alert a, b;
    uint64_t sent = 0, failed = 0;
    int64_t t0 = cs_time_mono_ns(), before, after;
    cJSON *j;

    srv_start(&s);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s.port);
    base_cfg(&c, urls, 1);
    c.rules = rules;
    c.nrules = 2;
    am = cs_notify_am_new(&c);
    n = cs_notify_am_notifier(am);
    CHECK(n.deferred && n.flush != NULL);
    CHECK_STR(n.name, "alertmanager");

    /* Nothing accepted: no post. */
    n.flush(n.ctx, t0, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 0);

    /* A burst between flushes is one post. */
    sample(&a, "move_1h_2pct", "BTC/USDT");
    sample(&b, "move_1h_2pct", "ETH/USDT");
    CHECK(n.deliver(n.ctx, &a) == CS_OK);
    CHECK(n.deliver(n.ctx, &b) == CS_OK);
    CHECK(n.deliver(n.ctx, &a) == CS_OK);    /* an update: same entry */
    sample(&b, "other_rule", "ETH/USDT");     /* filtered out */
    CHECK(n.deliver(n.ctx, &b) == CS_OK);
    before = cs_time_now_ns();
    n.flush(n.ctx, t0, false, &sent, &failed);
    after = cs_time_now_ns();
    CHECK_INT(srv_count(&s), 1);
    CHECK_INT(sent, 3);
    CHECK_INT(failed, 0);
    CHECK_STR(srv_last(&s)->path, "/api/v2/alerts");
    CHECK_STR(srv_last(&s)->auth, "");
    j = cJSON_Parse(srv_last(&s)->body);
    CHECK_INT(cJSON_GetArraySize(j), 2);
    {
        /* endsAt = now + 4 * refresh_s, startsAt the data time. */
        const cJSON *x = cJSON_GetArrayItem(j, 0);
        int64_t ends = 0;
        CHECK_STR(field(x, "startsAt"), "2023-03-12T14:00:00.000Z");
        CHECK(cs_time_parse_iso8601(field(x, "endsAt"),
                                    strlen(field(x, "endsAt")), &ends));
        CHECK(ends >= before + 240 * NS - MS && ends <= after + 240 * NS);
    }
    cJSON_Delete(j);

    /* Nothing new and refresh_s not reached: quiet. */
    n.flush(n.ctx, t0 + 30 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 1);
    /* refresh_s: everything again, nothing counted twice. */
    n.flush(n.ctx, t0 + 60 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 2);
    CHECK_INT(body_alerts(srv_last(&s)->body), 2);
    CHECK_INT(sent, 3);

    /* A resolution: posted once with endsAt = its time, then dropped. */
    a.status = CS_ALERT_RESOLVED;
    a.ts_ns = 1678633200LL * NS;
    CHECK(n.deliver(n.ctx, &a) == CS_OK);
    n.flush(n.ctx, t0 + 61 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 3);
    CHECK_INT(sent, 4);
    j = cJSON_Parse(srv_last(&s)->body);
    CHECK_INT(cJSON_GetArraySize(j), 2);
    for (int i = 0; i < cJSON_GetArraySize(j); i++) {
        const cJSON *x = cJSON_GetArrayItem(j, i);
        if (strcmp(label(x, "symbol"), "BTC/USDT") == 0) {
            CHECK_STR(field(x, "startsAt"), "2023-03-12T14:00:00.000Z");
            CHECK_STR(field(x, "endsAt"), "2023-03-12T15:00:00.000Z");
        }
    }
    cJSON_Delete(j);
    n.flush(n.ctx, t0 + 121 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 4);
    CHECK_INT(body_alerts(srv_last(&s)->body), 1);

    /* Fired and resolved between two flushes: one resolved alert; a
     * resolution with no usable time gets now. Both events counted. */
    sample(&a, "evil", "SOL/USDT");
    CHECK(n.deliver(n.ctx, &a) == CS_OK);
    a.status = CS_ALERT_RESOLVED;
    a.ts_ns = 0;
    CHECK(n.deliver(n.ctx, &a) == CS_OK);
    before = cs_time_now_ns();
    n.flush(n.ctx, t0 + 122 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 5);
    CHECK_INT(sent, 6);
    j = cJSON_Parse(srv_last(&s)->body);
    for (int i = 0; i < cJSON_GetArraySize(j); i++) {
        const cJSON *x = cJSON_GetArrayItem(j, i);
        if (strcmp(label(x, "symbol"), "SOL/USDT") == 0) {
            int64_t ends = 0;
            CHECK(cs_time_parse_iso8601(field(x, "endsAt"),
                                        strlen(field(x, "endsAt")), &ends));
            CHECK(ends >= before - MS && ends <= cs_time_now_ns());
            CHECK_STR(field(x, "startsAt"), "2023-03-12T14:00:00.000Z");
        }
    }
    cJSON_Delete(j);

    /* A resolution of something never seen (nothing firing here) is
     * posted too: it may be left over from before a restart. */
    sample(&a, "evil", "XRP/USDT");
    a.status = CS_ALERT_RESOLVED;
    CHECK(n.deliver(n.ctx, &a) == CS_OK);
    n.flush(n.ctx, t0 + 123 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 6);
    CHECK_INT(sent, 7);

    /* Shutdown with everything posted: no post, no resolution. */
    n.flush(n.ctx, t0 + 124 * NS, true, &sent, &failed);
    CHECK_INT(srv_count(&s), 6);
    CHECK_INT(sent, 7);
    CHECK_INT(failed, 0);
    cs_notify_am_free(am);
    srv_stop(&s);
}

/* Failures: per-URL backoff, counted failed after retry_attempts, still
 * re-posted, then delivered; a log line per failure with the host. */
static void test_retry(void)
{
    struct srv s;
    char url[64];
    char *urls[1] = { url };
    struct cs_config_alertmanager c;
    struct cs_notify_am *am;
    struct cs_notifier n;
    struct cs_alert a;
    uint64_t sent = 0, failed = 0;
    int64_t t0 = cs_time_mono_ns();

    srv_start(&s);
    srv_status(&s, 503);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    base_cfg(&c, urls, 1);
    am = cs_notify_am_new(&c);
    n = cs_notify_am_notifier(am);
    sample(&a, "r", "BTC/USDT");
    n.deliver(n.ctx, &a);
    n.flush(n.ctx, t0, false, &sent, &failed);           /* fail 1 */
    CHECK_INT(srv_count(&s), 1);
    n.flush(n.ctx, t0 + 999 * MS, false, &sent, &failed);  /* backoff */
    CHECK_INT(srv_count(&s), 1);
    n.flush(n.ctx, t0 + 1000 * MS, false, &sent, &failed); /* fail 2 */
    CHECK_INT(srv_count(&s), 2);
    n.flush(n.ctx, t0 + 2999 * MS, false, &sent, &failed); /* 2 s */
    CHECK_INT(srv_count(&s), 2);
    CHECK_INT(failed, 0);
    n.flush(n.ctx, t0 + 3000 * MS, false, &sent, &failed); /* fail 3 */
    CHECK_INT(srv_count(&s), 3);
    CHECK_INT(sent, 0);
    CHECK_INT(failed, 1);
    n.flush(n.ctx, t0 + 7000 * MS, false, &sent, &failed); /* 4 s: 4 */
    CHECK_INT(srv_count(&s), 4);
    n.flush(n.ctx, t0 + 10999 * MS, false, &sent, &failed); /* capped */
    CHECK_INT(srv_count(&s), 4);
    /* Back: the alert (still firing) gets there; counted once only. */
    srv_status(&s, 200);
    n.flush(n.ctx, t0 + 11000 * MS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 5);
    CHECK_INT(sent, 0);
    CHECK_INT(failed, 1);
    /* A 4xx is retried too (a reload can fix auth or the path). */
    srv_status(&s, 400);
    a.change = 0.05;
    n.deliver(n.ctx, &a);
    n.flush(n.ctx, t0 + 12000 * MS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 6);
    srv_status(&s, 200);
    n.flush(n.ctx, t0 + 13000 * MS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 7);
    CHECK_INT(sent, 1);
    CHECK_INT(failed, 1);
    cs_notify_am_free(am);
    srv_stop(&s);
}

/* Two Alertmanagers (HA): each gets every post; one down does not hold
 * the count back, and a resolution it never got is dropped after
 * retry_attempts. The URL list changing on reload re-posts everything. */
static void test_ha_and_reconfigure(void)
{
    struct srv s1, s2;
    char url1[64], url2[64], url3[64];
    char *urls[2] = { url1, url2 };
    char *urls2[1] = { url3 };
    struct cs_config_alertmanager c, c2;
    struct cs_config_header team = { "team", "fx", NULL };
    struct cs_notify_am *am;
    struct cs_notifier n;
    struct cs_alert a, b;
    uint64_t sent = 0, failed = 0;
    int64_t t0 = cs_time_mono_ns();

    srv_start(&s1);
    srv_start(&s2);
    snprintf(url1, sizeof url1, "http://127.0.0.1:%d/am/", s1.port);
    snprintf(url2, sizeof url2, "http://127.0.0.1:%d", s2.port);
    base_cfg(&c, urls, 2);
    am = cs_notify_am_new(&c);
    n = cs_notify_am_notifier(am);
    sample(&a, "r", "BTC/USDT");
    sample(&b, "r", "ETH/USDT");
    n.deliver(n.ctx, &a);
    n.deliver(n.ctx, &b);
    n.flush(n.ctx, t0, false, &sent, &failed);
    CHECK_INT(srv_count(&s1), 1);
    CHECK_INT(srv_count(&s2), 1);
    CHECK_STR(srv_last(&s1)->path, "/am/api/v2/alerts");
    CHECK_STR(srv_last(&s1)->body, srv_last(&s2)->body);
    CHECK_INT(sent, 2);

    /* The second one fails: the first still takes the resolution. */
    srv_status(&s2, 500);
    a.status = CS_ALERT_RESOLVED;
    n.deliver(n.ctx, &a);
    n.flush(n.ctx, t0 + 1 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s1), 2);
    CHECK_INT(srv_count(&s2), 2);
    CHECK_INT(sent, 3);
    /* Not due for the first (nothing new), the second retries on its own
     * schedule; after 3 failed posts the resolution is given up. */
    n.flush(n.ctx, t0 + 2 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s1), 2);
    CHECK_INT(srv_count(&s2), 3);
    n.flush(n.ctx, t0 + 4 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s2), 4);
    CHECK_INT(failed, 0);
    /* Dropped: the second still holds the firing one from its last good
     * post, so nothing is due until refresh_s; then only that one. */
    srv_status(&s2, 200);
    n.flush(n.ctx, t0 + 8 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s2), 4);
    n.flush(n.ctx, t0 + 61 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s1), 3);
    CHECK_INT(srv_count(&s2), 5);
    CHECK_INT(body_alerts(srv_last(&s2)->body), 1);
    CHECK_INT(body_alerts(srv_last(&s1)->body), 1);

    /* A reload (same URLs, new labels): posted again at once. */
    c2 = c;
    c2.labels = &team;
    c2.nlabels = 1;
    cs_notify_am_reconfigure(am, &c2);
    n.flush(n.ctx, t0 + 62 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s1), 4);
    CHECK_INT(srv_count(&s2), 6);
    CHECK(strstr(srv_last(&s1)->body, "\"team\":\"fx\"") != NULL);
    /* Another URL: it gets the firing set at once. */
    snprintf(url3, sizeof url3, "http://127.0.0.1:%d/x", s2.port);
    c2.urls = urls2;
    c2.nurls = 1;
    cs_notify_am_reconfigure(am, &c2);
    n.flush(n.ctx, t0 + 63 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s2), 7);
    CHECK_STR(srv_last(&s2)->path, "/x/api/v2/alerts");
    CHECK_INT(body_alerts(srv_last(&s2)->body), 1);
    CHECK_INT(sent, 3);
    CHECK_INT(failed, 0);
    cs_notify_am_free(am);
    srv_stop(&s1);
    srv_stop(&s2);
}

/* Basic and bearer auth from the environment; a missing variable is a
 * failed attempt, logged by name, and no secret is ever logged. */
static void test_auth(void)
{
    struct srv s;
    char url[64], logpath[] = "/tmp/cs-am-log-XXXXXX";
    char *urls[1] = { url };
    struct cs_config_alertmanager c;
    struct cs_notify_am *am;
    struct cs_notifier n;
    struct cs_alert a;
    uint64_t sent = 0, failed = 0;
    int64_t t0 = cs_time_mono_ns();
    int logfd = mkstemp(logpath);
    char *log;

    CHECK(logfd >= 0);
    cs_log_set_fd(logfd);
    srv_start(&s);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    base_cfg(&c, urls, 1);
    c.retry_attempts = 1;
    c.username = "alice";
    c.password_env = "CS_AM_TEST_PW";
    setenv("CS_AM_TEST_PW", "s3cret-pw", 1);
    am = cs_notify_am_new(&c);
    n = cs_notify_am_notifier(am);
    sample(&a, "r", "BTC/USDT");
    n.deliver(n.ctx, &a);
    n.flush(n.ctx, t0, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 1);
    /* base64("alice:s3cret-pw") */
    CHECK_STR(srv_last(&s)->auth, "Basic YWxpY2U6czNjcmV0LXB3");
    CHECK_INT(sent, 1);
    cs_notify_am_free(am);

    c.username = NULL;
    c.password_env = NULL;
    c.bearer_token_env = "CS_AM_TEST_TOKEN";
    setenv("CS_AM_TEST_TOKEN", "tok-abc.123", 1);
    am = cs_notify_am_new(&c);
    n = cs_notify_am_notifier(am);
    n.deliver(n.ctx, &a);
    n.flush(n.ctx, t0, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 2);
    CHECK_STR(srv_last(&s)->auth, "Bearer tok-abc.123");
    CHECK_INT(sent, 2);
    /* The token gone: no request, counted failed after retry_attempts. */
    unsetenv("CS_AM_TEST_TOKEN");
    a.change = 0.1;
    n.deliver(n.ctx, &a);
    n.flush(n.ctx, t0 + 1 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 2);
    CHECK_INT(failed, 1);
    /* A token that would add a header is refused. */
    setenv("CS_AM_TEST_TOKEN", "x\r\nX-Evil: 1", 1);
    n.flush(n.ctx, t0 + 2 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 2);
    cs_notify_am_free(am);
    srv_stop(&s);

    /* An error reply is logged with the host and the body's start. */
    srv_start(&s);
    srv_status(&s, 401);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    c.bearer_token_env = NULL;
    c.username = "alice";
    c.password_env = "CS_AM_TEST_PW";
    am = cs_notify_am_new(&c);
    n = cs_notify_am_notifier(am);
    n.deliver(n.ctx, &a);
    n.flush(n.ctx, t0, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 1);
    CHECK_INT(failed, 2);
    cs_notify_am_free(am);
    srv_stop(&s);

    cs_log_set_fd(2);
    close(logfd);
    log = cs_test_read_file(logpath, NULL);
    unlink(logpath);
    CHECK(strstr(log, "alerts.alertmanager: environment variable "
                      "CS_AM_TEST_TOKEN (the Alertmanager bearer token) is "
                      "not set") != NULL);
    CHECK(strstr(log, "holds control characters") != NULL);
    {
        char want[128];
        snprintf(want, sizeof want, "127.0.0.1:%d: post of 1 alert(s) "
                 "failed (attempt 1): HTTP 401: bad things!", s.port);
        CHECK(strstr(log, want) != NULL);
    }
    CHECK(strstr(log, "s3cret-pw") == NULL);
    CHECK(strstr(log, "tok-abc") == NULL);
    CHECK(strstr(log, "X-Evil") == NULL);
    free(log);
}

/* Large sets go in chunks; the table is bounded (extra alerts counted
 * failed); shutdown drains within drain_timeout_ms and counts the rest. */
static void test_chunks_bound_and_drain(void)
{
    struct srv s;
    char url[64];
    char *urls[1] = { url };
    struct cs_config_alertmanager c;
    struct cs_notify_am *am;
    struct cs_notifier n;
    struct cs_alert a;
    uint64_t sent = 0, failed = 0;
    int64_t t0 = cs_time_mono_ns(), start;

    srv_start(&s);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    base_cfg(&c, urls, 1);
    am = cs_notify_am_new(&c);
    n = cs_notify_am_notifier(am);
    for (int i = 0; i < 1200; i++) {
        char sym[32];
        snprintf(sym, sizeof sym, "C%d/USDT", i);
        sample(&a, "r", sym);
        n.deliver(n.ctx, &a);
    }
    n.flush(n.ctx, t0, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 3);
    CHECK_INT(body_alerts(s.reqs[0].body), 500);
    CHECK_INT(body_alerts(s.reqs[1].body), 500);
    CHECK_INT(body_alerts(s.reqs[2].body), 200);
    CHECK_INT(sent, 1200);
    /* Resolve all but one: posted (all 1200), then the table shrinks. */
    for (int i = 1; i < 1200; i++) {
        char sym[32];
        snprintf(sym, sizeof sym, "C%d/USDT", i);
        sample(&a, "r", sym);
        a.status = CS_ALERT_RESOLVED;
        n.deliver(n.ctx, &a);
    }
    n.flush(n.ctx, t0 + 1 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 6);
    CHECK_INT(sent, 2399);
    n.flush(n.ctx, t0 + 61 * NS, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 7);
    CHECK_INT(body_alerts(srv_last(&s)->body), 1);
    cs_notify_am_free(am);
    srv_stop(&s);

    /* Past the bound, against a closed port, one attempt each. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port());
    c.retry_attempts = 1;
    sent = failed = 0;
    am = cs_notify_am_new(&c);
    n = cs_notify_am_notifier(am);
    for (int i = 0; i < 10001; i++) {
        char sym[32];
        snprintf(sym, sizeof sym, "C%d/USDT", i);
        sample(&a, "r", sym);
        n.deliver(n.ctx, &a);
    }
    n.flush(n.ctx, t0, false, &sent, &failed);
    CHECK_INT(sent, 0);
    CHECK_INT(failed, 10001);
    cs_notify_am_free(am);

    /* Shutdown with the server down: retried until drain_timeout_ms,
     * then counted failed. */
    c.retry_attempts = 10;
    c.retry_initial_ms = 50;
    c.retry_max_ms = 50;
    c.drain_timeout_ms = 300;
    sent = failed = 0;
    am = cs_notify_am_new(&c);
    n = cs_notify_am_notifier(am);
    sample(&a, "r", "BTC/USDT");
    n.deliver(n.ctx, &a);
    a.status = CS_ALERT_RESOLVED;
    n.deliver(n.ctx, &a);
    start = cs_time_mono_ns();
    n.flush(n.ctx, start, true, &sent, &failed);
    CHECK(cs_time_mono_ns() - start >= 250 * MS);
    CHECK(cs_time_mono_ns() - start < 2 * NS);
    CHECK_INT(sent, 0);
    CHECK_INT(failed, 2);
    cs_notify_am_free(am);

    /* Shutdown posts what is pending even inside a backoff. */
    srv_start(&s);
    srv_status(&s, 500);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    c.retry_initial_ms = 10000;
    c.retry_max_ms = 10000;
    sent = failed = 0;
    am = cs_notify_am_new(&c);
    n = cs_notify_am_notifier(am);
    sample(&a, "r", "BTC/USDT");
    n.deliver(n.ctx, &a);
    n.flush(n.ctx, t0, false, &sent, &failed);
    CHECK_INT(srv_count(&s), 1);
    srv_status(&s, 200);
    start = cs_time_mono_ns();
    n.flush(n.ctx, start, true, &sent, &failed);
    CHECK_INT(srv_count(&s), 2);
    CHECK(cs_time_mono_ns() - start < 1 * NS);
    CHECK_INT(sent, 1);
    CHECK_INT(failed, 0);
    cs_notify_am_free(am);
    srv_stop(&s);
}

int main(void)
{
    int status;

    /* As notify_routes.c does for the daemon. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_payload();
    test_post_refresh_resolve();
    test_retry();
    test_ha_and_reconfigure();
    test_auth();
    test_chunks_bound_and_drain();
    status = cs_test_finish("test_notify_alertmanager");
    curl_global_cleanup();
    return status;
}
