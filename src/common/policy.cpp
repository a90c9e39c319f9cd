// SPDX-License-Identifier: LGPL-2.1-or-later
// The autoload policy for requests from the kernel.
#include "policy.hpp"

#include "module_pattern.hpp"

namespace kmodtools {
namespace {

const PolicyRule* first_match(const std::vector<PolicyRule>& rules, std::string_view requested_name,
                              const std::vector<std::string>& resolved_modules, std::string& matched)
{
    for (const auto& rule : rules) {
        if (pattern_matches(rule.pattern, requested_name)) {
            matched = requested_name;
            return &rule;
        }
        for (const auto& module : resolved_modules) {
            if (pattern_matches(rule.pattern, module)) {
                matched = module;
                return &rule;
            }
        }
    }
    return nullptr;
}

} // namespace

std::string PolicyDecision::describe() const
{
    if (deciding_rule == nullptr)
        return allowed ? "allowed (no rule matches)" : "denied";
    return std::string(allowed ? "allowed by '" : "denied by '") + (allowed ? "allow" : "deny") + " = " +
           deciding_rule->pattern + "' (" + deciding_rule->origin.describe() + ") matching " + matched;
}

PolicyDecision decide(const Config& config, std::string_view requested_name,
                      const std::vector<std::string>& resolved_modules)
{
    PolicyDecision decision;
    std::string matched;
    const auto* deny = first_match(config.deny, requested_name, resolved_modules, matched);
    if (deny == nullptr)
        return decision;
    std::string allow_matched;
    if (const auto* allow = first_match(config.allow, requested_name, resolved_modules, allow_matched)) {
        decision.deciding_rule = allow;
        decision.matched = allow_matched;
        return decision;
    }
    decision.allowed = false;
    decision.deciding_rule = deny;
    decision.matched = matched;
    return decision;
}

} // namespace kmodtools
