// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the autoload policy: deny, allow exceptions, allow lists, matching names and modules.
#include "config.hpp"
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
    CHECK(decision.matched == "dccp_ipv6");

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
