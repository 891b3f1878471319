// SPDX-License-Identifier: GPL-2.0-only
/*
 * The syslet system calls: argument checks and the per-task state. The ABI
 * is documented in include/uapi/linux/syslet.h.
 */
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

SYSCALL_DEFINE2(async_exec, struct syslet_uatom __user *, uatom,
		struct async_head_user __user *, uahu)
{
	struct async_head_user ahu = { };
	struct syslet_task *st;
	unsigned int end;
	long ret;

	if (!syslet_allowed())
		return -EPERM;
	/* No head: no ring, and nothing more to read. */
	if (uahu) {
		ret = syslet_head_read(&ahu, uahu);
		if (ret)
			return ret;
	}
	st = syslet_task_get();
	if (!st)
		return -ENOMEM;
	ret = syslet_chain_read(&st->chain, (unsigned long)uatom);
	if (ret)
		return ret;
	/*
	 * Only a chain with a ring to complete into may go asynchronous; in
	 * a threadlet it is part of the threadlet, which moves as a whole.
	 */
	if (ahu.completion_ring && syslet_in_threadlet(st)) {
		ret = syslet_count_sync_chain(uahu);
		if (ret)
			return ret;
	} else if (ahu.completion_ring) {
		ret = syslet_arm(st, &ahu, uahu);
		if (ret)
			return ret;
		if (st->state == SYSLET_ARMED &&
		    (st->chain.atoms[0].flags & SYSLET_ASYNC))
			syslet_push(st);
	}
	ret = syslet_chain_run(st, &end);
	return syslet_chain_done(st, ret, end);
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
	long ret;

	if (!syslet_allowed())
		return -EPERM;
	ret = syslet_head_read(&ahu, uahu);
	if (ret)
		return ret;
	st = syslet_task_get();
	if (!st)
		return -ENOMEM;
	return syslet_threadlet_on(st, restore_stack, restore_ip, &ahu, uahu);
}

SYSCALL_DEFINE0(threadlet_off)
{
	struct syslet_task *st = current->syslet;

	/* Allowed when disabled: a threadlet started before must end. */
	if (!st)
		return -EINVAL;
	return syslet_threadlet_off(st);
}
