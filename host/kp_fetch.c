// SPDX-License-Identifier: MIT
/*
 * The fetch-argument grammar of kprobe_events, uprobe_events and event
 * probes, parsed (see kp_fetch.h): a recursive descent over
 *
 *   ARG   := '$' NAME | '%' NAME | '@' NUMBER | '@' SYMBOL [('+'|'-') NUMBER]
 *          | '\' ['-'] NUMBER | '\' '"' CHARS '"' | ('+'|'-') ['u'] NUMBER '(' ARG ')'
 *   TYPE  := ('u'|'s'|'x') ('8'|'16'|'32'|'64') | 'char' | 'string' | 'ustring'
 *          | 'symbol' | 'symstr' | 'b' WIDTH '@' OFFSET '/' CONTAINER
 *   TEXT  := ARG [':' TYPE ['[' N ']']]
 *
 * Numbers as the kernel's kstrtol(.., 0): decimal, 0x hex, 0 octal.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_fetch.h"

struct kp_parser {
	const char *text, *p;
	struct kp_fetch_error *e;
};

static int kp_fail_at(struct kp_parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int kp_fail_at(struct kp_parser *ps, const char *at, const char *fmt, ...)
{
	va_list ap;

	ps->e->pos = (size_t)(at - ps->text);
	va_start(ap, fmt);
	vsnprintf(ps->e->msg, sizeof(ps->e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool kp_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool kp_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* An unsigned number at ps->p (decimal, 0x hex, 0 octal), up to @max. */
static int kp_number(struct kp_parser *ps, uint64_t max, uint64_t *out, const char *what)
{
	const char *at = ps->p;
	char *end;

	if (!kp_is_digit(*at))
		return kp_fail_at(ps, at, "expected %s (a number)", what);
	errno = 0;
	*out = strtoull(at, &end, 0);
	if (errno || *out > max)
		return kp_fail_at(ps, at, "%s is out of range (at most %" PRIu64 ")", what, max);
	if (kp_is_alpha(*end) || kp_is_digit(*end))
		return kp_fail_at(ps, end, "unexpected '%c' in %s", *end, what);
	ps->p = end;
	return 0;
}

/* [A-Za-z_][A-Za-z0-9_]* (and '.' when @dots) into @out. */
static int kp_name(struct kp_parser *ps, char *out, size_t len, bool dots, const char *what)
{
	const char *at = ps->p;
	size_t n = 0;

	if (!kp_is_alpha(*at) && !(dots && *at == '.'))
		return kp_fail_at(ps, at, "expected %s", what);
	while (kp_is_alpha(at[n]) || kp_is_digit(at[n]) || (dots && at[n] == '.'))
		n++;
	if (n >= len)
		return kp_fail_at(ps, at, "%s is too long (at most %zu bytes)", what, len - 1);
	memcpy(out, at, n);
	out[n] = '\0';
	ps->p = at + n;
	return 0;
}

/* A $ variable: the name tells the kind; a field keeps the name. */
static int kp_var(struct kp_parser *ps, struct kp_fetch *f)
{
	const char *at = ps->p;
	const char *n = f->name;
	int err =
	    kp_name(ps, f->name, sizeof(f->name), false, "a field or variable name after '$'");

	if (err)
		return err;
	f->base = KP_FETCH_FIELD;
	if (!strcmp(n, "comm") || !strcmp(n, "COMM")) {
		f->base = KP_FETCH_COMM;
	} else if (!strcmp(n, "retval")) {
		f->base = KP_FETCH_RETVAL;
	} else if (!strcmp(n, "stack")) {
		f->base = KP_FETCH_STACK;
	} else if ((!strncmp(n, "stack", 5) && kp_is_digit(n[5])) ||
		   (!strncmp(n, "arg", 3) && kp_is_digit(n[3]))) {
		const char *d = n + (n[0] == 's' ? 5 : 3);
		char *end;

		errno = 0;
		f->num = (int64_t)strtoll(d, &end, 10);
		if (*end || errno || f->num > 4096 || (n[0] == 'a' && f->num < 1))
			return kp_fail_at(ps, at, "$%s: bad index", n);
		f->base = n[0] == 's' ? KP_FETCH_STACKN : KP_FETCH_ARG;
	}
	return 0;
}

/* \IMM or \"STRING" */
static int kp_imm(struct kp_parser *ps, struct kp_fetch *f)
{
	bool neg = *ps->p == '-';
	uint64_t v;
	int err;

	if (*ps->p == '"') {
		const char *s = ps->p + 1, *q = strchr(s, '"');

		if (!q)
			return kp_fail_at(ps, ps->p, "unterminated string immediate");
		if ((size_t)(q - s) >= sizeof(f->name))
			return kp_fail_at(ps, s, "string immediate is too long");
		memcpy(f->name, s, (size_t)(q - s));
		f->name[q - s] = '\0';
		f->base = KP_FETCH_IMMSTR;
		ps->p = q + 1;
		return 0;
	}
	ps->p += neg;
	if ((err = kp_number(ps, neg ? (uint64_t)INT64_MAX + 1 : UINT64_MAX, &v, "an immediate")))
		return err;
	f->base = KP_FETCH_IMM;
	f->num = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* @ADDR or @SYM[+|-OFF] */
static int kp_at(struct kp_parser *ps, struct kp_fetch *f)
{
	uint64_t v;
	int err;

	if (kp_is_digit(*ps->p)) {
		if ((err = kp_number(ps, UINT64_MAX, &v, "an address")))
			return err;
		f->base = KP_FETCH_ADDR;
		f->num = (int64_t)v;
		return 0;
	}
	if ((err = kp_name(ps, f->name, sizeof(f->name), true, "an address or a symbol after '@'")))
		return err;
	f->base = KP_FETCH_SYM;
	if (*ps->p == '+' || *ps->p == '-') {
		bool neg = *ps->p++ == '-';

		if ((err = kp_number(ps, INT64_MAX, &v, "a symbol offset")))
			return err;
		f->num = neg ? -(int64_t)v : (int64_t)v;
	}
	return 0;
}

static int kp_arg(struct kp_parser *ps, struct kp_fetch *f);

/* +OFF(ARG), -OFF(ARG), +uOFF(ARG) */
static int kp_deref(struct kp_parser *ps, struct kp_fetch *f, int depth)
{
	const char *at = ps->p;
	bool neg = *ps->p++ == '-', user = false;
	uint64_t off;
	int err;

	if (*ps->p == 'u') {
		user = true;
		ps->p++;
	}
	if ((err = kp_number(ps, INT64_MAX, &off, "an offset")))
		return err;
	if (*ps->p != '(')
		return kp_fail_at(ps, ps->p, "expected '(' after the offset");
	if (depth >= KP_FETCH_MAX_DEREF)
		return kp_fail_at(ps, at, "too many nested dereferences (at most %d)",
				  KP_FETCH_MAX_DEREF);
	ps->p++;
	if (*ps->p == '+' || *ps->p == '-')
		err = kp_deref(ps, f, depth + 1);
	else
		err = kp_arg(ps, f);
	if (err)
		return err;
	if (*ps->p != ')')
		return kp_fail_at(ps, ps->p, "expected ')'");
	ps->p++;
	f->deref[f->nderef].off = neg ? -(int64_t)off : (int64_t)off;
	f->deref[f->nderef].user = user;
	f->nderef++;
	return 0;
}

/* A base: $, %, @ or \ */
static int kp_arg(struct kp_parser *ps, struct kp_fetch *f)
{
	char c = *ps->p;

	switch (c) {
	case '$':
		ps->p++;
		return kp_var(ps, f);
	case '%':
		ps->p++;
		f->base = KP_FETCH_REG;
		return kp_name(ps, f->name, sizeof(f->name), false, "a register name after '%'");
	case '@':
		ps->p++;
		return kp_at(ps, f);
	case '\\':
		ps->p++;
		return kp_imm(ps, f);
	case '+':
	case '-':
		return kp_deref(ps, f, 0);
	case '\0':
		return kp_fail_at(ps, ps->p, "expected a fetch argument");
	default:
		return kp_fail_at(ps, ps->p,
				  "'%c' cannot start a fetch argument ($field, %%reg, @addr, "
				  "\\imm or +OFF(...))",
				  c);
	}
}

/* u8 .. x64, char, string, ustring, symbol, symstr, bW@O/C; then [N] */
static int kp_type(struct kp_parser *ps, struct kp_fetch_type *t)
{
	static const struct {
		const char *name;
		enum kp_fetch_kind kind;
	} special[] = {
		{ "char", KP_FETCH_CHAR },	 { "string", KP_FETCH_STRING },
		{ "ustring", KP_FETCH_USTRING }, { "symbol", KP_FETCH_SYMBOL },
		{ "symstr", KP_FETCH_SYMSTR },
	};
	const char *at = ps->p;
	size_t n = strcspn(at, "[");
	char c = *at;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		if (strlen(special[i].name) == n && !strncmp(at, special[i].name, n)) {
			t->kind = special[i].kind;
			t->size = t->kind == KP_FETCH_CHAR ? 1 : t->kind == KP_FETCH_SYMBOL ? 8 : 0;
			ps->p += n;
			goto array;
		}
	}
	if ((c == 'u' || c == 's' || c == 'x') && kp_is_digit(at[1])) {
		uint64_t bits;

		ps->p++;
		if (kp_number(ps, 64, &bits, "a type's size") ||
		    (bits != 8 && bits != 16 && bits != 32 && bits != 64))
			return kp_fail_at(ps, at, "unknown type '%.*s' (sizes are 8, 16, 32, 64)",
					  (int)n, at);
		t->kind = c == 'u' ? KP_FETCH_UINT : c == 's' ? KP_FETCH_SINT : KP_FETCH_HEX;
		t->size = (uint8_t)(bits / 8);
	} else if (c == 'b' && kp_is_digit(at[1])) {
		uint64_t w, o, cs;

		ps->p++;
		if (kp_number(ps, 64, &w, "a bitfield's width") || *ps->p++ != '@' ||
		    kp_number(ps, 63, &o, "a bitfield's offset") || *ps->p++ != '/' ||
		    kp_number(ps, 64, &cs, "a bitfield's container size"))
			return kp_fail_at(ps, at,
					  "a bitfield is b<width>@<offset>/<container size>, "
					  "e.g. b4@0/8");
		if ((cs != 8 && cs != 16 && cs != 32 && cs != 64) || !w || w + o > cs)
			return kp_fail_at(ps, at,
					  "bitfield '%.*s': the width and offset must fit in a "
					  "container of 8, 16, 32 or 64 bits",
					  (int)(ps->p - at), at);
		t->kind = KP_FETCH_BITFIELD;
		t->size = (uint8_t)(cs / 8);
		t->width = (uint8_t)w;
		t->shift = (uint8_t)o;
	} else {
		return kp_fail_at(ps, at,
				  "unknown type '%.*s' (u8..u64, s8..s64, x8..x64, char, string, "
				  "ustring, symbol, symstr, b<width>@<offset>/<size>)",
				  (int)n, at);
	}
array:
	if (*ps->p == '[') {
		uint64_t len;
		const char *open = ps->p++;

		if (t->kind == KP_FETCH_BITFIELD)
			return kp_fail_at(ps, open, "a bitfield cannot be an array");
		if (kp_number(ps, KP_FETCH_MAX_ARRAY, &len, "an array length") || !len)
			return kp_fail_at(ps, open, "an array length is 1 to %d",
					  KP_FETCH_MAX_ARRAY);
		if (*ps->p != ']')
			return kp_fail_at(ps, ps->p, "expected ']'");
		ps->p++;
		t->array = (uint8_t)len;
	}
	return 0;
}

int kp_fetch_parse(const char *text, struct kp_fetch *f, struct kp_fetch_error *e)
{
	struct kp_parser ps = { .text = text, .p = text, .e = e };
	int err;

	memset(f, 0, sizeof(*f));
	memset(e, 0, sizeof(*e));
	if ((err = kp_arg(&ps, f)))
		return err;
	if (*ps.p == ':') {
		ps.p++;
		if ((err = kp_type(&ps, &f->type)))
			return err;
	}
	if (*ps.p)
		return kp_fail_at(&ps, ps.p, "unexpected '%c'", *ps.p);
	return 0;
}

static const char *kp_type_name(const struct kp_fetch_type *t, char *buf, size_t len)
{
	static const char *const names[] = {
		[KP_FETCH_CHAR] = "char",	[KP_FETCH_STRING] = "string",
		[KP_FETCH_USTRING] = "ustring", [KP_FETCH_SYMBOL] = "symbol",
		[KP_FETCH_SYMSTR] = "symstr",
	};

	switch (t->kind) {
	case KP_FETCH_UINT:
	case KP_FETCH_SINT:
	case KP_FETCH_HEX:
		snprintf(buf, len, "%c%d",
			 t->kind == KP_FETCH_UINT   ? 'u'
			 : t->kind == KP_FETCH_SINT ? 's'
						    : 'x',
			 t->size * 8);
		break;
	case KP_FETCH_BITFIELD:
		snprintf(buf, len, "b%d@%d/%d", t->width, t->shift, t->size * 8);
		break;
	default:
		snprintf(buf, len, "%s", names[t->kind]);
	}
	return buf;
}

int kp_fetch_format(const struct kp_fetch *f, char *buf, size_t len)
{
	size_t at = 0;
	char tn[32];
	int n;

#define KP_PUT(...)                                                           \
	do {                                                                  \
		n = snprintf(buf + at, at < len ? len - at : 0, __VA_ARGS__); \
		if (n < 0)                                                    \
			return -ENOSPC;                                       \
		at += (size_t)n;                                              \
	} while (0)

	for (int i = f->nderef - 1; i >= 0; i--)
		KP_PUT("%c%s%" PRIu64 "(", f->deref[i].off < 0 ? '-' : '+',
		       f->deref[i].user ? "u" : "",
		       f->deref[i].off < 0 ? 0 - (uint64_t)f->deref[i].off
					   : (uint64_t)f->deref[i].off);
	switch (f->base) {
	case KP_FETCH_FIELD:
	case KP_FETCH_COMM:
	case KP_FETCH_RETVAL:
	case KP_FETCH_STACK:
	case KP_FETCH_STACKN:
	case KP_FETCH_ARG:
		KP_PUT("$%s", f->name);
		break;
	case KP_FETCH_REG:
		KP_PUT("%%%s", f->name);
		break;
	case KP_FETCH_ADDR:
		KP_PUT("@%" PRIu64, (uint64_t)f->num);
		break;
	case KP_FETCH_SYM:
		KP_PUT("@%s", f->name);
		if (f->num)
			KP_PUT("%c%" PRIu64, f->num < 0 ? '-' : '+',
			       f->num < 0 ? 0 - (uint64_t)f->num : (uint64_t)f->num);
		break;
	case KP_FETCH_IMM:
		KP_PUT("\\%" PRId64, f->num);
		break;
	case KP_FETCH_IMMSTR:
		KP_PUT("\\\"%s\"", f->name);
		break;
	}
	for (int i = 0; i < f->nderef; i++)
		KP_PUT(")");
	if (f->type.kind != KP_FETCH_DEFAULT)
		KP_PUT(":%s", kp_type_name(&f->type, tn, sizeof(tn)));
	if (f->type.array)
		KP_PUT("[%d]", f->type.array);
#undef KP_PUT
	return at < len ? (int)at : -ENOSPC;
}

static int kp_refuse(struct kp_fetch_error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int kp_refuse(struct kp_fetch_error *e, const char *fmt, ...)
{
	va_list ap;

	e->pos = 0;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int kp_fetch_check(const struct kp_fetch *f, enum kp_fetch_ctx ctx, struct kp_fetch_error *e)
{
	bool event = ctx == KP_FETCH_CTX_EVENT;
	bool ret = ctx == KP_FETCH_CTX_KRETPROBE || ctx == KP_FETCH_CTX_URETPROBE;
	bool string = f->type.kind == KP_FETCH_STRING || f->type.kind == KP_FETCH_USTRING ||
		      f->type.kind == KP_FETCH_SYMSTR;

	memset(e, 0, sizeof(*e));
	if (event && f->base == KP_FETCH_REG)
		return kp_refuse(e,
				 "%%%s: registers are for kprobes and uprobes; a tracepoint's "
				 "arguments are its fields ($NAME)",
				 f->name);
	if (!event && f->base == KP_FETCH_FIELD)
		return kp_refuse(e,
				 "$%s: only tracepoints have fields; here use registers (%%di), "
				 "$argN, $stackN, $retval or $comm",
				 f->name);
	/* on an event, $retval, $stack and $argN can only be fields so named */
	if (!event && f->base == KP_FETCH_RETVAL && !ret)
		return kp_refuse(e, "$retval: only a return probe has a return value");
	/* a string is read at an address: a register or a variable is a
	 * value, and needs +0(...) (a field, $comm or an immediate does not) */
	if (string && !f->nderef && !event &&
	    (f->base == KP_FETCH_REG || f->base == KP_FETCH_ARG || f->base == KP_FETCH_RETVAL ||
	     f->base == KP_FETCH_STACK || f->base == KP_FETCH_STACKN))
		return kp_refuse(e, "a string is read from memory: write +0(...):string");
	return 0;
}
