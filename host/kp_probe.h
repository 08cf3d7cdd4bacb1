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

enum kp_probe_kind { KP_TRACEPOINT, KP_UPROBE, KP_URETPROBE, KP_KPROBE, KP_KRETPROBE };

#define KP_DEFAULT_PAGES 256 /* 1 MiB per CPU with 4 KiB pages */
#define KP_MAX_PAGES 65536

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
	/* tracepoints */
	const char *sys, *event;
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

/* Disable and close @p's perf events and remove its dynamic event; its
 * format and field table go too. Idempotent. */
void kp_probe_release(struct kp_probe *p);

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
	 * @msg. */
	int (*define)(struct kp_host *h, const struct kp_probe_spec *s, int i, bool dry,
		      struct kp_probe_def *d, char *msg, size_t len);
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
