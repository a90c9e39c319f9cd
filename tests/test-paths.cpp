// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the path root: every path follows it; the release comes from the root's /proc.
#include "error.hpp"
#include "fake_root.hpp"
#include "paths.hpp"

#include <cstdlib>

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

TEST_CASE("the real root leaves paths alone")
{
    const Paths paths("/");
    CHECK_FALSE(paths.redirected());
    CHECK(paths.proc_modules() == "/proc/modules");
    CHECK(paths.sys_module() == "/sys/module");
    CHECK(paths.sysctl_modprobe() == "/proc/sys/kernel/modprobe");
    CHECK(paths.config_file() == "/etc/kmod-tools/kmod-tools.conf");
    CHECK(paths.config_dropin_dir() == "/etc/kmod-tools/kmod-tools.conf.d");
    CHECK(paths.runtime_config_file() == "/run/kmod-tools/runtime.conf");
    CHECK(paths.state_dir() == "/var/lib/kmod-tools");
    CHECK(paths.sysctl_dropin() == "/etc/sysctl.d/50-kmod-tools.conf");
    CHECK(paths.modules_dir("6.1.0-56-amd64") == "/lib/modules/6.1.0-56-amd64");
}

TEST_CASE("another root redirects every path")
{
    const Paths paths("/tmp/fake");
    CHECK(paths.redirected());
    CHECK(paths.proc_modules() == "/tmp/fake/proc/modules");
    CHECK(paths.runtime_dir() == "/tmp/fake/run/kmod-tools");
    CHECK(paths.modules_dir("6.1") == "/tmp/fake/lib/modules/6.1");
}

TEST_CASE("the root comes from KMOD_TOOLS_ROOT, which must be absolute")
{
    ::setenv(root_environment_variable, "/tmp/x", 1);
    CHECK(Paths::from_environment().root() == "/tmp/x");
    ::setenv(root_environment_variable, "relative", 1);
    CHECK_THROWS_WITH_AS(Paths::from_environment(), "$KMOD_TOOLS_ROOT must be an absolute path, not 'relative'",
                         Error);
    ::setenv(root_environment_variable, "", 1);
    CHECK(Paths::from_environment().root() == "/");
    ::unsetenv(root_environment_variable);
    CHECK(Paths::from_environment().root() == "/");
}

TEST_CASE("the kernel release is read from the root's /proc and checked")
{
    FakeRoot root;
    root.write("/proc/sys/kernel/osrelease", "6.1.0-56-amd64\n");
    CHECK(root.paths().kernel_release() == "6.1.0-56-amd64");
    root.write("/proc/sys/kernel/osrelease", "../../etc\n");
    CHECK_THROWS_AS(root.paths().kernel_release(), Error);
}
