// SPDX-License-Identifier: LGPL-2.1-or-later
// What sysctl.d(5) sets at boot.
#include "sysctl_d.hpp"

#include "directory.hpp"
#include "error.hpp"
#include "text.hpp"
#include "text_file.hpp"
#include "trusted_path.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>

namespace kmodtools {
namespace {

// In the order systemd-sysctl searches them: an earlier directory's file masks a later one's.
constexpr std::array<std::string_view, 5> sysctl_dirs{
    "/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"};

std::string normalized_key(std::string_view key)
{
    std::string normalized(key);
    std::replace(normalized.begin(), normalized.end(), '/', '.');
    return normalized;
}

} // namespace

std::optional<SysctlSetting> sysctl_value_in(std::string_view text, std::string_view key,
                                             const std::filesystem::path& source)
{
    const auto wanted = normalized_key(key);
    std::optional<SysctlSetting> found;
    for_each_line(text, [&](std::string_view line, std::size_t number) {
        line = trim(line);
        if (line.empty() || line.front() == '#' || line.front() == ';')
            return;
        const auto equals = line.find('=');
        if (equals == std::string_view::npos)
            return; // systemd-sysctl warns and goes on; so does the boot, and so do we
        auto name = trim(line.substr(0, equals));
        if (!name.empty() && name.front() == '-')
            name.remove_prefix(1);
        if (normalized_key(name) == wanted)
            found = SysctlSetting{std::string(trim(line.substr(equals + 1))), {source, number}};
    });
    return found;
}

std::optional<SysctlSetting> boot_sysctl_value(const Paths& paths, std::string_view key)
{
    // File name -> the path that wins for it (the first directory that has it).
    std::map<std::string, std::string> files;
    for (const auto dir : sysctl_dirs)
        if (const auto names = list_directory_if_exists(paths.under_root(std::string(dir))))
            for (const auto& name : *names)
                if (name.size() > 5 && name.ends_with(".conf"))
                    files.emplace(name, std::string(dir) + "/" + name);
    std::optional<SysctlSetting> found;
    for (const auto& [name, file] : files) {
        // Masked: a link to /dev/null, as sysctl.d(5) says to disable a vendor's file.
        if (std::error_code ignored; std::filesystem::read_symlink(paths.under_root(file), ignored) == "/dev/null")
            continue;
        const auto judged = judge_path(paths, file, TrustedKind::regular_file, ::geteuid());
        if (judged.missing())
            continue;
        if (!judged.trusted())
            throw Error::failure("refusing " + file + ": " + judged.problem);
        if (auto setting = sysctl_value_in(read_text_file(judged.resolved), key, file))
            found = std::move(setting);
    }
    return found;
}

} // namespace kmodtools
