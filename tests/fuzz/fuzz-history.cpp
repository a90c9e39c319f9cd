// SPDX-License-Identifier: LGPL-2.1-or-later
// Fuzz target: lines of the request history (/var/lib/kmod-tools/request-history), parsed and written.
//
// Three uses of each input:
//  - each of its lines, as read_history() hands them to the parser;
//  - its first line with the checksum put right (what follows the last tab replaced by the checksum of
//    what precedes it), so that mutations reach the fields rather than stop at the checksum;
//  - split at NUL bytes into the fields of an entry to write: time, decision, class, name, requester,
//    modules. A bad decision token is an Error of one line; anything else is written as a line of
//    bounded length, framed by one separator and one '\n', that parses back to the entry with its
//    fields cut as documented, also after the torn remains of another line, and never when torn itself.
#include "fuzz.hpp"
#include "request_history.hpp"
#include "request_name.hpp"

#include <algorithm>
#include <cstdio>

using namespace kmodtools;

namespace {

constexpr char record_separator = '\x1e';
// The cuts format_history_entry() documents ("cut to bounded lengths"), as request_history.cpp has them.
constexpr std::size_t max_modules = 64;
constexpr std::size_t max_module_length = 64;
constexpr std::size_t max_requester_length = 1024;

// The line's checksum, as the file format defines it: FNV-1a of the fields, 16 hex digits.
std::string checksum(std::string_view text)
{
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const char c : text) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return hex;
}

std::optional<HistoryEntry> parse(std::string_view line)
{
    std::optional<HistoryEntry> entry;
    fuzz::returns_or_throws_error([&] { entry = parse_history_line(line); },
                                  [](const Error& error) { fuzz::fail(std::string("threw ") + error.what()); });
    return entry;
}

bool contains(std::string_view text, std::string_view part)
{
    return text.find(part) != std::string_view::npos;
}

// A raw separator or newline in a parsed field is one the line escaped, never one it held raw
// (except a raw newline, which a line never holds: the reader splits at them).
void check_no_raw_framing(std::string_view line, const std::string& field)
{
    if (contains(field, std::string(1, record_separator)))
        FUZZ_CHECK(contains(line, "\\x1e"));
    if (contains(field, "\n"))
        FUZZ_CHECK(contains(line, "\\x0a") || contains(line, "\n"));
}

// The entry as it reads back once written: each field cut to its bound.
HistoryEntry as_written(HistoryEntry entry)
{
    if (entry.name.size() > max_request_name_length)
        entry.name.resize(max_request_name_length);
    if (entry.modules.size() > max_modules)
        entry.modules.resize(max_modules);
    for (auto& module : entry.modules)
        if (module.size() > max_module_length)
            module.resize(max_module_length);
    if (entry.requester.size() > max_requester_length)
        entry.requester.resize(max_requester_length);
    return entry;
}

// Writes an entry with a valid decision and checks the line and its reading back.
void check_written(const HistoryEntry& entry, std::string_view torn_remains, std::size_t cut_at)
{
    std::string line;
    fuzz::returns_or_throws_error([&] { line = format_history_entry(entry); },
                                  [](const Error& error) { fuzz::fail(std::string("threw ") + error.what()); });
    FUZZ_CHECK(line.size() <= max_history_line);
    FUZZ_CHECK(line.size() >= 2 && line.front() == record_separator && line.back() == '\n');
    FUZZ_CHECK(std::count(line.begin(), line.end(), '\n') == 1);
    FUZZ_CHECK(std::count(line.begin(), line.end(), record_separator) == 1);
    // Between the framing: printable ASCII and the tabs between fields, whatever the entry held.
    for (std::size_t i = 1; i + 1 < line.size(); ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        FUZZ_CHECK(c == '\t' || (c >= 0x20 && c < 0x7f));
    }
    const std::string_view body(line.data(), line.size() - 1);
    const auto again = parse(body);
    FUZZ_CHECK(again && *again == as_written(entry));
    // A reader resynchronises after a writer that died mid-line: the remains before the separator.
    const auto after_torn = parse(std::string(torn_remains) + std::string(body));
    FUZZ_CHECK(after_torn && *after_torn == *again);
    // And a line torn itself is never an entry.
    FUZZ_CHECK(!parse(body.substr(0, cut_at % body.size())));
}

void check_parsed(std::string_view line, const HistoryEntry& entry)
{
    check_no_raw_framing(line, entry.name);
    check_no_raw_framing(line, entry.requester);
    for (const auto& module : entry.modules) {
        FUZZ_CHECK(!module.empty());
        check_no_raw_framing(line, module);
    }
    // The parser checks the decision as the writer does, so what it read can be written again.
    check_written(entry, "", line.size());
}

std::vector<std::string_view> lines_of(std::string_view text)
{
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        lines.push_back(text.substr(0, newline));
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    }
    return lines;
}

constexpr RequesterClass classes[] = {RequesterClass::privileged, RequesterClass::unprivileged,
                                      RequesterClass::container, RequesterClass::unknown};

void check_fields(std::string_view input)
{
    fuzz::Fields fields(input);
    HistoryEntry entry;
    entry.time_us = fields.next_int64();
    entry.decision = fields.next();
    const auto class_field = fields.next();
    entry.requester_class = classes[class_field.empty() ? 3 : static_cast<unsigned char>(class_field[0]) % 4];
    entry.name = fields.next();
    entry.requester = fields.next();
    while (!fields.empty()) {
        auto module = fields.next();
        // The loader only ever resolves to module names, never to an empty one (see the report of
        // format_history_entry: an empty module would not read back).
        if (!module.empty())
            entry.modules.push_back(std::move(module));
    }
    std::string line;
    const bool formatted = fuzz::returns_or_throws_error([&] { line = format_history_entry(entry); },
                                                         [](const Error& error) {
                                                             const std::string message = error.what();
                                                             FUZZ_CHECK(message.rfind("bad history decision ", 0) == 0);
                                                             FUZZ_CHECK(fuzz::is_one_line(message));
                                                         });
    // Only a decision that is no token is refused.
    const bool token = !entry.decision.empty() && entry.decision.size() <= 32 &&
                       std::all_of(entry.decision.begin(), entry.decision.end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
                       });
    FUZZ_CHECK(formatted == token);
    if (formatted)
        check_written(entry, entry.name.substr(0, entry.name.find('\n')), static_cast<std::size_t>(entry.time_us));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto text = fuzz::as_text(data, size);
    const auto lines = lines_of(text);
    for (const auto line : lines)
        if (const auto entry = parse(line))
            check_parsed(line, *entry);

    if (!lines.empty()) {
        auto line = lines.front();
        const auto separator = line.rfind(record_separator);
        line.remove_prefix(separator == std::string_view::npos ? 0 : separator + 1);
        const auto fields = line.substr(0, line.rfind('\t'));
        const auto fixed = std::string(1, record_separator) + std::string(fields) + '\t' + checksum(fields);
        if (const auto entry = parse(fixed))
            check_parsed(fixed, *entry);
    }

    check_fields(text);
    return 0;
}
