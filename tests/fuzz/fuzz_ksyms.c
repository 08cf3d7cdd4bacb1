// SPDX-License-Identifier: MIT
/*
 * kp_ksyms_parse() of /proc/kallsyms text, then the lookups kprobes and
 * kernel stacks make: kp_ksyms_has(), kp_ksyms_module(), kp_ksyms_addr()
 * and kp_ksyms_near(); and kp_feature_ksyms() on the same text, from a
 * buffer of exactly its length.
 *
 * Input: the kallsyms text, then optionally a NUL byte and the queries:
 * a name (up to the next NUL) and 8-byte little-endian addresses.
 */
#include <errno.h>

#include "kp_features.h"
#include "kp_ksyms.h"
#include "fuzz.h"

/* The kallsyms address of a line, for checking kp_ksyms_addr() on it. */
static uint64_t line_addr(const char *line)
{
	return strtoull(line, NULL, 16);
}

static void check_addr(const struct kp_ksyms *ks, uint64_t addr)
{
	const char *name = NULL, *module = NULL;
	uint64_t off = 0;
	char buf[160];

	if (kp_ksyms_addr(ks, addr, &name, &module, &off))
		return;
	/* a symbol holds at most 1 MiB after its address */
	FZ_CHECK(name && name[0] && off < (1u << 20) && off <= addr);
	/* (a ':' in a name reads as MOD:NAME; kallsyms has none) */
	if (!strchr(name, ':')) {
		FZ_CHECK(kp_ksyms_has(ks, name));
		/* the name as kprobes write it, MOD:NAME, finds the module */
		if (module && strlen(module) < 64 && !strchr(module, ':') &&
		    snprintf(buf, sizeof(buf), "%s:%s", module, name) < (int)sizeof(buf))
			FZ_CHECK(kp_ksyms_has(ks, buf));
	}
	/* the symbol's own address resolves to it */
	FZ_CHECK(kp_ksyms_addr(ks, addr - off, NULL, NULL, NULL) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	const uint8_t *q = nul ? nul + 1 : NULL;
	size_t qlen = nul ? size - tlen - 1 : 0, nlen;
	char *text = fz_dup(data, tlen, 1), *copy = fz_dup(data, tlen, 1), *name, *want;
	struct kp_ksyms *ks;
	char near[256];
	int n;

	/* kp_ksyms_parse() takes ownership of the text */
	ks = kp_ksyms_parse(text);
	if (!ks) {
		FZ_CHECK(errno == ENOMEM);
		free(copy);
		return 0;
	}
	FZ_CHECK(kp_ksyms_count(ks) <= tlen / 4 + 1);

	/* the query name, and every line's own address */
	if (q) {
		const uint8_t *end = memchr(q, '\0', qlen);

		nlen = end ? (size_t)(end - q) : qlen;
		name = fz_dup(q, nlen, 1);
		q += end ? nlen + 1 : nlen;
		qlen -= end ? nlen + 1 : nlen;
	} else {
		name = fz_dup("", 0, 1);
	}
	{
		uint64_t a = 0;
		int e = kp_ksyms_lookup(ks, name, &a);

		FZ_CHECK(e == 0 || e == -ENOENT || e == -ENOTUNIQ || e == -EPERM);
		/* a function with an address is one the table has */
		FZ_CHECK(e == -ENOENT || kp_ksyms_has(ks, name));
		if (!e)
			FZ_CHECK(a != 0);
	}
	kp_ksyms_has(ks, name);
	kp_ksyms_module(ks, name);
	n = kp_ksyms_near(ks, name, near, sizeof(near), 5);
	FZ_CHECK(n >= 0 && n <= 5 && memchr(near, '\0', sizeof(near)));
	/* a short buffer never gets a name cut short */
	want = malloc(7);
	if (!want)
		abort();
	n = kp_ksyms_near(ks, name, want, 7, 3);
	FZ_CHECK(n >= 0 && memchr(want, '\0', 7));
	free(want);

	for (char *line = copy, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		check_addr(ks, line_addr(line));
	}
	for (; qlen >= 8; q += 8, qlen -= 8)
		check_addr(ks, fz_le(q, 8));
	{
		const char *names[2] = { name, "ibt_selftest" };
		char *exact = malloc(tlen ? tlen : 1);
		bool found[2];

		if (!exact)
			abort();
		memcpy(exact, data, tlen);
		kp_feature_ksyms(exact, tlen, names, 2, found);
		/* a name with a blank, a dot or a newline is never a symbol */
		if (strpbrk(name, " .\t\n") || !name[0])
			FZ_CHECK(!found[0]);
		free(exact);
	}
	check_addr(ks, 0);
	check_addr(ks, UINT64_MAX);

	free(name);
	free(copy);
	kp_ksyms_free(ks);
	return 0;
}
