/* SPDX-License-Identifier: MIT */
#ifndef KP_BPF_H
#define KP_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A program kp_bpf_gen() made, in the kernel: its maps created, the
 * program verified and attached to its tracepoint, its records going to
 * the BPF output events of a kp_perf set. Everything is held by file
 * descriptors of this process (nothing pinned), so it all goes when the
 * process does, however it ends.
 */
struct kp_bpf;
struct kp_bpf_prog;
struct kp_perf;

/**
 * kp_bpf_load() - load @prog and attach it to tracepoint @tp_id (a raw
 * program: to raw tracepoint @raw_name), disarmed (kp_bpf_enable() arms it);
 * @out: BPF output events opened on every CPU (KP_PERF_BPF_OUTPUT)
 * Return: the loaded program, or NULL with errno and @msg (the verifier's
 * last lines when it refused the program).
 */
struct kp_bpf *kp_bpf_load(const struct kp_bpf_prog *prog, int tp_id, const char *raw_name,
			   const struct kp_perf *out, char *msg, size_t len);
/* Records from now on (arm it), or none (disarm it). 0 or -errno. */
int kp_bpf_enable(struct kp_bpf *b, bool on);
/* The program's counters over every CPU: its runs, the records perf could
 * not take (a full ring), the strings it could not read. 0 or -errno. */
int kp_bpf_counts(const struct kp_bpf *b, uint64_t *hits, uint64_t *lost, uint64_t *faults);
void kp_bpf_close(struct kp_bpf *b);
/* Detach the programs of @v[0..@n) (NULLs skipped) at once: each detach
 * waits for an RCU grace period (tens of ms), so n in parallel take about
 * one. Their kp_bpf_close() follows. */
void kp_bpf_detach_all(struct kp_bpf *const *v, size_t n);

/* The verifier's log's last four lines (what it refused comes at the
 * end), trailing newlines and spaces left out, into @msg. */
void kp_bpf_log_tail(const char *log, char *msg, size_t len);

/* Can this process load a tracepoint program? 0, or -errno with @msg. */
int kp_bpf_available(char *msg, size_t len);

#endif
