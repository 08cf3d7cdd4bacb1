// SPDX-License-Identifier: MIT
/*
 * Unit test of host/kp_elf.c. Runs from the repository root (tests/run.sh
 * does) and needs build/progs/uprobe_target built. Expected offsets are
 * never hard-coded: they come from readelf(1) output (a second ELF reader),
 * or from a synthetic ELF file written here whose layout is known.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_elf.h"
#include "kp_err.h"
#include "t.h"

#define TARGET "build/progs/uprobe_target"
#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

static char tmpdir[] = "/tmp/kp_test_elf.XXXXXX";

/* A path inside tmpdir; returns a static buffer per slot. */
static const char *tmp_path(const char *name)
{
	static char bufs[8][PATH_MAX];
	static int slot;
	char *b = bufs[slot++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", tmpdir, name);
	return b;
}

static bool write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, data, len) == (ssize_t)len;
	return close(fd) == 0 && ok;
}

/* Split @line at blanks into at most @max tokens; returns the count. */
static int tokens(char *line, char **tok, int max)
{
	char *save = NULL, *t;
	int n = 0;

	for (t = strtok_r(line, " \t\n", &save); t && n < max; t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	return n;
}

/*
 * readelf -sW: the defined FUNC/IFUNC named exactly @name (readelf prints
 * dynamic versions as name@@VER / name@VER) in table @table (".symtab" or
 * ".dynsym").
 */
static bool rd_symbol(const char *path, const char *table, const char *name, uint64_t *value,
		      uint64_t *size)
{
	char cmd[PATH_MAX + 64], line[1024];
	bool in_table = false, found = false;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "LC_ALL=C readelf -sW '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *tok[16];
		int n;

		if (strncmp(line, "Symbol table '", 14) == 0) {
			in_table = strncmp(line + 14, table, strlen(table)) == 0 &&
				   line[14 + strlen(table)] == '\'';
			continue;
		}
		if (!in_table || found)
			continue;
		n = tokens(line, tok, 16);
		if (n < 8 || strcmp(tok[7], name) != 0 || strcmp(tok[6], "UND") == 0 ||
		    (strcmp(tok[3], "FUNC") != 0 && strcmp(tok[3], "IFUNC") != 0))
			continue;
		*value = strtoull(tok[1], NULL, 16);
		*size = strtoull(tok[2], NULL, 0);
		found = true;
	}
	pclose(f);
	return found;
}

/* readelf -lW: file offset of @vaddr through its PT_LOAD; @exec: has E. */
static bool rd_offset(const char *path, uint64_t vaddr, uint64_t *off, bool *exec)
{
	char cmd[PATH_MAX + 64], line[1024];
	bool found = false;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "LC_ALL=C readelf -lW '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *tok[16];
		uint64_t p_off, p_vaddr, p_filesz;
		int n = tokens(line, tok, 16);

		if (found || n < 8 || strcmp(tok[0], "LOAD") != 0)
			continue;
		p_off = strtoull(tok[1], NULL, 16);
		p_vaddr = strtoull(tok[2], NULL, 16);
		p_filesz = strtoull(tok[4], NULL, 16);
		if (vaddr < p_vaddr || vaddr - p_vaddr >= p_filesz)
			continue;
		*off = vaddr - p_vaddr + p_off;
		*exec = false;
		/* Flags sit between MemSiz and Align, as "R E" or "RWE". */
		for (int i = 6; i < n - 1; i++)
			if (strchr(tok[i], 'E'))
				*exec = true;
		found = true;
	}
	pclose(f);
	return found;
}

/* How many items of the ", "-separated @list equal @name. */
static int count_item(const char *list, const char *name)
{
	size_t nl = strlen(name);
	int n = 0;

	for (const char *p = list; *p;) {
		const char *end = strstr(p, ", ");
		size_t l = end ? (size_t)(end - p) : strlen(p);

		if (l == nl && strncmp(p, name, nl) == 0)
			n++;
		p += l;
		if (end)
			p += 2;
	}
	return n;
}

/* Whether `readelf --dyn-syms` of @path mentions @name at all. */
static bool rd_in_dynsym(const char *path, const char *name)
{
	char cmd[PATH_MAX + 128], line[1024];
	bool found = false;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "LC_ALL=C readelf -W --dyn-syms '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, name))
			found = true;
	pclose(f);
	return found;
}

/*
 * Check kp_elf_resolve(@path, @sym, @add) against readelf's value of
 * symbol @rdname in @table.
 */
static void check_vs_readelf(const char *path, const char *table, const char *rdname,
			     const char *sym, uint64_t add)
{
	uint64_t value, size, want, got = 0;
	bool exec;
	int err;

	if (!rd_symbol(path, table, rdname, &value, &size) ||
	    !rd_offset(path, value + add, &want, &exec)) {
		T_OK(0, "readelf finds %s in %s %s", rdname, path, table);
		return;
	}
	err = kp_elf_resolve(path, sym, add, &got);
	T_OK(err == 0 && got == want && exec,
	     "%s:%s+0x%" PRIx64 " -> 0x%" PRIx64 " (readelf: vaddr 0x%" PRIx64 " -> 0x%" PRIx64
	     ", err %d)",
	     path, sym, add, got, value + add, want, err);
}

static void test_target(void)
{
	static const char *const funcs[] = { "kp_target_int",	"kp_target_str",
					     "kp_target_leaf",	"kp_target_middle",
					     "kp_target_outer", "main" };
	uint64_t value, size, off = 0, off2;
	char buf[256];
	bool exec;
	int n;

	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		check_vs_readelf(TARGET, ".symtab", funcs[i], funcs[i], 0);

	if (!rd_symbol(TARGET, ".symtab", "kp_target_int", &value, &size) || size < 2) {
		T_OK(0, "readelf gives kp_target_int a size");
		return;
	}
	rd_offset(TARGET, value, &off2, &exec);
	printf("# %s: kp_target_int vaddr 0x%" PRIx64 " file offset 0x%" PRIx64 " size %" PRIu64
	       "\n",
	       TARGET, value, off2, size);

	check_vs_readelf(TARGET, ".symtab", "kp_target_int", "kp_target_int", 4);
	check_vs_readelf(TARGET, ".symtab", "kp_target_int", "kp_target_int", size - 1);
	T_EQ_INT(kp_elf_resolve(TARGET, "kp_target_int", size, &off), -KP_ENOSEG,
		 "kp_target_int+size is past the function");
	T_EQ_INT(kp_elf_resolve(TARGET, "kp_target_int", UINT64_MAX, &off), -KP_ENOSEG,
		 "kp_target_int+UINT64_MAX");
	/* Versions only rank candidates; the base name decides the match. */
	check_vs_readelf(TARGET, ".symtab", "kp_target_int", "kp_target_int@@NOPE", 0);
	T_EQ_INT(kp_elf_resolve(TARGET, "kp_target_nope", 0, &off), -KP_ENOSYM, "unknown symbol");
	T_EQ_INT(kp_elf_resolve(TARGET, "kp_target_sink", 0, &off), -KP_ENOSYM,
		 "a variable is not a function");
	T_EQ_INT(kp_elf_resolve(TARGET, "printf", 0, &off), -KP_ENOSYM,
		 "an undefined (imported) function");
	T_EQ_INT(kp_elf_resolve(TARGET, "", 0, &off), -EINVAL, "empty name");
	T_EQ_INT(kp_elf_resolve(TARGET, "@@GLIBC_2.2.5", 0, &off), -EINVAL, "version only");

	n = kp_elf_near(TARGET, "kp_target_itn", buf, sizeof(buf), 3);
	T_OK(n >= 1 && strncmp(buf, "kp_target_int", 13) == 0 &&
		 (buf[13] == '\0' || buf[13] == ','),
	     "near kp_target_itn -> \"%s\" (%d)", buf, n);
	n = kp_elf_near(TARGET, "mian", buf, sizeof(buf), 5);
	T_OK(n >= 1 && strncmp(buf, "main", 4) == 0, "near mian -> \"%s\" (%d)", buf, n);
	n = kp_elf_near(TARGET, "kp_target_foo", buf, sizeof(buf), 10);
	T_OK(n == 5 && strstr(buf, "kp_target_int") && strstr(buf, "kp_target_outer"),
	     "near kp_target_foo lists the 5 kp_target_ functions: \"%s\" (%d)", buf, n);
	n = kp_elf_near(TARGET, "kp_target_itn", buf, sizeof(buf), 1);
	T_OK(n == 1 && strcmp(buf, "kp_target_int") == 0, "near max 1 -> \"%s\"", buf);
	n = kp_elf_near(TARGET, "kp_target_foo", buf, 14, 10);
	T_OK(n == 1 && strlen(buf) == 13, "near fills a 14-byte buffer with one name: \"%s\"", buf);
	n = kp_elf_near(TARGET, "kp_target_itn", buf, 5, 3);
	T_OK(n == 0 && buf[0] == '\0', "near writes no partial name (%d, \"%s\")", n, buf);
	n = kp_elf_near(TARGET, "zzzzqqqqxxxx", buf, sizeof(buf), 3);
	T_OK(n == 0 && buf[0] == '\0', "near finds nothing for noise (%d, \"%s\")", n, buf);
}

static void test_stripped(void)
{
	const char *stripped = tmp_path("stripped");
	char cmd[2 * PATH_MAX + 64], buf[256];
	uint64_t off = 0;
	int n;

	snprintf(cmd, sizeof(cmd), "strip -o '%s' %s 2>/dev/null", stripped, TARGET);
	if (system(cmd) != 0) {
		T_OK(0, "strip -o %s %s", stripped, TARGET);
		return;
	}
	/*
	 * strip drops .symtab; a PIE linked without -rdynamic exports none of
	 * its own functions, so .dynsym only holds imports: nothing to find.
	 */
	T_OK(!rd_in_dynsym(stripped, "kp_target_int"), "stripped: kp_target_int not in .dynsym");
	T_EQ_INT(kp_elf_resolve(stripped, "kp_target_int", 0, &off), -KP_ENOSYM,
		 "stripped: kp_target_int");
	T_EQ_INT(kp_elf_resolve(stripped, "main", 0, &off), -KP_ENOSYM, "stripped: main");
	T_EQ_INT(kp_elf_resolve(stripped, "printf", 0, &off), -KP_ENOSYM,
		 "stripped: imported printf");
	n = kp_elf_near(stripped, "kp_target_itn", buf, sizeof(buf), 3);
	T_OK(n == 0 && buf[0] == '\0', "stripped: near finds nothing (%d, \"%s\")", n, buf);
	unlink(stripped);
}

static void test_libc(void)
{
	uint64_t value, size, old = 0, def = 0, off = 0;
	char buf[256];
	int n;

	if (access(LIBC, R_OK) != 0) {
		printf("skip - libc lookups: %s missing\n", LIBC);
		return;
	}
	/* Debian's libc.so.6 is stripped: .dynsym only, names versioned. */
	check_vs_readelf(LIBC, ".dynsym", "getpid@@GLIBC_2.2.5", "getpid", 0);
	check_vs_readelf(LIBC, ".dynsym", "getpid@@GLIBC_2.2.5", "getpid@@GLIBC_2.2.5", 0);
	check_vs_readelf(LIBC, ".dynsym", "getpid@@GLIBC_2.2.5", "getpid@GLIBC_2.2.5", 0);
	check_vs_readelf(LIBC, ".dynsym", "getpid@@GLIBC_2.2.5", "getpid", 1);
	if (rd_symbol(LIBC, ".dynsym", "getpid@@GLIBC_2.2.5", &value, &size) && size) {
		T_EQ_INT(kp_elf_resolve(LIBC, "getpid", size, &off), -KP_ENOSEG,
			 "libc getpid+size");
		check_vs_readelf(LIBC, ".dynsym", "getpid@@GLIBC_2.2.5", "getpid", size - 1);
	}

	/*
	 * memcpy has two versions at two addresses: the plain name binds to
	 * the default (@@GLIBC_2.14, an IFUNC), the old one must be asked for.
	 */
	if (rd_symbol(LIBC, ".dynsym", "memcpy@GLIBC_2.2.5", &value, &size) &&
	    rd_symbol(LIBC, ".dynsym", "memcpy@@GLIBC_2.14", &value, &size)) {
		check_vs_readelf(LIBC, ".dynsym", "memcpy@@GLIBC_2.14", "memcpy", 0);
		check_vs_readelf(LIBC, ".dynsym", "memcpy@@GLIBC_2.14", "memcpy@@GLIBC_2.14", 0);
		check_vs_readelf(LIBC, ".dynsym", "memcpy@GLIBC_2.2.5", "memcpy@GLIBC_2.2.5", 0);
		kp_elf_resolve(LIBC, "memcpy", 0, &def);
		kp_elf_resolve(LIBC, "memcpy@GLIBC_2.2.5", 0, &old);
		T_OK(def != old, "libc memcpy versions differ (0x%" PRIx64 ", 0x%" PRIx64 ")", def,
		     old);
	} else {
		printf("skip - libc memcpy versions: %s has not both\n", LIBC);
	}

	T_EQ_INT(kp_elf_resolve(LIBC, "getpdi", 0, &off), -KP_ENOSYM, "libc unknown symbol");
	n = kp_elf_near(LIBC, "getpdi", buf, sizeof(buf), 5);
	T_OK(n >= 1 && strstr(buf, "getpid") != NULL, "libc near getpdi -> \"%s\"", buf);
	n = kp_elf_near(LIBC, "memcyp", buf, sizeof(buf), 5);
	/* memcmp is one edit away too: ties go alphabetically. */
	T_OK(n >= 2 && count_item(buf, "memcpy") == 1 &&
		 (strncmp(buf, "memcpy", 6) == 0 || strncmp(buf, "memcmp, memcpy", 14) == 0),
	     "libc near memcyp lists memcpy among the first two, once: \"%s\"", buf);
}

/*
 * A synthetic ELF64 executable whose code segment has p_vaddr != p_offset,
 * as in every non-PIE ET_EXEC, with one symbol per case. Layout:
 *
 *   PT_LOAD R+X  offset 0x100 vaddr 0x401100 filesz 0x100
 *   PT_LOAD R    offset 0x200 vaddr 0x602200 filesz 0x40
 *   PT_LOAD RW   offset 0x240 vaddr 0x603240 filesz 0x40 memsz 0x200
 */
struct syn_sym {
	const char *name;
	unsigned char bind, type;
	uint64_t value, size;
	bool undef;
};

static const struct syn_sym syn_syms[] = {
	{ "f_dup", STB_LOCAL, STT_FUNC, 0x401150, 0x10, false },
	{ "f_text", STB_GLOBAL, STT_FUNC, 0x401140, 0x10, false },
	{ "f_dup", STB_GLOBAL, STT_FUNC, 0x401160, 0x10, false },
	{ "f_ro", STB_GLOBAL, STT_FUNC, 0x602210, 0x8, false },
	{ "f_data", STB_GLOBAL, STT_FUNC, 0x603250, 0x8, false },
	{ "f_bss", STB_GLOBAL, STT_FUNC, 0x603300, 0x8, false },
	{ "f_nowhere", STB_GLOBAL, STT_FUNC, 0x900000, 0x8, false },
	{ "f_ifunc", STB_GLOBAL, STT_GNU_IFUNC, 0x401170, 0x10, false },
	{ "f_obj", STB_GLOBAL, STT_OBJECT, 0x401180, 0x8, false },
	{ "f_undef", STB_GLOBAL, STT_FUNC, 0, 0, true },
	{ "f_nosize", STB_GLOBAL, STT_FUNC, 0x401190, 0, false },
	{ "f_ver@V1", STB_GLOBAL, STT_FUNC, 0x4011a0, 0x4, false },
	{ "f_ver@@V2", STB_GLOBAL, STT_FUNC, 0x4011c0, 0x4, false },
	{ "f_end", STB_GLOBAL, STT_FUNC, 0x4011f0, 0x20, false },
	{ "f_wrap", STB_GLOBAL, STT_FUNC, 0xfffffffffffffff0ULL, 0, false },
	{ "f_split.cold", STB_LOCAL, STT_FUNC, 0x4011e0, 0x4, false },
};

#define SYN_NSYMS (sizeof(syn_syms) / sizeof(syn_syms[0]) + 1)

static size_t syn_build(unsigned char *img, size_t cap, uint16_t e_type)
{
	static const char shstr[] = "\0.text\0.symtab\0.strtab\0.shstrtab";
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[3] = { 0 };
	Elf64_Sym sym[SYN_NSYMS] = { 0 };
	Elf64_Shdr sh[5] = { 0 };
	size_t symoff = 0x300, stroff, shstroff, shoff, strsz = 1, end;
	unsigned char *strtab = img + 0x800;

	memset(img, 0x90, cap);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = e_type;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = 0x401140;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 3;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 5;
	eh.e_shstrndx = 4;

	/* type, flags, offset, vaddr, paddr, filesz, memsz, align */
	ph[0] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_X, 0x100, 0x401100, 0x401100, 0x100, 0x100, 4096 };
	ph[1] = (Elf64_Phdr){ PT_LOAD, PF_R, 0x200, 0x602200, 0x602200, 0x40, 0x40, 4096 };
	ph[2] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_W, 0x240, 0x603240, 0x603240, 0x40, 0x200, 4096 };

	/* Names go to a scratch area first, copied after the symbols. */
	strtab[0] = '\0';
	for (size_t i = 1; i < SYN_NSYMS; i++) {
		const struct syn_sym *s = &syn_syms[i - 1];

		sym[i].st_name = (Elf64_Word)strsz;
		memcpy(strtab + strsz, s->name, strlen(s->name) + 1);
		strsz += strlen(s->name) + 1;
		sym[i].st_info = ELF64_ST_INFO(s->bind, s->type);
		sym[i].st_shndx = s->undef ? SHN_UNDEF : 1;
		sym[i].st_value = s->value;
		sym[i].st_size = s->size;
	}
	stroff = symoff + sizeof(sym);
	memmove(img + stroff, strtab, strsz);
	shstroff = stroff + strsz;
	memcpy(img + shstroff, shstr, sizeof(shstr));
	shoff = (shstroff + sizeof(shstr) + 7) & ~(size_t)7;
	eh.e_shoff = shoff;

	/* name, type, flags, addr, offset, size, link, info, addralign, entsize */
	sh[1] = (Elf64_Shdr){
		1, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0x401100, 0x100, 0x100, 0, 0, 16, 0
	};
	sh[2] = (Elf64_Shdr){ 7, SHT_SYMTAB, 0, 0, symoff, sizeof(sym), 3, 1, 8, sizeof(sym[0]) };
	sh[3] = (Elf64_Shdr){ 15, SHT_STRTAB, 0, 0, stroff, strsz, 0, 0, 1, 0 };
	sh[4] = (Elf64_Shdr){ 23, SHT_STRTAB, 0, 0, shstroff, sizeof(shstr), 0, 0, 1, 0 };

	memcpy(img, &eh, sizeof(eh));
	memcpy(img + eh.e_phoff, ph, sizeof(ph));
	memcpy(img + symoff, sym, sizeof(sym));
	memcpy(img + shoff, sh, sizeof(sh));
	end = shoff + sizeof(sh);
	return end <= cap ? end : 0;
}

static void test_synthetic(void)
{
	static unsigned char img[8192];
	const char *syn = tmp_path("synthetic");
	char buf[256];
	uint64_t off = 0;
	size_t len = syn_build(img, sizeof(img), ET_EXEC);
	int n, err;

	if (!len || !write_file(syn, img, len, 0644)) {
		T_OK(0, "write %s", syn);
		return;
	}
	err = kp_elf_resolve(syn, "f_text", 0, &off);
	T_OK(err == 0 && off == 0x140, "syn f_text: vaddr 0x401140 -> 0x%" PRIx64 " (%d)", off,
	     err);
	err = kp_elf_resolve(syn, "f_text", 0xf, &off);
	T_OK(err == 0 && off == 0x14f, "syn f_text+0xf -> 0x%" PRIx64 " (%d)", off, err);
	T_EQ_INT(kp_elf_resolve(syn, "f_text", 0x10, &off), -KP_ENOSEG, "syn f_text+size");
	err = kp_elf_resolve(syn, "f_dup", 0, &off);
	T_OK(err == 0 && off == 0x160, "syn f_dup: global wins over local -> 0x%" PRIx64, off);
	err = kp_elf_resolve(syn, "f_ifunc", 0, &off);
	T_OK(err == 0 && off == 0x170, "syn IFUNC -> 0x%" PRIx64 " (%d)", off, err);
	T_EQ_INT(kp_elf_resolve(syn, "f_ro", 0, &off), -KP_ENOSEG, "syn function in R segment");
	T_EQ_INT(kp_elf_resolve(syn, "f_data", 0, &off), -KP_ENOSEG, "syn function in RW segment");
	T_EQ_INT(kp_elf_resolve(syn, "f_bss", 0, &off), -KP_ENOSEG, "syn past p_filesz");
	T_EQ_INT(kp_elf_resolve(syn, "f_nowhere", 0, &off), -KP_ENOSEG, "syn in no segment");
	T_EQ_INT(kp_elf_resolve(syn, "f_obj", 0, &off), -KP_ENOSYM, "syn STT_OBJECT");
	T_EQ_INT(kp_elf_resolve(syn, "f_undef", 0, &off), -KP_ENOSYM, "syn SHN_UNDEF");
	err = kp_elf_resolve(syn, "f_nosize", 0x20, &off);
	T_OK(err == 0 && off == 0x1b0, "syn size 0: +0x20 allowed -> 0x%" PRIx64 " (%d)", off, err);
	T_EQ_INT(kp_elf_resolve(syn, "f_nosize", 0x100, &off), -KP_ENOSEG,
		 "syn size 0: +0x100 leaves the segment");
	err = kp_elf_resolve(syn, "f_end", 0xf, &off);
	T_OK(err == 0 && off == 0x1ff, "syn last byte of the segment -> 0x%" PRIx64, off);
	T_EQ_INT(kp_elf_resolve(syn, "f_end", 0x10, &off), -KP_ENOSEG,
		 "syn first byte past the segment");
	T_EQ_INT(kp_elf_resolve(syn, "f_wrap", 0x20, &off), -KP_ENOSEG, "syn address wraps");
	err = kp_elf_resolve(syn, "f_ver", 0, &off);
	T_OK(err == 0 && off == 0x1c0, "syn f_ver -> default f_ver@@V2 0x%" PRIx64, off);
	err = kp_elf_resolve(syn, "f_ver@V1", 0, &off);
	T_OK(err == 0 && off == 0x1a0, "syn f_ver@V1 -> 0x%" PRIx64, off);
	err = kp_elf_resolve(syn, "f_ver@@V2", 0, &off);
	T_OK(err == 0 && off == 0x1c0, "syn f_ver@@V2 -> 0x%" PRIx64, off);
	err = kp_elf_resolve(syn, "f_ver@V9", 0, &off);
	T_OK(err == 0 && off == 0x1c0, "syn f_ver@V9 (unknown version) -> default 0x%" PRIx64, off);
	T_EQ_INT(kp_elf_resolve(syn, "f_ver@V1x", 0x4, &off), -KP_ENOSEG,
		 "syn f_ver@V1x ranks the default version, +size refused");

	n = kp_elf_near(syn, "f_vre", buf, sizeof(buf), 10);
	T_OK(n >= 1 && strncmp(buf, "f_ver", 5) == 0 && count_item(buf, "f_ver") == 1 &&
		 !strchr(buf, '@'),
	     "syn near f_vre lists f_ver once, unversioned: \"%s\"", buf);
	n = kp_elf_near(syn, "f_split", buf, sizeof(buf), 10);
	T_OK(n == 0 && buf[0] == '\0', "syn near skips .cold parts: \"%s\" (%d)", buf, n);
	n = kp_elf_near(syn, "f_txet", buf, sizeof(buf), 10);
	T_OK(n >= 1 && strncmp(buf, "f_text", 6) == 0 && !strstr(buf, "f_obj") &&
		 !strstr(buf, "f_undef"),
	     "syn near f_txet, functions only: \"%s\"", buf);

	len = syn_build(img, sizeof(img), ET_REL);
	T_OK(len && write_file(syn, img, len, 0644) &&
		 kp_elf_resolve(syn, "f_text", 0, &off) == -KP_ENOTELF,
	     "ET_REL is refused");
	len = syn_build(img, sizeof(img), ET_CORE);
	T_OK(len && write_file(syn, img, len, 0644) &&
		 kp_elf_resolve(syn, "f_text", 0, &off) == -KP_ENOTELF,
	     "ET_CORE is refused");
	unlink(syn);
}

static void test_not_elf(void)
{
	static const char text[] = "just some text\n";
	const char *txt = tmp_path("text"), *empty = tmp_path("empty");
	const char *fifo = tmp_path("fifo"), *e32 = tmp_path("elf32"), *trunc = tmp_path("trunc");
	Elf32_Ehdr eh = { 0 };
	char buf[64];
	uint64_t off = 0;

	T_EQ_INT(kp_elf_resolve("/nonexistent/kp/file", "main", 0, &off), -ENOENT, "missing file");
	T_EQ_INT(kp_elf_near("/nonexistent/kp/file", "main", buf, sizeof(buf), 3), -ENOENT,
		 "near: missing file");
	T_OK(write_file(txt, text, sizeof(text) - 1, 0644) &&
		 kp_elf_resolve(txt, "main", 0, &off) == -KP_ENOTELF,
	     "text file -> KP_ENOTELF");
	T_EQ_INT(kp_elf_near(txt, "main", buf, sizeof(buf), 3), -KP_ENOTELF, "near: text file");
	T_OK(write_file(empty, "", 0, 0644) &&
		 kp_elf_resolve(empty, "main", 0, &off) == -KP_ENOTELF,
	     "empty file -> KP_ENOTELF");
	T_OK(write_file(trunc, "\177ELF\002\001\001\000", 8, 0644) &&
		 kp_elf_resolve(trunc, "main", 0, &off) == -KP_ENOTELF,
	     "truncated ELF header -> KP_ENOTELF");
	T_EQ_INT(kp_elf_resolve(tmpdir, "main", 0, &off), -EISDIR, "directory");
	T_EQ_INT(kp_elf_resolve("/dev/null", "main", 0, &off), -KP_ENOTELF, "character device");
	T_OK(mkfifo(fifo, 0600) == 0 && kp_elf_resolve(fifo, "main", 0, &off) == -KP_ENOTELF,
	     "FIFO -> KP_ENOTELF without blocking");

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_386;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	T_OK(write_file(e32, &eh, sizeof(eh), 0644) &&
		 kp_elf_resolve(e32, "main", 0, &off) == -KP_ENOTELF,
	     "ELFCLASS32 -> KP_ENOTELF");
	T_EQ_INT(kp_elf_resolve(NULL, "main", 0, &off), -EINVAL, "NULL path");
	unlink(txt);
	unlink(empty);
	unlink(trunc);
	unlink(fifo);
	unlink(e32);
}

static void test_find_path(void)
{
	const char *oldpath = getenv("PATH");
	char *saved = oldpath ? strdup(oldpath) : NULL;
	char out[PATH_MAX], want[PATH_MAX], small[4];
	const char *bindir = tmp_path("bin"), *tool = tmp_path("bin/kp-tool");
	char *cwd = getcwd(NULL, 0);
	int err;

	if (!realpath("/usr/bin/true", want) && !realpath("/bin/true", want)) {
		printf("skip - find true: no /usr/bin/true or /bin/true\n");
	} else {
		err = kp_elf_find_path("true", out, sizeof(out));
		T_OK(err == 0 && strcmp(out, want) == 0, "find true -> \"%s\" (%d)", out, err);
		unsetenv("PATH");
		err = kp_elf_find_path("true", out, sizeof(out));
		T_OK(err == 0 && strcmp(out, want) == 0, "PATH unset: find true -> \"%s\" (%d)",
		     out, err);
		setenv("PATH", "/nonexistent/kp:/usr/bin:/bin", 1);
		err = kp_elf_find_path("true", out, sizeof(out));
		T_OK(err == 0 && strcmp(out, want) == 0, "PATH with a missing dir -> \"%s\" (%d)",
		     out, err);
		T_EQ_INT(kp_elf_find_path("true", small, sizeof(small)), -ENAMETOOLONG,
			 "find true into 4 bytes");
	}
	T_EQ_INT(kp_elf_find_path("kp-no-such-command-here", out, sizeof(out)), -ENOENT,
		 "unknown command");
	T_EQ_INT(kp_elf_find_path("", out, sizeof(out)), -ENOENT, "empty name");
	T_EQ_INT(kp_elf_find_path("/nonexistent/kp/x", out, sizeof(out)), -ENOENT,
		 "missing absolute path");

	err = kp_elf_find_path(TARGET, out, sizeof(out));
	T_OK(err == 0 && out[0] == '/' && cwd && strncmp(out, cwd, strlen(cwd)) == 0 &&
		 strcmp(out + strlen(out) - strlen(TARGET), TARGET) == 0,
	     "relative path -> \"%s\" (%d)", out, err);

	/* Only executable regular files count; directories do not. */
	if (mkdir(bindir, 0755) == 0 && write_file(tool, "#!/bin/sh\n", 10, 0644)) {
		setenv("PATH", bindir, 1);
		T_EQ_INT(kp_elf_find_path("kp-tool", out, sizeof(out)), -ENOENT,
			 "non-executable file is skipped");
		chmod(tool, 0755);
		err = kp_elf_find_path("kp-tool", out, sizeof(out));
		T_OK(err == 0 && realpath(tool, want) && strcmp(out, want) == 0,
		     "executable in PATH -> \"%s\" (%d)", out, err);
		T_EQ_INT(kp_elf_find_path("bin", out, sizeof(out)), -ENOENT, "a directory");
		setenv("PATH", tmpdir, 1);
		T_EQ_INT(kp_elf_find_path("bin", out, sizeof(out)), -ENOENT,
			 "a directory in PATH is skipped");
	} else {
		T_OK(0, "create %s", tool);
	}
	unlink(tool);
	rmdir(bindir);

	if (saved)
		setenv("PATH", saved, 1);
	else
		unsetenv("PATH");
	free(saved);
	free(cwd);
}

int main(void)
{
	bool have_target = access(TARGET, R_OK) == 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(tmpdir)) {
		T_OK(0, "mkdtemp: %s", strerror(errno));
		return T_DONE();
	}
	if (have_target) {
		test_target();
		test_stripped();
	} else {
		T_OK(0, "%s exists (make %s)", TARGET, TARGET);
	}
	test_libc();
	test_synthetic();
	test_not_elf();
	test_find_path();
	rmdir(tmpdir);
	return T_DONE();
}
