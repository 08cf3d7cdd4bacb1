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

static int gen(const char *event, const char *spec, struct kp_bpf_prog *p, char *msg)
{
	struct kp_format *tp = fixture(event);
	struct kp_bpf_arg a[16];
	char buf[1024];
	size_t n;
	int err;

	if (!tp)
		return -ENOENT;
	err = args_of(spec, buf, a, &n, msg);
	if (!err)
		err = kp_bpf_gen(tp, 7, "ev", a, n, p, msg, 512);
	kp_format_free(tp);
	return err;
}

/* The corpus: each spec's format and listing, exactly. */
static void golden(const char *name, const char *event, const char *spec)
{
	static char listing[1 << 20];
	char path[PATH_MAX + 128], msg[512] = "";
	struct kp_bpf_prog p;
	char *want, *got;
	size_t len;
	int err = gen(event, spec, &p, msg);

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
		char name[64], event[128], *args, *colon;
		int used;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%63s %127s %n", name, event, &used) != 2)
			continue;
		args = line + used;
		colon = strchr(event, ':');
		if (colon)
			*colon = '.';
		golden(name, event, args);
		n++;
	}
	fclose(f);
	T_OK(n >= 8, "the corpus has %d specs", n);
}

static void refused(const char *event, const char *spec, const char *want)
{
	char msg[512] = "";
	struct kp_bpf_prog p;
	int err = gen(event, spec, &p, msg);

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

	if (gen("syscalls.sys_enter_execve", "argv=+u0($argv):ustring[3] f=$filename:ustring", &p,
		msg))
		return;
	T_EQ_INT(calls(&p, BPF_FUNC_probe_read_user), 3, "argv: 3 pointers read from user memory");
	T_EQ_INT(calls(&p, BPF_FUNC_probe_read_user_str), 4, "argv and filename: 4 user strings");
	T_EQ_INT(calls(&p, BPF_FUNC_probe_read_kernel_str), 0, "no kernel string");
	kp_bpf_prog_free(&p);
	if (gen("syscalls.sys_enter_connect", "x=+8(+0($uservaddr)):u16 k=+4($uservaddr):string",
		&p, msg))
		return;
	T_EQ_INT(calls(&p, BPF_FUNC_probe_read_kernel), 2, "+N(...): kernel reads");
	T_EQ_INT(calls(&p, BPF_FUNC_probe_read_kernel_str), 1, ":string: a kernel string");
	kp_bpf_prog_free(&p);
	if (gen("syscalls.sys_enter_connect", "x=+u8(+u0($uservaddr)):u16 k=+u4($uservaddr):string",
		&p, msg))
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
		"argv=+u0($filename):ustring[3] d=$dfd:s32 p=$filename:ustring", &p, msg))
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
	refused("syscalls.sys_enter_openat", "p=+0($filenam):ustring",
		"no field 'filenam' (its fields: __syscall_nr, dfd, filename, flags, mode)");
	refused("sched.sched_process_exec", "p=+0($pid):u32", "$pid is not a pointer");
	refused("sched.sched_process_exec", "p=+0($filename):u32", "$filename is not a pointer");
	refused("sched.sched_process_exec", "p=$filename:u64", "$filename is not an integer field");
	refused("syscalls.sys_enter_openat", "p=$filename:u32[4]", "an array is read from memory");
	refused("syscalls.sys_enter_openat", "p=+0($filename):symstr", "symstr needs");
	refused("syscalls.sys_enter_openat", "p=$comm:u32", "$comm is a string");
	refused("syscalls.sys_enter_openat", "p=\\1:string", "a number is not a string");
	refused("syscalls.sys_enter_openat", "p=%di", "a tracepoint's arguments are its fields");
	refused("syscalls.sys_enter_openat",
		"a=+0($filename):u64[64] b=+0($filename):u64[64] c=+0($filename):u64[64] "
		"d=+0($filename):u64[64] e=+0($filename):u64[64] f=+0($filename):u64[64] "
		"g=+0($filename):u64[64] h=+0($filename):u64[64] i=+0($filename):u64[64]",
		"the arguments take 4616 bytes of a record; the most is 4096");
	decode_back();
	return T_DONE();
}
