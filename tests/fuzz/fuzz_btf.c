// SPDX-License-Identifier: MIT
/*
 * The BTF path compiler: kp_btf_fetch() turning a script's argument
 * expression ("param->member.sub", "$retval->m") into a kprobe fetch
 * argument, kp_btf_proto() and kp_btf_member(), against the fixture
 * tests/fixtures/btf/kpbtf.btf (its README.md lists what it holds). The
 * expression comes from a script; the BTF is the kernel's and not fuzzed.
 *
 * Input: byte 0 picks the function (bit 7: a return probe) or, past the
 * fixture's functions, takes its name from the input up to the first NUL;
 * byte 1 picks the output buffer sizes (0: kp_host's sizes); the rest is
 * the expression (and the member path of kp_btf_member()).
 */
#include <errno.h>
#include <stdbool.h>

#include "kp_btf.h"
#include "fuzz.h"

#define MAX_FUNCS 64

static struct kp_btf *btf;
static char *funcs[MAX_FUNCS];
static size_t nfuncs;

static const char *const structs[] = { "kp_all",  "kp_node",   "kp_bits",	"kp_packed",
				       "kp_pair", "kp_triple", "no_such_struct" };

static int add_func(const char *name, void *ctx)
{
	(void)ctx;
	if (nfuncs < MAX_FUNCS)
		funcs[nfuncs++] = strdup(name);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char root[PATH_MAX], path[PATH_MAX + 32];

	(void)argc;
	fz_fixture_root((*argv)[0], root, sizeof(root));
	snprintf(path, sizeof(path), "%s/btf/kpbtf.btf", root);
	btf = kp_btf_load_file(path);
	if (!btf) {
		fprintf(stderr, "fuzz_btf: cannot load %s (set KP_FIXTURE_ROOT)\n", path);
		exit(2);
	}
	kp_btf_each_func(btf, add_func, NULL);
	if (!nfuncs) {
		fprintf(stderr, "fuzz_btf: %s has no functions\n", path);
		exit(2);
	}
	return 0;
}

/* A malloc'd buffer of exactly @len bytes, filled with junk. */
static char *out_buf(size_t len)
{
	char *b = malloc(len);

	if (!b)
		abort();
	memset(b, 'Z', len);
	return b;
}

static void check_str(const char *s, size_t len)
{
	FZ_CHECK(memchr(s, '\0', len) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* name, fetch, err: kp_host's sizes, then small ones that truncate */
	static const size_t sizes[][3] = { { 128, 1024, 2048 }, { 1, 1, 1 },	 { 2, 8, 16 },
					   { 16, 16, 64 },	{ 64, 40, 300 }, { 5, 3, 2 } };
	const size_t *sz;
	char *func, *expr, *name, *fetch, *err, *proto;
	size_t pick, plen;
	bool ret;
	int rc;

	if (size < 2)
		return 0;
	ret = data[0] & 0x80;
	pick = data[0] & 0x7f;
	sz = sizes[data[1] % (sizeof(sizes) / sizeof(sizes[0]))];
	data += 2;
	size -= 2;
	if (pick < nfuncs) {
		func = strdup(funcs[pick]);
	} else {
		const uint8_t *nul = memchr(data, '\0', size);
		size_t n = nul ? (size_t)(nul - data) : size;

		func = fz_dup(data, n, 1);
		data += nul ? n + 1 : n;
		size -= nul ? n + 1 : n;
	}
	expr = fz_dup(data, size, 1);
	name = out_buf(sz[0]);
	fetch = out_buf(sz[1]);
	err = out_buf(sz[2]);

	rc = kp_btf_fetch(btf, func, ret, expr, name, sz[0], fetch, sz[1], err, sz[2]);
	check_str(err, sz[2]);
	if (rc == 0) {
		check_str(name, sz[0]);
		check_str(fetch, sz[1]);
		/* a fetch argument is one word of printable text */
		for (const char *c = fetch; *c; c++)
			FZ_CHECK(*c > ' ' && *c < 0x7f);
		if (sz[1] >= 1024)
			FZ_CHECK(fetch[0] != '\0');
	} else {
		FZ_CHECK(rc < 0 && rc > -4096);
		/* every refusal says why (kp_host shows it to the user) */
		if (sz[2] >= 2048)
			FZ_CHECK(err[0] != '\0');
	}

	plen = 1 + (size_t)(sz[1] % 257);
	proto = out_buf(plen);
	rc = kp_btf_proto(btf, func, proto, plen);
	if (rc == 0)
		check_str(proto, plen);

	{
		size_t off = 0, msize = 0;
		const char *s = structs[(size_t)data[-1] % (sizeof(structs) / sizeof(structs[0]))];

		rc = kp_btf_member(btf, s, expr, &off, &msize);
		FZ_CHECK(rc == 0 || rc == -ENOENT || rc == -ESRCH || rc == -EINVAL);
	}

	free(proto);
	free(err);
	free(fetch);
	free(name);
	free(expr);
	free(func);
	return 0;
}
