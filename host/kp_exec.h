/* SPDX-License-Identifier: MIT */
#ifndef KP_EXEC_H
#define KP_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * What the kernel read at each exec, for the process table: the path the
 * program was exec'd by and its argv (from BPF programs on the execve
 * tracepoints, read before the process can exit), and its ids (the task's
 * credentials at sched_process_exec, where BTF names work). kp_deliver.c
 * feeds it in event order; the process table asks it for a process /proc
 * no longer shows (its source's kept()): /proc, where it has the process,
 * is the truth (the argv read at the syscall's entry is user memory that
 * another thread could still change, and a string that faulted ends the
 * list early). Pure: no I/O.
 *
 * An exec is noted by thread at its execve (kp_exec_enter()); the exec's
 * COMM record names the process it became (kp_exec_done()). A process that
 * forks anew under the pid, or exits, is forgotten.
 */
struct kp_exec;

struct kp_exec *kp_exec_new(void);
void kp_exec_free(struct kp_exec *x);

/* Thread @tid execs @file with @argv (@argv_len bytes of NUL-terminated
 * strings, @argc of them; @truncated: there were more). 0 or -ENOMEM. */
int kp_exec_enter(struct kp_exec *x, int32_t tid, const char *file, size_t file_len,
		  const char *argv, size_t argv_len, uint32_t argc, bool truncated);
/* The exec by @tid made process @pid (its COMM record with the exec flag). */
void kp_exec_done(struct kp_exec *x, int32_t pid, int32_t tid);
/* Process @pid's real and effective ids at its exec. */
void kp_exec_ids(struct kp_exec *x, int32_t pid, const uint32_t ids[4]);
/* Records were lost: forget the execs under way (@enter) or the done ones
 * (@done), which a lost record could leave attributed to the wrong exec. */
void kp_exec_reset(struct kp_exec *x, bool enter, bool done);
/* Process @pid forked anew (@tid == @pid) or thread @tid exited: forget. */
void kp_exec_forget(struct kp_exec *x, int32_t pid, int32_t tid);

/*
 * kp_exec_answer() - /proc/@pid/@file as the kernel gave it at the exec:
 * "cmdline" (argv), "exe" (the path exec'd), "status" (only its Uid: and
 * Gid: lines). Return: the bytes written to @buf (at most @len), or -ENOENT
 * when nothing is known.
 */
ssize_t kp_exec_answer(const struct kp_exec *x, int32_t pid, const char *file, char *buf,
		       size_t len);

#endif
