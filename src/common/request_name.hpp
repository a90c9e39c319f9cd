// SPDX-License-Identifier: LGPL-2.1-or-later
// What may be asked for: module names and aliases as the kernel, udev and people pass them.
#pragma once

#include <string>
#include <string_view>

namespace kmodtools {

// Longer than any real alias (modaliases stay well under 512); a 4 KiB "name" is garbage or an attack.
inline constexpr std::size_t max_request_name_length = 1024;

// Why `name` cannot be a module name or alias, or an empty string if it can.
std::string request_name_problem(std::string_view name);

// `text` quoted for a one-line message: control characters, quotes, backslashes and non-ASCII bytes
// escaped as \xHH, long text cut short. Safe for any bytes a user controls (comm, mount -t names).
std::string quote_name(std::string_view text);

} // namespace kmodtools
