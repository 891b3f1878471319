#!/bin/sh
# TAP wrapper for the -m32 ABI layout check (tests/host/abi_layout32.c):
# the checks are static assertions, so compiling is the test.
dir=$(dirname "$0")
echo "1..1"
if out=$(gcc -m32 -std=c11 -Wall -Werror -I "$dir/../../include/uapi" \
	-c "$dir/abi_layout32.c" -o /dev/null 2>&1); then
	echo "ok 1 - syslet ABI layout is identical for -m32"
else
	echo "not ok 1 - syslet ABI layout differs for -m32"
	printf '%s\n' "$out" | sed 's/^/# /'
fi
