/* SPDX-License-Identifier: MIT */
#ifndef KP_COMM_H
#define KP_COMM_H

#include <stdint.h>

#include "kp_item.h"

/*
 * tid -> comm, kept from perf's own COMM/FORK/EXIT side-band records and
 * seeded from /proc once at start (kp_procfs_seed_comm(), one read per
 * process). Pure: no I/O here. An exited thread's entry stays until
 * kp_comm_expire() runs past its grace period, so events that the merge
 * delivers just after the exit still find a name.
 */
#define KP_COMM_LEN 16 /* TASK_COMM_LEN */

struct kp_comm;

struct kp_comm *kp_comm_new(void);
void kp_comm_free(struct kp_comm *c);
void kp_comm_set(struct kp_comm *c, int32_t pid, int32_t tid, const char *comm);
void kp_comm_fork(struct kp_comm *c, int32_t pid, int32_t tid, int32_t ptid);
void kp_comm_exit(struct kp_comm *c, int32_t tid, uint64_t time);
/* Apply a process record: COMM names the thread, FORK gives the new one
 * its parent's name, EXIT starts its grace period; MMAP2 changes nothing. */
void kp_comm_apply(struct kp_comm *c, const struct kp_task_rec *r);
/* Drop entries that exited before @before. */
void kp_comm_expire(struct kp_comm *c, uint64_t before);
/* The comm of @tid, or NULL. Valid until the next update. */
const char *kp_comm_get(const struct kp_comm *c, int32_t tid);
/* The tgid recorded for @tid, or -1. */
int32_t kp_comm_pid(const struct kp_comm *c, int32_t tid);
uint32_t kp_comm_size(const struct kp_comm *c);

#endif
