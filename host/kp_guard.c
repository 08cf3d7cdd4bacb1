// SPDX-License-Identifier: MIT
/*
 * The callback guard and the one way the run calls a script's function
 * (see kp_host_int.h): a 100 ms timer notices a callback that runs past
 * --callback-limit, or SIGINT/SIGTERM waiting while Lua code runs, and
 * stops that code at its next interpreted instruction.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_host_int.h"
#include "kp_lua.h"

/* The host the guard's timer looks at (one host per process). */
static struct kp_host *kp_guard_host;
/* the guard's timer period */
#define KP_GUARD_TICK_MS 100
enum { KP_GUARD_NONE, KP_GUARD_LIMIT, KP_GUARD_SIGINT, KP_GUARD_SIGTERM };
static volatile sig_atomic_t kp_guard_why;
static volatile unsigned long kp_guard_seq; /* the callback the guard stops */

/* "script.lua:12: ", the script line running where the hook fired: the
 * first Lua frame outside kpscript's own library, else the first */
static void kp_guard_where(lua_State *L)
{
	lua_Debug d;
	int first = -1;

	for (int level = 0; lua_getstack(L, level, &d); level++) {
		if (!lua_getinfo(L, "Sl", &d) || d.currentline <= 0)
			continue;
		if (first < 0)
			first = level;
		if (strncmp(d.short_src, "lua/kp", 6)) {
			lua_pushfstring(L, "%s:%d: ", d.short_src, d.currentline);
			return;
		}
	}
	if (first >= 0 && lua_getstack(L, first, &d) && lua_getinfo(L, "Sl", &d)) {
		lua_pushfstring(L, "%s:%d: ", d.short_src, d.currentline);
		return;
	}
	lua_pushliteral(L, "");
}

/*
 * The callback guard's second half: a count hook set by kp_guard_tick() that
 * fires at the next Lua instruction the interpreter runs, removes itself and
 * raises the error there (LuaJIT's compiled code calls no hook, which is why
 * main.c keeps the script's functions out of the JIT).
 */
static void kp_guard_hook(lua_State *L, lua_Debug *ar)
{
	struct kp_host *h = kp_guard_host;
	int why = kp_guard_why;

	(void)ar;
	lua_sethook(L, NULL, 0, 0);
	kp_guard_why = KP_GUARD_NONE;
	if (!h || why == KP_GUARD_NONE)
		return;
	if (why == KP_GUARD_LIMIT) {
		/* that callback returned meanwhile: this is another one */
		if (h->phase != KP_PHASE_CB || h->cb_seq != kp_guard_seq)
			return;
		kp_guard_where(L);
		lua_pushfstring(L,
				"a callback ran for more than %d ms (an endless loop?) and was "
				"stopped; --callback-limit MS changes the limit, 0 turns the guard "
				"off",
				h->opts.callback_limit_ms);
	} else {
		kp_guard_where(L);
		lua_pushfstring(L, "interrupted by %s while Lua code ran",
				why == KP_GUARD_SIGINT ? "SIGINT" : "SIGTERM");
	}
	lua_concat(L, 2);
	lua_error(L);
}

/*
 * The guard's timer (SIGALRM every KP_GUARD_TICK_MS): nothing on the event
 * path but a counter. When one callback is still the running one after
 * --callback-limit, or SIGINT/SIGTERM has waited two ticks while Lua code
 * (not the event loop, which reads them from its signalfd) ran, it sets
 * kp_guard_hook() to end that code. lua_sethook() is safe in a signal
 * handler: LuaJIT and lua.c stop scripts on Ctrl-C that way.
 */
static void kp_guard_tick(int sig)
{
	static unsigned long seen;
	static int ticks, pending;
	struct kp_host *h = kp_guard_host;
	int saved = errno, why = KP_GUARD_NONE;
	sigset_t set;

	(void)sig;
	if (!h || !h->L) {
		errno = saved;
		return;
	}
	if (h->phase == KP_PHASE_CB && h->cb_seq == seen) {
		ticks++;
	} else {
		seen = h->cb_seq;
		ticks = 0;
	}
	if (!sigpending(&set) && (sigismember(&set, SIGINT) || sigismember(&set, SIGTERM)))
		pending++;
	else
		pending = 0;
	if (h->phase == KP_PHASE_CB && (ticks + 1) * KP_GUARD_TICK_MS > h->opts.callback_limit_ms)
		why = KP_GUARD_LIMIT;
	else if (pending >= 2 && h->phase != KP_PHASE_LOOP)
		why = sigismember(&set, SIGINT) ? KP_GUARD_SIGINT : KP_GUARD_SIGTERM;
	if (why != KP_GUARD_NONE && kp_guard_why == KP_GUARD_NONE) {
		kp_guard_why = why;
		kp_guard_seq = seen;
		lua_sethook(h->L, kp_guard_hook, LUA_MASKCOUNT, 1);
	}
	errno = saved;
}

void kp_guard_start(struct kp_host *h)
{
	struct sigaction sa = { .sa_handler = kp_guard_tick, .sa_flags = SA_RESTART };
	struct itimerval it = {
		.it_interval = { .tv_usec = KP_GUARD_TICK_MS * 1000 },
		.it_value = { .tv_usec = KP_GUARD_TICK_MS * 1000 },
	};

	kp_guard_host = h;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
		fprintf(stderr, "kpscript: the callback guard cannot start: %s\n", strerror(errno));
}

void kp_guard_stop(struct kp_host *h)
{
	struct itimerval off = { 0 };

	if (kp_guard_host != h)
		return;
	setitimer(ITIMER_REAL, &off, NULL);
	/* a tick already sent may still arrive: ignore it, not die of it */
	signal(SIGALRM, SIG_IGN);
	kp_guard_host = NULL;
}

/* Around every call of a script function from the event loop. */
static void kp_cb_enter(struct kp_host *h)
{
	h->cb_seq++;
	h->phase = KP_PHASE_CB;
}

static void kp_cb_leave(struct kp_host *h)
{
	h->phase = KP_PHASE_LOOP;
	h->cb_seq++;
}

/*
 * A handler raised the error at the top of @L's stack: stop the run. os.exit()
 * in a script raises { kp_exit = true, code = N } (lua/kp.lua), which ends
 * the run with that status instead of failing it.
 */
static void kp_handler_failed(struct kp_host *h, lua_State *L)
{
	h->stop_now = true;
	if (kp_lua_error_decode(L, &h->exit_code)) {
		h->exit_req = true;
		return;
	}
	free(h->error);
	h->error = strdup(lua_tostring(L, -1) ? lua_tostring(L, -1) : "error in a handler");
	h->failed = true;
}

int kp_guard_call(struct kp_host *h, lua_State *L, int nargs)
{
	int status;

	kp_cb_enter(h);
	status = lua_pcall(L, nargs, 0, 1); /* the traceback handler sits at index 1 */
	kp_cb_leave(h);
	if (status) {
		kp_handler_failed(h, L);
		lua_pop(L, 1);
	}
	return status;
}
