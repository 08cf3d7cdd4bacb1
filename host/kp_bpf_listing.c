// SPDX-License-Identifier: MIT
/*
 * The generated instructions as text (see kp_bpf_listing() in
 * kp_bpf_gen.h): only what kp_bpf_gen.c emits is named; anything else
 * shows its opcode.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kp_bpf_gen.h"

static const char *const kp_size_name[] = {
	[BPF_W] = "u32", [BPF_H] = "u16", [BPF_B] = "u8", [BPF_DW] = "u64"
};

static const char *alu_op(int op)
{
	switch (op) {
	case BPF_ADD:
		return "+=";
	case BPF_SUB:
		return "-=";
	case BPF_AND:
		return "&=";
	case BPF_OR:
		return "|=";
	case BPF_XOR:
		return "^=";
	case BPF_LSH:
		return "<<=";
	case BPF_RSH:
		return ">>=";
	case BPF_ARSH:
		return "s>>=";
	case BPF_MOV:
		return "=";
	default:
		return "?=";
	}
}

static const char *jmp_op(int op)
{
	switch (op) {
	case BPF_JEQ:
		return "==";
	case BPF_JNE:
		return "!=";
	case BPF_JGT:
		return ">";
	case BPF_JGE:
		return ">=";
	case BPF_JLT:
		return "<";
	case BPF_JLE:
		return "<=";
	case BPF_JSGT:
		return "s>";
	case BPF_JSGE:
		return "s>=";
	case BPF_JSLT:
		return "s<";
	case BPF_JSLE:
		return "s<=";
	case BPF_JSET:
		return "&";
	default:
		return "?";
	}
}

static const char *helper_name(int fn)
{
	switch (fn) {
	case BPF_FUNC_map_lookup_elem:
		return "map_lookup_elem";
	case BPF_FUNC_get_current_pid_tgid:
		return "get_current_pid_tgid";
	case BPF_FUNC_get_current_comm:
		return "get_current_comm";
	case BPF_FUNC_perf_event_output:
		return "perf_event_output";
	case BPF_FUNC_probe_read_user:
		return "probe_read_user";
	case BPF_FUNC_probe_read_kernel:
		return "probe_read_kernel";
	case BPF_FUNC_probe_read_user_str:
		return "probe_read_user_str";
	case BPF_FUNC_probe_read_kernel_str:
		return "probe_read_kernel_str";
	default:
		return "?";
	}
}

static int insn_text(const struct bpf_insn *in, const struct bpf_insn *next, char *b, size_t l)
{
	int cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
	const char *sz = kp_size_name[BPF_SIZE(in->code)];

	switch (cls) {
	case BPF_ALU64:
	case BPF_ALU:
		if (op == BPF_NEG)
			return snprintf(b, l, "r%d = -r%d", in->dst_reg, in->dst_reg);
		if (BPF_SRC(in->code) == BPF_X)
			return snprintf(b, l, "%sr%d %s %sr%d", cls == BPF_ALU ? "w" : "",
					in->dst_reg, alu_op(op), cls == BPF_ALU ? "w" : "",
					in->src_reg);
		return snprintf(b, l, "%sr%d %s %d", cls == BPF_ALU ? "w" : "", in->dst_reg,
				alu_op(op), in->imm);
	case BPF_LD:
		if (in->src_reg == BPF_PSEUDO_MAP_FD)
			return snprintf(b, l, "r%d = map[%s] ll", in->dst_reg,
					in->imm == KP_BPF_MAP_SCRATCH  ? "scratch"
					: in->imm == KP_BPF_MAP_EVENTS ? "events"
								       : "armed");
		return snprintf(b, l, "r%d = 0x%llx ll", in->dst_reg,
				(unsigned long long)((uint64_t)(uint32_t)next->imm << 32 |
						     (uint32_t)in->imm));
	case BPF_LDX:
		return snprintf(b, l, "r%d = *(%s *)(r%d %+d)", in->dst_reg, sz, in->src_reg,
				in->off);
	case BPF_STX:
		return snprintf(b, l, "*(%s *)(r%d %+d) = r%d", sz, in->dst_reg, in->off,
				in->src_reg);
	case BPF_ST:
		return snprintf(b, l, "*(%s *)(r%d %+d) = %d", sz, in->dst_reg, in->off, in->imm);
	case BPF_JMP:
		if (op == BPF_CALL)
			return snprintf(b, l, "call %s", helper_name(in->imm));
		if (op == BPF_EXIT)
			return snprintf(b, l, "exit");
		if (op == BPF_JA)
			return snprintf(b, l, "goto %+d", in->off);
		if (BPF_SRC(in->code) == BPF_X)
			return snprintf(b, l, "if r%d %s r%d goto %+d", in->dst_reg, jmp_op(op),
					in->src_reg, in->off);
		return snprintf(b, l, "if r%d %s %d goto %+d", in->dst_reg, jmp_op(op), in->imm,
				in->off);
	default:
		return snprintf(b, l, "(code 0x%02x)", in->code);
	}
}

int kp_bpf_listing(const struct bpf_insn *insn, size_t n, char *buf, size_t len)
{
	size_t u = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char line[128];
		bool wide = BPF_CLASS(insn[i].code) == BPF_LD && i + 1 < n;
		int w;

		insn_text(&insn[i], wide ? &insn[i + 1] : &insn[i], line, sizeof(line));
		w = snprintf(buf + (u < len ? u : len), u < len ? len - u : 0, "%4zu: %s\n", i,
			     line);
		u += (size_t)w;
		if (wide)
			i++;
	}
	return u < len ? (int)u : -ENOSPC;
}
