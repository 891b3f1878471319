// SPDX-License-Identifier: GPL-2.0
/*
 * Counts the allocations the calling thread makes, so that a host test can
 * check that the library's cached path allocates nothing. It replaces the
 * global operator new and delete: include it in one translation unit of a
 * test program, never in a header.
 */
#ifndef SYSLET_ALLOC_COUNT_HPP
#define SYSLET_ALLOC_COUNT_HPP

#include <cstdlib>
#include <new>

static thread_local long t_allocs;

// Out of line, or GCC sees malloc() and free() meet new and delete.
[[gnu::noinline]] void *operator new(std::size_t n)
{
	++t_allocs;
	if (void *p = std::malloc(n ? n : 1))
		return p;
	throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void *p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void *p, std::size_t) noexcept
{
	std::free(p);
}

#endif
