/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KERNEL_SYSLET_H
#define _KERNEL_SYSLET_H

#include <linux/completion.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <asm/ptrace.h>
#include <asm/syslet.h>
#include <uapi/linux/syslet.h>

/* Index value meaning "no atom": the chain ends here. */
#define SYSLET_ATOM_NONE	U8_MAX

static_assert(SYSLET_MAX_ATOMS < SYSLET_ATOM_NONE);

/**
 * struct syslet_atom - the kernel's copy of one validated atom
 * @uaddr:	user address of the atom, what async_exec() reports
 * @ret_ptr:	user address of the result, 0 to discard it
 * @arg_ptr:	user addresses of the argument values, 0 for a zero argument
 * @nr:		system call number, at most INT_MAX and not refused
 * @flags:	SYSLET_* flags, validated
 * @next:	index of the atom that runs when no stop condition holds
 * @skip:	index of the atom at uaddr + 1, taken when a stop condition
 *		holds and @flags has SYSLET_SKIP_TO_NEXT_ON_STOP
 */
struct syslet_atom {
	u64	uaddr;
	u64	ret_ptr;
	u64	arg_ptr[6];
	u32	nr;
	u8	flags;
	u8	next;
	u8	skip;
};

static_assert(SYSLET_VALID_FLAGS <= U8_MAX);

/**
 * struct syslet_chain - a chain read in and validated by syslet_chain_read()
 * @nr_atoms:	atoms in @atoms; atoms[0] is the one async_exec() was given
 * @seen:	one bit per hash of every uaddr in @atoms, so that looking up
 *		an atom not read yet rarely has to scan them
 * @merges:	an atom was reached a second time: the chain is not a tree,
 *		and may have a cycle
 * @atoms:	the atoms, in the order they were discovered
 */
struct syslet_chain {
	unsigned int		nr_atoms;
	u64			seen;
	bool			merges;
	struct syslet_atom	atoms[SYSLET_MAX_ATOMS];
};

/*
 * Where a task stands with the chain it runs. Only the task itself changes
 * it (the sched hook runs as the task that is about to sleep).
 */
enum syslet_state {
	SYSLET_IDLE,	/* no chain, or one that runs synchronously to its end */
	SYSLET_ARMED,	/* moves to the reserved spare when it blocks */
	SYSLET_MISSED,	/* blocked: the caller went on in the reserved spare */
	SYSLET_THREADLET,	/* runs a threadlet that moves when it blocks */
	SYSLET_THREADLET_MISSED, /* blocked in one: the caller went on */
};

/**
 * struct syslet_lent - what a thread lent for threadlets keeps of itself
 * @regs:	the user registers of the async_thread() call that lent it,
 *		which it returns with when released or interrupted
 * @uahu:	the async_head_user it was lent with: its pool
 * @exec_id:	self_exec_id then: an execve() ends the lending
 *
 * Part of the thread's identity: it moves with the TID when a threadlet
 * takes the thread over (syslet_swap_identity()).
 */
struct syslet_lent {
	struct pt_regs			regs;
	struct async_head_user __user	*uahu;
	u64				exec_id;
};

/**
 * struct syslet_task - per-task syslet state, behind task_struct::syslet
 * @chain:	buffer for the chain being run, allocated on first use so the
 *		cached path allocates nothing
 * @state:	enum syslet_state
 * @reserved:	the spare this task holds while it runs a chain that may go
 *		asynchronous, with a reference
 * @head_regs:	(armed) the user registers the caller returns with
 * @head_state: (armed) the rest of the caller's user state, beyond
 *		@head_regs and its FPU registers: its TLS base from the start,
 *		the rest saved when it blocks
 * @uahu:	(armed) the caller's struct async_head_user
 * @ring:	(armed) its completion ring
 * @ring_mask:	(armed) the ring's entry count less one
 * @taken:	(missed) completed once the spare has taken the caller over
 * @park:	(spares, lent threads) what a parked task sleeps on
 * @self:	the task this state belongs to
 * @kernel_only: runs no user code of its own: a spare, or a task finishing
 *		a chain whose caller went on in a spare
 * @exited:	past synchronize_group_exit(), never to be parked or lent
 * @park_node:	(spares) entry in syslet_group::parked while parked
 * @donor:	(spares) the blocked task whose caller this spare is to take
 *		over, with a reference; set by that task's sched hook
 * @exec_id:	(threadlet) self_exec_id when it started: an execve() ends it
 * @resume_work: (threadlet missed) waits for the takeover before the task
 *		returns to user space with the lent thread's identity
 * @lent:	lent for threadlets (threadlet.c), or NULL
 * @lent_node:	(lent, parked) entry in syslet_group::lent
 * @released:	(lent, parked) async_thread() was asked to return
 * @tid_leaving: (missed) the caller's TID is being handed to the spare:
 *		until the swap is done, a PI futex waiter that found this task
 *		by that TID must look again (syslet_pi_fence())
 *
 * @kernel_only, @exited, @park_node and @reserved (while
 * missed) are protected by the group's siglock, @tid_leaving by the task's
 * pi_lock; the parked list holds no references, as a spare unlinks itself
 * when it exits.
 */
struct syslet_task {
	struct syslet_chain		chain;
	enum syslet_state		state;
	struct task_struct		*reserved;
	struct pt_regs			head_regs;
	struct syslet_user_state	head_state;
	struct async_head_user __user	*uahu;
	u64 __user			*ring;
	u64				ring_mask;
	struct completion		taken;
	struct completion		park;
	struct task_struct		*self;
	bool				kernel_only;
	bool				exited;
	struct list_head		park_node;
	struct task_struct		*donor;
	u64				exec_id;
	struct callback_head		resume_work;
	struct syslet_lent		*lent;
	struct list_head		lent_node;
	bool				released;
	bool				tid_leaving;
};

/**
 * struct syslet_group - per-process state, behind signal_struct::syslet
 * @parked:	spares waiting to be reserved
 * @lent:	threads lent for threadlets, waiting to be borrowed
 * @nr_kernel_only: threads that run no user code of their own, spares
 *		and tasks finishing a moved chain; a group whose other threads
 *		have all exited ends while these remain
 * @ring_lock:	serializes posting to completion rings
 * @ring_seq:	bumped on every posting and every async_wait() call, for
 *		waiters on @ring_wait to recheck the rings
 * @ring_wait:	async_wait() callers, and completers that found a ring full
 *
 * @parked, @lent and @nr_kernel_only are protected by the group's siglock.
 */
struct syslet_group {
	struct list_head	parked;
	struct list_head	lent;
	unsigned int		nr_kernel_only;
	struct mutex		ring_lock;	/* see above */
	atomic_t		ring_seq;
	wait_queue_head_t	ring_wait;
};

bool syslet_call_refused(unsigned long nr, struct pt_regs *regs);
int syslet_chain_read(struct syslet_chain *chain, u64 uaddr);
long syslet_chain_run(struct syslet_task *st, unsigned int *end);
bool syslet_enabled(void);
unsigned long syslet_max_spares(void);
void syslet_count_lost_completion(void);

int syslet_head_read(struct async_head_user *ahu,
		     struct async_head_user __user *uahu);

struct syslet_task *syslet_task_alloc(void);
struct syslet_group *syslet_group_get(void);
void syslet_spare_reserve(struct syslet_task *st);
void syslet_spare_release(struct syslet_task *st);
void syslet_park(struct syslet_task *st);
void syslet_unpark(struct task_struct *p);
void syslet_retire(struct syslet_task *st);

int syslet_arm(struct syslet_task *st, const struct async_head_user *ahu,
	       struct async_head_user __user *uahu);
void syslet_hand_off(struct task_struct *tsk);
bool syslet_await_takeover(struct syslet_task *st);
long syslet_chain_done(struct syslet_task *st, long ret, unsigned int end);
bool syslet_take_over(struct syslet_task *st);
bool syslet_swap_identity(struct task_struct *donor);

void syslet_ring_post(struct syslet_task *st, u64 value);

bool syslet_spare_fits(struct task_struct *spare, struct task_struct *tsk);
bool syslet_may_move(struct task_struct *tsk);
bool syslet_owns_pi_waiters(struct task_struct *tsk);
int syslet_count_sync_chain(struct async_head_user __user *uahu);
bool syslet_in_threadlet(struct syslet_task *st);
long syslet_threadlet_on(struct syslet_task *st, unsigned long restore_stack,
			 unsigned long restore_ip,
			 struct async_head_user __user *uahu);
long syslet_threadlet_off(struct syslet_task *st);
long syslet_lend(struct syslet_task *st, u64 event,
		 const struct async_head_user *ahu,
		 struct async_head_user __user *uahu);
long syslet_release_lent(struct async_head_user __user *uahu);
void syslet_threadlet_resume(struct callback_head *work);

#endif /* _KERNEL_SYSLET_H */
