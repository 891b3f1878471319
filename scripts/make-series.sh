#!/bin/sh
# Build the submission series: everything the project adds to Linux 6.12,
# as git format-patch files in steps a reviewer can take one at a time
# (the ABI; chains run synchronously; spare threads; the handoff at a
# cache miss; async_wait(); threadlets), each step with the hooks it
# needs and its selftests; series-steps.sh makes the code of each step.
# Then check that the series applies with git am to the pristine files
# and passes checkpatch --strict, and, given a build folder, that the
# kernel builds at the end of every step, without a warning from the
# syslet files.
#
# usage: make-series.sh PROJECT_DIR TREE_DIR OUTPUT_DIR \
#		[VANILLA_TREE STEP_TREE STEP_OUT FRAGMENT...]
# TREE_DIR is a tree prepared by kernel-tree.sh: its .syslet-pristine
# folder holds the pristine text of every file patches/ touches.
# VANILLA_TREE is vanilla-tree.sh's; STEP_TREE becomes a farm of links to
# it, into which each step's files are copied (never written in place),
# and STEP_OUT its kbuild folder, configured from the FRAGMENTs.
set -eu

project=$(realpath "$1")
tree=$(realpath "$2")
out=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export GIT_AUTHOR_NAME="Syslet Project"
export GIT_AUTHOR_EMAIL="syslet@localhost"
export GIT_AUTHOR_DATE="2026-11-23T00:00:00Z"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME"
export GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_COMMITTER_DATE="$GIT_AUTHOR_DATE"

# A repository holding only the pristine files the series touches: enough
# for git am, and seconds instead of minutes for the whole tree.
# MAINTAINERS is not among patches/ (the build does not need it); the
# series grows a SYSLETS section in it with each patch that adds files.
pristine_repo() {
	mkdir -p "$1"
	cp -a "$tree/.syslet-pristine/." "$1/"
	cp "$tree/MAINTAINERS" "$1/"
	git -C "$1" init -q
	git -C "$1" add -A
	git -C "$1" commit -q -m "Linux 6.12 (the files this series touches)"
}

hook() {
	git -C "$work/repo" am -q "$project"/patches/*"$1"*.patch
}

# Rewrite the SYSLETS section of MAINTAINERS with its file patterns so far.
maintained=""
maintain() {
	maintained=$(printf '%s\n' $maintained "$@" | LC_ALL=C sort -u | tr '\n' ' ')
	awk -v files="$maintained" '
		BEGIN { n = split(files, f, " ") }
		/^SYSLETS \(/ { skip = 1; next }
		skip && /^$/ { skip = 0; next }
		skip { next }
		/^SYSTEM CONFIGURATION \(SYSCON\)$/ {
			print "SYSLETS (ASYNCHRONOUS SYSTEM CALL CHAINS)"
			print "M:\tSyslet Project <syslet@localhost>"
			print "L:\tlinux-kernel@vger.kernel.org"
			print "S:\tMaintained"
			for (i = 1; i <= n; i++)
				print "F:\t" f[i]
			print ""
		}
		{ print }' "$work/repo/MAINTAINERS" > "$work/MAINTAINERS"
	mv "$work/MAINTAINERS" "$work/repo/MAINTAINERS"
	git -C "$work/repo" add MAINTAINERS
}

# add MESSAGE "MAINTAINERS PATTERNS" FILE...
add() {
	msg=$1
	maintain $2
	shift 2
	for path in "$@"; do
		mkdir -p "$work/repo/$(dirname "$path")"
		cp -a "$project/$path" "$work/repo/$path"
		git -C "$work/repo" add "$path"
	done
	git -C "$work/repo" commit -q -s -m "$msg"
}

# step N MESSAGE "MAINTAINERS PATTERNS" PART [HOOK...]: commit the code
# (PART=code) or the selftests (PART=tests) of series step N, as
# series-steps.sh makes it, with the hooks that cannot come apart from it
# (the code uses what they declare, and they call the code).
step() {
	n=$1 msg=$2
	maintain $3
	part=$4
	shift 4
	[ -d "$work/step$n" ] || "$project/scripts/series-steps.sh" state "$project" "$n" "$work/step$n"
	(cd "$work/step$n" && find . -type f) | sed 's|^\./||' | while read -r path; do
		case $path in
		tools/testing/*) [ "$part" = tests ] || continue ;;
		*) [ "$part" = code ] || continue ;;
		esac
		mkdir -p "$work/repo/$(dirname "$path")"
		cp "$work/step$n/$path" "$work/repo/$path"
		git -C "$work/repo" add "$path"
	done
	for h in "$@"; do
		git -C "$work/repo" apply --index "$project"/patches/*"$h"*.patch
	done
	git -C "$work/repo" commit -q -s -m "$msg"
}

# The commits a step build builds: the last one of each step.
built=""
mark_built() {
	built="$built $(git -C "$work/repo" rev-parse HEAD)"
}

pristine_repo "$work/repo"
base=$(git -C "$work/repo" rev-parse HEAD)

add "syslet: add the user ABI

struct syslet_uatom, struct async_head_user and the SYSLET_* flags,
documented where they are defined, every field an 8-byte aligned u64 so
the layout is the same for every caller. include/linux/syslet.h holds
the system call prototypes and the per-task lifecycle hooks. The calls
come one by one in the patches that follow; until then, and in a kernel
without CONFIG_SYSLET, they return -ENOSYS." \
	"include/linux/syslet.h include/uapi/linux/syslet.h" \
	include/uapi/linux/syslet.h include/linux/syslet.h
hook syscalls-add-COND_SYSCALL
hook x86-syscalls-wire-up
hook sched-add-per-task-syslet-state
hook mm-add-mmap_lock_speculate
step 1 "syslet: read chains of system calls and run them synchronously

async_exec() reads a whole chain in once and validates it (length,
cycles, flags, reserved fields, refused system calls, readable and
writable pointers), then runs it in the caller's context. Each atom goes
through syscall_trace_enter() and the exit half of that work, so
seccomp, ptrace and audit see it as a system call made by the caller.
Between atoms the task runs its task_work and stops for pending
signals, as it would between two system calls.

In this patch every chain runs synchronously to its end; one given a
completion ring is counted in the head's sync_chains. The patches after
it let a chain that blocks go on without its caller.

/proc/sys/kernel/syslet/ carries the ABI version (the probe: the syscall
numbers are reused by later kernels), the switch that turns syslets off
or restricts them to a group, as io_uring_disabled does. What the core
needs of x86-64 sits behind the arch_syslet_*() calls of <asm/syslet.h>." \
	"kernel/syslet/ arch/x86/include/asm/syslet.h arch/x86/kernel/syslet.c" code
hook x86-syslet-build-the-architecture-side
hook syslet-hook-the-subsystem-into-Kconfig
step 1 "selftests/syslet: test the chain reader and the synchronous runner

kselftest_harness tests for every rule of a chain: ABI edges, each stop
condition on both branches with and without the skip branch, result
feeding, every refusal with proof that nothing ran and nothing was
written, signals and task_work between atoms, threads and fork, and
ptrace, seccomp and audit inside atoms." \
	"tools/testing/selftests/syslet/" tests
hook selftests-run-the-syslet-tests
mark_built

hook security-add-hooks-for-syslet
step 2 "syslet: keep spare threads for chains that may block

A chain that may go asynchronous needs a thread ready to take over
when it blocks, because nothing may be created at that moment (inside
schedule()). So before a chain with a completion ring runs, its task
reserves a spare: a thread of its own process, made by the kernel with
copy_process(), that runs no user code of its own and parks
interruptibly and freezably until it is needed. It takes part in group
stop, the freezers and group exit like any thread, but does not keep
its process alive: when the last real thread calls SYS_exit,
syslet_group_exit() ends the group as exit_group() would. A task keeps
its spare between chains, so that a chain that never blocks takes no
lock. RLIMIT_NPROC, the pids cgroup and kernel.syslet.max_spares bound
the spares; a head may ask for -EAGAIN instead of a synchronous chain
at the limit. Tracepoints show spare creation and synchronous
fallbacks.

Nothing hands a caller to a spare yet: the next patch does. This one
adds the per-process state behind signal_struct and the group exit
hook in kernel/exit.c that the spares need." \
	"include/trace/events/syslet.h" code syslet-add-per-process-state
hook ptrace-refuse-to-attach
mark_built

hook signal-check-under-siglock
hook futex-look-again-for-a-PI-owner
hook exit-signal-report-a-thread-group-leader
hook sys-setpgid-and-setsid
hook exec-keep-the-TGID
step 3 "syslet: hand the caller on to a spare when a chain blocks

If an atom blocks, the sched hook in sched_submit_work() offers the
caller to the reserved spare and wakes it on the same CPU; the running
hook in sched_update_worker() withdraws the offer if the task runs
again first. Neither side waits for the other. The spare claims the
caller with one cmpxchg under siglock and both tasks' pi_lock: it takes
the caller's TID (leadership never moves), registers, TLS, signal state
and per-thread registrations, and returns 0 from async_exec() as the
caller, while the blocked task finishes the chain with the caller's
credentials of the moment, posts its completion to the ring with a
cmpxchg on the slot (exact for rings shared between processes), and
parks as a spare. Tracepoints show each handoff, takeover and posted
completion; lost_completions counts completions whose ring was
unmapped." \
	"" code sched-let-a-syslet-chain-hand
step 3 "selftests/syslet: test spare threads and the identity across a miss

Spare threads made once and reused, bounded, and out of the way of
exit, SYS_exit of the last real thread, exec, SIGKILL, core dumps, group
stop, fork and the cgroup freezer; the caller's TID, children, signals,
credentials and registrations after a cache miss." \
	"" tests
mark_built

step 4 "syslet: wait for completions with async_wait()

async_wait() sleeps on the process's waitqueue with a key, woken only
by a posting to its ring that reaches its minimum; a completer that
found the ring full waits there too, for the next async_wait() call,
instead of only backing off. An async_wait() caller that could move
offers itself while it sleeps, as a blocking chain does, and the task
whose posting meets its minimum takes the caller back instead of waking
it: it returns from async_wait() as the caller, and the sleeper stays
asleep as a parked spare, which saves the two context switches of a
wakeup and a park.

async_exec_batch() runs many chains for one kernel entry, each with its
own result, completion and miss. It stops after a chain that went
asynchronous, so the caller moves at most once a call; the caller's
return value, the count of chains consumed, is set by a task_work on
its way out, past where the system call or a new spare's first return
sets its own." \
	"" code
step 4 "selftests/syslet: test cache misses, the handoff and the ring

Misses in every flavour (the flags, the spare limit, a thousand chains
outstanding, a full ring, stop, ptrace attach and exit with atoms
blocked, 300 chains on 300 pipes), the handoff's races forced in loops
(user state, stop and freeze at any point, lock counts), and the ring
shared between processes and its minimum-aware wakeups, and batches:
results, refusals, signals and the count a moved caller returns." \
	"" tests
mark_built

step 5 "syslet: run user code as threadlets on lent threads

Threadlets run user code the way chains run system calls:
threadlet_on() borrows a thread the application lent with
async_thread() and runs the threadlet on that thread's TLS and stack; if
it blocks, the lent thread takes the caller over and the blocked task
goes on with the threadlet as the lent thread, the identity swap going
both ways; threadlet_off() ends it, in the caller or as the completion
of a moved threadlet.

A thread that registers a struct threadlet_area and leases a lent
thread with threadlet_lease() starts and ends its threadlets in user
space with no system call: the sched hook reads the pinned area's
active word when the thread blocks, and the claim takes the restore
point from it. While a threadlet runs cached, PI futexes know the
thread by the lent thread's TID, which glibc locks with there, and rseq
keeps the lent thread's area current too." \
	"" code futex-know-a-task-running-a-threadlet rseq-also-keep-the-area
step 5 "selftests/syslet: test threadlets, the ABI and a fuzzer

Threadlets cached and moved, TLS, errno and stack separation,
completions, pools, nesting, chains inside, signals, exec and exit;
threadlets on a lease, with no system call when cached, revoked, and
moving with a chain's caller; a
TCP chain; the ABI edges of every call; and syslet_fuzz, which feeds
random chains to many threads while others stop, freeze and kill them." \
	"" tests
mark_built

# The documents come in one patch with their entries in the indexes, so
# that no commit of the series has a toctree naming a missing file.
git -C "$work/repo" apply --index "$project"/patches/*Documentation-list-the-syslet*.patch
add "Documentation: describe syslets

For user space, in userspace-api: the ABI, flow control, every limit
and error, how atoms meet seccomp, ptrace and audit, which system calls
may be atoms, spare threads as the process sees them, the table of
per-thread attributes across a cache miss, completion rings and
async_wait(), threadlets and their contract with user space.

For the kernel, in core-api: the design, how a blocked chain hands its
caller on to a spare, the locking of the identity swap, the ring's
posting, what a threadlet costs, the tracepoints and the footprint on
existing files." \
	"Documentation/core-api/syslet.rst Documentation/userspace-api/syslet.rst" \
	Documentation/core-api/syslet.rst Documentation/userspace-api/syslet.rst

# The series ends with the project's own files, exactly.
for f in $(git -C "$work/repo" ls-files); do
	if [ -e "$project/$f" ] && ! cmp -s "$project/$f" "$work/repo/$f"; then
		echo "make-series: $f at the end of the series is not the project's" >&2
		exit 1
	fi
done

rm -rf "$out"
git -C "$work/repo" format-patch -q --no-signature --zero-commit \
	--cover-letter -o "$(realpath -m "$out")" "$base"..HEAD
sed -i 's/\*\*\* SUBJECT HERE \*\*\*/Syslets: asynchronous chains of system calls for Linux 6.12/' \
	"$out"/0000-cover-letter.patch
cover=$(mktemp)
cat > "$cover" <<'EOF'
Syslets in the 2007 sense of Ingo Molnar's series: a chain of system
calls ("atoms") submitted with one async_exec() call, read in and
validated up front, and run in the caller's own context with results
fed from atom to atom; when an atom blocks, the caller goes on in a
spare thread with its identity intact and the completion arrives in a
ring. Threadlets run user code the same way, on the TLS and stack of a
thread the application lent. Documentation/userspace-api/syslet.rst says
what is done, Documentation/core-api/syslet.rst how and why; the
selftests show it.
EOF
sed -i "/\*\*\* BLURB HERE \*\*\*/{
r $cover
d
}" "$out"/0000-cover-letter.patch
rm -f "$cover"

# The series must apply to the pristine files as it is.
pristine_repo "$work/check"
git -C "$work/check" am -q "$(realpath "$out")"/[0-9][0-9][0-9][0-9]-[!c]*.patch ||
	{ echo "make-series: the series does not apply" >&2; exit 1; }
# Whether every file patch $1 adds falls under a pattern of the SYSLETS
# entry: checkpatch asks whether MAINTAINERS needs updating for any added
# file, and for these it does not.
maintained_files() {
	awk '/^diff --git/ { f = $4; sub(/^b\//, "", f) }
	     /^new file mode/ { print f }' "$1" | while read -r f; do
		ok=no
		for m in $maintained; do
			case $m in
			*/) case $f in "$m"*) ok=yes ;; esac ;;
			*) [ "$f" != "$m" ] || ok=yes ;;
			esac
		done
		[ $ok = yes ] || echo "$f"
	done
}
problems=0
for p in "$out"/[0-9][0-9][0-9][0-9]-[!c]*.patch; do
	ignore=""
	grep -q '^+++ b/MAINTAINERS' "$p" || [ -n "$(maintained_files "$p")" ] ||
		ignore="--ignore FILE_PATH_CHANGES"
	if perl "$tree/scripts/checkpatch.pl" --strict --no-tree --terse $ignore - < "$p" |
		grep -E 'ERROR|WARNING|CHECK'; then
		problems=$((problems + 1))
	fi
done
count=$(ls "$out"/[0-9][0-9][0-9][0-9]-[!c]*.patch | wc -l)
echo "    $count patches in $out: they apply with git am; checkpatch --strict: $problems with remarks"
[ "$problems" -eq 0 ] || exit 1

[ $# -ge 4 ] || exit 0
vanilla=$(realpath "$1")
step_tree=$(realpath -m "$2")
step_out=$(realpath -m "$3")
shift 3

# A farm of the unpatched tree, made again when that tree changes. Files
# the series touches are replaced, not written through the links, and
# by content: what a step leaves unchanged keeps its timestamp.
if ! cmp -s "$vanilla/.syslet-vanilla-of" "$step_tree/.syslet-vanilla-of"; then
	rm -rf "$step_tree" "$step_out"
	cp -al "$vanilla" "$step_tree"
fi
touched=$(git -C "$work/repo" ls-files)
n=0
for commit in $built; do
	n=$((n + 1))
	git -C "$work/repo" checkout -q "$commit"
	for f in $touched; do
		if [ ! -e "$work/repo/$f" ]; then
			rm -f "$step_tree/$f"
		elif ! cmp -s "$work/repo/$f" "$step_tree/$f"; then
			rm -f "$step_tree/$f"
			mkdir -p "$(dirname "$step_tree/$f")"
			cp "$work/repo/$f" "$step_tree/$f"
		fi
	done
	if [ ! -e "$step_out/.config" ]; then
		"$project/scripts/kernel-config.sh" "$step_tree" "$step_out" "$@"
	else
		make -s -C "$step_tree" O="$step_out" olddefconfig >/dev/null
	fi
	echo "    step $n: building $(git -C "$work/repo" log -1 --format=%s)"
	log=$step_out/step$n.log
	if ! make -C "$step_tree" O="$step_out" -j"${JOBS:-$(nproc)}" \
		CC="ccache gcc" HOSTCC="ccache gcc" vmlinux > "$log" 2>&1; then
		tail -n 30 "$log"
		echo "make-series: the kernel does not build at the end of step $n ($log)" >&2
		exit 1
	fi
	if grep -E '(kernel/syslet|syslet\.[ch]).*warning:' "$log"; then
		echo "make-series: warnings at the end of step $n ($log)" >&2
		exit 1
	fi
done
echo "    the kernel builds at the end of each of the $n steps"
