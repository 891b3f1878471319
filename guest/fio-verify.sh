#!/bin/sh
# The fio syslet engine moves the right bytes: every job writes, then reads
# back and checks each block with verify=crc32c; a block that was not
# written, written to the wrong place or read into the wrong buffer fails
# it. Jobs that block on every I/O (null_blk with memory_backed=1 and a
# timer completion, O_DIRECT) must also show I/Os that went asynchronous,
# so the ring path is what was verified. Output: TAP.
set -u

. /bin/nullb.sh

engine=/usr/lib/syslet/fio-syslet.so
dev=/dev/syslet-verify
n=0
log=/tmp/fio-verify.log

echo "1..14"

result()
{
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
		grep '^syslet: ' $log | sed 's/^/# /'
	else
		echo "not ok $n $2"
		sed 's/^/# /' $log
	fi
}

# fio_verify NAME [fio options...]: the job passes, and verified something.
fio_verify()
{
	name=$1
	shift
	fio --name="$name" --ioengine=external:$engine --syslet_stats \
		--verify=crc32c --do_verify=1 --verify_fatal=1 \
		--verify_state_save=0 --bs=4k --size=8m "$@" > $log 2>&1 &&
		grep -q "err= 0" $log && grep -q "read: IOPS" $log
}

# The job went asynchronous at least once.
went_async()
{
	awk '/^syslet: .* asynchronous/ { if ($5 + 0 > 0) ok = 1 } END { exit !ok }' $log
}

# 16 MiB that keep what is written, 20 us completions
nullb_create syslet-verify 16 20000 64 1 ||
	echo "# no $dev: the null_blk jobs fail"

fio_verify chain-nullb --filename=$dev --direct=1 --rw=randwrite \
	--iodepth=16 && went_async
result $? "chain mode, O_DIRECT random writes on null_blk, QD16, verified"

fio_verify threadlet-nullb --filename=$dev --direct=1 --rw=randwrite \
	--iodepth=16 --syslet_mode=threadlet --thread && went_async
result $? "threadlet mode, O_DIRECT random writes on null_blk, QD16, verified"

fio_verify chain-nullb-batch --filename=$dev --direct=1 --rw=write \
	--iodepth=32 --iodepth_batch=8 --iodepth_batch_complete_min=4 \
	--thread && went_async
result $? "chain mode, batches of 8 in async_exec_batch() calls, reaped 4 at least, verified"

fio_verify chain-nullb-percall --filename=$dev --direct=1 --rw=write \
	--iodepth=32 --iodepth_batch=8 --syslet_batch_call=0 \
	--thread && went_async
result $? "chain mode, batches of 8 with one async_exec() per I/O, verified"

fio_verify chain-tmpfs-fsync --filename=/tmp/fio-verify.dat --rw=randwrite \
	--iodepth=8 --iodepth_batch=4 --fsync=5
result $? "chain mode, buffered random writes with fsync on tmpfs, verified"

fio_verify threadlet-tmpfs-sync --filename=/tmp/fio-verify.dat --rw=randwrite \
	--iodepth=8 --sync=1 --fdatasync=3 --syslet_mode=threadlet \
	--threadlet_threads=2
result $? "threadlet mode, O_SYNC writes with fdatasync, 2 threads for QD8, verified"

# max_ns DDIR STAT: the largest of STAT (clat_ns, lat_ns) fio reported
# for DDIR (trim, sync) in its JSON output. Both count from the issue
# time for these: a trim's clat, and every sync's lat.
max_ns()
{
	awk -v d="\"$1\"" -v k="\"$2\"" '$1 == d && $3 == "{" { in_d = 1 }
		in_d && $1 == k { in_k = 1 }
		in_d && in_k && $1 == "\"max\"" { gsub(/,/, "", $3); print $3; exit }' $log
}

# Trims and sync_file_range run synchronously in ->queue(): each must be
# stamped there, or fio measures from a stale (or zero) issue time and
# reports seconds, or the time since boot, for microseconds of work.
nullb_create syslet-trim 16 20000 64 1 1 ||
	echo "# no /dev/syslet-trim: the trim job fails"
fio --name=trim --ioengine=external:$engine --filename=/dev/syslet-trim \
	--rw=randtrim --bs=4k --size=4m --iodepth=8 --output-format=json > $log 2>&1
lat=$(max_ns trim clat_ns)
[ -n "$lat" ] && [ "$lat" -lt 1000000000 ]
result $? "trims are timed from when they were issued (max ${lat:-?} ns)"
nullb_remove syslet-trim

# Its one io_u issued the write before it, 300 ms of think time ago.
fio --name=sfr --ioengine=external:$engine --filename=/tmp/fio-verify.dat \
	--rw=write --bs=4k --size=16k --iodepth=1 --thinktime=300000 \
	--sync_file_range=write:1 --output-format=json > $log 2>&1
lat=$(max_ns sync lat_ns)
[ -n "$lat" ] && [ "$lat" -lt 150000000 ]
result $? "sync_file_range is timed from when it was issued (max ${lat:-?} ns)"

# A batch is stamped when ->commit() submits it, and fio then has the
# submission latency (slat) of every I/O, as with libaio.
fio --name=slat --ioengine=external:$engine --filename=/tmp/fio-verify.dat \
	--rw=randread --bs=4k --size=4m --iodepth=16 --iodepth_batch=8 \
	--output-format=json > $log 2>&1
awk '$1 == "\"read\"" && $3 == "{" { r = 1 }
	r && $1 == "\"slat_ns\"" { s = 1 }
	r && s && $1 == "\"N\"" { gsub(/,/, "", $3); exit !($3 + 0 > 0) }
	END { if (!s) exit 1 }' $log
result $? "batched reads have their submission latency"

# Syslets switched off: chain mode stops at init and says why, with no
# I/O; threadlet mode says that it measures the library's user-space
# pool instead, and still moves the right bytes.
echo 0 > /proc/sys/kernel/syslet/enabled
fio --name=off --ioengine=external:$engine --filename=/tmp/fio-verify.dat \
	--rw=read --size=1m > $log 2>&1
[ $? -ne 0 ] && grep -q "syslets are switched off" $log &&
	! grep -q "read: IOPS" $log
result $? "chain mode with kernel.syslet.enabled=0 stops at init, saying why"

fio_verify threadlet-off --filename=/tmp/fio-verify.dat --rw=randwrite \
	--iodepth=4 --syslet_mode=threadlet --thread &&
	grep -q "runs on the library's user-space thread pool" $log
result $? "threadlet mode with syslets off says it runs on a user-space pool, verified"
echo 1 > /proc/sys/kernel/syslet/enabled
rm -f /tmp/fio-verify.dat

# Bad options give fio's error and no job: no crash, no I/O.
fio --name=bad --ioengine=external:$engine --syslet_mode=coroutine \
	--filename=$dev --size=1m > $log 2>&1
[ $? -ne 0 ] && grep -q "valid values" $log && ! grep -q "Starting" $log
result $? "syslet_mode=coroutine is refused by fio's option parser"

fio --name=bad --ioengine=external:$engine --threadlet_threads=0 \
	--filename=$dev --size=1m > $log 2>&1
[ $? -ne 0 ] && grep -q "min value out of range" $log && ! grep -q "Starting" $log
result $? "threadlet_threads=0 is refused by fio's option parser"

fio --name=bad --ioengine=external:/usr/lib/syslet/no-such-engine.so \
	--filename=$dev --size=1m > $log 2>&1
[ $? -ne 0 ] && grep -q "invalid external ioengine path" $log
result $? "a missing engine file is fio's 'invalid external ioengine path'"

nullb_remove syslet-verify
