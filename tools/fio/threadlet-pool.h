/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A C face of syslet::threadlet_pool (tools/lib/syslet/syslet.hpp) for the
 * fio engine, which is C because fio's headers are. Nothing here throws:
 * errors come back as negative errno values.
 */
#ifndef SYSLET_FIO_THREADLET_POOL_H
#define SYSLET_FIO_THREADLET_POOL_H

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fio_threadlet_pool;

/*
 * 0 when this process may use syslets (the library's probe: the ABI
 * version, and kernel.syslet.enabled for this caller), else why not.
 */
const char *fio_syslet_unusable(void);

/*
 * @threads lent threads and a ring of @ring_entries (a power of two) for
 * the events of threadlets that went asynchronous. NULL on failure, with
 * a reason written to @why.
 */
struct fio_threadlet_pool *fio_threadlet_pool_create(unsigned int threads,
						     unsigned int ring_entries,
						     char *why, size_t why_size);
/* Waits for threadlets in flight, then releases the lent threads. */
void fio_threadlet_pool_destroy(struct fio_threadlet_pool *pool);

/*
 * Run fn(arg) as a threadlet: 1 when it ran to its end here, 0 when it
 * blocked and goes on in a lent thread, which posts @event (not 0) when
 * it is done; a negative errno when it could not start (nothing ran).
 */
int fio_threadlet_run(struct fio_threadlet_pool *pool, void (*fn)(void *),
		      void *arg, uint64_t event);

/* The next event posted, or 0 when there is none. */
uint64_t fio_threadlet_pop(struct fio_threadlet_pool *pool);

/*
 * Wait until @min events are ready or @timeout (relative, NULL: no
 * limit) passes: 1 ready, 0 timed out, a negative errno (-EINTR).
 */
int fio_threadlet_wait(struct fio_threadlet_pool *pool, unsigned int min,
		       const struct timespec *timeout);

/* Threadlets that could not move and ran in place (see syslet.hpp). */
uint64_t fio_threadlet_ran_in_place(const struct fio_threadlet_pool *pool);

#ifdef __cplusplus
}
#endif

#endif /* SYSLET_FIO_THREADLET_POOL_H */
