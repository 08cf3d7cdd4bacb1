// SPDX-License-Identifier: MIT
/*
 * static_exec - a statically linked program whose syscalls carry known
 * strings, for the fetch arguments on syscall tracepoints (no libc
 * uprobe can see it).
 *
 * Usage: static_exec open MARKER
 *        static_exec fault FILE
 *        static_exec exec MARKER
 *
 *   open   openat(AT_FDCWD, "/nonexistent/MARKER/\xff\xfe'\"q", O_RDONLY),
 *          which fails (ENOENT); exit 0
 *   fault  map FILE (which holds a path and a NUL) without touching it,
 *          and openat() the path straight from the mapping: the page is in
 *          the page cache but not yet in this process's page tables when
 *          the syscall starts; exit 0 if the open worked
 *   exec   execve("/bin/true", ARGV) with 30 arguments: "true", "",
 *          MARKER, 5000 'A's, "\xff\xfe", "q'\"q", then "a6" .. "a29"
 *
 * Exit status: 0; 1 when a syscall fails unexpectedly; 2 on a usage error.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NARGS 30

int main(int argc, char **argv)
{
	static char big[5001];
	char path[256], *args[NARGS + 1], names[NARGS][32];
	char *env[] = { NULL };
	int fd;

	if (argc != 3)
		return 2;
	if (!strcmp(argv[1], "open")) {
		snprintf(path, sizeof(path), "/nonexistent/%s/\xff\xfe'\"q", argv[2]);
		return openat(AT_FDCWD, path, O_RDONLY) < 0 ? 0 : 1;
	}
	if (!strcmp(argv[1], "fault")) {
		char *p;

		fd = open(argv[2], O_RDONLY);
		if (fd < 0)
			return 1;
		p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			return 1;
		/* p is not read here: the kernel's openat faults it in */
		return openat(AT_FDCWD, p, O_RDONLY) < 0 ? 1 : 0;
	}
	if (!strcmp(argv[1], "exec")) {
		/* every string written here, so that its page is mapped when
		 * execve starts (a probe cannot fault pages in: that case is
		 * "fault"'s) */
		static const char *const fixed[] = { "true", "", NULL, NULL, "\xff\xfe", "q'\"q" };

		memset(big, 'A', sizeof(big) - 1);
		for (int i = 0; i < NARGS; i++) {
			if (i == 2)
				snprintf(names[i], sizeof(names[i]), "%.31s", argv[2]);
			else if (i < 6)
				snprintf(names[i], sizeof(names[i]), "%s",
					 fixed[i] ? fixed[i] : "");
			else
				snprintf(names[i], sizeof(names[i]), "a%d", i);
			args[i] = names[i];
		}
		args[3] = big;
		args[NARGS] = NULL;
		execve("/bin/true", args, env);
		return 1;
	}
	return 2;
}
