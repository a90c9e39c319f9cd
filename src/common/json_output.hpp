// SPDX-License-Identifier: LGPL-2.1-or-later
// Printing a --json report: the one place where every tool's JSON reaches standard output.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace kmodtools {

// `value` as indented JSON text with a final newline. Strings need not be UTF-8 (a request name,
// a path or a parameter value can hold any byte): each byte that is not part of valid UTF-8
// becomes U+FFFD, so a report is never refused for its content.
std::string json_text(const nlohmann::json& value);

// Writes json_text(value) to standard output (tool_main checks that it arrived).
void print_json(const nlohmann::json& value);

} // namespace kmodtools
