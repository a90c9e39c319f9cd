// SPDX-License-Identifier: LGPL-2.1-or-later
// kmod-request: loads modules on request, as a command and as the kernel's modprobe helper, and records
// what it loaded on demand so that kmod-reap can unload it once it is idle.
#include "command_line.hpp"
#include "config.hpp"
#include "error.hpp"
#include "fixed_arguments.hpp"
#include "json_output.hpp"
#include "log.hpp"
#include "module_loader.hpp"
#include "module_request.hpp"
#include "paths.hpp"
#include "policy.hpp"
#include "policy_suggestion.hpp"
#include "loaded_modules.hpp"
#include "duration.hpp"
#include "request_attribution.hpp"
#include "request_history.hpp"
#include "request_name.hpp"
#include "requester.hpp"
#include "standard_streams.hpp"
#include "text.hpp"
#include "tool_main.hpp"

#include <unistd.h>

#include <algorithm>
#include <ctime>

#include <nlohmann/json.hpp>

#include <chrono>
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
    bool suggest_policy = false;
    std::optional<std::chrono::seconds> since; // --suggest-policy: only the history of this long ago
    bool diff = false;                          // --suggest-policy: how it differs from the policy in force
    bool modprobe_lines = false;                // --suggest-policy: as modprobe.d lines
    bool json = false;
    bool no_restore = false;
    std::optional<RequesterClass> as_class; // --as: the requester class of --explain and dry runs
    std::string dirname;
    std::string kernel_version;
};

// The kernel (and programs that read kernel.modprobe) run the helper with a few fixed forms:
// "-q -- NAME", "-s -k NAME", "-s -k -- NAME", "-q NAME", "NAME -q", "NAME".
std::optional<Options> parse_helper_invocation(int argc, char** argv)
{
    const auto fixed = scan_fixed_arguments(argc, argv, {"-q", "-s", "-k"}, 1);
    if (!fixed || fixed->operands.size() != 1)
        return std::nullopt;
    const auto name = fixed->operands.front();
    if (name == "-" || name.find('=') != std::string_view::npos) // stdin, or a module option
        return std::nullopt;
    Options options;
    options.names.emplace_back(name);
    for (const auto flag : fixed->flags)
        (flag == "-q" ? options.quiet : flag == "-s" ? options.syslog : options.from_kernel_flag) = true;
    return options;
}

constexpr std::string_view help = R"(Usage: kmod-request [options] NAME [PARAM=VALUE...]...
Load modules or aliases with their dependencies, as modprobe does; the
kernel's module helper (kernel.modprobe).

  -n, --dry-run        resolve and say what would be inserted; change nothing
  -v, --verbose        say what is inserted and why (twice: libkmod's too)
  -q, --quiet          print errors only
  -s, --syslog         log to syslog instead of standard error
  -k, --autoclean      treat the request as the kernel's (older kernels)
      --show-depends   print what would be loaded, as modprobe does
      --explain        print what each name would insert and the policy's say
      --as CLASS       judge as a kernel request from CLASS (privileged,
                       unprivileged, container, unknown): --explain, -n -k
      --suggest-policy print a policy drop-in from the request history
      --since DURATION with --suggest-policy: only requests this recent
      --diff           with --suggest-policy: how it would decide otherwise
      --modprobe       with --suggest-policy: as modprobe.d lines
      --json           print the results as JSON
      --no-restore     do not restore settings saved by kmod-reap
  -d, --dirname DIR    use the module tree DIR/lib/modules/VERSION
  -S, --set-version V  use the module tree of kernel version V
  -h, --help           print this help and exit
  -V, --version        print the version and exit

A NAME of '-' reads names from standard input, one per line.
See kmod-request(8).
)";

Options parse_options(int argc, char** argv)
{
    if (auto helper = parse_helper_invocation(argc, argv))
        return *helper;
    Options options;
    CLI::App app{"", "kmod-request"}; // -h prints `help` above
    app.add_option("names", options.names);
    app.add_flag("-q,--quiet", options.quiet);
    app.add_flag("-v,--verbose", options.verbose);
    app.add_flag("-s,--syslog", options.syslog);
    app.add_flag("-k,--autoclean", options.from_kernel_flag);
    app.add_flag("-n,--dry-run", options.dry_run);
    app.add_flag("--show-depends", options.show_depends);
    app.add_flag("--explain", options.explain);
    app.add_flag("--suggest-policy", options.suggest_policy);
    std::string since;
    app.add_option("--since", since);
    app.add_flag("--diff", options.diff);
    app.add_flag("--modprobe", options.modprobe_lines);
    app.add_flag("--json", options.json);
    app.add_flag("--no-restore", options.no_restore);
    std::string as_class;
    app.add_option("--as", as_class);
    app.add_option("-d,--dirname", options.dirname);
    app.add_option("-S,--set-version", options.kernel_version);
    // Everything after "--" is a name, even one that looks like an option (the kernel passes
    // "-q -- NAME"); CLI11 only sees what comes before.
    int option_count = argc;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--") {
            option_count = i;
            break;
        }
    }
    parse_command_line(app, option_count, argv, help);
    for (int i = option_count + 1; i < argc; ++i)
        options.names.emplace_back(argv[i]);
    if (!as_class.empty()) {
        options.as_class = parse_requester_class(as_class);
        if (!options.as_class)
            throw Error::usage("bad requester class " + quote_name(as_class) +
                               ": privileged, unprivileged, container or unknown");
        // A real kernel request finds out who asked; nobody may claim a class for it.
        if (!options.explain && !(options.dry_run && options.from_kernel_flag))
            throw Error::usage("option '--as' goes with '--explain' or '--dry-run --autoclean'");
    }
    if (!since.empty()) {
        std::string why;
        options.since = parse_duration(since, &why);
        if (!options.since)
            throw Error::usage("bad --since " + quote_name(since) + ": " + why);
    }
    if ((options.since || options.diff || options.modprobe_lines) && !options.suggest_policy)
        throw Error::usage("options '--since', '--diff' and '--modprobe' go with '--suggest-policy'");
    if (options.suggest_policy) {
        if (options.diff && options.modprobe_lines)
            throw Error::usage("options '--diff' and '--modprobe' exclude each other");
        if (!options.names.empty())
            throw Error::usage("option '--suggest-policy' takes no names");
        if (options.explain || options.show_depends || options.dry_run || options.json || options.as_class)
            throw Error::usage("option '--suggest-policy' goes alone (with '--since', '--diff' or '--modprobe')");
        return options;
    }
    if (options.show_depends && options.explain)
        throw Error::usage("options '--show-depends' and '--explain' exclude each other");
    if (options.json && options.show_depends)
        throw Error::usage("options '--json' and '--show-depends' exclude each other (the latter prints modprobe's format)");
    return options;
}

Requester detect_requester(const Paths& paths, const Options& options)
{
    return options.from_kernel_flag || is_kernel_thread(paths, ::getppid()) ? Requester::kernel : Requester::user;
}

void set_up_logging(const Paths& paths, const Options& options, Requester requester)
{
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
    log::setup("kmod-request", target, threshold, &paths);
}

// "-" stands for names on standard input, one per line (blank lines skipped).
std::vector<std::string> expand_names(const std::vector<std::string>& arguments)
{
    std::vector<std::string> names;
    for (const auto& argument : arguments) {
        if (argument != "-") {
            names.push_back(argument);
            continue;
        }
        for (std::string line; read_standard_input_line(line);) {
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

// The policy governs requests from the kernel; an unreadable policy refuses them (audited) rather
// than letting through what it may deny.
std::optional<Config> load_policy(const Paths& paths, const Options& options, Requester requester,
                                  const std::vector<std::string>& names)
{
    if (!options.explain && requester != Requester::kernel)
        return std::nullopt;
    try {
        return load_config(paths);
    } catch (const Error& error) {
        if (requester == Requester::kernel && !options.dry_run)
            for (const auto& name : names)
                refuse_kernel_request(paths, name, error.what());
        throw;
    }
}

void show_depends(ModuleLoader& loader, const std::vector<std::string>& names)
{
    for (const auto& name : names)
        print(loader.show_depends(name));
}

constexpr RequesterClass all_classes[] = {RequesterClass::privileged, RequesterClass::unprivileged,
                                         RequesterClass::container, RequesterClass::unknown};

nlohmann::json member_json(const MemberDecision& decision)
{
    return {{"module", decision.member.module},
            {"role", std::string(to_string(decision.member.role))},
            {"via", decision.member.via},
            {"present", decision.member.present},
            {"install_command", decision.member.install_command},
            {"verdict", std::string(to_string(decision.verdict))},
            {"policy", decision.describe()}};
}

// "ktb (dependency of kta, already there)", for the plan line of --explain.
std::string plan_item(const PlanMember& member)
{
    std::string text = member.module + " (" + std::string(to_string(member.role));
    if (member.role != PlanRole::requested)
        text += " of " + member.via;
    if (member.install_command)
        text += ", install command";
    if (member.present)
        text += ", already there";
    return text + ")";
}

// What each name resolves to, the plan of a kernel request for it, and the policy's decision for
// each requester class (with --as, for that class only, member by member).
void explain(ModuleLoader& loader, const Config& config, const std::vector<std::string>& names,
             std::optional<RequesterClass> as_class, bool json)
{
    std::vector<RequesterClass> classes;
    if (as_class)
        classes.push_back(*as_class);
    else
        classes.assign(std::begin(all_classes), std::end(all_classes));
    if (!json)
        print("policy mode: " + std::string(to_string(config.policy_mode)) + " (" +
              config.policy_mode_origin.describe() + ")\n");
    nlohmann::json explanations = nlohmann::json::array();
    for (const auto& name : names) {
        const auto resolved = loader.resolve(name);
        const auto plan = loader.plan(name);
        std::vector<PolicyDecision> decisions;
        for (const auto requester_class : classes)
            decisions.push_back(decide_plan(config, requester_class, name, plan));
        if (json) {
            nlohmann::json modules = nlohmann::json::array();
            for (const auto& module : resolved)
                modules.push_back({{"name", module.name},
                                   {"path", module.path},
                                   {"builtin", module.builtin},
                                   {"loaded", module.loaded},
                                   {"install_command", module.install_command},
                                   {"dependencies", module.dependencies}});
            nlohmann::json by_class = nlohmann::json::object();
            for (const auto& decision : decisions) {
                nlohmann::json members = nlohmann::json::array();
                for (const auto& member : decision.members)
                    members.push_back(member_json(member));
                by_class[std::string(to_string(decision.requester_class))] = {
                    {"allowed", decision.allowed}, {"policy", decision.describe()}, {"members", members}};
            }
            explanations.push_back({{"name", name},
                                    {"modules", modules},
                                    {"policy_mode", std::string(to_string(config.policy_mode))},
                                    {"classes", by_class}});
            continue;
        }
        std::string text = name + "\n";
        if (resolved.empty())
            text += "  resolves to nothing in " + loader.modules_dir().string() + "\n";
        for (const auto& module : resolved) {
            text += "  module " + module.name + ": " +
                    (module.builtin ? "built in" : module.path.empty() ? "no file" : module.path) +
                    (module.loaded ? ", loaded" : module.builtin ? "" : ", not loaded");
            if (!module.dependencies.empty())
                text += ", needs " + join(module.dependencies);
            if (!module.install_command.empty())
                text += ", install command: " + module.install_command;
            text += "\n";
        }
        if (!plan.empty()) {
            std::vector<std::string> members;
            for (const auto& member : plan)
                members.push_back(plan_item(member));
            text += "  plan: " + join(members, ", ") + "\n";
        }
        // One line when the requester makes no difference, as for a policy without classes.
        const bool same_for_all = std::all_of(decisions.begin(), decisions.end(), [&](const PolicyDecision& d) {
            return d.describe() == decisions.front().describe();
        });
        if (!as_class && same_for_all) {
            print(text + "  kernel requests: " + decisions.front().describe() + "\n");
            continue;
        }
        for (const auto& decision : decisions) {
            text += "  kernel requests from " + std::string(to_string(decision.requester_class)) +
                    " tasks: " + decision.describe() + "\n";
            if (!as_class)
                continue;
            for (const auto& member : decision.members)
                text += "    " + describe(member.member) + ": " + member.describe() + "\n";
        }
        print(text);
    }
    if (json)
        print_json(explanations);
}

// --suggest-policy: the drop-in (or modprobe.d lines, or the difference to the policy in force) that
// the history since options.since calls for, judged against the running kernel's module tree.
void suggest_policy(const Paths& paths, ModuleLoader& loader, const Options& options)
{
    std::int64_t since_us = 0;
    if (options.since)
        since_us = realtime_us() - static_cast<std::int64_t>(options.since->count()) * 1000000;
    const auto history = read_history(paths, since_us);
    if (history.skipped_lines != 0)
        log::warning("skipped " + std::to_string(history.skipped_lines) + " torn or corrupt lines of the request history");
    const auto plan_of = [&loader](const std::string& name) {
        try {
            return loader.plan(name, PlanScope::from_scratch);
        } catch (const Error&) {
            return std::vector<PlanMember>();
        }
    };
    const auto suggestion = kmodtools::suggest_policy(history.entries, plan_of);
    if (options.modprobe_lines) {
        std::set<std::string> loaded;
        for (const auto& module : read_loaded_modules(paths))
            loaded.insert(module.name);
        print(format_modprobe_suggestion(suggestion, loader.all_modules(), loaded));
        return;
    }
    const auto file = paths.state_dir() / std::string(request_history_file);
    const auto text = format_policy_suggestion(suggestion, paths.on_system(file).string());
    // What is suggested must be what kmod-request reads: parse it back (a fault here is ours).
    Config suggested;
    apply_config_text(suggested, text, "the suggestion");
    if (!options.diff) {
        print(text);
        return;
    }
    const auto difference = diff_policy_suggestion(load_config(paths), suggested, history.entries, plan_of);
    print(difference.empty() ? "# The suggestion decides every request seen as the policy in force does.\n"
                             : difference);
}

void print_results(const std::vector<RequestResult>& results, Requester requester, bool dry_run)
{
    nlohmann::json array = nlohmann::json::array();
    for (const auto& result : results)
        array.push_back({{"name", result.name},
                         {"requester", std::string(to_string(requester))},
                         {"modules", result.modules},
                         {"inserted", result.inserted},
                         {"status", std::string(to_string(result.status))},
                         {"requester_class", requester == Requester::kernel
                                                 ? nlohmann::json(std::string(to_string(result.requester_class)))
                                                 : nlohmann::json(nullptr)},
                         {"policy_note", result.policy_note ? nlohmann::json(*result.policy_note) : nlohmann::json(nullptr)},
                         {"dry_run", dry_run},
                         {"error", result.error ? nlohmann::json(*result.error) : nlohmann::json(nullptr)}});
    print_json(array);
}

ExitStatus run(int argc, char** argv)
{
    const Options options = parse_options(argc, argv);
    const auto paths = Paths::from_environment();
    const Requester requester = detect_requester(paths, options);
    set_up_logging(paths, options, requester);
    if (options.suggest_policy) {
        ModuleLoader loader(paths, modules_dir(paths, options));
        suggest_policy(paths, loader, options);
        return ExitStatus::ok;
    }
    const auto requested = split_requested_names(expand_names(options.names));

    ModuleLoader loader(paths, modules_dir(paths, options));
    if (options.show_depends) {
        show_depends(loader, requested.names);
        return ExitStatus::ok;
    }
    const auto policy = load_policy(paths, options, requester, requested.names);
    if (options.explain) {
        explain(loader, *policy, requested.names, options.as_class, options.json);
        return ExitStatus::ok;
    }

    RequestServer server(paths, loader,
                         {requester, policy ? &*policy : nullptr, options.dry_run, !options.no_restore, options.quiet,
                          options.as_class.value_or(RequesterClass::unknown)});
    std::vector<RequestResult> results;
    ExitStatus status = ExitStatus::ok;
    for (const auto& name : requested.names) {
        const auto it = requested.options.find(name);
        results.push_back(server.serve(name, it == requested.options.end() ? std::string() : it->second));
        if (results.back().error)
            status = ExitStatus::failure;
    }
    if (!options.dry_run)
        server.reconcile_others();
    if (options.json)
        print_results(results, requester, options.dry_run);
    return status;
}

} // namespace
} // namespace kmodtools

int main(int argc, char** argv) { return kmodtools::tool_main("kmod-request", kmodtools::help, argc, argv, kmodtools::run); }
