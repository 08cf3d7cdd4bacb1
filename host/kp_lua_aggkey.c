// SPDX-License-Identifier: MIT
/*
 * Aggregate keys (see kp_lua_agg.h): a Lua value, or a tuple of them, as
 * bytes that compare equal exactly when the values do, and back.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_lua.h"
#include "kp_lua_agg.h"
#include "kp_lua_stack.h"

#define KP_TUPLE_MAX 16

static void key_put(lua_State *L, struct kp_aggkey *g, const void *p, size_t n)
{
	if (g->len + n > g->cap) {
		size_t cap = g->cap ? g->cap : 256;
		unsigned char *nb;

		while (cap < g->len + n)
			cap *= 2;
		nb = realloc(g->buf, cap);
		if (!nb)
			luaL_error(L, "out of memory");
		g->buf = nb;
		g->cap = cap;
	}
	memcpy(g->buf + g->len, p, n);
	g->len += n;
}

static void key_tag(lua_State *L, struct kp_aggkey *g, char tag)
{
	key_put(L, g, &tag, 1);
}

static void key_be64(lua_State *L, struct kp_aggkey *g, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (56 - 8 * i));
	key_put(L, g, b, 8);
}

static void key_be32(lua_State *L, struct kp_aggkey *g, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 8), (unsigned char)v };

	key_put(L, g, b, 4);
}

static void key_int(lua_State *L, struct kp_aggkey *g, int64_t v)
{
	key_tag(L, g, 'i');
	key_be64(L, g, (uint64_t)v ^ (1ULL << 63));
}

static int key_value(lua_State *L, struct kp_aggkey *g, int i, int depth)
{
	switch (lua_type(L, i)) {
	case LUA_TNIL:
		key_tag(L, g, 'n');
		return 0;
	case LUA_TBOOLEAN: {
		unsigned char b = (unsigned char)lua_toboolean(L, i);

		key_tag(L, g, 'b');
		key_put(L, g, &b, 1);
		return 0;
	}
	case LUA_TNUMBER: {
		double d = lua_tonumber(L, i);

		if (d == floor(d) && fabs(d) < 9223372036854775808.0) {
			key_int(L, g, (int64_t)d);
		} else {
			uint64_t bits;

			if (d == 0)
				d = 0; /* -0 and 0 are one key */
			memcpy(&bits, &d, 8);
			key_tag(L, g, 'd');
			key_be64(L, g, bits);
		}
		return 0;
	}
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, i, &n);

		if (n > UINT32_MAX)
			return luaL_error(L, "aggregate key: string too long");
		key_tag(L, g, 's');
		key_be32(L, g, (uint32_t)n);
		key_put(L, g, s, n);
		return 0;
	}
	case LUA_TUSERDATA: {
		struct kp_stack *st = kp_stack_test(L, i);

		if (!st)
			break;
		key_tag(L, g, 'k');
		key_be32(L, g, (uint32_t)st->pid);
		key_be32(L, g, (uint32_t)st->nkernel << 16 | st->nuser);
		for (unsigned int k = 0; k < (unsigned int)st->nkernel + st->nuser; k++)
			key_be64(L, g, st->ip[k]);
		return 0;
	}
	case LUA_TTABLE: {
		size_t n = lua_objlen(L, i);

		if (depth > 0)
			return luaL_error(L, "aggregate key: a tuple cannot hold a table");
		if (n == 0)
			return luaL_error(L, "aggregate key: an empty table is not a tuple");
		if (n > KP_TUPLE_MAX)
			return luaL_error(L, "aggregate key: a tuple holds at most %d values",
					  KP_TUPLE_MAX);
		key_tag(L, g, 't');
		key_be32(L, g, (uint32_t)n);
		for (size_t k = 1; k <= n; k++) {
			lua_rawgeti(L, i, (int)k);
			key_value(L, g, -1, depth + 1);
			lua_pop(L, 1);
		}
		return 0;
	}
	default: {
		uint64_t v;
		int is_unsigned;

		if (lua_type(L, i) != 10 /* LUA_TCDATA */ ||
		    !kp_lua_cdata_int(L, i, &v, &is_unsigned))
			break;
		if (is_unsigned && v >= 1ULL << 63) {
			key_tag(L, g, 'u');
			key_be64(L, g, v);
		} else {
			key_int(L, g, (int64_t)v);
		}
		return 0;
	}
	}
	return luaL_error(L,
			  "aggregate key: %s cannot be a key (use nil, a boolean, number, "
			  "string, 64-bit integer, stack, or a table of those)",
			  luaL_typename(L, i));
}

void kp_lua_aggkey_encode(lua_State *L, struct kp_aggkey *g, int i)
{
	g->len = 0;
	if (lua_isnoneornil(L, i))
		return;
	key_value(L, g, i, 0);
}

static uint64_t get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Push the value encoded at *@p (bytes written by this file). */
static void key_decode(lua_State *L, const unsigned char **p, const unsigned char *end)
{
	const unsigned char *q = *p;
	char tag = (char)*q++;

	luaL_checkstack(L, 4, "aggregate key");
	switch (tag) {
	case 'b':
		lua_pushboolean(L, *q++);
		break;
	case 'i':
		kp_lua_push_int64(L, get_be(q, 8) ^ (1ULL << 63), true);
		q += 8;
		break;
	case 'u':
		kp_lua_push_int64(L, get_be(q, 8), false);
		q += 8;
		break;
	case 'd': {
		uint64_t bits = get_be(q, 8);
		double d;

		memcpy(&d, &bits, 8);
		lua_pushnumber(L, d);
		q += 8;
		break;
	}
	case 's': {
		size_t n = (size_t)get_be(q, 4);

		lua_pushlstring(L, (const char *)q + 4, n);
		q += 4 + n;
		break;
	}
	case 'k': {
		int32_t pid = (int32_t)get_be(q, 4);
		uint32_t counts = (uint32_t)get_be(q + 4, 4);
		uint16_t nk = (uint16_t)(counts >> 16), nu = (uint16_t)counts;
		uint64_t ips[2 * KP_STACK_MAX];

		q += 8;
		if (nk > KP_STACK_MAX)
			nk = KP_STACK_MAX;
		if (nu > KP_STACK_MAX)
			nu = KP_STACK_MAX;
		for (unsigned int k = 0; k < (unsigned int)nk + nu; k++)
			ips[k] = get_be(q + 8 * k, 8);
		q += 8 * ((size_t)nk + nu);
		kp_stack_push(L, pid, ips, nk, ips + nk, nu);
		break;
	}
	case 't': {
		uint32_t n = (uint32_t)get_be(q, 4);

		q += 4;
		lua_createtable(L, (int)n, 0);
		for (uint32_t k = 1; k <= n && q < end; k++) {
			key_decode(L, &q, end);
			lua_rawseti(L, -2, (int)k);
		}
		break;
	}
	default: /* 'n' */
		lua_pushnil(L);
		break;
	}
	*p = q;
}

void kp_lua_aggkey_push(lua_State *L, const unsigned char *key, size_t len)
{
	key_decode(L, &key, key + len);
}
