// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// A small server loop that serves many clients with threadlets: each
// request is handled by plain blocking code (read the request, compute,
// write the reply). A request whose bytes are already there is served in
// the loop's own thread with no switch; one that must wait moves to a pool
// thread and the loop goes on to the next client. The clients here are
// threads on the other ends of socketpairs, so the example runs alone and
// checks every reply.
//
//	g++ -std=c++20 -O2 -I include/uapi -I tools/lib/syslet
//		tools/lib/syslet/examples/threadlet_server.cpp -pthread -o threadlet_server
//	./threadlet_server [CLIENTS]
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "syslet.hpp"

struct client {
	int server_fd, client_fd;
	std::thread t;
	bool ok = false;
};

// One request: a number; the reply: its square.
static void serve_one(int fd)
{
	long x;

	if (read(fd, &x, sizeof(x)) != sizeof(x))
		return;
	x *= x;
	if (write(fd, &x, sizeof(x)) != sizeof(x))
		std::perror("write");
}

int main(int argc, char **argv)
{
	const int n = argc > 1 ? std::atoi(argv[1]) : 32;
	// With every lent thread carrying a client that blocked, the next
	// client waits for one to come back rather than run in this thread,
	// where blocking would stall every other client behind it.
	syslet::threadlet_pool pool({.when_busy = syslet::if_busy::wait});
	std::vector<client> clients(n > 0 ? n : 0);
	std::size_t in_caller = 0;

	for (std::size_t i = 0; i < clients.size(); i++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return 1;
		clients[i].server_fd = sv[0];
		clients[i].client_fd = sv[1];
	}
	// Half the clients have sent before the loop looks, half send late.
	for (std::size_t i = 0; i < clients.size(); i++) {
		client &c = clients[i];
		c.t = std::thread([&c, i] {
			long x = static_cast<long>(i) + 2, y = 0;
			if (i % 2)
				std::this_thread::sleep_for(std::chrono::milliseconds(20));
			if (write(c.client_fd, &x, sizeof(x)) == sizeof(x) &&
			    read(c.client_fd, &y, sizeof(y)) == sizeof(y))
				c.ok = y == x * x;
		});
	}
	std::this_thread::sleep_for(std::chrono::milliseconds(5));

	for (std::size_t i = 0; i < clients.size(); i++) {
		auto r = syslet::threadlet_exec(pool, i + 1,
						[fd = clients[i].server_fd] { serve_one(fd); });
		if (!r)
			return 1;
		in_caller += *r;
	}
	while (pool.in_flight()) {
		if (!pool.wait())
			return 1;
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
	std::printf("%d of %zu clients served correctly; %zu in the loop's thread, %zu moved (%s)\n",
		    good, clients.size(), in_caller, clients.size() - in_caller,
		    pool.uses_kernel() ? "kernel threadlets" : "fallback pool");
	return good == static_cast<int>(clients.size()) ? 0 : 1;
}
