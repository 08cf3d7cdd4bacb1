// SPDX-License-Identifier: MIT
/*
 * Static tracepoints, "tracepoint:SYS:EVENT": nothing to create, the
 * event's format read from tracefs (see kp_probe.h).
 */
#include <errno.h>
#include <stdio.h>

#include "kp_err.h"
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

static int kp_tp_define(struct kp_host *h, const struct kp_probe_spec *s, int i, bool dry,
			struct kp_probe_def *d, bool *next, char *msg, size_t len)
{
	int err;

	(void)h, (void)next;
	kp_tp_name(s, i, d->name, sizeof(d->name));
	if (dry) {
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
	if (err)
		snprintf(msg, len, "%s: reading its format: %s%s", d->name, kp_strerror(err),
			 kp_perm_hint(err));
	return err;
}

const struct kp_kind kp_kind_tracepoint = {
	.candidates = kp_tp_candidates,
	.name = kp_tp_name,
	.define = kp_tp_define,
};
