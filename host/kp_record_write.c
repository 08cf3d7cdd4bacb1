// SPDX-License-Identifier: MIT
/*
 * Recording file writer (kp_record.h). The layout is in
 * docs/RECORD_FORMAT.md; the offsets below are the ones documented there.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kp_record.h"

#include "kp_record_layout.h"

/* One write(2) per this many bytes; a record never exceeds it. */
#define WBUF_SIZE (1024 * 1024)

struct kp_rec_writer {
	int fd;
	int err; /* first write error, sticky */
	size_t used;
	uint64_t records;
	uint8_t *buf;
	uint8_t defined[KP_REC_MAX_PROBES / 8];
};

static inline void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static inline void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int flush(struct kp_rec_writer *w)
{
	if (w->err)
		return w->err;
	if (w->used) {
		w->err = write_all(w->fd, w->buf, w->used);
		w->used = 0;
	}
	return w->err;
}

/*
 * Room for a record of @len bytes (a multiple of 8, at most WBUF_SIZE),
 * zeroed so padding and reserved fields are 0. NULL after a write error.
 */
static uint8_t *reserve(struct kp_rec_writer *w, size_t len)
{
	uint8_t *p;

	if (w->err)
		return NULL;
	if (WBUF_SIZE - w->used < len && flush(w))
		return NULL;
	p = w->buf + w->used;
	w->used += len;
	/* the padding: the last 8 bytes hold at most 7 of it */
	memset(p + len - 8, 0, 8);
	return p;
}

int kp_rec_header_now(struct kp_rec_header *h)
{
	struct timespec mono, real, boot, mono2;
	struct utsname u;

	memset(h, 0, sizeof(*h));
	if (uname(&u))
		return -errno;
	snprintf(h->host, sizeof(h->host), "%s", u.nodename);
	snprintf(h->release, sizeof(h->release), "%s", u.release);
	/* Bracket the two reads with CLOCK_MONOTONIC and use the midpoint. */
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	clock_gettime(CLOCK_MONOTONIC, &mono2);
	uint64_t m1 = (uint64_t)mono.tv_sec * 1000000000u + (uint64_t)mono.tv_nsec;
	uint64_t m2 = (uint64_t)mono2.tv_sec * 1000000000u + (uint64_t)mono2.tv_nsec;
	uint64_t mid = m1 + (m2 - m1) / 2;
	int64_t rt = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec;
	int64_t bt = (int64_t)boot.tv_sec * 1000000000 + boot.tv_nsec;

	h->realtime_offset = rt - (int64_t)mid;
	h->boottime_offset = bt - (int64_t)mid;
	h->start_time = m1;
	h->major = KP_REC_MAJOR;
	h->minor = KP_REC_MINOR;
	return 0;
}

struct kp_rec_writer *kp_rec_create(int fd, const struct kp_rec_header *h)
{
	size_t hl = strnlen(h->host, sizeof(h->host));
	size_t rl = strnlen(h->release, sizeof(h->release));
	struct kp_rec_writer *w;
	size_t len;
	uint8_t *p;

	if (hl > KP_REC_MAX_HOST || rl > KP_REC_MAX_HOST) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->buf = malloc(WBUF_SIZE);
	if (!w->buf) {
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->fd = fd;
	len = align8(FILE_HDR_FIXED + hl + rl);
	p = reserve(w, len);
	memcpy(p, MAGIC, MAGIC_LEN);
	put16(p + 8, KP_REC_MAJOR);
	put16(p + 10, KP_REC_MINOR);
	put32(p + 12, (uint32_t)len);
	put64(p + 16, (uint64_t)h->realtime_offset);
	put64(p + 24, (uint64_t)h->boottime_offset);
	put64(p + 32, h->start_time);
	put16(p + 40, (uint16_t)hl);
	put16(p + 42, (uint16_t)rl);
	put32(p + 44, 0);
	memcpy(p + FILE_HDR_FIXED, h->host, hl);
	memcpy(p + FILE_HDR_FIXED + hl, h->release, rl);
	return w;
}

static void rec_head(uint8_t *p, uint32_t type, size_t len)
{
	put32(p, type);
	put32(p + 4, (uint32_t)len);
}

int kp_rec_add_probe(struct kp_rec_writer *w, uint32_t id, const char *name, const char *def,
		     const char *format)
{
	size_t nl, dl, fl, len;
	uint8_t *p;

	if (!def)
		def = "";
	if (!format)
		format = "";
	if (id >= KP_REC_MAX_PROBES || is_defined(w->defined, id) || !name || !*name)
		return -EINVAL;
	nl = strnlen(name, KP_REC_MAX_NAME + 1);
	dl = strnlen(def, KP_REC_MAX_DEF + 1);
	fl = strnlen(format, KP_REC_MAX_FORMAT + 1);
	if (nl > KP_REC_MAX_NAME || dl > KP_REC_MAX_DEF || fl > KP_REC_MAX_FORMAT)
		return -E2BIG;
	len = align8(PROBE_FIXED + nl + dl + fl);
	p = reserve(w, len);
	if (!p)
		return w->err;
	rec_head(p, KP_REC_PROBE, len);
	put32(p + 8, id);
	put32(p + 12, (uint32_t)nl);
	put32(p + 16, (uint32_t)dl);
	put32(p + 20, (uint32_t)fl);
	memcpy(p + PROBE_FIXED, name, nl);
	memcpy(p + PROBE_FIXED + nl, def, dl);
	memcpy(p + PROBE_FIXED + nl + dl, format, fl);
	w->defined[id / 8] |= (uint8_t)(1u << (id % 8));
	w->records++;
	return 0;
}

int kp_rec_add_sample_chain(struct kp_rec_writer *w, uint32_t probe_id, uint32_t cpu, int32_t pid,
			    int32_t tid, uint64_t time, const void *raw, uint32_t raw_len,
			    const uint64_t *ips, uint32_t nips)
{
	size_t base, len;
	uint8_t *p;

	if (!is_defined(w->defined, probe_id))
		return -EINVAL;
	if (raw_len > KP_REC_MAX_RAW || nips > KP_REC_MAX_CHAIN)
		return -E2BIG;
	base = align8(SAMPLE_FIXED + (size_t)raw_len);
	len = nips ? base + 8 + 8 * (size_t)nips : base;
	p = reserve(w, len);
	if (!p)
		return w->err;
	rec_head(p, KP_REC_SAMPLE, len);
	put32(p + 8, probe_id);
	put32(p + 12, cpu);
	put32(p + 16, (uint32_t)pid);
	put32(p + 20, (uint32_t)tid);
	put64(p + 24, time);
	put32(p + 32, raw_len);
	put32(p + 36, 0);
	if (raw_len)
		memcpy(p + SAMPLE_FIXED, raw, raw_len);
	if (nips) {
		put32(p + base, nips);
		put32(p + base + 4, 0);
		for (uint32_t i = 0; i < nips; i++)
			put64(p + base + 8 + 8 * (size_t)i, ips[i]);
	}
	w->records++;
	return 0;
}

int kp_rec_add_sample(struct kp_rec_writer *w, uint32_t probe_id, uint32_t cpu, int32_t pid,
		      int32_t tid, uint64_t time, const void *raw, uint32_t raw_len)
{
	return kp_rec_add_sample_chain(w, probe_id, cpu, pid, tid, time, raw, raw_len, NULL, 0);
}

int kp_rec_add_task(struct kp_rec_writer *w, uint32_t type, int32_t pid, int32_t ppid, int32_t tid,
		    int32_t ptid, const char *comm, int exec, uint64_t time)
{
	size_t cl, len;
	uint8_t *p;

	if (type != KP_REC_TASK_COMM && type != KP_REC_TASK_FORK && type != KP_REC_TASK_EXIT)
		return -EINVAL;
	if (!comm)
		comm = "";
	cl = strnlen(comm, KP_REC_MAX_COMM + 1);
	if (cl > KP_REC_MAX_COMM)
		return -E2BIG;
	len = align8(TASK_FIXED + cl);
	p = reserve(w, len);
	if (!p)
		return w->err;
	rec_head(p, KP_REC_TASK, len);
	put32(p + 8, type);
	put32(p + 12, (uint32_t)pid);
	put32(p + 16, (uint32_t)ppid);
	put32(p + 20, (uint32_t)tid);
	put32(p + 24, (uint32_t)ptid);
	put32(p + 28, exec ? TASK_EXEC : 0);
	put64(p + 32, time);
	put32(p + 40, (uint32_t)cl);
	put32(p + 44, 0);
	memcpy(p + TASK_FIXED, comm, cl);
	w->records++;
	return 0;
}

int kp_rec_add_lost(struct kp_rec_writer *w, uint32_t probe_id, uint64_t count, uint64_t time)
{
	uint8_t *p;

	if (probe_id != KP_REC_NO_PROBE && !is_defined(w->defined, probe_id))
		return -EINVAL;
	p = reserve(w, LOST_LEN);
	if (!p)
		return w->err;
	rec_head(p, KP_REC_LOST, LOST_LEN);
	put32(p + 8, probe_id);
	put32(p + 12, 0);
	put64(p + 16, count);
	put64(p + 24, time);
	w->records++;
	return 0;
}

int kp_rec_flush(struct kp_rec_writer *w)
{
	return flush(w);
}

int kp_rec_close(struct kp_rec_writer *w)
{
	uint8_t *p;
	int err;

	if (!w)
		return 0;
	p = reserve(w, END_LEN);
	if (p) {
		rec_head(p, KP_REC_END, END_LEN);
		put64(p + 8, w->records);
	}
	err = flush(w);
	free(w->buf);
	free(w);
	return err;
}
