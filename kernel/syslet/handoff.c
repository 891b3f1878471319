// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cache misses: when a chain blocks, its caller goes on in a spare.
 *
 * A chain given a completion ring may go asynchronous. Before its first
 * atom runs, syslet_arm() decides once and for all whether it can: every
 * refusal (a tracer, PI futexes held, a compat or otherwise unusual
 * caller, no spare to be had) is made here, the chain then runs
 * synchronously to its end and the caller's sync_chains counter counts it.
 * Otherwise the task reserves a spare, saves the user registers it is to
 * return with, and sets PF_SYSLET.
 *
 * The first time the task is about to sleep inside an atom, the scheduler
 * calls syslet_sched_sleeping(). There the handoff is refused only if the
 * task has become the owner of a PI futex since (syslet_pi_fence());
 * otherwise it always completes: the task snapshots the user state only
 * it can read (FPU registers, fs and gs bases, PKRU), marks itself missed
 * and wakes the spare. Nothing there allocates, sleeps or takes a sleeping
 * lock. If the sleep does not happen after all, the handoff is merely
 * needless.
 *
 * The spare, in its own context, takes the caller over: the identity swap
 * (syslet_swap_identity()), then the registers, and it returns to user
 * space as the caller, with async_exec() returning 0. The blocked task
 * finishes the chain as a kernel-only thread, posts its completion to the
 * ring, and parks as a spare itself, inside the system call it was made
 * in: it returns from there when it takes over another caller.
 */
#include <linux/compat.h>
#include <linux/futex.h>
#include <linux/ptrace.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/task_work.h>
#include <linux/syslet.h>
#include <linux/uaccess.h>

#include "syslet.h"

#define CREATE_TRACE_POINTS
#include <trace/events/syslet.h>

/*
 * Whether a waiter has attached to a PI futex @tsk owns: the kernel's
 * pi_state then names @tsk, while the futex word names its TID, and the
 * two must not come apart. A lock without waiters is only the TID in
 * user memory, which follows the TID. Unlocked: a refusal, not a fence.
 */
bool syslet_owns_pi_waiters(struct task_struct *tsk)
{
#ifdef CONFIG_FUTEX_PI
	return !list_empty_careful(&tsk->pi_state_list);
#else
	return false;
#endif
}

/*
 * The caller's state a spare can take over. What it cannot (a tracer
 * follows the task, PI futexes with waiters are owned by it, and what the
 * architecture cannot hand on by a copy) keeps the chain synchronous.
 */
bool syslet_may_move(struct task_struct *tsk)
{
	return !tsk->ptrace && !syslet_owns_pi_waiters(tsk) &&
	       arch_syslet_may_move(tsk);
}

/*
 * A PI futex names its owner by TID in user memory, but the kernel's
 * pi_state is attached to a task: the two must not come apart when the TID
 * moves to the spare. A waiter attaches under the owner's pi_lock
 * (attach_to_pi_owner()), so under that lock, at the moment of the
 * handoff, either a waiter has attached already, and the caller owns a
 * PI futex and must stay, or none has, and from now until the swap is
 * done (syslet_pi_unfence()) waiters that found this task by the caller's
 * TID are sent to look again (syslet_pi_owner_moved()): they then find
 * the spare. syslet_may_move() refused such owners at arm time already;
 * this closes the window since, in which a waiter that set FUTEX_WAITERS
 * before the chain was armed attaches.
 */
static bool syslet_pi_fence(struct task_struct *tsk)
{
	unsigned long flags;
	bool owner = false;

	raw_spin_lock_irqsave(&tsk->pi_lock, flags);
#ifdef CONFIG_FUTEX_PI
	owner = !list_empty(&tsk->pi_state_list);
#endif
	tsk->syslet->tid_leaving = !owner;
	raw_spin_unlock_irqrestore(&tsk->pi_lock, flags);
	return !owner;
}

/* The swap is over: the donor's old TID, if it moved, is another's. */
static void syslet_pi_unfence(struct task_struct *donor)
{
	raw_spin_lock_irq(&donor->pi_lock);
	donor->syslet->tid_leaving = false;
	raw_spin_unlock_irq(&donor->pi_lock);
}

/**
 * __syslet_pi_owner_moved - whether a PI waiter must look its owner up again
 * @p:		the task it found by TID, with syslet state; pi_lock held
 * @tid:	that TID, from the futex word
 *
 * True while @p hands its TID on after a cache miss, and afterwards, when
 * the TID is another task's: attach_to_pi_owner() returns -EAGAIN, and the
 * waiter's retry finds the task that holds the TID now.
 */
bool __syslet_pi_owner_moved(struct task_struct *p, pid_t tid)
{
	lockdep_assert_held(&p->pi_lock);
	return p->syslet->tid_leaving || task_pid_vnr(p) != tid;
}

/* Count a chain that had a ring and still ran synchronously. */
int syslet_count_sync_chain(struct async_head_user __user *uahu)
{
	u64 __user *counter = &uahu->sync_chains;
	u64 old;

	if (get_user(old, counter))
		return -EFAULT;
	if (!user_access_begin(counter, sizeof(*counter)))
		return -EFAULT;
	while (!unsafe_try_cmpxchg_user(counter, &old, old + 1, efault))
		;
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/**
 * syslet_arm - decide whether the coming chain may go asynchronous
 * @st:		the current task's syslet state, its chain read
 * @ahu:	the caller's async_head_user, read and checked
 * @uahu:	its user address
 *
 * Return: 0, armed or not; -EFAULT if the sync_chains counter cannot be
 * written, or -EAGAIN if no spare could be had and @ahu asks for that
 * rather than a synchronous chain (nothing has run).
 */
int syslet_arm(struct syslet_task *st, const struct async_head_user *ahu,
	       struct async_head_user __user *uahu)
{
	if (!syslet_may_move(current)) {
		trace_syslet_sync_fallback(uahu, SYSLET_SYNC_UNMOVABLE);
		return syslet_count_sync_chain(uahu);
	}
	syslet_spare_reserve(st);
	if (!st->reserved) {
		if (ahu->flags & SYSLET_AHU_EAGAIN_AT_LIMIT) {
			trace_syslet_sync_fallback(uahu,
						   SYSLET_SYNC_REFUSED_EAGAIN);
			return -EAGAIN;
		}
		trace_syslet_sync_fallback(uahu, SYSLET_SYNC_NO_SPARE);
		return syslet_count_sync_chain(uahu);
	}

	st->head_regs = *current_pt_regs();
	st->exec_id = current->self_exec_id;
	st->uahu = uahu;
	st->ring = u64_to_user_ptr(ahu->completion_ring);
	st->ring_mask = ahu->ring_size_bytes / sizeof(u64) - 1;
	reinit_completion(&st->taken);
	st->state = SYSLET_ARMED;
	current->flags |= PF_SYSLET;
	return 0;
}

/**
 * syslet_hand_off - let the reserved spare take the caller over
 * @tsk: current, armed
 *
 * Called from the sched hook, or at once for a SYSLET_ASYNC chain. Takes
 * no lock that sleeps and allocates nothing; unless the task has come to
 * own a PI futex, when the chain goes on synchronously, the handoff
 * completes from here on.
 */
void syslet_hand_off(struct task_struct *tsk)
{
	struct syslet_task *st = tsk->syslet;
	struct task_struct *spare = st->reserved;

	tsk->flags &= ~PF_SYSLET;
	if (!syslet_pi_fence(tsk))
		return;
	/*
	 * Live user state the spare must copy from memory, not registers. A
	 * threadlet runs on the lent thread's TLS; the caller's was kept.
	 */
	arch_syslet_save_user_state(&st->head_state,
				    st->state != SYSLET_THREADLET);
	if (st->state == SYSLET_THREADLET) {
		st->state = SYSLET_THREADLET_MISSED;
		task_work_add(tsk, &st->resume_work, TWA_RESUME | TWAF_NO_ALLOC);
	} else {
		st->state = SYSLET_MISSED;
	}
	trace_syslet_handoff(tsk, spare);
	/*
	 * Ordered before the wakeup, which the spare waits for. On this CPU:
	 * the donor sleeps right after, and the spare runs in its place.
	 */
	WRITE_ONCE(spare->syslet->donor, get_task_struct(tsk));
	complete_on_current_cpu(&spare->syslet->park);
}

void syslet_sched_sleeping(struct task_struct *tsk)
{
	/*
	 * A task being killed or traced now is not worth handing off; one
	 * in or past an execve() has no caller to hand on.
	 */
	if (tsk->ptrace || (tsk->flags & PF_EXITING) ||
	    fatal_signal_pending(tsk) || tsk->in_execve ||
	    tsk->self_exec_id != tsk->syslet->exec_id) {
		tsk->flags &= ~PF_SYSLET;
		return;
	}
	syslet_hand_off(tsk);
}

/**
 * syslet_take_over - become the caller the donor's chain left behind
 * @st: the current task's syslet state, with a donor
 *
 * Return: true to return to user space as that caller; false if the group
 * is exiting, when nothing was taken.
 */
bool syslet_take_over(struct syslet_task *st)
{
	struct task_struct *donor = st->donor;
	bool taken;

	WRITE_ONCE(st->donor, NULL);
	taken = syslet_swap_identity(donor);
	trace_syslet_takeover(donor, taken, task_cpu(donor));
	syslet_pi_unfence(donor);
	if (taken)
		arch_syslet_take_user_state(donor, &donor->syslet->head_regs,
					    &donor->syslet->head_state);
	complete(&donor->syslet->taken);
	put_task_struct(donor);
	return taken;
}

/**
 * syslet_await_takeover - wait until the spare has taken the caller over
 * @st: the current task's syslet state, missed
 *
 * Until then this task still holds the caller's TID, mask and pending
 * signals, and must neither take nor act on a signal meant for the caller:
 * the swap moves them to the spare. Afterwards it is kernel-only and blocks
 * all but SIGKILL and SIGSTOP.
 *
 * Return: false if a fatal signal came first.
 */
bool syslet_await_takeover(struct syslet_task *st)
{
	/* Set under siglock before the spare completes @taken. */
	if (READ_ONCE(st->kernel_only))
		return true;
	return !wait_for_completion_killable(&st->taken);
}

/**
 * syslet_chain_done - finish a chain, moved or not
 * @st:		the current task's syslet state
 * @ret:	what syslet_chain_run() returned
 * @end:	index of the atom the chain ended at
 *
 * Return: what async_exec() returns. A task whose caller went on posts the
 * completion, parks, and returns 0 only as the caller it takes over next.
 */
long syslet_chain_done(struct syslet_task *st, long ret, unsigned int end)
{
	const struct syslet_atom *atom = &st->chain.atoms[end];

	if (st->state != SYSLET_MISSED) {
		if (st->state == SYSLET_ARMED) {
			current->flags &= ~PF_SYSLET;
			st->state = SYSLET_IDLE;
			syslet_spare_release(st);
		}
		return ret;
	}

	st->state = SYSLET_IDLE;
	if (!(atom->flags & SYSLET_NO_COMPLETE))
		syslet_ring_post(st, atom->uaddr);
	/* The spare reads this task's state until it says it is done. */
	if (!syslet_await_takeover(st))
		return -EINTR;
	syslet_retire(st);
	return 0;
}
