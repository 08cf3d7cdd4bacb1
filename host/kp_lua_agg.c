// SPDX-License-Identifier: MIT
/*
 * Aggregates for Lua: the userdata "kp.Agg" over a kp_agg. Keys are any Lua
 * scalar, a kp.Stack, or a table (a tuple) of those, serialized to bytes so
 * the C table can hash them; equal values give equal bytes (5, 5.0 and 5LL
 * are one key), and the bytes decode back to the key for iteration and
 * printing.
 *
 * Key bytes: nil 'n'; boolean 'b' + 0/1; an integer below 2^63 in
 * magnitude 'i' + 8 bytes big-endian with the sign bit flipped (so bytes
 * order as numbers); an unsigned 64-bit integer at or above 2^63 'u' + 8
 * bytes; any other number 'd' + its 8 bytes; a string 's' + 4-byte length
 * + bytes; a stack 'k' + pid, frame counts and addresses; a tuple 't' +
 * 4-byte count + its elements. nil alone is the empty key of an aggregate
 * used without keys.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_agg.h"
#include "kp_lua_agg.h"
#include "kp_lua.h"
#include "kp_lua_stack.h"

#define KP_AGG_MT "kp.Agg"

struct kp_lua_agg {
	struct kp_agg *a; /* NULL once collected */
	struct kp_aggkey key; /* the key being encoded */
};

static const char *const kind_names[] = { "count", "sum", "stats", "hist", "lhist" };

static struct kp_lua_agg *check_agg(lua_State *L, int i)
{
	struct kp_lua_agg *g = luaL_checkudata(L, i, KP_AGG_MT);

	if (!g->a)
		luaL_error(L, "aggregate is freed");
	return g;
}

static void push_key(lua_State *L, const struct kp_agg_entry *e)
{
	const unsigned char *p = e->key;

	if (!e->keylen) {
		lua_pushnil(L);
		return;
	}
	kp_lua_aggkey_push(L, p, e->keylen);
}

/* ---- values ------------------------------------------------------------ */

static int64_t check_int(lua_State *L, int i, const char *what)
{
	if (lua_type(L, i) == LUA_TNUMBER) {
		double d = lua_tonumber(L, i);

		if (d != d)
			luaL_error(L, "%s: NaN is not a value", what);
		if (d >= 9223372036854775807.0)
			return INT64_MAX;
		if (d <= -9223372036854775808.0)
			return INT64_MIN;
		return (int64_t)d;
	}
	if (lua_type(L, i) == 10) {
		uint64_t v;
		int is_unsigned;

		if (kp_lua_cdata_int(L, i, &v, &is_unsigned)) {
			if (is_unsigned && v > INT64_MAX)
				return INT64_MAX;
			return (int64_t)v;
		}
	}
	luaL_error(L, "%s: the value must be a number, got %s", what, luaL_typename(L, i));
	return 0;
}

static void push_bucket(lua_State *L, int has_min, int64_t min, int has_max, int64_t max,
			uint64_t count)
{
	lua_createtable(L, 0, 3);
	if (has_min) {
		kp_lua_push_int64(L, (uint64_t)min, true);
		lua_setfield(L, -2, "min");
	}
	if (has_max) {
		kp_lua_push_int64(L, (uint64_t)max, true);
		lua_setfield(L, -2, "max");
	}
	kp_lua_push_int64(L, count, false);
	lua_setfield(L, -2, "count");
}

/*
 * The Lua view of one value: a number for COUNT and SUM; { count, sum, min,
 * max, avg } for STATS; for HIST and LHIST { count = samples, [i] = { min,
 * max, count } } over the non-empty buckets, bounds inclusive, an open end
 * left out.
 */
static void push_value(lua_State *L, const struct kp_agg *a, const struct kp_agg_value *v)
{
	const struct kp_agg_hist_spec *sp = kp_agg_spec(a);
	int n = 0;

	switch (kp_agg_kind(a)) {
	case KP_AGG_COUNT:
		kp_lua_push_int64(L, v->count, false);
		return;
	case KP_AGG_SUM:
		kp_lua_push_int64(L, (uint64_t)v->sum, true);
		return;
	case KP_AGG_STATS:
		lua_createtable(L, 0, 5);
		kp_lua_push_int64(L, v->count, false);
		lua_setfield(L, -2, "count");
		kp_lua_push_int64(L, (uint64_t)v->sum, true);
		lua_setfield(L, -2, "sum");
		kp_lua_push_int64(L, (uint64_t)v->min, true);
		lua_setfield(L, -2, "min");
		kp_lua_push_int64(L, (uint64_t)v->max, true);
		lua_setfield(L, -2, "max");
		kp_lua_push_int64(L, (uint64_t)kp_agg_avg(v), true);
		lua_setfield(L, -2, "avg");
		return;
	case KP_AGG_HIST:
		lua_createtable(L, 8, 1);
		for (uint32_t i = 0; i < v->nbuckets; i++) {
			if (!v->buckets[i])
				continue;
			if (i == 0)
				push_bucket(L, 0, 0, 1, -1, v->buckets[i]);
			else if (i == 1)
				push_bucket(L, 1, 0, 1, 0, v->buckets[i]);
			else if (i == v->nbuckets - 1)
				push_bucket(L, 1, INT64_C(1) << 62, 1, INT64_MAX, v->buckets[i]);
			else
				push_bucket(L, 1, INT64_C(1) << (i - 2), 1,
					    (INT64_C(1) << (i - 1)) - 1, v->buckets[i]);
			lua_rawseti(L, -2, ++n);
		}
		break;
	case KP_AGG_LHIST:
		lua_createtable(L, 8, 1);
		for (uint32_t i = 0; i < v->nbuckets; i++) {
			int64_t lo = sp->min + (int64_t)(i - 1) * sp->step;

			if (!v->buckets[i])
				continue;
			if (i == 0)
				push_bucket(L, 0, 0, 1, sp->min - 1, v->buckets[i]);
			else if (i == v->nbuckets - 1)
				push_bucket(L, 1, sp->max, 0, 0, v->buckets[i]);
			else
				push_bucket(L, 1, lo, 1, lo + sp->step - 1, v->buckets[i]);
			lua_rawseti(L, -2, ++n);
		}
		break;
	}
	kp_lua_push_int64(L, v->count, false);
	lua_setfield(L, -2, "count");
}

/* ---- methods ------------------------------------------------------------ */

/*
 * a:add([key]) for count; a:add([key,] value) for the others: one lookup,
 * the fast way to update. Returns false when a new key was dropped at the
 * cap. Stack effect: +1.
 */
static int agg_add(lua_State *L)
{
	struct kp_lua_agg *g = check_agg(L, 1);
	enum kp_agg_kind kind = kp_agg_kind(g->a);
	int nargs = lua_gettop(L) - 1;
	int64_t v = 0;

	if (kind == KP_AGG_COUNT) {
		if (nargs > 1)
			return luaL_error(L, "count:add(key): one argument, got %d", nargs);
		kp_lua_aggkey_encode(L, &g->key, 2);
	} else {
		if (nargs < 1 || nargs > 2)
			return luaL_error(L, "%s:add([key,] value): got %d arguments",
					  kind_names[kind], nargs);
		if (nargs == 2)
			kp_lua_aggkey_encode(L, &g->key, 2);
		else
			g->key.len = 0;
		v = check_int(L, nargs == 2 ? 3 : 2, "add");
	}
	/* kp_agg_add fails only for a new key it dropped (and counted) */
	lua_pushboolean(L, kp_agg_add(g->a, g->key.buf, g->key.len, v) == 0);
	return 1;
}

static int agg_get_at(lua_State *L, struct kp_lua_agg *g, int i)
{
	const struct kp_agg_value *v;

	kp_lua_aggkey_encode(L, &g->key, i);
	if (kp_agg_get(g->a, g->key.buf, g->key.len, &v)) {
		enum kp_agg_kind kind = kp_agg_kind(g->a);

		if (kind == KP_AGG_COUNT || kind == KP_AGG_SUM)
			lua_pushnumber(L, 0);
		else
			lua_pushnil(L);
		return 1;
	}
	push_value(L, g->a, v);
	return 1;
}

/* a:get(key): the value; 0 for a missing count or sum key, else nil. */
static int agg_get(lua_State *L)
{
	struct kp_lua_agg *g = check_agg(L, 1);

	return agg_get_at(L, g, 2);
}

static int agg_clear(lua_State *L)
{
	kp_agg_clear(check_agg(L, 1)->a);
	return 0;
}

static int agg_dropped(lua_State *L)
{
	kp_lua_push_int64(L, kp_agg_dropped(check_agg(L, 1)->a), false);
	return 1;
}

static int agg_len(lua_State *L)
{
	lua_pushnumber(L, (lua_Number)kp_agg_len(check_agg(L, 1)->a));
	return 1;
}

/* The iterator of a:sorted() and a:top(): upvalues are the keys, the
 * values and the next index. */
static int agg_iter(lua_State *L)
{
	int i = (int)lua_tointeger(L, lua_upvalueindex(3)) + 1;

	lua_rawgeti(L, lua_upvalueindex(1), i);
	if (lua_isnil(L, -1) && (int)lua_objlen(L, lua_upvalueindex(1)) < i)
		return 0;
	lua_pushinteger(L, i);
	lua_replace(L, lua_upvalueindex(3));
	lua_rawgeti(L, lua_upvalueindex(2), i);
	return 2;
}

/*
 * Push two arrays, keys and values, of the aggregate's entries sorted by
 * value ascending; @top > 0 keeps the @top largest; @desc reverses. A nil
 * key (the empty key) is stored as false in the key array so the array has
 * no holes; callers map it back. Returns the count.
 */
static int push_entries(lua_State *L, struct kp_lua_agg *g, size_t top, int desc)
{
	struct kp_agg_entry *e;
	size_t n, from = 0;
	int err = kp_agg_sorted(g->a, &e, &n);

	if (err)
		return luaL_error(L, "out of memory");
	if (top && top < n)
		from = n - top;
	lua_createtable(L, (int)(n - from), 0);
	lua_createtable(L, (int)(n - from), 0);
	for (size_t i = from; i < n; i++) {
		size_t j = desc ? n - 1 - (i - from) : i;
		int at = (int)(i - from + 1);

		push_key(L, &e[j]);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			lua_pushboolean(L, 0);
		}
		lua_rawseti(L, -3, at);
		push_value(L, g->a, e[j].value);
		lua_rawseti(L, -2, at);
	}
	free(e);
	return (int)(n - from);
}

static int iter_over(lua_State *L, struct kp_lua_agg *g, size_t top, int desc)
{
	push_entries(L, g, top, desc);
	lua_pushinteger(L, 0);
	lua_pushcclosure(L, agg_iter, 3);
	return 1;
}

/* for k, v in a:sorted() do: ascending by value (a snapshot) */
static int agg_sorted(lua_State *L)
{
	return iter_over(L, check_agg(L, 1), 0, 0);
}

/* for k, v in a:top(n) do: the n largest, largest first */
static int agg_top(lua_State *L)
{
	struct kp_lua_agg *g = check_agg(L, 1);
	lua_Number n = luaL_checknumber(L, 2);

	if (n < 1 || n != floor(n))
		return luaL_argerror(L, 2, "a positive whole number of entries");
	return iter_over(L, g, (size_t)n, 1);
}

static int agg_index(lua_State *L)
{
	struct kp_lua_agg *g = check_agg(L, 1);

	/* methods first: a key named like one is read with a:get(key) */
	if (lua_type(L, 2) == LUA_TSTRING) {
		lua_pushvalue(L, 2);
		lua_rawget(L, lua_upvalueindex(1));
		if (!lua_isnil(L, -1))
			return 1;
		lua_pop(L, 1);
	}
	return agg_get_at(L, g, 2);
}

/*
 * a[key] = v: count and sum take v as the new value (so a[k] = a[k] + 1
 * works) and nil removes the key; stats, hist and lhist record v as one
 * sample, as bpftrace's @x[k] = hist(v).
 */
static int agg_newindex(lua_State *L)
{
	struct kp_lua_agg *g = check_agg(L, 1);
	enum kp_agg_kind kind = kp_agg_kind(g->a);
	int err;

	kp_lua_aggkey_encode(L, &g->key, 2);
	if (lua_isnil(L, 3)) {
		kp_agg_del(g->a, g->key.buf, g->key.len);
		return 0;
	}
	if (kind == KP_AGG_COUNT || kind == KP_AGG_SUM) {
		int64_t v = check_int(L, 3, "assignment");

		if (kind == KP_AGG_COUNT && v < 0)
			return luaL_error(L, "count: a count cannot be negative (%" PRId64 ")", v);
		err = kp_agg_set(g->a, g->key.buf, g->key.len, v);
	} else {
		err = kp_agg_add(g->a, g->key.buf, g->key.len, check_int(L, 3, "assignment"));
	}
	(void)err; /* a dropped key is counted by the aggregate */
	return 0;
}

static int agg_gc(lua_State *L)
{
	struct kp_lua_agg *g = luaL_checkudata(L, 1, KP_AGG_MT);

	kp_agg_free(g->a);
	g->a = NULL;
	free(g->key.buf);
	g->key.buf = NULL;
	g->key.cap = g->key.len = 0;
	return 0;
}

static int agg_tostring(lua_State *L)
{
	struct kp_lua_agg *g = luaL_checkudata(L, 1, KP_AGG_MT);

	if (!g->a) {
		lua_pushstring(L, "kp.Agg (freed)");
		return 1;
	}
	lua_pushfstring(L, "kp.%s (%d keys)", kind_names[kp_agg_kind(g->a)], (int)kp_agg_len(g->a));
	return 1;
}

/* ---- kp.core functions ------------------------------------------------ */

/* core.agg_new(kind, cap [, min, max, step]) */
static int core_agg_new(lua_State *L)
{
	const char *kind = luaL_checkstring(L, 1);
	lua_Number cap = luaL_optnumber(L, 2, 0);
	struct kp_agg_hist_spec spec, *sp = NULL;
	struct kp_lua_agg *g;
	int k;

	for (k = 0; k < 5; k++)
		if (!strcmp(kind, kind_names[k]))
			break;
	if (k == 5)
		return luaL_argerror(L, 1, "not an aggregate kind");
	if (cap < 0 || cap != floor(cap) || cap > 1e9)
		return luaL_argerror(L, 2, "cap must be a whole number of keys");
	if (k == KP_AGG_LHIST) {
		spec.min = (int64_t)luaL_checknumber(L, 3);
		spec.max = (int64_t)luaL_checknumber(L, 4);
		spec.step = (int64_t)luaL_checknumber(L, 5);
		sp = &spec;
	}
	g = lua_newuserdata(L, sizeof(*g));
	memset(g, 0, sizeof(*g));
	luaL_getmetatable(L, KP_AGG_MT);
	lua_setmetatable(L, -2);
	g->a = kp_agg_new((enum kp_agg_kind)k, (size_t)cap, sp);
	if (!g->a) {
		if (errno == EINVAL)
			return luaL_error(
			    L,
			    "lhist: min %d, max %d, step %d: need min < max, step > 0 "
			    "dividing max - min, and at most %d buckets",
			    (int)spec.min, (int)spec.max, (int)spec.step, KP_AGG_LHIST_MAX_BUCKETS);
		return luaL_error(L, "out of memory");
	}
	return 1;
}

/* core.agg_info(a): kind, keys, dropped, cap-free spec (min, max, step) */
static int core_agg_info(lua_State *L)
{
	struct kp_lua_agg *g = check_agg(L, 1);
	const struct kp_agg_hist_spec *sp = kp_agg_spec(g->a);

	lua_pushstring(L, kind_names[kp_agg_kind(g->a)]);
	lua_pushnumber(L, (lua_Number)kp_agg_len(g->a));
	kp_lua_push_int64(L, kp_agg_dropped(g->a), false);
	if (!sp)
		return 3;
	lua_pushnumber(L, (lua_Number)sp->min);
	lua_pushnumber(L, (lua_Number)sp->max);
	lua_pushnumber(L, (lua_Number)sp->step);
	return 6;
}

/* core.agg_entries(a [, top]): keys, values arrays ascending (a nil key is
 * false), the @top largest when given */
static int core_agg_entries(lua_State *L)
{
	struct kp_lua_agg *g = check_agg(L, 1);
	lua_Number top = luaL_optnumber(L, 2, 0);

	push_entries(L, g, top > 0 ? (size_t)top : 0, 0);
	return 2;
}

/* core.agg_hist_text(a, key, width): the histogram body of @key as text */
static int core_agg_hist_text(lua_State *L)
{
	struct kp_lua_agg *g = check_agg(L, 1);
	int width = (int)luaL_optnumber(L, 3, 0);
	const struct kp_agg_value *v;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (lua_type(L, 2) == LUA_TBOOLEAN && !lua_toboolean(L, 2))
		g->key.len = 0;
	else
		kp_lua_aggkey_encode(L, &g->key, 2);
	if (kp_agg_get(g->a, g->key.buf, g->key.len, &v)) {
		lua_pushliteral(L, "");
		return 1;
	}
	f = open_memstream(&text, &len);
	if (!f)
		return luaL_error(L, "out of memory");
	err = kp_agg_print_hist(v, kp_agg_kind(g->a), kp_agg_spec(g->a), width, f);
	fclose(f);
	if (err) {
		free(text);
		return luaL_error(L, "histogram text: %s", strerror(-err));
	}
	lua_pushlstring(L, text, len);
	free(text);
	return 1;
}

/* core.term_width(): stdout's terminal width, or 0 when it is no terminal */
static int core_term_width(lua_State *L)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		lua_pushnumber(L, ws.ws_col);
	else
		lua_pushnumber(L, 0);
	return 1;
}

/* core.is_agg(v) */
static int core_is_agg(lua_State *L)
{
	int is = 0;

	if (lua_getmetatable(L, 1)) {
		luaL_getmetatable(L, KP_AGG_MT);
		is = lua_rawequal(L, -1, -2);
		lua_pop(L, 2);
	}
	lua_pushboolean(L, is);
	return 1;
}

void kp_lua_agg_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "add", agg_add },	  { "get", agg_get }, { "clear", agg_clear },
		{ "sorted", agg_sorted }, { "top", agg_top }, { "dropped", agg_dropped },
		{ NULL, NULL },
	};
	static const luaL_Reg core[] = {
		{ "agg_new", core_agg_new },
		{ "agg_info", core_agg_info },
		{ "agg_entries", core_agg_entries },
		{ "agg_hist_text", core_agg_hist_text },
		{ "term_width", core_term_width },
		{ "is_agg", core_is_agg },
		{ NULL, NULL },
	};

	lua_getglobal(L, "tostring");
	lua_setfield(L, LUA_REGISTRYINDEX, "kp.tostring");
	luaL_newmetatable(L, KP_AGG_MT);
	lua_newtable(L);
	luaL_register(L, NULL, methods);
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, "__methods");
	lua_pushcclosure(L, agg_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, agg_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushcfunction(L, agg_len);
	lua_setfield(L, -2, "__len");
	lua_pushcfunction(L, agg_gc);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, agg_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
	for (const luaL_Reg *r = core; r->name; r++) {
		lua_pushcfunction(L, r->func);
		lua_setfield(L, -2, r->name);
	}
}
