// SPDX-License-Identifier: MIT
/*
 * kp_btf against this machine's /sys/kernel/btf/vmlinux, every offset
 * cross-checked with `bpftool btf dump ... format raw` (a different reader
 * of the same BTF).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_btf.h"
#include "t.h"

/* bits_offset of @member in struct @strct per bpftool, or -1. */
static long bpftool_offset(const char *strct, const char *member, int *bitfield)
{
	char cmd[256], line[512], head[128], want[128];
	long off = -1;
	int in = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "bpftool btf dump file /sys/kernel/btf/vmlinux format raw 2>/dev/null");
	snprintf(head, sizeof(head), "STRUCT '%s' ", strct);
	snprintf(want, sizeof(want), "\t'%s' ", member);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '[') {
			if (in)
				break;
			in = strstr(line, head) != NULL;
			continue;
		}
		if (in && !strncmp(line, want, strlen(want))) {
			char *b = strstr(line, "bits_offset=");

			off = b ? strtol(b + 12, NULL, 10) : -1;
			*bitfield = strstr(line, "bitfield_size=") != NULL;
			break;
		}
	}
	pclose(f);
	return off;
}

int main(void)
{
	static const char *const ids[] = { "usage", "uid",  "gid",   "suid",  "sgid",
					   "euid",  "egid", "fsuid", "fsgid", "securebits" };
	struct kp_btf *b;
	size_t off = 0, size = 0;
	int bf = 0;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		printf("skip - btf: this kernel has no /sys/kernel/btf/vmlinux\n");
		return 0;
	}
	if (system("bpftool version >/dev/null 2>&1")) {
		printf(
		    "not ok - btf: bpftool is needed to cross-check (apt-get install bpftool)\n");
		return 1;
	}
	b = kp_btf_load();
	T_OK(b != NULL, "btf: the kernel's BTF loads");
	if (!b)
		return 1;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		long want = bpftool_offset("cred", ids[i], &bf);
		int err = kp_btf_member(b, "cred", ids[i], &off, &size);

		T_OK(want >= 0, "btf: bpftool knows cred.%s", ids[i]);
		T_OK(!err && (long)off * 8 == want,
		     "btf: cred.%s at byte %zu, bpftool says bit %ld", ids[i], off, want);
	}
	T_OK(!kp_btf_member(b, "cred", "uid", &off, &size) && size == 4, "btf: kuid_t is 4 bytes");
	{
		size_t o2, s2;

		kp_btf_member(b, "cred", "euid", &off, &size);
		T_OK(!kp_btf_member(b, "cred", "euid.val", &o2, &s2) && o2 == off && s2 == 4,
		     "btf: a nested path through a typedef (euid.val at %zu)", o2);
	}
	T_EQ_INT(kp_btf_member(b, "no_such_struct_kp", "x", &off, &size), -ENOENT,
		 "btf: an unknown struct");
	T_EQ_INT(kp_btf_member(b, "cred", "no_such_member", &off, &size), -ESRCH,
		 "btf: an unknown member");
	T_EQ_INT(kp_btf_member(b, "cred", "uid.nope", &off, &size), -ESRCH,
		 "btf: an unknown member inside a nested struct");
	T_EQ_INT(kp_btf_member(b, "cred", "uid.val.deeper", &off, &size), -ESRCH,
		 "btf: a path through a scalar");
	{
		long want = bpftool_offset("task_struct", "sched_reset_on_fork", &bf);

		if (want >= 0 && bf)
			T_EQ_INT(kp_btf_member(b, "task_struct", "sched_reset_on_fork", &off,
					       &size),
				 -EINVAL, "btf: a bitfield is refused");
		else
			printf("skip - btf: task_struct.sched_reset_on_fork is no bitfield here\n");
	}
	kp_btf_free(b);
	return T_DONE();
}
