/* SPDX-License-Identifier: MIT */
#ifndef KP_LUA_STACK_H
#define KP_LUA_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_perf_parse.h"

/*
 * A callchain as Lua sees it (ev.stack): the userdata "kp.Stack", holding
 * the kernel frames then the user frames, innermost first, and the process
 * the user frames belong to. Stacks are values: two with the same frames
 * and pid are the same aggregate key.
 */
#define KP_STACK_MT "kp.Stack"

struct kp_stack {
	int32_t pid;
	uint16_t nkernel, nuser;
	uint64_t ip[]; /* nkernel kernel addresses, then nuser user addresses */
};

/*
 * kp_stack_push() - push a new kp.Stack. Either list may be empty.
 * Stack effect: +1.
 */
struct kp_stack *kp_stack_push(lua_State *L, int32_t pid, const uint64_t *kernel, uint16_t nkernel,
			       const uint64_t *user, uint16_t nuser);
/* The kp.Stack at @i, or NULL when it is something else. */
struct kp_stack *kp_stack_test(lua_State *L, int i);

struct kp_host;

/* kp.core's ksym, usym and usym_prime, each taking the host as upvalue 1 */
extern const luaL_Reg kp_lua_stack_fns[];
/* Register the kp.Stack metatable, its frames named by @h's symbolizers. */
void kp_lua_stack_open(lua_State *L, struct kp_host *h);

#endif
