// SPDX-License-Identifier: MIT
/*
 * Trust in script files run as root (see kp_trust.h).
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_trust.h"

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s (uid %u)", res->pw_name, (unsigned int)uid);
	else
		snprintf(buf, len, "uid %u", (unsigned int)uid);
	return buf;
}

/* A reason to refuse @st (the file when !@dir, else its directory), or 0. */
static int judge(const char *what, const struct stat *st, uid_t caller, int dir, char *why,
		 size_t len)
{
	char who[128];

	if (st->st_uid != 0 && st->st_uid != caller) {
		snprintf(why, len, "%s%s is owned by %s, who is neither root nor you",
			 dir ? "its directory " : "", what, user_name(st->st_uid, who, sizeof(who)));
		return -EPERM;
	}
	if (!dir && (st->st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(why, len, "%s is writable by %s (mode %04o)", what,
			 (st->st_mode & S_IWOTH) ? "every user" : "its group",
			 (unsigned int)(st->st_mode & 07777));
		return -EPERM;
	}
	if (dir && (st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX)) {
		snprintf(why, len,
			 "its directory %s is writable by %s without the sticky bit "
			 "(mode %04o): the file can be replaced",
			 what, (st->st_mode & S_IWOTH) ? "every user" : "its group",
			 (unsigned int)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int kp_trust_check(const char *path, uid_t caller, char *why, size_t len)
{
	char real[PATH_MAX], *slash;
	struct stat st;
	int err;

	if (len)
		why[0] = '\0';
	if (!realpath(path, real))
		return -errno;
	if (stat(real, &st))
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s is not a regular file", real);
		return -EPERM;
	}
	err = judge(real, &st, caller, 0, why, len);
	if (err)
		return err;
	slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	if (stat(real, &st))
		return -errno;
	return judge(real, &st, caller, 1, why, len);
}

uid_t kp_trust_caller(void)
{
	const char *s = getenv("SUDO_UID");
	char *end;
	unsigned long v;

	if (getuid() == 0 && s && *s) {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (!errno && !*end && v < (unsigned long)(uid_t)-1)
			return (uid_t)v;
	}
	return getuid();
}
