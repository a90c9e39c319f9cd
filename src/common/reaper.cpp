// SPDX-License-Identifier: LGPL-2.1-or-later
// One sweep of kmod-reap: planning and execution.
#include "reaper.hpp"

#include "module_pattern.hpp"

#include <algorithm>
#include <optional>
#include <set>

namespace kmodtools {
namespace {

std::string join(const std::vector<std::string>& words, const char* separator = ", ")
{
    std::string joined;
    for (const auto& word : words)
        joined += (joined.empty() ? "" : separator) + word;
    return joined;
}

bool is_named(const SweepOptions& options, const std::string& module)
{
    const auto normalized = normalize_module_name(module);
    return std::any_of(options.named.begin(), options.named.end(),
                       [&](const std::string& name) { return normalize_module_name(name) == normalized; });
}

} // namespace

bool record_matches(const Paths& paths, const OnDemandRecord& record, const LoadedModule& module)
{
    return record.instance == module_instance(paths, module.name);
}

SweepPlan plan_sweep(const Paths& paths, const std::vector<LoadedModule>& loaded,
                     const std::map<std::string, OnDemandRecord>& records, const IdleState& previous,
                     const SweepOptions& options)
{
    SweepPlan plan;
    std::optional<std::map<std::string, std::vector<std::string>>> interfaces;
    auto interfaces_of = [&](const std::string& module) -> const std::vector<std::string>* {
        if (!interfaces)
            interfaces = options.read_network_interfaces ? options.read_network_interfaces()
                                                         : std::map<std::string, std::vector<std::string>>();
        const auto it = interfaces->find(module);
        return it == interfaces->end() ? nullptr : &it->second;
    };
    for (const auto& module : loaded) {
        Verdict verdict;
        verdict.module = module.name;
        const auto record = records.find(module.name);
        verdict.on_demand = record != records.end() && record_matches(paths, record->second, module);
        verdict.was_idle = module.idle();
        const bool named = is_named(options, module.name);
        auto keep = [&](std::string reason) {
            verdict.reason = std::move(reason);
            plan.verdicts.push_back(verdict);
        };

        if (!options.named.empty() && !named) {
            // A named run looks at nothing else: the idle clocks of the others run on.
            if (auto it = previous.find(module.name); it != previous.end())
                plan.next_state.insert(*it);
            keep("not named");
            continue;
        }
        if (module.state != ModuleState::live) {
            keep("still loading");
            continue;
        }
        if (module.permanent) {
            keep("permanent (it has no exit function)");
            continue;
        }
        if (!named && !options.all && !verdict.on_demand) {
            keep("not loaded on demand");
            continue;
        }
        if (!named) {
            const auto pattern = std::find_if(options.keep.begin(), options.keep.end(),
                                              [&](const std::string& p) { return pattern_matches(p, module.name); });
            if (pattern != options.keep.end()) {
                keep("keep list (" + *pattern + ")");
                continue;
            }
        }
        if (!module.idle()) {
            keep(module.holders.empty()
                     ? "in use (" + std::to_string(module.refcount) + (module.refcount == 1 ? " reference)" : " references)")
                     : "in use by " + join(module.holders));
            continue;
        }
        if (!named) {
            if (const auto* names = interfaces_of(module.name)) {
                keep("has network interfaces " + join(*names));
                continue;
            }
            // A bound driver shows refcount 0 while its device works: idle by numbers, busy in fact.
            if (const auto devices = bound_devices(paths, module.name); !devices.empty()) {
                keep("bound to " + join(devices));
                continue;
            }
        }

        // Idle: keep or start its clock. A different load of the module starts a new one.
        IdleEntry entry{options.now, module_instance(paths, module.name)};
        if (auto it = previous.find(module.name); it != previous.end() && it->second.instance == entry.instance &&
                                                  it->second.idle_since <= options.now)
            entry.idle_since = it->second.idle_since;
        plan.next_state[module.name] = entry;
        const auto idle_for = options.now - entry.idle_since;
        const auto delay = options.unload_delay.count();
        if (named || idle_for >= delay) {
            verdict.action = Action::unload;
            verdict.reason = named ? "named" : "idle " + std::to_string(idle_for) + " s";
            plan.verdicts.push_back(verdict);
        } else {
            keep("idle " + std::to_string(idle_for) + " s of " + std::to_string(delay) + " s");
        }
    }
    return plan;
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
        SweepOutcome outcome{module, "", reason, cascaded};
        // Never unload what could not be saved: an admin's tuning would be lost for good.
        if (hooks.save_settings) {
            if (auto why = hooks.save_settings(module); !why.empty()) {
                outcome.result = "not saved";
                outcome.reason = why;
                report.failed = true;
                report.outcomes.push_back(outcome);
                return false;
            }
        }
        if (hooks.dry_run) {
            outcome.result = "would unload";
            report.outcomes.push_back(outcome);
            return true;
        }
        if (hooks.dependencies_of)
            for (const auto& dependency : hooks.dependencies_of(module))
                may_be_freed.insert(normalize_module_name(dependency));
        const auto removed = hooks.remove(module);
        switch (removed.outcome) {
        case RemoveOutcome::removed:
            outcome.result = "unloaded";
            report.next_state.erase(module);
            break;
        case RemoveOutcome::busy:
            outcome.result = "busy";
            outcome.reason = "the kernel says it is in use";
            report.next_state.erase(module);
            break;
        case RemoveOutcome::gone:
            outcome.result = "gone";
            outcome.reason = "unloaded by someone else";
            report.next_state.erase(module);
            break;
        case RemoveOutcome::failed:
            outcome.result = "failed";
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
    // the sweep began and is idle now was freed by that removal, and goes too, whatever its delay
    // (as "modprobe -r" takes dependencies along). Repeated until a pass frees nothing. A dry run
    // cannot see what would be freed, so it stops at the first level.
    std::map<std::string, const Verdict*> initial;
    for (const auto& verdict : plan.verdicts)
        initial[verdict.module] = &verdict;
    while (removed_any && !hooks.dry_run) {
        removed_any = false;
        const auto interfaces = options.read_network_interfaces ? options.read_network_interfaces()
                                                                : std::map<std::string, std::vector<std::string>>();
        for (const auto& module : hooks.read_loaded()) {
            const auto it = initial.find(module.name);
            if (it == initial.end() || handled.count(module.name) != 0 || may_be_freed.count(module.name) == 0)
                continue;
            const Verdict& before = *it->second;
            const auto record = records.find(module.name);
            const bool on_demand = record != records.end() && record_matches(paths, record->second, module);
            const bool keep_listed = std::any_of(options.keep.begin(), options.keep.end(),
                                                 [&](const std::string& p) { return pattern_matches(p, module.name); });
            if (before.was_idle || !on_demand || keep_listed || module.permanent || !module.idle() ||
                module.state != ModuleState::live || interfaces.count(module.name) != 0 ||
                !bound_devices(paths, module.name).empty())
                continue;
            removed_any |= unload(module.name, "freed by this sweep", true);
        }
    }

    for (const auto& verdict : plan.verdicts)
        if (handled.count(verdict.module) == 0)
            report.outcomes.push_back({verdict.module, "kept", verdict.reason, false});
    return report;
}

} // namespace kmodtools
