// SPDX-License-Identifier: MIT
/*
 * Stacks for Lua: the kp.Stack userdata (the one owner of its metatable)
 * and kp.core's ksym() and usym() behind kp.ksym() and kp.usym(). The
 * symbolizers are the host's (kp_host_ksyms, kp_host_usym): kernel
 * addresses resolve through /proc/kallsyms, read once; user addresses
 * through the process's maps and the symbol tables of its mapped files
 * (kp_usym.c), the maps followed by kp_deliver.c from the side band.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_ksyms.h"
#include "kp_lua.h"
#include "kp_lua_stack.h"
#include "kp_host_int.h"
#include "kp_usym.h"

#define KP_SYMS_KEY "kp.symbolizers"

struct kp_syms {
	struct kp_ksyms *ks; /* NULL until first needed */
	int ks_err; /* the load's error, so it is not retried per frame */
	struct kp_usym *us;
};

struct kp_stack *kp_stack_push(lua_State *L, int32_t pid, const uint64_t *kernel, uint16_t nkernel,
			       const uint64_t *user, uint16_t nuser)
{
	size_t n = (size_t)nkernel + nuser;
	struct kp_stack *st = lua_newuserdata(L, sizeof(*st) + n * sizeof(uint64_t));

	st->pid = pid;
	st->nkernel = nkernel;
	st->nuser = nuser;
	if (nkernel)
		memcpy(st->ip, kernel, nkernel * sizeof(uint64_t));
	if (nuser)
		memcpy(st->ip + nkernel, user, nuser * sizeof(uint64_t));
	luaL_getmetatable(L, KP_STACK_MT);
	lua_setmetatable(L, -2);
	return st;
}

struct kp_stack *kp_stack_test(lua_State *L, int i)
{
	void *p = lua_touserdata(L, i);
	int is = 0;

	if (!p || !lua_getmetatable(L, i))
		return NULL;
	luaL_getmetatable(L, KP_STACK_MT);
	is = lua_rawequal(L, -1, -2);
	lua_pop(L, 2);
	return is ? p : NULL;
}

/* "name+0x1a" (or "name" at offset 0, "mod:name" in a module), else the
 * address in hex */
static void ksym_text(struct kp_host *h, uint64_t addr, char *buf, size_t len)
{
	const struct kp_ksyms *ks = kp_host_ksyms(h);
	const char *name, *mod;
	uint64_t off;

	/* the copy may predate a module or BPF program that holds @addr */
	if (ks && kp_ksyms_addr(ks, addr, &name, &mod, &off))
		ks = kp_host_ksyms_again(h);
	if (!ks || kp_ksyms_addr(ks, addr, &name, &mod, &off)) {
		snprintf(buf, len, "0x%" PRIx64, addr);
		return;
	}
	/* A kretprobe hides the function's return address behind its
	 * trampoline; kernels before 5.14 cannot unwind past it, so the
	 * trampoline ends the chain and the callers are lost. */
	if (!mod &&
	    (!strcmp(name, "kretprobe_trampoline") || !strcmp(name, "__kretprobe_trampoline") ||
	     !strcmp(name, "arch_rethook_trampoline"))) {
		snprintf(buf, len, "[callers lost: %s]", name);
		return;
	}
	snprintf(buf, len, "%s%s%s", mod ? mod : "", mod ? ":" : "", name);
	if (off) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, "+0x%" PRIx64, off);
	}
}

static void usym_text(struct kp_host *h, int32_t pid, uint64_t addr, char *buf, size_t len)
{
	struct kp_usym *us = kp_host_usym(h);
	struct kp_usym_frame f;

	if (!us || kp_usym_lookup(us, pid, addr, &f)) {
		memset(&f, 0, sizeof(f));
		f.off = addr;
	}
	kp_usym_format(&f, addr, buf, len);
}

/* An address argument: a number, a 64-bit integer cdata, or a hex string. */
static uint64_t check_addr(lua_State *L, int i)
{
	const char *s;
	char *end;
	uint64_t v;

	if (lua_type(L, i) == LUA_TNUMBER)
		return (uint64_t)lua_tonumber(L, i);
	if (lua_type(L, i) == 10 /* cdata */) {
		int is_unsigned;

		if (kp_lua_cdata_int(L, i, &v, &is_unsigned) && (is_unsigned || (int64_t)v >= 0))
			return v;
	} else if (lua_type(L, i) == LUA_TSTRING) {
		s = lua_tostring(L, i);
		errno = 0;
		v = strtoull(s, &end, 0);
		if (!errno && end != s && !*end)
			return v;
	}
	luaL_argerror(L, i, "an address (number, 64-bit integer or \"0x...\" string) or a stack");
	return 0;
}

static struct kp_stack *check_stack(lua_State *L, int i)
{
	struct kp_stack *st = kp_stack_test(L, i);

	if (!st)
		luaL_typerror(L, i, KP_STACK_MT);
	return st;
}

/* Frame @i of @st named: kernel frames by kallsyms, user frames as
 * process @pid's. */
static void frame_text(struct kp_host *h, const struct kp_stack *st, int32_t pid, int i, char *buf,
		       size_t len)
{
	if (i < st->nkernel)
		ksym_text(h, st->ip[i], buf, len);
	else
		usym_text(h, pid, st->ip[i], buf, len);
}

/* A list of frames [@from, @to) of @st named, innermost first. Return: 1. */
static int push_frames(lua_State *L, struct kp_host *h, const struct kp_stack *st, int32_t pid,
		       int from, int to)
{
	char buf[512];

	lua_createtable(L, to - from, 0);
	for (int i = from; i < to; i++) {
		frame_text(h, st, pid, i, buf, sizeof(buf));
		lua_pushstring(L, buf);
		lua_rawseti(L, -2, i - from + 1);
	}
	return 1;
}

/*
 * core.ksym(addr) -> "sym+0xoff"; core.ksym(stack) -> { frames... } of its
 * kernel part, innermost first.
 */
static int core_ksym(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	struct kp_stack *st = kp_stack_test(L, 1);
	char buf[256];

	if (!st) {
		ksym_text(h, check_addr(L, 1), buf, sizeof(buf));
		lua_pushstring(L, buf);
		return 1;
	}
	return push_frames(L, h, st, st->pid, 0, st->nkernel);
}

/*
 * core.usym(pid, addr) -> "sym+0xoff"; core.usym(stack) or (pid, stack) ->
 * { frames... } of its user part, innermost first.
 */
static int core_usym(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	struct kp_stack *st = kp_stack_test(L, 1);
	int32_t pid;
	char buf[512];

	if (!st) {
		pid = (int32_t)luaL_checknumber(L, 1);
		st = kp_stack_test(L, 2);
		if (!st) {
			usym_text(h, pid, check_addr(L, 2), buf, sizeof(buf));
			lua_pushstring(L, buf);
			return 1;
		}
	} else {
		pid = st->pid;
	}
	return push_frames(L, h, st, pid, st->nkernel, st->nkernel + st->nuser);
}

/* core.usym_prime(pid): cache the maps of @pid now (it may exit soon) */
static int core_usym_prime(lua_State *L)
{
	struct kp_usym *us = kp_host_usym(kp_host_of(L));

	lua_pushboolean(L, us && kp_usym_prime(us, (int)luaL_checknumber(L, 1)) == 0);
	return 1;
}

static int stack_len(lua_State *L)
{
	struct kp_stack *st = check_stack(L, 1);

	lua_pushnumber(L, st->nkernel + st->nuser);
	return 1;
}

/* st.pid, st.nkernel, st.nuser; st[i]: the i-th address, kernel frames
 * first, innermost first */
static int stack_index(lua_State *L)
{
	struct kp_stack *st = check_stack(L, 1);

	if (lua_type(L, 2) == LUA_TNUMBER) {
		lua_Number i = lua_tonumber(L, 2);

		if (i >= 1 && i <= st->nkernel + st->nuser && i == (int)i)
			kp_lua_push_int64(L, st->ip[(int)i - 1], false);
		else
			lua_pushnil(L);
		return 1;
	}
	if (lua_type(L, 2) == LUA_TSTRING) {
		const char *k = lua_tostring(L, 2);

		if (!strcmp(k, "pid")) {
			lua_pushnumber(L, st->pid);
			return 1;
		}
		if (!strcmp(k, "nkernel")) {
			lua_pushnumber(L, st->nkernel);
			return 1;
		}
		if (!strcmp(k, "nuser")) {
			lua_pushnumber(L, st->nuser);
			return 1;
		}
	}
	lua_pushnil(L);
	return 1;
}

static int stack_eq(lua_State *L)
{
	struct kp_stack *a = check_stack(L, 1), *b = check_stack(L, 2);
	size_t n = (size_t)a->nkernel + a->nuser;

	lua_pushboolean(L, a->pid == b->pid && a->nkernel == b->nkernel && a->nuser == b->nuser &&
			       !memcmp(a->ip, b->ip, n * 8));
	return 1;
}

/* tostring(st): every frame on its own line, kernel then user, innermost
 * first, indented as bpftrace prints a stack */
static int stack_tostring(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	struct kp_stack *st = check_stack(L, 1);
	luaL_Buffer b;
	char buf[512];

	luaL_buffinit(L, &b);
	for (int i = 0; i < st->nkernel + st->nuser; i++) {
		frame_text(h, st, st->pid, i, buf, sizeof(buf));
		luaL_addstring(&b, "\n        ");
		luaL_addstring(&b, buf);
	}
	luaL_addchar(&b, '\n');
	luaL_pushresult(&b);
	return 1;
}

/* core.is_stack(v) -> is v a kp.Stack? */
static int core_is_stack(lua_State *L)
{
	lua_pushboolean(L, kp_stack_test(L, 1) != NULL);
	return 1;
}

const luaL_Reg kp_lua_stack_fns[] = {
	{ "is_stack", core_is_stack },	   { "ksym", core_ksym }, { "usym", core_usym },
	{ "usym_prime", core_usym_prime }, { NULL, NULL },
};

void kp_lua_stack_open(lua_State *L, struct kp_host *h)
{
	static const luaL_Reg meta[] = {
		{ "__len", stack_len },
		{ "__index", stack_index },
		{ "__eq", stack_eq },
		{ NULL, NULL },
	};

	luaL_newmetatable(L, KP_STACK_MT);
	luaL_register(L, NULL, meta);
	lua_pushlightuserdata(L, h);
	lua_pushcclosure(L, stack_tostring, 1);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
}
