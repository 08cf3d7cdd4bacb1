// SPDX-License-Identifier: MIT
/*
 * Event format compilation (libtraceevent does the tokenising) and the
 * per-field record decoder.
 *
 * Kernel contracts relied on (include/trace/trace_events.h,
 * kernel/trace/trace_events.c, kernel/trace/trace_probe.c):
 * - `offset:`, `size:` and `signed:` of each field are authoritative; the
 *   C type text is only a hint (syscall args are printed as `int dfd` with
 *   size 8).
 * - A __data_loc field is a u32 whose low 16 bits are the offset of the
 *   dynamic area from the start of the entry and whose high 16 bits are its
 *   length in bytes. A __rel_loc field has the same encoding, but the offset
 *   counts from the end of the 4-byte loc word.
 * - A string made by __string()/__rel_string() or a probe's :string fetch is
 *   a dynamic array of `char`; its length includes the NUL the kernel
 *   writes, but a faulted fetch may leave a length without one, or 0.
 * - The raw record starts at the common header (common_type at offset 0),
 *   in host byte order.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <traceevent/event-parse.h>

#include "kp_err.h"
#include "kp_format.h"

struct kp_format {
	int id;
	char *name;
	char *system;
	size_t nfields;
	struct kp_field *fields;
};

/*
 * Only `print fmt:` lines use kernel helpers that libtraceevent may not know
 * (18 of 2323 formats on a 6.18 kernel), and libtraceevent then marks the
 * whole event failed with the same flag it uses for a broken field list. The
 * decoder never needs the print format, so it is replaced by an empty one
 * and TEP_EVENT_FL_FAILED then means the fields themselves were bad.
 */
static const char kp_print_tag[] = "\nprint fmt:";
static const char kp_empty_print[] = "print fmt: \"\"\n";

/*
 * Strip the "__data_loc "/"__rel_loc " prefix, qualifiers and the
 * "[N]"/"[]" suffix libtraceevent leaves in field->type, copying the
 * element type name into @buf.
 */
static const char *elem_type(const char *type, char *buf, size_t bufsz)
{
	static const char *const prefixes[] = { "__data_loc ", "__rel_loc ", "const ",
						"volatile " };
	size_t i, n;
	bool again = true;

	if (!type)
		return "";
	while (again) {
		again = false;
		while (*type == ' ' || *type == '\t')
			type++;
		for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			n = strlen(prefixes[i]);
			if (strncmp(type, prefixes[i], n) == 0) {
				type += n;
				again = true;
			}
		}
	}
	n = strcspn(type, "[");
	while (n > 0 && (type[n - 1] == ' ' || type[n - 1] == '\t'))
		n--;
	if (n >= bufsz)
		n = bufsz - 1;
	memcpy(buf, type, n);
	buf[n] = '\0';
	return buf;
}

/*
 * Text is `char` only: every u8/__u8/unsigned char array on a 6.18 kernel
 * (IP and MAC addresses, fsids, instruction bytes, RAS dumps) is binary
 * data that a NUL would truncate, while every `char` array is a name or a
 * path. libtraceevent's TEP_FIELD_IS_STRING is a substring match on
 * "char", "u8" and "s8" and is too broad to use here.
 */
static bool elem_is_text(const char *etype)
{
	return strcmp(etype, "char") == 0;
}

/* Size of an integer element type by name, for when libtraceevent gives 0. */
static unsigned int elem_type_size(const char *etype)
{
	static const struct {
		const char *name;
		unsigned int size;
	} types[] = {
		{ "char", 1 },
		{ "signed char", 1 },
		{ "unsigned char", 1 },
		{ "bool", 1 },
		{ "_Bool", 1 },
		{ "u8", 1 },
		{ "s8", 1 },
		{ "__u8", 1 },
		{ "__s8", 1 },
		{ "int8_t", 1 },
		{ "uint8_t", 1 },
		{ "short", 2 },
		{ "short int", 2 },
		{ "signed short", 2 },
		{ "unsigned short", 2 },
		{ "unsigned short int", 2 },
		{ "u16", 2 },
		{ "s16", 2 },
		{ "__u16", 2 },
		{ "__s16", 2 },
		{ "__le16", 2 },
		{ "__be16", 2 },
		{ "int16_t", 2 },
		{ "uint16_t", 2 },
		{ "int", 4 },
		{ "signed", 4 },
		{ "signed int", 4 },
		{ "unsigned", 4 },
		{ "unsigned int", 4 },
		{ "u32", 4 },
		{ "s32", 4 },
		{ "__u32", 4 },
		{ "__s32", 4 },
		{ "__le32", 4 },
		{ "__be32", 4 },
		{ "int32_t", 4 },
		{ "uint32_t", 4 },
		{ "pid_t", 4 },
		{ "long", sizeof(long) },
		{ "long int", sizeof(long) },
		{ "signed long", sizeof(long) },
		{ "unsigned long", sizeof(long) },
		{ "unsigned long int", sizeof(long) },
		{ "size_t", sizeof(size_t) },
		{ "ssize_t", sizeof(size_t) },
		{ "long long", 8 },
		{ "long long int", 8 },
		{ "signed long long", 8 },
		{ "unsigned long long", 8 },
		{ "unsigned long long int", 8 },
		{ "u64", 8 },
		{ "s64", 8 },
		{ "__u64", 8 },
		{ "__s64", 8 },
		{ "__le64", 8 },
		{ "__be64", 8 },
		{ "int64_t", 8 },
		{ "uint64_t", 8 },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(etype, types[i].name) == 0)
			return types[i].size;
	return 0;
}

static bool int_size_ok(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* Element size of an integer array field, or 0 if it is not one. */
static unsigned int array_elem_size(const struct tep_format_field *tf, const char *etype)
{
	unsigned int size = (unsigned int)tf->size;
	unsigned int es = 0;

	/* `type x[N]`: the kernel's size is N elements. */
	if (tf->arraylen > 0 && size % (unsigned int)tf->arraylen == 0)
		es = size / (unsigned int)tf->arraylen;
	/*
	 * Probe array fetches print `u32 x[]` with the full size and no N
	 * (libtraceevent then gives arraylen 0 and elementsize 0).
	 */
	if (!int_size_ok(es))
		es = int_size_ok((unsigned int)tf->elementsize) ? (unsigned int)tf->elementsize
								: elem_type_size(etype);
	if (!int_size_ok(es) || size % es != 0)
		return 0;
	return es;
}

static int compile_field(const struct tep_format_field *tf, bool common, struct kp_field *f)
{
	char ebuf[64];
	const char *etype;
	unsigned int es;

	if (!tf->name || !tf->name[0] || tf->offset < 0 || tf->size < 0)
		return -KP_EFORMAT;

	f->name = strdup(tf->name);
	if (!f->name)
		return -ENOMEM;
	f->offset = (unsigned int)tf->offset;
	f->size = (unsigned int)tf->size;
	f->elem_size = f->size;
	f->count = 1;
	f->is_signed = tf->flags & TEP_FIELD_IS_SIGNED;
	f->relative = false;
	f->common = common;
	f->kind = KP_FIELD_OTHER;

	etype = elem_type(tf->type, ebuf, sizeof(ebuf));

	if (tf->flags & TEP_FIELD_IS_DYNAMIC) {
		/* A probe's string array (`:string[N]`) is N loc words; any
		 * other size is not a loc we know. */
		if (f->size != 4) {
			if (f->size % 4 == 0 && elem_is_text(etype)) {
				f->kind = KP_FIELD_DYN_STRS;
				f->elem_size = 4;
				f->count = f->size / 4;
			}
			return 0;
		}
		f->relative = tf->flags & TEP_FIELD_IS_RELATIVE;
		if (elem_is_text(etype)) {
			f->kind = KP_FIELD_DYN_STR;
			f->elem_size = 1;
			return 0;
		}
		/*
		 * `__data_loc cpumask_t x` and arrays of unknown element types
		 * are decoded as bytes.
		 */
		es = int_size_ok((unsigned int)tf->elementsize) ? (unsigned int)tf->elementsize
								: elem_type_size(etype);
		f->kind = KP_FIELD_DYN_ARRAY;
		f->elem_size = int_size_ok(es) ? es : 1;
		return 0;
	}

	if (tf->flags & TEP_FIELD_IS_ARRAY) {
		/* `char buf[]` with size 0 (ftrace's own events) stays OTHER. */
		if (f->size == 0)
			return 0;
		if (elem_is_text(etype)) {
			f->kind = KP_FIELD_CHARS;
			f->elem_size = 1;
			f->count = f->size;
			return 0;
		}
		es = array_elem_size(tf, etype);
		if (es) {
			f->kind = KP_FIELD_ARRAY;
			f->elem_size = es;
			f->count = f->size / es;
		}
		return 0;
	}

	if (int_size_ok(f->size))
		f->kind = KP_FIELD_INT;
	return 0;
}

static int compile_list(const struct tep_format_field *tf, bool common, struct kp_format *fmt)
{
	int err;

	for (; tf; tf = tf->next) {
		/* A field that fails has allocated nothing. */
		err = compile_field(tf, common, &fmt->fields[fmt->nfields]);
		if (err)
			return err;
		fmt->nfields++;
	}
	return 0;
}

static size_t count_list(const struct tep_format_field *tf)
{
	size_t n = 0;

	for (; tf; tf = tf->next)
		n++;
	return n;
}

/*
 * A probe's string array is written `__data_loc char[][N] name;` (the
 * type's "__data_loc char[]" and "[N]"), which libtraceevent 1.7 refuses;
 * as `__data_loc char[] name;` it parses, and its size (4 * N) says how
 * many loc words it has. Rewrites @buf in place; returns the new length.
 */
static size_t kp_strs_plain(char *buf, size_t n)
{
	static const char tag[] = "__data_loc char[][";
	size_t w = 0;

	for (size_t r = 0; r < n;) {
		if (n - r >= sizeof(tag) - 1 && !memcmp(buf + r, tag, sizeof(tag) - 1)) {
			size_t d = r + sizeof(tag) - 1;

			while (d < n && buf[d] >= '0' && buf[d] <= '9')
				d++;
			if (d < n && buf[d] == ']' && d > r + sizeof(tag) - 1) {
				memmove(buf + w, buf + r, sizeof(tag) - 2);
				w += sizeof(tag) - 2;
				r = d + 1;
				continue;
			}
		}
		buf[w++] = buf[r++];
	}
	return w;
}

/**
 * kp_format_parse() - compile the text of a tracefs event format file.
 * @text: the file's text (need not be NUL-terminated)
 * @len: its length
 * @system: the event's group ("syscalls", "kpscript_123"), kept for naming
 *
 * The text must contain the `name:`, `ID:` and `format:` sections and the
 * `print fmt:` line that ends every tracefs format file; the print format
 * itself is ignored, so kernel print helpers libtraceevent does not know do
 * not matter. Fields are kept in the file's order, common fields first,
 * which is offset order for every format the kernel writes.
 *
 * Return: a new format, or NULL with errno set: KP_EFORMAT for bad text
 * (including empty text, text cut before `print fmt:` and bytes other than
 * printable ASCII, tab and newline before it), EINVAL for a NULL argument,
 * ENOMEM.
 */
struct kp_format *kp_format_parse(const char *text, size_t len, const char *system)
{
	struct tep_handle *tep = NULL;
	struct tep_event *ev = NULL;
	struct kp_format *fmt = NULL;
	const char *tag;
	char *buf = NULL;
	size_t head, nfields;
	int err;

	if (!text || !system) {
		errno = EINVAL;
		return NULL;
	}

	tag = memmem(text, len, kp_print_tag, sizeof(kp_print_tag) - 1);
	if (!tag) {
		err = KP_EFORMAT;
		goto out;
	}
	head = (size_t)(tag - text) + 1;
	/*
	 * The kernel writes the name, ID and field lines in printable ASCII.
	 * libtraceevent 1.7.1 dereferences a NULL token when a field's "["
	 * is followed by a byte its tokenizer has no class for (a control or
	 * non-ASCII byte), so such text, which only a forged recording can
	 * hold, is refused before it gets there.
	 */
	for (size_t i = 0; i < head; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 || c > 0x7e) && c != '\t' && c != '\n') {
			err = KP_EFORMAT;
			goto out;
		}
	}
	buf = malloc(head + sizeof(kp_empty_print));
	if (!buf) {
		err = ENOMEM;
		goto out;
	}
	memcpy(buf, text, head);
	head = kp_strs_plain(buf, head);
	memcpy(buf + head, kp_empty_print, sizeof(kp_empty_print));

	tep = tep_alloc();
	if (!tep) {
		err = ENOMEM;
		goto out_buf;
	}
	/* libtraceevent's log level is process-wide; kpscript never wants it. */
	tep_set_loglevel(TEP_LOG_NONE);
	/*
	 * libtraceevent reports bad text and allocation failure alike
	 * (TEP_ERRNO__MEM_ALLOC_FAILED for garbage), so every failure here
	 * is KP_EFORMAT.
	 */
	if (tep_parse_format(tep, &ev, buf, head + sizeof(kp_empty_print) - 1, system) != 0 ||
	    !ev || (ev->flags & TEP_EVENT_FL_FAILED) || !ev->name || !ev->name[0] || ev->id < 0) {
		err = KP_EFORMAT;
		goto out_tep;
	}

	nfields = count_list(ev->format.common_fields) + count_list(ev->format.fields);
	if (nfields == 0) {
		err = KP_EFORMAT;
		goto out_tep;
	}

	fmt = calloc(1, sizeof(*fmt));
	if (!fmt) {
		err = ENOMEM;
		goto out_tep;
	}
	fmt->id = ev->id;
	fmt->name = strdup(ev->name);
	fmt->system = strdup(system);
	fmt->fields = calloc(nfields, sizeof(*fmt->fields));
	if (!fmt->name || !fmt->system || !fmt->fields) {
		err = ENOMEM;
		goto out_fmt;
	}
	err = compile_list(ev->format.common_fields, true, fmt);
	if (!err)
		err = compile_list(ev->format.fields, false, fmt);
	if (err) {
		err = -err;
		goto out_fmt;
	}

	tep_free(tep);
	free(buf);
	return fmt;

out_fmt:
	kp_format_free(fmt);
out_tep:
	/* tep_free() frees the events tep_parse_format() registered in it. */
	tep_free(tep);
out_buf:
	free(buf);
out:
	errno = err;
	return NULL;
}

/**
 * kp_format_free() - free a format and its field table.
 * @fmt: the format, or NULL
 */
void kp_format_free(struct kp_format *fmt)
{
	size_t i;

	if (!fmt)
		return;
	if (fmt->fields)
		for (i = 0; i < fmt->nfields; i++)
			free((char *)fmt->fields[i].name);
	free(fmt->fields);
	free(fmt->system);
	free(fmt->name);
	free(fmt);
}

/**
 * kp_format_id() - the event's `ID:`, the perf_event_attr.config of a
 * PERF_TYPE_TRACEPOINT event.
 * @fmt: the format
 *
 * Return: the id.
 */
int kp_format_id(const struct kp_format *fmt)
{
	return fmt->id;
}

/**
 * kp_format_name() - the event's `name:`.
 * @fmt: the format
 *
 * Return: the name, owned by @fmt.
 */
const char *kp_format_name(const struct kp_format *fmt)
{
	return fmt->name;
}

/**
 * kp_format_system() - the group given to kp_format_parse().
 * @fmt: the format
 *
 * Return: the group, owned by @fmt.
 */
const char *kp_format_system(const struct kp_format *fmt)
{
	return fmt->system;
}

/**
 * kp_format_nfields() - number of fields, common fields included.
 * @fmt: the format
 *
 * Return: the count.
 */
size_t kp_format_nfields(const struct kp_format *fmt)
{
	return fmt->nfields;
}

/**
 * kp_format_field() - field @i, in the format file's order.
 * @fmt: the format
 * @i: index, below kp_format_nfields()
 *
 * Return: the field, owned by @fmt, or NULL if @i is out of range.
 */
const struct kp_field *kp_format_field(const struct kp_format *fmt, size_t i)
{
	if (i >= fmt->nfields)
		return NULL;
	return &fmt->fields[i];
}

/**
 * kp_format_find() - index of a field by name.
 * @fmt: the format
 * @name: the field's name, as in the format file (common_pid, __probe_ip)
 *
 * A linear search, meant for compiling accessors once, not per event.
 *
 * Return: the index, or -1.
 */
int kp_format_find(const struct kp_format *fmt, const char *name)
{
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < fmt->nfields && i <= INT_MAX; i++)
		if (strcmp(fmt->fields[i].name, name) == 0)
			return (int)i;
	return -1;
}
