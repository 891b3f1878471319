/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _ASM_X86_SYSLET_H
#define _ASM_X86_SYSLET_H

/*
 * What kernel/syslet/ needs of the architecture: the registers atoms
 * borrow and how a call is made from them, the user state beyond pt_regs
 * a caller takes along when another task goes on as it, and the TLS and
 * stack switch of a threadlet.
 */
#include <linux/nospec.h>
#include <linux/types.h>
#include <asm/ptrace.h>
#include <asm/syscall.h>
#include <asm/syscall_wrapper.h>

struct task_struct;

/* The syscall registers of the async_exec() call, which atoms borrow. */
struct syslet_syscall_regs {
	unsigned long	orig_ax, ax, di, si, dx, r10, r8, r9;
};

bool arch_syslet_may_move(struct task_struct *tsk);
bool arch_syslet_fits(struct task_struct *spare, struct task_struct *tsk);

void arch_syslet_save_syscall_regs(struct syslet_syscall_regs *saved,
				   const struct pt_regs *regs);
void arch_syslet_restore_syscall_regs(const struct syslet_syscall_regs *saved,
				      struct pt_regs *regs);
void arch_syslet_preset_result(struct pt_regs *regs);

/*
 * Load an atom into the syscall registers, where seccomp, ptrace and audit
 * look for it. This and the dispatch below run for every atom: inline, as
 * the entry code's own are.
 */
static inline void arch_syslet_set_call(struct pt_regs *regs, long nr,
					const u64 args[6])
{
	regs->orig_ax = nr;
	regs->di = args[0];
	regs->si = args[1];
	regs->dx = args[2];
	regs->r10 = args[3];
	regs->r8 = args[4];
	regs->r9 = args[5];
}

/* Dispatch through the native table, as do_syscall_64() does. */
static __always_inline void arch_syslet_call(struct pt_regs *regs, long nr)
{
	if (likely(nr >= 0 && nr < NR_syscalls))
		regs->ax = x64_sys_call(regs, array_index_nospec(nr, NR_syscalls));
	else
		regs->ax = __x64_sys_ni_syscall(regs);
}

void arch_syslet_take_user_state(struct task_struct *donor,
				 const struct pt_regs *regs,
				 const unsigned long *tls);

unsigned long arch_syslet_tls(struct task_struct *tsk);
void arch_syslet_set_tls(unsigned long tls);
void arch_syslet_set_resume(struct pt_regs *regs, unsigned long ip,
			    unsigned long sp);
unsigned long arch_syslet_threadlet_sp(const struct pt_regs *lent_regs);

#endif /* _ASM_X86_SYSLET_H */
