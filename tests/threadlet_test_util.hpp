// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the host and VM GoogleTest suites of the C++ library.
 */
#ifndef SYSLET_THREADLET_TEST_UTIL_HPP
#define SYSLET_THREADLET_TEST_UTIL_HPP

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "syslet.hpp"

// The next event of @pool, or 0 when none arrives within about 10 s or
// the wait fails.
inline std::uint64_t next_event(syslet::threadlet_pool &pool)
{
	for (int i = 0; i < 1000; i++) {
		if (auto e = pool.pop())
			return *e;
		if (!pool.wait(1, std::chrono::milliseconds(10)))
			return 0;
	}
	return 0;
}

// Until @thread sleeps (in the kernel, where a condition variable or
// async_wait() waits): how a test knows another thread is inside its wait.
inline void wait_until_asleep(pid_t thread)
{
	char path[64], stat[512];
	std::snprintf(path, sizeof(path), "/proc/self/task/%d/stat", thread);
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, stat, sizeof(stat) - 1);
		close(fd);
		const char *paren = n > 0 ? (stat[n] = 0, std::strrchr(stat, ')')) : nullptr;
		if (!paren || paren[2] == 'S')
			return;
		std::this_thread::yield();
	}
}

// Runs @cmd with sh, its standard output in @out; the exit status as
// pclose() gives it, or -1.
inline int run_command(const std::string &cmd, std::string &out)
{
	FILE *p = popen(cmd.c_str(), "r");
	char buf[4096];
	std::size_t n;

	out.clear();
	if (!p)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		out.append(buf, n);
	return pclose(p);
}

// Whether @p lies on one of the stacks @pool made.
inline bool on_a_pool_stack(const syslet::threadlet_pool &pool, const void *p)
{
	for (const syslet::stack_region &s : pool.stacks()) {
		auto *lo = static_cast<const char *>(s.base);
		if (p >= lo && p < lo + s.size)
			return true;
	}
	return false;
}

// From now on a SIGSEGV exits with 42 if it hit a guard page of @pool,
// with 1 otherwise (a death test's verdict); on the alternate stack, as
// the faulting stack has no room left.
inline void exit_42_on_a_guard_fault(const syslet::threadlet_pool &pool)
{
	static const syslet::threadlet_pool *p;
	struct sigaction sa {};

	p = &pool;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sa.sa_sigaction = [](int, siginfo_t *si, void *) {
		for (const syslet::stack_region &s : p->stacks()) {
			auto *g = static_cast<const char *>(s.guard);
			if (si->si_addr >= g && si->si_addr < g + s.guard_size)
				_exit(42);
		}
		_exit(1);
	};
	sigaction(SIGSEGV, &sa, nullptr);
}

// Recurse, 1 KiB a frame, until the stack runs out.
inline void overflow_the_stack()
{
	std::function<int(int)> deep = [&](int n) {
		volatile char pad[1024];
		pad[0] = static_cast<char>(n);
		return n ? deep(n - 1) + pad[0] : 0;
	};
	(void)deep(1 << 20);
}

#endif /* SYSLET_THREADLET_TEST_UTIL_HPP */
