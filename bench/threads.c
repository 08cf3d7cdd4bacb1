// SPDX-License-Identifier: MIT
/*
 * threads: park N idle threads for SECS seconds, so that start-time
 * measurements can be repeated on a machine with many tasks (anything that
 * walks /proc/PID/task at start pays per thread).
 *
 *   threads N SECS
 *
 * Prints "ready N" on stdout (flushed) once every thread runs, then sleeps
 * and exits; the threads block in a condition wait and use no CPU.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *park(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;)
		pthread_cond_wait(&never, &lock);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	struct timespec ts;
	long n, i;
	double secs;
	char *e;

	if (argc != 3) {
		fprintf(stderr, "usage: threads N SECS\n");
		return 2;
	}
	n = strtol(argv[1], &e, 10);
	if (*e || n < 0) {
		fprintf(stderr, "threads: bad N '%s'\n", argv[1]);
		return 2;
	}
	secs = strtod(argv[2], &e);
	if (*e || !(secs > 0)) {
		fprintf(stderr, "threads: bad SECS '%s'\n", argv[2]);
		return 2;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < n; i++) {
		pthread_t t;
		int err = pthread_create(&t, &attr, park, NULL);

		if (err) {
			fprintf(stderr, "threads: thread %ld: %s\n", i, strerror(err));
			break;
		}
	}
	printf("ready %ld\n", i);
	fflush(stdout);
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	return 0;
}
