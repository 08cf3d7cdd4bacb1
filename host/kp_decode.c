// SPDX-License-Identifier: MIT
/*
 * One field of a raw record into a value (see kp_decode.h): every offset
 * and length is checked against the record. Pure.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kp_decode.h"
#include "kp_err.h"

static bool int_size_ok(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* Little-endian host, so the low bytes come first whatever the size. */
static uint64_t load_uint(const unsigned char *p, unsigned int size)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (size) {
	case 1:
		memcpy(&u8, p, 1);
		return u8;
	case 2:
		memcpy(&u16, p, 2);
		return u16;
	case 4:
		memcpy(&u32, p, 4);
		return u32;
	case 8:
		memcpy(&u64, p, 8);
		return u64;
	}
	return 0;
}

/* Two's complement: flipping the sign bit and subtracting it extends it. */
static int64_t sign_extend(uint64_t v, unsigned int size)
{
	uint64_t sign;

	if (size >= 8 || size == 0)
		return (int64_t)v;
	sign = UINT64_C(1) << (8 * size - 1);
	v &= (sign << 1) - 1;
	return (int64_t)((v ^ sign) - sign);
}

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
 * their area, whichever comes first; an empty string's pointer is a static
 * "". Dynamic arrays hold the whole elements that fit in their area. No
 * allocation, no lookup.
 *
 * Return: 0, -KP_EBOUNDS when the field lies outside the record, or -EINVAL
 * for a dynamic array field with elem_size 0 (which kp_format_parse() never
 * makes).
 */
int kp_field_decode(const struct kp_field *f, const void *rec, size_t rec_size,
		    struct kp_value *out)
{
	const unsigned char *base = rec;
	const unsigned char *p;
	const unsigned char *nul;
	uint32_t loc;
	size_t start, len;
	uint64_t u;

	if (f->size > rec_size || f->offset > rec_size - f->size)
		return -KP_EBOUNDS;
	p = base + f->offset;

	out->elem_size = f->elem_size;
	out->is_signed = f->is_signed;
	out->ptr = p;
	out->i = 0;
	out->u = 0;

	switch (f->kind) {
	case KP_FIELD_INT:
		u = load_uint(p, f->size);
		if (f->is_signed) {
			out->type = KP_VAL_INT;
			out->i = sign_extend(u, f->size);
			out->u = (uint64_t)out->i;
		} else {
			out->type = KP_VAL_UINT;
			out->u = u;
			out->i = (int64_t)u;
		}
		out->ptr = NULL;
		out->len = 0;
		return 0;
	case KP_FIELD_CHARS:
		nul = memchr(p, '\0', f->size);
		out->type = KP_VAL_STR;
		out->len = nul ? (size_t)(nul - p) : f->size;
		return 0;
	case KP_FIELD_ARRAY:
		out->type = KP_VAL_ARRAY;
		out->len = f->count;
		return 0;
	case KP_FIELD_DYN_STR:
	case KP_FIELD_DYN_ARRAY:
		/* f->size may not be 4 in a hand-made field: check the word. */
		if (rec_size < 4 || f->offset > rec_size - 4)
			return -KP_EBOUNDS;
		memcpy(&loc, p, 4);
		/* size_t holds offset + 4 + 0xffff without wrapping. */
		start = (size_t)(loc & 0xffff);
		if (f->relative)
			start += (size_t)f->offset + 4;
		len = loc >> 16;
		if (start > rec_size || len > rec_size - start)
			return -KP_EBOUNDS;
		p = base + start;
		if (f->kind == KP_FIELD_DYN_STR) {
			nul = memchr(p, '\0', len);
			if (nul)
				len = (size_t)(nul - p);
			out->type = KP_VAL_STR;
			out->ptr = len ? (const void *)p : (const void *)"";
			out->len = len;
			return 0;
		}
		if (f->elem_size == 0)
			return -EINVAL;
		out->type = KP_VAL_ARRAY;
		out->ptr = p;
		out->len = len / f->elem_size;
		return 0;
	case KP_FIELD_DYN_STRS:
		out->type = KP_VAL_STRS;
		out->len = f->count;
		return 0;
	case KP_FIELD_OTHER:
	default:
		out->type = KP_VAL_BYTES;
		out->len = f->size;
		return 0;
	}
}

int kp_value_str(const struct kp_value *v, const void *rec, size_t rec_size, size_t i,
		 const char **s, size_t *len)
{
	const unsigned char *base = rec, *p;
	size_t start, n;
	const char *nul;
	uint32_t loc;

	if (v->type != KP_VAL_STRS || i >= v->len)
		return -KP_EBOUNDS;
	p = (const unsigned char *)v->ptr + 4 * i;
	if (rec_size < 4 || p < base || (size_t)(p - base) > rec_size - 4)
		return -KP_EBOUNDS;
	memcpy(&loc, p, 4);
	start = loc & 0xffff;
	n = loc >> 16;
	if (!n)
		return 1;
	if (start > rec_size || n > rec_size - start)
		return -KP_EBOUNDS;
	*s = (const char *)base + start;
	nul = memchr(*s, '\0', n);
	*len = nul ? (size_t)(nul - *s) : n;
	return 0;
}

/* Element @i read as the raw bits, extended per the array's signedness. */
static uint64_t elem_bits(const struct kp_value *v, size_t i)
{
	const unsigned char *p = v->ptr;
	uint64_t u;

	if (v->type != KP_VAL_ARRAY || !p || i >= v->len || !int_size_ok(v->elem_size))
		return 0;
	u = load_uint(p + i * v->elem_size, v->elem_size);
	if (v->is_signed)
		u = (uint64_t)sign_extend(u, v->elem_size);
	return u;
}

/**
 * kp_value_elem_i() - element of an array value as a signed integer.
 * @v: a KP_VAL_ARRAY value
 * @i: index, below @v->len
 *
 * Return: the element, sign-extended if the array is signed and
 * zero-extended otherwise; 0 for an index out of range, a value that is not
 * an array, or an element size other than 1, 2, 4 or 8.
 */
int64_t kp_value_elem_i(const struct kp_value *v, size_t i)
{
	return (int64_t)elem_bits(v, i);
}

/**
 * kp_value_elem_u() - element of an array value as an unsigned integer.
 * @v: a KP_VAL_ARRAY value
 * @i: index, below @v->len
 *
 * Return: the element's bits extended as kp_value_elem_i() does them, so a
 * signed -1 is UINT64_MAX; 0 in the same cases as kp_value_elem_i().
 */
uint64_t kp_value_elem_u(const struct kp_value *v, size_t i)
{
	return elem_bits(v, i);
}
