/* SPDX-License-Identifier: MIT */
/*
 * Minimal unit-test harness. Each check prints one TAP-like line that
 * tests/run.sh counts: "ok - NAME" or "not ok - NAME: detail".
 * main() returns t_failed != 0.
 */
#ifndef KP_T_H
#define KP_T_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int t_failed;
static int t_passed;

#define T_OK(cond, ...)                                                      \
	do {                                                                 \
		if (cond) {                                                  \
			t_passed++;                                          \
			printf("ok - ");                                     \
			printf(__VA_ARGS__);                                 \
			printf("\n");                                        \
		} else {                                                     \
			t_failed++;                                          \
			printf("not ok - ");                                 \
			printf(__VA_ARGS__);                                 \
			printf(" (%s:%d: %s)\n", __FILE__, __LINE__, #cond); \
		}                                                            \
	} while (0)

#define T_EQ_INT(a, b, name)                                                      \
	do {                                                                      \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);           \
		T_OK(t_a_ == t_b_, "%s (got %lld, want %lld)", name, t_a_, t_b_); \
	} while (0)

#define T_EQ_UINT(a, b, name)                                                     \
	do {                                                                      \
		unsigned long long t_a_ = (a), t_b_ = (b);                        \
		T_OK(t_a_ == t_b_, "%s (got %llu, want %llu)", name, t_a_, t_b_); \
	} while (0)

#define T_EQ_STR(a, b, name)                                                                      \
	do {                                                                                      \
		const char *t_a_ = (a), *t_b_ = (b);                                              \
		T_OK(t_a_ &&t_b_ &&strcmp(t_a_, t_b_) == 0, "%s (got \"%s\", want \"%s\")", name, \
		     t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");                             \
	} while (0)

#define T_DONE() (t_failed != 0)

#endif
