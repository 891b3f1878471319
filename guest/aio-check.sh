#!/bin/sh
# libsyslet-aio.so, preloaded as into an unmodified program: its own tests
# with syslets, again with syslets switched off (then everything must be
# glibc's own AIO), and fio's posixaio engine through it, verifying what
# it wrote. Output: TAP.
#
#   aio-check.sh                  in the guest
#   aio-check.sh host LIB TEST    on a host without syslets: the tests
#                                 that glibc's AIO passes, through LIB
set -u

lib=/usr/lib/syslet/libsyslet-aio.so
test=/bin/syslet-aio-test
where=guest
if [ "${1:-}" = host ]; then
	where=host lib=$2 test=$3
fi
n=0
out=/tmp/aio-check.$$.log

emit()
{
	n=$((n + 1))
	echo "$1 $n $2"
}

# harness TITLE COMMAND...: each of the kselftest harness's results as one
# of ours; a test that never reported (a crash) fails.
harness()
{
	title=$1
	shift
	"$@" > $out 2>&1
	status=$?
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' $out | head -n 1)
	got=0
	grep -E '^(ok|not ok) ' $out > $out.lines
	while read -r line; do
		got=$((got + 1))
		case $line in
		"not ok "*)
			emit "not ok" "$title: ${line#not ok [0-9]* }"
			grep -E '^# .*(Expected|FAIL|assertion)' $out | sed 's/^/# /' ;;
		*)	emit "ok" "$title: ${line#ok [0-9]* }" ;;
		esac
	done < $out.lines
	while [ $got -lt "${plan:-1}" ]; do
		got=$((got + 1))
		emit "not ok" "$title: test $got did not report (exit $status)"
		tail -n 20 $out | sed 's/^/# /'
	done
	rm -f $out.lines
}

if [ $where = host ]; then
	harness "glibc's AIO through the library" \
		env SYSLET_AIO_EXPECT=glibc LD_PRELOAD=$lib $test
	rm -f $out
	echo "1..$n"
	exit 0
fi

. /bin/nullb.sh
engine_log=/tmp/aio-fio.log

# A slow disk for a thousand requests at once: 50 ms per read, all in
# flight together.
nullb_create syslet-aio 16 50000000 1024 ||
	echo "# no /dev/syslet-aio: the thousand-request test skips"
harness "syslets" env LD_PRELOAD=$lib $test /dev/syslet-aio
nullb_remove syslet-aio

echo 0 > /proc/sys/kernel/syslet/enabled
harness "syslets switched off, glibc's AIO" \
	env SYSLET_AIO_EXPECT=glibc LD_PRELOAD=$lib $test
echo 1 > /proc/sys/kernel/syslet/enabled

# glibc's own AIO tests (scripts/glibc-aio-tests.sh), preloaded. Their
# driver exits 0 for a pass, 77 for unsupported; some pass vacuously (aio_*
# said ENOSYS, or /dev/full is missing), which counts as a failure or a
# skip here. First, that the library really takes their aio_* calls: an
# export under a version other than the one they import would leave them
# on glibc's AIO, passing.
glibc_tests()
{
	[ -x /bin/tst-aio ] || return 0
	if LD_BIND_NOW=1 LD_DEBUG=bindings LD_PRELOAD=$lib /bin/tst-aio --help 2>&1 </dev/null |
		grep "symbol .[al]io_" | grep -q "libsyslet-aio"; then
		emit "ok" "glibc's tests: their aio_* calls bind to libsyslet-aio.so"
	else
		emit "not ok" "glibc's tests: their aio_* calls do not bind to libsyslet-aio.so"
	fi
	for t in $(ls /bin/tst-aio* /bin/tst-cancel*17 2>/dev/null); do
		name=$(basename "$t")
		TIMEOUTFACTOR=5 LD_PRELOAD=$lib $t > $out 2>&1
		rc=$?
		if [ $rc -eq 77 ]; then
			emit "ok" "glibc's $name # SKIP unsupported"
		elif [ $rc -ne 0 ]; then
			emit "not ok" "glibc's $name (exit $rc)"
			tail -n 20 $out | sed 's/^/# /'
		elif grep -q "no aio support in this configuration" $out; then
			emit "not ok" "glibc's $name: passed vacuously, aio_* said ENOSYS"
		elif grep -q "could not open /dev/full" $out; then
			emit "ok" "glibc's $name # SKIP no /dev/full"
		else
			emit "ok" "glibc's $name"
		fi
	done
}

glibc_tests

# fio_posixaio NAME OPTIONS...: fio's own posixaio engine, preloaded:
# writes, reads back and checks every block; the library says it ran
# requests, some of them asynchronously.
fio_posixaio()
{
	name=$1
	shift
	# --thread: the job in this process, whose exit prints the counts.
	SYSLET_AIO_STATS=1 LD_PRELOAD=$lib fio --name="$name" --ioengine=posixaio --thread \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
		--bs=4k --size=8m "$@" > $engine_log 2>&1 &&
		grep -q "err= 0" $engine_log && grep -q "read: IOPS" $engine_log &&
		grep -q "^libsyslet-aio: syslets: " $engine_log
}

fio_result()
{
	if [ "$1" -eq 0 ]; then
		emit "ok" "$2"
		grep '^libsyslet-aio: ' $engine_log | sed 's/^/# /'
	else
		emit "not ok" "$2"
		sed 's/^/# /' $engine_log
	fi
}

fio_posixaio posixaio-tmpfs --filename=/tmp/aio-fio.dat --rw=randwrite \
	--iodepth=16 --fsync=8
fio_result $? "fio posixaio through the library: tmpfs random writes with fsync, verified"
rm -f /tmp/aio-fio.dat

nullb_create syslet-aio-verify 16 20000 64 1 &&
	fio_posixaio posixaio-nullb --filename=/dev/syslet-aio-verify --direct=1 \
		--rw=randwrite --iodepth=32 &&
	awk '/^libsyslet-aio: syslets: / { if ($5 + 0 > 0) ok = 1 } END { exit !ok }' $engine_log
fio_result $? "fio posixaio through the library: O_DIRECT on null_blk, QD32, asynchronous, verified"
nullb_remove syslet-aio-verify

rm -f $out $engine_log
echo "1..$n"
