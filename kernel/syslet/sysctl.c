// SPDX-License-Identifier: GPL-2.0-only
/*
 * /proc/sys/kernel/syslet/: how user space detects syslets, and the switch
 * that turns them off.
 *
 * abi_version	SYSLET_ABI_VERSION, read-only. Its presence is the probe:
 *		the syslet system call numbers are reused by later kernels,
 *		so -ENOSYS tells nothing.
 * enabled	1 (default), 0 or 2. With 0 every syslet system call fails
 *		with -EPERM, as io_uring does under io_uring_disabled; with
 *		2 they fail so unless the caller is in the group below or
 *		has CAP_SYS_ADMIN, as under io_uring_disabled = 1. Checked
 *		at every call, with the caller's credentials then.
 * group	the group that may use syslets when enabled is 2, as a GID
 *		in the initial user namespace; -1 (default): none.
 * max_spares	an administrator's cap on the spare threads of one
 *		process (default 65536, at most PID_MAX_LIMIT). Below it,
 *		a process may have as many as its RLIMIT_NPROC, as io-wq
 *		sizes its unbounded workers; the pids cgroup and
 *		threads-max apply as to any thread. 0: chains never get
 *		one and always run synchronously.
 * lost_completions
 *		completions of moved chains that could not be written
 *		because their ring or async_head_user had been unmapped,
 *		since boot, in every process: readable by root only, so
 *		that one user cannot watch another's.
 */
#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/init.h>
#include <linux/minmax.h>
#include <linux/sched/signal.h>
#include <linux/sysctl.h>
#include <linux/threads.h>

#include "syslet.h"

static int syslet_abi_version = SYSLET_ABI_VERSION;
static int sysctl_syslet_enabled = 1;
static int sysctl_syslet_group = -1;
static unsigned int sysctl_syslet_max_spares = 65536;
static unsigned int syslet_max_spares_limit = PID_MAX_LIMIT;
static atomic_long_t syslet_lost_completions;

/* Whether the current task may make syslet system calls now. */
bool syslet_allowed(void)
{
	int enabled = READ_ONCE(sysctl_syslet_enabled);
	kgid_t group;

	if (enabled != 2)
		return enabled;
	group = make_kgid(&init_user_ns, READ_ONCE(sysctl_syslet_group));
	if (gid_valid(group) && in_group_p(group))
		return true;
	return capable(CAP_SYS_ADMIN);
}

/* How many spares the current process may have. */
unsigned long syslet_max_spares(void)
{
	return min_t(unsigned long, READ_ONCE(sysctl_syslet_max_spares),
		     task_rlimit(current, RLIMIT_NPROC));
}

void syslet_count_lost_completion(void)
{
	atomic_long_inc(&syslet_lost_completions);
}

static int syslet_lost_completions_show(const struct ctl_table *table,
					int write, void *buffer, size_t *lenp,
					loff_t *ppos)
{
	unsigned long lost = atomic_long_read(&syslet_lost_completions);
	struct ctl_table t = *table;

	t.data = &lost;
	return proc_doulongvec_minmax(&t, write, buffer, lenp, ppos);
}

static struct ctl_table syslet_sysctls[] = {
	{
		.procname	= "abi_version",
		.data		= &syslet_abi_version,
		.maxlen		= sizeof(int),
		.mode		= 0444,
		.proc_handler	= proc_dointvec,
	},
	{
		.procname	= "enabled",
		.data		= &sysctl_syslet_enabled,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_TWO,
	},
	{
		.procname	= "group",
		.data		= &sysctl_syslet_group,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_NEG_ONE,
		.extra2		= SYSCTL_INT_MAX,
	},
	{
		.procname	= "max_spares",
		.data		= &sysctl_syslet_max_spares,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &syslet_max_spares_limit,
	},
	{
		.procname	= "lost_completions",
		.maxlen		= sizeof(unsigned long),
		.mode		= 0400,
		.proc_handler	= syslet_lost_completions_show,
	},
};

static int __init syslet_sysctl_init(void)
{
	register_sysctl_init("kernel/syslet", syslet_sysctls);
	return 0;
}
device_initcall(syslet_sysctl_init);
