#!/bin/sh
# The C++ library's host tests (tests/host/syslet_hpp_test.cpp with
# examples_test.cpp) and its examples, built with clang and run under
# ASan+UBSan and under TSan; each run's GoogleTest output goes to
# OUT/host-syslet-hpp-SAN.log for scripts/summarize.sh, which also counts
# every sanitizer report in it as a failure.
#
# usage: sanitizers.sh HOSTDIR OUT EXAMPLE...
#
# A TSan runtime that cannot start here (clang 14's TSan knows only the
# memory layouts of older kernels: vm.mmap_rnd_bits above 28, as some
# distributions set, breaks it) is retried without address randomisation
# (setarch -R); if that fails too, the log holds one SKIPPED test that
# says why, never a silent pass. Both builds together: about 35 s on two
# cores; none when nothing they are made of changed.
set -eu

host=$1
out=$2
shift 2
examples="$*"
top=$(cd "$(dirname "$0")/../.." && pwd)
cxx="clang++ -std=c++20 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror
	-I $top/tools/lib/syslet -I $top/include/uapi"
# -fno-sanitize-recover: a UBSan finding ends the run like an ASan one.
# Without UBSan's function-type check: clang 14 cannot compile it into a
# coroutine that Asio's templates make ("Cannot represent a difference
# across sections", LLVM issue 49689).
flags_asan="-fsanitize=address,undefined -fno-sanitize=function -fno-sanitize-recover=all"
# The test replaces operator new to count allocations; TSan's static
# runtime defines it too, and the test's own must win (its calls go
# through malloc, which TSan still sees).
flags_tsan="-fsanitize=thread -Wl,--allow-multiple-definition"

# A skip in GoogleTest's words, for summarize.sh.
skip_log() {
	echo "[==========] Running 1 test from 1 test suite."
	echo "[ RUN      ] Sanitizer.$1RunsOnThisMachine"
	printf '%s\n' "$2" | sed 's/^/    /'
	echo "[  SKIPPED ] Sanitizer.$1RunsOnThisMachine (0 ms)"
	echo "[==========] 1 test from 1 test suite ran. (0 ms total)"
}

build() {
	san=$1
	dir=$host/$san
	mkdir -p "$dir"
	# Both profiles' host-check share HOSTDIR: build once per change.
	if [ -x "$dir/syslet_hpp_test" ] && [ -z "$(find "$0" "$top/tools/lib/syslet" \
			"$top/tests/host" "$top/tests/threadlet_test_util.hpp" \
			-newer "$dir/syslet_hpp_test" -type f | head -n 1)" ]; then
		return 0
	fi
	rm -f "$dir/syslet_hpp_test"
	eval "flags=\$flags_$san"
	for ex in $examples; do
		$cxx $flags "$top/tools/lib/syslet/examples/$ex.cpp" -pthread -o "$dir/$ex"
	done
	# Last: its age tells that everything here is built.
	$cxx $flags "$top/tests/host/syslet_hpp_test.cpp" "$top/tests/host/examples_test.cpp" \
		-lgtest -lgtest_main -pthread -o "$dir/syslet_hpp_test"
}

# The two builds take one core each.
build asan > "$host/asan-build.log" 2>&1 & asan=$!
build tsan > "$host/tsan-build.log" 2>&1 & tsan=$!
failed=0
wait $asan || { cat "$host/asan-build.log"; failed=1; }
wait $tsan || { cat "$host/tsan-build.log"; failed=1; }
[ $failed -eq 0 ] || exit 1

# A lost completion would hang a chain's destructor: bound each run.
UBSAN_OPTIONS=print_stacktrace=1 SYSLET_EXAMPLES_DIR=$host/asan \
	timeout 300 "$host/asan/syslet_hpp_test" > "$out/host-syslet-hpp-asan.log" 2>&1 || true

# TSan: does its runtime start here at all (listing the tests runs none)?
# Known bugs of syslet.hpp are in tests/host/tsan.supp until fixed there.
export TSAN_OPTIONS="suppressions=$top/tests/host/tsan.supp print_suppressions=1"
tsan_log=$out/host-syslet-hpp-tsan.log
norandom=""
if ! why=$("$host/tsan/syslet_hpp_test" --gtest_list_tests 2>&1 >/dev/null); then
	norandom="setarch $(uname -m) -R"
	$norandom "$host/tsan/syslet_hpp_test" --gtest_list_tests >/dev/null 2>&1 || norandom=none
fi
if [ "$norandom" = none ]; then
	skip_log ThreadSanitizer "TSan cannot start on this machine (kernel $(uname -r),
vm.mmap_rnd_bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo '?')), nor under setarch -R:
$(printf '%s\n' "$why" | head -n 5)" > "$tsan_log"
	echo "    TSan cannot run here: skipped (see $tsan_log)"
	exit 0
fi
SYSLET_EXAMPLES_DIR=$host/tsan timeout 300 $norandom "$host/tsan/syslet_hpp_test" \
	> "$tsan_log" 2>&1 || true
# A matched suppression is a known bug, not a pass: say skip.
if grep -q '^ThreadSanitizer: Matched [0-9]* suppressions' "$tsan_log"; then
	{
		echo "[ RUN      ] KnownBug.SuppressedInTsanSupp"
		echo "    known races of syslet.hpp, expected to be fixed: tests/host/tsan.supp"
		echo "[  SKIPPED ] KnownBug.SuppressedInTsanSupp (0 ms)"
	} >> "$tsan_log"
fi
