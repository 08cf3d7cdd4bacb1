// SPDX-License-Identifier: MIT
/*
 * The process table (see kp_proc.h).
 *
 * Entries are allocated one by one and found through a chained hash on pid;
 * every entry is on exactly one of two lists: t->live in least-recently-used
 * order, or t->gone in exit order. Eviction takes the head of gone, else the
 * head of live. exe, argv and cgroup are immutable reference-counted blobs,
 * so a fork shares its parent's instead of copying them.
 *
 * Kernel contracts relied on (kernel/events/core.c, perf_event_task_output
 * and perf_event_comm; fs/proc/array.c, do_task_stat):
 * - PERF_RECORD_FORK carries the new task's pid/tid and, as ppid/ptid, the
 *   task that called fork (`current`); only EXIT reports real_parent.
 * - PERF_RECORD_EXIT comes for every task; the leader's has pid == tid.
 * - PERF_RECORD_COMM with PERF_RECORD_MISC_COMM_EXEC comes from the exec's
 *   __set_task_comm(), after de_thread(): the exec'ing task already holds the
 *   process's pid, and if it was not the leader the old leader's EXIT came
 *   first.
 * - /proc/PID/stat field 22 is task->start_boottime in USER_HZ ticks
 *   (CLOCK_BOOTTIME, so it counts suspend); task->start_time, the
 *   CLOCK_MONOTONIC twin, is set before perf_event_fork() in copy_process(),
 *   so a FORK record's time is never earlier than the task's start.
 */
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kp_proc.h"

#define KP_SCRATCH 8192 /* one /proc file: stat, status, cgroup, exe, cmdline */
#define KP_ID_MAX 256 /* a container id or a machine name, NUL included */
/* clock slack allowed when comparing a /proc start with a FORK time */
#define KP_START_SLACK_NS 1000000ull
#define KP_INHERIT (KP_PROC_COMM | KP_PROC_EXE | KP_PROC_ARGV | KP_PROC_IDS | KP_PROC_CGROUP)
#define KP_EXEC_STALE (KP_PROC_EXE | KP_PROC_ARGV | KP_PROC_IDS | KP_PROC_CGROUP)
#define KP_ARGV_TRUNC 0x80000000u

/* An immutable string shared by a process and the children it forks. */
struct kp_blob {
	uint32_t ref;
	uint32_t len; /* bytes before the final NUL */
	uint32_t aux; /* argv: argc | KP_ARGV_TRUNC; cgroup: offset of the container id */
	char s[];
};

struct kp_ent {
	struct kp_proc p; /* the view kp_proc_get() returns */
	struct kp_ent *hnext; /* hash chain */
	struct kp_ent *prev, *next; /* on t->gone when p.exited, else on t->live */
	struct kp_blob *exe, *argv, *cg;
	uint64_t order; /* the latest the process can have started: parents sort by it */
	uint32_t stale; /* KP_PROC_* fields to read from /proc at the next get */
	bool exit_guessed; /* marked exited because /proc showed it gone */
};

struct kp_list {
	struct kp_ent *head, *tail;
};

struct kp_proc_table {
	struct kp_ent **buckets;
	size_t nbuckets, max_buckets;
	size_t size, cap;
	uint64_t evictions;
	uint64_t last_time; /* the latest time fed in */
	uint64_t boot_off; /* CLOCK_BOOTTIME - CLOCK_MONOTONIC in use */
	bool have_off;
	bool kept_only; /* reads go to src.kept: the process is gone */
	struct kp_list live, gone;
	struct kp_proc_source src;
	char scratch[KP_SCRATCH + 1];
};

/* ---- blobs, lists, hash ---- */

static struct kp_blob *kp_blob_new(const char *s, size_t len)
{
	struct kp_blob *b;

	if (len >= UINT32_MAX)
		return NULL;
	b = malloc(sizeof(*b) + len + 1);
	if (!b)
		return NULL;
	b->ref = 1;
	b->len = (uint32_t)len;
	b->aux = 0;
	memcpy(b->s, s, len);
	b->s[len] = '\0';
	return b;
}

static struct kp_blob *kp_blob_get(struct kp_blob *b)
{
	if (b)
		b->ref++;
	return b;
}

static void kp_blob_put(struct kp_blob *b)
{
	if (b && --b->ref == 0)
		free(b);
}

/* Point the public view's strings at the blobs ("" for none). */
static void kp_ent_sync(struct kp_ent *e)
{
	struct kp_proc *p = &e->p;

	p->exe = e->exe ? e->exe->s : "";
	p->argv = e->argv ? e->argv->s : "";
	p->argv_len = e->argv ? e->argv->len : 0;
	p->argc = e->argv ? e->argv->aux & ~KP_ARGV_TRUNC : 0;
	p->argv_truncated = e->argv && (e->argv->aux & KP_ARGV_TRUNC);
	p->cgroup = e->cg ? e->cg->s : "";
	p->container_id = e->cg ? e->cg->s + e->cg->aux : "";
}

static void kp_list_del(struct kp_list *l, struct kp_ent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

static void kp_list_add(struct kp_list *l, struct kp_ent *e)
{
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
}

static struct kp_list *kp_list_of(struct kp_proc_table *t, const struct kp_ent *e)
{
	return e->p.exited ? &t->gone : &t->live;
}

static size_t kp_bucket(const struct kp_proc_table *t, int32_t pid)
{
	uint32_t x = (uint32_t)pid * 2654435761u;

	/* fold the high bits in: the table indexes by the low ones */
	return (x ^ (x >> 16)) & (t->nbuckets - 1);
}

static struct kp_ent *kp_find(const struct kp_proc_table *t, int32_t pid)
{
	if (pid <= 0)
		return NULL;
	for (struct kp_ent *e = t->buckets[kp_bucket(t, pid)]; e; e = e->hnext)
		if (e->p.pid == pid)
			return e;
	return NULL;
}

static void kp_grow(struct kp_proc_table *t)
{
	size_t old_n = t->nbuckets;
	struct kp_ent **old = t->buckets, **b;

	b = calloc(old_n * 2, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	t->buckets = b;
	t->nbuckets = old_n * 2;
	for (size_t i = 0; i < old_n; i++) {
		struct kp_ent *e = old[i], *next;

		for (; e; e = next) {
			size_t h = kp_bucket(t, e->p.pid);

			next = e->hnext;
			e->hnext = b[h];
			b[h] = e;
		}
	}
	free(old);
}

static void kp_ent_clear(struct kp_ent *e, int32_t pid)
{
	kp_blob_put(e->exe);
	kp_blob_put(e->argv);
	kp_blob_put(e->cg);
	e->exe = e->argv = e->cg = NULL;
	memset(&e->p, 0, sizeof(e->p));
	e->p.pid = pid;
	e->p.ppid = -1;
	e->p.uid = e->p.euid = e->p.gid = e->p.egid = KP_PROC_ID_UNKNOWN;
	e->order = 0;
	e->stale = 0;
	e->exit_guessed = false;
	kp_ent_sync(e);
}

static void kp_remove(struct kp_proc_table *t, struct kp_ent *e)
{
	struct kp_ent **pp = &t->buckets[kp_bucket(t, e->p.pid)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	kp_list_del(kp_list_of(t, e), e);
	kp_ent_clear(e, 0);
	free(e);
	t->size--;
}

static struct kp_ent *kp_add(struct kp_proc_table *t, int32_t pid)
{
	struct kp_ent *e;
	size_t h;

	if (t->size >= t->cap) {
		/* the earliest exit, else the live entry least recently used */
		e = t->gone.head ? t->gone.head : t->live.head;
		if (e) {
			kp_remove(t, e);
			t->evictions++;
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	kp_ent_clear(e, pid);
	h = kp_bucket(t, pid);
	e->hnext = t->buckets[h];
	t->buckets[h] = e;
	kp_list_add(&t->live, e);
	t->size++;
	if (t->size > t->nbuckets && t->nbuckets < t->max_buckets)
		kp_grow(t);
	return e;
}

/* A blank live entry for @pid, reusing the one it has (pid reuse). */
static struct kp_ent *kp_renew(struct kp_proc_table *t, int32_t pid)
{
	struct kp_ent *e = kp_find(t, pid);

	if (!e)
		return kp_add(t, pid);
	kp_list_del(kp_list_of(t, e), e);
	kp_ent_clear(e, pid);
	kp_list_add(&t->live, e);
	return e;
}

static void kp_touch(struct kp_proc_table *t, struct kp_ent *e)
{
	if (e->p.exited || !e->next)
		return;
	kp_list_del(&t->live, e);
	kp_list_add(&t->live, e);
}

static void kp_mark_exited(struct kp_proc_table *t, struct kp_ent *e, uint64_t time, bool guessed)
{
	if (e->p.exited)
		return;
	kp_list_del(&t->live, e);
	e->p.exited = true;
	e->p.exit_time = time;
	e->exit_guessed = guessed;
	kp_list_add(&t->gone, e);
}

static void kp_revive(struct kp_proc_table *t, struct kp_ent *e)
{
	if (!e->p.exited)
		return;
	kp_list_del(&t->gone, e);
	e->p.exited = false;
	e->p.exit_time = 0;
	e->exit_guessed = false;
	kp_list_add(&t->live, e);
}

static void kp_see(struct kp_proc_table *t, uint64_t time)
{
	if (time > t->last_time)
		t->last_time = time;
}

/* Make the fields in @bits unknown. */
static void kp_forget(struct kp_ent *e, uint32_t bits)
{
	struct kp_proc *p = &e->p;

	if (bits & KP_PROC_PPID)
		p->ppid = -1;
	if (bits & KP_PROC_COMM)
		memset(p->comm, 0, sizeof(p->comm));
	if (bits & KP_PROC_EXE) {
		kp_blob_put(e->exe);
		e->exe = NULL;
	}
	if (bits & KP_PROC_ARGV) {
		kp_blob_put(e->argv);
		e->argv = NULL;
	}
	if (bits & KP_PROC_IDS)
		p->uid = p->euid = p->gid = p->egid = KP_PROC_ID_UNKNOWN;
	if (bits & KP_PROC_START) {
		p->start_time = 0;
		e->order = 0;
	}
	if (bits & KP_PROC_CGROUP) {
		kp_blob_put(e->cg);
		e->cg = NULL;
	}
	p->known &= ~bits;
	kp_ent_sync(e);
}

/* ---- filling from /proc ---- */

static ssize_t kp_read(struct kp_proc_table *t, int32_t pid, const char *file, size_t len)
{
	ssize_t n = !t->kept_only ? t->src.read(t->src.ctx, pid, file, t->scratch, len)
		    : t->src.kept ? t->src.kept(t->src.ctx, pid, file, t->scratch, len)
				  : -ENOENT;

	if (n > (ssize_t)len)
		n = -EIO; /* a broken source */
	t->scratch[n > 0 ? n : 0] = '\0';
	return n;
}

/*
 * /proc/PID/stat's start (boot-time ticks) in CLOCK_MONOTONIC ns; *@tick_ns
 * is the tick, the start's uncertainty. The offset between the clocks is
 * kept while new readings stay within the slack of it: two processes
 * started in the same tick must convert to the same time, or the later
 * fill would put a child before its parent by a few ns of read jitter.
 */
static uint64_t kp_ticks_to_mono(struct kp_proc_table *t, uint64_t ticks, uint64_t *tick_ns)
{
	uint64_t off = 0, boot;

	*tick_ns = 0;
	t->src.clock(t->src.ctx, tick_ns, &off);
	if (!t->have_off || off > t->boot_off + KP_START_SLACK_NS ||
	    off + KP_START_SLACK_NS < t->boot_off) {
		t->boot_off = off; /* first use, or a suspend since */
		t->have_off = true;
	}
	boot = ticks * *tick_ns;
	return boot > t->boot_off ? boot - t->boot_off : 0;
}

static void kp_fill_ids(struct kp_proc_table *t, struct kp_ent *e)
{
	struct kp_proc *p = &e->p;

	if (kp_read(t, p->pid, "status", KP_SCRATCH) < 0 ||
	    kp_proc_parse_ids(t->scratch, "Uid:", &p->uid, &p->euid) ||
	    kp_proc_parse_ids(t->scratch, "Gid:", &p->gid, &p->egid)) {
		kp_forget(e, KP_PROC_IDS);
		return;
	}
	p->known |= KP_PROC_IDS;
}

static void kp_fill_exe(struct kp_proc_table *t, struct kp_ent *e)
{
	ssize_t n = t->kept_only
			? kp_read(t, e->p.pid, "exe", KP_SCRATCH)
			: t->src.readlink(t->src.ctx, e->p.pid, "exe", t->scratch, KP_SCRATCH);
	struct kp_blob *b = n >= 0 && n <= KP_SCRATCH ? kp_blob_new(t->scratch, (size_t)n) : NULL;

	/* a kernel thread or a zombie has no exe: ENOENT */
	kp_forget(e, KP_PROC_EXE);
	if (b) {
		e->exe = b;
		e->p.known |= KP_PROC_EXE;
	}
}

/*
 * /proc/PID/cmdline is argv as NUL-terminated strings. A process that wrote
 * over its argument area may leave no final NUL: one is added.
 */
static void kp_fill_argv(struct kp_proc_table *t, struct kp_ent *e)
{
	ssize_t got = kp_read(t, e->p.pid, "cmdline", KP_PROC_ARGV_MAX + 1);
	bool trunc = got > KP_PROC_ARGV_MAX;
	size_t n = trunc ? KP_PROC_ARGV_MAX : (size_t)(got > 0 ? got : 0);
	uint32_t argc = 0;
	struct kp_blob *b;

	kp_forget(e, KP_PROC_ARGV);
	if (got < 0)
		return;
	if (n && t->scratch[n - 1] != '\0') {
		if (n < KP_PROC_ARGV_MAX)
			n++;
		t->scratch[n - 1] = '\0';
	}
	for (size_t i = 0; i < n; i++)
		argc += t->scratch[i] == '\0';
	b = kp_blob_new(t->scratch, n);
	if (!b)
		return;
	b->aux = argc | (trunc ? KP_ARGV_TRUNC : 0);
	e->argv = b;
	e->p.known |= KP_PROC_ARGV;
}

static void kp_fill_cgroup(struct kp_proc_table *t, struct kp_ent *e)
{
	const char *path = NULL;
	char id[KP_ID_MAX];
	struct kp_blob *b;
	size_t plen, ilen;

	kp_forget(e, KP_PROC_CGROUP);
	if (kp_read(t, e->p.pid, "cgroup", KP_SCRATCH) < 0 ||
	    kp_proc_cgroup_pick(t->scratch, &path, id, sizeof(id)))
		return;
	plen = strlen(path);
	ilen = strlen(id);
	b = kp_blob_new(path, plen + 1 + ilen);
	if (!b)
		return;
	memcpy(b->s + plen + 1, id, ilen + 1);
	b->aux = (uint32_t)plen + 1;
	e->cg = b;
	e->p.known |= KP_PROC_CGROUP;
}

/*
 * Read the stale fields of @e from /proc, once: whatever fails stays
 * unknown until the next fork or exec marks it stale again.
 */
/* The fields an exec sets, those of @want. */
static void kp_fill_exec(struct kp_proc_table *t, struct kp_ent *e, uint32_t want)
{
	if (want & KP_PROC_IDS)
		kp_fill_ids(t, e);
	if (want & KP_PROC_EXE)
		kp_fill_exe(t, e);
	if (want & KP_PROC_ARGV)
		kp_fill_argv(t, e);
}

static void kp_fill(struct kp_proc_table *t, struct kp_ent *e)
{
	uint32_t want = e->stale;
	char comm[KP_PROC_COMM_LEN], state = 0;
	uint64_t ticks = 0, start, tick_ns;
	int32_t ppid = -1;
	ssize_t n;

	e->stale = 0;
	/* an exited process's pid may already be another's: never read it */
	if (e->p.exited) {
		kp_forget(e, want);
		return;
	}
	n = kp_read(t, e->p.pid, "stat", KP_SCRATCH);
	if (n == -ENOENT || n == -ESRCH)
		goto gone;
	if (n < 0 || kp_proc_parse_stat(t->scratch, comm, &state, &ppid, &ticks)) {
		kp_forget(e, want);
		return;
	}
	start = kp_ticks_to_mono(t, ticks, &tick_ns);
	/* the pid was reused: this process started after ours */
	if ((e->p.known & KP_PROC_START) && !(want & KP_PROC_START) &&
	    start > e->p.start_time + KP_START_SLACK_NS)
		goto gone;
	if (want & KP_PROC_COMM) {
		memcpy(e->p.comm, comm, sizeof(comm));
		e->p.known |= KP_PROC_COMM;
	}
	if (want & KP_PROC_PPID) {
		e->p.ppid = ppid;
		e->p.known |= KP_PROC_PPID;
	}
	if (want & KP_PROC_START) {
		e->p.start_time = start;
		e->order = start + tick_ns; /* the tick was cut off */
		e->p.known |= KP_PROC_START;
	}
	want &= ~(KP_PROC_COMM | KP_PROC_PPID | KP_PROC_START);
	/* a zombie has no exe and an empty cmdline any more */
	if (state == 'Z' || state == 'X')
		goto gone;
	kp_fill_exec(t, e, want);
	if (want & KP_PROC_CGROUP)
		kp_fill_cgroup(t, e);
	kp_ent_sync(e);
	return;
gone:
	/* the EXIT record is still on its way (or was lost): its time, when it
	 * comes, replaces this one */
	kp_forget(e, want);
	/* what the kernel gave at the exec outlives the process */
	t->kept_only = true;
	kp_fill_exec(t, e, want);
	t->kept_only = false;
	kp_ent_sync(e);
	kp_mark_exited(t, e, t->last_time, true);
}

/* ---- the table ---- */

struct kp_proc_table *kp_proc_new(size_t cap)
{
	struct kp_proc_table *t;
	size_t n = 16;

	if (cap == 0) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	while (n < cap && n < ((size_t)1 << 26))
		n <<= 1;
	t->max_buckets = n;
	t->nbuckets = n < 1024 ? n : 1024;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->cap = cap;
	t->src = kp_proc_no_source;
	return t;
}

void kp_proc_free(struct kp_proc_table *t)
{
	struct kp_list *lists[2];

	if (!t)
		return;
	lists[0] = &t->live;
	lists[1] = &t->gone;
	for (int i = 0; i < 2; i++) {
		struct kp_ent *e = lists[i]->head, *next;

		for (; e; e = next) {
			next = e->next;
			kp_ent_clear(e, 0);
			free(e);
		}
	}
	free(t->buckets);
	free(t);
}

void kp_proc_set_source(struct kp_proc_table *t, const struct kp_proc_source *src)
{
	t->src = src ? *src : kp_proc_no_source;
}

struct kp_seed {
	struct kp_proc_table *t;
	int added;
	int err;
};

static void kp_seed_one(void *arg, int32_t pid)
{
	struct kp_seed *s = arg;
	struct kp_ent *e;

	if (pid <= 0 || kp_find(s->t, pid))
		return;
	e = kp_add(s->t, pid);
	if (!e) {
		s->err = -ENOMEM;
		return;
	}
	e->stale = KP_PROC_ALL;
	s->added++;
}

int kp_proc_seed(struct kp_proc_table *t)
{
	struct kp_seed s = { .t = t };
	int r = t->src.each_pid(t->src.ctx, kp_seed_one, &s);

	if (r < 0)
		return r;
	return s.err ? s.err : s.added;
}

int kp_proc_fork(struct kp_proc_table *t, int32_t pid, int32_t ppid, int32_t tid, int32_t ptid,
		 uint64_t time)
{
	struct kp_ent *e, *parent;
	uint32_t fresh = 0;

	(void)ptid;
	kp_see(t, time);
	if (pid <= 0 || pid != tid)
		return 0; /* a new thread: not a process */
	e = kp_renew(t, pid);
	if (!e)
		return -ENOMEM;
	e->p.ppid = ppid;
	e->p.start_time = time;
	e->order = time; /* not earlier than the task's start, and close to it */
	e->p.known = KP_PROC_PPID | KP_PROC_START;
	/* looked up after kp_renew(): its eviction may have taken the parent */
	parent = ppid != pid ? kp_find(t, ppid) : NULL;
	if (parent)
		fresh = parent->p.known & ~parent->stale & KP_INHERIT;
	/* fork copies the parent's image, credentials and cgroup (clone3's
	 * CLONE_INTO_CGROUP aside, and what execs next is refreshed anyway) */
	if (fresh & KP_PROC_COMM)
		memcpy(e->p.comm, parent->p.comm, sizeof(e->p.comm));
	if (fresh & KP_PROC_EXE)
		e->exe = kp_blob_get(parent->exe);
	if (fresh & KP_PROC_ARGV)
		e->argv = kp_blob_get(parent->argv);
	if (fresh & KP_PROC_CGROUP)
		e->cg = kp_blob_get(parent->cg);
	if (fresh & KP_PROC_IDS) {
		e->p.uid = parent->p.uid;
		e->p.euid = parent->p.euid;
		e->p.gid = parent->p.gid;
		e->p.egid = parent->p.egid;
	}
	e->p.known |= fresh;
	e->stale = KP_INHERIT & ~fresh;
	kp_ent_sync(e);
	return 0;
}

int kp_proc_comm(struct kp_proc_table *t, int32_t pid, int32_t tid, const char *comm, bool exec,
		 uint64_t time)
{
	struct kp_ent *e;

	kp_see(t, time);
	if (pid <= 0 || (!exec && pid != tid))
		return 0; /* a thread's rename: the process's comm is its leader's */
	e = kp_find(t, pid);
	if (!e || !e->p.known) {
		/* its FORK was lost (or it is remembered gone): start over */
		e = kp_renew(t, pid);
		if (!e)
			return -ENOMEM;
		e->stale = KP_PROC_ALL;
	} else if (exec && e->p.exited) {
		/* a non-leader thread exec'd: the old leader's EXIT came first.
		 * Or a new process took the pid and its FORK was lost: either
		 * way /proc now tells the parent and start. */
		kp_revive(t, e);
		e->stale |= KP_PROC_PPID | KP_PROC_START;
	}
	memset(e->p.comm, 0, sizeof(e->p.comm));
	strncpy(e->p.comm, comm, KP_PROC_COMM_LEN - 1);
	e->p.known |= KP_PROC_COMM;
	e->stale &= ~KP_PROC_COMM;
	if (exec) {
		e->stale |= KP_EXEC_STALE;
		e->p.exec_time = time;
	}
	kp_touch(t, e);
	return 0;
}

void kp_proc_exit(struct kp_proc_table *t, int32_t pid, int32_t tid, uint64_t time)
{
	struct kp_ent *e;

	kp_see(t, time);
	if (pid <= 0 || pid != tid)
		return; /* a thread ended, not the process */
	e = kp_find(t, pid);
	if (!e)
		return;
	if (e->p.exited) {
		if (e->exit_guessed) {
			e->p.exit_time = time;
			e->exit_guessed = false;
		}
		return;
	}
	kp_mark_exited(t, e, time, false);
}

const struct kp_proc *kp_proc_get(struct kp_proc_table *t, int32_t pid)
{
	struct kp_ent *e = kp_find(t, pid);

	if (!e)
		return NULL;
	if (e->stale)
		kp_fill(t, e);
	if (!e->p.known)
		return NULL; /* remembered gone, or nothing could be read */
	kp_touch(t, e);
	return &e->p;
}

const struct kp_proc *kp_proc_lookup(struct kp_proc_table *t, int32_t pid)
{
	struct kp_ent *e;

	if (pid <= 0)
		return NULL;
	if (kp_find(t, pid))
		return kp_proc_get(t, pid);
	e = kp_add(t, pid);
	if (!e)
		return NULL;
	/* if /proc has no such pid, kp_fill() leaves it exited with nothing
	 * known: kept until it expires, so asking again costs no read */
	e->stale = KP_PROC_ALL;
	return kp_proc_get(t, pid);
}

static const struct kp_ent *kp_ent_of(const struct kp_proc *p)
{
	return (const struct kp_ent *)((const char *)p - offsetof(struct kp_ent, p));
}

const struct kp_proc *kp_proc_parent(struct kp_proc_table *t, const struct kp_proc *p)
{
	const struct kp_proc *q;
	uint64_t po, qo;

	if (!p || !(p->known & KP_PROC_PPID) || !(p->known & KP_PROC_START) || p->ppid <= 0 ||
	    p->ppid == p->pid)
		return NULL;
	q = kp_proc_get(t, p->ppid);
	if (!q || !(q->known & KP_PROC_START))
		return NULL;
	/* A parent starts before its child; starts are compared at the latest
	 * each can be (a start from /proc is cut to the tick), so a child whose
	 * FORK was lost still finds a parent forked in the same tick. (order,
	 * pid) strictly decreases up a chain, so no walk loops. */
	po = kp_ent_of(p)->order;
	qo = kp_ent_of(q)->order;
	if (qo > po || (qo == po && q->pid > p->pid))
		return NULL;
	return q;
}

size_t kp_proc_expire(struct kp_proc_table *t, uint64_t now_ns, uint64_t grace_ns)
{
	uint64_t before = now_ns > grace_ns ? now_ns - grace_ns : 0;
	struct kp_ent *e = t->gone.head, *next;
	size_t n = 0;

	kp_see(t, now_ns);
	/* the whole list: an exit time replaced by a late EXIT may be out of
	 * order */
	for (; e; e = next) {
		next = e->next;
		if (e->p.exit_time < before) {
			kp_remove(t, e);
			n++;
		}
	}
	return n;
}

void kp_proc_stats(const struct kp_proc_table *t, size_t *size, uint64_t *evictions, size_t *cap)
{
	if (size)
		*size = t->size;
	if (evictions)
		*evictions = t->evictions;
	if (cap)
		*cap = t->cap;
}
