// SPDX-License-Identifier: MIT
/*
 * kp_maps_parse() of /proc/PID/maps text (a traced process chooses its
 * file names, spaces, newlines as "\012" and " (deleted)" included), the
 * binary search kp_maps_find(), and kp_usym_format() of the frames
 * user stacks print.
 *
 * Input: the maps text, then optionally a NUL byte and 8-byte little-endian
 * addresses to look up.
 */
#include <errno.h>
#include <inttypes.h>

#include "kp_usym.h"
#include "fuzz.h"

/* kp_usym_format() into a buffer of exactly @len bytes */
static void format(const struct kp_usym_frame *f, uint64_t addr, size_t len)
{
	char *buf = malloc(len ? len : 1);
	int n;

	if (!buf)
		abort();
	n = kp_usym_format(f, addr, buf, len);
	FZ_CHECK(n == -ENOSPC || (n >= 0 && (size_t)n < len && strlen(buf) == (size_t)n));
	if (len)
		FZ_CHECK(memchr(buf, '\0', len));
	free(buf);
}

static void lookup(const struct kp_maps *m, uint64_t addr)
{
	const struct kp_map *hit = kp_maps_find(m, addr);
	struct kp_usym_frame f = { 0 };

	if (hit) {
		FZ_CHECK(hit->start <= addr && addr < hit->end);
		f.file = hit->path;
		f.off = addr - hit->start + hit->pgoff;
	} else {
		/* no mapping holds it: check them all, for a short text */
		for (size_t i = 0; i < kp_maps_count(m) && i < 64; i++) {
			const struct kp_map *x = kp_maps_get(m, i);

			/* overlapping mappings may hide one another; the kernel
			 * never writes them */
			if (i + 1 < kp_maps_count(m) && x->end > kp_maps_get(m, i + 1)->start)
				break;
			FZ_CHECK(addr < x->start || addr >= x->end);
		}
	}
	format(&f, addr, 256);
	format(&f, addr, 1 + (size_t)(addr % 24));
	f.sym = f.file ? "sym" : NULL;
	format(&f, addr, 1 + (size_t)(addr % 7));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	const uint8_t *q = nul ? nul + 1 : NULL;
	size_t qlen = nul ? size - tlen - 1 : 0;
	char *text = fz_dup(data, tlen, 0);
	struct kp_maps *m;
	size_t n;

	m = kp_maps_parse(text, tlen);
	if (!m) {
		FZ_CHECK(errno == ENOMEM);
		free(text);
		return 0;
	}
	n = kp_maps_count(m);
	FZ_CHECK(kp_maps_get(m, n) == NULL);
	for (size_t i = 0; i < n; i++) {
		const struct kp_map *x = kp_maps_get(m, i);

		FZ_CHECK(x && x->start < x->end && x->path);
		FZ_CHECK(x->path[0] == '/' || x->path[0] == '[');
		FZ_CHECK(!strchr(x->path, '\n'));
		if (i)
			FZ_CHECK(kp_maps_get(m, i - 1)->start <= x->start);
		if (i < 64) {
			lookup(m, x->start);
			lookup(m, x->end - 1);
			lookup(m, x->end);
		}
	}
	for (; q && qlen >= 8; q += 8, qlen -= 8)
		lookup(m, fz_le(q, 8));
	lookup(m, 0);
	lookup(m, UINT64_MAX);
	kp_maps_free(m);
	free(text);
	return 0;
}
