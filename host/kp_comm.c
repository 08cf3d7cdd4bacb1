// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/perf_event.h>

#include "kp_comm.h"

#define KP_TID_FREE 0
#define KP_TID_GONE -1 /* tombstone */

struct kp_comm_ent {
	int32_t tid;
	int32_t pid;
	uint64_t exit_time; /* 0 while alive */
	char comm[KP_COMM_LEN];
};

struct kp_comm {
	struct kp_comm_ent *ents;
	uint32_t mask;
	uint32_t used; /* live entries */
	uint32_t taken; /* live entries plus tombstones */
};

static uint32_t kp_hash(int32_t tid)
{
	uint32_t x = (uint32_t)tid * 2654435761u;

	/* fold the high bits in: the table indexes by the low ones */
	return x ^ (x >> 16);
}

struct kp_comm *kp_comm_new(void)
{
	struct kp_comm *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->mask = 1023;
	c->ents = calloc(c->mask + 1, sizeof(*c->ents));
	if (!c->ents) {
		free(c);
		return NULL;
	}
	return c;
}

void kp_comm_free(struct kp_comm *c)
{
	if (!c)
		return;
	free(c->ents);
	free(c);
}

static struct kp_comm_ent *kp_comm_find(const struct kp_comm *c, int32_t tid)
{
	if (tid <= 0)
		return NULL; /* 0 marks a free slot, -1 a tombstone */
	for (uint32_t i = kp_hash(tid) & c->mask;; i = (i + 1) & c->mask) {
		struct kp_comm_ent *e = &c->ents[i];

		if (e->tid == tid)
			return e;
		if (e->tid == KP_TID_FREE)
			return NULL;
	}
}

static int kp_comm_grow(struct kp_comm *c)
{
	uint32_t cap = (c->used * 4 > c->mask + 1) ? (c->mask + 1) * 2 : c->mask + 1;
	struct kp_comm_ent *old = c->ents, *ents;
	uint32_t old_n = c->mask + 1;

	ents = calloc(cap, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	c->ents = ents;
	c->mask = cap - 1;
	c->used = c->taken = 0;
	for (uint32_t i = 0; i < old_n; i++) {
		if (old[i].tid <= 0)
			continue;
		for (uint32_t j = kp_hash(old[i].tid) & c->mask;; j = (j + 1) & c->mask) {
			if (ents[j].tid == KP_TID_FREE) {
				ents[j] = old[i];
				break;
			}
		}
		c->used++;
		c->taken++;
	}
	free(old);
	return 0;
}

static struct kp_comm_ent *kp_comm_slot(struct kp_comm *c, int32_t tid)
{
	struct kp_comm_ent *e = kp_comm_find(c, tid), *tomb = NULL;

	if (e)
		return e;
	/* keep at most half the table taken so probes stay short */
	if ((c->taken + 1) * 2 > c->mask + 1 && kp_comm_grow(c))
		return NULL;
	for (uint32_t i = kp_hash(tid) & c->mask;; i = (i + 1) & c->mask) {
		e = &c->ents[i];
		if (e->tid == KP_TID_GONE && !tomb)
			tomb = e;
		if (e->tid == KP_TID_FREE)
			break;
	}
	if (tomb)
		e = tomb;
	else
		c->taken++;
	c->used++;
	memset(e, 0, sizeof(*e));
	e->tid = tid;
	return e;
}

void kp_comm_set(struct kp_comm *c, int32_t pid, int32_t tid, const char *comm)
{
	struct kp_comm_ent *e;

	if (tid <= 0)
		return;
	e = kp_comm_slot(c, tid);
	if (!e)
		return;
	e->pid = pid;
	e->exit_time = 0;
	strncpy(e->comm, comm, KP_COMM_LEN - 1);
	e->comm[KP_COMM_LEN - 1] = '\0';
}

void kp_comm_fork(struct kp_comm *c, int32_t pid, int32_t tid, int32_t ptid)
{
	const struct kp_comm_ent *parent = kp_comm_find(c, ptid);
	char comm[KP_COMM_LEN] = "";

	/* a new task starts with its parent's comm until it execs or renames */
	if (parent)
		memcpy(comm, parent->comm, sizeof(comm));
	kp_comm_set(c, pid, tid, comm);
}

void kp_comm_exit(struct kp_comm *c, int32_t tid, uint64_t time)
{
	struct kp_comm_ent *e = kp_comm_find(c, tid);

	if (e && !e->exit_time)
		e->exit_time = time ? time : 1;
}

void kp_comm_apply(struct kp_comm *c, const struct kp_task_rec *r)
{
	switch (r->type) {
	case PERF_RECORD_COMM:
		kp_comm_set(c, r->pid, r->tid, r->comm ? r->comm : "");
		break;
	case PERF_RECORD_FORK:
		kp_comm_fork(c, r->pid, r->tid, r->ptid);
		break;
	case PERF_RECORD_EXIT:
		kp_comm_exit(c, r->tid, r->time);
		break;
	default:
		break;
	}
}

void kp_comm_expire(struct kp_comm *c, uint64_t before)
{
	for (uint32_t i = 0; i <= c->mask; i++) {
		struct kp_comm_ent *e = &c->ents[i];

		if (e->tid > 0 && e->exit_time && e->exit_time < before) {
			e->tid = KP_TID_GONE;
			c->used--;
		}
	}
}

const char *kp_comm_get(const struct kp_comm *c, int32_t tid)
{
	const struct kp_comm_ent *e = kp_comm_find(c, tid);

	return e ? e->comm : NULL;
}

int32_t kp_comm_pid(const struct kp_comm *c, int32_t tid)
{
	const struct kp_comm_ent *e = kp_comm_find(c, tid);

	return e ? e->pid : -1;
}

uint32_t kp_comm_size(const struct kp_comm *c)
{
	return c->used;
}
