/* SPDX-License-Identifier: MIT */
#ifndef KP_LOOP_H
#define KP_LOOP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The ordered merge of every ring: each ring is in time order on its own
 * (one CPU writes it), so a heap over the rings' next records yields all
 * records in timestamp order. Records newer than the horizon stay in their
 * rings until a later pass, which bounds how late a record from a slower
 * CPU may arrive and still be delivered in order.
 */
struct kp_loop;
struct kp_ring;
struct kp_comm;

struct kp_sample {
	uint32_t pid, tid, cpu;
	uint64_t time;
	const void *raw;
	uint32_t raw_size;
	/* PERF_SAMPLE_CALLCHAIN, context markers included; NULL/0 without */
	const uint64_t *ips;
	uint64_t nips;
};

/*
 * An executable mapping from PERF_RECORD_MMAP2 (the side-band event asks
 * for mmap2 without mmap_data: mappings with PROT_EXEC only, made by mmap(),
 * by exec for the program and its interpreter, mprotect() adding PROT_EXEC,
 * and the special ones such as "[vdso]" and "[uprobes]").
 * @addr, @len:  [addr, addr + len), as the record says (not checked here)
 * @pgoff:       the file offset mapped at @addr
 * @maj, @min:   the file's device (MAJOR/MINOR, as /proc/PID/maps shows
 *               them), @ino its inode; all 0 when @build_id
 * @build_id:    the record carries a build id instead of device and inode
 *               (PERF_RECORD_MISC_MMAP_BUILD_ID)
 * @prot, @flags: PROT_* and MAP_* of the mapping
 * @filename:    the kernel's name for it, NUL-terminated inside the record
 *               and valid during the callback only: a path (with
 *               " (deleted)" when unlinked), "//anon" for anonymous
 *               memory, or a name such as "[vdso]"
 */
struct kp_task_map {
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino;
	bool build_id;
	uint32_t prot, flags;
	const char *filename;
};

/* A process record from a side-band ring, in event order. */
struct kp_task_rec {
	uint32_t type; /* PERF_RECORD_COMM, _FORK, _EXIT or _MMAP2 */
	int32_t pid, ppid, tid, ptid; /* MMAP2: pid and tid only */
	const char *comm; /* COMM only */
	bool exec; /* COMM set by an exec (PERF_RECORD_MISC_COMM_EXEC) */
	uint64_t time;
	struct kp_task_map map; /* MMAP2 only */
};

struct kp_loop_ops {
	/* A sample of @owner. Return non-zero to stop the pass at once. */
	int (*sample)(void *owner, const struct kp_sample *s, void *ctx);
	/* PERF_RECORD_LOST in @owner's ring. */
	void (*lost)(void *owner, uint64_t lost, void *ctx);
	/* COMM/FORK/EXIT, after the comm table has taken it, and MMAP2; may
	 * be NULL. */
	void (*task)(const struct kp_task_rec *r, void *ctx);
};

struct kp_loop *kp_loop_new(const struct kp_loop_ops *ops, void *ctx, struct kp_comm *comm);
void kp_loop_free(struct kp_loop *l);

/* Read @ring (of @fd) in the merge; @owner NULL marks a side-band ring. */
int kp_loop_add(struct kp_loop *l, int fd, struct kp_ring *ring, void *owner);
/* Its samples carry PERF_SAMPLE_CALLCHAIN (kp_perf_open_stack()). */
#define KP_LOOP_CALLCHAIN 1u
int kp_loop_add_flags(struct kp_loop *l, int fd, struct kp_ring *ring, void *owner,
		      unsigned int flags);
/* Forget every ring of @owner. */
void kp_loop_remove(struct kp_loop *l, void *owner);
/* Add a plain fd (signalfd...) to the epoll set; its readiness is returned
 * by kp_loop_wait(). */
int kp_loop_watch(struct kp_loop *l, int fd);

/*
 * kp_loop_wait() - block until a ring or watched fd is ready or @timeout_ms.
 * Return: 1 when a watched fd is ready, 0 otherwise, -errno on error.
 */
int kp_loop_wait(struct kp_loop *l, int timeout_ms);

/*
 * kp_loop_drain() - deliver, in time order, every record not newer than
 * @horizon (UINT64_MAX: everything in the rings).
 * Return: records delivered; negative when a sample callback stopped it.
 * *@held is set when records newer than the horizon were left.
 */
long kp_loop_drain(struct kp_loop *l, uint64_t horizon, bool *held);

/* Ring headers found corrupt and skipped. */
uint64_t kp_loop_corrupt(const struct kp_loop *l);
/* COMM/FORK/EXIT/MMAP2 records the side-band rings lost (ev.comm may be
 * stale, user frames unnamed). */
uint64_t kp_loop_sideband_lost(const struct kp_loop *l);

/* CLOCK_MONOTONIC now, in ns: the clock every sample is stamped with. */
uint64_t kp_now_ns(void);

#endif
