// SPDX-License-Identifier: MIT
/*
 * kp_bpf_gen() of any fetch arguments and any filter on a fixed tracepoint
 * format (sys_enter_openat's): input is "ARGS\nFILTER" (no newline: no
 * filter). What it refuses has a message; what it compiles has a format
 * that parses, jumps that land inside the program and a listing.
 */
#include <errno.h>

#include "kp_bpf_gen.h"
#include "kp_fetch.h"
#include "kp_format.h"
#include "fuzz.h"

static const char fmt_text[] =
    "name: sys_enter_openat\nID: 782\nformat:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
    "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n"
    "\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n"
    "\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n"
    "\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n"
    "\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n\n"
    "print fmt: \"\"\n";

static struct kp_format *tp;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	tp = kp_format_parse(fmt_text, sizeof(fmt_text) - 1, "syscalls");
	return tp ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_dup(data, size, 1), *filter = strchr(text, '\n'), *save = NULL, msg[512];
	static char listing[1 << 20];
	struct kp_bpf_arg a[8];
	struct kp_bpf_prog p;
	struct kp_fetch_error e;
	size_t n = 0;

	if (filter)
		*filter++ = '\0';
	for (char *t = strtok_r(text, " ", &save); t && n < 8; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');

		if (!eq || eq == t)
			goto out;
		*eq = '\0';
		a[n].name = t;
		if (kp_fetch_parse(eq + 1, &a[n].f, &e) ||
		    kp_fetch_check(&a[n].f, KP_FETCH_CTX_EVENT, &e))
			goto out;
		n++;
	}
	msg[0] = '\0';
	if (kp_bpf_gen(tp, 782, "ev", size & 1, a, n, filter, &p, msg, sizeof(msg))) {
		FZ_CHECK(msg[0]);
		goto out;
	}
	{
		struct kp_format *f = kp_format_parse(p.format, strlen(p.format), "kpscript");

		FZ_CHECK(f != NULL);
		kp_format_free(f);
	}
	for (size_t i = 0; i < p.n; i++) {
		int cls = p.insn[i].code & 0x07, op = p.insn[i].code & 0xf0;

		if (cls == BPF_JMP && op != BPF_CALL && op != BPF_EXIT)
			FZ_CHECK((long)i + 1 + p.insn[i].off >= 0 &&
				 (size_t)((long)i + 1 + p.insn[i].off) < p.n);
	}
	FZ_CHECK(p.n > 0 && p.insn[p.n - 1].code == (BPF_JMP | BPF_EXIT));
	FZ_CHECK(kp_bpf_listing(p.insn, p.n, listing, sizeof(listing)) > 0);
	kp_bpf_prog_free(&p);
out:
	free(text);
	return 0;
}
