// SPDX-License-Identifier: MIT
/*
 * The process table's own probes (kp_host_int.h): BPF programs kpscript
 * generates (kp_bpf_gen.h) on the execve tracepoints, which read the path
 * and argv before the new program can exit, and, where names from BTF work
 * (6.1 and later), one on sched_process_exec that reads the task's
 * credentials as the exec left them. Their records feed h->exec
 * (kp_exec.h), which the table asks for processes /proc no longer has.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_decode.h"
#include "kp_exec.h"
#include "kp_features.h"
#include "kp_format.h"
#include "kp_host_int.h"
#include "kp_item.h"
#include "kp_probe.h"
#include "kp_proc.h"
#include "kp_source.h"

enum { KP_EXEC_ARGS = 1, KP_EXEC_IDS = 2 };

/* argv entries read: one more than a list that is surely whole */
#define KP_EXEC_ARGC 33
#define KP_EXEC_ARGS_SPEC "argv=+u0($argv):ustring[33] file=+0($filename):ustring"
#define KP_NOREF (-2) /* LUA_NOREF: no Lua handler or table */

/* @p released and freed (it is on no list) */
static void kp_exec_probe_drop(struct kp_probe *p)
{
	kp_probe_release(p);
	free(p->name);
	free(p->event);
	free(p->def);
	free(p);
}

static struct kp_probe *kp_exec_probe(struct kp_host *h, int role, const struct kp_probe_spec *s)
{
	struct kp_probe *p = calloc(1, sizeof(*p));
	char msg[2048];

	if (!p)
		return NULL;
	p->host = h;
	p->kind = KP_TRACEPOINT;
	p->closed = true;
	p->internal = role;
	p->fn_ref = p->ev_ref = p->keys_ref = p->dirty_ref = KP_NOREF;
	if (kp_probe_create(h, p, s, msg, sizeof(msg))) {
		kp_exec_probe_drop(p);
		return NULL;
	}
	p->next = h->probes;
	h->probes = p;
	return p;
}

void kp_exec_probes_start(struct kp_host *h)
{
	static const char *const events[] = { "sys_enter_execve", "sys_enter_execveat" };
	static const struct kp_btf_name ids[] = {
		{ "uid", "p->cred->uid.val" },
		{ "euid", "p->cred->euid.val" },
		{ "gid", "p->cred->gid.val" },
		{ "egid", "p->cred->egid.val" },
	};
	struct kp_probe_spec s = { .kind = KP_TRACEPOINT, .opts.pages = 32, .backend = "bpf" };
	size_t n = 0;

	if (h->exec || !h->exec_want || !h->sideband || !h->src || !h->src->local ||
	    h->opts.replay || h->opts.dry_run || kp_feature_has("bpf") != 1 ||
	    !(h->exec = kp_exec_new()))
		return;
	s.sys = "syscalls";
	s.args = KP_EXEC_ARGS_SPEC;
	for (size_t i = 0; i < 2; i++) {
		s.event = events[i];
		h->exec_probes[n] = kp_exec_probe(h, KP_EXEC_ARGS, &s);
		n += h->exec_probes[n] != NULL;
	}
	/* 5.10's BTF has no __bpf_trace_* functions: the ids come from /proc */
	s.sys = "sched";
	s.event = "sched_process_exec";
	s.args = "";
	s.btf = ids;
	s.nbtf = 4;
	s.opts.pages = 8; /* 4 ids a record */
	h->exec_probes[n] = kp_exec_probe(h, KP_EXEC_IDS, &s);
}

void kp_exec_want(struct kp_host *h)
{
	h->exec_want = true;
	if (h->sideband)
		kp_exec_probes_start(h);
}

static bool kp_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

bool kp_exec_text_wants(const char *text, size_t len)
{
	static const char *const words[] = { "proc", "emit", "rule" };

	/* each as a whole identifier: ev.proc, kp.emit(, kp.rule{; not
	 * sched_process_exec */
	for (size_t i = 0; i < len; i++) {
		if (i && kp_ident_char(text[i - 1]))
			continue;
		for (size_t k = 0; k < 3; k++) {
			size_t n = strlen(words[k]);

			if (len - i >= n && !memcmp(text + i, words[k], n) &&
			    (len - i == n || !kp_ident_char(text[i + n])))
				return true;
		}
	}
	return false;
}

/* An execve's record: argv's strings back to back, each with its NUL. */
static void kp_exec_args(struct kp_host *h, const struct kp_probe *p, const struct kp_sample *s)
{
	struct kp_value file = { 0 }, argv = { 0 };
	char buf[KP_PROC_ARGV_MAX];
	size_t used = 0, argc = 0;
	bool cut = false;

	for (size_t i = 0; i < p->nfields; i++) {
		const struct kp_field *f = kp_format_field(p->fmt, p->fields[i]);
		struct kp_value *v = !strcmp(f->name, "file") ? &file : &argv;

		if (kp_field_decode(f, s->raw, s->raw_size, v))
			return;
	}
	if (file.type != KP_VAL_STR || argv.type != KP_VAL_STRS)
		return;
	for (size_t i = 0; i < argv.len && !cut; i++) {
		const char *str;
		size_t len;
		int rc = kp_value_str(&argv, s->raw, s->raw_size, i, &str, &len);

		if (rc)
			break; /* the NULL that ends the list (or a bad record) */
		if (used + len + 1 > sizeof(buf)) {
			cut = true;
			break;
		}
		memcpy(buf + used, str, len);
		buf[used + len] = '\0';
		used += len + 1;
		argc++;
		cut = argc == KP_EXEC_ARGC; /* there may be more */
	}
	kp_exec_enter(h->exec, (int32_t)s->tid, file.ptr, file.len, buf, used, (uint32_t)argc, cut);
}

/* sched_process_exec's: the credentials; the pid is the process's now. */
static void kp_exec_creds(struct kp_host *h, const struct kp_probe *p, const struct kp_sample *s)
{
	static const char *const names[] = { "uid", "euid", "gid", "egid" };
	uint32_t ids[4] = { 0 };
	unsigned int have = 0;

	for (size_t i = 0; i < p->nfields; i++) {
		const struct kp_field *f = kp_format_field(p->fmt, p->fields[i]);
		struct kp_value v;

		for (size_t k = 0; k < 4; k++) {
			if (strcmp(f->name, names[k]) ||
			    kp_field_decode(f, s->raw, s->raw_size, &v))
				continue;
			ids[k] = (uint32_t)(v.type == KP_VAL_INT ? (uint64_t)v.i : v.u);
			have |= 1u << k;
		}
	}
	if (have == 0xf)
		kp_exec_ids(h->exec, (int32_t)s->pid, ids);
}

void kp_exec_probe_sample(struct kp_host *h, struct kp_probe *p, const struct kp_sample *s)
{
	p->delivered++;
	if (!h->exec || !p->fmt)
		return;
	if (p->internal == KP_EXEC_ARGS)
		kp_exec_args(h, p, s);
	else
		kp_exec_creds(h, p, s);
}

void kp_exec_probes_free(struct kp_host *h)
{
	for (size_t i = 0; i < 3; i++) {
		struct kp_probe *p = h->exec_probes[i];

		if (!p)
			continue;
		kp_probe_unlink(p);
		kp_exec_probe_drop(p);
		h->exec_probes[i] = NULL;
	}
	kp_exec_free(h->exec);
	h->exec = NULL;
}
