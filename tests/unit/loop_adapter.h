/* SPDX-License-Identifier: MIT */
/*
 * The drain contract test_loop.c and fuzz_ring.c were written against (the
 * former host/kp_loop.c), rebuilt over what replaced it: the live source
 * (host/kp_source_live.c: epoll, kp_merge.c's ordered merge, kp_perf_parse.c)
 * and the comm table's kp_comm_apply(), which kp_deliver.c calls. A drain
 * takes the source's items up to a horizon and hands them to callbacks, as
 * kp_run.c's pass hands them to kp_deliver(): so the tests keep checking
 * the product's merge, parsing and comm bookkeeping, only through this
 * adapter.
 */
#ifndef KP_LOOP_ADAPTER_H
#define KP_LOOP_ADAPTER_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <linux/perf_event.h>

#include "kp_comm.h"
#include "kp_item.h"
#include "kp_perf_parse.h"
#include "kp_source_live.h"

struct kp_loop_ops {
	/* A sample of @owner. Return non-zero to stop the pass at once. */
	int (*sample)(void *owner, const struct kp_sample *s, void *ctx);
	/* A loss in @owner's ring. */
	void (*lost)(void *owner, uint64_t lost, void *ctx);
	/* COMM/FORK/EXIT, after the comm table has taken it, and MMAP2; may be
	 * NULL. */
	void (*task)(const struct kp_task_rec *r, void *ctx);
};

struct kp_loop {
	struct kp_source *src;
	const struct kp_loop_ops *ops;
	void *ctx;
	struct kp_comm *comm;
	uint64_t sideband_lost;
};

#define KP_LOOP_CALLCHAIN 1u

static inline struct kp_loop *kp_loop_new(const struct kp_loop_ops *ops, void *ctx,
					  struct kp_comm *comm)
{
	struct kp_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->src = kp_live_new(0);
	if (!l->src) {
		free(l);
		return NULL;
	}
	l->ops = ops;
	l->ctx = ctx;
	l->comm = comm;
	return l;
}

static inline void kp_loop_free(struct kp_loop *l)
{
	if (!l)
		return;
	l->src->ops->close(l->src);
	free(l);
}

static inline int kp_loop_add_flags(struct kp_loop *l, int fd, struct kp_ring *ring, void *owner,
				    unsigned int flags)
{
	/* MMAP2 records are parsed where someone takes them */
	return kp_live_add(l->src, fd, ring, owner,
			   (flags & KP_LOOP_CALLCHAIN ? KP_PARSE_CALLCHAIN : 0) |
			       (l->ops->task ? KP_PARSE_MAPS : 0));
}

static inline int kp_loop_add(struct kp_loop *l, int fd, struct kp_ring *ring, void *owner)
{
	return kp_loop_add_flags(l, fd, ring, owner, 0);
}

static inline void kp_loop_remove(struct kp_loop *l, void *owner)
{
	kp_live_remove(l->src, owner);
}

static inline int kp_loop_watch(struct kp_loop *l, int fd)
{
	return kp_live_watch(l->src, fd);
}

static inline int kp_loop_wait(struct kp_loop *l, int timeout_ms)
{
	return l->src->ops->wait(l->src, timeout_ms);
}

/* Records up to @horizon, in time order, to the callbacks. Return: the
 * records taken; -(taken + 1) when the sample callback stopped it. */
static inline long kp_loop_drain(struct kp_loop *l, uint64_t horizon, bool *held)
{
	struct kp_item it;
	long n = 0;
	int r;

	*held = false;
	while ((r = l->src->ops->next(l->src, horizon, &it)) == KP_NEXT_ITEM) {
		n++;
		switch (it.type) {
		case KP_ITEM_SAMPLE:
			if (l->ops->sample(it.owner, &it.sample, l->ctx)) {
				l->src->ops->pass_end(l->src);
				return -n - 1;
			}
			break;
		case KP_ITEM_LOST:
			if (it.owner)
				l->ops->lost(it.owner, it.lost, l->ctx);
			else
				l->sideband_lost += it.lost;
			break;
		case KP_ITEM_TASK:
			/* the comm table's records go nowhere without one */
			if (it.task.type != PERF_RECORD_MMAP2 && !l->comm)
				break;
			if (l->comm)
				kp_comm_apply(l->comm, &it.task);
			if (l->ops->task)
				l->ops->task(&it.task, l->ctx);
			break;
		case KP_ITEM_SKIP:
			break;
		}
	}
	*held = r == KP_NEXT_HELD;
	return n;
}

static inline uint64_t kp_loop_corrupt(const struct kp_loop *l)
{
	return kp_live_corrupt(l->src);
}

static inline uint64_t kp_loop_sideband_lost(const struct kp_loop *l)
{
	return l->sideband_lost;
}

#endif
