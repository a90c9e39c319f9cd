// SPDX-License-Identifier: LGPL-2.1-or-later
// kmod-request: loads modules on request, as a command and as the kernel's modprobe helper, and records
// what it loaded on demand so that kmod-reap can unload it once it is idle.
#include "config.hpp"
#include "error.hpp"
#include "loaded_modules.hpp"
#include "log.hpp"
#include "module_loader.hpp"
#include "on_demand.hpp"
#include "paths.hpp"
#include "policy.hpp"
#include "request_name.hpp"
#include "requester.hpp"
#include "settings.hpp"
#include "tool_main.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kmodtools {
namespace {

struct Options {
    std::vector<std::string> names;
    bool quiet = false;
    int verbose = 0;
    bool syslog = false;
    bool from_kernel_flag = false; // -k: old kernels' "autoclean" flag, which meant "the kernel asks"
    bool dry_run = false;
    bool show_depends = false;
    bool explain = false;
    bool json = false;
    bool no_restore = false;
    std::string dirname;
    std::string kernel_version;
};

std::string join(const std::vector<std::string>& words)
{
    std::string joined;
    for (const auto& word : words)
        joined += (joined.empty() ? "" : " ") + word;
    return joined;
}

// What happened to one requested name (--json prints these).
struct NameResult {
    std::string name;
    std::vector<std::string> modules;
    std::vector<std::string> inserted;
    std::string status;
    std::optional<std::string> error;
};

// "-" stands for names on standard input, one per line (blank lines skipped).
std::vector<std::string> expand_names(const std::vector<std::string>& arguments)
{
    std::vector<std::string> names;
    for (const auto& argument : arguments) {
        if (argument != "-") {
            names.push_back(argument);
            continue;
        }
        for (std::string line; std::getline(std::cin, line);) {
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            if (line.find_first_not_of(" \t") != std::string::npos)
                names.push_back(line);
        }
    }
    return names;
}

std::filesystem::path modules_dir(const Paths& paths, const Options& options)
{
    const std::string version = options.kernel_version.empty() ? paths.kernel_release() : options.kernel_version;
    if (request_name_problem(version) != "" || version == "." || version == "..")
        throw Error::usage("bad kernel version " + quote_name(version));
    if (options.dirname.empty())
        return paths.modules_dir(version);
    // As modprobe: -d DIR names a root under which lib/modules/VERSION lives.
    return std::filesystem::path(options.dirname) / "lib/modules" / version;
}

// Parameters given explicitly at load time (command line, restored settings), per module: they are
// left out of the load-time snapshot, so kmod-reap always saves them, like any changed value.
using ExplicitParameters = std::map<std::string, std::set<std::string>>;

void note_explicit(ExplicitParameters& explicit_parameters, const std::string& module, std::string_view options)
{
    while (!options.empty()) {
        const auto start = options.find_first_not_of(' ');
        if (start == std::string_view::npos)
            break;
        options.remove_prefix(start);
        const auto equals = options.find('=');
        if (equals == std::string_view::npos)
            break;
        explicit_parameters[module].insert(normalize_module_name(options.substr(0, equals)));
        // Skip the value, quoted or not.
        std::size_t end = equals + 1;
        if (end < options.size() && options[end] == '"')
            end = options.find('"', end + 1);
        end = options.find(' ', end == std::string_view::npos ? options.size() : end);
        options.remove_prefix(end == std::string_view::npos ? options.size() : end);
    }
}

void record_inserted(const Paths& paths, const std::string& requested, Requester requester,
                     const std::vector<std::string>& inserted, const ExplicitParameters& explicit_parameters)
{
    if (inserted.empty())
        return;
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const auto boottime = boottime_seconds();
    std::vector<OnDemandRecord> records;
    for (const auto& module : inserted) {
        OnDemandRecord& record = records.emplace_back(
            OnDemandRecord{module, requested, requester, now, boottime, {}, std::nullopt});
        record.instance = module_instance(paths, module);
        // What the parameters were right after loading, so kmod-reap can tell what was changed since.
        try {
            record.parameters_at_load = read_writable_parameters(paths, module);
            if (const auto it = explicit_parameters.find(module); it != explicit_parameters.end())
                for (const auto& parameter : it->second)
                    record.parameters_at_load->erase(parameter);
        } catch (const Error& error) {
            log::debug(error.what());
        }
    }
    write_on_demand_records(paths, records);
}

// The saved settings of `module` as load-time options; what cannot be trusted or passed is dropped
// with a warning, and the module loads all the same.
std::string saved_options(const Paths& paths, const std::string& module,
                          const std::function<bool(const std::string&)>& declares, ExplicitParameters& restored)
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
    std::string options;
    for (const auto& [parameter, value] : *saved) {
        if (!declares(parameter)) {
            log::warning("dropping saved setting " + parameter + " of " + module + ": the module has no such parameter");
            continue;
        }
        if (auto problem = unpassable_value_problem(value); !problem.empty()) {
            log::warning("dropping saved setting " + parameter + " of " + module + ": the value " + problem);
            continue;
        }
        options += (options.empty() ? "" : " ") + format_option(parameter, value);
    }
    if (!options.empty())
        log::info(module + ": restoring " + options);
    note_explicit(restored, module, options);
    return options;
}

void explain(ModuleLoader& loader, const Config& config, const std::string& name, nlohmann::json* json)
{
    const auto resolved = loader.resolve(name);
    std::vector<std::string> module_names;
    for (const auto& module : resolved)
        module_names.push_back(module.name);
    const auto decision = decide(config, name, module_names);
    if (json != nullptr) {
        nlohmann::json modules = nlohmann::json::array();
        for (const auto& module : resolved)
            modules.push_back({{"name", module.name},
                               {"path", module.path},
                               {"builtin", module.builtin},
                               {"loaded", module.loaded},
                               {"install_command", module.install_command},
                               {"dependencies", module.dependencies}});
        json->push_back({{"name", name},
                         {"modules", modules},
                         {"kernel_request_allowed", decision.allowed},
                         {"policy", decision.describe()}});
        return;
    }
    std::cout << name << "\n";
    if (resolved.empty())
        std::cout << "  resolves to nothing in " << loader.modules_dir().string() << "\n";
    for (const auto& module : resolved) {
        std::cout << "  module " << module.name << ": "
                  << (module.builtin ? "built in" : module.path.empty() ? "no file" : module.path)
                  << (module.loaded ? ", loaded" : module.builtin ? "" : ", not loaded");
        if (!module.dependencies.empty())
            std::cout << ", needs " << join(module.dependencies);
        if (!module.install_command.empty())
            std::cout << ", install command: " << module.install_command;
        std::cout << "\n";
    }
    std::cout << "  kernel requests: " << decision.describe() << "\n";
}

// The kernel (and programs that read kernel.modprobe) run the helper with a few fixed forms:
// "-q -- NAME", "-s -k NAME", "-s -k -- NAME", "-q NAME", "NAME -q", "NAME". Those are recognised
// without building the CLI11 parser, which costs a process more than the rest of a request when the
// kernel starts dozens of helpers at once. Anything else goes through CLI11.
std::optional<Options> parse_helper_invocation(int argc, char** argv)
{
    Options options;
    bool after_dashes = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view word = argv[i];
        if (!after_dashes && word == "-q")
            options.quiet = true;
        else if (!after_dashes && word == "-s")
            options.syslog = true;
        else if (!after_dashes && word == "-k")
            options.from_kernel_flag = true;
        else if (!after_dashes && word == "--" && options.names.empty())
            after_dashes = true;
        else if ((after_dashes || word.empty() || word.front() != '-') && options.names.empty() &&
                 word != "-" && word.find('=') == std::string_view::npos)
            options.names.emplace_back(word);
        else
            return std::nullopt;
    }
    if (options.names.empty())
        return std::nullopt;
    return options;
}

Options parse_options(int argc, char** argv)
{
    if (auto helper = parse_helper_invocation(argc, argv))
        return *helper;
    Options options;
    CLI::App app{"Load modules with their dependencies, as a command or as the kernel's modprobe helper.",
                 "kmod-request"};
    app.add_option("names", options.names, "Module names or aliases; '-' reads names from standard input");
    app.add_flag("-q,--quiet", options.quiet, "Print errors only");
    app.add_flag("-v,--verbose", options.verbose, "Say what is loaded and why (twice: libkmod's debugging too)");
    app.add_flag("-s,--syslog", options.syslog, "Log to syslog instead of standard error");
    app.add_flag("-k,--autoclean", options.from_kernel_flag,
                 "Treat the request as coming from the kernel (old kernels pass this)");
    app.add_flag("-n,--dry-run", options.dry_run, "Do everything but insert and record");
    app.add_flag("--show-depends", options.show_depends,
                 "Print what would be loaded, as modprobe --show-depends does");
    app.add_flag("--explain", options.explain, "Print what each name resolves to and what the policy says");
    app.add_flag("--json", options.json, "Print a JSON array with one result object per name");
    app.add_flag("--no-restore", options.no_restore, "Do not restore settings saved by kmod-reap");
    app.add_option("-d,--dirname", options.dirname, "Root of the module tree (DIR/lib/modules/VERSION)");
    app.add_option("-S,--set-version", options.kernel_version, "Kernel version of the module tree");
    app.set_version_flag("--version", std::string(KMOD_TOOLS_VERSION));
    // Unknown options are caught below, to tell a name starting with '-' from a mistyped option.
    app.allow_extras();
    // Everything after "--" is a name, even one that looks like an option (the kernel passes
    // "-q -- NAME"); CLI11 only sees what comes before.
    int option_count = argc;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--") {
            option_count = i;
            break;
        }
    }
    parse_command_line(app, option_count, argv);
    for (int i = option_count + 1; i < argc; ++i)
        options.names.emplace_back(argv[i]);
    for (const auto& extra : app.remaining())
        throw Error::usage("unknown option " + quote_name(extra));
    return options;
}

int run(int argc, char** argv)
{
    const Options options = parse_options(argc, argv);

    const auto paths = Paths::from_environment();
    const Requester requester =
        options.from_kernel_flag || is_kernel_thread(paths, ::getppid()) ? Requester::kernel : Requester::user;
    // Run by the kernel there is no terminal and maybe no syslog yet: the kernel log always exists.
    const auto target = options.syslog                     ? log::Target::syslog
                        : requester == Requester::kernel ? log::Target::kmsg
                                                         : log::Target::stderr_stream;
    // The kernel always passes -q, yet a warning (a saved setting dropped) must still reach its log.
    const auto quiet_level = requester == Requester::kernel ? log::Level::warning : log::Level::error;
    const auto threshold = options.quiet           ? quiet_level
                           : options.verbose > 1 ? log::Level::debug
                           : options.verbose > 0 ? log::Level::info
                                                 : log::Level::notice;
    log::setup("kmod-request", target, threshold, paths.dev_kmsg());

    const int modes = int(options.show_depends) + int(options.explain);
    if (modes > 1)
        throw Error::usage("--show-depends and --explain exclude each other");
    if (options.json && options.show_depends)
        throw Error::usage("--json does not go with --show-depends, whose format is modprobe's");

    // As modprobe: PARAM=VALUE words after a name are load-time options for that name.
    std::vector<std::string> names;
    std::map<std::string, std::string> command_line_options;
    for (const auto& word : expand_names(options.names)) {
        if (word.find('=') == std::string::npos || word.front() == '=') {
            names.push_back(word);
            continue;
        }
        if (names.empty())
            throw Error::usage("option " + quote_name(word) + " comes before any module name");
        auto& line = command_line_options[names.back()];
        line += (line.empty() ? "" : " ") + word;
    }
    if (names.empty())
        throw Error::usage("no module name given (see --help)");
    // Every name is checked before anything is loaded, so one bad name in a batch loads nothing.
    for (const auto& name : names)
        if (const auto problem = request_name_problem(name); !problem.empty())
            throw Error::usage("bad name " + quote_name(name) + ": " + problem);

    ModuleLoader loader(paths, modules_dir(paths, options));

    if (options.show_depends) {
        for (const auto& name : names)
            std::cout << loader.show_depends(name);
        return 0;
    }

    // The policy governs requests from the kernel; an unreadable policy refuses them rather than
    // letting through what it may deny.
    std::optional<Config> config;
    if (options.explain || requester == Requester::kernel) {
        try {
            config = load_config(paths);
        } catch (const Error& error) {
            if (requester == Requester::kernel && !options.dry_run)
                for (const auto& name : names)
                    log::audit("kernel request " + quote_name(name) + " refused: configuration error: " +
                               error.what());
            throw;
        }
    }

    if (options.explain) {
        nlohmann::json explanations = nlohmann::json::array();
        for (const auto& name : names)
            explain(loader, *config, name, options.json ? &explanations : nullptr);
        if (options.json)
            std::cout << explanations.dump(2) << "\n";
        return 0;
    }

    // Settings kmod-reap saved when it unloaded a module come back as its load-time options.
    std::set<std::string> with_settings;
    if (!options.no_restore) {
        try {
            const auto modules = modules_with_settings(paths);
            with_settings.insert(modules.begin(), modules.end());
        } catch (const Error& error) {
            log::warning(std::string(error.what()) + "; not restoring settings");
        }
    }
    ExplicitParameters explicit_parameters;
    ExtraOptions extra;
    if (!with_settings.empty()) {
        extra.has_saved = [&](const std::string& module) { return with_settings.count(module) != 0; };
        extra.saved = [&](const std::string& module, const std::function<bool(const std::string&)>& declares) {
            return saved_options(paths, module, declares, explicit_parameters);
        };
    }

    ExitStatus status = ExitStatus::ok;
    std::vector<NameResult> name_results;
    for (const auto& name : names) {
        NameResult& result = name_results.emplace_back();
        result.name = name;
        // Without deny rules nothing is refused: skip resolving the name twice.
        if (requester == Requester::kernel && !config->deny.empty()) {
            for (const auto& module : loader.resolve(name))
                result.modules.push_back(module.name);
            const auto decision = decide(*config, name, result.modules);
            if (!decision.allowed) {
                if (!options.dry_run)
                    log::audit("kernel request " + quote_name(name) + " " + decision.describe());
                log::error("not loading " + quote_name(name) + ": " + decision.describe());
                result.status = "denied";
                result.error = decision.describe();
                status = ExitStatus::failure;
                continue;
            }
        }

        extra.command_line = command_line_options[name];
        const auto loaded = loader.load(name, options.dry_run, extra);
        result.modules = loaded.modules;
        result.inserted = loaded.inserted;
        result.status = to_string(loaded.status);
        if (loaded.status == LoadStatus::failed) {
            result.error = loaded.error;
            // As modprobe -q: a name that matches nothing is not worth a line (the kernel asks for
            // many aliases nothing provides); the audit line below still tells.
            if (!(options.quiet && loaded.modules.empty()))
                log::error(loaded.error);
            status = ExitStatus::failure;
        }
        if (options.dry_run) {
            for (const auto& module : loaded.inserted)
                log::notice(name + ": would insert " + module);
        } else {
            if (!loaded.inserted.empty())
                log::info(name + ": inserted " + join(loaded.inserted));
            else if (loaded.status != LoadStatus::failed)
                log::info(name + ": " + std::string(to_string(loaded.status)));
            // Dependencies inserted before a failure stay loaded: record them too, so they can go.
            try {
                for (const auto& module : loaded.modules)
                    note_explicit(explicit_parameters, module, extra.command_line);
                record_inserted(paths, name, requester, loaded.inserted, explicit_parameters);
            } catch (const Error& error) {
                // The modules stay loaded, unrecorded: kmod-reap will leave them alone, the safe side.
                log::error("loaded " + join(loaded.inserted) + " for " + quote_name(name) +
                           " but could not record it: " + error.what());
                result.error = error.what();
                status = ExitStatus::failure;
            }
        }
        if (requester == Requester::kernel && !options.dry_run)
            log::audit("kernel request " + quote_name(name) + " " +
                       (loaded.status == LoadStatus::failed ? "failed: " + loaded.error
                        : loaded.inserted.empty()            ? "granted: " + std::string(to_string(loaded.status))
                                                             : "granted: inserted " + join(loaded.inserted)));
    }
    if (options.json) {
        nlohmann::json results = nlohmann::json::array();
        for (const auto& result : name_results)
            results.push_back({{"name", result.name},
                               {"requester", std::string(to_string(requester))},
                               {"modules", result.modules},
                               {"inserted", result.inserted},
                               {"status", result.status},
                               {"error", result.error ? nlohmann::json(*result.error) : nlohmann::json(nullptr)}});
        std::cout << results.dump(2) << "\n";
    }
    return static_cast<int>(status);
}

} // namespace
} // namespace kmodtools

int main(int argc, char** argv) { return kmodtools::tool_main("kmod-request", argc, argv, kmodtools::run); }
