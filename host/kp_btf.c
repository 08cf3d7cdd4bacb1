// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kp_btf.h"

struct kp_btf {
	struct btf *btf;
};

struct kp_btf *kp_btf_load(void)
{
	struct kp_btf *b = calloc(1, sizeof(*b));
	long err;

	if (!b)
		return NULL;
	b->btf = btf__load_vmlinux_btf();
	err = libbpf_get_error(b->btf);
	if (err || !b->btf) {
		free(b);
		errno = err ? (int)-err : ENOENT;
		return NULL;
	}
	return b;
}

void kp_btf_free(struct kp_btf *b)
{
	if (!b)
		return;
	btf__free(b->btf);
	free(b);
}

/* Follow typedefs and qualifiers to the type that gives the layout. */
static const struct btf_type *kp_btf_skip(const struct btf *btf, __u32 *id)
{
	const struct btf_type *t = btf__type_by_id(btf, *id);

	while (t && (btf_is_typedef(t) || btf_is_mod(t))) {
		*id = t->type;
		t = btf__type_by_id(btf, *id);
	}
	return t;
}

int kp_btf_member(const struct kp_btf *b, const char *strct, const char *path, size_t *offset,
		  size_t *size)
{
	const struct btf *btf = b->btf;
	const struct btf_type *t;
	size_t off = 0;
	__s32 sid;
	__u32 id;

	sid = btf__find_by_name_kind(btf, strct, BTF_KIND_STRUCT);
	if (sid < 0)
		return -ENOENT;
	id = (__u32)sid;
	t = btf__type_by_id(btf, id);
	while (*path) {
		size_t len = strcspn(path, ".");
		const struct btf_member *m;
		int i, n;

		if (!t || !(btf_is_struct(t) || btf_is_union(t)))
			return -ESRCH;
		m = btf_members(t);
		n = btf_vlen(t);
		for (i = 0; i < n; i++, m++) {
			const char *name = btf__name_by_offset(btf, m->name_off);

			if (name && strlen(name) == len && !strncmp(name, path, len))
				break;
		}
		if (i == n)
			return -ESRCH;
		if (btf_member_bitfield_size(t, (__u32)i) || btf_member_bit_offset(t, (__u32)i) % 8)
			return -EINVAL;
		off += btf_member_bit_offset(t, (__u32)i) / 8;
		id = m->type;
		t = kp_btf_skip(btf, &id);
		path += len;
		if (*path == '.')
			path++;
	}
	if (btf__resolve_size(btf, id) < 0)
		return -EINVAL;
	*offset = off;
	*size = (size_t)btf__resolve_size(btf, id);
	return 0;
}
