// SPDX-License-Identifier: LGPL-2.1-or-later
// Small text helpers.
#include "text.hpp"

namespace kmodtools {

std::string_view trim(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos)
        return {};
    const auto last = text.find_last_not_of(" \t\r");
    return text.substr(first, last - first + 1);
}

std::vector<std::string_view> split_words(std::string_view text)
{
    std::vector<std::string_view> words;
    while (true) {
        const auto start = text.find_first_not_of(" \t");
        if (start == std::string_view::npos)
            return words;
        text.remove_prefix(start);
        const auto end = text.find_first_of(" \t");
        words.push_back(text.substr(0, end));
        if (end == std::string_view::npos)
            return words;
        text.remove_prefix(end);
    }
}

void for_each_line(std::string_view text, const std::function<void(std::string_view line, std::size_t number)>& each)
{
    std::size_t number = 0;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const auto line = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        each(line, ++number);
    }
}

std::string join(const std::vector<std::string>& words, std::string_view separator)
{
    std::string joined;
    for (const auto& word : words) {
        if (!joined.empty())
            joined += separator;
        joined += word;
    }
    return joined;
}

} // namespace kmodtools
