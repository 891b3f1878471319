// SPDX-License-Identifier: GPL-2.0
/*
 * The fio engine's threadlets: syslet::threadlet_pool and threadlet_exec()
 * behind the C interface of threadlet-pool.h.
 */
#include "threadlet-pool.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <new>

#include "syslet.hpp"

struct fio_threadlet_pool {
	syslet::threadlet_pool pool;

	explicit fio_threadlet_pool(const syslet::threadlet_pool::options &o)
		: pool(o) {}
};

extern "C" const char *fio_syslet_unusable(void)
{
	const syslet::kernel_info &k = syslet::kernel_support();

	if (k.usable())
		return nullptr;
	if (!k.abi_version)
		return "this kernel has no syslets (no /proc/sys/kernel/syslet)";
	if (k.abi_version < SYSLET_ABI_VERSION)
		return "this kernel's syslet ABI is older than the one the engine was built for";
	return "syslets are switched off for this process (kernel.syslet.enabled)";
}

extern "C" struct fio_threadlet_pool *
fio_threadlet_pool_create(unsigned int threads, unsigned int ring_entries,
			  char *why, size_t why_size)
{
	syslet::threadlet_pool::options o;

	o.threads = threads;
	o.ring_entries = ring_entries;
	try {
		return new fio_threadlet_pool(o);
	} catch (const std::exception &e) {
		std::snprintf(why, why_size, "%s", e.what());
	}
	return nullptr;
}

extern "C" void fio_threadlet_pool_destroy(struct fio_threadlet_pool *p)
{
	delete p;
}

extern "C" int fio_threadlet_run(struct fio_threadlet_pool *p,
				 void (*fn)(void *), void *arg, uint64_t event)
{
	auto r = syslet::threadlet_exec(p->pool, event, [fn, arg] { fn(arg); });

	return r ? *r : -r.error().value();
}

extern "C" uint64_t fio_threadlet_pop(struct fio_threadlet_pool *p)
{
	return p->pool.pop().value_or(0);
}

extern "C" int fio_threadlet_wait(struct fio_threadlet_pool *p, unsigned int min,
				  const struct timespec *timeout)
{
	std::optional<std::chrono::nanoseconds> limit;

	if (timeout)
		limit = std::chrono::seconds(timeout->tv_sec) +
			std::chrono::nanoseconds(timeout->tv_nsec);
	auto r = p->pool.wait(min, limit);
	if (!r)
		return -r.error().value();
	return *r == syslet::wait_status::ready;
}

extern "C" uint64_t fio_threadlet_ran_in_place(const struct fio_threadlet_pool *p)
{
	return p->pool.ran_in_place();
}
