// SPDX-License-Identifier: MIT
/*
 * User-space symbolization (see kp_usym.h).
 *
 * Kernel contracts relied on:
 * - /proc/PID/maps (fs/proc/task_mmu.c, show_map_vma) prints
 *   "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " then, padded with spaces,
 *   the file's d_path (seq_file_path escapes only '\n', as "\012"), with
 *   " (deleted)" appended for an unlinked file, or a name such as "[vdso]";
 *   lines come in ascending address order. Device and inode are those of
 *   vma->vm_file, which overlayfs replaces by the file of the layer holding
 *   it, so they may differ from what stat() through the overlay gives.
 * - /proc/PID/map_files/START-END ("%lx-%lx") opens the mapped file itself,
 *   deleted or not, for a caller with CAP_SYS_ADMIN (or
 *   CAP_CHECKPOINT_RESTORE) in the initial user namespace.
 * - The loader maps each PT_LOAD segment's file bytes at p_vaddr plus the
 *   object's load bias, page-aligned, so an address at file offset OFF of a
 *   mapping is at link-time address OFF - p_offset + p_vaddr of the segment
 *   whose file bytes hold OFF.
 *
 * Both caches are small arrays searched linearly, the last hit first (the
 * frames of one stack share a process and mostly a few files), evicting the
 * least recently used entry.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "kp_clock.h"
#include "kp_elf.h"
#include "kp_file.h"
#include "kp_maps.h"
#include "kp_usym.h"

#define KP_USYM_PROCS 256
#define KP_USYM_BINS 64
/* least time between two reads of a process's maps prompted by misses */
#define KP_USYM_REFRESH_NS 100000000ull
/* how many symbols before the nearest one are tried for a nested function */
#define KP_USYM_NEST 4

/* A function of a file, at its link-time address. */
struct kp_usym_sym {
	uint64_t addr;
	uint64_t size; /* 0: unknown, runs up to the next symbol */
	const char *name; /* in kp_usym_bin.names once loaded */
	int rank; /* binding: global 0, weak 1, local 2 */
};

/* A PT_LOAD segment's file bytes and where they are linked. */
struct kp_usym_seg {
	uint64_t off, filesz, vaddr;
};

/* One file's functions; path NULL: a free slot. */
struct kp_usym_bin {
	uint64_t dev, ino;
	bool deleted;
	char *path;
	uint64_t used;
	struct kp_usym_sym *syms; /* by address, one per address */
	size_t nsyms;
	char *names;
	struct kp_usym_seg *segs;
	size_t nsegs;
};

struct kp_usym_proc {
	int pid;
	bool tracked; /* fed by events: never read from /proc again */
	bool looked; /* a lookup or prime used it since it was made or exec'd */
	uint64_t used;
	uint64_t read_ns; /* when the maps were last read or tried */
	struct kp_maps *maps;
};

struct kp_usym {
	uint64_t tick;
	struct kp_usym_proc procs[KP_USYM_PROCS];
	size_t nprocs, last_proc;
	struct kp_usym_bin bins[KP_USYM_BINS];
	size_t last_bin;
};

/* Read and parse /proc/@pid/maps. An empty file (a zombie, a kernel
 * thread) counts as no process. Return: 0 or -errno. */
static int kp_usym_read_maps(int pid, struct kp_maps **out)
{
	char path[64], *buf = NULL;
	size_t n = 0;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	err = kp_file_read(path, 65536, &buf, &n);
	if (err)
		return err;
	if (n == 0) {
		free(buf);
		return -ENOENT;
	}
	*out = kp_maps_parse(buf, n);
	err = *out ? 0 : -errno;
	free(buf);
	return err;
}

/* ---- symbol tables ---- */

static int kp_sym_cmp(const void *a, const void *b)
{
	const struct kp_usym_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (!x->size != !y->size)
		return x->size ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(x->name, y->name);
}

/* Aliases of one address: global (and GNU unique) over weak over local. */
static int kp_sym_rank(int bind)
{
	return bind == STB_WEAK ? 1 : bind == STB_LOCAL ? 2 : 0;
}

struct kp_bin_fill {
	struct kp_usym_bin *b;
	size_t cap;
};

/* kp_elf_each_func()'s callback: append a function to b->syms (its name
 * still in the ELF file's string table). 0 or -ENOMEM. */
static int kp_bin_func(const char *name, const GElf_Sym *sym, void *ctx)
{
	struct kp_bin_fill *f = ctx;
	struct kp_usym_bin *b = f->b;

	if (*name == '@')
		return 0;
	if (b->nsyms == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 1024;
		struct kp_usym_sym *tmp = realloc(b->syms, ncap * sizeof(*tmp));

		if (!tmp)
			return -ENOMEM;
		b->syms = tmp;
		f->cap = ncap;
	}
	b->syms[b->nsyms++] = (struct kp_usym_sym){
		.addr = sym->st_value,
		.size = sym->st_size,
		.name = name,
		.rank = kp_sym_rank(GELF_ST_BIND(sym->st_info)),
	};
	return 0;
}

/*
 * Sort b->syms, keep one per address, and copy the names kept into
 * b->names, versions cut off. Return: 0 or -ENOMEM.
 */
static int kp_bin_index(struct kp_usym_bin *b)
{
	size_t k = 0, bytes = 0, at = 0;
	struct kp_usym_sym *tmp;

	if (!b->nsyms)
		return 0;
	qsort(b->syms, b->nsyms, sizeof(*b->syms), kp_sym_cmp);
	for (size_t i = 0; i < b->nsyms; i++)
		if (!k || b->syms[i].addr != b->syms[k - 1].addr)
			b->syms[k++] = b->syms[i];
	b->nsyms = k;
	tmp = realloc(b->syms, k * sizeof(*b->syms));
	if (tmp)
		b->syms = tmp;
	for (size_t i = 0; i < k; i++)
		bytes += strcspn(b->syms[i].name, "@") + 1;
	b->names = malloc(bytes);
	if (!b->names)
		return -ENOMEM;
	for (size_t i = 0; i < k; i++) {
		size_t len = strcspn(b->syms[i].name, "@");

		memcpy(b->names + at, b->syms[i].name, len);
		b->names[at + len] = '\0';
		b->syms[i].name = b->names + at;
		at += len + 1;
	}
	return 0;
}

/*
 * Read the segments and functions of the ELF file open at @fd into @b.
 * Mapped with ELF_C_READ_MMAP, as kp_elf.c does: a file truncated while
 * it is read here can raise SIGBUS. On failure @b is left without symbols.
 * Return: 0, -ENOEXEC or -ENOMEM.
 */
static int kp_bin_load(struct kp_usym_bin *b, int fd)
{
	struct kp_bin_fill fill = { .b = b };
	size_t nph;
	GElf_Ehdr ehdr;
	int err = 0;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOEXEC;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr) ||
	    (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN) || elf_getphdrnum(elf, &nph)) {
		err = -ENOEXEC;
		goto out;
	}
	b->segs = calloc(nph ? nph : 1, sizeof(*b->segs));
	if (!b->segs) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nph && i <= INT_MAX; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			b->segs[b->nsegs++] =
			    (struct kp_usym_seg){ ph.p_offset, ph.p_filesz, ph.p_vaddr };
	}
	err = kp_elf_each_func(elf, kp_bin_func, &fill);
	if (err)
		goto out;
	/* names point into @elf until they are copied */
	err = kp_bin_index(b);
out:
	if (err) {
		/* what was read is of no use: no symbols */
		free(b->syms);
		free(b->names);
		free(b->segs);
		b->syms = NULL;
		b->names = NULL;
		b->segs = NULL;
		b->nsyms = b->nsegs = 0;
	}
	elf_end(elf);
	return err;
}

static void kp_bin_clear(struct kp_usym_bin *b)
{
	free(b->path);
	free(b->syms);
	free(b->names);
	free(b->segs);
	memset(b, 0, sizeof(*b));
}

/*
 * Open the file of mapping @m of @pid, as a file descriptor or -1. Tried in
 * order: the path in the process's root, then in ours, each taken only when
 * its device and inode are the mapped ones (else the pid may be another
 * process's by now, or ours may be a different file); then map_files, the
 * mapped file itself (while the process lives, with privilege); last the
 * path in the process's root whatever it holds, since overlayfs shows a
 * layer's device and inode in maps but its own through stat(). An unlinked
 * file is only reached through map_files: its path may name a newer file.
 */
static int kp_bin_open(int pid, const struct kp_map *m)
{
	enum { ROOT, PATH, MAP_FILES, ROOT_ANY };
	static const int order[] = { ROOT, PATH, MAP_FILES, ROOT_ANY };
	char buf[PATH_MAX + 64];

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct stat st;
		int fd, n;

		if (m->deleted && order[i] != MAP_FILES)
			continue;
		if (order[i] == MAP_FILES)
			n = snprintf(buf, sizeof(buf), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
				     pid, m->start, m->end);
		else if (order[i] == PATH)
			n = snprintf(buf, sizeof(buf), "%s", m->path);
		else
			n = snprintf(buf, sizeof(buf), "/proc/%d/root%s", pid, m->path);
		if (n < 0 || (size_t)n >= sizeof(buf))
			continue;
		fd = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (!fstat(fd, &st) && S_ISREG(st.st_mode) &&
		    (order[i] == ROOT_ANY || order[i] == MAP_FILES ||
		     ((uint64_t)st.st_dev == m->dev && (uint64_t)st.st_ino == m->ino)))
			return fd;
		close(fd);
	}
	return -1;
}

static bool kp_bin_is(const struct kp_usym_bin *b, const struct kp_map *m)
{
	return b->path && b->dev == m->dev && b->ino == m->ino && b->deleted == m->deleted &&
	       !strcmp(b->path, m->path);
}

/* The cached table of the file of @m (loading it, perhaps evicting), or
 * NULL when out of memory. A file that cannot be read gets an empty table. */
static struct kp_usym_bin *kp_bin_get(struct kp_usym *u, int pid, const struct kp_map *m)
{
	struct kp_usym_bin *b = &u->bins[u->last_bin], *lru = NULL;
	int fd;

	if (kp_bin_is(b, m))
		goto hit;
	for (size_t i = 0; i < KP_USYM_BINS; i++) {
		b = &u->bins[i];
		if (kp_bin_is(b, m)) {
			u->last_bin = i;
			goto hit;
		}
		if (!lru || b->used < lru->used)
			lru = b;
	}
	b = lru;
	kp_bin_clear(b);
	b->path = strdup(m->path);
	if (!b->path)
		return NULL;
	b->dev = m->dev;
	b->ino = m->ino;
	b->deleted = m->deleted;
	u->last_bin = (size_t)(b - u->bins);
	fd = kp_bin_open(pid, m);
	if (fd >= 0) {
		kp_bin_load(b, fd);
		close(fd);
	}
hit:
	b->used = ++u->tick;
	return b;
}

/* Fill @out's sym and off for file offset @off of @b, when a symbol holds it. */
static void kp_bin_sym(const struct kp_usym_bin *b, uint64_t off, struct kp_usym_frame *out)
{
	const struct kp_usym_seg *seg = NULL;
	size_t lo = 0, hi = b->nsyms;
	uint64_t vaddr;

	for (size_t i = 0; i < b->nsegs && !seg; i++)
		if (off >= b->segs[i].off && off - b->segs[i].off < b->segs[i].filesz)
			seg = &b->segs[i];
	if (!seg)
		return;
	vaddr = off - seg->off + seg->vaddr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* the nearest symbol below, or one a little further that it is nested in */
	for (size_t i = lo; i-- > 0 && lo - i <= KP_USYM_NEST;) {
		const struct kp_usym_sym *s = &b->syms[i];

		if ((i + 1 == lo && !s->size) || vaddr - s->addr < s->size) {
			out->sym = s->name;
			out->off = vaddr - s->addr;
			return;
		}
	}
}

/* ---- the per-process cache ---- */

static struct kp_usym_proc *kp_usym_proc_find(struct kp_usym *u, int pid)
{
	if (u->last_proc < u->nprocs && u->procs[u->last_proc].pid == pid)
		return &u->procs[u->last_proc];
	for (size_t i = 0; i < u->nprocs; i++) {
		if (u->procs[i].pid == pid) {
			u->last_proc = i;
			return &u->procs[i];
		}
	}
	return NULL;
}

/*
 * A new entry of @pid (not cached) holding @maps; when the cache is full,
 * the least recently used entry is evicted, or the least recently used of
 * those no lookup has used when they are half the cache or more: every
 * exec on the system makes an entry, most never sampled, and a storm of
 * them must not push out the processes whose frames are named (an
 * aggregate of stacks is printed at exit), while an entry an exec made
 * still outlives the next KP_USYM_PROCS / 2 of them, time enough for its
 * first sample to arrive.
 */
static struct kp_usym_proc *kp_usym_proc_add(struct kp_usym *u, int pid, struct kp_maps *maps,
					     bool tracked)
{
	struct kp_usym_proc *p;

	if (u->nprocs < KP_USYM_PROCS) {
		p = &u->procs[u->nprocs++];
	} else {
		struct kp_usym_proc *lru = NULL, *unused = NULL;
		size_t nunused = 0;

		for (size_t i = 0; i < u->nprocs; i++) {
			struct kp_usym_proc *q = &u->procs[i];

			if (!lru || q->used < lru->used)
				lru = q;
			if (q->looked)
				continue;
			nunused++;
			if (!unused || q->used < unused->used)
				unused = q;
		}
		p = nunused >= KP_USYM_PROCS / 2 ? unused : lru;
		kp_maps_free(p->maps);
	}
	*p = (struct kp_usym_proc){
		.pid = pid,
		.tracked = tracked,
		.used = ++u->tick,
		.read_ns = kp_now_ns(),
		.maps = maps,
	};
	u->last_proc = (size_t)(p - u->procs);
	return p;
}

/* The cache entry of @pid, its maps read when it has none. Return: 0 or -errno. */
static int kp_usym_proc_get(struct kp_usym *u, int pid, struct kp_usym_proc **out)
{
	struct kp_usym_proc *p = kp_usym_proc_find(u, pid);
	struct kp_maps *maps;
	int err;

	if (!p) {
		err = kp_usym_read_maps(pid, &maps);
		if (err)
			return err;
		p = kp_usym_proc_add(u, pid, maps, false);
	}
	p->used = ++u->tick;
	p->looked = true;
	*out = p;
	return 0;
}

struct kp_usym *kp_usym_new(void)
{
	return calloc(1, sizeof(struct kp_usym));
}

void kp_usym_free(struct kp_usym *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nprocs; i++)
		kp_maps_free(u->procs[i].maps);
	for (size_t i = 0; i < KP_USYM_BINS; i++)
		kp_bin_clear(&u->bins[i]);
	free(u);
}

int kp_usym_lookup(struct kp_usym *u, int pid, uint64_t addr, struct kp_usym_frame *out)
{
	const struct kp_map *m;
	struct kp_usym_proc *p;
	struct kp_usym_bin *b;
	int err;

	memset(out, 0, sizeof(*out));
	err = kp_usym_proc_get(u, pid, &p);
	if (err)
		return err;
	m = kp_maps_find(p->maps, addr);
	if (!m) {
		uint64_t now = kp_now_ns();
		struct kp_maps *maps;

		if (p->tracked || now - p->read_ns < KP_USYM_REFRESH_NS)
			return -ENOENT;
		p->read_ns = now;
		if (kp_usym_read_maps(pid, &maps))
			return -ENOENT;
		kp_maps_free(p->maps);
		p->maps = maps;
		m = kp_maps_find(p->maps, addr);
		if (!m)
			return -ENOENT;
	}
	out->file = m->path;
	out->off = addr - m->start + m->pgoff;
	if (m->path[0] != '/')
		return 0;
	b = kp_bin_get(u, pid, m);
	if (b)
		kp_bin_sym(b, out->off, out);
	return 0;
}

int kp_usym_prime(struct kp_usym *u, int pid)
{
	struct kp_usym_proc *p;

	return kp_usym_proc_get(u, pid, &p);
}

void kp_usym_forget(struct kp_usym *u, int pid)
{
	struct kp_usym_proc *p = kp_usym_proc_find(u, pid);

	if (!p)
		return;
	kp_maps_free(p->maps);
	*p = u->procs[--u->nprocs];
}

int kp_usym_exec(struct kp_usym *u, int pid)
{
	struct kp_maps *maps = kp_maps_new();
	struct kp_usym_proc *p = kp_usym_proc_find(u, pid);

	if (!maps) {
		kp_usym_forget(u, pid);
		return -ENOMEM;
	}
	if (!p) {
		kp_usym_proc_add(u, pid, maps, true);
		return 0;
	}
	kp_maps_free(p->maps);
	p->maps = maps;
	p->tracked = true;
	p->looked = false; /* a new program, perhaps never sampled */
	p->used = ++u->tick;
	return 0;
}

int kp_usym_fork(struct kp_usym *u, int ppid, int pid)
{
	struct kp_usym_proc *parent;
	struct kp_maps *maps;

	if (ppid == pid)
		return 0;
	/* before the parent is looked up: forgetting moves entries */
	kp_usym_forget(u, pid);
	parent = kp_usym_proc_find(u, ppid);
	if (!parent)
		return 0;
	maps = kp_maps_edit(parent->maps, NULL, NULL, NULL, 0);
	if (!maps)
		return -ENOMEM;
	kp_usym_proc_add(u, pid, maps, true);
	return 0;
}

int kp_usym_mmap(struct kp_usym *u, int pid, const struct kp_map *m)
{
	struct kp_usym_proc *p = kp_usym_proc_find(u, pid);
	struct kp_maps *maps;
	bool keep, deleted = false;
	size_t plen = 0;

	if (m->end <= m->start)
		return -EINVAL;
	if (!p) {
		/* older than the events: what it mapped before comes from
		 * /proc while it lives; once gone, only what follows */
		int err = kp_usym_read_maps(pid, &maps);

		if (err == -ENOMEM)
			return err;
		if (err) {
			maps = kp_maps_new();
			if (!maps)
				return -ENOMEM;
		}
		p = kp_usym_proc_add(u, pid, maps, true);
	}
	keep = kp_maps_name(m->path, &plen, &deleted);
	if (!keep && !kp_maps_overlap(p->maps, m->start, m->end)) {
		/* JIT code made executable: nothing to cut, nothing to copy */
		p->tracked = true;
		return 0;
	}
	if (keep) {
		struct kp_map add = *m;

		add.deleted = m->deleted || deleted;
		maps = kp_maps_edit(p->maps, m, &add, m->path, plen);
	} else {
		maps = kp_maps_edit(p->maps, m, NULL, NULL, 0);
	}
	if (!maps)
		return -ENOMEM;
	kp_maps_free(p->maps);
	p->maps = maps;
	p->tracked = true;
	return 0;
}

int kp_usym_format(const struct kp_usym_frame *f, uint64_t addr, char *buf, size_t len)
{
	const char *base = f->file ? strrchr(f->file, '/') : NULL;
	int n;

	if (f->sym && f->off)
		n = snprintf(buf, len, "%s+0x%" PRIx64, f->sym, f->off);
	else if (f->sym)
		n = snprintf(buf, len, "%s", f->sym);
	else if (f->file)
		n = snprintf(buf, len, "0x%" PRIx64 " (%s+0x%" PRIx64 ")", addr,
			     base ? base + 1 : f->file, f->off);
	else
		n = snprintf(buf, len, "0x%" PRIx64, addr);
	if (n < 0)
		return -EINVAL;
	return (size_t)n < len ? n : -ENOSPC;
}
