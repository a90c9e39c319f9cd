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
    // A pattern that can never match what it seems to name would be a rule that silently never
    // applies: a deny that denies nothing. Refuse those shapes.
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '!' || c == '^')
            return std::string("'") + c + "' outside brackets matches only itself, which no module name or alias holds";
        if (c == ']')
            return "']' without '['";
        if (c != '[')
            continue;
        std::size_t j = i + 1;
        if (j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^'))
            ++j;
        if (j < pattern.size() && pattern[j] == ']') // first in the set: a member, not the end
            ++j;
        for (; j < pattern.size() && pattern[j] != ']'; ++j) {
            if (pattern[j] == '[')
                return "'[' inside a bracket expression";
            if (pattern[j] == '-' && j + 1 < pattern.size() && pattern[j + 1] != ']' && j > i + 1 &&
                pattern[j - 1] != '[' && pattern[j - 1] > pattern[j + 1])
                return std::string("empty range '") + pattern[j - 1] + "-" + pattern[j + 1] + "' in brackets";
        }
        if (j == pattern.size())
            return "unbalanced '[' (no closing ']')";
        i = j;
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
