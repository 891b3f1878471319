#!/bin/sh
# fio: the syslet engine against the kernel's other ways of doing I/O, in
# one boot. Every run prints one line for scripts/fio-report.sh:
#
#   SYSLET-FIO|workload|engine|qd|repeat|iops|p50 us|p99 us|p99.9 us|
#	cpu jiffies|context switches|I/Os|wall centiseconds
#
# CPU time and context switches are the whole machine's (/proc/stat)
# during the run, so io-wq workers, glibc's AIO threads and a pool's
# threads count as well as the submitter. Latencies are fio's completion
# latencies. Jobs run as threads (fio --thread) for every engine, so
# the syslet caller is never a thread group leader.
#
# With "icount" (a boot under QEMU -icount, where guest time counts
# instructions): only 4 KiB random reads from ext4's page cache at QD 1,
# once per engine, as SYSLET-FIO-ICOUNT lines of the same fields.
#
# usage: fio-bench.sh RUNTIME_S REPEATS [icount]
set -u

runtime=${1:-1}
repeats=${2:-3}
only_icount=${3:-}
engine=/usr/lib/syslet/fio-syslet.so
tag=/tmp/fio-bench.out

die() { echo "SYSLET-FIO-ERROR|$*"; exit 1; }

. /bin/nullb.sh

# 1 GiB, every O_DIRECT read blocks for 100 us
nullb_create syslet-bench 1024 100000 1024 || die "null_blk"
# A path, or busybox sh would run its own mke2fs applet (no ext4).
/bin/mke2fs -q -t ext4 -F /dev/ram0 > /dev/null || die "mke2fs /dev/ram0"
mkdir -p /mnt/ext4
mount -t ext4 /dev/ram0 /mnt/ext4 || die "mount ext4"
# The most a process may have: QD 4096 needs one more, reported below.
echo 4096 > /proc/sys/kernel/syslet/max_spares

# Uptime in centiseconds, CPU jiffies (not idle, not iowait) and context
# switches of the whole machine in a /proc/uptime + /proc/stat snapshot
machine()
{
	awk 'NR == 1 { printf "%d\n", $1 * 100 }
	     /^cpu / { print $2 + $3 + $4 + $7 + $8 } /^ctxt / { print $2 }' \
		"$1" | tr '\n' ' '
}

# run WORKLOAD ENGINE QD REPEAT fio-options...
# /proc/stat is read by fio's exec_prerun and exec_postrun, around the
# job's I/O: fio's own start-up is not counted. With numjobs (the thread
# pool) the first clone's prerun and the last clone's postrun count, and
# the other clones' commands (a fork and a cat each) are in the window.
run()
{
	w=$1 e=$2 qd=$3 rep=$4
	shift 4
	preload=""
	case $e in
	syslet) eng="--ioengine=external:$engine --iodepth=$qd" ;;
	# With iodepth_batch: one async_exec() per I/O, not one batch call.
	syslet-percall) eng="--ioengine=external:$engine --iodepth=$qd --syslet_batch_call=0" ;;
	threadlet) eng="--ioengine=external:$engine --iodepth=$qd --syslet_mode=threadlet" ;;
	io_uring) eng="--ioengine=io_uring --iodepth=$qd" ;;
	io_uring-async) eng="--ioengine=io_uring --iodepth=$qd --force_async=1" ;;
	libaio) eng="--ioengine=libaio --iodepth=$qd" ;;
	posixaio) eng="--ioengine=posixaio --iodepth=$qd" ;;
	# The same engine, its aio_* calls served by libsyslet-aio.so.
	posixaio+syslet) eng="--ioengine=posixaio --iodepth=$qd"
		preload=LD_PRELOAD=/usr/lib/syslet/libsyslet-aio.so ;;
	psync) eng="--ioengine=psync" ;;
	pool) eng="--ioengine=psync --numjobs=$qd --group_reporting" ;;
	esac
	rm -f /tmp/stat.pre /tmp/stat.post
	# fio writes the commands' output to <job>.prerun.txt in the cwd.
	cd /tmp
	env $preload fio --name="$w" --thread --time_based --runtime="$runtime" --bs=4k \
		--output-format=terse --terse-version=3 \
		--exec_prerun="sh -c '[ -e /tmp/stat.pre ] || cat /proc/uptime /proc/stat > /tmp/stat.pre'" \
		--exec_postrun="sh -c 'cat /proc/uptime /proc/stat > /tmp/stat.post'" \
		$eng "$@" > $tag 2>&1
	status=$?
	if [ $status -ne 0 ] || [ ! -s /tmp/stat.pre ] || [ ! -s /tmp/stat.post ]; then
		echo "SYSLET-FIO-ERROR|$w|$e|$qd|fio exited $status"
		sed 's/^/# /' $tag | head -n 20
		return
	fi
	set -- $(machine /tmp/stat.pre) $(machine /tmp/stat.post)
	awk -F';' -v w="$w" -v e="$e" -v qd="$qd" -v rep="$rep" \
		-v wall=$(($4 - $1)) -v cpu=$(($5 - $2)) -v ctxt=$(($6 - $3)) '
		function pct(f) { sub(/.*=/, "", f); return f }
		/^3;/ {
			# terse v3: reads from field 6, writes 41 fields later
			r = $6 + 0 > 0 ? 0 : 41
			iops = $(8 + r); ios = ($6 + $47) / 4
			printf "SYSLET-FIO|%s|%s|%s|%s|%s|%s|%s|%s|%d|%d|%d|%d\n", w, e,
				qd, rep, iops, pct($(24 + r)), pct($(30 + r)),
				pct($(32 + r)), cpu, ctxt, ios, wall
		}' $tag
}

# Every engine on one workload at one queue depth; psync once (its depth
# is always 1).
matrix()
{
	w=$1
	shift
	for rep in $(seq 1 "$repeats"); do
		run "$w" psync 1 "$rep" "$@"
		for qd in 1 8 32 128; do
			for e in syslet threadlet io_uring io_uring-async libaio \
				 posixaio posixaio+syslet pool; do
				run "$w" "$e" "$qd" "$rep" "$@"
			done
		done
	done
}

# Write the cached files out once, so that no run pays for their layout or
# for writeback.
for f in /mnt/ext4/cached /tmp/cached; do
	fio --name=layout --filename=$f --size=32m --rw=write --bs=1m \
		--ioengine=psync > /dev/null 2>&1 || die "layout $f"
done
sync

echo "SYSLET-FIO-HEADER|runtime=${runtime}s|repeats=$repeats|cpus=$(nproc)|fio=$(fio --version)"

if [ "$only_icount" = icount ]; then
	for e in psync syslet threadlet io_uring libaio posixaio+syslet; do
		run ext4-cached "$e" 1 1 --filename=/mnt/ext4/cached --size=32m \
			--rw=randread --invalidate=0 | sed 's/^SYSLET-FIO|/SYSLET-FIO-ICOUNT|/'
	done
	exit 0
fi

# Page cache on ext4 on a block device (brd): io_uring reads these inline.
matrix ext4-cached --filename=/mnt/ext4/cached --size=32m --rw=randread \
	--invalidate=0
# Page cache on tmpfs: no FMODE_NOWAIT, io_uring punts every read to io-wq.
matrix tmpfs-cached --filename=/tmp/cached --size=32m --rw=randread \
	--invalidate=0
rm -f /tmp/cached
# null_blk, O_DIRECT, 100 us completions: every I/O blocks.
matrix nullb-direct --filename=/dev/syslet-bench --direct=1 --rw=randread
# fio batches of 8 at QD 32: one async_exec_batch() call per batch against
# one async_exec() per I/O, io_uring and libaio submitting batches too.
# Reaping 8 at least, so that fio refills 8 at a time: with fio's default
# (reap 1, refill at once) every batch would hold one I/O.
batch8="--iodepth_batch=8 --iodepth_batch_complete_min=8"
for rep in $(seq 1 "$repeats"); do
	for e in syslet syslet-percall io_uring libaio; do
		run ext4-cached-batch8 "$e" 32 "$rep" $batch8 \
			--filename=/mnt/ext4/cached --size=32m --rw=randread \
			--invalidate=0
		run nullb-direct-batch8 "$e" 32 "$rep" $batch8 \
			--filename=/dev/syslet-bench --direct=1 --rw=randread
	done
done
# Random writes with an fsync after each on ext4: every fsync blocks.
matrix ext4-fsync --filename=/mnt/ext4/fsync --size=32m --rw=randwrite \
	--fsync=1
rm -f /mnt/ext4/cached /mnt/ext4/fsync

# Scale: outstanding syslets from 1 to 4096, null_blk O_DIRECT. Kernel
# memory (slab, kernel stacks, page tables) is sampled in the middle of
# the run against the idle value.
kmem()
{
	awk '/^(Slab|KernelStack|PageTables):/ { kb += $2 } END { print kb }' \
		/proc/meminfo
}
for qd in 1 16 64 256 1024 4096; do
	idle=$(kmem)
	(sleep $((runtime + 1)); echo "SYSLET-FIO-KMEM|$qd|$(( $(kmem) - idle ))") &
	sampler=$!
	run scale syslet "$qd" 1 --filename=/dev/syslet-bench --direct=1 \
		--rw=randread --runtime=$((runtime * 3)) --syslet_stats
	wait $sampler
	grep '^syslet:' $tag | sed "s/^/SYSLET-FIO-STATS|$qd|/"
done

# Blocked: the same engine on a device whose reads take a second, so that
# each outstanding I/O holds a task asleep in the kernel at once. The
# first 2 s, which make the spares, are not in fio's IOPS. While
# fio runs, its tasks are counted every second; the largest count and the
# kernel memory at that moment are kept:
#   SYSLET-FIO-BLOCKED|qd|tasks|kernel memory KiB|IOPS|p50 us|cpu jiffies|
#	engine stats
# The tasks are fio's main thread, the job's thread, the blocked callers
# and the spares.
blocked_sampler()
{
	idle=$1 most=0 kb=0 seen=0 tries=0
	while [ $tries -lt 120 ]; do
		tries=$((tries + 1))
		sleep 1
		if ! pid=$(pidof fio); then
			[ $seen -eq 1 ] && break
			continue
		fi
		seen=1
		n=$(ls /proc/${pid%% *}/task 2>/dev/null | wc -l)
		if [ "$n" -gt "$most" ]; then
			most=$n kb=$(( $(kmem) - idle ))
		fi
	done
	echo "$most|$kb"
}
nullb_create syslet-slow 1024 1000000000 4096 || die "null_blk (slow)"
for qd in 16 256 1024 4096; do
	blocked_sampler "$(kmem)" > /tmp/blocked.txt &
	sampler=$!
	run blocked syslet "$qd" 1 --filename=/dev/syslet-slow --direct=1 \
		--rw=randread --ramp_time=2 --runtime=5 --syslet_stats \
		> /tmp/blocked.run
	wait $sampler
	fio=$(awk -F'|' '$1 == "SYSLET-FIO" { print $6 "|" $7 "|" $10 }' \
		/tmp/blocked.run)
	grep -v '^SYSLET-FIO|' /tmp/blocked.run
	echo "SYSLET-FIO-BLOCKED|$qd|$(cat /tmp/blocked.txt)|${fio:--|-|-}|$(grep '^syslet:' $tag)"
done
nullb_remove syslet-slow

umount /mnt/ext4
nullb_remove syslet-bench
