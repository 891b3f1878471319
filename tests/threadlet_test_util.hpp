// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the host and VM GoogleTest suites of the C++ library.
 */
#ifndef SYSLET_THREADLET_TEST_UTIL_HPP
#define SYSLET_THREADLET_TEST_UTIL_HPP

#include <chrono>
#include <cstdint>

#include "syslet.hpp"

// The next event of @pool, or 0 when none arrives within about 10 s or
// the wait fails.
inline std::uint64_t next_event(syslet::threadlet_pool &pool)
{
	for (int i = 0; i < 1000; i++) {
		if (auto e = pool.pop())
			return *e;
		if (!pool.wait(1, std::chrono::milliseconds(10)).ok())
			return 0;
	}
	return 0;
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

#endif /* SYSLET_THREADLET_TEST_UTIL_HPP */
