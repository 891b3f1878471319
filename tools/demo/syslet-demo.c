// SPDX-License-Identifier: GPL-2.0
/*
 * A first look at syslets: one async_exec() call opens a file, reads it,
 * writes what it read to stdout and closes it, each atom fed by the one
 * before; then a chain that stops early because its open fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/syslet.h>

#define u64p(p) ((__u64)(uintptr_t)(p))

static const char *const names[] = { "openat", "read", "write", "close" };

static void atom(struct syslet_uatom *a, long nr, __s64 *ret,
		 struct syslet_uatom *next, __u64 flags,
		 __u64 *a0, __u64 *a1, __u64 *a2)
{
	memset(a, 0, sizeof(*a));
	a->nr = nr;
	a->ret_ptr = u64p(ret);
	a->next = u64p(next);
	a->flags = flags;
	a->arg_ptr[0] = u64p(a0);
	a->arg_ptr[1] = u64p(a1);
	a->arg_ptr[2] = u64p(a2);
}

static int run_chain(const char *path)
{
	struct async_head_user ahu = { .size = sizeof(ahu) };
	struct syslet_uatom a[4];
	__s64 fd = 0, nread = 0, nwritten = 0, closed = 0;
	__s64 *results[4] = { &fd, &nread, &nwritten, &closed };
	char buf[256];
	__u64 dirfd = (__u64)(long)AT_FDCWD, pathp = u64p(path);
	__u64 oflags = O_RDONLY, bufp = u64p(buf), len = sizeof(buf);
	__u64 out = STDOUT_FILENO;
	long last;
	int i;

	atom(&a[0], __NR_openat, &fd, &a[1], SYSLET_STOP_ON_NEGATIVE,
	     &dirfd, &pathp, &oflags);
	atom(&a[1], __NR_read, &nread, &a[2], SYSLET_STOP_ON_NON_POSITIVE,
	     (__u64 *)&fd, &bufp, &len);
	atom(&a[2], __NR_write, &nwritten, &a[3], 0,
	     &out, &bufp, (__u64 *)&nread);
	atom(&a[3], __NR_close, &closed, NULL, 0, (__u64 *)&fd, NULL, NULL);

	printf("chain: openat(\"%s\") -> read(fd) -> write(1, buf, n) -> close(fd)\n",
	       path);
	fflush(stdout);
	last = syscall(__NR_async_exec, a, &ahu);
	if (last < 0) {
		printf("async_exec refused the chain: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < 4; i++) {
		printf("  atom %d %-6s result %lld%s\n", i, names[i],
		       (long long)*results[i],
		       u64p(&a[i]) == (__u64)last ? "   <- last atom that ran" : "");
	}
	return 0;
}

int main(void)
{
	FILE *f = fopen("/proc/sys/kernel/syslet/abi_version", "r");
	int version = 0;

	if (!f || fscanf(f, "%d", &version) != 1) {
		printf("syslet-demo: this kernel has no syslets\n");
		return 1;
	}
	fclose(f);
	printf("syslet ABI version %d\n", version);
	if (run_chain("/etc/syslet-demo.txt"))
		return 1;
	printf("a chain whose open fails stops there:\n");
	return run_chain("/etc/no-such-file");
}
