// SPDX-License-Identifier: LGPL-2.1-or-later
// Names: module names as the kernel keeps them, and what may be asked for (names and aliases).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

// Longer than any real alias (modaliases stay well under 512); a 4 KiB "name" is garbage or an attack.
inline constexpr std::size_t max_request_name_length = 1024;

// Whether `name` is a module name as the kernel keeps it (letters, digits, '_'; under 56 bytes), and
// so safe as a file name in state directories.
bool is_module_name(std::string_view name);

// Module names compare with '-' and '_' as the same character, as the kernel and kmod do.
std::string normalize_module_name(std::string_view name);

// Why `name` cannot be a module name or alias, or an empty string if it can.
std::string request_name_problem(std::string_view name);

// The names of a command line and the load-time options given after each, as modprobe reads them:
// PARAM=VALUE words after a name are options for that name.
struct RequestedNames {
    std::vector<std::string> names;
    std::map<std::string, std::string> options; // name -> "PARAM=VALUE PARAM=VALUE"
};

// Splits `words` into names and options and checks every name, before anything is loaded (so one
// bad name in a batch loads nothing). Throws Error::usage.
RequestedNames split_requested_names(const std::vector<std::string>& words);

// `text` quoted for a one-line message: control characters, quotes, backslashes and non-ASCII bytes
// escaped as \xHH, long text cut short. Safe for any bytes a user controls (comm, mount -t names).
std::string quote_name(std::string_view text);

// The same escaping, never cut short: for what must be seen whole, such as a helper path in a
// critical line (the kernel keeps at most 255 bytes of it).
std::string quote_whole(std::string_view text);

} // namespace kmodtools
