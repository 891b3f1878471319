// SPDX-License-Identifier: GPL-2.0-only
/*
 * Completion rings: posting a moved chain's completion, and async_wait().
 *
 * The ring protocol is documented with struct async_head_user. Completers
 * of one process post under one mutex, so that two of them never take the
 * same index; a completer that finds its slot still full waits until
 * async_wait() is called or a bounded back-off has passed, and never
 * overwrites. Every posting and every async_wait() call bumps the group's
 * ring_seq and wakes ring_wait, which both waiters on completions and
 * completers waiting for room sleep on: a waiter recheck costs one read of
 * the user's kernel_ring_idx.
 */
#include <linux/hrtimer.h>
#include <linux/sched/signal.h>
#include <linux/syscalls.h>
#include <linux/syslet.h>
#include <linux/time64.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "syslet.h"

#include <trace/events/syslet.h>

/* The longest a completer waits for room before it looks again. */
#define SYSLET_RING_BACKOFF_MAX		(HZ / 10)

static void syslet_ring_poke(struct syslet_group *group)
{
	/* The posting (or the caller's ring update) before the new seq. */
	smp_mb__before_atomic();
	atomic_inc(&group->ring_seq);
	wake_up_all(&group->ring_wait);
}

static bool syslet_ring_moved(struct syslet_group *group, int seq)
{
	return atomic_read(&group->ring_seq) != seq;
}

/* 1: posted; 0: the slot is full; -EFAULT: the ring or head is gone. */
static int syslet_ring_try_post(struct syslet_task *st, u64 value)
{
	u64 __user *slot;
	u64 idx, old;

	if (get_user(idx, &st->uahu->kernel_ring_idx))
		return -EFAULT;
	slot = st->ring + (idx & st->ring_mask);
	if (get_user(old, slot))
		return -EFAULT;
	if (old)
		return 0;
	/* The chain's results before the entry... */
	smp_wmb();
	if (put_user(value, slot))
		return -EFAULT;
	/* ...and the entry before the index. */
	smp_wmb();
	if (put_user(idx + 1, &st->uahu->kernel_ring_idx))
		return -EFAULT;
	return 1;
}

/*
 * Wait for room in a full ring, or until @backoff passes. Freezable: a
 * ring its owner leaves full must not hold up suspend. A task whose caller
 * went on takes a stop here too (it blocks every other signal); a lent
 * thread posting its own event has its signal handled and async_thread()
 * restarted, the event not yet posted.
 */
static int syslet_ring_wait_room(struct syslet_task *st,
				 struct syslet_group *group, int seq,
				 unsigned long backoff)
{
	if (wait_event_freezable_timeout(group->ring_wait,
					 syslet_ring_moved(group, seq),
					 backoff) >= 0)
		return 0;
	if (!st->kernel_only)
		return -ERESTARTNOINTR;
	syslet_worker_signals();
	return 0;
}

/**
 * syslet_ring_post - post a completion
 * @st:		the task that ran the chain or threadlet, with the ring it
 *		was armed or lent with
 * @value:	the entry, never 0
 *
 * Waits while the ring is full. A completion that cannot be written is
 * counted as lost; one that a fatal signal interrupts dies with its
 * process.
 *
 * Return: 0; or -ERESTARTNOINTR, with nothing posted, if a task that runs
 * user code of its own has a signal to handle first.
 */
int syslet_ring_post(struct syslet_task *st, u64 value)
{
	struct syslet_group *group = current->signal->syslet;
	unsigned long backoff = 1;
	unsigned int waits = 0;
	int ret;

	for (;;) {
		int seq = atomic_read(&group->ring_seq);

		/* A slot freed after this seq was read bumps it again. */
		smp_rmb();
		if (mutex_lock_killable(&group->ring_lock))
			goto killed;
		ret = syslet_ring_try_post(st, value);
		mutex_unlock(&group->ring_lock);
		if (ret)
			break;
		if (fatal_signal_pending(current))
			goto killed;
		waits++;
		ret = syslet_ring_wait_room(st, group, seq, backoff);
		if (ret) {
			trace_syslet_post(st->uahu, value, 0, waits);
			return ret;
		}
		backoff = min(backoff * 2, SYSLET_RING_BACKOFF_MAX);
	}
	trace_syslet_post(st->uahu, value, ret, waits);
	if (ret < 0)
		syslet_count_lost_completion();
	else
		syslet_ring_poke(group);
	return 0;
killed:
	trace_syslet_post(st->uahu, value, 0, waits);
	return 0;
}

static long syslet_ring_wait(struct syslet_group *group,
			     struct async_head_user __user *uahu,
			     u64 user_idx, u64 min, u64 entries,
			     const ktime_t *expires)
{
	for (;;) {
		int seq = atomic_read(&group->ring_seq);
		u64 kernel_idx, avail;
		long ret;

		/* A posting after this seq was read bumps it again. */
		smp_rmb();
		if (get_user(kernel_idx, &uahu->kernel_ring_idx))
			return -EFAULT;
		avail = kernel_idx - user_idx;
		if (avail > entries)
			return -EINVAL;
		if (avail >= min)
			return avail;

		if (expires) {
			ktime_t left = ktime_sub(*expires, ktime_get());

			/* Freezable: suspend makes no spurious -EINTR. */
			ret = __wait_event_hrtimeout(group->ring_wait,
						     syslet_ring_moved(group, seq),
						     left, TASK_INTERRUPTIBLE |
						     TASK_FREEZABLE);
		} else {
			ret = wait_event_freezable(group->ring_wait,
						   syslet_ring_moved(group, seq));
		}
		if (ret == -ETIME)
			return -ETIME;
		if (ret)
			return -EINTR;
	}
}

/*
 * async_wait - wait for completions in a ring
 *
 * Returns the number of completions available (kernel_ring_idx less
 * @user_ring_idx) once at least @min_wait_events are; -ETIME when @timeout
 * (relative; NULL waits for ever) passes first; -EINTR on a signal;
 * -EINVAL for a head without a ring, a @min_wait_events larger than the
 * ring, or a @user_ring_idx that is not within one ring of the kernel's.
 * Calling it also wakes completers waiting for room in any ring of the
 * process.
 */
SYSCALL_DEFINE4(async_wait, unsigned long, min_wait_events,
		unsigned long, user_ring_idx,
		struct async_head_user __user *, uahu,
		struct __kernel_timespec __user *, timeout)
{
	struct async_head_user ahu;
	struct syslet_group *group;
	ktime_t expires;
	u64 entries;
	long ret;

	if (!syslet_enabled())
		return -EPERM;
	ret = syslet_head_read(&ahu, uahu);
	if (ret)
		return ret;
	if (!ahu.completion_ring)
		return -EINVAL;
	entries = ahu.ring_size_bytes / sizeof(u64);
	if (min_wait_events > entries)
		return -EINVAL;
	if (timeout) {
		struct timespec64 ts;

		if (get_timespec64(&ts, timeout))
			return -EFAULT;
		if (!timespec64_valid(&ts))
			return -EINVAL;
		expires = ktime_add_safe(ktime_get(), timespec64_to_ktime(ts));
	}
	group = syslet_group_get();
	if (!group)
		return -ENOMEM;
	syslet_ring_poke(group);
	return syslet_ring_wait(group, uahu, user_ring_idx, min_wait_events,
				entries, timeout ? &expires : NULL);
}
