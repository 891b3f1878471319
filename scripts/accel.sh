#!/bin/sh
# Choose QEMU's accelerator for the guest: KVM only where a probe boot has
# shown that it works on this machine, TCG otherwise.
#
# usage: accel.sh BZIMAGE INITRAMFS
#
# Prints one line and exits 0:
#	KVM
#	TCG (REASON KVM was not used)
# or, when ACCEL=kvm was asked for and KVM does not work, prints
#	unusable: REASON
# and exits 1.
#
# A /dev/kvm that opens is not proof: a paravirtual KVM can refuse the
# guest's MSRs (QEMU aborts) or run a guest that never prints. So the probe
# boots BZIMAGE with INITRAMFS and syslet_mode=probe, and KVM is used only
# if the guest's begin marker arrives within the probe's time. The answer
# is cached per machine (machine id, host kernel, QEMU version, CPU flags),
# so only the first boot on a machine pays for the probe.
#
# Environment:
#	ACCEL			auto (default), kvm or tcg
#	QEMU			the QEMU binary (qemu-system-x86_64)
#	SYSLET_KVM_DEV		the KVM device (/dev/kvm)
#	SYSLET_KVM_PROBE_TIMEOUT seconds the probe waits for the guest (10)
#	SYSLET_ACCEL_CACHE	where probe results are kept
#				($XDG_CACHE_HOME/syslet, or ~/.cache/syslet)
set -u

kernel=${1:?usage: accel.sh BZIMAGE INITRAMFS}
initrd=${2:?usage: accel.sh BZIMAGE INITRAMFS}
accel=${ACCEL:-auto}
qemu=${QEMU:-qemu-system-x86_64}
dev=${SYSLET_KVM_DEV:-/dev/kvm}
probe_timeout=${SYSLET_KVM_PROBE_TIMEOUT:-10}
cache=${SYSLET_ACCEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/syslet}

case $accel in
tcg)
	echo "TCG (ACCEL=tcg)"
	exit 0
	;;
auto|kvm) ;;
*)
	echo "unusable: ACCEL must be auto, kvm or tcg, not '$accel'"
	exit 1
	;;
esac

# Print why KVM cannot be used; nothing when it can.
kvm_unusable() {
	if [ ! -e "$dev" ]; then
		echo "no $dev"
		return
	fi
	if [ ! -r "$dev" ] || [ ! -w "$dev" ]; then
		echo "$dev is not readable and writable by $(id -un)"
		return
	fi
	key=$({ cat /etc/machine-id 2>/dev/null; uname -r
		"$qemu" --version 2>/dev/null | head -n 1
		grep -m 1 '^flags' /proc/cpuinfo; } | cksum | cut -d' ' -f1)
	result=$cache/kvm-probe.$key
	if [ -f "$result" ]; then
		cat "$result"
		return
	fi
	why=$(probe)
	mkdir -p "$cache" && printf '%s\n' "$why" > "$result.$$" &&
		mv "$result.$$" "$result"
	[ -n "$why" ] && echo "$why"
}

# Boot the guest under KVM until its begin marker; print why it failed.
probe() {
	log=$(mktemp)
	"$qemu" -accel kvm -cpu host -smp 2 -m 512M -nodefaults -display none \
		-no-reboot -serial stdio -kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet syslet_mode=probe" \
		< /dev/null > "$log" 2>&1 &
	pid=$!
	ticks=$((probe_timeout * 10))
	why="probe did not reach the guest in $probe_timeout s"
	while [ $ticks -gt 0 ]; do
		if grep -q '^SYSLET-GUEST: begin' "$log"; then
			why=""
			break
		fi
		if ! kill -0 $pid 2>/dev/null; then
			grep -q '^SYSLET-GUEST: begin' "$log" && why="" ||
				why="QEMU exited before the guest began: $(tr -d '\r' < "$log" |
					grep -v '^[[:space:]]*$' | tail -n 1)"
			break
		fi
		sleep 0.1
		ticks=$((ticks - 1))
	done
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	rm -f "$log"
	echo "$why"
}

why=$(kvm_unusable)
if [ -z "$why" ]; then
	echo "KVM"
elif [ "$accel" = kvm ]; then
	echo "unusable: ACCEL=kvm, but KVM does not work here: $why"
	exit 1
else
	echo "TCG (KVM unusable: $why; using TCG)"
fi
