// SPDX-License-Identifier: MIT
/*
 * gen_getppid - make an exact number of getppid() system calls.
 *
 * Usage: gen_getppid [wait] N [PIDFILE]
 *
 *   wait     read one byte from stdin before the first getppid() call (after
 *            writing PIDFILE), so that a test can learn the pid and attach
 *            its probes first; EOF or a read error count as the go signal too
 *   N        number of getppid() calls (>= 0)
 *   PIDFILE  if given, the process writes its pid there (one line, then
 *            the file is closed) before waiting and before its first
 *            getppid() call, so a test can count the events of exactly this
 *            process
 *
 * Every call goes through syscall(SYS_getppid): no libc may cache or elide
 * it, so syscalls:sys_enter_getppid fires exactly N times for this pid.
 * Apart from those N calls the program makes no getppid() call at all.
 *
 * Exit status: 0, 1 if PIDFILE cannot be written, 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	volatile long sink = 0;
	int wait = 0, argi = 1;
	char *end;
	long n;

	if (argi < argc && strcmp(argv[argi], "wait") == 0) {
		wait = 1;
		argi++;
	}
	if (argc - argi < 1 || argc - argi > 2)
		goto usage;
	n = strtol(argv[argi], &end, 10);
	if (*argv[argi] == '\0' || *end != '\0' || n < 0 || n > 1000000000L)
		goto usage;
	if (++argi < argc) {
		FILE *f = fopen(argv[argi], "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
			perror(argv[argi]);
			return 1;
		}
	}
	if (wait) {
		char c;

		(void)!read(STDIN_FILENO, &c, 1);
	}
	for (long i = 0; i < n; i++)
		sink += syscall(SYS_getppid);
	return 0;
usage:
	fprintf(stderr, "usage: gen_getppid [wait] N [PIDFILE]\n");
	return 2;
}
