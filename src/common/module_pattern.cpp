// SPDX-License-Identifier: LGPL-2.1-or-later
// Glob patterns over module names and aliases.
#include "module_pattern.hpp"

#include "request_name.hpp"

#include <fnmatch.h>

namespace kmodtools {

std::string pattern_problem(std::string_view pattern)
{
    if (pattern.empty())
        return "empty pattern";
    if (pattern.size() > 255)
        return "pattern longer than 255 characters";
    for (unsigned char c : pattern) {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                             c == '_' || c == '-' || c == '.' || c == ':' || c == ',' || c == '*' || c == '?' ||
                             c == '[' || c == ']' || c == '!' || c == '^';
        if (!allowed)
            return c < 0x20 || c == 0x7f ? "control character in pattern"
                                         : "character '" + std::string(1, static_cast<char>(c)) + "' in pattern";
    }
    return {};
}

namespace {

// '-' becomes '_' as in module names, except inside a bracket expression, where '-' makes a range.
std::string normalize_pattern(std::string_view pattern)
{
    std::string normalized;
    bool in_brackets = false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        char c = pattern[i];
        if (!in_brackets && c == '[') {
            in_brackets = true;
            normalized += c;
            // A ']' (after an optional '!' or '^') first in the set is a member, not the end.
            if (i + 1 < pattern.size() && (pattern[i + 1] == '!' || pattern[i + 1] == '^'))
                normalized += pattern[++i];
            if (i + 1 < pattern.size() && pattern[i + 1] == ']')
                normalized += pattern[++i];
            continue;
        }
        if (in_brackets && c == ']')
            in_brackets = false;
        else if (!in_brackets && c == '-')
            c = '_';
        normalized += c;
    }
    return normalized;
}

} // namespace

bool pattern_matches(std::string_view pattern, std::string_view name)
{
    const auto normalized_pattern = normalize_pattern(pattern);
    const auto normalized_name = normalize_module_name(name);
    return ::fnmatch(normalized_pattern.c_str(), normalized_name.c_str(), 0) == 0;
}

} // namespace kmodtools
