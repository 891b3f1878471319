// SPDX-License-Identifier: GPL-2.0
/*
 * async_exec_batch(): many chains for one kernel entry, each with its own
 * result, completion and cache miss, and a caller that moves at most once.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "../kselftest_harness.h"
#include "syslet_test.h"

#define CHAINS	8

/* @n one-atom getppid chains, results to @rets, in @entries. */
static void getppid_batch(struct syslet_batch_entry *entries,
			  struct syslet_uatom *atoms, __s64 *rets, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		rets[i] = SENTINEL;
		ATOM0(&atoms[i], __NR_getppid, &rets[i], NULL, 0);
		entries[i].atom = uptr(&atoms[i]);
		entries[i].result = SENTINEL;
	}
}

TEST(every_chain_of_a_cached_batch_runs_and_has_its_result)
{
	struct syslet_batch_entry entries[CHAINS];
	struct syslet_uatom atoms[CHAINS];
	struct async_head_user ahu;
	__s64 rets[CHAINS];
	__u64 slots[4];
	int i;

	ring_init(&ahu, slots, 4);
	getppid_batch(entries, atoms, rets, CHAINS);
	ASSERT_EQ(CHAINS, async_exec_batch(entries, CHAINS, &ahu, 0));
	for (i = 0; i < CHAINS; i++) {
		EXPECT_EQ((long)uptr(&atoms[i]), entries[i].result);
		EXPECT_EQ(getppid(), rets[i]);
	}
	/* Nothing moved, nothing was posted, nothing ran without a spare. */
	EXPECT_EQ(0, ahu.kernel_ring_idx);
	EXPECT_EQ(0, ahu.sync_chains);

	/* Without a head, as async_exec() with none. */
	getppid_batch(entries, atoms, rets, CHAINS);
	ASSERT_EQ(CHAINS, async_exec_batch(entries, CHAINS, NULL, 0));
	for (i = 0; i < CHAINS; i++)
		EXPECT_EQ((long)uptr(&atoms[i]), entries[i].result);
}

TEST(a_bad_call_is_refused_before_any_chain_runs)
{
	struct syslet_batch_entry entries[2];
	struct syslet_uatom atoms[2];
	struct async_head_user ahu;
	__s64 rets[2];
	__u64 slots[4];
	char *raw;

	ring_init(&ahu, slots, 4);
	getppid_batch(entries, atoms, rets, 2);
	EXPECT_EQ(0, async_exec_batch(entries, 0, &ahu, 0));
	EXPECT_EQ(-1, async_exec_batch(entries, 2, &ahu, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, async_exec_batch(entries, SYSLET_MAX_BATCH + 1, &ahu, 0));
	EXPECT_EQ(EINVAL, errno);
	raw = malloc(sizeof(entries) + 4);
	ASSERT_NE(NULL, raw);
	memcpy(raw + 4, entries, sizeof(entries));
	EXPECT_EQ(-1, async_exec_batch((void *)(raw + 4), 2, &ahu, 0));
	EXPECT_EQ(EINVAL, errno);
	free(raw);
	EXPECT_EQ(-1, async_exec_batch(NULL, 2, &ahu, 0));
	EXPECT_EQ(EFAULT, errno);
	ahu.flags = 1ULL << 63;
	EXPECT_EQ(-1, async_exec_batch(entries, 2, &ahu, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(SENTINEL, rets[0]);
	EXPECT_EQ(SENTINEL, rets[1]);
	EXPECT_EQ(SENTINEL, entries[0].result);
}

TEST(a_refused_chain_has_its_error_and_the_others_run)
{
	struct syslet_batch_entry entries[3];
	struct syslet_uatom atoms[3];
	struct async_head_user ahu;
	__s64 rets[3];
	__u64 slots[4];

	ring_init(&ahu, slots, 4);
	getppid_batch(entries, atoms, rets, 3);
	atoms[1].flags = 1ULL << 40;
	ASSERT_EQ(3, async_exec_batch(entries, 3, &ahu, 0));
	EXPECT_EQ((long)uptr(&atoms[0]), entries[0].result);
	EXPECT_EQ(-EINVAL, entries[1].result);
	EXPECT_EQ(SENTINEL, rets[1]);
	EXPECT_EQ((long)uptr(&atoms[2]), entries[2].result);
	EXPECT_EQ(getppid(), rets[2]);

	/* Entries that cannot be read end the batch where they start. */
	EXPECT_EQ(-1, async_exec_batch((struct syslet_batch_entry *)8, 1,
				       &ahu, 0));
	EXPECT_EQ(EFAULT, errno);
}

#define MISSES	100

/*
 * A chain that blocks ends the batch: the caller goes on in another task
 * and returns how many entries were consumed, the blocked one's result
 * 0, the next one not run. Many times over, so that the caller is taken
 * over by new spares and by tasks that finished an earlier chain, whose
 * ways back to user space differ.
 */
TEST(a_chain_that_blocks_ends_the_batch_and_the_caller_gets_the_count)
{
	struct syslet_batch_entry entries[3];
	struct syslet_uatom atoms[3];
	struct async_head_user ahu;
	struct pipe_read pr;
	pid_t tid = gettid();
	__s64 rets[3];
	__u64 slots[4];
	int i;

	ring_init(&ahu, slots, 4);
	for (i = 0; i < MISSES; i++) {
		ASSERT_EQ(0, pipe_read_init(&pr, 0));
		getppid_batch(entries, atoms, rets, 3);
		entries[1].atom = uptr(&pr.atom);
		ASSERT_EQ(2, async_exec_batch(entries, 3, &ahu, 0));
		EXPECT_EQ(tid, gettid());
		EXPECT_EQ((long)uptr(&atoms[0]), entries[0].result);
		EXPECT_EQ(0, entries[1].result);
		EXPECT_EQ(SENTINEL, entries[2].result);
		EXPECT_EQ(SENTINEL, rets[2]);
		ASSERT_EQ(1, write(pr.fds[1], "b", 1));
		ASSERT_EQ(uptr(&pr.atom), ring_next(&ahu, slots, 4));
		EXPECT_EQ(1, pr.ret);
		pipe_read_fini(&pr);
	}
	EXPECT_EQ(0, ahu.sync_chains);
}

static atomic_int usr1_seen;

static void count_usr1(int sig)
{
	usr1_seen++;
}

/* A signal an atom raises is delivered before the next chain runs. */
TEST(a_pending_signal_ends_the_batch_between_chains)
{
	struct syslet_batch_entry entries[3];
	struct syslet_uatom atoms[3];
	struct async_head_user ahu;
	__u64 pid = getpid(), sig = SIGUSR1;
	__s64 rets[3];
	__u64 slots[4];

	ASSERT_NE(SIG_ERR, signal(SIGUSR1, count_usr1));
	ring_init(&ahu, slots, 4);
	getppid_batch(entries, atoms, rets, 3);
	atom_set(&atoms[0], __NR_kill, &rets[0], NULL, 0, &pid, &sig,
		 NULL, NULL, NULL, NULL);
	ASSERT_EQ(1, async_exec_batch(entries, 3, &ahu, 0));
	EXPECT_EQ(1, usr1_seen);
	EXPECT_EQ(0, rets[0]);
	EXPECT_EQ(SENTINEL, rets[1]);
	signal(SIGUSR1, SIG_DFL);
}

/*
 * With SYSLET_AHU_EAGAIN_AT_LIMIT and no spare to be had, the batch stops
 * before the chain that would need one, -EAGAIN if it is the first, and
 * nothing of it has run.
 */
TEST(no_spare_with_eagain_at_limit_stops_the_batch)
{
	struct syslet_batch_entry entries[2];
	struct syslet_uatom atoms[2];
	struct async_head_user ahu;
	struct pipe_read pr;
	int max_spares;
	__s64 rets[2];
	__u64 slots[4];

	ASSERT_EQ(0, read_int_file(SYSLET_PROC "max_spares", &max_spares));
	ASSERT_EQ(0, write_int_file(SYSLET_PROC "max_spares", 1));
	ring_init(&ahu, slots, 4);
	ASSERT_EQ(0, pipe_read_init(&pr, 0));
	/* The one spare there is goes on with this caller. */
	ASSERT_EQ(0, async_exec(&pr.atom, &ahu));
	ahu.flags = SYSLET_AHU_EAGAIN_AT_LIMIT;
	getppid_batch(entries, atoms, rets, 2);
	EXPECT_EQ(-1, async_exec_batch(entries, 2, &ahu, 0));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(SENTINEL, rets[0]);
	EXPECT_EQ(SENTINEL, rets[1]);
	EXPECT_EQ(0, ahu.sync_chains);
	ASSERT_EQ(1, write(pr.fds[1], "e", 1));
	EXPECT_EQ(uptr(&pr.atom), ring_next(&ahu, slots, 4));
	pipe_read_fini(&pr);
	write_int_file(SYSLET_PROC "max_spares", max_spares);
}

TEST_HARNESS_MAIN
