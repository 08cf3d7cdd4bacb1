// SPDX-License-Identifier: MIT
/*
 * Static tracepoints, "tracepoint:SYS:EVENT": nothing to create, the
 * event's format read from tracefs (see kp_probe.h). With fetch arguments
 * a BPF program (kp_bpf_gen.h) reads them at each hit and makes records of
 * its own format.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_bpf.h"
#include "kp_bpf_gen.h"
#include "kp_err.h"
#include "kp_fetch.h"
#include "kp_format.h"
#include "kp_host_int.h"
#include "kp_probe.h"
#include "kp_tracefs.h"

static int kp_tp_candidates(const struct kp_probe_spec *s)
{
	(void)s;
	return 1;
}

static void kp_tp_name(const struct kp_probe_spec *s, int i, char *name, size_t len)
{
	(void)i;
	snprintf(name, len, "tracepoint:%s:%s", s->sys, s->event);
}

static int kp_tp_unknown(const struct kp_probe_spec *s, char *msg, size_t len)
{
	snprintf(msg, len,
		 "unknown tracepoint '%s:%s' (kpscript -l '%s:*' lists the tracepoints of "
		 "group %s)",
		 s->sys, s->event, s->sys, s->sys);
	return -KP_ENOEVENT;
}

#define KP_TP_MAX_ARGS 128 /* as the kernel's event probes */

/* "name=FETCHARG name=FETCHARG ..." parsed into @a (names point into @buf). */
static int kp_tp_parse_args(const char *probe, const char *args, char *buf, struct kp_bpf_arg *a,
			    size_t *n, char *msg, size_t len)
{
	char *save = NULL;

	*n = 0;
	strcpy(buf, args);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');
		struct kp_fetch_error e;

		if (*n == KP_TP_MAX_ARGS) {
			snprintf(msg, len, "%s: more than %d arguments", probe, KP_TP_MAX_ARGS);
			return -EINVAL;
		}
		if (!eq) {
			snprintf(msg, len, "%s: argument '%s' has no NAME=", probe, t);
			return -EINVAL;
		}
		*eq = '\0';
		a[*n].name = t;
		if (kp_fetch_parse(eq + 1, &a[*n].f, &e)) {
			snprintf(msg, len, "%s: argument %s = '%s': at column %zu: %s", probe, t,
				 eq + 1, e.pos + 1, e.msg);
			return -EINVAL;
		}
		if (kp_fetch_check(&a[*n].f, KP_FETCH_CTX_EVENT, &e)) {
			snprintf(msg, len, "%s: argument %s = '%s': %s", probe, t, eq + 1, e.msg);
			return -EINVAL;
		}
		(*n)++;
	}
	return 0;
}

/* The arguments compiled for the tracepoint of format d->fmt: d->fmt
 * becomes the records' format, d->prog the program. */
static int kp_tp_compile(const struct kp_probe_spec *s, struct kp_probe_def *d, char *msg,
			 size_t len)
{
	size_t n, ll = 1 << 16;
	char *buf = malloc(strlen(s->args) + 1);
	struct kp_bpf_arg *a = calloc(KP_TP_MAX_ARGS, sizeof(*a));
	struct kp_bpf_prog *prog = calloc(1, sizeof(*prog));
	struct kp_format *out = NULL;
	char why[1024];
	int err = -ENOMEM;

	if (!buf || !a || !prog)
		goto fail;
	if ((err = kp_tp_parse_args(d->name, s->args, buf, a, &n, msg, len)))
		goto fail;
	err = kp_bpf_gen(d->fmt, kp_format_id(d->fmt), s->event, a, n, s->opts.filter, prog, why,
			 sizeof(why));
	if (err) {
		snprintf(msg, len, "%s: %s", d->name, why);
		goto fail;
	}
	out = kp_format_parse(prog->format, strlen(prog->format), kp_format_system(d->fmt));
	if (!out) {
		err = -errno;
		snprintf(msg, len, "%s: the records' format does not parse: %s", d->name,
			 kp_strerror(err));
		goto fail;
	}
	while ((d->listing = malloc(ll)) &&
	       kp_bpf_listing(prog->insn, prog->n, d->listing, ll) < 0) {
		free(d->listing);
		ll *= 2;
	}
	kp_format_free(d->fmt);
	d->fmt = out;
	d->prog = prog;
	free(buf);
	free(a);
	return 0;
fail:
	if (err == -ENOMEM)
		snprintf(msg, len, "%s: out of memory", d->name);
	kp_bpf_prog_free(prog);
	free(prog);
	free(buf);
	free(a);
	return err;
}

/* Fetch arguments: which backend, and can this kernel run it? */
static int kp_tp_backend(const struct kp_probe_spec *s, const char *name, bool dry, char *msg,
			 size_t len)
{
	int err;

	if (s->backend && !strcmp(s->backend, "eprobe")) {
		snprintf(msg, len,
			 "%s: the event-probe backend is not built yet; backend = \"bpf\" (the "
			 "default) reads the same arguments",
			 name);
		return -ENOTSUP;
	}
	if (!dry && (err = kp_bpf_available(msg, len))) {
		char why[512];

		snprintf(why, sizeof(why), "%s", msg);
		snprintf(msg, len,
			 "%s: fetch arguments on a tracepoint need BPF or event probes: %s "
			 "(the tracepoint works without arguments)",
			 name, why);
		return err;
	}
	return 0;
}

static int kp_tp_define(struct kp_host *h, const struct kp_probe_spec *s, int i, bool dry,
			struct kp_probe_def *d, bool *next, char *msg, size_t len)
{
	bool args = s->args && s->args[0];
	int err;

	(void)h, (void)next;
	kp_tp_name(s, i, d->name, sizeof(d->name));
	if (args && (err = kp_tp_backend(s, d->name, dry, msg, len)))
		return err;
	if (dry && !args) {
		char rel[512];

		/* check the name where tracefs is readable; read nothing else */
		snprintf(rel, sizeof(rel), "events/%s/%s", s->sys, s->event);
		if (kp_tracefs_has("events") && !kp_tracefs_has(rel))
			return kp_tp_unknown(s, msg, len);
		return 0;
	}
	if (!kp_tracefs_dir()) {
		snprintf(msg, len, "%s: tracefs is not mounted and could not be mounted%s", d->name,
			 kp_perm_hint(-errno));
		return -KP_ENOTRACEFS;
	}
	err = kp_tracefs_format(s->sys, s->event, &d->fmt);
	if (err == -KP_ENOEVENT)
		return kp_tp_unknown(s, msg, len);
	if (err) {
		snprintf(msg, len, "%s: reading its format: %s%s", d->name, kp_strerror(err),
			 kp_perm_hint(err));
		return err;
	}
	if (args && (err = kp_tp_compile(s, d, msg, len))) {
		kp_format_free(d->fmt);
		d->fmt = NULL;
	}
	return err;
}

const struct kp_kind kp_kind_tracepoint = {
	.candidates = kp_tp_candidates,
	.name = kp_tp_name,
	.define = kp_tp_define,
};
