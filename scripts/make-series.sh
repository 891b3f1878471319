#!/bin/sh
# Build the submission series: everything the project adds to Linux 6.12,
# as git format-patch files in an order where each step leaves the tree
# consistent (header, entry and sched hooks, syscall table, core, Kconfig
# hook, documentation, selftests). Then check that the series applies
# with git am to the pristine files and passes checkpatch --strict.
#
# usage: make-series.sh PROJECT_DIR TREE_DIR OUTPUT_DIR
# TREE_DIR is a tree prepared by kernel-tree.sh: its .syslet-pristine
# folder holds the pristine text of every file patches/ touches.
set -eu

project=$(realpath "$1")
tree=$(realpath "$2")
out=$3
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

pristine_repo "$work/repo"
base=$(git -C "$work/repo" rev-parse HEAD)

add "syslet: add the user ABI

struct syslet_uatom, struct async_head_user and the SYSLET_* flags,
documented where they are defined, every field an 8-byte aligned u64 so
the layout is the same for every caller. include/linux/syslet.h holds
the system call prototypes and the per-task lifecycle hooks." \
	"include/linux/syslet.h include/uapi/linux/syslet.h" \
	include/uapi/linux/syslet.h include/linux/syslet.h
hook sched-add-per-task-syslet-state
hook syslet-add-per-process-state
hook x86-syscalls-wire-up
hook syscalls-add-COND_SYSCALL
hook sched-let-a-syslet-chain-hand
hook signal-check-under-siglock
hook exit-signal-report-a-thread-group-leader
hook sys-setpgid-and-setsid
hook exec-keep-the-TGID
hook futex-look-again-for-a-PI-owner
hook ptrace-refuse-to-attach
hook security-add-hooks-for-syslet
add "syslet: read, validate and run atom chains, and move them when they block

async_exec() reads a whole chain in once, validates it (length, cycles,
flags, reserved fields, refused system calls, readable and writable
pointers) and runs it in the caller's context. Each atom goes through
syscall_trace_enter() and the exit half of that work, so seccomp,
ptrace and audit see it as a system call made by the caller. Between
atoms the task runs its task_work and stops for pending signals, as it
would between two system calls.

A chain that has a completion ring first reserves a spare thread of its
process, parked and reused. If an atom then blocks, the sched hook
offers the caller to the spare and wakes it on the same CPU; the
running hook withdraws the offer if the task runs again first. The
spare claims the caller with one cmpxchg under siglock: it takes the
caller's TID (leadership never moves), registers, TLS, signal state
and per-thread registrations, and returns 0 from async_exec() as the
caller, while the blocked task finishes the chain, posts its
completion to the ring with a cmpxchg and parks as a spare. Neither
waits for the other to be scheduled. async_wait() waits for
completions, woken only once its minimum is met; a task that finished
a moved chain and whose posting meets that minimum takes the sleeping
caller back instead of waking it, and the sleeper stays asleep as a
spare. A task keeps the spare of a chain that did not block for its
next chain, so that a chain that never blocks takes no lock.
Tracepoints show each handoff, takeover, take-back, posted completion,
spare creation and synchronous fallback.
/proc/sys/kernel/syslet/ carries the ABI version (the probe: the syscall
numbers are reused by later kernels), the switch that turns syslets off,
the per-process bound on spares and the count of completions lost to
unmapped rings.

Threadlets run user code the same way: threadlet_on() borrows a thread
the application lent with async_thread() and runs the threadlet on its
TLS and stack; if it blocks, the lent thread takes the caller over and
the blocked task goes on with the threadlet as the lent thread, the
identity swap going both ways.

What the core needs of x86-64 sits behind the arch_syslet_*() calls of
<asm/syslet.h>, in arch/x86/kernel/syslet.c." \
	"kernel/syslet/ include/trace/events/syslet.h arch/x86/include/asm/syslet.h arch/x86/kernel/syslet.c" \
	include/trace/events/syslet.h \
	arch/x86/include/asm/syslet.h arch/x86/kernel/syslet.c \
	kernel/syslet/Kconfig kernel/syslet/Makefile kernel/syslet/syslet.h \
	kernel/syslet/chain.c kernel/syslet/run.c kernel/syslet/spare.c \
	kernel/syslet/handoff.c kernel/syslet/identity.c kernel/syslet/ring.c \
	kernel/syslet/threadlet.c kernel/syslet/syscalls.c kernel/syslet/sysctl.c
hook x86-syslet-build-the-architecture-side
hook syslet-hook-the-subsystem-into-Kconfig
add "Documentation: describe syslets

The ABI, flow control, every limit and error, how atoms meet seccomp,
ptrace and audit, cache misses with the table of per-thread attributes
across one, completion rings, threadlets and their contract with user
space, and the footprint on existing files." \
	Documentation/syslet.rst Documentation/syslet.rst
add "selftests/syslet: test the ABI, spare threads and cache misses

kselftest_harness tests for every rule: ABI edges, each stop condition
on both branches with and without the skip branch, result feeding,
every refusal with proof that nothing ran and nothing was written,
signals and task_work between atoms, threads and fork, and ptrace,
seccomp and audit inside atoms. Spare threads: made once and reused,
bounded, and out of the way of exit, SYS_exit of the last real thread,
exec, SIGKILL, core dumps, group stop, fork and the cgroup freezer.
Cache misses: the caller's identity after a miss, waitpid and exec after
a leader's miss, a tgkill storm, a thousand chains outstanding, a full
ring, the flags, the spare limit, seccomp, and stop, ptrace attach and
exit with atoms blocked. Threadlets: cached and moved, TLS, errno and
stack separation, completions, pools, nesting, chains inside, signals,
exec and exit." \
	tools/testing/selftests/syslet/ \
	$(cd "$project" && ls tools/testing/selftests/syslet/*)
hook selftests-run-the-syslet-tests

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
thread the application lent. Documentation/syslet.rst says what is done
and why; the selftests show it.
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
problems=0
for p in "$out"/[0-9][0-9][0-9][0-9]-[!c]*.patch; do
	if perl "$tree/scripts/checkpatch.pl" --strict --no-tree --terse - < "$p" |
		grep -E 'ERROR|WARNING|CHECK'; then
		problems=$((problems + 1))
	fi
done
count=$(ls "$out"/[0-9][0-9][0-9][0-9]-[!c]*.patch | wc -l)
echo "    $count patches in $out: they apply with git am; checkpatch --strict: $problems with remarks"
