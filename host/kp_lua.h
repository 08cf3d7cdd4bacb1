/* SPDX-License-Identifier: MIT */
#ifndef KP_LUA_H
#define KP_LUA_H

#include <stdbool.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

/*
 * What every binding file shares (host/kp_lua_aux.c): the one way to call
 * Lua from C, to report an environment failure, to read an error a script
 * raised, and to pass 64-bit integers across.
 */

/*
 * kp_lua_traceback() - the message handler every C-to-Lua call runs under:
 * the error's text with a traceback. Tables (kpscript's own formatted
 * errors) pass through untouched.
 */
int kp_lua_traceback(lua_State *L);

/*
 * kp_pcall() - call the function below @nargs arguments on @L's stack with
 * kp_lua_traceback() as handler.
 * Return: lua_pcall's status; on error the message (with traceback) is on
 * the stack.
 */
int kp_pcall(lua_State *L, int nargs, int nresults);

/*
 * kp_lua_error_decode() - what the error value on top of @L's stack means.
 * os.exit(N) in a script raises { kp_exit = true, code = N } (lua/kp.lua):
 * true, with *@code = N, and the stack as it was. Anything else: false, and
 * the value is replaced by its text (a kpscript error table's msg, or the
 * string), or by nil when it has none. Stack effect: 0.
 */
bool kp_lua_error_decode(lua_State *L, int *code);

/*
 * kp_lua_fail() - an environment failure, as bindings return it: pushes
 * nil, the formatted message, and the error's name (strerror, or
 * kp_strerror for kpscript's own codes). Return: 3, the values pushed.
 */
int kp_lua_fail(lua_State *L, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * 64-bit integers: a number while a double holds it exactly (|v| < 2^53),
 * else a LuaJIT int64_t/uint64_t cdata, made by the constructor lua/kp.lua
 * registers with kp_lua_set_mk64() (the C API cannot make a cdata).
 */
/* Take the function at @i as the constructor fn(hi, lo, signed). */
void kp_lua_set_mk64(lua_State *L, int i);
/* Push @v (read as int64_t when @is_signed). Stack effect: +1. */
void kp_lua_push_int64_boxed(lua_State *L, uint64_t v, bool is_signed);
static inline void kp_lua_push_int64(lua_State *L, uint64_t v, bool is_signed)
{
	if (is_signed ? ((int64_t)v > -(1LL << 53) && (int64_t)v < 1LL << 53) : v < 1ULL << 53)
		lua_pushnumber(L, is_signed ? (lua_Number)(int64_t)v : (lua_Number)v);
	else
		kp_lua_push_int64_boxed(L, v, is_signed); /* past 2^53: a cdata */
}
/* The value of a 64-bit integer cdata at @i ("5LL", "7ULL"): 1 with *@v,
 * or 0 for anything else. */
int kp_lua_cdata_int(lua_State *L, int i, uint64_t *v, int *is_unsigned);

/* ---- the host's Lua-facing files (kp_lua_*.c, kp_guard.c, kp_run.c) ---- */

struct kp_host;
struct kp_probe;
struct kp_sample;

#define KP_PROBE_MT "kp.Probe"

/* The host of a kp.core function (its upvalue 1). */
static inline struct kp_host *kp_host_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

/* kp.core functions of the other files, each taking the host as upvalue 1 */
extern const luaL_Reg kp_lua_util_fns[], kp_lua_proc_fns[], kp_lua_probe_fns[], kp_lua_event_fns[],
    kp_run_fns[], kp_lua_stack_fns[];

/* ---- kp_lua_probe.c ---- */

/* Register the kp.Probe metatable and the registry's anchor table. */
void kp_lua_probe_open(lua_State *L);
/* kp_probe_release(), and @p's handler and event table let go. */
void kp_lua_probe_release(lua_State *L, struct kp_probe *p);

/* ---- kp_lua_proc.c ---- */

/* Register the kp.Proc metatable, for the process table of @h. */
void kp_lua_proc_open(lua_State *L, struct kp_host *h);
/* Push what the process table knows of @pid (with @parent, of its
 * parent) as a kp.Proc table, or nil. Return: 1. */
int kp_lua_proc_push(lua_State *L, struct kp_host *h, int32_t pid, bool parent);

/* ---- kp_lua_event.c ---- */

/* Register the kp.Event metatable, for the events of @h. */
void kp_lua_event_open(lua_State *L, struct kp_host *h);
/* @p's event table and field keys, and its handler (the function at
 * @fn_index, if any), once its format is known. 0 or -errno. */
int kp_probe_setup_lua(lua_State *L, struct kp_probe *p, int fn_index);
void kp_lua_event_push(lua_State *L, struct kp_probe *p, const struct kp_sample *s,
		       const char *comm);

/*
 * kp_guard_call() - call a script's function from the run: the function
 * and @nargs arguments on top of @L's stack, kp_lua_traceback() at stack
 * index 1 (kp.run's). Pops them. On an error the run stops: os.exit(N)
 * becomes the run's exit status, anything else its error.
 * Return: lua_pcall's status.
 */
int kp_guard_call(struct kp_host *h, lua_State *L, int nargs);

#endif
