// SPDX-License-Identifier: LGPL-2.1-or-later
// The journal of module_request events drained from kmod-tools' trace instance.
#include "request_event_journal.hpp"

#include "error.hpp"
#include "file_lock.hpp"
#include "module_request_trace.hpp"
#include "owned_file.hpp"
#include "text_file.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <charconv>
#include <cstdio>
#include <optional>
#include <vector>

namespace kmodtools {
namespace {

constexpr std::string_view header_head = "# kmod-tools request events v2 pending=";
constexpr std::size_t number_width = 20;
// "# … pending=P gap-until=N(20) generation=N(20) records=N(20) drained=N(20)\n"
constexpr std::string_view gap_key = " gap-until=";
constexpr std::string_view generation_key = " generation=";
constexpr std::string_view records_key = " records=";
constexpr std::string_view drained_key = " drained=";
constexpr std::size_t gap_at = header_head.size() + 1 + gap_key.size();
constexpr std::size_t generation_at = gap_at + number_width + generation_key.size();
constexpr std::size_t records_at = generation_at + number_width + records_key.size();
constexpr std::size_t drained_at = records_at + number_width + drained_key.size();
constexpr std::size_t header_size = drained_at + number_width + 1;
// trace_pipe never holds more than the instance's buffer formats to; a drain stops here regardless.
constexpr std::size_t max_drain = 1 << 20;

struct Header {
    bool pending = false;
    std::uint64_t gap_until_ns = 0;
    std::uint64_t generation = 0;
    std::uint64_t records = 0;    // so that a drain need not read the events to know when to trim
    std::uint64_t drained_ns = 0; // when the latest drain began: it holds every event committed before
};

std::string format_header(const Header& header)
{
    char text[header_size + 1];
    std::snprintf(text, sizeof text,
                  "%.*s%c gap-until=%020llu generation=%020llu records=%020llu drained=%020llu\n",
                  static_cast<int>(header_head.size()), header_head.data(), header.pending ? '1' : '0',
                  static_cast<unsigned long long>(header.gap_until_ns),
                  static_cast<unsigned long long>(header.generation), static_cast<unsigned long long>(header.records),
                  static_cast<unsigned long long>(header.drained_ns));
    return std::string(text, header_size);
}

std::optional<std::uint64_t> number_at(std::string_view text, std::size_t pos)
{
    if (text.size() < pos + number_width)
        return std::nullopt;
    std::uint64_t value = 0;
    const auto field = text.substr(pos, number_width);
    const auto result = std::from_chars(field.data(), field.data() + field.size(), value);
    if (result.ec != std::errc() || result.ptr != field.data() + field.size())
        return std::nullopt;
    return value;
}

std::optional<Header> parse_header(std::string_view text)
{
    if (text.size() < header_size || text.substr(0, header_head.size()) != header_head || text[header_size - 1] != '\n')
        return std::nullopt;
    const char pending = text[header_head.size()];
    const auto gap = number_at(text, gap_at);
    const auto generation = number_at(text, generation_at);
    const auto records = number_at(text, records_at);
    const auto drained = number_at(text, drained_at);
    if ((pending != '0' && pending != '1') || !gap || !generation || !records || !drained ||
        text.substr(gap_at - gap_key.size(), gap_key.size()) != gap_key ||
        text.substr(generation_at - generation_key.size(), generation_key.size()) != generation_key ||
        text.substr(records_at - records_key.size(), records_key.size()) != records_key ||
        text.substr(drained_at - drained_key.size(), drained_key.size()) != drained_key)
        return std::nullopt;
    return Header{pending == '1', *gap, *generation, *records, *drained};
}

void write_at(int fd, std::string_view data, off_t offset, const std::filesystem::path& path)
{
    while (!data.empty()) {
        const ssize_t written = ::pwrite(fd, data.data(), data.size(), offset);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            throw Error::system(errno, "cannot write " + path.string());
        }
        data.remove_prefix(static_cast<std::size_t>(written));
        offset += written;
    }
}

// The journal file, created if missing; not locked yet.
UniqueFd open_journal(const Paths& paths, std::filesystem::path& path)
{
    const auto dir = open_owned_directory(paths.runtime_dir(), 0755);
    path = paths.runtime_dir() / request_event_journal;
    const std::string name(request_event_journal);
    UniqueFd fd(::openat(dir.get(), name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600));
    if (!fd) {
        if (errno == ELOOP)
            throw Error::failure("refusing " + path.string() + ": it is a symlink");
        throw Error::system(errno, "cannot open " + path.string());
    }
    check_owned(fd.get(), path, false);
    return fd;
}

// flock(operation) within journal_lock_timeout, else Error with errnum EWOULDBLOCK.
void lock_journal(int fd, int operation, const std::filesystem::path& path)
{
    if (!lock_within(fd, operation, journal_lock_timeout, path))
        throw Error(ExitStatus::failure,
                    path.string() + " stayed locked by other helpers for " +
                        std::to_string(journal_lock_timeout.count()) + " ms",
                    EWOULDBLOCK);
}

UniqueFd open_locked(const Paths& paths, std::filesystem::path& path)
{
    auto fd = open_journal(paths, path);
    lock_journal(fd.get(), LOCK_EX, path);
    return fd;
}

std::optional<Header> read_header(int fd, const std::filesystem::path& path)
{
    std::string head(header_size, '\0');
    const ssize_t got = ::pread(fd, head.data(), head.size(), 0);
    if (got < 0)
        throw Error::system(errno, "cannot read " + path.string());
    head.resize(static_cast<std::size_t>(got));
    return parse_header(head);
}

std::string read_events(int fd, const std::filesystem::path& path)
{
    if (::lseek(fd, static_cast<off_t>(header_size), SEEK_SET) < 0)
        throw Error::system(errno, "cannot read " + path.string());
    return read_all(fd, path);
}

// Reads trace_pipe until it has nothing more (EAGAIN) or max_drain.
std::string drain(int fd, const std::filesystem::path& path, bool& cut)
{
    std::string text;
    char buffer[16384];
    cut = false;
    for (;;) {
        if (text.size() >= max_drain) {
            cut = true;
            return text;
        }
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return text;
            throw Error::system(errno, "cannot read " + path.string());
        }
        if (got == 0)
            return text;
        text.append(buffer, static_cast<std::size_t>(got));
    }
}

// Keeps the newest half of the records once there are too many, starting at a record boundary (a
// comm or name with newlines spans lines), and the latest recording marker, which says since when
// the trace is whole. Returns the new events text; raises the gap to the first record kept.
std::size_t count_records(std::string_view events)
{
    std::size_t records = 0;
    std::size_t pos = 0;
    while (pos < events.size()) {
        const auto end = std::min(events.find('\n', pos), events.size());
        if (trace_record_timestamp(events.substr(pos, end - pos)))
            ++records;
        pos = end + 1;
    }
    return records;
}

std::string trim(std::string_view events, std::uint64_t& gap_until_ns)
{
    std::vector<std::size_t> starts; // offsets of lines that start a record
    std::optional<std::size_t> marker_line;
    std::size_t pos = 0;
    while (pos < events.size()) {
        const auto end = std::min(events.find('\n', pos), events.size());
        const auto line = events.substr(pos, end - pos);
        if (trace_record_timestamp(line)) {
            starts.push_back(pos);
            if (line.size() >= recording_marker.size() &&
                line.substr(line.size() - recording_marker.size()) == recording_marker &&
                line.find(": tracing_mark_write: ") != std::string_view::npos)
                marker_line = pos;
        }
        pos = end + 1;
    }
    if (starts.size() <= max_journal_records)
        return std::string(events);
    const std::size_t cut = starts[starts.size() - max_journal_records / 2];
    const auto first_kept = events.substr(cut, events.find('\n', cut) - cut);
    gap_until_ns = std::max(gap_until_ns, trace_record_timestamp(first_kept).value_or(0));
    std::string kept;
    if (marker_line && *marker_line < cut) {
        const auto end = events.find('\n', *marker_line);
        kept.append(events.substr(*marker_line, end - *marker_line));
        kept += '\n';
    }
    kept.append(events.substr(cut));
    return kept;
}

} // namespace

JournalContent drain_request_events(const Paths& paths, const std::function<UniqueFd()>& open_pipe,
                                    const std::filesystem::path& trace_pipe, const TraceClock& clock, bool want_events)
{
    const std::uint64_t asked_ns = clock();
    std::filesystem::path path;
    const auto fd = open_journal(paths, path);
    JournalContent journal;

    // Another helper drains now: wait for it, and take its journal if its drain began after we asked.
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            throw Error::system(errno, "cannot lock " + path.string());
        lock_journal(fd.get(), LOCK_SH, path);
        if (const auto header = read_header(fd.get(), path);
            header && !header->pending && header->drained_ns >= asked_ns) {
            journal.gap_until_ns = header->gap_until_ns;
            journal.generation = header->generation;
            if (want_events)
                journal.events = read_events(fd.get(), path);
            return journal;
        }
        // Not recent enough: drain ourselves (a conversion is not atomic, which is fine here: what
        // matters is the drain that follows it).
        lock_journal(fd.get(), LOCK_EX, path);
    }

    auto header = read_header(fd.get(), path);
    if (!header) {
        // Missing (a /run wiped since set-up) or mangled: whatever it held is unknown.
        header = Header{false, asked_ns, 0, 0, 0};
        if (::ftruncate(fd.get(), 0) < 0)
            throw Error::system(errno, "cannot truncate " + path.string());
    } else if (header->pending) {
        // An earlier drain died between reading trace_pipe and saving what it read.
        header->gap_until_ns = std::max(header->gap_until_ns, asked_ns);
    }

    header->drained_ns = clock();
    const auto pipe = open_pipe();
    header->pending = true;
    write_at(fd.get(), format_header(*header), 0, path);
    const auto drained = drain(pipe.get(), trace_pipe, journal.cut_short);
    std::optional<std::string> events; // read only when trimming needs it
    if (!drained.empty()) {
        ++header->generation;
        header->records += count_records(drained);
        struct stat st {};
        if (::fstat(fd.get(), &st) < 0)
            throw Error::system(errno, "cannot stat " + path.string());
        const auto size = std::max<off_t>(st.st_size, static_cast<off_t>(header_size));
        if (header->records <= max_journal_records) {
            write_at(fd.get(), drained, size, path);
        } else {
            auto all = read_all(fd.get(), path);
            all = all.size() > header_size ? all.substr(header_size) : std::string();
            all += drained;
            events = trim(all, header->gap_until_ns);
            header->records = count_records(*events);
            write_at(fd.get(), *events, static_cast<off_t>(header_size), path);
            if (::ftruncate(fd.get(), static_cast<off_t>(header_size + events->size())) < 0)
                throw Error::system(errno, "cannot truncate " + path.string());
        }
    }
    header->pending = false;
    write_at(fd.get(), format_header(*header), 0, path);
    journal.gap_until_ns = header->gap_until_ns;
    journal.generation = header->generation;
    if (want_events)
        journal.events = events ? std::move(*events) : read_events(fd.get(), path);
    return journal;
}

void reset_request_events(const Paths& paths)
{
    std::filesystem::path path;
    const auto fd = open_locked(paths, path);
    // A generation above the old one, so that a reader comparing generations sees the change.
    std::uint64_t generation = 0;
    const auto old = read_all(fd.get(), path);
    if (const auto header = parse_header(old))
        generation = header->generation + 1;
    if (::ftruncate(fd.get(), 0) < 0)
        throw Error::system(errno, "cannot truncate " + path.string());
    write_at(fd.get(), format_header(Header{false, 0, generation, 0, 0}), 0, path);
}

} // namespace kmodtools
