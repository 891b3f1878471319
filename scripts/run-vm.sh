#!/bin/sh
# Boot the guest once and capture its serial console.
#
# usage: run-vm.sh BZIMAGE INITRAMFS MODE LOG TIMEOUT_S MEM [EXTRA_CMDLINE]
# KVM is used when /dev/kvm is usable, TCG (multi-threaded, -smp 2) when not.
# A guest that has not powered off after TIMEOUT_S seconds is killed; the
# missing end marker in LOG then counts as a failure.
set -u

kernel=$1
initrd=$2
mode=$3
log=$4
limit=$5
mem=$6
extra=${7:-}

if [ -w /dev/kvm ]; then
	accel="-accel kvm -cpu host"
	echo "SYSLET-HOST: accel=KVM" > "$log"
else
	accel="-accel tcg,thread=multi -cpu max"
	echo "SYSLET-HOST: accel=TCG (emulation)" > "$log"
fi

timeout --kill-after=10 "$limit" qemu-system-x86_64 $accel -smp 2 -m "$mem" \
	-nodefaults -display none -no-reboot -serial stdio \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 syslet_mode=$mode $extra" \
	< /dev/null >> "$log" 2>&1
status=$?
[ $status -eq 124 ] && echo "SYSLET-HOST: guest killed after ${limit}s" >> "$log"
exit 0
