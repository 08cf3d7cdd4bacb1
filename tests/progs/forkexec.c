// SPDX-License-Identifier: MIT
/*
 * forkexec - fork N children one after another; each execs PROG.
 *
 * Usage: forkexec N [PROG]
 *
 *   N     number of children (>= 0)
 *   PROG  the program each child execs with no arguments (default /bin/true)
 *
 * For each child, in turn: fork(); the child execs PROG at once; the parent
 * waits for it before forking the next. The parent prints each child's pid,
 * one per line, after that child has been reaped. So every child goes
 * through sched_process_fork, sched_process_exec, sched_process_exit in
 * that order, and no two children are alive at the same time.
 *
 * Exit status: 0; 1 if a fork fails or a child does not exit with status 0
 * (e.g. PROG could not be executed: the child then exits 127); 2 on a usage
 * error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *prog = "/bin/true";
	int bad = 0;
	char *end;
	long n;

	if (argc < 2 || argc > 3)
		goto usage;
	n = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || n < 0 || n > 1000000L)
		goto usage;
	if (argc == 3)
		prog = argv[2];
	for (long i = 0; i < n; i++) {
		int status;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			execl(prog, prog, (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			bad = 1;
		printf("%d\n", (int)pid);
	}
	fflush(stdout);
	return bad;
usage:
	fprintf(stderr, "usage: forkexec N [PROG]\n");
	return 2;
}
