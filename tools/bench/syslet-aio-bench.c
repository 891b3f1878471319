// SPDX-License-Identifier: GPL-2.0
/*
 * A signal-notified POSIX AIO read round trip: aio_read() of one cached
 * byte with SIGEV_SIGNAL, then sigwaitinfo() for its signal, and
 * aio_return(). Run twice in one boot, with libsyslet-aio.so preloaded
 * (the chain reads and queues the signal itself, in one kernel entry)
 * and without (glibc hands the request to its thread, which signals).
 * Prints, per repeat, "BENCH-AIO|<label>|<repeat>|<ns per round trip>".
 *
 *	syslet-aio-bench LABEL [ROUNDS]
 */
#define _GNU_SOURCE
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int round_trip(int fd, int sig, char *byte)
{
	struct aiocb cb;
	siginfo_t si;
	sigset_t set;

	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_buf = byte;
	cb.aio_nbytes = 1;
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = sig;
	cb.aio_sigevent.sigev_value.sival_ptr = &cb;
	if (aio_read(&cb))
		return -1;
	sigemptyset(&set);
	sigaddset(&set, sig);
	while (sigwaitinfo(&set, &si) < 0)
		if (errno != EINTR)
			return -1;
	if (si.si_code != SI_ASYNCIO || si.si_value.sival_ptr != &cb)
		return -1;
	/* The signal comes once the result is there. */
	return aio_error(&cb) == 0 && aio_return(&cb) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *label = argc > 1 ? argv[1] : "aio";
	const int rounds = argc > 2 ? atoi(argv[2]) : 2000;
	const int sig = SIGRTMIN + 2;
	char path[] = "/tmp/syslet-aio-bench-XXXXXX", byte;
	sigset_t set;
	int fd, rep, i;

	fd = mkstemp(path);
	if (fd < 0 || write(fd, "x", 1) != 1)
		return 1;
	unlink(path);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < rounds / 10; i++)	/* warm: threads, pages */
		if (round_trip(fd, sig, &byte))
			goto failed;
	for (rep = 1; rep <= 5; rep++) {
		long long t0 = now_ns();

		for (i = 0; i < rounds; i++)
			if (round_trip(fd, sig, &byte))
				goto failed;
		printf("BENCH-AIO|%s|%d|%lld\n", label, rep, (now_ns() - t0) / rounds);
	}
	close(fd);
	return 0;
failed:
	printf("BENCH-AIO-ERROR|%s|round trip failed: %s\n", label, strerror(errno));
	return 1;
}
