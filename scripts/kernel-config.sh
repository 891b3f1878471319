#!/bin/sh
# Configure a kernel build folder: tinyconfig, then the fragments, then
# olddefconfig; then check that every symbol of every fragment came out as
# asked, and fail with the list of the ones Kconfig dropped.
#
# usage: kernel-config.sh TREE_DIR OUT_DIR FRAGMENT...
set -eu

tree=$(realpath "$1")
mkdir -p "$2"; out=$(realpath "$2")
shift 2

mkdir -p "$out"
make -s -C "$tree" O="$out" tinyconfig >/dev/null
"$tree/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$@" >/dev/null
make -s -C "$tree" O="$out" olddefconfig >/dev/null

dropped=""
for frag in "$@"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n)
			sym=${line%=n}
			grep -q "^$sym=" "$out/.config" && dropped="$dropped $line"
			;;
		CONFIG_*=*)
			grep -qx "$line" "$out/.config" || dropped="$dropped $line"
			;;
		esac
	done < "$frag"
done
if [ -n "$dropped" ]; then
	echo "kernel config: these fragment symbols did not come out as asked:" >&2
	for d in $dropped; do echo "  $d" >&2; done
	exit 1
fi
