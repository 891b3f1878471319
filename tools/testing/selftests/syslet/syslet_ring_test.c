// SPDX-License-Identifier: GPL-2.0
/*
 * Completion rings under contention: completers of two processes posting
 * into one shared ring at once, each entry exactly once; and an
 * async_wait() caller woken once, when its minimum is met, not by every
 * posting on the way; and the eventfd a ring names, signalled once each
 * completion is there to take.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "syslet_test.h"

static __u64 kernel_idx(const struct async_head_user *ahu)
{
	return __atomic_load_n(&ahu->kernel_ring_idx, __ATOMIC_ACQUIRE);
}

#define WAKE_CHAINS	8

struct waiter {
	struct async_head_user *ahu;
	pid_t tid;
	long got;
	long switches;
};

static void *wait_for_all(void *arg)
{
	struct waiter *w = arg;
	struct rusage before, after;

	w->tid = gettid();
	getrusage(RUSAGE_THREAD, &before);
	w->got = async_wait(WAKE_CHAINS, 0, w->ahu, &ten_s);
	getrusage(RUSAGE_THREAD, &after);
	w->switches = after.ru_nvcsw - before.ru_nvcsw;
	return NULL;
}

/*
 * Eight chains complete one at a time, each posting only once the one
 * before has arrived, while another thread waits for all eight: it
 * sleeps once, and is woken once.
 */
TEST(async_wait_is_woken_once_its_minimum_is_met)
{
	struct pipe_read pr[WAKE_CHAINS];
	struct async_head_user ahu;
	struct waiter w = { .ahu = &ahu };
	__u64 slots[16];
	pthread_t t;
	int i, spins;

	ring_init(&ahu, slots, 16);
	for (i = 0; i < WAKE_CHAINS; i++) {
		ASSERT_EQ(0, pipe_read_init(&pr[i], 0));
		ASSERT_EQ(0, async_exec(&pr[i].atom, &ahu));
	}
	ASSERT_EQ(0, pthread_create(&t, NULL, wait_for_all, &w));
	for (spins = 0; spins < 10000; spins++) {
		if (__atomic_load_n(&w.tid, __ATOMIC_ACQUIRE) &&
		    thread_state(w.tid) == 'S')
			break;
		usleep(1000);
	}
	for (i = 0; i < WAKE_CHAINS; i++) {
		ASSERT_EQ(1, write(pr[i].fds[1], "w", 1));
		for (spins = 0; spins < 10000 && kernel_idx(&ahu) < i + 1; spins++)
			usleep(1000);
		ASSERT_EQ(i + 1, kernel_idx(&ahu));
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(WAKE_CHAINS, w.got);
	/* One sleep; a second only if it was early to the wait queue. */
	EXPECT_GE(2, w.switches) {
		TH_LOG("the waiter switched out %ld times", w.switches);
	}
	for (i = 0; i < WAKE_CHAINS; i++) {
		EXPECT_EQ(uptr(&pr[i].atom), ring_pop(&ahu, slots, 16));
		pipe_read_fini(&pr[i]);
	}
}

#define SHARED_CHAINS	200
#define SHARED_ENTRIES	512
#define SHARED_ROUNDS	4

/* One ring, its head and both processes' chains, in a shared mapping. */
struct shared {
	struct async_head_user ahu;
	__u64 slots[SHARED_ENTRIES];
	struct pipe_read pr[2][SHARED_CHAINS];
	int ready;
};

/* Whether every chain of process @who has its entry in the ring. */
static int all_posted(struct shared *sh, int who)
{
	int i, k;

	for (i = 0; i < SHARED_CHAINS; i++) {
		__u64 atom = uptr(&sh->pr[who][i].atom);

		for (k = 0; k < SHARED_ENTRIES; k++)
			if (__atomic_load_n(&sh->slots[k], __ATOMIC_ACQUIRE) == atom)
				break;
		if (k == SHARED_ENTRIES)
			return 0;
	}
	return 1;
}

/*
 * Submit this process's chains, then complete them all at once, and wait
 * until they are in the ring: completers still posting die with their
 * process.
 */
static int post_burst(struct shared *sh, int who)
{
	int i;

	for (i = 0; i < SHARED_CHAINS; i++) {
		if (pipe_read_init(&sh->pr[who][i], 0))
			return 1;
		if (async_exec(&sh->pr[who][i].atom, &sh->ahu) != 0)
			return 2;
	}
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&sh->ready, __ATOMIC_SEQ_CST) < 2)
		sched_yield();
	for (i = 0; i < SHARED_CHAINS; i++)
		if (write(sh->pr[who][i].fds[1], "s", 1) != 1)
			return 3;
	for (i = 0; i < 10000 && !all_posted(sh, who); i++)
		usleep(1000);
	return all_posted(sh, who) ? 0 : 4;
}

/* One round: 0, or how many entries were lost or doubled. */
static int shared_round(struct __test_metadata *_metadata, struct shared *sh)
{
	int i, j, status, seen, bad = 0;
	pid_t pid;

	memset(sh, 0, sizeof(*sh));
	ring_init(&sh->ahu, sh->slots, SHARED_ENTRIES);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid)
		_exit(post_burst(sh, 1));
	EXPECT_EQ(0, post_burst(sh, 0));
	EXPECT_EQ(0, wait_child(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < 2; i++) {
		for (j = 0; j < SHARED_CHAINS; j++) {
			__u64 atom = uptr(&sh->pr[i][j].atom);
			int k;

			seen = 0;
			for (k = 0; k < SHARED_ENTRIES; k++)
				seen += sh->slots[k] == atom;
			bad += seen != 1;
			close(sh->pr[i][j].fds[0]);
			close(sh->pr[i][j].fds[1]);
		}
	}
	if (kernel_idx(&sh->ahu) != 2 * SHARED_CHAINS)
		bad++;
	return bad;
}

TEST(two_processes_post_into_one_shared_ring_exactly_once)
{
	struct shared *sh;
	int round, bad = 0;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	for (round = 0; round < SHARED_ROUNDS && !bad; round++)
		bad = shared_round(_metadata, sh);
	EXPECT_EQ(0, bad) {
		TH_LOG("round %d: %d entries lost, doubled or miscounted",
		       round - 1, bad);
	}
	munmap(sh, sizeof(*sh));
}

#define BURST_CHAINS	200
#define BURST_ROUNDS	10

static int burst_word;

/*
 * Many completers post at once while the head consumes: BURST_CHAINS
 * chains wait on one futex word, all are woken together, and the head
 * takes every completion one async_wait(1) at a time, so the ring moves
 * under the completers' feet. Every entry must arrive.
 */
TEST(completers_racing_the_consumer_lose_nothing)
{
	struct syslet_uatom atoms[BURST_CHAINS];
	__u64 uaddr = uptr(&burst_word), op = FUTEX_WAIT_PRIVATE, val = 0;
	__s64 rets[BURST_CHAINS];
	struct async_head_user ahu;
	__u64 slots[64];
	int round, i, got, lost = 0;

	for (round = 0; round < BURST_ROUNDS && !lost; round++) {
		__atomic_store_n(&burst_word, 0, __ATOMIC_SEQ_CST);
		ring_init(&ahu, slots, 64);
		for (i = 0; i < BURST_CHAINS; i++) {
			ATOM3(&atoms[i], __NR_futex, &rets[i], NULL, 0,
			      &uaddr, &op, &val);
			ASSERT_EQ(0, async_exec(&atoms[i], &ahu));
		}
		__atomic_store_n(&burst_word, 1, __ATOMIC_SEQ_CST);
		syscall(__NR_futex, &burst_word, FUTEX_WAKE_PRIVATE, INT_MAX,
			NULL, NULL, 0);
		for (got = 0; got < BURST_CHAINS; got++)
			if (!ring_next(&ahu, slots, 64))
				break;
		lost = BURST_CHAINS - got;
	}
	EXPECT_EQ(0, lost) {
		TH_LOG("round %d: %d of %d completions never arrived",
		       round - 1, lost, BURST_CHAINS);
	}
}

/*
 * After fork() the parent's ring and head are copy-on-write, and posting
 * faults. Forced both ways, a few rounds each, with the index's low byte
 * not 0: the head's page still shared while the ring's page is already
 * the parent's own (the index cannot move, so the posting must fault it
 * in rather than call the ring full), and both pages shared (faulting
 * them in must not write into them: it once zeroed the index's low byte,
 * and the ring looked full for ever). Each completion arrives, once.
 */
static int cow_round(struct async_head_user *ahu, __u64 *slots, int touch_ring)
{
	struct pipe_read pr;
	int child_gate[2], status, err = 0;
	__u64 before = ahu->kernel_ring_idx;
	pid_t child;

	if (pipe_read_init(&pr, 0) || pipe(child_gate))
		return 1;
	if (async_exec(&pr.atom, ahu) != 0)
		return 2;
	child = fork();
	if (child < 0)
		return 3;
	if (child == 0) {	/* keeps the pages shared until told */
		char c;

		_exit(read(child_gate[0], &c, 1) == 1 ? 0 : 1);
	}
	if (touch_ring)
		slots[5] = 0;	/* the parent's own copy of the ring page */
	if (write(pr.fds[1], "c", 1) != 1)
		err = 4;
	else if (ring_next(ahu, slots, 8) != uptr(&pr.atom))
		err = 5;
	else if (ahu->kernel_ring_idx != before + 1 || ahu->user_ring_idx != before + 1)
		err = 6;
	if (write(child_gate[1], "g", 1) != 1 || waitpid(child, &status, 0) != child)
		err = err ?: 7;
	pipe_read_fini(&pr);
	close(child_gate[0]);
	close(child_gate[1]);
	return err;
}

TEST(posting_into_copy_on_write_pages_after_fork)
{
	long page = sysconf(_SC_PAGESIZE);
	struct async_head_user *ahu;
	__u64 *slots;
	char *mem;
	int i;

	/* The head and the ring on pages of their own. */
	mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ahu = (struct async_head_user *)mem;
	slots = (__u64 *)(mem + page);
	ring_init(ahu, slots, 8);
	ahu->kernel_ring_idx = 0x1234;
	ahu->user_ring_idx = 0x1234;
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(0, cow_round(ahu, slots, 1)) TH_LOG("ring page touched, round %d", i);
		EXPECT_EQ(0, cow_round(ahu, slots, 0)) TH_LOG("both pages shared, round %d", i);
	}
	EXPECT_EQ(0x1234 + 8, ahu->kernel_ring_idx);
	munmap(mem, 2 * page);
}

/*
 * A ring whose head names an eventfd: an epoll or poll() loop waits for it
 * beside its sockets. Each completion signals it once its entry can be
 * taken, 200 times in a row; a chain that ends inside async_exec() posts
 * and signals nothing.
 */
TEST(completions_signal_the_heads_eventfd_once_taken_is_possible)
{
	struct async_head_user ahu;
	struct pipe_read pr;
	__u64 slots[4], count;
	__s64 cached_ret;
	struct syslet_uatom cached;
	struct pollfd pfd;
	int efd, i;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, pipe_read_init(&pr, 0));
	ring_init(&ahu, slots, 4);
	ahu.flags = SYSLET_AHU_EVENTFD;
	ahu.eventfd = efd;
	pfd.fd = efd;
	pfd.events = POLLIN;

	ATOM0(&cached, __NR_getppid, &cached_ret, NULL, 0);
	EXPECT_LT(0, async_exec(&cached, &ahu));
	EXPECT_EQ(0, poll(&pfd, 1, 0));

	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, async_exec(&pr.atom, &ahu)) TH_LOG("round %d", i);
		EXPECT_EQ(0, poll(&pfd, 1, 0));
		ASSERT_EQ(1, write(pr.fds[1], "e", 1));
		ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("round %d", i);
		ASSERT_EQ(sizeof(count), read(efd, &count, sizeof(count)));
		EXPECT_EQ(1, count);
		/* Signalled only once the entry was there. */
		ASSERT_EQ(uptr(&pr.atom), ring_pop(&ahu, slots, 4)) TH_LOG("round %d", i);
		EXPECT_EQ(1, pr.ret);
	}
	EXPECT_EQ(0, ahu.sync_chains);
	pipe_read_fini(&pr);
	close(efd);
}

/*
 * The eventfd is checked when the head is read, before anything runs: it
 * must be open, be an eventfd, and come with a ring; without the flag the
 * field must be 0. async_thread() reads the head the same way.
 */
TEST(a_bad_eventfd_is_refused_before_anything_runs)
{
	struct async_head_user ahu;
	struct pipe_read pr;
	__u64 slots[4];
	int efd, fds[2];

	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(0, pipe_read_init(&pr, 0));
	ASSERT_EQ(1, write(pr.fds[1], "x", 1));

	ring_init(&ahu, slots, 4);
	ahu.eventfd = efd;		/* no flag */
	EXPECT_EQ(-1, async_exec(&pr.atom, &ahu));
	EXPECT_EQ(EINVAL, errno);
	ahu.flags = SYSLET_AHU_EVENTFD;
	ahu.eventfd = fds[0];		/* not an eventfd */
	EXPECT_EQ(-1, async_exec(&pr.atom, &ahu));
	EXPECT_EQ(EINVAL, errno);
	ahu.eventfd = 1ULL << 40;	/* no such descriptor */
	EXPECT_EQ(-1, async_exec(&pr.atom, &ahu));
	EXPECT_EQ(EBADF, errno);
	ahu.eventfd = fds[1];
	close(fds[1]);			/* closed */
	EXPECT_EQ(-1, async_exec(&pr.atom, &ahu));
	EXPECT_EQ(EBADF, errno);
	ahu.eventfd = efd;
	ahu.completion_ring = 0;	/* nothing to signal for */
	ahu.ring_size_bytes = 0;
	EXPECT_EQ(-1, async_exec(&pr.atom, &ahu));
	EXPECT_EQ(EINVAL, errno);
	/* Nothing ran: the byte is still in the pipe. */
	EXPECT_EQ(SENTINEL, pr.ret);

	ring_init(&ahu, slots, 4);
	ahu.flags = SYSLET_AHU_EVENTFD;
	ahu.eventfd = efd;
	EXPECT_LT(0, async_exec(&pr.atom, &ahu));
	EXPECT_EQ(1, pr.ret);
	pipe_read_fini(&pr);
	close(fds[0]);
	close(efd);
}

/*
 * The window between a completer filling its slot and moving
 * kernel_ring_idx past it, held open: the consumer took entry 5 at once
 * and asks for the next one while the index still says 5. That is no
 * completion yet, not a bad index (libsyslet-aio's reaper aborted on
 * the EINVAL under fio at depth 128); a real completion then wakes it.
 * Two ahead is still refused.
 */
TEST(a_consumer_one_ahead_of_the_kernel_index_waits)
{
	struct async_head_user ahu;
	struct pipe_read pr;
	__u64 slots[8];

	ring_init(&ahu, slots, 8);
	ahu.kernel_ring_idx = 5;
	EXPECT_EQ(-1, async_wait(1, 6, &ahu, &ten_ms));
	EXPECT_EQ(ETIME, errno);
	EXPECT_EQ(-1, async_wait(1, 7, &ahu, &ten_ms));
	EXPECT_EQ(EINVAL, errno);

	/* The completer's second step, done: index 6, and entry 6 comes. */
	ahu.kernel_ring_idx = 6;
	ahu.user_ring_idx = 6;
	ASSERT_EQ(0, pipe_read_init(&pr, 0));
	ASSERT_EQ(0, async_exec(&pr.atom, &ahu));
	ASSERT_EQ(1, write(pr.fds[1], "a", 1));
	EXPECT_EQ(1, async_wait(1, 6, &ahu, &ten_s));
	EXPECT_EQ(uptr(&pr.atom), ring_pop(&ahu, slots, 8));
	pipe_read_fini(&pr);
}

TEST_HARNESS_MAIN
