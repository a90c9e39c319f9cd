// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzz target: module patterns (keep, deny, allow) and matching them against names.
//
// Input: the pattern, a NUL byte, then the name.
#include "fuzz.hpp"
#include "module_pattern.hpp"
#include "request_name.hpp"

#include <algorithm>

using namespace kmodtools;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    fuzz::Fields fields(fuzz::as_text(data, size));
    const auto pattern = fields.next();
    const auto name = fields.next();

    std::string problem;
    fuzz::returns_or_throws_error([&] { problem = pattern_problem(pattern); });
    if (!problem.empty()) {
        FUZZ_CHECK(fuzz::is_one_line(problem));
        return 0;
    }
    // Only valid patterns are ever matched, and only against names a request may carry.
    if (!request_name_problem(name).empty())
        return 0;
    bool matched = false;
    fuzz::returns_or_throws_error([&] { matched = pattern_matches(pattern, name); });

    // Hyphen and underscore are one character in names: swapping them cannot change the answer.
    std::string swapped = name;
    std::replace_if(
        swapped.begin(), swapped.end(), [](char c) { return c == '-'; }, '_');
    FUZZ_CHECK(pattern_matches(pattern, swapped) == matched);

    // A pattern without wildcards names one module, and matches it.
    if (pattern.find_first_of("*?[]!^") == std::string::npos)
        FUZZ_CHECK(pattern_matches(pattern, pattern));
    return 0;
}
