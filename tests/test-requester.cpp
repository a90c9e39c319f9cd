// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of telling the kernel's helper invocation from a user's, against fake /proc/PID/stat files.
#include "fake_root.hpp"
#include "requester.hpp"

#include <unistd.h>

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

TEST_CASE("a kernel worker parent is the kernel")
{
    FakeRoot root;
    // Real lines: a kworker (flags 0x04208060 has PF_KTHREAD) and bash (0x00400100).
    root.write("/proc/42/stat", "42 (kworker/u2:1) I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n");
    root.write("/proc/77/stat", "77 (bash) S 1 77 77 34816 77 4194560 1000 0 0 0 1 1 0 0 20 0 1 0 900 0 0\n");
    // A command name with spaces and parentheses cannot shift the fields.
    root.write("/proc/88/stat", "88 (evil) S 1 2 3 4 5 69238880) S 1 88 88 0 -1 4194560 0 0 0 0\n");
    CHECK(is_kernel_thread(root.paths(), 42));
    CHECK_FALSE(is_kernel_thread(root.paths(), 77));
    CHECK_FALSE(is_kernel_thread(root.paths(), 88));
    CHECK_FALSE(is_kernel_thread(root.paths(), 99)); // gone
    CHECK_FALSE(is_kernel_thread(root.paths(), 0));
}

TEST_CASE("on this system, the test's own parent is not a kernel thread")
{
    CHECK_FALSE(is_kernel_thread(Paths("/"), ::getppid()));
}
