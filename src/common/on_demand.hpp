// SPDX-License-Identifier: LGPL-2.1-or-later
// Records of modules loaded on demand: the modern form of the kernel's old autoclean flag.
//
// One file per module under /run/kmod-tools/on-demand/ (modules do not survive reboot, nor should
// their records). One file each lets the up-to-50 helpers the kernel runs at once record without a
// shared lock: each write is an atomic replace of that module's own file.
#pragma once

#include "paths.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kmodtools {

enum class Requester { kernel, user };
std::string_view to_string(Requester requester);

struct OnDemandRecord {
    std::string module;          // as the kernel names it (underscores)
    std::string requested_name;  // what was asked for: an alias such as fs-xfs, or the module itself
    Requester requester = Requester::user;
    std::int64_t loaded_at = 0;  // wall clock, seconds since the epoch, for people
    std::int64_t loaded_at_boottime = 0; // CLOCK_BOOTTIME seconds: does not jump when the clock is set
    std::string instance;        // module_instance() after loading: tells a reload from the original
    // Writable parameters right after loading, so that kmod-reap saves only what was changed since.
    std::optional<std::map<std::string, std::string>> parameters_at_load;
};

// Seconds on CLOCK_BOOTTIME, which counts suspend and never goes back.
std::int64_t boottime_seconds();

// Writes (atomically replaces) the record of each record.module; the directories are checked once.
void write_on_demand_records(const Paths& paths, const std::vector<OnDemandRecord>& records);

// Record files that could not be trusted: file name, and why.
using UntrustedRecords = std::vector<std::pair<std::string, std::string>>;

// Every record; a record that cannot be trusted (corrupt, foreign-owned, a symlink) throws Error
// naming its file, so callers never act on it. With `untrusted`, such records are left out and
// their problems collected there instead.
std::map<std::string, OnDemandRecord> read_on_demand_records(const Paths& paths,
                                                             UntrustedRecords* untrusted = nullptr);

// Removes the record file `name`, if any, whatever its content (also kmod-reap's recovery from
// corrupt records, whose names need not be module names).
void remove_record(const Paths& paths, std::string_view name);

// Whether `record` describes the load of its module that is in the kernel now, not an earlier
// load of the same name (unloaded, then loaded again by other means). The one rule for it.
bool record_matches_load(const Paths& paths, const OnDemandRecord& record);
// The same for a load already looked at: `instance` is module_instance() of the record's module.
bool record_matches_instance(const OnDemandRecord& record, std::string_view instance);

// Parameters given explicitly at load time (command line, restored settings), per module: they
// are left out of the load-time snapshot, so kmod-reap always saves them, like any changed value.
using ExplicitParameters = std::map<std::string, std::set<std::string>>;

// Records the modules one request inserted (`inserted`, in load order), each with a snapshot of
// its writable parameters as loaded, less `explicit_parameters`.
void record_inserted(const Paths& paths, const std::string& requested_name, Requester requester,
                     const std::vector<std::string>& inserted, const ExplicitParameters& explicit_parameters);

// Removes the record file `name` if it still holds the record judged stale (`judged_instance`): a
// record written since for a new load of the module is kept.
void remove_stale_record(const Paths& paths, const std::string& name, const std::string& judged_instance);

// Removes the records of modules no longer loaded, and of earlier loads of modules loaded again
// since by other means: they describe nothing, and must not make a later load look on demand.
// `records` must have been read before this call, which reads the module list: a record read
// describes a load that happened before, which the list read after shows, so a fresh record is never
// mistaken for a stale one (and one written since is not judged at all). A sweep passes those it
// read before its own work, rather than reading every record again.
void drop_stale_records(const Paths& paths, const std::map<std::string, OnDemandRecord>& records);

// The serialized form, exposed for tests.
std::string serialize(const OnDemandRecord& record);
OnDemandRecord parse_on_demand_record(std::string_view text, const std::string& source);

} // namespace kmodtools
