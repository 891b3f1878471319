// SPDX-License-Identifier: GPL-2.0
// tools/lib/syslet/syslet.hpp against the patched kernel, in the guest:
// chains and threadlets take the kernel path, and behave as documented.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/syscall.h>
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
	FILE *p = popen(cmd, "r");
	char buf[4096];
	std::size_t n;

	out.clear();
	if (!p)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		out.append(buf, n);
	return pclose(p);
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
