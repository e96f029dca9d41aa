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

enum market_kind { KIND_TICK = 0x7e1c, KIND_WINDOWS, KIND_WINDOW };

/* Every userdata holds a pointer to the shared ctx; a window also holds
 * which window of the current input it shows. `kind` tags the type: the
 * metatables cannot be reached from scripts (__metatable is locked), so a
 * tag check is enough and avoids luaL_checkudata's registry lookup on
 * every field access. */
struct market_ud {
    int kind;                       /* enum market_kind */
    int index;
    const struct cs_market_ctx *ctx;
};

/* Field names, so __index can switch on length and compare bytes once. */
static bool key_is(const char *key, size_t len, const char *name,
                   size_t name_len)
{
    return len == name_len && memcmp(key, name, len) == 0;
}
#define KEY(name) key_is(key, len, name, sizeof name - 1)

static void push_decimal(lua_State *L, struct cs_decimal d)
{
    lua_pushnumber(L, cs_decimal_to_double(d));
}

static struct market_ud *check_ud(lua_State *L, int idx, int kind)
{
    struct market_ud *ud = lua_touserdata(L, idx);
    if (ud == NULL || lua_rawlen(L, idx) != sizeof *ud || ud->kind != kind) {
        luaL_error(L, "not a market view");
    }
    if (ud->ctx->in == NULL) {
        luaL_error(L, "market data is only available inside a rule call");
    }
    return ud;
}

static const char *field_key(lua_State *L, size_t *len)
{
    if (lua_type(L, 2) != LUA_TSTRING) {
        *len = 0;
        return "";
    }
    return lua_tolstring(L, 2, len);
}

/* tick.<field>  [-2, +1, e] */
static int l_tick_index(lua_State *L)
{
    const struct cs_rule_input *in = check_ud(L, 1, KIND_TICK)->ctx->in;
    const struct cs_tick *t = in->tick;
    size_t len;
    const char *key = field_key(L, &len);

    if (KEY("price")) {
        push_decimal(L, in->price);
    } else if (KEY("symbol")) {
        lua_pushstring(L, in->symbol);
    } else if (KEY("exchange")) {
        lua_pushstring(L, t->exchange);
    } else if (KEY("raw_symbol")) {
        lua_pushstring(L, in->raw_symbol);
    } else if (KEY("kind")) {
        lua_pushstring(L, cs_tick_kind_name(t->kind));
    } else if (KEY("ts")) {
        lua_pushinteger(L, in->ts_ns / CS_NS_PER_MS);
    } else if (KEY("last") && t->has_price) {
        push_decimal(L, t->price);
    } else if (KEY("bid") && t->has_bid) {
        push_decimal(L, t->bid);
    } else if (KEY("ask") && t->has_ask) {
        push_decimal(L, t->ask);
    } else if (KEY("qty") && t->has_qty) {
        push_decimal(L, t->qty);
    } else if (KEY("seq") && t->has_seq) {
        lua_pushinteger(L, (lua_Integer)t->seq);
    } else if (KEY("price_text")) {
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
    const struct cs_rule_input *in = check_ud(L, 1, KIND_WINDOWS)->ctx->in;
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
    struct market_ud *ud = check_ud(L, 1, KIND_WINDOW);
    const struct cs_rule_input *in = ud->ctx->in;
    const struct cs_window_view *v;
    size_t len;
    const char *key = field_key(L, &len);

    if ((size_t)ud->index >= in->nwindows) {
        lua_pushnil(L);
        return 1;
    }
    v = &in->views[ud->index];
    if (KEY("change") && v->complete) {
        lua_pushnumber(L, v->change);
    } else if (KEY("change_pct") && v->complete) {
        lua_pushnumber(L, v->change * 100.0);
    } else if (KEY("reference") && v->complete) {
        push_decimal(L, v->reference);
    } else if (KEY("price") && v->has_price) {
        push_decimal(L, v->price);
    } else if (KEY("high") && v->has_price) {
        push_decimal(L, v->high);
    } else if (KEY("low") && v->has_price) {
        push_decimal(L, v->low);
    } else if (KEY("high_ts") && v->has_price) {
        lua_pushinteger(L, v->high_ts_ns / CS_NS_PER_MS);
    } else if (KEY("low_ts") && v->has_price) {
        lua_pushinteger(L, v->low_ts_ns / CS_NS_PER_MS);
    } else if (KEY("complete")) {
        lua_pushboolean(L, v->complete);
    } else if (KEY("gapped")) {
        lua_pushboolean(L, v->gapped);
    } else if (KEY("width")) {
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
    ud->kind = strcmp(mt, TICK_MT) == 0      ? KIND_TICK
               : strcmp(mt, WINDOWS_MT) == 0 ? KIND_WINDOWS
                                             : KIND_WINDOW;
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
