// SPDX-License-Identifier: MIT
/*
 * An event read from a tracefs instance's ftrace ring buffer (see
 * kp_ftrace.h). libtracefs makes and removes the instance; libtraceevent's
 * kbuffer reads the sub-buffers trace_pipe_raw hands out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/perf_event.h>
#include <traceevent/kbuffer.h>
#include <tracefs.h>

#include "kp_err.h"
#include "kp_ftrace.h"
#include "kp_perf.h"
#include "kp_ring.h"

struct kp_ftrace_cpu {
	struct kp_ftrace *f;
	int fd;
	uint32_t cpu;
	struct kp_ring *ring;
	unsigned char *page; /* the sub-buffer read last, 8 zero bytes after it */
	size_t got; /* its bytes */
	int at; /* its next event, or -1: read another */
};

struct kp_ftrace {
	struct tracefs_instance *inst;
	char *enable; /* "events/SYS/EVENT/enable" */
	size_t page_size;
	int id;
	size_t n;
	struct kp_ftrace_cpu *cpus;
};

/* The commit word of a sub-buffer header (kernel/trace/ring_buffer.c):
 * the data's length, and flags for events missed before it */
#define KP_COMMIT_MASK ((1ull << 27) - 1)
#define KP_MISSED_EVENTS (1ull << 31)
#define KP_MISSED_STORED (1ull << 30)

/* sample: header, pid tid, time, cpu res, raw size + raw, padded to 8 */
#define KP_SAMPLE_FIXED (8 + 8 + 8 + 8 + 4)
/* lost: header, id, lost, then the sample_id trailer */
#define KP_LOST_SIZE (8 + 16 + 24)

static size_t kp_put_lost(unsigned char *out, uint64_t lost, uint64_t time, uint32_t cpu)
{
	struct perf_event_header h = { .type = PERF_RECORD_LOST, .size = KP_LOST_SIZE };
	uint32_t ids[2] = { KP_FTRACE_NOPID, 0 }, c[2] = { cpu, 0 };
	uint64_t id = 0;

	memcpy(out, &h, 8);
	memcpy(out + 8, &id, 8);
	memcpy(out + 16, &lost, 8);
	memcpy(out + 24, ids, 8);
	memcpy(out + 32, &time, 8);
	memcpy(out + 40, c, 8);
	return KP_LOST_SIZE;
}

static size_t kp_put_sample(unsigned char *out, const unsigned char *ev, uint32_t size,
			    uint64_t time, uint32_t cpu)
{
	uint32_t raw = ((size + 4 + 7) & ~7u) - 4, total = KP_SAMPLE_FIXED + raw;
	struct perf_event_header h = { .type = PERF_RECORD_SAMPLE, .size = (uint16_t)total };
	uint32_t ids[2] = { KP_FTRACE_NOPID, 0 }, c[2] = { cpu, 0 };
	int32_t tid = 0;

	/* the common header: type u16, flags u8, preempt_count u8, pid s32 */
	memcpy(&tid, ev + 4, 4);
	ids[1] = (uint32_t)tid;
	memcpy(out, &h, 8);
	memcpy(out + 8, ids, 8);
	memcpy(out + 16, &time, 8);
	memcpy(out + 24, c, 8);
	memcpy(out + 32, &raw, 4);
	memcpy(out + 36, ev, size);
	memset(out + 36 + size, 0, raw - size);
	return total;
}

/*
 * Does each entry of @size bytes of events lead to the next, forward and
 * inside them, as kbuffer steps (a 32-bit header, type_len in its low 5
 * bits: 1-28 that many words of data; 0 a length word, then the data; 29
 * padding of the length word's bytes after it; 30 and 31 one more word)?
 * kbuffer trusts the lengths: a zero or negative one loops it forever.
 */
static bool kp_page_walkable(const unsigned char *data, uint64_t size)
{
	for (uint64_t at = 0; at < size;) {
		uint32_t hdr, word = 0;
		int64_t next;

		if (size - at < 4)
			return false;
		memcpy(&hdr, data + at, 4);
		if ((hdr & 31) == 0 || (hdr & 31) >= 29) {
			if (size - at < 8)
				return false;
			memcpy(&word, data + at + 4, 4);
		}
		switch (hdr & 31) {
		case 0:
			next = (int64_t)at + 8 + (((int64_t)word - 4 + 3) & ~(int64_t)3);
			break;
		case 29:
			next = (int64_t)at + 4 + (int32_t)word;
			break;
		case 30:
		case 31:
			next = (int64_t)at + 8;
			break;
		default:
			next = (int64_t)at + 4 + (int64_t)(hdr & 31) * 4;
		}
		if (next <= (int64_t)at || (uint64_t)next > size)
			return false;
		at = (uint64_t)next;
	}
	return true;
}

/* Does the page's header describe no more than the page? kbuffer trusts
 * it: data from byte 16, a missed-events count after the data when the
 * header says it is stored there. */
static bool kp_page_sane(const void *page, size_t page_size)
{
	uint64_t commit, size;

	if (page_size < 16)
		return false;
	memcpy(&commit, (const unsigned char *)page + 8, 8);
	size = commit & KP_COMMIT_MASK;
	if (commit & KP_MISSED_STORED)
		size += 8;
	if (size > page_size - 16)
		return false;
	return kp_page_walkable((const unsigned char *)page + 16, commit & KP_COMMIT_MASK);
}

size_t kp_ftrace_records(const void *page, size_t page_size, int id, uint32_t cpu, int *at,
			 unsigned char *out, size_t cap)
{
	struct kbuffer *kb = kbuffer_alloc(KBUFFER_LSIZE_SAME_AS_HOST, KBUFFER_ENDIAN_SAME_AS_HOST);
	const unsigned char *data = (const unsigned char *)page + 16, *end, *prev = NULL;
	unsigned long long ts;
	uint64_t commit;
	size_t used = 0;
	void *ev;
	int i = 0;

	if (!kb || !kp_page_sane(page, page_size) || kbuffer_load_subbuffer(kb, (void *)page)) {
		kbuffer_free(kb);
		*at = -1;
		return 0;
	}
	memcpy(&commit, (const unsigned char *)page + 8, 8);
	end = data + (commit & KP_COMMIT_MASK);
	/* from the header: kbuffer_missed_events() says 0 once it has stepped
	 * over a time extend at the page's start */
	if (*at <= 0 && (commit & KP_MISSED_EVENTS) && cap >= KP_LOST_SIZE) {
		uint64_t missed = 1, t0;

		if (commit & KP_MISSED_STORED)
			memcpy(&missed, end, 8);
		memcpy(&t0, page, 8);
		used += kp_put_lost(out, missed ? missed : 1, t0, cpu);
	}
	for (ev = kbuffer_read_event(kb, &ts); ev; ev = kbuffer_next_event(kb, &ts), i++) {
		int size = kbuffer_event_size(kb);
		uint16_t type;

		/* each event past the one before, or a header lies (a zero
		 * length): the page ends */
		if (i && (const unsigned char *)ev <= prev)
			break;
		prev = ev;

		if ((const unsigned char *)ev < data || (const unsigned char *)ev > end ||
		    size < 0 || (size_t)size > (size_t)(end - (const unsigned char *)ev))
			break; /* an event past the data: the page ends here */
		if (i < *at)
			continue;
		if (size < 8 || size > 65535 - KP_SAMPLE_FIXED - 8)
			continue; /* no perf record holds it */
		memcpy(&type, ev, 2);
		if (type != id)
			continue;
		if (used + KP_SAMPLE_FIXED + (size_t)size + 8 > cap) {
			/* the rest at the next call; the loss with the first */
			if (i == 0)
				used = 0;
			*at = i;
			kbuffer_free(kb);
			return used;
		}
		used += kp_put_sample(out + used, ev, (uint32_t)size, ts, cpu);
	}
	*at = -1;
	kbuffer_free(kb);
	return used;
}

/* kp_ring's fill: the rest of the page in hand, or the next page. */
static size_t kp_ftrace_fill(void *ctx, unsigned char *buf, size_t cap)
{
	struct kp_ftrace_cpu *c = ctx;
	struct kp_ftrace *f = c->f;

	for (;;) {
		size_t n;

		if (c->at < 0) {
			ssize_t got = read(c->fd, c->page, f->page_size);

			if (got <= 0)
				return 0; /* EAGAIN: nothing yet */
			c->got = (size_t)got;
			c->at = 0;
		}
		n = kp_ftrace_records(c->page, c->got, f->id, c->cpu, &c->at, buf, cap);
		if (n)
			return n;
		c->at = -1; /* nothing of it fits (cannot happen at our cap): drop it */
	}
}

static int kp_ftrace_write(struct kp_ftrace *f, const char *file, const char *text, char *msg,
			   size_t len)
{
	if (tracefs_instance_file_write(f->inst, file, text) >= 0)
		return 0;
	snprintf(msg, len, "tracefs instance %s: writing '%s' to %s: %s",
		 tracefs_instance_get_name(f->inst), text, file, kp_strerror(-errno));
	return errno ? -errno : -EIO;
}

/* The size of a sub-buffer trace_pipe_raw hands out (6.8 made it a
 * setting; before it, a page). */
static size_t kp_ftrace_subbuf(struct kp_ftrace *f)
{
	long long kb = 0;

	if (tracefs_file_exists(f->inst, "buffer_subbuf_size_kb") &&
	    !tracefs_instance_file_read_number(f->inst, "buffer_subbuf_size_kb", &kb) && kb > 0)
		return (size_t)kb * 1024;
	return (size_t)sysconf(_SC_PAGESIZE);
}

static int kp_ftrace_readers(struct kp_ftrace *f, char *msg, size_t len)
{
	int *cpus = NULL, ncpu = kp_cpus_online(&cpus);
	/* a sub-buffer of the smallest events makes about 4 times its size */
	size_t cap = 1;

	while (cap < 8 * f->page_size + 4096)
		cap <<= 1;
	if (ncpu <= 0) {
		snprintf(msg, len, "no online CPU");
		return -ENODEV;
	}
	f->cpus = calloc((size_t)ncpu, sizeof(*f->cpus));
	if (!f->cpus) {
		free(cpus);
		return -ENOMEM;
	}
	for (int i = 0; i < ncpu; i++) {
		struct kp_ftrace_cpu *c = &f->cpus[f->n];
		char file[64];

		snprintf(file, sizeof(file), "per_cpu/cpu%d/trace_pipe_raw", cpus[i]);
		c->f = f;
		c->cpu = (uint32_t)cpus[i];
		c->at = -1;
		/* zeroed past the end: kbuffer reads a header word ahead */
		c->page = calloc(1, f->page_size + 8);
		if (!c->page) {
			free(cpus);
			return -ENOMEM;
		}
		c->fd =
		    tracefs_instance_file_open(f->inst, file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (c->fd < 0) {
			int err = errno ? -errno : -EIO;

			snprintf(msg, len, "tracefs instance %s: opening %s: %s",
				 tracefs_instance_get_name(f->inst), file, kp_strerror(err));
			free(cpus);
			return err;
		}
		c->ring = kp_ring_new_filled(cap, kp_ftrace_fill, c);
		f->n++;
		if (!c->ring) {
			free(cpus);
			return -ENOMEM;
		}
	}
	free(cpus);
	return 0;
}

struct kp_ftrace *kp_ftrace_open(const char *name, const char *sys, const char *event, int id,
				 size_t pages, const char *filter, char *msg, size_t len)
{
	struct kp_ftrace *f = calloc(1, sizeof(*f));
	char file[512], kb[32];
	int err = -ENOMEM;

	if (!f)
		goto fail;
	f->id = id;
	f->inst = tracefs_instance_create(name);
	if (!f->inst) {
		err = errno ? -errno : -EIO;
		snprintf(msg, len, "creating tracefs instance %s: %s", name, kp_strerror(err));
		goto fail;
	}
	if (asprintf(&f->enable, "events/%s/%s/enable", sys, event) < 0) {
		f->enable = NULL;
		goto fail;
	}
	snprintf(kb, sizeof(kb), "%zu", pages * (size_t)sysconf(_SC_PAGESIZE) / 1024);
	/* "mono" is CLOCK_MONOTONIC, perf's clock here: the merge orders the
	 * instance's events among the perf rings' */
	if ((err = kp_ftrace_write(f, "trace_clock", "mono", msg, len)) ||
	    (err = kp_ftrace_write(f, "buffer_size_kb", kb, msg, len)))
		goto fail;
	/* wake a reader at a quarter full, as the perf rings do */
	if (tracefs_file_exists(f->inst, "buffer_percent") &&
	    (err = kp_ftrace_write(f, "buffer_percent", "25", msg, len)))
		goto fail;
	snprintf(file, sizeof(file), "events/%s/%s/filter", sys, event);
	if (filter && (err = kp_ftrace_write(f, file, filter, msg, len)))
		goto fail;
	f->page_size = kp_ftrace_subbuf(f);
	if ((err = kp_ftrace_readers(f, msg, len)))
		goto fail;
	return f;
fail:
	if (err == -ENOMEM)
		snprintf(msg, len, "out of memory");
	kp_ftrace_close(f);
	errno = -err;
	return NULL;
}

int kp_ftrace_enable(struct kp_ftrace *f, bool on)
{
	if (tracefs_instance_file_write(f->inst, f->enable, on ? "1" : "0") < 0)
		return errno ? -errno : -EIO;
	return 0;
}

size_t kp_ftrace_count(const struct kp_ftrace *f)
{
	return f->n;
}

int kp_ftrace_fd(const struct kp_ftrace *f, size_t i)
{
	return f->cpus[i].fd;
}

struct kp_ring *kp_ftrace_ring(const struct kp_ftrace *f, size_t i)
{
	return f->cpus[i].ring;
}

/* "overrun: N" and "dropped events: N" of one CPU's stats */
static uint64_t kp_stats_lost(const char *text)
{
	static const char *const keys[] = { "overrun: ", "dropped events: " };
	uint64_t lost = 0;

	for (size_t k = 0; k < 2; k++) {
		const char *p = strstr(text, keys[k]);

		if (p)
			lost += strtoull(p + strlen(keys[k]), NULL, 10);
	}
	return lost;
}

int kp_ftrace_lost(const struct kp_ftrace *f, uint64_t *lost)
{
	*lost = 0;
	for (size_t i = 0; i < f->n; i++) {
		char file[64], *text;

		snprintf(file, sizeof(file), "per_cpu/cpu%u/stats", f->cpus[i].cpu);
		text = tracefs_instance_file_read(f->inst, file, NULL);
		if (!text)
			return errno ? -errno : -EIO;
		*lost += kp_stats_lost(text);
		free(text);
	}
	return 0;
}

void kp_ftrace_close(struct kp_ftrace *f)
{
	if (!f)
		return;
	if (f->inst && f->enable)
		kp_ftrace_enable(f, false);
	for (size_t i = 0; i < f->n; i++) {
		if (f->cpus[i].fd >= 0)
			close(f->cpus[i].fd);
		kp_ring_close(f->cpus[i].ring);
		free(f->cpus[i].page);
	}
	free(f->cpus);
	/* the instance goes once no reader holds it */
	if (f->inst) {
		if (tracefs_instance_destroy(f->inst))
			fprintf(stderr, "kpscript: could not remove tracefs instance %s: %s\n",
				tracefs_instance_get_name(f->inst), kp_strerror(-errno));
		tracefs_instance_free(f->inst);
	}
	free(f->enable);
	free(f);
}

struct kp_sweep {
	bool (*stale)(const char *group);
	int removed;
};

static int kp_sweep_one(const char *name, void *arg)
{
	struct kp_sweep *w = arg;
	size_t n = strcspn(name, ".");
	struct tracefs_instance *inst;
	char group[128];

	if (!name[n] || n >= sizeof(group))
		return 0;
	memcpy(group, name, n);
	group[n] = '\0';
	if (!w->stale(group))
		return 0;
	inst = tracefs_instance_alloc(NULL, name);
	if (inst) {
		if (!tracefs_instance_destroy(inst))
			w->removed++;
		tracefs_instance_free(inst);
	}
	return 0;
}

int kp_ftrace_sweep(bool (*stale)(const char *group))
{
	struct kp_sweep w = { stale, 0 };

	tracefs_instances_walk(kp_sweep_one, &w);
	return w.removed;
}
