// SPDX-License-Identifier: MIT
/*
 * uprobe_target - a process whose functions the unit and live tests probe.
 *
 * Usage: uprobe_target [-v] [wait] [N [STR]]
 *
 *   N     number of kp_target_int() calls (default 1, must be >= 0)
 *   STR   the string passed to every call (default "hello")
 *   wait  read one byte from stdin before the first call, so that a test
 *         can attach its probes first; EOF counts as the go signal too
 *   -v    print one line per call on stdout; otherwise print nothing
 *
 * KP_TARGET_LINGER_MS=N in the environment: sleep N ms before exiting.
 *
 * Exact call pattern, in this order, each function called from main():
 *
 *   for i in 0 .. N-1:
 *       kp_target_int(i, -i, 0xfffffffffffffff0ULL + (i % 16), STR)  returns i + 1
 *   kp_target_str(STR)                                                 returns STR
 *   kp_target_outer(3)
 *       -> kp_target_middle(3)                                         returns 5
 *           -> kp_target_leaf(3)                                       returns 4
 *
 * so kp_target_int fires N times, every other function exactly once, and
 * kp_target_leaf's user stack is leaf <- middle <- outer <- main.
 *
 * Exit status: 0, or 2 on a usage error.
 *
 * The probed functions have external linkage and are built with -O1
 * -fno-inline -fno-omit-frame-pointer (Makefile rule build/progs/%).
 * KP_PROBED also rules out IPA clones (foo.constprop.0) on GCC, which
 * would leave the named symbol never executed, and each caller does work
 * after its call so that no call becomes a sibling (tail) call that would
 * drop a frame from the stack tests. None of them is exported to .dynsym
 * (no -rdynamic): they are found through .symtab only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__clang__)
#define KP_PROBED __attribute__((noinline, used))
#else
#define KP_PROBED __attribute__((noipa, used))
#endif

/* Stores the compiler cannot drop keep every probed body non-empty. */
volatile unsigned long long kp_target_sink;

int kp_target_int(int a, long b, unsigned long long c, const char *s);
const char *kp_target_str(const char *s);
int kp_target_leaf(int n);
int kp_target_middle(int n);
void kp_target_outer(int n);

KP_PROBED int kp_target_int(int a, long b, unsigned long long c, const char *s)
{
	kp_target_sink = (unsigned long long)a + (unsigned long long)b + c + (unsigned char)s[0];
	return a + 1;
}

KP_PROBED const char *kp_target_str(const char *s)
{
	kp_target_sink = strlen(s);
	return s;
}

KP_PROBED int kp_target_leaf(int n)
{
	kp_target_sink = (unsigned long long)n;
	return n + 1;
}

KP_PROBED int kp_target_middle(int n)
{
	int r = kp_target_leaf(n);

	kp_target_sink += (unsigned long long)r;
	return r + 1;
}

KP_PROBED void kp_target_outer(int n)
{
	int r = kp_target_middle(n);

	kp_target_sink += (unsigned long long)r;
}

static int usage(void)
{
	fprintf(stderr, "usage: uprobe_target [-v] [wait] [N [STR]]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *str = "hello";
	int verbose = 0, wait = 0, argi = 1;
	long n = 1;

	if (argi < argc && strcmp(argv[argi], "-v") == 0) {
		verbose = 1;
		argi++;
	}
	if (argi < argc && strcmp(argv[argi], "wait") == 0) {
		wait = 1;
		argi++;
	}
	if (argi < argc) {
		char *end;

		n = strtol(argv[argi], &end, 10);
		if (*argv[argi] == '\0' || *end != '\0' || n < 0 || n > 1000000000L)
			return usage();
		argi++;
	}
	if (argi < argc)
		str = argv[argi++];
	if (argi < argc)
		return usage();

	if (wait) {
		char c;

		/* Any byte, EOF or an error all mean "go". */
		(void)!read(STDIN_FILENO, &c, 1);
	}

	for (long i = 0; i < n; i++) {
		unsigned long long c = 0xfffffffffffffff0ULL + (unsigned long long)(i % 16);
		int r = kp_target_int((int)i, -i, c, str);

		if (verbose)
			printf("kp_target_int(%ld, %ld, 0x%llx, \"%s\") = %d\n", i, -i, c, str, r);
	}

	const char *s = kp_target_str(str);

	if (verbose)
		printf("kp_target_str(\"%s\") = \"%s\"\n", str, s);
	kp_target_outer(3);
	if (verbose)
		printf("kp_target_outer(3)\n");
	/* stay alive a while, so a tracer can still read /proc/PID/maps when
	 * it names the frames of this process's stacks */
	if (getenv("KP_TARGET_LINGER_MS"))
		usleep((useconds_t)atoi(getenv("KP_TARGET_LINGER_MS")) * 1000);
	return 0;
}
