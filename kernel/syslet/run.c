// SPDX-License-Identifier: GPL-2.0-only
/*
 * Running a validated chain in the caller's context.
 *
 * An atom is a system call made by the caller. It goes through the same
 * entry and exit work as one made from user space: the atom's number and
 * arguments are loaded into the syscall registers of the caller's pt_regs,
 * where seccomp, ptrace and audit look for them, syscall_trace_enter() runs,
 * the call is dispatched through the native table, and the exit half of
 * that work (audit, the sys_exit tracepoint, ptrace) reports the result.
 * The syscall registers of the async_exec() call are put back afterwards
 * (user space expects the argument registers to survive a system call).
 * A tracer that changes other registers at an atom's stop changes them
 * for the task, as at any ptrace stop.
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
 *
 * Between atoms the task does what a return to user space would do first:
 * it runs its task_work (so a close() atom has released the file before the
 * next atom runs), and a pending signal ends the chain so that it can be
 * delivered. An atom interrupted before it could do anything (an -ERESTART*
 * code) has not run: the chain ends before it, and if it was the first
 * atom, async_exec() returns the restart code itself, so the signal code
 * restarts or fails the whole call exactly as it would a direct call.
 *
 * A task whose chain went asynchronous (see handoff.c) has no caller to
 * return a signal to: it blocks every signal but SIGKILL and SIGSTOP. For
 * it, an interrupted atom means a stop, a freeze or a tracer's attach:
 * it lets get_signal() act on that and runs the atom again, the way the
 * signal code restarts a system call (restart_block included), and a
 * pending signal between atoms is handled the same way.
 */
#include <linux/audit.h>
#include <linux/cred.h>
#include <linux/entry-common.h>
#include <linux/ptrace.h>
#include <linux/sched/signal.h>
#include <linux/syscalls.h>
#include <linux/task_work.h>
#include <linux/uaccess.h>
#include <asm/syscall.h>
#include <trace/events/syscalls.h>

#include "syslet.h"

#define SYSLET_WORK_IGNORED	(SYSCALL_WORK_SYSCALL_USER_DISPATCH |	\
				 SYSCALL_WORK_SYSCALL_EXIT_TRAP)

static unsigned long syslet_syscall_work(void)
{
	return READ_ONCE(current_thread_info()->syscall_work) &
	       ~SYSLET_WORK_IGNORED;
}

/*
 * The exit half of the per-syscall work, as kernel/entry/common.c does it
 * for a call from user space, less the two parts atoms ignore (above):
 * audit, the sys_exit tracepoint and the ptrace syscall-exit stop.
 */
static void syslet_syscall_exit_work(struct pt_regs *regs, unsigned long work)
{
	audit_syscall_exit(regs);
	if (work & SYSCALL_WORK_SYSCALL_TRACEPOINT)
		trace_sys_exit(regs, syscall_get_return_value(current, regs));
	if (work & SYSCALL_WORK_SYSCALL_TRACE)
		ptrace_report_syscall_exit(regs, 0);
}

static void syslet_audit_close_outer(struct pt_regs *regs)
{
	if (unlikely(audit_context())) {
		syscall_set_return_value(current, regs, 0, 0);
		audit_syscall_exit(regs);
	}
}

/*
 * Entry work ran: a tracer or a seccomp RET_TRACE may have changed the
 * number, RET_ERRNO or a tracer may have skipped the call (-1).
 */
static void syslet_atom_syscall_traced(struct pt_regs *regs, long nr,
				       unsigned long work)
{
	long skipped;

	arch_syslet_preset_result(regs);
	skipped = syscall_get_return_value(current, regs);
	nr = syscall_trace_enter(regs, nr, work);
	if (nr != -1) {
		if (syslet_call_refused(nr, regs))
			syscall_set_return_value(current, regs, -EINVAL, 0);
		else
			arch_syslet_call(regs, nr);
	} else if (task_sigpending(current)) {
		/*
		 * Skipped with a signal on its way: seccomp RET_TRAP rolled
		 * the registers back for a SIGSYS handler, which will see the
		 * async_exec() call, not the atom, and cannot emulate it.
		 */
		syscall_set_return_value(current, regs, skipped, 0);
	}
}

static __always_inline long
syslet_atom_syscall(struct pt_regs *regs, const struct syslet_atom *atom,
		    const u64 args[6])
{
	unsigned long work = syslet_syscall_work();
	long nr = atom->nr;

	arch_syslet_set_call(regs, nr, args);
	if (unlikely(work & SYSCALL_WORK_ENTER))
		syslet_atom_syscall_traced(regs, nr, work);
	else if (unlikely(syslet_args_refused(nr, regs)))
		/* The number itself was checked when the chain was read. */
		syscall_set_return_value(current, regs, -EINVAL, 0);
	else
		arch_syslet_call(regs, nr);

	/* A tracer may have attached meanwhile, as on the exit path. */
	work = syslet_syscall_work();
	if (unlikely(work & SYSCALL_WORK_EXIT))
		syslet_syscall_exit_work(regs, work);

	return syscall_get_return_value(current, regs);
}

/* Stops, freezes and a tracer's attach, for a task whose caller went on. */
void syslet_worker_signals(void)
{
	if (test_thread_flag(TIF_NOTIFY_SIGNAL))
		clear_notify_signal();
	/* Every signal with a handler is blocked now: none is delivered. */
	while (task_sigpending(current))
		syslet_get_signal();
}

/* An atom's arguments, in one user access region. */
static __always_inline int syslet_atom_args(const struct syslet_atom *atom,
					    u64 args[6])
{
	int i = 0, ret;

	/* The region opens on the first argument there is. */
	while (!atom->arg_ptr[i]) {
		args[i] = 0;
		if (++i == ARRAY_SIZE(atom->arg_ptr))
			return 0;
	}
	if (!user_read_access_begin(u64_to_user_ptr(atom->arg_ptr[i]), sizeof(u64)))
		return -EFAULT;
	ret = syslet_args_get_unsafe(atom->arg_ptr, args);
	user_read_access_end();
	return ret;
}

static __always_inline long syslet_atom_run(struct syslet_task *st,
					    struct pt_regs *regs,
					    const struct syslet_atom *atom)
{
	u64 args[6] __uninitialized;
	bool sync = atom->flags & SYSLET_SYNC;
	/* Armed, or a threadlet's: nothing else sets or clears it meanwhile. */
	bool moves = current->flags & PF_SYSLET;
	long ret;

	/* Read now, not at submission: an earlier atom may have fed them. */
	if (syslet_atom_args(atom, args))
		return -EFAULT;

	if (sync)
		current->flags &= ~PF_SYSLET;
	ret = syslet_atom_syscall(regs, atom, args);
	while (syslet_is_restart(ret) && syslet_chain_moved(st)) {
		syslet_worker_signals();
		if (ret == -ERESTART_RESTARTBLOCK)
			ret = current->restart_block.fn(&current->restart_block);
		else
			ret = syslet_atom_syscall(regs, atom, args);
	}
	if (sync && moves)
		current->flags |= PF_SYSLET;
	return ret;
}

static bool syslet_atom_stops(const struct syslet_atom *atom, long ret)
{
	return ((atom->flags & SYSLET_STOP_ON_NONZERO) && ret != 0) ||
	       ((atom->flags & SYSLET_STOP_ON_ZERO) && ret == 0) ||
	       ((atom->flags & SYSLET_STOP_ON_NEGATIVE) && ret < 0) ||
	       ((atom->flags & SYSLET_STOP_ON_NON_POSITIVE) && ret <= 0);
}

/*
 * The task holding the caller's TID now, or, once that thread has exited,
 * the main thread's: whose credentials a moved chain's next atom takes.
 * With rcu_read_lock() held.
 */
static struct task_struct *syslet_caller_now(struct syslet_task *st)
{
	struct task_struct *t = pid_task(st->caller, PIDTYPE_PID);

	if (!t || (t->flags & PF_EXITING))
		t = pid_task(task_tgid(current), PIDTYPE_PID);
	if (!t || (t->flags & PF_EXITING))
		return NULL;
	return t;
}

/*
 * A moved chain's atoms are its caller's system calls, so each runs with
 * the credentials the caller has now, not those it had when the chain
 * blocked: as a thread takes new credentials from glibc's setxid
 * broadcast, which never reaches this task. Otherwise code that runs after
 * a privilege drop could steer an atom (through an arg_ptr) that still
 * runs with the privileges dropped. Landlock domains live in the
 * credentials and follow too; seccomp filters reach this task by
 * SECCOMP_FILTER_FLAG_TSYNC as they reach any thread.
 */
static void syslet_follow_caller_creds(struct syslet_task *st)
{
	const struct cred *cred = NULL;
	struct task_struct *caller;

	rcu_read_lock();
	caller = syslet_caller_now(st);
	if (caller && rcu_access_pointer(caller->real_cred) != current->real_cred)
		cred = get_task_cred(caller);
	rcu_read_unlock();
	if (cred)
		commit_creds((struct cred *)cred);
}

#define SYSLET_BETWEEN_ATOMS_FLAGS	(_TIF_SIGPENDING | _TIF_NOTIFY_SIGNAL | \
					 _TIF_NEED_RESCHED)

/*
 * What a return to user space would do before the next system call: run
 * task_work (deferred fput() among others) and, through a pending signal,
 * end the chain; a task whose caller went on acts on the signal instead.
 * io_uring's task_work notification is no signal.
 */
static bool syslet_between_atoms_work(struct syslet_task *st)
{
	if (test_thread_flag(TIF_NOTIFY_SIGNAL))
		clear_notify_signal();
	if (task_work_pending(current))
		task_work_run();
	cond_resched();
	if (syslet_chain_moved(st)) {
		syslet_worker_signals();
		syslet_follow_caller_creds(st);
	}
	return !task_sigpending(current);
}

/* The common case first: one look at the flags and at task_work. */
static __always_inline bool syslet_between_atoms(struct syslet_task *st)
{
	if (likely(!(read_thread_flags() & SYSLET_BETWEEN_ATOMS_FLAGS) &&
		   !task_work_pending(current) && !syslet_chain_moved(st)))
		return true;
	return syslet_between_atoms_work(st);
}

/**
 * syslet_chain_run - run a validated chain in the caller's context
 * @st:		the caller's syslet state, with the chain as
 *		syslet_chain_read() left it
 * @end:	set to the index of the atom the chain ended at: the last one
 *		that ran (an atom whose arguments cannot be read runs with the
 *		result -EFAULT), or the one whose result could not be stored
 *
 * Return: the user address of the last atom that ran; an -ERESTART* code
 * if the first atom was interrupted before it could do anything (nothing
 * ran); or -EFAULT if an atom's result could not be stored through its
 * ret_ptr (the chain ends at that atom; the atoms before it have run).
 */
long syslet_chain_run(struct syslet_task *st, unsigned int *end)
{
	const struct syslet_chain *chain = &st->chain;
	struct pt_regs *regs = current_pt_regs();
	const struct syslet_atom *atom;
	unsigned int idx = 0, last_idx = 0;
	long ret, last = 0;

	syslet_audit_close_outer(regs);
	st->in_chain = true;

	for (;;) {
		atom = &chain->atoms[idx];
		ret = syslet_atom_run(st, regs, atom);

		if (syslet_is_restart(ret)) {
			if (ret == -ERESTART_RESTARTBLOCK) {
				/* Restarted from scratch, not through it. */
				current->restart_block.fn = do_no_restart_syscall;
				ret = -ERESTARTNOHAND;
			}
			if (last)
				ret = last;
			break;
		}
		last_idx = idx;
		if (atom->ret_ptr &&
		    put_user(ret, (s64 __user *)u64_to_user_ptr(atom->ret_ptr))) {
			ret = -EFAULT;
			break;
		}
		last = atom->uaddr;

		if (!syslet_atom_stops(atom, ret))
			idx = atom->next;
		else if (atom->flags & SYSLET_SKIP_TO_NEXT_ON_STOP)
			idx = atom->skip;
		else
			idx = SYSLET_ATOM_NONE;

		ret = last;
		if (idx == SYSLET_ATOM_NONE || !syslet_between_atoms(st))
			break;
	}

	st->in_chain = false;
	arch_syslet_restore_syscall_regs(&st->call_regs, regs);
	*end = last_idx;
	return ret;
}
