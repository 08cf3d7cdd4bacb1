// SPDX-License-Identifier: MIT
/*
 * Unit test of host/kp_comm.c, the tid -> comm table: set/get, fork, exit
 * with its grace period, growth, tombstone reuse, and seeding from /proc.
 *
 * The table's memory is measured through the sanitizer allocator (the unit
 * tests are built with ASan); without it that one check is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kp_comm.h"
#include "kp_procfs.h"
#include "t.h"

extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static struct kp_comm *new_table(void)
{
	struct kp_comm *c = kp_comm_new();

	if (!c) {
		printf("not ok - kp_comm_new failed\n");
		exit(1);
	}
	return c;
}

static void test_set_get(void)
{
	struct kp_comm *c = new_table();

	T_OK(kp_comm_get(c, 101) == NULL, "set/get: unknown tid gives NULL");
	T_EQ_INT(kp_comm_pid(c, 101), -1, "set/get: pid of an unknown tid is -1");
	T_EQ_UINT(kp_comm_size(c), 0, "set/get: a new table is empty");
	kp_comm_set(c, 100, 101, "foo");
	T_EQ_STR(kp_comm_get(c, 101), "foo", "set/get: comm as set");
	T_EQ_INT(kp_comm_pid(c, 101), 100, "set/get: pid as set");
	T_EQ_UINT(kp_comm_size(c), 1, "set/get: one entry");
	kp_comm_set(c, 100, 101, "bar");
	T_EQ_STR(kp_comm_get(c, 101), "bar", "set/get: set again renames");
	T_EQ_UINT(kp_comm_size(c), 1, "set/get: renaming adds no entry");
	kp_comm_set(c, 200, 202, "abcdefghijklmnopqrstuvwxyz");
	T_EQ_STR(kp_comm_get(c, 202), "abcdefghijklmno", "set/get: a long name cut to 15 chars");
	kp_comm_set(c, 300, 303, "");
	T_EQ_STR(kp_comm_get(c, 303), "", "set/get: an empty name is a known entry");
	T_EQ_STR(kp_comm_get(c, 101), "bar", "set/get: other entries untouched");
	T_EQ_UINT(kp_comm_size(c), 3, "set/get: three entries");
	kp_comm_set(c, 0, 0, "swapper/0");
	kp_comm_set(c, -1, -5, "neg");
	T_EQ_UINT(kp_comm_size(c), 3, "set/get: tid 0 and negative tids are not stored");
	/* tid 0 (the idle task) is never stored: the table has no comm for it */
	T_OK(kp_comm_get(c, 0) == NULL, "set/get: kp_comm_get(tid 0) is NULL (got %s%s%s)",
	     kp_comm_get(c, 0) ? "\"" : "", kp_comm_get(c, 0) ? kp_comm_get(c, 0) : "NULL",
	     kp_comm_get(c, 0) ? "\"" : "");
	T_EQ_INT(kp_comm_pid(c, 0), -1, "set/get: kp_comm_pid(tid 0) is -1");
	T_OK(kp_comm_get(c, -5) == NULL, "set/get: kp_comm_get of a negative tid is NULL");
	kp_comm_free(c);
}

static void test_fork(void)
{
	struct kp_comm *c = new_table();

	kp_comm_set(c, 100, 101, "parent");
	kp_comm_fork(c, 100, 102, 101); /* a thread */
	kp_comm_fork(c, 103, 103, 101); /* a process */
	T_EQ_STR(kp_comm_get(c, 102), "parent", "fork: new thread has its parent's comm");
	T_EQ_INT(kp_comm_pid(c, 102), 100, "fork: new thread's pid");
	T_EQ_STR(kp_comm_get(c, 103), "parent", "fork: new process has its parent's comm");
	T_EQ_INT(kp_comm_pid(c, 103), 103, "fork: new process's pid is its own");
	kp_comm_set(c, 100, 101, "renamed");
	T_EQ_STR(kp_comm_get(c, 102), "parent", "fork: a copy, not changed by the parent's rename");
	kp_comm_fork(c, 200, 201, 999);
	T_EQ_STR(kp_comm_get(c, 201), "", "fork: from an unknown parent: known, empty name");
	T_EQ_UINT(kp_comm_size(c), 4, "fork: four entries");
	kp_comm_free(c);
}

static void test_exit_expire(void)
{
	struct kp_comm *c = new_table();

	kp_comm_set(c, 1, 11, "eleven");
	kp_comm_set(c, 1, 12, "twelve");
	kp_comm_set(c, 1, 13, "thirteen");
	kp_comm_set(c, 1, 14, "fourteen");
	kp_comm_exit(c, 11, 500);
	kp_comm_exit(c, 12, 0); /* no time: still expires */
	kp_comm_exit(c, 13, 700);
	kp_comm_exit(c, 999, 500); /* unknown: no effect */
	T_EQ_STR(kp_comm_get(c, 11), "eleven", "exit: still present after exit, before expire");
	T_EQ_UINT(kp_comm_size(c), 4, "exit: exit alone removes nothing");
	kp_comm_exit(c, 11, 900); /* a second EXIT does not push the time back */
	kp_comm_expire(c, 500);
	T_EQ_STR(kp_comm_get(c, 11), "eleven", "expire: expire(500) keeps an exit at 500");
	T_OK(kp_comm_get(c, 12) == NULL, "expire: expire(500) drops the exit with time 0");
	kp_comm_expire(c, 501);
	T_OK(kp_comm_get(c, 11) == NULL, "expire: expire(501) drops the exit at 500");
	T_EQ_INT(kp_comm_pid(c, 11), -1, "expire: pid of an expired tid is -1");
	T_EQ_STR(kp_comm_get(c, 13), "thirteen", "expire: the exit at 700 stays");
	T_EQ_STR(kp_comm_get(c, 14), "fourteen", "expire: a live entry stays");
	T_EQ_UINT(kp_comm_size(c), 2, "expire: two entries left");
	/* a tid reused (set again) before its expiry is alive again */
	kp_comm_set(c, 2, 13, "reborn");
	kp_comm_expire(c, 100000);
	T_EQ_STR(kp_comm_get(c, 13), "reborn", "expire: a tid set again after exit is not expired");
	/* an expired tid can come back */
	kp_comm_set(c, 3, 11, "again");
	T_EQ_STR(kp_comm_get(c, 11), "again", "expire: an expired tid can be set again");
	T_EQ_INT(kp_comm_pid(c, 11), 3, "expire: with its new pid");
	T_EQ_UINT(kp_comm_size(c), 3, "expire: three entries");
	kp_comm_free(c);
}

static void test_growth(void)
{
	enum { N = 100000 };
	struct kp_comm *c = new_table();
	char name[16];
	uint32_t wrong = 0, wrong_pid = 0, missing = 0;

	for (int32_t t = 1; t <= N; t++) {
		snprintf(name, sizeof(name), "t%d", t);
		kp_comm_set(c, t / 4 + 1, t, name);
	}
	T_EQ_UINT(kp_comm_size(c), N, "growth: 100000 entries after 100000 sets");
	for (int32_t t = 1; t <= N; t++) {
		const char *got = kp_comm_get(c, t);

		snprintf(name, sizeof(name), "t%d", t);
		if (!got)
			missing++;
		else if (strcmp(got, name))
			wrong++;
		if (kp_comm_pid(c, t) != t / 4 + 1)
			wrong_pid++;
	}
	T_EQ_UINT(missing, 0, "growth: every one of 100000 tids found");
	T_EQ_UINT(wrong, 0, "growth: every one with its own comm");
	T_EQ_UINT(wrong_pid, 0, "growth: every one with its own pid");
	T_OK(kp_comm_get(c, N + 1) == NULL, "growth: a tid never set is still unknown");
	kp_comm_free(c);

	/* scattered tids (large, colliding low bits) */
	c = new_table();
	wrong = missing = 0;
	for (int32_t i = 0; i < 20000; i++)
		kp_comm_set(c, 1, (int32_t)((i * 4096 + 7) & 0x3fffffff) + 1, "s");
	for (int32_t i = 0; i < 20000; i++)
		if (!kp_comm_get(c, (int32_t)((i * 4096 + 7) & 0x3fffffff) + 1))
			missing++;
	T_EQ_UINT(missing, 0, "growth: 20000 tids that are multiples of 4096 apart all found");
	T_EQ_UINT(kp_comm_size(c), 20000, "growth: 20000 entries");
	kp_comm_free(c);
}

/*
 * Threads come and go: insert, exit, expire many times. Tombstones must be
 * reused or swept, so the table stays small and lookups stay right.
 */
static void test_tombstones(void)
{
	enum { KEEP = 50, BATCH = 100, CYCLES = 2000 };
	struct kp_comm *c = new_table();
	char name[16];
	uint32_t wrong = 0, lingering = 0, bad_size = 0, bad_keep = 0;
	size_t mem0 = 0, mem1 = 0;
	uint64_t now = 1;

	for (int32_t t = 1; t <= KEEP; t++) {
		snprintf(name, sizeof(name), "keep%d", t);
		kp_comm_set(c, 1, t, name);
	}
	for (int cyc = 0; cyc < CYCLES; cyc++) {
		/* half the cycles use fresh tids, half reuse the same ones */
		int32_t base = (cyc & 1) ? 1000000 + cyc * BATCH : 5000;

		if (cyc == 20 && __sanitizer_get_current_allocated_bytes)
			mem0 = __sanitizer_get_current_allocated_bytes();
		for (int32_t i = 0; i < BATCH; i++) {
			snprintf(name, sizeof(name), "c%d.%d", cyc, i);
			kp_comm_set(c, 2, base + i, name);
		}
		for (int32_t i = 0; i < BATCH; i++) {
			const char *got = kp_comm_get(c, base + i);

			snprintf(name, sizeof(name), "c%d.%d", cyc, i);
			if (!got || strcmp(got, name))
				wrong++;
			kp_comm_exit(c, base + i, now);
		}
		if (kp_comm_size(c) != KEEP + BATCH)
			bad_size++;
		kp_comm_expire(c, ++now);
		for (int32_t i = 0; i < BATCH; i++)
			if (kp_comm_get(c, base + i))
				lingering++;
		if (kp_comm_size(c) != KEEP)
			bad_size++;
	}
	if (__sanitizer_get_current_allocated_bytes)
		mem1 = __sanitizer_get_current_allocated_bytes();
	for (int32_t t = 1; t <= KEEP; t++) {
		snprintf(name, sizeof(name), "keep%d", t);
		if (!kp_comm_get(c, t) || strcmp(kp_comm_get(c, t), name))
			bad_keep++;
	}
	T_EQ_UINT(wrong, 0, "tombstones: every insert found with its name, 2000 cycles");
	T_EQ_UINT(lingering, 0, "tombstones: every expired tid gone after its expire");
	T_EQ_UINT(bad_size, 0, "tombstones: kp_comm_size() exact at every step");
	T_EQ_UINT(bad_keep, 0, "tombstones: 50 long-lived tids still right after 200000 churns");
	if (__sanitizer_get_current_allocated_bytes)
		T_OK(mem1 < mem0 + 256 * 1024,
		     "tombstones: memory bounded over 1980 cycles (grew %zd bytes, want < 256 KiB)",
		     (ssize_t)(mem1 - mem0));
	else
		printf("skip - tombstones: memory bound: not built with a sanitizer allocator\n");
	kp_comm_free(c);
}

/*
 * Removing an entry must not cut the probe chain of entries that collided
 * with it: tids a multiple of 65536 apart share their low bits (and so, for
 * a table of up to 65536 slots, their home slot under the multiplicative
 * hash); every other one expires, every remaining one must still be found.
 */
static void test_expire_in_chain(void)
{
	static const struct {
		const char *name;
		int32_t step;
	} kinds[] = { { "collide", 65536 }, { "sequential", 1 } };

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct kp_comm *c = new_table();
		uint32_t lost = 0, kept = 0;
		char name[16], what[128];

		for (int32_t i = 0; i < 2000; i++) {
			snprintf(name, sizeof(name), "x%d", i);
			kp_comm_set(c, 1, 7 + i * kinds[k].step, name);
		}
		for (int32_t i = 0; i < 2000; i += 2)
			kp_comm_exit(c, 7 + i * kinds[k].step, 10);
		kp_comm_expire(c, 11);
		for (int32_t i = 0; i < 2000; i++) {
			const char *got = kp_comm_get(c, 7 + i * kinds[k].step);

			snprintf(name, sizeof(name), "x%d", i);
			if (i & 1)
				lost += !got || strcmp(got, name);
			else
				kept += got != NULL;
		}
		snprintf(what, sizeof(what),
			 "chain %s: the kept half still found after the other expires",
			 kinds[k].name);
		T_EQ_UINT(lost, 0, what);
		snprintf(what, sizeof(what), "chain %s: the expired half gone", kinds[k].name);
		T_EQ_UINT(kept, 0, what);
		snprintf(what, sizeof(what), "chain %s: 1000 entries left", kinds[k].name);
		T_EQ_UINT(kp_comm_size(c), 1000, what);
		/* and entries set again into the holes are found too */
		for (int32_t i = 0; i < 2000; i += 2)
			kp_comm_set(c, 1, 7 + i * kinds[k].step, "back");
		lost = 0;
		for (int32_t i = 0; i < 2000; i++)
			lost += kp_comm_get(c, 7 + i * kinds[k].step) == NULL;
		snprintf(what, sizeof(what),
			 "chain %s: all 2000 found after the expired half is set again",
			 kinds[k].name);
		T_EQ_UINT(lost, 0, what);
		snprintf(what, sizeof(what), "chain %s: 2000 entries, no duplicates",
			 kinds[k].name);
		T_EQ_UINT(kp_comm_size(c), 2000, what);
		kp_comm_free(c);
	}
}

static int read_comm(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

struct thr {
	int up[2], down[2];
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	int32_t tid = (int32_t)syscall(SYS_gettid);
	char c;

	prctl(PR_SET_NAME, "kp_seed_thr", 0, 0, 0);
	if (write(t->up[1], &tid, sizeof(tid)) != sizeof(tid))
		return NULL;
	if (read(t->down[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

static void test_seed(void)
{
	struct kp_comm *c = new_table();
	char want[32];
	struct thr t;
	pthread_t th;
	int32_t tid = -1;
	bool thread_up;
	int n;

	if (read_comm("/proc/self/comm", want, sizeof(want))) {
		T_OK(0, "seed: read /proc/self/comm: %s", strerror(errno));
		kp_comm_free(c);
		return;
	}
	if (pipe(t.up) || pipe(t.down)) {
		T_OK(0, "seed: pipe: %s", strerror(errno));
		kp_comm_free(c);
		return;
	}
	thread_up = pthread_create(&th, NULL, thread_main, &t) == 0 &&
		    read(t.up[0], &tid, sizeof(tid)) == sizeof(tid);
	T_OK(thread_up, "seed: a helper thread named kp_seed_thr runs");
	n = kp_procfs_seed_comm(c);
	T_OK(n > 0, "seed: kp_procfs_seed_comm seeds processes (got %d)", n);
	T_EQ_UINT(kp_comm_size(c), (unsigned)n, "seed: one entry per process seeded");
	T_EQ_STR(kp_comm_get(c, getpid()), want, "seed: own comm found under getpid()");
	T_EQ_INT(kp_comm_pid(c, getpid()), getpid(), "seed: own pid recorded for the main thread");
	/* threads are not seeded one by one: the host looks them up on first sight */
	if (thread_up) {
		T_OK(kp_comm_get(c, tid) == NULL, "seed: a non-main thread is not seeded");
		T_EQ_INT(kp_comm_pid(c, tid), -1, "seed: nor its pid");
	}
	if (write(t.down[1], "x", 1) != 1)
		T_OK(0, "seed: release helper thread");
	if (thread_up)
		pthread_join(th, NULL);
	close(t.up[0]);
	close(t.up[1]);
	close(t.down[0]);
	close(t.down[1]);
	kp_comm_free(c);
}

int main(void)
{
	alarm(20); /* a hang is a failure */
	test_set_get();
	test_fork();
	test_exit_expire();
	test_growth();
	test_tombstones();
	test_expire_in_chain();
	test_seed();
	return T_DONE();
}
