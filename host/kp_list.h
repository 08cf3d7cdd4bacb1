/* SPDX-License-Identifier: MIT */
#ifndef KP_LIST_H
#define KP_LIST_H

#include <stdbool.h>

/*
 * kp_list() - kpscript -l: print the probe points matching the glob
 * @pattern (all when NULL), "tracepoint:SYS:EVENT" from available_events
 * and, where the kernel has kprobes, "kprobe:FUNC" from
 * available_filter_functions; with @verbose, kernel functions with their
 * prototypes from BTF instead. Return: the exit status, 0 when something
 * was shown.
 */
int kp_list(const char *pattern, bool verbose);

#endif
