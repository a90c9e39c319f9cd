// SPDX-License-Identifier: LGPL-2.1-or-later
// The autoload policy: which module requests from the kernel are granted, for which requester.
//
// Any user can make the kernel request a module (open a socket of an unloaded family, mount a
// file system type), which is how many kernel holes became reachable (DCCP, n_hdlc, AF_ALG...).
// Hardening guides disable such modules with "install dccp /bin/true" lines, which also stop root
// and which a softdep bypasses (kmod #446); the policy says it directly, for the requesters it
// names, over everything the request would insert, and leaves requests made by hand alone.
//
// How a request is judged (kmod-tools.conf(5), POLICY):
//   - the plan is every module the request would insert: the modules the name resolves to, their
//     hard dependencies, and the softdep pre/post modules of all of those (with theirs);
//   - a module is denied when a deny rule for the requester's class matches it (a requested module
//     also by the requested name) and none of the rule's "!PATTERN" exceptions does, unless an
//     allow rule for that class matches it too;
//   - a requested module or softdep that a rule explicitly lets through (an allow rule or an
//     exception) brings its hard dependencies with it: they are not judged on their own. Softdeps
//     and modules with an install command always are;
//   - dependencies and softdeps already loaded (or built in) insert nothing and are not judged;
//     requested modules always are (the request is what the rule is about);
//   - one denied module refuses the whole request, before anything is inserted.
#pragma once

#include "config.hpp"
#include "request_attribution.hpp"
#include "requester_class.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

enum class PlanRole {
    requested,  // what the name resolves to
    dependency, // a hard dependency (modules.dep) of the member named by `via`
    softdep,    // a softdep pre/post module of the member named by `via`
};
std::string_view to_string(PlanRole role);

struct PlanMember {
    std::string module;
    PlanRole role = PlanRole::requested;
    // dependency: the requested module or softdep whose dependency it is (whose allow brings it);
    // softdep: the member that declares the softdep. Empty for requested modules.
    std::string via;
    bool present = false;      // loaded, coming up, or built in: nothing would be inserted
    bool install_command = false; // modprobe.d runs a command instead of inserting it

    bool operator==(const PlanMember&) const = default;
};

// "xfs (requested)", "libcrc32c (dependency of xfs)", "crc32c_generic (softdep of libcrc32c)".
std::string describe(const PlanMember& member);

enum class MemberVerdict {
    allowed,    // no rule denies it
    granted,    // a deny rule matches, an allow rule or an exception lets it through
    brought,    // a hard dependency of a granted member
    present,    // already loaded or built in, not judged
    denied,
};
std::string_view to_string(MemberVerdict verdict);

struct MemberDecision {
    PlanMember member;
    MemberVerdict verdict = MemberVerdict::allowed;
    const PolicyRule* rule = nullptr; // the deny rule that matched (denied; granted by an exception), or the allow rule
    bool by_exception = false;        // granted: one of the deny rule's own "!PATTERN" exceptions
    std::string matched;              // the name the rule's pattern matched (the module, or the requested name)

    // "denied by 'deny = dccp*' (FILE:LINE) matching dccp", "allowed (no rule matches)", ...
    std::string describe() const;
};

struct PolicyDecision {
    bool allowed = true;
    RequesterClass requester_class = RequesterClass::unknown;
    std::vector<MemberDecision> members; // in plan order; a name that resolves to nothing: one member, the name
    // The member that decided: the first denied one; when allowed, the first requested member a
    // rule let through (none if no rule matched anything). nullptr: no rule applied at all.
    const MemberDecision* deciding() const;

    // For audit lines: "denied by 'deny = dccp*' (FILE:LINE) matching dccp", or for a member other
    // than the requested one "denied: crc32c_generic (softdep of libcrc32c) denied by ...".
    std::string describe() const;
};

// Judges the request `name`, whose plan is `plan`, from a requester of class `requester_class`.
PolicyDecision decide_plan(const Config& config, RequesterClass requester_class, std::string_view name,
                           const std::vector<PlanMember>& plan);

// The class a request is judged as: the attribution's, except that a task in a cgroup that
// container_cgroups names is a container (for an ambiguous request: the stricter over its candidates).
RequesterClass judged_class(const Config& config, const Attribution& attribution);

} // namespace kmodtools
