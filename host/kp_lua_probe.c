// SPDX-License-Identifier: MIT
/*
 * kp.Probe, the userdata a declaration returns: the declarations
 * (kp.core.tracepoint, uprobe, kprobe turn their arguments into a
 * kp_probe_spec for kp_probe_create()), p.name, p.definition, p.fields,
 * p:close(), its counters (kp.core.stats) and handler
 * (kp.core.set_handler). The one owner of the kp.Probe metatable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_err.h"
#include "kp_host_int.h"
#include "kp_lua.h"
#include "kp_perf.h"
#include "kp_probe.h"

static struct kp_probe *kp_check_probe(lua_State *L, int i)
{
	struct kp_probe *p = luaL_checkudata(L, i, KP_PROBE_MT);

	if (p->closed && !p->dry)
		luaL_argerror(L, i, "probe is closed");
	return p;
}

void kp_lua_probe_release(lua_State *L, struct kp_probe *p)
{
	kp_probe_release(p);
	luaL_unref(L, LUA_REGISTRYINDEX, p->fn_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, p->ev_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, p->keys_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, p->dirty_ref);
	p->fn_ref = p->ev_ref = p->keys_ref = p->dirty_ref = LUA_NOREF;
}

static int kp_probe_gc(lua_State *L)
{
	struct kp_probe *p = luaL_checkudata(L, 1, KP_PROBE_MT);

	if (!p->host)
		return 0;
	kp_lua_probe_release(L, p);
	kp_probe_unlink(p);
	free(p->name);
	free(p->event);
	free(p->def);
	p->name = p->event = p->def = NULL;
	p->host = NULL;
	return 0;
}

static int kp_probe_close(lua_State *L)
{
	struct kp_probe *p = kp_check_probe(L, 1);

	if (p->host->running && !p->host->reloading)
		return luaL_error(L,
				  "a probe cannot be closed while kp.run() is delivering events");
	kp_lua_probe_release(L, p);
	return 0;
}

static int kp_probe_tostring(lua_State *L)
{
	struct kp_probe *p = luaL_checkudata(L, 1, KP_PROBE_MT);

	lua_pushfstring(L, "kp.Probe(%s%s)", p->name ? p->name : "?",
			p->closed && !p->dry ? ", closed" : "");
	return 1;
}

static int kp_probe_index(lua_State *L)
{
	struct kp_probe *p = luaL_checkudata(L, 1, KP_PROBE_MT);
	const char *k = luaL_checkstring(L, 2);

	if (!strcmp(k, "name")) {
		lua_pushstring(L, p->name);
	} else if (!strcmp(k, "definition")) {
		if (p->def)
			lua_pushstring(L, p->def);
		else
			lua_pushnil(L);
	} else if (!strcmp(k, "fields")) {
		lua_createtable(L, (int)p->nfields, 0);
		if (p->keys_ref != LUA_NOREF) {
			lua_rawgeti(L, LUA_REGISTRYINDEX, p->keys_ref);
			for (size_t i = 0; i < p->nfields; i++) {
				lua_rawgeti(L, -1, (int)i + 1);
				lua_rawseti(L, -3, (int)i + 1);
			}
			lua_pop(L, 1);
		}
	} else {
		luaL_getmetatable(L, KP_PROBE_MT);
		lua_getfield(L, -1, "__methods");
		lua_getfield(L, -1, k);
	}
	return 1;
}

uint64_t kp_probe_lost(const struct kp_probe *p)
{
	return p->final ? p->lost_final : p->lost_records;
}

static struct kp_probe *kp_probe_new(lua_State *L, struct kp_host *h, enum kp_probe_kind kind)
{
	struct kp_probe *p = lua_newuserdata(L, sizeof(*p));

	memset(p, 0, sizeof(*p));
	p->host = h;
	p->kind = kind;
	p->closed = true; /* until it holds kernel resources */
	p->fn_ref = p->ev_ref = p->keys_ref = p->dirty_ref = LUA_NOREF;
	luaL_getmetatable(L, KP_PROBE_MT);
	lua_setmetatable(L, -2);
	p->next = h->probes;
	h->probes = p;
	return p;
}

/* Anchor @p (at stack top) so the GC cannot detach a probe the script
 * dropped: it lives until kp_host_shutdown(). */
static void kp_probe_anchor(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, "kp.probes");
	lua_pushvalue(L, -2);
	lua_pushboolean(L, 1);
	lua_rawset(L, -3);
	lua_pop(L, 1);
}

/* ---- declarations ----------------------------------------------------- */

/* The options table at @i (nil: the defaults). lua/kp_check.lua checks
 * them for the user, naming the script line; what reaches kp.core another
 * way and would misbehave is refused here, tersely. */
static void kp_read_opts(lua_State *L, int i, struct kp_popts *o)
{
	lua_Number pages = KP_DEFAULT_PAGES, wakeup = 0;
	const char *st;
	bool bad = false;

	memset(o, 0, sizeof(*o));
	o->pages = KP_DEFAULT_PAGES;
	if (lua_isnoneornil(L, i))
		return;
	luaL_checktype(L, i, LUA_TTABLE);
	lua_getfield(L, i, "filter");
	o->filter = lua_tostring(L, -1); /* the string stays in the table */
	lua_getfield(L, i, "stack");
	st = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	if (st && !strcmp(st, "kernel"))
		o->stack = KP_PERF_STACK_KERNEL;
	else if (st && !strcmp(st, "user"))
		o->stack = KP_PERF_STACK_USER;
	else if (lua_toboolean(L, -1))
		o->stack = KP_PERF_STACK_KERNEL | KP_PERF_STACK_USER;
	bad |= st && strcmp(st, "kernel") && strcmp(st, "user") && strcmp(st, "both");
	lua_getfield(L, i, "pages");
	if (!lua_isnil(L, -1))
		pages = lua_tonumber(L, -1);
	lua_getfield(L, i, "wakeup");
	if (!lua_isnil(L, -1))
		wakeup = lua_tonumber(L, -1);
	lua_pop(L, 4);
	bad |= !(pages >= 1 && pages <= KP_MAX_PAGES) || ((size_t)pages & ((size_t)pages - 1));
	bad |= !(wakeup >= 0 && wakeup <= 1e6);
	if (bad)
		luaL_argerror(L, i, "bad probe options (kp.tracepoint and the others check them)");
	o->pages = (size_t)pages;
	o->wakeup = (unsigned int)wakeup;
}

/* The arguments by name at @i, { { name = N|nil, expr = "new->uid" }, ... }
 * or nil, into @s (a scratch userdata on the stack holds them; the strings
 * stay in the table). */
static void kp_read_btf(lua_State *L, int i, struct kp_probe_spec *s)
{
	struct kp_btf_name *btf = NULL;

	s->nbtf = lua_istable(L, i) ? lua_objlen(L, i) : 0;
	if (s->nbtf)
		btf = lua_newuserdata(L, s->nbtf * sizeof(*btf));
	for (size_t k = 0; k < s->nbtf; k++) {
		lua_rawgeti(L, i, (int)k + 1);
		luaL_checktype(L, -1, LUA_TTABLE);
		lua_getfield(L, -1, "expr");
		btf[k].expr = lua_tostring(L, -1);
		lua_getfield(L, -2, "name");
		btf[k].name = lua_tostring(L, -1);
		lua_pop(L, 3);
	}
	s->btf = btf;
}

/*
 * Make the probe @s declares, its handler the function at @fn_index (or
 * nil). Pushes the probe, or nil, msg, errname.
 */
static int kp_declare(lua_State *L, const struct kp_probe_spec *s, int fn_index)
{
	struct kp_host *h = kp_host_of(L);
	struct kp_probe *p;
	char msg[12288];
	int err;

	if (!lua_isnil(L, fn_index))
		luaL_checktype(L, fn_index, LUA_TFUNCTION);
	p = kp_probe_new(L, h, s->kind);
	err = kp_probe_create(h, p, s, msg, sizeof(msg));
	if (!err && !p->dry && (err = kp_probe_setup_lua(L, p, fn_index)))
		snprintf(msg, sizeof(msg), "%s: %s", p->name, kp_strerror(err));
	if (err) {
		kp_lua_probe_release(L, p);
		return kp_lua_fail(L, err, "%s", msg);
	}
	if (!p->dry)
		kp_probe_anchor(L);
	return 1;
}

/*
 * core.tracepoint(sys, event, args, opts, fn, btf) -> probe | nil, msg, errname
 * @args: "name=FETCHARG ..." or "" (opts.backend picks how they are read);
 * @btf: arguments by name from the tracepoint's prototype, as for kprobes
 */
static int kp_core_tracepoint(lua_State *L)
{
	struct kp_probe_spec s = { .kind = KP_TRACEPOINT, .args = "" };

	s.sys = luaL_checkstring(L, 1);
	s.event = luaL_checkstring(L, 2);
	s.args = luaL_optstring(L, 3, "");
	kp_read_opts(L, 4, &s.opts);
	if (lua_istable(L, 4)) {
		lua_getfield(L, 4, "backend");
		s.backend = lua_tostring(L, -1); /* the string stays in the table */
		lua_pop(L, 1);
	}
	kp_read_btf(L, 6, &s);
	return kp_declare(L, &s, 5);
}

/*
 * core.uprobe(path, symbol|nil, offset, ret, args, opts, fn)
 *   -> probe | nil, msg, errname
 * @offset is the +OFF added to @symbol, or the file offset when @symbol is nil.
 */
static int kp_core_uprobe(lua_State *L)
{
	struct kp_probe_spec s = { 0 };

	s.path = luaL_checkstring(L, 1);
	s.sym = luaL_optstring(L, 2, NULL);
	s.off = (uint64_t)luaL_checknumber(L, 3);
	s.kind = lua_toboolean(L, 4) ? KP_URETPROBE : KP_UPROBE;
	s.args = luaL_optstring(L, 5, "");
	kp_read_opts(L, 6, &s.opts);
	return kp_declare(L, &s, 7);
}

/*
 * core.kprobe({ target, ... }, ret, args, opts, fn, maxactive, btf)
 *   -> probe | nil, msg, errname
 * Each target is SYMBOL, SYMBOL+OFF or MODULE:SYMBOL; the first one the
 * kernel has (and accepts) is used, and ev.probe names it. @btf lists the
 * arguments by name, { { name = N|nil, expr = "new->uid" }, ... }.
 */
static int kp_core_kprobe(lua_State *L)
{
	struct kp_probe_spec s = { 0 };
	const char **targets;

	luaL_checktype(L, 1, LUA_TTABLE);
	s.kind = lua_toboolean(L, 2) ? KP_KRETPROBE : KP_KPROBE;
	s.args = luaL_optstring(L, 3, "");
	kp_read_opts(L, 4, &s.opts);
	s.maxactive = (int)luaL_optnumber(L, 6, 0);
	s.ntargets = (int)lua_objlen(L, 1);
	if (s.ntargets < 1)
		return luaL_argerror(L, 1, "no kernel function given");
	/* scratch arrays as userdata, collected with the call's stack; the
	 * strings stay in the argument tables */
	targets = lua_newuserdata(L, (size_t)s.ntargets * sizeof(*targets));
	for (int i = 0; i < s.ntargets; i++) {
		lua_rawgeti(L, 1, i + 1);
		targets[i] = lua_tostring(L, -1);
		lua_pop(L, 1);
		if (!targets[i])
			return luaL_argerror(L, 1, "kernel function names must be strings");
	}
	s.targets = targets;
	kp_read_btf(L, 7, &s);
	return kp_declare(L, &s, 5);
}

/* core.set_handler(probe, fn | nil): replace a probe's handler */
static int kp_core_set_handler(lua_State *L)
{
	struct kp_probe *p = kp_check_probe(L, 1);

	if (!lua_isnil(L, 2))
		luaL_checktype(L, 2, LUA_TFUNCTION);
	if (p->dry)
		return 0;
	luaL_unref(L, LUA_REGISTRYINDEX, p->fn_ref);
	p->fn_ref = LUA_NOREF;
	if (!lua_isnil(L, 2)) {
		lua_pushvalue(L, 2);
		p->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	return 0;
}

/* @p's counters as a table: events, lost, filtered, bad_fields, discarded
 * [, faults][, ring_full, hits] */
static void kp_push_counts(lua_State *L, const struct kp_probe *p)
{
	lua_createtable(L, 0, 8);
	lua_pushnumber(L, (lua_Number)p->delivered);
	lua_setfield(L, -2, "events");
	lua_pushnumber(L, (lua_Number)kp_probe_lost(p));
	lua_setfield(L, -2, "lost");
	lua_pushnumber(L, (lua_Number)p->filtered);
	lua_setfield(L, -2, "filtered");
	lua_pushnumber(L, (lua_Number)p->bad_fields);
	lua_setfield(L, -2, "bad_fields");
	lua_pushnumber(L, (lua_Number)p->discarded);
	lua_setfield(L, -2, "discarded");
	if (p->by_bpf || p->by_ftrace) {
		/* a program's own count, read when the run ends; an event
		 * probe's, counted as its records are read */
		lua_pushnumber(L, (lua_Number)p->faults);
		lua_setfield(L, -2, "faults");
	}
	if (p->final) {
		lua_pushnumber(L, (lua_Number)p->ring_full);
		lua_setfield(L, -2, "ring_full");
		lua_pushnumber(L, (lua_Number)p->hits);
		lua_setfield(L, -2, "hits");
	}
}

/*
 * core.stats() -> { [name] = counters }, in declaration order; a second
 * probe of the same name is "NAME#2", a third "NAME#3" (p:counters() gives
 * each its own).
 */
static int kp_core_stats(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	size_t n = 0, k = 0;
	struct kp_probe **all;

	for (struct kp_probe *p = h->probes; p; p = p->next)
		n++;
	all = lua_newuserdata(L, (n ? n : 1) * sizeof(*all));
	for (struct kp_probe *p = h->probes; p; p = p->next)
		all[k++] = p;
	lua_newtable(L);
	/* the list is newest first */
	while (k--) {
		const struct kp_probe *p = all[k];
		char key[4700];

		if (!p->attached || p->internal)
			continue;
		snprintf(key, sizeof(key), "%s", p->name);
		lua_getfield(L, -1, key);
		for (int i = 2; !lua_isnil(L, -1); i++) {
			lua_pop(L, 1);
			snprintf(key, sizeof(key), "%s#%d", p->name, i);
			lua_getfield(L, -1, key);
		}
		lua_pop(L, 1);
		kp_push_counts(L, p);
		lua_setfield(L, -2, key);
	}
	return 1;
}

/* p:counters(): this probe's, as kp.counters() has them */
static int kp_probe_methods_counters(lua_State *L)
{
	/* after the run too, when the probe is closed */
	struct kp_probe *p = luaL_checkudata(L, 1, KP_PROBE_MT);

	kp_push_counts(L, p);
	return 1;
}

static int kp_probe_methods_close(lua_State *L)
{
	return kp_probe_close(L);
}

const luaL_Reg kp_lua_probe_fns[] = {
	{ "tracepoint", kp_core_tracepoint }, { "uprobe", kp_core_uprobe },
	{ "kprobe", kp_core_kprobe },	      { "set_handler", kp_core_set_handler },
	{ "stats", kp_core_stats },	      { NULL, NULL },
};

void kp_lua_probe_open(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__gc", kp_probe_gc },
		{ "__tostring", kp_probe_tostring },
		{ "__index", kp_probe_index },
		{ NULL, NULL },
	};
	static const luaL_Reg methods[] = {
		{ "close", kp_probe_methods_close },
		{ "counters", kp_probe_methods_counters },
		{ NULL, NULL },
	};

	luaL_newmetatable(L, KP_PROBE_MT);
	luaL_register(L, NULL, meta);
	lua_newtable(L);
	luaL_register(L, NULL, methods);
	lua_setfield(L, -2, "__methods");
	lua_pop(L, 1);
	/* probes the script dropped, anchored until kp_host_shutdown() */
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, "kp.probes");
}
