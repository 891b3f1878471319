#!/bin/sh
# make install: the C++ library for consumers outside this tree, and
# POSIX AIO on syslets for unmodified programs. Needs sh, sed, install
# and gcc; nothing of the kernel build.
#
# usage: install-lib.sh TOP DESTDIR PREFIX
#
#   PREFIX/include/syslet/syslet.hpp          the library
#   PREFIX/include/syslet/linux_syslet.h      the UAPI header, for hosts
#                                             whose kernel headers lack it
#   PREFIX/share/pkgconfig/syslet.pc          pkg-config --cflags --libs syslet
#   PREFIX/share/cmake/syslet/*.cmake         find_package(syslet CONFIG)
#   PREFIX/lib/libsyslet-aio.so               LD_PRELOAD, or link it ahead
#                                             of libc
#
# The C++ library is header-only, so its files go under share/, not
# lib/<triplet>/; the AIO library goes to lib/, where LD_PRELOAD names it.
# DESTDIR stages the files; what they say of their place is PREFIX.
set -eu

top=$1
destdir=$2
prefix=$3
case $prefix in
/*) ;;
*) echo "install-lib.sh: PREFIX must be an absolute path, not '$prefix'" >&2; exit 1 ;;
esac
lib=$top/tools/lib/syslet
# The version lives in one file; the .pc and the CMake version file get it here.
version=$(cat "$lib/VERSION")
root=$destdir$prefix

install -d "$root/include/syslet" "$root/share/pkgconfig" "$root/share/cmake/syslet"
install -m 644 "$lib/syslet.hpp" "$root/include/syslet/syslet.hpp"
# The same text as the kernel's headers_install writes to usr/include
# (its sed, for the only rewrite that applies: the guard loses _UAPI), so
# the copy and a kernel's <linux/syslet.h> share their include guard.
sed -E 's@#(ifndef|define|endif[[:space:]]*/[*])[[:space:]]*_UAPI@#\1 @' \
	"$top/include/uapi/linux/syslet.h" > "$root/include/syslet/linux_syslet.h"
chmod 644 "$root/include/syslet/linux_syslet.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" "$lib/pkg/syslet.pc.in" \
	> "$root/share/pkgconfig/syslet.pc"
install -m 644 "$lib/pkg/syslet-config.cmake" "$root/share/cmake/syslet/syslet-config.cmake"
sed -e "s|@VERSION@|$version|" "$lib/pkg/syslet-config-version.cmake.in" \
	> "$root/share/cmake/syslet/syslet-config-version.cmake"
chmod 644 "$root/share/pkgconfig/syslet.pc" "$root/share/cmake/syslet/syslet-config-version.cmake"

# Built here, against the UAPI header of this tree: no kernel headers.
install -d "$root/lib"
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
	-I "$top/include/uapi" -o "$root/lib/libsyslet-aio.so" \
	"$top/tools/lib/syslet-aio/syslet-aio.c" -ldl -lpthread
chmod 755 "$root/lib/libsyslet-aio.so"
