/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A pool of threads lent to the kernel with async_thread(), for the
 * threadlet tests: each lender records who it is (TID, TLS, stack), so a
 * test can tell on whose thread a threadlet ran.
 */
#ifndef SYSLET_LEND_H
#define SYSLET_LEND_H

#include <pthread.h>
#include <stdatomic.h>

#include "syslet_test.h"

#define RING 64

/* A pool of lent threads, each recording who it is. */
struct lender {
	pthread_t thread;
	pid_t tid;
	char *stack_lo, *stack_hi;
	int *errno_addr;
	long last;		/* async_thread()'s last return, -errno */
	int interrupted;
	atomic_int done;
};

struct pool {
	struct async_head_user ahu;
	__u64 slots[RING];
	int n;
	struct lender lenders[8];
};

static inline void *lender_main(void *arg)
{
	struct lender *l = arg;
	pthread_attr_t attr;
	size_t size;
	void *lo;

	l->tid = gettid();
	l->errno_addr = &errno;
	pthread_getattr_np(pthread_self(), &attr);
	pthread_attr_getstack(&attr, &lo, &size);
	pthread_attr_destroy(&attr);
	l->stack_lo = lo;
	l->stack_hi = (char *)lo + size;
	return NULL;
}

static struct pool *the_pool;

static inline void *lend_loop(void *arg)
{
	struct lender *l = arg;
	long r;

	lender_main(arg);
	for (;;) {
		r = syscall(__NR_async_thread, 0, &the_pool->ahu, 0);
		l->last = r ? -errno : 0;
		if (r == 0 || errno != EINTR)
			break;
		l->interrupted++;
	}
	atomic_store(&l->done, 1);
	return NULL;
}

/* Lend @n threads and wait until they are parked. */
static inline int pool_start(struct pool *p, int n)
{
	int i;

	ring_init(&p->ahu, p->slots, RING);
	p->n = n;
	the_pool = p;
	for (i = 0; i < n; i++)
		if (pthread_create(&p->lenders[i].thread, NULL, lend_loop,
				   &p->lenders[i]))
			return -1;
	/* Parked: a borrow succeeds. Give them time to get there. */
	for (i = 0; i < 200; i++) {
		int parked = 0, j;
		char path[64];

		for (j = 0; j < n; j++) {
			char buf[256];
			FILE *f;

			if (!p->lenders[j].tid)
				continue;
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat",
				 p->lenders[j].tid);
			f = fopen(path, "r");
			if (!f)
				continue;
			if (fgets(buf, sizeof(buf), f) && strstr(buf, ") S "))
				parked++;
			fclose(f);
		}
		if (parked == n)
			return 0;
		usleep(10000);
	}
	return -1;
}

/* Release every lender and join them; how many returned 0. */
static inline int pool_stop(struct pool *p)
{
	int i, released = 0, tries;

	for (tries = 0; tries < 1000; tries++) {
		int done = 0;

		syscall(__NR_async_thread, 0, &p->ahu, SYSLET_LEND_RELEASE);
		for (i = 0; i < p->n; i++)
			done += atomic_load(&p->lenders[i].done);
		if (done == p->n)
			break;
		usleep(1000);
	}
	for (i = 0; i < p->n; i++) {
		pthread_join(p->lenders[i].thread, NULL);
		released += p->lenders[i].last == 0;
	}
	return released;
}

static inline struct lender *lender_of(struct pool *p, pid_t tid)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (p->lenders[i].tid == tid)
			return &p->lenders[i];
	return NULL;
}

/* What a threadlet saw. */
struct seen {
	pid_t tid_before, tid_after;
	int *errno_addr;
	char *stack;
	pthread_t self;
	int fd;			/* read from it: blocks until written */
	long got;
	int errno_after;
};

static inline long look_around(void *arg)
{
	struct seen *s = arg;
	char c;

	s->tid_before = gettid();
	s->errno_addr = &errno;
	s->stack = (char *)&c;
	s->self = pthread_self();
	if (s->fd >= 0)
		s->got = read(s->fd, &c, 1);
	s->tid_after = gettid();
	/* Fails with EBADF: errno of the thread the threadlet runs on. */
	close(-1);
	s->errno_after = errno;
	return 0;
}

#endif /* SYSLET_LEND_H */
