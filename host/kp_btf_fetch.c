// SPDX-License-Identifier: MIT
/*
 * Arguments by name (kp_btf_fetch): a C-like path from a kernel function's
 * parameters ("new->uid.val", "$retval->f_path.dentry") compiled, through
 * the function's BTF prototype, into the kernel's fetch-argument grammar
 * ("+4(%di):u32"). A walk in named steps: the first name (a parameter or
 * $retval), each member, each load through a pointer, then the fetch the
 * last type reads as.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>

#include "kp_btf.h"

static const struct btf_type *kp_btf_resolve(const struct btf *btf, __u32 *id, bool *user);

/* does @t (a struct or union) hold a floating-point member anywhere? */
static bool kp_btf_has_float(const struct btf *btf, const struct btf_type *t)
{
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++) {
		__u32 id = m->type;
		const struct btf_type *mt = btf__type_by_id(btf, id);

		while (mt && (btf_is_typedef(mt) || btf_is_mod(mt) || btf_is_type_tag(mt) ||
			      btf_is_array(mt))) {
			id = btf_is_array(mt) ? btf_array(mt)->type : mt->type;
			mt = btf__type_by_id(btf, id);
		}
		if (mt && (btf_is_float(mt) || (btf_is_composite(mt) && kp_btf_has_float(btf, mt))))
			return true;
	}
	return false;
}

enum kp_param_where { KP_IN_REG, KP_IN_SSE, KP_ON_STACK, KP_BY_VALUE, KP_UNSURE };

/*
 * Where the x86-64 SysV convention puts parameter @want of @proto: integer
 * and pointer arguments take the next of six registers, a struct or
 * __int128 of 9 to 16 bytes takes two (or the stack when fewer are left),
 * larger ones and the rest go on the stack, floating point goes to SSE
 * registers. A struct with floating-point members is classified per
 * eightbyte by the ABI; we do not, so parameters after one are "unsure".
 */
static enum kp_param_where kp_btf_param_where(const struct btf *btf, const struct btf_type *proto,
					      int want, int *reg)
{
	const struct btf_param *par = btf_params(proto);
	int next = 0;

	for (int i = 0; i <= want; i++) {
		__u32 id = par[i].type;
		const struct btf_type *t = kp_btf_resolve(btf, &id, NULL);
		__s64 size = btf__resolve_size(btf, id);
		int need;

		if (!t || size < 0)
			return KP_UNSURE;
		if (btf_is_float(t)) {
			need = 0;
		} else if (btf_is_composite(t)) {
			if (size > 16)
				need = -1;
			else if (kp_btf_has_float(btf, t))
				return i == want ? KP_BY_VALUE : KP_UNSURE;
			else
				need = size > 8 ? 2 : 1;
		} else {
			need = size > 16 ? -1 : size > 8 ? 2 : 1;
		}
		if (need > 0 && next + need > 6)
			need = -1; /* no room left: the whole argument goes on the stack */
		if (i == want) {
			if (need == 0)
				return KP_IN_SSE;
			if (need < 0)
				return KP_ON_STACK;
			if (btf_is_composite(t) || need > 1)
				return KP_BY_VALUE;
			*reg = next;
			return KP_IN_REG;
		}
		if (need > 0)
			next += need;
	}
	return KP_UNSURE;
}

/* x86-64 SysV: the first six integer or pointer arguments */
static const char *const kp_arg_regs[] = { "%di", "%si", "%dx", "%cx", "%r8", "%r9" };

/* the kernel's fetch program holds FETCH_INSN_MAX (16) steps: a register,
 * the dereferences, a bitfield step, the store and the end */
#define KP_MAX_DEREF 12

static void kp_errf(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void kp_errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* Skip typedefs and qualifiers; note a "user" type tag on the way. */
static const struct btf_type *kp_btf_resolve(const struct btf *btf, __u32 *id, bool *user)
{
	const struct btf_type *t = btf__type_by_id(btf, *id);

	while (t && (btf_is_typedef(t) || btf_is_mod(t) || btf_is_type_tag(t))) {
		if (btf_is_type_tag(t) && user) {
			const char *tag = btf__name_by_offset(btf, t->name_off);

			if (tag && !strcmp(tag, "user"))
				*user = true;
		}
		*id = t->type;
		t = btf__type_by_id(btf, *id);
	}
	return t;
}

static bool kp_btf_is_char(const struct btf *btf, __u32 id)
{
	const struct btf_type *t = kp_btf_resolve(btf, &id, NULL);

	return t && btf_is_int(t) && t->size == 1;
}

/* A member of @t named @name, looking into anonymous structs and unions.
 * Sets the bit offset from @t's start and the bitfield size (0: none). */
static const struct btf_member *kp_btf_find_member(const struct btf *btf, const struct btf_type *t,
						   const char *name, size_t namelen, __u32 *bitoff,
						   __u32 *bitsize)
{
	const struct btf_member *m = btf_members(t);
	int n = btf_vlen(t);

	for (int i = 0; i < n; i++, m++) {
		const char *mn = btf__name_by_offset(btf, m->name_off);
		__u32 off = btf_member_bit_offset(t, (__u32)i);

		if (mn && *mn) {
			if (strlen(mn) == namelen && !strncmp(mn, name, namelen)) {
				*bitoff = off;
				*bitsize = btf_member_bitfield_size(t, (__u32)i);
				return m;
			}
			continue;
		}
		/* an anonymous struct or union: its members belong to @t */
		{
			__u32 id = m->type;
			const struct btf_type *sub = kp_btf_resolve(btf, &id, NULL);
			const struct btf_member *hit;

			if (!sub || !btf_is_composite(sub))
				continue;
			hit = kp_btf_find_member(btf, sub, name, namelen, bitoff, bitsize);
			if (hit) {
				*bitoff += off;
				return hit;
			}
		}
	}
	return NULL;
}

/* ", "-separated member names of @t, anonymous ones flattened */
static void kp_btf_list_members(const struct btf *btf, const struct btf_type *t, char *buf,
				size_t len)
{
	const struct btf_member *m = btf_members(t);
	int n = btf_vlen(t);

	for (int i = 0; i < n; i++, m++) {
		const char *mn = btf__name_by_offset(btf, m->name_off);
		size_t used = strlen(buf);

		if (mn && *mn) {
			snprintf(buf + used, len - used, "%s%s", used ? ", " : "", mn);
		} else {
			__u32 id = m->type;
			const struct btf_type *sub = kp_btf_resolve(btf, &id, NULL);

			if (sub && btf_is_composite(sub))
				kp_btf_list_members(btf, sub, buf, len);
		}
	}
}

static const char *kp_btf_type_name(const struct btf *btf, const struct btf_type *t)
{
	const char *n = btf__name_by_offset(btf, t->name_off);

	return n && *n ? n : "(anonymous)";
}

/* The fetch type of an integer, enum or pointer of @size bytes. */
static const char *kp_int_type(size_t size, bool sign)
{
	switch (size) {
	case 1:
		return sign ? "s8" : "u8";
	case 2:
		return sign ? "s16" : "u16";
	case 4:
		return sign ? "s32" : "u32";
	default:
		return sign ? "s64" : "u64";
	}
}

/*
 * The walk of one BTF path (kp_btf_fetch()): where the fetch argument
 * reads so far. @base is the expression of the current pointer (%di, then
 * +OFF(%di) after each -> through memory); @acc the byte offset into what
 * it points to, accumulated by '.' and by member offsets.
 */
struct kp_walk {
	const struct btf *btf;
	const char *func, *expr;
	char base[1024];
	char last[128], prev[128]; /* the names walked last and before */
	bool addr; /* base is a pointer to memory, read at +acc */
	bool user; /* the type was reached through a __user pointer */
	bool umem; /* the memory at base is user memory (a __user pointer) */
	bool last_single; /* the last member is its struct's only one */
	__u32 id; /* the type reached */
	__u32 bitsize, bitoff; /* a bitfield: its size and offset in bits */
	size_t acc;
	int derefs;
	char *err;
	size_t errlen;
};

static int kp_walk_too_deep(struct kp_walk *w)
{
	kp_errf(w->err, w->errlen,
		"'%s' needs more than %d dereferences, more than one kernel fetch "
		"argument holds (FETCH_INSN_MAX)",
		w->expr, KP_MAX_DEREF);
	return -E2BIG;
}

/* Why parameter @i (named @p, @len bytes) of the function cannot be
 * fetched from a register, or 0 with *@reg when it can. */
static int kp_walk_where(struct kp_walk *w, const struct btf_type *proto, int i, const char *p,
			 size_t len, int *reg)
{
	const struct btf *btf = w->btf;
	const struct btf_param *par = btf_params(proto);

	switch (kp_btf_param_where(btf, proto, i, reg)) {
	case KP_IN_REG:
		return 0;
	case KP_IN_SSE:
		kp_errf(w->err, w->errlen,
			"parameter '%.*s' of %s is floating point (an SSE "
			"register): kprobes cannot fetch it",
			(int)len, p, w->func);
		return -ENOTSUP;
	case KP_ON_STACK: {
		__u32 pid = par[i].type;
		const struct btf_type *pt = kp_btf_resolve(btf, &pid, NULL);

		if (pt && btf_is_composite(pt))
			kp_errf(w->err, w->errlen,
				"parameter '%.*s' of %s is passed by value "
				"(%zd bytes, on the stack): not supported",
				(int)len, p, w->func, (ssize_t)btf__resolve_size(btf, pid));
		else
			kp_errf(w->err, w->errlen,
				"parameter '%.*s' of %s is passed on the "
				"stack (argument %d, past the six x86-64 "
				"registers): not "
				"supported",
				(int)len, p, w->func, i + 1);
		return -ENOTSUP;
	}
	case KP_BY_VALUE:
		kp_errf(w->err, w->errlen,
			"parameter '%.*s' of %s is passed by value (%zd "
			"bytes): not supported",
			(int)len, p, w->func, (ssize_t)btf__resolve_size(btf, par[i].type));
		return -ENOTSUP;
	case KP_UNSURE:
	default:
		kp_errf(w->err, w->errlen,
			"parameter '%.*s' of %s follows a struct passed "
			"by value with floating-point members: its register is not "
			"known here",
			(int)len, p, w->func);
		return -ENOTSUP;
	}
}

/* The path's first name: $retval (return probes) or a parameter, whose
 * register becomes the base. Advances *@p past it. */
static int kp_walk_first(struct kp_walk *w, const struct btf_type *proto, bool ret, const char **p)
{
	const struct btf *btf = w->btf;
	size_t len = strcspn(*p, ".-");
	const struct btf_param *par = btf_params(proto);
	int n = btf_vlen(proto), i, reg = 0, err;
	char names[512] = "";

	if (len == 7 && !strncmp(*p, "$retval", 7)) {
		if (!ret) {
			kp_errf(w->err, w->errlen, "$retval is only for return probes");
			return -EINVAL;
		}
		w->id = proto->type;
		snprintf(w->base, sizeof(w->base), "$retval");
		snprintf(w->last, sizeof(w->last), "retval");
		*p += len;
		return 0;
	}
	for (i = 0; i < n; i++) {
		const char *pn = btf__name_by_offset(btf, par[i].name_off);

		if (pn && strlen(pn) == len && !strncmp(pn, *p, len))
			break;
	}
	if (i == n) {
		for (int j = 0; j < n; j++) {
			size_t u = strlen(names);

			snprintf(names + u, sizeof(names) - u, "%s%s", j ? ", " : "",
				 btf__name_by_offset(btf, par[j].name_off));
		}
		kp_errf(w->err, w->errlen, "%s has no parameter '%.*s' (its parameters: %s)",
			w->func, (int)len, *p, n ? names : "none");
		return -ESRCH;
	}
	if (ret) {
		kp_errf(w->err, w->errlen,
			"parameter '%.*s' of %s is not available in a "
			"return probe (its register is reused by then): use "
			"$retval, or "
			"a kprobe",
			(int)len, *p, w->func);
		return -EINVAL;
	}
	err = kp_walk_where(w, proto, i, *p, len, &reg);
	if (err)
		return err;
	w->id = par[i].type;
	kp_btf_resolve(btf, &w->id, &w->user);
	snprintf(w->base, sizeof(w->base), "%s", kp_arg_regs[reg]);
	snprintf(w->last, sizeof(w->last), "%.*s", (int)len, *p);
	*p += len;
	return 0;
}

/* Through a pointer (->) held in memory: load it first, base becoming
 * +ACC(base). */
static int kp_walk_load(struct kp_walk *w)
{
	char tmp[sizeof(w->base)];
	int n = snprintf(tmp, sizeof(tmp), "+%s%zu(", w->umem ? "u" : "", w->acc);

	if (n < 0 || strlen(w->base) + (size_t)n + 2 > sizeof(w->base))
		return kp_walk_too_deep(w);
	memcpy(tmp + n, w->base, strlen(w->base) + 1);
	strcat(tmp, ")");
	memcpy(w->base, tmp, strlen(tmp) + 1);
	if (++w->derefs > KP_MAX_DEREF)
		return kp_walk_too_deep(w);
	return 0;
}

/* One step of the member path, "->m" or ".m". Advances *@p past it. */
static int kp_walk_member(struct kp_walk *w, const char **p)
{
	const struct btf *btf = w->btf;
	bool arrow = (*p)[0] == '-' && (*p)[1] == '>';
	const struct btf_member *m;
	const struct btf_type *t;
	size_t len;
	int err;

	if (!arrow && (*p)[0] != '.') {
		kp_errf(w->err, w->errlen, "bad path '%s': expected -> or . before '%s'", w->expr,
			*p);
		return -EINVAL;
	}
	*p += arrow ? 2 : 1;
	len = strcspn(*p, ".-");
	if (!len) {
		kp_errf(w->err, w->errlen, "bad path '%s': a member name is missing", w->expr);
		return -EINVAL;
	}
	if (w->bitsize) {
		kp_errf(w->err, w->errlen, "'%s' is a bitfield: it has no members", w->last);
		return -EINVAL;
	}
	t = kp_btf_resolve(btf, &w->id, &w->user);
	if (arrow) {
		__u32 pid;

		if (!t || !btf_is_ptr(t)) {
			kp_errf(w->err, w->errlen, "'%s' is not a pointer: use '.' for its members",
				w->last);
			return -EINVAL;
		}
		if (w->addr && (err = kp_walk_load(w)))
			return err;
		w->acc = 0;
		w->addr = true;
		pid = t->type;
		/* the pointee's memory is user memory when the pointer says
		 * __user; +uOFF() then reads it */
		w->umem = false;
		t = kp_btf_resolve(btf, &pid, &w->umem);
		w->user = w->umem;
		w->id = pid;
	} else if (!w->addr) {
		kp_errf(w->err, w->errlen, "'%s' is a pointer or a value in a register: use '->'",
			w->last);
		return -EINVAL;
	}
	if (!t || !btf_is_composite(t)) {
		kp_errf(w->err, w->errlen, "'%s' is not a struct or union", w->last);
		return -EINVAL;
	}
	m = kp_btf_find_member(btf, t, *p, len, &w->bitoff, &w->bitsize);
	if (!m) {
		char members[2048] = "";

		kp_btf_list_members(btf, t, members, sizeof(members));
		kp_errf(w->err, w->errlen, "%s %s has no member '%.*s' (its members: %s)",
			btf_is_union(t) ? "union" : "struct", kp_btf_type_name(btf, t), (int)len,
			*p, members);
		return -ESRCH;
	}
	w->last_single = btf_vlen(t) == 1;
	snprintf(w->prev, sizeof(w->prev), "%s", w->last);
	snprintf(w->last, sizeof(w->last), "%.*s", (int)len, *p);
	if (w->bitsize) {
		/* keep the bit offset from the struct start for the end */
		w->bitoff += (__u32)w->acc * 8;
		w->acc = 0;
	} else {
		w->acc += w->bitoff / 8;
	}
	w->id = m->type;
	*p += len;
	return 0;
}

/* A bitfield: a container aligned to its size when the field fits one (32,
 * then 64 bits), else one starting at the field's byte. */
static int kp_fetch_bitfield(struct kp_walk *w, const char *U, char *fetch, size_t fetchlen)
{
	__u32 bitoff = w->bitoff, bitsize = w->bitsize;
	__u32 cont = (bitoff % 32) + bitsize <= 32 ? 32 : 64;
	__u32 start = bitoff / cont * (cont / 8);

	if ((bitoff % 64) + bitsize > 64) {
		start = bitoff / 8;
		for (cont = 8; cont < 64 && bitoff % 8 + bitsize > cont; cont *= 2)
			;
		if (bitoff % 8 + bitsize > cont) {
			kp_errf(w->err, w->errlen,
				"bitfield '%s' spans more than 64 bits from its "
				"first byte: kprobes cannot fetch it",
				w->last);
			return -ENOTSUP;
		}
	}
	snprintf(fetch, fetchlen, "+%s%u(%s):b%u@%u/%u", U, start, w->base, bitsize,
		 bitoff - start * 8, cont);
	return 0;
}

/* A pointer: a char pointer as a string, any other as its address. */
static int kp_fetch_ptr(struct kp_walk *w, const struct btf_type *t, const char *U, char *fetch,
			size_t fetchlen)
{
	const char *str;
	__u32 pt = t->type;
	bool puser = w->user;

	kp_btf_resolve(w->btf, &pt, &puser);
	if (kp_btf_is_char(w->btf, t->type)) {
		str = puser ? "ustring" : "string";
		/* for a string type the outer +0() is the string's address; it
		 * counts as a step of the kernel's fetch program too */
		if (w->derefs + 2 > KP_MAX_DEREF)
			return kp_walk_too_deep(w);
		if (w->addr)
			snprintf(fetch, fetchlen, "+0(+%s%zu(%s)):%s", U, w->acc, w->base, str);
		else
			snprintf(fetch, fetchlen, "+0(%s):%s", w->base, str);
		return 0;
	}
	if (w->addr)
		snprintf(fetch, fetchlen, "+%s%zu(%s):x64", U, w->acc, w->base);
	else
		snprintf(fetch, fetchlen, "%s:x64", w->base);
	return 0;
}

/* An array: chars as a string, up to 64 integers as an array. */
static int kp_fetch_array(struct kp_walk *w, const struct btf_type *t, const char *U, char *fetch,
			  size_t fetchlen)
{
	const struct btf_array *a = btf_array(t);
	__u32 eid = a->type;
	const struct btf_type *et = kp_btf_resolve(w->btf, &eid, NULL);

	if (kp_btf_is_char(w->btf, a->type)) {
		snprintf(fetch, fetchlen, "+%zu(%s):%s", w->acc, w->base,
			 w->umem ? "ustring" : "string");
		return 0;
	}
	if (et && (btf_is_int(et) || btf_is_any_enum(et)) && a->nelems <= 64) {
		bool sign = btf_is_int(et) ? (btf_int_encoding(et) & BTF_INT_SIGNED) != 0
					   : btf_kflag(et);

		snprintf(fetch, fetchlen, "+%s%zu(%s):%s[%u]", U, w->acc, w->base,
			 kp_int_type(et->size, sign), a->nelems);
		return 0;
	}
	kp_errf(w->err, w->errlen,
		"'%s' is an array the kernel cannot fetch (of %s, %u "
		"elements; integers up to 64 are)",
		w->last, et ? kp_btf_type_name(w->btf, et) : "?", a->nelems);
	return -ENOTSUP;
}

/* The fetch argument for the type the walk reached. */
static int kp_walk_fetch(struct kp_walk *w, char *fetch, size_t fetchlen)
{
	const struct btf *btf = w->btf;
	const struct btf_type *t;
	const char *U;

	if (w->addr && w->derefs + 1 > KP_MAX_DEREF)
		return kp_walk_too_deep(w);
	t = kp_btf_resolve(btf, &w->id, &w->user);
	if (!t) {
		kp_errf(w->err, w->errlen, "'%s': type not found in BTF", w->last);
		return -EINVAL;
	}
	U = w->umem ? "u" : "";
	/* a one-member wrapper (kuid_t, kgid_t, atomic_t) reads as its member */
	while (w->addr && !w->bitsize && btf_is_struct(t) && btf_vlen(t) == 1 &&
	       !btf_member_bitfield_size(t, 0)) {
		w->acc += btf_member_bit_offset(t, 0) / 8;
		w->id = btf_members(t)->type;
		t = kp_btf_resolve(btf, &w->id, &w->user);
		if (!t)
			return -EINVAL;
	}
	if (w->bitsize)
		return kp_fetch_bitfield(w, U, fetch, fetchlen);
	if (btf_is_int(t) || btf_is_any_enum(t)) {
		bool sign = btf_is_int(t) ? (btf_int_encoding(t) & BTF_INT_SIGNED) != 0
					  : btf_kflag(t); /* signed enum (ENUM and ENUM64) */
		const char *ty = kp_int_type(t->size, sign);

		if (w->addr)
			snprintf(fetch, fetchlen, "+%s%zu(%s):%s", U, w->acc, w->base, ty);
		else
			snprintf(fetch, fetchlen, "%s:%s", w->base, ty);
		return 0;
	}
	if (btf_is_ptr(t))
		return kp_fetch_ptr(w, t, U, fetch, fetchlen);
	if (btf_is_array(t))
		return kp_fetch_array(w, t, U, fetch, fetchlen);
	if (btf_is_composite(t)) {
		char members[2048] = "";

		kp_btf_list_members(btf, t, members, sizeof(members));
		kp_errf(w->err, w->errlen, "'%s' is a %s %s: name one of its members (%s)", w->last,
			btf_is_union(t) ? "union" : "struct", kp_btf_type_name(btf, t), members);
		return -EINVAL;
	}
	kp_errf(w->err, w->errlen, "'%s' has a type kprobes cannot fetch (%s)", w->last,
		btf_is_float(t)	 ? "floating point"
		: btf_is_void(t) ? "void"
				 : "BTF kind");
	return -ENOTSUP;
}

int kp_btf_fetch(const struct kp_btf *b, const char *func, bool ret, const char *expr, char *name,
		 size_t namelen, char *fetch, size_t fetchlen, char *err, size_t errlen)
{
	struct kp_walk w = {
		.btf = kp_btf_libbpf(b), .func = func, .expr = expr, .err = err, .errlen = errlen
	};
	const struct btf_type *fn, *proto;
	const char *p = expr;
	__s32 fid;
	int rc;

	err[0] = '\0';
	fid = btf__find_by_name_kind(w.btf, func, BTF_KIND_FUNC);
	if (fid < 0) {
		kp_errf(err, errlen, "no function %s in the kernel's BTF", func);
		return -ENOENT;
	}
	fn = btf__type_by_id(w.btf, (__u32)fid);
	proto = btf__type_by_id(w.btf, fn->type);
	if (!proto || !btf_is_func_proto(proto)) {
		kp_errf(err, errlen, "%s has no prototype in BTF", func);
		return -EINVAL;
	}
	rc = kp_walk_first(&w, proto, ret, &p);
	while (!rc && *p)
		rc = kp_walk_member(&w, &p);
	if (rc)
		return rc;
	/* the name: the last member, or its holder for a one-member wrapper
	 * (kuid_t's val, atomic_t's counter) */
	snprintf(name, namelen, "%s", w.last_single && w.prev[0] ? w.prev : w.last);
	return kp_walk_fetch(&w, fetch, fetchlen);
}
