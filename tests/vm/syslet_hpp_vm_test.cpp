// SPDX-License-Identifier: GPL-2.0
// tools/lib/syslet/syslet.hpp against the patched kernel, in the guest:
// chains and threadlets take the kernel path, and behave as documented.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/auxv.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "syslet.hpp"
#include "../threadlet_test_util.hpp"

namespace sys = syslet::sys;
namespace opt = syslet::opt;

namespace {

syslet::threadlet_pool::options kernel_pool(unsigned threads)
{
	syslet::threadlet_pool::options o;
	o.threads = threads;
	o.ring_entries = 64;
	return o;
}

struct pipe_pair {
	int fd[2];
	pipe_pair() { EXPECT_EQ(0, pipe(fd)); }
	~pipe_pair()
	{
		close(fd[0]);
		close(fd[1]);
	}
};

} // namespace

TEST(SysletKernel, ProbeFindsSyslets)
{
	EXPECT_TRUE(syslet::kernel_support().usable());
	EXPECT_EQ(SYSLET_ABI_VERSION, syslet::kernel_support().abi_version);
}

TEST(SysletKernel, ChainCompletesThroughTheRingWhenItBlocks)
{
	syslet::completion_ring ring(8);
	pipe_pair in, out;
	char buf[8] = {};

	ASSERT_TRUE(ring.uses_kernel());
	syslet::chain copy{sys::read(in.fd[0], buf, sizeof(buf)) | opt::stop_on_non_positive,
			   sys::write(out.fd[1], buf, syslet::prev_result)};
	auto st = syslet::submit(ring, copy);
	ASSERT_TRUE(st.has_value());
	EXPECT_EQ(syslet::status::pending, *st);
	ASSERT_EQ(5, write(in.fd[1], "hello", 5));
	ASSERT_TRUE(ring.wait(1, std::chrono::seconds(10)).has_value());
	auto c = ring.pop();
	ASSERT_TRUE(c.has_value());
	EXPECT_EQ(&copy, c->chain);
	char got[8] = {};
	ASSERT_EQ(5, read(out.fd[0], got, sizeof(got)));
	EXPECT_STREQ("hello", got);
	EXPECT_EQ(0u, ring.sync_chains());
}

// One async_exec_batch() call until a chain blocks, the next call for the
// rest: every chain has what submit() alone would have given it.
TEST(SysletKernel, ABatchSubmitsEachChainAsSubmitDoes)
{
	syslet::completion_ring ring(8);
	pipe_pair in;
	char buf[8] = {};
	syslet::chain first{sys::call(__NR_getppid)};
	syslet::chain blocks{sys::read(in.fd[0], buf, sizeof(buf))};
	syslet::chain refused{sys::call(__NR_fork)};
	syslet::chain last{sys::call(__NR_getppid)};
	syslet::chain_base *chains[] = {&first, &blocks, &refused, &last};
	syslet::result<syslet::status> out[4];

	syslet::submit(ring, chains, out);
	ASSERT_TRUE(out[0]);
	EXPECT_EQ(syslet::status::completed, *out[0]);
	EXPECT_EQ(getppid(), first.ret(0).value());
	ASSERT_TRUE(out[1]);
	EXPECT_EQ(syslet::status::pending, *out[1]);
	EXPECT_FALSE(out[2]);
	ASSERT_TRUE(out[3]);
	EXPECT_EQ(syslet::status::completed, *out[3]);
	EXPECT_EQ(getppid(), last.ret(0).value());
	ASSERT_EQ(2, write(in.fd[1], "hi", 2));
	ASSERT_TRUE(ring.wait(1, std::chrono::seconds(10)).has_value());
	auto c = ring.pop();
	ASSERT_TRUE(c.has_value());
	EXPECT_EQ(&blocks, c->chain);
	EXPECT_EQ(2, blocks.ret(0).value());
	EXPECT_EQ(0u, ring.sync_chains());
}

TEST(SysletKernel, CachedThreadletRunsOnALentThreadsTlsAndStack)
{
	syslet::threadlet_pool pool(kernel_pool(2));
	const pid_t me = gettid();
	pid_t inside = 0;
	bool on_stack = false;
	int *errno_there = nullptr;

	ASSERT_TRUE(pool.uses_kernel());
	errno = 0;
	auto r = syslet::threadlet_exec(pool, 1, [&] {
		int here;
		inside = gettid();
		on_stack = on_a_pool_stack(pool, &here);
		errno_there = &errno;
		close(-1);
	});
	ASSERT_TRUE(r.has_value()) << r.error().message();
	EXPECT_EQ(1, *r);
	EXPECT_EQ(me, inside);
	EXPECT_TRUE(on_stack);
	EXPECT_NE(&errno, errno_there);
	EXPECT_EQ(0, errno);
	EXPECT_EQ(0u, pool.ran_in_place());
	EXPECT_EQ(0u, pool.in_flight());
}

// The thread's first threadlet leases a pool thread (threadlet_lease(2));
// from then on a threadlet that does not block makes no system call: a
// seccomp filter that kills at any call but exit_group() lets 1000 run.
TEST(SysletKernel, CachedThreadletsOnALeaseMakeNoSystemCall)
{
	if (!(getauxval(AT_HWCAP2) & 2))
		GTEST_SKIP() << "no FSGSBASE: threadlets take threadlet_on() there";
	const pid_t child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		syslet::threadlet_pool pool(kernel_pool(1));
		int ran = 0, elsewhere = 0;

		auto first = syslet::threadlet_exec(pool, 1, [&] { ran++; });
		if (!first || *first != 1)
			_exit(2);
		sock_filter filter[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		};
		sock_fprog prog = {4, filter};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
			_exit(3);
		for (int i = 0; i < 1000; i++) {
			auto r = syslet::threadlet_exec(pool, 1, [&] {
				int here;
				ran++;
				elsewhere += !on_a_pool_stack(pool, &here);
			});
			if (!r || *r != 1)
				syscall(__NR_exit_group, 4);
		}
		syscall(__NR_exit_group, ran == 1001 && !elsewhere ? 0 : 5);
	}
	int status = 0;
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status)
				       << ": a system call";
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST(SysletKernel, BlockedThreadletGoesOnInALentThread)
{
	syslet::threadlet_pool pool(kernel_pool(2));
	pipe_pair p;
	const pid_t me = gettid();
	std::atomic<pid_t> before{0}, after{0};
	char c = 0;

	auto r = syslet::threadlet_exec(pool, 42, [&] {
		before = gettid();
		if (read(p.fd[0], &c, 1) == 1)
			after = gettid();
	});
	ASSERT_TRUE(r.has_value());
	EXPECT_EQ(0, *r);
	EXPECT_EQ(me, gettid());
	EXPECT_EQ(me, syscall(SYS_gettid));
	ASSERT_EQ(1, write(p.fd[1], "k", 1));
	EXPECT_EQ(42u, next_event(pool));
	EXPECT_EQ('k', c);
	EXPECT_EQ(me, before.load());
	EXPECT_NE(0, after.load());
	EXPECT_NE(me, after.load());
}

TEST(SysletKernel, ManyBlockedThreadletsCompleteOnce)
{
	syslet::threadlet_pool pool(kernel_pool(4));
	pipe_pair p;
	constexpr int n = 200;
	std::vector<int> seen(n + 1);
	std::atomic<int> ran{0};

	for (int i = 1; i <= n; i++) {
		auto r = syslet::threadlet_exec(pool, i, [&] {
			char c;
			if (read(p.fd[0], &c, 1) == 1)
				ran++;
		});
		ASSERT_TRUE(r.has_value());
		ASSERT_EQ(0, *r);
		ASSERT_EQ(1, write(p.fd[1], "x", 1));
		std::uint64_t e = next_event(pool);
		ASSERT_TRUE(e >= 1 && e <= n);
		seen[e]++;
	}
	EXPECT_EQ(n, ran.load());
	for (int i = 1; i <= n; i++)
		EXPECT_EQ(1, seen[i]) << i;
}

TEST(SysletKernelDeathTest, GuardPageStopsAnOverflowInTheCaller)
{
	EXPECT_EXIT({
		static char alt[64 * 1024];
		syslet::threadlet_pool pool(kernel_pool(1));
		stack_t ss{};

		ss.ss_sp = alt;
		ss.ss_size = sizeof(alt);
		sigaltstack(&ss, nullptr);
		exit_42_on_a_guard_fault(pool);
		(void)syslet::threadlet_exec(pool, 1, [] { overflow_the_stack(); });
		_exit(2);
	}, testing::ExitedWithCode(42), "");
}

// The examples in tools/lib/syslet/examples, as a user would run them.
static int run(const char *cmd, std::string &out)
{
	return run_command(cmd, out);
}

TEST(SysletExamples, ChainedCopyCopiesAFile)
{
	std::string out;

	ASSERT_EQ(0, run("/bin/chained_copy /bin/busybox > /tmp/copy && "
			 "cmp /bin/busybox /tmp/copy && echo same", out));
	EXPECT_EQ("same\n", out);
}

TEST(SysletExamples, SeedThreadletReadsFiles)
{
	std::string out;

	ASSERT_EQ(0, run("/bin/threadlet_read /init /nonexistent", out));
	EXPECT_NE(std::string::npos, out.find("/init: "));
	EXPECT_NE(std::string::npos, out.find(" bytes\n"));
	EXPECT_NE(std::string::npos, out.find("/nonexistent: No such file or directory"));
	EXPECT_NE(std::string::npos, out.find("(kernel threadlets)"));
}

TEST(SysletExamples, ServerServesEveryClient)
{
	std::string out;

	ASSERT_EQ(0, run("/bin/threadlet_server 32", out));
	EXPECT_EQ(0u, out.find("32 of 32 clients served correctly;"));
	// How many moved depends on timing (the late clients sleep 20 ms);
	// that blocked threadlets move is the kselftests' and the tests above.
	EXPECT_NE(std::string::npos, out.find("(kernel threadlets)"));
}

TEST(SysletExamples, CoroutineServerServesEveryClient)
{
	std::string out;

	ASSERT_EQ(0, run("/bin/coroutine_server 32", out));
	EXPECT_EQ(0u, out.find("32 of 32 clients served correctly by coroutines;")) << out;
	EXPECT_NE(std::string::npos, out.find("(kernel syslets)")) << out;
}

TEST(SysletExamples, AsioServerServesEveryRequest)
{
	std::string out;

	ASSERT_EQ(0, run("/bin/asio_server 24", out));
	EXPECT_EQ(0u, out.find("24 of 24 requests served correctly by Asio with syslets")) << out;
	EXPECT_NE(std::string::npos, out.find("(kernel syslets)")) << out;
}

namespace {

struct coro_seen {
	bool ended = false;
	pid_t tid_before = 0, tid_after = 0;
	long value = 0;
};

syslet::detached await_both(syslet::completion_ring &ring, syslet::threadlet_pool &pool,
			    int fd, int block_fd, coro_seen &seen)
{
	char byte = 0;
	syslet::chain read_cached{sys::pread(fd, &byte, 1, 0)};
	seen.tid_before = gettid();
	(void)co_await syslet::async(ring, read_cached);
	auto r = co_await syslet::threadlet(pool, [block_fd] {
		long v = 0;
		if (block_fd >= 0 && read(block_fd, &v, sizeof(v)) != sizeof(v))
			v = -1;
		return v + 1;
	});
	seen.value = r.value_or(-100);
	seen.tid_after = gettid();
	seen.ended = true;
}

} // namespace

// On the kernel the cached path of both awaiters does not suspend: the
// coroutine has ended when the call that started it returns. A threadlet
// that blocks resumes it from the pool's pop(), in the same task as
// before (the caller's identity stays with the caller).
TEST(SysletKernel, CoroutinesSuspendOnlyWhenTheWorkBlocks)
{
	syslet::completion_ring ring(8);
	syslet::threadlet_pool pool(kernel_pool(2));
	pipe_pair p;
	const int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	char warm;
	ASSERT_EQ(1, pread(fd, &warm, 1, 0));

	coro_seen cached;
	await_both(ring, pool, fd, -1, cached);
	EXPECT_TRUE(cached.ended);
	EXPECT_EQ(1, cached.value);

	coro_seen blocked;
	await_both(ring, pool, fd, p.fd[0], blocked);
	EXPECT_FALSE(blocked.ended);
	const long v = 41;
	ASSERT_EQ(static_cast<ssize_t>(sizeof(v)), write(p.fd[1], &v, sizeof(v)));
	while (!blocked.ended) {
		ASSERT_EQ(syslet::wait_status::ready, *pool.wait(1, std::chrono::seconds(10)));
		EXPECT_FALSE(pool.pop());
	}
	EXPECT_EQ(42, blocked.value);
	EXPECT_EQ(blocked.tid_before, blocked.tid_after);
	EXPECT_EQ(gettid(), blocked.tid_after);
	close(fd);
}

// The kernel completes most chains inside async_exec() and posts nothing
// for them; with post_inline the ring delivers those too, so a consumer
// that counts one completion per submission (the reader of many files
// that hung) sees every one, as on the fallback.
TEST(SysletKernel, PostInlineDeliversEveryChainOnce)
{
	syslet::completion_ring ring(16, syslet::ring_options{.post_inline = true});
	pipe_pair p;
	char cached = 0, piped[100] = {};
	const int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_TRUE(ring.uses_kernel());
	std::vector<std::unique_ptr<syslet::chain<1>>> chains;
	int inline_done = 0, pending = 0, popped = 0;

	for (int i = 0; i < 300; i++) {
		auto &c = *chains.emplace_back(std::make_unique<syslet::chain<1>>());
		// Every third blocks on the pipe until the byte written below.
		const syslet::op o = i % 3 == 2 ? sys::read(p.fd[0], &piped[i / 3], 1)
						: sys::pread(fd, &cached, 1, 0);
		ASSERT_TRUE(c.add(o));
		auto s = syslet::submit(ring, c);
		ASSERT_TRUE(s) << i;
		(*s == syslet::status::completed ? inline_done : pending)++;
		if (i % 3 == 2) {
			ASSERT_EQ(1, write(p.fd[1], "p", 1));
		}
		for (auto got : ring.completions())
			popped += got.chain != nullptr;
	}
	while (popped < 300) {
		ASSERT_EQ(syslet::wait_status::ready, *ring.wait(1, std::chrono::seconds(10)))
			<< popped;
		for (auto got : ring.completions())
			popped += got.chain != nullptr;
	}
	EXPECT_EQ(300, popped);
	EXPECT_FALSE(ring.pop());
	EXPECT_LT(0, inline_done);
	EXPECT_LT(0, pending);
	for (auto &c : chains)
		EXPECT_TRUE(c->done());
	close(fd);
}

// A pool of one lent thread whose threadlet blocked has no thread for the
// next one: if_busy::fail is EAGAIN with nothing run (the kernel refuses
// before switching), if_busy::wait waits until the lent thread is back,
// and if_busy::run_inline runs it in the caller.
TEST(SysletKernel, ABusyPoolFailsWaitsOrRunsInlineAsAsked)
{
	using syslet::if_busy;
	for (if_busy busy : {if_busy::run_inline, if_busy::fail, if_busy::wait}) {
		auto o = kernel_pool(1);
		o.when_busy = busy;
		syslet::threadlet_pool pool(o);
		pipe_pair p;
		const pid_t me = gettid();
		std::atomic<pid_t> ran_on{0};
		std::jthread opener;

		auto first = syslet::threadlet_exec(pool, 1, [&] {
			char c;
			(void)!read(p.fd[0], &c, 1);
		});
		ASSERT_TRUE(first);
		ASSERT_EQ(0, *first);
		if (busy == if_busy::wait)
			opener = std::jthread([&] {
				wait_until_asleep(me);
				(void)!write(p.fd[1], "w", 1);
			});
		auto r = syslet::threadlet_exec(pool, 2, [&] { ran_on = gettid(); });
		switch (busy) {
		case if_busy::run_inline:
			ASSERT_TRUE(r);
			EXPECT_EQ(1, *r);
			EXPECT_EQ(me, ran_on.load());
			EXPECT_EQ(1u, pool.ran_in_place());
			break;
		case if_busy::fail:
			ASSERT_FALSE(r);
			EXPECT_EQ(EAGAIN, r.error().value());
			EXPECT_EQ(0, ran_on.load());
			EXPECT_EQ(0u, pool.ran_in_place());
			break;
		case if_busy::wait:
			ASSERT_TRUE(r);
			EXPECT_NE(0, ran_on.load());	// on the lent thread's stack, as me
			EXPECT_EQ(0u, pool.ran_in_place());
			break;
		}
		if (busy != if_busy::wait) {
			ASSERT_EQ(1, write(p.fd[1], "w", 1));
		}
		EXPECT_EQ(1u, next_event(pool));
		if (busy == if_busy::wait && *r == 0) {
			EXPECT_EQ(2u, next_event(pool));
		}
	}
}

// The kernel signals a ring's eventfd once a completion can be taken, and
// a threadlet pool's for its events: poll() on both is an event loop.
TEST(SysletKernel, RingsAndPoolsSignalTheirEventfds)
{
	// Closed after the ring and the pool are gone: they signal them.
	struct owned_fd {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		~owned_fd() { close(fd); }
	} ring_owned, pool_owned;
	const int ring_efd = ring_owned.fd, pool_efd = pool_owned.fd;
	ASSERT_LE(0, ring_efd);
	ASSERT_LE(0, pool_efd);
	syslet::completion_ring ring(8, syslet::ring_options{.eventfd = ring_efd});
	auto o = kernel_pool(1);
	o.eventfd = pool_efd;
	syslet::threadlet_pool pool(o);
	pipe_pair p, q;
	char c = 0;
	syslet::chain blocked{sys::read(p.fd[0], &c, 1)};
	struct pollfd fds[2] = {{ring_efd, POLLIN, 0}, {pool_efd, POLLIN, 0}};

	ASSERT_TRUE(ring.uses_kernel());
	ASSERT_EQ(syslet::status::pending, *syslet::submit(ring, blocked));
	auto r = syslet::threadlet_exec(pool, 9, [&] {
		char d;
		(void)!read(q.fd[0], &d, 1);
	});
	ASSERT_TRUE(r);
	ASSERT_EQ(0, *r);
	EXPECT_EQ(0, poll(fds, 2, 0));
	ASSERT_EQ(1, write(p.fd[1], "r", 1));
	ASSERT_EQ(1, write(q.fd[1], "t", 1));
	int seen = 0;
	while (seen < 2) {
		ASSERT_LT(0, poll(fds, 2, 10000));
		std::uint64_t n;
		if ((fds[0].revents & POLLIN) && read(ring_efd, &n, sizeof(n)) == sizeof(n)) {
			auto got = ring.pop();
			ASSERT_TRUE(got);
			EXPECT_EQ(&blocked, got->chain);
			seen++;
		}
		if ((fds[1].revents & POLLIN) && read(pool_efd, &n, sizeof(n)) == sizeof(n)) {
			EXPECT_EQ(9u, pool.pop());
			seen++;
		}
	}
	EXPECT_EQ('r', c);
}
