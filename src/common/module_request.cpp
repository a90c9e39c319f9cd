// SPDX-License-Identifier: LGPL-2.1-or-later
// Serving one requested name.
#include "module_request.hpp"

#include "error.hpp"
#include "log.hpp"
#include "policy.hpp"
#include "request_name.hpp"
#include "settings.hpp"
#include "text.hpp"

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

bool RequestServer::denied(const std::string& name, RequestResult& result)
{
    // Without deny rules nothing is refused: skip resolving the name twice.
    if (options_.requester != Requester::kernel || options_.policy == nullptr || options_.policy->deny.empty())
        return false;
    for (const auto& module : loader_.resolve(name))
        result.modules.push_back(module.name);
    const auto decision = decide(*options_.policy, name, result.modules);
    if (decision.allowed)
        return false;
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
    log::audit("kernel request " + quote_name(name) + " " + outcome);
}

RequestResult RequestServer::serve(const std::string& name, const std::string& command_line_options)
{
    RequestResult result;
    result.name = name;
    if (!denied(name, result)) {
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
    if (options_.requester == Requester::kernel && !options_.dry_run)
        audit(name, result);
    return result;
}

} // namespace kmodtools
