// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86-64 side of syslets (kernel/syslet/): atoms as native system calls,
 * and the user state a caller takes along to the task that goes on as it.
 */
#include <linux/compat.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/string.h>
#include <asm/fpu/api.h>
#include <asm/fpu/signal.h>
#include <asm/fsgsbase.h>
#include <asm/pkru.h>
#include <asm/segment.h>
#include <asm/syscall.h>
#include <asm/syslet.h>

/* FPU register ownership (fpregs_state_valid(), fpregs_activate()). */
#include "fpu/context.h"

/* What the x86-64 ABI lets a function use below its stack pointer. */
#define SYSLET_RED_ZONE		128

/* 32-bit system calls (in_compat_syscall(), for any task). */
static bool syslet_in_compat_syscall(struct task_struct *tsk)
{
	if (task_thread_info(tsk)->status & TS_COMPAT)
		return true;
	return IS_ENABLED(CONFIG_X86_X32_ABI) &&
	       (task_pt_regs(tsk)->orig_ax & __X32_SYSCALL_BIT);
}

/*
 * State a copy cannot hand on: 32-bit system calls, I/O permissions,
 * shadow stacks, segment selectors other than the 64-bit null ones, and
 * enlarged (AMX) FPU state. @tsk is current, when a chain or threadlet
 * starts, or a task switched out since, at the claim: a threadlet runs
 * user code that may have changed any of it, and the selectors are then
 * those its switch-out saved (save_fsgs()).
 */
bool arch_syslet_may_move(struct task_struct *tsk)
{
	unsigned short fs = tsk->thread.fsindex, gs = tsk->thread.gsindex;

	if (syslet_in_compat_syscall(tsk))
		return false;
	if (tsk->thread.io_bitmap || tsk->thread.iopl_emul)
		return false;
#ifdef CONFIG_X86_USER_SHADOW_STACK
	if (tsk->thread.features)
		return false;
#endif
	if (tsk->thread.fpu.fpstate != &tsk->thread.fpu.__fpstate)
		return false;
	if (tsk == current) {
		savesegment(fs, fs);
		savesegment(gs, gs);
	}
	return !fs && !gs;
}

/*
 * Per-thread modes the spare cannot take over by a copy: TSC and CPUID
 * faulting (PR_SET_TSC, ARCH_SET_CPUID) and the speculation controls
 * derived from the task's atomic flags.
 */
#define SYSLET_TIF_MODES	(_TIF_NOTSC | _TIF_NOCPUID | _TIF_SSBD | \
				 _TIF_SPEC_IB)

/*
 * A spare's FPU buffer must hold the caller's state as it is, and the
 * modes above must already be the caller's.
 */
bool arch_syslet_fits(struct task_struct *spare, struct task_struct *tsk)
{
	unsigned long modes = read_task_thread_flags(spare) ^
			      read_task_thread_flags(tsk);

	return spare->thread.fpu.fpstate == &spare->thread.fpu.__fpstate &&
	       !(modes & SYSLET_TIF_MODES);
}

void arch_syslet_save_syscall_regs(struct syslet_syscall_regs *saved,
				   const struct pt_regs *regs)
{
	saved->orig_ax = regs->orig_ax;
	saved->ax = regs->ax;
	saved->di = regs->di;
	saved->si = regs->si;
	saved->dx = regs->dx;
	saved->r10 = regs->r10;
	saved->r8 = regs->r8;
	saved->r9 = regs->r9;
}

void arch_syslet_restore_syscall_regs(const struct syslet_syscall_regs *saved,
				      struct pt_regs *regs)
{
	regs->orig_ax = saved->orig_ax;
	regs->ax = saved->ax;
	regs->di = saved->di;
	regs->si = saved->si;
	regs->dx = saved->dx;
	regs->r10 = saved->r10;
	regs->r8 = saved->r8;
	regs->r9 = saved->r9;
}

/*
 * The result of a call the entry work skips unless it sets one, as the
 * entry code presets it: for the paths that run that work only.
 */
void arch_syslet_preset_result(struct pt_regs *regs)
{
	regs->ax = __x64_sys_ni_syscall(regs);
}

/*
 * Take on the user state of @donor's caller: @regs, and what @donor's last
 * switch-out stored (__switch_to(): FPU registers in switch_fpu_prepare(),
 * fs and gs bases in save_fsgs(), PKRU in x86_pkru_load()), which stays in
 * memory while @donor is in the kernel and not running user code. @tls is
 * the caller's fs base where it differs from @donor's (a threadlet runs on
 * a lent thread's), else NULL. Preemption is off: current is in no state
 * to be switched out until it is done.
 *
 * The FPU registers change owner where they can: when @donor switched out
 * on this CPU and nothing has loaded other registers since (the usual
 * case, current having run only kernel code meanwhile), they hold exactly
 * the image just copied, and become current's, so that the return to user
 * space skips the XRSTOR. A later XSAVE(S) into current's buffer saves what
 * it might skip as unmodified into a buffer that already holds it.
 */
void arch_syslet_take_user_state(struct task_struct *donor,
				 const struct pt_regs *regs,
				 const unsigned long *tls)
{
	struct fpu *fpu = &current->thread.fpu;
	struct fpu *dfpu = &donor->thread.fpu;

	lockdep_assert_preemption_disabled();
	*current_pt_regs() = *regs;

	/* Both are the default size (arch_syslet_may_move(), _fits()). */
	fpregs_lock();
	set_thread_flag(TIF_NEED_FPU_LOAD);
	memcpy(&fpu->fpstate->regs, &dfpu->fpstate->regs, fpu->fpstate->size);
	if (fpregs_state_valid(dfpu, smp_processor_id())) {
		__fpu_invalidate_fpregs_state(dfpu);
		fpregs_activate(fpu);
		fpu->last_cpu = smp_processor_id();
	} else {
		/* Reload on the way out, even on a CPU that still has ours. */
		__fpu_invalidate_fpregs_state(fpu);
	}
	fpregs_unlock();

	/* Null selectors only (arch_syslet_may_move()): the bases are all. */
	current->thread.fsbase = tls ? *tls : donor->thread.fsbase;
	current->thread.gsbase = donor->thread.gsbase;
	x86_fsbase_write_cpu(current->thread.fsbase);
	x86_gsbase_write_cpu_inactive(current->thread.gsbase);
	current->thread.pkru = donor->thread.pkru;
	write_pkru(current->thread.pkru);
}

/* The TLS pointer @tsk returns to user space with; current's is synced. */
unsigned long arch_syslet_tls(struct task_struct *tsk)
{
	if (tsk == current)
		current_save_fsgs();
	return tsk->thread.fsbase;
}

void arch_syslet_set_tls(unsigned long tls)
{
	/* Null fs selector only (arch_syslet_may_move()): the base is all. */
	preempt_disable();
	current->thread.fsbase = tls;
	x86_fsbase_write_cpu(tls);
	preempt_enable();
}

void arch_syslet_set_resume(struct pt_regs *regs, unsigned long ip,
			    unsigned long sp)
{
	regs->ip = ip;
	regs->sp = sp;
}

/* Where a threadlet's stack starts, below where the lent thread parked. */
unsigned long arch_syslet_threadlet_sp(const struct pt_regs *lent_regs)
{
	return ALIGN_DOWN(lent_regs->sp - SYSLET_RED_ZONE, 16);
}
