// SPDX-License-Identifier: GPL-2.0
/*
 * An LD_PRELOAD shim for fuzzers that make their calls through libc's
 * syscall(), as trinity does: each call becomes a one-atom chain with a
 * completion ring, so the fuzzer's argument generators reach the atom
 * path (validation, the runner with its seccomp, ptrace and audit work,
 * a cache miss and the handoff) for every system call it makes.
 *
 * A call that atoms refuse, or a chain that fails before its atom ran
 * (nothing ran then), is made directly instead; so is every call when the
 * kernel has no syslets, and the syslet calls themselves. The result and
 * errno are the call's own either way.
 *
 * Each thread has its own ring and atoms. A caller that leaves a call by
 * a signal handler's longjmp() leaves its completion behind; the next
 * wait skips completions of other atoms, and atoms are reused only after
 * SLOTS calls.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/syslet.h>

#define SLOTS	64	/* a power of two: the ring's size */

struct thread_ring {
	struct async_head_user	head;
	__u64			ring[SLOTS];
	struct syslet_uatom	atoms[SLOTS];
	__u64			args[SLOTS][6];
	__s64			results[SLOTS];
	unsigned int		next;
	int			ready;
};

static __thread struct thread_ring tr;
static long (*real_syscall)(long nr, ...);
static int have_syslets = -1;

static long direct(long nr, const long *a)
{
	return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static int syslets_available(void)
{
	if (have_syslets < 0)
		have_syslets = !access("/proc/sys/kernel/syslet/abi_version", R_OK);
	return have_syslets;
}

/* Take completions until @atom's; 0 once it came, -1 if waiting failed. */
static int wait_for(const struct syslet_uatom *atom)
{
	for (;;) {
		__u64 idx = tr.head.user_ring_idx;
		__u64 *slot = &tr.ring[idx & (SLOTS - 1)];
		__u64 v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

		if (!v) {
			if (real_syscall(__NR_async_wait, 1, idx, &tr.head, NULL) < 0 &&
			    errno != EINTR)
				return -1;
			continue;
		}
		__atomic_store_n(slot, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&tr.head.user_ring_idx, idx + 1, __ATOMIC_RELEASE);
		if (v == (__u64)(unsigned long)atom)
			return 0;
	}
}

long syscall(long nr, ...)
{
	struct syslet_uatom *atom;
	unsigned int k, i;
	va_list ap;
	long a[6], r;
	__s64 v;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real_syscall)
		real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if ((nr >= __NR_async_exec && nr <= __NR_threadlet_lease) ||
	    !syslets_available())
		return direct(nr, a);
	if (!tr.ready) {
		tr.head.size = sizeof(tr.head);
		tr.head.completion_ring = (unsigned long)tr.ring;
		tr.head.ring_size_bytes = sizeof(tr.ring);
		tr.ready = 1;
	}

	k = tr.next++ % SLOTS;
	atom = &tr.atoms[k];
	memset(atom, 0, sizeof(*atom));
	atom->nr = nr;
	atom->ret_ptr = (unsigned long)&tr.results[k];
	for (i = 0; i < 6; i++) {
		tr.args[k][i] = a[i];
		atom->arg_ptr[i] = (unsigned long)&tr.args[k][i];
	}
	r = real_syscall(__NR_async_exec, atom, &tr.head);
	if (r == 0) {
		if (wait_for(atom))
			return -1;
	} else if (r != (long)atom) {
		/* Refused, or interrupted before it ran: nothing ran. */
		return direct(nr, a);
	}
	v = tr.results[k];
	if (v < 0 && v > -4096) {
		errno = -v;
		return -1;
	}
	return v;
}
