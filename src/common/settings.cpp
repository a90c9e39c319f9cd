// SPDX-License-Identifier: LGPL-2.1-or-later
// Driver settings kept across unload and reload.
#include "settings.hpp"

#include "atomic_file.hpp"
#include "error.hpp"
#include "loaded_modules.hpp"
#include "owned_file.hpp"
#include "text_file.hpp"
#include "unique_fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace kmodtools {
namespace {

constexpr std::string_view header = "# kmod-tools saved settings 1";
constexpr std::string_view footer = "# end";

bool is_parameter_name(std::string_view name)
{
    return !name.empty() && name.size() <= 64 &&
           name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
               std::string_view::npos;
}

std::filesystem::path settings_dir(const Paths& paths) { return paths.state_dir() / "settings"; }

} // namespace

std::filesystem::path settings_file(const Paths& paths, std::string_view module)
{
    return settings_dir(paths) / (std::string(module) + ".conf");
}

Parameters read_writable_parameters(const Paths& paths, std::string_view module)
{
    Parameters parameters;
    const auto dir = paths.sys_module() / std::string(module) / "parameters";
    UniqueDir listing(::opendir(dir.c_str()));
    if (!listing) {
        if (errno == ENOENT)
            return parameters; // no parameters at all
        throw Error::system(errno, "cannot list the parameters of " + std::string(module));
    }
    while (const dirent* entry = ::readdir(listing.get())) {
        const std::string name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        const auto path = dir / name;
        struct stat st {};
        if (::stat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & S_IWUSR) == 0)
            continue; // read-only parameters cannot have been changed at run time
        auto value = read_text_file_if_exists(path);
        if (!value)
            throw Error::failure("cannot read parameter " + name + " of " + std::string(module) + ": it vanished");
        if (!value->empty() && value->back() == '\n')
            value->pop_back();
        // An unset charp parameter reads "(null)"; passing that would set the string "(null)".
        if (*value == "(null)")
            continue;
        parameters[name] = *value;
    }
    return parameters;
}

std::string unpassable_value_problem(std::string_view value)
{
    for (unsigned char c : value) {
        if (c == '"')
            return "contains a double quote, which the kernel's option parser cannot take";
        if (c < 0x20 || c == 0x7f)
            return "contains a control character";
    }
    return {};
}

std::string format_option(const std::string& name, const std::string& value)
{
    const bool needs_quotes = value.empty() || value.find_first_of(" \t") != std::string::npos;
    return needs_quotes ? name + "=\"" + value + "\"" : name + "=" + value;
}

std::string serialize_settings(std::string_view module, const Parameters& parameters)
{
    std::string text(header);
    text += "\n# Settings of module " + std::string(module) +
            ", saved by kmod-reap before unloading it and restored by kmod-request.\n"
            "# One parameter per line: NAME=VALUE, the value exactly as /sys/module shows it.\n";
    for (const auto& [name, value] : parameters)
        text += name + "=" + value + "\n";
    return text + std::string(footer) + "\n";
}

Parameters parse_settings(std::string_view text, const std::string& source)
{
    auto corrupt = [&](const std::string& why) { return Error::failure("corrupt settings " + source + ": " + why); };
    if (text.substr(0, header.size()) != header)
        throw corrupt("missing header");
    if (text.size() < footer.size() + 1 || text.substr(text.size() - footer.size() - 1) != std::string(footer) + "\n")
        throw corrupt("truncated (no end line)");
    Parameters parameters;
    std::size_t line_number = 0;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const auto line = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        ++line_number;
        if (line.empty() || line.front() == '#')
            continue;
        const auto equals = line.find('=');
        const auto name = line.substr(0, equals);
        if (equals == std::string_view::npos || !is_parameter_name(name))
            throw corrupt("line " + std::to_string(line_number) + " is not NAME=VALUE");
        parameters[std::string(name)] = std::string(line.substr(equals + 1));
    }
    return parameters;
}

void save_settings(const Paths& paths, std::string_view module, const Parameters& parameters)
{
    if (!is_module_name(module))
        throw Error::failure("cannot save settings of '" + std::string(module) + "': not a module name");
    const auto file = settings_file(paths, module);
    if (parameters.empty()) {
        forget_settings(paths, module);
        return;
    }
    for (const auto& [name, value] : parameters)
        if (!is_parameter_name(name) || !unpassable_value_problem(value).empty())
            throw Error::failure("cannot save parameter " + name + " of " + std::string(module) + ": " +
                                 (is_parameter_name(name) ? unpassable_value_problem(value) : "bad name"));
    // Root-only: parameters may hold credentials or addresses (cifs, nfs).
    open_owned_directory(paths.state_dir(), 0755);
    const auto dir = open_owned_directory(settings_dir(paths), 0700);
    replace_file_atomically(dir.get(), file.filename().string(), serialize_settings(module, parameters), 0600, file);
}

std::optional<Parameters> load_settings(const Paths& paths, std::string_view module)
{
    if (!is_module_name(module))
        return std::nullopt;
    auto dir = open_owned_directory_if_exists(settings_dir(paths));
    if (!dir)
        return std::nullopt;
    const auto file = settings_file(paths, module);
    auto fd = open_owned_file(dir->get(), file.filename().string(), file);
    if (!fd)
        return std::nullopt;
    return parse_settings(read_all(fd->get(), file, max_state_file_size), file.string());
}

std::vector<std::string> modules_with_settings(const Paths& paths)
{
    std::vector<std::string> modules;
    auto dir = open_owned_directory_if_exists(settings_dir(paths));
    if (!dir)
        return modules;
    UniqueDir listing(::fdopendir(::dup(dir->get())));
    if (!listing)
        throw Error::system(errno, "cannot read directory " + settings_dir(paths).string());
    while (const dirent* entry = ::readdir(listing.get())) {
        const std::string name = entry->d_name;
        if (name.size() > 5 && name.compare(name.size() - 5, 5, ".conf") == 0 && name.front() != '.' &&
            is_module_name(name.substr(0, name.size() - 5)))
            modules.push_back(name.substr(0, name.size() - 5));
    }
    std::sort(modules.begin(), modules.end());
    return modules;
}

bool forget_settings(const Paths& paths, std::string_view module)
{
    auto dir = open_owned_directory_if_exists(settings_dir(paths));
    if (!dir || !is_module_name(module))
        return false;
    const auto file = settings_file(paths, module);
    if (::unlinkat(dir->get(), file.filename().c_str(), 0) < 0) {
        if (errno == ENOENT)
            return false;
        throw Error::system(errno, "cannot remove " + file.string());
    }
    return true;
}

Parameters settings_to_save(const Parameters& current, const std::optional<Parameters>& at_load,
                            const std::optional<Parameters>& previously_saved)
{
    if (!at_load)
        return current;
    Parameters result;
    if (previously_saved)
        for (const auto& [name, value] : *previously_saved)
            if (current.count(name) != 0) // still a parameter of the module
                result[name] = value;
    for (const auto& [name, value] : current) {
        const auto loaded = at_load->find(name);
        if (loaded == at_load->end() || loaded->second != value)
            result[name] = value;
    }
    return result;
}

} // namespace kmodtools
