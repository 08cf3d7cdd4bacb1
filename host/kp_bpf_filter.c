// SPDX-License-Identifier: MIT
/*
 * Filters compiled to BPF (see kp_bpf_filter.h): a recursive-descent
 * parser builds a small tree, then each node becomes jumps: "jump to L
 * when this node is WANT, else fall through", so && and || short-circuit
 * and ! costs nothing. Integer fields are compared as the record holds
 * them (sign-extended when signed); strings byte by byte at their
 * __data_loc, whose length counts the NUL.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_bpf_emit.h"
#include "kp_bpf_filter.h"

#define KP_FILTER_MAX_NODES 64
#define KP_FILTER_STR_MAX 256

enum kp_node_kind { N_PRED, N_AND, N_OR, N_NOT };
enum kp_glob { G_EXACT, G_PREFIX, G_SUFFIX, G_ANY };

struct kp_node {
	enum kp_node_kind kind;
	int a, b; /* children */
	const struct kp_bpf_field *field;
	int op; /* BPF_JEQ, BPF_JNE, BPF_JLT, BPF_JLE, BPF_JGT, BPF_JGE, BPF_JSET */
	long long num;
	enum kp_glob glob;
	char str[KP_FILTER_STR_MAX];
	size_t slen;
};

struct kp_fp {
	const char *text, *p;
	const struct kp_bpf_field *f;
	size_t nf;
	struct kp_node node[KP_FILTER_MAX_NODES];
	int n;
	char *msg;
	size_t len;
	int depth; /* of ! and ( being parsed */
	bool failed;
};

static int fail(struct kp_fp *fp, const char *at, const char *f, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct kp_fp *fp, const char *at, const char *f, ...)
{
	va_list ap;
	int w;

	if (fp->failed)
		return -1;
	fp->failed = true;
	w = snprintf(fp->msg, fp->len, "filter '%s': at column %zu: ", fp->text,
		     (size_t)(at - fp->text) + 1);
	va_start(ap, f);
	if (w >= 0 && (size_t)w < fp->len)
		vsnprintf(fp->msg + w, fp->len - (size_t)w, f, ap);
	va_end(ap);
	return -1;
}

static void skip(struct kp_fp *fp)
{
	while (isspace((unsigned char)*fp->p))
		fp->p++;
}

static bool eat(struct kp_fp *fp, const char *tok)
{
	size_t l = strlen(tok);

	skip(fp);
	if (strncmp(fp->p, tok, l))
		return false;
	fp->p += l;
	return true;
}

static int node(struct kp_fp *fp, enum kp_node_kind kind, int a, int b)
{
	if (fp->n == KP_FILTER_MAX_NODES)
		return fail(fp, fp->p, "more than %d terms", KP_FILTER_MAX_NODES);
	fp->node[fp->n] = (struct kp_node){ .kind = kind, .a = a, .b = b };
	return fp->n++;
}

static const struct kp_bpf_field *field_named(struct kp_fp *fp, const char *name, size_t l)
{
	for (size_t i = 0; i < fp->nf; i++)
		if (strlen(fp->f[i].name) == l && !strncmp(fp->f[i].name, name, l))
			return &fp->f[i];
	return NULL;
}

static int unknown(struct kp_fp *fp, const char *at, size_t l)
{
	char list[512] = "";

	for (size_t i = 0, u = 0; i < fp->nf && u < sizeof(list); i++)
		u += (size_t)snprintf(list + u, sizeof(list) - u, "%s%s", i ? ", " : "",
				      fp->f[i].name);
	return fail(fp, at, "no field '%.*s' (the record's fields: %s)", (int)l, at,
		    list[0] ? list : "none");
}

/* a quoted string into @n->str, or a glob into its parts */
static int quoted(struct kp_fp *fp, struct kp_node *n, bool glob)
{
	char q = *fp->p;
	const char *at = fp->p, *s = ++fp->p;
	size_t l;

	while (*fp->p && *fp->p != q)
		fp->p++;
	if (!*fp->p)
		return fail(fp, at, "the string is not closed");
	l = (size_t)(fp->p - s);
	fp->p++;
	n->glob = G_EXACT;
	if (glob && l && s[l - 1] == '*' && s[0] == '*' && l > 1)
		return fail(fp, at,
			    "a '*text*' glob is not compiled into BPF: use 'prefix*', "
			    "'*suffix' or the whole string, or match in the handler");
	if (glob && l == 1 && s[0] == '*') {
		n->glob = G_ANY;
		l = 0;
	} else if (glob && l && s[l - 1] == '*') {
		n->glob = G_PREFIX;
		l--;
	} else if (glob && l && s[0] == '*') {
		n->glob = G_SUFFIX;
		s++, l--;
	}
	if (glob && memchr(s, '*', l))
		return fail(fp, at, "a '*' inside a glob is not compiled into BPF");
	if (glob && (memchr(s, '?', l) || memchr(s, '[', l)))
		return fail(fp, at, "'?' and '[...]' globs are not compiled into BPF");
	if (l >= KP_FILTER_STR_MAX)
		return fail(fp, at, "a string of more than %d bytes", KP_FILTER_STR_MAX - 1);
	memcpy(n->str, s, l);
	n->slen = l;
	return 0;
}

/*
 * The number at fp->p into @n, as the kernel's filter compares it: cast to
 * the field's type ((u32)val, (s16)val), so "x == 0x80000000" on an s32
 * means INT32_MIN; a negative number on an unsigned field is refused, as
 * the kernel refuses it.
 */
static int number(struct kp_fp *fp, struct kp_node *n, const char *at)
{
	const struct kp_bpf_field *f = n->field;
	bool neg = *fp->p == '-';
	unsigned int bits = 8 * f->size;
	unsigned long long u;
	char *end;

	errno = 0;
	u = neg ? (unsigned long long)strtoll(fp->p, &end, 0) : strtoull(fp->p, &end, 0);
	if (end == fp->p || errno)
		return fail(fp, at, "'%s' is a number: compare it with a number", f->name);
	if (neg && !f->is_signed)
		return fail(fp, at, "'%s' is unsigned: a negative number is no value of it",
			    f->name);
	fp->p = end;
	if (bits < 64) {
		unsigned long long mask = (1ULL << bits) - 1;

		u &= mask;
		if (f->is_signed && (u >> (bits - 1)) & 1)
			u |= ~mask;
	}
	n->num = (long long)u;
	return 0;
}

static int pred(struct kp_fp *fp)
{
	static const struct {
		const char *tok;
		int op;
	} ops[] = { { "==", BPF_JEQ }, { "!=", BPF_JNE }, { "<=", BPF_JLE }, { ">=", BPF_JGE },
		    { "<", BPF_JLT },  { ">", BPF_JGT },  { "&", BPF_JSET }, { "~", -1 } };
	const char *at, *name, *opat;
	struct kp_node *n;
	size_t l;
	int i, k;

	skip(fp);
	at = name = fp->p;
	while (isalnum((unsigned char)*fp->p) || *fp->p == '_')
		fp->p++;
	l = (size_t)(fp->p - name);
	if (!l)
		return fail(fp, at, "a field name was expected");
	if ((i = node(fp, N_PRED, -1, -1)) < 0)
		return -1;
	n = &fp->node[i];
	if (!(n->field = field_named(fp, name, l)))
		return unknown(fp, at, l);
	if (n->field->other)
		return fail(fp, at,
			    "'%s' is an array or a list: filters compare numbers and "
			    "strings",
			    n->field->name);
	skip(fp);
	opat = fp->p;
	for (k = 0; k < (int)(sizeof(ops) / sizeof(ops[0])); k++)
		if (eat(fp, ops[k].tok))
			break;
	if (k == (int)(sizeof(ops) / sizeof(ops[0])))
		return fail(fp, fp->p, "an operator (==, !=, <, <=, >, >=, &, ~) was expected");
	n->op = ops[k].op;
	skip(fp);
	at = fp->p;
	if (n->field->string) {
		if (n->op != BPF_JEQ && n->op != BPF_JNE && n->op != -1)
			return fail(fp, opat, "'%s' is a string: it takes ==, != or ~",
				    n->field->name);
		if (*fp->p != '"' && *fp->p != '\'')
			return fail(fp, at, "'%s' is a string: compare it with a quoted string",
				    n->field->name);
		if (quoted(fp, n, n->op == -1))
			return -1;
		if (n->op == -1)
			n->op = BPF_JEQ;
		return i;
	}
	if (n->op == -1)
		return fail(fp, opat, "'~' is for strings; '%s' is a number", n->field->name);
	if (number(fp, n, at))
		return -1;
	return i;
}

static int expr_or(struct kp_fp *fp);

static int unary(struct kp_fp *fp)
{
	int a;

	if (++fp->depth > KP_FILTER_MAX_NODES)
		return fail(fp, fp->p, "nested more than %d deep", KP_FILTER_MAX_NODES);

	if (eat(fp, "!")) {
		a = unary(fp);
		a = a < 0 ? -1 : node(fp, N_NOT, a, -1);
	} else if (eat(fp, "(")) {
		const char *at = fp->p;

		a = expr_or(fp);
		if (a >= 0 && !eat(fp, ")"))
			a = fail(fp, at, "'(' is not closed");
	} else {
		a = pred(fp);
	}
	fp->depth--;
	return a;
}

static int expr_and(struct kp_fp *fp)
{
	int a = unary(fp), b;

	while (a >= 0 && eat(fp, "&&")) {
		if ((b = unary(fp)) < 0)
			return -1;
		a = node(fp, N_AND, a, b);
	}
	return a;
}

static int expr_or(struct kp_fp *fp)
{
	int a = expr_and(fp), b;

	while (a >= 0 && eat(fp, "||")) {
		if ((b = expr_and(fp)) < 0)
			return -1;
		a = node(fp, N_OR, a, b);
	}
	return a;
}

/* ---- code -------------------------------------------------------------- */

static int negate(int op, bool is_signed)
{
	switch (op) {
	case BPF_JEQ:
		return BPF_JNE;
	case BPF_JNE:
		return BPF_JEQ;
	case BPF_JLT:
		return is_signed ? BPF_JSGE : BPF_JGE;
	case BPF_JLE:
		return is_signed ? BPF_JSGT : BPF_JGT;
	case BPF_JGT:
		return is_signed ? BPF_JSLE : BPF_JLE;
	default: /* BPF_JGE */
		return is_signed ? BPF_JSLT : BPF_JLT;
	}
}

static int as_signed(int op, bool is_signed)
{
	if (!is_signed)
		return op;
	switch (op) {
	case BPF_JLT:
		return BPF_JSLT;
	case BPF_JLE:
		return BPF_JSLE;
	case BPF_JGT:
		return BPF_JSGT;
	case BPF_JGE:
		return BPF_JSGE;
	default:
		return op;
	}
}

/* jump to @label when the integer predicate is @want */
static void gen_num(const struct kp_node *n, bool want, struct kp_emit *e, int label)
{
	const struct kp_bpf_field *f = n->field;
	bool is_signed = f->is_signed;
	bool small = n->num >= INT32_MIN && n->num <= INT32_MAX;

	kp_em_ldx(e, f->size, R1, R7, (int16_t)f->off);
	if (is_signed)
		kp_em_sext(e, R1, f->size);
	if (!small || n->op == BPF_JSET)
		kp_em_ld64(e, R2, (uint64_t)n->num);
	if (n->op == BPF_JSET) {
		if (want) {
			kp_em_jmpx(e, BPF_JSET, R1, R2, label);
		} else {
			kp_em_alu(e, BPF_AND, R1, R2);
			kp_em_jmpi(e, BPF_JEQ, R1, 0, label);
		}
		return;
	}
	int op = want ? as_signed(n->op, is_signed) : negate(n->op, is_signed);

	if (small)
		kp_em_jmpi(e, op, R1, (int32_t)n->num, label);
	else
		kp_em_jmpx(e, op, R1, R2, label);
}

/* fall through when the string predicate holds (as written), else jump to @miss */
static void gen_str(const struct kp_node *n, struct kp_emit *e, int miss, size_t value_size)
{
	const struct kp_bpf_field *f = n->field;
	int32_t need = (int32_t)n->slen + 1; /* the length counts the NUL */

	if (n->glob == G_ANY) /* "*": every string, read or not, as the kernel's */
		return;

	kp_em_ldx(e, 4, R1, R7, (int16_t)f->off);
	kp_em_mov(e, R2, R1);
	kp_em_alui(e, BPF_RSH, R2, 16);
	kp_em_alui(e, BPF_AND, R1, 0xffff);
	if (n->glob == G_EXACT)
		kp_em_jmpi(e, BPF_JNE, R2, need, miss);
	else
		kp_em_jmpi(e, BPF_JLT, R2, need, miss);
	if (n->glob == G_SUFFIX) {
		/* the last slen bytes before the NUL */
		kp_em_alu(e, BPF_ADD, R1, R2);
		kp_em_alui(e, BPF_ADD, R1, -need);
	}
	if (!n->slen)
		return;
	/* in the value, as the verifier must see */
	kp_em_jmpi(e, BPF_JGT, R1, (int32_t)(value_size - n->slen), miss);
	kp_em_mov(e, R3, R7);
	kp_em_alu(e, BPF_ADD, R3, R1);
	for (size_t i = 0; i < n->slen;) {
		size_t left = n->slen - i, w = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
		uint64_t v = 0;

		memcpy(&v, n->str + i, w);
		kp_em_ldx(e, (unsigned int)w, R4, R3, (int16_t)i);
		kp_em_ld64(e, R5, v);
		kp_em_jmpx(e, BPF_JNE, R4, R5, miss);
		i += w;
	}
}

/* jump to @label when node @i is @want, else fall through */
static void gen(const struct kp_fp *fp, int i, bool want, struct kp_emit *e, int label,
		size_t value_size)
{
	const struct kp_node *n = &fp->node[i];
	int skip_to;

	switch (n->kind) {
	case N_NOT:
		gen(fp, n->a, !want, e, label, value_size);
		return;
	case N_AND:
	case N_OR:
		/* AND and false, OR and true: either side decides */
		if ((n->kind == N_AND) != want) {
			gen(fp, n->a, want, e, label, value_size);
			gen(fp, n->b, want, e, label, value_size);
			return;
		}
		skip_to = kp_em_label(e);
		gen(fp, n->a, !want, e, skip_to, value_size);
		gen(fp, n->b, want, e, label, value_size);
		kp_em_place(e, skip_to);
		return;
	case N_PRED:
		break;
	}
	if (!n->field->string) {
		gen_num(n, want, e, label);
		return;
	}
	/* a string: gen_str() falls through on a match and jumps on a miss;
	 * the predicate is the match (==, ~) or its opposite (!=) */
	if ((n->op == BPF_JEQ) != want) {
		gen_str(n, e, label, value_size);
		return;
	}
	skip_to = kp_em_label(e);
	gen_str(n, e, skip_to, value_size);
	kp_em_jmpi(e, BPF_JA, 0, 0, label);
	kp_em_place(e, skip_to);
}

int kp_bpf_filter_gen(const char *text, const struct kp_bpf_field *f, size_t n, struct kp_emit *e,
		      int drop, size_t value_size, char *msg, size_t len)
{
	struct kp_fp *fp = calloc(1, sizeof(*fp));
	int root;

	if (!fp) {
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	fp->text = fp->p = text;
	fp->f = f;
	fp->nf = n;
	fp->msg = msg;
	fp->len = len;
	root = expr_or(fp);
	skip(fp);
	if (root >= 0 && *fp->p)
		root = fail(fp, fp->p, "'%s' was not expected here", fp->p);
	if (root < 0) {
		free(fp);
		return -EINVAL;
	}
	gen(fp, root, false, e, drop, value_size);
	free(fp);
	return 0;
}
