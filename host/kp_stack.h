/* SPDX-License-Identifier: MIT */
#ifndef KP_STACK_H
#define KP_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

/*
 * A callchain as Lua sees it (ev.stack): the userdata "kp.Stack", holding
 * the kernel frames then the user frames, innermost first, and the process
 * the user frames belong to. Stacks are values: two with the same frames
 * and pid are the same aggregate key.
 */
#define KP_STACK_MT "kp.Stack"
/* perf's default kernel.perf_event_max_stack */
#define KP_STACK_MAX 127

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

/*
 * kp_stack_split() - split a PERF_SAMPLE_CALLCHAIN list at its context
 * markers (PERF_CONTEXT_KERNEL, PERF_CONTEXT_USER...) into its kernel and
 * user frames, at most KP_STACK_MAX each. The markers are dropped.
 */
void kp_stack_split(const uint64_t *ips, uint64_t nr, uint64_t *kernel, uint16_t *nkernel,
		    uint64_t *user, uint16_t *nuser);

/* Register the kp.Stack metatable and kp.core's symbolizers (ksym, usym,
 * stack_frames) into the table on top of the stack. Stack effect: 0. */
void kp_stack_open(lua_State *L);

/* Read @pid's maps now, if not cached, so its user frames can be named
 * after it exits. Makes the user symbolizer when there is none yet. */
void kp_stack_prime(lua_State *L, int32_t pid);
/* Forget what is cached about @pid (it exec'd or a new process has it). */
void kp_stack_forget(lua_State *L, int32_t pid);

/*
 * The user symbolizer follows processes by their side-band records once it
 * exists (kp_usym_exec() and the rest); before, these calls do nothing, so
 * a run that never names user frames keeps no maps.
 */
struct kp_task_map;

/* Whether the user symbolizer exists. Cheap: a registry lookup. */
bool kp_stack_usym_active(lua_State *L);
/* Make the user symbolizer now (a probe asks for user stacks), so that the
 * processes it samples are followed from their start. */
void kp_stack_usym_start(lua_State *L);
/* @pid exec'd: its maps are what the MMAP2 records that follow say. */
void kp_stack_exec(lua_State *L, int32_t pid);
/* @pid is a new process forked by @ppid: it has its parent's maps. */
void kp_stack_fork(lua_State *L, int32_t ppid, int32_t pid);
/* @pid mapped @m (a PERF_RECORD_MMAP2). */
void kp_stack_mmap(lua_State *L, int32_t pid, const struct kp_task_map *m);

#endif
