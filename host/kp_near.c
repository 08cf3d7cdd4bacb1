// SPDX-License-Identifier: MIT
/*
 * "Did you mean": rank names close to a misspelt one. Used for ELF symbols
 * (uprobes) and kernel symbols (kprobes).
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "kp_near.h"

/* Longest symbol prefix the edit distance is computed over. */
#define KP_NEAR_MAXLEN 128

/*
 * Optimal string alignment distance (Levenshtein plus adjacent
 * transposition, so "itn" is one edit from "int"), case-insensitive, or
 * @cap + 1 when it exceeds @cap.
 */
static unsigned int kp_near_distance(const char *a, size_t la, const char *b, size_t lb,
				     unsigned int cap)
{
	unsigned int rows[3][KP_NEAR_MAXLEN + 1];
	unsigned int *pp = rows[0], *p = rows[1], *c = rows[2];

	if (la > KP_NEAR_MAXLEN || lb > KP_NEAR_MAXLEN || (la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	for (size_t j = 0; j <= lb; j++)
		p[j] = (unsigned int)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned int rowmin;
		unsigned int *tmp;

		c[0] = rowmin = (unsigned int)i;
		for (size_t j = 1; j <= lb; j++) {
			int ai = tolower((unsigned char)a[i - 1]);
			int bj = tolower((unsigned char)b[j - 1]);
			unsigned int v = p[j - 1] + (ai != bj);

			if (p[j] + 1 < v)
				v = p[j] + 1;
			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (i > 1 && j > 1 && ai == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == bj && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
			if (v < rowmin)
				rowmin = v;
		}
		if (rowmin > cap)
			return cap + 1;
		tmp = pp;
		pp = p;
		p = c;
		c = tmp;
	}
	return p[lb] <= cap ? p[lb] : cap + 1;
}

/*
 * Score of candidate @n for the misspelt @w, lower is better, UINT_MAX for
 * "not near": small edit distances first, then names containing what was
 * typed (or contained in it), then names sharing most of its prefix.
 */
static unsigned int kp_near_score(const char *w, size_t lw, const char *n, size_t ln)
{
	size_t diff = ln > lw ? ln - lw : lw - ln;
	unsigned int cap = lw < 15 ? 1 + (unsigned int)(lw / 5) : 4;
	unsigned int d;
	size_t pre = 0;

	d = kp_near_distance(w, lw, n, ln, cap);
	if (d <= cap)
		return d;
	if ((lw >= 3 && ln > lw && memmem(n, ln, w, lw)) ||
	    (ln >= 4 && lw > ln && memmem(w, lw, n, ln)))
		return 10 + (unsigned int)(diff < 9 ? diff : 9);
	while (pre < lw && pre < ln &&
	       tolower((unsigned char)w[pre]) == tolower((unsigned char)n[pre]))
		pre++;
	if (pre >= 4 && pre * 2 >= lw)
		return 20 + (unsigned int)(lw - pre < 9 ? lw - pre : 9);
	return UINT_MAX;
}

struct kp_near_cand {
	const char *name;
	size_t len;
	unsigned int score;
};

/* Total order of candidates: score, then length, then bytes. */
static int kp_near_cmp(const struct kp_near_cand *a, const struct kp_near_cand *b)
{
	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->name, b->name, a->len);
}

/*
 * Keep the best @max of the candidates seen so far in @best (sorted, @n
 * used). A name met twice (.symtab and .dynsym, two versions, a kernel
 * symbol in two modules) compares equal to itself and is kept once.
 */
static void kp_near_add(struct kp_near_cand *best, int *n, int max, const struct kp_near_cand *c)
{
	int i;

	for (i = 0; i < *n; i++) {
		int r = kp_near_cmp(c, &best[i]);

		if (r == 0)
			return;
		if (r < 0)
			break;
	}
	if (i == max)
		return;
	if (*n < max)
		(*n)++;
	memmove(&best[i + 1], &best[i], (size_t)(*n - 1 - i) * sizeof(*best));
	best[i] = *c;
}

struct kp_near {
	const char *want;
	size_t wlen;
	int max, n;
	struct kp_near_cand best[];
};

struct kp_near *kp_near_new(const char *want, size_t wlen, int max)
{
	struct kp_near *k;

	if (max < 0)
		max = 0;
	k = calloc(1, sizeof(*k) + (size_t)max * sizeof(k->best[0]));
	if (!k)
		return NULL;
	k->want = want;
	k->wlen = wlen;
	k->max = max;
	return k;
}

void kp_near_free(struct kp_near *k)
{
	free(k);
}

void kp_near_offer(struct kp_near *k, const char *name, size_t len)
{
	struct kp_near_cand c = { .name = name, .len = len };

	if (!k->max || !len)
		return;
	c.score = kp_near_score(k->want, k->wlen, name, len);
	if (c.score != UINT_MAX)
		kp_near_add(k->best, &k->n, k->max, &c);
}

int kp_near_format(const struct kp_near *k, char *buf, size_t len)
{
	size_t used = 0;
	int written = 0;

	if (!len)
		return 0;
	buf[0] = '\0';
	for (int i = 0; i < k->n; i++) {
		size_t need = k->best[i].len + (i ? 2 : 0);

		/* never cut a name short: stop at the first that does not fit */
		if (used + need >= len)
			break;
		if (i) {
			memcpy(buf + used, ", ", 2);
			used += 2;
		}
		memcpy(buf + used, k->best[i].name, k->best[i].len);
		used += k->best[i].len;
		buf[used] = '\0';
		written++;
	}
	return written;
}
