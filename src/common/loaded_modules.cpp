// SPDX-License-Identifier: LGPL-2.1-or-later
// The loaded-module view over /proc/modules and /sys/module.
#include "loaded_modules.hpp"

#include "directory.hpp"
#include "error.hpp"
#include "text.hpp"
#include "text_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdint>

namespace kmodtools {
namespace {

template <typename Number>
bool parse_number(std::string_view text, Number& value)
{
    const auto* end = text.data() + text.size();
    const auto result = std::from_chars(text.data(), end, value);
    return result.ec == std::errc() && result.ptr == end;
}

std::optional<ModuleState> parse_state(std::string_view text)
{
    if (text == "Live")
        return ModuleState::live;
    if (text == "Loading")
        return ModuleState::loading;
    if (text == "Unloading")
        return ModuleState::unloading;
    return std::nullopt;
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
    const auto drivers = list_directory_if_exists(drivers_dir);
    if (!drivers)
        return devices;
    for (const auto& driver : *drivers) {
        const auto entries = list_directory_if_exists(drivers_dir / driver);
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

std::vector<LoadedModule> parse_proc_modules(std::string_view text, std::string_view source)
{
    std::vector<LoadedModule> modules;
    for_each_line(text, [&](std::string_view line, std::size_t line_number) {
        // NAME SIZE REFCOUNT USED-BY STATE ADDRESS [TAINTS] (kernel/module/procfs.c)
        const auto fields = split_words(line);
        if (fields.empty())
            return;
        auto malformed = [&](const std::string& why) {
            return Error::failure(std::string(source) + ":" + std::to_string(line_number) + ": " + why);
        };
        if (fields.size() < 5)
            throw malformed("expected at least 5 fields, found " + std::to_string(fields.size()));

        LoadedModule module;
        module.name = std::string(fields[0]);
        std::uint64_t size = 0;
        if (!parse_number(fields[1], size))
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

        if (module.state == ModuleState::unloading || module.refcount < 0)
            return;
        modules.push_back(std::move(module));
    });
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

} // namespace kmodtools
