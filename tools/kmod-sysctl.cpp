// SPDX-License-Identifier: LGPL-2.1-or-later
// kmod-sysctl: gets and sets the kmod knobs (the kernel's modprobe helper, the unload delay), like sysctl(8).
#include "atomic_file.hpp"
#include "config.hpp"
#include "duration.hpp"
#include "error.hpp"
#include "helper_safety.hpp"
#include "kernel_knobs.hpp"
#include "log.hpp"
#include "paths.hpp"
#include "tool_main.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace kmodtools {
namespace {

enum class Knob { modprobe, unload_delay, modules_disabled };

struct KnobName {
    std::string_view name;
    Knob knob;
};
// First name of each knob is the one printed; the others are accepted synonyms (the kernel's
// sysctl names, and kmod_unload_delay from the 2.2 days of /proc/sys/kernel).
constexpr KnobName knob_names[] = {
    {"modprobe", Knob::modprobe},
    {"kernel.modprobe", Knob::modprobe},
    {"unload_delay", Knob::unload_delay},
    {"kmod_unload_delay", Knob::unload_delay},
    {"modules_disabled", Knob::modules_disabled},
    {"kernel.modules_disabled", Knob::modules_disabled},
};
constexpr Knob all_knobs[] = {Knob::modprobe, Knob::unload_delay, Knob::modules_disabled};

std::string_view name_of(Knob knob)
{
    for (const auto& entry : knob_names)
        if (entry.knob == knob)
            return entry.name;
    return "?";
}

std::optional<Knob> knob_named(std::string_view name)
{
    for (const auto& entry : knob_names)
        if (entry.name == name)
            return entry.knob;
    return std::nullopt;
}

// One command-line entry: NAME to read, NAME=VALUE to set.
struct Entry {
    Knob knob;
    std::optional<std::string> value;        // as given
    std::chrono::seconds unload_delay{};     // parsed value of unload_delay
};

Entry parse_entry(std::string_view text)
{
    const auto equals = text.find('=');
    const auto name = text.substr(0, equals);
    const auto knob = knob_named(name);
    if (!knob)
        throw Error::usage("unknown name '" + std::string(name) +
                           "' (known: modprobe, unload_delay, modules_disabled)");
    Entry entry{*knob, std::nullopt, {}};
    if (equals == std::string_view::npos)
        return entry;
    entry.value = std::string(text.substr(equals + 1));
    switch (*knob) {
    case Knob::modprobe:
        break; // judged by helper_path_problem() when it is set
    case Knob::unload_delay: {
        std::string why;
        const auto delay = parse_duration(*entry.value, &why);
        if (!delay)
            throw Error::usage("bad value '" + *entry.value + "' for unload_delay: " + why);
        entry.unload_delay = *delay;
        break;
    }
    case Knob::modules_disabled:
        throw Error::usage("modules_disabled is read-only here (setting it is a one-way switch; use sysctl "
                           "kernel.modules_disabled=1 if you mean it)");
    }
    return entry;
}

nlohmann::json read_knob(const Paths& paths, Knob knob)
{
    switch (knob) {
    case Knob::modprobe:
        return read_modprobe_helper(paths);
    case Knob::unload_delay:
        return load_config(paths).unload_delay.count();
    case Knob::modules_disabled:
        return read_modules_disabled(paths);
    }
    return nullptr;
}

std::string format_value(const nlohmann::json& value)
{
    if (value.is_string())
        return value.get<std::string>();
    if (value.is_boolean())
        return value.get<bool>() ? "1" : "0";
    return value.dump();
}

void check_modprobe(const Paths& paths, const std::string& helper)
{
    if (helper.empty())
        return;
    if (auto problem = helper_path_problem(paths, helper); !problem.empty())
        throw Error::failure("refusing modprobe helper '" + helper + "': " + problem);
}

void set_modprobe(const Paths& paths, const std::string& helper, bool persist)
{
    if (helper.empty())
        log::warning("an empty modprobe disables module autoloading: the kernel will request no module");
    write_modprobe_helper(paths, helper);
    if (persist)
        replace_file_atomically(paths.sysctl_dropin(),
                                "# Written by kmod-sysctl --persist: the kernel's module helper.\n"
                                "kernel.modprobe = " + helper + "\n",
                                0644);
}

void set_unload_delay(const Paths& paths, std::chrono::seconds delay, bool persist)
{
    const std::string line = "unload_delay = " + std::to_string(delay.count()) + "\n";
    if (persist) {
        replace_file_atomically(paths.persisted_config_file(),
                                "# Written by kmod-sysctl --persist; a later drop-in overrides it.\n" + line, 0644);
        const auto at_boot = load_config(paths, ConfigLayers::persistent_only);
        if (at_boot.unload_delay != delay)
            log::warning("unload_delay " + std::to_string(at_boot.unload_delay.count()) + " set in " +
                         at_boot.unload_delay_origin.describe() + " will override it at boot");
    }
    // The runtime layer makes the value effective now, whatever the drop-ins say, until reboot.
    replace_file_atomically(paths.runtime_config_file(),
                            "# Written by kmod-sysctl; lost at reboot (use --persist to keep it).\n" + line, 0644);
}

int run(int argc, char** argv)
{
    CLI::App app{"Get and set the kmod knobs: the kernel's module helper and the unload delay.", "kmod-sysctl"};
    std::vector<std::string> entries;
    bool values_only = false;
    bool json = false;
    bool persist = false;
    bool quiet = false;
    app.add_option("entries", entries, "NAME to print, NAME=VALUE to set (all knobs if none)");
    bool all = false;
    app.add_flag("-a,--all", all, "Print all knobs (the default without names)");
    auto* values_option = app.add_flag("-n,--values", values_only, "Print values only, without names");
    app.add_flag("--json", json, "Print a JSON object")->excludes(values_option);
    app.add_flag("-p,--persist", persist, "Also make what is set survive reboot");
    app.add_flag("-q,--quiet", quiet, "Print nothing for what is set");
    app.set_version_flag("--version", std::string(KMOD_TOOLS_VERSION));
    parse_command_line(app, argc, argv);

    const auto paths = Paths::from_environment();

    // Every entry is checked, the helper's safety included, before anything is changed, so a mistake
    // in the last entry leaves the first alone.
    std::vector<Entry> parsed;
    for (const auto& text : entries)
        parsed.push_back(parse_entry(text));
    if (all && !entries.empty())
        throw Error::usage("--all goes without names");
    if (entries.empty())
        for (const auto knob : all_knobs)
            parsed.push_back(Entry{knob, std::nullopt, {}});
    for (const auto& entry : parsed)
        if (entry.knob == Knob::modprobe && entry.value)
            check_modprobe(paths, *entry.value);
    if (persist && std::none_of(parsed.begin(), parsed.end(), [](const Entry& e) { return e.value.has_value(); }))
        throw Error::usage("--persist goes with NAME=VALUE");

    nlohmann::json object = nlohmann::json::object();
    for (const auto& entry : parsed) {
        if (entry.value) {
            if (entry.knob == Knob::modprobe)
                set_modprobe(paths, *entry.value, persist);
            else
                set_unload_delay(paths, entry.unload_delay, persist);
            if (quiet)
                continue;
        }
        const auto value = read_knob(paths, entry.knob);
        const auto name = std::string(name_of(entry.knob));
        if (json)
            object[name] = value;
        else if (values_only)
            std::cout << format_value(value) << "\n";
        else
            std::cout << name << " = " << format_value(value) << "\n";
    }
    if (json)
        std::cout << object.dump(2) << "\n";
    std::cout.flush();
    if (!std::cout)
        throw Error::failure("cannot write to standard output");
    return 0;
}

} // namespace
} // namespace kmodtools

int main(int argc, char** argv) { return kmodtools::tool_main("kmod-sysctl", argc, argv, kmodtools::run); }
