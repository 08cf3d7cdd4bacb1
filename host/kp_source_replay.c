// SPDX-License-Identifier: MIT
/*
 * A recording as a source of items (see kp_source_replay.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include "kp_proc.h"
#include "kp_record.h"
#include "kp_source_live.h"
#include "kp_source_replay.h"

/* The pseudo-probe whose samples hold the process table's /proc reads
 * (written by kp_record_tap.c). */
#define KP_PROCREAD_ID 65535

/* A /proc read the process table made while recording. */
struct kp_procread {
	int32_t pid;
	bool link; /* readlink, not read */
	uint64_t time; /* when the recorder read it */
	ssize_t rc; /* bytes, or -errno */
	char file[32]; /* "status", "exe"... */
	char *data;
};

struct kp_replay {
	struct kp_source src; /* first: the source is the replay */
	struct kp_rec_reader *r;
	char *path;
	struct kp_rec_item *probes; /* the recorded probes */
	size_t nprobes;
	void **owners; /* recorded probe id -> owner */
	struct kp_procread *reads;
	size_t nreads, capreads;
	struct kp_proc_source proc;
	int64_t rt_off;
	struct kp_rec_item peek; /* the next item, read ahead */
	bool have_peek, end, stopped;
	uint64_t now; /* time of the item replayed now */
	uint64_t first_time; /* of the first timed item (the index's) */
	bool realtime;
	uint64_t first, wall0; /* realtime: the first item's time, wall start */
	char error[512]; /* why the recording could not be read to its end */
	uint64_t chain[KP_REC_MAX_CHAIN];
};

static struct kp_replay *kp_replay_of(struct kp_source *s)
{
	return (struct kp_replay *)s;
}

/* ---- the recorded /proc reads ---- */

/* Keep one recorded /proc read (a sample of the pseudo-probe): "FILE\0"
 * and the bytes; cpu 1 for a readlink; tid the result. */
static void kp_keep_read(struct kp_replay *rp, const struct kp_rec_item *it)
{
	const char *raw = it->sample.raw;
	size_t fl = strnlen(raw, it->sample.raw_len);
	struct kp_procread *r;

	if (fl >= it->sample.raw_len || fl >= sizeof(r->file))
		return; /* not the shape the recorder writes */
	if (rp->nreads == rp->capreads) {
		size_t cap = rp->capreads ? rp->capreads * 2 : 64;
		struct kp_procread *n = realloc(rp->reads, cap * sizeof(*n));

		if (!n)
			return;
		rp->reads = n;
		rp->capreads = cap;
	}
	r = &rp->reads[rp->nreads];
	r->pid = it->sample.pid;
	r->time = it->sample.time;
	r->link = it->sample.cpu == 1;
	r->rc = it->sample.tid;
	memcpy(r->file, raw, fl + 1);
	r->data = NULL;
	if (r->rc > 0) {
		size_t n = it->sample.raw_len - fl - 1;

		if ((size_t)r->rc != n || !(r->data = malloc(n)))
			return;
		memcpy(r->data, raw + fl + 1, n);
	}
	rp->nreads++;
}

/* A replay reads /proc as the recorder saw it: the latest recorded read of
 * that file of that pid, or "no such process". */
static ssize_t kp_replay_read(struct kp_replay *rp, int32_t pid, const char *file, char *buf,
			      size_t len, bool link)
{
	struct kp_procread *r = NULL;

	/* a handler's lookup was recorded just after its event: the first read
	 * at or after the event replayed now, else the last one before it */
	for (size_t i = 0; i < rp->nreads; i++) {
		struct kp_procread *c = &rp->reads[i];

		if (c->pid != pid || c->link != link || strcmp(c->file, file))
			continue;
		r = c;
		if (c->time >= rp->now)
			break;
	}
	if (!r)
		return -ESRCH;
	if (r->rc <= 0)
		return r->rc;
	if ((size_t)r->rc > len) {
		if (link)
			return -ENAMETOOLONG;
		memcpy(buf, r->data, len);
		return (ssize_t)len;
	}
	memcpy(buf, r->data, (size_t)r->rc);
	return r->rc;
}

static ssize_t kp_proc_read(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	return kp_replay_read(ctx, pid, file, buf, len, false);
}

static ssize_t kp_proc_readlink(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	return kp_replay_read(ctx, pid, file, buf, len, true);
}

static int kp_proc_each(void *ctx, void (*fn)(void *arg, int32_t pid), void *arg)
{
	(void)ctx, (void)fn, (void)arg;
	return 0;
}

static void kp_proc_clock(void *ctx, uint64_t *tick_ns, uint64_t *boot_minus_mono)
{
	(void)ctx;
	*tick_ns = 10000000;
	*boot_minus_mono = 0;
}

const struct kp_proc_source *kp_replay_proc_source(struct kp_source *s)
{
	return &kp_replay_of(s)->proc;
}

/* ---- the index ---- */

/* The time an item is ordered by: samples and process records carry one;
 * losses (stamped when the recorder read them) and the rest go as they
 * come. */
static uint64_t kp_item_time(const struct kp_rec_item *it)
{
	if (it->type == KP_REC_SAMPLE && it->sample.probe_id != KP_PROCREAD_ID)
		return it->sample.time;
	if (it->type == KP_REC_TASK)
		return it->task.time;
	return 0;
}

/* The first pass: the header's clock offset, the probes, the /proc reads. */
static int kp_replay_index(struct kp_replay *rp)
{
	struct kp_rec_item it;
	size_t cap = 0;
	int rc;

	while ((rc = kp_rec_next(rp->r, &it)) > 0) {
		if (it.type == KP_REC_HEADER)
			rp->rt_off = it.header->realtime_offset;
		if (it.type == KP_REC_SAMPLE && it.sample.probe_id == KP_PROCREAD_ID)
			kp_keep_read(rp, &it);
		if (!rp->first_time)
			rp->first_time = kp_item_time(&it);
		if (it.type != KP_REC_PROBE)
			continue;
		if (rp->nprobes == cap) {
			struct kp_rec_item *n =
			    realloc(rp->probes, (cap = cap ? cap * 2 : 16) * sizeof(*n));

			if (!n)
				return -ENOMEM;
			rp->probes = n;
		}
		rp->probes[rp->nprobes++] = it;
	}
	if (rc < 0) {
		snprintf(rp->error, sizeof(rp->error), "%s", kp_rec_error(rp->r));
		return -EBADMSG;
	}
	kp_rec_rewind(rp->r);
	return 0;
}

const struct kp_rec_item *kp_replay_find(struct kp_source *s, const char *name)
{
	struct kp_replay *rp = kp_replay_of(s);
	const char *slash = strrchr(name, '/');

	for (size_t i = 0; i < rp->nprobes; i++) {
		const struct kp_rec_item *r = &rp->probes[i];

		if (rp->owners[r->probe.id & 0xffff])
			continue;
		if (strlen(name) == r->probe.name_len &&
		    !memcmp(name, r->probe.name, r->probe.name_len))
			return r;
	}
	if (!slash || strncmp(name, "uprobe", 6))
		return NULL;
	for (size_t i = 0; i < rp->nprobes; i++) {
		const struct kp_rec_item *r = &rp->probes[i];
		size_t tail = strlen(slash);
		size_t kind = strcspn(name, ":");

		if (rp->owners[r->probe.id & 0xffff])
			continue;
		if (r->probe.name_len > tail && !strncmp(r->probe.name, name, kind + 1) &&
		    !memcmp(r->probe.name + r->probe.name_len - tail, slash, tail))
			return r;
	}
	return NULL;
}

void kp_replay_bind(struct kp_source *s, uint32_t id, void *owner)
{
	kp_replay_of(s)->owners[id & 0xffff] = owner;
}

int64_t kp_replay_rt_offset(const struct kp_source *s)
{
	return ((const struct kp_replay *)s)->rt_off;
}

/* ---- items ---- */

/* Read ahead to the next item; false at the end (or an error). */
static bool kp_replay_peek(struct kp_replay *rp)
{
	int rc;

	if (rp->have_peek)
		return true;
	if (rp->end)
		return false;
	rc = kp_rec_next(rp->r, &rp->peek);
	if (rc <= 0) {
		if (rc < 0)
			snprintf(rp->error, sizeof(rp->error), "%s", kp_rec_error(rp->r));
		rp->end = true;
		return false;
	}
	rp->have_peek = true;
	return true;
}

/* Make @r, read from the file, the item @it; false when it is nothing for
 * the run (a probe not bound, the /proc reads, the file's own records). */
static bool kp_replay_item(struct kp_replay *rp, const struct kp_rec_item *r, struct kp_item *it)
{
	memset(it, 0, sizeof(*it));
	it->time = kp_item_time(r);
	switch (r->type) {
	case KP_REC_SAMPLE:
		if (r->sample.probe_id == KP_PROCREAD_ID)
			return false; /* kept by the index */
		it->owner = rp->owners[r->sample.probe_id & 0xffff];
		if (!it->owner)
			return false;
		it->type = KP_ITEM_SAMPLE;
		it->sample = (struct kp_sample){
			.pid = (uint32_t)r->sample.pid,
			.tid = (uint32_t)r->sample.tid,
			.cpu = r->sample.cpu,
			.time = r->sample.time,
			.raw = r->sample.raw,
			.raw_size = r->sample.raw_len,
		};
		if (r->sample.nchain) {
			/* little-endian in the file, as on every host that runs this */
			memcpy(rp->chain, r->sample.chain, 8 * (size_t)r->sample.nchain);
			it->sample.ips = rp->chain;
			it->sample.nips = r->sample.nchain;
		}
		return true;
	case KP_REC_TASK:
		/* as the process table keeps it: TASK_COMM_LEN with its NUL */
		snprintf(it->comm, KP_PROC_COMM_LEN, "%.*s", (int)r->task.comm_len, r->task.comm);
		it->type = KP_ITEM_TASK;
		it->task = (struct kp_task_rec){
			.type = r->task.type,
			.pid = r->task.pid,
			.ppid = r->task.ppid,
			.tid = r->task.tid,
			.ptid = r->task.ptid,
			.comm = it->comm,
			.exec = r->task.exec != 0,
			.time = r->task.time,
		};
		return true;
	case KP_REC_LOST:
		/* the side band's losses were the live run's to report */
		if (r->lost.probe_id == KP_REC_NO_PROBE)
			return false;
		it->owner = rp->owners[r->lost.probe_id & 0xffff];
		if (!it->owner)
			return false;
		it->type = KP_ITEM_LOST;
		it->lost = r->lost.count;
		return true;
	default:
		return false;
	}
}

static int kp_replay_next(struct kp_source *s, uint64_t horizon, struct kp_item *it)
{
	struct kp_replay *rp = kp_replay_of(s);

	for (;;) {
		uint64_t t;

		if (rp->stopped || !kp_replay_peek(rp))
			return KP_NEXT_END;
		t = kp_item_time(&rp->peek);
		if (t && t > horizon)
			return KP_NEXT_NONE;
		rp->have_peek = false;
		if (t) {
			if (!rp->first) {
				rp->first = t;
				rp->wall0 = kp_now_ns();
			}
			if (rp->realtime) {
				uint64_t due = rp->wall0 + (t - rp->first), now = kp_now_ns();

				if (due > now)
					usleep((useconds_t)((due - now) / 1000));
			}
			rp->now = t;
		}
		/* a record with nothing to deliver still moves the recording's
		 * clock: as a skip item, so that timers run by it */
		if (kp_replay_item(rp, &rp->peek, it) || t)
			return KP_NEXT_ITEM;
	}
}

/* Nothing is held back: the recording is all there. */
static int kp_replay_wait(struct kp_source *s, int timeout_ms)
{
	(void)s, (void)timeout_ms;
	return 0;
}

static void kp_replay_pass_end(struct kp_source *s)
{
	(void)s;
}

/* The recording's clock: the time of the item replayed last, or before
 * the first, the first's (so timers start from it). */
static uint64_t kp_replay_now(struct kp_source *s)
{
	struct kp_replay *rp = kp_replay_of(s);

	return rp->now ? rp->now : rp->first_time;
}

static void kp_replay_stop(struct kp_source *s)
{
	kp_replay_of(s)->stopped = true;
}

static const char *kp_replay_error(struct kp_source *s)
{
	struct kp_replay *rp = kp_replay_of(s);

	return rp->error[0] ? rp->error : NULL;
}

static void kp_replay_close(struct kp_source *s)
{
	struct kp_replay *rp = kp_replay_of(s);

	if (!rp)
		return;
	kp_rec_free(rp->r);
	for (size_t i = 0; i < rp->nreads; i++)
		free(rp->reads[i].data);
	free(rp->reads);
	free(rp->probes);
	free(rp->owners);
	free(rp->path);
	free(rp);
}

static const struct kp_source_ops kp_replay_ops = {
	.wait = kp_replay_wait,
	.next = kp_replay_next,
	.pass_end = kp_replay_pass_end,
	.now = kp_replay_now,
	.stop = kp_replay_stop,
	.error = kp_replay_error,
	.close = kp_replay_close,
};

struct kp_source *kp_replay_open(const char *path, bool realtime, char *err, size_t errlen)
{
	struct kp_replay *rp = calloc(1, sizeof(*rp));
	int e;

	if (!rp)
		return NULL;
	rp->src.ops = &kp_replay_ops;
	rp->src.lateness = UINT64_MAX; /* every item is there */
	rp->src.local = false;
	rp->realtime = realtime;
	rp->proc = (struct kp_proc_source){
		.read = kp_proc_read,
		.readlink = kp_proc_readlink,
		.kept = kp_proc_read,
		.each_pid = kp_proc_each,
		.clock = kp_proc_clock,
		.ctx = rp,
	};
	rp->owners = calloc(65536, sizeof(*rp->owners));
	rp->r = kp_rec_open_file(path, err, errlen);
	if (!rp->owners || !rp->r) {
		e = rp->r ? ENOMEM : errno;
		goto fail;
	}
	e = -kp_replay_index(rp);
	if (e) {
		if (err && errlen)
			snprintf(err, errlen, "%s", e == ENOMEM ? strerror(e) : rp->error);
		goto fail;
	}
	return &rp->src;
fail:
	kp_replay_close(&rp->src);
	errno = e;
	return NULL;
}
