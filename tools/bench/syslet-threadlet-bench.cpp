// SPDX-License-Identifier: GPL-2.0
/*
 * Threadlets and the C++ library against what they replace, in one boot.
 *
 *   cached:  k getppid() calls run as a threadlet that never blocks,
 *            against the same k calls made directly (k = 0 is the bare
 *            cost of threadlet_on() + threadlet_off());
 *   blocked: a threadlet that blocks on an empty pipe, which the caller
 *            then fills, against the same function handed to a thread
 *            pool (one worker, a mutex and condition variables);
 *   builder: a syslet::chain of k getppid() atoms run() against the same
 *            atoms written by hand and given to async_exec().
 *
 * Ratios are threadlet (or library) time over the alternative's, the
 * median of REPEATS paired, interleaved runs, with min and max. Every
 * line starts with BENCH-THREADLET| for the host to collect. The numbers
 * never fail the run; a mechanism that misbehaves does (exit status 1).
 */
#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "syslet.hpp"

namespace sys = syslet::sys;

static constexpr int REPEATS = 7;

static double now_ns()
{
	timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int failures;

static void fail(const char *what)
{
	std::printf("BENCH-THREADLET-ERROR|%s\n", what);
	failures++;
}

// Median, min and max of a / b over paired repeats; ns/op of both.
static void report(const char *name, int k, const std::vector<double> &a,
		   const std::vector<double> &b, int ops)
{
	std::vector<double> r;

	for (std::size_t i = 0; i < a.size(); i++)
		r.push_back(a[i] / b[i]);
	std::vector<double> sa = a, sb = b;
	std::sort(r.begin(), r.end());
	std::sort(sa.begin(), sa.end());
	std::sort(sb.begin(), sb.end());
	std::printf("BENCH-THREADLET|%s|%d|%.3f|%.3f|%.3f|%.0f|%.0f\n", name, k,
		    r[r.size() / 2], r.front(), r.back(), sb[sb.size() / 2] / ops,
		    sa[sa.size() / 2] / ops);
}

static void cached(syslet::threadlet_pool &pool, int k)
{
	const int ops = 2000;
	std::vector<double> t, d;

	for (int rep = 0; rep < REPEATS; rep++) {
		double t0 = now_ns();
		for (int i = 0; i < ops; i++) {
			auto r = syslet::threadlet_exec(pool, 1, [k] {
				for (int j = 0; j < k; j++)
					syscall(SYS_getppid);
			});
			if (!r || *r != 1) {
				fail("cached threadlet did not run to its end in the caller");
				return;
			}
		}
		double t1 = now_ns();
		for (int i = 0; i < ops; i++) {
			std::function<void()> f = [k] {
				for (int j = 0; j < k; j++)
					syscall(SYS_getppid);
			};
			f();
		}
		double t2 = now_ns();
		t.push_back(t1 - t0);
		d.push_back(t2 - t1);
	}
	report("cached-getppid", k, t, d, ops);
}

// One worker that reads a byte when told to, as an application would
// hand a blocking call to a pool.
struct worker_pool {
	std::mutex m;
	std::condition_variable go, done;
	int fd = -1;
	bool request = false, finished = false, stop = false;
	std::thread t{[this] { run(); }};

	void run()
	{
		std::unique_lock lk(m);
		for (;;) {
			go.wait(lk, [this] { return request || stop; });
			if (stop)
				return;
			request = false;
			lk.unlock();
			char c;
			if (read(fd, &c, 1) != 1)
				std::abort();
			lk.lock();
			finished = true;
			done.notify_one();
		}
	}
	~worker_pool()
	{
		{
			std::lock_guard lk(m);
			stop = true;
		}
		go.notify_one();
		t.join();
	}
};

static void blocked(syslet::threadlet_pool &pool)
{
	const int ops = 200;
	std::vector<double> t, d;
	int fds[2];
	worker_pool wp;

	if (pipe(fds)) {
		fail("pipe");
		return;
	}
	wp.fd = fds[0];
	for (int rep = 0; rep < REPEATS; rep++) {
		double t0 = now_ns();
		for (int i = 0; i < ops; i++) {
			auto r = syslet::threadlet_exec(pool, 1, [fd = fds[0]] {
				char c;
				if (read(fd, &c, 1) != 1)
					std::abort();
			});
			if (!r || *r != 0) {
				fail("blocked threadlet did not go asynchronous");
				return;
			}
			if (write(fds[1], "x", 1) != 1 || !pool.wait() || !pool.pop()) {
				fail("blocked threadlet did not complete");
				return;
			}
		}
		double t1 = now_ns();
		for (int i = 0; i < ops; i++) {
			{
				std::lock_guard lk(wp.m);
				wp.request = true;
				wp.finished = false;
			}
			wp.go.notify_one();
			if (write(fds[1], "x", 1) != 1)
				std::abort();
			std::unique_lock lk(wp.m);
			wp.done.wait(lk, [&] { return wp.finished; });
		}
		double t2 = now_ns();
		t.push_back(t1 - t0);
		d.push_back(t2 - t1);
	}
	report("blocked-pipe-read", 1, t, d, ops);
	close(fds[0]);
	close(fds[1]);
}

static void builder(int k)
{
	const int ops = 2000;
	std::vector<double> t, d;
	std::vector<syslet_uatom> raw(k);
	std::vector<__s64> rets(k);
	async_head_user head{};

	head.size = sizeof(head);
	for (int j = 0; j < k; j++) {
		raw[j] = {};
		raw[j].nr = SYS_getppid;
		raw[j].ret_ptr = syslet::detail::addr(&rets[j]);
		raw[j].next = j + 1 < k ? syslet::detail::addr(&raw[j + 1]) : 0;
	}
	syslet::chain<64> c;
	for (int j = 0; j < k; j++)
		if (!c.add(sys::call(SYS_getppid))) {
			fail("chain builder refused an atom");
			return;
		}
	for (int rep = 0; rep < REPEATS; rep++) {
		double t0 = now_ns();
		for (int i = 0; i < ops; i++)
			if (!syslet::run(c)) {
				fail("chain run failed");
				return;
			}
		double t1 = now_ns();
		for (int i = 0; i < ops; i++)
			if (syscall(syslet::detail::nr_async_exec, raw.data(), &head) <= 0) {
				fail("raw async_exec failed");
				return;
			}
		double t2 = now_ns();
		t.push_back(t1 - t0);
		d.push_back(t2 - t1);
	}
	report("builder-run", k, t, d, ops);
}

// With "cached": only the threadlets that run to their end in the caller.
int main(int argc, char **argv)
{
	const bool cached_only = argc > 1 && std::string_view(argv[1]) == "cached";

	if (!syslet::kernel_support().usable()) {
		fail("no syslets in this kernel");
		return 1;
	}
	syslet::threadlet_pool pool;

	std::printf("BENCH-THREADLET-HEADER|case|k|ratio median|min|max|alternative ns/op|threadlet or library ns/op\n");
	for (int k : {0, 1, 4, 16})
		cached(pool, k);
	if (cached_only)
		return failures ? 1 : 0;
	blocked(pool);
	for (int k : {1, 4, 16})
		builder(k);
	return failures ? 1 : 0;
}
