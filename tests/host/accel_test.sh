#!/bin/sh
# TAP test of the accelerator choice (scripts/accel.sh) and of what
# scripts/run-vm.sh logs when the guest never starts. A stub QEMU stands in
# for a KVM that works, one that QEMU aborts on (a paravirtual KVM refusing
# an MSR), and one whose guest never prints; SYSLET_KVM_DEV stands in for
# the device node, so the test runs the same with or without /dev/kvm.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

cat > "$tmp/qemu" <<'STUB'
#!/bin/sh
[ "${1:-}" = --version ] && { echo "QEMU emulator version 7.2.0 (stub)"; exit 0; }
echo "$*" >> "$STUB_DIR/calls"
echo $$ > "$STUB_DIR/pid"
case $STUB_MODE in
works)
	echo "SYSLET-GUEST: begin mode=probe"
	echo "SYSLET-GUEST: done"
	;;
msr)
	echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69"
	echo "qemu-system-x86_64: kvm.c:3183: kvm_buf_set_msrs: Assertion failed."
	exit 134
	;;
silent)
	exec sleep 60
	;;
esac
STUB
chmod +x "$tmp/qemu"
: > "$tmp/kvm"
export QEMU="$tmp/qemu" STUB_DIR="$tmp" SYSLET_ACCEL_CACHE="$tmp/cache"
export SYSLET_KVM_PROBE_TIMEOUT=1 SYSLET_KVM_DEV="$tmp/kvm"
unset ACCEL

ok() {
	n=$((n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1: expected '$3', got '$2'"
		fails=$((fails + 1))
	fi
}

# choose ACCEL STUB_MODE: the choice and accel.sh's exit status, one line
choose() {
	out=$(ACCEL=$1 STUB_MODE=$2 "$top/scripts/accel.sh" bzImage initrd)
	echo "$out (exit $?)"
}

calls() { cat "$tmp/calls" 2>/dev/null | wc -l; }
fresh() { rm -rf "$tmp/cache" "$tmp/calls" "$tmp/pid"; }

echo "1..14"

fresh
ok "no device node: TCG, and no probe" \
	"$(SYSLET_KVM_DEV=$tmp/none choose auto works) $(calls)" \
	"TCG (KVM unusable: no $tmp/none; using TCG) (exit 0) 0"

ok "ACCEL=tcg: TCG without a probe" "$(choose tcg works) $(calls)" \
	"TCG (ACCEL=tcg) (exit 0) 0"

ok "a KVM whose probe guest begins: KVM" "$(choose auto works) $(calls)" "KVM (exit 0) 1"
case $(cat "$tmp/calls") in
*"-accel kvm"*"syslet_mode=probe"*) ok "the probe boots the guest under KVM" 1 1 ;;
*) ok "the probe boots the guest under KVM" "$(cat "$tmp/calls")" "-accel kvm ... syslet_mode=probe" ;;
esac

ok "the probe's answer is cached: no second probe" "$(choose auto msr) $(calls)" "KVM (exit 0) 1"

fresh
ok "a KVM that QEMU aborts on: TCG, with QEMU's last line" "$(choose auto msr)" \
	"TCG (KVM unusable: QEMU exited before the guest began: qemu-system-x86_64: kvm.c:3183: kvm_buf_set_msrs: Assertion failed.; using TCG) (exit 0)"

fresh
ok "a KVM guest that never prints: TCG after the probe's time" "$(choose auto silent)" \
	"TCG (KVM unusable: probe did not reach the guest in 1 s; using TCG) (exit 0)"
kill -0 "$(cat "$tmp/pid")" 2>/dev/null
ok "the silent probe's QEMU was killed" $? 1

ok "ACCEL=kvm where KVM does not work: a clear refusal" "$(choose kvm silent)" \
	"unusable: ACCEL=kvm, but KVM does not work here: probe did not reach the guest in 1 s (exit 1)"

ok "ACCEL=bogus is refused" "$(choose bogus works)" \
	"unusable: ACCEL must be auto, kvm or tcg, not 'bogus' (exit 1)"

# run-vm.sh: the first console line, and a guest that never starts.
runvm() {
	ACCEL=$1 STUB_MODE=$2 "$top/scripts/run-vm.sh" bzImage initrd check \
		"$tmp/console" 5 256M 2>/dev/null
}

fresh
runvm auto works
ok "run-vm: the first console line names the accelerator" \
	"$(head -n 1 "$tmp/console")" "SYSLET-HOST: accel=KVM"

fresh
runvm tcg msr
ok "run-vm: a guest that never starts is reported with QEMU's last lines" \
	"$(grep -c -e 'the guest never started (QEMU exit status 134)' \
		-e '^    qemu-system-x86_64: error: failed to set MSR' "$tmp/console")" 2

"$top/scripts/summarize.sh" "guest:$tmp/console" > "$tmp/summary" 2>&1
ok "run-vm: the summary counts it as a failure" "$(tail -n 1 "$tmp/summary") $?" \
	"0 passed, 1 failed 1"

fresh
runvm kvm silent
ok "run-vm: ACCEL=kvm where KVM does not work never boots and says why" \
	"$(head -n 2 "$tmp/console" | tr '\n' '|')" \
	"SYSLET-HOST: accel=none: ACCEL=kvm, but KVM does not work here: probe did not reach the guest in 1 s|SYSLET-HOST: the guest never started|"

[ $fails -eq 0 ]
