// SPDX-License-Identifier: GPL-2.0
/*
 * Synchronous atom chains: flow control, result feeding, chain length and
 * shape, and every way a chain is refused before anything runs.
 */
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/time.h>

#include "../kselftest_harness.h"
#include "syslet_test.h"

static long run(struct syslet_uatom *a)
{
	struct async_head_user ahu = head_plain();

	return async_exec(a, &ahu);
}

TEST(single_atom_returns_its_address_and_result)
{
	struct syslet_uatom a;
	__s64 ret = SENTINEL;

	ATOM0(&a, __NR_getppid, &ret, NULL, 0);
	EXPECT_EQ((long)uptr(&a), run(&a));
	EXPECT_EQ(getppid(), ret);
}

TEST(null_ret_ptr_discards_and_null_arg_ptr_passes_zero)
{
	struct syslet_uatom a[2];
	__s64 pgid = SENTINEL;

	/* getpgid(0): the caller's own process group. */
	ATOM0(&a[0], __NR_getpgid, &pgid, &a[1], 0);
	ATOM0(&a[1], __NR_getppid, NULL, NULL, 0);
	EXPECT_EQ((long)uptr(&a[1]), run(a));
	EXPECT_EQ(getpgid(0), pgid);
}

TEST(results_feed_open_read_close)
{
	static const char text[] = "syslet feeding test\n";
	char path[] = "/tmp/syslet-feed-XXXXXX";
	char buf[64] = { };
	struct syslet_uatom a[3];
	__s64 fd = SENTINEL, nread = SENTINEL, closed = SENTINEL;
	__u64 dirfd = (__u64)(long)AT_FDCWD, pathp = uptr(path);
	__u64 oflags = O_RDONLY, bufp = uptr(buf), len = sizeof(buf);
	int tmp = mkstemp(path);

	ASSERT_LE(0, tmp);
	ASSERT_EQ((ssize_t)strlen(text), write(tmp, text, strlen(text)));
	close(tmp);

	atom_set(&a[0], __NR_openat, &fd, &a[1], SYSLET_STOP_ON_NEGATIVE,
		 &dirfd, &pathp, &oflags, NULL, NULL, NULL);
	/* fd is both the first atom's result and the next atoms' argument. */
	ATOM3(&a[1], __NR_read, &nread, &a[2], 0, &fd, &bufp, &len);
	ATOM1(&a[2], __NR_close, &closed, NULL, 0, &fd);

	EXPECT_EQ((long)uptr(&a[2]), run(a));
	EXPECT_LE(0, fd);
	EXPECT_EQ((__s64)strlen(text), nread);
	EXPECT_STREQ(text, buf);
	EXPECT_EQ(0, closed);
	EXPECT_EQ(-1, fcntl((int)fd, F_GETFD));
	EXPECT_EQ(EBADF, errno);
	unlink(path);
}

TEST(failed_open_stops_before_read)
{
	struct syslet_uatom a[2];
	__s64 fd = SENTINEL, nread = SENTINEL;
	__u64 dirfd = (__u64)(long)AT_FDCWD;
	__u64 pathp = uptr("/nonexistent/syslet"), oflags = O_RDONLY;

	atom_set(&a[0], __NR_openat, &fd, &a[1], SYSLET_STOP_ON_NEGATIVE,
		 &dirfd, &pathp, &oflags, NULL, NULL, NULL);
	ATOM1(&a[1], __NR_read, &nread, NULL, 0, &fd);
	EXPECT_EQ((long)uptr(&a[0]), run(a));
	EXPECT_EQ(-ENOENT, fd);
	EXPECT_EQ(SENTINEL, nread);
}

/*
 * Every stop condition on both branches, with and without the skip branch.
 * Layout: pair[0] is the atom under test, pair[1] the skip target right
 * after it in memory, and other the atom its next points to.
 */
enum outcome { ZERO, POSITIVE, NEGATIVE };

FIXTURE(flow) {
	struct syslet_uatom pair[2], other;
	__s64 ret, skip_ret, next_ret;
};

FIXTURE_VARIANT(flow) {
	__u64 flags;
	enum outcome outcome;
	int stops;
};

FIXTURE_SETUP(flow)
{
	self->ret = SENTINEL;
	self->skip_ret = SENTINEL;
	self->next_ret = SENTINEL;
}

FIXTURE_TEARDOWN(flow)
{
}

FIXTURE_VARIANT_ADD(flow, NONZERO_ZERO) {
	.flags = SYSLET_STOP_ON_NONZERO, .outcome = ZERO, .stops = 0,
};

FIXTURE_VARIANT_ADD(flow, NONZERO_POSITIVE) {
	.flags = SYSLET_STOP_ON_NONZERO, .outcome = POSITIVE, .stops = 1,
};

FIXTURE_VARIANT_ADD(flow, NONZERO_NEGATIVE) {
	.flags = SYSLET_STOP_ON_NONZERO, .outcome = NEGATIVE, .stops = 1,
};

FIXTURE_VARIANT_ADD(flow, ZERO_ZERO) {
	.flags = SYSLET_STOP_ON_ZERO, .outcome = ZERO, .stops = 1,
};

FIXTURE_VARIANT_ADD(flow, ZERO_POSITIVE) {
	.flags = SYSLET_STOP_ON_ZERO, .outcome = POSITIVE, .stops = 0,
};

FIXTURE_VARIANT_ADD(flow, ZERO_NEGATIVE) {
	.flags = SYSLET_STOP_ON_ZERO, .outcome = NEGATIVE, .stops = 0,
};

FIXTURE_VARIANT_ADD(flow, NEGATIVE_ZERO) {
	.flags = SYSLET_STOP_ON_NEGATIVE, .outcome = ZERO, .stops = 0,
};

FIXTURE_VARIANT_ADD(flow, NEGATIVE_POSITIVE) {
	.flags = SYSLET_STOP_ON_NEGATIVE, .outcome = POSITIVE, .stops = 0,
};

FIXTURE_VARIANT_ADD(flow, NEGATIVE_NEGATIVE) {
	.flags = SYSLET_STOP_ON_NEGATIVE, .outcome = NEGATIVE, .stops = 1,
};

FIXTURE_VARIANT_ADD(flow, NON_POSITIVE_ZERO) {
	.flags = SYSLET_STOP_ON_NON_POSITIVE, .outcome = ZERO, .stops = 1,
};

FIXTURE_VARIANT_ADD(flow, NON_POSITIVE_POSITIVE) {
	.flags = SYSLET_STOP_ON_NON_POSITIVE, .outcome = POSITIVE, .stops = 0,
};

FIXTURE_VARIANT_ADD(flow, NON_POSITIVE_NEGATIVE) {
	.flags = SYSLET_STOP_ON_NON_POSITIVE, .outcome = NEGATIVE, .stops = 1,
};

static void flow_atom(struct syslet_uatom *a, enum outcome outcome, __s64 *ret,
		      struct syslet_uatom *next, __u64 flags)
{
	static const __u64 bad_fd = (__u64)-1;

	switch (outcome) {
	case ZERO:
		ATOM0(a, __NR_sched_yield, ret, next, flags);
		break;
	case POSITIVE:
		ATOM0(a, __NR_getppid, ret, next, flags);
		break;
	case NEGATIVE:
		ATOM1(a, __NR_close, ret, next, flags, &bad_fd);
		break;
	}
}

static void check_outcome(struct __test_metadata *_metadata,
			  enum outcome outcome, __s64 ret)
{
	if (outcome == ZERO)
		EXPECT_EQ(0, ret);
	if (outcome == POSITIVE)
		EXPECT_LT(0, ret);
	if (outcome == NEGATIVE)
		EXPECT_EQ(-EBADF, ret);
}

TEST_F(flow, stop_without_skip)
{
	long last;

	flow_atom(&self->pair[0], variant->outcome, &self->ret, &self->other,
		  variant->flags);
	ATOM0(&self->pair[1], __NR_getpid, &self->skip_ret, NULL, 0);
	ATOM0(&self->other, __NR_gettid, &self->next_ret, NULL, 0);

	last = run(self->pair);
	check_outcome(_metadata, variant->outcome, self->ret);
	EXPECT_EQ(SENTINEL, self->skip_ret);
	if (variant->stops) {
		EXPECT_EQ((long)uptr(&self->pair[0]), last);
		EXPECT_EQ(SENTINEL, self->next_ret);
	} else {
		EXPECT_EQ((long)uptr(&self->other), last);
		EXPECT_EQ(gettid(), self->next_ret);
	}
}

TEST_F(flow, stop_with_skip)
{
	long last;

	flow_atom(&self->pair[0], variant->outcome, &self->ret, &self->other,
		  variant->flags | SYSLET_SKIP_TO_NEXT_ON_STOP);
	ATOM0(&self->pair[1], __NR_getpid, &self->skip_ret, NULL, 0);
	ATOM0(&self->other, __NR_gettid, &self->next_ret, NULL, 0);

	last = run(self->pair);
	check_outcome(_metadata, variant->outcome, self->ret);
	if (variant->stops) {
		EXPECT_EQ((long)uptr(&self->pair[1]), last);
		EXPECT_EQ(getpid(), self->skip_ret);
		EXPECT_EQ(SENTINEL, self->next_ret);
	} else {
		EXPECT_EQ((long)uptr(&self->other), last);
		EXPECT_EQ(SENTINEL, self->skip_ret);
		EXPECT_EQ(gettid(), self->next_ret);
	}
}

TEST(branches_may_merge)
{
	/* a[0] -stop-> a[1] -> a[2];  a[0] -next-> a[2] */
	struct syslet_uatom a[3];
	__s64 r[3] = { SENTINEL, SENTINEL, SENTINEL };

	ATOM0(&a[0], __NR_getppid, &r[0], &a[2],
	      SYSLET_STOP_ON_NONZERO | SYSLET_SKIP_TO_NEXT_ON_STOP);
	ATOM0(&a[1], __NR_getpid, &r[1], &a[2], 0);
	ATOM0(&a[2], __NR_sched_yield, &r[2], NULL, 0);
	EXPECT_EQ((long)uptr(&a[2]), run(a));
	EXPECT_EQ(getppid(), r[0]);
	EXPECT_EQ(getpid(), r[1]);
	EXPECT_EQ(0, r[2]);
}

static void linear_chain(struct syslet_uatom *a, __s64 *r, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		r[i] = SENTINEL;
		ATOM0(&a[i], __NR_getppid, &r[i], i + 1 < n ? &a[i + 1] : NULL,
		      0);
	}
}

TEST(longest_chain_runs_every_atom)
{
	struct syslet_uatom a[SYSLET_MAX_ATOMS];
	__s64 r[SYSLET_MAX_ATOMS];
	int i;

	linear_chain(a, r, SYSLET_MAX_ATOMS);
	EXPECT_EQ((long)uptr(&a[SYSLET_MAX_ATOMS - 1]), run(a));
	for (i = 0; i < SYSLET_MAX_ATOMS; i++)
		EXPECT_EQ(getppid(), r[i]);
}

TEST(one_atom_too_many_is_refused)
{
	struct syslet_uatom a[SYSLET_MAX_ATOMS + 1];
	__s64 r[SYSLET_MAX_ATOMS + 1];
	int i;

	linear_chain(a, r, SYSLET_MAX_ATOMS + 1);
	EXPECT_EQ(-1, run(a));
	EXPECT_EQ(E2BIG, errno);
	for (i = 0; i <= SYSLET_MAX_ATOMS; i++)
		EXPECT_EQ(SENTINEL, r[i]);
}

TEST(cycles_are_refused)
{
	struct syslet_uatom a[3];
	__s64 r[3] = { SENTINEL, SENTINEL, SENTINEL };

	/* Self loop. */
	ATOM0(&a[0], __NR_getppid, &r[0], &a[0], 0);
	EXPECT_EQ(-1, run(a));
	EXPECT_EQ(ELOOP, errno);

	/* Through next: a0 -> a1 -> a2 -> a0. */
	ATOM0(&a[0], __NR_getppid, &r[0], &a[1], 0);
	ATOM0(&a[1], __NR_getppid, &r[1], &a[2], 0);
	ATOM0(&a[2], __NR_getppid, &r[2], &a[0], 0);
	EXPECT_EQ(-1, run(a));
	EXPECT_EQ(ELOOP, errno);

	/* Through the skip branch: a0 -skip-> a1 -next-> a0. */
	ATOM0(&a[0], __NR_getppid, &r[0], NULL,
	      SYSLET_STOP_ON_NONZERO | SYSLET_SKIP_TO_NEXT_ON_STOP);
	ATOM0(&a[1], __NR_getppid, &r[1], &a[0], 0);
	EXPECT_EQ(-1, run(a));
	EXPECT_EQ(ELOOP, errno);

	EXPECT_EQ(SENTINEL, r[0]);
	EXPECT_EQ(SENTINEL, r[1]);
	EXPECT_EQ(SENTINEL, r[2]);
}

TEST(unknown_syscall_is_enosys_result)
{
	struct syslet_uatom a[3];
	__s64 r[3] = { SENTINEL, SENTINEL, SENTINEL };

	ATOM0(&a[0], 400, &r[0], &a[1], 0);	/* a hole in the 64-bit table */
	ATOM0(&a[1], 100000, &r[1], &a[2], 0);	/* past the end */
	ATOM0(&a[2], __NR_getppid, &r[2], NULL, 0);
	EXPECT_EQ((long)uptr(&a[2]), run(a));
	EXPECT_EQ(unknown_syscall_result(), r[0]);
	EXPECT_EQ(unknown_syscall_result(), r[1]);
	EXPECT_EQ(getppid(), r[2]);
}

/*
 * Refused chains. The first atom writes one byte to a pipe; the atom under
 * test comes second. After the refusal the pipe must be empty and no
 * result stored: nothing ran and nothing was written.
 */
FIXTURE(refused) {
	struct syslet_uatom a[3];
	__s64 r[2];
	__u64 fd, buf, len;
	int pipefd[2];
};

FIXTURE_SETUP(refused)
{
	static const char byte = 'x';

	ASSERT_EQ(0, pipe2(self->pipefd, O_NONBLOCK));
	self->fd = self->pipefd[1];
	self->buf = uptr(&byte);
	self->len = 1;
	self->r[0] = SENTINEL;
	self->r[1] = SENTINEL;
	ATOM3(&self->a[0], __NR_write, &self->r[0], &self->a[1], 0,
	      &self->fd, &self->buf, &self->len);
	ATOM0(&self->a[1], __NR_getppid, &self->r[1], NULL, 0);
}

FIXTURE_TEARDOWN(refused)
{
	close(self->pipefd[0]);
	close(self->pipefd[1]);
}

/* The chain starting at @a is refused with @err: no result, no byte. */
static void check_refused(struct __test_metadata *_metadata,
			  struct syslet_uatom *a, const __s64 *r, int readfd,
			  int err)
{
	char c;

	EXPECT_EQ(-1, run(a));
	EXPECT_EQ(err, errno);
	EXPECT_EQ(SENTINEL, r[0]);
	EXPECT_EQ(SENTINEL, r[1]);
	EXPECT_EQ(-1, read(readfd, &c, 1));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(refused, control_chain_runs)
{
	char c;

	EXPECT_EQ((long)uptr(&self->a[1]), run(self->a));
	EXPECT_EQ(1, self->r[0]);
	EXPECT_EQ(1, read(self->pipefd[0], &c, 1));
}

TEST_F(refused, unknown_flag_bits)
{
	int bit;

	for (bit = 8; bit < 64; bit++) {
		self->a[1].flags = 1ULL << bit;
		check_refused(_metadata, self->a, self->r, self->pipefd[0], EINVAL);
	}
}

TEST_F(refused, reserved_field)
{
	self->a[1].reserved = 1;
	check_refused(_metadata, self->a, self->r, self->pipefd[0], EINVAL);
}

TEST_F(refused, async_with_sync)
{
	self->a[1].flags = SYSLET_ASYNC | SYSLET_SYNC;
	check_refused(_metadata, self->a, self->r, self->pipefd[0], EINVAL);
}

TEST_F(refused, skip_without_stop_condition)
{
	self->a[1].flags = SYSLET_SKIP_TO_NEXT_ON_STOP;
	check_refused(_metadata, self->a, self->r, self->pipefd[0], EINVAL);
}

TEST_F(refused, nr_above_int_max)
{
	self->a[1].nr = 1ULL << 31;
	check_refused(_metadata, self->a, self->r, self->pipefd[0], EINVAL);
	self->a[1].nr = ~0ULL;
	check_refused(_metadata, self->a, self->r, self->pipefd[0], EINVAL);
}

/* The refused calls of include/uapi/linux/syslet.h, in its order. */
static const long refused_nrs[] = {
	__NR_fork, __NR_vfork, __NR_clone, __NR_clone3, __NR_execve,
	__NR_execveat, __NR_exit, __NR_exit_group, __NR_rt_sigreturn,
	__NR_restart_syscall, __NR_uretprobe,
	__NR_async_exec, __NR_async_exec_batch, __NR_async_wait,
	__NR_async_thread,
	__NR_threadlet_on, __NR_threadlet_off, __NR_threadlet_lease,
	__NR_rt_sigprocmask, __NR_rt_sigsuspend, __NR_pause,
	__NR_sigaltstack, __NR_ppoll, __NR_pselect6, __NR_epoll_pwait,
	__NR_epoll_pwait2, __NR_io_pgetevents, __NR_rt_sigtimedwait,
	__NR_set_robust_list, __NR_set_tid_address, __NR_rseq,
	__NR_arch_prctl, __NR_set_thread_area,
	__NR_prctl, __NR_seccomp, __NR_personality, __NR_unshare,
	__NR_setns, __NR_iopl, __NR_ioperm, __NR_set_mempolicy,
	__NR_landlock_restrict_self, __NR_lsm_set_self_attr,
	__NR_setuid, __NR_setgid, __NR_setreuid, __NR_setregid,
	__NR_setresuid, __NR_setresgid, __NR_setfsuid, __NR_setfsgid,
	__NR_setgroups, __NR_capset,
	__NR_sched_setaffinity, __NR_sched_setscheduler,
	__NR_sched_setparam, __NR_sched_setattr, __NR_setpriority,
	__NR_ioprio_set, __NR_ptrace, __NR_perf_event_open,
	__NR_pkey_alloc,
	__NR_io_uring_setup, __NR_io_uring_enter,
	__NR_io_uring_register, __NR_add_key, __NR_request_key,
	__NR_keyctl,
};

TEST_F(refused, every_refused_syscall)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(refused_nrs); i++) {
		self->a[1].nr = refused_nrs[i];
		TH_LOG("syscall %ld", refused_nrs[i]);
		check_refused(_metadata, self->a, self->r, self->pipefd[0], EINVAL);
	}
}

static int nr_is_refused(long nr)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(refused_nrs); i++)
		if (refused_nrs[i] == nr)
			return 1;
	return 0;
}

/*
 * Every other number below the x32 range is accepted: read and checked,
 * never run, since the atom before it stops the chain. With the list
 * above this is the whole classification the host test checks against
 * the system call table.
 */
TEST(every_syscall_number_classified)
{
	struct syslet_uatom a[2];
	__s64 first, ret;
	long nr, last;

	for (nr = 0; nr < 512; nr++) {
		if (nr_is_refused(nr))
			continue;
		ret = SENTINEL;
		ATOM0(&a[0], __NR_getppid, &first, &a[1], SYSLET_STOP_ON_NONZERO);
		ATOM0(&a[1], nr, &ret, NULL, 0);
		last = run(a);
		if (last != (long)uptr(&a[0]))
			TH_LOG("system call %ld refused: %s", nr, strerror(errno));
		EXPECT_EQ((long)uptr(&a[0]), last);
		EXPECT_EQ(SENTINEL, ret);
	}
}

/* Flags are read when the atom runs: so is this refusal. */
TEST(close_range_unshare_is_refused_when_it_runs)
{
	struct syslet_uatom a;
	__s64 ret = SENTINEL;
	__u64 fd, flags = CLOSE_RANGE_UNSHARE;

	fd = dup(STDERR_FILENO);
	ASSERT_LE(0, (long)fd);
	ATOM3(&a, __NR_close_range, &ret, NULL, 0, &fd, &fd, &flags);
	EXPECT_EQ((long)uptr(&a), run(&a));
	EXPECT_EQ(-EINVAL, ret);
	EXPECT_EQ(0, fcntl(fd, F_GETFD));	/* not closed, not unshared */

	flags = 0;
	EXPECT_EQ((long)uptr(&a), run(&a));
	EXPECT_EQ(0, ret);
	EXPECT_EQ(-1, fcntl(fd, F_GETFD));
}

TEST_F(refused, first_atom_unmapped)
{
	struct syslet_uatom *bad = unmapped_page();

	EXPECT_EQ(-1, run(bad));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, run(NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, run((void *)0xffff888000000000ULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(refused, next_unmapped)
{
	self->a[1].next = uptr(unmapped_page());
	check_refused(_metadata, self->a, self->r, self->pipefd[0], EFAULT);
}

TEST_F(refused, skip_target_unmapped)
{
	/* The atom right before an unmapped page, with a skip branch. */
	long pg = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct syslet_uatom *last;

	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + pg, pg));
	last = (struct syslet_uatom *)(map + pg) - 1;
	*last = self->a[1];
	last->flags = SYSLET_STOP_ON_NONZERO | SYSLET_SKIP_TO_NEXT_ON_STOP;
	self->a[0].next = uptr(last);
	check_refused(_metadata, self->a, self->r, self->pipefd[0], EFAULT);
	munmap(map, pg);
}

/*
 * A result is stored, and was probed, with a locked instruction: one that
 * straddles a cache line raises #AC in the kernel where split locks are
 * detected. Misaligned result and argument words are refused.
 */
static alignas(64) __u64 cache_line[16];

TEST_F(refused, misaligned_ret_ptr)
{
	int offset;

	for (offset = 4; offset <= 60; offset += 56) {
		TH_LOG("ret_ptr at offset %d of a cache line", offset);
		self->a[1].ret_ptr = uptr((char *)cache_line + offset);
		check_refused(_metadata, self->a, self->r, self->pipefd[0], EINVAL);
	}
}

TEST_F(refused, each_arg_ptr_misaligned)
{
	int i;

	for (i = 0; i < 6; i++) {
		self->a[0].arg_ptr[i] = uptr((char *)cache_line + 60);
		TH_LOG("arg_ptr[%d]", i);
		check_refused(_metadata, self->a, self->r, self->pipefd[0], EINVAL);
		self->a[0].arg_ptr[i] = i < 3 ? uptr(&self->fd + i) : 0;
	}
}

/* The /proc/self/pagemap entry of the page holding @p; 0 on error. */
#define PM_PRESENT	(UINT64_C(1) << 63)
#define PM_EXCLUSIVE	(UINT64_C(1) << 56)
#define PM_PFN		((UINT64_C(1) << 55) - 1)

static __u64 pagemap_entry(const void *p)
{
	long pg = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	__u64 e = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (uintptr_t)p / pg * sizeof(e)) != sizeof(e))
		e = 0;
	close(fd);
	return e;
}

/* kB of dirty pages in the mapping that starts at @p, per smaps; or -1. */
static long smaps_dirty_kb(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long start, end, kb;
	long dirty = -1;
	char line[256];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			if (dirty >= 0)
				break;
			if (start == (uintptr_t)p)
				dirty = 0;
		} else if (dirty >= 0 &&
			   (sscanf(line, "Shared_Dirty: %lu kB", &kb) == 1 ||
			    sscanf(line, "Private_Dirty: %lu kB", &kb) == 1)) {
			dirty += kb;
		}
	}
	fclose(f);
	return dirty;
}

/*
 * Checking a chain writes nothing: a ret_ptr in a page that fork() shares
 * copy-on-write with a child is still shared after a refused chain.
 */
TEST_F(refused, checking_ret_ptr_breaks_no_copy_on_write)
{
	long pg = sysconf(_SC_PAGESIZE);
	__s64 *page = mmap(NULL, pg, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 before, after;
	int hold[2], status;
	pid_t child;
	char c;

	ASSERT_NE(MAP_FAILED, page);
	*page = SENTINEL;
	ASSERT_EQ(0, pipe(hold));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		close(hold[1]);
		_exit(read(hold[0], &c, 1) < 0);
	}
	before = pagemap_entry(page);
	ASSERT_TRUE(before & PM_PRESENT);
	ASSERT_FALSE(before & PM_EXCLUSIVE);	/* the child maps it too */

	/* Atom 0 is checked, then atom 1 refuses the chain. */
	self->a[0].ret_ptr = uptr(page);
	self->a[1].flags = 1ULL << 40;
	check_refused(_metadata, self->a, self->r, self->pipefd[0], EINVAL);
	after = pagemap_entry(page);
	EXPECT_EQ(before & PM_PFN, after & PM_PFN);
	EXPECT_FALSE(after & PM_EXCLUSIVE);
	EXPECT_EQ(SENTINEL, *page);

	close(hold[1]);
	EXPECT_EQ(0, wait_child(child, &status, 0));
	close(hold[0]);
	munmap(page, pg);
}

/* ...and a ret_ptr in a clean page of a shared file mapping stays clean. */
TEST_F(refused, checking_ret_ptr_dirties_no_shared_page)
{
	long pg = sysconf(_SC_PAGESIZE);
	int fd = memfd_create("syslet-shared", MFD_CLOEXEC);
	__s64 *page;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, pg));
	page = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, page);
	/* Mapped by a read: present, clean. */
	ASSERT_EQ(0, __atomic_load_n(page, __ATOMIC_RELAXED));
	ASSERT_EQ(0, smaps_dirty_kb((void *)page));

	self->a[0].ret_ptr = uptr((void *)page);
	self->a[1].flags = 1ULL << 40;
	check_refused(_metadata, self->a, self->r, self->pipefd[0], EINVAL);
	EXPECT_EQ(0, smaps_dirty_kb((void *)page));
	EXPECT_EQ(0, __atomic_load_n(page, __ATOMIC_RELAXED));
	munmap((void *)page, pg);
	close(fd);
}

TEST_F(refused, ret_ptr_read_only)
{
	long pg = sysconf(_SC_PAGESIZE);
	__s64 *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	self->a[1].ret_ptr = uptr(ro);
	check_refused(_metadata, self->a, self->r, self->pipefd[0], EFAULT);
	EXPECT_EQ(0, *ro);
	munmap(ro, pg);
}

TEST_F(refused, ret_ptr_unmapped_or_kernel)
{
	self->a[1].ret_ptr = uptr(unmapped_page());
	check_refused(_metadata, self->a, self->r, self->pipefd[0], EFAULT);
	self->a[1].ret_ptr = 0xffff888000000000ULL;
	check_refused(_metadata, self->a, self->r, self->pipefd[0], EFAULT);
}

/*
 * The mapping a chain's results went to is kept for the next chain, until
 * mmap_lock is next taken for writing: made read-only or unmapped in
 * between, by this thread or another, it refuses the next chain.
 */
enum unwritable_how { BY_MPROTECT, BY_MUNMAP, BY_MAP_FIXED, BY_ANOTHER_THREAD };

struct unwritable {
	void *page;
	long size;
	enum unwritable_how how;
};

static void *make_unwritable(void *arg)
{
	struct unwritable *u = arg;

	switch (u->how) {
	case BY_MUNMAP:
		return (void *)(long)munmap(u->page, u->size);
	case BY_MAP_FIXED:
		return mmap(u->page, u->size, PROT_READ,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
		       u->page ? NULL : (void *)-1L;
	default:
		return (void *)(long)mprotect(u->page, u->size, PROT_READ);
	}
}

TEST_F(refused, ret_ptr_made_unwritable_after_a_chain_stored_there)
{
	struct unwritable u = { .size = sysconf(_SC_PAGESIZE) };
	void *made;
	pthread_t t;
	char c;

	for (u.how = BY_MPROTECT; u.how <= BY_ANOTHER_THREAD; u.how++) {
		TH_LOG("how %d", u.how);
		u.page = mmap(NULL, u.size, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, u.page);
		/* Both results there: one mapping for the chain. */
		self->a[0].ret_ptr = uptr(u.page) + sizeof(__s64);
		self->a[1].ret_ptr = uptr(u.page);
		ASSERT_EQ((long)uptr(&self->a[1]), run(self->a));
		ASSERT_EQ(1, read(self->pipefd[0], &c, 1));
		ASSERT_EQ(getppid(), *(__s64 *)u.page);

		if (u.how == BY_ANOTHER_THREAD) {
			ASSERT_EQ(0, pthread_create(&t, NULL, make_unwritable, &u));
			ASSERT_EQ(0, pthread_join(t, &made));
		} else {
			made = make_unwritable(&u);
		}
		ASSERT_EQ(NULL, made);
		check_refused(_metadata, self->a, self->r, self->pipefd[0],
			      EFAULT);
		munmap(u.page, u.size);
	}
}

TEST_F(refused, each_arg_ptr_unmapped)
{
	void *bad = unmapped_page();
	int i;

	for (i = 0; i < 6; i++) {
		self->a[1].arg_ptr[i] = uptr(bad);
		TH_LOG("arg_ptr[%d]", i);
		check_refused(_metadata, self->a, self->r, self->pipefd[0], EFAULT);
		self->a[1].arg_ptr[i] = 0;
	}
}

/* An earlier atom unmaps the page a later atom stores its result in. */
TEST(result_store_failing_at_run_time_is_efault)
{
	long pg = sysconf(_SC_PAGESIZE);
	__s64 *page = mmap(NULL, pg, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 addr = uptr(page), len = pg;
	struct syslet_uatom a[2];
	__s64 unmapped = SENTINEL;

	ASSERT_NE(MAP_FAILED, page);
	ATOM3(&a[0], __NR_munmap, &unmapped, &a[1], 0, &addr, &len, NULL);
	ATOM0(&a[1], __NR_getppid, page, NULL, 0);
	EXPECT_EQ(-1, run(a));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, unmapped);
}

/* Editing the chain after submission has no effect: it was read up front. */
static void *edit_chain(void *arg)
{
	struct syslet_uatom *a = arg;

	usleep(100 * 1000);
	a[1].nr = __NR_getpid;
	return NULL;
}

TEST(chain_is_read_once)
{
	struct syslet_uatom a[2];
	__s64 slept = SENTINEL, r = SENTINEL;
	struct timespec ts = { .tv_nsec = 300 * 1000 * 1000 };
	__u64 tsp = uptr(&ts);
	pthread_t t;

	ATOM1(&a[0], __NR_nanosleep, &slept, &a[1], 0, &tsp);
	ATOM0(&a[1], __NR_getppid, &r, NULL, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, edit_chain, a));
	EXPECT_EQ((long)uptr(&a[1]), run(a));
	pthread_join(t, NULL);
	EXPECT_EQ(0, slept);
	EXPECT_EQ(__NR_getpid, a[1].nr);
	EXPECT_EQ(getppid(), r);
}

static atomic_int signals;

static void on_signal(int sig)
{
	signals++;
}

static void catch(int sig, int flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = flags };

	signals = 0;
	sigaction(sig, &sa, NULL);
}

static void alarm_in_ms(int ms)
{
	struct itimerval it = { .it_value.tv_usec = ms * 1000 };

	setitimer(ITIMER_REAL, &it, NULL);
}

/* An atom that reads from an empty pipe blocks until a signal or a write. */
FIXTURE(blocked_read) {
	struct syslet_uatom read_atom;
	__s64 nread;
	char buf[8];
	__u64 fd, bufp, len;
	int pipefd[2];
};

FIXTURE_SETUP(blocked_read)
{
	ASSERT_EQ(0, pipe(self->pipefd));
	memset(self->buf, 0, sizeof(self->buf));
	self->nread = SENTINEL;
	self->fd = self->pipefd[0];
	self->bufp = uptr(self->buf);
	self->len = sizeof(self->buf);
	ATOM3(&self->read_atom, __NR_read, &self->nread, NULL, 0,
	      &self->fd, &self->bufp, &self->len);
}

FIXTURE_TEARDOWN(blocked_read)
{
	close(self->pipefd[0]);
	close(self->pipefd[1]);
}

/* The first atom, blocked and interrupted, has not run: nor has the call. */
TEST_F(blocked_read, interrupted_first_atom_fails_the_call_with_eintr)
{
	struct syslet_uatom after_atom;
	__s64 after = SENTINEL;

	catch(SIGALRM, 0);	/* no SA_RESTART: a direct read() fails too */
	self->read_atom.next = uptr(&after_atom);
	ATOM0(&after_atom, __NR_getppid, &after, NULL, 0);
	alarm_in_ms(100);
	EXPECT_EQ(-1, run(&self->read_atom));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(SENTINEL, self->nread);
	EXPECT_EQ(SENTINEL, after);
	EXPECT_EQ(1, signals);
}

static void *write_later(void *arg)
{
	usleep(400 * 1000);
	return (void *)(long)write(*(int *)arg, "z", 1);
}

TEST_F(blocked_read, interrupted_first_atom_restarts_with_sa_restart)
{
	struct syslet_uatom after_atom;
	__s64 after = SENTINEL;
	pthread_t writer;

	catch(SIGALRM, SA_RESTART);
	self->read_atom.next = uptr(&after_atom);
	ATOM0(&after_atom, __NR_getppid, &after, NULL, 0);
	ASSERT_EQ(0, pthread_create(&writer, NULL, write_later,
				    &self->pipefd[1]));
	alarm_in_ms(100);
	EXPECT_EQ((long)uptr(&after_atom), run(&self->read_atom));
	pthread_join(writer, NULL);
	EXPECT_EQ(1, self->nread);
	EXPECT_EQ('z', self->buf[0]);
	EXPECT_EQ(getppid(), after);
	EXPECT_EQ(1, signals);
}

/* A later atom interrupted before it did anything: the chain ends before it. */
TEST_F(blocked_read, interrupted_later_atom_ends_the_chain_before_it)
{
	struct syslet_uatom first_atom;
	__s64 first = SENTINEL;

	catch(SIGALRM, 0);
	ATOM0(&first_atom, __NR_getppid, &first, &self->read_atom, 0);
	alarm_in_ms(100);
	EXPECT_EQ((long)uptr(&first_atom), run(&first_atom));
	EXPECT_EQ(getppid(), first);
	EXPECT_EQ(SENTINEL, self->nread);
	EXPECT_EQ(1, signals);
}

/* A signal that arrives between atoms ends the chain and is delivered. */
TEST(pending_signal_ends_the_chain_after_the_atom)
{
	struct syslet_uatom a[2];
	__s64 killed = SENTINEL, after = SENTINEL;
	__u64 pid = getpid(), sig = SIGUSR1;

	catch(SIGUSR1, SA_RESTART);
	ATOM3(&a[0], __NR_kill, &killed, &a[1], 0, &pid, &sig, NULL);
	ATOM0(&a[1], __NR_getppid, &after, NULL, 0);
	EXPECT_EQ((long)uptr(&a[0]), run(a));
	EXPECT_EQ(0, killed);
	EXPECT_EQ(SENTINEL, after);
	EXPECT_EQ(1, signals);
}

/*
 * close() releases the file through task_work; the next atom must see it
 * released, as the next system call would: its flock() lock is gone.
 */
TEST(task_work_runs_between_atoms)
{
	char path[] = "/tmp/syslet-flock-XXXXXX";
	struct syslet_uatom a[3];
	__s64 closed = SENTINEL, fd2 = SENTINEL, locked = SENTINEL;
	__u64 fd1, dirfd = (__u64)(long)AT_FDCWD, pathp = uptr(path);
	__u64 oflags = O_RDWR, op = LOCK_EX | LOCK_NB;
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, flock(fd, LOCK_EX));
	fd1 = fd;
	ATOM1(&a[0], __NR_close, &closed, &a[1], 0, &fd1);
	atom_set(&a[1], __NR_openat, &fd2, &a[2], SYSLET_STOP_ON_NEGATIVE,
		 &dirfd, &pathp, &oflags, NULL, NULL, NULL);
	atom_set(&a[2], __NR_flock, &locked, NULL, 0, &fd2, &op,
		 NULL, NULL, NULL, NULL);
	EXPECT_EQ((long)uptr(&a[2]), run(a));
	EXPECT_EQ(0, closed);
	EXPECT_LE(0, fd2);
	EXPECT_EQ(0, locked);
	close((int)fd2);
	unlink(path);
}

static void *chain_loop(void *arg)
{
	long bad = 0;
	int i;

	for (i = 0; i < 2000; i++) {
		struct syslet_uatom a[4];
		__s64 r[4];

		linear_chain(a, r, 4);
		if (run(a) != (long)uptr(&a[3]) || r[0] != getppid() ||
		    r[3] != getppid())
			bad++;
	}
	return (void *)bad;
}

TEST(threads_run_chains_concurrently)
{
	pthread_t t[4];
	void *bad;
	int i;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, chain_loop, NULL));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &bad));
		EXPECT_EQ(0, (long)bad);
	}
}

TEST(forked_child_runs_chains)
{
	struct syslet_uatom a;
	__s64 r = SENTINEL;
	int status;
	pid_t pid;

	ATOM0(&a, __NR_getpid, &r, NULL, 0);
	ASSERT_EQ((long)uptr(&a), run(&a));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(run(&a) == (long)uptr(&a) && r == getpid() ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
