#!/bin/sh
# Where a cache miss goes, from the kernel's own instruments: the syslet
# tracepoints and context switches per miss, then the function profiler's
# top entries by self time (graph-time off), for a loop of pipe misses
# with a thread head and with the leader as head. Lines start with
# "PROFILE-MISS:" for scripts/bench-report.sh. The same profiler on
# chains that never block gives the "PROFILE-CACHED:" lines.
#
# usage: miss-profile.sh [MISSES]
n=${1:-2000}
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T || exit 1
[ -d $T/events/syslet ] || { echo "PROFILE-MISS: no syslet tracepoints"; exit 1; }
status=0

ctxt() { awk '/^ctxt/ { print $2 }' /proc/stat; }

miss_loop() { /bin/syslet-miss-loop "$@" || status=1; }

# Run "$@" under ftrace's function profiler: self time on the CPU,
# children and sleep excluded, summed over CPUs (the per-CPU files have
# Function Hit Time...), idle left out, as "self_us function calls" lines
# in /tmp/profile-fns; their sum in $total.
function_profile() {
	echo function > $T/current_tracer 2>/dev/null
	echo nop > $T/current_tracer
	echo 0 > $T/options/graph-time
	echo 0 > $T/options/sleep-time
	echo 1 > $T/function_profile_enabled
	"$@"
	echo 0 > $T/function_profile_enabled
	cat $T/trace_stat/function* | awk '
		$1 == "Function" || $1 ~ /^-/ || NF < 4 { next }
		$1 ~ /idle|halt|cpu_startup|do_idle/ { next }
		{ hits[$1] += $2; t[$1] += $3 }
		END { for (f in t) printf "%f %s %d\n", t[f], f, hits[f] }' \
		> /tmp/profile-fns
	total=$(awk '{ s += $1 } END { printf "%f", s }' /tmp/profile-fns)
}

for head in thread leader; do
	echo 0 > $T/tracing_on
	echo 8192 > $T/buffer_size_kb
	echo > $T/trace
	echo 'syslet:*' > $T/set_event
	echo 1 > $T/tracing_on
	c0=$(ctxt)
	/bin/syslet-miss-loop "$n" $head || status=1
	c1=$(ctxt)
	echo 0 > $T/tracing_on
	echo > $T/set_event
	awk -v n="$n" -v head=$head -v cs=$((c1 - c0)) '
		/ syslet_handoff:/ { handoff++ }
		/ syslet_takeover:.*result=moved/ { takeover++; if (/same_cpu=1/) same++ }
		/ syslet_take_back:.*result=moved/ { taken_back++ }
		/ syslet_take_back:.*result=(refused|withdrawn)/ { not_taken++ }
		/ syslet_post:/ { post++; if (!/waits=0/) waited++ }
		/ syslet_spare_create:/ { created++ }
		/ syslet_sync_fallback:/ { sync++ }
		END {
			printf "PROFILE-MISS: head=%s misses=%d switches_per_miss=%.2f handoffs=%d takeovers=%d same_cpu=%d taken_back=%d not_taken=%d posts=%d posts_waited=%d spares_made=%d sync_fallbacks=%d\n",
				head, n, cs / n, handoff, takeover, same,
				taken_back, not_taken, post, waited, created,
				sync
		}' $T/trace

	function_profile miss_loop "$n" $head
	sort -rn /tmp/profile-fns | head -25 |
		awk -v n="$n" -v head=$head -v total="$total" '{
			share = total > 0 ? 100 * $1 / total : 0
			printf "PROFILE-MISS: top head=%s fn=%s self_us_per_miss=%.2f share=%.1f%% calls_per_miss=%.2f\n",
				head, $2, $1 / n, share, $3 / n
		}'
	# FPU register loads from memory on the way to user space: what
	# handing the live registers on saves.
	awk -v n="$n" -v head=$head '$2 == "restore_fpregs_from_fpstate" {
		printf "PROFILE-MISS: xrstor head=%s calls_per_miss=%.2f\n", head, $3 / n }' \
		/tmp/profile-fns
	echo "PROFILE-MISS: head=$head profiled_us_per_miss=$(awk -v n="$n" -v t="$total" 'BEGIN { printf "%.2f", t / n }')"
done

# The cached path: chains that never block, with and without a ring,
# per chain. syslet-bench times the same chains against direct calls.
cached_loop() { /bin/syslet-cached-loop "$@" || status=1; }
for shape in "getppid 1 noring" "getppid 16 noring" "pread 1 ring" \
	     "pread 16 ring"; do
	set -- $shape
	n_cached=20000
	[ "$2" -gt 1 ] && n_cached=5000
	function_profile cached_loop "$1" "$2" $n_cached "$3"
	sort -rn /tmp/profile-fns | head -20 |
		awk -v n=$n_cached -v shape="$1/$2/$3" -v total="$total" '{
			printf "PROFILE-CACHED: top chain=%s fn=%s self_ns_per_chain=%.0f share=%.1f%% calls_per_chain=%.2f\n",
				shape, $2, 1000 * $1 / n, (total > 0 ? 100 * $1 / total : 0), $3 / n
		}'
	echo "PROFILE-CACHED: chain=$1/$2/$3 profiled_ns_per_chain=$(awk -v n=$n_cached -v t="$total" 'BEGIN { printf "%.0f", 1000 * t / n }')"
done

# The same instruments on fio's syslet engine, 4 KiB O_DIRECT reads of a
# null_blk completing from a 100 us timer at QD 8 (every read blocks):
# the benchmark's own workload, per I/O.
. /bin/nullb.sh
if nullb_create syslet-profile 1024 100000 1024; then
	fio_run() {
		fio --name=profile --thread --time_based --runtime=2 --bs=4k \
			--ioengine=external:/usr/lib/syslet/fio-syslet.so \
			--iodepth=8 --filename=/dev/syslet-profile --direct=1 \
			--rw=randread --output-format=terse --terse-version=3 \
			> /tmp/fio-profile.out 2>&1 || status=1
		# Reads done: KiB read (field 6 of the terse line) / 4.
		ios=$(awk -F';' '{ print int($6 / 4) }' /tmp/fio-profile.out |
			tail -n 1)
		[ "${ios:-0}" -gt 0 ] || ios=1
	}
	echo 0 > $T/tracing_on
	echo > $T/trace
	echo 'syslet:*' > $T/set_event
	echo 1 > $T/tracing_on
	c0=$(ctxt)
	fio_run
	c1=$(ctxt)
	echo 0 > $T/tracing_on
	echo > $T/set_event
	awk -v n="$ios" -v cs=$((c1 - c0)) '
		/ syslet_handoff:/ { handoff++ }
		/ syslet_takeover:.*result=moved/ { takeover++ }
		/ syslet_take_back:.*result=moved/ { taken_back++ }
		/ syslet_sync_fallback:/ { sync++ }
		END {
			printf "PROFILE-MISS: fio reads=%d switches_per_read=%.2f handoffs_per_read=%.2f takeovers_per_read=%.2f taken_back_per_read=%.2f sync_fallbacks=%d\n",
				n, cs / n, handoff / n, takeover / n, taken_back / n, sync
		}' $T/trace
	function_profile fio_run
	sort -rn /tmp/profile-fns | head -30 |
		awk -v n="$ios" -v total="$total" '{
			printf "PROFILE-MISS: fio top fn=%s self_us_per_read=%.2f share=%.1f%% calls_per_read=%.2f\n",
				$2, $1 / n, (total > 0 ? 100 * $1 / total : 0), $3 / n
		}'
	nullb_remove syslet-profile
else
	echo "PROFILE-MISS: fio no null_blk"
	status=1
fi
exit $status
