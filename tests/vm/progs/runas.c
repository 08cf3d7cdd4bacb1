// SPDX-License-Identifier: MIT
/*
 * runas - give up root (all of it, or all but the effective uid), then
 * execute a program.
 *
 * Usage: runas [-a] [-t] MODE PATH [ARG...]
 *
 *   MODE  "user": setgroups(0), setresgid(1000, 1000, 1000),
 *                 setresuid(1000, 1000, 1000): uid, euid, suid, fsuid 1000
 *         "fs":   setgroups(0), setresgid(1000, 1000, 1000),
 *                 setresuid(1000, 0, 0), setfsuid(1000): uid 1000, euid 0,
 *                 suid 0, fsuid 1000 (an exec makes fsuid = euid = 0)
 *   -a    then access("/", F_OK): a prepare_creds() of the main thread
 *         that no commit_creds() follows
 *   -t    execute PATH from a second thread, not the main one (the kernel
 *         gives the executing thread the main thread's pid: de_thread)
 *
 * None of the id changes gains anything: every id only goes from 0 to 1000.
 * Then execv(PATH, [PATH, ARG...]).
 *
 * Output, on stdout: "pid PID", "runas MODE UID EUID SUID FSUID GID EGID
 * SGID" (the ids before the exec), "exec TID PATH" (TID of the executing
 * thread).
 *
 * Exit status: that of PATH; 1 if an id change fails; 127 if execv fails;
 * 2 on a usage error.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

static char **args;

static void *run(void *unused)
{
	(void)unused;
	printf("exec %ld %s\n", (long)syscall(SYS_gettid), args[0]);
	fflush(stdout);
	execv(args[0], args);
	printf("execv %s: %s\n", args[0], strerror(errno));
	fflush(stdout);
	_exit(127);
}

int main(int argc, char **argv)
{
	int thread = 0, acc = 0, i = 1;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	const char *mode;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-t"))
			thread = 1;
		else if (!strcmp(argv[i], "-a"))
			acc = 1;
		else
			break;
	}
	if (argc - i < 2 || (strcmp(argv[i], "user") && strcmp(argv[i], "fs"))) {
		fprintf(stderr, "usage: runas [-a] [-t] user|fs PATH [ARG...]\n");
		return 2;
	}
	mode = argv[i];
	args = argv + i + 1;
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	if (setgroups(0, NULL) || setresgid(1000, 1000, 1000)) {
		perror("runas: setgroups/setresgid");
		return 1;
	}
	if (!strcmp(mode, "user")) {
		if (setresuid(1000, 1000, 1000)) {
			perror("runas: setresuid");
			return 1;
		}
	} else {
		if (setresuid(1000, 0, 0)) {
			perror("runas: setresuid");
			return 1;
		}
		setfsuid(1000);
	}
	if (acc)
		access("/", F_OK);
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	/* setfsuid with an invalid id changes nothing and returns the current one */
	printf("runas %s %u %u %u %d %u %u %u\n", mode, ru, eu, su, setfsuid((uid_t)-1), rg, eg, sg);
	fflush(stdout);
	if (thread) {
		pthread_t t;

		if (pthread_create(&t, NULL, run, NULL)) {
			fprintf(stderr, "runas: pthread_create failed\n");
			return 1;
		}
		pthread_join(t, NULL); /* the exec ends this thread */
		return 127;
	}
	run(NULL);
	return 127;
}
