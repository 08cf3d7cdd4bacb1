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
#include "kp_host_int.h"
#include "kp_ksyms.h"
#include "kp_lua_agg.h"
#include "kp_item.h"
#include "kp_perf_parse.h"
#include "kp_source_live.h"
#include "kp_source_replay.h"
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

/* ---- errors ----------------------------------------------------------- */

#define kp_fail kp_lua_fail

static const char *kp_perm_hint(int err)
{
	if (err == -EACCES || err == -EPERM)
		return " (kpscript needs root, or CAP_PERFMON with access to tracefs)";
	return "";
}

/* ---- probes ----------------------------------------------------------- */

void kp_probe_release(struct kp_probe *p)
{
	struct kp_host *h = p->host;
	lua_State *L = h->L;

	if (p->closed)
		return;
	p->closed = true;
	if (h->src)
		kp_live_remove(h->src, p);
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
		err = kp_live_add(h->src, kp_perf_fd(p->perf, i), kp_perf_ring(p->perf, i), p,
				  o->stack ? KP_PARSE_CALLCHAIN : 0);
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
	if (h->rec && (err = kp_record_tap_probe(h, p)))
		return kp_fail(L, err, "%s: --record %s: %s", p->name, h->opts.record,
			       kp_strerror(err));
	return 0;
}

/* The process table, created and seeded from /proc on first use. */
struct kp_proc_table *kp_host_procs(struct kp_host *h)
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
static int kp_host_ready(lua_State *L, struct kp_host *h)
{
	int cpu, err;

	if (h->src)
		return 0;
	h->comm = kp_comm_new();
	if (!h->comm)
		return kp_fail(L, -ENOMEM, "out of memory");
	kp_procfs_seed_comm(h->comm);
	kp_host_procs(h);
	if (h->opts.record && !h->rec && (err = kp_record_tap_open(h)))
		return kp_fail(L, err, "--record %s: %s", h->opts.record, kp_strerror(err));
	if ((err = kp_host_live(h)))
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
		err = kp_live_add(h->src, kp_perf_fd(h->sideband, i), kp_perf_ring(h->sideband, i),
				  NULL, KP_PARSE_MAPS);
		if (err)
			return kp_fail(L, err, "epoll: %s", kp_strerror(err));
	}
	/* -p PID: the run ends when the process does; a pidfd becomes readable
	 * when it exits */
	if (h->opts.filter_pid) {
		h->pidfd = (int)syscall(SYS_pidfd_open, h->opts.filter_pid, 0);
		if (h->pidfd >= 0 && (err = kp_live_watch(h->src, h->pidfd)))
			return kp_fail(L, err, "epoll: %s", kp_strerror(err));
	}
	return 0;
}

/* ---- event delivery --------------------------------------------------- */

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
	char why[600];
	int n;

	if (!h->src && kp_host_replay(h, why, sizeof(why)))
		return kp_fail(L, -EBADMSG, "%s", why);
	r = kp_replay_find(h->src, name);
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
		kp_replay_bind(h->src, r->probe.id, p);
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

/* ---- the run ---------------------------------------------------------- */

/* core.set_mk64(fn): fn(hi, lo, signed) builds a boxed 64-bit integer */
static int kp_core_set_mk64(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	kp_lua_set_mk64(L, 1);
	return 0;
}

static int kp_open_core(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "tracepoint", kp_core_tracepoint }, { "uprobe", kp_core_uprobe },
		{ "kprobe", kp_core_kprobe },	      { "offsetof", kp_core_offsetof },
		{ "set_mk64", kp_core_set_mk64 },     { NULL, NULL },
	};
	struct kp_host *h = lua_touserdata(L, lua_upvalueindex(1));

	const luaL_Reg *const lists[] = {
		fns,	   kp_lua_util_fns, kp_lua_proc_fns, kp_lua_probe_fns, kp_lua_event_fns,
		kp_run_fns
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
	kp_lua_agg_open(L);
	kp_stack_open(L);
	return 1;
}

struct kp_host *kp_host_open(lua_State *L, const struct kp_host_opts *opts)
{
	struct kp_host *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->L = L;
	h->opts = *opts;
	h->pidfd = -1;
	if (opts->callback_limit_ms > 0)
		kp_guard_start(h);

	kp_lua_probe_open(L);

	kp_lua_event_open(L);

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
	kp_comm_free(h->comm);
	kp_proc_free(h->procs);
	if (h->src)
		h->src->ops->close(h->src);
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
