/* The normalised tick: what every venue parser produces and every later
 * stage consumes. A small value passed by value; text fields borrow from
 * the frame buffer (or from the parser's scratch, see venue.h) and are
 * valid only while that frame is being handled. */
#ifndef CRYPTOSUP_TICK_H
#define CRYPTOSUP_TICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptosup/decimal.h"

enum cs_tick_kind {
    CS_TICK_TRADE,    /* an executed trade: price, qty */
    CS_TICK_TICKER,   /* a venue ticker: last price, bid/ask where present */
    CS_TICK_QUOTE     /* best bid/ask only; the series uses the mid */
};

/* What a tick's sequence number promises, per instrument and channel, so
 * the engine can detect lost messages. */
enum cs_seq_kind {
    CS_SEQ_NONE,         /* no promise (or no seq) */
    CS_SEQ_CONTIGUOUS,   /* each next = previous + 1 (Binance aggTrade ids) */
    CS_SEQ_INCREASING    /* strictly increasing; skips are normal */
};

#define CS_SEQ_SERIES 4

/* Borrowed bytes; not NUL-terminated. */
struct cs_text {
    const char *ptr;
    size_t len;
};

struct cs_tick {
    const char *exchange;        /* static venue name, e.g. "binance" */
    struct cs_text raw_symbol;   /* venue spelling: "BTCUSDT", "BTC-USD" */
    uint32_t instrument;         /* interned id; set by the engine */
    enum cs_tick_kind kind;
    bool has_price, has_bid, has_ask, has_qty, has_seq;
    struct cs_decimal price, bid, ask, qty;
    /* The same values exactly as received (JSON string contents or number
     * literal), for output and storage. Empty when absent. */
    struct cs_text price_text, bid_text, ask_text, qty_text;
    int64_t ts_ns;    /* exchange event time; 0 when the venue sends none */
    int64_t recv_ns;  /* local receive time; 0 when unknown */
    uint64_t seq;     /* venue sequence number (trade id, update id, ...) */
    uint8_t seq_kind; /* enum cs_seq_kind: how seq may be checked for gaps */
    uint8_t seq_series; /* which of the venue's sequences (0..3) seq belongs
                           to, e.g. Binance trade ids vs aggTrade ids: only
                           numbers of one series are compared */
};

const char *cs_tick_kind_name(enum cs_tick_kind kind);

#endif
