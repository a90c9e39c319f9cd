// SPDX-License-Identifier: LGPL-2.1-or-later
// kmod-sysctl: gets and sets the kmod knobs (the kernel's modprobe helper, the unload delay), like sysctl(8),
// and manages kmod-tools' trace instance, which requester attribution needs.
#include "command_line.hpp"
#include "error.hpp"
#include "helper_guard.hpp"
#include "helper_trace.hpp"
#include "json_output.hpp"
#include "kernel_knobs.hpp"
#include "knobs.hpp"
#include "log.hpp"
#include "paths.hpp"
#include "request_name.hpp"
#include "request_trace.hpp"
#include "standard_streams.hpp"
#include "tool_main.hpp"

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kmodtools {
namespace {

// What --trace does with kmod-tools' trace instance; each prints its state afterwards.
enum class TraceAction {
    status,
    setup,
    remove,
    automatic, // set up if kernel.modprobe names kmod-request, as modprobe= would (the boot unit)
};

constexpr std::array<std::pair<std::string_view, TraceAction>, 4> trace_actions{{
    {"setup", TraceAction::setup},
    {"remove", TraceAction::remove},
    {"status", TraceAction::status},
    {"auto", TraceAction::automatic},
}};

struct Options {
    std::vector<std::string> entries;
    std::optional<TraceAction> trace;
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
       kmod-sysctl [-q] [-n | --json] --trace ACTION
Print or set the kmod knobs: modprobe (the kernel's module helper, refused
unless only root can change it), unload_delay (kmod-reap's), and
modules_disabled (read-only). Without names, print them all.

  -a, --all            print every knob (the default without names)
  -n, --values         print values only, without names
      --json           print a JSON object
  -p, --persist        also keep what is set across reboots
  -q, --quiet          print nothing for what is set
      --trace ACTION   kmod-tools' trace instance, for requester attribution:
                       setup, remove, status, or auto (set it up if
                       kernel.modprobe names kmod-request, as modprobe= does)
  -h, --help           print this help and exit
  -V, --version        print the version and exit

See kmod-sysctl(8).
)";

TraceAction parse_trace_action(std::string_view word)
{
    std::string known;
    for (const auto& [name, action] : trace_actions) {
        if (name == word)
            return action;
        known += (known.empty() ? "" : ", ") + std::string(name);
    }
    throw Error::usage("bad --trace " + quote_name(word) + " (known: " + known + ")");
}

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
    std::optional<std::string> trace_action;
    app.add_option("--trace", trace_action);
    parse_command_line(app, argc, argv, help);
    if (trace_action)
        options.trace = parse_trace_action(*trace_action);
    if (options.trace && !options.entries.empty())
        throw Error::usage("option '--trace' goes without names");
    if (options.trace && options.all)
        throw Error::usage("options '--trace' and '--all' exclude each other");
    if (options.trace && options.persist)
        throw Error::usage("options '--trace' and '--persist' exclude each other");
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

void print_knobs(const Paths& paths, const std::vector<Entry>& entries, const Options& options)
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
            print(format_knob_value(value) + "\n");
        else
            print(name + " = " + format_knob_value(value) + "\n");
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

// Does what --trace asks and returns the instance's state afterwards. Only `setup` fails when the
// instance cannot be made ready: `auto`, like modprobe=, warns and goes on (requests are served
// without it), and `status` and `remove` report what they found.
TraceStatus act_on_trace(const Paths& paths, TraceAction action)
{
    switch (action) {
    case TraceAction::setup:
        return set_up_request_trace(paths);
    case TraceAction::remove:
        remove_request_trace(paths);
        break;
    case TraceAction::automatic:
        prepare_request_trace_for(paths, read_modprobe_helper(paths));
        break;
    case TraceAction::status:
        break;
    }
    return check_request_trace(paths);
}

void print_trace(const TraceStatus& status, const Options& options)
{
    const std::string_view state = to_string(status.state);
    if (options.json) {
        nlohmann::json trace{{"state", state}};
        if (!status.instance_dir.empty())
            trace["instance"] = status.instance_dir.string();
        if (!status.problem.empty())
            trace["problem"] = status.problem;
        print_json(nlohmann::json{{"trace", trace}});
    } else if (options.values_only) {
        print(std::string(state) + "\n");
    } else {
        print("trace = " + std::string(state) + (status.problem.empty() ? "" : " (" + status.problem + ")") + "\n");
    }
}

ExitStatus run(int argc, char** argv)
{
    const Options options = parse_options(argc, argv);
    const auto paths = Paths::from_environment();
    if (options.trace) {
        const auto status = act_on_trace(paths, *options.trace);
        guard_the_helper(paths);
        if (!options.quiet || *options.trace == TraceAction::status)
            print_trace(status, options);
        return ExitStatus::ok;
    }
    const auto entries = parse_entries(options);
    check_values(paths, entries);
    apply(paths, entries, options);
    guard_the_helper(paths);
    print_knobs(paths, entries, options);
    return ExitStatus::ok;
}

} // namespace
} // namespace kmodtools

int main(int argc, char** argv) { return kmodtools::tool_main("kmod-sysctl", kmodtools::help, argc, argv, kmodtools::run); }
