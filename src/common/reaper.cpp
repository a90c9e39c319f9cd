// SPDX-License-Identifier: LGPL-2.1-or-later
// One sweep of kmod-reap: planning and execution.
#include "reaper.hpp"

#include "atomic_file.hpp"
#include "error.hpp"
#include "load_intent.hpp"
#include "log.hpp"
#include "module_pattern.hpp"
#include "owned_file.hpp"
#include "request_name.hpp"
#include "text.hpp"

#include <algorithm>
#include <set>

namespace kmodtools {
namespace {

bool is_named(const SweepOptions& options, const std::string& module)
{
    const auto normalized = normalize_module_name(module);
    return std::any_of(options.named.begin(), options.named.end(),
                       [&](const std::string& name) { return normalize_module_name(name) == normalized; });
}

// Whether the module loaded now under `name` is the load its record describes.
bool on_demand_now(const Paths& paths, const std::map<std::string, OnDemandRecord>& records, const std::string& name)
{
    const auto record = records.find(name);
    return record != records.end() && record_matches_load(paths, record->second);
}

// The network interfaces, read once when first asked for.
class InterfaceCache {
public:
    explicit InterfaceCache(const SweepOptions& options) : options_(options) {}
    const InterfacesByDriver& get()
    {
        if (!interfaces_)
            interfaces_ = options_.read_network_interfaces ? options_.read_network_interfaces() : InterfacesByDriver();
        return *interfaces_;
    }

private:
    const SweepOptions& options_;
    std::optional<InterfacesByDriver> interfaces_;
};

// Temporary files of writers killed between creating and renaming them (kmod-request killed mid-
// record, a sweep killed mid-save) are removed by the next sweep.
// `with_pending`: false when the pending directory was refused already this sweep (said once).
void remove_abandoned_state(const Paths& paths, bool with_pending)
{
    std::vector<std::filesystem::path> dirs{paths.runtime_dir(), paths.runtime_dir() / "on-demand",
                                            paths.state_dir() / "settings"};
    if (with_pending)
        dirs.push_back(pending_dir(paths));
    for (const auto& dir : dirs)
        if (auto fd = open_owned_directory_if_exists(dir))
            if (const int removed = remove_abandoned_temporaries(fd->get(), dir); removed > 0)
                log::notice("removed " + std::to_string(removed) + " temporary file(s) left in " + dir.string() +
                            " by writers that were killed");
}

} // namespace

std::string keep_reason(const Paths& paths, const LoadedModule& module, bool on_demand, bool named,
                        bool consider_all, const std::vector<std::string>& keep,
                        const std::function<const InterfacesByDriver&()>& interfaces)
{
    if (module.state != ModuleState::live)
        return "still loading";
    if (module.permanent)
        return "permanent (it has no exit function)";
    if (!named && !consider_all && !on_demand)
        return "not loaded on demand";
    if (!named) {
        const auto pattern = std::find_if(keep.begin(), keep.end(),
                                          [&](const std::string& p) { return pattern_matches(p, module.name); });
        if (pattern != keep.end())
            return "keep list (" + *pattern + ")";
    }
    if (!module.idle())
        return module.holders.empty() ? "in use (" + std::to_string(module.refcount) +
                                            (module.refcount == 1 ? " reference)" : " references)")
                                      : "in use by " + join(module.holders, ", ");
    if (!named) {
        if (const auto it = interfaces().find(module.name); it != interfaces().end())
            return "has network interfaces " + join(it->second, ", ");
        // A bound driver shows refcount 0 while its device works: idle by numbers, busy in fact.
        if (const auto devices = bound_devices(paths, module.name); !devices.empty())
            return "bound to " + join(devices, ", ");
    }
    return {};
}

SweepPlan plan_sweep(const Paths& paths, const std::vector<LoadedModule>& loaded,
                     const std::map<std::string, OnDemandRecord>& records, const IdleState& previous,
                     const SweepOptions& options)
{
    SweepPlan plan;
    InterfaceCache interfaces(options);
    for (const auto& module : loaded) {
        Verdict verdict;
        verdict.module = module.name;
        // The load that is judged is the load that is clocked: one look at /sys/module/NAME for both.
        std::optional<std::string> instance;
        const auto instance_now = [&]() -> const std::string& {
            if (!instance)
                instance = module_instance(paths, module.name);
            return *instance;
        };
        const auto record = records.find(module.name);
        verdict.on_demand = record != records.end() && record_matches_instance(record->second, instance_now());
        verdict.was_idle = module.idle();
        const bool named = is_named(options, module.name);

        if (!options.named.empty() && !named) {
            // A named run looks at nothing else: the idle clocks of the others run on.
            if (auto it = previous.find(module.name); it != previous.end())
                plan.next_state.insert(*it);
            verdict.reason = "not named";
        } else {
            verdict.reason = keep_reason(paths, module, verdict.on_demand, named, options.all, options.keep,
                                         [&]() -> const InterfacesByDriver& { return interfaces.get(); });
        }
        if (!verdict.reason.empty()) {
            plan.verdicts.push_back(verdict);
            continue;
        }

        // Idle: keep or start its clock. A different load of the module starts a new one.
        IdleEntry entry{options.now, instance_now()};
        if (auto it = previous.find(module.name); it != previous.end() && it->second.instance == entry.instance &&
                                                  it->second.idle_since <= options.now)
            entry.idle_since = it->second.idle_since;
        plan.next_state[module.name] = entry;
        const auto idle_for = options.now - entry.idle_since;
        const auto delay = options.unload_delay.count();
        if (named || idle_for >= delay) {
            verdict.action = Action::unload;
            verdict.reason = named ? "named" : "idle " + std::to_string(idle_for) + " s";
        } else {
            verdict.reason = "idle " + std::to_string(idle_for) + " s of " + std::to_string(delay) + " s";
        }
        plan.verdicts.push_back(verdict);
    }
    return plan;
}

SweepHooks system_sweep_hooks(const Paths& paths, ModuleRemover& remover)
{
    SweepHooks hooks;
    hooks.save_settings = [&paths](const std::string& module, const std::optional<Parameters>& at_load) {
        return save_before_unload(paths, module, at_load);
    };
    hooks.remove = [&remover](const std::string& module) { return remover.remove(module); };
    hooks.read_loaded = [&paths] { return read_loaded_modules(paths); };
    hooks.dependencies_of = [&remover](const std::string& module) { return remover.dependencies(module); };
    return hooks;
}

std::string_view to_string(SweepStatus status)
{
    switch (status) {
    case SweepStatus::unloaded:
        return "unloaded";
    case SweepStatus::would_unload:
        return "would-unload";
    case SweepStatus::busy:
        return "busy";
    case SweepStatus::gone:
        return "gone";
    case SweepStatus::failed:
        return "failed";
    case SweepStatus::not_saved:
        return "not-saved";
    case SweepStatus::kept:
        return "kept";
    case SweepStatus::not_loaded:
        return "not-loaded";
    }
    return "unknown";
}

SweepReport execute_sweep(const Paths& paths, const SweepPlan& plan,
                          const std::map<std::string, OnDemandRecord>& records, const SweepOptions& options,
                          const SweepHooks& hooks)
{
    SweepReport report;
    report.next_state = plan.next_state;
    std::set<std::string> handled;

    // Modules that a removal of this sweep may have freed: the dependencies of what went.
    std::set<std::string> may_be_freed;
    auto unload = [&](const std::string& module, const std::string& reason, bool cascaded) {
        handled.insert(module);
        SweepOutcome outcome{module, SweepStatus::would_unload, reason, cascaded};
        if (options.dry_run) {
            report.outcomes.push_back(outcome);
            return true;
        }
        // Never unload what could not be saved: an admin's tuning would be lost for good.
        if (hooks.save_settings) {
            std::optional<Parameters> at_load;
            if (const auto record = records.find(module);
                record != records.end() && record_matches_load(paths, record->second))
                at_load = record->second.parameters_at_load;
            if (auto why = hooks.save_settings(module, at_load); !why.empty()) {
                outcome.status = SweepStatus::not_saved;
                outcome.reason = why;
                report.failed = true;
                report.outcomes.push_back(outcome);
                return false;
            }
        }
        if (hooks.dependencies_of)
            for (const auto& dependency : hooks.dependencies_of(module))
                may_be_freed.insert(normalize_module_name(dependency));
        const auto removed = hooks.remove(module);
        switch (removed.outcome) {
        case RemoveOutcome::removed:
            outcome.status = SweepStatus::unloaded;
            report.next_state.erase(module);
            break;
        case RemoveOutcome::busy:
            outcome.status = SweepStatus::busy;
            outcome.reason = "the kernel says it is in use";
            report.next_state.erase(module);
            break;
        case RemoveOutcome::gone:
            outcome.status = SweepStatus::gone;
            outcome.reason = "unloaded by someone else";
            report.next_state.erase(module);
            break;
        case RemoveOutcome::failed:
            outcome.status = SweepStatus::failed;
            outcome.reason = removed.error;
            report.failed = true;
            break;
        }
        report.outcomes.push_back(outcome);
        return removed.outcome == RemoveOutcome::removed;
    };

    bool removed_any = false;
    for (const auto& verdict : plan.verdicts)
        if (verdict.action == Action::unload)
            removed_any |= unload(verdict.module, verdict.reason, false);

    // The cascade: an on-demand dependency of a module removed in this sweep that was in use when
    // the sweep began and may go now was freed by that removal, and goes too, whatever its delay
    // (as "modprobe -r" takes dependencies along). Repeated until a pass frees nothing. A dry run
    // cannot see what would be freed, so it stops at the first level.
    std::map<std::string, const Verdict*> initial;
    for (const auto& verdict : plan.verdicts)
        initial[verdict.module] = &verdict;
    while (removed_any && !options.dry_run) {
        removed_any = false;
        InterfaceCache interfaces(options); // read afresh each pass: removals delete interfaces
        for (const auto& module : hooks.read_loaded()) {
            const auto it = initial.find(module.name);
            if (it == initial.end() || it->second->was_idle || handled.count(module.name) != 0 ||
                may_be_freed.count(module.name) == 0)
                continue;
            const auto why = keep_reason(paths, module, on_demand_now(paths, records, module.name), false, false,
                                         options.keep,
                                         [&]() -> const InterfacesByDriver& { return interfaces.get(); });
            if (why.empty())
                removed_any |= unload(module.name, "freed by this sweep", true);
        }
    }

    for (const auto& verdict : plan.verdicts)
        if (handled.count(verdict.module) == 0)
            report.outcomes.push_back({verdict.module, SweepStatus::kept, verdict.reason, false});
    return report;
}

SweepReport run_sweep(const Paths& paths, const std::vector<LoadedModule>& loaded, const SweepOptions& options,
                      const SweepHooks& hooks)
{
    // Helpers killed between inserting and recording left intents: their modules get records first,
    // so that this very sweep sees them as loaded on demand.
    bool reconciled = true;
    try {
        reconcile_load_intents(paths, options.dry_run);
    } catch (const Error& error) {
        log::error(std::string(error.what()) + "; load intents not reconciled this sweep");
        reconciled = false;
    }
    // Never act on state that cannot be trusted: set it aside, and unload nothing this time.
    bool trusted = true;
    UntrustedRecords untrusted;
    const auto records = read_on_demand_records(paths, &untrusted);
    for (const auto& [file, why] : untrusted) {
        log::warning(why + (options.dry_run ? "; a sweep would remove it and unload nothing"
                                            : "; removing it, nothing is unloaded this sweep"));
        trusted = false;
        if (!options.dry_run)
            remove_record(paths, file);
    }
    IdleState previous;
    try {
        previous = read_idle_state(paths);
    } catch (const Error& error) {
        log::warning(std::string(error.what()) + "; rebuilding it, nothing is unloaded this sweep");
        trusted = false;
    }

    auto plan = plan_sweep(paths, loaded, records, previous, options);
    if (!trusted)
        for (auto& verdict : plan.verdicts)
            if (verdict.action == Action::unload) {
                verdict.action = Action::keep;
                verdict.reason = "state rebuilt this sweep";
            }
    auto report = execute_sweep(paths, plan, records, options, hooks);

    // A named module that stays is a failed request; one that is not loaded is reported first.
    std::vector<SweepOutcome> not_loaded;
    for (const auto& name : options.named) {
        const auto module = normalize_module_name(name);
        if (std::none_of(loaded.begin(), loaded.end(), [&](const LoadedModule& m) { return m.name == module; }))
            not_loaded.push_back({module, SweepStatus::not_loaded, "not loaded", false});
    }
    for (const auto& outcome : report.outcomes)
        if (is_named(options, outcome.module) && outcome.status != SweepStatus::unloaded &&
            outcome.status != SweepStatus::would_unload)
            report.failed = true;
    if (!not_loaded.empty() || !reconciled)
        report.failed = true;
    report.outcomes.insert(report.outcomes.begin(), not_loaded.begin(), not_loaded.end());

    if (options.dry_run)
        return report;
    // Modules may have gone already: whatever fails now is reported with them, never instead.
    try {
        // Most sweeps change no clock: then the file stays as it is.
        if (!trusted || report.next_state != previous)
            write_idle_state(paths, report.next_state);
        drop_stale_records(paths, records);
        remove_abandoned_state(paths, reconciled);
    } catch (const Error& error) {
        log::error(error.what());
        report.failed = true;
    }
    return report;
}

std::optional<FileLock> lock_sweeps(const Paths& paths, bool wait)
{
    const auto runtime_dir = open_owned_directory(paths.runtime_dir(), 0755);
    return FileLock::acquire(runtime_dir.get(), "reap.lock", FileLock::Kind::exclusive,
                             wait ? FileLock::Wait::yes : FileLock::Wait::no, paths.runtime_dir() / "reap.lock");
}

} // namespace kmodtools
