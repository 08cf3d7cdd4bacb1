/* SPDX-License-Identifier: MIT */
#ifndef KP_SOURCE_LIVE_H
#define KP_SOURCE_LIVE_H

#include <stdint.h>

#include "kp_clock.h"
#include "kp_source.h"

/*
 * The kernel's rings as a source: epoll over the rings' fds and any
 * watched fd (signalfd, pidfd, inotify), the ordered merge of the rings
 * (kp_merge.c) and each record parsed into an item (kp_perf_parse.c).
 */
struct kp_ring;

/* A live source; @lateness_ns is how late a record may reach its ring and
 * still be delivered in order. NULL + errno. */
struct kp_source *kp_live_new(uint64_t lateness_ns);

/* Read @ring (of @fd) in the merge, its records belonging to @owner (NULL:
 * the side band), parsed with @flags (KP_PARSE_*). 0 or -errno. */
int kp_live_add(struct kp_source *s, int fd, struct kp_ring *ring, void *owner, unsigned int flags);
/* kp_live_add()'s @flags: wake on each new readiness of @fd, not while it
 * stays ready (EPOLLET) */
#define KP_LIVE_EDGE 0x100u
/* Forget every ring of @owner. */
void kp_live_remove(struct kp_source *s, void *owner);
/* Wake wait() when @fd is readable; wait() then returns 1. 0 or -errno. */
int kp_live_watch(struct kp_source *s, int fd);

/* Ring headers and record bodies found corrupt and skipped. */
uint64_t kp_live_corrupt(const struct kp_source *s);

#endif
