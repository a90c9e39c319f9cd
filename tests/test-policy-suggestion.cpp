// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the policy suggested from the request history: what is allowed for whom, what is left
// out, that it parses back and decides as it says, the modprobe.d form and the difference.
#include "config.hpp"
#include "plan_member.hpp"
#include "policy.hpp"
#include "policy_suggestion.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;

namespace {

HistoryEntry entry(std::string name, std::string decision, RequesterClass requester_class,
                   std::vector<std::string> modules, std::int64_t time_us = 1'700'000'000'000'000)
{
    HistoryEntry e;
    e.time_us = time_us;
    e.name = std::move(name);
    e.decision = std::move(decision);
    e.requester_class = requester_class;
    e.modules = std::move(modules);
    return e;
}

// fs-xfs: xfs, needing libcrc32c, which has the softdep crc32c_generic; the rest: one module each.
std::vector<PlanMember> plan_of(const std::string& name)
{
    if (name == "fs-xfs")
        return {plan_member("xfs"), plan_member("libcrc32c", PlanRole::dependency, "xfs"),
                plan_member("crc32c_generic", PlanRole::softdep, "libcrc32c")};
    if (name == "net-pf-10")
        return {plan_member("ipv6")};
    if (name == "net-pf-33")
        return {plan_member("rxrpc")};
    return {};
}

Config parse(const std::string& text, const char* source)
{
    Config config;
    apply_config_text(config, text, source);
    return config;
}

const std::vector<HistoryEntry> history{
    entry("fs-xfs", "granted", RequesterClass::unprivileged, {"xfs", "libcrc32c", "crc32c_generic"}, 2'000'000),
    entry("net-pf-10", "would-deny", RequesterClass::container, {"ipv6"}, 1'000'000),
    entry("net-pf-10", "granted", RequesterClass::privileged, {"ipv6"}, 3'000'000),
    entry("net-pf-33", "granted", RequesterClass::privileged, {"rxrpc"}, 4'000'000),
    entry("net-pf-33", "denied", RequesterClass::unprivileged, {"rxrpc"}, 5'000'000),
    entry("fs-*", "failed", RequesterClass::unprivileged, {}, 6'000'000),
    entry("char-major-10-200", "failed", RequesterClass::unknown, {}, 7'000'000),
};

} // namespace

TEST_CASE("what was needed is allowed per class; privileged requests need no rule")
{
    const auto suggestion = suggest_policy(history, plan_of);
    CHECK(suggestion.requests == 7);
    CHECK(suggestion.first_us == 1'000'000);
    CHECK(suggestion.last_us == 7'000'000);
    CHECK(suggestion.allow.count(RequesterClass::privileged) == 0);
    // The softdep is judged on its own, so it is allowed by name; the dependency comes with xfs.
    CHECK(suggestion.allow.at(RequesterClass::unprivileged) == std::set<std::string>{"crc32c_generic", "fs-xfs"});
    CHECK(suggestion.allow.at(RequesterClass::container) == std::set<std::string>{"net-pf-10"});
    CHECK(suggestion.denied == std::map<std::string, std::size_t>{{"'net-pf-33' from unprivileged", 1}});
    // A name that is a pattern must never become one: 'fs-*' would allow every file system.
    CHECK(suggestion.unresolved.count("'fs-*' from unprivileged") == 1);
    CHECK(suggestion.unresolved.count("'char-major-10-200' from unknown") == 1);
    CHECK(suggestion.needed_modules.count("rxrpc") == 1); // root needed it
}

TEST_CASE("the drop-in parses back and decides what it says")
{
    const auto suggestion = suggest_policy(history, plan_of);
    const auto text = format_policy_suggestion(suggestion, "/var/lib/kmod-tools/request-history");
    CHECK(text.find("deny unless privileged = *\n") != std::string::npos);
    CHECK(text.find("allow for unprivileged = crc32c_generic fs-xfs\n") != std::string::npos);
    CHECK(text.find("allow for container = net-pf-10\n") != std::string::npos);
    CHECK(text.find("policy_mode = enforce\n") != std::string::npos);
    CHECK(text.find("# Denied by the policy in force, left out: 'net-pf-33' from unprivileged\n") != std::string::npos);
    const auto config = parse(text, "suggested");
    CHECK(config.policy_mode == PolicyMode::enforce);
    CHECK(decide_plan(config, RequesterClass::unprivileged, "fs-xfs", plan_of("fs-xfs")).allowed);
    CHECK(decide_plan(config, RequesterClass::container, "net-pf-10", plan_of("net-pf-10")).allowed);
    CHECK_FALSE(decide_plan(config, RequesterClass::unprivileged, "net-pf-10", plan_of("net-pf-10")).allowed);
    CHECK_FALSE(decide_plan(config, RequesterClass::unprivileged, "net-pf-33", plan_of("net-pf-33")).allowed);
    CHECK(decide_plan(config, RequesterClass::privileged, "net-pf-33", plan_of("net-pf-33")).allowed);
}

TEST_CASE("long allow lists are split over lines, and hostile names stay comments")
{
    std::vector<HistoryEntry> many;
    for (int i = 0; i < 20; ++i)
        many.push_back(entry("m" + std::to_string(100 + i), "granted", RequesterClass::unknown, {"m"}));
    many.push_back(entry("evil\nallow = *", "granted", RequesterClass::unknown, {"m"}));
    const auto text = format_policy_suggestion(suggest_policy(many, plan_of), "h");
    const auto config = parse(text, "suggested");
    std::size_t unknown_rules = 0;
    for (const auto& rule : config.allow)
        if (rule.requesters.contains(RequesterClass::unknown))
            ++unknown_rules;
    CHECK(unknown_rules == 20);
    CHECK(text.find("'evil\\x0aallow = *' from unknown") != std::string::npos);
    for (const auto& rule : config.allow)
        CHECK(rule.pattern != "*");
}

TEST_CASE("modprobe.d lines for every module nobody needed and nothing holds")
{
    const auto suggestion = suggest_policy(history, plan_of);
    const auto text = format_modprobe_suggestion(suggestion, {"xfs", "dccp", "rxrpc", "snd-pcm", "e1000"}, {"e1000"});
    CHECK(text.find("blacklist dccp\ninstall dccp /bin/false\n") != std::string::npos);
    CHECK(text.find("blacklist snd_pcm\ninstall snd_pcm /bin/false\n") != std::string::npos);
    CHECK(text.find(" xfs") == std::string::npos);
    CHECK(text.find(" rxrpc") == std::string::npos);
    CHECK(text.find(" e1000") == std::string::npos);
}

TEST_CASE("the difference to the policy in force, request by request")
{
    const auto suggestion = suggest_policy(history, plan_of);
    const auto suggested = parse(format_policy_suggestion(suggestion, "h"), "suggested");
    const auto in_force = parse("deny = xfs\npolicy_mode = learn\n", "conf");
    const auto diff = diff_policy_suggestion(in_force, suggested, history, plan_of);
    CHECK(diff == "'fs-xfs' from unprivileged tasks: today (policy_mode = learn) denied by 'deny = xfs' (conf:1) "
                  "matching xfs; suggested: allowed by 'allow for unprivileged = fs-xfs' (suggested:9) "
                  "matching fs-xfs\n"
                  "'net-pf-33' from unprivileged tasks: today allowed (no rule matches); suggested: denied by "
                  "'deny unless privileged = *' (suggested:6) matching net-pf-33\n");
    CHECK(diff_policy_suggestion(suggested, suggested, history, plan_of).empty());
}
