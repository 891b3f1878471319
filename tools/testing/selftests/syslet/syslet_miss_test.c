// SPDX-License-Identifier: GPL-2.0
/*
 * Cache misses: a chain that blocks moves to a spare thread, async_exec()
 * returns 0 to a caller whose identity is intact, and the completion
 * arrives in the ring exactly once. Blocking is deterministic: an empty
 * pipe or socket that the caller itself fills after async_exec() has
 * returned, a futex it wakes, a timer, or an O_DIRECT read of a null_blk
 * disk that completes 50 ms late.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/rseq.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "../kselftest_harness.h"
#include "syslet_test.h"

TEST(blocked_chain_returns_zero_and_completes_once)
{
	struct async_head_user ahu;
	struct pipe_read pr;
	__u64 slots[8];

	ASSERT_EQ(0, pipe_read_init(&pr, 0));
	ring_init(&ahu, slots, 8);
	ASSERT_EQ(0, async_exec(&pr.atom, &ahu));
	EXPECT_EQ(SENTINEL, pr.ret);
	EXPECT_EQ(0, ahu.kernel_ring_idx);

	ASSERT_EQ(1, write(pr.fds[1], "x", 1));
	ASSERT_EQ(1, async_wait(1, 0, &ahu, &ten_s));
	EXPECT_EQ(uptr(&pr.atom), slots[0]);
	EXPECT_EQ(1, ahu.kernel_ring_idx);
	EXPECT_EQ(1, pr.ret);
	EXPECT_EQ('x', pr.data[0]);
	EXPECT_EQ(0, ahu.sync_chains);
	/* Nothing more arrives: more wanted than there are times out. */
	EXPECT_EQ(-1, async_wait(2, 0, &ahu, &ten_ms));
	EXPECT_EQ(ETIME, errno);
	EXPECT_EQ(0, slots[1]);
	pipe_read_fini(&pr);
}

static long async_exec_keeping_xmm8(struct syslet_uatom *atom,
				    struct async_head_user *ahu,
				    __u64 in, __u64 *out)
{
	long ret;

	asm volatile("movq %[in], %%xmm8\n\t"
		     "syscall\n\t"
		     "movq %%xmm8, %[out]"
		     : "=a" (ret), [out] "=r" (*out)
		     : "0" ((long)__NR_async_exec), "D" (atom), "S" (ahu),
		       [in] "r" (in)
		     : "rcx", "r11", "memory", "xmm8");
	return ret;
}

static unsigned long long start_time_of(pid_t tid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	p = proc_stat_fields(path, buf, sizeof(buf));
	/* Field 22, starttime; p is at field 3. */
	for (i = 3; p && i < 22; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		sscanf(p, "%llu", &v);
	return v;
}

static __thread int tls_value;

TEST(identity_follows_the_head)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) }, ss2;
	struct robust_list_head *robust, *robust2;
	unsigned long long start = start_time_of(gettid());
	pid_t tid = gettid(), pid = getpid(), ppid = getppid();
	struct rseq *rs = (void *)((char *)__builtin_thread_pointer() +
				   __rseq_offset);
	char comm[16] = "", proc_comm[32] = "", path[64];
	size_t robust_len, robust_len2;
	struct async_head_user ahu;
	sigset_t mask, mask2;
	int *tls_addr = &tls_value;
	struct pipe_read pr;
	__u64 slots[8], xmm;
	int pdeath = 0, err, fd;
	long ret;

	ASSERT_EQ(0, pipe_read_init(&pr, 0));
	ring_init(&ahu, slots, 8);
	ASSERT_EQ(0, prctl(PR_SET_NAME, "syslet-head"));
	ASSERT_EQ(0, prctl(PR_SET_PDEATHSIG, SIGUSR2));
	ASSERT_EQ(0, sigaltstack(&ss, NULL));
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &mask, NULL));
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, NULL, &mask));
	ASSERT_EQ(0, syscall(SYS_get_robust_list, 0, &robust, &robust_len));
	if (__rseq_size) {
		ASSERT_EQ(-1, syscall(__NR_rseq, rs, sizeof(*rs), 0, RSEQ_SIG));
		ASSERT_EQ(EBUSY, errno);
	}
	tls_value = 42;
	/* Not a CPU: only an rseq update on the way out replaces it. */
	if (__rseq_size)
		rs->cpu_id = 0xfffffff0;

	errno = 77;
	ret = async_exec_keeping_xmm8(&pr.atom, &ahu, 0x0123456789abcdefULL,
				      &xmm);
	err = errno;
	ASSERT_EQ(0, ret);
	EXPECT_EQ(0x0123456789abcdefULL, xmm);
	EXPECT_EQ(77, err);
	EXPECT_EQ(tid, gettid());
	EXPECT_EQ(pid, getpid());
	EXPECT_EQ(ppid, getppid());
	EXPECT_EQ((uintptr_t)tls_addr, (uintptr_t)&tls_value);
	EXPECT_EQ(42, tls_value);
	EXPECT_EQ(start, start_time_of(gettid()));
	ASSERT_EQ(0, prctl(PR_GET_NAME, comm));
	EXPECT_STREQ("syslet-head", comm);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, proc_comm, sizeof(proc_comm) - 1));
	close(fd);
	EXPECT_STREQ("syslet-head\n", proc_comm);
	ASSERT_EQ(0, prctl(PR_GET_PDEATHSIG, &pdeath));
	EXPECT_EQ(SIGUSR2, pdeath);
	ASSERT_EQ(0, sigaltstack(NULL, &ss2));
	EXPECT_EQ((uintptr_t)altstack, (uintptr_t)ss2.ss_sp);
	EXPECT_EQ(sizeof(altstack), ss2.ss_size);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, NULL, &mask2));
	/* The kernel's sigset_t is the first 64 bits of glibc's. */
	EXPECT_EQ(((unsigned long *)&mask)[0], ((unsigned long *)&mask2)[0]);
	EXPECT_TRUE(sigismember(&mask2, SIGUSR1));
	ASSERT_EQ(0, syscall(SYS_get_robust_list, 0, &robust2, &robust_len2));
	EXPECT_EQ((uintptr_t)robust, (uintptr_t)robust2);
	EXPECT_EQ(robust_len, robust_len2);
	/* Still registered (EBUSY), and updated on the way out. */
	if (__rseq_size) {
		EXPECT_EQ(-1, syscall(__NR_rseq, rs, sizeof(*rs), 0,
				      RSEQ_SIG));
		EXPECT_EQ(EBUSY, errno);
		EXPECT_GT(1024, rs->cpu_id);
	}

	ASSERT_EQ(1, write(pr.fds[1], "y", 1));
	EXPECT_EQ(uptr(&pr.atom), ring_next(&ahu, slots, 8));
	pipe_read_fini(&pr);
}

/* A thread that is not the leader misses, then exits through pthread. */
static void *miss_in_thread(void *arg)
{
	struct async_head_user ahu;
	pid_t tid = gettid();
	struct pipe_read pr;
	__u64 slots[4];
	long ok = 0;

	if (pipe_read_init(&pr, 0))
		return NULL;
	ring_init(&ahu, slots, 4);
	if (async_exec(&pr.atom, &ahu) == 0 && gettid() == tid &&
	    write(pr.fds[1], "z", 1) == 1 &&
	    ring_next(&ahu, slots, 4) == uptr(&pr.atom) && pr.ret == 1)
		ok = 1;
	pipe_read_fini(&pr);
	return (void *)ok;
}

TEST(thread_misses_and_is_joined)
{
	struct timespec deadline;
	pthread_t t;
	void *ok = NULL;

	ASSERT_EQ(0, pthread_create(&t, NULL, miss_in_thread, NULL));
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	/* glibc waits for clear_child_tid: it must follow the thread. */
	ASSERT_EQ(0, pthread_timedjoin_np(t, &ok, &deadline));
	EXPECT_EQ((void *)1, ok);
}

/* Fork a child that misses in its leader, then runs @then. */
static pid_t child_after_miss(void (*then)(void))
{
	pid_t pid = fork();
	struct async_head_user ahu;
	struct pipe_read pr;
	__u64 slots[4];

	if (pid)
		return pid;
	if (pipe_read_init(&pr, 0))
		_exit(100);
	ring_init(&ahu, slots, 4);
	if (async_exec(&pr.atom, &ahu) != 0 || gettid() != getpid())
		_exit(101);
	if (write(pr.fds[1], "c", 1) != 1 ||
	    ring_next(&ahu, slots, 4) != uptr(&pr.atom))
		_exit(102);
	then();
	_exit(103);
}

static void exit_7(void)
{
	exit(7);
}

TEST(parent_waits_for_a_leader_that_missed)
{
	siginfo_t si = { };
	sigset_t chld;
	int status;
	pid_t pid;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &chld, NULL));
	pid = child_after_miss(exit_7);
	ASSERT_LT(0, pid);
	ASSERT_EQ(SIGCHLD, sigwaitinfo(&chld, &si));
	EXPECT_EQ(pid, si.si_pid);
	EXPECT_EQ(CLD_EXITED, si.si_code);
	EXPECT_EQ(7, si.si_status);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(7, WEXITSTATUS(status));
}

/* Run again by exec: succeed when the exec'd leader has TID == PID. */
static void __attribute__((constructor)) exec_check(void)
{
	if (getenv("SYSLET_EXEC_CHECK"))
		_exit(gettid() == getpid() ? 42 : 43);
}

static void exec_self(void)
{
	static char *const argv[] = { "syslet_miss_test", NULL };
	static char *const envp[] = { "SYSLET_EXEC_CHECK=1", NULL };

	execve("/proc/self/exe", argv, envp);
	_exit(104);
}

TEST(exec_after_a_miss)
{
	pid_t pid = child_after_miss(exec_self);
	int status;

	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(42, WEXITSTATUS(status));
}

static void stop_then_exit_8(void)
{
	raise(SIGSTOP);
	_exit(8);
}

/* WUNTRACED and the stop's SIGCHLD name the process by its PID. */
TEST(stop_of_a_leader_that_missed_is_reported_with_its_pid)
{
	siginfo_t si = { };
	int status;
	pid_t pid = child_after_miss(stop_then_exit_8);

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT));
	EXPECT_EQ(pid, si.si_pid);
	EXPECT_EQ(CLD_STOPPED, si.si_code);
	ASSERT_EQ(pid, waitpid(pid, &status, WUNTRACED));
	EXPECT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, kill(pid, SIGCONT));
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(8, WEXITSTATUS(status));
}

static void own_process_group(void)
{
	pid_t me = getpid();

	if (setpgid(me, me) || getpgrp() != me || getpgid(0) != me)
		_exit(20);
	if (setpgid(0, 0) || getpgrp() != me)
		_exit(21);
	_exit(0);
}

static void own_session(void)
{
	pid_t me = getpid();

	if (setsid() != me || getsid(0) != me || getpgrp() != me)
		_exit(22);
	_exit(0);
}

/* setpgid() and setsid() after a miss make groups named by the PID. */
TEST(process_group_and_session_after_a_leader_miss)
{
	int status;
	pid_t pid;

	pid = child_after_miss(own_process_group);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	pid = child_after_miss(own_session);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

static int exit_pipe[2];

static void *exit_9_when_told(void *arg)
{
	char c;

	if (read(exit_pipe[0], &c, 1) != 1)
		_exit(30);
	_exit(9);
}

static void main_thread_exits(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, exit_9_when_told, NULL))
		_exit(31);
	syscall(SYS_exit, 0);
}

/*
 * The main thread exits after a miss while another thread lives on: the
 * process stays visible and signalable by its PID, and its exit is
 * reported with it.
 */
TEST(main_thread_exit_after_a_leader_miss)
{
	siginfo_t si = { };
	char path[64];
	int i, gone = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(exit_pipe));
	pid = child_after_miss(main_thread_exits);
	ASSERT_LT(0, pid);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	/* At every moment around the main thread's exit, and after it. */
	for (i = 0; i < 50; i++) {
		gone += kill(pid, 0) != 0;
		gone += access(path, R_OK) != 0;
		usleep(10000);
	}
	EXPECT_EQ(0, gone);
	ASSERT_EQ(1, write(exit_pipe[1], "x", 1));
	ASSERT_EQ(0, waitid(P_PID, pid, &si, WEXITED));
	EXPECT_EQ(pid, si.si_pid);
	EXPECT_EQ(CLD_EXITED, si.si_code);
	EXPECT_EQ(9, si.si_status);
	close(exit_pipe[0]);
	close(exit_pipe[1]);
}

#define CPU_SAMPLE_MISSES	500

static atomic_int sampling_done;
static long cpu_clock_backwards;

static void *sample_process_cpu_clock(void *arg)
{
	struct timespec last = { }, now;

	while (!atomic_load(&sampling_done)) {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
		if (now.tv_sec < last.tv_sec ||
		    (now.tv_sec == last.tv_sec && now.tv_nsec < last.tv_nsec))
			cpu_clock_backwards++;
		last = now;
	}
	return NULL;
}

/*
 * The process CPU clock sums every thread of the group: misses by the
 * leader must not make it count a thread twice or skip one, which would
 * show as the clock going backwards.
 */
TEST(process_cpu_clock_stays_monotonic_across_leader_misses)
{
	pthread_t t;
	int i, err = 0;

	atomic_store(&sampling_done, 0);
	cpu_clock_backwards = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, sample_process_cpu_clock, NULL));
	for (i = 0; i < CPU_SAMPLE_MISSES && !err; i++)
		err = miss_once();
	atomic_store(&sampling_done, 1);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, err);
	EXPECT_EQ(0, cpu_clock_backwards);
}

static int signals_seen, signals_elsewhere;
static pid_t storm_target;

static void count_signal(int sig)
{
	__atomic_add_fetch(&signals_seen, 1, __ATOMIC_RELAXED);
	if (gettid() != storm_target)
		__atomic_add_fetch(&signals_elsewhere, 1, __ATOMIC_RELAXED);
}

#define STORM_SIGNALS	500

static void *storm(void *arg)
{
	int i;

	for (i = 0; i < STORM_SIGNALS; i++)
		syscall(SYS_tgkill, getpid(), storm_target, SIGRTMIN);
	return NULL;
}

TEST(tgkill_storm_reaches_the_head)
{
	struct sigaction sa = { .sa_handler = count_signal,
				.sa_flags = SA_RESTART };
	struct async_head_user ahu;
	struct pipe_read pr;
	__u64 slots[4];
	pthread_t t;
	int misses = 0, i;

	ASSERT_EQ(0, sigaction(SIGRTMIN, &sa, NULL));
	ASSERT_EQ(0, pipe_read_init(&pr, 0));
	ring_init(&ahu, slots, 4);
	storm_target = gettid();
	ASSERT_EQ(0, pthread_create(&t, NULL, storm, NULL));
	for (i = 0; i < 200; i++) {
		long r = async_exec(&pr.atom, &ahu);

		ASSERT_EQ(1, write(pr.fds[1], "s", 1));
		if (r == 0) {
			misses++;
			ASSERT_EQ(uptr(&pr.atom), ring_next(&ahu, slots, 4));
		} else {
			/* Ran synchronously: only after the write. */
			ASSERT_EQ((long)uptr(&pr.atom), r);
		}
	}
	pthread_join(t, NULL);
	/* Queued real-time signals: every one is delivered, to the head. */
	for (i = 0; i < 1000 && signals_seen < STORM_SIGNALS; i++)
		usleep(10 * 1000);
	EXPECT_EQ(STORM_SIGNALS, signals_seen);
	EXPECT_EQ(0, signals_elsewhere);
	EXPECT_LT(0, misses);
	TH_LOG("%d of 200 chains moved", misses);
	pipe_read_fini(&pr);
}

static int sigpipes_seen;

static void count_sigpipe(int sig)
{
	__atomic_add_fetch(&sigpipes_seen, 1, __ATOMIC_RELAXED);
}

/*
 * An atom that writes to a pipe nobody reads raises SIGPIPE against the
 * task running it. Before a miss that is the caller, as for a direct
 * write(); after one it is the task finishing the chain, and the signal
 * must neither reach the caller nor move to a later caller with the next
 * miss of the same spare. The loop makes 200 misses, each with a SIGPIPE.
 */
TEST(sigpipe_of_an_atom_after_a_miss_stays_off_the_caller)
{
	struct sigaction sa = { .sa_handler = count_sigpipe };
	struct async_head_user ahu;
	struct syslet_uatom w;
	struct pipe_read pr;
	__u64 fd, buf, len = 1;
	__s64 wret;
	__u64 slots[4];
	int broken[2], i;

	ASSERT_EQ(0, sigaction(SIGPIPE, &sa, NULL));
	ASSERT_EQ(0, pipe(broken));
	ASSERT_EQ(0, close(broken[0]));
	fd = broken[1];
	buf = uptr("w");
	ASSERT_EQ(0, pipe_read_init(&pr, 0));
	ATOM3(&w, __NR_write, &wret, NULL, 0, &fd, &buf, &len);
	pr.atom.next = uptr(&w);
	ring_init(&ahu, slots, 4);

	for (i = 0; i < 200; i++) {
		wret = SENTINEL;
		ASSERT_EQ(0, async_exec(&pr.atom, &ahu));
		ASSERT_EQ(1, write(pr.fds[1], "p", 1));
		ASSERT_EQ(uptr(&w), ring_next(&ahu, slots, 4));
		ASSERT_EQ(-EPIPE, wret);
	}
	/* Misses of chains without a write: a kept SIGPIPE would come along. */
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, miss_once());
	EXPECT_EQ(0, sigpipes_seen);

	/* Without a ring the chain runs in the caller, which gets SIGPIPE. */
	ahu = head_plain();
	ASSERT_EQ(1, write(pr.fds[1], "q", 1));
	ASSERT_EQ((long)uptr(&w), async_exec(&pr.atom, &ahu));
	EXPECT_EQ(-EPIPE, wret);
	EXPECT_EQ(1, sigpipes_seen);
	close(broken[1]);
	pipe_read_fini(&pr);
}

TEST(full_ring_of_four_takes_twelve)
{
	struct async_head_user ahu;
	struct pipe_read pr[12];
	int seen[12] = { }, i, j;
	__u64 slots[4];

	ring_init(&ahu, slots, 4);
	for (i = 0; i < 12; i++) {
		ASSERT_EQ(0, pipe_read_init(&pr[i], 0));
		ASSERT_EQ(0, async_exec(&pr[i].atom, &ahu));
	}
	for (i = 0; i < 12; i++)
		ASSERT_EQ(1, write(pr[i].fds[1], "f", 1));
	/* Give the completers time to find the ring full. */
	usleep(100 * 1000);
	EXPECT_EQ(4, ahu.kernel_ring_idx);
	for (i = 0; i < 12; i++) {
		__u64 v = ring_next(&ahu, slots, 4);

		for (j = 0; j < 12; j++)
			if (v == uptr(&pr[j].atom))
				seen[j]++;
	}
	for (i = 0; i < 12; i++) {
		EXPECT_EQ(1, seen[i]);
		EXPECT_EQ(1, pr[i].ret);
		pipe_read_fini(&pr[i]);
	}
	EXPECT_EQ(12, ahu.kernel_ring_idx);
}

/* Two heads with a ring each: every completion lands in its own ring. */
TEST(two_rings_at_once)
{
	struct async_head_user ahu[2];
	struct pipe_read pr[2];
	__u64 slots[2][4];
	int i;

	for (i = 0; i < 2; i++) {
		ring_init(&ahu[i], slots[i], 4);
		ASSERT_EQ(0, pipe_read_init(&pr[i], 0));
		ASSERT_EQ(0, async_exec(&pr[i].atom, &ahu[i]));
	}
	ASSERT_EQ(1, write(pr[1].fds[1], "b", 1));
	EXPECT_EQ(uptr(&pr[1].atom), ring_next(&ahu[1], slots[1], 4));
	ASSERT_EQ(1, write(pr[0].fds[1], "a", 1));
	EXPECT_EQ(uptr(&pr[0].atom), ring_next(&ahu[0], slots[0], 4));
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(1, ahu[i].kernel_ring_idx);
		EXPECT_EQ(0, slots[i][1]);
		EXPECT_EQ(1, pr[i].ret);
		pipe_read_fini(&pr[i]);
	}
}

TEST(socket_and_timer_block_and_complete)
{
	struct __kernel_timespec nap = { .tv_nsec = 20 * 1000 * 1000 };
	struct async_head_user ahu;
	struct syslet_uatom a;
	__u64 clock = CLOCK_MONOTONIC, zero = 0, req = uptr(&nap);
	struct pipe_read sk;
	__s64 ret = SENTINEL;
	__u64 slots[4];

	ring_init(&ahu, slots, 4);
	/* The pipe reader's atom, pointed at a socket instead. */
	ASSERT_EQ(0, pipe_read_init(&sk, 0));
	pipe_read_fini(&sk);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sk.fds));
	sk.fd = sk.fds[0];
	ASSERT_EQ(0, async_exec(&sk.atom, &ahu));
	ASSERT_EQ(1, write(sk.fds[1], "k", 1));
	EXPECT_EQ(uptr(&sk.atom), ring_next(&ahu, slots, 4));
	EXPECT_EQ(1, sk.ret);
	pipe_read_fini(&sk);

	atom_set(&a, __NR_clock_nanosleep, &ret, NULL, 0, &clock, &zero,
		 &req, NULL, NULL, NULL);
	ASSERT_EQ(0, async_exec(&a, &ahu));
	EXPECT_EQ(uptr(&a), ring_next(&ahu, slots, 4));
	EXPECT_EQ(0, ret);
}

#define NULLB "/sys/kernel/config/nullb/syslet"

/*
 * A null_blk disk made through configfs that completes every request 50 ms
 * after it was submitted, from a timer: an O_DIRECT read sleeps for it.
 */
static int slow_disk(void)
{
	static const char *const attrs[][2] = {
		{ "size", "16" }, { "blocksize", "4096" }, { "irqmode", "2" },
		{ "completion_nsec", "50000000" }, { "power", "1" },
	};
	unsigned int i;

	mkdir("/sys/kernel/config", 0755);
	if (access("/sys/kernel/config/nullb", F_OK) &&
	    mount("none", "/sys/kernel/config", "configfs", 0, NULL))
		return -1;
	if (mkdir(NULLB, 0755)) {
		if (errno != EEXIST)
			return -1;
	} else {
		for (i = 0; i < ARRAY_SIZE(attrs); i++)
			if (write_str(NULLB, attrs[i][0], attrs[i][1]))
				return -1;
	}
	return open("/dev/syslet", O_RDONLY | O_DIRECT);
}

TEST(direct_read_of_a_slow_disk_blocks_and_completes)
{
	struct async_head_user ahu;
	struct syslet_uatom a;
	__u64 fd, buf, len = 4096, off = 8192;
	__s64 ret = SENTINEL;
	__u64 slots[4];
	void *page;
	int disk = slow_disk();

	if (disk < 0)
		SKIP(return, "no null_blk through configfs: %s",
		     strerror(errno));
	ASSERT_EQ(0, posix_memalign(&page, 4096, 4096));
	fd = disk;
	buf = uptr(page);
	ring_init(&ahu, slots, 4);
	atom_set(&a, __NR_pread64, &ret, NULL, 0, &fd, &buf, &len, &off,
		 NULL, NULL);
	ASSERT_EQ(0, async_exec(&a, &ahu));
	EXPECT_EQ(SENTINEL, ret);
	EXPECT_EQ(uptr(&a), ring_next(&ahu, slots, 4));
	EXPECT_EQ(4096, ret);
	free(page);
	close(disk);
}

#define MANY	1000

FIXTURE(many) { };
FIXTURE_SETUP(many) { }
FIXTURE_TEARDOWN(many) { }

/* Making a thousand spares takes a while under emulation and KASAN. */
TEST_F_TIMEOUT(many, thousand_chains_outstanding, 240)
{
	static struct syslet_uatom atoms[MANY];
	static __u64 slots[1024];
	static __s64 rets[MANY];
	static int seen[MANY];
	static __u32 word;
	__u64 addr = uptr(&word), op = FUTEX_WAIT, zero = 0;
	struct async_head_user ahu;
	int max_spares, i, got = 0, bad = 0;

	ASSERT_EQ(0, read_int_file(SYSLET_PROC "max_spares", &max_spares));
	ASSERT_EQ(0, write_int_file(SYSLET_PROC "max_spares", MANY + 8));
	ring_init(&ahu, slots, 1024);
	for (i = 0; i < MANY; i++) {
		atom_set(&atoms[i], __NR_futex, &rets[i], NULL, 0,
			 &addr, &op, &zero, NULL, NULL, NULL);
		rets[i] = SENTINEL;
		if (async_exec(&atoms[i], &ahu) != 0)
			break;
	}
	EXPECT_EQ(MANY, i);
	__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &word, FUTEX_WAKE, MANY, NULL, NULL, 0);
	while (got < i) {
		__u64 v = ring_next(&ahu, slots, 1024);
		long k = ((long)v - (long)uptr(atoms)) /
			 (long)sizeof(atoms[0]);

		if (!v)
			break;
		if (k < 0 || k >= i || seen[k]++)
			bad++;
		got++;
	}
	EXPECT_EQ(i, got);
	EXPECT_EQ(0, bad);
	for (i = 0; i < got; i++)
		if (rets[i] != 0 && rets[i] != -EAGAIN)
			bad++;
	EXPECT_EQ(0, bad);
	write_int_file(SYSLET_PROC "max_spares", max_spares);
}

static void no_op(int sig)
{
}

TEST(async_wait_limits_and_signals)
{
	struct sigaction sa = { .sa_handler = no_op };
	struct __kernel_timespec bad_ts = { .tv_nsec = 1000000000 };
	struct async_head_user ahu;
	__u64 slots[4];

	ring_init(&ahu, slots, 4);
	EXPECT_EQ(-1, async_wait(5, 0, &ahu, &ten_ms));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, async_wait(1, 0, &ahu, &bad_ts));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, async_wait(0, 0, &ahu, NULL));
	EXPECT_EQ(-1, async_wait(1, 7, &ahu, &ten_ms));
	EXPECT_EQ(EINVAL, errno);

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	EXPECT_EQ(-1, async_wait(1, 0, &ahu, NULL));
	EXPECT_EQ(EINTR, errno);
}

TEST(flags_async_sync_and_no_complete)
{
	struct async_head_user ahu;
	struct syslet_uatom a;
	struct pipe_read pr;
	__s64 ret = SENTINEL;
	__u64 slots[4];
	int i;

	ring_init(&ahu, slots, 4);
	/* SYSLET_ASYNC: moves before anything blocks. */
	ATOM0(&a, __NR_getppid, &ret, NULL, SYSLET_ASYNC);
	ASSERT_EQ(0, async_exec(&a, &ahu));
	EXPECT_EQ(uptr(&a), ring_next(&ahu, slots, 4));
	EXPECT_EQ(getppid(), ret);

	/* SYSLET_NO_COMPLETE: the result arrives, the ring stays empty. */
	ASSERT_EQ(0, pipe_read_init(&pr, SYSLET_NO_COMPLETE));
	ASSERT_EQ(0, async_exec(&pr.atom, &ahu));
	ASSERT_EQ(1, write(pr.fds[1], "n", 1));
	for (i = 0; i < 1000 && __atomic_load_n(&pr.ret, __ATOMIC_ACQUIRE) ==
	     SENTINEL; i++)
		usleep(1000);
	EXPECT_EQ(1, pr.ret);
	EXPECT_EQ(-1, async_wait(1, ahu.user_ring_idx, &ahu, &ten_ms));
	EXPECT_EQ(ETIME, errno);
	pipe_read_fini(&pr);

	/* SYSLET_SYNC: blocks in the caller, which gets the atom back. */
	ASSERT_EQ(0, pipe_read_init(&pr, SYSLET_SYNC));
	ASSERT_EQ(1, write(pr.fds[1], "s", 1));
	EXPECT_EQ((long)uptr(&pr.atom), async_exec(&pr.atom, &ahu));
	EXPECT_EQ(1, pr.ret);
	pipe_read_fini(&pr);
}

TEST(spare_limit_runs_chains_synchronously_and_counts_them)
{
	struct async_head_user ahu;
	struct syslet_uatom a;
	struct pipe_read pr;
	__s64 ret = SENTINEL;
	int max_spares;
	__u64 slots[4];

	ASSERT_EQ(0, read_int_file(SYSLET_PROC "max_spares", &max_spares));
	ASSERT_EQ(0, write_int_file(SYSLET_PROC "max_spares", 1));
	ring_init(&ahu, slots, 4);
	ASSERT_EQ(0, pipe_read_init(&pr, 0));
	ASSERT_EQ(0, async_exec(&pr.atom, &ahu));
	/* The one spare there is was used: this chain runs synchronously. */
	ATOM0(&a, __NR_getppid, &ret, NULL, 0);
	EXPECT_EQ((long)uptr(&a), async_exec(&a, &ahu));
	EXPECT_EQ(getppid(), ret);
	EXPECT_EQ(1, ahu.sync_chains);
	/* ...unless the head asks for -EAGAIN instead: then nothing runs. */
	ret = SENTINEL;
	ahu.flags = SYSLET_AHU_EAGAIN_AT_LIMIT;
	EXPECT_EQ(-1, async_exec(&a, &ahu));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(SENTINEL, ret);
	EXPECT_EQ(1, ahu.sync_chains);
	ASSERT_EQ(1, write(pr.fds[1], "l", 1));
	EXPECT_EQ(uptr(&pr.atom), ring_next(&ahu, slots, 4));
	pipe_read_fini(&pr);
	write_int_file(SYSLET_PROC "max_spares", max_spares);
}

TEST(seccomp_applies_after_a_miss)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 33),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = filter };
	struct async_head_user ahu;
	struct syslet_uatom a;
	struct pipe_read pr;
	__s64 ret = SENTINEL;
	__u64 slots[4];

	ASSERT_EQ(0, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	ASSERT_EQ(0, prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog));
	ring_init(&ahu, slots, 4);
	ASSERT_EQ(0, pipe_read_init(&pr, 0));
	ATOM0(&a, __NR_getppid, &ret, NULL, 0);
	pr.atom.next = uptr(&a);
	ASSERT_EQ(0, async_exec(&pr.atom, &ahu));
	ASSERT_EQ(1, write(pr.fds[1], "p", 1));
	EXPECT_EQ(uptr(&a), ring_next(&ahu, slots, 4));
	EXPECT_EQ(-33, ret);
	/* And the caller is still under the filter too. */
	EXPECT_EQ(-1, syscall(__NR_getppid));
	EXPECT_EQ(33, errno);
	pipe_read_fini(&pr);
}

/*
 * Run in a child, as root: a chain read(pipe) -> openat(@path) blocks in
 * its first atom, the caller drops every privilege with setresuid(), then
 * fills the pipe. Returns the openat atom's result through the exit code:
 * 0 if it failed with EACCES, 1 if it opened the file, 2+ on a setup
 * failure.
 */
static int open_after_privilege_drop(const char *path)
{
	struct async_head_user ahu;
	struct syslet_uatom open_atom;
	struct pipe_read pr;
	__u64 dirfd = (__u64)(long)AT_FDCWD, name = uptr(path), oflags = O_RDONLY;
	__s64 ret = SENTINEL;
	__u64 slots[4];

	ring_init(&ahu, slots, 4);
	if (pipe_read_init(&pr, 0))
		return 2;
	ATOM3(&open_atom, __NR_openat, &ret, NULL, 0, &dirfd, &name, &oflags);
	pr.atom.next = uptr(&open_atom);
	if (async_exec(&pr.atom, &ahu) != 0)
		return 3;
	/* The raw call: this thread only, as glibc's broadcast ends up. */
	if (syscall(__NR_setresuid, 65534, 65534, 65534))
		return 4;
	if (write(pr.fds[1], "u", 1) != 1)
		return 5;
	if (ring_next(&ahu, slots, 4) != uptr(&open_atom))
		return 6;
	return ret == -EACCES ? 0 : 1;
}

/*
 * A chain that blocked before a privilege drop must not run its later
 * atoms with the privileges dropped: the caller could steer them through
 * their arg_ptr words (here the path) after the drop.
 */
TEST(atoms_after_a_miss_take_the_callers_new_credentials)
{
	char path[] = "/tmp/syslet-root-only-XXXXXX";
	int fd, status;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to drop privileges");
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, chmod(path, 0600));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(open_after_privilege_drop(path));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	unlink(path);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("%s", WEXITSTATUS(status) == 1 ?
		       "the atom opened a root-only file after the drop" :
		       "setup failed");
	}
}

/*
 * A filter installed with SECCOMP_FILTER_FLAG_TSYNC after a miss reaches
 * the task finishing the chain, as it reaches every thread.
 */
TEST(seccomp_tsync_after_a_miss_reaches_the_chain)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 34),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = filter };
	struct async_head_user ahu;
	struct syslet_uatom a;
	struct pipe_read pr;
	__s64 ret = SENTINEL;
	__u64 slots[4];

	ASSERT_EQ(0, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	ring_init(&ahu, slots, 4);
	ASSERT_EQ(0, pipe_read_init(&pr, 0));
	ATOM0(&a, __NR_getppid, &ret, NULL, 0);
	pr.atom.next = uptr(&a);
	ASSERT_EQ(0, async_exec(&pr.atom, &ahu));
	ASSERT_EQ(0, syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
			     SECCOMP_FILTER_FLAG_TSYNC, &prog));
	ASSERT_EQ(1, write(pr.fds[1], "t", 1));
	EXPECT_EQ(uptr(&a), ring_next(&ahu, slots, 4));
	EXPECT_EQ(-34, ret);
	pipe_read_fini(&pr);
}

/*
 * A PI lock taken by an atom after a miss would carry the TID of the task
 * finishing the chain, not the caller's: in a chain that may move, every
 * PI operation is refused; without a ring the same atom takes the lock.
 */
TEST(pi_futex_atoms_are_refused_in_chains_that_may_move)
{
	static const int pi_ops[] = {
		FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_TRYLOCK_PI,
		FUTEX_UNLOCK_PI, FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI,
	};
	struct async_head_user ahu;
	struct syslet_uatom a;
	__u32 word = 0, other = 0;
	__u64 addr = uptr(&word), op, zero = 0, addr2 = uptr(&other);
	__s64 ret;
	__u64 slots[4];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pi_ops); i++) {
		op = pi_ops[i] | FUTEX_PRIVATE_FLAG;
		ret = SENTINEL;
		atom_set(&a, __NR_futex, &ret, NULL, 0, &addr, &op, &zero,
			 &zero, &addr2, &zero);
		ring_init(&ahu, slots, 4);
		ASSERT_EQ((long)uptr(&a), async_exec(&a, &ahu));
		EXPECT_EQ(-EINVAL, ret);
		EXPECT_EQ(0, word);
	}
	/* Nothing moved: the refusals were not cache misses. */
	EXPECT_EQ(0, ahu.kernel_ring_idx);

	op = FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG;
	ahu = head_plain();
	atom_set(&a, __NR_futex, &ret, NULL, 0, &addr, &op, &zero, &zero,
		 NULL, NULL);
	ASSERT_EQ((long)uptr(&a), async_exec(&a, &ahu));
	EXPECT_EQ(0, ret);
	EXPECT_EQ(gettid(), word);
	EXPECT_EQ(0, syscall(__NR_futex, &word,
			     FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG, 0, NULL,
			     NULL, 0));
	EXPECT_EQ(0, word);
}

/*
 * A spare runs no user code of its own and becomes a caller at its next
 * takeover: a tracer attached to it would be tracing that caller. Every
 * spare of a process that misses refuses PTRACE_ATTACH with EPERM, and
 * the caller is never found traced over the misses that follow.
 */
TEST(spares_cannot_be_traced)
{
	int ready[2], go[2], status, refused = 0, attached = 0, i;
	struct dirent *d;
	char path[64];
	pid_t pid;
	DIR *dir;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char c;

		for (i = 0; i < 5; i++)
			if (miss_once())
				_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		for (i = 0; i < 100; i++) {
			if (miss_once())
				_exit(3);
			if (proc_status_int("TracerPid") != 0)
				_exit(4);
		}
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], path, 1));
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	ASSERT_NE(NULL, dir);
	while ((d = readdir(dir))) {
		pid_t tid = atoi(d->d_name);
		char comm[32] = "";
		FILE *f;

		if (tid <= 0 || tid == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		if (strcmp(comm, "syslet\n"))
			continue;
		if (ptrace(PTRACE_ATTACH, tid, 0, 0) == 0) {
			attached++;
			waitpid(tid, &status, __WALL);
			ptrace(PTRACE_DETACH, tid, 0, 0);
		} else {
			EXPECT_EQ(EPERM, errno);
			refused++;
		}
	}
	closedir(dir);
	EXPECT_EQ(0, attached);
	EXPECT_LT(0, refused);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* A child with a chain blocked in a pipe read, the pipe's writer kept. */
static pid_t child_blocked(int *writer, void (*then)(void))
{
	struct async_head_user ahu;
	struct pipe_read pr;
	__u64 slots[4];
	pid_t pid;

	if (pipe_read_init(&pr, 0))
		return -1;
	pid = fork();
	if (pid) {
		*writer = pr.fds[1];
		close(pr.fds[0]);
		return pid;
	}
	ring_init(&ahu, slots, 4);
	if (async_exec(&pr.atom, &ahu) != 0)
		_exit(100);
	if (then)
		then();
	/* Completed after the parent wrote: the atom read one byte. */
	if (ring_next(&ahu, slots, 4) != uptr(&pr.atom))
		_exit(101);
	_exit(pr.ret == 1 ? 0 : 102);
}

TEST(stop_and_continue_do_not_fail_a_blocked_atom)
{
	int writer, status;
	pid_t pid = child_blocked(&writer, NULL);

	ASSERT_LT(0, pid);
	usleep(100 * 1000);
	ASSERT_EQ(0, kill(pid, SIGSTOP));
	ASSERT_EQ(pid, waitpid(pid, &status, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, kill(pid, SIGCONT));
	ASSERT_EQ(1, write(writer, "c", 1));
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(writer);
}

TEST(ptrace_attach_does_not_fail_a_blocked_atom)
{
	int writer, status;
	pid_t pid = child_blocked(&writer, NULL);

	ASSERT_LT(0, pid);
	usleep(100 * 1000);
	ASSERT_EQ(0, ptrace(PTRACE_ATTACH, pid, 0, 0));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, ptrace(PTRACE_DETACH, pid, 0, 0));
	ASSERT_EQ(1, write(writer, "a", 1));
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(writer);
}

static void exit_group_5(void)
{
	syscall(SYS_exit_group, 5);
}

static void sys_exit_6(void)
{
	syscall(SYS_exit, 6);
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

/* The head leaves with the atom still blocked: the process must end. */
static void expect_end(struct __test_metadata *_metadata,
		       void (*then)(void), int code, int sig)
{
	int writer, status;
	pid_t pid = child_blocked(&writer, then);

	ASSERT_LT(0, pid);
	if (sig) {
		usleep(100 * 1000);
		ASSERT_EQ(0, kill(pid, sig));
	}
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	if (sig) {
		ASSERT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(sig, WTERMSIG(status));
	} else {
		ASSERT_TRUE(WIFEXITED(status));
		EXPECT_EQ(code, WEXITSTATUS(status));
	}
	close(writer);
}

TEST(exit_group_with_an_atom_blocked)
{
	expect_end(_metadata, exit_group_5, 5, 0);
}

TEST(last_real_thread_exits_with_an_atom_blocked)
{
	expect_end(_metadata, sys_exit_6, 6, 0);
}

TEST(sigkill_with_an_atom_blocked)
{
	expect_end(_metadata, sleep_forever, 0, SIGKILL);
}

TEST(core_dump_with_an_atom_blocked)
{
	int writer, status;
	pid_t pid = child_blocked(&writer, dump_core);

	ASSERT_LT(0, pid);
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGABRT, WTERMSIG(status));
	EXPECT_TRUE(WCOREDUMP(status));
	close(writer);
}

/* Frozen and thawed with its atom blocked, the atom still reads its byte. */
TEST(cgroup_freezer_does_not_fail_a_blocked_atom)
{
	char cg[64], pidbuf[16];
	int writer, status, i, frozen = 0;
	pid_t pid;

	if (cgroup2_make("miss-f", "", cg, sizeof(cg)))
		SKIP(return, "no cgroup2: %s", strerror(errno));
	pid = child_blocked(&writer, NULL);
	ASSERT_LT(0, pid);
	usleep(100 * 1000);
	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	ASSERT_EQ(0, write_str(cg, "cgroup.procs", pidbuf));
	ASSERT_EQ(0, write_str(cg, "cgroup.freeze", "1"));
	for (i = 0; i < 500 && !frozen; i++) {
		frozen = read_frozen(cg) == 1;
		usleep(10 * 1000);
	}
	EXPECT_TRUE(frozen);
	ASSERT_EQ(0, write_str(cg, "cgroup.freeze", "0"));
	ASSERT_EQ(1, write(writer, "t", 1));
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(writer);
	rmdir(cg);
}

/* In a child: a uid with RLIMIT_NPROC reached can make no spare. */
static int nproc_limited_chain(void)
{
	struct rlimit one = { 1, 1 };

	if (setrlimit(RLIMIT_NPROC, &one) ||
	    setresuid(65534, 65534, 65534))
		return 100;
	return sync_chain_counted();
}

TEST(rlimit_nproc_bounds_spares)
{
	int status;
	pid_t pid = fork();

	if (!pid)
		_exit(nproc_limited_chain());
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST(pids_cgroup_bounds_spares)
{
	char cg[64], pidbuf[16];
	int status;
	pid_t pid;

	if (cgroup2_make("miss-p", "+pids", cg, sizeof(cg)))
		SKIP(return, "no pids controller: %s", strerror(errno));
	ASSERT_EQ(0, write_str(cg, "pids.max", "1"));
	pid = fork();
	if (!pid) {
		snprintf(pidbuf, sizeof(pidbuf), "%d", getpid());
		if (write_str(cg, "cgroup.procs", pidbuf))
			_exit(100);
		_exit(sync_chain_counted());
	}
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	rmdir(cg);
}

TEST_HARNESS_MAIN
