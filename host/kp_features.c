// SPDX-License-Identifier: MIT
/*
 * Kernel features by name (see kp_features.h). Each test asks the kernel
 * for the mechanism itself:
 * - probe kinds by their tracefs control files;
 * - dynamic-event syntax by the kernel's own tracefs README, which lists
 *   the probe kinds and fetch-argument forms the running kernel parses
 *   (fprobe events "f:"/"t:" and BTF argument names in probe events are
 *   in 6.12, not in 6.1), except event probes (5.15+), which it lists
 *   even where they are not built: those by their code in kallsyms;
 * - module BTF by /sys/kernel/btf/<module> or, with no module loaded, by
 *   the kernel code that publishes it (btf_module_notify, built with
 *   CONFIG_DEBUG_INFO_BTF_MODULES, 5.11+);
 * - kretprobe stacks by the unwinder's way back through the return
 *   trampoline (kretprobe_find_ret_addr, 5.14+, or rethook_find_ret_addr
 *   where kretprobes run on rethook): without it a callchain taken while a
 *   kretprobe holds a function's return address ends at the trampoline.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_features.h"
#include "kp_file.h"
#include "kp_tracefs.h"

/* A tracefs control file exists; EACCES: there, but not for us: still
 * "has". */
static bool tracefs_file(const char *rel)
{
	int err = kp_tracefs_dir() ? kp_tracefs_access(rel) : -ENOENT;

	return err == 0 || err == -EACCES;
}

/* The kernel's tracefs README documents @text (read once). */
static bool readme_says(const char *text)
{
	static char *readme;
	static bool tried;

	if (!tried) {
		tried = true;
		if (!kp_tracefs_dir() || kp_tracefs_read("README", &readme, NULL))
			readme = NULL;
	}
	return readme && strstr(readme, text);
}

/* /proc/kallsyms holds symbol @name, or a compiler's clone of it
 * (NAME.isra.0, NAME.cold). The file is read once for all the names asked
 * about; a line is "ADDR TYPE NAME\n" (module symbols end in "\t[MOD]"). */
static bool kallsyms_has(const char *name)
{
	static char *text;
	static size_t len;
	static bool tried;
	char pat[128];
	size_t n;

	if (!tried) {
		tried = true;
		if (kp_file_read("/proc/kallsyms", 1 << 20, &text, &len))
			text = NULL;
	}
	if (!text)
		return false;
	n = (size_t)snprintf(pat, sizeof(pat), " %s", name);
	if (n >= sizeof(pat))
		return false;
	for (const char *p = text, *end = text + len; (p = memmem(p, (size_t)(end - p), pat, n));
	     p += n) {
		char c = p + n < end ? p[n] : '\n';

		if (c == '\n' || c == '.' || c == '\t')
			return true;
	}
	return false;
}

static bool has_kprobe(void)
{
	return tracefs_file("kprobe_events");
}

static bool has_uprobe(void)
{
	return tracefs_file("uprobe_events");
}

static bool has_tracepoint(void)
{
	return tracefs_file("events");
}

static bool has_btf(void)
{
	return access("/sys/kernel/btf/vmlinux", R_OK) == 0;
}

static bool has_callchain(void)
{
	/* perf callchains exist where their depth limit does */
	return access("/proc/sys/kernel/perf_event_max_stack", F_OK) == 0;
}

static bool has_eprobe(void)
{
	/* not the README: it shows the "e:" syntax whether or not the kernel
	 * was built with CONFIG_EPROBE_EVENTS (6.18 without it does) */
	return tracefs_file("dynamic_events") && kallsyms_has("eprobe_dyn_event_create");
}

static bool has_fprobe(void)
{
	return readme_says("<func-name>[%return]");
}

static bool has_btf_args(void)
{
	return readme_says("<argname>[->field");
}

static bool has_module_btf(void)
{
	DIR *d;
	struct dirent *e;
	bool yes = false;

	if (!has_btf())
		return false;
	d = opendir("/sys/kernel/btf");
	while (d && !yes && (e = readdir(d)))
		yes = e->d_name[0] != '.' && strcmp(e->d_name, "vmlinux");
	if (d)
		closedir(d);
	return yes || kallsyms_has("btf_module_notify");
}

static bool has_kretprobe_stack(void)
{
	return has_kprobe() &&
	       (kallsyms_has("kretprobe_find_ret_addr") || kallsyms_has("rethook_find_ret_addr"));
}

static bool has_hist(void)
{
	return readme_says("hist:keys=");
}

static bool has_synthetic(void)
{
	return tracefs_file("synthetic_events");
}

static const struct kp_feature {
	const char *name;
	bool (*test)(void);
	const char *about;
} features[] = {
	{ "kprobe", has_kprobe, "kernel function probes, kp.kprobe (CONFIG_KPROBES)" },
	{ "kretprobe", has_kprobe, "kernel function return probes, kp.kretprobe" },
	{ "uprobe", has_uprobe, "user function probes, kp.uprobe (CONFIG_UPROBE_EVENTS)" },
	{ "uretprobe", has_uprobe, "user function return probes, kp.uretprobe" },
	{ "tracepoint", has_tracepoint, "static tracepoints, kp.tracepoint" },
	{ "btf", has_btf,
	  "the kernel's type information (/sys/kernel/btf/vmlinux): arguments by name" },
	{ "module_btf", has_module_btf,
	  "type information of modules (CONFIG_DEBUG_INFO_BTF_MODULES, 5.11+): arguments "
	  "by name in module functions" },
	{ "callchain", has_callchain, "stacks with events, opts.stack" },
	{ "kretprobe_stack", has_kretprobe_stack,
	  "the kernel unwinds through a kretprobe's trampoline (5.14+): without it a stack "
	  "taken while a kretprobe holds the function ends in a [callers lost] frame" },
	{ "eprobe", has_eprobe, "event probes: fetch arguments on a tracepoint's fields (5.15+)" },
	{ "fprobe", has_fprobe, "fprobe and tracepoint probe events, f: and t:" },
	{ "btf_args", has_btf_args,
	  "the kernel itself resolves argument names from BTF in probe events" },
	{ "hist", has_hist, "hist triggers on events (CONFIG_HIST_TRIGGERS)" },
	{ "synthetic", has_synthetic, "synthetic events (CONFIG_SYNTH_EVENTS)" },
};

#define NFEATURES (sizeof(features) / sizeof(features[0]))

size_t kp_feature_count(void)
{
	return NFEATURES;
}

const char *kp_feature_name(size_t i)
{
	return i < NFEATURES ? features[i].name : NULL;
}

const char *kp_feature_about(size_t i)
{
	return i < NFEATURES ? features[i].about : NULL;
}

int kp_feature_has(const char *name)
{
	static signed char known[NFEATURES]; /* 0 not asked, 1 yes, -1 no */

	for (size_t i = 0; i < NFEATURES; i++) {
		if (strcmp(name, features[i].name))
			continue;
		if (!known[i])
			known[i] = features[i].test() ? 1 : -1;
		return known[i] > 0;
	}
	return -ENOENT;
}
