// SPDX-License-Identifier: MIT
/*
 * setids - walk through known credential changes, as root.
 *
 * Usage: setids
 *
 * Each step is one setresgid/setresuid system call, so one commit_creds()
 * in the kernel, with distinct values so that every id of struct cred can
 * be told apart:
 *
 *   1 setresgid(2000, 2001, 2002)  gid 2000 egid 2001 sgid 2002 (fsgid 2001)
 *   2 setresuid(1000, 1001, 0)     uid 1000 euid 1001 suid 0    (fsuid 1001)
 *   3 setresuid(-1, 0, -1)         euid 0 again (allowed: suid is 0): fsuid 0
 *   4 setresuid(0, 0, 0)           uid 0
 *   5 setresgid(0, 0, 0)           gid egid sgid fsgid 0
 *
 * Output, on stdout: "pid PID", then per step "step N CALL R E S RC" (RC 0
 * or -errno), then "ids UID EUID SUID GID EGID SGID" at the end.
 *
 * Exit status: 0 when every step succeeded, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static int bad;

static void step(int n, const char *call, int (*fn)(unsigned int, unsigned int, unsigned int),
		 int r, int e, int s)
{
	int rc = fn((unsigned int)r, (unsigned int)e, (unsigned int)s) == 0 ? 0 : -errno;

	printf("step %d %s %d %d %d %d\n", n, call, r, e, s, rc);
	fflush(stdout);
	if (rc)
		bad = 1;
}

static int do_setresuid(unsigned int r, unsigned int e, unsigned int s)
{
	return setresuid(r, e, s);
}

static int do_setresgid(unsigned int r, unsigned int e, unsigned int s)
{
	return setresgid(r, e, s);
}

int main(void)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	step(1, "setresgid", do_setresgid, 2000, 2001, 2002);
	step(2, "setresuid", do_setresuid, 1000, 1001, 0);
	step(3, "setresuid", do_setresuid, -1, 0, -1);
	step(4, "setresuid", do_setresuid, 0, 0, 0);
	step(5, "setresgid", do_setresgid, 0, 0, 0);
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	printf("ids %u %u %u %u %u %u\n", ru, eu, su, rg, eg, sg);
	return bad;
}
