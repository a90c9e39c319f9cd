// SPDX-License-Identifier: LGPL-2.1-or-later
// One sweep of kmod-reap: which modules go, which stay and why, and the unloading itself.
//
// The rules of the 2.2 days' "rmmod -a": only modules loaded on demand (now: recorded by
// kmod-request), only when unused since the last look for longer than the unload delay, and a
// removal cascades to on-demand modules it frees. Planning is a pure function of what was read, so
// tests can drive it with fake trees and clocks; execution goes through hooks for the same reason.
#pragma once

#include "idle_state.hpp"
#include "loaded_modules.hpp"
#include "module_remover.hpp"
#include "on_demand.hpp"
#include "paths.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace kmodtools {

struct SweepOptions {
    bool all = false;                // consider every loaded module, not only those loaded on demand
    std::vector<std::string> named;  // if not empty: only these, now, if idle (the admin's rmmod)
    std::vector<std::string> keep;   // patterns never unloaded (config keep plus --keep)
    std::chrono::seconds unload_delay{120};
    std::int64_t now = 0;            // CLOCK_BOOTTIME seconds
    // Module -> its network interfaces (net_devices.hpp): a module with interfaces is never idle.
    // Asked for only when some candidate is idle; unset means none.
    std::function<std::map<std::string, std::vector<std::string>>()> read_network_interfaces;
};

enum class Action { unload, keep };

struct Verdict {
    std::string module;
    Action action = Action::keep;
    std::string reason; // "idle 40 s of 120 s", "in use by xfs", "not loaded on demand", ...
    bool was_idle = false;
    bool on_demand = false;
};

struct SweepPlan {
    std::vector<Verdict> verdicts; // one per loaded module, in /proc/modules order
    IdleState next_state;          // idle clocks after this sweep (before any unload)
};

// Decides, for every loaded module, whether it goes now. Reads /sys/module only for bound drivers.
SweepPlan plan_sweep(const Paths& paths, const std::vector<LoadedModule>& loaded,
                     const std::map<std::string, OnDemandRecord>& records, const IdleState& previous,
                     const SweepOptions& options);

// Whether a record describes the module loaded now (not an earlier load of the same name).
bool record_matches(const Paths& paths, const OnDemandRecord& record, const LoadedModule& module);


struct SweepHooks {
    // Saves the module's settings before it goes; returns an empty string or why it could not.
    std::function<std::string(const std::string& module)> save_settings;
    // Asks the kernel to remove the module without waiting (delete_module with O_NONBLOCK).
    std::function<RemoveResult(const std::string& module)> remove;
    // Rereads the loaded modules, to find what a removal freed.
    std::function<std::vector<LoadedModule>()> read_loaded;
    // The modules `module` pulls in (modules.dep and soft dependencies): only these can be freed by
    // its removal and cascade.
    std::function<std::vector<std::string>(const std::string& module)> dependencies_of;
    // Whether modules were really removed (false for --dry-run).
    bool dry_run = false;
};

struct SweepOutcome {
    std::string module;
    std::string result; // "unloaded", "would unload", "busy", "gone", "failed", "not saved", or "kept"
    std::string reason;
    bool cascaded = false; // freed by another removal of this sweep
};

struct SweepReport {
    std::vector<SweepOutcome> outcomes; // unloads attempted, in order, then the modules kept
    bool failed = false;                // a real failure (not busy or gone)
    IdleState next_state;
};

// Carries out a plan: saves settings, removes, and cascades to on-demand modules freed by a removal.
SweepReport execute_sweep(const Paths& paths, const SweepPlan& plan,
                          const std::map<std::string, OnDemandRecord>& records, const SweepOptions& options,
                          const SweepHooks& hooks);

} // namespace kmodtools
