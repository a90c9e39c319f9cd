// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of --json output: bytes that are not UTF-8 are replaced, never a reason to abort.
#include "json_output.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;

TEST_CASE("a report with bytes that are not UTF-8 is printed, with U+FFFD in their place")
{
    const nlohmann::json report = {{"name", std::string("fs-\xff\xfe" "evil")}, {"status", "failed"}};
    std::string text;
    CHECK_NOTHROW(text = json_text(report));
    CHECK(text.find("\"fs-\xef\xbf\xbd\xef\xbf\xbd" "evil\"") != std::string::npos);
    CHECK(nlohmann::json::parse(text)["status"] == "failed");
    CHECK(text.back() == '\n');
}

TEST_CASE("valid UTF-8 and control characters come through as JSON escapes")
{
    const auto text = json_text(nlohmann::json{{"name", "caf\xc3\xa9\n"}});
    CHECK(text.find("caf\xc3\xa9\\n") != std::string::npos);
}
