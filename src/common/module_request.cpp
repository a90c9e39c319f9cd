// SPDX-License-Identifier: LGPL-2.1-or-later
// Serving one requested name.
#include "module_request.hpp"

#include "error.hpp"
#include "log.hpp"
#include "policy.hpp"
#include "request_attribution.hpp"
#include "request_history.hpp"
#include "request_name.hpp"
#include "settings.hpp"
#include "text.hpp"

#include <algorithm>
#include <ctime>

namespace kmodtools {

std::string_view to_string(RequestStatus status)
{
    switch (status) {
    case RequestStatus::inserted:
        return "inserted";
    case RequestStatus::would_insert:
        return "would-insert";
    case RequestStatus::already_loaded:
        return "already-loaded";
    case RequestStatus::builtin:
        return "builtin";
    case RequestStatus::blacklisted:
        return "blacklisted";
    case RequestStatus::denied:
        return "denied";
    case RequestStatus::failed:
        return "failed";
    }
    return "unknown";
}

namespace {

RequestStatus request_status(LoadStatus status, bool dry_run)
{
    switch (status) {
    case LoadStatus::inserted:
        return dry_run ? RequestStatus::would_insert : RequestStatus::inserted;
    case LoadStatus::already_loaded:
        return RequestStatus::already_loaded;
    case LoadStatus::builtin:
        return RequestStatus::builtin;
    case LoadStatus::blacklisted:
        return RequestStatus::blacklisted;
    case LoadStatus::failed:
        break;
    }
    return RequestStatus::failed;
}

} // namespace

std::string kernel_request_text(std::string_view name, const std::string& requester)
{
    return "kernel request " + quote_name(name) + " from " + requester;
}

std::string_view to_string(HistoryDecision decision)
{
    switch (decision) {
    case HistoryDecision::granted:
        return "granted";
    case HistoryDecision::denied:
        return "denied";
    case HistoryDecision::would_deny:
        return "would-deny";
    case HistoryDecision::failed:
        return "failed";
    case HistoryDecision::refused:
        break;
    }
    return "refused";
}

HistoryDecision history_decision(const RequestResult& result)
{
    if (result.status == RequestStatus::denied)
        return HistoryDecision::denied;
    if (result.policy_note)
        return HistoryDecision::would_deny;
    if (result.status == RequestStatus::failed)
        return HistoryDecision::failed;
    return HistoryDecision::granted;
}

RequestServer::RequestServer(const Paths& paths, ModuleLoader& loader, const RequestOptions& options)
    : paths_(paths), loader_(loader), options_(options), intent_(paths, options.requester)
{
    if (!options_.restore_settings)
        return;
    try {
        const auto modules = modules_with_settings(paths_);
        with_settings_.insert(modules.begin(), modules.end());
    } catch (const Error& error) {
        log::warning(std::string(error.what()) + "; not restoring settings");
    }
}

void RequestServer::attribute(const std::string& name, RequestResult& result)
{
    if (options_.dry_run) {
        result.requester_class = options_.dry_run_class;
        result.requester = "a dry run (judged as " + std::string(to_string(options_.dry_run_class)) + ")";
        return;
    }
    const auto attribution = attribute_request(paths_, name);
    result.requester_class =
        options_.policy != nullptr ? judged_class(*options_.policy, attribution) : attribution.requester_class;
    result.requester = attribution.describe();
}

bool RequestServer::denied(const std::string& name, RequestResult& result)
{
    // Without deny rules nothing is refused: skip resolving the name twice.
    if (options_.policy == nullptr || options_.policy->deny.empty())
        return false;
    const auto plan = loader_.plan(name);
    for (const auto& member : plan)
        if (member.role == PlanRole::requested)
            result.modules.push_back(member.module);
    const auto decision = decide_plan(*options_.policy, result.requester_class, name, plan);
    if (decision.allowed)
        return false;
    if (options_.policy->policy_mode != PolicyMode::enforce) {
        // Warn mode says so in the audit line, learn mode only in the history.
        result.policy_note = "would be " + decision.describe();
        return false;
    }
    log::error("not loading " + quote_name(name) + ": " + decision.describe());
    result.status = RequestStatus::denied;
    result.error = decision.describe();
    return true;
}

bool RequestServer::record(const std::string& name, const std::string& command_line_options, RequestResult& result)
{
    // Dependencies inserted before a failure stay loaded: record them too, so they can go.
    try {
        const auto given = parse_options(command_line_options);
        for (const auto& module : result.modules)
            for (const auto& [parameter, value] : given)
                explicit_parameters_[module].insert(normalize_module_name(parameter));
        record_inserted(paths_, name, options_.requester, result.inserted, explicit_parameters_);
        return true;
    } catch (const Error& error) {
        // The modules stay loaded, unrecorded: kmod-reap will leave them alone, the safe side,
        // until the intent left behind is reconciled by a later run.
        log::error("loaded " + join(result.inserted) + " for " + quote_name(name) +
                   " but could not record it: " + error.what());
        result.error = error.what();
        return false;
    }
}

void RequestServer::reconcile_others()
{
    if (!intent_.wrote_any())
        return;
    try {
        reconcile_load_intents(paths_, false);
    } catch (const Error& error) {
        log::warning(error.what());
    }
}

void RequestServer::audit(const std::string& name, const RequestResult& result) const
{
    std::string outcome;
    switch (result.status) {
    case RequestStatus::denied:
        outcome = *result.error;
        break;
    case RequestStatus::failed:
        outcome = "failed: " + result.error.value_or("");
        break;
    case RequestStatus::inserted:
        outcome = "granted: inserted " + join(result.inserted);
        break;
    default:
        outcome = "granted: " + std::string(to_string(result.status));
        break;
    }
    // Learn mode only records what it would have denied; warn mode says it.
    if (result.policy_note && options_.policy->policy_mode == PolicyMode::warn)
        outcome += " (policy_mode = warn: " + *result.policy_note + ")";
    log::audit(kernel_request_text(name, result.requester) + " " + outcome);
}

namespace {

// A failure to add to the history is a warning: the request was served (or refused) all the same.
void add_to_history(const Paths& paths, HistoryEntry entry)
{
    entry.time_us = realtime_us();
    try {
        append_history(paths, entry);
    } catch (const Error& error) {
        log::warning(std::string("cannot add to the request history: ") + error.what());
    }
}

} // namespace

void RequestServer::append_to_history(const std::string& name, const RequestResult& result) const
{
    HistoryEntry entry;
    entry.name = name;
    entry.modules = result.modules;
    for (const auto& module : result.inserted)
        if (std::find(entry.modules.begin(), entry.modules.end(), module) == entry.modules.end())
            entry.modules.push_back(module);
    entry.decision = std::string(to_string(history_decision(result)));
    entry.requester_class = result.requester_class;
    entry.requester = result.requester;
    add_to_history(paths_, std::move(entry));
}

void refuse_kernel_request(const Paths& paths, const std::string& name, const std::string& problem)
{
    const auto attribution = attribute_request(paths, name);
    HistoryEntry entry;
    entry.name = name;
    entry.decision = std::string(to_string(HistoryDecision::refused));
    entry.requester_class = attribution.requester_class;
    entry.requester = attribution.describe();
    log::audit(kernel_request_text(name, entry.requester) + " refused: configuration error: " + problem);
    add_to_history(paths, std::move(entry));
}

RequestResult RequestServer::serve(const std::string& name, const std::string& command_line_options)
{
    RequestResult result;
    result.name = name;
    const bool from_kernel = options_.requester == Requester::kernel;
    if (from_kernel)
        attribute(name, result);
    if (!(from_kernel && denied(name, result))) {
        ExtraOptions extra;
        extra.command_line = command_line_options;
        if (!with_settings_.empty()) {
            extra.has_saved = [this](const std::string& module) { return with_settings_.count(module) != 0; };
            extra.saved = [this](const std::string& module, const std::function<bool(const std::string&)>& declares) {
                const auto options = saved_options(paths_, module, declares);
                for (const auto& [parameter, value] : parse_options(options))
                    explicit_parameters_[module].insert(normalize_module_name(parameter));
                return options;
            };
        }
        extra.before_insert = [this, &name](const std::string& module) { intent_.about_to_insert(module, name); };
        const auto loaded = loader_.load(name, options_.dry_run, extra);
        result.modules = loaded.modules;
        result.inserted = loaded.inserted;
        result.status = request_status(loaded.status, options_.dry_run);
        if (loaded.status == LoadStatus::failed) {
            result.error = loaded.error;
            // As modprobe -q: a name that matches nothing is not worth a line (the kernel asks for
            // many aliases nothing provides); the audit line still tells.
            if (!(options_.quiet && loaded.modules.empty()))
                log::error(loaded.error);
        }
        if (options_.dry_run) {
            for (const auto& module : loaded.inserted)
                log::notice(name + ": would insert " + module);
        } else {
            if (!loaded.inserted.empty())
                log::info(name + ": inserted " + join(loaded.inserted));
            else if (loaded.status != LoadStatus::failed)
                log::info(name + ": " + std::string(to_string(loaded.status)));
            if (record(name, command_line_options, result))
                intent_.settled(name);
        }
    }
    if (from_kernel && !options_.dry_run) {
        audit(name, result);
        append_to_history(name, result);
    }
    return result;
}

} // namespace kmodtools
