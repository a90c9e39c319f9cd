// SPDX-License-Identifier: LGPL-2.1-or-later
// Validating requested module names and aliases.
#include "request_name.hpp"

#include <cstdio>

namespace kmodtools {

std::string request_name_problem(std::string_view name)
{
    if (name.empty())
        return "empty name";
    if (name.size() > max_request_name_length)
        return "name longer than " + std::to_string(max_request_name_length) + " characters";
    if (name.front() == '-')
        return "name starts with '-'";
    for (unsigned char c : name) {
        if (c == '/')
            return "name contains '/' (a module name or alias, not a path)";
        if (c == ' ' || c == '\t')
            return "name contains whitespace";
        if (c < 0x20 || c == 0x7f)
            return "name contains a control character";
    }
    return {};
}

std::string quote_name(std::string_view text)
{
    constexpr std::size_t shown = 64;
    std::string result = "'";
    for (std::size_t i = 0; i < text.size() && i < shown; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        // A quote would end the quoting early, and bytes past ASCII may be invalid UTF-8, which the
        // journal then stores as a blob that plain `journalctl` does not show.
        if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'') {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
            result += escaped;
        } else {
            result += static_cast<char>(c);
        }
    }
    if (text.size() > shown)
        result += "...";
    return result + "'";
}

} // namespace kmodtools
