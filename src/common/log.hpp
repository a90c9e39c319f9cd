// SPDX-License-Identifier: LGPL-2.1-or-later
// Logging with the program name as prefix, to stderr (journal-aware), syslog or the kernel log.
#pragma once

#include "paths.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kmodtools::log {

// syslog(3) priorities, so a level maps 1:1 to a journal or kmsg prefix.
enum class Level : int { critical = 2, error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

enum class Target {
    stderr_stream, // a terminal, a pipe, or the journal (detected through $JOURNAL_STREAM)
    syslog,        // --syslog
    kmsg,          // /dev/kmsg: the kernel log, for a helper run by the kernel with no syslog yet
};

// Called once by each tool before anything is logged. `threshold`: the least severe level shown.
// Messages always arrive somewhere: for Target::syslog without a syslog socket (Paths::dev_log())
// they go to the kernel log, and for Target::kmsg without a writable kernel log (Paths::dev_kmsg())
// to stderr. Without `paths`, only stderr is known.
void setup(std::string_view program_name, Target target, Level threshold = Level::notice,
           const Paths* paths = nullptr);

// A kernel log record holds about 1 KiB (printk's LOG_LINE_MAX); longer messages are written as
// several records, each but the last ending in " [continued]" and each but the first starting with
// "[continued] ". Exposed for tests: the records for `line`, each with its "<N>PROGRAM: " prefix.
std::vector<std::string> kernel_log_records(std::string_view prefix, std::string_view line);
Level threshold();
// Where messages go now (Target::kmsg falls back to stderr_stream when the kernel log cannot be opened).
Target target();

void message(Level level, std::string_view text);
inline void error(std::string_view text) { message(Level::error, text); }
inline void warning(std::string_view text) { message(Level::warning, text); }
inline void notice(std::string_view text) { message(Level::notice, text); }
inline void info(std::string_view text) { message(Level::info, text); }
inline void debug(std::string_view text) { message(Level::debug, text); }

// An audit line: always written, whatever the threshold, at notice priority, as "PROGRAM: audit: TEXT"
// so that admins can grep the kernel log or the journal for a stable prefix.
void audit(std::string_view text);

// A critical audit line: the same, at critical priority (journal PRIORITY=2, kernel log <2>), for what
// an admin must see at once, such as kernel.modprobe changed behind kmod-tools' back.
void critical_audit(std::string_view text);

// Whether $JOURNAL_STREAM names the device and inode of `fd`: then the journal reads "<N>" prefixes
// as priorities (sd-daemon(3)).
bool fd_is_journal_stream(int fd);

} // namespace kmodtools::log
