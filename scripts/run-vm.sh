#!/bin/sh
# Boot the guest once and capture its serial console.
#
# usage: run-vm.sh BZIMAGE INITRAMFS MODE LOG TIMEOUT_S MEM [EXTRA_CMDLINE]
# The accelerator is scripts/accel.sh's choice (ACCEL=auto|kvm|tcg); the
# first line of LOG, also shown on the terminal, names it and says why
# the other was not used. ACCEL=icount boots one CPU under TCG with
# -icount shift=0: guest time then advances one nanosecond per guest
# instruction, whatever the host's load, so rates measured in the guest
# count instructions. A guest that has not powered off after TIMEOUT_S
# seconds is killed; a guest that never began (QEMU refused to start, or
# ACCEL=kvm where KVM does not work) gets QEMU's last lines in LOG. Either
# way the missing end marker in LOG then counts as a failure: this script
# always exits 0, so that make check still prints its summary.
set -u

kernel=$1
initrd=$2
mode=$3
log=$4
limit=$5
mem=$6
extra=${7:-}
qemu=${QEMU:-qemu-system-x86_64}

# Both to the log, where the summary reads it, and to the terminal.
host_says() {
	echo "SYSLET-HOST: $*" >> "$log"
	echo "SYSLET-HOST: $*" >&2
}

: > "$log"
smp=2
if [ "${ACCEL:-}" = icount ]; then
	choice="TCG -icount (ACCEL=icount: one guest instruction is one ns of guest time)"
else
	choice=$("$(dirname "$0")/accel.sh" "$kernel" "$initrd")
fi
case $choice in
KVM)
	accel="-accel kvm -cpu host"
	;;
"TCG -icount"*)
	accel="-accel tcg -icount shift=0,sleep=off -cpu max"
	smp=1
	;;
TCG*)
	accel="-accel tcg,thread=multi -cpu max"
	;;
*)
	host_says "accel=none: ${choice#unusable: }"
	host_says "the guest never started"
	exit 0
	;;
esac
host_says "accel=$choice"

timeout --kill-after=10 "$limit" "$qemu" $accel -smp $smp -m "$mem" \
	-nodefaults -display none -no-reboot -serial stdio \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 syslet_mode=$mode $extra" \
	< /dev/null >> "$log" 2>&1
status=$?
if ! grep -q '^SYSLET-GUEST: begin' "$log"; then
	qemu_said=$(tail -n +2 "$log" | tr -d '\r' | grep -v '^[[:space:]]*$' | tail -n 10)
	host_says "the guest never started (QEMU exit status $status); QEMU's last lines:"
	printf '%s\n' "${qemu_said:-(none)}" | sed 's/^/    /' | tee -a "$log" >&2
elif [ $status -eq 124 ]; then
	host_says "guest killed after ${limit}s"
fi
exit 0
