// SPDX-License-Identifier: MIT
/*
 * Unit test of host/kp_record.c, the recording file format: a round trip of
 * every record kind, truncation at every byte, random bit flips, refused
 * magic and versions, minor-version skipping, a 100k-sample file, and the
 * writer's cost per sample (printed, not asserted).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kp_record.h"
#include "t.h"

/* A memory file: the writer writes to a memfd, the test reads it back. */
static int mem_fd(void)
{
	int fd = memfd_create("kprec", MFD_CLOEXEC);

	if (fd < 0) {
		printf("not ok - memfd_create: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

static uint8_t *slurp(int fd, size_t *len)
{
	off_t end = lseek(fd, 0, SEEK_END);
	uint8_t *buf = malloc(end > 0 ? (size_t)end : 1);

	if (!buf || pread(fd, buf, (size_t)end, 0) != end) {
		printf("not ok - reading the memfd back\n");
		exit(1);
	}
	*len = (size_t)end;
	return buf;
}

static void fill_header(struct kp_rec_header *h)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->host, "web1");
	strcpy(h->release, "6.1.0-28-amd64");
	h->realtime_offset = INT64_C(1732684212418203311);
	h->boottime_offset = -5;
	h->start_time = UINT64_C(0xfedcba9876543210);
}

static const char FORMAT[] = "name: sched_switch\nID: 316\nformat:\n"
			     "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n";
static const uint8_t RAW1[] = { 0, 1, 0, 0, 'a', 0, 'b', 0xff, 0x80 };

/* A small file with every record kind; returns its bytes. */
static uint8_t *small_file(size_t *len)
{
	struct kp_rec_header h;
	struct kp_rec_writer *w;
	int fd = mem_fd();
	uint8_t *buf;

	fill_header(&h);
	w = kp_rec_create(fd, &h);
	T_OK(w != NULL, "create");
	T_EQ_INT(kp_rec_add_probe(w, 7, "tracepoint:sched:sched_switch", "", FORMAT), 0,
		 "add probe 7");
	T_EQ_INT(kp_rec_add_probe(w, 0, "uprobe:/bin/bash:readline",
				  "p:kpscript_1/u_readline_0 /bin/bash:0x8f0 line=+0(%di):ustring",
				  "name: u\n"),
		 0, "add probe 0");
	T_EQ_INT(kp_rec_add_task(w, KP_REC_TASK_COMM, 100, 0, 101, 0, "bash", 1, 5), 0, "add comm");
	T_EQ_INT(kp_rec_add_sample(w, 7, 3, 100, 101, UINT64_MAX, RAW1, sizeof(RAW1)), 0,
		 "add sample");
	T_EQ_INT(kp_rec_add_sample(w, 0, 0, -1, -2, 0, NULL, 0), 0, "add empty sample");
	T_EQ_INT(kp_rec_add_task(w, KP_REC_TASK_FORK, 200, 100, 201, 101, NULL, 0, 6), 0,
		 "add fork");
	T_EQ_INT(kp_rec_add_task(w, KP_REC_TASK_EXIT, 200, 100, 201, 101, "", 0, 7), 0, "add exit");
	T_EQ_INT(kp_rec_add_lost(w, 7, UINT64_C(1) << 40, 8), 0, "add lost");
	T_EQ_INT(kp_rec_add_lost(w, KP_REC_NO_PROBE, 3, 9), 0, "add side-band lost");
	T_EQ_INT(kp_rec_close(w), 0, "close");
	buf = slurp(fd, len);
	close(fd);
	return buf;
}

static bool str_is(const char *p, uint32_t len, const char *want)
{
	return len == strlen(want) && memcmp(p, want, len) == 0;
}

static void test_round_trip(void)
{
	struct kp_rec_item it;
	struct kp_rec_reader *r;
	char err[256];
	size_t len;
	uint8_t *buf = small_file(&len);

	T_EQ_INT(len % 8, 0, "file length is a multiple of 8");
	r = kp_rec_open(buf, len, err, sizeof(err));
	T_OK(r != NULL, "open: %s", r ? "" : err);
	if (!r)
		goto out;

	T_EQ_INT(kp_rec_next(r, &it), 1, "header item");
	T_EQ_INT(it.type, KP_REC_HEADER, "header type");
	T_EQ_STR(it.header->host, "web1", "header host");
	T_EQ_STR(it.header->release, "6.1.0-28-amd64", "header release");
	T_EQ_INT(it.header->realtime_offset, INT64_C(1732684212418203311), "realtime offset");
	T_EQ_INT(it.header->boottime_offset, -5, "boottime offset");
	T_EQ_UINT(it.header->start_time, UINT64_C(0xfedcba9876543210), "start time");
	T_EQ_INT(it.header->major, KP_REC_MAJOR, "major");
	T_EQ_INT(it.header->minor, KP_REC_MINOR, "minor");
	T_OK(kp_rec_get_header(r) == it.header, "header accessor");

	T_EQ_INT(kp_rec_next(r, &it), 1, "probe 7 item");
	T_EQ_INT(it.type, KP_REC_PROBE, "probe type");
	T_EQ_UINT(it.probe.id, 7, "probe id");
	T_OK(str_is(it.probe.name, it.probe.name_len, "tracepoint:sched:sched_switch"),
	     "probe name");
	T_EQ_UINT(it.probe.def_len, 0, "empty definition");
	T_OK(str_is(it.probe.format, it.probe.format_len, FORMAT), "format text exact");

	T_EQ_INT(kp_rec_next(r, &it), 1, "probe 0 item");
	T_EQ_UINT(it.probe.id, 0, "probe 0 id");
	T_OK(str_is(it.probe.def, it.probe.def_len,
		    "p:kpscript_1/u_readline_0 /bin/bash:0x8f0 line=+0(%di):ustring"),
	     "probe definition");

	T_EQ_INT(kp_rec_next(r, &it), 1, "comm item");
	T_EQ_INT(it.type, KP_REC_TASK, "comm type");
	T_EQ_UINT(it.task.type, KP_REC_TASK_COMM, "comm kind");
	T_EQ_INT(it.task.pid, 100, "comm pid");
	T_EQ_INT(it.task.tid, 101, "comm tid");
	T_EQ_INT(it.task.exec, 1, "comm exec");
	T_EQ_UINT(it.task.time, 5, "comm time");
	T_OK(str_is(it.task.comm, it.task.comm_len, "bash"), "comm text");

	T_EQ_INT(kp_rec_next(r, &it), 1, "sample item");
	T_EQ_INT(it.type, KP_REC_SAMPLE, "sample type");
	T_EQ_UINT(it.sample.probe_id, 7, "sample probe");
	T_EQ_UINT(it.sample.cpu, 3, "sample cpu");
	T_EQ_INT(it.sample.pid, 100, "sample pid");
	T_EQ_INT(it.sample.tid, 101, "sample tid");
	T_EQ_UINT(it.sample.time, UINT64_MAX, "sample 64-bit time");
	T_OK(it.sample.raw_len == sizeof(RAW1) && !memcmp(it.sample.raw, RAW1, sizeof(RAW1)),
	     "sample raw bytes with NULs");

	T_EQ_INT(kp_rec_next(r, &it), 1, "empty sample item");
	T_EQ_UINT(it.sample.probe_id, 0, "empty sample probe");
	T_EQ_INT(it.sample.pid, -1, "negative pid");
	T_EQ_INT(it.sample.tid, -2, "negative tid");
	T_EQ_UINT(it.sample.raw_len, 0, "empty raw");

	T_EQ_INT(kp_rec_next(r, &it), 1, "fork item");
	T_EQ_UINT(it.task.type, KP_REC_TASK_FORK, "fork kind");
	T_OK(it.task.pid == 200 && it.task.ppid == 100 && it.task.tid == 201 &&
		 it.task.ptid == 101 && it.task.exec == 0 && it.task.time == 6,
	     "fork fields");
	T_EQ_UINT(it.task.comm_len, 0, "fork empty comm");

	T_EQ_INT(kp_rec_next(r, &it), 1, "exit item");
	T_EQ_UINT(it.task.type, KP_REC_TASK_EXIT, "exit kind");

	T_EQ_INT(kp_rec_next(r, &it), 1, "lost item");
	T_EQ_INT(it.type, KP_REC_LOST, "lost type");
	T_OK(it.lost.probe_id == 7 && it.lost.count == UINT64_C(1) << 40 && it.lost.time == 8,
	     "lost fields");
	T_EQ_INT(kp_rec_next(r, &it), 1, "side-band lost item");
	T_EQ_UINT(it.lost.probe_id, KP_REC_NO_PROBE, "side-band lost probe");

	T_EQ_INT(kp_rec_complete(r), 0, "not complete before the end record");
	T_EQ_INT(kp_rec_next(r, &it), 1, "end item");
	T_EQ_INT(it.type, KP_REC_END, "end type");
	T_EQ_UINT(it.end.records, 9, "end counts records");
	T_EQ_INT(kp_rec_complete(r), 1, "complete");
	T_EQ_INT(kp_rec_next(r, &it), 0, "clean end");
	T_EQ_INT(kp_rec_next(r, &it), 0, "clean end again");
	kp_rec_free(r);
out:
	free(buf);
}

/* Read a whole buffer; return 0 at a clean end or the error. */
static int read_all(const uint8_t *buf, size_t len, char *msg, size_t msglen, int *items)
{
	struct kp_rec_item it;
	struct kp_rec_reader *r;
	int e;

	*items = 0;
	r = kp_rec_open(buf, len, msg, msglen);
	if (!r)
		return -errno;
	while ((e = kp_rec_next(r, &it)) == 1) {
		(*items)++;
		/* touch every byte the item points to, for ASan */
		if (it.type == KP_REC_SAMPLE && it.sample.raw_len)
			e = ((const volatile uint8_t *)it.sample.raw)[it.sample.raw_len - 1];
		if (it.type == KP_REC_SAMPLE && it.sample.nchain)
			e = ((const volatile uint8_t *)it.sample.chain)[8 * it.sample.nchain - 1];
		if (it.type == KP_REC_PROBE && it.probe.format_len)
			e = ((const volatile char *)it.probe.format)[it.probe.format_len - 1];
	}
	snprintf(msg, msglen, "%s", kp_rec_error(r));
	if (e < 0 && strcmp(kp_rec_error(r), "") == 0)
		e = -9999; /* an error without a message */
	kp_rec_free(r);
	return e;
}

/* The byte offsets where records start, found by walking the lengths. */
static int boundaries(const uint8_t *buf, size_t len, size_t *out, int max)
{
	uint32_t l;
	size_t off;
	int n = 0;

	memcpy(&l, buf + 12, 4);
	for (off = l; off < len && n < max; off += l) {
		out[n++] = off;
		memcpy(&l, buf + off + 4, 4);
	}
	out[n++] = len;
	return n;
}

static void test_truncation(void)
{
	size_t len, bounds[64];
	uint8_t *buf = small_file(&len);
	int nb = boundaries(buf, len, bounds, 60);
	int bad = 0, clean = 0, errors = 0;
	char msg[512], want[64];

	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		bool at_bound = false;
		int items, e;

		memcpy(copy, buf, cut);
		e = read_all(copy, cut, msg, sizeof(msg), &items);
		for (int i = 0; i < nb; i++)
			at_bound |= bounds[i] == cut;
		if (at_bound && e == 0) {
			clean++;
		} else if (e == -EBADMSG) {
			errors++;
			/*
			 * The offset named is where the cut record starts, or
			 * the cut itself for the header.
			 */
			size_t rec = 0;

			for (int i = 0; i < nb; i++)
				if (bounds[i] <= cut)
					rec = bounds[i];
			if (cut < bounds[0])
				snprintf(want, sizeof(want), "byte %zu:", cut < 8 ? 0 : cut);
			else
				snprintf(want, sizeof(want), "byte %zu:", rec);
			if (!strstr(msg, want) || !strstr(msg, "past the end")) {
				bool ok =
				    (cut >= 8 && cut < bounds[0] && strstr(msg, "byte 12:")) ||
				    (cut < 8 && strstr(msg, "bad magic"));

				if (!ok && bad++ < 5)
					printf("# cut %zu: \"%s\" lacks \"%s\"\n", cut, msg, want);
			}
		} else {
			if (bad++ < 5)
				printf("# cut %zu: result %d items %d: %s\n", cut, e, items, msg);
		}
		free(copy);
	}
	T_OK(bad == 0, "truncation at each of %zu offsets: clean end or error at the right byte",
	     len);
	T_EQ_INT(clean, nb - 1,
		 "clean ends exactly at the record boundaries before the end record");
	printf("# truncation: %d clean ends, %d errors\n", clean, errors);

	/* The message style the issue asks for. */
	{
		struct kp_rec_item it;
		struct kp_rec_reader *r;
		FILE *f;
		char path[] = "/tmp/kprec_XXXXXX";
		int fd = mkstemp(path);

		f = fdopen(fd, "w");
		fwrite(buf, 1, bounds[3] + 20, f);
		fclose(f);
		r = kp_rec_open_file(path, msg, sizeof(msg));
		T_OK(r != NULL, "open_file: %s", r ? "" : msg);
		if (r) {
			while (kp_rec_next(r, &it) == 1)
				;
			snprintf(want, sizeof(want), "%s: byte %zu: sample record length", path,
				 bounds[3]);
			T_OK(strstr(kp_rec_error(r), want) != NULL &&
				 strstr(kp_rec_error(r), "runs past the end of the file"),
			     "message names file and byte: %s", kp_rec_error(r));
			kp_rec_free(r);
		}
		unlink(path);
	}
	free(buf);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_corruption(void)
{
	size_t len;
	uint8_t *buf = small_file(&len);
	uint8_t *copy = malloc(len);
	int parsed = 0, errors = 0, other = 0, cases = 5000;

	for (int i = 0; i < cases; i++) {
		char msg[512];
		int items, e, flips = 1 + (int)(rng() % 3);

		memcpy(copy, buf, len);
		if (i % 2)
			copy[10] = KP_REC_MINOR + 1; /* the lenient newer-minor paths */
		for (int f = 0; f < flips; f++) {
			size_t at = rng() % len;

			copy[at] ^= (uint8_t)(1u << (rng() % 8));
		}
		e = read_all(copy, len, msg, sizeof(msg), &items);
		if (e == 0)
			parsed++;
		else if ((e == -EBADMSG || e == -ENOTSUP) && strstr(msg, "byte "))
			errors++;
		else if (other++ < 5)
			printf("# flip case %d: result %d: \"%s\"\n", i, e, msg);
	}
	T_OK(other == 0, "%d bit-flip cases: parse or error with a byte offset", cases);
	printf("# corruption: %d parsed, %d errors\n", parsed, errors);

	/* Random lengths at every record's length field. */
	size_t bounds[64];
	int nb = boundaries(buf, len, bounds, 60);

	other = 0;
	for (int i = 0; i < nb - 1; i++) {
		for (int k = 0; k < 200; k++) {
			char msg[512];
			uint32_t v = (uint32_t)rng();
			int items, e;

			memcpy(copy, buf, len);
			if (k < 32)
				v = 1u << k;
			memcpy(copy + bounds[i] + 4 + (k % 2 ? 0 : 0), &v, 4);
			e = read_all(copy, len, msg, sizeof(msg), &items);
			if (e != 0 && !(e == -EBADMSG && strstr(msg, "byte ")))
				other++;
		}
	}
	T_EQ_INT(other, 0, "random record lengths never crash and error clearly");
	free(copy);
	free(buf);
}

static void test_refused(void)
{
	size_t len;
	uint8_t *buf = small_file(&len);
	char msg[256];
	int items, e;

	buf[0] = 'X';
	e = read_all(buf, len, msg, sizeof(msg), &items);
	T_EQ_INT(e, -EBADMSG, "wrong magic refused");
	T_OK(strstr(msg, "byte 0: not a kpscript recording") != NULL, "magic message: %s", msg);
	buf[0] = 'K';

	buf[8] = KP_REC_MAJOR + 1;
	e = read_all(buf, len, msg, sizeof(msg), &items);
	T_EQ_INT(e, -ENOTSUP, "newer major refused");
	T_OK(strstr(msg, "byte 8: format version 2.1 is not supported") != NULL,
	     "major message: %s", msg);
	buf[8] = KP_REC_MAJOR;

	buf[len - 8]++;
	e = read_all(buf, len, msg, sizeof(msg), &items);
	T_OK(e == -EBADMSG && strstr(msg, "end record counts 10 records, the file has 9"),
	     "end record count checked: %s", msg);
	buf[len - 8]--;
	{
		uint8_t *more = calloc(1, len + 8);
		char want[64];

		memcpy(more, buf, len);
		e = read_all(more, len + 8, msg, sizeof(msg), &items);
		snprintf(want, sizeof(want), "byte %zu: 8 bytes of data after the end record", len);
		T_OK(e == -EBADMSG && strstr(msg, want), "data after the end record: %s", msg);
		free(more);
	}

	e = read_all(buf, 4, msg, sizeof(msg), &items);
	T_EQ_INT(e, -EBADMSG, "4-byte file refused");
	e = read_all(buf, 0, msg, sizeof(msg), &items);
	T_EQ_INT(e, -EBADMSG, "empty file refused");

	{
		struct kp_rec_reader *r = kp_rec_open_file("/nonexistent/x.kpr", msg, sizeof(msg));

		T_OK(r == NULL && errno == ENOENT && strstr(msg, "/nonexistent/x.kpr: "),
		     "missing file: %s", msg);
	}
	free(buf);
}

/* Build a file by hand: header then the given records. */
static size_t hand_file(uint8_t *out, uint16_t minor, const uint8_t *recs, size_t rlen)
{
	struct kp_rec_header h;
	struct kp_rec_writer *w;
	uint8_t *buf;
	size_t len;
	int fd = mem_fd();

	fill_header(&h);
	w = kp_rec_create(fd, &h);
	kp_rec_add_probe(w, 1, "p", "", "f");
	kp_rec_close(w);
	buf = slurp(fd, &len);
	close(fd);
	len -= 16; /* drop the end record */
	memcpy(out, buf, len);
	memcpy(out + 10, &minor, 2);
	memcpy(out + len, recs, rlen);
	free(buf);
	return len + rlen;
}

static void test_versions(void)
{
	uint8_t file[4096], recs[256];
	char msg[512];
	int items, e;
	size_t n;

	/* an unknown record type 99, 24 bytes, then a sample of probe 1 */
	memset(recs, 0, sizeof(recs));
	recs[0] = 99;
	recs[4] = 24;
	recs[24] = KP_REC_SAMPLE;
	recs[28] = 48; /* 40 + 8 bytes of raw */
	recs[24 + 8] = 1;
	recs[24 + 32] = 8;
	/* the same sample with 8 extra bytes a newer minor might carry */
	recs[72] = KP_REC_SAMPLE;
	recs[76] = 56;
	recs[72 + 8] = 1;
	recs[72 + 32] = 8;

	n = hand_file(file, KP_REC_MINOR + 1, recs, 24 + 48);
	e = read_all(file, n, msg, sizeof(msg), &items);
	T_OK(e == 0, "newer minor: unknown record type skipped (%d %s)", e, msg);
	T_EQ_INT(items, 3, "newer minor: header, probe, sample");

	n = hand_file(file, KP_REC_MINOR + 1, recs + 24, 48 + 56);
	e = read_all(file, n, msg, sizeof(msg), &items);
	T_OK(e == 0, "newer minor: a longer sample record is read (%d %s)", e, msg);
	T_EQ_INT(items, 4, "newer minor: both samples");

	n = hand_file(file, 0, recs, 24 + 48);
	e = read_all(file, n, msg, sizeof(msg), &items);
	T_EQ_INT(e, -EBADMSG, "same minor: unknown record type is an error");
	T_OK(strstr(msg, "unknown record type 99") != NULL, "unknown type message: %s", msg);

	n = hand_file(file, 0, recs + 72, 56);
	e = read_all(file, n, msg, sizeof(msg), &items);
	T_EQ_INT(e, -EBADMSG, "same minor: a longer sample record is an error");

	/* a sample of probe 2, never defined */
	recs[24 + 8] = 2;
	n = hand_file(file, 0, recs + 24, 48);
	e = read_all(file, n, msg, sizeof(msg), &items);
	T_EQ_INT(e, -EBADMSG, "sample before its probe is an error");
	T_OK(strstr(msg, "uses probe 2 before it is defined") != NULL, "undefined probe: %s", msg);
	recs[24 + 8] = 1;

	/* NUL inside a probe name */
	{
		uint8_t p[32] = { KP_REC_PROBE, 0, 0, 0, 32, 0, 0, 0, 2, 0, 0, 0, 3 };

		p[24] = 'a';
		p[25] = 0;
		p[26] = 'b';
		n = hand_file(file, 0, p, 32);
		e = read_all(file, n, msg, sizeof(msg), &items);
		T_OK(e == -EBADMSG && strstr(msg, "probe name contains a NUL byte"),
		     "NUL in a string refused: %s", msg);
	}
	/* a second definition of probe 1 */
	{
		uint8_t p[32] = { KP_REC_PROBE, 0, 0, 0, 32, 0, 0, 0, 1, 0, 0, 0, 1 };

		p[24] = 'a';
		n = hand_file(file, 0, p, 32);
		e = read_all(file, n, msg, sizeof(msg), &items);
		T_OK(e == -EBADMSG && strstr(msg, "probe 1 is defined twice"),
		     "duplicate probe refused: %s", msg);
	}
}

static void test_writer_errors(void)
{
	struct kp_rec_header h;
	struct kp_rec_writer *w;
	int fds[2];
	char big[KP_REC_MAX_NAME + 2];

	fill_header(&h);
	T_OK(pipe(fds) == 0, "pipe");
	w = kp_rec_create(fds[1], &h);
	T_EQ_INT(kp_rec_add_sample(w, 1, 0, 0, 0, 0, "x", 1), -EINVAL, "sample of undefined probe");
	T_EQ_INT(kp_rec_add_lost(w, 1, 0, 0), -EINVAL, "lost of undefined probe");
	T_EQ_INT(kp_rec_add_probe(w, KP_REC_MAX_PROBES, "x", "", ""), -EINVAL, "probe id too big");
	T_EQ_INT(kp_rec_add_probe(w, 1, "", "", ""), -EINVAL, "empty probe name");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	T_EQ_INT(kp_rec_add_probe(w, 1, big, "", ""), -E2BIG, "long probe name");
	T_EQ_INT(kp_rec_add_probe(w, 1, "x", "", ""), 0, "probe");
	T_EQ_INT(kp_rec_add_probe(w, 1, "x", "", ""), -EINVAL, "probe defined twice");
	T_EQ_INT(kp_rec_add_sample(w, 1, 0, 0, 0, 0, big, KP_REC_MAX_RAW + 1), -E2BIG,
		 "raw too long");
	T_EQ_INT(kp_rec_add_task(w, 5, 0, 0, 0, 0, "", 0, 0), -EINVAL, "bad task kind");
	/* a write error is sticky and returned by close */
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	{
		static uint8_t raw[60000];
		int e = 0;

		for (int i = 0; i < 100 && !e; i++)
			e = kp_rec_add_sample(w, 1, 0, 0, 0, 0, raw, sizeof(raw));
		T_EQ_INT(e, -EPIPE, "write error reported by add");
		T_EQ_INT(kp_rec_add_lost(w, 1, 1, 1), -EPIPE, "write error sticky");
		T_EQ_INT(kp_rec_close(w), -EPIPE, "close returns the write error");
	}
	close(fds[1]);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void test_big(void)
{
	struct kp_rec_header h;
	struct kp_rec_writer *w;
	struct kp_rec_reader *r;
	struct kp_rec_item it;
	uint8_t raw[200];
	char err[256];
	int fd = mem_fd(), n = 100000, bad = 0, got = 0, e;
	size_t len;
	uint8_t *buf;

	T_EQ_INT(kp_rec_header_now(&h), 0, "header_now");
	T_OK(h.host[0] && h.release[0] && h.start_time > 0, "header_now fills host %s release %s",
	     h.host, h.release);
	w = kp_rec_create(fd, &h);
	kp_rec_add_probe(w, 3, "tracepoint:raw_syscalls:sys_enter", "", FORMAT);
	for (int i = 0; i < n; i++) {
		uint32_t rl = (uint32_t)(i % (int)sizeof(raw));

		memset(raw, i & 0xff, rl);
		if (kp_rec_add_sample(w, 3, (uint32_t)i % 64, i, i + 1, (uint64_t)i * 1000003, raw,
				      rl))
			bad++;
	}
	T_EQ_INT(kp_rec_flush(w), 0, "flush");
	T_OK(lseek(fd, 0, SEEK_END) > 100000 * 40, "flush writes everything buffered");
	T_EQ_INT(kp_rec_close(w), 0, "close big");
	buf = slurp(fd, &len);
	close(fd);
	printf("# 100k samples: %zu bytes\n", len);
	r = kp_rec_open(buf, len, err, sizeof(err));
	T_OK(r != NULL, "open big");
	kp_rec_next(r, &it);
	kp_rec_next(r, &it);
	while ((e = kp_rec_next(r, &it)) == 1 && it.type == KP_REC_SAMPLE) {
		uint32_t rl = (uint32_t)(got % (int)sizeof(raw));
		const uint8_t *p = it.sample.raw;

		if (it.sample.raw_len != rl || it.sample.pid != got ||
		    it.sample.time != (uint64_t)got * 1000003 || (rl && p[rl - 1] != (got & 0xff)))
			bad++;
		got++;
	}
	T_EQ_INT(e, 1, "end record after the samples");
	T_EQ_INT(it.type, KP_REC_END, "end record type");
	T_EQ_INT(got, n, "100k samples read back");
	T_EQ_INT(bad, 0, "100k samples exact");
	T_EQ_INT(kp_rec_next(r, &it), 0, "big clean end");
	kp_rec_free(r);
	free(buf);
}

static void test_cost(void)
{
	struct kp_rec_header h;
	struct kp_rec_writer *w;
	char path[] = "/tmp/kprec_XXXXXX";
	uint8_t raw[64] = { 1 };
	int fd = mkstemp(path), n = 1000000;
	uint64_t t0, t1;

	unlink(path);
	fill_header(&h);
	w = kp_rec_create(fd, &h);
	kp_rec_add_probe(w, 0, "tracepoint:x:y", "", FORMAT);
	t0 = now_ns();
	for (int i = 0; i < n; i++)
		kp_rec_add_sample(w, 0, 1, 2, 3, (uint64_t)i, raw, sizeof(raw));
	t1 = now_ns();
	T_EQ_INT(kp_rec_close(w), 0, "close 1M");
	printf("# 1M samples of 64 raw bytes to a tmp file: %.1f ns/sample (ASan build), %lld "
	       "bytes\n",
	       (double)(t1 - t0) / n, (long long)lseek(fd, 0, SEEK_END));
	close(fd);
}

/* 1.1: a sample's callchain goes through, and its bad lengths are caught */
static void test_chain(void)
{
	static const uint64_t ips[] = { (uint64_t)-128, 0xffffffff81000010ULL, (uint64_t)-512,
					0x401136, 0x7f0000001234ULL };
	struct kp_rec_header h;
	struct kp_rec_writer *w;
	struct kp_rec_reader *r;
	struct kp_rec_item it;
	int fd = mem_fd(), e, items, nsamples = 0;
	char msg[256];
	size_t len;
	uint8_t *buf;
	uint64_t got[5] = { 0 };
	uint32_t nchain = 0;

	fill_header(&h);
	w = kp_rec_create(fd, &h);
	kp_rec_add_probe(w, 1, "uprobe:/x:f", "", "name: f\n");
	T_EQ_INT(kp_rec_add_sample_chain(w, 1, 0, 5, 5, 10, RAW1, 3, ips, 5), 0,
		 "chain: add a sample with a 5-entry callchain");
	T_EQ_INT(kp_rec_add_sample_chain(w, 1, 0, 5, 5, 11, RAW1, 3, NULL, 0), 0,
		 "chain: add one without");
	T_EQ_INT(kp_rec_add_sample_chain(w, 1, 0, 5, 5, 11, RAW1, 3, ips, KP_REC_MAX_CHAIN + 1),
		 -E2BIG, "chain: an overlong callchain is refused");
	kp_rec_close(w);
	buf = slurp(fd, &len);
	close(fd);
	r = kp_rec_open(buf, len, msg, sizeof(msg));
	while (r && kp_rec_next(r, &it) == 1) {
		if (it.type != KP_REC_SAMPLE)
			continue;
		if (nsamples++ == 0) {
			nchain = it.sample.nchain;
			if (nchain == 5)
				memcpy(got, it.sample.chain, sizeof(got));
			T_EQ_INT(it.sample.raw_len, 3, "chain: raw length kept");
		} else {
			T_OK(it.sample.nchain == 0 && it.sample.chain == NULL,
			     "chain: the plain sample has none");
		}
	}
	T_OK(r && kp_rec_complete(r), "chain: file reads to its end");
	kp_rec_free(r);
	T_EQ_INT(nchain, 5, "chain: callchain length read back");
	T_OK(memcmp(got, ips, sizeof(got)) == 0, "chain: callchain entries read back");

	/* corrupt the chain length: larger than the record, then zero */
	for (size_t off = 0; off + 8 <= len; off += 8) {
		uint32_t type, rl;

		memcpy(&type, buf + off, 4);
		memcpy(&rl, buf + off + 4, 4);
		if (type == KP_REC_SAMPLE && rl == 48 + 8 + 40) {
			buf[off + 48] = 6;
			e = read_all(buf, len, msg, sizeof(msg), &items);
			T_OK(e == -EBADMSG && strstr(msg, "shorter than its fields"),
			     "chain: a length past the record is an error (%s)", msg);
			buf[off + 48] = 0;
			e = read_all(buf, len, msg, sizeof(msg), &items);
			T_OK(e == -EBADMSG && strstr(msg, "callchain length is 0"),
			     "chain: a zero length is an error (%s)", msg);
			buf[off + 48] = 5;
			break;
		}
		if (type == KP_REC_SAMPLE || type == KP_REC_PROBE)
			off += rl - 8;
	}
	/* a 1.0 file may not carry one */
	buf[10] = 0;
	e = read_all(buf, len, msg, sizeof(msg), &items);
	T_OK(e == -EBADMSG && strstr(msg, "does not match its fields"),
	     "chain: a 1.0 file's sample with extra bytes is an error (%s)", msg);
	free(buf);
}

int main(void)
{
	test_round_trip();
	test_truncation();
	test_corruption();
	test_refused();
	test_versions();
	test_chain();
	test_writer_errors();
	test_big();
	test_cost();
	return T_DONE();
}
