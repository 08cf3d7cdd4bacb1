/* SPDX-License-Identifier: MIT */
#ifndef KP_SOURCE_H
#define KP_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "kp_item.h"

/*
 * Where the run's items come from: the kernel's rings (kp_source_live.c)
 * or a recording (kp_source_replay.c). kp.run() (kp_run.c) is one loop over
 * either: it waits, takes the items up to a horizon in time order, hands
 * each to the one consumer (kp_deliver.c), and runs timers between them by
 * the source's clock.
 */
struct kp_source;

/* What next() says. */
enum {
	KP_NEXT_END = -1, /* no item will ever come (a recording's end) */
	KP_NEXT_NONE = 0, /* none up to the horizon now */
	KP_NEXT_ITEM = 1, /* *it holds one */
	KP_NEXT_HELD = 2, /* none up to the horizon, but newer ones wait */
};

struct kp_source_ops {
	/* Block up to @timeout_ms for the source or a watched fd; 1 when a
	 * watched fd is ready, 0 otherwise, -errno. */
	int (*wait)(struct kp_source *s, int timeout_ms);
	/* The next item not newer than @horizon, in time order; its pointers
	 * stay valid until the next call. KP_NEXT_*. */
	int (*next)(struct kp_source *s, uint64_t horizon, struct kp_item *it);
	/* The caller takes no more items now (a handler stopped the run):
	 * hand back what was read. */
	void (*pass_end)(struct kp_source *s);
	/* The source's clock, the one items are stamped with. */
	uint64_t (*now)(struct kp_source *s);
	/* Nothing new will be produced (the probes are disabled, or the run
	 * was stopped): next() gives what is left, then nothing. */
	void (*stop)(struct kp_source *s);
	/* After KP_NEXT_END: why the source could not be read to its end, or
	 * NULL; may be NULL. */
	const char *(*error)(struct kp_source *s);
	void (*close)(struct kp_source *s);
};

struct kp_source {
	const struct kp_source_ops *ops;
	/* how late an item may come after its time: the horizon is the
	 * source's now minus this (UINT64_MAX: every item is there) */
	uint64_t lateness;
	/* its items are this machine's processes, now: /proc may be asked
	 * about them, and MMAP2 records follow their maps */
	bool local;
};

/* The horizon of a pass at the source's time @now. */
static inline uint64_t kp_source_horizon(const struct kp_source *s, uint64_t now)
{
	if (s->lateness == UINT64_MAX)
		return UINT64_MAX;
	return now > s->lateness ? now - s->lateness : 0;
}

#endif
