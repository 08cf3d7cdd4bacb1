// SPDX-License-Identifier: MIT
/*
 * kp.run(): one loop over the run's source of items, the kernel's rings or
 * a recording (kp_source.h), with timers (kp.every), signals, -c's
 * command, -d's deadline and --watch; and kp.stop().
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_comm.h"
#include "kp_bpf.h"
#include "kp_err.h"
#include "kp_host.h"
#include "kp_host_int.h"
#include "kp_probe.h"
#include "kp_ftrace.h"
#include "kp_lua.h"
#include "kp_perf.h"
#include "kp_proc.h"
#include "kp_source.h"
#include "kp_source_live.h"

static void kp_enable_all(struct kp_host *h, bool on)
{
	bool progs = false;

	if (h->sideband)
		kp_perf_enable(h->sideband, on);
	/* a program's outputs are on before it runs, and after: all programs
	 * are disarmed, then those in flight (non-sleepable, microseconds)
	 * are let finish, then the outputs go off; else a record made across
	 * the disable is counted and never read */
	for (struct kp_probe *p = h->probes; p; p = p->next) {
		if (p->perf && on)
			kp_perf_enable(p->perf, on);
		if (p->bpf)
			kp_bpf_enable(p->bpf, on);
		progs |= p->bpf != NULL;
	}
	if (!on && progs) {
		struct timespec ts = { 0, 1000000 };

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
	for (struct kp_probe *p = h->probes; p; p = p->next) {
		if (p->perf && !on)
			kp_perf_enable(p->perf, on);
		if (p->ftrace)
			kp_ftrace_enable(p->ftrace, on);
	}
}

static int kp_start_child(struct kp_host *h)
{
	sigset_t all;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* the exec's strings on the stack, not in our read-only data,
		 * whose pages a forked child has not mapped yet: a probe at the
		 * exec (exec_watch) can read them only where they are mapped */
		char sh[] = "/bin/sh", name[] = "sh", c[] = "-c";

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execl(sh, name, c, h->opts.command, (char *)NULL);
		fprintf(stderr, "kpscript: cannot run /bin/sh: %s\n", strerror(errno));
		_exit(127);
	}
	h->child = h->child_pid = pid;
	return 0;
}

/* Handle what the signalfd holds. Return true when the run must end. */
static bool kp_handle_signals(struct kp_host *h)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(h->opts.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		/* SIGHUP with --output: the log was rotated, reopen it */
		if (si.ssi_signo == SIGHUP && h->opts.output) {
			int err = kp_output_open(h->opts.output);

			if (err)
				fprintf(stderr, "kpscript: SIGHUP: cannot reopen %s: %s\n",
					h->opts.output, kp_strerror(err));
			continue;
		}
		if (si.ssi_signo == SIGCHLD) {
			int status;
			pid_t pid;

			while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
				if (pid == h->child) {
					h->child_status = status;
					h->child = 0;
					stop = true; /* -c CMD is done: drain what it caused */
				}
			}
			continue;
		}
		stop = true;
	}
	return stop;
}

int kp_output_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return -errno;
	fflush(stdout);
	if (dup2(fd, STDOUT_FILENO) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	/* one line at a time: a reader of the log never sees half a record */
	setvbuf(stdout, NULL, _IOLBF, 0);
	return 0;
}

/* The earliest time a timer is due, or UINT64_MAX. */
static uint64_t kp_timers_due(const struct kp_host *h)
{
	uint64_t due = UINT64_MAX;

	for (size_t i = 0; i < h->ntimers; i++)
		if (h->timers[i].fn_ref != LUA_NOREF && h->timers[i].next < due)
			due = h->timers[i].next;
	return due;
}

/* Run the timers due at @now (the source's clock) once each; periods they
 * missed are skipped. -1 when one failed (the run stops). */
static int kp_run_timers(lua_State *L, struct kp_host *h, uint64_t now)
{
	for (size_t i = 0; i < h->ntimers && !h->stop_now; i++) {
		struct kp_timer *t = &h->timers[i];

		if (t->fn_ref == LUA_NOREF || now < t->next)
			continue;
		while (t->next <= now)
			t->next += t->period;
		lua_rawgeti(L, LUA_REGISTRYINDEX, t->fn_ref);
		if (kp_guard_call(h, L, 0))
			return -1;
	}
	return 0;
}

static int kp_ms_until(uint64_t now, uint64_t when)
{
	uint64_t ms;

	if (when <= now)
		return 0;
	ms = (when - now + 999999) / 1000000;
	return ms > 60000 ? 60000 : (int)ms;
}

/*
 * Once the probes are disabled and the rings drained, every hit the kernel
 * counted (read(2) of a sampling tracepoint event) was either read from a
 * ring or not: lost = hits - samples read, exact. The kernel's own
 * PERF_FORMAT_LOST count (Linux 6.0+) says how many of those it dropped
 * because the ring was full; the rest are hits it counted without writing a
 * sample at all (seen for sched_wakeup under load, and for a few events of
 * a ring that is overflowing).
 */
static void kp_finish_counts(struct kp_host *h)
{
	for (struct kp_probe *p = h->probes; p; p = p->next) {
		uint64_t hits, full;

		/* an ftrace ring's: each CPU's stats count what it dropped */
		if (p->ftrace && !kp_ftrace_lost(p->ftrace, &full)) {
			p->hits = p->received + full;
			p->lost_final = p->ring_full = full;
			p->final = true;
			continue;
		}
		if (!p->perf || kp_perf_counts(p->perf, &hits, &full))
			continue;
		/* a program's records: it counts its own runs, and the records
		 * perf refused; what it could not read is not lost */
		if (p->bpf && kp_bpf_counts(p->bpf, &hits, &full, &p->faults))
			continue;
		p->hits = hits;
		p->lost_final = hits > p->received ? hits - p->received : 0;
		p->ring_full = full == UINT64_MAX ? p->lost_final : full;
		if (p->ring_full > p->lost_final)
			p->ring_full = p->lost_final;
		p->final = true;
	}
}

/* What core.run() returns: true [, nil, exit code] | false, message. */
static int kp_run_result(lua_State *L, struct kp_host *h)
{
	lua_settop(L, 0);
	if (h->failed) {
		lua_pushboolean(L, 0);
		lua_pushstring(L, h->error ? h->error : "stopped by an error");
		return 2;
	}
	lua_pushboolean(L, 1);
	if (h->exit_req) {
		lua_pushnil(L);
		lua_pushnumber(L, h->exit_code);
		return 3;
	}
	return 1;
}

/* A run starts: the traceback handler sits at stack index 1, where every
 * callback's lua_pcall() finds it. */
static void kp_run_begin(lua_State *L, struct kp_host *h)
{
	lua_settop(L, 0);
	lua_pushcfunction(L, kp_lua_traceback);
	h->running = true;
	h->stop_now = false;
}

/*
 * --watch: the script's directory changed. Editors save by writing the file
 * or by renaming a new one over it; either names the script. Reload it in
 * Lua (lua/kp_reload.lua), between deliveries, so carried-over probes' rings just
 * keep filling meanwhile.
 */
static void kp_watch_event(lua_State *L, struct kp_host *h)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const char *base = strrchr(h->opts.watch, '/');
	bool hit = false;
	ssize_t n;

	base = base ? base + 1 : h->opts.watch;
	while ((n = read(h->inotify, buf, sizeof(buf))) > 0) {
		for (char *q = buf; q < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)q;

			if (e->len && !strcmp(e->name, base))
				hit = true;
			q += sizeof(*e) + e->len;
		}
	}
	if (!hit)
		return;
	kp_host_push_entry(h, KP_ENTRY_RELOAD);
	lua_pushstring(L, h->opts.watch);
	for (int i = 0; i < h->opts.argc; i++)
		lua_pushstring(L, h->opts.argv[i]);
	h->reloading = true;
	if (lua_pcall(L, 1 + h->opts.argc, 2, 1)) {
		fprintf(stderr, "kpscript: reload of %s failed: %s\n", h->opts.watch,
			lua_tostring(L, -1));
		lua_pop(L, 1);
	} else {
		if (lua_toboolean(L, -2))
			fprintf(stderr, "kpscript: reloaded %s: %s\n", h->opts.watch,
				lua_tostring(L, -1));
		else
			fprintf(stderr,
				"kpscript: %s not reloaded, the running version goes on: %s\n",
				h->opts.watch, lua_tostring(L, -1));
		lua_pop(L, 2);
	}
	h->reloading = false;
}

/*
 * One pass: the source's items up to @horizon, in time order, to the
 * consumer, each timer due at T run before the first item after T (with
 * @timers), then the timers due by the horizon. A handler or timer that
 * stops the run ends the pass, unless @final: the last drain gives the
 * rest, which the consumer counts as discarded.
 * Return: 0 after the pass (*@held: newer items wait), 1 at the source's
 * end, -1 when the run stopped.
 */
static int kp_run_pass(lua_State *L, struct kp_host *h, uint64_t horizon, bool timers, bool final,
		       bool *held)
{
	struct kp_source *src = h->src;
	struct kp_item it;
	int r;

	*held = false;
	while ((r = src->ops->next(src, horizon, &it)) == KP_NEXT_ITEM) {
		if (timers && h->ntimers && it.time && kp_timers_due(h) <= it.time &&
		    kp_run_timers(L, h, it.time)) {
			src->ops->pass_end(src);
			return -1;
		}
		kp_deliver(h, &it);
		if (h->stop_now && !final) {
			src->ops->pass_end(src);
			return -1;
		}
	}
	if (r == KP_NEXT_END)
		return 1;
	*held = r == KP_NEXT_HELD;
	if (timers && horizon != UINT64_MAX && kp_run_timers(L, h, horizon))
		return -1;
	return h->stop_now ? -1 : 0;
}

/* --watch: inotify on the script's directory, read by the loop. */
static void kp_watch_start(struct kp_host *h)
{
	char dir[4096];
	const char *slash = strrchr(h->opts.watch, '/');

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - h->opts.watch) : 1,
		 slash ? h->opts.watch : ".");
	h->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (h->inotify < 0 ||
	    inotify_add_watch(h->inotify, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0 ||
	    kp_live_watch(h->src, h->inotify))
		fprintf(stderr, "kpscript: --watch %s: cannot watch it: %s\n", dir,
			strerror(errno));
}

/* A watched fd is ready: true when the run must end. */
static bool kp_run_fds(lua_State *L, struct kp_host *h)
{
	bool held;

	if (h->opts.sigfd >= 0 && kp_handle_signals(h))
		return true;
	if (h->pidfd >= 0 && poll(&(struct pollfd){ .fd = h->pidfd, .events = POLLIN }, 1, 0) > 0)
		return true;
	if (h->inotify >= 0 &&
	    poll(&(struct pollfd){ .fd = h->inotify, .events = POLLIN }, 1, 0) > 0) {
		/* deliver what came before the save with the old handlers */
		kp_run_pass(L, h, kp_source_horizon(h->src, h->src->ops->now(h->src)), false, false,
			    &held);
		h->phase = KP_PHASE_MAIN; /* the new version's main chunk runs */
		kp_watch_event(L, h);
		h->phase = KP_PHASE_LOOP;
	}
	return false;
}

/*
 * The run: one loop over the source, live or replayed. It waits for the
 * source, its watched fds (signals, -p's pidfd, --watch), the next timer or
 * the deadline; takes the items up to the source's horizon; and, live,
 * flushes the recording and expires exited tasks. When it ends the probes
 * stop producing and what they produced is delivered.
 */
static void kp_run_loop(lua_State *L, struct kp_host *h)
{
	struct kp_source *src = h->src;
	uint64_t start, deadline = 0, last_expire, now;
	bool held = false;
	int r = 0;

	kp_enable_all(h, true);
	start = last_expire = src->ops->now(src);
	if (h->opts.duration > 0)
		deadline = start + (uint64_t)(h->opts.duration * 1e9);
	for (size_t i = 0; i < h->ntimers; i++)
		h->timers[i].next = start + h->timers[i].period;
	h->inotify = -1;
	if (h->opts.watch && src->local)
		kp_watch_start(h);
	if (h->opts.command && src->local && kp_start_child(h)) {
		h->error = strdup("kpscript: -c: fork failed");
		h->failed = h->stop_now = true;
	}
	while (!h->stop_now) {
		uint64_t wake, due = kp_timers_due(h);

		now = src->ops->now(src);
		wake = now + (held ? src->lateness : KP_FLUSH_MS * 1000000ull);
		/* a timer runs once the horizon has passed it */
		if (due != UINT64_MAX && due + src->lateness < wake)
			wake = due + src->lateness;
		if (deadline && deadline < wake)
			wake = deadline;
		if (src->ops->wait(src, kp_ms_until(now, wake)) > 0 && kp_run_fds(L, h))
			break;
		now = src->ops->now(src);
		r = kp_run_pass(L, h, kp_source_horizon(src, now), true, false, &held);
		if (r)
			break;
		/* a handler asked the process table first: its exec probes
		 * from now on, made between passes, not inside a handler */
		if (h->exec_want && !h->exec)
			kp_exec_probes_start(h);
		if (deadline && now >= deadline)
			break;
		if (h->rec)
			kp_record_tap_flush(h, now);
		if (src->local && now - last_expire > KP_COMM_GRACE_NS) {
			if (h->comm)
				kp_comm_expire(h->comm, now - KP_COMM_GRACE_NS);
			if (h->procs)
				kp_proc_expire(h->procs, now, KP_PROC_GRACE_NS);
			last_expire = now;
		}
	}
	/* Once the probes can add no more, empty the rings: every other stop
	 * delivers what they hold; after kp.stop() or an error no handler runs
	 * and the rest is counted as discarded, so the loss stays exact. */
	kp_enable_all(h, false);
	src->ops->stop(src);
	kp_run_pass(L, h, UINT64_MAX, false, true, &held);
	if (r == 1 && src->ops->error && src->ops->error(src) && !h->stop_now && !h->failed) {
		h->error = strdup(src->ops->error(src));
		h->failed = true;
	}
	kp_finish_counts(h);
	if (h->child) {
		kill(h->child, SIGTERM);
		waitpid(h->child, &h->child_status, 0);
		h->child = 0;
	}
	if (h->inotify >= 0)
		close(h->inotify);
	h->inotify = -1;
}

/* core.run() -> true [, nil, exit code] | false, message */
static int kp_core_run(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	lua_State *saved = h->L;
	char why[600];

	if (h->running)
		return luaL_error(L, "kp.run() is already running");
	h->ran = true;
	if (h->opts.dry_run) {
		lua_pushboolean(L, 1);
		return 1;
	}
	if (!h->src && kp_host_source(h, why, sizeof(why))) {
		lua_pushboolean(L, 0);
		lua_pushstring(L, why);
		return 2;
	}
	if (!h->src) {
		/* nothing to run: no probe, timer or command */
		lua_pushboolean(L, 1);
		return 1;
	}
	kp_run_begin(L, h);
	h->L = L;
	h->phase = KP_PHASE_LOOP;
	kp_run_loop(L, h);
	h->running = false;
	h->phase = KP_PHASE_MAIN;
	h->L = saved;
	return kp_run_result(L, h);
}

/* core.timer_count() -> timers registered so far (kp.every) */
static int kp_core_timer_count(lua_State *L)
{
	lua_pushnumber(L, (lua_Number)kp_host_of(L)->ntimers);
	return 1;
}

/* core.timers_drop(from, to): cancel timers [from, to) (a reload) */
static int kp_core_timers_drop(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	size_t from = (size_t)luaL_checknumber(L, 1), to = (size_t)luaL_checknumber(L, 2);

	for (size_t i = from; i < to && i < h->ntimers; i++) {
		luaL_unref(L, LUA_REGISTRYINDEX, h->timers[i].fn_ref);
		h->timers[i].fn_ref = LUA_NOREF;
	}
	return 0;
}

/* core.stop(): end the run after the current callback. */
static int kp_core_stop(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);

	h->stop_now = true;
	return 0;
}

/* core.every(ms, fn) */
static int kp_core_every(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	lua_Number ms = luaL_checknumber(L, 1);
	struct kp_timer *t;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (!(ms >= 1))
		return luaL_argerror(L, 1, "interval must be at least 1 ms");
	t = realloc(h->timers, (h->ntimers + 1) * sizeof(*t));
	if (!t)
		return luaL_error(L, "out of memory");
	h->timers = t;
	t = &h->timers[h->ntimers++];
	t->period = (uint64_t)(ms * 1e6);
	/* by the run's clock: the recording's in a replay */
	t->next = (h->src ? h->src->ops->now(h->src) : kp_now_ns()) + t->period;
	lua_pushvalue(L, 2);
	t->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

const luaL_Reg kp_run_fns[] = {
	{ "run", kp_core_run },
	{ "stop", kp_core_stop },
	{ "every", kp_core_every },
	{ "timer_count", kp_core_timer_count },
	{ "timers_drop", kp_core_timers_drop },
	{ NULL, NULL },
};
