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
#include "kp_btf.h"
#include "kp_err.h"
#include "kp_fetch.h"
#include "kp_features.h"
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

/*
 * A fetch argument compiled from BTF for a kprobe on __bpf_trace_EVENT
 * (the function the raw tracepoint calls, whose parameters are the
 * tracepoint's TP_PROTO after a void *__data) made one of the raw
 * tracepoint's: the parameters' registers become its arguments, %si the
 * first ($arg1).
 */
static int kp_tp_regs_to_args(char *fetch, size_t len)
{
	static const char *const regs[] = { "%si", "%dx", "%cx", "%r8", "%r9" };
	char out[1024];
	size_t u = 0;

	for (const char *p = fetch; *p;) {
		int k = -1;

		for (int i = 0; i < 5; i++)
			if (!strncmp(p, regs[i], 3))
				k = i;
		if ((*p == '%' && k < 0) || !strncmp(p, "$stack", 6) || u + 8 > sizeof(out))
			return -EINVAL;
		if (k >= 0) {
			u += (size_t)snprintf(out + u, sizeof(out) - u, "$arg%d", k + 1);
			p += 3;
		} else {
			out[u++] = *p++;
		}
	}
	out[u] = '\0';
	snprintf(fetch, len, "%s", out);
	return 0;
}

/* The function whose parameters are the tracepoint's TP_PROTO (kp_btf.h). */
static int kp_tp_func(const struct kp_btf *b, const char *event, const struct kp_format *fmt,
		      char *func, size_t len, char *err, size_t errlen)
{
	size_t n = 0, nf = kp_format_nfields(fmt);
	const char **names = calloc(nf ? nf : 1, sizeof(*names));
	int rc;

	if (!names) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < nf; i++)
		if (!kp_format_field(fmt, i)->common)
			names[n++] = kp_format_field(fmt, i)->name;
	rc = kp_btf_tp_func(b, event, names, n, func, len, err, errlen);
	free(names);
	return rc;
}

/* @s's arguments by name, compiled from the tracepoint's prototype into
 * "name=FETCHARG ..." at @args (size @len) for the raw tracepoint. */
static int kp_tp_btf_args(struct kp_host *h, const struct kp_probe_spec *s,
			  const struct kp_format *fmt, const char *probe, char *args, size_t len,
			  char *msg, size_t mlen)
{
	const struct kp_btf *b = kp_host_btf(h);
	char func[256], nofunc[512];
	int frc;

	if (!b) {
		snprintf(msg, mlen,
			 "%s: names from the tracepoint's prototype need the kernel's BTF "
			 "(/sys/kernel/btf/vmlinux): read its fields as $NAME",
			 probe);
		return -ENOTSUP;
	}
	frc = kp_tp_func(b, s->event, fmt, func, sizeof(func), nofunc, sizeof(nofunc));
	if (frc == -EEXIST) {
		snprintf(msg, mlen, "%s: %s: read its fields as $NAME", probe, nofunc);
		return frc;
	}
	for (size_t i = 0; i < s->nbtf; i++) {
		char name[128], fetch[1024], why[2048];
		const char *expr = s->btf[i].expr ? s->btf[i].expr : "";
		int rc = frc ? frc
			     : kp_btf_fetch(b, func, false, expr, name, sizeof(name), fetch,
					    sizeof(fetch), why, sizeof(why));

		if (rc == -ENOENT) {
			snprintf(msg, mlen,
				 "%s: '%s': this tracepoint has no prototype in BTF (%s): names "
				 "from BTF work on tracepoints with a TP_PROTO of their own, and "
				 "syscall tracepoints have none: read their fields as $NAME "
				 "('+0($filename):ustring')",
				 probe, expr, frc ? nofunc : func);
			return rc;
		}
		if (rc) {
			snprintf(msg, mlen, "%s: %.1500s", probe, why);
			return rc;
		}
		if (kp_tp_regs_to_args(fetch, sizeof(fetch))) {
			snprintf(msg, mlen,
				 "%s: '%s' is not among the raw tracepoint's first five "
				 "arguments",
				 probe, expr);
			return -EINVAL;
		}
		if (s->btf[i].name)
			snprintf(name, sizeof(name), "%s", s->btf[i].name);
		if ((rc = kp_probe_arg_append(args, len, name, fetch, expr, why, sizeof(why)))) {
			snprintf(msg, mlen, "%s: %s", probe, why);
			return rc;
		}
	}
	return 0;
}

/* The arguments compiled for the tracepoint of format d->fmt: d->fmt
 * becomes the records' format, d->prog the program. With arguments by
 * name the program runs on the raw tracepoint, whose arguments are the
 * TP_PROTO's; it cannot read the format's fields as well. */
static int kp_tp_compile(struct kp_host *h, const struct kp_probe_spec *s, struct kp_probe_def *d,
			 char *msg, size_t len)
{
	size_t n, ll = 1 << 16, alen = strlen(s->args) + 16384;
	char *args = calloc(1, alen), *buf = malloc(alen);
	struct kp_bpf_arg *a = calloc(KP_TP_MAX_ARGS, sizeof(*a));
	struct kp_bpf_prog *prog = calloc(1, sizeof(*prog));
	struct kp_format *out = NULL;
	bool raw = s->nbtf > 0;
	char why[1024];
	int err = -ENOMEM;

	if (!args || !buf || !a || !prog)
		goto fail;
	if (raw && s->args[0]) {
		snprintf(msg, len,
			 "%s: the tracepoint's fields ($NAME) and names from its prototype "
			 "cannot be read by one declaration: declare two",
			 d->name);
		err = -EINVAL;
		goto fail;
	}
	snprintf(args, alen, "%s", s->args);
	err = raw ? kp_tp_btf_args(h, s, d->fmt, d->name, args, alen, msg, len) : 0;
	if (err || (err = kp_tp_parse_args(d->name, args, buf, a, &n, msg, len)))
		goto fail;
	err = kp_bpf_gen(d->fmt, kp_format_id(d->fmt), s->event, raw, a, n, s->opts.filter, prog,
			 why, sizeof(why));
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
	/* the arguments as compiled, with any filter, for the verifier's refusal */
	if (s->opts.filter) {
		size_t l = strlen(args) + strlen(s->opts.filter) + 16;

		if ((prog->spec = malloc(l)))
			snprintf(prog->spec, l, "%s filter=%s", args, s->opts.filter);
	} else {
		prog->spec = strdup(args);
	}
	free(args);
	free(buf);
	free(a);
	return 0;
fail:
	if (err == -ENOMEM)
		snprintf(msg, len, "%s: out of memory", d->name);
	if (prog)
		kp_bpf_prog_free(prog);
	free(prog);
	free(args);
	free(buf);
	free(a);
	return err;
}

/* Can an event probe read @s's arguments? 0, or -errno with @msg. */
static int kp_tp_eprobe_ok(const struct kp_probe_spec *s, const char *name, bool dry, char *msg,
			   size_t len)
{
	if (s->nbtf) {
		snprintf(msg, len,
			 "%s: names from the tracepoint's prototype are read by a BPF program: "
			 "backend = \"eprobe\" reads the fields ($NAME) only",
			 name);
		return -ENOTSUP;
	}
	if (s->opts.stack) {
		snprintf(msg, len,
			 "%s: an event probe's records are read from an ftrace ring, which "
			 "keeps no stacks: opts.stack needs backend = \"bpf\"",
			 name);
		return -ENOTSUP;
	}
	if (sizeof(long) != 8 || !kp_tracefs_init_pidns()) {
		snprintf(msg, len,
			 "%s: event probes are read from ftrace rings, whose records carry the "
			 "initial pid namespace's pids and a 64-bit kernel's layout: not from %s",
			 name, sizeof(long) != 8 ? "a 32-bit kpscript" : "inside a pid namespace");
		return -ENOTSUP;
	}
	if (!dry && kp_feature_has("eprobe") != 1) {
		snprintf(msg, len,
			 "%s: this kernel has no event probes (Linux 5.15+ with "
			 "CONFIG_PROBE_EVENTS and dynamic_events)",
			 name);
		return -ENOTSUP;
	}
	return 0;
}

/*
 * Fetch arguments: which backend reads them (*@eprobe), and can this
 * kernel run it? The BPF program when none is asked for and BPF loads: it
 * reads user strings on every kernel (6.1's event probes cannot), takes
 * names from BTF and stacks; else event probes, where the kernel has them.
 */
static int kp_tp_backend(const struct kp_probe_spec *s, const char *name, bool dry, bool *eprobe,
			 char *msg, size_t len)
{
	char why[512], ep[1024];
	int err;

	*eprobe = s->backend && !strcmp(s->backend, "eprobe");
	if (*eprobe)
		return kp_tp_eprobe_ok(s, name, dry, msg, len);
	/* kp.has("bpf") is asked once per run; the reason only when it is no */
	if (dry || kp_feature_has("bpf") == 1 || !(err = kp_bpf_available(why, sizeof(why))))
		return 0;
	if (s->backend) {
		snprintf(msg, len,
			 "%s: fetch arguments on a tracepoint need BPF or event probes: %s (the "
			 "tracepoint works without arguments)",
			 name, why);
		return err;
	}
	if (!kp_tp_eprobe_ok(s, name, dry, ep, sizeof(ep))) {
		*eprobe = true;
		return 0;
	}
	/* the event probes' reason (after "NAME: ") beside BPF's */
	if (strlen(ep) > strlen(name) + 2)
		memmove(ep, ep + strlen(name) + 2, strlen(ep + strlen(name) + 2) + 1);
	snprintf(msg, len,
		 "%s: fetch arguments on a tracepoint need BPF or event probes: %s; and %s (the "
		 "tracepoint works without arguments)",
		 name, why, ep);
	return err;
}

/*
 * @args with the type each untyped argument got from the BPF compiler
 * (@fmt, its records' format) written out, into @out: the kernel's own
 * defaults differ (6.12 reads an untyped $comm as its address, x64). 0, or
 * -E2BIG.
 */
static int kp_tp_typed(const char *args, const struct kp_format *fmt, char *out, size_t len)
{
	size_t u = 0;

	out[0] = '\0';
	for (const char *t = args; *t; t += strspn(t, " ")) {
		size_t n = strcspn(t, " "), nl = strcspn(t, "=");
		const char *type = NULL;
		struct kp_fetch_error e;
		struct kp_fetch f;
		char tok[4096], ty[8];

		if (n >= sizeof(tok))
			return -E2BIG;
		memcpy(tok, t, n);
		tok[n] = '\0';
		t += n;
		if (nl < n && !kp_fetch_parse(tok + nl + 1, &f, &e) &&
		    f.type.kind == KP_FETCH_DEFAULT) {
			for (size_t i = 0; i < kp_format_nfields(fmt); i++) {
				const struct kp_field *fd = kp_format_field(fmt, i);

				if (strlen(fd->name) != nl || strncmp(fd->name, tok, nl))
					continue;
				if (fd->kind == KP_FIELD_DYN_STR)
					type = "string";
				if (fd->kind == KP_FIELD_INT) {
					snprintf(ty, sizeof(ty), "%c%u", fd->is_signed ? 's' : 'u',
						 fd->size * 8);
					type = ty;
				}
			}
		}
		n = (size_t)snprintf(out + u, len - u, "%s%s%s%s", u ? " " : "", tok,
				     type ? ":" : "", type ? type : "");
		if (n >= len - u)
			return -E2BIG;
		u += n;
	}
	return 0;
}

/*
 * @d, checked and compiled for BPF (so both backends refuse the same
 * arguments with the same words), made an event probe instead: the line
 * for dynamic_events, "e:GROUP/EVENT SYS/EVENT ARGS". The kernel applies
 * the filter itself.
 */
static int kp_tp_eprobe(struct kp_host *h, const struct kp_probe_spec *s, struct kp_probe_def *d,
			char *msg, size_t len)
{
	struct kp_probe_spec nofilter = *s;
	int err;

	nofilter.opts.filter = NULL;
	if ((err = kp_tp_compile(h, &nofilter, d, msg, len)))
		return err;
	kp_probe_event_name(h, "tp", s->event, d->event, sizeof(d->event));
	if (kp_tp_typed(s->args, d->fmt, d->plain, sizeof(d->plain)) ||
	    (size_t)snprintf(d->def, sizeof(d->def), "e:%s/%s %s/%s %s", kp_dynevent_group(),
			     d->event, s->sys, s->event, d->plain) >= sizeof(d->def)) {
		snprintf(msg, len, "%s: the event probe's definition is over %zu bytes", d->name,
			 sizeof(d->def));
		return -E2BIG;
	}
	kp_bpf_prog_free(d->prog);
	free(d->prog);
	free(d->listing);
	kp_format_free(d->fmt);
	d->prog = NULL;
	d->listing = NULL;
	d->fmt = NULL;
	d->plain[0] = '\0';
	d->eprobe = true;
	return 0;
}

static int kp_tp_define(struct kp_host *h, const struct kp_probe_spec *s, int i, bool dry,
			struct kp_probe_def *d, bool *next, char *msg, size_t len)
{
	bool args = (s->args && s->args[0]) || s->nbtf, eprobe = false;
	int err;

	(void)h, (void)next;
	kp_tp_name(s, i, d->name, sizeof(d->name));
	if (args && (err = kp_tp_backend(s, d->name, dry, &eprobe, msg, len)))
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
	if (args &&
	    (err = eprobe ? kp_tp_eprobe(h, s, d, msg, len) : kp_tp_compile(h, s, d, msg, len))) {
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
