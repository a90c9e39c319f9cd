// SPDX-License-Identifier: LGPL-2.1-or-later
// The guard on kernel.modprobe.
#include "helper_guard.hpp"

#include "atomic_file.hpp"
#include "error.hpp"
#include "helper_safety.hpp"
#include "kernel_knobs.hpp"
#include "log.hpp"
#include "owned_file.hpp"
#include "request_name.hpp"
#include "state_json.hpp"
#include "sysctl_d.hpp"
#include "text_file.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>

namespace kmodtools {
namespace {

constexpr std::string_view record_name = "helper.json";
constexpr int record_format = 1;
constexpr std::string_view set_by_kmod_sysctl = "kmod-sysctl";
constexpr std::string_view first_seen = "first seen";

// /run/kmod-tools/helper.json: what the admin set in this boot, and the last change reported.
struct HelperRecord {
    std::string expected;
    std::string origin;   // set_by_kmod_sysctl or first_seen
    std::string reported; // "STATE VALUE" of the last critical line, empty when none is pending
};

std::optional<HelperRecord> read_record(const Paths& paths)
{
    const auto path = helper_record_file(paths);
    const auto corrupt = [&](const std::string& why) { return Error::failure("corrupt state " + path.string() + ": " + why); };
    auto dir = open_owned_directory_if_exists(paths.runtime_dir());
    if (!dir)
        return std::nullopt;
    auto fd = open_owned_file(dir->get(), record_name, path);
    if (!fd)
        return std::nullopt;
    const auto json = parse_state_object(read_all(fd->get(), path, max_state_file_size), corrupt);
    HelperRecord record;
    read_state_fields(corrupt, [&] {
        if (json_int64(json.at("format")) != record_format)
            throw corrupt("unknown format " + describe_json(json.at("format")));
        record.expected = json.at("expected").get<std::string>();
        record.origin = json.at("origin").get<std::string>();
        record.reported = json.at("reported").get<std::string>();
    });
    if (record.origin != set_by_kmod_sysctl && record.origin != first_seen)
        throw corrupt("unknown origin " + quote_name(record.origin));
    return record;
}

void write_record(const Paths& paths, const HelperRecord& record)
{
    const nlohmann::json json{{"format", record_format},
                              {"expected", record.expected},
                              {"origin", record.origin},
                              {"reported", record.reported}};
    // A first-seen value is whatever bytes were in the knob: bytes that are not UTF-8 are replaced,
    // so such a value no longer matches next time and is reported (helper_path_problem refuses it too).
    replace_file_atomically(helper_record_file(paths),
                            json.dump(2, ' ', true, nlohmann::json::error_handler_t::replace) + "\n", 0644, 0755,
                            InTheWay::set_aside);
}

// What the admin set, first found first (see the header); std::nullopt: nothing yet, first use.
std::optional<std::pair<std::string, std::string>> admin_helper(const Paths& paths,
                                                                const std::optional<HelperRecord>& record)
{
    if (record && record->origin == set_by_kmod_sysctl)
        return std::pair{record->expected, std::string(set_by_kmod_sysctl)};
    if (auto at_boot = boot_sysctl_value(paths, "kernel.modprobe"))
        return std::pair{at_boot->value, at_boot->origin.describe()};
    if (record)
        return std::pair{record->expected, record->origin};
    return std::nullopt;
}

// What was reported, byte-exact whatever bytes the knob holds: the state and the value in hex.
std::string state_key(const HelperCheck& check)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string key(to_string(check.state));
    // A failed put-back is news of its own: the admin learns that restore cannot work here.
    key += check.restore_failed ? "-not-restored " : " ";
    for (const unsigned char c : check.live) {
        key += digits[c >> 4];
        key += digits[c & 0xf];
    }
    return key;
}

} // namespace

std::string_view to_string(HelperState state)
{
    switch (state) {
    case HelperState::as_set:
        return "as-set";
    case HelperState::changed:
        return "changed";
    case HelperState::unsafe:
        return "unsafe";
    case HelperState::restored:
        return "restored";
    case HelperState::no_module_support:
        return "no-module-support";
    }
    return "unknown";
}

std::filesystem::path helper_record_file(const Paths& paths) { return paths.runtime_dir() / std::string(record_name); }

void record_helper_set(const Paths& paths, std::string_view helper)
{
    write_record(paths, {std::string(helper), std::string(set_by_kmod_sysctl), ""});
}

HelperCheck guard_helper(const Paths& paths, HelperGuardMode mode, bool dry_run)
{
    HelperCheck check;
    std::error_code ignored;
    if (!std::filesystem::exists(paths.sysctl_modprobe(), ignored)) {
        check.state = HelperState::no_module_support;
        return check;
    }
    check.live = read_modprobe_helper(paths);

    std::optional<HelperRecord> record;
    try {
        record = read_record(paths);
    } catch (const Error& error) {
        // Rewritten below: a corrupt record only costs the memory of what was reported.
        log::warning(std::string(error.what()) + "; starting it again");
    }
    bool record_changed = false;
    if (const auto admin = admin_helper(paths, record)) {
        std::tie(check.expected, check.origin) = *admin;
    } else {
        check.expected = check.live;
        check.origin = first_seen;
        record = HelperRecord{check.live, std::string(first_seen), ""};
        record_changed = true;
    }

    const auto live = quote_whole(check.live);
    const auto expected = quote_whole(check.expected);
    if (check.live != check.expected) {
        check.state = HelperState::changed;
        check.problem = "kernel.modprobe is " + live + ", not " + expected + " as set (" + check.origin + ")";
    } else if (!check.live.empty()) {
        if (auto why = helper_path_problem(paths, check.live); !why.empty()) {
            check.state = HelperState::unsafe;
            check.problem = "kernel.modprobe " + live + " is no longer a safe helper: " + why;
        }
    }

    if (check.state == HelperState::changed && mode == HelperGuardMode::restore && !dry_run) {
        const auto why = check.expected.empty() ? std::string() : helper_path_problem(paths, check.expected);
        if (why.empty()) {
            try {
                write_modprobe_helper(paths, check.expected);
                check.state = HelperState::restored;
                check.problem = "kernel.modprobe was changed behind kmod-tools' back to " + live + "; put back " +
                                expected + " (" + check.origin + "), as helper_guard = restore says";
                log::critical_audit(check.problem);
                check.newly_reported = true;
            } catch (const Error& error) {
                // Under kmod-reap.service /proc/sys is read-only (ProtectKernelTunables=yes) unless a
                // drop-in makes the knob writable: the change is still reported, with why it stays.
                check.problem += std::string("; could not put it back: ") + error.what();
                check.restore_failed = true;
            }
        } else {
            check.problem += "; not putting it back: " + expected + " is not safe either: " + why;
        }
    }

    const std::string reported = record ? record->reported : "";
    if (check.state == HelperState::changed || check.state == HelperState::unsafe) {
        if (reported != state_key(check)) {
            log::critical_audit(check.problem + (check.state == HelperState::changed && mode == HelperGuardMode::report
                                                     ? "; left as it is (set it with kmod-sysctl modprobe=..., or "
                                                       "helper_guard = restore to have sweeps put it back)"
                                                     : ""));
            check.newly_reported = true;
            if (!record)
                record = HelperRecord{check.expected, std::string(first_seen), ""};
            record->reported = state_key(check);
            record_changed = true;
        }
    } else if (!reported.empty()) {
        if (check.state == HelperState::as_set)
            log::audit("kernel.modprobe is " + expected + " again, as set (" + check.origin + ")");
        record->reported.clear();
        record_changed = true;
    }

    if (record_changed && !dry_run) {
        try {
            write_record(paths, *record);
        } catch (const Error& error) {
            // Not root (kmod-sysctl run by a user) or /run read-only: then each run reports again.
            log::debug(std::string("cannot remember what was reported: ") + error.what());
        }
    }
    return check;
}

} // namespace kmodtools
