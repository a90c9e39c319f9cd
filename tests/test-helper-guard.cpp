// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the guard on kernel.modprobe: what the admin set, a change reported once, put back only
// when asked, an unsafe helper, and what sysctl.d sets at boot.
#include "capture_stderr.hpp"
#include "error.hpp"
#include "fake_root.hpp"
#include "helper_guard.hpp"
#include "log.hpp"
#include "skip.hpp"
#include "sysctl_d.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::capture_stderr;
using kmodtools::testing::FakeRoot;
using kmodtools::testing::is_root;
using kmodtools::testing::read_file;

namespace {

// A system with two safe helpers and the kernel's knob. The helper rules trust root's files only,
// so the cases that need a safe helper need root to own the fake tree.
struct GuardTree : FakeRoot {
    GuardTree()
    {
        write("/sbin/modprobe", "#!/bin/sh\n", 0755);
        write("/usr/sbin/kmod-request", "#!/bin/sh\n", 0755);
        write("/proc/sys/kernel/modprobe", "/sbin/modprobe\n");
        mkdir("/run/kmod-tools");
        log::setup("kmod-reap", log::Target::stderr_stream, log::Level::debug);
    }
    void kernel_helper(const std::string& helper) const { write("/proc/sys/kernel/modprobe", helper + "\n"); }
    std::string live() const { return read_file(*this / "/proc/sys/kernel/modprobe"); }
};

HelperCheck guard(const FakeRoot& root, HelperGuardMode mode = HelperGuardMode::report, bool dry_run = false)
{
    return guard_helper(root.paths(), mode, dry_run);
}

} // namespace

TEST_CASE("first use: what the first check sees is what was set, recorded for the next ones")
{
    SKIP_UNLESS(is_root(), "the helper rules trust root's files only");
    GuardTree root;
    HelperCheck check;
    const auto messages = capture_stderr([&] { check = guard(root); });
    CHECK(check.state == HelperState::as_set);
    CHECK(check.expected == "/sbin/modprobe");
    CHECK(check.origin == "first seen");
    CHECK(messages == "");
    CHECK(read_file(root / "/run/kmod-tools/helper.json").find("\"origin\": \"first seen\"") != std::string::npos);

    root.kernel_helper("/tmp/evil");
    const auto changed = capture_stderr([&] { check = guard(root); });
    CHECK(check.state == HelperState::changed);
    CHECK(check.newly_reported);
    CHECK(changed == "kmod-reap: audit: kernel.modprobe is '/tmp/evil', not '/sbin/modprobe' as set (first seen); "
                     "left as it is (set it with kmod-sysctl modprobe=..., or helper_guard = restore to have sweeps "
                     "put it back)\n");
    CHECK(root.live() == "/tmp/evil\n"); // reported, never put back unless asked
}

TEST_CASE("a change is reported once, a new change again, and the way back is said")
{
    SKIP_UNLESS(is_root(), "the helper rules trust root's files only");
    GuardTree root;
    root.write("/etc/sysctl.d/50-kmod-tools.conf", "kernel.modprobe = /sbin/modprobe\n");
    root.kernel_helper("/usr/sbin/kmod-request");
    HelperCheck check;
    CHECK(capture_stderr([&] { check = guard(root); }) ==
          "kmod-reap: audit: kernel.modprobe is '/usr/sbin/kmod-request', not '/sbin/modprobe' as set "
          "(/etc/sysctl.d/50-kmod-tools.conf:1); left as it is (set it with kmod-sysctl modprobe=..., or "
          "helper_guard = restore to have sweeps put it back)\n");
    CHECK(check.state == HelperState::changed);
    CHECK(check.problem == "kernel.modprobe is '/usr/sbin/kmod-request', not '/sbin/modprobe' as set "
                           "(/etc/sysctl.d/50-kmod-tools.conf:1)");

    // The next sweeps say nothing more about the same change, but still see it.
    CHECK(capture_stderr([&] { check = guard(root); }) == "");
    CHECK(check.state == HelperState::changed);
    CHECK_FALSE(check.newly_reported);

    root.kernel_helper("/tmp/other");
    CHECK(capture_stderr([&] { check = guard(root); }).find("kernel.modprobe is '/tmp/other'") != std::string::npos);
    CHECK(check.newly_reported);

    root.kernel_helper("/sbin/modprobe");
    CHECK(capture_stderr([&] { check = guard(root); }) ==
          "kmod-reap: audit: kernel.modprobe is '/sbin/modprobe' again, as set (/etc/sysctl.d/50-kmod-tools.conf:1)\n");
    CHECK(check.state == HelperState::as_set);
    CHECK(capture_stderr([&] { check = guard(root); }) == "");
}

TEST_CASE("what kmod-sysctl set in this boot comes first, then sysctl.d")
{
    SKIP_UNLESS(is_root(), "the helper rules trust root's files only");
    GuardTree root;
    root.write("/etc/sysctl.d/50-kmod-tools.conf", "kernel.modprobe = /sbin/modprobe\n");
    root.kernel_helper("/usr/sbin/kmod-request");
    record_helper_set(root.paths(), "/usr/sbin/kmod-request");
    HelperCheck check;
    CHECK(capture_stderr([&] { check = guard(root); }) == "");
    CHECK(check.state == HelperState::as_set);
    CHECK(check.origin == "kmod-sysctl");
}

TEST_CASE("helper_guard = restore puts back a safe helper, and only a safe one")
{
    SKIP_UNLESS(is_root(), "the helper rules trust root's files only");
    GuardTree root;
    record_helper_set(root.paths(), "/usr/sbin/kmod-request");
    root.kernel_helper("/tmp/evil");
    HelperCheck check;
    SUBCASE("safe: put back, with a critical line")
    {
        CHECK(capture_stderr([&] { check = guard(root, HelperGuardMode::restore); }) ==
              "kmod-reap: audit: kernel.modprobe was changed behind kmod-tools' back to '/tmp/evil'; put back "
              "'/usr/sbin/kmod-request' (kmod-sysctl), as helper_guard = restore says\n");
        CHECK(check.state == HelperState::restored);
        CHECK(root.live() == "/usr/sbin/kmod-request\n");
        CHECK(capture_stderr([&] { check = guard(root, HelperGuardMode::restore); }) == "");
        CHECK(check.state == HelperState::as_set);
    }
    SUBCASE("what was set is no longer safe: left as it is, and said why")
    {
        ::chmod((root / "/usr/sbin/kmod-request").c_str(), 0777);
        CHECK(capture_stderr([&] { check = guard(root, HelperGuardMode::restore); }).find(
                  "not putting it back: '/usr/sbin/kmod-request' is not safe either: ") != std::string::npos);
        CHECK(check.state == HelperState::changed);
        CHECK(root.live() == "/tmp/evil\n");
    }
    SUBCASE("a dry run puts nothing back and records nothing")
    {
        const auto record = read_file(root / "/run/kmod-tools/helper.json");
        CHECK(capture_stderr([&] { check = guard(root, HelperGuardMode::restore, true); }) != "");
        CHECK(check.state == HelperState::changed);
        CHECK(root.live() == "/tmp/evil\n");
        CHECK(read_file(root / "/run/kmod-tools/helper.json") == record);
    }
}

TEST_CASE("a helper that is what was set but no longer safe is reported too")
{
    SKIP_UNLESS(is_root(), "the helper rules trust root's files only");
    GuardTree root;
    record_helper_set(root.paths(), "/sbin/modprobe");
    ::chmod((root / "/sbin").c_str(), 0777);
    HelperCheck check;
    const auto messages = capture_stderr([&] { check = guard(root); });
    CHECK(check.state == HelperState::unsafe);
    CHECK(messages.find("kmod-reap: audit: kernel.modprobe '/sbin/modprobe' is no longer a safe helper: ") == 0);
    CHECK(capture_stderr([&] { check = guard(root); }) == ""); // once
}

TEST_CASE("hostile values: escaped in every line, and a corrupt record starts again")
{
    SKIP_UNLESS(is_root(), "the helper rules trust root's files only");
    GuardTree root;
    record_helper_set(root.paths(), "/sbin/modprobe");
    root.kernel_helper("/tmp/x\nkmod-reap: audit: all is well");
    HelperCheck check;
    const auto messages = capture_stderr([&] { check = guard(root); });
    CHECK(messages.find("'/tmp/x\\x0akmod-reap: audit: all is well'") != std::string::npos);
    // Whole, however long: a long tail must not hide where the path really goes.
    const std::string long_path = "/usr/sbin/kmod-request/" + std::string(100, 'a') + "/../../../../tmp/evil";
    root.kernel_helper(long_path);
    CHECK(capture_stderr([&] { check = guard(root); }).find("../../tmp/evil'") != std::string::npos);
    CHECK(std::count(messages.begin(), messages.end(), '\n') == 1);

    root.write("/run/kmod-tools/helper.json", "{\"format\": 1.9}");
    root.kernel_helper("/sbin/modprobe");
    CHECK(capture_stderr([&] { check = guard(root); }).find("corrupt state") != std::string::npos);
    CHECK(check.state == HelperState::as_set);
    CHECK(read_file(root / "/run/kmod-tools/helper.json").find("\"format\": 1,") != std::string::npos);
}

TEST_CASE("no kernel.modprobe: nothing to guard")
{
    FakeRoot root;
    CHECK(guard_helper(root.paths(), HelperGuardMode::restore, false).state == HelperState::no_module_support);
}

TEST_CASE("sysctl.d: the last file by name wins, an earlier directory masks a later one")
{
    FakeRoot root;
    CHECK_FALSE(boot_sysctl_value(root.paths(), "kernel.modprobe"));
    root.write("/usr/lib/sysctl.d/10-vendor.conf", "kernel.modprobe = /vendor/helper\n");
    root.write("/lib/sysctl.d/20-old.conf", "# a comment\n; another\nkernel/modprobe=/old/helper\n");
    auto setting = boot_sysctl_value(root.paths(), "kernel.modprobe");
    REQUIRE(setting);
    CHECK(setting->value == "/old/helper");
    CHECK(setting->origin.describe() == "/lib/sysctl.d/20-old.conf:3");

    // /etc masks the vendor's file of the same name; a later name wins over both.
    root.write("/etc/sysctl.d/20-old.conf", "-kernel.modprobe = /etc/helper\n");
    setting = boot_sysctl_value(root.paths(), "kernel.modprobe");
    REQUIRE(setting);
    CHECK(setting->value == "/etc/helper");
    root.write("/run/sysctl.d/90-late.conf", "kernel.modprobe =\n");
    CHECK(boot_sysctl_value(root.paths(), "kernel.modprobe")->value == ""); // empty: autoload off

    // A link to /dev/null masks, and only *.conf counts.
    std::filesystem::create_symlink("/dev/null", root / "/etc/sysctl.d/90-late.conf");
    root.write("/etc/sysctl.d/99-notes.txt", "kernel.modprobe = /ignored\n");
    CHECK(boot_sysctl_value(root.paths(), "kernel.modprobe")->value == "/etc/helper");
    CHECK_FALSE(boot_sysctl_value(root.paths(), "kernel.other"));
}

TEST_CASE("sysctl.d: a file others could write is refused, naming it")
{
    FakeRoot root;
    root.write("/etc/sysctl.d/50-x.conf", "kernel.modprobe = /sbin/modprobe\n", 0666);
    CHECK_THROWS_WITH_AS(boot_sysctl_value(root.paths(), "kernel.modprobe"),
                         doctest::Contains("refusing /etc/sysctl.d/50-x.conf: "), Error);
}
