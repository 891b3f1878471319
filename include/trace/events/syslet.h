/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM syslet

#if !defined(_TRACE_SYSLET_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_SYSLET_H

#include <linux/sched.h>
#include <linux/tracepoint.h>

#ifndef _TRACE_SYSLET_REASONS
#define _TRACE_SYSLET_REASONS
/* Why a chain or threadlet with a ring ran synchronously. */
enum syslet_sync_reason {
	SYSLET_SYNC_UNMOVABLE,		/* the caller cannot be handed on */
	SYSLET_SYNC_NO_SPARE,		/* no spare could be had */
	SYSLET_SYNC_REFUSED_EAGAIN,	/* nor, and -EAGAIN was asked for */
	SYSLET_SYNC_NO_LENT,		/* no lent thread fits */
};
#endif

TRACE_DEFINE_ENUM(SYSLET_SYNC_UNMOVABLE);
TRACE_DEFINE_ENUM(SYSLET_SYNC_NO_SPARE);
TRACE_DEFINE_ENUM(SYSLET_SYNC_REFUSED_EAGAIN);
TRACE_DEFINE_ENUM(SYSLET_SYNC_NO_LENT);

/* A chain or threadlet blocked, and wakes the spare that takes over. */
TRACE_EVENT(syslet_handoff,
	    TP_PROTO(struct task_struct *donor, struct task_struct *spare),
	    TP_ARGS(donor, spare),
	    TP_STRUCT__entry(__field(pid_t, donor)
			     __field(pid_t, spare)
			     __field(int, cpu)),
	    TP_fast_assign(__entry->donor = donor->pid;
			   __entry->spare = spare->pid;
			   __entry->cpu = task_cpu(donor);),
	    TP_printk("donor=%d spare=%d cpu=%d",
		      __entry->donor, __entry->spare, __entry->cpu)
);

/*
 * A spare acted on the offer of @donor: it took the caller over (moved),
 * found it could not move anymore (refused), or found the offer withdrawn
 * because @donor ran again first; @donor_cpu is where the donor was.
 */
TRACE_EVENT(syslet_takeover,
	    TP_PROTO(struct task_struct *donor, bool moved, bool refused,
		     int donor_cpu),
	    TP_ARGS(donor, moved, refused, donor_cpu),
	    TP_STRUCT__entry(__field(pid_t, donor)
			     __field(bool, moved)
			     __field(bool, refused)
			     __field(bool, same_cpu)),
	    TP_fast_assign(__entry->donor = donor->pid;
			   __entry->moved = moved;
			   __entry->refused = refused;
			   __entry->same_cpu = donor_cpu == raw_smp_processor_id();),
	    TP_printk("donor=%d result=%s same_cpu=%d", __entry->donor,
		      __entry->moved ? "moved" :
		      __entry->refused ? "refused" : "withdrawn",
		      __entry->same_cpu)
);

/*
 * A task that finished a moved chain acted on the offer of @waiter (its TID
 * then), asleep in async_wait() for what it posted: it took the caller back (moved),
 * found it could not move (refused), or found the offer withdrawn.
 */
TRACE_EVENT(syslet_take_back,
	    TP_PROTO(pid_t waiter, bool moved, bool refused),
	    TP_ARGS(waiter, moved, refused),
	    TP_STRUCT__entry(__field(pid_t, waiter)
			     __field(bool, moved)
			     __field(bool, refused)),
	    TP_fast_assign(__entry->waiter = waiter;
			   __entry->moved = moved;
			   __entry->refused = refused;),
	    TP_printk("waiter=%d result=%s", __entry->waiter,
		      __entry->moved ? "moved" :
		      __entry->refused ? "refused" : "withdrawn")
);

/*
 * A moved chain or threadlet posted @value to the ring of @uahu: @result
 * 1 posted, 0 not (a fatal signal), -EFAULT lost; @waits is how many times
 * the ring was found full first.
 */
TRACE_EVENT(syslet_post,
	    TP_PROTO(const void __user *uahu, u64 value, int result,
		     unsigned int waits),
	    TP_ARGS(uahu, value, result, waits),
	    TP_STRUCT__entry(__field(unsigned long, uahu)
			     __field(u64, value)
			     __field(int, result)
			     __field(unsigned int, waits)),
	    TP_fast_assign(__entry->uahu = (unsigned long)uahu;
			   __entry->value = value;
			   __entry->result = result;
			   __entry->waits = waits;),
	    TP_printk("uahu=0x%lx value=0x%llx result=%d waits=%u",
		      __entry->uahu, __entry->value, __entry->result,
		      __entry->waits)
);

/*
 * A spare thread was made (@tid), or could not be (@error); the process
 * then has @nr_kernel_only spares and moved chains.
 */
TRACE_EVENT(syslet_spare_create,
	    TP_PROTO(pid_t tid, unsigned int nr_kernel_only, int error),
	    TP_ARGS(tid, nr_kernel_only, error),
	    TP_STRUCT__entry(__field(pid_t, tid)
			     __field(unsigned int, nr_kernel_only)
			     __field(int, error)),
	    TP_fast_assign(__entry->tid = tid;
			   __entry->nr_kernel_only = nr_kernel_only;
			   __entry->error = error;),
	    TP_printk("tid=%d nr_kernel_only=%u error=%d", __entry->tid,
		      __entry->nr_kernel_only, __entry->error)
);

/* A chain or threadlet with the ring of @uahu cannot move. */
TRACE_EVENT(syslet_sync_fallback,
	    TP_PROTO(const void __user *uahu, enum syslet_sync_reason reason),
	    TP_ARGS(uahu, reason),
	    TP_STRUCT__entry(__field(unsigned long, uahu)
			     __field(int, reason)),
	    TP_fast_assign(__entry->uahu = (unsigned long)uahu;
			   __entry->reason = reason;),
	    TP_printk("uahu=0x%lx reason=%s", __entry->uahu,
		      __print_symbolic(__entry->reason,
				       { SYSLET_SYNC_UNMOVABLE, "unmovable" },
				       { SYSLET_SYNC_NO_SPARE, "no_spare" },
				       { SYSLET_SYNC_REFUSED_EAGAIN, "eagain" },
				       { SYSLET_SYNC_NO_LENT, "no_lent" }))
);

#endif /* _TRACE_SYSLET_H */

#include <trace/define_trace.h>
