#!/bin/sh
# Build fio from Debian's source package, for the guest: dynamic, so that
# it can dlopen() the syslet engine, and without the engines that would
# pull rados, rbd, gfapi, nfs, pmem, rdma, numa or http libraries into an
# initramfs. Debian's own binary links all of those.
#
# usage: fio-build.sh SRC_DIR JOBS
#   SRC_DIR gets fio-<version>/ from "apt-get source fio"; the fio binary
#   is built in place and SRC_DIR/fio is a link to that tree. A deb-src
#   entry mirroring the system's deb entries is added when apt has none.
set -eu

src=$1
jobs=$2

. "$(dirname "$0")/apt-source.sh"

mkdir -p "$src"
if [ ! -x "$src/fio/configure" ]; then
	ensure_deb_src fio
	echo "    apt-get source fio"
	(cd "$src" && rm -rf fio fio-* fio_* &&
	 apt-get source -qq fio > apt-source.log 2>&1) ||
		{ cat "$src/apt-source.log"; exit 1; }
	ln -sfn "$(cd "$src" && ls -d fio-*/ | head -n 1)" "$src/fio"
fi

cd "$src/fio"
if [ ! -f config-host.mak ]; then
	./configure --cc="ccache gcc" --disable-native --disable-numa \
		--disable-rdma --disable-rados --disable-rbd --disable-http \
		--disable-gfapi --disable-libnfs --disable-pmem --disable-xnvme \
		--disable-libzbc --disable-tcmalloc --disable-dfs \
		> configure.log 2>&1 || { cat configure.log; exit 1; }
fi
make -s -j"$jobs" fio > build.log 2>&1 || { tail -n 40 build.log; exit 1; }
