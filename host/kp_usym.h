/* SPDX-License-Identifier: MIT */
#ifndef KP_USYM_H
#define KP_USYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kp_maps.h"

/*
 * User-space addresses to symbols, for the user frames of stacks: a
 * process's executable mappings come from /proc/PID/maps, or from the
 * process events that follow it (exec, fork, mmap; see kp_usym_exec()),
 * cached per pid; the function symbols of each mapped file from its
 * .symtab and .dynsym (cached per file). Both caches are bounded and evict
 * the least recently used entry.
 */
struct kp_usym;

/**
 * kp_usym_new() - an empty symbolizer; caches up to 256 processes' maps
 * and 64 files' symbol tables.
 *
 * Return: the symbolizer, or NULL with errno set (ENOMEM).
 */
struct kp_usym *kp_usym_new(void);
void kp_usym_free(struct kp_usym *u);

/*
 * A symbolized user address.
 * @sym:  the function holding it, NULL when unknown (no symbol covers it,
 *        a pseudo-file, or the file could not be read)
 * @off:  the address minus the function's start; when @sym is NULL, the
 *        offset in the file (in the mapping for a pseudo-file)
 * @file: the mapping's path (kp_usym_map.path), NULL when the address is
 *        in no executable mapping
 */
struct kp_usym_frame {
	const char *sym;
	uint64_t off;
	const char *file;
};

/**
 * kp_usym_lookup() - symbolize an address of a process.
 * @u: the symbolizer
 * @pid: the process (a thread id works as well)
 * @addr: an address in its user space, e.g. a user stack frame
 * @out: out, the result; zeroed first
 *
 * The maps are read at the first lookup of @pid (or by kp_usym_prime()) and
 * then come from the cache. An address in none of the cached mappings
 * reads the maps again (a library loaded since), at most every 100 ms per
 * process; when that read fails (the process exited) the cached maps stay.
 * A tracked process (one that kp_usym_exec(), kp_usym_fork() or
 * kp_usym_mmap() fed) never has its maps read again: its pid may be
 * another process's by now.
 *
 * A file's symbols are read once and cached per (device, inode, path). The
 * file is opened as the process sees it: /proc/PID/root/PATH, then PATH,
 * each when its device and inode are the mapped ones, then
 * /proc/PID/map_files/START-END (the mapped file itself; needs
 * CAP_SYS_ADMIN), then /proc/PID/root/PATH whatever it holds (overlayfs
 * shows other numbers in maps than through stat()). A deleted file is only
 * opened through map_files. A file that cannot be read is remembered as
 * having no symbols until its entry is evicted.
 *
 * Symbols are the defined STT_FUNC and STT_GNU_IFUNC ones of .symtab and
 * .dynsym, versions ("@GLIBC_2.2.5") cut off. The address is carried to a
 * file offset through the mapping, then to the link-time address through
 * the PT_LOAD segment holding that offset; the symbol is the one starting
 * at or below it that covers it (a symbol of size 0 runs up to the next).
 * Of aliases the same one always wins: sized over size 0, global over weak
 * over local, then the smallest name by strcmp.
 *
 * The strings of @out stay valid until the next call on @u other than
 * kp_usym_format() (a lookup, prime, forget, exec, fork, mmap or free).
 *
 * Return: 0 (@out->sym may still be NULL); -ENOENT when the address is in
 * no executable mapping (then @out->file is NULL) or the process is not
 * cached and has no maps (gone, a zombie, a kernel thread); another -errno
 * when its maps cannot be read (-EACCES, -ENOMEM).
 */
int kp_usym_lookup(struct kp_usym *u, int pid, uint64_t addr, struct kp_usym_frame *out);

/**
 * kp_usym_prime() - read and cache the maps of @pid now, when they are not
 * cached, so that its addresses still resolve after it exits.
 * @u: the symbolizer
 * @pid: the process
 *
 * Symbol tables are still read at the first lookup in each file, through
 * the process while it lives, else through the file's path when the device
 * and inode there are the mapped ones.
 *
 * Return: 0, or the -errno of reading /proc/@pid/maps (-ENOENT: no such
 * process, or it has no maps).
 */
int kp_usym_prime(struct kp_usym *u, int pid);

/**
 * kp_usym_forget() - drop the cached maps of @pid (it exec'd or exited),
 * tracked or not; symbol tables stay.
 * @u: the symbolizer
 * @pid: the process
 */
void kp_usym_forget(struct kp_usym *u, int pid);

/*
 * Following processes by their events, as perf does with its side band:
 * the maps of a process that exits before its samples are read are still
 * known. Events must come in the order they happened. A pid they feed is
 * tracked: lookups take its maps from the cache only. An event missed (a
 * side-band ring that lost records) leaves a tracked process without the
 * mappings it announced; its frames there stay addresses. The bounds of
 * kp_usym_new() hold, an exited process staying until evicted (or until
 * its pid is forked or exec'd anew); but once processes that no lookup or
 * prime has used since their exec or fork fill half the cache, the least
 * recently used of those goes first, so that a storm of execs does not
 * push out the processes whose frames are being named.
 */

/**
 * kp_usym_exec() - @pid runs a new program: its maps are now tracked and
 * empty, filled by the kp_usym_mmap() calls that follow (the kernel maps
 * the program, its interpreter and the vDSO during the exec).
 * @u: the symbolizer
 * @pid: the process (its thread-group id)
 *
 * Return: 0, or -ENOMEM (then @pid is no longer cached).
 */
int kp_usym_exec(struct kp_usym *u, int pid);

/**
 * kp_usym_fork() - @pid is a new process, forked by @ppid.
 * @u: the symbolizer
 * @ppid: the parent (the process that called fork)
 * @pid: the child
 *
 * Whatever was cached for @pid (an earlier process with that pid) is
 * dropped. When @ppid is cached, the child gets a copy of its maps and is
 * tracked; else it stays uncached (its maps are read when needed).
 *
 * Return: 0, or -ENOMEM (then @pid is not cached).
 */
int kp_usym_fork(struct kp_usym *u, int ppid, int pid);

/**
 * kp_usym_mmap() - @pid mapped @m: executable memory over [@m->start,
 * @m->end).
 * @u: the symbolizer
 * @pid: the process
 * @m: the mapping; @m->path is copied, and is a name as /proc/PID/maps or
 *     PERF_RECORD_MMAP2 gives it: a " (deleted)" suffix is cut off (and
 *     sets deleted). NULL, or a name that is no file and no bracketed
 *     pseudo-file ("//anon", "" ...), keeps nothing there.
 *
 * What the cached mappings held in that range is cut out of them (a new
 * mapping replaces the old ones, as mmap(MAP_FIXED) does), then @m is
 * added. When @pid is not cached, its maps are read from /proc first (a
 * process older than the events), or start empty when that fails (it has
 * exited). @pid is tracked from then on.
 *
 * Return: 0; -EINVAL when @m->end <= @m->start (nothing changes);
 * -ENOMEM.
 */
int kp_usym_mmap(struct kp_usym *u, int pid, const struct kp_map *m);

/**
 * kp_usym_format() - a frame as text, in the manner of perf and bpftrace.
 * @f: the frame, from kp_usym_lookup()
 * @addr: the address that was looked up
 * @buf: out, always NUL-terminated when @len > 0
 * @len: size of @buf
 *
 * "sym+0x1a", or "sym" at offset 0, when the function is known; else
 * "0x7f3a1c2b4567 (libfoo.so.1+0x2b567)", the address then the file's base
 * name and the offset in the file (@f->off); else "0x7f3a1c2b4567".
 *
 * Return: the length of the text, or -ENOSPC when it was cut to fit.
 */
int kp_usym_format(const struct kp_usym_frame *f, uint64_t addr, char *buf, size_t len);

#endif
