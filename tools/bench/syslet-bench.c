// SPDX-License-Identifier: GPL-2.0
/*
 * Cached-path cost of a syslet chain: k cheap system calls submitted with one
 * async_exec() against the same k calls made directly, in the same boot.
 * Reports the ratio syslet/direct (below 1: the chain is faster) as the
 * median of paired, interleaved repeats with its min and max. Each result
 * line starts with "BENCH|" for the host to collect.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/syslet.h>

#define REPEATS		7
#define CALLS_PER_RUN	120000

enum op { OP_GETPPID, OP_PREAD1 };
static const char *const op_names[] = { "getppid", "pread-1B-cached" };

static int file_fd;
static char byte;
static __u64 arg_fd, arg_buf, arg_len = 1, arg_off;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void direct_calls(enum op op, int k, long iters)
{
	long i;
	int j;

	for (i = 0; i < iters; i++) {
		for (j = 0; j < k; j++) {
			if (op == OP_GETPPID)
				syscall(__NR_getppid);
			else
				syscall(__NR_pread64, file_fd, &byte, 1, 0);
		}
	}
}

static void build_chain(struct syslet_uatom *a, enum op op, int k)
{
	int j;

	memset(a, 0, k * sizeof(*a));
	for (j = 0; j < k; j++) {
		a[j].next = j + 1 < k ? (__u64)(uintptr_t)&a[j + 1] : 0;
		if (op == OP_GETPPID) {
			a[j].nr = __NR_getppid;
		} else {
			a[j].nr = __NR_pread64;
			a[j].arg_ptr[0] = (__u64)(uintptr_t)&arg_fd;
			a[j].arg_ptr[1] = (__u64)(uintptr_t)&arg_buf;
			a[j].arg_ptr[2] = (__u64)(uintptr_t)&arg_len;
			a[j].arg_ptr[3] = (__u64)(uintptr_t)&arg_off;
		}
	}
}

static int syslet_calls(struct syslet_uatom *a, int k, long iters)
{
	struct async_head_user ahu = { .size = sizeof(ahu) };
	long i;

	for (i = 0; i < iters; i++) {
		if (syscall(__NR_async_exec, a, &ahu) != (long)(uintptr_t)&a[k - 1])
			return -1;
	}
	return 0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static int bench(enum op op, int k)
{
	struct syslet_uatom a[16];
	double ratio[REPEATS], direct_ns = 0, syslet_ns = 0;
	long iters = CALLS_PER_RUN / k;
	int r;

	build_chain(a, op, k);
	direct_calls(op, k, iters / 10);	/* warm up */
	if (syslet_calls(a, k, iters / 10))
		return -1;
	for (r = 0; r < REPEATS; r++) {
		double t0 = now(), t1, t2;

		direct_calls(op, k, iters);
		t1 = now();
		if (syslet_calls(a, k, iters))
			return -1;
		t2 = now();
		ratio[r] = (t2 - t1) / (t1 - t0);
		direct_ns += (t1 - t0) * 1e9 / (iters * k) / REPEATS;
		syslet_ns += (t2 - t1) * 1e9 / (iters * k) / REPEATS;
	}
	qsort(ratio, REPEATS, sizeof(ratio[0]), cmp_double);
	printf("BENCH|%s|%d|%.3f|%.3f|%.3f|%.0f|%.0f\n", op_names[op], k,
	       ratio[REPEATS / 2], ratio[0], ratio[REPEATS - 1], direct_ns,
	       syslet_ns);
	return 0;
}

int main(void)
{
	static const int ks[] = { 1, 4, 16 };
	char path[] = "/tmp/syslet-bench-XXXXXX";
	int op, i;

	file_fd = mkstemp(path);
	if (file_fd < 0 || write(file_fd, "x", 1) != 1) {
		perror("syslet-bench: temp file");
		return 1;
	}
	arg_fd = file_fd;
	arg_buf = (__u64)(uintptr_t)&byte;
	printf("BENCH-HEADER|op|k|ratio median|min|max|direct ns/call|syslet ns/call\n");
	for (op = OP_GETPPID; op <= OP_PREAD1; op++) {
		for (i = 0; i < 3; i++) {
			if (bench(op, ks[i])) {
				printf("syslet-bench: async_exec failed\n");
				return 1;
			}
		}
	}
	unlink(path);
	return 0;
}
