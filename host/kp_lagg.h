/* SPDX-License-Identifier: MIT */
#ifndef KP_LAGG_H
#define KP_LAGG_H

#include <lua.h>

/*
 * The Lua side of aggregates (host/kp_agg.c): the userdata "kp.Agg" and
 * kp.core's agg_* functions, registered into the table on top of the stack.
 * 64-bit values beyond 2^53 are made by kp_lua_push_int64().
 * Stack effect: 0.
 */
void kp_lagg_open(lua_State *L);

#endif
