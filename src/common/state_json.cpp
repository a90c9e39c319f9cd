// SPDX-License-Identifier: LGPL-2.1-or-later
// Parsing and writing the JSON of state files.
#include "state_json.hpp"

#include <cstdint>
#include <cstdio>

namespace kmodtools {

namespace {

// The length of the well-formed UTF-8 sequence at the start of `text` (no overlong forms, surrogates
// or code points past U+10FFFF: what a JSON parser accepts), or 0 if there is none.
std::size_t utf8_sequence_length(std::string_view text)
{
    const auto lead = static_cast<unsigned char>(text[0]);
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead < 0x80)
        return 1;
    if ((lead & 0xe0) == 0xc0) {
        length = 2;
        code_point = lead & 0x1fu;
    } else if ((lead & 0xf0) == 0xe0) {
        length = 3;
        code_point = lead & 0x0fu;
    } else if ((lead & 0xf8) == 0xf0) {
        length = 4;
        code_point = lead & 0x07u;
    } else {
        return 0;
    }
    if (text.size() < length)
        return 0;
    for (std::size_t i = 1; i < length; ++i) {
        const auto next = static_cast<unsigned char>(text[i]);
        if ((next & 0xc0) != 0x80)
            return 0;
        code_point = (code_point << 6) | (next & 0x3fu);
    }
    constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < smallest[length] || code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff))
        return 0;
    return length;
}

} // namespace

// A JSON string. Written by hand rather than with nlohmann::json: records are written by the helper
// the kernel starts for every request, where the size of the code run is what costs (see tests/bench).
// A byte that is not part of valid UTF-8 (a requested name or a parameter value may hold any) is
// written as U+FFFD: JSON cannot carry it, and a record the parser rejects is one kmod-reap removes.
std::string json_string(std::string_view text)
{
    std::string quoted = "\"";
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            const auto length = utf8_sequence_length(text.substr(i));
            if (length == 0) {
                quoted += "\\ufffd";
            } else {
                quoted += text.substr(i, length);
                i += length - 1;
            }
            continue;
        }
        switch (c) {
        case '"':
            quoted += "\\\"";
            break;
        case '\\':
            quoted += "\\\\";
            break;
        default:
            if (c < 0x20) {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                quoted += escaped;
            } else {
                quoted += static_cast<char>(c);
            }
        }
    }
    return quoted + "\"";
}


nlohmann::json parse_state_object(std::string_view text, const CorruptError& corrupt)
{
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        throw corrupt("not valid JSON");
    }
    if (!json.is_object())
        throw corrupt("not a JSON object");
    return json;
}

void read_state_fields(const CorruptError& corrupt, const std::function<void()>& read)
{
    try {
        read();
    } catch (const nlohmann::json::exception& error) {
        throw corrupt(std::string("missing or mistyped field (") + error.what() + ")");
    }
}

} // namespace kmodtools
