// SPDX-License-Identifier: LGPL-2.1-or-later
// The JSON every state file shares (on-demand records, load intents, idle clocks): parse, or call it corrupt;
// whole numbers checked before they are converted.
#pragma once

#include "error.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace kmodtools {

// Makes the Error for a corrupt file from why it is corrupt ("corrupt record FILE: why").
using CorruptError = std::function<Error(const std::string& why)>;

// `text` as a JSON string, written by hand rather than with nlohmann::json: records and load
// intents are written by the helper the kernel starts for every request, where the size of the code
// run is what costs (see tests/bench). A byte that is not part of valid UTF-8 is written as U+FFFD.
std::string json_string(std::string_view text);

// `text` as a JSON object; anything else (not JSON, another type) throws corrupt(why).
nlohmann::json parse_state_object(std::string_view text, const CorruptError& corrupt);

// Runs `read` over a parsed state object, turning nlohmann's type and missing-key errors into
// corrupt("missing or mistyped field (...)").
void read_state_fields(const CorruptError& corrupt, const std::function<void()>& read);

// The value as an int64, or std::nullopt unless it is a JSON integer in range. nlohmann's
// get<std::int64_t>() converts anything numeric: 1.9 becomes 1, and 1e300 or a number past
// UINT64_MAX (which it stores as a double) is undefined behaviour; a file we wrote holds neither.
inline std::optional<std::int64_t> json_int64(const nlohmann::json& value)
{
    if (value.is_number_unsigned()) {
        const auto number = value.get<std::uint64_t>();
        if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return std::nullopt;
        return static_cast<std::int64_t>(number);
    }
    if (value.is_number_integer())
        return value.get<std::int64_t>();
    return std::nullopt;
}

// A short description of a JSON value for "corrupt" messages: a number as written, anything else by
// its type, so that neither a long string nor a deeply nested array ends up in a one-line message.
inline std::string describe_json(const nlohmann::json& value)
{
    return value.is_number() ? value.dump() : std::string(value.type_name());
}

} // namespace kmodtools
