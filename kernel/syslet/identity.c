// SPDX-License-Identifier: GPL-2.0-only
/*
 * The caller's identity follows the caller.
 *
 * After a cache miss the caller goes on in another task, and it must not
 * be able to tell: its TID, and for a thread group leader the leadership
 * (the TGID, process group and session links, the place in the task list
 * and among its parent's children, the exit signal), its start time, its
 * children and tracees, its per-thread registrations with user space
 * (robust futex list, rseq, set/clear_child_tid, sigaltstack), its parent
 * death signal, personality, audit login, comm, signal mask and pending
 * thread-directed signals all move, in one step under tasklist_lock and
 * siglock, from the task that blocked to the spare. Leadership moves the
 * way de_thread() moves it, but with both threads alive: every thread's
 * group_leader changes.
 *
 * What a spare cannot take over it already shares (syslet_spare_fits());
 * the rest, per-thread CPU clocks, timers and rusage among them, stays
 * with the tasks: Documentation/syslet.rst has the table.
 *
 * Senders look a TID up under RCU only, so a signal aimed at the caller
 * while the swap happens can still be queued on the task that gave the
 * TID away. For one RCU grace period after the swap, such signals are
 * queued on the TID's holder instead (__syslet_signal_target()).
 */
#include <linux/audit.h>
#include <linux/cgroup-defs.h>
#include <linux/cgroup.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/rseq.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/syslet.h>

#include "syslet.h"

static void syslet_move_leadership(struct task_struct *old,
				   struct task_struct *new)
{
	struct task_struct *t;

	transfer_pid(old, new, PIDTYPE_TGID);
	transfer_pid(old, new, PIDTYPE_PGID);
	transfer_pid(old, new, PIDTYPE_SID);
	/*
	 * No grace period before @new, a former leader perhaps, takes the
	 * task list entry again: a group's entry only ever changes hands in
	 * place, so an RCU walker still on @new's old entry goes on from the
	 * same position, to the same successor, as if it had never left.
	 */
	list_replace_rcu(&old->tasks, &new->tasks);
	list_replace_init(&old->sibling, &new->sibling);
	for_each_thread(old, t)
		t->group_leader = new;
	new->exit_signal = old->exit_signal;
	old->exit_signal = -1;
	/*
	 * thread_group_empty() takes the leader to be the first thread: a
	 * leader at the end of the list would look alone and be reaped with
	 * threads still alive. An RCU walker of the list that is on @new
	 * meanwhile sees some threads twice, and still reaches the end.
	 */
	list_del_rcu(&new->thread_node);
	list_add_rcu(&new->thread_node, &new->signal->thread_head);
}

static void syslet_move_children(struct task_struct *old,
				 struct task_struct *new)
{
	struct task_struct *t;

	list_for_each_entry(t, &old->children, sibling) {
		RCU_INIT_POINTER(t->real_parent, new);
		if (!t->ptrace)
			t->parent = new;
	}
	list_splice_init(&old->children, &new->children);
	list_for_each_entry(t, &old->ptraced, ptrace_entry)
		t->parent = new;
	list_splice_init(&old->ptraced, &new->ptraced);
}

static void syslet_move_registrations(struct task_struct *old,
				      struct task_struct *new)
{
	new->robust_list = old->robust_list;
	old->robust_list = NULL;
	new->set_child_tid = old->set_child_tid;
	old->set_child_tid = NULL;
	new->clear_child_tid = old->clear_child_tid;
	old->clear_child_tid = NULL;
#ifdef CONFIG_RSEQ
	new->rseq = old->rseq;
	new->rseq_len = old->rseq_len;
	new->rseq_sig = old->rseq_sig;
	WRITE_ONCE(old->rseq, NULL);
	old->rseq_len = 0;
	old->rseq_sig = 0;
#endif
	new->sas_ss_sp = old->sas_ss_sp;
	new->sas_ss_size = old->sas_ss_size;
	new->sas_ss_flags = old->sas_ss_flags;
	sas_ss_reset(old);
	new->pdeath_signal = old->pdeath_signal;
	old->pdeath_signal = 0;
	new->personality = old->personality;
	new->timer_slack_ns = old->timer_slack_ns;
#ifdef CONFIG_AUDIT
	new->loginuid = old->loginuid;
	new->sessionid = old->sessionid;
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

/* new is current; siglock held. */
static void syslet_move_signals(struct task_struct *old,
				struct task_struct *new)
{
	syslet_swap_pending(&old->pending, &new->pending);
	new->blocked = old->blocked;
	recalc_sigpending();
	/*
	 * The old task, now finishing the chain, takes only what stops,
	 * freezes or kills it, and forwards what it may have been sent as
	 * the caller. A TIF_SIGPENDING left set only makes its next
	 * interruptible sleep restart once.
	 */
	siginitsetinv(&old->blocked, sigmask(SIGKILL) | sigmask(SIGSTOP));
}

/**
 * syslet_swap_identity - take the caller over from @donor
 * @donor: the task whose chain blocked, a thread of current's group
 *
 * Return: false, with nothing changed, if the group is exiting or exec'ing.
 */
bool syslet_swap_identity(struct task_struct *donor)
{
	struct task_struct *new = current;
	struct syslet_task *st = new->syslet, *dst = donor->syslet;
	struct sighand_struct *sighand = new->sighand;
	struct task_struct *reserved;
	struct pid *stale;
	char comm[TASK_COMM_LEN];
	bool leader;

	cgroup_threadgroup_change_begin(new);
	write_lock_irq(&tasklist_lock);
	spin_lock(&sighand->siglock);
	if ((new->signal->flags & SIGNAL_GROUP_EXIT) ||
	    new->signal->group_exec_task) {
		spin_unlock(&sighand->siglock);
		write_unlock_irq(&tasklist_lock);
		cgroup_threadgroup_change_end(new);
		return false;
	}

	leader = thread_group_leader(donor);
	exchange_tids(donor, new);
	if (leader)
		syslet_move_leadership(donor, new);
	swap(donor->start_time, new->start_time);
	swap(donor->start_boottime, new->start_boottime);
	syslet_move_children(donor, new);
	syslet_move_registrations(donor, new);
	syslet_move_signals(donor, new);

	st->kernel_only = false;
	dst->kernel_only = true;
	/*
	 * A head forwards nothing: new stops forwarding for the TID it handed
	 * on in an earlier life, and the donor, a head until now, has none.
	 * Both change under siglock, where __syslet_signal_target() reads them.
	 */
	stale = st->handed_pid;
	st->handed_pid = NULL;
	WARN_ON_ONCE(dst->handed_pid);
	dst->handed_pid = get_pid(task_pid(new));
	dst->handed_gp = get_state_synchronize_rcu();
	reserved = dst->reserved;
	dst->reserved = NULL;

	spin_unlock(&sighand->siglock);
	write_unlock_irq(&tasklist_lock);
	cgroup_threadgroup_change_end(new);

	put_pid(stale);
	put_task_struct(reserved);

	get_task_comm(comm, donor);
	set_task_comm(new, comm);
	set_task_comm(donor, "syslet");
	rseq_set_notify_resume(new);
	return true;
}

struct task_struct *__syslet_signal_target(struct task_struct *t)
{
	int hops;

	lockdep_assert_held(&t->sighand->siglock);
	rcu_read_lock();
	for (hops = 0; hops < 4; hops++) {
		struct syslet_task *st = t->syslet;
		struct task_struct *holder;

		if (!st || !st->handed_pid ||
		    poll_state_synchronize_rcu(st->handed_gp))
			break;
		holder = pid_task(st->handed_pid, PIDTYPE_PID);
		if (!holder || holder == t || holder->sighand != t->sighand)
			break;
		t = holder;
	}
	rcu_read_unlock();
	return t;
}
