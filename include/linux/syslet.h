/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_SYSLET_H
#define _LINUX_SYSLET_H

#include <linux/linkage.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/time_types.h>
#include <uapi/linux/syslet.h>

/*
 * The syslet system calls are declared here rather than in
 * <linux/syscalls.h>, next to the lifecycle hooks of the same subsystem.
 */
asmlinkage long sys_async_exec(struct syslet_uatom __user *atom,
			       struct async_head_user __user *ahu);
asmlinkage long sys_async_exec_batch(struct syslet_batch_entry __user *entries,
				     unsigned int nr,
				     struct async_head_user __user *ahu,
				     unsigned int flags);
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
asmlinkage long sys_threadlet_lease(struct threadlet_area __user *area,
				    struct async_head_user __user *ahu,
				    unsigned int flags);

struct rseq;
struct signal_struct;

#ifdef CONFIG_SYSLET
void syslet_task_free(struct task_struct *tsk);
void syslet_group_exit(struct task_struct *tsk, long code);
void syslet_group_free(struct signal_struct *sig);
void syslet_sched_sleeping(struct task_struct *tsk);
void syslet_sched_running(struct task_struct *tsk);
bool __syslet_untraceable(struct task_struct *p);

/*
 * A spare, or a task finishing a chain whose caller went on, runs no user
 * code of its own and may become a caller at any moment: it cannot be
 * traced. Its siglock held, under which its state changes.
 */
static inline bool syslet_untraceable(struct task_struct *p)
{
	if (likely(!READ_ONCE(p->syslet)))
		return false;
	return __syslet_untraceable(p);
}

pid_t __syslet_futex_tid(struct task_struct *tsk);
struct task_struct *syslet_futex_owner(struct task_struct *p);
bool __syslet_rseq_area(struct task_struct *t, bool leased,
			struct rseq __user **rseq, u32 *len, u32 *sig);

/*
 * The TID user space knows @tsk by in a futex word, which is that of the
 * thread whose TLS its user code runs on: not @tsk's own while it runs a
 * threadlet on a lease (kernel/syslet/lease.c). @tsk is current, or a
 * task asleep in a futex operation.
 */
static inline pid_t syslet_futex_tid(struct task_struct *tsk)
{
	if (unlikely(READ_ONCE(tsk->syslet)))
		return __syslet_futex_tid(tsk);
	return task_pid_vnr(tsk);
}

/*
 * The rseq registration of the thread on whose TLS @t, current, runs a
 * threadlet cached, or, with @leased, may start one without entering the
 * kernel: its area is live in @t too. False if there is none.
 */
static inline bool syslet_rseq_area(struct task_struct *t, bool leased,
				    struct rseq __user **rseq, u32 *len,
				    u32 *sig)
{
	if (likely(!READ_ONCE(t->syslet)))
		return false;
	return __syslet_rseq_area(t, leased, rseq, len, sig);
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
static inline void syslet_sched_running(struct task_struct *tsk) { }

static inline bool syslet_untraceable(struct task_struct *p)
{
	return false;
}

static inline pid_t syslet_futex_tid(struct task_struct *tsk)
{
	return task_pid_vnr(tsk);
}

static inline struct task_struct *syslet_futex_owner(struct task_struct *p)
{
	return p;
}

static inline bool syslet_rseq_area(struct task_struct *t, bool leased,
				    struct rseq __user **rseq, u32 *len,
				    u32 *sig)
{
	return false;
}
#endif

#endif /* _LINUX_SYSLET_H */
