#!/bin/sh
# make fuzz, in the guest: the random-chain fuzzer for syslet_fuzz= chains,
# then Debian's trinity for syslet_trinity= calls twice, as nobody: once
# while chains and threadlets run beside it, and once with every call it
# makes sent through a one-atom chain (the syslet-atomize.so preload).
# Prints a TAP block between markers for the host; the kernel's own
# reports on the console are the host's to find.
set -u
calls=$(sed -n 's/.*syslet_trinity=\([0-9]*\).*/\1/p' /proc/cmdline)
calls=${calls:-100000}
shim=/usr/lib/syslet/syslet-atomize.so
# A bound on each trinity run, far above what its calls take.
bound=1800

(cd /kselftest && ./run_kselftest.sh -o 14400 -t syslet:syslet_fuzz)

echo "nobody:x:65534:65534:nobody:/tmp/trinity:/bin/sh" >> /etc/passwd
echo "nogroup:x:65534:" >> /etc/group
mkdir -p /tmp/trinity && chown 65534:65534 /tmp/trinity

# trinity_run SEED [PRELOAD]: its calls as nobody, in /tmp/trinity; true
# when it made them all within the bound.
trinity_run() {
	seed=$1
	preload=$2
	busybox timeout -s KILL $bound su -s /bin/sh -c \
		"cd /tmp/trinity && exec env ${preload:+LD_PRELOAD=$preload} \
		 trinity -q -l off -C 2 -N $calls -a 64 -s $seed \
		 --disable-fds=pseudo,sockets" nobody > /tmp/trinity.log 2>&1
	rc=$?
	tail -n 3 /tmp/trinity.log | sed 's/^/# /'
	[ $rc -ne 137 ] && grep -q "Ran $calls syscalls" /tmp/trinity.log
}

# moved "$@": run it, counting the chains that moved to a spare (the
# syslet_takeover tracepoint) in $moves.
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T
moved() {
	echo 16384 > $T/buffer_size_kb
	echo > $T/trace
	echo 'syslet:syslet_takeover' > $T/set_event
	echo 1 > $T/tracing_on
	"$@"
	rc=$?
	echo 0 > $T/tracing_on
	echo > $T/set_event
	moves=$(grep -c ' syslet_takeover:' $T/trace)
	echo "# $moves chains moved"
	return $rc
}

# Chains and threadlets that run while trinity does, until told to stop.
background() {
	while [ ! -e /tmp/trinity-done ]; do
		/kselftest/syslet/syslet_fuzz --chains 20000 > /dev/null 2>&1
		/kselftest/syslet/syslet_threadlet_test > /dev/null 2>&1
	done
}

echo "SYSLET-GUEST: trinity begin"
echo "1..2"
background &
busy=$!
if trinity_run 1 ""; then
	echo "ok 1 trinity: $calls calls while chains and threadlets run"
else
	echo "not ok 1 trinity: $calls calls while chains and threadlets run (not all made)"
fi
touch /tmp/trinity-done
wait $busy
if moved trinity_run 2 "$shim" && [ "$moves" -gt 0 ]; then
	echo "ok 2 trinity: $calls calls, each through a one-atom chain"
else
	echo "not ok 2 trinity: $calls calls, each through a one-atom chain (not all made, or none moved)"
fi
echo "SYSLET-GUEST: trinity end"
