// SPDX-License-Identifier: GPL-2.0
/*
 * A loop of cache misses for profiling (guest/miss-profile.sh): a one-atom
 * chain reads an empty pipe, so it misses; the head writes the byte and
 * takes the completion from the ring. No timing here: the profile is the
 * kernel's (function profiler, tracepoints, context switch counts).
 *
 * usage: syslet-miss-loop COUNT leader|thread
 * Exit status 1 if a chain does not miss or its completion is wrong.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/syslet.h>
#include <linux/time_types.h>

static long count;

static long async_exec(struct syslet_uatom *atom, struct async_head_user *ahu)
{
	return syscall(__NR_async_exec, atom, ahu);
}

static void *miss_loop(void *arg)
{
	static const struct __kernel_timespec ten_s = { .tv_sec = 10 };
	struct async_head_user ahu = { .size = sizeof(ahu) };
	struct syslet_uatom atom = { .nr = __NR_read };
	__u64 slots[4] = { 0 }, fd, buf, len = 1;
	__s64 ret;
	char byte;
	int fds[2];
	long i;

	if (pipe(fds))
		return (void *)1L;
	fd = fds[0];
	buf = (__u64)(unsigned long)&byte;
	atom.arg_ptr[0] = (__u64)(unsigned long)&fd;
	atom.arg_ptr[1] = (__u64)(unsigned long)&buf;
	atom.arg_ptr[2] = (__u64)(unsigned long)&len;
	atom.ret_ptr = (__u64)(unsigned long)&ret;
	ahu.completion_ring = (__u64)(unsigned long)slots;
	ahu.ring_size_bytes = sizeof(slots);

	for (i = 0; i < count; i++) {
		__u64 *slot = &slots[ahu.user_ring_idx % 4];

		if (async_exec(&atom, &ahu) != 0 || write(fds[1], "m", 1) != 1)
			return (void *)1L;
		while (!__atomic_load_n(slot, __ATOMIC_ACQUIRE))
			if (syscall(__NR_async_wait, 1, ahu.user_ring_idx, &ahu,
				    &ten_s) < 0)
				return (void *)1L;
		if (*slot != (__u64)(unsigned long)&atom || ret != 1)
			return (void *)1L;
		*slot = 0;
		ahu.user_ring_idx++;
	}
	close(fds[0]);
	close(fds[1]);
	return NULL;
}

int main(int argc, char **argv)
{
	void *res;
	pthread_t t;

	if (argc != 3 || (strcmp(argv[2], "leader") && strcmp(argv[2], "thread"))) {
		fprintf(stderr, "usage: %s COUNT leader|thread\n", argv[0]);
		return 2;
	}
	count = atol(argv[1]);
	if (!strcmp(argv[2], "leader"))
		return miss_loop(NULL) ? 1 : 0;
	if (pthread_create(&t, NULL, miss_loop, NULL) || pthread_join(t, &res))
		return 1;
	return res ? 1 : 0;
}
