#!/bin/sh
# Turn the benchmark's BENCH| lines from a guest console log into a Markdown
# report, and print its table. A benchmark reports; it never fails a build,
# except when it produced no numbers at all.
#
# usage: bench-report.sh CONSOLE_LOG KERNEL_CONFIG REPORT_MD \
#                        [MITIGATIONS_LOG MITIGATIONS_CONFIG]
# The last two: the cached path again, on the kernel built with CPU
# mitigations (config/mitigations.config).
set -eu

log=$1
config=$2
report=$3
mit_log=${4:-}
mit_config=${5:-}
mkdir -p "$(dirname "$report")"

accel=$(sed -n 's/^SYSLET-HOST: accel=//p' "$log")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
kernel=$(sed -n 's/^# Linux\/x86 \(.*\) Kernel Configuration/\1/p' "$config")
opts=$(grep -E '^CONFIG_(PREEMPT|SLUB_TINY|KASAN|PROVE_LOCKING|CC_OPTIMIZE_FOR_SIZE|CC_OPTIMIZE_FOR_PERFORMANCE)=' \
	"$config" | sed 's/^CONFIG_//; s/=y$//' | tr '\n' ' ')

# The BENCH-MISS-<TAG>| lines, fields 2 on, without the tag.
miss() {
	grep "^BENCH-MISS-$1|" "$log" | tr -d '\r' | cut -d'|' -f2-
}

# Markdown rows from miss lines: "| a | b | ... |".
rows() {
	sed 's/|/ | /g; s/^/| /; s/$/ |/'
}

# The cache-miss benchmark (syslet-miss-bench), if it ran.
miss_report() {
	grep -q '^BENCH-MISS-' "$log" || return 0
	clock=$(miss CLOCK | head -n 1)
	clocksource=$(echo "$clock" | cut -d'|' -f1)
	res_ns=$(echo "$clock" | cut -d'|' -f2)
	tsc_mhz=$(echo "$clock" | cut -d'|' -f3)
	ncpu=$(echo "$clock" | cut -d'|' -f4)
	nullb=$(miss NULLB | head -n 1)
	echo
	echo "# Syslet cache-miss benchmark"
	echo
	echo "tools/bench/syslet-miss-bench.c: chains that block (a \"miss\": the"
	echo "caller goes on in a spare thread, async_exec() returns 0, the"
	echo "completion arrives in the ring) against what user space would"
	echo "otherwise use. Ratios are syslet / alternative (below 1: syslets are"
	echo "faster), the median of paired, interleaved repeats with their min and"
	echo "max; ns columns are medians. The numbers never fail the run; a"
	echo "failed mechanism does (BENCH-MISS-ERROR below, exit status 1)."
	echo
	echo "- guest clocksource: $clocksource; CLOCK_MONOTONIC resolution"
	echo "  $res_ns ns; online CPUs in the guest: $ncpu"
	echo "- times are taken with the TSC ($tsc_mhz MHz, calibrated against"
	echo "  CLOCK_MONOTONIC at start); the clock check at the end compares"
	echo "  the two over the whole run"
	case $clocksource in
	*jiffies*)
		echo "- **This boot's clocksource is jiffies**: the kernel could not"
		echo "  calibrate the TSC (it happens under TCG on some boots), so"
		echo "  clock_gettime() moves in ticks, hrtimers have tick resolution,"
		echo "  null_blk's completion delay becomes one tick and the cached-path"
		echo "  table above is quantized to ticks. The TSC-timed numbers below"
		echo "  stay valid, but the null_blk table measures a 4 ms device."
		;;
	esac
	echo "- a head is the thread that calls async_exec(): \`leader\` is the"
	echo "  thread group leader (a single-threaded program), \`thread\` another"
	echo "  thread of the process. A leader's miss moves only the TID, as any"
	echo "  thread's does (leadership stays): its cost should not grow with the"
	echo "  number of threads, spares included (table 3)"
	echo
	echo "## 1. Round trip of a read that blocks on an empty pipe"
	echo
	echo "Per operation: syslet: a one-atom chain read(pipe, 1 byte) misses,"
	echo "the head writes the byte, async_wait(1) and takes the completion from"
	echo "the ring. Thread pool: the head posts the request (futex word +"
	echo "FUTEX_WAKE) to one worker thread, which read()s; the head writes the"
	echo "byte and waits with FUTEX_WAIT until the worker posts done."
	echo "ctxt/op: context switches (all CPUs, /proc/stat ctxt) per operation."
	echo
	echo "| head | ops/run | ratio syslet/threadpool (median) | min | max | threadpool ns/op | syslet ns/op | threadpool ctxt/op | syslet ctxt/op |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	miss RT | rows
	echo
	echo "## 2. O_DIRECT 4 KiB reads of null_blk"
	echo
	echo "$(echo "$nullb" | cut -d'|' -f1): configfs null_blk, irqmode=2"
	echo "(timer), completion_nsec=$(echo "$nullb" | cut -d'|' -f2),"
	echo "blocksize=$(echo "$nullb" | cut -d'|' -f3), not memory backed,"
	echo "hw_queue_depth=256, opened O_DIRECT; every read is 4 KiB from its"
	echo "own aligned buffer. QD requests are kept outstanding; each"
	echo "completion is resubmitted at once. Engines: syslet (QD one-atom"
	echo "pread chains, completions from the ring, each resubmitted with its"
	echo "own async_exec()); io_uring-async (liburing, IOSQE_ASYNC: every"
	echo "read goes through io-wq); io_uring (inline issue, for reference); libaio"
	echo "(io_submit/io_getevents). ns/op = run time / reads; IOPS ="
	echo "1e9 / ns/op. Once QD x ns/op exceeds the device delay, an engine is"
	echo "bound by its own CPU cost per read. syslet misses %: chains that"
	echo "went asynchronous (the rest completed before the task slept);"
	echo "sync_chains: chains that found no spare; EINTR: io_getevents() or"
	echo "io_uring_wait_cqe() returning EINTR with no signal handler (task work"
	echo "does that), retried."
	echo
	echo "| head | QD | reads/run | syslet/io_uring-async (median) | min | max | syslet/libaio (median) | min | max | syslet ns/op | io_uring-async ns/op | io_uring ns/op | libaio ns/op | syslet misses % | sync_chains | EINTR |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	miss DIO | rows
	echo
	echo "## 3. Outstanding chains: cost per miss, memory, context switches"
	echo
	echo "N chains, each one FUTEX_WAIT atom on the same word, submitted one"
	echo "after the other (each misses, so N are blocked at once), then the"
	echo "word is set, FUTEX_WAKE wakes all, and all N completions are taken"
	echo "from the ring (a missing or repeated one fails the run). Every"
	echo "repeat runs in a fresh process with kernel.syslet.max_spares=4096."
	echo "The cold round makes the spares; the warm rounds (up to 16 misses"
	echo "for small N) reuse them parked. warm ns/miss: the median over the"
	echo "misses of one repeat of the time of one async_exec() that misses (to"
	echo "its return in the spare), then median/min/max over 5 repeats. ratio:"
	echo "that against \`thread\` at N=1 of the same repeat; a flat cost is"
	echo "the same ratio for every N. At N=1 every miss is the first of its"
	echo "round, after the previous drain and the check that the spares have"
	echo "parked, which costs more than a miss within a burst. warm mean"
	echo "ns/miss includes such first misses. cold mean ns/miss"
	echo "includes making the spare. kernel KiB/chain: the rise of Slab +"
	echo "KernelStack + PageTables in /proc/meminfo over the cold submission"
	echo "divided by N (each blocked chain holds a thread: task_struct, kernel"
	echo "stack...; spares stay parked until the process exits); MemFree"
	echo "KiB/chain: the fall of MemFree, as a cross-check. At N=1 both are"
	echo "below slab granularity. ctxt/miss and ctxt/completion: context"
	echo "switches per miss while submitting, and per completion while waking"
	echo "and draining. drain ns/completion: from FUTEX_WAKE to the last"
	echo "completion taken, divided by N."
	echo
	echo "| head | N | warm ns/miss (median) | min | max | ratio to thread N=1 (median) | min | max | warm mean ns/miss | cold mean ns/miss | kernel KiB/chain | MemFree KiB/chain | ctxt/miss | ctxt/completion | drain ns/completion |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	miss SCALE | rows
	echo
	echo "## Run time and problems"
	echo
	echo "Guest seconds per section (TSC):"
	echo
	echo "| section | s |"
	echo "|---|---:|"
	miss TIME | rows
	echo
	echo "Clock check: TSC $(miss CLOCK-CHECK | cut -d'|' -f1) s against"
	echo "CLOCK_MONOTONIC $(miss CLOCK-CHECK | cut -d'|' -f2) s."
	start=$(sed -n 's/^SYSLET-GUEST: bench start uptime=//p' "$log" | tr -d '\r')
	end=$(sed -n 's/^SYSLET-GUEST: bench end uptime=//p' "$log" | tr -d '\r')
	if [ -n "$start" ] && [ -n "$end" ]; then
		echo "Both benchmarks together (guest uptime, from syslet-bench's"
		echo "start to syslet-miss-bench's end): $(echo "$start $end" |
			awk '{ printf "%.1f", $2 - $1 }') s."
	fi
	if grep -q '^BENCH-MISS-ERROR|' "$log"; then
		echo
		echo "**Errors (a mechanism failed):**"
		echo
		miss ERROR | sed 's/^/- /'
	fi
	return 0
}

if ! grep -q '^BENCH|' "$log"; then
	echo "bench-report: the guest printed no results; see $log" >&2
	exit 1
fi

# The threadlet and C++ library benchmark, if it ran.
profile_report() {
	grep -q '^PROFILE-MISS: head=' "$log" || return 0
	echo
	echo "# Where a cache miss goes"
	echo
	echo "guest/miss-profile.sh: a loop of one-atom pipe-read chains that miss"
	echo "(tools/bench/syslet-miss-loop.c), counted with the syslet tracepoints"
	echo "and /proc/stat's context switches, then profiled with ftrace's function"
	echo "profiler: self time per function (graph-time off), summed over CPUs,"
	echo "idle excluded, divided by the number of misses. The profiler's own"
	echo "overhead inflates every entry; compare shares, and runs of one kind."
	echo
	echo "| head | misses | switches/miss | handoffs | takeovers | same CPU | taken back | posts | posts that waited | spares made | sync fallbacks | profiled us/miss |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	tr -d '\r' < "$log" | sed -n 's/^PROFILE-MISS: head=//p' | grep -v 'profiled_us' |
	while read -r head rest; do
		eval "$(echo "$rest" | tr ' ' '\n' | grep = )"
		total=$(tr -d '\r' < "$log" | sed -n "s/^PROFILE-MISS: head=$head profiled_us_per_miss=//p")
		echo "| $head | $misses | $switches_per_miss | $handoffs | $takeovers | $same_cpu | ${taken_back:-0} | $posts | $posts_waited | $spares_made | $sync_fallbacks | $total |"
	done
	for head in thread leader; do
		echo
		echo "Top 25 functions by self time, $head head:"
		echo
		echo "| function | us/miss | share | calls/miss |"
		echo "|---|---:|---:|---:|"
		tr -d '\r' < "$log" | sed -n "s/^PROFILE-MISS: top head=$head //p" |
			sed 's/fn=//; s/self_us_per_miss=//; s/share=//; s/calls_per_miss=//' |
			awk '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }'
	done
}

threadlet_report() {
	grep -q '^BENCH-THREADLET' "$log" || return 0
	echo
	echo "# Threadlets and the C++ library"
	echo
	echo "tools/bench/syslet-threadlet-bench.cpp, with tools/lib/syslet/syslet.hpp."
	echo "cached-getppid: a threadlet making k getppid() calls that runs to its"
	echo "end in the caller (threadlet_on(), the calls on a lent thread's TLS and"
	echo "stack, threadlet_off()) against the same calls in a plain function;"
	echo "k = 0 is the bare cost of the two system calls. blocked-pipe-read: a"
	echo "threadlet that blocks on an empty pipe, which the caller then fills,"
	echo "and its event taken from the ring, against the same read handed to"
	echo "a one-thread pool (mutex and condition variables). builder-run: a"
	echo "syslet::chain of k getppid() atoms run() against the same atoms"
	echo "written by hand and passed to async_exec(). Ratios: threadlet or"
	echo "library / alternative, median of 7 paired, interleaved repeats."
	echo
	echo "| case | k | ratio (median) | min | max | alternative ns/op | threadlet or library ns/op |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	grep '^BENCH-THREADLET|' "$log" | tr -d '\r' | cut -d'|' -f2- | rows
	if grep -q '^BENCH-THREADLET-ERROR' "$log"; then
		echo
		echo "Problems:"
		grep '^BENCH-THREADLET-ERROR' "$log" | tr -d '\r' | sed 's/^BENCH-THREADLET-ERROR|/- /'
	fi
}

aio_report() {
	grep -q '^BENCH-AIO' "$log" || return 0
	echo
	echo "# POSIX AIO: a signal-notified read round trip"
	echo
	echo "tools/bench/syslet-aio-bench.c: aio_read() of one cached byte with"
	echo "SIGEV_SIGNAL, sigwaitinfo() for the signal, aio_return(); glibc's AIO"
	echo "(a thread of its own reads and signals) against libsyslet-aio.so"
	echo "preloaded (the chain reads and queues the signal in one kernel"
	echo "entry), same boot, median of 5 repeats. Target: glibc / syslet >= 3."
	echo
	tr -d '\r' < "$log" | awk -F'|' '
		/^BENCH-AIO\|/ { v[$2] = v[$2] " " $4 }
		function median(s,    a, n, i, j, t) {
			n = split(s, a, " ")
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
				if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
			return a[int((n + 1) / 2)]
		}
		END {
			g = median(v["glibc"]); s = median(v["syslet"])
			print "| glibc ns/round trip | syslet ns/round trip | glibc / syslet | target |"
			print "|---:|---:|---:|---|"
			if (g && s)
				printf "| %d | %d | %.2f | >= 3 %s |\n", g, s, g / s, (g / s >= 3 ? "met" : "not met")
		}'
	if grep -q '^BENCH-AIO-ERROR' "$log"; then
		echo
		grep '^BENCH-AIO-ERROR' "$log" | tr -d '\r' | sed 's/^BENCH-AIO-ERROR|/- /'
	fi
}

# The cached-path table of a console log.
cached_table() {
	echo "| syscall | k | ratio (median) | min | max | direct ns/call | syslet ns/call |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	grep '^BENCH|' "$1" | tr -d '\r' | awk -F'|' \
		'{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8 }'
}

# The same chains and cached threadlets on the kernel with mitigations.
mitigations_report() {
	[ -n "$mit_log" ] || return 0
	echo
	echo "## The same, on a kernel built with CPU mitigations"
	echo
	echo "Same sources, same guest, same QEMU, a second boot: config/mitigations.config"
	echo "(-O2, page-table isolation, retpolines, return thunks, ...) with"
	echo "\`$(sed -n 's/.*syslet_mode=cached \(.*\)/\1/p' "$mit_log" | tr -d '\r' | head -n 1)\`"
	echo "on the command line, as users' distribution kernels run. A kernel entry"
	echo "costs more there, and a chain saves entries."
	echo
	if ! grep -q '^BENCH|' "$mit_log"; then
		echo "**No results**: see $mit_log."
		return 0
	fi
	echo "- config: $(grep -E '^CONFIG_(CC_OPTIMIZE_FOR_PERFORMANCE|MITIGATION_PAGE_TABLE_ISOLATION|MITIGATION_RETPOLINE|MITIGATION_RETHUNK)=' \
		"$mit_config" | sed 's/^CONFIG_//; s/=y$//' | tr '\n' ' ')"
	echo "- what the guest reports active (CPU model: QEMU's \`-cpu max\`):"
	if tr -d '\r' < "$mit_log" | grep -q 'Kernel/User page tables isolation: enabled'; then
		echo "  - page-table isolation: enabled"
	fi
	tr -d '\r' < "$mit_log" | sed -n 's/^SYSLET-GUEST: vulnerability \(.*\)/  - \1/p' |
		grep -v '^  - [a-z0-9_]*: Not affected$' || true
	echo "- under TCG every CR3 write flushes QEMU's software TLB, so PTI costs"
	echo "  more here than on hardware with PCID: these numbers bound what a"
	echo "  chain saves from above, the table above from below"
	echo
	cached_table "$mit_log"
	if grep -q '^BENCH-THREADLET|' "$mit_log"; then
		echo
		echo "| threadlet case | k | ratio (median) | min | max | alternative ns/op | threadlet ns/op |"
		echo "|---|---:|---:|---:|---:|---:|---:|"
		grep '^BENCH-THREADLET|' "$mit_log" | tr -d '\r' | cut -d'|' -f2- | rows
	fi
}

{
	echo "# Syslet cached-path benchmark"
	echo
	echo "- accelerator: $accel"
	echo "- host CPU: $cpu; guest: $(sed -n "s/^SYSLET-GUEST: cpus=//p" "$log" | head -n 1) online CPU(s) of -smp 2"
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
	cached_table "$log"
	mitigations_report
	miss_report
	profile_report
	threadlet_report
	aio_report
} > "$report"
cat "$report"
