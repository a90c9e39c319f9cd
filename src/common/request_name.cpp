// SPDX-License-Identifier: LGPL-2.1-or-later
// Module names, and validating requested names and aliases.
#include "request_name.hpp"

#include "error.hpp"

#include <algorithm>
#include <cstdio>

namespace kmodtools {

bool is_module_name(std::string_view name)
{
    // MODULE_NAME_LEN is 64 bytes with the NUL; kmod and the kernel use 56 in practice.
    if (name.empty() || name.size() > 55)
        return false;
    for (unsigned char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    return true;
}

std::string normalize_module_name(std::string_view name)
{
    std::string normalized(name);
    std::replace(normalized.begin(), normalized.end(), '-', '_');
    return normalized;
}

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

RequestedNames split_requested_names(const std::vector<std::string>& words)
{
    RequestedNames requested;
    for (const auto& word : words) {
        if (word.find('=') == std::string::npos || word.front() == '=') {
            requested.names.push_back(word);
            continue;
        }
        if (requested.names.empty())
            throw Error::usage("option " + quote_name(word) + " comes before any module name");
        auto& line = requested.options[requested.names.back()];
        line += (line.empty() ? "" : " ") + word;
    }
    if (requested.names.empty())
        throw Error::usage("no module name given (see --help)");
    for (const auto& name : requested.names)
        if (const auto problem = request_name_problem(name); !problem.empty())
            throw Error::usage("bad name " + quote_name(name) + ": " + problem);
    return requested;
}

namespace {

std::string quote_up_to(std::string_view text, std::size_t shown)
{
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

} // namespace

std::string quote_name(std::string_view text) { return quote_up_to(text, 64); }

std::string quote_whole(std::string_view text) { return quote_up_to(text, text.size()); }

} // namespace kmodtools
