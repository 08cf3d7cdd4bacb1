// SPDX-License-Identifier: MIT
/*
 * Recording file reader (kp_record.h): a recording is untrusted input,
 * every length and offset is checked against the file before use. The
 * layout is in docs/RECORD_FORMAT.md. Also --dump, which reads one and
 * says what it holds.
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

struct kp_rec_reader {
	const uint8_t *data;
	size_t len;
	size_t pos; /* offset of the next record; 0 before the header item */
	size_t hdr_len;
	int err; /* sticky */
	bool done; /* the end record was read */
	uint64_t records; /* records read after the header */
	void *map; /* the mapping of kp_rec_open_file(), or NULL */
	size_t map_len;
	char *name; /* prefix of messages, or NULL */
	struct kp_rec_header hdr;
	char msg[512];
	uint8_t defined[KP_REC_MAX_PROBES / 8];
};

static inline uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

__attribute__((format(printf, 4, 5))) static int fail(struct kp_rec_reader *r, int err,
						      uint64_t off, const char *fmt, ...)
{
	size_t n = 0;
	va_list ap;
	int k;

	k = snprintf(r->msg, sizeof(r->msg), "%s%sbyte %llu: ", r->name ? r->name : "",
		     r->name ? ": " : "", (unsigned long long)off);
	if (k > 0)
		n = (size_t)k < sizeof(r->msg) ? (size_t)k : sizeof(r->msg) - 1;
	va_start(ap, fmt);
	vsnprintf(r->msg + n, sizeof(r->msg) - n, fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

static const char *type_name(uint32_t type)
{
	switch (type) {
	case KP_REC_PROBE:
		return "probe";
	case KP_REC_SAMPLE:
		return "sample";
	case KP_REC_TASK:
		return "task";
	case KP_REC_LOST:
		return "lost";
	case KP_REC_END:
		return "end";
	default:
		return "unknown";
	}
}

/* A string field: at most @max bytes, no NUL. */
static int check_str(struct kp_rec_reader *r, uint64_t off, const char *what, const uint8_t *s,
		     uint32_t len)
{
	const uint8_t *z = memchr(s, 0, len);

	if (z)
		return fail(r, -EBADMSG, off + (uint64_t)(z - s), "%s contains a NUL byte", what);
	return 0;
}

/*
 * A record's length against what its fields need: exactly align8(@need) in
 * a file of this minor version or older, at least @need in a newer one
 * (whose records may carry fields after ours).
 */
static int check_min(struct kp_rec_reader *r, uint64_t off, uint32_t type, uint32_t len,
		     uint64_t need)
{
	if (len < need)
		return fail(r, -EBADMSG, off + 4,
			    "%s record length %u is shorter than its fields (%llu)",
			    type_name(type), len, (unsigned long long)need);
	return 0;
}

static int check_len(struct kp_rec_reader *r, uint64_t off, uint32_t type, uint32_t len,
		     uint64_t need)
{
	if (check_min(r, off, type, len, need))
		return r->err;
	if (r->hdr.minor <= KP_REC_MINOR && len != align8(need))
		return fail(r, -EBADMSG, off + 4,
			    "%s record length %u does not match its fields (%llu expected)",
			    type_name(type), len, (unsigned long long)align8(need));
	return 0;
}

static int parse_header(struct kp_rec_reader *r)
{
	const uint8_t *p = r->data;
	uint32_t hlen, hl, rl;
	uint64_t need;

	if (r->len < MAGIC_LEN || memcmp(p, MAGIC, MAGIC_LEN) != 0)
		return fail(r, -EBADMSG, 0, "not a kpscript recording (bad magic)");
	if (r->len < FILE_HDR_FIXED)
		return fail(r, -EBADMSG, r->len,
			    "file header (%d bytes) runs past the end of the file (%zu bytes)",
			    FILE_HDR_FIXED, r->len);
	r->hdr.major = get16(p + 8);
	r->hdr.minor = get16(p + 10);
	if (r->hdr.major != KP_REC_MAJOR)
		return fail(r, -ENOTSUP, 8,
			    "format version %u.%u is not supported (this reader reads %d.x)",
			    r->hdr.major, r->hdr.minor, KP_REC_MAJOR);
	hlen = get32(p + 12);
	hl = get16(p + 40);
	rl = get16(p + 42);
	if (hlen % 8 || hlen < FILE_HDR_FIXED)
		return fail(r, -EBADMSG, 12,
			    "header length %u is not a multiple of 8 of at least %d", hlen,
			    FILE_HDR_FIXED);
	if (hlen > r->len)
		return fail(r, -EBADMSG, 12,
			    "header length %u runs past the end of the file (%zu bytes)", hlen,
			    r->len);
	if (hl > KP_REC_MAX_HOST)
		return fail(r, -EBADMSG, 40, "host name length %u is over %d", hl, KP_REC_MAX_HOST);
	if (rl > KP_REC_MAX_HOST)
		return fail(r, -EBADMSG, 42, "kernel release length %u is over %d", rl,
			    KP_REC_MAX_HOST);
	need = FILE_HDR_FIXED + (uint64_t)hl + rl;
	if (hlen < need || (r->hdr.minor <= KP_REC_MINOR && hlen != align8(need)))
		return fail(r, -EBADMSG, 12, "header length %u does not match its strings (%llu)",
			    hlen, (unsigned long long)align8(need));
	if (check_str(r, FILE_HDR_FIXED, "host name", p + FILE_HDR_FIXED, hl) ||
	    check_str(r, FILE_HDR_FIXED + hl, "kernel release", p + FILE_HDR_FIXED + hl, rl))
		return r->err;
	memcpy(r->hdr.host, p + FILE_HDR_FIXED, hl);
	r->hdr.host[hl] = 0;
	memcpy(r->hdr.release, p + FILE_HDR_FIXED + hl, rl);
	r->hdr.release[rl] = 0;
	r->hdr.realtime_offset = (int64_t)get64(p + 16);
	r->hdr.boottime_offset = (int64_t)get64(p + 24);
	r->hdr.start_time = get64(p + 32);
	r->hdr_len = hlen;
	return 0;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

static struct kp_rec_reader *open_named(const void *data, size_t len, const char *name, char *err,
					size_t errlen)
{
	struct kp_rec_reader *r = calloc(1, sizeof(*r));
	int e;

	if (!r) {
		set_err(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	r->data = data;
	r->len = len;
	if (name) {
		r->name = strdup(name);
		if (!r->name) {
			free(r);
			set_err(err, errlen, "out of memory");
			errno = ENOMEM;
			return NULL;
		}
	}
	e = parse_header(r);
	if (e) {
		set_err(err, errlen, r->msg);
		kp_rec_free(r);
		errno = -e;
		return NULL;
	}
	return r;
}

struct kp_rec_reader *kp_rec_open(const void *data, size_t len, char *err, size_t errlen)
{
	return open_named(data, len, NULL, err, errlen);
}

struct kp_rec_reader *kp_rec_open_file(const char *path, char *err, size_t errlen)
{
	static const uint8_t empty[1];
	struct kp_rec_reader *r;
	void *map = NULL;
	struct stat st;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		e = errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		errno = e;
		return NULL;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			e = errno;
			if (err && errlen)
				snprintf(err, errlen, "%s: mmap: %s", path, strerror(e));
			close(fd);
			errno = e;
			return NULL;
		}
	}
	close(fd);
	r = open_named(map ? map : empty, map ? (size_t)st.st_size : 0, path, err, errlen);
	if (!r) {
		e = errno;
		if (map)
			munmap(map, (size_t)st.st_size);
		errno = e;
		return NULL;
	}
	r->map = map;
	r->map_len = map ? (size_t)st.st_size : 0;
	return r;
}

void kp_rec_rewind(struct kp_rec_reader *r)
{
	r->pos = 0;
	r->err = 0;
	r->done = false;
	r->records = 0;
	r->msg[0] = '\0';
	memset(r->defined, 0, sizeof(r->defined));
}

void kp_rec_free(struct kp_rec_reader *r)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, r->map_len);
	free(r->name);
	free(r);
}

const struct kp_rec_header *kp_rec_get_header(const struct kp_rec_reader *r)
{
	return &r->hdr;
}

const char *kp_rec_error(const struct kp_rec_reader *r)
{
	return r->msg;
}

int kp_rec_complete(const struct kp_rec_reader *r)
{
	return r->done;
}

static int probe_known(struct kp_rec_reader *r, uint64_t off, uint32_t id, const char *what)
{
	if (is_defined(r->defined, id))
		return 0;
	return fail(r, -EBADMSG, off, "%s record uses probe %u before it is defined", what, id);
}

static int parse_probe(struct kp_rec_reader *r, uint64_t off, const uint8_t *p, uint32_t len,
		       struct kp_rec_item *out)
{
	uint32_t id, nl, dl, fl;

	if (check_min(r, off, KP_REC_PROBE, len, PROBE_FIXED))
		return r->err;
	id = get32(p + 8);
	nl = get32(p + 12);
	dl = get32(p + 16);
	fl = get32(p + 20);
	if (id >= KP_REC_MAX_PROBES)
		return fail(r, -EBADMSG, off + 8, "probe id %u is over %d", id,
			    KP_REC_MAX_PROBES - 1);
	if (is_defined(r->defined, id))
		return fail(r, -EBADMSG, off + 8, "probe %u is defined twice", id);
	if (nl == 0 || nl > KP_REC_MAX_NAME)
		return fail(r, -EBADMSG, off + 12, "probe name length %u is not in 1..%d", nl,
			    KP_REC_MAX_NAME);
	if (dl > KP_REC_MAX_DEF)
		return fail(r, -EBADMSG, off + 16, "probe definition length %u is over %d", dl,
			    KP_REC_MAX_DEF);
	if (fl > KP_REC_MAX_FORMAT)
		return fail(r, -EBADMSG, off + 20, "probe format length %u is over %d", fl,
			    KP_REC_MAX_FORMAT);
	if (check_len(r, off, KP_REC_PROBE, len, (uint64_t)PROBE_FIXED + nl + dl + fl))
		return r->err;
	p += PROBE_FIXED;
	off += PROBE_FIXED;
	if (check_str(r, off, "probe name", p, nl) ||
	    check_str(r, off + nl, "probe definition", p + nl, dl) ||
	    check_str(r, off + nl + dl, "probe format", p + nl + dl, fl))
		return r->err;
	out->probe.id = id;
	out->probe.name = (const char *)p;
	out->probe.name_len = nl;
	out->probe.def = (const char *)p + nl;
	out->probe.def_len = dl;
	out->probe.format = (const char *)p + nl + dl;
	out->probe.format_len = fl;
	r->defined[id / 8] |= (uint8_t)(1u << (id % 8));
	return 0;
}

static int parse_sample(struct kp_rec_reader *r, uint64_t off, const uint8_t *p, uint32_t len,
			struct kp_rec_item *out)
{
	uint32_t raw_len, nchain = 0;
	const uint8_t *chain = NULL;
	uint64_t need;

	if (check_min(r, off, KP_REC_SAMPLE, len, SAMPLE_FIXED))
		return r->err;
	raw_len = get32(p + 32);
	if (raw_len > KP_REC_MAX_RAW)
		return fail(r, -EBADMSG, off + 32, "sample raw length %u is over %d", raw_len,
			    KP_REC_MAX_RAW);
	need = (uint64_t)SAMPLE_FIXED + raw_len;
	/* 1.1: a callchain may follow the raw data's padding */
	if (r->hdr.minor >= 1 && len > align8(need)) {
		uint64_t base = align8(need);

		if (check_min(r, off, KP_REC_SAMPLE, len, base + 8))
			return r->err;
		nchain = get32(p + base);
		if (nchain > KP_REC_MAX_CHAIN)
			return fail(r, -EBADMSG, off + base,
				    "sample callchain length %u is over %d", nchain,
				    KP_REC_MAX_CHAIN);
		if (nchain == 0 && r->hdr.minor <= KP_REC_MINOR)
			return fail(r, -EBADMSG, off + base, "sample callchain length is 0");
		if (nchain) {
			chain = p + base + 8;
			need = base + 8 + 8 * (uint64_t)nchain;
		}
	}
	if (check_len(r, off, KP_REC_SAMPLE, len, need))
		return r->err;
	out->sample.chain = chain;
	out->sample.nchain = nchain;
	out->sample.probe_id = get32(p + 8);
	if (probe_known(r, off + 8, out->sample.probe_id, "sample"))
		return r->err;
	out->sample.cpu = get32(p + 12);
	out->sample.pid = (int32_t)get32(p + 16);
	out->sample.tid = (int32_t)get32(p + 20);
	out->sample.time = get64(p + 24);
	out->sample.raw = p + SAMPLE_FIXED;
	out->sample.raw_len = raw_len;
	return 0;
}

static int parse_task(struct kp_rec_reader *r, uint64_t off, const uint8_t *p, uint32_t len,
		      struct kp_rec_item *out)
{
	uint32_t type, flags, cl;

	if (check_min(r, off, KP_REC_TASK, len, TASK_FIXED))
		return r->err;
	type = get32(p + 8);
	flags = get32(p + 28);
	cl = get32(p + 40);
	if (type != KP_REC_TASK_COMM && type != KP_REC_TASK_FORK && type != KP_REC_TASK_EXIT)
		return fail(r, -EBADMSG, off + 8, "task record kind %u is not COMM, FORK or EXIT",
			    type);
	if (r->hdr.minor <= KP_REC_MINOR && (flags & ~TASK_EXEC))
		return fail(r, -EBADMSG, off + 28, "task record flags 0x%x are unknown", flags);
	if (cl > KP_REC_MAX_COMM)
		return fail(r, -EBADMSG, off + 40, "task comm length %u is over %d", cl,
			    KP_REC_MAX_COMM);
	if (check_len(r, off, KP_REC_TASK, len, (uint64_t)TASK_FIXED + cl) ||
	    check_str(r, off + TASK_FIXED, "task comm", p + TASK_FIXED, cl))
		return r->err;
	out->task.type = type;
	out->task.pid = (int32_t)get32(p + 12);
	out->task.ppid = (int32_t)get32(p + 16);
	out->task.tid = (int32_t)get32(p + 20);
	out->task.ptid = (int32_t)get32(p + 24);
	out->task.exec = (flags & TASK_EXEC) != 0;
	out->task.time = get64(p + 32);
	out->task.comm = (const char *)p + TASK_FIXED;
	out->task.comm_len = cl;
	return 0;
}

static int parse_lost(struct kp_rec_reader *r, uint64_t off, const uint8_t *p, uint32_t len,
		      struct kp_rec_item *out)
{
	if (check_len(r, off, KP_REC_LOST, len, LOST_LEN))
		return r->err;
	out->lost.probe_id = get32(p + 8);
	if (out->lost.probe_id != KP_REC_NO_PROBE &&
	    probe_known(r, off + 8, out->lost.probe_id, "lost"))
		return r->err;
	out->lost.count = get64(p + 16);
	out->lost.time = get64(p + 24);
	return 0;
}

int kp_rec_next(struct kp_rec_reader *r, struct kp_rec_item *out)
{
	const uint8_t *p;
	uint32_t type, len;
	size_t off, left;
	int e;

	if (r->err)
		return r->err;
	memset(out, 0, sizeof(*out));
	if (r->pos == 0) {
		r->pos = r->hdr_len;
		out->type = KP_REC_HEADER;
		out->offset = 0;
		out->header = &r->hdr;
		return 1;
	}
	for (;;) {
		off = r->pos;
		left = r->len - off;
		if (left == 0)
			return 0;
		if (r->done)
			return fail(r, -EBADMSG, off, "%zu bytes of data after the end record",
				    left);
		if (left < REC_HDR)
			return fail(r, -EBADMSG, off,
				    "record header runs past the end of the file (%zu bytes)",
				    r->len);
		p = r->data + off;
		type = get32(p);
		len = get32(p + 4);
		if (len < REC_HDR || len % 8)
			return fail(r, -EBADMSG, off + 4,
				    "%s record length %u is not a multiple of 8 of at least 8",
				    type_name(type), len);
		if (len > left)
			return fail(r, -EBADMSG, off,
				    "%s record length %u runs past the end of the file (%zu bytes)",
				    type_name(type), len, r->len);
		out->type = (enum kp_rec_type)type;
		out->offset = off;
		switch (type) {
		case KP_REC_PROBE:
			e = parse_probe(r, off, p, len, out);
			break;
		case KP_REC_SAMPLE:
			e = parse_sample(r, off, p, len, out);
			break;
		case KP_REC_TASK:
			e = parse_task(r, off, p, len, out);
			break;
		case KP_REC_LOST:
			e = parse_lost(r, off, p, len, out);
			break;
		case KP_REC_END:
			e = check_len(r, off, type, len, END_LEN);
			if (!e) {
				out->end.records = get64(p + 8);
				if (out->end.records != r->records)
					e = fail(
					    r, -EBADMSG, off + 8,
					    "end record counts %llu records, the file has %llu",
					    (unsigned long long)out->end.records,
					    (unsigned long long)r->records);
				r->done = true;
			}
			break;
		default:
			/* A newer minor version may add record types: skip them. */
			if (r->hdr.minor > KP_REC_MINOR) {
				r->records++;
				r->pos = off + len;
				continue;
			}
			return fail(r, -EBADMSG, off, "unknown record type %u", type);
		}
		if (e)
			return e;
		r->records++;
		r->pos = off + len;
		return 1;
	}
}

/* ---- --dump ---- */

/* @n bytes of an untrusted recording to stdout: a control byte or DEL is
 * written as \xHH, so a forged file cannot drive the terminal */
static void kp_put_safe(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

int kp_rec_dump(const char *path)
{
	uint64_t samples = 0, tasks = 0, lost = 0;
	struct kp_rec_item it;
	struct kp_rec_reader *r;
	char err[512];
	int rc;

	r = kp_rec_open_file(path, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "kpscript: --dump: %s\n", err);
		return 1;
	}
	while ((rc = kp_rec_next(r, &it)) > 0) {
		switch (it.type) {
		case KP_REC_HEADER:
			printf("recording: host ");
			kp_put_safe(it.header->host, strlen(it.header->host));
			printf(", kernel ");
			kp_put_safe(it.header->release, strlen(it.header->release));
			printf(", version %u.%u\n", it.header->major, it.header->minor);
			break;
		case KP_REC_PROBE:
			printf("probe %u: ", it.probe.id);
			kp_put_safe(it.probe.name, it.probe.name_len);
			if (it.probe.def_len) {
				printf(" = ");
				kp_put_safe(it.probe.def, it.probe.def_len);
			}
			putchar('\n');
			break;
		case KP_REC_SAMPLE:
			samples++;
			break;
		case KP_REC_TASK:
			tasks++;
			break;
		case KP_REC_LOST:
			lost += it.lost.count;
			break;
		default:
			break;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "kpscript: --dump: %s\n", kp_rec_error(r));
		kp_rec_free(r);
		return 1;
	}
	printf("samples %llu, process records %llu, lost %llu, %s\n", (unsigned long long)samples,
	       (unsigned long long)tasks, (unsigned long long)lost,
	       kp_rec_complete(r) ? "complete" : "cut short (the recorder did not end cleanly)");
	kp_rec_free(r);
	return 0;
}
