// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include "kp_perf.h"
#include "kp_ring.h"

struct kp_perf {
	bool has_lost; /* read_format carries PERF_FORMAT_LOST */
	size_t n;
	int *fds;
	int *cpus;
	struct kp_ring **rings;
};

int kp_cpus_online(int **cpus)
{
	char buf[4096], *p, *end;
	int *out = NULL, n = 0, cap = 0;
	FILE *f;

	f = fopen("/sys/devices/system/cpu/online", "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	/* a list of ranges: "0-3,5,7-8" */
	for (p = buf; *p && *p != '\n';) {
		long a, b;

		a = strtol(p, &end, 10);
		if (end == p)
			goto bad;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a)
				goto bad;
		}
		for (long c = a; c <= b; c++) {
			if (n == cap) {
				int *tmp =
				    realloc(out, sizeof(*out) * (size_t)(cap = cap ? cap * 2 : 16));

				if (!tmp) {
					free(out);
					return -ENOMEM;
				}
				out = tmp;
			}
			out[n++] = (int)c;
		}
		p = *end == ',' ? end + 1 : end;
	}
	*cpus = out;
	return n;
bad:
	free(out);
	return -EINVAL;
}

static void kp_perf_attr(struct perf_event_attr *a, enum kp_perf_kind kind, int id, size_t pages,
			 unsigned int wakeup, unsigned int stack)
{
	size_t ring = pages * (size_t)sysconf(_SC_PAGESIZE);

	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	if (kind == KP_PERF_TRACEPOINT || kind == KP_PERF_BPF_OUTPUT) {
		/* a BPF output sample has a tracepoint's TID, TIME, CPU,
		 * callchain and RAW, the program's record as RAW */
		a->type = kind == KP_PERF_TRACEPOINT ? PERF_TYPE_TRACEPOINT : PERF_TYPE_SOFTWARE;
		a->config = kind == KP_PERF_TRACEPOINT ? (uint64_t)id : PERF_COUNT_SW_BPF_OUTPUT;
		a->sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
				 PERF_SAMPLE_RAW;
		if (stack) {
			a->sample_type |= PERF_SAMPLE_CALLCHAIN;
			a->exclude_callchain_kernel = !(stack & KP_PERF_STACK_KERNEL);
			a->exclude_callchain_user = !(stack & KP_PERF_STACK_USER);
			a->sample_max_stack = KP_PERF_MAX_STACK;
		}
	} else {
		a->type = PERF_TYPE_SOFTWARE;
		a->config = PERF_COUNT_SW_DUMMY;
		a->sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU;
		a->comm = 1;
		a->comm_exec = 1;
		a->task = 1;
		/*
		 * PERF_RECORD_MMAP2 for executable mappings (mmap_data stays 0),
		 * so user frames of processes gone before their samples are
		 * read can still be named. mmap is set as well: the kernel
		 * emits mmap records at all only while some event has mmap or
		 * mmap_data (account_event() counts nr_mmap_events from those
		 * two), and mmap2 then picks the MMAP2 layout. An exec of a
		 * dynamically linked program costs about four records of
		 * ~125 bytes: the program, the interpreter, [vdso], libc.
		 */
		a->mmap = 1;
		a->mmap2 = 1;
	}
	a->sample_period = 1;
	a->read_format = PERF_FORMAT_LOST;
	a->sample_id_all = 1;
	a->disabled = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	/* wake the reader per quarter ring, not per event: a wakeup per event
	 * caps delivery far below what the rings can carry */
	if (wakeup) {
		a->wakeup_events = wakeup;
	} else {
		a->watermark = 1;
		a->wakeup_watermark = (uint32_t)(ring / 4);
	}
}

struct kp_perf *kp_perf_open(enum kp_perf_kind kind, int id, size_t pages, unsigned int wakeup,
			     int *failed_cpu)
{
	return kp_perf_open_stack(kind, id, pages, wakeup, 0, failed_cpu);
}

struct kp_perf *kp_perf_open_stack(enum kp_perf_kind kind, int id, size_t pages,
				   unsigned int wakeup, unsigned int stack, int *failed_cpu)
{
	struct perf_event_attr attr;
	struct kp_perf *p;
	int *cpus = NULL, n, err;
	size_t i;

	*failed_cpu = -1;
	n = kp_cpus_online(&cpus);
	if (n < 0) {
		errno = -n;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		goto err_cpus;
	p->cpus = cpus;
	p->fds = malloc(sizeof(*p->fds) * (size_t)n);
	p->rings = calloc((size_t)n, sizeof(*p->rings));
	if (!p->fds || !p->rings)
		goto err_free;
	kp_perf_attr(&attr, kind, id, pages, wakeup, stack);
	p->has_lost = true;
	for (i = 0; i < (size_t)n; i++) {
		int fd =
		    (int)syscall(SYS_perf_event_open, &attr, -1, cpus[i], -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0 && errno == EINVAL && i == 0 && p->has_lost) {
			/* before Linux 6.0: no PERF_FORMAT_LOST */
			p->has_lost = false;
			attr.read_format = 0;
			fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpus[i], -1,
					  PERF_FLAG_FD_CLOEXEC);
		}

		if (fd < 0) {
			*failed_cpu = cpus[i];
			goto err_close;
		}
		p->fds[i] = fd;
		p->n = i + 1;
		p->rings[i] = kp_ring_open(fd, pages);
		if (!p->rings[i]) {
			*failed_cpu = cpus[i];
			goto err_close;
		}
	}
	return p;

err_close:
	err = errno;
	kp_perf_close(p);
	errno = err;
	return NULL;
err_free:
	free(p->fds);
	free(p->rings);
	free(p);
err_cpus:
	free(cpus);
	errno = ENOMEM;
	return NULL;
}

void kp_perf_close(struct kp_perf *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		kp_ring_close(p->rings[i]);
		close(p->fds[i]);
	}
	free(p->rings);
	free(p->fds);
	free(p->cpus);
	free(p);
}

int kp_perf_set_filter(struct kp_perf *p, const char *filter)
{
	for (size_t i = 0; i < p->n; i++)
		if (ioctl(p->fds[i], PERF_EVENT_IOC_SET_FILTER, filter))
			return -errno;
	return 0;
}

int kp_perf_enable(struct kp_perf *p, bool on)
{
	unsigned long req = on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE;

	for (size_t i = 0; i < p->n; i++)
		if (ioctl(p->fds[i], req, 0))
			return -errno;
	return 0;
}

size_t kp_perf_count(const struct kp_perf *p)
{
	return p->n;
}

int kp_perf_fd(const struct kp_perf *p, size_t i)
{
	return p->fds[i];
}

int kp_perf_cpu(const struct kp_perf *p, size_t i)
{
	return p->cpus[i];
}

struct kp_ring *kp_perf_ring(const struct kp_perf *p, size_t i)
{
	return p->rings[i];
}

int kp_perf_counts(const struct kp_perf *p, uint64_t *hits, uint64_t *lost)
{
	uint64_t v[2], sum = 0, lsum = 0;
	size_t want = p->has_lost ? 16 : 8;

	for (size_t i = 0; i < p->n; i++) {
		if (read(p->fds[i], v, want) != (ssize_t)want)
			return errno ? -errno : -EIO;
		sum += v[0];
		if (p->has_lost)
			lsum += v[1];
	}
	*hits = sum;
	*lost = p->has_lost ? lsum : UINT64_MAX;
	return 0;
}
