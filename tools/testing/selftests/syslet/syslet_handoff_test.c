// SPDX-License-Identifier: GPL-2.0
/*
 * The handoff itself, hammered until its windows open: the caller's user
 * state must arrive whole in whichever task goes on as the caller, and a
 * process that makes misses in a loop must still stop and freeze at any
 * moment. Each test loops hundreds of times over the window it guards, on
 * both vCPUs at once; a bounded wait only detects a failure.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "../kselftest_harness.h"
#include "syslet_test.h"

#define STATE_THREADS	8
#define STATE_ROUNDS	250

/* MXCSR: rounding mode (bits 13-14) and flush-to-zero (bit 15) vary. */
#define MXCSR_DEFAULT	0x1f80u
/* x87 control word: precision control (bits 8-9) and rounding (10-11). */
#define FCW_DEFAULT	0x037fu

/* The user state one round sets before async_exec() and expects after. */
struct user_state {
	unsigned long long xmm8, ymm_hi;
	unsigned int mxcsr;
	unsigned short fcw;
	unsigned long fsbase, gsbase;
};

static __thread unsigned long tls_marker;

static unsigned long arch_get(int code)
{
	unsigned long v = 0;

	syscall(SYS_arch_prctl, code, &v);
	return v;
}

/*
 * A system call of up to four arguments with xmm8 (low and high halves of
 * ymm8), MXCSR and the x87 control word loaded just before the syscall
 * instruction and read just after, so that no compiler-generated code
 * stands between the kernel and the check.
 */
static long syscall_with_state(long nr, long a0, long a1, long a2, long a3,
			       const struct user_state *in,
			       struct user_state *out)
{
	register long rax asm("rax") = nr;
	register long r10 asm("r10") = a3;
	unsigned int mxcsr_in = in->mxcsr, mxcsr_out;
	unsigned short fcw_in = in->fcw, fcw_out;
	unsigned long long lo, hi;
	long ret;

	asm volatile("ldmxcsr %[mi]\n\t"
		     "fldcw %[fi]\n\t"
		     "movq %[lo_in], %%xmm8\n\t"
		     "movq %[hi_in], %%xmm9\n\t"
		     "vinsertf128 $1, %%xmm9, %%ymm8, %%ymm8\n\t"
		     "syscall\n\t"
		     "movq %%xmm8, %[lo]\n\t"
		     "vextractf128 $1, %%ymm8, %%xmm9\n\t"
		     "movq %%xmm9, %[hi]\n\t"
		     "stmxcsr %[mo]\n\t"
		     "fnstcw %[fo]\n\t"
		     "ldmxcsr %[md]\n\t"
		     "fldcw %[fd]"
		     : "+a"(rax), [lo] "=r"(lo), [hi] "=r"(hi),
		       [mo] "=m"(mxcsr_out), [fo] "=m"(fcw_out), "+r"(r10)
		     : "D"(a0), "S"(a1), "d"(a2), [mi] "m"(mxcsr_in),
		       [fi] "m"(fcw_in), [lo_in] "r"(in->xmm8),
		       [hi_in] "r"(in->ymm_hi),
		       [md] "m"((unsigned int){ MXCSR_DEFAULT }),
		       [fd] "m"((unsigned short){ FCW_DEFAULT })
		     : "rcx", "r11", "memory", "xmm8", "xmm9");
	/* A register variable is only the asm's: keep the result first. */
	ret = rax;
	out->xmm8 = lo;
	out->ymm_hi = hi;
	out->mxcsr = mxcsr_out;
	out->fcw = fcw_out;
	out->fsbase = arch_get(ARCH_GET_FS);
	out->gsbase = arch_get(ARCH_GET_GS);
	return ret;
}

static long async_exec_with_state(struct syslet_uatom *atom,
				  struct async_head_user *ahu,
				  const struct user_state *in,
				  struct user_state *out)
{
	return syscall_with_state(__NR_async_exec, (long)atom, (long)ahu, 0, 0,
				  in, out);
}

/* A one-atom chain sleeping @ns: it blocks, then ends on its own. */
struct nap {
	struct __kernel_timespec ts;
	__u64 ts_ptr, rem;
	__s64 ret;
	struct syslet_uatom atom;
};

static void nap_init(struct nap *n, long ns)
{
	n->ts.tv_sec = 0;
	n->ts.tv_nsec = ns;
	n->ts_ptr = uptr(&n->ts);
	n->rem = 0;
	n->ret = SENTINEL;
	ATOM1(&n->atom, __NR_nanosleep, &n->ret, NULL, 0, &n->ts_ptr);
}

static int have_avx(void)
{
	return __builtin_cpu_supports("avx");
}

/* Round @i's pattern for thread @id; the gs base is set here. */
static void state_pattern(struct user_state *in, unsigned long id, long i)
{
	in->xmm8 = id << 32 | i;
	in->ymm_hi = ~in->xmm8;
	in->mxcsr = MXCSR_DEFAULT | ((i & 3) << 13) | (i & 4 ? 0x8000 : 0);
	in->fcw = FCW_DEFAULT & ~0xf00u;
	in->fcw |= ((i >> 1) & 3) << 8 | (i & 3) << 10;
	in->fsbase = arch_get(ARCH_GET_FS);
	in->gsbase = 0x1000 * (id + 1) + i;
	syscall(SYS_arch_prctl, ARCH_SET_GS, in->gsbase);
}

/* Failed checks as bits 2-6; the gs base is reset here. */
static long state_mismatch(const struct user_state *in,
			   const struct user_state *out, unsigned long id)
{
	long fails = 0;

	syscall(SYS_arch_prctl, ARCH_SET_GS, 0UL);
	if (out->xmm8 != in->xmm8 || out->ymm_hi != in->ymm_hi)
		fails |= 1 << 2;
	if (out->mxcsr != in->mxcsr)
		fails |= 1 << 3;
	if (out->fcw != in->fcw)
		fails |= 1 << 4;
	if (out->fsbase != in->fsbase || tls_marker != id)
		fails |= 1 << 5;
	if (out->gsbase != in->gsbase)
		fails |= 1 << 6;
	return fails;
}

/*
 * One round, a miss of a chain whose atom ends on its own, with a new
 * pattern of user state loaded across async_exec() or, with @wait,
 * across the async_wait() after it. Without @wait, the task that blocked
 * finishes, posts and parks again while the caller's new holder may still
 * be taking the caller over. With it, the chain sleeps far longer than
 * the caller takes to get to async_wait(), and the task that blocked
 * finishes while the caller sleeps there, taking the caller back. The
 * state and result must arrive whole, moved or not. Failed checks as bits.
 */
static long state_round(unsigned long id, long i, int wait)
{
	struct async_head_user ahu;
	struct user_state in, out;
	__u64 slots[4];
	struct nap n;
	long r, fails;

	nap_init(&n, wait ? 200000 + (i % 5) * 50000 : (i % 7) * 20000);
	ring_init(&ahu, slots, 4);
	if (wait && async_exec(&n.atom, &ahu) != 0)
		return 0;
	state_pattern(&in, id, i);
	if (wait)
		r = syscall_with_state(__NR_async_wait, 1, 0, (long)&ahu,
				       (long)&ten_s, &in, &out);
	else
		r = async_exec_with_state(&n.atom, &ahu, &in, &out);
	fails = state_mismatch(&in, &out, id);
	if (wait && (r != 1 || ring_pop(&ahu, slots, 4) != uptr(&n.atom) ||
		     n.ret != 0))
		fails |= 1 << 0;
	if (!wait && r == 0 && ring_next(&ahu, slots, 4) != uptr(&n.atom))
		fails |= 1 << 0;
	if (!wait && r != 0 && r != (long)uptr(&n.atom))
		fails |= 1 << 1;
	return fails;
}

struct state_thread {
	pthread_t thread;
	unsigned long id;
	int wait;
	void *result;
};

/* Rounds until one fails: NULL, or the failed checks and round. */
static void *state_rounds(void *arg)
{
	struct state_thread *t = arg;
	long i, fails;

	tls_marker = t->id;
	for (i = 0; i < STATE_ROUNDS; i++) {
		fails = state_round(t->id, i, t->wait);
		if (fails)
			return (void *)(fails << 16 | i);
	}
	return NULL;
}

/* @n threads of rounds at once; the index of one that failed, or -1. */
static int state_threads(struct state_thread *t, int n, int wait)
{
	int i, failed = -1;

	for (i = 0; i < n; i++) {
		t[i].id = i + 1;
		t[i].wait = wait;
		t[i].result = NULL;
		if (pthread_create(&t[i].thread, NULL, state_rounds, &t[i]))
			return i;
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i].thread, &t[i].result);
		if (t[i].result && failed < 0)
			failed = i;
	}
	return failed;
}

/* What a failed thread's result says, for the log. */
static const char *state_failure(const struct state_thread *t)
{
	static char buf[96];
	unsigned long r = (unsigned long)t->result;

	snprintf(buf, sizeof(buf), "thread %lu: round %lu, failed checks %#lx",
		 t->id, r & 0xffff, r >> 16);
	return buf;
}

TEST(user_state_follows_the_caller_through_racing_misses)
{
	struct state_thread t[STATE_THREADS];
	int failed;

	if (!have_avx())
		SKIP(return, "no AVX");
	failed = state_threads(t, STATE_THREADS, 0);
	EXPECT_EQ(-1, failed) {
		TH_LOG("%s", state_failure(&t[failed]));
	}
}

/*
 * The tracing directory, or NULL without tracefs; *@on tells whether
 * @event is there and switched on, its counts starting from zero.
 */
static const char *trace_event_on(const char *event, int *on)
{
	static const char *const dirs[] = { "/sys/kernel/tracing",
					    "/sys/kernel/debug/tracing" };
	char path[160];
	unsigned int i;

	/* As guest/miss-profile.sh: tracefs is not mounted at boot. */
	mount("nodev", dirs[0], "tracefs", 0, NULL);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/events", dirs[i]);
		if (access(path, F_OK))
			continue;
		snprintf(path, sizeof(path), "%s/events/%s", dirs[i], event);
		*on = !write_str(dirs[i], "trace", "") &&
		      !write_str(path, "enable", "1") &&
		      !write_str(dirs[i], "tracing_on", "1");
		return dirs[i];
	}
	return NULL;
}

/* Lines of the trace holding @what; the event is switched off. */
static long trace_count(const char *dir, const char *event, const char *what)
{
	char path[160], line[512];
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/events/%s", dir, event);
	write_str(path, "enable", "0");
	snprintf(path, sizeof(path), "%s/trace", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && strstr(line, what))
			n++;
	fclose(f);
	return n;
}

#define WAIT_THREADS	4

TEST(caller_taken_back_from_async_wait_keeps_its_user_state)
{
	const char *event = "syslet/syslet_take_back";
	struct state_thread t[WAIT_THREADS];
	const char *tracing;
	int failed, traced = 0;
	long taken;

	if (!have_avx())
		SKIP(return, "no AVX");
	tracing = trace_event_on(event, &traced);
	failed = state_threads(t, WAIT_THREADS, 1);
	EXPECT_EQ(-1, failed) {
		TH_LOG("%s", state_failure(&t[failed]));
	}
	if (!tracing)
		SKIP(return, "no tracefs: take-backs not counted");
	ASSERT_TRUE(traced) {
		TH_LOG("no tracepoint %s", event);
	}
	taken = trace_count(tracing, event, "result=moved");
	/* Most rounds: the chain sleeps far longer than a round takes. */
	EXPECT_LT(WAIT_THREADS * STATE_ROUNDS / 2, taken) {
		TH_LOG("%ld of %d rounds taken back", taken,
		       WAIT_THREADS * STATE_ROUNDS);
	}
}

struct pinner {
	pid_t tid;
	int fd;
	cpu_set_t one;
	int err;
};

/* Once the caller sleeps in its synchronous atom, pin it and wake it. */
static void *pin_then_wake(void *arg)
{
	struct pinner *p = arg;
	int i;

	for (i = 0; i < 10000 && thread_state(p->tid) != 'S'; i++)
		usleep(1000);
	if (sched_setaffinity(p->tid, sizeof(p->one), &p->one))
		p->err = errno;
	if (write(p->fd, "p", 1) != 1)
		p->err = -1;
	return NULL;
}

/*
 * What a spare must share with the caller is compared when it claims the
 * caller, not only when it was reserved: another thread pins the caller
 * to one CPU while its chain waits in a SYSLET_SYNC atom, after the spare
 * made for all CPUs was reserved. When the next atom blocks, the chain
 * must finish in the caller, which keeps its new affinity.
 */
TEST(affinity_changed_after_reservation_keeps_the_chain_in_its_caller)
{
	cpu_set_t all, now;
	struct async_head_user ahu;
	struct pinner pin = { .tid = gettid() };
	struct pipe_read pr;
	struct nap n;
	__u64 slots[4];
	pthread_t t;
	long r;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	if (CPU_COUNT(&all) < 2)
		SKIP(return, "needs two CPUs");
	CPU_ZERO(&pin.one);
	CPU_SET(sched_getcpu(), &pin.one);
	/* A spare that fits the caller as it is now. */
	ASSERT_EQ(0, miss_once());

	ASSERT_EQ(0, pipe_read_init(&pr, SYSLET_SYNC));
	nap_init(&n, 50 * 1000 * 1000);
	pr.atom.next = uptr(&n.atom);
	pin.fd = pr.fds[1];
	ring_init(&ahu, slots, 4);
	ASSERT_EQ(0, pthread_create(&t, NULL, pin_then_wake, &pin));
	r = async_exec(&pr.atom, &ahu);
	if (r == 0)
		ASSERT_EQ(uptr(&n.atom), ring_next(&ahu, slots, 4));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, pin.err);
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(now), &now));
	EXPECT_EQ(1, pr.ret);
	EXPECT_TRUE(CPU_EQUAL(&now, &pin.one));
	EXPECT_EQ((long)uptr(&n.atom), r);
	pipe_read_fini(&pr);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
}

/*
 * Exclusive acquisitions of the lock class @class since the statistics
 * were cleared, from /proc/lock_stat (CONFIG_LOCK_STAT, the debug
 * profile); -1 if it cannot be read. The class's line is "class-W:" if
 * it was also taken for reading since, "class:" if it was not, and
 * missing if it was not taken at all.
 */
static long lock_write_acquisitions(const char *class)
{
	char line[512], only[128], both[128];
	long acq = 0;
	FILE *f;

	f = fopen("/proc/lock_stat", "r");
	if (!f)
		return -1;
	/* Names are right-aligned in 40 columns: a space comes before. */
	snprintf(only, sizeof(only), " %s:", class);
	snprintf(both, sizeof(both), " %s-W:", class);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, only);
		char *key = only;
		double col[8];

		if (!p) {
			p = strstr(line, both);
			key = both;
		}
		if (!p)
			continue;
		/* con-bounces contentions wait-min/max/total/avg acq-bounces acquisitions */
		if (sscanf(p + strlen(key), "%lf %lf %lf %lf %lf %lf %lf %lf",
			   &col[0], &col[1], &col[2], &col[3], &col[4],
			   &col[5], &col[6], &col[7]) == 8)
			acq = (long)col[7];
		else
			acq = -1;
		break;
	}
	fclose(f);
	return acq;
}

/* Zero every class's statistics; 0 on success. */
static int lock_stat_clear(void)
{
	int fd = open("/proc/lock_stat", O_WRONLY);
	int err;

	if (fd < 0)
		return -1;
	err = write(fd, "0", 1) == 1 ? 0 : -1;
	close(fd);
	return err;
}

#define LOCK_MISSES	200

/* Misses in a thread that is not the leader, between two barriers. */
struct lock_round {
	pthread_barrier_t ready, go, done;
	long err;
};

static long misses(int n)
{
	long err = 0;
	int i;

	for (i = 0; i < n && !err; i++)
		err = miss_once();
	return err;
}

static void *misses_between_barriers(void *arg)
{
	struct lock_round *r = arg;

	/* The spares, made now: copy_process() takes tasklist_lock. */
	r->err = misses(LOCK_MISSES);
	pthread_barrier_wait(&r->ready);
	pthread_barrier_wait(&r->go);
	if (!r->err)
		r->err = misses(LOCK_MISSES);
	pthread_barrier_wait(&r->done);
	/* Its exit takes tasklist_lock: after the count. */
	pthread_barrier_wait(&r->done);
	return NULL;
}

/*
 * A miss takes no global lock: a thread that is not the group leader and
 * has no children misses LOCK_MISSES times, its spares made beforehand,
 * and tasklist_lock is not taken for writing meanwhile.
 *
 * Except to make a spare: the task that finished a chain posts its
 * completion before it parks, so a caller quick enough to miss again in
 * between finds no parked spare and makes one (the threads counted). The
 * lock is system-wide, so other tasks' forks and exits may take it now and
 * then; a miss that took it would take it LOCK_MISSES times.
 */
TEST(misses_of_a_thread_take_no_tasklist_lock)
{
	struct lock_round r = { };
	long before, after, made;
	int threads_before;
	pthread_t t;

	if (access("/proc/lock_stat", R_OK))
		SKIP(return, "no CONFIG_LOCK_STAT");
	ASSERT_EQ(0, pthread_barrier_init(&r.ready, NULL, 2));
	ASSERT_EQ(0, pthread_barrier_init(&r.go, NULL, 2));
	ASSERT_EQ(0, pthread_barrier_init(&r.done, NULL, 2));
	ASSERT_EQ(0, pthread_create(&t, NULL, misses_between_barriers, &r));
	pthread_barrier_wait(&r.ready);
	ASSERT_EQ(0, lock_stat_clear());
	threads_before = proc_status_int("Threads");
	before = lock_write_acquisitions("tasklist_lock");
	pthread_barrier_wait(&r.go);
	pthread_barrier_wait(&r.done);
	after = lock_write_acquisitions("tasklist_lock");
	made = proc_status_int("Threads") - threads_before;
	pthread_barrier_wait(&r.done);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, r.err);
	ASSERT_LE(0, threads_before);
	ASSERT_LE(0, before);
	ASSERT_LE(0, after);
	EXPECT_GT(LOCK_MISSES / 10, after - before - made) {
		TH_LOG("%ld tasklist_lock write acquisitions, %ld spares made, over %d misses",
		       after - before, made, LOCK_MISSES);
	}
}

#define CACHED_CHAINS	1000

/*
 * A chain that may go asynchronous but never blocks takes no lock: the
 * spare it reserved is kept for the next chain, not parked with the
 * group under siglock and found there again. The first chain makes it.
 */
TEST(chains_that_do_not_block_take_no_siglock)
{
	struct async_head_user ahu;
	struct syslet_uatom atom;
	long before, after;
	__u64 slots[4];
	__s64 ret;
	int i;

	if (access("/proc/lock_stat", R_OK))
		SKIP(return, "no CONFIG_LOCK_STAT");
	ring_init(&ahu, slots, 4);
	ATOM0(&atom, __NR_getppid, &ret, NULL, 0);
	ASSERT_EQ((long)uptr(&atom), async_exec(&atom, &ahu));
	ASSERT_EQ(0, lock_stat_clear());
	before = lock_write_acquisitions("&sighand->siglock");
	for (i = 0; i < CACHED_CHAINS; i++)
		if (async_exec(&atom, &ahu) != (long)uptr(&atom))
			break;
	after = lock_write_acquisitions("&sighand->siglock");
	ASSERT_EQ(CACHED_CHAINS, i);
	ASSERT_LE(0, before);
	ASSERT_LE(0, after);
	EXPECT_EQ(0, ahu.sync_chains);
	/* Others' signals and timers may take it now and then. */
	EXPECT_GT(CACHED_CHAINS / 10, after - before) {
		TH_LOG("%ld siglock acquisitions over %d chains",
		       after - before, CACHED_CHAINS);
	}
}

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH	59
#define PR_SYS_DISPATCH_OFF		0
#define PR_SYS_DISPATCH_ON		1
#endif
#ifndef SYSCALL_DISPATCH_FILTER_ALLOW
#define SYSCALL_DISPATCH_FILTER_ALLOW	0
#endif

/*
 * With syscall user dispatch on, a chain that blocks stays in its caller:
 * a spare would return to user space without it.
 */
TEST(syscall_user_dispatch_keeps_the_chain_in_its_caller)
{
	static char selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	struct async_head_user ahu;
	__u64 slots[4];
	struct nap n;
	long r;

	ASSERT_EQ(0, miss_once());
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0,
		  &selector))
		SKIP(return, "no syscall user dispatch: %s", strerror(errno));
	nap_init(&n, 20 * 1000 * 1000);
	ring_init(&ahu, slots, 4);
	r = async_exec(&n.atom, &ahu);
	prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
	if (r == 0)
		ring_next(&ahu, slots, 4);
	EXPECT_EQ((long)uptr(&n.atom), r);
	EXPECT_EQ(1, ahu.sync_chains);
}

static void *miss_in_a_thread(void *arg)
{
	return (void *)(long)miss_once();
}

struct tsc_result {
	long err, mode;
};

/* With TSC faulting on, miss once and read the mode back as the caller. */
static void *miss_with_tsc_faulting(void *arg)
{
	struct tsc_result *t = arg;
	int mode = 0;

	if (prctl(PR_SET_TSC, PR_TSC_SIGSEGV)) {
		t->err = -errno;
		return NULL;
	}
	t->err = miss_once();
	prctl(PR_GET_TSC, &mode);
	t->mode = mode;
	prctl(PR_SET_TSC, PR_TSC_ENABLE);
	return NULL;
}

/*
 * Per-thread modes a copy cannot hand on must already be the caller's: a
 * thread with TSC faulting on (PR_SET_TSC) does not take a spare made by
 * a thread without it, and keeps the mode after its miss.
 */
TEST(tsc_faulting_follows_the_caller_through_a_miss)
{
	struct tsc_result t = { };
	pthread_t th;
	void *err;

	ASSERT_EQ(0, pthread_create(&th, NULL, miss_in_a_thread, NULL));
	ASSERT_EQ(0, pthread_join(th, &err));
	ASSERT_EQ(NULL, err);
	ASSERT_EQ(0, pthread_create(&th, NULL, miss_with_tsc_faulting, &t));
	ASSERT_EQ(0, pthread_join(th, NULL));
	if (t.err == -EINVAL)
		SKIP(return, "no PR_SET_TSC here");
	ASSERT_EQ(0, t.err);
	EXPECT_EQ(PR_TSC_SIGSEGV, t.mode);
}

/* A child that makes misses until it is killed. */
static pid_t child_missing(void)
{
	pid_t pid = fork();
	int err;

	if (pid)
		return pid;
	for (;;) {
		err = miss_once();
		if (err)
			_exit(err);
	}
}

/* Wait at most @ms for waitpid(@pid, @flags) to report; 0 or -1. */
static int wait_report(pid_t pid, int *status, int flags, int ms)
{
	int i;

	for (i = 0; i < ms * 2; i++) {
		pid_t r = waitpid(pid, status, WNOHANG | flags);

		if (r == pid)
			return 0;
		if (r < 0)
			return -1;
		usleep(500);
	}
	return -1;
}

#define STOP_ROUNDS	150

/* A stop sent at any point of a miss is reported, and so is the continue. */
TEST(group_stop_is_reported_at_any_point_of_a_miss)
{
	int status, round, failed = -1;
	pid_t pid = child_missing();

	ASSERT_LT(0, pid);
	srand(getpid());
	for (round = 0; round < STOP_ROUNDS && failed < 0; round++) {
		usleep(rand() % 3000);
		if (kill(pid, SIGSTOP) ||
		    wait_report(pid, &status, WUNTRACED, 5000) ||
		    !WIFSTOPPED(status))
			failed = round;
		else if (kill(pid, SIGCONT) ||
			 wait_report(pid, &status, WCONTINUED, 5000) ||
			 !WIFCONTINUED(status))
			failed = STOP_ROUNDS + round;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	EXPECT_EQ(-1, failed) {
		TH_LOG("%s not reported in round %d",
		       failed < STOP_ROUNDS ? "stop" : "continue",
		       failed % STOP_ROUNDS);
	}
	/* Killed, not exited: the misses never failed meanwhile. */
	EXPECT_TRUE(WIFSIGNALED(status));
}

#define FREEZE_ROUNDS	60

/* The cgroup v2 freezer reaches frozen at any point of a miss. */
TEST(cgroup_freezer_freezes_at_any_point_of_a_miss)
{
	char cg[64], pidbuf[16];
	int status, round, i, failed = -1;
	pid_t pid;

	if (cgroup2_make("handoff-f", "", cg, sizeof(cg)))
		SKIP(return, "no cgroup2: %s", strerror(errno));
	pid = child_missing();
	ASSERT_LT(0, pid);
	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	ASSERT_EQ(0, write_str(cg, "cgroup.procs", pidbuf));
	srand(getpid());
	for (round = 0; round < FREEZE_ROUNDS && failed < 0; round++) {
		usleep(rand() % 3000);
		if (write_str(cg, "cgroup.freeze", "1")) {
			failed = round;
			break;
		}
		for (i = 0; i < 5000 && read_frozen(cg) != 1; i++)
			usleep(1000);
		if (i == 5000)
			failed = round;
		if (write_str(cg, "cgroup.freeze", "0"))
			failed = round;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	rmdir(cg);
	EXPECT_EQ(-1, failed) {
		TH_LOG("not frozen within 5 s in round %d", failed);
	}
	EXPECT_TRUE(WIFSIGNALED(status));
}

/* What the PI test's two processes share. */
struct pi_shared {
	__u32 lock;
	__u32 owner_ready;
	__u32 done, owner_may_exit;
	long moved, attempts;
	__u32 owner_tid, word_taken;
	long waiter_cpu_ns, waiter_wall_ns;
};

static long clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void pin_to_cpu0(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

/* Own the PI lock, then miss in a loop: chains that sleep 200 us. */
static void pi_owner(struct pi_shared *sh)
{
	struct async_head_user ahu;
	__u64 slots[4];
	struct nap n;

	pin_to_cpu0();
	if (syscall(SYS_futex, &sh->lock, FUTEX_LOCK_PI, 0, NULL, NULL, 0))
		_exit(1);
	sh->owner_tid = gettid();
	__atomic_store_n(&sh->owner_ready, 1, __ATOMIC_RELEASE);
	ring_init(&ahu, slots, 4);
	while (!__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE)) {
		nap_init(&n, 200000);
		if (async_exec(&n.atom, &ahu))
			continue;
		sh->moved++;
		if (ring_next(&ahu, slots, 4) != uptr(&n.atom))
			_exit(2);
	}
	/* Exiting with the lock held would hand it to the waiter. */
	while (!__atomic_load_n(&sh->owner_may_exit, __ATOMIC_ACQUIRE))
		usleep(1000);
	_exit(0);
}

/*
 * Try for the lock with a 50 ms timeout, then let go for 10 ms so that
 * the owner's chains may move in between, on the owner's CPU, SCHED_FIFO.
 */
static void pi_waiter(struct pi_shared *sh)
{
	struct sched_param sp = { .sched_priority = 1 };
	long cpu0, wall0;

	pin_to_cpu0();
	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		_exit(3);
	cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	wall0 = clock_ns(CLOCK_MONOTONIC);
	while (!__atomic_load_n(&sh->done, __ATOMIC_ACQUIRE)) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 50000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		/* The owner never lets go: only a timeout may end this. */
		if (!syscall(SYS_futex, &sh->lock, FUTEX_LOCK_PI, 0, &until,
			     NULL, 0)) {
			sh->word_taken = sh->lock;
			_exit(4);
		}
		sh->attempts++;
		usleep(10000);
	}
	sh->waiter_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	sh->waiter_wall_ns = clock_ns(CLOCK_MONOTONIC) - wall0;
	_exit(0);
}

/*
 * The first handoff fenced a moving TID: a PI waiter that found the owner
 * while its TID moved retried with only cond_resched() until the spare
 * ran, at 100% of a CPU while the spare was stopped. Here the owner
 * misses in a loop while its process is stopped and continued at moments
 * spread over 40 rounds, and a SCHED_FIFO waiter in another process, on
 * the owner's CPU, keeps trying for the lock: it must sleep, not spin.
 */
TEST(pi_waiters_sleep_while_the_owner_misses_and_stops)
{
	struct pi_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t owner, waiter;
	int i, status;

	ASSERT_NE(MAP_FAILED, sh);
	owner = fork();
	if (!owner)
		pi_owner(sh);
	ASSERT_LT(0, owner);
	while (!__atomic_load_n(&sh->owner_ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	waiter = fork();
	if (!waiter)
		pi_waiter(sh);
	ASSERT_LT(0, waiter);
	for (i = 0; i < 40; i++) {
		usleep(10000 + (i % 7) * 3000);
		kill(owner, SIGSTOP);
		usleep(20000 + (i % 5) * 7000);
		kill(owner, SIGCONT);
	}
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, wait_child(waiter, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	__atomic_store_n(&sh->owner_may_exit, 1, __ATOMIC_RELEASE);
	kill(owner, SIGCONT);
	ASSERT_EQ(0, wait_child(owner, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	TH_LOG("owner: %ld chains moved; waiter: %ld attempts, %ld ms of CPU in %ld ms",
	       sh->moved, sh->attempts, sh->waiter_cpu_ns / 1000000,
	       sh->waiter_wall_ns / 1000000);
	if (sh->word_taken)
		TH_LOG("the waiter took the lock of owner %u: word 0x%x, waiter %d",
		       sh->owner_tid, sh->word_taken, waiter);
	EXPECT_LT(0, sh->moved);
	EXPECT_LT(0, sh->attempts);
	/* Under 5% of the wall time. */
	EXPECT_LT(sh->waiter_cpu_ns * 20, sh->waiter_wall_ns);
	munmap(sh, sizeof(*sh));
}

TEST_HARNESS_MAIN
