// SPDX-License-Identifier: MIT
/*
 * kp_bpf_gen(): fetch arguments on a tracepoint, compiled to BPF. For a
 * corpus of specs on real tracepoint formats (tests/fixtures/format), the
 * records' format and the program's listing are compared exactly with
 * tests/fixtures/bpfgen/NAME.txt (KP_BLESS=1 writes them; read the diff
 * before committing one); what this backend refuses, with the message;
 * and records laid out by a generated format decoded back (the string
 * lists included, and the kernel's own text for a probe's string array).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kp_bpf.h"
#include "kp_bpf_emit.h"
#include "kp_bpf_filter.h"
#include "kp_bpf_gen.h"
#include "kp_decode.h"
#include "kp_err.h"
#include "kp_fetch.h"
#include "kp_format.h"
#include "t.h"

static char root[PATH_MAX];

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static struct kp_format *fixture(const char *event)
{
	char path[PATH_MAX + 64];
	struct kp_format *fmt;
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/format/%s.format", root, event);
	text = slurp(path, &len);
	if (!text) {
		printf("# cannot read %s\n", path);
		return NULL;
	}
	fmt = kp_format_parse(text, len, "fixture");
	free(text);
	return fmt;
}

/* "a=X b=Y" into @a (names and texts in @buf). */
static int args_of(const char *spec, char *buf, struct kp_bpf_arg *a, size_t *n, char *why)
{
	char *save = NULL;
	struct kp_fetch_error e;

	*n = 0;
	strcpy(buf, spec);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');

		*eq = '\0';
		a[*n].name = t;
		if (kp_fetch_parse(eq + 1, &a[*n].f, &e)) {
			snprintf(why, 256, "%s", e.msg);
			return -EINVAL;
		}
		(*n)++;
	}
	return 0;
}

static int gen(const char *event, const char *spec, const char *filter, struct kp_bpf_prog *p,
	       char *msg)
{
	/* "raw:GROUP.EVENT": the raw tracepoint's program ($argN) */
	bool raw = !strncmp(event, "raw:", 4);
	struct kp_format *tp = fixture(raw ? event + 4 : event);
	struct kp_bpf_arg a[16];
	char buf[1024];
	size_t n;
	int err;

	if (!tp)
		return -ENOENT;
	err = args_of(spec, buf, a, &n, msg);
	if (!err)
		err = kp_bpf_gen(tp, 7, "ev", raw, a, n, filter, p, msg, 512);
	kp_format_free(tp);
	return err;
}

/* The corpus: each spec's format and listing, exactly. */
static void golden(const char *name, const char *event, const char *spec, const char *filter)
{
	static char listing[1 << 20];
	char path[PATH_MAX + 128], msg[512] = "";
	struct kp_bpf_prog p;
	char *want, *got;
	size_t len;
	int err = gen(event, spec, filter, &p, msg);

	T_OK(!err, "%s: '%s' compiles (%s)", name, spec, msg);
	if (err)
		return;
	kp_bpf_listing(p.insn, p.n, listing, sizeof(listing));
	got = malloc(strlen(p.format) + strlen(listing) + 1);
	strcpy(got, p.format);
	strcat(got, listing);
	snprintf(path, sizeof(path), "%s/bpfgen/%s.txt", root, name);
	if (getenv("KP_BLESS")) {
		FILE *f = fopen(path, "w");

		fputs(got, f);
		fclose(f);
	}
	want = slurp(path, &len);
	T_OK(want && !strcmp(want, got), "%s: the format and program are as in %s", name, path);
	if (want && strcmp(want, got))
		printf("# got:\n%s", got);
	free(want);
	free(got);
	kp_bpf_prog_free(&p);
}

/* Every line of tests/fixtures/bpfgen/corpus.txt: NAME GROUP:EVENT ARGS */
static void corpus(void)
{
	char path[PATH_MAX + 64], line[2048];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/bpfgen/corpus.txt", root);
	f = fopen(path, "r");
	T_OK(f != NULL, "the corpus %s is there", path);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char name[64], event[128], *args, *colon, *filter;
		int used;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%63s %127s %n", name, event, &used) != 2)
			continue;
		args = line + used;
		filter = strstr(args, " | ");
		if (filter) {
			*filter = '\0';
			filter += 3;
		}
		colon = strrchr(event, ':');
		if (colon)
			*colon = '.';
		golden(name, event, args, filter);
		n++;
	}
	fclose(f);
	T_OK(n >= 8, "the corpus has %d specs", n);
}

static void refused(const char *event, const char *spec, const char *filter, const char *want)
{
	char msg[512] = "";
	struct kp_bpf_prog p;
	int err = gen(event, spec, filter, &p, msg);

	T_OK(err == -EINVAL && strstr(msg, want), "'%s' on %s is refused with '%s' (got %d: %s)",
	     spec, event, want, err, msg);
	if (!err)
		kp_bpf_prog_free(&p);
}

/* How often helper @fn is called. */
static int calls(const struct kp_bpf_prog *p, int fn)
{
	int n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += p->insn[i].code == (BPF_JMP | BPF_CALL) && p->insn[i].imm == fn;
	return n;
}

static void helpers(void)
{
	struct kp_bpf_prog p;
	char msg[512];

	if (gen("syscalls.sys_enter_execve", "argv=+u0($argv):ustring[3] f=$filename:ustring", NULL,
		&p, msg))
		return;
	T_EQ_INT(calls(&p, BPF_FUNC_probe_read_user), 3, "argv: 3 pointers read from user memory");
	T_EQ_INT(calls(&p, BPF_FUNC_probe_read_user_str), 4, "argv and filename: 4 user strings");
	T_EQ_INT(calls(&p, BPF_FUNC_probe_read_kernel_str), 0, "no kernel string");
	kp_bpf_prog_free(&p);
	if (gen("syscalls.sys_enter_connect", "x=+8(+0($uservaddr)):u16 k=+4($uservaddr):string",
		NULL, &p, msg))
		return;
	T_EQ_INT(calls(&p, BPF_FUNC_probe_read_kernel), 2, "+N(...): kernel reads");
	T_EQ_INT(calls(&p, BPF_FUNC_probe_read_kernel_str), 1, ":string: a kernel string");
	kp_bpf_prog_free(&p);
	if (gen("syscalls.sys_enter_connect", "x=+u8(+u0($uservaddr)):u16 k=+u4($uservaddr):string",
		NULL, &p, msg))
		return;
	T_EQ_INT(calls(&p, BPF_FUNC_probe_read_user), 2, "+uN(...): user reads");
	T_EQ_INT(calls(&p, BPF_FUNC_probe_read_user_str), 1, "+uN(...):string reads user memory");
	kp_bpf_prog_free(&p);
}

static void put32(unsigned char *rec, size_t off, uint32_t v)
{
	memcpy(rec + off, &v, 4);
}

/* A record as the program lays it out, decoded by its own format. */
static void decode_back(void)
{
	unsigned char rec[256] = { 0 };
	struct kp_bpf_prog p;
	struct kp_format *fmt;
	struct kp_value v;
	const char *s;
	size_t len;
	char msg[512];
	uint32_t fd = 0xfffffff6u;

	if (gen("syscalls.sys_enter_openat",
		"argv=+u0($filename):ustring[3] d=$dfd:s32 p=$filename:ustring", NULL, &p, msg))
		return;
	fmt = kp_format_parse(p.format, strlen(p.format), "kpscript");
	T_OK(fmt != NULL, "the generated format parses");
	if (!fmt)
		return;
	T_EQ_INT(kp_format_nfields(fmt), 7, "4 common fields and 3 arguments");
	/* argv at 8 (3 locs), d at 20, p at 24; strings from p.fixed */
	T_EQ_INT(p.fixed, 32, "the fixed part is 28 bytes, rounded to 8");
	memcpy(rec + 32, "ls\0-l\0\0/etc\0", 12);
	put32(rec, 8, 3u << 16 | 32);
	put32(rec, 12, 3u << 16 | 35);
	put32(rec, 16, 0); /* the NULL that ends argv */
	memcpy(rec + 20, &fd, 4);
	put32(rec, 24, 5u << 16 | 39);
	T_OK(!kp_field_decode(kp_format_field(fmt, 4), rec, 44, &v) && v.type == KP_VAL_STRS &&
		 v.len == 3,
	     "argv decodes as a list of 3 entries");
	T_OK(!kp_value_str(&v, rec, 44, 0, &s, &len) && len == 2 && !memcmp(s, "ls", 2),
	     "argv[0] is \"ls\"");
	T_OK(!kp_value_str(&v, rec, 44, 1, &s, &len) && len == 2 && !memcmp(s, "-l", 2),
	     "argv[1] is \"-l\"");
	T_EQ_INT(kp_value_str(&v, rec, 44, 2, &s, &len), 1, "argv[2] is empty: the list ends");
	T_EQ_INT(kp_value_str(&v, rec, 44, 3, &s, &len), -KP_EBOUNDS, "no argv[3]");
	put32(rec, 12, 30u << 16 | 35);
	T_EQ_INT(kp_value_str(&v, rec, 44, 1, &s, &len), -KP_EBOUNDS,
		 "a loc past the record is refused");
	T_OK(!kp_field_decode(kp_format_field(fmt, 5), rec, 44, &v) && v.type == KP_VAL_INT &&
		 v.i == -10,
	     "d is the s32 -10");
	T_OK(!kp_field_decode(kp_format_field(fmt, 6), rec, 44, &v) && v.type == KP_VAL_STR &&
		 v.len == 4 && !memcmp(v.ptr, "/etc", 4),
	     "p is \"/etc\"");
	kp_format_free(fmt);
	kp_bpf_prog_free(&p);

	/* the kernel's own text for a probe's string array */
	fmt = fixture("kpfixture.strs");
	T_OK(fmt && kp_format_field(fmt, 5)->kind == KP_FIELD_DYN_STRS &&
		 kp_format_field(fmt, 5)->count == 2 &&
		 kp_format_field(fmt, 6)->kind == KP_FIELD_ARRAY,
	     "a uprobe's `__data_loc char[][2] a` is a list of 2 strings, b[] an array");
	kp_format_free(fmt);
}

/* The emitter's labels: a jump lands where its label is placed; a label
 * never placed is an error, not a jump into the blue. */
static void labels(void)
{
	struct kp_emit e = { 0 };
	int l = kp_em_label(&e), never = kp_em_label(&e);

	kp_em_jmpi(&e, BPF_JEQ, R1, 0, l);
	kp_em_movi(&e, R0, 1);
	kp_em_movi(&e, R0, 2);
	kp_em_place(&e, l);
	kp_em_movi(&e, R0, 3);
	T_EQ_INT(kp_em_finish(&e), 0, "a placed label: finish succeeds");
	T_EQ_INT(e.v[0].off, 2, "the jump skips the two instructions before its label");
	kp_em_jmpi(&e, BPF_JA, 0, 0, never);
	T_EQ_INT(kp_em_finish(&e), -EINVAL, "a label never placed: -EINVAL");
	kp_em_release(&e);
	free(e.v);
}

/* The jump a one-predicate filter compiles to: it drops what fails. */
static void filter_jump(const char *text, int op, int32_t imm)
{
	const struct kp_bpf_field f[] = { { .name = "a", .off = 8, .size = 4 },
					  { .name = "b", .off = 12, .size = 4, .is_signed = true } };
	struct kp_emit e = { 0 };
	char msg[256] = "";
	int drop = kp_em_label(&e), err;
	const struct bpf_insn *j = NULL;

	err = kp_bpf_filter_gen(text, f, 2, &e, drop, 32768, msg, sizeof(msg));
	kp_em_place(&e, drop);
	for (size_t i = 0; !err && i < e.n; i++)
		if (BPF_CLASS(e.v[i].code) == BPF_JMP)
			j = &e.v[i];
	T_OK(!err && j && BPF_OP(j->code) == op && j->imm == imm,
	     "filter '%s' drops with jump op 0x%x imm %d (got %s op 0x%x imm %d)", text, op, imm,
	     err ? msg : "ok", j ? BPF_OP(j->code) : 0, j ? j->imm : 0);
	kp_em_release(&e);
	free(e.v);
}

/* What a refusal quotes of the verifier's log: its last four lines. */
static void log_tail(void)
{
	char out[256];

	kp_bpf_log_tail("0: R1=ctx() R10=fp0\n0: (bf) r6 = r1\n1: (85) call bpf_x#999\n"
			"invalid func unknown#999\nprocessed 2 insns (limit 1000000)\n\n",
			out, sizeof(out));
	T_OK(!strcmp(out, "0: (bf) r6 = r1\n1: (85) call bpf_x#999\ninvalid func unknown#999\n"
			  "processed 2 insns (limit 1000000)"),
	     "the verifier's last four lines, the trailing newlines left out");
	kp_bpf_log_tail("one line", out, sizeof(out));
	T_EQ_STR(out, "one line", "a one-line log whole");
	kp_bpf_log_tail("", out, sizeof(out));
	T_EQ_STR(out, "", "an empty log: nothing");
}

int main(int argc, char **argv)
{
	const char *env = getenv("KP_FIXTURE_DIR");

	(void)argc;
	/* KP_FIXTURE_DIR names tests/fixtures/format; the corpus is beside it */
	if (env && *env)
		snprintf(root, sizeof(root), "%s/..", env);
	else if (fopen("tests/fixtures/README.md", "r"))
		snprintf(root, sizeof(root), "tests/fixtures");
	else
		snprintf(root, sizeof(root), "%s/../../tests/fixtures", argv[0]);

	corpus();
	helpers();
	refused("syscalls.sys_enter_openat", "p=+0($filenam):ustring", NULL,
		"no field 'filenam' (its fields: __syscall_nr, dfd, filename, flags, mode)");
	refused("sched.sched_process_exec", "p=+0($pid):u32", NULL, "$pid is not a pointer");
	refused("sched.sched_process_exec", "p=+0($filename):u32", NULL,
		"$filename is not a pointer");
	refused("sched.sched_process_exec", "p=$filename:u64", NULL,
		"$filename is not an integer field");
	refused("syscalls.sys_enter_openat", "p=$filename:u32[4]", NULL,
		"an array is read from memory");
	refused("syscalls.sys_enter_openat", "p=+0($filename):symstr", NULL, "symstr needs");
	refused("syscalls.sys_enter_openat", "p=$comm:u32", NULL, "$comm is a string");
	refused("syscalls.sys_enter_openat", "p=\\1:string", NULL, "a number is not a string");
	refused("syscalls.sys_enter_openat", "p=%di", NULL,
		"a tracepoint's arguments are its fields");
	refused("raw:sched.sched_process_exec", "p=$pid", NULL, "on a raw tracepoint only $argN");
	refused("raw:sched.sched_process_exec", "p=$arg13", NULL, "arguments $arg1 to $arg12");
	refused("sched.sched_process_exec", "p=$arg1", NULL, "the tracepoint has no field 'arg1'");
	refused("syscalls.sys_enter_openat",
		"a=+0($filename):u64[64] b=+0($filename):u64[64] c=+0($filename):u64[64] "
		"d=+0($filename):u64[64] e=+0($filename):u64[64] f=+0($filename):u64[64] "
		"g=+0($filename):u64[64] h=+0($filename):u64[64] i=+0($filename):u64[64]",
		NULL, "the arguments take 4616 bytes of a record; the most is 4096");
	/* filters: what the program cannot apply is refused, with the column */
	refused("syscalls.sys_enter_openat", "p=$filename:ustring f=$flags", "nope == 1",
		"filter 'nope == 1': at column 1: no field 'nope' (the record's fields: p, f)");
	refused("syscalls.sys_enter_openat", "p=$filename:ustring f=$flags", "p > 3",
		"at column 3: 'p' is a string: it takes ==, != or ~");
	refused("syscalls.sys_enter_openat", "p=$filename:ustring f=$flags", "f == \"x\"",
		"at column 6: 'f' is a number: compare it with a number");
	refused("syscalls.sys_enter_openat", "p=$filename:ustring f=$flags", "p ~ \"*etc*\"",
		"at column 5: a '*text*' glob is not compiled into BPF");
	refused("syscalls.sys_enter_openat", "p=$filename:ustring f=$flags", "p ~ \"/e?c\"",
		"'?' and '[...]' globs are not compiled into BPF");
	refused("syscalls.sys_enter_openat", "p=$filename:ustring f=$flags", "(f == 1",
		"at column 2: '(' is not closed");
	refused("syscalls.sys_enter_openat", "p=$filename:ustring f=$flags", "f == 1 junk",
		"at column 8: 'junk' was not expected here");
	refused("syscalls.sys_enter_openat", "p=$filename:ustring f=$flags", "f ~ 1",
		"'~' is for strings; 'f' is a number");
	refused("syscalls.sys_enter_execve", "argv=+u0($argv):ustring[3]", "argv == \"x\"",
		"'argv' is an array or a list");
	refused("syscalls.sys_enter_openat", "p=$filename:ustring f=$flags", "f == -1",
		"'f' is unsigned: a negative number is no value of it");
	{
		char deep[400];

		memset(deep, '!', 200);
		snprintf(deep + 200, sizeof(deep) - 200, "(f == 1)");
		refused("syscalls.sys_enter_openat", "p=$filename:ustring f=$flags", deep,
			"nested more than 64 deep");
	}
	labels();
	log_tail();
	filter_jump("a > 5", BPF_JLE, 5);
	filter_jump("!(a > 5)", BPF_JGT, 5);
	filter_jump("a <= 7", BPF_JGT, 7);
	filter_jump("b < -3", BPF_JSGE, -3);
	filter_jump("b >= 0", BPF_JSLT, 0);
	filter_jump("a != 9", BPF_JEQ, 9);
	filter_jump("!(a & 4)", BPF_JSET, 0);
	/* numbers cast to the field's type, as the kernel compares them */
	filter_jump("b == 0xfffffffd", BPF_JNE, -3);
	filter_jump("a == 0x100000005", BPF_JNE, 5);
	decode_back();
	return T_DONE();
}
