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
