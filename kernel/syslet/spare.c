// SPDX-License-Identifier: GPL-2.0-only
/*
 * Spare threads.
 *
 * A chain that may go asynchronous needs a thread ready to take over when
 * it blocks, because nothing may be created at that moment (inside
 * schedule()). So before such a chain runs, its task reserves a spare:
 * a thread of its own process, made by the kernel, that runs no user code
 * of its own and waits, parked, until it is needed. After a chain that did
 * not block the task keeps it (syslet_task::cached), so that its next
 * chain takes no lock; otherwise it parks with the group for the next
 * caller it fits.
 *
 * Spares are plain threads of the group (not io_uring-style user workers,
 * since a spare will return to user space as the caller), made by
 * copy_process() with CLONE_THREAD, so RLIMIT_NPROC, the pids cgroup and
 * threads-max apply to them as to any thread, and sysctl
 * kernel.syslet.max_spares bounds them per process. They block every
 * signal but SIGKILL and SIGSTOP, and park interruptibly and freezably,
 * calling get_signal() when woken by a signal: so they take part in group
 * stop, the freezers and group exit (exit_group, exec, core dumps, fatal
 * signals) like any thread.
 *
 * A spare becomes the caller only if it already has what it cannot take
 * over by itself (credentials, seccomp filter, files, fs and namespaces,
 * cgroup, scheduling policy, deadline parameters, utilization clamps,
 * core-scheduling cookie and affinity, NUMA policy, TSC and CPUID
 * faulting, per-task LSM state): syslet_spare_fits() says which
 * parked spare may serve a caller, and a new spare, made by the caller,
 * has all of it from birth.
 *
 * What no ordinary thread needs: spares, and tasks that finish a chain
 * whose caller went on, must not keep their process alive. When the last
 * real thread calls SYS_exit, syslet_group_exit() ends the group as
 * exit_group() would. The count it needs, and the list of parked spares,
 * live in the group's struct syslet_group under siglock.
 */
#include <linux/cgroup.h>
#include <linux/cpumask.h>
#include <linux/list.h>
#include <linux/mempolicy.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/syslet.h>

#include "syslet.h"

#include <trace/events/syslet.h>

void syslet_group_free(struct signal_struct *sig)
{
	kfree(sig->syslet);
}

/* The group's state, made on first use. */
struct syslet_group *syslet_group_get(void)
{
	struct signal_struct *sig = current->signal;
	struct syslet_group *group = READ_ONCE(sig->syslet), *new;

	if (likely(group))
		return group;
	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return NULL;
	INIT_LIST_HEAD(&new->parked);
	INIT_LIST_HEAD(&new->lent);
	init_waitqueue_head(&new->ring_wait);

	spin_lock_irq(&current->sighand->siglock);
	group = sig->syslet;
	if (!group) {
		group = new;
		WRITE_ONCE(sig->syslet, new);
		new = NULL;
	}
	spin_unlock_irq(&current->sighand->siglock);
	kfree(new);
	return group;
}

/*
 * A parked spare or lent thread sleeps on its own completion, so that the
 * task handing it a caller can wake it on its own CPU
 * (complete_on_current_cpu()): it is about to sleep there, and the spare
 * then runs in its place with no IPI. Every waiter rechecks what it waits
 * for, so a completion left over from an earlier wakeup costs one loop.
 */
void syslet_unpark(struct task_struct *p)
{
	complete(&p->syslet->park);
}

/**
 * syslet_get_signal - get_signal() for a task waiting in the kernel
 *
 * A fatal signal ends a kernel-only task (a spare, or a task finishing a
 * chain whose caller went on) as get_signal() would, but without
 * PF_SIGNALED: it is no thread of the program, so a core dump leaves it
 * out, as it leaves out threads that exited by themselves
 * (coredump_task_exit()), instead of listing registers that are nobody's.
 * A lent thread is the program's, and is dumped.
 */
void syslet_get_signal(void)
{
	struct ksignal ksig;

	if (READ_ONCE(current->syslet->kernel_only) &&
	    fatal_signal_pending(current))
		do_group_exit(SIGKILL);
	get_signal(&ksig);
}

/* A kernel-only task is nobody's to trace: ptrace_attach() asks. */
bool __syslet_untraceable(struct task_struct *p)
{
	lockdep_assert_held(&p->sighand->siglock);
	return p->syslet->kernel_only;
}

/**
 * syslet_park - wait as a spare until handed a caller
 * @st: the current task's syslet state
 *
 * Interruptible and freezable, like an io-wq worker: a signal (only
 * SIGKILL and SIGSTOP get through) goes to get_signal(), which stops,
 * freezes, or exits with the group. Returns once the task has taken a
 * caller over, to return to user space as that caller.
 */
void syslet_park(struct syslet_task *st)
{
	for (;;) {
		/* A donor first: its caller must not wait for our signals. */
		if (READ_ONCE(st->donor)) {
			if (syslet_take_over(st))
				return;
			continue;
		}
		if (signal_pending(current)) {
			syslet_get_signal();
			continue;
		}
		wait_for_completion_state(&st->park, TASK_INTERRUPTIBLE | TASK_FREEZABLE);
	}
}

/* A new spare parks; it returns to user space only as a caller taken over. */
static int syslet_spare_main(void *arg)
{
	sigset_t blocked;

	siginitsetinv(&blocked, sigmask(SIGKILL) | sigmask(SIGSTOP));
	set_current_blocked(&blocked);
	syslet_park(current->syslet);
	return 0;
}

/* Make a spare for the current process; it starts out reserved. */
static struct task_struct *syslet_spare_create(struct syslet_group *group)
{
	struct kernel_clone_args args = {
		.flags		= CLONE_VM | CLONE_FS | CLONE_FILES |
				  CLONE_SIGHAND | CLONE_THREAD |
				  CLONE_SYSVSEM | CLONE_UNTRACED,
		.exit_signal	= 0,
		.fn		= syslet_spare_main,
		.name		= "syslet",
	};
	struct syslet_task *st = syslet_task_alloc();
	struct task_struct *p;

	if (!st)
		return NULL;
	st->kernel_only = true;
	p = copy_process(NULL, 0, NUMA_NO_NODE, &args);
	if (IS_ERR(p)) {
		trace_syslet_spare_create(0, group->nr_kernel_only, PTR_ERR(p));
		kfree(st);
		return NULL;
	}
	/* Not running yet: nobody else looks at p->syslet before the wakeup. */
	st->self = p;
	p->syslet = st;
	spin_lock_irq(&current->sighand->siglock);
	group->nr_kernel_only++;
	trace_syslet_spare_create(p->pid, group->nr_kernel_only, 0);
	spin_unlock_irq(&current->sighand->siglock);
	get_task_struct(p);
	wake_up_new_task(p);
	return p;
}

/*
 * Whether @spare may become @tsk's caller. What a spare cannot take over
 * from another task by itself it must already share: everything below is
 * inherited from the thread that made the spare, so a new spare made by
 * @tsk always fits. Exact under siglock and both tasks' pi_lock (the
 * claim); a hint without them. A parked spare changes none of it itself.
 */
bool syslet_spare_fits(struct task_struct *spare, struct task_struct *tsk)
{
	bool fits;
#ifdef CONFIG_UCLAMP_TASK
	int i;
#endif

	if (spare->ptrace || spare->cred != tsk->cred ||
	    spare->real_cred != tsk->real_cred ||
	    spare->atomic_flags != tsk->atomic_flags ||
	    spare->files != tsk->files || spare->fs != tsk->fs ||
	    spare->nsproxy != tsk->nsproxy ||
	    spare->policy != tsk->policy ||
	    spare->static_prio != tsk->static_prio ||
	    spare->rt_priority != tsk->rt_priority ||
	    !cpumask_equal(&spare->cpus_mask, &tsk->cpus_mask) ||
	    !arch_syslet_fits(spare, tsk) ||
	    security_syslet_takeover(tsk, spare))
		return false;
#ifdef CONFIG_SECCOMP
	if (spare->seccomp.mode != tsk->seccomp.mode)
		return false;
#endif
#ifdef CONFIG_SECCOMP_FILTER
	if (spare->seccomp.filter != tsk->seccomp.filter)
		return false;
#endif
#ifdef CONFIG_NUMA
	/* Each task changes only its own, and neither does now. */
	if (spare->mempolicy != tsk->mempolicy &&
	    (!spare->mempolicy || !tsk->mempolicy ||
	     !mpol_equal(spare->mempolicy, tsk->mempolicy)))
		return false;
#endif
#ifdef CONFIG_UCLAMP_TASK
	for (i = 0; i < UCLAMP_CNT; i++)
		if (spare->uclamp_req[i].value != tsk->uclamp_req[i].value)
			return false;
#endif
#ifdef CONFIG_SCHED_CORE
	if (spare->core_cookie != tsk->core_cookie)
		return false;
#endif
	if (spare->dl.dl_runtime != tsk->dl.dl_runtime ||
	    spare->dl.dl_deadline != tsk->dl.dl_deadline ||
	    spare->dl.dl_period != tsk->dl.dl_period)
		return false;
	rcu_read_lock();
	fits = task_css_set(spare) == task_css_set(tsk);
	rcu_read_unlock();
	return fits;
}

/* Its NUMA policy is freed at its exit, under task_lock(). */
static bool syslet_spare_has_mempolicy(struct task_struct *spare)
{
#ifdef CONFIG_NUMA
	return READ_ONCE(spare->mempolicy);
#else
	return false;
#endif
}

/*
 * Whether the spare current kept from its last chain can serve the coming
 * one. Without siglock, so only a hint: the claim compares again, exactly.
 * A spare that an execve() or group exit killed is exiting; a spare never
 * sets a NUMA policy, so one it has not (the usual case) needs no lock.
 */
static bool syslet_cached_fits(struct task_struct *spare)
{
	bool fits;

	if (READ_ONCE(spare->syslet->exited) ||
	    (READ_ONCE(spare->flags) & PF_EXITING))
		return false;
	if (!syslet_spare_serves(spare, current))
		return false;
	if (!syslet_spare_has_mempolicy(spare))
		return syslet_spare_fits(spare, current);
	task_lock(spare);
	fits = syslet_spare_fits(spare, current);
	task_unlock(spare);
	return fits;
}

/*
 * Park @p and drop the reference its holder had: perhaps the last one, for
 * a spare an execve() killed, which put_task_struct() allows here.
 * Siglock held.
 */
static void syslet_spare_give_back(struct syslet_group *group,
				   struct task_struct *p)
{
	syslet_spare_park(group, p);
	put_task_struct(p);
}

/*
 * At the limit of spares, with none parked that fits: take one another
 * thread keeps, rather than run the chain synchronously. O(threads), but
 * only here; the owner takes its own with an xchg, without siglock, and
 * the claim moves one under siglock. Siglock held.
 */
static struct task_struct *syslet_take_kept(struct syslet_group *group)
{
	struct task_struct *t, *p;

	for_each_thread(current, t) {
		struct syslet_task *tst = READ_ONCE(t->syslet);

		if (t == current || !tst || !READ_ONCE(tst->cached))
			continue;
		p = xchg(&tst->cached, NULL);
		if (!p)
			continue;
		if (!p->syslet->exited && syslet_spare_serves(p, current) &&
		    syslet_spare_fits(p, current))
			return p;
		syslet_spare_give_back(group, p);
	}
	return NULL;
}

/**
 * syslet_spare_reserve - give @st a spare of its own for the coming chain
 * @st: the current task's syslet state
 *
 * The spare kept from the last chain if it still fits, taking no lock;
 * else a parked spare that fits the caller, else a new one while the
 * process is under kernel.syslet.max_spares and the thread limits.
 * Without one, @st->reserved stays NULL and the chain can only run
 * synchronously. The reservation holds a reference: the spare may be
 * killed meanwhile.
 */
void syslet_spare_reserve(struct syslet_task *st)
{
	struct syslet_group *group = syslet_group_get();
	struct syslet_task *spare;
	bool may_create;

	if (!group)
		return;
	/* Another thread at its limit may take it meanwhile (xchg). */
	st->reserved = xchg(&st->cached, NULL);
	if (st->reserved) {
		if (syslet_cached_fits(st->reserved))
			return;
		syslet_spare_release(st);
	}
	spin_lock_irq(&current->sighand->siglock);
	list_for_each_entry(spare, &group->parked, park_node) {
		if (syslet_spare_serves(spare->self, current) &&
		    syslet_spare_fits(spare->self, current)) {
			list_del_init(&spare->park_node);
			/* Alive: it leaves the list, under siglock, as it exits. */
			st->reserved = get_task_struct(spare->self);
			break;
		}
	}
	may_create = !st->reserved &&
		     group->nr_kernel_only < syslet_max_spares();
	if (!st->reserved && !may_create)
		st->reserved = syslet_take_kept(group);
	spin_unlock_irq(&current->sighand->siglock);

	if (may_create)
		st->reserved = syslet_spare_create(group);
}

/*
 * An offer current withdrew may still name @p: a spare given back or kept
 * holds no donor, so that the next task to reserve it finds none, and the
 * sleep hook only ever drops a reference to the task it runs in. Whoever
 * takes the pointer drops its reference.
 */
static void syslet_spare_forget_donor(struct task_struct *p)
{
	if (cmpxchg(&p->syslet->donor, current, NULL) == current)
		put_task_struct(current);
}

/* Park a spare or lent thread given back, unless it is exiting; siglock held. */
void syslet_spare_park(struct syslet_group *group, struct task_struct *p)
{
	struct syslet_task *st = p->syslet;

	syslet_spare_forget_donor(p);
	if (st->exited)
		return;
	if (st->lent) {
		list_add(&st->lent_node, &group->lent);
		/* It waits for this before it leaves async_thread(). */
		if (st->released || signal_pending(p))
			syslet_unpark(p);
	} else {
		list_add(&st->park_node, &group->parked);
	}
}

/**
 * syslet_spare_keep - keep the spare @st reserved for the next chain
 * @st: the current task's syslet state, its chain ended in the caller
 *
 * Unless the claim found it no longer fits: then it goes back to the
 * group, for a caller it fits. At the process's limit of spares it goes
 * back too: kept, it would leave the other threads' chains without one.
 */
void syslet_spare_keep(struct syslet_task *st)
{
	struct syslet_group *group = current->signal->syslet;

	if (!st->reserved ||
	    syslet_ho_state(atomic_read(&st->handoff)) == SYSLET_HO_REFUSED ||
	    /* A hint: at worst one spare too many kept, or given back. */
	    data_race(group->nr_kernel_only) >= syslet_max_spares()) {
		syslet_spare_release(st);
		return;
	}
	syslet_spare_forget_donor(st->reserved);
	WRITE_ONCE(st->cached, st->reserved);
	st->reserved = NULL;
}

/**
 * syslet_spare_release - park the spare @st reserved again
 * @st: the current task's syslet state
 */
void syslet_spare_release(struct syslet_task *st)
{
	struct task_struct *p = st->reserved;

	if (!p)
		return;
	st->reserved = NULL;
	spin_lock_irq(&current->sighand->siglock);
	syslet_spare_park(current->signal->syslet, p);
	spin_unlock_irq(&current->sighand->siglock);
	put_task_struct(p);
}

/*
 * Drop the thread-directed signals the task raised against itself while it
 * finished a chain whose caller went on: an atom's SIGPIPE or SIGXFSZ, all
 * blocked here. Kept, they would move to the next caller this task takes
 * over. SIGKILL and SIGSTOP stay for get_signal(). Siglock held.
 */
void syslet_drop_own_signals(void)
{
	struct sigpending *pending = &current->pending;
	struct sigpending dropped;
	struct sigqueue *q, *n;
	sigset_t keep;

	sigemptyset(&keep);
	sigaddset(&keep, SIGKILL);
	sigaddset(&keep, SIGSTOP);
	init_sigpending(&dropped);
	list_for_each_entry_safe(q, n, &pending->list, list) {
		if (!sigismember(&keep, q->info.si_signo))
			list_move(&q->list, &dropped.list);
	}
	sigandsets(&pending->signal, &pending->signal, &keep);
	flush_sigqueue(&dropped);
	recalc_sigpending();
}

/**
 * syslet_retire - park the current task, whose caller went on, as a spare
 * @st: its syslet state
 *
 * Returns once it has taken over another caller.
 */
void syslet_retire(struct syslet_task *st)
{
	spin_lock_irq(&current->sighand->siglock);
	syslet_drop_own_signals();
	syslet_spare_park(current->signal->syslet, current);
	spin_unlock_irq(&current->sighand->siglock);
	syslet_park(st);
}

/**
 * syslet_group_exit - account for a thread leaving the group
 * @tsk:	the exiting thread, current
 * @code:	its exit code
 *
 * Called by synchronize_group_exit() with siglock held, after
 * quick_threads has dropped @tsk. A thread gives back a spare it still
 * holds; a kernel-only one leaves the count and the parked list; and a
 * real thread that leaves only kernel-only ones behind ends the group as
 * do_group_exit() would.
 */
void syslet_group_exit(struct task_struct *tsk, long code)
{
	struct signal_struct *sig = tsk->signal;
	struct syslet_group *group = sig->syslet;
	struct syslet_task *st = tsk->syslet;

	lockdep_assert_held(&tsk->sighand->siglock);
	if (!group)
		return;
	if (!thread_group_leader(tsk) && syslet_holds_tgid(tsk))
		syslet_give_back_tgid(tsk);
	/*
	 * Killed inside a chain (seccomp, say), or exiting with a spare kept:
	 * give them back.
	 */
	if (st && st->reserved) {
		syslet_spare_give_back(group, st->reserved);
		st->reserved = NULL;
	}
	if (st && st->cached)
		syslet_spare_give_back(group, xchg(&st->cached, NULL));
	if (st && st->lease) {
		syslet_spare_give_back(group, st->lease);
		st->lease = NULL;
	}
	if (st) {
		st->exited = true;
		list_del_init(&st->lent_node);
	}
	if (st && st->kernel_only) {
		group->nr_kernel_only--;
		list_del_init(&st->park_node);
		return;
	}
	if (group->nr_kernel_only &&
	    sig->quick_threads == group->nr_kernel_only &&
	    !(sig->flags & SIGNAL_GROUP_EXIT)) {
		sig->flags = SIGNAL_GROUP_EXIT;
		sig->group_exit_code = code;
		sig->group_stop_count = 0;
		zap_other_threads(tsk);
	}
}
