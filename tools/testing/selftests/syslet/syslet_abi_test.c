// SPDX-License-Identifier: GPL-2.0
/*
 * The syslet ABI at its edges: the probe, the sysctl switch, the system
 * calls that are wired but not implemented yet, and every check on
 * struct async_head_user.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "syslet_test.h"

TEST(probe_reports_abi_version)
{
	int version = 0, enabled = -1;

	ASSERT_EQ(0, read_int_file(SYSLET_PROC "abi_version", &version));
	EXPECT_EQ(SYSLET_ABI_VERSION, version);
	ASSERT_EQ(0, read_int_file(SYSLET_PROC "enabled", &enabled));
	EXPECT_EQ(1, enabled);
}

TEST(abi_version_is_read_only)
{
	EXPECT_EQ(-1, open(SYSLET_PROC "abi_version", O_WRONLY));
	EXPECT_EQ(EACCES, errno);
}

TEST(async_wait_needs_a_ring)
{
	struct async_head_user ahu = head_plain();

	EXPECT_EQ(-1, async_wait(1, 0, &ahu, NULL));
	EXPECT_EQ(EINVAL, errno);
}

TEST(threadlet_calls_check_their_head)
{
	struct async_head_user ahu = head_plain();

	ahu.eventfd = 1;	/* without SYSLET_AHU_EVENTFD */
	EXPECT_EQ(-1, syscall(__NR_async_thread, 0, &ahu, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, syscall(__NR_threadlet_on, 0, 0, &ahu));
	EXPECT_EQ(EINVAL, errno);
	ahu.eventfd = 0;
	ahu.size = SYSLET_AHU_SIZE_VER0 - 8;
	EXPECT_EQ(-1, syscall(__NR_threadlet_on, 0, 0, &ahu));
	EXPECT_EQ(EINVAL, errno);
}

TEST(disabled_facility_refuses_with_eperm)
{
	struct async_head_user ahu = head_plain();
	struct syslet_uatom a;
	__s64 ret = SENTINEL;

	ATOM0(&a, __NR_getppid, &ret, NULL, 0);
	ASSERT_EQ(0, write_int_file(SYSLET_PROC "enabled", 0));
	EXPECT_EQ(-1, async_exec(&a, &ahu));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, syscall(__NR_async_wait, 1, 0, &ahu, NULL));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, syscall(__NR_async_thread, 0, &ahu, 0));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, syscall(__NR_threadlet_on, 0, 0, &ahu));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, syscall(__NR_threadlet_lease, NULL, &ahu, 0));
	EXPECT_EQ(EPERM, errno);
	/* Not in a threadlet: ending one is refused, disabled or not. */
	EXPECT_EQ(-1, syscall(__NR_threadlet_off));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(SENTINEL, ret);
	ASSERT_EQ(0, write_int_file(SYSLET_PROC "enabled", 1));
	EXPECT_EQ((long)uptr(&a), async_exec(&a, &ahu));
	EXPECT_EQ(getppid(), ret);
}

TEST(enabled_accepts_only_zero_one_and_two)
{
	EXPECT_EQ(-1, write_int_file(SYSLET_PROC "enabled", 3));
	EXPECT_EQ(-1, write_int_file(SYSLET_PROC "enabled", -1));
	EXPECT_EQ(-1, write_int_file(SYSLET_PROC "group", -2));
	ASSERT_EQ(0, write_int_file(SYSLET_PROC "enabled", 1));
}

/*
 * In a child that takes @gid as its only group and @uid, no capability
 * left: 0 if async_exec() and async_wait() are allowed, 1 if both fail
 * with EPERM, 2 or more for anything else.
 */
static int allowed_as(uid_t uid, gid_t gid)
{
	struct async_head_user ahu = head_plain();
	struct syslet_uatom a;
	__s64 ret = SENTINEL;
	int status;
	pid_t pid;
	long r;

	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
		    setresuid(uid, uid, uid))
			_exit(3);
		ATOM0(&a, __NR_getppid, &ret, NULL, 0);
		r = async_exec(&a, &ahu);
		if (r == (long)uptr(&a) && ret == getppid())
			/* Allowed: a plain head has no ring, hence EINVAL. */
			_exit(async_wait(1, 0, &ahu, NULL) == -1 &&
			      errno == EINVAL ? 0 : 4);
		if (r != -1 || errno != EPERM || ret != SENTINEL)
			_exit(5);
		_exit(async_wait(1, 0, &ahu, NULL) == -1 &&
		      errno == EPERM ? 1 : 6);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 7;
	return WEXITSTATUS(status);
}

/*
 * enabled = 2 admits CAP_SYS_ADMIN and the members of the configured
 * group only, as io_uring_disabled = 1 does with io_uring_group.
 */
TEST(enabled_two_admits_only_the_group_and_cap_sys_admin)
{
	struct async_head_user ahu = head_plain();
	struct syslet_uatom a;
	__s64 ret = SENTINEL;

	if (geteuid() != 0)
		SKIP(return, "needs root to change the policy");
	ASSERT_EQ(0, allowed_as(4242, 4242));
	ASSERT_EQ(0, write_int_file(SYSLET_PROC "group", -1));
	ASSERT_EQ(0, write_int_file(SYSLET_PROC "enabled", 2));
	ATOM0(&a, __NR_getppid, &ret, NULL, 0);
	EXPECT_EQ((long)uptr(&a), async_exec(&a, &ahu));
	EXPECT_EQ(getppid(), ret);
	EXPECT_EQ(1, allowed_as(4242, 4242));
	EXPECT_EQ(0, write_int_file(SYSLET_PROC "group", 4242));
	EXPECT_EQ(0, allowed_as(4242, 4242));
	EXPECT_EQ(1, allowed_as(4242, 4243));
	EXPECT_EQ(0, write_int_file(SYSLET_PROC "group", -1));
	ASSERT_EQ(0, write_int_file(SYSLET_PROC "enabled", 1));
	EXPECT_EQ(0, allowed_as(4242, 4243));
}

/* A count over every process is not for one user to watch another's. */
TEST(lost_completions_is_for_root_only)
{
	unsigned long lost;
	struct stat sb;
	int status;
	pid_t pid;
	FILE *f;

	if (geteuid() != 0)
		SKIP(return, "needs root to read it");
	ASSERT_EQ(0, stat(SYSLET_PROC "lost_completions", &sb));
	EXPECT_EQ(0400, sb.st_mode & 07777);
	f = fopen(SYSLET_PROC "lost_completions", "r");
	ASSERT_NE(NULL, f);
	EXPECT_EQ(1, fscanf(f, "%lu", &lost));
	fclose(f);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setresuid(65534, 65534, 65534))
			_exit(2);
		_exit(open(SYSLET_PROC "lost_completions", O_RDONLY) == -1 &&
		      errno == EACCES ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * One refused head per variant. Each run submits a chain whose first atom
 * writes to a pipe, and checks that it did not run and that its result was
 * not stored.
 */
FIXTURE(head) {
	__u64 big[1024];	/* room for a head larger than the kernel's */
	struct async_head_user *ahu;
	struct syslet_uatom atom;
	__s64 ret;
	int pipefd[2];
};

FIXTURE_VARIANT(head) {
	int (*corrupt)(struct async_head_user *ahu, __u64 *ring);
	int expected_errno;
};

FIXTURE_SETUP(head)
{
	static const char byte = 'x';
	static __u64 fd_val, buf_val, len_val = 1;

	memset(self->big, 0, sizeof(self->big));
	self->ahu = (struct async_head_user *)self->big;
	self->ahu->size = sizeof(*self->ahu);
	self->ret = SENTINEL;
	ASSERT_EQ(0, pipe2(self->pipefd, O_NONBLOCK));
	fd_val = self->pipefd[1];
	buf_val = uptr(&byte);
	ATOM3(&self->atom, __NR_write, &self->ret, NULL, 0,
	      &fd_val, &buf_val, &len_val);
}

FIXTURE_TEARDOWN(head)
{
	close(self->pipefd[0]);
	close(self->pipefd[1]);
}

static __u64 test_ring[8];

static int size_zero(struct async_head_user *ahu, __u64 *ring)
{
	ahu->size = 0;
	return 0;
}

static int size_one_field(struct async_head_user *ahu, __u64 *ring)
{
	ahu->size = 8;
	return 0;
}

static int size_one_short(struct async_head_user *ahu, __u64 *ring)
{
	ahu->size = SYSLET_AHU_SIZE_VER0 - 1;
	return 0;
}

static int size_bigger_nonzero_tail(struct async_head_user *ahu, __u64 *ring)
{
	ahu->size = sizeof(*ahu) + 8;
	((__u64 *)ahu)[sizeof(*ahu) / 8] = 1;
	return 0;
}

static int size_over_page(struct async_head_user *ahu, __u64 *ring)
{
	ahu->size = 8192;
	return 0;
}

static int unknown_flags(struct async_head_user *ahu, __u64 *ring)
{
	ahu->flags = ~SYSLET_AHU_VALID_FLAGS;
	return 0;
}

static int eventfd_without_flag(struct async_head_user *ahu, __u64 *ring)
{
	ahu->eventfd = 1ULL << 63;
	return 0;
}

static int ring_three_entries(struct async_head_user *ahu, __u64 *ring)
{
	ahu->completion_ring = uptr(ring);
	ahu->ring_size_bytes = 3 * 8;
	return 0;
}

static int ring_odd_bytes(struct async_head_user *ahu, __u64 *ring)
{
	ahu->completion_ring = uptr(ring);
	ahu->ring_size_bytes = 4 * 8 + 4;
	return 0;
}

static int ring_without_size(struct async_head_user *ahu, __u64 *ring)
{
	ahu->completion_ring = uptr(ring);
	return 0;
}

static int size_without_ring(struct async_head_user *ahu, __u64 *ring)
{
	ahu->ring_size_bytes = 64;
	return 0;
}

static int ring_misaligned(struct async_head_user *ahu, __u64 *ring)
{
	ahu->completion_ring = uptr(ring) + 4;
	ahu->ring_size_bytes = 32;
	return 0;
}

static int ring_kernel_address(struct async_head_user *ahu, __u64 *ring)
{
	ahu->completion_ring = 0xffff888000000000ULL;
	ahu->ring_size_bytes = 64;
	return 0;
}

FIXTURE_VARIANT_ADD(head, size_zero) {
	.corrupt = size_zero, .expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(head, size_one_field) {
	.corrupt = size_one_field, .expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(head, size_one_short) {
	.corrupt = size_one_short, .expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(head, size_bigger_nonzero_tail) {
	.corrupt = size_bigger_nonzero_tail, .expected_errno = E2BIG,
};

FIXTURE_VARIANT_ADD(head, size_over_page) {
	.corrupt = size_over_page, .expected_errno = E2BIG,
};

FIXTURE_VARIANT_ADD(head, unknown_flags) {
	.corrupt = unknown_flags, .expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(head, eventfd_without_flag) {
	.corrupt = eventfd_without_flag, .expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(head, ring_three_entries) {
	.corrupt = ring_three_entries, .expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(head, ring_odd_bytes) {
	.corrupt = ring_odd_bytes, .expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(head, ring_without_size) {
	.corrupt = ring_without_size, .expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(head, size_without_ring) {
	.corrupt = size_without_ring, .expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(head, ring_misaligned) {
	.corrupt = ring_misaligned, .expected_errno = EINVAL,
};

FIXTURE_VARIANT_ADD(head, ring_kernel_address) {
	.corrupt = ring_kernel_address, .expected_errno = EFAULT,
};

TEST_F(head, refused_before_anything_runs)
{
	char c;

	ASSERT_EQ(0, variant->corrupt(self->ahu, test_ring));
	EXPECT_EQ(-1, async_exec(&self->atom, self->ahu));
	EXPECT_EQ(variant->expected_errno, errno);
	EXPECT_EQ(SENTINEL, self->ret);
	EXPECT_EQ(-1, read(self->pipefd[0], &c, 1));
	EXPECT_EQ(EAGAIN, errno);
}

static long set_ran(void *arg)
{
	*(int *)arg = 1;
	return 0;
}

/*
 * The kernel updates a head's counters with locked instructions, which
 * must not straddle a cache line: a head 8 bytes short of alignment is
 * refused by every call that takes one, before anything runs.
 */
TEST(misaligned_head_is_einval)
{
	static alignas(64) __u64 line[24];
	static __u64 slots[4];
	struct async_head_user good;
	struct async_head_user *ahu;
	struct syslet_uatom a;
	__s64 ret = SENTINEL;
	int offset, ran = 0;

	for (offset = 4; offset <= 60; offset += 56) {
		TH_LOG("head at offset %d of a cache line", offset);
		ahu = (struct async_head_user *)((char *)line + offset);
		ring_init(&good, slots, 4);
		memcpy((char *)ahu, &good, sizeof(good));
		ATOM0(&a, __NR_getppid, &ret, NULL, 0);
		EXPECT_EQ(-1, async_exec(&a, ahu));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, async_wait(1, 0, ahu, &ten_ms));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-EINVAL, threadlet_exec(set_ran, &ran, ahu, 1));
		EXPECT_EQ(0, ran);
		EXPECT_EQ(SENTINEL, ret);

		good = head_plain();
		memcpy((char *)ahu, &good, sizeof(good));
		EXPECT_EQ(-1, async_exec(&a, ahu));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(SENTINEL, ret);
	}
}

TEST(head_unmapped_is_efault)
{
	struct syslet_uatom a;
	__s64 ret = SENTINEL;

	ATOM0(&a, __NR_getppid, &ret, NULL, 0);
	EXPECT_EQ(-1, async_exec(&a, unmapped_page()));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(SENTINEL, ret);
}

/* No head is no ring: the chain runs to its end, as with a ringless one. */
TEST(head_null_runs_the_chain_synchronously)
{
	struct syslet_uatom a[2];
	__s64 ret[2] = { SENTINEL, SENTINEL };

	ATOM0(&a[0], __NR_getppid, &ret[0], &a[1], 0);
	ATOM0(&a[1], __NR_getpid, &ret[1], NULL, 0);
	EXPECT_EQ((long)uptr(&a[1]), async_exec(&a[0], NULL));
	EXPECT_EQ(getppid(), ret[0]);
	EXPECT_EQ(getpid(), ret[1]);
}

TEST(bigger_head_with_zero_tail_is_accepted)
{
	__u64 big[16] = { };
	struct async_head_user *ahu = (struct async_head_user *)big;
	struct syslet_uatom a;
	__s64 ret = SENTINEL;

	ahu->size = sizeof(big);
	ATOM0(&a, __NR_getppid, &ret, NULL, 0);
	EXPECT_EQ((long)uptr(&a), async_exec(&a, ahu));
	EXPECT_EQ(getppid(), ret);
}

TEST(sync_chain_leaves_head_and_ring_alone)
{
	__u64 ring[16];
	struct async_head_user ahu = head_plain(), before;
	struct syslet_uatom a;
	__s64 ret = SENTINEL;
	int i;

	for (i = 0; i < 16; i++)
		ring[i] = 0xdead0000 + i;
	ahu.completion_ring = uptr(ring);
	ahu.ring_size_bytes = sizeof(ring);
	ahu.kernel_ring_idx = 5;
	ahu.user_ring_idx = 3;
	before = ahu;
	ATOM0(&a, __NR_getppid, &ret, NULL, 0);
	EXPECT_EQ((long)uptr(&a), async_exec(&a, &ahu));
	EXPECT_EQ(0, memcmp(&before, &ahu, sizeof(ahu)));
	for (i = 0; i < 16; i++)
		EXPECT_EQ(0xdead0000 + i, ring[i]);
}

TEST_HARNESS_MAIN
