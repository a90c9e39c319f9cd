// SPDX-License-Identifier: LGPL-2.1-or-later
// Driver settings kept across unload and reload: what kerneld kept in gdbm and modutils' persist dir did.
//
// Before kmod-reap unloads a module, the values of its writable parameters that someone changed
// since it was loaded are saved to /var/lib/kmod-tools/settings/MODULE.conf; when kmod-request loads
// it again, they become load-time options, so they take effect during the module's init.
#pragma once

#include "paths.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

using Parameters = std::map<std::string, std::string>; // name -> value as sysfs shows it

// The module's owner-writable parameters and their current values from /sys/module/M/parameters.
// Throws Error naming the parameter if a value cannot be read: settings that cannot be read cannot
// be saved, and then the module must not be unloaded.
Parameters read_writable_parameters(const Paths& paths, std::string_view module);

// Why `value` cannot be passed to the kernel as a load-time option, or an empty string if it can.
// The kernel's option parser knows double quotes but no escapes, and options are one line.
std::string unpassable_value_problem(std::string_view value);

// "name=value" for the kernel's parser, quoting values with spaces or commas... or nothing at all.
std::string format_option(const std::string& name, const std::string& value);

// The text of a settings file, and back. Parsing throws Error naming `source` on anything off.
std::string serialize_settings(std::string_view module, const Parameters& parameters);
Parameters parse_settings(std::string_view text, const std::string& source);

std::filesystem::path settings_file(const Paths& paths, std::string_view module);

// Saves `parameters` for `module` (atomically, root-only); an empty set removes the file.
void save_settings(const Paths& paths, std::string_view module, const Parameters& parameters);

// The saved settings of `module`, or std::nullopt if there are none. A file that cannot be trusted
// (corrupt, truncated, someone else's, writable by others) throws Error: callers warn and ignore it.
std::optional<Parameters> load_settings(const Paths& paths, std::string_view module);

// Modules with saved settings.
std::vector<std::string> modules_with_settings(const Paths& paths);

// Forgets the saved settings of `module`; false if there were none.
bool forget_settings(const Paths& paths, std::string_view module);

// What to save before an unload: the saved settings still valid, overlaid with every parameter
// whose value differs from the one it had right after loading (`at_load`); without a load-time
// snapshot (a module kmod-request did not load), every writable parameter.
Parameters settings_to_save(const Parameters& current, const std::optional<Parameters>& at_load,
                            const std::optional<Parameters>& previously_saved);

} // namespace kmodtools
