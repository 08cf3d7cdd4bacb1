/* SPDX-License-Identifier: MIT */
#ifndef KP_LUA_H
#define KP_LUA_H

#include <stdbool.h>
#include <stdint.h>

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
void kp_lua_push_int64(lua_State *L, uint64_t v, bool is_signed);
/* The value of a 64-bit integer cdata at @i ("5LL", "7ULL"): 1 with *@v,
 * or 0 for anything else. */
int kp_lua_cdata_int(lua_State *L, int i, uint64_t *v, int *is_unsigned);

#endif
