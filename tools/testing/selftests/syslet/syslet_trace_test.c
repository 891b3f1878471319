// SPDX-License-Identifier: GPL-2.0
/*
 * An atom is a system call made by the caller: ptrace syscall stops and
 * seccomp filters see each one, with its own number and arguments, and a
 * tracer may change it as it may change any system call.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "../kselftest_harness.h"
#include "syslet_test.h"

#define MAX_STOPS 64

/* Runs in the traced child: getppid, then sched_yield, in one chain. */
static __s64 child_results[2];

static int child_chain(void)
{
	struct async_head_user ahu = head_plain();
	struct syslet_uatom a[2];

	/* getppid ignores it; exit, if a tracer smuggled it in, would not. */
	static const __u64 exit_code = 42;

	child_results[0] = SENTINEL;
	child_results[1] = SENTINEL;
	ATOM1(&a[0], __NR_getppid, &child_results[0], &a[1], 0, &exit_code);
	ATOM0(&a[1], __NR_sched_yield, &child_results[1], NULL, 0);
	return async_exec(a, &ahu) == (long)uptr(&a[1]) ? 0 : 100;
}

struct trace_log {
	int nr_stops;
	long nr[MAX_STOPS];
	int exit_stop[MAX_STOPS];
};

/*
 * Trace @child_fn in a child through every syscall stop between its
 * async_exec() entry and exit, calling @edit at each of those stops.
 * Returns the child's exit status.
 */
static int trace_child(int (*child_fn)(void), struct trace_log *log,
		       void (*edit)(pid_t pid, long nr, int exit_stop))
{
	int status, inside = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(101);
		raise(SIGSTOP);
		_exit(child_fn());
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
		return -1;
	ptrace(PTRACE_SETOPTIONS, pid, 0,
	       PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
	memset(log, 0, sizeof(*log));

	for (;;) {
		struct __ptrace_syscall_info info;

		if (ptrace(PTRACE_SYSCALL, pid, 0, 0))
			return -1;
		if (waitpid(pid, &status, 0) != pid)
			return -1;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return status;
		if (WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info) <= 0)
			return -1;

		if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
			long nr = info.entry.nr;

			if (nr == __NR_async_exec && !inside) {
				inside = 1;
				continue;
			}
			if (inside && log->nr_stops < MAX_STOPS) {
				log->nr[log->nr_stops] = nr;
				log->exit_stop[log->nr_stops++] = 0;
				if (edit)
					edit(pid, nr, 0);
			}
		} else if (info.op == PTRACE_SYSCALL_INFO_EXIT && inside) {
			long nr = ptrace(PTRACE_PEEKUSER, pid,
					 offsetof(struct user_regs_struct, orig_rax), 0);

			if (nr == __NR_async_exec) {
				inside = 0;
				continue;
			}
			if (log->nr_stops < MAX_STOPS) {
				log->nr[log->nr_stops] = nr;
				log->exit_stop[log->nr_stops++] = 1;
				if (edit)
					edit(pid, nr, 1);
			}
		}
	}
}

static void poke(pid_t pid, size_t off, long val)
{
	ptrace(PTRACE_POKEUSER, pid, off, val);
}

/* Trace @child_fn with @edit at every stop; it must exit with 0. */
#define EXPECT_TRACED_CHILD_OK(child_fn, log, edit)			\
	do {								\
		int status = trace_child(child_fn, log, edit);		\
									\
		ASSERT_TRUE(WIFEXITED(status));				\
		EXPECT_EQ(0, WEXITSTATUS(status));			\
	} while (0)

TEST(tracer_sees_every_atom)
{
	struct trace_log log;

	EXPECT_TRACED_CHILD_OK(child_chain, &log, NULL);
	ASSERT_EQ(4, log.nr_stops);
	EXPECT_EQ(__NR_getppid, log.nr[0]);
	EXPECT_EQ(0, log.exit_stop[0]);
	EXPECT_EQ(__NR_getppid, log.nr[1]);
	EXPECT_EQ(1, log.exit_stop[1]);
	EXPECT_EQ(__NR_sched_yield, log.nr[2]);
	EXPECT_EQ(0, log.exit_stop[2]);
	EXPECT_EQ(__NR_sched_yield, log.nr[3]);
	EXPECT_EQ(1, log.exit_stop[3]);
}

static void to_getpid(pid_t pid, long nr, int exit_stop)
{
	if (nr == __NR_getppid && !exit_stop)
		poke(pid, offsetof(struct user_regs_struct, orig_rax),
		     __NR_getpid);
}

static int child_expects_getpid(void)
{
	int ret = child_chain();

	return ret ? ret : (child_results[0] == getpid() ? 0 : 102);
}

TEST(tracer_changes_atom_number)
{
	struct trace_log log;

	EXPECT_TRACED_CHILD_OK(child_expects_getpid, &log, to_getpid);
	/* The exit stop reports the number the tracer put in. */
	EXPECT_EQ(__NR_getpid, log.nr[1]);
}

static void to_exit(pid_t pid, long nr, int exit_stop)
{
	if (nr == __NR_getppid && !exit_stop)
		poke(pid, offsetof(struct user_regs_struct, orig_rax),
		     __NR_exit);
}

static int child_expects_einval(void)
{
	int ret = child_chain();

	if (ret)
		return ret;
	return child_results[0] == -EINVAL && child_results[1] == 0 ? 0 : 103;
}

TEST(tracer_cannot_smuggle_refused_syscall)
{
	struct trace_log log;

	/* Had exit run, the child would have ended at once with status 42. */
	EXPECT_TRACED_CHILD_OK(child_expects_einval, &log, to_exit);
	EXPECT_EQ(4, log.nr_stops);
}

static void skip_with_value(pid_t pid, long nr, int exit_stop)
{
	if (nr == __NR_getppid && !exit_stop) {
		poke(pid, offsetof(struct user_regs_struct, orig_rax), -1);
		poke(pid, offsetof(struct user_regs_struct, rax), 4242);
	}
}

static int child_expects_4242(void)
{
	int ret = child_chain();

	return ret ? ret : (child_results[0] == 4242 ? 0 : 104);
}

TEST(tracer_skips_atom_and_sets_result)
{
	struct trace_log log;

	EXPECT_TRACED_CHILD_OK(child_expects_4242, &log, skip_with_value);
}

static void change_result(pid_t pid, long nr, int exit_stop)
{
	if (nr == __NR_getppid && exit_stop)
		poke(pid, offsetof(struct user_regs_struct, rax), 777);
}

static int child_expects_777(void)
{
	int ret = child_chain();

	return ret ? ret : (child_results[0] == 777 ? 0 : 105);
}

TEST(tracer_changes_atom_result_at_exit)
{
	struct trace_log log;

	EXPECT_TRACED_CHILD_OK(child_expects_777, &log, change_result);
}

static void clobber_args(pid_t pid, long nr, int exit_stop)
{
	if (nr == __NR_getppid && !exit_stop) {
		poke(pid, offsetof(struct user_regs_struct, rdi), 0xdead);
		poke(pid, offsetof(struct user_regs_struct, rsi), 0xbeef);
		poke(pid, offsetof(struct user_regs_struct, r9), 0xf00d);
	}
}

/*
 * async_exec() by hand: the syscall ABI keeps every argument register, so
 * the ones atoms borrowed must come back as they were, whatever a tracer
 * did to the atoms' arguments.
 */
static int child_keeps_argument_registers(void)
{
	struct async_head_user ahu = head_plain();
	struct syslet_uatom a[2];
	struct syslet_uatom *rdi = a;
	struct async_head_user *rsi = &ahu;
	long ret = __NR_async_exec, r9;
	__s64 r[2];

	ATOM0(&a[0], __NR_getppid, &r[0], &a[1], 0);
	ATOM0(&a[1], __NR_getpid, &r[1], NULL, 0);
	/* r9 is an argument register async_exec() does not use. */
	asm volatile ("mov $0x1234, %%r9\n\t"
		      "syscall\n\t"
		      "mov %%r9, %[r9]"
		      : "+a" (ret), "+D" (rdi), "+S" (rsi), [r9] "=r" (r9)
		      :
		      : "rcx", "r11", "r9", "memory");
	if (ret != (long)uptr(&a[1]))
		return 107;
	return rdi == a && rsi == &ahu && r9 == 0x1234 ? 0 : 108;
}

TEST(argument_registers_survive_tracer_edits_of_atoms)
{
	struct trace_log log;

	EXPECT_TRACED_CHILD_OK(child_keeps_argument_registers, &log, clobber_args);
	EXPECT_EQ(4, log.nr_stops);
}

/* seccomp: ERRNO(EPERM) for getppid, ERRNO(ENOTTY) for close(1234). */
static int install_filter(__u32 getppid_action)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, getppid_action),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1234, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = ARRAY_SIZE(filter),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

TEST(seccomp_errno_applies_inside_atoms)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		struct async_head_user ahu = head_plain();
		struct syslet_uatom a[4];
		__s64 r[4];
		__u64 fd_filtered = 1234, fd_other = 1235;

		if (install_filter(SECCOMP_RET_ERRNO | EPERM))
			_exit(110);
		ATOM0(&a[0], __NR_getppid, &r[0], &a[1], 0);
		ATOM0(&a[1], __NR_getpid, &r[1], &a[2], 0);
		ATOM1(&a[2], __NR_close, &r[2], &a[3], 0, &fd_filtered);
		ATOM1(&a[3], __NR_close, &r[3], NULL, 0, &fd_other);
		if (async_exec(a, &ahu) != (long)uptr(&a[3]))
			_exit(111);
		if (r[0] != -EPERM || r[1] != getpid())
			_exit(112);
		/* The filter saw each atom's own arguments. */
		if (r[2] != -ENOTTY || r[3] != -EBADF)
			_exit(113);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

static atomic_int sigsys_nr = -1;

static void on_sigsys(int sig, siginfo_t *info, void *uc)
{
	sigsys_nr = info->si_syscall;
}

/*
 * RET_TRAP: the SIGSYS handler runs with the async_exec() registers and
 * cannot emulate the atom; the atom reports -ENOSYS and the pending
 * signal ends the chain there.
 */
TEST(seccomp_trap_ends_the_chain_with_enosys)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		struct sigaction sa = { .sa_sigaction = on_sigsys,
					.sa_flags = SA_SIGINFO };
		struct async_head_user ahu = head_plain();
		struct syslet_uatom a[2];
		__s64 r[2] = { SENTINEL, SENTINEL };

		sigaction(SIGSYS, &sa, NULL);
		if (install_filter(SECCOMP_RET_TRAP))
			_exit(110);
		ATOM0(&a[0], __NR_getppid, &r[0], &a[1], 0);
		ATOM0(&a[1], __NR_getpid, &r[1], NULL, 0);
		if (async_exec(a, &ahu) != (long)uptr(&a[0]))
			_exit(111);
		if (r[0] != unknown_syscall_result() || r[1] != SENTINEL)
			_exit(112);
		_exit(sigsys_nr == __NR_getppid ? 0 : 113);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST(seccomp_kill_applies_inside_atoms)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		/* With a ring: the killed task holds a spare it must give back. */
		static __u64 ring[8];
		struct async_head_user ahu = {
			.size = sizeof(ahu),
			.completion_ring = uptr(ring),
			.ring_size_bytes = sizeof(ring),
		};
		struct syslet_uatom a[2];
		struct rlimit no_core = { 0, 0 };
		__s64 r[2];

		setrlimit(RLIMIT_CORE, &no_core);
		if (install_filter(SECCOMP_RET_KILL_PROCESS))
			_exit(110);
		ATOM0(&a[0], __NR_getpid, &r[0], &a[1], 0);
		ATOM0(&a[1], __NR_getppid, &r[1], NULL, 0);
		async_exec(a, &ahu);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGSYS, WTERMSIG(status));
}

TEST_HARNESS_MAIN
