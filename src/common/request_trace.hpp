// SPDX-License-Identifier: LGPL-2.1-or-later
// kmod-tools' own tracefs instance: records only module:module_request, so a request can be traced
// back to the task that made it.
//
// The instance lives in tracefs (/sys/kernel/tracing/instances/kmod-tools, or under
// /sys/kernel/debug/tracing where tracefs is only reached through debugfs) and never touches the
// global instance other tools use. It is trusted only on a real tracefs (checked with fstatfs, so a
// directory or symlink planted elsewhere is never read) whose directories only root can write. Its
// settings are what attribution relies on, so they are checked on every read, not only at set-up:
//   - set_event is exactly module:module_request, set_event_pid empty, tracing_on 1;
//   - trace_clock is boot (CLOCK_BOOTTIME, the clock of /proc/PID/stat's start time);
//   - trace_options: overwrite (keep the newest events, count the lost), nopause-on-trace (a reader
//     must not stop the recording of requests other helpers are looking for), nomarkers (a
//     trace_marker write with newlines could forge event lines);
//   - buffer_size_kb is request_trace_buffer_kb per CPU (only checked at set-up).
// Events are read from trace_pipe into a journal every helper shares (request_event_journal.hpp):
// opening `trace` waits for an RCU grace period on 6.1, trace_pipe does not.
#pragma once

#include "module_request_trace.hpp"
#include "paths.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace kmodtools {

inline constexpr std::string_view request_trace_instance = "kmod-tools";
// Per CPU. An event takes ~50 bytes (~350 requests a CPU), and helpers drain the buffer at every
// request, so it only has to hold a burst; what a bigger burst pushes out makes attribution
// "ambiguous", never wrong.
inline constexpr unsigned request_trace_buffer_kb = 16;

enum class TraceState {
    ready,         // recording as attribution needs
    no_tracefs,    // tracefs is not mounted (or is not a tracefs kmod-tools can trust)
    absent,        // tracefs is there, the instance is not
    misconfigured, // the instance exists but does not record what attribution needs
};
std::string_view to_string(TraceState state);

struct TraceStatus {
    TraceState state = TraceState::no_tracefs;
    std::string problem; // why it is not ready, one line; empty when ready
    std::filesystem::path instance_dir;
};

// Looks at tracefs and the instance without changing anything. Throws Error for what must not be
// trusted (a tracefs directory others can write), so that it is reported, not silently skipped.
TraceStatus check_request_trace(const Paths& paths);

// Creates the instance, or re-creates one that is not exactly as needed (a reconfigured buffer would
// hold a gap nobody could see). Leaves a ready instance alone, events and all. Throws Error; an
// instance this call created is removed again first, so a failure leaves no half-configured one.
TraceStatus set_up_request_trace(const Paths& paths);

// Removes the instance; false if there was none. Throws Error if it exists and cannot be removed.
bool remove_request_trace(const Paths& paths);

struct TraceSnapshot {
    TraceStatus status;
    ModuleRequestTrace trace; // empty unless status.state is ready
    // Of the event journal (request_event_journal.hpp): a later snapshot with the same generation
    // holds no newer events.
    std::uint64_t generation = 0;
};

// The instance's events now, with its settings checked (what every kernel request reads): drains
// its trace_pipe into the shared event journal and returns the journal.
TraceSnapshot read_request_trace(const Paths& paths);

// Only drains trace_pipe and returns the journal's generation, without checking settings or reading
// events: the cheap "has anything arrived since that snapshot?". std::nullopt without an instance.
std::optional<std::uint64_t> request_trace_generation(const Paths& paths);

} // namespace kmodtools
