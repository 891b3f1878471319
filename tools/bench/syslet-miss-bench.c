// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of syslet cache misses, measured in one boot against what user
 * space would otherwise use:
 *
 *  1. Round trip of a read that blocks on an empty pipe: a one-atom chain
 *     that misses (async_exec() returns 0, the head writes the byte and
 *     takes the completion from the ring), against the same read handed
 *     to a one-thread pool through futexes.
 *  2. 4 KiB O_DIRECT reads of a null_blk device whose requests complete
 *     from a timer, at queue depths 1 and 16 (and 64 and 256 with a head
 *     that is not the leader): one-atom pread chains kept outstanding,
 *     against io_uring with IOSQE_ASYNC (and inline, for reference) and
 *     libaio.
 *  3. N chains blocked at once in FUTEX_WAIT, N = 1, 16, 256, 4096: time
 *     per miss, kernel memory per blocked chain and context switches, then
 *     all N woken and every completion taken from the ring.
 *
 * Each runs with the head as the thread group leader (a single-threaded
 * program) and as another thread: a miss of the leader also moves the
 * leadership of the thread group to the spare (a walk over every thread).
 *
 * Comparisons are the median of paired, interleaved repeats with their
 * min and max, as in syslet-bench.c; run lengths are sized from a warm-up
 * so that a timed run lasts about RT_RUN_S or DIO_RUN_S. Times come from the
 * TSC, calibrated against CLOCK_MONOTONIC: a guest whose clocksource is
 * jiffies has 4 ms clock_gettime() steps. Result lines start with
 * "BENCH-MISS-" for scripts/bench-report.sh. The numbers never fail the
 * run; a system call that fails, a chain that does not miss where it must,
 * a completion that does not arrive, or a benchmark that hangs does (exit
 * status 1).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <liburing.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include <linux/futex.h>
#include <linux/syslet.h>
#include <linux/time_types.h>

#define SYSLET_PROC		"/proc/sys/kernel/syslet/"
#define SENTINEL		((__s64)0x5a5a5a5a5a5a5a5aLL)

/* How long one timed run of one engine should last. */
#define RT_RUN_S		0.1
#define DIO_RUN_S		0.2

/* 1: pipe round trip. */
#define RT_REPEATS		7

/* 2: null_blk O_DIRECT reads. */
#define DIO_REPEATS		7
#define DIO_BS			4096
#define DIO_MAX_DEPTH		256
#define NULLB_NAME		"nullb1"
#define NULLB_CFG		"/sys/kernel/config/nullb/" NULLB_NAME
/*
 * 100 us, a flash read: long enough that the submitting task has gone to
 * sleep (a miss) before the request completes even under emulation, where
 * the path from submit_bio() to schedule() takes tens of microseconds and
 * 20 us let half the reads complete first; short enough that at depth
 * 16 and more an engine's own CPU cost per read shows (under emulation it
 * is larger than the device's 100 us / depth, on hardware it is not). With
 * low-resolution hrtimers (clock_getres() reports a tick: a jiffies
 * clocksource) a request completes at the next tick instead.
 */
#define NULLB_COMPLETION_NSEC	100000

/* 3: outstanding chains; at least SCALE_MIN_MISSES warm misses per N. */
#define SCALE_REPEATS		5
#define SCALE_MAX		4096
#define SCALE_MIN_MISSES	16

/* A benchmark still running after this long is killed and fails the run. */
#define WATCHDOG_S		300

static const struct __kernel_timespec wait_limit = { .tv_sec = 30 };

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	printf("BENCH-MISS-ERROR|");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (errno %d: %s)\n", err, strerror(err));
	fflush(stdout);
	exit(1);
}

static inline __u64 uptr(const void *p)
{
	return (__u64)(uintptr_t)p;
}

static long async_exec(struct syslet_uatom *atom, struct async_head_user *ahu)
{
	return syscall(__NR_async_exec, atom, ahu);
}

static long async_wait(unsigned long min, __u64 user_ring_idx,
		       struct async_head_user *ahu,
		       const struct __kernel_timespec *timeout)
{
	return syscall(__NR_async_wait, min, user_ring_idx, ahu, timeout);
}

static long futex(__u32 *uaddr, int op, __u32 val)
{
	return syscall(SYS_futex, uaddr, op | FUTEX_PRIVATE_FLAG, val, NULL,
		       NULL, 0);
}

/*
 * Time. clock_gettime() moves in ticks when the clocksource is jiffies
 * (TSC calibration fails under emulation, and without ACPI there is no
 * HPET or PM timer), so intervals are measured with the TSC, whose rate
 * is taken against CLOCK_MONOTONIC over tick edges once at start.
 */
static double tsc_hz;
static unsigned long long tsc_start;
static double mono_start;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The next time CLOCK_MONOTONIC moves, and the TSC just before. */
static double mono_edge(unsigned long long *tsc)
{
	double t0 = mono(), t;

	do {
		*tsc = __rdtsc();
		t = mono();
	} while (t == t0);
	return t;
}

/*
 * Sleep between the two edges rather than spin: an emulated CPU that is
 * busy takes its timer interrupts late and loses ticks.
 */
static void clock_calibrate(void)
{
	unsigned long long c0, c1;
	double t0, t1;

	t0 = mono_edge(&c0);
	usleep(490 * 1000);
	do {
		t1 = mono_edge(&c1);
	} while (t1 - t0 < 0.49);
	tsc_hz = (c1 - c0) / (t1 - t0);
	tsc_start = c1;
	mono_start = t1;
}

static double now(void)
{
	return __rdtsc() / tsc_hz;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* Sort @v in place; its median, min and max. */
struct spread {
	double med, min, max;
};

static struct spread spread_of(double *v, int n)
{
	struct spread s;

	qsort(v, n, sizeof(*v), cmp_double);
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.min = v[0];
	s.max = v[n - 1];
	return s;
}

/* Operations for a run of about @run_s at @per_op seconds each. */
static long ops_for(double run_s, double per_op, long min, long max)
{
	double ops = run_s / per_op;

	return ops < min ? min : ops > max ? max : (long)ops;
}

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* Context switches since boot, all CPUs ("ctxt" in /proc/stat). */
static unsigned long long ctxt(void)
{
	static char buf[65536];
	char *p;

	if (read_file("/proc/stat", buf, sizeof(buf)))
		die("read /proc/stat");
	p = strstr(buf, "\nctxt ");
	if (!p)
		die("no ctxt in /proc/stat");
	return strtoull(p + 6, NULL, 10);
}

static long meminfo_kb(const char *buf, const char *field)
{
	const char *p = strstr(buf, field);

	if (!p)
		die("no %s in /proc/meminfo", field);
	return strtol(p + strlen(field), NULL, 10);
}

/*
 * Kernel memory in KiB: Slab + KernelStack + PageTables from /proc/meminfo
 * (what a thread costs: task_struct and the other slab objects, its
 * kernel stack), and MemFree as a cross-check.
 */
struct kmem {
	long kernel, free;
};

static struct kmem kmem(void)
{
	static char buf[8192];
	struct kmem m;

	if (read_file("/proc/meminfo", buf, sizeof(buf)))
		die("read /proc/meminfo");
	m.kernel = meminfo_kb(buf, "\nSlab:") +
		   meminfo_kb(buf, "\nKernelStack:") +
		   meminfo_kb(buf, "\nPageTables:");
	m.free = meminfo_kb(buf, "MemFree:");
	return m;
}

static long lost_completions(void)
{
	char buf[64];

	if (read_file(SYSLET_PROC "lost_completions", buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

/* A completion ring and its head. */
struct ring {
	struct async_head_user ahu;
	__u64 *slots;
	unsigned int n;
};

static void ring_init(struct ring *r, unsigned int n)
{
	memset(&r->ahu, 0, sizeof(r->ahu));
	r->slots = calloc(n, sizeof(*r->slots));
	if (!r->slots)
		die("ring of %u", n);
	r->n = n;
	r->ahu.size = sizeof(r->ahu);
	r->ahu.completion_ring = uptr(r->slots);
	r->ahu.ring_size_bytes = n * sizeof(*r->slots);
}

/* Take the next completion, as the ABI says; 0 if there is none. */
static __u64 ring_pop(struct ring *r)
{
	__u64 idx = r->ahu.user_ring_idx;
	__u64 *slot = &r->slots[idx & (r->n - 1)];
	__u64 v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (!v)
		return 0;
	__atomic_store_n(slot, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&r->ahu.user_ring_idx, idx + 1, __ATOMIC_RELEASE);
	return v;
}

/*
 * Wait until at least @min completions are in the ring; how many there
 * are. Nothing for 30 s is a lost completion, and fails the run.
 */
static unsigned long ring_wait(struct ring *r, unsigned long min)
{
	long n;

	do {
		n = async_wait(min, r->ahu.user_ring_idx, &r->ahu,
			       &wait_limit);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		die("async_wait(%lu) after %llu completions, kernel_ring_idx %llu, lost_completions %ld",
		    min, (unsigned long long)r->ahu.user_ring_idx,
		    (unsigned long long)__atomic_load_n(&r->ahu.kernel_ring_idx,
							__ATOMIC_ACQUIRE),
		    lost_completions());
	return n;
}

static __u64 ring_take(struct ring *r)
{
	__u64 v = ring_pop(r);

	if (!v)
		die("async_wait said a completion was there, the slot is empty");
	return v;
}

static unsigned int pow2_at_least(unsigned int n)
{
	unsigned int p = 4;

	while (p < n)
		p *= 2;
	return p;
}

/*
 * Who the head is: the thread group leader (a single-threaded program) or
 * a thread that is not the leader.
 */
enum head { HEAD_LEADER, HEAD_THREAD };
static const char *const head_names[] = { "leader", "thread" };

/*
 * Run @fn in a child process (its spares, threads and memory go with it),
 * in a new thread of that child for HEAD_THREAD. A child that has not
 * ended after WATCHDOG_S is killed. Returns its exit status, 0 for success.
 */
struct child_call {
	int (*fn)(void *arg);
	void *arg;
	int ret;
};

static void *child_thread(void *p)
{
	struct child_call *c = p;

	c->ret = c->fn(c->arg);
	return NULL;
}

static int run_child(const char *what, int (*fn)(void *), void *arg,
		     enum head head)
{
	int status, i;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct child_call c = { fn, arg, 1 };
		pthread_t t;

		if (head != HEAD_THREAD)
			exit(fn(arg));
		if (pthread_create(&t, NULL, child_thread, &c) ||
		    pthread_join(t, NULL))
			die("%s: thread", what);
		fflush(stdout);
		exit(c.ret);
	}
	for (i = 0; i < WATCHDOG_S * 100; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0)
			die("waitpid");
		usleep(10 * 1000);
	}
	if (i == WATCHDOG_S * 100) {
		printf("BENCH-MISS-ERROR|%s: still running after %d s, killed\n",
		       what, WATCHDOG_S);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return 1;
	}
	if (WIFSIGNALED(status)) {
		printf("BENCH-MISS-ERROR|%s: killed by signal %d\n", what,
		       WTERMSIG(status));
		return 1;
	}
	return WEXITSTATUS(status);
}

/*
 * 1. Pipe round trip: a read that blocks, completed by the head's own
 * write, with a chain that misses and with a one-thread pool.
 */
struct rt {
	int sys_pipe[2], pool_pipe[2];
	struct ring ring;
	struct syslet_uatom atom;
	__u64 fd, buf, len;
	__s64 ret;
	char byte;
	pthread_t worker;
	__u32 req, done;
	int stop;
	long pool_ret;
	char pool_byte;
};

struct timed {
	double s;			/* seconds */
	unsigned long long cs;		/* context switches */
};

static void *rt_worker(void *arg)
{
	struct rt *rt = arg;
	__u32 seen = 0, v;

	for (;;) {
		for (;;) {
			v = __atomic_load_n(&rt->req, __ATOMIC_ACQUIRE);
			if (v != seen)
				break;
			futex(&rt->req, FUTEX_WAIT, seen);
		}
		seen = v;
		if (__atomic_load_n(&rt->stop, __ATOMIC_ACQUIRE))
			return NULL;
		rt->pool_ret = read(rt->pool_pipe[0], &rt->pool_byte, 1);
		__atomic_store_n(&rt->done, seen, __ATOMIC_RELEASE);
		futex(&rt->done, FUTEX_WAKE, 1);
	}
}

/* Post a request to the worker; it reads the pipe. */
static void rt_post(struct rt *rt, __u32 seq)
{
	__atomic_store_n(&rt->req, seq, __ATOMIC_RELEASE);
	futex(&rt->req, FUTEX_WAKE, 1);
}

static void rt_pool_op(struct rt *rt)
{
	__u32 seq = rt->req + 1, v;

	rt_post(rt, seq);
	if (write(rt->pool_pipe[1], "p", 1) != 1)
		die("threadpool: write");
	while ((v = __atomic_load_n(&rt->done, __ATOMIC_ACQUIRE)) != seq)
		futex(&rt->done, FUTEX_WAIT, v);
	if (rt->pool_ret != 1)
		die("threadpool: read returned %ld", rt->pool_ret);
}

static void rt_syslet_op(struct rt *rt)
{
	long r;

	rt->ret = SENTINEL;
	r = async_exec(&rt->atom, &rt->ring.ahu);
	if (r != 0)
		die("pipe: async_exec returned %ld, not a miss (sync_chains %llu)",
		    r, (unsigned long long)rt->ring.ahu.sync_chains);
	if (write(rt->sys_pipe[1], "s", 1) != 1)
		die("pipe: write");
	ring_wait(&rt->ring, 1);
	if (ring_take(&rt->ring) != uptr(&rt->atom))
		die("pipe: completion of another atom");
	if (rt->ret != 1)
		die("pipe: read atom returned %lld", (long long)rt->ret);
}

static struct timed rt_ops(struct rt *rt, void (*op)(struct rt *), long ops)
{
	unsigned long long c0 = ctxt();
	double t0 = now();
	struct timed t;
	long i;

	for (i = 0; i < ops; i++)
		op(rt);
	t.s = now() - t0;
	t.cs = ctxt() - c0;
	return t;
}

static int bench_rt(void *arg)
{
	double ratio[RT_REPEATS], pool_ns[RT_REPEATS], sys_ns[RT_REPEATS];
	double pool_cs = 0, sys_cs = 0, per_op;
	enum head head = (intptr_t)arg;
	int r;
	struct spread q, p, s;
	struct timed tp, ts;
	struct rt *rt;
	long ops;

	rt = calloc(1, sizeof(*rt));
	if (!rt || pipe(rt->sys_pipe) || pipe(rt->pool_pipe))
		die("pipe: setup");
	ring_init(&rt->ring, 8);
	rt->fd = rt->sys_pipe[0];
	rt->buf = uptr(&rt->byte);
	rt->len = 1;
	rt->atom.nr = __NR_read;
	rt->atom.ret_ptr = uptr(&rt->ret);
	rt->atom.arg_ptr[0] = uptr(&rt->fd);
	rt->atom.arg_ptr[1] = uptr(&rt->buf);
	rt->atom.arg_ptr[2] = uptr(&rt->len);
	if (pthread_create(&rt->worker, NULL, rt_worker, rt))
		die("pipe: worker thread");

	/* Warm up, and size the runs from the slower of the two. */
	tp = rt_ops(rt, rt_pool_op, 20);
	ts = rt_ops(rt, rt_syslet_op, 20);
	per_op = tp.s / 20;
	if (ts.s / 20 > per_op)
		per_op = ts.s / 20;
	ops = ops_for(RT_RUN_S, per_op, 10, 100000);

	for (r = 0; r < RT_REPEATS; r++) {
		/* Alternate which goes first. */
		if (r % 2) {
			ts = rt_ops(rt, rt_syslet_op, ops);
			tp = rt_ops(rt, rt_pool_op, ops);
		} else {
			tp = rt_ops(rt, rt_pool_op, ops);
			ts = rt_ops(rt, rt_syslet_op, ops);
		}
		pool_ns[r] = tp.s * 1e9 / ops;
		sys_ns[r] = ts.s * 1e9 / ops;
		pool_cs += (double)tp.cs / ops / RT_REPEATS;
		sys_cs += (double)ts.cs / ops / RT_REPEATS;
		ratio[r] = sys_ns[r] / pool_ns[r];
	}
	q = spread_of(ratio, RT_REPEATS);
	p = spread_of(pool_ns, RT_REPEATS);
	s = spread_of(sys_ns, RT_REPEATS);
	printf("BENCH-MISS-RT|%s|%ld|%.3f|%.3f|%.3f|%.0f|%.0f|%.2f|%.2f\n",
	       head_names[head], ops, q.med, q.min, q.max, p.med, s.med,
	       pool_cs, sys_cs);

	__atomic_store_n(&rt->stop, 1, __ATOMIC_RELEASE);
	rt_post(rt, rt->req + 1);
	pthread_join(rt->worker, NULL);
	return 0;
}

/*
 * 2. O_DIRECT reads of null_blk at a queue depth: chains that miss,
 * io_uring (IOSQE_ASYNC, and inline) and libaio.
 */
enum dio_engine {
	DIO_SYSLET, DIO_URING_ASYNC, DIO_URING, DIO_AIO, DIO_ENGINES
};

struct dio_chain {
	struct syslet_uatom atom;
	__u64 fd, buf, len, off;
	__s64 ret;
};

struct dio {
	int fd, depth;
	char *bufs;
	struct ring ring;
	struct dio_chain *chains;
	long misses, chains_run, eintr;
	struct io_uring uring;
	io_context_t aio;
	struct iocb iocbs[DIO_MAX_DEPTH];
};

static int dio_fd;
static char *dio_bufs;

static void nullb_attr(const char *attr, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), NULLB_CFG "/%s", attr);
	if (write_file(path, val))
		die("null_blk: %s = %s", path, val);
}

/* A null_blk device whose reads complete from a timer, opened O_DIRECT. */
static void nullb_setup(void)
{
	char val[32];

	if (mount("none", "/sys/kernel/config", "configfs", 0, NULL) &&
	    errno != EBUSY)
		die("mount configfs on /sys/kernel/config");
	if (mkdir(NULLB_CFG, 0755))
		die("mkdir " NULLB_CFG);
	nullb_attr("blocksize", "4096");
	nullb_attr("size", "1024");		/* MiB; not memory backed */
	nullb_attr("irqmode", "2");		/* timer */
	snprintf(val, sizeof(val), "%d", NULLB_COMPLETION_NSEC);
	nullb_attr("completion_nsec", val);
	nullb_attr("hw_queue_depth", "256");
	nullb_attr("power", "1");
	dio_fd = open("/dev/" NULLB_NAME, O_RDONLY | O_DIRECT);
	if (dio_fd < 0)
		die("open /dev/" NULLB_NAME " O_DIRECT");
	if (posix_memalign((void **)&dio_bufs, 4096, DIO_MAX_DEPTH * DIO_BS))
		die("dio: buffers");
	memset(dio_bufs, 0, DIO_MAX_DEPTH * DIO_BS);
}

static void nullb_teardown(void)
{
	close(dio_fd);
	nullb_attr("power", "0");
	if (rmdir(NULLB_CFG))
		die("rmdir " NULLB_CFG);
}

/* Submit slot @k until it misses; reads that did not block count done. */
static void dio_syslet_submit(struct dio *d, int k, long ops, long *issued,
			      long *done)
{
	struct dio_chain *c = &d->chains[k];
	long r;

	while (*issued < ops) {
		c->ret = SENTINEL;
		(*issued)++;
		d->chains_run++;
		r = async_exec(&c->atom, &d->ring.ahu);
		if (r == 0) {
			d->misses++;
			return;
		}
		if (r != (long)uptr(&c->atom))
			die("dio: async_exec returned %ld", r);
		if (c->ret != DIO_BS)
			die("dio: pread atom returned %lld", (long long)c->ret);
		(*done)++;
	}
}

static void dio_syslet(struct dio *d, long ops)
{
	long issued = 0, done = 0;
	int k;

	for (k = 0; k < d->depth && issued < ops; k++)
		dio_syslet_submit(d, k, ops, &issued, &done);
	while (done < ops) {
		unsigned long n = ring_wait(&d->ring, 1);

		while (n--) {
			__u64 v = ring_take(&d->ring);
			long j = ((long)v - (long)uptr(d->chains)) /
				 (long)sizeof(*d->chains);

			if (j < 0 || j >= d->depth ||
			    v != uptr(&d->chains[j].atom))
				die("dio: completion of an unknown atom");
			if (d->chains[j].ret != DIO_BS)
				die("dio: pread atom returned %lld",
				    (long long)d->chains[j].ret);
			done++;
			dio_syslet_submit(d, j, ops, &issued, &done);
		}
	}
}

static void dio_uring_prep(struct dio *d, int k, int async)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&d->uring);

	if (!sqe)
		die("dio: io_uring_get_sqe");
	io_uring_prep_read(sqe, d->fd, d->bufs + k * DIO_BS, DIO_BS,
			   (__u64)k * DIO_BS);
	if (async)
		sqe->flags |= IOSQE_ASYNC;
	io_uring_sqe_set_data64(sqe, k);
}

static void dio_uring_submit(struct dio *d)
{
	int r = io_uring_submit(&d->uring);

	if (r < 0) {
		errno = -r;
		die("dio: io_uring_submit");
	}
}

static void dio_uring(struct dio *d, long ops, int async)
{
	long issued = 0, done = 0;
	int k;

	for (k = 0; k < d->depth && issued < ops; k++, issued++)
		dio_uring_prep(d, k, async);
	dio_uring_submit(d);
	while (done < ops) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0, prepped = 0;
		int r = io_uring_wait_cqe(&d->uring, &cqe);

		if (r == -EINTR) {
			d->eintr++;
			continue;
		}
		if (r < 0) {
			errno = -r;
			die("dio: io_uring_wait_cqe");
		}
		io_uring_for_each_cqe(&d->uring, head, cqe) {
			if (cqe->res != DIO_BS) {
				errno = cqe->res < 0 ? -cqe->res : 0;
				die("dio: io_uring read returned %d", cqe->res);
			}
			seen++;
			done++;
			if (issued < ops) {
				dio_uring_prep(d, cqe->user_data, async);
				issued++;
				prepped++;
			}
		}
		io_uring_cq_advance(&d->uring, seen);
		if (prepped)
			dio_uring_submit(d);
	}
}

static void dio_aio_prep(struct dio *d, int k)
{
	io_prep_pread(&d->iocbs[k], d->fd, d->bufs + k * DIO_BS, DIO_BS,
		      (long long)k * DIO_BS);
	d->iocbs[k].data = (void *)(intptr_t)k;
}

static void dio_aio_submit(struct dio *d, struct iocb **list, int n)
{
	int r = io_submit(d->aio, n, list);

	if (r != n) {
		errno = r < 0 ? -r : 0;
		die("dio: io_submit of %d returned %d", n, r);
	}
}

static void dio_aio(struct dio *d, long ops)
{
	struct io_event ev[DIO_MAX_DEPTH];
	struct iocb *list[DIO_MAX_DEPTH];
	long issued = 0, done = 0;
	int k, n = 0, i, r;

	for (k = 0; k < d->depth && issued < ops; k++, issued++) {
		dio_aio_prep(d, k);
		list[n++] = &d->iocbs[k];
	}
	dio_aio_submit(d, list, n);
	while (done < ops) {
		r = io_getevents(d->aio, 1, d->depth, ev, NULL);
		/*
		 * Task work (io_uring's and io-wq's among others) makes
		 * a waiting io_getevents() return EINTR; count it.
		 */
		if (r == -EINTR) {
			d->eintr++;
			continue;
		}
		if (r <= 0) {
			errno = r < 0 ? -r : 0;
			die("dio: io_getevents returned %d", r);
		}
		for (i = 0, n = 0; i < r; i++) {
			if (ev[i].res != DIO_BS) {
				errno = 0;
				die("dio: aio read returned %ld",
				    (long)ev[i].res);
			}
			done++;
			if (issued < ops) {
				k = (intptr_t)ev[i].data;
				dio_aio_prep(d, k);
				list[n++] = &d->iocbs[k];
				issued++;
			}
		}
		if (n)
			dio_aio_submit(d, list, n);
	}
}

/* Seconds one engine takes for @ops reads at the device's depth. */
static double dio_run(struct dio *d, enum dio_engine e, long ops)
{
	double t0 = now();

	switch (e) {
	case DIO_SYSLET:
		dio_syslet(d, ops);
		break;
	case DIO_URING_ASYNC:
	case DIO_URING:
		dio_uring(d, ops, e == DIO_URING_ASYNC);
		break;
	default:
		dio_aio(d, ops);
		break;
	}
	return now() - t0;
}

struct dio_arg {
	enum head head;
	int depth;
};

static int bench_dio(void *p)
{
	struct dio_arg *arg = p;
	double ns[DIO_ENGINES][DIO_REPEATS];
	double vs_uring[DIO_REPEATS], vs_aio[DIO_REPEATS], per_op = 0;
	struct spread a, b, s[DIO_ENGINES];
	int depth = arg->depth, k, r, i, e, ret;
	struct dio *d = calloc(1, sizeof(*d));
	long ops;

	if (!d)
		die("dio: alloc");
	d->fd = dio_fd;
	d->depth = depth;
	d->bufs = dio_bufs;
	ring_init(&d->ring, pow2_at_least(2 * depth));
	d->chains = calloc(depth, sizeof(*d->chains));
	if (!d->chains)
		die("dio: alloc");
	for (k = 0; k < depth; k++) {
		struct dio_chain *c = &d->chains[k];

		c->fd = d->fd;
		c->buf = uptr(d->bufs + k * DIO_BS);
		c->len = DIO_BS;
		c->off = (__u64)k * DIO_BS;
		c->atom.nr = __NR_pread64;
		c->atom.ret_ptr = uptr(&c->ret);
		c->atom.arg_ptr[0] = uptr(&c->fd);
		c->atom.arg_ptr[1] = uptr(&c->buf);
		c->atom.arg_ptr[2] = uptr(&c->len);
		c->atom.arg_ptr[3] = uptr(&c->off);
	}
	ret = io_uring_queue_init(depth, &d->uring, 0);
	if (ret < 0) {
		errno = -ret;
		die("dio: io_uring_queue_init(%d)", depth);
	}
	ret = io_setup(depth, &d->aio);
	if (ret < 0) {
		errno = -ret;
		die("dio: io_setup(%d)", depth);
	}

	/* Warm up, and size the runs from the slowest engine. */
	for (e = 0; e < DIO_ENGINES; e++) {
		double t = dio_run(d, e, 4 * depth + 16) / (4 * depth + 16);

		if (t > per_op)
			per_op = t;
	}
	ops = ops_for(DIO_RUN_S, per_op, 4 * depth, 100000);
	d->misses = 0;
	d->chains_run = 0;
	d->eintr = 0;
	d->ring.ahu.sync_chains = 0;
	for (r = 0; r < DIO_REPEATS; r++) {
		/* Rotate which engine goes first. */
		for (i = 0; i < DIO_ENGINES; i++) {
			e = (i + r) % DIO_ENGINES;
			ns[e][r] = dio_run(d, e, ops) * 1e9 / ops;
		}
		vs_uring[r] = ns[DIO_SYSLET][r] / ns[DIO_URING_ASYNC][r];
		vs_aio[r] = ns[DIO_SYSLET][r] / ns[DIO_AIO][r];
	}
	a = spread_of(vs_uring, DIO_REPEATS);
	b = spread_of(vs_aio, DIO_REPEATS);
	for (e = 0; e < DIO_ENGINES; e++)
		s[e] = spread_of(ns[e], DIO_REPEATS);
	printf("BENCH-MISS-DIO|%s|%d|%ld|%.3f|%.3f|%.3f|%.3f|%.3f|%.3f|%.0f|%.0f|%.0f|%.0f|%.1f|%llu|%ld\n",
	       head_names[arg->head], depth, ops, a.med, a.min, a.max,
	       b.med, b.min, b.max, s[DIO_SYSLET].med,
	       s[DIO_URING_ASYNC].med, s[DIO_URING].med, s[DIO_AIO].med,
	       100.0 * d->misses / d->chains_run,
	       (unsigned long long)d->ring.ahu.sync_chains, d->eintr);

	io_destroy(d->aio);
	io_uring_queue_exit(&d->uring);
	return 0;
}

/*
 * 3. N chains blocked at once in FUTEX_WAIT: per miss, memory and context
 * switches, then the drain. The first round makes the spares ("cold"),
 * the later ones find them parked ("warm"); small N repeats the warm round
 * up to SCALE_MIN_MISSES misses. Each warm miss is timed on its own, and
 * their median is the cost of a miss: the first miss after a pause is
 * slow under emulation whatever it is.
 */
struct scale_result {
	double warm_ns, warm_mean_ns, cold_ns, kmem_kb, free_kb;
	double cs_submit, cs_drain, drain_ns;
};

struct scale_arg {
	enum head head;
	int n;
	struct scale_result *res;	/* shared with the parent */
};

/*
 * Wait until every other thread is asleep ('S'): the spares have parked.
 * Yield rather than sleep, so that the CPU does not go idle.
 */
static void settle_spares(void)
{
	char path[64], buf[512], *p;
	double end = now() + 5;
	pid_t self = gettid();
	int busy;

	do {
		struct dirent *de;
		DIR *dir = opendir("/proc/self/task");

		if (!dir)
			die("opendir /proc/self/task");
		busy = 0;
		while ((de = readdir(dir)) && !busy) {
			int tid = atoi(de->d_name);

			if (tid <= 0 || tid == self)
				continue;
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat",
				 tid);
			if (read_file(path, buf, sizeof(buf)))
				continue;
			p = strrchr(buf, ')');
			if (p && p[1] == ' ' && p[2] != 'S')
				busy = 1;
		}
		closedir(dir);
		sched_yield();
	} while (busy && now() < end);
}

/* N chains, each one FUTEX_WAIT on the same word. */
struct scale_chains {
	int n;
	struct syslet_uatom *atoms;
	__s64 *rets;
	char *seen;
	struct ring ring;
	__u32 word;
	__u64 addr, op, zero, tmo;
};

struct scale_round {
	double submit_s, drain_s;
	unsigned long long cs_submit, cs_drain;
	struct kmem m0, m1;
};

/*
 * Submit all N (each must miss; into @lat the time of each, if given),
 * then wake them and take every completion.
 */
static void scale_round(struct scale_chains *c, const char *what,
			struct scale_round *rd, double *lat)
{
	unsigned long long c0, c1;
	double t0, t1, t;
	long got = 0, r;
	int i;

	__atomic_store_n(&c->word, 0, __ATOMIC_RELEASE);
	memset(c->seen, 0, c->n);
	for (i = 0; i < c->n; i++)
		c->rets[i] = SENTINEL;
	rd->m0 = kmem();
	c0 = ctxt();
	t0 = now();
	for (i = 0; i < c->n; i++) {
		t = now();
		r = async_exec(&c->atoms[i], &c->ring.ahu);
		if (lat)
			lat[i] = now() - t;
		if (r != 0)
			die("scale: chain %d of %d (%s) did not miss: async_exec returned %ld, sync_chains %llu",
			    i, c->n, what, r,
			    (unsigned long long)c->ring.ahu.sync_chains);
	}
	t1 = now();
	c1 = ctxt();
	rd->m1 = kmem();
	rd->submit_s = t1 - t0;
	rd->cs_submit = c1 - c0;

	c0 = ctxt();
	t0 = now();
	__atomic_store_n(&c->word, 1, __ATOMIC_RELEASE);
	if (futex(&c->word, FUTEX_WAKE, INT_MAX) < 0)
		die("scale: FUTEX_WAKE");
	while (got < c->n) {
		unsigned long k = ring_wait(&c->ring, 1);

		while (k--) {
			__u64 v = ring_take(&c->ring);
			long j = ((long)v - (long)uptr(c->atoms)) /
				 (long)sizeof(*c->atoms);

			if (j < 0 || j >= c->n || v != uptr(&c->atoms[j]) ||
			    c->seen[j]++)
				die("scale: unknown or repeated completion %#llx (%s)",
				    (unsigned long long)v, what);
			if (c->rets[j] != 0 && c->rets[j] != -EAGAIN)
				die("scale: futex atom %ld returned %lld (%s)",
				    j, (long long)c->rets[j], what);
			got++;
		}
	}
	rd->drain_s = now() - t0;
	rd->cs_drain = ctxt() - c0;
}

static int bench_scale_once(void *p)
{
	static const struct __kernel_timespec limit = { .tv_sec = 120 };
	struct scale_arg *arg = p;
	struct scale_result *res = arg->res;
	struct scale_round cold, warm;
	double submit = 0, drain = 0, cs_submit = 0, cs_drain = 0, *lat;
	int n = arg->n, rounds, misses, k, i;
	struct scale_chains c = { .n = n };

	rounds = n < SCALE_MIN_MISSES ? SCALE_MIN_MISSES / n : 1;
	misses = rounds * n;
	c.atoms = calloc(n, sizeof(*c.atoms));
	c.rets = calloc(n, sizeof(*c.rets));
	c.seen = calloc(n, 1);
	lat = calloc(misses, sizeof(*lat));
	if (!c.atoms || !c.rets || !c.seen || !lat)
		die("scale: alloc");
	ring_init(&c.ring, pow2_at_least(n));
	c.addr = uptr(&c.word);
	c.op = FUTEX_WAIT_PRIVATE;
	/* Only so that a chain that could not move returns. */
	c.tmo = uptr(&limit);
	for (i = 0; i < n; i++) {
		c.atoms[i].nr = __NR_futex;
		c.atoms[i].ret_ptr = uptr(&c.rets[i]);
		c.atoms[i].arg_ptr[0] = uptr(&c.addr);
		c.atoms[i].arg_ptr[1] = uptr(&c.op);
		c.atoms[i].arg_ptr[2] = uptr(&c.zero);
		c.atoms[i].arg_ptr[3] = uptr(&c.tmo);
	}

	scale_round(&c, "cold", &cold, NULL);
	for (k = 0; k < rounds; k++) {
		settle_spares();
		scale_round(&c, "warm", &warm, lat + k * n);
		submit += warm.submit_s;
		drain += warm.drain_s;
		cs_submit += warm.cs_submit;
		cs_drain += warm.cs_drain;
	}
	res->cold_ns = cold.submit_s * 1e9 / n;
	res->kmem_kb = (double)(cold.m1.kernel - cold.m0.kernel) / n;
	res->free_kb = (double)(cold.m0.free - cold.m1.free) / n;
	res->warm_ns = spread_of(lat, misses).med * 1e9;
	res->warm_mean_ns = submit * 1e9 / misses;
	res->cs_submit = cs_submit / misses;
	res->cs_drain = cs_drain / misses;
	res->drain_ns = drain * 1e9 / misses;
	return 0;
}

static int bench_scale(void)
{
	static const enum head heads[] = { HEAD_LEADER, HEAD_THREAD };
	static const int ns[] = { 1, 16, 256, SCALE_MAX };
	enum { HEADS = 2, NS = 4, HEAD_ROW_THREAD = NS * SCALE_REPEATS };
	size_t size = sizeof(struct scale_result) * HEADS * NS * SCALE_REPEATS;
	struct scale_result *res;
	int h, r, i;

	/* [head][n][repeat], written by the children. */
	res = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		die("scale: mmap");
	for (r = 0; r < SCALE_REPEATS; r++) {
		for (h = 0; h < HEADS; h++) {
			for (i = 0; i < NS; i++) {
				struct scale_arg arg = {
					heads[h], ns[i],
					&res[(h * NS + i) * SCALE_REPEATS + r]
				};
				char what[64];

				snprintf(what, sizeof(what), "scale %s N=%d",
					 head_names[heads[h]], ns[i]);
				if (run_child(what, bench_scale_once, &arg,
					      heads[h]))
					return 1;
			}
		}
	}
	for (h = 0; h < HEADS; h++) {
		/* The baseline: one outstanding chain, not the leader. */
		struct scale_result *one = &res[HEAD_ROW_THREAD];

		for (i = 0; i < NS; i++) {
			struct scale_result *x =
				&res[(h * NS + i) * SCALE_REPEATS];
			double warm[SCALE_REPEATS], ratio[SCALE_REPEATS];
			double mean[SCALE_REPEATS], cold[SCALE_REPEATS];
			double km[SCALE_REPEATS], fr[SCALE_REPEATS];
			double cs1[SCALE_REPEATS], cs2[SCALE_REPEATS];
			double dr[SCALE_REPEATS];
			struct spread w, q;

			for (r = 0; r < SCALE_REPEATS; r++) {
				warm[r] = x[r].warm_ns;
				ratio[r] = x[r].warm_ns / one[r].warm_ns;
				mean[r] = x[r].warm_mean_ns;
				cold[r] = x[r].cold_ns;
				km[r] = x[r].kmem_kb;
				fr[r] = x[r].free_kb;
				cs1[r] = x[r].cs_submit;
				cs2[r] = x[r].cs_drain;
				dr[r] = x[r].drain_ns;
			}
			w = spread_of(warm, SCALE_REPEATS);
			q = spread_of(ratio, SCALE_REPEATS);
			printf("BENCH-MISS-SCALE|%s|%d|%.0f|%.0f|%.0f|%.3f|%.3f|%.3f|%.0f|%.0f|%.1f|%.1f|%.2f|%.2f|%.0f\n",
			       head_names[heads[h]], ns[i], w.med, w.min, w.max,
			       q.med, q.min, q.max,
			       spread_of(mean, SCALE_REPEATS).med,
			       spread_of(cold, SCALE_REPEATS).med,
			       spread_of(km, SCALE_REPEATS).med,
			       spread_of(fr, SCALE_REPEATS).med,
			       spread_of(cs1, SCALE_REPEATS).med,
			       spread_of(cs2, SCALE_REPEATS).med,
			       spread_of(dr, SCALE_REPEATS).med);
		}
	}
	munmap(res, size);
	return 0;
}

/* The guest's clock, for the reader of the numbers. */
static void print_clock(void)
{
	char cs[64] = "?";
	struct timespec res;

	if (!read_file("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		       cs, sizeof(cs)))
		cs[strcspn(cs, "\n")] = '\0';
	clock_getres(CLOCK_MONOTONIC, &res);
	printf("BENCH-MISS-CLOCK|%s|%ld|%.1f|%ld\n", cs,
	       res.tv_sec * 1000000000L + res.tv_nsec, tsc_hz / 1e6,
	       sysconf(_SC_NPROCESSORS_ONLN));
}

static void section_time(const char *what, double t0)
{
	printf("BENCH-MISS-TIME|%s|%.1f\n", what, now() - t0);
}

int main(void)
{
	static const enum head heads[] = { HEAD_LEADER, HEAD_THREAD };
	static const int depths[] = { 1, 16, 1, 16, 64, DIO_MAX_DEPTH };
	char old_spares[32], buf[32], what[64];
	int fail = 0, h, i;
	double t0, t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (read_file(SYSLET_PROC "abi_version", buf, sizeof(buf)) ||
	    read_file(SYSLET_PROC "max_spares", old_spares,
		      sizeof(old_spares)))
		die("no syslets in this kernel (" SYSLET_PROC ")");
	/* 4096 blocked chains need as many spares; 4096 is the cap. */
	if (write_file(SYSLET_PROC "max_spares", "4096"))
		die("raise " SYSLET_PROC "max_spares to 4096");
	clock_calibrate();
	t0 = now();
	print_clock();

	printf("BENCH-MISS-RT-HEADER|head|ops|ratio syslet/threadpool median|min|max|threadpool ns/op|syslet ns/op|threadpool ctxt/op|syslet ctxt/op\n");
	t = now();
	for (h = 0; h < 2; h++) {
		snprintf(what, sizeof(what), "pipe round trip, %s",
			 head_names[heads[h]]);
		fail |= run_child(what, bench_rt, (void *)(intptr_t)heads[h],
				  heads[h]);
	}
	section_time("pipe round trip", t);

	printf("BENCH-MISS-DIO-HEADER|head|QD|ops|syslet/io_uring-async median|min|max|syslet/libaio median|min|max|syslet ns/op|io_uring-async ns/op|io_uring ns/op|libaio ns/op|syslet misses %%|sync_chains|EINTR\n");
	t = now();
	nullb_setup();
	printf("BENCH-MISS-NULLB|/dev/%s|%d|%d\n", NULLB_NAME,
	       NULLB_COMPLETION_NSEC, DIO_BS);
	for (i = 0; i < 6; i++) {
		/* Two depths for the leader, four for a thread. */
		enum head head = i < 2 ? HEAD_LEADER : HEAD_THREAD;
		struct dio_arg arg = { head, depths[i] };

		snprintf(what, sizeof(what), "null_blk %s QD%d",
			 head_names[head], depths[i]);
		fail |= run_child(what, bench_dio, &arg, head);
	}
	nullb_teardown();
	section_time("null_blk O_DIRECT", t);

	printf("BENCH-MISS-SCALE-HEADER|head|N|warm ns/miss median|min|max|ratio to thread N=1 median|min|max|warm mean ns/miss|cold mean ns/miss|kernel KiB/chain (cold)|MemFree KiB/chain (cold)|ctxt/miss (warm)|ctxt/completion (warm)|drain ns/completion (warm)\n");
	t = now();
	fail |= bench_scale();
	section_time("outstanding chains", t);

	if (write_file(SYSLET_PROC "max_spares", old_spares))
		die("restore " SYSLET_PROC "max_spares");
	section_time("total", t0);
	/* The TSC against CLOCK_MONOTONIC over the whole run. */
	printf("BENCH-MISS-CLOCK-CHECK|%.3f|%.3f\n",
	       (__rdtsc() - tsc_start) / tsc_hz, mono() - mono_start);
	return fail ? 1 : 0;
}
