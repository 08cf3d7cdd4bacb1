// SPDX-License-Identifier: MIT
/*
 * Aggregates keyed by opaque bytes. Open addressing with linear probing over
 * a power-of-two slot array of (hash, entry) pairs, grown at 3/4 load. Each
 * entry is one allocation holding the value, its buckets and the key bytes,
 * so entries never move when the slot array grows and pointers handed out
 * by kp_agg_get()/kp_agg_sorted() stay valid until clear or free. There is
 * no per-key delete, only kp_agg_clear(), so no tombstones are needed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kp_agg.h"

struct kp_agg_ent {
	struct kp_agg_value v;
	size_t keylen;
	uint64_t hash;
	/* nbuckets uint64_t counters, then keylen key bytes */
	uint64_t data[];
};

struct kp_agg_slot {
	uint64_t hash;
	struct kp_agg_ent *e; /* NULL: empty */
};

struct kp_agg {
	enum kp_agg_kind kind;
	struct kp_agg_hist_spec spec;
	uint32_t nbuckets;
	size_t cap;
	size_t len;
	size_t nslots; /* power of two, or 0 before the first key */
	struct kp_agg_slot *slots;
	uint64_t dropped;
};

#define KP_AGG_MIN_SLOTS 16
#define KP_AGG_BAR_DEFAULT 52
/* label (16) + count (8) + " |" + "|" */
#define KP_AGG_LINE_FIXED 27

/* FNV-1a with a final avalanche so low bits (the slot index) mix well. */
static uint64_t agg_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static const unsigned char *ent_key(const struct kp_agg_ent *e)
{
	return (const unsigned char *)(e->data + e->v.nbuckets);
}

static int lhist_spec_ok(const struct kp_agg_hist_spec *s, uint32_t *nbuckets)
{
	uint64_t span, n;

	if (s->step <= 0 || s->max <= s->min)
		return 0;
	span = (uint64_t)s->max - (uint64_t)s->min;
	if (span % (uint64_t)s->step)
		return 0;
	n = span / (uint64_t)s->step;
	if (n > KP_AGG_LHIST_MAX_BUCKETS)
		return 0;
	*nbuckets = (uint32_t)n + 2;
	return 1;
}

struct kp_agg *kp_agg_new(enum kp_agg_kind kind, size_t cap, const struct kp_agg_hist_spec *spec)
{
	struct kp_agg *a;
	uint32_t nb = 0;

	switch (kind) {
	case KP_AGG_COUNT:
	case KP_AGG_SUM:
	case KP_AGG_STATS:
	case KP_AGG_HIST:
		if (spec)
			goto inval;
		if (kind == KP_AGG_HIST)
			nb = KP_AGG_LOG2_BUCKETS;
		break;
	case KP_AGG_LHIST:
		if (!spec || !lhist_spec_ok(spec, &nb))
			goto inval;
		break;
	default:
		goto inval;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		errno = ENOMEM;
		return NULL;
	}
	a->kind = kind;
	if (spec)
		a->spec = *spec;
	a->nbuckets = nb;
	a->cap = cap ? cap : KP_AGG_DEFAULT_CAP;
	return a;
inval:
	errno = EINVAL;
	return NULL;
}

static void free_entries(struct kp_agg *a)
{
	for (size_t i = 0; i < a->nslots; i++) {
		free(a->slots[i].e);
		a->slots[i].e = NULL;
	}
}

void kp_agg_free(struct kp_agg *a)
{
	if (!a)
		return;
	free_entries(a);
	free(a->slots);
	free(a);
}

void kp_agg_clear(struct kp_agg *a)
{
	/* Keep the slot array: a cleared aggregate usually refills alike. */
	free_entries(a);
	a->len = 0;
	a->dropped = 0;
}

size_t kp_agg_len(const struct kp_agg *a)
{
	return a->len;
}

uint64_t kp_agg_dropped(const struct kp_agg *a)
{
	return a->dropped;
}

enum kp_agg_kind kp_agg_kind(const struct kp_agg *a)
{
	return a->kind;
}

const struct kp_agg_hist_spec *kp_agg_spec(const struct kp_agg *a)
{
	return a->kind == KP_AGG_LHIST ? &a->spec : NULL;
}

/* The slot holding @key, or the empty slot where it would go. */
static struct kp_agg_slot *find_slot(const struct kp_agg *a, const void *key, size_t keylen,
				     uint64_t h)
{
	size_t mask = a->nslots - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct kp_agg_slot *s = &a->slots[i];

		if (!s->e)
			return s;
		if (s->hash == h && s->e->keylen == keylen &&
		    (keylen == 0 || memcmp(ent_key(s->e), key, keylen) == 0))
			return s;
	}
}

static int grow(struct kp_agg *a)
{
	size_t n = a->nslots ? a->nslots * 2 : KP_AGG_MIN_SLOTS;
	struct kp_agg_slot *ns, *old = a->slots;
	size_t oldn = a->nslots;

	if (n > SIZE_MAX / sizeof(*ns))
		return -ENOMEM;
	ns = calloc(n, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	a->slots = ns;
	a->nslots = n;
	for (size_t i = 0; i < oldn; i++) {
		struct kp_agg_slot *s;

		if (!old[i].e)
			continue;
		for (s = &ns[old[i].hash & (n - 1)]; s->e; s = &ns[(size_t)(s - ns + 1) & (n - 1)])
			;
		*s = old[i];
	}
	free(old);
	return 0;
}

static int64_t sat_add(int64_t x, int64_t y)
{
	int64_t r;

	if (__builtin_add_overflow(x, y, &r))
		return y > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static uint32_t log2_bucket(int64_t v)
{
	if (v < 0)
		return 0;
	if (v == 0)
		return 1;
	/* floor(log2(v)) + 2 */
	return (uint32_t)(63 - __builtin_clzll((unsigned long long)v)) + 2;
}

static uint32_t lhist_bucket(const struct kp_agg *a, int64_t v)
{
	if (v < a->spec.min)
		return 0;
	if (v >= a->spec.max)
		return a->nbuckets - 1;
	/* v >= min, so the difference fits in uint64_t even across zero. */
	return (uint32_t)(((uint64_t)v - (uint64_t)a->spec.min) / (uint64_t)a->spec.step) + 1;
}

static struct kp_agg_ent *new_entry(const struct kp_agg *a, const void *key, size_t keylen,
				    uint64_t h)
{
	size_t bsz = (size_t)a->nbuckets * sizeof(uint64_t);
	struct kp_agg_ent *e;

	if (keylen > SIZE_MAX - sizeof(*e) - bsz)
		return NULL;
	e = calloc(1, sizeof(*e) + bsz + keylen);
	if (!e)
		return NULL;
	e->hash = h;
	e->keylen = keylen;
	e->v.nbuckets = a->nbuckets;
	e->v.buckets = a->nbuckets ? e->data : NULL;
	if (keylen)
		memcpy((unsigned char *)(e->data + a->nbuckets), key, keylen);
	return e;
}

int kp_agg_add(struct kp_agg *a, const void *key, size_t keylen, int64_t value)
{
	uint64_t h = agg_hash(key, keylen);
	struct kp_agg_slot *s = NULL;
	struct kp_agg_ent *e;

	if (a->nslots)
		s = find_slot(a, key, keylen, h);
	if (s && s->e) {
		e = s->e;
	} else {
		if (a->len >= a->cap) {
			a->dropped++;
			return -ENOSPC;
		}
		/* Keep load <= 3/4 so probes stay short and always end. */
		if ((a->len + 1) * 4 > a->nslots * 3) {
			if (grow(a)) {
				a->dropped++;
				return -ENOMEM;
			}
			s = find_slot(a, key, keylen, h);
		}
		e = new_entry(a, key, keylen, h);
		if (!e) {
			a->dropped++;
			return -ENOMEM;
		}
		s->hash = h;
		s->e = e;
		a->len++;
	}

	e->v.count++;
	switch (a->kind) {
	case KP_AGG_COUNT:
		break;
	case KP_AGG_SUM:
		e->v.sum = sat_add(e->v.sum, value);
		break;
	case KP_AGG_STATS:
		e->v.sum = sat_add(e->v.sum, value);
		if (e->v.count == 1 || value < e->v.min)
			e->v.min = value;
		if (e->v.count == 1 || value > e->v.max)
			e->v.max = value;
		break;
	case KP_AGG_HIST:
		e->data[log2_bucket(value)]++;
		break;
	case KP_AGG_LHIST:
		e->data[lhist_bucket(a, value)]++;
		break;
	}
	return 0;
}

int kp_agg_set(struct kp_agg *a, const void *key, size_t keylen, int64_t value)
{
	const struct kp_agg_value *v;
	struct kp_agg_value *w;
	int err;

	if (a->kind != KP_AGG_COUNT && a->kind != KP_AGG_SUM)
		return -EINVAL;
	if (a->kind == KP_AGG_COUNT && value < 0)
		return -EINVAL;
	if (kp_agg_get(a, key, keylen, &v)) {
		/* a new key: one add makes the entry, then it is overwritten */
		err = kp_agg_add(a, key, keylen, 0);
		if (err)
			return err;
		kp_agg_get(a, key, keylen, &v);
	}
	w = (struct kp_agg_value *)v;
	if (a->kind == KP_AGG_COUNT)
		w->count = (uint64_t)value;
	else
		w->sum = value;
	return 0;
}

int kp_agg_del(struct kp_agg *a, const void *key, size_t keylen)
{
	size_t mask = a->nslots - 1, i, j;
	struct kp_agg_slot *s;

	if (!a->nslots)
		return -ENOENT;
	s = find_slot(a, key, keylen, agg_hash(key, keylen));
	if (!s->e)
		return -ENOENT;
	free(s->e);
	s->e = NULL;
	a->len--;
	/*
	 * Backward shift: later members of the probe run move into the hole
	 * when their home slot does not lie cyclically in (hole, their slot],
	 * so every key stays reachable from its home without tombstones.
	 */
	i = (size_t)(s - a->slots);
	for (j = (i + 1) & mask; a->slots[j].e; j = (j + 1) & mask) {
		size_t home = a->slots[j].hash & mask;

		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			a->slots[i] = a->slots[j];
			a->slots[j].e = NULL;
			i = j;
		}
	}
	return 0;
}

int kp_agg_get(const struct kp_agg *a, const void *key, size_t keylen,
	       const struct kp_agg_value **out)
{
	struct kp_agg_slot *s;

	if (!a->nslots)
		return -ENOENT;
	s = find_slot(a, key, keylen, agg_hash(key, keylen));
	if (!s->e)
		return -ENOENT;
	*out = &s->e->v;
	return 0;
}

int64_t kp_agg_avg(const struct kp_agg_value *v)
{
	if (!v->count)
		return 0;
	/* count > INT64_MAX is out of reach; the cast keeps C division signed. */
	return v->sum / (int64_t)v->count;
}

static int cmp_keys(const struct kp_agg_entry *x, const struct kp_agg_entry *y)
{
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = n ? memcmp(x->key, y->key, n) : 0;

	if (c)
		return c;
	return (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static int cmp_by_count(const void *p, const void *q)
{
	const struct kp_agg_entry *x = p, *y = q;
	uint64_t a = x->value->count, b = y->value->count;

	if (a != b)
		return a < b ? -1 : 1;
	return cmp_keys(x, y);
}

static int cmp_by_sum(const void *p, const void *q)
{
	const struct kp_agg_entry *x = p, *y = q;
	int64_t a = x->value->sum, b = y->value->sum;

	if (a != b)
		return a < b ? -1 : 1;
	return cmp_keys(x, y);
}

int kp_agg_sorted(const struct kp_agg *a, struct kp_agg_entry **out, size_t *n)
{
	struct kp_agg_entry *v;
	size_t j = 0;

	*out = NULL;
	*n = 0;
	if (!a->len)
		return 0;
	v = calloc(a->len, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < a->nslots; i++) {
		const struct kp_agg_ent *e = a->slots[i].e;

		if (!e)
			continue;
		v[j].key = ent_key(e);
		v[j].keylen = e->keylen;
		v[j].value = &e->v;
		j++;
	}
	qsort(v, j, sizeof(*v), a->kind == KP_AGG_SUM ? cmp_by_sum : cmp_by_count);
	*out = v;
	*n = j;
	return 0;
}

/* bpftrace's log2 label for 2^p: 1, 2, ... 512, 1K, ... 512K, 1M, ... 8E. */
static void log2_label(char *buf, size_t len, unsigned int p)
{
	static const char suffix[] = "\0KMGTPE";
	unsigned int d = p / 10;

	if (d)
		snprintf(buf, len, "%llu%c", 1ULL << (p - 10 * d), suffix[d]);
	else
		snprintf(buf, len, "%llu", 1ULL << p);
}

/* bpftrace's lhist label: K or M suffix only when the step is a multiple of 1024. */
static void lhist_label(char *buf, size_t len, int64_t x, int64_t step)
{
	if (step % 1024 == 0 && x != 0 && x % (1024 * 1024) == 0)
		snprintf(buf, len, "%" PRId64 "M", x / (1024 * 1024));
	else if (step % 1024 == 0 && x != 0 && x % 1024 == 0)
		snprintf(buf, len, "%" PRId64 "K", x / 1024);
	else
		snprintf(buf, len, "%" PRId64, x);
}

static void bucket_label(char *buf, size_t len, enum kp_agg_kind kind,
			 const struct kp_agg_hist_spec *spec, uint32_t i, uint32_t nb)
{
	char lo[32], hi[32];

	if (kind == KP_AGG_HIST) {
		if (i == 0) {
			snprintf(buf, len, "(..., 0)");
		} else if (i <= 2) {
			snprintf(buf, len, "[%u]", i - 1);
		} else {
			log2_label(lo, sizeof(lo), i - 2);
			log2_label(hi, sizeof(hi), i - 1);
			snprintf(buf, len, "[%s, %s)", lo, hi);
		}
		return;
	}
	if (i == 0) {
		lhist_label(lo, sizeof(lo), spec->min, spec->step);
		snprintf(buf, len, "(..., %s)", lo);
	} else if (i == nb - 1) {
		lhist_label(lo, sizeof(lo), spec->max, spec->step);
		snprintf(buf, len, "[%s, ...)", lo);
	} else {
		/* Inside [min, max), so neither bound overflows. */
		lhist_label(lo, sizeof(lo), spec->min + (int64_t)(i - 1) * spec->step, spec->step);
		lhist_label(hi, sizeof(hi), spec->min + (int64_t)i * spec->step, spec->step);
		snprintf(buf, len, "[%s, %s)", lo, hi);
	}
}

static size_t bar_len(uint64_t c, uint64_t max, size_t bar)
{
	if (c <= UINT64_MAX / bar)
		return (size_t)(c * bar / max);
	return (size_t)((long double)c / (long double)max * (long double)bar);
}

int kp_agg_print_hist(const struct kp_agg_value *v, enum kp_agg_kind kind,
		      const struct kp_agg_hist_spec *spec, int width, FILE *out)
{
	uint32_t nb = v->nbuckets, first = UINT32_MAX, last = 0, chk;
	uint64_t max = 0;
	size_t bar;
	char label[96];

	if (kind == KP_AGG_HIST) {
		if (nb != KP_AGG_LOG2_BUCKETS)
			return -EINVAL;
	} else if (kind == KP_AGG_LHIST) {
		if (!spec || !lhist_spec_ok(spec, &chk) || chk != nb)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (!v->buckets)
		return -EINVAL;
	if (width <= 0)
		bar = KP_AGG_BAR_DEFAULT;
	else if (width <= KP_AGG_LINE_FIXED + 1)
		bar = 1;
	else
		bar = (size_t)width - KP_AGG_LINE_FIXED;

	for (uint32_t i = 0; i < nb; i++) {
		if (!v->buckets[i])
			continue;
		if (first == UINT32_MAX)
			first = i;
		last = i;
		if (v->buckets[i] > max)
			max = v->buckets[i];
	}
	if (first == UINT32_MAX)
		return 0;

	for (uint32_t i = first; i <= last; i++) {
		size_t n = bar_len(v->buckets[i], max, bar);

		bucket_label(label, sizeof(label), kind, spec, i, nb);
		if (fprintf(out, "%-16s%8" PRIu64 " |", label, v->buckets[i]) < 0)
			return -EIO;
		for (size_t k = 0; k < bar; k++)
			if (fputc(k < n ? '@' : ' ', out) == EOF)
				return -EIO;
		if (fputs("|\n", out) == EOF)
			return -EIO;
	}
	return 0;
}
