// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * asio_server - sockets with Asio, file work with syslets, one event loop.
 *
 * A TCP server on 127.0.0.1 answers each request (a file name, one line)
 * with the file's first bytes, read by a chain openat -> read -> close.
 * The chains' ring signals an eventfd, which Asio watches as a
 * posix::stream_descriptor like any socket: no thread waits for the ring,
 * and every coroutine is Asio's (co_await ... use_awaitable). async_chain()
 * below makes a chain an Asio asynchronous operation.
 *
 *	asio_server [clients]	(default 16)
 *
 * Builds with Debian's libasio-dev (standalone Asio).
 */
#include <sys/eventfd.h>
#include <unistd.h>

// Asio 1.22 looks for C++20 coroutines in GCC's way only; clang 14 with
// libstdc++'s <coroutine> has them as well.
#if defined(__clang__) && defined(__cpp_impl_coroutine) && !defined(ASIO_HAS_CO_AWAIT)
#define ASIO_HAS_CO_AWAIT 1
#define ASIO_HAS_STD_COROUTINE 1
#endif
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "syslet.hpp"

namespace sys = syslet::sys;
namespace opt = syslet::opt;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

// Submit c as an Asio operation: it completes with the atom c ended at,
// through the handler's executor, when the ring's driver below pops it
// (or at once, posted, when c ended inside submit()).
template <class Token>
auto async_chain(syslet::completion_ring &ring, syslet::chain_base &c, Token &&token)
{
	return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
		[&ring, &c](auto handler) {
			[](syslet::completion_ring &r, syslet::chain_base &ch,
			   auto h) -> syslet::detached {
				auto end = co_await syslet::async(r, ch);
				auto ex = asio::get_associated_executor(h);
				asio::post(ex, [h = std::move(h), end]() mutable {
					if (end)
						std::move(h)(std::error_code{}, *end);
					else
						std::move(h)(end.error(), std::size_t{0});
				});
			}(ring, c, std::move(handler));
		},
		token);
}

struct server {
	syslet::completion_ring &ring;
	asio::posix::stream_descriptor ring_events;
	int served = 0, good = 0, expected = 0;
};

// The ring's side of the loop: on readable, take every completion, which
// resumes the operations waiting for them.
static awaitable<void> drive_ring(server &s)
{
	for (;;) {
		co_await s.ring_events.async_wait(asio::posix::descriptor_base::wait_read,
						  use_awaitable);
		std::uint64_t n;
		(void)!read(s.ring_events.native_handle(), &n, sizeof(n));
		while (s.ring.pop())
			;
	}
}

static awaitable<void> serve(server &s, tcp::socket sock)
{
	std::string path;
	co_await asio::async_read_until(sock, asio::dynamic_buffer(path), '\n', use_awaitable);
	path.pop_back();

	char data[64] = {};
	syslet::chain file{
		sys::openat(AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC) | opt::stop_on_negative,
		sys::read(syslet::prev_result, data, sizeof(data) - 1),
		sys::close(syslet::result_of(0))};
	const std::size_t end = co_await async_chain(s.ring, file, use_awaitable);
	std::string reply = end == 2 && file.ret(1) ? std::string(data, *file.ret(1))
						    : "error\n";
	co_await asio::async_write(sock, asio::buffer(reply), use_awaitable);
}

static awaitable<void> accept_all(server &s, tcp::acceptor &acceptor, int n)
{
	for (int i = 0; i < n; i++)
		asio::co_spawn(acceptor.get_executor(),
			       serve(s, co_await acceptor.async_accept(use_awaitable)),
			       asio::detached);
}

static awaitable<void> client(server &s, tcp::endpoint at, std::string path,
			      std::string want)
{
	tcp::socket sock(co_await asio::this_coro::executor);
	co_await sock.async_connect(at, use_awaitable);
	co_await asio::async_write(sock, asio::buffer(path + "\n"), use_awaitable);
	std::string got;
	auto [ec, n] = co_await asio::async_read(sock, asio::dynamic_buffer(got),
						 asio::experimental::as_tuple(use_awaitable));
	(void)n;
	s.good += (!ec || ec == asio::error::eof) && got == want;
	if (++s.served == s.expected)
		s.ring_events.cancel();	// the last one: let the loop end
}

int main(int argc, char **argv)
{
	const int n = argc > 1 ? std::atoi(argv[1]) : 16;
	const int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0 || n < 1)
		return 1;
	std::optional<syslet::thread_pool> pool;
	if (!syslet::kernel_support())
		pool.emplace(2);
	asio::io_context io;
	std::vector<std::string> files;
	{
		syslet::completion_ring ring(64, {.pool = pool ? &*pool : nullptr, .eventfd = efd});
		server s{ring, asio::posix::stream_descriptor(io, efd)};
		s.expected = n;
		tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));

		for (int i = 0; i < n; i++) {
			char path[] = "/tmp/asio-syslet-XXXXXX";
			const int fd = mkstemp(path);
			const std::string text = "file " + std::to_string(i) + "\n";
			if (fd < 0 || write(fd, text.data(), text.size()) != ssize_t(text.size()))
				return 1;
			close(fd);
			files.push_back(path);
			asio::co_spawn(io, client(s, acceptor.local_endpoint(), path, text),
				       asio::detached);
		}
		asio::co_spawn(io, accept_all(s, acceptor, n), asio::detached);
		asio::co_spawn(io, drive_ring(s), asio::detached);
		io.run();
		std::printf("%d of %d requests served correctly by Asio with syslets (%s)\n",
			    s.good, n, ring.uses_kernel() ? "kernel syslets" : "fallback pool");
		s.ring_events.release();
		for (auto &f : files)
			unlink(f.c_str());
		close(efd);
		return s.good == n ? 0 : 1;
	}
}
