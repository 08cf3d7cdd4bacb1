// SPDX-License-Identifier: MIT
/*
 * gen_steady N USEC [PIDFILE]: N getppid() system calls, USEC microseconds
 * apart: a steady event stream for tests that change something while
 * events flow (live reload). Writes its pid to PIDFILE first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n, usec;

	if (argc < 3) {
		fprintf(stderr, "usage: gen_steady N USEC [PIDFILE]\n");
		return 2;
	}
	n = strtol(argv[1], NULL, 10);
	usec = strtol(argv[2], NULL, 10);
	if (argc > 3) {
		FILE *f = fopen(argv[3], "w");

		if (!f)
			return 1;
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	for (long i = 0; i < n; i++) {
		syscall(SYS_getppid);
		if (usec)
			usleep((useconds_t)usec);
	}
	return 0;
}
