// SPDX-License-Identifier: MIT
/*
 * The hub (docs/DESIGN.md, "The map"): struct kp_host, kp.core made from
 * the binding files' tables of functions, the lazy resources they share
 * (comm and process tables, the run's source, kallsyms, BTF, the user
 * symbolizer), the Lua API's entry points, shutdown.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lauxlib.h>

#include "kp_comm.h"
#include "kp_err.h"
#include "kp_btf.h"
#include "kp_clock.h"
#include "kp_host.h"
#include "kp_host_int.h"
#include "kp_probe.h"
#include "kp_ksyms.h"
#include "kp_lua_agg.h"
#include "kp_source_live.h"
#include "kp_source_replay.h"
#include "kp_lua.h"
#include "kp_perf.h"
#include "kp_bpf.h"
#include "kp_exec.h"
#include "kp_proc.h"
#include "kp_procfs.h"
#include "kp_lua_stack.h"
#include "kp_usym.h"

/* lua-cjson (Debian's liblua5.1-cjson, built for the Lua 5.1 API that LuaJIT
 * provides); its header pulls in PUC Lua's, so only the entry is declared */
int luaopen_cjson(lua_State *L);

/* ---- tables and the live source, made on first use --------------------- */

void kp_host_script_text(struct kp_host *h, const char *text, size_t len)
{
	if (kp_exec_text_wants(text, len))
		kp_exec_want(h);
}

static ssize_t kp_host_proc_kept(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	return kp_exec_answer(((struct kp_host *)ctx)->exec, pid, file, buf, len);
}

/* The process table, created and seeded from /proc on first use. */
struct kp_proc_table *kp_host_procs(struct kp_host *h)
{
	if (!h->procs) {
		h->procs = kp_proc_new(KP_PROC_CAP);
		if (h->procs) {
			struct kp_proc_source src = kp_procfs_source;

			src.kept = kp_host_proc_kept;
			src.ctx = h;
			kp_proc_set_source(h->procs, &src);
			kp_proc_seed(h->procs);
		}
	}
	return h->procs;
}

/* The source the run reads from a kernel: the rings, with the signalfd
 * watched. */
static int kp_host_live(struct kp_host *h)
{
	int err;

	h->src = kp_live_new(KP_LATENESS_NS);
	if (!h->src)
		return -errno;
	if (h->opts.sigfd >= 0 && (err = kp_live_watch(h->src, h->opts.sigfd)))
		return err;
	return 0;
}

/* Lazily: the comm table, the live source and the side-band ring that
 * keeps the tables. */
int kp_host_ready(struct kp_host *h, char *msg, size_t len)
{
	int cpu, err;

	if (h->src)
		return 0;
	h->comm = kp_comm_new();
	if (!h->comm) {
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	kp_procfs_seed_comm(h->comm);
	kp_host_procs(h);
	if (h->opts.record && !h->rec && (err = kp_record_tap_open(h))) {
		snprintf(msg, len, "--record %s: %s", h->opts.record, kp_strerror(err));
		return err;
	}
	if ((err = kp_host_live(h))) {
		snprintf(msg, len, "epoll: %s", kp_strerror(err));
		return err;
	}
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
		snprintf(msg, len, "perf_event_open of the side-band event on CPU %d: %s%s", cpu,
			 kp_strerror(err), kp_perm_hint(err));
		return err;
	}
	for (size_t i = 0; i < kp_perf_count(h->sideband); i++) {
		err = kp_live_add(h->src, kp_perf_fd(h->sideband, i), kp_perf_ring(h->sideband, i),
				  NULL, KP_PARSE_MAPS);
		if (err) {
			snprintf(msg, len, "epoll: %s", kp_strerror(err));
			return err;
		}
	}
	/* -p PID: the run ends when the process does; a pidfd becomes readable
	 * when it exits */
	if (h->opts.filter_pid) {
		h->pidfd = (int)syscall(SYS_pidfd_open, h->opts.filter_pid, 0);
		if (h->pidfd >= 0 && (err = kp_live_watch(h->src, h->pidfd))) {
			snprintf(msg, len, "epoll: %s", kp_strerror(err));
			return err;
		}
	}
	/* before the script's probes: at a tracepoint both use, its program
	 * runs first, so what it reads is there when the script's handler asks */
	if (h->exec_want)
		kp_exec_probes_start(h);
	return 0;
}

/* ---- the run's source; kallsyms and BTF, loaded on first use ---------- */

/* Open the recording once: the run's source, and the tables it feeds. 0, or
 * -errno with @why set. */
static int kp_host_replay(struct kp_host *h, char *why, size_t len)
{
	char err[512];

	h->src = kp_replay_open(h->opts.replay, h->opts.replay_realtime, err, sizeof(err));
	if (!h->src) {
		snprintf(why, len, "--replay: %s", err);
		return -EBADMSG;
	}
	h->rt_off = kp_replay_rt_offset(h->src);
	h->have_rt_off = true;
	h->comm = kp_comm_new();
	h->procs = kp_proc_new(KP_PROC_CAP);
	if (!h->comm || !h->procs) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	kp_proc_set_source(h->procs, kp_replay_proc_source(h->src));
	return 0;
}

int kp_host_source(struct kp_host *h, char *why, size_t len)
{
	int err;

	if (h->src)
		return 0;
	if (h->opts.replay)
		return kp_host_replay(h, why, len);
	/* no probes, but timers or a command: a loop of signals and time */
	if (!h->ntimers && !h->opts.command)
		return 0;
	err = kp_host_live(h);
	if (err)
		snprintf(why, len, "epoll: %s", kp_strerror(err));
	return err;
}

/* The kernel's function symbols, loaded once; NULL when unreadable. */
const struct kp_ksyms *kp_host_ksyms(struct kp_host *h)
{
	if (!h->ksyms_tried) {
		h->ksyms_tried = true;
		h->ksyms_ns = kp_now_ns();
		h->ksyms = kp_ksyms_load();
	}
	return h->ksyms;
}

const struct kp_ksyms *kp_host_ksyms_again(struct kp_host *h)
{
	if (h->ksyms_tried && kp_now_ns() - h->ksyms_ns >= KP_KSYMS_STALE_NS) {
		kp_ksyms_free(h->ksyms);
		h->ksyms = NULL;
		h->ksyms_tried = false;
	}
	return kp_host_ksyms(h);
}

/* The kernel's BTF, loaded once; NULL when the kernel has none. */
const struct kp_btf *kp_host_btf(struct kp_host *h)
{
	if (!h->btf_tried) {
		h->btf_tried = true;
		h->btf = kp_btf_load();
	}
	return h->btf;
}

/* The split BTF of @module, loaded once per module. NULL + errno. */
const struct kp_btf *kp_host_module_btf(struct kp_host *h, const char *module)
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

/* ---- kp.core, the entry points, open, shutdown ------------------------ */

/* core.set_mk64(fn): fn(hi, lo, signed) builds a boxed 64-bit integer */
static int kp_core_set_mk64(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	kp_lua_set_mk64(L, 1);
	return 0;
}

/* core.set_entries(run, atexit, reload): the functions the host calls */
static int kp_core_set_entries(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);

	for (int e = 0; e < KP_NENTRIES; e++) {
		luaL_checktype(L, e + 1, LUA_TFUNCTION);
		luaL_unref(L, LUA_REGISTRYINDEX, h->entry_ref[e]);
		lua_pushvalue(L, e + 1);
		h->entry_ref[e] = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	return 0;
}

void kp_host_push_entry(struct kp_host *h, enum kp_entry e)
{
	lua_rawgeti(h->L, LUA_REGISTRYINDEX, h->entry_ref[e]);
}

/* lua/kp.lua, compiled in (the Makefile's build/lua/kp.o) */
extern const char luaJIT_BC_kp[];

int kp_host_load_api(struct kp_host *h)
{
	lua_State *L = h->L;
	int err;

	/* as LuaJIT's require loads compiled-in modules: the size is unknown
	 * and the bytecode ends itself */
	if ((err = luaL_loadbuffer(L, luaJIT_BC_kp, ~(size_t)0, "=kp")))
		return err;
	lua_pushliteral(L, "kp");
	if ((err = kp_pcall(L, 1, 1)))
		return err;
	/* what require "kp" returns from now on */
	lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
	lua_pushvalue(L, -2);
	lua_setfield(L, -2, "kp");
	lua_pop(L, 1);
	lua_setglobal(L, "kp");
	return 0;
}

/* core.builtins() -> { "pid", ... }: the names kpscript sets on every event */
static int kp_core_builtins(lua_State *L)
{
	lua_newtable(L);
	for (size_t i = 0; kp_builtin_names[i]; i++) {
		lua_pushstring(L, kp_builtin_names[i]);
		lua_rawseti(L, -2, (int)i + 1);
	}
	return 1;
}

static int kp_open_core(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "set_mk64", kp_core_set_mk64 },
		{ "set_entries", kp_core_set_entries },
		{ "builtins", kp_core_builtins },
		{ NULL, NULL },
	};
	struct kp_host *h = lua_touserdata(L, lua_upvalueindex(1));

	const luaL_Reg *const lists[] = {
		fns,	    kp_lua_util_fns, kp_lua_proc_fns, kp_lua_probe_fns, kp_lua_event_fns,
		kp_run_fns, kp_lua_stack_fns
	};

	lua_createtable(L, 0, 32);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		for (const luaL_Reg *r = lists[i]; r->name; r++) {
			lua_pushlightuserdata(L, h);
			lua_pushcclosure(L, r->func, 1);
			lua_setfield(L, -2, r->name);
		}
	}
	lua_pushstring(L, KP_VERSION);
	lua_setfield(L, -2, "version");
	lua_pushnumber(L, KP_MAX_PAGES);
	lua_setfield(L, -2, "max_pages");
	kp_lua_agg_open(L);
	return 1;
}

struct kp_host *kp_host_open(lua_State *L, const struct kp_host_opts *opts)
{
	struct kp_host *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->L = L;
	for (int e = 0; e < KP_NENTRIES; e++)
		h->entry_ref[e] = LUA_NOREF;
	h->opts = *opts;
	h->pidfd = -1;
	if (opts->callback_limit_ms > 0)
		kp_guard_start(h);

	kp_lua_probe_open(L);
	kp_lua_proc_open(L, h);
	kp_lua_event_open(L, h);
	kp_lua_stack_open(L, h);

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

/* Every probe's program detached at once, before the probes go one by
 * one (kp_bpf_detach_all()). */
static void kp_host_detach_progs(struct kp_host *h)
{
	struct kp_bpf *v[64];
	size_t n = 0;

	for (struct kp_probe *p = h->probes; p; p = p->next) {
		if (p->bpf)
			v[n++] = p->bpf;
		if (n == 64) {
			kp_bpf_detach_all(v, n);
			n = 0;
		}
	}
	kp_bpf_detach_all(v, n);
}

void kp_host_shutdown(struct kp_host *h)
{
	if (!h)
		return;
	kp_host_detach_progs(h);
	for (struct kp_probe *p = h->probes; p; p = p->next)
		kp_lua_probe_release(h->L, p);
	kp_perf_close(h->sideband);
	h->sideband = NULL;
	kp_record_tap_close(h);
	if (h->src)
		h->corrupt = kp_live_corrupt(h->src);
	if (h->pidfd >= 0)
		close(h->pidfd);
	h->pidfd = -1;
}

void kp_host_free(struct kp_host *h)
{
	if (!h)
		return;
	kp_guard_stop(h);
	kp_exec_probes_free(h);
	kp_comm_free(h->comm);
	kp_proc_free(h->procs);
	if (h->src)
		h->src->ops->close(h->src);
	kp_ksyms_free(h->ksyms);
	kp_usym_free(h->usym);
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
		if (p->internal) {
			fprintf(stderr,
				"kpscript: the process table missed %llu of %llu execs' arguments "
				"(%s; read from /proc instead)\n",
				(unsigned long long)lost, (unsigned long long)(lost + p->received),
				p->name);
			continue;
		}
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

struct kp_usym *kp_host_usym(struct kp_host *h)
{
	if (!h->usym)
		h->usym = kp_usym_new();
	return h->usym;
}
