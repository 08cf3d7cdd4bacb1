/* SPDX-License-Identifier: MIT */
#ifndef KP_PROBE_H
#define KP_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Probes in plain C: a declaration's spec in, a probe attached to the
 * kernel (or a dry-run's definition, or a recorded probe in a replay) out,
 * -errno and a message on failure. kp_probe_create() is the one place that
 * knows the three ways a run can go; each kind of probe (tracepoint,
 * uprobe, kprobe) is a file of its own behind struct kp_kind. No Lua here:
 * the bindings (kp_lua_probe.c) turn Lua arguments into a spec.
 */
struct kp_host;
struct kp_probe;
struct kp_format;
struct kp_perf;
struct kp_bpf;
struct kp_bpf_prog;
struct kp_ftrace;

enum kp_probe_kind { KP_TRACEPOINT, KP_UPROBE, KP_URETPROBE, KP_KPROBE, KP_KRETPROBE };

#define KP_DEFAULT_PAGES 256 /* 1 MiB per CPU with 4 KiB pages */
#define KP_MAX_PAGES 65536

struct kp_probe {
	struct kp_host *host;
	enum kp_probe_kind kind;
	char *name; /* "tracepoint:sched:sched_switch", what ev.probe holds */
	char *event; /* our dynamic event's name in kp_dynevent_group(), or NULL */
	char *def; /* the dynamic_events command that created it */
	struct kp_format *fmt;
	struct kp_perf *perf;
	struct kp_bpf *bpf; /* the program that makes its records, or NULL */
	struct kp_ftrace *ftrace; /* the instance its records are read from (an event
				   * probe's), or NULL */
	char *fmt_text; /* its records' format when no tracefs file has it */
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
	uint64_t faults; /* strings a BPF program could not read */
	unsigned int stack; /* KP_PERF_STACK_*: samples carry a callchain */
	long ra_field; /* format index of __kp_ra (the entry's return address), or -1 */
	long ip_field, fn_field; /* an entry kprobe's __probe_ip and __kp_fn, or -1 */
	long retip_field; /* a kretprobe's __probe_ret_ip, or -1 */
	bool closed, dry, final, attached;
	bool dirty; /* the script added keys to the event table */
	bool by_bpf; /* its records are a BPF program's (p->bpf while open) */
	bool by_ftrace; /* its records come from an ftrace ring (p->ftrace while open) */
	int internal; /* kpscript's own (KP_EXEC_*, kp_exec_probe.c): no handler, not
		       * counted among the script's probes */
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

/* Options every probe takes. */
struct kp_popts {
	const char *filter; /* kernel-side filter (PERF_EVENT_IOC_SET_FILTER), or NULL */
	unsigned int stack; /* KP_PERF_STACK_* */
	size_t pages; /* ring pages per CPU, a power of two */
	unsigned int wakeup; /* wake the reader every N events; 0: a quarter ring */
};

/* A kprobe argument named from BTF: field @name (NULL: named after the
 * path), the path @expr ("new->uid", "$retval"). */
struct kp_btf_name {
	const char *name;
	const char *expr;
};

struct kp_probe_spec {
	enum kp_probe_kind kind;
	struct kp_popts opts;
	const char *args; /* raw fetch arguments, "a=%di b=+8(%si):u32", or "" */
	/* tracepoints; with @args, read by a BPF program ("bpf") or an event
	 * probe ("eprobe"): @backend, or NULL for the best this kernel has */
	const char *sys, *event;
	const char *backend;
	/* uprobes: PATH:SYM+OFF, or PATH at file offset OFF when SYM is NULL */
	const char *path, *sym;
	uint64_t off;
	/* kprobes: candidates tried in order, SYMBOL, SYMBOL+OFF, MOD:SYMBOL */
	const char *const *targets;
	int ntargets;
	int maxactive; /* kretprobes; 0: the kernel's default */
	const struct kp_btf_name *btf; /* arguments by name */
	size_t nbtf;
};

/*
 * kp_probe_create() - make @p (a new probe of @h, closed) what @s declares:
 * live, the kernel's event created, opened on every CPU and hooked into the
 * run's source; with --dry-run, its definition printed; in a replay, the
 * recording's probe of its name (or a probe that sees nothing, said once).
 * Return: 0, or -errno with @msg. On failure @p stays closed and nothing of
 * it is left in the kernel.
 */
int kp_probe_create(struct kp_host *h, struct kp_probe *p, const struct kp_probe_spec *s, char *msg,
		    size_t len);

/* Take @p off its host's list of probes. */
void kp_probe_unlink(struct kp_probe *p);

/* Disable and close @p's perf events and remove its dynamic event; its
 * format and field table go too. Idempotent. */
void kp_probe_release(struct kp_probe *p);

/* Its lost events: exact once the run has ended, else as counted. */
uint64_t kp_probe_lost(const struct kp_probe *p);

/* The names kpscript sets on every event (pid, tid, cpu, time, comm,
 * probe), NULL-terminated. */
extern const char *const kp_builtin_names[];
/* Is @name one of them? */
bool kp_is_builtin(const char *name);

/*
 * kp_probe_arg_append() - " NAME=FETCH" added to @args (size @len), an
 * argument compiled from BTF expression @expr: refused when NAME is a
 * builtin, common_* or already there (-EEXIST), or when it does not fit
 * (-E2BIG), with @err.
 */
int kp_probe_arg_append(char *args, size_t len, const char *name, const char *fetch,
			const char *expr, char *err, size_t errlen);

/* " (kpscript needs root...)" after a message for EACCES or EPERM, else "". */
const char *kp_perm_hint(int err);

/* ---- what each kind of probe provides (kp_probe_*.c) ---- */

/* One candidate, defined. */
struct kp_probe_def {
	char name[4600]; /* what ev.probe holds: "kprobe:commit_creds" */
	char event[64]; /* the dynamic event's name in our group */
	char def[8192]; /* the dynamic_events command; "" for a static tracepoint */
	char plain[8192]; /* the same without optional hidden arguments, or "" */
	struct kp_format *fmt; /* a static tracepoint's format, read live */
	struct kp_bpf_prog *prog; /* fetch arguments on a tracepoint, compiled */
	char *listing; /* the program as --dry-run prints it */
	bool eprobe; /* @def is an event probe: read from an ftrace instance */
};

struct kp_kind {
	/* the number of candidates */
	int (*candidates)(const struct kp_probe_spec *s);
	/* the name of candidate @i, as a replay finds it recorded */
	void (*name)(const struct kp_probe_spec *s, int i, char *name, size_t len);
	/* before any candidate, live: can this kernel take the kind at all?
	 * 0, or -errno with @msg; may be NULL */
	int (*available)(const struct kp_probe_spec *s, char *msg, size_t len);
	/* candidate @i checked and defined (@dry: nothing is read that only a
	 * live run needs). 0; -KP_ENOSYM when the kernel lacks it (the next
	 * is tried, and none() speaks if every one is); another -errno with
	 * @msg, *@next set when another candidate may still do (it is the
	 * error if none does). */
	int (*define)(struct kp_host *h, const struct kp_probe_spec *s, int i, bool dry,
		      struct kp_probe_def *d, bool *next, char *msg, size_t len);
	/* every candidate is missing: the error (NULL: the last candidate's
	 * message stands) */
	int (*none)(struct kp_host *h, const struct kp_probe_spec *s, char *msg, size_t len);
	/* the file dynamic events of this kind are written to, its kernel
	 * option, for "this kernel has no ..." (NULL: a static tracepoint) */
	const char *file, *config;
};

extern const struct kp_kind kp_kind_tracepoint, kp_kind_uprobe, kp_kind_kprobe;

/* Helpers for the kinds. */
/* An event name from a symbol: [A-Za-z0-9_], at most 40 bytes, unique. */
void kp_probe_event_name(struct kp_host *h, const char *prefix, const char *sym, char *out,
			 size_t len);
/* Can this kernel take dynamic events through @file? 0, or -errno with
 * @msg ("NAME: this kernel has no FILE (CONFIG is off)HINT"). */
int kp_probe_dyn_available(const char *name, const char *file, const char *config, const char *hint,
			   char *msg, size_t len);

#endif
