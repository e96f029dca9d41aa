/* The read-only views a Lua rule's condition receives: `tick` and
 * `windows` (indexable by "1h", "24h" or seconds, giving a window view).
 * They are userdata created once per rule set and re-pointed at the current
 * tick before each call, so calling a rule allocates nothing and no rule
 * can change what another rule sees. Only src/lua/ uses this. */
#ifndef CS_LUA_BIND_MARKET_H
#define CS_LUA_BIND_MARKET_H

#include <stdbool.h>

#include <lua.h>

#include "cryptosup/rules.h"

struct cs_market_ctx {
    const struct cs_rule_input *in;   /* valid during one call only */
    int tick_ref;                     /* registry refs of the userdata */
    int windows_ref;
};

/* lua_CFunction, run under cs_lua_call with one light userdata argument
 * (struct cs_market_ctx *): registers the metatables, creates the `tick`
 * and `windows` userdata and stores their registry refs in the ctx.
 * [-1, +0, m] */
int cs_market_open(lua_State *L);

/* Push the tick and windows userdata for a call.  [-0, +2, -] */
void cs_market_push(lua_State *L, const struct cs_market_ctx *ctx);

#endif
