// SPDX-License-Identifier: MIT
/*
 * kp_format: compiling real tracefs format files (tests/fixtures/format,
 * see tests/fixtures/README.md) and decoding records laid out at their
 * offsets, including records whose __data_loc words lie.
 *
 * Fixtures are found in $KP_FIXTURE_DIR, else tests/fixtures/format from
 * the working directory, else ../../tests/fixtures/format from the binary.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_err.h"
#include "kp_decode.h"
#include "kp_format.h"
#include "t.h"

static char fixture_dir[PATH_MAX];

static void find_fixture_dir(const char *argv0)
{
	const char *env = getenv("KP_FIXTURE_DIR");
	const char *slash;
	FILE *f;

	if (env && *env) {
		snprintf(fixture_dir, sizeof(fixture_dir), "%s", env);
		return;
	}
	snprintf(fixture_dir, sizeof(fixture_dir), "tests/fixtures/format");
	f = fopen("tests/fixtures/format/sched.sched_switch.format", "r");
	if (f) {
		fclose(f);
		return;
	}
	slash = strrchr(argv0, '/');
	if (slash)
		snprintf(fixture_dir, sizeof(fixture_dir), "%.*s/../../tests/fixtures/format",
			 (int)(slash - argv0), argv0);
}

/* The file's bytes in an exact-size buffer: no NUL after them, for ASan. */
static char *load(const char *file, size_t *len)
{
	char path[PATH_MAX + 256];
	char *buf = NULL;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fixture_dir, file);
	f = fopen(path, "rb");
	if (!f)
		goto fail;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0)
		goto fail_f;
	buf = malloc((size_t)n);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto fail_f;
	fclose(f);
	*len = (size_t)n;
	return buf;
fail_f:
	fclose(f);
fail:
	free(buf);
	printf("# cannot read %s\n", path);
	return NULL;
}

static struct kp_format *parse_fixture(const char *file, const char *system)
{
	struct kp_format *fmt;
	size_t len;
	char *text = load(file, &len);

	T_OK(text != NULL, "fixture %s readable", file);
	if (!text)
		return NULL;
	errno = 0;
	fmt = kp_format_parse(text, len, system);
	T_OK(fmt != NULL, "parse %s (errno %d)", file, errno);
	free(text);
	return fmt;
}

/* One `field:` line of the fixture text, parsed independently of libtraceevent. */
struct text_field {
	char name[64];
	unsigned int offset, size;
	int is_signed;
	bool common;
};

static size_t text_fields(const char *text, size_t len, struct text_field *tf, size_t max, int *id,
			  char *name, size_t namesz)
{
	char *copy = malloc(len + 1);
	char *line, *p, *semi, *tok;
	bool in_format = false, common = true;
	size_t n = 0;

	*id = -1;
	name[0] = '\0';
	if (!copy)
		return 0;
	memcpy(copy, text, len);
	copy[len] = '\0';
	/* Line by line: the empty line after the common fields matters. */
	for (line = copy; (p = strchr(line, '\n')) != NULL; line = p + 1) {
		*p = '\0';
		if (strncmp(line, "ID: ", 4) == 0)
			*id = atoi(line + 4);
		else if (strncmp(line, "name: ", 6) == 0)
			snprintf(name, namesz, "%s", line + 6);
		else if (strcmp(line, "format:") == 0)
			in_format = true;
		else if (in_format && line[0] == '\0')
			common = false;
		else if (in_format && (p - line) > 0 && (tok = strstr(line, "field:")) != NULL &&
			 n < max) {
			semi = strchr(tok, ';');
			if (!semi)
				continue;
			*semi = '\0';
			tok = strrchr(tok, ' ');
			tok = tok ? tok + 1 : line;
			snprintf(tf[n].name, sizeof(tf[n].name), "%.*s", (int)strcspn(tok, "["),
				 tok);
			if (sscanf(semi + 1, "\toffset:%u;\tsize:%u;\tsigned:%d;", &tf[n].offset,
				   &tf[n].size, &tf[n].is_signed) != 3)
				continue;
			tf[n].common = common;
			n++;
		}
	}
	free(copy);
	return n;
}

/* Every fixture: id, name, system, field count and every field against its text. */
static void test_fixture_text(const char *file, const char *system)
{
	struct text_field tf[64];
	char ename[128];
	struct kp_format *fmt;
	const struct kp_field *f;
	size_t len, n, i;
	char *text;
	int id;
	bool all = true;

	text = load(file, &len);
	T_OK(text != NULL, "%s: readable", file);
	if (!text)
		return;
	n = text_fields(text, len, tf, 64, &id, ename, sizeof(ename));
	fmt = kp_format_parse(text, len, system);
	free(text);
	T_OK(fmt != NULL, "%s: parses", file);
	if (!fmt)
		return;
	T_OK(n > 0 && id >= 0, "%s: text has fields and an ID", file);
	T_EQ_INT(kp_format_id(fmt), id, "ID");
	T_EQ_STR(kp_format_name(fmt), ename, "name");
	T_EQ_STR(kp_format_system(fmt), system, "system");
	T_EQ_UINT(kp_format_nfields(fmt), n, "field count");
	for (i = 0; i < n && i < kp_format_nfields(fmt); i++) {
		f = kp_format_field(fmt, i);
		if (!f || strcmp(f->name, tf[i].name) != 0 || f->offset != tf[i].offset ||
		    f->size != tf[i].size || f->is_signed != (tf[i].is_signed != 0) ||
		    f->common != tf[i].common) {
			all = false;
			printf("# %s field %zu: got %s off %u size %u signed %d common %d, "
			       "text %s %u %u %d %d\n",
			       file, i, f ? f->name : "(null)", f ? f->offset : 0, f ? f->size : 0,
			       f ? f->is_signed : 0, f ? f->common : 0, tf[i].name, tf[i].offset,
			       tf[i].size, tf[i].is_signed, tf[i].common);
		}
	}
	T_OK(all, "%s: every field's name, offset, size, signed, common match the text", file);
	T_OK(kp_format_field(fmt, n) == NULL, "%s: field past the end is NULL", file);
	kp_format_free(fmt);
}

static const struct kp_field *field(const struct kp_format *fmt, const char *name)
{
	int i = fmt ? kp_format_find(fmt, name) : -1;

	return i < 0 ? NULL : kp_format_field(fmt, (size_t)i);
}

static void check_kind(const struct kp_format *fmt, const char *name, enum kp_field_kind kind,
		       unsigned int elem_size, unsigned int count, bool relative)
{
	const struct kp_field *f = field(fmt, name);

	T_OK(f != NULL, "%s: field %s exists", kp_format_name(fmt), name);
	if (!f)
		return;
	T_OK(f->kind == kind && f->elem_size == elem_size && f->count == count &&
		 f->relative == relative,
	     "%s.%s: kind %d elem %u count %u rel %d (want %d %u %u %d)", kp_format_name(fmt), name,
	     f->kind, f->elem_size, f->count, f->relative, kind, elem_size, count, relative);
}

static void put(unsigned char *rec, size_t off, uint64_t v, unsigned int size)
{
	/* Little-endian, like the host the records come from. */
	for (unsigned int i = 0; i < size; i++)
		rec[off + i] = (unsigned char)(v >> (8 * i));
}

static uint32_t loc(unsigned int off, unsigned int len)
{
	return (uint32_t)(len << 16 | off);
}

static int decode(const struct kp_format *fmt, const char *name, const void *rec, size_t size,
		  struct kp_value *v)
{
	const struct kp_field *f = field(fmt, name);

	memset(v, 0xa5, sizeof(*v));
	if (!f) {
		T_OK(0, "field %s exists", name);
		return -ENOENT;
	}
	return kp_field_decode(f, rec, size, v);
}

static void check_int(const struct kp_format *fmt, const char *name, const void *rec, size_t size,
		      bool is_signed, int64_t want_i, uint64_t want_u)
{
	struct kp_value v;
	int err = decode(fmt, name, rec, size, &v);

	T_OK(err == 0 && v.type == (is_signed ? KP_VAL_INT : KP_VAL_UINT) && v.i == want_i &&
		 v.u == want_u,
	     "%s.%s: err %d type %d i %" PRId64 " u %" PRIu64 " (want type %d i %" PRId64
	     " u %" PRIu64 ")",
	     kp_format_name(fmt), name, err, v.type, v.i, v.u, is_signed ? KP_VAL_INT : KP_VAL_UINT,
	     want_i, want_u);
}

static void check_str(const struct kp_format *fmt, const char *name, const void *rec, size_t size,
		      const char *want, size_t want_len, const char *what)
{
	struct kp_value v;
	int err = decode(fmt, name, rec, size, &v);

	T_OK(err == 0 && v.type == KP_VAL_STR && v.ptr != NULL && v.len == want_len &&
		 memcmp(v.ptr, want, want_len) == 0,
	     "%s.%s %s: err %d type %d len %zu (want len %zu)", kp_format_name(fmt), name, what,
	     err, v.type, v.len, want_len);
}

static void check_bounds(const struct kp_format *fmt, const char *name, const void *rec,
			 size_t size, const char *what)
{
	struct kp_value v;
	int err = decode(fmt, name, rec, size, &v);

	T_EQ_INT(err, -KP_EBOUNDS, what);
}

static void test_kinds(void)
{
	struct kp_format *fmt;
	size_t i;

	fmt = parse_fixture("sched.sched_switch.format", "sched");
	if (fmt) {
		check_kind(fmt, "common_type", KP_FIELD_INT, 2, 1, false);
		check_kind(fmt, "prev_comm", KP_FIELD_CHARS, 1, 16, false);
		check_kind(fmt, "prev_state", KP_FIELD_INT, 8, 1, false);
		T_OK(field(fmt, "prev_state")->is_signed, "sched_switch.prev_state signed");
		T_OK(!field(fmt, "common_type")->is_signed, "common_type unsigned");
		T_OK(field(fmt, "common_pid")->common && !field(fmt, "prev_pid")->common,
		     "common flag on common_pid only");
		T_EQ_INT(kp_format_find(fmt, "common_pid"), 3, "find common_pid");
		T_EQ_INT(kp_format_find(fmt, "prev_comm"), 4, "find prev_comm");
		T_EQ_INT(kp_format_find(fmt, "next_prio"), 10, "find last field");
		T_EQ_INT(kp_format_find(fmt, "nope"), -1, "find missing");
		T_EQ_INT(kp_format_find(fmt, ""), -1, "find empty name");
		T_EQ_INT(kp_format_find(fmt, "prev_com"), -1, "find prefix is no match");
		kp_format_free(fmt);
	}

	/* The kernel prints syscall args as `int dfd` but with size 8. */
	fmt = parse_fixture("syscalls.sys_enter_openat.format", "syscalls");
	if (fmt) {
		check_kind(fmt, "dfd", KP_FIELD_INT, 8, 1, false);
		check_kind(fmt, "filename", KP_FIELD_INT, 8, 1, false);
		T_OK(!field(fmt, "dfd")->is_signed, "openat.dfd signed:0 from the kernel");
		kp_format_free(fmt);
	}

	fmt = parse_fixture("sched.sched_process_exec.format", "sched");
	if (fmt) {
		check_kind(fmt, "filename", KP_FIELD_DYN_STR, 1, 1, false);
		kp_format_free(fmt);
	}

	/* libtraceevent fails this print fmt and gives `unsigned int[]` elementsize 0. */
	fmt = parse_fixture("dma.dma_map_sg.format", "dma");
	if (fmt) {
		check_kind(fmt, "device", KP_FIELD_DYN_STR, 1, 1, false);
		check_kind(fmt, "phys_addrs", KP_FIELD_DYN_ARRAY, 8, 1, false);
		check_kind(fmt, "lengths", KP_FIELD_DYN_ARRAY, 4, 1, false);
		check_kind(fmt, "truncated", KP_FIELD_INT, 1, 1, false);
		check_kind(fmt, "attrs", KP_FIELD_INT, 8, 1, false);
		kp_format_free(fmt);
	}

	fmt = parse_fixture("ipi.ipi_send_cpumask.format", "ipi");
	if (fmt) {
		check_kind(fmt, "cpumask", KP_FIELD_DYN_ARRAY, 1, 1, false);
		kp_format_free(fmt);
	}

	/* u8 / __u8 / unsigned char arrays are binary: arrays, not strings. */
	fmt = parse_fixture("ras.non_standard_event.format", "ras");
	if (fmt) {
		check_kind(fmt, "sec_type", KP_FIELD_CHARS, 1, 16, false);
		check_kind(fmt, "fru_text", KP_FIELD_DYN_STR, 1, 1, false);
		check_kind(fmt, "buf", KP_FIELD_DYN_ARRAY, 1, 1, false);
		kp_format_free(fmt);
	}
	fmt = parse_fixture("icmp.icmp_send.format", "icmp");
	if (fmt) {
		check_kind(fmt, "saddr", KP_FIELD_ARRAY, 1, 4, false);
		check_kind(fmt, "skbaddr", KP_FIELD_INT, 8, 1, false);
		kp_format_free(fmt);
	}
	fmt = parse_fixture("bridge.fdb_delete.format", "bridge");
	if (fmt) {
		check_kind(fmt, "addr", KP_FIELD_ARRAY, 1, 6, false);
		check_kind(fmt, "dev", KP_FIELD_DYN_STR, 1, 1, false);
		kp_format_free(fmt);
	}
	fmt = parse_fixture("raw_syscalls.sys_enter.format", "raw_syscalls");
	if (fmt) {
		check_kind(fmt, "args", KP_FIELD_ARRAY, 8, 6, false);
		check_kind(fmt, "id", KP_FIELD_INT, 8, 1, false);
		kp_format_free(fmt);
	}

	/* Probe array fetches print `u32 arr[]` with size 16 and no count. */
	fmt = parse_fixture("kpfixture.up.format", "kpfixture");
	if (fmt) {
		check_kind(fmt, "__probe_ip", KP_FIELD_INT, 8, 1, false);
		T_EQ_UINT(field(fmt, "__probe_ip")->offset, 8, "uprobe __probe_ip offset");
		check_kind(fmt, "s", KP_FIELD_DYN_STR, 1, 1, false);
		check_kind(fmt, "arr", KP_FIELD_ARRAY, 4, 4, false);
		check_kind(fmt, "b", KP_FIELD_INT, 8, 1, false);
		kp_format_free(fmt);
	}
	fmt = parse_fixture("kpfixture.ret.format", "kpfixture");
	if (fmt) {
		check_kind(fmt, "__probe_func", KP_FIELD_INT, 8, 1, false);
		check_kind(fmt, "__probe_ret_ip", KP_FIELD_INT, 8, 1, false);
		check_kind(fmt, "ret", KP_FIELD_INT, 8, 1, false);
		kp_format_free(fmt);
	}

	fmt = parse_fixture("handmade.foo_rel_loc.format", "sample-trace");
	if (fmt) {
		check_kind(fmt, "foo", KP_FIELD_DYN_STR, 1, 1, true);
		check_kind(fmt, "bitmask", KP_FIELD_DYN_ARRAY, sizeof(unsigned long), 1, true);
		check_kind(fmt, "cpumask", KP_FIELD_DYN_ARRAY, 1, 1, true);
		check_kind(fmt, "bar", KP_FIELD_INT, 4, 1, false);
		kp_format_free(fmt);
	}

	fmt = parse_fixture("syscalls.sys_enter_getppid.format", "syscalls");
	if (fmt) {
		T_EQ_UINT(kp_format_nfields(fmt), 5, "getppid: 4 common + __syscall_nr");
		for (i = 0; i < kp_format_nfields(fmt); i++)
			if (kp_format_field(fmt, i)->kind != KP_FIELD_INT)
				break;
		T_EQ_UINT(i, 5, "getppid: all fields INT");
		kp_format_free(fmt);
	}
}

static void test_ints(void)
{
	unsigned char rec[64];
	struct kp_format *up, *ret, *sw;

	up = parse_fixture("kpfixture.up.format", "kpfixture");
	ret = parse_fixture("kpfixture.ret.format", "kpfixture");
	sw = parse_fixture("sched.sched_switch.format", "sched");
	if (!up || !ret || !sw)
		goto out;

	memset(rec, 0, sizeof(rec));
	put(rec, 0, 0xffff, 2); /* common_type u16 */
	put(rec, 2, 0xff, 1); /* common_flags u8 */
	put(rec, 3, 0x7f, 1); /* common_preempt_count u8 */
	put(rec, 4, 0xffffffff, 4); /* common_pid int: -1 */
	put(rec, 8, UINT64_MAX, 8); /* __probe_ip */
	put(rec, 16, 0x80000000, 4); /* a s32: INT32_MIN */
	put(rec, 20, 0x8000000000000001ull, 8); /* b u64, unaligned */
	put(rec, 48, 0x8001, 2); /* c u16 */
	put(rec, 50, 0x80, 1); /* d s8: -128 */
	check_int(up, "common_type", rec, 51, false, 0xffff, 0xffff);
	check_int(up, "common_flags", rec, 51, false, 0xff, 0xff);
	check_int(up, "common_preempt_count", rec, 51, false, 0x7f, 0x7f);
	check_int(up, "common_pid", rec, 51, true, -1, UINT64_MAX);
	check_int(up, "__probe_ip", rec, 51, false, -1, UINT64_MAX);
	check_int(up, "a", rec, 51, true, INT32_MIN, (uint64_t)(int64_t)INT32_MIN);
	check_int(up, "b", rec, 51, false, (int64_t)0x8000000000000001ull, 0x8000000000000001ull);
	check_int(up, "c", rec, 51, false, 0x8001, 0x8001);
	check_int(up, "d", rec, 51, true, -128, (uint64_t)(int64_t)-128);
	put(rec, 50, 0x7f, 1);
	check_int(up, "d", rec, 51, true, 127, 127);
	put(rec, 16, 0x7fffffff, 4);
	check_int(up, "a", rec, 51, true, INT32_MAX, INT32_MAX);
	/* Short by one byte for d, then for the unaligned u64. */
	check_bounds(up, "d", rec, 50, "s8 in a record one byte short");
	check_bounds(up, "b", rec, 27, "u64 in a record one byte short");
	check_bounds(up, "b", rec, 0, "u64 in an empty record");
	check_int(up, "b", rec, 28, false, (int64_t)0x8000000000000001ull, 0x8000000000000001ull);

	memset(rec, 0, sizeof(rec));
	put(rec, 24, (uint64_t)INT64_MIN, 8);
	check_int(ret, "ret", rec, 32, true, INT64_MIN, (uint64_t)INT64_MIN);
	put(rec, 24, UINT64_MAX, 8);
	check_int(ret, "ret", rec, 32, true, -1, UINT64_MAX);
	put(rec, 24, INT64_MAX, 8);
	check_int(ret, "ret", rec, 32, true, INT64_MAX, INT64_MAX);
	put(rec, 8, 0x401000, 8);
	check_int(ret, "__probe_func", rec, 32, false, 0x401000, 0x401000);
	check_bounds(ret, "ret", rec, 31, "s64 truncated");

	memset(rec, 0, sizeof(rec));
	put(rec, 32, UINT64_MAX, 8); /* prev_state long: -1 */
	put(rec, 56, 0x80000000, 4); /* next_pid */
	put(rec, 60, 5, 4); /* next_prio */
	check_int(sw, "prev_state", rec, 64, true, -1, UINT64_MAX);
	check_int(sw, "next_pid", rec, 64, true, INT32_MIN, (uint64_t)(int64_t)INT32_MIN);
	check_int(sw, "next_prio", rec, 64, true, 5, 5);
	check_bounds(sw, "next_prio", rec, 63, "int with 3 of 4 bytes present");
	check_bounds(sw, "next_prio", rec, 60, "int starting at the record end");
out:
	kp_format_free(up);
	kp_format_free(ret);
	kp_format_free(sw);
}

/* Every size and sign, with hand-made fields (no fixture has a signed u16). */
static void test_int_matrix(void)
{
	static const struct {
		unsigned int size;
		bool is_signed;
		uint64_t bits;
		int64_t i;
		uint64_t u;
	} cases[] = {
		{ 1, false, 0xff, 0xff, 0xff },
		{ 1, true, 0xff, -1, UINT64_MAX },
		{ 1, true, 0x80, INT8_MIN, (uint64_t)(int64_t)INT8_MIN },
		{ 2, false, 0xffff, 0xffff, 0xffff },
		{ 2, true, 0xffff, -1, UINT64_MAX },
		{ 2, true, 0x8000, INT16_MIN, (uint64_t)(int64_t)INT16_MIN },
		{ 2, true, 0x7fff, INT16_MAX, INT16_MAX },
		{ 4, false, 0xffffffff, 0xffffffff, 0xffffffff },
		{ 4, true, 0xffffffff, -1, UINT64_MAX },
		{ 4, true, 0x80000000, INT32_MIN, (uint64_t)(int64_t)INT32_MIN },
		{ 8, false, UINT64_MAX, -1, UINT64_MAX },
		{ 8, true, UINT64_MAX, -1, UINT64_MAX },
		{ 8, true, 0x8000000000000000ull, INT64_MIN, 0x8000000000000000ull },
		{ 8, false, 0, 0, 0 },
	};
	unsigned char rec[3 + 8 + 1];
	struct kp_field f;
	struct kp_value v;
	size_t c;
	int err;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		memset(&f, 0, sizeof(f));
		f.name = "x";
		f.offset = 3; /* odd: unaligned for every size > 1 */
		f.size = f.elem_size = cases[c].size;
		f.count = 1;
		f.kind = KP_FIELD_INT;
		f.is_signed = cases[c].is_signed;
		memset(rec, 0x5a, sizeof(rec)); /* neighbours must not leak in */
		put(rec, 3, cases[c].bits, cases[c].size);
		memset(&v, 0xa5, sizeof(v));
		err = kp_field_decode(&f, rec, 3 + cases[c].size, &v);
		T_OK(err == 0 && v.type == (cases[c].is_signed ? KP_VAL_INT : KP_VAL_UINT) &&
			 v.i == cases[c].i && v.u == cases[c].u,
		     "int size %u signed %d bits %#" PRIx64 ": err %d i %" PRId64 " u %" PRIu64,
		     cases[c].size, cases[c].is_signed, cases[c].bits, err, v.i, v.u);
		err = kp_field_decode(&f, rec, 3 + cases[c].size - 1, &v);
		T_EQ_INT(err, -KP_EBOUNDS, "int one byte short");
	}

	/* offset + size must not wrap. */
	memset(&f, 0, sizeof(f));
	f.name = "far";
	f.offset = UINT_MAX - 3;
	f.size = f.elem_size = 8;
	f.count = 1;
	f.kind = KP_FIELD_INT;
	T_EQ_INT(kp_field_decode(&f, rec, sizeof(rec), &v), -KP_EBOUNDS,
		 "offset near UINT_MAX is out of bounds");

	/* OTHER: raw bytes at the field. No real event on 6.18 has one. */
	f.name = "blob";
	f.offset = 2;
	f.size = f.elem_size = 6;
	f.kind = KP_FIELD_OTHER;
	err = kp_field_decode(&f, rec, sizeof(rec), &v);
	T_OK(err == 0 && v.type == KP_VAL_BYTES && v.ptr == rec + 2 && v.len == 6,
	     "OTHER decodes as the field's bytes (err %d type %d len %zu)", err, v.type, v.len);
	T_EQ_INT(kp_field_decode(&f, rec, 7, &v), -KP_EBOUNDS, "OTHER truncated");
}

static void test_chars(void)
{
	unsigned char rec[64];
	struct kp_format *sw = parse_fixture("sched.sched_switch.format", "sched");

	if (!sw)
		return;
	memset(rec, 0, sizeof(rec));
	memcpy(rec + 8, "abcdefghijklmnop", 16); /* prev_comm: 16 bytes, no NUL */
	memcpy(rec + 24, "ZZZZ", 4); /* prev_pid right after */
	check_str(sw, "prev_comm", rec, 64, "abcdefghijklmnop", 16, "full, no NUL");
	rec[12] = '\0';
	check_str(sw, "prev_comm", rec, 64, "abcd", 4, "NUL at 4");
	rec[8] = '\0';
	check_str(sw, "prev_comm", rec, 64, "", 0, "NUL at 0");
	memcpy(rec + 40, "swapper/0\0garbage", 16);
	check_str(sw, "next_comm", rec, 64, "swapper/0", 9, "NUL then garbage");
	check_bounds(sw, "prev_comm", rec, 23, "char[16] with 15 bytes present");
	check_str(sw, "prev_comm", rec, 24, "", 0, "char[16] exactly at the end");
	kp_format_free(sw);
}

static void test_data_loc_str(void)
{
	unsigned char rec[40];
	unsigned char *big;
	struct kp_format *ex = parse_fixture("sched.sched_process_exec.format", "sched");
	struct kp_value v;
	int err;

	if (!ex)
		return;
	/* filename loc at 8, pid at 12, old_pid at 16, data from 20. */
	memset(rec, 0, sizeof(rec));
	memcpy(rec + 20, "/bin/true", 10);
	put(rec, 8, loc(20, 10), 4);
	check_str(ex, "filename", rec, 30, "/bin/true", 9, "normal, NUL counted in len");
	put(rec, 8, loc(20, 9), 4);
	check_str(ex, "filename", rec, 29, "/bin/true", 9, "len without trailing NUL");
	memcpy(rec + 20, "ab\0cd", 5);
	put(rec, 8, loc(20, 5), 4);
	check_str(ex, "filename", rec, 30, "ab", 2, "NUL inside the area");

	put(rec, 8, loc(20, 0), 4);
	err = decode(ex, "filename", rec, 30, &v);
	T_OK(err == 0 && v.type == KP_VAL_STR && v.len == 0 && v.ptr != NULL &&
		 ((const char *)v.ptr)[0] == '\0',
	     "len 0 is \"\" with a readable pointer (err %d)", err);
	put(rec, 8, loc(30, 0), 4);
	check_str(ex, "filename", rec, 30, "", 0, "len 0 at exactly the record end");

	put(rec, 8, loc(31, 0), 4);
	check_bounds(ex, "filename", rec, 30, "offset one past the record");
	put(rec, 8, loc(0xffff, 0), 4);
	check_bounds(ex, "filename", rec, 30, "offset 0xffff");
	put(rec, 8, loc(20, 11), 4);
	check_bounds(ex, "filename", rec, 30, "length one past the record");
	put(rec, 8, loc(20, 0xffff), 4);
	check_bounds(ex, "filename", rec, 30, "length 0xffff");
	put(rec, 8, loc(0xffff, 0xffff), 4);
	check_bounds(ex, "filename", rec, 30, "offset and length 0xffff");
	put(rec, 8, loc(20, 10), 4);
	check_bounds(ex, "filename", rec, 11, "loc word cut short");
	check_bounds(ex, "filename", rec, 8, "record ends before the loc word");

	/*
	 * offset + len wraps in 16 bits (0xfff0 + 0x20 = 0x10) but not in the
	 * record: a 64 KiB record must still reject it.
	 */
	big = calloc(1, 0x10000);
	if (big) {
		memcpy(big, rec, 20);
		put(big, 8, loc(0xfff0, 0x20), 4);
		check_bounds(ex, "filename", big, 0x10000, "offset+len past 64 KiB");
		put(big, 8, loc(0xfff0, 0x10), 4);
		memcpy(big + 0xfff0, "0123456789abcde", 16);
		check_str(ex, "filename", big, 0x10000, "0123456789abcde", 15,
			  "area ending at 64 KiB");
		put(big, 8, loc(0x10, 0x20), 4);
		check_bounds(ex, "filename", big, 0x11, "small record, in-16-bit area");
		free(big);
	}
	kp_format_free(ex);
}

static void test_rel_loc(void)
{
	unsigned char rec[64];
	struct kp_format *rl = parse_fixture("handmade.foo_rel_loc.format", "sample-trace");
	struct kp_value v;
	int err;

	if (!rl)
		return;
	memset(rec, 0, sizeof(rec));
	/*
	 * foo's word at 8 says offset 12: relative to 8 + 4 that is byte 24.
	 * At byte 12 (where a __data_loc reading would land) sits bar.
	 */
	put(rec, 8, loc(12, 4), 4);
	memcpy(rec + 12, "bar!", 4);
	memcpy(rec + 24, "rel", 4);
	check_str(rl, "foo", rec, 28, "rel", 3, "__rel_loc string from the word's end");
	put(rec, 8, loc(13, 4), 4);
	check_bounds(rl, "foo", rec, 28, "__rel_loc area one byte past the record");
	put(rec, 8, loc(0xffff, 0), 4);
	check_bounds(rl, "foo", rec, 64, "__rel_loc offset 0xffff");

	/* bitmask's word at 16: offset 8 from byte 20, i.e. byte 28, two longs. */
	put(rec, 16, loc(8, 2 * sizeof(unsigned long)), 4);
	put(rec, 28, 0x8000000000000001ull, 8);
	put(rec, 36, 2, 8);
	err = decode(rl, "bitmask", rec, 44, &v);
	T_OK(err == 0 && v.type == KP_VAL_ARRAY && v.len == 2 && v.ptr == rec + 28 &&
		 kp_value_elem_u(&v, 0) == 0x8000000000000001ull && kp_value_elem_u(&v, 1) == 2,
	     "__rel_loc unsigned long[] (err %d len %zu)", err, v.len);
	check_bounds(rl, "bitmask", rec, 43, "__rel_loc array one byte short");
	kp_format_free(rl);
}

static void test_data_loc_array(void)
{
	unsigned char rec[96];
	struct kp_format *dma = parse_fixture("dma.dma_map_sg.format", "dma");
	struct kp_format *ras = parse_fixture("ras.non_standard_event.format", "ras");
	struct kp_value v;
	struct kp_field f;
	int err;

	if (!dma || !ras)
		goto out;
	/* dma_map_sg: phys_addrs loc at 24, lengths loc at 32, data from 48. */
	memset(rec, 0, sizeof(rec));
	put(rec, 24, loc(48, 16), 4);
	put(rec, 48, 1, 8);
	put(rec, 56, UINT64_MAX, 8);
	put(rec, 32, loc(64, 12), 4);
	put(rec, 64, 0xffffffff, 4);
	put(rec, 68, 7, 4);
	put(rec, 72, 0, 4);
	err = decode(dma, "phys_addrs", rec, 76, &v);
	T_OK(err == 0 && v.type == KP_VAL_ARRAY && v.len == 2 && v.elem_size == 8 && !v.is_signed &&
		 kp_value_elem_u(&v, 0) == 1 && kp_value_elem_u(&v, 1) == UINT64_MAX &&
		 kp_value_elem_i(&v, 1) == -1,
	     "u64[] (err %d len %zu elem %u)", err, v.len, v.elem_size);
	err = decode(dma, "lengths", rec, 76, &v);
	T_OK(err == 0 && v.type == KP_VAL_ARRAY && v.len == 3 && v.elem_size == 4 &&
		 kp_value_elem_u(&v, 0) == 0xffffffffu && kp_value_elem_i(&v, 0) == 0xffffffffll &&
		 kp_value_elem_u(&v, 1) == 7 && kp_value_elem_u(&v, 2) == 0,
	     "unsigned int[] zero-extends (err %d len %zu elem %u)", err, v.len, v.elem_size);
	put(rec, 76, 0xdead, 4); /* in the record, but not in the array */
	T_EQ_UINT(kp_value_elem_u(&v, 3), 0, "element past the end is 0");
	T_EQ_INT(kp_value_elem_i(&v, 3), 0, "element past the end is 0 (signed)");
	put(rec, 32, loc(64, 6), 4);
	err = decode(dma, "lengths", rec, 76, &v);
	T_OK(err == 0 && v.len == 1, "partial element dropped (err %d len %zu)", err, v.len);
	put(rec, 32, loc(64, 0), 4);
	err = decode(dma, "lengths", rec, 76, &v);
	T_OK(err == 0 && v.type == KP_VAL_ARRAY && v.len == 0, "empty array (err %d)", err);
	put(rec, 32, loc(64, 16), 4);
	check_bounds(dma, "lengths", rec, 76, "array running past the record");
	put(rec, 32, loc(77, 0), 4);
	check_bounds(dma, "lengths", rec, 76, "array offset past the record");

	/* ras buf is __data_loc u8[]: an IPv4 address keeps its zero bytes. */
	memset(rec, 0, sizeof(rec));
	put(rec, 52, loc(56, 4), 4);
	memcpy(rec + 56, "\x0a\x00\x00\x01", 4);
	err = decode(ras, "buf", rec, 60, &v);
	T_OK(err == 0 && v.type == KP_VAL_ARRAY && v.len == 4 && kp_value_elem_u(&v, 0) == 10 &&
		 kp_value_elem_u(&v, 3) == 1,
	     "u8[] with NULs keeps every byte (err %d type %d len %zu)", err, v.type, v.len);

	/* Signed dynamic array of s16, and elem_size 0 rejected. */
	memset(&f, 0, sizeof(f));
	f.name = "s16s";
	f.offset = 8;
	f.size = 4;
	f.elem_size = 2;
	f.count = 1;
	f.kind = KP_FIELD_DYN_ARRAY;
	f.is_signed = true;
	memset(rec, 0, sizeof(rec));
	put(rec, 8, loc(12, 6), 4);
	put(rec, 12, 0xfffe, 2);
	put(rec, 14, 0x8000, 2);
	put(rec, 16, 0x7fff, 2);
	memset(&v, 0, sizeof(v));
	err = kp_field_decode(&f, rec, 18, &v);
	T_OK(err == 0 && v.len == 3 && v.is_signed && kp_value_elem_i(&v, 0) == -2 &&
		 kp_value_elem_i(&v, 1) == INT16_MIN && kp_value_elem_i(&v, 2) == INT16_MAX &&
		 kp_value_elem_u(&v, 0) == (uint64_t)-2,
	     "signed s16[] sign-extends (err %d len %zu)", err, v.len);
	f.elem_size = 0;
	T_EQ_INT(kp_field_decode(&f, rec, 18, &v), -EINVAL, "DYN_ARRAY elem_size 0 rejected");

	/* A hand-made loc field claiming size 0 still needs its 4-byte word. */
	f.elem_size = 1;
	f.size = 0;
	f.kind = KP_FIELD_DYN_STR;
	put(rec, 8, loc(0, 0), 4); /* a valid "" if the cut word were read */
	T_EQ_INT(kp_field_decode(&f, rec, 10, &v), -KP_EBOUNDS, "size-0 loc field, word cut");
out:
	kp_format_free(dma);
	kp_format_free(ras);
}

static void test_fixed_array(void)
{
	unsigned char rec[64];
	struct kp_format *up = parse_fixture("kpfixture.up.format", "kpfixture");
	struct kp_format *ic = parse_fixture("icmp.icmp_send.format", "icmp");
	struct kp_value v, nv;
	int err;

	if (!up || !ic)
		goto out;
	memset(rec, 0, sizeof(rec));
	put(rec, 32, 0xffffffff, 4);
	put(rec, 36, 1, 4);
	put(rec, 40, 0x80000000, 4);
	put(rec, 44, 42, 4);
	err = decode(up, "arr", rec, 51, &v);
	T_OK(err == 0 && v.type == KP_VAL_ARRAY && v.len == 4 && v.elem_size == 4 &&
		 v.ptr == rec + 32 && kp_value_elem_u(&v, 0) == 0xffffffffu &&
		 kp_value_elem_u(&v, 1) == 1 && kp_value_elem_u(&v, 2) == 0x80000000u &&
		 kp_value_elem_u(&v, 3) == 42,
	     "uprobe u32[4] (err %d len %zu)", err, v.len);
	check_bounds(up, "arr", rec, 47, "u32[4] one byte short");

	/* Hand-made signed view of the same bytes. */
	nv = v;
	nv.is_signed = true;
	T_EQ_INT(kp_value_elem_i(&nv, 0), -1, "signed u32 element -1");
	T_EQ_INT(kp_value_elem_i(&nv, 2), INT32_MIN, "signed element INT32_MIN");
	T_EQ_UINT(kp_value_elem_u(&nv, 0), UINT64_MAX, "signed -1 as unsigned");
	nv.type = KP_VAL_STR;
	T_EQ_INT(kp_value_elem_i(&nv, 0), 0, "elem of a non-array is 0");

	memset(rec, 0, sizeof(rec));
	memcpy(rec + 24, "\x0a\x00\x00\x01", 4);
	err = decode(ic, "saddr", rec, 38, &v);
	T_OK(err == 0 && v.type == KP_VAL_ARRAY && v.len == 4 && kp_value_elem_u(&v, 0) == 10 &&
		 kp_value_elem_u(&v, 1) == 0 && kp_value_elem_u(&v, 3) == 1,
	     "__u8 saddr[4] is an array of 4 bytes (err %d type %d len %zu)", err, v.type, v.len);
out:
	kp_format_free(up);
	kp_format_free(ic);
}

static void expect_parse_fail(const char *text, size_t len, int want_errno, const char *what)
{
	struct kp_format *fmt;

	errno = 0;
	fmt = kp_format_parse(text, len, "sys");
	T_OK(fmt == NULL && errno == want_errno, "%s: NULL with errno %d (got %p, errno %d %s)",
	     what, want_errno, (void *)fmt, errno, kp_strerror(errno));
	kp_format_free(fmt);
}

static void test_parse_errors(void)
{
	static const char garbage[] = "hello world\nthis is not a format\n";
	static const char no_id[] = "name: x\nformat:\n"
				    "\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n\n"
				    "print fmt: \"\"\n";
	static const char bad_field[] = "name: x\nID: 5\nformat:\n"
					"\tfield:unsigned short common_type;\toffset:0;\n\n"
					"print fmt: \"\"\n";
	static const char bad_second[] = "name: x\nID: 5\nformat:\n"
					 "\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n"
					 "\tfield:int b;\toffset:12;\n\n"
					 "print fmt: \"\"\n";
	static const char no_fields[] = "name: x\nID: 5\nformat:\n\nprint fmt: \"\"\n";
	static const char good[] = "name: x\nID: 5\nformat:\n"
				   "\tfield:unsigned short common_type;\toffset:0;"
				   "\tsize:2;\tsigned:0;\n\n"
				   "\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n\n"
				   "print fmt: \"%d\", __helper_libtraceevent_lacks(REC->a)\n";
	struct kp_format *fmt;
	size_t len;
	char *text;

	expect_parse_fail("", 0, KP_EFORMAT, "empty text");
	expect_parse_fail(garbage, sizeof(garbage) - 1, KP_EFORMAT, "garbage");
	expect_parse_fail("\nprint fmt: \"\"\n", 15, KP_EFORMAT, "only a print fmt");
	expect_parse_fail(no_id, sizeof(no_id) - 1, KP_EFORMAT, "no ID line");
	expect_parse_fail(bad_field, sizeof(bad_field) - 1, KP_EFORMAT, "field without size");
	expect_parse_fail(bad_second, sizeof(bad_second) - 1, KP_EFORMAT,
			  "second field without size");
	expect_parse_fail(no_fields, sizeof(no_fields) - 1, KP_EFORMAT, "no fields");
	expect_parse_fail(NULL, 0, EINVAL, "NULL text");

	/* The same good text parses; an unknown print helper does not matter. */
	fmt = kp_format_parse(good, sizeof(good) - 1, "sys");
	T_OK(fmt != NULL && kp_format_nfields(fmt) == 2 && kp_format_id(fmt) == 5,
	     "minimal format with an unknown print helper parses");
	kp_format_free(fmt);
	T_OK(kp_format_parse(good, sizeof(good) - 1, NULL) == NULL && errno == EINVAL,
	     "NULL system: EINVAL");

	/* A real file cut anywhere before `print fmt:` is rejected, not half-read. */
	text = load("sched.sched_switch.format", &len);
	if (text) {
		const char *pf = strstr(text, "\nprint fmt:");
		size_t cut = pf ? (size_t)(pf - text) : len / 2;

		expect_parse_fail(text, cut, KP_EFORMAT, "sched_switch cut before print fmt");
		expect_parse_fail(text, cut / 2, KP_EFORMAT, "sched_switch cut mid-fields");
		fmt = kp_format_parse(text, cut + 12, "sched");
		T_OK(fmt != NULL && kp_format_nfields(fmt) == 11,
		     "sched_switch cut inside print fmt still has its 11 fields");
		kp_format_free(fmt);
		free(text);
	}
	T_EQ_STR(kp_strerror(-KP_EFORMAT), "malformed tracefs format", "KP_EFORMAT text");
}

/*
 * Inputs tests/fuzz/fuzz_format found crashing, each kept as found (then
 * minimized). Format text reaches kp_format_parse() from a recording too,
 * so it is untrusted there.
 */
static void test_fuzz_found(void)
{
	/*
	 * libtraceevent 1.7.1 passes a NULL token to strcmp() when a byte it
	 * has no token class for follows a field's "[": a SEGV inside
	 * tep_parse_format(). Such bytes are now refused before it.
	 */
	static const char bracket_high[] = "name:c\nID:9\nformat:\nfield:d r[\xdd\nprint fmt:";
	static const char bracket_ctl[] = "name:c\nID:9\nformat:\nfield:d r[\x01\nprint fmt:";
	static const char name_high[] = "name: x\xc3\xa9\nID: 5\nformat:\n"
					"\tfield:unsigned short common_type;\toffset:0;"
					"\tsize:2;\tsigned:0;\n\n"
					"\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n\n"
					"print fmt: \"\"\n";
	/* only the text before `print fmt:` goes to libtraceevent */
	static const char print_high[] = "name: x\nID: 5\nformat:\n"
					 "\tfield:unsigned short common_type;\toffset:0;"
					 "\tsize:2;\tsigned:0;\n\n"
					 "\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n\n"
					 "print fmt: \"\xc3\xa9 %d\", REC->a\n";
	struct kp_format *fmt;

	expect_parse_fail(bracket_high, sizeof(bracket_high) - 1, KP_EFORMAT,
			  "fuzz: byte 0xdd after a field's [ (libtraceevent NULL token)");
	expect_parse_fail(bracket_ctl, sizeof(bracket_ctl) - 1, KP_EFORMAT,
			  "fuzz: byte 0x01 after a field's [");
	expect_parse_fail(name_high, sizeof(name_high) - 1, KP_EFORMAT,
			  "non-ASCII byte in the name line");
	fmt = kp_format_parse(print_high, sizeof(print_high) - 1, "sys");
	T_OK(fmt != NULL && kp_format_nfields(fmt) == 2,
	     "a non-ASCII byte in the print fmt (ignored) still parses");
	kp_format_free(fmt);
}

int main(int argc, char **argv)
{
	static const char *const fixtures[][2] = {
		{ "syscalls.sys_enter_openat.format", "syscalls" },
		{ "syscalls.sys_enter_getppid.format", "syscalls" },
		{ "sched.sched_process_exec.format", "sched" },
		{ "sched.sched_process_fork.format", "sched" },
		{ "sched.sched_switch.format", "sched" },
		{ "dma.dma_map_sg.format", "dma" },
		{ "ipi.ipi_send_cpumask.format", "ipi" },
		{ "ras.non_standard_event.format", "ras" },
		{ "icmp.icmp_send.format", "icmp" },
		{ "bridge.fdb_delete.format", "bridge" },
		{ "raw_syscalls.sys_enter.format", "raw_syscalls" },
		{ "kpfixture.up.format", "kpfixture" },
		{ "kpfixture.ret.format", "kpfixture" },
		{ "handmade.foo_rel_loc.format", "sample-trace" },
	};
	size_t i;

	(void)argc;
	find_fixture_dir(argv[0]);
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		test_fixture_text(fixtures[i][0], fixtures[i][1]);
	test_kinds();
	test_ints();
	test_int_matrix();
	test_chars();
	test_data_loc_str();
	test_rel_loc();
	test_data_loc_array();
	test_fixed_array();
	test_parse_errors();
	test_fuzz_found();
	printf("# %d passed, %d failed\n", t_passed, t_failed);
	return T_DONE();
}
