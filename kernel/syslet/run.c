// SPDX-License-Identifier: GPL-2.0-only
/*
 * Running a validated chain in the caller's context.
 *
 * An atom is a system call made by the caller. It goes through the same
 * entry and exit work as one made from user space: the atom's number and
 * arguments are loaded into the caller's pt_regs, where seccomp, ptrace and
 * audit look for them, syscall_trace_enter() runs, the call is dispatched
 * through the native table, and syscall_exit_work() reports the result.
 * The registers of the async_exec() call itself are put back afterwards,
 * so nothing an atom or a tracer does to them reaches user space.
 *
 * Two parts of the per-syscall work do not apply to atoms: syscall user
 * dispatch selects on the address of the syscall instruction, and an atom
 * has none of its own (the async_exec() call was already dispatched); and
 * the single-step trap at syscall exit reports user instructions, which
 * atoms are not.
 *
 * Audit sees each atom as a system call. The record of the async_exec()
 * call itself is closed, with the value 0 ("chain accepted"), before the
 * first atom opens its own.
 */
#include <linux/audit.h>
#include <linux/entry-common.h>
#include <linux/nospec.h>
#include <linux/sched/signal.h>
#include <linux/syscalls.h>
#include <linux/uaccess.h>
#include <asm/syscall.h>

#include "syslet.h"

#define SYSLET_WORK_IGNORED	(SYSCALL_WORK_SYSCALL_USER_DISPATCH |	\
				 SYSCALL_WORK_SYSCALL_EXIT_TRAP)

static unsigned long syslet_syscall_work(void)
{
	return READ_ONCE(current_thread_info()->syscall_work) &
	       ~SYSLET_WORK_IGNORED;
}

static void syslet_audit_close_outer(struct pt_regs *regs)
{
	if (unlikely(audit_context())) {
		regs->ax = 0;
		audit_syscall_exit(regs);
	}
}

/*
 * An atom has no return to user space of its own, so it cannot be
 * restarted there: an interrupted atom reports -EINTR, as the documented
 * fallback of every -ERESTART* code is.
 */
static long syslet_no_restart(long ret)
{
	switch (ret) {
	case -ERESTART_RESTARTBLOCK:
		current->restart_block.fn = do_no_restart_syscall;
		fallthrough;
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
		return -EINTR;
	default:
		return ret;
	}
}

static long syslet_atom_syscall(struct pt_regs *regs,
				const struct syslet_atom *atom,
				const u64 args[6])
{
	unsigned long work = syslet_syscall_work();
	long nr = atom->nr;

	regs->orig_ax = nr;
	regs->di = args[0];
	regs->si = args[1];
	regs->dx = args[2];
	regs->r10 = args[3];
	regs->r8 = args[4];
	regs->r9 = args[5];
	/* What a skipped or unknown call returns, as on the entry path. */
	regs->ax = __x64_sys_ni_syscall(regs);

	if (work & SYSCALL_WORK_ENTER)
		nr = syscall_trace_enter(regs, nr, work);

	/* -1: ptrace or seccomp skipped the call and set regs->ax. */
	if (nr != -1) {
		if (syslet_nr_refused(nr))
			regs->ax = -EINVAL;
		else if (nr >= 0 && nr < NR_syscalls)
			regs->ax = x64_sys_call(regs,
						array_index_nospec(nr, NR_syscalls));
	}
	regs->ax = syslet_no_restart(regs->ax);

	work = syslet_syscall_work();
	if (work & SYSCALL_WORK_EXIT)
		syscall_exit_work(regs, work);

	return regs->ax;
}

static long syslet_atom_run(struct pt_regs *regs,
			    const struct syslet_atom *atom)
{
	u64 args[6] = { };
	int i;

	/* Read now, not at submission: an earlier atom may have fed them. */
	for (i = 0; i < ARRAY_SIZE(args); i++) {
		if (atom->arg_ptr[i] &&
		    get_user(args[i], (u64 __user *)u64_to_user_ptr(atom->arg_ptr[i])))
			return -EFAULT;
	}
	return syslet_atom_syscall(regs, atom, args);
}

static bool syslet_atom_stops(const struct syslet_atom *atom, long ret)
{
	return ((atom->flags & SYSLET_STOP_ON_NONZERO) && ret != 0) ||
	       ((atom->flags & SYSLET_STOP_ON_ZERO) && ret == 0) ||
	       ((atom->flags & SYSLET_STOP_ON_NEGATIVE) && ret < 0) ||
	       ((atom->flags & SYSLET_STOP_ON_NON_POSITIVE) && ret <= 0);
}

/**
 * syslet_chain_run - run a validated chain in the caller's context
 * @chain: the chain, as syslet_chain_read() left it
 *
 * Return: the user address of the last atom that ran, or -EFAULT if an
 * atom's result could not be stored through its ret_ptr (the chain ends at
 * that atom; the atoms before it have run).
 */
long syslet_chain_run(const struct syslet_chain *chain)
{
	struct pt_regs *regs = current_pt_regs();
	struct pt_regs saved = *regs;
	const struct syslet_atom *atom;
	unsigned int idx = 0;
	long ret;

	syslet_audit_close_outer(regs);

	for (;;) {
		atom = &chain->atoms[idx];
		ret = syslet_atom_run(regs, atom);

		if (atom->ret_ptr &&
		    put_user(ret, (s64 __user *)u64_to_user_ptr(atom->ret_ptr))) {
			ret = -EFAULT;
			break;
		}

		if (!syslet_atom_stops(atom, ret))
			idx = atom->next;
		else if (atom->flags & SYSLET_SKIP_TO_NEXT_ON_STOP)
			idx = atom->skip;
		else
			idx = SYSLET_ATOM_NONE;

		ret = atom->uaddr;
		if (idx == SYSLET_ATOM_NONE || fatal_signal_pending(current))
			break;
		cond_resched();
	}

	*regs = saved;
	return ret;
}
