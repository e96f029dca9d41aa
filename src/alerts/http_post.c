/* Blocking HTTP POST with libcurl's easy interface, for the notifier
 * thread. Redirects are not followed: a webhook that moved should be
 * reconfigured, not silently re-posted somewhere else. */
#include "cryptosup/http_post.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

/* Keeps the first bytes of the response for the log; the rest is read and
 * discarded so the connection ends cleanly. */
struct response {
    char *snippet;
    size_t size, len;
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct response *r = arg;
    size_t n = size * nmemb;
    for (size_t i = 0; i < n && r->len + 1 < r->size; i++) {
        unsigned char c = (unsigned char)data[i];
        r->snippet[r->len++] = (char)(c < 0x20 || c == 0x7f ? ' ' : c);
    }
    r->snippet[r->len] = '\0';
    return n;
}

enum cs_post_outcome cs_http_post(const struct cs_http_post *req,
                                  struct cs_http_post_result *res)
{
    struct response body = { res->snippet, sizeof res->snippet, 0 };
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE];
    char ctype[160];
    curl_off_t retry_after = 0;
    CURLcode rc;
    CURL *h;

    memset(res, 0, sizeof *res);
    h = curl_easy_init();
    if (h == NULL) {
        snprintf(res->error, sizeof res->error, "curl_easy_init failed");
        return CS_POST_RETRY;
    }
    errbuf[0] = '\0';
    snprintf(ctype, sizeof ctype, "Content-Type: %s",
             req->content_type ? req->content_type : "application/json");
    hdrs = curl_slist_append(hdrs, ctype);
    /* No "Expect: 100-continue" round trip on larger bodies. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        hdrs = curl_slist_append(hdrs, req->headers[i]);
    }
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(req->timeout_ms < 10000 ? req->timeout_ms
                                                    : 10000));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cryptosup");
    if (req->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
    }
    if (req->username) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, req->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD,
                         req->password ? req->password : "");
    }
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
        curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after);
        res->retry_after_ms = retry_after > 0 ? (int64_t)retry_after * 1000
                                              : 0;
    } else {
        snprintf(res->error, sizeof res->error, "%s%s%s",
                 curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        /* A URL curl cannot use will not get better by retrying. */
        return rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL
                   ? CS_POST_PERMANENT : CS_POST_RETRY;
    }
    if (res->status >= 200 && res->status < 300) {
        return CS_POST_OK;
    }
    snprintf(res->error, sizeof res->error, "HTTP %ld", res->status);
    if (res->status == 408 || res->status == 429 || res->status >= 500) {
        return CS_POST_RETRY;
    }
    return CS_POST_PERMANENT;
}

void cs_http_post_log_host(const char *url, char *buf, size_t size)
{
    const char *p = strstr(url, "://");
    size_t n = 0;

    if (size == 0) {
        return;
    }
    if (p == NULL) {
        snprintf(buf, size, "?");
        return;
    }
    p += 3;
    /* Skip credentials written into the URL (user:pass@host). */
    {
        const char *end = p + strcspn(p, "/?#");
        const char *at = memchr(p, '@', (size_t)(end - p));
        if (at) {
            p = at + 1;
        }
    }
    while (p[n] && !strchr("/?#", p[n]) && n + 1 < size) {
        n++;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
}
