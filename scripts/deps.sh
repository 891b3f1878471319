#!/bin/sh
# Install what the build needs from Debian's packages. Idempotent and fast
# when everything is there: one dpkg-query, no apt call.
#
# usage: deps.sh [KDIR]   (with KDIR, linux-source-6.12 is not needed)
#
# clang with its sanitizer runtimes (libclang-rt-14-dev, only recommended
# by clang, and apt here takes no recommends) and llvm's symbolizer build
# and explain the sanitizer runs of the host tests; cmake and pkgconf
# build the consumer of make install.
set -eu

packages="build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils
gzip rsync ccache qemu-system-x86 busybox-static libgtest-dev gcc-multilib
g++-multilib liburing-dev libaio-dev e2fsprogs gnuplot-nox trinity
libcap-dev mandoc clang libclang-rt-14-dev llvm cmake pkgconf libasio-dev"
[ -n "${1:-}" ] || packages="$packages linux-source-6.12"

missing=""
for p in $packages; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "    installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null; then
	sudo=sudo
else
	echo "deps.sh: not root and no sudo; install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
