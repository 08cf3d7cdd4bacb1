// SPDX-License-Identifier: MIT
/*
 * kpscript -l [PATTERN] [-v]: the probe points of this kernel.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_btf.h"
#include "kp_err.h"
#include "kp_list.h"
#include "kp_tracefs.h"

struct kp_proto_ctx {
	const struct kp_btf *btf;
	const char *pattern;
	int shown;
};

static int kp_list_proto(const char *name, void *ctx)
{
	struct kp_proto_ctx *c = ctx;
	char full[512], proto[2048];

	snprintf(full, sizeof(full), "kprobe:%.480s", name);
	if (c->pattern && fnmatch(c->pattern, name, 0) && fnmatch(c->pattern, full, 0))
		return 0;
	if (kp_btf_proto(c->btf, name, proto, sizeof(proto)))
		return 0;
	printf("%s\n    %s\n", full, proto);
	c->shown++;
	return 0;
}

/* -l -v: kernel functions with their prototypes from BTF */
static int kp_list_protos(const char *pattern)
{
	struct kp_proto_ctx c = { .pattern = pattern };
	struct kp_btf *b = kp_btf_load();

	if (!b) {
		fprintf(stderr, "kpscript: -l -v: no kernel BTF (/sys/kernel/btf/vmlinux): "
				"prototypes cannot be shown\n");
		return 0;
	}
	c.btf = b;
	kp_btf_each_func(b, kp_list_proto, &c);
	kp_btf_free(b);
	if (c.shown && !kp_tracefs_has("kprobe_events"))
		fprintf(stderr, "kpscript: prototypes from BTF; this kernel has no kprobes "
				"(CONFIG_KPROBES), so these functions cannot be probed here\n");
	return c.shown;
}

/* -l: tracepoints from available_events, kernel functions where kprobes
 * exist (available_filter_functions lists what the kernel lets be probed);
 * with -v, kernel functions with their prototypes from BTF instead. */
int kp_list(const char *pattern, bool verbose)
{
	char *text, *line, *save = NULL;
	int err, shown = 0;

	if (!kp_tracefs_dir()) {
		fprintf(stderr, "kpscript: -l: tracefs is not mounted and could not be mounted\n");
		return 1;
	}
	err = kp_tracefs_read("available_events", &text, NULL);
	if (err) {
		fprintf(stderr, "kpscript: -l: reading available_events: %s%s\n", kp_strerror(err),
			err == -EACCES ? " (run as root)" : "");
		return 1;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char full[512];

		snprintf(full, sizeof(full), "tracepoint:%.480s", line);
		if (pattern && fnmatch(pattern, line, 0) && fnmatch(pattern, full, 0))
			continue;
		puts(full);
		shown++;
	}
	free(text);
	if (verbose) {
		shown += kp_list_protos(pattern);
	} else if (kp_tracefs_has("kprobe_events") &&
		   !kp_tracefs_read("available_filter_functions", &text, NULL)) {
		save = NULL;
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char full[512];

			line[strcspn(line, " \t")] = '\0';
			snprintf(full, sizeof(full), "kprobe:%.480s", line);
			if (pattern && fnmatch(pattern, line, 0) && fnmatch(pattern, full, 0))
				continue;
			puts(full);
			shown++;
		}
		free(text);
	} else if (pattern && !shown) {
		fprintf(stderr,
			"kpscript: nothing matches '%s' (kernel functions are not listed: "
			"this kernel has no kprobes, CONFIG_KPROBES)\n",
			pattern);
	}
	return shown ? 0 : 1;
}
