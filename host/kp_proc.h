/* SPDX-License-Identifier: MIT */
#ifndef KP_PROC_H
#define KP_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The process table: pid -> ppid, comm, exe, argv, ids, start time, cgroup
 * and container id, kept from perf's FORK/COMM/EXIT side-band records (fed
 * in event-time order by the loop) and seeded from /proc.
 *
 * What a record does not carry (exe, argv, ids, cgroup; ppid and start time
 * for a seeded process) is read from /proc lazily: fork and exec only mark
 * those fields stale, and the first kp_proc_get() afterwards reads them, at
 * most once per process per fork or exec, never per event. A child forked
 * from a process whose fields are known copies them (shared, not copied
 * bytes) and needs no /proc read until it execs.
 *
 * Exited processes stay, marked, until kp_proc_expire() runs past their
 * grace period, so events the merge delivers after the exit still resolve.
 * The table never holds more than its cap: a new entry evicts the earliest
 * exited one, or else the live one least recently fed or looked up.
 */
struct kp_proc_table;

#define KP_PROC_COMM_LEN 16 /* TASK_COMM_LEN */
#define KP_PROC_ARGV_MAX 4096 /* argv bytes kept; more sets argv_truncated */
#define KP_PROC_ID_UNKNOWN UINT32_MAX /* (uid_t)-1: never a valid id */

/* Bits of kp_proc.known: which fields hold a value. */
enum kp_proc_known {
	KP_PROC_PPID = 1u << 0,
	KP_PROC_COMM = 1u << 1,
	KP_PROC_EXE = 1u << 2,
	KP_PROC_ARGV = 1u << 3,
	KP_PROC_IDS = 1u << 4, /* uid, euid, gid, egid */
	KP_PROC_START = 1u << 5,
	KP_PROC_CGROUP = 1u << 6, /* cgroup and container_id */
	KP_PROC_ALL = (1u << 7) - 1,
};

/*
 * One process. Unknown fields hold "" (strings), -1 (ppid), 0 (times) or
 * KP_PROC_ID_UNKNOWN (ids), and their bit in @known is clear.
 *
 * @ppid:       the process that forked it (PERF_RECORD_FORK's ppid) or, for a
 *              process seeded or learnt from /proc, its parent then. Not
 *              updated when the kernel reparents an orphan.
 * @uid, @gid:  real ids; @euid, @egid: effective (a setuid program shows
 *              here), from /proc/PID/status as of the read after the exec:
 *              a setuid() without exec is not seen.
 * @known:      KP_PROC_* bits of the fields that hold a value.
 * @argv:       @argc strings, each NUL-terminated, back to back, as
 *              /proc/PID/cmdline gives them; @argv_len bytes in all (each
 *              NUL included). At most KP_PROC_ARGV_MAX bytes are kept. A
 *              process read within microseconds of its exec may show an
 *              empty argv: exec sets the argument area after the new exe.
 * @exe:        /proc/PID/exe's target, " (deleted)" suffix included.
 * @exited:     the process has ended; its entry stays until expired.
 * @start_time: CLOCK_MONOTONIC ns, the clock of event times: the FORK
 *              record's time, or /proc/PID/stat's start (boot-time clock
 *              ticks) moved to CLOCK_MONOTONIC, so never later than the true
 *              start and up to one tick (10 ms) earlier.
 * @exec_time:  time of the last exec record seen (0: none).
 * @exit_time:  the EXIT record's time (or, when /proc showed the process
 *              gone first, the latest time fed to the table) once @exited.
 * @cgroup:     the cgroup v2 path ("0::" line), else the v1 name=systemd path;
 *              a path with a container in it is preferred on hybrid hosts.
 *              As of the read after the fork or exec: a move to another
 *              cgroup without exec is not seen.
 * @container_id: kp_container_id() of @cgroup, "" when none.
 */
struct kp_proc {
	int32_t pid;
	int32_t ppid;
	uint32_t uid, euid, gid, egid;
	uint32_t known;
	uint32_t argc;
	uint32_t argv_len;
	bool argv_truncated;
	bool exited;
	uint64_t start_time;
	uint64_t exec_time;
	uint64_t exit_time;
	const char *exe;
	const char *argv;
	const char *cgroup;
	const char *container_id;
	char comm[KP_PROC_COMM_LEN];
};

/*
 * Where /proc/PID/... comes from: the real /proc (kp_procfs_source in
 * kp_procfs.h), a recording's reads in a replay, or a test's fake; the
 * table itself does no I/O. Each function
 * returns a byte count or -errno (-ENOENT or -ESRCH: no such process).
 * @read:     up to @len bytes of /proc/@pid/@file, not NUL-terminated.
 * @readlink: the target of /proc/@pid/@file; -ENAMETOOLONG if @len is short.
 * @each_pid: calls @fn for every process in /proc; returns the count or
 *            -errno.
 * @clock:    nanoseconds per /proc/PID/stat clock tick, and CLOCK_BOOTTIME
 *            minus CLOCK_MONOTONIC now (the time spent suspended).
 * @kept:     optional (NULL: none): "cmdline", "exe" or "status" of a
 *            process /proc no longer shows (gone, a zombie), as the kernel
 *            gave them at its exec (kp_exec.h), read like @read.
 */
struct kp_proc_source {
	ssize_t (*read)(void *ctx, int32_t pid, const char *file, char *buf, size_t len);
	ssize_t (*readlink)(void *ctx, int32_t pid, const char *file, char *buf, size_t len);
	int (*each_pid)(void *ctx, void (*fn)(void *arg, int32_t pid), void *arg);
	void (*clock)(void *ctx, uint64_t *tick_ns, uint64_t *boot_minus_mono_ns);
	ssize_t (*kept)(void *ctx, int32_t pid, const char *file, char *buf, size_t len);
	void *ctx;
};

/* The source of a table that has none: no file, no process. */
extern const struct kp_proc_source kp_proc_no_source;

/**
 * kp_proc_new() - an empty table with no source (nothing is known of a
 * process until kp_proc_set_source() names one).
 * @cap: the most entries held (live, exited and remembered-gone), at least 1
 *
 * Return: the table, or NULL with errno set (EINVAL, ENOMEM).
 */
struct kp_proc_table *kp_proc_new(size_t cap);
void kp_proc_free(struct kp_proc_table *t);

/**
 * kp_proc_set_source() - read /proc through another source.
 * @t: the table
 * @src: the source, copied; NULL for none
 */
void kp_proc_set_source(struct kp_proc_table *t, const struct kp_proc_source *src);

/*
 * kp_proc_parse_stat() - /proc/PID/stat's comm (at most 15 bytes, NUL
 * padded), state, ppid (field 4) and start time in ticks (field 22).
 * Pure. Return: 0 or -EINVAL.
 */
int kp_proc_parse_stat(const char *buf, char comm[KP_PROC_COMM_LEN], char *state, int32_t *ppid,
		       uint64_t *start);

/* "Uid:\treal\teffective\t..." (or @key "Gid:") of /proc/PID/status.
 * Pure. Return: 0, -ENOENT without the line, -EINVAL when it is bad. */
int kp_proc_parse_ids(const char *buf, const char *key, uint32_t *real, uint32_t *eff);

/*
 * kp_proc_cgroup_pick() - the line of /proc/PID/cgroup to keep: the v2 "0::"
 * one, else v1's name=systemd, else another; a path naming a container
 * first. @buf is cut into lines in place; *@path points into it; @id gets
 * the container id (kp_container_id()). Pure. Return: 0 or -ENOENT.
 */
int kp_proc_cgroup_pick(char *buf, const char **path, char *id, size_t idlen);

/**
 * kp_proc_seed() - add every process listed in /proc, each marked stale.
 * @t: the table
 *
 * The listing is the only I/O: a process's files are read at its first
 * kp_proc_get(). A pid already in the table is left as it is. Seed after
 * the side-band is enabled, or call kp_proc_lookup() for unknown pids: a
 * process started in between is otherwise unknown until it execs.
 *
 * Return: processes added, or -errno.
 */
int kp_proc_seed(struct kp_proc_table *t);

/**
 * kp_proc_fork() - feed a PERF_RECORD_FORK.
 * @t: the table
 * @pid: the new task's tgid
 * @ppid: the tgid of the task that called fork (for FORK the kernel reports
 *        `current` here; only EXIT reports the real parent)
 * @tid: the new task's tid
 * @ptid: the tid of the task that called fork (unused)
 * @time: the record's time
 *
 * A new thread (@pid != @tid) adds nothing. A new process replaces any entry
 * its pid had (pid reuse), starts at @time and inherits the forking
 * process's comm, exe, argv, ids and cgroup; those the parent does not know
 * (or has exec'd away from and not been read since) are read from /proc at
 * the child's first kp_proc_get().
 *
 * Return: 0, or -ENOMEM.
 */
int kp_proc_fork(struct kp_proc_table *t, int32_t pid, int32_t ppid, int32_t tid, int32_t ptid,
		 uint64_t time);

/**
 * kp_proc_comm() - feed a PERF_RECORD_COMM.
 * @t: the table
 * @pid: the record's pid
 * @tid: the record's tid
 * @comm: the new name (NUL-terminated; cut to 15 bytes)
 * @exec: the record's header.misc has PERF_RECORD_MISC_COMM_EXEC (needs
 *        attr.comm_exec): the name was set by an exec, not by a rename
 * @time: the record's time (sample_id_all)
 *
 * A rename by a thread other than the leader (@pid != @tid) changes nothing:
 * a process's comm is its leader's. An exec marks exe, argv, ids and cgroup
 * stale, and brings back an entry marked exited (a thread that execs kills
 * the old leader, whose EXIT comes first, then takes its pid; or a new
 * process took the pid and its FORK was lost: ppid and start are then read
 * from /proc too). A record for a pid not in the table (its FORK was lost)
 * adds it, everything but the comm read from /proc.
 *
 * Return: 0, or -ENOMEM.
 */
int kp_proc_comm(struct kp_proc_table *t, int32_t pid, int32_t tid, const char *comm, bool exec,
		 uint64_t time);

/**
 * kp_proc_exit() - feed a PERF_RECORD_EXIT.
 * @t: the table
 * @pid: the record's pid
 * @tid: the record's tid
 * @time: the record's time
 *
 * Only the leader's exit (@pid == @tid) ends a process; the entry stays,
 * marked exited at @time, until kp_proc_expire() or eviction drops it.
 * (A leader that ends before its other threads ends the process here.)
 */
void kp_proc_exit(struct kp_proc_table *t, int32_t pid, int32_t tid, uint64_t time);

/**
 * kp_proc_get() - a process, its stale fields read from /proc first.
 * @t: the table
 * @pid: the process
 *
 * Stale fields are read once (five files: stat, status, exe, cmdline,
 * cgroup); what cannot be read stays unknown until the next fork or exec.
 * An exited process is never read: its pid may be another's already. A
 * process /proc shows gone, a zombie, or started after the FORK we have (the
 * pid was reused) is marked exited. Entries in use stay the longest under
 * the cap.
 *
 * Return: the entry, valid until the next call that feeds, seeds, looks up,
 * expires or frees (kp_proc_get() and kp_proc_parent() keep it valid); NULL
 * when the pid is unknown or nothing is known about it.
 */
const struct kp_proc *kp_proc_get(struct kp_proc_table *t, int32_t pid);

/**
 * kp_proc_lookup() - kp_proc_get(), learning a pid not in the table.
 * @t: the table
 * @pid: the process
 *
 * For a pid not in the table, /proc/@pid is read once (for events of a
 * process whose FORK the side-band lost, or that started before it was
 * enabled). A pid /proc does not have is remembered as gone, exited at the
 * latest time fed, so asking again reads nothing until it expires.
 *
 * Return: as kp_proc_get(); this call may add an entry (and evict one).
 */
const struct kp_proc *kp_proc_lookup(struct kp_proc_table *t, int32_t pid);

/**
 * kp_proc_parent() - the entry of a process's parent.
 * @t: the table
 * @p: an entry from this table, or NULL
 *
 * NULL at pid 1 and kernel threads (ppid 0), when the parent is unknown, and
 * when the entry at ppid is not @p's parent: a parent starts before its
 * child, so an entry that started later (the pid was reused) is refused.
 * Starts are compared at the latest each can be (a start read from /proc
 * is cut to the clock tick), with ties broken by pid, so every walk up the
 * chain ends, even on looping data.
 *
 * Return: the parent's entry, or NULL.
 */
const struct kp_proc *kp_proc_parent(struct kp_proc_table *t, const struct kp_proc *p);

/**
 * kp_proc_expire() - drop exited entries past their grace period.
 * @t: the table
 * @now_ns: CLOCK_MONOTONIC now
 * @grace_ns: how long an exited entry stays
 *
 * Return: entries dropped (those whose exit_time is before
 * @now_ns - @grace_ns).
 */
size_t kp_proc_expire(struct kp_proc_table *t, uint64_t now_ns, uint64_t grace_ns);

/**
 * kp_proc_stats() - the table's counters; any pointer may be NULL.
 * @t: the table
 * @size: out, entries held (live, exited and remembered-gone)
 * @evictions: out, entries dropped for the cap so far (expiry not counted)
 * @cap: out, the cap
 */
void kp_proc_stats(const struct kp_proc_table *t, size_t *size, uint64_t *evictions, size_t *cap);

/**
 * kp_container_id() - the innermost container named by a cgroup path.
 * @cgroup_path: a path as in /proc/PID/cgroup, e.g.
 *               "/system.slice/docker-<64 hex>.scope"
 * @out: receives the id, NUL-terminated ("" on failure)
 * @len: size of @out
 *
 * Recognised, scanning from the innermost path component outwards:
 * docker, containerd and cri-o under kubepods, podman and any other runtime
 * naming a cgroup by the bare id ("<64 hex>"); "docker-", "cri-containerd-",
 * "crio-" and "libpod-" followed by 64 lowercase hex digits, with or without
 * ".scope" (the "crio-conmon-" and "libpod-conmon-" monitors are not
 * containers); systemd-nspawn's "machine-NAME.scope" and
 * "systemd-nspawn@NAME.service", giving NAME with systemd's \xNN escapes
 * decoded (its "supervisor" child is the host-side nspawn, not the
 * container). Any machined machine matches, libvirt's VMs ("qemu-1-vm") too.
 * Pod slices ("kubepods-burstable-pod<uid>.slice") are not containers.
 *
 * Return: 0 with the id in @out, -ENOENT when the path names no container,
 * -ENOSPC when @len is too short.
 */
int kp_container_id(const char *cgroup_path, char *out, size_t len);

#endif
