#!/bin/sh
# TAP test: every system call of the x86_64 table of the kernel being built
# is classified for atoms, allowed or refused, and the refused list is the
# same wherever it is written down.
#
# usage: syscall_classes.sh KERNEL_TREE
#   the table:    KERNEL_TREE/arch/x86/entry/syscalls/syscall_64.tbl
#   refused:      the table in include/uapi/linux/syslet.h (with reasons),
#                 syslet_refused_nrs[] in kernel/syslet/chain.c, and the
#                 refused_nrs[] of the selftests (syslet_chain_test.c)
#   allowed:      the list in Documentation/userspace-api/syslet.rst
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
table=${1:?usage: syscall_classes.sh KERNEL_TREE}/arch/x86/entry/syscalls/syscall_64.tbl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

# check NAME FILE: FILE holds the offending names, one a line; none is ok.
check() {
	n=$((n + 1))
	if [ -s "$2" ]; then
		echo "not ok $n - $1: $(tr '\n' ' ' < "$2")"
		fails=$((fails + 1))
	else
		echo "ok $n - $1"
	fi
}

echo "1..7"
if [ ! -f "$table" ]; then
	echo "not ok 1 - $table is missing"
	exit 1
fi

awk '$1 ~ /^[0-9]+$/ && ($2 == "common" || $2 == "64") { print $3 }' "$table" |
	sort > "$tmp/table"
# The first column of the header's table, between its rules.
awk '/^ \*   =+  =+$/ { rules++; next }
     rules == 2 { cell = substr($0, 6, 31); gsub(/,/, " ", cell)
		  n = split(cell, w, " "); for (i = 1; i <= n; i++) print w[i] }' \
	"$top/include/uapi/linux/syslet.h" | sort > "$tmp/header"
sed -n '/^static const unsigned short syslet_refused_nrs/,/^};/s/^\t__NR_\([a-z0-9_]*\),$/\1/p' \
	"$top/kernel/syslet/chain.c" | sort > "$tmp/kernel"
sed -n '/^static const long refused_nrs\[\] = {/,/^};/p' \
	"$top/tools/testing/selftests/syslet/syslet_chain_test.c" |
	grep -o '__NR_[a-z0-9_]*' | sed 's/^__NR_//' | sort > "$tmp/selftest"
sed -n '/^\.\. syslet-allowed-syscalls begin/,/^\.\. syslet-allowed-syscalls end/p' \
	"$top/Documentation/userspace-api/syslet.rst" | grep '^    ' | tr ' ' '\n' |
	grep -v '^$' | sort > "$tmp/allowed"

[ -s "$tmp/table" ] && [ -s "$tmp/header" ] && [ -s "$tmp/allowed" ] ||
	echo "nothing read" > "$tmp/unread"
check "the table and both lists were read" "$tmp/unread"
sort -u "$tmp/header" "$tmp/allowed" | comm -23 "$tmp/table" - > "$tmp/missing"
check "every call of the table is allowed or refused" "$tmp/missing"
comm -12 "$tmp/header" "$tmp/allowed" > "$tmp/both"
check "no call is both allowed and refused" "$tmp/both"
sort -u "$tmp/header" "$tmp/allowed" | comm -13 "$tmp/table" - > "$tmp/unknown"
check "every classified name is a call of the table" "$tmp/unknown"
uniq -d "$tmp/header" > "$tmp/dup"
uniq -d "$tmp/allowed" >> "$tmp/dup"
check "no call is listed twice" "$tmp/dup"
comm -3 "$tmp/header" "$tmp/kernel" | tr -d '\t' > "$tmp/kdiff"
check "syslet_nr_refused() refuses exactly the header's calls" "$tmp/kdiff"
comm -3 "$tmp/header" "$tmp/selftest" | tr -d '\t' > "$tmp/sdiff"
check "the selftest submits exactly the header's refused calls" "$tmp/sdiff"
[ $fails -eq 0 ]
