// SPDX-License-Identifier: LGPL-2.1-or-later
// kmod-sysctl's knobs.
#include "knobs.hpp"

#include "atomic_file.hpp"
#include "config.hpp"
#include "duration.hpp"
#include "error.hpp"
#include "helper_guard.hpp"
#include "helper_safety.hpp"
#include "helper_trace.hpp"
#include "kernel_knobs.hpp"
#include "log.hpp"
#include "request_name.hpp"
#include "request_trace.hpp"
#include "text_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <functional>
#include <optional>

namespace kmodtools {
namespace {

nlohmann::json read_modprobe(const Paths& paths) { return read_modprobe_helper(paths); }

void check_modprobe(const Paths& paths, std::string_view helper)
{
    if (helper.empty())
        return; // disables autoloading: allowed, with a warning when set
    if (auto problem = helper_path_problem(paths, helper); !problem.empty())
        throw Error::failure("refusing modprobe helper " + quote_name(helper) + ": " + problem);
}

// kmod-request attributes each request to the task that made it only from a trace that was
// recording a few seconds before the request (helper_trace.hpp): so the instance comes first, and
// goes again if the switch fails. A failure to set it up is a warning, and the switch goes on.
std::function<void()> prepare_modprobe(const Paths& paths, std::string_view helper)
{
    if (prepare_request_trace_for(paths, helper) != TracePreparation::created)
        return {};
    return [&paths] { remove_request_trace(paths); };
}

void set_modprobe(const Paths& paths, std::string_view helper, bool persist)
{
    if (helper.empty())
        log::warning("an empty modprobe disables module autoloading: the kernel will request no module");
    write_modprobe_helper(paths, helper);
    // What the admin set, for the guard of every later sweep (helper_guard.hpp).
    record_helper_set(paths, helper);
    if (persist)
        replace_file_atomically(paths.sysctl_dropin(),
                                "# Written by kmod-sysctl --persist: the kernel's module helper.\n"
                                "kernel.modprobe = " + std::string(helper) + "\n",
                                0644);
}

nlohmann::json read_unload_delay(const Paths& paths) { return load_config(paths).unload_delay.count(); }

std::chrono::seconds parse_unload_delay(std::string_view value)
{
    std::string why;
    const auto delay = parse_duration(value, &why);
    if (!delay)
        throw Error::usage("bad value " + quote_name(value) + " for unload_delay: " + why);
    return *delay;
}

void check_unload_delay(const Paths&, std::string_view value) { parse_unload_delay(value); }

void set_unload_delay(const Paths& paths, std::string_view value, bool persist)
{
    const auto delay = parse_unload_delay(value);
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

std::vector<std::filesystem::path> modprobe_files(const Paths& paths, bool persist)
{
    if (persist)
        return {helper_record_file(paths), paths.sysctl_dropin()};
    return {helper_record_file(paths)};
}

void restore_modprobe(const Paths& paths, const nlohmann::json& value)
{
    write_modprobe_helper(paths, value.get<std::string>());
}

std::vector<std::filesystem::path> unload_delay_files(const Paths& paths, bool persist)
{
    if (persist)
        return {paths.persisted_config_file(), paths.runtime_config_file()};
    return {paths.runtime_config_file()};
}

nlohmann::json read_disabled(const Paths& paths) { return read_modules_disabled(paths); }

// A file as it was before a change: its content and mode, or that it did not exist.
struct SavedFile {
    std::filesystem::path path;
    std::optional<std::string> content;
    mode_t mode = 0644;
};

SavedFile save_file(const std::filesystem::path& path)
{
    SavedFile saved{path, read_text_file_if_exists(path), 0644};
    struct stat st {};
    if (saved.content && ::stat(path.c_str(), &st) == 0)
        saved.mode = st.st_mode & 07777;
    return saved;
}

void put_back(const SavedFile& saved)
{
    if (saved.content) {
        replace_file_atomically(saved.path, *saved.content, saved.mode);
    } else if (::unlink(saved.path.c_str()) < 0 && errno != ENOENT) {
        throw Error::system(errno, "cannot remove " + saved.path.string());
    }
}

// The 2.2 days' /proc/sys/kernel had kmod_unload_delay; the kernel's own names carry "kernel.".
constexpr std::array<Knob, 3> all_knobs{{
    {"modprobe", "kernel.modprobe", read_modprobe, check_modprobe, prepare_modprobe, set_modprobe, modprobe_files,
     restore_modprobe, {}},
    {"unload_delay", "kmod_unload_delay", read_unload_delay, check_unload_delay, nullptr, set_unload_delay,
     unload_delay_files, nullptr, {}},
    {"modules_disabled", "kernel.modules_disabled", read_disabled, nullptr, nullptr, nullptr, nullptr, nullptr,
     "setting it is a one-way switch; use sysctl kernel.modules_disabled=1 if you mean it"},
}};

} // namespace

std::span<const Knob> knobs() { return all_knobs; }

const Knob& knob_named(std::string_view name)
{
    std::string known;
    for (const auto& knob : all_knobs) {
        if (knob.name == name || knob.synonym == name)
            return knob;
        known += (known.empty() ? "" : ", ") + std::string(knob.name);
    }
    throw Error::usage("unknown name " + quote_name(name) + " (known: " + known + ")");
}

void set_knobs(const Paths& paths, const std::vector<std::pair<const Knob*, std::string>>& settings, bool persist)
{
    // What each step is about to change, saved before it changes it, undone in reverse order.
    std::vector<std::function<void()>> undo;
    try {
        for (const auto& [knob, value] : settings) {
            if (knob->prepare != nullptr)
                if (auto undo_prepare = knob->prepare(paths, value))
                    undo.push_back(std::move(undo_prepare));
            for (const auto& file : knob->files(paths, persist))
                undo.push_back([saved = save_file(file)] { put_back(saved); });
            if (knob->restore_live != nullptr)
                undo.push_back([&paths, restore = knob->restore_live, before = knob->read(paths)] {
                    restore(paths, before);
                });
            knob->set(paths, value, persist);
        }
    } catch (const Error& error) {
        std::string left;
        for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
            try {
                (*it)();
            } catch (const Error& undo_error) {
                left += std::string("; could not put back: ") + undo_error.what();
            }
        }
        throw Error(error.status(), std::string(error.what()) +
                                        (left.empty() ? "; nothing was changed" : left), error.errnum());
    }
}

std::string format_knob_value(const nlohmann::json& value)
{
    if (value.is_string())
        return value.get<std::string>();
    if (value.is_boolean())
        return value.get<bool>() ? "1" : "0";
    return value.dump();
}

} // namespace kmodtools
