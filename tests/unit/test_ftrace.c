// SPDX-License-Identifier: MIT
/*
 * Unit test of kp_ftrace_records() and kp_ring's filled rings without the
 * kernel: sub-buffers built here as the ring buffer lays them out
 * (kernel/trace/ring_buffer.c: a u64 timestamp, a long commit whose top
 * bits flag missed events, then events with a u32 header of type_len:5 and
 * time_delta:27) become perf records the merge and kp_perf_parse take.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/perf_event.h>

#include "kp_ftrace.h"
#include "kp_item.h"
#include "kp_perf_parse.h"
#include "kp_ring.h"
#include "t.h"

#define PAGE 4096
#define MISSED (1ull << 31)
#define STORED (1ull << 30)

struct page {
	unsigned char b[PAGE];
	size_t used; /* bytes of events after the 16-byte header */
};

static void page_init(struct page *p, uint64_t ts)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->b, &ts, 8);
}

/* An event of type @type, thread @tid, @extra bytes of payload (a multiple
 * of 4), @delta after the one before. */
static void page_event(struct page *p, uint16_t type, int32_t tid, uint32_t delta, size_t extra)
{
	size_t len = 8 + extra; /* the common header, then the payload */
	uint32_t hdr = (uint32_t)(len / 4) | (delta << 5);
	unsigned char *at = p->b + 16 + p->used;
	uint64_t commit;

	memcpy(at, &hdr, 4);
	memset(at + 4, 0, len);
	memcpy(at + 4, &type, 2);
	memcpy(at + 8, &tid, 4);
	for (size_t i = 0; i < extra; i++)
		at[12 + i] = (unsigned char)(tid + i);
	p->used += 4 + len;
	commit = p->used;
	memcpy(p->b + 8, &commit, 8);
}

/* A time extend (type_len 30): @delta's high bits in a second word. */
static void page_extend(struct page *p, uint64_t delta)
{
	uint32_t w[2] = { 30u | (uint32_t)((delta & ((1u << 27) - 1)) << 5),
			  (uint32_t)(delta >> 27) };
	uint64_t commit;

	memcpy(p->b + 16 + p->used, w, 8);
	p->used += 8;
	commit = p->used;
	memcpy(p->b + 8, &commit, 8);
}

static void page_missed(struct page *p, long long n)
{
	uint64_t commit = p->used | MISSED;

	if (n >= 0) {
		commit |= STORED;
		memcpy(p->b + 16 + p->used, &n, 8);
	}
	memcpy(p->b + 8, &commit, 8);
}

/* The records at @buf[0, @n) parsed; how many, into @it. */
static size_t parse_all(const unsigned char *buf, size_t n, struct kp_item *it, size_t max)
{
	size_t k = 0;
	int owner;

	for (size_t at = 0; at < n && k < max;) {
		const struct perf_event_header *h = (const void *)(buf + at);

		if (h->size == 0 || at + h->size > n || (h->size & 7))
			break;
		kp_perf_parse(h, &owner, 0, kp_perf_time(h), &it[k++]);
		at += h->size;
	}
	return k;
}

static void test_samples(void)
{
	static unsigned char out[1 << 16];
	struct kp_item it[8];
	struct page p;
	int at = -1;
	size_t n, k;

	page_init(&p, 1000);
	page_event(&p, 7, 4242, 5, 4); /* at 1005 */
	page_event(&p, 9, 55, 10, 0); /* another event: not ours */
	page_event(&p, 7, 4243, 20, 12); /* at 1035 */
	at = 0;
	n = kp_ftrace_records(p.b, PAGE, 7, 3, &at, out, sizeof(out));
	T_EQ_INT(at, -1, "the page is done");
	k = parse_all(out, n, it, 8);
	T_EQ_UINT(k, 2, "two samples, the other event's skipped");
	T_OK(k == 2 && it[0].type == KP_ITEM_SAMPLE && it[1].type == KP_ITEM_SAMPLE,
	     "both parse as samples");
	if (k != 2)
		return;
	T_EQ_UINT(it[0].sample.tid, 4242, "tid from common_pid");
	T_EQ_UINT(it[0].sample.pid, KP_FTRACE_NOPID, "pid left to the reader");
	T_EQ_UINT(it[0].sample.cpu, 3, "cpu");
	T_EQ_UINT(it[0].time, 1005, "time: the page's plus the delta");
	T_EQ_UINT(it[1].time, 1035, "time of the second: deltas add up");
	T_OK(it[1].sample.raw_size >= 20 && ((it[1].sample.raw_size + 4) & 7) == 0,
	     "raw holds the event, padded as perf pads it (%u)", it[1].sample.raw_size);
	T_OK(!memcmp(it[1].sample.raw, p.b + 16 + 16 + 12 + 4, 20),
	     "raw is the event's bytes, common header first");
}

static void test_cap(void)
{
	static unsigned char out[1 << 16];
	struct kp_item it[64];
	struct page p;
	size_t n, total = 0, k;
	int at = 0, calls = 0;

	page_init(&p, 0);
	for (int i = 0; i < 40; i++)
		page_event(&p, 7, 100 + i, 1, 0);
	/* room for about 3 records per call */
	while (at >= 0 && calls < 100) {
		n = kp_ftrace_records(p.b, PAGE, 7, 0, &at, out + total, 150);
		total += n;
		calls++;
	}
	k = parse_all(out, total, it, 64);
	T_EQ_UINT(k, 40, "a page over many small buffers: every event once");
	T_OK(k == 40 && it[0].sample.tid == 100 && it[39].sample.tid == 139,
	     "in order, from the first to the last");
	T_OK(calls > 10, "it took many calls (%d)", calls);
}

static void test_missed(void)
{
	static unsigned char out[4096];
	struct kp_item it[4];
	struct page p;
	size_t k;
	int at = 0;

	page_init(&p, 500);
	page_event(&p, 7, 1, 0, 0);
	page_missed(&p, 17);
	k = parse_all(out, kp_ftrace_records(p.b, PAGE, 7, 0, &at, out, sizeof(out)), it, 4);
	T_OK(k == 2 && it[0].type == KP_ITEM_LOST && it[0].lost == 17,
	     "missed events stored in the page: a loss of 17 first");
	T_OK(k == 2 && it[0].time == 500 && it[1].type == KP_ITEM_SAMPLE,
	     "at the page's time, before its samples");
	page_missed(&p, -1);
	at = 0;
	k = parse_all(out, kp_ftrace_records(p.b, PAGE, 7, 0, &at, out, sizeof(out)), it, 4);
	T_OK(k == 2 && it[0].type == KP_ITEM_LOST && it[0].lost == 1,
	     "missed events not counted: a loss of 1");
	/* a page whose first entry is a time extend (after an idle spell) */
	page_init(&p, 500);
	page_extend(&p, 1ull << 30);
	page_event(&p, 7, 1, 3, 0);
	page_missed(&p, 5);
	at = 0;
	k = parse_all(out, kp_ftrace_records(p.b, PAGE, 7, 0, &at, out, sizeof(out)), it, 4);
	T_OK(k == 2 && it[0].type == KP_ITEM_LOST && it[0].lost == 5,
	     "a loss told by a page that starts with a time extend");
	T_OK(k == 2 && it[1].time == 500 + (1ull << 30) + 3, "the extend moves the time (%llu)",
	     k == 2 ? (unsigned long long)it[1].time : 0ull);
}

static void test_garbage(void)
{
	static unsigned char out[4096];
	unsigned char junk[PAGE];
	int at = 0;
	size_t n;

	memset(junk, 0xff, sizeof(junk));
	n = kp_ftrace_records(junk, PAGE, 7, 0, &at, out, sizeof(out));
	T_OK(n <= sizeof(out) && at == -1, "a page whose commit is past its end: done (%zu bytes)",
	     n);
}

struct feed {
	struct page pages[3];
	int next, n;
	int at;
};

static size_t feed_fill(void *ctx, unsigned char *buf, size_t cap)
{
	struct feed *f = ctx;

	while (f->next < f->n) {
		size_t n;

		if (f->at < 0)
			f->at = 0;
		n = kp_ftrace_records(f->pages[f->next].b, PAGE, 7, 1, &f->at, buf, cap);
		if (f->at < 0)
			f->next++;
		if (n)
			return n;
	}
	return 0;
}

static void test_filled_ring(void)
{
	struct feed f = { .n = 3, .at = -1 };
	struct kp_ring *r = kp_ring_new_filled(256, feed_fill, &f);
	const struct perf_event_header *h;
	uint32_t seen = 0, tids = 0;
	int err = 0;

	for (int i = 0; i < 3; i++) {
		page_init(&f.pages[i], (uint64_t)i * 100);
		for (int j = 0; j < 5; j++)
			page_event(&f.pages[i], 7, i * 10 + j, 1, 8);
	}
	T_OK(r != NULL, "a filled ring");
	if (!r)
		return;
	while ((h = kp_ring_peek(r, &err))) {
		uint32_t tid;

		memcpy(&tid, (const unsigned char *)(h + 1) + 4, 4);
		tids += tid;
		seen++;
		kp_ring_consume(r);
		kp_ring_commit(r);
	}
	T_EQ_INT(err, 0, "no corrupt record");
	T_EQ_UINT(seen, 15, "every record of three pages through a 256-byte ring");
	T_EQ_UINT(tids, 5 * (0 + 10 + 20) + 3 * (0 + 1 + 2 + 3 + 4), "each once");
	T_OK(kp_ring_peek(r, &err) == NULL, "then empty");
	kp_ring_close(r);
}

int main(void)
{
	test_samples();
	test_cap();
	test_missed();
	test_garbage();
	test_filled_ring();
	return T_DONE();
}
