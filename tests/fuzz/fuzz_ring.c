// SPDX-License-Identifier: MIT
/*
 * The perf ring reader and the record dispatch of the merge: kp_ring_peek()
 * over a simulated ring (tests/unit/fake_ring.h: a memfd standing in for
 * the perf fd), then kp_loop_drain() handing samples, losses and COMM,
 * FORK and EXIT records to their callbacks and the comm table.
 *
 * The kernel writes these rings, but within its contract (data_head never
 * more than a ring ahead of data_tail) any bytes are allowed here: a header
 * the reader trusts too far would read out of the ring.
 *
 * Input: byte 0: flags (bit 0: samples carry a callchain; bit 1: a
 * side-band ring; bit 2: a second ring with the same bytes); bytes 1-2:
 * where in the ring the data starts (rounded down to 8 bytes; it wraps at
 * the end); then the ring's bytes, at most one ring.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/eventfd.h>

#include "kp_comm.h"
#include "loop_adapter.h"
#include "kp_ring.h"
#include "fake_ring.h"
#include "fuzz.h"

#define PAGES 1

static struct fake rings[2];
static int owner_tag;

struct view {
	const unsigned char *lo, *hi; /* the ring's data area */
	unsigned int samples, tasks;
	uint64_t lost;
};

/* A sample's raw data lies in the ring's data area, or in the reader's
 * 64 KiB copy of a wrapped record (a heap block: ASan checks those reads). */
static int on_sample(void *owner, const struct kp_sample *s, void *ctx)
{
	struct view *v = ctx;
	const unsigned char *raw = s->raw;

	FZ_CHECK(owner == &owner_tag);
	FZ_CHECK(s->raw_size < 65536);
	if (raw >= v->lo && raw < v->hi)
		FZ_CHECK(s->raw_size <= (size_t)(v->hi - raw));
	fz_touch(raw, s->raw_size);
	if (s->nips) {
		FZ_CHECK(s->ips && s->nips < 65536 / 8);
		fz_touch(s->ips, 8 * (size_t)s->nips);
	}
	v->samples++;
	return 0;
}

static void on_lost(void *owner, uint64_t lost, void *ctx)
{
	struct view *v = ctx;

	FZ_CHECK(owner == &owner_tag);
	v->lost += lost;
}

static void on_task(const struct kp_task_rec *r, void *ctx)
{
	struct view *v = ctx;

	if (r->comm)
		FZ_CHECK(strlen(r->comm) <= 16);
	v->tasks++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < 2; i++) {
		if (!fake_init(&rings[i], PAGES)) {
			perror("fuzz_ring: fake_init");
			exit(2);
		}
		/* the loop's epoll set needs a pollable fd per ring */
		rings[i].evfd = eventfd(0, EFD_CLOEXEC);
		if (rings[i].evfd < 0) {
			perror("fuzz_ring: eventfd");
			exit(2);
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct kp_loop_ops ops = { on_sample, on_lost, on_task };
	struct view v = { 0 };
	struct kp_comm *comm;
	struct kp_loop *l;
	unsigned int flags;
	uint64_t start;
	bool held;
	int nrings;

	if (size < 3)
		return 0;
	flags = data[0];
	/* the kernel's records are 8-byte multiples: positions stay aligned */
	start = fz_le(data + 1, 2) & ~(uint64_t)7;
	data += 3;
	size -= 3;
	if (size > rings[0].size)
		size = rings[0].size;
	nrings = (flags & 4) ? 2 : 1;

	comm = kp_comm_new();
	l = kp_loop_new(&ops, &v, comm);
	FZ_CHECK(comm && l);
	for (int i = 0; i < nrings; i++) {
		struct fake *f = &rings[i];
		bool side = i == 0 ? (flags & 2) : !(flags & 2);

		/* a fresh ring whose reader starts at @start */
		memset(f->data, 0, f->size);
		f->head = start;
		f->meta->data_tail = start;
		f->meta->data_head = start;
		f->ring = kp_ring_open(f->fd, PAGES);
		FZ_CHECK(f->ring);
		fake_write(f, data, size);
		fake_publish(f);
		FZ_CHECK(kp_loop_add_flags(l, f->evfd, f->ring, side ? NULL : &owner_tag,
					   (flags & 1) ? KP_LOOP_CALLCHAIN : 0) == 0);
	}
	v.lo = rings[0].data;
	v.hi = rings[0].data + rings[0].size;
	/* a bounded pass first, then everything */
	kp_loop_drain(l, fz_le(data, size < 8 ? size : 8), &held);
	kp_loop_drain(l, UINT64_MAX, &held);
	FZ_CHECK(!held);
	/* what is left unread is only what a corrupt header skipped */
	for (int i = 0; i < nrings; i++)
		FZ_CHECK(kp_ring_pending(rings[i].ring) == 0);
	kp_loop_free(l);
	kp_comm_free(comm);
	for (int i = 0; i < nrings; i++) {
		kp_ring_close(rings[i].ring);
		rings[i].ring = NULL;
	}
	return 0;
}
