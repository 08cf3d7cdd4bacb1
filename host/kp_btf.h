/* SPDX-License-Identifier: MIT */
#ifndef KP_BTF_H
#define KP_BTF_H

#include <stddef.h>

/*
 * Struct layouts from the running kernel's BTF (/sys/kernel/btf/vmlinux),
 * read with libbpf. Minimal for now: the byte offset and size of a struct's
 * member, so scripts need not hard-code offsets that differ between kernels
 * (struct cred's uid is at 4 on 6.1 and at 8 from 6.8).
 */
struct kp_btf;

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

#endif
