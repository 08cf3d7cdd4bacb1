// SPDX-License-Identifier: MIT
/*
 * What the kernel read at each exec (see kp_exec.h): two chained hashes of
 * the same entries, the execs under way by thread and the done ones by
 * process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_exec.h"

#define KP_EXEC_BUCKETS 1024

struct kp_exec_ent {
	int32_t key; /* tid while under way, then pid */
	char *exe, *argv;
	size_t exe_len, argv_len;
	uint32_t argc;
	bool truncated, have_ids;
	uint32_t ids[4]; /* uid, euid, gid, egid */
	struct kp_exec_ent *next;
};

struct kp_exec {
	struct kp_exec_ent *enter[KP_EXEC_BUCKETS], *done[KP_EXEC_BUCKETS];
};

struct kp_exec *kp_exec_new(void)
{
	return calloc(1, sizeof(struct kp_exec));
}

static void kp_ent_free(struct kp_exec_ent *e)
{
	if (!e)
		return;
	free(e->exe);
	free(e->argv);
	free(e);
}

void kp_exec_reset(struct kp_exec *x, bool enter, bool done)
{
	for (size_t i = 0; x && i < KP_EXEC_BUCKETS; i++) {
		for (struct kp_exec_ent *e = enter ? x->enter[i] : NULL, *n; e; e = n) {
			n = e->next;
			kp_ent_free(e);
		}
		for (struct kp_exec_ent *e = done ? x->done[i] : NULL, *n; e; e = n) {
			n = e->next;
			kp_ent_free(e);
		}
		if (enter)
			x->enter[i] = NULL;
		if (done)
			x->done[i] = NULL;
	}
}

void kp_exec_free(struct kp_exec *x)
{
	kp_exec_reset(x, true, true);
	free(x);
}

static struct kp_exec_ent **kp_slot(struct kp_exec_ent **tab, int32_t key)
{
	struct kp_exec_ent **at = &tab[(uint32_t)key % KP_EXEC_BUCKETS];

	while (*at && (*at)->key != key)
		at = &(*at)->next;
	return at;
}

/* Unlink and return @key's entry of @tab, or NULL. */
static struct kp_exec_ent *kp_take(struct kp_exec_ent **tab, int32_t key)
{
	struct kp_exec_ent **at = kp_slot(tab, key), *e = *at;

	if (e)
		*at = e->next;
	return e;
}

static void kp_put(struct kp_exec_ent **tab, struct kp_exec_ent *e)
{
	kp_ent_free(kp_take(tab, e->key));
	e->next = tab[(uint32_t)e->key % KP_EXEC_BUCKETS];
	tab[(uint32_t)e->key % KP_EXEC_BUCKETS] = e;
}

int kp_exec_enter(struct kp_exec *x, int32_t tid, const char *file, size_t file_len,
		  const char *argv, size_t argv_len, uint32_t argc, bool truncated)
{
	struct kp_exec_ent *e = calloc(1, sizeof(*e));

	if (!e || !(e->exe = malloc(file_len + 1)) || !(e->argv = malloc(argv_len + 1))) {
		kp_ent_free(e);
		return -ENOMEM;
	}
	e->key = tid;
	memcpy(e->exe, file, file_len);
	e->exe[file_len] = '\0';
	e->exe_len = file_len;
	memcpy(e->argv, argv, argv_len);
	e->argv_len = argv_len;
	e->argc = argc;
	e->truncated = truncated;
	/* a failed execve by the same thread comes first: the last one counts */
	kp_put(x->enter, e);
	return 0;
}

void kp_exec_done(struct kp_exec *x, int32_t pid, int32_t tid)
{
	struct kp_exec_ent *e = kp_take(x->enter, tid);

	/* the exec of a thread that was not the leader is not known: the
	 * process's earlier exec no longer holds either */
	if (!e) {
		kp_ent_free(kp_take(x->done, pid));
		return;
	}
	e->key = pid;
	kp_put(x->done, e);
}

void kp_exec_ids(struct kp_exec *x, int32_t pid, const uint32_t ids[4])
{
	struct kp_exec_ent *e = *kp_slot(x->done, pid);

	if (!e) {
		/* no argv was read (a kernel that read the ids only) */
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->key = pid;
		kp_put(x->done, e);
	}
	memcpy(e->ids, ids, sizeof(e->ids));
	e->have_ids = true;
}

void kp_exec_forget(struct kp_exec *x, int32_t pid, int32_t tid)
{
	kp_ent_free(kp_take(x->enter, tid));
	if (pid == tid)
		kp_ent_free(kp_take(x->done, pid));
}

ssize_t kp_exec_answer(const struct kp_exec *x, int32_t pid, const char *file, char *buf,
		       size_t len)
{
	const struct kp_exec_ent *e;
	const char *from = NULL;
	size_t n = 0;

	if (!x)
		return -ENOENT;
	e = *kp_slot((struct kp_exec_ent **)x->done, pid);
	if (!e)
		return -ENOENT;
	if (!strcmp(file, "cmdline") && e->argv) {
		from = e->argv;
		n = e->argv_len;
	} else if (!strcmp(file, "exe") && e->exe && e->exe[0] == '/') {
		/* a relative path, or one relative to execveat's fd, is not
		 * what /proc/PID/exe would have said */
		from = e->exe;
		n = e->exe_len;
	} else if (!strcmp(file, "status") && e->have_ids) {
		int w = snprintf(buf, len, "Uid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\n",
				 e->ids[0], e->ids[1], e->ids[1], e->ids[1], e->ids[2], e->ids[3],
				 e->ids[3], e->ids[3]);

		return w < 0 || (size_t)w >= len ? -ENOENT : w;
	} else {
		return -ENOENT;
	}
	if (n > len)
		n = len;
	memcpy(buf, from, n);
	return (ssize_t)n;
}
