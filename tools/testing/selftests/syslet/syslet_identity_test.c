// SPDX-License-Identifier: GPL-2.0
/*
 * The identity table of Documentation/userspace-api/syslet.rst, row by
 * row, for the rows syslet_miss_test.c does not check: what a thread may
 * change on its own (credentials, file table, cwd, namespaces, cgroup,
 * scheduling, affinity, speculation control, TOMOYO's domain) is what it
 * has after a miss, even when a spare made before the change is parked;
 * children and their pdeath signal, and a POSIX timer aimed at the TID,
 * follow the head; the refused cases run synchronously and are counted;
 * the rows that may differ behave as the table says.
 *
 * "Must already be the same" is tested the hard way: a first miss leaves a
 * spare parked, the thread then changes the attribute, and a second miss
 * must not hand the caller to that spare.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/ioprio.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>

#include "../kselftest_harness.h"
#include "syslet_test.h"

/* A first miss leaves the spare it used parked, made before any change. */
#define PARK_A_SPARE() ASSERT_EQ(0, miss_once())

TEST(credentials_must_match)
{
	PARK_A_SPARE();
	/* The raw call changes this thread only, as glibc's would not. */
	ASSERT_EQ(0, syscall(SYS_setresuid, -1, 4321, -1));
	ASSERT_EQ(0, miss_once());
	EXPECT_EQ(4321, syscall(SYS_geteuid));
	EXPECT_EQ(0, syscall(SYS_getuid));
}

TEST(file_table_must_match)
{
	int fd = dup(0);

	ASSERT_LE(0, fd);
	PARK_A_SPARE();
	ASSERT_EQ(0, unshare(CLONE_FILES));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, miss_once());
	/* Still open in the table the parked spare shares. */
	EXPECT_EQ(-1, fcntl(fd, F_GETFD));
	EXPECT_EQ(EBADF, errno);
}

TEST(cwd_must_match)
{
	char cwd[64];

	ASSERT_EQ(0, chdir("/"));
	PARK_A_SPARE();
	ASSERT_EQ(0, unshare(CLONE_FS));
	ASSERT_EQ(0, chdir("/tmp"));
	ASSERT_EQ(0, miss_once());
	ASSERT_NE(NULL, getcwd(cwd, sizeof(cwd)));
	EXPECT_STREQ("/tmp", cwd);
}

TEST(namespaces_must_match)
{
	struct utsname u;

	PARK_A_SPARE();
	if (unshare(CLONE_NEWUTS))
		SKIP(return, "no UTS namespaces: %s", strerror(errno));
	ASSERT_EQ(0, sethostname("syslet-ns", 9));
	ASSERT_EQ(0, miss_once());
	ASSERT_EQ(0, uname(&u));
	EXPECT_STREQ("syslet-ns", u.nodename);
}

/* The first line of @path, without its newline; -1 if it cannot be read. */
static int read_first_line(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* A threaded subtree lets one thread move without its process. */
TEST(cgroup_must_match)
{
	char dom[64], sub[80], id[16], line[128];

	if (cgroup2_make("t", "", dom, sizeof(dom)))
		SKIP(return, "no cgroup2: %s", strerror(errno));
	snprintf(sub, sizeof(sub), "%s/b", dom);
	ASSERT_EQ(0, mkdir(sub, 0755) && errno != EEXIST);
	ASSERT_EQ(0, write_str(sub, "cgroup.type", "threaded"));
	snprintf(id, sizeof(id), "%d", getpid());
	ASSERT_EQ(0, write_str(dom, "cgroup.procs", id));
	PARK_A_SPARE();
	snprintf(id, sizeof(id), "%d", gettid());
	ASSERT_EQ(0, write_str(sub, "cgroup.threads", id));
	ASSERT_EQ(0, miss_once());
	/* The cgroup v2 line. */
	ASSERT_EQ(0, read_first_line("/proc/thread-self/cgroup", line,
				     sizeof(line)));
	EXPECT_STREQ("0::/t/b", line);
}

TEST(scheduling_policy_and_nice_must_match)
{
	struct sched_param sp = { 0 };

	PARK_A_SPARE();
	ASSERT_EQ(0, sched_setscheduler(0, SCHED_BATCH, &sp));
	ASSERT_EQ(0, setpriority(PRIO_PROCESS, 0, 7));
	ASSERT_EQ(0, miss_once());
	EXPECT_EQ(SCHED_BATCH, sched_getscheduler(0));
	errno = 0;
	EXPECT_EQ(7, getpriority(PRIO_PROCESS, 0));
	EXPECT_EQ(0, errno);
}

TEST(affinity_must_match)
{
	cpu_set_t set, got;
	int cpu = sysconf(_SC_NPROCESSORS_ONLN) - 1;

	PARK_A_SPARE();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	ASSERT_EQ(0, miss_once());
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(got), &got));
	EXPECT_TRUE(CPU_EQUAL(&set, &got));
	EXPECT_EQ(cpu, sched_getcpu());
}

TEST(speculation_control_must_match)
{
	int state = prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS,
			  0, 0, 0);

	if (state < 0 || !(state & PR_SPEC_PRCTL))
		SKIP(return, "store bypass control not per task here");
	PARK_A_SPARE();
	ASSERT_EQ(0, prctl(PR_SET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS,
			   PR_SPEC_DISABLE, 0, 0));
	ASSERT_EQ(0, miss_once());
	EXPECT_EQ(PR_SPEC_PRCTL | PR_SPEC_DISABLE,
		  prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0,
			0));
}

static pid_t child_pid;

static void pdeath_usr1(int sig)
{
	_exit(9);
}

/*
 * A thread forks a child that asks for SIGUSR1 when that thread dies, and
 * misses. The child is the head's: waitpid(__WNOTHREAD) sees it, and when
 * the head exits the child gets its signal, although the task that forked
 * it lives on as a spare.
 */
static void *fork_miss_exit(void *arg)
{
	int *ok = arg;
	int status, ready[2];
	char c;

	if (pipe(ready))
		return NULL;
	child_pid = fork();
	if (!child_pid) {
		signal(SIGUSR1, pdeath_usr1);
		prctl(PR_SET_PDEATHSIG, SIGUSR1);
		/* Asked for before its parent thread can have died. */
		if (write(ready[1], "r", 1) != 1)
			_exit(7);
		sleep(10);
		_exit(8);
	}
	close(ready[1]);
	if (child_pid < 0 || read(ready[0], &c, 1) != 1 || miss_once())
		return NULL;
	close(ready[0]);
	*ok = waitpid(child_pid, &status, WNOHANG | __WNOTHREAD) == 0;
	return NULL;
}

#define TOMOYO "/sys/kernel/security/tomoyo"

/*
 * Per-task LSM state: TOMOYO keeps a domain per task, and a thread the
 * policy allows may move itself to another (self_domain). A spare parked
 * before that keeps the old domain, and the caller must not go on in it.
 * TOMOYO rides in the debug guest (lsm=...,tomoyo), without a policy
 * loaded, so that root may write the one rule this needs.
 */
TEST(lsm_domain_must_match)
{
	char domain[512], moved[600], policy[1300], now[600];

	/* Mounted already, or not: the read below tells. */
	mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	if (read_first_line(TOMOYO "/self_domain", domain, sizeof(domain)))
		SKIP(return, "TOMOYO is not active");
	snprintf(moved, sizeof(moved), "%s /syslet-moved", domain);
	snprintf(policy, sizeof(policy),
		 "%s\ntask manual_domain_transition %s\n", domain, moved);
	ASSERT_EQ(0, write_str(TOMOYO, "domain_policy", policy));

	PARK_A_SPARE();
	ASSERT_EQ(0, write_str(TOMOYO, "self_domain", moved));
	ASSERT_EQ(0, read_first_line(TOMOYO "/self_domain", now, sizeof(now)));
	ASSERT_STREQ(moved, now);
	ASSERT_EQ(0, miss_once());
	ASSERT_EQ(0, read_first_line(TOMOYO "/self_domain", now, sizeof(now)));
	EXPECT_STREQ(moved, now);
}

TEST(children_and_their_pdeath_signal_follow_the_head)
{
	int ok = 0, status;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, fork_miss_exit, &ok));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_LT(0, child_pid);
	EXPECT_EQ(1, ok);
	ASSERT_EQ(0, wait_child(child_pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(9, WEXITSTATUS(status));
}

static int timer_signals, timer_elsewhere;
static pid_t timer_target;

static void count_timer_signal(int sig)
{
	__atomic_add_fetch(&timer_signals, 1, __ATOMIC_RELAXED);
	if (gettid() != timer_target)
		__atomic_add_fetch(&timer_elsewhere, 1, __ATOMIC_RELAXED);
}

/*
 * A POSIX timer aimed at the head's TID fires all through 200 misses. Its
 * one preallocated signal, if ever queued on the task that gave the TID
 * away, would stay there and the timer would never be heard from again.
 */
TEST(thread_timer_keeps_reaching_the_head)
{
	struct sigaction sa = { .sa_handler = count_timer_signal,
				.sa_flags = SA_RESTART };
	struct itimerspec its = { .it_value.tv_nsec = 1000 * 1000,
				  .it_interval.tv_nsec = 1000 * 1000 };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID,
				.sigev_signo = SIGRTMIN + 1 };
	int i, before, misses = 0;
	timer_t timer;

	ASSERT_EQ(0, sigaction(SIGRTMIN + 1, &sa, NULL));
	timer_target = gettid();
	/* glibc 2.36 has no sigev_notify_thread_id yet. */
	sev._sigev_un._tid = timer_target;
	ASSERT_EQ(0, timer_create(CLOCK_MONOTONIC, &sev, &timer));
	ASSERT_EQ(0, timer_settime(timer, 0, &its, NULL));
	for (i = 0; i < 200; i++)
		misses += miss_once() == 0;
	EXPECT_EQ(200, misses);
	before = __atomic_load_n(&timer_signals, __ATOMIC_RELAXED);
	for (i = 0; i < 1000; i++) {
		if (__atomic_load_n(&timer_signals, __ATOMIC_RELAXED) >
		    before + 2)
			break;
		usleep(10 * 1000);
	}
	timer_delete(timer);
	EXPECT_LT(before + 2, timer_signals);
	EXPECT_EQ(0, timer_elsewhere);
}

static __u32 pi_lock;
static pid_t pi_waiter;

static void *contend_pi_lock(void *arg)
{
	__atomic_store_n(&pi_waiter, gettid(), __ATOMIC_RELEASE);
	if (syscall(SYS_futex, &pi_lock, FUTEX_LOCK_PI, 0, NULL, NULL, 0))
		return NULL;
	syscall(SYS_futex, &pi_lock, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
	return (void *)1;
}

/* Whether thread @tid of this process is asleep (state S or D). */
static bool task_sleeping(pid_t tid)
{
	char path[64], buf[256], *state;
	int fd, n;

	if (!tid)
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	state = strrchr(buf, ')');
	return state && (state[2] == 'S' || state[2] == 'D');
}

/*
 * A PI futex the kernel knows the caller owns: one with a waiter. (An
 * uncontended one is only the TID in user memory, which follows the head.)
 */
TEST(owning_a_contended_pi_futex_refuses_the_handoff)
{
	void *ok = NULL;
	pthread_t t;
	long r;
	int i;

	ASSERT_EQ(0, syscall(SYS_futex, &pi_lock, FUTEX_LOCK_PI, 0, NULL,
			     NULL, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, contend_pi_lock, NULL));
	/*
	 * FUTEX_WAITERS is set before the waiter attaches its pi_state to
	 * the owner (futex_lock_pi_atomic()), so wait until it sleeps.
	 */
	for (i = 0; i < 1000 && !(__atomic_load_n(&pi_lock, __ATOMIC_ACQUIRE) &
				   FUTEX_WAITERS && task_sleeping(pi_waiter)); i++)
		usleep(1000);
	ASSERT_TRUE(pi_lock & FUTEX_WAITERS);
	ASSERT_TRUE(task_sleeping(pi_waiter));
	EXPECT_EQ(0, sync_chain_counted());
	r = syscall(SYS_futex, &pi_lock, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
	ASSERT_EQ(0, r) TH_LOG("FUTEX_UNLOCK_PI: %s, futex word 0x%x",
			       strerror(errno), pi_lock);
	ASSERT_EQ(0, pthread_join(t, &ok));
	EXPECT_EQ((void *)1, ok);
	/* Released, the next chain may move again. */
	EXPECT_EQ(0, miss_once());
}

static __u32 race_ready, race_go;
static unsigned int race_delay;

/* Take the PI futex the moment the caller starts its chain, then drop it. */
static void *race_for_pi_lock(void *arg)
{
	unsigned int i;

	__atomic_store_n(&race_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&race_go, __ATOMIC_ACQUIRE))
		;
	for (i = 0; i < race_delay; i++)
		asm volatile("" ::: "memory");
	if (syscall(SYS_futex, &pi_lock, FUTEX_LOCK_PI, 0, NULL, NULL, 0))
		return NULL;
	syscall(SYS_futex, &pi_lock, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
	return (void *)1;
}

/*
 * A waiter looks the owner up by the TID in the futex word and then
 * attaches to the task it found. Racing that against a chain that moves
 * at once, at a spread of delays: the waiter must end up attached to the
 * task that holds the TID, or the caller must stay (a waiter attached
 * first), and either way the caller's FUTEX_UNLOCK_PI works.
 */
TEST(a_pi_waiter_racing_the_handoff_attaches_to_the_tid_holder)
{
	int i, moved = 0, stayed = 0;

	for (i = 0; i < 400; i++) {
		struct async_head_user ahu;
		struct syslet_uatom a;
		__s64 ret = SENTINEL;
		__u64 slots[4];
		void *ok = NULL;
		pthread_t t;
		long r;

		__atomic_store_n(&pi_lock, gettid(), __ATOMIC_RELEASE);
		__atomic_store_n(&race_ready, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&race_go, 0, __ATOMIC_RELEASE);
		race_delay = (i % 40) * 200;
		ASSERT_EQ(0, pthread_create(&t, NULL, race_for_pi_lock, NULL));
		ring_init(&ahu, slots, 4);
		ATOM0(&a, __NR_getppid, &ret, NULL, SYSLET_ASYNC);
		while (!__atomic_load_n(&race_ready, __ATOMIC_ACQUIRE))
			;
		__atomic_store_n(&race_go, 1, __ATOMIC_RELEASE);
		r = async_exec(&a, &ahu);
		if (r == 0) {
			moved++;
			ASSERT_EQ(uptr(&a), ring_next(&ahu, slots, 4));
		} else {
			ASSERT_EQ((long)uptr(&a), r);
			stayed++;
		}
		r = syscall(SYS_futex, &pi_lock, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
		ASSERT_EQ(0, r) TH_LOG("round %d: FUTEX_UNLOCK_PI: %s, futex word 0x%x",
				       i, strerror(errno), pi_lock);
		ASSERT_EQ(0, pthread_join(t, &ok));
		ASSERT_EQ((void *)1, ok);
		ASSERT_EQ(0, pi_lock);
	}
	TH_LOG("%d chains moved, %d stayed with a PI waiter attached", moved,
	       stayed);
	EXPECT_LT(0, moved);
}

TEST(io_permissions_refuse_the_handoff)
{
	if (syscall(SYS_iopl, 3))
		SKIP(return, "no iopl(): %s", strerror(errno));
	EXPECT_EQ(0, sync_chain_counted());
}

TEST(a_gs_selector_refuses_the_handoff)
{
	unsigned short user_ds = 0x2b, null_sel = 0;

	/* Any valid selector will do; the base it loads is not used. */
	asm volatile("mov %0, %%gs" : : "r" (user_ds));
	EXPECT_EQ(0, sync_chain_counted());
	asm volatile("mov %0, %%gs" : : "r" (null_sel));
}

TEST(a_traced_caller_runs_chains_synchronously)
{
	int status;
	pid_t pid = fork();

	if (!pid) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(100);
		raise(SIGSTOP);
		_exit(sync_chain_counted());
	}
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, 0, 0));
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

static double cpu_seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void burn(double seconds)
{
	double end = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) + seconds;

	while (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) < end)
		;
}

/*
 * Per-thread clocks and RUSAGE_THREAD may differ after a miss, since the
 * head is another task; the process's totals lose nothing.
 */
TEST(process_cpu_time_loses_nothing)
{
	double process, thread;
	struct rusage before, after;

	burn(0.05);
	process = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
	thread = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
	ASSERT_EQ(0, getrusage(RUSAGE_SELF, &before));
	ASSERT_LE(0.05, thread);
	ASSERT_EQ(0, miss_once());
	ASSERT_EQ(0, getrusage(RUSAGE_SELF, &after));
	EXPECT_LE(process, cpu_seconds(CLOCK_PROCESS_CPUTIME_ID));
	EXPECT_LE(before.ru_utime.tv_sec * 1000000 + before.ru_utime.tv_usec,
		  after.ru_utime.tv_sec * 1000000 + after.ru_utime.tv_usec);
	TH_LOG("thread clock %.3f s before the miss, %.3f s after", thread,
	       cpu_seconds(CLOCK_THREAD_CPUTIME_ID));
}

/* A spare inherits the I/O priority of the thread that made it. */
TEST(io_priority_is_the_spare_makers)
{
	int prio = IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 3);

	ASSERT_EQ(0, syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio));
	ASSERT_EQ(0, miss_once());
	EXPECT_EQ(prio, syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0));
}

static int uring_setup(__u32 flags)
{
	struct io_uring_params p = { .flags = flags };

	return syscall(__NR_io_uring_setup, 4, &p);
}

/*
 * io_uring rings belong to the process, and keep working for the head;
 * one set up with IORING_SETUP_SINGLE_ISSUER belongs to the task that
 * made it, which after a miss is no longer the head.
 */
TEST(io_uring_submitter_state)
{
	int shared = uring_setup(0);
	int single = uring_setup(IORING_SETUP_SINGLE_ISSUER);

	ASSERT_LE(0, shared);
	ASSERT_LE(0, single);
	/* Asked to submit one with none queued: only the owner check acts. */
	ASSERT_EQ(0, syscall(__NR_io_uring_enter, single, 1, 0, 0, NULL, 0));
	ASSERT_EQ(0, miss_and_complete(1));
	EXPECT_EQ(0, syscall(__NR_io_uring_enter, shared, 1, 0, 0, NULL, 0));
	EXPECT_EQ(-1, syscall(__NR_io_uring_enter, single, 1, 0, 0, NULL, 0));
	EXPECT_EQ(EEXIST, errno);
	close(shared);
	close(single);
}

TEST_HARNESS_MAIN
