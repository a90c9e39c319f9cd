// SPDX-License-Identifier: LGPL-2.1-or-later
// Load intents: what a kmod-request process is about to insert, written before it inserts, so that a
// SIGKILL between insertion and record cannot leave an on-demand module without its record.
//
// One file per process, /run/kmod-tools/pending/PID, replaced atomically before each insertion and
// removed once the records of what went in are written. A file whose writer is gone is reconciled by
// the next kmod-request that inserts something and by every kmod-reap sweep: each module it names
// that is loaded now, by another load than the one that was in the kernel when the intent was
// written (loads are told apart by module_instance(), the inode of /sys/module/NAME), and that has no
// record of that load becomes a record; the rest is dropped with the file.
#pragma once

#include "on_demand.hpp"
#include "paths.hpp"

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

struct IntendedLoad {
    std::string module;          // as the kernel names it
    std::string requested_name;  // the name whose request inserts it
    std::string instance_before; // module_instance() when the intent was written: "" if not loaded
};

struct LoadIntent {
    pid_t pid = 0; // the writer; its file is named after it
    Requester requester = Requester::user;
    std::int64_t written_at = 0;          // wall clock, seconds: the record's loaded_at if reconciled
    std::int64_t written_at_boottime = 0; // CLOCK_BOOTTIME seconds
    std::vector<IntendedLoad> modules;    // in the order they were announced
};

std::filesystem::path pending_dir(const Paths& paths);

// The serialized form, exposed for tests and fuzzing.
std::string serialize(const LoadIntent& intent);
// Throws Error ("corrupt load intent SOURCE: why") for anything serialize() would not have written.
LoadIntent parse_load_intent(std::string_view text, const std::string& source);

// This process's intent file. Its methods never throw: a failure to write the intent is logged once
// and the load goes on (a module that ends up unrecorded stays loaded: the safe side), since refusing
// a kernel request because /run is full would fail the user for the sake of a later unload.
class LoadIntentWriter {
public:
    LoadIntentWriter(const Paths& paths, Requester requester);

    // Called just before `module` is inserted for `requested_name`: adds it to the intent file.
    void about_to_insert(const std::string& module, const std::string& requested_name);
    // The records of what `requested_name` inserted are written (or nothing of it went in): its entries
    // are done. The file goes when no entry is left. Not called when recording failed: the next run
    // then reconciles what this one could not record.
    void settled(const std::string& requested_name);
    // Whether this process wrote an intent file (and so should reconcile others' after its work).
    bool wrote_any() const { return wrote_any_; }

private:
    void write();

    Paths paths_; // a copy: a writer must not outlive the paths it writes under
    LoadIntent intent_;
    bool wrote_any_ = false;
    bool failed_ = false; // said once; later writes are not tried
};

struct ReconcileReport {
    int recorded = 0;     // modules that became records
    int dropped = 0;      // intent files removed (their writer gone)
    int set_aside = 0;    // corrupt or untrusted intent files moved out of the way
    int in_progress = 0;  // intent files whose writer still runs
};

// Reconciles the intents of writers that are gone (see the top of this file). A corrupt, foreign or
// non-file intent is reported in one line and set aside; a record that cannot be written leaves its
// intent for the next run. With `dry_run`, only says what a run would do. Throws Error only when the
// pending directory itself cannot be read.
ReconcileReport reconcile_load_intents(const Paths& paths, bool dry_run);

} // namespace kmodtools
