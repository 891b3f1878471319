// SPDX-License-Identifier: GPL-2.0-only
/*
 * The caller's identity follows the caller.
 *
 * After a cache miss the caller goes on in another task, and it must not
 * be able to tell: its TID, its start time, its children and tracees, its
 * per-thread registrations with user space (robust futex list, rseq,
 * set/clear_child_tid, sigaltstack, threadlet area and lease), its parent
 * death signal,
 * personality, audit login, comm, signal mask and pending thread-directed
 * signals all move, in one step under siglock (the TID also under both
 * tasks' pi_lock, for PI futexes; children and tracees also under
 * tasklist_lock), from the task that blocked to the spare, and the
 * spare's go the other way: a thread lent for threadlets (threadlet.c)
 * goes on in the task that blocked.
 *
 * Leadership does not move. After a miss in the main thread, the TGID's
 * TID is the caller's in a thread that is not the leader, and the leader
 * task goes on under another TID; the few places that name a process by
 * its leader's TID use the TGID (task_pid_as_child(), setpgid(),
 * setsid(), de_thread()), and syslet_give_back_tgid() returns the TID to
 * the leader when its holder exits. So no thread's group_leader, no
 * thread or task list, and no TGID, PGID or SID link ever changes.
 *
 * What a spare cannot take over it already shares (syslet_spare_fits());
 * the rest, per-thread CPU clocks, timers and rusage among them, stays
 * with the tasks: Documentation/userspace-api/syslet.rst has the table.
 *
 * Senders look a TID up under RCU only; the swap happens under siglock,
 * where a thread-directed signal is queued, and the sender checks there
 * that the task it found still holds the TID (do_send_sig_info_tid() in
 * kernel/signal.c). A signal that got there first is pending on the task
 * that blocked and moves with the rest.
 */
#include <linux/audit.h>
#include <linux/pid.h>
#include <linux/rseq.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/syslet.h>
#include <linux/task_work.h>

#include "syslet.h"

static void syslet_adopt(struct list_head *children,
			 struct list_head *ptraced, struct task_struct *parent)
{
	struct task_struct *t;

	list_for_each_entry(t, children, sibling) {
		RCU_INIT_POINTER(t->real_parent, parent);
		if (!t->ptrace)
			t->parent = parent;
	}
	list_for_each_entry(t, ptraced, ptrace_entry)
		t->parent = parent;
}

static void syslet_swap_children(struct task_struct *a, struct task_struct *b)
{
	LIST_HEAD(children);
	LIST_HEAD(ptraced);

	list_splice_init(&a->children, &children);
	list_splice_init(&a->ptraced, &ptraced);
	list_splice_init(&b->children, &a->children);
	list_splice_init(&b->ptraced, &a->ptraced);
	list_splice(&children, &b->children);
	list_splice(&ptraced, &b->ptraced);
	syslet_adopt(&a->children, &a->ptraced, a);
	syslet_adopt(&b->children, &b->ptraced, b);
}

/*
 * Swapped, not moved: a spare made by the kernel has none of these (no
 * robust list, rseq or alternate stack, no parent death signal), so the
 * task that blocked ends up with none; a thread lent for threadlets has
 * its own, and the task that blocked goes on with them.
 */
static void syslet_swap_registrations(struct task_struct *a,
				      struct task_struct *b)
{
	swap(a->robust_list, b->robust_list);
	swap(a->set_child_tid, b->set_child_tid);
	swap(a->clear_child_tid, b->clear_child_tid);
#ifdef CONFIG_RSEQ
	swap(a->rseq, b->rseq);
	swap(a->rseq_len, b->rseq_len);
	swap(a->rseq_sig, b->rseq_sig);
#endif
	swap(a->sas_ss_sp, b->sas_ss_sp);
	swap(a->sas_ss_size, b->sas_ss_size);
	swap(a->sas_ss_flags, b->sas_ss_flags);
	swap(a->pdeath_signal, b->pdeath_signal);
	swap(a->personality, b->personality);
	swap(a->timer_slack_ns, b->timer_slack_ns);
#ifdef CONFIG_AUDIT
	swap(a->loginuid, b->loginuid);
	swap(a->sessionid, b->sessionid);
#endif
}

static void syslet_swap_pending(struct sigpending *a, struct sigpending *b)
{
	LIST_HEAD(list);

	list_splice_init(&a->list, &list);
	list_splice_init(&b->list, &a->list);
	list_splice(&list, &b->list);
	swap(a->signal, b->signal);
}

/*
 * new is current; siglock held. The task that blocked takes the spare's
 * mask: a kernel-made spare's blocks all but SIGKILL and SIGSTOP, so that
 * one, now finishing the chain, takes only what stops, freezes or kills
 * it, and forwards what it may have been sent as the caller; a lent
 * thread's is the one its threadlet goes on with. It is woken for what it
 * is left with (an async_wait() sleeper taken back may have no timeout);
 * a chain's atom interrupted so restarts once.
 */
static void syslet_swap_signals(struct task_struct *old,
				struct task_struct *new)
{
	syslet_swap_pending(&old->pending, &new->pending);
	swap(old->blocked, new->blocked);
	recalc_sigpending();
	if (!sigisemptyset(&old->pending.signal))
		signal_wake_up(old, false);
}

/*
 * What makes the caller unable to move at the claim, though it could when
 * its chain or threadlet started: a tracer since, a PI waiter attached to
 * either task, state a threadlet's user code set up that a copy cannot
 * hand on (syslet_may_move()), a change of what the spare must share
 * with it (its affinity, credentials, cgroup...), or an LSM's refusal
 * (per-task LSM state that differs). Siglock and both pi_locks held.
 */
static bool syslet_claim_refused(struct task_struct *donor,
				 struct task_struct *spare)
{
	/* A lent leader runs user code: the rule is for spares. */
	if (spare->syslet->kernel_only && !syslet_spare_serves(spare, donor))
		return true;
	return !syslet_may_move(donor) || syslet_owns_pi_waiters(spare) ||
	       !syslet_spare_fits(spare, donor);
}

/* Both tasks' pi_lock, in address order; interrupts are off. */
static void syslet_lock_pi(struct task_struct *a, struct task_struct *b)
{
	if (a > b)
		swap(a, b);
	raw_spin_lock(&a->pi_lock);
	raw_spin_lock_nested(&b->pi_lock, SINGLE_DEPTH_NESTING);
}

static void syslet_unlock_pi(struct task_struct *a, struct task_struct *b)
{
	raw_spin_unlock(&a->pi_lock);
	raw_spin_unlock(&b->pi_lock);
}

/*
 * A claim takes the group's siglock, under which a thread's TID, signal
 * state and syslet state change hands and tracers attach. Only what is
 * also linked under tasklist_lock makes it take that global lock too:
 * children or tracees. A head with none, leader or not, is claimed under
 * siglock alone.
 *
 * The lists are looked at again under siglock, but they change under
 * tasklist_lock: a child that a CLONE_PARENT grandchild or a reparenting
 * adds at that very moment stays with the task that blocked.
 */
static bool syslet_claim_global(struct task_struct *donor,
				struct task_struct *spare)
{
	return !list_empty(&donor->children) || !list_empty(&donor->ptraced) ||
	       !list_empty(&spare->children) || !list_empty(&spare->ptraced);
}

static void syslet_claim_lock(struct task_struct *new, bool global)
{
	if (global) {
		write_lock_irq(&tasklist_lock);
		spin_lock(&new->sighand->siglock);
	} else {
		spin_lock_irq(&new->sighand->siglock);
	}
}

static void syslet_claim_unlock_irq(struct task_struct *new, bool global)
{
	spin_unlock(&new->sighand->siglock);
	if (global)
		write_unlock_irq(&tasklist_lock);
	else
		local_irq_enable();
}

/*
 * The user registers @donor's caller returns with: saved when its chain
 * or threadlet started, as atoms borrow the live ones, or by the claim of
 * a threadlet on a lease; an async_wait() caller's are those of its call,
 * untouched while it sleeps.
 */
static const struct pt_regs *syslet_caller_regs(struct task_struct *donor)
{
	if (donor->syslet->state == SYSLET_WAITING)
		return task_pt_regs(donor);
	return &donor->syslet->head_regs;
}

static void syslet_set_moved_ret(struct callback_head *work)
{
	struct syslet_task *st = container_of(work, struct syslet_task,
					      ret_work);

	syscall_set_return_value(current, current_pt_regs(), 0, st->moved_ret);
}

/*
 * The caller of a batch returns how many chains it consumed, not the 0 of
 * async_exec(): set on the way out, past where the system call current
 * returns from (or a new spare's first return) sets its own value.
 */
static void syslet_return_later(struct syslet_task *st, long value)
{
	st->moved_ret = value;
	init_task_work(&st->ret_work, syslet_set_moved_ret);
	WARN_ON_ONCE(task_work_add(current, &st->ret_work, TWA_RESUME));
}

/**
 * syslet_claim - take the caller over from @donor
 * @donor:	a task of current's group, offered as @offer and switched out
 *		since; its blocked chain or threadlet left the caller behind,
 *		or it sleeps in async_wait() for what current posted
 * @offer:	the value of its handoff the claim must find
 *
 * Everything the caller's identity is made of is exchanged between the
 * two tasks: current (a parked spare, the group leader only for the main
 * thread's caller; a lent thread; or a task that finished a moved chain)
 * leaves its own to @donor. Then current copies the caller's user state,
 * as @donor's switch-out left it, without being preempted: @donor waits
 * for SYSLET_HO_MOVED before it runs on.
 *
 * Return: SYSLET_HO_MOVED if current is the caller now;
 * SYSLET_HO_REFUSED, with nothing changed, if the caller cannot move (the
 * group is exiting or exec'ing, or syslet_claim_refused()); or
 * SYSLET_HO_ARMED if @donor withdrew the offer first.
 */
enum syslet_handoff syslet_claim(struct task_struct *donor, int offer)
{
	struct task_struct *new = current;
	struct syslet_task *st = new->syslet, *dst = donor->syslet;
	bool global = syslet_claim_global(donor, new);
	enum syslet_handoff result = SYSLET_HO_CLAIMED;
	struct task_struct *reserved;
	struct syslet_restore at = { };
	long moved_ret;
	char comm[TASK_COMM_LEN], new_comm[TASK_COMM_LEN];

	syslet_claim_lock(new, global);
	if (!global && syslet_claim_global(donor, new)) {
		syslet_claim_unlock_irq(new, global);
		global = true;
		syslet_claim_lock(new, global);
	}
	syslet_lock_pi(donor, new);
	if ((new->signal->flags & SIGNAL_GROUP_EXIT) ||
	    new->signal->group_exec_task || syslet_claim_refused(donor, new) ||
	    (dst->state == SYSLET_IDLE &&
	     !syslet_lease_restore_point(donor, &at)))
		result = SYSLET_HO_REFUSED;
	if (!atomic_try_cmpxchg(&dst->handoff, &offer,
				syslet_ho_with(offer, result)))
		result = SYSLET_HO_ARMED;
	if (result != SYSLET_HO_CLAIMED) {
		/* A threadlet on a lease runs on in place, the lease spoilt. */
		if (result == SYSLET_HO_REFUSED && dst->state == SYSLET_IDLE)
			syslet_lease_spoil(dst);
		syslet_unlock_pi(donor, new);
		syslet_claim_unlock_irq(new, global);
		return result;
	}

	if (dst->state == SYSLET_ARMED) {
		dst->caller = get_pid(task_pid(donor));
		syslet_chain_take_caller(donor);
	} else if (dst->state == SYSLET_IDLE) {
		syslet_lease_take_caller(donor, &at);
	}
	exchange_tids(donor, new);
	syslet_unlock_pi(donor, new);
	swap(donor->start_time, new->start_time);
	swap(donor->start_boottime, new->start_boottime);
	if (global)
		syslet_swap_children(donor, new);
	syslet_swap_registrations(donor, new);
	/* What a kernel-only task was sent itself is nobody's: see retire. */
	if (st->kernel_only)
		syslet_drop_own_signals();
	syslet_swap_signals(donor, new);
	/* A lending released while borrowed returns when its threadlet ends. */
	swap(st->lent, dst->lent);
	swap(st->released, dst->released);
	syslet_lease_moved(st, dst);

	/* A lent thread's threadlet goes on as a thread like any other. */
	dst->kernel_only = st->kernel_only;
	st->kernel_only = false;
	reserved = dst->reserved;
	dst->reserved = NULL;
	swap(st->cached, dst->cached);
	/*
	 * Taken back from async_wait(): it sleeps on as a spare, kept for the
	 * caller's next chain if it has none.
	 */
	if (dst->state == SYSLET_WAITING) {
		if (!st->cached)
			st->cached = get_task_struct(donor);
		else
			syslet_spare_park(new->signal->syslet, donor);
	}

	/* The donor's chain may end as soon as it is MOVED. */
	moved_ret = dst->state == SYSLET_ARMED ? dst->moved_ret : 0;

	/* Until MOVED: the donor waits for it in syslet_sched_running(). */
	preempt_disable();
	syslet_claim_unlock_irq(new, global);
	arch_syslet_take_user_state(donor, syslet_caller_regs(donor),
				    dst->state == SYSLET_THREADLET ||
				    dst->state == SYSLET_IDLE ?
				    &dst->head_tls : NULL);
	atomic_set_release(&dst->handoff, syslet_ho_with(offer, SYSLET_HO_MOVED));
	preempt_enable();

	/* Not the last reference: the caller holds its own. */
	if (reserved)
		put_task_struct(reserved);
	if (moved_ret)
		syslet_return_later(st, moved_ret);

	get_task_comm(comm, donor);
	get_task_comm(new_comm, new);
	set_task_comm(new, comm);
	set_task_comm(donor, new_comm);
	rseq_set_notify_resume(new);
	return SYSLET_HO_MOVED;
}

/**
 * syslet_give_back_tgid - the TGID's TID goes back to the leader
 * @tsk: a thread other than the leader, holding the TGID's TID, exiting
 *
 * After a cache miss in the main thread the TGID's TID is the caller's in
 * another thread, and the leader task, kernel-only, holds that thread's
 * old TID (it serves only the main thread's caller from then on, see
 * syslet_spare_reserve()). When that caller's thread exits, alone or with
 * its group, the TID and the process's start time go back to the leader,
 * which outlives every thread: the zombie that reports the exit, and what
 * /proc/<pid> and a pidfd find meanwhile, are then as without syslets.
 * Not while a leader whose threadlet moved runs user code as the lent
 * thread: then /proc/<pid> is gone until the process ends (a known
 * limit). Siglock held, interrupts off.
 */
void syslet_give_back_tgid(struct task_struct *tsk)
{
	struct task_struct *leader = tsk->group_leader;
	struct signal_struct *sig = tsk->signal;

	lockdep_assert_held(&tsk->sighand->siglock);
	/*
	 * A leader whose threadlet blocked goes on as the lent thread, with
	 * that TID, in user space: it keeps it while it lives.
	 */
	if (!(leader->syslet && leader->syslet->kernel_only) &&
	    !(sig->flags & SIGNAL_GROUP_EXIT) && !sig->group_exec_task &&
	    !(leader->flags & PF_EXITING))
		return;
	syslet_lock_pi(tsk, leader);
	exchange_tids(tsk, leader);
	syslet_unlock_pi(tsk, leader);
	swap(tsk->start_time, leader->start_time);
	swap(tsk->start_boottime, leader->start_boottime);
}
