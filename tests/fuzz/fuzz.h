/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer targets in tests/fuzz (README.md there). Each
 * target defines LLVMFuzzerTestOneInput(); a crash, a sanitizer report, a
 * leak or a failed FZ_CHECK() is a finding.
 */
#ifndef KP_FUZZ_H
#define KP_FUZZ_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the code under test promises; abort() makes it a finding. */
#define FZ_CHECK(cond)                                                                           \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

/*
 * @len bytes in a heap block of exactly that size (one byte more, a NUL,
 * when @nul): ASan then reports any read past them. Never NULL.
 */
static inline char *fz_dup(const void *p, size_t len, int nul)
{
	char *s = malloc(len + (nul ? 1 : 0) + (len == 0 && !nul));

	if (!s)
		abort();
	if (len)
		memcpy(s, p, len);
	if (nul)
		s[len] = '\0';
	return s;
}

/*
 * Cut [*@p, *@p + *@left) at the next @sep: the piece before it is returned
 * (its length in *@n) and *@p, *@left move past the separator. Without one,
 * the rest is the piece. Return NULL when nothing is left.
 */
static inline const uint8_t *fz_cut(const uint8_t **p, size_t *left, const char *sep, size_t *n)
{
	const uint8_t *s = *p, *hit;
	size_t sl = strlen(sep);

	if (!s)
		return NULL;
	hit = memmem(s, *left, sep, sl);
	if (!hit) {
		*n = *left;
		*p = NULL;
		*left = 0;
		return s;
	}
	*n = (size_t)(hit - s);
	*p = hit + sl;
	*left -= *n + sl;
	return s;
}

/* Read an unaligned little-endian value of @n bytes (at most 8). */
static inline uint64_t fz_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/*
 * tests/fixtures: $KP_FIXTURE_ROOT, else from the working directory (the
 * repository root, as make runs it), else ../../tests/fixtures from the
 * binary (build/fuzz/fuzz_NAME).
 */
static inline void fz_fixture_root(const char *argv0, char *out, size_t len)
{
	const char *env = getenv("KP_FIXTURE_ROOT");
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return;
	}
	if (access("tests/fixtures/README.md", R_OK) == 0 || !slash) {
		snprintf(out, len, "tests/fixtures");
		return;
	}
	snprintf(out, len, "%.*s/../../tests/fixtures", (int)(slash - argv0), argv0);
}

/* Sum of the bytes: reading every byte of a value lets ASan check it. */
static inline unsigned int fz_touch(const void *p, size_t len)
{
	const volatile unsigned char *c = p;
	unsigned int s = 0;

	for (size_t i = 0; i < len; i++)
		s += c[i];
	return s;
}

#endif
