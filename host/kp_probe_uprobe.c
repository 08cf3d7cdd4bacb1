// SPDX-License-Identifier: MIT
/*
 * User probes, "uprobe:PATH:SYM[+OFF]" and "uretprobe:...": the symbol
 * resolved to a file offset in the ELF file (kp_elf.c), one command to
 * uprobe_events (see kp_probe.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kp_elf.h"
#include "kp_err.h"
#include "kp_host_int.h"
#include "kp_probe.h"
#include "kp_tracefs.h"

static const char *kp_up_kname(const struct kp_probe_spec *s)
{
	return s->kind == KP_URETPROBE ? "uretprobe" : "uprobe";
}

static int kp_up_candidates(const struct kp_probe_spec *s)
{
	(void)s;
	return 1;
}

/* "uprobe:ABS:SYM", "uprobe:ABS:SYM+OFF" or "uprobe:ABS:0xOFF" */
static void kp_up_format(const struct kp_probe_spec *s, const char *abs, char *name, size_t len)
{
	const char *kname = kp_up_kname(s);

	if (s->sym && s->off)
		snprintf(name, len, "%s:%s:%s+%llu", kname, abs, s->sym,
			 (unsigned long long)s->off);
	else if (s->sym)
		snprintf(name, len, "%s:%s:%s", kname, abs, s->sym);
	else
		snprintf(name, len, "%s:%s:0x%llx", kname, abs, (unsigned long long)s->off);
}

static void kp_up_name(const struct kp_probe_spec *s, int i, char *name, size_t len)
{
	char abs[4096];

	(void)i;
	/* in a replay the binary may not exist here: name it as given */
	if (kp_elf_find_path(s->path, abs, sizeof(abs)))
		snprintf(abs, sizeof(abs), "%s", s->path);
	kp_up_format(s, abs, name, len);
}

static int kp_up_define(struct kp_host *h, const struct kp_probe_spec *s, int i, bool dry,
			struct kp_probe_def *d, bool *next, char *msg, size_t len)
{
	const char *kname = kp_up_kname(s);
	bool ret = s->kind == KP_URETPROBE;
	uint64_t foff = s->off;
	char abs[4096];
	int err, n;

	(void)i, (void)dry, (void)next;
	err = kp_elf_find_path(s->path, abs, sizeof(abs));
	if (err) {
		snprintf(msg, len, "%s: binary '%s' not found%s", kname, s->path,
			 strchr(s->path, '/') ? "" : " in $PATH");
		return err;
	}
	if (s->sym) {
		err = kp_elf_resolve(abs, s->sym, s->off, &foff);
		if (err == -KP_ENOSYM) {
			char near[512] = "";

			if (kp_elf_near(abs, s->sym, near, sizeof(near), 5) > 0)
				snprintf(msg, len, "%s: no function '%s' in %s; close names: %s",
					 kname, s->sym, abs, near);
			else
				snprintf(msg, len, "%s: no function '%s' in %s (is it stripped?)",
					 kname, s->sym, abs);
			return err; /* the one candidate: this message stands */
		}
		if (err) {
			snprintf(msg, len, "%s: %s:%s: %s", kname, abs, s->sym, kp_strerror(err));
			return err;
		}
	}
	kp_up_format(s, abs, d->name, sizeof(d->name));
	kp_probe_event_name(h, ret ? "ur" : "u", s->sym, d->event, sizeof(d->event));
	n = snprintf(d->def, sizeof(d->def), "%c:%s/%s %s:0x%llx%s%s", ret ? 'r' : 'p',
		     kp_dynevent_group(), d->event, abs, (unsigned long long)foff,
		     *s->args ? " " : "", s->args);
	if (n < 0 || (size_t)n >= sizeof(d->def)) {
		snprintf(msg, len, "%s: probe definition too long", d->name);
		return -E2BIG;
	}
	return 0;
}

const struct kp_kind kp_kind_uprobe = {
	.candidates = kp_up_candidates,
	.name = kp_up_name,
	.define = kp_up_define,
	.file = "uprobe_events",
	.config = "CONFIG_UPROBE_EVENTS",
};
