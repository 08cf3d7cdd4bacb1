// SPDX-License-Identifier: MIT
/*
 * reader: the plain C perf reader of the pipeline benchmark. It does what
 * kpscript does at the kernel interface and nothing else: one perf event of
 * the tracepoint syscalls:sys_enter_getppid per online CPU, with kpscript's
 * attributes (sample_period 1, TID|TIME|CPU|RAW, CLOCK_MONOTONIC,
 * sample_id_all, wakeup at a quarter ring, 256 data pages), epoll over the
 * rings, records read in place (acquire load of data_head, release store of
 * data_tail). It counts the samples of the target pid and PERF_RECORD_LOST,
 * and at the end the exact losses: the events' counters (read(fd)) minus
 * every sample read.
 *
 *   reader [options]
 *     -c CMD     run CMD through /bin/sh once the events are enabled, target
 *                its pid, stop when it exits (as kpscript -c does)
 *     -p PID     stop when PID exits (target PID unless -t)
 *     -t PID     count the samples of PID (default: the -c child, or -p)
 *     -d SECS    stop after SECS seconds
 *     -P PAGES   data pages per CPU (power of two, default 256)
 *     -W         wake up per event (wakeup_events 1) instead of per quarter ring
 *     -C CPU     pin the reader to CPU (default 1, -1: do not pin)
 *     -1         stop at the first target sample and print its delivery time
 *     -T G:E     tracepoint (default syscalls:sys_enter_getppid)
 *     -b NS      burn NS ns of CPU per sample read (a stand-in for a handler's
 *                cost: the plain kernel interface with kpscript's CPU profile)
 *
 * Output (stdout, after the -c command's own output):
 *   first_delivery_realtime_ns N   (CLOCK_REALTIME when the first sample of
 *                                   any pid was read)
 *   delivered N lost N
 *   detail samples N other N lost_records N hits N wakeups N secs S
 * With -1: "first_event_realtime_ns N" as soon as the first target sample
 * is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/perf_event.h>

#define FLUSH_MS 100

struct ring {
	int fd;
	struct perf_event_mmap_page *meta;
	unsigned char *data;
	uint64_t mask;
	size_t map_len;
};

static struct ring *rings;
static int nrings;
static uint64_t samples, target_samples, other_samples, lost_records, first_ns, first_any_ns;
static pid_t target;
static uint64_t burn_ns;
static bool stop_first;

static void die(const char *what)
{
	fprintf(stderr, "reader: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t mono_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int tracepoint_id(const char *spec)
{
	char path[512], buf[32], grp[200];
	const char *colon = strchr(spec, ':');
	ssize_t n;
	int fd;

	if (!colon || colon - spec >= (long)sizeof(grp)) {
		fprintf(stderr, "reader: -T wants GROUP:EVENT\n");
		exit(2);
	}
	memcpy(grp, spec, (size_t)(colon - spec));
	grp[colon - spec] = '\0';
	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/%s/id", grp, colon + 1);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		die(path);
	buf[n] = '\0';
	return atoi(buf);
}

static int online_cpus(int **out)
{
	char buf[4096], *p, *end;
	int *cpus = NULL, n = 0;
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");

	if (!f || !fgets(buf, sizeof(buf), f))
		die("/sys/devices/system/cpu/online");
	fclose(f);
	for (p = buf; *p && *p != '\n';) {
		long a = strtol(p, &end, 10), b = a;

		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (long c = a; c <= b; c++) {
			cpus = realloc(cpus, sizeof(*cpus) * (size_t)(n + 1));
			if (!cpus)
				die("realloc");
			cpus[n++] = (int)c;
		}
		p = *end == ',' ? end + 1 : end;
	}
	*out = cpus;
	return n;
}

/* Read every record of @r; returns true when -1 asked to stop. */
static bool drain_ring(struct ring *r)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;
	bool stop = false;

	while (tail < head) {
		uint64_t off = tail & r->mask;
		struct perf_event_header h;
		unsigned char rec[64];
		const unsigned char *p;

		if (off + sizeof(h) <= r->mask + 1) {
			memcpy(&h, r->data + off, sizeof(h));
		} else {
			size_t first = r->mask + 1 - off;

			memcpy(&h, r->data + off, first);
			memcpy((unsigned char *)&h + first, r->data, sizeof(h) - first);
		}
		if (h.size < sizeof(h) || h.size > head - tail) {
			fprintf(stderr, "reader: corrupt record header, dropping the ring\n");
			tail = head;
			break;
		}
		/* only the first 64 bytes matter (pid of a sample, lost count) */
		if (off + 64 <= r->mask + 1) {
			p = r->data + off;
		} else {
			size_t want = h.size < sizeof(rec) ? h.size : sizeof(rec);

			for (size_t i = 0; i < want; i++)
				rec[i] = r->data[(off + i) & r->mask];
			p = rec;
		}
		if (h.type == PERF_RECORD_SAMPLE) {
			uint32_t pid;

			memcpy(&pid, p + sizeof(h), 4);
			if (!samples++)
				first_any_ns = mono_ns(CLOCK_REALTIME);
			if (burn_ns) {
				uint64_t until = mono_ns(CLOCK_MONOTONIC) + burn_ns;

				while (mono_ns(CLOCK_MONOTONIC) < until)
					;
			}
			if ((pid_t)pid == target) {
				target_samples++;
				if (stop_first && !first_ns) {
					first_ns = mono_ns(CLOCK_REALTIME);
					stop = true;
				}
			} else {
				other_samples++;
			}
		} else if (h.type == PERF_RECORD_LOST) {
			uint64_t lost;

			memcpy(&lost, p + sizeof(h) + 8, 8);
			lost_records += lost;
		}
		tail += h.size;
		if (stop)
			break;
	}
	/* our reads happen before the kernel may overwrite the records */
	__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
	return stop;
}

static bool drain_all(void)
{
	for (int i = 0; i < nrings; i++)
		if (drain_ring(&rings[i]))
			return true;
	return false;
}

static void usage(void)
{
	fprintf(stderr, "usage: reader [-c CMD | -p PID | -d SECS] [-t PID] [-P PAGES] [-W] "
			"[-C CPU] [-1] [-T GROUP:EVENT] [-b NS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd = NULL, *tp = "syscalls:sys_enter_getppid";
	long pages = 256, page = sysconf(_SC_PAGESIZE);
	int opt, pin = 1, *cpus, ncpu, epfd, pidfd = -1, id;
	pid_t wait_pid = 0, child = 0;
	double secs = 0;
	bool per_event = false, done = false;
	uint64_t start, deadline = 0, hits = 0, wakeups = 0;
	struct perf_event_attr attr;
	char *e;

	while ((opt = getopt(argc, argv, "+c:p:t:d:P:WC:1T:b:")) != -1) {
		switch (opt) {
		case 'c':
			cmd = optarg;
			break;
		case 'p':
			wait_pid = (pid_t)strtol(optarg, &e, 10);
			if (*e || wait_pid <= 0)
				usage();
			break;
		case 't':
			target = (pid_t)strtol(optarg, &e, 10);
			if (*e || target <= 0)
				usage();
			break;
		case 'd':
			secs = strtod(optarg, &e);
			if (*e || !(secs > 0))
				usage();
			break;
		case 'P':
			pages = strtol(optarg, &e, 10);
			if (*e || pages < 1 || (pages & (pages - 1)))
				usage();
			break;
		case 'W':
			per_event = true;
			break;
		case 'C':
			pin = (int)strtol(optarg, &e, 10);
			if (*e)
				usage();
			break;
		case '1':
			stop_first = true;
			break;
		case 'T':
			tp = optarg;
			break;
		case 'b':
			burn_ns = strtoull(optarg, &e, 10);
			if (*e)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (!cmd && !wait_pid && !secs))
		usage();
	if (pin >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(pin, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			die("sched_setaffinity");
	}
	if (!target)
		target = wait_pid;
	id = tracepoint_id(tp);
	ncpu = online_cpus(&cpus);

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.config = (uint64_t)id;
	attr.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_RAW;
	attr.sample_period = 1;
	attr.sample_id_all = 1;
	attr.disabled = 1;
	attr.use_clockid = 1;
	attr.clockid = CLOCK_MONOTONIC;
	if (per_event) {
		attr.wakeup_events = 1;
	} else {
		attr.watermark = 1;
		attr.wakeup_watermark = (uint32_t)((size_t)pages * (size_t)page / 4);
	}

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	rings = calloc((size_t)ncpu, sizeof(*rings));
	if (!rings)
		die("calloc");
	for (int i = 0; i < ncpu; i++) {
		struct ring *r = &rings[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0 };
		void *map;

		r->fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpus[i], -1,
				     PERF_FLAG_FD_CLOEXEC);
		if (r->fd < 0)
			die("perf_event_open");
		r->map_len = (size_t)(pages + 1) * (size_t)page;
		map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
		if (map == MAP_FAILED)
			die("mmap");
		r->meta = map;
		r->data = (unsigned char *)map + page;
		r->mask = (uint64_t)pages * (uint64_t)page - 1;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, r->fd, &ev))
			die("epoll_ctl");
		nrings++;
	}
	for (int i = 0; i < nrings; i++)
		if (ioctl(rings[i].fd, PERF_EVENT_IOC_ENABLE, 0))
			die("PERF_EVENT_IOC_ENABLE");

	start = mono_ns(CLOCK_MONOTONIC);
	if (secs)
		deadline = start + (uint64_t)(secs * 1e9);
	if (cmd) {
		sigset_t none;

		fflush(stdout);
		child = fork();
		if (child < 0)
			die("fork");
		if (child == 0) {
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		wait_pid = child;
		if (!target)
			target = child;
	}
	if (wait_pid) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 };

		pidfd = (int)syscall(SYS_pidfd_open, wait_pid, 0);
		if (pidfd < 0)
			die("pidfd_open");
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &ev))
			die("epoll_ctl pidfd");
	}

	while (!done) {
		struct epoll_event evs[16];
		int timeout = FLUSH_MS, n;

		if (deadline) {
			uint64_t now = mono_ns(CLOCK_MONOTONIC);

			if (now >= deadline)
				break;
			if ((deadline - now) / 1000000 < (uint64_t)timeout)
				timeout = (int)((deadline - now + 999999) / 1000000);
		}
		n = epoll_wait(epfd, evs, 16, timeout);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == 1)
				done = true; /* the awaited process exited */
			else
				wakeups++;
		}
		if (drain_all())
			break;
	}
	/* disable, then read what the rings still hold */
	for (int i = 0; i < nrings; i++)
		ioctl(rings[i].fd, PERF_EVENT_IOC_DISABLE, 0);
	if (!(stop_first && first_ns))
		drain_all();
	for (int i = 0; i < nrings; i++) {
		uint64_t v;

		if (read(rings[i].fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
			hits += v;
	}
	if (child) {
		int status;

		if (stop_first)
			kill(child, SIGTERM);
		waitpid(child, &status, 0);
	}
	if (first_any_ns)
		printf("first_delivery_realtime_ns %llu\n", (unsigned long long)first_any_ns);
	if (first_ns)
		printf("first_event_realtime_ns %llu\n", (unsigned long long)first_ns);
	printf("delivered %llu lost %llu\n", (unsigned long long)target_samples,
	       (unsigned long long)(hits > samples && !(stop_first && first_ns) ? hits - samples
									 : 0));
	printf("detail samples %llu other %llu lost_records %llu hits %llu wakeups %llu secs %.3f\n",
	       (unsigned long long)samples, (unsigned long long)other_samples,
	       (unsigned long long)lost_records, (unsigned long long)hits,
	       (unsigned long long)wakeups, (double)(mono_ns(CLOCK_MONOTONIC) - start) / 1e9);
	for (int i = 0; i < nrings; i++) {
		munmap(rings[i].meta, rings[i].map_len);
		close(rings[i].fd);
	}
	free(rings);
	free(cpus);
	return 0;
}
