# null_blk devices through configfs, for the guest's fio scripts (sourced,
# not run). A device's requests complete from a timer (irqmode 2), so
# every O_DIRECT I/O on it blocks for at least its completion time.

nullb_configfs=/sys/kernel/config/nullb

# nullb_create NAME SIZE_MIB COMPLETION_NS QUEUE_DEPTH [MEMORY_BACKED [DISCARD]]
# makes /dev/NAME, 4 KiB blocks; MEMORY_BACKED=1 keeps what is written
# (verify jobs need it), otherwise reads return whatever the page held;
# DISCARD=1 (memory-backed only) takes trims.
nullb_create()
{
	mount -t configfs none /sys/kernel/config 2>/dev/null
	d=$nullb_configfs/$1
	mkdir "$d" &&
		echo 4096 > "$d/blocksize" &&
		echo "$2" > "$d/size" &&
		echo "${5:-0}" > "$d/memory_backed" &&
		echo "${6:-0}" > "$d/discard" &&
		echo 2 > "$d/irqmode" &&
		echo "$3" > "$d/completion_nsec" &&
		echo "$4" > "$d/hw_queue_depth" &&
		echo 1 > "$d/power" &&
		[ -b "/dev/$1" ]
}

# nullb_remove NAME
nullb_remove()
{
	echo 0 > "$nullb_configfs/$1/power"
	rmdir "$nullb_configfs/$1"
}
