/* SPDX-License-Identifier: MIT */
#ifndef KP_TRACEFS_H
#define KP_TRACEFS_H

#include <stdbool.h>
#include <stddef.h>

struct kp_format;

/*
 * tracefs access. The directory comes from libtracefs, which looks it up in
 * /proc/mounts by filesystem type and mounts tracefs when it is missing.
 * Commands to dynamic_events are written by kpscript itself: one command per
 * write(2), O_WRONLY|O_APPEND|O_CLOEXEC and never O_TRUNC (opening that file
 * with O_TRUNC deletes every dynamic event on the machine), with the kernel's
 * error_log entry for a refused command captured by diffing the log around
 * the write.
 */

/* The tracefs mount point, or NULL with errno set (KP_ENOTRACEFS). */
const char *kp_tracefs_dir(void);

/*
 * kp_tracefs_read() - read a whole tracefs file, relative to the mount point.
 * @rel: e.g. "events/sched/sched_switch/format"
 * @out: malloc'd, NUL-terminated contents
 * @len: optional, its length
 * Return: 0 or -errno.
 */
int kp_tracefs_read(const char *rel, char **out, size_t *len);

/* 0 when tracefs has @rel, else -errno (-ENOENT: the kernel lacks it,
 * -EACCES: we may not look). */
int kp_tracefs_access(const char *rel);

/* True when tracefs has @rel (e.g. "kprobe_events"). */
bool kp_tracefs_has(const char *rel);

/*
 * kp_tracefs_format() - load and compile events/@sys/@event/format.
 * Return: 0 or -errno; -KP_ENOEVENT when the event does not exist.
 */
int kp_tracefs_format(const char *sys, const char *event, struct kp_format **out);

/*
 * kp_dynevent_write() - append one command to dynamic_events.
 * @cmd: "p:GRP/EV ...", "r:...", or "-:GRP/EV"
 * @why: on failure, the kernel's error_log lines for this command (without
 *       the timestamp), or "" when the kernel logged none
 * @whylen: size of @why
 * Return: 0 or -errno (-KP_ENOTRACEFS when there is no dynamic_events file).
 */
int kp_dynevent_write(const char *cmd, char *why, size_t whylen);

/* kp_dynevent_remove() - remove GRP/EV; 0 or -errno. */
int kp_dynevent_remove(const char *group, const char *event);

/*
 * kp_dynevent_sweep() - remove the dynamic events of kpscript runs that are
 * gone: groups named kpscript_<pid> (kpscript_n<NS>_<pid> for a run in pid
 * namespace NS) whose pid is not a live kpscript. Groups of another pid
 * namespace are swept only from the initial one, and so are their tracefs
 * instances (kp_ftrace.h), first.
 * Return: number of events and instances removed, or -errno.
 */
int kp_dynevent_sweep(void);

/* Does this process see the initial pid namespace's pids (those ftrace
 * records carry)? */
bool kp_tracefs_init_pidns(void);

/* "kpscript_<pid>", or "kpscript_n<NSINODE>_<pid>" outside the initial pid
 * namespace: the group name of this process's dynamic events. */
const char *kp_dynevent_group(void);

#endif
