// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the configuration: syntax, errors with FILE:LINE, layers and their order, trust rules.
#include "config.hpp"
#include "error.hpp"
#include "fake_root.hpp"
#include "skip.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;
using std::chrono::seconds;

TEST_CASE("no configuration at all means defaults")
{
    FakeRoot root;
    const auto config = load_config(root.paths());
    CHECK(config.unload_delay == default_unload_delay);
    CHECK(config.unload_delay_origin.describe() == "built-in default");
    CHECK(config.keep == std::vector<std::string>{"brd", "zram"});
}

TEST_CASE("keys, comments, blank lines and spacing")
{
    Config config;
    apply_config_text(config,
                      "# kmod-tools\n"
                      "\n"
                      "   # indented comment\n"
                      "unload_delay=5m\n"
                      "keep =\n"
                      "keep = dm_* raid?\n"
                      "\tkeep\t=\tlockd\t\r\n",
                      "/etc/kmod-tools/kmod-tools.conf");
    CHECK(config.unload_delay == seconds(300));
    CHECK(config.unload_delay_origin.describe() == "/etc/kmod-tools/kmod-tools.conf:4");
    // The built-in keep list was cleared by the empty "keep =" on line 5.
    CHECK(config.keep == std::vector<std::string>{"dm_*", "raid?", "lockd"});
}

TEST_CASE("an empty list value clears what came before")
{
    Config config;
    apply_config_text(config, "keep = a b\nkeep =\nkeep = c\n", "f");
    CHECK(config.keep == std::vector<std::string>{"c"});
}

TEST_CASE("errors name the file and the line")
{
    const std::pair<const char*, const char*> cases[] = {
        {"unload_delay = 1\nbogus = 1\n", "f.conf:2: unknown key 'bogus'"},
        {"unload_delay 5\n", "f.conf:1: expected 'key = value', found 'unload_delay 5'"},
        {"= 5\n", "f.conf:1: missing key before '='"},
        {"unload_delay = -5\n", "f.conf:1: bad unload_delay '-5': must not be negative"},
        {"unload_delay =\n", "f.conf:1: bad unload_delay '': empty value"},
        {"\n\nkeep = ok bad/one\n", "f.conf:3: bad keep pattern 'bad/one': character '/' in pattern"},
        {"keep = a\x1b[31m\n", "f.conf:1: control character in line"},
    };
    for (const auto& [text, expected] : cases) {
        CAPTURE(text);
        Config config;
        CHECK_THROWS_WITH_AS(apply_config_text(config, text, "f.conf"), expected, Error);
    }
}

TEST_CASE("layers: main file, drop-ins in lexical order, then the runtime layer")
{
    FakeRoot root;
    root.write("/etc/kmod-tools/kmod-tools.conf", "unload_delay = 10\nkeep = a\n");
    root.write("/etc/kmod-tools/kmod-tools.conf.d/20-b.conf", "unload_delay = 20\nkeep = b\n");
    root.write("/etc/kmod-tools/kmod-tools.conf.d/10-a.conf", "keep = a2\n");
    root.write("/etc/kmod-tools/kmod-tools.conf.d/30-ignored.conf.dpkg-old", "bogus\n");
    root.write("/etc/kmod-tools/kmod-tools.conf.d/.40-editor.conf.swp", "bogus\n");
    root.write("/etc/kmod-tools/kmod-tools.conf.d/.50-hidden.conf", "bogus\n");

    auto config = load_config(root.paths());
    CHECK(config.unload_delay == seconds(20));
    CHECK(config.unload_delay_origin.describe() ==
          (root / "/etc/kmod-tools/kmod-tools.conf.d/20-b.conf").string() + ":1");
    CHECK(config.keep == std::vector<std::string>{"brd", "zram", "a", "a2", "b"});

    root.mkdir("/run/kmod-tools");
    root.write("/run/kmod-tools/runtime.conf", "unload_delay = 30\n");
    CHECK(load_config(root.paths()).unload_delay == seconds(30));
    CHECK(load_config(root.paths(), ConfigLayers::persistent_only).unload_delay == seconds(20));
}

TEST_CASE("configuration others could write is refused")
{
    FakeRoot root;
    SUBCASE("world-writable main file")
    {
        const auto file = root.write("/etc/kmod-tools/kmod-tools.conf", "unload_delay = 1\n", 0666);
        CHECK_THROWS_WITH_AS(
            load_config(root.paths()),
            ("refusing configuration " + file.string() + ": '/etc/kmod-tools/kmod-tools.conf' is writable by others")
                .c_str(),
            Error);
    }
    SUBCASE("group-writable drop-in")
    {
        const auto file = root.write("/etc/kmod-tools/kmod-tools.conf.d/a.conf", "unload_delay = 1\n", 0664);
        CHECK_THROWS_AS(load_config(root.paths()), Error);
    }
    SUBCASE("a symlink planted as the runtime layer")
    {
        root.write("/tmp/evil.conf", "unload_delay = 0\n");
        root.mkdir("/run/kmod-tools");
        root.symlink("/tmp/evil.conf", "/run/kmod-tools/runtime.conf");
        CHECK_THROWS_WITH_AS(load_config(root.paths()),
                             ("refusing " + (root / "/run/kmod-tools/runtime.conf").string() + ": it is a symlink")
                                 .c_str(),
                             Error);
    }
    SUBCASE("a symlinked main file pointing to a safe file is fine (config management does that)")
    {
        root.write("/srv/config/kmod-tools.conf", "unload_delay = 7\n");
        root.symlink("/srv/config/kmod-tools.conf", "/etc/kmod-tools/kmod-tools.conf");
        CHECK(load_config(root.paths()).unload_delay == seconds(7));
    }
}

namespace {
// The message load_config() throws for `root`, or "" if it succeeds.
std::string config_error(const FakeRoot& root)
{
    try {
        load_config(root.paths());
    } catch (const Error& error) {
        return error.what();
    }
    return {};
}
} // namespace

TEST_CASE("the whole way to every configuration file is judged: a non-root user can change no rule")
{
    FakeRoot root;
    const auto main = root.write("/etc/kmod-tools/kmod-tools.conf", "deny = dccp\n");
    const auto refusing = "refusing configuration " + main.string() + ": ";
    SUBCASE("a directory on the way that others can write, sticky or not")
    {
        ::chmod((root / "/etc").c_str(), 0777);
        CHECK(config_error(root) == refusing + "directory '/etc' is writable by others");
        ::chmod((root / "/etc").c_str(), 01777);
        CHECK(config_error(root) == refusing + "directory '/etc' is writable by others (a sticky bit does not make it safe)");
        ::chmod((root / "/etc").c_str(), 0755);
    }
    SUBCASE("a symlink hop into a directory others can write")
    {
        std::filesystem::remove(main);
        root.mkdir("/srv/shared", 0777);
        root.write("/srv/shared/kmod-tools.conf", "deny = dccp\n");
        root.symlink("/srv/shared/kmod-tools.conf", "/etc/kmod-tools/kmod-tools.conf");
        CHECK(config_error(root) == refusing + "directory '/srv/shared' is writable by others");
    }
    SUBCASE("a symlink owned by someone else")
    {
        if (::geteuid() != 0)
            KMOD_TOOLS_SKIP("needs root to lchown");
        std::filesystem::remove(main);
        root.write("/srv/kmod-tools.conf", "deny = dccp\n");
        root.symlink("/srv/kmod-tools.conf", "/etc/kmod-tools/kmod-tools.conf");
        REQUIRE(::lchown(main.c_str(), 65534, 65534) == 0);
        CHECK(config_error(root) == refusing + "symlink '/etc/kmod-tools/kmod-tools.conf' is not owned by root");
    }
    SUBCASE("a drop-in directory others can write")
    {
        root.mkdir("/etc/kmod-tools/kmod-tools.conf.d", 0777);
        CHECK(config_error(root) == "refusing configuration directory " +
                                        (root / "/etc/kmod-tools/kmod-tools.conf.d").string() +
                                        ": directory '/etc/kmod-tools/kmod-tools.conf.d' is writable by others");
    }
}

TEST_CASE("a configuration that cannot be read is not an absent one")
{
    FakeRoot root;
    const auto main = root / "/etc/kmod-tools/kmod-tools.conf";
    root.mkdir("/etc/kmod-tools");
    CHECK(config_error(root).empty()); // simply not there: the defaults
    SUBCASE("a dangling symlink")
    {
        root.mkdir("/srv");
        root.symlink("/srv/gone.conf", "/etc/kmod-tools/kmod-tools.conf");
        CHECK(config_error(root) == "refusing configuration " + main.string() +
                                        ": '/srv/gone.conf' does not exist (a dangling symlink on the way)");
    }
    SUBCASE("a symlink loop")
    {
        root.symlink("/etc/kmod-tools/kmod-tools.conf", "/etc/kmod-tools/kmod-tools.conf");
        CHECK(config_error(root) == "refusing configuration " + main.string() + ": too many levels of symlinks");
    }
    SUBCASE("a directory in its place")
    {
        root.mkdir("/etc/kmod-tools/kmod-tools.conf");
        CHECK(config_error(root) == "refusing configuration " + main.string() +
                                        ": '/etc/kmod-tools/kmod-tools.conf' is a directory, not a regular file");
    }
    SUBCASE("a FIFO as a drop-in, which must not hang the kernel's helper")
    {
        root.mkdir("/etc/kmod-tools/kmod-tools.conf.d");
        REQUIRE(::mkfifo((root / "/etc/kmod-tools/kmod-tools.conf.d/50-fifo.conf").c_str(), 0644) == 0);
        CHECK(config_error(root) == "refusing configuration " +
                                        (root / "/etc/kmod-tools/kmod-tools.conf.d/50-fifo.conf").string() +
                                        ": '/etc/kmod-tools/kmod-tools.conf.d/50-fifo.conf' is not a regular file");
    }
    SUBCASE("the drop-in directory is a file")
    {
        root.write("/etc/kmod-tools/kmod-tools.conf.d", "");
        CHECK(config_error(root) == "refusing configuration directory " +
                                        (root / "/etc/kmod-tools/kmod-tools.conf.d").string() +
                                        ": '/etc/kmod-tools/kmod-tools.conf.d' is not a directory");
    }
    SUBCASE("a runtime layer that is a directory")
    {
        root.mkdir("/run/kmod-tools/runtime.conf");
        CHECK(config_error(root) == "refusing configuration " + (root / "/run/kmod-tools/runtime.conf").string() +
                                        ": '/run/kmod-tools/runtime.conf' is a directory, not a regular file");
    }
    SUBCASE("a file root cannot read")
    {
        if (::geteuid() == 0)
            KMOD_TOOLS_SKIP("root reads every file; EACCES cannot be made here");
        root.write("/etc/kmod-tools/kmod-tools.conf", "deny = dccp\n", 0000);
        CHECK(config_error(root) == "cannot read configuration " + main.string() + ": Permission denied");
    }
}

TEST_CASE("a policy pattern that could never match is an error naming FILE:LINE")
{
    Config config;
    CHECK_THROWS_WITH_AS(apply_config_text(config, "# rare protocols\ndeny = dccp algif_[sh*\n", "/etc/x.conf"),
                         "/etc/x.conf:2: bad deny pattern 'algif_[sh*': unbalanced '[' (no closing ']')", Error);
    CHECK_THROWS_WITH_AS(apply_config_text(config, "keep = !brd\n", "/etc/x.conf"),
                         "/etc/x.conf:1: bad keep pattern '!brd': '!' outside brackets matches only itself, which "
                         "no module name or alias holds",
                         Error);
}
