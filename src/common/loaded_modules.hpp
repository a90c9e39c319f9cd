// SPDX-License-Identifier: LGPL-2.1-or-later
// The loaded-module view: what the kernel says about each loaded module, from /proc/modules and /sys/module.
#pragma once

#include "paths.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

// /proc/modules' Live/Loading/Unloading, which are /sys/module/M/initstate's live/coming/going.
enum class ModuleState { live, loading, unloading };

std::string_view to_string(ModuleState state);

struct LoadedModule {
    std::string name;
    int refcount = 0;                 // references other than from modules (open files, mounts, ...)
    std::vector<std::string> holders; // modules that depend on this one
    ModuleState state = ModuleState::live;
    bool permanent = false; // has an init function but no exit function: the kernel will never unload it

    // Nothing, neither a module nor anything else, holds it.
    bool idle() const { return refcount == 0 && holders.empty(); }
};

// Parses the text of /proc/modules. Modules on their way out (Unloading, or the refcount of -1 the
// kernel shows while it tears one down) are left out: for every purpose of the tools they are gone.
// A malformed line throws Error naming `source` and the line number.
std::vector<LoadedModule> parse_proc_modules(std::string_view text, std::string_view source = "/proc/modules");

// The loaded modules now. A kernel without module support (no /proc/modules) throws Error.
std::vector<LoadedModule> read_loaded_modules(const Paths& paths);

// Only the devices the module's drivers are bound to (one directory listing, usually absent).
std::vector<std::string> bound_devices(const Paths& paths, std::string_view name);

// Which load of a module this is: "ino:N", the inode of /sys/module/NAME, or "" if it is not there.
// The kernel often loads a module again at the same address, but sysfs numbers every new directory
// anew (kernfs allocates inode numbers cyclically), so a reload always gets another instance.
std::string module_instance(const Paths& paths, std::string_view name);

} // namespace kmodtools
