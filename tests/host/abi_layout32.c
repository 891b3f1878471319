// SPDX-License-Identifier: GPL-2.0
/*
 * Compiled with -m32: abi_layout.h asserts, at compile time, that a 32-bit
 * program sees the same sizes, offsets and alignment as a 64-bit one, and
 * the flag values below must come out the same too. Compiling is the test;
 * the host may not be able to run 32-bit programs at all.
 */
#include "abi_layout.h"

_Static_assert(sizeof(void *) == 4, "built as a 32-bit program");
_Static_assert(SYSLET_VALID_FLAGS == 0xff, "flag values");
_Static_assert(SYSLET_SKIP_TO_NEXT_ON_STOP == 1ULL << 7, "flag values");
_Static_assert(SYSLET_MAX_ATOMS == 64, "chain limit");
