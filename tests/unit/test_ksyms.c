// SPDX-License-Identifier: MIT
/* kp_ksyms: parsing /proc/kallsyms text, lookups, close names. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kp_ksyms.h"
#include "t.h"

static const char fixture[] = "ffffffff81000000 T _stext\n"
			      "ffffffff81001000 T do_sys_openat2\n"
			      "ffffffff81002000 t do_sys_open\n"
			      "ffffffff81003000 W weak_fn\n"
			      "ffffffff81004000 D some_data\n"
			      "ffffffff81005000 t do_execveat_common.isra.0\n"
			      "ffffffff81006000 T commit_creds\n"
			      "ffffffffc0001000 t ext4_fill_super\t[ext4]\n"
			      "ffffffffc0002000 t shared_name\t[modA]\n"
			      "ffffffffc0003000 t shared_name\t[modB]\n"
			      "ffffffff81007000 r rodata_sym\n"
			      "garbage line\n"
			      "ffffffff81008000 T\n";

/* Aliases, in an order that a first-wins or last-wins pick would get wrong. */
static const char aliases[] = "ffffffff81000000 t zeta_local\n"
			      "ffffffff81000000 T srso_alias_untrain_ret\n"
			      "ffffffff81000000 T _text\n"
			      "ffffffff81000000 T _stext\n"
			      "ffffffff81000000 t a_local\n"
			      "ffffffff81000100 w weak_local\n"
			      "ffffffff81000100 W weak_global\n"
			      "ffffffff81000100 t b_local\n"
			      "ffffffff81000200 w y_weak\n"
			      "ffffffff81000200 w x_weak\n";

/* kallsyms read without CAP_SYSLOG under kptr_restrict */
static const char hidden[] = "0000000000000000 T _stext\n"
			     "0000000000000000 T do_sys_openat2\n"
			     "0000000000000000 t ext4_fill_super\t[ext4]\n";

/* A malloc'd copy of @text with its lines in reverse order. */
static char *reversed(const char *text)
{
	size_t len = strlen(text), at = 0;
	char *out = malloc(len + 1);
	const char *end = text + len;

	if (!out)
		return NULL;
	while (end > text) {
		const char *start = end - 1;

		while (start > text && start[-1] != '\n')
			start--;
		memcpy(out + at, start, (size_t)(end - start));
		at += (size_t)(end - start);
		end = start;
	}
	out[at] = '\0';
	return out;
}

/* kp_ksyms_addr() of @addr is @name in @module (NULL: core) at @off. */
static void addr_is(const struct kp_ksyms *ks, uint64_t addr, const char *name, const char *module,
		    uint64_t off, const char *what)
{
	const char *n = NULL, *m = "unset";
	uint64_t o = UINT64_MAX;
	int err = kp_ksyms_addr(ks, addr, &n, &m, &o);

	T_OK(err == 0 && n && !strcmp(n, name) && (module ? m && !strcmp(m, module) : m == NULL) &&
		 o == off,
	     "addr: %s (0x%" PRIx64 " -> %d %s [%s] +0x%" PRIx64 ")", what, addr, err,
	     n ? n : "(null)", m ? m : "core", o);
}

static void addr_none(const struct kp_ksyms *ks, uint64_t addr, const char *what)
{
	const char *n = NULL;
	int err = kp_ksyms_addr(ks, addr, &n, NULL, NULL);

	T_OK(err == -ENOENT, "addr: %s (0x%" PRIx64 " -> %d %s)", what, addr, err,
	     n ? n : "(null)");
}

static void test_addr(void)
{
	struct kp_ksyms *ks = kp_ksyms_parse(strdup(fixture));
	uint64_t off = 0;
	const char *name = NULL, *mod = NULL;

	T_OK(ks != NULL, "addr: fixture parses");
	if (!ks)
		return;
	addr_is(ks, 0xffffffff81001000, "do_sys_openat2", NULL, 0, "exact address");
	addr_is(ks, 0xffffffff81001234, "do_sys_openat2", NULL, 0x234, "inside a function");
	addr_is(ks, 0xffffffff81001fff, "do_sys_openat2", NULL, 0xfff, "last byte before the next");
	addr_is(ks, 0xffffffff81002000, "do_sys_open", NULL, 0, "a local function");
	addr_is(ks, 0xffffffff81003010, "weak_fn", NULL, 0x10, "a weak function");
	addr_is(ks, 0xffffffff81004010, "weak_fn", NULL, 0x1010,
		"data symbols are no bounds (only functions are indexed)");
	addr_is(ks, 0xffffffffc0001010, "ext4_fill_super", "ext4", 0x10, "a module function");
	addr_is(ks, 0xffffffffc0002000, "shared_name", "modA", 0, "a name in two modules, first");
	addr_is(ks, 0xffffffffc0003008, "shared_name", "modB", 8, "a name in two modules, second");
	addr_none(ks, 0xffffffff80ffffff, "before the first symbol: -ENOENT");
	addr_none(ks, 0, "address 0: -ENOENT");
	addr_is(ks, 0xffffffffc0102fff, "shared_name", "modB", 0xfffff,
		"after the last: within 1 MiB");
	addr_none(ks, 0xffffffffc0103000, "after the last: 1 MiB past it, -ENOENT");
	addr_none(ks, 0xffffffff81106000, "a gap after a function: 1 MiB past it, -ENOENT");
	addr_none(ks, UINT64_MAX, "the top address: -ENOENT");
	T_EQ_INT(kp_ksyms_addr(ks, 0xffffffff81006001, NULL, NULL, NULL), 0,
		 "addr: NULL outputs are allowed");
	T_OK(kp_ksyms_addr(ks, 0xffffffff81006001, &name, &mod, &off) == 0 &&
		 !strcmp(name, "commit_creds") && !mod && off == 1,
	     "addr: and change nothing else");
	kp_ksyms_free(ks);

	ks = kp_ksyms_parse(strdup(aliases));
	T_OK(ks != NULL, "addr: aliases parse");
	if (!ks)
		return;
	addr_is(ks, 0xffffffff81000000, "_stext", NULL, 0,
		"aliases: global first, then the smallest name");
	addr_is(ks, 0xffffffff81000010, "_stext", NULL, 0x10, "aliases: inside, the same one");
	addr_is(ks, 0xffffffff81000100, "weak_global", NULL, 0, "aliases: W before t and w (no T)");
	addr_is(ks, 0xffffffff81000204, "x_weak", NULL, 4, "aliases: two w, the smallest name");
	kp_ksyms_free(ks);

	/* the same lines backwards: out of address order, so sorted */
	ks = kp_ksyms_parse(reversed(aliases));
	T_OK(ks != NULL, "addr: aliases backwards parse");
	if (!ks)
		return;
	addr_is(ks, 0xffffffff81000000, "_stext", NULL, 0, "aliases backwards: the same pick");
	addr_is(ks, 0xffffffff81000100, "weak_global", NULL, 0, "aliases backwards: W again");
	addr_is(ks, 0xffffffff81000204, "x_weak", NULL, 4, "aliases backwards: x_weak again");
	addr_is(ks, 0xffffffff810001ff, "weak_global", NULL, 0xff,
		"aliases backwards: bounded by the next address");
	kp_ksyms_free(ks);

	ks = kp_ksyms_parse(strdup(hidden));
	T_OK(ks && kp_ksyms_count(ks) == 3 && kp_ksyms_has(ks, "do_sys_openat2"),
	     "hidden: names still index without addresses");
	if (!ks)
		return;
	addr_none(ks, 0, "hidden: address 0 never matches");
	addr_none(ks, 0x10, "hidden: a small address never matches");
	addr_none(ks, 0xffffffff81001000, "hidden: a kernel address never matches");
	kp_ksyms_free(ks);
}

/* The real table: a function's own address gives it back. */
static void test_addr_live(struct kp_ksyms *ks)
{
	char line[512];
	FILE *f = fopen("/proc/kallsyms", "r");
	uint64_t addr = 0;
	int checked = 0, bad = 0;

	if (!f) {
		printf("skip - addr: /proc/kallsyms unreadable\n");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char type, name[256];
		const char *got = NULL;
		uint64_t off = 1;

		if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, name) != 3 ||
		    strcmp(name, "commit_creds"))
			continue;
		if (addr == 0)
			break;
		checked++;
		if (kp_ksyms_addr(ks, addr + 4, &got, NULL, &off) || strcmp(got, name) || off != 4)
			bad++;
	}
	fclose(f);
	if (!checked || addr == 0)
		printf("skip - addr: commit_creds address hidden or absent\n");
	else
		T_OK(!bad, "addr: commit_creds+4 in /proc/kallsyms names it (%d of %d)",
		     checked - bad, checked);
}

int main(void)
{
	struct kp_ksyms *ks = kp_ksyms_parse(strdup(fixture));
	char buf[256];
	int n;

	T_OK(ks != NULL, "parse: fixture parses");
	if (!ks)
		return 1;
	/* 9 function symbols: T, t, W, t (isra), T, t [ext4], 2x shared_name */
	T_EQ_UINT(kp_ksyms_count(ks), 8 + 1, "parse: only text/weak symbols are kept");
	T_OK(kp_ksyms_has(ks, "do_sys_openat2"), "has: a global function");
	T_OK(kp_ksyms_has(ks, "do_sys_open"), "has: a local function");
	T_OK(kp_ksyms_has(ks, "weak_fn"), "has: a weak function");
	T_OK(!kp_ksyms_has(ks, "some_data"), "has: data symbols are not probe targets");
	T_OK(!kp_ksyms_has(ks, "rodata_sym"), "has: read-only data is not either");
	T_OK(kp_ksyms_has(ks, "do_execveat_common.isra.0"),
	     "has: a compiler clone by its full name");
	T_OK(!kp_ksyms_has(ks, "do_sys_opena"), "has: no prefix matches");
	T_OK(kp_ksyms_has(ks, "ext4_fill_super"), "has: a module function by name");
	T_OK(kp_ksyms_has(ks, "ext4:ext4_fill_super"), "has: MODULE:SYMBOL in its module");
	T_OK(!kp_ksyms_has(ks, "xfs:ext4_fill_super"), "has: MODULE:SYMBOL in another module");
	T_OK(kp_ksyms_has(ks, "modB:shared_name"), "has: a name in two modules, the second");
	T_OK(kp_ksyms_has(ks, "modA:shared_name"), "has: a name in two modules, the first");
	T_OK(!kp_ksyms_has(ks, "modC:shared_name"), "has: a name in two modules, neither");

	{
		uint64_t a = 0;

		T_OK(kp_ksyms_lookup(ks, "commit_creds", &a) == 0 && a == 0xffffffff81006000,
		     "lookup: a function's address (0x%" PRIx64 ")", a);
		T_OK(kp_ksyms_lookup(ks, "ext4:ext4_fill_super", &a) == 0 &&
			 a == 0xffffffffc0001000,
		     "lookup: MODULE:SYMBOL");
		T_EQ_INT(kp_ksyms_lookup(ks, "shared_name", &a), -ENOTUNIQ,
			 "lookup: a name at two addresses is not unique");
		T_OK(kp_ksyms_lookup(ks, "modB:shared_name", &a) == 0 && a == 0xffffffffc0003000,
		     "lookup: but MODULE:SYMBOL picks one");
		T_EQ_INT(kp_ksyms_lookup(ks, "some_data", &a), -ENOENT,
			 "lookup: data is no function");
		T_EQ_INT(kp_ksyms_lookup(ks, "xfs:ext4_fill_super", &a), -ENOENT,
			 "lookup: MODULE:SYMBOL in another module");
	}

	n = kp_ksyms_near(ks, "do_sys_opnat2", buf, sizeof(buf), 3);
	T_OK(n >= 1 && !strncmp(buf, "do_sys_openat2", 14),
	     "near: a typo finds the name first (%s)", buf);
	n = kp_ksyms_near(ks, "commit_cred", buf, sizeof(buf), 3);
	T_OK(n >= 1 && strstr(buf, "commit_creds"), "near: a missing letter (%s)", buf);
	n = kp_ksyms_near(ks, "do_execveat_common", buf, sizeof(buf), 3);
	T_OK(!strstr(buf, ".isra"), "near: compiler clones are not suggested (%s)", buf);
	n = kp_ksyms_near(ks, "zzzzzzzzzz", buf, sizeof(buf), 3);
	T_EQ_INT(n, 0, "near: nothing close, nothing suggested");
	T_EQ_STR(buf, "", "near: and the buffer is empty");
	n = kp_ksyms_near(ks, "ext4:ext4_fill_supr", buf, sizeof(buf), 3);
	T_OK(n >= 1 && !strcmp(buf, "ext4_fill_super"), "near: MODULE: is ignored (%s)", buf);
	kp_ksyms_free(ks);

	{
		struct kp_ksyms *h = kp_ksyms_parse(strdup(hidden));
		uint64_t a;

		T_EQ_INT(h ? kp_ksyms_lookup(h, "do_sys_openat2", &a) : 0, -EPERM,
			 "lookup: addresses hidden by kptr_restrict");
		kp_ksyms_free(h);
	}
	ks = kp_ksyms_parse(strdup(""));
	T_OK(ks && kp_ksyms_count(ks) == 0 && !kp_ksyms_has(ks, "x"), "parse: empty text");
	kp_ksyms_free(ks);

	test_addr();

	ks = kp_ksyms_load();
	if (ks) {
		T_OK(kp_ksyms_count(ks) > 1000, "load: /proc/kallsyms has many functions (%zu)",
		     kp_ksyms_count(ks));
		T_OK(kp_ksyms_has(ks, "commit_creds"), "load: commit_creds is a kernel function");
		test_addr_live(ks);
		kp_ksyms_free(ks);
	} else {
		printf("skip - load: /proc/kallsyms unreadable\n");
	}
	return T_DONE();
}
