// SPDX-License-Identifier: LGPL-2.1-or-later
// Parsing the text of a tracefs `trace` file into module:module_request events.
//
// The kernel prints each event as (kernel/trace/trace_output.c, 6.1):
//
//     "%16s-%-7d " COMM-PID, [ "(%7d) " TGID, with the record-tgid option ]
//     "[%03d] "    CPU, [ five flag characters and a space, with the irq-info option ]
//     "%5lu.%06lu: " TIMESTAMP (for the nanosecond clocks: local, global, mono, boot, ...)
//     "module_request: " NAME " wait=%d call_site=%ps"   (include/trace/events/module.h)
//
// NAME is whatever request_module() was given, and user-controlled (`mount -t` passes any string as
// fs-…), so it may hold spaces, quotes, " wait=1 call_site=x" or a newline that ends the line early.
// The parser never trusts an event whose record may have been cut or continued (see name_certain),
// and a forged line inside a name cannot pass: the fixed-width prefix alone is longer than the 55
// bytes the kernel allows a name (MODULE_NAME_LEN).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmodtools {

// Written to the instance's trace_marker once it records (then markers are switched off): the
// timestamp of this line is when the trace started to hold every request.
inline constexpr std::string_view recording_marker = "kmod-tools: recording";

struct ModuleRequestEvent {
    // As the trace shows it: the kernel's saved-cmdlines cache, "<...>" once evicted. For display
    // only; the requester's comm is read from /proc while it waits.
    std::string comm;
    pid_t pid = 0; // the thread id of the task that called request_module()
    unsigned cpu = 0;
    std::uint64_t timestamp_ns = 0; // in the instance's trace clock
    std::string name;
    bool wait = false; // request_module() (the task waits for the helper) or request_module_nowait()
    // False when the record may not be this line alone: the line lacks the " wait=… call_site=…"
    // tail, or stands next to a line that is no event (the rest of a name cut by a newline). Its
    // pid is real, its name is not to be trusted.
    bool name_certain = true;
};

struct ModuleRequestTrace {
    std::vector<ModuleRequestEvent> events; // in the order of the trace (by timestamp)
    // "# entries-in-buffer/entries-written: A/B": B > A means the ring buffer overwrote events.
    std::optional<std::uint64_t> entries_in_buffer;
    std::optional<std::uint64_t> entries_written;
    // "CPU:N [LOST M EVENTS]" markers; lost_uncounted for "CPU:N [LOST EVENTS]". The kernel prints
    // one right before the first event after the loss, so everything older than that event may be
    // gone: lost_until_ns (the maximum when nothing follows the marker).
    std::uint64_t lost_events = 0;
    bool lost_uncounted = false;
    std::optional<std::uint64_t> lost_until_ns;
    // Lines of other events (the instance should have none) and lines that are nothing the kernel prints.
    std::size_t other_events = 0;
    std::size_t malformed_lines = 0;
    // The oldest record left of each CPU that has any: the ring buffer overwrites oldest first, per CPU.
    std::map<unsigned, std::uint64_t> cpu_oldest_ns;
    // The timestamp of the (latest) recording_marker line, if it is still in the buffer.
    std::optional<std::uint64_t> recording_since_ns;
    // Set by a reader that had to stop before the end: the newest events may be missing.
    bool cut_short = false;
    // Set by a reader that keeps events itself (request_trace's journal): events older than this may
    // have been dropped by it.
    std::uint64_t gap_until_ns = 0;

    // Whether the buffer has dropped any event since it was last reset.
    bool lost_any() const;
    // The time from which the trace holds every request: the recording marker, or later if events
    // were lost since (lost_until_ns, gap_until_ns, or for a `trace` file whose buffer overwrote
    // events, the newest of the CPUs' oldest records). Without a marker (an instance kmod-tools did
    // not set up, unless overwriting took it), or for a text cut short, nothing is known complete:
    // the maximum.
    std::uint64_t complete_since_ns() const;
};

// One line (without its '\n'): the event, or std::nullopt if the line is not a module_request event
// as the kernel prints it. An event whose line lacks the tail comes back with name_certain = false.
std::optional<ModuleRequestEvent> parse_module_request_line(std::string_view line);

// The timestamp of a line that starts an event record (of any event), or std::nullopt.
std::optional<std::uint64_t> trace_record_timestamp(std::string_view line);

// A whole `trace` (or `trace_pipe`) text. Never throws on content (any byte sequence is fine) and never crashes;
// what it cannot read is counted in malformed_lines.
ModuleRequestTrace parse_module_request_trace(std::string_view text);

} // namespace kmodtools
