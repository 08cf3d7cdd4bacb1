// SPDX-License-Identifier: MIT
/*
 * showids - print the process's ids; to be run as a setuid-root copy.
 *
 * Usage: showids [root]
 *
 * Output, on stdout: "pid PID", then "ids UID EUID SUID FSUID GID EGID SGID
 * FSGID". With "root": then setresuid(0, 0, 0) (what su and sudo do after
 * their setuid-root exec: the real uid becomes 0 too), "root RC" (0 or
 * -errno) and the ids again.
 *
 * Exit status: 0; 1 if "root" was asked and setresuid failed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <unistd.h>

static void ids(void)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	/* an invalid id changes nothing and returns the current one */
	int fu = setfsuid((uid_t)-1), fg = setfsgid((gid_t)-1);

	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	printf("ids %u %u %u %d %u %u %u %d\n", ru, eu, su, fu, rg, eg, sg, fg);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int rc = 0;

	printf("pid %d\n", (int)getpid());
	ids();
	if (argc > 1 && !strcmp(argv[1], "root")) {
		rc = setresuid(0, 0, 0) ? -errno : 0;
		printf("root %d\n", rc);
		ids();
	}
	return rc ? 1 : 0;
}
