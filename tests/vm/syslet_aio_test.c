// SPDX-License-Identifier: GPL-2.0
/*
 * libsyslet-aio.so in the guest, preloaded into this program as into any
 * unmodified one: every POSIX AIO function, every notification, cancel in
 * every state, a buffer that faults, and a thousand requests outstanding
 * on a slow null_blk disk. Windows are forced (a request blocked on a pipe
 * until the test fills it, a thread seen asleep before it is signalled),
 * never waited out.
 *
 *	LD_PRELOAD=/usr/lib/syslet/libsyslet-aio.so syslet-aio-test [nullb]
 *
 * SYSLET_AIO_EXPECT=glibc: the kernel has syslets switched off, and the
 * library must have handed everything to glibc (the same tests pass).
 */
#define _GNU_SOURCE
#include <aio.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define AIO_SIG		(SIGRTMIN + 1)

static const char *nullb_path;

static bool expect_glibc(void)
{
	const char *e = getenv("SYSLET_AIO_EXPECT");

	return e && !strcmp(e, "glibc");
}

/* Threads of the library, by the names it gives them; -1 without /proc. */
static int library_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "re");
		if (f) {
			n += fgets(comm, sizeof(comm), f) &&
			     (!strcmp(comm, "syslet-aio-reap\n") ||
			      !strcmp(comm, "syslet-aio-ntfy\n"));
			fclose(f);
		}
	}
	closedir(d);
	return n;
}

/* Until thread tid sleeps in the kernel: it is inside its wait. */
static void wait_until_asleep(pid_t tid)
{
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		char *paren;

		if (fd >= 0)
			close(fd);
		if (n <= 0)
			return;
		buf[n] = 0;
		paren = strrchr(buf, ')');
		if (!paren || paren[2] == 'S')
			return;
		sched_yield();
	}
}

static void cb_init(struct aiocb *cb, int fd, void *buf, size_t n, off_t off)
{
	memset(cb, 0, sizeof(*cb));
	cb->aio_fildes = fd;
	cb->aio_buf = buf;
	cb->aio_nbytes = n;
	cb->aio_offset = off;
	cb->aio_sigevent.sigev_notify = SIGEV_NONE;
}

static int wait_done(struct aiocb *cb)
{
	const struct aiocb *list[1] = { cb };
	struct timespec ten = { .tv_sec = 10 };

	while (aio_error(cb) == EINPROGRESS)
		if (aio_suspend(list, 1, &ten) && errno != EINTR)
			return -1;
	return 0;
}

static int tmp_file(const char *text)
{
	char path[] = "/tmp/syslet-aio-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (text && write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -1;
	return fd;
}

/*
 * A pipe whose write end is full, so that a write to it blocks; how much
 * filler it holds, which drain() takes out again, and nothing more.
 */
static ssize_t full_pipe(int p[2])
{
	static char junk[4096];
	ssize_t filled = 0, n;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK))
		return -1;
	while ((n = write(p[1], junk, sizeof(junk))) > 0)
		filled += n;
	/* Blocking again, both ends. */
	if (fcntl(p[0], F_SETFL, 0) || fcntl(p[1], F_SETFL, 0))
		return -1;
	return filled;
}

static void drain(int fd, ssize_t filled)
{
	char junk[4096];
	ssize_t n;

	while (filled > 0 && (n = read(fd, junk, filled < (ssize_t)sizeof(junk) ?
					       (size_t)filled : sizeof(junk))) > 0)
		filled -= n;
}

TEST(cached_reads_end_inside_aio_read_with_no_thread)
{
	char buf[8] = {};
	int fd = tmp_file("cached!"), i, at_once = 0;
	struct aiocb cb;

	ASSERT_LE(0, fd);
	for (i = 0; i < 100; i++) {
		cb_init(&cb, fd, buf, 7, 0);
		ASSERT_EQ(0, aio_read(&cb));
		at_once += aio_error(&cb) == 0;
		ASSERT_EQ(0, wait_done(&cb));
		ASSERT_EQ(7, aio_return(&cb));
	}
	EXPECT_STREQ("cached!", buf);
	if (expect_glibc()) {
		close(fd);
		return;
	}
	/*
	 * A read of the page cache may still block now and then (on a lock,
	 * under emulation): nearly all end inside aio_read(), and when all
	 * did, no thread of the library exists (it reaps only what moved).
	 */
	EXPECT_LE(90, at_once);
	if (at_once == 100)
		EXPECT_EQ(0, library_threads());
	close(fd);
}

TEST(a_blocked_read_completes_and_aio_suspend_sees_it)
{
	int p[2];
	char c = 0;
	struct aiocb cb;
	const struct aiocb *list[1] = { &cb };
	struct timespec short_wait = { .tv_nsec = 20 * 1000 * 1000 };

	ASSERT_EQ(0, pipe(p));
	cb_init(&cb, p[0], &c, 1, 0);
	ASSERT_EQ(0, aio_read(&cb));
	EXPECT_EQ(EINPROGRESS, aio_error(&cb));
	EXPECT_EQ(-1, aio_suspend(list, 1, &short_wait));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(1, write(p[1], "b", 1));
	ASSERT_EQ(0, wait_done(&cb));
	EXPECT_EQ(0, aio_error(&cb));
	EXPECT_EQ(1, aio_return(&cb));
	EXPECT_EQ('b', c);
	close(p[0]);
	close(p[1]);
}

TEST(writes_and_a_bad_descriptor)
{
	int fd = tmp_file(NULL);
	char back[6] = {};
	struct aiocb cb;

	ASSERT_LE(0, fd);
	cb_init(&cb, fd, "write", 5, 3);
	ASSERT_EQ(0, aio_write(&cb));
	ASSERT_EQ(0, wait_done(&cb));
	EXPECT_EQ(5, aio_return(&cb));
	EXPECT_EQ(5, pread(fd, back, 5, 3));
	EXPECT_STREQ("write", back);

	cb_init(&cb, 1000, back, 1, 0);		/* not open */
	ASSERT_EQ(0, aio_read(&cb));
	ASSERT_EQ(0, wait_done(&cb));
	EXPECT_EQ(EBADF, aio_error(&cb));
	EXPECT_EQ(-1, aio_return(&cb));	/* the error is aio_error()'s */
	close(fd);
}

TEST(invalid_requests_are_einval)
{
	char c;
	struct aiocb cb;
	struct aiocb *list[1] = { &cb };
	int fd = tmp_file("x");

	ASSERT_LE(0, fd);
	cb_init(&cb, fd, &c, 1, 0);
	cb.aio_reqprio = -1;
	EXPECT_EQ(-1, aio_read(&cb));
	EXPECT_EQ(EINVAL, errno);
	cb.aio_reqprio = AIO_PRIO_DELTA_MAX + 1;
	EXPECT_EQ(-1, aio_write(&cb));
	EXPECT_EQ(EINVAL, errno);

	cb_init(&cb, fd, &c, 1, 0);
	EXPECT_EQ(-1, aio_fsync(12345, &cb));
	EXPECT_EQ(EINVAL, errno);
	cb.aio_fildes = 1000;
	EXPECT_EQ(-1, aio_fsync(O_SYNC, &cb));
	EXPECT_EQ(EBADF, errno);

	cb_init(&cb, fd, &c, 1, 0);
	cb.aio_lio_opcode = 77;
	EXPECT_EQ(-1, lio_listio(LIO_WAIT, list, 1, NULL));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(EINVAL, aio_error(&cb));
	EXPECT_EQ(-1, lio_listio(42, list, 1, NULL));
	EXPECT_EQ(EINVAL, errno);

	/* LIO_WAIT: a request that fails when it runs fails the call. */
	cb_init(&cb, 1000, &c, 1, 0);
	cb.aio_lio_opcode = LIO_READ;
	EXPECT_EQ(-1, lio_listio(LIO_WAIT, list, 1, NULL));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(EBADF, aio_error(&cb));
	close(fd);
}

/* An aio_fsync() waits for the writes queued before it on its descriptor. */
TEST(fsync_covers_the_writes_before_it)
{
	ssize_t filler;
	int p[2];
	struct aiocb w, s;

	if (expect_glibc())
		SKIP(return, "glibc runs a descriptor's requests one by one anyway");
	filler = full_pipe(p);
	ASSERT_LT(0, filler);
	cb_init(&w, p[1], "w", 1, 0);
	ASSERT_EQ(0, aio_write(&w));
	EXPECT_EQ(EINPROGRESS, aio_error(&w));
	cb_init(&s, p[1], NULL, 0, 0);
	ASSERT_EQ(0, aio_fsync(O_SYNC, &s));
	/* The write is blocked on the full pipe: the sync has not run. */
	EXPECT_EQ(EINPROGRESS, aio_error(&s));
	drain(p[0], filler);
	ASSERT_EQ(0, wait_done(&w));
	ASSERT_EQ(0, wait_done(&s));
	EXPECT_EQ(1, aio_return(&w));
	EXPECT_EQ(EINVAL, aio_error(&s));	/* a pipe cannot be synced */
	close(p[0]);
	close(p[1]);
}

/* O_APPEND writes land in the order they were queued. */
TEST(append_writes_land_in_order)
{
	ssize_t filler;
	int p[2], i;
	struct aiocb w[3];
	const char *text[3] = { "1", "2", "3" };
	char got[4] = {};

	filler = full_pipe(p);
	ASSERT_LT(0, filler);
	ASSERT_EQ(0, fcntl(p[1], F_SETFL, O_APPEND));
	for (i = 0; i < 3; i++) {
		cb_init(&w[i], p[1], (void *)text[i], 1, 0);
		ASSERT_EQ(0, aio_write(&w[i]));
	}
	drain(p[0], filler);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(1, read(p[0], &got[i], 1));
		ASSERT_EQ(0, wait_done(&w[i]));
	}
	EXPECT_STREQ("123", got);
	close(p[0]);
	close(p[1]);
}

static atomic_int sig_count;
static atomic_int sig_code, sig_value, sig_error_seen;
static atomic_int sig_tid;
static struct aiocb *sig_cb;

static void on_aio_signal(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	sig_code = si->si_code;
	sig_value = si->si_value.sival_int;
	sig_tid = (int)syscall(SYS_gettid);
	/* The result is there before the notification. */
	if (sig_cb)
		sig_error_seen = aio_error(sig_cb);
	sig_count++;
}

static void catch_aio_signal(void)
{
	struct sigaction sa = { .sa_sigaction = on_aio_signal, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	sigaction(AIO_SIG, &sa, NULL);
	sig_count = 0;
	sig_error_seen = -1;
}

static int wait_signals(int n)
{
	int i;

	for (i = 0; i < 10000 && sig_count < n; i++)
		usleep(1000);
	return sig_count;
}

TEST(sigev_signal_cached_and_blocked)
{
	int fd = tmp_file("s"), p[2];
	char c = 0;
	struct aiocb cb;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(p));
	catch_aio_signal();

	cb_init(&cb, fd, &c, 1, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = AIO_SIG;
	cb.aio_sigevent.sigev_value.sival_int = 41;
	sig_cb = &cb;
	ASSERT_EQ(0, aio_read(&cb));
	EXPECT_EQ(1, wait_signals(1));
	EXPECT_EQ(SI_ASYNCIO, sig_code);
	EXPECT_EQ(41, sig_value);
	EXPECT_EQ(0, sig_error_seen);
	ASSERT_EQ(0, wait_done(&cb));

	cb_init(&cb, p[0], &c, 1, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = AIO_SIG;
	cb.aio_sigevent.sigev_value.sival_int = 42;
	ASSERT_EQ(0, aio_read(&cb));
	EXPECT_EQ(1, sig_count);
	ASSERT_EQ(1, write(p[1], "p", 1));
	EXPECT_EQ(2, wait_signals(2));
	EXPECT_EQ(SI_ASYNCIO, sig_code);
	EXPECT_EQ(42, sig_value);
	EXPECT_EQ(0, sig_error_seen);
	ASSERT_EQ(0, wait_done(&cb));
	EXPECT_EQ(1, aio_return(&cb));
	sig_cb = NULL;
	close(fd);
	close(p[0]);
	close(p[1]);
}

static atomic_int target_tid, target_stop;

static void *signal_target(void *arg)
{
	sigset_t none;

	(void)arg;
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	target_tid = (int)syscall(SYS_gettid);
	while (!target_stop)
		pause();
	return NULL;
}

/* SIGEV_THREAD_ID: the signal goes to that thread, not any thread. */
TEST(sigev_thread_id_reaches_that_thread)
{
	int p[2];
	char c = 0;
	struct aiocb cb;
	pthread_t t;
	sigset_t block;

	if (expect_glibc())
		SKIP(return, "glibc's AIO does not take SIGEV_THREAD_ID");
	ASSERT_EQ(0, pipe(p));
	catch_aio_signal();
	/* Only the target may take it. */
	sigemptyset(&block);
	sigaddset(&block, AIO_SIG);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	target_stop = 0;
	target_tid = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, signal_target, NULL));
	while (!target_tid)
		sched_yield();

	cb_init(&cb, p[0], &c, 1, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD_ID;
	cb.aio_sigevent.sigev_signo = AIO_SIG;
	cb.aio_sigevent._sigev_un._tid = target_tid;
	cb.aio_sigevent.sigev_value.sival_int = 7;
	ASSERT_EQ(0, aio_read(&cb));
	ASSERT_EQ(1, write(p[1], "t", 1));
	EXPECT_EQ(1, wait_signals(1));
	EXPECT_EQ(target_tid, sig_tid);
	EXPECT_EQ(7, sig_value);
	target_stop = 1;
	pthread_kill(t, AIO_SIG);
	pthread_join(t, NULL);
	pthread_sigmask(SIG_UNBLOCK, &block, NULL);
	ASSERT_EQ(0, wait_done(&cb));
	close(p[0]);
	close(p[1]);
}

static atomic_int thread_value, thread_tid, thread_error_seen;
static struct aiocb *thread_cb;

static void on_aio_thread(union sigval v)
{
	thread_error_seen = aio_error(thread_cb);
	thread_tid = (int)syscall(SYS_gettid);
	thread_value = v.sival_int;
}

TEST(sigev_thread_runs_the_function_on_another_thread)
{
	int fd = tmp_file("t"), i;
	char c;
	struct aiocb cb;

	ASSERT_LE(0, fd);
	cb_init(&cb, fd, &c, 1, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = on_aio_thread;
	cb.aio_sigevent.sigev_value.sival_int = 99;
	thread_cb = &cb;
	thread_value = 0;
	ASSERT_EQ(0, aio_read(&cb));
	for (i = 0; i < 10000 && !thread_value; i++)
		usleep(1000);
	EXPECT_EQ(99, thread_value);
	EXPECT_EQ(0, thread_error_seen);
	EXPECT_NE(syscall(SYS_gettid), thread_tid);
	close(fd);
}

struct releaser {
	pid_t waiter;
	int fd;
};

static void *release_when_asleep(void *arg)
{
	struct releaser *r = arg;

	wait_until_asleep(r->waiter);
	if (write(r->fd, "r", 1) != 1)
		abort();
	return NULL;
}

TEST(lio_listio_waits_for_all_or_notifies_once)
{
	int fd = tmp_file("listio"), p[2];
	char a = 0, b = 0, c = 0;
	struct aiocb cb[3];
	struct aiocb *list[4];
	struct sigevent sev = {
		.sigev_notify = SIGEV_SIGNAL, .sigev_signo = AIO_SIG,
		.sigev_value.sival_int = 5,
	};
	struct releaser rel;
	pthread_t t;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(p));
	cb_init(&cb[0], fd, &a, 1, 0);
	cb[0].aio_lio_opcode = LIO_READ;
	cb_init(&cb[1], p[0], &b, 1, 0);
	cb[1].aio_lio_opcode = LIO_READ;
	cb_init(&cb[2], fd, &c, 1, 1);
	cb[2].aio_lio_opcode = LIO_NOP;
	list[0] = &cb[0];
	list[1] = NULL;
	list[2] = &cb[1];
	list[3] = &cb[2];

	/* LIO_WAIT returns once all are done: the pipe is filled only when
	 * this thread sleeps in it. */
	rel.waiter = (pid_t)syscall(SYS_gettid);
	rel.fd = p[1];
	ASSERT_EQ(0, pthread_create(&t, NULL, release_when_asleep, &rel));
	ASSERT_EQ(0, lio_listio(LIO_WAIT, list, 4, NULL));
	pthread_join(t, NULL);
	EXPECT_EQ(0, aio_error(&cb[0]));
	EXPECT_EQ(0, aio_error(&cb[1]));
	EXPECT_EQ('l', a);
	EXPECT_EQ('r', b);
	EXPECT_EQ(0, c);

	/* LIO_NOWAIT: one signal, once the last has ended. */
	catch_aio_signal();
	a = b = 0;
	ASSERT_EQ(0, lio_listio(LIO_NOWAIT, list, 4, &sev));
	EXPECT_EQ(0, sig_count);
	ASSERT_EQ(1, write(p[1], "s", 1));
	EXPECT_EQ(1, wait_signals(1));
	EXPECT_EQ(5, sig_value);
	EXPECT_EQ(0, aio_error(&cb[1]));
	usleep(20000);
	EXPECT_EQ(1, sig_count);
	close(fd);
	close(p[0]);
	close(p[1]);
}

/* aio_cancel() in every state: waiting, running, done. */
TEST(cancel_in_every_state)
{
	ssize_t filler;
	int p[2];
	struct aiocb w, s, w2;

	if (expect_glibc())
		SKIP(return, "glibc's cancel of a queued request differs in timing");
	filler = full_pipe(p);
	ASSERT_LT(0, filler);
	catch_aio_signal();
	cb_init(&w, p[1], "w", 1, 0);
	ASSERT_EQ(0, aio_write(&w));		/* running: blocked on the pipe */
	cb_init(&s, p[1], NULL, 0, 0);
	s.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	s.aio_sigevent.sigev_signo = AIO_SIG;
	s.aio_sigevent.sigev_value.sival_int = 3;
	ASSERT_EQ(0, aio_fsync(O_SYNC, &s));	/* waiting behind the write */

	EXPECT_EQ(AIO_CANCELED, aio_cancel(p[1], &s));
	EXPECT_EQ(ECANCELED, aio_error(&s));
	EXPECT_EQ(-1, aio_return(&s));
	EXPECT_EQ(1, wait_signals(1));		/* cancelled requests notify */
	EXPECT_EQ(3, sig_value);
	EXPECT_EQ(AIO_NOTCANCELED, aio_cancel(p[1], &w));
	EXPECT_EQ(AIO_NOTCANCELED, aio_cancel(p[1], NULL));
	drain(p[0], filler);
	ASSERT_EQ(0, wait_done(&w));
	EXPECT_EQ(AIO_ALLDONE, aio_cancel(p[1], &w));
	EXPECT_EQ(AIO_ALLDONE, aio_cancel(p[1], NULL));
	EXPECT_EQ(-1, aio_cancel(1000, NULL));
	EXPECT_EQ(EBADF, errno);
	cb_init(&w2, p[0], NULL, 0, 0);
	EXPECT_EQ(-1, aio_cancel(p[1], &w2));	/* another descriptor's */
	EXPECT_EQ(EINVAL, errno);
	close(p[0]);
	close(p[1]);
}

static void ignore_signal(int sig)
{
	(void)sig;
}

struct interrupter {
	pid_t tid;
	pthread_t thread;
};

static void *interrupt_when_asleep(void *arg)
{
	struct interrupter *in = arg;

	wait_until_asleep(in->tid);
	pthread_kill(in->thread, SIGUSR1);
	return NULL;
}

TEST(aio_suspend_times_out_and_is_interrupted)
{
	int p[2];
	char c;
	struct aiocb cb;
	const struct aiocb *list[2] = { NULL, &cb };
	struct timespec ms = { .tv_nsec = 1000 * 1000 };
	struct sigaction sa = { .sa_handler = ignore_signal };
	struct interrupter in;
	pthread_t t;

	ASSERT_EQ(0, pipe(p));
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	cb_init(&cb, p[0], &c, 1, 0);
	ASSERT_EQ(0, aio_read(&cb));
	EXPECT_EQ(-1, aio_suspend(list, 2, &ms));
	EXPECT_EQ(EAGAIN, errno);

	in.tid = (pid_t)syscall(SYS_gettid);
	in.thread = pthread_self();
	ASSERT_EQ(0, pthread_create(&t, NULL, interrupt_when_asleep, &in));
	EXPECT_EQ(-1, aio_suspend(list, 2, NULL));
	EXPECT_EQ(EINTR, errno);
	pthread_join(t, NULL);
	ASSERT_EQ(1, write(p[1], "i", 1));
	ASSERT_EQ(0, wait_done(&cb));
	close(p[0]);
	close(p[1]);
}

/* A buffer on a page not yet there, and one that is no buffer at all. */
TEST(buffers_that_fault)
{
	int fd = tmp_file("faulting page");
	struct aiocb cb;
	char *page;

	ASSERT_LE(0, fd);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	cb_init(&cb, fd, page + 100, 13, 0);
	ASSERT_EQ(0, aio_read(&cb));
	ASSERT_EQ(0, wait_done(&cb));
	EXPECT_EQ(13, aio_return(&cb));
	EXPECT_EQ(0, memcmp(page + 100, "faulting page", 13));

	ASSERT_EQ(0, munmap(page, 4096));
	cb_init(&cb, fd, page, 13, 0);
	ASSERT_EQ(0, aio_read(&cb));
	ASSERT_EQ(0, wait_done(&cb));
	EXPECT_EQ(EFAULT, aio_error(&cb));
	close(fd);
}

/* Threads submitting at once, and a child after fork(). */
struct submitter {
	int fd;
	int ok;
};

static void *submit_many(void *arg)
{
	struct submitter *s = arg;
	char c;
	int i;

	for (i = 0; i < 200; i++) {
		struct aiocb cb;

		cb_init(&cb, s->fd, &c, 1, i % 4);
		if (aio_read(&cb) || wait_done(&cb) || aio_return(&cb) != 1)
			return NULL;
	}
	s->ok = 1;
	return NULL;
}

TEST(threads_and_fork)
{
	struct submitter s[4];
	pthread_t t[4];
	int fd = tmp_file("abcd"), p[2], i, status;
	char c = 0;
	struct aiocb pending;
	pid_t child;

	ASSERT_LE(0, fd);
	for (i = 0; i < 4; i++) {
		s[i].fd = fd;
		s[i].ok = 0;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, submit_many, &s[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(1, s[i].ok) TH_LOG("thread %d", i);
	}

	/*
	 * A request pending in the parent is not the child's. (glibc's own
	 * AIO does not promise this: its child may wait for a thread it
	 * believes idle, which fork() did not copy.)
	 */
	if (expect_glibc()) {
		close(fd);
		return;
	}
	ASSERT_EQ(0, pipe(p));
	cb_init(&pending, p[0], &c, 1, 0);
	ASSERT_EQ(0, aio_read(&pending));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		int q[2];
		char d = 0;
		struct aiocb mine;

		/* Its own requests work, blocked ones too. */
		if (pipe(q))
			_exit(2);
		cb_init(&mine, q[0], &d, 1, 0);
		if (aio_read(&mine) || write(q[1], "c", 1) != 1 || wait_done(&mine) ||
		    aio_return(&mine) != 1 || d != 'c')
			_exit(3);
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(1, write(p[1], "f", 1));
	ASSERT_EQ(0, wait_done(&pending));
	EXPECT_EQ('f', c);
	close(fd);
	close(p[0]);
	close(p[1]);
}

/*
 * A thousand O_DIRECT reads outstanding at once on a slow null_blk disk,
 * each completing once: nothing lost, nothing doubled.
 */
TEST(a_thousand_requests_outstanding)
{
	enum { N = 1000 };
	struct aiocb *cbs;
	const struct aiocb **list;
	char *bufs;
	int fd, i, done = 0, pass = 0;

	if (!nullb_path)
		SKIP(return, "no null_blk device given");
	fd = open(nullb_path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, fd);
	cbs = calloc(N, sizeof(*cbs));
	list = calloc(N, sizeof(*list));
	ASSERT_EQ(0, posix_memalign((void **)&bufs, 4096, (size_t)N * 4096));
	for (i = 0; i < N; i++) {
		cb_init(&cbs[i], fd, bufs + (size_t)i * 4096, 4096, (off_t)(i % 256) * 4096);
		list[i] = &cbs[i];
		ASSERT_EQ(0, aio_read(&cbs[i])) TH_LOG("request %d", i);
	}
	while (done < N && pass++ < 100000) {
		struct timespec ten = { .tv_sec = 10 };

		done = 0;
		for (i = 0; i < N; i++)
			done += aio_error(&cbs[i]) != EINPROGRESS;
		if (done < N && aio_suspend(list, N, &ten) && errno == EAGAIN)
			break;
	}
	EXPECT_EQ(N, done);
	for (i = 0; i < N; i++) {
		EXPECT_EQ(4096, aio_return(&cbs[i])) TH_LOG("request %d", i);
		if (aio_return(&cbs[i]) != 4096)
			break;
	}
	free(bufs);
	free(list);
	free(cbs);
	close(fd);
}

int main(int argc, char **argv)
{
	/* The harness's own options (-t NAME...) come after the device. */
	if (argc > 1 && argv[1][0] == '/') {
		nullb_path = argv[1];
		argv[1] = argv[0];
		return test_harness_run(argc - 1, argv + 1);
	}
	return test_harness_run(argc, argv);
}
