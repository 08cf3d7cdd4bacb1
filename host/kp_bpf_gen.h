/* SPDX-License-Identifier: MIT */
#ifndef KP_BPF_GEN_H
#define KP_BPF_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/bpf.h>

#include "kp_fetch.h"

/*
 * Fetch arguments on a tracepoint, compiled to a BPF program (no compiler
 * at run time): the program runs on the tracepoint with the event's record
 * as its context, reads what each argument says with the probe-read
 * helpers and writes one record per hit to a perf event array (BPF output
 * events), laid out as a tracefs event of its own would be: the 8-byte
 * common header, each argument in declaration order, packed, and strings
 * as __data_loc words pointing into the area after them. The layout is
 * described by a format text the caller parses with kp_format_parse(), so
 * the rings, the merge, the decoder, --record and --replay take these
 * records like any other. Pure: the tracepoint's format and the parsed
 * arguments in, instructions and text out.
 */

struct kp_format;

/* The maps the program names; a BPF_LD_IMM64 of BPF_PSEUDO_MAP_FD carries
 * one of these in imm until the loader puts the map's fd there. */
enum kp_bpf_map {
	KP_BPF_MAP_SCRATCH, /* per-CPU array, one value: the record and the counters */
	KP_BPF_MAP_EVENTS, /* perf event array: one BPF output event per CPU */
	KP_BPF_MAP_ARMED, /* array, one u32: the program makes records while not 0 */
};

/* The scratch value: the record is built at 0, the counters sit at its end. */
#define KP_BPF_SCRATCH_SIZE 32768u /* the most a per-CPU value may hold */
#define KP_BPF_CNT_HITS (KP_BPF_SCRATCH_SIZE - 24) /* program runs */
#define KP_BPF_CNT_LOST (KP_BPF_SCRATCH_SIZE - 16) /* records perf could not take */
#define KP_BPF_CNT_FAULTS (KP_BPF_SCRATCH_SIZE - 8) /* strings that could not be read */
/* A string's room with its NUL: the kernel's own fetch keeps the first
 * MAX_STRING_SIZE (4096) bytes of a longer string (seen on 5.10, 6.1 and
 * 6.12); the helper keeps 4096 and a NUL in 4097. */
#define KP_BPF_STR_MAX 4097
#define KP_BPF_FIXED_MAX 4096 /* header, arguments and immediate strings */

struct kp_bpf_arg {
	const char *name;
	struct kp_fetch f;
};

struct kp_bpf_prog {
	struct bpf_insn *insn;
	size_t n;
	size_t fixed; /* bytes before the strings' area */
	bool raw; /* a raw tracepoint program (BPF_PROG_TYPE_RAW_TRACEPOINT) */
	char *spec; /* what it was made from, for messages (the caller's; freed with it) */
	char *format; /* the records' format text */
};

/**
 * kp_bpf_gen() - compile @n arguments on the tracepoint of format @tp.
 * @id: the record's common_type (the tracepoint's id)
 * @name: the format's event name
 * @raw: for the raw tracepoint of that name (its context is the TP_PROTO's
 *       arguments, $arg1 the first, read as u64), not the tracepoint's
 *       record (whose fields are $NAME)
 * @filter: the probe's filter (kp_bpf_filter.h), applied by the program to
 *          the record it built; NULL for none
 *
 * Return: 0 and @out (kp_bpf_prog_free() it); -EINVAL with @msg naming the
 * argument and what of it this backend cannot do; -ENOMEM.
 */
int kp_bpf_gen(const struct kp_format *tp, int id, const char *name, bool raw,
	       const struct kp_bpf_arg *a, size_t n, const char *filter, struct kp_bpf_prog *out,
	       char *msg, size_t len);
void kp_bpf_prog_free(struct kp_bpf_prog *p);

/**
 * kp_bpf_listing() - the instructions as text, one per line ("  12: r3 =
 * *(u64 *)(r10 -8)"), maps named; what --dry-run prints and the unit tests
 * compare. Return: the length (as snprintf), or -ENOSPC.
 */
int kp_bpf_listing(const struct bpf_insn *insn, size_t n, char *buf, size_t len);

#endif
