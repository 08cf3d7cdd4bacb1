// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kp_ring.h"

struct kp_ring {
	struct perf_event_mmap_page *meta;
	unsigned char *data;
	size_t map_len;
	uint64_t mask;
	uint64_t head; /* data_head as last loaded */
	uint64_t tail; /* our read position, published by commit */
	uint64_t committed;
	size_t cur; /* size of the record returned by the last peek, 0 if none */
	unsigned char *wrap; /* copy of a record that wraps the ring end */
	kp_ring_fill_fn fill; /* a filled ring: no kernel behind it */
	void *fill_ctx;
};

struct kp_ring *kp_ring_open(int fd, size_t pages)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct kp_ring *r;
	void *map;

	if (!pages || (pages & (pages - 1))) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->map_len = (pages + 1) * page;
	/* a record is at most 64 KiB (header.size is u16) */
	r->wrap = malloc(65536);
	if (!r->wrap)
		goto err_free;
	map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto err_wrap;
	r->meta = map;
	r->data = (unsigned char *)map + page;
	r->mask = pages * page - 1;
	r->tail = r->committed = r->meta->data_tail;
	r->head = r->tail;
	return r;

err_wrap:
	free(r->wrap);
err_free:
	free(r);
	return NULL;
}

struct kp_ring *kp_ring_new_filled(size_t cap, kp_ring_fill_fn fill, void *ctx)
{
	struct kp_ring *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->data = malloc(cap);
	if (!r->data) {
		free(r);
		return NULL;
	}
	r->mask = cap - 1; /* records never wrap: the fill starts at 0 */
	r->fill = fill;
	r->fill_ctx = ctx;
	return r;
}

/* A filled ring is empty: every record consumed, so start again at 0. */
static bool kp_ring_refill(struct kp_ring *r)
{
	r->tail = r->head = r->committed = 0;
	r->head = r->fill(r->fill_ctx, r->data, r->mask + 1);
	return r->head != 0;
}

void kp_ring_close(struct kp_ring *r)
{
	if (!r)
		return;
	if (r->fill) {
		free(r->data);
		free(r);
		return;
	}
	munmap(r->meta, r->map_len);
	free(r->wrap);
	free(r);
}

const struct perf_event_header *kp_ring_peek(struct kp_ring *r, int *err)
{
	const struct perf_event_header *h;
	uint64_t off, size, avail;

	*err = 0;
	if (r->tail == r->head && r->fill && !kp_ring_refill(r))
		return NULL;
	if (r->tail == r->head) {
		/* pairs with the kernel's smp_store_release of data_head */
		r->head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
		if (r->tail == r->head)
			return NULL;
	}
	avail = r->head - r->tail;
	off = r->tail & r->mask;
	if (off + sizeof(*h) <= r->mask + 1) {
		h = (const void *)(r->data + off);
		size = h->size;
	} else {
		struct perf_event_header tmp;
		size_t first = r->mask + 1 - off;

		memcpy(&tmp, r->data + off, first);
		memcpy((unsigned char *)&tmp + first, r->data, sizeof(tmp) - first);
		size = tmp.size;
		h = NULL;
	}
	if (size < sizeof(*h) || size > avail || (size & 7)) {
		/* a header the kernel cannot have written: drop what is there */
		r->tail = r->head;
		r->cur = 0;
		*err = -EBADMSG;
		return NULL;
	}
	r->cur = size;
	if (off + size <= r->mask + 1)
		return (const void *)(r->data + off);
	/* the record wraps: copy it whole into the buffer allocated at open */
	{
		size_t first = r->mask + 1 - off;

		memcpy(r->wrap, r->data + off, first);
		memcpy(r->wrap + first, r->data, size - first);
	}
	return (const void *)r->wrap;
}

void kp_ring_consume(struct kp_ring *r)
{
	r->tail += r->cur;
	r->cur = 0;
}

void kp_ring_commit(struct kp_ring *r)
{
	if (r->committed == r->tail || r->fill)
		return;
	/* our reads of the records happen before the kernel may overwrite them */
	__atomic_store_n(&r->meta->data_tail, r->tail, __ATOMIC_RELEASE);
	r->committed = r->tail;
}

size_t kp_ring_pending(const struct kp_ring *r)
{
	return (size_t)(r->head - r->tail);
}
