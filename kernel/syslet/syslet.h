/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KERNEL_SYSLET_H
#define _KERNEL_SYSLET_H

#include <linux/completion.h>
#include <linux/list.h>
#include <linux/sched/signal.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <asm/ptrace.h>
#include <asm/unistd.h>
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
 * struct syslet_writable - a mapping the task found writable, and when
 * @start:	its first address
 * @end:	the address past it; @start == @end: none
 * @exec_id:	the task's self_exec_id then, which names the mm
 * @expires:	jiffies after which it is looked up again, so that @mm_seq
 *		cannot have wrapped around to the same value meanwhile
 * @mm_seq:	the mm's mmap_lock sequence then: while no writer has taken
 *		mmap_lock since, the mapping is still there and writable
 */
struct syslet_writable {
	unsigned long	start;
	unsigned long	end;
	u64		exec_id;
	unsigned long	expires;
	unsigned int	mm_seq;
};

/**
 * struct syslet_chain - a chain read in and validated by syslet_chain_read()
 * @nr_atoms:	atoms in @atoms; atoms[0] is the one async_exec() was given
 * @seen:	one bit per hash of every uaddr in @atoms, so that looking up
 *		an atom not read yet rarely has to scan them
 * @merges:	an atom was reached a second time: the chain is not a tree,
 *		and may have a cycle
 * @writable:	the mapping the last ret_ptr checked lay in, kept from one
 *		chain to the next
 * @atoms:	the atoms, in the order they were discovered
 */
struct syslet_chain {
	unsigned int		nr_atoms;
	u64			seen;
	bool			merges;
	struct syslet_writable	writable;
	struct syslet_atom	atoms[SYSLET_MAX_ATOMS];
};

/*
 * What a task runs that may move. Only the task itself changes it; how far
 * the move has come is syslet_task::handoff.
 */
enum syslet_state {
	SYSLET_IDLE,	/* no chain, or one that runs synchronously to its end */
	SYSLET_ARMED,	/* a chain that moves to the reserved spare if it blocks */
	SYSLET_THREADLET,	/* a threadlet that moves to a lent thread */
	SYSLET_WAITING,	/* in async_wait(): a chain's finisher may take it */
};

/*
 * The handoff of an armed task, in the low bits of syslet_task::handoff.
 * The task itself (the donor) enters ARMED, OFFERED and the end states;
 * its spare leaves OFFERED, once, by a cmpxchg under siglock, for CLAIMED
 * or REFUSED, and the donor's cancel competes with that cmpxchg:
 *
 *   ARMED -> OFFERED	the donor is inside schedule(), about to sleep
 *			(syslet_sched_sleeping()), and has woken the spare
 *   OFFERED -> ARMED	it runs again before the spare claimed the caller
 *			(syslet_sched_running()): no handoff, no harm
 *   OFFERED -> CLAIMED	the spare won: it swaps identities and copies the
 *			caller's user state, non-preemptible, then
 *   CLAIMED -> MOVED	the caller goes on in the spare
 *   OFFERED -> REFUSED	the spare found the caller cannot move (it is
 *			traced, owns PI waiters, or no longer fits the
 *			spare): the chain finishes synchronously
 *
 * Every offer adds SYSLET_HO_SEQ, so a spare that still acts on an offer
 * already withdrawn, perhaps followed by another, cannot claim with it.
 */
enum syslet_handoff {
	SYSLET_HO_ARMED,
	SYSLET_HO_OFFERED,
	SYSLET_HO_CLAIMED,
	SYSLET_HO_MOVED,
	SYSLET_HO_REFUSED,
};

#define SYSLET_HO_STATE_MASK	7
#define SYSLET_HO_SEQ		8

static inline enum syslet_handoff syslet_ho_state(int handoff)
{
	return handoff & SYSLET_HO_STATE_MASK;
}

static inline int syslet_ho_with(int handoff, enum syslet_handoff state)
{
	return (handoff & ~SYSLET_HO_STATE_MASK) | state;
}

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
 * struct syslet_area - a thread's registered struct threadlet_area (lease.c)
 * @uaddr:	its user address, NULL when none is registered
 * @kaddr:	the same bytes through the kernel's mapping of @page, which
 *		the sched hook reads without a fault
 * @page:	the page it lies in, pinned while it is registered
 * @exec_id:	self_exec_id at registration: an execve() ends it
 *
 * Part of the thread's identity: it moves with the TID.
 */
struct syslet_area {
	struct threadlet_area __user	*uaddr;
	struct threadlet_area		*kaddr;
	struct page			*page;
	u64				exec_id;
};

/**
 * struct syslet_restore - where a threadlet's caller goes on if it moves
 * @ip:		instruction pointer
 * @sp:		stack pointer
 * @tls:	the caller's fs base
 */
struct syslet_restore {
	unsigned long	ip;
	unsigned long	sp;
	unsigned long	tls;
};

/**
 * struct syslet_task - per-task syslet state, behind task_struct::syslet
 * @chain:	buffer for the chain being run, allocated on first use so the
 *		cached path allocates nothing
 * @state:	enum syslet_state
 * @reserved:	the spare this task holds while it runs a chain that may go
 *		asynchronous, with a reference
 * @cached:	the spare it keeps between chains, with a reference, so that
 *		the next chain reserves it without a lock; it follows the
 *		caller, as part of its identity. Taken with an xchg by its
 *		task, or under siglock by a thread at its limit of spares;
 *		set by its task, or by a claim under siglock
 * @handoff:	(armed) enum syslet_handoff, and the offer count above it
 * @pushing:	(armed) SYSLET_ASYNC: the task sleeps until its spare has
 *		claimed the caller or refused, and is woken then
 * @head_regs:	(armed, threadlet) the user registers the caller returns
 *		with; for a chain, the claim builds them from the task's
 *		and @call_regs, so that a chain that does not block copies
 *		none
 * @call_regs:	the syscall registers of the async_exec() call, which the
 *		atoms borrow: saved before the chain may move, put back
 *		when it ends
 * @moved_ret:	(armed) and the value, if not 0 (a batch's count)
 * @ret_work:	sets that value on the way out to user space, in the task
 *		that took the caller over
 * @head_tls:	(threadlet) the caller's TLS base: the task runs on the
 *		lent thread's
 * @uahu:	(armed) the caller's struct async_head_user
 * @ring:	(armed) its completion ring
 * @ring_mask:	(armed) the ring's entry count less one
 * @eventfd:	(armed) the descriptor its completions signal, or -1
 * @park:	(spares, lent threads) what a parked task sleeps on
 * @self:	the task this state belongs to
 * @kernel_only: runs no user code of its own: a spare, or a task finishing
 *		a chain whose caller went on in a spare
 * @exited:	past synchronize_group_exit(), never to be parked or lent
 * @park_node:	(spares) entry in syslet_group::parked while parked
 * @donor:	(spares) the blocked task whose caller this spare is to take
 *		over, with a reference; set by that task's sched hook
 * @caller:	(armed, moved) the TID its caller went on with, with a
 *		reference: whose credentials the chain's later atoms take
 *		(run.c). Set by the claim, before the chain runs on
 * @in_chain:	atoms run: an async_wait() now is an atom, not the caller's
 * @exec_id:	(threadlet) self_exec_id when it started: an execve() ends it
 * @lent:	lent for threadlets (threadlet.c), or NULL
 * @lent_node:	(lent, parked) entry in syslet_group::lent
 * @released:	(lent) async_thread() was asked to return, parked or on
 *		lease; it moves with @lent
 * @area:	the registered struct threadlet_area, if any
 * @lease:	the thread lent for threadlets that this one holds on lease
 *		(lease.c), with a reference; it moves with @area
 * @revoke_work: gives @lease back on the way out, once it is released
 * @revoking:	@revoke_work is queued
 * @threadlet_tid: (threadlet) the TID of @reserved, the lent thread its
 *		threadlet runs on, in this thread's PID namespace
 * @lease_tid:	the TID of @lease, likewise; it moves with @lease
 *
 * @kernel_only, @exited, @park_node, @reserved (while offered), @released,
 * @area, @lease and @revoking are changed under the group's siglock; the
 * parked list holds no references, as a spare unlinks itself when it
 * exits.
 */
struct syslet_task {
	struct syslet_chain		chain;
	enum syslet_state		state;
	struct task_struct		*reserved;
	struct task_struct		*cached;
	atomic_t			handoff;
	bool				pushing;
	struct pt_regs			head_regs;
	struct syslet_syscall_regs	call_regs;
	long				moved_ret;
	struct callback_head		ret_work;
	unsigned long			head_tls;
	struct async_head_user __user	*uahu;
	u64 __user			*ring;
	u64				ring_mask;
	int				eventfd;
	struct completion		park;
	struct task_struct		*self;
	bool				kernel_only;
	bool				exited;
	struct list_head		park_node;
	struct task_struct		*donor;
	struct pid			*caller;
	bool				in_chain;
	u64				exec_id;
	struct syslet_lent		*lent;
	struct list_head		lent_node;
	bool				released;
	struct syslet_area		area;
	struct task_struct		*lease;
	struct callback_head		revoke_work;
	bool				revoking;
	pid_t				threadlet_tid;
	pid_t				lease_tid;
};

/**
 * struct syslet_group - per-process state, behind signal_struct::syslet
 * @parked:	spares waiting to be reserved
 * @lent:	threads lent for threadlets, waiting to be borrowed
 * @nr_kernel_only: threads that run no user code of their own, spares
 *		and tasks finishing a moved chain; a group whose other threads
 *		have all exited ends while these remain
 * @ring_wait:	async_wait() callers, and completers that found a ring
 *		full, each with what it waits for (ring.c)
 *
 * @parked, @lent and @nr_kernel_only are protected by the group's siglock.
 */
struct syslet_group {
	struct list_head	parked;
	struct list_head	lent;
	unsigned int		nr_kernel_only;
	wait_queue_head_t	ring_wait;
};

bool syslet_call_refused(unsigned long nr, struct pt_regs *regs);
bool __syslet_args_refused(unsigned long nr, struct pt_regs *regs);

/* Only two calls are refused for their arguments: the rest pay a compare. */
static inline bool syslet_args_refused(unsigned long nr, struct pt_regs *regs)
{
	return (nr == __NR_close_range || nr == __NR_futex) &&
	       __syslet_args_refused(nr, regs);
}

/*
 * Read what the non-zero @ptrs point to into @vals, and 0 for the others,
 * inside a user access region the caller has open: 0, or -EFAULT. The
 * chain reader probes the arguments with it, the runner reads them.
 */
static __always_inline int syslet_args_get_unsafe(const u64 ptrs[6],
						  u64 vals[6])
{
	int i;

	for (i = 0; i < 6; i++) {
		u64 __user *arg = u64_to_user_ptr(ptrs[i]);

		if (!arg) {
			vals[i] = 0;
			continue;
		}
		if (!access_ok(arg, sizeof(*arg)))
			return -EFAULT;
		unsafe_get_user(vals[i], arg, efault);
	}
	return 0;
efault:
	return -EFAULT;
}

/* The kernel's internal restart codes: the call did not run, and restarts. */
static inline bool syslet_is_restart(long ret)
{
	return ret == -ERESTARTSYS || ret == -ERESTARTNOINTR ||
	       ret == -ERESTARTNOHAND || ret == -ERESTART_RESTARTBLOCK;
}

int syslet_chain_read(struct syslet_chain *chain, u64 uaddr);
long syslet_chain_run(struct syslet_task *st, unsigned int *end);
bool syslet_allowed(void);
unsigned long syslet_max_spares(void);
void syslet_count_lost_completion(void);

int syslet_head_read(struct async_head_user *ahu,
		     struct async_head_user __user *uahu);

/* The eventfd a ring's completions signal, checked when read; or -1. */
static inline int syslet_head_eventfd(const struct async_head_user *ahu)
{
	return ahu->flags & SYSLET_AHU_EVENTFD ? (int)ahu->eventfd : -1;
}

struct syslet_task *syslet_task_alloc(void);
struct syslet_group *syslet_group_get(void);
void syslet_spare_reserve(struct syslet_task *st);
void syslet_spare_release(struct syslet_task *st);
void syslet_spare_keep(struct syslet_task *st);
void syslet_park(struct syslet_task *st);
void syslet_unpark(struct task_struct *p);
void syslet_retire(struct syslet_task *st);

int syslet_arm(struct syslet_task *st, const struct async_head_user *ahu,
	       struct async_head_user __user *uahu);
void syslet_rearm(struct syslet_task *st);
void syslet_arm_handoff(struct syslet_task *st);
void syslet_push(struct syslet_task *st);
long syslet_chain_done(struct syslet_task *st, long ret, unsigned int end);
bool syslet_take_over(struct syslet_task *st);
enum syslet_handoff syslet_claim(struct task_struct *donor, int offer);
void syslet_give_back_tgid(struct task_struct *tsk);

/* What @st ran went on without its caller, who is in another task. */
static inline bool syslet_handoff_moved(const struct syslet_task *st)
{
	return syslet_ho_state(atomic_read(&st->handoff)) == SYSLET_HO_MOVED;
}

/* The chain @st runs went on without its caller, who is in the spare. */
static inline bool syslet_chain_moved(const struct syslet_task *st)
{
	return st->state == SYSLET_ARMED && syslet_handoff_moved(st);
}

/* @t holds the TGID's TID: it is the main thread's caller, leader or not. */
static inline bool syslet_holds_tgid(struct task_struct *t)
{
	return task_pid(t) == task_tgid(t);
}

/* The leader, as a spare, serves only the main thread's caller. */
static inline bool syslet_spare_serves(struct task_struct *spare,
				       struct task_struct *tsk)
{
	return !thread_group_leader(spare) || syslet_holds_tgid(tsk);
}

/**
 * struct syslet_waiter_ref - an async_wait() caller a posting could wake
 * @task:	the task asleep in async_wait(), with a reference; NULL if the
 *		posting woke nobody it could take the caller back from
 * @offer:	the offer of @task's caller that the posting found
 * @ret:	what async_wait() returns to that caller
 */
struct syslet_waiter_ref {
	struct task_struct	*task;
	int			offer;
	long			ret;
};

int syslet_ring_post(struct syslet_task *st, u64 value,
		     struct syslet_waiter_ref *waiter);
bool syslet_take_back(struct syslet_waiter_ref *waiter);
void syslet_spare_park(struct syslet_group *group, struct task_struct *p);
void syslet_drop_own_signals(void);
void syslet_worker_signals(void);
void syslet_get_signal(void);

bool syslet_spare_fits(struct task_struct *spare, struct task_struct *tsk);
bool syslet_may_move(struct task_struct *tsk);
bool syslet_owns_pi_waiters(struct task_struct *tsk);
int syslet_count_sync_chain(struct async_head_user __user *uahu);
bool syslet_in_threadlet(struct syslet_task *st);
void syslet_forget_old_program(struct syslet_task *st);
long syslet_threadlet_on(struct syslet_task *st, unsigned long restore_stack,
			 unsigned long restore_ip,
			 const struct async_head_user *ahu,
			 struct async_head_user __user *uahu);
long syslet_threadlet_off(struct syslet_task *st);
long syslet_lend(struct syslet_task *st, u64 event,
		 const struct async_head_user *ahu,
		 struct async_head_user __user *uahu);
long syslet_release_lent(struct async_head_user __user *uahu);
struct task_struct *syslet_borrow(struct async_head_user __user *uahu,
				  struct task_struct **into);

bool syslet_lease_active(struct task_struct *tsk);
bool syslet_lease_restore_point(struct task_struct *donor,
				struct syslet_restore *at);
void syslet_chain_take_caller(struct task_struct *donor);
void syslet_lease_take_caller(struct task_struct *donor,
			      const struct syslet_restore *at);
void syslet_lease_spoil(struct syslet_task *st);
void syslet_lease_moved(struct syslet_task *st, struct syslet_task *dst);
void syslet_lease_revoke(struct task_struct *lessee);
void syslet_lease_give_back(struct syslet_task *st);
void syslet_lease_forget(struct syslet_task *st);
void syslet_disarm(struct syslet_task *st);
long syslet_lease(struct syslet_task *st, struct threadlet_area __user *uarea,
		  const struct async_head_user *ahu,
		  struct async_head_user __user *uahu);
long syslet_lease_return(struct syslet_task *st,
			 struct threadlet_area __user *uarea, bool unregister);

/*
 * The spare or lent thread @st offers its caller to when it blocks: a
 * chain's or a threadlet's reservation, or, between them, its lease.
 */
static inline struct task_struct *syslet_offered_to(struct syslet_task *st)
{
	return st->state == SYSLET_IDLE ? READ_ONCE(st->lease) :
					  READ_ONCE(st->reserved);
}

#endif /* _KERNEL_SYSLET_H */
