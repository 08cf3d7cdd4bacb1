/* SPDX-License-Identifier: MIT */
#ifndef KP_RECORD_H
#define KP_RECORD_H

#include <stddef.h>
#include <stdint.h>

/*
 * A recording: the raw samples of a run exactly as read from the rings, with
 * what is needed to decode them elsewhere (each probe's format text and
 * definition, the side-band task records, the clock offsets, host and kernel
 * release). docs/RECORD_FORMAT.md describes the file byte by byte.
 *
 * The writer buffers records in one buffer allocated at create time and calls
 * write(2) only when it is full: no syscall and no allocation per record.
 * The reader parses a memory buffer (parsing apart from I/O) and treats it as
 * untrusted: every length is checked, and an error names the byte offset.
 */

#define KP_REC_MAJOR 1
#define KP_REC_MINOR 1

/* Limits, the same for writer and reader; see docs/RECORD_FORMAT.md. */
#define KP_REC_MAX_PROBES 65536 /* probe ids are 0..KP_REC_MAX_PROBES-1 */
#define KP_REC_NO_PROBE 0xffffffffu /* a lost record of the side-band rings */
#define KP_REC_MAX_HOST 255
#define KP_REC_MAX_NAME 4095
#define KP_REC_MAX_DEF 65535
#define KP_REC_MAX_FORMAT (256 * 1024)
#define KP_REC_MAX_COMM 255
#define KP_REC_MAX_RAW (1024 * 1024 - 64)

/* Task record kinds: the PERF_RECORD_* numbers of <linux/perf_event.h>. */
#define KP_REC_TASK_COMM 3
#define KP_REC_TASK_EXIT 4
#define KP_REC_TASK_FORK 7

struct kp_rec_header {
	uint16_t major; /* set by the reader; the writer writes KP_REC_MAJOR */
	uint16_t minor;
	char host[KP_REC_MAX_HOST + 1]; /* uname -n */
	char release[KP_REC_MAX_HOST + 1]; /* uname -r */
	int64_t realtime_offset; /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	int64_t boottime_offset; /* CLOCK_BOOTTIME - CLOCK_MONOTONIC, ns */
	uint64_t start_time; /* CLOCK_MONOTONIC at the start of the recording, ns */
};

enum kp_rec_type {
	KP_REC_HEADER = 0, /* the file header, always the first item */
	KP_REC_PROBE = 1,
	KP_REC_SAMPLE = 2,
	KP_REC_TASK = 3,
	KP_REC_LOST = 4,
	KP_REC_END = 5,
};

/*
 * One item of a recording. Strings are (pointer, length), NUL-free, and
 * point into the reader's buffer: they are not NUL-terminated.
 */
struct kp_rec_item {
	enum kp_rec_type type;
	uint64_t offset; /* byte offset of the record in the file */
	union {
		const struct kp_rec_header *header;
		struct {
			uint32_t id;
			const char *name; /* "tracepoint:sched:sched_switch" */
			uint32_t name_len;
			const char *def; /* dynamic_events line, or empty */
			uint32_t def_len;
			const char *format; /* tracefs format text */
			uint32_t format_len;
		} probe;
		struct {
			uint32_t probe_id;
			uint32_t cpu;
			int32_t pid;
			int32_t tid;
			uint64_t time;
			const void *raw; /* PERF_SAMPLE_RAW payload */
			uint32_t raw_len;
			/* PERF_SAMPLE_CALLCHAIN (1.1): nchain little-endian u64s,
			 * not necessarily aligned; NULL/0 without one */
			const void *chain;
			uint32_t nchain;
		} sample;
		struct {
			uint32_t type; /* KP_REC_TASK_COMM/EXIT/FORK */
			int32_t pid, ppid, tid, ptid;
			int exec; /* COMM from exec (PERF_RECORD_MISC_COMM_EXEC) */
			uint64_t time;
			const char *comm;
			uint32_t comm_len;
		} task;
		struct {
			uint32_t probe_id; /* or KP_REC_NO_PROBE */
			uint64_t count;
			uint64_t time;
		} lost;
		struct {
			uint64_t records; /* records written before the end record */
		} end;
	};
};

struct kp_rec_writer;
struct kp_rec_reader;

/**
 * kp_rec_header_now() - fill a header for a recording starting now.
 * @h: the header; uname(2) host and release, clock offsets, start time
 *
 * Return: 0 or -errno.
 */
int kp_rec_header_now(struct kp_rec_header *h);

/**
 * kp_rec_create() - start a recording on @fd.
 * @fd: an open file, written with write(2) from its current position; the
 *      writer does not close it
 * @h: the header (major/minor are ignored: the writer's version is written)
 *
 * The header is buffered, not written, until the buffer fills or
 * kp_rec_close() runs.
 *
 * Return: a writer, or NULL with errno set (EINVAL for a host or release
 * longer than KP_REC_MAX_HOST, ENOMEM).
 */
struct kp_rec_writer *kp_rec_create(int fd, const struct kp_rec_header *h);

/**
 * kp_rec_add_probe() - define probe @id; samples of @id may follow.
 * @w: the writer
 * @id: the probe's id, below KP_REC_MAX_PROBES, defined once
 * @name: the user-visible name, "tracepoint:sched:sched_switch"
 * @def: its dynamic_events line, or "" (or NULL) for a tracepoint
 * @format: the exact tracefs format text
 *
 * Return: 0, -EINVAL (id out of range or already defined, empty name),
 * -E2BIG (a string over its limit), or the writer's earlier write error.
 */
int kp_rec_add_probe(struct kp_rec_writer *w, uint32_t id, const char *name, const char *def,
		     const char *format);

/**
 * kp_rec_add_sample() - append one sample's raw data.
 * @w: the writer
 * @probe_id: a probe defined by kp_rec_add_probe()
 * @cpu: the CPU whose ring held it
 * @pid: the sample's pid
 * @tid: the sample's tid
 * @time: its time, CLOCK_MONOTONIC ns
 * @raw: the PERF_SAMPLE_RAW payload as read from the ring
 * @raw_len: its length, at most KP_REC_MAX_RAW
 *
 * Return: 0, -EINVAL (undefined probe), -E2BIG, or a write error (-errno),
 * which is sticky: every later call returns it.
 */
int kp_rec_add_sample(struct kp_rec_writer *w, uint32_t probe_id, uint32_t cpu, int32_t pid,
		      int32_t tid, uint64_t time, const void *raw, uint32_t raw_len);

/* The most callchain entries a sample record holds (markers included). */
#define KP_REC_MAX_CHAIN 1024

/**
 * kp_rec_add_sample_chain() - kp_rec_add_sample() with the sample's
 * PERF_SAMPLE_CALLCHAIN list (@nips entries, context markers included),
 * format 1.1. @nips 0 writes a plain sample record.
 *
 * Return: as kp_rec_add_sample(); -E2BIG also for @nips over
 * KP_REC_MAX_CHAIN.
 */
int kp_rec_add_sample_chain(struct kp_rec_writer *w, uint32_t probe_id, uint32_t cpu, int32_t pid,
			    int32_t tid, uint64_t time, const void *raw, uint32_t raw_len,
			    const uint64_t *ips, uint32_t nips);

/**
 * kp_rec_add_task() - append a side-band record of the process table.
 * @w: the writer
 * @type: KP_REC_TASK_COMM, KP_REC_TASK_FORK or KP_REC_TASK_EXIT
 * @pid: the record's pid
 * @ppid: the parent pid (FORK/EXIT), else 0
 * @tid: the record's tid
 * @ptid: the parent tid (FORK/EXIT), else 0
 * @comm: the new name (COMM), "" or NULL otherwise
 * @exec: non-zero when a COMM comes from exec
 * @time: the record's time, CLOCK_MONOTONIC ns
 *
 * Return: 0, -EINVAL, -E2BIG, or a write error.
 */
int kp_rec_add_task(struct kp_rec_writer *w, uint32_t type, int32_t pid, int32_t ppid, int32_t tid,
		    int32_t ptid, const char *comm, int exec, uint64_t time);

/**
 * kp_rec_add_lost() - append a count of samples lost.
 * @w: the writer
 * @probe_id: a defined probe, or KP_REC_NO_PROBE for the side-band rings
 * @count: samples lost
 * @time: when the loss was seen, CLOCK_MONOTONIC ns
 *
 * Return: 0, -EINVAL, or a write error.
 */
int kp_rec_add_lost(struct kp_rec_writer *w, uint32_t probe_id, uint64_t count, uint64_t time);

/**
 * kp_rec_flush() - write what is buffered now (for a periodic timer, so a
 * killed recorder loses at most one period).
 * @w: the writer
 *
 * Return: 0 or the first write error as -errno.
 */
int kp_rec_flush(struct kp_rec_writer *w);

/**
 * kp_rec_close() - write the end record, flush, and free the writer.
 * @w: the writer, or NULL
 *
 * Return: 0, or the first write error as -errno. The fd stays open.
 */
int kp_rec_close(struct kp_rec_writer *w);

/**
 * kp_rec_open() - parse the header of a recording held in memory.
 * @data: the file's bytes; must outlive the reader
 * @len: their length
 * @err: receives a message naming the byte offset on failure
 * @errlen: size of @err
 *
 * Return: a reader, or NULL with errno set: EBADMSG (bad magic, truncated or
 * corrupt header), ENOTSUP (a newer major version), ENOMEM.
 */
struct kp_rec_reader *kp_rec_open(const void *data, size_t len, char *err, size_t errlen);

/**
 * kp_rec_open_file() - map a recording file and parse its header.
 * @path: the file; its name prefixes every error message
 * @err: receives a message on failure
 * @errlen: size of @err
 *
 * Return: a reader owning the mapping, or NULL with errno set.
 */
struct kp_rec_reader *kp_rec_open_file(const char *path, char *err, size_t errlen);

/**
 * kp_rec_next() - the next item.
 * @r: the reader
 * @out: the item; its pointers point into the file's bytes
 *
 * The first item is the header. Records of types this reader does not know
 * (from a newer minor version) are skipped by their length.
 *
 * Return: 1 with an item, 0 at the end of the data, or a negative error
 * (-EBADMSG) with kp_rec_error() naming the byte offset. Errors are sticky.
 */
int kp_rec_next(struct kp_rec_reader *r, struct kp_rec_item *out);

/* The parsed header, with NUL-terminated strings. */
const struct kp_rec_header *kp_rec_get_header(const struct kp_rec_reader *r);
/* The last error message, "" when none. */
const char *kp_rec_error(const struct kp_rec_reader *r);
/* Non-zero once the end record has been read: the recording was closed. */
int kp_rec_complete(const struct kp_rec_reader *r);
/* Read @r again from its start (the header item): a second pass over the
 * same mapping, with the same checks. */
void kp_rec_rewind(struct kp_rec_reader *r);
void kp_rec_free(struct kp_rec_reader *r);

/*
 * kp_rec_dump() - --dump FILE: read the recording at @path as untrusted
 * input and say on stdout what it holds (host, kernel, probes, counts,
 * whether it is complete); an error goes to stderr. Control bytes of its
 * strings are printed as \xHH. Return: the exit status, 0 or 1.
 */
int kp_rec_dump(const char *path);

#endif
