// SPDX-License-Identifier: LGPL-2.1-or-later
// The autoload policy: which module requests from the kernel are granted.
//
// Any user can make the kernel request a module (open a socket of an unloaded family, mount a
// file system type), which is how many kernel holes became reachable (DCCP, n_hdlc, AF_ALG...).
// Hardening guides disable such modules with "install dccp /bin/true" lines; the policy says it
// directly and leaves requests made by root (kmod-request run by hand, udev) alone.
#pragma once

#include "config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

struct PolicyDecision {
    bool allowed = true;
    const PolicyRule* deciding_rule = nullptr; // the deny rule that refused, or the allow rule that granted
    std::string matched;                       // the name or module the rule matched
    std::string describe() const;              // "denied by 'deny = dccp*' (FILE:LINE) matching dccp"
};

// A request is denied when its name or one of the modules it resolves to matches a deny pattern
// and none of them matches an allow pattern: "deny = *" with a few allows makes an allow list.
PolicyDecision decide(const Config& config, std::string_view requested_name,
                      const std::vector<std::string>& resolved_modules);

} // namespace kmodtools
