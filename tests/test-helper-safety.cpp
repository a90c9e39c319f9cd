// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the modprobe helper safety rules, one rule at a time.
#include "fake_root.hpp"
#include "skip.hpp"
#include "helper_safety.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

namespace {

// Files of the fake tree are owned by whoever runs the tests: that user plays root.
std::string problem(const FakeRoot& root, const std::string& helper)
{
    return helper_path_problem(root.paths(), helper, ::geteuid());
}

struct HelperTree : FakeRoot {
    HelperTree()
    {
        mkdir("/sbin");
        write("/sbin/modprobe", "#!/bin/sh\n", 0755);
    }
};

} // namespace

TEST_CASE("a root-owned executable in root-owned directories is safe")
{
    HelperTree root;
    CHECK(problem(root, "/sbin/modprobe") == "");
    CHECK(problem(root, "/sbin/../sbin/./modprobe") == "");
    CHECK(problem(root, "//sbin//modprobe") == "");
}

TEST_CASE("syntax rules")
{
    HelperTree root;
    CHECK(problem(root, "") == "empty path");
    CHECK(problem(root, "sbin/modprobe") == "not an absolute path");
    // The kernel cannot execute a directory, and a trailing '/' would name one.
    CHECK(problem(root, "/sbin/modprobe/") == "ends with '/' (a directory, not a program)");
    CHECK(problem(root, "/sbin/mod\nprobe") == "contains a control character");
    CHECK(problem(root, "/" + std::string(255, 'a')) ==
          "longer than 255 bytes, the kernel would truncate it");
}

TEST_CASE("the file itself")
{
    HelperTree root;
    CHECK(problem(root, "/sbin/nothing") == "'/sbin/nothing' does not exist");
    CHECK(problem(root, "/sbin") == "'/sbin' is a directory, not a regular file");
    CHECK(problem(root, "/sbin/..") == "'/' is a directory, not a regular file");
    root.write("/sbin/script", "#!/bin/sh\n", 0644);
    CHECK(problem(root, "/sbin/script") == "'/sbin/script' is not executable");
    root.write("/sbin/groupw", "#!/bin/sh\n", 0775);
    CHECK(problem(root, "/sbin/groupw") == "'/sbin/groupw' is writable by its group");
    root.write("/sbin/worldw", "#!/bin/sh\n", 0757);
    CHECK(problem(root, "/sbin/worldw") == "'/sbin/worldw' is writable by others");
    ::mkfifo((root / "/sbin/fifo").c_str(), 0755);
    CHECK(problem(root, "/sbin/fifo") == "'/sbin/fifo' is not a regular file");
    CHECK(problem(root, "/sbin/modprobe/x") == "'/sbin/modprobe' is not a directory");
}

TEST_CASE("every directory on the way")
{
    HelperTree root;
    root.mkdir("/opt/bin", 0755);
    root.write("/opt/bin/helper", "#!/bin/sh\n", 0755);
    CHECK(problem(root, "/opt/bin/helper") == "");

    ::chmod((root / "/opt").c_str(), 0777);
    CHECK(problem(root, "/opt/bin/helper") == "directory '/opt' is writable by others");
    ::chmod((root / "/opt").c_str(), 0775);
    CHECK(problem(root, "/opt/bin/helper") == "directory '/opt' is writable by its group");
    // Sticky, like /tmp: others cannot replace our file, but once a cleaner removes it anyone can
    // create one of that name, and the kernel runs it as root.
    ::chmod((root / "/opt").c_str(), 01777);
    CHECK(problem(root, "/opt/bin/helper") ==
          "directory '/opt' is writable by others (a sticky bit does not make it safe)");
    ::chmod((root / "/opt").c_str(), 0755);

    ::chmod(root.path().c_str(), 0777);
    CHECK(problem(root, "/opt/bin/helper") == "directory '/' is writable by others");
    ::chmod(root.path().c_str(), 0755);
}

TEST_CASE("symlinks are followed under the root and judged on the way")
{
    HelperTree root;
    root.symlink("modprobe", "/sbin/relative-link");
    root.symlink("/sbin/modprobe", "/sbin/absolute-link");
    root.symlink("../sbin", "/bin");
    CHECK(problem(root, "/sbin/relative-link") == "");
    CHECK(problem(root, "/sbin/absolute-link") == "");
    CHECK(problem(root, "/bin/modprobe") == "");

    SUBCASE("a link into a world-writable directory")
    {
        root.mkdir("/scratch", 0777);
        root.write("/scratch/helper", "#!/bin/sh\n", 0755);
        root.symlink("/scratch/helper", "/sbin/to-scratch");
        CHECK(problem(root, "/sbin/to-scratch") == "directory '/scratch' is writable by others");
    }
    SUBCASE("a dangling link")
    {
        root.symlink("/sbin/missing", "/sbin/dangling");
        CHECK(problem(root, "/sbin/dangling") == "'/sbin/missing' does not exist (a dangling symlink on the way)");
    }
    SUBCASE("a loop")
    {
        root.symlink("loop-b", "/sbin/loop-a");
        root.symlink("loop-a", "/sbin/loop-b");
        CHECK(problem(root, "/sbin/loop-a") == "too many levels of symlinks");
    }
    SUBCASE("a link owned by someone else")
    {
        if (::geteuid() != 0) {
            KMOD_TOOLS_SKIP("needs root to make a symlink owned by another user");
        }
        root.symlink("/sbin/modprobe", "/sbin/foreign");
        REQUIRE(::lchown((root / "/sbin/foreign").c_str(), 65534, 65534) == 0);
        CHECK(problem(root, "/sbin/foreign") == "symlink '/sbin/foreign' is not owned by root");
    }
}

TEST_CASE("files and directories owned by someone else")
{
    if (::geteuid() != 0) {
        KMOD_TOOLS_SKIP("needs root to chown");
    }
    HelperTree root;
    root.write("/sbin/theirs", "#!/bin/sh\n", 0755);
    REQUIRE(::chown((root / "/sbin/theirs").c_str(), 65534, 65534) == 0);
    CHECK(problem(root, "/sbin/theirs") == "'/sbin/theirs' is not owned by root");
    root.mkdir("/home/user", 0755);
    root.write("/home/user/helper", "#!/bin/sh\n", 0755);
    REQUIRE(::chown((root / "/home/user").c_str(), 65534, 65534) == 0);
    CHECK(problem(root, "/home/user/helper") == "directory '/home/user' is not owned by root");
}
