// SPDX-License-Identifier: GPL-2.0-only
/*
 * Threadlet leases: threadlets that start and end in user space.
 *
 * threadlet_on() and threadlet_off() cost two kernel entries even for a
 * threadlet that never blocks. A thread that registers a struct
 * threadlet_area (include/uapi/linux/syslet.h has the ABI) and holds a
 * lease on a thread lent to a pool (threadlet_lease()) makes none: it
 * switches to the leased thread's stack and TLS itself, and marks the area
 * active while the threadlet runs. The kernel looks at the area only when
 * the thread blocks: the sched hook (handoff.c) then offers the caller to
 * the leased thread if the area is active, and the claim (identity.c)
 * builds the caller's registers from the area's restore point and zeroes
 * the area's active word and lease, which the threadlet's closing
 * compare-and-exchange finds: that is how it learns that it moved. The
 * area's page is pinned while registered, as the hook cannot take a fault.
 *
 * Only the lessee changes its lease: in its own context, here, or while it
 * is switched out and offered, in a claim, under siglock. So a release of
 * the pool (SYSLET_LEND_RELEASE) revokes a lease by a task_work that runs
 * in the lessee on its way out to user space: there no threadlet of its
 * own is halfway through a stack switch. A lease that cannot be given
 * back at once, because a threadlet runs on it, or that the claim found
 * unusable (the caller cannot move any more) is spoilt: its stack pointer
 * reads 0 in the area, and the lessee gives it back when the threadlet
 * ends, and may lease again.
 */
#include <linux/mm.h>
#include <linux/rseq.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/syslet.h>
#include <linux/task_work.h>

#include "syslet.h"

#include <trace/events/syslet.h>

/**
 * syslet_lease_active - whether @tsk runs a threadlet on its lease
 * @tsk: current, a task switched out and offered, or any other task under
 *	 rcu_read_lock(): its area's page stays pinned until a grace
 *	 period after it is unregistered
 */
bool syslet_lease_active(struct task_struct *tsk)
{
	struct syslet_task *st = tsk->syslet;
	struct threadlet_area *area = READ_ONCE(st->area.kaddr);

	return READ_ONCE(st->lease) && area &&
	       READ_ONCE(st->area.exec_id) == tsk->self_exec_id &&
	       READ_ONCE(area->active);
}

/* A lease the lessee is to give back: it reads as none. */
void syslet_lease_spoil(struct syslet_task *st)
{
	if (st->area.kaddr)
		WRITE_ONCE(st->area.kaddr->lease_sp, 0);
}

/**
 * syslet_lease_restore_point - where a moved threadlet's caller goes on
 * @donor:	switched out and offered, its threadlet on its lease blocked
 * @at:		the area's restore point and caller's fs base, read once
 *
 * Read before the claim decides, as the area is user memory that any
 * thread of the process may write meanwhile. Siglock held.
 *
 * Return: false if the area no longer says that a threadlet runs, or
 * names a restore point outside user space: the claim refuses then.
 */
bool syslet_lease_restore_point(struct task_struct *donor,
				struct syslet_restore *at)
{
	struct threadlet_area *area = donor->syslet->area.kaddr;

	if (!syslet_lease_active(donor))
		return false;
	at->ip = READ_ONCE(area->restore_ip);
	at->sp = READ_ONCE(area->restore_sp);
	at->tls = READ_ONCE(area->caller_fs);
	return at->ip < TASK_SIZE_MAX && at->sp < TASK_SIZE_MAX &&
	       at->tls < TASK_SIZE_MAX;
}

/**
 * syslet_lease_take_caller - the registers a moved threadlet's caller takes
 * @donor:	claimed: it waits for the claim to finish before it runs on
 * @at:		what syslet_lease_restore_point() read
 *
 * Into @donor's head_regs and head_tls, which a donor that withdrew its
 * offer first may be using for a chain of its own: hence only now. Its
 * user registers as it blocked, with the restore point.
 */
void syslet_lease_take_caller(struct task_struct *donor,
			      const struct syslet_restore *at)
{
	struct syslet_task *dst = donor->syslet;

	dst->head_regs = *task_pt_regs(donor);
	arch_syslet_set_resume(&dst->head_regs, at->ip, at->sp);
	dst->head_tls = at->tls;
}

static void syslet_lease_revoke_work(struct callback_head *work)
{
	struct syslet_task *st = container_of(work, struct syslet_task,
					      revoke_work);
	bool now;

	spin_lock_irq(&current->sighand->siglock);
	st->revoking = false;
	now = st->lease && READ_ONCE(st->lease->syslet->released);
	/* Given back when the threadlet ends, which finds it spoilt. */
	if (now && syslet_lease_active(current)) {
		syslet_lease_spoil(st);
		now = false;
	}
	spin_unlock_irq(&current->sighand->siglock);
	if (now)
		syslet_lease_give_back(st);
}

/**
 * syslet_lease_revoke - make @lessee give its lease back, released
 * @lessee: a thread of current's group holding a lease
 *
 * On its way out to user space, or in its next wait in the kernel. One
 * exiting gives it back as it exits. Siglock held.
 */
void syslet_lease_revoke(struct task_struct *lessee)
{
	struct syslet_task *st = lessee->syslet;

	lockdep_assert_held(&lessee->sighand->siglock);
	if (st->revoking)
		return;
	init_task_work(&st->revoke_work, syslet_lease_revoke_work);
	st->revoking = !task_work_add(lessee, &st->revoke_work, TWA_SIGNAL);
}

/**
 * syslet_lease_moved - the claim moves the area and lease with the caller
 * @st:		current's syslet state, current the caller now
 * @dst:	the donor's
 *
 * A lease that took the caller over is used up, and the area, zeroed,
 * tells the threadlet so. Siglock held.
 */
void syslet_lease_moved(struct syslet_task *st, struct syslet_task *dst)
{
	if (dst->lease == current) {
		struct threadlet_area *area = dst->area.kaddr;

		WRITE_ONCE(area->lease_sp, 0);
		WRITE_ONCE(area->lease_fs, 0);
		WRITE_ONCE(area->active, 0);
		/* Not the last reference: current's own. */
		put_task_struct(current);
		dst->lease = NULL;
	}
	swap(st->area, dst->area);
	swap(st->lease, dst->lease);
	swap(st->lease_tid, dst->lease_tid);
	if (st->lease) {
		st->exec_id = current->self_exec_id;
		syslet_arm_handoff(st);
		if (READ_ONCE(st->lease->syslet->released))
			syslet_lease_revoke(current);
	}
}

/**
 * syslet_lease_give_back - park the thread current holds on lease again
 * @st: current's syslet state
 */
void syslet_lease_give_back(struct syslet_task *st)
{
	struct task_struct *lent = st->lease;

	if (!lent)
		return;
	spin_lock_irq(&current->sighand->siglock);
	st->lease = NULL;
	if (st->area.kaddr) {
		WRITE_ONCE(st->area.kaddr->lease_sp, 0);
		WRITE_ONCE(st->area.kaddr->lease_fs, 0);
	}
	syslet_spare_park(current->signal->syslet, lent);
	spin_unlock_irq(&current->sighand->siglock);
	put_task_struct(lent);
	if (st->state == SYSLET_IDLE)
		current->flags &= ~PF_SYSLET;
}

static void syslet_area_unregister(struct syslet_task *st)
{
	struct page *page = st->area.page;

	spin_lock_irq(&current->sighand->siglock);
	WRITE_ONCE(st->area.kaddr, NULL);
	st->area = (struct syslet_area){ };
	spin_unlock_irq(&current->sighand->siglock);
	if (page) {
		/* Futex lookups read other threads' areas (threadlet.c). */
		synchronize_rcu();
		unpin_user_page(page);
	}
}

/**
 * syslet_lease_forget - an execve() ended the area and the lease
 * @st: current's syslet state
 *
 * de_thread() killed the leased thread; the page stays pinned until now.
 */
void syslet_lease_forget(struct syslet_task *st)
{
	struct task_struct *lent = st->lease;

	spin_lock_irq(&current->sighand->siglock);
	st->lease = NULL;
	spin_unlock_irq(&current->sighand->siglock);
	if (lent)
		put_task_struct(lent);
	if (st->state == SYSLET_IDLE)
		current->flags &= ~PF_SYSLET;
	syslet_area_unregister(st);
}

/**
 * syslet_disarm - what current ran that could move has ended in it
 * @st: its syslet state
 *
 * From now on it offers its caller only for a threadlet on its lease.
 */
void syslet_disarm(struct syslet_task *st)
{
	if (st->lease)
		syslet_arm_handoff(st);
	else
		current->flags &= ~PF_SYSLET;
}

static int syslet_area_register(struct syslet_task *st,
				struct threadlet_area __user *uarea)
{
	struct threadlet_area *area;
	struct page *page;
	int ret;

	ret = pin_user_pages_fast((unsigned long)uarea, 1,
				  FOLL_WRITE | FOLL_LONGTERM, &page);
	if (ret != 1)
		return ret < 0 ? ret : -EFAULT;
	area = page_address(page) + offset_in_page(uarea);
	if (READ_ONCE(area->reserved[0]) || READ_ONCE(area->reserved[1]) ||
	    READ_ONCE(area->active)) {
		unpin_user_page(page);
		return -EINVAL;
	}
	WRITE_ONCE(area->lease_sp, 0);
	WRITE_ONCE(area->lease_fs, 0);
	spin_lock_irq(&current->sighand->siglock);
	st->area = (struct syslet_area){
		.uaddr = uarea,
		.kaddr = area,
		.page = page,
		.exec_id = current->self_exec_id,
	};
	spin_unlock_irq(&current->sighand->siglock);
	return 0;
}

/* A lease that a threadlet started now could run on and move with. */
static bool syslet_lease_usable(struct syslet_task *st,
				struct async_head_user __user *uahu)
{
	struct syslet_task *lent = st->lease->syslet;

	return READ_ONCE(st->area.kaddr->lease_sp) && lent->lent->uahu == uahu &&
	       !READ_ONCE(lent->released) &&
	       (current->flags & PF_SYSLET) &&
	       syslet_ho_state(atomic_read(&st->handoff)) == SYSLET_HO_ARMED;
}

/**
 * syslet_lease - register @uarea, and lease it a thread lent with @uahu
 * @st:		current's syslet state
 * @uarea:	the area, 64-byte aligned
 * @ahu:	the pool's async_head_user, read and checked
 * @uahu:	its user address, which names the pool
 *
 * Return: 0 with the lease in the area; -EAGAIN without one; -EBUSY for
 * another area registered, or a threadlet running on the lease; -EINVAL
 * for a misaligned or dirty area, a lent thread, or inside a threadlet
 * of threadlet_on(); -EFAULT or -ENOMEM if it cannot be pinned.
 */
long syslet_lease(struct syslet_task *st, struct threadlet_area __user *uarea,
		  const struct async_head_user *ahu,
		  struct async_head_user __user *uahu)
{
	struct threadlet_area *area;
	struct task_struct *lent;
	int ret;

	if (!IS_ALIGNED((unsigned long)uarea, SYSLET_AREA_SIZE))
		return -EINVAL;
	if (syslet_in_threadlet(st))
		return st->state == SYSLET_THREADLET ? -EINVAL : -EBUSY;
	if (st->lent)
		return -EINVAL;
	if (st->area.uaddr && st->area.uaddr != uarea)
		return -EBUSY;
	if (!st->area.uaddr) {
		ret = syslet_area_register(st, uarea);
		if (ret)
			return ret;
	}
	if (st->lease) {
		if (syslet_lease_usable(st, uahu))
			return 0;
		syslet_lease_give_back(st);
	}
	if (!syslet_may_move(current)) {
		trace_syslet_sync_fallback(uahu, SYSLET_SYNC_UNMOVABLE);
		return -EAGAIN;
	}
	lent = syslet_borrow(uahu, &st->lease);
	if (!lent) {
		trace_syslet_sync_fallback(uahu, SYSLET_SYNC_NO_LENT);
		return -EAGAIN;
	}

	area = st->area.kaddr;
	WRITE_ONCE(st->lease_tid, task_pid_vnr(lent));
	WRITE_ONCE(area->lease_fs, arch_syslet_tls(lent));
	WRITE_ONCE(area->lease_sp,
		   arch_syslet_threadlet_sp(&lent->syslet->lent->regs));
	st->exec_id = current->self_exec_id;
	syslet_arm_handoff(st);
	/* Kept current from now on: threadlets start without the kernel. */
	rseq_set_notify_resume(current);
	return 0;
}

/**
 * syslet_lease_return - give the lease back, and perhaps the area too
 * @st:		current's syslet state
 * @uarea:	the area registered
 * @unregister:	unregister it as well
 *
 * Return: 0; -EINVAL if @uarea is not the area registered; -EBUSY while
 * a threadlet runs on the lease.
 */
long syslet_lease_return(struct syslet_task *st,
			 struct threadlet_area __user *uarea, bool unregister)
{
	syslet_forget_old_program(st);
	if (!st->area.uaddr || st->area.uaddr != uarea)
		return -EINVAL;
	if (syslet_lease_active(current))
		return -EBUSY;
	syslet_lease_give_back(st);
	if (unregister)
		syslet_area_unregister(st);
	return 0;
}
