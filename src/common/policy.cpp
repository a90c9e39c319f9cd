// SPDX-License-Identifier: LGPL-2.1-or-later
// The autoload policy for requests from the kernel.
#include "policy.hpp"

#include "module_pattern.hpp"

#include <fnmatch.h>

#include <set>

namespace kmodtools {

std::string_view to_string(PlanRole role)
{
    switch (role) {
    case PlanRole::requested:
        return "requested";
    case PlanRole::dependency:
        return "dependency";
    case PlanRole::softdep:
        break;
    }
    return "softdep";
}

std::string_view to_string(MemberVerdict verdict)
{
    switch (verdict) {
    case MemberVerdict::allowed:
        return "allowed";
    case MemberVerdict::granted:
        return "granted";
    case MemberVerdict::brought:
        return "brought";
    case MemberVerdict::present:
        return "present";
    case MemberVerdict::denied:
        break;
    }
    return "denied";
}

std::string describe(const PlanMember& member)
{
    if (member.role == PlanRole::requested)
        return member.module + " (requested)";
    return member.module + " (" + std::string(to_string(member.role)) + " of " + member.via + ")";
}

namespace {

std::string quoted_rule(const PolicyRule& rule) { return "'" + rule.text() + "' (" + rule.origin.describe() + ")"; }

// The first of `names` that `pattern` matches, or nullptr.
const std::string* first_matching(std::string_view pattern, const std::vector<std::string>& names)
{
    for (const auto& name : names)
        if (pattern_matches(pattern, name))
            return &name;
    return nullptr;
}

struct RuleMatch {
    const PolicyRule* rule = nullptr;
    std::string matched;
    bool excepted = false; // the rule's pattern matched, one of its exceptions did too
};

// The first rule of `rules` for `requester_class` whose pattern matches one of `names`. A rule whose
// exception matches does not apply; the first such is remembered if no rule applies.
RuleMatch first_rule(const std::vector<PolicyRule>& rules, RequesterClass requester_class,
                     const std::vector<std::string>& names)
{
    RuleMatch excepted;
    for (const auto& rule : rules) {
        if (!rule.requesters.contains(requester_class))
            continue;
        const auto* matched = first_matching(rule.pattern, names);
        if (matched == nullptr)
            continue;
        const std::string* exception = nullptr;
        for (const auto& pattern : rule.exceptions)
            if ((exception = first_matching(pattern, names)) != nullptr)
                break;
        if (exception == nullptr)
            return {&rule, *matched, false};
        if (excepted.rule == nullptr)
            excepted = {&rule, *exception, true};
    }
    return excepted;
}

// One member judged on its own, by the names it goes by.
MemberDecision judge(const Config& config, RequesterClass requester_class, const PlanMember& member,
                     const std::vector<std::string>& names)
{
    MemberDecision decision;
    decision.member = member;
    const auto deny = first_rule(config.deny, requester_class, names);
    if (deny.rule == nullptr)
        return decision;
    if (deny.excepted) {
        decision.verdict = MemberVerdict::granted;
        decision.rule = deny.rule;
        decision.by_exception = true;
        decision.matched = deny.matched;
        return decision;
    }
    const auto allow = first_rule(config.allow, requester_class, names);
    if (allow.rule != nullptr && !allow.excepted) {
        decision.verdict = MemberVerdict::granted;
        decision.rule = allow.rule;
        decision.matched = allow.matched;
        return decision;
    }
    decision.verdict = MemberVerdict::denied;
    decision.rule = deny.rule;
    decision.matched = deny.matched;
    return decision;
}

bool cgroup_matches(const std::vector<std::string>& patterns, const std::string& cgroup)
{
    if (cgroup.empty())
        return false;
    for (const auto& pattern : patterns)
        if (::fnmatch(pattern.c_str(), cgroup.c_str(), 0) == 0)
            return true;
    return false;
}

} // namespace

std::string MemberDecision::describe() const
{
    switch (verdict) {
    case MemberVerdict::allowed:
        return "allowed (no rule matches)";
    case MemberVerdict::brought:
        return "allowed as a dependency of " + member.via;
    case MemberVerdict::present:
        return "already there, not judged";
    case MemberVerdict::granted:
        if (by_exception)
            return "allowed by the exception of " + quoted_rule(*rule) + " matching " + matched;
        return "allowed by " + quoted_rule(*rule) + " matching " + matched;
    case MemberVerdict::denied:
        break;
    }
    return "denied by " + quoted_rule(*rule) + " matching " + matched;
}

const MemberDecision* PolicyDecision::deciding() const
{
    for (const auto& member : members)
        if (member.verdict == MemberVerdict::denied)
            return &member;
    for (const auto& member : members)
        if (member.member.role == PlanRole::requested && member.verdict == MemberVerdict::granted)
            return &member;
    return nullptr;
}

std::string PolicyDecision::describe() const
{
    const auto* member = deciding();
    if (member == nullptr)
        return "allowed (no rule matches)";
    if (member->member.role == PlanRole::requested)
        return member->describe();
    return "denied: " + kmodtools::describe(member->member) + " " + member->describe();
}

PolicyDecision decide_plan(const Config& config, RequesterClass requester_class, std::string_view name,
                           const std::vector<PlanMember>& plan)
{
    PolicyDecision decision;
    decision.requester_class = requester_class;
    const std::string requested_name(name);
    if (plan.empty()) {
        // Nothing to insert, yet a name that resolves to nothing can still be denied by its own name.
        PlanMember itself;
        itself.module = requested_name;
        decision.members.push_back(judge(config, requester_class, itself, {requested_name}));
    }
    // Members whose allow brings their hard dependencies.
    std::set<std::string> granted;
    for (const auto& member : plan) {
        MemberDecision judged;
        judged.member = member;
        if (member.role == PlanRole::dependency && !member.install_command && granted.count(member.via) != 0)
            judged.verdict = MemberVerdict::brought;
        else if (member.present && member.role != PlanRole::requested)
            judged.verdict = MemberVerdict::present;
        else if (member.role == PlanRole::requested)
            judged = judge(config, requester_class, member, {requested_name, member.module});
        else
            judged = judge(config, requester_class, member, {member.module});
        if (judged.verdict == MemberVerdict::granted && !member.install_command)
            granted.insert(member.module);
        decision.members.push_back(std::move(judged));
    }
    for (const auto& member : decision.members)
        if (member.verdict == MemberVerdict::denied)
            decision.allowed = false;
    return decision;
}

RequesterClass judged_class(const Config& config, const Attribution& attribution)
{
    auto requester_class = attribution.requester_class;
    if (attribution.kind == AttributionKind::unknown || config.container_cgroups.empty())
        return requester_class;
    for (const auto& candidate : attribution.candidates)
        if (cgroup_matches(config.container_cgroups, candidate.cgroup))
            requester_class = stricter(requester_class, RequesterClass::container);
    return requester_class;
}

} // namespace kmodtools
