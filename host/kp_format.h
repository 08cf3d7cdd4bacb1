/* SPDX-License-Identifier: MIT */
#ifndef KP_FORMAT_H
#define KP_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A tracefs event `format` compiled once into a field table; kp_decode.h
 * reads one field of a raw record by it. Parsing never touches the file
 * system: kp_format_parse() takes text.
 */

enum kp_field_kind {
	KP_FIELD_INT, /* scalar integer of 1, 2, 4 or 8 bytes */
	KP_FIELD_CHARS, /* fixed char array: string up to the first NUL */
	KP_FIELD_ARRAY, /* fixed array of integers */
	KP_FIELD_DYN_STR, /* __data_loc / __rel_loc char[]: string */
	KP_FIELD_DYN_ARRAY, /* __data_loc / __rel_loc array of integers */
	KP_FIELD_DYN_STRS, /* __data_loc char[][N]: N loc words, each a string */
	KP_FIELD_OTHER, /* anything else: decoded as raw bytes */
};

struct kp_field {
	const char *name;
	unsigned int offset; /* byte offset in the record (format's offset:) */
	unsigned int size; /* format's size: (4 for a __data_loc word) */
	unsigned int elem_size; /* arrays: size of one element; else == size */
	unsigned int count; /* fixed arrays: element count; else 1 */
	enum kp_field_kind kind;
	bool is_signed; /* format's signed: */
	bool relative; /* __rel_loc: offset counts from the end of the loc word */
	bool common; /* common_* header field */
};

struct kp_format;

/**
 * kp_format_parse() - compile the text of a tracefs event format file.
 * @text: the file's text (need not be NUL-terminated)
 * @len: its length
 * @system: the event's group ("syscalls", "kpscript_123"), kept for naming
 *
 * Return: a new format, or NULL with errno set (KP_EFORMAT for bad text,
 * ENOMEM).
 */
struct kp_format *kp_format_parse(const char *text, size_t len, const char *system);
void kp_format_free(struct kp_format *fmt);

int kp_format_id(const struct kp_format *fmt);
const char *kp_format_name(const struct kp_format *fmt);
const char *kp_format_system(const struct kp_format *fmt);
size_t kp_format_nfields(const struct kp_format *fmt);
const struct kp_field *kp_format_field(const struct kp_format *fmt, size_t i);
/* Index of the field named @name, or -1. Not for the per-event path. */
int kp_format_find(const struct kp_format *fmt, const char *name);

#endif
