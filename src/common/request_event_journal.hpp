// SPDX-License-Identifier: LGPL-2.1-or-later
// The journal of module_request events that helpers drain from kmod-tools' trace instance.
//
// Opening the instance's `trace` file waited for an RCU grace period (ring_buffer_read_prepare_sync()
// in __tracing_open, removed upstream only by 119a5d573622 in 2025): ~10 ms per open in the VM, and
// the whole buffer is formatted at every read. `trace_pipe` costs nothing to open and returns only
// what is new, but consumes it, so helpers share what they drained: each one, under an
// exclusive flock of /run/kmod-tools/request-events, appends what trace_pipe gives it to that file
// and reads the file back. The file is bounded (the oldest half is dropped past
// max_journal_records, and the drop is remembered as a gap), and a helper killed while it held
// events only it had read leaves its "pending" mark behind, which the next one turns into a gap:
// events can be dropped, never lost without a trace of it.
//
// Layout: one fixed-width header line, then the kernel's lines as trace_pipe printed them.
//     # kmod-tools request events v1 pending=0 gap-until=00000000000000000000
//       generation=00000000000000000007 records=00000000000000000002      (one line)
#pragma once

#include "paths.hpp"
#include "unique_fd.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace kmodtools {

inline constexpr std::string_view request_event_journal = "request-events";
// Plenty for the tasks waiting at any one time (the kernel runs at most 50 helpers at once), and
// small enough to parse at every request.
inline constexpr std::size_t max_journal_records = 128;

struct JournalContent {
    std::string events;             // the kernel's lines, oldest first
    std::uint64_t gap_until_ns = 0; // events older than this may be missing (dropped or lost)
    bool cut_short = false;         // trace_pipe had more than one drain takes: the newest may be missing
    std::uint64_t generation = 0;   // grows whenever new events were added: a change since an earlier read
};

// Opens trace_pipe with `open_pipe` (O_NONBLOCK; under the journal's lock, as the kernel lets only
// one reader have it open at a time: EBUSY), drains it into the journal and returns the journal.
// `now_ns` (in the trace clock) is the gap to assume when an earlier drain died holding events.
// Without `want_events` only the generation and gap are returned (no read of the events: O(new)).
JournalContent drain_request_events(const Paths& paths, const std::function<UniqueFd()>& open_pipe,
                                    const std::filesystem::path& trace_pipe, std::uint64_t now_ns,
                                    bool want_events = true);

// An empty journal without a gap, for a freshly created instance. Throws Error.
void reset_request_events(const Paths& paths);

} // namespace kmodtools
