// SPDX-License-Identifier: GPL-2.0
// The surface of tools/lib/syslet/syslet.hpp that applications write
// against, on a host without syslets: result<T> in both of its modes
// (built with -std=c++20 for the library's own class and -std=c++23 for
// std::expected), the typed builders of namespace sys run for real on the
// fallback, and chains rebuilt with clear() or rerun with syslet::ref().
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>
#include <type_traits>

#include "syslet.hpp"

namespace {

using syslet::failure;
using syslet::result;

/* ---------------------------------------------------------------------- */
/* result<T>                                                               */

#if defined(__cpp_lib_expected) && __cpp_lib_expected >= 202202L
static_assert(syslet::uses_std_expected);
static_assert(std::is_same_v<result<long>, std::expected<long, std::error_code>>);
static_assert(std::is_same_v<result<void>, std::expected<void, std::error_code>>);
#else
static_assert(!syslet::uses_std_expected);
#endif
// What both modes have; ok() and an int error() are gone.
template <class R>
concept common_surface = requires(R r, const R cr) {
	{ cr.has_value() } -> std::same_as<bool>;
	{ cr.error() } -> std::convertible_to<std::error_code>;
	static_cast<bool>(cr);
	cr.value();
	*cr;
};
static_assert(common_surface<result<long>> && common_surface<result<void>>);
static_assert(!std::is_convertible_v<result<long>, bool>);	// explicit
template <class R>
concept has_ok = requires(R r) { r.ok(); };
static_assert(!has_ok<result<long>>);

// The library's own way to fail, converted once for every result type.
result<long> parse_fd(const char *s)
{
	if (!s || *s < '0' || *s > '9')
		return failure{EBADF};
	return std::strtol(s, nullptr, 10);
}

result<void> check_fd(const char *s)
{
	if (auto r = parse_fd(s); !r)
		return failure{r.error().value()};
	return {};
}

TEST(SysletResult, HoldsAValueOrAnErrorCode)
{
	result<long> v = parse_fd("42");
	result<long> e = parse_fd("x");

	ASSERT_TRUE(v.has_value());
	EXPECT_TRUE(static_cast<bool>(v));
	EXPECT_EQ(42, v.value());
	EXPECT_EQ(42, *v);
	EXPECT_EQ(42, v.value_or(7));

	ASSERT_FALSE(e.has_value());
	EXPECT_FALSE(e);
	EXPECT_EQ(std::errc::bad_file_descriptor, e.error());
	EXPECT_EQ(EBADF, e.error().value());
	EXPECT_EQ(&std::generic_category(), &e.error().category());
	EXPECT_EQ(7, e.value_or(7));
}

TEST(SysletResult, ValueOfAnErrorThrows)
{
	result<long> e = failure{ENOENT};

	EXPECT_THROW((void)e.value(), std::exception);
#if defined(__cpp_lib_expected) && __cpp_lib_expected >= 202202L
	try {
		(void)e.value();
	} catch (const std::bad_expected_access<std::error_code> &x) {
		EXPECT_EQ(std::errc::no_such_file_or_directory, x.error());
	}
#else
	try {
		(void)e.value();
	} catch (const std::system_error &x) {
		EXPECT_EQ(std::errc::no_such_file_or_directory, x.code());
	}
#endif
}

TEST(SysletResult, ArrowReachesTheValue)
{
	struct pair {
		int a = 0, b = 0;
	};
	result<pair> p = pair{1, 2};

	EXPECT_EQ(2, p->b);
	p->a = 5;
	EXPECT_EQ(5, (*p).a);
}

TEST(SysletResult, VoidSaysOnlyWhetherItWorked)
{
	result<void> ok = check_fd("3");
	result<void> bad = check_fd("");

	EXPECT_TRUE(ok.has_value());
	EXPECT_NO_THROW(ok.value());
	EXPECT_FALSE(bad);
	EXPECT_EQ(std::errc::bad_file_descriptor, bad.error());
	EXPECT_THROW(bad.value(), std::exception);
}

} // namespace
