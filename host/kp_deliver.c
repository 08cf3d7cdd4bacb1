// SPDX-License-Identifier: MIT
/*
 * The one consumer of the run's items, live or replayed (see
 * kp_host_int.h): a process record keeps the comm and process tables and
 * the user symbolizer; a loss is counted; a sample is recorded (--record),
 * filtered (-p), counted, made into the probe's event and handed to its
 * handler through the guard.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <linux/perf_event.h>
#include <lua.h>

#include "kp_comm.h"
#include "kp_exec.h"
#include "kp_format.h"
#include "kp_ftrace.h"
#include "kp_host_int.h"
#include "kp_lua.h"
#include "kp_probe.h"
#include "kp_item.h"
#include "kp_proc.h"
#include "kp_procfs.h"
#include "kp_source.h"
#include "kp_maps.h"
#include "kp_usym.h"

static const char *kp_comm_of(struct kp_host *h, uint32_t pid, uint32_t tid)
{
	const char *c = kp_comm_get(h->comm, (int32_t)tid);
	char path[64], buf[32];
	ssize_t n;

	if (c)
		return c;
	if (tid == 0)
		return "swapper"; /* the idle task: not a /proc entry */
	if (!h->src->local)
		return ""; /* the thread was on the recording machine */
	/* a thread we never heard of: ask /proc once, remember even a miss */
	snprintf(path, sizeof(path), "task/%u/comm", tid);
	n = kp_procfs_read((int32_t)pid, path, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	kp_comm_set(h->comm, (int32_t)pid, (int32_t)tid, buf);
	c = kp_comm_get(h->comm, (int32_t)tid);
	return c ? c : "";
}

/* The process of thread @tid, for records that name only the thread (an
 * ftrace ring's): the comm table's, else /proc's (remembered), else @tid. */
static uint32_t kp_tgid_of(struct kp_host *h, uint32_t tid)
{
	int32_t pid = h->comm ? kp_comm_pid(h->comm, (int32_t)tid) : -1;
	char buf[1024], *at;
	ssize_t n;

	if (pid > 0 || tid == 0 || !h->src->local)
		return pid > 0 ? (uint32_t)pid : tid;
	/* /proc/TID is there for a thread too, though not listed */
	n = kp_procfs_read((int32_t)tid, "status", buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	at = strstr(buf, "\nTgid:");
	pid = at ? (int32_t)strtol(at + 6, NULL, 10) : 0;
	if (pid <= 0)
		return tid;
	if (h->comm && (at = strstr(buf, "Name:\t"))) {
		at += 6;
		at[strcspn(at, "\n")] = '\0';
		kp_comm_set(h->comm, pid, (int32_t)tid, at);
	}
	return (uint32_t)pid;
}

/* Strings the kernel could not read in an event probe's record: a
 * __data_loc of length 0 (an empty string is 1 long, its NUL). */
static void kp_count_faults(struct kp_probe *p, const struct kp_sample *s)
{
	for (size_t i = 0; i < p->nfields; i++) {
		const struct kp_field *f = kp_format_field(p->fmt, p->fields[i]);
		uint32_t loc;

		if (f->kind != KP_FIELD_DYN_STR || f->offset + 4 > s->raw_size)
			continue;
		memcpy(&loc, (const unsigned char *)s->raw + f->offset, 4);
		p->faults += (loc >> 16) == 0;
	}
}

static void kp_on_sample(struct kp_host *h, struct kp_probe *p, const struct kp_sample *s)
{
	lua_State *L = h->L;
	int top = lua_gettop(L);
	struct kp_sample named;

	if (p->by_ftrace && s->pid == KP_FTRACE_NOPID) {
		named = *s;
		named.pid = kp_tgid_of(h, s->tid);
		s = &named;
		kp_count_faults(p, s);
	}
	p->received++;
	if (p->internal) {
		kp_exec_probe_sample(h, p, s);
		return;
	}
	if (h->rec)
		kp_record_tap_sample(h, p, s);
	if (h->stop_now) {
		p->discarded++;
		return;
	}
	if (h->opts.filter_pid && (pid_t)s->pid != h->opts.filter_pid) {
		p->filtered++;
		return;
	}
	if (p->fn_ref == LUA_NOREF) {
		p->delivered++;
		return;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->fn_ref);
	kp_lua_event_push(L, p, s, kp_comm_of(h, s->pid, s->tid));

	h->raw = s->raw;
	h->raw_size = s->raw_size;
	p->delivered++;
	kp_guard_call(h, L, 1);
	h->raw = NULL;
	lua_settop(L, top);
}

static void kp_on_lost(struct kp_host *h, struct kp_probe *p, uint64_t lost)
{
	if (!p) {
		h->sideband_lost += lost; /* comm and process updates missed */
		if (h->exec)
			kp_exec_reset(h->exec, false, true);
		return;
	}
	if (p->internal && h->exec)
		kp_exec_reset(h->exec, true, false);
	p->lost_records += lost;
	if (h->rec && !p->internal)
		kp_record_tap_lost(h, p, lost);
}

/* @pid mapped @t (a PERF_RECORD_MMAP2): the user symbolizer's maps follow. */
static void kp_deliver_mmap(struct kp_usym *us, int32_t pid, const struct kp_task_map *t)
{
	struct kp_map m;

	if (!t->len || t->len > UINT64_MAX - t->addr)
		return;
	m = (struct kp_map){
		.start = t->addr,
		.end = t->addr + t->len,
		.pgoff = t->pgoff,
		/* the kernel's MAJOR/MINOR, as /proc/PID/maps prints them */
		.dev = t->build_id ? 0 : makedev(t->maj, t->min),
		.ino = t->ino,
		/* a mapping without PROT_EXEC (mmap_data records) only
		 * replaces what was there */
		.path = (t->prot & PROT_EXEC) ? t->filename : NULL,
	};
	kp_usym_mmap(us, pid, &m);
}

/* Side-band process records keep the comm and process tables and the user
 * symbolizer's maps, in event order. */
static void kp_on_task(struct kp_host *h, const struct kp_task_rec *r)
{
	bool fork = r->type == PERF_RECORD_FORK && r->pid == r->tid; /* a new process */
	bool exec = r->type == PERF_RECORD_COMM && r->exec;

	if (h->comm)
		kp_comm_apply(h->comm, r);
	if (h->rec)
		kp_record_tap_task(h, r);
	if (!h->src->local) {
		/* another machine's processes, no MMAP2 records: a new process
		 * or a new program makes cached maps of that pid stale */
		if ((fork || exec) && h->usym)
			kp_usym_forget(h->usym, r->pid);
	} else if (fork || exec || r->type == PERF_RECORD_MMAP2) {
		/*
		 * Follow the maps of processes once user frames are named or a
		 * probe that samples them is attached (kp_probe_attach starts the
		 * symbolizer), so the program a -c command runs is seen from its
		 * exec. Runs without user stacks keep no maps.
		 */
		if (h->usym && fork)
			kp_usym_fork(h->usym, r->ppid, r->pid);
		else if (h->usym && exec)
			kp_usym_exec(h->usym, r->pid);
		else if (h->usym)
			kp_deliver_mmap(h->usym, r->pid, &r->map);
	}
	if (h->exec && r->type == PERF_RECORD_FORK)
		kp_exec_forget(h->exec, r->pid, r->tid); /* a reused pid or tid */
	else if (h->exec && exec)
		kp_exec_done(h->exec, r->pid, r->tid);
	else if (h->exec && r->type == PERF_RECORD_EXIT)
		kp_exec_forget(h->exec, r->pid, r->tid);
	if (!h->procs)
		return;
	switch (r->type) {
	case PERF_RECORD_FORK:
		kp_proc_fork(h->procs, r->pid, r->ppid, r->tid, r->ptid, r->time);
		break;
	case PERF_RECORD_COMM:
		kp_proc_comm(h->procs, r->pid, r->tid, r->comm, r->exec, r->time);
		break;
	case PERF_RECORD_EXIT:
		kp_proc_exit(h->procs, r->pid, r->tid, r->time);
		break;
	}
}

void kp_deliver(struct kp_host *h, const struct kp_item *it)
{
	switch (it->type) {
	case KP_ITEM_SAMPLE:
		kp_on_sample(h, it->owner, &it->sample);
		break;
	case KP_ITEM_LOST:
		kp_on_lost(h, it->owner, it->lost);
		break;
	case KP_ITEM_TASK:
		kp_on_task(h, &it->task);
		break;
	case KP_ITEM_SKIP:
		break;
	}
}
