// SPDX-License-Identifier: MIT
/*
 * The kernel's rings as a source of items (see kp_source_live.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "kp_merge.h"
#include "kp_perf_parse.h"
#include "kp_source_live.h"

struct kp_live_fd {
	int fd;
	void *owner;
};

struct kp_live {
	struct kp_source src; /* first: the source is the live source */
	struct kp_merge *merge;
	int epfd;
	struct kp_live_fd *fds; /* the rings' fds in the epoll set */
	size_t nfds, capfds;
	uint64_t corrupt; /* record bodies; the merge counts headers */
};

static const struct kp_source_ops kp_live_ops;

/* The live source @s is, or NULL for another kind (the kp_live_*
 * functions do nothing to a replay). */
static struct kp_live *kp_live_of(struct kp_source *s)
{
	return s && s->ops == &kp_live_ops ? (struct kp_live *)s : NULL;
}

static int kp_live_wait(struct kp_source *s, int timeout_ms)
{
	struct kp_live *l = kp_live_of(s);
	struct epoll_event evs[16];
	int n = epoll_wait(l->epfd, evs, 16, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++)
		if (evs[i].data.ptr == l)
			return 1;
	return 0;
}

static int kp_live_next(struct kp_source *s, uint64_t horizon, struct kp_item *it)
{
	struct kp_live *l = kp_live_of(s);
	const struct perf_event_header *h;
	unsigned int flags;
	uint64_t time;
	void *owner;
	bool held;

	h = kp_merge_next(l->merge, horizon, &owner, &flags, &time, &held);
	if (!h)
		return held ? KP_NEXT_HELD : KP_NEXT_NONE;
	if (kp_perf_parse(h, owner, flags, time, it))
		l->corrupt++;
	return KP_NEXT_ITEM;
}

static void kp_live_pass_end(struct kp_source *s)
{
	kp_merge_end(kp_live_of(s)->merge);
}

static uint64_t kp_live_now(struct kp_source *s)
{
	(void)s;
	return kp_now_ns();
}

/* The rings keep what the kernel wrote until it is read: nothing to do. */
static void kp_live_stop(struct kp_source *s)
{
	(void)s;
}

static void kp_live_close(struct kp_source *s)
{
	struct kp_live *l = kp_live_of(s);

	if (!l)
		return;
	kp_merge_free(l->merge);
	close(l->epfd);
	free(l->fds);
	free(l);
}

static const struct kp_source_ops kp_live_ops = {
	.wait = kp_live_wait,
	.next = kp_live_next,
	.pass_end = kp_live_pass_end,
	.now = kp_live_now,
	.stop = kp_live_stop,
	.close = kp_live_close,
};

struct kp_source *kp_live_new(uint64_t lateness_ns)
{
	struct kp_live *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->src.ops = &kp_live_ops;
	l->src.lateness = lateness_ns;
	l->src.local = true;
	l->merge = kp_merge_new();
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!l->merge || l->epfd < 0) {
		int e = l->merge ? errno : ENOMEM;

		kp_merge_free(l->merge);
		if (l->epfd >= 0)
			close(l->epfd);
		free(l);
		errno = e;
		return NULL;
	}
	return &l->src;
}

int kp_live_add(struct kp_source *s, int fd, struct kp_ring *ring, void *owner, unsigned int flags)
{
	struct kp_live *l = kp_live_of(s);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int err;

	if (!l)
		return -EINVAL;
	/* an ftrace reader stays readable while its ring is over the
	 * watermark, records held or not: woken at each new crossing only */
	if (flags & KP_LIVE_EDGE)
		ev.events |= EPOLLET;
	flags &= ~KP_LIVE_EDGE;
	if (l->nfds == l->capfds) {
		size_t cap = l->capfds ? l->capfds * 2 : 16;
		struct kp_live_fd *f = realloc(l->fds, cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		l->fds = f;
		l->capfds = cap;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	err = kp_merge_add(l->merge, ring, owner, flags);
	if (err) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		return err;
	}
	l->fds[l->nfds++] = (struct kp_live_fd){ .fd = fd, .owner = owner };
	return 0;
}

void kp_live_remove(struct kp_source *s, void *owner)
{
	struct kp_live *l = kp_live_of(s);
	size_t j = 0;

	if (!l || !owner)
		return;
	kp_merge_remove(l->merge, owner);
	for (size_t i = 0; i < l->nfds; i++) {
		if (l->fds[i].owner == owner)
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->fds[i].fd, NULL);
		else
			l->fds[j++] = l->fds[i];
	}
	l->nfds = j;
}

int kp_live_watch(struct kp_source *s, int fd)
{
	struct kp_live *l = kp_live_of(s);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };

	if (!l)
		return -EINVAL;
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

uint64_t kp_live_corrupt(const struct kp_source *s)
{
	const struct kp_live *l = s && s->ops == &kp_live_ops ? (const struct kp_live *)s : NULL;

	return l ? l->corrupt + kp_merge_corrupt(l->merge) : 0;
}
