// SPDX-License-Identifier: MIT
/*
 * kp_fetch_parse(), kp_fetch_format() and kp_fetch_check(): every form of
 * the fetch-argument grammar, every refusal with the position it names,
 * and the round trip through the text.
 */
#include <errno.h>
#include <string.h>

#include "kp_fetch.h"
#include "t.h"

/* Parse @text; it must succeed and print back as @canon. */
static void ok(const char *text, const char *canon, struct kp_fetch *f)
{
	struct kp_fetch_error e;
	struct kp_fetch again;
	char buf[512];
	int rc = kp_fetch_parse(text, f, &e);

	T_OK(rc == 0, "parse '%s' (%s at %zu)", text, rc ? e.msg : "ok", e.pos);
	if (rc)
		return;
	rc = kp_fetch_format(f, buf, sizeof(buf));
	T_OK(rc > 0 && !strcmp(buf, canon), "'%s' prints as '%s' (got '%s')", text, canon,
	     rc > 0 ? buf : "(error)");
	T_OK(kp_fetch_parse(buf, &again, &e) == 0 && !memcmp(&again, f, sizeof(again)),
	     "'%s' parses back to the same tree", buf);
}

/* Parse @text; it must fail at @pos with a message holding @want. */
static void bad(const char *text, size_t pos, const char *want)
{
	struct kp_fetch_error e;
	struct kp_fetch f;
	int rc = kp_fetch_parse(text, &f, &e);

	T_OK(rc == -EINVAL && e.pos == pos && strstr(e.msg, want),
	     "'%s' is refused at %zu with '%s' (got %d at %zu: %s)", text, pos, want, rc, e.pos,
	     e.msg);
}

static void check(const char *text, enum kp_fetch_ctx ctx, const char *want)
{
	struct kp_fetch_error e;
	struct kp_fetch f;
	int rc = kp_fetch_parse(text, &f, &e);

	if (rc) {
		T_OK(0, "'%s' parses (%s)", text, e.msg);
		return;
	}
	rc = kp_fetch_check(&f, ctx, &e);
	if (!want)
		T_OK(rc == 0, "'%s' is taken in context %d (got: %s)", text, (int)ctx,
		     rc ? e.msg : "ok");
	else
		T_OK(rc == -EINVAL && strstr(e.msg, want), "'%s' in context %d: '%s' (got: %s)",
		     text, (int)ctx, want, rc ? e.msg : "taken");
}

static void test_forms(void)
{
	struct kp_fetch f;

	ok("$filename", "$filename", &f);
	T_OK(f.base == KP_FETCH_FIELD && !strcmp(f.name, "filename") && !f.nderef &&
		 f.type.kind == KP_FETCH_DEFAULT,
	     "$filename: a field, no dereference, no type");
	ok("+0($filename):ustring", "+0($filename):ustring", &f);
	T_OK(f.nderef == 1 && f.deref[0].off == 0 && !f.deref[0].user &&
		 f.type.kind == KP_FETCH_USTRING && !f.type.array,
	     "+0($filename):ustring: one kernel dereference at 0, a user string");
	ok("+u8(+0(%di)):u32", "+u8(+0(%di)):u32", &f);
	T_OK(f.base == KP_FETCH_REG && !strcmp(f.name, "di") && f.nderef == 2 &&
		 f.deref[0].off == 0 && !f.deref[0].user && f.deref[1].off == 8 &&
		 f.deref[1].user && f.type.kind == KP_FETCH_UINT && f.type.size == 4,
	     "+u8(+0(%%di)):u32: the innermost dereference first, then the user one at 8");
	ok("$argv:ustring[8]", "$argv:ustring[8]", &f);
	T_OK(f.type.kind == KP_FETCH_USTRING && f.type.array == 8, "an array of 8 user strings");
	ok("-16(%sp):x64", "-16(%sp):x64", &f);
	T_EQ_INT(f.deref[0].off, -16, "a negative offset");
	ok("+0x10($x):b4@2/8", "+16($x):b4@2/8", &f);
	T_OK(f.type.kind == KP_FETCH_BITFIELD && f.type.size == 1 && f.type.width == 4 &&
		 f.type.shift == 2,
	     "a bitfield of 4 bits at bit 2 of a byte; the hex offset is 16");
	ok("+010($x):s16", "+8($x):s16", &f);
	T_EQ_INT(f.deref[0].off, 8, "an octal offset, as the kernel reads it");
	ok("\\42", "\\42", &f);
	T_OK(f.base == KP_FETCH_IMM && f.num == 42, "an immediate");
	ok("\\-1:s32", "\\-1:s32", &f);
	T_OK(f.base == KP_FETCH_IMM && f.num == -1 && f.type.kind == KP_FETCH_SINT,
	     "a negative immediate");
	ok("\\\"a:b c\":string", "\\\"a:b c\":string", &f);
	T_OK(f.base == KP_FETCH_IMMSTR && !strcmp(f.name, "a:b c"),
	     "a string immediate keeps its ':' and space");
	ok("@0xffffffff81000000", "@18446744071578845184", &f);
	T_OK(f.base == KP_FETCH_ADDR && (uint64_t)f.num == 0xffffffff81000000ull, "an address");
	ok("@jiffies+8:u64", "@jiffies+8:u64", &f);
	T_OK(f.base == KP_FETCH_SYM && !strcmp(f.name, "jiffies") && f.num == 8, "a symbol + 8");
	ok("@sym.isra.0-4", "@sym.isra.0-4", &f);
	T_EQ_INT(f.num, -4, "a symbol - 4, dots in its name");
	ok("$comm", "$comm", &f);
	T_OK(f.base == KP_FETCH_COMM, "$comm");
	ok("$COMM:string", "$COMM:string", &f);
	T_OK(f.base == KP_FETCH_COMM && f.type.kind == KP_FETCH_STRING, "$COMM:string");
	ok("$retval", "$retval", &f);
	T_OK(f.base == KP_FETCH_RETVAL, "$retval");
	ok("$stack", "$stack", &f);
	T_OK(f.base == KP_FETCH_STACK, "$stack");
	ok("$stack3", "$stack3", &f);
	T_OK(f.base == KP_FETCH_STACKN && f.num == 3, "$stack3");
	ok("$arg2:s64", "$arg2:s64", &f);
	T_OK(f.base == KP_FETCH_ARG && f.num == 2 && !strcmp(f.name, "arg2"),
	     "$arg2, its name kept (an event may have a field so named)");
	ok("$x:char", "$x:char", &f);
	ok("$x:symbol", "$x:symbol", &f);
	ok("$x:symstr", "$x:symstr", &f);
	ok("$x:x8[64]", "$x:x8[64]", &f);
	T_EQ_INT(f.type.array, 64, "the longest array");
	ok("+1(+2(+3(+4(+5(+6(+7(+8($x))))))))", "+1(+2(+3(+4(+5(+6(+7(+8($x))))))))", &f);
	T_OK(f.nderef == 8 && f.deref[0].off == 8 && f.deref[7].off == 1,
	     "eight nested dereferences, the innermost first");
}

static void test_refusals(void)
{
	bad("", 0, "expected a fetch argument");
	bad("filename", 0, "cannot start a fetch argument");
	bad("$", 1, "expected a field or variable name");
	bad("$1x", 1, "expected a field or variable name");
	bad("+0($filename", 12, "expected ')'");
	bad("+0$filename)", 2, "expected '(' after the offset");
	bad("+($x)", 1, "expected an offset");
	bad("+8x($x)", 2, "unexpected 'x' in an offset");
	bad("+0($filename):ustrin", 14, "unknown type 'ustrin'");
	bad("$x:u12", 3, "unknown type 'u12'");
	bad("$x:", 3, "unknown type ''");
	bad("$x:u32[0]", 6, "an array length is 1 to 64");
	bad("$x:u32[65]", 6, "an array length is 1 to 64");
	bad("$x:u32[4", 8, "expected ']'");
	bad("$x:b9@0/8", 3, "must fit in a container");
	bad("$x:b0@0/8", 3, "must fit in a container");
	bad("$x:b4@6/8", 3, "must fit in a container");
	bad("$x:b4@0/12", 3, "must fit in a container");
	bad("$x:b4", 3, "a bitfield is b<width>@<offset>/<container size>");
	bad("$x:b4@0/8[2]", 9, "a bitfield cannot be an array");
	bad("$arg0", 1, "$arg0: bad index");
	bad("$x junk", 2, "unexpected ' '");
	bad("$x)", 2, "unexpected ')'");
	bad("\\\"abc", 1, "unterminated string immediate");
	bad("\\x", 1, "expected an immediate");
	bad("@", 1, "expected an address or a symbol");
	bad("@sym+", 5, "expected a symbol offset");
	bad("%", 1, "expected a register name");
	bad("+99999999999999999999($x)", 1, "an offset is out of range");
	bad("+1(+2(+3(+4(+5(+6(+7(+8(+9($x)))))))))", 24, "too many nested dereferences");
}

static void test_check(void)
{
	check("%di", KP_FETCH_CTX_EVENT, "registers are for kprobes and uprobes");
	check("$filename:ustring", KP_FETCH_CTX_EVENT, NULL);
	check("+0($filename):ustring", KP_FETCH_CTX_EVENT, NULL);
	check("$arg1", KP_FETCH_CTX_EVENT, NULL); /* a field so named, if there is one */
	check("$filename", KP_FETCH_CTX_KPROBE, "only tracepoints have fields");
	check("$filename", KP_FETCH_CTX_UPROBE, "only tracepoints have fields");
	check("$retval", KP_FETCH_CTX_KPROBE, "only a return probe has a return value");
	check("$retval", KP_FETCH_CTX_KRETPROBE, NULL);
	check("$retval", KP_FETCH_CTX_URETPROBE, NULL);
	check("%di:string", KP_FETCH_CTX_KPROBE, "a string is read from memory");
	check("+0(%di):string", KP_FETCH_CTX_KPROBE, NULL);
	check("$comm:string", KP_FETCH_CTX_KPROBE, NULL);
	check("\\\"x\":string", KP_FETCH_CTX_UPROBE, NULL);
}

static void test_format_space(void)
{
	struct kp_fetch_error e;
	struct kp_fetch f;
	char small[4];

	T_OK(kp_fetch_parse("+0($filename):ustring", &f, &e) == 0, "parse for the short buffer");
	T_EQ_INT(kp_fetch_format(&f, small, sizeof(small)), -ENOSPC,
		 "a buffer too small is -ENOSPC");
}

int main(void)
{
	test_forms();
	test_refusals();
	test_check();
	test_format_space();
	return T_DONE();
}
