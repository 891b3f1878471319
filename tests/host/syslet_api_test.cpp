// SPDX-License-Identifier: GPL-2.0
// The surface of tools/lib/syslet/syslet.hpp that applications write
// against, on a host without syslets: result<T> in both of its modes
// (built with -std=c++20 for the library's own class and -std=c++23 for
// std::expected), the typed builders of namespace sys run for real on the
// fallback, and chains rebuilt with clear() or rerun with syslet::ref().
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>

#include "syslet.hpp"
#include "alloc_count.hpp"

namespace {

using namespace std::chrono_literals;
using syslet::chain;
using syslet::failure;
using syslet::prev_result;
using syslet::result;
using syslet::result_of;
namespace opt = syslet::opt;
namespace sys = syslet::sys;

// The errno of atom i's result, 0 for a value.
int err(const syslet::chain_base &c, std::size_t i)
{
	auto r = c.ret(i);
	return r ? 0 : r.error().value();
}

// Atom i's result, -errno for an error, as the kernel stores it.
long ret(const syslet::chain_base &c, std::size_t i)
{
	auto r = c.ret(i);
	return r ? static_cast<long>(*r) : -r.error().value();
}

// What argument k of an atom is when it runs: the __u64 its arg_ptr
// points to, or 0 for none.
__u64 detail_addr(const void *p)
{
	return reinterpret_cast<std::uintptr_t>(p);
}

__u64 arg_value(const syslet_uatom &a, int k)
{
	return a.arg_ptr[k] ? *reinterpret_cast<const __u64 *>(
				      static_cast<std::uintptr_t>(a.arg_ptr[k]))
			    : 0;
}

struct fd_pair {
	int a = -1, b = -1;
	fd_pair(int domain, int type)
	{
		int sv[2];
		if (socketpair(domain, type | SOCK_CLOEXEC, 0, sv) == 0)
			a = sv[0], b = sv[1];
	}
	fd_pair()	// a pipe: a reads, b writes
	{
		int p[2];
		if (pipe2(p, O_CLOEXEC) == 0)
			a = p[0], b = p[1];
	}
	~fd_pair()
	{
		close(a);
		close(b);
	}
};

// A directory of its own for each test, opened for the *at calls.
struct temp_dir {
	std::string path;
	int fd = -1;
	temp_dir()
	{
		char tmpl[] = "/tmp/syslet_api_XXXXXX";
		if (mkdtemp(tmpl)) {
			path = tmpl;
			fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		}
	}
	~temp_dir()
	{
		close(fd);
		std::error_code ec;
		std::filesystem::remove_all(path, ec);
	}
	// A file in it holding data.
	int file(const char *name, const char *data = "") const
	{
		int f = openat(fd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (f >= 0 && write(f, data, std::strlen(data)) < 0) {
			close(f);
			return -1;
		}
		return f;
	}
};

// A socket bound to an abstract name, which needs no cleaning up.
struct abstract_socket {
	sockaddr_un addr{};
	socklen_t len = 0;
	int fd = -1;
	abstract_socket(const char *name, int type)
	{
		addr.sun_family = AF_UNIX;
		const int n = std::snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1,
					    "syslet-api-%d-%s", getpid(), name);
		len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
		fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (fd >= 0 && bind(fd, sa(), len)) {
			close(fd);
			fd = -1;
		}
	}
	~abstract_socket() { close(fd); }
	const sockaddr *sa() const { return reinterpret_cast<const sockaddr *>(&addr); }
};

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

/* ---------------------------------------------------------------------- */
/* Builders: types and counts at compile time                              */

// Whether sys::name(A...) compiles: in a template's immediate context, so
// that a wrong call makes the concept false rather than the test an error.
#define BUILDER(name)                                              \
	template <class... A>                                      \
	concept name##_takes = requires(A &&...a) { sys::name(std::forward<A>(a)...); }
BUILDER(socket);
BUILDER(connect);
BUILDER(accept4);
BUILDER(send);
BUILDER(recv);
BUILDER(sendto);
BUILDER(recvfrom);
BUILDER(sendmsg);
BUILDER(recvmsg);
BUILDER(fstat);
BUILDER(statx);
BUILDER(openat2);
BUILDER(fallocate);
BUILDER(ftruncate);
BUILDER(unlinkat);
BUILDER(renameat2);
BUILDER(mkdirat);
BUILDER(getdents64);
BUILDER(splice);
BUILDER(copy_file_range);
BUILDER(fdatasync);
BUILDER(sync_file_range);
BUILDER(futex_wait);
BUILDER(futex_wake);
BUILDER(clock_nanosleep);
BUILDER(lseek);
BUILDER(read);
#undef BUILDER

using ref = syslet::result_ref;
using cstr = const char *;
using ts = __kernel_timespec;

static_assert(socket_takes<int, int, int> && socket_takes<int, int>);
static_assert(!socket_takes<int> && !socket_takes<int, int, int, int>);
static_assert(!socket_takes<cstr, int>);

static_assert(connect_takes<int, const sockaddr *, socklen_t>);
static_assert(connect_takes<ref, sockaddr *, std::size_t>);
static_assert(!connect_takes<int, cstr, int>);	// a string is no address
static_assert(!connect_takes<int, const sockaddr_un *, socklen_t>);
static_assert(!connect_takes<int, const sockaddr *>);
static_assert(!connect_takes<cstr, const sockaddr *, socklen_t>);

static_assert(accept4_takes<int, sockaddr *, socklen_t *, int>);
static_assert(accept4_takes<int, std::nullptr_t, std::nullptr_t>);
static_assert(!accept4_takes<int, const sockaddr *, socklen_t *>);	// written to
static_assert(!accept4_takes<int, sockaddr *, socklen_t>);
static_assert(!accept4_takes<int, sockaddr *, int *>);

static_assert(send_takes<int, cstr, std::size_t> && send_takes<ref, cstr, ref, int>);
static_assert(recv_takes<int, char *, std::size_t, int>);
static_assert(!recv_takes<int, cstr, std::size_t>);	// recv writes
static_assert(!send_takes<int, int, std::size_t>);
static_assert(!send_takes<int, cstr, double>);

static_assert(sendto_takes<int, cstr, std::size_t, int, const sockaddr *, socklen_t>);
static_assert(!sendto_takes<int, cstr, std::size_t, int, const sockaddr *>);
static_assert(recvfrom_takes<int, void *, std::size_t, int, sockaddr *, socklen_t *>);
static_assert(!recvfrom_takes<int, void *, std::size_t, int, sockaddr *, socklen_t>);

static_assert(sendmsg_takes<int, const msghdr *> && sendmsg_takes<int, msghdr *, int>);
static_assert(recvmsg_takes<int, msghdr *, int>);
static_assert(!recvmsg_takes<int, const msghdr *>);
static_assert(!sendmsg_takes<int, iovec *>);

static_assert(fstat_takes<int, struct stat *> && fstat_takes<ref, struct stat *>);
static_assert(!fstat_takes<int, struct statx *> && !fstat_takes<int, const struct stat *>);
static_assert(statx_takes<int, cstr, int, unsigned, struct statx *>);
static_assert(!statx_takes<int, cstr, int, unsigned, struct stat *>);
static_assert(!statx_takes<int, cstr, int, struct statx *>);

static_assert(openat2_takes<int, cstr, const open_how *>);
static_assert(openat2_takes<int, cstr, open_how *, std::size_t>);
static_assert(!openat2_takes<int, cstr, int>);	// openat()'s flags are no open_how
static_assert(!openat2_takes<int, cstr, const open_how *, std::size_t, int>);

static_assert(fallocate_takes<int, int, off_t, off_t> && !fallocate_takes<int, off_t, off_t>);
static_assert(ftruncate_takes<ref, off_t> && !ftruncate_takes<int, cstr>);
static_assert(unlinkat_takes<int, cstr> && unlinkat_takes<int, cstr, int>);
static_assert(!unlinkat_takes<cstr> && !unlinkat_takes<int, int>);
static_assert(renameat2_takes<int, cstr, int, cstr, unsigned>);
static_assert(renameat2_takes<int, cstr, int, cstr>);
static_assert(!renameat2_takes<int, cstr, cstr>);	// renameat2 wants both dirfds
static_assert(mkdirat_takes<int, cstr, mode_t> && !mkdirat_takes<int, cstr>);
static_assert(getdents64_takes<int, char *, unsigned> && !getdents64_takes<int, cstr, unsigned>);

static_assert(splice_takes<int, loff_t *, int, loff_t *, std::size_t, unsigned>);
static_assert(splice_takes<int, std::nullptr_t, ref, std::nullptr_t, ref>);
static_assert(!splice_takes<int, loff_t, int, loff_t, std::size_t>);	// offsets by pointer
static_assert(!splice_takes<int, const loff_t *, int, loff_t *, std::size_t>);
static_assert(copy_file_range_takes<int, loff_t *, int, loff_t *, std::size_t>);
static_assert(!copy_file_range_takes<int, int *, int, loff_t *, std::size_t>);

static_assert(fdatasync_takes<int> && fdatasync_takes<ref> && !fdatasync_takes<>);
static_assert(sync_file_range_takes<int, off_t, off_t, unsigned>);
static_assert(!sync_file_range_takes<int, off_t, off_t>);

static_assert(futex_wait_takes<const std::uint32_t *, std::uint32_t>);
static_assert(futex_wait_takes<std::uint32_t *, int, const ts *>);
static_assert(!futex_wait_takes<std::uint64_t *, std::uint32_t>);	// a futex is 32 bits
static_assert(!futex_wait_takes<std::uint32_t *, std::uint32_t, const timespec *>);
static_assert(futex_wake_takes<std::uint32_t *, int> && !futex_wake_takes<std::uint32_t *>);
static_assert(!futex_wake_takes<std::uint32_t, int>);

static_assert(clock_nanosleep_takes<clockid_t, int, const ts *>);
static_assert(clock_nanosleep_takes<clockid_t, int, const ts *, ts *>);
static_assert(!clock_nanosleep_takes<clockid_t, int, ts>);
static_assert(!clock_nanosleep_takes<clockid_t, int, const ts *, const ts *>);

// No builder makes an atom the kernel refuses.
static_assert([] {
	for (long nr : {__NR_socket, __NR_connect, __NR_accept4, __NR_sendto,
			__NR_recvfrom, __NR_sendmsg, __NR_recvmsg, __NR_fstat,
			__NR_statx, __NR_openat2, __NR_fallocate, __NR_ftruncate,
			__NR_unlinkat, __NR_renameat2, __NR_mkdirat, __NR_getdents64,
			__NR_splice, __NR_copy_file_range, __NR_fdatasync,
			__NR_sync_file_range, __NR_futex, __NR_clock_nanosleep})
		if (syslet::detail::refused_nr(nr))
			return false;
	return true;
}());

// A floating-point value converts to no argument, typed or not.
static_assert(!lseek_takes<int, double, int> && !lseek_takes<float, off_t, int>);

/* ---------------------------------------------------------------------- */
/* Builders: run for real on the fallback                                   */

TEST(SysletSockets, SendAndRecvThroughASocketPair)
{
	fd_pair sp(AF_UNIX, SOCK_STREAM);
	ASSERT_LE(0, sp.a);
	char buf[16] = {};

	chain c{sys::send(sp.a, "hello", 5, MSG_NOSIGNAL) | opt::stop_on_negative,
		sys::recv(sp.b, buf, prev_result)};
	ASSERT_EQ(0, c.build_error());
	EXPECT_EQ(__NR_sendto, static_cast<long>(c.atoms()[0].nr));
	EXPECT_EQ(0u, arg_value(c.atoms()[0], 4));	// no address
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_EQ(5, ret(c, 0));
	EXPECT_EQ(5, ret(c, 1));
	EXPECT_STREQ("hello", buf);
}

TEST(SysletSockets, SendtoAndRecvfromCarryTheAddress)
{
	abstract_socket tx("tx", SOCK_DGRAM), rx("rx", SOCK_DGRAM);
	ASSERT_LE(0, tx.fd);
	ASSERT_LE(0, rx.fd);
	char buf[16] = {};
	sockaddr_un from{};
	socklen_t len = sizeof(from);

	chain c{sys::sendto(tx.fd, "dgram", 5, 0, rx.sa(), rx.len),
		sys::recvfrom(rx.fd, buf, sizeof(buf), MSG_DONTWAIT,
			      reinterpret_cast<sockaddr *>(&from), &len)};
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_EQ(5, ret(c, 0));
	EXPECT_EQ(5, ret(c, 1));
	EXPECT_STREQ("dgram", buf);
	ASSERT_EQ(tx.len, len);
	EXPECT_EQ(0, std::memcmp(&tx.addr, &from, len));
}

TEST(SysletSockets, SendmsgAndRecvmsgGatherAndScatter)
{
	fd_pair sp(AF_UNIX, SOCK_STREAM);
	ASSERT_LE(0, sp.a);
	char hel[] = "hel", lo[] = "lo";
	iovec out[2] = {{hel, 3}, {lo, 2}};
	msghdr sm{};
	sm.msg_iov = out;
	sm.msg_iovlen = 2;
	char a[2] = {}, b[4] = {};
	iovec in[2] = {{a, sizeof(a)}, {b, sizeof(b) - 1}};
	msghdr rm{};
	rm.msg_iov = in;
	rm.msg_iovlen = 2;

	chain c{sys::sendmsg(sp.a, &sm, MSG_NOSIGNAL), sys::recvmsg(sp.b, &rm)};
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_EQ(5, ret(c, 0));
	EXPECT_EQ(5, ret(c, 1));
	EXPECT_EQ("he", std::string(a, 2));
	EXPECT_STREQ("llo", b);
}

// One chain makes a socket, connects it to a listener, accepts the
// connection and talks over it, every step fed by an earlier result.
TEST(SysletSockets, SocketConnectAccept4InOneChain)
{
	abstract_socket lsn("listen", SOCK_STREAM);
	ASSERT_LE(0, lsn.fd);
	ASSERT_EQ(0, listen(lsn.fd, 1));
	sockaddr_un peer{};
	socklen_t plen = sizeof(peer);
	char buf[8] = {};

	chain c{sys::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC) | opt::stop_on_negative,
		sys::connect(prev_result, lsn.sa(), lsn.len) | opt::stop_on_negative,
		sys::accept4(lsn.fd, reinterpret_cast<sockaddr *>(&peer), &plen,
			     SOCK_CLOEXEC) | opt::stop_on_negative,
		sys::send(result_of(0), "ping", 4, MSG_NOSIGNAL),
		sys::recv(result_of(2), buf, sizeof(buf)),
		sys::close(result_of(2)),
		sys::close(result_of(0))};
	ASSERT_EQ(0, c.build_error());
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_LE(0, ret(c, 0));
	EXPECT_EQ(0, ret(c, 1));
	EXPECT_LE(0, ret(c, 2));
	EXPECT_EQ(4, ret(c, 4));
	EXPECT_STREQ("ping", buf);
	EXPECT_EQ(AF_UNIX, peer.sun_family);
	EXPECT_EQ(0, ret(c, 5));
	EXPECT_EQ(0, ret(c, 6));
}

TEST(SysletFiles, DirectoryCallsInATempDir)
{
	temp_dir d;
	ASSERT_LE(0, d.fd);
	int keep = d.file("keep");
	ASSERT_LE(0, keep);
	close(keep);
	struct statx stx {};
	open_how how{};
	how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH;
	alignas(8) char dents[1024];

	chain c{sys::mkdirat(d.fd, "sub", 0750),
		sys::openat(d.fd, "sub/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0600),
		sys::close(prev_result),
		sys::renameat2(d.fd, "sub/f", d.fd, "keep", RENAME_NOREPLACE),	// 3: EEXIST
		sys::renameat2(d.fd, "sub/f", d.fd, "sub/g"),
		sys::statx(d.fd, "sub", AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE, &stx),
		sys::openat2(d.fd, "sub", &how) | opt::stop_on_negative,
		sys::getdents64(prev_result, dents, sizeof(dents)),
		sys::close(result_of(6)),
		sys::openat2(d.fd, "../etc", &how),	// 9: EXDEV, beneath only
		sys::unlinkat(d.fd, "sub/g"),
		sys::unlinkat(d.fd, "sub", AT_REMOVEDIR)};
	ASSERT_EQ(0, c.build_error());
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_EQ(11u, c.last());
	EXPECT_EQ(0, ret(c, 0));
	EXPECT_LE(0, ret(c, 1));
	EXPECT_EQ(EEXIST, err(c, 3));
	EXPECT_EQ(0, ret(c, 4));
	EXPECT_EQ(0, ret(c, 5));
	EXPECT_TRUE(S_ISDIR(stx.stx_mode));
	EXPECT_EQ(0750u, stx.stx_mode & 07777u);
	EXPECT_LE(0, ret(c, 6));
	// ".", ".." and "g", whichever order the file system keeps.
	const long got = ret(c, 7);
	ASSERT_LT(0, got);
	int names = 0;
	bool saw_g = false;
	for (long off = 0; off < got;) {
		dirent64 de;
		std::memcpy(&de, dents + off, offsetof(dirent64, d_name));
		saw_g |= !std::strcmp(dents + off + offsetof(dirent64, d_name), "g");
		names++;
		off += de.d_reclen;
	}
	EXPECT_EQ(3, names);
	EXPECT_TRUE(saw_g);
	EXPECT_EQ(0, ret(c, 8));
	EXPECT_EQ(EXDEV, err(c, 9));
	EXPECT_EQ(0, ret(c, 10));
	EXPECT_EQ(0, ret(c, 11));
	EXPECT_NE(0, faccessat(d.fd, "sub", F_OK, 0));
}

TEST(SysletFiles, SizeAndSyncCallsOnAFile)
{
	temp_dir d;
	int f = d.file("f", "0123456789");
	ASSERT_LE(0, f);
	struct stat st {};

	chain c{sys::ftruncate(f, 4),
		sys::fallocate(f, 0, 0, 8192),
		sys::fallocate(f, FALLOC_FL_KEEP_SIZE, 8192, 4096),
		sys::fdatasync(f),
		sys::sync_file_range(f, 0, 0, SYNC_FILE_RANGE_WRITE),
		sys::sync_file_range(f, 0, 0, ~0u),	// 5: EINVAL, flags arrive
		sys::fstat(f, &st)};
	ASSERT_TRUE(syslet::run(c).has_value());
	for (std::size_t i : {0, 1, 2, 3, 4, 6})
		EXPECT_EQ(0, ret(c, i)) << i;
	EXPECT_EQ(EINVAL, err(c, 5));
	EXPECT_EQ(8192, st.st_size);
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_LE(8192 + 4096, st.st_blocks * 512);
	close(f);
}

TEST(SysletFiles, SpliceThroughAPipe)
{
	temp_dir d;
	int in = d.file("in", "abcdefgh"), out = d.file("out");
	ASSERT_LE(0, in);
	ASSERT_LE(0, out);
	fd_pair p;
	ASSERT_LE(0, p.a);
	loff_t from = 2, to = 1;

	chain c{sys::splice(in, &from, p.b, nullptr, 4) | opt::stop_on_non_positive,
		sys::splice(p.a, nullptr, out, &to, prev_result, 0)};
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_EQ(4, ret(c, 0));
	EXPECT_EQ(4, ret(c, 1));
	EXPECT_EQ(6, from);	// the kernel moves the offsets it was given
	EXPECT_EQ(5, to);
	char got[8] = {};
	ASSERT_EQ(5, pread(out, got, sizeof(got), 0));
	EXPECT_EQ(std::string("\0cdef", 5), std::string(got, 5));
	close(in);
	close(out);
}

TEST(SysletFiles, CopyFileRangeBetweenTempFiles)
{
	temp_dir d;
	int in = d.file("in", "0123456789"), out = d.file("out", "----------");
	ASSERT_LE(0, in);
	ASSERT_LE(0, out);
	loff_t from = 3, to = 5;

	chain c{sys::copy_file_range(in, &from, out, &to, 4),
		sys::copy_file_range(in, nullptr, out, nullptr, 1, 1u)};	// EINVAL: no flags yet
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_EQ(4, ret(c, 0));
	EXPECT_EQ(7, from);
	EXPECT_EQ(9, to);
	EXPECT_EQ(EINVAL, err(c, 1));
	char got[11] = {};
	ASSERT_EQ(10, pread(out, got, 10, 0));
	EXPECT_STREQ("-----3456-", got);
	close(in);
	close(out);
}

TEST(SysletSync, FutexWakeWithNoWaiterAndWaitThatDoesNotSleep)
{
	alignas(8) std::uint32_t word = 7;
	const __kernel_timespec brief{0, 1000000};

	chain c{sys::futex_wake(&word, 1),
		sys::futex_wake_shared(&word, INT_MAX),
		sys::futex_wait(&word, 8),		// not 8: EAGAIN at once
		sys::futex_wait(&word, 7, &brief),	// 7: sleeps 1 ms
		sys::futex_wait_shared(&word, 8)};
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_EQ(0, ret(c, 0));
	EXPECT_EQ(0, ret(c, 1));
	EXPECT_EQ(EAGAIN, err(c, 2));
	EXPECT_EQ(ETIMEDOUT, err(c, 3));
	EXPECT_EQ(EAGAIN, err(c, 4));
	EXPECT_EQ(FUTEX_WAKE_PRIVATE, arg_value(c.atoms()[0], 1));
	EXPECT_EQ(FUTEX_WAKE, arg_value(c.atoms()[1], 1));
	EXPECT_EQ(FUTEX_WAIT_PRIVATE, arg_value(c.atoms()[2], 1));
	EXPECT_EQ(FUTEX_WAIT, arg_value(c.atoms()[4], 1));
}

// A chain on a pool thread sleeps in futex_wait() until this thread
// wakes it: the wait is a real one, on the same word.
TEST(SysletSync, FutexWaitInAChainIsWokenByFutexWake)
{
	syslet::thread_pool pool(1);
	syslet::completion_ring ring(4, pool);
	alignas(8) std::uint32_t word = 0;
	const __kernel_timespec limit{10, 0};
	chain waiter{sys::futex_wait(&word, 0, &limit)};

	auto st = syslet::submit(ring, waiter);
	ASSERT_TRUE(st.has_value());
	ASSERT_EQ(syslet::status::pending, *st);
	long woke = 0;
	for (auto end = std::chrono::steady_clock::now() + 5s;
	     !woke && std::chrono::steady_clock::now() < end;
	     std::this_thread::sleep_for(1ms))
		woke = syscall(__NR_futex, &word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
	EXPECT_EQ(1, woke);
	ASSERT_TRUE(ring.wait(1, 10s).has_value());
	ASSERT_TRUE(ring.pop().has_value());
	EXPECT_EQ(0, ret(waiter, 0));
}

TEST(SysletSync, ClockNanosleepSleepsRelativeAndAbsolute)
{
	const __kernel_timespec ms{0, 2000000}, past{0, 1};
	__kernel_timespec left{-1, -1};

	const auto t0 = std::chrono::steady_clock::now();
	chain c{sys::clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, &left),
		sys::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past),
		sys::clock_nanosleep(-1, 0, &ms)};	// no such clock
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_LE(2ms, std::chrono::steady_clock::now() - t0);
	EXPECT_EQ(0, ret(c, 0));
	EXPECT_EQ(-1, left.tv_sec);	// written only when interrupted
	EXPECT_EQ(0, ret(c, 1));
	EXPECT_EQ(EINVAL, err(c, 2));
}

// Building and running chains of the new builders allocates nothing.
TEST(SysletBuild, NewBuildersAllocateNothing)
{
	fd_pair sp(AF_UNIX, SOCK_STREAM);
	ASSERT_LE(0, sp.a);
	alignas(8) std::uint32_t word = 0;
	char buf[8];
	struct stat st;

	const long before = t_allocs;
	chain c{sys::send(sp.a, "x", 1), sys::recv(sp.b, buf, sizeof(buf)),
		sys::fstat(sp.a, &st), sys::futex_wake(&word, 1)};
	auto r = syslet::run(c);
	EXPECT_EQ(before, t_allocs);
	ASSERT_TRUE(r.has_value());
	EXPECT_EQ(1, ret(c, 1));
}

/* ---------------------------------------------------------------------- */
/* Chains that are reused                                                   */

using syslet::bindable;
using syslet::value_ref;

static_assert(bindable<std::int64_t> && bindable<std::uint64_t> && bindable<off_t> &&
	      bindable<std::size_t> && bindable<char *> && bindable<const void *>);
static_assert(!bindable<int> && !bindable<unsigned> && !bindable<bool> &&
	      !bindable<double> && !bindable<std::uint32_t>);
// Of an lvalue only: a temporary would be gone when the atom runs.
template <class T>
concept refable = requires(T &&x) { syslet::ref(std::forward<T>(x)); };
static_assert(refable<std::int64_t &> && refable<const std::int64_t &>);
static_assert(!refable<std::int64_t> && !refable<const std::int64_t>);
static_assert(std::is_same_v<decltype(syslet::ref(std::declval<const off_t &>())),
			     value_ref<off_t>>);
// Typed as the value would be: an int64_t is a file descriptor, not a path.
static_assert(std::is_constructible_v<syslet::arg<int>, value_ref<std::int64_t>>);
static_assert(std::is_constructible_v<syslet::arg<void *>, value_ref<char *>>);
static_assert(!std::is_constructible_v<syslet::arg<const char *>, value_ref<std::int64_t>>);
static_assert(!std::is_constructible_v<syslet::arg<char *>, value_ref<const char *>>);
static_assert(read_takes<value_ref<std::int64_t>, char *, value_ref<std::size_t>>);
static_assert(!read_takes<value_ref<char *>, char *, std::size_t>);

// Built once, run again and again: the bound fd, length and offset are
// read when the atom runs, so each run reads what they hold then.
TEST(SysletReuse, BoundArgumentsAreReadWhenTheAtomRuns)
{
	temp_dir d;
	int a = d.file("a", "0123456789"), b = d.file("b", "abcdefghij");
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	alignas(8) char buf[16];
	std::int64_t fd64 = a;
	std::size_t len = 3;
	off_t off = 0;

	chain c{sys::pread(syslet::ref(fd64), buf, syslet::ref(len), syslet::ref(off))};
	ASSERT_EQ(0, c.build_error());
	EXPECT_EQ(detail_addr(&fd64), c.atoms()[0].arg_ptr[0]);
	EXPECT_EQ(detail_addr(&len), c.atoms()[0].arg_ptr[2]);
	EXPECT_EQ(detail_addr(&off), c.atoms()[0].arg_ptr[3]);

	struct {
		std::int64_t fd;
		std::size_t len;
		off_t off;
		const char *want;
	} const runs[] = {
		{a, 3, 0, "012"}, {a, 4, 6, "6789"}, {b, 2, 1, "bc"}, {b, 5, 8, "ij"},
	};
	for (const auto &r : runs) {
		fd64 = r.fd;
		len = r.len;
		off = r.off;
		std::memset(buf, 0, sizeof(buf));
		ASSERT_TRUE(syslet::run(c).has_value());
		EXPECT_EQ(static_cast<long>(std::strlen(r.want)), ret(c, 0));
		EXPECT_STREQ(r.want, buf);
	}

	// The same through a ring, on a pool thread.
	syslet::thread_pool pool(1);
	syslet::completion_ring ring(4, pool);
	for (off = 0; off < 10; off += 5) {
		std::memset(buf, 0, sizeof(buf));
		auto st = syslet::submit(ring, c);
		ASSERT_TRUE(st.has_value());
		if (*st == syslet::status::pending) {
			ASSERT_TRUE(ring.wait(1, 10s).has_value());
			ASSERT_TRUE(ring.pop().has_value());
		}
		EXPECT_EQ(std::string("abcdefghij").substr(off, 5), buf);
	}
	close(a);
	close(b);
}

// A bound object can feed a later atom too, alongside result references.
TEST(SysletReuse, BoundObjectsMixWithResultsAndValues)
{
	fd_pair p;
	ASSERT_LE(0, p.a);
	std::int64_t out = p.b;
	const char *msg = "one";
	std::size_t n = 3;
	char buf[8] = {};

	chain c{sys::write(syslet::ref(out), syslet::ref(msg), syslet::ref(n)),
		sys::read(p.a, buf, prev_result)};
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_STREQ("one", buf);
	msg = "three";
	n = 5;
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_STREQ("three", buf);
	// sys::call() takes them as well.
	chain d{sys::call(__NR_write, syslet::ref(out), syslet::ref(msg), syslet::ref(n)),
		sys::read(p.a, buf, prev_result)};
	msg = "two";
	n = 3;
	std::memset(buf, 0, sizeof(buf));
	ASSERT_TRUE(syslet::run(d).has_value());
	EXPECT_STREQ("two", buf);
}

TEST(SysletReuse, ClearDropsEveryAtomForARebuild)
{
	fd_pair p;
	ASSERT_LE(0, p.a);
	char buf[8] = {};
	chain<4> c;
	c.user_data = 42;
	ASSERT_TRUE(c.add(sys::write(p.b, "ab", 2)).has_value());
	ASSERT_TRUE(c.add(sys::call(__NR_getpid) | opt::no_complete).has_value());
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_EQ(1u, c.last());

	ASSERT_TRUE(c.clear().has_value());
	EXPECT_EQ(0u, c.size());
	EXPECT_EQ(4u, c.capacity());
	EXPECT_FALSE(c.last());
	EXPECT_EQ(ERANGE, err(c, 0));
	EXPECT_EQ(42u, c.user_data);
	EXPECT_EQ(EINVAL, syslet::run(c).error().value());	// empty

	for (int i = 0; i < 4; i++)
		ASSERT_EQ(static_cast<std::size_t>(i),
			  c.add(sys::read(p.a, buf + i, 1)).value());
	EXPECT_EQ(E2BIG, c.add(sys::call(__NR_getpid)).error().value());
	ASSERT_EQ(2, write(p.b, "cd", 2));
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_STREQ("abcd", buf);
	EXPECT_EQ(3u, c.last());
}

TEST(SysletReuse, ClearForgetsABuildError)
{
	chain c{sys::call(__NR_getpid), sys::call(__NR_exit, 0)};
	EXPECT_EQ(EINVAL, c.build_error());
	EXPECT_EQ(1u, c.size());

	ASSERT_TRUE(c.clear().has_value());
	EXPECT_EQ(0, c.build_error());
	ASSERT_TRUE(c.add(sys::call(__NR_getpid)).has_value());
	ASSERT_TRUE(syslet::run(c).has_value());
	EXPECT_EQ(getpid(), ret(c, 0));
}

TEST(SysletReuse, ClearIsRefusedWhilePending)
{
	syslet::thread_pool pool(1);
	syslet::completion_ring ring(4, pool);
	fd_pair p;
	ASSERT_LE(0, p.a);
	char buf[4] = {};
	chain c{sys::read(p.a, buf, 1)};

	auto st = syslet::submit(ring, c);
	ASSERT_TRUE(st.has_value());
	ASSERT_EQ(syslet::status::pending, *st);
	EXPECT_EQ(std::errc::device_or_resource_busy, c.clear().error());
	EXPECT_EQ(1u, c.size());
	ASSERT_EQ(1, write(p.b, "z", 1));
	ASSERT_TRUE(ring.wait(1, 10s).has_value());
	ASSERT_TRUE(ring.pop().has_value());
	EXPECT_EQ(1, ret(c, 0));
	EXPECT_TRUE(c.clear().has_value());
	EXPECT_EQ(0u, c.size());
}

// A chain done while its completion waits to be popped: clear() drops
// the completion, as submitting the chain again does.
TEST(SysletReuse, ClearDropsAnUnpoppedCompletion)
{
	// Every chain pending (no inline wait), so that kept posts.
	syslet::thread_pool pool(1, std::chrono::microseconds(0));
	syslet::completion_ring ring(4, pool);
	fd_pair p;
	ASSERT_LE(0, p.a);
	ASSERT_EQ(2, write(p.b, "12", 2));
	char x = 0, y = 0;
	chain kept{sys::read(p.a, &x, 1)};

	ASSERT_TRUE(syslet::submit(ring, kept).has_value());
	{
		// One pool thread: kept completes first. Joining this chain
		// keeps kept's completion for pop().
		chain gone{sys::read(p.a, &y, 1)};
		ASSERT_TRUE(syslet::submit(ring, gone).has_value());
		ASSERT_TRUE(ring.join(gone).has_value());
	}
	ASSERT_TRUE(kept.done());
	EXPECT_EQ(1u, ring.ready());
	EXPECT_TRUE(kept.clear().has_value());
	EXPECT_EQ(0u, ring.ready());
	EXPECT_FALSE(ring.pop().has_value());
	EXPECT_EQ("12", (std::string{x, y}));
}

} // namespace
