/* SPDX-License-Identifier: MIT */
#ifndef KP_AGG_H
#define KP_AGG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Aggregates: a table from opaque key bytes to a counter, a sum, stats or a
 * histogram, in the manner of bpftrace's count(), sum(), stats(), hist() and
 * lhist(). The Lua layer serializes its keys (any value or tuple) to bytes;
 * this module never looks inside them except to order ties.
 *
 * Memory is bounded: at most @cap keys. An add for a new key past the cap is
 * dropped and counted (kp_agg_dropped()); existing keys keep updating.
 * Only a new key allocates (one block: key bytes, value and buckets, plus an
 * occasional growth of the slot array); adds to existing keys never do.
 */
struct kp_agg;

enum kp_agg_kind {
	KP_AGG_COUNT, /* count += 1, the value is ignored */
	KP_AGG_SUM, /* sum += value, saturating at INT64_MIN/INT64_MAX */
	KP_AGG_STATS, /* count, sum (saturating), min, max; avg = sum / count */
	KP_AGG_HIST, /* log2 buckets, as bpftrace hist() */
	KP_AGG_LHIST, /* linear buckets, as bpftrace lhist(min, max, step) */
};

/* Used when kp_agg_new() is given cap 0. */
#define KP_AGG_DEFAULT_CAP 65536
/*
 * Log2 buckets: [0] negative values, [1] zero, [2 + k] values in
 * [2^k, 2^(k+1)) for k = 0..62, so INT64_MAX lands in [64].
 */
#define KP_AGG_LOG2_BUCKETS 65
/* Linear buckets between min and max; two more hold below-min and >= max. */
#define KP_AGG_LHIST_MAX_BUCKETS 1000

struct kp_agg_hist_spec {
	int64_t min; /* first bucket starts here */
	int64_t max; /* values >= max go to the last bucket; max > min */
	int64_t step; /* > 0 and divides max - min */
};

struct kp_agg_value {
	/*
	 * COUNT: adds; SUM: adds; STATS, HIST, LHIST: samples. Counts do not
	 * saturate (2^64 adds are out of reach).
	 */
	uint64_t count;
	int64_t sum; /* SUM, STATS: saturating */
	int64_t min; /* STATS: valid when count > 0 */
	int64_t max; /* STATS: valid when count > 0 */
	/* HIST, LHIST: nbuckets counters owned by the aggregate, else NULL. */
	const uint64_t *buckets;
	uint32_t nbuckets;
};

struct kp_agg_entry {
	const void *key;
	size_t keylen;
	const struct kp_agg_value *value;
};

/**
 * kp_agg_new() - create an empty aggregate.
 * @kind: what each key accumulates.
 * @cap: maximum number of keys; 0 means KP_AGG_DEFAULT_CAP.
 * @spec: LHIST bucket layout; must be NULL for the other kinds.
 *
 * Return: the aggregate, or NULL with errno EINVAL (bad kind or spec) or
 * ENOMEM.
 */
struct kp_agg *kp_agg_new(enum kp_agg_kind kind, size_t cap, const struct kp_agg_hist_spec *spec);
void kp_agg_free(struct kp_agg *a);

/**
 * kp_agg_add() - account @value under @key.
 *
 * Return: 0; -ENOSPC when @key is new and the cap is reached, or -ENOMEM;
 * in both cases nothing is stored and kp_agg_dropped() goes up by one.
 */
int kp_agg_add(struct kp_agg *a, const void *key, size_t keylen, int64_t value);

/**
 * kp_agg_set() - make @key's COUNT or SUM equal @value (a new key is added,
 * subject to the cap as kp_agg_add()).
 *
 * Return: 0; -EINVAL for other kinds or a negative count; -ENOSPC/-ENOMEM
 * as kp_agg_add().
 */
int kp_agg_set(struct kp_agg *a, const void *key, size_t keylen, int64_t value);

/**
 * kp_agg_del() - remove @key. Pointers to other entries stay valid.
 *
 * Return: 0 or -ENOENT.
 */
int kp_agg_del(struct kp_agg *a, const void *key, size_t keylen);

/**
 * kp_agg_get() - look up @key.
 *
 * Return: 0 with *@out set, or -ENOENT. *@out stays valid until
 * kp_agg_clear() or kp_agg_free(); later adds update it in place.
 */
int kp_agg_get(const struct kp_agg *a, const void *key, size_t keylen,
	       const struct kp_agg_value **out);

/* Drop every key; the dropped counter is reset too. */
void kp_agg_clear(struct kp_agg *a);
size_t kp_agg_len(const struct kp_agg *a);
/* Adds refused since creation or the last kp_agg_clear(). */
uint64_t kp_agg_dropped(const struct kp_agg *a);
enum kp_agg_kind kp_agg_kind(const struct kp_agg *a);
/* The LHIST layout, or NULL for other kinds. */
const struct kp_agg_hist_spec *kp_agg_spec(const struct kp_agg *a);

/* STATS average: sum / count truncated toward zero (as bpftrace), 0 if empty. */
int64_t kp_agg_avg(const struct kp_agg_value *v);

/**
 * kp_agg_sorted() - every entry, sorted by value ascending.
 *
 * The sort value is the sum for SUM and the count for every other kind
 * (STATS: number of samples; HIST/LHIST: total samples, as bpftrace sorts
 * histograms). Ties are ordered by key bytes (memcmp, then shorter first).
 * Pointers in the entries live as long as kp_agg_get()'s.
 *
 * Return: 0 with *@out (free() it; NULL when *@n is 0) and *@n, or -ENOMEM.
 */
int kp_agg_sorted(const struct kp_agg *a, struct kp_agg_entry **out, size_t *n);

/**
 * kp_agg_print_hist() - print a histogram body as bpftrace's text output.
 * @v: a HIST or LHIST value.
 * @kind: KP_AGG_HIST or KP_AGG_LHIST.
 * @spec: the LHIST layout (ignored for HIST).
 * @width: total line width in columns (the terminal's); the bar is
 *	   @width - 27 columns, at least 1. @width <= 0 gives 79, which is
 *	   bpftrace's fixed 52-column bar.
 * @out: stream to write to.
 *
 * Prints one line per bucket from the first non-empty one to the last,
 * "%-16s%8llu |bar|": bucket label padded to 16, count right-aligned in 8,
 * a bar of '@' scaled so the largest bucket fills it. Prints nothing for an
 * empty histogram. The "@name[key]:" line above is the caller's.
 *
 * Return: 0, -EINVAL for a wrong kind or a mismatched value, or -EIO.
 */
int kp_agg_print_hist(const struct kp_agg_value *v, enum kp_agg_kind kind,
		      const struct kp_agg_hist_spec *spec, int width, FILE *out);

#endif
