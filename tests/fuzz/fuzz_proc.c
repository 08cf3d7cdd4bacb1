// SPDX-License-Identifier: MIT
/*
 * The process table's /proc parsers (kp_proc.c: stat, status, exe,
 * cmdline, cgroup) through a fake /proc source, as a replay feeds them
 * from a recording's kpscript:proc-read samples; and kp_container_id() on
 * the cgroup text. A traced process chooses its comm, argv, exe path and
 * (in a container) much of its cgroup path.
 *
 * Input: sections separated by "\xff\xff": control bytes, then the text of
 * stat, status, exe (the link target), cmdline and cgroup. A missing
 * section reads as -ENOENT.
 */
#include <errno.h>
#include <sys/types.h>

#include "kp_proc.h"
#include "fuzz.h"

enum { S_CTL, S_STAT, S_STATUS, S_EXE, S_CMDLINE, S_CGROUP, S_N };

struct fake {
	const uint8_t *sec[S_N];
	size_t len[S_N];
	uint8_t ctl;
};

static int section(const char *file)
{
	static const char *const names[S_N] = { "", "stat", "status", "exe", "cmdline", "cgroup" };

	for (int i = 1; i < S_N; i++)
		if (!strcmp(file, names[i]))
			return i;
	return -1;
}

static ssize_t fake_get(struct fake *f, const char *file, char *buf, size_t len, int link)
{
	int s = section(file);

	if (s < 0 || !f->sec[s])
		return -ENOENT;
	if (s == S_STAT && (f->ctl & 1))
		return -ESRCH;
	if (link && f->len[s] >= len)
		return -ENAMETOOLONG;
	len = f->len[s] < len ? f->len[s] : len;
	memcpy(buf, f->sec[s], len);
	return (ssize_t)len;
}

static ssize_t fake_read(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	(void)pid;
	return fake_get(ctx, file, buf, len, 0);
}

static ssize_t fake_readlink(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	(void)pid;
	return fake_get(ctx, file, buf, len, 1);
}

static int fake_each(void *ctx, void (*fn)(void *arg, int32_t pid), void *arg)
{
	(void)ctx;
	for (int32_t pid = 1; pid <= 3; pid++)
		fn(arg, pid);
	return 3;
}

static void fake_clock(void *ctx, uint64_t *tick_ns, uint64_t *boot_minus_mono)
{
	struct fake *f = ctx;

	*tick_ns = (f->ctl & 2) ? 10000000 : 1 + (uint64_t)f->ctl * 977;
	*boot_minus_mono = (f->ctl & 4) ? UINT64_MAX / 2 : (uint64_t)f->ctl << 20;
}

static void check_proc(const struct kp_proc *p)
{
	uint32_t nuls = 0;

	if (!p)
		return;
	FZ_CHECK(!(p->known & ~(uint32_t)KP_PROC_ALL));
	FZ_CHECK(memchr(p->comm, '\0', sizeof(p->comm)));
	FZ_CHECK(p->exe && p->argv && p->cgroup && p->container_id);
	fz_touch(p->exe, strlen(p->exe));
	FZ_CHECK(p->argv_len <= KP_PROC_ARGV_MAX);
	for (uint32_t i = 0; i < p->argv_len; i++)
		nuls += p->argv[i] == '\0';
	FZ_CHECK(nuls == p->argc);
	FZ_CHECK(p->argv_len == 0 || p->argv[p->argv_len - 1] == '\0');
	fz_touch(p->cgroup, strlen(p->cgroup));
	FZ_CHECK(strlen(p->container_id) < 256);
}

/* kp_container_id() into buffers of exactly @len bytes */
static void container(const char *path, size_t len)
{
	char *out = malloc(len ? len : 1);
	int rc;

	if (!out)
		abort();
	rc = kp_container_id(path, out, len);
	FZ_CHECK(rc == 0 || rc == -ENOENT || rc == -ENOSPC || rc == -EINVAL);
	if (len)
		FZ_CHECK(memchr(out, '\0', len));
	if (rc == 0)
		FZ_CHECK(out[0] != '\0');
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake f = { 0 };
	struct kp_proc_source src = {
		.read = fake_read,
		.readlink = fake_readlink,
		.each_pid = fake_each,
		.clock = fake_clock,
		.ctx = &f,
	};
	const uint8_t *p = data;
	size_t left = size, n;
	struct kp_proc_table *t;
	const struct kp_proc *e;
	uint64_t now = 1000000000;

	for (int i = 0; i < S_N; i++) {
		const uint8_t *s = fz_cut(&p, &left, "\xff\xff", &n);

		if (!s)
			break;
		f.sec[i] = (const uint8_t *)fz_dup(s, n, 0);
		f.len[i] = n;
	}
	f.ctl = f.sec[S_CTL] && f.len[S_CTL] ? f.sec[S_CTL][0] : 0;

	t = kp_proc_new(4);
	FZ_CHECK(t);
	kp_proc_set_source(t, &src);

	/* a process learnt from /proc, its parent, a child that inherits */
	e = kp_proc_lookup(t, 100);
	check_proc(e);
	if (e)
		check_proc(kp_proc_parent(t, e));
	kp_proc_fork(t, 101, 100, 101, 100, now);
	check_proc(kp_proc_get(t, 101));
	/* an exec reads it all again, a rename changes the comm only */
	kp_proc_comm(t, 101, 101, "renamed-by-exec", true, now + 1);
	check_proc(kp_proc_get(t, 101));
	kp_proc_comm(t, 101, 101, "a comm longer than sixteen bytes", false, now + 2);
	check_proc(kp_proc_get(t, 101));
	/* the parent chain ends, whatever the ppids say */
	for (int i = 0; i < 8 && (e = kp_proc_get(t, 101)); i++)
		check_proc(kp_proc_parent(t, e));
	/* more pids than the cap: evictions; then exits and expiry */
	kp_proc_seed(t);
	for (int32_t pid = 200; pid < 206; pid++)
		check_proc(kp_proc_lookup(t, pid));
	kp_proc_exit(t, 101, 101, now + 3);
	check_proc(kp_proc_get(t, 101));
	kp_proc_expire(t, now + 4000000000ull, 1000000000ull);
	{
		size_t sz = 0, cap = 0;

		kp_proc_stats(t, &sz, NULL, &cap);
		FZ_CHECK(sz <= cap && cap == 4);
	}
	kp_proc_free(t);

	/* the cgroup section as one path */
	if (f.sec[S_CGROUP]) {
		char *path = fz_dup(f.sec[S_CGROUP], f.len[S_CGROUP], 1);

		container(path, 256);
		container(path, 1 + f.ctl % 70);
		container(path, 0);
		free(path);
	}
	for (int i = 0; i < S_N; i++)
		free((void *)f.sec[i]);
	return 0;
}
