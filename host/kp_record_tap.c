// SPDX-License-Identifier: MIT
/*
 * --record: the live run's tap (see kp_host_int.h). The one place that
 * knows a recording is being written: the file and its header, the
 * processes that exist at its start, each probe's format, every sample,
 * loss and process record as the run delivers it, and the process table's
 * /proc reads, so that a replay sees what the live run saw.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/perf_event.h>

#include "kp_err.h"
#include "kp_exec.h"
#include "kp_format.h"
#include "kp_host_int.h"
#include "kp_probe.h"
#include "kp_item.h"
#include "kp_source_live.h"
#include "kp_proc.h"
#include "kp_procfs.h"
#include "kp_record.h"
#include "kp_tracefs.h"

/* The host whose process table reads /proc through the tap (one per run). */
static struct kp_host *kp_tap_host;

/*
 * --record: the process table reads /proc through here, and every read is
 * kept in the recording as a sample of the pseudo-probe kpscript:proc-read
 * (cpu: 0 read, 1 readlink; tid: the result; raw: "FILE\0" and the bytes),
 * so a replay's process table sees what the live one saw.
 */
static ssize_t kp_rec_proc(int32_t pid, const char *file, char *buf, size_t len, bool link,
			   bool kept)
{
	struct kp_host *h = kp_tap_host;
	char raw[8192];
	size_t fl = strnlen(file, 31);
	ssize_t rc = kept   ? (h ? kp_exec_answer(h->exec, pid, file, buf, len) : -ENOENT)
		     : link ? kp_procfs_readlink(pid, file, buf, len)
			    : kp_procfs_read(pid, file, buf, len);

	if (h && h->rec && fl + 1 + (rc > 0 ? (size_t)rc : 0) <= sizeof(raw)) {
		memcpy(raw, file, fl);
		raw[fl] = '\0';
		if (rc > 0)
			memcpy(raw + fl + 1, buf, (size_t)rc);
		kp_rec_add_sample(h->rec, KP_PROCREAD_ID, link, pid, (int32_t)rc, kp_now_ns(), raw,
				  (uint32_t)(fl + 1 + (rc > 0 ? (size_t)rc : 0)));
	}
	return rc;
}

static ssize_t kp_rec_read(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	(void)ctx;
	return kp_rec_proc(pid, file, buf, len, false, false);
}

static ssize_t kp_rec_readlink(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	(void)ctx;
	return kp_rec_proc(pid, file, buf, len, true, false);
}

/* a gone process's exec-time answers, kept as reads: a replay's kept()
 * reads them back */
static ssize_t kp_rec_kept(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	(void)ctx;
	return kp_rec_proc(pid, file, buf, len, false, true);
}

static const struct kp_proc_source *kp_recording_proc(void)
{
	static struct kp_proc_source src;

	src = kp_procfs_source;
	src.read = kp_rec_read;
	src.readlink = kp_rec_readlink;
	src.kept = kp_rec_kept;
	return &src;
}

/*
 * The processes that exist when a recording starts, as process records at
 * time 0 (a fork from the parent, then the comm), so a replay's process
 * table starts where the live one did.
 */
static void kp_record_seed_one(void *arg, int32_t pid)
{
	struct kp_rec_writer *w = arg;
	char buf[512], comm[KP_PROC_COMM_LEN], state;
	int32_t ppid;
	uint64_t start;
	ssize_t n = kp_procfs_read(pid, "stat", buf, sizeof(buf) - 1);

	if (n <= 0)
		return;
	buf[n] = '\0';
	if (kp_proc_parse_stat(buf, comm, &state, &ppid, &start))
		return;
	kp_rec_add_task(w, PERF_RECORD_FORK, pid, ppid, pid, ppid, "", 0, 0);
	kp_rec_add_task(w, PERF_RECORD_COMM, pid, ppid, pid, ppid, comm, 0, 0);
}

static void kp_record_seed(struct kp_rec_writer *w)
{
	kp_procfs_each_pid(kp_record_seed_one, w);
}

int kp_record_tap_open(struct kp_host *h)
{
	struct kp_rec_header hdr;
	int fd = open(h->opts.record, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640), err;

	if (fd < 0)
		return -errno;
	err = kp_rec_header_now(&hdr);
	h->rec = err ? NULL : kp_rec_create(fd, &hdr);
	if (!h->rec) {
		err = err ? err : -errno;
		close(fd);
		return err;
	}
	kp_record_seed(h->rec);
	kp_rec_add_probe(h->rec, KP_PROCREAD_ID, KP_PROCREAD_NAME, "",
			 "(the /proc reads of kpscript's process table)");
	kp_tap_host = h;
	if (h->procs)
		kp_proc_set_source(h->procs, kp_recording_proc());
	return 0;
}

int kp_record_tap_probe(struct kp_host *h, struct kp_probe *p)
{
	/* the exact format text, so a replay decodes as this run did */
	char rel[600], *text = NULL;
	const char *sys = p->event ? kp_dynevent_group() : NULL;
	int w, err;

	if (sys)
		w = snprintf(rel, sizeof(rel), "events/%s/%s/format", sys, p->event);
	else
		w = snprintf(rel, sizeof(rel), "events/%s/%s/format", kp_format_system(p->fmt),
			     kp_format_name(p->fmt));
	if (p->fmt_text) /* a BPF program's records: no tracefs file has it */
		err = (text = strdup(p->fmt_text)) ? 0 : -ENOMEM;
	else
		err = w > 0 && (size_t)w < sizeof(rel) ? kp_tracefs_read(rel, &text, NULL)
						       : -ENAMETOOLONG;
	if (!err) {
		p->rec_id = h->rec_next_id++;
		err = kp_rec_add_probe(h->rec, p->rec_id, p->name, p->def ? p->def : "", text);
	}
	free(text);
	return err;
}

void kp_record_tap_sample(struct kp_host *h, const struct kp_probe *p, const struct kp_sample *s)
{
	kp_rec_add_sample_chain(h->rec, p->rec_id, s->cpu, (int32_t)s->pid, (int32_t)s->tid,
				s->time, s->raw, s->raw_size, s->ips,
				s->nips > KP_REC_MAX_CHAIN ? 0 : (uint32_t)s->nips);
}

void kp_record_tap_lost(struct kp_host *h, const struct kp_probe *p, uint64_t lost)
{
	kp_rec_add_lost(h->rec, p->rec_id, lost, kp_now_ns());
}

void kp_record_tap_task(struct kp_host *h, const struct kp_task_rec *r)
{
	/* MMAP2 records are not recorded: a replay has no mappings to follow
	 * and names user frames from /proc as it replays, as it always did */
	if (r->type != PERF_RECORD_MMAP2)
		kp_rec_add_task(h->rec, r->type, r->pid, r->ppid, r->tid, r->ptid,
				r->comm ? r->comm : "", r->exec, r->time);
}

void kp_record_tap_flush(struct kp_host *h, uint64_t now)
{
	/* a killed recorder loses at most the last 100 ms */
	if (now - h->rec_flushed > 100000000ull) {
		kp_rec_flush(h->rec);
		h->rec_flushed = now;
	}
}

void kp_record_tap_close(struct kp_host *h)
{
	int err;

	if (!h->rec)
		return;
	err = kp_rec_close(h->rec);
	if (err)
		fprintf(stderr, "kpscript: --record %s: %s\n", h->opts.record, kp_strerror(err));
	h->rec = NULL;
	if (kp_tap_host == h)
		kp_tap_host = NULL;
}
