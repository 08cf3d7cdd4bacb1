/* SPDX-License-Identifier: MIT */
#ifndef KP_RING_H
#define KP_RING_H

#include <linux/perf_event.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A perf mmap ring read as a pull iterator: kp_ring_peek() returns the next
 * record without consuming it, kp_ring_consume() steps past it, and
 * kp_ring_commit() hands the space back to the kernel.
 */
struct kp_ring;

/* Map @fd's ring of @pages data pages (a power of two). NULL + errno. */
struct kp_ring *kp_ring_open(int fd, size_t pages);

/*
 * A ring of user memory for records made in user space (kp_ftrace.c makes
 * them from an ftrace ring buffer): once every record in it has been
 * consumed, kp_ring_peek() calls @fill(@ctx, buf, @cap), which writes whole
 * records, each 8-byte aligned, from buf on and returns the bytes written
 * (0: none now). NULL + errno.
 */
typedef size_t (*kp_ring_fill_fn)(void *ctx, unsigned char *buf, size_t cap);
struct kp_ring *kp_ring_new_filled(size_t cap, kp_ring_fill_fn fill, void *ctx);
void kp_ring_close(struct kp_ring *r);

/*
 * kp_ring_peek() - the next unread record.
 * Return: the record (valid until the next consume), NULL when the ring is
 * empty, or NULL with *err = -EBADMSG when a header is corrupt (the ring is
 * then skipped to its head).
 */
const struct perf_event_header *kp_ring_peek(struct kp_ring *r, int *err);
void kp_ring_consume(struct kp_ring *r);
/* Publish the consumed position so the kernel may reuse the space. */
void kp_ring_commit(struct kp_ring *r);
/* Bytes in the ring not yet consumed, as of the last head read. */
size_t kp_ring_pending(const struct kp_ring *r);

#endif
