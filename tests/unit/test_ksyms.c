// SPDX-License-Identifier: MIT
/* kp_ksyms: parsing /proc/kallsyms text, lookups, close names. */
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

	ks = kp_ksyms_parse(strdup(""));
	T_OK(ks && kp_ksyms_count(ks) == 0 && !kp_ksyms_has(ks, "x"), "parse: empty text");
	kp_ksyms_free(ks);

	ks = kp_ksyms_load();
	if (ks) {
		T_OK(kp_ksyms_count(ks) > 1000, "load: /proc/kallsyms has many functions (%zu)",
		     kp_ksyms_count(ks));
		T_OK(kp_ksyms_has(ks, "commit_creds"), "load: commit_creds is a kernel function");
		kp_ksyms_free(ks);
	} else {
		printf("skip - load: /proc/kallsyms unreadable\n");
	}
	return T_DONE();
}
