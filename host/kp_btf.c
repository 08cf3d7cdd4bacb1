// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kp_btf.h"

struct kp_btf {
	struct btf *btf;
};

const struct btf *kp_btf_libbpf(const struct kp_btf *b)
{
	return b->btf;
}

/* Wrap what a libbpf loader returned: libbpf reports errors in the pointer. */
static struct kp_btf *kp_btf_wrap(struct btf *btf)
{
	long err = libbpf_get_error(btf);
	struct kp_btf *b;

	if (err || !btf) {
		errno = err ? (int)-err : ENOENT;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		btf__free(btf);
		errno = ENOMEM;
		return NULL;
	}
	b->btf = btf;
	return b;
}

struct kp_btf *kp_btf_load(void)
{
	return kp_btf_wrap(btf__load_vmlinux_btf());
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

struct kp_btf *kp_btf_load_module(const struct kp_btf *vmlinux, const char *module)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/kernel/btf/%s", module);
	/* module BTF is split BTF: its type ids continue vmlinux's */
	return kp_btf_wrap(btf__parse_split(path, vmlinux->btf));
}

struct kp_btf *kp_btf_load_file(const char *path)
{
	return kp_btf_wrap(btf__parse_raw(path));
}

/* Append C-like text for type @id to @buf (size @len). */
static void kp_btf_type_str(const struct btf *btf, __u32 id, char *buf, size_t len)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	size_t used = strlen(buf);
	const char *name;

	if (!id || !t) {
		snprintf(buf + used, len - used, "void");
		return;
	}
	name = btf__name_by_offset(btf, t->name_off);
	if (!name || !*name)
		name = "(anon)";
	switch (btf_kind(t)) {
	case BTF_KIND_PTR: {
		const struct btf_type *to = btf__type_by_id(btf, t->type);

		if (to && btf_is_func_proto(to)) {
			snprintf(buf + used, len - used, "void (*)(...)");
			return;
		}
		kp_btf_type_str(btf, t->type, buf, len);
		used = strlen(buf);
		snprintf(buf + used, len - used, " *");
		return;
	}
	case BTF_KIND_CONST:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_RESTRICT:
		snprintf(buf + used, len - used, "%s ",
			 btf_is_const(t)      ? "const"
			 : btf_is_volatile(t) ? "volatile"
					      : "restrict");
		kp_btf_type_str(btf, t->type, buf, len);
		return;
	case BTF_KIND_TYPE_TAG:
		kp_btf_type_str(btf, t->type, buf, len);
		used = strlen(buf);
		snprintf(buf + used, len - used, " __%s", name);
		return;
	case BTF_KIND_STRUCT:
		snprintf(buf + used, len - used, "struct %s", name);
		return;
	case BTF_KIND_UNION:
		snprintf(buf + used, len - used, "union %s", name);
		return;
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		snprintf(buf + used, len - used, "enum %s", name);
		return;
	case BTF_KIND_ARRAY:
		kp_btf_type_str(btf, btf_array(t)->type, buf, len);
		used = strlen(buf);
		snprintf(buf + used, len - used, "[%u]", btf_array(t)->nelems);
		return;
	default:
		snprintf(buf + used, len - used, "%s", name);
		return;
	}
}

int kp_btf_proto(const struct kp_btf *b, const char *func, char *buf, size_t len)
{
	const struct btf *btf = b->btf;
	const struct btf_type *fn, *proto;
	const struct btf_param *par;
	__s32 fid;
	int n;

	if (!len)
		return -EINVAL;
	buf[0] = '\0';
	fid = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC);
	if (fid < 0)
		return -ENOENT;
	fn = btf__type_by_id(btf, (__u32)fid);
	proto = btf__type_by_id(btf, fn->type);
	if (!proto || !btf_is_func_proto(proto))
		return -EINVAL;
	kp_btf_type_str(btf, proto->type, buf, len);
	snprintf(buf + strlen(buf), len - strlen(buf), "%s%s(",
		 buf[strlen(buf) - 1] == '*' ? "" : " ", func);
	par = btf_params(proto);
	n = btf_vlen(proto);
	for (int i = 0; i < n; i++) {
		const char *pn = btf__name_by_offset(btf, par[i].name_off);

		if (i)
			snprintf(buf + strlen(buf), len - strlen(buf), ", ");
		if (!par[i].type) {
			snprintf(buf + strlen(buf), len - strlen(buf), "...");
			continue;
		}
		kp_btf_type_str(btf, par[i].type, buf, len);
		if (pn && *pn)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
				 buf[strlen(buf) - 1] == '*' ? "" : " ", pn);
	}
	snprintf(buf + strlen(buf), len - strlen(buf), ")");
	return 0;
}

int kp_btf_each_func(const struct kp_btf *b, int (*fn)(const char *name, void *ctx), void *ctx)
{
	__u32 n = btf__type_cnt(b->btf);

	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(b->btf, id);
		int rc;

		if (!t || !btf_is_func(t))
			continue;
		rc = fn(btf__name_by_offset(b->btf, t->name_off), ctx);
		if (rc)
			return rc;
	}
	return 0;
}

/* @q's parameters have @p's types, one for one (vmlinux BTF is deduplicated:
 * the same type is the same id). */
static bool kp_same_params(const struct btf_type *p, const struct btf_type *q)
{
	const struct btf_param *a = btf_params(p), *b = btf_params(q);

	if (btf_vlen(p) != btf_vlen(q))
		return false;
	for (int i = 0; i < btf_vlen(p); i++)
		if (a[i].type != b[i].type)
			return false;
	return true;
}

/* Do @p and @q name their parameters alike? */
static bool kp_same_names(const struct btf *btf, const struct btf_type *p, const struct btf_type *q)
{
	const struct btf_param *a = btf_params(p), *b = btf_params(q);

	for (int i = 0; i < btf_vlen(p); i++)
		if (strcmp(btf__name_by_offset(btf, a[i].name_off),
			   btf__name_by_offset(btf, b[i].name_off)))
			return false;
	return true;
}

/*
 * Does class @cls (__bpf_trace_CLS) lay its records out with the fields
 * @names (the event's format, common ones left out)? Its record is struct
 * trace_event_raw_CLS: ent, the fields, then __data[].
 */
static bool kp_class_fields(const struct btf *btf, const char *cls, const char *const *names,
			    size_t n)
{
	char sname[256];
	const struct btf_type *t;
	const struct btf_member *m;
	size_t k = 0;
	__s32 id;

	snprintf(sname, sizeof(sname), "trace_event_raw_%s", cls);
	id = btf__find_by_name_kind(btf, sname, BTF_KIND_STRUCT);
	if (id < 0)
		return false;
	t = btf__type_by_id(btf, (__u32)id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *mn = btf__name_by_offset(btf, m->name_off);

		if (!strcmp(mn, "ent") || !strcmp(mn, "__data"))
			continue;
		/* a dynamic field's loc word: __data_loc_NAME, __rel_loc_NAME */
		if (!strncmp(mn, "__data_loc_", 11))
			mn += 11;
		else if (!strncmp(mn, "__rel_loc_", 10))
			mn += 10;
		if (k == n || strcmp(mn, names[k]))
			return false;
		k++;
	}
	return k == n;
}

int kp_btf_tp_func(const struct kp_btf *b, const char *event, const char *const *fields,
		   size_t nfields, char *func, size_t len, char *err, size_t errlen)
{
	const struct btf *btf = b->btf;
	const struct btf_type *t, *proto, *found = NULL;
	char name[256];
	__s32 id;
	__u32 n = btf__type_cnt(btf);

	snprintf(func, len, "__bpf_trace_%s", event);
	if (btf__find_by_name_kind(btf, func, BTF_KIND_FUNC) >= 0)
		return 0;
	/* an event of a class: btf_trace_EVENT is a pointer to its prototype */
	snprintf(name, sizeof(name), "btf_trace_%s", event);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	t = id >= 0 ? btf__type_by_id(btf, btf__type_by_id(btf, (__u32)id)->type) : NULL;
	proto = t && btf_is_ptr(t) ? btf__type_by_id(btf, t->type) : NULL;
	if (!proto || !btf_is_func_proto(proto)) {
		snprintf(err, errlen, "no %s nor %s in the kernel's BTF", func, name);
		return -ENOENT;
	}
	func[0] = '\0';
	for (__u32 i = 1; i < n; i++) {
		const struct btf_type *f = btf__type_by_id(btf, i), *q;
		const char *fn;

		if (!btf_is_func(f))
			continue;
		fn = btf__name_by_offset(btf, f->name_off);
		if (strncmp(fn, "__bpf_trace_", 12))
			continue;
		q = btf__type_by_id(btf, f->type);
		if (!q || !btf_is_func_proto(q) || !kp_same_params(proto, q) ||
		    !kp_class_fields(btf, fn + 12, fields, nfields))
			continue;
		if (found && !kp_same_names(btf, found, q)) {
			snprintf(err, errlen,
				 "the event classes %s and %s take the same types under other "
				 "names and make the same fields: which one %s comes from is "
				 "not in BTF",
				 func, fn, event);
			return -EEXIST;
		}
		if (!found)
			snprintf(func, len, "%s", fn);
		found = q;
	}
	if (!found) {
		snprintf(err, errlen,
			 "no __bpf_trace_ function in the kernel's BTF takes %s's types and "
			 "makes its fields",
			 name);
		return -ENOENT;
	}
	return 0;
}
