// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of module name patterns.
#include "module_pattern.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;

TEST_CASE("patterns are globs with - and _ alike")
{
    CHECK(pattern_matches("dm_*", "dm_mod"));
    CHECK(pattern_matches("dm-*", "dm_mod"));
    CHECK(pattern_matches("snd_hda_intel", "snd-hda-intel"));
    CHECK(pattern_matches("net-pf-1?", "net-pf-10"));
    CHECK(pattern_matches("algif_[sh]*", "algif_hash"));
    CHECK_FALSE(pattern_matches("dm_*", "xfs"));
    CHECK_FALSE(pattern_matches("xfs", "xfs2"));
}

TEST_CASE("a '-' inside brackets is a range, not a module-name dash")
{
    CHECK(pattern_matches("raid[0-9]*", "raid456"));
    CHECK(pattern_matches("snd-[a-c]*", "snd_bt87x"));
    CHECK_FALSE(pattern_matches("snd-[a-c]*", "snd_hda_intel"));
    CHECK(pattern_matches("x[!a-z]y", "x0y"));
}

TEST_CASE("pattern problems")
{
    CHECK(pattern_problem("dm_*").empty());
    CHECK(pattern_problem("pci:v00008086d*").empty());
    CHECK(pattern_problem("") == "empty pattern");
    CHECK(pattern_problem("a/b") == "character '/' in pattern");
    CHECK(pattern_problem("a\x01") == "control character in pattern");
    CHECK(pattern_problem(std::string(256, 'a')) == "pattern longer than 255 characters");
}

TEST_CASE("a pattern that can never match what it seems to name is an error, not a rule that never applies")
{
    CHECK(pattern_problem("algif_[sh*") == "unbalanced '[' (no closing ']')");
    CHECK(pattern_problem("dccp[") == "unbalanced '[' (no closing ']')");
    CHECK(pattern_problem("x[]") == "unbalanced '[' (no closing ']')"); // ']' first is a member
    CHECK(pattern_problem("dccp]") == "']' without '['");
    CHECK(pattern_problem("!dccp") == "'!' outside brackets matches only itself, which no module name or alias holds");
    CHECK(pattern_problem("^dccp") == "'^' outside brackets matches only itself, which no module name or alias holds");
    CHECK(pattern_problem("raid[9-0]") == "empty range '9-0' in brackets");
    CHECK(pattern_problem("a[[b]") == "'[' inside a bracket expression");
    // What they seem to name works.
    CHECK(pattern_problem("x[]a]").empty());
    CHECK(pattern_problem("x[!]a]").empty());
    CHECK(pattern_problem("raid[0-9]*").empty());
    CHECK(pattern_problem("x[a-]").empty());
    CHECK(pattern_problem("x[!a-z]y").empty());
}
