// SPDX-License-Identifier: LGPL-2.1-or-later
// Printing --json reports.
#include "json_output.hpp"

#include "standard_streams.hpp"

namespace kmodtools {

std::string json_text(const nlohmann::json& value)
{
    return value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void print_json(const nlohmann::json& value) { print(json_text(value)); }

} // namespace kmodtools
