// SPDX-License-Identifier: MIT
/*
 * openhow - open paths with known open flags, mode and resolve flags, by
 * openat(2) and by openat2(2), and say what the kernel's struct open_how
 * held and what each call got.
 *
 * Usage: openhow DIR PATH...
 *
 *   DIR   "cwd" to pass AT_FDCWD (-100), or "N:DIRPATH" to open DIRPATH
 *         (O_DIRECTORY) and move it to file descriptor N first, so the
 *         calls pass dirfd N (e.g. "7:/tmp")
 *   PATH  each is opened twice, in this order:
 *         openat(dirfd, PATH, O_CREAT|O_WRONLY|O_TRUNC, 0640)
 *         openat2(dirfd, PATH, { O_WRONLY|O_APPEND|O_CLOEXEC, 0,
 *                                RESOLVE_NO_SYMLINKS })
 *
 * Output, on stdout: "pid PID" first, then per call one line
 * "open CALL DIRFD PATH FLAGS MODE RESOLVE RET": CALL is openat or openat2;
 * FLAGS MODE RESOLVE (decimal) are what do_sys_openat2() gets in its
 * struct open_how: the flags passed plus O_LARGEFILE (0100000 on x86-64,
 * which the kernel adds for 64-bit callers), the mode (0640 = 416 for the
 * O_CREAT openat, 0 for the openat2) and the resolve flags (0 for openat);
 * RET is the fd the call returned (closed at once, so a later open may get
 * the same number) or -errno. Nothing else is opened after the first line.
 *
 * Exit status: 0; 1 if DIR cannot be opened or moved; 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* the kernel's O_LARGEFILE on x86-64 (glibc's is 0 for 64-bit programs) */
#define KERNEL_O_LARGEFILE 0100000

static void report(const char *call, int dirfd, const char *path, uint64_t flags, uint64_t mode,
		   uint64_t resolve, int fd)
{
	int ret = fd < 0 ? -errno : fd;

	if (fd >= 0)
		close(fd);
	printf("open %s %d %s %llu %llu %llu %d\n", call, dirfd, path,
	       (unsigned long long)(flags | KERNEL_O_LARGEFILE), (unsigned long long)mode,
	       (unsigned long long)resolve, ret);
}

int main(int argc, char **argv)
{
	int dirfd = AT_FDCWD;

	if (argc < 3) {
		fprintf(stderr, "usage: openhow cwd|N:DIRPATH PATH...\n");
		return 2;
	}
	if (strcmp(argv[1], "cwd") != 0) {
		char *end;
		long n = strtol(argv[1], &end, 10);
		int fd;

		if (end == argv[1] || *end != ':' || n < 3 || n > 1000) {
			fprintf(stderr, "openhow: bad DIR '%s'\n", argv[1]);
			return 2;
		}
		fd = open(end + 1, O_RDONLY | O_DIRECTORY);
		if (fd < 0 || (fd != n && dup2(fd, (int)n) < 0)) {
			perror("openhow: DIR");
			return 1;
		}
		if (fd != n)
			close(fd);
		dirfd = (int)n;
	}
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	for (int i = 2; i < argc; i++) {
		struct open_how how = {
			.flags = O_WRONLY | O_APPEND | O_CLOEXEC,
			.mode = 0,
			.resolve = RESOLVE_NO_SYMLINKS,
		};
		int fd;

		fd = openat(dirfd, argv[i], O_CREAT | O_WRONLY | O_TRUNC, 0640);
		report("openat", dirfd, argv[i], O_CREAT | O_WRONLY | O_TRUNC, 0640, 0, fd);
		fd = (int)syscall(SYS_openat2, dirfd, argv[i], &how, sizeof(how));
		report("openat2", dirfd, argv[i], how.flags, how.mode, how.resolve, fd);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
