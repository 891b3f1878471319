// Built with -fno-exceptions: every part of the header a program uses
// compiles, and runs, without exception support.
#include "syslet.hpp"

#include <sys/syscall.h>

int main()
{
	syslet::thread_pool pool(1);
	syslet::completion_ring ring(4, pool, syslet::backend::fallback);
	syslet::chain c{syslet::sys::call(__NR_getppid)};

	auto s = syslet::submit(ring, c);
	if (!s || !ring.join(c) || *c.ret(0) != getppid())
		return 1;

	syslet::threadlet_pool threads({.threads = 1, .use = syslet::backend::fallback});
	int ran = 0;
	auto t = syslet::threadlet_exec(threads, 1, [&] { ran = 1; });
	if (!t || (*t == 0 && !threads.wait(1)))
		return 1;
	while (!threads.pop() && *t == 0)
		;
	return ran == 1 ? 0 : 1;
}
