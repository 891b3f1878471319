// SPDX-License-Identifier: GPL-2.0
/*
 * Spare threads: a chain that has a completion ring reserves a spare of its
 * own process first, and gives it back parked. Parked spares are bounded,
 * visible as threads named "syslet", and never keep a process alive or in
 * the way: exit, SYS_exit of the last real thread, exec, SIGKILL, core
 * dumps, group stop and the cgroup freezer all work with spares parked.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/elf.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "syslet_test.h"

/*
 * Count the threads of @pid, or with @name only those named so, and store
 * the first such tid in @first. Spares are counted by name, since a thread
 * just joined may still be listed for a moment.
 */
static int threads_of(pid_t pid, const char *name, pid_t *first)
{
	char path[300], comm[32];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		ssize_t len;
		int fd;

		if (d->d_name[0] == '.')
			continue;
		if (name) {
			snprintf(path, sizeof(path), "/proc/%d/task/%s/comm",
				 pid, d->d_name);
			fd = open(path, O_RDONLY);
			if (fd < 0)
				continue;
			len = read(fd, comm, sizeof(comm) - 1);
			close(fd);
			if (len <= 0)
				continue;
			comm[len] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
			if (strcmp(comm, name))
				continue;
		}
		if (first && !n)
			*first = atoi(d->d_name);
		n++;
	}
	closedir(dir);
	return n;
}

static int count_threads(pid_t pid)
{
	return threads_of(pid, NULL, NULL);
}

static int spares_of(pid_t pid, pid_t *first)
{
	return threads_of(pid, "syslet", first);
}

static int count_spares(pid_t pid)
{
	return spares_of(pid, NULL);
}

/* Run one getppid chain; with a ring, it reserves a spare first. */
static long ring_chain(int with_ring)
{
	static __u64 ring[16];
	struct async_head_user ahu = head_plain();
	struct syslet_uatom a;
	__s64 r = SENTINEL;
	long ret;

	if (with_ring) {
		ahu.completion_ring = uptr(ring);
		ahu.ring_size_bytes = sizeof(ring);
	}
	ATOM0(&a, __NR_getppid, &r, NULL, 0);
	ret = async_exec(&a, &ahu);
	return ret == (long)uptr(&a) && r == getppid() ? 0 : -1;
}

TEST(chain_with_ring_makes_one_spare_and_reuses_it)
{
	int threads = count_threads(getpid());

	ASSERT_EQ(0, count_spares(getpid()));
	ASSERT_EQ(0, ring_chain(1));
	EXPECT_EQ(1, count_spares(getpid()));
	EXPECT_EQ(threads + 1, count_threads(getpid()));
	ASSERT_EQ(0, ring_chain(1));
	ASSERT_EQ(0, ring_chain(1));
	EXPECT_EQ(1, count_spares(getpid()));
}

TEST(chain_without_ring_makes_no_spare)
{
	ASSERT_EQ(0, ring_chain(0));
	EXPECT_EQ(0, count_spares(getpid()));
}

TEST(max_spares_zero_makes_none_and_chains_still_run)
{
	int max_spares;

	ASSERT_EQ(0, read_int_file(SYSLET_PROC "max_spares", &max_spares));
	ASSERT_EQ(0, write_int_file(SYSLET_PROC "max_spares", 0));
	EXPECT_EQ(0, ring_chain(1));
	EXPECT_EQ(0, count_spares(getpid()));
	ASSERT_EQ(0, write_int_file(SYSLET_PROC "max_spares", max_spares));
	/* PID_MAX_LIMIT + 1: more threads than there can be pids. */
	EXPECT_EQ(-1, write_int_file(SYSLET_PROC "max_spares", 4194305));
}

/*
 * With default settings, an event loop with hundreds of chains blocked at
 * once never has one run synchronously: 300 chains, each on its own pipe,
 * are all submitted before any pipe is written. If one could not move it
 * would block in async_exec(); the writer then fills every pipe after
 * 30 s, so the test fails instead of hanging.
 */
#define BLOCKED 300

struct late_writer {
	int fds[BLOCKED][2];
	int go[2];
};

static void *write_all_later(void *arg)
{
	struct late_writer *w = arg;
	struct pollfd pfd = { .fd = w->go[0], .events = POLLIN };
	int i;

	poll(&pfd, 1, 30 * 1000);
	for (i = 0; i < BLOCKED; i++)
		if (write(w->fds[i][1], "w", 1) != 1)
			return NULL;
	return NULL;
}

FIXTURE(blocked) { };
FIXTURE_SETUP(blocked) { }
FIXTURE_TEARDOWN(blocked) { }

/* Making 300 spares takes a while under emulation and KASAN. */
TEST_F_TIMEOUT(blocked, default_limit_moves_hundreds_of_chains, 180)
{
	static struct late_writer w;
	static struct syslet_uatom atoms[BLOCKED];
	static __s64 rets[BLOCKED];
	static __u64 fds[BLOCKED], bufs[BLOCKED], len = 1;
	static char data[BLOCKED];
	static __u64 slots[512];
	struct async_head_user ahu;
	int i, moved = 0, got = 0;
	pthread_t writer;

	ring_init(&ahu, slots, 512);
	ASSERT_EQ(0, pipe(w.go));
	for (i = 0; i < BLOCKED; i++) {
		ASSERT_EQ(0, pipe(w.fds[i]));
		fds[i] = w.fds[i][0];
		bufs[i] = uptr(&data[i]);
		rets[i] = SENTINEL;
		ATOM3(&atoms[i], __NR_read, &rets[i], NULL, 0,
		      &fds[i], &bufs[i], &len);
	}
	ASSERT_EQ(0, pthread_create(&writer, NULL, write_all_later, &w));
	for (i = 0; i < BLOCKED; i++)
		moved += async_exec(&atoms[i], &ahu) == 0;
	EXPECT_EQ(BLOCKED, moved);
	EXPECT_EQ(0, ahu.sync_chains);
	ASSERT_EQ(1, write(w.go[1], "g", 1));
	pthread_join(writer, NULL);
	while (got < moved && ring_next(&ahu, slots, 512))
		got++;
	EXPECT_EQ(moved, got);
	for (i = 0; i < BLOCKED; i++) {
		EXPECT_EQ(1, rets[i]);
		close(w.fds[i][0]);
		close(w.fds[i][1]);
	}
	close(w.go[0]);
	close(w.go[1]);
}

static void *ring_chains(void *arg)
{
	long bad = 0;
	int i;

	for (i = 0; i < 300; i++)
		bad += ring_chain(1) != 0;
	return (void *)bad;
}

TEST(concurrent_chains_share_a_bounded_pool)
{
	int spares, i;
	pthread_t t[4];
	void *bad;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, ring_chains, NULL));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &bad));
		EXPECT_EQ(0, (long)bad);
	}
	/* At most one spare per chain in flight: four threads, four spares. */
	spares = count_spares(getpid());
	EXPECT_LE(1, spares);
	EXPECT_GE(4, spares);
}

/*
 * Lifecycle cases run in a child that first parks a spare; the parent
 * waits with wait_child(), so a process kept alive by its spare fails the
 * test rather than hanging the run.
 */
static pid_t child_with_spare(void (*then)(void))
{
	pid_t pid = fork();

	if (pid)
		return pid;
	if (ring_chain(1) || count_spares(getpid()) != 1)
		_exit(100);
	then();
	_exit(101);
}

/* Run @then in a child with a spare parked; it must exit with @code. */
static void expect_exit_code(struct __test_metadata *_metadata,
			     void (*then)(void), int code)
{
	pid_t pid = child_with_spare(then);
	int status;

	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(code, WEXITSTATUS(status));
}

static void just_exit_group(void)
{
	exit(0);
}

TEST(exit_group_with_spare_parked)
{
	expect_exit_code(_metadata, just_exit_group, 0);
}

static void sys_exit_7(void)
{
	syscall(__NR_exit, 7);
}

TEST(last_real_thread_sys_exit_ends_the_process)
{
	expect_exit_code(_metadata, sys_exit_7, 7);
}

static void *exit_9_later(void *arg)
{
	usleep(100 * 1000);
	syscall(__NR_exit, 9);
	return NULL;
}

/* The leader leaves first; the last real thread is another one. */
static void leader_exits_first(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, exit_9_later, NULL))
		_exit(102);
	syscall(__NR_exit, 0);
}

TEST(last_real_thread_after_the_leader_ends_the_process)
{
	expect_exit_code(_metadata, leader_exits_first, 9);
}

/* After exec the process has one thread: its spares went with the old image. */
static void exec_thread_counter(void)
{
	execl("/bin/sh", "sh", "-c", "exit $(ls /proc/$$/task | wc -l)", NULL);
}

TEST(exec_with_spare_parked)
{
	expect_exit_code(_metadata, exec_thread_counter, 1);
}

static void wait_forever(void)
{
	for (;;)
		pause();
}

TEST(sigkill_with_spare_parked)
{
	pid_t pid = child_with_spare(wait_forever);
	int status;

	usleep(100 * 1000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
}

TEST(core_dump_with_spare_parked)
{
	pid_t pid = child_with_spare(dump_core);
	int status;

	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGABRT, WTERMSIG(status));
	EXPECT_TRUE(WCOREDUMP(status));
}

/* Group stop completes only when every thread, spares too, has stopped. */
/* What the child of core_dump_lists_only_the_programs_threads saw. */
struct dumped_threads {
	pid_t	caller, thread;
	int	tasks;		/* in /proc/self/task, spares included */
};

static pid_t sleeping_thread_tid;

static void *sleep_forever(void *arg)
{
	__atomic_store_n(&sleeping_thread_tid, gettid(), __ATOMIC_RELEASE);
	for (;;)
		pause();
	return NULL;
}

static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * In @dir: a second thread, two tasks blocked in moved chains and a spare
 * parked after a completed miss; report the real threads' TIDs on
 * @report, then dump core.
 */
static void dump_core_with_spares(const char *dir, int report)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	struct dumped_threads seen = { };
	struct async_head_user ahu;
	struct pipe_read pr[2];
	pthread_t thread;
	__u64 slots[4];
	int i;

	if (chdir(dir) || setrlimit(RLIMIT_CORE, &unlimited) ||
	    pthread_create(&thread, NULL, sleep_forever, NULL))
		_exit(100);
	while (!__atomic_load_n(&sleeping_thread_tid, __ATOMIC_ACQUIRE))
		sched_yield();
	ring_init(&ahu, slots, 4);
	for (i = 0; i < 2; i++) {
		if (pipe_read_init(&pr[i], 0) || async_exec(&pr[i].atom, &ahu))
			_exit(101);
	}
	if (miss_and_complete(1))
		_exit(102);
	seen.caller = gettid();
	seen.thread = sleeping_thread_tid;
	seen.tasks = count_tasks();
	if (write(report, &seen, sizeof(seen)) != sizeof(seen))
		_exit(103);
	abort();
}

/* The pr_pid of every NT_PRSTATUS note of the core file @path, up to @max. */
static int core_thread_tids(const char *path, pid_t *tids, int max)
{
	const struct elf64_hdr *eh;
	struct stat sb;
	const char *img;
	int fd, i, n = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &sb))
		return -1;
	img = mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (img == MAP_FAILED)
		return -1;
	eh = (const struct elf64_hdr *)img;
	for (i = 0; i < eh->e_phnum; i++) {
		const struct elf64_phdr *ph = (const void *)(img + eh->e_phoff +
						      i * eh->e_phentsize);
		size_t off = ph->p_offset, end = ph->p_offset + ph->p_filesz;

		if (ph->p_type != PT_NOTE)
			continue;
		while (off + sizeof(struct elf64_note) <= end) {
			const struct elf64_note *nh = (const void *)(img + off);
			size_t desc = off + sizeof(*nh) + ((nh->n_namesz + 3) & ~3);

			if (nh->n_type == NT_PRSTATUS && n < max)
				tids[n++] = ((const struct elf_prstatus *)
					     (img + desc))->pr_pid;
			off = desc + ((nh->n_descsz + 3) & ~3);
		}
	}
	munmap((void *)img, sb.st_size);
	return n;
}

/*
 * Spares and tasks finishing a moved chain are no threads of the program:
 * a core dump (what gdb lists as threads: one NT_PRSTATUS note each)
 * holds the program's threads only, not kernel-made ones with registers
 * that are nobody's.
 */
TEST(core_dump_lists_only_the_programs_threads)
{
	char dir[] = "/tmp/syslet-core-XXXXXX", path[300];
	struct dumped_threads seen;
	int report[2], status, n;
	struct dirent *e;
	pid_t pid, tids[16];
	DIR *d;

	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, pipe(report));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(report[0]);
		dump_core_with_spares(dir, report[1]);
	}
	close(report[1]);
	ASSERT_EQ(sizeof(seen), read(report[0], &seen, sizeof(seen)));
	close(report[0]);
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status) && WCOREDUMP(status));
	/* Two threads, two tasks blocked in chains and the parked spare. */
	EXPECT_LE(5, seen.tasks);

	d = opendir(dir);
	ASSERT_NE(NULL, d);
	path[0] = 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "core", 4))
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
	closedir(d);
	ASSERT_NE(0, path[0]);
	n = core_thread_tids(path, tids, 16);
	unlink(path);
	rmdir(dir);
	ASSERT_EQ(2, n);
	EXPECT_TRUE((tids[0] == seen.caller && tids[1] == seen.thread) ||
		    (tids[1] == seen.caller && tids[0] == seen.thread));
}

TEST(sigstop_and_sigcont_with_spare_parked)
{
	pid_t pid = child_with_spare(wait_forever);
	int status;

	usleep(100 * 1000);
	ASSERT_EQ(0, kill(pid, SIGSTOP));
	ASSERT_EQ(0, wait_child(pid, &status, WUNTRACED));
	EXPECT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, kill(pid, SIGCONT));
	ASSERT_EQ(0, wait_child(pid, &status, WCONTINUED));
	EXPECT_TRUE(WIFCONTINUED(status));
	kill(pid, SIGKILL);
	ASSERT_EQ(0, wait_child(pid, &status, 0));
}

static void count_threads_in_fork(void)
{
	pid_t pid = fork();
	int status;

	if (!pid)
		_exit(count_threads(getpid()));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		_exit(104);
	_exit(WEXITSTATUS(status));
}

TEST(fork_child_has_no_spares)
{
	expect_exit_code(_metadata, count_threads_in_fork, 1);
}

/*
 * A debugger attaching to every thread meets the spare too. A spare runs
 * no user code of its own and may go on as a caller at any moment, so it
 * refuses the tracer (EPERM, which gdb and strace report for that thread
 * and go on); the process's own threads stay traceable, and the spare
 * stays parked for the next chain.
 */
TEST(debugger_cannot_attach_to_a_parked_spare)
{
	pid_t pid = child_with_spare(wait_forever), spare = 0;
	int status;

	usleep(100 * 1000);
	ASSERT_EQ(1, spares_of(pid, &spare));
	EXPECT_EQ(-1, ptrace(PTRACE_SEIZE, spare, 0, 0));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ptrace(PTRACE_ATTACH, spare, 0, 0));
	EXPECT_EQ(EPERM, errno);
	ASSERT_EQ(0, ptrace(PTRACE_SEIZE, pid, 0, 0));
	ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, pid, 0, 0));
	ASSERT_EQ(pid, waitpid(pid, &status, __WALL));
	EXPECT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, ptrace(PTRACE_DETACH, pid, 0, 0));
	EXPECT_EQ(1, count_spares(pid));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
}

/* The cgroup v2 freezer reports frozen once every thread has trapped. */
TEST(cgroup_freezer_with_spare_parked)
{
	char cg[64], pidbuf[16];
	int status, i, frozen = 0;
	pid_t pid;

	if (cgroup2_make("f", "", cg, sizeof(cg)))
		SKIP(return, "no cgroup2: %s", strerror(errno));
	pid = child_with_spare(wait_forever);
	usleep(100 * 1000);
	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	ASSERT_EQ(0, write_str(cg, "cgroup.procs", pidbuf));
	ASSERT_EQ(0, write_str(cg, "cgroup.freeze", "1"));
	for (i = 0; i < 500 && !frozen; i++) {
		frozen = read_frozen(cg) == 1;
		usleep(10 * 1000);
	}
	EXPECT_TRUE(frozen);
	EXPECT_EQ(0, write_str(cg, "cgroup.freeze", "0"));
	kill(pid, SIGKILL);
	ASSERT_EQ(0, wait_child(pid, &status, 0));
	rmdir(cg);
}

TEST_HARNESS_MAIN
