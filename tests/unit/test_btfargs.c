// SPDX-License-Identifier: MIT
/*
 * kp_btf_fetch(): BTF arguments of kernel functions compiled into kprobe
 * fetch arguments.
 *
 * Part 1 runs against this machine's /sys/kernel/btf/vmlinux. Every offset,
 * size, sign, array length and member list it expects is read from
 * `bpftool btf dump file /sys/kernel/btf/vmlinux format raw` (a different
 * reader of the same BTF), parsed here; nothing kernel-specific is
 * hard-coded.
 *
 * Part 2 runs against tests/fixtures/btf/kpbtf.btf (built from kpbtf.c
 * beside it, see its README.md): 7 parameters, structs passed by value,
 * __user type tags, signed enums and ENUM64, bitfields across 32 and 64 bit
 * boundaries, long pointer chains, unions, anonymous members, floats,
 * arrays too long to fetch. There the expectations are exact strings that
 * follow from the x86-64 layout written next to each member in kpbtf.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kp_btf.h"
#include "t.h"

/* ------------------------------------------------------------------ */
/* one kp_btf_fetch() call and its outputs                              */

struct fres {
	int rc;
	char name[128];
	char fetch[1024];
	char err[4096];
};

static struct fres res;

static const struct fres *run(const struct kp_btf *b, const char *func, bool ret, const char *expr)
{
	memset(&res, 0, sizeof(res));
	strcpy(res.name, "(unset)");
	strcpy(res.fetch, "(unset)");
	res.rc = kp_btf_fetch(b, func, ret, expr, res.name, sizeof(res.name), res.fetch,
			      sizeof(res.fetch), res.err, sizeof(res.err));
	return &res;
}

/* @expr of @func compiles to exactly @fetch, named @name (NULL: unchecked) */
static void want_fetch(const struct kp_btf *b, const char *func, bool ret, const char *expr,
		       const char *name, const char *fetch)
{
	const struct fres *r = run(b, func, ret, expr);
	bool pass = r->rc == 0 && !strcmp(r->fetch, fetch) && (!name || !strcmp(r->name, name));

	if (pass)
		T_OK(pass, "btfargs: %s %s%s -> %s=%s", func, ret ? "[ret] " : "", expr,
		     name ? name : "*", fetch);
	else
		T_OK(pass, "btfargs: %s %s%s -> %s=%s (got %d, %s=%s%s%s)", func,
		     ret ? "[ret] " : "", expr, name ? name : "*", fetch, r->rc, r->name, r->fetch,
		     r->rc ? ": " : "", r->err);
}

/* @expr of @func fails with -@errnum and a message containing @msg (NULL:
 * any non-empty message) */
static void want_err(const struct kp_btf *b, const char *func, bool ret, const char *expr,
		     int errnum, const char *msg)
{
	const struct fres *r = run(b, func, ret, expr);
	bool pass = r->rc == -errnum && r->err[0] && (!msg || strstr(r->err, msg));

	if (pass)
		T_OK(pass, "btfargs: %s %s'%s' -> -%d: %s", func, ret ? "[ret] " : "", expr, errnum,
		     r->err);
	else
		T_OK(pass,
		     "btfargs: %s %s'%s' -> -%d, a message with \"%s\" (got %d, fetch %s, "
		     "message \"%s\")",
		     func, ret ? "[ret] " : "", expr, errnum, msg ? msg : "", r->rc,
		     r->rc ? "-" : r->fetch, r->err);
}

/* "n" followed by @arrows times "->next", then "->@last" if @last */
static void chain_expr(char *buf, size_t len, int arrows, const char *last)
{
	size_t used;

	snprintf(buf, len, "n");
	for (int i = 0; i < arrows - (last ? 1 : 0); i++) {
		used = strlen(buf);
		snprintf(buf + used, len - used, "->next");
	}
	if (last) {
		used = strlen(buf);
		snprintf(buf + used, len - used, "->%s", last);
	}
}

/* @layers nested "+@off(" around @reg: the address chain of a fetch */
static void nest(char *buf, size_t len, const char *reg, long off, int layers)
{
	char tmp[2048];

	snprintf(buf, len, "%s", reg);
	for (int i = 0; i < layers; i++) {
		snprintf(tmp, sizeof(tmp), "+%ld(%s)", off, buf);
		snprintf(buf, len, "%s", tmp);
	}
}

/* ------------------------------------------------------------------ */
/* bpftool's raw dump, parsed                                           */

/*
 * Lines look like
 *   [530] STRUCT 'cred' size=184 vlen=26
 *   	'uid' type_id=475 bits_offset=64
 *   [114] ... 'sched_reset_on_fork' type_id=9 bits_offset=9504 bitfield_size=1
 *   [384] ENUM 'pid_type' encoding=UNSIGNED size=4 vlen=5
 *   [21] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
 *   [40] ARRAY '(anon)' type_id=1 index_type_id=21 nr_elems=16
 *   [76235] FUNC_PROTO '(anon)' ret_type_id=21 vlen=3
 *   	'dfd' type_id=21
 */
struct bt {
	char *text;
	char **line;
	size_t nline;
	long *head; /* type id -> index of its line in @line, -1 */
	long nid;
};

static void bt_free(struct bt *t)
{
	free(t->text);
	free(t->line);
	free(t->head);
	memset(t, 0, sizeof(*t));
}

static int bt_load(struct bt *t, const char *file)
{
	char cmd[PATH_MAX + 64];
	size_t len = 0, cap = 1 << 20, lcap = 1 << 16;
	FILE *f;

	memset(t, 0, sizeof(*t));
	snprintf(cmd, sizeof(cmd), "bpftool btf dump file '%s' format raw 2>/dev/null", file);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	t->text = malloc(cap);
	while (t->text) {
		size_t n = fread(t->text + len, 1, cap - len - 1, f);

		len += n;
		if (!n)
			break;
		if (cap - len < 2) {
			char *bigger = realloc(t->text, cap * 2);

			if (!bigger) {
				free(t->text);
				t->text = NULL;
				break;
			}
			t->text = bigger;
			cap *= 2;
		}
	}
	if (pclose(f) != 0 || !t->text || !len) {
		bt_free(t);
		return -1;
	}
	t->text[len] = '\0';
	t->line = malloc(lcap * sizeof(*t->line));
	for (char *p = t->text; t->line && *p;) {
		char *nl = strchr(p, '\n');

		if (t->nline == lcap) {
			char **more = realloc(t->line, lcap * 2 * sizeof(*t->line));

			if (!more)
				break;
			t->line = more;
			lcap *= 2;
		}
		t->line[t->nline++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	for (size_t i = 0; i < t->nline; i++)
		if (t->line[i][0] == '[')
			t->nid = strtol(t->line[i] + 1, NULL, 10) + 1;
	t->head = malloc((size_t)t->nid * sizeof(*t->head));
	if (!t->line || !t->head || !t->nid) {
		bt_free(t);
		return -1;
	}
	for (long i = 0; i < t->nid; i++)
		t->head[i] = -1;
	for (size_t i = 0; i < t->nline; i++)
		if (t->line[i][0] == '[')
			t->head[strtol(t->line[i] + 1, NULL, 10)] = (long)i;
	return 0;
}

static const char *bt_line(const struct bt *t, long id)
{
	return id > 0 && id < t->nid && t->head[id] >= 0 ? t->line[t->head[id]] : "";
}

/* "[id] KIND 'name'": is @id of @kind? */
static bool bt_is(const struct bt *t, long id, const char *kind)
{
	const char *k = strchr(bt_line(t, id), ' ');
	size_t n = strlen(kind);

	return k && !strncmp(k + 1, kind, n) && k[1 + n] == ' ';
}

/* the value of " KEY=" in @line, or -1 */
static long bt_num(const char *line, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), " %s=", key);
	p = strstr(line, k);
	return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

/* the 'name' of a type line or a member line into @buf */
static const char *bt_quoted(const char *line, char *buf, size_t len)
{
	const char *a = strchr(line, '\''), *z = a ? strchr(a + 1, '\'') : NULL;

	snprintf(buf, len, "%.*s", a && z ? (int)(z - a - 1) : 0, a ? a + 1 : "");
	return buf;
}

static long bt_find(const struct bt *t, const char *kind, const char *name)
{
	char n[256];

	for (long id = 1; id < t->nid; id++)
		if (bt_is(t, id, kind) && !strcmp(bt_quoted(bt_line(t, id), n, sizeof(n)), name))
			return id;
	return -1;
}

/* skip typedefs, qualifiers and type tags; *@user: a 'user' tag was passed */
static long bt_resolve(const struct bt *t, long id, bool *user)
{
	char n[64];

	while (bt_is(t, id, "TYPEDEF") || bt_is(t, id, "CONST") || bt_is(t, id, "VOLATILE") ||
	       bt_is(t, id, "RESTRICT") || bt_is(t, id, "TYPE_TAG")) {
		if (user && bt_is(t, id, "TYPE_TAG") &&
		    !strcmp(bt_quoted(bt_line(t, id), n, sizeof(n)), "user"))
			*user = true;
		id = bt_num(bt_line(t, id), "type_id");
	}
	return id;
}

/* the i-th member (or parameter) line of @id, NULL past the last */
static const char *bt_sub(const struct bt *t, long id, long i)
{
	long at;

	if (id <= 0 || id >= t->nid || t->head[id] < 0)
		return NULL;
	at = t->head[id] + 1 + i;
	return (size_t)at < t->nline && t->line[at][0] == '\t' ? t->line[at] : NULL;
}

/* member @name of struct/union @sid, anonymous members looked into: its
 * bit offset from @sid's start, type id and bitfield size (0: none) */
static bool bt_member(const struct bt *t, long sid, const char *name, long *bitoff, long *type,
		      long *bits)
{
	const char *m;
	char n[256];

	for (long i = 0; (m = bt_sub(t, sid, i)); i++) {
		long off = bt_num(m, "bits_offset"), ty = bt_num(m, "type_id");

		bt_quoted(m, n, sizeof(n));
		if (!strcmp(n, name)) {
			*bitoff = off;
			*type = ty;
			*bits = bt_num(m, "bitfield_size") > 0 ? bt_num(m, "bitfield_size") : 0;
			return true;
		}
		if (!strcmp(n, "(anon)")) {
			long sub = bt_resolve(t, ty, NULL);

			if ((bt_is(t, sub, "STRUCT") || bt_is(t, sub, "UNION")) &&
			    bt_member(t, sub, name, bitoff, type, bits)) {
				*bitoff += off;
				return true;
			}
		}
	}
	return false;
}

/* byte offset of @name in @sid and its type; false if absent or a bitfield */
static bool bt_field(const struct bt *t, long sid, const char *name, long *off, long *type)
{
	long bitoff, bits;

	if (!bt_member(t, sid, name, &bitoff, type, &bits) || bits || bitoff % 8)
		return false;
	*off = bitoff / 8;
	return true;
}

/* ", "-separated member names of @sid, anonymous members flattened */
static void bt_members(const struct bt *t, long sid, char *buf, size_t len)
{
	const char *m;
	char n[256];

	for (long i = 0; (m = bt_sub(t, sid, i)); i++) {
		size_t used = strlen(buf);

		bt_quoted(m, n, sizeof(n));
		if (strcmp(n, "(anon)")) {
			snprintf(buf + used, len - used, "%s%s", used ? ", " : "", n);
		} else {
			long sub = bt_resolve(t, bt_num(m, "type_id"), NULL);

			if (bt_is(t, sub, "STRUCT") || bt_is(t, sub, "UNION"))
				bt_members(t, sub, buf, len);
		}
	}
}

/* the struct that pointer type @id points to, or -1 */
static long bt_pointee_struct(const struct bt *t, long id)
{
	id = bt_resolve(t, id, NULL);
	if (!bt_is(t, id, "PTR"))
		return -1;
	id = bt_resolve(t, bt_num(bt_line(t, id), "type_id"), NULL);
	return bt_is(t, id, "STRUCT") || bt_is(t, id, "UNION") ? id : -1;
}

/* kprobe type of integer or enum type @id ("s32"), or NULL */
static const char *bt_scalar(const struct bt *t, long id)
{
	static const char *const names[2][4] = { { "u8", "u16", "u32", "u64" },
						 { "s8", "s16", "s32", "s64" } };
	const char *l;
	int sign, i;

	id = bt_resolve(t, id, NULL);
	if (!bt_is(t, id, "INT") && !bt_is(t, id, "ENUM") && !bt_is(t, id, "ENUM64"))
		return NULL;
	l = bt_line(t, id);
	sign = strstr(l, "encoding=SIGNED") != NULL;
	switch (bt_num(l, "size")) {
	case 1:
		i = 0;
		break;
	case 2:
		i = 1;
		break;
	case 4:
		i = 2;
		break;
	case 8:
		i = 3;
		break;
	default:
		return NULL;
	}
	return names[sign][i];
}

/* a one-member struct (kuid_t, atomic_long_t) is read as its member: the
 * scalar under @id, adding the members' offsets to *@off */
static const char *bt_leaf(const struct bt *t, long id, long *off)
{
	for (int depth = 0; depth < 8; depth++) {
		long sid = bt_resolve(t, id, NULL);
		const char *m = bt_sub(t, sid, 0);

		if (!bt_is(t, sid, "STRUCT") || !m || bt_sub(t, sid, 1) ||
		    bt_num(m, "bitfield_size") > 0)
			return bt_scalar(t, id);
		*off += bt_num(m, "bits_offset") / 8;
		id = bt_num(m, "type_id");
	}
	return NULL;
}

/* member @name of @sid read as a scalar (through one-member structs): its
 * kprobe type, and its byte offset in *@off; NULL if it is none */
static const char *bt_leaf_of(const struct bt *t, long sid, const char *name, long *off)
{
	long ty;

	*off = 0;
	return bt_field(t, sid, name, off, &ty) ? bt_leaf(t, ty, off) : NULL;
}

/* parameter @name of function @func: its index and type id; also the
 * ", "-separated parameter names into @names; false if absent */
static bool bt_param(const struct bt *t, const char *func, const char *name, int *idx, long *type,
		     char *names, size_t len)
{
	long fid = bt_find(t, "FUNC", func), proto;
	const char *m;
	char n[256];
	bool found = false;

	if (fid < 0)
		return false;
	proto = bt_num(bt_line(t, fid), "type_id");
	if (names)
		names[0] = '\0';
	for (long i = 0; (m = bt_sub(t, proto, i)); i++) {
		bt_quoted(m, n, sizeof(n));
		if (names) {
			size_t used = strlen(names);

			snprintf(names + used, len - used, "%s%s", i ? ", " : "", n);
		}
		if (!found && !strcmp(n, name)) {
			*idx = (int)i;
			*type = bt_num(m, "type_id");
			found = true;
		}
	}
	return found;
}

static const char *const regs[] = { "%di", "%si", "%dx", "%cx", "%r8", "%r9" };

/*
 * The x86-64 integer register that parameter @idx of @func arrives in
 * (0..5), or 6 for the stack, from its BTF prototype: integers, enums and
 * pointers take one register (128-bit integers two), structs and unions of
 * up to 8 bytes one, up to 16 bytes two if both are free, larger ones go on
 * the stack, floats to SSE registers. (Aggregates holding floats, classified
 * SSE by the ABI, are not told apart: the callers below have none.)
 */
static int bt_int_reg(const struct bt *t, const char *func, int idx)
{
	long fid = bt_find(t, "FUNC", func), proto = bt_num(bt_line(t, fid), "type_id");
	const char *m;
	int used = 0;

	for (long i = 0; (m = bt_sub(t, proto, i)); i++) {
		long ty = bt_resolve(t, bt_num(m, "type_id"), NULL);
		long size = bt_is(t, ty, "PTR") ? 8 : bt_num(bt_line(t, ty), "size");
		int need = bt_is(t, ty, "FLOAT") ? 0 : size > 16 ? 0 : size > 8 ? 2 : 1;

		if (used + need > 6)
			need = 0; /* does not fit: the stack */
		if (i == idx)
			return need ? used : 6;
		used += need;
	}
	return 6;
}

/* ------------------------------------------------------------------ */
/* part 1: this machine's kernel                                        */

static void kernel_commit_creds(const struct kp_btf *b, const struct bt *t)
{
	long cred, off, ty, uoff, uty, us, o2, ty2;
	char want[256], list[8192] = "", names[512];
	const char *ts;
	int idx;

	if (!bt_param(t, "commit_creds", "new", &idx, &ty, names, sizeof(names)) ||
	    (cred = bt_pointee_struct(t, ty)) < 0 || idx > 5) {
		printf("skip - btfargs: no commit_creds(struct cred *new) in this kernel's BTF\n");
		return;
	}
	/* new->uid.val: kuid_t's one member; named after the wrapper */
	ts = bt_leaf_of(t, cred, "uid", &off);
	T_OK(ts && !strcmp(ts, "u32"), "btfargs: bpftool: cred.uid wraps a u32 (%s)",
	     ts ? ts : "none");
	if (ts) {
		snprintf(want, sizeof(want), "+%ld(%s):%s", off, regs[idx], ts);
		want_fetch(b, "commit_creds", false, "new->uid.val", "uid", want);
		want_fetch(b, "commit_creds", false, "new->uid", "uid", want);
	}
	/* new->euid: the wrapper read as its member */
	ts = bt_leaf_of(t, cred, "euid", &off);
	T_OK(ts != NULL, "btfargs: bpftool: cred.euid is a one-member struct of an integer");
	if (ts) {
		snprintf(want, sizeof(want), "+%ld(%s):%s", off, regs[idx], ts);
		want_fetch(b, "commit_creds", false, "new->euid", "euid", want);
	}
	/* new->usage: atomic_long_t (a struct of one s64) or whatever it is here */
	ts = bt_leaf_of(t, cred, "usage", &off);
	T_OK(ts != NULL, "btfargs: bpftool: cred.usage is an integer or wraps one");
	if (ts) {
		snprintf(want, sizeof(want), "+%ld(%s):%s", off, regs[idx], ts);
		want_fetch(b, "commit_creds", false, "new->usage", "usage", want);
	}
	/* new->user->uid: a pointer in memory, then a member of its target */
	if (bt_field(t, cred, "user", &uoff, &uty) && (us = bt_pointee_struct(t, uty)) >= 0 &&
	    (ts = bt_leaf_of(t, us, "uid", &o2))) {
		snprintf(want, sizeof(want), "+%ld(+%ld(%s)):%s", o2, uoff, regs[idx], ts);
		want_fetch(b, "commit_creds", false, "new->user->uid", "uid", want);
		want_err(b, "commit_creds", false, "new->user.uid", EINVAL, "user");
		/* a struct as the final type: name one of its members */
		if (bt_field(t, us, "uidhash_node", &o2, &ty2)) {
			char hl[512] = "", msg[600];
			long hs = bt_resolve(t, ty2, NULL);

			bt_members(t, hs, hl, sizeof(hl));
			snprintf(msg, sizeof(msg), "(%s)", hl);
			want_err(b, "commit_creds", false, "new->user->uidhash_node", EINVAL, msg);
		}
	} else {
		printf("skip - btfargs: cred.user is no struct pointer with a uid here\n");
	}

	/* an unknown member: the message lists the struct's members */
	bt_members(t, cred, list, sizeof(list));
	{
		char msg[sizeof(list) + 32];

		snprintf(msg, sizeof(msg), "(its members: %s)", list);
		want_err(b, "commit_creds", false, "new->no_such_member", ESRCH, msg);
		want_err(b, "commit_creds", false, "new->no_such_member", ESRCH, "euid");
		want_err(b, "commit_creds", false, "new->no_such_member", ESRCH, "struct cred");
		/* an unknown parameter: the message lists the real ones */
		snprintf(msg, sizeof(msg), "(its parameters: %s)", names);
		want_err(b, "commit_creds", false, "cred", ESRCH, msg);
	}
	/* '.' on a pointer, '->' on a non-pointer */
	want_err(b, "commit_creds", false, "new.uid", EINVAL, "->");
	want_err(b, "commit_creds", false, "new->uid->val", EINVAL, "'uid' is not a pointer");
	want_err(b, "commit_creds", false, "new->euid.val.x", EINVAL, NULL);
	/* syntax */
	want_err(b, "commit_creds", false, "new->", EINVAL, "missing");
	want_err(b, "commit_creds", false, "new-uid", EINVAL, NULL);
	/* entry versus return probes */
	want_err(b, "commit_creds", false, "$retval", EINVAL, "return probe");
	want_err(b, "commit_creds", true, "new", EINVAL, "$retval");
	want_err(b, "commit_creds", true, "new->uid", EINVAL, "$retval");
	{
		long fid = bt_find(t, "FUNC", "commit_creds");
		long ret = bt_num(bt_line(t, bt_num(bt_line(t, fid), "type_id")), "ret_type_id");

		ts = bt_scalar(t, ret);
		if (ts) {
			snprintf(want, sizeof(want), "$retval:%s", ts);
			want_fetch(b, "commit_creds", true, "$retval", "retval", want);
		}
	}
}

static void kernel_openat2(const struct kp_btf *b, const struct bt *t)
{
	long ty, how, off, fty, fid, ret;
	char want[256], names[512] = "", msg[600];
	const char *ts;
	int idx;

	fid = bt_find(t, "FUNC", "do_sys_openat2");
	if (fid < 0) {
		printf("skip - btfargs: no do_sys_openat2 in this kernel's BTF\n");
		return;
	}
	/* dfd: an int in a register */
	if (bt_param(t, "do_sys_openat2", "dfd", &idx, &ty, names, sizeof(names)) &&
	    (ts = bt_scalar(t, ty))) {
		snprintf(want, sizeof(want), "%s:%s", regs[idx], ts);
		want_fetch(b, "do_sys_openat2", false, "dfd", "dfd", want);
	}
	/* filename: a char pointer is a string (ustring with a "user" tag) */
	if (bt_param(t, "do_sys_openat2", "filename", &idx, &ty, NULL, 0)) {
		bool user = false;
		long p = bt_resolve(t, ty, &user);
		long c = bt_resolve(t, bt_num(bt_line(t, p), "type_id"), &user);

		T_OK(bt_is(t, p, "PTR") && bt_is(t, c, "INT") && bt_num(bt_line(t, c), "size") == 1,
		     "btfargs: bpftool: do_sys_openat2's filename is a char pointer");
		snprintf(want, sizeof(want), "+0(%s):%s", regs[idx], user ? "ustring" : "string");
		want_fetch(b, "do_sys_openat2", false, "filename", "filename", want);
		want_err(b, "do_sys_openat2", true, "filename", EINVAL, "$retval");
	}
	/* how: a struct pointer is x64; how->flags a member of it */
	if (bt_param(t, "do_sys_openat2", "how", &idx, &ty, NULL, 0) &&
	    (how = bt_pointee_struct(t, ty)) >= 0) {
		snprintf(want, sizeof(want), "%s:x64", regs[idx]);
		want_fetch(b, "do_sys_openat2", false, "how", "how", want);
		if (bt_field(t, how, "flags", &off, &fty) && (ts = bt_scalar(t, fty))) {
			snprintf(want, sizeof(want), "+%ld(%s):%s", off, regs[idx], ts);
			want_fetch(b, "do_sys_openat2", false, "how->flags", "flags", want);
		}
		want_err(b, "do_sys_openat2", false, "how.flags", EINVAL, "->");
		want_err(b, "do_sys_openat2", false, "dfd->x", EINVAL, "not a pointer");
	}
	snprintf(msg, sizeof(msg), "(its parameters: %s)", names);
	want_err(b, "do_sys_openat2", false, "flags", ESRCH, msg);
	/* $retval typed from the return type */
	ret = bt_num(bt_line(t, bt_num(bt_line(t, fid), "type_id")), "ret_type_id");
	if ((ts = bt_scalar(t, ret))) {
		snprintf(want, sizeof(want), "$retval:%s", ts);
		want_fetch(b, "do_sys_openat2", true, "$retval", "retval", want);
	}
	want_err(b, "do_sys_openat2", false, "$retval", EINVAL, NULL);
}

static void kernel_task(const struct kp_btf *b, const struct bt *t)
{
	long ty, task, bitoff, bits, off, aty, rp, pid, pty;
	char want[2300], base[2048], expr[512];
	const char *ts;
	int idx;

	if (!bt_param(t, "wake_up_new_task", "p", &idx, &ty, NULL, 0) ||
	    (task = bt_pointee_struct(t, ty)) < 0) {
		printf("skip - btfargs: no wake_up_new_task(struct task_struct *p) here\n");
		return;
	}
	/* a bitfield: its container is 32 bits if it fits the aligned 32-bit
	 * word it starts in, else 64 bits; aligned to its own size */
	if (bt_member(t, task, "sched_reset_on_fork", &bitoff, &ty, &bits) && bits) {
		long cont = bitoff % 32 + bits <= 32 ? 32 : 64;
		long start = bitoff / cont * (cont / 8);

		snprintf(want, sizeof(want), "+%ld(%s):b%ld@%ld/%ld", start, regs[idx], bits,
			 bitoff - start * 8, cont);
		want_fetch(b, "wake_up_new_task", false, "p->sched_reset_on_fork",
			   "sched_reset_on_fork", want);
		want_err(b, "wake_up_new_task", false, "p->sched_reset_on_fork.x", EINVAL,
			 "bitfield");
	} else {
		printf("skip - btfargs: task_struct.sched_reset_on_fork is no bitfield here\n");
	}
	/* comm: a char array is a string */
	if (bt_field(t, task, "comm", &off, &ty)) {
		long a = bt_resolve(t, ty, NULL);
		long e = bt_resolve(t, bt_num(bt_line(t, a), "type_id"), NULL);

		T_OK(bt_is(t, a, "ARRAY") && bt_is(t, e, "INT") &&
			 bt_num(bt_line(t, e), "size") == 1,
		     "btfargs: bpftool: task_struct.comm is a char array");
		snprintf(want, sizeof(want), "+%ld(%s):string", off, regs[idx]);
		want_fetch(b, "wake_up_new_task", false, "p->comm", "comm", want);
	}
	/* cpus_mask.bits: an unsigned long array of NR_CPUS/64 */
	if (bt_field(t, task, "cpus_mask", &off, &ty)) {
		long cm = bt_resolve(t, ty, NULL), boff, n;

		if (bt_field(t, cm, "bits", &boff, &aty) &&
		    bt_is(t, (aty = bt_resolve(t, aty, NULL)), "ARRAY") &&
		    (ts = bt_scalar(t, bt_num(bt_line(t, aty), "type_id")))) {
			n = bt_num(bt_line(t, aty), "nr_elems");
			if (n <= 64) {
				snprintf(want, sizeof(want), "+%ld(%s):%s[%ld]", off + boff,
					 regs[idx], ts, n);
				want_fetch(b, "wake_up_new_task", false, "p->cpus_mask.bits",
					   "cpus_mask", want);
				/* struct cpumask has one member: read as it */
				want_fetch(b, "wake_up_new_task", false, "p->cpus_mask",
					   "cpus_mask", want);
			} else {
				want_err(b, "wake_up_new_task", false, "p->cpus_mask.bits", ENOTSUP,
					 NULL);
			}
		}
	}
	/* a struct as the final type */
	if (bt_field(t, task, "se", &off, &ty)) {
		char list[8192] = "", msg[8300];

		bt_members(t, bt_resolve(t, ty, NULL), list, sizeof(list));
		snprintf(msg, sizeof(msg), "(%.*s", 40, list);
		want_err(b, "wake_up_new_task", false, "p->se", EINVAL, msg);
	}
	/* a void function has no $retval to fetch */
	{
		const struct fres *r = run(b, "wake_up_new_task", true, "$retval");

		T_OK(r->rc < 0 && strstr(r->err, "void"),
		     "btfargs: wake_up_new_task [ret] $retval of a void function is refused (got "
		     "%d %s: %s)",
		     r->rc, r->rc ? "-" : r->fetch, r->err);
	}
	/* p->real_parent-> ... ->pid: 12 dereferences fit, 13 do not */
	if (bt_field(t, task, "real_parent", &rp, &ty) && bt_pointee_struct(t, ty) == task &&
	    bt_field(t, task, "pid", &pid, &pty) && (ts = bt_scalar(t, pty))) {
		for (int arrows = 12; arrows <= 13; arrows++) {
			snprintf(expr, sizeof(expr), "p");
			for (int i = 0; i < arrows - 1; i++)
				strcat(expr, "->real_parent");
			strcat(expr, "->pid");
			if (arrows <= 12) {
				nest(base, sizeof(base), regs[idx], rp, arrows - 1);
				snprintf(want, sizeof(want), "+%ld(%s):%s", pid, base, ts);
				want_fetch(b, "wake_up_new_task", false, expr, "pid", want);
			} else {
				want_err(b, "wake_up_new_task", false, expr, E2BIG, "12");
			}
		}
	}
}

static void kernel_misc(const struct kp_btf *b, const struct bt *t)
{
	long ty, st, off, sty;
	char want[256];
	const char *ts;
	int idx;

	/* an enum parameter (enum pid_type) */
	if (bt_param(t, "do_send_sig_info", "type", &idx, &ty, NULL, 0) && idx < 6 &&
	    bt_is(t, bt_resolve(t, ty, NULL), "ENUM") && (ts = bt_scalar(t, ty))) {
		snprintf(want, sizeof(want), "%s:%s", regs[idx], ts);
		want_fetch(b, "do_send_sig_info", false, "type", "type", want);
	} else {
		printf("skip - btfargs: no do_send_sig_info(..., enum pid_type type) here\n");
	}
	/* a signed enum member (enum perf_event_state has negative values) */
	if (bt_param(t, "perf_event_enable", "event", &idx, &ty, NULL, 0) &&
	    (st = bt_pointee_struct(t, ty)) >= 0 && bt_field(t, st, "state", &off, &sty) &&
	    bt_is(t, bt_resolve(t, sty, NULL), "ENUM") && (ts = bt_scalar(t, sty))) {
		T_OK(ts[0] == 's', "btfargs: bpftool: enum perf_event_state is signed (%s)", ts);
		snprintf(want, sizeof(want), "+%ld(%s):%s", off, regs[idx], ts);
		want_fetch(b, "perf_event_enable", false, "event->state", "state", want);
	} else {
		printf("skip - btfargs: no perf_event_enable(struct perf_event *) with an enum "
		       "state here\n");
	}
	/* a struct passed by value (kuid_t) */
	if (bt_param(t, "from_kuid", "kuid", &idx, &ty, NULL, 0) &&
	    bt_is(t, bt_resolve(t, ty, NULL), "STRUCT")) {
		want_err(b, "from_kuid", false, "kuid", ENOTSUP, "by value");
		want_err(b, "from_kuid", false, "kuid.val", ENOTSUP, "by value");
	} else {
		printf("skip - btfargs: no from_kuid(..., kuid_t kuid) here\n");
	}
	/* sockptr_t (16 bytes) by value takes two registers: optlen is not in
	 * the register of its index (in %r9 resp. on the stack) */
	for (int i = 0; i < 2; i++) {
		const char *func = i ? "do_sock_setsockopt" : "udp_setsockopt";
		int reg;

		if (!bt_param(t, func, "optlen", &idx, &ty, NULL, 0) || !(ts = bt_scalar(t, ty))) {
			printf("skip - btfargs: no %s(..., optlen) here\n", func);
			continue;
		}
		reg = bt_int_reg(t, func, idx);
		if (reg == idx)
			continue; /* nothing before it passed by value here */
		if (reg < 6)
			snprintf(want, sizeof(want), "%s:%s or -ENOTSUP", regs[reg], ts);
		else
			snprintf(want, sizeof(want), "-ENOTSUP (it is on the stack)");
		{
			const struct fres *r = run(b, func, false, "optlen");
			char right[300];

			snprintf(right, sizeof(right), "%s:%s", reg < 6 ? regs[reg] : "", ts);
			T_OK((reg < 6 && r->rc == 0 && !strcmp(r->fetch, right)) ||
				 r->rc == -ENOTSUP,
			     "btfargs: %s optlen -> %s: sockptr_t optval before it takes two "
			     "registers (got %d %s%s)",
			     func, want, r->rc, r->rc ? "" : r->fetch, r->rc ? r->err : "");
		}
	}
	/* an unknown function */
	want_err(b, "kp_no_such_function", false, "x", ENOENT, "kp_no_such_function");
	want_err(b, "kp_no_such_function", true, "$retval", ENOENT, NULL);
}

/* ------------------------------------------------------------------ */
/* part 2: the fixture                                                  */

static void fixture_params(const struct kp_btf *b)
{
	/* x86-64: the first six integer arguments in registers */
	want_fetch(b, "kp_seven", false, "a", "a", "%di:s64");
	want_fetch(b, "kp_seven", false, "b", "b", "%si:s32");
	want_fetch(b, "kp_seven", false, "e", "e", "%r8:s64");
	want_fetch(b, "kp_seven", false, "f", "f", "%r9:u8");
	want_err(b, "kp_seven", false, "g", ENOTSUP, "argument 7");
	want_err(b, "kp_seven", false, "h", ESRCH, "(its parameters: a, b, c, d, e, f, g)");
	want_err(b, "kp_seven", true, "a", EINVAL, "$retval");
	want_fetch(b, "kp_seven", true, "$retval", "retval", "$retval:s64");

	/* enums by size and sign, in registers */
	want_fetch(b, "kp_enums", false, "s", "s", "%di:s32");
	want_fetch(b, "kp_enums", false, "u", "u", "%si:u32");
	want_fetch(b, "kp_enums", false, "s64", "s64", "%dx:s64");
	want_fetch(b, "kp_enums", false, "b", "b", "%cx:s8");

	/* structs, 128-bit integers and floats by value are refused */
	want_err(b, "kp_byval", false, "v", ENOTSUP, "by value");
	want_err(b, "kp_byval", false, "v.a", ENOTSUP, "by value");
	want_err(b, "kp_bigval", false, "v", ENOTSUP, "by value");
	want_err(b, "kp_smallval", false, "u", ENOTSUP, "by value");
	want_err(b, "kp_wide", false, "w", ENOTSUP, "16 bytes");
	want_err(b, "kp_fp", false, "d", ENOTSUP, "floating point");
	/* kp_uid_t (4 bytes) takes one register: x is the second */
	want_fetch(b, "kp_smallval", false, "x", "x", "%si:s32");
}

/*
 * The parameter after an aggregate or a float is not in register
 * number-of-the-parameter: x86-64 passes a 16-byte struct or __int128 in two
 * registers, a struct over 16 bytes on the stack, a double in %xmm0. The
 * right register, or a refusal, will do; the register of the parameter's
 * index reads another value.
 */
static void fixture_abi(const struct kp_btf *b)
{
	static const struct {
		const char *func, *param, *right, *why;
	} c[] = {
		{ "kp_byval", "x", "%dx:s32", "struct kp_pair v (16 bytes) is in %di and %si" },
		{ "kp_wide", "y", "%dx:s32", "unsigned __int128 w is in %di and %si" },
		{ "kp_bigval", "x", "%di:s32", "struct kp_triple v (24 bytes) is on the stack" },
		{ "kp_fp", "n", "%di:s64", "double d is in %xmm0" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const struct fres *r = run(b, c[i].func, false, c[i].param);

		T_OK((r->rc == 0 && !strcmp(r->fetch, c[i].right)) || r->rc == -ENOTSUP,
		     "btfargs: %s %s -> %s or -ENOTSUP: %s (got %d %s%s)", c[i].func, c[i].param,
		     c[i].right, c[i].why, r->rc, r->rc ? "" : r->fetch, r->rc ? r->err : "");
	}
}

static void fixture_members(const struct kp_btf *b)
{
	static const struct {
		const char *expr, *name, *fetch;
	} ok[] = {
		{ "p", "p", "%di:x64" },
		{ "p->id", "id", "+0(%di):s64" },
		/* one-member wrappers: read as the member, named after the wrapper */
		{ "p->uid", "uid", "+8(%di):u32" },
		{ "p->uid.val", "uid", "+8(%di):u32" },
		{ "p->count", "count", "+16(%di):s64" },
		{ "p->count.counter", "count", "+16(%di):s64" },
		/* enums: size and sign */
		{ "p->se", "se", "+24(%di):s32" },
		{ "p->ue", "ue", "+28(%di):u32" },
		{ "p->se64", "se64", "+32(%di):s64" },
		{ "p->ue64", "ue64", "+40(%di):u64" },
		{ "p->be", "be", "+48(%di):s8" },
		/* a char array (at an odd offset) */
		{ "p->comm", "comm", "+49(%di):string" },
		/* bitfields of struct kp_bits at byte 64 (bit 512) */
		{ "p->bits.lo", "lo", "+64(%di):b3@0/32" },
		{ "p->bits.mid", "mid", "+64(%di):b27@3/32" },
		{ "p->bits.cross", "cross", "+64(%di):b6@30/64" },
		{ "p->bits.hi", "hi", "+68(%di):b4@4/32" },
		{ "p->bits.top", "top", "+68(%di):b5@8/32" },
		{ "p->pk.a", "a", "+72(%di):u32" },
		{ "p->pk.b", "b", "+76(%di):u8" },
		/* a union member */
		{ "p->val.i", "i", "+84(%di):s32" },
		{ "p->val.h", "h", "+84(%di):u16" },
		/* members of an anonymous struct and an anonymous union */
		{ "p->ax", "ax", "+88(%di):s32" },
		{ "p->ay", "ay", "+96(%di):s64" },
		{ "p->ua", "ua", "+104(%di):u32" },
		{ "p->ub", "ub", "+104(%di):u8" },
		/* integer arrays up to 64 elements */
		{ "p->shorts", "shorts", "+112(%di):u16[3]" },
		{ "p->sshorts", "sshorts", "+118(%di):s16[3]" },
		{ "p->sixtyfour", "sixtyfour", "+124(%di):s32[64]" },
		/* pointers: a __user char pointer in kernel memory, others x64 */
		{ "p->upath", "upath", "+0(+784(%di)):ustring" },
		{ "p->self", "self", "+792(%di):x64" },
		{ "p->list", "list", "+800(%di):x64" },
		{ "p->self->self->id", "id", "+0(+792(+792(%di))):s64" },
		{ "p->list->name", "name", "+0(+16(+800(%di))):string" },
		{ "p->list->tag", "tag", "+24(+800(%di)):string" },
		{ "p->list->flag", "flag", "+32(+800(%di)):b1@0/32" },
		{ "p->self->bits.cross", "cross", "+64(+792(%di)):b6@30/64" },
		{ "n->next->v", "v", "+0(+8(%si)):s32" },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		want_fetch(b, "kp_all_fn", false, ok[i].expr, ok[i].name, ok[i].fetch);

	/* refused: float, long arrays, aggregates as the final type */
	want_err(b, "kp_all_fn", false, "p->f", ENOTSUP, "floating point");
	want_err(b, "kp_all_fn", false, "p->hundred", ENOTSUP, "100");
	want_err(b, "kp_all_fn", false, "p->val", EINVAL,
		 "'val' is a union kp_val: name one of its members (i, h)");
	want_err(b, "kp_all_fn", false, "p->bits", EINVAL,
		 "'bits' is a struct kp_bits: name one of its members (lo, mid, cross, hi, top)");
	/* unknown members; anonymous members are listed as the struct's */
	want_err(b, "kp_all_fn", false, "p->nope", ESRCH,
		 "struct kp_all has no member 'nope' (its members: id, uid, count, se, ue, se64, "
		 "ue64, be, comm, bits, pk, val, ax, ay, ua, ub, f, shorts, sshorts, sixtyfour, "
		 "hundred, upath, self, list)");
	want_err(b, "kp_all_fn", false, "p->val.nope", ESRCH,
		 "union kp_val has no member 'nope' (its members: i, h)");
	want_err(b, "kp_all_fn", false, "p->uid.nope", ESRCH, "(its members: val)");
	/* '.' on a pointer, '->' on a non-pointer, into a bitfield, a scalar */
	want_err(b, "kp_all_fn", false, "p.id", EINVAL, "->");
	want_err(b, "kp_all_fn", false, "p->self.id", EINVAL, "self");
	want_err(b, "kp_all_fn", false, "p->bits->lo", EINVAL, "'bits' is not a pointer");
	want_err(b, "kp_all_fn", false, "p->bits.lo.x", EINVAL, "bitfield");
	want_err(b, "kp_all_fn", false, "p->id.x", EINVAL, "'id'");
}

/* A bitfield across a 64-bit boundary (packed struct): no container
 * aligned to its size holds it. Right: a container that holds all its bits
 * (e.g. +77(%di):b30@0/32), or a refusal; never bits past the container,
 * which the kernel rejects (bit offset + width > container size). */
static void fixture_packed(const struct kp_btf *b)
{
	const struct fres *r = run(b, "kp_all_fn", false, "p->pk.c");
	unsigned int start = 0, w = 0, bit = 0, cont = 0;
	int n = 0;

	if (r->rc == 0)
		n = sscanf(r->fetch, "+%u(%%di):b%u@%u/%u", &start, &w, &bit, &cont);
	T_OK(r->rc < 0 || (n == 4 && w == 30 && (cont == 32 || cont == 64) && bit + w <= cont &&
			   start * 8 + bit == 72 * 8 + 40),
	     "btfargs: kp_all_fn p->pk.c (bits 616..645 of *p) -> a container that holds the "
	     "30 bits, or a refusal (got %d %s%s)",
	     r->rc, r->rc ? "" : r->fetch, r->rc ? r->err : "");
}

static void fixture_user(const struct kp_btf *b)
{
	want_fetch(b, "kp_user", false, "ubuf", "ubuf", "+0(%di):ustring");
	want_fetch(b, "kp_user", false, "kbuf", "kbuf", "+0(%si):string");
	want_fetch(b, "kp_user", false, "up", "up", "%dx:x64");
	/* a member of a user-space struct is read from user memory: "+u" */
	want_fetch(b, "kp_user", false, "up->id", "id", "+u0(%dx):s64");
}

/* kp_chain(struct kp_node *n): n->next->...: next at 8, name 16, tag 24,
 * flag 32; every "->" after the first is one more dereference */
static void fixture_chain(const struct kp_btf *b)
{
	char expr[512], base[2048], want[2300];

	/* 12 dereferences: the most */
	chain_expr(expr, sizeof(expr), 12, "v");
	nest(base, sizeof(base), "%di", 8, 11);
	snprintf(want, sizeof(want), "+0(%s):s32", base);
	want_fetch(b, "kp_chain", false, expr, "v", want);
	chain_expr(expr, sizeof(expr), 12, "tag");
	snprintf(want, sizeof(want), "+24(%s):string", base);
	want_fetch(b, "kp_chain", false, expr, "tag", want);
	chain_expr(expr, sizeof(expr), 12, "flag");
	snprintf(want, sizeof(want), "+32(%s):b1@0/32", base);
	want_fetch(b, "kp_chain", false, expr, "flag", want);
	chain_expr(expr, sizeof(expr), 12, NULL);
	snprintf(want, sizeof(want), "+8(%s):x64", base);
	want_fetch(b, "kp_chain", false, expr, "next", want);
	/* a char pointer adds the string's own +0(): 11 arrows are 12 */
	chain_expr(expr, sizeof(expr), 11, "name");
	nest(base, sizeof(base), "%di", 8, 10);
	snprintf(want, sizeof(want), "+0(+16(%s)):string", base);
	want_fetch(b, "kp_chain", false, expr, "name", want);
	/* 13 and 14 dereferences */
	chain_expr(expr, sizeof(expr), 13, "v");
	want_err(b, "kp_chain", false, expr, E2BIG, "12");
	chain_expr(expr, sizeof(expr), 14, "v");
	want_err(b, "kp_chain", false, expr, E2BIG, "12");
	chain_expr(expr, sizeof(expr), 14, NULL);
	want_err(b, "kp_chain", false, expr, E2BIG, "12");
	/* 12 arrows to a char pointer: 13 dereferences with the string's */
	chain_expr(expr, sizeof(expr), 12, "name");
	want_err(b, "kp_chain", false, expr, E2BIG, "12");
}

static void fixture_retval(const struct kp_btf *b)
{
	want_fetch(b, "kp_ret", true, "$retval", "retval", "$retval:x64");
	want_fetch(b, "kp_ret", true, "$retval->id", "id", "+0($retval):s64");
	want_fetch(b, "kp_ret", true, "$retval->uid.val", "uid", "+8($retval):u32");
	want_fetch(b, "kp_ret", true, "$retval->list->name", "name",
		   "+0(+16(+800($retval))):string");
	want_err(b, "kp_ret", true, "$retval.id", EINVAL, "->");
	want_err(b, "kp_ret", false, "$retval", EINVAL, "return probe");
	want_err(b, "kp_ret", true, "p", EINVAL, "$retval");
	want_fetch(b, "kp_ret_str", true, "$retval", "retval", "+0($retval):string");
	want_fetch(b, "kp_ret_enum", true, "$retval", "retval", "$retval:s32");
	want_fetch(b, "kp_ret_u8", true, "$retval", "retval", "$retval:u8");
	{
		const struct fres *r = run(b, "kp_ret_void", true, "$retval");

		T_OK(r->rc < 0 && strstr(r->err, "void"),
		     "btfargs: kp_ret_void [ret] $retval of a void function is refused (got %d %s: "
		     "%s)",
		     r->rc, r->rc ? "-" : r->fetch, r->err);
	}
	want_err(b, "kp_nope", false, "x", ENOENT, "kp_nope");
}

static void fixture_path(const char *argv0, char *path, size_t len)
{
	const char *slash = strrchr(argv0, '/');

	snprintf(path, len, "tests/fixtures/btf/kpbtf.btf");
	if (!access(path, R_OK) || !slash)
		return;
	/* build/tests/test_btfargs -> ../../tests/fixtures/btf */
	snprintf(path, len, "%.*s/../../tests/fixtures/btf/kpbtf.btf", (int)(slash - argv0), argv0);
}

static void part_fixture(const char *argv0)
{
	char path[PATH_MAX];
	struct kp_btf *b;

	errno = 0;
	b = kp_btf_load_file("/nonexistent/kpbtf.btf");
	T_OK(!b && errno == ENOENT,
	     "btfargs: kp_btf_load_file of a missing file: NULL, ENOENT "
	     "(errno %d)",
	     errno);
	kp_btf_free(b);

	fixture_path(argv0, path, sizeof(path));
	b = kp_btf_load_file(path);
	T_OK(b != NULL, "btfargs: the fixture %s loads", path);
	if (!b)
		return;
	fixture_params(b);
	fixture_abi(b);
	fixture_members(b);
	fixture_packed(b);
	fixture_user(b);
	fixture_chain(b);
	fixture_retval(b);
	kp_btf_free(b);
}

static void part_kernel(void)
{
	struct kp_btf *b;
	struct bt t;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		printf("skip - btfargs: this kernel has no /sys/kernel/btf/vmlinux\n");
		return;
	}
	if (system("bpftool version >/dev/null 2>&1")) {
		T_OK(false, "btfargs: bpftool is needed to cross-check (apt-get install bpftool)");
		return;
	}
	b = kp_btf_load();
	T_OK(b != NULL, "btfargs: the kernel's BTF loads");
	T_OK(!bt_load(&t, "/sys/kernel/btf/vmlinux"), "btfargs: bpftool dumps the kernel's BTF");
	if (b && t.text) {
		kernel_commit_creds(b, &t);
		kernel_openat2(b, &t);
		kernel_task(b, &t);
		kernel_misc(b, &t);
	}
	bt_free(&t);
	kp_btf_free(b);
}

int main(int argc, char **argv)
{
	(void)argc;
	part_kernel();
	part_fixture(argv[0]);
	return T_DONE();
}
