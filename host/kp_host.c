// SPDX-License-Identifier: MIT
/*
 * kp.core: the Lua face of the host. Probes are created when a script
 * declares them (so an error names the script line), enabled together by
 * kp.run(), and fed by one loop: epoll over the rings and a signalfd, an
 * ordered merge across CPUs, a bounds-checked decode into the probe's
 * reused event table, and one kp_pcall() per event.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "kp_comm.h"
#include "kp_elf.h"
#include "kp_err.h"
#include "kp_features.h"
#include "kp_decode.h"
#include "kp_format.h"
#include "kp_btf.h"
#include "kp_host.h"
#include "kp_ksyms.h"
#include "kp_lua_agg.h"
#include "kp_loop.h"
#include "kp_lua.h"
#include "kp_perf.h"
#include "kp_proc.h"
#include "kp_procfs.h"
#include "kp_record.h"
#include "kp_ring.h"
#include "kp_stack.h"
#include "kp_tracefs.h"
#include "kp_trust.h"

/* lua-cjson (Debian's liblua5.1-cjson, built for the Lua 5.1 API that LuaJIT
 * provides); its header pulls in PUC Lua's, so only the entry is declared */
int luaopen_cjson(lua_State *L);

#define KP_PROBE_MT "kp.Probe"

/* its address keys the list of script-added keys inside an event table */
static char kp_dirty_key;
#define KP_DEFAULT_PAGES 256 /* 1 MiB per CPU with 4 KiB pages */
#define KP_MAX_PAGES 65536
#define KP_FLUSH_MS 100 /* longest a slow probe's event waits */
#define KP_LATENESS_NS 5000000ull /* how late a record may reach its ring */
#define KP_COMM_GRACE_NS 2000000000ull
#define KP_PROC_CAP 32768 /* processes the table holds at most */
#define KP_PROC_GRACE_NS 10000000000ull /* how long an exited process is kept */
#define KP_EXACT (9007199254740992.0) /* 2^53: doubles hold integers below it */

enum kp_probe_kind { KP_TRACEPOINT, KP_UPROBE, KP_URETPROBE, KP_KPROBE, KP_KRETPROBE };

struct kp_probe {
	struct kp_host *host;
	enum kp_probe_kind kind;
	char *name; /* "tracepoint:sched:sched_switch", what ev.probe holds */
	char *event; /* our dynamic event's name in kp_dynevent_group(), or NULL */
	char *def; /* the dynamic_events command that created it */
	struct kp_format *fmt;
	struct kp_perf *perf;
	size_t nfields;
	size_t *fields; /* indexes of the decoded (non-common) fields */
	int fn_ref, ev_ref, keys_ref;
	int dirty_ref; /* keys a script added to the event table (see kp.lua) */
	uint64_t received; /* samples read from the rings, -p filtered included */
	uint64_t delivered;
	uint64_t filtered;
	uint64_t discarded; /* still in the rings when kp.stop() or an error ended the run */
	uint64_t lost_records; /* sum of PERF_RECORD_LOST */
	uint64_t lost_final; /* exact, from the kernel's count once stopped */
	uint64_t hits; /* the kernel's hit count once stopped */
	uint64_t ring_full; /* of the lost, those the kernel dropped for want of space */
	uint64_t bad_fields;
	unsigned int stack; /* KP_PERF_STACK_*: samples carry a callchain */
	long ra_field; /* format index of __kp_ra (the entry's return address), or -1 */
	long ip_field, fn_field; /* an entry kprobe's __probe_ip and __kp_fn, or -1 */
	long retip_field; /* a kretprobe's __probe_ret_ip, or -1 */
	bool closed, dry, final, attached;
	bool dirty; /* the script added keys to the event table */
	uint32_t rec_id; /* the probe's id in the --record file */
	struct kp_probe *next;
};

/* A /proc read the process table made while recording, replayed by file. */
struct kp_procread {
	int32_t pid;
	bool link; /* readlink, not read */
	uint64_t time; /* when the recorder read it */
	ssize_t rc; /* bytes, or -errno */
	char file[32]; /* "status", "exe"... */
	char *data;
};

/* The pseudo-probe whose samples hold the process table's /proc reads. */
#define KP_PROCREAD_ID 65535
#define KP_PROCREAD_NAME "kpscript:proc-read"
/* The hidden fetch argument kp.lua adds to entry uprobes with user stacks */
#define KP_RA_FIELD "__kp_ra"
/* An entry kprobe with kernel stacks also records its function's address
 * (an immediate, from kallsyms when the probe is made), so that the first
 * frame is evened out the same way live and in a replay elsewhere. */
#define KP_FN_FIELD "__kp_fn"

struct kp_modbtf {
	struct kp_modbtf *next;
	struct kp_btf *btf;
	char name[];
};

struct kp_timer {
	uint64_t next, period;
	int fn_ref;
};

struct kp_host {
	lua_State *L;
	struct kp_host_opts opts;
	struct kp_comm *comm;
	struct kp_loop *loop;
	struct kp_perf *sideband;
	struct kp_probe *probes;
	int nprobes, seq;
	struct kp_timer *timers;
	size_t ntimers;
	bool ran, running, stop_now, stop_drain, failed;
	bool reloading; /* --watch: a new version of the script is loading */
	int inotify; /* --watch: the script's directory */
	pid_t child; /* the -c command while it runs */
	pid_t child_pid; /* and after it exited, for kp.cpid() */
	int child_status;
	int pidfd;
	char *error; /* a callback's error, with traceback */
	uint64_t corrupt, sideband_lost; /* kept from the loop at shutdown */
	int exit_code; /* os.exit() from a handler */
	bool exit_req;
	struct kp_ksyms *ksyms; /* /proc/kallsyms, loaded for kprobes */
	bool ksyms_tried;
	struct kp_proc_table *procs; /* the process table, made on first use */
	struct kp_rec_writer *rec; /* --record: raw events to a file */
	struct kp_rec_reader *replay; /* --replay: the recording's probe index */
	struct kp_rec_item *rprobes; /* its probe records */
	size_t nrprobes;
	struct kp_probe **rmap; /* recorded probe id -> the script's probe */
	int64_t replay_rt_off; /* the recording's CLOCK_REALTIME - MONOTONIC */
	struct kp_procread *reads; /* --replay: the recorded /proc reads */
	uint64_t replay_now; /* --replay: time of the item being replayed */
	size_t nreads, capreads;
	uint32_t rec_next_id;
	uint64_t rec_flushed;
	struct kp_btf *btf; /* the kernel's BTF, loaded on first use */
	struct kp_modbtf *modbtf; /* modules' BTF, loaded on first use */
	bool btf_tried;
	const unsigned char *raw;
	uint32_t raw_size;
	/* the callback guard (kp_guard_tick): which Lua call runs now */
	volatile sig_atomic_t phase; /* KP_PHASE_* */
	volatile unsigned long cb_seq; /* +1 at every callback's start and end */
};

/* The host the guard's timer looks at (one host per process). */
static struct kp_host *kp_guard_host;
/* the guard's timer period */
#define KP_GUARD_TICK_MS 100
enum { KP_PHASE_MAIN, KP_PHASE_LOOP, KP_PHASE_CB };
enum { KP_GUARD_NONE, KP_GUARD_LIMIT, KP_GUARD_SIGINT, KP_GUARD_SIGTERM };
static volatile sig_atomic_t kp_guard_why;
static volatile unsigned long kp_guard_seq; /* the callback the guard stops */

static struct kp_host *kp_host_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

/* ---- errors ----------------------------------------------------------- */

#define kp_fail kp_lua_fail

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

static void kp_guard_start(struct kp_host *h)
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

static void kp_guard_stop(struct kp_host *h)
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

static const char *kp_perm_hint(int err)
{
	if (err == -EACCES || err == -EPERM)
		return " (kpscript needs root, or CAP_PERFMON with access to tracefs)";
	return "";
}

/* ---- probes ----------------------------------------------------------- */

static struct kp_probe *kp_check_probe(lua_State *L, int i)
{
	struct kp_probe *p = luaL_checkudata(L, i, KP_PROBE_MT);

	if (p->closed && !p->dry)
		luaL_argerror(L, i, "probe is closed");
	return p;
}

static void kp_probe_release(struct kp_probe *p)
{
	struct kp_host *h = p->host;
	lua_State *L = h->L;

	if (p->closed)
		return;
	p->closed = true;
	if (h->loop)
		kp_loop_remove(h->loop, p);
	if (p->perf) {
		kp_perf_enable(p->perf, false);
		kp_perf_close(p->perf);
		p->perf = NULL;
	}
	/* the event can only go once no perf fd holds it */
	if (p->event) {
		int err = kp_dynevent_remove(kp_dynevent_group(), p->event);

		if (err)
			fprintf(stderr, "kpscript: could not remove %s/%s: %s\n",
				kp_dynevent_group(), p->event, kp_strerror(err));
	}
	kp_format_free(p->fmt);
	p->fmt = NULL;
	free(p->fields);
	p->fields = NULL;
	luaL_unref(L, LUA_REGISTRYINDEX, p->fn_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, p->ev_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, p->keys_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, p->dirty_ref);
	p->fn_ref = p->ev_ref = p->keys_ref = p->dirty_ref = LUA_NOREF;
	if (!p->dry)
		h->nprobes--;
}

static void kp_probe_unlink(struct kp_probe *p)
{
	struct kp_probe **pp;

	for (pp = &p->host->probes; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
}

static int kp_probe_gc(lua_State *L)
{
	struct kp_probe *p = luaL_checkudata(L, 1, KP_PROBE_MT);

	if (!p->host)
		return 0;
	kp_probe_release(p);
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
	kp_probe_release(p);
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

static uint64_t kp_probe_lost(const struct kp_probe *p)
{
	return p->final ? p->lost_final : p->lost_records;
}

static const char *const kp_builtin[] = { "pid", "tid", "cpu", "time", "comm", "probe" };

static bool kp_is_builtin(const char *name)
{
	for (size_t i = 0; i < sizeof(kp_builtin) / sizeof(kp_builtin[0]); i++)
		if (!strcmp(name, kp_builtin[i]))
			return true;
	return false;
}

/*
 * The probe's event table, reused for every event, and the keys its fields
 * are stored under. A format field named like a builtin (sched_wakeup's
 * pid and comm are the woken task's) is kept as arg_<name>, so ev.pid is
 * always the task that hit the probe.
 */
static int kp_probe_setup_lua(lua_State *L, struct kp_probe *p, int fn_index)
{
	size_t n = p->fmt ? kp_format_nfields(p->fmt) : 0, k = 0;

	p->fields = calloc(n ? n : 1, sizeof(*p->fields));
	if (!p->fields)
		return -ENOMEM;
	p->ra_field = p->ip_field = p->fn_field = p->retip_field = -1;
	for (size_t i = 0; i < n; i++) {
		const struct kp_field *f = kp_format_field(p->fmt, i);

		if (f->common)
			continue;
		/* for ev.stack; still fields of ev */
		if (p->kind == KP_KPROBE && !strcmp(f->name, "__probe_ip"))
			p->ip_field = (long)i;
		if (p->kind == KP_KRETPROBE && !strcmp(f->name, "__probe_ret_ip"))
			p->retip_field = (long)i;
		/* for ev.stack, not fields of ev */
		if (!strcmp(f->name, KP_RA_FIELD)) {
			p->ra_field = (long)i;
			continue;
		}
		if (p->kind == KP_KPROBE && !strcmp(f->name, KP_FN_FIELD)) {
			p->fn_field = (long)i;
			continue;
		}
		p->fields[k++] = i;
	}
	p->nfields = k;

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
		lua_pushstring(L, kp_builtin[i]);
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
	luaL_getmetatable(L, "kp.Event");
	lua_setmetatable(L, -2);
	p->ev_ref = luaL_ref(L, LUA_REGISTRYINDEX);

	/* no handler: the events are counted, and rules may claim them */
	if (lua_isfunction(L, fn_index)) {
		lua_pushvalue(L, fn_index);
		p->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	return 0;
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

/* Options every probe takes; the Lua layer has checked their types. */
struct kp_popts {
	const char *filter;
	unsigned int stack; /* KP_PERF_STACK_* */
	size_t pages;
	unsigned int wakeup;
};

static int kp_read_opts(lua_State *L, int i, struct kp_popts *o)
{
	o->filter = NULL;
	o->stack = 0;
	o->pages = KP_DEFAULT_PAGES;
	o->wakeup = 0;
	if (lua_isnoneornil(L, i))
		return 0;
	luaL_checktype(L, i, LUA_TTABLE);
	lua_getfield(L, i, "filter");
	o->filter = lua_tostring(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, i, "stack");
	if (lua_toboolean(L, -1)) {
		const char *st = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "both";

		if (!strcmp(st, "kernel"))
			o->stack = KP_PERF_STACK_KERNEL;
		else if (!strcmp(st, "user"))
			o->stack = KP_PERF_STACK_USER;
		else if (!strcmp(st, "both"))
			o->stack = KP_PERF_STACK_KERNEL | KP_PERF_STACK_USER;
		else
			return luaL_error(L,
					  "opts.stack must be true, \"kernel\", \"user\" or "
					  "\"both\", got \"%s\"",
					  st);
	}
	lua_pop(L, 1);
	lua_getfield(L, i, "pages");
	if (!lua_isnil(L, -1)) {
		lua_Number n = lua_tonumber(L, -1);

		if (n < 1 || n > KP_MAX_PAGES || n != floor(n) || ((size_t)n & ((size_t)n - 1)))
			return luaL_error(L,
					  "opts.pages must be a power of two from 1 to %d, got %s",
					  KP_MAX_PAGES, lua_tostring(L, -1));
		o->pages = (size_t)n;
	}
	lua_pop(L, 1);
	lua_getfield(L, i, "wakeup");
	if (!lua_isnil(L, -1)) {
		lua_Number n = lua_tonumber(L, -1);

		if (n < 1 || n > 1e6 || n != floor(n))
			return luaL_error(L,
					  "opts.wakeup must be a whole number of events from 1 to "
					  "1000000, got %s",
					  lua_tostring(L, -1));
		o->wakeup = (unsigned int)n;
	}
	lua_pop(L, 1);
	return 0;
}

static int kp_filter_error(lua_State *L, struct kp_probe *p, const char *filter, int err)
{
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	for (size_t i = 0; i < kp_format_nfields(p->fmt); i++) {
		if (i)
			luaL_addstring(&b, ", ");
		luaL_addstring(&b, kp_format_field(p->fmt, i)->name);
	}
	luaL_pushresult(&b);
	return kp_fail(L, err,
		       "%s: the kernel rejected filter \"%s\" (%s); the event's fields are: %s",
		       p->name, filter, kp_strerror(err), lua_tostring(L, -1));
}

/* Open @p's perf events on every CPU and hook them into the loop. Leaves
 * the probe closed (and the caller removes any dynamic event) on failure. */
static int kp_probe_attach(lua_State *L, struct kp_probe *p, const struct kp_popts *o, int fn_index)
{
	struct kp_host *h = p->host;
	int cpu, err;

	p->perf = kp_perf_open_stack(KP_PERF_TRACEPOINT, kp_format_id(p->fmt), o->pages, o->wakeup,
				     o->stack, &cpu);
	if (!p->perf) {
		err = -errno;
		return kp_fail(L, err, "%s: perf_event_open on CPU %d failed: %s%s", p->name, cpu,
			       kp_strerror(err), kp_perm_hint(err));
	}
	if (o->filter && (err = kp_perf_set_filter(p->perf, o->filter)))
		return kp_filter_error(L, p, o->filter, err);
	for (size_t i = 0; i < kp_perf_count(p->perf); i++) {
		err = kp_loop_add_flags(h->loop, kp_perf_fd(p->perf, i), kp_perf_ring(p->perf, i),
					p, o->stack ? KP_LOOP_CALLCHAIN : 0);
		if (err)
			return kp_fail(L, err, "%s: %s", p->name, kp_strerror(err));
	}
	p->stack = o->stack;
	/* user frames will be named: follow processes' maps from now on */
	if (o->stack & KP_PERF_STACK_USER)
		kp_stack_usym_start(L);
	err = kp_probe_setup_lua(L, p, fn_index);
	if (err)
		return kp_fail(L, err, "%s: %s", p->name, kp_strerror(err));
	if (h->running && (err = kp_perf_enable(p->perf, true)))
		return kp_fail(L, err, "%s: enable: %s", p->name, kp_strerror(err));
	p->attached = true;
	if (h->rec) {
		/* the exact format text, so a replay decodes as this run did */
		char rel[600], *text = NULL;
		const char *sys = p->event ? kp_dynevent_group() : NULL;
		int w;

		if (sys)
			w = snprintf(rel, sizeof(rel), "events/%s/%s/format", sys, p->event);
		else
			w = snprintf(rel, sizeof(rel), "events/%s/%s/format",
				     kp_format_system(p->fmt), kp_format_name(p->fmt));
		err = w > 0 && (size_t)w < sizeof(rel) ? kp_tracefs_read(rel, &text, NULL)
						       : -ENAMETOOLONG;
		if (!err) {
			p->rec_id = h->rec_next_id++;
			err = kp_rec_add_probe(h->rec, p->rec_id, p->name, p->def ? p->def : "",
					       text);
		}
		free(text);
		if (err)
			return kp_fail(L, err, "%s: --record %s: %s", p->name, h->opts.record,
				       kp_strerror(err));
	}
	return 0;
}

static const struct kp_loop_ops kp_ops;

/* The process table, created and seeded from /proc on first use. */
static struct kp_proc_table *kp_host_procs(struct kp_host *h)
{
	if (!h->procs) {
		h->procs = kp_proc_new(KP_PROC_CAP);
		if (h->procs) {
			kp_proc_set_source(h->procs, &kp_procfs_source);
			kp_proc_seed(h->procs);
		}
	}
	return h->procs;
}

/* The host, for the process table's source callbacks (one host per run). */
static struct kp_host *kp_src_host;

/*
 * --record: the process table reads /proc through here, and every read is
 * kept in the recording as a sample of the pseudo-probe kpscript:proc-read
 * (cpu: 0 read, 1 readlink; tid: the result; raw: "FILE\0" and the bytes),
 * so a replay's process table sees what the live one saw.
 */
static ssize_t kp_rec_proc(int32_t pid, const char *file, char *buf, size_t len, bool link)
{
	struct kp_host *h = kp_src_host;
	char raw[8192];
	size_t fl = strnlen(file, 31);
	ssize_t rc = link ? kp_procfs_readlink(pid, file, buf, len)
			  : kp_procfs_read(pid, file, buf, len);

	if (h && h->rec && fl + 1 + (rc > 0 ? (size_t)rc : 0) <= sizeof(raw)) {
		memcpy(raw, file, fl);
		raw[fl] = '\0';
		if (rc > 0)
			memcpy(raw + fl + 1, buf, (size_t)rc);
		kp_rec_add_sample(h->rec, KP_PROCREAD_ID, link, pid, (int32_t)rc, kp_now_ns(), raw,
				  (uint32_t)(fl + 1 + (rc > 0 ? (size_t)rc : 0)));
	}
	return rc;
}

static ssize_t kp_rec_read(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	(void)ctx;
	return kp_rec_proc(pid, file, buf, len, false);
}

static ssize_t kp_rec_readlink(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	(void)ctx;
	return kp_rec_proc(pid, file, buf, len, true);
}

static const struct kp_proc_source *kp_recording_proc(void)
{
	static struct kp_proc_source src;

	src = kp_procfs_source;
	src.read = kp_rec_read;
	src.readlink = kp_rec_readlink;
	return &src;
}

/*
 * The processes that exist when a recording starts, as process records at
 * time 0 (a fork from the parent, then the comm), so a replay's process
 * table starts where the live one did.
 */
static void kp_record_seed_one(void *arg, int32_t pid)
{
	struct kp_rec_writer *w = arg;
	char buf[512], comm[KP_PROC_COMM_LEN], state;
	int32_t ppid;
	uint64_t start;
	ssize_t n = kp_procfs_read(pid, "stat", buf, sizeof(buf) - 1);

	if (n <= 0)
		return;
	buf[n] = '\0';
	if (kp_proc_parse_stat(buf, comm, &state, &ppid, &start))
		return;
	kp_rec_add_task(w, PERF_RECORD_FORK, pid, ppid, pid, ppid, "", 0, 0);
	kp_rec_add_task(w, PERF_RECORD_COMM, pid, ppid, pid, ppid, comm, 0, 0);
}

static void kp_record_seed(struct kp_rec_writer *w)
{
	kp_procfs_each_pid(kp_record_seed_one, w);
}

/* Lazily: the comm table, the loop and the side-band ring that keeps it. */
static int kp_host_ready(lua_State *L, struct kp_host *h)
{
	int cpu, err;

	if (h->loop)
		return 0;
	h->comm = kp_comm_new();
	if (!h->comm)
		return kp_fail(L, -ENOMEM, "out of memory");
	kp_procfs_seed_comm(h->comm);
	kp_host_procs(h);
	if (h->opts.record && !h->rec) {
		struct kp_rec_header hdr;
		int fd = open(h->opts.record, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

		if (fd < 0)
			return kp_fail(L, -errno, "--record %s: %s", h->opts.record,
				       strerror(errno));
		err = kp_rec_header_now(&hdr);
		h->rec = err ? NULL : kp_rec_create(fd, &hdr);
		if (!h->rec) {
			err = err ? err : -errno;
			close(fd);
			return kp_fail(L, err, "--record %s: %s", h->opts.record, kp_strerror(err));
		}
		kp_record_seed(h->rec);
		kp_rec_add_probe(h->rec, KP_PROCREAD_ID, KP_PROCREAD_NAME, "",
				 "(the /proc reads of kpscript's process table)");
		kp_src_host = h;
		if (h->procs)
			kp_proc_set_source(h->procs, kp_recording_proc());
	}
	h->loop = kp_loop_new(&kp_ops, h, h->comm);
	if (!h->loop)
		return kp_fail(L, -errno, "epoll: %s", strerror(errno));
	if (h->opts.sigfd >= 0 && (err = kp_loop_watch(h->loop, h->opts.sigfd)))
		return kp_fail(L, err, "epoll: %s", kp_strerror(err));
	/*
	 * MMAP2 records make the side band's bytes per exec about four times
	 * what COMM/FORK/EXIT alone take (~660 against ~160): 256 pages hold
	 * as many execs as 64 did without them while the reader is busy in a
	 * handler (measured: 2000 execs in ~2 s with a 1 ms handler per exec
	 * lost ~7600 records in 64 pages, none in 256).
	 */
	h->sideband = kp_perf_open(KP_PERF_SIDEBAND, 0, 256, 0, &cpu);
	if (!h->sideband) {
		err = -errno;
		return kp_fail(L, err, "perf_event_open of the side-band event on CPU %d: %s%s",
			       cpu, kp_strerror(err), kp_perm_hint(err));
	}
	for (size_t i = 0; i < kp_perf_count(h->sideband); i++) {
		err = kp_loop_add(h->loop, kp_perf_fd(h->sideband, i), kp_perf_ring(h->sideband, i),
				  NULL);
		if (err)
			return kp_fail(L, err, "epoll: %s", kp_strerror(err));
	}
	/* -p PID: the run ends when the process does; a pidfd becomes readable
	 * when it exits */
	if (h->opts.filter_pid) {
		h->pidfd = (int)syscall(SYS_pidfd_open, h->opts.filter_pid, 0);
		if (h->pidfd >= 0 && (err = kp_loop_watch(h->loop, h->pidfd)))
			return kp_fail(L, err, "epoll: %s", kp_strerror(err));
	}
	return 0;
}

/* ---- event delivery --------------------------------------------------- */

static void kp_push_value(lua_State *L, const struct kp_value *v)
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
	}
}

static const char *kp_comm_of(struct kp_host *h, uint32_t pid, uint32_t tid)
{
	const char *c = kp_comm_get(h->comm, (int32_t)tid);
	char path[64], buf[32];
	ssize_t n;

	if (c)
		return c;
	if (tid == 0)
		return "swapper"; /* the idle task: not a /proc entry */
	if (h->opts.replay)
		return ""; /* the thread was on the recording machine */
	/* a thread we never heard of: ask /proc once, remember even a miss */
	snprintf(path, sizeof(path), "task/%u/comm", tid);
	n = kp_procfs_read((int32_t)pid, path, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	kp_comm_set(h->comm, (int32_t)pid, (int32_t)tid, buf);
	c = kp_comm_get(h->comm, (int32_t)tid);
	return c ? c : "";
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
		kp_stack_prime(L, (int32_t)s->pid);
}

static int kp_on_sample(void *owner, const struct kp_sample *s, void *ctx)
{
	struct kp_probe *p = owner;
	struct kp_host *h = ctx;
	lua_State *L = h->L;
	int top = lua_gettop(L), ev, keys, status;
	size_t k = p->nfields;

	p->received++;
	if (h->rec)
		kp_rec_add_sample_chain(h->rec, p->rec_id, s->cpu, (int32_t)s->pid, (int32_t)s->tid,
					s->time, s->raw, s->raw_size, s->ips,
					s->nips > KP_REC_MAX_CHAIN ? 0 : (uint32_t)s->nips);
	if (h->stop_now) {
		p->discarded++;
		return 0;
	}
	if (h->opts.filter_pid && (pid_t)s->pid != h->opts.filter_pid) {
		p->filtered++;
		return 0;
	}
	if (p->fn_ref == LUA_NOREF) {
		p->delivered++;
		return 0;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->fn_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->ev_ref);
	ev = top + 2;
	kp_event_clean(L, p, ev);
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->keys_ref);
	keys = top + 3;
	for (size_t i = 0; i < k; i++) {
		struct kp_value v;

		lua_rawgeti(L, keys, (int)i + 1);
		if (kp_field_decode(kp_format_field(p->fmt, p->fields[i]), s->raw, s->raw_size,
				    &v)) {
			p->bad_fields++;
			lua_pushnil(L);
		} else {
			kp_push_value(L, &v);
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
	lua_pushstring(L, kp_comm_of(h, s->pid, s->tid));
	lua_rawset(L, ev);
	if (p->stack)
		kp_push_stack(L, p, s, ev);
	lua_settop(L, ev);

	h->raw = s->raw;
	h->raw_size = s->raw_size;
	p->delivered++;
	kp_cb_enter(h);
	status = lua_pcall(L, 1, 0, 1); /* the traceback handler sits at index 1 */
	kp_cb_leave(h);
	h->raw = NULL;
	if (status) {
		kp_handler_failed(h, L);
		lua_settop(L, top);
		return 1;
	}
	lua_settop(L, top);
	return h->stop_now;
}

static void kp_on_lost(void *owner, uint64_t lost, void *ctx)
{
	struct kp_probe *p = owner;
	struct kp_host *h = ctx;

	p->lost_records += lost;
	if (h->rec)
		kp_rec_add_lost(h->rec, p->rec_id, lost, kp_now_ns());
}

/* Side-band process records keep the process table, in event order. */
static void kp_on_task(const struct kp_task_rec *r, void *ctx)
{
	struct kp_host *h = ctx;
	bool fork = r->type == PERF_RECORD_FORK && r->pid == r->tid; /* a new process */
	bool exec = r->type == PERF_RECORD_COMM && r->exec;
	bool ustack;

	/* MMAP2 records are not recorded: a replay has no mappings to follow
	 * and names user frames from /proc as it replays, as it always did */
	if (h->rec && r->type != PERF_RECORD_MMAP2)
		kp_rec_add_task(h->rec, r->type, r->pid, r->ppid, r->tid, r->ptid,
				r->comm ? r->comm : "", r->exec, r->time);
	if (h->opts.replay) {
		/* a new process or a new program: cached maps of that pid are stale */
		if (fork || exec)
			kp_stack_forget(h->L, r->pid);
	} else if (fork || exec || r->type == PERF_RECORD_MMAP2) {
		/*
		 * Follow the maps of processes once user frames are named or a
		 * probe that samples them is attached (kp_probe_attach starts the
		 * symbolizer), so the program a -c command runs is seen from its
		 * exec. Runs without user stacks keep no maps.
		 */
		ustack = kp_stack_usym_active(h->L);
		if (ustack && fork)
			kp_stack_fork(h->L, r->ppid, r->pid);
		else if (ustack && exec)
			kp_stack_exec(h->L, r->pid);
		else if (ustack)
			kp_stack_mmap(h->L, r->pid, &r->map);
	}
	if (!h->procs)
		return;
	switch (r->type) {
	case PERF_RECORD_FORK:
		kp_proc_fork(h->procs, r->pid, r->ppid, r->tid, r->ptid, r->time);
		break;
	case PERF_RECORD_COMM:
		kp_proc_comm(h->procs, r->pid, r->tid, r->comm, r->exec, r->time);
		break;
	case PERF_RECORD_EXIT:
		kp_proc_exit(h->procs, r->pid, r->tid, r->time);
		break;
	}
}

static const struct kp_loop_ops kp_ops = {
	.sample = kp_on_sample,
	.lost = kp_on_lost,
	.task = kp_on_task,
};

/* ---- probe constructors ---------------------------------------------- */

static int kp_dry_probe(lua_State *L, struct kp_host *h, enum kp_probe_kind kind, const char *name,
			const char *def)
{
	struct kp_probe *p = kp_probe_new(L, h, kind);

	p->dry = true;
	p->name = strdup(name);
	p->def = def ? strdup(def) : NULL;
	if (def)
		printf("%s\n", def);
	else
		printf("# %s: static tracepoint, nothing to create\n", name);
	fflush(stdout);
	return 1;
}

/* ---- replay: probes from a recording ------------------------------------ */

/* A replay reads /proc as the recorder saw it: the latest recorded read of
 * that file of that pid, or "no such process". */
static ssize_t kp_replay_proc(int32_t pid, const char *file, char *buf, size_t len, bool link)
{
	struct kp_host *h = kp_src_host;
	struct kp_procread *r = NULL;

	/* a handler's lookup was recorded just after its event: the first read
	 * at or after the event replayed now, else the last one before it */
	for (size_t i = 0; h && i < h->nreads; i++) {
		struct kp_procread *c = &h->reads[i];

		if (c->pid != pid || c->link != link || strcmp(c->file, file))
			continue;
		r = c;
		if (c->time >= h->replay_now)
			break;
	}
	if (r) {
		if (r->rc <= 0)
			return r->rc;
		if ((size_t)r->rc > len) {
			if (link)
				return -ENAMETOOLONG;
			memcpy(buf, r->data, len);
			return (ssize_t)len;
		}
		memcpy(buf, r->data, (size_t)r->rc);
		return r->rc;
	}
	return -ESRCH;
}

static ssize_t kp_noproc_read(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	(void)ctx;
	return kp_replay_proc(pid, file, buf, len, false);
}

static ssize_t kp_noproc_readlink(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	(void)ctx;
	return kp_replay_proc(pid, file, buf, len, true);
}

/* Keep one recorded /proc read (a kpscript:proc-read sample). */
static void kp_replay_keep_read(struct kp_host *h, const struct kp_rec_item *it)
{
	const char *raw = it->sample.raw;
	size_t fl = strnlen(raw, it->sample.raw_len);
	struct kp_procread *r;

	if (fl >= it->sample.raw_len || fl >= sizeof(r->file))
		return; /* not the shape the recorder writes */
	if (h->nreads == h->capreads) {
		size_t cap = h->capreads ? h->capreads * 2 : 64;
		struct kp_procread *n = realloc(h->reads, cap * sizeof(*n));

		if (!n)
			return;
		h->reads = n;
		h->capreads = cap;
	}
	r = &h->reads[h->nreads];
	r->pid = it->sample.pid;
	r->time = it->sample.time;
	r->link = it->sample.cpu == 1;
	r->rc = it->sample.tid;
	memcpy(r->file, raw, fl + 1);
	r->data = NULL;
	if (r->rc > 0) {
		size_t n = it->sample.raw_len - fl - 1;

		if ((size_t)r->rc != n || !(r->data = malloc(n)))
			return;
		memcpy(r->data, raw + fl + 1, n);
	}
	h->nreads++;
}

static int kp_noproc_each(void *ctx, void (*fn)(void *arg, int32_t pid), void *arg)
{
	(void)ctx, (void)fn, (void)arg;
	return 0;
}

static void kp_noproc_clock(void *ctx, uint64_t *tick_ns, uint64_t *boot_minus_mono)
{
	(void)ctx;
	*tick_ns = 10000000;
	*boot_minus_mono = 0;
}

/* A replay reads no /proc: the processes were on the recording machine. */
static const struct kp_proc_source kp_noproc = {
	.read = kp_noproc_read,
	.readlink = kp_noproc_readlink,
	.each_pid = kp_noproc_each,
	.clock = kp_noproc_clock,
};

/* Open the recording and index its probes, once. Return 0 or pushed values. */
static int kp_replay_ready(lua_State *L, struct kp_host *h)
{
	struct kp_rec_item it;
	char err[512];
	size_t cap = 0;
	int rc;

	if (h->replay)
		return 0;
	h->replay = kp_rec_open_file(h->opts.replay, err, sizeof(err));
	if (!h->replay)
		return kp_fail(L, -EBADMSG, "--replay: %s", err);
	while ((rc = kp_rec_next(h->replay, &it)) > 0) {
		if (it.type == KP_REC_HEADER)
			h->replay_rt_off = it.header->realtime_offset;
		if (it.type == KP_REC_SAMPLE && it.sample.probe_id == KP_PROCREAD_ID)
			kp_replay_keep_read(h, &it);
		if (it.type != KP_REC_PROBE)
			continue;
		if (h->nrprobes == cap) {
			struct kp_rec_item *n =
			    realloc(h->rprobes, (cap = cap ? cap * 2 : 16) * sizeof(*n));

			if (!n)
				return kp_fail(L, -ENOMEM, "out of memory");
			h->rprobes = n;
		}
		h->rprobes[h->nrprobes++] = it;
	}
	if (rc < 0)
		return kp_fail(L, -EBADMSG, "--replay: %s", kp_rec_error(h->replay));
	h->rmap = calloc(65536, sizeof(*h->rmap));
	h->comm = kp_comm_new();
	h->procs = kp_proc_new(KP_PROC_CAP);
	if (!h->rmap || !h->comm || !h->procs)
		return kp_fail(L, -ENOMEM, "out of memory");
	kp_proc_set_source(h->procs, &kp_noproc);
	kp_src_host = h;
	return 0;
}

/* The recorded probe named @name; for a uprobe also one of the same binary
 * name and target in another directory (the recording machine's paths). */
static const struct kp_rec_item *kp_replay_find(struct kp_host *h, const char *name)
{
	const char *slash = strrchr(name, '/');

	/* a recorded probe already taken is skipped: the script declares
	 * its probes in the recorded order, so two probes of one name (two
	 * kprobes on a function) get the first and the second recorded */
	for (size_t i = 0; i < h->nrprobes; i++) {
		const struct kp_rec_item *r = &h->rprobes[i];

		if (h->rmap[r->probe.id & 0xffff])
			continue;
		if (strlen(name) == r->probe.name_len &&
		    !memcmp(name, r->probe.name, r->probe.name_len))
			return r;
	}
	if (!slash || strncmp(name, "uprobe", 6))
		return NULL;
	for (size_t i = 0; i < h->nrprobes; i++) {
		const struct kp_rec_item *r = &h->rprobes[i];
		size_t tail = strlen(slash);
		size_t kind = strcspn(name, ":");

		if (h->rmap[r->probe.id & 0xffff])
			continue;
		if (r->probe.name_len > tail && !strncmp(r->probe.name, name, kind + 1) &&
		    !memcmp(r->probe.name + r->probe.name_len - tail, slash, tail))
			return r;
	}
	return NULL;
}

/*
 * In a replay, a declared probe takes the recording's probe of the same
 * name, with the recorded format; one the recording lacks is said once on
 * stderr and sees no event. Return: values pushed, or 0 when @name is not
 * recorded and @quiet (the caller tries another candidate).
 */
static int kp_replay_probe(lua_State *L, struct kp_host *h, enum kp_probe_kind kind,
			   const char *name, int fn_index, bool quiet)
{
	const struct kp_rec_item *r;
	struct kp_probe *p;
	int n;

	if ((n = kp_replay_ready(L, h)))
		return n;
	r = kp_replay_find(h, name);
	if (!r && quiet)
		return 0;
	p = kp_probe_new(L, h, kind);
	p->closed = false;
	/* ev.stack wherever the recording kept a callchain */
	p->stack = KP_PERF_STACK_KERNEL | KP_PERF_STACK_USER;
	h->nprobes++;
	if (r) {
		p->name = strndup(r->probe.name, r->probe.name_len);
		p->def = r->probe.def_len ? strndup(r->probe.def, r->probe.def_len) : NULL;
		p->fmt = kp_format_parse(r->probe.format, r->probe.format_len, "replay");
		if (!p->fmt) {
			kp_probe_release(p);
			return kp_fail(L, -KP_EFORMAT, "%s: the recorded format does not parse",
				       name);
		}
		h->rmap[r->probe.id & 0xffff] = p;
	} else {
		p->name = strdup(name);
		fprintf(stderr, "kpscript: %s is not in the recording %s: it sees no events\n",
			name, h->opts.replay);
	}
	if ((n = kp_probe_setup_lua(L, p, fn_index))) {
		kp_probe_release(p);
		return kp_fail(L, n, "%s: %s", name, kp_strerror(n));
	}
	p->attached = true;
	kp_probe_anchor(L);
	return 1;
}

/* core.tracepoint(sys, event, opts, fn) -> probe | nil, msg, errname */
static int kp_core_tracepoint(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	const char *sys = luaL_checkstring(L, 1), *event = luaL_checkstring(L, 2);
	struct kp_format *fmt = NULL;
	struct kp_probe *p;
	struct kp_popts o;
	char name[512];
	int err, n;

	if (!lua_isnil(L, 4))
		luaL_checktype(L, 4, LUA_TFUNCTION);
	kp_read_opts(L, 3, &o);
	snprintf(name, sizeof(name), "tracepoint:%s:%s", sys, event);
	if (h->opts.replay)
		return kp_replay_probe(L, h, KP_TRACEPOINT, name, 4, false);
	if (h->opts.dry_run) {
		char rel[512];

		/* check the name where tracefs is readable; create nothing */
		snprintf(rel, sizeof(rel), "events/%s/%s", sys, event);
		if (kp_tracefs_has("events") && !kp_tracefs_has(rel))
			return kp_fail(L, -KP_ENOEVENT,
				       "unknown tracepoint '%s:%s' (kpscript -l "
				       "'%s:*' lists the tracepoints of group %s)",
				       sys, event, sys, sys);
		return kp_dry_probe(L, h, KP_TRACEPOINT, name, NULL);
	}
	if (!kp_tracefs_dir())
		return kp_fail(L, -KP_ENOTRACEFS,
			       "%s: tracefs is not mounted and could not be mounted%s", name,
			       kp_perm_hint(-errno));
	err = kp_tracefs_format(sys, event, &fmt);
	if (err == -KP_ENOEVENT)
		return kp_fail(L, err,
			       "unknown tracepoint '%s:%s' (kpscript -l '%s:*' lists the "
			       "tracepoints of group %s)",
			       sys, event, sys, sys);
	if (err)
		return kp_fail(L, err, "%s: reading its format: %s%s", name, kp_strerror(err),
			       kp_perm_hint(err));
	if ((n = kp_host_ready(L, h))) {
		kp_format_free(fmt);
		return n;
	}
	p = kp_probe_new(L, h, KP_TRACEPOINT);
	p->name = strdup(name);
	p->fmt = fmt;
	p->closed = false;
	h->nprobes++;
	if ((n = kp_probe_attach(L, p, &o, 4))) {
		kp_probe_release(p);
		return n;
	}
	kp_probe_anchor(L);
	return 1;
}

/* An event name from a symbol: [A-Za-z0-9_], at most 40 bytes, unique. */
static void kp_event_name(struct kp_host *h, const char *prefix, const char *sym, char *out,
			  size_t len)
{
	char clean[41];
	size_t i;

	for (i = 0; sym && sym[i] && i < sizeof(clean) - 1; i++) {
		char c = sym[i];

		clean[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				   (c >= '0' && c <= '9')
			       ? c
			       : '_';
	}
	clean[i] = '\0';
	snprintf(out, len, "%s_%s_%d", prefix, i ? clean : "addr", h->seq++);
}

/*
 * Can this kernel take dynamic events through @file? Return 0, or the
 * number of values kp_fail() pushed. @hint completes the message when the
 * kernel lacks the file.
 */
static int kp_dyn_available(lua_State *L, const char *name, const char *file, const char *config,
			    const char *hint)
{
	int err;

	if (!kp_tracefs_dir())
		return kp_fail(L, -KP_ENOTRACEFS,
			       "%s: tracefs is not mounted and could not be mounted", name);
	err = kp_tracefs_access(file);
	if (err == -ENOENT)
		return kp_fail(L, -ENOTSUP, "%s: this kernel has no %s (%s is off)%s", name, file,
			       config, hint ? hint : "");
	if (err)
		return kp_fail(L, err, "%s: tracefs: %s%s", name, kp_strerror(err),
			       kp_perm_hint(err));
	return 0;
}

/*
 * The dynamic event @event (just created by @def) becomes a probe: read its
 * format, open it on every CPU. On failure the event is removed again.
 * Return: values pushed (the probe, or nil, message, errname).
 */
static int kp_dyn_attach(lua_State *L, struct kp_host *h, enum kp_probe_kind kind, const char *name,
			 const char *event, const char *def, const struct kp_popts *o, int fn_index)
{
	struct kp_format *fmt = NULL;
	struct kp_probe *p;
	int err, n;

	p = kp_probe_new(L, h, kind);
	p->name = strdup(name);
	p->event = strdup(event);
	p->def = strdup(def);
	p->closed = false;
	h->nprobes++;
	if ((n = kp_host_ready(L, h))) {
		kp_probe_release(p);
		return n;
	}
	err = kp_tracefs_format(kp_dynevent_group(), event, &fmt);
	if (err) {
		kp_probe_release(p);
		return kp_fail(L, err, "%s: reading the new event's format: %s", name,
			       kp_strerror(err));
	}
	p->fmt = fmt;
	if ((n = kp_probe_attach(L, p, o, fn_index))) {
		kp_probe_release(p);
		return n;
	}
	kp_probe_anchor(L);
	return 1;
}

/*
 * core.uprobe(path, symbol|nil, offset, ret, args, opts, fn)
 *   -> probe | nil, msg, errname
 * @offset is the +OFF added to @symbol, or the file offset when @symbol is nil.
 */
static int kp_core_uprobe(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	const char *path = luaL_checkstring(L, 1), *sym = luaL_optstring(L, 2, NULL);
	uint64_t off = (uint64_t)luaL_checknumber(L, 3), foff = off;
	bool ret = lua_toboolean(L, 4);
	const char *args = luaL_optstring(L, 5, "");
	enum kp_probe_kind kind = ret ? KP_URETPROBE : KP_UPROBE;
	const char *kname = ret ? "uretprobe" : "uprobe";
	char abs[4096], name[4600], event[64], def[8192], why[2048];
	struct kp_popts o;
	int err, n;

	if (!lua_isnil(L, 7))
		luaL_checktype(L, 7, LUA_TFUNCTION);
	kp_read_opts(L, 6, &o);
	if (h->opts.replay) {
		/* the binary may not exist here: name it as the recorder did */
		if (kp_elf_find_path(path, abs, sizeof(abs)))
			snprintf(abs, sizeof(abs), "%s", path);
		if (sym && off)
			snprintf(name, sizeof(name), "%s:%s:%s+%llu", kname, abs, sym,
				 (unsigned long long)off);
		else if (sym)
			snprintf(name, sizeof(name), "%s:%s:%s", kname, abs, sym);
		else
			snprintf(name, sizeof(name), "%s:%s:0x%llx", kname, abs,
				 (unsigned long long)off);
		return kp_replay_probe(L, h, kind, name, 7, false);
	}
	err = kp_elf_find_path(path, abs, sizeof(abs));
	if (err)
		return kp_fail(L, err, "%s: binary '%s' not found%s", kname, path,
			       strchr(path, '/') ? "" : " in $PATH");
	if (sym) {
		err = kp_elf_resolve(abs, sym, off, &foff);
		if (err == -KP_ENOSYM) {
			char near[512] = "";

			if (kp_elf_near(abs, sym, near, sizeof(near), 5) > 0)
				return kp_fail(L, err,
					       "%s: no function '%s' in %s; close names: %s", kname,
					       sym, abs, near);
			return kp_fail(L, err, "%s: no function '%s' in %s (is it stripped?)",
				       kname, sym, abs);
		}
		if (err)
			return kp_fail(L, err, "%s: %s:%s: %s", kname, abs, sym, kp_strerror(err));
		if (off)
			snprintf(name, sizeof(name), "%s:%s:%s+%llu", kname, abs, sym,
				 (unsigned long long)off);
		else
			snprintf(name, sizeof(name), "%s:%s:%s", kname, abs, sym);
	} else {
		snprintf(name, sizeof(name), "%s:%s:0x%llx", kname, abs, (unsigned long long)off);
	}
	kp_event_name(h, ret ? "ur" : "u", sym, event, sizeof(event));
	n = snprintf(def, sizeof(def), "%c:%s/%s %s:0x%llx%s%s", ret ? 'r' : 'p',
		     kp_dynevent_group(), event, abs, (unsigned long long)foff, *args ? " " : "",
		     args);
	if (n < 0 || (size_t)n >= sizeof(def))
		return kp_fail(L, -E2BIG, "%s: probe definition too long", name);
	if (h->opts.dry_run)
		return kp_dry_probe(L, h, kind, name, def);
	err = kp_dyn_available(L, name, "uprobe_events", "CONFIG_UPROBE_EVENTS", NULL);
	if (err)
		return err;
	err = kp_dynevent_write(def, why, sizeof(why));
	if (err)
		return kp_fail(L, err, "%s: the kernel refused '%s': %s%s", name, def,
			       why[0] ? why : kp_strerror(err), kp_perm_hint(err));
	return kp_dyn_attach(L, h, kind, name, event, def, &o, 7);
}

static const char kp_no_kprobes_hint[] =
    ": kprobes cannot be used here; use kp.tracepoint (kpscript -l lists them) or "
    "kp.uprobe, or branch on kp.has(\"kprobe\")";

/* The kernel's function symbols, loaded once; NULL when unreadable. */
static const struct kp_ksyms *kp_host_ksyms(struct kp_host *h)
{
	if (!h->ksyms_tried) {
		h->ksyms_tried = true;
		h->ksyms = kp_ksyms_load();
	}
	return h->ksyms;
}

/* The kernel's BTF, loaded once; NULL when the kernel has none. */
static const struct kp_btf *kp_host_btf(struct kp_host *h)
{
	if (!h->btf_tried) {
		h->btf_tried = true;
		h->btf = kp_btf_load();
	}
	return h->btf;
}

/* The split BTF of @module, loaded once per module. NULL + errno. */
static const struct kp_btf *kp_host_module_btf(struct kp_host *h, const char *module)
{
	struct kp_modbtf *m;

	for (m = h->modbtf; m; m = m->next)
		if (!strcmp(m->name, module))
			return m->btf;
	m = calloc(1, sizeof(*m) + strlen(module) + 1);
	if (!m)
		return NULL;
	strcpy(m->name, module);
	m->btf = kp_btf_load_module(h->btf, module);
	if (!m->btf) {
		int e = errno;

		free(m);
		errno = e;
		return NULL;
	}
	m->next = h->modbtf;
	h->modbtf = m;
	return m->btf;
}

/* Is NAME= already among the arguments in @args ("a=%di b=+8(%si):u32")? */
static bool kp_args_have(const char *args, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = args; *p; p += strcspn(p, " "), p += *p == ' ') {
		if (!strncmp(p, name, n) && p[n] == '=')
			return true;
	}
	return false;
}

/*
 * Append to @args (size @len, holding the raw arguments) the BTF arguments
 * in the table at @idx ({ name = ..., expr = ... }), compiled for kernel
 * function @func. Return 0, or -errno with @err set.
 */
static int kp_btf_args(lua_State *L, struct kp_host *h, int idx, const char *func, bool ret,
		       char *args, size_t len, char *err, size_t errlen)
{
	int n = lua_istable(L, idx) ? (int)lua_objlen(L, idx) : 0;
	const struct kp_btf *b;
	const char *colon = strchr(func, ':');
	char nobtf[512] = ""; /* why there is no BTF for @func */

	if (!n)
		return 0;
	b = kp_host_btf(h);
	if (!b)
		snprintf(nobtf, sizeof(nobtf),
			 "arguments by name need the kernel's BTF "
			 "(/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF): use fetch arguments");
	/* a module's function is described in that module's split BTF */
	if (b) {
		const struct kp_ksyms *ks = kp_host_ksyms(h);
		const char *mod = ks ? kp_ksyms_module(ks, func) : NULL;

		if (mod) {
			int e;

			b = kp_host_module_btf(h, mod);
			e = errno; /* kp_feature_has() reads files */
			if (!b && kp_feature_has("module_btf") == 0)
				snprintf(nobtf, sizeof(nobtf),
					 "%s is in module %s, and this kernel has no module BTF "
					 "(CONFIG_DEBUG_INFO_BTF_MODULES, Linux 5.11+; "
					 "kp.has(\"module_btf\") is false): use fetch arguments "
					 "(%%di, +OFF(%%di))",
					 func, mod);
			else if (!b)
				snprintf(nobtf, sizeof(nobtf),
					 "%s is in module %s, whose BTF "
					 "(/sys/kernel/btf/%s) could not be read: %s",
					 func, mod, mod, strerror(e));
		}
		if (colon)
			func = colon + 1;
	}
	for (int i = 1; i <= n; i++) {
		char name[128], fetch[1024], why[2048];
		const char *expr, *given;
		size_t used = strlen(args);
		int rc;

		lua_rawgeti(L, idx, i);
		lua_getfield(L, -1, "expr");
		lua_getfield(L, -2, "name");
		expr = lua_tostring(L, -2);
		given = lua_tostring(L, -1);
		rc = b ? kp_btf_fetch(b, func, ret, expr ? expr : "", name, sizeof(name), fetch,
				      sizeof(fetch), why, sizeof(why))
		       : -ENOENT;
		/* $retval alone does not need BTF: where the function is not
		 * described, it is the kernel's own, read as a signed long */
		if (rc == -ENOENT && ret && expr && !strcmp(expr, "$retval")) {
			snprintf(name, sizeof(name), "retval");
			snprintf(fetch, sizeof(fetch), "$retval:s64");
			rc = 0;
		} else if (!b) {
			snprintf(why, sizeof(why), "%s", nobtf);
		}
		if (!rc && given)
			snprintf(name, sizeof(name), "%s", given);
		lua_pop(L, 3);
		if (rc) {
			snprintf(err, errlen, "%.1500s", why);
			return rc;
		}
		if (kp_is_builtin(name) || !strncmp(name, "common_", 7) ||
		    kp_args_have(args, name)) {
			snprintf(err, errlen,
				 "'%s' would be named '%s', which %s: give it a name, "
				 "{ myname = '%s' }",
				 expr, name,
				 kp_args_have(args, name) ? "another argument has" : "is reserved",
				 expr);
			return -EEXIST;
		}
		if (used + strlen(name) + strlen(fetch) + 3 > len) {
			snprintf(err, errlen, "too many arguments");
			return -E2BIG;
		}
		snprintf(args + used, len - used, "%s%s=%s", used ? " " : "", name, fetch);
	}
	return 0;
}

/*
 * For an entry kprobe's stacks (kp_entry_frame()): append the immediate
 * argument __kp_fn=\ADDR, the function's address, to @args (size @len).
 * Not for a probe at +OFF, nor where kallsyms cannot name one address
 * (hidden addresses, a name several functions share): those stacks keep
 * the kernel's first frame. Immediates ("\imm-value") came in 5.7.
 */
static void kp_fn_arg(const struct kp_ksyms *ks, const char *target, char *args, size_t len)
{
	size_t used = strlen(args);
	uint64_t addr;
	int n;

	if (!ks || strchr(target, '+') || kp_ksyms_lookup(ks, target, &addr))
		return;
	n = snprintf(args + used, len - used, "%s%s=\\0x%" PRIx64 ":x64", used ? " " : "",
		     KP_FN_FIELD, addr);
	if (n < 0 || (size_t)n >= len - used)
		args[used] = '\0'; /* no room: the kernel's first frame then */
}

/*
 * core.kprobe({ target, ... }, ret, args, opts, fn, maxactive)
 *   -> probe | nil, msg, errname
 * Each target is SYMBOL, SYMBOL+OFF or MODULE:SYMBOL; the first one the
 * kernel has (and accepts) is used, and ev.probe names it.
 */
static int kp_core_kprobe(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	bool ret = lua_toboolean(L, 2);
	const char *args = luaL_optstring(L, 3, "");
	int maxactive = (int)luaL_optnumber(L, 6, 0);
	enum kp_probe_kind kind = ret ? KP_KRETPROBE : KP_KPROBE;
	const char *kname = ret ? "kretprobe" : "kprobe";
	char name[600], event[64], def[8192], why[2048] = "", kind_s[16], refused[12288] = "";
	char all[6144];
	const struct kp_ksyms *ks = NULL;
	const char *first = NULL;
	int ntargets, err = 0, n;
	size_t nargs;
	struct kp_popts o;
	luaL_Buffer missing;

	luaL_checktype(L, 1, LUA_TTABLE);
	if (!lua_isnil(L, 5))
		luaL_checktype(L, 5, LUA_TFUNCTION);
	kp_read_opts(L, 4, &o);
	ntargets = (int)lua_objlen(L, 1);
	if (ntargets < 1)
		return luaL_argerror(L, 1, "no kernel function given");
	if (h->opts.replay) {
		for (int i = 1; i <= ntargets; i++) {
			lua_rawgeti(L, 1, i);
			snprintf(name, sizeof(name), "%s:%s", kname, lua_tostring(L, -1));
			lua_pop(L, 1);
			if ((n = kp_replay_probe(L, h, kind, name, 5, true)))
				return n;
		}
		lua_rawgeti(L, 1, 1);
		snprintf(name, sizeof(name), "%s:%s", kname, lua_tostring(L, -1));
		lua_pop(L, 1);
		return kp_replay_probe(L, h, kind, name, 5, false);
	}
	if (!h->opts.dry_run &&
	    (n = kp_dyn_available(L, kname, "kprobe_events", "CONFIG_KPROBES", kp_no_kprobes_hint)))
		return n;
	ks = kp_host_ksyms(h);
	if (maxactive > 0)
		snprintf(kind_s, sizeof(kind_s), "r%d", maxactive);
	else
		snprintf(kind_s, sizeof(kind_s), "%c", ret ? 'r' : 'p');
	luaL_buffinit(L, &missing);
	for (int i = 1; i <= ntargets; i++) {
		char base[256];
		const char *target;

		lua_rawgeti(L, 1, i);
		target = lua_tostring(L, -1);
		lua_pop(L, 1); /* the string stays in the table */
		if (!target)
			return luaL_argerror(L, 1, "kernel function names must be strings");
		if (!first)
			first = target;
		snprintf(base, sizeof(base), "%.*s", (int)strcspn(target, "+"), target);
		if (ks && !kp_ksyms_has(ks, base)) {
			if (i > 1)
				luaL_addstring(&missing, ", ");
			luaL_addstring(&missing, base);
			continue;
		}
		snprintf(name, sizeof(name), "%s:%s", kname, target);
		snprintf(all, sizeof(all), "%s", args);
		err = kp_btf_args(L, h, 7, base, ret, all, sizeof(all), why, sizeof(why));
		if (err) {
			/* another candidate may have the names this one lacks */
			snprintf(refused, sizeof(refused), "%s: %s", name, why);
			continue;
		}
		nargs = strlen(all);
		if (!ret && (o.stack & KP_PERF_STACK_KERNEL))
			kp_fn_arg(ks, target, all, sizeof(all));
		kp_event_name(h, ret ? "kr" : "k", base, event, sizeof(event));
	write:
		n = snprintf(def, sizeof(def), "%s:%s/%s %s%s%s", kind_s, kp_dynevent_group(),
			     event, target, *all ? " " : "", all);
		if (n < 0 || (size_t)n >= sizeof(def))
			return kp_fail(L, -E2BIG, "%s: probe definition too long", name);
		if (h->opts.dry_run)
			return kp_dry_probe(L, h, kind, name, def);
		err = kp_dynevent_write(def, why, sizeof(why));
		if (err && all[nargs]) {
			/* kernels before 5.7 take no immediates: without __kp_fn
			 * the stacks keep the kernel's first frame */
			all[nargs] = '\0';
			goto write;
		}
		if (err) {
			/* the kernel may refuse one candidate (not probeable) and
			 * take the next; report the last refusal if none works */
			snprintf(refused, sizeof(refused), "%s: the kernel refused '%s': %s%s",
				 name, def, why[0] ? why : kp_strerror(err), kp_perm_hint(err));
			continue;
		}
		luaL_pushresult(&missing);
		lua_pop(L, 1);
		return kp_dyn_attach(L, h, kind, name, event, def, &o, 5);
	}
	luaL_pushresult(&missing);
	if (refused[0])
		return kp_fail(L, err, "%s", refused);
	{
		char near[512] = "";

		if (ks)
			kp_ksyms_near(ks, first, near, sizeof(near), 6);
		if (ntargets == 1)
			return kp_fail(L, -KP_ENOSYM,
				       "%s: unknown kernel function '%s' (not in "
				       "/proc/kallsyms)%s%s",
				       kname, lua_tostring(L, -1), near[0] ? "; close names: " : "",
				       near);
		return kp_fail(L, -KP_ENOSYM,
			       "%s: none of the kernel functions %s exists (not in "
			       "/proc/kallsyms)%s%s",
			       kname, lua_tostring(L, -1), near[0] ? "; close to the first: " : "",
			       near);
	}
}

/* core.offsetof(struct, member[.sub]) -> offset, size | nil, msg, errname:
 * a member's place in a kernel struct, from the running kernel's BTF */
static int kp_core_offsetof(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	const char *st = luaL_checkstring(L, 1), *path = luaL_checkstring(L, 2);
	size_t off, size;
	int err;

	if (!h->btf_tried) {
		h->btf_tried = true;
		h->btf = kp_btf_load();
	}
	if (!h->btf)
		return kp_fail(L, -ENOENT,
			       "kp.offsetof: this kernel has no BTF "
			       "(/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF)");
	err = kp_btf_member(h->btf, st, path, &off, &size);
	if (err == -ENOENT)
		return kp_fail(L, err, "kp.offsetof: no struct %s in the kernel's BTF", st);
	if (err == -ESRCH)
		return kp_fail(L, err, "kp.offsetof: struct %s has no member %s", st, path);
	if (err)
		return kp_fail(L, err, "kp.offsetof: struct %s member %s is a bitfield", st, path);
	lua_pushnumber(L, (lua_Number)off);
	lua_pushnumber(L, (lua_Number)size);
	return 2;
}

/* core.has(feature) -> boolean, or nil for a name that is no feature */
static int kp_core_has(lua_State *L)
{
	int yes = kp_feature_has(luaL_checkstring(L, 1));

	if (yes < 0)
		lua_pushnil(L);
	else
		lua_pushboolean(L, yes);
	return 1;
}

/* core.features() -> { name, ... }: every feature kp.has knows */
static int kp_core_features(lua_State *L)
{
	size_t n = kp_feature_count();

	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, kp_feature_name(i));
		lua_rawseti(L, -2, (int)i + 1);
	}
	return 1;
}

/* ---- the run ---------------------------------------------------------- */

static void kp_enable_all(struct kp_host *h, bool on)
{
	if (h->sideband)
		kp_perf_enable(h->sideband, on);
	for (struct kp_probe *p = h->probes; p; p = p->next)
		if (p->perf)
			kp_perf_enable(p->perf, on);
}

static int kp_start_child(struct kp_host *h)
{
	sigset_t all;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execl("/bin/sh", "sh", "-c", h->opts.command, (char *)NULL);
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

static int kp_run_timers(lua_State *L, struct kp_host *h, uint64_t now)
{
	int status;

	for (size_t i = 0; i < h->ntimers && !h->stop_now; i++) {
		struct kp_timer *t = &h->timers[i];

		if (t->fn_ref == LUA_NOREF || now < t->next)
			continue;
		while (t->next <= now)
			t->next += t->period;
		lua_rawgeti(L, LUA_REGISTRYINDEX, t->fn_ref);
		kp_cb_enter(h);
		status = lua_pcall(L, 0, 0, 1);
		kp_cb_leave(h);
		if (status) {
			kp_handler_failed(h, L);
			lua_pop(L, 1);
			return -1;
		}
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

		if (!p->perf || kp_perf_counts(p->perf, &hits, &full))
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
 * kp.run() in a replay: the recording's items, in the order the recorder
 * delivered them (its merge order), go through the same paths as live ones:
 * process records to the comm and process tables, samples to the probes'
 * handlers, timers by the recording's clock.
 */
static int kp_replay_run(lua_State *L, struct kp_host *h)
{
	struct kp_rec_reader *r;
	struct kp_rec_item it;
	uint64_t first = 0, wall0 = kp_now_ns();
	char err[512];
	int rc;

	h->ran = true;
	r = kp_rec_open_file(h->opts.replay, err, sizeof(err));
	if (!r) {
		lua_pushboolean(L, 0);
		lua_pushfstring(L, "--replay: %s", err);
		return 2;
	}
	kp_run_begin(L, h);
	while (!h->stop_now && (rc = kp_rec_next(r, &it)) > 0) {
		uint64_t t = it.type == KP_REC_SAMPLE ? it.sample.time
			     : it.type == KP_REC_TASK ? it.task.time
						      : 0;

		if (t && !first) {
			first = t;
			for (size_t i = 0; i < h->ntimers; i++)
				h->timers[i].next = t + h->timers[i].period;
		}
		if (t && h->opts.replay_realtime) {
			uint64_t due = wall0 + (t - first), now = kp_now_ns();

			if (due > now)
				usleep((useconds_t)((due - now) / 1000));
		}
		if (t && kp_run_timers(L, h, t))
			break;
		if (t)
			h->replay_now = t;
		if (it.type == KP_REC_SAMPLE && it.sample.probe_id == KP_PROCREAD_ID) {
			/* kept by the first pass */
		} else if (it.type == KP_REC_SAMPLE) {
			struct kp_probe *p = h->rmap[it.sample.probe_id & 0xffff];
			uint64_t chain[KP_REC_MAX_CHAIN];
			struct kp_sample s = {
				.pid = (uint32_t)it.sample.pid,
				.tid = (uint32_t)it.sample.tid,
				.cpu = it.sample.cpu,
				.time = it.sample.time,
				.raw = it.sample.raw,
				.raw_size = it.sample.raw_len,
			};

			if (it.sample.nchain) {
				/* little-endian in the file, as on every host that runs this */
				memcpy(chain, it.sample.chain, 8 * (size_t)it.sample.nchain);
				s.ips = chain;
				s.nips = it.sample.nchain;
			}

			if (p && kp_on_sample(p, &s, h))
				break;
		} else if (it.type == KP_REC_TASK) {
			char comm[KP_PROC_COMM_LEN];
			struct kp_task_rec tr = {
				.type = it.task.type,
				.pid = it.task.pid,
				.ppid = it.task.ppid,
				.tid = it.task.tid,
				.ptid = it.task.ptid,
				.comm = comm,
				.exec = it.task.exec != 0,
				.time = it.task.time,
			};

			snprintf(comm, sizeof(comm), "%.*s", (int)it.task.comm_len, it.task.comm);
			if (tr.type == PERF_RECORD_COMM)
				kp_comm_set(h->comm, tr.pid, tr.tid, comm);
			else if (tr.type == PERF_RECORD_FORK)
				kp_comm_fork(h->comm, tr.pid, tr.tid, tr.ptid);
			else
				kp_comm_exit(h->comm, tr.tid, tr.time);
			kp_on_task(&tr, h);
		} else if (it.type == KP_REC_LOST && it.lost.probe_id != KP_REC_NO_PROBE) {
			struct kp_probe *p = h->rmap[it.lost.probe_id & 0xffff];

			if (p)
				p->lost_records += it.lost.count;
		}
	}
	if (!h->stop_now && rc < 0 && !h->failed) {
		h->error = strdup(kp_rec_error(r));
		h->failed = true;
	}
	kp_rec_free(r);
	h->running = false;
	return kp_run_result(L, h);
}

static void kp_watch_event(lua_State *L, struct kp_host *h);

/* core.run() -> true | false, message */
static int kp_core_run(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	lua_State *saved = h->L;
	uint64_t start, deadline = 0, last_expire;
	bool held = false;
	int err;

	if (h->running)
		return luaL_error(L, "kp.run() is already running");
	h->ran = true;
	if (h->opts.replay && !h->opts.dry_run) {
		int n;

		h->phase = KP_PHASE_LOOP;
		n = kp_replay_run(L, h);
		h->phase = KP_PHASE_MAIN;
		return n;
	}
	if (!h->opts.dry_run && !h->loop && (h->ntimers || h->opts.command)) {
		/* no probes, but timers or a command: a loop of signals and time */
		h->loop = kp_loop_new(&kp_ops, h, NULL);
		if (h->loop && h->opts.sigfd >= 0)
			kp_loop_watch(h->loop, h->opts.sigfd);
	}
	if (h->opts.dry_run || !h->loop) {
		lua_pushboolean(L, 1);
		return 1;
	}
	kp_run_begin(L, h);
	h->L = L;
	h->phase = KP_PHASE_LOOP;
	kp_enable_all(h, true);
	start = last_expire = kp_now_ns();
	if (h->opts.duration > 0)
		deadline = start + (uint64_t)(h->opts.duration * 1e9);
	for (uint64_t i = 0; i < h->ntimers; i++)
		h->timers[i].next = start + h->timers[i].period;
	h->inotify = -1;
	if (h->opts.watch) {
		char dir[4096];
		const char *slash = strrchr(h->opts.watch, '/');

		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - h->opts.watch) : 1,
			 slash ? h->opts.watch : ".");
		h->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (h->inotify < 0 ||
		    inotify_add_watch(h->inotify, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0 ||
		    kp_loop_watch(h->loop, h->inotify))
			fprintf(stderr, "kpscript: --watch %s: cannot watch it: %s\n", dir,
				strerror(errno));
	}
	if (h->opts.command && (err = kp_start_child(h))) {
		h->error = strdup("kpscript: -c: fork failed");
		h->failed = h->stop_now = true;
	}
	while (!h->stop_now) {
		uint64_t now = kp_now_ns(),
			 next = now + (held ? KP_LATENESS_NS : KP_FLUSH_MS * 1000000ull);
		int ready;

		for (size_t i = 0; i < h->ntimers; i++)
			if (h->timers[i].fn_ref != LUA_NOREF && h->timers[i].next < next)
				next = h->timers[i].next;
		if (deadline && deadline < next)
			next = deadline;
		ready = kp_loop_wait(h->loop, kp_ms_until(now, next));
		if (ready > 0 && h->opts.sigfd >= 0 && kp_handle_signals(h))
			break;
		if (ready > 0 && h->pidfd >= 0 &&
		    poll(&(struct pollfd){ .fd = h->pidfd, .events = POLLIN }, 1, 0) > 0)
			break;
		if (ready > 0 && h->inotify >= 0 &&
		    poll(&(struct pollfd){ .fd = h->inotify, .events = POLLIN }, 1, 0) > 0) {
			/* deliver what came before the save with the old handlers */
			kp_loop_drain(h->loop, kp_now_ns() - KP_LATENESS_NS, &held);
			h->phase = KP_PHASE_MAIN; /* the new version's main chunk runs */
			kp_watch_event(L, h);
			h->phase = KP_PHASE_LOOP;
		}
		now = kp_now_ns();
		if (kp_loop_drain(h->loop, now - KP_LATENESS_NS, &held) < 0)
			break;
		if (kp_run_timers(L, h, now))
			break;
		if (deadline && now >= deadline)
			break;
		/* a killed recorder loses at most the last 100 ms */
		if (h->rec && now - h->rec_flushed > 100000000ull) {
			kp_rec_flush(h->rec);
			h->rec_flushed = now;
		}
		if (now - last_expire > KP_COMM_GRACE_NS) {
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
	while (kp_loop_drain(h->loop, UINT64_MAX, &held) < 0)
		; /* a handler stopped the run: the rest is discarded */
	kp_finish_counts(h);
	if (h->child) {
		kill(h->child, SIGTERM);
		waitpid(h->child, &h->child_status, 0);
		h->child = 0;
	}
	if (h->inotify >= 0)
		close(h->inotify);
	h->inotify = -1;
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

/*
 * --watch: the script's directory changed. Editors save by writing the file
 * or by renaming a new one over it; either names the script. Reload it in
 * Lua (kp._reload), between deliveries, so carried-over probes' rings just
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
	lua_getglobal(L, "kp");
	lua_getfield(L, -1, "_reload");
	lua_remove(L, -2);
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
	t->next = kp_now_ns() + t->period;
	lua_pushvalue(L, 2);
	t->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

/* core.stats() -> { [name] = { events, lost, filtered, bad_fields, discarded } } */
static int kp_core_stats(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);

	lua_newtable(L);
	for (struct kp_probe *p = h->probes; p; p = p->next) {
		if (!p->attached)
			continue;
		lua_createtable(L, 0, 4);
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
		if (p->final) {
			lua_pushnumber(L, (lua_Number)p->ring_full);
			lua_setfield(L, -2, "ring_full");
			lua_pushnumber(L, (lua_Number)p->hits);
			lua_setfield(L, -2, "hits");
		}
		lua_setfield(L, -2, p->name);
	}
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

/* core.cpid() -> pid of the -c command, or nil */
static int kp_core_cpid(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);

	if (!h->child_pid)
		return 0;
	lua_pushnumber(L, h->child_pid);
	return 1;
}

/* core.set_mk64(fn): fn(hi, lo, signed) builds a boxed 64-bit integer */
static int kp_core_set_mk64(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	kp_lua_set_mk64(L, 1);
	return 0;
}

/*
 * core.trust(path) -> true | nil, why: may this root process run the Lua
 * file at @path (kp_trust.h)? Always true without root or with
 * --allow-unsafe-script.
 */
static int kp_core_trust(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	const char *path = luaL_checkstring(L, 1);
	char why[PATH_MAX + 256];
	int err;

	if (geteuid() != 0 || h->opts.allow_unsafe) {
		lua_pushboolean(L, 1);
		return 1;
	}
	err = kp_trust_check(path, kp_trust_caller(), why, sizeof(why));
	if (err == -EPERM) {
		lua_pushnil(L);
		lua_pushfstring(L,
				"refusing to load %s as root: %s (make it root's or yours and not "
				"writable by others, or pass --allow-unsafe-script)",
				path, why);
		return 2;
	}
	/* a file that cannot be examined is left to the loader's own error */
	lua_pushboolean(L, 1);
	return 1;
}

/* core.config() -> { dry_run, pid, command, duration } */
static int kp_core_config(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);

	lua_createtable(L, 0, 4);
	lua_pushboolean(L, h->opts.dry_run);
	lua_setfield(L, -2, "dry_run");
	if (h->opts.filter_pid) {
		lua_pushnumber(L, h->opts.filter_pid);
		lua_setfield(L, -2, "pid");
	}
	if (h->opts.command) {
		lua_pushstring(L, h->opts.command);
		lua_setfield(L, -2, "command");
	}
	lua_pushnumber(L, h->opts.duration);
	lua_setfield(L, -2, "duration");
	lua_pushnumber(L, h->opts.callback_limit_ms);
	lua_setfield(L, -2, "callback_limit");
	lua_pushstring(L, h->opts.format ? h->opts.format : "text");
	lua_setfield(L, -2, "format");
	if (h->opts.output) {
		lua_pushstring(L, h->opts.output);
		lua_setfield(L, -2, "output");
	}
	return 1;
}

/* core.walltime([mono_ns]) -> seconds, nanoseconds of the wall clock at a
 * CLOCK_MONOTONIC time (ev.time), or now */
static int kp_core_walltime(lua_State *L)
{
	static int64_t off;
	static bool have_off;
	struct timespec rt;
	int64_t t, ns;

	clock_gettime(CLOCK_REALTIME, &rt);
	/* one offset for the run, so converted times keep their order */
	if (!have_off) {
		struct timespec mono;

		clock_gettime(CLOCK_MONOTONIC, &mono);
		clock_gettime(CLOCK_REALTIME, &rt);
		off = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000 + (rt.tv_nsec - mono.tv_nsec);
		have_off = true;
	}
	if (lua_isnoneornil(L, 1))
		t = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
	else
		t = (int64_t)luaL_checknumber(L, 1) +
		    (kp_host_of(L)->replay ? kp_host_of(L)->replay_rt_off : off);
	ns = t % 1000000000;
	lua_pushnumber(L, (lua_Number)(t / 1000000000));
	lua_pushnumber(L, (lua_Number)ns);
	return 2;
}

/* core.clock() -> CLOCK_MONOTONIC now in ns, the clock of ev.time */
static int kp_core_clock(lua_State *L)
{
	lua_pushnumber(L, (lua_Number)kp_now_ns());
	return 1;
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

/* core.utf8(s) -> true when s is valid UTF-8 (no overlongs, surrogates or
 * code points past U+10FFFF) */
static int kp_core_utf8(lua_State *L)
{
	size_t n, i = 0;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			break;
		}
		if (i + len > n)
			break;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			break;
		i += len;
	}
bad:
	lua_pushboolean(L, i == n);
	return 1;
}

/* core.base64(s) -> s in standard base64 with padding */
static int kp_core_base64(lua_State *L)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		luaL_addchar(&b, tab[v >> 18 & 63]);
		luaL_addchar(&b, tab[v >> 12 & 63]);
		luaL_addchar(&b, i + 1 < n ? tab[v >> 6 & 63] : '=');
		luaL_addchar(&b, i + 2 < n ? tab[v & 63] : '=');
	}
	luaL_pushresult(&b);
	return 1;
}

/* core.elfsym(path, symbol) -> file offset | nil, msg, errname: where a
 * uprobe on PATH:SYMBOL goes (aliases share an offset) */
static int kp_core_elfsym(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1), *sym = luaL_checkstring(L, 2);
	char abs[4096];
	uint64_t off;
	int err = kp_elf_find_path(path, abs, sizeof(abs));

	if (!err)
		err = kp_elf_resolve(abs, sym, 0, &off);
	if (err)
		return kp_fail(L, err, "%s:%s: %s", path, sym, kp_strerror(err));
	lua_pushnumber(L, (lua_Number)off);
	return 1;
}

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

/* core.dirty_key() -> the key under which an event table holds its probe */
static int kp_core_dirty_key(lua_State *L)
{
	lua_pushlightuserdata(L, &kp_dirty_key);
	return 1;
}

/* core.added(probe, key): the script added @key to the probe's event table
 * (the event metatable's __newindex); it goes before the next event */
static int kp_core_added(lua_State *L)
{
	struct kp_probe *p = lua_touserdata(L, 1);

	if (!p || p->dirty_ref == LUA_NOREF)
		return 0;
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->dirty_ref);
	lua_pushvalue(L, 2);
	lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
	p->dirty = true;
	return 0;
}

/* core.hostname() -> this machine's name */
static int kp_core_hostname(lua_State *L)
{
	char buf[256];

	if (gethostname(buf, sizeof(buf) - 1))
		return kp_fail(L, -errno, "gethostname: %s", strerror(errno));
	buf[sizeof(buf) - 1] = '\0';
	lua_pushstring(L, buf);
	return 1;
}

static int kp_probe_methods_close(lua_State *L)
{
	return kp_probe_close(L);
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

static int kp_open_core(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "tracepoint", kp_core_tracepoint },
		{ "uprobe", kp_core_uprobe },
		{ "kprobe", kp_core_kprobe },
		{ "has", kp_core_has },
		{ "features", kp_core_features },
		{ "offsetof", kp_core_offsetof },
		{ "run", kp_core_run },
		{ "stop", kp_core_stop },
		{ "every", kp_core_every },
		{ "stats", kp_core_stats },
		{ "raw", kp_core_raw },
		{ "cpid", kp_core_cpid },
		{ "set_mk64", kp_core_set_mk64 },
		{ "config", kp_core_config },
		{ "walltime", kp_core_walltime },
		{ "set_handler", kp_core_set_handler },
		{ "timer_count", kp_core_timer_count },
		{ "timers_drop", kp_core_timers_drop },
		{ "utf8", kp_core_utf8 },
		{ "base64", kp_core_base64 },
		{ "hostname", kp_core_hostname },
		{ "dirty_key", kp_core_dirty_key },
		{ "added", kp_core_added },
		{ "elfsym", kp_core_elfsym },
		{ "proc", kp_core_proc },
		{ "proc_stats", kp_core_proc_stats },
		{ "clock", kp_core_clock },
		{ "trust", kp_core_trust },
		{ NULL, NULL },
	};
	struct kp_host *h = lua_touserdata(L, lua_upvalueindex(1));

	lua_createtable(L, 0, 16);
	for (const luaL_Reg *r = fns; r->name; r++) {
		lua_pushlightuserdata(L, h);
		lua_pushcclosure(L, r->func, 1);
		lua_setfield(L, -2, r->name);
	}
	lua_pushstring(L, KP_VERSION);
	lua_setfield(L, -2, "version");
	kp_lua_agg_open(L);
	kp_stack_open(L);
	return 1;
}

struct kp_host *kp_host_open(lua_State *L, const struct kp_host_opts *opts)
{
	static const luaL_Reg probe_meta[] = {
		{ "__gc", kp_probe_gc },
		{ "__tostring", kp_probe_tostring },
		{ "__index", kp_probe_index },
		{ NULL, NULL },
	};
	static const luaL_Reg probe_methods[] = {
		{ "close", kp_probe_methods_close },
		{ NULL, NULL },
	};
	struct kp_host *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->L = L;
	h->opts = *opts;
	h->pidfd = -1;
	if (opts->callback_limit_ms > 0)
		kp_guard_start(h);

	luaL_newmetatable(L, KP_PROBE_MT);
	luaL_register(L, NULL, probe_meta);
	lua_newtable(L);
	luaL_register(L, NULL, probe_methods);
	lua_setfield(L, -2, "__methods");
	lua_pop(L, 1);

	luaL_newmetatable(L, "kp.Event");
	lua_newtable(L);
	lua_pushcfunction(L, kp_event_copy);
	lua_setfield(L, -2, "copy");
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);

	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, "kp.probes");

	lua_getglobal(L, "package");
	lua_getfield(L, -1, "preload");
	lua_pushlightuserdata(L, h);
	lua_pushcclosure(L, kp_open_core, 1);
	lua_setfield(L, -2, "kp.core");
	/* lua-cjson, linked in: require "cjson" needs no Lua path */
	lua_pushcfunction(L, luaopen_cjson);
	lua_setfield(L, -2, "cjson");
	lua_pop(L, 2);
	return h;
}

void kp_host_shutdown(struct kp_host *h)
{
	if (!h)
		return;
	for (struct kp_probe *p = h->probes; p; p = p->next)
		kp_probe_release(p);
	kp_perf_close(h->sideband);
	h->sideband = NULL;
	if (h->rec) {
		int err = kp_rec_close(h->rec);

		if (err)
			fprintf(stderr, "kpscript: --record %s: %s\n", h->opts.record,
				kp_strerror(err));
		h->rec = NULL;
	}
	if (h->loop) {
		h->corrupt = kp_loop_corrupt(h->loop);
		h->sideband_lost = kp_loop_sideband_lost(h->loop);
	}
	kp_loop_free(h->loop);
	h->loop = NULL;
	if (h->pidfd >= 0)
		close(h->pidfd);
	h->pidfd = -1;
}

void kp_host_free(struct kp_host *h)
{
	if (!h)
		return;
	if (kp_src_host == h)
		kp_src_host = NULL;
	kp_guard_stop(h);
	kp_comm_free(h->comm);
	kp_proc_free(h->procs);
	kp_rec_free(h->replay);
	for (size_t i = 0; i < h->nreads; i++)
		free(h->reads[i].data);
	free(h->reads);
	free(h->rprobes);
	free(h->rmap);
	kp_ksyms_free(h->ksyms);
	while (h->modbtf) {
		struct kp_modbtf *m = h->modbtf;

		h->modbtf = m->next;
		kp_btf_free(m->btf);
		free(m);
	}
	kp_btf_free(h->btf);
	free(h->timers);
	free(h->error);
	free(h);
}

int kp_host_nprobes(const struct kp_host *h)
{
	return h->nprobes;
}

bool kp_host_ran(const struct kp_host *h)
{
	return h->ran;
}

bool kp_host_report_losses(struct kp_host *h)
{
	bool any = false;

	for (struct kp_probe *p = h->probes; p; p = p->next) {
		uint64_t lost = kp_probe_lost(p), full = p->final ? p->ring_full : lost;

		if (!lost)
			continue;
		any = true;
		fprintf(stderr, "kpscript: %s: %llu of %llu events lost", p->name,
			(unsigned long long)lost, (unsigned long long)(lost + p->received));
		if (full)
			fprintf(stderr, "; %llu because the ring was full (raise opts.pages)",
				(unsigned long long)full);
		if (lost > full)
			fprintf(stderr, "; %llu counted by the kernel but never sampled",
				(unsigned long long)(lost - full));
		fputc('\n', stderr);
	}
	if (h->sideband_lost)
		fprintf(stderr,
			"kpscript: %llu process records (comm, fork, exit) lost: some ev.comm "
			"may be stale\n",
			(unsigned long long)h->sideband_lost);
	if (h->corrupt)
		fprintf(stderr, "kpscript: %llu corrupt ring records skipped\n",
			(unsigned long long)h->corrupt);
	return any;
}
