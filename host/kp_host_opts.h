/* SPDX-License-Identifier: MIT */
#ifndef KP_HOST_OPTS_H
#define KP_HOST_OPTS_H

#include <stdbool.h>
#include <sys/types.h>

/* What main() hands the host (kp_host.h): the run's settings from the
 * command line, and the names of the Lua API's entry points. */

/* --callback-limit's default, ms */
#define KP_CALLBACK_LIMIT_MS 1000

struct kp_host_opts {
	bool dry_run;
	pid_t filter_pid; /* -p: only events of this process (0: all) */
	const char *command; /* -c: run through sh once probes are attached */
	double duration; /* -d: seconds, 0 for none */
	int sigfd; /* signalfd for INT/TERM/HUP/PIPE/CHLD, or -1 */
	const char *output; /* --output FILE: stdout goes there, reopened on SIGHUP */
	const char *format; /* -o: "text" or "json" */
	const char *record; /* --record FILE: keep the raw events there */
	const char *replay; /* --replay FILE: events from a recording, no kernel */
	bool replay_realtime; /* --replay-speed realtime */
	const char *watch; /* --watch: the script file, reloaded when saved */
	int callback_limit_ms; /* a callback running longer is stopped; 0: no guard */
	bool allow_unsafe; /* --allow-unsafe-script: run Lua files others can change */
	int argc; /* the script's arguments, for a reload */
	char **argv;
};

/* The Lua API's entry points the host and main() call, as lua/kp.lua
 * registers them (kp.core.set_entries): kp.run, the aggregates' printing
 * at exit, --watch's reload(path, args...). */
enum kp_entry { KP_ENTRY_RUN, KP_ENTRY_ATEXIT, KP_ENTRY_RELOAD, KP_NENTRIES };

#endif
