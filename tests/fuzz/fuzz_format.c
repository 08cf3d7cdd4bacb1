// SPDX-License-Identifier: MIT
/*
 * kp_format_parse() of tracefs format text, then kp_field_decode() of every
 * field it compiled on raw record bytes, as the live path and --replay do
 * (a recording carries both, so both are untrusted there).
 *
 * Input: the format text, a NUL byte, the raw record. Without a NUL the
 * text's own bytes serve as the record too.
 */
#include <errno.h>
#include <stddef.h>

#include "kp_err.h"
#include "kp_decode.h"
#include "kp_format.h"
#include "fuzz.h"

/* Decode every field of @fmt on @rec and check what the decoder promises. */
static void decode_all(const struct kp_format *fmt, const unsigned char *rec, size_t rec_size)
{
	size_t n = kp_format_nfields(fmt);

	for (size_t i = 0; i < n; i++) {
		const struct kp_field *f = kp_format_field(fmt, i);
		struct kp_value v;
		int rc;

		FZ_CHECK(f && f->name);
		rc = kp_field_decode(f, rec, rec_size, &v);
		if (rc) {
			FZ_CHECK(rc == -KP_EBOUNDS || rc == -EINVAL);
			continue;
		}
		switch (v.type) {
		case KP_VAL_INT:
		case KP_VAL_UINT:
			FZ_CHECK(f->kind == KP_FIELD_INT);
			break;
		case KP_VAL_STR:
			/* within the record, or the static "" of an empty area */
			FZ_CHECK(
			    v.len == 0 ||
			    ((const unsigned char *)v.ptr >= rec && v.len <= rec_size &&
			     (const unsigned char *)v.ptr - rec <= (ptrdiff_t)(rec_size - v.len)));
			FZ_CHECK(!memchr(v.ptr, '\0', v.len));
			break;
		case KP_VAL_BYTES:
			fz_touch(v.ptr, v.len);
			break;
		case KP_VAL_ARRAY:
			FZ_CHECK(v.elem_size == 1 || v.elem_size == 2 || v.elem_size == 4 ||
				 v.elem_size == 8);
			FZ_CHECK(v.len <= rec_size / v.elem_size);
			fz_touch(v.ptr, v.len * v.elem_size);
			for (size_t k = 0; k < v.len && k < 4096; k++)
				FZ_CHECK((uint64_t)kp_value_elem_i(&v, k) ==
					 kp_value_elem_u(&v, k));
			/* out of range reads as 0 */
			FZ_CHECK(kp_value_elem_u(&v, v.len) == 0);
			break;
		case KP_VAL_STRS:
			/* each string inside the record, without its NUL */
			for (size_t k = 0; k < v.len; k++) {
				const char *str;
				size_t len;
				int src = kp_value_str(&v, rec, rec_size, k, &str, &len);

				FZ_CHECK(src == 0 || src == 1 || src == -KP_EBOUNDS);
				if (src)
					continue;
				FZ_CHECK((const unsigned char *)str >= rec && len <= rec_size &&
					 (const unsigned char *)str - rec <=
					     (ptrdiff_t)(rec_size - len));
				FZ_CHECK(!memchr(str, '\0', len));
			}
			FZ_CHECK(kp_value_str(&v, rec, rec_size, v.len, &(const char *){ NULL },
					      &(size_t){ 0 }) == -KP_EBOUNDS);
			break;
		default:
			FZ_CHECK(!"unknown value type");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	size_t rlen = nul ? size - tlen - 1 : size;
	char *text = fz_dup(data, tlen, 0);
	unsigned char *rec = (unsigned char *)fz_dup(nul ? nul + 1 : data, rlen, 0);
	struct kp_format *fmt;

	errno = 0;
	fmt = kp_format_parse(text, tlen, "fuzz");
	if (!fmt) {
		FZ_CHECK(errno == KP_EFORMAT || errno == ENOMEM);
		goto out;
	}
	FZ_CHECK(kp_format_nfields(fmt) > 0);
	FZ_CHECK(kp_format_name(fmt) && kp_format_name(fmt)[0]);
	FZ_CHECK(!strcmp(kp_format_system(fmt), "fuzz"));
	FZ_CHECK(kp_format_field(fmt, kp_format_nfields(fmt)) == NULL);
	for (size_t i = 0; i < kp_format_nfields(fmt); i++) {
		int at = kp_format_find(fmt, kp_format_field(fmt, i)->name);

		FZ_CHECK(at >= 0 && (size_t)at <= i);
	}
	FZ_CHECK(kp_format_find(fmt, NULL) == -1);
	decode_all(fmt, rec, rlen);
	/* the same record cut short: every bound moves */
	decode_all(fmt, rec, rlen / 2);
	decode_all(fmt, rec, 0);
	kp_format_free(fmt);
out:
	free(text);
	free(rec);
	return 0;
}
