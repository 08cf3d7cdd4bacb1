// SPDX-License-Identifier: MIT
/*
 * The process table as Lua sees it: kp.core's proc() and proc_stats(),
 * behind kp.proc and ev.proc. The one owner of the kp.Proc metatable
 * (p.parent).
 */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_host_int.h"
#include "kp_lua.h"
#include "kp_proc.h"

#define KP_PROC_MT "kp.Proc"

static void kp_push_proc(lua_State *L, const struct kp_proc *p)
{
	lua_createtable(L, 0, 16);
	luaL_getmetatable(L, KP_PROC_MT);
	lua_setmetatable(L, -2);
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

int kp_lua_proc_push(lua_State *L, struct kp_host *h, int32_t pid, bool parent)
{
	struct kp_proc_table *t = kp_host_procs(h);
	const struct kp_proc *p;

	/* from the run's next pass on, if no script named it */
	h->exec_want = true;
	p = t ? kp_proc_lookup(t, pid) : NULL;
	if (p && parent)
		p = kp_proc_parent(t, p);
	if (p)
		kp_push_proc(L, p);
	else
		lua_pushnil(L);
	return 1;
}

/* core.proc(pid) -> table | nil: what the process table knows of pid */
static int kp_core_proc(lua_State *L)
{
	return kp_lua_proc_push(L, kp_host_of(L), (int32_t)luaL_checknumber(L, 1), false);
}

/* kp.Proc's __index: p.parent, looked up when read */
static int kp_proc_index(lua_State *L)
{
	const char *k = lua_tostring(L, 2);

	if (!k || strcmp(k, "parent") || lua_type(L, 2) != LUA_TSTRING)
		return 0;
	lua_pushliteral(L, "pid");
	lua_rawget(L, 1);
	if (!lua_isnumber(L, -1))
		return 0;
	return kp_lua_proc_push(L, kp_host_of(L), (int32_t)lua_tonumber(L, -1), true);
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

void kp_lua_proc_open(lua_State *L, struct kp_host *h)
{
	luaL_newmetatable(L, KP_PROC_MT);
	lua_pushlightuserdata(L, h);
	lua_pushcclosure(L, kp_proc_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}
