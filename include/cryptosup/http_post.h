/* One blocking HTTP POST for alert delivery (webhooks, Alertmanager). It
 * runs on the notifier thread only, never on the loop. The outcome says
 * whether another attempt can help. */
#ifndef CRYPTOSUP_HTTP_POST_H
#define CRYPTOSUP_HTTP_POST_H

#include <stddef.h>
#include <stdint.h>

struct cs_http_post {
    const char *url;
    const char *ca_file;          /* NULL: system default */
    int64_t timeout_ms;
    const char *const *headers;   /* "Name: value", NULL-terminated; may
                                     be NULL */
    const char *username;         /* basic auth when not NULL */
    const char *password;
    const char *content_type;     /* NULL: application/json */
    const char *body;
    size_t len;
};

enum cs_post_outcome {
    CS_POST_OK,          /* 2xx */
    CS_POST_RETRY,       /* network error, timeout, 408, 429, 5xx */
    CS_POST_PERMANENT    /* another 4xx, a redirect, an unusable URL */
};

struct cs_http_post_result {
    long status;              /* 0 when no response */
    int64_t retry_after_ms;   /* from Retry-After on 429/503; 0: none */
    char error[256];          /* transport error, or "HTTP 404" */
    char snippet[200];        /* start of the response body, controls
                                 replaced, for logs */
};

enum cs_post_outcome cs_http_post(const struct cs_http_post *req,
                                  struct cs_http_post_result *res);

/* The host (and port) of a URL for logs: never the path or query, which
 * can hold tokens (Slack, Discord, Telegram). Writes "?" when unparsable. */
void cs_http_post_log_host(const char *url, char *buf, size_t size);

#endif
