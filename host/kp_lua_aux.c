// SPDX-License-Identifier: MIT
/*
 * The Lua helpers every binding file shares (see kp_lua.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "kp_err.h"
#include "kp_lua.h"

int kp_lua_traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (!msg) {
		if (lua_istable(L, 1))
			return 1; /* formatted errors (kp.run's) pass through untouched */
		if (!lua_isnoneornil(L, 1) && luaL_callmeta(L, 1, "__tostring"))
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	/* level 1: from the function that raised, not this handler */
	luaL_traceback(L, L, msg, 1);
	return 1;
}

int kp_pcall(lua_State *L, int nargs, int nresults)
{
	int base = lua_gettop(L) - nargs, status;

	lua_pushcfunction(L, kp_lua_traceback);
	lua_insert(L, base);
	status = lua_pcall(L, nargs, nresults, base);
	lua_remove(L, base);
	return status;
}

bool kp_lua_error_decode(lua_State *L, int *code)
{
	if (!lua_istable(L, -1)) {
		if (!lua_isstring(L, -1)) {
			lua_pop(L, 1);
			lua_pushnil(L);
		}
		return false;
	}
	lua_getfield(L, -1, "kp_exit");
	if (lua_toboolean(L, -1)) {
		lua_getfield(L, -2, "code");
		*code = (int)lua_tonumber(L, -1);
		lua_pop(L, 2);
		return true;
	}
	lua_pop(L, 1);
	lua_getfield(L, -1, "msg");
	lua_replace(L, -2);
	return false;
}

int kp_lua_fail(lua_State *L, int err, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	lua_pushnil(L);
	lua_pushstring(L, buf);
	lua_pushstring(L, err < 0 && -err < KP_ERR_START ? strerror(-err) : kp_strerror(err));
	return 3;
}

/* The constructor's registry reference: one Lua state per process uses it
 * at a time (the program's, or a unit test's). A ref, not a name: it is
 * looked up for every kernel address an event carries. */
static int kp_mk64_ref = LUA_NOREF;

void kp_lua_set_mk64(lua_State *L, int i)
{
	lua_pushvalue(L, i);
	kp_mk64_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

void kp_lua_push_int64_boxed(lua_State *L, uint64_t v, bool is_signed)
{
	lua_rawgeti(L, LUA_REGISTRYINDEX, kp_mk64_ref);
	lua_pushnumber(L, (lua_Number)(uint32_t)(v >> 32));
	lua_pushnumber(L, (lua_Number)(uint32_t)v);
	lua_pushboolean(L, is_signed);
	lua_call(L, 3, 1);
}

/*
 * A LuaJIT 64-bit integer cdata, through its tostring ("-5LL", "7ULL"):
 * the C API has no other safe view of a cdata. The tostring is the one
 * kpscript started with (registry "kp.tostring"), whatever the script did
 * to the global.
 */
int kp_lua_cdata_int(lua_State *L, int i, uint64_t *v, int *is_unsigned)
{
	const char *s;
	char *end;
	size_t n;
	int ok = 0;

	lua_getfield(L, LUA_REGISTRYINDEX, "kp.tostring");
	lua_pushvalue(L, i < 0 ? i - 1 : i);
	lua_call(L, 1, 1);
	s = lua_tolstring(L, -1, &n);
	if (s && n > 3 && !strcmp(s + n - 3, "ULL")) {
		errno = 0;
		*v = strtoull(s, &end, 10);
		*is_unsigned = 1;
		ok = !errno && end == s + n - 3;
	} else if (s && n > 2 && !strcmp(s + n - 2, "LL")) {
		errno = 0;
		*v = (uint64_t)strtoll(s, &end, 10);
		*is_unsigned = 0;
		ok = !errno && end == s + n - 2;
	}
	lua_pop(L, 1);
	return ok;
}
