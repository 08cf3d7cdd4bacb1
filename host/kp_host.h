/* SPDX-License-Identifier: MIT */
#ifndef KP_HOST_H
#define KP_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <lua.h>

#include "kp_host_opts.h"

/*
 * The host: probes declared from Lua, the event loop that feeds their
 * callbacks, timers, and the run's settings from the command line. One host
 * per Lua state; it is created by kp_host_open() and registered as the
 * C module "kp.core", which lua/kp.lua wraps.
 */
struct kp_host;

/*
 * kp_output_open() - point stdout at @path, appending, line-buffered (a new
 * file is created mode 0640). Used at start and on SIGHUP, so a rotated log
 * gets a fresh file. Return: 0 or -errno.
 */
int kp_output_open(const char *path);

/* Create the host for @L and preload "kp.core". NULL + errno. */
struct kp_host *kp_host_open(lua_State *L, const struct kp_host_opts *opts);
/*
 * kp_host_load_api() - run lua/kp.lua (compiled in) as require "kp" would,
 * and make its table the global kp. Return: 0, or kp_pcall()'s status
 * with the error on the stack.
 */
int kp_host_load_api(struct kp_host *h);

/* Push entry point @e, or nil when none is registered. Stack effect: +1. */
void kp_host_push_entry(struct kp_host *h, enum kp_entry e);
/* Disable and close every probe and remove its tracefs events. Idempotent. */
void kp_host_shutdown(struct kp_host *h);
/* Free the host after kp_host_shutdown() and lua_close(). */
void kp_host_free(struct kp_host *h);

/* Probes declared and not closed. */
int kp_host_nprobes(const struct kp_host *h);
/* True once kp.run() has been called. */
bool kp_host_ran(const struct kp_host *h);
/* Print the losses of each probe to stderr; returns true when any. */
bool kp_host_report_losses(struct kp_host *h);

/* A script's text, read before it runs: what it will use (the process
 * table names proc, emit or rule) is made ready before its probes. */
void kp_host_script_text(struct kp_host *h, const char *text, size_t len);

#endif
