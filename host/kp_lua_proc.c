// SPDX-License-Identifier: MIT
/*
 * The process table as Lua sees it: kp.core's proc() and proc_stats(),
 * behind kp.proc and ev.proc (lua/kp.lua).
 */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_host_int.h"
#include "kp_proc.h"

static void kp_push_proc(lua_State *L, const struct kp_proc *p)
{
	lua_createtable(L, 0, 16);
	lua_pushnumber(L, p->pid);
	lua_setfield(L, -2, "pid");
#define KP_SETNUM(flag, field, expr)                           \
	do {                                                   \
		if (p->known & (flag)) {                       \
			lua_pushnumber(L, (lua_Number)(expr)); \
			lua_setfield(L, -2, field);            \
		}                                              \
	} while (0)
	KP_SETNUM(KP_PROC_PPID, "ppid", p->ppid);
	KP_SETNUM(KP_PROC_IDS, "uid", p->uid);
	KP_SETNUM(KP_PROC_IDS, "euid", p->euid);
	KP_SETNUM(KP_PROC_IDS, "gid", p->gid);
	KP_SETNUM(KP_PROC_IDS, "egid", p->egid);
	KP_SETNUM(KP_PROC_START, "start_time", p->start_time);
#undef KP_SETNUM
	if (p->known & KP_PROC_COMM) {
		lua_pushstring(L, p->comm);
		lua_setfield(L, -2, "comm");
	}
	if (p->known & KP_PROC_EXE) {
		lua_pushstring(L, p->exe);
		lua_setfield(L, -2, "exe");
	}
	if (p->known & KP_PROC_ARGV) {
		const char *a = p->argv;

		lua_createtable(L, (int)p->argc, 0);
		for (uint32_t i = 0; i < p->argc && a < p->argv + p->argv_len; i++) {
			size_t n = strnlen(a, (size_t)(p->argv + p->argv_len - a));

			lua_pushlstring(L, a, n);
			lua_rawseti(L, -2, (int)i + 1);
			a += n + 1;
		}
		lua_setfield(L, -2, "argv");
		lua_pushboolean(L, p->argv_truncated);
		lua_setfield(L, -2, "argv_truncated");
	}
	if (p->known & KP_PROC_CGROUP) {
		lua_pushstring(L, p->cgroup);
		lua_setfield(L, -2, "cgroup");
		lua_pushstring(L, p->container_id);
		lua_setfield(L, -2, "container_id");
	}
	if (p->exec_time) {
		lua_pushnumber(L, (lua_Number)p->exec_time);
		lua_setfield(L, -2, "exec_time");
	}
	lua_pushboolean(L, p->exited);
	lua_setfield(L, -2, "exited");
	if (p->exited) {
		lua_pushnumber(L, (lua_Number)p->exit_time);
		lua_setfield(L, -2, "exit_time");
	}
}

/* core.proc(pid [, parent]) -> table | nil: what the process table knows
 * of pid, or with @parent true, of pid's parent */
static int kp_core_proc(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	struct kp_proc_table *t = kp_host_procs(h);
	const struct kp_proc *p;

	if (!t)
		return 0;
	p = kp_proc_lookup(t, (int32_t)luaL_checknumber(L, 1));
	if (p && lua_toboolean(L, 2))
		p = kp_proc_parent(t, p);
	if (!p)
		return 0;
	kp_push_proc(L, p);
	return 1;
}

/* core.proc_stats() -> { size, evictions, cap } */
static int kp_core_proc_stats(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	uint64_t ev = 0;
	size_t size = 0, cap = 0;

	if (h->procs)
		kp_proc_stats(h->procs, &size, &ev, &cap);
	lua_createtable(L, 0, 3);
	lua_pushnumber(L, (lua_Number)size);
	lua_setfield(L, -2, "size");
	lua_pushnumber(L, (lua_Number)ev);
	lua_setfield(L, -2, "evictions");
	lua_pushnumber(L, (lua_Number)(cap ? cap : KP_PROC_CAP));
	lua_setfield(L, -2, "cap");
	return 1;
}

const luaL_Reg kp_lua_proc_fns[] = {
	{ "proc", kp_core_proc },
	{ "proc_stats", kp_core_proc_stats },
	{ NULL, NULL },
};
