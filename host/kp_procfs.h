/* SPDX-License-Identifier: MIT */
#ifndef KP_PROCFS_H
#define KP_PROCFS_H

#include <stdint.h>
#include <sys/types.h>

/*
 * /proc: the one place kpscript walks it and reads a process's files. The
 * process table (kp_proc.c) and the comm table (kp_comm.c) are pure and
 * read /proc only through here.
 */
struct kp_comm;

/* Call @fn for every process /proc lists. Return: processes seen, or -errno. */
int kp_procfs_each_pid(void (*fn)(void *arg, int32_t pid), void *arg);

/*
 * kp_procfs_read() - read /proc/@pid/@file (up to @len bytes, no NUL added);
 * @file may be "task/TID/comm". Return: bytes read, or -errno.
 */
ssize_t kp_procfs_read(int32_t pid, const char *file, char *buf, size_t len);

/* readlink(2) of /proc/@pid/@file; -ENAMETOOLONG where readlink would cut
 * it silently. Return: bytes, or -errno. */
ssize_t kp_procfs_readlink(int32_t pid, const char *file, char *buf, size_t len);

/* USER_HZ in ns, and CLOCK_BOOTTIME - CLOCK_MONOTONIC now (the closest of
 * three readings): what turns /proc/PID/stat's start into ev.time's clock. */
void kp_procfs_clock(uint64_t *tick_ns, uint64_t *boot_minus_mono_ns);

/* The real /proc, as the process table's source (kp_proc_set_source()). */
extern const struct kp_proc_source kp_procfs_source;

/* Seed @c with every process's /proc/PID/comm (processes, not each thread:
 * a thread is looked up when its first event comes). Return: processes
 * seeded, or -errno. */
int kp_procfs_seed_comm(struct kp_comm *c);

#endif
