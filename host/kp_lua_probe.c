// SPDX-License-Identifier: MIT
/*
 * kp.Probe, the userdata a declaration returns: p.name, p.definition,
 * p.fields, p:close(), its counters (kp.core.stats) and handler
 * (kp.core.set_handler). The one owner of the kp.Probe metatable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_host_int.h"

static struct kp_probe *kp_check_probe(lua_State *L, int i)
{
	struct kp_probe *p = luaL_checkudata(L, i, KP_PROBE_MT);

	if (p->closed && !p->dry)
		luaL_argerror(L, i, "probe is closed");
	return p;
}

static void kp_probe_unlink(struct kp_probe *p)
{
	struct kp_probe **pp;

	for (pp = &p->host->probes; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
}

static int kp_probe_gc(lua_State *L)
{
	struct kp_probe *p = luaL_checkudata(L, 1, KP_PROBE_MT);

	if (!p->host)
		return 0;
	kp_probe_release(p);
	kp_probe_unlink(p);
	free(p->name);
	free(p->event);
	free(p->def);
	p->name = p->event = p->def = NULL;
	p->host = NULL;
	return 0;
}

static int kp_probe_close(lua_State *L)
{
	struct kp_probe *p = kp_check_probe(L, 1);

	if (p->host->running && !p->host->reloading)
		return luaL_error(L,
				  "a probe cannot be closed while kp.run() is delivering events");
	kp_probe_release(p);
	return 0;
}

static int kp_probe_tostring(lua_State *L)
{
	struct kp_probe *p = luaL_checkudata(L, 1, KP_PROBE_MT);

	lua_pushfstring(L, "kp.Probe(%s%s)", p->name ? p->name : "?",
			p->closed && !p->dry ? ", closed" : "");
	return 1;
}

static int kp_probe_index(lua_State *L)
{
	struct kp_probe *p = luaL_checkudata(L, 1, KP_PROBE_MT);
	const char *k = luaL_checkstring(L, 2);

	if (!strcmp(k, "name")) {
		lua_pushstring(L, p->name);
	} else if (!strcmp(k, "definition")) {
		if (p->def)
			lua_pushstring(L, p->def);
		else
			lua_pushnil(L);
	} else if (!strcmp(k, "fields")) {
		lua_createtable(L, (int)p->nfields, 0);
		if (p->keys_ref != LUA_NOREF) {
			lua_rawgeti(L, LUA_REGISTRYINDEX, p->keys_ref);
			for (size_t i = 0; i < p->nfields; i++) {
				lua_rawgeti(L, -1, (int)i + 1);
				lua_rawseti(L, -3, (int)i + 1);
			}
			lua_pop(L, 1);
		}
	} else {
		luaL_getmetatable(L, KP_PROBE_MT);
		lua_getfield(L, -1, "__methods");
		lua_getfield(L, -1, k);
	}
	return 1;
}

uint64_t kp_probe_lost(const struct kp_probe *p)
{
	return p->final ? p->lost_final : p->lost_records;
}

struct kp_probe *kp_probe_new(lua_State *L, struct kp_host *h, enum kp_probe_kind kind)
{
	struct kp_probe *p = lua_newuserdata(L, sizeof(*p));

	memset(p, 0, sizeof(*p));
	p->host = h;
	p->kind = kind;
	p->closed = true; /* until it holds kernel resources */
	p->fn_ref = p->ev_ref = p->keys_ref = p->dirty_ref = LUA_NOREF;
	luaL_getmetatable(L, KP_PROBE_MT);
	lua_setmetatable(L, -2);
	p->next = h->probes;
	h->probes = p;
	return p;
}

/* Anchor @p (at stack top) so the GC cannot detach a probe the script
 * dropped: it lives until kp_host_shutdown(). */
void kp_probe_anchor(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, "kp.probes");
	lua_pushvalue(L, -2);
	lua_pushboolean(L, 1);
	lua_rawset(L, -3);
	lua_pop(L, 1);
}

/* core.set_handler(probe, fn | nil): replace a probe's handler */
static int kp_core_set_handler(lua_State *L)
{
	struct kp_probe *p = kp_check_probe(L, 1);

	if (!lua_isnil(L, 2))
		luaL_checktype(L, 2, LUA_TFUNCTION);
	if (p->dry)
		return 0;
	luaL_unref(L, LUA_REGISTRYINDEX, p->fn_ref);
	p->fn_ref = LUA_NOREF;
	if (!lua_isnil(L, 2)) {
		lua_pushvalue(L, 2);
		p->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	return 0;
}

/* core.stats() -> { [name] = { events, lost, filtered, bad_fields, discarded } } */
static int kp_core_stats(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);

	lua_newtable(L);
	for (struct kp_probe *p = h->probes; p; p = p->next) {
		if (!p->attached)
			continue;
		lua_createtable(L, 0, 4);
		lua_pushnumber(L, (lua_Number)p->delivered);
		lua_setfield(L, -2, "events");
		lua_pushnumber(L, (lua_Number)kp_probe_lost(p));
		lua_setfield(L, -2, "lost");
		lua_pushnumber(L, (lua_Number)p->filtered);
		lua_setfield(L, -2, "filtered");
		lua_pushnumber(L, (lua_Number)p->bad_fields);
		lua_setfield(L, -2, "bad_fields");
		lua_pushnumber(L, (lua_Number)p->discarded);
		lua_setfield(L, -2, "discarded");
		if (p->final) {
			lua_pushnumber(L, (lua_Number)p->ring_full);
			lua_setfield(L, -2, "ring_full");
			lua_pushnumber(L, (lua_Number)p->hits);
			lua_setfield(L, -2, "hits");
		}
		lua_setfield(L, -2, p->name);
	}
	return 1;
}

static int kp_probe_methods_close(lua_State *L)
{
	return kp_probe_close(L);
}

const luaL_Reg kp_lua_probe_fns[] = {
	{ "set_handler", kp_core_set_handler },
	{ "stats", kp_core_stats },
	{ NULL, NULL },
};

void kp_lua_probe_open(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__gc", kp_probe_gc },
		{ "__tostring", kp_probe_tostring },
		{ "__index", kp_probe_index },
		{ NULL, NULL },
	};
	static const luaL_Reg methods[] = {
		{ "close", kp_probe_methods_close },
		{ NULL, NULL },
	};

	luaL_newmetatable(L, KP_PROBE_MT);
	luaL_register(L, NULL, meta);
	lua_newtable(L);
	luaL_register(L, NULL, methods);
	lua_setfield(L, -2, "__methods");
	lua_pop(L, 1);
	/* probes the script dropped, anchored until kp_host_shutdown() */
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, "kp.probes");
}
