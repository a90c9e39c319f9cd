// SPDX-License-Identifier: LGPL-2.1-or-later
// Logging with the program name as prefix, to stderr (journal-aware), syslog or the kernel log.
#include "log.hpp"

#include "unique_fd.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cstring>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace kmodtools::log {
namespace {

struct State {
    std::string program = "kmod-tools";
    Target target = Target::stderr_stream;
    Level threshold = Level::notice;
    bool journal = false;
    UniqueFd kmsg;
    std::mutex mutex;
};

State& state()
{
    static State instance;
    return instance;
}

// Error lines should be complete sentences; make sure one message never spans several log records.
std::string one_line(std::string_view text)
{
    std::string line(text);
    for (char& c : line)
        if (c == '\n' || c == '\r')
            c = ' ';
    return line;
}

} // namespace

bool fd_is_journal_stream(int fd)
{
    const char* value = std::getenv("JOURNAL_STREAM");
    if (value == nullptr)
        return false;
    std::uintmax_t device = 0;
    std::uintmax_t inode = 0;
    if (std::sscanf(value, "%" SCNuMAX ":%" SCNuMAX, &device, &inode) != 2)
        return false;
    struct stat st {};
    if (::fstat(fd, &st) < 0)
        return false;
    return st.st_dev == device && st.st_ino == inode;
}

namespace {

// syslog(3) drops messages silently when nothing listens: look for a listener first.
bool syslog_listens(const std::filesystem::path& socket_path)
{
    sockaddr_un address{};
    if (socket_path.native().size() >= sizeof address.sun_path)
        return false;
    UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd)
        return false;
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.native().size() + 1);
    return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

} // namespace

void setup(std::string_view program_name, Target target, Level threshold, const Paths* paths)
{
    State& s = state();
    std::lock_guard lock(s.mutex);
    s.program = program_name;
    s.threshold = threshold;
    s.journal = fd_is_journal_stream(STDERR_FILENO);
    s.kmsg.reset();
    if (target == Target::syslog && (paths == nullptr || !syslog_listens(paths->dev_log())))
        target = Target::kmsg; // no syslog daemon (yet): the kernel log always exists
    if (target == Target::kmsg) {
        if (paths != nullptr)
            s.kmsg.reset(::open(paths->dev_kmsg().c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
        if (!s.kmsg) // no /dev/kmsg (containers): stderr is better than nothing
            target = Target::stderr_stream;
    }
    s.target = target;
    if (target == Target::syslog) // openlog keeps the pointer: s.program lives as long as the process
        ::openlog(s.program.c_str(), LOG_PID, LOG_DAEMON);
}

std::vector<std::string> kernel_log_records(std::string_view prefix, std::string_view line)
{
    // printk's LOG_LINE_MAX is 1024 less a 32- or 48-byte prefix; stay well inside it.
    constexpr std::size_t record_max = 960;
    constexpr std::string_view continued_end = " [continued]";
    constexpr std::string_view continued_start = "[continued] ";
    const std::size_t room = record_max - prefix.size() - continued_end.size() - continued_start.size() - 1;
    std::vector<std::string> records;
    do {
        const bool first = records.empty();
        const auto piece = line.substr(0, room);
        line.remove_prefix(piece.size());
        records.push_back(std::string(prefix) + (first ? "" : std::string(continued_start)) + std::string(piece) +
                          (line.empty() ? "" : std::string(continued_end)) + "\n");
    } while (!line.empty());
    return records;
}

Level threshold() { return state().threshold; }

Target target() { return state().target; }

namespace {
void write_record(State& s, Level level, const std::string& line);
}

void message(Level level, std::string_view text)
{
    State& s = state();
    std::lock_guard lock(s.mutex);
    if (static_cast<int>(level) > static_cast<int>(s.threshold))
        return;
    write_record(s, level, one_line(text));
}

void audit(std::string_view text)
{
    State& s = state();
    std::lock_guard lock(s.mutex);
    write_record(s, Level::notice, "audit: " + one_line(text));
}

void critical_audit(std::string_view text)
{
    State& s = state();
    std::lock_guard lock(s.mutex);
    write_record(s, Level::critical, "audit: " + one_line(text));
}

namespace {
void write_record(State& s, Level level, const std::string& line)
{
    const int priority = static_cast<int>(level);
    switch (s.target) {
    case Target::syslog:
        ::syslog(priority, "%s", line.c_str());
        return;
    case Target::kmsg: {
        // One write() is one kernel log record; "<N>" sets its priority.
        bool written = true;
        for (const auto& record : kernel_log_records("<" + std::to_string(priority) + ">" + s.program + ": ", line))
            written = written && ::write(s.kmsg.get(), record.data(), record.size()) >= 0;
        if (written)
            return;
        break; // fall back to stderr, with the whole message
    }
    case Target::stderr_stream:
        break;
    }
    std::string record;
    if (s.journal)
        record = "<" + std::to_string(priority) + ">";
    record += s.program + ": ";
    if (level == Level::warning)
        record += "warning: ";
    record += line + "\n";
    // Best effort: there is nowhere left to report a failing stderr.
    [[maybe_unused]] auto written = ::write(STDERR_FILENO, record.data(), record.size());
}

} // namespace

} // namespace kmodtools::log
