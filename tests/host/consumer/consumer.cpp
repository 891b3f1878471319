// SPDX-License-Identifier: GPL-2.0
// A program outside the tree, built against the installed library only
// (tests/host/install_test.sh): a write -> read chain through a pipe, the
// read's length fed from the write's result, on the fallback pool where
// the kernel has no syslets. Exits 0 and says "consumer: ok" when the
// bytes came through.
#include <syslet/syslet.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>

int main()
{
	int p[2];
	if (pipe(p)) {
		std::perror("pipe");
		return 1;
	}
	std::optional<syslet::thread_pool> pool;
	if (!syslet::kernel_support())
		pool.emplace(1);
	syslet::completion_ring ring(4, pool ? &*pool : nullptr);

	static const char msg[] = "through a chain";
	char got[sizeof(msg)] = {};
	syslet::chain c{syslet::sys::write(p[1], msg, sizeof(msg)) |
				syslet::opt::stop_on_non_positive,
			syslet::sys::read(p[0], got, syslet::prev_result)};

	auto st = syslet::submit(ring, c);
	if (!st) {
		std::fprintf(stderr, "submit: %s\n", st.error().message().c_str());
		return 1;
	}
	while (!c.done()) {
		if (auto w = ring.wait(); !w) {
			std::fprintf(stderr, "wait: %s\n", w.error().message().c_str());
			return 1;
		}
		while (ring.pop())
			;
	}
	auto n = c.ret(1);
	if (!n || *n != sizeof(msg) || std::memcmp(got, msg, sizeof(msg))) {
		std::fprintf(stderr, "consumer: the chain read back %lld bytes, \"%s\"\n",
			     n ? static_cast<long long>(*n) : -1LL, got);
		return 1;
	}
	std::printf("consumer: ok (%s, ABI %d)\n",
		    ring.uses_kernel() ? "syslets" : "fallback pool", SYSLET_ABI_VERSION);
	return 0;
}
