/* SPDX-License-Identifier: MIT */
#ifndef KP_MERGE_H
#define KP_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/perf_event.h>

/*
 * The ordered merge of perf rings: each ring is in time order on its own
 * (one CPU writes it), so a heap over the rings' next records yields every
 * record in timestamp order. A pass takes records up to a horizon; newer
 * ones stay in their rings for a later pass, which bounds how late a
 * record from a slower CPU may arrive and still be delivered in order.
 */
struct kp_merge;
struct kp_ring;

struct kp_merge *kp_merge_new(void);
void kp_merge_free(struct kp_merge *m);

/* Merge @ring, whose records belong to @owner (NULL: the side band) and
 * are parsed with @flags (KP_PARSE_*). It joins at the next pass. 0 or
 * -ENOMEM. */
int kp_merge_add(struct kp_merge *m, struct kp_ring *ring, void *owner, unsigned int flags);
/* Forget every ring of @owner (NULL: none); ends the current pass. */
void kp_merge_remove(struct kp_merge *m, void *owner);

/*
 * kp_merge_next() - the oldest record of every ring, if not newer than
 * @horizon. The record the previous call returned is consumed first.
 * Return: the record, valid until the next call, with its ring's *@owner,
 * *@flags and its *@time; or NULL when there is none: the pass is over and
 * the rings' consumed space is handed back to the kernel, *@held telling
 * whether newer records wait. The next call starts a new pass over every
 * ring.
 */
const struct perf_event_header *kp_merge_next(struct kp_merge *m, uint64_t horizon, void **owner,
					      unsigned int *flags, uint64_t *time, bool *held);
/* End the current pass before kp_merge_next() has: consume the record it
 * returned last and hand the space back. */
void kp_merge_end(struct kp_merge *m);

/* Ring headers found corrupt and skipped (kp_ring_peek()). */
uint64_t kp_merge_corrupt(const struct kp_merge *m);

#endif
