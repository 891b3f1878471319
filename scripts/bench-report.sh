#!/bin/sh
# Turn the benchmark's BENCH| lines from a guest console log into a Markdown
# report, and print its table. A benchmark reports; it never fails a build,
# except when it produced no numbers at all.
#
# usage: bench-report.sh CONSOLE_LOG KERNEL_CONFIG REPORT_MD
set -eu

log=$1
config=$2
report=$3
mkdir -p "$(dirname "$report")"

accel=$(sed -n 's/^SYSLET-HOST: accel=//p' "$log")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
kernel=$(sed -n 's/^# Linux\/x86 \(.*\) Kernel Configuration/\1/p' "$config")
opts=$(grep -E '^CONFIG_(PREEMPT|SLUB_TINY|KASAN|PROVE_LOCKING|CC_OPTIMIZE_FOR_SIZE|CC_OPTIMIZE_FOR_PERFORMANCE)=' \
	"$config" | sed 's/^CONFIG_//; s/=y$//' | tr '\n' ' ')

if ! grep -q '^BENCH|' "$log"; then
	echo "bench-report: the guest printed no results; see $log" >&2
	exit 1
fi

{
	echo "# Syslet cached-path benchmark"
	echo
	echo "- accelerator: $accel"
	echo "- host CPU: $cpu; guest: 2 vCPUs"
	echo "- kernel: $kernel, config: $opts"
	case $accel in
	TCG*)
		echo "- **TCG numbers are emulation.** Emulation changes what a kernel"
		echo "  entry costs relative to ordinary kernel instructions, and a chain"
		echo "  trades the one for the other; judge the mechanism on KVM or"
		echo "  hardware, and compare TCG ratios only with other TCG runs."
		;;
	esac
	echo
	echo "k cheap system calls as one async_exec() chain against the same k"
	echo "calls made directly, in the same boot. ratio = syslet time / direct"
	echo "time (below 1: the chain is faster); median of 7 paired, interleaved"
	echo "repeats, with their min and max."
	echo
	echo "| syscall | k | ratio (median) | min | max | direct ns/call | syslet ns/call |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	grep '^BENCH|' "$log" | tr -d '\r' | awk -F'|' \
		'{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8 }'
} > "$report"
cat "$report"
