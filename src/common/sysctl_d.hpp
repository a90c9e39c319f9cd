// SPDX-License-Identifier: LGPL-2.1-or-later
// What sysctl.d(5) sets at boot: the value systemd-sysctl (and procps' sysctl --system) gives a key.
//
// Files named *.conf in /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d and
// /lib/sysctl.d; a file in an earlier directory masks one of the same name in a later directory (one
// linked to /dev/null masks it and says nothing); all of them are applied in the lexical order of
// their names, so the last assignment wins. Lines are "key = value" ('/' may stand for '.', a '-'
// before the key only silences errors); '#' and ';' start comments.
#pragma once

#include "config.hpp"
#include "paths.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kmodtools {

struct SysctlSetting {
    std::string value;
    SettingOrigin origin; // FILE:LINE of the assignment that wins
};

// The boot-time value of `key` (e.g. "kernel.modprobe"), or std::nullopt if no file sets it. Each file
// is judged as the configuration is (root's, writable by nobody else, every step of its path): a file
// that fails is an Error naming it, since a value others could have written cannot be trusted.
std::optional<SysctlSetting> boot_sysctl_value(const Paths& paths, std::string_view key);

// The setting `key` gets from `text` (one file), or std::nullopt. Exposed for tests.
std::optional<SysctlSetting> sysctl_value_in(std::string_view text, std::string_view key,
                                             const std::filesystem::path& source);

} // namespace kmodtools
