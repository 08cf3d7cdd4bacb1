// SPDX-License-Identifier: MIT
/*
 * Probes (see kp_probe.h): the one place that knows whether a declaration
 * creates a kernel event, prints one (--dry-run) or takes a recorded probe
 * (--replay); opening a probe on every CPU; releasing it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_bpf.h"
#include "kp_bpf_gen.h"
#include "kp_err.h"
#include "kp_format.h"
#include "kp_ftrace.h"
#include "kp_host_int.h"
#include "kp_perf.h"
#include "kp_perf_parse.h"
#include "kp_probe.h"
#include "kp_record.h"
#include "kp_source_live.h"
#include "kp_source_replay.h"
#include "kp_tracefs.h"

/* The names kpscript sets on every event, the one list of them: the first
 * five are filled in this order by kp_lua_event.c. */
const char *const kp_builtin_names[] = { "pid", "tid", "cpu", "time", "comm", "probe", NULL };

bool kp_is_builtin(const char *name)
{
	for (size_t i = 0; kp_builtin_names[i]; i++)
		if (!strcmp(name, kp_builtin_names[i]))
			return true;
	return false;
}

/* Is NAME= already among the arguments in @args ("a=%di b=+8(%si):u32")? */
static bool kp_args_have(const char *args, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = args; *p; p += strcspn(p, " "), p += *p == ' ') {
		if (!strncmp(p, name, n) && p[n] == '=')
			return true;
	}
	return false;
}

int kp_probe_arg_append(char *args, size_t len, const char *name, const char *fetch,
			const char *expr, char *err, size_t errlen)
{
	size_t used = strlen(args);

	if (kp_is_builtin(name) || !strncmp(name, "common_", 7) || kp_args_have(args, name)) {
		snprintf(err, errlen,
			 "'%s' would be named '%s', which %s: give it a name, "
			 "{ myname = '%s' }",
			 expr, name,
			 kp_args_have(args, name) ? "another argument has" : "is reserved", expr);
		return -EEXIST;
	}
	if (used + strlen(name) + strlen(fetch) + 3 > len) {
		snprintf(err, errlen, "too many arguments");
		return -E2BIG;
	}
	snprintf(args + used, len - used, "%s%s=%s", used ? " " : "", name, fetch);
	return 0;
}

const char *kp_perm_hint(int err)
{
	if (err == -EACCES || err == -EPERM)
		return " (kpscript needs root, or CAP_PERFMON with access to tracefs)";
	return "";
}

void kp_probe_event_name(struct kp_host *h, const char *prefix, const char *sym, char *out,
			 size_t len)
{
	char clean[41];
	size_t i;

	for (i = 0; sym && sym[i] && i < sizeof(clean) - 1; i++) {
		char c = sym[i];

		clean[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				   (c >= '0' && c <= '9')
			       ? c
			       : '_';
	}
	clean[i] = '\0';
	snprintf(out, len, "%s_%s_%d", prefix, i ? clean : "addr", h->seq++);
}

int kp_probe_dyn_available(const char *name, const char *file, const char *config, const char *hint,
			   char *msg, size_t len)
{
	int err;

	if (!kp_tracefs_dir()) {
		snprintf(msg, len, "%s: tracefs is not mounted and could not be mounted", name);
		return -KP_ENOTRACEFS;
	}
	err = kp_tracefs_access(file);
	if (err == -ENOENT) {
		snprintf(msg, len, "%s: this kernel has no %s (%s is off)%s", name, file, config,
			 hint ? hint : "");
		return -ENOTSUP;
	}
	if (err)
		snprintf(msg, len, "%s: tracefs: %s%s", name, kp_strerror(err), kp_perm_hint(err));
	return err;
}

void kp_probe_unlink(struct kp_probe *p)
{
	for (struct kp_probe **pp = &p->host->probes; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
}

void kp_probe_release(struct kp_probe *p)
{
	struct kp_host *h = p->host;

	if (p->closed)
		return;
	p->closed = true;
	if (h->src)
		kp_live_remove(h->src, p);
	/* the program first: it writes to the perf events */
	kp_bpf_close(p->bpf);
	p->bpf = NULL;
	/* the instance holds the event probe enabled: it goes first */
	kp_ftrace_close(p->ftrace);
	p->ftrace = NULL;
	if (p->perf) {
		kp_perf_enable(p->perf, false);
		kp_perf_close(p->perf);
		p->perf = NULL;
	}
	/* the event can only go once no perf fd holds it */
	if (p->event) {
		int err = kp_dynevent_remove(kp_dynevent_group(), p->event);

		if (err)
			fprintf(stderr, "kpscript: could not remove %s/%s: %s\n",
				kp_dynevent_group(), p->event, kp_strerror(err));
	}
	kp_format_free(p->fmt);
	p->fmt = NULL;
	free(p->fmt_text);
	p->fmt_text = NULL;
	free(p->fields);
	p->fields = NULL;
	if (!p->dry && !p->internal)
		h->nprobes--;
}

/*
 * The fields of @p's format an event shows (not the common ones), and
 * those ev.stack reads: a uprobe's return address (the hidden __kp_ra), an
 * entry kprobe's __probe_ip and the function address (the hidden __kp_fn),
 * a kretprobe's __probe_ret_ip.
 */
static int kp_probe_layout(struct kp_probe *p)
{
	size_t n = p->fmt ? kp_format_nfields(p->fmt) : 0, k = 0;

	p->fields = calloc(n ? n : 1, sizeof(*p->fields));
	if (!p->fields)
		return -ENOMEM;
	p->ra_field = p->ip_field = p->fn_field = p->retip_field = -1;
	for (size_t i = 0; i < n; i++) {
		const struct kp_field *f = kp_format_field(p->fmt, i);

		if (f->common)
			continue;
		/* for ev.stack; still fields of ev */
		if (p->kind == KP_KPROBE && !strcmp(f->name, "__probe_ip"))
			p->ip_field = (long)i;
		if (p->kind == KP_KRETPROBE && !strcmp(f->name, "__probe_ret_ip"))
			p->retip_field = (long)i;
		/* for ev.stack, not fields of ev */
		if (!strcmp(f->name, KP_RA_FIELD)) {
			p->ra_field = (long)i;
			continue;
		}
		if (p->kind == KP_KPROBE && !strcmp(f->name, KP_FN_FIELD)) {
			p->fn_field = (long)i;
			continue;
		}
		p->fields[k++] = i;
	}
	p->nfields = k;
	return 0;
}

/* The kernel's refusal of a filter, naming the fields it could use. */
static int kp_filter_error(struct kp_probe *p, const char *filter, int err, char *msg, size_t len)
{
	char fields[2048] = "";

	for (size_t i = 0; i < kp_format_nfields(p->fmt); i++) {
		size_t u = strlen(fields);

		snprintf(fields + u, sizeof(fields) - u, "%s%s", i ? ", " : "",
			 kp_format_field(p->fmt, i)->name);
	}
	snprintf(msg, len, "%s: the kernel rejected filter \"%s\" (%s); the event's fields are: %s",
		 p->name, filter, kp_strerror(err), fields);
	return err;
}

/* @prog loaded and attached; its records go to @p's BPF output events. */
static int kp_probe_bpf(struct kp_probe *p, const struct kp_popts *o,
			const struct kp_bpf_prog *prog, char *msg, size_t len)
{
	char why[2048];

	/* a program runs before the tracepoint's perf filter would: the
	 * filter is the program's own (kp_bpf_gen compiled it in) */
	(void)o;
	p->by_bpf = true;
	p->fmt_text = strdup(prog->format);
	p->bpf = kp_bpf_load(prog, kp_format_id(p->fmt), kp_format_name(p->fmt), p->perf, why,
			     sizeof(why));
	if (!p->bpf || !p->fmt_text) {
		int err = p->bpf ? -ENOMEM : -errno;

		snprintf(msg, len, "%s: %s%s", p->name, p->bpf ? "out of memory" : why,
			 kp_perm_hint(err));
		return err;
	}
	return 0;
}

/* Open @p's perf events on every CPU, hook them into the run's source and,
 * while the run runs, enable them; with @prog, the program that writes its
 * records. */
static int kp_probe_open_perf(struct kp_probe *p, const struct kp_popts *o,
			      const struct kp_bpf_prog *prog, char *msg, size_t len)
{
	struct kp_host *h = p->host;
	int cpu, err;

	p->perf = kp_perf_open_stack(prog ? KP_PERF_BPF_OUTPUT : KP_PERF_TRACEPOINT,
				     kp_format_id(p->fmt), o->pages, o->wakeup, o->stack, &cpu);
	if (!p->perf) {
		err = -errno;
		snprintf(msg, len, "%s: perf_event_open on CPU %d failed: %s%s", p->name, cpu,
			 kp_strerror(err), kp_perm_hint(err));
		return err;
	}
	if (prog && (err = kp_probe_bpf(p, o, prog, msg, len)))
		return err;
	if (!prog && o->filter && (err = kp_perf_set_filter(p->perf, o->filter)))
		return kp_filter_error(p, o->filter, err, msg, len);
	for (size_t i = 0; i < kp_perf_count(p->perf); i++) {
		err = kp_live_add(h->src, kp_perf_fd(p->perf, i), kp_perf_ring(p->perf, i), p,
				  o->stack ? KP_PARSE_CALLCHAIN : 0);
		if (err) {
			snprintf(msg, len, "%s: %s", p->name, kp_strerror(err));
			return err;
		}
	}
	p->stack = o->stack;
	/* user frames will be named: follow processes' maps from now on */
	if (o->stack & KP_PERF_STACK_USER)
		kp_host_usym(h);
	/* the outputs first, then the program that writes to them */
	if (h->running && (err = kp_perf_enable(p->perf, true))) {
		snprintf(msg, len, "%s: enable: %s", p->name, kp_strerror(err));
		return err;
	}
	if (h->running && p->bpf && (err = kp_bpf_enable(p->bpf, true))) {
		snprintf(msg, len, "%s: enable: %s", p->name, kp_strerror(err));
		return err;
	}
	return 0;
}

/* @p's event (an event probe's) in a tracefs instance of its own, read
 * from its ftrace ring buffer on every CPU (kp_ftrace.h). */
static int kp_probe_open_ftrace(struct kp_probe *p, const struct kp_popts *o, char *msg, size_t len)
{
	struct kp_host *h = p->host;
	char name[256], why[2048];
	int err;

	snprintf(name, sizeof(name), "%s.%s", kp_dynevent_group(), p->event);
	p->ftrace = kp_ftrace_open(name, kp_dynevent_group(), p->event, kp_format_id(p->fmt),
				   o->pages, o->filter, why, sizeof(why));
	if (!p->ftrace) {
		err = -errno;
		if (o->filter && err == -EINVAL)
			return kp_filter_error(p, o->filter, err, msg, len);
		snprintf(msg, len, "%s: %s%s", p->name, why, kp_perm_hint(err));
		return err;
	}
	for (size_t i = 0; i < kp_ftrace_count(p->ftrace); i++) {
		err = kp_live_add(h->src, kp_ftrace_fd(p->ftrace, i), kp_ftrace_ring(p->ftrace, i),
				  p, KP_LIVE_EDGE);
		if (err) {
			snprintf(msg, len, "%s: %s", p->name, kp_strerror(err));
			return err;
		}
	}
	if (h->running && (err = kp_ftrace_enable(p->ftrace, true))) {
		snprintf(msg, len, "%s: enable: %s", p->name, kp_strerror(err));
		return err;
	}
	return 0;
}

/* Open @p, hooked into the run's source, and tell --record about it. */
static int kp_probe_attach(struct kp_probe *p, const struct kp_popts *o,
			   const struct kp_bpf_prog *prog, char *msg, size_t len)
{
	struct kp_host *h = p->host;
	int err;

	if ((err = kp_probe_layout(p))) {
		snprintf(msg, len, "%s: %s", p->name, kp_strerror(err));
		return err;
	}
	err = p->by_ftrace ? kp_probe_open_ftrace(p, o, msg, len)
			   : kp_probe_open_perf(p, o, prog, msg, len);
	if (err)
		return err;
	p->attached = true;
	/* kpscript's own probes are not recorded: a replay reads what they
	 * gave the process table through its recorded /proc reads */
	if (h->rec && !p->internal && (err = kp_record_tap_probe(h, p))) {
		snprintf(msg, len, "%s: --record %s: %s", p->name, h->opts.record,
			 kp_strerror(err));
		return err;
	}
	return 0;
}

/* --replay: the recording's probe named as candidate @i names it, for the
 * first candidate recorded; else a probe that sees nothing, said once. */
static int kp_probe_replay(struct kp_host *h, struct kp_probe *p, const struct kp_kind *k,
			   const struct kp_probe_spec *s, char *msg, size_t len)
{
	const struct kp_rec_item *r = NULL;
	char name[4600];
	int err;

	if ((err = kp_host_source(h, msg, len)))
		return err;
	for (int i = 0; !r && i < k->candidates(s); i++) {
		k->name(s, i, name, sizeof(name));
		r = kp_replay_find(h->src, name);
	}
	if (!r)
		k->name(s, 0, name, sizeof(name));
	p->closed = false;
	/* ev.stack wherever the recording kept a callchain */
	p->stack = KP_PERF_STACK_KERNEL | KP_PERF_STACK_USER;
	h->nprobes++;
	if (!r) {
		p->name = strdup(name);
		fprintf(stderr, "kpscript: %s is not in the recording %s: it sees no events\n",
			name, h->opts.replay);
	} else {
		p->name = strndup(r->probe.name, r->probe.name_len);
		p->def = r->probe.def_len ? strndup(r->probe.def, r->probe.def_len) : NULL;
		p->fmt = kp_format_parse(r->probe.format, r->probe.format_len, "replay");
		if (!p->fmt) {
			snprintf(msg, len, "%s: the recorded format does not parse", name);
			return -KP_EFORMAT;
		}
		kp_replay_bind(h->src, r->probe.id, p);
	}
	if ((err = kp_probe_layout(p))) {
		snprintf(msg, len, "%s: %s", name, kp_strerror(err));
		return err;
	}
	p->attached = true;
	return 0;
}

/* --dry-run: print the definition, create nothing. */
static void kp_probe_dry(struct kp_probe *p, const struct kp_probe_def *d)
{
	p->dry = true;
	p->name = strdup(d->name);
	p->def = d->def[0] ? strdup(d->def) : NULL;
	if (d->def[0])
		printf("%s\n", d->def);
	else if (d->listing)
		printf("# %s: a BPF program reads its arguments (%zu instructions); its "
		       "records:\n%s%s",
		       d->name, d->prog->n, d->prog->format, d->listing);
	else
		printf("# %s: static tracepoint, nothing to create\n", d->name);
	fflush(stdout);
}

/*
 * Live: create @d's dynamic event (a static tracepoint has its format
 * already) and open it. *@next is set when the kernel refused this
 * candidate and another may be tried.
 */
static int kp_probe_live(struct kp_host *h, struct kp_probe *p, const struct kp_kind *k,
			 const struct kp_probe_spec *s, struct kp_probe_def *d, bool *next,
			 char *msg, size_t len)
{
	char why[2048];
	const char *def = d->def;
	int err;

	*next = false;
	if (def[0]) {
		/* a kind with its own check (available()) had it before any
		 * candidate; the others are checked here, named as defined */
		if (!k->available && k->file &&
		    (err = kp_probe_dyn_available(d->name, k->file, k->config, NULL, msg, len)))
			return err;
		err = kp_dynevent_write(def, why, sizeof(why));
		/* a kernel without immediate arguments (before 5.7) refuses
		 * __kp_fn: the stacks then keep the kernel's first frame */
		if (err && d->plain[0]) {
			def = d->plain;
			err = kp_dynevent_write(def, why, sizeof(why));
		}
		if (err) {
			snprintf(msg, len, "%s: the kernel refused '%s': %s%s", d->name, def,
				 why[0] ? why : kp_strerror(err), kp_perm_hint(err));
			*next = true;
			return err;
		}
		p->event = strdup(d->event);
		p->def = strdup(def);
		p->by_ftrace = d->eprobe;
	}
	p->name = strdup(d->name);
	p->closed = false;
	h->nprobes += !p->internal;
	if (!def[0]) {
		p->fmt = d->fmt; /* released with @p from now on */
		d->fmt = NULL;
	}
	if ((err = kp_host_ready(h, msg, len)))
		return err;
	if (def[0]) {
		err = kp_tracefs_format(kp_dynevent_group(), d->event, &p->fmt);
		if (err) {
			snprintf(msg, len, "%s: reading the new event's format: %s", d->name,
				 kp_strerror(err));
			return err;
		}
	}
	return kp_probe_attach(p, &s->opts, d->prog, msg, len);
}

/* What a candidate's definition holds that @p did not take. */
static void kp_def_clear(struct kp_probe_def *d)
{
	kp_format_free(d->fmt);
	if (d->prog)
		kp_bpf_prog_free(d->prog);
	free(d->prog);
	free(d->listing);
	memset(d, 0, sizeof(*d));
}

static const struct kp_kind *kp_kind_of(enum kp_probe_kind kind)
{
	switch (kind) {
	case KP_TRACEPOINT:
		return &kp_kind_tracepoint;
	case KP_UPROBE:
	case KP_URETPROBE:
		return &kp_kind_uprobe;
	default:
		return &kp_kind_kprobe;
	}
}

int kp_probe_create(struct kp_host *h, struct kp_probe *p, const struct kp_probe_spec *s, char *msg,
		    size_t len)
{
	const struct kp_kind *k = kp_kind_of(s->kind);
	struct kp_probe_def *d;
	char *refused;
	int err = 0, rerr = 0;

	if (h->opts.replay)
		return kp_probe_replay(h, p, k, s, msg, len);
	if (!h->opts.dry_run && k->available && (err = k->available(s, msg, len)))
		return err;
	d = calloc(1, sizeof(*d));
	refused = calloc(1, len);
	if (!d || !refused) {
		free(d);
		free(refused);
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < k->candidates(s); i++) {
		bool next = false;

		kp_def_clear(d);
		err = k->define(h, s, i, h->opts.dry_run, d, &next, msg, len);
		if (err == -KP_ENOSYM)
			continue;
		if (err && !next)
			goto out;
		if (!err && h->opts.dry_run) {
			kp_probe_dry(p, d);
			goto out;
		}
		if (!err) {
			err = kp_probe_live(h, p, k, s, d, &next, msg, len);
			if (!err || !next)
				goto out;
		}
		/* another candidate may have what this one lacks; the last
		 * refusal is the error if none works */
		snprintf(refused, len, "%s", msg);
		rerr = err;
	}
	if (refused[0]) {
		snprintf(msg, len, "%s", refused);
		err = rerr;
	} else if (k->none) {
		err = k->none(h, s, msg, len);
	} /* else the last candidate's -KP_ENOSYM and message stand */
out:
	free(refused);
	if (d)
		kp_def_clear(d);
	free(d);
	return err;
}
