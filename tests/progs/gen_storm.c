// SPDX-License-Identifier: MIT
/*
 * gen_storm - a time-bounded storm of getppid() system calls that counts
 *             its own calls exactly, then a storm of getpid() calls that
 *             lasts until it is told to stop.
 *
 * Usage: gen_storm SECS PIDFILE
 *
 *   SECS     how long phase 1 lasts, in seconds (1 to 3600)
 *   PIDFILE  the process writes its pid there (one line, then the file is
 *            closed) before anything else
 *
 * Order of events:
 *
 *   1. write PIDFILE, then read one byte from stdin: the go signal (EOF or
 *      a read error count as go too), so a test can attach its probes for
 *      this pid first;
 *   2. phase 1: syscall(SYS_getppid) in a tight loop for SECS seconds
 *      (the time is read every 1024 calls through clock_gettime, which is
 *      the vDSO on x86-64: no system call), then print "getppid N" on
 *      stdout and flush it: N is exactly the number of getppid() calls the
 *      process made, ever;
 *   3. phase 2: syscall(SYS_getpid) in a tight loop until SIGINT or SIGTERM
 *      (or at most 120 s), then print "getpid M": M getpid() calls made in
 *      phase 2 (libc start-up may have made others before; phase 2 is there
 *      to keep a storm going while a tracer stops, not to be counted).
 *
 * A SIGINT or SIGTERM in phase 1 ends it early: "getppid N" (still exact)
 * and "interrupted" are printed, and phase 2 is skipped. The signal handler
 * only sets a flag, checked before each call, so a count never misses or
 * adds a call however the signal lands. No other getppid() call is made
 * anywhere: the first phase's events of this pid are exactly N.
 *
 * Exit status: 0, 1 if PIDFILE cannot be written, 2 on a usage error.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long long n1 = 0, n2 = 0;
	struct sigaction sa;
	double end;
	char *endp, c;
	long secs;
	FILE *f;

	if (argc != 3)
		goto usage;
	secs = strtol(argv[1], &endp, 10);
	if (*argv[1] == '\0' || *endp != '\0' || secs < 1 || secs > 3600)
		goto usage;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	f = fopen(argv[2], "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f))
		return 1;
	/* Any byte, EOF or an error all mean "go". */
	(void)!read(STDIN_FILENO, &c, 1);

	end = now_s() + (double)secs;
	while (!stop) {
		syscall(SYS_getppid);
		n1++;
		if ((n1 & 1023) == 0 && now_s() >= end)
			break;
	}
	printf("getppid %llu\n", n1);
	if (stop) {
		printf("interrupted\n");
		return 0;
	}
	fflush(stdout);

	end = now_s() + 120.0;
	while (!stop) {
		syscall(SYS_getpid);
		n2++;
		if ((n2 & 1023) == 0 && now_s() >= end)
			break;
	}
	printf("getpid %llu\n", n2);
	return 0;

usage:
	fprintf(stderr, "usage: gen_storm SECS PIDFILE\n");
	return 2;
}
