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
// Helpers start in bursts (a boot, a mount storm: up to 50 at once), and taking turns at the
// exclusive lock made each wait for all the others (a median of ~1 s each for 30 at once under
// TCG, and once the kernel's "kmod busy"). So a drain is shared as a group commit is: a helper that
// finds the lock taken waits for a shared lock instead, and if the drain it waited for started
// after the helper asked (the header's `drained` time, in the trace clock), that drain holds every
// event committed before the helper asked, and the helper reads the journal as it is. Only a helper
// that asked after the drain began drains again. No lock is waited for longer than
// journal_lock_timeout: a drain wedged in the kernel must not hold up every module request.
//
// Layout: one fixed-width header line, then the kernel's lines as trace_pipe printed them.
//     # kmod-tools request events v2 pending=0 gap-until=00000000000000000000
//       generation=00000000000000000007 records=00000000000000000002
//       drained=00000000000000000000                                       (one line)
#pragma once

#include "paths.hpp"
#include "unique_fd.hpp"

#include <chrono>
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
// How long a helper waits for the journal's lock before it gives up (Error with errnum EWOULDBLOCK):
// the kernel fails a request ("kmod busy") once all 50 helpers are busy for 5 s.
inline constexpr std::chrono::milliseconds journal_lock_timeout{1500};

// The trace clock (CLOCK_BOOTTIME, as the instance's trace_clock "boot"), in nanoseconds.
using TraceClock = std::function<std::uint64_t()>;

struct JournalContent {
    std::string events;             // the kernel's lines, oldest first
    std::uint64_t gap_until_ns = 0; // events older than this may be missing (dropped or lost)
    bool cut_short = false;         // trace_pipe had more than one drain takes: the newest may be missing
    std::uint64_t generation = 0;   // grows whenever new events were added: a change since an earlier read
};

// The journal with every event committed before the call: drained now by this process (trace_pipe
// opened with `open_pipe`, O_NONBLOCK, under the journal's exclusive lock, as the kernel lets only
// one reader have it open at a time: EBUSY), or by another one whose drain began after this call.
// The time of the call (`clock`) is also the gap to assume when an earlier drain died holding
// events. Without `want_events` only the generation and gap are returned (no read of the events).
// Throws Error (errnum EWOULDBLOCK when the lock stayed taken for journal_lock_timeout).
JournalContent drain_request_events(const Paths& paths, const std::function<UniqueFd()>& open_pipe,
                                    const std::filesystem::path& trace_pipe, const TraceClock& clock,
                                    bool want_events = true);

// An empty journal without a gap, for a freshly created instance. Throws Error.
void reset_request_events(const Paths& paths);

} // namespace kmodtools
