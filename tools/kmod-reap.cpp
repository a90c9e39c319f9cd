// SPDX-License-Identifier: LGPL-2.1-or-later
// kmod-reap: one sweep that unloads modules loaded on demand and left unused longer than the unload
// delay (what "rmmod -a" from cron did with the kernel's autoclean flag), or the named modules now.
#include "command_line.hpp"
#include "config.hpp"
#include "duration.hpp"
#include "error.hpp"
#include "fixed_arguments.hpp"
#include "helper_guard.hpp"
#include "json_output.hpp"
#include "kernel_knobs.hpp"
#include "loaded_modules.hpp"
#include "log.hpp"
#include "module_pattern.hpp"
#include "module_remover.hpp"
#include "net_devices.hpp"
#include "on_demand.hpp"
#include "paths.hpp"
#include "reaper.hpp"
#include "request_name.hpp"
#include "settings.hpp"
#include "standard_streams.hpp"
#include "tool_main.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace kmodtools {
namespace {

struct Options {
    std::vector<std::string> names;
    bool all = false;
    std::vector<std::string> keep;
    std::optional<std::string> delay; // given, even if empty (which is a bad delay, not none)
    bool dry_run = false;
    int verbose = 0;
    bool quiet = false;
    bool json = false;
    bool wait = false;
    bool syslog = false;
    bool list_settings = false;
    bool forget_settings = false;
};

constexpr std::string_view help = R"(Usage: kmod-reap [options] [MODULE...]
Unload the modules loaded on demand that stayed unused longer than the unload
delay, saving their changed parameters first; or the named modules now.

      --all              consider every module, not only those loaded on demand
      --keep PATTERN     never unload modules matching PATTERN (repeatable)
      --delay DURATION   unload delay for this sweep (90, 90s, 2m, 1h; 0: now)
  -n, --dry-run          say what would be unloaded; change nothing
  -v, --verbose          also say why each other module stays
  -q, --quiet            print errors only
  -s, --syslog           log to syslog instead of standard error
      --json             print the outcome for every module as JSON
      --wait             wait for a running sweep instead of leaving
      --list-settings    print the saved settings (of the named modules)
      --forget-settings  forget the saved settings of the named modules
  -h, --help             print this help and exit
  -V, --version          print the version and exit

See kmod-reap(8).
)";

Options parse_options(int argc, char** argv)
{
    // The timer and cron run a plain sweep ("kmod-reap", "kmod-reap --syslog -q").
    if (auto plain = scan_fixed_arguments(argc, argv, {"-q", "--quiet", "-s", "--syslog"}, 0)) {
        Options options;
        for (const auto flag : plain->flags)
            (flag == "-q" || flag == "--quiet" ? options.quiet : options.syslog) = true;
        return options;
    }
    Options options;
    CLI::App app{"", "kmod-reap"}; // -h prints `help` above
    app.add_option("names", options.names);
    app.add_flag("--all", options.all);
    app.add_option("--keep", options.keep)->allow_extra_args(false); // one pattern each
    app.add_option("--delay", options.delay);
    app.add_flag("-n,--dry-run", options.dry_run);
    app.add_flag("-v,--verbose", options.verbose);
    app.add_flag("-q,--quiet", options.quiet);
    app.add_flag("--json", options.json);
    app.add_flag("--wait", options.wait);
    app.add_flag("-s,--syslog", options.syslog);
    app.add_flag("--list-settings", options.list_settings);
    app.add_flag("--forget-settings", options.forget_settings);
    parse_command_line(app, argc, argv, help);
    return options;
}

void check_options(const Options& options)
{
    for (const auto& name : options.names)
        if (auto problem = request_name_problem(name); !problem.empty() || name.find(':') != std::string::npos)
            throw Error::usage("bad module name " + quote_name(name) + ": " +
                               (problem.empty() ? "a module name, not an alias" : problem));
    for (const auto& pattern : options.keep)
        if (auto problem = pattern_problem(pattern); !problem.empty())
            throw Error::usage("bad --keep pattern " + quote_name(pattern) + ": " + problem);
    if (!options.names.empty() && options.all)
        throw Error::usage("option '--all' goes without module names");
    if (options.list_settings && options.forget_settings)
        throw Error::usage("options '--list-settings' and '--forget-settings' exclude each other");
    if (options.forget_settings && options.names.empty())
        throw Error::usage("option '--forget-settings' needs module names");
}

ExitStatus forget_named_settings(const Paths& paths, const std::vector<std::string>& names)
{
    ExitStatus status = ExitStatus::ok;
    for (const auto& name : names) {
        const auto module = normalize_module_name(name);
        if (forget_settings(paths, module)) {
            log::notice("forgot the saved settings of " + module);
        } else {
            log::error("no saved settings for " + quote_name(name));
            status = ExitStatus::failure;
        }
    }
    return status;
}

ExitStatus list_settings(const Paths& paths, const Options& options)
{
    nlohmann::json json = nlohmann::json::object();
    ExitStatus status = ExitStatus::ok;
    auto modules = options.names.empty() ? modules_with_settings(paths) : options.names;
    for (auto& module : modules) {
        module = normalize_module_name(module);
        std::optional<Parameters> saved;
        try {
            saved = load_settings(paths, module);
        } catch (const Error& error) {
            log::error(error.what());
            status = ExitStatus::failure;
            continue;
        }
        if (!saved) {
            if (!options.names.empty()) {
                log::error("no saved settings for " + quote_name(module));
                status = ExitStatus::failure;
            }
            continue;
        }
        if (options.json) {
            json[module] = *saved;
            continue;
        }
        std::string line = module + ":";
        for (const auto& [name, value] : *saved)
            line += " " + format_option(name, value);
        print(line + "\n");
    }
    if (options.json)
        print_json(json);
    return status;
}

SweepOptions sweep_options(const Paths& paths, const Config& config, const Options& options)
{
    SweepOptions sweep;
    sweep.all = options.all;
    sweep.named = options.names;
    sweep.keep = config.keep;
    sweep.keep.insert(sweep.keep.end(), options.keep.begin(), options.keep.end());
    sweep.unload_delay = config.unload_delay;
    if (options.delay) {
        std::string why;
        const auto delay = parse_duration(*options.delay, &why);
        if (!delay)
            throw Error::usage("bad --delay " + quote_name(*options.delay) + ": " + why);
        sweep.unload_delay = *delay;
    }
    sweep.dry_run = options.dry_run;
    sweep.read_network_interfaces = [&paths] { return network_interfaces_by_driver(paths); };
    return sweep;
}

// With modules_disabled nothing can be unloaded until reboot: that is no failure of the sweep.
bool unloading_disabled(const Paths& paths)
{
    try {
        return read_modules_disabled(paths);
    } catch (const Error& error) {
        log::debug(error.what());
        return false;
    }
}

bool failed(SweepStatus status) { return status == SweepStatus::failed || status == SweepStatus::not_saved; }

// Each sweep also looks at kernel.modprobe (helper_guard.hpp): a failure to look is an error of
// the sweep, never a reason not to sweep: std::nullopt, already logged.
std::optional<HelperCheck> guard_the_helper(const Paths& paths, const Config& config, const Options& options)
{
    try {
        return guard_helper(paths, config.helper_guard, options.dry_run);
    } catch (const Error& error) {
        log::error(std::string("cannot check kernel.modprobe: ") + error.what());
        return std::nullopt;
    }
}

// The helper as a --json entry of its own, named after the knob, when there is something to say.
std::optional<nlohmann::json> helper_json(const std::optional<HelperCheck>& helper, const Options& options)
{
    if (!helper || helper->problem.empty())
        return std::nullopt;
    const bool error = helper->state != HelperState::restored;
    return nlohmann::json{{"name", "kernel.modprobe"},
                          {"status", "helper-" + std::string(to_string(helper->state))},
                          {"reason", helper->problem},
                          {"cascaded", false},
                          {"dry_run", options.dry_run},
                          {"error", error ? nlohmann::json(helper->problem) : nlohmann::json(nullptr)}};
}

void report(const SweepReport& sweep, const std::optional<HelperCheck>& helper, const Options& options)
{
    nlohmann::json json = nlohmann::json::array();
    if (auto entry = helper_json(helper, options))
        json.push_back(std::move(*entry));
    bool unloaded_any = false;
    for (const auto& outcome : sweep.outcomes) {
        if (options.json)
            json.push_back({{"name", outcome.module},
                            {"status", to_string(outcome.status)},
                            {"reason", outcome.reason},
                            {"cascaded", outcome.cascaded},
                            {"dry_run", options.dry_run},
                            {"error", failed(outcome.status) ? nlohmann::json(outcome.reason) : nlohmann::json(nullptr)}});
        const bool named = std::any_of(options.names.begin(), options.names.end(), [&](const std::string& name) {
            return normalize_module_name(name) == outcome.module;
        });
        switch (outcome.status) {
        case SweepStatus::unloaded:
        case SweepStatus::would_unload:
            unloaded_any = true;
            log::notice(std::string(outcome.status == SweepStatus::unloaded ? "unloaded " : "would unload ") +
                        outcome.module + " (" + outcome.reason + ")");
            break;
        case SweepStatus::failed:
        case SweepStatus::not_saved:
            log::error("not unloading " + outcome.module + ": " + outcome.reason);
            break;
        case SweepStatus::busy:
        case SweepStatus::gone:
            log::notice("skipped " + outcome.module + ": " + outcome.reason);
            break;
        case SweepStatus::not_loaded:
            log::error("module " + quote_name(outcome.module) + " is not loaded");
            break;
        case SweepStatus::kept:
            if (named)
                log::error("not unloading " + outcome.module + ": " + outcome.reason);
            else if (options.verbose > 0 && !options.json)
                print(outcome.module + ": " + outcome.reason + "\n");
            break;
        }
    }
    if (options.json)
        print_json(json);
    else if (!options.quiet && !unloaded_any && options.verbose > 0)
        print("nothing to unload\n");
}

ExitStatus run(int argc, char** argv)
{
    const Options options = parse_options(argc, argv);
    const auto paths = Paths::from_environment();
    log::setup("kmod-reap", options.syslog ? log::Target::syslog : log::Target::stderr_stream,
               options.quiet ? log::Level::error : log::Level::notice, &paths);
    check_options(options);

    if (options.forget_settings)
        return forget_named_settings(paths, options.names);
    if (options.list_settings)
        return list_settings(paths, options);
    const auto config = load_config(paths);
    auto sweep = sweep_options(paths, config, options);

    const auto lock = lock_sweeps(paths, options.wait);
    if (!lock) {
        log::notice("a sweep is already running; leaving it to finish (--wait waits for it)");
        if (options.json) // still valid JSON for scripts: this run did nothing
            print("[]\n");
        return ExitStatus::ok;
    }
    const auto helper = guard_the_helper(paths, config, options);
    if (unloading_disabled(paths)) {
        log::notice("module unloading is disabled (kernel.modules_disabled=1); nothing to do");
        report({}, helper, options);
        return helper ? ExitStatus::ok : ExitStatus::failure;
    }

    ModuleRemover remover(paths);
    sweep.now = boottime_seconds();
    const auto outcome = run_sweep(paths, read_loaded_modules(paths), sweep, system_sweep_hooks(paths, remover));
    report(outcome, helper, options);
    return outcome.failed || !helper ? ExitStatus::failure : ExitStatus::ok;
}

} // namespace
} // namespace kmodtools

int main(int argc, char** argv) { return kmodtools::tool_main("kmod-reap", kmodtools::help, argc, argv, kmodtools::run); }
