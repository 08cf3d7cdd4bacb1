// SPDX-License-Identifier: MIT
/*
 * Generated programs in the kernel (see kp_bpf.h): libbpf creates the maps
 * and loads the program; the attachment is a perf event of the tracepoint.
 *
 * Kernel contracts relied on:
 * - A program set on a tracepoint's perf event (PERF_EVENT_IOC_SET_BPF)
 *   belongs to the tracepoint (its trace_event_call's prog_array): it runs
 *   on every CPU, whatever CPU the event was opened on, from then until the
 *   event is closed, enabled or not (enabling only adds the event to the
 *   per-CPU lists the program runs before); when it returns 0 the event
 *   itself records nothing. A program running before its output events
 *   are enabled could only count its records as lost (seen on 5.10 and
 *   6.18), so it makes records only while its "armed" map says so: the
 *   attachment itself stays from load to release, since each perf_event_open
 *   and close of a tracepoint patches the kernel's text at its call sites
 *   (a 6.12 guest under TCG once oopsed in __schedule, inside a half-patched
 *   sched_switch site, while kpscript attached and detached at every
 *   enable).
 * - bpf_perf_event_output() from a tracepoint program writes a sample to
 *   the BPF output event of the current CPU with the tracepoint's
 *   registers, so TID, TIME, CPU and a callchain are as a tracepoint's own.
 * - Maps and programs live while a file descriptor (or an attachment made
 *   through one) holds them; this process's exit closes them all.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>

#include "kp_bpf.h"
#include "kp_bpf_gen.h"
#include "kp_err.h"
#include "kp_perf.h"

struct kp_bpf {
	int scratch, events, armed, prog, tp; /* tp: the attachment */
	int ncpus; /* possible CPUs: the per-CPU value's count */
};

#define KP_VERIFIER_LOG (1u << 20)

void kp_bpf_log_tail(const char *log, char *msg, size_t len)
{
	size_t n = strlen(log);
	const char *p = log + n;
	int lines = 0;

	while (n && (log[n - 1] == '\n' || log[n - 1] == ' '))
		n--, p--;
	while (p > log && lines < 4) {
		p--;
		if (*p == '\n')
			lines++;
	}
	if (*p == '\n')
		p++;
	snprintf(msg, len, "%.*s", (int)(log + n - p), p);
}

static int kp_bpf_attach(struct kp_bpf *b, int tp_id)
{
	struct perf_event_attr a = { 0 };

	a.size = sizeof(a);
	a.type = PERF_TYPE_TRACEPOINT;
	a.config = (uint64_t)tp_id;
	a.disabled = 1;
	b->tp = (int)syscall(SYS_perf_event_open, &a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (b->tp < 0)
		return -errno;
	if (ioctl(b->tp, PERF_EVENT_IOC_SET_BPF, b->prog) ||
	    ioctl(b->tp, PERF_EVENT_IOC_ENABLE, 0)) {
		int err = -errno;

		close(b->tp);
		b->tp = -1;
		return err;
	}
	return 0;
}

struct kp_bpf *kp_bpf_load(const struct kp_bpf_prog *prog, int tp_id, const char *raw_name,
			   const struct kp_perf *out, char *msg, size_t len)
{
	enum bpf_prog_type type = prog->raw ? BPF_PROG_TYPE_RAW_TRACEPOINT
					    : BPF_PROG_TYPE_TRACEPOINT;
	LIBBPF_OPTS(bpf_prog_load_opts, o);
	struct kp_bpf *b = calloc(1, sizeof(*b));
	struct bpf_insn *insn = NULL;
	char *log = NULL;
	int err;

	if (!b) {
		snprintf(msg, len, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	b->scratch = b->events = b->armed = b->prog = b->tp = -1;
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus < 0) {
		err = b->ncpus;
		snprintf(msg, len, "counting the possible CPUs: %s", kp_strerror(err));
		goto fail;
	}
	b->scratch = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "kp_scratch", 4, KP_BPF_SCRATCH_SIZE,
				    1, NULL);
	if (b->scratch < 0) {
		err = -errno;
		snprintf(msg, len, "creating its scratch map: %s", kp_strerror(err));
		goto fail;
	}
	b->events = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "kp_events", 4, 4,
				   (uint32_t)b->ncpus, NULL);
	if (b->events < 0) {
		err = -errno;
		snprintf(msg, len, "creating its events map: %s", kp_strerror(err));
		goto fail;
	}
	b->armed = bpf_map_create(BPF_MAP_TYPE_ARRAY, "kp_armed", 4, 4, 1, NULL);
	if (b->armed < 0) {
		err = -errno;
		snprintf(msg, len, "creating its armed map: %s", kp_strerror(err));
		goto fail;
	}
	for (size_t i = 0; i < kp_perf_count(out); i++) {
		uint32_t cpu = (uint32_t)kp_perf_cpu(out, i);
		int fd = kp_perf_fd(out, i);

		if (bpf_map_update_elem(b->events, &cpu, &fd, BPF_ANY)) {
			err = -errno;
			snprintf(msg, len, "adding CPU %u's output: %s", cpu, kp_strerror(err));
			goto fail;
		}
	}
	/* the maps' fds go into the instructions */
	insn = malloc(prog->n * sizeof(*insn));
	if (!insn) {
		err = -ENOMEM;
		snprintf(msg, len, "out of memory");
		goto fail;
	}
	memcpy(insn, prog->insn, prog->n * sizeof(*insn));
	for (size_t i = 0; i < prog->n; i++)
		if (insn[i].code == (BPF_LD | BPF_DW | BPF_IMM) &&
		    insn[i].src_reg == BPF_PSEUDO_MAP_FD)
			insn[i].imm = insn[i].imm == KP_BPF_MAP_SCRATCH	 ? b->scratch
				      : insn[i].imm == KP_BPF_MAP_EVENTS ? b->events
									 : b->armed;
	b->prog = bpf_prog_load(type, "kpscript", "Dual MIT/GPL", insn, prog->n, &o);
	if (b->prog < 0) {
		/* again, with the verifier's log */
		log = calloc(1, KP_VERIFIER_LOG);
		if (log) {
			o.log_buf = log;
			o.log_size = KP_VERIFIER_LOG;
			o.log_level = 1;
			b->prog =
			    bpf_prog_load(type, "kpscript", "Dual MIT/GPL", insn, prog->n, &o);
		}
	}
	err = b->prog < 0 ? -errno : 0;
	free(insn);
	if (err) {
		char tail[1024] = "";

		if (log)
			kp_bpf_log_tail(log, tail, sizeof(tail));
		snprintf(msg, len, "the kernel refused the program for '%s': %s%s%s",
			 prog->spec ? prog->spec : "", kp_strerror(err),
			 tail[0] ? "; the verifier said:\n" : "", tail);
		free(log);
		goto fail;
	}
	free(log);
	if (prog->raw) {
		/* the raw tracepoint holds the program while this fd lives */
		b->tp = bpf_raw_tracepoint_open(raw_name, b->prog);
		err = b->tp < 0 ? -errno : 0;
	} else {
		err = kp_bpf_attach(b, tp_id);
	}
	if (err) {
		snprintf(msg, len, "attaching the program to the %stracepoint: %s",
			 prog->raw ? "raw " : "", kp_strerror(err));
		goto fail;
	}
	return b;
fail:
	kp_bpf_close(b);
	errno = -err;
	return NULL;
}

int kp_bpf_enable(struct kp_bpf *b, bool on)
{
	uint32_t key = 0, v = on;

	if (bpf_map_update_elem(b->armed, &key, &v, BPF_ANY))
		return -errno;
	return 0;
}

int kp_bpf_counts(const struct kp_bpf *b, uint64_t *hits, uint64_t *lost, uint64_t *faults)
{
	size_t stride = (KP_BPF_SCRATCH_SIZE + 7) & ~7u;
	unsigned char *v = malloc(stride * (size_t)b->ncpus);
	uint32_t key = 0;

	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(b->scratch, &key, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	*hits = *lost = *faults = 0;
	for (int c = 0; c < b->ncpus; c++) {
		uint64_t n[3];

		memcpy(n, v + stride * (size_t)c + KP_BPF_CNT_HITS, sizeof(n));
		*hits += n[0];
		*lost += n[1];
		*faults += n[2];
	}
	free(v);
	return 0;
}

static void *kp_detach_one(void *arg)
{
	close(*(int *)arg);
	return NULL;
}

void kp_bpf_detach_all(struct kp_bpf *const *v, size_t n)
{
	pthread_t *t = calloc(n ? n : 1, sizeof(*t));
	bool *started = calloc(n ? n : 1, sizeof(*started));

	for (size_t i = 0; i < n; i++) {
		bool ok;

		if (!v[i] || v[i]->tp < 0)
			continue;
		/* a thread per detach; where none can be made, detach here */
		ok = t && started && !pthread_create(&t[i], NULL, kp_detach_one, &v[i]->tp);
		if (started)
			started[i] = ok;
		if (!ok)
			close(v[i]->tp);
	}
	for (size_t i = 0; i < n; i++) {
		if (started && started[i])
			pthread_join(t[i], NULL);
		if (v[i])
			v[i]->tp = -1;
	}
	free(t);
	free(started);
}

void kp_bpf_close(struct kp_bpf *b)
{
	if (!b)
		return;
	/* the attachment first, so that the program stops before its maps go */
	if (b->tp >= 0)
		close(b->tp);
	if (b->prog >= 0)
		close(b->prog);
	if (b->events >= 0)
		close(b->events);
	if (b->armed >= 0)
		close(b->armed);
	if (b->scratch >= 0)
		close(b->scratch);
	free(b);
}

int kp_bpf_available(char *msg, size_t len)
{
	/* r0 = 0; exit: the least tracepoint program */
	const struct bpf_insn insn[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "kp_probe", "Dual MIT/GPL", insn, 2, NULL);

	if (fd < 0) {
		int err = -errno;

		if (err == -ENOSYS)
			snprintf(msg, len, "this kernel has no BPF (CONFIG_BPF_SYSCALL is off)");
		else if (err == -EINVAL)
			snprintf(msg, len,
				 "this kernel takes no BPF tracepoint programs "
				 "(CONFIG_BPF_EVENTS is off)");
		else
			snprintf(msg, len, "BPF is not allowed here: %s%s", kp_strerror(err),
				 err == -EPERM ? " (kpscript needs root, or CAP_BPF and "
						 "CAP_PERFMON)"
					       : "");
		return err;
	}
	close(fd);
	return 0;
}
