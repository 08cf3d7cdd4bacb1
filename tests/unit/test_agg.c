// SPDX-License-Identifier: MIT
/*
 * Unit test of host/kp_agg.c, the C core of kp.count/sum/stats/hist/lhist:
 * exact counts, saturating sums, stats, log2 and linear bucket edges, the
 * key cap with its dropped counter, clear, sorted order with ties, and the
 * bpftrace-style histogram text against hand-written golden strings.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_agg.h"
#include "t.h"

static const struct kp_agg_value *get_s(const struct kp_agg *a, const char *key)
{
	const struct kp_agg_value *v = NULL;

	if (kp_agg_get(a, key, strlen(key), &v))
		return NULL;
	return v;
}

static int add_s(struct kp_agg *a, const char *key, int64_t value)
{
	return kp_agg_add(a, key, strlen(key), value);
}

/* Render a histogram to a string; caller frees. */
static char *render(const struct kp_agg_value *v, enum kp_agg_kind kind,
		    const struct kp_agg_hist_spec *spec, int width, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		*rc = -errno;
		return NULL;
	}
	*rc = kp_agg_print_hist(v, kind, spec, width, f);
	fclose(f);
	return buf;
}

static void test_count(void)
{
	struct kp_agg *a = kp_agg_new(KP_AGG_COUNT, 0, NULL);
	int bad = 0, all_ok = 1;

	T_OK(a != NULL, "count: new");
	for (uint32_t i = 0; i < 1000; i++) {
		uint32_t k = i % 10;

		if (kp_agg_add(a, &k, sizeof(k), 12345 - (int64_t)i))
			all_ok = 0;
	}
	T_OK(all_ok, "count: 1000 adds accepted");
	T_EQ_UINT(kp_agg_len(a), 10, "count: 10 keys");
	for (uint32_t k = 0; k < 10; k++) {
		const struct kp_agg_value *v = NULL;

		if (kp_agg_get(a, &k, sizeof(k), &v) || v->count != 100)
			bad++;
	}
	T_EQ_INT(bad, 0, "count: each of 10 keys counted exactly 100 (value ignored)");
	T_EQ_UINT(kp_agg_dropped(a), 0, "count: nothing dropped");

	/* Keys that are prefixes of each other, with NULs, and empty. */
	add_s(a, "ab", 0);
	add_s(a, "abc", 0);
	add_s(a, "abc", 0);
	kp_agg_add(a, "ab\0", 3, 0);
	kp_agg_add(a, NULL, 0, 0);
	kp_agg_add(a, NULL, 0, 0);
	kp_agg_add(a, NULL, 0, 0);
	T_EQ_UINT(get_s(a, "ab")->count, 1, "count: \"ab\" distinct from its extensions");
	T_EQ_UINT(get_s(a, "abc")->count, 2, "count: \"abc\"");
	{
		const struct kp_agg_value *v = NULL;

		T_EQ_INT(kp_agg_get(a, "ab\0", 3, &v), 0, "count: key with a NUL byte found");
		T_EQ_UINT(v ? v->count : 0, 1, "count: key with a NUL byte");
		T_EQ_INT(kp_agg_get(a, "", 0, &v), 0, "count: empty key found");
		T_EQ_UINT(v ? v->count : 0, 3, "count: empty key");
		T_EQ_INT(kp_agg_get(a, "zz", 2, &v), -ENOENT, "count: missing key is -ENOENT");
	}
	T_OK(get_s(a, "ab")->buckets == NULL, "count: no buckets");
	kp_agg_free(a);

	a = kp_agg_new(KP_AGG_COUNT, 0, NULL);
	T_EQ_INT(kp_agg_get(a, "x", 1, &(const struct kp_agg_value *){ NULL }), -ENOENT,
		 "count: get on an empty aggregate");
	kp_agg_free(a);
}

static void test_growth(void)
{
	struct kp_agg *a = kp_agg_new(KP_AGG_SUM, 100000, NULL);
	int bad = 0;

	for (int round = 0; round < 2; round++)
		for (uint64_t k = 0; k < 20000; k++)
			if (kp_agg_add(a, &k, sizeof(k), (int64_t)k))
				bad++;
	for (uint64_t k = 0; k < 20000; k++) {
		const struct kp_agg_value *v = NULL;

		if (kp_agg_get(a, &k, sizeof(k), &v) || v->sum != 2 * (int64_t)k || v->count != 2)
			bad++;
	}
	T_EQ_INT(bad, 0, "growth: 20000 keys survive rehashing with exact sums");
	T_EQ_UINT(kp_agg_len(a), 20000, "growth: len");
	kp_agg_free(a);
}

static void test_sum(void)
{
	struct kp_agg *a = kp_agg_new(KP_AGG_SUM, 0, NULL);

	add_s(a, "mix", 10);
	add_s(a, "mix", -25);
	add_s(a, "mix", 3);
	T_EQ_INT(get_s(a, "mix")->sum, -12, "sum: negatives");
	T_EQ_UINT(get_s(a, "mix")->count, 3, "sum: count of adds");

	/* Choice: sums saturate; saturation is not sticky. */
	add_s(a, "hi", INT64_MAX);
	add_s(a, "hi", 1);
	T_EQ_INT(get_s(a, "hi")->sum, INT64_MAX, "sum: INT64_MAX + 1 saturates at INT64_MAX");
	add_s(a, "hi", INT64_MAX);
	T_EQ_INT(get_s(a, "hi")->sum, INT64_MAX, "sum: stays saturated going up");
	add_s(a, "hi", -1);
	T_EQ_INT(get_s(a, "hi")->sum, INT64_MAX - 1, "sum: then -1 moves off the bound");

	add_s(a, "lo", INT64_MIN);
	add_s(a, "lo", -1);
	T_EQ_INT(get_s(a, "lo")->sum, INT64_MIN, "sum: INT64_MIN - 1 saturates at INT64_MIN");
	add_s(a, "lo", INT64_MAX);
	T_EQ_INT(get_s(a, "lo")->sum, -1, "sum: INT64_MIN + INT64_MAX = -1");

	add_s(a, "x", INT64_MIN);
	add_s(a, "x", INT64_MAX);
	add_s(a, "x", 1);
	T_EQ_INT(get_s(a, "x")->sum, 0, "sum: extremes cancel exactly without overflow");
	kp_agg_free(a);
}

static void test_stats(void)
{
	struct kp_agg *a = kp_agg_new(KP_AGG_STATS, 0, NULL);
	const struct kp_agg_value *v;
	struct kp_agg_value empty = { 0 };

	add_s(a, "s", 5);
	add_s(a, "s", -3);
	add_s(a, "s", 10);
	add_s(a, "s", 0);
	v = get_s(a, "s");
	T_EQ_UINT(v->count, 4, "stats: count");
	T_EQ_INT(v->sum, 12, "stats: sum");
	T_EQ_INT(v->min, -3, "stats: min");
	T_EQ_INT(v->max, 10, "stats: max");
	T_EQ_INT(kp_agg_avg(v), 3, "stats: avg");

	add_s(a, "one", 42);
	v = get_s(a, "one");
	T_OK(v->min == 42 && v->max == 42, "stats: one sample is both min and max");

	add_s(a, "neg", -7);
	add_s(a, "neg", 0);
	T_EQ_INT(kp_agg_avg(get_s(a, "neg")), -3, "stats: avg truncates toward zero (-7/2)");
	T_EQ_INT(get_s(a, "neg")->max, 0, "stats: max after a negative first sample");

	add_s(a, "ext", INT64_MIN);
	add_s(a, "ext", INT64_MAX);
	v = get_s(a, "ext");
	T_OK(v->min == INT64_MIN && v->max == INT64_MAX && v->sum == -1,
	     "stats: INT64 extremes as min/max");
	T_EQ_INT(kp_agg_avg(&empty), 0, "stats: avg of nothing is 0");
	kp_agg_free(a);
}

static void test_log2(void)
{
	static const struct {
		int64_t v;
		uint32_t idx;
	} c[] = {
		{ 0, 1 },
		{ 1, 2 },
		{ 2, 3 },
		{ 3, 3 },
		{ 4, 4 },
		{ 7, 4 },
		{ 8, 5 },
		{ 1023, 11 },
		{ 1024, 12 },
		{ -1, 0 },
		{ INT64_MIN, 0 },
		{ INT64_MAX, 64 },
		{ (int64_t)1 << 62, 64 },
		{ ((int64_t)1 << 62) - 1, 63 },
	};
	struct kp_agg *a = kp_agg_new(KP_AGG_HIST, 0, NULL);

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const struct kp_agg_value *v = NULL;
		uint64_t total = 0;

		kp_agg_add(a, &i, sizeof(i), c[i].v);
		if (kp_agg_get(a, &i, sizeof(i), &v)) {
			T_OK(0, "log2: key %zu stored", i);
			continue;
		}
		for (uint32_t b = 0; b < v->nbuckets; b++)
			total += v->buckets[b];
		T_OK(v->nbuckets == KP_AGG_LOG2_BUCKETS && v->buckets[c[i].idx] == 1 &&
			 total == 1 && v->count == 1,
		     "log2: %" PRId64 " lands in bucket %u", c[i].v, c[i].idx);
	}
	kp_agg_free(a);
}

static void test_lhist(void)
{
	/* Buckets: (..., -10) [-10, 0) [0, 10) [10, 20) [20, ...) */
	struct kp_agg_hist_spec spec = { .min = -10, .max = 20, .step = 10 };
	static const struct {
		int64_t v;
		uint32_t idx;
	} c[] = {
		{ -11, 0 }, { INT64_MIN, 0 }, { -10, 1 }, { -1, 1 }, { 0, 2 },	       { 9, 2 },
		{ 10, 3 },  { 19, 3 },	      { 20, 4 },  { 21, 4 }, { INT64_MAX, 4 },
	};
	struct kp_agg *a = kp_agg_new(KP_AGG_LHIST, 0, &spec);
	struct kp_agg_hist_spec bad;

	T_OK(a != NULL, "lhist: new");
	T_OK(kp_agg_spec(a) && kp_agg_spec(a)->step == 10, "lhist: spec kept");
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const struct kp_agg_value *v = NULL;

		kp_agg_add(a, &i, sizeof(i), c[i].v);
		kp_agg_get(a, &i, sizeof(i), &v);
		T_OK(v && v->nbuckets == 5 && v->buckets[c[i].idx] == 1,
		     "lhist: %" PRId64 " lands in bucket %u", c[i].v, c[i].idx);
	}
	kp_agg_free(a);

	/* A range across the whole int64 span must not overflow. */
	spec = (struct kp_agg_hist_spec){ .min = INT64_MIN, .max = INT64_MIN + 4, .step = 2 };
	a = kp_agg_new(KP_AGG_LHIST, 0, &spec);
	kp_agg_add(a, "k", 1, INT64_MIN + 3);
	kp_agg_add(a, "k", 1, INT64_MAX);
	T_OK(get_s(a, "k")->buckets[2] == 1 && get_s(a, "k")->buckets[3] == 1,
	     "lhist: range at INT64_MIN");
	kp_agg_free(a);

	bad = (struct kp_agg_hist_spec){ .min = 0, .max = 10, .step = 0 };
	errno = 0;
	T_OK(!kp_agg_new(KP_AGG_LHIST, 0, &bad) && errno == EINVAL, "lhist: step 0 is EINVAL");
	bad = (struct kp_agg_hist_spec){ .min = 10, .max = 10, .step = 1 };
	T_OK(!kp_agg_new(KP_AGG_LHIST, 0, &bad), "lhist: max == min is EINVAL");
	bad = (struct kp_agg_hist_spec){ .min = 0, .max = 10, .step = 3 };
	T_OK(!kp_agg_new(KP_AGG_LHIST, 0, &bad), "lhist: step not dividing the range is EINVAL");
	bad = (struct kp_agg_hist_spec){ .min = 0, .max = 1001, .step = 1 };
	T_OK(!kp_agg_new(KP_AGG_LHIST, 0, &bad), "lhist: more than 1000 buckets is EINVAL");
	bad = (struct kp_agg_hist_spec){ .min = INT64_MIN, .max = INT64_MAX, .step = 1 };
	T_OK(!kp_agg_new(KP_AGG_LHIST, 0, &bad), "lhist: full int64 range with step 1 is EINVAL");
	T_OK(!kp_agg_new(KP_AGG_LHIST, 0, NULL), "lhist: NULL spec is EINVAL");
	T_OK(!kp_agg_new(KP_AGG_COUNT, 0, &spec), "count: a spec is EINVAL");
	T_OK(!kp_agg_new((enum kp_agg_kind)99, 0, NULL), "unknown kind is EINVAL");
}

static void test_cap_clear(void)
{
	struct kp_agg *a = kp_agg_new(KP_AGG_COUNT, 3, NULL);

	T_EQ_INT(add_s(a, "a", 0), 0, "cap: a");
	T_EQ_INT(add_s(a, "b", 0), 0, "cap: b");
	T_EQ_INT(add_s(a, "c", 0), 0, "cap: c");
	T_EQ_INT(add_s(a, "d", 0), -ENOSPC, "cap: new key past the cap is -ENOSPC");
	T_EQ_UINT(kp_agg_dropped(a), 1, "cap: dropped counted");
	T_EQ_INT(add_s(a, "a", 0), 0, "cap: existing key still updates");
	T_EQ_INT(add_s(a, "e", 0), -ENOSPC, "cap: second new key dropped");
	T_EQ_UINT(kp_agg_dropped(a), 2, "cap: dropped 2");
	T_EQ_UINT(kp_agg_len(a), 3, "cap: len stays at the cap");
	T_EQ_UINT(get_s(a, "a")->count, 2, "cap: a counted twice");
	T_OK(get_s(a, "d") == NULL, "cap: dropped key absent");

	kp_agg_clear(a);
	T_EQ_UINT(kp_agg_len(a), 0, "clear: len 0");
	T_EQ_UINT(kp_agg_dropped(a), 0, "clear: dropped reset");
	T_OK(get_s(a, "a") == NULL, "clear: old key gone");
	T_EQ_INT(add_s(a, "d", 0), 0, "clear: room again");
	T_EQ_UINT(get_s(a, "d")->count, 1, "clear: new key counts from 1");
	kp_agg_clear(a);
	kp_agg_clear(a);
	T_EQ_UINT(kp_agg_len(a), 0, "clear: twice is fine");
	kp_agg_free(a);
	kp_agg_free(NULL);
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int entry_is(const struct kp_agg_entry *e, const char *key)
{
	return e->keylen == strlen(key) && memcmp(e->key, key, e->keylen) == 0;
}

static void test_sorted(void)
{
	struct kp_agg *a = kp_agg_new(KP_AGG_COUNT, 0, NULL);
	struct kp_agg_entry *e = (void *)1;
	size_t n = 99;

	T_OK(kp_agg_sorted(a, &e, &n) == 0 && e == NULL && n == 0, "sorted: empty");
	add_s(a, "b", 0);
	add_s(a, "b", 0);
	add_s(a, "a", 0);
	add_s(a, "a", 0);
	add_s(a, "c", 0);
	add_s(a, "ab", 0);
	add_s(a, "ab", 0);
	add_s(a, "z", 0);
	add_s(a, "z", 0);
	add_s(a, "z", 0);
	T_EQ_INT(kp_agg_sorted(a, &e, &n), 0, "sorted: count");
	T_EQ_UINT(n, 5, "sorted: count n");
	T_OK(n == 5 && entry_is(&e[0], "c") && entry_is(&e[1], "a") && entry_is(&e[2], "ab") &&
		 entry_is(&e[3], "b") && entry_is(&e[4], "z"),
	     "sorted: by count, ties by key bytes, shorter first");
	T_OK(n == 5 && e[4].value->count == 3, "sorted: entry value");
	free(e);
	kp_agg_free(a);

	a = kp_agg_new(KP_AGG_SUM, 0, NULL);
	add_s(a, "y", 3);
	add_s(a, "x", -5);
	add_s(a, "z", -5);
	add_s(a, "w", INT64_MIN);
	add_s(a, "v", INT64_MAX);
	T_EQ_INT(kp_agg_sorted(a, &e, &n), 0, "sorted: sum");
	T_OK(n == 5 && entry_is(&e[0], "w") && entry_is(&e[1], "x") && entry_is(&e[2], "z") &&
		 entry_is(&e[3], "y") && entry_is(&e[4], "v"),
	     "sorted: by signed sum, ties by key");
	free(e);
	kp_agg_free(a);

	a = kp_agg_new(KP_AGG_HIST, 0, NULL);
	add_s(a, "many", 1);
	add_s(a, "many", 1000);
	add_s(a, "few", 1 << 20);
	T_EQ_INT(kp_agg_sorted(a, &e, &n), 0, "sorted: hist");
	T_OK(n == 2 && entry_is(&e[0], "few") && entry_is(&e[1], "many"),
	     "sorted: hist by total count, not by values");
	free(e);
	kp_agg_free(a);
}

static void test_print(void)
{
	struct kp_agg *a = kp_agg_new(KP_AGG_HIST, 0, NULL);
	struct kp_agg_hist_spec spec = { .min = 0, .max = 30, .step = 10 };
	char *s;
	int rc;

	/* [0]=1, [1]=2, [2,4)=0, [4,8)=4; width 35 leaves an 8-column bar. */
	add_s(a, "h", 0);
	add_s(a, "h", 1);
	add_s(a, "h", 1);
	for (int v = 4; v < 8; v++)
		add_s(a, "h", v);
	s = render(get_s(a, "h"), KP_AGG_HIST, NULL, 35, &rc);
	T_EQ_INT(rc, 0, "print: hist rc");
	T_EQ_STR(s,
		 "[0]                    1 |@@      |\n"
		 "[1]                    2 |@@@@    |\n"
		 "[2, 4)                 0 |        |\n"
		 "[4, 8)                 4 |@@@@@@@@|\n",
		 "print: hist golden");
	free(s);

	/* Default width: bpftrace's 79-column line with a 52-column bar. */
	s = render(get_s(a, "h"), KP_AGG_HIST, NULL, 0, &rc);
	T_EQ_STR(
	    s ? strchr(s, '\n') + 1 : NULL,
	    "[1]                    2 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
	    "[2, 4)                 0 |                                                    |\n"
	    "[4, 8)                 4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n",
	    "print: hist golden at the default width");
	free(s);

	/* Negative values, K/M/E labels, trimming of empty edges. */
	add_s(a, "big", -3);
	add_s(a, "big", 1024);
	add_s(a, "big", 2047);
	add_s(a, "big", 512);
	s = render(get_s(a, "big"), KP_AGG_HIST, NULL, 20, &rc);
	T_OK(s && starts_with(s, "(..., 0)               1 | |\n"),
	     "print: negative bucket; narrow width floors at 1 column, 1/2 truncates to no bar");
	T_OK(s && strstr(s, "\n[512, 1K)              1 | |\n[1K, 2K)               2 |@|\n"),
	     "print: K labels");
	T_OK(s && strstr(s, "[64, 128)") && !strstr(s, "[2K, 4K)"),
	     "print: trimmed to the last bucket");
	free(s);
	add_s(a, "top", INT64_MAX);
	add_s(a, "top", 1 << 20);
	s = render(get_s(a, "top"), KP_AGG_HIST, NULL, 35, &rc);
	T_OK(s && starts_with(s, "[1M, 2M)               1 |@@@@@@@@|\n"), "print: M label");
	T_OK(s && strstr(s, "\n[4E, 8E)               1 |@@@@@@@@|\n"),
	     "print: E label for INT64_MAX");
	free(s);
	kp_agg_free(a);

	a = kp_agg_new(KP_AGG_LHIST, 0, &spec);
	add_s(a, "l", -1);
	add_s(a, "l", 0);
	add_s(a, "l", 0);
	add_s(a, "l", 25);
	add_s(a, "l", 30);
	s = render(get_s(a, "l"), KP_AGG_LHIST, &spec, 35, &rc);
	T_EQ_INT(rc, 0, "print: lhist rc");
	T_EQ_STR(s,
		 "(..., 0)               1 |@@@@    |\n"
		 "[0, 10)                2 |@@@@@@@@|\n"
		 "[10, 20)               0 |        |\n"
		 "[20, 30)               1 |@@@@    |\n"
		 "[30, ...)              1 |@@@@    |\n",
		 "print: lhist golden");
	free(s);
	s = render(get_s(a, "l"), KP_AGG_HIST, NULL, 35, &rc);
	T_EQ_INT(rc, -EINVAL, "print: lhist value with kind HIST is EINVAL");
	free(s);
	kp_agg_free(a);

	/* Step a multiple of 1024: K and M labels, as bpftrace. */
	spec = (struct kp_agg_hist_spec){ .min = 0, .max = 2048 * 1024, .step = 1024 * 1024 };
	a = kp_agg_new(KP_AGG_LHIST, 0, &spec);
	add_s(a, "m", 1024 * 1024);
	add_s(a, "m", 4096 * 1024);
	s = render(get_s(a, "m"), KP_AGG_LHIST, &spec, 35, &rc);
	T_EQ_STR(s,
		 "[1M, 2M)               1 |@@@@@@@@|\n"
		 "[2M, ...)              1 |@@@@@@@@|\n",
		 "print: lhist M labels");
	free(s);
	kp_agg_free(a);

	spec = (struct kp_agg_hist_spec){ .min = -2048, .max = 2048, .step = 1024 };
	a = kp_agg_new(KP_AGG_LHIST, 0, &spec);
	add_s(a, "k", -2048);
	add_s(a, "k", -1);
	s = render(get_s(a, "k"), KP_AGG_LHIST, &spec, 35, &rc);
	T_EQ_STR(s,
		 "[-2K, -1K)             1 |@@@@@@@@|\n"
		 "[-1K, 0)               1 |@@@@@@@@|\n",
		 "print: lhist negative K labels");
	free(s);
	kp_agg_free(a);

	a = kp_agg_new(KP_AGG_HIST, 0, NULL);
	add_s(a, "x", 5);
	kp_agg_clear(a);
	{
		uint64_t zero[KP_AGG_LOG2_BUCKETS] = { 0 };
		struct kp_agg_value v = { .buckets = zero, .nbuckets = KP_AGG_LOG2_BUCKETS };

		s = render(&v, KP_AGG_HIST, NULL, 80, &rc);
		T_OK(rc == 0 && s && s[0] == '\0', "print: empty histogram prints nothing");
		free(s);
	}
	kp_agg_free(a);
}

/* set and delete, checked against a plain array after random operations */
static void test_set_del(void)
{
	struct kp_agg *a = kp_agg_new(KP_AGG_COUNT, 0, NULL);
	int64_t want[600];
	const struct kp_agg_value *v;
	unsigned int seed = 12345;
	int bad = 0, present = 0;

	for (int i = 0; i < 600; i++)
		want[i] = -1;
	for (int round = 0; round < 20000; round++) {
		int k = (int)((seed = seed * 1103515245u + 12345u) >> 8) % 600;
		int op = (int)((seed = seed * 1103515245u + 12345u) >> 8) % 3;

		if (op == 0) {
			if (kp_agg_add(a, &k, sizeof(k), 0) == 0)
				want[k] = want[k] < 0 ? 1 : want[k] + 1;
		} else if (op == 1) {
			int err = kp_agg_del(a, &k, sizeof(k));

			if (err != (want[k] < 0 ? -ENOENT : 0))
				bad++;
			want[k] = -1;
		} else {
			if (kp_agg_set(a, &k, sizeof(k), round) == 0)
				want[k] = round;
		}
	}
	for (int k = 0; k < 600; k++) {
		int err = kp_agg_get(a, &k, sizeof(k), &v);

		if (want[k] < 0) {
			bad += err != -ENOENT;
		} else {
			present++;
			bad += err != 0 || (int64_t)v->count != want[k];
		}
	}
	T_EQ_INT(bad, 0, "20000 random add/set/del on 600 keys agree with a plain array");
	T_EQ_INT(kp_agg_len(a), present, "length after deletes");
	T_EQ_INT(kp_agg_set(a, &bad, sizeof(bad), -1), -EINVAL, "a negative count is refused");
	kp_agg_free(a);

	a = kp_agg_new(KP_AGG_HIST, 0, NULL);
	T_EQ_INT(kp_agg_set(a, "k", 1, 5), -EINVAL, "set on a histogram is refused");
	kp_agg_free(a);
	a = kp_agg_new(KP_AGG_SUM, 1, NULL);
	T_EQ_INT(kp_agg_set(a, "k", 1, -7), 0, "set a sum");
	T_EQ_INT(kp_agg_get(a, "k", 1, &v) == 0 ? v->sum : 0, -7, "the sum is what was set");
	T_EQ_INT(kp_agg_set(a, "j", 1, 1), -ENOSPC, "set of a new key past the cap");
	T_EQ_UINT(kp_agg_dropped(a), 1, "and it is counted as dropped");
	kp_agg_free(a);
}

int main(void)
{
	test_count();
	test_growth();
	test_sum();
	test_stats();
	test_log2();
	test_lhist();
	test_cap_clear();
	test_sorted();
	test_print();
	test_set_del();
	printf("# %d passed, %d failed\n", t_passed, t_failed);
	return T_DONE();
}
