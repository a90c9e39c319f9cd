// SPDX-License-Identifier: LGPL-2.1-or-later
// The history of kernel requests: a bounded, rotated, append-only file.
#include "request_history.hpp"

#include <ctime>

#include "error.hpp"
#include "file_lock.hpp"
#include "owned_file.hpp"
#include "request_name.hpp"
#include "text_file.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

namespace kmodtools {
namespace {

constexpr char record_separator = '\x1e';
constexpr std::string_view format_version = "v1";
constexpr std::string_view lock_file = "request-history.lock";
constexpr std::size_t max_modules = 64;
constexpr std::size_t max_module_length = 64;
constexpr std::size_t max_requester_length = 1024;
constexpr std::size_t max_decision_length = 32;
constexpr std::size_t field_count = 8; // version, time, decision, class, name, modules, requester, checksum

// Printable ASCII stays (spaces too, where `keep_space`); everything else, the field separator and
// the backslash become \xHH, so a field holds no tab, newline or separator and is valid UTF-8.
std::string escape_field(std::string_view text, bool keep_space)
{
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c > 0x20 && c < 0x7f && c != '\\') {
            out += ch;
        } else if (c == ' ' && keep_space) {
            out += ch;
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
            out += escaped;
        }
    }
    return out;
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

std::optional<std::string> unescape_field(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out += text[i];
            continue;
        }
        if (i + 3 >= text.size() || text[i + 1] != 'x')
            return std::nullopt;
        const int high = hex_value(text[i + 2]);
        const int low = hex_value(text[i + 3]);
        if (high < 0 || low < 0)
            return std::nullopt;
        out += static_cast<char>(high * 16 + low);
        i += 3;
    }
    return out;
}

// FNV-1a: catches a torn or garbled line, which is all it is for (the file is root's).
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

bool valid_decision(std::string_view decision)
{
    if (decision.empty() || decision.size() > max_decision_length)
        return false;
    for (const char c : decision)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    return true;
}

std::vector<std::string_view> split(std::string_view text, char separator)
{
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const auto end = text.find(separator, start);
        parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos)
            return parts;
        start = end + 1;
    }
}

std::string rotated_name(unsigned index)
{
    return std::string(request_history_file) + "." + std::to_string(index);
}

UniqueFd open_for_append(int dir_fd, const std::filesystem::path& path)
{
    const std::string name(request_history_file);
    // O_NONBLOCK: a FIFO planted here must not hang the helper before check_owned refuses it.
    UniqueFd fd(::openat(dir_fd, name.c_str(),
                         O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600));
    if (!fd) {
        if (errno == ELOOP)
            throw Error::failure("refusing " + path.string() + ": it is a symlink");
        throw Error::system(errno, "cannot open " + path.string());
    }
    check_owned(fd.get(), path, false);
    return fd;
}

std::uint64_t file_size(int fd, const std::filesystem::path& path)
{
    struct stat st {};
    if (::fstat(fd, &st) < 0)
        throw Error::system(errno, "cannot stat " + path.string());
    return static_cast<std::uint64_t>(st.st_size);
}

// One write(): a partial one (a full disk) is reported, never completed by a second write that
// another writer's line could precede.
void write_line(int fd, std::string_view line, const std::filesystem::path& path, bool sync)
{
    ssize_t written;
    do
        written = ::write(fd, line.data(), line.size());
    while (written < 0 && errno == EINTR);
    if (written < 0)
        throw Error::system(errno, "cannot append to " + path.string());
    if (static_cast<std::size_t>(written) != line.size())
        throw Error::system(ENOSPC, "cannot append to " + path.string() + " (short write)");
    if (sync && ::fdatasync(fd) < 0)
        throw Error::system(errno, "cannot sync " + path.string());
}

// request-history.N-1 -> .N, …, request-history -> .1 (each rename replaces the older file).
void rotate(int dir_fd, const std::filesystem::path& dir, unsigned rotated_files)
{
    for (unsigned index = rotated_files; index >= 1; --index) {
        const std::string from = index == 1 ? std::string(request_history_file) : rotated_name(index - 1);
        const std::string to = rotated_name(index);
        if (::renameat(dir_fd, from.c_str(), dir_fd, to.c_str()) < 0 && errno != ENOENT)
            throw Error::system(errno, "cannot rotate " + (dir / from).string() + " to " + to);
    }
}

void read_file_entries(int dir_fd, const std::string& name, const std::filesystem::path& dir, std::int64_t since_us,
                       HistoryRead& result)
{
    const auto path = dir / name;
    const auto fd = open_owned_file(dir_fd, name, path);
    if (!fd)
        return;
    const auto text = read_all(fd->get(), path);
    std::string_view rest(text);
    while (!rest.empty()) {
        const auto newline = rest.find('\n');
        if (newline == std::string_view::npos) {
            ++result.skipped_lines; // the last line of a writer that died mid-write
            break;
        }
        const auto line = rest.substr(0, newline);
        rest.remove_prefix(newline + 1);
        if (line.empty())
            continue;
        auto entry = parse_history_line(line);
        // Bytes before the entry's separator are what a writer that died mid-write left.
        const auto separator = line.rfind(record_separator);
        if (!entry || (separator != std::string_view::npos && separator > 0))
            ++result.skipped_lines;
        if (!entry)
            continue;
        if (entry->time_us >= since_us)
            result.entries.push_back(std::move(*entry));
    }
}

} // namespace

std::int64_t realtime_us()
{
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
}

std::string format_history_entry(const HistoryEntry& entry)
{
    if (!valid_decision(entry.decision))
        throw Error::failure("bad history decision " + quote_name(entry.decision));
    std::string body = std::string(format_version) + '\t' + std::to_string(entry.time_us) + '\t' + entry.decision +
                       '\t' + std::string(to_string(entry.requester_class)) + '\t' +
                       escape_field(std::string_view(entry.name).substr(0, max_request_name_length), true) + '\t';
    for (std::size_t i = 0; i < entry.modules.size() && i < max_modules; ++i)
        body +=
            (i == 0 ? "" : " ") + escape_field(std::string_view(entry.modules[i]).substr(0, max_module_length), false);
    body += '\t' + escape_field(std::string_view(entry.requester).substr(0, max_requester_length), true);
    return std::string(1, record_separator) + body + '\t' + checksum(body) + '\n';
}

std::optional<HistoryEntry> parse_history_line(std::string_view line)
{
    // What precedes the last separator is the torn remains of an earlier line.
    const auto separator = line.rfind(record_separator);
    if (separator == std::string_view::npos)
        return std::nullopt;
    line.remove_prefix(separator + 1);
    const auto last_tab = line.rfind('\t');
    if (last_tab == std::string_view::npos || line.substr(last_tab + 1) != checksum(line.substr(0, last_tab)))
        return std::nullopt;
    const auto fields = split(line, '\t');
    if (fields.size() != field_count || fields[0] != format_version)
        return std::nullopt;
    HistoryEntry entry;
    const auto time = fields[1];
    const auto parsed = std::from_chars(time.data(), time.data() + time.size(), entry.time_us);
    if (parsed.ec != std::errc() || parsed.ptr != time.data() + time.size() || time.empty())
        return std::nullopt;
    if (!valid_decision(fields[2]))
        return std::nullopt;
    entry.decision = std::string(fields[2]);
    const auto requester_class = parse_requester_class(fields[3]);
    auto name = unescape_field(fields[4]);
    auto requester = unescape_field(fields[6]);
    if (!requester_class || !name || !requester)
        return std::nullopt;
    entry.requester_class = *requester_class;
    entry.name = std::move(*name);
    entry.requester = std::move(*requester);
    if (!fields[5].empty()) {
        for (const auto module : split(fields[5], ' ')) {
            auto unescaped = unescape_field(module);
            if (!unescaped || unescaped->empty())
                return std::nullopt;
            entry.modules.push_back(std::move(*unescaped));
        }
    }
    return entry;
}

void append_history(const Paths& paths, const HistoryEntry& entry, const HistoryLimits& limits)
{
    const auto line = format_history_entry(entry);
    const auto dir_path = paths.state_dir();
    const auto path = dir_path / request_history_file;
    const auto dir = open_owned_directory(dir_path, 0755);
    {
        const auto shared =
            FileLock::acquire(dir.get(), lock_file, FileLock::Kind::shared, FileLock::Wait::yes, dir_path / lock_file);
        const auto fd = open_for_append(dir.get(), path);
        if (file_size(fd.get(), path) + line.size() <= limits.max_file_bytes) {
            write_line(fd.get(), line, path, limits.sync);
            return;
        }
    }
    // A shared lock of ours would deadlock the exclusive one (flock locks of two descriptors conflict).
    const auto exclusive =
        FileLock::acquire(dir.get(), lock_file, FileLock::Kind::exclusive, FileLock::Wait::yes, dir_path / lock_file);
    auto fd = open_for_append(dir.get(), path);
    // Another writer may have rotated while we waited; then the file is small again.
    if (file_size(fd.get(), path) > 0 && file_size(fd.get(), path) + line.size() > limits.max_file_bytes) {
        fd.reset();
        rotate(dir.get(), dir_path, limits.rotated_files == 0 ? 1 : limits.rotated_files);
        fd = open_for_append(dir.get(), path);
    }
    write_line(fd.get(), line, path, limits.sync);
}

HistoryRead read_history(const Paths& paths, std::int64_t since_us, const HistoryLimits& limits)
{
    HistoryRead result;
    const auto dir_path = paths.state_dir();
    const auto dir = open_owned_directory_if_exists(dir_path);
    if (!dir)
        return result;
    // Shared: a rotation cannot move a file between two of our reads.
    std::optional<FileLock> lock;
    try {
        lock =
            FileLock::acquire(dir->get(), lock_file, FileLock::Kind::shared, FileLock::Wait::yes, dir_path / lock_file);
    } catch (const Error& error) {
        // A reader without write access to the directory (not root) cannot create the lock file;
        // it reads without it and may then see one entry twice or miss one during a rotation.
        if (error.errnum() != EACCES && error.errnum() != EROFS)
            throw;
    }
    for (unsigned index = limits.rotated_files; index >= 1; --index)
        read_file_entries(dir->get(), rotated_name(index), dir_path, since_us, result);
    read_file_entries(dir->get(), std::string(request_history_file), dir_path, since_us, result);
    return result;
}

} // namespace kmodtools
