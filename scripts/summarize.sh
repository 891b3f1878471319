#!/bin/sh
# Count what a run passed and failed, print every failure, and end with the
# plain line "N passed, N failed".
#
# usage: summarize.sh KIND:FILE...
#   gtest:FILE  GoogleTest output; a run that did not finish counts 1 failure,
#               and so does every sanitizer report in it (ASan, UBSan, TSan,
#               LeakSanitizer), which a test that passed may have printed
#   tap:FILE    plain TAP ("ok N ..." / "not ok N ...", "ok N ... # SKIP"
#               a skip); needs a plan line
#   guest:FILE  serial console of a guest that ran run_kselftest.sh: the
#               kselftest totals, plus one failure for every kernel oops,
#               BUG, WARN, lockdep, KASAN, UBSAN, hung-task or RCU-stall
#               report, every kmemleak leak, and a guest that did not
#               finish (hang, panic, timeout) or never started
#   kernel:FILE the same console, for the kernel's reports and the guest's
#               end only: its tests' results are counted elsewhere
# Exits 1 if anything failed or nothing ran at all.
set -u

total_pass=0
total_fail=0
total_skip=0

for arg in "$@"; do
	kind=${arg%%:*}
	file=${arg#*:}
	if [ ! -f "$file" ]; then
		echo "FAIL: $file is missing"
		total_fail=$((total_fail + 1))
		continue
	fi
	case $kind in
	gtest)
		counts=$(awk '
			/^\[       OK \] .* \([0-9]+ ms\)$/ { pass++ }
			/^\[  FAILED  \] .* \([0-9]+ ms\)$/ { fail++; print "FAIL: " $0 > "/dev/stderr" }
			/^\[  SKIPPED \] .* \([0-9]+ ms\)$/ { skip++ }
			/^(==[0-9]+==)?ERROR: [A-Za-z]+Sanitizer|^WARNING: ThreadSanitizer:|: runtime error: / {
				fail++; print "FAIL: " $0 > "/dev/stderr"
			}
			/^\[==========\] .* ran\./ { done = 1 }
			END {
				if (!done) { fail++; print "FAIL: GoogleTest run did not finish" > "/dev/stderr" }
				print pass + 0, fail + 0, skip + 0
			}' "$file")
		;;
	tap)
		counts=$(awk '
			/^1\.\.[0-9]+/ { plan = substr($1, 4) + 0 }
			/^ok .*# [Ss][Kk][Ii][Pp]/ { skip++; next }
			/^ok / { pass++ }
			/^not ok / { fail++; print "FAIL: " $0 > "/dev/stderr" }
			END {
				if (pass + fail + skip != plan || plan == 0) { fail++; print "FAIL: TAP plan not met" > "/dev/stderr" }
				print pass + 0, fail + 0, skip + 0
			}' "$file")
		;;
	guest|kernel)
		counts=$(awk -v tests=$([ "$kind" = guest ] && echo 1 || echo 0) '
			function report(msg) { fail++; print "FAIL: " msg > "/dev/stderr" }
			/^\[ *[0-9]+\.[0-9]+\] / &&
			/(Kernel panic|BUG:|WARNING:|Oops|general protection fault|kernel BUG at|UBSAN:|INFO: task .* blocked for more than|rcu: INFO:|detected stall)/ {
				report("kernel: " $0)
			}
			/^SYSLET-GUEST: kmemleak report follows/ { leaks = 1 }
			leaks && /^unreferenced object/ { report("kmemleak: " $0) }
			/^SYSLET-GUEST: done/ { done = 1 }
			/^SYSLET-HOST: the guest never started/ { never = 1 }
			!tests { next }
			/^# selftests: / { binary = $0; totals = 0; binfail = 0; anybinary = 1 }
			/^# # Totals: / {
				totals = 1
				anytotals = 1
				for (i = 3; i <= NF; i++) {
					split($i, kv, ":")
					if (kv[1] == "pass" || kv[1] == "xfail") pass += kv[2]
					if (kv[1] == "skip") skip += kv[2]
					if (kv[1] == "fail" || kv[1] == "error" || kv[1] == "xpass") { fail += kv[2]; binfail += kv[2] }
				}
			}
			/^# not ok / { print "FAIL: " $0 > "/dev/stderr" }
			/^not ok [0-9]+ selftests: / {
				if (!totals || !binfail) report($0 " (crashed, timed out or exited non-zero)")
			}
			END {
				if (never) report("the guest never started: see the SYSLET-HOST lines of the console log")
				else if (!done) report("the guest did not finish: hang, panic or timeout (see the console log)")
				else if (tests && !anytotals && !anybinary) report("the guest printed no kselftest results")
				print pass + 0, fail + 0, skip + 0
			}' "$file")
		;;
	*)
		echo "summarize.sh: unknown kind '$kind'" >&2
		exit 2
		;;
	esac
	set -- $counts
	total_pass=$((total_pass + $1))
	total_fail=$((total_fail + $2))
	total_skip=$((total_skip + $3))
done

if [ $((total_pass + total_fail)) -eq 0 ]; then
	echo "FAIL: no test ran"
	total_fail=1
fi
if [ $total_skip -gt 0 ]; then
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "$total_pass passed, $total_fail failed"
fi
[ $total_fail -eq 0 ]
