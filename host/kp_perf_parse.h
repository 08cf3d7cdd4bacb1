/* SPDX-License-Identifier: MIT */
#ifndef KP_PERF_PARSE_H
#define KP_PERF_PARSE_H

#include <stdint.h>
#include <string.h>

#include <linux/perf_event.h>

#include "kp_item.h"

/*
 * Perf records, as the kernel writes them for the events kpscript opens
 * (kp_perf.c), into items. Pure: the ring reader has checked each header's
 * size against the ring; everything inside a record is checked here.
 */

/* Samples carry PERF_SAMPLE_CALLCHAIN (between CPU and RAW). */
#define KP_PARSE_CALLCHAIN 1u
/* Parse PERF_RECORD_MMAP2 (only when someone follows processes' maps;
 * else they are skipped unread). */
#define KP_PARSE_MAPS 2u

/* the sample_id trailer sample_id_all appends: pid,tid | time | cpu,res */
#define KP_ID_TRAILER 24

/*
 * kp_perf_time() - a record's time: samples carry it after TID; other
 * records in the sample_id trailer (pid,tid | time | cpu,res) that
 * sample_id_all appends. 0 when the record is too short to hold it.
 */
static inline uint64_t kp_perf_time(const struct perf_event_header *h)
{
	const unsigned char *p = (const unsigned char *)h;
	uint64_t t = 0;

	if (h->type == PERF_RECORD_SAMPLE) {
		if (h->size >= sizeof(*h) + 16)
			memcpy(&t, p + sizeof(*h) + 8, 8);
	} else if (h->size >= sizeof(*h) + KP_ID_TRAILER) {
		memcpy(&t, p + h->size - 16, 8);
	}
	return t;
}

/*
 * kp_perf_parse() - one record into an item.
 * @h: the record; h->size bytes are readable
 * @owner: its ring's owner (NULL: the side band, whose samples are not
 *         delivered)
 * @flags: KP_PARSE_*
 * @time: its time, as the merge read it (kp_perf_time())
 * @it: out; its pointers point into the record
 * Return: 0, with it->type KP_ITEM_SKIP for a record that carries nothing
 * for the run; -EBADMSG for a record whose body contradicts its header
 * (also KP_ITEM_SKIP; the caller counts it corrupt).
 */
int kp_perf_parse(const struct perf_event_header *h, void *owner, unsigned int flags, uint64_t time,
		  struct kp_item *it);

/* perf's default kernel.perf_event_max_stack */
#define KP_STACK_MAX 127

/*
 * kp_stack_split() - split a PERF_SAMPLE_CALLCHAIN list at its context
 * markers (PERF_CONTEXT_KERNEL, PERF_CONTEXT_USER...) into its kernel and
 * user frames, at most KP_STACK_MAX each. The markers are dropped.
 */
void kp_stack_split(const uint64_t *ips, uint64_t nr, uint64_t *kernel, uint16_t *nkernel,
		    uint64_t *user, uint16_t *nuser);

#endif
