// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// The threadlet of the 2007 announcement: open, fstat and read a file as
// ordinary code. If nothing blocks (the file is in the page cache) it runs
// to its end in the caller with no thread switched to; if something does,
// the caller goes on at once and the rest runs in a pool thread, whose
// event then arrives in the pool's ring.
//
//	g++ -std=c++20 -O2 -I include/uapi -I tools/lib/syslet
//		tools/lib/syslet/examples/threadlet_read.cpp -pthread -o threadlet_read
//	./threadlet_read FILE...
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "syslet.hpp"

struct job {
	const char *name;
	long bytes = -1;
	int error = 0;
	char buf[4096];
};

int main(int argc, char **argv)
{
	syslet::threadlet_pool pool;	// four lent threads, 256 KiB stacks
	std::vector<job> jobs(argc > 1 ? argc - 1 : 0);
	std::size_t cached = 0;

	for (std::size_t i = 0; i < jobs.size(); i++) {
		job &j = jobs[i];
		j.name = argv[i + 1];
		auto r = syslet::threadlet_exec(pool, i + 1, [&j] {
			struct stat st;
			int fd = open(j.name, O_RDONLY);

			if (fd < 0 || fstat(fd, &st)) {
				j.error = errno;	// the pool thread's errno
			} else {
				j.bytes = read(fd, j.buf, sizeof(j.buf));
				if (j.bytes < 0)
					j.error = errno;
			}
			if (fd >= 0)
				close(fd);
		});
		if (!r) {
			std::fprintf(stderr, "threadlet_exec: %s\n", std::strerror(r.error().value()));
			return 1;
		}
		cached += *r;
	}
	while (pool.in_flight()) {
		if (!pool.wait())
			return 1;
		while (pool.pop())
			;
	}
	for (const job &j : jobs) {
		if (j.error)
			std::printf("%s: %s\n", j.name, std::strerror(j.error));
		else
			std::printf("%s: %ld bytes\n", j.name, j.bytes);
	}
	std::printf("%zu of %zu ran to their end in the caller (%s)\n", cached,
		    jobs.size(), pool.uses_kernel() ? "kernel threadlets" : "fallback pool");
	return 0;
}
