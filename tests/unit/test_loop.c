// SPDX-License-Identifier: MIT
/*
 * Unit test of host/kp_loop.c: the time-ordered merge of several rings and
 * the dispatch of SAMPLE/LOST/COMM/FORK/EXIT/MMAP2 records, without the
 * kernel.
 *
 * Each simulated ring (fake_ring.h) is a memfd mapped by kp_ring_open();
 * this file writes the records into it as the kernel would. epoll refuses a
 * memfd (a regular file), so every ring is registered with kp_loop_add()
 * under an eventfd of its own.
 *
 * Records are laid out as kpscript asks for them: samples with
 * sample_type = TID|TIME|CPU|RAW, other records with the sample_id_all
 * trailer (pid, tid, time, cpu, res) at their end.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include "kp_comm.h"
#include "loop_adapter.h"
#include "kp_ring.h"
#include "t.h"
#include "fake_ring.h"

/* ---- simulated rings (fake_ring.h) ---------------------------------- */

/*
 * A simulated ring of @pages pages with its kp_ring and an eventfd to add it
 * to the loop under; false after a failed check.
 */
static bool ring_init(struct fake *f, size_t pages)
{
	int e;

	if (!fake_init(f, pages))
		goto fail;
	f->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->evfd >= 0 && (f->ring = kp_ring_open(f->fd, pages)))
		return true;
	e = errno;
	fake_fini(f);
	errno = e;
fail:
	T_OK(0, "set up a simulated ring of %zu pages: %s", pages, strerror(errno));
	return false;
}

/* kp_loop_add() the ring under its eventfd. */
static int ring_add(struct kp_loop *l, struct fake *f, void *owner)
{
	return kp_loop_add(l, f->evfd, f->ring, owner);
}

/* Append @n bytes at @p to a record under construction. */
struct rec {
	unsigned char b[1024];
	size_t n;
};

static void rec_put(struct rec *r, const void *p, size_t n)
{
	memcpy(r->b + r->n, p, n);
	r->n += n;
}

static void rec_u32(struct rec *r, uint32_t v)
{
	rec_put(r, &v, 4);
}

static void rec_u64(struct rec *r, uint64_t v)
{
	rec_put(r, &v, 8);
}

/* Zeros up to a multiple of 8 bytes. */
static void rec_pad(struct rec *r)
{
	while (r->n & 7)
		r->b[r->n++] = 0;
}

/* Pad to 8, fill in the header (with @misc) and write the record into the
 * ring. */
static void rec_emit_misc(struct fake *f, struct rec *r, uint32_t type, uint16_t misc)
{
	struct perf_event_header h = { .type = type, .misc = misc };

	rec_pad(r);
	h.size = (uint16_t)r->n;
	memcpy(r->b, &h, sizeof(h));
	fake_write(f, r->b, r->n);
}

static void rec_emit(struct fake *f, struct rec *r, uint32_t type)
{
	rec_emit_misc(f, r, type, 0);
}

static void rec_begin(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->n = sizeof(struct perf_event_header);
}

/* pid, tid, time, cpu, res: a sample's TID|TIME|CPU fields, and the
 * sample_id_all trailer of other records */
static void rec_ids(struct rec *r, uint32_t pid, uint32_t tid, uint64_t time, uint32_t cpu)
{
	rec_u32(r, pid);
	rec_u32(r, tid);
	rec_u64(r, time);
	rec_u32(r, cpu);
	rec_u32(r, 0);
}

/* sample_id_all trailer */
static void rec_trailer(struct rec *r, uint32_t pid, uint32_t tid, uint64_t time)
{
	rec_ids(r, pid, tid, time, 3);
}

/* A sample whose raw_size field says @claim, carrying @len raw bytes. */
static void put_sample_raw(struct fake *f, uint32_t pid, uint32_t tid, uint64_t time,
			   const void *raw, uint32_t len, uint32_t claim)
{
	struct rec r;

	rec_begin(&r);
	rec_ids(&r, pid, tid, time, 5);
	rec_u32(&r, claim);
	rec_put(&r, raw, len);
	rec_emit(f, &r, PERF_RECORD_SAMPLE);
}

/* A sample whose raw bytes are "r<time>". */
static void put_sample(struct fake *f, uint32_t pid, uint32_t tid, uint64_t time)
{
	char raw[32];
	int n = snprintf(raw, sizeof(raw), "r%llu", (unsigned long long)time);

	put_sample_raw(f, pid, tid, time, raw, (uint32_t)n, (uint32_t)n);
}

/* Samples of pid = tid = @id at each of @times, in that order. */
static void put_samples(struct fake *f, uint32_t id, const uint64_t *times, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_sample(f, id, id, times[i]);
}

#define PUT_SAMPLES(f, id, ...)                               \
	put_samples(f, id, (const uint64_t[]){ __VA_ARGS__ }, \
		    sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))

static void put_lost(struct fake *f, uint64_t lost, uint64_t time)
{
	struct rec r;

	rec_begin(&r);
	rec_u64(&r, 77); /* id */
	rec_u64(&r, lost);
	rec_trailer(&r, 0, 0, time);
	rec_emit(f, &r, PERF_RECORD_LOST);
}

static void put_comm(struct fake *f, uint32_t pid, uint32_t tid, const char *comm, uint64_t time)
{
	struct rec r;

	rec_begin(&r);
	rec_u32(&r, pid);
	rec_u32(&r, tid);
	rec_put(&r, comm, strlen(comm) + 1);
	rec_pad(&r);
	rec_trailer(&r, pid, tid, time);
	rec_emit(f, &r, PERF_RECORD_COMM);
}

static void put_task(struct fake *f, uint32_t type, uint32_t pid, uint32_t ppid, uint32_t tid,
		     uint32_t ptid, uint64_t time)
{
	struct rec r;

	rec_begin(&r);
	rec_u32(&r, pid);
	rec_u32(&r, ppid);
	rec_u32(&r, tid);
	rec_u32(&r, ptid);
	rec_u64(&r, time);
	rec_trailer(&r, pid, tid, time);
	rec_emit(f, &r, type);
}

/* An MMAP2 record's fields, as the kernel lays them out. */
struct mmap2 {
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino;
	bool build_id;
	uint32_t prot, flags;
	const char *name; /* written with its NUL, padded to 8 */
};

/* The body up to and with the filename; then the caller's trailer. */
static void rec_mmap2(struct rec *r, const struct mmap2 *m)
{
	rec_u32(r, m->pid);
	rec_u32(r, m->tid);
	rec_u64(r, m->addr);
	rec_u64(r, m->len);
	rec_u64(r, m->pgoff);
	if (m->build_id) {
		unsigned char id[24] = { 20 }; /* build_id_size, 2 reserved, build_id[20] */

		for (int i = 4; i < 24; i++)
			id[i] = (unsigned char)(0xa0 + i);
		rec_put(r, id, sizeof(id));
	} else {
		rec_u32(r, m->maj);
		rec_u32(r, m->min);
		rec_u64(r, m->ino);
		rec_u64(r, 42); /* ino_generation */
	}
	rec_u32(r, m->prot);
	rec_u32(r, m->flags);
	rec_put(r, m->name, strlen(m->name) + 1);
	rec_pad(r);
}

static void put_mmap2(struct fake *f, const struct mmap2 *m, uint64_t time)
{
	struct rec r;

	rec_begin(&r);
	rec_mmap2(&r, m);
	rec_trailer(&r, m->pid, m->tid, time);
	rec_emit_misc(f, &r, PERF_RECORD_MMAP2,
		      PERF_RECORD_MISC_USER | (m->build_id ? PERF_RECORD_MISC_MMAP_BUILD_ID : 0));
}

/* ---- the callbacks: a log of what was delivered ------------------------ */

enum { GOT_SAMPLE = 1, GOT_LOST, GOT_TASK };

struct got {
	int kind;
	void *owner;
	uint32_t pid, tid, cpu;
	uint64_t time, lost;
	char raw[32];
	uint32_t raw_size;
	bool has_comm;
	char comm[17];
	uint64_t tail_a; /* data_tail of ctx->watch when delivered */
	/* GOT_TASK: the record's type and fields, its filename copied */
	uint32_t type;
	int32_t ppid;
	bool exec;
	struct kp_task_map map;
	char name[300];
};

struct ctx {
	struct got log[4096];
	size_t n, nsamples;
	size_t stop_at; /* return 1 from the sample that makes nsamples this */
	struct kp_comm *comm;
	struct fake *watch;
};

/* The next entry of the log, cleared, of @kind and @owner; NULL when full. */
static struct got *log_next(struct ctx *c, int kind, void *owner)
{
	struct got *g;

	if (c->n == sizeof(c->log) / sizeof(c->log[0]))
		return NULL;
	g = &c->log[c->n++];
	memset(g, 0, sizeof(*g));
	g->kind = kind;
	g->owner = owner;
	return g;
}

static int on_sample(void *owner, const struct kp_sample *s, void *vctx)
{
	struct ctx *c = vctx;
	struct got *g = log_next(c, GOT_SAMPLE, owner);

	if (!g)
		return 1;
	g->pid = s->pid;
	g->tid = s->tid;
	g->cpu = s->cpu;
	g->time = s->time;
	g->raw_size = s->raw_size;
	memcpy(g->raw, s->raw, s->raw_size < sizeof(g->raw) - 1 ? s->raw_size : sizeof(g->raw) - 1);
	if (c->comm) {
		const char *cm = kp_comm_get(c->comm, (int32_t)s->tid);

		g->has_comm = cm != NULL;
		if (cm)
			snprintf(g->comm, sizeof(g->comm), "%s", cm);
	}
	if (c->watch)
		g->tail_a = fake_tail(c->watch);
	c->nsamples++;
	return c->stop_at && c->nsamples == c->stop_at;
}

static void on_lost(void *owner, uint64_t lost, void *vctx)
{
	struct got *g = log_next(vctx, GOT_LOST, owner);

	if (g)
		g->lost = lost;
}

static const struct kp_loop_ops ops = { .sample = on_sample, .lost = on_lost };

static void on_task(const struct kp_task_rec *r, void *vctx)
{
	struct got *g = log_next(vctx, GOT_TASK, NULL);

	if (!g)
		return;
	g->type = r->type;
	g->pid = (uint32_t)r->pid;
	g->tid = (uint32_t)r->tid;
	g->ppid = r->ppid;
	g->time = r->time;
	g->exec = r->exec;
	if (r->comm)
		snprintf(g->comm, sizeof(g->comm), "%s", r->comm);
	if (r->type == PERF_RECORD_MMAP2) {
		g->map = r->map;
		snprintf(g->name, sizeof(g->name), "%s", r->map.filename);
		g->map.filename = NULL; /* valid during the callback only */
	}
}

static const struct kp_loop_ops task_ops = {
	.sample = on_sample,
	.lost = on_lost,
	.task = on_task,
};

static int owner_a, owner_b, owner_c;
#define A ((void *)&owner_a)
#define B ((void *)&owner_b)
#define C ((void *)&owner_c)

static const char *owner_name(void *o)
{
	return o == A ? "A" : o == B ? "B" : o == C ? "C" : o ? "?" : "NULL";
}

static struct ctx *ctx_new(void)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c) {
		perror("calloc");
		exit(2);
	}
	return c;
}

/* ---- tests ------------------------------------------------------------ */

/* Records interleaved in time across three rings come out in time order. */
static void test_order(void)
{
	static const struct {
		void *owner;
		uint64_t time;
	} want[] = {
		{ C, 5 },  { A, 10 }, { B, 20 }, { C, 30 }, { A, 40 },	{ B, 50 },
		{ C, 60 }, { A, 70 }, { B, 80 }, { C, 90 }, { A, 100 },
	};
	struct fake fa, fb, fc;
	struct ctx *c = ctx_new();
	struct kp_loop *l = kp_loop_new(&ops, c, NULL);
	size_t bad = 0, n = sizeof(want) / sizeof(want[0]);
	bool held = true;
	long ret;

	T_OK(l != NULL, "order: kp_loop_new");
	if (!l || !ring_init(&fa, 1) || !ring_init(&fb, 1) || !ring_init(&fc, 1))
		exit(2);
	for (size_t i = 0; i < n; i++) {
		struct fake *f = want[i].owner == A ? &fa : want[i].owner == B ? &fb : &fc;

		put_sample(f, 1000 + (uint32_t)i, 2000 + (uint32_t)i, want[i].time);
	}
	fake_publish(&fa);
	fake_publish(&fb);
	fake_publish(&fc);
	T_EQ_INT(ring_add(l, &fa, A), 0, "order: kp_loop_add ring A");
	T_EQ_INT(ring_add(l, &fb, B), 0, "order: kp_loop_add ring B");
	T_EQ_INT(ring_add(l, &fc, C), 0, "order: kp_loop_add ring C");
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_EQ_INT(ret, (long)n, "order: drain(UINT64_MAX) returns the 11 records");
	T_OK(!held, "order: nothing held after drain(UINT64_MAX)");
	T_EQ_UINT(c->n, n, "order: 11 samples delivered");
	for (size_t i = 0; i < n && i < c->n; i++) {
		const struct got *g = &c->log[i];
		char raw[32];

		snprintf(raw, sizeof(raw), "r%llu", (unsigned long long)want[i].time);
		if (g->time != want[i].time || g->owner != want[i].owner || g->pid != 1000 + i ||
		    g->tid != 2000 + i || g->cpu != 5 || g->raw_size != strlen(raw) ||
		    strcmp(g->raw, raw)) {
			bad++;
			printf("# order: #%zu got %s t=%llu pid=%u tid=%u cpu=%u raw=%s, want %s "
			       "t=%llu\n",
			       i, owner_name(g->owner), (unsigned long long)g->time, g->pid, g->tid,
			       g->cpu, g->raw, owner_name(want[i].owner),
			       (unsigned long long)want[i].time);
		}
	}
	T_EQ_UINT(bad, 0, "order: each sample in global time order with its owner, ids, cpu, raw");
	T_EQ_UINT(fake_tail(&fa), fa.head, "order: ring A data_tail committed to its head");
	T_EQ_UINT(fake_tail(&fc), fc.head, "order: ring C data_tail committed to its head");
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_EQ_INT(ret, 0, "order: a second drain finds nothing");
	kp_loop_free(l);
	fake_fini(&fa);
	fake_fini(&fb);
	fake_fini(&fc);
	free(c);
}

/* Many records in four rings: order, per-ring order, commits mid-pass. */
static void test_order_many(void)
{
	enum { NR = 4, PER = 600 };
	struct fake f[NR];
	void *own[NR] = { A, B, C, (void *)&f[0] };
	struct ctx *c = ctx_new();
	struct kp_loop *l = kp_loop_new(&ops, c, NULL);
	uint32_t seed = 12345, next_seq[NR] = { 0 };
	size_t unordered = 0, ring_order = 0, tail_seen = 0;
	bool held;
	long ret;

	if (!l)
		exit(2);
	for (int r = 0; r < NR; r++) {
		uint64_t t = 1;

		if (!ring_init(&f[r], 16))
			exit(2);
		for (uint32_t i = 0; i < PER; i++) {
			seed = seed * 1103515245u + 12345u;
			t += (seed >> 16) % 50; /* ties across rings happen too */
			put_sample(&f[r], (uint32_t)r, i, t);
		}
		fake_publish(&f[r]);
		if (ring_add(l, &f[r], own[r]))
			T_OK(0, "order many: kp_loop_add ring %d", r);
	}
	c->watch = &f[0];
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_EQ_INT(ret, NR * PER, "order many: drain returns 2400 records");
	T_EQ_UINT(c->n, NR * PER, "order many: 2400 samples delivered");
	for (size_t i = 0; i < c->n; i++) {
		const struct got *g = &c->log[i];

		if (i && g->time < c->log[i - 1].time)
			unordered++;
		if (g->pid < NR) {
			if (g->tid != next_seq[g->pid] || g->owner != own[g->pid])
				ring_order++;
			next_seq[g->pid] = g->tid + 1;
		}
		if (g->owner == own[0] && g->tid == PER - 1 && g->tail_a > 0)
			tail_seen = 1;
	}
	T_EQ_UINT(unordered, 0, "order many: no sample older than the one before it");
	T_EQ_UINT(ring_order, 0, "order many: each ring's samples in its own order, right owner");
	T_OK(tail_seen, "order many: ring A's data_tail committed during the pass (> 256 records)");
	tail_seen = 0;
	for (int r = 0; r < NR; r++)
		tail_seen += fake_tail(&f[r]) == f[r].head;
	T_EQ_UINT(tail_seen, NR, "order many: rings with data_tail = head after the pass");
	kp_loop_free(l);
	for (int r = 0; r < NR; r++)
		fake_fini(&f[r]);
	free(c);
}

static bool times_are(const struct ctx *c, size_t from, const uint64_t *want, size_t n)
{
	if (c->n - from != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (c->log[from + i].time != want[i])
			return false;
	return true;
}

/* Records newer than the horizon wait for a later drain. */
static void test_horizon(void)
{
	static const uint64_t first[] = { 10, 20, 30, 40 }, second[] = { 45, 50, 60 },
			      third[] = { 70 };
	struct fake fa, fb;
	struct ctx *c = ctx_new();
	struct kp_loop *l = kp_loop_new(&ops, c, NULL);
	bool held = false;
	long ret;

	if (!l || !ring_init(&fa, 1) || !ring_init(&fb, 1))
		exit(2);
	PUT_SAMPLES(&fa, 1, 10, 30, 50);
	PUT_SAMPLES(&fb, 2, 20, 40);
	fake_publish(&fa);
	fake_publish(&fb);
	ring_add(l, &fa, A);
	ring_add(l, &fb, B);
	ret = kp_loop_drain(l, 40, &held);
	T_EQ_INT(ret, 4, "horizon: drain(40) delivers 4 (40 itself is not newer)");
	T_OK(held, "horizon: drain(40) sets held (50 left)");
	T_OK(times_are(c, 0, first, 4), "horizon: drain(40) delivered 10,20,30,40 in order");
	ret = kp_loop_drain(l, 40, &held);
	T_EQ_INT(ret, 0, "horizon: drain(40) again delivers nothing");
	T_OK(held, "horizon: and still holds 50");
	/* a late record from the other ring, older than the held one */
	PUT_SAMPLES(&fb, 2, 45, 60);
	fake_publish(&fb);
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_EQ_INT(ret, 3, "horizon: drain(UINT64_MAX) delivers the other 3");
	T_OK(!held, "horizon: drain(UINT64_MAX) holds nothing");
	T_OK(times_are(c, 4, second, 3), "horizon: late 45 comes before the held 50, then 60");
	T_OK(c->log[5].owner == A && c->log[5].time == 50,
	     "horizon: held 50 delivered once, owner A");
	put_sample(&fa, 1, 1, 70);
	fake_publish(&fa);
	ret = kp_loop_drain(l, 69, &held);
	T_OK(ret == 0 && held, "horizon: drain(69) holds the new 70");
	ret = kp_loop_drain(l, 70, &held);
	T_OK(ret == 1 && !held && times_are(c, 7, third, 1), "horizon: drain(70) delivers 70");
	kp_loop_free(l);
	fake_fini(&fa);
	fake_fini(&fb);
	free(c);
}

/* A sample callback returning non-zero ends the pass; the next goes on. */
static void test_stop(void)
{
	static const uint64_t all[] = { 10, 20, 30, 40, 50, 60 };
	struct fake fa, fb;
	struct ctx *c = ctx_new();
	struct kp_loop *l = kp_loop_new(&ops, c, NULL);
	bool held;
	long ret;

	if (!l || !ring_init(&fa, 1) || !ring_init(&fb, 1))
		exit(2);
	PUT_SAMPLES(&fa, 1, 10, 30, 50);
	PUT_SAMPLES(&fb, 2, 20, 40, 60);
	fake_publish(&fa);
	fake_publish(&fb);
	ring_add(l, &fa, A);
	ring_add(l, &fb, B);
	c->stop_at = 3;
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_OK(ret < 0, "stop: drain returns negative when the callback stops it (got %ld)", ret);
	T_EQ_UINT(c->n, 3, "stop: the pass ends right after the stopping sample");
	T_OK(times_are(c, 0, all, 3), "stop: 10,20,30 delivered before the stop");
	c->stop_at = 0;
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_EQ_INT(ret, 3, "stop: the next drain delivers the remaining 3");
	T_OK(times_are(c, 0, all, 6), "stop: 40,50,60 follow, none twice, none lost");
	T_OK(fake_tail(&fa) == fa.head && fake_tail(&fb) == fb.head,
	     "stop: both rings committed to their heads");
	kp_loop_free(l);
	fake_fini(&fa);
	fake_fini(&fb);
	free(c);
}

/* PERF_RECORD_LOST goes to ops->lost with the ring's owner, in time order. */
static void test_lost(void)
{
	struct fake fa, fb, fs;
	struct ctx *c = ctx_new();
	struct kp_loop *l = kp_loop_new(&ops, c, NULL);
	bool held;
	long ret;

	if (!l || !ring_init(&fa, 1) || !ring_init(&fb, 1) || !ring_init(&fs, 1))
		exit(2);
	put_sample(&fa, 1, 1, 10);
	put_lost(&fa, 7, 20);
	put_sample(&fa, 1, 1, 30);
	put_lost(&fb, 3, 15);
	put_sample(&fb, 2, 2, 25);
	put_lost(&fs, 99, 17); /* side band: no owner to tell */
	fake_publish(&fa);
	fake_publish(&fb);
	fake_publish(&fs);
	ring_add(l, &fa, A);
	ring_add(l, &fb, B);
	ring_add(l, &fs, NULL);
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_EQ_INT(ret, 6, "lost: drain passes all 6 records");
	T_EQ_UINT(c->n, 5, "lost: 3 samples + 2 lost callbacks (none for the side band)");
	if (c->n == 5) {
		T_OK(c->log[0].kind == GOT_SAMPLE && c->log[0].time == 10, "lost: #0 sample A@10");
		T_OK(c->log[1].kind == GOT_LOST && c->log[1].owner == B && c->log[1].lost == 3,
		     "lost: #1 lost(owner B, 3) at 15");
		T_OK(c->log[2].kind == GOT_LOST && c->log[2].owner == A && c->log[2].lost == 7,
		     "lost: #2 lost(owner A, 7) at 20");
		T_OK(c->log[3].kind == GOT_SAMPLE && c->log[3].owner == B && c->log[3].time == 25,
		     "lost: #3 sample B@25");
		T_OK(c->log[4].kind == GOT_SAMPLE && c->log[4].owner == A && c->log[4].time == 30,
		     "lost: #4 sample A@30");
	}
	kp_loop_free(l);
	fake_fini(&fa);
	fake_fini(&fb);
	fake_fini(&fs);
	free(c);
}

/* The side band feeds the comm table in merge order with the samples. */
static void test_sideband(void)
{
	struct fake fa, fs;
	struct ctx *c = ctx_new();
	struct kp_comm *comm = kp_comm_new();
	struct kp_loop *l = kp_loop_new(&ops, c, comm);
	bool held;
	long ret;

	if (!comm || !l || !ring_init(&fa, 1) || !ring_init(&fs, 1))
		exit(2);
	c->comm = comm;
	/* side band: tid 101 named alpha at 10, renamed at 20 to the longest
	 * name a task can have, forks 102 at 30 which exits at 40; the exec of
	 * 103 (pid 103) at 50 */
	put_comm(&fs, 100, 101, "alpha", 10);
	put_sample(&fs, 100, 101, 12); /* a sample in the side band is not delivered */
	put_comm(&fs, 100, 101, "fifteen_chars_x", 20);
	put_task(&fs, PERF_RECORD_FORK, 100, 100, 102, 101, 30);
	put_task(&fs, PERF_RECORD_EXIT, 100, 100, 102, 102, 40);
	put_comm(&fs, 103, 103, "z", 50);
	/* samples of tid 101, 102 and 103 between them */
	put_sample(&fa, 100, 101, 5);
	put_sample(&fa, 100, 101, 15);
	put_sample(&fa, 100, 101, 25);
	put_sample(&fa, 100, 102, 35);
	put_sample(&fa, 100, 102, 45);
	put_sample(&fa, 103, 103, 49);
	put_sample(&fa, 103, 103, 55);
	fake_publish(&fa);
	fake_publish(&fs);
	ring_add(l, &fa, A);
	ring_add(l, &fs, NULL);
	kp_loop_remove(l, NULL); /* NULL owner: removes nothing */
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_EQ_INT(ret, 13, "sideband: drain passes all 13 records");
	T_EQ_UINT(c->n, 7, "sideband: 7 samples delivered (not the side band's own)");
	if (c->n == 7) {
		T_OK(!c->log[0].has_comm, "sideband: sample @5 before any COMM: tid 101 unknown");
		T_EQ_STR(c->log[1].comm, "alpha", "sideband: sample @15 sees COMM@10");
		T_EQ_STR(c->log[2].comm, "fifteen_chars_x",
			 "sideband: sample @25 sees the rename @20 (15 chars)");
		T_EQ_STR(c->log[3].comm, "fifteen_chars_x",
			 "sideband: forked tid 102 @35 has its parent's comm");
		T_EQ_STR(c->log[4].comm, "fifteen_chars_x",
			 "sideband: tid 102 @45, after its EXIT@40, still named (grace)");
		T_OK(!c->log[5].has_comm, "sideband: tid 103 @49 before its COMM@50: unknown");
		T_EQ_STR(c->log[6].comm, "z", "sideband: tid 103 @55 sees COMM@50");
	}
	T_EQ_STR(kp_comm_get(comm, 101), "fifteen_chars_x", "sideband: comm of 101 after drain");
	T_EQ_INT(kp_comm_pid(comm, 102), 100, "sideband: FORK recorded pid 100 for tid 102");
	T_EQ_STR(kp_comm_get(comm, 102), "fifteen_chars_x",
		 "sideband: exited 102 kept until expire");
	kp_comm_expire(comm, 40);
	T_OK(kp_comm_get(comm, 102) != NULL, "sideband: expire(40) keeps 102 (EXIT time is 40)");
	kp_comm_expire(comm, 41);
	T_OK(kp_comm_get(comm, 102) == NULL,
	     "sideband: expire(41) drops 102, EXIT time from record");
	T_EQ_STR(kp_comm_get(comm, 101), "fifteen_chars_x", "sideband: 101 survives the expire");
	kp_loop_free(l);
	kp_comm_free(comm);
	fake_fini(&fa);
	fake_fini(&fs);
	free(c);
}

/* A COMM with misc set: PERF_RECORD_MISC_COMM_EXEC marks an exec. */
static void put_comm_exec(struct fake *f, uint32_t pid, const char *comm, uint64_t time)
{
	struct rec r;

	rec_begin(&r);
	rec_u32(&r, pid);
	rec_u32(&r, pid);
	rec_put(&r, comm, strlen(comm) + 1);
	rec_pad(&r);
	rec_trailer(&r, pid, pid, time);
	rec_emit_misc(f, &r, PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC);
}

static bool got_map(const struct got *g, const struct mmap2 *m, uint64_t time)
{
	return g->kind == GOT_TASK && g->type == PERF_RECORD_MMAP2 && g->pid == m->pid &&
	       g->tid == m->tid && g->time == time && g->map.addr == m->addr &&
	       g->map.len == m->len && g->map.pgoff == m->pgoff && g->map.build_id == m->build_id &&
	       g->map.maj == (m->build_id ? 0 : m->maj) &&
	       g->map.min == (m->build_id ? 0 : m->min) &&
	       g->map.ino == (m->build_id ? 0 : m->ino) && g->map.prot == m->prot &&
	       g->map.flags == m->flags && !strcmp(g->name, m->name);
}

/*
 * MMAP2 records of the side band reach ops->task in merge order with the
 * samples and the other process records; records too short for their fixed
 * fields, or whose filename has no NUL before the trailer, are skipped and
 * counted corrupt.
 */
static void test_mmap2(void)
{
	static char longname[260];
	const struct mmap2 prog = {
		.pid = 300,
		.tid = 300,
		.addr = 0x55d0c0a02000,
		.len = 0x6000,
		.pgoff = 0x2000,
		.maj = 0xfd,
		.min = 1,
		.ino = 1234567,
		.prot = 5,
		.flags = 2,
		.name = "/usr/bin/prog",
	};
	const struct mmap2 libc = {
		.pid = 300,
		.tid = 301,
		.addr = 0x7f1000028000,
		.len = 0x195000,
		.pgoff = 0x28000,
		.build_id = true,
		.prot = 5,
		.flags = 2,
		.name = "/usr/lib/x86_64-linux-gnu/libc.so.6",
	};
	/* 7 characters and the NUL: a filename that needs no padding */
	const struct mmap2 exact = {
		.pid = 300,
		.tid = 300,
		.addr = 0x7f2000000000,
		.len = 0x1000,
		.maj = 0x103,
		.min = 2,
		.ino = 77,
		.prot = 4,
		.flags = 2,
		.name = "[vdso7]",
	};
	const struct mmap2 lng = {
		.pid = 300,
		.tid = 300,
		.addr = 0x7f3000000000,
		.len = 0x1000,
		.maj = 8,
		.min = 1,
		.ino = 99,
		.prot = 5,
		.flags = 1,
		.name = longname,
	};
	struct fake fa, fs;
	struct ctx *c = ctx_new();
	struct kp_comm *comm = kp_comm_new();
	struct kp_loop *l = kp_loop_new(&task_ops, c, comm);
	struct rec r;
	bool held;
	long ret;

	if (!comm || !l || !ring_init(&fa, 1) || !ring_init(&fs, 4))
		exit(2);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[0] = '/';
	put_task(&fs, PERF_RECORD_FORK, 300, 299, 300, 299, 10);
	put_comm_exec(&fs, 300, "prog", 20);
	put_mmap2(&fs, &prog, 30);
	put_sample(&fa, 300, 300, 35);
	put_mmap2(&fs, &libc, 40);
	put_mmap2(&fs, &exact, 50);
	/* lies: no room for a filename; a filename without NUL (the trailer
	 * after it holds zero bytes); a body shorter than the fixed fields;
	 * a build-id record cut inside its id */
	rec_begin(&r);
	rec_mmap2(&r, &prog);
	r.n -= 16; /* "/usr/bin/prog" and its padding */
	rec_trailer(&r, 300, 300, 60);
	rec_emit(&fs, &r, PERF_RECORD_MMAP2);
	rec_begin(&r);
	rec_mmap2(&r, &prog);
	memset(r.b + r.n - 16, 'x', 16);
	rec_trailer(&r, 300, 300, 61);
	rec_emit(&fs, &r, PERF_RECORD_MMAP2);
	rec_begin(&r);
	rec_u32(&r, 300);
	rec_u32(&r, 300);
	rec_u64(&r, 0x1000);
	rec_u64(&r, 0x1000);
	rec_trailer(&r, 300, 300, 62);
	rec_emit(&fs, &r, PERF_RECORD_MMAP2);
	rec_begin(&r);
	rec_u32(&r, 300);
	rec_u32(&r, 300);
	rec_u64(&r, 0x1000);
	rec_u64(&r, 0x1000);
	rec_u64(&r, 0);
	rec_u64(&r, 20);
	rec_trailer(&r, 300, 300, 63);
	rec_emit_misc(&fs, &r, PERF_RECORD_MMAP2, PERF_RECORD_MISC_MMAP_BUILD_ID);
	put_mmap2(&fs, &lng, 70);
	put_sample(&fa, 300, 300, 75);
	put_task(&fs, PERF_RECORD_EXIT, 300, 299, 300, 300, 80);
	fake_publish(&fa);
	fake_publish(&fs);
	ring_add(l, &fa, A);
	ring_add(l, &fs, NULL);
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_EQ_INT(ret, 13, "mmap2: drain passes all 13 records");
	T_EQ_UINT(kp_loop_corrupt(l), 4, "mmap2: the 4 lying records counted corrupt");
	T_EQ_UINT(c->n, 9, "mmap2: 2 samples and 7 process records delivered");
	if (c->n == 9) {
		T_OK(c->log[0].kind == GOT_TASK && c->log[0].type == PERF_RECORD_FORK &&
			 c->log[0].pid == 300 && c->log[0].ppid == 299,
		     "mmap2: #0 the FORK, unchanged");
		T_OK(c->log[1].kind == GOT_TASK && c->log[1].type == PERF_RECORD_COMM &&
			 c->log[1].exec && !strcmp(c->log[1].comm, "prog") && c->log[1].time == 20,
		     "mmap2: #1 the COMM of the exec, unchanged");
		T_OK(got_map(&c->log[2], &prog, 30),
		     "mmap2: #2 the program's mapping, every field (%s)", c->log[2].name);
		T_OK(c->log[3].kind == GOT_SAMPLE && c->log[3].time == 35,
		     "mmap2: #3 a sample between, in time order");
		T_OK(got_map(&c->log[4], &libc, 40),
		     "mmap2: #4 a build-id record: tid, no device or inode (%s)", c->log[4].name);
		T_OK(got_map(&c->log[5], &exact, 50),
		     "mmap2: #5 a filename of 8 bytes with its NUL, no padding (%s)",
		     c->log[5].name);
		T_OK(got_map(&c->log[6], &lng, 70) && strlen(c->log[6].name) == 259,
		     "mmap2: #6 a 259-byte filename, after the lying ones");
		T_OK(c->log[7].kind == GOT_SAMPLE && c->log[7].time == 75, "mmap2: #7 a sample");
		T_OK(c->log[8].kind == GOT_TASK && c->log[8].type == PERF_RECORD_EXIT &&
			 c->log[8].time == 80,
		     "mmap2: #8 the EXIT");
	}
	T_EQ_STR(kp_comm_get(comm, 300), "prog", "mmap2: the comm table still has the exec's name");
	kp_loop_free(l);

	/* without ops->task, MMAP2 records are passed over, not counted */
	l = kp_loop_new(&ops, c, comm);
	if (!l)
		exit(2);
	c->n = 0;
	put_mmap2(&fs, &prog, 90);
	rec_begin(&r);
	rec_u32(&r, 300);
	rec_trailer(&r, 300, 300, 91);
	rec_emit(&fs, &r, PERF_RECORD_MMAP2);
	fake_publish(&fs);
	ring_add(l, &fs, NULL);
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_OK(ret == 2 && c->n == 0 && kp_loop_corrupt(l) == 0,
	     "mmap2: without a task callback, passed over (%ld, %zu)", ret, c->n);
	kp_loop_free(l);
	kp_comm_free(comm);
	fake_fini(&fa);
	fake_fini(&fs);
	free(c);
}

/* A sample whose raw_size runs past the record is skipped and counted. */
static void test_corrupt(void)
{
	static const uint64_t want[] = { 10, 30, 40 };
	struct fake fa, fb;
	struct ctx *c = ctx_new();
	struct kp_loop *l = kp_loop_new(&ops, c, NULL);
	struct perf_event_header bad = { .type = PERF_RECORD_SAMPLE, .size = 0 };
	bool held;
	long ret;

	if (!l || !ring_init(&fa, 1) || !ring_init(&fb, 1))
		exit(2);
	T_EQ_UINT(kp_loop_corrupt(l), 0, "corrupt: counter starts at 0");
	put_sample(&fa, 1, 1, 10);
	put_sample_raw(&fa, 1, 1, 20, "12345678", 8, 1000); /* claims 1000 raw bytes */
	/* 8 raw bytes in a 48-byte record: 12 bytes after raw_size, padding included */
	put_sample_raw(&fa, 1, 1, 25, "12345678", 8, 13); /* one byte past the record */
	put_sample_raw(&fa, 1, 1, 30, "12345678", 8, 12); /* up to the record end */
	put_sample(&fa, 1, 1, 40);
	fake_publish(&fa);
	ring_add(l, &fa, A);
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_OK(times_are(c, 0, want, 3),
	     "corrupt: samples @20 and @25 with raw_size too big skipped");
	T_EQ_UINT(kp_loop_corrupt(l), 2, "corrupt: both counted in kp_loop_corrupt()");
	T_EQ_UINT(c->n >= 2 ? c->log[1].raw_size : 0, 12,
		  "corrupt: raw_size reaching the record end exactly is delivered");
	(void)ret;
	/* a corrupt header in another ring: counted, that ring skipped, A goes on */
	ring_add(l, &fb, B);
	fake_write(&fb, &bad, sizeof(bad));
	put_sample(&fb, 2, 2, 50);
	fake_publish(&fb);
	put_sample(&fa, 1, 1, 60);
	fake_publish(&fa);
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_EQ_UINT(kp_loop_corrupt(l), 3, "corrupt: a size-0 header counted too");
	T_OK(c->n == 4 && c->log[3].time == 60,
	     "corrupt: ring A still delivered after B's bad header");
	T_EQ_UINT(fake_tail(&fb), fb.head, "corrupt: ring B skipped and committed to its head");
	kp_loop_free(l);
	fake_fini(&fa);
	fake_fini(&fb);
	free(c);
}

/* kp_loop_remove(owner) stops that owner's records; its fd leaves epoll. */
static void test_remove(void)
{
	struct fake fa, fb, fc;
	struct ctx *c = ctx_new();
	struct kp_loop *l = kp_loop_new(&ops, c, NULL);
	size_t from_a = 0;
	bool held;
	long ret;

	if (!l || !ring_init(&fa, 1) || !ring_init(&fb, 1) || !ring_init(&fc, 1))
		exit(2);
	put_sample(&fa, 1, 1, 10);
	put_sample(&fb, 2, 2, 20);
	put_sample(&fc, 1, 1, 25); /* a second ring of owner A */
	put_sample(&fa, 1, 1, 30);
	put_sample(&fb, 2, 2, 40);
	fake_publish(&fa);
	fake_publish(&fb);
	fake_publish(&fc);
	ring_add(l, &fa, A);
	ring_add(l, &fb, B);
	ring_add(l, &fc, A);
	kp_loop_remove(l, A);
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	for (size_t i = 0; i < c->n; i++)
		from_a += c->log[i].owner == A;
	T_EQ_INT(ret, 2, "remove: drain after remove(A) passes only B's 2 records");
	T_EQ_UINT(from_a, 0, "remove: no record of removed owner A (both its rings) delivered");
	T_EQ_UINT(fake_tail(&fa), 0, "remove: removed ring A left unread");
	T_EQ_INT(ring_add(l, &fa, A), 0, "remove: re-adding A's fd works (it left the epoll set)");
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_OK(ret == 2 && c->n == 4 && c->log[2].owner == A && c->log[3].time == 30,
	     "remove: re-added ring A delivers its 2 records");
	kp_loop_remove(l, C); /* an owner never added: nothing happens */
	put_sample(&fb, 2, 2, 50);
	fake_publish(&fb);
	ret = kp_loop_drain(l, UINT64_MAX, &held);
	T_OK(ret == 1 && c->n == 5 && c->log[4].owner == B,
	     "remove: removing an unknown owner keeps the others");
	kp_loop_free(l);
	fake_fini(&fa);
	fake_fini(&fb);
	fake_fini(&fc);
	free(c);
}

/* kp_loop_wait() reports watched fds, and kp_loop_add() needs a pollable fd. */
static void test_wait_and_add(void)
{
	struct fake fa;
	struct ctx *c = ctx_new();
	struct kp_loop *l = kp_loop_new(&ops, c, NULL);
	int w = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t one = 1;
	bool held;

	if (!l || w < 0 || !ring_init(&fa, 1))
		exit(2);
	T_OK(kp_loop_add(l, fa.fd, fa.ring, A) < 0, "add: a memfd (not pollable) is refused");
	put_sample(&fa, 1, 1, 10);
	fake_publish(&fa);
	T_EQ_INT(kp_loop_drain(l, UINT64_MAX, &held), 0, "add: a refused ring is not read");
	T_EQ_INT(kp_loop_add(l, fa.evfd, fa.ring, A), 0, "add: the same ring under an eventfd");
	T_EQ_INT(kp_loop_watch(l, w), 0, "wait: kp_loop_watch an eventfd");
	T_EQ_INT(kp_loop_wait(l, 0), 0, "wait: nothing ready -> 0");
	if (write(fa.evfd, &one, 8) != 8)
		T_OK(0, "wait: write ring eventfd");
	T_EQ_INT(kp_loop_wait(l, 0), 0, "wait: only a ring fd ready -> 0");
	if (write(w, &one, 8) != 8)
		T_OK(0, "wait: write watched eventfd");
	T_EQ_INT(kp_loop_wait(l, 0), 1, "wait: the watched fd ready -> 1");
	T_EQ_INT(kp_loop_drain(l, UINT64_MAX, &held), 1, "add: the ring added right is read");
	kp_loop_free(l);
	close(w);
	fake_fini(&fa);
	free(c);
}

int main(void)
{
	alarm(20); /* a hang is a failure */
	test_order();
	test_order_many();
	test_horizon();
	test_stop();
	test_lost();
	test_sideband();
	test_mmap2();
	test_corrupt();
	test_remove();
	test_wait_and_add();
	return T_DONE();
}
