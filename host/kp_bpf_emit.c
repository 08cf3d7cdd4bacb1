// SPDX-License-Identifier: MIT
/*
 * BPF instructions written into a growing array (see kp_bpf_emit.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "kp_bpf_emit.h"

/* Room for one more of @size bytes in *@v of *@cap elements. */
static bool grow(void **v, size_t *cap, size_t n, size_t size, size_t first)
{
	void *nv;
	size_t c;

	if (n < *cap)
		return true;
	c = *cap ? *cap * 2 : first;
	nv = realloc(*v, c * size);
	if (!nv)
		return false;
	*v = nv;
	*cap = c;
	return true;
}

void kp_em(struct kp_emit *e, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (!grow((void **)&e->v, &e->cap, e->n, sizeof(*e->v), 256)) {
		e->oom = true;
		return;
	}
	e->v[e->n++] = (struct bpf_insn){
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm
	};
}

void kp_em_mov(struct kp_emit *e, int dst, int src)
{
	kp_em(e, BPF_ALU64 | BPF_MOV | BPF_X, (uint8_t)dst, (uint8_t)src, 0, 0);
}

void kp_em_movi(struct kp_emit *e, int dst, int32_t imm)
{
	kp_em(e, BPF_ALU64 | BPF_MOV | BPF_K, (uint8_t)dst, 0, 0, imm);
}

void kp_em_alui(struct kp_emit *e, int op, int dst, int32_t imm)
{
	kp_em(e, (uint8_t)(BPF_ALU64 | op | BPF_K), (uint8_t)dst, 0, 0, imm);
}

void kp_em_alu(struct kp_emit *e, int op, int dst, int src)
{
	kp_em(e, (uint8_t)(BPF_ALU64 | op | BPF_X), (uint8_t)dst, (uint8_t)src, 0, 0);
}

void kp_em_ld64(struct kp_emit *e, int dst, uint64_t v)
{
	kp_em(e, BPF_LD | BPF_DW | BPF_IMM, (uint8_t)dst, 0, 0, (int32_t)(uint32_t)v);
	kp_em(e, 0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

void kp_em_ldmap(struct kp_emit *e, int dst, int map)
{
	kp_em(e, BPF_LD | BPF_DW | BPF_IMM, (uint8_t)dst, BPF_PSEUDO_MAP_FD, 0, map);
	kp_em(e, 0, 0, 0, 0, 0);
}

void kp_em_addi(struct kp_emit *e, int dst, int64_t v)
{
	if (!v)
		return;
	if (v >= INT32_MIN && v <= INT32_MAX) {
		kp_em_alui(e, BPF_ADD, dst, (int32_t)v);
		return;
	}
	kp_em_ld64(e, R2, (uint64_t)v);
	kp_em_alu(e, BPF_ADD, dst, R2);
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

void kp_em_ldx(struct kp_emit *e, unsigned int size, int dst, int src, int16_t off)
{
	kp_em(e, (uint8_t)(BPF_LDX | BPF_MEM | bpf_size(size)), (uint8_t)dst, (uint8_t)src, off, 0);
}

void kp_em_stx(struct kp_emit *e, unsigned int size, int dst, int16_t off, int src)
{
	kp_em(e, (uint8_t)(BPF_STX | BPF_MEM | bpf_size(size)), (uint8_t)dst, (uint8_t)src, off, 0);
}

void kp_em_sti(struct kp_emit *e, unsigned int size, int dst, int16_t off, int32_t imm)
{
	kp_em(e, (uint8_t)(BPF_ST | BPF_MEM | bpf_size(size)), (uint8_t)dst, 0, off, imm);
}

void kp_em_call(struct kp_emit *e, int fn)
{
	kp_em(e, BPF_JMP | BPF_CALL, 0, 0, 0, fn);
}

void kp_em_sext(struct kp_emit *e, int reg, unsigned int size)
{
	if (size >= 8)
		return;
	kp_em_alui(e, BPF_LSH, reg, 64 - 8 * (int32_t)size);
	kp_em_alui(e, BPF_ARSH, reg, 64 - 8 * (int32_t)size);
}

int kp_em_label(struct kp_emit *e)
{
	if (!grow((void **)&e->at, &e->labelcap, e->nlabels, sizeof(*e->at), 16)) {
		e->oom = true;
		return 0;
	}
	e->at[e->nlabels] = -1;
	return (int)e->nlabels++;
}

void kp_em_place(struct kp_emit *e, int label)
{
	if (label >= 0 && (size_t)label < e->nlabels)
		e->at[label] = (long)e->n;
}

static void jump(struct kp_emit *e, uint8_t code, int dst, int src, int32_t imm, int label)
{
	if (!grow((void **)&e->fix, &e->fixcap, e->nfix, sizeof(*e->fix), 16)) {
		e->oom = true;
		return;
	}
	e->fix[e->nfix++] = (struct kp_em_fix){ .at = e->n, .label = label };
	kp_em(e, code, (uint8_t)dst, (uint8_t)src, 0, imm);
}

void kp_em_jmpi(struct kp_emit *e, int op, int dst, int32_t imm, int label)
{
	jump(e, (uint8_t)(BPF_JMP | op | BPF_K), op == BPF_JA ? 0 : dst, 0, imm, label);
}

void kp_em_jmpx(struct kp_emit *e, int op, int dst, int src, int label)
{
	jump(e, (uint8_t)(BPF_JMP | op | BPF_X), dst, src, 0, label);
}

int kp_em_finish(struct kp_emit *e)
{
	if (e->oom)
		return -ENOMEM;
	for (size_t i = 0; i < e->nfix; i++) {
		const struct kp_em_fix *f = &e->fix[i];
		long to = (size_t)f->label < e->nlabels ? e->at[f->label] : -1;
		long d = to - (long)f->at - 1;

		if (to < 0 || d < 0 || d > INT16_MAX)
			return -EINVAL;
		e->v[f->at].off = (int16_t)d;
	}
	return 0;
}

void kp_em_release(struct kp_emit *e)
{
	free(e->fix);
	free(e->at);
	e->fix = NULL;
	e->at = NULL;
	e->nfix = e->fixcap = e->nlabels = e->labelcap = 0;
}
