// SPDX-License-Identifier: LGPL-2.1-or-later
// Logging with the program name as prefix, to stderr (journal-aware), syslog or the kernel log.
#include "log.hpp"

#include "unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

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

void setup(std::string_view program_name, Target target, Level threshold, const std::filesystem::path& kernel_log)
{
    State& s = state();
    std::lock_guard lock(s.mutex);
    s.program = program_name;
    s.target = target;
    s.threshold = threshold;
    s.journal = fd_is_journal_stream(STDERR_FILENO);
    if (target == Target::syslog) {
        // openlog keeps the pointer: s.program lives as long as the process.
        ::openlog(s.program.c_str(), LOG_PID, LOG_DAEMON);
    } else if (target == Target::kmsg) {
        s.kmsg.reset(kernel_log.empty() ? -1 : ::open(kernel_log.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
        if (!s.kmsg) // no /dev/kmsg (containers): stderr is better than nothing
            s.target = Target::stderr_stream;
    }
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
        const std::string record = "<" + std::to_string(priority) + ">" + s.program + ": " + line + "\n";
        if (::write(s.kmsg.get(), record.data(), record.size()) >= 0)
            return;
        break; // fall back to stderr
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
