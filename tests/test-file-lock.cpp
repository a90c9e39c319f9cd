// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of flock-based locks: exclusion between holders, shared holders, release on destruction.
#include "error.hpp"
#include "fake_root.hpp"
#include "file_lock.hpp"
#include "owned_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <chrono>

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

namespace {
// Whether another process could take the lock now (flock locks belong to open file descriptions,
// so a child with its own open() competes like any other process).
bool other_process_can_lock(int dir_fd, const std::filesystem::path& path, FileLock::Kind kind)
{
    const pid_t child = ::fork();
    if (child == 0) {
        bool got = false;
        try {
            got = FileLock::acquire(dir_fd, "lock", kind, FileLock::Wait::no, path).has_value();
        } catch (...) {
            ::_exit(2);
        }
        ::_exit(got ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) != 2);
    return WEXITSTATUS(status) == 0;
}
} // namespace

TEST_CASE("an exclusive lock excludes others until released")
{
    FakeRoot root;
    const auto dir = open_owned_directory(root.path(), 0755);
    const auto path = root.path() / "lock";
    {
        auto lock = FileLock::acquire(dir.get(), "lock", FileLock::Kind::exclusive, FileLock::Wait::no, path);
        REQUIRE(lock.has_value());
        CHECK_FALSE(other_process_can_lock(dir.get(), path, FileLock::Kind::exclusive));
        CHECK_FALSE(other_process_can_lock(dir.get(), path, FileLock::Kind::shared));
        // Within one process a second open file description competes too.
        CHECK_FALSE(FileLock::acquire(dir.get(), "lock", FileLock::Kind::exclusive, FileLock::Wait::no, path));
    }
    CHECK(other_process_can_lock(dir.get(), path, FileLock::Kind::exclusive));
}

TEST_CASE("shared locks coexist and keep out an exclusive one")
{
    FakeRoot root;
    const auto dir = open_owned_directory(root.path(), 0755);
    const auto path = root.path() / "lock";
    auto lock = FileLock::acquire(dir.get(), "lock", FileLock::Kind::shared, FileLock::Wait::no, path);
    REQUIRE(lock.has_value());
    CHECK(other_process_can_lock(dir.get(), path, FileLock::Kind::shared));
    CHECK_FALSE(other_process_can_lock(dir.get(), path, FileLock::Kind::exclusive));
}

TEST_CASE("a symlink planted as the lock file is refused")
{
    FakeRoot root;
    root.write("/target", "");
    root.symlink((root / "/target").string(), "/lock");
    const auto dir = open_owned_directory(root.path(), 0755);
    CHECK_THROWS_AS(FileLock::acquire(dir.get(), "lock", FileLock::Kind::exclusive, FileLock::Wait::no,
                                      root.path() / "lock"),
                    Error);
}

namespace {
volatile sig_atomic_t own_alarms = 0;
extern "C" void count_own_alarm(int)
{
    own_alarms = own_alarms + 1;
}
} // namespace

TEST_CASE("lock_within: at once when free, false after the timeout when held, the caller's signal set-up kept")
{
    FakeRoot root;
    root.write("/run/lock", "", 0600);
    const auto path = root / "/run/lock";
    const UniqueFd mine(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    const UniqueFd other(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    REQUIRE(mine);
    REQUIRE(other);
    // The caller's own SIGALRM handler, blocked, as a tool's might be.
    struct sigaction own {};
    own.sa_handler = count_own_alarm;
    REQUIRE(::sigaction(SIGALRM, &own, nullptr) == 0);
    sigset_t alarm_only;
    sigemptyset(&alarm_only);
    sigaddset(&alarm_only, SIGALRM);
    REQUIRE(::sigprocmask(SIG_BLOCK, &alarm_only, nullptr) == 0);

    CHECK(lock_within(mine.get(), LOCK_SH, std::chrono::milliseconds(100), path));
    CHECK(lock_within(other.get(), LOCK_SH, std::chrono::milliseconds(100), path)); // shared with mine
    CHECK(::flock(other.get(), LOCK_UN) == 0);
    const auto started = std::chrono::steady_clock::now();
    CHECK_FALSE(lock_within(other.get(), LOCK_EX, std::chrono::milliseconds(200), path));
    const auto waited = std::chrono::steady_clock::now() - started;
    CHECK(waited >= std::chrono::milliseconds(200));
    CHECK(waited < std::chrono::seconds(5));

    // Put back as it was: the handler, the mask, no timer left running.
    struct sigaction now {};
    REQUIRE(::sigaction(SIGALRM, nullptr, &now) == 0);
    const bool handler_kept = now.sa_handler == count_own_alarm;
    CHECK(handler_kept);
    sigset_t mask;
    REQUIRE(::sigprocmask(SIG_BLOCK, nullptr, &mask) == 0);
    CHECK(sigismember(&mask, SIGALRM) == 1);
    itimerval timer{};
    REQUIRE(::getitimer(ITIMER_REAL, &timer) == 0);
    CHECK(timer.it_value.tv_sec == 0);
    CHECK(timer.it_value.tv_usec == 0);
    CHECK(own_alarms == 0);

    CHECK(::flock(mine.get(), LOCK_UN) == 0);
    CHECK(lock_within(other.get(), LOCK_EX, std::chrono::milliseconds(100), path));
    ::sigprocmask(SIG_UNBLOCK, &alarm_only, nullptr);
    ::signal(SIGALRM, SIG_DFL);
}
