/* SPDX-License-Identifier: MIT */
#ifndef KP_FEATURES_H
#define KP_FEATURES_H

#include <stddef.h>

/*
 * What this kernel offers, by name: the one list behind kp.has(). Each
 * feature is found by asking the kernel (tracefs files and the syntax its
 * README documents, sysfs, kallsyms), never from its version, so backports
 * and custom builds answer for themselves. Answers are computed once per
 * process.
 */

/* The number of known features; kp_feature_name(i) for i below it. */
size_t kp_feature_count(void);
const char *kp_feature_name(size_t i);
/* One line on what feature @i means, for --help and the docs. */
const char *kp_feature_about(size_t i);

/**
 * kp_feature_has() - does this kernel have feature @name?
 * Return: 1 or 0, or -ENOENT when @name is no known feature.
 */
int kp_feature_has(const char *name);

#endif
