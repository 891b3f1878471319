// SPDX-License-Identifier: GPL-2.0
/*
 * A loop of chains that never block, for profiling the cached path
 * (guest/miss-profile.sh): K atoms of getppid() or of a 1-byte pread()
 * from the page cache, each result stored, one async_exec() per chain,
 * with or without a completion ring. No timing here: the profile is the
 * kernel's function profiler; syslet-bench times the same chains.
 *
 * usage: syslet-cached-loop getppid|pread K COUNT ring|noring
 * Exit status 1 if a chain fails, goes asynchronous or stores a wrong
 * result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/syslet.h>

#define MAX_K	16

int main(int argc, char **argv)
{
	struct async_head_user ahu = { .size = sizeof(ahu) };
	static struct syslet_uatom atoms[MAX_K];
	static __s64 results[MAX_K];
	__u64 slots[4] = { 0 }, fd, buf, len = 1, off = 0;
	char path[] = "/tmp/syslet-cached-XXXXXX", byte;
	long count, i, want;
	int k, j, pread_op;

	if (argc != 5) {
		fprintf(stderr, "usage: %s getppid|pread K COUNT ring|noring\n",
			argv[0]);
		return 2;
	}
	pread_op = !strcmp(argv[1], "pread");
	k = atoi(argv[2]);
	count = atol(argv[3]);
	if (k < 1 || k > MAX_K || count < 1)
		return 2;
	if (!strcmp(argv[4], "ring")) {
		ahu.completion_ring = (__u64)(unsigned long)slots;
		ahu.ring_size_bytes = sizeof(slots);
	}

	fd = mkstemp(path);
	if ((int)fd < 0 || write(fd, "x", 1) != 1) {
		perror("syslet-cached-loop: temp file");
		return 1;
	}
	unlink(path);
	buf = (__u64)(unsigned long)&byte;
	for (j = 0; j < k; j++) {
		atoms[j].next = j + 1 < k ? (__u64)(unsigned long)&atoms[j + 1] : 0;
		atoms[j].ret_ptr = (__u64)(unsigned long)&results[j];
		if (pread_op) {
			atoms[j].nr = __NR_pread64;
			atoms[j].arg_ptr[0] = (__u64)(unsigned long)&fd;
			atoms[j].arg_ptr[1] = (__u64)(unsigned long)&buf;
			atoms[j].arg_ptr[2] = (__u64)(unsigned long)&len;
			atoms[j].arg_ptr[3] = (__u64)(unsigned long)&off;
		} else {
			atoms[j].nr = __NR_getppid;
		}
	}
	want = pread_op ? 1 : getppid();

	for (i = 0; i < count; i++) {
		if (syscall(__NR_async_exec, atoms, &ahu) !=
		    (long)(unsigned long)&atoms[k - 1])
			return 1;
		for (j = 0; j < k; j++) {
			if (results[j] != want)
				return 1;
		}
	}
	return 0;
}
