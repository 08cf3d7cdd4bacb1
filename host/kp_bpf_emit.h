/* SPDX-License-Identifier: MIT */
#ifndef KP_BPF_EMIT_H
#define KP_BPF_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/bpf.h>

/*
 * Writing BPF instructions: a growing array, forward jumps to labels
 * patched at the end. What kp_bpf_gen.c (the fetch arguments) and
 * kp_bpf_filter.c (the filter) share. Pure. An allocation failure is
 * remembered and reported by kp_em_finish(); the calls in between go on
 * harmlessly.
 */

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

struct kp_emit {
	struct bpf_insn *v;
	size_t n, cap;
	struct kp_em_fix {
		size_t at; /* the jump */
		int label;
	} * fix;
	size_t nfix, fixcap;
	long *at; /* each label's place, -1 until placed */
	size_t nlabels, labelcap;
	bool oom;
};

void kp_em(struct kp_emit *e, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm);
void kp_em_mov(struct kp_emit *e, int dst, int src);
void kp_em_movi(struct kp_emit *e, int dst, int32_t imm);
void kp_em_alui(struct kp_emit *e, int op, int dst, int32_t imm);
void kp_em_alu(struct kp_emit *e, int op, int dst, int src);
void kp_em_ld64(struct kp_emit *e, int dst, uint64_t v);
/* dst = the map's fd (imm holds @map until the loader puts the fd there) */
void kp_em_ldmap(struct kp_emit *e, int dst, int map);
/* dst += v, a 64-bit constant (through r2 when it needs 64 bits) */
void kp_em_addi(struct kp_emit *e, int dst, int64_t v);
/* loads and stores of 1, 2, 4 or 8 bytes */
void kp_em_ldx(struct kp_emit *e, unsigned int size, int dst, int src, int16_t off);
void kp_em_stx(struct kp_emit *e, unsigned int size, int dst, int16_t off, int src);
void kp_em_sti(struct kp_emit *e, unsigned int size, int dst, int16_t off, int32_t imm);
void kp_em_call(struct kp_emit *e, int fn);
/* reg, a loaded @size-byte value (zero-extended), sign-extended to 64 bits */
void kp_em_sext(struct kp_emit *e, int reg, unsigned int size);

/* A new label, placed later with kp_em_place(); jumps to it only forward. */
int kp_em_label(struct kp_emit *e);
void kp_em_place(struct kp_emit *e, int label);
/* if dst OP imm (BPF_JEQ, BPF_JGT, ...; BPF_JA: always) goto label */
void kp_em_jmpi(struct kp_emit *e, int op, int dst, int32_t imm, int label);
/* if dst OP src goto label */
void kp_em_jmpx(struct kp_emit *e, int op, int dst, int src, int label);

/* Patch the jumps. 0; -ENOMEM; -EINVAL when a label was never placed or a
 * jump is too long. */
int kp_em_finish(struct kp_emit *e);
/* The labels and fixups (the instructions stay with @e->v). */
void kp_em_release(struct kp_emit *e);

#endif
