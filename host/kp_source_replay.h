/* SPDX-License-Identifier: MIT */
#ifndef KP_SOURCE_REPLAY_H
#define KP_SOURCE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kp_source.h"

/*
 * A recording (--replay FILE) as a source: its samples, losses and process
 * records in the order the recorder delivered them, stamped with the
 * recording's clock. The file is opened and checked once, and indexed
 * (its probes, the process table's /proc reads) before its items are read.
 * The only part of kpscript that knows it is replaying.
 */
struct kp_rec_item;
struct kp_proc_source;

/*
 * kp_replay_open() - open the recording at @path.
 * @realtime: give items at the recorded pace (--replay-speed realtime)
 * @err: on failure, why (the reader's message, naming the byte offset)
 * Return: the source, or NULL with errno set.
 */
struct kp_source *kp_replay_open(const char *path, bool realtime, char *err, size_t errlen);

/* The recorded probe named @name not yet bound to a probe; for a uprobe
 * also one of the same binary name and target in another directory (the
 * recording machine's paths). A script declares its probes in the order
 * they were recorded, so two probes of one name take the first and the
 * second recorded. NULL when there is none. */
const struct kp_rec_item *kp_replay_find(struct kp_source *s, const char *name);
/* Items of recorded probe @id belong to @owner from now on. */
void kp_replay_bind(struct kp_source *s, uint32_t id, void *owner);

/* The recording's CLOCK_REALTIME - CLOCK_MONOTONIC, ns. */
int64_t kp_replay_rt_offset(const struct kp_source *s);

/* /proc as the recorder read it (the process table's source in a replay):
 * a file of a pid reads as the recorder's read of it nearest the item
 * replayed now; no process is listed. */
const struct kp_proc_source *kp_replay_proc_source(struct kp_source *s);

#endif
