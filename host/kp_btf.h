/* SPDX-License-Identifier: MIT */
#ifndef KP_BTF_H
#define KP_BTF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The running kernel's BTF (/sys/kernel/btf/vmlinux) and modules' split
 * BTF, read with libbpf (kp_btf.c): struct members' offsets, so scripts
 * need not hard-code offsets that differ between kernels (struct cred's
 * uid is at 4 on 6.1 and at 8 from 6.8), prototypes, and arguments by name
 * compiled into fetch arguments (kp_btf_fetch.c).
 */
struct kp_btf;
struct btf;

/* libbpf's view of @b, for kp_btf_fetch.c. */
const struct btf *kp_btf_libbpf(const struct kp_btf *b);

/* Load the kernel's BTF. NULL + errno (ENOENT: the kernel has none). */
struct kp_btf *kp_btf_load(void);
void kp_btf_free(struct kp_btf *b);

/*
 * kp_btf_member() - where MEMBER lies in struct STRUCT.
 * @path: "member" or "member.sub" (nested structs, unions and typedefs of
 *        them are followed; pointers are not)
 * Return: 0 and @offset/@size in bytes; -ENOENT for an unknown struct,
 * -ESRCH for an unknown member, -EINVAL for a bitfield.
 */
int kp_btf_member(const struct kp_btf *b, const char *strct, const char *path, size_t *offset,
		  size_t *size);

/*
 * kp_btf_fetch() - compile a BTF argument of kernel function @func into a
 * kprobe fetch argument.
 * @ret: for a return probe ($retval is then allowed)
 * @expr: "param", "param->member.sub->deeper", "$retval", "$retval->m"
 * @name: out, the default field name (the last member, or the one before a
 *        single-member wrapper such as kuid_t's val)
 * @fetch: out, e.g. "+8(%di):u32", "+0(%si):string", "+16(%di):b3@5/32"
 * @err: out, a message naming what is wrong and what would be right
 * Return: 0 or -errno (-ENOENT: no such function in BTF).
 */
int kp_btf_fetch(const struct kp_btf *b, const char *func, bool ret, const char *expr, char *name,
		 size_t namelen, char *fetch, size_t fetchlen, char *err, size_t errlen);

/*
 * kp_btf_tp_func() - the function the raw tracepoint @event calls, whose
 * parameters are named as its TP_PROTO (after a void *__data):
 * __bpf_trace_EVENT, or for an event defined from a class (DEFINE_EVENT)
 * __bpf_trace_CLASS, found as the one whose parameters have the types of
 * btf_trace_EVENT's and whose record (struct trace_event_raw_CLASS) has
 * the event's @fields (its format's, common ones left out, in order).
 * Return: 0 and @func; -ENOENT (none: older BTF leaves these static
 * functions out) or -EEXIST (two classes fit, naming their parameters
 * differently) with @err.
 */
int kp_btf_tp_func(const struct kp_btf *b, const char *event, const char *const *fields,
		   size_t nfields, char *func, size_t len, char *err, size_t errlen);
/* kp_btf_proto() - "long do_sys_openat2(int dfd, const char *filename, ...)". */
int kp_btf_proto(const struct kp_btf *b, const char *func, char *buf, size_t len);

/* The BTF of kernel module @module (/sys/kernel/btf/MODULE), split on top
 * of @vmlinux, which must outlive it. NULL + errno. */
struct kp_btf *kp_btf_load_module(const struct kp_btf *vmlinux, const char *module);

/* Load BTF from a raw BTF file (tests use fixtures). NULL + errno. */
struct kp_btf *kp_btf_load_file(const char *path);

/* Call @fn with the name of every function in the BTF; stops at non-zero. */
int kp_btf_each_func(const struct kp_btf *b, int (*fn)(const char *name, void *ctx), void *ctx);

#endif
