// SPDX-License-Identifier: MIT
/*
 * Unit test of host/kp_proc.c, the process table: kp_container_id() on
 * cgroup paths; fork/comm/exit sequences against a fake /proc that counts
 * its reads (lazy fill, once per fork or exec); expiry, the size cap and its
 * eviction order; parent walks on looping data; then the real /proc (no
 * root needed): this process and a child it forks and execs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kp_proc.h"
#include "kp_procfs.h"
#include "t.h"

#define SEC 1000000000ull
#define MS 1000000ull

/* ---- kp_container_id ---- */

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H64B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define H63 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define H64UP "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define POD "pod0e4b5c1a-2f3d-4e5f-8a9b-0c1d2e3f4a5b"
#define PODS "pod0e4b5c1a_2f3d_4e5f_8a9b_0c1d2e3f4a5b"

static const struct {
	const char *path;
	const char *want; /* NULL: no container */
	const char *what;
} cid_cases[] = {
	{ "/docker/" H64, H64, "docker, cgroupfs driver" },
	{ "/system.slice/docker-" H64 ".scope", H64, "docker, systemd driver" },
	{ "/docker/" H64 "/", H64, "trailing slash" },
	{ "//docker//" H64, H64, "doubled slashes" },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-" PODS
	  ".slice/cri-containerd-" H64 ".scope",
	  H64, "containerd under kubepods, systemd driver" },
	{ "/kubepods/besteffort/" POD "/" H64, H64, "containerd under kubepods, cgroupfs driver" },
	{ "/kubepods/" POD "/" H64, H64, "guaranteed pod, cgroupfs driver" },
	{ "/kubepods.slice/kubepods-" PODS ".slice/crio-" H64 ".scope", H64, "cri-o, systemd" },
	{ "/kubepods/burstable/" POD "/crio-" H64, H64, "cri-o, cgroupfs" },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-" PODS ".slice/crio-" H64
	  ".scope/container",
	  H64, "cri-o with a child cgroup" },
	{ "/machine.slice/libpod-" H64 ".scope", H64, "podman, rootful" },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" H64 ".scope/container",
	  H64, "podman, rootless, systemd in the container" },
	{ "/libpod_parent/libpod-" H64, H64, "podman, cgroupfs" },
	{ "/machine.slice/machine-foo.scope", "foo", "systemd-nspawn machine" },
	{ "/machine.slice/machine-my\\x2dbox\\x2d2.scope", "my-box-2",
	  "nspawn name, \\x2d decoded" },
	{ "/machine.slice/machine-foo.scope/payload/system.slice/sshd.service", "foo",
	  "a service inside an nspawn machine" },
	{ "/machine.slice/systemd-nspawn@deb\\x2dtest.service/payload", "deb-test",
	  "nspawn as systemd-nspawn@.service" },
	{ "/machine.slice/machine-foo.scope/payload/system.slice/docker-" H64B ".scope", H64B,
	  "docker inside nspawn: the innermost" },
	{ "/docker/" H64 "/docker/" H64B, H64B, "docker in docker: the innermost" },
	{ "/kubepods/burstable/" POD "/" H64 "/docker/" H64B, H64B, "docker inside a pod" },
	{ "/system.slice/crio-conmon-" H64 ".scope", NULL, "cri-o's conmon is not a container" },
	{ "/machine.slice/libpod-conmon-" H64 ".scope", NULL,
	  "podman's conmon is not a container" },
	{ "/machine.slice/machine-foo.scope/supervisor", NULL,
	  "nspawn's supervisor is on the host side" },
	{ "/user.slice/user-1000.slice/session-2.scope", NULL, "a login session" },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/app-org.gnome.Terminal.slice/"
	  "vte-spawn-9b2f.scope",
	  NULL, "a user's app scope" },
	{ "/init.scope", NULL, "init.scope" },
	{ "/", NULL, "the root" },
	{ "", NULL, "empty" },
	{ "garbage", NULL, "garbage" },
	{ "/docker/" H63, NULL, "63 hex digits" },
	{ "/docker/" H64 "a", NULL, "65 hex digits" },
	{ "/docker/" H64UP, NULL, "uppercase hex" },
	{ "/system.slice/docker-" H63 ".scope", NULL, "docker- with 63 hex digits" },
	{ "/system.slice/docker-" H64 ".scopex", NULL, "a suffix after .scope" },
	{ "/system.slice/" H64 ".scope", NULL, "a bare id with .scope" },
	{ "/system.slice/docker.service", NULL, "the docker daemon" },
	{ "/system.slice/containerd.service", NULL, "the containerd daemon" },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-" PODS ".slice", NULL,
	  "a pod slice (no container in it)" },
	{ "/machine.slice", NULL, "machine.slice itself" },
	{ "/machine.slice/machine-.scope", NULL, "a machine with no name" },
	{ "/machine.slice/machine-foo.service", NULL, "machine- needs .scope" },
	{ "/machine.slice/machine-a\\x00b.scope", NULL, "an escaped NUL is not a name" },
};

static void test_container_id(void)
{
	char out[128];

	for (size_t i = 0; i < sizeof(cid_cases) / sizeof(cid_cases[0]); i++) {
		int r;

		memset(out, 'X', sizeof(out));
		r = kp_container_id(cid_cases[i].path, out, sizeof(out));
		if (cid_cases[i].want)
			T_OK(r == 0 && !strcmp(out, cid_cases[i].want),
			     "container id: %s (r=%d, got \"%s\")", cid_cases[i].what, r, out);
		else
			T_OK(r == -ENOENT && out[0] == '\0',
			     "container id: none for %s (r=%d, got \"%s\")", cid_cases[i].what, r,
			     out);
	}
	T_EQ_INT(kp_container_id(NULL, out, sizeof(out)), -ENOENT, "container id: NULL path");
	T_EQ_INT(kp_container_id("/docker/" H64, out, 64), -ENOSPC,
		 "container id: a 64-byte buffer is one short");
	T_EQ_STR(out, "", "container id: the short buffer is left empty");
	T_EQ_INT(kp_container_id("/docker/" H64, out, 65), 0, "container id: 65 bytes is enough");
	T_EQ_INT(kp_container_id("/machine.slice/machine-abcdef.scope", out, 4), -ENOSPC,
		 "container id: a machine name longer than the buffer");
}

/* ---- a fake /proc ---- */

struct fake_proc {
	int32_t pid;
	bool present;
	int reads;
	char stat[512];
	char status[512];
	char exe[256];
	char cgroup[1024];
	char cmdline[6000];
	size_t cmdline_len;
};

struct fake {
	struct fake_proc p[64];
	int n;
	int reads;
	uint64_t tick_ns, boot_minus_mono;
};

static struct fake_proc *fake_at(struct fake *f, int32_t pid)
{
	for (int i = 0; i < f->n; i++)
		if (f->p[i].pid == pid)
			return &f->p[i];
	if (f->n == 64) {
		printf("not ok - fake /proc full\n");
		exit(1);
	}
	memset(&f->p[f->n], 0, sizeof(f->p[0]));
	f->p[f->n].pid = pid;
	return &f->p[f->n++];
}

/* A process with every file; ids are uid=gid (real and effective). */
static void fake_set(struct fake *f, int32_t pid, int32_t ppid, const char *comm, uint64_t ticks,
		     uint32_t uid, const char *exe, const char *argv, size_t argv_len,
		     const char *cgroup)
{
	struct fake_proc *p = fake_at(f, pid);

	p->present = true;
	/* fields 5..21 between ppid and starttime (22), as the kernel writes */
	snprintf(p->stat, sizeof(p->stat),
		 "%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 %llu 1000 100 "
		 "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
		 pid, comm, ppid, pid, pid, (unsigned long long)ticks);
	snprintf(p->status, sizeof(p->status),
		 "Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nNgid:\t0\n"
		 "Pid:\t%d\nPPid:\t%d\nTracerPid:\t0\nUid:\t%u\t%u\t%u\t%u\n"
		 "Gid:\t%u\t%u\t%u\t%u\nFDSize:\t64\n",
		 comm, pid, pid, ppid, uid, uid, uid, uid, uid, uid, uid, uid);
	snprintf(p->exe, sizeof(p->exe), "%s", exe);
	memcpy(p->cmdline, argv, argv_len);
	p->cmdline_len = argv_len;
	snprintf(p->cgroup, sizeof(p->cgroup), "%s", cgroup);
}

static void fake_ids(struct fake *f, int32_t pid, uint32_t uid, uint32_t euid, uint32_t gid,
		     uint32_t egid)
{
	struct fake_proc *p = fake_at(f, pid);
	char *u = strstr(p->status, "Uid:");

	snprintf(u, sizeof(p->status) - (size_t)(u - p->status),
		 "Uid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nFDSize:\t64\n", uid, euid, euid, euid,
		 gid, egid, egid, egid);
}

static ssize_t fake_copy(char *buf, size_t len, const char *s, size_t n)
{
	if (n > len)
		n = len;
	memcpy(buf, s, n);
	return (ssize_t)n;
}

static ssize_t fake_read(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	struct fake *f = ctx;
	struct fake_proc *p = fake_at(f, pid);

	f->reads++;
	p->reads++;
	if (!p->present)
		return -ENOENT;
	if (!strcmp(file, "stat"))
		return fake_copy(buf, len, p->stat, strlen(p->stat));
	if (!strcmp(file, "status"))
		return fake_copy(buf, len, p->status, strlen(p->status));
	if (!strcmp(file, "cgroup"))
		return fake_copy(buf, len, p->cgroup, strlen(p->cgroup));
	if (!strcmp(file, "cmdline"))
		return fake_copy(buf, len, p->cmdline, p->cmdline_len);
	return -ENOENT;
}

static ssize_t fake_readlink(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	struct fake *f = ctx;
	struct fake_proc *p = fake_at(f, pid);

	f->reads++;
	p->reads++;
	if (!p->present || strcmp(file, "exe") || !p->exe[0])
		return -ENOENT;
	if (strlen(p->exe) >= len)
		return -ENAMETOOLONG;
	return fake_copy(buf, len, p->exe, strlen(p->exe));
}

static int fake_each_pid(void *ctx, void (*fn)(void *arg, int32_t pid), void *arg)
{
	struct fake *f = ctx;
	int n = 0;

	for (int i = 0; i < f->n; i++) {
		if (f->p[i].present) {
			fn(arg, f->p[i].pid);
			n++;
		}
	}
	return n;
}

static void fake_clock(void *ctx, uint64_t *tick_ns, uint64_t *boot_minus_mono_ns)
{
	struct fake *f = ctx;

	*tick_ns = f->tick_ns;
	*boot_minus_mono_ns = f->boot_minus_mono;
}

static int reads_of(struct fake *f, int32_t pid)
{
	return fake_at(f, pid)->reads;
}

static struct kp_proc_table *fake_table(struct fake *f, size_t cap)
{
	struct kp_proc_source src = {
		.read = fake_read,
		.readlink = fake_readlink,
		.each_pid = fake_each_pid,
		.clock = fake_clock,
		.ctx = f,
	};
	struct kp_proc_table *t = kp_proc_new(cap);

	if (!t) {
		printf("not ok - kp_proc_new(%zu) failed\n", cap);
		exit(1);
	}
	memset(f, 0, sizeof(*f));
	f->tick_ns = 10 * MS; /* USER_HZ 100 */
	f->boot_minus_mono = 2 * SEC; /* two seconds spent suspended */
	kp_proc_set_source(t, &src);
	return t;
}

#define CG_SESSION "0::/user.slice/user-1000.slice/session-2.scope\n"
#define ARGV(s) s, sizeof(s) /* a literal's bytes, its final NUL included */

/* pid 1 and a login shell 100 under it: seeded, as at start. */
static void fake_base(struct fake *f)
{
	fake_set(f, 1, 0, "systemd", 300, 0, "/usr/lib/systemd/systemd", ARGV("/sbin/init\0splash"),
		 "0::/init.scope\n");
	fake_set(f, 100, 1, "bash", 500, 1000, "/usr/bin/bash", ARGV("-bash"), CG_SESSION);
}

static bool argv_is(const struct kp_proc *p, const char *bytes, size_t len)
{
	return p->argv_len == len && !memcmp(p->argv, bytes, len);
}

static void test_seed_fill(void)
{
	struct fake f;
	struct kp_proc_table *t = fake_table(&f, 64);
	const struct kp_proc *p, *q;
	size_t size = 0;

	fake_base(&f);
	T_EQ_INT(kp_proc_seed(t), 2, "seed: two processes added");
	T_EQ_INT(f.reads, 0, "seed: no file read at seed, only the listing");
	kp_proc_stats(t, &size, NULL, NULL);
	T_EQ_UINT(size, 2, "seed: two entries");
	p = kp_proc_get(t, 100);
	T_OK(p != NULL, "seed: pid 100 found");
	if (!p)
		goto out;
	T_EQ_INT(reads_of(&f, 100), 5, "fill: stat, status, exe, cmdline, cgroup read once");
	T_EQ_INT(p->pid, 100, "fill: pid");
	T_EQ_INT(p->ppid, 1, "fill: ppid from stat");
	T_EQ_STR(p->comm, "bash", "fill: comm from stat");
	T_EQ_STR(p->exe, "/usr/bin/bash", "fill: exe");
	T_OK(argv_is(p, ARGV("-bash")) && p->argc == 1 && !p->argv_truncated, "fill: argv");
	T_EQ_UINT(p->uid, 1000, "fill: uid");
	T_EQ_UINT(p->gid, 1000, "fill: gid");
	T_EQ_STR(p->cgroup, "/user.slice/user-1000.slice/session-2.scope", "fill: cgroup path");
	T_EQ_STR(p->container_id, "", "fill: no container");
	/* 500 ticks of 10 ms since boot, two seconds of which suspended */
	T_EQ_UINT(p->start_time, 3 * SEC, "fill: start moved from boot ticks to CLOCK_MONOTONIC");
	T_EQ_UINT(p->known, KP_PROC_ALL, "fill: every field known");
	T_OK(!p->exited, "fill: not exited");
	p = kp_proc_get(t, 100);
	T_EQ_INT(reads_of(&f, 100), 5, "fill: a second get reads nothing");
	p = kp_proc_get(t, 1);
	T_OK(p && p->ppid == 0 && p->start_time == 1 * SEC, "fill: pid 1, ppid 0, start 1 s");
	T_OK(p && p->argc == 2 && argv_is(p, ARGV("/sbin/init\0splash")), "fill: two arguments");
	q = kp_proc_parent(t, kp_proc_get(t, 100));
	T_OK(q && q->pid == 1, "parent: of 100 is 1");
	T_OK(kp_proc_parent(t, q) == NULL, "parent: none above pid 1");
	T_OK(kp_proc_get(t, 4242) == NULL, "get: an unknown pid is NULL");
	T_OK(kp_proc_get(t, 0) == NULL && kp_proc_get(t, -1) == NULL, "get: pid 0 and -1 are NULL");
	T_EQ_INT(kp_proc_seed(t), 0, "seed: a second seed adds nothing");
out:
	kp_proc_free(t);
}

static void test_fork_exec_exit(void)
{
	struct fake f;
	struct kp_proc_table *t = fake_table(&f, 64);
	const struct kp_proc *p;
	size_t size0 = 0, size1 = 0;

	fake_base(&f);
	kp_proc_seed(t);
	kp_proc_get(t, 100);
	/* bash forks 200: everything from the parent, nothing read */
	T_EQ_INT(kp_proc_fork(t, 200, 100, 200, 100, 10 * SEC), 0, "fork: returns 0");
	p = kp_proc_get(t, 200);
	T_OK(p != NULL, "fork: the child is an entry");
	if (!p)
		goto out;
	T_EQ_INT(reads_of(&f, 200), 0, "fork: a child of a known parent reads nothing");
	T_EQ_INT(p->ppid, 100, "fork: ppid");
	T_EQ_STR(p->comm, "bash", "fork: comm inherited");
	T_EQ_STR(p->exe, "/usr/bin/bash", "fork: exe inherited");
	T_OK(argv_is(p, ARGV("-bash")), "fork: argv inherited");
	T_EQ_UINT(p->uid, 1000, "fork: uid inherited");
	T_EQ_STR(p->cgroup, "/user.slice/user-1000.slice/session-2.scope",
		 "fork: cgroup inherited");
	T_EQ_UINT(p->start_time, 10 * SEC, "fork: start is the FORK time");
	T_OK(kp_proc_parent(t, p) && kp_proc_parent(t, p)->pid == 100, "fork: parent is 100");

	/* 200 execs passwd, setuid root; /proc now shows the new image */
	fake_set(&f, 200, 100, "passwd", 1000, 1000, "/usr/bin/passwd", ARGV("passwd\0alice"),
		 CG_SESSION);
	fake_ids(&f, 200, 1000, 0, 1000, 42);
	kp_proc_comm(t, 200, 200, "passwd", true, 11 * SEC);
	T_EQ_INT(reads_of(&f, 200), 0, "exec: the record alone reads nothing");
	p = kp_proc_get(t, 200);
	T_EQ_INT(reads_of(&f, 200), 5, "exec: the first get reads the five files once");
	T_EQ_STR(p->comm, "passwd", "exec: comm from the record");
	T_EQ_STR(p->exe, "/usr/bin/passwd", "exec: exe refreshed");
	T_OK(argv_is(p, ARGV("passwd\0alice")) && p->argc == 2, "exec: argv refreshed");
	T_EQ_UINT(p->uid, 1000, "exec: setuid keeps the real uid");
	T_EQ_UINT(p->euid, 0, "exec: setuid gives euid 0");
	T_EQ_UINT(p->egid, 42, "exec: egid");
	T_EQ_UINT(p->exec_time, 11 * SEC, "exec: exec_time");
	T_EQ_UINT(p->start_time, 10 * SEC, "exec: start is still the FORK's");
	T_EQ_INT(p->ppid, 100, "exec: ppid kept");
	p = kp_proc_get(t, 200);
	T_EQ_INT(reads_of(&f, 200), 5, "exec: a second get reads nothing");

	kp_proc_comm(t, 200, 200, "abcdefghijklmnopqrstuvwxyz", false, 12 * SEC);
	p = kp_proc_get(t, 200);
	T_EQ_STR(p->comm, "abcdefghijklmno", "rename: comm cut to 15 bytes");
	T_EQ_INT(reads_of(&f, 200), 5, "rename: not an exec, nothing read");
	T_EQ_STR(p->exe, "/usr/bin/passwd", "rename: exe kept");
	kp_proc_comm(t, 200, 201, "worker", false, 12 * SEC);
	T_EQ_STR(kp_proc_get(t, 200)->comm, "abcdefghijklmno",
		 "rename: a non-leader thread's rename is not the process's");

	/* a thread: no entry, and its exit ends nothing */
	kp_proc_stats(t, &size0, NULL, NULL);
	kp_proc_fork(t, 200, 200, 201, 200, 13 * SEC);
	kp_proc_stats(t, &size1, NULL, NULL);
	T_OK(kp_proc_get(t, 201) == NULL, "thread: a new thread is not an entry");
	T_EQ_UINT(size1, size0, "thread: size unchanged");
	kp_proc_exit(t, 200, 201, 14 * SEC);
	T_OK(!kp_proc_get(t, 200)->exited, "thread: a thread's exit leaves the process");

	/* the process exits: kept, marked, until past the grace period */
	kp_proc_exit(t, 200, 200, 20 * SEC);
	p = kp_proc_get(t, 200);
	T_OK(p && p->exited && p->exit_time == 20 * SEC, "exit: kept, exited at 20 s");
	T_OK(p && !strcmp(p->exe, "/usr/bin/passwd") && p->euid == 0, "exit: fields kept");
	kp_proc_exit(t, 200, 200, 25 * SEC);
	T_EQ_UINT(kp_proc_get(t, 200)->exit_time, 20 * SEC, "exit: a second EXIT changes nothing");
	T_EQ_INT(reads_of(&f, 200), 5, "exit: nothing read");
	T_EQ_UINT(kp_proc_expire(t, 21 * SEC, 1 * SEC), 0, "expire: exit at 20 s kept at 21 s");
	T_OK(kp_proc_get(t, 200) != NULL, "expire: still there at the grace's end");
	T_EQ_UINT(kp_proc_expire(t, 21 * SEC + 1, 1 * SEC), 1, "expire: dropped 1 ns later");
	T_OK(kp_proc_get(t, 200) == NULL, "expire: gone");
	T_OK(kp_proc_get(t, 100) != NULL, "expire: the live parent stays");
out:
	kp_proc_free(t);
}

/* Processes gone, or replaced, before their first get. */
static void test_gone(void)
{
	struct fake f;
	struct kp_proc_table *t = fake_table(&f, 64);
	const struct kp_proc *p;

	fake_base(&f);
	kp_proc_seed(t);
	kp_proc_get(t, 100);

	/* fork and exec seen, the process gone from /proc by the first get */
	kp_proc_fork(t, 300, 100, 300, 100, 30 * SEC);
	kp_proc_comm(t, 300, 300, "curl", true, 30 * SEC + 100 * MS);
	p = kp_proc_get(t, 300);
	T_OK(p != NULL, "gone: still an entry");
	if (!p)
		goto out;
	T_EQ_INT(reads_of(&f, 300), 1, "gone: one read (stat) found it gone");
	T_EQ_STR(p->comm, "curl", "gone: comm from the record kept");
	T_EQ_INT(p->ppid, 100, "gone: ppid from the FORK kept");
	T_EQ_UINT(p->start_time, 30 * SEC, "gone: start from the FORK kept");
	T_OK(!(p->known & KP_PROC_EXE) && !strcmp(p->exe, ""),
	     "gone: exe unknown, not the parent's");
	T_OK(!(p->known & KP_PROC_ARGV) && p->argv_len == 0 && p->argc == 0, "gone: argv unknown");
	T_OK(!(p->known & KP_PROC_IDS) && p->uid == KP_PROC_ID_UNKNOWN, "gone: ids unknown");
	T_OK(!(p->known & KP_PROC_CGROUP) && !strcmp(p->cgroup, ""), "gone: cgroup unknown");
	T_OK(p->exited && p->exit_time == 30 * SEC + 100 * MS,
	     "gone: marked exited at the latest time fed");
	kp_proc_get(t, 300);
	T_EQ_INT(reads_of(&f, 300), 1, "gone: not read again");
	kp_proc_exit(t, 300, 300, 30 * SEC + 200 * MS);
	T_EQ_UINT(kp_proc_get(t, 300)->exit_time, 30 * SEC + 200 * MS,
		  "gone: the EXIT record's time replaces the guess");

	/* exited before the first get: never read (the pid may be reused) */
	fake_set(&f, 400, 100, "ls", 3100, 1000, "/usr/bin/ls", ARGV("ls"), CG_SESSION);
	kp_proc_fork(t, 400, 100, 400, 100, 31 * SEC);
	kp_proc_comm(t, 400, 400, "ls", true, 31 * SEC + 1);
	kp_proc_exit(t, 400, 400, 31 * SEC + 2);
	p = kp_proc_get(t, 400);
	T_EQ_INT(reads_of(&f, 400), 0, "exited: nothing read");
	T_OK(p && p->exited && !strcmp(p->comm, "ls") && !(p->known & KP_PROC_EXE),
	     "exited: comm known, exe unknown");

	/* the pid already belongs to a later process (started at 48 s) */
	fake_set(&f, 500, 1, "other", 5000, 0, "/usr/sbin/other", ARGV("other"), CG_SESSION);
	kp_proc_fork(t, 500, 100, 500, 100, 40 * SEC);
	kp_proc_comm(t, 500, 500, "x", true, 40 * SEC + 1);
	p = kp_proc_get(t, 500);
	T_OK(p && !(p->known & KP_PROC_EXE) && p->exited,
	     "reuse: /proc's later start refuses its data");
	T_OK(p && p->ppid == 100 && !strcmp(p->comm, "x"), "reuse: the records' data kept");
	T_EQ_INT(reads_of(&f, 500), 1, "reuse: only stat read");
	/* the same process: /proc's start (40 s) is not after the FORK's */
	fake_set(&f, 501, 100, "y", 4200, 1000, "/usr/bin/y", ARGV("y"), CG_SESSION);
	kp_proc_fork(t, 501, 100, 501, 100, 40 * SEC);
	kp_proc_comm(t, 501, 501, "y", true, 40 * SEC + 1);
	p = kp_proc_get(t, 501);
	T_OK(p && !strcmp(p->exe, "/usr/bin/y") && !p->exited, "reuse: the same start is accepted");

	/* a zombie: stat only */
	fake_set(&f, 502, 100, "z", 4300, 1000, "", ARGV(""), CG_SESSION);
	fake_at(&f, 502)->stat[strlen("502 (z) ")] = 'Z';
	kp_proc_comm(t, 502, 502, "z", true, 43 * SEC);
	p = kp_proc_get(t, 502);
	T_OK(p && p->exited && p->ppid == 100 && !(p->known & KP_PROC_EXE),
	     "zombie: exited, ppid from stat, no exe");
	T_EQ_INT(reads_of(&f, 502), 1, "zombie: only stat read");
out:
	kp_proc_free(t);
}

/* Stale and unknown parents, records for unknown pids, lookup. */
static void test_unknown(void)
{
	struct fake f;
	struct kp_proc_table *t = fake_table(&f, 64);
	const struct kp_proc *p;
	size_t size = 0;

	fake_base(&f);
	kp_proc_seed(t);

	/* the parent is not in the table: the child reads its own /proc */
	fake_set(&f, 600, 999, "orphan", 5000, 33, "/usr/bin/orphan", ARGV("orphan"),
		 "0::/system.slice/docker-" H64 ".scope\n");
	kp_proc_fork(t, 600, 999, 600, 999, 50 * SEC);
	p = kp_proc_get(t, 600);
	T_EQ_INT(reads_of(&f, 600), 5, "unknown parent: five reads");
	T_OK(p && !strcmp(p->comm, "orphan") && p->uid == 33 && p->ppid == 999,
	     "unknown parent: comm and uid from /proc, ppid from the FORK");
	T_OK(p && !strcmp(p->container_id, H64), "unknown parent: container id from the cgroup");
	T_OK(p && p->start_time == 50 * SEC, "unknown parent: start from the FORK");
	T_OK(kp_proc_parent(t, p) == NULL, "unknown parent: no parent entry");

	/* the parent is seeded but never looked at: the child reads its own
	 * /proc, and the parent stays unread */
	fake_set(&f, 700, 1, "sshd", 200, 0, "/usr/sbin/sshd", ARGV("sshd: /usr/sbin/sshd"),
		 "0::/system.slice/ssh.service\n");
	T_EQ_INT(kp_proc_seed(t), 1, "stale parent: seed adds the new pid only");
	fake_set(&f, 710, 700, "sshd", 5100, 0, "/usr/sbin/sshd", ARGV("sshd: alice"),
		 "0::/system.slice/ssh.service\n");
	kp_proc_fork(t, 710, 700, 710, 700, 51 * SEC);
	p = kp_proc_get(t, 710);
	T_EQ_INT(reads_of(&f, 710), 5, "stale parent: the child reads its own files");
	T_EQ_INT(reads_of(&f, 700), 0, "stale parent: the parent is not read");
	T_OK(p && argv_is(p, ARGV("sshd: alice")), "stale parent: the child's own argv");
	T_OK(p && kp_proc_parent(t, p) && kp_proc_parent(t, p)->pid == 700,
	     "stale parent: the walk fills the parent");
	T_EQ_INT(reads_of(&f, 700), 5, "stale parent: read once by the walk");

	/* a COMM exec for a pid whose FORK was lost */
	fake_set(&f, 900, 100, "stat-comm", 5500, 1000, "/usr/bin/late", ARGV("late"), CG_SESSION);
	kp_proc_comm(t, 900, 900, "late", true, 60 * SEC);
	p = kp_proc_get(t, 900);
	T_OK(p && !strcmp(p->comm, "late") && p->ppid == 100 && p->start_time == 53 * SEC &&
		 !strcmp(p->exe, "/usr/bin/late"),
	     "lost fork: comm from the record, the rest from /proc");
	T_EQ_INT(reads_of(&f, 900), 5, "lost fork: five reads");
	kp_proc_comm(t, 901, 902, "worker", false, 60 * SEC);
	T_OK(kp_proc_get(t, 901) == NULL && kp_proc_get(t, 902) == NULL,
	     "lost fork: a thread's rename adds nothing");

	/* a thread that execs: the old leader's EXIT, then the COMM exec */
	fake_set(&f, 1000, 100, "java", 5600, 1000, "/usr/bin/java", ARGV("java"), CG_SESSION);
	kp_proc_fork(t, 1000, 100, 1000, 100, 70 * SEC);
	kp_proc_exit(t, 1000, 1000, 70 * SEC + 5);
	fake_set(&f, 1000, 100, "sh", 5600, 1000, "/usr/bin/dash", ARGV("sh\0-c\0true"),
		 CG_SESSION);
	kp_proc_comm(t, 1000, 1000, "sh", true, 70 * SEC + 6);
	p = kp_proc_get(t, 1000);
	T_OK(p && !p->exited && p->exit_time == 0, "de_thread: the exec brings the entry back");
	T_OK(p && !strcmp(p->exe, "/usr/bin/dash") && p->argc == 3, "de_thread: the new image");
	T_EQ_UINT(kp_proc_expire(t, 1000 * SEC, SEC), 0, "de_thread: not expired");

	/* an exited pid taken by a new process whose FORK was lost: the COMM
	 * exec brings it back with /proc's parent and start, not the old ones */
	kp_proc_fork(t, 1200, 100, 1200, 100, 71 * SEC);
	kp_proc_exit(t, 1200, 1200, 72 * SEC);
	fake_set(&f, 1200, 1, "new", 7500, 0, "/usr/bin/new", ARGV("new"), CG_SESSION);
	kp_proc_comm(t, 1200, 1200, "new", true, 73 * SEC + 500 * MS);
	p = kp_proc_get(t, 1200);
	T_OK(p && !p->exited && p->ppid == 1 && p->start_time == 73 * SEC,
	     "reused after exit: ppid and start from /proc");
	T_OK(p && !strcmp(p->exe, "/usr/bin/new"), "reused after exit: the new exe");

	/* a parent that exec'd and was not read since forks: its old image is
	 * not the child's */
	kp_proc_get(t, 100);
	kp_proc_comm(t, 100, 100, "vim", true, 74 * SEC);
	fake_set(&f, 1300, 100, "vim", 7400, 1000, "/usr/bin/vim", ARGV("vim"), CG_SESSION);
	kp_proc_fork(t, 1300, 100, 1300, 100, 74 * SEC + 1);
	p = kp_proc_get(t, 1300);
	T_OK(p && !strcmp(p->exe, "/usr/bin/vim") && !strcmp(p->comm, "vim"),
	     "stale parent image: the child reads its own");
	T_EQ_INT(reads_of(&f, 1300), 5, "stale parent image: five reads");

	/* lookup: a process in /proc, then one not in it (remembered) */
	fake_set(&f, 800, 1, "cron", 100, 0, "/usr/sbin/cron", ARGV("/usr/sbin/cron\0-f"),
		 "0::/system.slice/cron.service\n");
	p = kp_proc_lookup(t, 800);
	T_OK(p && !strcmp(p->exe, "/usr/sbin/cron") && p->ppid == 1, "lookup: learnt from /proc");
	T_EQ_INT(reads_of(&f, 800), 5, "lookup: five reads");
	p = kp_proc_lookup(t, 800);
	T_EQ_INT(reads_of(&f, 800), 5, "lookup: a second lookup reads nothing");
	T_OK(kp_proc_lookup(t, 801) == NULL, "lookup: not in /proc");
	T_EQ_INT(reads_of(&f, 801), 1, "lookup: one read to find out");
	T_OK(kp_proc_lookup(t, 801) == NULL && kp_proc_get(t, 801) == NULL,
	     "lookup: still unknown");
	T_EQ_INT(reads_of(&f, 801), 1, "lookup: the miss is remembered");
	kp_proc_expire(t, 2000 * SEC, SEC);
	kp_proc_lookup(t, 801);
	T_EQ_INT(reads_of(&f, 801), 2, "lookup: asked again once the miss expired");
	T_OK(kp_proc_lookup(t, 0) == NULL && kp_proc_lookup(t, -5) == NULL, "lookup: pid <= 0");

	/* a seeded process that exits before its first get: nothing known */
	fake_set(&f, 1100, 1, "brief", 100, 0, "/bin/brief", ARGV("brief"), CG_SESSION);
	kp_proc_seed(t);
	kp_proc_exit(t, 1100, 1100, 2001 * SEC);
	T_OK(kp_proc_get(t, 1100) == NULL, "seeded then exited: nothing known, NULL");
	T_EQ_INT(reads_of(&f, 1100), 0, "seeded then exited: nothing read");
	kp_proc_stats(t, &size, NULL, NULL);
	T_OK(size > 0, "stats: size (%zu)", size);
	kp_proc_free(t);
}

static bool has(struct kp_proc_table *t, int32_t pid)
{
	return kp_proc_get(t, pid) != NULL;
}

static void test_cap(void)
{
	struct fake f;
	struct kp_proc_table *t = fake_table(&f, 4);
	uint64_t ev = 99;
	size_t size = 0, cap = 0;

	fake_set(&f, 10, 1, "init", 100, 0, "/sbin/init", ARGV("init"), "0::/init.scope\n");
	T_OK(kp_proc_lookup(t, 10) != NULL, "cap: parent learnt");
	kp_proc_fork(t, 11, 10, 11, 10, 100);
	kp_proc_fork(t, 12, 10, 12, 10, 101);
	kp_proc_fork(t, 13, 10, 13, 10, 102);
	kp_proc_stats(t, &size, &ev, &cap);
	T_OK(size == 4 && ev == 0 && cap == 4,
	     "cap: full, no eviction (size %zu, ev %llu, cap %zu)", size, (unsigned long long)ev,
	     cap);
	kp_proc_exit(t, 11, 11, 200);
	kp_proc_exit(t, 12, 12, 201);
	kp_proc_fork(t, 14, 10, 14, 10, 300);
	kp_proc_stats(t, &size, &ev, NULL);
	T_OK(size == 4 && ev == 1, "cap: one eviction, size 4");
	T_OK(!has(t, 11) && has(t, 12) && has(t, 13) && has(t, 14),
	     "cap: the earliest exited (11) went first");
	kp_proc_fork(t, 15, 10, 15, 10, 301);
	T_OK(!has(t, 12), "cap: then the other exited (12), before any live one");
	/* use them in this order: 15 is now the least recently used */
	T_OK(has(t, 15) && has(t, 13) && has(t, 10) && has(t, 14), "cap: four live entries");
	kp_proc_fork(t, 16, 10, 16, 10, 302);
	kp_proc_stats(t, &size, &ev, NULL);
	T_OK(!has(t, 15) && has(t, 13) && has(t, 10) && has(t, 14) && has(t, 16),
	     "cap: no exited left: the live one least recently used (15)");
	T_OK(size == 4 && ev == 3, "cap: three evictions (size %zu, ev %llu)", size,
	     (unsigned long long)ev);
	T_EQ_INT(f.reads, 5, "cap: only the parent was ever read");
	kp_proc_free(t);

	/* the entry evicted for a child is its own parent */
	t = fake_table(&f, 2);
	fake_set(&f, 20, 1, "p", 100, 7, "/p", ARGV("p"), CG_SESSION);
	fake_set(&f, 21, 1, "x", 100, 8, "/x", ARGV("x"), CG_SESSION);
	fake_set(&f, 22, 20, "c", 100, 9, "/c", ARGV("c"), CG_SESSION);
	kp_proc_lookup(t, 20);
	kp_proc_lookup(t, 21); /* 20 is now the least recently used */
	kp_proc_fork(t, 22, 20, 22, 20, 5 * SEC);
	T_OK(!has(t, 20) && has(t, 21), "cap: the parent was evicted for its child");
	T_OK(kp_proc_get(t, 22) && kp_proc_get(t, 22)->uid == 9, "cap: the child's own uid");
	T_EQ_INT(reads_of(&f, 22), 5, "cap: read from its own /proc");
	kp_proc_free(t);

	errno = 0;
	T_OK(kp_proc_new(0) == NULL && errno == EINVAL, "cap: kp_proc_new(0) is EINVAL");
	t = kp_proc_new(1);
	T_OK(t != NULL, "cap: a table of one");
	if (t) {
		kp_proc_fork(t, 5, 1, 5, 1, 1);
		kp_proc_fork(t, 6, 1, 6, 1, 2);
		kp_proc_stats(t, &size, &ev, NULL);
		T_OK(size == 1 && ev == 1, "cap: a table of one holds one");
		kp_proc_free(t);
	}
}

static int walk(struct kp_proc_table *t, int32_t pid, int32_t *last)
{
	const struct kp_proc *p = kp_proc_get(t, pid);
	int n = 0;

	*last = p ? p->pid : -1;
	while (p && n < 1000) {
		p = kp_proc_parent(t, p);
		if (p) {
			*last = p->pid;
			n++;
		}
	}
	return n;
}

static void test_parents(void)
{
	struct fake f;
	struct kp_proc_table *t = fake_table(&f, 64);
	int32_t last = 0;
	const struct kp_proc *p;

	fake_base(&f);
	kp_proc_seed(t);
	kp_proc_fork(t, 200, 100, 200, 100, 10 * SEC);
	kp_proc_fork(t, 300, 200, 300, 200, 11 * SEC);
	kp_proc_fork(t, 400, 300, 400, 300, 12 * SEC);
	T_EQ_INT(walk(t, 400, &last), 4, "chain: 400 -> 300 -> 200 -> 100 -> 1: four steps");
	T_EQ_INT(last, 1, "chain: ends at pid 1");
	p = kp_proc_parent(t, kp_proc_get(t, 400));
	T_OK(p && p->pid == 300, "chain: first step is 300");
	T_OK(kp_proc_parent(t, NULL) == NULL, "chain: parent of NULL");

	/* looping ppid data, equal starts: the walk still ends */
	fake_set(&f, 2000, 2001, "a", 700, 0, "/a", ARGV("a"), CG_SESSION);
	fake_set(&f, 2001, 2000, "b", 700, 0, "/b", ARGV("b"), CG_SESSION);
	kp_proc_seed(t);
	T_OK(walk(t, 2000, &last) <= 1 && walk(t, 2001, &last) <= 1,
	     "loop: equal starts, two pids: ends within a step");
	T_EQ_INT(walk(t, 2001, &last), 1, "loop: one direction of the pair is kept");
	T_EQ_INT(last, 2000, "loop: the lower pid is taken as the parent");
	/* looping data, different starts: the later one is no parent */
	fake_set(&f, 2002, 2003, "c", 700, 0, "/c", ARGV("c"), CG_SESSION);
	fake_set(&f, 2003, 2002, "d", 800, 0, "/d", ARGV("d"), CG_SESSION);
	kp_proc_seed(t);
	T_EQ_INT(walk(t, 2002, &last), 0, "loop: a parent that started later is refused");
	T_EQ_INT(walk(t, 2003, &last), 1, "loop: the earlier one is a parent");
	/* a three-process loop with equal starts */
	fake_set(&f, 2010, 2011, "e", 900, 0, "/e", ARGV("e"), CG_SESSION);
	fake_set(&f, 2011, 2012, "f", 900, 0, "/f", ARGV("f"), CG_SESSION);
	fake_set(&f, 2012, 2010, "g", 900, 0, "/g", ARGV("g"), CG_SESSION);
	kp_proc_seed(t);
	T_OK(walk(t, 2010, &last) < 3 && walk(t, 2011, &last) < 3 && walk(t, 2012, &last) < 3,
	     "loop: a three-process loop ends");
	/* its own parent */
	fake_set(&f, 2020, 2020, "self", 900, 0, "/self", ARGV("self"), CG_SESSION);
	kp_proc_seed(t);
	T_EQ_INT(walk(t, 2020, &last), 0, "loop: a process that is its own parent");

	/* a child learnt from /proc (its FORK lost) 2 ms after its parent's
	 * FORK: /proc's start, cut to the 10 ms tick, is before the parent's */
	kp_proc_fork(t, 4000, 1, 4000, 1, 100 * SEC + 3 * MS);
	fake_set(&f, 4001, 4000, "kid", 10200, 0, "/kid", ARGV("kid"), CG_SESSION);
	kp_proc_comm(t, 4001, 4001, "kid", true, 100 * SEC + 5 * MS);
	p = kp_proc_get(t, 4001);
	T_OK(p && p->start_time == 100 * SEC && p->ppid == 4000,
	     "tick: the child's /proc start is before its parent's FORK");
	p = kp_proc_parent(t, p);
	T_OK(p && p->pid == 4000, "tick: the parent is still found");
	/* a child learnt from /proc whose start is a whole tick after the
	 * parent's FORK would make it: a parent forked after that is refused */
	kp_proc_fork(t, 4002, 1, 4002, 1, 100 * SEC + 11 * MS);
	fake_set(&f, 4003, 4002, "kid2", 10200, 0, "/kid2", ARGV("kid2"), CG_SESSION);
	kp_proc_comm(t, 4003, 4003, "kid2", true, 100 * SEC + 12 * MS);
	T_OK(kp_proc_parent(t, kp_proc_get(t, 4003)) == NULL,
	     "tick: a parent forked after the child's tick ended is refused");

	/* same-tick parent and child read with ns of clock-read jitter apart:
	 * they must convert to the same start */
	fake_set(&f, 4100, 1, "timeout", 900, 0, "/timeout", ARGV("timeout"), CG_SESSION);
	fake_set(&f, 4101, 4100, "test", 900, 0, "/test", ARGV("test"), CG_SESSION);
	kp_proc_seed(t);
	p = kp_proc_get(t, 4100);
	f.boot_minus_mono = 2 * SEC + 500; /* 500 ns more */
	p = kp_proc_get(t, 4101);
	T_OK(p && p->start_time == 7 * SEC, "clock: jitter does not move a start");
	p = kp_proc_parent(t, p);
	T_OK(p && p->pid == 4100, "clock: same-tick parent found despite jitter");
	/* a suspend of 5 s since: the new offset is taken */
	f.boot_minus_mono = 7 * SEC;
	fake_set(&f, 4102, 1, "late", 900, 0, "/late", ARGV("late"), CG_SESSION);
	p = kp_proc_lookup(t, 4102);
	T_OK(p && p->start_time == 2 * SEC, "clock: a suspend moves the offset");
	f.boot_minus_mono = 2 * SEC;

	/* the parent's pid reused after it exited */
	kp_proc_fork(t, 3100, 1, 3100, 1, 80 * SEC);
	kp_proc_fork(t, 3101, 3100, 3101, 3100, 81 * SEC);
	p = kp_proc_parent(t, kp_proc_get(t, 3101));
	T_OK(p && p->pid == 3100, "reused parent: before reuse, 3100 is the parent");
	kp_proc_exit(t, 3100, 3100, 82 * SEC);
	p = kp_proc_parent(t, kp_proc_get(t, 3101));
	T_OK(p && p->pid == 3100 && p->exited, "reused parent: an exited parent is still one");
	kp_proc_fork(t, 3100, 1, 3100, 1, 83 * SEC);
	T_OK(kp_proc_parent(t, kp_proc_get(t, 3101)) == NULL,
	     "reused parent: the new 3100 is not 3101's parent");
	kp_proc_free(t);
}

static void test_cgroup_lines(void)
{
	static const struct {
		const char *file;
		const char *path;
		const char *id;
		const char *what;
	} cases[] = {
		{ "0::/system.slice/docker-" H64 ".scope\n", "/system.slice/docker-" H64 ".scope",
		  H64, "v2" },
		{ "12:pids:/docker/" H64 "\n4:cpu,cpuacct:/docker/" H64
		  "\n1:name=systemd:/docker/" H64 "\n0::/\n",
		  "/docker/" H64, H64, "hybrid: the v1 path with the container" },
		{ "1:name=systemd:/docker/" H64 "\n0::/system.slice/containerd.service\n",
		  "/docker/" H64, H64, "hybrid: a container path before a v2 daemon path" },
		{ "3:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice/user-1000.slice/"
		  "session-1.scope\n",
		  "/user.slice/user-1000.slice/session-1.scope", "", "v1: name=systemd first" },
		{ "3:cpu,cpuacct:/\n2:memory:/custom\n1:name=systemd:/\n", "/custom", "",
		  "v1: a non-root path before root ones" },
		{ "1:name=systemd:/init.scope\n0::/system.slice/foo.service\n",
		  "/system.slice/foo.service", "", "hybrid without a container: v2 first" },
		{ "0::/\n", "/", "", "v2 root" },
		{ "0::/machine.slice/machine-web.scope/payload",
		  "/machine.slice/machine-web.scope/payload", "web", "no final newline" },
		{ "0::/a:b\n", "/a:b", "", "a colon in the path" },
	};
	struct fake f;
	struct kp_proc_table *t = fake_table(&f, 64);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int32_t pid = 100 + (int32_t)i;
		const struct kp_proc *p;

		fake_set(&f, pid, 1, "c", 100, 0, "/c", ARGV("c"), cases[i].file);
		p = kp_proc_lookup(t, pid);
		T_OK(p && !strcmp(p->cgroup, cases[i].path) &&
			 !strcmp(p->container_id, cases[i].id),
		     "cgroup file: %s (got \"%s\", \"%s\")", cases[i].what, p ? p->cgroup : "-",
		     p ? p->container_id : "-");
	}
	kp_proc_free(t);
}

static void test_parsing(void)
{
	static char big[6000];
	struct fake f;
	struct kp_proc_table *t = fake_table(&f, 64);
	const struct kp_proc *p;
	uint32_t nul = 0;

	/* 6000 bytes: "aaa...\0" every 100 */
	memset(big, 'a', sizeof(big));
	for (size_t i = 99; i < sizeof(big); i += 100)
		big[i] = '\0';
	fake_set(&f, 10, 1, "long", 100, 0, "/long", big, sizeof(big), CG_SESSION);
	p = kp_proc_lookup(t, 10);
	T_OK(p && p->argv_truncated && p->argv_len == KP_PROC_ARGV_MAX,
	     "argv: cut at KP_PROC_ARGV_MAX and flagged");
	T_OK(p && p->argv[p->argv_len - 1] == '\0', "argv: the cut string is terminated");
	for (uint32_t i = 0; p && i < p->argv_len; i++)
		nul += p->argv[i] == '\0';
	T_OK(p && p->argc == 41 && nul == 41, "argv: 40 whole strings and the cut one (argc %u)",
	     p ? p->argc : 0);

	fake_set(&f, 11, 1, "nginx", 100, 0, "/usr/sbin/nginx", "nginx: master process", 21,
		 CG_SESSION);
	p = kp_proc_lookup(t, 11);
	T_OK(p && p->argc == 1 && p->argv_len == 22 && !strcmp(p->argv, "nginx: master process") &&
		 !p->argv_truncated,
	     "argv: a rewritten cmdline without a final NUL");

	fake_set(&f, 12, 2, "kworker/0:1", 1, 0, "", "", 0, "0::/\n");
	p = kp_proc_lookup(t, 12);
	T_OK(p && p->argc == 0 && p->argv_len == 0 && (p->known & KP_PROC_ARGV),
	     "argv: a kernel thread's is known and empty");
	T_OK(p && !(p->known & KP_PROC_EXE) && !strcmp(p->exe, ""),
	     "exe: a kernel thread has none");
	T_OK(p && p->start_time == 0, "start: before the suspend offset clamps to 0");

	fake_set(&f, 13, 1, "a) (b", 600, 0, "/x (deleted)", ARGV("x"), CG_SESSION);
	p = kp_proc_lookup(t, 13);
	T_OK(p && !strcmp(p->comm, "a) (b") && p->ppid == 1 && p->start_time == 4 * SEC,
	     "stat: a comm with \") (\" in it");
	T_OK(p && !strcmp(p->exe, "/x (deleted)"), "exe: a deleted binary keeps its suffix");

	fake_set(&f, 14, 1, "bad", 100, 0, "/bad", ARGV("bad"), CG_SESSION);
	snprintf(fake_at(&f, 14)->stat, sizeof(fake_at(&f, 14)->stat), "14 (bad) S 1 2 3\n");
	snprintf(fake_at(&f, 14)->status, sizeof(fake_at(&f, 14)->status), "Name:\tbad\n");
	T_OK(kp_proc_lookup(t, 14) == NULL, "stat: a short stat leaves nothing known");
	T_EQ_INT(reads_of(&f, 14), 1, "stat: and nothing more is read");

	fake_set(&f, 15, 1, "noids", 100, 0, "/noids", ARGV("noids"), CG_SESSION);
	snprintf(fake_at(&f, 15)->status, sizeof(fake_at(&f, 15)->status), "Name:\tnoids\n");
	p = kp_proc_lookup(t, 15);
	T_OK(p && !(p->known & KP_PROC_IDS) && p->uid == KP_PROC_ID_UNKNOWN &&
		 p->euid == KP_PROC_ID_UNKNOWN,
	     "status: no Uid line, ids unknown");
	T_OK(p && !strcmp(p->exe, "/noids"), "status: the other fields still read");
	kp_proc_free(t);
}

/* ---- the real /proc ---- */

static size_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	while (got < len && (n = read(fd, buf + got, len - got)) > 0)
		got += (size_t)n;
	close(fd);
	return got;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static void test_live_self(const char *argv0)
{
	struct kp_proc_table *t = kp_proc_new(65536);
	char exe[4096] = "", cmd[8192], comm[32] = "", cg[4096] = "", id[128];
	const struct kp_proc *p, *q;
	size_t cmdlen;
	ssize_t n;
	int seeded;

	if (!t) {
		T_OK(0, "live: kp_proc_new");
		return;
	}
	kp_proc_set_source(t, &kp_procfs_source);
	seeded = kp_proc_seed(t);
	T_OK(seeded > 1, "live: seed found processes (%d)", seeded);
	p = kp_proc_get(t, getpid());
	T_OK(p != NULL, "live: this process is in the table");
	if (!p)
		goto out;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	T_EQ_STR(p->exe, exe, "live: exe");
	T_OK(strstr(p->exe, "test_proc") != NULL, "live: exe is this test (%s)", p->exe);
	cmdlen = slurp("/proc/self/cmdline", cmd, sizeof(cmd));
	T_OK(cmdlen > 0 && argv_is(p, cmd, cmdlen), "live: argv is /proc/self/cmdline's bytes");
	T_EQ_STR(p->argv, argv0, "live: argv[0] is main's argv[0]");
	T_EQ_UINT(p->uid, getuid(), "live: uid");
	T_EQ_UINT(p->euid, geteuid(), "live: euid");
	T_EQ_UINT(p->gid, getgid(), "live: gid");
	T_EQ_INT(p->ppid, getppid(), "live: ppid");
	slurp("/proc/self/comm", comm, sizeof(comm) - 1);
	comm[strcspn(comm, "\n")] = '\0';
	T_EQ_STR(p->comm, comm, "live: comm");
	T_OK(p->start_time > 0 && p->start_time <= mono_ns(),
	     "live: start is in CLOCK_MONOTONIC's past (%llu)", (unsigned long long)p->start_time);
	T_OK(mono_ns() - p->start_time < 600 * SEC,
	     "live: and this test started less than 10 min ago");
	if (slurp("/proc/self/cgroup", cg, sizeof(cg) - 1) && !strncmp(cg, "0::", 3) &&
	    strchr(cg, '\n') && !strchr(cg, '\n')[1]) {
		/* a v2-only host: one line */
		*strchr(cg, '\n') = '\0';
		T_EQ_STR(p->cgroup, cg + 3, "live: cgroup is the 0:: path");
	} else {
		T_OK(p->known & KP_PROC_CGROUP, "live: a cgroup was read (%s)", p->cgroup);
	}
	if (kp_container_id(p->cgroup, id, sizeof(id)))
		id[0] = '\0';
	T_EQ_STR(p->container_id, id, "live: container id from the cgroup");
	q = kp_proc_parent(t, p);
	T_OK(q && q->pid == getppid(), "live: parent is getppid()");
	q = kp_proc_get(t, 1);
	T_OK(q && q->ppid == 0 && (q->known & KP_PROC_START), "live: pid 1 has ppid 0");
out:
	kp_proc_free(t);
}

static void test_live_child(void)
{
	struct kp_proc_table *t = kp_proc_new(1024), *t2 = kp_proc_new(1024);
	char path[64], cmdpath[64], link[256], cmd[64];
	const struct kp_proc *p;
	uint64_t t0;
	pid_t child;
	int ok = 0;

	if (!t || !t2)
		goto out;
	kp_proc_set_source(t, &kp_procfs_source);
	kp_proc_set_source(t2, &kp_procfs_source);
	kp_proc_seed(t);
	kp_proc_get(t, getpid());
	child = fork();
	if (child == 0) {
		execl("/bin/sleep", "sleep", "5", (char *)NULL);
		_exit(127);
	}
	t0 = mono_ns(); /* after fork() returned: not before the child's start */
	T_OK(child > 0, "live child: fork");
	if (child < 0)
		goto out;
	/* exec switches /proc/PID/exe before it sets the argument area
	 * (create_elf_tables()): wait for both */
	snprintf(path, sizeof(path), "/proc/%d/exe", child);
	snprintf(cmdpath, sizeof(cmdpath), "/proc/%d/cmdline", child);
	for (int i = 0; i < 400 && !ok; i++) {
		ssize_t n = readlink(path, link, sizeof(link) - 1);

		link[n > 0 ? n : 0] = '\0';
		ok = n > 0 && strstr(link, "sleep") && slurp(cmdpath, cmd, sizeof(cmd)) == 8;
		if (!ok)
			usleep(5000);
	}
	T_OK(ok, "live child: exec'd sleep (%s)", link);
	kp_proc_fork(t, child, getpid(), child, getpid(), t0);
	p = kp_proc_get(t, child);
	T_OK(p && strstr(p->exe, "test_proc") && p->ppid == getpid(),
	     "live child: before its exec record, the parent's image");
	kp_proc_comm(t, child, child, "sleep", true, mono_ns());
	p = kp_proc_get(t, child);
	T_OK(p && !strcmp(p->exe, link), "live child: after it, exe is sleep's (%s)",
	     p ? p->exe : "-");
	T_OK(p && argv_is(p, ARGV("sleep\0"
				  "5")),
	     "live child: argv sleep 5");
	T_OK(p && p->uid == getuid() && !p->exited, "live child: uid, alive");
	T_EQ_UINT(p ? p->start_time : 0, t0, "live child: start is the fork time fed");
	/* a FORK time 10 s before the real one: /proc's start is later, so
	 * the pid is taken for another process's */
	kp_proc_fork(t2, child, getpid(), child, getpid(), t0 - 10 * SEC);
	kp_proc_comm(t2, child, child, "sleep", true, mono_ns());
	p = kp_proc_get(t2, child);
	T_OK(p && !(p->known & KP_PROC_EXE) && p->exited,
	     "live child: a start before /proc's is another process");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	kp_proc_exit(t, child, child, mono_ns());
	p = kp_proc_get(t, child);
	T_OK(p && p->exited && !strcmp(p->exe, link), "live child: exited, data kept");
out:
	kp_proc_free(t);
	kp_proc_free(t2);
}

int main(int argc, char **argv)
{
	(void)argc;
	test_container_id();
	test_seed_fill();
	test_fork_exec_exit();
	test_gone();
	test_unknown();
	test_cap();
	test_parents();
	test_cgroup_lines();
	test_parsing();
	test_live_self(argv[0]);
	test_live_child();
	printf("# %d passed, %d failed\n", t_passed, t_failed);
	return T_DONE();
}
