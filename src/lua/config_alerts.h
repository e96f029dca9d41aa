/* The alerts section of config.lua: email routes, webhooks, Alertmanager.
 * Split from config.c because it is half of all keys. */
#ifndef CS_LUA_CONFIG_ALERTS_H
#define CS_LUA_CONFIG_ALERTS_H

#include "cryptosup/config.h"
#include "lua/luaread.h"

/* Read t.alerts of the config table at idx into *a (zeroed by the caller);
 * relative file names are resolved against base_dir. Errors go to rd. */
void cs_config_alerts_read(struct cs_luaread *rd, lua_State *L, int idx,
                           const char *base_dir, struct cs_config_alerts *a);
void cs_config_alerts_release(struct cs_config_alerts *a);

#endif
