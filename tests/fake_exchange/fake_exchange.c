/* fake_exchange: a local stand-in for five crypto venues (WebSocket market
 * data and a little REST) replaying recorded fixtures, with a control port
 * for fault injection. Owns argv, logging, the lws context and the loop. */
#include "fx.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum fx_log_level fx_log_threshold = FX_INFO;

static volatile sig_atomic_t got_signal;

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void fx_log(enum fx_log_level lvl, const char *logger, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    size_t n;

    if (lvl < fx_log_threshold) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, " [%s] %s: ",
                          level_names[lvl], logger);
    va_start(ap, fmt);
    if (n < sizeof line) {
        vsnprintf(line + n, sizeof line - n, fmt, ap);
    }
    va_end(ap);
    n = strlen(line);
    for (size_t i = 0; i < n; i++) {
        if (line[i] == '\n' || line[i] == '\r') {
            line[i] = ' ';
        }
    }
    if (n + 1 < sizeof line) {
        line[n++] = '\n';
    } else {
        line[sizeof line - 1] = '\n';
        n = sizeof line;
    }
    /* one write per line */
    if (write(STDERR_FILENO, line, n) < 0) {
        return;
    }
}

int64_t fx_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t fx_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fx_wall_iso(char *buf, size_t size, int digits)
{
    struct timespec ts;
    struct tm tm;
    char frac[16];
    long ns;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    ns = ts.tv_nsec;
    for (int i = digits; i < 9; i++) {
        ns /= 10;
    }
    snprintf(frac, sizeof frac, ".%0*ld", digits, ns);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             digits > 0 ? frac : "");
}

void *fx_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p) {
        fx_log(FX_ERROR, "fake", "out of memory (%zu bytes)", n);
        abort();
    }
    return p;
}

void *fx_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p) {
        fx_log(FX_ERROR, "fake", "out of memory");
        abort();
    }
    return p;
}

void *fx_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q) {
        fx_log(FX_ERROR, "fake", "out of memory (%zu bytes)", n);
        abort();
    }
    return q;
}

char *fx_xstrndup(const char *s, size_t n)
{
    char *p = fx_xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void lws_emit(int level, const char *line)
{
    char buf[512];
    size_t n;
    const char *ts_end;

    /* lws prefixes "[YYYY/MM/DD HH:MM:SS:mmmm] L: " */
    ts_end = line[0] == '[' ? strchr(line, ']') : NULL;
    if (ts_end && ts_end[1] == ' ') {
        line = ts_end + 2;
    }
    snprintf(buf, sizeof buf, "%s", line);
    n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    fx_log(level & LLL_ERR ? FX_ERROR : level & LLL_WARN ? FX_WARN : FX_DEBUG,
           "fake.lws", "%s", buf);
}

static void on_signal(int sig)
{
    got_signal = sig;
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    struct fx_server *s = lws_container_of(sul, struct fx_server, tick);
    int64_t now = fx_now_us();

    fx_tick(s, now);
    if (s->exit_at_us && now >= s->exit_at_us && !s->stop) {
        fx_log(FX_WARN, "fake", "--exit-after reached, stopping");
        s->stop = true;
    }
    lws_sul_schedule(s->ctx, 0, &s->tick, tick_cb, 10 * LWS_US_PER_MS);
}

static void usage(FILE *fp)
{
    fprintf(fp,
        "usage: fake_exchange --port N --fixtures DIR [options]\n"
        "  --port N                 exchange port on 127.0.0.1 (0: pick one)\n"
        "  --control-port M         control API port (0: pick one; default none)\n"
        "  --tls --cert F --key F   serve wss:// and https:// on --port\n"
        "  --fixtures DIR           tests/fixtures/exchanges\n"
        "  --fixture VENUE=FILE     replay FILE (relative to DIR) for VENUE\n"
        "  --speed X                replay pacing factor (default 1)\n"
        "  --symbols MODE           rewrite (default) | exact | asis\n"
        "  --rewrite-symbols        same as --symbols rewrite\n"
        "  --retime                 shift recorded times to now\n"
        "  --no-loop                stop replaying at the end of a recording\n"
        "  --restart-sequences      every loop/connection resends the recorded\n"
        "                           ids (default: ids continue process-wide)\n"
        "  --ping-interval-ms N     Binance server ping period (default 20000)\n"
        "  --pong-timeout-ms N      close Binance conns on no pong (60000; 0 off)\n"
        "  --heartbeat-ms N         Coinbase/Kraken heartbeat period (1000)\n"
        "  --max-conn-age S         close connections older than S (0 off)\n"
        "  --subscribe-timeout-ms N close unsubscribed conns (default per venue)\n"
        "  --max-queue-bytes N      per-connection send queue (8 MiB)\n"
        "  --enforce-rate-limit     close Binance conns over 5 messages/s\n"
        "  --exit-after S           stop after S seconds (default 600; 0 off)\n"
        "  --ready-file PATH        write {\"port\":..,\"control_port\":..} when up\n"
        "  --log-level LEVEL        debug | info | warn | error (default info)\n");
}

static int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

enum {
    OPT_PORT = 256, OPT_CONTROL_PORT, OPT_TLS, OPT_CERT, OPT_KEY, OPT_FIXTURES,
    OPT_FIXTURE, OPT_SPEED, OPT_SYMBOLS, OPT_REWRITE, OPT_RETIME, OPT_NO_LOOP,
    OPT_RESTART_SEQ,
    OPT_PING, OPT_PONG, OPT_HB, OPT_AGE, OPT_SUBTO, OPT_QUEUE, OPT_RATE,
    OPT_EXIT, OPT_READY, OPT_LOG, OPT_HELP,
};

static int parse_args(int argc, char **argv, struct fx_options *o)
{
    static const struct option longopts[] = {
        { "port", required_argument, NULL, OPT_PORT },
        { "control-port", required_argument, NULL, OPT_CONTROL_PORT },
        { "tls", no_argument, NULL, OPT_TLS },
        { "cert", required_argument, NULL, OPT_CERT },
        { "key", required_argument, NULL, OPT_KEY },
        { "fixtures", required_argument, NULL, OPT_FIXTURES },
        { "fixture", required_argument, NULL, OPT_FIXTURE },
        { "speed", required_argument, NULL, OPT_SPEED },
        { "symbols", required_argument, NULL, OPT_SYMBOLS },
        { "rewrite-symbols", no_argument, NULL, OPT_REWRITE },
        { "retime", no_argument, NULL, OPT_RETIME },
        { "no-loop", no_argument, NULL, OPT_NO_LOOP },
        { "restart-sequences", no_argument, NULL, OPT_RESTART_SEQ },
        { "ping-interval-ms", required_argument, NULL, OPT_PING },
        { "pong-timeout-ms", required_argument, NULL, OPT_PONG },
        { "heartbeat-ms", required_argument, NULL, OPT_HB },
        { "max-conn-age", required_argument, NULL, OPT_AGE },
        { "subscribe-timeout-ms", required_argument, NULL, OPT_SUBTO },
        { "max-queue-bytes", required_argument, NULL, OPT_QUEUE },
        { "enforce-rate-limit", no_argument, NULL, OPT_RATE },
        { "exit-after", required_argument, NULL, OPT_EXIT },
        { "ready-file", required_argument, NULL, OPT_READY },
        { "log-level", required_argument, NULL, OPT_LOG },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    int64_t v;
    int c;
    bool have_port = false;

    o->port = -1;
    o->control_port = -1;
    o->speed = 1.0;
    o->symbols = FX_SYMBOLS_REWRITE;
    o->loop = true;
    o->ping_interval_ms = 20000;
    o->pong_timeout_ms = 60000;
    o->heartbeat_ms = 1000;
    o->subscribe_timeout_ms = -1;
    o->exit_after_s = 600;
    o->max_queue_bytes = 8 * 1024 * 1024;
    o->log_level = FX_INFO;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        const char *a = optarg;
        switch (c) {
        case OPT_PORT:
        case OPT_CONTROL_PORT:
            if (parse_int64(a, 0, 65535, &v) != 0) {
                fprintf(stderr, "fake_exchange: bad port %s\n", a);
                return -1;
            }
            if (c == OPT_PORT) {
                o->port = (int)v;
                have_port = true;
            } else {
                o->control_port = (int)v;
            }
            break;
        case OPT_TLS:
            o->tls = true;
            break;
        case OPT_CERT:
            o->cert = a;
            break;
        case OPT_KEY:
            o->key = a;
            break;
        case OPT_FIXTURES:
            o->fixtures = a;
            break;
        case OPT_FIXTURE: {
            const char *eq = strchr(a, '=');
            bool any;
            char name[32];
            int ven;
            if (!eq || (size_t)(eq - a) >= sizeof name) {
                fprintf(stderr, "fake_exchange: --fixture VENUE=FILE\n");
                return -1;
            }
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            ven = fx_venue_from_name(name, &any);
            if (ven < 0 || any || ven == FX_KRAKEN) {
                fprintf(stderr, "fake_exchange: --fixture: venue %s cannot "
                        "take a recording\n", name);
                return -1;
            }
            o->fixture_file[ven] = eq + 1;
            break;
        }
        case OPT_SPEED: {
            char *end;
            o->speed = strtod(a, &end);
            if (*end || !(o->speed >= 0.01 && o->speed <= 1000)) {
                fprintf(stderr, "fake_exchange: --speed between 0.01 and 1000\n");
                return -1;
            }
            break;
        }
        case OPT_SYMBOLS:
            if (!strcmp(a, "rewrite")) {
                o->symbols = FX_SYMBOLS_REWRITE;
            } else if (!strcmp(a, "exact")) {
                o->symbols = FX_SYMBOLS_EXACT;
            } else if (!strcmp(a, "asis")) {
                o->symbols = FX_SYMBOLS_ASIS;
            } else {
                fprintf(stderr, "fake_exchange: --symbols rewrite|exact|asis\n");
                return -1;
            }
            break;
        case OPT_REWRITE:
            o->symbols = FX_SYMBOLS_REWRITE;
            break;
        case OPT_RETIME:
            o->retime = true;
            break;
        case OPT_NO_LOOP:
            o->loop = false;
            break;
        case OPT_RESTART_SEQ:
            o->restart_sequences = true;
            break;
        case OPT_PING:
        case OPT_PONG:
        case OPT_HB:
        case OPT_AGE:
        case OPT_SUBTO:
        case OPT_QUEUE:
        case OPT_EXIT:
            if (parse_int64(a, 0, INT64_C(1) << 40, &v) != 0) {
                fprintf(stderr, "fake_exchange: bad number %s\n", a);
                return -1;
            }
            if (c == OPT_PING) {
                o->ping_interval_ms = v;
            } else if (c == OPT_PONG) {
                o->pong_timeout_ms = v;
            } else if (c == OPT_HB) {
                o->heartbeat_ms = v;
            } else if (c == OPT_AGE) {
                o->max_conn_age_s = v;
            } else if (c == OPT_SUBTO) {
                o->subscribe_timeout_ms = v;
            } else if (c == OPT_QUEUE) {
                o->max_queue_bytes = v < 65536 ? 65536 : v;
            } else {
                o->exit_after_s = v;
            }
            break;
        case OPT_RATE:
            o->enforce_rate_limit = true;
            break;
        case OPT_READY:
            o->ready_file = a;
            break;
        case OPT_LOG:
            if (!strcmp(a, "debug")) {
                o->log_level = FX_DEBUG;
            } else if (!strcmp(a, "info")) {
                o->log_level = FX_INFO;
            } else if (!strcmp(a, "warn")) {
                o->log_level = FX_WARN;
            } else if (!strcmp(a, "error")) {
                o->log_level = FX_ERROR;
            } else {
                fprintf(stderr, "fake_exchange: --log-level debug|info|warn|error\n");
                return -1;
            }
            break;
        case OPT_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc || !have_port || !o->fixtures) {
        usage(stderr);
        return -1;
    }
    if (o->tls && (!o->cert || !o->key)) {
        fprintf(stderr, "fake_exchange: --tls needs --cert and --key\n");
        return -1;
    }
    return 0;
}

static int write_ready(const struct fx_server *s)
{
    char tmp[4096];
    FILE *fp;

    if (!s->opt.ready_file) {
        return 0;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", s->opt.ready_file);
    fp = fopen(tmp, "w");
    if (!fp) {
        fx_log(FX_ERROR, "fake", "%s: %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(fp, "{\"pid\":%ld,\"port\":%d,\"control_port\":%d,\"tls\":%s}\n",
            (long)getpid(), s->port, s->control_port, s->opt.tls ? "true" : "false");
    if (fclose(fp) != 0 || rename(tmp, s->opt.ready_file) != 0) {
        fx_log(FX_ERROR, "fake", "%s: %s", s->opt.ready_file, strerror(errno));
        return -1;
    }
    return 0;
}

static const struct lws_protocols main_protocols[] = {
    { "fx-exchange", fx_main_callback, sizeof(struct fx_pss), 65536, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static const struct lws_protocols control_protocols[] = {
    { "fx-control", fx_control_callback, sizeof(struct fx_http), 4096, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
    static struct fx_server srv;
    struct fx_server *s = &srv;
    struct lws_context_creation_info info;
    struct sigaction sa;
    int rc = 1;
    int64_t stop_deadline = 0;

    if (parse_args(argc, argv, &s->opt) != 0) {
        return 2;
    }
    fx_log_threshold = s->opt.log_level;
    lws_set_log_level(s->opt.log_level == FX_DEBUG
                      ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR | LLL_WARN,
                      lws_emit);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    s->started_us = fx_now_us();
    if (s->opt.exit_after_s > 0) {
        s->exit_at_us = s->started_us + s->opt.exit_after_s * 1000000;
    }
    if (fx_feeds_load(s) != 0) {
        goto out;
    }

    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS
                   | LWS_SERVER_OPTION_DISABLE_IPV6
                   | (s->opt.tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.user = s;
    info.max_http_header_data = 8192;  /* long Binance stream lists */
    info.max_http_header_pool = 64;    /* slow REST replies hold one each */
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        fx_log(FX_ERROR, "fake", "lws_create_context failed");
        goto out;
    }

    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    info.port = s->opt.port;
    info.iface = "127.0.0.1";
    info.protocols = main_protocols;
    info.vhost_name = "exchange";
    info.alpn = "http/1.1";
    if (s->opt.tls) {
        /* lws only sets up a vhost's TLS when the vhost info asks too */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = s->opt.cert;
        info.ssl_private_key_filepath = s->opt.key;
    }
    s->vh_main = lws_create_vhost(s->ctx, &info);
    if (!s->vh_main) {
        fx_log(FX_ERROR, "fake", "cannot set up the listener on 127.0.0.1:%d",
               s->opt.port);
        goto out;
    }
    s->port = lws_get_vhost_listen_port(s->vh_main);

    if (s->opt.control_port >= 0) {
        memset(&info, 0, sizeof info);
        info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
        info.port = s->opt.control_port;
        info.iface = "127.0.0.1";
        info.protocols = control_protocols;
        info.vhost_name = "control";
        s->vh_ctl = lws_create_vhost(s->ctx, &info);
        if (!s->vh_ctl) {
            fx_log(FX_ERROR, "fake", "cannot listen on 127.0.0.1:%d (control)",
                   s->opt.control_port);
            goto out;
        }
        s->control_port = lws_get_vhost_listen_port(s->vh_ctl);
    } else {
        s->control_port = -1;
    }

    lws_sul_schedule(s->ctx, 0, &s->tick, tick_cb, 10 * LWS_US_PER_MS);
    if (write_ready(s) != 0) {
        goto out;
    }
    fx_log(FX_INFO, "fake", "listening on %s://127.0.0.1:%d, control %d",
           s->opt.tls ? "wss" : "ws", s->port, s->control_port);
    printf("fake_exchange: listening port=%d control_port=%d tls=%d\n", s->port,
           s->control_port, s->opt.tls ? 1 : 0);
    fflush(stdout);

    while (!got_signal) {
        if (lws_service(s->ctx, 0) < 0) {
            fx_log(FX_ERROR, "fake", "lws_service failed");
            goto out;
        }
        if (s->stop) {
            int64_t now = fx_now_us();
            if (!stop_deadline) {
                stop_deadline = now + 200000;   /* let replies go out */
            } else if (now >= stop_deadline) {
                break;
            }
        }
    }
    fx_log(FX_INFO, "fake", "stopping (%s)", got_signal ? "signal" : "request");
    rc = 0;
out:
    if (s->ctx) {
        lws_sul_cancel(&s->tick);
        lws_context_destroy(s->ctx);
    }
    fx_http_free_pending(s);
    fx_conns_free(s);
    fx_feeds_free(s);
    if (s->opt.ready_file && rc != 0) {
        unlink(s->opt.ready_file);
    }
    return rc;
}
