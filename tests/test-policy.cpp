// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the autoload policy: deny, allow exceptions, allow lists, matching names and modules,
// requester classes, "!PATTERN" exceptions, modes, and judging the whole plan of a request.
#include "config.hpp"
#include "plan_member.hpp"
#include "policy.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;

namespace {
Config policy(const char* text)
{
    Config config;
    apply_config_text(config, text, "/etc/kmod-tools/kmod-tools.conf");
    return config;
}

// A request whose plan is only the modules it resolves to.
PolicyDecision decide(const Config& config, std::string_view name, const std::vector<std::string>& modules,
                      RequesterClass requester_class = RequesterClass::unknown)
{
    std::vector<PlanMember> plan;
    for (const auto& module : modules)
        plan.push_back(plan_member(module));
    return decide_plan(config, requester_class, name, plan);
}
} // namespace

TEST_CASE("without rules everything is allowed")
{
    const auto decision = decide(Config{}, "fs-xfs", {"xfs"});
    CHECK(decision.allowed);
    CHECK(decision.describe() == "allowed (no rule matches)");
}

TEST_CASE("deny matches the requested name or a module it resolves to")
{
    const auto config = policy("deny = net-pf-33 dccp* algif_*\n");
    auto decision = decide(config, "net-pf-33", {"rxrpc"});
    CHECK_FALSE(decision.allowed);
    CHECK(decision.describe() == "denied by 'deny = net-pf-33' (/etc/kmod-tools/kmod-tools.conf:1) matching net-pf-33");

    decision = decide(config, "net-pf-10-proto-33-type-6", {"dccp_ipv6"});
    CHECK_FALSE(decision.allowed);
    REQUIRE(decision.deciding() != nullptr);
    CHECK(decision.deciding()->matched == "dccp_ipv6");

    // '-' and '_' alike, as in module names.
    CHECK_FALSE(decide(config, "algif-hash", {"algif_hash"}).allowed);
    CHECK(decide(config, "fs-xfs", {"xfs"}).allowed);
    // A name that resolves to nothing can still be denied by its own name.
    CHECK_FALSE(decide(config, "net-pf-33", {}).allowed);
}

TEST_CASE("allow makes exceptions, and deny = * with allows is an allow list")
{
    const auto config = policy("deny = *\nallow = fs-* xfs\n");
    auto decision = decide(config, "fs-xfs", {"xfs"});
    CHECK(decision.allowed);
    CHECK(decision.describe() == "allowed by 'allow = fs-*' (/etc/kmod-tools/kmod-tools.conf:2) matching fs-xfs");
    CHECK_FALSE(decide(config, "net-pf-33", {"rxrpc"}).allowed);
    CHECK(decide(config, "xfs", {"xfs"}).allowed);
}

TEST_CASE("an empty deny clears earlier rules, as for every list key")
{
    const auto config = policy("deny = dccp\ndeny =\n");
    CHECK(decide(config, "dccp", {"dccp"}).allowed);
}

TEST_CASE("bad policy patterns are config errors with file and line")
{
    Config config;
    CHECK_THROWS_WITH(apply_config_text(config, "\ndeny = ok bad/x\n", "f"),
                      "f:2: bad deny pattern 'bad/x': character '/' in pattern");
}

TEST_CASE("rules for some requester classes, and MODHARDEN's rule in one line")
{
    const auto config = policy("deny unless privileged = * !fs-* !net-pf-10\n"
                               "deny for container, unknown = fs-cramfs\n");
    for (const auto requester_class : {RequesterClass::unprivileged, RequesterClass::container, RequesterClass::unknown}) {
        CAPTURE(to_string(requester_class));
        const auto decision = decide(config, "net-pf-33", {"rxrpc"}, requester_class);
        CHECK_FALSE(decision.allowed);
        CHECK(decision.describe() == "denied by 'deny unless privileged = * !fs-* !net-pf-10' "
                                     "(/etc/kmod-tools/kmod-tools.conf:1) matching net-pf-33");
    }
    CHECK(decide(config, "net-pf-33", {"rxrpc"}, RequesterClass::privileged).allowed);

    // An exception lets a name through the rule it is written on, and says so.
    const auto xfs = decide(config, "fs-xfs", {"xfs"}, RequesterClass::unprivileged);
    CHECK(xfs.allowed);
    CHECK(xfs.describe() == "allowed by the exception of 'deny unless privileged = * !fs-* !net-pf-10' "
                            "(/etc/kmod-tools/kmod-tools.conf:1) matching fs-xfs");
    CHECK(decide(config, "net-pf-10", {"ipv6"}, RequesterClass::unknown).allowed);

    // The exception of one rule is not an exception to another.
    CHECK(decide(config, "fs-cramfs", {"cramfs"}, RequesterClass::unprivileged).allowed);
    const auto cramfs = decide(config, "fs-cramfs", {"cramfs"}, RequesterClass::container);
    CHECK_FALSE(cramfs.allowed);
    CHECK(cramfs.describe() == "denied by 'deny for container,unknown = fs-cramfs' (/etc/kmod-tools/kmod-tools.conf:2) "
                               "matching fs-cramfs");
}

TEST_CASE("allow rules can name requester classes too")
{
    const auto config = policy("deny = *\nallow for privileged = *\nallow for unprivileged = fs-xfs\n");
    CHECK(decide(config, "net-pf-33", {"rxrpc"}, RequesterClass::privileged).allowed);
    CHECK_FALSE(decide(config, "net-pf-33", {"rxrpc"}, RequesterClass::unprivileged).allowed);
    CHECK(decide(config, "fs-xfs", {"xfs"}, RequesterClass::unprivileged).allowed);
    CHECK_FALSE(decide(config, "fs-xfs", {"xfs"}, RequesterClass::container).allowed);
}

TEST_CASE("a qualified empty value clears only the rules of that qualifier")
{
    auto config = policy("deny = a\ndeny for container = b\ndeny unless privileged = c\ndeny for container =\n");
    REQUIRE(config.deny.size() == 2);
    CHECK(config.deny[0].pattern == "a");
    CHECK(config.deny[1].pattern == "c");
    config = policy("deny for container = b\ndeny unless privileged = c\ndeny =\n");
    CHECK(config.deny.empty());
}

TEST_CASE("a rule quotes itself as written, normalised")
{
    const auto config = policy("deny for unknown,container = dccp* !dccp_diag\n");
    REQUIRE(config.deny.size() == 1);
    CHECK(config.deny[0].text() == "deny for container,unknown = dccp* !dccp_diag");
    CHECK(config.deny[0].requesters.contains(RequesterClass::unknown));
    CHECK_FALSE(config.deny[0].requesters.contains(RequesterClass::privileged));
}

TEST_CASE("bad policy keys, classes, exceptions and modes are errors with file and line")
{
    Config config;
    CHECK_THROWS_WITH(apply_config_text(config, "deny for root = *\n", "f"),
                      "f:1: unknown requester class 'root' in 'deny for root': privileged, unprivileged, container or "
                      "unknown");
    CHECK_THROWS_WITH(apply_config_text(config, "deny if privileged = *\n", "f"),
                      "f:1: expected 'for' or 'unless' after 'deny', found 'if'");
    CHECK_THROWS_WITH(apply_config_text(config, "allow unless = *\n", "f"), "f:1: 'allow unless' needs requester classes");
    CHECK_THROWS_WITH(apply_config_text(config, "deny for , = *\n", "f"), "f:1: 'deny for' needs requester classes");
    CHECK_THROWS_WITH(apply_config_text(config, "deny = !fs-*\n", "f"),
                      "f:1: 'deny' line with exceptions only: name what they are exceptions to");
    CHECK_THROWS_WITH(apply_config_text(config, "deny = * !fs-[x\n", "f"),
                      "f:1: bad deny exception '!fs-[x': unbalanced '[' (no closing ']')");
    CHECK_THROWS_WITH(apply_config_text(config, "deny = * !!x\n", "f"),
                      "f:1: bad deny exception '!!x': '!' outside brackets matches only itself, which no module name "
                      "or alias holds");
    CHECK_THROWS_WITH(apply_config_text(config, "policy_mode = audit\n", "f"),
                      "f:1: bad policy_mode 'audit': enforce, warn or learn");
    CHECK_THROWS_WITH(apply_config_text(config, "container_cgroups = machine.slice\n", "f"),
                      "f:1: bad container_cgroups pattern 'machine.slice': not an absolute cgroup path");
    CHECK_THROWS_WITH(apply_config_text(config, "container_cgroups = /a[b\n", "f"),
                      "f:1: bad container_cgroups pattern '/a[b': unbalanced '[' (no closing ']')");
    // Other keys take no qualifier.
    CHECK_THROWS_WITH(apply_config_text(config, "keep for container = x\n", "f"), "f:1: unknown key 'keep for container'");
}

TEST_CASE("policy_mode is read with where it was set")
{
    const auto config = policy("\npolicy_mode = warn\n");
    CHECK(config.policy_mode == PolicyMode::warn);
    CHECK(config.policy_mode_origin.describe() == "/etc/kmod-tools/kmod-tools.conf:2");
    CHECK(Config{}.policy_mode == PolicyMode::enforce);
    CHECK(policy("policy_mode = learn\n").policy_mode == PolicyMode::learn);
}

TEST_CASE("the whole plan is judged: a denied dependency or softdep refuses the request")
{
    const auto config = policy("deny = crc32c* rxrpc\n");
    const std::vector<PlanMember> plan{plan_member("xfs"), plan_member("libcrc32c", PlanRole::dependency, "xfs"),
                                       plan_member("crc32c_generic", PlanRole::softdep, "libcrc32c")};
    const auto decision = decide_plan(config, RequesterClass::unprivileged, "fs-xfs", plan);
    CHECK_FALSE(decision.allowed);
    REQUIRE(decision.members.size() == 3);
    CHECK(decision.members[0].verdict == MemberVerdict::allowed);
    CHECK(decision.members[1].verdict == MemberVerdict::allowed);
    CHECK(decision.members[2].verdict == MemberVerdict::denied);
    CHECK(decision.describe() == "denied: crc32c_generic (softdep of libcrc32c) denied by 'deny = crc32c*' "
                                 "(/etc/kmod-tools/kmod-tools.conf:1) matching crc32c_generic");

    const std::vector<PlanMember> with_dependency{plan_member("kafs"), plan_member("rxrpc", PlanRole::dependency, "kafs")};
    const auto kafs = decide_plan(config, RequesterClass::unprivileged, "fs-afs", with_dependency);
    CHECK_FALSE(kafs.allowed);
    REQUIRE(kafs.deciding() != nullptr);
    CHECK(kafs.deciding()->member.module == "rxrpc");
    CHECK(kafs.describe() == "denied: rxrpc (dependency of kafs) denied by 'deny = rxrpc' "
                             "(/etc/kmod-tools/kmod-tools.conf:1) matching rxrpc");
}

TEST_CASE("an allowed module brings its hard dependencies; softdeps are judged on their own")
{
    const auto config = policy("deny = *\nallow = fs-xfs\n");
    const std::vector<PlanMember> plan{plan_member("xfs"), plan_member("libcrc32c", PlanRole::dependency, "xfs"),
                                       plan_member("crc32c_generic", PlanRole::softdep, "libcrc32c")};
    auto decision = decide_plan(config, RequesterClass::unprivileged, "fs-xfs", plan);
    CHECK(decision.members[0].verdict == MemberVerdict::granted);
    CHECK(decision.members[1].verdict == MemberVerdict::brought);
    CHECK(decision.members[1].describe() == "allowed as a dependency of xfs");
    CHECK(decision.members[2].verdict == MemberVerdict::denied);
    CHECK_FALSE(decision.allowed);

    // A softdep allowed explicitly brings its own dependencies.
    const auto with_softdep = policy("deny = *\nallow = fs-xfs crc32c_generic\n");
    auto longer = plan;
    longer.push_back(plan_member("crypto_helper", PlanRole::dependency, "crc32c_generic"));
    decision = decide_plan(with_softdep, RequesterClass::unprivileged, "fs-xfs", longer);
    CHECK(decision.allowed);
    CHECK(decision.members[3].verdict == MemberVerdict::brought);
    CHECK(decision.describe() == "allowed by 'allow = fs-xfs' (/etc/kmod-tools/kmod-tools.conf:2) matching fs-xfs");

    // A requested module only allowed because no rule matches brings nothing: its dependencies
    // are judged, or "deny = rxrpc" could be bypassed through any module needing it.
    const auto deny_only = policy("deny = libcrc32c\n");
    CHECK_FALSE(decide_plan(deny_only, RequesterClass::unprivileged, "fs-xfs", plan).allowed);
}

TEST_CASE("install commands are judged on their own, and what is there already is not judged")
{
    const auto config = policy("deny = *\nallow = fs-xfs\n");
    auto dependency = plan_member("libcrc32c", PlanRole::dependency, "xfs");
    dependency.install_command = true;
    auto decision = decide_plan(config, RequesterClass::unprivileged, "fs-xfs", {plan_member("xfs"), dependency});
    CHECK(decision.members[1].verdict == MemberVerdict::denied);

    auto loaded_softdep = plan_member("crc32c_generic", PlanRole::softdep, "xfs");
    loaded_softdep.present = true;
    decision = decide_plan(config, RequesterClass::unprivileged, "fs-xfs", {plan_member("xfs"), loaded_softdep});
    CHECK(decision.allowed);
    CHECK(decision.members[1].verdict == MemberVerdict::present);

    // The requested module is judged even when loaded: the rule is about the request.
    auto loaded = plan_member("rxrpc");
    loaded.present = true;
    CHECK_FALSE(decide_plan(config, RequesterClass::unprivileged, "net-pf-33", {loaded}).allowed);
}

TEST_CASE("a cgroup listed in container_cgroups makes its tasks containers")
{
    const auto config = policy("container_cgroups = /system.slice/docker-* /machine.slice/*\n");
    Attribution attribution;
    attribution.kind = AttributionKind::attributed;
    attribution.requester_class = RequesterClass::unprivileged;
    RequesterInfo task;
    task.pid = 7;
    task.cgroup = "/system.slice/docker-0123.scope";
    attribution.candidates.push_back(task);
    CHECK(judged_class(config, attribution) == RequesterClass::container);
    attribution.candidates[0].cgroup = "/user.slice/user-1000.slice/session-1.scope";
    CHECK(judged_class(config, attribution) == RequesterClass::unprivileged);
    attribution.candidates[0].cgroup = "/machine.slice/a/b";
    CHECK(judged_class(config, attribution) == RequesterClass::container);
    // Unknown stays unknown: it is stricter than container.
    attribution.kind = AttributionKind::unknown;
    attribution.requester_class = RequesterClass::unknown;
    CHECK(judged_class(config, attribution) == RequesterClass::unknown);
}
