// SPDX-License-Identifier: MIT
/*
 * kp.Event: the table a handler gets, one per probe and reused for every
 * event, filled from the raw record by the probe's compiled format (each
 * field bounds-checked by kp_decode), the builtins and ev.stack. The one
 * owner of the kp.Event metatable (ev.proc, ev:copy(), keys the script
 * adds).
 */
#define KP_EVENT_MT "kp.Event"
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_decode.h"
#include "kp_format.h"
#include "kp_host_int.h"
#include "kp_probe.h"
#include "kp_item.h"
#include "kp_source_live.h"
#include "kp_lua.h"
#include "kp_perf_parse.h"
#include "kp_lua_stack.h"
#include "kp_usym.h"

/* its address keys the list of script-added keys inside an event table */
static char kp_dirty_key;

/*
 * The probe's event table, reused for every event, and the keys its fields
 * are stored under. A format field named like a builtin (sched_wakeup's
 * pid and comm are the woken task's) is kept as arg_<name>, so ev.pid is
 * always the task that hit the probe.
 */
int kp_probe_setup_lua(lua_State *L, struct kp_probe *p, int fn_index)
{
	size_t k = p->nfields;

	lua_createtable(L, (int)(k + 5), 0);
	for (size_t i = 0; i < k; i++) {
		const char *name = kp_format_field(p->fmt, p->fields[i])->name;

		if (kp_is_builtin(name))
			lua_pushfstring(L, "arg_%s", name);
		else
			lua_pushstring(L, name);
		lua_rawseti(L, -2, (int)i + 1);
	}
	for (size_t i = 0; i < 5; i++) {
		lua_pushstring(L, kp_builtin_names[i]);
		lua_rawseti(L, -2, (int)(k + i + 1));
	}
	p->keys_ref = luaL_ref(L, LUA_REGISTRYINDEX);

	lua_createtable(L, 0, (int)(k + 6));
	lua_pushstring(L, p->name);
	lua_setfield(L, -2, "probe");
	/* the list of keys the script adds (the event metatable's __newindex
	 * records them), cleared before the next event refills the table */
	lua_newtable(L);
	p->dirty_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pushlightuserdata(L, &kp_dirty_key);
	lua_pushlightuserdata(L, p);
	lua_rawset(L, -3);
	luaL_getmetatable(L, KP_EVENT_MT);
	lua_setmetatable(L, -2);
	p->ev_ref = luaL_ref(L, LUA_REGISTRYINDEX);

	/* no handler: the events are counted, and rules may claim them */
	if (lua_isfunction(L, fn_index)) {
		lua_pushvalue(L, fn_index);
		p->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	return 0;
}

/* A string list as a table: its strings up to the first empty entry (a
 * NULL-terminated list's end, or a pointer that could not be read). */
static void kp_push_strs(lua_State *L, const struct kp_value *v, const struct kp_sample *s)
{
	lua_createtable(L, (int)v->len, 0);
	for (size_t i = 0; i < v->len; i++) {
		const char *str;
		size_t len;

		if (kp_value_str(v, s->raw, s->raw_size, i, &str, &len))
			break;
		lua_pushlstring(L, str, len);
		lua_rawseti(L, -2, (int)i + 1);
	}
}

static void kp_push_value(lua_State *L, const struct kp_value *v, const struct kp_sample *s)
{
	switch (v->type) {
	case KP_VAL_INT:
		kp_lua_push_int64(L, (uint64_t)v->i, true);
		break;
	case KP_VAL_UINT:
		kp_lua_push_int64(L, v->u, false);
		break;
	case KP_VAL_STR:
	case KP_VAL_BYTES:
		lua_pushlstring(L, v->ptr, v->len);
		break;
	case KP_VAL_ARRAY:
		lua_createtable(L, (int)v->len, 0);
		for (size_t i = 0; i < v->len; i++) {
			if (v->is_signed)
				kp_lua_push_int64(L, (uint64_t)kp_value_elem_i(v, i), true);
			else
				kp_lua_push_int64(L, kp_value_elem_u(v, i), false);
			lua_rawseti(L, -2, (int)i + 1);
		}
		break;
	case KP_VAL_STRS:
		kp_push_strs(L, v, s);
		break;
	}
}

/* Remove the keys a script added to the reused event table at @ev on the
 * previous event, so nothing of it reaches the next one. */
static void kp_event_clean(lua_State *L, struct kp_probe *p, int ev)
{
	int n;

	if (!p->dirty)
		return;
	p->dirty = false;
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->dirty_ref);
	n = (int)lua_objlen(L, -1);
	for (int i = n; i >= 1; i--) {
		lua_rawgeti(L, -1, i);
		lua_pushnil(L);
		lua_rawset(L, ev);
		lua_pushnil(L);
		lua_rawseti(L, -2, i);
	}
	lua_pop(L, 1);
}

/* Field @idx of sample @s as an unsigned integer, or 0. */
static uint64_t kp_sample_u64(const struct kp_probe *p, const struct kp_sample *s, long idx)
{
	struct kp_value v;

	if (kp_field_decode(kp_format_field(p->fmt, (size_t)idx), s->raw, s->raw_size, &v) ||
	    v.type != KP_VAL_UINT)
		return 0;
	return v.u;
}

/*
 * The first frame of an entry kprobe's stack, as the same value on every
 * kernel: the probed function's address (__kp_fn). The kernel reports the
 * probed instruction + 1 (an ftrace-based kprobe sets regs->ip as if an
 * int3 had been hit), and with IBT (CONFIG_X86_KERNEL_IBT, Debian's 6.12)
 * a probe on a function that starts with endbr64 sits at +4:
 * commit_creds+0x5 there, commit_creds+0x1 elsewhere. Other frames are left
 * as they are.
 */
static uint64_t kp_entry_frame(const struct kp_probe *p, const struct kp_sample *s, uint64_t frame)
{
	uint64_t ip = kp_sample_u64(p, s, p->ip_field), fn = kp_sample_u64(p, s, p->fn_field);

	/* the adjustments are 0 or 4 bytes */
	if (!fn || ip < fn || ip - fn > 16 || (frame != ip && frame != ip + 1))
		return frame;
	return fn;
}

/* Read @pid's maps now, if not cached, so its user frames can be named
 * after it exits. A pid the side band has not fed (older than the
 * symbolizer, or untracked since its parent was) is read from /proc, if it
 * lives. */
static void kp_stack_prime(struct kp_host *h, int32_t pid)
{
	struct kp_usym *us = kp_host_usym(h);

	if (us)
		kp_usym_prime(us, pid);
}

/* ev.stack: the sample's callchain, or nil when it has none */
static void kp_push_stack(lua_State *L, struct kp_probe *p, const struct kp_sample *s, int ev)
{
	uint64_t kern[KP_STACK_MAX], user[KP_STACK_MAX];
	uint16_t nk = 0, nu = 0;
	uint64_t ra;

	lua_pushliteral(L, "stack");
	if (!s->nips) {
		lua_pushnil(L);
		lua_rawset(L, ev);
		return;
	}
	kp_stack_split(s->ips, s->nips, kern, &nk, user, &nu);
	if (p->ip_field >= 0 && p->fn_field >= 0 && nk >= 1)
		kern[0] = kp_entry_frame(p, s, kern[0]);
	/* a kretprobe returns to __probe_ret_ip: where the kernel's chain
	 * does not start there (5.10 starts it at the kretprobe trampoline,
	 * whose callers it cannot find), that frame goes first */
	if (p->retip_field >= 0 && nk >= 1) {
		uint64_t rip = kp_sample_u64(p, s, p->retip_field);

		if (rip && kern[0] != rip) {
			if (nk == KP_STACK_MAX)
				nk--;
			memmove(kern + 1, kern, (size_t)nk * sizeof(kern[0]));
			kern[0] = rip;
			nk++;
		}
	}
	/* a uprobe at a function's entry: the caller the frame-pointer walk
	 * skipped goes back in as the second frame */
	if (p->ra_field >= 0 && nu >= 1 && (ra = kp_sample_u64(p, s, p->ra_field)) &&
	    (nu < 2 || user[1] != ra)) {
		if (nu == KP_STACK_MAX)
			nu--;
		memmove(user + 2, user + 1, (size_t)(nu - 1) * sizeof(user[0]));
		user[1] = ra;
		nu++;
	}
	kp_stack_push(L, (int32_t)s->pid, kern, nk, user, nu);
	lua_rawset(L, ev);
	/* the maps are read while the process still runs, so its frames can
	 * be named after it exits */
	if (nu && s->pid)
		kp_stack_prime(p->host, (int32_t)s->pid);
}

static int kp_event_copy(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_createtable(L, 0, 8);
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		if (lua_islightuserdata(L, -2)) {
			lua_pop(L, 1);
			continue;
		}
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -4);
	}
	lua_getmetatable(L, 1);
	lua_setmetatable(L, -2);
	return 1;
}

/* kp.Event's __newindex: a key the script adds is recorded, and removed
 * before the next event refills the (reused) table */
static int kp_event_newindex(lua_State *L)
{
	struct kp_probe *p;

	lua_settop(L, 3);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, 3);
	lua_rawset(L, 1);
	lua_pushlightuserdata(L, &kp_dirty_key);
	lua_rawget(L, 1);
	p = lua_touserdata(L, -1); /* NULL in an ev:copy() */
	if (!p || p->dirty_ref == LUA_NOREF)
		return 0;
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->dirty_ref);
	lua_pushvalue(L, 2);
	lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
	p->dirty = true;
	return 0;
}

/* kp.Event's __index (upvalues: the host, the methods): ev.proc, the
 * event's process looked up when read (nothing is kept in the reused
 * table), and ev:copy() */
static int kp_event_index(lua_State *L)
{
	if (lua_type(L, 2) == LUA_TSTRING && !strcmp(lua_tostring(L, 2), "proc")) {
		lua_pushliteral(L, "pid");
		lua_rawget(L, 1);
		if (!lua_isnumber(L, -1))
			return 0;
		return kp_lua_proc_push(L, kp_host_of(L), (int32_t)lua_tonumber(L, -1), false);
	}
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(2));
	return 1;
}

/* core.raw() -> the raw record bytes of the event being delivered, or nil */
static int kp_core_raw(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);

	if (!h->raw)
		return 0;
	lua_pushlstring(L, (const char *)h->raw, h->raw_size);
	return 1;
}

/*
 * Push @p's event table filled from sample @s: the fields of its format,
 * then pid, tid, cpu, time, comm (@comm) and, with stacks, ev.stack. The
 * table is the probe's own, reused for every event: what the script added
 * to it on the previous event is removed first. Stack effect: +1.
 */
void kp_lua_event_push(lua_State *L, struct kp_probe *p, const struct kp_sample *s,
		       const char *comm)
{
	int top = lua_gettop(L), ev, keys;
	size_t k = p->nfields;

	lua_rawgeti(L, LUA_REGISTRYINDEX, p->ev_ref);
	ev = top + 1;
	kp_event_clean(L, p, ev);
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->keys_ref);
	keys = top + 2;
	for (size_t i = 0; i < k; i++) {
		struct kp_value v;

		lua_rawgeti(L, keys, (int)i + 1);
		if (kp_field_decode(kp_format_field(p->fmt, p->fields[i]), s->raw, s->raw_size,
				    &v)) {
			p->bad_fields++;
			lua_pushnil(L);
		} else {
			kp_push_value(L, &v, s);
		}
		lua_rawset(L, ev);
	}
	lua_rawgeti(L, keys, (int)k + 1);
	lua_pushnumber(L, s->pid);
	lua_rawset(L, ev);
	lua_rawgeti(L, keys, (int)k + 2);
	lua_pushnumber(L, s->tid);
	lua_rawset(L, ev);
	lua_rawgeti(L, keys, (int)k + 3);
	lua_pushnumber(L, s->cpu);
	lua_rawset(L, ev);
	lua_rawgeti(L, keys, (int)k + 4);
	kp_lua_push_int64(L, s->time, false);
	lua_rawset(L, ev);
	lua_rawgeti(L, keys, (int)k + 5);
	lua_pushstring(L, comm);
	lua_rawset(L, ev);
	if (p->stack)
		kp_push_stack(L, p, s, ev);
	lua_settop(L, ev);
}

const luaL_Reg kp_lua_event_fns[] = {
	{ "raw", kp_core_raw },
	{ NULL, NULL },
};

void kp_lua_event_open(lua_State *L, struct kp_host *h)
{
	luaL_newmetatable(L, KP_EVENT_MT);
	lua_pushlightuserdata(L, h);
	lua_newtable(L);
	lua_pushcfunction(L, kp_event_copy);
	lua_setfield(L, -2, "copy");
	lua_pushcclosure(L, kp_event_index, 2);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, kp_event_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pop(L, 1);
}
