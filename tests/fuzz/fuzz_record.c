// SPDX-License-Identifier: MIT
/*
 * A recording read as --replay and --dump read one: kp_rec_open() over the
 * bytes, kp_rec_next() to the end or the first error, each probe's format
 * compiled with kp_format_parse(), each sample's raw data decoded field by
 * field with it, and each callchain split as ev.stack splits it. The file
 * is untrusted input (docs/RECORD_FORMAT.md).
 *
 * Input: the file's bytes.
 */
#include <errno.h>
#include <stdbool.h>

#include "kp_err.h"
#include "kp_decode.h"
#include "kp_format.h"
#include "kp_record.h"
#include "kp_perf_parse.h"
#include "fuzz.h"

/* formats compiled, by probe id; a real replay keeps every one */
#define MAX_FMT 32

struct probe_fmt {
	uint32_t id;
	struct kp_format *fmt;
};

/* [p, p + n) lies inside [base, base + len) */
static bool inside(const void *p, size_t n, const uint8_t *base, size_t len)
{
	const uint8_t *c = p;

	return c >= base && n <= len && (size_t)(c - base) <= len - n;
}

static void decode_sample(const struct kp_format *fmt, const void *raw, size_t len)
{
	for (size_t i = 0; i < kp_format_nfields(fmt); i++) {
		struct kp_value v;

		if (kp_field_decode(kp_format_field(fmt, i), raw, len, &v))
			continue;
		if (v.type == KP_VAL_STR || v.type == KP_VAL_BYTES)
			FZ_CHECK(v.len == 0 || inside(v.ptr, v.len, raw, len));
		else if (v.type == KP_VAL_ARRAY)
			FZ_CHECK(inside(v.ptr, v.len * v.elem_size, raw, len));
	}
}

static void split_chain(const void *chain, uint32_t n)
{
	static uint64_t ips[KP_REC_MAX_CHAIN], kernel[KP_STACK_MAX], user[KP_STACK_MAX];
	uint16_t nk, nu;

	FZ_CHECK(n <= KP_REC_MAX_CHAIN);
	/* as the replay does: unaligned in the file, copied out first */
	memcpy(ips, chain, 8 * (size_t)n);
	kp_stack_split(ips, n, kernel, &nk, user, &nu);
	FZ_CHECK(nk <= KP_STACK_MAX && nu <= KP_STACK_MAX && (size_t)nk + nu <= n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = (uint8_t *)fz_dup(data, size, 0);
	struct probe_fmt fmts[MAX_FMT];
	size_t nfmt = 0;
	struct kp_rec_reader *r;
	struct kp_rec_item it;
	uint64_t last = 0;
	char err[256];
	int rc, items = 0;

	err[0] = '\0';
	errno = 0;
	r = kp_rec_open(buf, size, err, sizeof(err));
	if (!r) {
		FZ_CHECK(errno == EBADMSG || errno == ENOTSUP || errno == ENOMEM);
		FZ_CHECK(strstr(err, "byte ") != NULL);
		free(buf);
		return 0;
	}
	FZ_CHECK(strlen(kp_rec_get_header(r)->host) <= KP_REC_MAX_HOST);
	FZ_CHECK(strlen(kp_rec_get_header(r)->release) <= KP_REC_MAX_HOST);
	while ((rc = kp_rec_next(r, &it)) > 0) {
		/* items come in file order, each from inside the file */
		FZ_CHECK(it.offset < size || (items == 0 && it.offset == 0));
		FZ_CHECK(items == 0 || it.offset > last);
		FZ_CHECK((items == 0) == (it.type == KP_REC_HEADER));
		last = it.offset;
		items++;
		switch (it.type) {
		case KP_REC_PROBE:
			FZ_CHECK(it.probe.id < KP_REC_MAX_PROBES);
			FZ_CHECK(it.probe.name_len > 0 &&
				 inside(it.probe.name, it.probe.name_len, buf, size));
			FZ_CHECK(inside(it.probe.def, it.probe.def_len, buf, size));
			FZ_CHECK(inside(it.probe.format, it.probe.format_len, buf, size));
			FZ_CHECK(!memchr(it.probe.name, 0, it.probe.name_len));
			FZ_CHECK(!memchr(it.probe.format, 0, it.probe.format_len));
			if (nfmt < MAX_FMT) {
				struct kp_format *f =
				    kp_format_parse(it.probe.format, it.probe.format_len, "replay");

				if (f)
					fmts[nfmt++] = (struct probe_fmt){ it.probe.id, f };
			}
			break;
		case KP_REC_SAMPLE:
			FZ_CHECK(it.sample.raw_len <= KP_REC_MAX_RAW);
			FZ_CHECK(inside(it.sample.raw, it.sample.raw_len, buf, size));
			for (size_t i = 0; i < nfmt; i++)
				if (fmts[i].id == it.sample.probe_id)
					decode_sample(fmts[i].fmt, it.sample.raw,
						      it.sample.raw_len);
			if (it.sample.nchain) {
				FZ_CHECK(inside(it.sample.chain, 8 * (size_t)it.sample.nchain, buf,
						size));
				split_chain(it.sample.chain, it.sample.nchain);
			}
			break;
		case KP_REC_TASK:
			FZ_CHECK(it.task.type == KP_REC_TASK_COMM ||
				 it.task.type == KP_REC_TASK_FORK ||
				 it.task.type == KP_REC_TASK_EXIT);
			FZ_CHECK(it.task.comm_len <= KP_REC_MAX_COMM &&
				 inside(it.task.comm, it.task.comm_len, buf, size));
			FZ_CHECK(!memchr(it.task.comm, 0, it.task.comm_len));
			break;
		case KP_REC_HEADER:
		case KP_REC_LOST:
		case KP_REC_END:
			break;
		default:
			FZ_CHECK(!"unknown item type");
		}
	}
	if (rc < 0) {
		/* a clean error naming the offset, and sticky */
		FZ_CHECK(rc == -EBADMSG);
		FZ_CHECK(strstr(kp_rec_error(r), "byte ") != NULL);
		FZ_CHECK(kp_rec_next(r, &it) == rc);
	} else {
		FZ_CHECK(kp_rec_next(r, &it) == 0);
	}
	for (size_t i = 0; i < nfmt; i++)
		kp_format_free(fmts[i].fmt);
	kp_rec_free(r);
	free(buf);
	return 0;
}
