// SPDX-License-Identifier: LGPL-2.1-or-later
// The loaded-module view over /proc/modules and /sys/module.
#include "loaded_modules.hpp"

#include "error.hpp"
#include "text_file.hpp"
#include "unique_fd.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <memory>

namespace kmodtools {
namespace {

std::vector<std::string_view> split_whitespace(std::string_view line)
{
    std::vector<std::string_view> fields;
    std::size_t pos = 0;
    while (pos < line.size()) {
        const auto start = line.find_first_not_of(" \t", pos);
        if (start == std::string_view::npos)
            break;
        auto end = line.find_first_of(" \t", start);
        if (end == std::string_view::npos)
            end = line.size();
        fields.push_back(line.substr(start, end - start));
        pos = end;
    }
    return fields;
}

template <typename Number>
bool parse_number(std::string_view text, Number& value)
{
    const auto* end = text.data() + text.size();
    const auto result = std::from_chars(text.data(), end, value);
    return result.ec == std::errc() && result.ptr == end;
}

// Entry names of a directory, without "." and ".."; std::nullopt if the directory does not exist.
std::optional<std::vector<std::string>> list_directory(const std::filesystem::path& path)
{
    UniqueDir dir(::opendir(path.c_str()));
    if (!dir) {
        if (errno == ENOENT || errno == ENOTDIR)
            return std::nullopt;
        throw Error::system(errno, "cannot read directory " + path.string());
    }
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = ::readdir(dir.get())) {
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..")
            names.emplace_back(name);
    }
    if (errno != 0 && errno != ENOENT)
        throw Error::system(errno, "cannot read directory " + path.string());
    std::sort(names.begin(), names.end());
    return names;
}

std::optional<ModuleState> parse_state(std::string_view text)
{
    if (text == "Live" || text == "live")
        return ModuleState::live;
    if (text == "Loading" || text == "coming")
        return ModuleState::loading;
    if (text == "Unloading" || text == "going")
        return ModuleState::unloading;
    return std::nullopt;
}

std::string_view trim_newline(std::string_view text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.remove_suffix(1);
    return text;
}

} // namespace

std::string_view to_string(ModuleState state)
{
    switch (state) {
    case ModuleState::live:
        return "live";
    case ModuleState::loading:
        return "loading";
    case ModuleState::unloading:
        return "unloading";
    }
    return "unknown";
}

std::vector<std::string> bound_devices(const Paths& paths, std::string_view name)
{
    std::vector<std::string> devices;
    const auto drivers_dir = paths.sys_module() / std::string(name) / "drivers";
    // drivers/ holds one link per driver the module registered, named BUS:DRIVER; the driver's
    // directory holds one link per bound device (plus attributes such as bind, uevent, module).
    const auto drivers = list_directory(drivers_dir);
    if (!drivers)
        return devices;
    for (const auto& driver : *drivers) {
        const auto entries = list_directory(drivers_dir / driver);
        if (!entries)
            continue;
        for (const auto& entry : *entries) {
            std::error_code error;
            if (entry != "module" && std::filesystem::is_symlink(drivers_dir / driver / entry, error))
                devices.push_back(entry);
        }
    }
    return devices;
}

std::string module_instance(const Paths& paths, std::string_view name)
{
    struct stat st {};
    if (::stat((paths.sys_module() / std::string(name)).c_str(), &st) < 0)
        return {};
    return "ino:" + std::to_string(st.st_ino);
}

bool is_module_name(std::string_view name)
{
    // MODULE_NAME_LEN is 64 bytes with the NUL; kmod and the kernel use 56 in practice.
    if (name.empty() || name.size() > 55)
        return false;
    for (unsigned char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    return true;
}

std::string normalize_module_name(std::string_view name)
{
    std::string normalized(name);
    std::replace(normalized.begin(), normalized.end(), '-', '_');
    return normalized;
}

std::vector<LoadedModule> parse_proc_modules(std::string_view text, std::string_view source)
{
    std::vector<LoadedModule> modules;
    std::size_t line_number = 0;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        ++line_number;
        if (line.find_first_not_of(" \t") == std::string_view::npos)
            continue;

        // NAME SIZE REFCOUNT USED-BY STATE ADDRESS [TAINTS] (kernel/module/procfs.c)
        const auto fields = split_whitespace(line);
        auto malformed = [&](const std::string& why) {
            return Error::failure(std::string(source) + ":" + std::to_string(line_number) + ": " + why);
        };
        if (fields.size() < 5)
            throw malformed("expected at least 5 fields, found " + std::to_string(fields.size()));

        LoadedModule module;
        module.name = std::string(fields[0]);
        if (!parse_number(fields[1], module.size))
            throw malformed("bad size '" + std::string(fields[1]) + "' of module " + module.name);
        // A kernel without CONFIG_MODULE_UNLOAD prints "-" for the refcount: nothing can be unloaded.
        if (fields[2] == "-") {
            module.refcount = 0;
            module.permanent = true;
        } else if (!parse_number(fields[2], module.refcount)) {
            throw malformed("bad reference count '" + std::string(fields[2]) + "' of module " + module.name);
        }
        std::string_view used_by = fields[3];
        while (!used_by.empty() && used_by != "-") {
            const auto comma = used_by.find(',');
            const std::string_view holder = used_by.substr(0, comma);
            if (holder == "[permanent]")
                module.permanent = true;
            else if (!holder.empty() && holder.front() != '[') // "[unsafe]" is a flag, not a holder
                module.holders.emplace_back(holder);
            used_by.remove_prefix(comma == std::string_view::npos ? used_by.size() : comma + 1);
        }
        const auto state = parse_state(fields[4]);
        if (!state)
            throw malformed("unknown state '" + std::string(fields[4]) + "' of module " + module.name);
        module.state = *state;
        if (fields.size() > 5)
            module.address = std::string(fields[5]);

        if (module.state == ModuleState::unloading || module.refcount < 0)
            continue;
        modules.push_back(std::move(module));
    }
    return modules;
}

std::vector<LoadedModule> read_loaded_modules(const Paths& paths)
{
    const auto path = paths.proc_modules();
    const auto text = read_text_file_if_exists(path);
    if (!text)
        throw Error::failure("the kernel has no module support (" + path.string() + " does not exist)");
    return parse_proc_modules(*text, path.string());
}

std::optional<ModuleSysfs> read_module_sysfs(const Paths& paths, std::string_view name)
{
    const auto dir = paths.sys_module() / std::string(name);
    // Built-in modules have a /sys/module entry too, but no initstate: they are not loaded modules.
    const auto initstate = read_text_file_if_exists(dir / "initstate");
    if (!initstate)
        return std::nullopt;
    ModuleSysfs sysfs;
    const auto state = parse_state(trim_newline(*initstate));
    if (!state)
        throw Error::failure("unknown state '" + std::string(trim_newline(*initstate)) + "' in " +
                             (dir / "initstate").string());
    sysfs.state = *state;

    const auto refcnt = read_text_file_if_exists(dir / "refcnt");
    if (!refcnt)
        return std::nullopt;
    if (!parse_number(trim_newline(*refcnt), sysfs.refcount))
        throw Error::failure("bad reference count '" + std::string(trim_newline(*refcnt)) + "' in " +
                             (dir / "refcnt").string());

    auto holders = list_directory(dir / "holders");
    if (!holders)
        return std::nullopt;
    sysfs.holders = std::move(*holders);

    sysfs.bound_devices = bound_devices(paths, name);
    if (sysfs.state == ModuleState::unloading || sysfs.refcount < 0)
        return std::nullopt;
    return sysfs;
}

} // namespace kmodtools
