// SPDX-License-Identifier: LGPL-2.1-or-later
// The guard on kernel.modprobe: is the helper the kernel runs as root still the one the admin set?
//
// Overwriting the kernel's modprobe_path is the best-known way to turn a kernel write primitive into
// root: the next module request runs the attacker's program. So every sweep (and kmod-sysctl)
// compares kernel.modprobe with what the admin set and judges the helper it names again. What the
// admin set is, first found first:
//   1. what kmod-sysctl last wrote in this boot (it records it in /run/kmod-tools/helper.json);
//   2. what sysctl.d sets at boot (boot_sysctl_value), e.g. kmod-sysctl --persist's file;
//   3. what the first check of this boot saw (recorded the same way): trust on first use.
// A difference, or a helper that is no longer safe, is a critical audit line naming both values,
// once per change (the state file remembers what was reported); kernel.modprobe is put back only if
// the configuration says `helper_guard = restore`.
#pragma once

#include "config.hpp"
#include "paths.hpp"

#include <string>
#include <string_view>

namespace kmodtools {

enum class HelperState {
    as_set,    // kernel.modprobe is what the admin set, and safe
    changed,   // kernel.modprobe is not what the admin set
    unsafe,    // it is, but the helper it names is no longer safe (helper_path_problem)
    restored,  // it had changed and was put back (helper_guard = restore)
    no_module_support, // the kernel has no kernel.modprobe: nothing to guard
};
std::string_view to_string(HelperState state);

struct HelperCheck {
    HelperState state = HelperState::as_set;
    std::string live;     // kernel.modprobe now (before a restore)
    std::string expected; // what the admin set
    std::string origin;   // where that comes from: "kmod-sysctl", "FILE:LINE", "first seen"
    std::string problem;  // the one-line description of a state other than as_set, for logs and JSON
    bool newly_reported = false; // this check wrote the critical line (the first to see this change)
    bool restore_failed = false; // helper_guard = restore could not write the knob (read-only /proc/sys)
};

// Records `helper` as what the admin set, now, in this boot (kmod-sysctl modprobe=...).
void record_helper_set(const Paths& paths, std::string_view helper);

// The file record_helper_set writes (for kmod-sysctl's all-or-nothing undo).
std::filesystem::path helper_record_file(const Paths& paths);

// Compares, reports a change once with a critical audit line, puts back what the admin set when
// `mode` says so and that helper is safe, and remembers what it reported. With `dry_run` (or when
// the state cannot be written, e.g. not root) it judges and logs but records nothing.
HelperCheck guard_helper(const Paths& paths, HelperGuardMode mode, bool dry_run);

} // namespace kmodtools
