#!/bin/sh
# The steps of the submission series: kernel/syslet/ and its arch and
# trace files as each step of the series has them. The project keeps only
# the last step (its own files); each earlier one is the next one less the
# files that step adds and less the changes patches/steps/<n>-*.diff
# makes to the files before it. So a change to the code needs no step
# redone unless it touches lines one of those diffs touches; make patches
# says when one does. To change such lines, unpack the steps first, make
# the change in each step that has those lines (a commit per step, in
# order), and pack: the last step becomes the project's files again.
#
#   series-steps.sh unpack PROJECT DIR   DIR: a git repository with one
#                                        commit per step
#   series-steps.sh pack PROJECT DIR     patches/steps/ and the project's
#                                        files from DIR's commits
#   series-steps.sh state PROJECT N OUT  step N's files into OUT
#   series-steps.sh files N              what step N adds, one per line
set -eu

STEPS=5
tests=tools/testing/selftests/syslet

# What step N adds: code, then its selftests.
files() {
	case $1 in
	1) echo kernel/syslet/Kconfig kernel/syslet/Makefile \
		kernel/syslet/syslet.h kernel/syslet/chain.c kernel/syslet/run.c \
		kernel/syslet/syscalls.c kernel/syslet/sysctl.c \
		arch/x86/include/asm/syslet.h arch/x86/kernel/syslet.c \
		$tests/Makefile $tests/config $tests/settings $tests/syslet_test.h \
		$tests/syslet_chain_test.c $tests/syslet_trace_test.c \
		$tests/syslet_audit_test.c ;;
	2) echo kernel/syslet/spare.c kernel/syslet/handoff.c \
		include/trace/events/syslet.h ;;
	3) echo kernel/syslet/identity.c kernel/syslet/ring.c \
		$tests/syslet_spare_test.c $tests/syslet_identity_test.c ;;
	4) echo $tests/syslet_miss_test.c $tests/syslet_handoff_test.c \
		$tests/syslet_ring_test.c $tests/syslet_batch_test.c ;;
	5) echo kernel/syslet/threadlet.c kernel/syslet/lease.c \
		$tests/syslet_lend.h $tests/syslet_threadlet_test.c \
		$tests/syslet_lease_test.c $tests/syslet_net_test.c \
		$tests/syslet_abi_test.c $tests/syslet_fuzz.c ;;
	*) echo "series-steps: no step $1" >&2; exit 1 ;;
	esac
}

diff_of() {
	set -- "$1"/patches/steps/"$2"-*.diff
	[ -f "$1" ] || { echo "series-steps: no $1" >&2; exit 1; }
	echo "$1"
}

# state PROJECT N OUT
state() {
	project=$1 n=$2 out=$3
	rm -rf "$out"
	mkdir -p "$out"
	k=1
	while [ $k -le $STEPS ]; do
		for f in $(files $k); do
			mkdir -p "$out/$(dirname "$f")"
			cp "$project/$f" "$out/$f"
		done
		k=$((k + 1))
	done
	k=$STEPS
	while [ $k -gt "$n" ]; do
		for f in $(files $k); do
			rm "$out/$f"
		done
		if ! patch -s -R -p1 -F0 -d "$out" --no-backup-if-mismatch \
			< "$(diff_of "$project" $k)" >&2; then
			echo "series-steps: $(diff_of "$project" $k) no longer" \
			     "undoes step $k: redo it (scripts/series-steps.sh unpack)" >&2
			exit 1
		fi
		k=$((k - 1))
	done
}

case ${1:-} in
files)
	files "$2" | tr ' ' '\n' ;;
state)
	state "$2" "$3" "$4" ;;
unpack)
	project=$(realpath "$2") dir=$3
	rm -rf "$dir"
	mkdir -p "$dir"
	git -C "$dir" init -q
	n=1
	while [ $n -le $STEPS ]; do
		state "$project" $n "$dir.tmp"
		find "$dir" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
		cp -a "$dir.tmp/." "$dir/"
		git -C "$dir" add -A
		git -C "$dir" commit -q -m "step $n"
		n=$((n + 1))
	done
	rm -rf "$dir.tmp" ;;
pack)
	project=$(realpath "$2") dir=$3
	mkdir -p "$project/patches/steps"
	n=2
	while [ $n -le $STEPS ]; do
		old=$(git -C "$dir" rev-list --reverse HEAD | sed -n "$((n - 1))p")
		new=$(git -C "$dir" rev-list --reverse HEAD | sed -n "${n}p")
		name=$(ls "$project"/patches/steps/$n-*.diff 2>/dev/null | head -n 1)
		[ -n "$name" ] || { echo "series-steps: name patches/steps/$n-*.diff" >&2; exit 1; }
		# Only the files the step before has: what it adds is the project's.
		present=$(git -C "$dir" ls-tree -r --name-only "$old")
		git -C "$dir" diff "$old" "$new" -- $present > "$name"
		n=$((n + 1))
	done
	git -C "$dir" archive HEAD | tar -x -C "$project" ;;
*)
	sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	exit 1 ;;
esac
