// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of saved driver settings: reading sysfs parameters, the file format round trip for every
// kind of value, corrupt and untrusted files, what is saved, and how values become options.
#include "error.hpp"
#include "fake_root.hpp"
#include "skip.hpp"
#include "settings.hpp"
#include "text_file.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

TEST_CASE("writable parameters are read from sysfs; read-only ones and unset strings are not")
{
    FakeRoot root;
    root.write("/sys/module/lockd/parameters/nlm_timeout", "20\n", 0644);
    root.write("/sys/module/lockd/parameters/nsm_use_hostnames", "N\n", 0644);
    root.write("/sys/module/lockd/parameters/nlm_udpport", "0\n", 0444);
    root.write("/sys/module/lockd/parameters/unset_string", "(null)\n", 0644);
    const auto parameters = read_writable_parameters(root.paths(), "lockd");
    CHECK(parameters == Parameters{{"nlm_timeout", "20"}, {"nsm_use_hostnames", "N"}});
    CHECK(read_writable_parameters(root.paths(), "no_parameters").empty());
}

TEST_CASE("every kind of value round-trips through the file")
{
    const Parameters parameters{
        {"integer", "-20"},         {"boolean", "Y"},         {"spaces", "Linux  Vendor x"},
        {"empty", ""},              {"array", "1,2,,4"},      {"equals", "a=b"},
        {"hash", "#not a comment"}, {"unicode", "caf\xc3\xa9"},
    };
    const auto text = serialize_settings("scsi_debug", parameters);
    CHECK(parse_settings(text, "f") == parameters);

    FakeRoot root;
    save_settings(root.paths(), "scsi_debug", parameters);
    CHECK(load_settings(root.paths(), "scsi_debug") == parameters);
    CHECK(modules_with_settings(root.paths()) == std::vector<std::string>{"scsi_debug"});
    struct stat st {};
    REQUIRE(::stat((root / "/var/lib/kmod-tools/settings/scsi_debug.conf").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    REQUIRE(::stat((root / "/var/lib/kmod-tools/settings").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);

    CHECK(forget_settings(root.paths(), "scsi_debug"));
    CHECK_FALSE(forget_settings(root.paths(), "scsi_debug"));
    CHECK_FALSE(load_settings(root.paths(), "scsi_debug").has_value());
}

TEST_CASE("values that cannot be passed are never saved, nor restored from a hand-edited file")
{
    FakeRoot root;
    save_settings(root.paths(), "m", {{"p", "say \"hi\""}, {"q", "two\nlines"}, {"r", "1"}});
    CHECK(load_settings(root.paths(), "m") == Parameters{{"r", "1"}});
    save_settings(root.paths(), "m", {{"p", "say \"hi\""}}); // nothing passable left: no file
    CHECK_FALSE(load_settings(root.paths(), "m").has_value());
    root.write("/var/lib/kmod-tools/settings/m.conf",
               "# kmod-tools saved settings 1\np=a\x01b\nr=2\n# end\n", 0600);
    CHECK(load_settings(root.paths(), "m") == Parameters{{"r", "2"}});
    CHECK_THROWS_AS(save_settings(root.paths(), "../etc", {{"p", "1"}}), Error);
    CHECK_THROWS_AS(save_settings(root.paths(), "m", {{"bad name", "1"}}), Error);
    CHECK(unpassable_value_problem("plain, with spaces") == "");
    CHECK(unpassable_value_problem("a\"b") == "contains a double quote, which the kernel's option parser cannot take");
    CHECK(unpassable_value_problem("a\tb") == "contains a control character");
}

TEST_CASE("options are quoted for the kernel's parser when they must be")
{
    CHECK(format_option("nlm_timeout", "20") == "nlm_timeout=20");
    CHECK(format_option("inq_vendor", "Linux  X") == "inq_vendor=\"Linux  X\"");
    CHECK(format_option("empty", "") == "empty=\"\"");
    CHECK(format_option("array", "1,2,3") == "array=1,2,3");
}

TEST_CASE("files that cannot be trusted are errors, so callers ignore them")
{
    FakeRoot root;
    save_settings(root.paths(), "lockd", {{"nlm_timeout", "20"}});
    const auto file = root / "/var/lib/kmod-tools/settings/lockd.conf";
    const std::string good = serialize_settings("lockd", {{"nlm_timeout", "20"}});
    SUBCASE("truncated")
    {
        root.write("/var/lib/kmod-tools/settings/lockd.conf", good.substr(0, good.size() - 4), 0600);
        CHECK_THROWS_WITH_AS(load_settings(root.paths(), "lockd"),
                             ("corrupt settings " + file.string() + ": truncated (no end line)").c_str(), Error);
    }
    SUBCASE("no header")
    {
        root.write("/var/lib/kmod-tools/settings/lockd.conf", "nlm_timeout=20\n# end\n", 0600);
        CHECK_THROWS_WITH_AS(load_settings(root.paths(), "lockd"),
                             ("corrupt settings " + file.string() + ": missing header").c_str(), Error);
    }
    SUBCASE("a line that is not NAME=VALUE")
    {
        std::string bad = good;
        bad.insert(bad.find("nlm_timeout"), "garbage\n");
        root.write("/var/lib/kmod-tools/settings/lockd.conf", bad, 0600);
        CHECK_THROWS_AS(load_settings(root.paths(), "lockd"), Error);
    }
    SUBCASE("writable by others")
    {
        ::chmod(file.c_str(), 0666);
        CHECK_THROWS_WITH_AS(load_settings(root.paths(), "lockd"),
                             ("refusing " + file.string() + ": writable by group or others").c_str(), Error);
    }
    SUBCASE("owned by someone else")
    {
        if (::geteuid() != 0) {
            KMOD_TOOLS_SKIP("needs root to chown");
        }
        REQUIRE(::chown(file.c_str(), 65534, 65534) == 0);
        CHECK_THROWS_AS(load_settings(root.paths(), "lockd"), Error);
    }
    SUBCASE("a symlink")
    {
        std::filesystem::remove(file);
        root.write("/tmp/planted", good, 0600);
        root.symlink((root / "/tmp/planted").string(), "/var/lib/kmod-tools/settings/lockd.conf");
        CHECK_THROWS_AS(load_settings(root.paths(), "lockd"), Error);
    }
}

TEST_CASE("what is saved: changes since load, on top of what was saved before")
{
    const Parameters at_load{{"a", "1"}, {"b", "x"}, {"c", "Y"}};
    const Parameters current{{"a", "1"}, {"b", "changed"}, {"c", "Y"}};
    CHECK(settings_to_save(current, at_load, std::nullopt) == Parameters{{"b", "changed"}});
    // Restored at load (so equal now) and still a parameter: kept; a parameter gone: dropped.
    const Parameters previous{{"a", "1"}, {"gone", "7"}};
    CHECK(settings_to_save(current, at_load, previous) == Parameters{{"a", "1"}, {"b", "changed"}});
    // Nothing known about the load: everything writable is saved.
    CHECK(settings_to_save(current, std::nullopt, std::nullopt) == current);
}

TEST_CASE("parse_options splits an options string as the kernel's parser does, the inverse of format_option")
{
    CHECK(parse_options("") == Parameters{});
    CHECK(parse_options("  nlm_timeout=15   debug ") == Parameters{{"nlm_timeout", "15"}, {"debug", ""}});
    CHECK(parse_options(format_option("name", "two words") + " " + format_option("empty", "")) ==
          Parameters{{"name", "two words"}, {"empty", ""}});
    CHECK(parse_options("a=1 a=2") == Parameters{{"a", "2"}});
    CHECK(parse_options("\"quoted=whole word\"") == Parameters{{"quoted", "whole word"}});
}

TEST_CASE("a settings file larger than any settings is refused")
{
    FakeRoot root;
    save_settings(root.paths(), "lockd", {{"nlm_timeout", "20"}});
    const auto file = root / "/var/lib/kmod-tools/settings/lockd.conf";
    root.write("/var/lib/kmod-tools/settings/lockd.conf",
               serialize_settings("lockd", {{"p", std::string(max_state_file_size, 'x')}}), 0600);
    CHECK_THROWS_WITH_AS(load_settings(root.paths(), "lockd"),
                         ("refusing " + file.string() + ": larger than 1048576 bytes").c_str(), Error);
}

TEST_CASE("a directory where a settings file should be is set aside, so the module can still be saved")
{
    FakeRoot root;
    root.mkdir("/var/lib/kmod-tools/settings", 0700);
    root.mkdir("/var/lib/kmod-tools/settings/lockd.conf");
    CHECK_THROWS_AS(load_settings(root.paths(), "lockd"), Error);
    save_settings(root.paths(), "lockd", {{"nlm_timeout", "20"}});
    CHECK(load_settings(root.paths(), "lockd") == Parameters{{"nlm_timeout", "20"}});
}
