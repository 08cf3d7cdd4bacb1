/* SPDX-License-Identifier: MIT */
#ifndef KP_KSYMS_H
#define KP_KSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/*
 * kp_ksyms_lookup() - the address of function @name ("NAME" or
 * "MOD:NAME"). 0; -ENOENT when there is none; -ENOTUNIQ when the name
 * stands for functions at different addresses (static functions of
 * several files, or the core kernel and a module); -EPERM when kallsyms
 * hides addresses (kptr_restrict).
 */
int kp_ksyms_lookup(const struct kp_ksyms *ks, const char *name, uint64_t *addr);
/* The module that holds function @name, or NULL (core kernel or unknown).
 * "MOD:NAME" gives MOD. Valid while @ks lives. */
const char *kp_ksyms_module(const struct kp_ksyms *ks, const char *name);
/**
 * kp_ksyms_addr() - the function symbol that holds a kernel text address.
 * @ks: the table
 * @addr: a kernel address, e.g. a frame of a kernel stack
 * @name: out, the symbol's name, valid while @ks lives; may be NULL
 * @module: out, its module, NULL for the core kernel; may be NULL
 * @off: out, @addr minus the symbol's address; may be NULL
 *
 * The symbol is the one with the greatest address at or below @addr; it
 * holds @addr when @addr is below both the next symbol's address and the
 * symbol's address plus 1 MiB (kallsyms gives no sizes, and the last
 * function of the core kernel or of a module is followed by text or data
 * that is not its own). Of aliases (one address, several names) the same one
 * always wins: T, then W, then t, then w, then the smallest name by strcmp.
 * Addresses read as zero (kallsyms without CAP_SYSLOG under kptr_restrict)
 * are not indexed, so such a table holds no address. The index is built by
 * kp_ksyms_parse(); a lookup is a binary search.
 *
 * Return: 0, or -ENOENT when no function symbol holds @addr.
 */
int kp_ksyms_addr(const struct kp_ksyms *ks, uint64_t addr, const char **name, const char **module,
		  uint64_t *off);
/* Up to @max function names close to @name as "a, b, c"; count written. */
int kp_ksyms_near(const struct kp_ksyms *ks, const char *name, char *buf, size_t len, int max);

#endif
