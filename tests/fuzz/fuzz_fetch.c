// SPDX-License-Identifier: MIT
/*
 * kp_fetch_parse() of any text, from a buffer of exactly its length and a
 * NUL. What it accepts prints (kp_fetch_format) as text that parses back
 * to the same tree; what it refuses names a position inside the text and
 * says why; kp_fetch_check() takes any parsed tree in every context.
 */
#include <errno.h>

#include "kp_fetch.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_dup(data, size, 1), buf[4096];
	struct kp_fetch f, again;
	struct kp_fetch_error e;
	size_t len = strlen(text);
	int n;

	if (kp_fetch_parse(text, &f, &e)) {
		FZ_CHECK(e.pos <= len && e.msg[0]);
		free(text);
		return 0;
	}
	FZ_CHECK(f.nderef >= 0 && f.nderef <= KP_FETCH_MAX_DEREF);
	FZ_CHECK(f.type.array <= KP_FETCH_MAX_ARRAY);
	n = kp_fetch_format(&f, buf, sizeof(buf));
	FZ_CHECK(n > 0 && (size_t)n < sizeof(buf) && strlen(buf) == (size_t)n);
	FZ_CHECK(kp_fetch_parse(buf, &again, &e) == 0);
	FZ_CHECK(!memcmp(&f, &again, sizeof(f)));
	for (int c = KP_FETCH_CTX_KPROBE; c <= KP_FETCH_CTX_EVENT; c++) {
		if (kp_fetch_check(&f, (enum kp_fetch_ctx)c, &e))
			FZ_CHECK(e.msg[0]);
	}
	free(text);
	return 0;
}
