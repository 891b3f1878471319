// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cache misses: when a chain blocks, its caller goes on in a spare.
 *
 * A chain given a completion ring may go asynchronous. Before its first
 * atom runs, syslet_arm() decides whether it can: a tracer, PI futexes
 * with waiters, a compat or otherwise unusual caller, or no spare to be
 * had keep it synchronous, and the caller's sync_chains counter counts it.
 * Otherwise the task reserves a spare, saves the user registers it is to
 * return with, and sets PF_SYSLET.
 *
 * The handoff is a race that either side may win, and neither waits for
 * the other (enum syslet_handoff has the states):
 *
 * - When the task is about to sleep in an atom, schedule() calls
 *   syslet_sched_sleeping(), which only offers: it marks the task
 *   OFFERED and wakes the spare on this CPU, where it runs once the task
 *   has switched out. It allocates nothing, takes no lock of its own, and
 *   does nothing for a task that does not really sleep.
 *
 * - The spare, in its own context (syslet_take_over()), waits until the
 *   task is off its CPU (its switch-out stored the user state the spare
 *   copies) and claims the caller under siglock (syslet_claim()): the
 *   identity swap, then the copy of the user registers, FPU state, TLS
 *   and PKRU, non-preemptible, and it returns to user space as the
 *   caller, with async_exec() returning 0.
 *
 * - If the task runs again first, because its sleep ended or never began,
 *   or the spare is stopped or frozen and was not woken, the running hook
 *   (syslet_sched_running()) withdraws the offer, and the chain goes on as
 *   if nothing had happened: a stop or freeze of the process is never
 *   held up by a spare that cannot run.
 *
 * A task whose caller moved finishes the chain as a kernel-only thread,
 * posts its completion to the ring, and parks as a spare itself, inside
 * the system call it was made in: it returns from there when it takes
 * over another caller. If its posting is what an async_wait() caller
 * sleeps for, it takes that caller back instead (syslet_take_back()).
 *
 * PI futexes: a waiter attaches its pi_state to the task it finds by the
 * owner's TID, under that task's pi_lock. The claim moves the TID under
 * both tasks' pi_locks and refuses a donor or spare that has waiters
 * attached, and attach_to_pi_owner() looks again when the task it locked
 * no longer holds the TID: so a pi_state never names a task that gave its
 * TID away, and a waiter retries at most once per move.
 */
#include <linux/compat.h>
#include <linux/futex.h>
#include <linux/ptrace.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/syslet.h>
#include <linux/uaccess.h>

#include "syslet.h"

#define CREATE_TRACE_POINTS
#include <trace/events/syslet.h>

/*
 * Whether a waiter has attached to a PI futex @tsk owns: the kernel's
 * pi_state then names @tsk, while the futex word names its TID, and the
 * two must not come apart. A lock without waiters is only the TID in
 * user memory, which follows the TID. Exact under @tsk's pi_lock.
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
 * follows the task, PI futexes with waiters are owned by it, syscall user
 * dispatch, and what the architecture cannot hand on by a copy) keeps the
 * chain synchronous. @tsk is current, or a donor switched out (the claim
 * looks again).
 */
bool syslet_may_move(struct task_struct *tsk)
{
	/* Syscall user dispatch: a spare would return without it. */
	if (test_task_syscall_work(tsk, SYSCALL_USER_DISPATCH))
		return false;
	return !tsk->ptrace && !syslet_owns_pi_waiters(tsk) &&
	       arch_syslet_may_move(tsk);
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

	st->exec_id = current->self_exec_id;
	st->uahu = uahu;
	st->ring = u64_to_user_ptr(ahu->completion_ring);
	st->ring_mask = ahu->ring_size_bytes / sizeof(u64) - 1;
	st->eventfd = syslet_head_eventfd(ahu);
	st->state = SYSLET_ARMED;
	syslet_arm_handoff(st);
	return 0;
}

/**
 * syslet_chain_take_caller - the registers a moved chain's caller takes
 * @donor: claimed, its chain armed: it waits for the claim to finish
 *
 * Into @donor's head_regs: its user registers as it blocked, less what
 * the atoms borrowed, which syslet_chain_run() puts back from call_regs.
 * No atom a chain that may move can run changes any other user register
 * of its task, and a traced task does not move.
 */
void syslet_chain_take_caller(struct task_struct *donor)
{
	struct syslet_task *dst = donor->syslet;

	dst->head_regs = *task_pt_regs(donor);
	arch_syslet_restore_syscall_regs(&dst->call_regs, &dst->head_regs);
}

/*
 * The current task may offer its caller again. Only the task itself
 * writes its handoff outside OFFERED, and the offer count stays, so that
 * no old offer matches a new one.
 */
void syslet_rearm(struct syslet_task *st)
{
	atomic_set(&st->handoff, syslet_ho_with(atomic_read(&st->handoff),
						SYSLET_HO_ARMED));
}

/* From now on the current task offers its caller when it sleeps. */
void syslet_arm_handoff(struct syslet_task *st)
{
	syslet_rearm(st);
	current->flags |= PF_SYSLET;
}

/**
 * syslet_sched_sleeping - offer the caller to the spare, the task blocking
 * @tsk: current, with PF_SYSLET, inside schedule() and not running
 *
 * Called from sched_submit_work(), preemptible and in LD_WAIT_CONFIG: one
 * store, and a wakeup that takes only raw locks. A task being killed,
 * traced or exec'ing now is not worth handing off, nor one stopping or
 * freezing with its process; one called in TASK_RUNNING
 * (rt_mutex_pre_schedule()) is not going to sleep.
 */
void syslet_sched_sleeping(struct task_struct *tsk)
{
	struct syslet_task *st = tsk->syslet;
	/* Read before the offer: a claim clears the reservation or lease. */
	struct task_struct *spare = syslet_offered_to(st), *stale;
	int handoff = atomic_read(&st->handoff);

	if (task_is_running(tsk) ||
	    syslet_ho_state(handoff) != SYSLET_HO_ARMED)
		return;
	if (tsk->ptrace || (tsk->flags & PF_EXITING) ||
	    fatal_signal_pending(tsk) || tsk->in_execve ||
	    tsk->self_exec_id != st->exec_id)
		return;
	/* Stopping or freezing is not blocking: the whole process does it. */
	if ((READ_ONCE(tsk->__state) &
	     (__TASK_STOPPED | __TASK_TRACED | TASK_FROZEN)) ||
	    (READ_ONCE(tsk->jobctl) & JOBCTL_TRAP_FREEZE))
		return;
	/* Between chains, a lease moves only a threadlet running on it. */
	if (st->state == SYSLET_IDLE && !syslet_lease_active(tsk))
		return;

	handoff = syslet_ho_with(handoff + SYSLET_HO_SEQ, SYSLET_HO_OFFERED);
	/*
	 * A spare woken by an earlier offer can claim this one as soon as
	 * @tsk is off its CPU, and @spare then runs on as the caller, and may
	 * exit: @tsk stays on its CPU until it is done with @spare.
	 */
	preempt_disable();
	atomic_set_release(&st->handoff, handoff);
	/* Offered to whichever completer reaches its minimum (ring.c). */
	if (st->state != SYSLET_WAITING) {
		/* A spare that finds @tsk here finds it offered. */
		stale = xchg(&spare->syslet->donor, get_task_struct(tsk));
		/* Only @tsk: one given back or kept holds none (spare.c). */
		if (stale)
			put_task_struct(stale);
		trace_syslet_handoff(tsk, spare);
		complete_on_current_cpu(&spare->syslet->park);
	}
	/* schedule() follows at once. */
	preempt_enable_no_resched();
}

/**
 * syslet_sched_running - the blocked task runs again: settle its offer
 * @tsk: current, with PF_SYSLET, back from schedule()
 *
 * An offer not claimed yet is withdrawn: the task keeps the caller. One
 * claimed is being carried out by the spare, non-preemptibly and in a few
 * microseconds at most: the task must not run on as the caller meanwhile,
 * and waits for it here, the only place that ever waits for a spare.
 */
void syslet_sched_running(struct task_struct *tsk)
{
	struct syslet_task *st = tsk->syslet;
	int handoff = atomic_read(&st->handoff);

	if (syslet_ho_state(handoff) == SYSLET_HO_OFFERED) {
		int armed = syslet_ho_with(handoff, SYSLET_HO_ARMED);

		if (atomic_try_cmpxchg(&st->handoff, &handoff, armed))
			return;
	}
	if (syslet_ho_state(handoff) == SYSLET_HO_CLAIMED)
		handoff = atomic_cond_read_acquire(&st->handoff,
						   syslet_ho_state(VAL) !=
						   SYSLET_HO_CLAIMED);
	if (syslet_ho_state(handoff) != SYSLET_HO_ARMED)
		tsk->flags &= ~PF_SYSLET;
}

/**
 * syslet_push - hand the caller on at once, for a SYSLET_ASYNC chain
 * @st: the current task's syslet state, armed
 *
 * The task sleeps as if its first atom had blocked: the sched hooks offer
 * the caller and settle the offer, and the spare wakes it once it has
 * claimed or refused. A signal (a stop or freeze among them) ends the wait
 * with the offer withdrawn, and the chain then runs in the caller.
 */
void syslet_push(struct syslet_task *st)
{
	WRITE_ONCE(st->pushing, true);
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (syslet_ho_state(atomic_read(&st->handoff)) !=
		    SYSLET_HO_ARMED || signal_pending(current))
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	WRITE_ONCE(st->pushing, false);
}

/*
 * Wait until @donor, offered as @offer, is off its CPU: its switch-out has
 * then stored the user state a claim copies, which stays in memory while
 * the donor is in the kernel. False if the offer was withdrawn first: a
 * donor on its CPU either still switches out or runs its running hook.
 */
static bool syslet_donor_switched_out(struct task_struct *donor, int offer)
{
#ifdef CONFIG_SMP
	while (READ_ONCE(donor->on_cpu)) {
		if (atomic_read(&donor->syslet->handoff) != offer)
			return false;
		cpu_relax();
	}
	/* Pairs with finish_task()'s release of ->on_cpu. */
	smp_acquire__after_ctrl_dep();
#endif
	return true;
}

/**
 * syslet_take_over - become the caller the donor's chain left behind
 * @st: the current task's syslet state, a parked spare or lent thread
 *
 * Return: true to return to user space as that caller; false if there was
 * no donor, or its offer was withdrawn or refused: nothing was taken.
 */
bool syslet_take_over(struct syslet_task *st)
{
	struct task_struct *donor = xchg(&st->donor, NULL);
	enum syslet_handoff result = SYSLET_HO_ARMED;
	int offer;

	if (!donor)
		return false;
	/*
	 * A donor that withdrew an offer to this task may since have made
	 * one to another spare. Its reservation does not change while it
	 * is offered, and the claim finds exactly @offer or nothing.
	 */
	offer = atomic_read_acquire(&donor->syslet->handoff);
	if (syslet_ho_state(offer) == SYSLET_HO_OFFERED &&
	    syslet_offered_to(donor->syslet) == current &&
	    syslet_donor_switched_out(donor, offer))
		result = syslet_claim(donor, offer);
	trace_syslet_takeover(donor, result == SYSLET_HO_MOVED,
			      result == SYSLET_HO_REFUSED, task_cpu(donor));
	/* The donor sleeps until told, and is not woken otherwise. */
	if (result != SYSLET_HO_ARMED && READ_ONCE(donor->syslet->pushing))
		wake_up_process(donor);
	put_task_struct(donor);
	return result == SYSLET_HO_MOVED;
}

/**
 * syslet_take_back - go on as an async_wait() caller, instead of parking
 * @waiter: handed over by syslet_ring_post(): asleep in async_wait(),
 *	    offered, and its minimum met by current's posting
 *
 * Called by a task that finished a moved chain and would park now, as a
 * spare takes over a blocked chain's caller: the caller leaves async_wait()
 * in current, which was running anyway, and @waiter, never woken, stays
 * asleep as a parked spare. Costs the two context switches of waking the
 * waiter and parking.
 *
 * Return: true to return to user space as that caller, with
 * @waiter->ret; false if @waiter withdrew its offer, or cannot move and
 * has been woken.
 */
bool syslet_take_back(struct syslet_waiter_ref *waiter)
{
	struct task_struct *task = waiter->task;
	enum syslet_handoff result = SYSLET_HO_ARMED;
	pid_t tid = task_pid_nr(task);

	if (syslet_donor_switched_out(task, waiter->offer))
		result = syslet_claim(task, waiter->offer);
	trace_syslet_take_back(tid, result == SYSLET_HO_MOVED,
			       result == SYSLET_HO_REFUSED);
	/*
	 * Still the caller, asleep: it must see the completion. One that
	 * withdrew is running, and reads the ring again before it sleeps.
	 */
	if (result == SYSLET_HO_REFUSED)
		wake_up_process(task);
	put_task_struct(task);
	return result == SYSLET_HO_MOVED;
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
	bool moved = syslet_chain_moved(st);

	if (st->state != SYSLET_ARMED)
		return ret;
	st->state = SYSLET_IDLE;
	if (!moved) {
		syslet_spare_keep(st);
		syslet_disarm(st);
		return ret;
	}
	current->flags &= ~PF_SYSLET;
	put_pid(st->caller);
	st->caller = NULL;
	if (!(atom->flags & SYSLET_NO_COMPLETE)) {
		struct syslet_waiter_ref waiter = { };

		syslet_ring_post(st, atom->uaddr, st->lent ? NULL : &waiter);
		if (waiter.task && syslet_take_back(&waiter))
			return waiter.ret;
	}
	syslet_retire(st);
	return 0;
}
