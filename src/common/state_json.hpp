// SPDX-License-Identifier: LGPL-2.1-or-later
// The JSON start every state file shares (on-demand records, idle clocks): parse, or call it corrupt.
#pragma once

#include "error.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace kmodtools {

// Makes the Error for a corrupt file from why it is corrupt ("corrupt record FILE: why").
using CorruptError = std::function<Error(const std::string& why)>;

// `text` as a JSON object; anything else (not JSON, another type) throws corrupt(why).
nlohmann::json parse_state_object(std::string_view text, const CorruptError& corrupt);

// Runs `read` over a parsed state object, turning nlohmann's type and missing-key errors into
// corrupt("missing or mistyped field (...)").
void read_state_fields(const CorruptError& corrupt, const std::function<void()>& read);

} // namespace kmodtools
