// SPDX-License-Identifier: MIT
/*
 * ELF symbol lookup for uprobes.
 *
 * The kernel places a uprobe at an (inode, file offset) pair and arms it in
 * every mapping of that file range (kernel/events/uprobes.c), so a symbol's
 * st_value, which is a virtual address in the object's link-time layout,
 * has to be carried through the PT_LOAD program header that maps it:
 * offset = vaddr - p_vaddr + p_offset. Section headers are only used to find
 * the symbol tables; the program headers alone define what gets mapped.
 *
 * Files are mapped with ELF_C_READ_MMAP: a file truncated by someone else
 * while it is open here can raise SIGBUS, the price of not reading a whole
 * multi-megabyte object to look at its symbol tables.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_elf.h"
#include "kp_near.h"
#include "kp_err.h"

/* .gnu.version entries: bit 15 marks a non-default ("name@VER") version. */
#define KP_VERSYM_HIDDEN 0x8000
#define KP_VERSYM_INDEX 0x7fff

#define KP_ELF_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct kp_elf {
	int fd;
	Elf *elf;
};

/*
 * A symbol name split at its version: "foo", "foo@VER" (hidden, a
 * non-default version) or "foo@@VER" (the default version). The same syntax
 * is what users write and what linkers store in .symtab for symbols defined
 * through .symver; .dynsym names carry no '@' and keep their version in
 * .gnu.version instead.
 */
struct kp_name {
	const char *base;
	size_t baselen;
	const char *ver; /* NULL when unversioned */
	size_t verlen;
	bool hidden;
};

/* One symbol table (.symtab or .dynsym) and, for .dynsym, its versions. */
struct kp_symtab {
	Elf_Data *syms;
	size_t count;
	size_t strndx; /* section of the symbol names (sh_link) */
	Elf_Data *versym; /* .gnu.version, parallel to .dynsym; or NULL */
	Elf_Data *verdef; /* .gnu.version_d; or NULL */
	size_t verdef_num; /* its entry count (sh_info) */
	size_t verstrndx; /* section of the version names */
};

static void kp_name_split(const char *s, struct kp_name *n)
{
	const char *at = strchr(s, '@');

	n->base = s;
	n->baselen = at ? (size_t)(at - s) : strlen(s);
	n->ver = NULL;
	n->verlen = 0;
	n->hidden = false;
	if (!at)
		return;
	n->hidden = at[1] != '@';
	n->ver = n->hidden ? at + 1 : at + 2;
	n->verlen = strlen(n->ver);
	if (n->verlen == 0)
		n->ver = NULL;
}

static void kp_elf_close(struct kp_elf *ke)
{
	elf_end(ke->elf);
	ke->elf = NULL;
	if (ke->fd >= 0)
		close(ke->fd);
	ke->fd = -1;
}

/*
 * Open @path as a 64-bit executable or shared object. O_NONBLOCK keeps a
 * FIFO from blocking the open; it has no effect on regular files.
 */
static int kp_elf_open(const char *path, struct kp_elf *ke)
{
	struct stat st;
	GElf_Ehdr ehdr;
	int err;

	ke->elf = NULL;
	ke->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (ke->fd < 0)
		return -errno;
	if (fstat(ke->fd, &st) < 0) {
		err = -errno;
		goto err_close;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -KP_ENOTELF;
		goto err_close;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		err = -ENOTSUP;
		goto err_close;
	}
	/* Short or non-ELF files give NULL or an ELF_K_NONE handle. */
	ke->elf = elf_begin(ke->fd, ELF_C_READ_MMAP, NULL);
	if (!ke->elf) {
		err = -KP_ENOTELF;
		goto err_close;
	}
	if (elf_kind(ke->elf) != ELF_K_ELF || gelf_getclass(ke->elf) != ELFCLASS64 ||
	    !gelf_getehdr(ke->elf, &ehdr) || (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN)) {
		err = -KP_ENOTELF;
		goto err_end;
	}
	return 0;

err_end:
	elf_end(ke->elf);
	ke->elf = NULL;
err_close:
	close(ke->fd);
	ke->fd = -1;
	return err;
}

/*
 * Fill @t from the @nth section of type @type (SHT_SYMTAB or SHT_DYNSYM).
 * Return: true when there is such a section with a usable symbol array.
 */
static bool kp_symtab_get(Elf *elf, Elf64_Word type, size_t nth, struct kp_symtab *t)
{
	size_t symsz = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	Elf_Scn *scn = NULL;
	size_t seen = 0;
	GElf_Shdr sh;

	memset(t, 0, sizeof(*t));
	if (symsz == 0)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || seen++ != nth)
			continue;
		t->syms = elf_getdata(scn, NULL);
		if (!t->syms)
			return false;
		t->count = t->syms->d_size / symsz;
		t->strndx = sh.sh_link;
		break;
	}
	if (!t->syms)
		return false;
	if (type != SHT_DYNSYM)
		return true;

	/* GNU versioning: .gnu.version is indexed like .dynsym. */
	scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_GNU_versym) {
			t->versym = elf_getdata(scn, NULL);
		} else if (sh.sh_type == SHT_GNU_verdef) {
			t->verdef = elf_getdata(scn, NULL);
			t->verdef_num = sh.sh_info;
			t->verstrndx = sh.sh_link;
		}
	}
	return true;
}

/*
 * Symbol @i of @t if it is a function defined in this object: STT_FUNC, or
 * STT_GNU_IFUNC, whose st_value is the resolver (what runs at that address;
 * a probe there fires at binding time, not on each call of the
 * implementation the resolver picks).
 */
static bool kp_symtab_func(Elf *elf, const struct kp_symtab *t, size_t i, GElf_Sym *sym,
			   const char **name)
{
	int type;

	if (i > INT_MAX || !gelf_getsym(t->syms, (int)i, sym))
		return false;
	type = GELF_ST_TYPE(sym->st_info);
	if (sym->st_shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_GNU_IFUNC))
		return false;
	*name = elf_strptr(elf, t->strndx, sym->st_name);
	return *name && **name;
}

/* The version of .dynsym entry @i, as a kp_name's ver/hidden. */
static void kp_symtab_version(Elf *elf, const struct kp_symtab *t, size_t i, struct kp_name *n)
{
	GElf_Versym vs;
	GElf_Verdef vd;
	GElf_Verdaux vda;
	size_t off = 0;
	unsigned int ndx;

	if (!t->versym || i > INT_MAX || !gelf_getversym(t->versym, (int)i, &vs))
		return;
	n->hidden = vs & KP_VERSYM_HIDDEN;
	ndx = vs & KP_VERSYM_INDEX;
	/* 0 is local, 1 the unversioned global version: no name. */
	if (ndx <= 1 || !t->verdef)
		return;
	for (size_t k = 0; k < t->verdef_num && off <= INT_MAX; k++) {
		if (!gelf_getverdef(t->verdef, (int)off, &vd))
			return;
		if (vd.vd_ndx == ndx) {
			if (off + vd.vd_aux > INT_MAX ||
			    !gelf_getverdaux(t->verdef, (int)(off + vd.vd_aux), &vda))
				return;
			n->ver = elf_strptr(elf, t->verstrndx, vda.vda_name);
			n->verlen = n->ver ? strlen(n->ver) : 0;
			return;
		}
		if (vd.vd_next == 0)
			return;
		off += vd.vd_next;
	}
}

/*
 * Preference among same-named functions of one table: the version the user
 * named, then the default version (what an unversioned reference binds
 * to), then global over weak over local binding. The first of equals wins.
 */
static int kp_sym_rank(const struct kp_name *want, const struct kp_name *have, const GElf_Sym *sym)
{
	int rank = 0;

	if (want->ver && have->ver && want->verlen == have->verlen &&
	    memcmp(want->ver, have->ver, want->verlen) == 0)
		rank += 8;
	if (!have->hidden)
		rank += 4;
	if (GELF_ST_BIND(sym->st_info) == STB_GLOBAL)
		rank += 2;
	else if (GELF_ST_BIND(sym->st_info) == STB_WEAK)
		rank += 1;
	return rank;
}

/* Find @want among the tables of @type. Return: 0 or -KP_ENOSYM. */
static int kp_elf_lookup(Elf *elf, Elf64_Word type, const struct kp_name *want, GElf_Sym *out)
{
	struct kp_symtab t;
	int best = -1;

	for (size_t nth = 0; kp_symtab_get(elf, type, nth, &t); nth++) {
		for (size_t i = 0; i < t.count; i++) {
			struct kp_name have;
			const char *name;
			GElf_Sym sym;
			int rank;

			if (!kp_symtab_func(elf, &t, i, &sym, &name))
				continue;
			kp_name_split(name, &have);
			if (have.baselen != want->baselen ||
			    memcmp(have.base, want->base, want->baselen) != 0)
				continue;
			if (type == SHT_DYNSYM && !have.ver)
				kp_symtab_version(elf, &t, i, &have);
			rank = kp_sym_rank(want, &have, &sym);
			if (rank > best) {
				best = rank;
				*out = sym;
			}
		}
	}
	return best < 0 ? -KP_ENOSYM : 0;
}

/*
 * Only PF_X segments: the kernel's valid_vma() accepts any private,
 * non-writable file mapping that may be made executable (VM_MAYEXEC, set
 * for every mapping outside noexec mounts), so a probe offset inside a
 * read-only data segment would be armed and its breakpoint byte would land
 * in data the process reads. Bytes past p_filesz (.bss) are not in the file.
 */
static int kp_elf_vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *offset)
{
	size_t n;

	if (elf_getphdrnum(elf, &n) != 0)
		return -KP_ENOSEG;
	for (size_t i = 0; i < n && i <= INT_MAX; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz)
			continue;
		if (!(ph.p_flags & PF_X))
			return -KP_ENOSEG;
		*offset = vaddr - ph.p_vaddr + ph.p_offset;
		return 0;
	}
	return -KP_ENOSEG;
}

int kp_elf_resolve(const char *path, const char *symbol, uint64_t add, uint64_t *offset)
{
	struct kp_name want;
	struct kp_elf ke;
	GElf_Sym sym;
	int err;

	if (!path || !symbol || !offset)
		return -EINVAL;
	kp_name_split(symbol, &want);
	if (want.baselen == 0)
		return -EINVAL;

	err = kp_elf_open(path, &ke);
	if (err)
		return err;
	err = kp_elf_lookup(ke.elf, SHT_SYMTAB, &want, &sym);
	if (err == -KP_ENOSYM)
		err = kp_elf_lookup(ke.elf, SHT_DYNSYM, &want, &sym);
	if (err)
		goto out;
	/* st_size 0 means unknown (hand-written assembly): no bound then. */
	if ((sym.st_size && add >= sym.st_size) || add > UINT64_MAX - sym.st_value) {
		err = -KP_ENOSEG;
		goto out;
	}
	err = kp_elf_vaddr_to_offset(ke.elf, sym.st_value + add, offset);
out:
	kp_elf_close(&ke);
	return err;
}

int kp_elf_each_func(Elf *elf, int (*fn)(const char *name, const GElf_Sym *sym, void *ctx),
		     void *ctx)
{
	static const Elf64_Word types[] = { SHT_SYMTAB, SHT_DYNSYM };
	struct kp_symtab t;

	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		for (size_t nth = 0; kp_symtab_get(elf, types[k], nth, &t); nth++) {
			for (size_t i = 0; i < t.count; i++) {
				const char *name;
				GElf_Sym sym;
				int rc;

				if (kp_symtab_func(elf, &t, i, &sym, &name) &&
				    (rc = fn(name, &sym, ctx)))
					return rc;
			}
		}
	}
	return 0;
}

/* kp_elf_each_func()'s callback: offer a function's name to the kp_near. */
static int kp_near_func(const char *name, const GElf_Sym *sym, void *near)
{
	struct kp_name have;

	(void)sym;
	kp_name_split(name, &have);
	/* GCC's split-off cold parts are not entry points. */
	if (have.baselen && !memmem(have.base, have.baselen, ".cold", 5))
		kp_near_offer(near, have.base, have.baselen);
	return 0;
}

int kp_elf_near(const char *path, const char *symbol, char *buf, size_t len, int max)
{
	struct kp_near *near;
	struct kp_name want;
	struct kp_elf ke;
	int err;

	if (!path || !symbol || (!buf && len))
		return -EINVAL;
	if (len)
		buf[0] = '\0';
	if (max <= 0 || len == 0)
		return 0;
	kp_name_split(symbol, &want);
	if (want.baselen == 0)
		return 0;
	err = kp_elf_open(path, &ke);
	if (err)
		return err;
	near = kp_near_new(want.base, want.baselen, max);
	if (!near) {
		err = -ENOMEM;
		goto out_close;
	}
	kp_elf_each_func(ke.elf, kp_near_func, near);
	err = kp_near_format(near, buf, len);
	kp_near_free(near);
out_close:
	kp_elf_close(&ke);
	return err;
}

/* Copy the canonical form of @path into @out. Return: 0 or -errno. */
static int kp_realpath(const char *path, char *out, size_t len)
{
	char *r = realpath(path, NULL);
	size_t rl;

	if (!r)
		return -errno;
	rl = strlen(r);
	if (rl >= len) {
		free(r);
		return -ENAMETOOLONG;
	}
	memcpy(out, r, rl + 1);
	free(r);
	return 0;
}

int kp_elf_find_path(const char *name, char *out, size_t len)
{
	const char *dirs, *p;

	if (!name || !out)
		return -EINVAL;
	if (!*name)
		return -ENOENT;
	if (strchr(name, '/'))
		return kp_realpath(name, out, len);

	dirs = getenv("PATH");
	if (!dirs)
		dirs = KP_ELF_DEFAULT_PATH;
	p = dirs;
	for (;;) {
		const char *end = strchrnul(p, ':');
		size_t dl = (size_t)(end - p);
		char cand[PATH_MAX];
		struct stat st;
		int n;

		/* POSIX: an empty element of PATH is the current directory. */
		if (dl == 0)
			n = snprintf(cand, sizeof(cand), "%s", name);
		else
			n = snprintf(cand, sizeof(cand), "%.*s/%s", (int)dl, p, name);
		if (n > 0 && (size_t)n < sizeof(cand) && stat(cand, &st) == 0 &&
		    S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
			return kp_realpath(cand, out, len);
		if (!*end)
			break;
		p = end + 1;
	}
	return -ENOENT;
}
