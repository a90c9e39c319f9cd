// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the loaded-module view: /proc/modules parsing, bound devices and load instances from /sys/module.
#include "error.hpp"
#include "fake_root.hpp"
#include "loaded_modules.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

TEST_CASE("parse_proc_modules reads every field the kernel prints")
{
    const auto modules = parse_proc_modules("xfs 1994752 1 - Live 0xffffffffc0a2e000\n"
                                            "libcrc32c 16384 2 xfs,nf_tables, Live 0xffffffffc0120000\n"
                                            "ipv6 589824 0 [permanent], Live 0x0000000000000000 (E)\n"
                                            "vboxdrv 1000 0 [unsafe], Loading 0x0 (OE)\n");
    REQUIRE(modules.size() == 4);
    CHECK(modules[0].name == "xfs");
    CHECK(modules[0].refcount == 1);
    CHECK(modules[0].holders.empty());
    CHECK(modules[0].state == ModuleState::live);
    CHECK_FALSE(modules[0].permanent);
    CHECK_FALSE(modules[0].idle());

    CHECK(modules[1].holders == std::vector<std::string>{"xfs", "nf_tables"});
    CHECK_FALSE(modules[1].idle());

    CHECK(modules[2].permanent);
    CHECK(modules[2].holders.empty());
    CHECK(modules[2].idle());

    CHECK(modules[3].state == ModuleState::loading);
    CHECK(modules[3].holders.empty()); // "[unsafe]" is a flag, not a module
}

TEST_CASE("modules on their way out are not in the view")
{
    const auto modules = parse_proc_modules("going 100 0 - Unloading 0x0\n"
                                            "dying 100 -1 - Live 0x0\n"
                                            "staying 100 0 - Live 0x0\n");
    REQUIRE(modules.size() == 1);
    CHECK(modules[0].name == "staying");
}

TEST_CASE("a kernel without module unloading prints '-' as refcount: such modules are permanent")
{
    const auto modules = parse_proc_modules("dummy 16384 - - Live 0x0\n");
    REQUIRE(modules.size() == 1);
    CHECK(modules[0].permanent);
}

TEST_CASE("malformed /proc/modules lines are errors naming the line")
{
    CHECK_THROWS_WITH_AS(parse_proc_modules("ok 1 0 - Live 0x0\nbroken 12\n", "/proc/modules"),
                         "/proc/modules:2: expected at least 5 fields, found 2", Error);
    CHECK_THROWS_WITH_AS(parse_proc_modules("m abc 0 - Live 0x0\n"), "/proc/modules:1: bad size 'abc' of module m",
                         Error);
    CHECK_THROWS_WITH_AS(parse_proc_modules("m 1 x - Live 0x0\n"),
                         "/proc/modules:1: bad reference count 'x' of module m", Error);
    CHECK_THROWS_WITH_AS(parse_proc_modules("m 1 0 - Sleeping 0x0\n"),
                         "/proc/modules:1: unknown state 'Sleeping' of module m", Error);
}

TEST_CASE("blank lines and an empty file give no modules")
{
    CHECK(parse_proc_modules("").empty());
    CHECK(parse_proc_modules("\n\n").empty());
}

TEST_CASE("read_loaded_modules reads the root's /proc/modules, and says so when there is none")
{
    FakeRoot root;
    CHECK_THROWS_WITH_AS(read_loaded_modules(root.paths()),
                         ("the kernel has no module support (" + (root / "/proc/modules").string() +
                          " does not exist)")
                             .c_str(),
                         Error);
    root.write("/proc/modules", "dummy 16384 0 - Live 0x0\n");
    const auto modules = read_loaded_modules(root.paths());
    REQUIRE(modules.size() == 1);
    CHECK(modules[0].name == "dummy");
}

TEST_CASE("bound_devices lists the devices the module's drivers are bound to, nothing else")
{
    FakeRoot root;
    root.mkdir("/sys/module/e1000/holders/bonding");
    root.write("/sys/module/e1000/drivers/pci:e1000/bind", "");
    root.write("/sys/module/e1000/drivers/pci:e1000/uevent", "");
    root.symlink("../../../../devices/pci0000:00/0000:00:03.0", "/sys/module/e1000/drivers/pci:e1000/0000:00:03.0");
    root.symlink("../../../../module/e1000", "/sys/module/e1000/drivers/pci:e1000/module");
    CHECK(bound_devices(root.paths(), "e1000") == std::vector<std::string>{"0000:00:03.0"});

    root.mkdir("/sys/module/dummy");
    CHECK(bound_devices(root.paths(), "dummy").empty()); // no drivers/ at all
    CHECK(bound_devices(root.paths(), "gone").empty());  // vanished while being read
}

TEST_CASE("module_instance tells loads apart by the inode of /sys/module/NAME")
{
    FakeRoot root;
    CHECK(module_instance(root.paths(), "xfs").empty());
    root.mkdir("/sys/module/xfs");
    const auto first = module_instance(root.paths(), "xfs");
    CHECK(first.rfind("ino:", 0) == 0);
    // A reload makes a new directory; keep the old one alive so the inode cannot be reused.
    std::filesystem::rename(root / "/sys/module/xfs", root / "/sys/old-xfs");
    root.mkdir("/sys/module/xfs");
    CHECK(module_instance(root.paths(), "xfs") != first);
}
