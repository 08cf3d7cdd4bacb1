// SPDX-License-Identifier: MIT
/*
 * The ftrace sub-buffer reader: kp_ftrace_records() over any bytes as one
 * page (the kernel writes it; kbuffer trusts its header), then each record
 * it made parsed back by kp_perf_parse(). A header that claims more than
 * the page, an event longer than what is left, a time extend at the end:
 * none may read outside the page or write outside the output.
 *
 * Input: byte 0: the event type kept; byte 1: the output's size in 256-byte
 * units (at least one record's worth); then the page, at most 4096 bytes.
 */
#include <linux/perf_event.h>

#include "kp_ftrace.h"
#include "kp_item.h"
#include "kp_perf_parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap, plen, done = 0;
	unsigned char *page, *out;
	int at = 0, calls = 0, owner;

	if (size < 2)
		return 0;
	cap = ((size_t)data[1] + 18) * 256; /* a 4096-byte event fits */
	plen = size - 2 > 4096 ? 4096 : size - 2;
	page = (unsigned char *)fz_dup(data + 2, plen, 0);
	out = malloc(cap);
	FZ_CHECK(out);
	while (at >= 0 && calls++ < 10000) {
		size_t n = kp_ftrace_records(page, plen, data[0], 2, &at, out, cap);

		FZ_CHECK(n <= cap);
		for (size_t off = 0; off < n;) {
			const struct perf_event_header *h = (const void *)(out + off);
			struct kp_item it;

			FZ_CHECK(h->size >= 8 && !(h->size & 7) && off + h->size <= n);
			FZ_CHECK(kp_perf_parse(h, &owner, 0, kp_perf_time(h), &it) == 0);
			FZ_CHECK(it.type == KP_ITEM_SAMPLE || it.type == KP_ITEM_LOST);
			if (it.type == KP_ITEM_SAMPLE)
				fz_touch(it.sample.raw, it.sample.raw_size);
			off += h->size;
		}
		done += n;
	}
	FZ_CHECK(at < 0); /* every page ends */
	(void)done;
	free(out);
	free(page);
	return 0;
}
