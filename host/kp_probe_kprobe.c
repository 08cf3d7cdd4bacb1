// SPDX-License-Identifier: MIT
/*
 * Kernel probes, "kprobe:SYMBOL[+OFF]" and "kretprobe:SYMBOL": candidates
 * checked against kallsyms, arguments by name compiled from BTF (the
 * kernel's, or a module's split BTF), one command to kprobe_events (see
 * kp_probe.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kp_btf.h"
#include "kp_err.h"
#include "kp_features.h"
#include "kp_host_int.h"
#include "kp_ksyms.h"
#include "kp_perf.h"
#include "kp_probe.h"
#include "kp_tracefs.h"

static const char kp_no_kprobes_hint[] =
    ": kprobes cannot be used here; use kp.tracepoint (kpscript -l lists them) or "
    "kp.uprobe, or branch on kp.has(\"kprobe\")";

static bool kp_kp_ret(const struct kp_probe_spec *s)
{
	return s->kind == KP_KRETPROBE;
}

static const char *kp_kp_kname(const struct kp_probe_spec *s)
{
	return kp_kp_ret(s) ? "kretprobe" : "kprobe";
}

static int kp_kp_candidates(const struct kp_probe_spec *s)
{
	return s->ntargets;
}

static void kp_kp_name(const struct kp_probe_spec *s, int i, char *name, size_t len)
{
	snprintf(name, len, "%s:%s", kp_kp_kname(s), s->targets[i]);
}

static int kp_kp_available(const struct kp_probe_spec *s, char *msg, size_t len)
{
	return kp_probe_dyn_available(kp_kp_kname(s), "kprobe_events", "CONFIG_KPROBES",
				      kp_no_kprobes_hint, msg, len);
}

/*
 * The BTF that describes kernel function @func: vmlinux's, or its module's
 * split BTF; NULL with @nobtf saying why there is none. *@func loses a
 * "MOD:" prefix.
 */
static const struct kp_btf *kp_kp_btf(struct kp_host *h, const char **func, char *nobtf, size_t len)
{
	const struct kp_btf *b = kp_host_btf(h);
	const char *colon = strchr(*func, ':');
	const struct kp_ksyms *ks;
	const char *mod;

	if (!b) {
		snprintf(nobtf, len,
			 "arguments by name need the kernel's BTF "
			 "(/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF): use fetch arguments");
		return NULL;
	}
	/* a module's function is described in that module's split BTF */
	ks = kp_host_ksyms(h);
	mod = ks ? kp_ksyms_module(ks, *func) : NULL;
	if (mod) {
		int e;

		b = kp_host_module_btf(h, mod);
		e = errno; /* kp_feature_has() reads files */
		if (!b && kp_feature_has("module_btf") == 0)
			snprintf(nobtf, len,
				 "%s is in module %s, and this kernel has no module BTF "
				 "(CONFIG_DEBUG_INFO_BTF_MODULES, Linux 5.11+; "
				 "kp.has(\"module_btf\") is false): use fetch arguments "
				 "(%%di, +OFF(%%di))",
				 *func, mod);
		else if (!b)
			snprintf(nobtf, len,
				 "%s is in module %s, whose BTF "
				 "(/sys/kernel/btf/%s) could not be read: %s",
				 *func, mod, mod, strerror(e));
	}
	if (colon)
		*func = colon + 1;
	return b;
}

/*
 * Append to @args (size @len, holding the raw arguments) the arguments by
 * name of @s, compiled for kernel function @func. 0, or -errno with @err.
 */
static int kp_kp_btf_args(struct kp_host *h, const struct kp_probe_spec *s, const char *func,
			  char *args, size_t len, char *err, size_t errlen)
{
	bool ret = kp_kp_ret(s);
	const struct kp_btf *b;
	char nobtf[512] = ""; /* why there is no BTF for @func */

	if (!s->nbtf)
		return 0;
	b = kp_kp_btf(h, &func, nobtf, sizeof(nobtf));
	for (size_t i = 0; i < s->nbtf; i++) {
		char name[128], fetch[1024], why[2048];
		const char *expr = s->btf[i].expr, *given = s->btf[i].name;
		int rc;

		rc = b ? kp_btf_fetch(b, func, ret, expr ? expr : "", name, sizeof(name), fetch,
				      sizeof(fetch), why, sizeof(why))
		       : -ENOENT;
		/* $retval alone does not need BTF: where the function is not
		 * described, it is the kernel's own, read as a signed long */
		if (rc == -ENOENT && ret && expr && !strcmp(expr, "$retval")) {
			snprintf(name, sizeof(name), "retval");
			snprintf(fetch, sizeof(fetch), "$retval:s64");
			rc = 0;
		} else if (!b) {
			snprintf(why, sizeof(why), "%s", nobtf);
		}
		if (!rc && given)
			snprintf(name, sizeof(name), "%s", given);
		if (rc) {
			snprintf(err, errlen, "%.1500s", why);
			return rc;
		}
		if ((rc = kp_probe_arg_append(args, len, name, fetch, expr, err, errlen)))
			return rc;
	}
	return 0;
}

/*
 * For an entry kprobe's stacks (kp_lua_event.c's first frame): append the
 * immediate argument __kp_fn=\ADDR, the function's address, to @args (size
 * @len). Not for a probe at +OFF, nor where kallsyms cannot name one
 * address (hidden addresses, a name several functions share): those stacks
 * keep the kernel's first frame. Immediates ("\imm-value") came in 5.7.
 */
static void kp_fn_arg(const struct kp_ksyms *ks, const char *target, char *args, size_t len)
{
	size_t used = strlen(args);
	uint64_t addr;
	int n;

	if (!ks || strchr(target, '+') || kp_ksyms_lookup(ks, target, &addr))
		return;
	n = snprintf(args + used, len - used, "%s%s=\\0x%" PRIx64 ":x64", used ? " " : "",
		     KP_FN_FIELD, addr);
	if (n < 0 || (size_t)n >= len - used)
		args[used] = '\0'; /* no room: the kernel's first frame then */
}

static int kp_kp_define(struct kp_host *h, const struct kp_probe_spec *s, int i, bool dry,
			struct kp_probe_def *d, bool *next, char *msg, size_t len)
{
	const struct kp_ksyms *ks = kp_host_ksyms(h);
	const char *target = s->targets[i];
	bool ret = kp_kp_ret(s);
	char base[256], why[2048], all[6144], kind_s[16];
	size_t nargs;
	int err, n;

	(void)dry;
	snprintf(base, sizeof(base), "%.*s", (int)strcspn(target, "+"), target);
	if (ks && !kp_ksyms_has(ks, base))
		return -KP_ENOSYM;
	kp_kp_name(s, i, d->name, sizeof(d->name));
	snprintf(all, sizeof(all), "%s", s->args);
	err = kp_kp_btf_args(h, s, base, all, sizeof(all), why, sizeof(why));
	if (err) {
		/* another candidate may have the names this one lacks */
		*next = true;
		snprintf(msg, len, "%s: %s", d->name, why);
		return err;
	}
	nargs = strlen(all);
	if (!ret && (s->opts.stack & KP_PERF_STACK_KERNEL))
		kp_fn_arg(ks, target, all, sizeof(all));
	kp_probe_event_name(h, ret ? "kr" : "k", base, d->event, sizeof(d->event));
	if (s->maxactive > 0)
		snprintf(kind_s, sizeof(kind_s), "r%d", s->maxactive);
	else
		snprintf(kind_s, sizeof(kind_s), "%c", ret ? 'r' : 'p');
	n = snprintf(d->def, sizeof(d->def), "%s:%s/%s %s%s%s", kind_s, kp_dynevent_group(),
		     d->event, target, *all ? " " : "", all);
	if (n < 0 || (size_t)n >= sizeof(d->def)) {
		snprintf(msg, len, "%s: probe definition too long", d->name);
		return -E2BIG;
	}
	if (all[nargs]) {
		all[nargs] = '\0';
		snprintf(d->plain, sizeof(d->plain), "%s:%s/%s %s%s%s", kind_s, kp_dynevent_group(),
			 d->event, target, *all ? " " : "", all);
	}
	return 0;
}

/* Every candidate is missing from kallsyms: name them and the close ones. */
static int kp_kp_none(struct kp_host *h, const struct kp_probe_spec *s, char *msg, size_t len)
{
	const struct kp_ksyms *ks = kp_host_ksyms(h);
	char missing[2048] = "", near[512] = "";

	for (int i = 0; i < s->ntargets; i++) {
		size_t u = strlen(missing);

		snprintf(missing + u, sizeof(missing) - u, "%s%.*s", i ? ", " : "",
			 (int)strcspn(s->targets[i], "+"), s->targets[i]);
	}
	if (ks)
		kp_ksyms_near(ks, s->targets[0], near, sizeof(near), 6);
	if (s->ntargets == 1)
		snprintf(msg, len, "%s: unknown kernel function '%s' (not in /proc/kallsyms)%s%s",
			 kp_kp_kname(s), missing, near[0] ? "; close names: " : "", near);
	else
		snprintf(msg, len,
			 "%s: none of the kernel functions %s exists (not in /proc/kallsyms)%s%s",
			 kp_kp_kname(s), missing, near[0] ? "; close to the first: " : "", near);
	return -KP_ENOSYM;
}

const struct kp_kind kp_kind_kprobe = {
	.candidates = kp_kp_candidates,
	.name = kp_kp_name,
	.available = kp_kp_available,
	.define = kp_kp_define,
	.none = kp_kp_none,
	.file = "kprobe_events",
	.config = "CONFIG_KPROBES",
};
