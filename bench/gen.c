// SPDX-License-Identifier: MIT
/*
 * gen: the getppid() load generator of the pipeline benchmark.
 *
 *   gen [-c CPU] [-o PATH] SECONDS     call getppid() for SECONDS (fractions allowed)
 *   gen [-c CPU] [-o PATH] -n COUNT    call getppid() COUNT times
 *
 * With -o PATH each call is openat(AT_FDCWD, PATH, O_RDONLY) instead (and
 * close() when it opened something): the load for fetch arguments that
 * read the path (bench/open.lua).
 *
 * Pins itself to CPU (default 0), calls syscall(SYS_getppid) in a loop and
 * prints "calls N secs S rate R" (R in calls per second) on stdout at the end,
 * then "gen_rusage user U sys S" (its own CPU seconds, so that a reader's CPU
 * time can be told apart from its -c child's).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *open_path;

static void one(void)
{
	if (open_path) {
		long fd = syscall(SYS_openat, AT_FDCWD, open_path, O_RDONLY);

		if (fd >= 0)
			close((int)fd);
		return;
	}
	syscall(SYS_getppid);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: gen [-c CPU] [-o PATH] SECONDS | gen [-c CPU] [-o PATH] -n COUNT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long count = 0, calls = 0;
	double secs = 0, start, end, elapsed;
	int cpu = 0, opt;
	char *e;
	cpu_set_t set;

	while ((opt = getopt(argc, argv, "c:n:o:")) != -1) {
		switch (opt) {
		case 'o':
			open_path = optarg;
			break;
		case 'c':
			cpu = (int)strtol(optarg, &e, 10);
			if (*e || cpu < 0 || cpu >= CPU_SETSIZE)
				usage();
			break;
		case 'n':
			count = strtoull(optarg, &e, 10);
			if (*e || !count)
				usage();
			break;
		default:
			usage();
		}
	}
	if (!count) {
		if (optind != argc - 1)
			usage();
		secs = strtod(argv[optind], &e);
		if (*e || !(secs > 0))
			usage();
	} else if (optind != argc) {
		usage();
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "gen: sched_setaffinity(CPU %d): %s\n", cpu, strerror(errno));
		return 1;
	}

	start = now_s();
	if (count) {
		for (calls = 0; calls < count; calls++)
			one();
		end = now_s();
	} else {
		double stop = start + secs;

		/* check the clock every 1024 calls: a vDSO read is ~20 ns,
		 * a traced getppid() several hundred */
		for (;;) {
			for (int i = 0; i < 1024; i++)
				one();
			calls += 1024;
			end = now_s();
			if (end >= stop)
				break;
		}
	}
	elapsed = end - start;
	printf("calls %llu secs %.6f rate %.0f\n", calls, elapsed,
	       elapsed > 0 ? (double)calls / elapsed : 0.0);
	{
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		printf("gen_rusage user %.3f sys %.3f\n",
		       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	}
	fflush(stdout);
	return 0;
}
