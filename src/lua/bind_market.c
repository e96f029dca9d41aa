/* Lua bindings for the market data a rule reads: tick fields and window
 * views, read straight from C structs through __index. Read-only. */
#include "lua/bind_market.h"

#include <string.h>

#include <lauxlib.h>

#include "cryptosup/timeutil.h"

#define TICK_MT "cs.tick"
#define WINDOWS_MT "cs.windows"
#define WINDOW_MT "cs.window"
#define MAX_WINDOW_UD 32

/* Every userdata holds a pointer to the shared ctx; a window also holds
 * which window of the current input it shows. */
struct market_ud {
    const struct cs_market_ctx *ctx;
    int index;
};

static void push_decimal(lua_State *L, struct cs_decimal d)
{
    lua_pushnumber(L, cs_decimal_to_double(d));
}

static const struct cs_rule_input *current(lua_State *L, int idx,
                                           const char *mt)
{
    struct market_ud *ud = luaL_checkudata(L, idx, mt);
    if (ud->ctx->in == NULL) {
        luaL_error(L, "market data is only available inside a rule call");
    }
    return ud->ctx->in;
}

/* tick.<field>  [-2, +1, e] */
static int l_tick_index(lua_State *L)
{
    const struct cs_rule_input *in = current(L, 1, TICK_MT);
    const struct cs_tick *t = in->tick;
    const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "";

    if (strcmp(key, "price") == 0) {
        push_decimal(L, in->price);
    } else if (strcmp(key, "symbol") == 0) {
        lua_pushstring(L, in->symbol);
    } else if (strcmp(key, "exchange") == 0) {
        lua_pushstring(L, t->exchange);
    } else if (strcmp(key, "raw_symbol") == 0) {
        lua_pushstring(L, in->raw_symbol);
    } else if (strcmp(key, "kind") == 0) {
        lua_pushstring(L, cs_tick_kind_name(t->kind));
    } else if (strcmp(key, "ts") == 0) {
        lua_pushinteger(L, in->ts_ns / CS_NS_PER_MS);
    } else if (strcmp(key, "last") == 0 && t->has_price) {
        push_decimal(L, t->price);
    } else if (strcmp(key, "bid") == 0 && t->has_bid) {
        push_decimal(L, t->bid);
    } else if (strcmp(key, "ask") == 0 && t->has_ask) {
        push_decimal(L, t->ask);
    } else if (strcmp(key, "qty") == 0 && t->has_qty) {
        push_decimal(L, t->qty);
    } else if (strcmp(key, "seq") == 0 && t->has_seq) {
        lua_pushinteger(L, (lua_Integer)t->seq);
    } else if (strcmp(key, "price_text") == 0) {
        char buf[64];
        cs_decimal_format(in->price, false, buf, sizeof buf);
        lua_pushstring(L, buf);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

/* Window width from a key: "1h", "24h", "90s" or a number of seconds. */
static bool key_seconds(lua_State *L, int idx, int64_t *secs)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        int isint = 0;
        lua_Integer v = lua_tointegerx(L, idx, &isint);
        *secs = v;
        return isint && v > 0;
    }
    if (lua_type(L, idx) == LUA_TSTRING) {
        return cs_duration_parse(lua_tostring(L, idx), secs);
    }
    return false;
}

/* windows[key] -> window view or nil  [-2, +1, e] */
static int l_windows_index(lua_State *L)
{
    const struct cs_rule_input *in = current(L, 1, WINDOWS_MT);
    int64_t secs;

    if (!key_seconds(L, 2, &secs)) {
        lua_pushnil(L);
        return 1;
    }
    for (size_t i = 0; i < in->nwindows && i < MAX_WINDOW_UD; i++) {
        if (in->windows_s[i] == secs) {
            lua_getiuservalue(L, 1, 1);     /* the preallocated views */
            lua_rawgeti(L, -1, (lua_Integer)i + 1);
            return 1;
        }
    }
    lua_pushnil(L);
    return 1;
}

/* window.<field>  [-2, +1, e] */
static int l_window_index(lua_State *L)
{
    struct market_ud *ud = luaL_checkudata(L, 1, WINDOW_MT);
    const struct cs_rule_input *in = current(L, 1, WINDOW_MT);
    const struct cs_window_view *v;
    const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "";

    if ((size_t)ud->index >= in->nwindows) {
        lua_pushnil(L);
        return 1;
    }
    v = &in->views[ud->index];
    if (strcmp(key, "change") == 0 && v->complete) {
        lua_pushnumber(L, v->change);
    } else if (strcmp(key, "change_pct") == 0 && v->complete) {
        lua_pushnumber(L, v->change * 100.0);
    } else if (strcmp(key, "reference") == 0 && v->complete) {
        push_decimal(L, v->reference);
    } else if (strcmp(key, "price") == 0 && v->has_price) {
        push_decimal(L, v->price);
    } else if (strcmp(key, "high") == 0 && v->has_price) {
        push_decimal(L, v->high);
    } else if (strcmp(key, "low") == 0 && v->has_price) {
        push_decimal(L, v->low);
    } else if (strcmp(key, "high_ts") == 0 && v->has_price) {
        lua_pushinteger(L, v->high_ts_ns / CS_NS_PER_MS);
    } else if (strcmp(key, "low_ts") == 0 && v->has_price) {
        lua_pushinteger(L, v->low_ts_ns / CS_NS_PER_MS);
    } else if (strcmp(key, "complete") == 0) {
        lua_pushboolean(L, v->complete);
    } else if (strcmp(key, "gapped") == 0) {
        lua_pushboolean(L, v->gapped);
    } else if (strcmp(key, "width") == 0) {
        lua_pushinteger(L, in->windows_s[ud->index]);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

static int l_read_only(lua_State *L)
{
    return luaL_error(L, "market data is read-only");
}

static void new_metatable(lua_State *L, const char *name,
                          lua_CFunction index)
{
    luaL_newmetatable(L, name);
    lua_pushcfunction(L, index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_read_only);
    lua_setfield(L, -2, "__newindex");
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");   /* getmetatable() sees false */
    lua_pop(L, 1);
}

static void new_ud(lua_State *L, const struct cs_market_ctx *ctx, int index,
                   const char *mt, int nuv)
{
    struct market_ud *ud = lua_newuserdatauv(L, sizeof *ud, nuv);
    ud->ctx = ctx;
    ud->index = index;
    luaL_setmetatable(L, mt);
}

int cs_market_open(lua_State *L)
{
    struct cs_market_ctx *ctx = lua_touserdata(L, 1);

    new_metatable(L, TICK_MT, l_tick_index);
    new_metatable(L, WINDOWS_MT, l_windows_index);
    new_metatable(L, WINDOW_MT, l_window_index);
    new_ud(L, ctx, 0, TICK_MT, 0);
    ctx->tick_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    new_ud(L, ctx, 0, WINDOWS_MT, 1);
    lua_createtable(L, MAX_WINDOW_UD, 0);
    for (int i = 0; i < MAX_WINDOW_UD; i++) {
        new_ud(L, ctx, i, WINDOW_MT, 0);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setiuservalue(L, -2, 1);
    ctx->windows_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

void cs_market_push(lua_State *L, const struct cs_market_ctx *ctx)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->tick_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ctx->windows_ref);
}
