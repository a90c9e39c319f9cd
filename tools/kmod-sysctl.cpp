// SPDX-License-Identifier: LGPL-2.1-or-later
// kmod-sysctl: gets and sets the kmod knobs (the kernel's modprobe helper, the unload delay), like sysctl(8).
#include "error.hpp"
#include "helper_guard.hpp"
#include "json_output.hpp"
#include "knobs.hpp"
#include "log.hpp"
#include "paths.hpp"
#include "tool_main.hpp"

#include <CLI/CLI.hpp>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace kmodtools {
namespace {

struct Options {
    std::vector<std::string> entries;
    bool all = false;
    bool values_only = false;
    bool json = false;
    bool persist = false;
    bool quiet = false;
};

// One command-line entry: NAME to read, NAME=VALUE to set.
struct Entry {
    const Knob* knob;
    std::optional<std::string> value;
};

constexpr std::string_view help = R"(Usage: kmod-sysctl [options] [NAME[=VALUE]...]
Print or set the kmod knobs: modprobe (the kernel's module helper, refused
unless only root can change it), unload_delay (kmod-reap's), and
modules_disabled (read-only). Without names, print them all.

  -a, --all        print every knob (the default without names)
  -n, --values     print values only, without names
      --json       print a JSON object
  -p, --persist    also keep what is set across reboots
  -q, --quiet      print nothing for what is set
  -h, --help       print this help and exit
  -V, --version    print the version and exit

See kmod-sysctl(8).
)";

Options parse_options(int argc, char** argv)
{
    Options options;
    CLI::App app{"", "kmod-sysctl"}; // -h prints `help` above
    app.add_option("entries", options.entries);
    app.add_flag("-a,--all", options.all);
    app.add_flag("-n,--values", options.values_only);
    app.add_flag("--json", options.json);
    app.add_flag("-p,--persist", options.persist);
    app.add_flag("-q,--quiet", options.quiet);
    parse_command_line(app, argc, argv, help);
    if (options.all && !options.entries.empty())
        throw Error::usage("option '--all' goes without names");
    if (options.values_only && options.json)
        throw Error::usage("options '--values' and '--json' exclude each other");
    return options;
}

std::vector<Entry> parse_entries(const Options& options)
{
    std::vector<Entry> entries;
    for (const std::string_view text : options.entries) {
        const auto equals = text.find('=');
        Entry& entry = entries.emplace_back(Entry{&knob_named(text.substr(0, equals)), std::nullopt});
        if (equals != std::string_view::npos) {
            if (entry.knob->set == nullptr)
                throw Error::usage(std::string(entry.knob->name) + " is read-only here (" +
                                   std::string(entry.knob->read_only_why) + ")");
            entry.value = std::string(text.substr(equals + 1));
        }
    }
    if (entries.empty())
        for (const auto& knob : knobs())
            entries.push_back({&knob, std::nullopt});
    const bool sets_any = std::any_of(entries.begin(), entries.end(), [](const Entry& e) { return e.value; });
    if (options.persist && !sets_any)
        throw Error::usage("option '--persist' goes with NAME=VALUE");
    return entries;
}

// Every value is checked, the helper's safety included, before anything is changed, so a mistake
// in the last entry leaves the first alone.
void check_values(const Paths& paths, const std::vector<Entry>& entries)
{
    for (const auto& entry : entries)
        if (entry.value)
            entry.knob->check(paths, *entry.value);
}

// All or nothing: a failure part way puts back what was already set.
void apply(const Paths& paths, const std::vector<Entry>& entries, const Options& options)
{
    std::vector<std::pair<const Knob*, std::string>> settings;
    for (const auto& entry : entries)
        if (entry.value)
            settings.emplace_back(entry.knob, *entry.value);
    set_knobs(paths, settings, options.persist);
}

void print(const Paths& paths, const std::vector<Entry>& entries, const Options& options)
{
    nlohmann::json object = nlohmann::json::object();
    for (const auto& entry : entries) {
        if (entry.value && options.quiet)
            continue;
        const auto value = entry.knob->read(paths);
        const std::string name(entry.knob->name);
        if (options.json)
            object[name] = value;
        else if (options.values_only)
            std::cout << format_knob_value(value) << "\n";
        else
            std::cout << name << " = " << format_knob_value(value) << "\n";
    }
    if (options.json)
        print_json(object);
}

// Every run looks at kernel.modprobe as each sweep does (helper_guard.hpp), after what it set: a
// change behind kmod-tools' back is a critical line. Only reported, never put back, here; a user who
// is not root gets the line too but cannot record that it was reported.
void guard_the_helper(const Paths& paths)
{
    try {
        guard_helper(paths, HelperGuardMode::report, ::geteuid() != 0);
    } catch (const Error& error) {
        log::warning(std::string("cannot check kernel.modprobe: ") + error.what());
    }
}

ExitStatus run(int argc, char** argv)
{
    const Options options = parse_options(argc, argv);
    const auto paths = Paths::from_environment();
    const auto entries = parse_entries(options);
    check_values(paths, entries);
    apply(paths, entries, options);
    guard_the_helper(paths);
    print(paths, entries, options);
    return ExitStatus::ok;
}

} // namespace
} // namespace kmodtools

int main(int argc, char** argv) { return kmodtools::tool_main("kmod-sysctl", argc, argv, kmodtools::run); }
