// SPDX-License-Identifier: MIT
/*
 * /proc (see kp_procfs.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kp_comm.h"
#include "kp_proc.h"
#include "kp_procfs.h"

/* A /proc directory name as a pid, or -1 for the other entries. */
static int32_t kp_parse_pid(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 0x7fffffff / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v > 0 && v <= 0x7fffffff ? (int32_t)v : -1;
}

int kp_procfs_each_pid(void (*fn)(void *arg, int32_t pid), void *arg)
{
	struct dirent *d;
	DIR *dir;
	int n = 0;

	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		int32_t pid = kp_parse_pid(d->d_name);

		if (pid > 0) {
			fn(arg, pid);
			n++;
		}
	}
	closedir(dir);
	return n;
}

ssize_t kp_procfs_read(int32_t pid, const char *file, char *buf, size_t len)
{
	char path[96];
	size_t got = 0;
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

ssize_t kp_procfs_readlink(int32_t pid, const char *file, char *buf, size_t len)
{
	char path[96];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	n = readlink(path, buf, len);
	if (n < 0)
		return -errno;
	if ((size_t)n == len)
		return -ENAMETOOLONG; /* readlink(2) truncates silently */
	return n;
}

static uint64_t kp_ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

void kp_procfs_clock(uint64_t *tick_ns, uint64_t *boot_minus_mono_ns)
{
	struct timespec mono, boot;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t best = UINT64_MAX;

	*tick_ns = hz > 0 ? 1000000000ull / (uint64_t)hz : 10000000ull;
	/* MONOTONIC first: each offset comes out no smaller than the true one
	 * (so a start moved from /proc is never later than the kernel's), by
	 * the time between the two reads; the least of three is the closest */
	for (int i = 0; i < 3; i++) {
		clock_gettime(CLOCK_MONOTONIC, &mono);
		clock_gettime(CLOCK_BOOTTIME, &boot);
		if (kp_ts_ns(&boot) - kp_ts_ns(&mono) < best)
			best = kp_ts_ns(&boot) - kp_ts_ns(&mono);
	}
	*boot_minus_mono_ns = best;
}

static ssize_t kp_src_read(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	(void)ctx;
	return kp_procfs_read(pid, file, buf, len);
}

static ssize_t kp_src_readlink(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	(void)ctx;
	return kp_procfs_readlink(pid, file, buf, len);
}

static int kp_src_each_pid(void *ctx, void (*fn)(void *arg, int32_t pid), void *arg)
{
	(void)ctx;
	return kp_procfs_each_pid(fn, arg);
}

static void kp_src_clock(void *ctx, uint64_t *tick_ns, uint64_t *boot_minus_mono_ns)
{
	(void)ctx;
	kp_procfs_clock(tick_ns, boot_minus_mono_ns);
}

const struct kp_proc_source kp_procfs_source = {
	.read = kp_src_read,
	.readlink = kp_src_readlink,
	.each_pid = kp_src_each_pid,
	.clock = kp_src_clock,
};

struct kp_comm_seed {
	struct kp_comm *c;
	int n;
};

static void kp_seed_comm_one(void *arg, int32_t pid)
{
	struct kp_comm_seed *s = arg;
	char comm[KP_COMM_LEN + 2];
	ssize_t len = kp_procfs_read(pid, "comm", comm, sizeof(comm) - 1);

	if (len <= 0)
		return; /* it exited while we looked */
	comm[len] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	kp_comm_set(s->c, pid, pid, comm);
	s->n++;
}

int kp_procfs_seed_comm(struct kp_comm *c)
{
	struct kp_comm_seed s = { .c = c };
	int err;

	/* one read per process, not per thread: start-up stays flat on hosts
	 * with thousands of threads */
	err = kp_procfs_each_pid(kp_seed_comm_one, &s);
	return err < 0 ? err : s.n;
}
