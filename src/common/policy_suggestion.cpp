// SPDX-License-Identifier: LGPL-2.1-or-later
// Suggesting a policy from the request history.
#include "policy_suggestion.hpp"

#include "module_pattern.hpp"
#include "request_name.hpp"

#include <ctime>

namespace kmodtools {
namespace {

// A name can be allowed as a pattern only if it is one that matches itself alone: the history holds
// whatever a user passed (`mount -t '*'` asks for "fs-*"), which must never widen the policy.
bool plain_name(const std::string& name)
{
    return pattern_problem(name).empty() && name.find_first_of("*?[]!^") == std::string::npos;
}

bool needed(const HistoryEntry& entry)
{
    return entry.decision == "granted" || entry.decision == "would-deny" || entry.decision == "failed";
}

std::string utc_time(std::int64_t time_us)
{
    const std::time_t seconds = static_cast<std::time_t>(time_us / 1000000);
    std::tm tm{};
    ::gmtime_r(&seconds, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
    return text;
}

// "allow for CLASS = a b c", at most a few names a line (list keys accumulate).
void allow_lines(std::string& text, RequesterClass requester_class, const std::set<std::string>& names)
{
    constexpr std::size_t per_line = 8;
    std::size_t on_line = 0;
    for (const auto& name : names) {
        if (on_line == 0)
            text += "allow for " + std::string(to_string(requester_class)) + " =";
        text += " " + name;
        if (++on_line == per_line) {
            text += "\n";
            on_line = 0;
        }
    }
    if (on_line != 0)
        text += "\n";
}

void counted_comment(std::string& text, const std::string& heading, const std::map<std::string, std::size_t>& counts)
{
    if (counts.empty())
        return;
    text += "# " + heading + ":";
    for (const auto& [what, count] : counts)
        text += " " + what + (count > 1 ? " (" + std::to_string(count) + "x)" : "");
    text += "\n";
}

} // namespace

PolicySuggestion suggest_policy(const std::vector<HistoryEntry>& entries,
                                const std::function<std::vector<PlanMember>(const std::string&)>& plan_of)
{
    PolicySuggestion suggestion;
    std::map<std::string, std::vector<PlanMember>> plans;
    for (const auto& entry : entries) {
        ++suggestion.requests;
        if (suggestion.first_us == 0 || entry.time_us < suggestion.first_us)
            suggestion.first_us = entry.time_us;
        suggestion.last_us = std::max(suggestion.last_us, entry.time_us);
        const std::string shown = quote_name(entry.name) + " from " + std::string(to_string(entry.requester_class));
        if (entry.decision == "denied" || entry.decision == "refused") {
            ++suggestion.denied[shown];
            continue;
        }
        if (!needed(entry))
            continue;
        if (entry.modules.empty() || !plain_name(entry.name)) {
            ++suggestion.unresolved[shown];
            continue;
        }
        for (const auto& module : entry.modules)
            suggestion.needed_modules.insert(normalize_module_name(module));
        auto [plan, inserted] = plans.try_emplace(entry.name);
        if (inserted)
            plan->second = plan_of(entry.name);
        for (const auto& member : plan->second)
            suggestion.needed_modules.insert(member.module);
        if (entry.requester_class == RequesterClass::privileged)
            continue;
        auto& allowed = suggestion.allow[entry.requester_class];
        allowed.insert(entry.name);
        // What the policy judges on its own must be allowed by name; dependencies come along.
        for (const auto& member : plan->second)
            if (member.role == PlanRole::softdep || member.install_command)
                allowed.insert(member.module);
    }
    return suggestion;
}

std::string format_policy_suggestion(const PolicySuggestion& suggestion, const std::string& history)
{
    std::string text = "# kmod-tools.conf drop-in suggested by kmod-request --suggest-policy from " +
                       std::to_string(suggestion.requests) + " kernel requests in " + quote_name(history);
    if (suggestion.requests != 0)
        text += ",\n# " + utc_time(suggestion.first_us) + " to " + utc_time(suggestion.last_us) + " UTC";
    text += ".\n# Review it, then install it as /etc/kmod-tools/kmod-tools.conf.d/50-suggested.conf.\n"
            "\n# Only tasks with CAP_SYS_MODULE may make the kernel load anything else.\n"
            "deny unless privileged = *\n";
    for (const auto requester_class : {RequesterClass::unprivileged, RequesterClass::container, RequesterClass::unknown}) {
        const auto it = suggestion.allow.find(requester_class);
        if (it == suggestion.allow.end() || it->second.empty())
            continue;
        text += "\n# Needed by " + std::string(to_string(requester_class)) + " requesters:\n";
        allow_lines(text, requester_class, it->second);
    }
    text += "\npolicy_mode = enforce\n";
    if (!suggestion.denied.empty() || !suggestion.unresolved.empty())
        text += "\n";
    counted_comment(text, "Denied by the policy in force, left out", suggestion.denied);
    counted_comment(text, "Resolving to nothing (or not plain names), left out", suggestion.unresolved);
    return text;
}

std::string format_modprobe_suggestion(const PolicySuggestion& suggestion, const std::vector<std::string>& all_modules,
                                       const std::set<std::string>& keep)
{
    std::string text = "# modprobe.d lines suggested by kmod-request --suggest-policy --modprobe from " +
                       std::to_string(suggestion.requests) +
                       " kernel requests: every module no request needed\n"
                       "# and not loaded now. Unlike the kmod-tools policy, these stop root's loads too.\n";
    for (const auto& module : all_modules) {
        const auto name = normalize_module_name(module);
        if (suggestion.needed_modules.count(name) != 0 || keep.count(name) != 0)
            continue;
        text += "blacklist " + name + "\ninstall " + name + " /bin/false\n";
    }
    return text;
}

std::string diff_policy_suggestion(const Config& in_force, const Config& suggested, const std::vector<HistoryEntry>& entries,
                                   const std::function<std::vector<PlanMember>(const std::string&)>& plan_of)
{
    // In warn or learn mode "denied" today means "loaded, and said it would deny".
    const std::string mode =
        in_force.policy_mode == PolicyMode::enforce ? "" : " (policy_mode = " + std::string(to_string(in_force.policy_mode)) + ")";
    std::set<std::pair<std::string, RequesterClass>> seen;
    std::map<std::string, std::vector<PlanMember>> plans;
    std::string text;
    for (const auto& entry : entries) {
        if (!seen.insert({entry.name, entry.requester_class}).second)
            continue;
        auto [plan, inserted] = plans.try_emplace(entry.name);
        if (inserted)
            plan->second = plan_of(entry.name);
        if (plan->second.empty()) // nothing loads either way
            continue;
        const auto today = decide_plan(in_force, entry.requester_class, entry.name, plan->second);
        const auto then = decide_plan(suggested, entry.requester_class, entry.name, plan->second);
        if (today.allowed == then.allowed)
            continue;
        text += quote_name(entry.name) + " from " + std::string(to_string(entry.requester_class)) +
                " tasks: today" + (today.allowed ? "" : mode) + " " + today.describe() + "; suggested: " + then.describe() +
                "\n";
    }
    return text;
}

} // namespace kmodtools
