/* SPDX-License-Identifier: MIT */
#ifndef KP_FTRACE_H
#define KP_FTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An event read from an ftrace ring buffer instead of perf: for events
 * whose kernel side never writes to perf events (an event probe's, see
 * docs/FETCH.md). The event is enabled in a tracefs instance of its own
 * (instances/GROUP.EVENT, clock "mono" as perf's CLOCK_MONOTONIC) and each
 * CPU's trace_pipe_raw is read into a ring of perf records (kp_ring.h),
 * so the merge, the decoder and the rest take them as any probe's:
 *
 *   PERF_RECORD_SAMPLE  pid = KP_FTRACE_NOPID (the ring buffer keeps only
 *                       the thread: kp_deliver.c finds the process), tid
 *                       from common_pid, time, cpu, raw = the event;
 *   PERF_RECORD_LOST    the events the kernel overwrote before a page was
 *                       read, when its header says so (1 when it does not
 *                       say how many).
 */
struct kp_ftrace;
struct kp_ring;

#define KP_FTRACE_NOPID UINT32_MAX

/*
 * kp_ftrace_open() - instance @name with event @sys/@event (tracefs id @id)
 * in it, disabled, @pages pages per CPU, @filter (or NULL) set on the
 * event. Only @id's records are read: an event probe's target event is
 * enabled in the instance too, in the kernel's soft mode.
 * Return: the instance, or NULL with errno and @msg (the file and the
 * kernel's word).
 */
struct kp_ftrace *kp_ftrace_open(const char *name, const char *sys, const char *event, int id,
				 size_t pages, const char *filter, char *msg, size_t len);
int kp_ftrace_enable(struct kp_ftrace *f, bool on);
size_t kp_ftrace_count(const struct kp_ftrace *f); /* CPUs */
int kp_ftrace_fd(const struct kp_ftrace *f, size_t i);
struct kp_ring *kp_ftrace_ring(const struct kp_ftrace *f, size_t i);
/* Events the kernel dropped or overwrote, from each CPU's stats. 0 or
 * -errno. */
int kp_ftrace_lost(const struct kp_ftrace *f, uint64_t *lost);
/* Disable the event, close the readers, remove the instance. */
void kp_ftrace_close(struct kp_ftrace *f);

/*
 * kp_ftrace_records() - the events of type @id in sub-buffer @page (as
 * read from trace_pipe_raw) from event @*at on, made into perf records at
 * @out (at most @cap bytes, which must hold the page's biggest event as a
 * record: a page's size plus 48 does) for CPU @cpu. Pure: no I/O.
 * Return: the bytes written; *@at is the next event's index, or -1 when
 * the page is done.
 */
size_t kp_ftrace_records(const void *page, size_t page_size, int id, uint32_t cpu, int *at,
			 unsigned char *out, size_t cap);

/* Remove the instances of kpscript runs that are gone (their group is
 * stale, as kp_dynevent_sweep() judges). The number removed. */
int kp_ftrace_sweep(bool (*stale)(const char *group));

#endif
