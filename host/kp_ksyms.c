// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_ksyms.h"
#include "kp_near.h"

struct kp_ksym {
	const char *name;
	const char *module; /* NULL for the core kernel */
};

struct kp_ksyms {
	char *text;
	struct kp_ksym *syms; /* sorted by name */
	size_t n;
};

static int kp_ksym_cmp(const void *a, const void *b)
{
	const struct kp_ksym *x = a, *y = b;

	return strcmp(x->name, y->name);
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
		if (ks->n == cap) {
			struct kp_ksym *tmp;

			cap = cap ? cap * 2 : 65536;
			tmp = realloc(ks->syms, cap * sizeof(*tmp));
			if (!tmp) {
				kp_ksyms_free(ks);
				errno = ENOMEM;
				return NULL;
			}
			ks->syms = tmp;
		}
		ks->syms[ks->n++] = (struct kp_ksym){ .name = name, .module = mod };
	}
	if (ks->n)
		qsort(ks->syms, ks->n, sizeof(*ks->syms), kp_ksym_cmp);
	return ks;
}

struct kp_ksyms *kp_ksyms_load(void)
{
	size_t cap = 1 << 22, n = 0;
	char *buf = malloc(cap), *tmp;
	ssize_t r;
	int fd;

	if (!buf)
		return NULL;
	fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		if (cap - n < 4096) {
			tmp = realloc(buf, cap * 2);
			if (!tmp) {
				close(fd);
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = tmp;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return kp_ksyms_parse(buf);
}

void kp_ksyms_free(struct kp_ksyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->text);
	free(ks);
}

size_t kp_ksyms_count(const struct kp_ksyms *ks)
{
	return ks->n;
}

bool kp_ksyms_has(const struct kp_ksyms *ks, const char *name)
{
	const char *colon = strchr(name, ':');
	char mod[64] = "";
	struct kp_ksym key, *hit;
	size_t lo, hi;

	if (colon) {
		size_t ml = (size_t)(colon - name);

		if (ml >= sizeof(mod))
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
	if (!colon)
		return true;
	/* a name may repeat across modules: look at every entry of it */
	lo = hi = (size_t)(hit - ks->syms);
	while (lo > 0 && !strcmp(ks->syms[lo - 1].name, name))
		lo--;
	while (hi + 1 < ks->n && !strcmp(ks->syms[hi + 1].name, name))
		hi++;
	for (size_t i = lo; i <= hi; i++)
		if (ks->syms[i].module && !strcmp(ks->syms[i].module, mod))
			return true;
	return false;
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
