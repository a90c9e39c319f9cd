// SPDX-License-Identifier: LGPL-2.1-or-later
// Driver settings kept across unload and reload.
#include "settings.hpp"

#include "atomic_file.hpp"
#include "directory.hpp"
#include "error.hpp"
#include "log.hpp"
#include "owned_file.hpp"
#include "request_name.hpp"
#include "text.hpp"
#include "text_file.hpp"

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

// The one place where values the kernel's parser cannot take are kept out: of what is saved, and
// of what is restored (a settings file may have been edited by hand).
void drop_unpassable(std::string_view module, Parameters& parameters, std::string_view what)
{
    for (auto it = parameters.begin(); it != parameters.end();) {
        if (auto problem = unpassable_value_problem(it->second); !problem.empty()) {
            log::warning(std::string(what) + " " + it->first + " of " + std::string(module) +
                         ": the value " + problem);
            it = parameters.erase(it);
        } else {
            ++it;
        }
    }
}

} // namespace

std::filesystem::path settings_file(const Paths& paths, std::string_view module)
{
    return settings_dir(paths) / (std::string(module) + ".conf");
}

Parameters read_writable_parameters(const Paths& paths, std::string_view module)
{
    Parameters parameters;
    const auto dir = paths.sys_module() / std::string(module) / "parameters";
    std::optional<std::vector<std::string>> names;
    try {
        names = list_directory_if_exists(dir);
    } catch (const Error& error) {
        throw Error::failure("cannot list the parameters of " + std::string(module) + ": " + error.what());
    }
    if (!names)
        return parameters; // no parameters at all
    for (const auto& name : *names) {
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

Parameters parse_options(std::string_view options)
{
    Parameters parameters;
    std::size_t i = 0;
    while (i < options.size()) {
        while (i < options.size() && (options[i] == ' ' || options[i] == '\t'))
            ++i;
        if (i == options.size())
            break;
        std::string word;
        bool in_quotes = false;
        for (; i < options.size() && (in_quotes || (options[i] != ' ' && options[i] != '\t')); ++i) {
            if (options[i] == '"')
                in_quotes = !in_quotes;
            else
                word += options[i];
        }
        const auto equals = word.find('=');
        parameters[word.substr(0, equals)] = equals == std::string::npos ? std::string() : word.substr(equals + 1);
    }
    return parameters;
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
    for_each_line(text, [&](std::string_view line, std::size_t line_number) {
        if (line.empty() || line.front() == '#')
            return;
        const auto equals = line.find('=');
        const auto name = line.substr(0, equals);
        if (equals == std::string_view::npos || !is_parameter_name(name))
            throw corrupt("line " + std::to_string(line_number) + " is not NAME=VALUE");
        parameters[std::string(name)] = std::string(line.substr(equals + 1));
    });
    return parameters;
}

void save_settings(const Paths& paths, std::string_view module, const Parameters& parameters)
{
    if (!is_module_name(module))
        throw Error::failure("cannot save settings of '" + std::string(module) + "': not a module name");
    for (const auto& [name, value] : parameters)
        if (!is_parameter_name(name))
            throw Error::failure("cannot save parameter '" + name + "' of " + std::string(module) + ": bad name");
    Parameters passable = parameters;
    drop_unpassable(module, passable, "not saving parameter");
    const auto file = settings_file(paths, module);
    if (passable.empty()) {
        forget_settings(paths, module);
        return;
    }
    // Root-only: parameters may hold credentials or addresses (cifs, nfs).
    open_owned_directory(paths.state_dir(), 0755);
    const auto dir = open_owned_directory(settings_dir(paths), 0700);
    replace_file_atomically(dir.get(), file.filename().string(), serialize_settings(module, passable), 0600, file,
                            InTheWay::set_aside);
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
    auto parameters = parse_settings(read_all(fd->get(), file, max_state_file_size), file.string());
    drop_unpassable(module, parameters, "dropping saved setting");
    return parameters;
}

std::vector<std::string> modules_with_settings(const Paths& paths)
{
    std::vector<std::string> modules;
    auto dir = open_owned_directory_if_exists(settings_dir(paths));
    if (!dir)
        return modules;
    constexpr std::string_view suffix = ".conf";
    for (const auto& name : list_directory(dir->get(), settings_dir(paths))) {
        if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        const auto module = name.substr(0, name.size() - suffix.size());
        if (is_module_name(module))
            modules.push_back(module);
    }
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

std::string save_before_unload(const Paths& paths, const std::string& module, const std::optional<Parameters>& at_load)
{
    try {
        const auto current = read_writable_parameters(paths, module);
        std::optional<Parameters> previous;
        try {
            previous = load_settings(paths, module);
        } catch (const Error& error) {
            log::warning(std::string(error.what()) + "; replacing it");
        }
        const auto to_save = settings_to_save(current, at_load, previous);
        if (!to_save.empty())
            save_settings(paths, module, to_save);
    } catch (const Error& error) {
        return std::string("cannot save its settings: ") + error.what();
    }
    return {};
}

std::string saved_options(const Paths& paths, const std::string& module,
                          const std::function<bool(const std::string& parameter)>& declares)
{
    std::optional<Parameters> saved;
    try {
        saved = load_settings(paths, module);
    } catch (const Error& error) {
        log::warning(std::string(error.what()) + "; loading " + module + " without saved settings");
        return {};
    }
    if (!saved)
        return {};
    std::vector<std::string> options;
    for (const auto& [parameter, value] : *saved) {
        if (!declares(parameter)) {
            log::warning("dropping saved setting " + parameter + " of " + module + ": the module has no such parameter");
            continue;
        }
        options.push_back(format_option(parameter, value));
    }
    if (!options.empty())
        log::info(module + ": restoring " + join(options));
    return join(options);
}

} // namespace kmodtools
