/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The syslet ABI layout, checked at compile time. Included by the C test
 * built with -m32 and by the C++ test built with -m64: the layout must be
 * the same for both.
 */
#include <stddef.h>
#include <linux/syslet.h>

#ifdef __cplusplus
#define ABI_ASSERT(e, msg) static_assert(e, msg)
#define ABI_ALIGNOF(t) alignof(t)
#define ABI_PRIVATE private_data
#else
#define ABI_ASSERT(e, msg) _Static_assert(e, msg)
#define ABI_ALIGNOF(t) _Alignof(t)
#define ABI_PRIVATE private
#endif

ABI_ASSERT(sizeof(struct syslet_uatom) == 96, "syslet_uatom size");
ABI_ASSERT(offsetof(struct syslet_uatom, flags) == 0, "flags");
ABI_ASSERT(offsetof(struct syslet_uatom, nr) == 8, "nr");
ABI_ASSERT(offsetof(struct syslet_uatom, ret_ptr) == 16, "ret_ptr");
ABI_ASSERT(offsetof(struct syslet_uatom, next) == 24, "next");
ABI_ASSERT(offsetof(struct syslet_uatom, arg_ptr) == 32, "arg_ptr");
ABI_ASSERT(offsetof(struct syslet_uatom, ABI_PRIVATE) == 80, "private");
ABI_ASSERT(offsetof(struct syslet_uatom, reserved) == 88, "reserved");
ABI_ASSERT(ABI_ALIGNOF(struct syslet_uatom) == 8, "syslet_uatom alignment");

ABI_ASSERT(sizeof(struct async_head_user) == 64, "async_head_user size");
ABI_ASSERT(sizeof(struct async_head_user) == SYSLET_AHU_SIZE_VER0,
	   "first published size");
ABI_ASSERT(offsetof(struct async_head_user, size) == 0, "size");
ABI_ASSERT(offsetof(struct async_head_user, kernel_ring_idx) == 8,
	   "kernel_ring_idx");
ABI_ASSERT(offsetof(struct async_head_user, user_ring_idx) == 16,
	   "user_ring_idx");
ABI_ASSERT(offsetof(struct async_head_user, completion_ring) == 24,
	   "completion_ring");
ABI_ASSERT(offsetof(struct async_head_user, ring_size_bytes) == 32,
	   "ring_size_bytes");
ABI_ASSERT(offsetof(struct async_head_user, sync_chains) == 40,
	   "sync_chains");
ABI_ASSERT(offsetof(struct async_head_user, flags) == 48, "flags");
ABI_ASSERT(offsetof(struct async_head_user, eventfd) == 56, "eventfd");
ABI_ASSERT(ABI_ALIGNOF(struct async_head_user) == 8,
	   "async_head_user alignment");

ABI_ASSERT(sizeof(struct syslet_batch_entry) == 16, "syslet_batch_entry size");
ABI_ASSERT(offsetof(struct syslet_batch_entry, atom) == 0, "atom");
ABI_ASSERT(offsetof(struct syslet_batch_entry, result) == 8, "result");
ABI_ASSERT(ABI_ALIGNOF(struct syslet_batch_entry) == 8,
	   "syslet_batch_entry alignment");

ABI_ASSERT(sizeof(struct threadlet_area) == SYSLET_AREA_SIZE,
	   "threadlet_area size");
ABI_ASSERT(offsetof(struct threadlet_area, active) == 0, "active");
ABI_ASSERT(offsetof(struct threadlet_area, restore_ip) == 8, "restore_ip");
ABI_ASSERT(offsetof(struct threadlet_area, restore_sp) == 16, "restore_sp");
ABI_ASSERT(offsetof(struct threadlet_area, caller_fs) == 24, "caller_fs");
ABI_ASSERT(offsetof(struct threadlet_area, lease_sp) == 32, "lease_sp");
ABI_ASSERT(offsetof(struct threadlet_area, lease_fs) == 40, "lease_fs");
ABI_ASSERT(offsetof(struct threadlet_area, reserved) == 48, "reserved");
ABI_ASSERT(ABI_ALIGNOF(struct threadlet_area) == 8,
	   "threadlet_area alignment");
