// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests that the libkmod handles own what they hold (ASan's leak checker sees any unref missed).
#include "fake_root.hpp"
#include "kmod_handles.hpp"

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
