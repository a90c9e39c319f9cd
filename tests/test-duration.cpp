// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of duration parsing (unload_delay values).
#include "duration.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;
using std::chrono::seconds;

TEST_CASE("durations in seconds, minutes and hours")
{
    CHECK(parse_duration("0") == seconds(0));
    CHECK(parse_duration("120") == seconds(120));
    CHECK(parse_duration("45s") == seconds(45));
    CHECK(parse_duration("2m") == seconds(120));
    CHECK(parse_duration("1h") == seconds(3600));
    CHECK(parse_duration("8784h") == max_duration);
}

TEST_CASE("bad durations say why")
{
    const std::pair<const char*, const char*> cases[] = {
        {"", "empty value"},
        {"m", "no number before the unit"},
        {"-1", "must not be negative"},
        {"1.5", "not a whole number of seconds (s, m or h may follow)"},
        {"abc", "not a whole number of seconds (s, m or h may follow)"},
        {" 5", "not a whole number of seconds (s, m or h may follow)"},
        {"5 m", "not a whole number of seconds (s, m or h may follow)"},
        {"5d", "not a whole number of seconds (s, m or h may follow)"},
        {"0x10", "not a whole number of seconds (s, m or h may follow)"},
        {"8785h", "too large (at most 366 days)"},
        {"99999999999999999999999", "too large (at most 366 days)"},
    };
    for (const auto& [text, expected] : cases) {
        CAPTURE(text);
        std::string why;
        CHECK_FALSE(parse_duration(text, &why).has_value());
        CHECK(why == expected);
    }
}
