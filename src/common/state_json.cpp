// SPDX-License-Identifier: LGPL-2.1-or-later
// Parsing the JSON of state files.
#include "state_json.hpp"

namespace kmodtools {

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
