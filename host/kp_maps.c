// SPDX-License-Identifier: MIT
/*
 * Sets of executable mappings (see kp_maps.h): parsed from /proc/PID/maps
 * text, edited by the mmap records that follow a process. Pure.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "kp_maps.h"

#define KP_DELETED " (deleted)"

struct kp_maps {
	struct kp_map *maps; /* ascending */
	size_t n;
	char *paths; /* the NUL-terminated paths the maps point into */
};

/* A hex (@base 16) or decimal number at *@p; false on none or overflow. */
static bool kp_num(const char **p, const char *end, int base, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	for (; s < end && s - *p < 20; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			break;
		if (*v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		*v = *v * (uint64_t)base + (uint64_t)d;
	}
	if (s == *p)
		return false;
	*p = s;
	return true;
}

static bool kp_char(const char **p, const char *end, char c)
{
	if (*p == end || **p != c)
		return false;
	(*p)++;
	return true;
}

/*
 * Parse the line [@s, @end) into @m, its path (not NUL-terminated, without
 * " (deleted)") into @path and @plen. Return: whether the mapping is kept.
 */
static bool kp_maps_line(const char *s, const char *end, struct kp_map *m, const char **path,
			 size_t *plen)
{
	uint64_t maj, min;
	bool exec;

	if (!kp_num(&s, end, 16, &m->start) || !kp_char(&s, end, '-') ||
	    !kp_num(&s, end, 16, &m->end) || !kp_char(&s, end, ' ') || end - s < 5 || s[4] != ' ')
		return false;
	exec = s[2] == 'x';
	s += 5;
	if (!kp_num(&s, end, 16, &m->pgoff) || !kp_char(&s, end, ' ') ||
	    !kp_num(&s, end, 16, &maj) || !kp_char(&s, end, ':') || !kp_num(&s, end, 16, &min) ||
	    !kp_char(&s, end, ' ') || !kp_num(&s, end, 10, &m->ino))
		return false;
	while (s < end && *s == ' ')
		s++;
	if (!exec || m->end <= m->start || s == end || (*s != '/' && *s != '['))
		return false;
	m->dev = makedev(maj, min);
	*path = s;
	*plen = (size_t)(end - s);
	m->deleted = *s == '/' && *plen > strlen(KP_DELETED) &&
		     !memcmp(end - strlen(KP_DELETED), KP_DELETED, strlen(KP_DELETED));
	if (m->deleted)
		*plen -= strlen(KP_DELETED);
	return true;
}

static int kp_map_cmp(const void *a, const void *b)
{
	const struct kp_map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

struct kp_maps *kp_maps_new(void)
{
	return calloc(1, sizeof(struct kp_maps));
}

/* Room in @m for @n maps and @bytes of paths; on failure @m is freed and
 * errno is ENOMEM. 0 or -ENOMEM. */
static int kp_maps_alloc(struct kp_maps *m, size_t n, size_t bytes)
{
	m->maps = malloc(n * sizeof(*m->maps));
	m->paths = malloc(bytes);
	if (m->maps && m->paths)
		return 0;
	kp_maps_free(m);
	errno = ENOMEM;
	return -ENOMEM;
}

struct kp_maps *kp_maps_parse(const char *text, size_t len)
{
	struct kp_maps *m = calloc(1, sizeof(*m));
	size_t n = 0, bytes = 0, at = 0;

	if (!m)
		return NULL;
	/* pass 0 counts, pass 1 fills */
	for (int pass = 0; pass < 2; pass++) {
		const char *s = text, *end = text + len;

		while (s < end) {
			const char *nl = memchr(s, '\n', (size_t)(end - s)), *path;
			const char *eol = nl ? nl : end;
			struct kp_map map;
			size_t plen;

			if (kp_maps_line(s, eol, &map, &path, &plen)) {
				if (pass == 0) {
					n++;
					bytes += plen + 1;
				} else {
					memcpy(m->paths + at, path, plen);
					m->paths[at + plen] = '\0';
					map.path = m->paths + at;
					at += plen + 1;
					m->maps[m->n++] = map;
				}
			}
			s = nl ? nl + 1 : end;
		}
		if (pass == 0 && !n)
			break;
		if (pass == 0 && kp_maps_alloc(m, n, bytes))
			return NULL;
	}
	for (size_t i = 1; i < m->n; i++) {
		if (m->maps[i - 1].start > m->maps[i].start) {
			qsort(m->maps, m->n, sizeof(*m->maps), kp_map_cmp);
			break;
		}
	}
	return m;
}

/*
 * Whether the mapping name @path (as maps or MMAP2 gives it) is kept: a
 * file (a path; perf's "//anon" and the like are none) or a bracketed
 * pseudo-file. *@plen is its length without " (deleted)", which sets
 * *@deleted.
 */
bool kp_maps_name(const char *path, size_t *plen, bool *deleted)
{
	size_t n, dl = strlen(KP_DELETED);

	if (!path || (path[0] != '/' && path[0] != '[') || (path[0] == '/' && path[1] == '/'))
		return false;
	n = strlen(path);
	*deleted = path[0] == '/' && n > dl && !memcmp(path + n - dl, KP_DELETED, dl);
	*plen = *deleted ? n - dl : n;
	return true;
}

/* The index of the first mapping of @m starting above @addr (m->n if none). */
size_t kp_maps_after(const struct kp_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether a mapping of @m meets [@start, @end). */
bool kp_maps_overlap(const struct kp_maps *m, uint64_t start, uint64_t end)
{
	/* the first mapping starting above @start; the one before may reach it */
	size_t lo = kp_maps_after(m, start);

	return (lo > 0 && m->maps[lo - 1].end > start) || (lo < m->n && m->maps[lo].start < end);
}

/*
 * A new set: the mappings of @old with [@cut->start, @cut->end) cut out of
 * them (none when @cut is NULL), then @add with its path @path (@plen
 * bytes, not NUL-terminated) when @add is not NULL. What is left of a
 * mapping above the cut keeps its file offset. Return: the set, or NULL
 * with errno set (ENOMEM).
 */
struct kp_maps *kp_maps_edit(const struct kp_maps *old, const struct kp_map *cut,
			     const struct kp_map *add, const char *path, size_t plen)
{
	struct kp_maps *m = calloc(1, sizeof(*m));
	size_t n = 0, bytes = 0, at = 0;

	if (!m)
		return NULL;
	/* pass 0 counts, pass 1 fills; a mapping leaves up to two pieces */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < old->n; i++) {
			const struct kp_map *o = &old->maps[i];
			bool whole = !cut || o->end <= cut->start || o->start >= cut->end;
			bool below = !whole && o->start < cut->start;
			bool above = !whole && o->end > cut->end;
			size_t len = strlen(o->path) + 1;
			struct kp_map piece = *o;

			if (!whole && !below && !above)
				continue;
			if (pass == 0) {
				n += whole ? 1 : (size_t)below + (size_t)above;
				bytes += len;
				continue;
			}
			memcpy(m->paths + at, o->path, len);
			piece.path = m->paths + at;
			at += len;
			if (whole) {
				m->maps[m->n++] = piece;
				continue;
			}
			if (below) {
				piece.end = cut->start;
				m->maps[m->n++] = piece;
			}
			if (above) {
				piece.start = cut->end;
				piece.end = o->end;
				piece.pgoff = o->pgoff + (cut->end - o->start);
				m->maps[m->n++] = piece;
			}
		}
		if (pass == 1)
			break;
		if (add) {
			n++;
			bytes += plen + 1;
		}
		if (!n)
			return m;
		if (kp_maps_alloc(m, n, bytes))
			return NULL;
	}
	if (add) {
		memcpy(m->paths + at, path, plen);
		m->paths[at + plen] = '\0';
		m->maps[m->n] = *add;
		m->maps[m->n++].path = m->paths + at;
	}
	/* the pieces are in order, the mapping added may not be */
	for (size_t i = 1; i < m->n; i++) {
		if (m->maps[i - 1].start > m->maps[i].start) {
			qsort(m->maps, m->n, sizeof(*m->maps), kp_map_cmp);
			break;
		}
	}
	return m;
}

void kp_maps_free(struct kp_maps *m)
{
	if (!m)
		return;
	free(m->maps);
	free(m->paths);
	free(m);
}

size_t kp_maps_count(const struct kp_maps *m)
{
	return m->n;
}

const struct kp_map *kp_maps_get(const struct kp_maps *m, size_t i)
{
	return i < m->n ? &m->maps[i] : NULL;
}

const struct kp_map *kp_maps_find(const struct kp_maps *m, uint64_t addr)
{
	size_t lo = kp_maps_after(m, addr);

	if (lo == 0 || addr >= m->maps[lo - 1].end)
		return NULL;
	return &m->maps[lo - 1];
}
