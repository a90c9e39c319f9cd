// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of kmod-reap's idle-clock state file: round trip, corruption, untrusted files.
#include "error.hpp"
#include "fake_root.hpp"
#include "idle_state.hpp"
#include "text_file.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

TEST_CASE("the state round-trips, and no file means no clocks")
{
    FakeRoot root;
    CHECK(read_idle_state(root.paths()).empty());
    write_idle_state(root.paths(), {{"xfs", {42, "ino:4242"}}, {"minix", {7, ""}}});
    const auto state = read_idle_state(root.paths());
    REQUIRE(state.size() == 2);
    CHECK(state.at("xfs").idle_since == 42);
    CHECK(state.at("xfs").instance == "ino:4242");
    CHECK(state.at("minix").idle_since == 7);
}

TEST_CASE("a state that cannot be trusted is an error")
{
    FakeRoot root;
    const auto file = root / "/run/kmod-tools/idle.json";
    write_idle_state(root.paths(), {});
    const std::pair<const char*, const char*> cases[] = {
        {"garbage", "not valid JSON"},
        {"{\"format\": 1, \"modules\": {\"xfs\": {\"idle_since\": 4", "not valid JSON"},
        {"{\"format\": 2, \"modules\": {}}", "unknown format 2"},
        {"{\"format\": 1, \"modules\": {\"x/y\": {\"idle_since\": 1, \"instance\": \"\"}}}", "bad entry for 'x/y'"},
        {"{\"format\": 1, \"modules\": {\"xfs\": {\"idle_since\": -1, \"instance\": \"\"}}}", "bad entry for 'xfs'"},
    };
    for (const auto& [text, why] : cases) {
        CAPTURE(text);
        root.write("/run/kmod-tools/idle.json", text);
        CHECK_THROWS_WITH_AS(read_idle_state(root.paths()), ("corrupt state " + file.string() + ": " + why).c_str(),
                             Error);
    }
    root.write("/run/kmod-tools/idle.json", "{\"format\": 1}");
    CHECK_THROWS_AS(read_idle_state(root.paths()), Error);

    std::filesystem::remove(file);
    root.write("/tmp/forged.json", "{\"format\": 1, \"modules\": {}}");
    root.symlink((root / "/tmp/forged.json").string(), "/run/kmod-tools/idle.json");
    CHECK_THROWS_WITH_AS(read_idle_state(root.paths()), ("refusing " + file.string() + ": it is a symlink").c_str(),
                         Error);
}

TEST_CASE("numbers out of range or not whole are corrupt state, checked before conversion")
{
    const std::pair<const char*, const char*> cases[] = {
        {"{\"format\": 1.9, \"modules\": {}}", "unknown format 1.9"},
        {"{\"format\": 1.0, \"modules\": {}}", "unknown format 1.0"},
        {"{\"format\": 1e300, \"modules\": {}}", "unknown format 1e+300"},
        {"{\"format\": 4294967297, \"modules\": {}}", "unknown format 4294967297"},
        {"{\"format\": \"1\", \"modules\": {}}", "unknown format string"},
        {"{\"format\": 1, \"modules\": {\"xfs\": {\"idle_since\": 1e300, \"instance\": \"\"}}}", "bad entry for 'xfs'"},
        {"{\"format\": 1, \"modules\": {\"xfs\": {\"idle_since\": 1.5, \"instance\": \"\"}}}", "bad entry for 'xfs'"},
        {"{\"format\": 1, \"modules\": {\"xfs\": {\"idle_since\": 18446744073709551615, \"instance\": \"\"}}}",
         "bad entry for 'xfs'"},
        {"{\"format\": 1, \"modules\": [{\"idle_since\": 1, \"instance\": \"\"}]}", "modules is not an object"},
        {"{\"format\": 1, \"modules\": null}", "modules is not an object"},
        {"{\"format\": 1, \"modules\": {\"a\\nb\": {\"idle_since\": 1, \"instance\": \"\"}}}", "bad entry for 'a\\x0ab'"},
    };
    for (const auto& [text, why] : cases) {
        const std::string shown = text;
        CAPTURE(shown);
        CHECK_THROWS_WITH_AS(parse_idle_state(text, "f"), (std::string("corrupt state f: ") + why).c_str(), Error);
    }
}

TEST_CASE("a deeply nested format is described by its type, not printed")
{
    const std::size_t depth = 200000;
    const std::string text = "{\"format\": " + std::string(depth, '[') + std::string(depth, ']') + ", \"modules\": {}}";
    CHECK_THROWS_WITH_AS(parse_idle_state(text, "f"), "corrupt state f: unknown format array", Error);
}

TEST_CASE("a state file larger than any state is refused")
{
    FakeRoot root;
    write_idle_state(root.paths(), {});
    const auto file = root / "/run/kmod-tools/idle.json";
    root.write("/run/kmod-tools/idle.json", std::string(max_state_file_size + 1, ' '));
    CHECK_THROWS_WITH_AS(read_idle_state(root.paths()),
                         ("refusing " + file.string() + ": larger than 1048576 bytes").c_str(), Error);
    // The cap is on size only: a file of exactly the cap is parsed (here: not JSON).
    root.write("/run/kmod-tools/idle.json", std::string(max_state_file_size, ' '));
    CHECK_THROWS_WITH_AS(read_idle_state(root.paths()), ("corrupt state " + file.string() + ": not valid JSON").c_str(),
                         Error);
}
