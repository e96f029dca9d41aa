/* The validated configuration, copied out of config.lua into plain C. No
 * Lua state survives loading; a reload builds a new one and swaps. */
#ifndef CRYPTOSUP_CONFIG_H
#define CRYPTOSUP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/err.h"
#include "cryptosup/log.h"
#include "cryptosup/venue.h"

/* One configured symbol of one exchange. */
struct cs_config_symbol {
    char *symbol;   /* normalised BASE/QUOTE */
    char *raw;      /* the venue's spelling */
};

/* How an exchange's data arrives. */
enum cs_config_transport {
    CS_TRANSPORT_WS,      /* WebSocket streams only */
    CS_TRANSPORT_REST,    /* REST ticker polling only, no WebSocket */
    CS_TRANSPORT_BOTH     /* both */
};

struct cs_config_exchange {
    char *name;                        /* "binance" */
    const struct cs_venue_ops *venue;
    struct cs_config_symbol *symbols;  /* empty: every symbol (replay) */
    size_t nsymbols;
    char *url;                         /* WebSocket endpoint; NULL: venue's */
    char **channels;                   /* NULL: the venue's defaults */
    size_t nchannels;
    /* Overrides of the venue's wire numbers; 0: the venue's own. */
    int64_t idle_timeout_ms;
    int64_t ping_interval_ms;
    int64_t max_lifetime_ms;
    unsigned max_symbols_per_conn;
    /* REST: ticker polling and window warm-up. */
    char *rest_url;                    /* REST base URL (no trailing '/');
                                          NULL: see cs_config_rest_url() */
    enum cs_config_transport transport;
    int64_t poll_interval_ms;          /* ticker polling period; 0: none */
    bool warmup;                       /* fill windows from 1-minute candles
                                          at start and for added symbols */
    int64_t warmup_minutes;            /* at most this many minutes back */
};

/* How connectors connect and reconnect. */
struct cs_config_connect {
    char *ca_file;             /* CA bundle for wss; NULL: system default */
    int64_t backoff_initial_ms;
    int64_t backoff_max_ms;    /* cap; reconnects never give up */
    int64_t healthy_after_ms;  /* open this long with data: backoff resets */
    int64_t connect_timeout_ms;
    size_t max_frame_bytes;    /* larger frames are dropped and counted */
};

/* The HTTP endpoint (/metrics, /healthz, /api/...). */
struct cs_config_metrics {
    char *listen;            /* "host:port" or ":port" (all interfaces) */
};

#define CS_CONFIG_METRICS_LISTEN ":8000"

/* PostgreSQL history (store.h). Off unless postgres or postgres_env is
 * set. */
enum cs_store_mode { CS_STORE_EVERY_TICK, CS_STORE_INTERVAL };

struct cs_config_storage {
    bool enabled;
    char *postgres;          /* conninfo or URL; secret: never logged */
    char *postgres_env;      /* environment variable holding it instead */
    enum cs_store_mode mode;
    int64_t interval_ms;     /* CS_STORE_INTERVAL: one row per instrument
                                per interval (the interval's last price) */
    size_t queue_rows;       /* preallocated ring */
    size_t buffer_rows;      /* in-memory overflow beyond the ring */
    char *spill_dir;         /* on-disk spill while the database is away */
    int64_t spill_max_mb;
    size_t batch_rows;       /* rows per COPY */
};

/* How a route (an email destination or a webhook) batches, limits and
 * retries. See README "Alert delivery". */
struct cs_config_route {
    int64_t group_window_s;  /* alerts within this window: one message */
    int64_t max_per_hour;    /* messages; past it, one digest an hour */
    bool send_resolved;
    char **rules;            /* NULL: every rule */
    size_t nrules;
    char **severities;       /* NULL: every severity */
    size_t nseverities;
    int64_t retry_initial_ms;  /* backoff between attempts, doubling */
    int64_t retry_max_ms;
    int64_t retry_attempts;    /* then the message is dropped (failed) */
    int64_t timeout_ms;        /* one attempt */
    int64_t drain_timeout_ms;  /* at shutdown, keep retrying this long */
};

/* Email delivery of alerts (notify_smtp.h). Recipients and servers come
 * only from here, never from a rule. */
struct cs_config_email {
    char *name;              /* "email", or "email:<name>" with several */
    char *url;               /* smtp://host[:port] or smtps://host[:port] */
    bool starttls;           /* smtp://: require STARTTLS (default) */
    char *ca_file;           /* NULL: system default */
    char *username;          /* NULL: no AUTH */
    char *password_env;      /* environment variable holding the password */
    char *from;              /* "Name <addr>" or "addr" */
    char *from_addr;         /* the address part of from */
    char **to;               /* addresses */
    size_t nto;
    char *subject;           /* templates, see README "Email alerts" */
    char *body;
    struct cs_config_route route;
};

/* An HTTP header sent with webhook or Alertmanager posts; the value comes
 * from the config or, for secrets, from an environment variable. */
struct cs_config_header {
    char *name;
    char *value;             /* NULL when value_env is set */
    char *value_env;
};

enum cs_webhook_format {
    CS_WEBHOOK_JSON,         /* cryptosup's own JSON document */
    CS_WEBHOOK_SLACK,        /* {"text": ...} incoming webhook */
    CS_WEBHOOK_DISCORD,      /* {"content": ...} */
    CS_WEBHOOK_TELEGRAM      /* Bot API sendMessage */
};

/* One webhook route (notify_webhook.h). */
struct cs_config_webhook {
    char *name;              /* "webhook:<name>" in logs and metrics */
    enum cs_webhook_format format;
    char *url;               /* NULL when url_env or telegram */
    char *url_env;           /* the URL is a secret (Slack, Discord) */
    char *ca_file;
    struct cs_config_header *headers;
    size_t nheaders;
    char *hmac_secret_env;   /* sign the body: X-Cryptosup-Signature */
    char *text;              /* chat formats: per-alert line template */
    char *title;             /* chat formats: first line template */
    /* Telegram: POST {api_url}/bot<token>/sendMessage. */
    char *api_url;
    char *bot_token_env;
    char *chat_id;
    struct cs_config_route route;
};

/* Alertmanager v2 (notify_alertmanager.h): firing alerts are posted and
 * re-posted every refresh_s with endsAt = now + 4 * refresh_s, and posted
 * once more with endsAt = now when they resolve. */
struct cs_config_alertmanager {
    bool enabled;
    char **urls;             /* base URLs (http://127.0.0.1:9093), each
                                member of an HA cluster gets every post */
    size_t nurls;
    char *ca_file;
    char *username;          /* basic auth; password from password_env */
    char *password_env;
    char *bearer_token_env;  /* Authorization: Bearer <token> */
    struct cs_config_header *labels;   /* extra static labels (value) */
    size_t nlabels;
    char *generator_url;     /* NULL: none */
    char *summary;           /* annotation templates */
    char *description;
    char **rules;            /* NULL: every rule */
    size_t nrules;
    char **severities;
    size_t nseverities;
    int64_t refresh_s;
    int64_t timeout_ms;
    int64_t retry_initial_ms;
    int64_t retry_max_ms;
    int64_t retry_attempts;  /* a new event is counted failed after this
                                many failed posts (it is still re-posted) */
    int64_t drain_timeout_ms;
};

struct cs_config_alerts {
    struct cs_config_email *emails;
    size_t nemails;
    struct cs_config_webhook *webhooks;
    size_t nwebhooks;
    struct cs_config_alertmanager alertmanager;
};

/* A loaded config is shared by reference: the engine holds one, the
 * notifier thread another (cs_config_ref), so a reload can hand the new
 * one across threads without copying. The last cs_config_free frees. */
struct cs_config {
    _Atomic unsigned refs;
    char *path;              /* config file, NULL for built-in defaults */
    char *rules_dir;         /* absolute or relative to the config's dir */
    char *lua_dir;           /* require() root */
    char **rule_files;       /* resolved paths, sorted */
    size_t nrule_files;
    struct cs_config_exchange *exchanges;
    size_t nexchanges;
    bool all_symbols;        /* no exchanges section: watch everything */
    struct cs_config_connect connect;
    struct cs_config_metrics metrics;
    struct cs_config_storage storage;
    int64_t *windows_s;      /* windows kept for every instrument, sorted */
    size_t nwindows;
    enum cs_log_level log_level;
    size_t lua_memory_bytes;
    uint64_t lua_instructions;
    unsigned lua_print_lines;
    unsigned rule_failures_to_park;   /* consecutive failures */
    size_t max_instruments;
    size_t alert_queue_size;
    struct cs_config_alerts alerts;
};

/* Load and validate `path` (NULL: defaults with the shipped rules and no
 * symbol filter). Every problem is logged to config.load as
 * "file:line: key: message" and, when `errors` is not NULL, appended there
 * one per line (caller frees). On success *out owns a new config. */
enum cs_err cs_config_load(const char *path, struct cs_config **out,
                           char **errors);
/* Drop a reference; the last one frees. NULL is fine. */
void cs_config_free(struct cs_config *cfg);
/* Take another reference (any thread). Returns cfg: the reference count
 * is the one part of a loaded config that changes after loading. */
struct cs_config *cs_config_ref(const struct cs_config *cfg);

/* "json", "slack", "discord" or "telegram". */
const char *cs_config_webhook_format_name(enum cs_webhook_format f);

/* Whether any alert route (email, webhook, Alertmanager) is configured. */
bool cs_config_alerts_any(const struct cs_config_alerts *a);

/* The data directory holding the shipped lua/, rules/ and config/: the
 * CRYPTOSUP_DATA_DIR environment variable, else the build-time default.
 * Borrowed, static. */
const char *cs_config_data_dir(void);

/* The REST base URL an exchange uses: rest_url, else the venue's public
 * one, but NULL when `url` is set without rest_url (a testnet, proxy or
 * test stream must not be mixed with the public venue's history).
 * Borrowed from `x` or static. */
const char *cs_config_rest_url(const struct cs_config_exchange *x);

/* Split a listen address "host:port", ":port" or "[v6]:port" (port
 * 0..65535; 0: any free port). host gets "" for all interfaces. False when
 * malformed or the host does not fit `host_size`. */
bool cs_config_parse_listen(const char *text, char *host, size_t host_size,
                            int *port);

/* The raw spelling of BASE/QUOTE on a venue (BTCUSDT, BTC-USD). */
void cs_config_compose_raw(const struct cs_venue_ops *venue, const char *base,
                           const char *quote, char *buf, size_t size);

#endif
