// SPDX-License-Identifier: LGPL-2.1-or-later
// Driver settings kept across unload and reload: what kerneld kept in gdbm and modutils' persist dir did.
//
// Before kmod-reap unloads a module, the values of its writable parameters that someone changed
// since it was loaded are saved to /var/lib/kmod-tools/settings/MODULE.conf; when kmod-request loads
// it again, they become load-time options, so they take effect during the module's init.
#pragma once

#include "paths.hpp"

#include <functional>
#include <map>
#include <optional>
#include <set>
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

// "name=value" for the kernel's parser, quoting values with blanks (or nothing at all).
std::string format_option(const std::string& name, const std::string& value);

// The parameters an options string sets ("a=1 b=\"x y\" flag"), split as the kernel's parser
// (lib/cmdline.c next_arg) splits them: blanks outside double quotes separate, quotes are dropped.
// A word without '=' sets the parameter to "" (a bool flag). Later words win.
Parameters parse_options(std::string_view options);

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

// Saves what `module`'s writable parameters hold now that differs from their values right after
// it was loaded (`at_load`; none: a module kmod-request did not load, all are saved), before it is
// unloaded. Returns why it could not (then the module must stay), or an empty string.
std::string save_before_unload(const Paths& paths, const std::string& module, const std::optional<Parameters>& at_load);

// The saved settings of `module` as load-time options, keeping only parameters the module file
// declares (`declares`). What cannot be trusted or passed is dropped with a warning: the module
// loads all the same.
std::string saved_options(const Paths& paths, const std::string& module,
                          const std::function<bool(const std::string& parameter)>& declares);

// What to save before an unload: the saved settings still valid, overlaid with every parameter
// whose value differs from the one it had right after loading (`at_load`); without a load-time
// snapshot (a module kmod-request did not load), every writable parameter.
Parameters settings_to_save(const Parameters& current, const std::optional<Parameters>& at_load,
                            const std::optional<Parameters>& previously_saved);

} // namespace kmodtools
