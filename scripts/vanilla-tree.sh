#!/bin/sh
# Make the unpatched twin of the kernel tree for make regress: the same
# Linux 6.12 sources without this project's files and patches. It is a
# farm of hard links to the patched tree (seconds, no disk), with the
# files patches/ touches restored from the tree's pristine copies.
# Nothing writes into either tree in place (kernel-tree.sh replaces files,
# kbuild builds elsewhere), so the links stay safe.
#
# usage: vanilla-tree.sh PATCHED_TREE VANILLA_TREE
set -eu

tree=$(realpath "$1")
vanilla=$2
stamp=$vanilla/.syslet-vanilla-of

# Current if made from this tree's origin and the same patched files.
want=$(cat "$tree/.syslet-origin"; ls -R "$tree/.syslet-pristine" | md5sum)
[ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && exit 0

echo "    linking the unpatched tree"
rm -rf "$vanilla"
cp -al "$tree" "$vanilla"
rm -rf "$vanilla/.syslet-pristine" "$vanilla/.syslet-applied-patches"
# Files the series adds, then those it changes, as 6.12 has them.
for f in kernel/syslet include/uapi/linux/syslet.h include/linux/syslet.h \
	 include/trace/events/syslet.h arch/x86/include/asm/syslet.h \
	 arch/x86/kernel/syslet.c Documentation/userspace-api/syslet.rst \
	 Documentation/core-api/syslet.rst \
	 tools/testing/selftests/syslet; do
	rm -rf "${vanilla:?}/$f"
done
(cd "$tree/.syslet-pristine" && find . -type f) | while read -r f; do
	rm -f "$vanilla/$f"
	cp -p "$tree/.syslet-pristine/$f" "$vanilla/$f"
done
printf '%s\n' "$want" > "$stamp"
