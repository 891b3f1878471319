// SPDX-License-Identifier: GPL-2.0
/*
 * Threadlets: user code that runs in the caller until it blocks, on the
 * TLS and stack of a thread the test lent with async_thread().
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "syslet_lend.h"

TEST(cached_threadlet_runs_on_lent_tls_and_stack)
{
	static struct pool p;
	struct seen s = { .fd = -1 };
	struct lender *l;
	pid_t me = gettid();

	ASSERT_EQ(0, pool_start(&p, 1));
	l = &p.lenders[0];
	errno = 0;
	EXPECT_EQ(1, threadlet_exec(look_around, &s, &p.ahu, 1));
	EXPECT_EQ(0, errno);		/* the caller's errno is untouched */
	EXPECT_EQ(me, gettid());
	EXPECT_EQ(me, s.tid_before);	/* cached: the caller's task... */
	EXPECT_EQ(me, s.tid_after);
	EXPECT_EQ(l->errno_addr, s.errno_addr);	/* ...on the lent TLS */
	EXPECT_TRUE(pthread_equal(l->thread, s.self));
	EXPECT_EQ(EBADF, s.errno_after);
	EXPECT_TRUE(s.stack > l->stack_lo && s.stack < l->stack_hi);
	EXPECT_EQ(0, p.ahu.sync_chains);
	EXPECT_EQ(0, p.ahu.kernel_ring_idx);	/* no completion posted */
	EXPECT_EQ(1, pool_stop(&p));
}

struct pipe_writer {
	int fd;
	int delay_ms;
};

static void *write_later(void *arg)
{
	struct pipe_writer *w = arg;

	usleep(w->delay_ms * 1000);
	if (write(w->fd, "x", 1) != 1)
		abort();
	return NULL;
}

TEST(blocked_threadlet_moves_to_the_lent_thread)
{
	static struct pool p;
	struct seen s;
	struct pipe_writer w;
	struct lender *l;
	pthread_t writer;
	int fds[2];
	pid_t me = gettid();

	ASSERT_EQ(0, pool_start(&p, 1));
	l = &p.lenders[0];
	ASSERT_EQ(0, pipe(fds));
	s.fd = fds[0];
	errno = 0;
	ASSERT_EQ(0, threadlet_exec(look_around, &s, &p.ahu, 0xe1));
	/* The caller went on with its identity and its own errno. */
	EXPECT_EQ(me, gettid());
	EXPECT_EQ(me, syscall(__NR_gettid));
	EXPECT_EQ(0, errno);
	EXPECT_EQ(0, p.ahu.kernel_ring_idx);

	w.fd = fds[1];
	w.delay_ms = 0;
	ASSERT_EQ(0, pthread_create(&writer, NULL, write_later, &w));
	EXPECT_EQ(0xe1, ring_next(&p.ahu, p.slots, RING));
	pthread_join(writer, NULL);
	EXPECT_EQ(1, s.got);
	EXPECT_EQ(me, s.tid_before);
	/* After the miss the threadlet is the lent thread, identity and all. */
	EXPECT_EQ(l->tid, s.tid_after);
	EXPECT_EQ(l->errno_addr, s.errno_addr);
	EXPECT_EQ(EBADF, s.errno_after);
	EXPECT_TRUE(s.stack > l->stack_lo && s.stack < l->stack_hi);
	EXPECT_EQ(0, errno);
	/* Parked again, then released as itself. */
	EXPECT_EQ(1, pool_stop(&p));
	EXPECT_EQ(0, l->interrupted);
	close(fds[0]);
	close(fds[1]);
}

struct counted {
	int fd;
	atomic_int ran;
};

static long read_one(void *arg)
{
	struct counted *c = arg;
	char x;

	if (read(c->fd, &x, 1) == 1)
		atomic_fetch_add(&c->ran, 1);
	return 0;
}

TEST(many_threadlets_block_and_complete_once)
{
	enum { N = 60 };
	static struct pool p;
	struct counted c = { 0 };
	int fds[2], i, async = 0, seen[N + 1] = { 0 };

	ASSERT_EQ(0, pool_start(&p, 4));
	ASSERT_EQ(0, pipe(fds));
	c.fd = fds[0];
	for (i = 1; i <= N; i++) {
		long r = threadlet_exec(read_one, &c, &p.ahu, i);

		ASSERT_LE(0, r);
		if (r == 0) {
			async++;
			/* Let it finish so that a lent thread is free again. */
			ASSERT_EQ(1, write(fds[1], "x", 1));
			__u64 v = ring_next(&p.ahu, p.slots, RING);

			ASSERT_TRUE(v >= 1 && v <= N);
			seen[v]++;
		} else {
			/* No lent thread fitted: ran in place, blocked in place. */
			ASSERT_TRUE(0);
		}
	}
	EXPECT_EQ(N, async);
	EXPECT_EQ(N, atomic_load(&c.ran));
	for (i = 1; i <= N; i++)
		EXPECT_EQ(1, seen[i]);
	EXPECT_EQ(0, p.ahu.sync_chains);
	EXPECT_EQ(4, pool_stop(&p));
	close(fds[0]);
	close(fds[1]);
}

#define RELEND_ROUNDS	100

/* Lend, and each time released, make a cache miss of its own; again. */
static void *lend_release_miss(void *arg)
{
	struct lender *l = arg;
	int k;

	lender_main(arg);
	for (k = 0; k < RELEND_ROUNDS; k++) {
		long r;

		do {
			r = syscall(__NR_async_thread, 0, &the_pool->ahu, 0);
		} while (r && errno == EINTR);
		if (r) {
			l->last = -errno;
			break;
		}
		l->last = miss_once();
		if (l->last)
			break;
		atomic_store(&l->done, k + 1);
	}
	return NULL;
}

/* Whether @tid sleeps: parked in async_thread() once @done is reached. */
static bool lender_sleeps(struct lender *l, int done)
{
	char path[64], buf[256];
	bool sleeps = false;
	FILE *f;

	if (atomic_load(&l->done) != done)
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", l->tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		sleeps = strstr(buf, ") S ");
	fclose(f);
	return sleeps;
}

/*
 * A task that finished a threadlet after a miss goes on as the lent
 * thread; released, it makes cache misses of its own as that thread.
 * The round trip lend, miss in a threadlet, release, miss in a chain, a
 * hundred times, must leave nothing behind (kmemleak) and warn nowhere.
 */
TEST(released_lent_thread_misses_in_chains_of_its_own)
{
	static struct pool p;
	struct counted c = { 0 };
	struct lender *l = &p.lenders[0];
	int fds[2], k, i;

	ring_init(&p.ahu, p.slots, RING);
	p.n = 1;
	the_pool = &p;
	ASSERT_EQ(0, pipe(fds));
	c.fd = fds[0];
	ASSERT_EQ(0, pthread_create(&l->thread, NULL, lend_release_miss, l));
	for (k = 0; k < RELEND_ROUNDS; k++) {
		for (i = 0; i < 5000 && !lender_sleeps(l, k); i++)
			usleep(1000);
		ASSERT_TRUE(lender_sleeps(l, k));
		ASSERT_EQ(0, threadlet_exec(read_one, &c, &p.ahu, k + 1));
		ASSERT_EQ(1, write(fds[1], "r", 1));
		ASSERT_EQ(k + 1, ring_next(&p.ahu, p.slots, RING));
		for (i = 0; i < 5000 && !l->last &&
		     atomic_load(&l->done) == k; i++) {
			syscall(__NR_async_thread, 0, &p.ahu,
				SYSLET_LEND_RELEASE);
			usleep(1000);
		}
		ASSERT_EQ(0, l->last);
		ASSERT_EQ(k + 1, atomic_load(&l->done));
	}
	pthread_join(l->thread, NULL);
	EXPECT_EQ(RELEND_ROUNDS, atomic_load(&c.ran));
	EXPECT_EQ(0, p.ahu.sync_chains);
	close(fds[0]);
	close(fds[1]);
}

static __u32 pi_word;
static atomic_int pi_stage;
static long pi_lend_ret;

static long futex_pi(int op)
{
	return syscall(__NR_futex, &pi_word, op | FUTEX_PRIVATE_FLAG, 0, NULL,
		       NULL, 0);
}

/* Owns pi_word, and once a waiter has attached, tries to lend itself. */
static void *pi_owner(void *arg)
{
	struct pool *p = arg;

	if (futex_pi(FUTEX_LOCK_PI))
		abort();
	atomic_store(&pi_stage, 1);
	while (atomic_load(&pi_stage) != 2)
		sched_yield();
	pi_lend_ret = syscall(__NR_async_thread, 0, &p->ahu, 0) ? -errno : 0;
	atomic_store(&pi_stage, 3);
	if (futex_pi(FUTEX_UNLOCK_PI))
		abort();
	return NULL;
}

static void *pi_waiter(void *arg)
{
	if (futex_pi(FUTEX_LOCK_PI) || futex_pi(FUTEX_UNLOCK_PI))
		abort();
	return NULL;
}

/*
 * A thread that owns a PI futex a waiter is attached to cannot be lent:
 * its TID would go to a threadlet's caller, and the kernel's pi_state
 * would stay with it.
 */
TEST(thread_owning_a_contended_pi_futex_is_not_lent)
{
	static struct pool p;
	pthread_t owner, waiter;
	int i;

	ring_init(&p.ahu, p.slots, RING);
	ASSERT_EQ(0, pthread_create(&owner, NULL, pi_owner, &p));
	while (atomic_load(&pi_stage) != 1)
		sched_yield();
	ASSERT_EQ(0, pthread_create(&waiter, NULL, pi_waiter, NULL));
	for (i = 0; i < 10000 && !(pi_word & FUTEX_WAITERS); i++)
		usleep(1000);
	ASSERT_TRUE(pi_word & FUTEX_WAITERS);
	/*
	 * The waiter attaches under the hash bucket lock, in the same step
	 * that set FUTEX_WAITERS: any operation on the word waits for it.
	 */
	syscall(__NR_futex, &pi_word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1,
		NULL, NULL, 0);
	atomic_store(&pi_stage, 2);
	/* Had it been lent, it is parked now: release it, then judge. */
	for (i = 0; i < 10000 && atomic_load(&pi_stage) != 3; i++) {
		syscall(__NR_async_thread, 0, &p.ahu, SYSLET_LEND_RELEASE);
		usleep(1000);
	}
	pthread_join(owner, NULL);
	pthread_join(waiter, NULL);
	EXPECT_EQ(-EBUSY, pi_lend_ret);
	EXPECT_EQ(0, pi_word);
}

static long set_flag(void *arg)
{
	*(int *)arg = gettid();
	return 0;
}

TEST(no_lent_thread_runs_in_place_and_counts)
{
	static struct pool p;
	int tid = 0;

	ring_init(&p.ahu, p.slots, RING);
	EXPECT_EQ(1, threadlet_exec(set_flag, &tid, &p.ahu, 1));
	EXPECT_EQ(gettid(), tid);
	EXPECT_EQ(1, p.ahu.sync_chains);
}

/*
 * Asked for, "no lent thread" is -EAGAIN before anything ran: an event
 * loop can wait for a thread to come back instead of blocking on a
 * threadlet that runs in place. A lent thread that fits still serves it.
 */
TEST(no_lent_thread_is_eagain_when_asked)
{
	static struct pool p;
	int tid = 0;

	ring_init(&p.ahu, p.slots, RING);
	p.ahu.flags = SYSLET_AHU_EAGAIN_AT_LIMIT;
	errno = 0;
	EXPECT_EQ(-1, syscall(__NR_threadlet_on, 0, 0, &p.ahu));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-EAGAIN, threadlet_exec(set_flag, &tid, &p.ahu, 1));
	EXPECT_EQ(0, tid);
	EXPECT_EQ(0, p.ahu.sync_chains);

	ASSERT_EQ(0, pool_start(&p, 1));
	p.ahu.flags = SYSLET_AHU_EAGAIN_AT_LIMIT;
	EXPECT_EQ(1, threadlet_exec(set_flag, &tid, &p.ahu, 1));
	EXPECT_NE(0, tid);
	EXPECT_EQ(0, p.ahu.sync_chains);
	EXPECT_EQ(1, pool_stop(&p));
}

/*
 * A pool's head that names an eventfd: the event of a threadlet that
 * blocked signals it once the event can be taken; one that ran to its
 * end in the caller posts and signals nothing.
 */
TEST(threadlet_events_signal_the_pools_eventfd)
{
	static struct pool p;
	struct counted c = { 0 };
	struct pollfd pfd = { .events = POLLIN };
	int fds[2], tid = 0;
	__u64 count;

	ASSERT_EQ(0, pool_start(&p, 1));
	pfd.fd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, pfd.fd);
	p.ahu.flags = SYSLET_AHU_EVENTFD;
	p.ahu.eventfd = pfd.fd;
	ASSERT_EQ(0, pipe(fds));
	c.fd = fds[0];

	EXPECT_EQ(1, threadlet_exec(set_flag, &tid, &p.ahu, 1));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, threadlet_exec(read_one, &c, &p.ahu, 7));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(1, write(fds[1], "x", 1));
	ASSERT_EQ(1, poll(&pfd, 1, 10000));
	ASSERT_EQ(sizeof(count), read(pfd.fd, &count, sizeof(count)));
	EXPECT_EQ(1, count);
	EXPECT_EQ(7, ring_pop(&p.ahu, p.slots, RING));
	EXPECT_EQ(1, pool_stop(&p));
	close(fds[0]);
	close(fds[1]);
	close(pfd.fd);
}

TEST(threads_lent_to_another_pool_are_not_borrowed)
{
	static struct pool p;
	static struct async_head_user other;
	__u64 slots[RING];
	int tid = 0;

	ASSERT_EQ(0, pool_start(&p, 1));
	ring_init(&other, slots, RING);
	EXPECT_EQ(1, threadlet_exec(set_flag, &tid, &other, 1));
	EXPECT_EQ(1, other.sync_chains);
	EXPECT_EQ(1, pool_stop(&p));
}

struct nest {
	struct pool *p;
	long inner;
	int inner_tid;
};

static long nested(void *arg)
{
	struct nest *n = arg;

	n->inner = threadlet_exec(set_flag, &n->inner_tid, &n->p->ahu, 2);
	return 0;
}

TEST(nested_threadlet_runs_in_place)
{
	static struct pool p;
	struct nest n = { .p = &p };

	ASSERT_EQ(0, pool_start(&p, 2));
	EXPECT_EQ(1, threadlet_exec(nested, &n, &p.ahu, 1));
	EXPECT_EQ(1, n.inner);
	EXPECT_EQ(gettid(), n.inner_tid);
	EXPECT_EQ(1, p.ahu.sync_chains);
	EXPECT_EQ(2, pool_stop(&p));
}

struct chain_in {
	struct pipe_read pr;
	struct async_head_user ahu;
	__u64 slots[4];
	long ret;
	pid_t tid_after;
};

static long chain_inside(void *arg)
{
	struct chain_in *ci = arg;

	ci->ret = async_exec(&ci->pr.atom, &ci->ahu);
	ci->tid_after = gettid();
	return 0;
}

TEST(chain_inside_a_threadlet_moves_with_it)
{
	static struct pool p;
	static struct chain_in ci;
	pid_t me = gettid();

	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, pipe_read_init(&ci.pr, 0));
	ring_init(&ci.ahu, ci.slots, 4);
	ASSERT_EQ(0, threadlet_exec(chain_inside, &ci, &p.ahu, 7));
	EXPECT_EQ(me, gettid());
	ASSERT_EQ(1, write(ci.pr.fds[1], "y", 1));
	EXPECT_EQ(7, ring_next(&p.ahu, p.slots, RING));
	/* The chain ran to its end inside the threadlet: no chain completion. */
	EXPECT_EQ(uptr(&ci.pr.atom), ci.ret);
	EXPECT_EQ(1, ci.pr.ret);
	EXPECT_EQ(1, ci.ahu.sync_chains);
	EXPECT_EQ(0, ci.ahu.kernel_ring_idx);
	EXPECT_EQ(p.lenders[0].tid, ci.tid_after);
	EXPECT_EQ(1, pool_stop(&p));
	pipe_read_fini(&ci.pr);
}

static void note_signal(int sig)
{
}

TEST(signal_interrupts_a_lent_thread_as_itself)
{
	static struct pool p;
	struct sigaction sa = { .sa_handler = note_signal };

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, pthread_kill(p.lenders[0].thread, SIGUSR1));
	/* It returns -EINTR in its own loop, which lends it again. */
	for (int i = 0; i < 500 && !p.lenders[0].interrupted; i++)
		usleep(1000);
	EXPECT_EQ(1, p.lenders[0].interrupted);
	EXPECT_EQ(1, pool_stop(&p));
	signal(SIGUSR1, SIG_DFL);
}

static atomic_int signalled_in;

static void record_tid(int sig)
{
	atomic_store(&signalled_in, gettid());
}

TEST(signal_to_the_head_after_a_miss_reaches_the_head)
{
	static struct pool p;
	struct sigaction sa = { .sa_handler = record_tid };
	struct seen s;
	int fds[2];
	pid_t me = gettid();

	ASSERT_EQ(0, sigaction(SIGUSR2, &sa, NULL));
	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, pipe(fds));
	s.fd = fds[0];
	ASSERT_EQ(0, threadlet_exec(look_around, &s, &p.ahu, 3));
	atomic_store(&signalled_in, 0);
	ASSERT_EQ(0, syscall(__NR_tgkill, getpid(), me, SIGUSR2));
	EXPECT_EQ(me, atomic_load(&signalled_in));
	ASSERT_EQ(1, write(fds[1], "z", 1));
	EXPECT_EQ(3, ring_next(&p.ahu, p.slots, RING));
	EXPECT_EQ(1, pool_stop(&p));
	signal(SIGUSR2, SIG_DFL);
	close(fds[0]);
	close(fds[1]);
}

struct lend_args {
	__u64 event;
	struct async_head_user *ahu;
	long ret;
};

static void *lend_once(void *arg)
{
	struct lend_args *a = arg;

	a->ret = syscall(__NR_async_thread, a->event, a->ahu, 0) ? -errno : 0;
	return NULL;
}

static long in_thread_async_thread(__u64 event, struct async_head_user *ahu)
{
	struct lend_args a = { event, ahu, 1 };
	pthread_t t;

	if (pthread_create(&t, NULL, lend_once, &a))
		return 1;
	pthread_join(t, NULL);
	return a.ret;
}

TEST(bad_input_is_refused)
{
	static struct pool p;
	struct async_head_user plain = head_plain();

	ring_init(&p.ahu, p.slots, RING);
	EXPECT_EQ(-1, syscall(__NR_threadlet_off));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, syscall(__NR_async_thread, 0, &p.ahu, 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, syscall(__NR_async_thread, 5, &p.ahu,
			      SYSLET_LEND_RELEASE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, syscall(__NR_async_thread, 0, &p.ahu,
			     SYSLET_LEND_RELEASE));
	/* The main thread leads the group: it cannot be lent. */
	EXPECT_EQ(-1, syscall(__NR_async_thread, 0, &p.ahu, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, syscall(__NR_threadlet_on, 0, -4096UL, &p.ahu));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, syscall(__NR_threadlet_on, 0, 0, unmapped_page()));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, syscall(__NR_async_thread, 0, unmapped_page(), 0));
	EXPECT_EQ(EFAULT, errno);
	/* A lent thread posting an event needs a ring. */
	EXPECT_EQ(-EINVAL, in_thread_async_thread(7, &plain));
}

static long exec_true(void *arg)
{
	struct seen *s = arg;
	char c;

	if (s->fd >= 0 && read(s->fd, &c, 1) != 1)
		_exit(3);
	execl("/bin/true", "true", (char *)NULL);
	_exit(4);
}

static void exec_from_threadlet(struct __test_metadata *_metadata, bool miss)
{
	pid_t pid = fork();
	int status, fds[2];

	ASSERT_LE(0, pid);
	if (!pid) {
		static struct pool p;
		struct seen s = { .fd = -1 };

		if (pool_start(&p, 1))
			_exit(10);
		if (miss) {
			if (pipe(fds))
				_exit(11);
			s.fd = fds[0];
		}
		long r = threadlet_exec(exec_true, &s, &p.ahu, 1);

		if (r != (miss ? 0 : 1))
			_exit(12);
		if (miss) {
			/* The lent thread execs once this lands. */
			if (write(fds[1], "e", 1) != 1)
				_exit(13);
			pause();
		}
		_exit(14);
	}
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST(exec_in_a_cached_threadlet)
{
	exec_from_threadlet(_metadata, false);
}

TEST(exec_in_a_threadlet_after_a_miss)
{
	exec_from_threadlet(_metadata, true);
}

static long exit_thread(void *arg)
{
	int *fd = arg;
	char c;

	if (*fd >= 0 && read(*fd, &c, 1) != 1)
		abort();
	syscall(__NR_exit, 0);
	return 0;
}

struct exit_head {
	struct pool *p;
	int fd;
	long r;
};

static void *exit_head_main(void *arg)
{
	struct exit_head *h = arg;

	h->r = threadlet_exec(exit_thread, &h->fd, &h->p->ahu, 9);
	return NULL;
}

TEST(exit_in_a_cached_threadlet_ends_the_caller_only)
{
	static struct pool p;
	struct exit_head h = { .p = &p, .fd = -1, .r = 42 };
	pthread_t t;
	int tid = 0;

	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, pthread_create(&t, NULL, exit_head_main, &h));
	pthread_join(t, NULL);
	EXPECT_EQ(42, h.r);		/* the caller never returned */
	/* The lent thread was given back: it serves the next threadlet. */
	EXPECT_EQ(1, threadlet_exec(set_flag, &tid, &p.ahu, 1));
	EXPECT_EQ(0, p.ahu.sync_chains);
	EXPECT_EQ(1, pool_stop(&p));
}

/* Whether the task whose /proc stat file is @path is gone or a zombie. */
static int exited_or_zombie(const char *path)
{
	char buf[256], *p = proc_stat_fields(path, buf, sizeof(buf));

	return !p || *p == 'Z' || *p == 'X';
}

TEST(exit_in_a_threadlet_after_a_miss_ends_the_lent_thread)
{
	static struct pool p;
	int fds[2], fd;
	pid_t lent_tid;
	char path[64];

	ASSERT_EQ(0, pool_start(&p, 1));
	lent_tid = p.lenders[0].tid;
	ASSERT_EQ(0, pipe(fds));
	fd = fds[0];
	ASSERT_EQ(0, threadlet_exec(exit_thread, &fd, &p.ahu, 9));
	ASSERT_EQ(1, write(fds[1], "q", 1));
	/*
	 * Gone, or a zombie until the process ends: the task that went on
	 * with the threadlet is the group leader, which stays one, as a
	 * main thread that exits does.
	 */
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", lent_tid);
	for (int i = 0; i < 1000 && !exited_or_zombie(path); i++)
		usleep(1000);
	EXPECT_TRUE(exited_or_zombie(path));
	EXPECT_EQ(0, p.ahu.kernel_ring_idx);	/* no event: it exited */
	close(fds[0]);
	close(fds[1]);
}

/* Shared with the child below: where its threadlet stands. */
struct spin_flags {
	atomic_int running, release;
};

static long spin_until_released(void *arg)
{
	struct spin_flags *f = arg;

	atomic_store(&f->running, 1);
	while (!atomic_load(&f->release))
		;
	return 0;
}

static void threadlet_spinning_child(struct spin_flags *f)
{
	static struct pool p;

	if (pool_start(&p, 1))
		_exit(1);
	if (threadlet_exec(spin_until_released, f, &p.ahu, 1) != 1)
		_exit(2);
	_exit(pool_stop(&p) == 1 ? 0 : 3);
}

/*
 * A lent thread borrowed by a threadlet that does not block still takes
 * part in a group stop: the stop is reported while the threadlet runs.
 */
TEST(group_stop_is_reported_while_a_lent_thread_is_borrowed)
{
	struct spin_flags *f;
	int status, i, stopped;
	pid_t pid;

	f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, f);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		threadlet_spinning_child(f);
	for (i = 0; i < 10000 && !atomic_load(&f->running); i++)
		usleep(1000);
	ASSERT_TRUE(atomic_load(&f->running));
	ASSERT_EQ(0, kill(pid, SIGSTOP));
	for (i = 0, stopped = 0; i < 5000 && !stopped; i++) {
		stopped = waitpid(pid, &status, WNOHANG | WUNTRACED) == pid &&
			  WIFSTOPPED(status);
		usleep(1000);
	}
	EXPECT_TRUE(stopped);
	kill(pid, SIGCONT);
	atomic_store(&f->release, 1);
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	munmap(f, sizeof(*f));
}

TEST_HARNESS_MAIN
