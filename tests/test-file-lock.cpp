// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of flock-based locks: exclusion between holders, shared holders, release on destruction.
#include "error.hpp"
#include "fake_root.hpp"
#include "file_lock.hpp"
#include "owned_file.hpp"

#include <sys/wait.h>

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
