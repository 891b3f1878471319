// SPDX-License-Identifier: GPL-2.0-only
/*
 * Threadlets: user code that runs in the caller until it blocks.
 *
 * A process lends threads it made itself (pthread_create()) to its
 * threadlets: such a thread calls async_thread() and parks in the kernel,
 * on the list of threads lent with that async_head_user (a pool). A
 * threadlet_on() borrows one: the caller goes on in user space on the
 * lent thread's TLS (fs base) and, by convention, on the lent thread's
 * stack below where it parked, so that nothing the threadlet does touches
 * the caller's errno or thread_local variables. threadlet_off() in the
 * same task gives the lent thread back, puts the caller's fs base back and
 * returns 1: the threadlet ran synchronously, with no thread switched to.
 *
 * When the threadlet blocks, the sched hook hands the caller on exactly as
 * for a chain (handoff.c): the lent thread takes over the caller's identity
 * and returns to user space as the caller at the restore point
 * threadlet_on() was given, with 0 in the return register; and the task
 * that blocked takes the lent thread's identity, TID, signal state,
 * registrations and lending included (identity.c swaps the two), and goes
 * on with the threadlet once its system call or fault is done. Its
 * threadlet_off() returns 0; async_thread() then posts the threadlet's
 * event to the pool's ring and parks it, lent again.
 *
 * A lent thread returns from async_thread() as itself, with the registers
 * of the call that lent it, when it is released (0) or a signal is to be
 * handled (-EINTR); a threadlet that ran on it in between leaves no trace
 * on that context.
 */
#include <linux/ptrace.h>
#include <linux/rseq.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/syslet.h>

#include "syslet.h"

#include <trace/events/syslet.h>

/* An execve() ended a threadlet, a lending or a lease: drop the old program's. */
void syslet_forget_old_program(struct syslet_task *st)
{
	u64 exec_id = current->self_exec_id;

	if (st->state == SYSLET_THREADLET && st->exec_id != exec_id) {
		/* de_thread() killed the lent thread, if it was not taken. */
		current->flags &= ~PF_SYSLET;
		if (st->reserved)
			put_task_struct(st->reserved);
		st->reserved = NULL;
		st->state = SYSLET_IDLE;
	}
	if (st->lent && st->lent->exec_id != exec_id) {
		kfree(st->lent);
		st->lent = NULL;
	}
	if (st->area.uaddr && st->area.exec_id != exec_id)
		syslet_lease_forget(st);
}

/* In a threadlet of threadlet_on(), or one on the thread's lease. */
bool syslet_in_threadlet(struct syslet_task *st)
{
	syslet_forget_old_program(st);
	return st->state == SYSLET_THREADLET || syslet_lease_active(current);
}

/*
 * The lent thread on whose TLS @tsk's user code runs a cached threadlet:
 * borrowed by threadlet_on(), or on @tsk's lease; with @leased, also one
 * @tsk holds on lease and may start a threadlet on without entering the
 * kernel. NULL otherwise, in a program that an execve() replaced since,
 * and once a threadlet moved, as @tsk is then the lent thread itself.
 * @tid, if not NULL, is set to the TID noted for it. For a task other
 * than current, under rcu_read_lock() (the area), and only to compare:
 * @tsk may give the thread back meanwhile.
 */
static struct task_struct *syslet_threadlet_host(struct task_struct *tsk,
						 bool leased, pid_t *tid)
{
	struct syslet_task *st = READ_ONCE(tsk->syslet);

	if (READ_ONCE(st->state) == SYSLET_THREADLET) {
		if (st->exec_id != tsk->self_exec_id)
			return NULL;
		if (tid)
			*tid = READ_ONCE(st->threadlet_tid);
		return READ_ONCE(st->reserved);
	}
	if (!(leased && READ_ONCE(st->lease) &&
	      READ_ONCE(st->area.exec_id) == tsk->self_exec_id) &&
	    !syslet_lease_active(tsk))
		return NULL;
	if (tid)
		*tid = READ_ONCE(st->lease_tid);
	return READ_ONCE(st->lease);
}

/**
 * __syslet_futex_tid - the TID @tsk's user code locks futexes with
 * @tsk: current, or a PI futex's owner or waiter, with syslet state
 *
 * A cached threadlet runs on a lent thread's TLS, where glibc keeps the
 * TID it stores in a lock word: while it runs, the task goes by that TID,
 * and syslet_futex_owner() maps the TID back. After a move the two agree
 * anyway. The TID was noted when the thread was borrowed or leased, so
 * that the lent thread, which @tsk may give back meanwhile, is not
 * touched here.
 */
pid_t __syslet_futex_tid(struct task_struct *tsk)
{
	struct task_struct *host;
	pid_t tid;

	rcu_read_lock();
	host = syslet_threadlet_host(tsk, false, &tid);
	rcu_read_unlock();
	return host ? tid : task_pid_vnr(tsk);
}

/**
 * syslet_futex_owner - the task a futex word's TID names
 * @p: the task that holds the TID, with a reference
 *
 * A lent thread is, while a cached threadlet runs on it, the task running
 * the threadlet: the one that will unlock what the threadlet locked.
 * Found by a walk of the threads under RCU, done only for a lent thread
 * (an owner of a contended PI futex rarely is one); a task found there
 * stays until a grace period after it is unhashed.
 *
 * Return: that task, with a reference, @p's dropped; or @p.
 */
struct task_struct *syslet_futex_owner(struct task_struct *p)
{
	struct syslet_task *st = READ_ONCE(p->syslet);
	struct task_struct *t, *owner = p;

	if (!st || !READ_ONCE(st->lent))
		return p;
	rcu_read_lock();
	for_each_thread(p, t) {
		if (t != p && READ_ONCE(t->syslet) &&
		    syslet_threadlet_host(t, false, NULL) == p) {
			owner = get_task_struct(t);
			break;
		}
	}
	rcu_read_unlock();
	if (owner != p)
		put_task_struct(p);
	return owner;
}

/**
 * __syslet_rseq_area - the rseq registration a threadlet in @t runs on
 * @t:		current: returning to user space, or forking
 * @leased:	also that of a thread @t holds on lease
 * @rseq:	set to the area
 * @len:	its length
 * @sig:	its signature
 *
 * A cached threadlet runs on a lent thread's TLS, where glibc and its
 * restartable sequences find that thread's rseq area: while it runs, and
 * while @t holds a lease it may start one on without the kernel, that
 * area is live in @t along with its own, which the caller goes on with.
 * The lent thread's registration does not change meanwhile: only the
 * lent thread, parked, changes it, or a claim, which needs current to
 * sleep offered.
 *
 * Return: false if there is none.
 */
bool __syslet_rseq_area(struct task_struct *t, bool leased,
			struct rseq __user **rseq, u32 *len, u32 *sig)
{
#ifdef CONFIG_RSEQ
	struct task_struct *host = syslet_threadlet_host(t, leased, NULL);

	if (!host || !host->rseq)
		return false;
	*rseq = host->rseq;
	*len = host->rseq_len;
	*sig = host->rseq_sig;
	return true;
#else
	return false;
#endif
}

/**
 * syslet_borrow - take a parked thread lent with @uahu
 * @uahu:	the pool's async_head_user
 * @into:	current's reservation or lease, set in the same hold of
 *		siglock: a release of the pool finds the thread in one place
 *		or the other
 *
 * Return: one that may become current's caller, with a reference, or NULL.
 */
struct task_struct *syslet_borrow(struct async_head_user __user *uahu,
				  struct task_struct **into)
{
	struct syslet_group *group = syslet_group_get();
	struct task_struct *taken = NULL;
	struct syslet_task *lent;

	if (!group)
		return NULL;
	spin_lock_irq(&current->sighand->siglock);
	list_for_each_entry(lent, &group->lent, lent_node) {
		if (lent->lent->uahu == uahu && !lent->released &&
		    !syslet_owns_pi_waiters(lent->self) &&
		    syslet_spare_fits(lent->self, current)) {
			list_del_init(&lent->lent_node);
			taken = get_task_struct(lent->self);
			*into = taken;
			break;
		}
	}
	spin_unlock_irq(&current->sighand->siglock);
	return taken;
}

/**
 * syslet_threadlet_on - start a threadlet on a thread lent with @uahu
 * @st:			the current task's syslet state
 * @restore_stack:	stack pointer the caller goes on with if it blocks
 * @restore_ip:		and instruction pointer
 * @ahu:		the pool's async_head_user, read and checked
 * @uahu:		its user address, which names the pool
 *
 * Return: the stack pointer to run the threadlet with, on the borrowed
 * thread's stack, with fs base switched to its TLS; 0 if the threadlet
 * cannot move (nested, on a lent thread, a caller that cannot be handed
 * on, or no thread lent with @uahu fits), counted in @uahu's sync_chains:
 * then it is to run as a plain call; -EAGAIN instead when no lent thread
 * fits and @ahu asks for that; -EINVAL for a restore point outside user
 * space; or -EFAULT.
 */
long syslet_threadlet_on(struct syslet_task *st, unsigned long restore_stack,
			 unsigned long restore_ip,
			 const struct async_head_user *ahu,
			 struct async_head_user __user *uahu)
{
	struct task_struct *lent;
	struct pt_regs *regs;

	if (restore_ip >= TASK_SIZE_MAX || restore_stack >= TASK_SIZE_MAX)
		return -EINVAL;
	if (syslet_in_threadlet(st) || st->lent || !syslet_may_move(current)) {
		trace_syslet_sync_fallback(uahu, SYSLET_SYNC_UNMOVABLE);
		return syslet_count_sync_chain(uahu);
	}
	if (!syslet_borrow(uahu, &st->reserved)) {
		if (ahu->flags & SYSLET_AHU_EAGAIN_AT_LIMIT) {
			trace_syslet_sync_fallback(uahu,
						   SYSLET_SYNC_REFUSED_EAGAIN);
			return -EAGAIN;
		}
		trace_syslet_sync_fallback(uahu, SYSLET_SYNC_NO_LENT);
		return syslet_count_sync_chain(uahu);
	}

	lent = st->reserved;
	st->threadlet_tid = task_pid_vnr(lent);
	regs = &st->head_regs;
	*regs = *current_pt_regs();
	arch_syslet_set_resume(regs, restore_ip, restore_stack);
	st->head_tls = arch_syslet_tls(current);
	st->exec_id = current->self_exec_id;

	arch_syslet_set_tls(arch_syslet_tls(lent));
	st->state = SYSLET_THREADLET;
	syslet_arm_handoff(st);
	/* Its rseq area tells the threadlet the CPU it starts on. */
	rseq_set_notify_resume(current);
	return arch_syslet_threadlet_sp(&lent->syslet->lent->regs);
}

/**
 * syslet_threadlet_off - end the threadlet the current task runs
 * @st: its syslet state
 *
 * Return: 1 if it ran synchronously (the caller's fs base is back, the
 * lent thread given back); 0 if it went asynchronous and this task goes
 * on as the thread it was lent; -EINVAL outside a threadlet.
 */
long syslet_threadlet_off(struct syslet_task *st)
{
	syslet_forget_old_program(st);
	if (st->state != SYSLET_THREADLET)
		return -EINVAL;
	st->state = SYSLET_IDLE;
	if (syslet_handoff_moved(st)) {
		current->flags &= ~PF_SYSLET;
		return 0;
	}
	arch_syslet_set_tls(st->head_tls);
	syslet_spare_release(st);
	syslet_disarm(st);
	return 1;
}

/* Leave the lent list, unless a threadlet has borrowed the thread. */
static bool syslet_lent_leave(struct syslet_task *st)
{
	bool parked;

	spin_lock_irq(&current->sighand->siglock);
	parked = !list_empty(&st->lent_node);
	list_del_init(&st->lent_node);
	spin_unlock_irq(&current->sighand->siglock);
	return parked;
}

/*
 * Borrowed, with a signal to handle or released: wait until the threadlet
 * takes this thread over or gives it back. No handler may run meanwhile,
 * as the threadlet runs on this thread's stack and TLS; so only what
 * stops, freezes or kills gets through until then, and the thread takes
 * part in a group stop or freeze while it waits.
 */
static void syslet_lent_wait_borrowed(struct syslet_task *st)
{
	sigset_t real = current->blocked, only_stop_kill;

	siginitsetinv(&only_stop_kill, sigmask(SIGKILL) | sigmask(SIGSTOP));
	set_current_blocked(&only_stop_kill);
	while (!READ_ONCE(st->donor) && list_empty_careful(&st->lent_node) &&
	       !fatal_signal_pending(current)) {
		if (task_sigpending(current))
			syslet_worker_signals();
		else
			wait_for_completion_state(&st->park, TASK_INTERRUPTIBLE |
						  TASK_FREEZABLE);
	}
	/* Before a claim: the mask that moves with this thread's TID. */
	set_current_blocked(&real);
}

/*
 * Park lent until a threadlet takes this thread over (0, returning as its
 * caller), or it is released (0) or interrupted (-EINTR), returning as
 * itself.
 */
static long syslet_lent_park(struct syslet_task *st)
{
	long ret;

	for (;;) {
		if (READ_ONCE(st->donor)) {
			if (syslet_take_over(st))
				return 0;
			continue;
		}
		if (fatal_signal_pending(current)) {
			syslet_lent_leave(st);
			return -EINTR;
		}
		if (READ_ONCE(st->released) || signal_pending(current)) {
			ret = READ_ONCE(st->released) ? 0 : -EINTR;
			if (syslet_lent_leave(st))
				break;
			syslet_lent_wait_borrowed(st);
			continue;
		}
		wait_for_completion_state(&st->park, TASK_INTERRUPTIBLE | TASK_FREEZABLE);
	}

	*current_pt_regs() = st->lent->regs;
	kfree(st->lent);
	st->lent = NULL;
	return ret;
}

/**
 * syslet_lend - post a threadlet's event, then lend the current thread
 * @st:		its syslet state
 * @event:	the value to post to @ahu's ring, or 0 for none
 * @ahu:	the pool's async_head_user, read and checked
 * @uahu:	its user address
 *
 * Return: 0 as a threadlet's caller, or as itself once released;
 * -EINTR as itself when a signal is to be handled; -EINVAL for the
 * main thread (the TGID's TID), inside a threadlet, or an event without
 * a ring; -EBUSY, the event posted, for a thread that owns a PI futex
 * with waiters; -ENOMEM.
 */
long syslet_lend(struct syslet_task *st, u64 event,
		 const struct async_head_user *ahu,
		 struct async_head_user __user *uahu)
{
	struct syslet_group *group;
	int err;

	/* waitpid() and /proc/<pid> name the TGID's TID: it is not lent. */
	if (syslet_in_threadlet(st) || syslet_holds_tgid(current))
		return -EINVAL;
	if (event && !ahu->completion_ring)
		return -EINVAL;
	/* Parked, it would hold a thread it cannot use. */
	syslet_lease_give_back(st);
	err = security_syslet_lend();
	if (err)
		return err;
	group = syslet_group_get();
	if (!group)
		return -ENOMEM;
	if (!st->lent) {
		st->lent = kmalloc(sizeof(*st->lent), GFP_KERNEL_ACCOUNT);
		if (!st->lent)
			return -ENOMEM;
		st->lent->regs = *current_pt_regs();
		st->lent->uahu = uahu;
		st->lent->exec_id = current->self_exec_id;
		st->released = false;
	}

	if (event) {
		int ret;

		st->uahu = uahu;
		st->ring = u64_to_user_ptr(ahu->completion_ring);
		st->ring_mask = ahu->ring_size_bytes / sizeof(u64) - 1;
		st->eventfd = syslet_head_eventfd(ahu);
		/* Restarted after a signal, the event not posted yet. */
		ret = syslet_ring_post(st, event, NULL);
		if (ret)
			return ret;
	}

	/* Its TID would go to a threadlet's caller, its PI locks stay here. */
	if (syslet_owns_pi_waiters(current))
		return -EBUSY;

	/* What a borrower switches to must be what user space set last. */
	arch_syslet_tls(current);
	spin_lock_irq(&current->sighand->siglock);
	if (!st->exited)
		list_add(&st->lent_node, &group->lent);
	spin_unlock_irq(&current->sighand->siglock);
	return syslet_lent_park(st);
}

/*
 * Release the threads lent with @uahu that other threads hold on lease,
 * which give them back soon (lease.c). O(threads), as only pools being
 * torn down do it. Siglock held.
 */
static long syslet_release_leased(struct async_head_user __user *uahu)
{
	struct task_struct *t;
	long released = 0;

	for_each_thread(current, t) {
		struct syslet_task *tst = READ_ONCE(t->syslet);
		struct syslet_task *lent;

		if (!tst || !tst->lease)
			continue;
		lent = tst->lease->syslet;
		if (lent->lent->uahu == uahu && !lent->released) {
			lent->released = true;
			syslet_lease_revoke(t);
			released++;
		}
	}
	return released;
}

/**
 * syslet_release_lent - let every thread lent with @uahu and parked return
 * @uahu: the pool's async_head_user
 *
 * Return: how many were released, leased ones included, which return
 * when their lessees give them back. One borrowed by threadlet_on() at
 * the moment returns when it is given back or next parks; the caller
 * calls again.
 */
long syslet_release_lent(struct async_head_user __user *uahu)
{
	struct syslet_group *group = READ_ONCE(current->signal->syslet);
	struct syslet_task *lent;
	long released = 0;

	if (!group)
		return 0;
	spin_lock_irq(&current->sighand->siglock);
	list_for_each_entry(lent, &group->lent, lent_node) {
		if (lent->lent->uahu == uahu && !lent->released) {
			lent->released = true;
			syslet_unpark(lent->self);
			released++;
		}
	}
	released += syslet_release_leased(uahu);
	spin_unlock_irq(&current->sighand->siglock);
	return released;
}
