// SPDX-License-Identifier: GPL-2.0-only
/*
 * The syslet system calls: argument checks and the per-task state. The ABI
 * is documented in include/uapi/linux/syslet.h.
 */
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/eventfd.h>
#include <linux/log2.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/syscalls.h>
#include <linux/syslet.h>
#include <linux/uaccess.h>

#include "syslet.h"

/* Until the struct grows, the smallest valid size is the kernel's. */
static_assert(sizeof(struct async_head_user) == SYSLET_AHU_SIZE_VER0);

/*
 * The eventfd a ring's completions are to signal: one of this process's
 * now, as it must be when the completer looks it up again to post.
 */
static int syslet_eventfd_check(u64 fd)
{
	struct eventfd_ctx *ctx;

	if (!IS_ENABLED(CONFIG_EVENTFD))
		return -EOPNOTSUPP;
	if (fd > INT_MAX)
		return -EBADF;
	ctx = eventfd_ctx_fdget(fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	eventfd_ctx_put(ctx);
	return 0;
}

/*
 * Copy in and check the caller's async_head_user. It grows by size, like
 * clone_args: an older, smaller struct is refused, a newer, larger one is
 * accepted when the bytes this kernel does not know are zero. Read word by
 * word, as the atoms are (see syslet_uatom_get()): this runs on every call.
 */
int syslet_head_read(struct async_head_user *ahu,
		     struct async_head_user __user *uahu)
{
	u64 *words = (u64 *)ahu;
	u64 size, entries;
	int i, ret;

	/* Its counters are updated with locked instructions: no split lock. */
	if (!IS_ALIGNED((unsigned long)uahu, sizeof(u64)))
		return -EINVAL;
	if (get_user(size, &uahu->size))
		return -EFAULT;
	if (size < SYSLET_AHU_SIZE_VER0)
		return -EINVAL;
	if (size > PAGE_SIZE)
		return -E2BIG;
	if (size > sizeof(*ahu)) {
		ret = check_zeroed_user((char __user *)uahu + sizeof(*ahu),
					size - sizeof(*ahu));
		if (ret <= 0)
			return ret ?: -E2BIG;
	}
	if (!user_read_access_begin(uahu, sizeof(*ahu)))
		return -EFAULT;
	for (i = 0; i < sizeof(*ahu) / sizeof(u64); i++)
		unsafe_get_user(words[i], (u64 __user *)uahu + i, efault);
	user_read_access_end();

	if (ahu->flags & ~SYSLET_AHU_VALID_FLAGS)
		return -EINVAL;
	if (!ahu->completion_ring != !ahu->ring_size_bytes)
		return -EINVAL;
	if (ahu->flags & SYSLET_AHU_EVENTFD) {
		ret = ahu->completion_ring ? syslet_eventfd_check(ahu->eventfd)
					   : -EINVAL;
		if (ret)
			return ret;
	} else if (ahu->eventfd) {
		return -EINVAL;
	}
	if (!ahu->completion_ring)
		return 0;

	entries = ahu->ring_size_bytes / sizeof(u64);
	if (ahu->ring_size_bytes % sizeof(u64) || !is_power_of_2(entries))
		return -EINVAL;
	if (!IS_ALIGNED(ahu->completion_ring, sizeof(u64)))
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(ahu->completion_ring),
		       ahu->ring_size_bytes))
		return -EFAULT;
	return 0;
efault:
	user_read_access_end();
	return -EFAULT;
}

/* Count a chain that had a ring and still ran synchronously. */
int syslet_count_sync_chain(struct async_head_user __user *uahu)
{
	u64 __user *counter = &uahu->sync_chains;
	u64 old;

	if (get_user(old, counter))
		return -EFAULT;
	if (!user_access_begin(counter, sizeof(*counter)))
		return -EFAULT;
	while (!unsafe_try_cmpxchg_user(counter, &old, old + 1, efault))
		;
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

struct syslet_task *syslet_task_alloc(void)
{
	struct syslet_task *st = kzalloc(sizeof(*st), GFP_KERNEL_ACCOUNT);

	if (st) {
		init_completion(&st->park);
		INIT_LIST_HEAD(&st->park_node);
		INIT_LIST_HEAD(&st->lent_node);
	}
	return st;
}

void syslet_task_free(struct task_struct *tsk)
{
	struct syslet_task *st = tsk->syslet;

	if (!st)
		return;
	/*
	 * A reservation lasts only as long as the system call that made it,
	 * or the threadlet: one that an execve() ended holds a thread that
	 * de_thread() killed.
	 */
	WARN_ON_ONCE(st->reserved && st->state != SYSLET_THREADLET);
	if (st->reserved)
		put_task_struct(st->reserved);
	if (st->cached)
		put_task_struct(st->cached);
	/* An offer made to a spare that was exiting. */
	if (st->donor)
		put_task_struct(st->donor);
	/* Killed while it finished a moved chain. */
	put_pid(st->caller);
	/* Only after an execve() that killed the leased thread. */
	if (st->lease)
		put_task_struct(st->lease);
	if (st->area.page)
		unpin_user_page(st->area.page);
	kfree(st->lent);
	kfree(st);
	tsk->syslet = NULL;
}

/* Allocated on the first chain, reused after that, freed with the task. */
static struct syslet_task *syslet_task_get(void)
{
	struct syslet_task *st = current->syslet;

	if (likely(st))
		return st;
	st = syslet_task_alloc();
	if (st)
		st->self = current;
	current->syslet = st;
	return st;
}

/*
 * Run the chain at @uatom as async_exec() does, the head @ahu read.
 * @moved_ret is what the caller returns with if the chain goes
 * asynchronous (0, or a batch's count). *@moved tells that it did: current
 * then finished it, took over another caller, and returns that one's value.
 */
static long syslet_exec(struct syslet_task *st, u64 uatom,
			const struct async_head_user *ahu,
			struct async_head_user __user *uahu,
			long moved_ret, bool *moved)
{
	unsigned int end;
	long ret;

	*moved = false;
	ret = syslet_chain_read(&st->chain, uatom);
	if (ret)
		return ret;
	arch_syslet_save_syscall_regs(&st->call_regs, current_pt_regs());
	/*
	 * Only a chain with a ring to complete into may go asynchronous; in
	 * a threadlet it is part of the threadlet, which moves as a whole.
	 */
	if (ahu->completion_ring && syslet_in_threadlet(st)) {
		ret = syslet_count_sync_chain(uahu);
		if (ret)
			return ret;
	} else if (ahu->completion_ring) {
		st->moved_ret = moved_ret;
		ret = syslet_arm(st, ahu, uahu);
		if (ret)
			return ret;
		if (st->state == SYSLET_ARMED &&
		    (st->chain.atoms[0].flags & SYSLET_ASYNC))
			syslet_push(st);
	}
	ret = syslet_chain_run(st, &end);
	*moved = syslet_chain_moved(st);
	return syslet_chain_done(st, ret, end);
}

/*
 * The head at @uahu, read into @ahu and checked, and the task's state, or
 * an ERR_PTR(): what every call that is given a head needs first.
 */
static struct syslet_task *syslet_prepare(struct async_head_user *ahu,
					  struct async_head_user __user *uahu)
{
	struct syslet_task *st;
	int ret = syslet_head_read(ahu, uahu);

	if (ret)
		return ERR_PTR(ret);
	st = syslet_task_get();
	return st ?: ERR_PTR(-ENOMEM);
}

/*
 * What async_exec() and async_exec_batch() need before their chains: the
 * head in @ahu (zeroed, no ring, when @uahu is NULL: nothing more to read)
 * and the task's state, or an ERR_PTR(). @ahu is the callers' stack, left
 * uninitialized: they are the cached path.
 */
static struct syslet_task *syslet_exec_prepare(struct async_head_user *ahu,
					       struct async_head_user __user *uahu)
{
	struct syslet_task *st;

	if (uahu)
		return syslet_prepare(ahu, uahu);
	*ahu = (struct async_head_user){ };
	st = syslet_task_get();
	return st ?: ERR_PTR(-ENOMEM);
}

SYSCALL_DEFINE2(async_exec, struct syslet_uatom __user *, uatom,
		struct async_head_user __user *, uahu)
{
	struct async_head_user ahu __uninitialized;
	struct syslet_task *st;
	bool moved;

	if (!syslet_allowed())
		return -EPERM;
	st = syslet_exec_prepare(&ahu, uahu);
	if (IS_ERR(st))
		return PTR_ERR(st);
	return syslet_exec(st, (unsigned long)uatom, &ahu, uahu, 0, &moved);
}

/* A batch stopped at an error: the count consumed before it, if any. */
static long syslet_batch_stop(unsigned int consumed, long err)
{
	return consumed ? consumed : err;
}

SYSCALL_DEFINE4(async_exec_batch, struct syslet_batch_entry __user *, entries,
		unsigned int, nr, struct async_head_user __user *, uahu,
		unsigned int, flags)
{
	struct async_head_user ahu __uninitialized;
	struct syslet_task *st;
	unsigned int i;
	bool moved;
	long ret;

	if (!syslet_allowed())
		return -EPERM;
	if (flags || nr > SYSLET_MAX_BATCH ||
	    !IS_ALIGNED((unsigned long)entries, sizeof(u64)))
		return -EINVAL;
	if (!nr)
		return 0;
	st = syslet_exec_prepare(&ahu, uahu);
	if (IS_ERR(st))
		return PTR_ERR(st);

	for (i = 0; i < nr; i++) {
		struct syslet_batch_entry __user *entry = &entries[i];
		u64 uatom;

		if (i && signal_pending(current))
			break;
		/*
		 * A chain that moves leaves its result to the caller, who is
		 * elsewhere by the time it could be written: it is 0 already.
		 */
		if (get_user(uatom, &entry->atom) ||
		    (ahu.completion_ring && put_user(0, &entry->result)))
			return syslet_batch_stop(i, -EFAULT);
		ret = syslet_exec(st, uatom, &ahu, uahu, i + 1, &moved);
		if (moved)
			return ret;
		/*
		 * Nothing of the chain ran: refused for want of a spare (the
		 * next would fare no better), or its first atom interrupted,
		 * to restart with the call if it is the first chain.
		 */
		if ((ret == -EAGAIN &&
		     (ahu.flags & SYSLET_AHU_EAGAIN_AT_LIMIT)) ||
		    syslet_is_restart(ret))
			return syslet_batch_stop(i, ret);
		if (put_user(ret, &entry->result))
			return syslet_batch_stop(i, -EFAULT);
	}
	return i;
}

SYSCALL_DEFINE3(async_thread, unsigned long, event,
		struct async_head_user __user *, uahu, unsigned long, flags)
{
	struct async_head_user ahu;
	struct syslet_task *st;
	long ret;

	if (!syslet_allowed())
		return -EPERM;
	if (flags & ~SYSLET_LEND_RELEASE)
		return -EINVAL;
	ret = syslet_head_read(&ahu, uahu);
	if (ret)
		return ret;
	if (flags & SYSLET_LEND_RELEASE)
		return event ? -EINVAL : syslet_release_lent(uahu);
	st = syslet_task_get();
	if (!st)
		return -ENOMEM;
	return syslet_lend(st, event, &ahu, uahu);
}

SYSCALL_DEFINE3(threadlet_on, unsigned long, restore_stack,
		unsigned long, restore_ip,
		struct async_head_user __user *, uahu)
{
	struct async_head_user ahu;
	struct syslet_task *st;

	if (!syslet_allowed())
		return -EPERM;
	st = syslet_prepare(&ahu, uahu);
	if (IS_ERR(st))
		return PTR_ERR(st);
	return syslet_threadlet_on(st, restore_stack, restore_ip, &ahu, uahu);
}

SYSCALL_DEFINE3(threadlet_lease, struct threadlet_area __user *, area,
		struct async_head_user __user *, uahu, unsigned int, flags)
{
	struct async_head_user ahu;
	struct syslet_task *st;

	if ((flags & ~(SYSLET_LEASE_RETURN | SYSLET_LEASE_UNREGISTER)) ||
	    flags == SYSLET_LEASE_UNREGISTER)
		return -EINVAL;
	if (flags) {
		/* Allowed when disabled: what was leased must go back. */
		st = current->syslet;
		if (uahu || !st)
			return -EINVAL;
		return syslet_lease_return(st, area,
					   flags & SYSLET_LEASE_UNREGISTER);
	}
	if (!syslet_allowed())
		return -EPERM;
	st = syslet_prepare(&ahu, uahu);
	if (IS_ERR(st))
		return PTR_ERR(st);
	return syslet_lease(st, area, &ahu, uahu);
}

SYSCALL_DEFINE0(threadlet_off)
{
	struct syslet_task *st = current->syslet;

	/* Allowed when disabled: a threadlet started before must end. */
	if (!st)
		return -EINVAL;
	return syslet_threadlet_off(st);
}
