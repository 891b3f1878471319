// SPDX-License-Identifier: GPL-2.0
/*
 * fio engine "syslet": every I/O runs as a syslet (a chain of one atom,
 * pread64, pwrite64, fsync or fdatasync) or, with syslet_mode=threadlet,
 * as a threadlet calling the same function. Either runs in the job's
 * thread until it blocks; one that does not block completes before
 * async_exec() (or the threadlet) returns, one that blocks completes
 * through a completion ring.
 *
 *	ioengine=external:/usr/lib/syslet/fio-syslet.so
 *	syslet_mode=chain|threadlet	(default chain)
 *	threadlet_threads=N		threads lent to threadlets, 1-65536
 *					(default: iodepth)
 *	syslet_stats			print how many I/Os went asynchronous,
 *					and the submission calls chain mode made
 *	syslet_batch_call=0|1		chain mode, iodepth_batch>1: submit a
 *					batch with async_exec_batch() (1, the
 *					default) or one async_exec() per I/O
 *
 * Submission: with iodepth_batch=1 (fio's default) ->queue() submits, and
 * an I/O that did not block is FIO_Q_COMPLETED at once, as with psync.
 * With iodepth_batch>1 ->queue() collects and ->commit() submits the batch,
 * one chain per I/O: a single chain of the whole batch would put every I/O
 * behind the first one that blocks. In chain mode the chains go in one
 * async_exec_batch() call, which stops after a chain that blocked (the
 * caller moves at most once a call): the rest go in the next call. Those
 * that did not block wait in a list for ->getevents(), which then reaps
 * the ring, calling async_wait() (or waiting on the threadlet pool) while
 * fewer than min are there.
 * iodepth_batch_complete_min/max arrive as getevents' min and max.
 *
 * Trim and sync_file_range run synchronously in ->queue(), after any
 * batch collected so far has been submitted; fio stamps a trim's issue
 * time itself (FIO_ASYNCIO_SYNC_TRIM), ->queue() a sync_file_range's.
 * Every other I/O is stamped when it is submitted: in ->queue(), or, for
 * a batch, once in ->commit(), as libaio does. An I/O ->queue() finishes
 * is a synchronous one to fio, as psync's are, with no submission latency
 * sampled; only those that went asynchronous, and a batch's, have one.
 *
 * Built against the fio whose source made the fio binary in the guest
 * (see scripts/fio-build.sh); fio refuses an engine whose ops version
 * differs from its own.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/syslet.h>
#include <linux/time_types.h>

#include "fio.h"
#include "optgroup.h"

#include "threadlet-pool.h"

enum syslet_fio_mode {
	SYSLET_FIO_CHAIN,
	SYSLET_FIO_THREADLET,
};

struct syslet_fio_options {
	void *pad;		/* fio's option structs start with a pointer */
	unsigned int mode;
	unsigned int threadlet_threads;
	unsigned int stats;
	unsigned int batch_call;
};

/*
 * One I/O, as one atom. The atom comes first: a chain's completion entry
 * is the address of its last atom, and a threadlet's event is this
 * structure's address, so both lead here.
 */
struct syslet_io {
	struct syslet_uatom atom;
	__s64 ret;
	__u64 args[4];
	struct io_u *io_u;
};

struct syslet_fio_data {
	struct async_head_user head;	/* chain mode's ring */
	__u64 *ring;
	__u64 ring_mask;
	struct fio_threadlet_pool *pool;	/* threadlet mode */
	unsigned int mode;
	unsigned int batch;	/* submit from ->commit() */
	bool batch_call;	/* ... with async_exec_batch() */
	struct syslet_batch_entry *entries;	/* its argument */
	unsigned int depth;	/* entries of pending, done and events */

	struct io_u **pending;	/* collected, not submitted */
	unsigned int nr_pending;
	struct io_u **done;	/* finished when submitted, not reaped */
	unsigned int nr_done;
	struct io_u **events;	/* the last ->getevents() */
	unsigned int nr_events;
	unsigned int submitted;	/* not yet told to io_u_mark_submit() */
	unsigned int in_flight;	/* went asynchronous, not yet reaped */
	uint64_t nr_ios;	/* submitted, for syslet_stats */
	uint64_t nr_async;	/* of which completed through the ring */
	uint64_t nr_calls;	/* chain mode: async_exec(_batch)() calls */
	bool stats;
};

/* The ring's entry count for @v: a power of two, 0 if above 2^31. */
static unsigned int round_up_pow2(unsigned int v)
{
	unsigned int p = 1;

	if (v > 1U << 31)
		return 0;
	while (p < v)
		p <<= 1;
	return p;
}

static void syslet_io_prepare(struct syslet_io *s, struct io_u *io_u)
{
	s->atom.flags = 0;
	s->atom.next = 0;
	s->ret = 0;
	s->args[0] = io_u->file->fd;
	s->args[1] = (__u64)(uintptr_t)io_u->xfer_buf;
	s->args[2] = io_u->xfer_buflen;
	s->args[3] = io_u->offset;
	switch (io_u->ddir) {
	case DDIR_READ:
		s->atom.nr = __NR_pread64;
		break;
	case DDIR_WRITE:
		s->atom.nr = __NR_pwrite64;
		break;
	case DDIR_SYNC:
		s->atom.nr = __NR_fsync;
		break;
	default:	/* DDIR_DATASYNC: the others never get here */
		s->atom.nr = __NR_fdatasync;
		break;
	}
}

/* What a threadlet runs: the atom's system call, through libc. */
static void syslet_io_threadlet(void *arg)
{
	struct syslet_io *s = arg;
	int fd = s->args[0];
	void *buf = (void *)(uintptr_t)s->args[1];
	long r;

	switch (s->atom.nr) {
	case __NR_pread64:
		r = pread(fd, buf, s->args[2], s->args[3]);
		break;
	case __NR_pwrite64:
		r = pwrite(fd, buf, s->args[2], s->args[3]);
		break;
	case __NR_fsync:
		r = fsync(fd);
		break;
	default:
		r = fdatasync(fd);
		break;
	}
	s->ret = r < 0 ? -errno : r;
}

/* Count an I/O submitted with outcome @r, as syslet_io_submit() returns. */
static int syslet_io_counted(struct syslet_fio_data *sd, int r)
{
	sd->nr_ios++;
	sd->nr_async += !r;
	sd->in_flight += !r;
	return r;
}

/* What async_exec() returned, an atom's address or -errno, as an outcome. */
static int syslet_chain_outcome(long r)
{
	return r < 0 ? r : r > 0;
}

/* 1: finished already, 0: completes through the ring, <0: -errno. */
static int syslet_io_submit(struct syslet_fio_data *sd, struct syslet_io *s)
{
	long r;

	if (sd->mode == SYSLET_FIO_THREADLET) {
		r = fio_threadlet_run(sd->pool, syslet_io_threadlet, s,
				      (uint64_t)(uintptr_t)s);
	} else {
		r = syscall(__NR_async_exec, &s->atom, &sd->head);
		r = syslet_chain_outcome(r < 0 ? -errno : r);
		sd->nr_calls++;
	}
	return syslet_io_counted(sd, r);
}

static void syslet_io_finish(struct syslet_io *s)
{
	struct io_u *io_u = s->io_u;

	if (s->ret < 0)
		io_u->error = -s->ret;
	else if (ddir_rw(io_u->ddir) && (__u64)s->ret != io_u->xfer_buflen)
		io_u->resid = io_u->xfer_buflen - s->ret;
}

/* Its issue time, from which fio derives its latencies. */
static void syslet_io_stamp(struct thread_data *td, struct io_u *io_u,
			    const struct timespec *now)
{
	io_u->issue_time = *now;
	if (td->o.read_iolog_file)	/* only used for iolog */
		td->last_issue = *now;
}

/* Stamped, and queued: fio samples its submission latency. */
static void syslet_io_issued(struct thread_data *td, struct io_u *io_u,
			     const struct timespec *now)
{
	syslet_io_stamp(td, io_u, now);
	io_u_queued(td, io_u);
}

/* What did not block waits for getevents, with its result. */
static void syslet_io_submitted(struct syslet_fio_data *sd, struct io_u *io_u,
				int r)
{
	struct syslet_io *s = io_u->engine_data;

	if (!r)
		return;
	if (r < 0)
		s->ret = r;
	syslet_io_finish(s);
	sd->done[sd->nr_done++] = io_u;
}

/*
 * Submit what is pending with async_exec_batch(), as many calls as it
 * takes: one stops after a chain that blocked, or at a signal.
 */
static void syslet_fio_submit_batch(struct syslet_fio_data *sd)
{
	unsigned int from = 0, to = sd->nr_pending, i;

	for (i = from; i < to; i++) {
		struct syslet_io *s = sd->pending[i]->engine_data;

		sd->entries[i].atom = (__u64)(uintptr_t)&s->atom;
	}
	while (from < to) {
		long n = syscall(__NR_async_exec_batch, &sd->entries[from],
				 to - from, &sd->head, 0);

		sd->nr_calls++;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* Refused at its first chain, which fails with it. */
			sd->entries[from].result = -errno;
			n = 1;
		}
		for (i = from; i < from + n; i++) {
			int r = syslet_chain_outcome(sd->entries[i].result);

			syslet_io_submitted(sd, sd->pending[i],
					    syslet_io_counted(sd, r));
		}
		from += n;
	}
}

/* Submit the collected batch; what did not block waits for getevents. */
static int syslet_fio_commit(struct thread_data *td)
{
	struct syslet_fio_data *sd = td->io_ops_data;
	struct timespec now;
	unsigned int i;

	if (sd->nr_pending && fio_fill_issue_time(td)) {
		fio_gettime(&now, NULL);
		for (i = 0; i < sd->nr_pending; i++)
			syslet_io_issued(td, sd->pending[i], &now);
	}
	if (sd->batch_call) {
		syslet_fio_submit_batch(sd);
	} else {
		for (i = 0; i < sd->nr_pending; i++) {
			struct io_u *io_u = sd->pending[i];

			syslet_io_submitted(sd, io_u,
					    syslet_io_submit(sd, io_u->engine_data));
		}
	}
	sd->submitted += sd->nr_pending;
	sd->nr_pending = 0;
	if (sd->submitted) {
		io_u_mark_submit(td, sd->submitted);
		sd->submitted = 0;
	}
	return 0;
}

static enum fio_q_status syslet_fio_queue(struct thread_data *td,
					  struct io_u *io_u)
{
	struct syslet_fio_data *sd = td->io_ops_data;
	struct syslet_io *s = io_u->engine_data;
	struct timespec now;
	bool stamped;
	int r;

	fio_ro_check(td, io_u);

	if (io_u->ddir == DDIR_TRIM || io_u->ddir == DDIR_SYNC_FILE_RANGE) {
		if (sd->nr_pending)
			return FIO_Q_BUSY;
		if (io_u->ddir == DDIR_TRIM) {
			do_io_u_trim(td, io_u);
		} else {
			if (fio_fill_issue_time(td)) {
				fio_gettime(&now, NULL);
				syslet_io_stamp(td, io_u, &now);
			}
			do_io_u_sync(td, io_u);
		}
		io_u_mark_submit(td, 1);
		io_u_mark_complete(td, 1);
		return FIO_Q_COMPLETED;
	}

	syslet_io_prepare(s, io_u);
	if (sd->batch) {
		sd->pending[sd->nr_pending++] = io_u;
		return FIO_Q_QUEUED;
	}
	stamped = fio_fill_issue_time(td);
	if (stamped) {
		fio_gettime(&now, NULL);
		syslet_io_stamp(td, io_u, &now);
	}

	/*
	 * What finishes here is a synchronous I/O to fio, as with psync: it
	 * was never queued, and has no submission latency of its own.
	 */
	r = syslet_io_submit(sd, s);
	if (r == 0) {
		if (stamped)
			io_u_queued(td, io_u);
		sd->submitted++;
		return FIO_Q_QUEUED;
	}
	if (r < 0)
		s->ret = r;
	syslet_io_finish(s);
	if (io_u->error) {
		io_u_log_error(td, io_u);
		td_verror(td, io_u->error, "xfer");
	}
	io_u_mark_submit(td, 1);
	io_u_mark_complete(td, 1);
	return FIO_Q_COMPLETED;
}

/* Take what the ring holds, up to max events in all. */
static void syslet_fio_reap(struct syslet_fio_data *sd, unsigned int max)
{
	while (sd->nr_events < max) {
		struct syslet_io *s;
		__u64 v;

		if (sd->mode == SYSLET_FIO_THREADLET) {
			v = fio_threadlet_pop(sd->pool);
		} else {
			__u64 idx = sd->head.user_ring_idx;
			__u64 *slot = &sd->ring[idx & sd->ring_mask];

			v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
			if (v) {
				*slot = 0;
				__atomic_store_n(&sd->head.user_ring_idx, idx + 1,
						 __ATOMIC_RELEASE);
			}
		}
		if (!v)
			return;
		s = (struct syslet_io *)(uintptr_t)v;
		sd->in_flight--;
		syslet_io_finish(s);
		sd->events[sd->nr_events++] = s->io_u;
	}
}

static int syslet_fio_wait(struct syslet_fio_data *sd, unsigned int min,
			   const struct timespec *t)
{
	struct __kernel_timespec kt;
	long r;

	if (sd->mode == SYSLET_FIO_THREADLET)
		return fio_threadlet_wait(sd->pool, min, t);
	if (t) {
		kt.tv_sec = t->tv_sec;
		kt.tv_nsec = t->tv_nsec;
	}
	r = syscall(__NR_async_wait, min, sd->head.user_ring_idx, &sd->head,
		    t ? &kt : NULL);
	if (r >= 0)
		return 1;
	return errno == ETIME ? 0 : -errno;
}

static int syslet_fio_getevents(struct thread_data *td, unsigned int min,
				unsigned int max, const struct timespec *t)
{
	struct syslet_fio_data *sd = td->io_ops_data;
	unsigned int n;

	n = min(sd->nr_done, max);
	memcpy(sd->events, sd->done, n * sizeof(*sd->events));
	memmove(sd->done, sd->done + n, (sd->nr_done - n) * sizeof(*sd->done));
	sd->nr_done -= n;
	sd->nr_events = n;

	for (;;) {
		int r;

		syslet_fio_reap(sd, max);
		if (sd->nr_events >= min)
			break;
		r = syslet_fio_wait(sd, min - sd->nr_events, t);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		if (r == 0) {
			syslet_fio_reap(sd, max);
			break;
		}
	}
	return sd->nr_events;
}

static struct io_u *syslet_fio_event(struct thread_data *td, int event)
{
	struct syslet_fio_data *sd = td->io_ops_data;

	return sd->events[event];
}

/*
 * Wait for every I/O still in flight, dropping its event: until then the
 * kernel, or a lent thread, writes its result into the io_u's syslet_io
 * and its completion into the ring. fio normally reaps everything before
 * it tears a job down, but not after getevents() failed; and it frees the
 * io_us (->io_u_free()) before ->cleanup().
 */
static void syslet_fio_drain(struct syslet_fio_data *sd)
{
	while (sd->in_flight) {
		int r;

		sd->nr_events = 0;
		syslet_fio_reap(sd, sd->depth);
		if (!sd->in_flight)
			break;
		r = syslet_fio_wait(sd, 1, NULL);
		if (r < 0 && r != -EINTR) {
			log_err("syslet: %u I/Os still in flight: %s\n",
				sd->in_flight, strerror(-r));
			abort();	/* rather than let them write into freed memory */
		}
	}
	sd->nr_events = 0;
}

static void syslet_fio_cleanup(struct thread_data *td)
{
	struct syslet_fio_data *sd = td->io_ops_data;

	if (!sd)
		return;
	syslet_fio_drain(sd);
	if (sd->stats) {
		uint64_t in_place = sd->pool ?
			fio_threadlet_ran_in_place(sd->pool) :
			sd->head.sync_chains;

		log_info("syslet: %s: %llu I/Os, %llu asynchronous, %llu could not move, %llu calls\n",
			 td->o.name,
			 (unsigned long long)sd->nr_ios,
			 (unsigned long long)sd->nr_async,
			 (unsigned long long)in_place,
			 (unsigned long long)sd->nr_calls);
	}
	if (sd->pool)
		fio_threadlet_pool_destroy(sd->pool);
	free(sd->ring);
	free(sd->entries);
	free(sd->pending);
	free(sd->done);
	free(sd->events);
	free(sd);
	td->io_ops_data = NULL;
}

static int syslet_fio_init(struct thread_data *td)
{
	struct syslet_fio_options *o = td->eo;
	unsigned int depth = td->o.iodepth ? td->o.iodepth : 1;
	unsigned int entries = round_up_pow2(depth);
	const char *unusable = fio_syslet_unusable();
	struct syslet_fio_data *sd;
	char why[128] = "";

	if (!entries) {
		log_err("syslet: iodepth %u: a ring holds at most 2^31 entries\n",
			depth);
		return 1;
	}
	if (o->mode == SYSLET_FIO_CHAIN && unusable) {
		log_err("syslet: %s: chain mode needs them\n", unusable);
		return 1;
	}
	/* Measured as "threadlet", it must not pass for the kernel's. */
	if (o->mode == SYSLET_FIO_THREADLET && unusable)
		log_info("syslet: %s: threadlet mode runs on the library's user-space thread pool\n",
			 unusable);
	sd = calloc(1, sizeof(*sd));
	if (!sd)
		return 1;
	td->io_ops_data = sd;
	sd->mode = o->mode;
	sd->stats = o->stats;
	sd->batch = td->o.iodepth_batch > 1;
	sd->batch_call = sd->batch && o->batch_call && sd->mode == SYSLET_FIO_CHAIN;
	sd->depth = depth;
	sd->pending = calloc(depth, sizeof(*sd->pending));
	sd->done = calloc(depth, sizeof(*sd->done));
	sd->events = calloc(depth, sizeof(*sd->events));
	if (!sd->pending || !sd->done || !sd->events)
		goto nomem;

	if (sd->mode == SYSLET_FIO_THREADLET) {
		unsigned int threads = o->threadlet_threads ?: depth;
		unsigned int events = round_up_pow2(max(depth, threads));

		sd->pool = events ? fio_threadlet_pool_create(threads, events,
							     why, sizeof(why)) : NULL;
		if (!events)
			snprintf(why, sizeof(why), "more than 2^31 threads");
		if (!sd->pool) {
			log_err("syslet: threadlet pool of %u threads: %s\n",
				threads, why);
			goto fail;
		}
		return 0;
	}

	sd->ring = calloc(entries, sizeof(*sd->ring));
	sd->entries = calloc(depth, sizeof(*sd->entries));
	if (!sd->ring || !sd->entries)
		goto nomem;
	sd->ring_mask = entries - 1;
	sd->head.size = sizeof(sd->head);
	sd->head.completion_ring = (__u64)(uintptr_t)sd->ring;
	sd->head.ring_size_bytes = entries * sizeof(*sd->ring);
	return 0;
nomem:
	log_err("syslet: out of memory for iodepth %u\n", depth);
fail:
	syslet_fio_cleanup(td);
	return 1;
}

static int syslet_fio_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct syslet_io *s = calloc(1, sizeof(*s));
	unsigned int i;

	if (!s)
		return 1;
	s->io_u = io_u;
	s->atom.ret_ptr = (__u64)(uintptr_t)&s->ret;
	for (i = 0; i < 4; i++)
		s->atom.arg_ptr[i] = (__u64)(uintptr_t)&s->args[i];
	io_u->engine_data = s;
	return 0;
}

static void syslet_fio_io_u_free(struct thread_data *td, struct io_u *io_u)
{
	struct syslet_fio_data *sd = td->io_ops_data;

	if (sd)
		syslet_fio_drain(sd);
	free(io_u->engine_data);
	io_u->engine_data = NULL;
}

static struct fio_option options[] = {
	{
		.name	= "syslet_mode",
		.lname	= "How each I/O runs",
		.type	= FIO_OPT_STR,
		.off1	= offsetof(struct syslet_fio_options, mode),
		.help	= "Run each I/O as a syslet chain or as a threadlet",
		.def	= "chain",
		.posval = {
			  { .ival = "chain",
			    .oval = SYSLET_FIO_CHAIN,
			    .help = "One chain of one atom per I/O",
			  },
			  { .ival = "threadlet",
			    .oval = SYSLET_FIO_THREADLET,
			    .help = "One threadlet per I/O, on lent threads",
			  },
		},
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "threadlet_threads",
		.lname	= "Threads lent to threadlets",
		.type	= FIO_OPT_INT,
		.off1	= offsetof(struct syslet_fio_options, threadlet_threads),
		.help	= "Threads lent to the threadlets (default: iodepth)",
		.minval	= 1,	/* unset stays 0: iodepth */
		.maxval	= 65536,
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "syslet_stats",
		.lname	= "Print syslet counts",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct syslet_fio_options, stats),
		.help	= "At the end, print how many I/Os went asynchronous",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "syslet_batch_call",
		.lname	= "Submit a batch in one call",
		.type	= FIO_OPT_BOOL,
		.off1	= offsetof(struct syslet_fio_options, batch_call),
		.help	= "Chain mode, iodepth_batch>1: one async_exec_batch() per batch (1) or one async_exec() per I/O (0)",
		.def	= "1",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= NULL,
	},
};

struct ioengine_ops ioengine = {
	.name			= "syslet",
	.version		= FIO_IOOPS_VERSION,
	.flags			= FIO_ASYNCIO_SYNC_TRIM |
				  FIO_ASYNCIO_SETS_ISSUE_TIME,
	.init			= syslet_fio_init,
	.queue			= syslet_fio_queue,
	.commit			= syslet_fio_commit,
	.getevents		= syslet_fio_getevents,
	.event			= syslet_fio_event,
	.cleanup		= syslet_fio_cleanup,
	.io_u_init		= syslet_fio_io_u_init,
	.io_u_free		= syslet_fio_io_u_free,
	.open_file		= generic_open_file,
	.close_file		= generic_close_file,
	.get_file_size		= generic_get_file_size,
	.options		= options,
	.option_struct_size	= sizeof(struct syslet_fio_options),
};
