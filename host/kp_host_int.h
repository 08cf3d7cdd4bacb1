/* SPDX-License-Identifier: MIT */
#ifndef KP_HOST_INT_H
#define KP_HOST_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kp_host_opts.h"

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
struct kp_probe;
struct lua_State;
struct kp_usym;

#define KP_FLUSH_MS 100 /* longest a slow probe's event waits */
#define KP_LATENESS_NS 5000000ull /* how late a record may reach its ring */
#define KP_COMM_GRACE_NS 2000000000ull
#define KP_PROC_CAP 32768 /* processes the table holds at most */
#define KP_PROC_GRACE_NS 10000000000ull /* how long an exited process is kept */
#define KP_KSYMS_STALE_NS 10000000000ull
#define KP_EXACT (9007199254740992.0) /* 2^53: doubles hold integers below it */

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
	struct lua_State *L;
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
	uint64_t ksyms_ns; /* when it was read */
	struct kp_usym *usym; /* user frames' symbolizer, once they are named */
	struct kp_proc_table *procs; /* the process table, made on first use */
	struct kp_exec *exec; /* what the kernel read at execs, for the table */
	struct kp_probe *exec_probes[3]; /* the probes that read it (kp_exec_probe.c) */
	bool exec_want; /* a script uses the process table: make them */
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

/* What the main thread runs now, for the callback guard. */
enum { KP_PHASE_MAIN, KP_PHASE_LOOP, KP_PHASE_CB };

/* ---- kp_host.c ---- */

/* The process table, made and seeded from /proc on first use; NULL
 * without memory. */
struct kp_proc_table *kp_host_procs(struct kp_host *h);

/* ---- kp_exec_probe.c ---- */

/* Live, where BPF loads: the probes that read each exec's path, argv and
 * ids for the process table (kp_exec.h), enabled with the others. Nothing
 * when they cannot be made: the table reads /proc as before. */
void kp_exec_probes_start(struct kp_host *h);
/* A script uses the process table (its text names it, or it asks): the
 * probes from the first probe's kp_host_ready() on, or now. Each costs a
 * tracepoint registration, whose removal waits for an RCU grace period
 * (tens of ms at exit): runs that never look at processes go without. */
void kp_exec_want(struct kp_host *h);
/* Does script text @text (@len bytes) name the process table (proc, emit,
 * rule)? */
bool kp_exec_text_wants(const char *text, size_t len);
/* A sample of one of them, fed to h->exec. */
void kp_exec_probe_sample(struct kp_host *h, struct kp_probe *p, const struct kp_sample *s);
/* Their memory, once released. */
void kp_exec_probes_free(struct kp_host *h);
/* The kernel's function symbols (/proc/kallsyms), its BTF, a module's
 * split BTF (NULL + errno): each loaded on first use, NULL when missing. */
const struct kp_ksyms *kp_host_ksyms(struct kp_host *h);
/* kallsyms read again if the copy is KP_KSYMS_STALE_NS old, for an address
 * it does not hold: modules and BPF programs loaded since get named. */
const struct kp_ksyms *kp_host_ksyms_again(struct kp_host *h);
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

#endif
