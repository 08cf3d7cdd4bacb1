/* SPDX-License-Identifier: MIT */
#ifndef KP_BPF_FILTER_H
#define KP_BPF_FILTER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A probe's filter, in the tracefs filter language, compiled into the BPF
 * program that makes its records: a program runs before a filter set on
 * the tracepoint's perf event could, and that filter would not see the
 * fetched arguments. Pure.
 *
 * The part of the language compiled: FIELD OP VALUE joined with &&, ||, !
 * and parentheses; on an integer field ==, !=, <, <=, >, >= and & (some
 * bit set) with a number (decimal, 0x hex, negative); on a string field
 * == and != with a quoted string, and ~ with a glob that is a whole
 * string, "prefix*", "*suffix" or "*". Anything else is refused with its
 * column, not filtered in user space.
 */
struct kp_emit;

struct kp_bpf_field {
	const char *name;
	size_t off; /* in the record */
	unsigned int size; /* an integer's bytes */
	bool is_signed;
	bool string; /* a __data_loc string */
	bool other; /* an array or a list: not for filters */
};

/**
 * kp_bpf_filter_gen() - compile @text for records of fields @f into @e.
 * @drop: the label the code jumps to when a record does not pass; it
 *        falls through when it does. The record is at r7, in a value of
 *        @value_size bytes; r1 to r5 are used.
 * Return: 0, or -EINVAL with @msg ("at column N: ..."), -ENOMEM.
 */
int kp_bpf_filter_gen(const char *text, const struct kp_bpf_field *f, size_t n, struct kp_emit *e,
		      int drop, size_t value_size, char *msg, size_t len);

#endif
