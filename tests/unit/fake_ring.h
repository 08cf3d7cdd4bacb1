/* SPDX-License-Identifier: MIT */
/*
 * A simulated perf ring for unit tests, without the kernel: a memfd stands
 * in for the perf fd. The test plays the kernel's producer role on its own
 * mapping of the memfd (records written at data_head & mask, then data_head
 * stored with release order); kp_ring reads them through its mapping and
 * hands space back by storing data_tail, which is read back from the meta
 * page. Included by tests/unit/test_ring.c and test_loop.c (after kp_ring.h).
 */
#ifndef KP_FAKE_RING_H
#define KP_FAKE_RING_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include "kp_ring.h"

/* The kernel side of one simulated ring, and the reader's handles on it. */
struct fake {
	int fd; /* the memfd: what kp_ring_open() maps */
	size_t page, size; /* page size; data area bytes */
	void *map;
	size_t map_len;
	struct perf_event_mmap_page *meta;
	unsigned char *data;
	uint64_t head; /* written so far (published or not) */
	int evfd; /* an eventfd to register the ring under in epoll, or -1 */
	struct kp_ring *ring; /* a kp_ring on fd, or NULL; fake_fini closes it */
};

/* Map a memfd of 1 meta page + @pages data pages; false with errno set. */
static inline bool fake_init(struct fake *f, size_t pages)
{
	int e;

	memset(f, 0, sizeof(*f));
	f->evfd = -1;
	f->page = (size_t)sysconf(_SC_PAGESIZE);
	f->size = pages * f->page;
	f->map_len = (pages + 1) * f->page;
	f->fd = memfd_create("kp_fake_ring", MFD_CLOEXEC);
	if (f->fd < 0)
		return false;
	if (ftruncate(f->fd, (off_t)f->map_len))
		goto fail;
	f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	if (f->map == MAP_FAILED)
		goto fail;
	f->meta = f->map;
	f->data = (unsigned char *)f->map + f->page;
	return true;

fail:
	e = errno;
	close(f->fd);
	errno = e;
	return false;
}

/* Undo fake_init(), closing the kp_ring and the eventfd if there are any. */
static inline void fake_fini(struct fake *f)
{
	kp_ring_close(f->ring);
	munmap(f->map, f->map_len);
	close(f->fd);
	if (f->evfd >= 0)
		close(f->evfd);
}

/* Copy @len bytes at the producer position, wrapping at the data end. */
static inline void fake_write(struct fake *f, const void *buf, size_t len)
{
	size_t off = (size_t)(f->head & (f->size - 1)), first = f->size - off;

	if (first > len)
		first = len;
	memcpy(f->data + off, buf, first);
	memcpy(f->data, (const unsigned char *)buf + first, len - first);
	f->head += len;
}

/* Make everything written so far visible to the reader. */
static inline void fake_publish(struct fake *f)
{
	__atomic_store_n(&f->meta->data_head, f->head, __ATOMIC_RELEASE);
}

/* Where the reader has handed space back up to. */
static inline uint64_t fake_tail(const struct fake *f)
{
	return __atomic_load_n(&f->meta->data_tail, __ATOMIC_ACQUIRE);
}

/* Free bytes as the kernel sees them: the reader owns head - data_tail. */
static inline size_t fake_room(const struct fake *f)
{
	return f->size - (size_t)(f->head - fake_tail(f));
}

#endif
