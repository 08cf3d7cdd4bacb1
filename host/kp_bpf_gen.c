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

#include "kp_bpf_emit.h"
#include "kp_bpf_filter.h"
#include "kp_bpf_gen.h"
#include "kp_format.h"

#define HDR 8 /* common_type, flags, preempt_count, common_pid */
#define SLACK 8192 /* what r8 may pass CAP by, as the verifier sees it */
#define STRMASK 0x1fff

struct kp_gen {
	struct kp_emit e;
	int out; /* the label of the output */
	int quit; /* the label of the end: no record */
	bool raw; /* the context is a raw tracepoint's arguments */
	size_t fixed, area; /* the fixed part's size; CAP */
	char *fmt;
	size_t fmtlen, fmtcap;
	char *msg;
	size_t len;
};

/* if r8 > CAP: the strings' area is full, output what there is */
static void jmp_full(struct kp_gen *g)
{
	kp_em_jmpi(&g->e, BPF_JGT, R8, (int32_t)g->area, g->out);
}

/* r3 = the 8 bytes at r3 (user or kernel memory); 0 when unreadable */
static void read_ptr(struct kp_gen *g, bool user)
{
	kp_em_mov(&g->e, R1, R10);
	kp_em_alui(&g->e, BPF_ADD, R1, -8);
	kp_em_movi(&g->e, R2, 8);
	kp_em_call(&g->e, user ? BPF_FUNC_probe_read_user : BPF_FUNC_probe_read_kernel);
	kp_em_ldx(&g->e, 8, R3, R10, -8);
}

/* counters[off] += reg */
static void count(struct kp_gen *g, int16_t off, int reg)
{
	kp_em_ldx(&g->e, 8, R2, R7, off);
	kp_em_alu(&g->e, BPF_ADD, R2, reg);
	kp_em_stx(&g->e, 8, R7, off, R2);
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
			g->e.oom = true;
			return;
		}
		if ((size_t)w < g->fmtcap - g->fmtlen) {
			g->fmtlen += (size_t)w;
			return;
		}
		char *n = realloc(g->fmt, g->fmtcap * 2 + (size_t)w);

		if (!n) {
			g->e.oom = true;
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
	if (g->raw && f->base == KP_FETCH_ARG) {
		if (f->num < 1 || f->num > 12)
			return refuse(g, a, "a raw tracepoint has arguments $arg1 to $arg12");
	} else if (g->raw && f->base != KP_FETCH_COMM && f->base != KP_FETCH_IMM &&
		   f->base != KP_FETCH_IMMSTR) {
		return refuse(g, a, "on a raw tracepoint only $argN, $comm and immediates");
	}
	s->fld = g->raw ? NULL : base_field(tp, f, name, sizeof(name));
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
	case KP_FETCH_ARG:
		if (g->raw)
			break;
		/* fall through */ /* on a tracepoint, a field so named */
	case KP_FETCH_FIELD:
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

/* A field name of the records' format: an identifier of at most 31 bytes
 * (the kernel's MAX_ARG_NAME_LEN with its NUL), not common_*, once. */
static int name_ok(struct kp_gen *g, const struct kp_bpf_arg *a, size_t i)
{
	const char *p = a[i].name;
	size_t l = strlen(p);

	if (!l || l > 31 ||
	    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
		      "0123456789") != l ||
	    (p[0] >= '0' && p[0] <= '9') || !strncmp(p, "common_", 7)) {
		snprintf(g->msg, g->len,
			 "argument name '%.40s' is not an identifier of at most 31 bytes "
			 "(nor common_*)",
			 p);
		return -EINVAL;
	}
	for (size_t j = 0; j < i; j++)
		if (!strcmp(a[j].name, p))
			return refuse(g, &a[i], "named twice");
	return 0;
}

/* ---- code ---------------------------------------------------------------- */

/* r3 = the base: a field's value or address, or an immediate */
static void gen_base(struct kp_gen *g, const struct kp_fetch *f, const struct kp_slot *s)
{
	const struct kp_field *fld = s->fld;

	if (g->raw && f->base == KP_FETCH_ARG) {
		/* the raw tracepoint's argument N, a u64 */
		kp_em_ldx(&g->e, 8, R3, R6, (int16_t)(8 * (f->num - 1)));
		return;
	}
	if (!fld) {
		kp_em_ld64(&g->e, R3, (uint64_t)f->num);
		return;
	}
	if (fld->kind == KP_FIELD_DYN_STR) {
		/* the text is at its __data_loc offset in the record */
		kp_em_ldx(&g->e, 4, R3, R6, (int16_t)fld->offset);
		kp_em_alui(&g->e, BPF_AND, R3, 0xffff);
		if (fld->relative)
			kp_em_alui(&g->e, BPF_ADD, R3, (int32_t)fld->offset + 4);
		kp_em_alu(&g->e, BPF_ADD, R3, R6);
		return;
	}
	if (fld->kind == KP_FIELD_CHARS) {
		kp_em_mov(&g->e, R3, R6);
		kp_em_alui(&g->e, BPF_ADD, R3, (int32_t)fld->offset);
		return;
	}
	if (fld->offset % fld->size == 0) {
		kp_em_ldx(&g->e, fld->size, R3, R6, (int16_t)fld->offset);
	} else {
		kp_em_mov(&g->e, R1, R10);
		kp_em_alui(&g->e, BPF_ADD, R1, -8);
		kp_em_movi(&g->e, R2, (int32_t)fld->size);
		kp_em_mov(&g->e, R3, R6);
		kp_em_alui(&g->e, BPF_ADD, R3, (int32_t)fld->offset);
		kp_em_call(&g->e, BPF_FUNC_probe_read_kernel);
		kp_em_ldx(&g->e, fld->size, R3, R10, -8);
	}
	if (fld->is_signed)
		kp_em_sext(&g->e, R3, fld->size);
}

/* a bitfield's bits of r3, at the bottom */
static void bits(struct kp_gen *g, const struct kp_fetch_type *t)
{
	kp_em_alui(&g->e, BPF_LSH, R3, 64 - t->width - t->shift);
	kp_em_alui(&g->e, BPF_RSH, R3, 64 - t->width);
}

/* The string just written at the strings' area's end, r9 bytes with its
 * NUL: its __data_loc (length << 16 | offset) at record offset @loc, and
 * the area grown by it. */
static void put_loc(struct kp_gen *g, size_t loc)
{
	kp_em_mov(&g->e, R1, R9);
	kp_em_alui(&g->e, BPF_LSH, R1, 16);
	kp_em_mov(&g->e, R2, R8);
	kp_em_alui(&g->e, BPF_ADD, R2, (int32_t)g->fixed);
	kp_em_alu(&g->e, BPF_OR, R1, R2);
	kp_em_stx(&g->e, 4, R7, (int16_t)loc, R1);
	kp_em_alu(&g->e, BPF_ADD, R8, R9);
}

/* Where a string is read from: user memory (ustring, +u), kernel memory
 * (the record's own text), or as the kernel's :string reads, by address. */
enum kp_str_mem { STR_USER, STR_KERNEL, STR_EITHER };

/*
 * The string at r3 (at most @room bytes with its NUL) into the strings'
 * area, its __data_loc at record
 * offset @loc. r9 != 0 marks a string whose failure counts as a fault.
 */
static void gen_string(struct kp_gen *g, enum kp_str_mem mem, int32_t room, size_t loc,
		       bool nonnull_r9)
{
	jmp_full(g);
	kp_em_mov(&g->e, R1, R7);
	kp_em_alui(&g->e, BPF_ADD, R1, (int32_t)g->fixed);
	kp_em_alu(&g->e, BPF_ADD, R1, R8);
	kp_em_sti(&g->e, 1, R1, 0, 0);
	kp_em_movi(&g->e, R2, room);
	if (mem == STR_EITHER) {
		/* as the kernel's own string fetch: an address below the
		 * kernel's half (the sign bit clear on x86-64) is user memory */
		int kernel = kp_em_label(&g->e), join = kp_em_label(&g->e);

		kp_em_jmpi(&g->e, BPF_JSLT, R3, 0, kernel);
		kp_em_call(&g->e, BPF_FUNC_probe_read_user_str);
		kp_em_jmpi(&g->e, BPF_JA, 0, 0, join);
		kp_em_place(&g->e, kernel);
		kp_em_call(&g->e, BPF_FUNC_probe_read_kernel_str);
		kp_em_place(&g->e, join);
	} else {
		kp_em_call(&g->e, mem == STR_USER ? BPF_FUNC_probe_read_user_str
						  : BPF_FUNC_probe_read_kernel_str);
	}
	/*
	 * The length with its NUL, without a branch and bounded as the
	 * verifier sees it: a failed read (< 0) is 0, a fault; an empty
	 * string is 1 (the helpers return 0 for it on 5.10, 6.1 and 6.12, 1 on
	 * 6.18: seen).
	 * r1 = fault ? -1 : 0, r2 = ~r1, r0 = (r0 & r2) + (r0 == 0 && !fault)
	 */
	kp_em_mov(&g->e, R1, R0);
	kp_em_alui(&g->e, BPF_ARSH, R1, 63);
	kp_em_mov(&g->e, R2, R1);
	kp_em_alui(&g->e, BPF_XOR, R2, -1);
	kp_em_alu(&g->e, BPF_AND, R0, R2);
	kp_em_mov(&g->e, R3, R0);
	kp_em_alui(&g->e, BPF_ADD, R3, -1);
	kp_em_alui(&g->e, BPF_RSH, R3, 63);
	kp_em_alu(&g->e, BPF_AND, R3, R2);
	kp_em_alu(&g->e, BPF_ADD, R0, R3);
	kp_em_alui(&g->e, BPF_AND, R0, STRMASK);
	kp_em_alui(&g->e, BPF_AND, R1, 1);
	if (nonnull_r9) {
		/* ... where there was a pointer: (r9 | -r9) >> 63 */
		kp_em_mov(&g->e, R2, R9);
		kp_em_alui(&g->e, BPF_NEG, R2, 0);
		kp_em_alu(&g->e, BPF_OR, R2, R9);
		kp_em_alui(&g->e, BPF_RSH, R2, 63);
		kp_em_alu(&g->e, BPF_AND, R1, R2);
	}
	kp_em_mov(&g->e, R9, R0); /* count() uses r2 */
	/* counted once the record passes the filter (r10-32 holds them) */
	kp_em_ldx(&g->e, 8, R2, R10, -32);
	kp_em_alu(&g->e, BPF_ADD, R2, R1);
	kp_em_stx(&g->e, 8, R10, -32, R2);
	put_loc(g, loc);
}

/*
 * An array of N string pointers at r3: each pointer read (user memory when
 * @user_ptr), each string read; after a NULL pointer no more are read (the
 * mask at r10-16 turns the rest into NULL), so a NULL-terminated list ends
 * with an empty __data_loc.
 */
static void gen_strings(struct kp_gen *g, const struct kp_slot *s, bool user_ptr)
{
	kp_em_sti(&g->e, 8, R10, -16, -1);
	kp_em_stx(&g->e, 8, R10, -24, R3);
	for (unsigned int i = 0; i < s->t.array; i++) {
		kp_em_ldx(&g->e, 8, R3, R10, -24);
		kp_em_addi(&g->e, R3, 8 * (int64_t)i);
		read_ptr(g, user_ptr);
		kp_em_ldx(&g->e, 8, R1, R10, -16);
		kp_em_alu(&g->e, BPF_AND, R3, R1);
		/* mask &= -(r3 != 0) */
		kp_em_mov(&g->e, R2, R3);
		kp_em_alui(&g->e, BPF_NEG, R2, 0);
		kp_em_alu(&g->e, BPF_OR, R2, R3);
		kp_em_alui(&g->e, BPF_ARSH, R2, 63);
		kp_em_alu(&g->e, BPF_AND, R1, R2);
		kp_em_stx(&g->e, 8, R10, -16, R1);
		kp_em_mov(&g->e, R9, R3);
		gen_string(g, s->user_str ? STR_USER : STR_EITHER, KP_BPF_STR_MAX, s->off + 4 * i,
			   true);
	}
}

static void gen_arg(struct kp_gen *g, const struct kp_bpf_arg *a, const struct kp_slot *s)
{
	const struct kp_fetch *f = &a->f;
	bool last_user = f->nderef && f->deref[f->nderef - 1].user;

	if (s->comm) {
		jmp_full(g);
		kp_em_mov(&g->e, R1, R7);
		kp_em_alui(&g->e, BPF_ADD, R1, (int32_t)g->fixed);
		kp_em_alu(&g->e, BPF_ADD, R1, R8);
		kp_em_movi(&g->e, R2, 16);
		kp_em_call(&g->e, BPF_FUNC_get_current_comm);
		/* its length with the NUL, as a string's: the helper pads the
		 * name with NULs, so 1 + the bytes that are not NUL */
		kp_em_mov(&g->e, R3, R7);
		kp_em_alui(&g->e, BPF_ADD, R3, (int32_t)g->fixed);
		kp_em_alu(&g->e, BPF_ADD, R3, R8);
		kp_em_movi(&g->e, R9, 1);
		for (int16_t i = 0; i < 15; i++) {
			kp_em_ldx(&g->e, 1, R2, R3, i);
			kp_em_mov(&g->e, R1, R2);
			kp_em_alui(&g->e, BPF_NEG, R1, 0);
			kp_em_alu(&g->e, BPF_OR, R1, R2);
			kp_em_alui(&g->e, BPF_RSH, R1, 63);
			kp_em_alu(&g->e, BPF_ADD, R9, R1);
		}
		put_loc(g, s->off);
		return;
	}
	if (s->immstr) {
		size_t l = strlen(f->name) + 1;

		for (size_t i = 0; i < l; i += 4) {
			uint32_t w = 0;

			memcpy(&w, f->name + i, l - i < 4 ? l - i : 4);
			kp_em_sti(&g->e, 4, R7, (int16_t)(s->imm_off + i), (int32_t)w);
		}
		kp_em_sti(&g->e, 4, R7, (int16_t)s->off,
			  (int32_t)((uint32_t)l << 16 | (uint32_t)s->imm_off));
		return;
	}
	gen_base(g, f, s);
	for (int i = 0; i + 1 < f->nderef; i++) {
		kp_em_addi(&g->e, R3, f->deref[i].off);
		read_ptr(g, f->deref[i].user);
	}
	if (f->nderef)
		kp_em_addi(&g->e, R3, f->deref[f->nderef - 1].off);
	if (s->string && s->t.array) {
		gen_strings(g, s, last_user);
	} else if (s->string) {
		/* the record's own text is kernel memory: a char array's
		 * string is cut at its size, as it may have no NUL */
		bool text = s->fld && s->fld->kind != KP_FIELD_INT;
		int32_t room = s->fld && s->fld->kind == KP_FIELD_CHARS ? (int32_t)s->fld->size + 1
									: KP_BPF_STR_MAX;

		gen_string(g,
			   text		 ? STR_KERNEL
			   : s->user_str ? STR_USER
					 : STR_EITHER,
			   room, s->off, false);
	} else if (!f->nderef) {
		if (s->t.kind == KP_FETCH_BITFIELD)
			bits(g, &s->t);
		kp_em_stx(&g->e, s->t.size, R7, (int16_t)s->off, R3);
	} else if (s->t.kind == KP_FETCH_BITFIELD) {
		/* the container's bytes, zero-extended */
		kp_em_sti(&g->e, 8, R10, -8, 0);
		kp_em_mov(&g->e, R1, R10);
		kp_em_alui(&g->e, BPF_ADD, R1, -8);
		kp_em_movi(&g->e, R2, s->t.size);
		kp_em_call(&g->e,
			   last_user ? BPF_FUNC_probe_read_user : BPF_FUNC_probe_read_kernel);
		kp_em_ldx(&g->e, 8, R3, R10, -8);
		bits(g, &s->t);
		kp_em_stx(&g->e, s->t.size, R7, (int16_t)s->off, R3);
	} else {
		/* straight into the record; a failed read leaves zeros there */
		kp_em_mov(&g->e, R1, R7);
		kp_em_alui(&g->e, BPF_ADD, R1, (int32_t)s->off);
		kp_em_movi(&g->e, R2, (int32_t)s->size);
		kp_em_call(&g->e,
			   last_user ? BPF_FUNC_probe_read_user : BPF_FUNC_probe_read_kernel);
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
	kp_em_mov(&g->e, R6, R1);
	kp_em_sti(&g->e, 4, R10, -4, 0);
	/* nothing until the run starts: the program is attached from its
	 * load to its release, and kpscript arms it while the run is on */
	kp_em_mov(&g->e, R2, R10);
	kp_em_alui(&g->e, BPF_ADD, R2, -4);
	kp_em_ldmap(&g->e, R1, KP_BPF_MAP_ARMED);
	kp_em_call(&g->e, BPF_FUNC_map_lookup_elem);
	kp_em_jmpi(&g->e, BPF_JEQ, R0, 0, g->quit);
	kp_em_ldx(&g->e, 4, R1, R0, 0);
	kp_em_jmpi(&g->e, BPF_JEQ, R1, 0, g->quit);
	kp_em_mov(&g->e, R2, R10);
	kp_em_alui(&g->e, BPF_ADD, R2, -4);
	kp_em_ldmap(&g->e, R1, KP_BPF_MAP_SCRATCH);
	kp_em_call(&g->e, BPF_FUNC_map_lookup_elem);
	kp_em_jmpi(&g->e, BPF_JEQ, R0, 0, g->quit);
	kp_em_mov(&g->e, R7, R0);
	/* a failed read, a cut list and a skipped argument read 0 */
	for (size_t o = HDR; o < g->fixed; o += 8)
		kp_em_sti(&g->e, 8, R7, (int16_t)o, 0);
	kp_em_sti(&g->e, 2, R7, 0, id);
	kp_em_sti(&g->e, 2, R7, 2, 0);
	kp_em_call(&g->e, BPF_FUNC_get_current_pid_tgid);
	kp_em_stx(&g->e, 4, R7, 4, R0);
	kp_em_movi(&g->e, R8, 0);
	kp_em_sti(&g->e, 8, R10, -32, 0); /* the record's faults */
}

/* The record is built (or its strings' area is full): the filter, then
 * out it goes, counted as a hit; a record the filter drops is no hit. */
static int gen_epilogue(struct kp_gen *g, const char *filter, const struct kp_bpf_field *f,
			size_t n)
{
	int drop = g->quit, err;

	kp_em_place(&g->e, g->out);
	if (filter && (err = kp_bpf_filter_gen(filter, f, n, &g->e, drop, KP_BPF_SCRATCH_SIZE,
					       g->msg, g->len)))
		return err;
	kp_em_movi(&g->e, R1, 1);
	count(g, KP_BPF_CNT_HITS, R1);
	kp_em_ldx(&g->e, 8, R1, R10, -32);
	count(g, KP_BPF_CNT_FAULTS, R1);
	kp_em_mov(&g->e, R5, R8);
	kp_em_alui(&g->e, BPF_ADD, R5, (int32_t)g->fixed);
	kp_em_mov(&g->e, R4, R7);
	kp_em(&g->e, BPF_ALU | BPF_MOV | BPF_K, R3, 0, 0, -1); /* BPF_F_CURRENT_CPU */
	kp_em_ldmap(&g->e, R2, KP_BPF_MAP_EVENTS);
	kp_em_mov(&g->e, R1, R6);
	kp_em_call(&g->e, BPF_FUNC_perf_event_output);
	kp_em_alui(&g->e, BPF_RSH, R0, 63);
	count(g, KP_BPF_CNT_LOST, R0);
	kp_em_place(&g->e, drop);
	kp_em_movi(&g->e, R0, 0);
	kp_em(&g->e, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return 0;
}

/* What a filter may compare: the arguments as the record holds them. */
static struct kp_bpf_field *filter_fields(const struct kp_bpf_arg *a, const struct kp_slot *s,
					  size_t n)
{
	struct kp_bpf_field *f = calloc(n ? n : 1, sizeof(*f));

	for (size_t i = 0; f && i < n; i++) {
		f[i].name = a[i].name;
		f[i].off = s[i].off;
		f[i].size = s[i].t.size;
		f[i].is_signed = s[i].t.kind == KP_FETCH_SINT;
		f[i].string = s[i].string && !s[i].t.array;
		f[i].other = s[i].t.array > 0;
	}
	return f;
}

int kp_bpf_gen(const struct kp_format *tp, int id, const char *name, bool raw,
	       const struct kp_bpf_arg *a, size_t n, const char *filter, struct kp_bpf_prog *out,
	       char *msg, size_t len)
{
	struct kp_gen g = { .msg = msg, .len = len, .fmtcap = 1024, .raw = raw };
	struct kp_slot *s = calloc(n ? n : 1, sizeof(*s));
	struct kp_bpf_field *ff = NULL;
	size_t off = HDR;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	g.fmt = malloc(g.fmtcap);
	if (!s || !g.fmt)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if ((err = name_ok(&g, a, i)) || (err = slot_of(&g, tp, &a[i], &s[i])))
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
	g.out = kp_em_label(&g.e);
	g.quit = kp_em_label(&g.e);
	gen_prologue(&g, id);
	for (size_t i = 0; i < n; i++) {
		gen_arg(&g, &a[i], &s[i]);
		fmt_field(&g, &a[i], &s[i]);
	}
	fmt_add(&g, "\nprint fmt: \"\"\n");
	ff = filter_fields(a, s, n);
	if (!ff || (err = gen_epilogue(&g, filter, ff, n)))
		goto out;
	err = kp_em_finish(&g.e);
	if (err == -EINVAL)
		snprintf(msg, len,
			 "the program is too long (a jump of more than 32767 instructions)");
out:
	if (err == -ENOMEM)
		snprintf(msg, len, "out of memory");
	free(s);
	free(ff);
	kp_em_release(&g.e);
	if (err) {
		free(g.e.v);
		free(g.fmt);
		return err;
	}
	out->insn = g.e.v;
	out->n = g.e.n;
	out->fixed = g.fixed;
	out->raw = raw;
	out->format = g.fmt;
	return 0;
}

void kp_bpf_prog_free(struct kp_bpf_prog *p)
{
	free(p->insn);
	free(p->format);
	free(p->spec);
	memset(p, 0, sizeof(*p));
}
