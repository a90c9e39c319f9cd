// SPDX-License-Identifier: LGPL-2.1-or-later
// The kmod-tools configuration: /etc/kmod-tools/kmod-tools.conf, its drop-ins, and the runtime layer.
//
// Format (kmod-tools.conf(5)): one `key = value` per line; blank lines and lines
// starting with '#' are ignored. Files are read in order: kmod-tools.conf, kmod-tools.conf.d/*.conf in
// lexical order, /run/kmod-tools/runtime.conf (kmod-sysctl without --persist). A later value of a
// single-valued key wins; list keys accumulate, and an empty value clears what came before.
// A missing file means defaults; an unknown key or bad value is an error naming file:line.
#pragma once

#include "paths.hpp"
#include "requester_class.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

inline constexpr std::chrono::seconds default_unload_delay{120};

// Where a setting came from, for messages such as "set in /etc/...:3".
struct SettingOrigin {
    std::filesystem::path file; // empty: the built-in default
    std::size_t line = 0;
    std::string describe() const;
};

// One pattern of the autoload policy (policy.hpp), with the requesters it applies to, the
// exceptions written on its line and where it was written (for audit lines and --explain).
//     deny unless privileged = * !fs-* !net-pf-10      one rule for '*', excepting two patterns
//     deny for container,unknown = net-pf-* bluetooth  two rules, for two classes
struct PolicyRule {
    bool deny = true;
    std::string pattern;
    std::vector<std::string> exceptions; // "!PATTERN" words: what the rule does not cover
    RequesterClassSet requesters = RequesterClassSet::all();
    std::string qualifier; // as written, normalised: "", "for container,unknown", "unless privileged"
    SettingOrigin origin;

    // "deny unless privileged = * !fs-*": the rule as it can be quoted in an audit line.
    std::string text() const;
};

// What the policy does with a kernel request it denies (policy.hpp).
enum class PolicyMode {
    enforce, // refuse it
    warn,    // load it, and audit that the policy would deny it
    learn,   // load it and only record the decision in the request history
};
std::string_view to_string(PolicyMode mode);

// What a sweep does when kernel.modprobe is not the helper the admin set (helper_guard.hpp).
enum class HelperGuardMode { report, restore };

struct Config {
    std::chrono::seconds unload_delay = default_unload_delay;
    SettingOrigin unload_delay_origin;
    // Module patterns kmod-reap never unloads. By default the RAM disk drivers, whose disks hold data
    // while nothing holds the module ("keep =" clears the list).
    std::vector<std::string> keep{"brd", "zram"};
    std::vector<PolicyRule> deny;  // names, aliases or modules the kernel may not have loaded
    std::vector<PolicyRule> allow; // exceptions to deny
    PolicyMode policy_mode = PolicyMode::enforce;
    SettingOrigin policy_mode_origin;
    // cgroup v2 paths whose tasks are "container" requesters even in the initial user namespace
    // (containers run without a user namespace of their own): patterns as for modules, '/' included.
    std::vector<std::string> container_cgroups;
    HelperGuardMode helper_guard = HelperGuardMode::report;
};

// Applies the settings in `text` on top of `config`. Throws Error::failure "FILE:LINE: problem".
void apply_config_text(Config& config, std::string_view text, const std::filesystem::path& source);

enum class ConfigLayers { all, persistent_only };

// Reads every layer under `paths`. A config file must be a regular file owned by root (or by the user
// running the tool) and not writable by group or others: it decides what root loads and unloads.
Config load_config(const Paths& paths, ConfigLayers layers = ConfigLayers::all);

} // namespace kmodtools
