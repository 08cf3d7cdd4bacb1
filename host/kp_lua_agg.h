/* SPDX-License-Identifier: MIT */
#ifndef KP_LUA_AGG_H
#define KP_LUA_AGG_H

#include <stddef.h>

#include <lua.h>

/*
 * The Lua side of aggregates (host/kp_agg.c): the userdata "kp.Agg" and
 * kp.core's agg_* functions, registered into the table on top of the stack.
 * 64-bit values beyond 2^53 are made by kp_lua_push_int64().
 * Stack effect: 0.
 */
void kp_lua_agg_open(lua_State *L);

/* A key being encoded: grows as needed, freed by its owner. */
struct kp_aggkey {
	unsigned char *buf;
	size_t len, cap;
};

/*
 * kp_lua_aggkey_encode() - the value at @i (nil, a boolean, number,
 * string, 64-bit integer, stack, or a table of those up to 16 deep and 16
 * long) as key bytes in @k; nil alone is the empty key. Raises a Lua error
 * for anything else. Stack effect: 0.
 */
void kp_lua_aggkey_encode(lua_State *L, struct kp_aggkey *k, int i);
/* Push the value key bytes @key (@len of them, made by the encoder) stand
 * for. Stack effect: +1. */
void kp_lua_aggkey_push(lua_State *L, const unsigned char *key, size_t len);

#endif
