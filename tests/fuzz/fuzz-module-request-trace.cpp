// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzz target: tracefs `trace` / `trace_pipe` text, parsed into module_request events.
//
// The input is a whole trace. Besides "never throws, never crashes", three kinds of checks:
//  - of the whole parse: names and comms come from the input, a certain name is followed by the
//    kernel's " wait=" tail, the time from which the trace is complete is no earlier than the marker
//    or a loss, every event has its CPU's oldest record at or before it;
//  - line by line: a line parsed alone agrees with the same line as a whole one-line text;
//  - where no line is short enough to be joined with the next (a comm holding a newline), the whole
//    parse is the lines' parses in order, and a certain name only ever comes from a terminated line
//    that parses as certain alone and has no unreadable line on either side.
#include "fuzz.hpp"
#include "module_request_trace.hpp"

#include <limits>
#include <vector>

using namespace kmodtools;

namespace {

constexpr std::size_t comm_width = 16; // the comm field: a shorter line may be the start of a record
constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();

bool starts_with(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

bool contains(std::string_view text, std::string_view part)
{
    return text.find(part) != std::string_view::npos;
}

ModuleRequestTrace parse_trace(std::string_view text)
{
    ModuleRequestTrace trace;
    fuzz::returns_or_throws_error([&] { trace = parse_module_request_trace(text); },
                                  [](const Error& error) { fuzz::fail(std::string("threw ") + error.what()); });
    return trace;
}

std::optional<ModuleRequestEvent> parse_line(std::string_view line)
{
    std::optional<ModuleRequestEvent> event;
    fuzz::returns_or_throws_error([&] { event = parse_module_request_line(line); },
                                  [](const Error& error) { fuzz::fail(std::string("threw ") + error.what()); });
    return event;
}

std::optional<std::uint64_t> record_timestamp(std::string_view line)
{
    std::optional<std::uint64_t> timestamp;
    fuzz::returns_or_throws_error([&] { timestamp = trace_record_timestamp(line); },
                                  [](const Error& error) { fuzz::fail(std::string("threw ") + error.what()); });
    return timestamp;
}

bool same_record(const ModuleRequestEvent& a, const ModuleRequestEvent& b)
{
    return a.comm == b.comm && a.pid == b.pid && a.cpu == b.cpu && a.timestamp_ns == b.timestamp_ns &&
           a.name == b.name && a.wait == b.wait;
}

struct Line {
    std::string_view text;
    bool terminated; // followed by '\n'
};

std::vector<Line> lines_of(std::string_view text)
{
    std::vector<Line> lines;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const bool terminated = newline != std::string_view::npos;
        lines.push_back({text.substr(0, terminated ? newline : text.size()), terminated});
        text.remove_prefix(terminated ? newline + 1 : text.size());
    }
    return lines;
}

void check_whole(std::string_view text, const ModuleRequestTrace& trace)
{
    for (const auto& event : trace.events) {
        FUZZ_CHECK(contains(text, event.name));
        FUZZ_CHECK(contains(text, event.comm));
        FUZZ_CHECK(!starts_with(event.comm, " ")); // the field's padding is not the comm
        FUZZ_CHECK(event.pid >= 0);
        // A certain name is the record's: the kernel's tail follows it.
        if (event.name_certain)
            FUZZ_CHECK(contains(text, event.name + " wait="));
        const auto oldest = trace.cpu_oldest_ns.find(event.cpu);
        FUZZ_CHECK(oldest != trace.cpu_oldest_ns.end() && oldest->second <= event.timestamp_ns);
    }
    FUZZ_CHECK(trace.entries_in_buffer.has_value() == trace.entries_written.has_value());
    FUZZ_CHECK(!trace.cut_short && trace.gap_until_ns == 0); // for readers to set, not the parser

    // Each line is at most one event, other event or unreadable line.
    const auto line_count = lines_of(text).size();
    FUZZ_CHECK(trace.events.size() + trace.other_events + trace.malformed_lines <= line_count);
    if (trace.events.size() + trace.other_events == 0)
        FUZZ_CHECK(trace.cpu_oldest_ns.empty() && !trace.recording_since_ns);

    const bool overwritten =
        trace.entries_in_buffer && trace.entries_written && *trace.entries_written > *trace.entries_in_buffer;
    if (trace.recording_since_ns)
        FUZZ_CHECK(contains(text, recording_marker));
    // A loss is bounded by the record after its marker, or by nothing.
    if (trace.lost_events > 0 || trace.lost_uncounted)
        FUZZ_CHECK(trace.lost_until_ns.has_value());
    if (trace.lost_until_ns) {
        FUZZ_CHECK(contains(text, "[LOST "));
        if (*trace.lost_until_ns != never) {
            bool after_some_oldest = false;
            for (const auto& [cpu, oldest] : trace.cpu_oldest_ns)
                after_some_oldest = after_some_oldest || oldest <= *trace.lost_until_ns;
            FUZZ_CHECK(after_some_oldest);
        }
    }
    FUZZ_CHECK(trace.lost_any() == (trace.lost_events > 0 || trace.lost_uncounted || overwritten));

    const auto since = trace.complete_since_ns();
    if (!trace.recording_since_ns && !overwritten)
        FUZZ_CHECK(since == never);
    if (trace.recording_since_ns)
        FUZZ_CHECK(since >= *trace.recording_since_ns);
    if (trace.lost_until_ns)
        FUZZ_CHECK(since >= *trace.lost_until_ns);
    if (overwritten)
        for (const auto& [cpu, oldest] : trace.cpu_oldest_ns)
            FUZZ_CHECK(since >= oldest);
    // Whatever a reader adds can only make the complete part shorter.
    auto cut = trace;
    cut.cut_short = true;
    FUZZ_CHECK(cut.complete_since_ns() == never);
    auto gap = trace;
    gap.gap_until_ns = trace.events.empty() ? 1 : trace.events.back().timestamp_ns;
    FUZZ_CHECK(gap.complete_since_ns() >= since);
}

// A line (no '\n') that does not start with '#' (a header line, in a text of its own): parsed alone,
// and as a text of one line, with and without its '\n'.
void check_line(std::string_view line)
{
    const auto event = parse_line(line);
    const auto timestamp = record_timestamp(line);
    if (event) {
        FUZZ_CHECK(timestamp && *timestamp == event->timestamp_ns);
        FUZZ_CHECK(contains(line, event->name) && contains(line, event->comm));
        if (event->name_certain)
            FUZZ_CHECK(contains(line, event->name + " wait="));
    }
    const auto terminated = parse_trace(std::string(line) + "\n");
    const auto cut = parse_trace(line);
    FUZZ_CHECK(terminated.events.size() == (event ? 1u : 0u));
    FUZZ_CHECK(cut.events.size() == terminated.events.size());
    if (event) {
        FUZZ_CHECK(same_record(terminated.events[0], *event));
        FUZZ_CHECK(terminated.events[0].name_certain == event->name_certain);
        FUZZ_CHECK(same_record(cut.events[0], *event));
        FUZZ_CHECK(!cut.events[0].name_certain); // a line without its '\n' may have been cut
        FUZZ_CHECK(terminated.other_events == 0 && terminated.malformed_lines == 0);
    } else if (timestamp) {
        FUZZ_CHECK(terminated.other_events == 1 && terminated.malformed_lines == 0);
    } else {
        FUZZ_CHECK(terminated.other_events == 0);
    }
    FUZZ_CHECK(terminated.cpu_oldest_ns.size() == (timestamp ? 1u : 0u));
    if (timestamp)
        FUZZ_CHECK(terminated.cpu_oldest_ns.begin()->second == *timestamp);
}

// Whether `line`, anywhere after the header, is one the parser cannot read (a "malformed" line): asked
// of the parser itself after a LOST marker, which ends the header and is no record.
bool unreadable(std::string_view line)
{
    return parse_trace("CPU:0 [LOST EVENTS]\n" + std::string(line) + "\n").malformed_lines == 1;
}

// No join: the trace is its lines, in order.
void check_against_lines(const std::vector<Line>& lines, const ModuleRequestTrace& trace)
{
    std::size_t first = 0;
    while (first < lines.size() && starts_with(lines[first].text, "#"))
        ++first; // the header
    std::vector<bool> bad(lines.size(), false);
    for (std::size_t i = first; i < lines.size(); ++i)
        bad[i] = unreadable(lines[i].text);
    bool any_bad = false;
    std::size_t next_event = 0;
    std::size_t others = 0;
    std::size_t malformed = 0;
    for (std::size_t i = first; i < lines.size(); ++i) {
        any_bad = any_bad || bad[i];
        malformed += bad[i] ? 1 : 0;
        const auto event = parse_line(lines[i].text);
        if (!event) {
            others += record_timestamp(lines[i].text) ? 1 : 0;
            continue;
        }
        FUZZ_CHECK(next_event < trace.events.size());
        const auto& parsed = trace.events[next_event++];
        FUZZ_CHECK(same_record(parsed, *event));
        if (parsed.name_certain) {
            FUZZ_CHECK(event->name_certain && lines[i].terminated);
            FUZZ_CHECK(i == 0 || !bad[i - 1]);
            FUZZ_CHECK(i + 1 == lines.size() || !bad[i + 1]);
        }
    }
    FUZZ_CHECK(next_event == trace.events.size());
    FUZZ_CHECK(others == trace.other_events);
    FUZZ_CHECK(malformed == trace.malformed_lines);
    // With nothing unreadable around, a whole line that is certain alone stays certain.
    if (!any_bad) {
        std::size_t k = 0;
        for (std::size_t i = first; i < lines.size(); ++i)
            if (const auto event = parse_line(lines[i].text))
                FUZZ_CHECK(trace.events[k++].name_certain == (event->name_certain && lines[i].terminated));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto text = fuzz::as_text(data, size);
    const auto trace = parse_trace(text);
    check_whole(text, trace);

    const auto lines = lines_of(text);
    std::size_t header_end = 0;
    while (header_end < lines.size() && starts_with(lines[header_end].text, "#"))
        ++header_end;
    bool may_join = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!starts_with(lines[i].text, "#"))
            check_line(lines[i].text);
        // The parser joins a short line with the ones after it (up to the comm field's width) when
        // that makes a record. Within the header that changes nothing: what it joins is header too.
        std::size_t joined = lines[i].text.size();
        for (std::size_t j = i + 1; joined < comm_width && j < lines.size(); ++j) {
            joined += 1 + lines[j].text.size();
            may_join = may_join || j >= header_end;
        }
    }
    if (!may_join)
        check_against_lines(lines, trace);
    return 0;
}
