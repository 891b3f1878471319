#!/bin/sh
# glibc's own POSIX AIO tests, built outside glibc's tree from Debian's
# glibc source package, for the guest to run against libsyslet-aio.so:
# rt/tst-aio*.c and nptl/tst-cancel17.c, tst-cancelx17.c (aio_suspend as
# a cancellation point), with the small part of support/ their test
# driver needs. Dynamic, so that LD_PRELOAD reaches them.
#
# usage: glibc-aio-tests.sh SRC_DIR OUT_DIR
#   SRC_DIR gets the source package (downloaded once; only the files the
#   tests need are unpacked from its upstream tarball); OUT_DIR the test
#   binaries and tests.list. Prints one line for each test it cannot build.
set -eu

src=$1
out=$2

. "$(dirname "$0")/apt-source.sh"

mkdir -p "$src" "$out"
src=$(cd "$src" && pwd)
out=$(cd "$out" && pwd)
if [ ! -f "$src/glibc/support/test-driver.c" ]; then
	ensure_deb_src glibc
	echo "    apt-get source --download-only glibc"
	(cd "$src" && rm -rf glibc glibc-* glibc_* &&
	 apt-get source --download-only -qq glibc > apt-source.log 2>&1) ||
		{ cat "$src/apt-source.log"; exit 1; }
	tarball=$(ls "$src"/glibc_*.orig.tar.xz)
	top=$(tar -tJf "$tarball" | head -n 1 | cut -d/ -f1)
	tar -xJf "$tarball" -C "$src" "$top/support" "$top/rt" \
		"$top/test-skeleton.c" "$top/nptl/tst-cancel17.c" \
		"$top/nptl/tst-cancelx17.c"
	ln -sfn "$top" "$src/glibc"
fi
glibc=$src/glibc

# <support/...> and <test-skeleton.c> without -I of the whole tree, whose
# generic bits/*.h would shadow the installed ones; support's own headers
# only after the system's.
shim=$out/shim
mkdir -p "$shim" "$out/obj" "$out/log"
ln -sfn "$glibc/support" "$shim/support"
ln -sfn "$glibc/test-skeleton.c" "$shim/test-skeleton.c"
inc="-I$shim -idirafter $glibc/support"
cflags="-O2 -g -D_GNU_SOURCE"

# What the support files take from glibc's generated config.h.
cat > "$shim/config.h" <<'EOF'
#define TIMEOUTFACTOR 1
#define SRCDIR_PATH "/nonexistent"
#define OBJDIR_PATH "/nonexistent"
#define OBJDIR_ELF_LDSO_PATH "/lib64/ld-linux-x86-64.so.2"
#define INSTDIR_PATH "/usr"
#define LIBDIR_PATH "/usr/lib"
#define BINDIR_PATH "/usr/bin"
#define SBINDIR_PATH "/usr/sbin"
#define SLIBDIR_PATH "/lib"
#define ROOTSBINDIR_PATH "/sbin"
#define COMPLOCALEDIR_PATH "/usr/lib/locale"
#include <limits.h>
EOF

# The closure of what the test driver and the AIO tests use.
objs=""
for f in support_test_main check support_record_failure write_message \
	 temp_file xmalloc xcalloc xasprintf oom_error xchdir xfopen \
	 support_paths; do
	gcc $cflags -include "$shim/config.h" $inc -c "$glibc/support/$f.c" \
		-o "$out/obj/$f.o" > "$out/log/support-$f.log" 2>&1 ||
		{ cat "$out/log/support-$f.log"; exit 1; }
	objs="$objs $out/obj/$f.o"
done
rm -f "$out/libsupport.a"
ar rcs "$out/libsupport.a" $objs

: > "$out/tests.list"
for t in "$glibc"/rt/tst-aio*.c "$glibc"/nptl/tst-cancel17.c \
	 "$glibc"/nptl/tst-cancelx17.c; do
	name=$(basename "$t" .c)
	# Flags glibc's Makefiles give them.
	case $name in
	*-time64) extra="-D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64" ;;
	tst-cancelx*) extra="-fexceptions" ;;
	*) extra="" ;;
	esac
	# libgcc_s as a DT_NEEDED: pthread_cancel() dlopen()s it, and the
	# initramfs brings what ldd lists.
	if gcc $cflags $extra $inc "$t" -o "$out/$name" "$out/libsupport.a" \
		-Wl,--push-state,--no-as-needed -lgcc_s -Wl,--pop-state \
		> "$out/log/$name.log" 2>&1; then
		echo "$name" >> "$out/tests.list"
	else
		echo "    not built: $name: $(grep -m1 -E 'error|undefined' "$out/log/$name.log")"
	fi
done
