/* SPDX-License-Identifier: MIT */
#ifndef KP_TRUST_H
#define KP_TRUST_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Whether root may run a Lua file: kpscript runs scripts with root's
 * power over the kernel, so a file someone else can change is someone
 * else's code. A file is trusted when it is a regular file, owned by root
 * or by @caller, writable by neither group nor others, and its directory
 * is not one where others may replace it (writable by group or others
 * without the sticky bit, or owned by a third user).
 */

/**
 * kp_trust_check() - may root run the Lua file at @path?
 * @path: the file (symbolic links are followed: the target is judged)
 * @caller: the user who asked for the run (SUDO_UID under sudo), besides root
 * @why: out, when refused: the reason, naming the file, the owner or mode
 * @len: size of @why
 *
 * Return: 0 when trusted; -EPERM when refused (@why says why); another
 * -errno when the file or its directory cannot be examined.
 */
int kp_trust_check(const char *path, uid_t caller, char *why, size_t len);

/* The user on whose behalf this root process runs: SUDO_UID when sudo set
 * it and the real uid is root, else the real uid. */
uid_t kp_trust_caller(void);

#endif
