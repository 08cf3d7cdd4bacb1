/* SPDX-License-Identifier: MIT */
#ifndef KP_FETCH_H
#define KP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One fetch argument of the kernel's dynamic-event grammar, parsed: what
 * kprobe_events, uprobe_events and event probes take after NAME=, e.g.
 * "+0($filename):ustring", "+8(+0(%di)):u32", "$argv:ustring[8]",
 * "+u4($uservaddr):b4@0/8". Pure: the text in, a tree (a base and the
 * dereferences applied to it) or an error with its position out. What
 * each kind of probe allows, and what the parts mean on a given event, is
 * the caller's (kp_fetch_check() for the common refusals).
 */

#define KP_FETCH_MAX_DEREF 8 /* nested +OFF(...) */
#define KP_FETCH_MAX_ARRAY 64 /* TYPE[N]: N from 1 to this */
#define KP_FETCH_NAME_MAX 128 /* a name or an immediate string, NUL included */

enum kp_fetch_base {
	KP_FETCH_FIELD, /* $NAME: a field of the event (event probes, BPF) */
	KP_FETCH_COMM, /* $comm, $COMM */
	KP_FETCH_REG, /* %REG */
	KP_FETCH_ARG, /* $argN, N >= 1 */
	KP_FETCH_RETVAL, /* $retval */
	KP_FETCH_STACK, /* $stack: the stack address */
	KP_FETCH_STACKN, /* $stackN: its Nth entry */
	KP_FETCH_ADDR, /* @ADDR */
	KP_FETCH_SYM, /* @SYM[+|-OFF] */
	KP_FETCH_IMM, /* \IMM */
	KP_FETCH_IMMSTR, /* \"STRING" */
};

enum kp_fetch_kind {
	KP_FETCH_DEFAULT, /* no :TYPE given */
	KP_FETCH_UINT, /* u8 .. u64 */
	KP_FETCH_SINT, /* s8 .. s64 */
	KP_FETCH_HEX, /* x8 .. x64 */
	KP_FETCH_CHAR, /* char */
	KP_FETCH_STRING, /* string: kernel memory */
	KP_FETCH_USTRING, /* ustring: user memory */
	KP_FETCH_SYMBOL, /* symbol: an address shown as SYM+OFF */
	KP_FETCH_SYMSTR, /* symstr: the same as a string */
	KP_FETCH_BITFIELD, /* b<WIDTH>@<OFFSET>/<CONTAINER> */
};

struct kp_fetch_type {
	enum kp_fetch_kind kind;
	uint8_t size; /* bytes of an integer, or a bitfield's container; 0 for strings */
	uint8_t width, shift; /* a bitfield's bits and its offset in the container */
	uint8_t array; /* TYPE[N]: N; 0 when not an array */
};

/* +OFF(...) or -OFF(...): read at the address inside plus OFF; +uOFF
 * reads user memory. */
struct kp_fetch_deref {
	int64_t off;
	bool user;
};

struct kp_fetch {
	enum kp_fetch_base base;
	char name[KP_FETCH_NAME_MAX]; /* FIELD, REG, SYM; or the IMMSTR */
	int64_t num; /* ARG's and STACKN's N, ADDR, SYM's offset, IMM */
	int nderef;
	struct kp_fetch_deref deref[KP_FETCH_MAX_DEREF]; /* the innermost first */
	struct kp_fetch_type type;
};

/* Where the text was refused and why: "at N: ..." names byte @pos. */
struct kp_fetch_error {
	size_t pos;
	char msg[200];
};

/*
 * kp_fetch_parse() - parse "FETCHARG[:TYPE]" (no NAME=, no spaces).
 * Return: 0 and @f; -EINVAL with @e (nothing of @f is to be used).
 */
int kp_fetch_parse(const char *text, struct kp_fetch *f, struct kp_fetch_error *e);

/*
 * kp_fetch_format() - @f as the kernel's grammar writes it (numbers in
 * decimal, offsets with their sign); parsing the text gives @f again.
 * Return: the length, or -ENOSPC when @len is too small.
 */
int kp_fetch_format(const struct kp_fetch *f, char *buf, size_t len);

/* What a kind of probe takes; for kp_fetch_check(). */
enum kp_fetch_ctx {
	KP_FETCH_CTX_KPROBE,
	KP_FETCH_CTX_KRETPROBE,
	KP_FETCH_CTX_UPROBE,
	KP_FETCH_CTX_URETPROBE,
	KP_FETCH_CTX_EVENT, /* a tracepoint's fields: event probes, BPF */
};

/*
 * kp_fetch_check() - the refusals that do not depend on the event: a base
 * the kind of probe has not (registers on a tracepoint, $retval on an
 * entry, a field on a kprobe), a string type on a plain value where the
 * kernel wants a memory reference. 0, or -EINVAL with @e (pos 0).
 */
int kp_fetch_check(const struct kp_fetch *f, enum kp_fetch_ctx ctx, struct kp_fetch_error *e);

#endif
