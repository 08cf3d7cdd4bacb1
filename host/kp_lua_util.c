// SPDX-License-Identifier: MIT
/*
 * kp.core's small functions: what the kernel has, the run's settings, the
 * clocks, text helpers for output (UTF-8 check, base64), the host name, ELF
 * symbols, and the trust check of Lua files root loads.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "kp_btf.h"
#include "kp_elf.h"
#include "kp_err.h"
#include "kp_features.h"
#include "kp_host_int.h"
#include "kp_item.h"
#include "kp_source_live.h"
#include "kp_lua.h"
#include "kp_trust.h"

#define kp_fail kp_lua_fail

/* core.utf8(s) -> true when s is valid UTF-8 (no overlongs, surrogates or
 * code points past U+10FFFF) */
static int kp_core_utf8(lua_State *L)
{
	size_t n, i = 0;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			break;
		}
		if (i + len > n)
			break;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			break;
		i += len;
	}
bad:
	lua_pushboolean(L, i == n);
	return 1;
}

/* core.base64(s) -> s in standard base64 with padding */
static int kp_core_base64(lua_State *L)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		luaL_addchar(&b, tab[v >> 18 & 63]);
		luaL_addchar(&b, tab[v >> 12 & 63]);
		luaL_addchar(&b, i + 1 < n ? tab[v >> 6 & 63] : '=');
		luaL_addchar(&b, i + 2 < n ? tab[v & 63] : '=');
	}
	luaL_pushresult(&b);
	return 1;
}

/* core.hostname() -> this machine's name */
static int kp_core_hostname(lua_State *L)
{
	char buf[256];

	if (gethostname(buf, sizeof(buf) - 1))
		return kp_fail(L, -errno, "gethostname: %s", strerror(errno));
	buf[sizeof(buf) - 1] = '\0';
	lua_pushstring(L, buf);
	return 1;
}

/* core.walltime([mono_ns]) -> seconds, nanoseconds of the wall clock at a
 * CLOCK_MONOTONIC time (ev.time), or now */
static int kp_core_walltime(lua_State *L)
{
	static int64_t off;
	static bool have_off;
	struct timespec rt;
	int64_t t, ns;

	clock_gettime(CLOCK_REALTIME, &rt);
	/* one offset for the run, so converted times keep their order */
	if (!have_off) {
		struct timespec mono;

		clock_gettime(CLOCK_MONOTONIC, &mono);
		clock_gettime(CLOCK_REALTIME, &rt);
		off = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000 + (rt.tv_nsec - mono.tv_nsec);
		have_off = true;
	}
	if (lua_isnoneornil(L, 1))
		t = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
	else
		t = (int64_t)luaL_checknumber(L, 1) +
		    (kp_host_of(L)->have_rt_off ? kp_host_of(L)->rt_off : off);
	ns = t % 1000000000;
	lua_pushnumber(L, (lua_Number)(t / 1000000000));
	lua_pushnumber(L, (lua_Number)ns);
	return 2;
}

/* core.clock() -> CLOCK_MONOTONIC now in ns, the clock of ev.time */
static int kp_core_clock(lua_State *L)
{
	lua_pushnumber(L, (lua_Number)kp_now_ns());
	return 1;
}

/*
 * core.trust(path) -> true | nil, why: may this root process run the Lua
 * file at @path (kp_trust.h)? Always true without root or with
 * --allow-unsafe-script.
 */
static int kp_core_trust(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);
	const char *path = luaL_checkstring(L, 1);
	char why[PATH_MAX + 256];
	int err;

	if (geteuid() != 0 || h->opts.allow_unsafe) {
		lua_pushboolean(L, 1);
		return 1;
	}
	err = kp_trust_check(path, kp_trust_caller(), why, sizeof(why));
	if (err == -EPERM) {
		lua_pushnil(L);
		lua_pushfstring(L,
				"refusing to load %s as root: %s (make it root's or yours and not "
				"writable by others, or pass --allow-unsafe-script)",
				path, why);
		return 2;
	}
	/* a file that cannot be examined is left to the loader's own error */
	lua_pushboolean(L, 1);
	return 1;
}

/* core.elfsym(path, symbol) -> file offset | nil, msg, errname: where a
 * uprobe on PATH:SYMBOL goes (aliases share an offset) */
static int kp_core_elfsym(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1), *sym = luaL_checkstring(L, 2);
	char abs[4096];
	uint64_t off;
	int err = kp_elf_find_path(path, abs, sizeof(abs));

	if (!err)
		err = kp_elf_resolve(abs, sym, 0, &off);
	if (err)
		return kp_fail(L, err, "%s:%s: %s", path, sym, kp_strerror(err));
	lua_pushnumber(L, (lua_Number)off);
	return 1;
}

/* core.config() -> { dry_run, pid, command, duration } */
static int kp_core_config(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);

	lua_createtable(L, 0, 4);
	lua_pushboolean(L, h->opts.dry_run);
	lua_setfield(L, -2, "dry_run");
	if (h->opts.filter_pid) {
		lua_pushnumber(L, h->opts.filter_pid);
		lua_setfield(L, -2, "pid");
	}
	if (h->opts.command) {
		lua_pushstring(L, h->opts.command);
		lua_setfield(L, -2, "command");
	}
	lua_pushnumber(L, h->opts.duration);
	lua_setfield(L, -2, "duration");
	lua_pushnumber(L, h->opts.callback_limit_ms);
	lua_setfield(L, -2, "callback_limit");
	lua_pushstring(L, h->opts.format ? h->opts.format : "text");
	lua_setfield(L, -2, "format");
	if (h->opts.output) {
		lua_pushstring(L, h->opts.output);
		lua_setfield(L, -2, "output");
	}
	return 1;
}

/* core.has(feature) -> boolean, or nil for a name that is no feature */
static int kp_core_has(lua_State *L)
{
	int yes = kp_feature_has(luaL_checkstring(L, 1));

	if (yes < 0)
		lua_pushnil(L);
	else
		lua_pushboolean(L, yes);
	return 1;
}

/* core.features() -> { name, ... }: every feature kp.has knows */
static int kp_core_features(lua_State *L)
{
	size_t n = kp_feature_count();

	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, kp_feature_name(i));
		lua_rawseti(L, -2, (int)i + 1);
	}
	return 1;
}

/* core.cpid() -> pid of the -c command, or nil */
static int kp_core_cpid(lua_State *L)
{
	struct kp_host *h = kp_host_of(L);

	if (!h->child_pid)
		return 0;
	lua_pushnumber(L, h->child_pid);
	return 1;
}

/* core.offsetof(struct, member[.sub]) -> offset, size | nil, msg, errname:
 * a member's place in a kernel struct, from the running kernel's BTF */
static int kp_core_offsetof(lua_State *L)
{
	const struct kp_btf *b = kp_host_btf(kp_host_of(L));
	const char *st = luaL_checkstring(L, 1), *path = luaL_checkstring(L, 2);
	size_t off, size;
	int err;

	if (!b)
		return kp_fail(L, -ENOENT,
			       "kp.offsetof: this kernel has no BTF "
			       "(/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF)");
	err = kp_btf_member(b, st, path, &off, &size);
	if (err == -ENOENT)
		return kp_fail(L, err, "kp.offsetof: no struct %s in the kernel's BTF", st);
	if (err == -ESRCH)
		return kp_fail(L, err, "kp.offsetof: struct %s has no member %s", st, path);
	if (err)
		return kp_fail(L, err, "kp.offsetof: struct %s member %s is a bitfield", st, path);
	lua_pushnumber(L, (lua_Number)off);
	lua_pushnumber(L, (lua_Number)size);
	return 2;
}

const luaL_Reg kp_lua_util_fns[] = {
	{ "offsetof", kp_core_offsetof },
	{ "has", kp_core_has },
	{ "features", kp_core_features },
	{ "cpid", kp_core_cpid },
	{ "config", kp_core_config },
	{ "walltime", kp_core_walltime },
	{ "utf8", kp_core_utf8 },
	{ "base64", kp_core_base64 },
	{ "hostname", kp_core_hostname },
	{ "elfsym", kp_core_elfsym },
	{ "clock", kp_core_clock },
	{ "trust", kp_core_trust },
	{ NULL, NULL },
};
