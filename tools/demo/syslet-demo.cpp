// SPDX-License-Identifier: GPL-2.0
// What syslets are for, in a few seconds, one line per step:
//  1. a chain open -> read -> write -> close that runs in the caller, each
//     atom fed by the one before, and one that stops at a failed open;
//  2. a chain socket -> connect -> send -> recv -> close over TCP loopback
//     whose recv blocks: async_exec() returns 0 at once, the caller goes
//     on as itself, and the completion arrives in the ring later;
//  3. a threadlet, ordinary C++ code in a lambda, that blocks half way
//     and finishes on a lent thread while the caller goes on;
//  4. how many of many small cached reads completed without any thread
//     being woken or switched to.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "syslet.hpp"

namespace sys = syslet::sys;
namespace opt = syslet::opt;
using syslet::result_of;

static const char *describe(syslet::result<std::int64_t> r, char *buf, std::size_t n)
{
	if (r)
		std::snprintf(buf, n, "%lld", static_cast<long long>(*r));
	else if (r.error().value() == ENODATA)
		std::snprintf(buf, n, "not run");
	else
		std::snprintf(buf, n, "%s", std::strerror(r.error().value()));
	return buf;
}

// Each atom's result, or why it has none, on one line.
static void print_results(const syslet::chain_base &c, const char *const names[])
{
	char buf[64];

	std::printf("   results:");
	for (std::size_t i = 0; i < c.size(); i++)
		std::printf(" %s %s%s", names[i], describe(c.ret(i), buf, sizeof(buf)),
			    i + 1 < c.size() ? "," : "\n");
}

static bool file_chain(const char *path)
{
	static const char *const names[] = {"openat", "read", "write", "close"};
	static char buf[256];
	syslet::chain c{
		sys::openat(AT_FDCWD, path, O_RDONLY) | opt::stop_on_negative,
		sys::read(result_of(0), buf, sizeof(buf)) | opt::stop_on_non_positive,
		sys::write(STDOUT_FILENO, buf, result_of(1)),
		sys::close(result_of(0))};

	std::printf("   openat(\"%s\") -> read -> write(stdout) -> close:\n", path);
	std::fflush(stdout);
	// No ring: the chain runs synchronously, whatever it meets.
	if (auto r = syslet::run(c); !r) {
		std::printf("   async_exec() refused the chain: %s\n", std::strerror(r.error().value()));
		return false;
	}
	print_results(c, names);
	return true;
}

// A TCP server on 127.0.0.1 that answers "pong" to "ping", but only once
// the demo says so: the client's recv then has to block.
struct pong_server {
	int listener = -1, go[2] = {-1, -1};
	sockaddr_in addr{};
	std::thread thread;

	bool start()
	{
		socklen_t len = sizeof(addr);
		addr.sin_family = AF_INET;
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (listener < 0 || pipe(go) ||
		    bind(listener, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) ||
		    getsockname(listener, reinterpret_cast<sockaddr *>(&addr), &len) ||
		    listen(listener, 1))
			return false;
		thread = std::thread([this] { serve(); });
		return true;
	}
	void serve()
	{
		int fd = accept(listener, nullptr, nullptr);
		char req[4], c;
		pollfd p{go[0], POLLIN, 0};

		if (fd < 0)
			return;
		// Bounded: a chain that could not move must not hang the demo.
		if (recv(fd, req, sizeof(req), MSG_WAITALL) == sizeof(req) &&
		    poll(&p, 1, 5000) >= 0 && read(go[0], &c, 1) >= 0 &&
		    send(fd, "pong", 4, 0) == 4)
			recv(fd, &c, 1, 0);	// until the chain's close
		close(fd);
	}
	void answer() { (void)!write(go[1], "g", 1); }
	~pong_server()
	{
		if (thread.joinable())
			thread.join();
		for (int fd : {listener, go[0], go[1]})
			if (fd >= 0)
				close(fd);
	}
};

static bool tcp_chain(syslet::completion_ring &ring)
{
	static const char *const names[] = {"socket", "connect", "send", "recv", "close"};
	pong_server server;
	if (!server.start()) {
		std::perror("   server");
		return false;
	}
	std::printf("2. a TCP chain socket -> connect -> send -> recv -> close to 127.0.0.1:%d\n",
		    ntohs(server.addr.sin_port));
	static char in[5];
	syslet::chain c{
		sys::call(__NR_socket, AF_INET, SOCK_STREAM, 0) | opt::stop_on_negative,
		sys::call(__NR_connect, result_of(0), &server.addr, sizeof(server.addr)) |
			opt::stop_on_negative,
		sys::call(__NR_sendto, result_of(0), "ping", 4, 0, nullptr, 0) |
			opt::stop_on_negative,
		sys::call(__NR_recvfrom, result_of(0), in, 4, MSG_WAITALL, nullptr, nullptr) |
			opt::stop_on_negative,
		sys::close(result_of(0))};

	pid_t before = gettid();
	auto st = syslet::submit(ring, c);
	if (!st || *st != syslet::status::pending) {
		std::printf("   expected the recv to block and the chain to move\n");
		server.answer();
		return false;
	}
	std::printf("   async_exec() returned 0: the recv blocked; the caller goes on as TID %d (%s)\n",
		    gettid(), gettid() == before ? "the same as before" : "CHANGED");
	std::printf("   the caller tells the server to answer, then waits on the ring\n");
	std::fflush(stdout);
	server.answer();
	if (!ring.wait(1, std::chrono::seconds(10)) || !ring.pop() || !c.done()) {
		std::printf("   no completion arrived\n");
		return false;
	}
	std::printf("   completion: the chain ended at atom %zu (close); recv got \"%s\"\n",
		    *c.last(), in);
	print_results(c, names);
	return *c.last() == 4 && !std::strcmp(in, "pong");
}

static bool threadlet(syslet::threadlet_pool &pool)
{
	int fds[2];
	if (pipe(fds))
		return false;
	pid_t caller = gettid(), ran_on = 0, finished_on = 0;
	std::string got;

	// Ordinary code: a std::string, a blocking read, errno.
	auto r = syslet::threadlet_exec(pool, 1, [&] {
		ran_on = gettid();
		char buf[16] = {};
		ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
		got = n > 0 ? std::string(buf, n) : std::string("read: ") + std::strerror(errno);
		finished_on = gettid();
	});
	if (!r || *r != 0) {
		std::printf("   expected the threadlet to block and move\n");
		return false;
	}
	std::printf("   threadlet_exec() returned 0: the lambda started as TID %d and blocked in read(); "
		    "the caller goes on as TID %d (%s)\n",
		    ran_on, gettid(), gettid() == caller ? "the same" : "CHANGED");
	std::fflush(stdout);
	(void)!write(fds[1], "hello", 5);
	bool ok = pool.wait(1, std::chrono::seconds(10)) && pool.pop() == 1u;
	std::printf("   its event arrived: the lambda read \"%s\" and finished on lent thread TID %d\n",
		    got.c_str(), finished_on);
	close(fds[0]);
	close(fds[1]);
	return ok && got == "hello" && finished_on != caller;
}

// Voluntary context switches of every thread of this process.
static long voluntary_switches()
{
	long total = 0, v;
	char path[300], line[128];
	DIR *d = opendir("/proc/self/task");

	while (dirent *e = d ? readdir(d) : nullptr) {
		if (e->d_name[0] == '.')
			continue;
		std::snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		FILE *f = std::fopen(path, "r");
		if (!f)
			continue;
		while (std::fgets(line, sizeof(line), f))
			if (std::sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1)
				total += v;
		std::fclose(f);
	}
	if (d)
		closedir(d);
	return total;
}

static bool cached_reads(syslet::completion_ring &ring, const char *path, int n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	static char byte;
	syslet::chain c{sys::pread(fd, &byte, 1, 0)};
	int inline_done = 0;

	(void)!pread(fd, &byte, 1, 0);	// now it is in the page cache
	long switches = voluntary_switches();
	for (int i = 0; i < n; i++) {
		auto st = syslet::submit(ring, c);
		if (!st)
			break;
		if (*st == syslet::status::completed)
			inline_done++;
		else
			while (!c.done() && ring.wait())
				ring.pop();
	}
	switches = voluntary_switches() - switches;
	close(fd);
	std::printf("   %d of %d one-atom pread chains completed inside async_exec(); "
		    "threads woken or switched to: %ld\n", inline_done, n, switches);
	return inline_done == n;
}

int main()
{
	const syslet::kernel_info &k = syslet::kernel_support();
	if (!k) {
		std::printf("syslet-demo: this kernel has no syslets\n");
		return 1;
	}
	std::printf("syslet ABI version %d\n", k.abi_version);
	syslet::completion_ring ring(8);
	syslet::threadlet_pool pool;
	bool ok = true;

	std::printf("1. a chain that runs in the caller, each atom fed by the one before\n");
	ok &= file_chain("/etc/syslet-demo.txt");
	std::printf("   a chain whose open fails stops there\n");
	ok &= file_chain("/etc/no-such-file");
	ok &= tcp_chain(ring);
	std::printf("3. a threadlet: a C++ lambda that blocks half way\n");
	ok &= threadlet(pool);
	std::printf("4. small reads from the page cache, one chain each\n");
	ok &= cached_reads(ring, "/etc/syslet-demo.txt", 1000);
	return ok ? 0 : 1;
}
