// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of atomic file replacement: content, mode, no leftovers, old content kept on failure.
#include "atomic_file.hpp"
#include "error.hpp"
#include "fake_root.hpp"
#include "skip.hpp"
#include "owned_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;
using kmodtools::testing::read_file;

namespace {
std::vector<std::string> entries(const std::filesystem::path& dir)
{
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}
} // namespace

TEST_CASE("creates, then replaces, with exactly the mode asked for and no temporary left")
{
    FakeRoot root;
    const auto file = root / "/var/lib/kmod-tools/state";
    const auto old_umask = ::umask(077);
    replace_file_atomically(file, "one\n", 0644);
    ::umask(old_umask);
    CHECK(read_file(file) == "one\n");
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    // Missing parents are created, and as the owner-only-writable directories the rules want.
    REQUIRE(::stat(file.parent_path().c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);

    replace_file_atomically(file, "two\n", 0600);
    CHECK(read_file(file) == "two\n");
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(entries(file.parent_path()) == std::vector<std::string>{"state"});
}

TEST_CASE("a failed replacement leaves the old file and no temporary")
{
    FakeRoot root;
    const auto dir = root.mkdir("/state");
    const auto fd = open_owned_directory(dir, 0755);
    SUBCASE("rename fails: the name is taken by a non-empty directory")
    {
        root.write("/state/target/inner", "old");
        CHECK_THROWS_WITH_AS(replace_file_atomically(fd.get(), "target", "new", 0644, dir / "target"),
                             ("cannot replace " + (dir / "target").string() + ": Is a directory").c_str(), Error);
        CHECK(read_file(dir / "target/inner") == "old");
        CHECK(entries(dir) == std::vector<std::string>{"target"});
    }
    SUBCASE("the temporary file cannot be created")
    {
        if (::geteuid() == 0) {
            KMOD_TOOLS_SKIP("root ignores directory permissions; the rename case covers root");
        }
        root.write("/state/file", "old");
        ::chmod(dir.c_str(), 0555);
        CHECK_THROWS_AS(replace_file_atomically(fd.get(), "file", "new", 0644, dir / "file"), Error);
        CHECK(read_file(dir / "file") == "old");
    }
}

TEST_CASE("never writes through a symlinked directory")
{
    FakeRoot root;
    root.mkdir("/elsewhere");
    root.symlink((root / "/elsewhere").string(), "/run/kmod-tools");
    CHECK_THROWS_WITH_AS(replace_file_atomically(root / "/run/kmod-tools/state", "x", 0644),
                         ("refusing " + (root / "/run/kmod-tools").string() + ": it is a symlink").c_str(), Error);
    CHECK(entries(root / "/elsewhere").empty());
}

TEST_CASE("replacing a symlink replaces the link, not its target")
{
    FakeRoot root;
    root.write("/etc/shadow-like", "precious");
    root.mkdir("/run/kmod-tools");
    root.symlink((root / "/etc/shadow-like").string(), "/run/kmod-tools/state");
    replace_file_atomically(root / "/run/kmod-tools/state", "state", 0644);
    CHECK(read_file(root / "/etc/shadow-like") == "precious");
    CHECK(read_file(root / "/run/kmod-tools/state") == "state");
    CHECK_FALSE(std::filesystem::is_symlink(root / "/run/kmod-tools/state"));
}

TEST_CASE("bad names are refused")
{
    FakeRoot root;
    const auto fd = open_owned_directory(root.path(), 0755);
    CHECK_THROWS_AS(replace_file_atomically(fd.get(), "a/b", "x", 0644, "a/b"), Error);
    CHECK_THROWS_AS(replace_file_atomically(fd.get(), "", "x", 0644, ""), Error);
}

TEST_CASE("abandoned temporaries: a dead writer's and one from before this boot go, a live writer's stays")
{
    FakeRoot root;
    const auto dir = root.mkdir("/state");
    // A process id that is surely not running: a child that has been reaped.
    const pid_t dead = ::fork();
    REQUIRE(dead >= 0);
    if (dead == 0)
        ::_exit(0);
    int status = 0;
    REQUIRE(::waitpid(dead, &status, 0) == dead);
    const auto live = std::to_string(::getpid());

    root.write("/state/.record.tmp-" + std::to_string(dead) + "-0-1-0", "dead writer");
    root.write("/state/.record.tmp-" + live + "-0-1-0", "live writer");
    const auto old_file = root.write("/state/.idle.json.tmp-" + live + "-1-1-0", "from before the crash");
    // Its id is alive now, but the file was last written in 1990: before this boot.
    const timespec times[2] = {{631152000, 0}, {631152000, 0}};
    REQUIRE(::utimensat(AT_FDCWD, old_file.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
    root.write("/state/record", "a record, not a temporary");
    root.write("/state/.hidden", "not ours: no .tmp- marker");
    root.write("/state/.x.tmp-notapid-0", "not ours: no process id");

    const auto fd = open_owned_directory(dir, 0755);
    CHECK(remove_abandoned_temporaries(fd.get(), dir) == 2);
    CHECK(entries(dir) == std::vector<std::string>{".hidden", ".record.tmp-" + live + "-0-1-0", ".x.tmp-notapid-0",
                                                   "record"});
}
