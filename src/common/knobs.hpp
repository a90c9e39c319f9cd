// SPDX-License-Identifier: LGPL-2.1-or-later
// kmod-sysctl's knobs, each declared once: its names, how it is read, checked, set and persisted.
#pragma once

#include "paths.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kmodtools {

struct Knob {
    std::string_view name;    // as printed
    std::string_view synonym; // also accepted: the kernel's sysctl name, or the 2.2 days' name
    // The value now: a string, a number of seconds, or a boolean.
    nlohmann::json (*read)(const Paths& paths);
    // Refuses a value (throws Error) before anything is changed. nullptr: the knob is read-only.
    void (*check)(const Paths& paths, std::string_view value);
    // What a checked value needs in place before `set` changes anything (nullptr: nothing); returns
    // what undoes it if a later step fails, or an empty function when there is nothing to undo.
    std::function<void()> (*prepare)(const Paths& paths, std::string_view value);
    // Sets a checked value, now and with `persist` also at every boot.
    void (*set)(const Paths& paths, std::string_view value, bool persist);
    // The files `set` may write (to put back if a later step fails).
    std::vector<std::filesystem::path> (*files)(const Paths& paths, bool persist);
    // Puts back the live value read() gave before `set`, when it lives outside those files.
    void (*restore_live)(const Paths& paths, const nlohmann::json& value);
    std::string_view read_only_why; // for a read-only knob: why, and what to use instead
};

// Every knob, in the order they are printed.
std::span<const Knob> knobs();

// The knob called `name` (or its synonym); throws Error::usage naming the known knobs.
const Knob& knob_named(std::string_view name);

// Sets each knob to its checked value, in order, all or nothing: if a step fails (a full disk, a
// symlinked sysctl.d), what the earlier steps changed, live values, files and what `prepare` did
// alike, is put back before the error is rethrown, so a failure always means that nothing changed.
void set_knobs(const Paths& paths, const std::vector<std::pair<const Knob*, std::string>>& settings, bool persist);

// A knob's value as printed: strings as they are, booleans as 1 or 0, numbers in decimal.
std::string format_knob_value(const nlohmann::json& value);

} // namespace kmodtools
