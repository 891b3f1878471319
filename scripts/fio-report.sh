#!/bin/sh
# The fio part of the benchmark report: SYSLET-FIO| lines of a guest
# console log (guest/fio-bench.sh) into a Markdown section appended to
# REPORT_DIR/bench.md, one PNG per workload (IOPS against queue depth, by
# engine, with gnuplot when it is installed), and the summary on the
# console. A benchmark never fails the build; fio errors are listed.
#
# With ICOUNT_LOG (the -icount boot's console), a table of instructions
# per I/O at QD 1 as well.
#
# usage: fio-report.sh CONSOLE_LOG REPORT_DIR [ICOUNT_LOG]
set -eu

log=$1
dir=$2
icount_log=${3:-}
report=$dir/bench.md
data=$dir/fio-data
mkdir -p "$data"

lines() { grep "^$1|" "$log" | tr -d '\r' | cut -d'|' -f2- || true; }

if ! grep -q '^SYSLET-FIO|' "$log"; then
	echo "fio-report: no fio results in $log" >&2
	lines SYSLET-FIO-ERROR >&2
	exit 0
fi

header=$(lines SYSLET-FIO-HEADER | head -n 1 | tr '|' ' ')
accel=$(sed -n 's/^SYSLET-HOST: accel=//p' "$log")
lines SYSLET-FIO > "$data/runs.psv"

# Medians over repeats of every (workload, engine, qd): one row each,
#   w e qd iops iops_min iops_max p50 p99 p999 cpu_us_per_io ctxt_per_io
# CPU comes from /proc/stat in USER_HZ (100 per second): 10000 us each.
awk -F'|' '
	function median(list,    n, v, i, j, t) {
		n = split(list, v, " ")
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
				t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
			}
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	function minmax(list, want,    n, v, i, m) {
		n = split(list, v, " ")
		m = v[1] + 0
		for (i = 2; i <= n; i++)
			if (want == "min" ? v[i] + 0 < m : v[i] + 0 > m)
				m = v[i] + 0
		return m
	}
	{
		k = $1 " " $2 " " $3
		if (!(k in iops)) order[++n] = k
		# The pool: fio adds up the rates of its threads, which do not all
		# run at once (each runs the exec_prerun fork first): I/Os over
		# the whole window instead.
		rate = ($2 == "pool" && $12 > 0) ? int($11 * 100 / $12) : $5
		iops[k] = iops[k] " " rate; p50[k] = p50[k] " " $6
		p99[k] = p99[k] " " $7; p999[k] = p999[k] " " $8
		if ($11 > 0) {
			cpu[k] = cpu[k] " " $9 * 10000 / $11
			ctxt[k] = ctxt[k] " " $10 / $11
		}
	}
	END {
		for (i = 1; i <= n; i++) {
			k = order[i]
			printf "%s %d %d %d %d %d %d %.1f %.2f\n", k, median(iops[k]),
				minmax(iops[k], "min"), minmax(iops[k], "max"),
				median(p50[k]), median(p99[k]), median(p999[k]),
				median(cpu[k]), median(ctxt[k])
		}
	}' "$data/runs.psv" > "$data/medians.txt"

workloads=$(awk '{ print $1 }' "$data/medians.txt" | awk '!seen[$0]++' | grep -v '^scale$' || true)
engines="syslet syslet-percall threadlet io_uring io_uring-async libaio posixaio posixaio+syslet psync pool"

describe() {
	case $1 in
	ext4-cached) echo "4 KiB random reads of a 32 MiB file in the page cache, ext4 on a RAM block device (brd). io_uring reads these inline (FMODE_NOWAIT): its best case." ;;
	tmpfs-cached) echo "4 KiB random reads of a 32 MiB file on tmpfs (always cached). tmpfs has no FMODE_NOWAIT in 6.12, so io_uring punts every read to io-wq." ;;
	nullb-direct) echo "4 KiB random O_DIRECT reads of null_blk completing from a 100 us timer: every I/O blocks." ;;
	ext4-cached-batch8) echo "ext4-cached at QD 32 with iodepth_batch=8: fio submits 8 I/Os at a time. \`syslet\` submits each batch with one async_exec_batch() call, \`syslet-percall\` with one async_exec() per I/O." ;;
	nullb-direct-batch8) echo "nullb-direct at QD 32 with iodepth_batch=8, the same two ways of submitting." ;;
	ext4-fsync) echo "4 KiB random writes with an fsync after each, ext4 on brd: every fsync waits for a jbd2 commit." ;;
	*) echo "$1" ;;
	esac
}

# Markdown table of one workload: every engine at every depth, ratios to
# io_uring (default) at the same depth.
table() {
	awk -v w="$1" -v engines="$engines" '
		$1 == w { k = $2 " " $3; row[k] = $0; qds[$3] = 1 }
		$1 == w && $2 == "io_uring" { base[$3] = $4; base99[$3] = $8 }
		END {
			print "| QD | engine | IOPS | min-max | vs io_uring | p50 us | p99 us | p99.9 us | p99 vs io_uring | CPU us/IO | ctxsw/IO |"
			print "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
			ne = split(engines, e, " ")
			for (q = 1; q <= 4096; q *= 2) {
				if (!(q in qds)) continue
				for (i = 1; i <= ne; i++) {
					k = e[i] " " q
					if (!(k in row)) continue
					split(row[k], f, " ")
					r = base[q] ? sprintf("%.2f", f[4] / base[q]) : "-"
					r99 = base99[q] ? sprintf("%.2f", f[8] / base99[q]) : "-"
					printf "| %d | %s | %d | %d-%d | %s | %d | %d | %d | %s | %.1f | %.2f |\n",
						q, e[i], f[4], f[5], f[6], r, f[7], f[8], f[9], r99, f[10], f[11]
				}
			}
		}' "$data/medians.txt"
}

# The console summary: IOPS relative to io_uring, by workload and depth.
summary() {
	awk -v engines="$engines" '
		$1 != "scale" { v[$1 " " $2 " " $3] = $4; if (!($1 in seen)) { seen[$1] = 1; ws[++nw] = $1 } }
		END {
			ne = split(engines, e, " ")
			printf "| workload | QD |"
			for (i = 1; i <= ne; i++) if (e[i] != "io_uring") printf " %s |", e[i]
			printf "\n|---|---:|"
			for (i = 1; i <= ne; i++) if (e[i] != "io_uring") printf "---:|"
			printf "\n"
			for (j = 1; j <= nw; j++)
				for (q = 1; q <= 128; q *= 2) {
					b = v[ws[j] " io_uring " q]
					if (!b) continue
					printf "| %s | %d |", ws[j], q
					for (i = 1; i <= ne; i++) {
						if (e[i] == "io_uring") continue
						x = v[ws[j] " " e[i] " " (e[i] == "psync" ? 1 : q)]
						printf " %s |", x ? sprintf("%.2f", x / b) : "-"
					}
					printf "\n"
				}
		}' "$data/medians.txt"
}

# libsyslet-aio against glibc: the same posixaio engine, preloaded or not,
# with the targets.
posixaio_table() {
	awk '
		$1 != "scale" { v[$1 " " $2 " " $3] = $4; if (!($1 in seen)) { seen[$1] = 1; ws[++nw] = $1 } }
		function target(w, q) {
			if (w ~ /cached/) return q == 1 ? 3 : q == 8 ? 1.5 : q == 32 ? 1.0 : 0
			return w == "nullb-direct" ? 1.0 : 0
		}
		END {
			print "| workload | QD | posixaio+syslet IOPS | posixaio IOPS | ratio | target |"
			print "|---|---:|---:|---:|---:|---|"
			for (j = 1; j <= nw; j++)
				for (q = 1; q <= 128; q *= 2) {
					a = v[ws[j] " posixaio+syslet " q]; b = v[ws[j] " posixaio " q]
					if (!a || !b) continue
					t = target(ws[j], q)
					printf "| %s | %d | %d | %d | %.2f | %s |\n", ws[j], q, a, b, a / b,
						t ? sprintf(">= %.1f %s", t, a / b >= t ? "met" : "not met") : "-"
				}
		}' "$data/medians.txt"
}

# One async_exec_batch() per fio batch against one async_exec() per I/O.
batch_table() {
	awk '
		$1 ~ /-batch8$/ { iops[$1 " " $2] = $4; cpu[$1 " " $2] = $10
				  if (!($1 in seen)) { seen[$1] = 1; ws[++nw] = $1 } }
		END {
			print "| workload | batch call IOPS | per-I/O calls IOPS | ratio | CPU us/IO batch | per-I/O |"
			print "|---|---:|---:|---:|---:|---:|"
			for (j = 1; j <= nw; j++) {
				a = iops[ws[j] " syslet"]; b = iops[ws[j] " syslet-percall"]
				if (!a || !b) continue
				printf "| %s | %d | %d | %.2f | %.1f | %.1f |\n", ws[j], a, b,
					a / b, cpu[ws[j] " syslet"], cpu[ws[j] " syslet-percall"]
			}
		}' "$data/medians.txt"
}

# "syslet: NAME: N I/Os, N asynchronous, N could not move" (the engine's
# syslet_stats line) as three words, "-" for each one missing
engine_stats() {
	for pattern in ': \([0-9]*\) I/Os' ' \([0-9]*\) asynchronous' \
		       ' \([0-9]*\) could not move'; do
		v=$(echo "$1" | sed -n "s|.*$pattern.*|\\1|p")
		echo "${v:--}"
	done
}

plot() {
	w=$1
	command -v gnuplot >/dev/null || return 0
	for e in $engines; do
		awk -v w="$w" -v e="$e" '$1 == w && $2 == e { print $3, $4 }' \
			"$data/medians.txt" > "$data/$w-$e.dat"
		# psync has one depth: draw it flat across the others.
		if [ "$e" = psync ] && [ -s "$data/$w-$e.dat" ]; then
			v=$(awk '{ print $2 }' "$data/$w-$e.dat")
			printf '1 %s\n128 %s\n' "$v" "$v" > "$data/$w-$e.dat"
		fi
	done
	{
		echo "set terminal png size 900,560"
		echo "set output '$dir/fio-$w.png'"
		echo "set title '$w: IOPS by queue depth ($accel)' noenhanced"
		echo "set xlabel 'queue depth (threads for pool)'"
		echo "set ylabel 'IOPS'"
		echo "set logscale x 2"
		echo "set key outside right noenhanced"
		echo "set grid"
		printf "plot"
		sep=""
		for e in $engines; do
			[ -s "$data/$w-$e.dat" ] || continue
			printf "%s '%s' using 1:2 with linespoints title '%s'" \
				"$sep" "$data/$w-$e.dat" "$e"
			sep=","
		done
		echo
	} > "$data/$w.gp"
	gnuplot "$data/$w.gp" 2>/dev/null || echo "fio-report: gnuplot failed for $w" >&2
}

{
	echo
	echo "# fio: the syslet engine against io_uring, libaio, psync, POSIX AIO and a thread pool"
	echo
	echo "guest/fio-bench.sh, one boot: $header. Accelerator: $accel."
	case $accel in
	*TCG*) echo "**These are emulation numbers (QEMU TCG)**: relative costs, not what hardware does." ;;
	esac
	echo "Engines: \`syslet\` (tools/fio/syslet-engine.c, one chain per I/O),"
	echo "\`threadlet\` (the same engine, syslet_mode=threadlet), fio's \`io_uring\`"
	echo "(default, and \`io_uring-async\` with force_async=1), \`libaio\`,"
	echo "\`posixaio\` (glibc), \`posixaio+syslet\` (the same engine with"
	echo "tools/lib/syslet-aio preloaded: glibc's aio_* served by syslets),"
	echo "\`psync\` (depth 1 by nature) and \`pool\`: psync"
	echo "with numjobs = QD threads. Every job runs as a thread (fio --thread)."
	echo "The pool's IOPS are its I/Os over the wall time from the first"
	echo "thread's exec_prerun to the last one's exec_postrun, not fio's sum"
	echo "of per-thread rates, which counts threads that did not run at the"
	echo "same time as if they had: a conservative figure for the pool."
	echo "IOPS and latencies are medians over the repeats (min-max of IOPS"
	echo "given); \"vs io_uring\" divides by io_uring (default) at the same"
	echo "depth. CPU and context switches per I/O are the whole machine's"
	echo "(/proc/stat, read by fio's exec_prerun/exec_postrun around the I/O),"
	echo "so io-wq workers and AIO or pool threads are counted. The kernel"
	echo "is the test guest's (its config is named at the top of this report:"
	echo "-Os and SLUB_TINY), the same for every engine; no separate bench"
	echo "config was built, so allocation-heavy paths (io_uring requests,"
	echo "spare threads) pay SLUB_TINY's cost alike."
	echo
	echo "## IOPS relative to io_uring"
	echo
	summary
	echo
	echo "## POSIX AIO on syslets (libsyslet-aio.so) against glibc's"
	echo
	echo "fio's posixaio engine, unmodified, with tools/lib/syslet-aio preloaded"
	echo "against the same engine on glibc's thread-based AIO, same boot."
	echo
	posixaio_table
	echo
	echo "## Batches: async_exec_batch() against one call per I/O"
	echo
	echo "QD 32, iodepth_batch=8, the same engine both ways (syslet_batch_call=1"
	echo "or 0). A batch call stops after a chain that blocked, so on null_blk"
	echo "it saves fewer kernel entries than on the page cache."
	echo
	batch_table
	for w in $workloads; do
		echo
		echo "## $w"
		echo
		describe "$w"
		echo
		table "$w"
		plot "$w"
		[ -f "$dir/fio-$w.png" ] && printf '\n![%s](fio-%s.png)\n' "$w" "$w"
	done
	if grep -q '^SYSLET-FIO-KMEM|' "$log"; then
		echo
		echo "## Scale: outstanding syslets, null_blk O_DIRECT"
		echo
		echo "The syslet engine (chain mode) at fio queue depths up to 4096 on"
		echo "the 100 us null_blk: every I/O blocks. Kernel memory is Slab +"
		echo "KernelStack + PageTables in the middle of the run less the value"
		echo "before it. Submission is CPU-bound here (CPU us/IO exceeds the"
		echo "device's 100 us), so a chain's task is back among the spares"
		echo "long before fio reaps its completion: fio's depth is not the"
		echo "number of tasks blocked in the device, and the memory column"
		echo "measures the spares and blocked tasks actually needed."
		echo
		echo "| QD | IOPS | CPU us/IO | ctxsw/IO | p99 us | kernel memory KiB | I/Os | asynchronous | could not move |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		lines SYSLET-FIO-KMEM | while IFS='|' read -r qd kb; do
			m=$(awk -v q="$qd" '$1 == "scale" && $3 == q' "$data/medians.txt")
			s=$(lines SYSLET-FIO-STATS | awk -F'|' -v q="$qd" '$1 == q { print $2 }' | head -n 1)
			set -- $(engine_stats "$s") $m
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
				"$qd" "${7:--}" "${13:--}" "${14:--}" "${11:--}" "$kb" \
				"$1" "$2" "$3"
		done
	fi
	if grep -q '^SYSLET-FIO-BLOCKED|' "$log"; then
		echo
		echo "## Blocked: one task per outstanding I/O"
		echo
		echo "The same engine on a null_blk whose reads take 1 s, 5 s runs"
		echo "after 2 s of ramp (fio's ramp_time, which makes the spares):"
		echo "now each outstanding I/O holds a task asleep in the device. fio's"
		echo "tasks (its main thread, the job's thread, the blocked callers and"
		echo "the spares) are counted once a second; the largest count is given"
		echo "with the kernel memory (Slab + KernelStack + PageTables less the"
		echo "value before the run) at that moment. IOPS near QD per second"
		echo "means all QD I/Os were in the device together. The kernel allows"
		echo "a process kernel.syslet.max_spares = 4096 spares; an I/O that"
		echo "blocks when none is left runs synchronously (\"could not move\")."
		echo "CPU per I/O covers the whole run, ramp included: making the spares,"
		echo "the once-a-second count, fio's own threads. At low depth those"
		echo "fixed costs are spread over few I/Os."
		echo
		echo "| QD | tasks | kernel memory KiB | KiB per task | IOPS | p50 us | CPU us/IO | I/Os | asynchronous | could not move |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		lines SYSLET-FIO-BLOCKED |
		while IFS='|' read -r qd tasks kb iops p50 cpu s; do
			set -- $(engine_stats "$s")
			# CPU from prerun to postrun and the engine's count both
			# include the ramp; fio's IOPS does not.
			derived=$(awk -v k="$kb" -v t="$tasks" -v c="$cpu" -v n="$1" 'BEGIN {
				printf "%s %s", (t > 2 ? sprintf("%.1f", k / (t - 2)) : "-"),
					(n > 0 && c != "-" ? sprintf("%.1f", c * 10000 / n) : "-") }')
			set -- $derived "$@"
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
				"$qd" "$tasks" "$kb" "$1" "$iops" "$p50" "$2" "$3" "$4" "$5"
		done
	fi
	if [ -n "$icount_log" ] && grep -q '^SYSLET-FIO-ICOUNT|' "$icount_log"; then
		echo
		echo "## Instructions per I/O: ext4 page cache, 4 KiB random reads, QD 1"
		echo
		echo "One CPU under QEMU's -icount shift=0, where guest time advances"
		echo "1 ns per guest instruction: I/Os per second of guest time give the"
		echo "instructions per I/O of the whole machine (fio, the engine, the"
		echo "kernel), and the host's load changes nothing. An instruction is"
		echo "not a unit of cost on hardware (a cache miss, a kernel entry with"
		echo "mitigations, a lock cost more than one): this table says how much"
		echo "each engine does per I/O, the timed tables above what it costs in"
		echo "this guest. \"vs psync\" is psync's instructions over the engine's:"
		echo "above 1 is fewer."
		echo
		echo "| engine | instructions per I/O | vs psync |"
		echo "|---|---:|---:|"
		grep '^SYSLET-FIO-ICOUNT|' "$icount_log" | tr -d '\r' | awk -F'|' '
			{ e[NR] = $3; n[NR] = ($6 > 0) ? 1e9 / $6 : 0; if ($3 == "psync") p = n[NR] }
			END {
				for (i = 1; i <= NR; i++) {
					r = (p > 0 && n[i] > 0) ? sprintf("%.2f", p / n[i]) : "-"
					printf "| %s | %.0f | %s |\n", e[i], n[i], r
				}
			}'
	fi
	if grep -q '^SYSLET-FIO-ERROR|' "$log"; then
		echo
		echo "## fio runs that failed"
		echo
		lines SYSLET-FIO-ERROR | sed 's/^/- /'
	fi
} > "$data/section.md"
cat "$data/section.md" >> "$report"

echo
echo "fio: IOPS relative to io_uring (median of repeats; $accel)"
summary
echo "full tables and plots: $report"
if grep -q '^| engine | instructions per I/O' "$data/section.md"; then
	echo
	echo "fio at QD 1 by instruction count (TCG -icount, one CPU)"
	sed -n '/^| engine | instructions per I\/O/,/^$/p' "$data/section.md"
fi
