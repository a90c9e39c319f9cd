// SPDX-License-Identifier: LGPL-2.1-or-later
// One sweep of kmod-reap: which modules go, which stay and why, and the unloading itself.
//
// The rules of the 2.2 days' "rmmod -a": only modules loaded on demand (now: recorded by
// kmod-request), only when unused since the last look for longer than the unload delay, and a
// removal cascades to on-demand modules it frees. Planning is a function of what was read, so
// tests can drive it with fake trees and clocks; what touches the kernel goes through hooks for the
// same reason, and a dry run is refused every action by the library itself, whatever the hooks do.
#pragma once

#include "file_lock.hpp"
#include "idle_state.hpp"
#include "loaded_modules.hpp"
#include "module_remover.hpp"
#include "on_demand.hpp"
#include "paths.hpp"
#include "settings.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

// Module -> its network interfaces (net_devices.hpp).
using InterfacesByDriver = std::map<std::string, std::vector<std::string>>;

struct SweepOptions {
    bool all = false;                // consider every loaded module, not only those loaded on demand
    std::vector<std::string> named;  // if not empty: only these, now, if idle (the admin's rmmod)
    std::vector<std::string> keep;   // patterns never unloaded (config keep plus --keep)
    std::chrono::seconds unload_delay{120};
    bool dry_run = false;            // decide and report only: nothing is saved, removed or written
    std::int64_t now = 0;            // CLOCK_BOOTTIME seconds
    // A module with network interfaces is never idle. Asked for only when some candidate is idle;
    // unset means none.
    std::function<InterfacesByDriver()> read_network_interfaces;
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

// Why `module` must stay loaded whatever its idle clock, or an empty string if it may go: the one
// rule that the plan and the cascade both ask. A `named` module is the admin's explicit choice and
// skips the on-demand, keep-list, interface and binding rules, never the others; `consider_all`
// (--all) skips the on-demand rule only. `interfaces` is consulted only for idle modules.
std::string keep_reason(const Paths& paths, const LoadedModule& module, bool on_demand, bool named,
                        bool consider_all, const std::vector<std::string>& keep,
                        const std::function<const InterfacesByDriver&()>& interfaces);

// Decides, for every loaded module, whether it goes now. Reads /sys/module only for bound drivers.
SweepPlan plan_sweep(const Paths& paths, const std::vector<LoadedModule>& loaded,
                     const std::map<std::string, OnDemandRecord>& records, const IdleState& previous,
                     const SweepOptions& options);

struct SweepHooks {
    // Saves the module's settings before it goes (given its parameters as loaded, if recorded);
    // returns an empty string or why it could not.
    std::function<std::string(const std::string& module, const std::optional<Parameters>& at_load)> save_settings;
    // Asks the kernel to remove the module without waiting (delete_module with O_NONBLOCK).
    std::function<RemoveResult(const std::string& module)> remove;
    // Rereads the loaded modules, to find what a removal freed.
    std::function<std::vector<LoadedModule>()> read_loaded;
    // The modules `module` pulls in (modules.dep and soft dependencies): only these can be freed by
    // its removal and cascade.
    std::function<std::vector<std::string>(const std::string& module)> dependencies_of;
};

// The hooks of a real sweep: settings.hpp's save_before_unload, `remover`, /proc/modules.
SweepHooks system_sweep_hooks(const Paths& paths, ModuleRemover& remover);

enum class SweepStatus { unloaded, would_unload, busy, gone, failed, not_saved, kept, not_loaded };
// As --json spells it: "unloaded", "would-unload", "not-saved", ...
std::string_view to_string(SweepStatus status);

struct SweepOutcome {
    std::string module;
    SweepStatus status = SweepStatus::kept;
    std::string reason;
    bool cascaded = false; // freed by another removal of this sweep
};

struct SweepReport {
    // Named modules that are not loaded, then the unloads attempted in order, then the modules kept.
    std::vector<SweepOutcome> outcomes;
    bool failed = false; // a real failure (not busy or gone), or a named module that stays
    IdleState next_state;
};

// Carries out a plan: saves settings, removes, and cascades to on-demand modules freed by a removal.
// In a dry run it calls no hook that saves or removes, and reports what would be unloaded.
SweepReport execute_sweep(const Paths& paths, const SweepPlan& plan,
                          const std::map<std::string, OnDemandRecord>& records, const SweepOptions& options,
                          const SweepHooks& hooks);

// One whole sweep: reads the records and idle clocks (state that cannot be trusted is set aside,
// and nothing is unloaded that sweep), plans, executes, then writes the idle clocks and drops
// stale records. A dry run only reads.
SweepReport run_sweep(const Paths& paths, const std::vector<LoadedModule>& loaded, const SweepOptions& options,
                      const SweepHooks& hooks);

// One sweep at a time: two would race on the idle clocks and on the same modules. std::nullopt:
// another sweep holds the lock (and `wait` was false).
std::optional<FileLock> lock_sweeps(const Paths& paths, bool wait);

} // namespace kmodtools
