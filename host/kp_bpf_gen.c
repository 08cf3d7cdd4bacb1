// SPDX-License-Identifier: MIT
/*
 * Fetch arguments compiled to BPF instructions (see kp_bpf_gen.h).
 *
 * The program, with r6 = the tracepoint's record (the context), r7 = the
 * per-CPU scratch value where the record is built, r8 = the bytes used in
 * the strings' area:
 *
 *   look up the scratch value (none: exit), count the hit, zero the fixed
 *   part, write the header, then each argument, then
 *   bpf_perf_event_output(ctx, events, BPF_F_CURRENT_CPU, r7, fixed + r8)
 *   and count a refusal (a full ring) as lost.
 *
 * Verifier contracts relied on (5.10 to 6.18):
 * - A tracepoint program reads its context directly at an offset aligned
 *   to the access size; anything else goes through bpf_probe_read_kernel.
 * - Helpers taking ARG_ANYTHING (the source of a probe read) accept any
 *   pointer from a privileged program, the context plus a variable too.
 * - A memory argument with a variable offset is checked at its bounds:
 *   r8 is kept at or below CAP before every string read, so that the
 *   destination r7 + fixed + r8 with a size of KP_BPF_STR_MAX stays in the
 *   value; the string's length is masked to 13 bits without a branch, so
 *   r8 grows by at most 8191 per string and the output size is bounded.
 * - States must not multiply: the only branches are the lookup's NULL
 *   check and, per string, a jump to the output when the area is full,
 *   whose state (r8 above CAP) lies within the state the fall-through
 *   path reaches the output with, so the verifier prunes it. A failed read
 *   is not a branch: the helpers zero their destination (and a failed
 *   string has length 0), so a chain through a NULL pointer reads 0.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_bpf_gen.h"
#include "kp_format.h"

#define R0 0
#define R1 1
#define R2 2
#define R3 3
#define R4 4
#define R5 5
#define R6 6
#define R7 7
#define R8 8
#define R9 9
#define R10 10

#define HDR 8 /* common_type, flags, preempt_count, common_pid */
#define SLACK 8192 /* what r8 may pass CAP by, as the verifier sees it */
#define STRMASK 0x1fff

struct kp_gen {
	struct bpf_insn *v;
	size_t n, cap;
	size_t *outs; /* jumps to the output, patched at the end */
	size_t nouts, outcap;
	bool oom;
	size_t fixed, area; /* the fixed part's size; CAP */
	char *fmt;
	size_t fmtlen, fmtcap;
	char *msg;
	size_t len;
};

static void em(struct kp_gen *g, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		struct bpf_insn *v = realloc(g->v, cap * sizeof(*v));

		if (!v) {
			g->oom = true;
			return;
		}
		g->v = v;
		g->cap = cap;
	}
	g->v[g->n] = (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
	};
	g->n++;
}

static void mov(struct kp_gen *g, int dst, int src)
{
	em(g, BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}

static void movi(struct kp_gen *g, int dst, int32_t imm)
{
	em(g, BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}

static void alui(struct kp_gen *g, int op, int dst, int32_t imm)
{
	em(g, BPF_ALU64 | op | BPF_K, dst, 0, 0, imm);
}

static void alu(struct kp_gen *g, int op, int dst, int src)
{
	em(g, BPF_ALU64 | op | BPF_X, dst, src, 0, 0);
}

static void ld64(struct kp_gen *g, int dst, uint64_t v)
{
	em(g, BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, (int32_t)(uint32_t)v);
	em(g, 0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

static void ldmap(struct kp_gen *g, int dst, enum kp_bpf_map m)
{
	em(g, BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, (int32_t)m);
	em(g, 0, 0, 0, 0, 0);
}

/* add a 64-bit constant */
static void addi(struct kp_gen *g, int dst, int64_t v)
{
	if (!v)
		return;
	if (v >= INT32_MIN && v <= INT32_MAX) {
		alui(g, BPF_ADD, dst, (int32_t)v);
		return;
	}
	ld64(g, R2, (uint64_t)v);
	alu(g, BPF_ADD, dst, R2);
}

static int bpf_size(unsigned int bytes)
{
	switch (bytes) {
	case 1:
		return BPF_B;
	case 2:
		return BPF_H;
	case 4:
		return BPF_W;
	default:
		return BPF_DW;
	}
}

static void ldx(struct kp_gen *g, unsigned int size, int dst, int src, int16_t off)
{
	em(g, BPF_LDX | BPF_MEM | bpf_size(size), dst, src, off, 0);
}

static void stx(struct kp_gen *g, unsigned int size, int dst, int16_t off, int src)
{
	em(g, BPF_STX | BPF_MEM | bpf_size(size), dst, src, off, 0);
}

static void sti(struct kp_gen *g, unsigned int size, int dst, int16_t off, int32_t imm)
{
	em(g, BPF_ST | BPF_MEM | bpf_size(size), dst, 0, off, imm);
}

static void call(struct kp_gen *g, int fn)
{
	em(g, BPF_JMP | BPF_CALL, 0, 0, 0, fn);
}

/* if r8 > CAP: the strings' area is full, output what there is */
static void jmp_full(struct kp_gen *g)
{
	if (g->nouts == g->outcap) {
		size_t cap = g->outcap ? g->outcap * 2 : 16;
		size_t *o = realloc(g->outs, cap * sizeof(*o));

		if (!o) {
			g->oom = true;
			return;
		}
		g->outs = o;
		g->outcap = cap;
	}
	g->outs[g->nouts++] = g->n;
	em(g, BPF_JMP | BPF_JGT | BPF_K, R8, 0, 0, (int32_t)g->area);
}

/* r3 = the 8 bytes at r3 (user or kernel memory); 0 when unreadable */
static void read_ptr(struct kp_gen *g, bool user)
{
	mov(g, R1, R10);
	alui(g, BPF_ADD, R1, -8);
	movi(g, R2, 8);
	call(g, user ? BPF_FUNC_probe_read_user : BPF_FUNC_probe_read_kernel);
	ldx(g, 8, R3, R10, -8);
}

/* counters[off] += reg */
static void count(struct kp_gen *g, int16_t off, int reg)
{
	ldx(g, 8, R2, R7, off);
	alu(g, BPF_ADD, R2, reg);
	stx(g, 8, R7, off, R2);
}

static void fmt_add(struct kp_gen *g, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void fmt_add(struct kp_gen *g, const char *f, ...)
{
	va_list ap;
	int w;

	for (;;) {
		va_start(ap, f);
		w = vsnprintf(g->fmt + g->fmtlen, g->fmtcap - g->fmtlen, f, ap);
		va_end(ap);
		if (w < 0) {
			g->oom = true;
			return;
		}
		if ((size_t)w < g->fmtcap - g->fmtlen) {
			g->fmtlen += (size_t)w;
			return;
		}
		char *n = realloc(g->fmt, g->fmtcap * 2 + (size_t)w);

		if (!n) {
			g->oom = true;
			return;
		}
		g->fmt = n;
		g->fmtcap = g->fmtcap * 2 + (size_t)w;
	}
}

static int refuse(struct kp_gen *g, const struct kp_bpf_arg *a, const char *f, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(struct kp_gen *g, const struct kp_bpf_arg *a, const char *f, ...)
{
	va_list ap;
	int w = snprintf(g->msg, g->len, "%s: ", a->name);

	va_start(ap, f);
	if (w >= 0 && (size_t)w < g->len)
		vsnprintf(g->msg + w, g->len - (size_t)w, f, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- what each argument is ---------------------------------------------- */

struct kp_slot {
	const struct kp_field *fld; /* a $NAME base */
	struct kp_fetch_type t; /* the type, defaults resolved */
	bool string, user_str; /* a string (or strings), read as user memory */
	bool comm, immstr;
	size_t off, size; /* where in the record, how many bytes */
	size_t imm_off; /* an immediate string's bytes */
};

static bool is_string(enum kp_fetch_kind k)
{
	return k == KP_FETCH_STRING || k == KP_FETCH_USTRING || k == KP_FETCH_SYMSTR;
}

/* The field a base names on an event: $NAME, and $argN, $retval, $stack,
 * $stackN, which only a field so named can be there. */
static const struct kp_field *base_field(const struct kp_format *tp, const struct kp_fetch *f,
					 char *name, size_t len)
{
	int i;

	switch (f->base) {
	case KP_FETCH_FIELD:
		snprintf(name, len, "%s", f->name);
		break;
	case KP_FETCH_COMM:
		snprintf(name, len, "comm");
		break;
	case KP_FETCH_ARG:
		snprintf(name, len, "arg%lld", (long long)f->num);
		break;
	case KP_FETCH_RETVAL:
		snprintf(name, len, "retval");
		break;
	case KP_FETCH_STACK:
		snprintf(name, len, "stack");
		break;
	case KP_FETCH_STACKN:
		snprintf(name, len, "stack%lld", (long long)f->num);
		break;
	default:
		name[0] = '\0';
		return NULL;
	}
	i = kp_format_find(tp, name);
	if (i < 0 || kp_format_field(tp, (size_t)i)->common)
		return NULL;
	return kp_format_field(tp, (size_t)i);
}

static int unknown_field(struct kp_gen *g, const struct kp_bpf_arg *a, const struct kp_format *tp,
			 const char *name)
{
	char list[1024] = "";

	for (size_t i = 0, u = 0; i < kp_format_nfields(tp); i++) {
		const struct kp_field *f = kp_format_field(tp, i);

		if (f->common || u >= sizeof(list))
			continue;
		u += (size_t)snprintf(list + u, sizeof(list) - u, "%s%s", u ? ", " : "", f->name);
	}
	return refuse(g, a, "the tracepoint has no field '%s' (its fields: %s)", name,
		      list[0] ? list : "none");
}

/* Resolve @a's base and type; its size in the fixed part. */
static int slot_of(struct kp_gen *g, const struct kp_format *tp, const struct kp_bpf_arg *a,
		   struct kp_slot *s)
{
	const struct kp_fetch *f = &a->f;
	char name[KP_FETCH_NAME_MAX + 16];
	unsigned int n;

	memset(s, 0, sizeof(*s));
	s->t = f->type;
	s->fld = base_field(tp, f, name, sizeof(name));
	if (f->base == KP_FETCH_COMM && !s->fld) {
		s->comm = true;
		if (f->nderef || (s->t.kind != KP_FETCH_DEFAULT && !is_string(s->t.kind)))
			return refuse(g, a,
				      "$comm is a string: it takes no dereference or number type");
		s->string = true;
		s->size = 4;
		return 0;
	}
	switch (f->base) {
	case KP_FETCH_FIELD:
	case KP_FETCH_ARG:
	case KP_FETCH_RETVAL:
	case KP_FETCH_STACK:
	case KP_FETCH_STACKN:
		if (!s->fld)
			return unknown_field(g, a, tp, name);
		break;
	case KP_FETCH_IMM:
	case KP_FETCH_IMMSTR:
		break;
	default:
		return refuse(g, a,
			      "a tracepoint's arguments are its fields ($NAME), $comm or "
			      "immediates (\\NUM, \\\"TEXT\\\")");
	}
	if (s->t.kind == KP_FETCH_SYMSTR)
		return refuse(g, a,
			      "symstr needs the kernel's symbol table, which a BPF program "
			      "has not: use :symbol and name the address with kp.ksym()");
	if (f->base == KP_FETCH_IMMSTR) {
		if (f->nderef || s->t.array ||
		    (s->t.kind != KP_FETCH_DEFAULT && !is_string(s->t.kind)))
			return refuse(g, a, "an immediate string takes no dereference or array");
		s->string = s->immstr = true;
		s->size = 4;
		return 0;
	}
	if (s->fld && !f->nderef && s->fld->kind != KP_FIELD_INT) {
		/* a string field, or a char array: its text is in the record */
		bool text = s->fld->kind == KP_FIELD_DYN_STR || s->fld->kind == KP_FIELD_CHARS;

		if (!text || !(s->t.kind == KP_FETCH_DEFAULT || s->t.kind == KP_FETCH_STRING))
			return refuse(g, a,
				      "$%s is not an integer field: read it as it is, or "
				      "as $%s:string when it is text",
				      name, name);
		s->t.kind = KP_FETCH_STRING;
		s->string = true;
		s->size = 4;
		return 0;
	}
	if (s->fld && f->nderef && (s->fld->kind != KP_FIELD_INT || s->fld->size != 8))
		return refuse(g, a,
			      "$%s is not a pointer (an 8-byte integer field): it cannot be "
			      "dereferenced",
			      name);
	if (s->t.array && !f->nderef)
		return refuse(g, a, "an array is read from memory: write +0(...):TYPE[N]");
	if (is_string(s->t.kind)) {
		if (!f->nderef && f->base == KP_FETCH_IMM)
			return refuse(g, a,
				      "a number is not a string: \\\"TEXT\\\" is an immediate "
				      "string");
		s->string = true;
		s->user_str = s->t.kind == KP_FETCH_USTRING ||
			      (!s->t.array && f->nderef && f->deref[f->nderef - 1].user);
		s->size = 4 * (s->t.array ? s->t.array : 1);
		return 0;
	}
	if (s->t.kind == KP_FETCH_DEFAULT) {
		/* a field as declared; a read or an immediate as the kernel's x64 */
		bool own = s->fld && !f->nderef;

		s->t.kind = own && s->fld->is_signed ? KP_FETCH_SINT : KP_FETCH_UINT;
		s->t.size = (uint8_t)(own ? s->fld->size : 8);
	}
	n = s->t.array ? s->t.array : 1;
	s->size = (size_t)s->t.size * n;
	return 0;
}

/* ---- code ---------------------------------------------------------------- */

/* r3 = the base: a field's value or address, or an immediate */
static void gen_base(struct kp_gen *g, const struct kp_fetch *f, const struct kp_slot *s)
{
	const struct kp_field *fld = s->fld;

	if (!fld) {
		ld64(g, R3, (uint64_t)f->num);
		return;
	}
	if (fld->kind == KP_FIELD_DYN_STR) {
		/* the text is at its __data_loc offset in the record */
		ldx(g, 4, R3, R6, (int16_t)fld->offset);
		alui(g, BPF_AND, R3, 0xffff);
		if (fld->relative)
			alui(g, BPF_ADD, R3, (int32_t)fld->offset + 4);
		alu(g, BPF_ADD, R3, R6);
		return;
	}
	if (fld->kind == KP_FIELD_CHARS) {
		mov(g, R3, R6);
		alui(g, BPF_ADD, R3, (int32_t)fld->offset);
		return;
	}
	if (fld->offset % fld->size == 0) {
		ldx(g, fld->size, R3, R6, (int16_t)fld->offset);
	} else {
		mov(g, R1, R10);
		alui(g, BPF_ADD, R1, -8);
		movi(g, R2, (int32_t)fld->size);
		mov(g, R3, R6);
		alui(g, BPF_ADD, R3, (int32_t)fld->offset);
		call(g, BPF_FUNC_probe_read_kernel);
		ldx(g, fld->size, R3, R10, -8);
	}
	if (fld->is_signed && fld->size < 8) {
		alui(g, BPF_LSH, R3, 64 - 8 * (int32_t)fld->size);
		alui(g, BPF_ARSH, R3, 64 - 8 * (int32_t)fld->size);
	}
}

/* a bitfield's bits of r3, at the bottom */
static void bits(struct kp_gen *g, const struct kp_fetch_type *t)
{
	alui(g, BPF_LSH, R3, 64 - t->width - t->shift);
	alui(g, BPF_RSH, R3, 64 - t->width);
}

/*
 * The string at r3 into the strings' area, its __data_loc at record
 * offset @loc. r9 != 0 marks a string whose failure counts as a fault.
 */
static void gen_string(struct kp_gen *g, bool user, size_t loc, bool nonnull_r9)
{
	jmp_full(g);
	mov(g, R1, R7);
	alui(g, BPF_ADD, R1, (int32_t)g->fixed);
	alu(g, BPF_ADD, R1, R8);
	sti(g, 1, R1, 0, 0);
	movi(g, R2, KP_BPF_STR_MAX);
	call(g, user ? BPF_FUNC_probe_read_user_str : BPF_FUNC_probe_read_kernel_str);
	/*
	 * The length with its NUL, without a branch and bounded as the
	 * verifier sees it: a failed read (< 0) is 0, a fault; an empty
	 * string is 1 (the helpers return 0 for it on 5.10, 6.1 and 6.12, 1 on
	 * 6.18: seen).
	 * r1 = fault ? -1 : 0, r2 = ~r1, r0 = (r0 & r2) + (r0 == 0 && !fault)
	 */
	mov(g, R1, R0);
	alui(g, BPF_ARSH, R1, 63);
	mov(g, R2, R1);
	alui(g, BPF_XOR, R2, -1);
	alu(g, BPF_AND, R0, R2);
	mov(g, R3, R0);
	alui(g, BPF_ADD, R3, -1);
	alui(g, BPF_RSH, R3, 63);
	alu(g, BPF_AND, R3, R2);
	alu(g, BPF_ADD, R0, R3);
	alui(g, BPF_AND, R0, STRMASK);
	alui(g, BPF_AND, R1, 1);
	if (nonnull_r9) {
		/* ... where there was a pointer: (r9 | -r9) >> 63 */
		mov(g, R2, R9);
		alui(g, BPF_NEG, R2, 0);
		alu(g, BPF_OR, R2, R9);
		alui(g, BPF_RSH, R2, 63);
		alu(g, BPF_AND, R1, R2);
	}
	mov(g, R9, R0); /* count() uses r2 */
	count(g, KP_BPF_CNT_FAULTS, R1);
	/* __data_loc: length << 16 | offset */
	mov(g, R1, R9);
	alui(g, BPF_LSH, R1, 16);
	mov(g, R2, R8);
	alui(g, BPF_ADD, R2, (int32_t)g->fixed);
	alu(g, BPF_OR, R1, R2);
	stx(g, 4, R7, (int16_t)loc, R1);
	alu(g, BPF_ADD, R8, R9);
}

/*
 * An array of N string pointers at r3: each pointer read (user memory when
 * @user_ptr), each string read; after a NULL pointer no more are read (the
 * mask at r10-16 turns the rest into NULL), so a NULL-terminated list ends
 * with an empty __data_loc.
 */
static void gen_strings(struct kp_gen *g, const struct kp_slot *s, bool user_ptr)
{
	sti(g, 8, R10, -16, -1);
	stx(g, 8, R10, -24, R3);
	for (unsigned int i = 0; i < s->t.array; i++) {
		ldx(g, 8, R3, R10, -24);
		addi(g, R3, 8 * (int64_t)i);
		read_ptr(g, user_ptr);
		ldx(g, 8, R1, R10, -16);
		alu(g, BPF_AND, R3, R1);
		/* mask &= -(r3 != 0) */
		mov(g, R2, R3);
		alui(g, BPF_NEG, R2, 0);
		alu(g, BPF_OR, R2, R3);
		alui(g, BPF_ARSH, R2, 63);
		alu(g, BPF_AND, R1, R2);
		stx(g, 8, R10, -16, R1);
		mov(g, R9, R3);
		gen_string(g, s->user_str, s->off + 4 * i, true);
	}
}

static void gen_arg(struct kp_gen *g, const struct kp_bpf_arg *a, const struct kp_slot *s)
{
	const struct kp_fetch *f = &a->f;
	bool last_user = f->nderef && f->deref[f->nderef - 1].user;

	if (s->comm) {
		jmp_full(g);
		mov(g, R1, R7);
		alui(g, BPF_ADD, R1, (int32_t)g->fixed);
		alu(g, BPF_ADD, R1, R8);
		movi(g, R2, 16);
		call(g, BPF_FUNC_get_current_comm);
		mov(g, R1, R8);
		alui(g, BPF_ADD, R1, (int32_t)g->fixed);
		alui(g, BPF_OR, R1, 16 << 16);
		stx(g, 4, R7, (int16_t)s->off, R1);
		alui(g, BPF_ADD, R8, 16);
		return;
	}
	if (s->immstr) {
		size_t l = strlen(f->name) + 1;

		for (size_t i = 0; i < l; i += 4) {
			uint32_t w = 0;

			memcpy(&w, f->name + i, l - i < 4 ? l - i : 4);
			sti(g, 4, R7, (int16_t)(s->imm_off + i), (int32_t)w);
		}
		sti(g, 4, R7, (int16_t)s->off, (int32_t)((uint32_t)l << 16 | (uint32_t)s->imm_off));
		return;
	}
	gen_base(g, f, s);
	for (int i = 0; i + 1 < f->nderef; i++) {
		addi(g, R3, f->deref[i].off);
		read_ptr(g, f->deref[i].user);
	}
	if (f->nderef)
		addi(g, R3, f->deref[f->nderef - 1].off);
	if (s->string && s->t.array) {
		gen_strings(g, s, last_user);
	} else if (s->string) {
		gen_string(g, s->user_str, s->off, false);
	} else if (!f->nderef) {
		if (s->t.kind == KP_FETCH_BITFIELD)
			bits(g, &s->t);
		stx(g, s->t.size, R7, (int16_t)s->off, R3);
	} else if (s->t.kind == KP_FETCH_BITFIELD) {
		/* the container's bytes, zero-extended */
		sti(g, 8, R10, -8, 0);
		mov(g, R1, R10);
		alui(g, BPF_ADD, R1, -8);
		movi(g, R2, s->t.size);
		call(g, last_user ? BPF_FUNC_probe_read_user : BPF_FUNC_probe_read_kernel);
		ldx(g, 8, R3, R10, -8);
		bits(g, &s->t);
		stx(g, s->t.size, R7, (int16_t)s->off, R3);
	} else {
		/* straight into the record; a failed read leaves zeros there */
		mov(g, R1, R7);
		alui(g, BPF_ADD, R1, (int32_t)s->off);
		movi(g, R2, (int32_t)s->size);
		call(g, last_user ? BPF_FUNC_probe_read_user : BPF_FUNC_probe_read_kernel);
	}
}

/* ---- the format ------------------------------------------------------------ */

static void fmt_field(struct kp_gen *g, const struct kp_bpf_arg *a, const struct kp_slot *s)
{
	const char *sign = "u";
	unsigned int bytes = s->t.size;

	if (s->string) {
		if (s->t.array)
			fmt_add(
			    g, "\tfield:__data_loc char[][%u] %s;\toffset:%zu;\tsize:%zu;\tsigned:1;\n",
			    s->t.array, a->name, s->off, s->size);
		else
			fmt_add(g,
				"\tfield:__data_loc char[] %s;\toffset:%zu;\tsize:4;\tsigned:1;\n",
				a->name, s->off);
		return;
	}
	if (s->t.kind == KP_FETCH_SINT)
		sign = "s";
	if (s->t.array)
		fmt_add(g, "\tfield:%s%u %s[%u];\toffset:%zu;\tsize:%zu;\tsigned:%d;\n", sign,
			bytes * 8, a->name, s->t.array, s->off, s->size, *sign == 's');
	else
		fmt_add(g, "\tfield:%s%u %s;\toffset:%zu;\tsize:%zu;\tsigned:%d;\n", sign,
			bytes * 8, a->name, s->off, s->size, *sign == 's');
}

static void gen_prologue(struct kp_gen *g, int id)
{
	mov(g, R6, R1);
	sti(g, 4, R10, -4, 0);
	mov(g, R2, R10);
	alui(g, BPF_ADD, R2, -4);
	ldmap(g, R1, KP_BPF_MAP_SCRATCH);
	call(g, BPF_FUNC_map_lookup_elem);
	em(g, BPF_JMP | BPF_JNE | BPF_K, R0, 0, 2, 0);
	movi(g, R0, 0);
	em(g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	mov(g, R7, R0);
	movi(g, R1, 1);
	count(g, KP_BPF_CNT_HITS, R1);
	/* a failed read, a cut list and a skipped argument read 0 */
	for (size_t o = HDR; o < g->fixed; o += 8)
		sti(g, 8, R7, (int16_t)o, 0);
	sti(g, 2, R7, 0, id);
	sti(g, 2, R7, 2, 0);
	call(g, BPF_FUNC_get_current_pid_tgid);
	stx(g, 4, R7, 4, R0);
	movi(g, R8, 0);
}

static void gen_epilogue(struct kp_gen *g)
{
	for (size_t i = 0; i < g->nouts; i++)
		g->v[g->outs[i]].off = (int16_t)(g->n - g->outs[i] - 1);
	mov(g, R5, R8);
	alui(g, BPF_ADD, R5, (int32_t)g->fixed);
	mov(g, R4, R7);
	em(g, BPF_ALU | BPF_MOV | BPF_K, R3, 0, 0, -1); /* BPF_F_CURRENT_CPU */
	ldmap(g, R2, KP_BPF_MAP_EVENTS);
	mov(g, R1, R6);
	call(g, BPF_FUNC_perf_event_output);
	alui(g, BPF_RSH, R0, 63);
	count(g, KP_BPF_CNT_LOST, R0);
	movi(g, R0, 0);
	em(g, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

int kp_bpf_gen(const struct kp_format *tp, int id, const char *name, const struct kp_bpf_arg *a,
	       size_t n, struct kp_bpf_prog *out, char *msg, size_t len)
{
	struct kp_gen g = { .msg = msg, .len = len, .fmtcap = 1024 };
	struct kp_slot *s = calloc(n ? n : 1, sizeof(*s));
	size_t off = HDR;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	g.fmt = malloc(g.fmtcap);
	if (!s || !g.fmt)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if ((err = slot_of(&g, tp, &a[i], &s[i])))
			goto out;
		s[i].off = off;
		off += s[i].size;
	}
	for (size_t i = 0; i < n; i++) {
		if (!s[i].immstr)
			continue;
		s[i].imm_off = off;
		off += (strlen(a[i].f.name) + 4) & ~(size_t)3;
	}
	g.fixed = (off + 7) & ~(size_t)7;
	if (g.fixed > KP_BPF_FIXED_MAX) {
		snprintf(msg, len, "the arguments take %zu bytes of a record; the most is %u",
			 g.fixed, KP_BPF_FIXED_MAX);
		err = -EINVAL;
		goto out;
	}
	g.area = KP_BPF_CNT_HITS - g.fixed - SLACK;
	fmt_add(&g, "name: %s\nID: %d\nformat:\n", name, id);
	fmt_add(&g, "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
		    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
		    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
		    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n");
	gen_prologue(&g, id);
	for (size_t i = 0; i < n; i++) {
		gen_arg(&g, &a[i], &s[i]);
		fmt_field(&g, &a[i], &s[i]);
	}
	fmt_add(&g, "\nprint fmt: \"\"\n");
	gen_epilogue(&g);
	err = g.oom ? -ENOMEM : 0;
out:
	if (err == -ENOMEM)
		snprintf(msg, len, "out of memory");
	free(s);
	free(g.outs);
	if (err) {
		free(g.v);
		free(g.fmt);
		return err;
	}
	out->insn = g.v;
	out->n = g.n;
	out->fixed = g.fixed;
	out->format = g.fmt;
	return 0;
}

void kp_bpf_prog_free(struct kp_bpf_prog *p)
{
	free(p->insn);
	free(p->format);
	memset(p, 0, sizeof(*p));
}
