// SPDX-License-Identifier: MIT
/*
 * kpscript: Linux kernel and user probes written as Lua scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <luajit.h>
#include <lualib.h>

#include "kp_err.h"
#include "kp_file.h"
#include "kp_host.h"
#include "kp_list.h"
#include "kp_lua.h"
#include "kp_record.h"
#include "kp_tracefs.h"
#include "kp_trust.h"

static const char kp_usage[] =
    "Usage: kpscript [OPTIONS] SCRIPT [ARGS...]\n"
    "       kpscript [OPTIONS] -e CODE [ARGS...]\n"
    "       kpscript -l [PATTERN]\n"
    "\n"
    "Run a Lua script that declares Linux probes (tracepoints, uprobes) and\n"
    "handles their events. SCRIPT is a path, a directory (every *.lua in it runs,\n"
    "in name order, in one run: a set of detections), or the name of a script shipped\n"
    "with kpscript (e.g. exec_watch.lua). ARGS reach the script as `arg` and `...`.\n"
    "\n"
    "Options:\n"
    "  -e CODE        run CODE instead of a script file\n"
    "  -c CMD         run CMD through /bin/sh once every probe is attached; when it\n"
    "                 exits, deliver every event it caused, then stop\n"
    "  -p PID         deliver only events of process PID\n"
    "  -d SECS        stop after SECS seconds (fractions allowed)\n"
    "  -o FORMAT      how kp.emit() and rule alerts print: text (default) or json\n"
    "                 (JSON Lines, one object per line)\n"
    "      --output FILE\n"
    "                 append everything the script prints to FILE, line by line;\n"
    "                 SIGHUP reopens it (for log rotation)\n"
    "      --record FILE\n"
    "                 keep every raw event, with the formats and process records\n"
    "                 needed to decode them, in FILE (docs/RECORD_FORMAT.md)\n"
    "      --dump FILE\n"
    "                 check a --record FILE and print what it holds\n"
    "      --replay FILE\n"
    "                 run the script on a recording instead of the kernel: the\n"
    "                 same handlers, in the recorded order; no root, no tracefs\n"
    "      --watch    reload SCRIPT when it is saved: probes the new version\n"
    "                 declares the same way stay attached (no event lost), others\n"
    "                 are added or removed; a version that fails keeps the old one\n"
    "      --callback-limit MS\n"
    "                 stop the run with an error naming the script line when one\n"
    "                 handler, timer or rule call runs longer than MS milliseconds\n"
    "                 (default 1000; 0 turns the guard off and lets LuaJIT compile\n"
    "                 the script's own code)\n"
    "      --allow-unsafe-script\n"
    "                 as root, run scripts and Lua files that someone other than\n"
    "                 root and you could change (refused by default: they would\n"
    "                 run with root's power over the kernel)\n"
    "      --replay-speed fast|realtime\n"
    "                 as fast as possible (default), or at the recorded pace\n"
    "      --dry-run  print the tracefs definitions the script would create, create\n"
    "                 nothing and run no handler\n"
    "  -l [PATTERN]   list probe points matching the glob PATTERN (default: all):\n"
    "                 tracepoints, and kernel functions where kprobes exist\n"
    "  -v             with -l: kernel functions with their prototypes from BTF\n"
    "  -h, --help     show this help\n"
    "      --version  show the version\n"
    "\n"
    "In the script, the module `kp` (also `require \"kp\"`) declares probes:\n"
    "  kp.tracepoint(\"sched:sched_process_exec\", function(ev) print(ev.comm, ev.filename) end)\n"
    "  kp.uprobe(\"/bin/bash:readline\", {}, function(ev) print(ev.pid) end)\n"
    "  kp.uretprobe(\"/bin/bash:readline\", { line = \"+0($retval):ustring\" }, fn)\n"
    "Aggregates print at exit as bpftrace's maps do:\n"
    "  local n = kp.count()   -- n:add(ev.comm) in a handler; also kp.sum, kp.stats, kp.lhist\n"
    "  local lat = kp.hist()\n"
    "  kp.latency(\"/bin/bash:readline\", function(ev, ns) lat:add(ns) end)\n"
    "Events run the handler until SIGINT/SIGTERM, -c CMD exits, -d expires or\n"
    "kp.stop() is called. docs/API.md documents the whole API.\n"
    "\n"
    "Exit status: 0 on a clean run, 1 on a script or probe error, 2 on bad usage.\n"
    "Every probe kpscript creates is removed when it exits; probes left by a\n"
    "killed run are removed at the next start.\n";

struct kp_args {
	const char *code;
	const char *script;
	bool list;
	bool verbose;
	bool watch;
	const char *pattern;
	struct kp_host_opts host;
	int argc; /* script args */
	char **argv;
};

static int kp_usage_error(const char *fmt, const char *what)
{
	fprintf(stderr, "kpscript: ");
	fprintf(stderr, fmt, what);
	fprintf(stderr, "\nTry 'kpscript --help'.\n");
	return 2;
}

/* the long options without a short one */
enum {
	OPT_DRY = 256,
	OPT_VERSION,
	OPT_OUTPUT,
	OPT_RECORD,
	OPT_DUMP,
	OPT_REPLAY,
	OPT_SPEED,
	OPT_WATCH,
	OPT_CBLIMIT,
	OPT_UNSAFE
};

/* Option @c (getopt_long's value) with @optarg into @a. 0, or
 * kp_usage_error()'s status; --help, --version and --dump exit here. */
static int kp_take_option(int c, char **argv, struct kp_args *a)
{
	char *end;

	switch (c) {
	case 'h':
		fputs(kp_usage, stdout);
		exit(0);
	case OPT_VERSION:
		printf("kpscript %s\n", KP_VERSION);
		exit(0);
	case OPT_DRY:
		a->host.dry_run = true;
		return 0;
	case 'e':
		a->code = optarg;
		return 0;
	case 'c':
		a->host.command = optarg;
		return 0;
	case 'p': {
		long pid = strtol(optarg, &end, 10);

		if (*end || pid <= 0 || pid > INT_MAX)
			return kp_usage_error("-p: '%s' is not a process id", optarg);
		if (kill((pid_t)pid, 0) && errno == ESRCH)
			return kp_usage_error("-p: no process %s", optarg);
		a->host.filter_pid = (pid_t)pid;
		return 0;
	}
	case 'd':
		a->host.duration = strtod(optarg, &end);
		if (*end || !(a->host.duration > 0))
			return kp_usage_error("-d: '%s' is not a positive number of seconds",
					      optarg);
		return 0;
	case 'l':
		a->list = true;
		return 0;
	case 'v':
		a->verbose = true;
		return 0;
	case 'o':
		if (strcmp(optarg, "text") && strcmp(optarg, "json"))
			return kp_usage_error("-o: '%s' is not an output format (text, json)",
					      optarg);
		a->host.format = optarg;
		return 0;
	case OPT_OUTPUT:
		a->host.output = optarg;
		return 0;
	case OPT_RECORD:
		a->host.record = optarg;
		return 0;
	case OPT_DUMP:
		exit(kp_rec_dump(optarg));
	case OPT_REPLAY:
		a->host.replay = optarg;
		return 0;
	case OPT_WATCH:
		a->watch = true;
		return 0;
	case OPT_UNSAFE:
		a->host.allow_unsafe = true;
		return 0;
	case OPT_CBLIMIT: {
		long ms = strtol(optarg, &end, 10);

		if (*optarg == '\0' || *end || ms < 0 || ms > 3600000)
			return kp_usage_error("--callback-limit: '%s' is not a number of "
					      "milliseconds from 0 to 3600000",
					      optarg);
		a->host.callback_limit_ms = (int)ms;
		return 0;
	}
	case OPT_SPEED:
		if (strcmp(optarg, "fast") && strcmp(optarg, "realtime"))
			return kp_usage_error("--replay-speed: '%s' is not fast or realtime",
					      optarg);
		a->host.replay_realtime = !strcmp(optarg, "realtime");
		return 0;
	case '?':
	default:
		if (optopt)
			return kp_usage_error("-%s: unknown option or missing argument",
					      (char[]){ (char)optopt, 0 });
		return kp_usage_error("unknown option '%s'", argv[optind - 1]);
	}
	return 0;
}

static int kp_parse_args(int argc, char **argv, struct kp_args *a)
{
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "dump", required_argument, NULL, OPT_DUMP },
		{ "replay", required_argument, NULL, OPT_REPLAY },
		{ "replay-speed", required_argument, NULL, OPT_SPEED },
		{ "watch", no_argument, NULL, OPT_WATCH },
		{ "callback-limit", required_argument, NULL, OPT_CBLIMIT },
		{ "allow-unsafe-script", no_argument, NULL, OPT_UNSAFE },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->host.sigfd = -1;
	a->host.callback_limit_ms = KP_CALLBACK_LIMIT_MS;
	opterr = 0;
	/* '+': options end at SCRIPT, so the script's own options reach it */
	while ((c = getopt_long(argc, argv, "+he:c:p:d:lvo:", longs, NULL)) != -1) {
		int err = kp_take_option(c, argv, a);

		if (err)
			return err;
	}
	if (a->list) {
		a->pattern = optind < argc ? argv[optind] : NULL;
		/* -v may follow the pattern: kpscript -l 'do_sys_*' -v */
		if (optind + 1 < argc && !strcmp(argv[optind + 1], "-v"))
			a->verbose = true;
		return 0;
	}
	if (!a->code) {
		if (optind >= argc)
			return kp_usage_error("%s", "no script given (a SCRIPT or -e CODE)");
		a->script = argv[optind++];
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	if (a->watch) {
		if (a->code)
			return kp_usage_error("%s", "--watch needs a SCRIPT file, not -e");
		a->host.argc = a->argc;
		a->host.argv = a->argv;
	}
	return 0;
}

/* SCRIPT as given, else a script shipped with kpscript: next to the binary
 * (../scripts, ../share/kpscript/scripts) or in the installed directory. */
static const char *kp_find_script(const char *name, char *buf, size_t len)
{
	char exe[PATH_MAX], *slash;
	const char *dirs[4];
	struct stat st;
	ssize_t n;

	if (stat(name, &st) == 0 || strchr(name, '/'))
		return name;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	dirs[0] = "/../scripts"; /* build/kpscript in a source tree */
	dirs[1] = "/../../scripts"; /* build/asan/kpscript */
	dirs[2] = "/../share/kpscript/scripts"; /* an installed tree, wherever it is */
	dirs[3] = NULL;
	for (int i = 0; dirs[i]; i++) {
		int w = snprintf(buf, len, "%s%s/%s", exe, dirs[i], name);

		if (w > 0 && (size_t)w < len && stat(buf, &st) == 0)
			return buf;
	}
	n = snprintf(buf, len, "%s/%s", KP_SCRIPTDIR, name);
	if (n > 0 && (size_t)n < len && stat(buf, &st) == 0)
		return buf;
	return name;
}

/* An error at the top of @L's stack: print it and return the exit status;
 * os.exit(N) arrives here as { kp_exit = true, code = N }. */
static int kp_report(lua_State *L)
{
	const char *msg;
	int code;

	if (kp_lua_error_decode(L, &code))
		return code;
	msg = lua_tostring(L, -1);
	fprintf(stderr, "kpscript: %s\n", msg ? msg : "(error without a message)");
	return 1;
}

/* The run's host, once open */
static struct kp_host *kp_main_host;

/* What a script's text says it will use, before its probes are made (the
 * process table's own probes, kp_host_script_text()). */
static void kp_script_hints(const struct kp_args *a, const char *path)
{
	char *text = NULL;
	size_t len = 0;

	if (!path) {
		kp_host_script_text(kp_main_host, a->code, strlen(a->code));
		return;
	}
	if (kp_file_read(path, 0, &text, &len) == 0)
		kp_host_script_text(kp_main_host, text, len);
	free(text);
}

/* Load and run one script (@path, or -e CODE when NULL) with the script
 * arguments as `arg` and `...`. Return: 0, or the exit status. */
static int kp_run_chunk(lua_State *L, struct kp_args *a, const char *path)
{
	int n;

	if (path && geteuid() == 0 && !a->host.allow_unsafe) {
		char why[PATH_MAX + 256];

		if (kp_trust_check(path, kp_trust_caller(), why, sizeof(why)) == -EPERM) {
			fprintf(stderr,
				"kpscript: refusing to run %s as root: %s; make it root's or yours "
				"and not writable by others, or pass --allow-unsafe-script\n",
				path, why);
			return 1;
		}
	}
	n = path ? luaL_loadfile(L, path) : luaL_loadbuffer(L, a->code, strlen(a->code), "=-e");
	if (n)
		return kp_report(L);
	if (kp_main_host)
		kp_script_hints(a, path);
	/* LuaJIT's compiled loops never call hooks: the script's own functions
	 * stay interpreted so the callback guard can stop an endless loop */
	if (a->host.callback_limit_ms)
		luaJIT_setmode(L, -1, LUAJIT_MODE_ALLFUNC | LUAJIT_MODE_OFF);
	/* arg[0] is the script, arg[1..] its arguments, as with lua(1) */
	lua_createtable(L, a->argc, 1);
	lua_pushstring(L, path ? path : "-e");
	lua_rawseti(L, -2, 0);
	for (int i = 0; i < a->argc; i++) {
		lua_pushstring(L, a->argv[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_setglobal(L, "arg");
	luaL_checkstack(L, a->argc + 1, "too many script arguments");
	for (int i = 0; i < a->argc; i++)
		lua_pushstring(L, a->argv[i]);
	if (kp_pcall(L, a->argc, 0))
		return kp_report(L);
	return 0;
}

static int kp_lua_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && !strcmp(d->d_name + n - 4, ".lua");
}

/* SCRIPT is a directory of detections: run every *.lua in it, in name
 * order, in one Lua state, then run their probes together. */
static int kp_run_dir(lua_State *L, struct kp_args *a, const char *dir)
{
	struct dirent **names;
	int n, status = 0;

	n = scandir(dir, &names, kp_lua_file, alphasort);
	if (n < 0) {
		fprintf(stderr, "kpscript: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (n == 0) {
		fprintf(stderr, "kpscript: %s: no *.lua scripts in this directory\n", dir);
		free(names);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX + 256];

		if (!status) {
			int w = snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);

			status = w > 0 && (size_t)w < sizeof(path) ? kp_run_chunk(L, a, path) : 1;
		}
		free(names[i]);
	}
	free(names);
	return status;
}

static int kp_main(struct kp_args *a)
{
	char found[PATH_MAX];
	struct kp_host *h;
	const char *path = NULL;
	int status = 0, n;
	lua_State *L;

	if (!a->host.dry_run && !a->host.replay && geteuid() == 0 && kp_tracefs_dir()) {
		n = kp_dynevent_sweep();
		if (n > 0)
			fprintf(stderr,
				"kpscript: removed %d probe%s left by killed kpscript runs\n", n,
				n == 1 ? "" : "s");
	}
	L = luaL_newstate();
	if (!L) {
		fprintf(stderr, "kpscript: cannot create a Lua state\n");
		return 1;
	}
	luaL_openlibs(L);
	if (a->watch)
		a->host.watch = kp_find_script(a->script, found, sizeof(found));
	h = kp_main_host = kp_host_open(L, &a->host);
	if (!h) {
		fprintf(stderr, "kpscript: %s\n", strerror(errno));
		lua_close(L);
		return 1;
	}
	/* the global kp, as require "kp" returns it */
	if (kp_host_load_api(h)) {
		status = kp_report(L);
		goto out;
	}

	if (a->code) {
		status = kp_run_chunk(L, a, NULL);
	} else {
		struct stat st;

		path = kp_find_script(a->script, found, sizeof(found));
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			status = kp_run_dir(L, a, path);
		else
			status = kp_run_chunk(L, a, path);
	}
	if (status)
		goto out;
	/* a script that declared probes and ended runs them, as bpftrace does */
	if (kp_host_nprobes(h) > 0 && !kp_host_ran(h)) {
		kp_host_push_entry(h, KP_ENTRY_RUN);
		if (kp_pcall(L, 0, 0))
			status = kp_report(L);
	}
out:
	/* aggregates still holding keys are printed, as bpftrace prints maps,
	 * however the run ended */
	kp_host_push_entry(h, KP_ENTRY_ATEXIT);
	if (lua_isfunction(L, -1)) {
		if (kp_pcall(L, 0, 0)) {
			int st = kp_report(L);

			status = status ? status : st;
		}
	} else {
		lua_pop(L, 1);
	}
	kp_host_shutdown(h);
	if (kp_host_report_losses(h) && !status)
		status = 0; /* losses are reported, not an error of the run */
	lua_close(L);
	kp_host_free(h);
	return status;
}

int main(int argc, char **argv)
{
	struct kp_args a;
	sigset_t set;
	int rc;

	rc = kp_parse_args(argc, argv, &a);
	if (rc)
		return rc;
	if (a.list)
		return kp_list(a.pattern, a.verbose);
	/* Signals arrive through a signalfd read by the event loop, so every
	 * stop goes through the same cleanup; SIGPIPE (stdout closed) is a stop
	 * too, not a silent death that would leave probes behind. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	a.host.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a.host.sigfd < 0) {
		fprintf(stderr, "kpscript: signalfd: %s\n", strerror(errno));
		return 1;
	}
	if (a.host.output) {
		int err = kp_output_open(a.host.output);

		if (err) {
			fprintf(stderr, "kpscript: --output %s: %s\n", a.host.output,
				kp_strerror(err));
			return 1;
		}
	}
	rc = kp_main(&a);
	close(a.host.sigfd);
	return rc;
}
