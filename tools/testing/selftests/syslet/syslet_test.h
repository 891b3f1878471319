/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the syslet selftests: raw system call wrappers, atom
 * builders, and a page that is guaranteed not to be mapped.
 */
#ifndef SYSLET_TEST_H
#define SYSLET_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

static inline long async_exec_batch(struct syslet_batch_entry *entries,
				    unsigned int nr,
				    struct async_head_user *ahu,
				    unsigned int flags)
{
	return syscall(__NR_async_exec_batch, entries, nr, ahu, flags);
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

/* The number after "@key:" in /proc/self/status, or -1. */
static inline int proc_status_int(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	int val = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':' &&
		    sscanf(line + n + 1, "%d", &val) == 1)
			break;
	fclose(f);
	return val;
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
 * Read the stat file at @path into @buf: a pointer to its third field
 * (the state letter), after the command name, or NULL.
 */
static inline char *proc_stat_fields(const char *path, char *buf, size_t size)
{
	char *p;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p + 2 : NULL;
}

/* The state letter of thread @tid of this process, or 0. */
static inline char thread_state(pid_t tid)
{
	char path[64], buf[256], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	p = proc_stat_fields(path, buf, sizeof(buf));
	return p ? *p : 0;
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

/*
 * Completion rings, consumed as the ABI says, and a one-atom chain that
 * blocks on an empty pipe until its writer end is written.
 */
static const struct __kernel_timespec ten_s = { .tv_sec = 10 };
static const struct __kernel_timespec ten_ms = { .tv_nsec = 10 * 1000 * 1000 };

static inline void ring_init(struct async_head_user *ahu, __u64 *slots,
			     unsigned int n)
{
	memset(ahu, 0, sizeof(*ahu));
	memset(slots, 0, n * sizeof(*slots));
	ahu->size = sizeof(*ahu);
	ahu->completion_ring = uptr(slots);
	ahu->ring_size_bytes = n * sizeof(*slots);
}

/* Take the next completion, as the ABI says; 0 if there is none yet. */
static inline __u64 ring_pop(struct async_head_user *ahu, __u64 *slots,
			     unsigned int n)
{
	__u64 idx = ahu->user_ring_idx;
	__u64 *slot = &slots[idx & (n - 1)];
	__u64 v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (!v)
		return 0;
	__atomic_store_n(slot, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ahu->user_ring_idx, idx + 1, __ATOMIC_RELEASE);
	return v;
}

/*
 * Wait up to ten seconds for the next completion and take it. Like
 * epoll_wait(), async_wait() fails with EINTR after a stop signal too.
 */
static inline __u64 ring_next(struct async_head_user *ahu, __u64 *slots,
			      unsigned int n)
{
	long r;

	do {
		r = async_wait(1, ahu->user_ring_idx, ahu, &ten_s);
	} while (r == -1 && errno == EINTR);
	if (r < 1)
		return 0;
	return ring_pop(ahu, slots, n);
}

/* An atom reading up to 8 bytes from a pipe, the chain's only one. */
struct pipe_read {
	int fds[2];
	__u64 fd, buf, len;
	char data[8];
	__s64 ret;
	struct syslet_uatom atom;
};

static inline int pipe_read_init(struct pipe_read *pr, __u64 flags)
{
	if (pipe(pr->fds))
		return -1;
	pr->fd = pr->fds[0];
	pr->buf = uptr(pr->data);
	pr->len = sizeof(pr->data);
	pr->ret = SENTINEL;
	ATOM3(&pr->atom, __NR_read, &pr->ret, NULL, flags,
	      &pr->fd, &pr->buf, &pr->len);
	return 0;
}

static inline void pipe_read_fini(struct pipe_read *pr)
{
	close(pr->fds[0]);
	close(pr->fds[1]);
}

/* Poll the ring for its next completion for up to ten seconds; 0 if none. */
static inline __u64 ring_poll(struct async_head_user *ahu, __u64 *slots,
			      unsigned int n)
{
	__u64 v = 0;
	int i;

	for (i = 0; !v && i < 10000; i++) {
		v = ring_pop(ahu, slots, n);
		if (!v)
			usleep(1000);
	}
	return v;
}

/*
 * Make one cache miss in the calling thread and see it complete: a chain
 * blocked on an empty pipe moves (async_exec() returns 0), the caller fills
 * the pipe, and the completion arrives, waited for with async_wait() or,
 * with @poll, polled for: then the task that blocked parks and the caller
 * stays in the spare (an async_wait() caller may be taken back by the task
 * that posts). 0 on success, else the step that failed.
 */
static inline int miss_and_complete(int poll)
{
	struct async_head_user ahu;
	struct pipe_read pr;
	__u64 slots[4], done;
	int err = 0;

	if (pipe_read_init(&pr, 0))
		return 1;
	ring_init(&ahu, slots, 4);
	if (async_exec(&pr.atom, &ahu) != 0) {
		err = 2;
	} else if (write(pr.fds[1], "m", 1) != 1) {
		err = 3;
	} else {
		done = poll ? ring_poll(&ahu, slots, 4) :
			      ring_next(&ahu, slots, 4);
		if (done != uptr(&pr.atom) || pr.ret != 1)
			err = 4;
	}
	pipe_read_fini(&pr);
	return err;
}

static inline int miss_once(void)
{
	return miss_and_complete(0);
}

/*
 * Submit a chain that asks to move at once (SYSLET_ASYNC) and return 0 if
 * it was refused a spare: it ran in the caller as a cached chain would,
 * with the right result, and sync_chains counted it.
 */
static inline int sync_chain_counted(void)
{
	struct async_head_user ahu;
	struct syslet_uatom a;
	__s64 ret = SENTINEL;
	__u64 slots[4];

	ring_init(&ahu, slots, 4);
	ATOM0(&a, __NR_getppid, &ret, NULL, SYSLET_ASYNC);
	if (async_exec(&a, &ahu) != (long)uptr(&a))
		return 1;
	if (ret != getppid())
		return 2;
	return ahu.sync_chains == 1 && ahu.kernel_ring_idx == 0 ? 0 : 3;
}

/* Die of SIGABRT with a core dump (to /tmp, core_pattern's default). */
static inline void dump_core(void)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };

	if (chdir("/tmp") || setrlimit(RLIMIT_CORE, &unlimited))
		_exit(103);
	abort();
}

/* 1 when the cgroup v2 @cg reports itself frozen, 0 when not, -1 on error. */
static inline int read_frozen(const char *cg)
{
	char path[128], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.events", cg);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return !!strstr(buf, "frozen 1");
}

/* Write @val to the file @file in the directory @dir (a cgroup's, say). */
static inline int write_str(const char *dir, const char *file,
			    const char *val)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * Mount the cgroup v2 hierarchy at CGROUP2 unless it is there and make the cgroup
 * @name under it, enabling @controllers ("+pids", or "" for none) for its
 * children; 0 or -1 with errno.
 */
#define CGROUP2 "/tmp/syslet-cgroup"

static inline int cgroup2_make(const char *name, const char *controllers,
			       char *path, size_t size)
{
	mkdir(CGROUP2, 0755);
	if (access(CGROUP2 "/cgroup.procs", F_OK) &&
	    mount("none", CGROUP2, "cgroup2", 0, NULL))
		return -1;
	if (*controllers &&
	    write_str(CGROUP2, "cgroup.subtree_control", controllers))
		return -1;
	snprintf(path, size, "%s/%s", CGROUP2, name);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

#define SYSLET_STR_(x) #x
#define SYSLET_STR(x) SYSLET_STR_(x)

/*
 * The frame both threadlet entries below share: the callee-saved
 * registers, which the restore point (label 3, where the caller goes on
 * after a miss) pops off the caller's stack.
 */
#define THREADLET_ASM_BEGIN(name)					\
	".text\n"							\
	".globl " #name "\n"						\
	".type " #name ", @function\n"					\
	#name ":\n"							\
	"	push %rbp\n"						\
	"	push %rbx\n"						\
	"	push %r12\n"						\
	"	push %r13\n"						\
	"	push %r14\n"						\
	"	push %r15\n"
#define THREADLET_ASM_END(name)						\
	"3:	pop %r15\n"						\
	"	pop %r14\n"						\
	"	pop %r13\n"						\
	"	pop %r12\n"						\
	"	pop %rbx\n"						\
	"	pop %rbp\n"						\
	"	ret\n"							\
	".size " #name ", .-" #name "\n"

/*
 * long threadlet_exec(long (*fn)(void *), void *arg,
 *		       struct async_head_user *ahu, __u64 event)
 *
 * 1: fn ran to its end in the caller (on a lent thread's stack and TLS,
 * or, when threadlet_on() says it cannot move, as a plain call); 0: it
 * blocked, and goes on in the lent thread, which posts @event when done;
 * a negative errno from threadlet_on(). The caller's callee-saved
 * registers hold what the threadlet needs after a miss; threadlet_on()'s
 * restore point pops them off the caller's stack.
 */
long threadlet_exec(long (*fn)(void *), void *arg,
		    struct async_head_user *ahu, __u64 event);
asm(THREADLET_ASM_BEGIN(threadlet_exec)
	"	mov %rdi, %r12\n"
	"	mov %rsi, %r13\n"
	"	mov %rdx, %r14\n"
	"	mov %rcx, %r15\n"
	"	mov %rsp, %rdi\n"
	"	lea 3f(%rip), %rsi\n"
	"	mov %r14, %rdx\n"
	"	mov $" SYSLET_STR(__NR_threadlet_on) ", %eax\n"
	"	syscall\n"
	"	test %rax, %rax\n"
	"	js 3f\n"
	"	jz 2f\n"
	"	mov %rsp, %rbx\n"
	"	mov %rax, %rsp\n"
	"	mov %r13, %rdi\n"
	"	call *%r12\n"
	"	mov $" SYSLET_STR(__NR_threadlet_off) ", %eax\n"
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jz 1f\n"
	"	mov %rbx, %rsp\n"
	"	jmp 3f\n"
    /* Asynchronous: this task is the lent thread now; it never returns. */
	"1:	mov %r15, %rdi\n"
	"	mov %r14, %rsi\n"
	"	xor %edx, %edx\n"
	"	mov $" SYSLET_STR(__NR_async_thread) ", %eax\n"
	"	syscall\n"
	"	ud2\n"
	"2:	sub $8, %rsp\n"
	"	mov %r13, %rdi\n"
	"	call *%r12\n"
	"	add $8, %rsp\n"
	"	mov $1, %eax\n"
	THREADLET_ASM_END(threadlet_exec));

/*
 * long threadlet_switch(struct threadlet_area *area, long (*fn)(void *),
 *			 void *arg, struct async_head_user *ahu,
 *			 __u64 event, __u64 seq)
 *
 * The cached path of a threadlet on the area's lease, with no system
 * call: 1, fn ran to its end in the caller; 0, it blocked and goes on
 * in the leased thread, which posts @event; 2, the lease read 0 once the
 * area was active: nothing ran. @seq is the area's active number, never
 * 0 and never used twice by the thread.
 */
long threadlet_switch(struct threadlet_area *area, long (*fn)(void *),
		      void *arg, struct async_head_user *ahu, __u64 event,
		      __u64 seq);
asm(THREADLET_ASM_BEGIN(threadlet_switch)
	"	mov %rdi, %r12\n"
	"	mov %r8, %r13\n"
	"	mov %rcx, %r14\n"
	"	mov %r9, %rbp\n"
	"	mov %rsp, %rbx\n"
	"	lea 3f(%rip), %rax\n"
	"	mov %rax, 8(%r12)\n"
	"	mov %rsp, 16(%r12)\n"
	"	rdfsbase %rax\n"
	"	mov %rax, 24(%r12)\n"
	"	mov %rbp, %rax\n"
	"	xchg %rax, (%r12)\n"
	"	mov 32(%r12), %rax\n"
	"	test %rax, %rax\n"
	"	jz 4f\n"
	"	mov 40(%r12), %rcx\n"
	"	wrfsbase %rcx\n"
	"	mov %rax, %rsp\n"
	"	mov %rdx, %rdi\n"
	"	call *%rsi\n"
	"	mov %rbp, %rax\n"
	"	xor %ecx, %ecx\n"
	"	lock cmpxchg %rcx, (%r12)\n"
	"	jne 1f\n"
	"	mov 24(%r12), %rax\n"
	"	wrfsbase %rax\n"
	"	mov %rbx, %rsp\n"
	"	mov $1, %eax\n"
	"	jmp 3f\n"
    /* Moved: this task is the leased thread now; it never returns. */
	"1:	mov %r13, %rdi\n"
	"	mov %r14, %rsi\n"
	"	xor %edx, %edx\n"
	"	mov $" SYSLET_STR(__NR_async_thread) ", %eax\n"
	"	syscall\n"
	"	ud2\n"
	"4:	movq $0, (%r12)\n"
	"	mov $2, %eax\n"
    /* The restore point: rax is 0 here after a move. */
	THREADLET_ASM_END(threadlet_switch));

static inline long threadlet_lease(struct threadlet_area *area,
				   struct async_head_user *ahu,
				   unsigned int flags)
{
	return syscall(__NR_threadlet_lease, area, ahu, flags);
}

/*
 * threadlet_exec() on @area's lease, taken from @ahu first if it has none:
 * as threadlet_exec() (1 cached, 0 moved), and a spoilt lease is given
 * back once the threadlet has ended. Without a lease it runs in place.
 */
static inline long threadlet_exec_leased(struct threadlet_area *area,
					 long (*fn)(void *), void *arg,
					 struct async_head_user *ahu,
					 __u64 event)
{
	static __thread __u64 seq;
	long ret = 2;

	if (area->lease_sp || !threadlet_lease(area, ahu, 0))
		ret = threadlet_switch(area, fn, arg, ahu, event, ++seq);
	if (ret && !area->lease_sp)
		threadlet_lease(area, NULL, SYSLET_LEASE_RETURN);
	if (ret == 2) {
		fn(arg);
		ret = 1;
	}
	return ret;
}

#endif /* SYSLET_TEST_H */
