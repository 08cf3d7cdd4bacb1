// SPDX-License-Identifier: MIT
/*
 * ELF symbol tables, read the two ways kpscript reads them: kp_elf_near()
 * and kp_elf_resolve() for uprobes (SYMBOL+OFF to a file offset, versions
 * included), and kp_usym_lookup() for user stack frames, which reads the
 * symbols of whatever file a traced process has mapped. libelf parses; the
 * fuzzed code is what walks its results (segments, symbol values and
 * sizes, version sections).
 *
 * Input: the file's bytes. They are written to a file that is then mapped
 * executable into this process, so that kp_usym finds it in
 * /proc/self/maps as it would find a library of a traced process.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kp_elf.h"
#include "kp_err.h"
#include "kp_usym.h"
#include "fuzz.h"

static char path[PATH_MAX];

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct stat st;
	char cwd[PATH_MAX - 64];

	(void)argc;
	(void)argv;
	/* an absolute path (maps shows one) on a file system that allows
	 * PROT_EXEC: build/ when run from the repository, else /tmp */
	if (!stat("build/fuzz", &st) && S_ISDIR(st.st_mode) && getcwd(cwd, sizeof(cwd)))
		snprintf(path, sizeof(path), "%s/build/fuzz/elf.%d.tmp", cwd, (int)getpid());
	else
		snprintf(path, sizeof(path), "/tmp/kp_fuzz_elf.%d.tmp", (int)getpid());
	atexit(remove_file);
	return 0;
}

static void resolve(const char *sym, uint64_t add)
{
	uint64_t off = 0;
	int rc = kp_elf_resolve(path, sym, add, &off);

	FZ_CHECK(rc == 0 || rc == -KP_ENOTELF || rc == -KP_ENOSYM || rc == -KP_ENOSEG ||
		 rc == -EINVAL);
}

/* every name kp_elf_near() offers for @want, resolved */
static void near_and_resolve(const char *want, uint64_t add)
{
	char buf[512], *save = NULL;
	int n = kp_elf_near(path, want, buf, sizeof(buf), 8);

	FZ_CHECK(n >= -KP_ERR_END && memchr(buf, '\0', sizeof(buf)));
	resolve(want, add);
	if (n <= 0)
		return;
	for (char *s = strtok_r(buf, ", ", &save); s; s = strtok_r(NULL, ", ", &save))
		resolve(s, add);
}

static void symbolize(const uint8_t *data, size_t size, int fd)
{
	struct kp_usym *u;
	void *map;

	if (!size)
		return;
	map = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return; /* a noexec mount: no executable mapping to find */
	u = kp_usym_new();
	FZ_CHECK(u);
	{
		uint64_t base = (uint64_t)(uintptr_t)map;
		uint64_t offs[] = { 0, size / 2, size - 1,
				    size >= 32 ? fz_le(data + 24, 8) % size : 0,
				    size >= 8 ? fz_le(data + size - 8, 8) % size : 0 };

		for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			struct kp_usym_frame f;
			char text[128];
			int rc = kp_usym_lookup(u, (int)getpid(), base + offs[i], &f);

			FZ_CHECK(rc == 0);
			FZ_CHECK(f.file && !strcmp(f.file, path));
			if (f.sym)
				fz_touch(f.sym, strlen(f.sym) + 1);
			else
				FZ_CHECK(f.off == offs[i]);
			kp_usym_format(&f, base + offs[i], text, sizeof(text));
		}
	}
	kp_usym_free(u);
	munmap(map, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "foo",    "bar",  "foo@VER_1", "foo@@VER_2",
					     "_start", "main", "fo",	    "foo@" };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		perror(path);
		abort();
	}
	FZ_CHECK(write(fd, data, size) == (ssize_t)size);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		near_and_resolve(names[i], size ? data[size - 1] % 8 : 0);
	resolve("foo", UINT64_MAX);
	symbolize(data, size, fd);
	close(fd);
	return 0;
}
