/* SPDX-License-Identifier: MIT */
#ifndef KP_RECORD_LAYOUT_H
#define KP_RECORD_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The byte layout of a recording, shared by its writer (kp_record_write.c)
 * and its reader (kp_record_read.c); docs/RECORD_FORMAT.md documents it.
 */
#define MAGIC "KPREC\0\0\0"
#define MAGIC_LEN 8
#define FILE_HDR_FIXED 48
#define REC_HDR 8
#define PROBE_FIXED 24
#define SAMPLE_FIXED 40
#define TASK_FIXED 48
#define LOST_LEN 32
#define END_LEN 16
#define TASK_EXEC 1u

static inline uint64_t align8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

/* Whether probe @id is set in a bitmap of defined probes. */
static inline bool is_defined(const uint8_t *bits, uint32_t id)
{
	return id < KP_REC_MAX_PROBES && (bits[id / 8] & (1u << (id % 8)));
}

#endif
