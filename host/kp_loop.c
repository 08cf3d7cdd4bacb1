// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include "kp_comm.h"
#include "kp_loop.h"
#include "kp_ring.h"

/* commit the read position this often while draining a busy ring */
#define KP_COMMIT_EVERY 256

struct kp_src {
	struct kp_ring *ring;
	void *owner;
	int fd;
	unsigned int flags; /* KP_LOOP_* */
	unsigned int since_commit;
	uint64_t time; /* time of the peeked record */
	const struct perf_event_header *rec;
};

struct kp_loop {
	const struct kp_loop_ops *ops;
	void *ctx;
	struct kp_comm *comm;
	int epfd;
	struct kp_src *srcs;
	size_t nsrc, cap;
	size_t *heap;
	size_t nheap;
	uint64_t corrupt;
	uint64_t sideband_lost;
};

uint64_t kp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct kp_loop *kp_loop_new(const struct kp_loop_ops *ops, void *ctx, struct kp_comm *comm)
{
	struct kp_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->ops = ops;
	l->ctx = ctx;
	l->comm = comm;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void kp_loop_free(struct kp_loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->srcs);
	free(l->heap);
	free(l);
}

int kp_loop_add(struct kp_loop *l, int fd, struct kp_ring *ring, void *owner)
{
	return kp_loop_add_flags(l, fd, ring, owner, 0);
}

int kp_loop_add_flags(struct kp_loop *l, int fd, struct kp_ring *ring, void *owner,
		      unsigned int flags)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	if (l->nsrc == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct kp_src *s = realloc(l->srcs, cap * sizeof(*s));
		size_t *h;

		if (!s)
			return -ENOMEM;
		l->srcs = s;
		h = realloc(l->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->cap = cap;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	l->srcs[l->nsrc++] =
	    (struct kp_src){ .ring = ring, .owner = owner, .fd = fd, .flags = flags };
	return 0;
}

void kp_loop_remove(struct kp_loop *l, void *owner)
{
	size_t j = 0;

	for (size_t i = 0; i < l->nsrc; i++) {
		if (l->srcs[i].owner == owner && owner) {
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->srcs[i].fd, NULL);
			continue;
		}
		l->srcs[j++] = l->srcs[i];
	}
	l->nsrc = j;
}

int kp_loop_watch(struct kp_loop *l, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int kp_loop_wait(struct kp_loop *l, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(l->epfd, evs, 16, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++)
		if (evs[i].data.ptr == l)
			return 1;
	return 0;
}

uint64_t kp_loop_corrupt(const struct kp_loop *l)
{
	return l->corrupt;
}

uint64_t kp_loop_sideband_lost(const struct kp_loop *l)
{
	return l->sideband_lost;
}

/*
 * Every record carries a time: samples at a fixed place (TID then TIME),
 * other records in the sample_id trailer (pid,tid | time | cpu,res) that
 * sample_id_all appends.
 */
static uint64_t kp_rec_time(const struct perf_event_header *h)
{
	const unsigned char *p = (const unsigned char *)h;
	uint64_t t = 0;

	if (h->type == PERF_RECORD_SAMPLE) {
		if (h->size >= sizeof(*h) + 16)
			memcpy(&t, p + sizeof(*h) + 8, 8);
	} else if (h->size >= sizeof(*h) + 24) {
		memcpy(&t, p + h->size - 16, 8);
	}
	return t;
}

static void kp_src_peek(struct kp_loop *l, struct kp_src *s)
{
	int err;

	s->rec = kp_ring_peek(s->ring, &err);
	if (err)
		l->corrupt++;
	if (s->rec)
		s->time = kp_rec_time(s->rec);
}

/*
 * The heap holds indexes into srcs, not pointers: a handler may declare a
 * probe while records are delivered, and kp_loop_add() may then move srcs.
 * A source added during a pass joins the merge at the next one.
 */
static bool kp_before(const struct kp_loop *l, size_t a, size_t b)
{
	return l->srcs[a].time < l->srcs[b].time;
}

static void kp_heap_push(struct kp_loop *l, size_t s)
{
	size_t i = l->nheap++;

	while (i) {
		size_t up = (i - 1) / 2;

		if (!kp_before(l, s, l->heap[up]))
			break;
		l->heap[i] = l->heap[up];
		i = up;
	}
	l->heap[i] = s;
}

static size_t kp_heap_pop(struct kp_loop *l)
{
	size_t top = l->heap[0], last = l->heap[--l->nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && kp_before(l, l->heap[c + 1], l->heap[c]))
			c++;
		if (!kp_before(l, l->heap[c], last))
			break;
		l->heap[i] = l->heap[c];
		i = c;
	}
	if (l->nheap)
		l->heap[i] = last;
	return top;
}

struct kp_fork_rec {
	uint32_t pid, ppid, tid, ptid;
	uint64_t time;
};

/*
 * PERF_RECORD_MMAP2 (include/uapi/linux/perf_event.h): pid, tid u32; addr,
 * len, pgoff u64; then either maj, min u32, ino, ino_generation u64, or,
 * with PERF_RECORD_MISC_MMAP_BUILD_ID in misc, build_id_size u8, two
 * reserved, build_id[20]; both 24 bytes; prot, flags u32; the filename,
 * NUL-terminated and padded to 8 bytes; then the sample_id_all trailer,
 * 24 bytes for the side band's sample_type TID|TIME|CPU. A record whose
 * body cannot hold that, or whose filename has no NUL before the trailer,
 * is counted corrupt and skipped.
 */
#define KP_MMAP2_FIXED 64
#define KP_ID_TRAILER 24

static int kp_dispatch_mmap2(struct kp_loop *l, const struct kp_src *s,
			     const struct perf_event_header *h, const unsigned char *p, size_t body)
{
	struct kp_task_rec r = { .type = PERF_RECORD_MMAP2, .time = s->time };
	uint32_t ids[2];
	size_t nlen;

	if (!l->ops->task)
		return 0;
	if (body < KP_MMAP2_FIXED + KP_ID_TRAILER + 1) {
		l->corrupt++;
		return 0;
	}
	nlen = body - KP_MMAP2_FIXED - KP_ID_TRAILER;
	if (!memchr(p + KP_MMAP2_FIXED, '\0', nlen)) {
		l->corrupt++;
		return 0;
	}
	memcpy(ids, p, 8);
	r.pid = (int32_t)ids[0];
	r.tid = (int32_t)ids[1];
	memcpy(&r.map.addr, p + 8, 8);
	memcpy(&r.map.len, p + 16, 8);
	memcpy(&r.map.pgoff, p + 24, 8);
	r.map.build_id = (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) != 0;
	if (!r.map.build_id) {
		memcpy(&r.map.maj, p + 32, 4);
		memcpy(&r.map.min, p + 36, 4);
		memcpy(&r.map.ino, p + 40, 8);
	}
	memcpy(&r.map.prot, p + 56, 4);
	memcpy(&r.map.flags, p + 60, 4);
	r.map.filename = (const char *)(p + KP_MMAP2_FIXED);
	l->ops->task(&r, l->ctx);
	return 0;
}

/* Returns non-zero when the sample callback asked to stop. */
static int kp_dispatch(struct kp_loop *l, struct kp_src *s)
{
	const struct perf_event_header *h = s->rec;
	const unsigned char *p = (const unsigned char *)(h + 1);
	size_t body = h->size - sizeof(*h);

	switch (h->type) {
	case PERF_RECORD_SAMPLE: {
		/* TID, TIME, CPU, [CALLCHAIN,] RAW in sample_type bit order */
		struct kp_sample smp;
		uint32_t cpu[2];
		size_t at = 24;

		if (!s->owner || body < 28)
			return 0;
		memcpy(&smp.pid, p, 4);
		memcpy(&smp.tid, p + 4, 4);
		smp.time = s->time;
		memcpy(cpu, p + 16, 8);
		smp.cpu = cpu[0];
		smp.ips = NULL;
		smp.nips = 0;
		if (s->flags & KP_LOOP_CALLCHAIN) {
			uint64_t nr;

			memcpy(&nr, p + 24, 8);
			if (nr > (body - 32) / 8 || body - 32 - nr * 8 < 4) {
				l->corrupt++;
				return 0;
			}
			/* 8-aligned in the record; a wrapped record is copied to
			 * an aligned buffer by the ring */
			smp.ips = (const uint64_t *)(const void *)(p + 32);
			smp.nips = nr;
			at = 32 + (size_t)nr * 8;
		}
		memcpy(&smp.raw_size, p + at, 4);
		if (smp.raw_size > body - at - 4) {
			l->corrupt++;
			return 0;
		}
		smp.raw = p + at + 4;
		return l->ops->sample(s->owner, &smp, l->ctx);
	}
	case PERF_RECORD_LOST: {
		uint64_t lost;

		if (body >= 16) {
			memcpy(&lost, p + 8, 8);
			if (s->owner)
				l->ops->lost(s->owner, lost, l->ctx);
			else
				l->sideband_lost += lost; /* comm updates missed */
		}
		return 0;
	}
	case PERF_RECORD_COMM: {
		uint32_t ids[2];
		char comm[17];
		size_t n;

		if (!l->comm || body < 8 + 24)
			return 0;
		memcpy(ids, p, 8);
		/* comm is NUL-padded to 8 bytes, then the sample_id trailer */
		n = body - 8 - 24;
		if (n > 16)
			n = 16;
		memcpy(comm, p + 8, n);
		comm[n] = '\0';
		kp_comm_set(l->comm, (int32_t)ids[0], (int32_t)ids[1], comm);
		if (l->ops->task) {
			struct kp_task_rec r = {
				.type = h->type,
				.pid = (int32_t)ids[0],
				.tid = (int32_t)ids[1],
				.comm = comm,
				.exec = (h->misc & PERF_RECORD_MISC_COMM_EXEC) != 0,
				.time = s->time,
			};

			l->ops->task(&r, l->ctx);
		}
		return 0;
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		struct kp_fork_rec f;

		if (!l->comm || body < sizeof(f))
			return 0;
		memcpy(&f, p, sizeof(f));
		if (h->type == PERF_RECORD_FORK)
			kp_comm_fork(l->comm, (int32_t)f.pid, (int32_t)f.tid, (int32_t)f.ptid);
		else
			kp_comm_exit(l->comm, (int32_t)f.tid, f.time);
		if (l->ops->task) {
			struct kp_task_rec r = {
				.type = h->type,
				.pid = (int32_t)f.pid,
				.ppid = (int32_t)f.ppid,
				.tid = (int32_t)f.tid,
				.ptid = (int32_t)f.ptid,
				.time = f.time,
			};

			l->ops->task(&r, l->ctx);
		}
		return 0;
	}
	case PERF_RECORD_MMAP2:
		return kp_dispatch_mmap2(l, s, h, p, body);
	default:
		return 0;
	}
}

long kp_loop_drain(struct kp_loop *l, uint64_t horizon, bool *held)
{
	long n = 0;
	int stop = 0;

	*held = false;
	l->nheap = 0;
	for (size_t i = 0; i < l->nsrc; i++) {
		kp_src_peek(l, &l->srcs[i]);
		if (l->srcs[i].rec)
			kp_heap_push(l, i);
	}
	while (l->nheap) {
		size_t i = l->heap[0];
		struct kp_src *s = &l->srcs[i];

		if (s->time > horizon) {
			*held = true;
			break;
		}
		kp_heap_pop(l);
		stop = kp_dispatch(l, s);
		s = &l->srcs[i]; /* the handler may have added sources */
		kp_ring_consume(s->ring);
		n++;
		if (++s->since_commit >= KP_COMMIT_EVERY) {
			kp_ring_commit(s->ring);
			s->since_commit = 0;
		}
		if (stop)
			break;
		kp_src_peek(l, s);
		if (s->rec)
			kp_heap_push(l, i);
	}
	for (size_t i = 0; i < l->nsrc; i++) {
		kp_ring_commit(l->srcs[i].ring);
		l->srcs[i].since_commit = 0;
	}
	return stop ? -n - 1 : n;
}
