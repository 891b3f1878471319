#!/bin/sh
# Pack the guest: busybox (with a link per applet), the init script, the
# project's programs and the installed kselftests, into a gzipped cpio made
# by the kernel's own gen_init_cpio (so /dev/console needs no root).
#
# usage: mkinitramfs.sh GEN_INIT_CPIO INIT OUTPUT KSELFTEST_DIR PROGRAM...
set -eu

gen=$1
init=$2
output=$3
kselftest=$4
shift 4
busybox=/bin/busybox
list=$output.list

{
	for d in /dev /proc /sys /tmp /etc /bin /sbin /usr /usr/bin /usr/sbin \
		 /usr/lib /usr/lib/syslet /kselftest; do
		echo "dir $d 0755 0 0"
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	echo "file /bin/busybox $busybox 0755 0 0"
	for applet in $("$busybox" --list); do
		[ "$applet" = busybox ] && continue
		# No /usr/bin/timeout: kselftest's runner would call it with
		# GNU options busybox does not have.
		[ "$applet" = timeout ] && continue
		# A program of the same name (e2fsprogs' mke2fs) replaces it.
		for prog in "$@"; do
			[ "$(basename "$prog")" = "$applet" ] && continue 2
		done
		echo "slink /bin/$applet busybox 0777 0 0"
	done
	echo "file /init $init 0755 0 0"
	# Shared objects go to /usr/lib/syslet; a dynamic program brings the
	# libraries ldd finds, at the paths it finds them, and its ld.so.
	libs=""
	for prog in "$@"; do
		case $prog in
		*.so) echo "file /usr/lib/syslet/$(basename "$prog") $prog 0755 0 0" ;;
		*) echo "file /bin/$(basename "$prog") $prog 0755 0 0" ;;
		esac
	done
	# Dynamic kselftests (exec's, for make regress) bring theirs too.
	for prog in "$@" $(find "$kselftest" -type f -perm -u+x); do
		if deps=$(ldd "$prog" 2>/dev/null); then
			libs="$libs $(echo "$deps" | sed -n 's|.* => \(/[^ ]*\) .*|\1|p; s|^\t*\(/[^ ]*\) .*|\1|p')"
		fi
	done
	libs=$(printf '%s\n' $libs | sort -u)
	# Parents before children: sorted paths put /lib before /lib/x.
	for lib in $libs; do
		dir=$(dirname "$lib")
		while [ "$dir" != / ]; do
			echo "$dir"
			dir=$(dirname "$dir")
		done
	done | sort -u | grep -vxE '/usr|/usr/lib|/usr/lib/syslet' |
		sed 's/.*/dir & 0755 0 0/'
	for lib in $libs; do
		echo "file $lib $(realpath "$lib") 0755 0 0"
	done
	(cd "$kselftest" && find . -mindepth 1 -type d) | while read -r d; do
		echo "dir /kselftest/${d#./} 0755 0 0"
	done
	(cd "$kselftest" && find . -type f) | while read -r f; do
		mode=$(stat -c %a "$kselftest/$f")
		echo "file /kselftest/${f#./} $kselftest/${f#./} $mode 0 0"
	done
} > "$list"
"$gen" "$list" | gzip -1 > "$output.tmp"
mv "$output.tmp" "$output"
