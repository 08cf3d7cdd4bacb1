/* SPDX-License-Identifier: MIT */
#ifndef KP_HOST_INT_H
#define KP_HOST_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_host.h"
#include "kp_probe.h"

/*
 * The host's insides, shared by the files that make it up (kp_host.c and
 * the kp_lua_*, kp_guard, kp_record_tap files): the host and probe structs
 * and the functions they call on each other. Nothing outside host/ sees
 * this.
 */
struct kp_btf;
struct kp_comm;
struct kp_sample;
struct kp_format;
struct kp_ksyms;
struct kp_source;
struct kp_perf;
struct kp_proc_table;
struct kp_rec_writer;
struct kp_usym;

#define KP_PROBE_MT "kp.Probe"

#define KP_FLUSH_MS 100 /* longest a slow probe's event waits */
#define KP_LATENESS_NS 5000000ull /* how late a record may reach its ring */
#define KP_COMM_GRACE_NS 2000000000ull
#define KP_PROC_CAP 32768 /* processes the table holds at most */
#define KP_PROC_GRACE_NS 10000000000ull /* how long an exited process is kept */
#define KP_EXACT (9007199254740992.0) /* 2^53: doubles hold integers below it */

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
	int entry_ref[KP_NENTRIES]; /* registry refs of the API's entry points */
	struct kp_host_opts opts;
	struct kp_comm *comm;
	struct kp_source *src; /* where the run's items come from, once made */
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
	struct kp_ksyms *ksyms; /* /proc/kallsyms: kprobes, kernel frames */
	bool ksyms_tried;
	struct kp_usym *usym; /* user frames' symbolizer, once they are named */
	struct kp_proc_table *procs; /* the process table, made on first use */
	struct kp_rec_writer *rec; /* --record: raw events to a file */
	int64_t rt_off; /* a replay's CLOCK_REALTIME - MONOTONIC, the recording's */
	bool have_rt_off;
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

/* The host of a kp.core function (its upvalue 1). */
static inline struct kp_host *kp_host_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

/* What the main thread runs now, for the callback guard. */
enum { KP_PHASE_MAIN, KP_PHASE_LOOP, KP_PHASE_CB };

/* ---- kp_host.c ---- */

/* The process table, made and seeded from /proc on first use; NULL
 * without memory. */
struct kp_proc_table *kp_host_procs(struct kp_host *h);
/* The kernel's function symbols (/proc/kallsyms), its BTF, a module's
 * split BTF (NULL + errno): each loaded on first use, NULL when missing. */
const struct kp_ksyms *kp_host_ksyms(struct kp_host *h);
const struct kp_btf *kp_host_btf(struct kp_host *h);
const struct kp_btf *kp_host_module_btf(struct kp_host *h, const char *module);
/*
 * kp_host_ready() - what a live probe needs before its rings are opened:
 * the process tables, --record's file, the run's live source and its
 * side-band event. 0, or -errno with @msg.
 */
int kp_host_ready(struct kp_host *h, char *msg, size_t len);
/* The user symbolizer, made on first use (from then on kp_deliver.c
 * follows processes' maps); NULL without memory. */
struct kp_usym *kp_host_usym(struct kp_host *h);

/* kp.core functions of the other files, each taking the host as upvalue 1 */
extern const luaL_Reg kp_lua_util_fns[], kp_lua_proc_fns[], kp_lua_probe_fns[], kp_lua_event_fns[],
    kp_run_fns[], kp_lua_stack_fns[];

/*
 * kp_host_source() - make the run's source if it has none yet: a replay's
 * recording, or, live without probes, one for timers and -c's command.
 * h->src stays NULL when there is nothing to run. 0, or -errno with @why.
 */
int kp_host_source(struct kp_host *h, char *why, size_t len);

/* ---- kp_deliver.c ---- */

struct kp_item;

/* Hand one item of the run's source to where it goes. */
void kp_deliver(struct kp_host *h, const struct kp_item *it);

/* ---- kp_lua_probe.c ---- */

/* Register the kp.Probe metatable and the registry's anchor table. */
void kp_lua_probe_open(lua_State *L);
/* kp_probe_release(), and @p's handler and event table let go. */
void kp_lua_probe_release(lua_State *L, struct kp_probe *p);
/* Its lost events: exact once the run has ended, else as counted. */
uint64_t kp_probe_lost(const struct kp_probe *p);

/* ---- kp_lua_proc.c ---- */

/* Register the kp.Proc metatable, for the process table of @h. */
void kp_lua_proc_open(lua_State *L, struct kp_host *h);
/* Push what the process table knows of @pid (with @parent, of its
 * parent) as a kp.Proc table, or nil. Return: 1. */
int kp_lua_proc_push(lua_State *L, struct kp_host *h, int32_t pid, bool parent);

/* ---- kp_lua_event.c ---- */

/* Register the kp.Event metatable, for the events of @h. */
void kp_lua_event_open(lua_State *L, struct kp_host *h);
/* The names kpscript sets on every event (pid, tid, cpu, time, comm,
 * probe), NULL-terminated. */
extern const char *const kp_builtin_names[];
/* Is @name one of them? */
bool kp_is_builtin(const char *name);
/* @p's event table and field keys, and its handler (the function at
 * @fn_index, if any), once its format is known. 0 or -errno. */
int kp_probe_setup_lua(lua_State *L, struct kp_probe *p, int fn_index);
void kp_lua_event_push(lua_State *L, struct kp_probe *p, const struct kp_sample *s,
		       const char *comm);

/* ---- kp_record_tap.c: --record, called only while h->rec is set ---- */

struct kp_task_rec;

/* Create h->opts.record, write the processes there now, and read /proc
 * through the tap from now on. 0 or -errno. */
int kp_record_tap_open(struct kp_host *h);
/* Record @p's format (it gets its recording id). 0 or -errno. */
int kp_record_tap_probe(struct kp_host *h, struct kp_probe *p);
void kp_record_tap_sample(struct kp_host *h, const struct kp_probe *p, const struct kp_sample *s);
void kp_record_tap_lost(struct kp_host *h, const struct kp_probe *p, uint64_t lost);
void kp_record_tap_task(struct kp_host *h, const struct kp_task_rec *r);
/* Write what is buffered if 100 ms have passed since the last time. */
void kp_record_tap_flush(struct kp_host *h, uint64_t now);
/* Close the recording (its end record); a failure is said on stderr. */
void kp_record_tap_close(struct kp_host *h);

/* ---- kp_guard.c ---- */

/* Start the guard's timer for @h (one host per process), if
 * --callback-limit is on; stop it. */
void kp_guard_start(struct kp_host *h);
void kp_guard_stop(struct kp_host *h);
/*
 * kp_guard_call() - call a script's function from the run: the function
 * and @nargs arguments on top of @L's stack, kp_lua_traceback() at stack
 * index 1 (kp.run's). Pops them. On an error the run stops: os.exit(N)
 * becomes the run's exit status, anything else its error.
 * Return: lua_pcall's status.
 */
int kp_guard_call(struct kp_host *h, lua_State *L, int nargs);

#endif
