#!/bin/sh
# Compare two guests' kselftest runs at subtest level, for make regress:
# every subtest (and every test program) that passed on the unpatched
# kernel is one TAP line, "ok" if it passed on the patched kernel too,
# "not ok" if it failed, was skipped or did not run there. Subtests that
# did not pass unpatched are not counted; their number is printed.
#
# usage: regress-compare.sh UNPATCHED_CONSOLE PATCHED_CONSOLE
set -eu

# "KEY<TAB>pass|fail" per result line of a console log. The key is the
# program ("collection:test") and the line's text without its number and
# directive, made unique by an occurrence count.
results() {
	tr -d '\r' < "$1" | awk '
		/^# selftests: / { prog = $3 $4; next }
		/^ok [0-9]+ selftests: / || /^not ok [0-9]+ selftests: / {
			st = ($1 == "ok") && !/# SKIP/ ? "pass" : "fail"
			sub(/^(not )?ok [0-9]+ selftests: /, "")
			sub(/ # .*/, "")
			print $0 "\tprogram\t" st
			next
		}
		prog != "" && /^(# )+(not )?ok [0-9]+ / {
			line = $0
			st = (line ~ /^(# )+ok /) && line !~ /# (SKIP|skip)/ ? "pass" : "fail"
			sub(/^(# )+(not )?ok [0-9]+ /, "", line)
			sub(/ # .*/, "", line)
			key = prog "\t" line
			n = ++seen[key]
			print prog "\t" line (n > 1 ? " #" n : "") "\t" st
		}'
}

unpatched=$(mktemp)
patched=$(mktemp)
trap 'rm -f "$unpatched" "$patched"' EXIT
results "$1" > "$unpatched"
results "$2" > "$patched"

awk -F '\t' '
	FNR == NR { patched[$1 "\t" $2] = $3; next }
	$3 == "pass" { keys[++n] = $1 "\t" $2 }
	$3 != "pass" { other++ }
	END {
		print "1.." n
		for (i = 1; i <= n; i++) {
			split(keys[i], k, "\t")
			name = k[1] ": " k[2]
			if (!(keys[i] in patched))
				print "not ok " i " " name " (passes unpatched, did not run patched)"
			else if (patched[keys[i]] == "pass")
				print "ok " i " " name
			else
				print "not ok " i " " name " (passes unpatched, fails patched)"
		}
		print "# " other + 0 " results did not pass unpatched and are not compared"
	}' "$patched" "$unpatched"
