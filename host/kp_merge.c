// SPDX-License-Identifier: MIT
/*
 * The ordered merge of perf rings (see kp_merge.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kp_merge.h"
#include "kp_perf_parse.h"
#include "kp_ring.h"

/* commit the read position this often while draining a busy ring */
#define KP_COMMIT_EVERY 256
#define KP_NONE ((size_t)-1)

struct kp_src {
	struct kp_ring *ring;
	void *owner;
	unsigned int flags;
	unsigned int since_commit;
	uint64_t time; /* time of the peeked record */
	const struct perf_event_header *rec;
};

struct kp_merge {
	struct kp_src *srcs;
	size_t nsrc, cap;
	/*
	 * The heap holds indexes into srcs, not pointers: a handler may
	 * declare a probe while records are delivered, and kp_merge_add() may
	 * then move srcs. A ring added during a pass joins at the next one.
	 */
	size_t *heap;
	size_t nheap;
	bool in_pass;
	size_t cur; /* the ring of the record returned last, or KP_NONE */
	uint64_t corrupt;
};

struct kp_merge *kp_merge_new(void)
{
	struct kp_merge *m = calloc(1, sizeof(*m));

	if (m)
		m->cur = KP_NONE;
	return m;
}

void kp_merge_free(struct kp_merge *m)
{
	if (!m)
		return;
	free(m->srcs);
	free(m->heap);
	free(m);
}

int kp_merge_add(struct kp_merge *m, struct kp_ring *ring, void *owner, unsigned int flags)
{
	if (m->nsrc == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct kp_src *s = realloc(m->srcs, cap * sizeof(*s));
		size_t *h;

		if (!s)
			return -ENOMEM;
		m->srcs = s;
		h = realloc(m->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		m->heap = h;
		m->cap = cap;
	}
	m->srcs[m->nsrc++] = (struct kp_src){ .ring = ring, .owner = owner, .flags = flags };
	return 0;
}

void kp_merge_remove(struct kp_merge *m, void *owner)
{
	size_t j = 0;

	kp_merge_end(m);
	for (size_t i = 0; i < m->nsrc; i++)
		if (!owner || m->srcs[i].owner != owner)
			m->srcs[j++] = m->srcs[i];
	m->nsrc = j;
}

uint64_t kp_merge_corrupt(const struct kp_merge *m)
{
	return m->corrupt;
}

static void kp_src_peek(struct kp_merge *m, struct kp_src *s)
{
	int err;

	s->rec = kp_ring_peek(s->ring, &err);
	if (err)
		m->corrupt++;
	if (s->rec)
		s->time = kp_perf_time(s->rec);
}

static bool kp_before(const struct kp_merge *m, size_t a, size_t b)
{
	return m->srcs[a].time < m->srcs[b].time;
}

static void kp_heap_push(struct kp_merge *m, size_t s)
{
	size_t i = m->nheap++;

	while (i) {
		size_t up = (i - 1) / 2;

		if (!kp_before(m, s, m->heap[up]))
			break;
		m->heap[i] = m->heap[up];
		i = up;
	}
	m->heap[i] = s;
}

static size_t kp_heap_pop(struct kp_merge *m)
{
	size_t top = m->heap[0], last = m->heap[--m->nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= m->nheap)
			break;
		if (c + 1 < m->nheap && kp_before(m, m->heap[c + 1], m->heap[c]))
			c++;
		if (!kp_before(m, m->heap[c], last))
			break;
		m->heap[i] = m->heap[c];
		i = c;
	}
	if (m->nheap)
		m->heap[i] = last;
	return top;
}

/* Step past the record returned last; its ring's next goes into the heap
 * unless @settle (the pass is ending). */
static void kp_consume(struct kp_merge *m, bool settle)
{
	struct kp_src *s;

	if (m->cur == KP_NONE)
		return;
	s = &m->srcs[m->cur];
	kp_ring_consume(s->ring);
	if (++s->since_commit >= KP_COMMIT_EVERY) {
		kp_ring_commit(s->ring);
		s->since_commit = 0;
	}
	if (!settle) {
		kp_src_peek(m, s);
		if (s->rec)
			kp_heap_push(m, m->cur);
	}
	m->cur = KP_NONE;
}

void kp_merge_end(struct kp_merge *m)
{
	kp_consume(m, true);
	for (size_t i = 0; i < m->nsrc; i++) {
		kp_ring_commit(m->srcs[i].ring);
		m->srcs[i].since_commit = 0;
	}
	m->nheap = 0;
	m->in_pass = false;
}

const struct perf_event_header *kp_merge_next(struct kp_merge *m, uint64_t horizon, void **owner,
					      unsigned int *flags, uint64_t *time, bool *held)
{
	struct kp_src *s;
	size_t i;

	*held = false;
	if (!m->in_pass) {
		m->in_pass = true;
		m->nheap = 0;
		m->cur = KP_NONE;
		for (i = 0; i < m->nsrc; i++) {
			kp_src_peek(m, &m->srcs[i]);
			if (m->srcs[i].rec)
				kp_heap_push(m, i);
		}
	} else {
		kp_consume(m, false);
	}
	if (!m->nheap || m->srcs[m->heap[0]].time > horizon) {
		*held = m->nheap != 0;
		kp_merge_end(m);
		return NULL;
	}
	i = kp_heap_pop(m);
	s = &m->srcs[i];
	m->cur = i;
	*owner = s->owner;
	*flags = s->flags;
	*time = s->time;
	return s->rec;
}
