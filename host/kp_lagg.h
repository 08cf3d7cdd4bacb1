/* SPDX-License-Identifier: MIT */
#ifndef KP_LAGG_H
#define KP_LAGG_H

#include <lua.h>

/*
 * The Lua side of aggregates (host/kp_agg.c): the userdata "kp.Agg" and
 * kp.core's agg_* functions, registered into the table on top of the stack.
 * 64-bit values beyond 2^53 are built by the registry's "kp.mk64" function.
 * Stack effect: 0.
 */
void kp_lagg_open(lua_State *L);

#include <stdint.h>

/* Push @v as a number while a double holds it exactly, else as a 64-bit
 * cdata made by "kp.mk64". Stack effect: +1. */
void kp_lua_push_u64(lua_State *L, uint64_t v, int is_signed);
/* The value of a 64-bit integer cdata at @i ("5LL", "7ULL"): 1 with *@v,
 * or 0 for anything else. */
int kp_lua_cdata_int(lua_State *L, int i, uint64_t *v, int *is_unsigned);

#endif
