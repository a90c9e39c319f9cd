// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of opening owned state: symlinks, wrong types, foreign owners and loose permissions are refused.
#include "error.hpp"
#include "fake_root.hpp"
#include "skip.hpp"
#include "owned_file.hpp"
#include "text_file.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

TEST_CASE("owned directories")
{
    FakeRoot root;
    SUBCASE("missing, created with parents")
    {
        const auto fd = open_owned_directory(root / "/run/kmod-tools/sub", 0700);
        CHECK(fd.valid());
        CHECK(std::filesystem::is_directory(root / "/run/kmod-tools/sub"));
        CHECK_FALSE(open_owned_directory_if_exists(root / "/run/other").has_value());
    }
    SUBCASE("a symlink")
    {
        root.mkdir("/target");
        root.symlink((root / "/target").string(), "/run/kmod-tools");
        CHECK_THROWS_WITH_AS(open_owned_directory(root / "/run/kmod-tools", 0755),
                             ("refusing " + (root / "/run/kmod-tools").string() + ": it is a symlink").c_str(), Error);
    }
    SUBCASE("a file")
    {
        root.write("/run/kmod-tools", "");
        CHECK_THROWS_WITH_AS(open_owned_directory(root / "/run/kmod-tools", 0755),
                             ("refusing " + (root / "/run/kmod-tools").string() + ": it is a regular file").c_str(),
                             Error);
    }
    SUBCASE("writable by others")
    {
        root.mkdir("/run/kmod-tools", 0777);
        CHECK_THROWS_WITH_AS(open_owned_directory(root / "/run/kmod-tools", 0755),
                             ("refusing " + (root / "/run/kmod-tools").string() + ": writable by group or others")
                                 .c_str(),
                             Error);
    }
    SUBCASE("owned by someone else")
    {
        if (::geteuid() != 0) {
            KMOD_TOOLS_SKIP("needs root to chown");
        }
        const auto dir = root.mkdir("/run/kmod-tools");
        REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
        CHECK_THROWS_WITH_AS(open_owned_directory(dir, 0755),
                             ("refusing " + dir.string() + ": owned by uid 65534, not by root").c_str(), Error);
    }
}

TEST_CASE("owned files")
{
    FakeRoot root;
    const auto dir_path = root.mkdir("/state");
    const auto dir = open_owned_directory(dir_path, 0755);
    CHECK_FALSE(open_owned_file(dir.get(), "missing", dir_path / "missing").has_value());

    root.write("/state/good", "content");
    auto good = open_owned_file(dir.get(), "good", dir_path / "good");
    REQUIRE(good.has_value());
    CHECK(read_all(good->get(), dir_path / "good") == "content");

    root.write("/elsewhere", "secret");
    root.symlink((root / "/elsewhere").string(), "/state/link");
    CHECK_THROWS_WITH_AS(open_owned_file(dir.get(), "link", dir_path / "link"),
                         ("refusing " + (dir_path / "link").string() + ": it is a symlink").c_str(), Error);

    root.write("/state/loose", "x", 0646);
    CHECK_THROWS_WITH_AS(open_owned_file(dir.get(), "loose", dir_path / "loose"),
                         ("refusing " + (dir_path / "loose").string() + ": writable by group or others").c_str(),
                         Error);

    root.mkdir("/state/subdir");
    CHECK_THROWS_WITH_AS(open_owned_file(dir.get(), "subdir", dir_path / "subdir"),
                         ("refusing " + (dir_path / "subdir").string() + ": it is a directory, not a regular file")
                             .c_str(),
                         Error);

    ::mkfifo((dir_path / "fifo").c_str(), 0600);
    CHECK_THROWS_WITH_AS(open_owned_file(dir.get(), "fifo", dir_path / "fifo"),
                         ("refusing " + (dir_path / "fifo").string() + ": it is a special file, not a regular file")
                             .c_str(),
                         Error);
}
