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
 *   kretprobe holds a function's return address ends at the trampoline;
 * - IBT by its boot self-test (ibt_selftest, CONFIG_X86_KERNEL_IBT): such a
 *   kernel starts functions with endbr64, and a kprobe on a function's
 *   entry lands after it, at +4 (the CPU need not enforce IBT for that).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_bpf.h"
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

void kp_feature_ksyms(const char *text, size_t len, const char *const *names, size_t n, bool *found)
{
	const char *end = text + len;

	for (size_t i = 0; i < n; i++)
		found[i] = false;
	for (const char *line = text; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl ? nl : end, *name, *stop;

		/* the third field: after "ADDR " and "TYPE " */
		name = memchr(line, ' ', (size_t)(eol - line));
		if (name)
			name = memchr(name + 1, ' ', (size_t)(eol - name - 1));
		if (name) {
			/* the name ends at a clone's '.', a blank, or the
			 * "\t[MOD]" of a module's symbol: not the core kernel */
			for (stop = ++name; stop < eol && !strchr(" \t.", *stop); stop++)
				;
			if (stop > name && (stop == eol || *stop != '\t')) {
				for (size_t i = 0; i < n; i++)
					if (!found[i] &&
					    strlen(names[i]) == (size_t)(stop - name) &&
					    !memcmp(names[i], name, (size_t)(stop - name)))
						found[i] = true;
			}
		}
		line = eol + 1;
	}
}

/* The kernel code a feature is known by, looked for in one read of
 * /proc/kallsyms (names are readable without privilege). */
enum { KS_EPROBE, KS_BTF_MOD, KS_KRET_FIND, KS_RETHOOK_FIND, KS_IBT, KS_N };
static const char *const ks_names[KS_N] = {
	[KS_EPROBE] = "eprobe_dyn_event_create", /* kernel/trace/trace_eprobe.c */
	[KS_BTF_MOD] = "btf_module_notify", /* CONFIG_DEBUG_INFO_BTF_MODULES */
	[KS_KRET_FIND] = "kretprobe_find_ret_addr", /* 5.14+ */
	[KS_RETHOOK_FIND] = "rethook_find_ret_addr", /* kretprobes on rethook */
	[KS_IBT] = "ibt_selftest", /* CONFIG_X86_KERNEL_IBT */
};

static bool kallsyms_has(int which)
{
	static bool found[KS_N], tried;

	if (!tried) {
		char *text;
		size_t len;

		tried = true;
		if (!kp_file_read("/proc/kallsyms", 1 << 20, &text, &len)) {
			kp_feature_ksyms(text, len, ks_names, KS_N, found);
			free(text);
		}
	}
	return found[which];
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
	return tracefs_file("dynamic_events") && kallsyms_has(KS_EPROBE);
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
	return yes || kallsyms_has(KS_BTF_MOD);
}

static bool has_kretprobe_stack(void)
{
	return has_kprobe() && (kallsyms_has(KS_KRET_FIND) || kallsyms_has(KS_RETHOOK_FIND));
}

static bool has_ibt(void)
{
	return kallsyms_has(KS_IBT);
}

static bool has_hist(void)
{
	return readme_says("hist:keys=");
}

static bool has_synthetic(void)
{
	return tracefs_file("synthetic_events");
}

/* a tracepoint program loads: fetch arguments on tracepoints (kp_bpf.h) */
static bool has_bpf(void)
{
	char msg[256];

	return kp_bpf_available(msg, sizeof(msg)) == 0;
}

/* the order kp.has's error lists them in does not matter: it sorts */
static const struct kp_feature {
	const char *name;
	bool (*test)(void);
} features[] = {
	{ "kprobe", has_kprobe },
	{ "kretprobe", has_kprobe },
	{ "uprobe", has_uprobe },
	{ "uretprobe", has_uprobe },
	{ "tracepoint", has_tracepoint },
	{ "btf", has_btf },
	{ "module_btf", has_module_btf },
	{ "callchain", has_callchain },
	{ "kretprobe_stack", has_kretprobe_stack },
	{ "ibt", has_ibt },
	{ "eprobe", has_eprobe },
	{ "bpf", has_bpf },
	{ "fprobe", has_fprobe },
	{ "btf_args", has_btf_args },
	{ "hist", has_hist },
	{ "synthetic", has_synthetic },
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
