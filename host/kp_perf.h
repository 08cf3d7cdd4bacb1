/* SPDX-License-Identifier: MIT */
#ifndef KP_PERF_H
#define KP_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One perf event opened on every online CPU, each with its own mmapped ring.
 * Samples carry TID, TIME (CLOCK_MONOTONIC), CPU and RAW; every record
 * carries sample_id so side-band and lost records have a time too.
 */
struct kp_perf;
struct kp_ring;

enum kp_perf_kind {
	KP_PERF_TRACEPOINT, /* a tracefs event id: tracepoint, uprobe, kprobe */
	KP_PERF_SIDEBAND, /* a dummy software event for COMM/FORK/EXIT and MMAP2 */
	KP_PERF_BPF_OUTPUT, /* where a BPF program writes its records (kp_bpf.h) */
};

/**
 * kp_perf_open() - open the event on every online CPU, disabled.
 * @kind: what to open
 * @id: tracefs event id (KP_PERF_TRACEPOINT)
 * @pages: data pages per CPU ring, a power of two
 * @wakeup: wake the reader every @wakeup events; 0 for a quarter-ring
 *          watermark (the default: batching is what makes high rates possible)
 * Return: the set, or NULL with errno set; *@failed_cpu names the CPU whose
 * perf_event_open or mmap failed (-1 when not CPU-specific).
 */
struct kp_perf *kp_perf_open(enum kp_perf_kind kind, int id, size_t pages, unsigned int wakeup,
			     int *failed_cpu);

/* Callchains for kp_perf_open_stack(): which parts a sample carries. */
#define KP_PERF_STACK_KERNEL 1u
#define KP_PERF_STACK_USER 2u
/* frames asked for per sample (perf's default kernel.perf_event_max_stack) */
#define KP_PERF_MAX_STACK 127

/*
 * kp_perf_open_stack() - kp_perf_open() whose samples also carry
 * PERF_SAMPLE_CALLCHAIN (between CPU and RAW) when @stack has any of
 * KP_PERF_STACK_KERNEL or KP_PERF_STACK_USER. User frames past the first
 * need the target built with frame pointers.
 */
struct kp_perf *kp_perf_open_stack(enum kp_perf_kind kind, int id, size_t pages,
				   unsigned int wakeup, unsigned int stack, int *failed_cpu);
void kp_perf_close(struct kp_perf *p);

/* PERF_EVENT_IOC_SET_FILTER on every fd: the tracefs `filter` file does not
 * apply to perf readers. 0 or -errno. */
int kp_perf_set_filter(struct kp_perf *p, const char *filter);
int kp_perf_enable(struct kp_perf *p, bool on);

size_t kp_perf_count(const struct kp_perf *p); /* number of CPUs opened */
int kp_perf_fd(const struct kp_perf *p, size_t i);
int kp_perf_cpu(const struct kp_perf *p, size_t i);
struct kp_ring *kp_perf_ring(const struct kp_perf *p, size_t i);

/*
 * kp_perf_counts() - the kernel's counts, summed over CPUs.
 * @hits: how often the event fired and passed the filter
 * @lost: samples the kernel could not write because the ring was full
 *        (PERF_FORMAT_LOST, Linux 6.0+), or UINT64_MAX when this kernel
 *        does not keep that count
 * A hit is not always a sample: the kernel counts some hits that it never
 * samples (seen for sched_wakeup under load), so hits - samples read is not
 * a loss count. 0 or -errno.
 */
int kp_perf_counts(const struct kp_perf *p, uint64_t *hits, uint64_t *lost);

/* Online CPU numbers; returns the count or -errno. *cpus is malloc'd. */
int kp_cpus_online(int **cpus);

#endif
