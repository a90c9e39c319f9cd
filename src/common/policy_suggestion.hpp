// SPDX-License-Identifier: LGPL-2.1-or-later
// Suggesting a policy from the request history: allow, per requester class, what was needed; deny
// the rest to every requester but privileged ones.
//
// A request was needed when it resolved to something and was granted, or would have been denied
// only because the policy was in warn or learn mode, or failed to load (the name was right, the
// load was not): its name is allowed for its class. The members of its plan that the policy judges
// on their own (softdeps and modules with install commands, policy.hpp) are allowed by module name
// too; hard dependencies come with what they belong to. Requests the policy in force denied, and
// names that resolve to nothing (the kernel asks for many aliases no module provides) are left out:
// the suggestion never widens what the admin already refused.
//
// The suggestion is a kmod-tools.conf drop-in, checked by parsing it back before it is printed.
#pragma once

#include "config.hpp"
#include "policy.hpp"
#include "request_history.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace kmodtools {

struct PolicySuggestion {
    std::size_t requests = 0; // history entries considered
    std::int64_t first_us = 0;
    std::int64_t last_us = 0;
    // Per class (privileged is never listed: the suggestion does not restrict it): names to allow.
    std::map<RequesterClass, std::set<std::string>> allow;
    // Requests left out, with how often: denied by the policy in force, resolving to nothing.
    std::map<std::string, std::size_t> denied;
    std::map<std::string, std::size_t> unresolved;
    // Every name and module needed (any class, privileged included): never worth blacklisting.
    std::set<std::string> needed_modules;
};

// `plan_of` gives the plan of a name in the module tree the suggestion is for (ModuleLoader::plan).
PolicySuggestion suggest_policy(const std::vector<HistoryEntry>& entries,
                                const std::function<std::vector<PlanMember>(const std::string&)>& plan_of);

// The drop-in: a header saying where it comes from, "deny unless privileged = *", the allow lines
// per class, "policy_mode = enforce". `history` names the file for the header.
std::string format_policy_suggestion(const PolicySuggestion& suggestion, const std::string& history);

// The same as modprobe.d lines, for compliance scanners that look for them: "blacklist M" and
// "install M /bin/false" for every module of `all_modules` that no request needed and that is not
// in `keep` (the modules loaded now). Unlike the policy these stop root too.
std::string format_modprobe_suggestion(const PolicySuggestion& suggestion, const std::vector<std::string>& all_modules,
                                       const std::set<std::string>& keep);

// How the suggestion's decisions differ from those of the policy in force, one line per request
// name and class seen: "fs-xfs from unprivileged tasks: today denied by ...; suggested: allowed by
// ...". Empty when they agree on everything seen.
std::string diff_policy_suggestion(const Config& in_force, const Config& suggested, const std::vector<HistoryEntry>& entries,
                                   const std::function<std::vector<PlanMember>(const std::string&)>& plan_of);

} // namespace kmodtools
