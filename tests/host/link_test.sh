#!/bin/sh
# TAP test of how the C++ header links: two translation units with GCC
# -flto (their top-level asm meets in one assembler input), and a shared
# object, which must not export the threadlet entry; and the entry's
# unwind information, which debuggers and perf need to get out of a
# threadlet.
dir=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cxx="g++ -std=c++20 -O2 -Wall -Werror -I $dir/../../tools/lib/syslet -I $dir/../../include/uapi"
echo "1..4"
if out=$($cxx -flto "$dir/link/unit_a.cpp" "$dir/link/unit_b.cpp" -pthread \
	-o "$tmp/lto" 2>&1) && "$tmp/lto"; then
	echo "ok 1 - two translation units link with -flto"
else
	echo "not ok 1 - two translation units do not link with -flto"
	printf '%s\n' "$out" | tail -n 5 | sed 's/^/# /'
fi
if $cxx -fPIC -shared "$dir/link/unit_b.cpp" -pthread -o "$tmp/lib.so" 2>/dev/null &&
	! nm -D --defined-only "$tmp/lib.so" | grep -q syslet_threadlet_enter; then
	echo "ok 2 - a shared object does not export syslet_threadlet_enter"
else
	echo "not ok 2 - a shared object exports syslet_threadlet_enter"
fi
# An FDE of .eh_frame covers the entry's first instruction (addresses
# compared as 16-digit hex strings, as both tools print them).
addr=$(nm "$tmp/lto" 2>/dev/null | awk '$3 == "syslet_threadlet_enter" { print $1 }')
if [ ${#addr} -eq 16 ] && readelf --debug-dump=frames "$tmp/lto" 2>/dev/null |
	awk -v a="$addr" '
		/ FDE .* pc=/ { split(substr($NF, 4), r, "\\.\\.")
				if (a >= r[1] && a < r[2]) found = 1 }
		END { exit !found }'; then
	echo "ok 3 - syslet_threadlet_enter has unwind information"
else
	echo "not ok 3 - syslet_threadlet_enter has no unwind information"
fi
if out=$($cxx -fno-exceptions "$dir/link/no_exceptions.cpp" -pthread \
	-o "$tmp/noexc" 2>&1) && "$tmp/noexc"; then
	echo "ok 4 - a program built with -fno-exceptions uses chains and threadlets"
else
	echo "not ok 4 - the header does not serve -fno-exceptions"
	printf '%s\n' "$out" | tail -n 5 | sed 's/^/# /'
fi
