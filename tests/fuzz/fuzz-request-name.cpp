// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzz target: names asked for (by the kernel, udev or people) and how messages quote them.
#include "fuzz.hpp"
#include "request_name.hpp"

#include <algorithm>

using namespace kmodtools;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto name = fuzz::as_text(data, size);
    std::string problem;
    fuzz::returns_or_throws_error([&] { problem = request_name_problem(name); });
    if (problem.empty()) {
        // An accepted name goes to libkmod, log lines and file contents: none of these may be in it.
        FUZZ_CHECK(!name.empty() && name.size() <= max_request_name_length);
        FUZZ_CHECK(name.front() != '-');
        for (const unsigned char c : name)
            FUZZ_CHECK(c != '/' && c != ' ' && c >= 0x20 && c != 0x7f);
    } else {
        FUZZ_CHECK(fuzz::is_one_line(problem));
    }

    std::string quoted;
    fuzz::returns_or_throws_error([&] { quoted = quote_name(name); });
    // Whatever a user asks for, the quoted form cannot forge or break a log line.
    FUZZ_CHECK(quoted.size() >= 2 && quoted.front() == '\'' && quoted.back() == '\'');
    for (const unsigned char c : quoted)
        FUZZ_CHECK(c >= 0x20 && c < 0x7f); // printable ASCII only: no control or non-ASCII byte
    // The only quotes are the two around it: a name cannot close the quote and forge what follows.
    FUZZ_CHECK(quoted.find('\'', 1) == quoted.size() - 1);
    FUZZ_CHECK(quoted.size() <= 2 + 64 * 4 + 3);
    const bool plain = name.size() <= 64 && name.find_first_of("\\'") == std::string_view::npos &&
                       std::all_of(name.begin(), name.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
    if (plain)
        FUZZ_CHECK(quoted == "'" + std::string(name) + "'");
    return 0;
}
