#!/bin/sh
# Prepare the kernel source tree: unpack Debian's linux-source-6.12 (or copy
# the tree named by KDIR), overlay the project's kernel files and apply
# patches/. Safe to run again: unchanged files keep their timestamps, so
# kbuild rebuilds only what changed, also when patches/ changes.
#
# usage: kernel-tree.sh PROJECT_DIR TREE_DIR [KDIR]
# The kernel object folders are expected beside TREE_DIR, as kernel-*.
set -eu

project=$1
tree=$2
kdir=${3:-}
tarball=/usr/src/linux-source-6.12.tar.xz
applied=$tree/.syslet-applied-patches
pristine=$tree/.syslet-pristine

# Where the tree comes from; a different origin means a new tree.
if [ -n "$kdir" ]; then
	kdir=$(realpath "$kdir")
	origin="KDIR $kdir"
else
	origin="Debian $(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null)"
fi
if [ "$(cat "$tree/.syslet-origin" 2>/dev/null)" != "$origin" ]; then
	echo "    unpacking the kernel tree from $origin"
	# Unpacked files keep their old timestamps, so kbuild could not tell
	# that objects built from another tree are stale: drop them too.
	rm -rf "$tree" "$(dirname "$tree")"/kernel-*
	mkdir -p "$tree"
	if [ -n "$kdir" ]; then
		grep -q '^PATCHLEVEL = 12$' "$kdir/Makefile" ||
			{ echo "KDIR=$kdir is not a 6.12 tree" >&2; exit 1; }
		rsync -a --exclude=.git "$kdir/" "$tree/"
	else
		[ -f "$tarball" ] ||
			{ echo "$tarball missing: install linux-source-6.12" >&2; exit 1; }
		tar -C "$tree" --strip-components=1 -xf "$tarball"
	fi
	echo "$origin" > "$tree/.syslet-origin"
fi

# Apply patches/ to pristine copies of the files it touches (kept in
# $pristine from the first time a series touched them), then copy the
# results in by content: a file whose patched text did not change keeps its
# timestamp, so a reworded commit message rebuilds nothing.
if ! diff -r -q "$applied" "$project/patches" >/dev/null 2>&1; then
	staging=$tree/.syslet-staging
	rm -rf "$staging"
	mkdir -p "$pristine" "$staging"
	for f in $(cat "$project"/patches/*.patch | sed -n 's|^+++ b/||p' | sort -u); do
		if [ ! -e "$pristine/$f" ] && [ -e "$tree/$f" ]; then
			mkdir -p "$(dirname "$pristine/$f")"
			cp -p "$tree/$f" "$pristine/$f"
		fi
	done
	cp -a "$pristine/." "$staging/"
	# patches/steps/ holds the series' steps (series-steps.sh), not hooks.
	for p in $(cd "$project/patches" && ls -- *.patch | sort); do
		patch -s -N -p1 -d "$staging" < "$project/patches/$p" ||
			{ echo "patches/$p does not apply to this tree" >&2; exit 1; }
	done
	find "$staging" -name '*.orig' -delete
	rsync -rc "$staging/" "$tree/"
	rm -rf "$staging" "$applied"
	cp -r "$project/patches" "$applied"
fi

# -c: compare contents, so an untouched file keeps its old mtime.
for d in kernel/syslet include/uapi/linux/syslet.h include/linux/syslet.h \
	 include/trace/events/syslet.h arch/x86/include/asm/syslet.h \
	 arch/x86/kernel/syslet.c \
	 Documentation/userspace-api/syslet.rst Documentation/core-api/syslet.rst \
	 tools/testing/selftests/syslet; do
	[ -e "$project/$d" ] || continue
	if [ -d "$project/$d" ]; then
		mkdir -p "$tree/$d"
		rsync -rc --delete "$project/$d/" "$tree/$d/"
	else
		rsync -c "$project/$d" "$tree/$d"
	fi
done
