// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Copy a file to stdout with one chain, read -> write, submitted again
// until the read finds the end. The kernel runs it where it has syslets;
// elsewhere a one-thread pool does, with the same ring and the same code.
//
//	g++ -std=c++20 -O2 -I include/uapi -I tools/lib/syslet
//		tools/lib/syslet/examples/chained_copy.cpp -pthread -o chained_copy
//	./chained_copy FILE
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "syslet.hpp"

namespace sys = syslet::sys;
namespace opt = syslet::opt;

// A short write (a pipe reader that is slow, say) finishes by hand;
// 0 or an errno.
static int write_rest(const char *buf, std::int64_t from, std::int64_t to)
{
	while (from < to) {
		ssize_t n = write(STDOUT_FILENO, buf + from, to - from);
		if (n < 0 && errno != EINTR)
			return errno;
		from += n > 0 ? n : 0;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		std::perror(argv[1]);
		return 1;
	}

	// No hidden threads: the application decides that it wants a pool.
	std::optional<syslet::thread_pool> pool;
	if (!syslet::kernel_support())
		pool.emplace(1);
	syslet::completion_ring ring(4, pool ? &*pool : nullptr);

	static char buf[64 * 1024];
	syslet::chain copy{
		sys::read(fd, buf, sizeof(buf)) | opt::stop_on_non_positive,
		sys::write(STDOUT_FILENO, buf, syslet::prev_result)};

	std::fprintf(stderr, "chained_copy: %s\n",
		     ring.uses_kernel() ? "syslets" : "fallback thread pool");
	for (;;) {
		auto st = syslet::submit(ring, copy);
		if (!st) {
			std::fprintf(stderr, "submit: %s\n", std::strerror(st.error().value()));
			return 1;
		}
		while (*st == syslet::status::pending && !copy.done()) {
			if (auto w = ring.wait(); !w && w.error() != std::errc::interrupted) {
				std::fprintf(stderr, "wait: %s\n", std::strerror(w.error().value()));
				return 1;
			}
			while (ring.pop())	// the only chain on this ring
				;
		}
		auto got = copy.ret(0);
		if (!got) {
			std::fprintf(stderr, "read: %s\n", std::strerror(got.error().value()));
			return 1;
		}
		if (*got == 0)
			break;
		auto put = copy.ret(1);
		int err = put ? write_rest(buf, *put, *got) : put.error().value();
		if (err) {
			std::fprintf(stderr, "write: %s\n", std::strerror(err));
			return 1;
		}
	}
	close(fd);
	return 0;
}
