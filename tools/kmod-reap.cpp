// SPDX-License-Identifier: LGPL-2.1-or-later
// kmod-reap: one sweep that unloads modules loaded on demand and left unused longer than the unload
// delay (what "rmmod -a" from cron did with the kernel's autoclean flag), or the named modules now.
#include "config.hpp"
#include "duration.hpp"
#include "error.hpp"
#include "file_lock.hpp"
#include "idle_state.hpp"
#include "kernel_knobs.hpp"
#include "kmod_handles.hpp"
#include "loaded_modules.hpp"
#include "module_remover.hpp"
#include "log.hpp"
#include "module_pattern.hpp"
#include "net_devices.hpp"
#include "on_demand.hpp"
#include "owned_file.hpp"
#include "paths.hpp"
#include "reaper.hpp"
#include "request_name.hpp"
#include "settings.hpp"
#include "tool_main.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kmodtools {
namespace {

struct Options {
    std::vector<std::string> names;
    bool all = false;
    std::vector<std::string> keep;
    std::string delay;
    bool dry_run = false;
    int verbose = 0;
    bool quiet = false;
    bool json = false;
    bool wait = false;
    bool syslog = false;
    bool list_settings = false;
    bool forget_settings = false;
};

// Saves what a module's writable parameters hold now that differs from their load-time values,
// before it goes. Returns why it could not: then the module stays.
std::string save_before_unload(const Paths& paths, const std::string& module,
                               const std::map<std::string, OnDemandRecord>& records)
{
    try {
        const auto current = read_writable_parameters(paths, module);
        std::optional<Parameters> at_load;
        if (const auto record = records.find(module); record != records.end())
            at_load = record->second.parameters_at_load;
        std::optional<Parameters> previous;
        try {
            previous = load_settings(paths, module);
        } catch (const Error& error) {
            log::warning(std::string(error.what()) + "; replacing it");
        }
        auto to_save = settings_to_save(current, at_load, previous);
        for (auto it = to_save.begin(); it != to_save.end();) {
            if (auto problem = unpassable_value_problem(it->second); !problem.empty()) {
                log::warning("not saving parameter " + it->first + " of " + module + ": the value " + problem);
                it = to_save.erase(it);
            } else {
                ++it;
            }
        }
        if (!to_save.empty())
            save_settings(paths, module, to_save);
    } catch (const Error& error) {
        return std::string("cannot save its settings: ") + error.what();
    }
    return {};
}

bool same_state(const IdleState& a, const IdleState& b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
               return x.first == y.first && x.second.idle_since == y.second.idle_since &&
                      x.second.instance == y.second.instance;
           });
}

int manage_settings(const Paths& paths, const Options& options)
{
    if (options.forget_settings) {
        if (options.names.empty())
            throw Error::usage("--forget-settings needs module names");
        bool all_found = true;
        for (const auto& name : options.names) {
            if (forget_settings(paths, normalize_module_name(name))) {
                log::notice("forgot the saved settings of " + normalize_module_name(name));
            } else {
                log::error("no saved settings for " + quote_name(name));
                all_found = false;
            }
        }
        return all_found ? 0 : 1;
    }
    nlohmann::json json = nlohmann::json::object();
    int status = 0;
    auto modules = options.names.empty() ? modules_with_settings(paths) : options.names;
    for (auto& module : modules) {
        module = normalize_module_name(module);
        std::optional<Parameters> saved;
        try {
            saved = load_settings(paths, module);
        } catch (const Error& error) {
            log::error(error.what());
            status = 1;
            continue;
        }
        if (!saved) {
            if (!options.names.empty()) {
                log::error("no saved settings for " + quote_name(module));
                status = 1;
            }
            continue;
        }
        if (options.json) {
            json[module] = *saved;
            continue;
        }
        std::cout << module << ":";
        for (const auto& [name, value] : *saved)
            std::cout << " " << format_option(name, value);
        std::cout << "\n";
    }
    if (options.json)
        std::cout << json.dump(2) << "\n";
    return status;
}

// Records of modules no longer loaded, or of an earlier load of a module loaded again since by
// other means, describe nothing: drop them so they cannot make a later load look on demand.
// Records are read before the modules: a record read describes a load that happened before, which
// the module list read after will show, so a fresh record is never mistaken for a stale one.
void drop_stale_records(const Paths& paths)
{
    const auto records = read_on_demand_records(paths);
    const auto loaded = read_loaded_modules(paths);
    std::map<std::string, const LoadedModule*> by_name;
    for (const auto& module : loaded)
        by_name[module.name] = &module;
    for (const auto& [name, record] : records) {
        const auto it = by_name.find(name);
        if (it == by_name.end() || !record_matches(paths, record, *it->second))
            remove_on_demand_record(paths, name);
    }
}

// The timer and cron run a plain sweep ("kmod-reap", "kmod-reap --syslog -q"): recognised without
// building the CLI11 parser, whose set-up is a good part of a sweep that finds nothing to do.
std::optional<Options> parse_plain_sweep(int argc, char** argv)
{
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view word = argv[i];
        if (word == "-q" || word == "--quiet")
            options.quiet = true;
        else if (word == "-s" || word == "--syslog")
            options.syslog = true;
        else
            return std::nullopt;
    }
    return options;
}

Options parse_options(int argc, char** argv)
{
    if (auto plain = parse_plain_sweep(argc, argv))
        return *plain;
    Options options;
    CLI::App app{"Unload modules loaded on demand that stayed unused longer than the unload delay.", "kmod-reap"};
    app.add_option("names", options.names, "Unload these modules now if they are idle, whatever their record or delay");
    app.add_flag("--all", options.all, "Consider every loaded module, not only those loaded on demand");
    app.add_option("--keep", options.keep, "Never unload modules matching PATTERN (repeatable)")
        ->type_name("PATTERN")
        ->allow_extra_args(false);
    app.add_option("--delay", options.delay, "Unload delay for this sweep (seconds, or with s/m/h); 0: every idle one")
        ->type_name("DURATION");
    app.add_flag("-n,--dry-run", options.dry_run, "Show what would be unloaded; change nothing");
    app.add_flag("-v,--verbose", options.verbose, "Also say why each other module stays");
    app.add_flag("-q,--quiet", options.quiet, "Print errors only");
    app.add_flag("--json", options.json, "Print the outcome for every module as JSON");
    app.add_flag("--wait", options.wait, "Wait for a running sweep to finish instead of leaving at once");
    app.add_flag("-s,--syslog", options.syslog, "Log to syslog instead of standard error");
    auto* list_option = app.add_flag("--list-settings", options.list_settings,
                                     "Print the saved settings (of the named modules, or all); unload nothing");
    app.add_flag("--forget-settings", options.forget_settings,
                 "Forget the saved settings of the named modules; unload nothing")
        ->excludes(list_option);
    app.set_version_flag("--version", std::string(KMOD_TOOLS_VERSION));
    parse_command_line(app, argc, argv);
    return options;
}

int run(int argc, char** argv)
{
    const Options options = parse_options(argc, argv);

    log::setup("kmod-reap", options.syslog ? log::Target::syslog : log::Target::stderr_stream,
               options.quiet ? log::Level::error : log::Level::notice);

    for (const auto& name : options.names)
        if (auto problem = request_name_problem(name); !problem.empty() || name.find(':') != std::string::npos)
            throw Error::usage("bad module name " + quote_name(name) + ": " +
                               (problem.empty() ? "a module name, not an alias" : problem));
    for (const auto& pattern : options.keep)
        if (auto problem = pattern_problem(pattern); !problem.empty())
            throw Error::usage("bad --keep pattern " + quote_name(pattern) + ": " + problem);
    if (!options.names.empty() && options.all)
        throw Error::usage("--all goes without module names");

    const auto paths = Paths::from_environment();
    if (options.list_settings || options.forget_settings)
        return manage_settings(paths, options);
    const auto config = load_config(paths);
    SweepOptions sweep;
    sweep.all = options.all;
    sweep.named = options.names;
    sweep.keep = config.keep;
    sweep.keep.insert(sweep.keep.end(), options.keep.begin(), options.keep.end());
    sweep.unload_delay = config.unload_delay;
    if (!options.delay.empty()) {
        std::string why;
        const auto delay = parse_duration(options.delay, &why);
        if (!delay)
            throw Error::usage("bad --delay " + quote_name(options.delay) + ": " + why);
        sweep.unload_delay = *delay;
    }

    // One sweep at a time: two would race on the idle clocks and on the same modules.
    const auto runtime_dir = open_owned_directory(paths.runtime_dir(), 0755);
    const auto lock = FileLock::acquire(runtime_dir.get(), "reap.lock", FileLock::Kind::exclusive,
                                        options.wait ? FileLock::Wait::yes : FileLock::Wait::no,
                                        paths.runtime_dir() / "reap.lock");
    if (!lock) {
        log::notice("a sweep is already running; leaving it to finish (--wait waits for it)");
        if (options.json) // still valid JSON for scripts: this run did nothing
            std::cout << "[]\n";
        return 0;
    }

    // With modules_disabled nothing can be unloaded until reboot: say so once, and do not fail.
    try {
        if (read_modules_disabled(paths)) {
            log::notice("module unloading is disabled (kernel.modules_disabled=1); nothing to do");
            return 0;
        }
    } catch (const Error& error) {
        log::debug(error.what());
    }
    const auto loaded = read_loaded_modules(paths);
    // Never act on state that cannot be trusted: rebuild it, and unload nothing this time.
    bool trusted = true;
    UntrustedRecords untrusted;
    const auto all_records = read_on_demand_records(paths, &untrusted);
    // A record of an earlier load of a module now loaded again by other means says nothing about it.
    std::map<std::string, OnDemandRecord> records;
    for (const auto& module : loaded)
        if (const auto it = all_records.find(module.name);
            it != all_records.end() && record_matches(paths, it->second, module))
            records.emplace(*it);
    for (const auto& [file, why] : untrusted) {
        log::warning(why + (options.dry_run ? "; a sweep would remove it and unload nothing"
                                            : "; removing it, nothing is unloaded this sweep"));
        trusted = false;
        if (!options.dry_run)
            remove_record_file(paths, file);
    }
    IdleState previous;
    try {
        previous = read_idle_state(paths);
    } catch (const Error& error) {
        log::warning(std::string(error.what()) + "; rebuilding it, nothing is unloaded this sweep");
        trusted = false;
    }

    sweep.now = boottime_seconds();
    sweep.read_network_interfaces = [&paths] { return network_interfaces_by_driver(paths); };
    auto plan = plan_sweep(paths, loaded, records, previous, sweep);
    if (!trusted)
        for (auto& verdict : plan.verdicts)
            if (verdict.action == Action::unload) {
                verdict.action = Action::keep;
                verdict.reason = "state rebuilt this sweep";
            }

    ModuleRemover remover(paths);
    SweepHooks hooks;
    // A dry run saves nothing: it would leave settings behind for modules that stay loaded.
    hooks.save_settings = [&](const std::string& module) {
        return options.dry_run ? std::string() : save_before_unload(paths, module, records);
    };
    hooks.remove = [&remover](const std::string& module) { return remover.remove(module); };
    hooks.read_loaded = [&paths] { return read_loaded_modules(paths); };
    hooks.dependencies_of = [&remover](const std::string& module) { return remover.dependencies(module); };
    hooks.dry_run = options.dry_run;
    const auto report = execute_sweep(paths, plan, records, sweep, hooks);

    bool named_failed = false;
    if (!options.dry_run) {
        // Most sweeps change no clock: then the file stays as it is.
        if (!trusted || !same_state(report.next_state, previous))
            write_idle_state(paths, report.next_state);
        drop_stale_records(paths);
    }

    nlohmann::json json = nlohmann::json::array();
    std::vector<std::string> unloaded;
    std::set<std::string> loaded_names;
    for (const auto& module : loaded)
        loaded_names.insert(module.name);
    for (const auto& name : options.names) {
        if (loaded_names.count(normalize_module_name(name)) == 0) {
            log::error("module " + quote_name(name) + " is not loaded");
            if (options.json)
                json.push_back({{"module", normalize_module_name(name)},
                                {"result", "not loaded"},
                                {"reason", "not loaded"},
                                {"cascaded", false}});
            named_failed = true;
        }
    }
    for (const auto& outcome : report.outcomes) {
        if (options.json)
            json.push_back({{"module", outcome.module},
                            {"result", outcome.result},
                            {"reason", outcome.reason},
                            {"cascaded", outcome.cascaded}});
        if (outcome.result == "unloaded" || outcome.result == "would unload") {
            unloaded.push_back(outcome.module);
            log::notice(outcome.result + " " + outcome.module + " (" + outcome.reason + ")");
        } else if (outcome.result == "failed" || outcome.result == "not saved") {
            log::error("not unloading " + outcome.module + ": " + outcome.reason);
        } else if (outcome.result == "busy" || outcome.result == "gone") {
            log::notice("skipped " + outcome.module + ": " + outcome.reason);
        } else if (options.verbose > 0 && !options.json) {
            std::cout << outcome.module << ": " << outcome.reason << "\n";
        }
        const bool was_named = std::any_of(options.names.begin(), options.names.end(), [&](const std::string& n) {
            return normalize_module_name(n) == outcome.module;
        });
        if (was_named && outcome.result != "unloaded" && outcome.result != "would unload") {
            if (outcome.result == "kept")
                log::error("not unloading " + outcome.module + ": " + outcome.reason);
            named_failed = true;
        }
    }
    if (options.json)
        std::cout << json.dump(2) << "\n";
    else if (!options.quiet && unloaded.empty() && options.verbose > 0)
        std::cout << "nothing to unload\n";
    return report.failed || named_failed ? 1 : 0;
}

} // namespace
} // namespace kmodtools

int main(int argc, char** argv) { return kmodtools::tool_main("kmod-reap", argc, argv, kmodtools::run); }
