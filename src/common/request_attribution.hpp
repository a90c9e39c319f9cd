// SPDX-License-Identifier: LGPL-2.1-or-later
// Who asked the kernel for a module: matching a kernel request to the task that made it.
//
// request_module() fires module:module_request in the context of the asking task, and with wait=1
// that task then sleeps in call_usermodehelper_exec() until the helper (us) exits. So the requester
// is a task whose latest event in kmod-tools' trace instance is this name, and which sleeps there
// now. The match is only "attributed" when that is certain:
//   - a task's latest event is what it waits for only if none of its newer events can be missing:
//     its event must not be older than the trace's complete_since_ns();
//   - the real requester's own event could be missing if the buffer lost events (or the recording
//     started) shortly before it; so nothing may be missing from attribution_slack_ns before the
//     helper started (the kernel starts the helper right after the event);
//   - a pid reused since its event (a task started after it) is not the requester;
//   - a task seen waiting may have started a new request between the snapshot and the look at
//     /proc; then its newer event is in a snapshot taken after that look, so the trace is read
//     again if it grew meanwhile, and the match stands only if the task's latest event is still
//     the one matched (attribute_request).
// Anything less is "ambiguous", judged by the stricter class of every task it may be (and unknown,
// if the requester may be none of them); no event at all is "unknown". Never a guess.
#pragma once

#include "module_request_trace.hpp"
#include "paths.hpp"
#include "requester_info.hpp"

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

// How long before the helper started the trace must be complete for the requester's own event to
// be certainly in it. The kernel queues the helper right after the event; starting it took 4-11 ms
// in the VM for one request, but up to 2.2 s for 30 at once under TCG on a loaded host, so 5 s.
// A burst that overwrote events within that time, or a recording that began within it, makes a
// match "ambiguous", judged as unknown: set the instance up that long before kmod-request becomes
// the helper, and its requests never meet the window.
inline constexpr std::uint64_t attribution_slack_ns = 5'000'000'000;

enum class AttributionKind { attributed, ambiguous, unknown };

enum class AttributionReason {
    certain,            // attributed
    tracing_not_set_up, // unknown: no usable trace instance (detail says why)
    no_matching_event,  // unknown: no task that asked for this name waits for it now
    several_waiting,    // ambiguous: more than one task waits for this name
    events_lost,        // ambiguous: the trace may lack the requester's event (overwritten, or too new a recording)
    uncertain_event,    // ambiguous: a waiting task's latest event is unreadable or may not be its latest
    trace_changing,     // ambiguous: new requests kept arriving while the candidates were read
    journal_busy,       // unknown: the event journal stayed locked (journal_lock_timeout)
};
std::string_view to_string(AttributionReason reason);

struct Attribution {
    AttributionKind kind = AttributionKind::unknown;
    AttributionReason reason = AttributionReason::tracing_not_set_up;
    std::string detail;                    // e.g. why tracing is not set up
    std::vector<RequesterInfo> candidates; // attributed: the one; ambiguous: every task it may be
    // attributed: the requester's class; ambiguous: the stricter of the candidates' (unknown when the
    // requester may be none of them); unknown: unknown.
    RequesterClass requester_class = RequesterClass::unknown;
    std::uint64_t event_ns = 0; // attributed: the timestamp of the requester's event (trace clock)

    // For audit lines after "from ": "pid 812 ('sock-test', uid 1000, ...)", "an unknown requester
    // (tracing not set up: ...)", "an ambiguous requester (2 tasks wait for 'fs-x': pid ..., pid ...;
    // judged as unprivileged)". Every user-controlled byte escaped.
    std::string describe() const;
};

using TaskProbe = std::function<std::optional<RequesterInfo>(pid_t)>;

// The matcher alone: `helper_start_ns` when the helper started, in the trace clock (CLOCK_BOOTTIME);
// `probe` reads a task (std::nullopt: it is gone).
Attribution match_request(const ModuleRequestTrace& trace, std::string_view name, std::uint64_t helper_start_ns,
                          const TaskProbe& probe);

// What the helper calls: reads kmod-tools' trace instance and /proc; the helper's start time is that
// of the calling process. Never throws for what it finds: an unreadable trace is "tracing not set
// up", with the error as detail.
Attribution attribute_request(const Paths& paths, std::string_view name);

} // namespace kmodtools
