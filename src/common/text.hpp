// SPDX-License-Identifier: LGPL-2.1-or-later
// Small text helpers every parser and message shares: lines, words, trimming, joining.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

// `text` without leading and trailing blanks (space, tab, carriage return).
std::string_view trim(std::string_view text);

// The blank-separated words of `text` (spaces and tabs).
std::vector<std::string_view> split_words(std::string_view text);

// Calls `each(line, number)` for every line of `text` (numbered from 1, without the newline); a
// last line without a newline counts too.
void for_each_line(std::string_view text, const std::function<void(std::string_view line, std::size_t number)>& each);

// The words joined with `separator` between them.
std::string join(const std::vector<std::string>& words, std::string_view separator = " ");

} // namespace kmodtools
