// SPDX-License-Identifier: GPL-2.0-only
/*
 * Completion rings: posting a moved chain's completion, and async_wait().
 *
 * The ring protocol is documented with struct async_head_user. A
 * completer claims the slot of kernel_ring_idx with a cmpxchg from 0 and
 * moves the index on with a second one, with preemption and page faults
 * off in between; if the index moved meanwhile (the slot was empty only
 * because its entry of the lap before was consumed), it takes its entry
 * back and tries again. No lock is held, so completers of different
 * processes sharing one ring post exactly once each, and one that finds
 * the slot taken waits only for those two instructions. A completer
 * that finds the ring full waits until async_wait() is called or a
 * bounded back-off has passed, and never overwrites.
 *
 * Waiters sleep on the process's ring_wait with a key: an async_wait()
 * caller is woken only by a posting to its ring that reaches its
 * minimum, a completer waiting for room only by an async_wait() call.
 *
 * A task that finished a moved chain would post, wake the async_wait()
 * caller and park: two context switches before the caller runs. Instead
 * an async_wait() caller that could move offers itself while it sleeps
 * (SYSLET_WAITING, the same offer a blocking chain makes, withdrawn the
 * same way when it wakes), and the completer whose posting reaches its
 * minimum takes the caller back: it returns to user space as the caller,
 * from async_wait(), and the sleeper, never woken, stays asleep as a
 * parked spare. Its sleep includes its park completion for that.
 */
#include <linux/eventfd.h>
#include <linux/hrtimer.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/syscalls.h>
#include <linux/syslet.h>
#include <linux/time64.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "syslet.h"

#include <trace/events/syslet.h>

/* The longest a completer waits for room before it looks again. */
#define SYSLET_RING_BACKOFF_MAX_MS	100

/*
 * What a posting or an async_wait() call wakes: the waiters for
 * completions in @uahu's ring whose minimum @kernel_idx reaches, or (with
 * @room) every completer waiting for room in a ring of the process. With
 * @take, the first such waiter found offered is not woken but handed to
 * the poster, removed from the queue, to take its caller back.
 */
struct syslet_ring_key {
	const struct async_head_user __user	*uahu;
	u64					kernel_idx;
	bool					room;
	struct syslet_waiter_ref		*take;
};

/*
 * @user_idx, @entries and @offers: an async_wait() caller (@target is
 * @user_idx plus its minimum).
 */
struct syslet_ring_waiter {
	struct wait_queue_entry			entry;
	const struct async_head_user __user	*uahu;
	u64					target;
	u64					user_idx;
	u64					entries;
	bool					room;
	bool					offers;
};

/*
 * Hand @w's task to the poster instead of waking it, if it sleeps offered.
 * Under the waitqueue's lock: only one poster finds it. The entry is
 * unlinked last, as autoremove_wake_function() does: a sleeper that finds
 * it unlinked may return, and its stack is gone.
 */
static bool syslet_ring_hand_over(struct syslet_ring_waiter *w,
				  struct syslet_ring_key *key)
{
	struct task_struct *task = w->entry.private;
	u64 avail = key->kernel_idx - w->user_idx;
	int offer;

	if (!w->offers || !key->take || key->take->task || avail > w->entries)
		return false;
	offer = atomic_read(&task->syslet->handoff);
	if (syslet_ho_state(offer) != SYSLET_HO_OFFERED)
		return false;
	key->take->task = get_task_struct(task);
	key->take->offer = offer;
	key->take->ret = avail;
	/* As woken_wake_function(): a sleeper not asleep yet does not sleep. */
	smp_mb();
	w->entry.flags |= WQ_FLAG_WOKEN;
	list_del_init_careful(&w->entry.entry);
	return true;
}

static int syslet_ring_wake(struct wait_queue_entry *entry, unsigned int mode,
			    int sync, void *arg)
{
	struct syslet_ring_waiter *w = container_of(entry,
						    struct syslet_ring_waiter,
						    entry);
	struct syslet_ring_key *key = arg;

	if (w->room != key->room)
		return 0;
	if (!w->room && (w->uahu != key->uahu ||
			 (s64)(key->kernel_idx - w->target) < 0))
		return 0;
	if (syslet_ring_hand_over(w, key))
		return 1;
	return woken_wake_function(entry, mode, sync, NULL);
}

static void syslet_ring_wake_up(struct syslet_group *group,
				struct syslet_ring_key *key)
{
	/* Pairs with the barrier after add_wait_queue(). */
	if (wq_has_sleeper(&group->ring_wait))
		__wake_up(&group->ring_wait, TASK_NORMAL, 0, key);
}

static void syslet_ring_wait_start(struct syslet_group *group,
				   struct syslet_ring_waiter *w)
{
	init_waitqueue_func_entry(&w->entry, syslet_ring_wake);
	w->entry.private = current;
	add_wait_queue(&group->ring_wait, &w->entry);
	/* Queued before the ring is read: a posting after that wakes us. */
	smp_mb();
}

/*
 * wait_woken() with an absolute deadline, @expires or NULL for none,
 * freezable. True if the deadline passed. With @park, the task offers its
 * caller while it sleeps here, and nowhere else (a page fault must not
 * offer it), and also sleeps on its park completion: if its caller is
 * taken back meanwhile, it is a parked spare, which an offer must wake.
 */
static bool syslet_ring_sleep(struct syslet_ring_waiter *w, ktime_t *expires,
			      struct completion *park)
{
	DECLARE_SWAITQUEUE(park_wait);
	int ret = -EINTR;

	if (park) {
		prepare_to_swait_exclusive(&park->wait, &park_wait,
					   TASK_INTERRUPTIBLE | TASK_FREEZABLE);
		current->flags |= PF_SYSLET;
	} else {
		set_current_state(TASK_INTERRUPTIBLE | TASK_FREEZABLE);
	}
	if (!(w->entry.flags & WQ_FLAG_WOKEN))
		ret = schedule_hrtimeout_range(expires, current->timer_slack_ns,
					       HRTIMER_MODE_ABS);
	if (park) {
		current->flags &= ~PF_SYSLET;
		finish_swait(&park->wait, &park_wait);
	}
	__set_current_state(TASK_RUNNING);
	/* As wait_woken(): the flag cleared before the ring is read again. */
	smp_store_mb(w->entry.flags, w->entry.flags & ~WQ_FLAG_WOKEN);
	return !ret;
}

/* A cmpxchg on a user word: 0 done, 1 *@old was not there (and is now), -EFAULT. */
static int syslet_user_cmpxchg(u64 __user *uaddr, u64 *old, u64 new)
{
	int ret = 1;

	if (!user_access_begin(uaddr, sizeof(*uaddr)))
		return -EFAULT;
	if (unsafe_try_cmpxchg_user(uaddr, old, new, efault))
		ret = 0;
	user_access_end();
	return ret;
efault:
	user_access_end();
	return -EFAULT;
}

/*
 * Claim the slot of @idx and move the index past it, as one step nothing
 * can split: 1 done; 0 the slot is full, or @idx went stale meanwhile
 * (what was written is taken back); -EFAULT, with nothing written, if a
 * page is not there or not writable (the caller faults it in).
 *
 * The index's page is proven writable first (a cmpxchg that writes the
 * index over itself), for once the slot holds the entry the index must
 * move on without a fault: user space may take the entry at once. The
 * pages of a process that forked are copy-on-write; with interrupts off,
 * no TLB shootdown of another thread's fork falls between the three.
 */
static int syslet_ring_claim(struct syslet_task *st, u64 idx, u64 value)
{
	u64 __user *slot = st->ring + (idx & st->ring_mask);
	u64 __user *kidx = &st->uahu->kernel_ring_idx;
	u64 empty = 0, cur = idx;
	unsigned long flags;
	int ret;

	local_irq_save(flags);
	pagefault_disable();
	ret = syslet_user_cmpxchg(kidx, &cur, idx);
	if (!ret)
		ret = syslet_user_cmpxchg(slot, &empty, value);
	if (!ret) {
		ret = syslet_user_cmpxchg(kidx, &cur, idx + 1);
		if (ret) {
			/*
			 * The index was @idx a moment ago and only the holder
			 * of its slot moves it on: user space wrote it, which
			 * it must not. Take the entry back, as for a stale
			 * index; only we can have written the slot since.
			 */
			cur = value;
			syslet_user_cmpxchg(slot, &cur, 0);
			ret = 0;
		} else {
			ret = 1;
		}
	} else if (ret > 0) {
		ret = 0;
	}
	pagefault_enable();
	local_irq_restore(flags);
	return ret;
}

/*
 * A completer fills its slot before it moves the index on
 * (syslet_ring_claim()), so a consumer that took that entry at once is
 * one ahead of the index for a moment: the completer is between its two
 * steps, and its own wakeup follows.
 */
static bool syslet_ring_settling(u64 kernel_idx, u64 user_idx)
{
	return kernel_idx + 1 == user_idx;
}

/*
 * 1: posted, *@kernel_idx the index after it; 0: the ring is full, or
 * its slot stays full though the ring is not (user space wrote it);
 * -EFAULT: the ring or head is gone. A completer moves the index only
 * past the slot it filled, in the same non-preemptible step, so a slot
 * found full with room in the ring frees up within a few instructions.
 */
static int syslet_ring_try_post(struct syslet_task *st, u64 value,
				u64 *kernel_idx)
{
	struct async_head_user __user *uahu = st->uahu;
	u64 entries = st->ring_mask + 1;
	unsigned int tries;
	int ret;

	for (tries = 0; tries < 1000; tries++) {
		u64 idx, user_idx;

		if (get_user(idx, &uahu->kernel_ring_idx) ||
		    get_user(user_idx, &uahu->user_ring_idx))
			return -EFAULT;
		if (syslet_ring_settling(idx, user_idx)) {
			cpu_relax();
			continue;
		}
		if (idx - user_idx >= entries)
			return 0;
		/* The chain's results before the entry (cmpxchg orders on). */
		smp_wmb();
		ret = syslet_ring_claim(st, idx, value);
		if (ret > 0) {
			*kernel_idx = idx + 1;
			return 1;
		}
		/* Without writing: both words hold what others rely on. */
		if (ret < 0 &&
		    (fault_in_safe_writeable((char __user *)(st->ring +
							     (idx & st->ring_mask)),
					     sizeof(u64)) ||
		     fault_in_safe_writeable((char __user *)&uahu->kernel_ring_idx,
					     sizeof(u64))))
			return -EFAULT;
		if (fatal_signal_pending(current))
			return 0;
		cpu_relax();
	}
	return 0;
}

/*
 * Wait for room in a full ring, or until @backoff_ms passes. Freezable: a
 * ring its owner leaves full must not hold up suspend. A task whose caller
 * went on takes a stop here too (it blocks every other signal); a lent
 * thread posting its own event has its signal handled and async_thread()
 * restarted, the event not yet posted.
 */
static int syslet_ring_wait_room(struct syslet_task *st,
				 struct syslet_group *group,
				 unsigned int backoff_ms)
{
	struct syslet_ring_waiter w = { .room = true };
	ktime_t expires = ktime_add_ms(ktime_get(), backoff_ms);

	syslet_ring_wait_start(group, &w);
	syslet_ring_sleep(&w, &expires, NULL);
	remove_wait_queue(&group->ring_wait, &w.entry);
	if (!signal_pending(current))
		return 0;
	if (!st->kernel_only)
		return -ERESTARTNOINTR;
	syslet_worker_signals();
	return 0;
}

/*
 * Once the entry is visible, so that a reader the eventfd wakes finds it.
 * The descriptor is looked up now, in the file table the poster shares
 * with its process; closed since the head was read, it is not signalled.
 */
static void syslet_ring_signal(int fd)
{
	struct eventfd_ctx *ctx;

	if (fd < 0)
		return;
	ctx = eventfd_ctx_fdget(fd);
	if (IS_ERR(ctx))
		return;
	eventfd_signal(ctx);
	eventfd_ctx_put(ctx);
}

/**
 * syslet_ring_post - post a completion
 * @st:		the task that ran the chain or threadlet, with the ring it
 *		was armed or lent with
 * @value:	the entry, never 0
 * @waiter:	NULL, or where to hand an async_wait() caller this posting
 *		would wake, if it sleeps offered, instead of waking it: the
 *		poster then takes that caller back or wakes it
 *		(syslet_take_back())
 *
 * Waits while the ring is full; once posted, signals the eventfd the
 * head named (SYSLET_AHU_EVENTFD). A completion that cannot be written
 * is counted as lost; one that a fatal signal interrupts dies with its
 * process.
 *
 * Return: 0; or -ERESTARTNOINTR, with nothing posted, if a task that runs
 * user code of its own has a signal to handle first.
 */
int syslet_ring_post(struct syslet_task *st, u64 value,
		     struct syslet_waiter_ref *waiter)
{
	struct syslet_group *group = current->signal->syslet;
	struct syslet_ring_key key = { .uahu = st->uahu, .take = waiter };
	unsigned int backoff_ms = 1, waits = 0;
	int ret;

	for (;;) {
		ret = syslet_ring_try_post(st, value, &key.kernel_idx);
		if (ret)
			break;
		if (fatal_signal_pending(current))
			goto killed;
		waits++;
		ret = syslet_ring_wait_room(st, group, backoff_ms);
		if (ret) {
			trace_syslet_post(st->uahu, value, 0, waits);
			return ret;
		}
		backoff_ms = min(backoff_ms * 2, SYSLET_RING_BACKOFF_MAX_MS);
	}
	trace_syslet_post(st->uahu, value, ret, waits);
	if (ret < 0) {
		syslet_count_lost_completion();
		return 0;
	}
	syslet_ring_wake_up(group, &key);
	syslet_ring_signal(st->eventfd);
	return 0;
killed:
	trace_syslet_post(st->uahu, value, 0, waits);
	return 0;
}

/*
 * Whether an async_wait() caller may offer itself while it sleeps: it
 * could move as a blocking chain's caller can, and this is its own call
 * from user space, not an atom of a chain or a threadlet's. A thread
 * holding a lease does not: it offers only for a threadlet on the lease.
 */
static bool syslet_may_offer_wait(struct syslet_task *st)
{
	return st && st->state == SYSLET_IDLE && !st->in_chain &&
	       !st->kernel_only && !st->lent && !st->reserved && !st->lease &&
	       syslet_may_move(current);
}

static long syslet_ring_wait(struct syslet_group *group,
			     struct async_head_user __user *uahu,
			     u64 user_idx, u64 min, u64 entries,
			     ktime_t *expires)
{
	struct syslet_ring_waiter w = { .uahu = uahu, .target = user_idx + min,
					.user_idx = user_idx,
					.entries = entries };
	struct syslet_task *st = current->syslet;
	bool expired = false;
	long ret = 0;

	w.offers = syslet_may_offer_wait(st);
	if (w.offers) {
		st->state = SYSLET_WAITING;
		st->exec_id = current->self_exec_id;
		syslet_rearm(st);
	}
	syslet_ring_wait_start(group, &w);
	for (;;) {
		struct completion *park = NULL;
		u64 kernel_idx, avail;

		if (w.offers && syslet_handoff_moved(st))
			break;
		/* Handed to a poster that did not take the caller back. */
		if (list_empty_careful(&w.entry.entry))
			syslet_ring_wait_start(group, &w);
		if (get_user(kernel_idx, &uahu->kernel_ring_idx)) {
			ret = -EFAULT;
			break;
		}
		/* Settling: none ready yet, not a bad index. */
		avail = syslet_ring_settling(kernel_idx, user_idx) ? 0 :
			kernel_idx - user_idx;
		if (avail > entries) {
			ret = -EINVAL;
			break;
		}
		if (avail >= min) {
			ret = avail;
			break;
		}
		if (expired) {
			ret = -ETIME;
			break;
		}
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		/* After a refusal it stays, as a chain's caller does. */
		if (w.offers && syslet_ho_state(atomic_read(&st->handoff)) ==
				SYSLET_HO_ARMED)
			park = &st->park;
		expired = syslet_ring_sleep(&w, expires, park);
	}
	if (!list_empty_careful(&w.entry.entry))
		remove_wait_queue(&group->ring_wait, &w.entry);
	if (!w.offers)
		return ret;
	st->state = SYSLET_IDLE;
	if (!syslet_handoff_moved(st))
		return ret;
	/*
	 * The caller went on, taken back: this task, a parked spare now,
	 * returns only as the blocked chain's caller it takes over next.
	 */
	syslet_park(st);
	return 0;
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

	if (!syslet_allowed())
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
	/* Room was made, perhaps: completers waiting for it look again. */
	syslet_ring_wake_up(group, &(struct syslet_ring_key){ .room = true });
	return syslet_ring_wait(group, uahu, user_ring_idx, min_wait_events,
				entries, timeout ? &expires : NULL);
}
