// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the /proc/sys/kernel knobs against a fake /proc (the VM suite proves the real one).
#include "error.hpp"
#include "fake_root.hpp"
#include "kernel_knobs.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;
using kmodtools::testing::read_file;

TEST_CASE("modprobe helper: read, write with the newline the kernel wants, empty value")
{
    FakeRoot root;
    root.write("/proc/sys/kernel/modprobe", "/sbin/modprobe\n");
    CHECK(read_modprobe_helper(root.paths()) == "/sbin/modprobe");
    write_modprobe_helper(root.paths(), "/usr/sbin/kmod-request");
    CHECK(read_file(root / "/proc/sys/kernel/modprobe") == "/usr/sbin/kmod-request\n");
    CHECK(read_modprobe_helper(root.paths()) == "/usr/sbin/kmod-request");
    write_modprobe_helper(root.paths(), "");
    CHECK(read_file(root / "/proc/sys/kernel/modprobe") == "\n");
    CHECK(read_modprobe_helper(root.paths()) == "");
}

TEST_CASE("a kernel without module support says so")
{
    FakeRoot root;
    const auto message = "the kernel has no module support (" + (root / "/proc/sys/kernel/modprobe").string() +
                          " does not exist)";
    CHECK_THROWS_WITH_AS(read_modprobe_helper(root.paths()), message.c_str(), Error);
    root.mkdir("/proc/sys/kernel");
    CHECK_THROWS_WITH_AS(write_modprobe_helper(root.paths(), "/sbin/modprobe"), message.c_str(), Error);
}

TEST_CASE("modules_disabled")
{
    FakeRoot root;
    root.write("/proc/sys/kernel/modules_disabled", "0\n");
    CHECK_FALSE(read_modules_disabled(root.paths()));
    root.write("/proc/sys/kernel/modules_disabled", "1\n");
    CHECK(read_modules_disabled(root.paths()));
    root.write("/proc/sys/kernel/modules_disabled", "2\n");
    CHECK_THROWS_AS(read_modules_disabled(root.paths()), Error);
}
