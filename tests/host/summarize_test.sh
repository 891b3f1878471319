#!/bin/sh
# TAP test of scripts/summarize.sh: the console scanner must count every
# kind of kernel report and an unfinished guest as failures, and count
# kselftest totals right. Feeds it made-up console logs.
set -u
summarize=$(dirname "$0")/../../scripts/summarize.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

clean_log() {
	cat <<'LOG'
[    0.000000] Linux version 6.12.117
SYSLET-GUEST: begin mode=check
TAP version 13
1..1
# timeout set to 300
# selftests: syslet: syslet_abi_test
# TAP version 13
# 1..3
# ok 1 global.a
# ok 2 global.b
# ok 3 global.c # SKIP no reason
# # Totals: pass:2 fail:0 xfail:0 xpass:0 skip:1 error:0
ok 1 selftests: syslet: syslet_abi_test
SYSLET-GUEST: status=0
SYSLET-GUEST: done
LOG
}

# expect NAME "LAST LINE" EXIT_STATUS [KIND:FILE...]: runs summarize on
# those, by default on guest:$tmp/log
expect() {
	n=$((n + 1))
	name=$1 want=$2 want_status=$3
	shift 3
	[ $# -gt 0 ] || set -- "guest:$tmp/log"
	out=$("$summarize" "$@" 2>/dev/null)
	status=$?
	last=$(printf '%s\n' "$out" | tail -n 1)
	if [ "$last" = "$want" ] && [ $status -eq $want_status ]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name: got '$last' (exit $status)"
		fails=$((fails + 1))
	fi
}

echo "1..18"

clean_log > "$tmp/log"
expect "clean run counts totals and skips" "2 passed, 0 failed, 1 skipped" 0

clean_log | sed 's/pass:2 fail:0/pass:1 fail:1/; s/^ok 1 selftests/not ok 1 selftests/' > "$tmp/log"
expect "failed test counted once" "1 passed, 1 failed, 1 skipped" 1

clean_log | sed 's/^ok 1 selftests/not ok 1 selftests/' > "$tmp/log"
expect "binary exiting non-zero with all tests passed is a failure" "2 passed, 1 failed, 1 skipped" 1

clean_log | grep -v Totals | sed 's/^ok 1 selftests/not ok 1 selftests/' > "$tmp/log"
expect "crashed binary without totals is a failure" "0 passed, 1 failed" 1

for report in "WARNING: CPU: 1 PID: 42 at kernel/syslet/run.c:10 x+0x1/0x2" \
	      "BUG: KASAN: slab-use-after-free in syslet_chain_run+0x10/0x20"; do
	clean_log | sed "2a [   12.345678] $report" > "$tmp/log"
	expect "kernel report counted: ${report%% *}" "2 passed, 1 failed, 1 skipped" 1
done

clean_log | sed '2a [    3.000000] WARNING: possible circular locking dependency detected' > "$tmp/log"
expect "lockdep splat counted" "2 passed, 1 failed, 1 skipped" 1

clean_log | grep -v 'SYSLET-GUEST: done' > "$tmp/log"
expect "guest that did not finish is a failure" "2 passed, 1 failed, 1 skipped" 1

{ clean_log | grep -v 'SYSLET-GUEST: done'
  echo "SYSLET-GUEST: kmemleak report follows"
  echo "unreferenced object 0xffff888003a1b000 (size 8192):"
  echo "SYSLET-GUEST: done"; } > "$tmp/log"
expect "kmemleak leak counted" "2 passed, 1 failed, 1 skipped" 1

clean_log | grep -v '^# ' > "$tmp/log"
expect "guest that printed no kselftest results is a failure" "0 passed, 1 failed" 1

printf '%s\n' "SYSLET-HOST: accel=KVM" \
	"qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" \
	"SYSLET-HOST: the guest never started (QEMU exit status 134); QEMU's last lines:" \
	> "$tmp/log"
expect "guest that never started is a failure" "0 passed, 1 failed" 1

# kernel: the console's kernel reports and end only; results come from TAP.
printf '1..2\nok 1 a\nok 2 b\n' > "$tmp/tap"
clean_log | sed 's/pass:2 fail:0/pass:1 fail:1/' > "$tmp/log"
expect "kernel kind leaves kselftest totals to others" "2 passed, 0 failed" 0 \
	"tap:$tmp/tap" "kernel:$tmp/log"
clean_log | sed '2a [   12.345678] Oops: general protection fault' > "$tmp/log"
expect "kernel kind counts a kernel report" "2 passed, 1 failed" 1 \
	"tap:$tmp/tap" "kernel:$tmp/log"

# tap: a "# SKIP" is a skip, and the plan counts it.
printf 'ok 1 a\nok 2 b # SKIP no device\n1..2\n' > "$tmp/tap"
expect "TAP skip counted as a skip" "1 passed, 0 failed, 1 skipped" 0 "tap:$tmp/tap"
printf 'ok 1 a\n1..2\n' > "$tmp/tap"
expect "TAP plan not met is a failure" "1 passed, 1 failed" 1 "tap:$tmp/tap"

# gtest: a sanitizer's report fails the run even where the test passed.
gtest_log() {
	echo "[==========] Running 1 test from 1 test suite."
	echo "[ RUN      ] Suite.Test"
	printf '%s' "$1"
	echo "[       OK ] Suite.Test (3 ms)"
	echo "[==========] 1 test from 1 test suite ran. (3 ms total)"
}
gtest_log "" > "$tmp/gtest"
expect "clean GoogleTest run" "1 passed, 0 failed" 0 "gtest:$tmp/gtest"
gtest_log "WARNING: ThreadSanitizer: data race (pid=12)
" > "$tmp/gtest"
expect "TSan report counted" "1 passed, 1 failed" 1 "gtest:$tmp/gtest"
gtest_log "a.cpp:3:9: runtime error: signed integer overflow
==12==ERROR: AddressSanitizer: heap-use-after-free on address 0x1
" > "$tmp/gtest"
expect "UBSan and ASan reports counted" "1 passed, 2 failed" 1 "gtest:$tmp/gtest"

[ $fails -eq 0 ]
