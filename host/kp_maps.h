/* SPDX-License-Identifier: MIT */
#ifndef KP_MAPS_H
#define KP_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One executable mapping of /proc/PID/maps.
 * @start, @end: its addresses, [start, end)
 * @pgoff:       the file offset mapped at @start
 * @dev:         makedev(major, minor) of the file's device, as maps shows
 *               it (for overlayfs, the layer holding the file)
 * @ino:         the file's inode
 * @path:        the file's path in the process's mount namespace, without
 *               the " (deleted)" suffix; or a pseudo-file name such as
 *               "[vdso]", which has no symbols here
 * @deleted:     the file was unlinked after it was mapped
 */
struct kp_map {
	uint64_t start, end;
	uint64_t pgoff;
	uint64_t dev;
	uint64_t ino;
	const char *path;
	bool deleted;
};

/* The executable mappings of one process, by address. */
struct kp_maps;

/* An empty set. NULL with errno set (ENOMEM). */
struct kp_maps *kp_maps_new(void);

/**
 * kp_maps_parse() - the executable mappings in /proc/PID/maps text.
 * @text: the file's text, "START-END PERMS OFFSET MAJ:MIN INODE [PATH]"
 *        lines (need not be NUL-terminated)
 * @len: its length
 *
 * Kept are mappings with 'x' in PERMS that have a file (a path starting
 * with '/', memfd files included) or a bracketed pseudo-file name
 * ("[vdso]", "[vsyscall]", "[uprobes]"). Anonymous executable memory (JIT
 * code) and lines that do not parse are left out. A path runs to the end
 * of the line, spaces included (the kernel escapes a newline in a file
 * name as "\012"). Pure: no I/O.
 *
 * Return: the mappings, or NULL with errno set (ENOMEM).
 */
struct kp_maps *kp_maps_parse(const char *text, size_t len);
void kp_maps_free(struct kp_maps *m);

/* How many mappings @m holds. */
size_t kp_maps_count(const struct kp_maps *m);

/* Mapping @i of @m (ascending addresses), or NULL past the end. Valid while
 * @m lives. */
const struct kp_map *kp_maps_get(const struct kp_maps *m, size_t i);

/* The mapping of @m that holds @addr, or NULL. A binary search. */
const struct kp_map *kp_maps_find(const struct kp_maps *m, uint64_t addr);

/*
 * kp_maps_name() - whether a mapping's path is kept: a file ("/...", not
 * "//anon" memory) or a bracketed pseudo-file. *@plen is its length
 * without a " (deleted)" suffix, *@deleted whether it had one.
 */
bool kp_maps_name(const char *path, size_t *plen, bool *deleted);

/* The index of the first mapping of @m starting above @addr (its count if
 * none). */
size_t kp_maps_after(const struct kp_maps *m, uint64_t addr);

/* Whether a mapping of @m meets [@start, @end). */
bool kp_maps_overlap(const struct kp_maps *m, uint64_t start, uint64_t end);

/*
 * kp_maps_edit() - a new set: the mappings of @old with [@cut->start,
 * @cut->end) cut out of them (none when @cut is NULL), then @add with its
 * path @path (@plen bytes, not NUL-terminated) when @add is not NULL. What
 * is left of a mapping above the cut keeps its file offset.
 * Return: the set, or NULL with errno set (ENOMEM).
 */
struct kp_maps *kp_maps_edit(const struct kp_maps *old, const struct kp_map *cut,
			     const struct kp_map *add, const char *path, size_t plen);

#endif
