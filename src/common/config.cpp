// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading the kmod-tools configuration and its layers.
#include "config.hpp"

#include "directory.hpp"
#include "duration.hpp"
#include "error.hpp"
#include "module_pattern.hpp"
#include "owned_file.hpp"
#include "text.hpp"
#include "text_file.hpp"
#include "trusted_path.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

namespace kmodtools {
namespace {

// The owner whose files are trusted besides root: root itself, or the user running the tests.
uid_t trusted_owner() { return ::geteuid(); }

// The text of the configuration file `file` (a path under the root), or std::nullopt if it does not
// exist. Every directory and symlink on the way to it is judged (a policy is only as safe as the
// least safe step to it), and only a file that is simply not there counts as absent: a dangling
// link, a loop, a directory or device in its place, EACCES or EIO fail, naming the file.
// Where the configuration file `file` (a path under the root) leads once its whole way is judged,
// or std::nullopt if it does not exist; throws Error naming the file if any step is refused.
std::optional<std::filesystem::path> judge_config_file(const Paths& paths, const std::filesystem::path& file)
{
    const auto judged = judge_path(paths, paths.on_system(file).string(), TrustedKind::regular_file, trusted_owner());
    if (judged.missing())
        return std::nullopt;
    if (!judged.trusted())
        throw Error::failure("refusing configuration " + file.string() + ": " + judged.problem);
    return judged.resolved;
}

std::optional<std::string> read_config_file(const Paths& paths, const std::filesystem::path& file)
{
    const auto resolved = judge_config_file(paths, file);
    if (!resolved)
        return std::nullopt;
    // What was judged, never through a symlink again; O_NONBLOCK: a FIFO must not hang the helper.
    UniqueFd fd(::open(resolved->c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW));
    if (!fd)
        throw Error::system(errno, "cannot read configuration " + file.string());
    check_owned(fd.get(), file, false);
    return read_all(fd.get(), file);
}

// The drop-ins, in lexical order: *.conf files of the drop-in directory, which is judged too.
std::vector<std::filesystem::path> dropin_files(const Paths& paths)
{
    const auto dir = paths.config_dropin_dir();
    const auto judged = judge_path(paths, paths.on_system(dir).string(), TrustedKind::directory, trusted_owner());
    if (judged.missing())
        return {};
    if (!judged.trusted())
        throw Error::failure("refusing configuration directory " + dir.string() + ": " + judged.problem);
    UniqueFd fd(::open(judged.resolved.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd)
        throw Error::system(errno, "cannot read configuration directory " + dir.string());
    std::vector<std::filesystem::path> files;
    for (const auto& name : list_directory(fd.get(), dir)) {
        // Hidden files are editors' and kmod-sysctl's temporary files.
        constexpr std::string_view suffix = ".conf";
        if (name.front() != '.' && name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            files.push_back(dir / name);
    }
    return files;
}


// The key of a policy line: "deny", "allow", optionally followed by "for CLASS,..." (the rule
// applies to those requesters only) or "unless CLASS,..." (to every other). std::nullopt if the key
// is not a policy key at all.
struct RuleKey {
    bool deny = true;
    RequesterClassSet requesters = RequesterClassSet::all();
    std::string qualifier;
};

template <typename Problem>
std::optional<RuleKey> parse_rule_key(std::string_view key, const Problem& problem)
{
    const auto words = split_words(key);
    if (words.empty() || (words[0] != "deny" && words[0] != "allow"))
        return std::nullopt;
    RuleKey rule_key;
    rule_key.deny = words[0] == "deny";
    if (words.size() == 1)
        return rule_key;
    const std::string head(words[0]);
    if (words[1] != "for" && words[1] != "unless")
        throw problem("expected 'for' or 'unless' after '" + head + "', found '" + std::string(words[1]) + "'");
    const bool unless = words[1] == "unless";
    // The classes may be written "a,b", "a, b" or "a b".
    std::string list;
    for (std::size_t i = 2; i < words.size(); ++i)
        list += std::string(words[i]) + ",";
    auto requesters = RequesterClassSet::none();
    std::size_t start = 0;
    while (start < list.size()) {
        const auto comma = list.find(',', start);
        const auto name = std::string_view(list).substr(start, comma - start);
        start = comma + 1;
        if (name.empty())
            continue;
        const auto requester_class = parse_requester_class(name);
        if (!requester_class)
            throw problem("unknown requester class '" + std::string(name) + "' in '" + std::string(key) +
                          "': privileged, unprivileged, container or unknown");
        requesters.add(*requester_class);
    }
    if (requesters.empty())
        throw problem("'" + head + " " + std::string(words[1]) + "' needs requester classes");
    rule_key.qualifier = std::string(words[1]) + " " + requesters.describe();
    rule_key.requesters = unless ? requesters.complement() : requesters;
    return rule_key;
}

// Adds the rules of one policy line: each pattern a rule, sharing the line's "!PATTERN" exceptions.
// An empty value clears the rules of that key written with the same qualifier ("deny =" all of them).
template <typename Problem>
void add_rules(std::vector<PolicyRule>& rules, const RuleKey& rule_key, std::string_view value, SettingOrigin origin,
               const Problem& problem)
{
    const std::string key = rule_key.deny ? "deny" : "allow";
    std::vector<std::string> patterns;
    std::vector<std::string> exceptions;
    for (const auto word : split_words(value)) {
        const bool exception = word.front() == '!';
        const auto pattern = exception ? word.substr(1) : word;
        if (const auto why = pattern_problem(pattern); !why.empty())
            throw problem("bad " + key + (exception ? " exception '" : " pattern '") + std::string(word) + "': " + why);
        (exception ? exceptions : patterns).emplace_back(pattern);
    }
    if (patterns.empty() && !exceptions.empty())
        throw problem("'" + key + "' line with exceptions only: name what they are exceptions to");
    if (patterns.empty()) {
        std::erase_if(rules, [&](const PolicyRule& rule) {
            return rule_key.qualifier.empty() || rule.qualifier == rule_key.qualifier;
        });
        return;
    }
    for (auto& pattern : patterns)
        rules.push_back({rule_key.deny, std::move(pattern), exceptions, rule_key.requesters, rule_key.qualifier, origin});
}

std::optional<PolicyMode> parse_policy_mode(std::string_view text)
{
    for (const auto mode : {PolicyMode::enforce, PolicyMode::warn, PolicyMode::learn})
        if (text == to_string(mode))
            return mode;
    return std::nullopt;
}

// A cgroup v2 path pattern (fnmatch(3) over the whole path, so '*' spans '/').
std::string cgroup_pattern_problem(std::string_view pattern)
{
    if (pattern.front() != '/')
        return "not an absolute cgroup path";
    if (pattern.size() > 4096)
        return "pattern longer than 4096 characters";
    int depth = 0;
    for (unsigned char c : pattern) {
        if (c < 0x20 || c == 0x7f)
            return "control character in pattern";
        if (c == '[' && ++depth > 1)
            return "'[' inside a bracket expression";
        if (c == ']' && --depth < 0)
            return "']' without '['";
    }
    if (depth != 0)
        return "unbalanced '[' (no closing ']')";
    return {};
}

} // namespace

std::string_view to_string(PolicyMode mode)
{
    switch (mode) {
    case PolicyMode::enforce:
        return "enforce";
    case PolicyMode::warn:
        return "warn";
    case PolicyMode::learn:
        break;
    }
    return "learn";
}

std::string PolicyRule::text() const
{
    std::string text = deny ? "deny" : "allow";
    if (!qualifier.empty())
        text += " " + qualifier;
    text += " = " + pattern;
    for (const auto& exception : exceptions)
        text += " !" + exception;
    return text;
}

std::string SettingOrigin::describe() const
{
    if (file.empty())
        return "built-in default";
    return file.string() + ":" + std::to_string(line);
}

void apply_config_text(Config& config, std::string_view text, const std::filesystem::path& source)
{
    for_each_line(text, [&](std::string_view raw_line, std::size_t line_number) {
        auto problem = [&](const std::string& why) {
            return Error::failure(source.string() + ":" + std::to_string(line_number) + ": " + why);
        };

        const auto line = trim(raw_line);
        if (line.empty() || line.front() == '#')
            return;
        for (unsigned char c : line)
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                throw problem("control character in line");
        const auto equals = line.find('=');
        if (equals == std::string_view::npos)
            throw problem("expected 'key = value', found '" + std::string(line) + "'");
        const auto key = trim(line.substr(0, equals));
        const auto value = trim(line.substr(equals + 1));

        if (key == "unload_delay") {
            std::string why;
            const auto delay = parse_duration(value, &why);
            if (!delay)
                throw problem("bad unload_delay '" + std::string(value) + "': " + why);
            config.unload_delay = *delay;
            config.unload_delay_origin = {source, line_number};
        } else if (key == "keep") {
            const auto patterns = split_words(value);
            if (patterns.empty())
                config.keep.clear();
            for (const auto pattern : patterns) {
                if (const auto why = pattern_problem(pattern); !why.empty())
                    throw problem("bad keep pattern '" + std::string(pattern) + "': " + why);
                config.keep.emplace_back(pattern);
            }
        } else if (const auto rule_key = parse_rule_key(key, problem)) {
            add_rules(rule_key->deny ? config.deny : config.allow, *rule_key, value, {source, line_number}, problem);
        } else if (key == "policy_mode") {
            const auto mode = parse_policy_mode(value);
            if (!mode)
                throw problem("bad policy_mode '" + std::string(value) + "': enforce, warn or learn");
            config.policy_mode = *mode;
            config.policy_mode_origin = {source, line_number};
        } else if (key == "container_cgroups") {
            const auto patterns = split_words(value);
            if (patterns.empty())
                config.container_cgroups.clear();
            for (const auto pattern : patterns) {
                if (const auto why = cgroup_pattern_problem(pattern); !why.empty())
                    throw problem("bad container_cgroups pattern '" + std::string(pattern) + "': " + why);
                config.container_cgroups.emplace_back(pattern);
            }
        } else if (key == "helper_guard") {
            if (value == "report")
                config.helper_guard = HelperGuardMode::report;
            else if (value == "restore")
                config.helper_guard = HelperGuardMode::restore;
            else
                throw problem("bad helper_guard '" + std::string(value) + "': report or restore");
        } else if (key.empty()) {
            throw problem("missing key before '='");
        } else {
            throw problem("unknown key '" + std::string(key) + "'");
        }
    });
}

Config load_config(const Paths& paths, ConfigLayers layers)
{
    Config config;
    auto apply = [&](const std::filesystem::path& file, const std::optional<std::string>& text) {
        if (text)
            apply_config_text(config, *text, file);
    };
    apply(paths.config_file(), read_config_file(paths, paths.config_file()));
    for (const auto& file : dropin_files(paths))
        apply(file, read_config_file(paths, file));
    if (layers == ConfigLayers::all) {
        // Our own runtime state: judged on the way like the rest, and never read through a symlink.
        const auto file = paths.runtime_config_file();
        if (judge_config_file(paths, file)) {
            auto dir = open_owned_directory_if_exists(paths.runtime_dir());
            auto fd = dir ? open_owned_file(dir->get(), file.filename().string(), file) : std::nullopt;
            if (!fd)
                throw Error::failure("refusing configuration " + file.string() + ": it vanished while read");
            apply(file, read_all(fd->get(), file));
        }
    }
    return config;
}

} // namespace kmodtools
