/* The per-tick pipeline: intern the instrument, push its price into its
 * windows, evaluate the rules that watch it, drive the alert state machine
 * and hand alerts out. Also the reload swap, which carries windows and
 * alert state across rule sets. */
#include "cryptosup/engine.h"

#include <stdlib.h>
#include <string.h>

#include "cryptosup/jsonw.h"
#include "cryptosup/log.h"
#include "cryptosup/store.h"
#include "cryptosup/timeutil.h"
#include "engine/instruments.h"

#define LOG_ENGINE "core.engine"
#define LOG_ALERTS "alerts"

struct cs_engine {
    struct cs_config *cfg;
    struct cs_ruleset *rules;
    struct cs_engine_options opt;
    struct cs_instruments *instruments;
    int64_t now_ns;                    /* data time: newest tick seen */
    bool warming;                      /* feeding warm-up history */
    uint64_t next_alert_id;
    struct cs_engine_stats stats;
    struct cs_parse_out parsed;        /* reused for every frame */
    struct cs_jsonw out;               /* reused for every output line */
    struct cs_window_view views[CS_MAX_WINDOWS];
    struct cs_alert recent[CS_ENGINE_RECENT_ALERTS];   /* ring of the last
                                                          alerts dispatched */
    size_t recent_next;                /* next slot to write */
    size_t recent_count;               /* filled slots */
    struct cs_store *store;            /* history; borrowed, may be NULL */
};

/* Window widths every instrument keeps: the config's plus every rule's. */
static void collect_windows(const struct cs_config *cfg,
                            const struct cs_ruleset *rs, int64_t *out,
                            size_t *n)
{
    size_t count = 0, nrule = 0;
    const int64_t *rule_windows = cs_ruleset_windows(rs, &nrule);
    const int64_t *lists[2] = { cfg->windows_s, rule_windows };
    size_t sizes[2] = { cfg->nwindows, nrule };

    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; i < sizes[l]; i++) {
            size_t j = 0;
            while (j < count && out[j] < lists[l][i]) {
                j++;
            }
            if (j < count && out[j] == lists[l][i]) {
                continue;
            }
            if (count == CS_MAX_WINDOWS) {
                cs_log_warn(LOG_ENGINE, "more than %d windows; ignoring %llds",
                            CS_MAX_WINDOWS, (long long)lists[l][i]);
                continue;
            }
            memmove(out + j + 1, out + j, (count - j) * sizeof *out);
            out[j] = lists[l][i];
            count++;
        }
    }
    *n = count;
}

struct cs_engine *cs_engine_new(struct cs_config *cfg, struct cs_ruleset *rs,
                                const struct cs_engine_options *opt)
{
    struct cs_engine *e = cs_xcalloc(1, sizeof *e);
    int64_t windows[CS_MAX_WINDOWS];
    size_t nwindows = 0;

    e->cfg = cfg;
    e->rules = rs;
    if (opt) {
        e->opt = *opt;
    }
    collect_windows(cfg, rs, windows, &nwindows);
    e->instruments = cs_instruments_new(cfg, rs, windows, nwindows);
    cs_jsonw_init(&e->out);
    e->stats.last_reload_ok = true;
    e->stats.last_reload_success_ns = cs_time_now_ns();
    return e;
}

void cs_engine_free(struct cs_engine *e)
{
    if (e == NULL) {
        return;
    }
    cs_instruments_free(e->instruments);
    cs_ruleset_free(e->rules);
    cs_config_free(e->cfg);
    cs_jsonw_cleanup(&e->out);
    free(e);
}

const struct cs_alert *cs_engine_recent_alert(const struct cs_engine *e,
                                              size_t i)
{
    if (i >= e->recent_count) {
        return NULL;
    }
    return &e->recent[(e->recent_next + CS_ENGINE_RECENT_ALERTS - 1 - i) %
                      CS_ENGINE_RECENT_ALERTS];
}

void cs_engine_set_alert_queue(struct cs_engine *e, struct cs_alert_queue *q)
{
    e->opt.alerts = q;
}

const struct cs_config *cs_engine_config(const struct cs_engine *e) { return e->cfg; }
struct cs_ruleset *cs_engine_rules(struct cs_engine *e) { return e->rules; }
const struct cs_engine_stats *cs_engine_stats(const struct cs_engine *e) { return &e->stats; }
int64_t cs_engine_now_ns(const struct cs_engine *e) { return e->now_ns; }

size_t cs_engine_window_bytes(const struct cs_engine *e)
{
    return cs_instruments_window_bytes(e->instruments);
}

static void write_line(struct cs_engine *e)
{
    cs_jsonw_raw(&e->out, "\n", 1);
    if (fwrite(e->out.buf, 1, e->out.len, e->opt.emit) != e->out.len) {
        e->stats.emit_errors++;
    }
}

static void json_text_or_null(struct cs_jsonw *w, const char *key,
                              struct cs_text t)
{
    cs_jsonw_key(w, key);
    if (t.len == 0) {
        cs_jsonw_null(w);
    } else {
        cs_jsonw_string(w, t.ptr, t.len);
    }
}

static void emit_tick(struct cs_engine *e, const struct cs_instrument *inst,
                      const struct cs_tick *t, int64_t ts_ns)
{
    struct cs_jsonw *w = &e->out;

    cs_jsonw_reset(w);
    cs_jsonw_begin_object(w);
    cs_jsonw_key(w, "type");
    cs_jsonw_cstring(w, "tick");
    cs_jsonw_key(w, "exchange");
    cs_jsonw_cstring(w, t->exchange);
    cs_jsonw_key(w, "symbol");
    cs_jsonw_cstring(w, inst->symbol);
    cs_jsonw_key(w, "raw_symbol");
    cs_jsonw_cstring(w, inst->raw);
    cs_jsonw_key(w, "kind");
    cs_jsonw_cstring(w, cs_tick_kind_name(t->kind));
    cs_jsonw_key(w, "ts");
    cs_jsonw_int(w, ts_ns / CS_NS_PER_MS);
    json_text_or_null(w, "price", t->price_text);
    json_text_or_null(w, "bid", t->bid_text);
    json_text_or_null(w, "ask", t->ask_text);
    json_text_or_null(w, "qty", t->qty_text);
    cs_jsonw_key(w, "seq");
    if (t->has_seq) {
        cs_jsonw_int(w, (int64_t)t->seq);
    } else {
        cs_jsonw_null(w);
    }
    cs_jsonw_key(w, "recv_ts");
    if (t->recv_ns) {
        cs_jsonw_int(w, t->recv_ns / CS_NS_PER_MS);
    } else {
        cs_jsonw_null(w);
    }
    cs_jsonw_end_object(w);
    write_line(e);
}

static void emit_alert(struct cs_engine *e, const struct cs_alert *a)
{
    struct cs_jsonw *w = &e->out;

    cs_jsonw_reset(w);
    cs_jsonw_begin_object(w);
    cs_jsonw_key(w, "type");
    cs_jsonw_cstring(w, "alert");
    cs_alert_json_fields(w, a);
    cs_jsonw_end_object(w);
    write_line(e);
}

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size) {
        n = size - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The view of the window a rule reports, or NULL when it names none. */
static const struct cs_window_view *rule_view(const struct cs_engine *e,
                                              const struct cs_rule *rule,
                                              const struct cs_rule_input *in)
{
    (void)e;
    for (size_t i = 0; i < in->nwindows; i++) {
        if (in->windows_s[i] == rule->window_s) {
            return &in->views[i];
        }
    }
    return NULL;
}

static void build_alert(struct cs_engine *e, const struct cs_rule *rule,
                        const struct cs_instrument *inst,
                        const struct cs_rule_input *in,
                        enum cs_alert_status status, const char *message,
                        struct cs_alert *a)
{
    const struct cs_window_view *v = rule_view(e, rule, in);

    memset(a, 0, sizeof *a);
    a->id = ++e->next_alert_id;
    a->status = status;
    copy_str(a->rule, sizeof a->rule, rule->name);
    copy_str(a->severity, sizeof a->severity, rule->severity);
    copy_str(a->exchange, sizeof a->exchange, inst->venue->name);
    copy_str(a->symbol, sizeof a->symbol, inst->symbol);
    copy_str(a->raw_symbol, sizeof a->raw_symbol, inst->raw);
    a->ts_ns = in->ts_ns;
    a->window_s = rule->window_s;
    cs_decimal_format(in->price, false, a->price, sizeof a->price);
    if (v && v->complete) {
        struct cs_decimal ref = v->reference;
        int64_t mant;
        /* Spell the reference with the price's decimals ("100.00" next to
         * "102.00"), as the exchange would. */
        if (ref.exp > in->price.exp &&
            cs_decimal_rescale(ref, in->price.exp, &mant)) {
            ref.mant = mant;
            ref.exp = in->price.exp;
        }
        a->has_change = true;
        a->change = v->change;
        cs_decimal_format(ref, false, a->reference, sizeof a->reference);
    }
    if (message) {
        copy_str(a->message, sizeof a->message, message);
    }
}

static void log_alert(const struct cs_alert *a)
{
    char window[16] = "-";
    if (a->window_s > 0) {
        cs_duration_format(a->window_s, window, sizeof window);
    }
    if (a->has_change) {
        cs_log_info(LOG_ALERTS, "%s %s %s %s: %+.2f%% over %s, price %s, "
                    "reference %s%s%s",
                    a->status == CS_ALERT_FIRING ? "FIRING" : "RESOLVED",
                    a->rule, a->exchange, a->symbol, a->change * 100.0, window,
                    a->price, a->reference, a->message[0] ? ": " : "",
                    a->message);
    } else {
        cs_log_info(LOG_ALERTS, "%s %s %s %s%s%s%s%s",
                    a->status == CS_ALERT_FIRING ? "FIRING" : "RESOLVED",
                    a->rule, a->exchange, a->symbol,
                    a->price[0] ? ": price " : "", a->price,
                    a->message[0] ? ": " : "", a->message);
    }
}

static void dispatch_alert(struct cs_engine *e, const struct cs_rule *rule,
                           const struct cs_alert *a)
{
    bool visible = a->status == CS_ALERT_FIRING || rule->notify_resolved;

    e->recent[e->recent_next] = *a;
    e->recent_next = (e->recent_next + 1) % CS_ENGINE_RECENT_ALERTS;
    if (e->recent_count < CS_ENGINE_RECENT_ALERTS) {
        e->recent_count++;
    }
    if (visible) {
        log_alert(a);
        if (e->opt.emit && e->opt.emit_alerts) {
            emit_alert(e, a);
        }
    }
    /* Notifiers get resolutions too: Alertmanager needs them even when
     * nobody wants a "resolved" email. */
    if (e->store && !e->warming) {
        cs_store_enqueue_alert(e->store, a);
    }
    if (e->opt.alerts && !cs_alert_queue_push(e->opt.alerts, a)) {
        e->stats.alerts_queue_dropped++;
        cs_log_limited(CS_LOG_WARN, LOG_ALERTS, "queue-full",
                       "alert queue full: alert %s dropped", a->rule);
    }
}

static enum cs_cond eval_threshold(const struct cs_rule *rule,
                                   const struct cs_window_view *v,
                                   bool firing)
{
    double level;

    if (v == NULL || !v->complete) {
        return CS_COND_UNKNOWN;
    }
    if (v->gapped && rule->ignore_gapped) {
        return CS_COND_UNKNOWN;
    }
    /* Hysteresis: once firing, the alert re-arms only when the change
     * falls back inside the (lower) re-arm level. */
    level = firing && rule->rearm >= 0 ? rule->rearm : rule->threshold;
    switch (rule->direction) {
    case CS_DIR_UP:
        return v->change >= level ? CS_COND_TRUE : CS_COND_FALSE;
    case CS_DIR_DOWN:
        return v->change <= -level ? CS_COND_TRUE : CS_COND_FALSE;
    case CS_DIR_BOTH:
        break;
    }
    return (v->change >= level || v->change <= -level) ? CS_COND_TRUE
                                                        : CS_COND_FALSE;
}

/* A Lua rule, behind its C prefilter: below the prefilter level over
 * the rule's window the condition is false without entering Lua. */
static enum cs_cond eval_lua(struct cs_engine *e, struct cs_rule *rule,
                             const struct cs_rule_input *in, bool firing,
                             const char **message)
{
    if (rule->prefilter >= 0) {
        const struct cs_window_view *v = rule_view(e, rule, in);
        if (v == NULL || !v->complete) {
            return CS_COND_UNKNOWN;
        }
        if (v->change < rule->prefilter && v->change > -rule->prefilter) {
            return CS_COND_FALSE;
        }
    }
    return cs_ruleset_eval_lua(e->rules, rule, in, firing, message);
}

static void evaluate_rules(struct cs_engine *e, struct cs_instrument *inst,
                           const struct cs_rule_input *in)
{
    for (size_t i = 0; i < inst->nrules; i++) {
        struct cs_rule *rule = cs_ruleset_rule(e->rules, inst->rules[i]);
        struct cs_alert_state *st = &inst->states[i];
        struct cs_alert_state before;
        const char *message = NULL;
        enum cs_cond cond;
        enum cs_alert_action action;
        struct cs_alert alert;

        if (rule->parked) {
            continue;
        }
        rule->evaluations++;
        e->stats.rule_evaluations++;
        if (rule->kind == CS_RULE_THRESHOLD) {
            cond = eval_threshold(rule, rule_view(e, rule, in),
                                  cs_alert_is_firing(st));
        } else {
            cond = eval_lua(e, rule, in, cs_alert_is_firing(st), &message);
        }
        before = *st;
        action = cs_alert_step(st, &rule->alert, cond, in->ts_ns);
        if (e->warming && action != CS_ACTION_NONE) {
            /* History moves the state but notifies nobody, and leaves the
             * notification bookkeeping as it was, so a condition that
             * still holds is notified by the first live tick. */
            st->notified = before.notified && st->phase == CS_PHASE_FIRING;
            st->ever_notified = before.ever_notified;
            st->last_notified_ns = before.last_notified_ns;
            e->stats.alerts_held_in_warmup++;
            continue;
        }
        switch (action) {
        case CS_ACTION_NONE:
            break;
        case CS_ACTION_SUPPRESS:
            e->stats.alerts_suppressed++;
            break;
        case CS_ACTION_FIRE:
            e->stats.alerts_fired++;
            build_alert(e, rule, inst, in, CS_ALERT_FIRING, message, &alert);
            dispatch_alert(e, rule, &alert);
            break;
        case CS_ACTION_RESOLVE:
            e->stats.alerts_resolved++;
            build_alert(e, rule, inst, in, CS_ALERT_RESOLVED, message,
                        &alert);
            dispatch_alert(e, rule, &alert);
            break;
        }
    }
}

/* The price of the series: last trade/ticker price, or the mid of a
 * quote-only tick. */
static bool series_price(const struct cs_tick *t, struct cs_decimal *out)
{
    if (t->kind != CS_TICK_QUOTE && t->has_price) {
        *out = t->price;
        return true;
    }
    if (t->has_bid && t->has_ask) {
        return cs_decimal_mid(t->bid, t->ask, out);
    }
    return false;
}

static void handle_gap(struct cs_engine *e, struct cs_instrument *inst,
                       const struct cs_gap_event *ev);
static void gap_event_for(const struct cs_instrument *inst, const char *kind,
                          int64_t ts_ns, struct cs_gap_event *ev);

enum seq_verdict { SEQ_OK, SEQ_DUPLICATE, SEQ_GAP };

/* Check a tick's sequence number against what its instrument saw last on
 * the same kind of sequence. */
static enum seq_verdict check_sequence(struct cs_instrument *inst,
                                       const struct cs_tick *t,
                                       uint64_t *expected)
{
    unsigned s = t->seq_series % CS_SEQ_SERIES;
    enum seq_verdict v = SEQ_OK;

    if (!t->has_seq || t->seq_kind == CS_SEQ_NONE ||
        t->seq_kind > CS_SEQ_INCREASING) {
        return SEQ_OK;
    }
    if (inst->has_seq[s]) {
        if (t->seq <= inst->last_seq[s]) {
            return SEQ_DUPLICATE;
        }
        if (t->seq_kind == CS_SEQ_CONTIGUOUS &&
            t->seq != inst->last_seq[s] + 1) {
            *expected = inst->last_seq[s] + 1;
            v = SEQ_GAP;
        }
    }
    inst->has_seq[s] = true;
    inst->last_seq[s] = t->seq;
    return v;
}

static void store_copy(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size) {
        len = size - 1;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void store_put(struct cs_engine *e, const struct cs_instrument *inst,
                      const char *exchange, const char *price,
                      size_t price_len, int64_t ts_ns, int64_t recv_ns)
{
    struct cs_store_row row;
    store_copy(row.exchange, sizeof row.exchange, exchange, strlen(exchange));
    store_copy(row.symbol, sizeof row.symbol, inst->symbol,
               strlen(inst->symbol));
    store_copy(row.price, sizeof row.price, price, price_len);
    row.ts_ns = ts_ns;
    row.recv_ns = recv_ns;
    cs_store_enqueue(e->store, &row);
}

static void store_pending(struct cs_engine *e, struct cs_instrument *inst)
{
    char text[CS_STORE_TEXT_MAX];
    size_t n;
    if (!inst->store_pending) {
        return;
    }
    n = cs_decimal_format(inst->store_price, false, text, sizeof text);
    store_put(e, inst, inst->venue->name, text, n < sizeof text ? n : 0,
              inst->store_ts_ns, inst->store_recv_ns);
    inst->store_pending = false;
}

/* An accepted series price: every tick, or in interval mode the newest
 * price of each interval (stored when the next interval begins). */
static void store_tick(struct cs_engine *e, struct cs_instrument *inst,
                       const struct cs_tick *t, struct cs_decimal price,
                       int64_t ts_ns)
{
    const struct cs_config_storage *c = &e->cfg->storage;
    int64_t bucket;

    if (c->mode == CS_STORE_EVERY_TICK) {
        char text[CS_STORE_TEXT_MAX];
        size_t n = t->price_text.len;
        const char *p = t->price_text.ptr;
        if (!t->has_price || n == 0) {   /* a quote: its mid */
            n = cs_decimal_format(price, false, text, sizeof text);
            p = text;
            n = n < sizeof text ? n : 0;
        }
        store_put(e, inst, t->exchange, p, n, ts_ns, t->recv_ns);
        return;
    }
    bucket = ts_ns / (c->interval_ms * CS_NS_PER_MS);
    if (inst->store_pending && bucket != inst->store_bucket) {
        store_pending(e, inst);
    }
    inst->store_bucket = bucket;
    inst->store_pending = true;
    inst->store_price = price;
    inst->store_ts_ns = ts_ns;
    inst->store_recv_ns = t->recv_ns;
}

void cs_engine_set_store(struct cs_engine *e, struct cs_store *s)
{
    e->store = s;
}

void cs_engine_store_flush(struct cs_engine *e)
{
    if (e->store == NULL) {
        return;
    }
    for (size_t i = 0; i < cs_instruments_count(e->instruments); i++) {
        store_pending(e, cs_instruments_at(e->instruments, i));
    }
}

void cs_engine_tick(struct cs_engine *e, const struct cs_tick *tick)
{
    struct cs_instrument *inst;
    struct cs_decimal price;
    struct cs_rule_input in;
    int64_t ts_ns;
    uint64_t expected = 0;
    struct cs_gap_event gap;

    inst = cs_instruments_intern(e->instruments, tick, &e->stats);
    if (inst == NULL) {
        return;
    }
    if (!inst->watched) {
        e->stats.ticks_unwatched++;
        return;
    }
    ts_ns = tick->ts_ns ? tick->ts_ns : tick->recv_ns ? tick->recv_ns
                                                      : e->now_ns;
    switch (check_sequence(inst, tick, &expected)) {
    case SEQ_OK:
        break;
    case SEQ_DUPLICATE:
        e->stats.ticks_duplicate++;
        return;
    case SEQ_GAP:
        e->stats.sequence_gaps++;
        cs_log_limited(CS_LOG_WARN, LOG_ENGINE, "sequence-gap",
                       "%s %s: sequence gap, expected %llu, got %llu; "
                       "windows marked gapped", tick->exchange, inst->symbol,
                       (unsigned long long)expected,
                       (unsigned long long)tick->seq);
        gap_event_for(inst, "sequence", ts_ns, &gap);
        gap.has_seq = true;
        gap.expected = expected;
        gap.got = tick->seq;
        handle_gap(e, inst, &gap);
        break;
    }
    e->stats.ticks++;
    if (inst->venue_index < CS_VENUES_MAX) {
        e->stats.ticks_by_venue[inst->venue_index]++;
    }
    if (e->opt.emit && e->opt.emit_ticks) {
        emit_tick(e, inst, tick, ts_ns);
    }
    /* The newest quotes as the venue sent them (for /api/prices), also
     * from quote ticks that do not move the series. */
    if (tick->has_bid || tick->has_ask) {
        inst->has_bid = tick->has_bid;
        inst->bid = tick->bid;
        inst->has_ask = tick->has_ask;
        inst->ask = tick->ask;
    }
    /* The series is the last-trade price; quotes (as mids) feed it only
     * for instruments that have never shown a trade or ticker. */
    if (tick->kind != CS_TICK_QUOTE) {
        inst->has_trades = true;
    } else if (inst->has_trades) {
        e->stats.ticks_quotes_only++;
        return;
    }
    if (!series_price(tick, &price) || price.mant <= 0) {
        e->stats.ticks_invalid++;
        return;
    }
    if (inst->has_last && ts_ns < inst->last_ts_ns) {
        e->stats.ticks_late++;
        return;
    }
    inst->has_last = true;
    inst->last_ts_ns = ts_ns;
    inst->last_price = price;
    if (ts_ns > e->now_ns) {
        e->now_ns = ts_ns;
    }
    if (e->store && !e->warming) {
        store_tick(e, inst, tick, price, ts_ns);
    }
    for (size_t i = 0; i < inst->nwindows; i++) {
        cs_window_push(inst->windows[i], ts_ns, price);
        cs_window_view(inst->windows[i], &e->views[i]);
    }
    if (inst->nrules == 0) {
        return;
    }
    in.tick = tick;
    in.symbol = inst->symbol;
    in.raw_symbol = inst->raw;
    in.ts_ns = ts_ns;
    in.price = price;
    in.windows_s = cs_instruments_windows(e->instruments, &in.nwindows);
    in.views = e->views;
    evaluate_rules(e, inst, &in);
}

int64_t cs_engine_widest_window_s(const struct cs_engine *e)
{
    size_t n = 0;
    const int64_t *w = cs_instruments_windows(e->instruments, &n);
    return n ? w[n - 1] : 0;   /* sorted */
}

void cs_engine_warm_tick(struct cs_engine *e, const struct cs_tick *tick)
{
    e->warming = true;
    cs_engine_tick(e, tick);
    e->warming = false;
}

/* Venue loggers need static names: the rate-limited log keeps pointers. */
static const char *venue_logger(const struct cs_venue_ops *venue)
{
    static char names[16][32];
    const struct cs_venue_ops *const *all = cs_venue_all();
    for (size_t i = 0; all[i] && i < 16; i++) {
        if (all[i] == venue) {
            if (names[i][0] == '\0') {
                snprintf(names[i], sizeof names[i], "venue.%s", venue->name);
            }
            return names[i];
        }
    }
    return "venue";
}

static void count_frame(struct cs_engine *e, const struct cs_venue_ops *venue,
                        const struct cs_parse_out *p, const char *frame,
                        size_t len)
{
    switch (p->cls) {
    case CS_FRAME_DATA: e->stats.frames_data++; break;
    case CS_FRAME_CONTROL: e->stats.frames_control++; break;
    case CS_FRAME_IGNORED: e->stats.frames_ignored++; break;
    case CS_FRAME_UNKNOWN:
        e->stats.frames_unknown++;
        cs_log_limited(CS_LOG_WARN, venue_logger(venue), p->what,
                       "unknown message type (%s), %zu bytes: %.80s",
                       p->what, len, frame);
        break;
    case CS_FRAME_MALFORMED:
        e->stats.frames_malformed++;
        cs_log_limited(CS_LOG_WARN, venue_logger(venue), p->what,
                       "malformed frame dropped (%s), %zu bytes: %.80s",
                       p->what, len, frame);
        break;
    }
}

const struct cs_parse_out *cs_engine_frame(struct cs_engine *e,
                                           const struct cs_venue_ops *venue,
                                           struct cs_venue_scratch *scratch,
                                           const char *frame, size_t len,
                                           int64_t recv_ns)
{
    struct cs_parse_out *p = &e->parsed;
    char preview[81];
    size_t n = len < 80 ? len : 80;

    e->stats.frames++;
    venue->parse(scratch, frame, len, recv_ns, p);
    if (p->cls == CS_FRAME_UNKNOWN || p->cls == CS_FRAME_MALFORMED) {
        /* Frames are not NUL-terminated; log a bounded copy. */
        memcpy(preview, frame, n);
        preview[n] = '\0';
        count_frame(e, venue, p, preview, len);
        return p;
    }
    count_frame(e, venue, p, frame, len);
    if (p->dropped) {
        e->stats.ticks_dropped += p->dropped;
        cs_log_limited(CS_LOG_WARN, venue_logger(venue), "too-many-ticks",
                       "frame held %zu ticks; %zu beyond %d dropped",
                       p->n + p->dropped, p->dropped, CS_VENUE_MAX_TICKS);
    }
    if (p->server_shutdown) {
        cs_log_info(venue_logger(venue), "venue announced a server shutdown");
    }
    for (size_t i = 0; i < p->n; i++) {
        cs_engine_tick(e, &p->ticks[i]);
    }
    return p;
}

struct cs_instruments *cs_engine_instruments(struct cs_engine *e)
{
    return e->instruments;
}

size_t cs_engine_maintain(struct cs_engine *e, size_t max_instruments)
{
    return cs_instruments_compact(e->instruments, max_instruments);
}

/* Mark an instrument's windows gapped and let its rules' on_gap handlers
 * react; a handler returning true raises a one-shot alert. */
static void handle_gap(struct cs_engine *e, struct cs_instrument *inst,
                       const struct cs_gap_event *ev)
{
    e->stats.gaps_marked++;
    for (size_t i = 0; i < inst->nwindows; i++) {
        cs_window_mark_gap(inst->windows[i], ev->ts_ns);
    }
    /* A new connection's sequences are compared with nothing: what was
     * lost is this reconnect gap, already reported. (Rotations keep the
     * state: the overlap's duplicates must still be dropped.) */
    if (strcmp(ev->kind, "reconnect") == 0) {
        memset(inst->has_seq, 0, sizeof inst->has_seq);
    }
    for (size_t i = 0; i < inst->nrules; i++) {
        struct cs_rule *rule = cs_ruleset_rule(e->rules, inst->rules[i]);
        const char *message = NULL;
        struct cs_alert alert;
        struct cs_rule_input in;

        if (rule->parked || !rule->has_on_gap ||
            !cs_ruleset_on_gap(e->rules, rule, ev, &message)) {
            continue;
        }
        memset(&in, 0, sizeof in);
        in.symbol = inst->symbol;
        in.raw_symbol = inst->raw;
        in.ts_ns = ev->ts_ns;
        e->stats.alerts_fired++;
        build_alert(e, rule, inst, &in, CS_ALERT_FIRING, message, &alert);
        alert.price[0] = '\0';
        dispatch_alert(e, rule, &alert);
    }
}

static void gap_event_for(const struct cs_instrument *inst, const char *kind,
                          int64_t ts_ns, struct cs_gap_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->exchange = inst->venue->name;
    ev->symbol = inst->symbol;
    ev->raw_symbol = inst->raw;
    ev->kind = kind;
    ev->ts_ns = ts_ns;
}

void cs_engine_mark_gap(struct cs_engine *e, const char *exchange,
                        const char *raw_symbol, const char *kind,
                        int64_t ts_ns)
{
    struct cs_gap_event ev;
    struct cs_instrument *inst;

    if (raw_symbol) {
        inst = cs_instruments_lookup(e->instruments, exchange, raw_symbol);
        if (inst && inst->watched) {
            gap_event_for(inst, kind, ts_ns, &ev);
            handle_gap(e, inst, &ev);
        }
        return;
    }
    for (size_t i = 0; (inst = cs_instruments_at(e->instruments, i)); i++) {
        if (inst->watched && strcmp(inst->venue->name, exchange) == 0) {
            gap_event_for(inst, kind, ts_ns, &ev);
            handle_gap(e, inst, &ev);
        }
    }
}

void cs_engine_swap(struct cs_engine *e, struct cs_config *cfg,
                    struct cs_ruleset *rs)
{
    int64_t windows[CS_MAX_WINDOWS];
    size_t nwindows = 0;

    collect_windows(cfg, rs, windows, &nwindows);
    cs_instruments_rebind(e->instruments, cfg, e->rules, rs, windows,
                          nwindows);
    cs_ruleset_free(e->rules);
    cs_config_free(e->cfg);
    e->rules = rs;
    e->cfg = cfg;
}

enum cs_err cs_engine_reload(struct cs_engine *e, const char *config_path)
{
    struct cs_config *cfg = NULL;
    struct cs_ruleset *rs = NULL;
    enum cs_err err;

    err = cs_config_load(config_path, &cfg, NULL);
    if (err == CS_OK) {
        err = cs_ruleset_load(cfg, &rs, NULL);
    }
    if (err != CS_OK) {
        cs_config_free(cfg);
        e->stats.reloads_failed++;
        e->stats.last_reload_ok = false;
        cs_log_error("lua.reload", "reload failed; keeping the running "
                     "config and %zu rules", cs_ruleset_count(e->rules));
        return err;
    }
    cs_log_set_level(cfg->log_level);
    cs_engine_swap(e, cfg, rs);
    e->stats.reloads_ok++;
    e->stats.last_reload_ok = true;
    e->stats.last_reload_success_ns = cs_time_now_ns();
    cs_log_info("lua.reload", "reloaded: %zu rules, %zu exchanges",
                cs_ruleset_count(rs), cfg->nexchanges);
    return CS_OK;
}
