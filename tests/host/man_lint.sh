#!/bin/sh
# TAP test: every manual page under man/ is clean for mandoc -T lint at
# the warning level, so that a page that renders wrongly in man(1) or
# breaks the man-pages conventions mandoc knows fails make check.
top=$(cd "$(dirname "$0")/../.." && pwd)
pages=$(find "$top/man" -name '*.[1-9]' | sort)
if ! command -v mandoc >/dev/null; then
	echo "1..1"
	echo "not ok 1 - mandoc is missing (scripts/deps.sh installs it)"
	exit 1
fi
if [ -z "$pages" ]; then
	echo "1..1"
	echo "not ok 1 - no manual page under man/"
	exit 1
fi
n=0
fails=0
for page in $pages; do
	n=$((n + 1))
	name=${page#"$top"/}
	# mandoc exits 0 with remarks below -W; print them, and fail on any.
	remarks=$(mandoc -T lint -W warning "$page" 2>&1)
	if [ $? -eq 0 ] && [ -z "$remarks" ]; then
		echo "ok $n - $name is lint-clean"
	else
		echo "not ok $n - $name has lint remarks"
		printf '%s\n' "$remarks" | sed "s|$top/||; s/^/# /"
		fails=$((fails + 1))
	fi
done
echo "1..$n"
[ "$fails" -eq 0 ]
