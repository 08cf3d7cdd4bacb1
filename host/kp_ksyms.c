// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kp_file.h"
#include "kp_ksyms.h"
#include "kp_near.h"

/*
 * A function with no symbol after it within this many bytes ends there: no
 * kernel function is that large, and the text of the last function kept is
 * followed by data, unlisted code (BPF programs when not exported) or a gap
 * before the modules area, none of which it may claim.
 */
#define KP_KSYMS_MAX_FUNC (1u << 20)

struct kp_ksym {
	const char *name;
	const char *module; /* NULL for the core kernel */
	uint64_t addr; /* 0 where kallsyms hides addresses */
};

/* A function by address, for kp_ksyms_addr(). */
struct kp_kaddr {
	uint64_t addr;
	const char *name;
	const char *module;
	char type; /* t, T, w or W */
};

struct kp_ksyms {
	char *text;
	struct kp_ksym *syms; /* sorted by name */
	size_t n;
	/* functions at non-zero addresses, ascending, one entry per address
	 * (the alias kp_kaddr_cmp() sorts first) */
	struct kp_kaddr *addrs;
	size_t naddr, capaddr;
};

static int kp_ksym_cmp(const void *a, const void *b)
{
	const struct kp_ksym *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Aliases of one address: global before local, strong before weak. */
static int kp_ksym_rank(char type)
{
	switch (type) {
	case 'T':
		return 0;
	case 'W':
		return 1;
	case 't':
		return 2;
	default:
		return 3;
	}
}

static int kp_kaddr_cmp(const void *a, const void *b)
{
	const struct kp_kaddr *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (kp_ksym_rank(x->type) != kp_ksym_rank(y->type))
		return kp_ksym_rank(x->type) - kp_ksym_rank(y->type);
	return strcmp(x->name, y->name);
}

/* The leading hex field of a kallsyms line; 0 when it is not one. */
static uint64_t kp_ksym_hex(const char *s, const char *end)
{
	uint64_t v = 0;

	if (s == end || end - s > 16)
		return 0;
	for (; s < end; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return 0;
		v = v << 4 | (uint64_t)d;
	}
	return v;
}

/*
 * @p (@cap elements of @size bytes) grown to hold more than @n, or NULL
 * (@p untouched).
 */
static void *kp_grow(void *p, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 65536;

	if (n < *cap)
		return p;
	p = realloc(p, ncap * size);
	if (p)
		*cap = ncap;
	return p;
}

/*
 * Sort the address index and keep one alias per address. The core kernel's
 * lines come in address order, so the sort is skipped unless something
 * (modules, BPF programs) is out of order.
 */
static void kp_ksyms_index(struct kp_ksyms *ks)
{
	struct kp_kaddr *a = ks->addrs;
	size_t k = ks->naddr;

	if (!k)
		return;
	for (size_t i = 1; i < k; i++) {
		if (a[i - 1].addr > a[i].addr) {
			qsort(a, k, sizeof(*a), kp_kaddr_cmp);
			break;
		}
	}
	ks->naddr = 1;
	for (size_t i = 1; i < k; i++) {
		struct kp_kaddr *last = &a[ks->naddr - 1];

		if (a[i].addr != last->addr)
			a[ks->naddr++] = a[i];
		else if (kp_kaddr_cmp(&a[i], last) < 0)
			*last = a[i];
	}
}

struct kp_ksyms *kp_ksyms_parse(char *text)
{
	struct kp_ksyms *ks = calloc(1, sizeof(*ks));
	size_t cap = 0;
	char *line, *next;

	if (!ks) {
		free(text);
		return NULL;
	}
	ks->text = text;
	for (line = text; line && *line; line = next) {
		char *type, *name, *end, *mod = NULL;
		uint64_t addr;
		void *tmp;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* "ffffffff81000000 T _stext" or "... t name\t[module]" */
		type = strchr(line, ' ');
		if (!type || !type[1] || type[2] != ' ')
			continue;
		type++;
		if (*type != 't' && *type != 'T' && *type != 'w' && *type != 'W')
			continue;
		addr = kp_ksym_hex(line, type - 1);
		name = type + 2;
		end = strchr(name, '\t');
		if (end) {
			*end = '\0';
			mod = strchr(end + 1, '[');
			if (mod) {
				char *close = strchr(++mod, ']');

				if (close)
					*close = '\0';
			}
		}
		if (!*name)
			continue;
		tmp = kp_grow(ks->syms, &cap, ks->n, sizeof(*ks->syms));
		if (!tmp)
			goto err_nomem;
		ks->syms = tmp;
		ks->syms[ks->n++] = (struct kp_ksym){ .name = name, .module = mod, .addr = addr };
		/* kallsyms without CAP_SYSLOG (kptr_restrict) shows every
		 * address as zero: such entries are not indexed by address */
		if (!addr)
			continue;
		tmp = kp_grow(ks->addrs, &ks->capaddr, ks->naddr, sizeof(*ks->addrs));
		if (!tmp)
			goto err_nomem;
		ks->addrs = tmp;
		ks->addrs[ks->naddr++] =
		    (struct kp_kaddr){ .addr = addr, .name = name, .module = mod, .type = *type };
	}
	if (ks->n)
		qsort(ks->syms, ks->n, sizeof(*ks->syms), kp_ksym_cmp);
	kp_ksyms_index(ks);
	return ks;

err_nomem:
	kp_ksyms_free(ks);
	errno = ENOMEM;
	return NULL;
}

struct kp_ksyms *kp_ksyms_load(void)
{
	char *buf;
	int err;

	/* about 12 MB on a distribution kernel; the buffer doubles as needed */
	err = kp_file_read("/proc/kallsyms", 1 << 22, &buf, NULL);
	if (err) {
		errno = -err;
		return NULL;
	}
	return kp_ksyms_parse(buf);
}

void kp_ksyms_free(struct kp_ksyms *ks)
{
	if (!ks)
		return;
	free(ks->addrs);
	free(ks->syms);
	free(ks->text);
	free(ks);
}

size_t kp_ksyms_count(const struct kp_ksyms *ks)
{
	return ks->n;
}

/*
 * The entries of function @name, "NAME" or "MOD:NAME": *lo..*hi in the
 * name index, and in @mod the module named (or "" for none). False when
 * there is none, or the module name is too long to be one.
 */
static bool kp_ksyms_find(const struct kp_ksyms *ks, const char *name, char mod[64], size_t *lo,
			  size_t *hi)
{
	const char *colon = strchr(name, ':');
	struct kp_ksym key, *hit;

	mod[0] = '\0';
	if (colon) {
		size_t ml = (size_t)(colon - name);

		if (ml >= 64)
			return false;
		memcpy(mod, name, ml);
		mod[ml] = '\0';
		name = colon + 1;
	}
	if (!ks->n)
		return false;
	key.name = name;
	hit = bsearch(&key, ks->syms, ks->n, sizeof(*ks->syms), kp_ksym_cmp);
	if (!hit)
		return false;
	/* a name may repeat (static functions, modules): every entry of it */
	*lo = *hi = (size_t)(hit - ks->syms);
	while (*lo > 0 && !strcmp(ks->syms[*lo - 1].name, name))
		(*lo)--;
	while (*hi + 1 < ks->n && !strcmp(ks->syms[*hi + 1].name, name))
		(*hi)++;
	return true;
}

bool kp_ksyms_has(const struct kp_ksyms *ks, const char *name)
{
	char mod[64];
	size_t lo, hi;

	if (!kp_ksyms_find(ks, name, mod, &lo, &hi))
		return false;
	if (!mod[0])
		return true;
	for (size_t i = lo; i <= hi; i++)
		if (ks->syms[i].module && !strcmp(ks->syms[i].module, mod))
			return true;
	return false;
}

int kp_ksyms_lookup(const struct kp_ksyms *ks, const char *name, uint64_t *addr)
{
	char mod[64];
	size_t lo, hi;
	uint64_t a = 0;
	bool any = false;

	if (!kp_ksyms_find(ks, name, mod, &lo, &hi))
		return -ENOENT;
	for (size_t i = lo; i <= hi; i++) {
		const struct kp_ksym *k = &ks->syms[i];

		if (mod[0] && (!k->module || strcmp(k->module, mod)))
			continue;
		any = true;
		if (!k->addr)
			return -EPERM;
		if (a && k->addr != a)
			return -ENOTUNIQ;
		a = k->addr;
	}
	if (!any)
		return -ENOENT;
	*addr = a;
	return 0;
}

const char *kp_ksyms_module(const struct kp_ksyms *ks, const char *name)
{
	const char *colon = strchr(name, ':');
	struct kp_ksym key, *hit;

	if (colon) {
		/* the caller named it: find that module's entry for its string */
		for (size_t i = 0; i < ks->n; i++)
			if (ks->syms[i].module &&
			    !strncmp(ks->syms[i].module, name, (size_t)(colon - name)) &&
			    !ks->syms[i].module[colon - name])
				return ks->syms[i].module;
		return NULL;
	}
	if (!ks->n)
		return NULL;
	key.name = name;
	hit = bsearch(&key, ks->syms, ks->n, sizeof(*ks->syms), kp_ksym_cmp);
	return hit ? hit->module : NULL;
}

int kp_ksyms_addr(const struct kp_ksyms *ks, uint64_t addr, const char **name, const char **module,
		  uint64_t *off)
{
	const struct kp_kaddr *hit;
	size_t lo = 0, hi = ks->naddr;
	uint64_t end;

	/* the last entry at or below @addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->addrs[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -ENOENT;
	hit = &ks->addrs[lo - 1];
	end = hit->addr + KP_KSYMS_MAX_FUNC;
	if (end < hit->addr)
		end = UINT64_MAX;
	if (lo < ks->naddr && ks->addrs[lo].addr < end)
		end = ks->addrs[lo].addr;
	if (addr >= end)
		return -ENOENT;
	if (name)
		*name = hit->name;
	if (module)
		*module = hit->module;
	if (off)
		*off = addr - hit->addr;
	return 0;
}

int kp_ksyms_near(const struct kp_ksyms *ks, const char *name, char *buf, size_t len, int max)
{
	const char *colon = strchr(name, ':');
	struct kp_near *near;
	int n;

	if (colon)
		name = colon + 1;
	near = kp_near_new(name, strlen(name), max);
	if (!near)
		return -ENOMEM;
	for (size_t i = 0; i < ks->n; i++) {
		const char *s = ks->syms[i].name;

		/* compiler clones (foo.isra.0, foo.cold) are not what people type */
		if (strchr(s, '.'))
			continue;
		kp_near_offer(near, s, strlen(s));
	}
	n = kp_near_format(near, buf, len);
	kp_near_free(near);
	return n;
}
