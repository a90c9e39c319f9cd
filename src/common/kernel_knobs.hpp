// SPDX-License-Identifier: LGPL-2.1-or-later
// The kernel's own module knobs under /proc/sys/kernel: modprobe (the helper) and modules_disabled.
#pragma once

#include "paths.hpp"

#include <string>
#include <string_view>

namespace kmodtools {

// The program the kernel runs for request_module(). Throws Error if the kernel has no module support.
std::string read_modprobe_helper(const Paths& paths);

// Sets kernel.modprobe to `helper` (already checked by the caller) and reads it back. An empty
// value disables module autoloading.
void write_modprobe_helper(const Paths& paths, std::string_view helper);

// kernel.modules_disabled: once 1, no module can be loaded or unloaded until reboot.
bool read_modules_disabled(const Paths& paths);

} // namespace kmodtools
