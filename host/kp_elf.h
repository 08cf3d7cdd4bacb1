/* SPDX-License-Identifier: MIT */
#ifndef KP_ELF_H
#define KP_ELF_H

#include <stddef.h>
#include <stdint.h>

#include <gelf.h>

/**
 * kp_elf_resolve() - turn a symbol of an ELF file into the file offset a
 * uprobe takes (uprobe_events wants `PATH:0xOFFSET`, a file offset, not a
 * virtual address).
 * @path: ELF executable (PIE or not) or shared object
 * @symbol: function name, looked up in .symtab, then .dynsym; versioned
 *          dynamic names ("malloc@@GLIBC_2.2.5") match on the part before '@'
 * @add: bytes added to the symbol's address (the +OFF of SYMBOL+OFF)
 * @offset: out, the file offset
 *
 * Only defined STT_FUNC and STT_GNU_IFUNC symbols count (for an IFUNC that
 * is its resolver). Among functions of one table with the same name, the
 * one whose version equals the version given after '@' wins, then the
 * default version, then global over weak over local binding.
 *
 * Return: 0; -ENOENT/-EACCES/-EISDIR... when the file cannot be opened,
 * -KP_ENOTELF when it is not a 64-bit ELF executable or shared object,
 * -KP_ENOSYM when no function symbol has that name, -KP_ENOSEG when the
 * address lies in no executable PT_LOAD segment's file bytes or @add runs
 * past the symbol's size (when its size is known and non-zero), -EINVAL
 * for an empty name.
 */
int kp_elf_resolve(const char *path, const char *symbol, uint64_t add, uint64_t *offset);

/**
 * kp_elf_near() - up to @max function names of @path close to @symbol
 * (edit distance or shared prefix/substring), for "did you mean" hints.
 * @path: as for kp_elf_resolve()
 * @symbol: the name that was not found; a version after '@' is ignored
 * @buf: out, a ", "-separated list, best first, each name once and without
 *       its version; always NUL-terminated when @len > 0
 * @len: size of @buf; names that do not fit whole are left out
 * @max: most names to write
 *
 * Names come from the defined functions of .symtab and .dynsym: small
 * case-insensitive edit distances (with transpositions) first, then names
 * containing @symbol, then names sharing most of its prefix.
 *
 * Return: how many names were written (0 when none is close), or the
 * -errno / -KP_E* of kp_elf_resolve() for a file that cannot be read.
 */
int kp_elf_near(const char *path, const char *symbol, char *buf, size_t len, int max);

/**
 * kp_elf_find_path() - the canonical path of the program a user named.
 * @name: a path when it contains '/', else a command name searched in the
 *        directories of $PATH (default
 *        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
 *        when unset; an empty element is the current directory) for an
 *        executable regular file
 * @out: out, realpath() of what was found
 * @len: size of @out
 *
 * Return: 0; -ENOENT when no such program exists, another -errno from
 * realpath() for a path, -ENAMETOOLONG when @out is too small.
 */
int kp_elf_find_path(const char *name, char *out, size_t len);

/*
 * kp_elf_each_func() - call @fn for every function @elf defines in its
 * symbol tables (.symtab, then .dynsym): STT_FUNC, and STT_GNU_IFUNC, whose
 * value is the resolver; named, not undefined. The one symbol-table reader
 * (kp_elf_resolve and kp_elf_near here, kp_usym.c's frames).
 * Return: 0, or @fn's first non-zero return, which stops the walk.
 */
int kp_elf_each_func(Elf *elf, int (*fn)(const char *name, const GElf_Sym *sym, void *ctx),
		     void *ctx);

#endif
