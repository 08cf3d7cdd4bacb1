// SPDX-License-Identifier: MIT
/*
 * Perf records into items (see kp_perf_parse.h). The layouts are those of
 * include/uapi/linux/perf_event.h for the sample_type kpscript asks for:
 * TID | TIME | CPU | [CALLCHAIN |] RAW, and sample_id_all with TID | TIME |
 * CPU on every other record.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "kp_perf_parse.h"

/* sample_id_all's trailer: pid, tid u32; time u64; cpu, res u32 */

/* TID, TIME, CPU, [CALLCHAIN,] RAW in sample_type bit order */
static int kp_parse_sample(const unsigned char *p, size_t body, unsigned int flags,
			   struct kp_item *it)
{
	struct kp_sample *smp = &it->sample;
	uint32_t cpu[2];
	size_t at = 24;

	if (!it->owner || body < 28)
		return 0; /* the side band's own samples are not delivered */
	memcpy(&smp->pid, p, 4);
	memcpy(&smp->tid, p + 4, 4);
	smp->time = it->time;
	memcpy(cpu, p + 16, 8);
	smp->cpu = cpu[0];
	smp->ips = NULL;
	smp->nips = 0;
	if (flags & KP_PARSE_CALLCHAIN) {
		uint64_t nr;

		memcpy(&nr, p + 24, 8);
		if (nr > (body - 32) / 8 || body - 32 - nr * 8 < 4)
			return -EBADMSG;
		/* 8-aligned in the record; a wrapped record is copied to an
		 * aligned buffer by the ring */
		smp->ips = (const uint64_t *)(const void *)(p + 32);
		smp->nips = nr;
		at = 32 + (size_t)nr * 8;
	}
	memcpy(&smp->raw_size, p + at, 4);
	if (smp->raw_size > body - at - 4)
		return -EBADMSG;
	smp->raw = p + at + 4;
	it->type = KP_ITEM_SAMPLE;
	return 0;
}

/*
 * PERF_RECORD_MMAP2: pid, tid u32; addr, len, pgoff u64; then either maj,
 * min u32, ino, ino_generation u64, or, with PERF_RECORD_MISC_MMAP_BUILD_ID
 * in misc, build_id_size u8, two reserved, build_id[20]; both 24 bytes;
 * prot, flags u32; the filename, NUL-terminated and padded to 8 bytes; then
 * the trailer. A body that cannot hold that, or a filename with no NUL
 * before the trailer, is a corrupt record.
 */
#define KP_MMAP2_FIXED 64

static int kp_parse_mmap2(const struct perf_event_header *h, const unsigned char *p, size_t body,
			  struct kp_item *it)
{
	struct kp_task_rec *r = &it->task;
	uint32_t ids[2];
	size_t nlen;

	if (body < KP_MMAP2_FIXED + KP_ID_TRAILER + 1)
		return -EBADMSG;
	nlen = body - KP_MMAP2_FIXED - KP_ID_TRAILER;
	if (!memchr(p + KP_MMAP2_FIXED, '\0', nlen))
		return -EBADMSG;
	memset(r, 0, sizeof(*r));
	r->type = PERF_RECORD_MMAP2;
	r->time = it->time;
	memcpy(ids, p, 8);
	r->pid = (int32_t)ids[0];
	r->tid = (int32_t)ids[1];
	memcpy(&r->map.addr, p + 8, 8);
	memcpy(&r->map.len, p + 16, 8);
	memcpy(&r->map.pgoff, p + 24, 8);
	r->map.build_id = (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) != 0;
	if (!r->map.build_id) {
		memcpy(&r->map.maj, p + 32, 4);
		memcpy(&r->map.min, p + 36, 4);
		memcpy(&r->map.ino, p + 40, 8);
	}
	memcpy(&r->map.prot, p + 56, 4);
	memcpy(&r->map.flags, p + 60, 4);
	r->map.filename = (const char *)(p + KP_MMAP2_FIXED);
	it->type = KP_ITEM_TASK;
	return 0;
}

int kp_perf_parse(const struct perf_event_header *h, void *owner, unsigned int flags, uint64_t time,
		  struct kp_item *it)
{
	const unsigned char *p = (const unsigned char *)(h + 1);
	size_t body = h->size - sizeof(*h);

	it->type = KP_ITEM_SKIP;
	it->owner = owner;
	it->time = time;
	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		return kp_parse_sample(p, body, flags, it);
	case PERF_RECORD_LOST:
		/* id u64, lost u64, then the trailer */
		if (body >= 16) {
			memcpy(&it->lost, p + 8, 8);
			it->type = KP_ITEM_LOST;
		}
		return 0;
	case PERF_RECORD_COMM: {
		uint32_t ids[2];
		size_t n;

		if (body < 8 + KP_ID_TRAILER)
			return 0;
		memcpy(ids, p, 8);
		/* comm is NUL-padded to 8 bytes, then the trailer */
		n = body - 8 - KP_ID_TRAILER;
		if (n > sizeof(it->comm) - 1)
			n = sizeof(it->comm) - 1;
		memcpy(it->comm, p + 8, n);
		it->comm[n] = '\0';
		it->task = (struct kp_task_rec){
			.type = PERF_RECORD_COMM,
			.pid = (int32_t)ids[0],
			.tid = (int32_t)ids[1],
			.comm = it->comm,
			.exec = (h->misc & PERF_RECORD_MISC_COMM_EXEC) != 0,
			.time = it->time,
		};
		it->type = KP_ITEM_TASK;
		return 0;
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		/* pid, ppid, tid, ptid u32; time u64 */
		uint32_t ids[4];
		uint64_t when;

		if (body < 24)
			return 0;
		memcpy(ids, p, 16);
		memcpy(&when, p + 16, 8);
		it->task = (struct kp_task_rec){
			.type = h->type,
			.pid = (int32_t)ids[0],
			.ppid = (int32_t)ids[1],
			.tid = (int32_t)ids[2],
			.ptid = (int32_t)ids[3],
			.time = when,
		};
		it->type = KP_ITEM_TASK;
		return 0;
	}
	case PERF_RECORD_MMAP2:
		return flags & KP_PARSE_MAPS ? kp_parse_mmap2(h, p, body, it) : 0;
	default:
		return 0;
	}
}

void kp_stack_split(const uint64_t *ips, uint64_t nr, uint64_t *kernel, uint16_t *nkernel,
		    uint64_t *user, uint16_t *nuser)
{
	/* Frames follow the marker of their context; before any marker the
	 * kernel writes kernel frames. */
	int ctx = 0; /* 0 kernel, 1 user, 2 other (guest...): dropped */

	*nkernel = *nuser = 0;
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t ip = ips[i];

		if (ip >= (uint64_t)PERF_CONTEXT_MAX) {
			if (ip == (uint64_t)PERF_CONTEXT_KERNEL)
				ctx = 0;
			else if (ip == (uint64_t)PERF_CONTEXT_USER)
				ctx = 1;
			else
				ctx = 2;
			continue;
		}
		if (ctx == 0 && *nkernel < KP_STACK_MAX)
			kernel[(*nkernel)++] = ip;
		else if (ctx == 1 && *nuser < KP_STACK_MAX)
			user[(*nuser)++] = ip;
	}
}
