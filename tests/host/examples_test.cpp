// SPDX-License-Identifier: GPL-2.0
// The library's examples (tools/lib/syslet/examples) run on the host, as
// a user would run them, through the fallback pool: linked into the host
// GoogleTest binary, with the examples' folder in SYSLET_EXAMPLES_DIR
// (make host-check builds them there, plain and under each sanitizer).
// The guest runs the same examples on the kernel (tests/vm).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../threadlet_test_util.hpp"

namespace {

// The examples' folder, or "" when this run has none (then skip).
std::string dir()
{
	const char *d = std::getenv("SYSLET_EXAMPLES_DIR");
	return d ? d : "";
}

// Runs @cmd with stderr in @out too, so that a sanitizer's report lands
// in this test's log; the exit status as system() gives it.
int run(const std::string &cmd, std::string &out)
{
	return run_command("{ " + cmd + "; } 2>&1", out);
}

#define NEED_EXAMPLES()                                                  \
	do {                                                             \
		if (dir().empty())                                       \
			GTEST_SKIP() << "SYSLET_EXAMPLES_DIR is not set"; \
	} while (0)

TEST(SysletExamplesHost, ChainedCopyCopiesAFile)
{
	NEED_EXAMPLES();
	std::string out;
	const std::string copy = testing::TempDir() + "syslet-copy";

	// The example itself, a file of some megabytes under a sanitizer.
	const std::string cmd = dir() + "/chained_copy " + dir() + "/chained_copy > " + copy;
	ASSERT_EQ(0, run(cmd, out)) << out;
	EXPECT_NE(std::string::npos, out.find("chained_copy: fallback thread pool\n")) << out;
	ASSERT_EQ(0, run("cmp " + dir() + "/chained_copy " + copy, out)) << out;
	std::remove(copy.c_str());
}

TEST(SysletExamplesHost, SeedThreadletReadsFiles)
{
	NEED_EXAMPLES();
	std::string out;

	ASSERT_EQ(0, run(dir() + "/threadlet_read /etc/passwd /nonexistent", out)) << out;
	EXPECT_NE(std::string::npos, out.find("/etc/passwd: ")) << out;
	EXPECT_NE(std::string::npos, out.find(" bytes\n")) << out;
	EXPECT_NE(std::string::npos, out.find("/nonexistent: No such file or directory")) << out;
	EXPECT_NE(std::string::npos, out.find("(fallback pool)")) << out;
}

TEST(SysletExamplesHost, ServerServesEveryClient)
{
	NEED_EXAMPLES();
	std::string out;

	ASSERT_EQ(0, run(dir() + "/threadlet_server 32", out)) << out;
	EXPECT_EQ(0u, out.find("32 of 32 clients served correctly;")) << out;
	EXPECT_NE(std::string::npos, out.find("(fallback pool)")) << out;
}

TEST(SysletExamplesHost, CoroutineServerServesEveryClient)
{
	NEED_EXAMPLES();
	std::string out;

	ASSERT_EQ(0, run(dir() + "/coroutine_server 48", out)) << out;
	EXPECT_EQ(0u, out.find("48 of 48 clients served correctly by coroutines;")) << out;
	EXPECT_NE(std::string::npos, out.find("(fallback pools)")) << out;
}

TEST(SysletExamplesHost, AsioServerServesEveryRequest)
{
	NEED_EXAMPLES();
	std::string out;

	ASSERT_EQ(0, run(dir() + "/asio_server 24", out)) << out;
	EXPECT_EQ(0u, out.find("24 of 24 requests served correctly by Asio with syslets")) << out;
	EXPECT_NE(std::string::npos, out.find("(fallback pool)")) << out;
}

} // namespace
