// SPDX-License-Identifier: MIT
/*
 * Unit test of host/kp_usym.c: /proc/PID/maps parsing on fixture text, then
 * real lookups in this process (its own functions, libc's, the vDSO), in
 * children that exit after being primed, and in files mapped here (a
 * deleted copy of this program, more files than the cache holds).
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kp_elf.h"
#include "kp_usym.h"
#include "t.h"

static const char maps_text[] =
    "55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1234567                    /usr/bin/prog\n"
    "55d0c0a02000-55d0c0a08000 r-xp 00002000 fd:01 1234567                    /usr/bin/prog\n"
    "55d0c0a08000-55d0c0a0a000 r--p 00008000 fd:01 1234567                    /usr/bin/prog\n"
    "55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f0000000000-7f0000001000 rwxp 00000000 00:00 0 \n"
    "7f0000100000-7f0000101000 r-xp 00000000 00:00 0\n"
    "7f1000000000-7f1000028000 r--p 00000000 fd:01 2222                       "
    "/usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7f1000028000-7f10001bd000 r-xp 00028000 fd:01 2222                       "
    "/usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7f2000000000-7f2000001000 r-xp 00001000 fd:01 3333                       "
    "/tmp/old lib (x).so (deleted)\n"
    "7f3000000000-7f3000001000 r-xp 00000000 00:01 4444                       /memfd:jit "
    "(deleted)\n"
    "7f4000000000-7f4000002000 r-xp 00000000 103:02 5555                      /opt/my app/bin/tool "
    "\n"
    "7f5000000000-7f5000001000 r-xp 00000000 fd:01 6666                       /srv/a (deleted) b\n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
    "7ffd00100000-7ffd00102000 r--p 00000000 00:00 0                          [vvar]\n"
    "7ffd00102000-7ffd00104000 r-xp 00000000 00:00 0                          [vdso]\n"
    "garbage line\n"
    "7ffe00000000-7ffe00001000 r-xp zz 00:00 0 /bad/offset\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

/* Non-static and not inlined: a function of this program's symbol tables. */
__attribute__((noinline)) int kp_test_target(int x);
__attribute__((noinline)) int kp_test_target(int x)
{
	volatile int acc = x;

	for (int i = 0; i < x; i++)
		acc = acc * 31 + i;
	return acc;
}

static char tmpdir[] = "/tmp/kp_test_usym.XXXXXX";

static uint64_t fn_addr(int (*fn)(int))
{
	return (uint64_t)(uintptr_t)fn;
}

static void map_is(const struct kp_map *m, uint64_t start, uint64_t end, uint64_t pgoff,
		   uint64_t dev, uint64_t ino, const char *path, bool deleted, const char *what)
{
	T_OK(m && m->start == start && m->end == end && m->pgoff == pgoff && m->dev == dev &&
		 m->ino == ino && !strcmp(m->path, path) && m->deleted == deleted,
	     "maps: %s (\"%s\"%s)", what, m ? m->path : "(none)",
	     m && m->deleted ? " deleted" : "");
}

static void test_maps(void)
{
	struct kp_maps *m = kp_maps_parse(maps_text, strlen(maps_text));
	static const char unsorted[] = "7f2000000000-7f2000001000 r-xp 00000000 fd:01 2 /b\n"
				       "7f1000000000-7f1000001000 r-xp 00000000 fd:01 1 /a\n";
	uint64_t fd01 = makedev(0xfd, 1);

	T_OK(m != NULL, "maps: fixture parses");
	if (!m)
		return;
	T_EQ_UINT(kp_maps_count(m), 8, "maps: executable files and pseudo-files are kept");
	map_is(kp_maps_get(m, 0), 0x55d0c0a02000, 0x55d0c0a08000, 0x2000, fd01, 1234567,
	       "/usr/bin/prog", false, "the program's text, not its data");
	map_is(kp_maps_get(m, 1), 0x7f1000028000, 0x7f10001bd000, 0x28000, fd01, 2222,
	       "/usr/lib/x86_64-linux-gnu/libc.so.6", false, "libc's text");
	map_is(kp_maps_get(m, 2), 0x7f2000000000, 0x7f2000001000, 0x1000, fd01, 3333,
	       "/tmp/old lib (x).so", true, "a deleted file with spaces in its name");
	map_is(kp_maps_get(m, 3), 0x7f3000000000, 0x7f3000001000, 0, makedev(0, 1), 4444,
	       "/memfd:jit", true, "a memfd");
	map_is(kp_maps_get(m, 4), 0x7f4000000000, 0x7f4000002000, 0, makedev(0x103, 2), 5555,
	       "/opt/my app/bin/tool ", false, "spaces inside and after a path, a 3-digit major");
	map_is(kp_maps_get(m, 5), 0x7f5000000000, 0x7f5000001000, 0, fd01, 6666,
	       "/srv/a (deleted) b", false, "\" (deleted)\" only counts at the end");
	map_is(kp_maps_get(m, 6), 0x7ffd00102000, 0x7ffd00104000, 0, 0, 0, "[vdso]", false,
	       "the vDSO as a pseudo-file");
	map_is(kp_maps_get(m, 7), 0xffffffffff600000, 0xffffffffff601000, 0, 0, 0, "[vsyscall]",
	       false, "the vsyscall page, last line without a newline");
	T_OK(kp_maps_get(m, 8) == NULL, "maps: get past the end is NULL");

	T_OK(kp_maps_find(m, 0x55d0c0a02000) == kp_maps_get(m, 0), "maps: find the first byte");
	T_OK(kp_maps_find(m, 0x55d0c0a07fff) == kp_maps_get(m, 0), "maps: find the last byte");
	T_OK(kp_maps_find(m, 0x55d0c0a08000) == NULL, "maps: the end is outside");
	T_OK(kp_maps_find(m, 0x55d0c0a01fff) == NULL, "maps: a non-executable mapping is not kept");
	T_OK(kp_maps_find(m, 0x7f0000000010) == NULL, "maps: anonymous executable memory is not");
	T_OK(kp_maps_find(m, 0x1000) == NULL, "maps: below every mapping");
	T_OK(kp_maps_find(m, 0x7ffe00000000) == NULL, "maps: a line that does not parse");
	T_OK(kp_maps_find(m, 0x7ffd00103000) == kp_maps_get(m, 6), "maps: find the vDSO");
	T_OK(kp_maps_find(m, UINT64_MAX) == NULL, "maps: the top address");
	kp_maps_free(m);

	m = kp_maps_parse(unsorted, strlen(unsorted));
	T_OK(m && kp_maps_count(m) == 2 && !strcmp(kp_maps_get(m, 0)->path, "/a") &&
		 kp_maps_find(m, 0x7f2000000800) == kp_maps_get(m, 1),
	     "maps: lines out of order are sorted");
	kp_maps_free(m);

	m = kp_maps_parse("", 0);
	T_OK(m && kp_maps_count(m) == 0 && !kp_maps_find(m, 0x1000), "maps: empty text");
	kp_maps_free(m);
	/* a length shorter than the text: only what it covers counts */
	m = kp_maps_parse(maps_text, 90);
	T_OK(m && kp_maps_count(m) == 0, "maps: a cut first line keeps nothing");
	kp_maps_free(m);
}

/* lookup(@addr) in this process is @sym+@off in a file whose path has @file. */
static void lookup_is(struct kp_usym *u, int pid, uint64_t addr, const char *sym, uint64_t off,
		      const char *file, const char *what)
{
	struct kp_usym_frame f;
	int err = kp_usym_lookup(u, pid, addr, &f);

	T_OK(err == 0 && f.sym && strstr(f.sym, sym) && f.off == off && f.file &&
		 strstr(f.file, file),
	     "lookup: %s (%d %s+0x%" PRIx64 " in %s)", what, err, f.sym ? f.sym : "(null)", f.off,
	     f.file ? f.file : "(null)");
}

static void test_self(struct kp_usym *u)
{
	uint64_t target = fn_addr(kp_test_target), getpid_addr;
	struct kp_usym_frame f;
	void *sym = dlsym(RTLD_DEFAULT, "getpid");
	int stackvar = 0, err;
	char buf[256];
	Dl_info info;

	lookup_is(u, getpid(), target, "kp_test_target", 0, "test_usym",
		  "a function of this program");
	kp_usym_lookup(u, getpid(), target, &f);
	T_EQ_STR(f.sym, "kp_test_target", "lookup: exactly its name");
	lookup_is(u, getpid(), target + 5, "kp_test_target", 5, "test_usym",
		  "5 bytes into the function");
	T_EQ_INT(kp_usym_format(&f, target, buf, sizeof(buf)), strlen("kp_test_target"),
		 "format: a symbol at offset 0 is its name");
	T_EQ_STR(buf, "kp_test_target", "format: just the name");
	kp_usym_lookup(u, getpid(), target + 5, &f);
	kp_usym_format(&f, target + 5, buf, sizeof(buf));
	T_EQ_STR(buf, "kp_test_target+0x5", "format: name+0xOFF");

	getpid_addr = (uint64_t)(uintptr_t)sym;
	if (!sym || !dladdr(sym, &info) || !strstr(info.dli_fname, "libc")) {
		printf("skip - lookup: getpid is not libc's here\n");
	} else {
		lookup_is(u, getpid(), getpid_addr, "getpid", 0, "libc", "getpid in libc");
		lookup_is(u, getpid(), getpid_addr + 1, "getpid", 1, "libc",
			  "1 byte into getpid in libc");
		kp_usym_lookup(u, getpid(), getpid_addr, &f);
		T_OK(f.sym && dlsym(RTLD_DEFAULT, f.sym) == sym,
		     "lookup: the name given is getpid or an alias at its address (%s)",
		     f.sym ? f.sym : "(null)");
	}

	err = kp_usym_lookup(u, getpid(), 0x10, &f);
	T_OK(err == -ENOENT && !f.file && !f.sym, "lookup: an address in no mapping is -ENOENT");
	err = kp_usym_lookup(u, getpid(), (uint64_t)(uintptr_t)&stackvar, &f);
	T_OK(err == -ENOENT && !f.file, "lookup: an address on the stack is -ENOENT");
	kp_usym_format(&f, 0x10, buf, sizeof(buf));
	T_EQ_STR(buf, "0x10", "format: no file, the address");

	if (getauxval(AT_SYSINFO_EHDR)) {
		uint64_t vdso = getauxval(AT_SYSINFO_EHDR);

		err = kp_usym_lookup(u, getpid(), vdso + 0x10, &f);
		T_OK(err == 0 && f.file && !strcmp(f.file, "[vdso]") && !f.sym && f.off == 0x10,
		     "lookup: the vDSO is a file without symbols (%d %s +0x%" PRIx64 ")", err,
		     f.file ? f.file : "(null)", f.off);
		kp_usym_format(&f, vdso + 0x10, buf, sizeof(buf));
		T_OK(strstr(buf, " ([vdso]+0x10)") && !strncmp(buf, "0x7", 3),
		     "format: address (file+0xOFF) (%s)", buf);
	} else {
		printf("skip - lookup: no vDSO\n");
	}

	f = (struct kp_usym_frame){ .sym = "abcdefghij", .off = 0x1a };
	T_EQ_INT(kp_usym_format(&f, 0, buf, 8), -ENOSPC, "format: a short buffer is -ENOSPC");
	T_EQ_STR(buf, "abcdefg", "format: and holds what fits");
	f = (struct kp_usym_frame){ .off = 0x1234, .file = "/usr/lib/libz.so.1" };
	kp_usym_format(&f, 0x7f0000001234, buf, sizeof(buf));
	T_EQ_STR(buf, "0x7f0000001234 (libz.so.1+0x1234)",
		 "format: no symbol, the file's base name");
}

/* Children that wait to be killed: their maps are this program's. */
static pid_t child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_prime(struct kp_usym *u)
{
	uint64_t target = fn_addr(kp_test_target);
	enum { N = 258 }; /* the cache holds 256 */
	pid_t kids[N];
	struct kp_usym_frame f;
	pid_t a = child(), b = child();
	int err, n = 0;

	if (a < 0 || b < 0) {
		printf("skip - prime: fork failed\n");
		return;
	}
	T_EQ_INT(kp_usym_prime(u, a), 0, "prime: a live child");
	T_EQ_INT(kp_usym_prime(u, a), 0, "prime: again, already cached");
	reap(a);
	reap(b);
	lookup_is(u, a, target + 3, "kp_test_target", 3, "test_usym",
		  "a primed child that exited still resolves");
	err = kp_usym_lookup(u, b, target, &f);
	T_OK(err == -ENOENT && !f.file, "lookup: a child never seen that exited is -ENOENT (%d)",
	     err);
	T_EQ_INT(kp_usym_prime(u, b), -ENOENT, "prime: an exited child is -ENOENT");
	kp_usym_forget(u, a);
	T_EQ_INT(kp_usym_lookup(u, a, target, &f), -ENOENT,
		 "forget: then the exited child is gone");
	kp_usym_forget(u, a);
	kp_usym_forget(u, 999999999);
	T_OK(1, "forget: an unknown pid is a no-op");

	/* more processes than the cache holds: the least recently used goes */
	kp_usym_forget(u, getpid());
	for (n = 0; n < N; n++) {
		kids[n] = child();
		if (kids[n] < 0 || kp_usym_prime(u, kids[n]))
			break;
		if (n == 255) /* the cache is full: kids[0] becomes the most recent */
			kp_usym_lookup(u, kids[0], target, &f);
	}
	for (int i = 0; i < n; i++)
		reap(kids[i]);
	if (n != N) {
		printf("skip - evict: only %d children\n", n);
		return;
	}
	T_EQ_INT(kp_usym_lookup(u, kids[1], target, &f), -ENOENT,
		 "evict: the least recently used process is dropped");
	T_EQ_INT(kp_usym_lookup(u, kids[2], target, &f), -ENOENT, "evict: and the next one");
	lookup_is(u, kids[0], target, "kp_test_target", 0, "test_usym",
		  "evict: the oldest, used since, stays");
	lookup_is(u, kids[3], target, "kp_test_target", 0, "test_usym",
		  "evict: the oldest not evicted stays");
	lookup_is(u, kids[N - 1], target, "kp_test_target", 0, "test_usym",
		  "evict: the last primed stays");
	for (int i = 0; i < n; i++)
		kp_usym_forget(u, kids[i]);
}

/*
 * A synthetic ELF shared object with symbols placed for each rule, its code
 * segment linked 0x200000 above its file offset:
 *
 *   PT_LOAD R    offset 0x0    vaddr 0x200000 filesz 0x400
 *   PT_LOAD R+X  offset 0x1000 vaddr 0x201000 filesz 0x1000
 */
#define SYN_BIAS 0x200000
struct syn_sym {
	const char *name;
	unsigned char bind, type;
	uint64_t value, size;
	bool dyn; /* in .dynsym rather than .symtab */
};

static const struct syn_sym syn_syms[] = {
	{ "alpha_weak", STB_WEAK, STT_FUNC, 0x201000, 0x40, false },
	{ "__alpha_local", STB_LOCAL, STT_FUNC, 0x201000, 0x40, false },
	{ "alpha", STB_GLOBAL, STT_FUNC, 0x201000, 0x40, false },
	{ "alpha", STB_GLOBAL, STT_FUNC, 0x201000, 0x40, true },
	{ "beta", STB_GLOBAL, STT_FUNC, 0x201100, 0, false },
	{ "a_gamma", STB_GLOBAL, STT_FUNC, 0x201200, 0, false },
	{ "gamma", STB_LOCAL, STT_FUNC, 0x201200, 0x10, false },
	{ "outer", STB_GLOBAL, STT_FUNC, 0x201300, 0x100, false },
	{ "inner", STB_LOCAL, STT_FUNC, 0x201340, 0x10, false },
	{ "vers@@V2", STB_GLOBAL, STT_FUNC, 0x201400, 0x10, false },
	{ "ifn", STB_GLOBAL, STT_GNU_IFUNC, 0x201500, 0x10, false },
	{ "obj", STB_GLOBAL, STT_OBJECT, 0x201600, 0x10, false },
	{ "undef", STB_GLOBAL, STT_FUNC, 0, 0, false },
	{ "delta", STB_GLOBAL, STT_FUNC, 0x201700, 0x10, true },
	{ "omega", STB_LOCAL, STT_FUNC, 0x201f00, 0, false },
};
#define SYN_N (sizeof(syn_syms) / sizeof(syn_syms[0]))

/* Symbols (a null one first) and names of one table into @img at *@at. */
static void syn_table(unsigned char *img, size_t *at, bool dyn, Elf64_Shdr *symsh,
		      Elf64_Shdr *strsh)
{
	Elf64_Sym sym = { 0 };
	size_t nsym = 1, str = 1, stroff;

	for (size_t i = 0; i < SYN_N; i++)
		nsym += syn_syms[i].dyn == dyn;
	stroff = *at + nsym * sizeof(sym);
	memcpy(img + *at, &sym, sizeof(sym));
	img[stroff] = '\0';
	for (size_t i = 0, k = 1; i < SYN_N; i++) {
		const struct syn_sym *s = &syn_syms[i];

		if (s->dyn != dyn)
			continue;
		sym = (Elf64_Sym){ .st_name = (Elf64_Word)str,
				   .st_info = ELF64_ST_INFO(s->bind, s->type),
				   .st_shndx = s->value ? 1 : SHN_UNDEF,
				   .st_value = s->value,
				   .st_size = s->size };
		memcpy(img + *at + k++ * sizeof(sym), &sym, sizeof(sym));
		memcpy(img + stroff + str, s->name, strlen(s->name) + 1);
		str += strlen(s->name) + 1;
	}
	symsh->sh_offset = *at;
	symsh->sh_size = nsym * sizeof(sym);
	symsh->sh_info = 1;
	symsh->sh_addralign = 8;
	symsh->sh_entsize = sizeof(sym);
	strsh->sh_type = SHT_STRTAB;
	strsh->sh_offset = stroff;
	strsh->sh_size = str;
	strsh->sh_addralign = 1;
	*at = (stroff + str + 7) & ~(size_t)7;
}

/* Build the image into @img (16 KiB); its length. */
static size_t syn_build(unsigned char *img)
{
	/* sections: null .text .symtab .strtab .dynsym .dynstr .shstrtab */
	static const char shstr[] = "\0.text\0.symtab\0.strtab\0.dynsym\0.dynstr\0.shstrtab";
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[2] = { 0 };
	Elf64_Shdr sh[7] = { 0 };
	size_t at = 0x2000;

	memset(img, 0xcc, 16384);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 7;
	eh.e_shstrndx = 6;
	/* type, flags, offset, vaddr, paddr, filesz, memsz, align */
	ph[0] = (Elf64_Phdr){ PT_LOAD, PF_R, 0, SYN_BIAS, SYN_BIAS, 0x400, 0x400, 4096 };
	ph[1] = (Elf64_Phdr){ PT_LOAD,		 PF_R | PF_X, 0x1000, SYN_BIAS + 0x1000,
			      SYN_BIAS + 0x1000, 0x1000,      0x1000, 4096 };
	sh[1] = (Elf64_Shdr){ .sh_name = 1,
			      .sh_type = SHT_PROGBITS,
			      .sh_flags = SHF_ALLOC | SHF_EXECINSTR,
			      .sh_addr = SYN_BIAS + 0x1000,
			      .sh_offset = 0x1000,
			      .sh_size = 0x1000,
			      .sh_addralign = 16 };
	sh[2] = (Elf64_Shdr){ .sh_name = 7, .sh_type = SHT_SYMTAB, .sh_link = 3 };
	sh[3].sh_name = 15;
	syn_table(img, &at, false, &sh[2], &sh[3]);
	sh[4] = (Elf64_Shdr){ .sh_name = 23, .sh_type = SHT_DYNSYM, .sh_link = 5 };
	sh[5].sh_name = 31;
	syn_table(img, &at, true, &sh[4], &sh[5]);
	sh[6] = (Elf64_Shdr){ .sh_name = 39,
			      .sh_type = SHT_STRTAB,
			      .sh_offset = at,
			      .sh_size = sizeof(shstr),
			      .sh_addralign = 1 };
	memcpy(img + at, shstr, sizeof(shstr));
	at = (at + sizeof(shstr) + 7) & ~(size_t)7;
	eh.e_shoff = at;
	memcpy(img + at, sh, sizeof(sh));
	at += sizeof(sh);
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + eh.e_phoff, ph, sizeof(ph));
	return at;
}

static bool copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t r = -1;

	if (in < 0)
		return false;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out >= 0)
		while ((r = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)r) != r) {
				r = -1;
				break;
			}
	close(in);
	if (out < 0)
		return false;
	return close(out) == 0 && r == 0;
}

/* Map the page of @path holding file offset @off; the address of @off. */
static uint64_t map_at(const char *path, uint64_t off, void **base, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long page = sysconf(_SC_PAGESIZE);
	uint64_t start = off & ~(uint64_t)(page - 1);

	*base = MAP_FAILED;
	*len = (size_t)page;
	if (fd < 0)
		return 0;
	*base = mmap(NULL, *len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, (off_t)start);
	close(fd);
	if (*base == MAP_FAILED)
		return 0;
	return (uint64_t)(uintptr_t)*base + (off - start);
}

/* A copy of this program mapped here, then deleted: found through map_files. */
static void test_deleted(struct kp_usym *u)
{
	char path[PATH_MAX];
	struct kp_usym_frame f;
	uint64_t off, addr;
	size_t len;
	void *base;
	int err;

	snprintf(path, sizeof(path), "%s/copy of prog", tmpdir);
	if (!copy_file("/proc/self/exe", path) || kp_elf_resolve(path, "kp_test_target", 0, &off)) {
		printf("skip - deleted: cannot copy this program\n");
		return;
	}
	addr = map_at(path, off, &base, &len);
	if (!addr) {
		printf("skip - deleted: cannot map the copy\n");
		unlink(path);
		return;
	}
	kp_usym_forget(u, getpid()); /* the maps have changed */
	lookup_is(u, getpid(), addr + 2, "kp_test_target", 2, "copy of prog",
		  "a mapped copy of this program, spaces in its path");
	unlink(path);
	kp_usym_forget(u, getpid());
	err = kp_usym_lookup(u, getpid(), addr + 2, &f);
	T_OK(err == 0 && f.file && !strcmp(f.file, path),
	     "lookup: a deleted file's path has no \" (deleted)\" (%s)",
	     f.file ? f.file : "(null)");
	if (geteuid() == 0)
		lookup_is(u, getpid(), addr + 2, "kp_test_target", 2, "copy of prog",
			  "a deleted file is read through map_files");
	else
		printf("skip - lookup: map_files needs CAP_SYS_ADMIN\n");
	munmap(base, len);
	kp_usym_forget(u, getpid());
	T_EQ_INT(kp_usym_lookup(u, getpid(), addr + 2, &f), -ENOENT,
		 "lookup: once unmapped, -ENOENT");
}

static void test_synthetic(struct kp_usym *u)
{
	static unsigned char img[16384];
	size_t len = syn_build(img), tlen, hlen;
	char path[PATH_MAX];
	struct kp_usym_frame f;
	uint64_t text, head;
	void *tbase, *hbase;
	int fd, err;

	snprintf(path, sizeof(path), "%s/syn.so", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, img, len) != (ssize_t)len) {
		printf("skip - synthetic: cannot write %s\n", path);
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	/* the text page, then the header page mapped executable too */
	text = map_at(path, 0x1000, &tbase, &tlen);
	head = map_at(path, 0, &hbase, &hlen);
	if (!text || !head) {
		printf("skip - synthetic: cannot map %s\n", path);
		goto out;
	}
	/* an address of the object at link-time address @v */
#define AT(v) (text + (v) - (SYN_BIAS + 0x1000))
	kp_usym_forget(u, getpid());
	lookup_is(u, getpid(), AT(0x201000), "alpha", 0, "syn.so",
		  "synthetic: link-time address through the PT_LOAD shift");
	kp_usym_lookup(u, getpid(), AT(0x201000), &f);
	T_EQ_STR(f.sym, "alpha", "synthetic: aliases: global over weak and local");
	lookup_is(u, getpid(), AT(0x20103f), "alpha", 0x3f, "syn.so", "synthetic: last byte");
	err = kp_usym_lookup(u, getpid(), AT(0x201040), &f);
	T_OK(err == 0 && !f.sym && f.off == 0x1040 && f.file && strstr(f.file, "syn.so"),
	     "synthetic: past a sized symbol, none; off is the file offset (0x%" PRIx64 ")", f.off);
	lookup_is(u, getpid(), AT(0x2011ff), "beta", 0xff, "syn.so",
		  "synthetic: size 0 runs up to the next symbol");
	kp_usym_lookup(u, getpid(), AT(0x201200), &f);
	T_EQ_STR(f.sym, "gamma", "synthetic: aliases: sized over size 0, before binding and name");
	err = kp_usym_lookup(u, getpid(), AT(0x201210), &f);
	T_OK(err == 0 && !f.sym, "synthetic: the sized alias bounds the address");
	kp_usym_lookup(u, getpid(), AT(0x201348), &f);
	T_OK(f.sym && !strcmp(f.sym, "inner") && f.off == 8, "synthetic: a nested function");
	kp_usym_lookup(u, getpid(), AT(0x201360), &f);
	T_OK(f.sym && !strcmp(f.sym, "outer") && f.off == 0x60,
	     "synthetic: past it, the function it is nested in (%s+0x%" PRIx64 ")",
	     f.sym ? f.sym : "(null)", f.off);
	kp_usym_lookup(u, getpid(), AT(0x201404), &f);
	T_EQ_STR(f.sym, "vers", "synthetic: the version is cut off");
	lookup_is(u, getpid(), AT(0x201508), "ifn", 8, "syn.so", "synthetic: an IFUNC");
	err = kp_usym_lookup(u, getpid(), AT(0x201604), &f);
	T_OK(err == 0 && !f.sym, "synthetic: data objects are not functions");
	lookup_is(u, getpid(), AT(0x201704), "delta", 4, "syn.so", "synthetic: from .dynsym");
	lookup_is(u, getpid(), AT(0x201ff0), "omega", 0xf0, "syn.so",
		  "synthetic: the last, size 0, up to the segment's end");
	err = kp_usym_lookup(u, getpid(), head + 0x800, &f);
	T_OK(err == 0 && !f.sym && f.off == 0x800 && f.file && strstr(f.file, "syn.so"),
	     "synthetic: bytes in no PT_LOAD have no symbol");
	err = kp_usym_lookup(u, getpid(), head + 0x10, &f);
	T_OK(err == 0 && !f.sym && f.off == 0x10, "synthetic: nor the headers' segment");
#undef AT
out:
	if (text)
		munmap(tbase, tlen);
	if (head)
		munmap(hbase, hlen);
	unlink(path);
	kp_usym_forget(u, getpid());
}

/* A mapping made after the maps were read is found once they are re-read. */
static void test_refresh(struct kp_usym *u)
{
	uint64_t target = fn_addr(kp_test_target), addr;
	struct kp_usym_frame f;
	struct timespec t0, t1;
	char path[PATH_MAX];
	size_t len;
	void *base;
	int fd, err;

	snprintf(path, sizeof(path), "%s/late", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0 || ftruncate(fd, 4096) < 0) {
		printf("skip - refresh: cannot create %s\n", path);
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	kp_usym_forget(u, getpid());
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kp_usym_lookup(u, getpid(), target, &f);
	addr = map_at(path, 0, &base, &len);
	unlink(path);
	if (!addr) {
		printf("skip - refresh: cannot map %s\n", path);
		return;
	}
	err = kp_usym_lookup(u, getpid(), addr, &f);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 90000000L)
		T_EQ_INT(err, -ENOENT, "refresh: within 100 ms of a read, a miss reads nothing");
	else
		printf("skip - refresh: this run was too slow to check the 100 ms\n");
	usleep(120000);
	err = kp_usym_lookup(u, getpid(), addr, &f);
	T_OK(err == 0 && f.file && !strcmp(f.file, path) && !f.sym,
	     "refresh: later, a miss reads the maps again (%d %s)", err,
	     f.file ? f.file : "(null)");
	munmap(base, len);
	kp_usym_forget(u, getpid());
}

/* More files than the cache holds: lookups stay right as tables are evicted. */
static void test_many_files(struct kp_usym *u)
{
	enum { N = 70 };
	uint64_t target = fn_addr(kp_test_target);
	void *bases[N];
	size_t lens[N];
	uint64_t addrs[N];
	int n, bad = 0;

	for (n = 0; n < N; n++) {
		char path[PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/f%d", tmpdir, n);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
		if (fd < 0 || ftruncate(fd, 8192) < 0) {
			if (fd >= 0)
				close(fd);
			break;
		}
		close(fd);
		addrs[n] = map_at(path, 4096 + 16 * (uint64_t)n, &bases[n], &lens[n]);
		unlink(path);
		if (!addrs[n])
			break;
	}
	if (n < N) {
		printf("skip - many files: only %d mapped\n", n);
		goto out;
	}
	kp_usym_forget(u, getpid());
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			struct kp_usym_frame f;
			char want[32];

			snprintf(want, sizeof(want), "/f%d", i);
			if (kp_usym_lookup(u, getpid(), addrs[i], &f) || f.sym || !f.file ||
			    strcmp(strrchr(f.file, '/'), want) || f.off != 4096 + 16 * (uint64_t)i)
				bad++;
		}
		lookup_is(u, getpid(), target + 1, "kp_test_target", 1, "test_usym",
			  round ? "many files: this program's table, evicted again and read again"
				: "many files: this program's table, evicted and read again");
	}
	T_EQ_INT(bad, 0, "many files: 70 files without symbols, each its own, twice");
out:
	for (int i = 0; i < n; i++)
		munmap(bases[i], lens[i]);
}

/*
 * Processes followed by events: exec, fork and mmap feed pids that have no
 * /proc entry (above pid_max) or whose /proc entry must not be read again.
 */
#define FAKE_PID 2000000000

/* The mapping of this process that holds @addr, from its maps; the copy's
 * path points into *@keep, which the caller frees. */
static bool self_map(uint64_t addr, struct kp_map *out, struct kp_maps **keep)
{
	char buf[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;
	const struct kp_map *m;

	*keep = NULL;
	if (fd < 0)
		return false;
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)r;
	close(fd);
	*keep = kp_maps_parse(buf, n);
	m = *keep ? kp_maps_find(*keep, addr) : NULL;
	if (!m)
		return false;
	*out = *m;
	return true;
}

/* lookup(@addr) of @pid lands in file @file at file offset @off, no symbol. */
static void file_is(struct kp_usym *u, int pid, uint64_t addr, const char *file, uint64_t off,
		    const char *what)
{
	struct kp_usym_frame f;
	int err = kp_usym_lookup(u, pid, addr, &f);

	T_OK(err == 0 && f.file && !strcmp(f.file, file) && f.off == off && !f.sym,
	     "%s (%d %s+0x%" PRIx64 ")", what, err, f.file ? f.file : "(null)", f.off);
}

/* lookup(@addr) gives the same frame in @pid as in @ref. */
static void same_as(struct kp_usym *u, int pid, int ref, uint64_t addr, const char *what)
{
	struct kp_usym_frame f, g;
	char a[256] = "", b[256] = "";
	int err = kp_usym_lookup(u, ref, addr, &g);

	kp_usym_format(&g, addr, b, sizeof(b));
	err |= kp_usym_lookup(u, pid, addr, &f);
	kp_usym_format(&f, addr, a, sizeof(a));
	T_OK(err == 0 && f.file && !strcmp(a, b), "%s (%s, want %s)", what, a, b);
}

static struct kp_map fake_map(uint64_t start, uint64_t end, uint64_t pgoff, const char *path)
{
	return (struct kp_map){ .start = start, .end = end, .pgoff = pgoff, .path = path };
}

static void test_track(struct kp_usym *u)
{
	uint64_t target = fn_addr(kp_test_target), x = 0x7e0000000000;
	struct kp_maps *keep;
	struct kp_map text, m;
	struct kp_usym_frame f;
	int fake = FAKE_PID, err;
	pid_t c;

	if (!self_map(target, &text, &keep)) {
		printf("skip - track: this program's text is not in its maps\n");
		kp_maps_free(keep);
		return;
	}
	T_EQ_INT(kp_usym_lookup(u, fake, target, &f), -ENOENT, "track: a pid without /proc");
	T_EQ_INT(kp_usym_exec(u, fake), 0, "track: exec");
	T_EQ_INT(kp_usym_prime(u, fake), 0, "track: an exec'd pid is cached, primed or not");
	T_EQ_INT(kp_usym_lookup(u, fake, target, &f), -ENOENT, "track: after exec, no mappings");
	T_EQ_INT(kp_usym_mmap(u, fake, &text), 0, "track: mmap of this program's text");
	lookup_is(u, fake, target + 3, "kp_test_target", 3, "test_usym",
		  "track: named through the path (device and inode match), no /proc");

	/* fork: the child has a copy; the copies go their own ways */
	T_EQ_INT(kp_usym_fork(u, fake, fake + 1), 0, "track: fork of a cached parent");
	lookup_is(u, fake + 1, target, "kp_test_target", 0, "test_usym",
		  "track: the child has its parent's maps");
	m = fake_map(text.start, text.end, 0, "//anon");
	T_EQ_INT(kp_usym_mmap(u, fake + 1, &m), 0, "track: anonymous memory over the child's text");
	T_EQ_INT(kp_usym_lookup(u, fake + 1, target, &f), -ENOENT,
		 "track: anonymous memory is not kept, and replaces what was there");
	lookup_is(u, fake, target, "kp_test_target", 0, "test_usym",
		  "track: the parent keeps its own maps");
	T_EQ_INT(kp_usym_fork(u, fake + 5, fake + 1), 0, "track: fork of a parent not cached");
	T_EQ_INT(kp_usym_lookup(u, fake + 1, target, &f), -ENOENT,
		 "track: then the child is not cached (no /proc: -ENOENT)");

	/* a cut in the middle: what is above keeps its file offset */
	m = fake_map(target & ~(uint64_t)0xfff, (target & ~(uint64_t)0xfff) + 0x1000, 0, "[cut]");
	if (m.start > text.start && m.end < text.end) {
		uint64_t above = m.end + 0x10, below = m.start - 0x10;

		T_EQ_INT(kp_usym_fork(u, fake, fake + 2), 0, "track: fork again");
		T_EQ_INT(kp_usym_mmap(u, fake + 2, &m), 0, "track: a pseudo-file inside the text");
		file_is(u, fake + 2, target, "[cut]", target - m.start,
			"track: the new mapping holds the page");
		same_as(u, fake + 2, fake, above, "track: above it, the text with its file offset");
		same_as(u, fake + 2, fake, below, "track: below it, the text");
	} else {
		printf("skip - track: kp_test_target is on the text's first or last page\n");
	}

	/* overlaps: trimmed or replaced, neighbours untouched */
	T_EQ_INT(kp_usym_exec(u, fake + 3), 0, "track: a second program");
	m = fake_map(x, x + 0x3000, 0x10000, "/a");
	kp_usym_mmap(u, fake + 3, &m);
	m = fake_map(x + 0x3000, x + 0x4000, 0, "/next");
	kp_usym_mmap(u, fake + 3, &m);
	m = fake_map(x - 0x1000, x, 0, "/prev");
	kp_usym_mmap(u, fake + 3, &m);
	m = fake_map(x + 0x1000, x + 0x2000, 0x500000, "/b (deleted)");
	kp_usym_mmap(u, fake + 3, &m);
	file_is(u, fake + 3, x + 0x10, "/a", 0x10010, "track: below a cut, the first piece");
	file_is(u, fake + 3, x + 0x1010, "/b", 0x500010,
		"track: the mapping in the cut, \" (deleted)\" cut off its name");
	file_is(u, fake + 3, x + 0x2010, "/a", 0x12010, "track: above the cut, its file offset");
	file_is(u, fake + 3, x + 0x3010, "/next", 0x10, "track: a neighbour above stays");
	file_is(u, fake + 3, x - 0x10, "/prev", 0xff0, "track: a neighbour below stays");
	m = fake_map(x + 0x4000, x + 0x5000, 0, "//anon");
	T_EQ_INT(kp_usym_mmap(u, fake + 3, &m), 0, "track: anonymous memory right above");
	m = fake_map(x - 0x2000, x - 0x1000, 0, "//anon");
	T_EQ_INT(kp_usym_mmap(u, fake + 3, &m), 0, "track: and right below");
	file_is(u, fake + 3, x + 0x3fff, "/next", 0xfff,
		"track: touching is not overlapping (top)");
	file_is(u, fake + 3, x - 0x1000, "/prev", 0, "track: touching is not overlapping (bottom)");
	T_EQ_INT(kp_usym_lookup(u, fake + 3, x + 0x4000, &f), -ENOENT,
		 "track: the anonymous memory itself is in no mapping");
	m = fake_map(x + 0x800, x + 0x2800, 0, "/c");
	kp_usym_mmap(u, fake + 3, &m);
	file_is(u, fake + 3, x + 0x7f0, "/a", 0x107f0, "track: trimmed at its end");
	file_is(u, fake + 3, x + 0x2800, "/a", 0x12800, "track: trimmed at its start");
	file_is(u, fake + 3, x + 0x1800, "/c", 0x1000, "track: the covered one is gone");
	m = fake_map(x - 0x1000, x + 0x4000, 0, "[all]");
	kp_usym_mmap(u, fake + 3, &m);
	file_is(u, fake + 3, x + 0x3fff, "[all]", 0x4fff, "track: one over all of them");
	T_EQ_INT(kp_usym_lookup(u, fake + 3, x + 0x4000, &f), -ENOENT, "track: and no further");
	m = fake_map(x, x, 0, "/empty");
	T_EQ_INT(kp_usym_mmap(u, fake + 3, &m), -EINVAL, "track: an empty range is -EINVAL");
	m = fake_map(x + 0x1000, x, 0, "/empty");
	T_EQ_INT(kp_usym_mmap(u, fake + 3, &m), -EINVAL, "track: a reversed range too");
	T_EQ_INT(kp_usym_exec(u, fake + 3), 0, "track: exec again");
	T_EQ_INT(kp_usym_lookup(u, fake + 3, x, &f), -ENOENT,
		 "track: the old program's maps are gone");

	/* mmap of a pid not cached and gone: what follows only */
	m = fake_map(x, x + 0x1000, 0, "/late");
	T_EQ_INT(kp_usym_mmap(u, fake + 4, &m), 0, "track: mmap of a pid neither cached nor alive");
	file_is(u, fake + 4, x + 1, "/late", 1, "track: it has that mapping");

	/* live children: tracked pids never re-read /proc; mmap reads it first */
	c = child();
	if (c < 0) {
		printf("skip - track: fork failed\n");
		goto out;
	}
	T_EQ_INT(kp_usym_exec(u, c), 0, "track: exec of a live child");
	usleep(120000);
	T_EQ_INT(kp_usym_lookup(u, c, target, &f), -ENOENT,
		 "track: a tracked pid's miss does not read /proc, even after 100 ms");
	T_EQ_INT(kp_usym_fork(u, fake + 5, c), 0, "track: c forked by a parent not cached");
	lookup_is(u, c, target, "kp_test_target", 0, "test_usym",
		  "track: then its maps come from /proc again");
	kp_usym_forget(u, c);
	m = fake_map(x, x + 0x1000, 0, "[new]");
	T_EQ_INT(kp_usym_mmap(u, c, &m), 0, "track: mmap of a live pid not cached");
	lookup_is(u, c, target, "kp_test_target", 0, "test_usym",
		  "track: what it mapped before comes from /proc");
	file_is(u, c, x + 2, "[new]", 2, "track: and the new mapping is added");
	reap(c);
	lookup_is(u, c, target, "kp_test_target", 0, "test_usym", "track: after it exited too");
	kp_usym_forget(u, c);

	/* the bound holds: 300 programs, the first ones evicted, but not a
	 * process looked up since its exec, older than all of them */
	kp_usym_exec(u, fake + 50);
	kp_usym_mmap(u, fake + 50, &text);
	kp_usym_lookup(u, fake + 50, target, &f);
	for (int i = 0; i < 300; i++) {
		kp_usym_exec(u, fake + 100 + i);
		kp_usym_mmap(u, fake + 100 + i, &text);
	}
	err = kp_usym_lookup(u, fake + 100, target, &f);
	T_EQ_INT(err, -ENOENT, "track: 300 exec'd pids, the least recently used evicted");
	lookup_is(u, fake + 399, target, "kp_test_target", 0, "test_usym", "track: the last stays");
	lookup_is(u, fake + 400 - 128, target, "kp_test_target", 0, "test_usym",
		  "track: and the 128 before it");
	lookup_is(u, fake + 50, target, "kp_test_target", 0, "test_usym",
		  "track: a process looked up stays through an exec storm");
	/* an exec makes it a new program, unused again: the storm takes it */
	kp_usym_exec(u, fake + 50);
	for (int i = 0; i < 300; i++)
		kp_usym_exec(u, fake + 500 + i);
	T_EQ_INT(kp_usym_lookup(u, fake + 50, target, &f), -ENOENT,
		 "track: exec'd again and not looked up, it goes with the storm");
out:
	for (int i = 0; i < 800; i++)
		kp_usym_forget(u, fake + i);
	kp_maps_free(keep);
}

int main(void)
{
	struct kp_usym *u;

	test_maps();
	u = kp_usym_new();
	T_OK(u != NULL, "new: a symbolizer");
	if (!u)
		return T_DONE();
	if (!mkdtemp(tmpdir)) {
		printf("not ok - mkdtemp %s\n", tmpdir);
		kp_usym_free(u);
		return 1;
	}
	test_self(u);
	test_prime(u);
	test_deleted(u);
	test_synthetic(u);
	test_refresh(u);
	test_many_files(u);
	test_track(u);
	kp_usym_free(u);
	kp_usym_free(NULL);
	rmdir(tmpdir);
	return T_DONE();
}
