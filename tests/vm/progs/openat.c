// SPDX-License-Identifier: MIT
/*
 * openat - open paths relative to a directory fd and say what each got.
 *
 * Usage: openat DIR PATH...
 *
 *   DIR   "cwd" to pass AT_FDCWD (-100), or "N:DIRPATH" to open DIRPATH
 *         (O_DIRECTORY) and move it to file descriptor N first, so the
 *         openat calls pass dirfd N (e.g. "7:/tmp")
 *   PATH  each is opened with openat(dirfd, PATH, O_RDONLY) in turn
 *
 * Output, on stdout: "pid PID" first, then for each PATH one line
 * "open DIRFD PATH RET" where RET is the fd the call returned (closed at
 * once, so a later open may get the same number) or -errno. Nothing else is
 * opened after the first line, so the last opens of this pid are the
 * ones listed.
 *
 * Exit status: 0; 1 if DIR cannot be opened or moved; 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int dirfd = AT_FDCWD;

	if (argc < 3) {
		fprintf(stderr, "usage: openat cwd|N:DIRPATH PATH...\n");
		return 2;
	}
	if (strcmp(argv[1], "cwd") != 0) {
		char *end;
		long n = strtol(argv[1], &end, 10);
		int fd;

		if (end == argv[1] || *end != ':' || n < 3 || n > 1000) {
			fprintf(stderr, "openat: bad DIR '%s'\n", argv[1]);
			return 2;
		}
		fd = open(end + 1, O_RDONLY | O_DIRECTORY);
		if (fd < 0 || (fd != n && dup2(fd, (int)n) < 0)) {
			perror("openat: DIR");
			return 1;
		}
		if (fd != n)
			close(fd);
		dirfd = (int)n;
	}
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	for (int i = 2; i < argc; i++) {
		int fd = openat(dirfd, argv[i], O_RDONLY);
		int ret = fd < 0 ? -errno : fd;

		if (fd >= 0)
			close(fd);
		printf("open %d %s %d\n", dirfd, argv[i], ret);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
