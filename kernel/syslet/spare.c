// SPDX-License-Identifier: GPL-2.0-only
/*
 * Spare threads.
 *
 * A chain that may go asynchronous needs a thread ready to take over when
 * it blocks, because nothing may be created at that moment (inside
 * schedule()). So before such a chain runs, its task reserves a spare:
 * a thread of its own process, made by the kernel, that runs no user code
 * of its own and waits, parked, until it is needed. After the chain the
 * reservation is given back and the spare parks again for the next one.
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
 * What no ordinary thread needs: spares must not keep their process alive.
 * When the last real thread calls SYS_exit, syslet_group_exit() ends the
 * group as exit_group() would. The count it needs, and the list of parked
 * spares, live in the group's struct syslet_group under siglock.
 */
#include <linux/list.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/syslet.h>

#include "syslet.h"

struct syslet_task *syslet_task_alloc(void)
{
	struct syslet_task *st = kmalloc(sizeof(*st), GFP_KERNEL_ACCOUNT);

	if (st) {
		st->reserved = NULL;
		st->self = NULL;
		st->is_spare = false;
		st->exited = false;
		INIT_LIST_HEAD(&st->park_node);
	}
	return st;
}

void syslet_task_free(struct task_struct *tsk)
{
	struct syslet_task *st = tsk->syslet;

	/* A reservation lasts only as long as the system call that made it. */
	WARN_ON_ONCE(st && st->reserved);
	kfree(st);
	tsk->syslet = NULL;
}

void syslet_group_free(struct signal_struct *sig)
{
	kfree(sig->syslet);
}

/* The group's state, made on first use. */
static struct syslet_group *syslet_group_get(void)
{
	struct signal_struct *sig = current->signal;
	struct syslet_group *group = READ_ONCE(sig->syslet), *new;

	if (likely(group))
		return group;
	new = kmalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return NULL;
	INIT_LIST_HEAD(&new->parked);
	new->nr_spares = 0;

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

/* Park until killed, stopped or frozen; taking over comes later. */
static int syslet_spare_main(void *arg)
{
	sigset_t blocked;

	siginitsetinv(&blocked, sigmask(SIGKILL) | sigmask(SIGSTOP));
	set_current_blocked(&blocked);

	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE | TASK_FREEZABLE);
		if (signal_pending(current)) {
			struct ksignal ksig;

			__set_current_state(TASK_RUNNING);
			/* Stops, freezes, or exits with the group. */
			get_signal(&ksig);
			continue;
		}
		schedule();
	}
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
	st->is_spare = true;
	p = copy_process(NULL, 0, NUMA_NO_NODE, &args);
	if (IS_ERR(p)) {
		kfree(st);
		return NULL;
	}
	/* Not running yet: nobody else looks at p->syslet before the wakeup. */
	st->self = p;
	p->syslet = st;
	spin_lock_irq(&current->sighand->siglock);
	group->nr_spares++;
	spin_unlock_irq(&current->sighand->siglock);
	get_task_struct(p);
	wake_up_new_task(p);
	return p;
}

/**
 * syslet_spare_reserve - give @st a spare of its own for the coming chain
 * @st: the current task's syslet state
 *
 * A parked spare if there is one, else a new one while the process is under
 * kernel.syslet.max_spares and the thread limits. Without one, @st->reserved
 * stays NULL and the chain can only run synchronously. The reservation
 * holds a reference: the spare may be killed meanwhile.
 */
void syslet_spare_reserve(struct syslet_task *st)
{
	struct syslet_group *group = syslet_group_get();
	struct syslet_task *spare;
	bool may_create;

	if (!group)
		return;
	spin_lock_irq(&current->sighand->siglock);
	spare = list_first_entry_or_null(&group->parked, struct syslet_task,
					 park_node);
	if (spare) {
		list_del_init(&spare->park_node);
		/* Alive: a spare leaves the list, under siglock, as it exits. */
		st->reserved = get_task_struct(spare->self);
	}
	may_create = !spare && group->nr_spares < syslet_max_spares();
	spin_unlock_irq(&current->sighand->siglock);

	if (may_create)
		st->reserved = syslet_spare_create(group);
}

/* Park a spare given back, unless it is exiting; siglock held. */
static void syslet_spare_park(struct syslet_group *group,
			      struct task_struct *p)
{
	if (!p->syslet->exited)
		list_add(&p->syslet->park_node, &group->parked);
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

/**
 * syslet_group_exit - account for a thread leaving the group
 * @tsk:	the exiting thread, current
 * @code:	its exit code
 *
 * Called by synchronize_group_exit() with siglock held, after
 * quick_threads has dropped @tsk. A spare leaves the count and the parked
 * list. A real thread gives back a spare it still holds, and if it leaves
 * only spares behind, ends the group as do_group_exit() would.
 */
void syslet_group_exit(struct task_struct *tsk, long code)
{
	struct signal_struct *sig = tsk->signal;
	struct syslet_group *group = sig->syslet;
	struct syslet_task *st = tsk->syslet;

	lockdep_assert_held(&tsk->sighand->siglock);
	if (!group)
		return;
	if (st && st->is_spare) {
		st->exited = true;
		group->nr_spares--;
		list_del_init(&st->park_node);
		return;
	}
	/* Killed inside a chain (seccomp, say): give the reservation back. */
	if (st && st->reserved) {
		struct task_struct *p = st->reserved;

		st->reserved = NULL;
		syslet_spare_park(group, p);
		/* Not the last reference while the spare lives: no freeing here. */
		put_task_struct(p);
	}
	if (group->nr_spares && sig->quick_threads == group->nr_spares &&
	    !(sig->flags & SIGNAL_GROUP_EXIT)) {
		sig->flags = SIGNAL_GROUP_EXIT;
		sig->group_exit_code = code;
		sig->group_stop_count = 0;
		zap_other_threads(tsk);
	}
}
