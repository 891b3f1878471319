// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libsyslet-aio.so - POSIX AIO on syslets, with glibc's ABI.
 *
 * Every request is one chain: the read, write or sync, then, for
 * SIGEV_SIGNAL and SIGEV_THREAD_ID, an rt_sigqueueinfo() or
 * rt_tgsigqueueinfo() atom carrying SI_ASYNCIO and the caller's
 * sigev_value, so that the chain itself notifies, as Ingo Molnar's 2007
 * posting proposed for glibc. A request that does not block has ended,
 * and notified, when aio_read() returns; one that blocks moves to a spare
 * thread and completes through a ring that one thread of this library
 * (syslet-aio-reap, started when a request first moves) reaps. Its result goes straight into the aiocb's __return_value, where
 * aio_error() and aio_return() read it: nothing of this library touches
 * an aiocb after its request completed, so a program may reuse or free
 * it as soon as aio_error() says so.
 *
 * Without usable syslets (the probe, /proc/sys/kernel/syslet/abi_version
 * and enabled, is read once), every function is glibc's own, looked up
 * with dlsym(RTLD_NEXT): preloading is always safe.
 *
 * Limits and behaviour a program may notice:
 *  - Requests on one descriptor run concurrently, except that an
 *    aio_fsync() waits for every request queued before it on that
 *    descriptor, and writes to a descriptor opened with O_APPEND run one
 *    after the other, in order.
 *  - aio_cancel() cancels only requests that wait behind such an order
 *    (AIO_CANCELED, with their notification); one running in a chain
 *    cannot be stopped (AIO_NOTCANCELED).
 *  - SIGEV_THREAD functions run on threads of this library (named
 *    syslet-aio-ntfy): at most SYSLET_AIO_NOTIFY_THREADS (4) at once, in
 *    completion order; with
 *    sigev_notify_attributes, on a new detached thread with those
 *    attributes, as glibc does.
 *  - A request whose chain cannot move (a traced caller, one that owns a
 *    contended PI futex; see async_exec(2)) runs synchronously to its
 *    end inside aio_read() and friends.
 *  - aio_reqprio must be 0..AIO_PRIO_DELTA_MAX (EINVAL) and is otherwise
 *    ignored, as priorities among chains that run at once mean nothing;
 *    aio_init() is accepted and ignored.
 *  - fork(): the child has no requests pending; exec ends them as any
 *    thread of the process would be ended.
 *
 * SYSLET_AIO_STATS=1 in the environment prints, at exit, how many
 * requests there were and how many of them went asynchronous.
 */
#define _GNU_SOURCE
#include <aio.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <linux/futex.h>
#include <linux/syslet.h>
#include <linux/time_types.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SYSLET_AIO_EXPORT __attribute__((visibility("default")))
#define SYSLET_AIO_NOTIFY_THREADS	4
#define SYSLET_AIO_RING			4096	/* entries, a power of two */
#define SYSLET_AIO_FD_BUCKETS		256

/* What __return_value holds until the request has ended. */
#define IN_PROGRESS	((ssize_t)INT64_MIN)

#ifndef __NR_async_exec
#define __NR_async_exec		463
#define __NR_async_wait		464
#endif

enum req_order {
	ORDER_NONE,	/* runs at once */
	ORDER_SERIAL,	/* an O_APPEND write: after the earlier ones */
	ORDER_BARRIER,	/* aio_fsync(): after everything before it */
};

enum req_state {
	REQ_QUEUED,	/* waits for its turn on its descriptor */
	REQ_SUBMITTING,	/* in async_exec(), the lock not held */
	REQ_CANCELLED,	/* was queued; aio_cancel() ends it */
	REQ_RUNNING,	/* moved: its completion comes through the ring */
};

struct lio_group;

/*
 * One request. The atoms come first: a completion's entry is the address
 * of the last atom that ran, io or notify, and leads back here.
 */
struct req {
	struct syslet_uatom io;
	struct syslet_uatom notify;
	__u64 io_args[4];
	__u64 notify_args[4];
	__s64 notify_ret;
	siginfo_t info;
	struct aiocb *cb;
	int fd;
	enum req_order order;
	enum req_state state;
	bool ended_early;		/* posted while still REQ_SUBMITTING */
	/* The aiocb's, copied: an aiocb is the program's again once its
	 * request has ended, and may be gone. */
	struct sigevent sigev;
	struct lio_group *group;
	struct req *fd_next;		/* its descriptor's requests, in order */
};

/* A lio_listio() whose caller waits, or wants one notification for all. */
struct lio_group {
	unsigned int pending;
	bool waiter;			/* LIO_WAIT: the caller frees it */
	struct sigevent sigev;
};

/* A descriptor with requests in flight or queued, in submission order. */
struct fd_queue {
	int fd;
	struct req *head, *tail;
	struct fd_queue *next;
};

struct notify_job {
	void (*fn)(union sigval);
	union sigval value;
	struct notify_job *next;
};

static struct {
	pthread_once_t once;
	bool syslets;			/* else everything is glibc's */
	pthread_mutex_t lock;		/* everything below */
	struct async_head_user head;
	__u64 *ring;
	bool reaper_running;
	struct fd_queue *fds[SYSLET_AIO_FD_BUCKETS];
	/* Bumped, and woken, whenever a request ends: aio_suspend() and
	 * lio_listio(LIO_WAIT) sleep on it. */
	_Atomic uint32_t generation;
	_Atomic unsigned long requests, moved;
	struct notify_job *jobs_head, *jobs_tail;
	pthread_cond_t jobs_cv;
	unsigned int notifiers;
	pid_t pid;
} aio = {
	.once = PTHREAD_ONCE_INIT,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.jobs_cv = PTHREAD_COND_INITIALIZER,
};

/* glibc's own functions, for a kernel without syslets. */
static struct {
	int (*read)(struct aiocb *);
	int (*write)(struct aiocb *);
	int (*fsync)(int, struct aiocb *);
	int (*error)(const struct aiocb *);
	ssize_t (*ret)(struct aiocb *);
	int (*suspend)(const struct aiocb *const[], int, const struct timespec *);
	int (*cancel)(int, struct aiocb *);
	int (*listio)(int, struct aiocb *const[], int, struct sigevent *);
	void (*init)(const struct aioinit *);
} glibc;

static int read_proc_int(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "re");
	int v = -1;

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			v = atoi(buf);
		fclose(f);
	}
	return v;
}

static void *glibc_symbol(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		fprintf(stderr, "libsyslet-aio: no %s after this library: %s\n",
			name, dlerror());
		abort();
	}
	return p;
}

static void reset_after_fork(void);
static bool use_syslets(void);

/*
 * Whether this kernel runs chains for us: the probe says so, and a chain
 * with this ring is accepted (kernel.syslet.enabled=2 may leave us out).
 */
static void setup(void)
{
	struct syslet_uatom probe = { .nr = __NR_getppid };
	__s64 ret = 0;

	glibc.read = glibc_symbol("aio_read");
	glibc.write = glibc_symbol("aio_write");
	glibc.fsync = glibc_symbol("aio_fsync");
	glibc.error = glibc_symbol("aio_error");
	glibc.ret = glibc_symbol("aio_return");
	glibc.suspend = glibc_symbol("aio_suspend");
	glibc.cancel = glibc_symbol("aio_cancel");
	glibc.listio = glibc_symbol("lio_listio");
	glibc.init = glibc_symbol("aio_init");

	if (read_proc_int("/proc/sys/kernel/syslet/abi_version") < SYSLET_ABI_VERSION)
		return;
	aio.ring = aligned_alloc(64, SYSLET_AIO_RING * sizeof(__u64));
	if (!aio.ring)
		return;
	memset(aio.ring, 0, SYSLET_AIO_RING * sizeof(__u64));
	aio.head.size = sizeof(aio.head);
	aio.head.completion_ring = (__u64)(uintptr_t)aio.ring;
	aio.head.ring_size_bytes = SYSLET_AIO_RING * sizeof(__u64);
	probe.ret_ptr = (__u64)(uintptr_t)&ret;
	if (syscall(__NR_async_exec, &probe, &aio.head) <= 0) {
		free(aio.ring);
		aio.ring = NULL;
		return;
	}
	aio.pid = getpid();
	aio.syslets = true;
	pthread_atfork(NULL, NULL, reset_after_fork);
}

static void print_stats(void)
{
	use_syslets();
	fprintf(stderr, "libsyslet-aio: %s: %lu requests, %lu asynchronous "
		"(ring %llu posted, %llu reaped; reaper %s)\n",
		aio.syslets ? "syslets" : "glibc's AIO (no usable syslets)",
		atomic_load(&aio.requests), atomic_load(&aio.moved),
		(unsigned long long)__atomic_load_n(&aio.head.kernel_ring_idx, __ATOMIC_ACQUIRE),
		(unsigned long long)__atomic_load_n(&aio.head.user_ring_idx, __ATOMIC_ACQUIRE),
		aio.reaper_running ? "running" : "not started");
}

__attribute__((constructor)) static void stats_at_exit(void)
{
	const char *e = getenv("SYSLET_AIO_STATS");

	if (e && *e && strcmp(e, "0"))
		atexit(print_stats);
}

static bool use_syslets(void)
{
	pthread_once(&aio.once, setup);
	return aio.syslets;
}

/* The child has no requests: a fresh ring, no reaper, no queues. */
static void reset_after_fork(void)
{
	pthread_mutex_init(&aio.lock, NULL);
	pthread_cond_init(&aio.jobs_cv, NULL);
	memset(aio.ring, 0, SYSLET_AIO_RING * sizeof(__u64));
	aio.head.kernel_ring_idx = 0;
	aio.head.user_ring_idx = 0;
	aio.head.sync_chains = 0;
	aio.reaper_running = false;
	memset(aio.fds, 0, sizeof(aio.fds));
	aio.jobs_head = aio.jobs_tail = NULL;
	aio.notifiers = 0;
	aio.pid = getpid();
}

static long futex(_Atomic uint32_t *word, int op, uint32_t val,
		  const struct timespec *timeout)
{
	return syscall(SYS_futex, word, op | FUTEX_PRIVATE_FLAG, val, timeout,
		       NULL, 0);
}

static void wake_waiters(void)
{
	atomic_fetch_add_explicit(&aio.generation, 1, memory_order_release);
	futex(&aio.generation, FUTEX_WAKE, INT_MAX, NULL);
}

/* ---------------------------------------------------------------------- */
/* Notification                                                            */

static void *notifier_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "syslet-aio-ntfy");
	pthread_mutex_lock(&aio.lock);
	for (;;) {
		struct notify_job *job;

		while (!aio.jobs_head)
			pthread_cond_wait(&aio.jobs_cv, &aio.lock);
		job = aio.jobs_head;
		aio.jobs_head = job->next;
		if (!aio.jobs_head)
			aio.jobs_tail = NULL;
		pthread_mutex_unlock(&aio.lock);
		job->fn(job->value);
		free(job);
		pthread_mutex_lock(&aio.lock);
	}
	return NULL;
}

static void *notify_alone(void *arg)
{
	struct notify_job *job = arg;

	job->fn(job->value);
	free(job);
	return NULL;
}

/* Threads made here block every signal, as glibc's AIO threads do. */
static int start_thread(pthread_t *t, const pthread_attr_t *attr,
			void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

/* SIGEV_THREAD: queue the call for the notifier threads. Lock held. */
static void notify_thread_locked(const struct sigevent *sev)
{
	struct notify_job *job = malloc(sizeof(*job));
	pthread_attr_t attr;
	pthread_t t;

	if (!job)
		return;		/* as glibc: a notification it cannot start is lost */
	job->fn = sev->sigev_notify_function;
	job->value = sev->sigev_value;
	job->next = NULL;
	if (sev->sigev_notify_attributes) {
		attr = *sev->sigev_notify_attributes;
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (start_thread(&t, &attr, notify_alone, job))
			free(job);
		return;
	}
	*(aio.jobs_tail ? &aio.jobs_tail->next : &aio.jobs_head) = job;
	aio.jobs_tail = job;
	if (aio.notifiers < SYSLET_AIO_NOTIFY_THREADS &&
	    !start_thread(&t, NULL, notifier_main, NULL)) {
		pthread_detach(t);
		aio.notifiers++;
	}
	pthread_cond_signal(&aio.jobs_cv);
}

static void fill_siginfo(siginfo_t *info, const struct sigevent *sev)
{
	memset(info, 0, sizeof(*info));
	info->si_signo = sev->sigev_signo;
	info->si_code = SI_ASYNCIO;
	info->si_pid = aio.pid;
	info->si_uid = getuid();
	info->si_value = sev->sigev_value;
}

/* A notification this library sends itself (lio_listio, cancel). */
static void notify_locked(const struct sigevent *sev)
{
	siginfo_t info;

	switch (sev->sigev_notify) {
	case SIGEV_SIGNAL:
		if (!sev->sigev_signo)
			break;
		fill_siginfo(&info, sev);
		syscall(SYS_rt_sigqueueinfo, aio.pid, sev->sigev_signo, &info);
		break;
	case SIGEV_THREAD_ID:
		fill_siginfo(&info, sev);
		syscall(SYS_rt_tgsigqueueinfo, aio.pid, sev->_sigev_un._tid,
			sev->sigev_signo, &info);
		break;
	case SIGEV_THREAD:
		notify_thread_locked(sev);
		break;
	}
}

static bool sigevent_valid(const struct sigevent *sev)
{
	switch (sev->sigev_notify) {
	case SIGEV_NONE:
		return true;
	case SIGEV_SIGNAL:
		/* Signal 0, a zeroed sigevent's, is no notification. */
		return sev->sigev_signo >= 0 && sev->sigev_signo < NSIG;
	case SIGEV_THREAD_ID:
		return sev->sigev_signo > 0 && sev->sigev_signo < NSIG;
	case SIGEV_THREAD:
		return sev->sigev_notify_function != NULL;
	}
	return false;
}

/* ---------------------------------------------------------------------- */
/* Descriptors and their order                                             */

static struct fd_queue **fd_slot(int fd)
{
	struct fd_queue **q = &aio.fds[(unsigned int)fd % SYSLET_AIO_FD_BUCKETS];

	while (*q && (*q)->fd != fd)
		q = &(*q)->next;
	return q;
}

/* Whether r may start: nothing before it on its descriptor holds it back. */
static bool may_start(const struct fd_queue *q, const struct req *r)
{
	const struct req *e;

	for (e = q->head; e != r; e = e->fd_next) {
		if (e->order == ORDER_BARRIER || r->order == ORDER_BARRIER)
			return false;
		if (e->order == ORDER_SERIAL && r->order == ORDER_SERIAL)
			return false;
	}
	return true;
}

static void fd_remove(struct req *r)
{
	struct fd_queue **slot = fd_slot(r->fd), *q = *slot;
	struct req **p = &q->head, *prev = NULL;

	while (*p != r) {
		prev = *p;
		p = &(*p)->fd_next;
	}
	*p = r->fd_next;
	if (q->tail == r)
		q->tail = prev;
	if (!q->head) {
		*slot = q->next;
		free(q);
	}
}

/* ---------------------------------------------------------------------- */
/* Requests                                                                */

/* A request refused or cancelled: its error, where aio_error() reads it. */
static void settle_cb(struct aiocb *cb, int err)
{
	cb->__error_code = err;
	__atomic_store_n(&cb->__return_value, (ssize_t)-err, __ATOMIC_RELEASE);
}

static struct req *req_of(__u64 entry)
{
	struct syslet_uatom *a = (struct syslet_uatom *)(uintptr_t)entry;

	return (struct req *)(uintptr_t)a->private;
}

static int start_locked(struct req *r);

/*
 * r has ended (its result is in its aiocb): its lio group, a SIGEV_THREAD
 * notification (the chain sent the others), and its place on its
 * descriptor. Lock held.
 */
static void retire_locked(struct req *r)
{
	struct lio_group *g = r->group;

	if (r->sigev.sigev_notify == SIGEV_THREAD)
		notify_thread_locked(&r->sigev);
	if (g && !--g->pending && !g->waiter) {
		notify_locked(&g->sigev);
		free(g);
	}
	fd_remove(r);
	free(r);
}

/*
 * Start what may start on fd now. Each start drops the lock, so the queue
 * is looked at afresh after every one.
 */
static void start_ready_locked(int fd)
{
	for (;;) {
		struct fd_queue *q = *fd_slot(fd);
		struct req *e;

		for (e = q ? q->head : NULL; e; e = e->fd_next)
			if (e->state == REQ_QUEUED && may_start(q, e))
				break;
		if (!e)
			return;
		start_locked(e);
	}
}

/* r has ended: retire it, start what waited for it, wake the waiters. */
static void end_locked(struct req *r)
{
	const int fd = r->fd;

	retire_locked(r);
	start_ready_locked(fd);
	wake_waiters();
}

/* Take every completion the ring holds. Lock held. */
static void reap_locked(void)
{
	for (;;) {
		__u64 idx = aio.head.user_ring_idx;
		__u64 *slot = &aio.ring[idx & (SYSLET_AIO_RING - 1)];
		__u64 v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
		struct req *r;

		if (!v)
			return;
		__atomic_store_n(slot, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&aio.head.user_ring_idx, idx + 1, __ATOMIC_RELEASE);
		r = req_of(v);
		if (r->state == REQ_SUBMITTING)
			r->ended_early = true;	/* its submitter ends it */
		else
			end_locked(r);
	}
}

/* The ring's only consumer; blocks every signal. */
static void *reaper_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "syslet-aio-reap");
	for (;;) {
		long n = syscall(__NR_async_wait, 1UL,
				 (unsigned long)__atomic_load_n(&aio.head.user_ring_idx,
								__ATOMIC_RELAXED),
				 &aio.head, NULL);

		if (n < 0 && errno != EINTR && errno != ETIME) {
			fprintf(stderr, "libsyslet-aio: async_wait: %s\n", strerror(errno));
			abort();
		}
		pthread_mutex_lock(&aio.lock);
		reap_locked();
		pthread_mutex_unlock(&aio.lock);
	}
	return NULL;
}

/*
 * The first time a chain moves: until then, nothing needs reaping, and a
 * program whose requests all complete inline has no thread of ours. Its
 * completion waits in the ring meanwhile. Without a reaper, aio_suspend()
 * would never see a moved request end: abort rather than hang.
 */
static void start_reaper_locked(void)
{
	pthread_t t;
	int err;

	if (aio.reaper_running)
		return;
	err = start_thread(&t, NULL, reaper_main, NULL);
	if (err) {
		fprintf(stderr, "libsyslet-aio: no reaper thread: %s\n", strerror(err));
		abort();
	}
	pthread_detach(t);
	aio.reaper_running = true;
}

/*
 * Run r's chain. The lock is dropped meanwhile: a chain that cannot move
 * runs to its end here, however long it blocks. Lock held on entry and
 * exit; r may be gone on return. 0, or the errno async_exec() refused the
 * chain with (then r has ended with that error, and notified nothing).
 */
static int start_locked(struct req *r)
{
	long ret;
	int err = 0;

	r->state = REQ_SUBMITTING;
	pthread_mutex_unlock(&aio.lock);
	ret = syscall(__NR_async_exec, &r->io, &aio.head);
	if (ret < 0) {	/* the head and atoms are ours: EPERM, ENOMEM */
		err = errno;
		r->sigev.sigev_notify = SIGEV_NONE;
		settle_cb(r->cb, err);
	}
	pthread_mutex_lock(&aio.lock);
	atomic_fetch_add_explicit(&aio.requests, 1, memory_order_relaxed);
	if (ret == 0) {
		atomic_fetch_add_explicit(&aio.moved, 1, memory_order_relaxed);
		start_reaper_locked();
	}
	if (ret == 0 && !r->ended_early) {
		r->state = REQ_RUNNING;
		return 0;
	}
	end_locked(r);
	return err;
}

static struct req *req_new(struct aiocb *cb, long nr, enum req_order order)
{
	struct req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cb = cb;
	r->fd = cb->aio_fildes;
	r->order = order;
	r->io.nr = nr;
	r->io.ret_ptr = (__u64)(uintptr_t)&cb->__return_value;
	r->io.private = (__u64)(uintptr_t)r;
	r->io_args[0] = (__u64)(unsigned int)cb->aio_fildes;
	r->io_args[1] = (__u64)(uintptr_t)cb->aio_buf;
	r->io_args[2] = cb->aio_nbytes;
	r->io_args[3] = (__u64)cb->aio_offset;
	for (int i = 0; i < 4; i++)
		r->io.arg_ptr[i] = (__u64)(uintptr_t)&r->io_args[i];

	r->sigev = cb->aio_sigevent;
	if (r->sigev.sigev_notify == SIGEV_SIGNAL && !r->sigev.sigev_signo)
		r->sigev.sigev_notify = SIGEV_NONE;
	switch (r->sigev.sigev_notify) {
	case SIGEV_SIGNAL:
	case SIGEV_THREAD_ID:
		fill_siginfo(&r->info, &cb->aio_sigevent);
		r->notify_args[0] = (__u64)aio.pid;
		if (cb->aio_sigevent.sigev_notify == SIGEV_SIGNAL) {
			r->notify.nr = __NR_rt_sigqueueinfo;
			r->notify_args[1] = (__u64)cb->aio_sigevent.sigev_signo;
			r->notify_args[2] = (__u64)(uintptr_t)&r->info;
		} else {
			r->notify.nr = __NR_rt_tgsigqueueinfo;
			r->notify_args[1] = (__u64)cb->aio_sigevent._sigev_un._tid;
			r->notify_args[2] = (__u64)cb->aio_sigevent.sigev_signo;
			r->notify_args[3] = (__u64)(uintptr_t)&r->info;
		}
		for (int i = 0; i < 4; i++)
			r->notify.arg_ptr[i] = (__u64)(uintptr_t)&r->notify_args[i];
		r->notify.ret_ptr = (__u64)(uintptr_t)&r->notify_ret;
		r->notify.private = (__u64)(uintptr_t)r;
		r->io.next = (__u64)(uintptr_t)&r->notify;
		break;
	default:
		break;
	}
	return r;
}

/*
 * Queue cb's request on its descriptor and start it when its order allows.
 * 0, or -1 with errno (nothing queued).
 */
static int submit(struct aiocb *cb, long nr, enum req_order order,
		  struct lio_group *group)
{
	struct fd_queue **slot, *q;
	struct req *r;

	/* glibc's aio_fsync() leaves aio_reqprio alone: so do we. */
	if ((order != ORDER_BARRIER &&
	     (cb->aio_reqprio < 0 || cb->aio_reqprio > AIO_PRIO_DELTA_MAX)) ||
	    !sigevent_valid(&cb->aio_sigevent)) {
		settle_cb(cb, EINVAL);
		errno = EINVAL;
		return -1;
	}
	r = req_new(cb, nr, order);
	if (!r) {
		errno = EAGAIN;
		return -1;
	}
	r->group = group;
	cb->__error_code = EINPROGRESS;
	__atomic_store_n(&cb->__return_value, IN_PROGRESS, __ATOMIC_RELEASE);

	pthread_mutex_lock(&aio.lock);
	slot = fd_slot(r->fd);
	q = *slot;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q) {
			pthread_mutex_unlock(&aio.lock);
			free(r);
			settle_cb(cb, EAGAIN);
			errno = EAGAIN;
			return -1;
		}
		q->fd = r->fd;
		*slot = q;
	}
	*(q->tail ? &q->tail->fd_next : &q->head) = r;
	q->tail = r;
	if (group)
		group->pending++;
	r->state = REQ_QUEUED;
	if (may_start(q, r) && start_locked(r)) {
		pthread_mutex_unlock(&aio.lock);
		errno = EAGAIN;	/* not queued: syslets were switched off */
		return -1;
	}
	pthread_mutex_unlock(&aio.lock);
	return 0;
}

static enum req_order write_order(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_APPEND) ? ORDER_SERIAL : ORDER_NONE;
}

/*
 * pread64 or read (pwrite64 or write): a pipe, socket or terminal has no
 * offset (ESPIPE), and glibc reads it where it stands. A descriptor that
 * fstat() refuses keeps the positional call, whose error aio_error() says.
 */
static long io_call(int fd, bool write)
{
	struct stat st;

	if (!fstat(fd, &st) && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) &&
	    !S_ISDIR(st.st_mode))
		return write ? __NR_write : __NR_read;
	return write ? __NR_pwrite64 : __NR_pread64;
}

/* ---------------------------------------------------------------------- */
/* The POSIX functions                                                     */

SYSLET_AIO_EXPORT int aio_read(struct aiocb *cb)
{
	if (!use_syslets())
		return glibc.read(cb);
	return submit(cb, io_call(cb->aio_fildes, false), ORDER_NONE, NULL);
}

SYSLET_AIO_EXPORT int aio_write(struct aiocb *cb)
{
	if (!use_syslets())
		return glibc.write(cb);
	return submit(cb, io_call(cb->aio_fildes, true), write_order(cb->aio_fildes), NULL);
}

SYSLET_AIO_EXPORT int aio_fsync(int op, struct aiocb *cb)
{
	if (!use_syslets())
		return glibc.fsync(op, cb);
	if (op != O_SYNC && op != O_DSYNC) {
		errno = EINVAL;
		return -1;
	}
	if (fcntl(cb->aio_fildes, F_GETFL) < 0) {
		errno = EBADF;
		return -1;
	}
	return submit(cb, op == O_SYNC ? __NR_fsync : __NR_fdatasync,
		      ORDER_BARRIER, NULL);
}

SYSLET_AIO_EXPORT int aio_error(const struct aiocb *cb)
{
	ssize_t r;

	if (!use_syslets())
		return glibc.error(cb);
	r = __atomic_load_n(&cb->__return_value, __ATOMIC_ACQUIRE);
	if (r == IN_PROGRESS)
		return EINPROGRESS;
	return r < 0 ? (int)-r : 0;
}

SYSLET_AIO_EXPORT ssize_t aio_return(struct aiocb *cb)
{
	ssize_t r;

	if (!use_syslets())
		return glibc.ret(cb);
	r = __atomic_load_n(&cb->__return_value, __ATOMIC_ACQUIRE);
	if (r == IN_PROGRESS) {
		errno = EINVAL;
		return -1;
	}
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static bool any_done(const struct aiocb *const list[], int n)
{
	for (int i = 0; i < n; i++)
		if (list[i] && aio_error(list[i]) != EINPROGRESS)
			return true;
	return false;
}

/*
 * Sleep until the generation moves on from gen, or until the absolute
 * CLOCK_MONOTONIC deadline: 0, or -1 with EAGAIN (timed out) or EINTR.
 */
static int wait_generation(uint32_t gen, const struct timespec *deadline)
{
	struct timespec now, left, *tp = NULL;

	if (deadline) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = deadline->tv_sec - now.tv_sec;
		left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_nsec += 1000000000L;
			left.tv_sec--;
		}
		if (left.tv_sec < 0) {
			errno = EAGAIN;
			return -1;
		}
		tp = &left;
	}
	/* A cancellation point, as glibc's aio_suspend() is: asynchronously
	 * cancellable only inside the wait, which holds nothing. */
	int old, ret;

	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
	ret = futex(&aio.generation, FUTEX_WAIT, gen, tp);
	pthread_setcanceltype(old, NULL);
	if (ret == 0 || errno == EAGAIN)
		return 0;
	if (errno == ETIMEDOUT)
		errno = EAGAIN;
	return -1;
}

static const struct timespec *deadline_of(const struct timespec *timeout,
					  struct timespec *deadline)
{
	if (!timeout)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += timeout->tv_sec;
	deadline->tv_nsec += timeout->tv_nsec;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_nsec -= 1000000000L;
		deadline->tv_sec++;
	}
	return deadline;
}

SYSLET_AIO_EXPORT int aio_suspend(const struct aiocb *const list[], int n,
				  const struct timespec *timeout)
{
	struct timespec deadline;
	const struct timespec *dl;

	if (!use_syslets())
		return glibc.suspend(list, n, timeout);
	if (timeout && (timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000L)) {
		errno = EINVAL;
		return -1;
	}
	pthread_testcancel();
	dl = deadline_of(timeout, &deadline);
	for (;;) {
		uint32_t gen = atomic_load_explicit(&aio.generation, memory_order_acquire);

		if (any_done(list, n))
			return 0;
		if (wait_generation(gen, dl))
			return -1;
	}
}

SYSLET_AIO_EXPORT int aio_cancel(int fd, struct aiocb *cb)
{
	bool cancelled = false;
	struct fd_queue *q;
	struct req *r;
	int result = AIO_ALLDONE;

	if (!use_syslets())
		return glibc.cancel(fd, cb);
	if (fcntl(fd, F_GETFL) < 0) {
		errno = EBADF;
		return -1;
	}
	if (cb && cb->aio_fildes != fd) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&aio.lock);
	/* Running ones stay; waiting ones all go before any other starts. */
	q = *fd_slot(fd);
	for (r = q ? q->head : NULL; r; r = r->fd_next) {
		if (cb && r->cb != cb)
			continue;
		if (r->state != REQ_QUEUED) {
			/* Ended, only not reaped yet: all done. */
			if (__atomic_load_n(&r->cb->__return_value, __ATOMIC_ACQUIRE) ==
			    IN_PROGRESS)
				result = AIO_NOTCANCELED;
			continue;
		}
		r->state = REQ_CANCELLED;	/* nothing starts it now */
		if (result == AIO_ALLDONE)
			result = AIO_CANCELED;
	}
	while ((q = *fd_slot(fd))) {
		for (r = q->head; r && r->state != REQ_CANCELLED; r = r->fd_next)
			;
		if (!r)
			break;
		notify_locked(&r->sigev);
		r->sigev.sigev_notify = SIGEV_NONE;	/* notified just now */
		settle_cb(r->cb, ECANCELED);
		retire_locked(r);
		cancelled = true;
	}
	if (cancelled) {
		start_ready_locked(fd);
		wake_waiters();
	}
	pthread_mutex_unlock(&aio.lock);
	return result;
}

SYSLET_AIO_EXPORT int lio_listio(int mode, struct aiocb *const list[], int n,
				 struct sigevent *sev)
{
	struct lio_group *g = NULL;
	bool failed = false;

	if (!use_syslets())
		return glibc.listio(mode, list, n, sev);
	if ((mode != LIO_WAIT && mode != LIO_NOWAIT) || n < 0 ||
	    (mode == LIO_NOWAIT && sev && !sigevent_valid(sev))) {
		errno = EINVAL;
		return -1;
	}
	if (mode == LIO_WAIT || (sev && sev->sigev_notify != SIGEV_NONE)) {
		g = calloc(1, sizeof(*g));
		if (!g) {
			errno = EAGAIN;
			return -1;
		}
		g->waiter = mode == LIO_WAIT;
		if (sev && mode == LIO_NOWAIT)
			g->sigev = *sev;
		else
			g->sigev.sigev_notify = SIGEV_NONE;
		g->pending = 1;	/* held until every request is queued */
	}
	for (int i = 0; i < n; i++) {
		struct aiocb *cb = list[i];
		int r = 0;

		if (!cb || cb->aio_lio_opcode == LIO_NOP)
			continue;
		if (cb->aio_lio_opcode == LIO_READ)
			r = submit(cb, io_call(cb->aio_fildes, false), ORDER_NONE, g);
		else if (cb->aio_lio_opcode == LIO_WRITE)
			r = submit(cb, io_call(cb->aio_fildes, true),
				   write_order(cb->aio_fildes), g);
		else
			settle_cb(cb, EINVAL), r = -1;
		failed |= r != 0;
	}

	if (g) {
		pthread_mutex_lock(&aio.lock);
		if (!--g->pending && !g->waiter) {
			notify_locked(&g->sigev);
			free(g);
		}
		pthread_mutex_unlock(&aio.lock);
	}
	if (mode == LIO_WAIT) {
		for (;;) {
			uint32_t gen = atomic_load_explicit(&aio.generation,
							    memory_order_acquire);
			unsigned int pending;

			pthread_mutex_lock(&aio.lock);
			pending = g->pending;
			pthread_mutex_unlock(&aio.lock);
			if (!pending)
				break;
			if (wait_generation(gen, NULL)) {
				/* EINTR: the requests go on; the group with them. */
				pthread_mutex_lock(&aio.lock);
				g->waiter = false;
				if (!g->pending)
					free(g);
				pthread_mutex_unlock(&aio.lock);
				return -1;
			}
		}
		free(g);
		/* Waited for: a request that failed fails the call too. */
		for (int i = 0; i < n; i++)
			failed |= list[i] && (list[i]->aio_lio_opcode == LIO_READ ||
					      list[i]->aio_lio_opcode == LIO_WRITE) &&
				  aio_error(list[i]) != 0;
	}
	if (failed) {
		errno = EIO;
		return -1;
	}
	return 0;
}

SYSLET_AIO_EXPORT void aio_init(const struct aioinit *init)
{
	if (!use_syslets())
		glibc.init(init);
}

/* On x86-64 off_t is off64_t: the *64 names take the same structure. */
_Static_assert(sizeof(struct aiocb64) == sizeof(struct aiocb) &&
	       offsetof(struct aiocb64, aio_offset) == offsetof(struct aiocb, aio_offset),
	       "struct aiocb64 is struct aiocb");

SYSLET_AIO_EXPORT int aio_read64(struct aiocb64 *cb)
{
	return aio_read((struct aiocb *)cb);
}

SYSLET_AIO_EXPORT int aio_write64(struct aiocb64 *cb)
{
	return aio_write((struct aiocb *)cb);
}

SYSLET_AIO_EXPORT int aio_fsync64(int op, struct aiocb64 *cb)
{
	return aio_fsync(op, (struct aiocb *)cb);
}

SYSLET_AIO_EXPORT int aio_error64(const struct aiocb64 *cb)
{
	return aio_error((const struct aiocb *)cb);
}

SYSLET_AIO_EXPORT ssize_t aio_return64(struct aiocb64 *cb)
{
	return aio_return((struct aiocb *)cb);
}

SYSLET_AIO_EXPORT int aio_suspend64(const struct aiocb64 *const list[], int n,
				    const struct timespec *timeout)
{
	return aio_suspend((const struct aiocb *const *)list, n, timeout);
}

SYSLET_AIO_EXPORT int aio_cancel64(int fd, struct aiocb64 *cb)
{
	return aio_cancel(fd, (struct aiocb *)cb);
}

SYSLET_AIO_EXPORT int lio_listio64(int mode, struct aiocb64 *const list[], int n,
				   struct sigevent *sev)
{
	return lio_listio(mode, (struct aiocb *const *)list, n, sev);
}
