#!/bin/sh
# TAP test of make install: the C++ library installed into a temporary
# PREFIX, then a program outside the tree (tests/host/consumer) built
# against it alone, with CMake's find_package and with pkg-config, and
# run: its chain must go through (on the fallback pool on a host without
# syslets). Also the UAPI copy that stands in for the kernel's headers,
# the CMake version check, a staged install (DESTDIR), and the AIO
# library preloaded into a program that knows nothing of it.
# No set -e: a failed step is a "not ok" line, and the next ones still run.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
consumer=$top/tests/host/consumer
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
version=$(cat "$top/tools/lib/syslet/VERSION")
n=0

# result NAME LOG: ok when the last command succeeded, else not ok with
# the end of LOG
result() {
	status=$?
	n=$((n + 1))
	if [ $status -eq 0 ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		tail -n 8 "$2" | sed 's/^/# /'
	fi
}

echo "1..7"

# Not make's own jobs or variables of an outer make check: this install.
unset MAKEFLAGS MFLAGS
make -s -C "$top" install PREFIX="$prefix" DESTDIR= > "$tmp/install.log" 2>&1 &&
	for f in include/syslet/syslet.hpp include/syslet/linux_syslet.h \
		share/pkgconfig/syslet.pc share/cmake/syslet/syslet-config.cmake \
		share/cmake/syslet/syslet-config-version.cmake lib/libsyslet-aio.so; do
		[ -f "$prefix/$f" ] || echo "missing: $f"
	done >> "$tmp/install.log" && ! grep -q '^missing: ' "$tmp/install.log"
result "make install PREFIX= lays out the header, the UAPI copy, syslet.pc and the CMake package" \
	"$tmp/install.log"

# Without a kernel's <linux/syslet.h> the header takes the copy beside it;
# the copy also stands alone as the C header it is.
{
	if [ -f /usr/include/linux/syslet.h ]; then
		want=/usr/include/linux/syslet.h
	else
		want=$prefix/include/syslet/linux_syslet.h
	fi
	g++ -std=c++20 -M -I "$prefix/include" "$consumer/consumer.cpp" > "$tmp/deps" &&
		tr ' \\' '\n\n' < "$tmp/deps" | grep -qx "$want" &&
		echo '#include <syslet/linux_syslet.h>' |
		gcc -std=c11 -Wall -Werror -fsyntax-only -I "$prefix/include" -x c -
} > "$tmp/uapi.log" 2>&1
result "the header compiles without kernel headers that have syslets (through $(basename "$want"))" \
	"$tmp/uapi.log"

{
	cmake -S "$consumer" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" &&
		cmake --build "$tmp/cmake" && "$tmp/cmake/consumer" | grep '^consumer: ok'
} > "$tmp/cmake.log" 2>&1
result "find_package(syslet CONFIG) and syslet::syslet build a consumer that runs" "$tmp/cmake.log"

{
	export PKG_CONFIG_PATH="$prefix/share/pkgconfig"
	[ "$(pkg-config --modversion syslet)" = "$version" ] &&
		g++ -std=c++20 -O2 -Wall -Wextra -Werror "$consumer/consumer.cpp" \
			$(pkg-config --cflags --libs syslet) -o "$tmp/consumer-pc" &&
		"$tmp/consumer-pc" | grep '^consumer: ok'
} > "$tmp/pc.log" 2>&1
result "pkg-config --cflags --libs syslet builds a consumer that runs" "$tmp/pc.log"

# The version file: ours and older patch levels of it, not a later minor
# (before 1.0 minors may break) nor another major.
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
mkdir -p "$tmp/version"
cat > "$tmp/version/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(syslet_version CXX)
find_package(syslet $version EXACT CONFIG REQUIRED)
find_package(syslet $major.$minor CONFIG REQUIRED)
foreach(v $major.$((minor + 1)) $((major + 1)).0)
	find_package(syslet \${v} CONFIG QUIET)
	if(syslet_FOUND)
		message(FATAL_ERROR "syslet $version taken for \${v}")
	endif()
endforeach()
CMAKE
cmake -S "$tmp/version" -B "$tmp/version/b" -DCMAKE_PREFIX_PATH="$prefix" \
	> "$tmp/version.log" 2>&1
result "find_package takes $version for $major.$minor, not for $major.$((minor + 1)) or $((major + 1)).0" \
	"$tmp/version.log"

# Staged: the files under DESTDIR, and what they say of their place is PREFIX.
make -s -C "$top" install PREFIX=/usr DESTDIR="$tmp/stage" > "$tmp/stage.log" 2>&1 &&
	[ -f "$tmp/stage/usr/include/syslet/syslet.hpp" ] &&
	grep -qx 'prefix=/usr' "$tmp/stage/usr/share/pkgconfig/syslet.pc"
result "make install DESTDIR= stages the files for PREFIX" "$tmp/stage.log"

# POSIX AIO through the installed library, preloaded: on a host without
# syslets it hands every call to glibc's own AIO.
cat > "$tmp/aio.c" <<'PROGRAM'
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
int main(void)
{
	char buf[4] = "";
	struct aiocb cb;
	const struct aiocb *list[1] = { &cb };
	int fd = open("/proc/self/exe", O_RDONLY);

	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_buf = buf;
	cb.aio_nbytes = 4;
	if (aio_read(&cb))
		return 1;
	while (aio_error(&cb) == EINPROGRESS)
		aio_suspend(list, 1, NULL);
	return aio_return(&cb) == 4 && !memcmp(buf, "\177ELF", 4) ? 0 : 1;
}
PROGRAM
gcc -O2 -o "$tmp/aio" "$tmp/aio.c" > "$tmp/aio.log" 2>&1 &&
	SYSLET_AIO_STATS=1 LD_PRELOAD="$prefix/lib/libsyslet-aio.so" "$tmp/aio" \
		>> "$tmp/aio.log" 2>&1 &&
	grep -q '^libsyslet-aio: ' "$tmp/aio.log"
result "libsyslet-aio.so preloaded into a program that calls aio_read()" "$tmp/aio.log"
