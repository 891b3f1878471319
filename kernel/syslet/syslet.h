/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KERNEL_SYSLET_H
#define _KERNEL_SYSLET_H

#include <linux/list.h>
#include <linux/types.h>
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
 * struct syslet_chain - a chain read in and validated by syslet_chain_read()
 * @nr_atoms:	atoms in @atoms; atoms[0] is the one async_exec() was given
 * @seen:	one bit per hash of every uaddr in @atoms, so that looking up
 *		an atom not read yet rarely has to scan them
 * @merges:	an atom was reached a second time: the chain is not a tree,
 *		and may have a cycle
 * @atoms:	the atoms, in the order they were discovered
 */
struct syslet_chain {
	unsigned int		nr_atoms;
	u64			seen;
	bool			merges;
	struct syslet_atom	atoms[SYSLET_MAX_ATOMS];
};

/**
 * struct syslet_task - per-task syslet state, behind task_struct::syslet
 * @chain:	buffer for the chain being run, allocated on first use so the
 *		cached path allocates nothing
 * @reserved:	the spare this task holds while it runs a chain that may go
 *		asynchronous, with a reference
 * @self:	(spares) the task this state belongs to
 * @is_spare:	this task is a spare: a thread of the group that runs no user
 *		code of its own
 * @exited:	(spares) past synchronize_group_exit(), never to be parked
 * @park_node:	(spares) entry in syslet_group::parked while parked
 *
 * @exited and @park_node are protected by the group's siglock; the parked
 * list holds no references, as a spare unlinks itself when it exits.
 */
struct syslet_task {
	struct syslet_chain	chain;
	struct task_struct	*reserved;
	struct task_struct	*self;
	bool			is_spare;
	bool			exited;
	struct list_head	park_node;
};

/**
 * struct syslet_group - per-process syslet state, behind signal_struct::syslet
 * @parked:	spares waiting to be reserved
 * @nr_spares:	spares alive, parked or reserved; a group whose real threads
 *		have all exited ends even while spares remain
 *
 * Both protected by the group's siglock.
 */
struct syslet_group {
	struct list_head	parked;
	unsigned int		nr_spares;
};

bool syslet_nr_refused(unsigned long nr);
int syslet_chain_read(struct syslet_chain *chain, u64 uaddr);
long syslet_chain_run(const struct syslet_chain *chain);
bool syslet_enabled(void);
unsigned int syslet_max_spares(void);
struct syslet_task *syslet_task_alloc(void);
void syslet_spare_reserve(struct syslet_task *st);
void syslet_spare_release(struct syslet_task *st);

#endif /* _KERNEL_SYSLET_H */
