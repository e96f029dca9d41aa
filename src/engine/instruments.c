/* Instrument interning and per-instrument state: open-addressed hash from
 * (venue, raw symbol) to a record; symbol normalisation from the config
 * first and the venue's splitting rule second. */
#include "engine/instruments.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cryptosup/log.h"

#define LOG_INSTR "core.symbol"

struct cs_instruments {
    const struct cs_config *cfg;
    struct cs_ruleset *rules;
    int64_t windows_s[CS_MAX_WINDOWS];
    size_t nwindows;
    struct cs_instrument **items;   /* stable pointers, creation order */
    size_t count, cap;
    uint32_t *slots;                /* index + 1 into items; 0 = empty */
    size_t nslots;                  /* power of two */
    size_t max_items;
    size_t compact_cursor;          /* round-robin position for compaction */
};

static uint64_t hash_key(const struct cs_venue_ops *venue, const char *raw,
                         size_t len)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)venue;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)raw[i]) * 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static void insert_slot(struct cs_instruments *t,
                        const struct cs_instrument *inst, size_t index)
{
    uint64_t h = hash_key(inst->venue, inst->raw, strlen(inst->raw));
    size_t s = (size_t)h & (t->nslots - 1);
    while (t->slots[s]) {
        s = (s + 1) & (t->nslots - 1);
    }
    t->slots[s] = (uint32_t)index + 1;
}

static void grow_slots(struct cs_instruments *t)
{
    free(t->slots);
    t->nslots = t->nslots ? t->nslots * 2 : 1024;
    t->slots = cs_xcalloc(t->nslots, sizeof *t->slots);
    for (size_t i = 0; i < t->count; i++) {
        insert_slot(t, t->items[i], i);
    }
}

struct cs_instruments *cs_instruments_new(const struct cs_config *cfg,
                                          struct cs_ruleset *rs,
                                          const int64_t *windows_s,
                                          size_t nwindows)
{
    struct cs_instruments *t = cs_xcalloc(1, sizeof *t);
    t->cfg = cfg;
    t->rules = rs;
    cs_require(nwindows <= CS_MAX_WINDOWS);
    memcpy(t->windows_s, windows_s, nwindows * sizeof *windows_s);
    t->nwindows = nwindows;
    t->max_items = cfg->max_instruments;
    grow_slots(t);
    return t;
}

static void free_windows(struct cs_instrument *inst)
{
    for (size_t i = 0; i < inst->nwindows; i++) {
        cs_window_free(inst->windows[i]);
    }
    free(inst->windows);
    inst->windows = NULL;
    inst->nwindows = 0;
}

void cs_instruments_free(struct cs_instruments *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->count; i++) {
        free_windows(t->items[i]);
        free(t->items[i]->rules);
        free(t->items[i]->states);
        free(t->items[i]);
    }
    free(t->items);
    free(t->slots);
    free(t);
}

const int64_t *cs_instruments_windows(const struct cs_instruments *t,
                                      size_t *n)
{
    *n = t->nwindows;
    return t->windows_s;
}

size_t cs_instruments_count(const struct cs_instruments *t)
{
    return t->count;
}

static const struct cs_config_exchange *
config_exchange(const struct cs_config *cfg, const struct cs_venue_ops *venue)
{
    for (size_t i = 0; i < cfg->nexchanges; i++) {
        if (cfg->exchanges[i].venue == venue) {
            return &cfg->exchanges[i];
        }
    }
    return NULL;
}

static const struct cs_config_symbol *
config_symbol(const struct cs_config_exchange *x, const char *raw)
{
    for (size_t i = 0; x && i < x->nsymbols; i++) {
        if (strcasecmp(x->symbols[i].raw, raw) == 0) {
            return &x->symbols[i];
        }
    }
    return NULL;
}

/* BASE/QUOTE from the config when it names the symbol, else from the
 * venue's rule, else the raw spelling upper-cased (logged once). */
static void normalise(const struct cs_config *cfg, struct cs_instrument *inst)
{
    const struct cs_config_symbol *known =
        config_symbol(config_exchange(cfg, inst->venue), inst->raw);
    char base[CS_SYMBOL_MAX], quote[CS_SYMBOL_MAX];

    if (known) {
        snprintf(inst->symbol, sizeof inst->symbol, "%s", known->symbol);
        return;
    }
    if (inst->venue->split_symbol &&
        inst->venue->split_symbol(inst->raw, strlen(inst->raw), base,
                                  sizeof base, quote, sizeof quote) &&
        strlen(base) + strlen(quote) + 1 < sizeof inst->symbol) {
        char joined[2 * CS_SYMBOL_MAX + 2];
        snprintf(joined, sizeof joined, "%s/%s", base, quote);
        memcpy(inst->symbol, joined, strlen(joined) + 1);
        return;
    }
    for (size_t i = 0; i < sizeof inst->symbol - 1 && inst->raw[i]; i++) {
        inst->symbol[i] = (char)toupper((unsigned char)inst->raw[i]);
        inst->symbol[i + 1] = '\0';
    }
    cs_log_limited(CS_LOG_WARN, LOG_INSTR, "no-split",
                   "%s: cannot split %s into base and quote; name it as "
                   "BASE/QUOTE in config.lua", inst->venue->name, inst->raw);
}

static bool is_watched(const struct cs_config *cfg,
                       const struct cs_instrument *inst)
{
    const struct cs_config_exchange *x;
    if (cfg->all_symbols) {
        return true;
    }
    x = config_exchange(cfg, inst->venue);
    if (x == NULL) {
        return false;
    }
    if (x->nsymbols == 0) {
        return true;
    }
    for (size_t i = 0; i < x->nsymbols; i++) {
        if (strcmp(x->symbols[i].symbol, inst->symbol) == 0 ||
            strcasecmp(x->symbols[i].raw, inst->raw) == 0) {
            return true;
        }
    }
    return false;
}

/* Build the windows and rule bindings of a watched instrument, reusing
 * windows from `old` (may be NULL) where the width is unchanged. */
static void bind_windows(struct cs_instruments *t, struct cs_instrument *inst,
                         struct cs_window **old, size_t nold)
{
    inst->windows = cs_xcalloc(t->nwindows ? t->nwindows : 1,
                               sizeof *inst->windows);
    inst->nwindows = t->nwindows;
    for (size_t i = 0; i < t->nwindows; i++) {
        for (size_t j = 0; j < nold; j++) {
            if (old[j] && cs_window_width_s(old[j]) == t->windows_s[i]) {
                inst->windows[i] = old[j];
                old[j] = NULL;
                break;
            }
        }
        if (inst->windows[i] == NULL) {
            inst->windows[i] = cs_window_new(t->windows_s[i], 0);
            cs_require(inst->windows[i] != NULL);
        }
    }
    for (size_t j = 0; j < nold; j++) {
        cs_window_free(old[j]);
    }
}

static void bind_rules(struct cs_instruments *t, struct cs_instrument *inst,
                       struct cs_ruleset *old_rs)
{
    size_t n = cs_ruleset_count(t->rules), count = 0;
    size_t *rules = cs_xcalloc(n ? n : 1, sizeof *rules);
    struct cs_alert_state *states = cs_xcalloc(n ? n : 1, sizeof *states);

    for (size_t i = 0; inst->watched && i < n; i++) {
        struct cs_rule *rule = cs_ruleset_rule(t->rules, i);
        if (!cs_rule_matches(rule, inst->venue->name, inst->symbol,
                             inst->raw)) {
            continue;
        }
        rules[count] = i;
        /* Alert state is keyed by rule name: it survives a reload. */
        for (size_t j = 0; old_rs && j < inst->nrules; j++) {
            struct cs_rule *old = cs_ruleset_rule(old_rs, inst->rules[j]);
            if (strcmp(old->name, rule->name) == 0) {
                states[count] = inst->states[j];
                break;
            }
        }
        count++;
    }
    free(inst->rules);
    free(inst->states);
    inst->rules = rules;
    inst->states = states;
    inst->nrules = count;
}

static struct cs_instrument *create(struct cs_instruments *t,
                                    const struct cs_tick *tick,
                                    struct cs_engine_stats *stats)
{
    struct cs_instrument *inst;

    if (t->count >= t->max_items) {
        stats->instruments_refused++;
        cs_log_limited(CS_LOG_WARN, LOG_INSTR, "full",
                       "instrument table full (%zu); %s %.*s not tracked",
                       t->max_items, tick->exchange,
                       (int)tick->raw_symbol.len, tick->raw_symbol.ptr);
        return NULL;
    }
    if (tick->raw_symbol.len == 0 || tick->raw_symbol.len >= CS_SYMBOL_MAX) {
        stats->ticks_invalid++;
        cs_log_limited(CS_LOG_WARN, LOG_INSTR, "bad-symbol",
                       "%s: symbol of %zu bytes refused", tick->exchange,
                       tick->raw_symbol.len);
        return NULL;
    }
    inst = cs_xcalloc(1, sizeof *inst);
    inst->venue = cs_venue_find(tick->exchange);
    cs_require(inst->venue != NULL);
    for (const struct cs_venue_ops *const *v = cs_venue_all(); *v; v++) {
        if (*v == inst->venue) {
            inst->venue_index = (unsigned)(v - cs_venue_all());
        }
    }
    memcpy(inst->raw, tick->raw_symbol.ptr, tick->raw_symbol.len);
    normalise(t->cfg, inst);
    inst->watched = is_watched(t->cfg, inst);
    if (inst->watched) {
        bind_windows(t, inst, NULL, 0);
    }
    bind_rules(t, inst, NULL);
    if (t->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->items = cs_xrealloc(t->items, t->cap * sizeof *t->items);
    }
    t->items[t->count++] = inst;
    if (t->count * 2 > t->nslots) {
        grow_slots(t);   /* rehashes every item, the new one included */
    } else {
        insert_slot(t, inst, t->count - 1);
    }
    stats->instruments++;
    return inst;
}

struct cs_instrument *cs_instruments_intern(struct cs_instruments *t,
                                            const struct cs_tick *tick,
                                            struct cs_engine_stats *stats)
{
    const struct cs_venue_ops *venue = cs_venue_find(tick->exchange);
    uint64_t h = hash_key(venue, tick->raw_symbol.ptr, tick->raw_symbol.len);
    size_t s = (size_t)h & (t->nslots - 1);
    struct cs_instrument *inst;

    while (t->slots[s]) {
        inst = t->items[t->slots[s] - 1];
        if (inst->venue == venue &&
            strncmp(inst->raw, tick->raw_symbol.ptr, tick->raw_symbol.len) == 0 &&
            inst->raw[tick->raw_symbol.len] == '\0') {
            return inst;
        }
        s = (s + 1) & (t->nslots - 1);
    }
    inst = create(t, tick, stats);
    return inst;
}

void cs_instruments_rebind(struct cs_instruments *t,
                           const struct cs_config *cfg,
                           struct cs_ruleset *old_rs,
                           struct cs_ruleset *new_rs,
                           const int64_t *windows_s, size_t nwindows)
{
    t->cfg = cfg;
    t->rules = new_rs;
    memcpy(t->windows_s, windows_s, nwindows * sizeof *windows_s);
    t->nwindows = nwindows;
    t->max_items = cfg->max_instruments;
    for (size_t i = 0; i < t->count; i++) {
        struct cs_instrument *inst = t->items[i];
        struct cs_window **old = inst->windows;
        size_t nold = inst->nwindows;

        normalise(cfg, inst);
        inst->watched = is_watched(cfg, inst);
        inst->windows = NULL;
        inst->nwindows = 0;
        if (inst->watched) {
            bind_windows(t, inst, old, nold);
        } else {
            for (size_t j = 0; j < nold; j++) {
                cs_window_free(old[j]);
            }
        }
        free(old);
        bind_rules(t, inst, old_rs);
    }
}

struct cs_instrument *cs_instruments_lookup(struct cs_instruments *t,
                                            const char *exchange,
                                            const char *raw)
{
    const struct cs_venue_ops *venue = cs_venue_find(exchange);
    size_t len = strlen(raw);
    uint64_t h = hash_key(venue, raw, len);
    size_t s = (size_t)h & (t->nslots - 1);

    while (t->slots[s]) {
        struct cs_instrument *inst = t->items[t->slots[s] - 1];
        if (inst->venue == venue && strcmp(inst->raw, raw) == 0) {
            return inst;
        }
        s = (s + 1) & (t->nslots - 1);
    }
    return NULL;
}

struct cs_instrument *cs_instruments_at(struct cs_instruments *t, size_t i)
{
    return i < t->count ? t->items[i] : NULL;
}

size_t cs_instruments_window_bytes(const struct cs_instruments *t)
{
    size_t bytes = 0;
    for (size_t i = 0; i < t->count; i++) {
        for (size_t w = 0; w < t->items[i]->nwindows; w++) {
            bytes += cs_window_bytes(t->items[i]->windows[w]);
        }
    }
    return bytes;
}

size_t cs_instruments_compact(struct cs_instruments *t, size_t max_items)
{
    size_t freed = 0;
    for (size_t i = 0; i < max_items && i < t->count; i++) {
        struct cs_instrument *inst;
        if (t->compact_cursor >= t->count) {
            t->compact_cursor = 0;
        }
        inst = t->items[t->compact_cursor++];
        for (size_t w = 0; w < inst->nwindows; w++) {
            freed += cs_window_compact(inst->windows[w]);
        }
    }
    return freed;
}
