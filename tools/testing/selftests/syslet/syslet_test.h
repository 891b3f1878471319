/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the syslet selftests: raw system call wrappers, atom
 * builders, and a page that is guaranteed not to be mapped.
 */
#ifndef SYSLET_TEST_H
#define SYSLET_TEST_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/syslet.h>
#include <linux/time_types.h>

#define SYSLET_PROC "/proc/sys/kernel/syslet/"
#define SENTINEL ((__s64)0x5a5a5a5a5a5a5a5aLL)

static inline long async_exec(struct syslet_uatom *atom,
			      struct async_head_user *ahu)
{
	return syscall(__NR_async_exec, atom, ahu);
}

static inline __u64 uptr(const void *p)
{
	return (__u64)(uintptr_t)p;
}

static inline long async_wait(unsigned long min_wait_events,
			      unsigned long user_ring_idx,
			      struct async_head_user *ahu,
			      const struct __kernel_timespec *timeout)
{
	return syscall(__NR_async_wait, min_wait_events, user_ring_idx, ahu,
		       timeout);
}

/* A head with no ring: chains run synchronously. */
static inline struct async_head_user head_plain(void)
{
	struct async_head_user ahu = { .size = sizeof(ahu) };

	return ahu;
}

/*
 * Fill @a to call @nr with up to six argument pointers (NULL means a zero
 * argument), storing the result in @ret and continuing at @next.
 */
static inline void atom_set(struct syslet_uatom *a, long nr, __s64 *ret,
			    struct syslet_uatom *next, __u64 flags,
			    const void *a0, const void *a1, const void *a2,
			    const void *a3, const void *a4, const void *a5)
{
	memset(a, 0, sizeof(*a));
	a->nr = nr;
	a->ret_ptr = uptr(ret);
	a->next = uptr(next);
	a->flags = flags;
	a->arg_ptr[0] = uptr(a0);
	a->arg_ptr[1] = uptr(a1);
	a->arg_ptr[2] = uptr(a2);
	a->arg_ptr[3] = uptr(a3);
	a->arg_ptr[4] = uptr(a4);
	a->arg_ptr[5] = uptr(a5);
}

#define ATOM0(a, nr, ret, next, fl) \
	atom_set(a, nr, ret, next, fl, NULL, NULL, NULL, NULL, NULL, NULL)
#define ATOM1(a, nr, ret, next, fl, p0) \
	atom_set(a, nr, ret, next, fl, p0, NULL, NULL, NULL, NULL, NULL)
#define ATOM3(a, nr, ret, next, fl, p0, p1, p2) \
	atom_set(a, nr, ret, next, fl, p0, p1, p2, NULL, NULL, NULL)

/*
 * What a system call the kernel does not implement returns, asked of the
 * kernel itself by calling one directly, for comparison with atoms.
 */
static inline long unknown_syscall_result(void)
{
	return syscall(100000) == -1 ? -errno : 0;
}

/* The address of a page that was mapped and is not any more. */
static inline void *unmapped_page(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, pg);
	return p;
}

static inline int read_int_file(const char *path, int *val)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%d", val) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

static inline int write_int_file(const char *path, int val)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%d\n", val) > 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/*
 * Wait at most 10 s for child @pid: a child that does not end is killed
 * and the wait fails, so a hang fails the test rather than the run.
 */
static inline int wait_child(pid_t pid, int *status, int flags)
{
	int i;

	for (i = 0; i < 1000; i++) {
		pid_t r = waitpid(pid, status, WNOHANG | flags);

		if (r == pid)
			return 0;
		if (r < 0)
			return -1;
		usleep(10 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return -1;
}

#endif /* SYSLET_TEST_H */
