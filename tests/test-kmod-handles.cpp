// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the libkmod handles: they own what they hold (ASan's leak checker sees any unref missed), and
// new_kmod_context() reads the tree it is given, modprobe.d under the root, and logs through ours.
#include "fake_root.hpp"
#include "kmod_handles.hpp"
#include "log.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "capture_stderr.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

TEST_CASE("context and module handles release their objects")
{
    FakeRoot root;
    const auto dir = root.mkdir("/lib/modules/6.1.0-test");
    KmodContext ctx(kmod_new(dir.c_str(), nullptr));
    REQUIRE(ctx);
    CHECK(std::string(kmod_get_dirname(ctx.get())) == dir.string());

    kmod_module* raw = nullptr;
    REQUIRE(kmod_module_new_from_name(ctx.get(), "snd-hda-intel", &raw) == 0);
    KmodModule module(raw);
    // libkmod normalises names the way the kernel does.
    CHECK(std::string(kmod_module_get_name(module.get())) == "snd_hda_intel");

    // Moving a handle moves ownership: exactly one unref happens.
    KmodModule moved = std::move(module);
    CHECK_FALSE(module);
    CHECK(moved);
}

using kmodtools::testing::capture_stderr;

TEST_CASE("new_kmod_context reads the module tree given and modprobe.d under the root")
{
    FakeRoot root;
    const auto dir = root.mkdir("/lib/modules/6.1.0-test");
    root.write("/etc/modprobe.d/test.conf", "alias kt-alias kt_target\n");
    ::unsetenv("JOURNAL_STREAM");
    log::setup("kmod-test", log::Target::stderr_stream, log::Level::notice);
    const auto paths = root.paths();
    const auto ctx = new_kmod_context(paths, dir);
    CHECK(std::string(kmod_get_dirname(ctx.get())) == dir.string());
    kmod_list* raw = nullptr;
    REQUIRE(kmod_module_new_from_lookup(ctx.get(), "kt-alias", &raw) == 0);
    KmodModuleList list(raw);
    REQUIRE(list);
    KmodModule module(kmod_module_get_module(list.get()));
    CHECK(std::string(kmod_module_get_name(module.get())) == "kt_target");
}

TEST_CASE("libkmod's complaints reach our log, with our prefix, on one line each")
{
    FakeRoot root;
    const auto dir = root.mkdir("/lib/modules/6.1.0-test");
    ::unsetenv("JOURNAL_STREAM");
    log::setup("kmod-test", log::Target::stderr_stream, log::Level::notice);
    const auto paths = root.paths();
    const auto ctx = new_kmod_context(paths, dir);
    kmod_module* raw = nullptr;
    REQUIRE(kmod_module_new_from_name(ctx.get(), "kt_nowhere", &raw) == 0);
    KmodModule module(raw);
    // No modules.dep: libkmod cannot find the file and says so (an error, before any system call).
    int err = 0;
    const auto text = capture_stderr([&] { err = kmod_module_insert_module(module.get(), 0, nullptr); });
    CHECK(err == -ENOENT);
    CHECK(text == "kmod-test: libkmod: could not find module by name='kt_nowhere'\n");
}
