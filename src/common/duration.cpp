// SPDX-License-Identifier: LGPL-2.1-or-later
// Parsing durations: 90, 90s, 2m, 1h.
#include "duration.hpp"

#include <charconv>
#include <cstdint>

namespace kmodtools {

std::optional<std::chrono::seconds> parse_duration(std::string_view text, std::string* why)
{
    auto fail = [&](const char* reason) -> std::optional<std::chrono::seconds> {
        if (why != nullptr)
            *why = reason;
        return std::nullopt;
    };
    if (text.empty())
        return fail("empty value");
    std::int64_t multiplier = 1;
    switch (text.back()) {
    case 's':
        text.remove_suffix(1);
        break;
    case 'm':
        multiplier = 60;
        text.remove_suffix(1);
        break;
    case 'h':
        multiplier = 3600;
        text.remove_suffix(1);
        break;
    default:
        break;
    }
    if (text.empty())
        return fail("no number before the unit");
    // from_chars would accept a leading '-' for a signed type; only digits make a duration.
    for (char c : text)
        if (c < '0' || c > '9')
            return fail(c == '-' ? "must not be negative" : "not a whole number of seconds (s, m or h may follow)");
    std::uint64_t number = 0;
    const auto result = std::from_chars(text.data(), text.data() + text.size(), number);
    if (result.ec != std::errc() || number > static_cast<std::uint64_t>(max_duration.count()))
        return fail("too large (at most 366 days)");
    const auto seconds = static_cast<std::int64_t>(number) * multiplier;
    if (seconds > max_duration.count())
        return fail("too large (at most 366 days)");
    return std::chrono::seconds(seconds);
}

} // namespace kmodtools
