// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * coroutine_server - one coroutine per client, written as straight-line
 * code: read the request with a chain, compute the answer in a threadlet,
 * write it with a chain. What does not block goes on without suspending
 * (no allocation, no thread woken); what blocks resumes from the loop
 * that drives the ring and the pool. Same code, same output, on a kernel
 * with syslets and on the fallback.
 *
 *	coroutine_server [clients]	(default 32)
 */
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>
#include <vector>

#include "syslet.hpp"

namespace sys = syslet::sys;

struct client {
	int server_fd = -1, client_fd = -1;
	bool ok = false;
	std::thread t;
};

struct server {
	syslet::completion_ring &ring;
	syslet::threadlet_pool &pool;
	int served = 0;
};

static syslet::detached serve(server &s, int fd)
{
	long x = 0, y = 0;
	syslet::chain request{sys::read(fd, &x, sizeof(x))};
	auto got = co_await syslet::async(s.ring, request);

	if (got && request.ret(0).value_or(0) == sizeof(x)) {
		// Ordinary code, any library: a threadlet runs it.
		auto square = co_await syslet::threadlet(s.pool, [x] { return x * x; });
		y = square.value_or(-1);
		syslet::chain answer{sys::write(fd, &y, sizeof(y))};
		(void)co_await syslet::async(s.ring, answer);
	}
	s.served++;
}

int main(int argc, char **argv)
{
	const int n = argc > 1 ? std::atoi(argv[1]) : 32;
	std::optional<syslet::thread_pool> chains_pool;
	if (!syslet::kernel_support())
		chains_pool.emplace(2);
	syslet::completion_ring ring(64, chains_pool ? &*chains_pool : nullptr);
	syslet::threadlet_pool pool({.when_busy = syslet::if_busy::wait});
	server s{ring, pool};
	std::vector<client> clients(n > 0 ? n : 0);

	for (client &c : clients) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			return 1;
		c.server_fd = sv[0];
		c.client_fd = sv[1];
	}
	// Half the clients have sent before their coroutine starts, half
	// send late, so that their reads block.
	for (std::size_t i = 0; i < clients.size(); i++) {
		client &c = clients[i];
		long x = static_cast<long>(i) + 2;
		if (i % 2 == 0 && write(c.client_fd, &x, sizeof(x)) != sizeof(x))
			return 1;
		c.t = std::thread([&c, i, x] {
			long y = 0;
			if (i % 2)
				std::this_thread::sleep_for(std::chrono::milliseconds(20));
			if ((i % 2 == 0 || write(c.client_fd, &x, sizeof(x)) == sizeof(x)) &&
			    read(c.client_fd, &y, sizeof(y)) == sizeof(y))
				c.ok = y == x * x;
		});
	}

	for (client &c : clients)
		serve(s, c.server_fd);
	const int inline_served = s.served;
	// The loop: what completes resumes its coroutine inside pop().
	while (s.served < n) {
		(void)ring.wait(1, std::chrono::milliseconds(1));
		while (ring.pop())
			;
		while (pool.pop())
			;
	}

	int good = 0;
	for (client &c : clients) {
		c.t.join();
		good += c.ok;
		close(c.server_fd);
		close(c.client_fd);
	}
	std::printf("%d of %zu clients served correctly by coroutines; %d without suspending (%s)\n",
		    good, clients.size(), inline_served,
		    ring.uses_kernel() ? "kernel syslets" : "fallback pools");
	return good == static_cast<int>(clients.size()) ? 0 : 1;
}
