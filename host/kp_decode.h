/* SPDX-License-Identifier: MIT */
#ifndef KP_DECODE_H
#define KP_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kp_format.h"

/*
 * The bounds-checked decoder: one field of a raw record (by the compiled
 * field table of kp_format.h) into a value. Pure.
 */

enum kp_value_type {
	KP_VAL_INT, /* signed integer in .i */
	KP_VAL_UINT, /* unsigned integer in .u */
	KP_VAL_STR, /* .ptr/.len: bytes of a string, without its NUL */
	KP_VAL_ARRAY, /* .ptr/.len: .len elements of .elem_size bytes, .is_signed */
	KP_VAL_BYTES, /* .ptr/.len: raw bytes */
	KP_VAL_STRS, /* .ptr/.len: .len loc words; kp_value_str() reads each */
};

struct kp_value {
	enum kp_value_type type;
	int64_t i;
	uint64_t u;
	const void *ptr;
	size_t len;
	unsigned int elem_size;
	bool is_signed;
};

/**
 * kp_field_decode() - decode one field of a raw record.
 * @f: the field
 * @rec: the record's raw data (PERF_SAMPLE_RAW payload, starting at the
 *       common header)
 * @rec_size: bytes available at @rec
 * @out: the value; pointers in it point into @rec
 *
 * Every offset and length, including those a __data_loc word claims, is
 * checked against @rec_size. Strings end at the first NUL or at the end of
 * their area, whichever comes first; an empty dynamic area is "".
 *
 * Return: 0, or -KP_EBOUNDS when the field lies outside the record.
 */
int kp_field_decode(const struct kp_field *f, const void *rec, size_t rec_size,
		    struct kp_value *out);

/**
 * kp_value_str() - string @i of a KP_VAL_STRS value of the record @rec.
 * Return: 0 and the bytes at *@s (without the NUL), *@len; 1 when the
 * entry holds nothing (length 0: a NULL or unreadable pointer, where a
 * NULL-terminated list ends); -KP_EBOUNDS when it lies outside the record.
 */
int kp_value_str(const struct kp_value *v, const void *rec, size_t rec_size, size_t i,
		 const char **s, size_t *len);

/* Element @i of an array value, sign- or zero-extended to 64 bits. */
int64_t kp_value_elem_i(const struct kp_value *v, size_t i);
uint64_t kp_value_elem_u(const struct kp_value *v, size_t i);

#endif
