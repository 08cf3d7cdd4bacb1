// SPDX-License-Identifier: MIT
/*
 * btffunc - print a kernel function's prototype from raw BTF (no libbpf).
 *
 * Usage: btffunc NAME [BTF_FILE]
 *
 *   NAME      the function's name, e.g. do_sys_openat2
 *   BTF_FILE  raw BTF (default /sys/kernel/btf/vmlinux)
 *
 * Output: "func NAME ret TYPE", then one line per parameter
 * "param INDEX NAME TYPE" (INDEX from 0). TYPE is the kprobe fetch type of
 * an integer or enum after typedefs and qualifiers (u8 s8 u16 s16 u32 s32
 * u64 s64), or "ptr", "struct", "union", "void", "float", "array" or
 * "other". Only the first function of that name is printed (as libbpf's
 * btf__find_by_name_kind picks it).
 *
 * Exit status: 0; 1 if the file cannot be read or parsed or has no such
 * function; 2 on a usage error.
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

static uint32_t kind_of(const struct type *t)
{
	return (t->info >> 24) & 0x1f;
}

static long extra(const struct type *t)
{
	uint32_t vlen = t->info & 0xffff;

	switch (kind_of(t)) {
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

/* the fetch type of type @id, typedefs and qualifiers skipped */
static const char *fetch_type(uint32_t id)
{
	static const char *const ints[2][4] = { { "u8", "u16", "u32", "u64" },
						{ "s8", "s16", "s32", "s64" } };

	for (int depth = 0; depth < 32; depth++) {
		const struct type *t;
		uint32_t size;
		int sign = 0;

		if (id == 0)
			return "void";
		if (id >= ntypes)
			return "other";
		t = types[id];
		switch (kind_of(t)) {
		case TYPEDEF:
		case VOLATILE:
		case CONST:
		case RESTRICT:
		case TYPE_TAG:
			id = t->size_type;
			continue;
		case INT:
			sign = (*(const uint32_t *)(t + 1) >> 24) & 1; /* BTF_INT_SIGNED */
			break;
		case ENUM:
		case ENUM64:
			sign = (int)(t->info >> 31); /* kflag: signed */
			break;
		case PTR:
			return "ptr";
		case STRUCT:
			return "struct";
		case UNION:
			return "union";
		case FLOAT:
			return "float";
		case ARRAY:
			return "array";
		default:
			return "other";
		}
		size = t->size_type;
		return ints[sign][size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3];
	}
	return "other";
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
		fprintf(stderr, "usage: btffunc NAME [BTF_FILE]\n");
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
		fprintf(stderr, "btffunc: %s: not raw BTF (or larger than 64 MiB)\n", path);
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
			fprintf(stderr, "btffunc: unknown BTF kind %u\n", kind_of(t));
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
		const struct type *t = types[id], *proto;
		const uint32_t *par; /* name_off, type */
		uint32_t vlen;

		if (kind_of(t) != FUNC || strcmp(name(t->name_off), argv[1]) != 0)
			continue;
		if (t->size_type == 0 || t->size_type >= ntypes ||
		    kind_of(types[t->size_type]) != FUNC_PROTO) {
			fprintf(stderr, "btffunc: %s has no prototype\n", argv[1]);
			return 1;
		}
		proto = types[t->size_type];
		vlen = proto->info & 0xffff;
		par = (const uint32_t *)(proto + 1);
		printf("func %s ret %s\n", argv[1], fetch_type(proto->size_type));
		for (uint32_t i = 0; i < vlen; i++, par += 2)
			printf("param %u %s %s\n", i, par[0] ? name(par[0]) : "(anon)",
			       fetch_type(par[1]));
		return 0;
	}
	fprintf(stderr, "btffunc: no function %s in %s\n", argv[1], path);
	return 1;
}
