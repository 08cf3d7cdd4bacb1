// SPDX-License-Identifier: MIT
/*
 * Unit test of host/kp_ring.c without the kernel: records go into a
 * simulated ring (fake_ring.h) as the kernel would write them, and kp_ring
 * reads them back and hands the space back through data_tail.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include "kp_ring.h"
#include "t.h"
#include "fake_ring.h"

/* A record of @size bytes whose misc and body bytes derive from @seq. */
static void make_rec(unsigned char *buf, uint16_t size, uint32_t seq)
{
	struct perf_event_header h = { .type = PERF_RECORD_SAMPLE,
				       .misc = (uint16_t)seq,
				       .size = size };

	memcpy(buf, &h, sizeof(h));
	for (size_t i = sizeof(h); i < size; i++)
		buf[i] = (unsigned char)(seq * 31u + i * 7u);
}

static bool rec_matches(const struct perf_event_header *h, uint16_t size, uint32_t seq)
{
	static unsigned char want[65536];

	if (!h)
		return false;
	make_rec(want, size, seq);
	return memcmp(h, want, size) == 0;
}

static void put_rec(struct fake *f, uint16_t size, uint32_t seq)
{
	static unsigned char buf[65536];

	make_rec(buf, size, seq);
	fake_write(f, buf, size);
}

/*
 * A simulated ring of @pages pages and a kp_ring on it (f->ring, closed by
 * fake_fini); on failure NULL, after a failed check "@what: kp_ring_open"
 * (what NULL: the caller checks).
 */
static struct kp_ring *open_ring(struct fake *f, size_t pages, const char *what)
{
	if (!fake_init(f, pages))
		T_OK(0, "set up memfd ring of %zu pages: %s", pages, strerror(errno));
	else if (!(f->ring = kp_ring_open(f->fd, pages)))
		fake_fini(f);
	else
		return f->ring;
	if (what)
		T_OK(0, "%s: kp_ring_open", what);
	return NULL;
}

/* Peek the next record and consume it: is it @size bytes made from @seq? */
static bool read_rec(struct kp_ring *r, uint16_t size, uint32_t seq)
{
	int err;
	bool same = rec_matches(kp_ring_peek(r, &err), size, seq);

	kp_ring_consume(r);
	return same;
}

static void test_empty(void)
{
	struct fake f;
	struct kp_ring *r = open_ring(&f, 1, NULL);
	int err = 7;

	T_OK(r != NULL, "empty: kp_ring_open on a memfd of 1+1 pages");
	if (!r)
		return;
	T_OK(kp_ring_peek(r, &err) == NULL, "empty: peek on an empty ring returns NULL");
	T_EQ_INT(err, 0, "empty: peek on an empty ring sets err 0");
	T_EQ_UINT(kp_ring_pending(r), 0, "empty: nothing pending");
	kp_ring_commit(r);
	T_EQ_UINT(fake_tail(&f), 0, "empty: commit with nothing consumed leaves data_tail 0");
	fake_fini(&f);
}

static void test_one(void)
{
	struct fake f;
	struct kp_ring *r = open_ring(&f, 1, "one");
	const struct perf_event_header *h;
	int err = 7;

	if (!r)
		return;
	put_rec(&f, 48, 1);
	fake_publish(&f);
	h = kp_ring_peek(r, &err);
	T_OK(h != NULL, "one: a published record is returned by peek");
	T_EQ_INT(err, 0, "one: peek of a good record sets err 0");
	T_OK(rec_matches(h, 48, 1), "one: the returned record has the bytes written");
	T_EQ_UINT(h ? h->size : 0, 48, "one: header size as written");
	T_EQ_UINT(kp_ring_pending(r), 48, "one: 48 bytes pending before consume");
	kp_ring_consume(r);
	T_EQ_UINT(kp_ring_pending(r), 0, "one: nothing pending after consume");
	T_OK(kp_ring_peek(r, &err) == NULL && err == 0, "one: peek after consume returns NULL");
	fake_fini(&f);
}

static void test_peek_twice_and_commit(void)
{
	struct fake f;
	struct kp_ring *r = open_ring(&f, 1, "peek twice");
	const struct perf_event_header *a, *b;
	int err;

	if (!r)
		return;
	put_rec(&f, 16, 10);
	put_rec(&f, 24, 11);
	fake_publish(&f);
	a = kp_ring_peek(r, &err);
	b = kp_ring_peek(r, &err);
	T_OK(a != NULL && a == b, "peek twice: two peeks without consume return the same record");
	T_OK(rec_matches(b, 16, 10), "peek twice: and it is the first record");
	T_EQ_UINT(fake_tail(&f), 0, "commit: data_tail untouched by peek");
	kp_ring_consume(r);
	T_EQ_UINT(fake_tail(&f), 0, "commit: data_tail untouched by consume alone");
	kp_ring_commit(r);
	T_EQ_UINT(fake_tail(&f), 16, "commit: data_tail = bytes consumed after commit");
	b = kp_ring_peek(r, &err);
	T_OK(rec_matches(b, 24, 11), "peek twice: after consume the second record comes");
	/* consume without a peek in between steps over nothing */
	kp_ring_consume(r);
	kp_ring_consume(r);
	kp_ring_commit(r);
	T_EQ_UINT(fake_tail(&f), 40, "commit: a second consume without peek does not advance");
	fake_fini(&f);
}

/* test_many's records: 8 to 104 bytes, by sequence number */
static uint16_t many_size(uint32_t seq)
{
	return (uint16_t)(8 * (1 + seq % 13));
}

struct tally {
	uint32_t read, bad, errs; /* records read, of them not as written; errors */
};

/* Read and consume up to @max records, checking each is the next in sequence. */
static void read_many(struct kp_ring *r, unsigned int max, struct tally *t)
{
	for (unsigned int k = 0; k < max; k++) {
		int err;
		const struct perf_event_header *h = kp_ring_peek(r, &err);

		if (err)
			t->errs++;
		if (!h)
			break;
		if (!rec_matches(h, many_size(t->read), t->read))
			t->bad++;
		t->read++;
		kp_ring_consume(r);
	}
}

/*
 * Many records through a small ring: the writer only writes into the room
 * the reader handed back, as the kernel does, so the ring wraps many times.
 */
static void test_many(void)
{
	enum { N = 3000 };
	struct fake f;
	struct kp_ring *r = open_ring(&f, 1, "many");
	struct tally t = { 0 };
	uint32_t wrote = 0, wraps_before, straddled = 0;
	unsigned int rounds = 0;

	if (!r)
		return;
	/* first a batch that sits in the ring without wrapping */
	for (; wrote < 40; wrote++)
		put_rec(&f, many_size(wrote), wrote);
	fake_publish(&f);
	read_many(r, UINT_MAX, &t);
	T_EQ_UINT(t.read, 40, "many: 40 records written at once are all read");
	T_EQ_UINT(t.bad, 0, "many: every one of the 40 has its bytes");
	kp_ring_commit(r);
	T_EQ_UINT(fake_tail(&f), f.head, "many: data_tail reaches data_head after commit");

	wraps_before = (uint32_t)(f.head / f.size);
	while (t.read < N && rounds++ < 100000) {
		uint16_t sz;

		while (wrote < N && fake_room(&f) >= (sz = many_size(wrote))) {
			if ((f.head & (f.size - 1)) + sz > f.size)
				straddled++;
			put_rec(&f, sz, wrote++);
		}
		fake_publish(&f);
		/* read a few, commit, let the writer refill */
		read_many(r, 17, &t);
		kp_ring_commit(r);
	}
	T_EQ_UINT(t.read, N, "many: all 3000 records read through a 4 KiB ring");
	T_EQ_UINT(t.bad, 0, "many: every record read equals the one written, wrapped or not");
	T_EQ_UINT(t.errs, 0, "many: no record reported corrupt");
	T_OK(f.head / f.size - wraps_before >= 10, "many: the data area wrapped at least 10 times");
	T_OK(straddled >= 5, "many: %u records straddled the data end (want >= 5)", straddled);
	T_EQ_UINT(fake_tail(&f), f.head, "many: data_tail reaches data_head at the end");
	fake_fini(&f);
}

/*
 * open_ring(), then bring the producer to @gap bytes before the data end
 * with a filler record (@seq), checked (@name), consumed and committed.
 */
static struct kp_ring *open_near_end(struct fake *f, size_t pages, size_t gap, uint32_t seq,
				     const char *what, const char *name)
{
	struct kp_ring *r = open_ring(f, pages, what);

	if (!r)
		return NULL;
	put_rec(f, (uint16_t)(f->size - gap), seq);
	fake_publish(f);
	T_OK(read_rec(r, (uint16_t)(f->size - gap), seq), "%s", name);
	kp_ring_commit(r);
	return r;
}

/* A record split across the end of the data area comes back whole. */
static void test_wrap(void)
{
	struct fake f;
	struct kp_ring *r;
	const struct perf_event_header *h;
	int err;

	/* a filler ending 16 bytes before the end of the 8 KiB area */
	r = open_near_end(&f, 2, 16, 1, "wrap", "wrap: filler record read");
	if (!r)
		return;
	/* 16 bytes at the end, 80 at the start */
	put_rec(&f, 96, 2);
	put_rec(&f, 32, 3);
	fake_publish(&f);
	h = kp_ring_peek(r, &err);
	T_OK(h != NULL && err == 0, "wrap: a record wrapping the end is returned");
	T_OK(rec_matches(h, 96, 2), "wrap: the wrapped record's copy equals what was written");
	kp_ring_consume(r);
	T_OK(read_rec(r, 32, 3), "wrap: the record after the wrapped one follows");
	kp_ring_commit(r);
	T_EQ_UINT(fake_tail(&f), f.head, "wrap: data_tail past the wrapped records");
	fake_fini(&f);

	/* an exact fit at the end is not a wrap; the next one starts at 0 */
	r = open_near_end(&f, 1, 64, 4, "wrap exact", "wrap exact: filler record read");
	if (!r)
		return;
	put_rec(&f, 64, 5);
	put_rec(&f, 8, 6);
	fake_publish(&f);
	T_OK(read_rec(r, 64, 5), "wrap exact: a record ending exactly at the data end is read");
	T_OK(read_rec(r, 8, 6), "wrap exact: the next record, at the data start, is read");
	fake_fini(&f);

	/* the largest record perf can write (u16 size, 8-aligned), wrapped */
	r = open_near_end(&f, 16, 8, 7, "wrap max", "wrap max: a 65528-byte record read in place");
	if (!r)
		return;
	put_rec(&f, 65528, 8); /* 8 bytes at the end, the rest from 0 */
	fake_publish(&f);
	T_OK(read_rec(r, 65528, 8), "wrap max: a 65528-byte record wrapping the end copied whole");
	fake_fini(&f);
}

static void test_corrupt_one(const char *name, uint16_t size, size_t publish)
{
	struct fake f;
	struct kp_ring *r = open_ring(&f, 1, NULL);
	struct perf_event_header h = { .type = PERF_RECORD_SAMPLE, .size = size };
	unsigned char zero[64] = { 0 };
	const struct perf_event_header *got;
	char what[128];
	int err = 0;

	if (!r) {
		T_OK(0, "corrupt %s: kp_ring_open", name);
		return;
	}
	/* a good record first, then the bad header, then a good one after */
	put_rec(&f, 24, 1);
	fake_write(&f, &h, sizeof(h));
	fake_write(&f, zero, publish - sizeof(h));
	/* 16 bytes more: still short of the 64-byte header's claim */
	put_rec(&f, 16, 2);
	fake_publish(&f);
	got = kp_ring_peek(r, &err);
	T_OK(rec_matches(got, 24, 1) && err == 0, "corrupt %s: the good record before is read",
	     name);
	kp_ring_consume(r);
	err = 0;
	got = kp_ring_peek(r, &err);
	T_OK(got == NULL, "corrupt %s: peek returns NULL", name);
	snprintf(what, sizeof(what), "corrupt %s: err is -EBADMSG", name);
	T_EQ_INT(err, -EBADMSG, what);
	snprintf(what, sizeof(what), "corrupt %s: ring skipped to its head (nothing pending)",
		 name);
	T_EQ_UINT(kp_ring_pending(r), 0, what);
	got = kp_ring_peek(r, &err);
	T_OK(got == NULL && err == 0, "corrupt %s: records behind it in the same batch are dropped",
	     name);
	kp_ring_commit(r);
	snprintf(what, sizeof(what), "corrupt %s: commit publishes data_tail = head", name);
	T_EQ_UINT(fake_tail(&f), f.head, what);
	/* the ring is usable again */
	put_rec(&f, 32, 3);
	fake_publish(&f);
	got = kp_ring_peek(r, &err);
	T_OK(rec_matches(got, 32, 3) && err == 0, "corrupt %s: a record written later is read",
	     name);
	fake_fini(&f);
}

static void test_corrupt(void)
{
	test_corrupt_one("size 0", 0, 8);
	test_corrupt_one("size 4 (< header)", 4, 8);
	test_corrupt_one("size 12 (not a multiple of 8)", 12, 16);
	test_corrupt_one("size 64 > 16 published", 64, 16);
}

/*
 * data_head is loaded only when the reader has caught up with the head it
 * loaded last: records published meanwhile are seen once the earlier batch
 * is exhausted, and kp_ring_pending() counts only the loaded batch.
 */
static void test_head_reload(void)
{
	struct fake f;
	struct kp_ring *r = open_ring(&f, 1, "head reload");
	const struct perf_event_header *h;
	int err;

	if (!r)
		return;
	put_rec(&f, 16, 1);
	put_rec(&f, 24, 2);
	fake_publish(&f);
	h = kp_ring_peek(r, &err);
	T_OK(rec_matches(h, 16, 1), "head reload: first record of batch 1");
	T_EQ_UINT(kp_ring_pending(r), 40, "head reload: pending = batch 1 (40 bytes)");
	put_rec(&f, 32, 3);
	fake_publish(&f);
	T_EQ_UINT(kp_ring_pending(r), 40, "head reload: a later publish is not counted in pending");
	kp_ring_consume(r);
	h = kp_ring_peek(r, &err);
	T_OK(rec_matches(h, 24, 2), "head reload: second record of batch 1");
	T_EQ_UINT(kp_ring_pending(r), 24,
		  "head reload: pending still from the old head while batch 1 lasts");
	kp_ring_consume(r);
	T_EQ_UINT(kp_ring_pending(r), 0, "head reload: batch 1 exhausted");
	h = kp_ring_peek(r, &err);
	T_OK(rec_matches(h, 32, 3),
	     "head reload: the later record is seen once batch 1 is exhausted");
	T_EQ_UINT(kp_ring_pending(r), 32, "head reload: pending reloaded with the new head");
	kp_ring_consume(r);
	fake_fini(&f);
}

/* Opening a ring the reader left mid-way resumes at data_tail. */
static void test_resume(void)
{
	struct fake f;
	struct kp_ring *r;

	if (!fake_init(&f, 1)) {
		T_OK(0, "resume: memfd ring");
		return;
	}
	f.head = 3 * f.size + 4000; /* free-running counters, 96 bytes before the end */
	f.meta->data_tail = f.head;
	put_rec(&f, 128, 9); /* wraps */
	fake_publish(&f);
	r = f.ring = kp_ring_open(f.fd, 1);
	T_OK(r != NULL, "resume: kp_ring_open on a ring with data_tail set");
	if (r) {
		T_OK(read_rec(r, 128, 9), "resume: the first record read is the one at data_tail");
		kp_ring_commit(r);
		T_EQ_UINT(fake_tail(&f), 3 * f.size + 4000 + 128,
			  "resume: commit moves on from data_tail");
	}
	fake_fini(&f);
}

static void test_open_errors(void)
{
	struct fake f;
	struct kp_ring *r;

	if (!fake_init(&f, 4)) {
		T_OK(0, "open errors: memfd ring");
		return;
	}
	errno = 0;
	r = kp_ring_open(f.fd, 3);
	T_OK(r == NULL, "open: 3 pages (not a power of two) refused");
	T_EQ_INT(errno, EINVAL, "open: 3 pages sets errno EINVAL");
	kp_ring_close(r);
	errno = 0;
	r = kp_ring_open(f.fd, 0);
	T_OK(r == NULL, "open: 0 pages refused");
	T_EQ_INT(errno, EINVAL, "open: 0 pages sets errno EINVAL");
	kp_ring_close(r);
	errno = 0;
	r = kp_ring_open(f.fd, 6);
	T_OK(r == NULL && errno == EINVAL, "open: 6 pages refused with EINVAL");
	kp_ring_close(r);
	r = kp_ring_open(f.fd, 4);
	T_OK(r != NULL, "open: 4 pages accepted");
	kp_ring_close(r);
	r = kp_ring_open(-1, 1);
	T_OK(r == NULL, "open: a bad fd gives NULL");
	kp_ring_close(NULL); /* must be a no-op */
	fake_fini(&f);
}

int main(void)
{
	alarm(20); /* a hang is a failure */
	test_empty();
	test_one();
	test_peek_twice_and_commit();
	test_many();
	test_wrap();
	test_corrupt();
	test_head_reload();
	test_resume();
	test_open_errors();
	return T_DONE();
}
