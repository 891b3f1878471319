// SPDX-License-Identifier: GPL-2.0
// The syslet UAPI header as a C++ program sees it: the layout (abi_layout.h,
// checked at compile time) and the rules the header states about its flags.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <type_traits>

#include "abi_layout.h"

namespace {

constexpr std::uint64_t kFlags[] = {
	SYSLET_ASYNC,		 SYSLET_SYNC,
	SYSLET_NO_COMPLETE,	 SYSLET_STOP_ON_NONZERO,
	SYSLET_STOP_ON_ZERO,	 SYSLET_STOP_ON_NEGATIVE,
	SYSLET_STOP_ON_NON_POSITIVE, SYSLET_SKIP_TO_NEXT_ON_STOP,
};

TEST(SysletAbi, StructsAreTriviallyCopyable)
{
	EXPECT_TRUE(std::is_trivially_copyable_v<syslet_uatom>);
	EXPECT_TRUE(std::is_standard_layout_v<syslet_uatom>);
	EXPECT_TRUE(std::is_trivially_copyable_v<async_head_user>);
	EXPECT_TRUE(std::is_standard_layout_v<async_head_user>);
}

TEST(SysletAbi, EveryFieldIsSixtyFourBits)
{
	syslet_uatom a{};
	async_head_user h{};

	EXPECT_EQ(8u, sizeof(a.flags));
	EXPECT_EQ(8u, sizeof(a.nr));
	EXPECT_EQ(8u, sizeof(a.ret_ptr));
	EXPECT_EQ(8u, sizeof(a.next));
	EXPECT_EQ(48u, sizeof(a.arg_ptr));
	EXPECT_EQ(8u, sizeof(a.private_data));
	EXPECT_EQ(8u, sizeof(a.reserved));
	EXPECT_EQ(8u, sizeof(h.completion_ring));
	EXPECT_EQ(8u, sizeof(h.sync_chains));
	EXPECT_EQ(8u, sizeof(h.flags));
	EXPECT_EQ(8u, sizeof(h.eventfd));
}

TEST(SysletAbi, FlagsAreDistinctSingleBits)
{
	std::uint64_t seen = 0;

	for (auto f : kFlags) {
		EXPECT_EQ(1, std::popcount(f));
		EXPECT_EQ(0u, seen & f);
		seen |= f;
	}
	EXPECT_EQ(seen, static_cast<std::uint64_t>(SYSLET_VALID_FLAGS));
}

TEST(SysletAbi, StopMaskHoldsExactlyTheFourConditions)
{
	EXPECT_EQ(static_cast<std::uint64_t>(SYSLET_STOP_MASK),
		  SYSLET_STOP_ON_NONZERO | SYSLET_STOP_ON_ZERO |
		  SYSLET_STOP_ON_NEGATIVE | SYSLET_STOP_ON_NON_POSITIVE);
	EXPECT_EQ(0u, SYSLET_STOP_MASK & (SYSLET_ASYNC | SYSLET_SYNC |
		  SYSLET_NO_COMPLETE | SYSLET_SKIP_TO_NEXT_ON_STOP));
}

TEST(SysletAbi, LimitsAreDocumentedValues)
{
	EXPECT_EQ(3, SYSLET_ABI_VERSION);
	EXPECT_EQ(64, SYSLET_AREA_SIZE);
	EXPECT_EQ(1024, SYSLET_MAX_BATCH);
	EXPECT_EQ(64, SYSLET_MAX_ATOMS);
}

} // namespace
