/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_SYSLET_H
#define _LINUX_SYSLET_H

#include <linux/linkage.h>
#include <linux/sched.h>
#include <linux/time_types.h>
#include <uapi/linux/syslet.h>

/*
 * The syslet system calls are declared here rather than in
 * <linux/syscalls.h>, next to the lifecycle hooks of the same subsystem.
 */
asmlinkage long sys_async_exec(struct syslet_uatom __user *atom,
			       struct async_head_user __user *ahu);
asmlinkage long sys_async_wait(unsigned long min_wait_events,
			       unsigned long user_ring_idx,
			       struct async_head_user __user *ahu,
			       struct __kernel_timespec __user *timeout);
asmlinkage long sys_async_thread(unsigned long event,
				 struct async_head_user __user *ahu,
				 unsigned long flags);
asmlinkage long sys_threadlet_on(unsigned long restore_stack,
				 unsigned long restore_ip,
				 struct async_head_user __user *ahu);
asmlinkage long sys_threadlet_off(void);

struct signal_struct;

#ifdef CONFIG_SYSLET
void syslet_task_free(struct task_struct *tsk);
void syslet_group_exit(struct task_struct *tsk, long code);
void syslet_group_free(struct signal_struct *sig);
void syslet_sched_sleeping(struct task_struct *tsk);
struct task_struct *__syslet_signal_target(struct task_struct *t);
bool __syslet_pi_owner_moved(struct task_struct *p, pid_t tid);

/*
 * A signal for a thread that handed its identity to another task after a
 * cache miss goes to the task that holds the identity now. Siglock held.
 */
static inline struct task_struct *syslet_signal_target(struct task_struct *t)
{
	if (likely(!t->syslet))
		return t;
	return __syslet_signal_target(t);
}

/*
 * A PI futex waiter found @p by the TID @tid in the futex word, and holds
 * @p->pi_lock to attach to it: true if that TID is moving, or has moved,
 * to another task after a cache miss, and the waiter must look again.
 */
static inline bool syslet_pi_owner_moved(struct task_struct *p, pid_t tid)
{
	if (likely(!READ_ONCE(p->syslet)))
		return false;
	return __syslet_pi_owner_moved(p, tid);
}

/* A child of fork() or clone() starts with no syslet state of its own. */
static inline void syslet_task_fork(struct task_struct *p)
{
	p->syslet = NULL;
	/* Forked from inside a threadlet: the threadlet stays the parent's. */
	p->flags &= ~PF_SYSLET;
}
#else
static inline void syslet_task_free(struct task_struct *tsk) { }
static inline void syslet_task_fork(struct task_struct *p) { }
static inline void syslet_group_exit(struct task_struct *tsk, long code) { }
static inline void syslet_group_free(struct signal_struct *sig) { }
static inline void syslet_sched_sleeping(struct task_struct *tsk) { }
static inline struct task_struct *syslet_signal_target(struct task_struct *t)
{
	return t;
}

static inline bool syslet_pi_owner_moved(struct task_struct *p, pid_t tid)
{
	return false;
}
#endif

#endif /* _LINUX_SYSLET_H */
