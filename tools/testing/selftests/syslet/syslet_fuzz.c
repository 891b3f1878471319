// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded random-chain fuzzer. Each worker is a child process that draws
 * chains from its own seed: system calls from the whole table, refused
 * ones included; flags, next and skip graphs; argument and result
 * pointers that are valid, NULL, kernel addresses, misaligned, unmapped,
 * read-only, PROT_NONE, or unmapped while the chain runs; heads with
 * every ring size and a bad field now and then. Blocking atoms make cache
 * misses; a second thread submits too, and a third forks, flips a page's
 * mapping and feeds the pipes. Meanwhile the parent stops, continues,
 * freezes and kills the worker, and a worker may exec.
 *
 * What is checked is the kernel: a report of any kind on the console, or
 * a worker that SIGKILL cannot end, fails the run. The chains' contents
 * are deterministic in the seed (timing is not): a worker prints its seed
 * before it starts, and "syslet_fuzz --seed S --chains N" runs that
 * worker alone. The count of chains comes from --chains, else from
 * "syslet_fuzz=N" on the kernel command line, else 100000.
 *
 * Calls that would kill or replace the fuzzer itself, or reach outside it
 * (signals to other processes, its own mappings, the clock, the console,
 * modules, mounts, device nodes), never run: they are drawn, and become
 * getpid().
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>

#include "../kselftest.h"
#include "syslet_test.h"

#define NR_TABLE	470	/* past the end of the x86-64 table of 6.12 */
#define POOL_ATOMS	24	/* per submitting thread */
#define RING_SLOTS	64
#define ARENA_WORDS	4096
#define WORKER_CHAINS	2000
#define STALL_SECONDS	2

/* Calls that could end or corrupt the fuzzer, or reach past it. */
static const int never_run[] = {
	__NR_kill, __NR_tkill, __NR_tgkill, __NR_rt_sigqueueinfo,
	__NR_rt_tgsigqueueinfo, __NR_pidfd_send_signal, __NR_pidfd_open,
	__NR_process_vm_writev, __NR_process_madvise, __NR_prlimit64,
	__NR_mmap, __NR_munmap, __NR_mremap, __NR_mprotect, __NR_pkey_mprotect,
	__NR_madvise, __NR_brk, __NR_shmat, __NR_shmdt, __NR_remap_file_pages,
	__NR_mseal,
	__NR_reboot, __NR_kexec_load, __NR_kexec_file_load, __NR_init_module,
	__NR_finit_module, __NR_delete_module, __NR_swapon, __NR_swapoff,
	__NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot,
	__NR_move_mount, __NR_fsopen, __NR_fsconfig, __NR_fsmount,
	__NR_fspick, __NR_open_tree, __NR_mount_setattr,
	__NR_mknod, __NR_mknodat, __NR_fanotify_init, __NR_fanotify_mark,
	__NR_settimeofday, __NR_clock_settime, __NR_adjtimex,
	__NR_clock_adjtime, __NR_syslog, __NR_vhangup, __NR_acct,
	__NR_sethostname, __NR_setdomainname,
};

struct rng {
	__u64 s;
};

static __u64 rnd(struct rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static unsigned int below(struct rng *r, unsigned int n)
{
	return rnd(r) % n;
}

static __u64 mix(__u64 x)
{
	/* splitmix64: one worker's seed from the run's seed and its index */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The values blocking atoms need, first in world::good. */
enum {
	GOOD_PIPE, GOOD_EVENTFD, GOOD_SOCKET, GOOD_ARENA, GOOD_SHORT_SLEEP,
	GOOD_FIXED
};

/* Everything a worker's chains point at. */
struct world {
	__u64 *arena;			/* random words; paths stay in the cwd */
	struct syslet_uatom *atoms;	/* the pool chains are drawn from */
	__u64 *good;			/* argument values that make calls valid */
	unsigned int nr_good;
	void *ro, *none, *gone;		/* read-only, PROT_NONE, unmapped */
	void *flicker;			/* mapped and unmapped by a thread */
	int pipe[2], evfd, sock[2];
	struct timespec short_sleep;
	struct async_head_user head[2], odd_head[2];
	__u64 ring[2][RING_SLOTS], odd_ring[RING_SLOTS];
	atomic_int stop;
};

static struct world w;

static void world_init(struct rng *r)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *b;
	unsigned int i;

	w.arena = mmap(NULL, ARENA_WORDS * 8, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.atoms = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.good = mmap(NULL, page, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.none = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.gone = unmapped_page();
	w.flicker = mmap(NULL, page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w.arena == MAP_FAILED || w.atoms == MAP_FAILED ||
	    w.good == MAP_FAILED || w.ro == MAP_FAILED ||
	    w.none == MAP_FAILED || w.flicker == MAP_FAILED)
		_exit(90);
	for (i = 0; i < ARENA_WORDS; i++)
		w.arena[i] = rnd(r);
	/* No '/' and no '.': a path drawn from here names a file in the cwd. */
	for (b = (unsigned char *)w.arena;
	     b < (unsigned char *)(w.arena + ARENA_WORDS); b++)
		if (*b == '/' || *b == '.')
			*b = 'f';
	if (pipe2(w.pipe, O_NONBLOCK) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, w.sock))
		_exit(91);
	/* Readers block: only the writer end stays non-blocking. */
	fcntl(w.pipe[0], F_SETFL, 0);
	w.evfd = eventfd(0, 0);
	w.short_sleep.tv_nsec = 200 * 1000;

	/* Values that make a call valid: fds, small sizes, good pointers. */
	w.good[GOOD_PIPE] = w.pipe[0];
	w.good[GOOD_EVENTFD] = w.evfd;
	w.good[GOOD_SOCKET] = w.sock[0];
	w.good[GOOD_ARENA] = uptr(w.arena);
	w.good[GOOD_SHORT_SLEEP] = uptr(&w.short_sleep);
	w.nr_good = GOOD_FIXED;
	w.good[w.nr_good++] = w.pipe[1];
	w.good[w.nr_good++] = w.sock[1];
	w.good[w.nr_good++] = 0;
	w.good[w.nr_good++] = 1;
	w.good[w.nr_good++] = 8;
	w.good[w.nr_good++] = 4096;
	w.good[w.nr_good++] = (__u64)(long)AT_FDCWD;
	w.good[w.nr_good++] = uptr(w.arena + 512);
	w.good[w.nr_good++] = uptr(w.flicker);
	w.good[w.nr_good++] = uptr(w.ro);
	w.good[w.nr_good++] = -1ULL;
}

/* A pointer an atom reads or writes through: mostly good, often not. */
static __u64 draw_ptr(struct rng *r)
{
	switch (below(r, 16)) {
	case 0:
		return 0;
	case 1:
		return 0xffffffff81000000ULL + below(r, 1 << 20) * 8;
	case 2:
		return uptr(w.arena) + 1 + below(r, 7);	/* misaligned */
	case 3:
		return uptr(w.gone);
	case 4:
		return uptr(w.ro);
	case 5:
		return uptr(w.none);
	case 6:
		return uptr(w.flicker) + below(r, 512) * 8;
	case 7:
		return rnd(r) & ~7ULL;
	case 8:
	case 9:
	case 10:
		return uptr(&w.good[below(r, w.nr_good)]);
	default:
		return uptr(&w.arena[below(r, ARENA_WORDS)]);
	}
}

static bool never(long nr)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(never_run); i++)
		if (never_run[i] == nr)
			return true;
	return false;
}

static __u64 draw_nr(struct rng *r)
{
	static const int blocking[] = {
		__NR_read, __NR_nanosleep, __NR_clock_nanosleep, __NR_poll,
		__NR_recvfrom, __NR_futex, __NR_pread64, __NR_write,
	};
	__u64 nr;

	switch (below(r, 32)) {
	case 0:
		nr = rnd(r);		/* anything, unknown numbers too */
		break;
	case 1:
	case 2:
	case 3:
	case 4:
		nr = blocking[below(r, ARRAY_SIZE(blocking))];
		break;
	default:
		nr = below(r, NR_TABLE);
		break;
	}
	return nr < NR_TABLE && never(nr) ? __NR_getpid : nr;
}

/* An atom's pointer that the chain's validation accepts. */
static __u64 clean_ptr(struct rng *r)
{
	switch (below(r, 4)) {
	case 0:
		return 0;
	case 1:
		return uptr(&w.good[below(r, w.nr_good)]);
	default:
		return uptr(&w.arena[below(r, ARENA_WORDS)]);
	}
}

/* An atom that blocks for a while, or until the chaos thread feeds it. */
static void blocking_atom(struct rng *r, struct syslet_uatom *a)
{
	static const unsigned int fds[] = { GOOD_PIPE, GOOD_EVENTFD, GOOD_SOCKET };
	static __u64 one = 1, eight = 8, zero;
	unsigned int fd = below(r, 4);

	if (fd == ARRAY_SIZE(fds)) {
		a->nr = __NR_nanosleep;
		a->arg_ptr[0] = uptr(&w.good[GOOD_SHORT_SLEEP]);
		a->arg_ptr[1] = uptr(&zero);
		return;
	}
	a->nr = __NR_read;
	a->arg_ptr[0] = uptr(&w.good[fds[fd]]);
	a->arg_ptr[1] = uptr(&w.good[GOOD_ARENA]);
	/* An eventfd is read 8 bytes at a time. */
	a->arg_ptr[2] = fds[fd] == GOOD_EVENTFD ? uptr(&eight) : uptr(&one);
}

static __u64 clean_flags(struct rng *r)
{
	__u64 f = 0;

	if (!below(r, 4))
		f |= SYSLET_STOP_MASK & rnd(r);
	if (f && !below(r, 3))
		f |= SYSLET_SKIP_TO_NEXT_ON_STOP;
	switch (below(r, 16)) {
	case 0:
		f |= SYSLET_ASYNC;
		break;
	case 1:
		f |= SYSLET_SYNC;
		break;
	}
	if (!below(r, 12))
		f |= SYSLET_NO_COMPLETE;
	return f;
}

/* Make one field of one atom, or the chain's address, wrong. */
static struct syslet_uatom *spoil(struct rng *r, struct syslet_uatom *first,
				  struct syslet_uatom *a)
{
	switch (below(r, 7)) {
	case 0:
		return (struct syslet_uatom *)draw_ptr(r);
	case 1:
		a->flags = rnd(r);
		break;
	case 2:
		a->nr = below(r, 2) ? rnd(r) : below(r, NR_TABLE);
		if (a->nr < NR_TABLE && never(a->nr))
			a->nr = __NR_getpid;
		break;
	case 3:
		a->ret_ptr = draw_ptr(r);
		break;
	case 4:
		a->arg_ptr[below(r, 6)] = draw_ptr(r);
		break;
	case 5:
		a->next = draw_ptr(r);
		break;
	default:
		a->private = rnd(r);
		break;
	}
	return first;
}

/*
 * A chain through the pool, linked at random (merges and cycles too), and
 * its first atom's address. Four in five pass validation; the fifth has
 * one thing wrong.
 */
static struct syslet_uatom *draw_chain(struct rng *r, struct syslet_uatom *pool)
{
	unsigned int n = 1 + below(r, 6), i, j;
	struct syslet_uatom *a, *first = NULL;

	for (i = 0; i < n; i++) {
		a = &pool[below(r, POOL_ATOMS)];
		memset(a, 0, sizeof(*a));
		if (!below(r, 3)) {
			blocking_atom(r, a);
		} else {
			a->nr = draw_nr(r);
			for (j = 0; j < 6; j++)
				a->arg_ptr[j] = clean_ptr(r);
		}
		a->flags = clean_flags(r);
		a->ret_ptr = below(r, 8) ? uptr(&w.arena[below(r, ARENA_WORDS)]) : 0;
		a->next = below(r, 2) ? uptr(&pool[below(r, POOL_ATOMS)]) : 0;
		if (!first)
			first = a;
	}
	return below(r, 5) ? first : spoil(r, first, a);
}

/* A head with something unusual or wrong in it, sometimes. */
static void spoil_head(struct rng *r, struct async_head_user *ahu)
{
	static const __u64 sizes[] = { 0, 8, 16, 64, 512, 24, 4096, 1 << 20 };

	switch (below(r, 8)) {
	case 0:
		ahu->size = below(r, 200);
		break;
	case 1:
		ahu->completion_ring = draw_ptr(r);
		break;
	case 2:
		ahu->ring_size_bytes = sizes[below(r, ARRAY_SIZE(sizes))];
		break;
	case 3:
		ahu->flags = below(r, 2) ? SYSLET_AHU_EAGAIN_AT_LIMIT : rnd(r);
		break;
	case 4:
		/*
		 * A descriptor that is or is not an eventfd, with or without
		 * the flag: every refusal of syslet_head_read().
		 */
		ahu->eventfd = below(r, 2) ? below(r, 8) : rnd(r);
		if (below(r, 2))
			ahu->flags |= SYSLET_AHU_EVENTFD;
		break;
	case 5:
		ahu->kernel_ring_idx = rnd(r);
		break;
	case 6:
		ahu->completion_ring = 0;
		ahu->ring_size_bytes = 0;
		break;
	default:
		ahu->user_ring_idx = rnd(r);
		break;
	}
}

/* Take every completion the ring holds, as the ABI says. */
static void reap(struct async_head_user *ahu, __u64 *ring, unsigned int n)
{
	while (ring_pop(ahu, ring, n))
		;
}

/* Shared with the parent, which reads it after the worker has ended. */
/* What async_exec() returned: 0 moved, 1 ran to an end, 2 + errno. */
#define NR_OUTCOMES	(2 + 134)

struct report {
	atomic_ulong	progress;	/* chains submitted */
	atomic_ulong	outcomes[NR_OUTCOMES];
	long		bad_ret;	/* what async_exec() should not return */
	__u64		bad_nr;		/* its first atom's call number */
};

static unsigned int outcome_of(long ret)
{
	if (ret >= 0)
		return ret ? 1 : 0;
	return errno > 0 && errno < NR_OUTCOMES - 2 ? 2 + errno : NR_OUTCOMES - 1;
}

static const char *outcome_name(unsigned int i)
{
	static char buf[64];

	if (i < 2)
		return i ? "ran to an end" : "moved";
	snprintf(buf, sizeof(buf), "failed with %s", strerror(i - 2));
	return buf;
}

static struct report *shared;

static bool within(long addr, const void *start, size_t size)
{
	return addr >= (long)start && addr < (long)start + (long)size;
}

/*
 * Whether a chain could have run an atom at @addr: the pool, or memory a
 * drawn next pointer may name and that reads as an atom.
 */
static bool may_be_an_atom(long addr)
{
	long page = sysconf(_SC_PAGESIZE);

	return within(addr, w.atoms, 2 * page) || within(addr, w.good, page) ||
	       within(addr, w.ro, page) || within(addr, w.flicker, page) ||
	       within(addr, w.arena, ARENA_WORDS * 8);
}

/*
 * A few chains in one async_exec_batch() call, @first among them: it
 * consumes some of them, and each result is one async_exec() could give.
 */
static void run_batch(struct rng *r, struct syslet_uatom *pool,
		      struct syslet_uatom *first, struct async_head_user *ahu)
{
	struct syslet_batch_entry batch[4];
	unsigned int n = 1 + below(r, 4), k;
	long ret;

	for (k = 0; k < n; k++) {
		batch[k].atom = k ? uptr(draw_chain(r, pool)) : uptr(first);
		batch[k].result = SENTINEL;
	}
	ret = syscall(__NR_async_exec_batch, batch, n, ahu, 0);
	if (ret > (long)n) {
		shared->bad_ret = ret;
		shared->bad_nr = -1ULL;
		_exit(1);
	}
	for (k = 0; (long)k < ret; k++) {
		long result = batch[k].result;

		if (result > 0 && !may_be_an_atom(result) &&
		    result != (long)batch[k].atom) {
			shared->bad_ret = result;
			shared->bad_nr = -1ULL;
			_exit(1);
		}
		atomic_fetch_add(&shared->outcomes[outcome_of(result)], 1);
	}
}

/*
 * One thread's chains, on its own ring and atom pool (@t: 0 or 1); a
 * failed check of async_exec()'s result exits 1.
 */
static void run_chains(struct rng *r, unsigned int t, unsigned long chains)
{
	struct async_head_user *head = &w.head[t], *odd = &w.odd_head[t];
	struct syslet_uatom *pool = w.atoms + t * POOL_ATOMS;
	__u64 *ring = w.ring[t];
	unsigned long i;

	ring_init(head, ring, RING_SLOTS);
	for (i = 0; i < chains && !atomic_load(&w.stop); i++) {
		struct syslet_uatom *first = draw_chain(r, pool);
		struct async_head_user *ahu = head;
		long ret;

		if (!below(r, 50)) {
			/* The syslet calls themselves, with random arguments. */
			syscall(__NR_async_exec + below(r, 6), draw_ptr(r),
				draw_ptr(r), below(r, 2) ? uptr(head) : draw_ptr(r),
				draw_ptr(r));
			continue;
		}
		if (!below(r, 8)) {
			/* Not reaped from: what posts there is lost or waits. */
			*odd = *head;
			odd->completion_ring = uptr(w.odd_ring);
			spoil_head(r, odd);
			ahu = odd;
		}
		if (!below(r, 16)) {
			run_batch(r, pool, first,
				  below(r, 32) ? ahu : (void *)draw_ptr(r));
			reap(head, ring, RING_SLOTS);
			atomic_fetch_add(&shared->progress, 1);
			continue;
		}
		ret = syscall(__NR_async_exec, first,
			      below(r, 32) ? ahu : (void *)draw_ptr(r));
		if (ret > 0 && !may_be_an_atom(ret) && ret != (long)first) {
			shared->bad_ret = ret;
			shared->bad_nr = (unsigned long)first < 4096 ? -1ULL :
					 first->nr;
			_exit(1);
		}
		atomic_fetch_add(&shared->outcomes[outcome_of(ret)], 1);
		if (!below(r, 4))
			syscall(__NR_async_wait, below(r, 3), head->user_ring_idx,
				head, &ten_ms);
		reap(head, ring, RING_SLOTS);
		atomic_fetch_add(&shared->progress, 1);
	}
}

static void *second_submitter(void *arg)
{
	struct rng r = { mix(*(__u64 *)arg) | 1 };

	run_chains(&r, 1, ~0UL);
	return NULL;
}

/* Feeds the pipes, flips a mapping under the chains, forks and execs. */
static void *chaos(void *arg)
{
	struct rng r = { mix(*(__u64 *)arg + 1) | 1 };
	long page = sysconf(_SC_PAGESIZE);
	__u64 one = 1;

	while (!atomic_load(&w.stop)) {
		if (write(w.pipe[1], "f", 1) < 0 && errno != EAGAIN)
			break;
		if (write(w.evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			break;
		if (send(w.sock[1], "s", 1, MSG_DONTWAIT) < 0 && errno != EAGAIN)
			break;
		switch (below(&r, 64)) {
		case 0:
			munmap(w.flicker, page);
			break;
		case 1:
			mmap(w.flicker, page, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			break;
		case 2:
			if (fork() == 0)
				_exit(0);
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			break;
		case 3:
			if (!below(&r, 40))
				execl("/bin/true", "true", (char *)NULL);
			break;
		}
		usleep(200);
	}
	return NULL;
}

static void worker(__u64 seed, unsigned long chains)
{
	struct rng r = { seed | 1 };
	pthread_t second, noise;
	int null = open("/dev/null", O_RDWR);

	/*
	 * Random writes to fd 1 must not reach the console scanner, and no
	 * fd of the test runner's may be drawn; files made go to a scratch
	 * directory.
	 */
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(null, 2) < 0 || syscall(__NR_close_range, 3, ~0U, 0))
		_exit(92);
	mkdir("/tmp/syslet-fuzz", 0755);
	if (chdir("/tmp/syslet-fuzz"))
		_exit(92);
	world_init(&r);
	if (pthread_create(&noise, NULL, chaos, &seed) ||
	    pthread_create(&second, NULL, second_submitter, &seed))
		_exit(93);
	run_chains(&r, 0, chains);
	atomic_store(&w.stop, 1);
	_exit(0);
}

static unsigned long chains_from_cmdline(void)
{
	char buf[4096], *p;
	FILE *f = fopen("/proc/cmdline", "r");
	unsigned long n = 100000;

	if (f) {
		if (fgets(buf, sizeof(buf), f)) {
			p = strstr(buf, "syslet_fuzz=");
			if (p)
				n = strtoul(p + strlen("syslet_fuzz="), NULL, 0);
		}
		fclose(f);
	}
	return n;
}

/*
 * Stops, continues, freezes (cgroup v2 if it has one) and kills @pid; and
 * kills it when its chains have made no progress for a while (one of them
 * blocked for good, as a random call may).
 */
static unsigned long chaos_stops, chaos_freezes, chaos_kills, chaos_stalls;

static int drive(pid_t pid, struct rng *r, const char *cg)
{
	struct timespec last, now;
	unsigned long seen = 0;
	int status, frozen = 0;

	clock_gettime(CLOCK_MONOTONIC, &last);
	for (;;) {
		pid_t got = waitpid(pid, &status, WNOHANG);

		if (got == pid)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (atomic_load(&shared->progress) != seen) {
			seen = atomic_load(&shared->progress);
			last = now;
		} else if (now.tv_sec - last.tv_sec > STALL_SECONDS) {
			chaos_stalls++;
			kill(pid, SIGKILL);
			/* A worker that SIGKILL cannot end hangs the run here. */
			waitpid(pid, &status, 0);
			break;
		}
		switch (below(r, 12)) {
		case 0:
			chaos_stops++;
			kill(pid, SIGSTOP);
			usleep(below(r, 2000));
			kill(pid, SIGCONT);
			break;
		case 1:
			if (cg && !write_str(cg, "cgroup.freeze", "1")) {
				chaos_freezes++;
				frozen = 1;
				usleep(below(r, 2000));
				write_str(cg, "cgroup.freeze", "0");
			}
			break;
		case 2:
			if (!below(r, 20)) {
				chaos_kills++;
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				return frozen;
			}
			break;
		}
		usleep(1000 + below(r, 4000));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		return -1;	/* the worker saw a wrong result */
	return frozen;
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long chains = 0, done = 0, workers = 0;
	unsigned long outcomes[NR_OUTCOMES] = { };
	__u64 seed = 0x5eed5eedULL, one_seed = 0;
	struct rng r;
	char name[32], cg[64];
	const char *cgp = NULL;
	int i, failed = 0;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--chains"))
			chains = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--seed"))
			one_seed = strtoull(argv[i + 1], NULL, 0);
	}
	if (!chains)
		chains = chains_from_cmdline();

	ksft_print_header();
	ksft_set_plan(1);
	if (access(SYSLET_PROC "abi_version", R_OK))
		ksft_exit_skip("no syslets in this kernel\n");

	/*
	 * Between guard pages: a random call told to write a random length
	 * at the arena (read(), getrandom()) writes on until it faults, and
	 * must not reach the report.
	 */
	shared = mmap(NULL, 3 * page, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	if (shared == MAP_FAILED ||
	    mprotect((char *)shared + page, page, PROT_READ | PROT_WRITE))
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	shared = (struct report *)((char *)shared + page);
	snprintf(name, sizeof(name), "syslet-fuzz-%d", getpid());
	if (!cgroup2_make(name, "", cg, sizeof(cg)))
		cgp = cg;

	r.s = mix(seed) | 1;
	while (done < chains) {
		__u64 wseed = one_seed ? one_seed : mix(seed + workers);
		pid_t pid;
		int ret;

		ksft_print_msg("worker %lu seed %#llx after %lu chains\n",
			       workers, (unsigned long long)wseed, done);
		memset(shared, 0, sizeof(*shared));
		pid = fork();
		if (pid < 0)
			ksft_exit_fail_msg("fork: %s\n", strerror(errno));
		if (pid == 0) {
			if (cgp)
				write_str(cgp, "cgroup.procs", "0");
			worker(wseed, WORKER_CHAINS);
		}
		ret = drive(pid, &r, cgp);
		if (ret < 0) {
			ksft_print_msg("worker seed %#llx: async_exec() returned %#lx, no atom\n",
				       (unsigned long long)wseed, shared->bad_ret);
			ksft_print_msg("(the first atom's call: %llu)\n",
				       (unsigned long long)shared->bad_nr);
			failed = 1;
			break;
		}
		/* Count what ran; a worker killed early still made progress. */
		done += atomic_load(&shared->progress) ?: 1;
		for (i = 0; i < NR_OUTCOMES; i++)
			outcomes[i] += atomic_load(&shared->outcomes[i]);
		workers++;
		if (one_seed)
			break;
	}
	if (cgp)
		rmdir(cgp);
	ksft_print_msg("%lu chains in %lu workers\n", done, workers);
	for (i = 0; i < NR_OUTCOMES; i++)
		if (outcomes[i])
			ksft_print_msg("%10lu %s\n", outcomes[i], outcome_name(i));
	ksft_print_msg("%lu stops, %lu freezes, %lu kills, %lu stalled workers\n",
		       chaos_stops, chaos_freezes, chaos_kills, chaos_stalls);
	ksft_test_result(!failed, "random chains under stop, freeze and kill\n");
	ksft_finished();
}
