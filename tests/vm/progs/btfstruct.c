// SPDX-License-Identifier: MIT
/*
 * btfstruct - print the layout of a struct from raw BTF (no libbpf).
 *
 * Usage: btfstruct NAME [BTF_FILE]
 *
 *   NAME      the struct's name, e.g. cred
 *   BTF_FILE  raw BTF (default /sys/kernel/btf/vmlinux)
 *
 * Output: "struct NAME size SIZE", then one line per member
 * "MEMBER OFFSET SIZE" (bytes; OFFSET of a bitfield is its bit offset / 8,
 * followed by "bits=WIDTH"). Anonymous members print as "(anon)". Only the
 * first struct of that name is printed.
 *
 * Exit status: 0; 1 if the file cannot be read or parsed or has no such
 * struct; 2 on a usage error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hdr {
	uint16_t magic;
	uint8_t version, flags;
	uint32_t hdr_len, type_off, type_len, str_off, str_len;
};

struct type {
	uint32_t name_off, info, size_type;
};

enum {
	INT = 1,
	PTR,
	ARRAY,
	STRUCT,
	UNION,
	ENUM,
	FWD,
	TYPEDEF,
	VOLATILE,
	CONST,
	RESTRICT,
	FUNC,
	FUNC_PROTO,
	VAR,
	DATASEC,
	FLOAT,
	DECL_TAG,
	TYPE_TAG,
	ENUM64
};

static const char *strs;
static uint32_t strs_len;
static const struct type **types; /* by id; 0 is void */
static uint32_t ntypes;

static const char *name(uint32_t off)
{
	return off < strs_len ? strs + off : "?";
}

static long extra(const struct type *t)
{
	uint32_t kind = (t->info >> 24) & 0x1f, vlen = t->info & 0xffff;

	switch (kind) {
	case INT:
	case VAR:
	case DECL_TAG:
		return 4;
	case ARRAY:
		return 12;
	case STRUCT:
	case UNION:
	case DATASEC:
	case ENUM64:
		return 12L * vlen;
	case ENUM:
	case FUNC_PROTO:
		return 8L * vlen;
	case PTR:
	case FWD:
	case TYPEDEF:
	case VOLATILE:
	case CONST:
	case RESTRICT:
	case FUNC:
	case FLOAT:
	case TYPE_TAG:
		return 0;
	}
	return -1;
}

static long type_size(uint32_t id, int depth)
{
	const struct type *t;
	uint32_t kind;

	if (id == 0 || id >= ntypes || depth > 32)
		return -1;
	t = types[id];
	kind = (t->info >> 24) & 0x1f;
	switch (kind) {
	case INT:
	case STRUCT:
	case UNION:
	case ENUM:
	case ENUM64:
	case FLOAT:
		return t->size_type;
	case PTR:
		return 8;
	case TYPEDEF:
	case VOLATILE:
	case CONST:
	case RESTRICT:
	case TYPE_TAG:
		return type_size(t->size_type, depth + 1);
	case ARRAY: {
		const uint32_t *a = (const uint32_t *)(t + 1); /* type, index_type, nelems */
		long el = type_size(a[0], depth + 1);

		return el < 0 ? -1 : el * (long)a[2];
	}
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *path = argc > 2 ? argv[2] : "/sys/kernel/btf/vmlinux";
	static char buf[64 << 20];
	const struct hdr *h = (const struct hdr *)buf;
	const char *p, *end;
	size_t len, cap = 0;
	FILE *f;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: btfstruct NAME [BTF_FILE]\n");
		return 2;
	}
	f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (len < sizeof(*h) || h->magic != 0xeB9F ||
	    h->hdr_len + (size_t)h->str_off + h->str_len > len ||
	    h->hdr_len + (size_t)h->type_off + h->type_len > len) {
		fprintf(stderr, "btfstruct: %s: not raw BTF (or larger than 64 MiB)\n", path);
		return 1;
	}
	strs = buf + h->hdr_len + h->str_off;
	strs_len = h->str_len;
	p = buf + h->hdr_len + h->type_off;
	end = p + h->type_len;
	ntypes = 1;
	while (p + sizeof(struct type) <= end) {
		const struct type *t = (const struct type *)p;
		long x = extra(t);

		if (x < 0) {
			fprintf(stderr, "btfstruct: unknown BTF kind %u\n", (t->info >> 24) & 0x1f);
			return 1;
		}
		if (ntypes >= cap) {
			cap = cap ? cap * 2 : 65536;
			types = realloc(types, cap * sizeof(*types));
			if (!types)
				return 1;
		}
		types[ntypes++] = t;
		p += sizeof(*t) + (size_t)x;
	}
	for (uint32_t id = 1; id < ntypes; id++) {
		const struct type *t = types[id];
		uint32_t kind = (t->info >> 24) & 0x1f, vlen = t->info & 0xffff;
		int kflag = (int)(t->info >> 31);
		const uint32_t *m = (const uint32_t *)(t + 1); /* name_off, type, offset */

		if (kind != STRUCT || strcmp(name(t->name_off), argv[1]) != 0)
			continue;
		printf("struct %s size %u\n", argv[1], t->size_type);
		for (uint32_t i = 0; i < vlen; i++, m += 3) {
			uint32_t bits = kflag ? m[2] & 0xffffff : m[2];
			uint32_t width = kflag ? m[2] >> 24 : 0;
			const char *mn = m[0] ? name(m[0]) : "(anon)";

			if (width)
				printf("%s %u %ld bits=%u\n", mn, bits / 8, type_size(m[1], 0),
				       width);
			else
				printf("%s %u %ld\n", mn, bits / 8, type_size(m[1], 0));
		}
		return 0;
	}
	fprintf(stderr, "btfstruct: no struct %s in %s\n", argv[1], path);
	return 1;
}
