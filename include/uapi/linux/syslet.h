/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Syslets: asynchronous execution of chains of system calls.
 *
 * A syslet is a chain of "atoms", each one system call. async_exec() reads
 * the whole chain in, validates it, and then runs it in the caller's own
 * context, atom after atom, without returning to user space in between,
 * until it ends (async_exec() returns the address of the last atom that
 * ran) or blocks (with a completion ring: async_exec() returns 0 and the
 * completion arrives in the ring later).
 * One atom's result can feed the next one's arguments, and simple flow
 * control (stop on a result, or branch to the next atom in memory) decides
 * which atom runs next.
 *
 * Detection: the system call numbers below are reused by later kernels, so
 * support must never be probed by calling them and looking for -ENOSYS.
 * A kernel with syslets has /proc/sys/kernel/syslet/abi_version, which holds
 * SYSLET_ABI_VERSION.
 *
 * Every structure is made of 8-byte aligned 64-bit fields only, so its
 * layout and alignment are the same for every caller, 32-bit ones included;
 * pointers are carried as __u64. Unknown flags and
 * non-zero reserved fields are refused with -EINVAL so the ABI can grow.
 *
 * Every address the kernel reads a __u64 from or writes one to must be
 * 8-byte aligned, else -EINVAL before anything runs: a struct
 * async_head_user, every non-zero ret_ptr and arg_ptr of an atom, and
 * the completion ring. The kernel updates some of these words with
 * locked instructions, which must never straddle a cache line.
 */
#ifndef _UAPI_LINUX_SYSLET_H
#define _UAPI_LINUX_SYSLET_H

#include <linux/types.h>

/*
 * The version of this ABI; /proc/sys/kernel/syslet/abi_version holds it.
 * A version only adds to the one before, so a program built for version N
 * works on every kernel whose version is N or more. Version 2 added
 * async_exec_batch(); version 3 added threadlet_lease() and struct
 * threadlet_area.
 */
#define SYSLET_ABI_VERSION		3

/*
 * Atom flags.
 *
 * After an atom has run, its result is stored through its ret_ptr. Then,
 * if one of the atom's SYSLET_STOP_ON_* conditions holds for the result,
 * the chain stops at that atom, unless the atom also has
 * SYSLET_SKIP_TO_NEXT_ON_STOP, in which case execution continues at the
 * atom that follows it in memory (atom + 1): the "else" branch. If no stop
 * condition holds, execution continues at the atom that next points to; a
 * next of 0 ends the chain.
 *
 * SYSLET_ASYNC:	start the chain in a cache-miss thread at once
 *			(meaningful on the first atom only).
 * SYSLET_SYNC:		never move this atom to a cache-miss thread: if it
 *			blocks, the caller waits for it.
 * SYSLET_NO_COMPLETE:	if the chain ends at this atom after going
 *			asynchronous, post nothing to the completion ring.
 *
 * The last three apply to chains given a completion ring, the only ones
 * that can go asynchronous; SYSLET_ASYNC with SYSLET_SYNC is -EINVAL.
 *
 * Going asynchronous: when an atom of a chain with a ring blocks, the
 * caller goes on in a spare thread of its process, with its TID, TLS,
 * signal state and registrations, and async_exec() returns 0 to it; the
 * chain finishes in the task that blocked and its completion is posted to
 * the ring (see struct async_head_user).
 *
 * SYSLET_SKIP_TO_NEXT_ON_STOP without any SYSLET_STOP_ON_* condition could
 * never be taken and is refused with -EINVAL.
 */
#define SYSLET_ASYNC			(1ULL << 0)
#define SYSLET_SYNC			(1ULL << 1)
#define SYSLET_NO_COMPLETE		(1ULL << 2)
#define SYSLET_STOP_ON_NONZERO		(1ULL << 3)
#define SYSLET_STOP_ON_ZERO		(1ULL << 4)
#define SYSLET_STOP_ON_NEGATIVE		(1ULL << 5)
#define SYSLET_STOP_ON_NON_POSITIVE	(1ULL << 6)
#define SYSLET_SKIP_TO_NEXT_ON_STOP	(1ULL << 7)

#define SYSLET_STOP_MASK		(SYSLET_STOP_ON_NONZERO |	\
					 SYSLET_STOP_ON_ZERO |		\
					 SYSLET_STOP_ON_NEGATIVE |	\
					 SYSLET_STOP_ON_NON_POSITIVE)

#define SYSLET_VALID_FLAGS		(SYSLET_ASYNC | SYSLET_SYNC |	\
					 SYSLET_NO_COMPLETE |		\
					 SYSLET_STOP_MASK |		\
					 SYSLET_SKIP_TO_NEXT_ON_STOP)

/*
 * The most distinct atoms one chain may hold, counting every atom that can
 * be reached through next and through the skip branches. A longer chain is
 * refused with -E2BIG before anything runs.
 */
#define SYSLET_MAX_ATOMS		64

/**
 * struct syslet_uatom - one system call in a chain
 * @flags:	SYSLET_* flags above; unknown bits give -EINVAL.
 * @nr:		the system call number, as in <asm/unistd.h>. Numbers above
 *		INT_MAX and the refused calls listed below give -EINVAL when
 *		the chain is read; a number the kernel does not implement
 *		makes -ENOSYS the atom's result.
 * @ret_ptr:	address of a __s64 that receives the atom's result (a value
 *		or a negative errno), or 0 to discard it. Written after the
 *		atom has run and before the next one reads its arguments.
 * @next:	address of the atom to run after this one when no stop
 *		condition holds, or 0 to end the chain there.
 * @arg_ptr:	addresses of the system call's arguments: arg_ptr[i] points
 *		to a __u64 holding argument i and is read at the moment the
 *		atom runs, so an earlier atom's ret_ptr can feed it. An
 *		arg_ptr of 0 passes 0.
 * @private:	left to user space; the kernel never reads or writes it.
 *		C++ sees this field as private_data.
 * @reserved:	must be 0.
 *
 * The whole chain is copied in and checked up front: every atom and every
 * non-zero arg_ptr must be readable user memory, and every non-zero
 * ret_ptr must lie in a writable mapping (else -EFAULT; a shadow stack is
 * not one, and protection keys are not asked). Checking changes
 * nothing: a ret_ptr is checked against its mapping, never written, so no
 * copy-on-write is broken, no shared page dirtied and no userfaultfd
 * write-protect fault raised. If the mapping changes after the check (an
 * earlier atom unmaps it, say), storing that result fails at run time: the
 * chain ends at that atom and async_exec() fails with -EFAULT, or the
 * completion names that atom. The chain must be
 * acyclic (else -ELOOP) and at most SYSLET_MAX_ATOMS long (else -E2BIG).
 * When async_exec() refuses a chain, no atom has run and nothing has been
 * written. The kernel never reads an atom twice; the values that arg_ptr
 * and ret_ptr point to are the only memory used while the chain runs.
 *
 * While a chain runs, the caller does between two atoms what it would do
 * between two system calls: its task_work runs (a file closed by one atom
 * is released before the next atom runs), and a pending signal ends the
 * chain, so that it is delivered when async_exec() returns the address of
 * the last atom that ran. An atom interrupted before it could do anything
 * (the kernel's internal restart codes) has not run and ends the chain
 * before it; if it is the first atom, async_exec() fails or restarts as a
 * direct call to it would (-EINTR, or transparently with SA_RESTART).
 *
 * Refused system calls (-EINVAL when the chain is read, and again as the
 * atom's result if a tracer or seccomp changes an atom's number into one
 * of these at syscall entry):
 *
 *   ===============================  ======================================
 *   system call                      why it cannot be an atom
 *   ===============================  ======================================
 *   fork, vfork, clone, clone3       need a user-space return context of
 *                                    their own
 *   execve, execveat                 replace the caller's identity and mm
 *   exit, exit_group                 end the caller in the middle of the
 *                                    chain
 *   rt_sigreturn, restart_syscall,   act on the user-space return context,
 *   uretprobe                        which an atom does not have
 *   async_exec, async_exec_batch,    no nested chains; the caller's syslet
 *   async_wait, async_thread,        state belongs to the outer call
 *   threadlet_on, threadlet_off,
 *   threadlet_lease
 *   rt_sigprocmask, rt_sigsuspend,   change the calling thread's signal
 *   pause, sigaltstack               state, which after a cache miss is
 *                                    another task's
 *   ppoll, pselect6, epoll_pwait,    install a temporary signal mask that
 *   epoll_pwait2, io_pgetevents,     only the return to user space undoes,
 *   rt_sigtimedwait                  or that a cache miss would hand to the
 *                                    caller with the waited-for signals
 *                                    unblocked
 *   set_robust_list,                 per-thread registrations that follow
 *   set_tid_address, rseq,           the caller's TID and TLS
 *   arch_prctl, set_thread_area
 *   prctl, seccomp, personality,     change per-thread state of the caller
 *   unshare, setns, iopl, ioperm,
 *   set_mempolicy,
 *   landlock_restrict_self,
 *   lsm_set_self_attr
 *   setuid, setgid, setreuid,        change the caller's credentials; an
 *   setregid, setresuid, setresgid,  atom runs with the credentials its
 *   setfsuid, setfsgid, setgroups,   caller has when the atom starts,
 *   capset                           also after a cache miss
 *   sched_setaffinity,               may act on the calling thread (pid
 *   sched_setscheduler,              0), which after a cache miss is
 *   sched_setparam, sched_setattr,   another task
 *   setpriority, ioprio_set, ptrace,
 *   perf_event_open
 *   pkey_alloc                       sets the calling thread's PKRU
 *   io_uring_setup, io_uring_enter,  keep per-task submitter state;
 *   io_uring_register                io_uring_enter may also install a
 *                                    temporary signal mask
 *   add_key, request_key, keyctl     may create a thread keyring, which
 *                                    changes the caller's credentials
 *   ===============================  ======================================
 *
 * close_range with CLOSE_RANGE_UNSHARE gives the calling thread a file
 * table of its own, and is refused too; so are the PI operations of futex
 * (FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_TRYLOCK_PI, FUTEX_UNLOCK_PI,
 * FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI) in a chain that may move,
 * one with a completion ring: a PI futex names its owner by TID, and after
 * a cache miss the atoms run under another. Arguments are read when the
 * atom runs, so these are refused then, with -EINVAL as the atom's result.
 *
 * Every other system call of the x86_64 table may be an atom; the list is
 * in Documentation/userspace-api/syslet.rst, and a test fails for any
 * call of the table that is in neither, so a call added by a later kernel
 * is refused or allowed by a decision, never by default.
 */
struct syslet_uatom {
	__aligned_u64	flags;
	__aligned_u64	nr;
	__aligned_u64	ret_ptr;
	__aligned_u64	next;
	__aligned_u64	arg_ptr[6];
#ifdef __cplusplus
	__aligned_u64	private_data;	/* the same field: "private" is a C++ keyword */
#else
	__aligned_u64	private;
#endif
	__aligned_u64	reserved;
};

/**
 * struct async_head_user - where and how a chain reports completion
 * @size:		sizeof(struct async_head_user) as the caller knows it.
 *			Must be at least SYSLET_AHU_SIZE_VER0; a larger
 *			struct is accepted as long as every byte the kernel
 *			does not know is zero (else -E2BIG), the way clone3()
 *			and sched_setattr() grow.
 * @kernel_ring_idx:	free-running count of completions the kernel has
 *			posted; written by the kernel only.
 * @user_ring_idx:	free-running count of completions user space has
 *			consumed; written by user space only.
 * @completion_ring:	address of an array of __u64 completion entries, or
 *			0 for none. A chain without a ring never goes
 *			asynchronous.
 * @ring_size_bytes:	size of the ring in bytes: 8 times a power of two,
 *			or 0 when completion_ring is 0 (else -EINVAL).
 * @sync_chains:	free-running count of chains given a ring that could
 *			not move to a cache-miss thread and ran synchronously
 *			to their end (see below); incremented atomically by the
 *			kernel, never otherwise written.
 * @flags:		SYSLET_AHU_* flags below; unknown bits give -EINVAL.
 * @eventfd:		with SYSLET_AHU_EVENTFD, an eventfd(2) descriptor of the
 *			calling process that every completion posted to the
 *			ring signals (see below); otherwise must be 0.
 *
 * The completion ring: an array of ring_size_bytes / 8 __u64 entries. An
 * entry is the address of the atom a chain that went asynchronous ended
 * at (the last one that ran, or the one whose arguments or result could
 * not be accessed); 0 means an empty slot. The slot of an index is the
 * index modulo the entry count. The kernel writes an entry only into an
 * empty slot, with a cmpxchg from 0 (release ordering), and then moves
 * kernel_ring_idx on with a cmpxchg, so completers of several processes
 * sharing one ring (MAP_SHARED) each post exactly once. User space reads
 * an entry with acquire ordering, clears the slot to 0, and then
 * increments user_ring_idx. An entry can thus be taken before
 * kernel_ring_idx has moved past it: user_ring_idx may be one ahead of
 * kernel_ring_idx for a moment, and async_wait() called with that index
 * waits as for no completion. A completer that finds the ring full waits,
 * freezably, until async_wait() is called by a thread of its process, or
 * for a bounded back-off, and looks again: entries are never overwritten
 * or dropped. async_wait() is woken by completions its own process posts;
 * one that waits on a ring another process also posts to wakes at its
 * timeout. Like a chain that blocks, async_wait() may return in another
 * task of the process than the one it slept in (the task whose posting
 * met the minimum takes the caller back); what belongs to the task, not
 * to the caller (per-thread CPU time, say), may differ afterwards. A
 * completion that cannot be written because the ring or this structure
 * is no longer mapped is counted in
 * /proc/sys/kernel/syslet/lost_completions.
 *
 * When a chain with a ring cannot go asynchronous, it runs synchronously
 * and async_exec() returns as for a chain without one; the kernel then
 * increments sync_chains. That happens when the caller is traced, owns
 * a PI futex another thread waits for, is in a 32-bit system call, has I/O port permissions, a
 * shadow stack, non-null fs or gs selectors or AMX state enabled, or when
 * no spare thread could be had: the process has as many as
 * kernel.syslet.max_spares or RLIMIT_NPROC allow, or the pids cgroup or
 * threads-max refuse another thread.
 *
 * SYSLET_AHU_EAGAIN_AT_LIMIT: when no spare thread can be had, refuse the
 * chain with -EAGAIN before anything has run, instead of running it
 * synchronously (sync_chains is not incremented), so that an event loop
 * can reap completions and submit again rather than block. Chains that
 * cannot move for the other reasons above still run synchronously.
 *
 * SYSLET_AHU_EVENTFD: once a completion's entry and kernel_ring_idx are
 * visible, the completer adds 1 to the eventfd in @eventfd, so that an
 * epoll or io_uring loop can wait for the ring beside its other file
 * descriptors, with no thread of its own: on readable, read the eventfd,
 * then take every entry the ring holds (one signal may stand for several
 * entries). Chains that end inside async_exec() post nothing and signal
 * nothing. A ring is required, and @eventfd must name an eventfd (-EBADF,
 * -EINVAL) when the structure is read, by async_exec() and async_thread()
 * alike; the completer looks the descriptor up again when it posts, in
 * the process's file table, so it must stay open while completions may
 * come: one closed by then is not signalled, and a number reused for
 * another eventfd signals that one. -EOPNOTSUPP without CONFIG_EVENTFD.
 *
 * The kernel reads this structure when async_exec() is called; a NULL
 * structure there means no ring (the chain runs synchronously, and
 * nothing of the head is read). For a chain that goes asynchronous it
 * writes kernel_ring_idx and the ring later, from another thread of the
 * process, so both must stay mapped until the completion has arrived.
 */
struct async_head_user {
	__aligned_u64	size;
	__aligned_u64	kernel_ring_idx;
	__aligned_u64	user_ring_idx;
	__aligned_u64	completion_ring;
	__aligned_u64	ring_size_bytes;
	__aligned_u64	sync_chains;
	__aligned_u64	flags;
	__aligned_u64	eventfd;
};

#define SYSLET_AHU_SIZE_VER0		64	/* first published size */

#define SYSLET_AHU_EAGAIN_AT_LIMIT	(1ULL << 0)
#define SYSLET_AHU_EVENTFD		(1ULL << 1)
#define SYSLET_AHU_VALID_FLAGS		(SYSLET_AHU_EAGAIN_AT_LIMIT |	\
					 SYSLET_AHU_EVENTFD)

/**
 * struct syslet_batch_entry - one chain of an async_exec_batch() call
 * @atom:	the address of the chain's first atom, as async_exec() takes it
 * @result:	written by the kernel: what async_exec(@atom, ahu) would have
 *		returned. The address of the atom the chain ended at when it
 *		ran to its end inside the call; 0 when it went asynchronous,
 *		its completion to come through the ring; or a negative errno
 *		when the chain was refused (nothing of it ran) or its first
 *		atom was interrupted as async_exec() describes.
 *
 * long async_exec_batch(struct syslet_batch_entry *entries, __u32 nr,
 *			 struct async_head_user *ahu, __u32 flags)
 *	Runs the chains of @entries[0..@nr) one after the other, each as
 *	async_exec(entries[i].atom, @ahu) would, for the price of one kernel
 *	entry: @ahu is read once, and every chain keeps its own result, its
 *	own completion and its own cache miss. Returns how many entries it
 *	consumed, from the first: their results are written; none of the
 *	others' atoms ran, and their results are unspecified. It stops
 *	early
 *
 *	- after a chain that went asynchronous: the caller then goes on in
 *	  another thread, as for async_exec(), and returns from there, so
 *	  it moves at most once per call;
 *	- before a chain, other than the first, when a signal is pending,
 *	  so that it is delivered;
 *	- before a chain that SYSLET_AHU_EAGAIN_AT_LIMIT refuses for want
 *	  of a spare thread (-EAGAIN if it is the first);
 *	- when @entries cannot be read or written (-EFAULT if at the first).
 *
 *	A chain refused for itself (a bad atom, say) does not stop the
 *	batch: its result is the error. @nr may be 0 (returns 0) and at most
 *	SYSLET_MAX_BATCH; @entries must be 8-byte aligned; @flags must be 0
 *	(else -EINVAL, before anything runs). @ahu may be NULL, as for
 *	async_exec(): the chains then run synchronously.
 */
struct syslet_batch_entry {
	__aligned_u64	atom;
	__s64		result;
};

#define SYSLET_MAX_BATCH		1024

/*
 * Threadlets: user code that runs in the caller until it blocks.
 *
 * long async_thread(__u64 event, struct async_head_user *ahu, __u64 flags)
 *	Lends the calling thread, one the application made, to the
 *	threadlets of the pool @ahu (the pool is the structure's address):
 *	it parks in the kernel until a threadlet borrows it. If @event is
 *	not 0 it is first posted to @ahu's ring, by the rules above (a ring
 *	is then required, else -EINVAL): that is how a threadlet that went
 *	asynchronous completes. The thread returns as itself, with the
 *	registers of the call that lent it, 0 once released, -EINTR when
 *	a signal is to be handled (not restarted: call again); it may
 *	meanwhile have run threadlets and been parked again many times.
 *	The main thread (the one whose TID is the process ID) cannot be
 *	lent (-EINVAL): waitpid() and /proc follow it. With
 *	SYSLET_LEND_RELEASE (and @event 0), releases every thread lent to
 *	@ahu and parked, and returns how many; one
 *	busy with a threadlet is released by a later call. Other flags:
 *	-EINVAL. A thread that owns a PI futex another thread waits for
 *	cannot be lent (-EBUSY, after @event was posted): its TID would go
 *	to a threadlet's caller while the lock stays with it.
 *
 * long threadlet_on(__u64 restore_stack, __u64 restore_ip,
 *		     struct async_head_user *ahu)
 *	Borrows a thread lent to @ahu and switches the caller's fs base to
 *	that thread's TLS. Returns the stack pointer to run the threadlet
 *	with: 16-byte aligned, below the red zone of the lent thread's
 *	stack where it parked. From now until threadlet_off(), if the
 *	caller blocks (in a system call or a fault), the lent thread takes
 *	over the caller's identity (TID, signal state, registrations, as for
 *	a chain) and returns to user space as the caller with
 *	rip = @restore_ip, rsp = @restore_stack, rax = 0, the caller's fs
 *	base, and the other registers as they were at the threadlet_on()
 *	call; the blocked task goes on with the threadlet as the lent
 *	thread (its TID, signal state, registrations). Returns 0, counted in
 *	@ahu's sync_chains, when the threadlet cannot move: nested in
 *	another, started on a lent thread, a caller that a chain could not
 *	move either (see above), or no lent thread that fits (same
 *	credentials, seccomp filter, files, fs, namespaces, cgroup,
 *	scheduling policy and affinity): the caller then runs it as a plain
 *	call. With SYSLET_AHU_EAGAIN_AT_LIMIT in @ahu's flags, no lent thread
 *	that fits gives -EAGAIN instead (not counted; nothing switched), so
 *	that the caller can wait for a lent thread to come back rather than
 *	run the threadlet in place. -EINVAL for a restore point outside user
 *	space or a structure async_exec() would refuse.
 *
 * long threadlet_off(void)
 *	Ends the threadlet. 1: it never blocked, the caller's fs base is
 *	back and the lent thread is parked again; the caller returns to
 *	its own stack. 0: it went asynchronous, and the calling task is the
 *	lent thread now: it calls async_thread(event, ahu, 0) to complete.
 *	-EINVAL outside a threadlet.
 *
 * A chain (async_exec()) run inside a threadlet is part of it: it does
 * not move alone (sync_chains counts it), the threadlet moves with it.
 */
#define SYSLET_LEND_RELEASE		(1ULL << 0)

/**
 * struct threadlet_area - a thread's threadlets, started and ended in
 * user space
 * @active:	written by the thread: a non-zero number of its choosing
 *		while a threadlet runs on the lease, 0 otherwise. The kernel
 *		sets it to 0 when the threadlet's caller goes on in the
 *		leased thread: the threadlet's compare-and-exchange of its
 *		number back to 0 fails then, which is how it learns that it
 *		blocked and is to complete with async_thread().
 * @restore_ip:	written by the thread before @active: where its caller
 *		goes on if the threadlet blocks, with rax = 0
 * @restore_sp:	and the stack pointer it goes on with
 * @caller_fs:	and its fs base (TLS)
 * @lease_sp:	written by the kernel: the stack pointer to run threadlets
 *		with (16-byte aligned, below the red zone of the leased
 *		thread's stack where it parked), or 0 for no usable lease.
 *		It reads 0 once the lease is used up, revoked or found not to
 *		fit any more: the thread then gives it back with
 *		threadlet_lease(area, NULL, SYSLET_LEASE_RETURN) once no
 *		threadlet runs on it, and may lease again.
 * @lease_fs:	written by the kernel: the leased thread's fs base
 * @reserved:	0
 *
 * 64 bytes, 64-byte aligned, so that it lies in one cache line and one
 * page, which the kernel pins while the area is registered: the scheduler
 * reads @active when the thread blocks, where it cannot take a fault.
 *
 * The cached path makes no system call. With a lease held:
 *
 *	store @restore_ip, @restore_sp and @caller_fs;
 *	exchange @active with a new number n (a full barrier);
 *	if @lease_sp reads 0: store 0 in @active, run the threadlet as a
 *		plain call, and give the lease back;
 *	switch fs base to @lease_fs and the stack to @lease_sp, and run it;
 *	compare-and-exchange @active from n to 0: if that fails the
 *		threadlet blocked, its caller went on at the restore point,
 *		and this task is the leased thread now: it calls
 *		async_thread(event, ahu, 0), which posts event and lends it;
 *	else switch fs base and stack back: it ran in the caller.
 *
 * If the thread blocks (in a system call or a fault) while @active is
 * not 0, its caller goes on in the leased thread exactly as with
 * threadlet_on(), but with the registers of the moment it blocked for
 * all but rip, rsp, rax and the fs base: the restore point must not
 * expect callee-saved registers, and reloads them from its stack.
 *
 * A child of fork() inherits neither the registration nor the lease, but
 * the memory: it must store 0 in @lease_sp before its first threadlet.
 * An execve() ends both. The area moves with the thread's identity when
 * a chain or a threadlet moves its caller to another task.
 */
struct threadlet_area {
	__aligned_u64	active;
	__aligned_u64	restore_ip;
	__aligned_u64	restore_sp;
	__aligned_u64	caller_fs;
	__aligned_u64	lease_sp;
	__aligned_u64	lease_fs;
	__aligned_u64	reserved[2];
};

#define SYSLET_AREA_SIZE		64

/*
 * long threadlet_lease(struct threadlet_area *area,
 *			struct async_head_user *ahu, __u32 flags)
 *	With @flags 0: registers @area for the calling thread, if it has
 *	none yet (one registered already must be @area, else -EBUSY), and
 *	leases it a thread lent to the pool @ahu, unless it holds a usable
 *	lease from that pool already; a lease from another pool, or one
 *	that reads 0 in @lease_sp, is given back first. 0: @lease_sp and
 *	@lease_fs are set. -EAGAIN: no lent thread fits, or the caller
 *	could not move (see threadlet_on()): the area stays registered,
 *	without a lease. -EBUSY while @active is not 0 (nested); -EINVAL
 *	for an area not 64-byte aligned, on a lent thread, or a head
 *	async_exec() would refuse; -EFAULT for one that cannot be pinned
 *	writable. While it holds a lease the thread offers its caller to
 *	the leased thread whenever it blocks with @active set.
 *
 *	SYSLET_LEASE_RETURN (@ahu NULL): gives the lease back, if any; the
 *	area stays registered. 0, or -EBUSY while @active is not 0.
 *	With SYSLET_LEASE_UNREGISTER as well, also unregisters @area (it
 *	must be the one registered, else -EINVAL). Allowed while syslets
 *	are disabled. Other flags: -EINVAL.
 *
 * SYSLET_LEND_RELEASE also revokes the leases of the threads it releases:
 * their @lease_sp reads 0 at once, or, for a lease a threadlet runs on,
 * when that threadlet ends.
 */
#define SYSLET_LEASE_RETURN		(1U << 0)
#define SYSLET_LEASE_UNREGISTER		(1U << 1)

#endif /* _UAPI_LINUX_SYSLET_H */
