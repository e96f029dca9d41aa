/* The normalised tick's small helpers; the struct itself is in tick.h. */
#include "cryptosup/tick.h"

const char *cs_tick_kind_name(enum cs_tick_kind kind)
{
    switch (kind) {
    case CS_TICK_TRADE: return "trade";
    case CS_TICK_TICKER: return "ticker";
    case CS_TICK_QUOTE: return "quote";
    }
    return "unknown";
}
