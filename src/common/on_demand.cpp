// SPDX-License-Identifier: LGPL-2.1-or-later
// Records of modules loaded on demand.
#include "on_demand.hpp"

#include "atomic_file.hpp"
#include "directory.hpp"
#include "error.hpp"
#include "loaded_modules.hpp"
#include "log.hpp"
#include "owned_file.hpp"
#include "request_name.hpp"
#include "settings.hpp"
#include "state_json.hpp"
#include "text_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

namespace kmodtools {
namespace {

constexpr const char* records_subdir = "on-demand";

std::filesystem::path records_dir(const Paths& paths) { return paths.runtime_dir() / records_subdir; }

} // namespace

std::string_view to_string(Requester requester) { return requester == Requester::kernel ? "kernel" : "user"; }

std::int64_t boottime_seconds()
{
    timespec now{};
    ::clock_gettime(CLOCK_BOOTTIME, &now);
    return now.tv_sec;
}

std::string serialize(const OnDemandRecord& record)
{
    std::string json = "{\n";
    json += "  \"module\": " + json_string(record.module) + ",\n";
    json += "  \"requested\": " + json_string(record.requested_name) + ",\n";
    json += "  \"requester\": " + json_string(to_string(record.requester)) + ",\n";
    json += "  \"loaded_at\": " + std::to_string(record.loaded_at) + ",\n";
    json += "  \"loaded_at_boottime\": " + std::to_string(record.loaded_at_boottime) + ",\n";
    json += "  \"instance\": " + json_string(record.instance);
    if (record.parameters_at_load) {
        json += ",\n  \"parameters_at_load\": {";
        const char* separator = "\n";
        for (const auto& [name, value] : *record.parameters_at_load) {
            json += separator + std::string("    ") + json_string(name) + ": " + json_string(value);
            separator = ",\n";
        }
        json += record.parameters_at_load->empty() ? "}" : "\n  }";
    }
    return json + "\n}\n";
}

OnDemandRecord parse_on_demand_record(std::string_view text, const std::string& source)
{
    const CorruptError corrupt = [&](const std::string& why) {
        return Error::failure("corrupt record " + source + ": " + why);
    };
    const auto json = parse_state_object(text, corrupt);
    OnDemandRecord record;
    read_state_fields(corrupt, [&] {
        record.module = json.at("module").get<std::string>();
        record.requested_name = json.at("requested").get<std::string>();
        const auto requester = json.at("requester").get<std::string>();
        if (requester == "kernel")
            record.requester = Requester::kernel;
        else if (requester == "user")
            record.requester = Requester::user;
        else
            throw corrupt("unknown requester " + quote_name(requester)); // one line, whatever it holds
        auto whole_number = [&](const char* field) {
            const auto number = json_int64(json.at(field));
            if (!number)
                throw corrupt(std::string(field) + " is not a whole number in range: " + describe_json(json.at(field)));
            return *number;
        };
        record.loaded_at = whole_number("loaded_at");
        record.loaded_at_boottime = whole_number("loaded_at_boottime");
        record.instance = json.at("instance").get<std::string>();
        if (json.contains("parameters_at_load"))
            record.parameters_at_load = json.at("parameters_at_load").get<std::map<std::string, std::string>>();
    });
    if (!is_module_name(record.module))
        throw corrupt("bad module name");
    if (record.loaded_at_boottime < 0)
        throw corrupt("negative load time");
    return record;
}

void write_on_demand_records(const Paths& paths, const std::vector<OnDemandRecord>& records)
{
    for (const auto& record : records)
        if (!is_module_name(record.module))
            throw Error::failure("cannot record module '" + record.module + "': not a module name");
    if (records.empty())
        return;
    open_owned_directory(paths.runtime_dir(), 0755);
    const auto dir = open_owned_directory(records_dir(paths), 0755);
    for (const auto& record : records)
        replace_file_atomically(dir.get(), record.module, serialize(record), 0644, records_dir(paths) / record.module,
                                InTheWay::set_aside);
}

std::map<std::string, OnDemandRecord> read_on_demand_records(const Paths& paths, UntrustedRecords* untrusted)
{
    std::map<std::string, OnDemandRecord> records;
    const auto dir_path = records_dir(paths);
    auto dir_fd = open_owned_directory_if_exists(dir_path);
    if (!dir_fd)
        return records;
    for (const auto& name : list_directory(dir_fd->get(), dir_path)) {
        if (name.front() == '.') // a writer's temporary file
            continue;
        const auto path = dir_path / name;
        try {
            if (!is_module_name(name))
                throw Error::failure("corrupt record " + path.string() + ": not a module name");
            auto fd = open_owned_file(dir_fd->get(), name, path);
            if (!fd) // removed since listed
                continue;
            auto record = parse_on_demand_record(read_all(fd->get(), path, max_state_file_size), path.string());
            if (record.module != name)
                throw Error::failure("corrupt record " + path.string() + ": it names module '" + record.module +
                                     "'");
            records.emplace(name, std::move(record));
        } catch (const Error& error) {
            if (untrusted == nullptr)
                throw;
            untrusted->emplace_back(name, error.what());
        }
    }
    return records;
}

void remove_record(const Paths& paths, std::string_view name)
{
    auto dir = open_owned_directory_if_exists(records_dir(paths));
    if (!dir || name.empty() || name.find('/') != std::string_view::npos || name == "." || name == "..")
        return;
    const std::string file(name);
    // unlinkat never follows a symlink: a planted link is removed, not its target. A directory
    // cannot be unlinked: it is set aside, so that it does not wedge every later sweep.
    if (::unlinkat(dir->get(), file.c_str(), 0) == 0 || errno == ENOENT)
        return;
    if (errno == EISDIR)
        set_aside(dir->get(), file, records_dir(paths) / file);
    else
        throw Error::system(errno, "cannot remove " + (records_dir(paths) / file).string());
}

bool record_matches_instance(const OnDemandRecord& record, std::string_view instance)
{
    return !record.instance.empty() && record.instance == instance;
}

bool record_matches_load(const Paths& paths, const OnDemandRecord& record)
{
    return record_matches_instance(record, module_instance(paths, record.module));
}

void record_inserted(const Paths& paths, const std::string& requested_name, Requester requester,
                     const std::vector<std::string>& inserted, const ExplicitParameters& explicit_parameters)
{
    if (inserted.empty())
        return;
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const auto boottime = boottime_seconds();
    std::vector<OnDemandRecord> records;
    for (const auto& module : inserted) {
        OnDemandRecord& record = records.emplace_back(
            OnDemandRecord{module, requested_name, requester, now, boottime, module_instance(paths, module), {}});
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

void drop_stale_records(const Paths& paths, const std::map<std::string, OnDemandRecord>& records)
{
    std::set<std::string> loaded;
    for (const auto& module : read_loaded_modules(paths))
        loaded.insert(module.name);
    for (const auto& [name, record] : records)
        if (loaded.count(name) == 0 || !record_matches_load(paths, record))
            remove_stale_record(paths, name, record.instance);
}

void remove_stale_record(const Paths& paths, const std::string& name, const std::string& judged_instance)
{
    auto dir = open_owned_directory_if_exists(records_dir(paths));
    if (!dir || !is_module_name(name))
        return;
    // A helper may have loaded the module again and recorded the new load since the record was
    // judged: unlinking by name would delete that fresh record, and leave a module loaded on
    // demand that no sweep ever unloads. So the file is first moved out of the way (atomically,
    // under a temporary name the next sweep cleans up if this one is killed), then looked at.
    const auto path = records_dir(paths) / name;
    const auto hidden = "." + name + ".tmp-" + std::to_string(::getpid()) + "-stale";
    if (::renameat(dir->get(), name.c_str(), dir->get(), hidden.c_str()) < 0) {
        if (errno == ENOENT)
            return;
        throw Error::system(errno, "cannot remove " + path.string());
    }
    bool newer = false;
    try {
        if (auto fd = open_owned_file(dir->get(), hidden, path))
            newer = parse_on_demand_record(read_all(fd->get(), path, max_state_file_size), path.string()).instance !=
                    judged_instance;
    } catch (const Error&) {
        // Not a record we can read: what was judged stale goes either way.
    }
    // A newer record goes back, unless a newer one still took its place meanwhile.
    if (newer && ::renameat2(dir->get(), hidden.c_str(), dir->get(), name.c_str(), RENAME_NOREPLACE) == 0)
        return;
    if (::unlinkat(dir->get(), hidden.c_str(), 0) < 0 && errno != ENOENT)
        throw Error::system(errno, "cannot remove " + path.string());
}

} // namespace kmodtools
