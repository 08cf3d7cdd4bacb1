// SPDX-License-Identifier: MIT
/*
 * The process table's parsers of /proc/PID files and of container ids
 * (see kp_proc.h): pure, fed strings by the table and by the tests.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_proc.h"

#define KP_ID_MAX 256 /* a container id or a machine name, NUL included */

/* ---- parsing /proc/PID files (no I/O) ---- */

/*
 * "pid (comm) S ppid ... starttime ...": comm may hold spaces and ')', so
 * it ends at the last ')'; starttime is field 22.
 */
int kp_proc_parse_stat(const char *buf, char comm[KP_PROC_COMM_LEN], char *state, int32_t *ppid,
		       uint64_t *start)
{
	const char *l = strchr(buf, '('), *r = strrchr(buf, ')'), *p;
	size_t n;

	if (!l || !r || r < l)
		return -EINVAL;
	n = (size_t)(r - l - 1);
	if (n > KP_PROC_COMM_LEN - 1)
		n = KP_PROC_COMM_LEN - 1;
	memset(comm, 0, KP_PROC_COMM_LEN);
	memcpy(comm, l + 1, n);
	p = r + 1;
	while (*p == ' ')
		p++;
	if (!*p)
		return -EINVAL;
	*state = *p++;
	for (int field = 4; field <= 22; field++) {
		char *end;

		if (field == 22) {
			while (*p == ' ')
				p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			*start = strtoull(p, &end, 10);
		} else {
			long long v = strtoll(p, &end, 10);

			if (field == 4) {
				if (v < 0 || v > 0x7fffffff)
					return -EINVAL;
				*ppid = (int32_t)v;
			}
		}
		if (end == p)
			return -EINVAL;
		p = end;
	}
	return 0;
}

/* "Uid:\treal\teffective\tsaved\tfs" (and Gid:) in /proc/PID/status. */
int kp_proc_parse_ids(const char *buf, const char *key, uint32_t *real, uint32_t *eff)
{
	size_t klen = strlen(key);

	for (const char *p = buf; p;) {
		unsigned long long r, e;
		char *end, *end2;

		if (strncmp(p, key, klen)) {
			p = strchr(p, '\n');
			p = p ? p + 1 : NULL;
			continue;
		}
		r = strtoull(p + klen, &end, 10);
		e = strtoull(end, &end2, 10);
		if (end == p + klen || end2 == end || r >= UINT32_MAX || e >= UINT32_MAX)
			return -EINVAL;
		*real = (uint32_t)r;
		*eff = (uint32_t)e;
		return 0;
	}
	return -ENOENT;
}

static bool kp_has_controller(const char *list, const char *end, const char *name)
{
	size_t n = strlen(name);

	while (list < end) {
		const char *comma = memchr(list, ',', (size_t)(end - list));
		const char *stop = comma ? comma : end;

		if ((size_t)(stop - list) == n && !memcmp(list, name, n))
			return true;
		list = stop + 1;
	}
	return false;
}

/*
 * Choose the line of /proc/PID/cgroup ("ID:CONTROLLERS:PATH" lines) to keep:
 * the v2 "0::" line, else v1's name=systemd, else another v1 line; a
 * non-root path before "/", and on hybrid hosts (v1 and v2 lines) a path
 * naming a container before any other. @buf is cut into lines in place.
 */
int kp_proc_cgroup_pick(char *buf, const char **path, char *id, size_t idlen)
{
	char cid[KP_ID_MAX];
	int best = -1;
	char *next;

	for (char *line = buf; line && *line; line = next) {
		char *c1, *c2;
		bool v2, root;
		int score;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		c1 = strchr(line, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		v2 = c1 == line + 1 && line[0] == '0' && c2 == c1 + 1;
		root = !strcmp(c2 + 1, "/");
		if (v2)
			score = root ? 2 : 5;
		else if (kp_has_controller(c1 + 1, c2, "name=systemd"))
			score = root ? 1 : 4;
		else
			score = root ? 0 : 3;
		if (kp_container_id(c2 + 1, cid, sizeof(cid)) == 0)
			score += 8;
		else
			cid[0] = '\0';
		if (score > best) {
			best = score;
			*path = c2 + 1;
			snprintf(id, idlen, "%s", cid);
		}
	}
	return best < 0 ? -ENOENT : 0;
}

/* ---- container ids (pure) ---- */

static bool kp_is_id(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool kp_starts(const char *s, size_t n, const char *pre)
{
	size_t m = strlen(pre);

	return n >= m && !memcmp(s, pre, m);
}

static bool kp_ends(const char *s, size_t n, const char *suf)
{
	size_t m = strlen(suf);

	return n >= m && !memcmp(s + n - m, suf, m);
}

static int kp_copy(char *out, size_t len, const char *s, size_t n)
{
	if (n + 1 > len)
		return -ENOSPC;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int kp_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A systemd unit-name part: "\xNN" escapes ('-' is "\x2d") decoded. */
static int kp_unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	if (!n)
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < n && s[i + 1] == 'x' && kp_hexval(s[i + 2]) >= 0 &&
		    kp_hexval(s[i + 3]) >= 0) {
			c = (char)(kp_hexval(s[i + 2]) * 16 + kp_hexval(s[i + 3]));
			i += 3;
			if (!c)
				return -ENOENT;
		}
		if (o + 1 >= len)
			return -ENOSPC;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* One path component @c; @inner is the component below it, or NULL. */
static int kp_match(const char *c, size_t n, const char *inner, size_t inner_n, char *out,
		    size_t len)
{
	/* the runtime prefixes; "crio-conmon-<id>" and "libpod-conmon-<id>"
	 * (the monitors, not containers) fail the 64-hex test after them */
	static const char *const pre[] = { "docker-", "cri-containerd-", "crio-", "libpod-" };
	bool supervisor = inner && inner_n == 10 && !memcmp(inner, "supervisor", 10);
	size_t base = kp_ends(c, n, ".scope") ? n - 6 : n;

	if (base == n && kp_is_id(c, n))
		return kp_copy(out, len, c, n);
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t m = strlen(pre[i]);

		if (kp_starts(c, base, pre[i]) && kp_is_id(c + m, base - m))
			return kp_copy(out, len, c + m, base - m);
	}
	if (supervisor)
		return -ENOENT; /* systemd-nspawn itself, on the host side */
	if (base != n && kp_starts(c, base, "machine-"))
		return kp_unescape(c + 8, base - 8, out, len);
	if (kp_ends(c, n, ".service") && kp_starts(c, n - 8, "systemd-nspawn@"))
		return kp_unescape(c + 15, n - 8 - 15, out, len);
	return -ENOENT;
}

int kp_container_id(const char *cgroup_path, char *out, size_t len)
{
	const char *inner = NULL;
	size_t end, inner_n = 0;
	int r = -ENOENT;

	if (len)
		out[0] = '\0';
	if (!cgroup_path)
		return -ENOENT;
	/* innermost first: a container inside a container is the inner one */
	for (end = strlen(cgroup_path); end > 0;) {
		size_t start = end;

		while (start > 0 && cgroup_path[start - 1] != '/')
			start--;
		if (end > start) {
			r = kp_match(cgroup_path + start, end - start, inner, inner_n, out, len);
			if (r != -ENOENT)
				break;
			inner = cgroup_path + start;
			inner_n = end - start;
		}
		end = start ? start - 1 : 0;
	}
	if (r && len)
		out[0] = '\0';
	return r;
}

/* ---- no source: until kp_proc_set_source() names one ---- */

static ssize_t kp_none_read(void *ctx, int32_t pid, const char *file, char *buf, size_t len)
{
	(void)ctx, (void)pid, (void)file, (void)buf, (void)len;
	return -ENOENT;
}

static int kp_none_each_pid(void *ctx, void (*fn)(void *arg, int32_t pid), void *arg)
{
	(void)ctx, (void)fn, (void)arg;
	return 0;
}

static void kp_none_clock(void *ctx, uint64_t *tick_ns, uint64_t *boot_minus_mono_ns)
{
	(void)ctx;
	*tick_ns = 10000000ull;
	*boot_minus_mono_ns = 0;
}

const struct kp_proc_source kp_proc_no_source = {
	.read = kp_none_read,
	.readlink = kp_none_read,
	.each_pid = kp_none_each_pid,
	.clock = kp_none_clock,
};
