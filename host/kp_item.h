/* SPDX-License-Identifier: MIT */
#ifndef KP_ITEM_H
#define KP_ITEM_H

#include <stdbool.h>
#include <stdint.h>

/*
 * What a source of events (kp_source.h) hands the run, one at a time and in
 * time order: a probe's sample, a loss, or a process record. The same items
 * come from the kernel's rings (kp_perf_parse.c) and from a recording
 * (kp_source_replay.c). Types only.
 */

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
 *               and valid as long as the item: a path (with " (deleted)"
 *               when unlinked), "//anon" for anonymous memory, or a name
 *               such as "[vdso]"
 */
struct kp_task_map {
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino;
	bool build_id;
	uint32_t prot, flags;
	const char *filename;
};

/* A process record (side band), in event order. */
struct kp_task_rec {
	uint32_t type; /* PERF_RECORD_COMM, _FORK, _EXIT or _MMAP2 */
	int32_t pid, ppid, tid, ptid; /* MMAP2: pid and tid only */
	const char *comm; /* COMM only */
	bool exec; /* COMM set by an exec (PERF_RECORD_MISC_COMM_EXEC) */
	uint64_t time;
	struct kp_task_map map; /* MMAP2 only */
};

enum kp_item_type {
	KP_ITEM_SKIP, /* a record that carries nothing for the run (or a corrupt one) */
	KP_ITEM_SAMPLE,
	KP_ITEM_LOST, /* samples (or, owner NULL, side-band records) the kernel dropped */
	KP_ITEM_TASK,
};

/*
 * One item. @owner is what the source was told a ring (or a recorded
 * probe) belongs to: the probe, or NULL for the side band. Pointers in it
 * stay valid until the source's next call.
 */
struct kp_item {
	enum kp_item_type type;
	void *owner;
	uint64_t time;
	struct kp_sample sample; /* KP_ITEM_SAMPLE */
	uint64_t lost; /* KP_ITEM_LOST */
	struct kp_task_rec task; /* KP_ITEM_TASK */
	char comm[17]; /* the COMM record's name, task.comm points here */
};

#endif
