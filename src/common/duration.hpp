// SPDX-License-Identifier: LGPL-2.1-or-later
// Durations as people write them in config files and on command lines: 90, 90s, 2m, 1h.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kmodtools {

// The largest duration accepted: beyond it a delay means "never", which the keep list says better.
inline constexpr std::chrono::seconds max_duration{std::chrono::hours(24 * 366)};

// A non-negative whole number of seconds, with an optional suffix s, m or h. std::nullopt, with
// `why` set, for anything else (negative, fractional, empty, trailing junk, too large).
std::optional<std::chrono::seconds> parse_duration(std::string_view text, std::string* why = nullptr);

} // namespace kmodtools
