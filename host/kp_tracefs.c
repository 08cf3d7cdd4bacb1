// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tracefs.h>

#include "kp_err.h"
#include "kp_file.h"
#include "kp_format.h"
#include "kp_ftrace.h"
#include "kp_procfs.h"
#include "kp_tracefs.h"

#define KP_GROUP_PREFIX "kpscript_"

const char *kp_tracefs_dir(void)
{
	static const char *dir;

	if (!dir) {
		/* tracefs_tracing_dir() mounts tracefs when no mount is found */
		dir = tracefs_tracing_dir();
		if (!dir)
			errno = KP_ENOTRACEFS;
	}
	return dir;
}

static int kp_tracefs_path(const char *rel, char *buf, size_t len)
{
	const char *dir = kp_tracefs_dir();
	int n;

	if (!dir)
		return -KP_ENOTRACEFS;
	n = snprintf(buf, len, "%s/%s", dir, rel);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int kp_tracefs_access(const char *rel)
{
	char path[4096];
	int err = kp_tracefs_path(rel, path, sizeof(path));

	if (err)
		return err;
	return access(path, F_OK) ? -errno : 0;
}

bool kp_tracefs_has(const char *rel)
{
	char path[4096];

	return kp_tracefs_path(rel, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

int kp_tracefs_read(const char *rel, char **out, size_t *len)
{
	char path[4096];
	int err;

	err = kp_tracefs_path(rel, path, sizeof(path));
	if (err)
		return err;
	/* tracefs files report size 0: read until EOF */
	return kp_file_read(path, 4096, out, len);
}

int kp_tracefs_format(const char *sys, const char *event, struct kp_format **out)
{
	char rel[512];
	char *text;
	size_t len;
	int n, err;

	n = snprintf(rel, sizeof(rel), "events/%s/%s/format", sys, event);
	if (n < 0 || (size_t)n >= sizeof(rel))
		return -ENAMETOOLONG;
	err = kp_tracefs_read(rel, &text, &len);
	if (err == -ENOENT)
		return -KP_ENOEVENT;
	if (err)
		return err;
	*out = kp_format_parse(text, len, sys);
	err = *out ? 0 : -errno;
	free(text);
	return err;
}

/* PROC_PID_INIT_INO: the inode of the initial pid namespace, fixed by the kernel */
#define KP_PIDNS_INIT 0xEFFFFFFCul

/* The inode of @proc's pid namespace ("self" or a pid), or 0 when unknown. */
static unsigned long kp_pidns(const char *proc)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%.255s/ns/pid", proc);
	return stat(path, &st) ? 0 : (unsigned long)st.st_ino;
}

/* Our own pid namespace; the initial one when it cannot be read. */
static unsigned long kp_own_pidns(void);

bool kp_tracefs_init_pidns(void)
{
	return kp_own_pidns() == KP_PIDNS_INIT;
}

static unsigned long kp_own_pidns(void)
{
	static unsigned long ns;

	if (!ns) {
		ns = kp_pidns("self");
		if (!ns)
			ns = KP_PIDNS_INIT;
	}
	return ns;
}

/*
 * Pids name a process only within a pid namespace, and tracefs is shared
 * by every namespace on the machine (two containers' kpscript may both be
 * pid 1): outside the initial namespace the group names the namespace too,
 * kpscript_n<NSINODE>_<pid>.
 */
const char *kp_dynevent_group(void)
{
	static char group[64];

	if (!group[0]) {
		if (kp_own_pidns() == KP_PIDNS_INIT)
			snprintf(group, sizeof(group), KP_GROUP_PREFIX "%d", (int)getpid());
		else
			snprintf(group, sizeof(group), KP_GROUP_PREFIX "n%lu_%d", kp_own_pidns(),
				 (int)getpid());
	}
	return group;
}

/*
 * The kernel appends one entry per refused command to error_log and keeps
 * only the last few (8 in 6.x), so the file does not only grow:
 *   [  240.146851] trace_uprobe: error: Invalid register name
 *     Command: p:grp/ev /usr/bin/true:0x1000 a=%zz:s32
 *                                                ^
 * Take the last entry whose Command line starts with @cmd (our group and
 * event name make it unique), without its timestamp.
 */
static void kp_error_log_find(const char *cmd, char *why, size_t whylen)
{
	char *log = NULL, *hit = NULL, *p, *start, *end;
	char key[128];
	size_t n;

	why[0] = '\0';
	snprintf(key, sizeof(key), "Command: %.100s", cmd);
	if (kp_tracefs_read("error_log", &log, NULL))
		return;
	for (p = log; (p = strstr(p, key)); p++)
		hit = p;
	if (!hit)
		goto out;
	/* the entry opens on the line before its Command: line */
	start = hit;
	while (start > log && start[-1] != '\n')
		start--;
	if (start > log)
		start--;
	while (start > log && start[-1] != '\n')
		start--;
	if (*start == '[') {
		char *rb = strchr(start, ']');

		if (rb && rb < hit)
			start = rb + 1 + (rb[1] == ' ');
	}
	/* and ends where the next entry's "[" opens a line */
	end = strstr(hit, "\n[");
	n = end ? (size_t)(end - start) : strlen(start);
	while (n && start[n - 1] == '\n')
		n--;
	if (n >= whylen)
		n = whylen - 1;
	memcpy(why, start, n);
	why[n] = '\0';
out:
	free(log);
}

int kp_dynevent_write(const char *cmd, char *why, size_t whylen)
{
	char path[4096];
	size_t len = strlen(cmd);
	ssize_t n;
	int fd, err;

	if (why && whylen)
		why[0] = '\0';
	err = kp_tracefs_path("dynamic_events", path, sizeof(path));
	if (err)
		return err;
	/* never O_TRUNC: truncating dynamic_events removes every dynamic event */
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -KP_ENOTRACEFS : -errno;
	/* the kernel parses one command per write(): never split it */
	n = write(fd, cmd, len);
	err = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	if (err && why && whylen)
		kp_error_log_find(cmd, why, whylen);
	return err;
}

int kp_dynevent_remove(const char *group, const char *event)
{
	char cmd[256];
	int n;

	n = snprintf(cmd, sizeof(cmd), "-:%s/%s", group, event);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -ENAMETOOLONG;
	return kp_dynevent_write(cmd, NULL, 0);
}

/* Is @pid of this namespace a running kpscript? */
static bool kp_is_kpscript(long pid)
{
	char comm[32];
	ssize_t n;

	if (kill((pid_t)pid, 0) && errno == ESRCH)
		return false;
	n = kp_procfs_read((int32_t)pid, "comm", comm, sizeof(comm) - 1);
	if (n < 0)
		return false;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "kpscript") == 0;
}

struct kp_ns_find {
	unsigned long ns;
	long pid;
	bool found;
};

/* Is the process @pid (of our namespace) a kpscript that is f->pid in
 * namespace f->ns (the last NSpid of its status)? */
static void kp_ns_check(void *arg, int32_t pid)
{
	struct kp_ns_find *f = arg;
	char name[16], status[4096], *line, *save = NULL;
	long nspid = -1;
	ssize_t n;

	snprintf(name, sizeof(name), "%d", pid);
	if (f->found || kp_pidns(name) != f->ns)
		return;
	n = kp_procfs_read(pid, "status", status, sizeof(status) - 1);
	if (n <= 0)
		return;
	status[n] = '\0';
	for (line = strtok_r(status, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "NSpid:", 6)) {
			char *last = strrchr(line, '\t');

			nspid = last ? strtol(last + 1, NULL, 10) : -1;
		}
		if (!strncmp(line, "Name:", 5) && !strstr(line, "kpscript"))
			return;
	}
	f->found = nspid == f->pid;
}

/*
 * From the initial namespace every process is visible: is there a running
 * kpscript that is @pid in pid namespace @ns?
 */
static bool kp_ns_has_kpscript(unsigned long ns, long pid)
{
	struct kp_ns_find f = { .ns = ns, .pid = pid };

	if (kp_procfs_each_pid(kp_ns_check, &f) < 0)
		return true; /* cannot tell: keep the group */
	return f.found;
}

/*
 * A group is stale when its run is gone: its pid (in its namespace) is not
 * a running kpscript. Groups of another pid namespace are judged only from
 * the initial one, which sees every process; from inside a container they
 * are left alone.
 */
static bool kp_group_stale(const char *group)
{
	unsigned long ns = KP_PIDNS_INIT;
	const char *p;
	char *end;
	long pid;

	if (strncmp(group, KP_GROUP_PREFIX, strlen(KP_GROUP_PREFIX)))
		return false;
	p = group + strlen(KP_GROUP_PREFIX);
	if (*p == 'n') {
		ns = strtoul(p + 1, &end, 10);
		if (*end != '_' || !ns)
			return false;
		p = end + 1;
	}
	pid = strtol(p, &end, 10);
	if (*end || pid <= 0 || end == p)
		return false;
	if (ns == kp_own_pidns())
		return pid != getpid() && !kp_is_kpscript(pid);
	if (kp_own_pidns() != KP_PIDNS_INIT)
		return false;
	return !kp_ns_has_kpscript(ns, pid);
}

int kp_dynevent_sweep(void)
{
	char *text = NULL, *line, *save = NULL;
	int removed = 0, err;

	/* an instance holding an event probe enabled keeps it from going */
	removed = kp_ftrace_sweep(kp_group_stale);
	if (!kp_tracefs_has("dynamic_events"))
		return removed;
	err = kp_tracefs_read("dynamic_events", &text, NULL);
	if (err)
		return err;
	/* lines look like "p:GROUP/EVENT target args..." */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char group[128], event[128];
		char *colon = strchr(line, ':'), *slash, *sp;
		size_t glen, elen;

		if (!colon)
			continue;
		slash = strchr(colon, '/');
		sp = strchr(colon, ' ');
		if (!slash || (sp && sp < slash))
			continue;
		glen = (size_t)(slash - colon - 1);
		elen = sp ? (size_t)(sp - slash - 1) : strlen(slash + 1);
		if (glen >= sizeof(group) || elen >= sizeof(event))
			continue;
		memcpy(group, colon + 1, glen);
		group[glen] = '\0';
		memcpy(event, slash + 1, elen);
		event[elen] = '\0';
		if (!kp_group_stale(group))
			continue;
		if (kp_dynevent_remove(group, event) == 0)
			removed++;
	}
	free(text);
	return removed;
}
