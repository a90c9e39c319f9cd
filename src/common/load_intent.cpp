// SPDX-License-Identifier: LGPL-2.1-or-later
// Load intents: written before insertion, reconciled into on-demand records once their writer is gone.
#include "load_intent.hpp"

#include "atomic_file.hpp"
#include "directory.hpp"
#include "error.hpp"
#include "loaded_modules.hpp"
#include "log.hpp"
#include "owned_file.hpp"
#include "request_name.hpp"
#include "state_json.hpp"
#include "text.hpp"
#include "text_file.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <optional>
#include <set>

namespace kmodtools {

std::filesystem::path pending_dir(const Paths& paths) { return paths.runtime_dir() / "pending"; }

std::string serialize(const LoadIntent& intent)
{
    std::string json = "{\n";
    json += "  \"pid\": " + std::to_string(intent.pid) + ",\n";
    json += "  \"requester\": " + json_string(to_string(intent.requester)) + ",\n";
    json += "  \"written_at\": " + std::to_string(intent.written_at) + ",\n";
    json += "  \"written_at_boottime\": " + std::to_string(intent.written_at_boottime) + ",\n";
    json += "  \"modules\": [";
    const char* separator = "\n";
    for (const auto& load : intent.modules) {
        json += separator + std::string("    {\"module\": ") + json_string(load.module) +
                ", \"requested\": " + json_string(load.requested_name) +
                ", \"instance_before\": " + json_string(load.instance_before) + "}";
        separator = ",\n";
    }
    json += intent.modules.empty() ? "]" : "\n  ]";
    return json + "\n}\n";
}

LoadIntent parse_load_intent(std::string_view text, const std::string& source)
{
    const CorruptError corrupt = [&](const std::string& why) {
        return Error::failure("corrupt load intent " + source + ": " + why);
    };
    const auto json = parse_state_object(text, corrupt);
    LoadIntent intent;
    read_state_fields(corrupt, [&] {
        auto whole_number = [&](const char* field) {
            const auto number = json_int64(json.at(field));
            if (!number || *number < 0)
                throw corrupt(std::string(field) + " is not a whole number in range: " + describe_json(json.at(field)));
            return *number;
        };
        const auto pid = whole_number("pid");
        if (pid == 0 || pid > 0x3fffffff) // PID_MAX_LIMIT is 4194304; pid_t is 32 bits
            throw corrupt("pid is not a process id: " + std::to_string(pid));
        intent.pid = static_cast<pid_t>(pid);
        const auto requester = json.at("requester").get<std::string>();
        if (requester == "kernel")
            intent.requester = Requester::kernel;
        else if (requester == "user")
            intent.requester = Requester::user;
        else
            throw corrupt("unknown requester " + quote_name(requester));
        intent.written_at = whole_number("written_at");
        intent.written_at_boottime = whole_number("written_at_boottime");
        const auto& modules = json.at("modules");
        if (!modules.is_array())
            throw corrupt("modules is not an array: " + describe_json(modules));
        for (const auto& entry : modules) {
            IntendedLoad load;
            load.module = entry.at("module").get<std::string>();
            load.requested_name = entry.at("requested").get<std::string>();
            load.instance_before = entry.at("instance_before").get<std::string>();
            if (!is_module_name(load.module))
                throw corrupt("bad module name " + quote_name(load.module));
            intent.modules.push_back(std::move(load));
        }
    });
    return intent;
}

LoadIntentWriter::LoadIntentWriter(const Paths& paths, Requester requester) : paths_(paths)
{
    intent_.pid = ::getpid();
    intent_.requester = requester;
}

void LoadIntentWriter::write()
{
    if (failed_)
        return;
    const auto dir_path = pending_dir(paths_);
    const auto name = std::to_string(intent_.pid);
    try {
        open_owned_directory(paths_.runtime_dir(), 0755);
        const auto dir = open_owned_directory(dir_path, 0755);
        if (intent_.modules.empty()) {
            if (::unlinkat(dir.get(), name.c_str(), 0) < 0 && errno != ENOENT)
                throw Error::system(errno, "cannot remove " + (dir_path / name).string());
            return;
        }
        replace_file_atomically(dir.get(), name, serialize(intent_), 0644, dir_path / name, InTheWay::set_aside);
        wrote_any_ = true;
    } catch (const Error& error) {
        failed_ = true;
        log::error(std::string("cannot keep the load intent: ") + error.what() +
                   "; what this run inserts and cannot record stays loaded");
    }
}

void LoadIntentWriter::about_to_insert(const std::string& module, const std::string& requested_name)
{
    // Only the first entry's time is kept: it is no later than any load the file names.
    if (intent_.modules.empty()) {
        intent_.written_at = static_cast<std::int64_t>(std::time(nullptr));
        intent_.written_at_boottime = boottime_seconds();
    }
    const auto normalized = normalize_module_name(module);
    intent_.modules.push_back({normalized, requested_name, module_instance(paths_, normalized)});
    write();
}

void LoadIntentWriter::settled(const std::string& requested_name)
{
    const auto before = intent_.modules.size();
    std::erase_if(intent_.modules, [&](const IntendedLoad& load) { return load.requested_name == requested_name; });
    if (intent_.modules.size() != before)
        write();
}

namespace {

// Whether the process that wrote an intent may still be running. Our own pid is never "gone": it is
// this process's own file (or a dead writer's whose pid we reuse, which the next run reconciles).
bool writer_may_run(pid_t pid) { return pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH; }

std::optional<pid_t> pid_of_file_name(const std::string& name)
{
    pid_t pid = 0;
    const auto parsed = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (parsed.ec != std::errc() || parsed.ptr != name.data() + name.size() || pid <= 0 || name.front() == '0')
        return std::nullopt;
    return pid;
}

// The records that a gone writer's intent stands for: loads of its modules that happened since
// it was written and that nothing recorded.
std::vector<OnDemandRecord> records_owed(const Paths& paths, const LoadIntent& intent,
                                         const std::set<std::string>& loaded,
                                         const std::map<std::string, OnDemandRecord>& records)
{
    std::vector<OnDemandRecord> owed;
    std::set<std::string> seen;
    for (const auto& load : intent.modules) {
        if (loaded.count(load.module) == 0 || !seen.insert(load.module).second)
            continue;
        const auto instance = module_instance(paths, load.module);
        if (instance.empty() || instance == load.instance_before)
            continue; // the load that was there before the intent: not ours
        if (const auto record = records.find(load.module); record != records.end() && record->second.instance == instance)
            continue; // recorded after all (killed between the record and removing the intent)
        // The parameters as loaded are unknown: left out, so kmod-reap saves every writable one
        // (a setting is never lost; at worst a default is kept as a setting).
        owed.push_back({load.module, load.requested_name, intent.requester, intent.written_at,
                        intent.written_at_boottime, instance, std::nullopt});
    }
    return owed;
}

} // namespace

ReconcileReport reconcile_load_intents(const Paths& paths, bool dry_run)
{
    ReconcileReport report;
    const auto dir_path = pending_dir(paths);
    const auto dir = open_owned_directory_if_exists(dir_path);
    if (!dir)
        return report;
    auto names = list_directory(dir->get(), dir_path);
    std::erase_if(names, [](const std::string& name) { return name.front() == '.'; }); // temporaries, set aside
    if (names.empty())
        return report; // the usual case: read nothing else

    // Records and modules are read for each intent of a writer that is gone, after it was seen gone,
    // so whatever it recorded is in them. With 50 helpers at once most files are theirs, still
    // running: those cost a kill(2) each, and nothing is read for them.
    auto read_state = [&](std::map<std::string, OnDemandRecord>& records, std::set<std::string>& loaded) {
        UntrustedRecords untrusted; // the sweep reports and removes those; here they count as absent
        records = read_on_demand_records(paths, &untrusted);
        for (const auto& module : read_loaded_modules(paths))
            loaded.insert(module.name);
    };

    for (const auto& name : names) {
        const auto path = dir_path / name;
        std::optional<LoadIntent> intent;
        try {
            const auto pid = pid_of_file_name(name);
            if (!pid)
                throw Error::failure("corrupt load intent " + path.string() + ": its name is not a process id");
            auto fd = open_owned_file(dir->get(), name, path);
            if (!fd) // its writer finished since the listing
                continue;
            if (writer_may_run(*pid)) {
                ++report.in_progress;
                continue;
            }
            intent = parse_load_intent(read_all(fd->get(), path, max_state_file_size), path.string());
            if (intent->pid != *pid)
                throw Error::failure("corrupt load intent " + path.string() + ": it names process " +
                                     std::to_string(intent->pid));
        } catch (const Error& error) {
            ++report.set_aside;
            if (dry_run) {
                log::warning(std::string(error.what()) + "; a sweep would move it out of the way");
                continue;
            }
            try {
                set_aside(dir->get(), name, path, error.what());
            } catch (const Error& cannot) {
                log::error(std::string(error.what()) + "; " + cannot.what());
            }
            continue;
        }
        std::map<std::string, OnDemandRecord> records;
        std::set<std::string> loaded;
        read_state(records, loaded);
        const auto owed = records_owed(paths, *intent, loaded, records);
        std::vector<std::string> modules;
        for (const auto& record : owed)
            modules.push_back(record.module);
        if (dry_run) {
            if (!owed.empty())
                log::notice("would record " + join(modules) + ", loaded on demand by process " +
                            std::to_string(intent->pid) + " which ended before recording them");
            report.recorded += static_cast<int>(owed.size());
            ++report.dropped;
            continue;
        }
        try {
            write_on_demand_records(paths, owed);
            if (::unlinkat(dir->get(), name.c_str(), 0) < 0 && errno != ENOENT)
                throw Error::system(errno, "cannot remove " + path.string());
        } catch (const Error& error) {
            log::error(std::string("cannot reconcile ") + path.string() + ": " + error.what() + "; next run tries again");
            continue;
        }
        // A warning: a helper killed mid-request is worth the kernel log even under -q.
        if (!owed.empty())
            log::warning("recorded " + join(modules) + ", loaded on demand by process " + std::to_string(intent->pid) +
                        " which ended before recording them");
        report.recorded += static_cast<int>(owed.size());
        ++report.dropped;
    }
    return report;
}

} // namespace kmodtools
