// SPDX-License-Identifier: MIT
/*
 * kp_trust_check(): which Lua files root may run. Files and directories are
 * made in a fresh temporary directory with the modes and owners under test
 * (owners need root: those checks are skipped, loudly, without it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kp_trust.h"
#include "t.h"

static char dir[64];

static void mkfile(const char *name, mode_t mode, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs("print(1)\n", f);
		fclose(f);
	}
	chmod(path, mode);
}

static int check(const char *path, uid_t caller, char *why, size_t len)
{
	return kp_trust_check(path, caller, why, len);
}

int main(void)
{
	char p[256], sub[128], why[512];
	uid_t me = getuid();
	int err;

	strcpy(dir, "/tmp/kptrust.XXXXXX");
	if (!mkdtemp(dir)) {
		T_OK(0, "mkdtemp: %s", strerror(errno));
		return T_DONE();
	}
	chmod(dir, 0755);

	mkfile("ok.lua", 0644, p, sizeof(p));
	T_EQ_INT(check(p, me, why, sizeof(why)), 0, "a 0644 file of mine in a 0755 directory");
	mkfile("ro.lua", 0400, p, sizeof(p));
	T_EQ_INT(check(p, me, why, sizeof(why)), 0, "a 0400 file");

	mkfile("ow.lua", 0646, p, sizeof(p));
	err = check(p, me, why, sizeof(why));
	T_EQ_INT(err, -EPERM, "writable by others is refused");
	T_OK(strstr(why, "writable by every user (mode 0646)") && strstr(why, "ow.lua"),
	     "the reason names the file and its mode: %s", why);
	mkfile("gw.lua", 0664, p, sizeof(p));
	err = check(p, me, why, sizeof(why));
	T_OK(err == -EPERM && strstr(why, "writable by its group (mode 0664)"),
	     "writable by the group is refused: %s", why);

	snprintf(sub, sizeof(sub), "%s/open", dir);
	mkdir(sub, 0777);
	chmod(sub, 0777);
	snprintf(p, sizeof(p), "%s/open/x.lua", dir);
	mkfile("open/x.lua", 0644, p, sizeof(p));
	err = check(p, me, why, sizeof(why));
	T_OK(err == -EPERM && strstr(why, "without the sticky bit"),
	     "a 0777 directory (the file can be replaced) is refused: %s", why);
	chmod(sub, 01777);
	T_EQ_INT(check(p, me, why, sizeof(why)), 0, "a sticky 1777 directory (as /tmp) is fine");

	snprintf(sub, sizeof(sub), "%s/link.lua", dir);
	mkfile("ow2.lua", 0666, p, sizeof(p));
	symlink(p, sub);
	err = check(sub, me, why, sizeof(why));
	T_OK(err == -EPERM && strstr(why, "ow2.lua"), "a symlink is judged by its target: %s", why);

	snprintf(p, sizeof(p), "%s/none.lua", dir);
	T_EQ_INT(check(p, me, why, sizeof(why)), -ENOENT,
		 "a missing file is -ENOENT, not a refusal");
	T_EQ_INT(check(dir, me, why, sizeof(why)), -EPERM, "a directory is not a script file");

	if (geteuid() == 0) {
		mkfile("nobody.lua", 0644, p, sizeof(p));
		T_OK(chown(p, 65534, 65534) == 0, "chown to nobody");
		err = check(p, 0, why, sizeof(why));
		T_OK(err == -EPERM && strstr(why, "neither root nor you"),
		     "owned by a third user is refused: %s", why);
		T_EQ_INT(check(p, 65534, why, sizeof(why)), 0,
			 "owned by the caller (SUDO_UID) is fine");
		snprintf(sub, sizeof(sub), "%s/theirs", dir);
		mkdir(sub, 0755);
		T_OK(chown(sub, 65534, 65534) == 0, "chown a directory to nobody");
		snprintf(p, sizeof(p), "%s/theirs/mine.lua", dir);
		mkfile("theirs/mine.lua", 0644, p, sizeof(p));
		err = check(p, 0, why, sizeof(why));
		T_OK(err == -EPERM && strstr(why, "its directory") && strstr(why, "theirs is owned by"),
		     "a root file in a third user's directory is refused: %s", why);
		setenv("SUDO_UID", "1234", 1);
		T_EQ_INT(kp_trust_caller(), 1234, "under sudo the caller is SUDO_UID");
		setenv("SUDO_UID", "x", 1);
		T_EQ_INT(kp_trust_caller(), 0, "a bad SUDO_UID is ignored");
		unsetenv("SUDO_UID");
	} else {
		printf("skip - owner checks need root\n");
	}
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)!system(cmd);
	}
	printf("# %d passed, %d failed\n", t_passed, t_failed);
	return T_DONE();
}
