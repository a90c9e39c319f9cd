// SPDX-License-Identifier: LGPL-2.1-or-later
// When each candidate module was first seen idle: the "last used" time the kernel does not keep.
//
// The kernel records no usage time, so kmod-reap notes, sweep after sweep, since when a module has
// been seen unused; a sweep that sees it in use forgets that. Times are CLOCK_BOOTTIME seconds, which
// do not jump when the wall clock is set. The state lives in /run/kmod-tools/idle.json: it is about
// modules of the running kernel and must not outlive it.
#pragma once

#include "paths.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace kmodtools {

struct IdleEntry {
    std::int64_t idle_since = 0; // CLOCK_BOOTTIME seconds
    std::string instance;        // module_instance() when first seen idle: a reload starts a new clock

    bool operator==(const IdleEntry&) const = default;
};

using IdleState = std::map<std::string, IdleEntry>;

// The state, empty if there is none yet. Throws Error if the file exists but cannot be trusted
// (corrupt, truncated, a symlink, someone else's): the caller must then act on nothing.
IdleState read_idle_state(const Paths& paths);

// Atomically replaces the state.
void write_idle_state(const Paths& paths, const IdleState& state);

std::string serialize(const IdleState& state);
IdleState parse_idle_state(std::string_view text, const std::string& source);

} // namespace kmodtools
