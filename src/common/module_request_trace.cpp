// SPDX-License-Identifier: LGPL-2.1-or-later
// Parsing the text of a tracefs `trace` file into module:module_request events.
#include "module_request_trace.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace kmodtools {
namespace {

constexpr std::size_t comm_width = 16; // "%16s": TASK_COMM_LEN - 1 characters at most, right-justified
constexpr std::size_t pid_width = 7;   // "%-7d"
constexpr std::size_t irq_flags_width = 5;
constexpr std::string_view module_request_event = "module_request";

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// Digits at the start of `text` as a number; std::nullopt if there are none or it overflows.
template <typename Number> std::optional<Number> leading_number(std::string_view text, std::size_t& length)
{
    Number value{};
    const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
    if (result.ec != std::errc() || result.ptr == text.data())
        return std::nullopt;
    length = static_cast<std::size_t>(result.ptr - text.data());
    return value;
}

template <typename Number> std::optional<Number> whole_number(std::string_view text)
{
    std::size_t length = 0;
    const auto value = leading_number<Number>(text, length);
    if (!value || length != text.size())
        return std::nullopt;
    return value;
}

struct Context {
    std::string_view comm;
    pid_t pid = 0;
    unsigned cpu = 0;
    std::uint64_t timestamp_ns = 0;
    std::string_view event;
    std::string_view body;
};

// The fixed part of every event line, up to and including "EVENT: ".
std::optional<Context> parse_context(std::string_view line)
{
    Context context;
    if (line.size() <= comm_width || line[comm_width] != '-')
        return std::nullopt;
    context.comm = line.substr(0, comm_width);
    context.comm.remove_prefix(std::min(context.comm.find_first_not_of(' '), context.comm.size()));

    std::size_t pos = comm_width + 1;
    std::size_t digits = 0;
    const auto pid = leading_number<std::uint32_t>(line.substr(pos), digits);
    if (!pid || !is_digit(line[pos]) || digits > pid_width ||
        *pid > static_cast<std::uint32_t>(std::numeric_limits<pid_t>::max()))
        return std::nullopt;
    context.pid = static_cast<pid_t>(*pid);
    // "%-7d " pads with spaces to the width, then one more.
    const std::size_t pid_end = pos + pid_width + 1;
    if (line.size() <= pid_end)
        return std::nullopt;
    for (std::size_t i = pos + digits; i < pid_end; ++i)
        if (line[i] != ' ')
            return std::nullopt;
    pos = pid_end;

    // "(%7d) " or "(-------) " with the record-tgid option.
    if (line[pos] == '(') {
        const auto close = line.find(") ", pos);
        if (close == std::string_view::npos || close - pos > 12)
            return std::nullopt;
        pos = close + 2;
    }

    // "[%03d] "
    if (pos >= line.size() || line[pos] != '[')
        return std::nullopt;
    ++pos;
    const auto cpu = leading_number<unsigned>(line.substr(pos), digits);
    if (!cpu || !is_digit(line[pos]) || digits < 3 || pos + digits + 1 >= line.size() ||
        line.substr(pos + digits, 2) != "] ")
        return std::nullopt;
    context.cpu = *cpu;
    pos += digits + 2;

    // irq-info flags ("d..1.") never start with a space; the timestamp's padding always does.
    if (pos < line.size() && line[pos] != ' ') {
        if (pos + irq_flags_width >= line.size())
            return std::nullopt;
        for (std::size_t i = pos; i < pos + irq_flags_width; ++i)
            if (line[i] == ' ')
                return std::nullopt;
        pos += irq_flags_width;
    }
    // " %5lu.%06lu: "
    if (pos >= line.size() || line[pos] != ' ')
        return std::nullopt;
    while (pos < line.size() && line[pos] == ' ')
        ++pos;
    const auto seconds = leading_number<std::uint64_t>(line.substr(pos), digits);
    if (!seconds || !is_digit(line[pos]) || *seconds > std::numeric_limits<std::uint64_t>::max() / 1000000000 - 1)
        return std::nullopt;
    pos += digits;
    if (line.size() < pos + 9 || line[pos] != '.')
        return std::nullopt;
    const auto micros = whole_number<std::uint32_t>(line.substr(pos + 1, 6));
    if (!micros)
        return std::nullopt;
    if (line.substr(pos + 7, 2) != ": ")
        return std::nullopt;
    context.timestamp_ns = *seconds * 1000000000 + std::uint64_t{*micros} * 1000;
    pos += 9;

    // "EVENT: "
    const auto colon = line.find(": ", pos);
    if (colon == std::string_view::npos || colon == pos)
        return std::nullopt;
    context.event = line.substr(pos, colon - pos);
    for (const char c : context.event)
        if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
            return std::nullopt;
    context.body = line.substr(colon + 2);
    return context;
}

// NAME " wait=%d call_site=%ps": the last " wait=" is the kernel's, whatever NAME holds.
bool split_module_request_body(std::string_view body, ModuleRequestEvent& event)
{
    const auto wait_at = body.rfind(" wait=");
    if (wait_at == std::string_view::npos)
        return false;
    std::string_view tail = body.substr(wait_at + 6);
    std::size_t digits = 0;
    const auto wait = leading_number<unsigned>(tail, digits);
    if (!wait || !is_digit(tail.front()) || *wait > 1)
        return false;
    tail.remove_prefix(digits);
    constexpr std::string_view call_site = " call_site=";
    if (tail.substr(0, call_site.size()) != call_site || tail.size() == call_site.size())
        return false;
    event.name = std::string(body.substr(0, wait_at));
    event.wait = *wait == 1;
    return true;
}

bool starts_with(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

// "##### CPU 3 buffer started ####" (printed when the buffer has overrun).
bool is_buffer_started_marker(std::string_view line)
{
    constexpr std::string_view head = "##### CPU ";
    constexpr std::string_view tail = " buffer started ####";
    if (!starts_with(line, head) || line.size() <= head.size() + tail.size() ||
        line.substr(line.size() - tail.size()) != tail)
        return false;
    return whole_number<unsigned>(line.substr(head.size(), line.size() - head.size() - tail.size())).has_value();
}

// "CPU:3 [LOST 12 EVENTS]" or "CPU:3 [LOST EVENTS]": counts the loss, false if the line is no marker.
bool parse_lost_marker(std::string_view line, ModuleRequestTrace& trace)
{
    if (!starts_with(line, "CPU:"))
        return false;
    const auto space = line.find(' ');
    if (space == std::string_view::npos || !whole_number<unsigned>(line.substr(4, space - 4)))
        return false;
    const auto marker = line.substr(space + 1);
    if (marker == "[LOST EVENTS]") {
        trace.lost_uncounted = true;
        return true;
    }
    constexpr std::string_view head = "[LOST ";
    constexpr std::string_view tail = " EVENTS]";
    if (!starts_with(marker, head) || marker.size() <= head.size() + tail.size() ||
        marker.substr(marker.size() - tail.size()) != tail)
        return false;
    const auto count =
        whole_number<std::uint64_t>(marker.substr(head.size(), marker.size() - head.size() - tail.size()));
    if (!count)
        return false;
    trace.lost_events = *count > std::numeric_limits<std::uint64_t>::max() - trace.lost_events
                            ? std::numeric_limits<std::uint64_t>::max()
                            : trace.lost_events + *count;
    return true;
}

// "# entries-in-buffer/entries-written: 5/5   #P:1"
void parse_header_line(std::string_view line, ModuleRequestTrace& trace)
{
    constexpr std::string_view head = "# entries-in-buffer/entries-written: ";
    if (!starts_with(line, head))
        return;
    line.remove_prefix(head.size());
    std::size_t length = 0;
    const auto in_buffer = leading_number<std::uint64_t>(line, length);
    if (!in_buffer || length >= line.size() || line[length] != '/')
        return;
    line.remove_prefix(length + 1);
    const auto written = leading_number<std::uint64_t>(line, length);
    if (!written)
        return;
    trace.entries_in_buffer = in_buffer;
    trace.entries_written = written;
}

} // namespace

bool ModuleRequestTrace::lost_any() const
{
    return lost_events > 0 || lost_uncounted ||
           (entries_in_buffer && entries_written && *entries_written > *entries_in_buffer);
}

std::uint64_t ModuleRequestTrace::complete_since_ns() const
{
    constexpr auto never = std::numeric_limits<std::uint64_t>::max();
    const bool overwritten = entries_in_buffer && entries_written && *entries_written > *entries_in_buffer;
    if (cut_short || (!recording_since_ns && !overwritten))
        return never;
    std::uint64_t since = std::max(recording_since_ns.value_or(0), gap_until_ns);
    if (lost_until_ns)
        since = std::max(since, *lost_until_ns);
    if (overwritten) {
        if (cpu_oldest_ns.empty())
            return never;
        for (const auto& [cpu, oldest] : cpu_oldest_ns)
            since = std::max(since, oldest);
    }
    return since;
}

std::optional<std::uint64_t> trace_record_timestamp(std::string_view line)
{
    const auto context = parse_context(line);
    if (!context)
        return std::nullopt;
    return context->timestamp_ns;
}

namespace {

ModuleRequestEvent event_of(const Context& context)
{
    ModuleRequestEvent event;
    event.comm = std::string(context.comm);
    event.pid = context.pid;
    event.cpu = context.cpu;
    event.timestamp_ns = context.timestamp_ns;
    if (!split_module_request_body(context.body, event)) {
        event.name = std::string(context.body);
        event.name_certain = false;
    }
    return event;
}

} // namespace

std::optional<ModuleRequestEvent> parse_module_request_line(std::string_view line)
{
    const auto context = parse_context(line);
    if (!context || context->event != module_request_event)
        return std::nullopt;
    return event_of(*context);
}

ModuleRequestTrace parse_module_request_trace(std::string_view text)
{
    ModuleRequestTrace trace;
    bool in_header = true;
    bool taint_next = false;   // the line before was no event: the next event may be the rest of its record
    bool lost_pending = false; // a LOST marker waits for the event after it
    std::string joined;        // a record whose comm holds newlines, put back together
    while (!text.empty()) {
        auto newline = text.find('\n');
        bool terminated = newline != std::string_view::npos;
        std::string_view line = text.substr(0, terminated ? newline : text.size());
        text.remove_prefix(terminated ? newline + 1 : text.size());

        // A comm set with prctl(PR_SET_NAME) may hold newlines, which split the record inside its
        // 16-character comm field: a short line followed by the rest. Join while the newline lies
        // within the field; the fixed layout after it decides whether it really was one record.
        auto context = parse_context(line);
        if (!context && line.size() < comm_width && !text.empty()) {
            joined.assign(line);
            std::string_view rest = text;
            while (joined.size() < comm_width && !rest.empty()) {
                const auto next = rest.find('\n');
                const bool next_terminated = next != std::string_view::npos;
                joined += '\n';
                joined.append(rest.substr(0, next_terminated ? next : rest.size()));
                rest.remove_prefix(next_terminated ? next + 1 : rest.size());
                if ((context = parse_context(joined))) {
                    line = joined;
                    text = rest;
                    terminated = next_terminated;
                    break;
                }
            }
        }

        if (in_header && starts_with(line, "#")) {
            parse_header_line(line, trace);
            continue;
        }
        in_header = false;
        if (is_buffer_started_marker(line))
            continue;
        if (parse_lost_marker(line, trace)) {
            lost_pending = true;
            continue;
        }

        if (!context) {
            // A name with a newline continues here, or the text is not what the kernel prints:
            // neither the event before nor the one after can be trusted to be whole.
            ++trace.malformed_lines;
            if (!trace.events.empty())
                trace.events.back().name_certain = false;
            taint_next = true;
            continue;
        }
        auto& oldest = trace.cpu_oldest_ns.try_emplace(context->cpu, context->timestamp_ns).first->second;
        oldest = std::min(oldest, context->timestamp_ns);
        if (lost_pending) {
            trace.lost_until_ns = std::max(trace.lost_until_ns.value_or(0), context->timestamp_ns);
            lost_pending = false;
        }
        if (context->event != module_request_event) {
            if (context->event == "tracing_mark_write" && context->body == recording_marker)
                trace.recording_since_ns = std::max(trace.recording_since_ns.value_or(0), context->timestamp_ns);
            ++trace.other_events;
            taint_next = false;
            continue;
        }
        auto event = event_of(*context);
        // A last line without its '\n' was cut (a bounded read): the name may be cut too.
        if (taint_next || !terminated)
            event.name_certain = false;
        taint_next = false;
        trace.events.push_back(std::move(event));
    }
    if (lost_pending)
        trace.lost_until_ns = std::numeric_limits<std::uint64_t>::max();
    return trace;
}

} // namespace kmodtools
