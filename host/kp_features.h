/* SPDX-License-Identifier: MIT */
#ifndef KP_FEATURES_H
#define KP_FEATURES_H

#include <stdbool.h>
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

/**
 * kp_feature_has() - does this kernel have feature @name?
 * Return: 1 or 0, or -ENOENT when @name is no known feature.
 */
int kp_feature_has(const char *name);

/**
 * kp_feature_ksyms() - which of @names does a /proc/kallsyms text hold?
 * @text: "ADDR TYPE NAME[\t[MODULE]]" lines; @len its length (no NUL needed)
 * @names: @n symbol names
 * @found: out, @found[i] is true when @names[i], or a compiler's clone of
 *         it (NAME.isra.0, NAME.cold), is a symbol of the core kernel
 *
 * Pure: for kp_feature_has() and the unit tests.
 */
void kp_feature_ksyms(const char *text, size_t len, const char *const *names, size_t n,
		      bool *found);

#endif
