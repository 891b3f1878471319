// SPDX-License-Identifier: GPL-2.0
/*
 * Threadlets on a lease: a thread registers a struct threadlet_area and
 * leases a lent thread with threadlet_lease(); its threadlets then start
 * and end in user space, and the kernel looks at the area only when one
 * blocks.
 */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/rseq.h>

#include "../kselftest_harness.h"
#include "syslet_lend.h"

#define NO_FSGSBASE "no FSGSBASE: threadlets take threadlet_on() there"

/* The CPU and kernel let user space switch fs base itself. */
static int have_fsgsbase(void)
{
	return (getauxval(AT_HWCAP2) & 2) != 0;	/* HWCAP2_FSGSBASE */
}

static __thread alignas(64) struct threadlet_area area;

static int on_stack_of(const struct lender *l, const char *p)
{
	return p > l->stack_lo && p < l->stack_hi;
}

TEST(bad_input_is_refused)
{
	static alignas(64) struct threadlet_area two[2];
	static struct pool p;
	char *ro;

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&p, 1));
	EXPECT_EQ(-1, threadlet_lease((void *)((char *)&area + 8), &p.ahu, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, threadlet_lease(&area, &p.ahu, 4));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, threadlet_lease(&area, NULL, SYSLET_LEASE_UNREGISTER));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, threadlet_lease(&area, NULL, 0));
	EXPECT_EQ(EFAULT, errno);
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-1, threadlet_lease((void *)ro, &p.ahu, 0));
	EXPECT_EQ(EFAULT, errno);
	two[0].reserved[1] = 1;
	EXPECT_EQ(-1, threadlet_lease(&two[0], &p.ahu, 0));
	EXPECT_EQ(EINVAL, errno);
	/* Nothing registered: nothing to give back. */
	EXPECT_EQ(-1, threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN));
	EXPECT_EQ(EINVAL, errno);

	ASSERT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	EXPECT_NE(0, area.lease_sp);
	EXPECT_EQ(0, area.lease_sp % 16);
	EXPECT_TRUE(on_stack_of(&p.lenders[0], (char *)area.lease_sp));
	/* Leased already: the same lease. */
	EXPECT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	EXPECT_EQ(-1, threadlet_lease(&two[1], &p.ahu, 0));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, threadlet_lease(&area, &p.ahu, SYSLET_LEASE_RETURN));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, threadlet_lease(&two[1], NULL, SYSLET_LEASE_RETURN));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN |
				     SYSLET_LEASE_UNREGISTER));
	EXPECT_EQ(0, area.lease_sp);
	EXPECT_EQ(1, pool_stop(&p));
	munmap(ro, 4096);
}

/* Dies of SIGSYS at its first system call but exit_group(). */
static void allow_only_exit_group(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = { .len = 4, .filter = filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		_exit(3);
}

static long count_on_lent_stack(void *arg)
{
	struct lender *l = arg;
	char here;

	return on_stack_of(l, &here) ? 0 : -1;
}

struct counts {
	struct lender *lender;
	long ran, elsewhere;
};

static long count(void *arg)
{
	struct counts *c = arg;

	c->ran++;
	c->elsewhere += count_on_lent_stack(c->lender) != 0;
	return 0;
}

TEST(cached_threadlets_make_no_system_call)
{
	static struct pool p;
	struct counts c = { };
	int status, i;
	pid_t child;

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&p, 1));
	c.lender = &p.lenders[0];
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		/* The pool's lender is the parent's: lend one here too. */
		static struct pool q;

		if (pool_start(&q, 1) || threadlet_lease(&area, &q.ahu, 0))
			_exit(2);
		c.lender = &q.lenders[0];
		allow_only_exit_group();
		for (i = 0; i < 1000; i++)
			if (threadlet_switch(&area, count, &c, &q.ahu, 1,
					     i + 1) != 1)
				syscall(__NR_exit_group, 4);
		syscall(__NR_exit_group, c.ran == 1000 && !c.elsewhere ? 0 : 5);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	if (WIFSIGNALED(status))
		TH_LOG("killed by signal %d: a system call", WTERMSIG(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, pool_stop(&p));
}

struct pipe_writer {
	int fd;
};

static void *write_one(void *arg)
{
	struct pipe_writer *w = arg;

	if (write(w->fd, "x", 1) != 1)
		abort();
	return NULL;
}

TEST(blocked_threadlet_moves_to_the_leased_thread)
{
	static struct pool p;
	struct seen s = { };
	struct pipe_writer w;
	struct lender *l;
	pthread_t writer;
	int fds[2];
	pid_t me = gettid();

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&p, 1));
	l = &p.lenders[0];
	ASSERT_EQ(0, pipe(fds));
	s.fd = fds[0];
	ASSERT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	errno = 0;
	ASSERT_EQ(0, threadlet_exec_leased(&area, look_around, &s, &p.ahu,
					   0xe1));
	/* The caller went on with its identity, errno and TLS. */
	EXPECT_EQ(me, gettid());
	EXPECT_EQ(me, syscall(__NR_gettid));
	EXPECT_EQ(0, errno);
	/* The lease is used up, and the area says so. */
	EXPECT_EQ(0, area.active);
	EXPECT_EQ(0, area.lease_sp);
	EXPECT_EQ(0, p.ahu.kernel_ring_idx);

	w.fd = fds[1];
	ASSERT_EQ(0, pthread_create(&writer, NULL, write_one, &w));
	EXPECT_EQ(0xe1, ring_next(&p.ahu, p.slots, RING));
	pthread_join(writer, NULL);
	EXPECT_EQ(1, s.got);
	EXPECT_EQ(me, s.tid_before);
	EXPECT_EQ(l->tid, s.tid_after);
	EXPECT_EQ(l->errno_addr, s.errno_addr);
	EXPECT_TRUE(on_stack_of(l, s.stack));
	/*
	 * Lent again: the caller leases it anew, once it has parked (it posts
	 * the event first).
	 */
	while (threadlet_lease(&area, &p.ahu, 0))
		ASSERT_EQ(EAGAIN, errno);
	EXPECT_EQ(1, threadlet_exec_leased(&area, count_on_lent_stack, l,
					   &p.ahu, 1));
	EXPECT_EQ(0, threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN));
	EXPECT_EQ(1, pool_stop(&p));
	EXPECT_EQ(0, l->interrupted);
	close(fds[0]);
	close(fds[1]);
}

struct one_read {
	int fd;
	atomic_int *done;
};

static long read_and_count(void *arg)
{
	struct one_read *r = arg;
	char x;

	if (read(r->fd, &x, 1) == 1)
		atomic_fetch_add(r->done, 1);
	return 0;
}

#define ROUNDS 300

/*
 * Every other round blocks; the rest find a byte waiting. Each blocked
 * one completes exactly once, on a lease taken anew each time.
 */
TEST(leased_threadlets_block_and_complete_once)
{
	static struct pool p;
	atomic_int done = 0;
	struct one_read r = { .done = &done };
	int fds[2], i, moved = 0, cached = 0;
	__u64 seen = 0;

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&p, 2));
	ASSERT_EQ(0, pipe(fds));
	r.fd = fds[0];
	for (i = 0; i < ROUNDS; i++) {
		long ret;

		/* The last lent thread may not have parked again yet. */
		while (threadlet_lease(&area, &p.ahu, 0))
			ASSERT_EQ(EAGAIN, errno);
		if (i % 2 && write(fds[1], "y", 1) != 1)
			break;
		ret = threadlet_exec_leased(&area, read_and_count, &r, &p.ahu,
					    i + 1);
		if (ret == 1) {
			cached++;
			continue;
		}
		ASSERT_EQ(0, ret);
		moved++;
		ASSERT_EQ(1, write(fds[1], "z", 1));
		ASSERT_EQ(i + 1, ring_next(&p.ahu, p.slots, RING));
		seen++;
	}
	EXPECT_EQ(ROUNDS, i);
	EXPECT_EQ(ROUNDS, atomic_load(&done));
	EXPECT_EQ(ROUNDS / 2, moved);
	EXPECT_EQ(ROUNDS / 2, cached);
	EXPECT_EQ(seen, p.ahu.kernel_ring_idx);
	EXPECT_EQ(0, threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN));
	EXPECT_EQ(2, pool_stop(&p));
	close(fds[0]);
	close(fds[1]);
}

TEST(release_revokes_an_idle_lease)
{
	static struct pool p;

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	/* Given back on the way out of the call that released it. */
	EXPECT_EQ(1, syscall(__NR_async_thread, 0, &p.ahu,
			     SYSLET_LEND_RELEASE));
	EXPECT_EQ(0, area.lease_sp);
	EXPECT_EQ(1, pool_stop(&p));
	EXPECT_EQ(0, p.lenders[0].last);
	EXPECT_EQ(-1, threadlet_lease(&area, &p.ahu, 0));
	EXPECT_EQ(EAGAIN, errno);
}

static long release_pool(void *arg)
{
	struct pool *p = arg;

	return syscall(__NR_async_thread, 0, &p->ahu, SYSLET_LEND_RELEASE);
}

TEST(release_inside_a_threadlet_spoils_its_lease)
{
	static struct pool p;

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	EXPECT_EQ(1, threadlet_switch(&area, release_pool, &p, &p.ahu, 1, 77));
	/* It ran on the lease to its end; the lease reads 0 since. */
	EXPECT_EQ(0, area.active);
	EXPECT_EQ(0, area.lease_sp);
	EXPECT_EQ(0, atomic_load(&p.lenders[0].done));
	EXPECT_EQ(0, threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN));
	EXPECT_EQ(1, pool_stop(&p));
	EXPECT_EQ(0, p.lenders[0].last);
}

/* The caller's area: the threadlet runs on another thread's TLS. */
struct nested {
	struct pool *pool;
	struct threadlet_area *area;
	long ret[3];
};

static long nest(void *arg)
{
	struct nested *n = arg;

	n->ret[0] = threadlet_lease(n->area, &n->pool->ahu, 0) ? errno : 0;
	n->ret[1] = threadlet_lease(n->area, NULL, SYSLET_LEASE_RETURN) ?
		    errno : 0;
	/* threadlet_on() runs it in place, counted. */
	n->ret[2] = syscall(__NR_threadlet_on, 0, 0, &n->pool->ahu);
	return 0;
}

TEST(nested_calls_inside_a_leased_threadlet_are_refused)
{
	static struct pool p;
	struct nested n = { .pool = &p, .area = &area };

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	EXPECT_EQ(1, threadlet_exec_leased(&area, nest, &n, &p.ahu, 1));
	EXPECT_EQ(EBUSY, n.ret[0]);
	EXPECT_EQ(EBUSY, n.ret[1]);
	EXPECT_EQ(0, n.ret[2]);
	EXPECT_EQ(1, p.ahu.sync_chains);
	EXPECT_EQ(0, threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN));
	EXPECT_EQ(1, pool_stop(&p));
}

static void *lease_and_exit(void *arg)
{
	static __thread alignas(64) struct threadlet_area mine;
	struct pool *p = arg;

	return (void *)(long)threadlet_lease(&mine, &p->ahu, 0);
}

TEST(an_exiting_lessee_gives_its_lease_back)
{
	static struct pool p;
	pthread_t t;
	void *ret;

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, pthread_create(&t, NULL, lease_and_exit, &p));
	ASSERT_EQ(0, pthread_join(t, &ret));
	ASSERT_EQ(NULL, ret);
	/* The only lent thread is lent again. */
	EXPECT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	EXPECT_EQ(0, threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN));
	EXPECT_EQ(1, pool_stop(&p));
}

TEST(a_forked_child_has_no_registration)
{
	static struct pool p;
	int status;
	pid_t child;

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		/* The memory says leased; the kernel knows of no area. */
		if (!area.lease_sp)
			_exit(1);
		if (threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN) != -1 ||
		    errno != EINVAL)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_NE(0, area.lease_sp);
	EXPECT_EQ(0, threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN));
	EXPECT_EQ(1, pool_stop(&p));
}

/*
 * A chain that misses between threadlets moves the caller to a spare,
 * and the area and lease go with it: the next threadlet still moves to
 * the leased thread, and the caller keeps its TID throughout.
 */
TEST(the_lease_moves_with_a_chains_caller)
{
	static struct pool p;
	struct async_head_user ahu;
	__u64 slots[4];
	struct syslet_uatom atom;
	struct seen s = { };
	__s64 res = SENTINEL;
	char c;
	int fds[2], cfds[2];
	pid_t me = gettid();

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(0, pipe(cfds));
	ASSERT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	ring_init(&ahu, slots, 4);
	{
		__u64 fd = cfds[0], buf = uptr(&c), len = 1;

		ATOM3(&atom, __NR_read, &res, NULL, 0, &fd, &buf, &len);
		ASSERT_EQ(0, async_exec(&atom, &ahu));
	}
	EXPECT_EQ(me, syscall(__NR_gettid));
	EXPECT_NE(0, area.lease_sp);
	ASSERT_EQ(1, write(cfds[1], "c", 1));
	EXPECT_EQ(uptr(&atom), ring_next(&ahu, slots, 4));
	EXPECT_EQ(1, res);

	s.fd = fds[0];
	ASSERT_EQ(0, threadlet_exec_leased(&area, look_around, &s, &p.ahu,
					   0xe2));
	EXPECT_EQ(me, syscall(__NR_gettid));
	ASSERT_EQ(1, write(fds[1], "t", 1));
	EXPECT_EQ(0xe2, ring_next(&p.ahu, p.slots, RING));
	EXPECT_EQ(p.lenders[0].tid, s.tid_after);
	EXPECT_EQ(1, pool_stop(&p));
	close(fds[0]);
	close(fds[1]);
	close(cfds[0]);
	close(cfds[1]);
}

/* A threadlet that loads a gs selector, then blocks. */
struct with_selector {
	int fd, write_fd;
	atomic_int reading;
	atomic_int returned;	/* its caller went on */
	__u64 *lease_sp;	/* the caller's area's, read atomically */
	pid_t tid_after;
};

static long read_with_gs_selector(void *arg)
{
	struct with_selector *w = arg;
	unsigned short sel = 0x2b;	/* __USER_DS */
	char c;

	asm volatile("mov %0, %%gs" : : "r"(sel));
	atomic_store(&w->reading, 1);
	if (read(w->fd, &c, 1) != 1)
		abort();
	sel = 0;
	asm volatile("mov %0, %%gs" : : "r"(sel));
	w->tid_after = syscall(__NR_gettid);
	return 0;
}

/*
 * Writes to @fd once a blocked threadlet's claim refused to move it,
 * spoiling the lease (@lease_sp reads 0), or its caller went on.
 */
static void write_once_refused(int fd, atomic_int *returned, __u64 *lease_sp)
{
	while (!atomic_load(returned) &&
	       __atomic_load_n(lease_sp, __ATOMIC_RELAXED))
		usleep(1000);
	if (write(fd, "r", 1) != 1)
		abort();
}

static void *write_once_blocked(void *arg)
{
	struct with_selector *w = arg;

	while (!atomic_load(&w->reading))
		sched_yield();
	write_once_refused(w->write_fd, &w->returned, w->lease_sp);
	return NULL;
}

/*
 * What a copy cannot hand on and a threadlet sets up after the lease was
 * taken, here a gs selector, keeps it in its caller when it blocks: the
 * claim looks at the caller again, and spoils the lease instead.
 */
TEST(a_threadlet_that_cannot_move_blocks_in_place)
{
	static struct pool p;
	struct with_selector w = { .lease_sp = &area.lease_sp };
	pid_t me = gettid();
	pthread_t writer;
	int fds[2];
	long ret;

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, pipe(fds));
	w.fd = fds[0];
	w.write_fd = fds[1];
	ASSERT_EQ(0, pthread_create(&writer, NULL, write_once_blocked, &w));
	ASSERT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	ret = threadlet_exec_leased(&area, read_with_gs_selector, &w, &p.ahu,
				    0xe3);
	atomic_store(&w.returned, 1);
	pthread_join(writer, NULL);
	EXPECT_EQ(1, ret);
	EXPECT_EQ(me, w.tid_after);
	/* The spoilt lease was given back; the thread can be leased again. */
	EXPECT_EQ(0, area.lease_sp);
	EXPECT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	EXPECT_EQ(0, threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN));
	EXPECT_EQ(0, p.ahu.kernel_ring_idx);
	EXPECT_EQ(1, pool_stop(&p));
	close(fds[0]);
	close(fds[1]);
}

struct release_then_read {
	struct pool *pool;
	int fd;
	long released;
};

static long release_then_read(void *arg)
{
	struct release_then_read *r = arg;
	char c;

	r->released = release_pool(r->pool);
	if (read(r->fd, &c, 1) != 1)
		abort();
	return 0;
}

/*
 * A pool released while a threadlet runs on its lease, the threadlet
 * then blocking and moving to the leased thread: that thread returns
 * from async_thread(), released, once the threadlet ends, with no
 * further release.
 */
TEST(a_released_lease_that_moved_returns_when_its_threadlet_ends)
{
	static struct pool p;
	struct release_then_read r = { .pool = &p };
	int fds[2], i;

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, pipe(fds));
	r.fd = fds[0];
	ASSERT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	ASSERT_EQ(0, threadlet_exec_leased(&area, release_then_read, &r,
					   &p.ahu, 0xe4));
	EXPECT_EQ(1, r.released);
	ASSERT_EQ(1, write(fds[1], "r", 1));
	EXPECT_EQ(0xe4, ring_next(&p.ahu, p.slots, RING));
	/* It returns by itself: at most 10 s, or it never will. */
	for (i = 0; i < 1000 && !atomic_load(&p.lenders[0].done); i++)
		usleep(10 * 1000);
	EXPECT_EQ(1, atomic_load(&p.lenders[0].done));
	EXPECT_EQ(1, pool_stop(&p));
	EXPECT_EQ(0, p.lenders[0].last);
	close(fds[0]);
	close(fds[1]);
}

/*
 * glibc's mutexes inside threadlets, under contention that is forced: the
 * threadlet holds the lock until the lock word shows that the contender
 * waits on it. Cached, the threadlet runs in its caller on the lent
 * thread's TLS, on a lease or after threadlet_on(); moved, it first
 * blocks on a pipe and goes on as the leased thread. Either way it is one
 * thread to glibc and to the kernel's futexes.
 */
enum mutex_kind { NORMAL, ERRORCHECK, RECURSIVE, ROBUST, ROBUST_OWNER_DIED,
		  PI };

struct contended {
	pthread_mutex_t m;
	enum mutex_kind kind;
	int fd;			/* -1: cached; else blocks on it first */
	atomic_int go;		/* the contender may lock now */
	pid_t tid;
	int err[4];		/* lock, relock or consistent, unlock twice */
	int contender_err[2];
	int count;
};

/* The lock word says a contender waits: 2, or FUTEX_WAITERS set. */
static int waiter_seen(pthread_mutex_t *m)
{
	unsigned int word = __atomic_load_n((unsigned int *)&m->__data.__lock,
					    __ATOMIC_RELAXED);

	return word == 2 || (word & FUTEX_WAITERS);
}

static long lock_under_contention(void *arg)
{
	struct contended *c = arg;
	char x;

	if (c->fd >= 0 && read(c->fd, &x, 1) != 1)
		return -1;
	c->tid = syscall(__NR_gettid);
	c->err[0] = pthread_mutex_lock(&c->m);
	if (c->kind == RECURSIVE)
		c->err[1] = pthread_mutex_lock(&c->m);
	else if (c->kind == ERRORCHECK)
		c->err[1] = pthread_mutex_lock(&c->m) == EDEADLK ? 0 : -1;
	else if (c->kind == ROBUST_OWNER_DIED)
		c->err[1] = pthread_mutex_consistent(&c->m);
	atomic_store(&c->go, 1);
	while (!waiter_seen(&c->m))
		;
	c->count++;
	if (c->kind == RECURSIVE)
		c->err[2] = pthread_mutex_unlock(&c->m);
	c->err[3] = pthread_mutex_unlock(&c->m);
	return 0;
}

static void *contend(void *arg)
{
	struct contended *c = arg;

	while (!atomic_load(&c->go))
		sched_yield();
	c->contender_err[0] = pthread_mutex_lock(&c->m);
	c->count++;
	c->contender_err[1] = pthread_mutex_unlock(&c->m);
	return NULL;
}

static void *lock_and_exit(void *arg)
{
	pthread_mutex_lock(arg);
	return NULL;
}

static void mutex_init_kind(pthread_mutex_t *m, enum mutex_kind kind)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	if (kind == ERRORCHECK)
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	if (kind == RECURSIVE)
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	if (kind == ROBUST || kind == ROBUST_OWNER_DIED)
		pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (kind == PI)
		pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
}

/*
 * A threadlet that owns a PI mutex another thread waits for, then blocks:
 * the claim refuses to move it (its PI waiters stay with the task), it
 * blocks in place, and still unlocks as the thread it locked as.
 */
struct pi_then_block {
	pthread_mutex_t m;
	int fd, write_fd;
	__u64 *lease_sp;	/* the caller's area's, read atomically */
	atomic_int go, returned;
	atomic_int contender;		/* its TID */
	atomic_int attached;		/* it sleeps, its pi_state attached */
	int lock_err, unlock_err, contender_err[2];
};

static long lock_pi_then_block(void *arg)
{
	struct pi_then_block *b = arg;
	char x;

	b->lock_err = pthread_mutex_lock(&b->m);
	atomic_store(&b->go, 1);
	while (!atomic_load(&b->attached))
		;
	if (read(b->fd, &x, 1) != 1)
		return -1;
	b->unlock_err = pthread_mutex_unlock(&b->m);
	return 0;
}

static void *contend_pi(void *arg)
{
	struct pi_then_block *b = arg;

	atomic_store(&b->contender, gettid());
	while (!atomic_load(&b->go))
		sched_yield();
	b->contender_err[0] = pthread_mutex_lock(&b->m);
	b->contender_err[1] = pthread_mutex_unlock(&b->m);
	return NULL;
}

/*
 * Tells the threadlet once the contender sleeps in FUTEX_LOCK_PI, its
 * pi_state attached to the threadlet's task; then writes once the claim
 * refused the blocked threadlet, or it moved.
 */
static void *attach_then_write(void *arg)
{
	struct pi_then_block *b = arg;

	while (!atomic_load(&b->go))
		sched_yield();
	while (thread_state(atomic_load(&b->contender)) != 'S')
		usleep(1000);
	atomic_store(&b->attached, 1);
	write_once_refused(b->write_fd, &b->returned, b->lease_sp);
	return NULL;
}

TEST(a_threadlet_owning_pi_waiters_blocks_in_place_and_unlocks)
{
	static struct pool p;
	struct pi_then_block b = { .lease_sp = &area.lease_sp };
	pthread_mutexattr_t attr;
	pthread_t contender, writer;
	int fds[2];
	long ret;

	if (!have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&b.m, &attr);
	ASSERT_EQ(0, pool_start(&p, 1));
	ASSERT_EQ(0, pipe(fds));
	b.fd = fds[0];
	b.write_fd = fds[1];
	ASSERT_EQ(0, pthread_create(&contender, NULL, contend_pi, &b));
	ASSERT_EQ(0, pthread_create(&writer, NULL, attach_then_write, &b));
	ASSERT_EQ(0, threadlet_lease(&area, &p.ahu, 0));
	ret = threadlet_exec_leased(&area, lock_pi_then_block, &b, &p.ahu,
				    0xe6);
	atomic_store(&b.returned, 1);
	pthread_join(writer, NULL);
	EXPECT_EQ(1, ret);
	EXPECT_EQ(0, b.lock_err);
	/* A failed unlock leaves the contender waiting for good. */
	ASSERT_EQ(0, b.unlock_err);
	pthread_join(contender, NULL);
	EXPECT_EQ(0, b.contender_err[0]);
	EXPECT_EQ(0, b.contender_err[1]);
	EXPECT_EQ(1, pool_stop(&p));
	pthread_mutex_destroy(&b.m);
	close(fds[0]);
	close(fds[1]);
}

FIXTURE(contended_mutex) {
	struct pool p;
};

enum threadlet_mode { LEASE_CACHED, LEASE_MOVED, ON_CACHED };

FIXTURE_VARIANT(contended_mutex) {
	enum mutex_kind kind;
	enum threadlet_mode mode;
};

FIXTURE_VARIANT_ADD(contended_mutex, normal_cached) {
	.kind = NORMAL,
};

FIXTURE_VARIANT_ADD(contended_mutex, normal_moved) {
	.kind = NORMAL,
	.mode = LEASE_MOVED,
};

FIXTURE_VARIANT_ADD(contended_mutex, normal_threadlet_on) {
	.kind = NORMAL,
	.mode = ON_CACHED,
};

FIXTURE_VARIANT_ADD(contended_mutex, errorcheck_cached) {
	.kind = ERRORCHECK,
};

FIXTURE_VARIANT_ADD(contended_mutex, errorcheck_moved) {
	.kind = ERRORCHECK,
	.mode = LEASE_MOVED,
};

FIXTURE_VARIANT_ADD(contended_mutex, errorcheck_threadlet_on) {
	.kind = ERRORCHECK,
	.mode = ON_CACHED,
};

FIXTURE_VARIANT_ADD(contended_mutex, recursive_cached) {
	.kind = RECURSIVE,
};

FIXTURE_VARIANT_ADD(contended_mutex, recursive_moved) {
	.kind = RECURSIVE,
	.mode = LEASE_MOVED,
};

FIXTURE_VARIANT_ADD(contended_mutex, recursive_threadlet_on) {
	.kind = RECURSIVE,
	.mode = ON_CACHED,
};

FIXTURE_VARIANT_ADD(contended_mutex, robust_cached) {
	.kind = ROBUST,
};

FIXTURE_VARIANT_ADD(contended_mutex, robust_moved) {
	.kind = ROBUST,
	.mode = LEASE_MOVED,
};

FIXTURE_VARIANT_ADD(contended_mutex, robust_threadlet_on) {
	.kind = ROBUST,
	.mode = ON_CACHED,
};

FIXTURE_VARIANT_ADD(contended_mutex, robust_owner_died_cached) {
	.kind = ROBUST_OWNER_DIED,
};

FIXTURE_VARIANT_ADD(contended_mutex, robust_owner_died_moved) {
	.kind = ROBUST_OWNER_DIED,
	.mode = LEASE_MOVED,
};

FIXTURE_VARIANT_ADD(contended_mutex, robust_owner_died_threadlet_on) {
	.kind = ROBUST_OWNER_DIED,
	.mode = ON_CACHED,
};

FIXTURE_VARIANT_ADD(contended_mutex, pi_cached) {
	.kind = PI,
};

FIXTURE_VARIANT_ADD(contended_mutex, pi_moved) {
	.kind = PI,
	.mode = LEASE_MOVED,
};

FIXTURE_VARIANT_ADD(contended_mutex, pi_threadlet_on) {
	.kind = PI,
	.mode = ON_CACHED,
};

FIXTURE_SETUP(contended_mutex)
{
	if (variant->mode != ON_CACHED && !have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	ASSERT_EQ(0, pool_start(&self->p, 1));
}

FIXTURE_TEARDOWN(contended_mutex)
{
	if (variant->mode == ON_CACHED || have_fsgsbase())
		EXPECT_EQ(1, pool_stop(&self->p));
}

TEST_F(contended_mutex, locks_as_one_thread)
{
	struct contended c = { .kind = variant->kind, .fd = -1 };
	pthread_t contender, owner;
	int fds[2];
	long ret;

	mutex_init_kind(&c.m, c.kind);
	if (c.kind == ROBUST_OWNER_DIED) {
		ASSERT_EQ(0, pthread_create(&owner, NULL, lock_and_exit, &c.m));
		pthread_join(owner, NULL);
	}
	ASSERT_EQ(0, pipe(fds));
	if (variant->mode == LEASE_MOVED)
		c.fd = fds[0];
	ASSERT_EQ(0, pthread_create(&contender, NULL, contend, &c));
	if (variant->mode == ON_CACHED) {
		ret = threadlet_exec(lock_under_contention, &c, &self->p.ahu,
				     0xe5);
	} else {
		ASSERT_EQ(0, threadlet_lease(&area, &self->p.ahu, 0));
		ret = threadlet_exec_leased(&area, lock_under_contention, &c,
					    &self->p.ahu, 0xe5);
	}
	if (variant->mode == LEASE_MOVED) {
		ASSERT_EQ(0, ret);
		ASSERT_EQ(1, write(fds[1], "m", 1));
		ASSERT_EQ(0xe5, ring_next(&self->p.ahu, self->p.slots, RING));
		EXPECT_EQ(self->p.lenders[0].tid, c.tid);
	} else {
		ASSERT_EQ(1, ret);
		EXPECT_EQ(gettid(), c.tid);
	}
	/* A failed unlock leaves the contender waiting for good. */
	ASSERT_EQ(0, c.err[3]);
	pthread_join(contender, NULL);
	EXPECT_EQ(c.kind == ROBUST_OWNER_DIED ? EOWNERDEAD : 0, c.err[0]);
	EXPECT_EQ(0, c.err[1]);
	EXPECT_EQ(0, c.err[2]);
	EXPECT_EQ(0, c.contender_err[0]);
	EXPECT_EQ(0, c.contender_err[1]);
	EXPECT_EQ(2, c.count);
	if (variant->mode != ON_CACHED)
		threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN);
	pthread_mutex_destroy(&c.m);
	close(fds[0]);
	close(fds[1]);
}

/*
 * rseq inside cached threadlets: glibc's sched_getcpu() and restartable
 * sequences read the rseq area of the thread whose TLS the threadlet runs
 * on, a lent thread parked in the kernel; the kernel must keep that area
 * current for the task running the threadlet, and abort its critical
 * sections, while another thread pushes that task from CPU to CPU.
 */
#define MIGRATIONS	20
#define INCREMENTS	200000

/* The CPU this runs on, in one instruction (the vDSO's LSL of CPUNODE). */
static unsigned int cpu_now(void)
{
	unsigned int p;

	asm volatile("lsl %1, %0" : "=r"(p) : "r"(15 * 8 + 3));
	return p & 0xfff;
}

struct pushed {
	pid_t tid;			/* the task running the threadlet */
	atomic_int *started;		/* by the threadlet, on the lent TLS */
	atomic_int stop;
	long samples, migrations, wrong;
	long *counters;			/* per CPU, a cache line apart */
	long increments;
};

static void *push_around(void *arg)
{
	struct pushed *p = arg;
	cpu_set_t set;
	int cpu = 0;

	/* A caller pushed before it starts no longer fits the lent thread. */
	while (!atomic_load(p->started) && !atomic_load(&p->stop))
		usleep(1000);
	while (!atomic_load(&p->stop)) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		cpu ^= 1;
		sched_setaffinity(p->tid, sizeof(set), &set);
		usleep(1000);
	}
	return NULL;
}

/*
 * Each sample reads glibc's CPU, the CPU, and glibc's again: when the two
 * reads agree, no migration came between them, and the CPU must be that.
 */
static long sample_cpus(void *arg)
{
	struct pushed *p = arg;
	unsigned int last = cpu_now();

	atomic_store(p->started, 1);
	while (p->migrations < MIGRATIONS && p->samples < 50000000) {
		int before = sched_getcpu();
		unsigned int cpu = cpu_now();
		int after = sched_getcpu();

		p->samples++;
		if (cpu != last)
			p->migrations++;
		last = cpu;
		if (before == after && (unsigned int)before != cpu)
			p->wrong++;
	}
	return 0;
}

/*
 * counters[cpu * 8]++ as a restartable sequence on the rseq area of TLS,
 * with a delay between its load and its store that a preemption or the
 * other counting thread falls into.
 */
static void percpu_inc(long *counters)
{
	struct rseq *rs;
	int cpu;

again:
	rs = (struct rseq *)((char *)__builtin_thread_pointer() +
			     __rseq_offset);
	cpu = __atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);
	asm goto(".pushsection __rseq_cs, \"aw\"\n\t"
		 ".balign 32\n"
		 "3:\n\t"
		 ".long 0, 0\n\t"
		 ".quad 1f, 2f - 1f, 4f\n\t"
		 ".popsection\n\t"
		 "leaq 3b(%%rip), %%rax\n\t"
		 "movq %%rax, %%fs:8(%[off])\n"
		 "1:\n\t"
		 "cmpl %[cpu], %%fs:4(%[off])\n\t"
		 "jnz 4f\n\t"
		 "movq %[v], %%rax\n\t"
		 "movl $64, %%ecx\n"
		 "5:\n\t"
		 "decl %%ecx\n\t"
		 "jnz 5b\n\t"
		 "addq $1, %%rax\n\t"
		 "movq %%rax, %[v]\n"
		 "2:\n\t"
		 ".pushsection __rseq_failure, \"ax\"\n\t"
		 ".byte 0x0f, 0xb9, 0x3d\n\t"
		 ".long 0x53053053\n"
		 "4:\n\t"
		 "jmp %l[abort]\n\t"
		 ".popsection\n\t"
		 :
		 : [cpu] "r"(cpu), [off] "r"(__rseq_offset),
		   [v] "m"(counters[cpu * 8])
		 : "memory", "cc", "rax", "rcx"
		 : abort);
	return;
abort:
	goto again;
}

static long count_per_cpu(void *arg)
{
	struct pushed *p = arg;
	long i;

	atomic_store(p->started, 1);
	for (i = 0; i < p->increments; i++)
		percpu_inc(p->counters);
	return 0;
}

static void *count_per_cpu_thread(void *arg)
{
	struct pushed *p = arg;
	long i;

	while (!atomic_load(p->started))
		sched_yield();
	for (i = 0; i < p->increments; i++)
		percpu_inc(p->counters);
	return NULL;
}

FIXTURE(pushed_threadlet) {
	struct pool p;
	atomic_int started;
	struct pushed pushed;
	pthread_t pusher;
	cpu_set_t affinity;
};

FIXTURE_VARIANT(pushed_threadlet) {
	int on_lease;
};

FIXTURE_VARIANT_ADD(pushed_threadlet, on_lease) { .on_lease = 1 };
FIXTURE_VARIANT_ADD(pushed_threadlet, threadlet_on) { };

FIXTURE_SETUP(pushed_threadlet)
{
	if (variant->on_lease && !have_fsgsbase())
		SKIP(return, NO_FSGSBASE);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "one CPU: nothing to migrate between");
	if (!__rseq_size)
		SKIP(return, "glibc registers no rseq area");
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(self->affinity),
				       &self->affinity));
	ASSERT_EQ(0, pool_start(&self->p, 1));
	self->pushed.tid = gettid();
	self->pushed.started = &self->started;
	ASSERT_EQ(0, pthread_create(&self->pusher, NULL, push_around,
				    &self->pushed));
}

FIXTURE_TEARDOWN(pushed_threadlet)
{
	if (!self->pushed.tid)
		return;
	atomic_store(&self->pushed.stop, 1);
	pthread_join(self->pusher, NULL);
	sched_setaffinity(0, sizeof(self->affinity), &self->affinity);
	EXPECT_EQ(1, pool_stop(&self->p));
}

static long run_cached(int on_lease, struct pool *p, long (*fn)(void *),
		       void *arg)
{
	if (!on_lease)
		return threadlet_exec(fn, arg, &p->ahu, 1);
	if (threadlet_lease(&area, &p->ahu, 0))
		return -1;
	return threadlet_exec_leased(&area, fn, arg, &p->ahu, 1);
}

TEST_F(pushed_threadlet, sched_getcpu_follows_the_task)
{
	ASSERT_EQ(1, run_cached(variant->on_lease, &self->p, sample_cpus,
				&self->pushed));
	EXPECT_LE(MIGRATIONS, self->pushed.migrations);
	EXPECT_EQ(0, self->pushed.wrong);
	if (variant->on_lease)
		threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN);
}

TEST_F(pushed_threadlet, rseq_per_cpu_counters_lose_no_increment)
{
	static long counters[8 * 64];
	struct pushed other = { .counters = counters,
				.increments = INCREMENTS,
				.started = &self->started };
	pthread_t counter;
	long sum = 0;
	int i;

	ASSERT_GE(64, sysconf(_SC_NPROCESSORS_CONF));
	self->pushed.counters = counters;
	self->pushed.increments = INCREMENTS;
	ASSERT_EQ(0, pthread_create(&counter, NULL, count_per_cpu_thread,
				    &other));
	ASSERT_EQ(1, run_cached(variant->on_lease, &self->p, count_per_cpu,
				&self->pushed));
	pthread_join(counter, NULL);
	for (i = 0; i < 64; i++)
		sum += counters[i * 8];
	EXPECT_EQ(2 * INCREMENTS, sum);
	if (variant->on_lease)
		threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN);
}

/*
 * The child pins itself to each CPU in turn: glibc's CPU must follow, as
 * the area its TLS has is the one the kernel keeps current for it.
 */
static long fork_a_cpu_reader(void *arg)
{
	pid_t *child = arg;
	pid_t pid = fork();

	if (!pid) {
		int cpu, wrong = 0;

		for (cpu = 0; cpu < 2; cpu++) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set))
				_exit(2);
			wrong += sched_getcpu() != cpu;
		}
		_exit(wrong ? 1 : 0);
	}
	*child = pid;
	return 0;
}

TEST_F(pushed_threadlet, a_child_forked_in_a_threadlet_has_its_rseq_area)
{
	pid_t child = -1;
	int status;
	long ret;

	ret = run_cached(variant->on_lease, &self->p, fork_a_cpu_reader,
			 &child);
	/* fork() may block, and move the threadlet: its event is 1 too. */
	EXPECT_EQ(1, ret ? ret : (long)ring_next(&self->p.ahu, self->p.slots,
						 RING));
	ASSERT_LT(0, child);
	ASSERT_EQ(0, wait_child(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	if (variant->on_lease)
		threadlet_lease(&area, NULL, SYSLET_LEASE_RETURN);
}

TEST_HARNESS_MAIN
