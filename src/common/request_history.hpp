// SPDX-License-Identifier: LGPL-2.1-or-later
// The history of kernel requests: every request, what it resolved to, who asked, what was decided.
//
// One root-only file, /var/lib/kmod-tools/request-history, rotated to request-history.1 … .N when it
// would pass max_file_bytes, so a user who triggers a million requests costs at most
// (N + 1) × max_file_bytes of disk and every append stays O(1).
//
// Concurrency (the kernel runs up to 50 helpers at once): an entry is one line, written with ONE
// write() to a descriptor opened O_APPEND. Linux holds the inode lock for the whole of such a write
// to a regular file, so lines of concurrent writers never interleave; writers hold a shared flock on
// request-history.lock meanwhile, so they never block one another. Rotation takes the lock exclusive
// (after the writers in flight are done), checks again that the file is still too big (another
// writer may have rotated it first) and renames: no entry is ever written to a file being renamed
// away, none is lost.
//
// Crash safety: renames are atomic, and a crash between two of them leaves a file too big that the
// next writer rotates. A writer killed mid-write, or a disk that filled, leaves at most its own line
// torn. Each line starts with a record separator (0x1e) and ends with a checksum, so a reader skips a
// torn line and resynchronises at the next separator, losing nothing else. Without `sync`, a power
// loss may also lose what the page cache had not written back yet.
//
// The file is opened relative to the checked state directory without following symlinks, and
// refused if it is not a regular file owned by root (or us) and writable by no one else.
#pragma once

#include "paths.hpp"
#include "requester_info.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

inline constexpr std::string_view request_history_file = "request-history";

struct HistoryEntry {
    std::int64_t time_us = 0; // CLOCK_REALTIME, microseconds since the epoch
    std::string name;         // as requested: any bytes (escaped in the file)
    std::vector<std::string> modules;
    std::string decision; // a token of [a-z0-9_-]: granted, denied, would-deny, …
    RequesterClass requester_class = RequesterClass::unknown;
    std::string requester; // Attribution::describe()

    bool operator==(const HistoryEntry&) const = default;
};

// Now, as HistoryEntry::time_us counts.
std::int64_t realtime_us();

struct HistoryLimits {
    std::uint64_t max_file_bytes = 1 << 20; // ~5000 entries a file
    unsigned rotated_files = 3;
    bool sync = false; // fdatasync() every entry: survives power loss, costs a disk flush per request
};

// Appends one entry. Throws Error (e.g. a full disk, a refused file): the caller warns and serves
// the request anyway.
void append_history(const Paths& paths, const HistoryEntry& entry, const HistoryLimits& limits = {});

struct HistoryRead {
    std::vector<HistoryEntry> entries; // oldest first
    std::size_t skipped_lines = 0;     // torn or corrupt lines (and torn remains before an entry)
};

// Every entry at or after `since_us`, from the rotated files and the current one. A missing history
// is empty; a symlink, foreign-owned or group-writable file is an Error.
HistoryRead read_history(const Paths& paths, std::int64_t since_us = 0, const HistoryLimits& limits = {});

// One line of the file, with its separator, checksum and '\n'. Fields are cut to bounded lengths
// (an entry is never longer than max_history_line); throws Error for a bad decision token.
std::string format_history_entry(const HistoryEntry& entry);
inline constexpr std::size_t max_history_line = 32 * 1024;
// The entry of one line (without '\n'), or std::nullopt if it is torn, corrupt or not an entry.
std::optional<HistoryEntry> parse_history_line(std::string_view line);

} // namespace kmodtools
