/* SPDX-License-Identifier: MIT */
#ifndef KP_KSYMS_H
#define KP_KSYMS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Kernel text symbols from /proc/kallsyms, for checking kprobe targets
 * before the kernel is asked and for suggesting close names.
 */
struct kp_ksyms;

/*
 * kp_ksyms_parse() - index the text of /proc/kallsyms ("ADDR TYPE NAME
 * [MODULE]" lines); function symbols (types t, T, w, W) are kept. Takes
 * ownership of @text (malloc'd, NUL-terminated). NULL + errno.
 */
struct kp_ksyms *kp_ksyms_parse(char *text);
/* Read and index /proc/kallsyms. NULL + errno. */
struct kp_ksyms *kp_ksyms_load(void);
void kp_ksyms_free(struct kp_ksyms *ks);

size_t kp_ksyms_count(const struct kp_ksyms *ks);
/* Is @name (without +OFF; "MOD:NAME" checks NAME in MOD) a function? */
bool kp_ksyms_has(const struct kp_ksyms *ks, const char *name);
/* The module that holds function @name, or NULL (core kernel or unknown).
 * "MOD:NAME" gives MOD. Valid while @ks lives. */
const char *kp_ksyms_module(const struct kp_ksyms *ks, const char *name);
/* Up to @max function names close to @name as "a, b, c"; count written. */
int kp_ksyms_near(const struct kp_ksyms *ks, const char *name, char *buf, size_t len, int max);

#endif
