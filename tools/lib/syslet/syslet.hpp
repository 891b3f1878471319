// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * syslet.hpp - chains of system calls (syslets) from C++20.
 *
 * liburing's shape seen through modern C++: small free functions and value
 * types, errors as values (syslet::result), no hidden threads and no
 * allocation on the cached path. The ABI and its rules are documented in
 * include/uapi/linux/syslet.h and Documentation/userspace-api/syslet.rst.
 *
 *	syslet::completion_ring ring(64, pool_or_nullptr);
 *	syslet::chain copy{sys::read(fd, buf, n) | opt::stop_on_non_positive,
 *			   sys::write(out, buf, syslet::prev_result)};
 *	auto st = syslet::submit(ring, copy);	// completed, or pending
 *	... ring.wait(); for (auto c : ring.completions()) c.chain ...
 *
 * Without kernel support (kernel_support() is false) the same calls run
 * chains on a syslet::thread_pool that the application made and handed to
 * the ring, posting completions to the same ring memory with the kernel's
 * ordering rules; without a pool, submit() runs the chain in the caller.
 *
 * Threading: a ring and the chains submitted to it are used from one thread
 * at a time (the consumer), as with liburing; a thread_pool may serve
 * several rings. Lifetimes nest: pool, then ring, then chains.
 *
 * Threadlets: syslet::threadlet_pool pool; then
 *	syslet::threadlet_exec(pool, event, [&] { ...any code... });
 * returns 1 when the lambda ran to its end in the caller, 0 when it blocked
 * and goes on in a pool thread, whose event then arrives in pool.pop().
 */
#ifndef SYSLET_HPP
#define SYSLET_HPP

#include <fcntl.h>
#include <linux/futex.h>
#include <linux/openat2.h>
/*
 * The ABI: a kernel's headers with syslets, or in this tree include/uapi
 * (every build here gives -I include/uapi); else the copy of it that
 * make install puts beside this header, so consumers need neither.
 */
#if __has_include(<linux/syslet.h>)
#include <linux/syslet.h>
#elif __has_include("linux_syslet.h")
#include "linux_syslet.h"
#else
#error "no <linux/syslet.h>: use the installed library (make install) or -I include/uapi"
#endif
#include <linux/time_types.h>
#include <pthread.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <concepts>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>
#include <version>
#if defined(__cpp_lib_expected) && __cpp_lib_expected >= 202202L
#include <expected>
#endif

namespace syslet {

inline constexpr std::size_t max_atoms = SYSLET_MAX_ATOMS;

// What a result slot holds before its atom has run: no system call
// returns it, so "did not run" cannot be mistaken for a result.
inline constexpr std::int64_t not_run = INT64_MIN;

/* ---------------------------------------------------------------------- */
/* Errors as values                                                        */

// result<T> is std::expected<T, std::error_code> where the standard
// library has it (C++23), else a class with the same surface: has_value(),
// explicit bool, value(), error(), operator*, operator->, value_or().
// Code that keeps to that surface builds in both modes; error() is a
// std::error_code of the generic category (compare it with std::errc, or
// take error().value() for the errno) and, as for std::expected, means
// something only when there is no value. value() on an error throws
// (std::bad_expected_access<std::error_code>, or std::system_error: catch
// std::exception for both); built without exceptions it aborts instead.
#if defined(__cpp_lib_expected) && __cpp_lib_expected >= 202202L
inline constexpr bool uses_std_expected = true;

template <class T>
using result = std::expected<T, std::error_code>;

// An errno value (positive, never 0): how the library returns an error,
// return failure{EINVAL}; the one conversion works for every result<T>.
struct failure {
	int code;

	operator std::unexpected<std::error_code>() const noexcept
	{
		return std::unexpected(std::error_code(code, std::generic_category()));
	}
	template <class T>
	operator std::expected<T, std::error_code>() const noexcept
	{
		return static_cast<std::unexpected<std::error_code>>(*this);
	}
};
#else
inline constexpr bool uses_std_expected = false;

// An errno value (positive, never 0): how the library returns an error,
// return failure{EINVAL}.
struct failure {
	int code;
};

namespace detail {
[[noreturn]] inline void bad_result_access(std::error_code e)
{
#if __cpp_exceptions
	throw std::system_error(e);
#else
	std::fprintf(stderr, "syslet: value() of a result that holds an error: %s\n",
		     std::strerror(e.value()));
	std::abort();
#endif
}
} // namespace detail

// Holds a T, so T must be default constructible here (std::expected
// does not ask that); every T of the library is.
template <class T>
class [[nodiscard]] result {
	static_assert(std::is_default_constructible_v<T>);

public:
	using value_type = T;
	using error_type = std::error_code;

	result() = default;
	result(T v) noexcept(std::is_nothrow_move_constructible_v<T>)
		: v_(std::move(v)) {}
	result(failure f) noexcept
		: err_(f.code, std::generic_category()), has_(false) {}

	bool has_value() const noexcept { return has_; }
	explicit operator bool() const noexcept { return has_; }
	std::error_code error() const noexcept { return err_; }

	const T &value() const &
	{
		if (!has_)
			detail::bad_result_access(err_);
		return v_;
	}
	T &value() &
	{
		if (!has_)
			detail::bad_result_access(err_);
		return v_;
	}
	// Unchecked, as for std::expected.
	const T &operator*() const & noexcept { return v_; }
	T &operator*() & noexcept { return v_; }
	const T *operator->() const noexcept { return &v_; }
	T *operator->() noexcept { return &v_; }
	template <class U>
	T value_or(U &&other) const &
	{
		return has_ ? v_ : static_cast<T>(std::forward<U>(other));
	}

private:
	T v_{};
	std::error_code err_;
	bool has_ = true;
};

// Success or an errno: return {} or failure{e}.
template <>
class [[nodiscard]] result<void> {
public:
	using value_type = void;
	using error_type = std::error_code;

	result() = default;
	result(failure f) noexcept
		: err_(f.code, std::generic_category()), has_(false) {}

	bool has_value() const noexcept { return has_; }
	explicit operator bool() const noexcept { return has_; }
	std::error_code error() const noexcept { return err_; }
	void value() const
	{
		if (!has_)
			detail::bad_result_access(err_);
	}
	void operator*() const noexcept {}

private:
	std::error_code err_;
	bool has_ = true;
};
#endif

namespace detail {
// Misuse the library cannot report as a value (a constructor's bad
// argument, a failed thread): thrown, or, built with -fno-exceptions,
// printed before abort(), so that the header serves both kinds of code.
template <class E>
[[noreturn]] inline void raise(const E &e)
{
#if defined(__cpp_exceptions)
	throw e;
#else
	std::fprintf(stderr, "syslet: %s\n", e.what());
	std::abort();
#endif
}

// Whether fd is an open eventfd, as /proc names it; without /proc, any
// open descriptor passes.
inline bool is_eventfd(int fd) noexcept
{
	char path[64], target[64] = {};

	if (::fcntl(fd, F_GETFD) < 0)
		return false;
	std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (::readlink(path, target, sizeof(target) - 1) < 0)
		return true;
	return !std::strcmp(target, "anon_inode:[eventfd]");
}

// What the kernel does for a head with SYSLET_AHU_EVENTFD, once an entry
// can be taken; for the fallback.
inline void signal_eventfd(int fd) noexcept
{
	const std::uint64_t one = 1;
	if (fd >= 0)
		(void)!::write(fd, &one, sizeof(one));
}

// A ring's or pool's head that names fd, an eventfd (else what, as an
// std::invalid_argument), for the kernel to signal.
inline void name_eventfd(async_head_user &head, int fd, const char *what)
{
	if (!is_eventfd(fd))
		raise(std::invalid_argument(what));
	head.flags |= SYSLET_AHU_EVENTFD;
	head.eventfd = static_cast<__u64>(fd);
}

// Before a ring or pool goes: the calls that drain it read the head, and
// an eventfd the application closed already would make them fail.
inline void forget_eventfd(async_head_user &head) noexcept
{
	head.flags &= ~static_cast<__u64>(SYSLET_AHU_EVENTFD);
	head.eventfd = 0;
}

// Misuse that would let the kernel or a pool thread write into freed
// memory: always fatal, with the reason.
[[noreturn]] inline void misuse(const char *what) noexcept
{
	std::fprintf(stderr, "syslet: %s\n", what);
	std::abort();
}
} // namespace detail

/* ---------------------------------------------------------------------- */
/* Detection                                                               */

namespace detail {

// patches/0002: the x86-64 numbers, until <asm/unistd.h> has them.
#if defined(__NR_async_exec) && defined(__NR_async_wait) && defined(__NR_async_exec_batch)
inline constexpr long nr_async_exec = __NR_async_exec;
inline constexpr long nr_async_wait = __NR_async_wait;
inline constexpr long nr_async_exec_batch = __NR_async_exec_batch;
#elif defined(__x86_64__) && !defined(__ILP32__)
inline constexpr long nr_async_exec = 463;
inline constexpr long nr_async_wait = 464;
inline constexpr long nr_async_exec_batch = 468;
#else
inline constexpr long nr_async_exec = -1;	// no syslets: fallback only
inline constexpr long nr_async_wait = -1;
inline constexpr long nr_async_exec_batch = -1;
#endif

// -1 when the file is missing or holds no number.
inline int read_proc_int(const char *path) noexcept
{
	char buf[32];
	int fd = ::open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
	::close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *end;
	long v = std::strtol(buf, &end, 10);
	return end == buf || v < 0 || v > INT_MAX ? -1 : static_cast<int>(v);
}

inline std::uint64_t addr(const void *p) noexcept
{
	return reinterpret_cast<std::uintptr_t>(p);
}

} // namespace detail

struct kernel_info {
	int abi_version = 0;	// 0: no /proc/sys/kernel/syslet
	bool enabled = false;

	// A version only adds to the one before: a kernel of the version
	// this header describes, or a later one, has all it uses.
	constexpr bool usable() const noexcept
	{
		return detail::nr_async_exec > 0 &&
		       abi_version >= SYSLET_ABI_VERSION && enabled;
	}
	constexpr explicit operator bool() const noexcept { return usable(); }
};

// Never probed with -ENOSYS: later kernels reuse the numbers. Read once;
// an administrator who switches syslets off later makes submit() fail
// with EPERM rather than silently changing backends.
inline const kernel_info &kernel_support() noexcept
{
	static const kernel_info info = [] {
		kernel_info k;
		int v = detail::read_proc_int("/proc/sys/kernel/syslet/abi_version");
		k.abi_version = v < 0 ? 0 : v;
		int on = detail::read_proc_int("/proc/sys/kernel/syslet/enabled");
		// 2: only some users may; ask with a call that runs nothing
		// (EFAULT for a null head when allowed, EPERM when not).
		if (on == 2 && k.abi_version >= SYSLET_ABI_VERSION &&
		    detail::nr_async_exec > 0) {
			int saved = errno;
			on = ::syscall(detail::nr_async_exec, nullptr, nullptr) == -1 &&
			     errno == EPERM ? 0 : 1;
			errno = saved;
		}
		k.enabled = on == 1;
		return k;
	}();
	return info;
}

/* ---------------------------------------------------------------------- */
/* Atoms                                                                   */

namespace detail {

// kernel/syslet/chain.c refuses these as atoms; the library refuses them
// up front on every backend, so a pool thread never forks, execs or exits.
inline constexpr bool refused_nr(long nr) noexcept
{
#if defined(__x86_64__) && !defined(__ILP32__)
	constexpr long refused[] = {	// syscall_64.tbl of 6.12
		57, 58, 56, 435, 59, 322, 60, 231, 15, 219, 335,
		463, 464, 465, 466, 467, 468, 469,
		14, 130, 34, 131, 271, 270, 281, 441, 333,
		273, 218, 334, 158, 205,
		157, 317, 135, 272, 308, 172, 173, 238, 446, 460,
		105, 106, 113, 114, 117, 119, 122, 123, 116, 126,
		203, 144, 142, 314, 141, 251,
		425, 426, 427, 248, 249, 250, 330, 101,
	};
#else	// no syslets here; keep what would break a pool thread out
	constexpr long refused[] = {
		__NR_clone, __NR_execve, __NR_exit, __NR_exit_group,
	};
#endif
	for (long r : refused)
		if (r == nr)
			return true;
	return false;
}

constexpr bool stop_holds(std::uint64_t flags, std::int64_t r) noexcept
{
	return ((flags & SYSLET_STOP_ON_NONZERO) && r != 0) ||
	       ((flags & SYSLET_STOP_ON_ZERO) && r == 0) ||
	       ((flags & SYSLET_STOP_ON_NEGATIVE) && r < 0) ||
	       ((flags & SYSLET_STOP_ON_NON_POSITIVE) && r <= 0);
}

inline constexpr std::uint16_t link_default = 0xffff;	// the next atom added
inline constexpr std::uint16_t link_end = 0xfffe;

// The calls that take a struct __kernel_timespec: its 64-bit time has
// numbers of its own on 32-bit ABIs (the fallback's only).
#ifdef __NR_futex_time64
inline constexpr long nr_futex = __NR_futex_time64;
#else
inline constexpr long nr_futex = __NR_futex;
#endif
#ifdef __NR_clock_nanosleep_time64
inline constexpr long nr_clock_nanosleep = __NR_clock_nanosleep_time64;
#else
inline constexpr long nr_clock_nanosleep = __NR_clock_nanosleep;
#endif

} // namespace detail

// Feeds an earlier atom's result into an argument: the kernel reads each
// argument when its atom runs, after the earlier result was stored.
struct result_ref {
	std::uint32_t index;
	bool previous;
};
constexpr result_ref result_of(std::size_t index) noexcept
{
	return {static_cast<std::uint32_t>(index < UINT32_MAX ? index : UINT32_MAX),
		false};
}
inline constexpr result_ref prev_result{0, true};

template <class T>
concept syscall_value = std::is_integral_v<T> || std::is_pointer_v<T> ||
			std::is_enum_v<T> || std::is_null_pointer_v<T>;

// What syslet::ref() can bind: the kernel reads an argument as the __u64
// its arg_ptr points to, so only an object of exactly that size can be
// pointed at. On x86-64: std::int64_t, std::uint64_t, off_t, size_t,
// long, any pointer, an enum over one of those; never an int or a bool.
template <class T>
concept bindable = (std::is_integral_v<T> || std::is_pointer_v<T> ||
		    std::is_enum_v<T>) && sizeof(T) == sizeof(__u64);

// An object whose value an atom reads when it runs, made by syslet::ref().
template <class T>
struct value_ref {
	static_assert(bindable<T>,
		      "syslet::ref(x): the kernel reads every argument as a __u64, "
		      "so x must be an 8-byte integer, enum or pointer; keep an "
		      "int (a file descriptor, say) in a std::int64_t to bind it");
	const T *object;
};

// Bind an argument to x itself instead of copying its value: each run of
// the chain passes what x holds when the atom runs, so a chain built once
// can be submitted again after x changed. x must outlive the chain's
// runs, be 8-byte aligned (add() refuses it with EINVAL otherwise, as the
// kernel would) and not change while the chain is pending.
template <class T>
value_ref<std::remove_cv_t<T>> ref(T &x) noexcept
{
	return {&x};
}
template <class T>
void ref(const T &&) = delete;	// a temporary would be gone when the atom runs

// One system call argument: a value the chain will own, an earlier
// atom's result (result_ref) or an object of the caller's (value_ref).
class argument {
public:
	argument() = default;
	template <syscall_value T>
	argument(T v) noexcept : kind_(kind::value), v_(to_u64(v)) {}
	argument(result_ref r) noexcept : kind_(kind::result), ref_(r) {}
	template <class T>
	argument(value_ref<T> r) noexcept
		: kind_(kind::object), v_(reinterpret_cast<std::uintptr_t>(r.object)) {}

private:
	friend class chain_base;
	friend class op;

	template <class T>
	static std::uint64_t to_u64(T v) noexcept
	{
		if constexpr (std::is_null_pointer_v<T>)
			return 0;
		else if constexpr (std::is_pointer_v<T>)
			return reinterpret_cast<std::uintptr_t>(v);
		else if constexpr (std::is_enum_v<T>)
			return to_u64(static_cast<std::underlying_type_t<T>>(v));
		else if constexpr (std::is_signed_v<T>)	// AT_FDCWD is -100 in 64 bits
			return static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
		else
			return static_cast<std::uint64_t>(v);
	}

	enum class kind : std::uint8_t { none, value, result, object } kind_ = kind::none;
	std::uint64_t v_ = 0;	// the value, or the object's address
	result_ref ref_{};
};

// An argument of the C type T, an earlier atom's result, or a bound
// object whose type converts to T: sys::read() takes arg<int>,
// arg<void *>, arg<std::size_t>, so a string as a file descriptor does
// not compile.
template <class T>
struct arg : argument {
	arg(T v) noexcept : argument(v) {}
	arg(result_ref r) noexcept : argument(r) {}
	template <class U>
		requires std::is_convertible_v<U, T>
	arg(value_ref<U> r) noexcept : argument(r) {}
	// Not through a conversion to T: 1.5 would be a file descriptor.
	template <std::floating_point F>
	arg(F) = delete;
};

struct flag_opt {
	std::uint64_t bits;
};
constexpr flag_opt operator|(flag_opt a, flag_opt b) noexcept
{
	return {a.bits | b.bits};
}
struct next_opt {
	std::uint16_t target;
};

// Per-atom options, applied with |: read(...) | opt::stop_on_negative.
namespace opt {
inline constexpr flag_opt async{SYSLET_ASYNC};
inline constexpr flag_opt sync{SYSLET_SYNC};
inline constexpr flag_opt no_complete{SYSLET_NO_COMPLETE};
inline constexpr flag_opt stop_on_nonzero{SYSLET_STOP_ON_NONZERO};
inline constexpr flag_opt stop_on_zero{SYSLET_STOP_ON_ZERO};
inline constexpr flag_opt stop_on_negative{SYSLET_STOP_ON_NEGATIVE};
inline constexpr flag_opt stop_on_non_positive{SYSLET_STOP_ON_NON_POSITIVE};
// When a stop condition holds, go on at the atom added right after this
// one (the "else" branch) instead of stopping.
inline constexpr flag_opt skip_to_next_on_stop{SYSLET_SKIP_TO_NEXT_ON_STOP};
// Flags this header has no name for; checked like the others.
constexpr flag_opt raw(std::uint64_t bits) noexcept { return {bits}; }

// Where to go when no stop condition holds: a later atom, or the end.
// The default is the atom added next (or the end for the last one).
constexpr next_opt next(std::size_t index) noexcept
{
	return {static_cast<std::uint16_t>(index < max_atoms ? index : max_atoms)};
}
inline constexpr next_opt end{detail::link_end};
} // namespace opt

// One atom as a value: a system call number, up to six arguments, options.
class op {
public:
	template <class... A>
		requires(sizeof...(A) <= 6 &&
			 (std::convertible_to<const A &, argument> && ...))
	explicit op(long nr, const A &...a) noexcept
		: nr_(nr), nargs_(sizeof...(A))
	{
		std::size_t i = 0;
		((args_[i++] = static_cast<const argument &>(a)), ...);
	}

	friend op operator|(op o, flag_opt f) noexcept
	{
		o.flags_ |= f.bits;
		return o;
	}
	friend op operator|(op o, next_opt n) noexcept
	{
		o.next_ = n.target;
		return o;
	}

private:
	friend class chain_base;

	long nr_;
	std::array<argument, 6> args_{};
	std::uint8_t nargs_;
	std::uint64_t flags_ = 0;
	std::uint16_t next_ = detail::link_default;
};

// Typed builders for the common calls; sys::call() for any other.
namespace sys {
template <class... A>
	requires(sizeof...(A) <= 6 &&
		 (std::convertible_to<const A &, argument> && ...))
op call(long nr, const A &...a) noexcept
{
	return op(nr, a...);
}
inline op read(arg<int> fd, arg<void *> buf, arg<std::size_t> n) noexcept
{
	return op(__NR_read, fd, buf, n);
}
inline op write(arg<int> fd, arg<const void *> buf, arg<std::size_t> n) noexcept
{
	return op(__NR_write, fd, buf, n);
}
inline op pread(arg<int> fd, arg<void *> buf, arg<std::size_t> n,
		arg<off_t> off) noexcept
{
	return op(__NR_pread64, fd, buf, n, off);
}
inline op pwrite(arg<int> fd, arg<const void *> buf, arg<std::size_t> n,
		 arg<off_t> off) noexcept
{
	return op(__NR_pwrite64, fd, buf, n, off);
}
inline op openat(arg<int> dirfd, arg<const char *> path, arg<int> flags,
		 arg<mode_t> mode = mode_t{0}) noexcept
{
	return op(__NR_openat, dirfd, path, flags, mode);
}
inline op close(arg<int> fd) noexcept { return op(__NR_close, fd); }
inline op fsync(arg<int> fd) noexcept { return op(__NR_fsync, fd); }
inline op lseek(arg<int> fd, arg<off_t> off, arg<int> whence) noexcept
{
	return op(__NR_lseek, fd, off, whence);
}
inline op fdatasync(arg<int> fd) noexcept { return op(__NR_fdatasync, fd); }
inline op sync_file_range(arg<int> fd, arg<off_t> off, arg<off_t> n,
			  arg<unsigned int> flags) noexcept
{
	return op(__NR_sync_file_range, fd, off, n, flags);
}
inline op ftruncate(arg<int> fd, arg<off_t> len) noexcept
{
	return op(__NR_ftruncate, fd, len);
}
inline op fallocate(arg<int> fd, arg<int> mode, arg<off_t> off,
		    arg<off_t> len) noexcept
{
	return op(__NR_fallocate, fd, mode, off, len);
}
inline op fstat(arg<int> fd, arg<struct stat *> st) noexcept
{
	return op(__NR_fstat, fd, st);
}
inline op statx(arg<int> dirfd, arg<const char *> path, arg<int> flags,
		arg<unsigned int> mask, arg<struct statx *> buf) noexcept
{
	return op(__NR_statx, dirfd, path, flags, mask, buf);
}
// size is the struct open_how the caller knows: it grows like clone3's.
inline op openat2(arg<int> dirfd, arg<const char *> path,
		  arg<const open_how *> how,
		  arg<std::size_t> size = sizeof(open_how)) noexcept
{
	return op(__NR_openat2, dirfd, path, how, size);
}
inline op mkdirat(arg<int> dirfd, arg<const char *> path, arg<mode_t> mode) noexcept
{
	return op(__NR_mkdirat, dirfd, path, mode);
}
inline op unlinkat(arg<int> dirfd, arg<const char *> path,
		   arg<int> flags = 0) noexcept
{
	return op(__NR_unlinkat, dirfd, path, flags);
}
inline op renameat2(arg<int> olddirfd, arg<const char *> oldpath,
		    arg<int> newdirfd, arg<const char *> newpath,
		    arg<unsigned int> flags = 0u) noexcept
{
	return op(__NR_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}
// count is the kernel's unsigned int: glibc's size_t is cut to it anyway.
inline op getdents64(arg<int> fd, arg<void *> dirp, arg<unsigned int> count) noexcept
{
	return op(__NR_getdents64, fd, dirp, count);
}
inline op splice(arg<int> fd_in, arg<loff_t *> off_in, arg<int> fd_out,
		 arg<loff_t *> off_out, arg<std::size_t> len,
		 arg<unsigned int> flags = 0u) noexcept
{
	return op(__NR_splice, fd_in, off_in, fd_out, off_out, len, flags);
}
inline op copy_file_range(arg<int> fd_in, arg<loff_t *> off_in, arg<int> fd_out,
			  arg<loff_t *> off_out, arg<std::size_t> len,
			  arg<unsigned int> flags = 0u) noexcept
{
	return op(__NR_copy_file_range, fd_in, off_in, fd_out, off_out, len, flags);
}

inline op socket(arg<int> domain, arg<int> type, arg<int> protocol = 0) noexcept
{
	return op(__NR_socket, domain, type, protocol);
}
inline op connect(arg<int> fd, arg<const sockaddr *> addr, arg<socklen_t> len) noexcept
{
	return op(__NR_connect, fd, addr, len);
}
inline op accept4(arg<int> fd, arg<sockaddr *> addr, arg<socklen_t *> len,
		  arg<int> flags = 0) noexcept
{
	return op(__NR_accept4, fd, addr, len, flags);
}
// send() and recv() are sendto() and recvfrom() without an address, as
// in glibc: x86-64 has no system calls of their own for them.
inline op send(arg<int> fd, arg<const void *> buf, arg<std::size_t> n,
	       arg<int> flags = 0) noexcept
{
	return op(__NR_sendto, fd, buf, n, flags, nullptr, socklen_t{0});
}
inline op recv(arg<int> fd, arg<void *> buf, arg<std::size_t> n,
	       arg<int> flags = 0) noexcept
{
	return op(__NR_recvfrom, fd, buf, n, flags, nullptr, nullptr);
}
inline op sendto(arg<int> fd, arg<const void *> buf, arg<std::size_t> n,
		 arg<int> flags, arg<const sockaddr *> addr,
		 arg<socklen_t> len) noexcept
{
	return op(__NR_sendto, fd, buf, n, flags, addr, len);
}
inline op recvfrom(arg<int> fd, arg<void *> buf, arg<std::size_t> n,
		   arg<int> flags, arg<sockaddr *> addr,
		   arg<socklen_t *> len) noexcept
{
	return op(__NR_recvfrom, fd, buf, n, flags, addr, len);
}
inline op sendmsg(arg<int> fd, arg<const msghdr *> msg, arg<int> flags = 0) noexcept
{
	return op(__NR_sendmsg, fd, msg, flags);
}
inline op recvmsg(arg<int> fd, arg<msghdr *> msg, arg<int> flags = 0) noexcept
{
	return op(__NR_recvmsg, fd, msg, flags);
}

// FUTEX_WAIT and FUTEX_WAKE on a futex word of this process: the
// _PRIVATE operations, which need no lookup of a shared mapping. The
// _shared builders are for a word in memory that other processes map
// too. A timeout is relative; nullptr waits for ever. futex_wait() is 0
// when woken, EAGAIN when *uaddr was not expected; futex_wake() is how
// many it woke. (The PI operations are refused in a chain with a ring.)
inline op futex_wait(arg<const std::uint32_t *> uaddr, arg<std::uint32_t> expected,
		     arg<const __kernel_timespec *> timeout = nullptr) noexcept
{
	return op(detail::nr_futex, uaddr, FUTEX_WAIT_PRIVATE, expected, timeout);
}
inline op futex_wake(arg<const std::uint32_t *> uaddr, arg<int> n) noexcept
{
	return op(detail::nr_futex, uaddr, FUTEX_WAKE_PRIVATE, n);
}
inline op futex_wait_shared(arg<const std::uint32_t *> uaddr,
			    arg<std::uint32_t> expected,
			    arg<const __kernel_timespec *> timeout = nullptr) noexcept
{
	return op(detail::nr_futex, uaddr, FUTEX_WAIT, expected, timeout);
}
inline op futex_wake_shared(arg<const std::uint32_t *> uaddr, arg<int> n) noexcept
{
	return op(detail::nr_futex, uaddr, FUTEX_WAKE, n);
}

// The system call, not glibc's function: an error is a negative result
// (ret() gives its errno), not a positive return value.
inline op clock_nanosleep(arg<clockid_t> clock, arg<int> flags,
			  arg<const __kernel_timespec *> req,
			  arg<__kernel_timespec *> rem = nullptr) noexcept
{
	return op(detail::nr_clock_nanosleep, clock, flags, req, rem);
}
} // namespace sys

/* ---------------------------------------------------------------------- */
/* Chains                                                                  */

class chain_base;
class completion_ring;
class thread_pool;
class chain_awaiter;

enum class status { completed, pending };

result<status> submit(completion_ring &ring, chain_base &c) noexcept;
void submit(completion_ring &ring, std::span<chain_base *const> chains,
	    std::span<result<status>> out) noexcept;
result<std::size_t> run(chain_base &c) noexcept;

namespace detail {
// A queue linked through the Next member of its elements, so that nothing
// allocates; its owner's lock guards it.
template <class T, T *T::*Next>
struct fifo {
	T *head = nullptr, *tail = nullptr;

	bool empty() const noexcept { return !head; }
	void push(T *x) noexcept
	{
		x->*Next = nullptr;
		(tail ? tail->*Next : head) = x;
		tail = x;
	}
	T *pop() noexcept
	{
		T *x = head;

		if (x && !(head = x->*Next))
			tail = nullptr;
		return x;
	}
};

// Chains waiting for the consumer; intrusive, so nothing allocates.
struct chain_list {
	chain_base *head = nullptr, *tail = nullptr;
	std::size_t size = 0;

	void push_back(chain_base *c) noexcept;
	void erase(chain_base *c) noexcept;
	chain_base *pop_front() noexcept;
	bool empty() const noexcept { return !head; }
};
struct outcome {
	std::size_t last;
	bool quiet;	// ended at a SYSLET_NO_COMPLETE atom: post nothing
};
outcome interpret(const syslet_uatom *chain, std::size_t n) noexcept;
} // namespace detail

// The part of a chain that does not depend on its capacity: what rings,
// pools and users see. Storage lives in chain<N>.
class chain_base {
public:
	chain_base(const chain_base &) = delete;
	chain_base &operator=(const chain_base &) = delete;

	// Append an atom. EBUSY while submitted, E2BIG when full, EINVAL for
	// unknown or contradictory flags, a refused or impossible system call
	// number, a result_ref that is not to an earlier atom, a
	// syslet::ref() to an object that is not 8-byte aligned, or an
	// opt::next() that does not point forward. The chain is unchanged
	// on failure.
	result<std::size_t> add(const op &o) noexcept;
	// Drop every atom, so that the chain can be built anew; EBUSY while
	// it is pending. user_data is the application's and stays.
	result<void> clear() noexcept;

	std::size_t size() const noexcept { return n_; }
	std::size_t capacity() const noexcept { return cap_; }
	// The first error of the constructor's atoms; submit() returns it.
	int build_error() const noexcept { return error_; }

	bool pending() const noexcept { return state_ == state::pending; }
	// Also notices a chain that ended at an opt::no_complete atom.
	bool done() noexcept;
	// The atom the chain ended at, once done.
	std::optional<std::size_t> last() const noexcept
	{
		return state_ == state::done ? std::optional(last_) : std::nullopt;
	}

	// Results, readable once done: a value, the errno of a failed call,
	// or ENODATA for an atom that did not run. ERANGE past the end;
	// EBUSY while the chain is pending (its atoms may still be running).
	result<std::int64_t> ret(std::size_t i) const noexcept
	{
		if (i >= n_)
			return failure{ERANGE};
		if (state_ == state::pending)
			return failure{EBUSY};
		std::int64_t r = rets_[i];
		if (r == not_run)
			return failure{ENODATA};
		if (r < 0 && r >= -4095)
			return failure{static_cast<int>(-r)};
		return r;
	}
	std::int64_t raw_ret(std::size_t i) const noexcept { return rets_[i]; }

	// The atoms as async_exec() will read them.
	std::span<const syslet_uatom> atoms() const noexcept { return {atoms_, n_}; }

	std::uint64_t user_data = 0;	// the application's, like liburing's

protected:
	chain_base(syslet_uatom *a, __s64 *r, std::array<__u64, 6> *v,
		   std::uint16_t *links, std::size_t cap) noexcept
		: atoms_(a), rets_(r), vals_(v), links_(links), cap_(cap) {}
	~chain_base() = default;

	void record(const op &o) noexcept
	{
		auto r = add(o);
		if (!r && !error_)
			error_ = r.error().value();
	}
	// Leave the ring's lists before the storage goes; abort while the
	// kernel or a pool thread may still write into it.
	void abandon() noexcept;

private:
	friend struct detail::chain_list;
	friend class completion_ring;
	friend class thread_pool;
	friend class chain_awaiter;
	friend result<status> submit(completion_ring &, chain_base &) noexcept;
	friend void submit(completion_ring &, std::span<chain_base *const>,
			   std::span<result<status>>) noexcept;
	friend result<std::size_t> run(chain_base &) noexcept;

	enum class state : std::uint8_t { idle, pending, done };

	int check(const op &o, std::size_t i) const noexcept;
	int link() noexcept;
	// Everything submit() and run() check and reset before a chain
	// runs again: EBUSY while pending, then the chain's own errors.
	int start() noexcept;
	void finish(std::size_t last) noexcept;
	std::size_t index_of(std::uint64_t atom_addr) const noexcept
	{
		return (atom_addr - detail::addr(atoms_)) / sizeof(syslet_uatom);
	}

	syslet_uatom *atoms_;
	__s64 *rets_;
	std::array<__u64, 6> *vals_;
	std::uint16_t *links_;
	std::size_t cap_, n_ = 0, last_ = 0;
	int error_ = 0;
	int link_error_ = 0;	// of the atoms added so far, see link()
	state state_ = state::idle;
	bool quiet_ = false;	// has an opt::no_complete atom
	completion_ring *ring_ = nullptr;
	std::coroutine_handle<> awaiter_;	// resumed by pop() when pending ends
	chain_base *lprev_ = nullptr, *lnext_ = nullptr;
	detail::chain_list *list_ = nullptr;
	chain_base *qnext_ = nullptr;	// thread_pool's queue, then its ring's overflow
	__u64 overflowed_ = 0;		// the ring entry it waits to post
	// Fallback: submit() still waits for it, so the pool thread hands
	// the ending back instead of posting it (under the ring's mutex).
	bool submitter_waits_ = false;
};

namespace detail {
// A base of chain<Cap> so that it exists before chain_base takes its
// addresses.
template <std::size_t Cap>
struct chain_storage {
	std::array<syslet_uatom, Cap> atom_store{};
	std::array<__s64, Cap> ret_store{};
	std::array<std::array<__u64, 6>, Cap> val_store{};
	std::array<std::uint16_t, Cap> link_store{};
};
} // namespace detail

// A chain of at most Cap atoms, all storage inline: building and
// submitting one allocates nothing. Neither copyable nor movable, since
// the kernel holds addresses into it; built in place:
//	syslet::chain c{sys::read(...), sys::write(...)};	// chain<2>
//	syslet::chain<8> d; d.add(sys::read(...));
// Like a joinable std::thread, a chain must not be destroyed while it is
// pending: the kernel or a pool thread would write its results into freed
// memory, and waiting in the destructor would hang scope exit (exception
// unwinding too) and silently run a loop's chains one at a time. Its
// destructor aborts with a message then. Join it first with ring.join(c),
// or declare it before its ring, whose destructor joins every chain still
// submitted to it, or co_await it (syslet::async).
template <std::size_t Cap>
	requires(Cap >= 1 && Cap <= max_atoms)
class chain final : private detail::chain_storage<Cap>, public chain_base {
	using store = detail::chain_storage<Cap>;

public:
	chain() noexcept
		: chain_base(store::atom_store.data(), store::ret_store.data(),
			     store::val_store.data(), store::link_store.data(), Cap) {}

	template <class... Ops>
		requires(sizeof...(Ops) <= Cap && (std::same_as<Ops, op> && ...))
	explicit chain(const Ops &...ops) noexcept : chain()
	{
		(record(ops), ...);
	}

	~chain() { abandon(); }
};

template <class... Ops>
	requires(std::same_as<Ops, op> && ...)
chain(const Ops &...) -> chain<sizeof...(Ops)>;

/* ---------------------------------------------------------------------- */
/* Completion ring                                                         */

enum class backend { automatic, fallback };
enum class wait_status { ready, timed_out };

// Which chain finished, and at which atom.
struct completion {
	chain_base *chain;
	std::size_t last;
};

struct ring_options {
	// Where chains run without kernel support (backend::fallback, or
	// automatic on a kernel without syslets); none: in submit()'s caller.
	thread_pool *pool = nullptr;
	backend use = backend::automatic;
	// A chain that ends inside submit() (status::completed) is also
	// delivered by pop(), after the chains that completed before it, so
	// that every accepted submission yields exactly one completion on
	// every backend, and a consumer may treat submit()'s status as a
	// hint. A chain that ends at an opt::no_complete atom yields none,
	// as it would through the kernel's ring.
	bool post_inline = false;
	// An eventfd(2) that every completion signals (adds 1 to) once pop()
	// can take it, so that an epoll loop or Asio waits for the ring beside
	// its sockets with no thread of its own: on readable, read it, then
	// pop() until nothing is left (one signal may stand for several).
	// The kernel does it (SYSLET_AHU_EVENTFD), the fallback's pool
	// threads likewise; with post_inline, submit() signals the chains
	// that ended inside it. -1: none. It must stay open as long as the
	// ring; std::invalid_argument if it is not an eventfd.
	int eventfd = -1;
};

// A completion ring with its struct async_head_user, pinned in memory
// because the kernel or pool threads write to both. entries must be a
// power of two (else std::invalid_argument). With backend::automatic the
// kernel runs chains when kernel_support() says so; otherwise they run on
// the pool given here, or in the caller of submit() without one.
//
// On every backend a chain runs synchronously until it blocks: submit()
// says status::completed for one that ended inside it, status::pending
// for one whose completion pop() delivers later. The fallback's pool
// cannot see a chain block, so submit() gives it the pool's inline_wait
// to end in, and calls it pending after that: fast chains (cached reads,
// say) complete inline there too, as on the kernel.
class completion_ring {
public:
	completion_ring(std::size_t entries, ring_options o);
	explicit completion_ring(std::size_t entries, thread_pool *pool = nullptr,
				 backend b = backend::automatic)
		: completion_ring(entries, ring_options{.pool = pool, .use = b}) {}
	completion_ring(std::size_t entries, thread_pool &pool,
			backend b = backend::automatic)
		: completion_ring(entries, &pool, b) {}
	// Joins every chain still submitted to it.
	~completion_ring();
	completion_ring(const completion_ring &) = delete;
	completion_ring &operator=(const completion_ring &) = delete;

	std::size_t entries() const noexcept { return mask_ + 1; }
	bool uses_kernel() const noexcept { return kernel_; }
	// Completions that pop() would return now.
	std::size_t ready() const noexcept { return deferred_.size + posted(); }
	// Chains that had a ring but ran synchronously (no spare thread).
	std::uint64_t sync_chains() const noexcept
	{
		return std::atomic_ref<__u64>(const_cast<__u64 &>(head_.sync_chains))
			.load(std::memory_order_relaxed);
	}

	// The next completion, or nullopt when there is none yet.
	std::optional<completion> pop() noexcept;

	// Wait until c, submitted to this ring, has completed; completions
	// of other chains taken meanwhile stay for pop(), in order. The atom
	// c ended at; EINVAL when c is pending on another ring. A chain that
	// completed already (inline, or popped) returns at once. With
	// post_inline, c's own completion is then no longer delivered.
	result<std::size_t> join(chain_base &c) noexcept;

	// for (syslet::completion c : ring.completions()): every completion
	// available, taken one by one; leaving the loop early leaves the rest.
	class range;
	range completions() noexcept;

	// Wait until at least min completions are available: ready, timed_out
	// when the timeout passes first (none: for ever), EINTR on a signal
	// (kernel backend), EINVAL for more than the ring holds.
	result<wait_status> wait(std::size_t min = 1,
				 std::optional<std::chrono::nanoseconds> timeout =
					 std::nullopt) noexcept;

	// The raw ABI objects, for code that talks to the kernel directly.
	async_head_user &head() noexcept { return head_; }
	std::span<__u64> slots() noexcept { return {slots_.get(), entries()}; }

private:
	friend class thread_pool;
	friend class chain_base;
	friend result<status> submit(completion_ring &, chain_base &) noexcept;
	friend void submit(completion_ring &, std::span<chain_base *const>,
			   std::span<result<status>>) noexcept;

	std::size_t posted() const noexcept;
	__u64 take() noexcept;
	completion map(__u64 entry) noexcept;
	result<wait_status> wait_posted(std::size_t n,
					std::optional<std::chrono::nanoseconds> t) noexcept;
	void track(chain_base &c) noexcept;
	void post(chain_base &c, __u64 entry) noexcept;
	void refill_locked() noexcept;
	void settle(chain_base *target) noexcept;
	bool ended_while_waited(chain_base &c) noexcept;
	void completed_inline(chain_base &c, std::size_t last) noexcept;
	result<status> kernel_submitted(chain_base &c, long r) noexcept;

	std::unique_ptr<__u64[]> slots_;
	std::size_t mask_;
	async_head_user head_{};
	thread_pool *pool_;
	bool kernel_;
	bool post_inline_;
	int eventfd_;
	detail::chain_list inflight_;	// submitted, not yet completed
	detail::chain_list deferred_;	// completed, taken off the ring, not yet popped
	// Fallback: completed chains the full ring has no room for yet, in
	// order; the kernel's completers each wait on their own instead.
	detail::fifo<chain_base, &chain_base::qnext_> overflow_;
	std::mutex mtx_;		// fallback posting and waiting
	std::condition_variable ready_cv_, space_cv_, ended_cv_;
};

class completion_ring::range {
public:
	class iterator {
	public:
		using value_type = completion;
		using difference_type = std::ptrdiff_t;
		using iterator_category = std::input_iterator_tag;

		// A completion is taken off the ring only when looked at
		// (dereferenced, or compared with the end), never by ++: so
		// an adaptor such as std::views::take(n) takes exactly n.
		iterator() = default;
		const completion &operator*() const noexcept { return *fetch(); }
		const completion *operator->() const noexcept { return &*fetch(); }
		iterator &operator++() noexcept
		{
			fetch();
			fetched_ = false;
			return *this;
		}
		void operator++(int) noexcept { ++*this; }
		bool operator==(std::default_sentinel_t) const noexcept { return !fetch(); }

	private:
		friend class range;
		explicit iterator(completion_ring *r) noexcept : r_(r) {}
		const std::optional<completion> &fetch() const noexcept
		{
			if (!fetched_) {
				cur_ = r_->pop();
				fetched_ = true;
			}
			return cur_;
		}
		completion_ring *r_ = nullptr;
		mutable std::optional<completion> cur_;
		mutable bool fetched_ = false;
	};

	iterator begin() noexcept { return iterator(r_); }
	std::default_sentinel_t end() const noexcept { return {}; }

private:
	friend class completion_ring;
	explicit range(completion_ring *r) noexcept : r_(r) {}
	completion_ring *r_;
};

inline completion_ring::range completion_ring::completions() noexcept
{
	return range(this);
}

/* ---------------------------------------------------------------------- */
/* Fallback thread pool                                                    */

// Threads that run chains when the kernel cannot, made only when the
// application makes one. Its threads block every signal, as the kernel's
// spares do, so signals go to the application's threads.
class thread_pool {
public:
	// How long submit() waits for a chain it gave the pool to end before
	// it calls it pending (see completion_ring): the fallback's stand-in
	// for "runs synchronously until it blocks". 0: every chain given to
	// the pool is pending.
	static constexpr std::chrono::microseconds default_inline_wait{50};

	explicit thread_pool(unsigned threads = 4,
			     std::chrono::microseconds inline_wait = default_inline_wait);
	// Rings that use the pool must be destroyed first: destroying it
	// under them aborts with a message, rather than hang or worse.
	~thread_pool();
	thread_pool(const thread_pool &) = delete;
	thread_pool &operator=(const thread_pool &) = delete;

	std::size_t size() const noexcept { return threads_.size(); }

private:
	friend class completion_ring;
	friend result<status> submit(completion_ring &, chain_base &) noexcept;

	void enqueue(chain_base &c) noexcept;
	void work() noexcept;
	void stop() noexcept;

	std::mutex m_;
	std::condition_variable cv_;
	detail::fifo<chain_base, &chain_base::qnext_> queue_;
	bool stop_ = false;
	std::chrono::microseconds inline_wait_;
	std::vector<std::thread> threads_;
	std::atomic<std::size_t> rings_{0};	// completion_rings using it
};

/* ---------------------------------------------------------------------- */
/* Implementation                                                          */

namespace detail {

inline void chain_list::push_back(chain_base *c) noexcept
{
	c->list_ = this;
	c->lprev_ = tail;
	c->lnext_ = nullptr;
	(tail ? tail->lnext_ : head) = c;
	tail = c;
	++size;
}

inline void chain_list::erase(chain_base *c) noexcept
{
	(c->lprev_ ? c->lprev_->lnext_ : head) = c->lnext_;
	(c->lnext_ ? c->lnext_->lprev_ : tail) = c->lprev_;
	c->lprev_ = c->lnext_ = nullptr;
	c->list_ = nullptr;
	--size;
}

inline chain_base *chain_list::pop_front() noexcept
{
	chain_base *c = head;
	if (c)
		erase(c);
	return c;
}

// Run a chain as kernel/syslet/run.c does, with the same flow control: the
// atoms are read once, up front, so that after the last result is stored
// nothing here touches the chain's memory again. One difference, in the
// caller only (pool threads block signals): a signal does not end the
// chain between atoms, and an interrupted call's -EINTR is its result.
inline outcome interpret(const syslet_uatom *chain, std::size_t n) noexcept
{
	syslet_uatom copy[SYSLET_MAX_ATOMS];
	std::memcpy(copy, chain, n * sizeof(*chain));

	for (std::size_t i = 0;;) {
		const syslet_uatom &a = copy[i];
		std::uint64_t v[6] = {};

		for (int k = 0; k < 6; k++)
			if (a.arg_ptr[k])
				std::memcpy(&v[k], reinterpret_cast<const void *>(
						   static_cast<std::uintptr_t>(a.arg_ptr[k])),
					    sizeof(v[k]));
		long r = ::syscall(static_cast<long>(a.nr), v[0], v[1], v[2], v[3],
				   v[4], v[5]);
		const std::int64_t res = r == -1 ? -errno : r;
		if (a.ret_ptr)	// atomic: done() may be watching a no_complete slot
			std::atomic_ref<__s64>(*reinterpret_cast<__s64 *>(
				static_cast<std::uintptr_t>(a.ret_ptr)))
				.store(res, std::memory_order_release);

		if (stop_holds(a.flags, res)) {
			if (!(a.flags & SYSLET_SKIP_TO_NEXT_ON_STOP))
				return {i, (a.flags & SYSLET_NO_COMPLETE) != 0};
			i++;
		} else if (!a.next) {
			return {i, (a.flags & SYSLET_NO_COMPLETE) != 0};
		} else {
			i = (a.next - addr(chain)) / sizeof(syslet_uatom);
		}
	}
}

} // namespace detail

inline int chain_base::check(const op &o, std::size_t i) const noexcept
{
	const std::uint64_t f = o.flags_;

	if ((f & ~static_cast<std::uint64_t>(SYSLET_VALID_FLAGS)) ||
	    ((f & SYSLET_ASYNC) && (f & SYSLET_SYNC)) ||
	    ((f & SYSLET_SKIP_TO_NEXT_ON_STOP) && !(f & SYSLET_STOP_MASK)))
		return EINVAL;
	if (o.nr_ < 0 || o.nr_ > INT_MAX || detail::refused_nr(o.nr_))
		return EINVAL;
	for (std::size_t k = 0; k < o.nargs_; k++) {
		const argument &a = o.args_[k];
		if (a.kind_ == argument::kind::result &&
		    (a.ref_.previous ? i == 0 : a.ref_.index >= i))
			return EINVAL;
		if (a.kind_ == argument::kind::object && a.v_ % sizeof(__u64))
			return EINVAL;
	}
	// Links only forward: the chain is acyclic by construction.
	if (o.next_ != detail::link_default && o.next_ != detail::link_end &&
	    o.next_ <= i)
		return EINVAL;
	return 0;
}

inline result<std::size_t> chain_base::add(const op &o) noexcept
{
	if (state_ == state::pending)
		return failure{EBUSY};
	if (n_ == cap_)
		return failure{E2BIG};
	if (int e = check(o, n_))
		return failure{e};

	const std::size_t i = n_;
	syslet_uatom &a = atoms_[i];
	a = syslet_uatom{};
	a.flags = o.flags_;
	a.nr = static_cast<__u64>(o.nr_);
	a.ret_ptr = detail::addr(&rets_[i]);
	for (std::size_t k = 0; k < o.nargs_; k++) {
		const argument &g = o.args_[k];
		if (g.kind_ == argument::kind::value) {
			vals_[i][k] = g.v_;
			a.arg_ptr[k] = detail::addr(&vals_[i][k]);
		} else if (g.kind_ == argument::kind::object) {
			a.arg_ptr[k] = g.v_;
		} else {
			a.arg_ptr[k] = detail::addr(
				&rets_[g.ref_.previous ? i - 1 : g.ref_.index]);
		}
	}
	a.private_data = detail::addr(this);	// how a completion finds its chain
	links_[i] = o.next_;
	rets_[i] = not_run;
	quiet_ = quiet_ || (o.flags_ & SYSLET_NO_COMPLETE);
	n_++;
	// Linked now so that atoms() shows the chain and submitting it
	// needs no pass over the atoms; submit() reports link_error_.
	link_error_ = link();
	return i;
}

inline result<void> chain_base::clear() noexcept
{
	if (state_ == state::pending)
		return failure{EBUSY};
	// An unpopped completion of its last run goes, as when resubmitted.
	if (list_)
		list_->erase(this);
	n_ = last_ = 0;
	error_ = link_error_ = 0;
	quiet_ = false;
	state_ = state::idle;
	return {};
}

// Point every atom's next where its links_ entry says; EINVAL for a link
// or an else branch that does not (yet) reach an atom of the chain.
inline int chain_base::link() noexcept
{
	int err = 0;

	for (std::size_t i = 0; i < n_; i++) {
		const std::uint16_t l = links_[i];
		const std::size_t to = l == detail::link_default ? i + 1 : l;

		if (l == detail::link_end || (l == detail::link_default && to == n_))
			atoms_[i].next = 0;
		else if (to < n_)
			atoms_[i].next = detail::addr(&atoms_[to]);
		else
			atoms_[i].next = 0, err = EINVAL;
		// The else branch is atom + 1 in memory: it must be ours.
		if ((atoms_[i].flags & SYSLET_SKIP_TO_NEXT_ON_STOP) && i + 1 == n_)
			err = EINVAL;
	}
	return err;
}

inline int chain_base::start() noexcept
{
	if (pending())
		return EBUSY;
	if (error_)
		return error_;
	if (!n_)
		return EINVAL;
	if (link_error_)
		return link_error_;
	for (std::size_t i = 0; i < n_; i++)
		rets_[i] = not_run;
	if (list_)
		list_->erase(this);
	return 0;
}

inline void chain_base::finish(std::size_t last) noexcept
{
	if (list_)
		list_->erase(this);
	state_ = state::done;
	last_ = last;
	ring_ = nullptr;
}

// Nothing is posted for a chain ending at a no_complete atom: it is over
// once that atom's result is stored and says that the chain ends there.
inline bool chain_base::done() noexcept
{
	if (state_ == state::pending && quiet_) {
		for (std::size_t k = 0; k < n_; k++) {
			const syslet_uatom &a = atoms_[k];
			if (!(a.flags & SYSLET_NO_COMPLETE))
				continue;
			const std::int64_t r = std::atomic_ref<__s64>(rets_[k]).load(
				std::memory_order_acquire);
			if (r == not_run)
				continue;
			const bool stop = detail::stop_holds(a.flags, r);
			if (stop ? !(a.flags & SYSLET_SKIP_TO_NEXT_ON_STOP) : !a.next) {
				finish(k);
				break;
			}
		}
	}
	return state_ == state::done;
}

inline void chain_base::abandon() noexcept
{
	if (state_ == state::pending && !done())
		detail::misuse("a chain destroyed while it is pending; join it "
			       "first (completion_ring::join)");
	if (list_)
		list_->erase(this);
}

namespace detail {

// Both sides of the ring protocol (struct async_head_user), for rings the
// library consumes, and the kernel's side for its fallback.
// The kernel fills a slot before it moves its index on: a consumer that
// took that entry at once is one ahead of the index for a moment.
inline std::size_t ring_ready(const async_head_user &head) noexcept
{
	auto &h = const_cast<async_head_user &>(head);
	const __u64 ready =
		std::atomic_ref<__u64>(h.kernel_ring_idx).load(std::memory_order_acquire) -
		std::atomic_ref<__u64>(h.user_ring_idx).load(std::memory_order_relaxed);

	return ready == ~__u64{0} ? 0 : static_cast<std::size_t>(ready);
}

inline __u64 ring_take(async_head_user &head, __u64 *slots, std::size_t mask) noexcept
{
	std::atomic_ref<__u64> uidx(head.user_ring_idx);
	const __u64 idx = uidx.load(std::memory_order_relaxed);
	std::atomic_ref<__u64> slot(slots[idx & mask]);
	const __u64 v = slot.load(std::memory_order_acquire);

	if (!v)
		return 0;
	slot.store(0, std::memory_order_relaxed);
	uidx.store(idx + 1, std::memory_order_release);
	return v;
}

// Whether the slot the next entry goes into is empty; under the posters'
// lock, where only the consumer changes it (full to empty).
inline bool ring_has_room(async_head_user &head, __u64 *slots,
			  std::size_t mask) noexcept
{
	const __u64 idx = std::atomic_ref<__u64>(head.kernel_ring_idx)
				  .load(std::memory_order_relaxed);
	return !std::atomic_ref<__u64>(slots[idx & mask]).load(std::memory_order_acquire);
}

// Into an empty slot only; the index is read again after every wait, as
// another poster may have taken it meanwhile. lk holds the posters' mutex.
inline void ring_post(async_head_user &head, __u64 *slots, std::size_t mask,
		      std::unique_lock<std::mutex> &lk,
		      std::condition_variable &space, __u64 entry) noexcept
{
	std::atomic_ref<__u64> kidx(head.kernel_ring_idx);

	for (;;) {
		const __u64 idx = kidx.load(std::memory_order_relaxed);
		std::atomic_ref<__u64> slot(slots[idx & mask]);

		if (!slot.load(std::memory_order_acquire)) {
			slot.store(entry, std::memory_order_release);
			kidx.store(idx + 1, std::memory_order_release);
			return;
		}
		space.wait_for(lk, std::chrono::milliseconds(1));
	}
}

// Wait until n entries are ready: async_wait() on a kernel ring...
inline result<wait_status> ring_wait(async_head_user &head, std::size_t n,
				     std::optional<std::chrono::nanoseconds> timeout) noexcept
{
	__kernel_timespec ts{}, *tp = nullptr;

	if (timeout) {
		const auto ns = timeout->count() > 0 ? timeout->count() : 0;
		ts.tv_sec = ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		tp = &ts;
	}
	const __u64 uidx = std::atomic_ref<__u64>(head.user_ring_idx).load(
		std::memory_order_relaxed);
	if (::syscall(nr_async_wait, static_cast<unsigned long>(n),
		      static_cast<unsigned long>(uidx), &head, tp) >= 0)
		return wait_status::ready;
	if (errno == ETIME)
		return wait_status::timed_out;
	return failure{errno};
}

// ...and on one the fallback's posters fill, under their mutex.
inline result<wait_status> ring_wait(const async_head_user &head, std::size_t n,
				     std::optional<std::chrono::nanoseconds> timeout,
				     std::mutex &m, std::condition_variable &ready,
				     std::condition_variable &space) noexcept
{
	std::unique_lock lk(m);
	// As async_wait() does: completers waiting on a full slot look again.
	space.notify_all();
	auto enough = [&] { return ring_ready(head) >= n; };
	if (!timeout) {
		ready.wait(lk, enough);
		return wait_status::ready;
	}
	return ready.wait_for(lk, *timeout, enough) ? wait_status::ready
						    : wait_status::timed_out;
}

} // namespace detail

inline completion_ring::completion_ring(std::size_t entries, ring_options o)
	: mask_(entries - 1), pool_(o.pool),
	  kernel_(o.use == backend::automatic && kernel_support().usable()),
	  post_inline_(o.post_inline), eventfd_(o.eventfd)
{
	if (!entries || (entries & (entries - 1)) || entries > (std::size_t{1} << 32))
		detail::raise(std::invalid_argument("syslet: ring entries must be a power of two"));
	slots_ = std::make_unique<__u64[]>(entries);
	head_.size = sizeof(head_);
	head_.completion_ring = detail::addr(slots_.get());
	head_.ring_size_bytes = entries * sizeof(__u64);
	if (eventfd_ >= 0)
		detail::name_eventfd(head_, eventfd_,
				     "syslet: ring_options::eventfd is not an eventfd");
	if (pool_)
		pool_->rings_.fetch_add(1, std::memory_order_relaxed);
}

inline completion_ring::~completion_ring()
{
	// Joining needs async_wait(), which checks the eventfd: one closed
	// already must not keep the ring from going. Only this thread reads
	// the head (the kernel's completers keep what async_exec() read).
	detail::forget_eventfd(head_);
	{
		std::lock_guard lk(mtx_);
		eventfd_ = -1;
	}
	settle(nullptr);
	while (deferred_.pop_front())
		;
	// A pool thread touches the ring (posting, notifying) only while it
	// holds mtx_: once this has it, none will again.
	std::lock_guard lk(mtx_);
	if (pool_)
		pool_->rings_.fetch_sub(1, std::memory_order_release);
}

inline std::size_t completion_ring::posted() const noexcept
{
	return detail::ring_ready(head_);
}

inline __u64 completion_ring::take() noexcept
{
	const __u64 e = detail::ring_take(head_, slots_.get(), mask_);

	if (e && !kernel_) {
		std::lock_guard lk(mtx_);
		refill_locked();
	}
	return e;
}

inline completion completion_ring::map(__u64 entry) noexcept
{
	auto *a = reinterpret_cast<const syslet_uatom *>(
		static_cast<std::uintptr_t>(entry));
	auto *c = reinterpret_cast<chain_base *>(
		static_cast<std::uintptr_t>(a->private_data));
	const std::size_t i = c->index_of(entry);

	c->finish(i);
	return {c, i};
}

// A chain a coroutine awaits (syslet::async) is not returned: its
// coroutine resumes here, on the thread that drives the ring.
inline std::optional<completion> completion_ring::pop() noexcept
{
	for (;;) {
		completion got;

		if (chain_base *c = deferred_.pop_front())
			got = {c, c->last_};
		else if (__u64 e = take())
			got = map(e);
		else
			return std::nullopt;
		if (!got.chain->awaiter_)
			return got;
		std::exchange(got.chain->awaiter_, nullptr).resume();
	}
}

inline result<std::size_t> completion_ring::join(chain_base &c) noexcept
{
	if (c.pending() && c.ring_ != this)
		return failure{EINVAL};
	if (c.pending())
		settle(&c);
	else if (c.list_ == &deferred_)
		deferred_.erase(&c);
	if (!c.last())
		return failure{EINVAL};	// never submitted
	return *c.last();
}

inline result<wait_status> completion_ring::wait(
	std::size_t min, std::optional<std::chrono::nanoseconds> timeout) noexcept
{
	if (min <= deferred_.size)
		return wait_status::ready;
	return wait_posted(min - deferred_.size, timeout);
}

inline result<wait_status> completion_ring::wait_posted(
	std::size_t n, std::optional<std::chrono::nanoseconds> timeout) noexcept
{
	if (n > entries())
		return failure{EINVAL};
	if (kernel_)
		return detail::ring_wait(head_, n, timeout);
	return detail::ring_wait(head_, n, timeout, mtx_, ready_cv_, space_cv_);
}

inline void completion_ring::track(chain_base &c) noexcept
{
	c.state_ = chain_base::state::pending;
	c.ring_ = this;
	inflight_.push_back(&c);
}

// The kernel's side of the protocol, for pool threads: only into an empty
// slot, release, then kernel_ring_idx. When the ring is full the chain
// waits in this ring's overflow, as each of the kernel's completers waits
// on its own, and the pool thread goes on with other chains, other rings'
// among them; the consumer moves it in as it takes entries.
//
// Notified under mtx_: once the consumer can see the entry, it may pop it
// and destroy the ring, so nothing here may touch the ring after unlocking.
// A chain whose submit() still waits for it is handed back instead.
inline void completion_ring::post(chain_base &c, __u64 entry) noexcept
{
	std::lock_guard lk(mtx_);
	c.overflowed_ = entry;
	if (c.submitter_waits_) {
		c.submitter_waits_ = false;
		ended_cv_.notify_all();
		return;
	}
	overflow_.push(&c);
	refill_locked();
	ready_cv_.notify_all();
}

// Fallback, in submit(): give the chain the pool's inline_wait to end. On
// true it ended meanwhile and no pool thread will touch it again; on false
// a pool thread posts it when it ends.
inline bool completion_ring::ended_while_waited(chain_base &c) noexcept
{
	std::unique_lock lk(mtx_);
	if (ended_cv_.wait_for(lk, pool_->inline_wait_,
			       [&] { return !c.submitter_waits_; }))
		return true;
	c.submitter_waits_ = false;
	return false;
}

// With post_inline, behind every completion posted before it; never for a
// chain a coroutine awaits, which goes on without suspending.
inline void completion_ring::completed_inline(chain_base &c, std::size_t last) noexcept
{
	c.finish(last);
	if (!post_inline_ || c.awaiter_ || (c.atoms_[last].flags & SYSLET_NO_COMPLETE))
		return;
	while (__u64 e = take())
		deferred_.push_back(map(e).chain);
	deferred_.push_back(&c);
	detail::signal_eventfd(eventfd_);
}

// Read everything of a chain before its entry is visible: once it is,
// the chain may be popped and gone.
inline void completion_ring::refill_locked() noexcept
{
	while (!overflow_.empty() &&
	       detail::ring_has_room(head_, slots_.get(), mask_)) {
		const __u64 e = overflow_.pop()->overflowed_;

		std::atomic_ref<__u64> kidx(head_.kernel_ring_idx);
		const __u64 idx = kidx.load(std::memory_order_relaxed);
		std::atomic_ref<__u64>(slots_[idx & mask_]).store(e, std::memory_order_release);
		kidx.store(idx + 1, std::memory_order_release);
		detail::signal_eventfd(eventfd_);
	}
}

// Drive the ring until target (or, for nullptr, every chain in flight) has
// completed. Other chains' completions taken meanwhile are kept for pop(),
// in ring order.
inline void completion_ring::settle(chain_base *target) noexcept
{
	auto finished = [&] {
		return target ? !target->pending() : inflight_.empty();
	};
	while (!finished()) {
		bool quiet = false;
		for (chain_base *c = inflight_.head, *nx; c; c = nx) {
			nx = c->lnext_;
			if (c->quiet_) {
				quiet = true;
				c->done();
			}
		}
		if (finished())
			break;
		if (__u64 e = take()) {
			completion got = map(e);
			if (target && got.chain != target)
				deferred_.push_back(got.chain);
			continue;
		}
		// A no_complete chain posts nothing to wake us: poll its results.
		(void)wait_posted(1, quiet ? std::optional<std::chrono::nanoseconds>(
						     std::chrono::milliseconds(1))
					   : std::nullopt);
	}
}

inline thread_pool::thread_pool(unsigned threads, std::chrono::microseconds inline_wait)
	: inline_wait_(inline_wait)
{
	if (!threads)
		detail::raise(std::invalid_argument("syslet: a thread_pool needs a thread"));
	// Threads inherit the mask: block everything before they exist.
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
#if defined(__cpp_exceptions)
	try {
#endif
		threads_.reserve(threads);
		for (unsigned i = 0; i < threads; i++)
			threads_.emplace_back([this] { work(); });
#if defined(__cpp_exceptions)
	} catch (...) {
		pthread_sigmask(SIG_SETMASK, &old, nullptr);
		stop();
		throw;
	}
#endif
	pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

inline thread_pool::~thread_pool()
{
	if (rings_.load(std::memory_order_acquire)) {
		std::fputs("syslet: a thread_pool destroyed while a completion_ring "
			   "uses it; destroy the rings first\n", stderr);
		std::abort();
	}
	stop();
}

// Queued chains are run first: their rings wait for them.
inline void thread_pool::stop() noexcept
{
	{
		std::lock_guard lk(m_);
		stop_ = true;
	}
	cv_.notify_all();
	for (auto &t : threads_)
		t.join();
}

inline void thread_pool::enqueue(chain_base &c) noexcept
{
	{
		std::lock_guard lk(m_);
		queue_.push(&c);
	}
	cv_.notify_one();
}

inline void thread_pool::work() noexcept
{
	for (;;) {
		chain_base *c;
		{
			std::unique_lock lk(m_);
			cv_.wait(lk, [&] { return !queue_.empty() || stop_; });
			c = queue_.pop();
			if (!c)
				return;
		}
		// Everything needed after the run is read first: once its
		// results are stored the chain may already be gone. A chain
		// with no_complete atoms is never waited for (submit() sees
		// to it), as its end may post nothing.
		completion_ring *r = c->ring_;
		const syslet_uatom *atoms = c->atoms_;
		const detail::outcome o = detail::interpret(atoms, c->n_);
		if (!o.quiet)
			r->post(*c, detail::addr(atoms + o.last));
	}
}

// Submit a chain: status::completed when it ran to its end synchronously
// (results readable now, nothing posted), status::pending when its
// completion will come through the ring. An error means nothing ran.
// A done chain may be submitted again; an unpopped completion of its
// previous run is then dropped.
inline result<status> submit(completion_ring &ring, chain_base &c) noexcept
{
	if (int e = c.start())
		return failure{e};
	if (ring.kernel_) {
		long r = ::syscall(detail::nr_async_exec, c.atoms_, &ring.head_);
		return ring.kernel_submitted(c, r < 0 ? -errno : r);
	}
	if (ring.pool_) {
		const bool wait = ring.pool_->inline_wait_.count() > 0 && !c.quiet_;

		ring.track(c);
		c.submitter_waits_ = wait;
		ring.pool_->enqueue(c);
		if (!wait || !ring.ended_while_waited(c))
			return status::pending;
		ring.completed_inline(c, c.index_of(c.overflowed_));
		return status::completed;
	}
	ring.completed_inline(c, detail::interpret(c.atoms_, c.n_).last);
	return status::completed;
}

// What async_exec() returned for c, submitted: the address of the atom it
// ended at, 0 when it went asynchronous, or -errno with nothing run.
inline result<status> completion_ring::kernel_submitted(chain_base &c, long r) noexcept
{
	if (r < 0)
		return failure{static_cast<int>(-r)};
	if (r == 0) {
		track(c);
		return status::pending;
	}
	completed_inline(c, c.index_of(static_cast<std::uint64_t>(r)));
	return status::completed;
}

// The most chains one async_exec_batch() call of submit() below takes: the
// entries live on the caller's stack.
inline constexpr std::size_t submit_batch_max = 64;

// Submit many chains, each as submit(ring, c) would: out[i] gets what
// submit(ring, *chains[i]) would have returned; out must be as long as
// chains. With syslets, up to submit_batch_max chains go in one kernel
// entry (async_exec_batch()); the kernel stops a call after a chain that
// went asynchronous, and the rest go in the next. Every chain has been
// submitted once when this returns, on every backend; nothing allocated.
inline void submit(completion_ring &ring, std::span<chain_base *const> chains,
		   std::span<result<status>> out) noexcept
{
	std::size_t i = 0;

	if (!ring.kernel_) {
		for (; i < chains.size(); i++)
			out[i] = submit(ring, *chains[i]);
		return;
	}
	while (i < chains.size()) {
		syslet_batch_entry entries[submit_batch_max];
		std::size_t index[submit_batch_max];
		unsigned int n = 0, done = 0;

		for (; i < chains.size() && n < submit_batch_max; i++) {
			if (int e = chains[i]->start()) {
				out[i] = failure{e};
				continue;
			}
			entries[n] = {detail::addr(chains[i]->atoms_), 0};
			index[n++] = i;
		}
		while (done < n) {
			long r = ::syscall(detail::nr_async_exec_batch, entries + done,
					   n - done, &ring.head_, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				// Refused at its first chain, which fails with it.
				entries[done].result = -errno;
				r = 1;
			}
			for (long k = 0; k < r; k++, done++)
				out[index[done]] = ring.kernel_submitted(
					*chains[index[done]], entries[done].result);
		}
	}
}

// Run a chain synchronously without a ring (the kernel's cached path, or
// in the caller); returns the index of the atom it ended at.
inline result<std::size_t> run(chain_base &c) noexcept
{
	if (int e = c.start())
		return failure{e};
	std::size_t last;
	if (kernel_support().usable()) {
		// The kernel only reads a head without a ring (no handoff is
		// armed, no counter written), so one constant serves every call.
		static constexpr async_head_user no_ring = [] {
			async_head_user h{};
			h.size = sizeof(h);
			return h;
		}();
		long r = ::syscall(detail::nr_async_exec, c.atoms_, &no_ring);
		if (r < 0)
			return failure{errno};
		last = c.index_of(static_cast<std::uint64_t>(r));
	} else {
		last = detail::interpret(c.atoms_, c.n_).last;
	}
	c.finish(last);
	return last;
}


/* ---------------------------------------------------------------------- */
/* Threadlets                                                              */

// The largest callable threadlet_exec() takes, in bytes: it is moved into
// a frame the pool made beforehand, so the cached path allocates nothing.
// Capture bigger state by reference or pointer.
inline constexpr std::size_t threadlet_capture_max = 256;

class threadlet_pool;

namespace detail {

#if defined(__NR_async_thread) && defined(__NR_threadlet_on) && defined(__NR_threadlet_off)
inline constexpr long nr_async_thread = __NR_async_thread;
inline constexpr long nr_threadlet_on = __NR_threadlet_on;
inline constexpr long nr_threadlet_off = __NR_threadlet_off;
#else
inline constexpr long nr_async_thread = 465;
inline constexpr long nr_threadlet_on = 466;
inline constexpr long nr_threadlet_off = 467;
#endif
#if defined(__NR_threadlet_lease)
inline constexpr long nr_threadlet_lease = __NR_threadlet_lease;
#else
inline constexpr long nr_threadlet_lease = 469;
#endif

// A thread's threadlet area (threadlet_lease(2)) and the pool its lease
// is from: its threadlets then start and end with no system call. Zeroed
// in every new thread, as thread-local data is; a fork()ed child's copy
// is cleared (forget_lease_in_child()).
struct thread_lease {
	alignas(64) threadlet_area area;
	const async_head_user *pool;
	std::uint64_t seq;		// the area's active numbers
};

inline thread_local thread_lease this_thread_lease{};

// The lease is the parent thread's, whose memory the child only copied.
inline void forget_lease_in_child() noexcept
{
	this_thread_lease.area.lease_sp = 0;
	this_thread_lease.pool = nullptr;
}

// rdfsbase and wrfsbase work in user space (HWCAP2_FSGSBASE): the kernel
// and the CPU allow it.
inline bool user_fsgsbase() noexcept
{
	static const bool yes = (::getauxval(AT_HWCAP2) & 2) != 0;
	return yes;
}

// Events with this bit are the library's: the address of a coroutine
// awaiting a threadlet (syslet::threadlet), resumed by pop(). User space
// addresses never have it, and threadlet_exec() refuses such events.
inline constexpr std::uint64_t awaiter_event = std::uint64_t{1} << 63;

struct threadlet_frame {
	void (*run)(threadlet_frame *) noexcept;	// calls, then destroys
	void (*drop)(threadlet_frame *) noexcept;	// destroys, never called
	threadlet_pool *pool;
	threadlet_frame *next_free;			// fallback queue
	std::atomic<std::uint32_t> next_index;		// free stack, 1-based
	std::uint64_t event;				// fallback queue
	alignas(std::max_align_t) unsigned char storage[threadlet_capture_max];
};

void threadlet_entry(void *frame) noexcept;

// threadlet_exec() without the check of event, for syslet::threadlet.
template <class F>
result<int> start_threadlet(threadlet_pool &pool, std::uint64_t event, F &&fn);

} // namespace detail

#if defined(__x86_64__) && !defined(__ILP32__)
/*
 * The frame both threadlet entries below share: the callee-saved
 * registers, with the CFI that unwinds them, popped at label 3 (the
 * restore point, where the caller goes on after a miss). Each entry is
 * in a COMDAT group so that every translation unit may carry it, and
 * assembled once per assembler input (.ifndef), since -flto puts several
 * units' top-level asm into one; hidden, so that no shared object
 * exports it.
 */
#define SYSLET_DETAIL_ASM_BEGIN(name)					\
	".ifndef " #name "\n"						\
	".pushsection .text." #name ",\"axG\",@progbits,"		\
	#name ",comdat\n"						\
	".weak " #name "\n"						\
	".hidden " #name "\n"						\
	".type " #name ", @function\n"					\
	#name ":\n"							\
	"	.cfi_startproc\n"					\
	"	push %rbp\n"						\
	"	.cfi_adjust_cfa_offset 8\n"				\
	"	.cfi_rel_offset %rbp, 0\n"				\
	"	push %rbx\n"						\
	"	.cfi_adjust_cfa_offset 8\n"				\
	"	.cfi_rel_offset %rbx, 0\n"				\
	"	push %r12\n"						\
	"	.cfi_adjust_cfa_offset 8\n"				\
	"	.cfi_rel_offset %r12, 0\n"				\
	"	push %r13\n"						\
	"	.cfi_adjust_cfa_offset 8\n"				\
	"	.cfi_rel_offset %r13, 0\n"				\
	"	push %r14\n"						\
	"	.cfi_adjust_cfa_offset 8\n"				\
	"	.cfi_rel_offset %r14, 0\n"				\
	"	push %r15\n"						\
	"	.cfi_adjust_cfa_offset 8\n"				\
	"	.cfi_rel_offset %r15, 0\n"
#define SYSLET_DETAIL_ASM_END(name)					\
	"3:	pop %r15\n"						\
	"	.cfi_adjust_cfa_offset -8\n"				\
	"	.cfi_restore %r15\n"					\
	"	pop %r14\n"						\
	"	.cfi_adjust_cfa_offset -8\n"				\
	"	.cfi_restore %r14\n"					\
	"	pop %r13\n"						\
	"	.cfi_adjust_cfa_offset -8\n"				\
	"	.cfi_restore %r13\n"					\
	"	pop %r12\n"						\
	"	.cfi_adjust_cfa_offset -8\n"				\
	"	.cfi_restore %r12\n"					\
	"	pop %rbx\n"						\
	"	.cfi_adjust_cfa_offset -8\n"				\
	"	.cfi_restore %rbx\n"					\
	"	pop %rbp\n"						\
	"	.cfi_adjust_cfa_offset -8\n"				\
	"	.cfi_restore %rbp\n"					\
	"	ret\n"							\
	"	.cfi_endproc\n"						\
	".size " #name ", .-" #name "\n"				\
	".popsection\n"							\
	".endif\n"

/*
 * long syslet_threadlet_enter(void (*fn)(void *), void *arg,
 *			       async_head_user *pool, std::uint64_t event)
 *
 * threadlet_on(), then fn(arg) on the stack it returns; threadlet_off():
 * 1 back on the caller's stack, 0 (this task is the lent thread now)
 * async_thread(event), which does not return here. The caller's restore
 * point after a miss pops the callee-saved registers pushed here and
 * returns 0. Its CFI lets a debugger or perf unwind from fn to the
 * caller (through rbx while fn runs on the lent thread's stack). fn must
 * not throw (threadlet_entry is noexcept).
 */
extern "C" long syslet_threadlet_enter(void (*fn)(void *), void *arg,
				       async_head_user *pool,
				       std::uint64_t event) noexcept;
asm(SYSLET_DETAIL_ASM_BEGIN(syslet_threadlet_enter)
	"	mov %rdi, %r12\n"
	"	mov %rsi, %r13\n"
	"	mov %rdx, %r14\n"
	"	mov %rcx, %r15\n"
	"	mov %rsp, %rdi\n"
	"	lea 3f(%rip), %rsi\n"
	"	mov %r14, %rdx\n"
	"	mov $466, %eax\n"
	"	syscall\n"
	"	test %rax, %rax\n"
	"	js 3f\n"
	"	jz 2f\n"
	"	mov %rsp, %rbx\n"
	/* On the lent thread's stack: the caller's frame is found via rbx. */
	"	.cfi_def_cfa %rbx, 56\n"
	"	mov %rax, %rsp\n"
	"	mov %r13, %rdi\n"
	"	call *%r12\n"
	"	mov $467, %eax\n"
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jz 1f\n"
	"	mov %rbx, %rsp\n"
	"	.cfi_def_cfa %rsp, 56\n"
	"	jmp 3f\n"
	"1:	.cfi_def_cfa %rbx, 56\n"
	"	mov %r15, %rdi\n"
	"	mov %r14, %rsi\n"
	"	xor %edx, %edx\n"
	"	mov $465, %eax\n"
	"	syscall\n"
	"	ud2\n"
	"2:	.cfi_def_cfa %rsp, 56\n"
	"	sub $8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	mov %r13, %rdi\n"
	"	call *%r12\n"
	"	add $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	mov $1, %eax\n"
	SYSLET_DETAIL_ASM_END(syslet_threadlet_enter));
static_assert(detail::nr_async_thread == 465 && detail::nr_threadlet_on == 466 &&
	      detail::nr_threadlet_off == 467,
	      "syslet_threadlet_enter has the x86-64 numbers written in");

/*
 * long syslet_threadlet_switch(threadlet_area *area, void (*fn)(void *),
 *				void *arg, async_head_user *pool,
 *				std::uint64_t event, std::uint64_t seq)
 *
 * A threadlet on area's lease, with no system call (threadlet_lease(2)):
 * 1, fn(arg) ran to its end in the caller; 0, it blocked, the caller
 * went on at the restore point (which pops the callee-saved registers
 * pushed here), and this task, the leased thread now, completes with
 * async_thread(event), which does not return here; 2, the lease read 0
 * once the area was active: nothing ran. seq is the area's active
 * number, never 0 nor used twice by the thread. Its CFI finds the
 * caller's frame through rbx while fn runs on the leased thread's stack.
 */
extern "C" long syslet_threadlet_switch(threadlet_area *area, void (*fn)(void *),
					void *arg, async_head_user *pool,
					std::uint64_t event,
					std::uint64_t seq) noexcept;
asm(SYSLET_DETAIL_ASM_BEGIN(syslet_threadlet_switch)
	"	mov %rdi, %r12\n"
	"	mov %r8, %r13\n"
	"	mov %rcx, %r14\n"
	"	mov %r9, %rbp\n"
	"	mov %rsp, %rbx\n"
	"	lea 3f(%rip), %rax\n"
	"	mov %rax, 8(%r12)\n"
	"	mov %rsp, 16(%r12)\n"
	"	rdfsbase %rax\n"
	"	mov %rax, 24(%r12)\n"
	"	mov %rbp, %rax\n"
	"	xchg %rax, (%r12)\n"
	"	mov 32(%r12), %rax\n"
	"	test %rax, %rax\n"
	"	jz 4f\n"
	"	mov 40(%r12), %rcx\n"
	"	wrfsbase %rcx\n"
	"	mov %rax, %rsp\n"
	/* On the leased thread's stack: the caller's frame is found via rbx. */
	"	.cfi_def_cfa %rbx, 56\n"
	"	mov %rdx, %rdi\n"
	"	call *%rsi\n"
	"	mov %rbp, %rax\n"
	"	xor %ecx, %ecx\n"
	"	lock cmpxchg %rcx, (%r12)\n"
	"	jne 1f\n"
	"	mov 24(%r12), %rax\n"
	"	wrfsbase %rax\n"
	"	mov %rbx, %rsp\n"
	"	.cfi_def_cfa %rsp, 56\n"
	"	mov $1, %eax\n"
	"	jmp 3f\n"
	"1:	.cfi_def_cfa %rbx, 56\n"
	"	mov %r13, %rdi\n"
	"	mov %r14, %rsi\n"
	"	xor %edx, %edx\n"
	"	mov $465, %eax\n"
	"	syscall\n"
	"	ud2\n"
	"4:	.cfi_def_cfa %rsp, 56\n"
	"	movq $0, (%r12)\n"
	"	mov $2, %eax\n"
	SYSLET_DETAIL_ASM_END(syslet_threadlet_switch));
static_assert(offsetof(threadlet_area, active) == 0 &&
	      offsetof(threadlet_area, restore_ip) == 8 &&
	      offsetof(threadlet_area, restore_sp) == 16 &&
	      offsetof(threadlet_area, caller_fs) == 24 &&
	      offsetof(threadlet_area, lease_sp) == 32 &&
	      offsetof(threadlet_area, lease_fs) == 40,
	      "syslet_threadlet_switch has the area's offsets written in");
#undef SYSLET_DETAIL_ASM_BEGIN
#undef SYSLET_DETAIL_ASM_END
#endif

// One lent thread's stack: [guard, guard + guard_size) is PROT_NONE, the
// stack proper (and glibc's TLS at its top) above it.
struct stack_region {
	const void *guard;
	std::size_t guard_size;
	const void *base;
	std::size_t size;
};

// Threads an application makes for its threadlets, declared, not hidden:
// with kernel support they are lent to the kernel (async_thread()) and a
// threadlet runs on one's TLS and stack, moving to it if it blocks;
// without, they run threadlets from a queue and every threadlet is
// asynchronous. Its completions (the events given to threadlet_exec())
// arrive in its own ring, with the kernel's ring rules.
//
// Every thread has an mmap()ed stack with a guard page below it: a
// threadlet that overflows it gets SIGSEGV with si_addr in the guard.
// Pool threads block every signal but those a fault raises (SIGSEGV,
// SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS). Lifetimes: the pool outlives the
// threadlets run on it; its destructor waits for the ones in flight.

// What threadlet_exec() does when the pool has no room for another
// threadlet that may go asynchronous: every frame is in use (threads + 64
// of them), or, with kernel support, no lent thread is parked because all
// carry threadlets that blocked. A threadlet that cannot move for other
// reasons (a traced caller, say: see threadlet_on(2)) still runs in place.
enum class if_busy : std::uint8_t {
	run_inline,	// call it in the caller, as a plain call (ran_in_place())
	fail,		// EAGAIN with nothing run: pop events, then try again
	wait,		// until a frame or a lent thread is free; EAGAIN only
			// when the pool's ring is full (lent threads wait for
			// pop() to post), where waiting could never end
};

class threadlet_pool {
public:
	struct options {
		unsigned threads = 4;
		std::size_t stack_size = 256 * 1024;	// each, guard not included
		std::size_t ring_entries = 256;		// a power of two
		backend use = backend::automatic;
		if_busy when_busy = if_busy::run_inline;
		// An eventfd every event signals once pop() can take it, as
		// for a completion_ring (ring_options::eventfd); -1: none.
		int eventfd = -1;
	};

	threadlet_pool() : threadlet_pool(options{}) {}
	// std::invalid_argument for zero threads, a ring size that is not a
	// power of two or a stack under 64 KiB; std::system_error when
	// memory or threads cannot be had.
	explicit threadlet_pool(options o);
	~threadlet_pool();
	threadlet_pool(const threadlet_pool &) = delete;
	threadlet_pool &operator=(const threadlet_pool &) = delete;

	bool uses_kernel() const noexcept { return kernel_; }
	std::size_t threads() const noexcept { return threads_.size(); }
	std::span<const stack_region> stacks() const noexcept { return stacks_; }
	// Threadlets that went asynchronous and whose event was not popped.
	std::size_t in_flight() const noexcept
	{
		const std::ptrdiff_t n = in_flight_.load(std::memory_order_relaxed);

		return n > 0 ? static_cast<std::size_t>(n) : 0;
	}
	if_busy when_busy() const noexcept { return when_busy_; }
	// Threadlets that ran as a plain call: the kernel found no lent
	// thread that fits, or all frames were in use (if_busy::run_inline).
	std::uint64_t ran_in_place() const noexcept
	{
		return std::atomic_ref<__u64>(const_cast<__u64 &>(head_.sync_chains))
			       .load(std::memory_order_relaxed) +
		       in_place_.load(std::memory_order_relaxed);
	}

	// The next event, or nullopt when none has arrived.
	std::optional<std::uint64_t> pop() noexcept;
	// Wait until at least min events are ready: ready, timed_out, EINTR
	// (kernel backend), EINVAL for more than the ring holds.
	result<wait_status> wait(std::size_t min = 1,
				 std::optional<std::chrono::nanoseconds> timeout =
					 std::nullopt) noexcept;

	async_head_user &head() noexcept { return head_; }

private:
	template <class F>
	friend result<int> detail::start_threadlet(threadlet_pool &, std::uint64_t, F &&);
	friend void detail::threadlet_entry(void *) noexcept;

	detail::threadlet_frame *try_take_frame() noexcept;
	detail::threadlet_frame *take_frame() noexcept;
	void give_frame(detail::threadlet_frame *f) noexcept;
	result<int> exec(detail::threadlet_frame *f, std::uint64_t event) noexcept;
	long run_on_lease(detail::threadlet_frame *f, std::uint64_t event) noexcept;
	bool await_lent_thread() noexcept;
	std::size_t posted() const noexcept;
	void post(std::uint64_t event) noexcept;
	void lend() noexcept;
	void await_lent() noexcept;
	void serve() noexcept;
	void shut_down() noexcept;

	std::unique_ptr<__u64[]> slots_;
	std::size_t mask_;
	async_head_user head_{};
	bool kernel_;
	if_busy when_busy_;
	std::unique_ptr<detail::threadlet_frame[]> frames_;
	// Free frames: a lock-free stack, the top's 1-based index in the low
	// half, a count of changes in the high half against ABA. Only a take
	// that waits for a frame (if_busy::wait) locks, and only a give that
	// finds such a waiter.
	static constexpr std::uint64_t free_index_ = 0xffffffff;
	std::atomic<std::uint64_t> free_top_{0};
	std::atomic<unsigned> frame_waiters_{0};
	std::mutex frames_mtx_;
	std::condition_variable frame_freed_;
	// Counted once the threadlet moved, so the cached path has no atomic
	// of its own: pop() may count its event first, hence signed.
	std::atomic<std::ptrdiff_t> in_flight_{0};
	std::atomic<std::uint64_t> in_place_{0};
	std::atomic<unsigned> gone_{0};
	std::atomic<unsigned> started_{0};
	std::unique_ptr<std::atomic<pid_t>[]> tids_;
	std::size_t tids_size_ = 0;
	std::vector<pthread_t> threads_;
	std::vector<stack_region> stacks_;
	// Fallback: the queue, and posting with the kernel's rules.
	std::mutex mtx_;
	std::condition_variable work_cv_, ready_cv_, space_cv_;
	detail::fifo<detail::threadlet_frame, &detail::threadlet_frame::next_free> queue_;
	bool stopping_ = false;
};

// Run fn() as a threadlet on pool: 1 when it ran to its end before this
// returns (in the caller, on a pool thread's TLS and stack, or as a plain
// call when the pool is busy and says if_busy::run_inline), 0 when it
// went asynchronous (it blocked; or, without kernel support, always): its
// event then arrives in the pool's ring when fn() has returned. event
// must not be 0, nor have bit 63 set, which the library's own coroutine
// events have (EINVAL). fn is moved (or copied) into the pool: it must
// fit threadlet_capture_max, and an exception from that copy propagates
// with nothing run. An exception escaping fn() calls std::terminate()
// wherever fn() runs, in the caller or on a pool thread, as one escaping
// a std::thread's function does; a threadlet that can fail reports it
// through what it captured. Errors (nothing ran): EINVAL, EAGAIN (the
// pool is busy and says if_busy::fail, or if_busy::wait with its ring
// full), EPERM (syslets switched off since the pool was made).
template <class F>
result<int> threadlet_exec(threadlet_pool &pool, std::uint64_t event, F &&fn)
{
	using Fn = std::decay_t<F>;
	static_assert(std::is_invocable_v<Fn &>, "a threadlet is called with no arguments");
	static_assert(sizeof(Fn) <= threadlet_capture_max,
		      "capture less by value: a threadlet must fit syslet::threadlet_capture_max");
	static_assert(alignof(Fn) <= alignof(std::max_align_t));

	if (!event || (event & detail::awaiter_event))
		return failure{EINVAL};
	return detail::start_threadlet(pool, event, std::forward<F>(fn));
}

template <class F>
result<int> detail::start_threadlet(threadlet_pool &pool, std::uint64_t event, F &&fn)
{
	using Fn = std::decay_t<F>;

	detail::threadlet_frame *f = pool.take_frame();
	if (!f) {
		if (pool.when_busy_ != if_busy::run_inline)
			return failure{EAGAIN};
		pool.in_place_.fetch_add(1, std::memory_order_relaxed);
		[&fn]() noexcept { std::invoke(fn); }();
		return 1;
	}
#if defined(__cpp_exceptions)
	try {
		::new (static_cast<void *>(f->storage)) Fn(std::forward<F>(fn));
	} catch (...) {
		pool.give_frame(f);
		throw;
	}
#else
	::new (static_cast<void *>(f->storage)) Fn(std::forward<F>(fn));
#endif
	f->run = [](detail::threadlet_frame *fr) noexcept {
		Fn *c = std::launder(reinterpret_cast<Fn *>(fr->storage));
		std::invoke(*c);
		c->~Fn();
	};
	f->drop = [](detail::threadlet_frame *fr) noexcept {
		std::launder(reinterpret_cast<Fn *>(fr->storage))->~Fn();
	};
	return pool.exec(f, event);
}

inline void detail::threadlet_entry(void *frame) noexcept
{
	auto *f = static_cast<threadlet_frame *>(frame);
	threadlet_pool *pool = f->pool;

	f->run(f);
	pool->give_frame(f);
}

inline threadlet_pool::threadlet_pool(options o)
	: mask_(o.ring_entries - 1),
	  kernel_(o.use == backend::automatic && kernel_support().usable()),
	  when_busy_(o.when_busy)
{
	if (!o.threads)
		detail::raise(std::invalid_argument("syslet: a threadlet_pool needs a thread"));
	if (!o.ring_entries || (o.ring_entries & mask_))
		detail::raise(std::invalid_argument("syslet: ring entries must be a power of two"));
	if (o.stack_size < 64 * 1024)
		detail::raise(std::invalid_argument("syslet: threadlet stacks need 64 KiB at least"));
	slots_ = std::make_unique<__u64[]>(o.ring_entries);
	head_.size = sizeof(head_);
	head_.completion_ring = detail::addr(slots_.get());
	head_.ring_size_bytes = o.ring_entries * sizeof(__u64);
	// threadlet_on() then says EAGAIN instead of running in place.
	if (when_busy_ != if_busy::run_inline)
		head_.flags = SYSLET_AHU_EAGAIN_AT_LIMIT;
	if (kernel_) {
		[[maybe_unused]] static const int registered =
			pthread_atfork(nullptr, nullptr, detail::forget_lease_in_child);
	}
	if (o.eventfd >= 0)
		detail::name_eventfd(head_, o.eventfd,
				     "syslet: threadlet_pool::options::eventfd is not an eventfd");

	const std::size_t nframes = o.threads + 64;
	frames_ = std::make_unique<detail::threadlet_frame[]>(nframes);
	for (std::size_t i = 0; i < nframes; i++) {
		frames_[i].pool = this;
		give_frame(&frames_[i]);
	}

	tids_ = std::make_unique<std::atomic<pid_t>[]>(o.threads);
	tids_size_ = o.threads;
	const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
	const std::size_t size = (o.stack_size + page - 1) & ~(page - 1);
	// A fault signal the thread blocks kills the process instead of
	// reaching a handler: those stay open for the threadlets' code.
	sigset_t all, old;
	sigfillset(&all);
	for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS})
		sigdelset(&all, sig);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int err = 0;
	for (unsigned i = 0; i < o.threads && !err; i++) {
		void *m = ::mmap(nullptr, size + page, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (m == MAP_FAILED) {
			err = errno;
			break;
		}
		if (::mprotect(m, page, PROT_NONE)) {
			err = errno;
			::munmap(m, size + page);
			break;
		}
		pthread_attr_t attr;
		pthread_t t;
		pthread_attr_init(&attr);
		pthread_attr_setstack(&attr, static_cast<char *>(m) + page, size);
		err = pthread_create(&t, &attr, [](void *p) -> void * {
			auto *pool = static_cast<threadlet_pool *>(p);
			const unsigned me = pool->started_.fetch_add(1);
			pool->tids_[me].store(::gettid(), std::memory_order_release);
			if (pool->kernel_)
				pool->lend();
			else
				pool->serve();
			pool->gone_.fetch_add(1, std::memory_order_release);
			return nullptr;
		}, this);
		pthread_attr_destroy(&attr);
		if (err) {
			::munmap(m, size + page);
			break;
		}
		threads_.push_back(t);
		stacks_.push_back({m, page, static_cast<char *>(m) + page, size});
	}
	pthread_sigmask(SIG_SETMASK, &old, nullptr);
	if (err) {
		shut_down();
		detail::raise(std::system_error(err, std::generic_category(),
						"syslet: threadlet_pool"));
	}
	if (kernel_)
		await_lent();
}

// A thread not parked yet cannot be borrowed, and the first threadlets
// would run as plain calls: wait (up to a second) until every thread
// sleeps in async_thread(), which /proc/<tid>/syscall shows. Without
// /proc, go on: threadlets run in place until the threads are there.
inline void threadlet_pool::await_lent() noexcept
{
	char want[16];
	std::snprintf(want, sizeof(want), "%ld ", detail::nr_async_thread);
	for (std::size_t i = 0; i < tids_size_; i++) {
		for (int tries = 0; tries < 1000; tries++) {
			const pid_t tid = tids_[i].load(std::memory_order_acquire);
			char path[64], buf[32] = {};

			if (tid) {
				std::snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
				const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
				if (fd < 0)
					return;
				const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
				::close(fd);
				if (n > 0 && !std::strncmp(buf, want, std::strlen(want)))
					break;
			}
			::usleep(1000);
		}
	}
}

inline threadlet_pool::~threadlet_pool() { shut_down(); }

// Lent until released: a stop signal makes async_thread() return EINTR.
inline void threadlet_pool::lend() noexcept
{
	while (::syscall(detail::nr_async_thread, 0, &head_, 0) != 0 && errno == EINTR)
		;
}

inline void threadlet_pool::serve() noexcept
{
	for (;;) {
		detail::threadlet_frame *f;
		{
			std::unique_lock lk(mtx_);
			work_cv_.wait(lk, [&] { return !queue_.empty() || stopping_; });
			f = queue_.pop();
			if (!f)
				return;
		}
		const std::uint64_t event = f->event;
		detail::threadlet_entry(f);
		post(event);
	}
}

// In-flight threadlets end first (their events are dropped), then the
// threads are released and joined.
inline void threadlet_pool::shut_down() noexcept
{
	while (in_flight_.load(std::memory_order_relaxed)) {
		while (pop())
			;
		if (in_flight_.load(std::memory_order_relaxed))
			(void)wait(1, std::chrono::milliseconds(10));
	}
	// Lent threads read the head to post: only now may it change, for the
	// release calls below, which check it too.
	{
		std::lock_guard lk(mtx_);
		detail::forget_eventfd(head_);
	}
	if (kernel_) {
		const unsigned n = static_cast<unsigned>(threads_.size());
		while (gone_.load(std::memory_order_acquire) < n) {
			::syscall(detail::nr_async_thread, 0, &head_, SYSLET_LEND_RELEASE);
			if (gone_.load(std::memory_order_acquire) < n)
				::usleep(200);
		}
	} else {
		{
			std::lock_guard lk(mtx_);
			stopping_ = true;
		}
		work_cv_.notify_all();
	}
	for (pthread_t t : threads_)
		pthread_join(t, nullptr);
	for (const stack_region &s : stacks_)
		::munmap(const_cast<void *>(s.guard), s.guard_size + s.size);
	threads_.clear();
	stacks_.clear();
}

inline detail::threadlet_frame *threadlet_pool::try_take_frame() noexcept
{
	std::uint64_t top = free_top_.load(std::memory_order_seq_cst);

	while (top & free_index_) {
		detail::threadlet_frame *f = &frames_[(top & free_index_) - 1];
		const std::uint64_t next = ((top | free_index_) + 1) |
			f->next_index.load(std::memory_order_relaxed);

		if (free_top_.compare_exchange_weak(top, next,
						    std::memory_order_acquire))
			return f;
	}
	return nullptr;
}

// A frame is in use until its threadlet has ended, whoever runs it, so
// waiting for one never depends on the consumer popping events.
inline detail::threadlet_frame *threadlet_pool::take_frame() noexcept
{
	detail::threadlet_frame *f = try_take_frame();

	if (f || when_busy_ != if_busy::wait)
		return f;
	// Counted before the look under the lock: a give after it sees us.
	frame_waiters_.fetch_add(1, std::memory_order_seq_cst);
	{
		std::unique_lock lk(frames_mtx_);
		frame_freed_.wait(lk, [&] { return (f = try_take_frame()) != nullptr; });
	}
	frame_waiters_.fetch_sub(1, std::memory_order_relaxed);
	return f;
}

inline void threadlet_pool::give_frame(detail::threadlet_frame *f) noexcept
{
	const auto mine = static_cast<std::uint64_t>(f - frames_.get() + 1);
	std::uint64_t top = free_top_.load(std::memory_order_relaxed);

	do
		f->next_index.store(static_cast<std::uint32_t>(top & free_index_),
				    std::memory_order_relaxed);
	while (!free_top_.compare_exchange_weak(top,
						((top | free_index_) + 1) | mine,
						std::memory_order_seq_cst,
						std::memory_order_relaxed));
	if (frame_waiters_.load(std::memory_order_seq_cst)) {
		// Taken so that a waiter between its look and its sleep hears it.
		{ std::lock_guard lk(frames_mtx_); }
		frame_freed_.notify_one();
	}
}

// A lent thread comes back when the threadlet it carries ends: it posts
// that threadlet's event, then parks again. So wait for the next posting,
// bounded, since the park follows the post: false when the ring is full,
// where the lent threads wait for pop() and waiting here would not end.
inline bool threadlet_pool::await_lent_thread() noexcept
{
	const std::size_t ready = posted();

	if (ready > mask_)
		return false;
	(void)detail::ring_wait(head_, ready + 1, std::chrono::milliseconds(1));
	return true;
}

inline result<int> threadlet_pool::exec(detail::threadlet_frame *f,
					std::uint64_t event) noexcept
{
	if (!kernel_) {
		in_flight_.fetch_add(1, std::memory_order_relaxed);
		f->event = event;
		{
			std::lock_guard lk(mtx_);
			queue_.push(f);
		}
		work_cv_.notify_one();
		return 0;
	}
#if defined(__x86_64__) && !defined(__ILP32__)
	long r = run_on_lease(f, event);
	if (r == 2) {
		do
			r = syslet_threadlet_enter(detail::threadlet_entry, f,
						   &head_, event);
		while (r == -EAGAIN && when_busy_ == if_busy::wait &&
		       await_lent_thread());
	}
	if (r == 0)
		in_flight_.fetch_add(1, std::memory_order_relaxed);
	if (r < 0) {
		f->drop(f);
		give_frame(f);
		return failure{static_cast<int>(-r)};
	}
	return static_cast<int>(r);
#else
	return failure{ENOSYS};
#endif
}

#if defined(__x86_64__) && !defined(__ILP32__)
// The cached path with no system call, on the calling thread's lease of
// one of this pool's threads, leased first if it holds none: 1 or 0 as
// threadlet_on(2)'s path; 2 with nothing run when no lease can be had.
// A lease revoked or refused meanwhile reads 0, and is given back.
inline long threadlet_pool::run_on_lease(detail::threadlet_frame *f,
					 std::uint64_t event) noexcept
{
	detail::thread_lease &l = detail::this_thread_lease;

	if (!detail::user_fsgsbase())
		return 2;
	if (l.pool != &head_ || !l.area.lease_sp) {
		l.pool = ::syscall(detail::nr_threadlet_lease, &l.area, &head_, 0) ?
				 nullptr : &head_;
		if (!l.pool)
			return 2;
	}
	const long r = syslet_threadlet_switch(&l.area, detail::threadlet_entry,
					       f, &head_, event, ++l.seq);

	if (r != 0 && !l.area.lease_sp)
		(void)::syscall(detail::nr_threadlet_lease, &l.area, nullptr,
				SYSLET_LEASE_RETURN);
	return r;
}
#endif

inline std::size_t threadlet_pool::posted() const noexcept
{
	return detail::ring_ready(head_);
}

inline void threadlet_pool::post(std::uint64_t event) noexcept
{
	std::unique_lock lk(mtx_);
	detail::ring_post(head_, slots_.get(), mask_, lk, space_cv_, event);
	detail::signal_eventfd(head_.flags & SYSLET_AHU_EVENTFD ?
				       static_cast<int>(head_.eventfd) : -1);
	lk.unlock();
	ready_cv_.notify_all();
}

// The event of a threadlet a coroutine awaits (syslet::threadlet) is not
// returned: its coroutine resumes here.
inline std::optional<std::uint64_t> threadlet_pool::pop() noexcept
{
	for (;;) {
		const __u64 v = detail::ring_take(head_, slots_.get(), mask_);

		if (!v)
			return std::nullopt;
		in_flight_.fetch_sub(1, std::memory_order_relaxed);
		if (!kernel_)
			space_cv_.notify_all();
		if (!(v & detail::awaiter_event))
			return v;
		std::coroutine_handle<>::from_address(
			reinterpret_cast<void *>(static_cast<std::uintptr_t>(
				v & ~detail::awaiter_event)))
			.resume();
	}
}

inline result<wait_status> threadlet_pool::wait(
	std::size_t min, std::optional<std::chrono::nanoseconds> timeout) noexcept
{
	if (min > mask_ + 1)
		return failure{EINVAL};
	if (kernel_)
		return detail::ring_wait(head_, min, timeout);
	return detail::ring_wait(head_, min, timeout, mtx_, ready_cv_, space_cv_);
}

/* ---------------------------------------------------------------------- */
/* Coroutines                                                              */

// co_await syslet::async(ring, c): submit c and go on once it has ended.
// A chain that ends inside submit() does not suspend the coroutine at
// all: nothing is allocated or switched on the cached path. A pending one
// resumes it from the ring's pop() (or completions()) on the thread that
// drives the ring, on every backend. The result: the atom c ended at, or
// submit()'s error, with nothing run. c must stay put until then (in the
// coroutine's frame, say); the ring must not be destroyed while a
// coroutine awaits one of its chains.
class chain_awaiter {
public:
	chain_awaiter(completion_ring &ring, chain_base &c) noexcept
		: ring_(ring), c_(c) {}

	bool await_ready() const noexcept { return false; }
	bool await_suspend(std::coroutine_handle<> h) noexcept
	{
		// Set first, so that an inline ending is not posted (post_inline).
		c_.awaiter_ = h;
		auto s = submit(ring_, c_);
		if (s && *s == status::pending)
			return true;
		c_.awaiter_ = nullptr;
		if (!s)
			err_ = s.error().value();
		return false;
	}
	result<std::size_t> await_resume() const noexcept
	{
		if (err_)
			return failure{err_};
		return *c_.last();
	}

private:
	completion_ring &ring_;
	chain_base &c_;
	int err_ = 0;
};

inline chain_awaiter async(completion_ring &ring, chain_base &c) noexcept
{
	return {ring, c};
}

namespace detail {
// What a threadlet's function returned, or the exception that escaped it.
template <class R>
struct threadlet_outcome {
	std::optional<R> value;
	void set(auto &fn) { value.emplace(std::invoke(fn)); }
	R take() { return std::move(*value); }
};
template <>
struct threadlet_outcome<void> {
	void set(auto &fn) { std::invoke(fn); }
	void take() noexcept {}
};
} // namespace detail

// co_await syslet::threadlet(pool, fn): run fn() as a threadlet and go on
// with what it returned. One that runs to its end in the caller (cached)
// does not suspend the coroutine; one that blocked resumes it from the
// pool's pop() (or wait() and pop()) on the thread that drives the pool,
// on every backend. The result: fn()'s value, or threadlet_exec()'s
// error (EAGAIN from a busy pool that says if_busy::fail, say). Unlike
// threadlet_exec(), an exception escaping fn() is caught where fn() ran
// and thrown again from co_await, in the coroutine. fn is kept in the
// coroutine's frame; the pool's frame holds only a pointer to it.
template <class F>
class threadlet_awaiter {
	using R = std::invoke_result_t<F &>;

public:
	threadlet_awaiter(threadlet_pool &pool, F fn) : pool_(pool), fn_(std::move(fn)) {}

	bool await_ready() const noexcept { return false; }
	bool await_suspend(std::coroutine_handle<> h) noexcept
	{
		const auto event = detail::awaiter_event |
				   static_cast<std::uint64_t>(
					   reinterpret_cast<std::uintptr_t>(h.address()));
		auto r = detail::start_threadlet(pool_, event, [this]() noexcept { run(); });
		if (!r) {
			err_ = r.error().value();
			return false;
		}
		return *r == 0;
	}
	result<R> await_resume()
	{
#if defined(__cpp_exceptions)
		if (thrown_)
			std::rethrow_exception(std::exchange(thrown_, nullptr));
#endif
		if (err_)
			return failure{err_};
		if constexpr (std::is_void_v<R>)
			return {};
		else
			return out_.take();
	}

private:
	void run() noexcept
	{
#if defined(__cpp_exceptions)
		try {
			out_.set(fn_);
		} catch (...) {
			thrown_ = std::current_exception();
		}
#else
		out_.set(fn_);
#endif
	}

	threadlet_pool &pool_;
	F fn_;
	detail::threadlet_outcome<R> out_;
#if defined(__cpp_exceptions)
	std::exception_ptr thrown_;
#endif
	int err_ = 0;
};

template <class F>
threadlet_awaiter<std::decay_t<F>> threadlet(threadlet_pool &pool, F &&fn)
{
	return {pool, std::forward<F>(fn)};
}

// A coroutine type to use them with, for code that has none: it starts
// at once, runs until it first suspends, and frees its frame when it
// ends; an exception escaping it calls std::terminate(). The awaiters
// above work with any coroutine type.
struct detached {
	struct promise_type {
		detached get_return_object() noexcept { return {}; }
		std::suspend_never initial_suspend() noexcept { return {}; }
		std::suspend_never final_suspend() noexcept { return {}; }
		void return_void() noexcept {}
		void unhandled_exception() noexcept { std::terminate(); }
	};
};

} // namespace syslet

#endif /* SYSLET_HPP */
