// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading and validating an atom chain.
 *
 * A chain is read in once, up front, before any atom runs: every atom that
 * can be reached from the first one through next and through the skip
 * branches (atom + 1) is copied and checked, then the graph is checked for
 * cycles. Anything wrong refuses the whole chain, so a refused chain has run
 * nothing and written nothing. Only the values behind ret_ptr and arg_ptr
 * are touched while the chain runs.
 */
#include <linux/close_range.h>
#include <linux/errno.h>
#include <linux/hash.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <uapi/linux/futex.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

#include "syslet.h"

/*
 * The calls atoms may not make: the one place that says which, read into
 * a bitmap at boot so that checking an atom is one bit test. The table in
 * include/uapi/linux/syslet.h gives the reason for each.
 */
static const unsigned short syslet_refused_nrs[] __initconst = {
	/* Need a user-space return context, or replace the caller. */
	__NR_fork,
	__NR_vfork,
	__NR_clone,
	__NR_clone3,
	__NR_execve,
	__NR_execveat,
	__NR_exit,
	__NR_exit_group,
	__NR_rt_sigreturn,
	__NR_restart_syscall,
	__NR_uretprobe,
	/* No nesting. */
	__NR_async_exec,
	__NR_async_exec_batch,
	__NR_async_wait,
	__NR_async_thread,
	__NR_threadlet_on,
	__NR_threadlet_off,
	__NR_threadlet_lease,
	/* Signal state of the calling thread. */
	__NR_rt_sigprocmask,
	__NR_rt_sigsuspend,
	__NR_pause,
	__NR_sigaltstack,
	__NR_ppoll,
	__NR_pselect6,
	__NR_epoll_pwait,
	__NR_epoll_pwait2,
	__NR_io_pgetevents,
	__NR_rt_sigtimedwait,
	/* Registrations that follow the caller's TID and TLS. */
	__NR_set_robust_list,
	__NR_set_tid_address,
	__NR_rseq,
	__NR_arch_prctl,
	__NR_set_thread_area,
	/* Other per-thread state of the caller. */
	__NR_prctl,
	__NR_seccomp,
	__NR_personality,
	__NR_unshare,
	__NR_setns,
	__NR_iopl,
	__NR_ioperm,
	__NR_set_mempolicy,
	__NR_landlock_restrict_self,
	__NR_lsm_set_self_attr,
	/* Credentials. */
	__NR_setuid,
	__NR_setgid,
	__NR_setreuid,
	__NR_setregid,
	__NR_setresuid,
	__NR_setresgid,
	__NR_setfsuid,
	__NR_setfsgid,
	__NR_setgroups,
	__NR_capset,
	/* May act on the calling thread itself. */
	__NR_sched_setaffinity,
	__NR_sched_setscheduler,
	__NR_sched_setparam,
	__NR_sched_setattr,
	__NR_setpriority,
	__NR_ioprio_set,
	__NR_perf_event_open,
	/* Per-task submitter state; io_uring_enter may also set a mask. */
	__NR_io_uring_setup,
	__NR_io_uring_enter,
	__NR_io_uring_register,
	/* Keyrings: may create a thread keyring, committing new creds. */
	__NR_add_key,
	__NR_request_key,
	__NR_keyctl,
	/* The caller's PKRU register. */
	__NR_pkey_alloc,
	/* PTRACE_TRACEME acts on the caller; a tracer is tied to a task. */
	__NR_ptrace,
};

static DECLARE_BITMAP(syslet_refused, NR_syscalls) __ro_after_init;

static int __init syslet_refused_init(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(syslet_refused_nrs); i++)
		__set_bit(syslet_refused_nrs[i], syslet_refused);
	return 0;
}
early_initcall(syslet_refused_init);

/**
 * syslet_nr_refused - may this system call not be an atom?
 * @nr: system call number
 *
 * Checked when the chain is read and again after the syscall-entry work,
 * where a tracer or a seccomp RET_TRACE may have changed the number
 * (syslet_call_refused()). A number past the table is not refused: it is
 * -ENOSYS when the atom runs.
 */
static __always_inline bool syslet_nr_refused(unsigned long nr)
{
	return nr < NR_syscalls && test_bit(nr, syslet_refused);
}

static bool syslet_futex_op_is_pi(unsigned long op)
{
	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
	case FUTEX_TRYLOCK_PI:
	case FUTEX_UNLOCK_PI:
	case FUTEX_WAIT_REQUEUE_PI:
	case FUTEX_CMP_REQUEUE_PI:
		return true;
	default:
		return false;
	}
}

/**
 * syslet_args_refused - may this call not be an atom with these arguments?
 * @nr:		system call number, close_range or futex
 * @regs:	the registers the call will see
 *
 * Some calls are refused only for some arguments: close_range()
 * unsharing the file table, and PI futex operations in a chain that may
 * move. Arguments are read when the atom runs, so this is checked then,
 * and refuses with the atom's result -EINVAL. Called through
 * syslet_args_refused() in syslet.h, which passes only those two calls.
 */
bool __syslet_args_refused(unsigned long nr, struct pt_regs *regs)
{
	unsigned long args[6];

	syscall_get_arguments(current, regs, args);
	if (nr == __NR_close_range)
		/* Gives the calling thread a file table of its own. */
		return args[2] & CLOSE_RANGE_UNSHARE;
	/*
	 * A PI futex names its owner by TID, and the later atoms of a chain
	 * that may move run under another TID than the caller's: a lock taken
	 * there would pass silently to the caller, or be owned by nobody.
	 */
	return current->syslet->state != SYSLET_IDLE &&
	       syslet_futex_op_is_pi(args[1]);
}

/*
 * After the syscall-entry work, where a tracer or a seccomp RET_TRACE may
 * have changed the number: syslet_nr_refused() again, and the arguments.
 */
bool syslet_call_refused(unsigned long nr, struct pt_regs *regs)
{
	return syslet_nr_refused(nr) || syslet_args_refused(nr, regs);
}

/*
 * A result the chain will store at run time must go to writable memory,
 * and checking must change nothing: no fault is taken, so no copy-on-write
 * is broken, no shared page is dirtied and no userfaultfd handler is
 * woken. The mapping is asked instead: one lookup under mmap_lock per
 * mapping the results lie in (usually one: a stack or an array). The
 * mapping found is kept for the next chain, which needs no lookup while
 * no writer has taken mmap_lock meanwhile, for a second at most (2^31
 * writers would wrap the count around): an event loop submits chain
 * after chain with its results in the same place. A mapping that changes
 * before the store makes the store fail with -EFAULT, as documented in
 * the UAPI, exactly as when it changes after a lookup. Only VM_WRITE is
 * asked: a protection key that the thread's PKRU denies is found at the
 * store, as it was before the cache.
 */
static bool syslet_writable_current(const struct syslet_writable *w)
{
	return w->exec_id == current->self_exec_id &&
	       time_before(jiffies, w->expires) &&
	       !mmap_lock_speculate_retry(current->mm, w->mm_seq);
}

/* With mmap_lock held: is @uptr in a writable mapping? Keep it if so. */
static bool syslet_writable_lookup(struct syslet_writable *w, u64 uptr)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma = vma_lookup(mm, uptr);

	/* A shadow stack is VM_WRITE, but only to the CPU's shadow stores. */
	if (!vma || (vma->vm_flags & (VM_WRITE | VM_SHADOW_STACK)) != VM_WRITE)
		return false;
	w->start = vma->vm_start;
	w->end = vma->vm_end;
	w->exec_id = current->self_exec_id;
	w->expires = jiffies + HZ;
	/*
	 * Fails only without per-VMA locks: then it is kept for this chain.
	 * Otherwise the count is compared at the next chain; the retry, which
	 * cannot fail under mmap_lock, ends the read section KCSAN opened.
	 */
	if (!mmap_lock_speculate_try_begin(mm, &w->mm_seq))
		w->exec_id = ~w->exec_id;
	else
		WARN_ON_ONCE(mmap_lock_speculate_retry(mm, w->mm_seq));
	return true;
}

static int syslet_chain_probe_rets(struct syslet_chain *chain)
{
	struct syslet_writable *w = &chain->writable;
	struct mm_struct *mm = current->mm;
	bool locked = false;
	unsigned int i;
	int ret = 0;

	if (!syslet_writable_current(w))
		*w = (struct syslet_writable){ };
	for (i = 0; i < chain->nr_atoms; i++) {
		u64 uptr = chain->atoms[i].ret_ptr;

		if (!uptr || (uptr >= w->start && uptr < w->end))
			continue;
		if (!access_ok(u64_to_user_ptr(uptr), sizeof(u64))) {
			ret = -EFAULT;
			break;
		}
		if (!locked) {
			if (mmap_read_lock_killable(mm))
				return -EINTR;
			locked = true;
		}
		if (!syslet_writable_lookup(w, uptr)) {
			ret = -EFAULT;
			break;
		}
	}
	if (locked)
		mmap_read_unlock(mm);
	return ret;
}

static int syslet_atom_check(const struct syslet_uatom *ua,
			     const u64 arg_ptr[6], bool args_fault)
{
	int i;

	if (ua->reserved || (ua->flags & ~SYSLET_VALID_FLAGS))
		return -EINVAL;
	if ((ua->flags & SYSLET_ASYNC) && (ua->flags & SYSLET_SYNC))
		return -EINVAL;
	if ((ua->flags & SYSLET_SKIP_TO_NEXT_ON_STOP) &&
	    !(ua->flags & SYSLET_STOP_MASK))
		return -EINVAL;
	if (ua->nr > INT_MAX || syslet_nr_refused(ua->nr))
		return -EINVAL;
	/*
	 * A value that straddles a cache line would make a locked access to
	 * it a split lock, which raises #AC in the kernel on CPUs that
	 * detect them; an aligned one also never spans two mappings.
	 */
	if (!IS_ALIGNED(ua->ret_ptr, sizeof(u64)))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(ua->arg_ptr); i++) {
		if (!IS_ALIGNED(arg_ptr[i], sizeof(u64)))
			return -EINVAL;
	}
	/* An argument the chain will read at run time must be readable now. */
	return args_fault ? -EFAULT : 0;
}

/*
 * Return the index of the atom at @uaddr, queueing it to be read if it has
 * not been seen yet. A chain only grows here, which is where its length is
 * bounded.
 */
static __always_inline int syslet_atom_index(struct syslet_chain *chain,
					     u64 uaddr)
{
	u64 bit = BIT_ULL(hash_64(uaddr, 6));
	unsigned int i;

	if (chain->seen & bit) {
		for (i = 0; i < chain->nr_atoms; i++) {
			if (chain->atoms[i].uaddr == uaddr) {
				chain->merges = true;
				return i;
			}
		}
	}
	if (chain->nr_atoms == SYSLET_MAX_ATOMS)
		return -E2BIG;
	chain->seen |= bit;
	chain->atoms[chain->nr_atoms].uaddr = uaddr;
	return chain->nr_atoms++;
}

/*
 * Word by word, private left out: measured with make bench under TCG, a
 * chain of 16 getppid atoms cost 528 ns per atom this way and 712 with
 * copy_from_user() of whole atoms. The argument pointers go straight to
 * @arg_ptr, the kernel's atom, rather than through a copy. Each argument
 * is read once too, in the same user access region (each region is a
 * stac/clac pair): *@args_fault says whether one could not be, for
 * syslet_atom_check() to report after the errors it finds first.
 */
static int syslet_uatom_get(struct syslet_uatom *ua, u64 arg_ptr[6],
			    u64 uaddr, bool *args_fault)
{
	const struct syslet_uatom __user *u = u64_to_user_ptr(uaddr);
	u64 vals[6] __uninitialized;
	int i;

	if (!user_read_access_begin(u, sizeof(*u)))
		return -EFAULT;
	unsafe_get_user(ua->flags, &u->flags, efault);
	unsafe_get_user(ua->nr, &u->nr, efault);
	unsafe_get_user(ua->ret_ptr, &u->ret_ptr, efault);
	unsafe_get_user(ua->next, &u->next, efault);
	for (i = 0; i < ARRAY_SIZE(u->arg_ptr); i++)
		unsafe_get_user(arg_ptr[i], &u->arg_ptr[i], efault);
	unsafe_get_user(ua->reserved, &u->reserved, efault);
	*args_fault = syslet_args_get_unsafe(arg_ptr, vals) != 0;
	user_read_access_end();
	return 0;
efault:
	user_read_access_end();
	return -EFAULT;
}

static int syslet_atom_read(struct syslet_chain *chain, unsigned int idx)
{
	struct syslet_atom *atom = &chain->atoms[idx];
	/* Filled by syslet_uatom_get(), its arg_ptr[] left out (above). */
	struct syslet_uatom ua __uninitialized;
	bool args_fault;
	int ret;

	ret = syslet_uatom_get(&ua, atom->arg_ptr, atom->uaddr, &args_fault);
	if (ret)
		return ret;
	ret = syslet_atom_check(&ua, atom->arg_ptr, args_fault);
	if (ret)
		return ret;

	atom->ret_ptr = ua.ret_ptr;
	atom->nr = ua.nr;
	atom->flags = ua.flags;
	atom->next = SYSLET_ATOM_NONE;
	atom->skip = SYSLET_ATOM_NONE;

	if (ua.next) {
		ret = syslet_atom_index(chain, ua.next);
		if (ret < 0)
			return ret;
		atom->next = ret;
	}
	if (ua.flags & SYSLET_SKIP_TO_NEXT_ON_STOP) {
		ret = syslet_atom_index(chain, atom->uaddr + sizeof(ua));
		if (ret < 0)
			return ret;
		atom->skip = ret;
	}
	return 0;
}

/*
 * The kernel is not an interpreter of loops: a chain must be a DAG. Kahn's
 * algorithm removes atoms nobody else leads to; atoms left over sit on a
 * cycle.
 */
static int syslet_chain_check_acyclic(const struct syslet_chain *chain)
{
	u8 indegree[SYSLET_MAX_ATOMS] = { };
	u8 queue[SYSLET_MAX_ATOMS];
	unsigned int head = 0, tail = 0, i;

	for (i = 0; i < chain->nr_atoms; i++) {
		if (chain->atoms[i].next != SYSLET_ATOM_NONE)
			indegree[chain->atoms[i].next]++;
		if (chain->atoms[i].skip != SYSLET_ATOM_NONE)
			indegree[chain->atoms[i].skip]++;
	}
	for (i = 0; i < chain->nr_atoms; i++) {
		if (!indegree[i])
			queue[tail++] = i;
	}
	while (head < tail) {
		const struct syslet_atom *atom = &chain->atoms[queue[head++]];

		if (atom->next != SYSLET_ATOM_NONE && !--indegree[atom->next])
			queue[tail++] = atom->next;
		if (atom->skip != SYSLET_ATOM_NONE && !--indegree[atom->skip])
			queue[tail++] = atom->skip;
	}
	return tail == chain->nr_atoms ? 0 : -ELOOP;
}

/**
 * syslet_chain_read - copy in and validate the chain that starts at @uaddr
 * @chain:	where the validated chain goes
 * @uaddr:	user address of the first atom
 *
 * Return: 0, or the errno that refuses the chain: -EFAULT for an atom or a
 * ret_ptr/arg_ptr that cannot be read, -EINVAL for a bad atom, -E2BIG for
 * more than SYSLET_MAX_ATOMS atoms, -ELOOP for a cycle.
 */
int syslet_chain_read(struct syslet_chain *chain, u64 uaddr)
{
	unsigned int idx;
	int ret;

	/* 0 ends a chain, and async_exec() returning 0 means "asynchronous". */
	if (!uaddr)
		return -EFAULT;
	chain->nr_atoms = 0;
	chain->seen = 0;
	chain->merges = false;
	ret = syslet_atom_index(chain, uaddr);
	/* Atoms are read breadth first; reading may queue more of them. */
	for (idx = 0; !ret && idx < chain->nr_atoms; idx++)
		ret = syslet_atom_read(chain, idx);
	if (ret)
		return ret;
	/* Every atom reached once: a tree, which has no cycle. */
	if (chain->merges) {
		ret = syslet_chain_check_acyclic(chain);
		if (ret)
			return ret;
	}
	return syslet_chain_probe_rets(chain);
}
